/* test_db_backup.c - db_backup and db_restore (db/db_backup.c), behind
 * vfleet-controller --backup and --restore: a copy taken while another
 * connection writes holds every commit, WAL included, in one file; a
 * restore takes an intact vfleet database of this schema version or an
 * older one, refuses anything else and then changes nothing, and keeps
 * the replaced database with its WAL folded in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_db_file.h"
#include "vfleet_db.h"

typedef struct {
    test_db_file_t file;
    char copy[160]; /* dir/copy.db */
    char kept[160]; /* path.before-restore */
} s_fixture_t;

static int s_setup(void **state)
{
    static s_fixture_t fx;
    memset(&fx, 0, sizeof(fx));
    test_db_file_make(&fx.file, "backup");
    snprintf(fx.copy, sizeof(fx.copy), "%s/copy.db", fx.file.dir);
    snprintf(fx.kept, sizeof(fx.kept), "%s.before-restore", fx.file.path);
    *state = &fx;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    static const char *const suffixes[] = {"", "-wal", "-shm", ".tmp"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char path[200];
        snprintf(path, sizeof(path), "%s%s", fx->copy, suffixes[i]);
        unlink(path);
        snprintf(path, sizeof(path), "%s%s", fx->kept, suffixes[i]);
        unlink(path);
        snprintf(path, sizeof(path), "%s%s", fx->file.path, suffixes[i]);
        unlink(path);
    }
    test_db_file_remove(&fx->file);
    return 0;
}

/* Runs sql on a connection of its own, which stays open when keep is set
 * (its commits then stay in the WAL); returns it or NULL. */
static sqlite3 *s_exec(const char *path, const char *sql, bool keep)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    if (keep)
        return raw;
    sqlite3_close(raw);
    return NULL;
}

static void s_events(const char *path, int count, sqlite3 **keep)
{
    char sql[256];
    for (int i = 0; i < count; i++) {
        snprintf(sql, sizeof(sql),
                 "PRAGMA wal_autocheckpoint=0; INSERT INTO events (at, kind,"
                 " host, message) VALUES (%d, 'test', 'h', '')",
                 i);
        sqlite3 *raw = s_exec(path, sql, true);
        if (i == count - 1 && keep)
            *keep = raw;
        else
            sqlite3_close(raw);
    }
}

static int s_count(const char *path)
{
    return test_db_file_int(path, "SELECT count(*) FROM events");
}

/* The copy holds every commit, those still in the writer's WAL too, and is
 * a file of its own: no WAL, mode 0600, this schema version. */
static void test_backup_beside_a_writer(void **state)
{
    s_fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open(fx->file.path, &err);
    assert_non_null(db);
    sqlite3 *writer = NULL;
    s_events(fx->file.path, 50, &writer);
    struct stat st;
    assert_int_equal(stat(fx->file.path, &st), 0);
    int version = 0;
    assert_int_equal(db_backup(fx->file.path, fx->copy, &version, &err), 0);
    assert_int_equal(version, DB_SCHEMA_VERSION);
    assert_int_equal(s_count(fx->copy), 50);
    assert_int_equal(test_db_file_int(fx->copy, "PRAGMA user_version"),
                     DB_SCHEMA_VERSION);
    char wal[200];
    snprintf(wal, sizeof(wal), "%s-wal", fx->copy);
    assert_int_not_equal(access(wal, F_OK), 0);
    assert_int_equal(stat(fx->copy, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sqlite3_close(writer);
    db_destroy(&db);
}

/* A failed backup leaves an earlier copy as it was; a copy is never
 * written over the database or a file beside it. */
static void test_backup_failure_keeps_the_old_copy(void **state)
{
    s_fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open(fx->file.path, &err);
    assert_non_null(db);
    db_destroy(&db);
    s_events(fx->file.path, 3, NULL);
    int version = 0;
    assert_int_equal(db_backup(fx->file.path, fx->copy, &version, &err), 0);
    char missing[200];
    snprintf(missing, sizeof(missing), "%s/none.db", fx->file.dir);
    assert_int_equal(db_backup(missing, fx->copy, &version, &err), -1);
    assert_non_null(strstr(err.text, "no database"));
    assert_int_equal(s_count(fx->copy), 3);
    /* Renamed over, the database would be lost to its daemon. */
    char lock[200];
    snprintf(lock, sizeof(lock), "%s.lock", fx->file.path);
    close(open(lock, O_WRONLY | O_CREAT, 0600));
    const char *const selves[] = {fx->file.path, lock};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(db_backup(fx->file.path, selves[i], &version, &err),
                         -1);
        assert_non_null(strstr(err.text, "write the copy elsewhere"));
    }
    assert_int_equal(s_count(fx->file.path), 3);
    unlink(lock);
}

/* An older schema version is taken (the next start migrates it); the
 * replaced database, whose last commits were still in its WAL (a crash
 * image), is kept with them. */
static void test_restore_older_version_keeps_the_replaced(void **state)
{
    s_fixture_t *fx = *state;
    db_err_t err;
    db_t *old = db_open_version(fx->copy, 5, &err);
    assert_non_null(old);
    db_destroy(&old);
    db_t *db = db_open(fx->file.path, &err);
    assert_non_null(db);
    sqlite3 *writer = NULL;
    s_events(fx->file.path, 7, &writer);
    /* The crash image: what the files hold while the writer still runs. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp %s %s.img && cp %s-wal %s.img-wal",
             fx->file.path, fx->file.path, fx->file.path, fx->file.path);
    assert_int_equal(system(cmd), 0);
    sqlite3_close(writer);
    db_destroy(&db);
    snprintf(cmd, sizeof(cmd), "mv %s.img %s && mv %s.img-wal %s-wal",
             fx->file.path, fx->file.path, fx->file.path, fx->file.path);
    assert_int_equal(system(cmd), 0);
    int version = 0;
    assert_int_equal(db_restore(fx->file.path, fx->copy, &version, &err), 0);
    assert_int_equal(version, 5);
    assert_int_equal(s_count(fx->kept), 7);
    assert_int_equal(s_count(fx->file.path), 0);
    db = db_open(fx->file.path, &err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_destroy(&db);
}

/* What is refused, and the database stays as it was. */
static void s_refused(s_fixture_t *fx, db_errcode_t code, const char *text)
{
    db_err_t err;
    int version = 0;
    assert_int_equal(db_restore(fx->file.path, fx->copy, &version, &err), -1);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.text, text));
    assert_int_equal(s_count(fx->file.path), 4);
    assert_int_not_equal(access(fx->kept, F_OK), 0);
}

static void test_restore_refusals(void **state)
{
    s_fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open(fx->file.path, &err);
    assert_non_null(db);
    db_destroy(&db);
    s_events(fx->file.path, 4, NULL);
    char sql[128];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", DB_SCHEMA_VERSION + 1);
    s_exec(fx->copy, "CREATE TABLE hosts (id INTEGER PRIMARY KEY)", false);
    s_exec(fx->copy, sql, false);
    s_refused(fx, DB_ERR_VERSION, "use a newer one");
    unlink(fx->copy);
    s_exec(fx->copy, "CREATE TABLE t (x); PRAGMA user_version=3", false);
    s_refused(fx, DB_ERR_INVALID, "not a vfleet database");
    unlink(fx->copy);
    int fd = open(fx->copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 'x', sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    s_refused(fx, DB_ERR_IO, "not a database");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_beside_a_writer, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_backup_failure_keeps_the_old_copy,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_restore_older_version_keeps_the_replaced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restore_refusals, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
