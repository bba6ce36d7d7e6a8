/* test_db_events.c - the event log's retention: db_event_trim by count
 * and by age, in bounded batches, and the count kept at insertion
 * (db_event_limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_db_file.h"
#include "vfleet_db.h"

typedef struct {
    test_db_file_t file;
    db_t *db;
} fixture_t;

/* A database holding events 1..10, at times 100..109. */
static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "events");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            db_event_add(fx->db, 100 + i, "test", NULL, "event", &err), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

static int s_count(fixture_t *fx)
{
    return test_db_file_int(fx->file.path, "SELECT count(*) FROM events");
}

static int s_oldest(fixture_t *fx)
{
    return test_db_file_int(fx->file.path, "SELECT min(id) FROM events");
}

/* All but the newest 4, three at a time: 3, 3, then nothing left. */
static void test_trim_by_count_in_batches(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_event_trim(fx->db, 0, 4, 3, &err), 3);
    assert_int_equal(s_count(fx), 7);
    assert_int_equal(s_oldest(fx), 4);
    assert_int_equal(db_event_trim(fx->db, 0, 4, 3, &err), 3);
    assert_int_equal(db_event_trim(fx->db, 0, 4, 3, &err), 0);
    assert_int_equal(s_count(fx), 4);
    assert_int_equal(s_oldest(fx), 7);
    /* New events go on counting from the newest kept. */
    assert_int_equal(db_event_add(fx->db, 200, "test", NULL, "new", &err), 0);
    assert_int_equal(db_event_trim(fx->db, 0, 4, 100, &err), 1);
    assert_int_equal(s_oldest(fx), 8);
    assert_int_equal(s_count(fx), 4);
}

/* Strictly older than the bound goes; the bound itself stays. */
static void test_trim_by_age(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_event_trim(fx->db, 105, 1000, 100, &err), 5);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT min(at) FROM events"), 105);
    assert_int_equal(db_event_trim(fx->db, 105, 1000, 100, &err), 0);
    assert_int_equal(s_count(fx), 5);
}

/* Both limits together never delete more than one batch per call, and a
 * limit that keeps everything deletes nothing. */
static void test_trim_both_limits_share_the_batch(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_event_trim(fx->db, 0, 1000, 100, &err), 0);
    assert_int_equal(db_event_trim(fx->db, 108, 6, 3, &err), 3);
    assert_int_equal(db_event_trim(fx->db, 108, 6, 3, &err), 3);
    assert_int_equal(s_count(fx), 4);
    assert_int_equal(db_event_trim(fx->db, 108, 6, 3, &err), 2);
    assert_int_equal(s_count(fx), 2);
    assert_int_equal(s_oldest(fx), 9);
    assert_int_equal(db_event_trim(fx->db, 108, 6, 3, &err), 0);
}

/* With a limit, events written without any trim call (a writer faster
 * than the trim timer) stay within the limit plus DB_EVENT_TRIM_EVERY,
 * and the newest are the ones kept. */
static void test_limit_holds_at_insertion(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_event_limit(fx->db, 100);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(
            db_event_add(fx->db, 1000 + i, "test", NULL, "burst", &err), 0);
    int count = s_count(fx);
    assert_true(count >= 100);
    assert_true(count <= 100 + DB_EVENT_TRIM_EVERY);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT max(at) FROM events"), 5999);
    /* Inside a batch transaction, the same. */
    assert_int_equal(db_batch_begin(fx->db, &err), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(
            db_event_add(fx->db, 6000 + i, "test", NULL, "batched", &err), 0);
    assert_int_equal(db_batch_commit(fx->db, &err), 0);
    count = s_count(fx);
    assert_true(count >= 100 && count <= 100 + DB_EVENT_TRIM_EVERY);
}

/* A lowered limit's backlog drains as events arrive, two for each new
 * one; 0 turns the bound at insertion off. */
static void test_limit_drains_a_backlog(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    for (int i = 0; i < 1990; i++)
        assert_int_equal(db_event_add(fx->db, 200, "test", NULL, "x", &err), 0);
    assert_int_equal(s_count(fx), 2000);
    db_event_limit(fx->db, 10);
    for (int i = 0; i < 2 * DB_EVENT_TRIM_EVERY; i++)
        assert_int_equal(db_event_add(fx->db, 300, "test", NULL, "y", &err), 0);
    /* Two trims of 2 * DB_EVENT_TRIM_EVERY each. */
    assert_int_equal(s_count(fx), 2000 - 2 * DB_EVENT_TRIM_EVERY);
    db_event_limit(fx->db, 0);
    for (int i = 0; i < 2 * DB_EVENT_TRIM_EVERY; i++)
        assert_int_equal(db_event_add(fx->db, 400, "test", NULL, "z", &err), 0);
    assert_int_equal(s_count(fx), 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trim_by_count_in_batches, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_trim_by_age, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_trim_both_limits_share_the_batch,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_limit_holds_at_insertion, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_limit_drains_a_backlog, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
