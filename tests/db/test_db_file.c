/* test_db_file.c - a SQLite file in a fresh temporary directory for tests. */
#include "test_db_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void test_db_file_make(test_db_file_t *file, const char *name)
{
    snprintf(file->dir, sizeof(file->dir), "/tmp/vfleet-test-%s.XXXXXX", name);
    assert_non_null(mkdtemp(file->dir));
    snprintf(file->path, sizeof(file->path), "%s/vfleet.db", file->dir);
}

void test_db_file_remove(const test_db_file_t *file)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char name[160];
        snprintf(name, sizeof(name), "%s%s", file->path, suffixes[i]);
        unlink(name);
    }
    rmdir(file->dir);
}

int test_db_file_int(const char *path, const char *sql)
{
    sqlite3 *raw = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int value = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    return value;
}

/* SQLite's own allocator, wrapped: allocation number s_fail_at (counting
 * from 1 after arming) fails, every other one goes through. */
static sqlite3_mem_methods s_real;
static long s_count;
static long s_fail_at; /* 0: disarmed */

static bool s_should_fail(void)
{
    return s_fail_at > 0 && ++s_count == s_fail_at;
}

static void *s_malloc(int n)
{
    return s_should_fail() ? NULL : s_real.xMalloc(n);
}

static void *s_realloc(void *p, int n)
{
    return s_should_fail() ? NULL : s_real.xRealloc(p, n);
}

void test_db_alloc_fail_at(long n)
{
    s_count = 0;
    s_fail_at = n;
}

int test_db_alloc_install(void **state)
{
    (void)state;
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &s_real),
                     SQLITE_OK);
    sqlite3_mem_methods wrapped = s_real;
    wrapped.xMalloc = s_malloc;
    wrapped.xRealloc = s_realloc;
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &wrapped), SQLITE_OK);
    return 0;
}
