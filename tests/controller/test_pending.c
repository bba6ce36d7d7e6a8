/* test_pending.c - the parked admin request table: answered by key in
 * parking order, bounded in size, timed out oldest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pending.h"

static void test_park_and_take_by_key(void **state)
{
    (void)state;
    pending_t *pending = pending_new(3, 1000);
    zframe_t *a = zframe_new("a", 1), *b = zframe_new("b", 1);
    assert_int_equal(pending_park(pending, "vm:web", a, 1, 1, 0), 0);
    assert_int_equal(pending_park(pending, "policy:4", b, 2, 1, 10), 0);
    assert_int_equal(pending_park(pending, "vm:web", b, 3, 1, 20), 0);
    /* Bounded: the caller answers at once instead. */
    assert_int_equal(pending_park(pending, "vm:db", a, 4, 1, 30), -1);
    assert_int_equal(pending_size(pending), 3);

    pending_entry_t entry;
    assert_int_equal(pending_take(pending, "vm:web", &entry), 0);
    assert_int_equal(entry.request_id, 1);
    assert_true(zframe_eq(entry.routing_id, a));
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_take(pending, "vm:web", &entry), 0);
    assert_int_equal(entry.request_id, 3);
    assert_true(zframe_eq(entry.routing_id, b));
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_take(pending, "vm:web", &entry), -1);
    assert_int_equal(pending_size(pending), 1);
    zframe_destroy(&a);
    zframe_destroy(&b);
    /* Destroying the table frees what is still parked. */
    pending_destroy(&pending);
    assert_null(pending);
}

static void test_expire_oldest_first(void **state)
{
    (void)state;
    pending_t *pending = pending_new(8, 100);
    zframe_t *route = zframe_new("r", 1);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(pending_park(pending, "k", route, i, 1, i * 50), 0);
    pending_entry_t entry;
    assert_int_equal(pending_expire(pending, 99, &entry), -1);
    assert_int_equal(pending_expire(pending, 151, &entry), 0);
    assert_int_equal(entry.request_id, 0);
    assert_int_equal(entry.deadline_mono, 100);
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_expire(pending, 151, &entry), 0);
    assert_int_equal(entry.request_id, 1);
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_expire(pending, 151, &entry), -1);
    assert_int_equal(pending_size(pending), 2);
    zframe_destroy(&route);
    pending_destroy(&pending);
}

/* A request parked with a shorter timeout expires before older ones; a
 * longer one than the table's is cut to the table's. */
static void test_expire_own_timeout(void **state)
{
    (void)state;
    pending_t *pending = pending_new(8, 100);
    zframe_t *route = zframe_new("r", 1);
    assert_int_equal(pending_park_for(pending, "a", route, 1, 1, 0, 0), 0);
    assert_int_equal(pending_park_for(pending, "b", route, 2, 1, 0, 10), 0);
    assert_int_equal(pending_park_for(pending, "c", route, 3, 1, 0, 500), 0);
    pending_entry_t entry;
    assert_int_equal(pending_expire(pending, 9, &entry), -1);
    assert_int_equal(pending_expire(pending, 10, &entry), 0);
    assert_int_equal(entry.request_id, 2);
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_expire(pending, 99, &entry), -1);
    assert_int_equal(pending_expire(pending, 100, &entry), 0);
    assert_int_equal(entry.request_id, 1);
    zframe_destroy(&entry.routing_id);
    assert_int_equal(pending_expire(pending, 100, &entry), 0);
    assert_int_equal(entry.request_id, 3);
    assert_int_equal(entry.deadline_mono, 100);
    zframe_destroy(&entry.routing_id);
    zframe_destroy(&route);
    pending_destroy(&pending);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_park_and_take_by_key),
        cmocka_unit_test(test_expire_oldest_first),
        cmocka_unit_test(test_expire_own_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
