/* test_db_file.h - a SQLite file in a fresh temporary directory for the
 * cmocka tests of db/ and controller/: made, read raw, removed. */
#ifndef VFLEET_TEST_DB_FILE_H
#define VFLEET_TEST_DB_FILE_H

typedef struct {
    char dir[64];   /* /tmp/vfleet-test-NAME.XXXXXX, made */
    char path[128]; /* dir/vfleet.db, left to the test to create */
} test_db_file_t;

/* Makes file->dir (named after `name`) and sets file->path; a failure
 * fails the running test. */
void test_db_file_make(test_db_file_t *file, const char *name);

/* Removes file->path, its -wal and -shm files and file->dir. */
void test_db_file_remove(const test_db_file_t *file);

/* The first column of the first row of sql, read on a connection of its
 * own (not through the db module); no row fails the running test. */
int test_db_file_int(const char *path, const char *sql);

/* Failure injection: wraps SQLite's allocator (a cmocka group setup, so
 * before SQLite's first use in the process); then test_db_alloc_fail_at(n)
 * makes the n-th allocation from then on fail (0: none fail). */
int test_db_alloc_install(void **state);
void test_db_alloc_fail_at(long n);

#endif
