/* test_db_wal.c - unit tests for the WAL writer (db/db_wal.c): a commit's
 * frames reach the file in a few writes, each commit is in the file (seen
 * by another connection) when it returns, and a write that fails fails
 * the commit and leaves nothing half stored; pages a large transaction
 * spills to the WAL before its commit read back as written. The unix VFS's
 * pwrite is replaced (xSetSystemCall) to count and fail writes to -wal files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "db_internal.h"
#include "test_db_file.h"
#include "vfleet_db.h"

typedef ssize_t s_pwrite_fn(int fd, const void *buf, size_t count,
                            off_t offset);

static s_pwrite_fn *s_pwrite_real;
static const char *s_pwrite_name;
static int s_wal_writes;
static bool s_wal_fail;

static bool s_is_wal(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof(path) - 1);
    if (len < 4)
        return false;
    path[len] = '\0';
    return strcmp(path + len - 4, "-wal") == 0;
}

static ssize_t s_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    if (s_is_wal(fd)) {
        s_wal_writes++;
        if (s_wal_fail) {
            errno = ENOSPC;
            return -1;
        }
    }
    return s_pwrite_real(fd, buf, count, offset);
}

/* The unix VFS writes through "pwrite64" or "pwrite", as it was built. */
static int s_setup(void **state)
{
    (void)state;
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    assert_non_null(unix_vfs);
    static const char *const names[] = {"pwrite64", "pwrite"};
    for (size_t i = 0; i < 2 && !s_pwrite_name; i++) {
        sqlite3_syscall_ptr real = unix_vfs->xGetSystemCall(unix_vfs, names[i]);
        if (real && unix_vfs->xSetSystemCall(unix_vfs, names[i],
                                             (sqlite3_syscall_ptr)s_pwrite) ==
                        SQLITE_OK) {
            s_pwrite_real = (s_pwrite_fn *)real;
            s_pwrite_name = names[i];
        }
    }
    assert_non_null(s_pwrite_name);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    unix_vfs->xSetSystemCall(unix_vfs, s_pwrite_name,
                             (sqlite3_syscall_ptr)s_pwrite_real);
    return 0;
}

/* 100 events of 900 bytes in one transaction: some 30 pages. */
static int s_events(db_t *db, int first, db_err_t *err)
{
    char message[901];
    memset(message, 'x', 900);
    message[900] = '\0';
    if (db_batch_begin(db, err) != 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        if (db_event_add(db, 1000 + first + i, "test", NULL, message, err) !=
            0) {
            db_batch_rollback(db);
            return -1;
        }
    }
    return db_batch_commit(db, err);
}

static int s_count(const test_db_file_t *file)
{
    return test_db_file_int(file->path, "SELECT count(*) FROM events");
}

static void test_commit_frames_written_at_once(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "wal");
    db_err_t err;
    db_t *db = db_open(file.path, &err);
    assert_non_null(db);
    assert_int_equal(db_wal_autocheckpoint(db, 0, &err), 0);
    int base = s_count(&file);
    for (int round = 1; round <= 5; round++) {
        s_wal_writes = 0;
        assert_int_equal(s_events(db, round * 100, &err), 0);
        /* Two writes a frame before; a 4 KiB page's frame is 4,120
         * bytes, and at most 124 KiB go in one write. */
        assert_true(s_wal_writes >= 1);
        assert_true(s_wal_writes <= 3);
        /* Committed means in the file: a connection of its own reads it. */
        assert_int_equal(s_count(&file), base + round * 100);
    }
    /* One small transaction, one write. */
    s_wal_writes = 0;
    assert_int_equal(db_event_add(db, 9000, "test", NULL, "small", &err), 0);
    assert_int_equal(s_wal_writes, 1);
    assert_int_equal(s_count(&file), base + 501);
    db_destroy(&db);
    test_db_file_remove(&file);
}

/* The disk fills up in the middle of commits, small and large: each
 * failed commit says so and stores nothing; once there is room again the
 * database takes commits and is intact. */
static void test_failed_write_fails_the_commit(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "wal");
    db_err_t err;
    db_t *db = db_open(file.path, &err);
    assert_non_null(db);
    assert_int_equal(db_wal_autocheckpoint(db, 0, &err), 0);
    assert_int_equal(s_events(db, 0, &err), 0);
    int base = s_count(&file);
    s_wal_fail = true;
    assert_int_equal(s_events(db, 100, &err), -1);
    assert_int_equal(err.code, DB_ERR_IO);
    assert_non_null(strstr(err.text, "full"));
    assert_int_equal(db_event_add(db, 9000, "test", NULL, "small", &err), -1);
    assert_int_equal(err.code, DB_ERR_IO);
    s_wal_fail = false;
    assert_int_equal(s_count(&file), base);
    assert_int_equal(s_events(db, 200, &err), 0);
    assert_int_equal(db_event_add(db, 9001, "test", NULL, "small", &err), 0);
    assert_int_equal(s_count(&file), base + 101);
    db_destroy(&db);
    assert_int_equal(
        test_db_file_int(file.path,
                         "SELECT count(*) FROM pragma_integrity_check"
                         " WHERE integrity_check = 'ok'"),
        1);
    assert_int_equal(s_count(&file), base + 101);
    test_db_file_remove(&file);
}

/* A transaction larger than the page cache writes frames to the WAL
 * before its commit (a cache spill) and reads those pages back from the
 * file while the transaction goes on: what it reads is what it wrote,
 * though the writer may still hold the frames. */
static void test_spilled_pages_read_back(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "wal");
    sqlite3 *sql = NULL;
    assert_int_equal(sqlite3_open_v2(file.path, &sql,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     db_wal_vfs()),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(sql,
                     "PRAGMA journal_mode = WAL; PRAGMA cache_size = 8;"
                     "PRAGMA wal_autocheckpoint = 0;"
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);"
                     "BEGIN;"
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
                     " SELECT i + 1 FROM n WHERE i < 2000)"
                     " INSERT INTO t SELECT i, zeroblob(1000) || i FROM n;"
                     "UPDATE t SET v = v || 'x' WHERE id % 3 = 0;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(sql,
                                        "SELECT count(*), sum(length(v)) FROM t"
                                        " WHERE v = zeroblob(1000) || id ||"
                                        " CASE WHEN id % 3 = 0 THEN 'x'"
                                        " ELSE '' END",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 2000);
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(sql), SQLITE_OK);
    assert_int_equal(
        test_db_file_int(file.path,
                         "SELECT count(*) FROM pragma_integrity_check"
                         " WHERE integrity_check = 'ok'"),
        1);
    assert_int_equal(
        test_db_file_int(
            file.path,
            "SELECT count(*) FROM t WHERE v = zeroblob(1000) || id ||"
            " CASE WHEN id % 3 = 0 THEN 'x' ELSE '' END"),
        2000);
    test_db_file_remove(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_frames_written_at_once),
        cmocka_unit_test(test_failed_write_fails_the_commit),
        cmocka_unit_test(test_spilled_pages_read_back),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
