/* test_db_checkpoint.c - the checkpoint thread: with the writer's own
 * automatic checkpoints off, what it writes reaches the database file only
 * through the thread; it stops cleanly; a file it cannot open is an
 * error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_db_file.h"
#include "vfleet_db.h"

static long s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_checkpoints_reach_the_file(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "checkpoint");
    db_err_t err;
    db_t *db = db_open(file.path, &err);
    assert_non_null(db);
    assert_int_equal(db_wal_autocheckpoint(db, 0, &err), 0);
    /* 2,000 events of 900 bytes: about 2 MB in the WAL only. */
    char message[901];
    memset(message, 'x', 900);
    message[900] = '\0';
    long before = s_size(file.path);
    assert_int_equal(db_batch_begin(db, &err), 0);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(
            db_event_add(db, 1000 + i, "test", NULL, message, &err), 0);
    assert_int_equal(db_batch_commit(db, &err), 0);
    assert_true(s_size(file.path) < before + 100000);

    db_checkpointer_t *cp = db_checkpointer_start(file.path, 10, &err);
    assert_non_null(cp);
    for (int i = 0; i < 500 && db_checkpointer_runs(cp) < 2; i++)
        usleep(10000);
    assert_true(db_checkpointer_runs(cp) >= 2);
    assert_true(s_size(file.path) > before + 1500000);
    db_checkpointer_stop(&cp);
    assert_null(cp);
    assert_int_equal(test_db_file_int(file.path, "SELECT count(*) FROM events"),
                     2000);
    db_destroy(&db);
    test_db_file_remove(&file);
}

static void test_unopenable_path(void **state)
{
    (void)state;
    db_err_t err;
    db_checkpointer_t *cp =
        db_checkpointer_start("/nonexistent/dir/vfleet.db", 10, &err);
    assert_null(cp);
    assert_int_equal(err.code, DB_ERR_IO);
    assert_non_null(strstr(err.text, "/nonexistent/dir/vfleet.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_reach_the_file),
        cmocka_unit_test(test_unopenable_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
