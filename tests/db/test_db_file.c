/* test_db_file.c - a SQLite file in a fresh temporary directory for tests. */
#include "test_db_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
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
