/* test_policy_mac_pool.c - unit tests of the MAC pool capacity and the
 * warning the controller gives when the pools cannot serve its VFs. */
#include "policy.h"
#include "policy_mac_pool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static policy_t *s_parse(const char *text)
{
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy =
        policy_parse_buffer("pools.yaml", text, strlen(text), errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    assert_non_null(policy);
    policy_errors_destroy(&errs);
    return policy;
}

/* The capacity of a policy whose only pool has the given prefixes. */
static uint64_t s_capacity(const char *prefixes, bool vendor_oui)
{
    char text[256];
    snprintf(text, sizeof(text),
             "version: 1\nmac_pools:\n  - {name: p, vendor_oui: %s, "
             "prefixes: [%s]}\n",
             vendor_oui ? "true" : "false", prefixes);
    policy_t *policy = s_parse(text);
    assert_int_equal(policy->mac_pool_count, 1);
    uint64_t capacity = policy_mac_pool_capacity(&policy->mac_pools[0]);
    assert_int_equal(policy_mac_pool_total(policy), capacity);
    policy_destroy(&policy);
    return capacity;
}

static void test_capacity_per_prefix_length(void **state)
{
    /* 2^(8 * (6 - octets)) addresses per prefix. */
    assert_int_equal(s_capacity("\"02:00:00:00:01\"", false), 256);
    assert_int_equal(s_capacity("\"02:00:00:01\"", false), 65536);
    assert_int_equal(s_capacity("\"02:00:01\"", false), 16777216);
    /* Prefixes of one pool add up. */
    assert_int_equal(
        s_capacity("\"02:00:00:00:01\", \"02:00:00:00:02\", \"0a:01:00:00\"",
                   false),
        256 + 256 + 65536);
    /* Every address of a prefix is usable, its first and last included:
     * a MAC has no network or broadcast suffix. */
    assert_int_equal(s_capacity("\"02:00:00:00:00\"", false), 256);
    assert_int_equal(s_capacity("\"02:ff:ff:ff:ff\"", false), 256);
    assert_int_equal(s_capacity("\"00:50:56:01\"", true), 65536);
}

/* 00:00:00:00:00:00 means "no MAC" (a free VF's), so a vendor_oui pool
 * whose prefix is all zeros gives one address less. */
static void test_capacity_without_the_zero_address(void **state)
{
    assert_int_equal(s_capacity("\"00:00:00:00:00\"", true), 255);
    assert_int_equal(s_capacity("\"00:00:00\"", true), 16777215);
    assert_int_equal(s_capacity("\"00:00:00:00:01\"", true), 256);
    assert_int_equal(s_capacity("\"00:00:01\"", true), 16777216);
}

static void test_total_of_all_pools(void **state)
{
    policy_t *policy = s_parse("version: 1\nmac_pools:\n"
                               "  - {name: b, prefixes: [\"02:00:00:00:01\"]}\n"
                               "  - {name: a, prefixes: [\"06:00:00:01\", "
                               "\"0a:00:00:00:07\"]}\n");
    assert_int_equal(policy_mac_pool_capacity(&policy->mac_pools[0]),
                     65536 + 256);
    assert_int_equal(policy_mac_pool_capacity(&policy->mac_pools[1]), 256);
    assert_int_equal(policy_mac_pool_total(policy), 65536 + 256 + 256);
    policy_destroy(&policy);

    policy = s_parse("version: 1\n");
    assert_int_equal(policy_mac_pool_total(policy), 0);
    policy_destroy(&policy);
}

/* No parsed policy gets near 2^64 addresses (the file size bounds the
 * prefixes), but the sums saturate rather than wrap. Made by hand: a
 * prefix of 0 octets stands for all 2^48 addresses (less the zero one),
 * and 65 pools of 1024 such prefixes hold more than 2^64. */
static void test_capacity_saturates(void **state)
{
    static policy_mac_prefix_t whole[1024];
    policy_mac_pool_t pool = {
        .name = "p", .prefix_count = 1024, .prefixes = whole};
    assert_true(policy_mac_pool_capacity(&pool) ==
                1024 * ((UINT64_C(1) << 48) - 1));
    static policy_mac_pool_t pools[65];
    for (size_t i = 0; i < 65; i++)
        pools[i] = pool;
    policy_t policy = {.mac_pool_count = 64, .mac_pools = pools};
    assert_true(policy_mac_pool_total(&policy) < UINT64_MAX);
    policy.mac_pool_count = 65;
    assert_true(policy_mac_pool_total(&policy) == UINT64_MAX);
    char buf[160];
    assert_int_equal(
        policy_mac_pool_check(&policy, UINT64_MAX, buf, sizeof(buf)), 0);
}

/* The warning: one line at the pool written first, with both counts. */
static void test_check_warns_when_short(void **state)
{
    policy_t *policy = s_parse("version: 1\nmac_pools:\n"
                               "  - name: zz-first\n"
                               "    prefixes: [\"02:00:00:00:01\"]\n"
                               "  - name: aa-second\n"
                               "    prefixes: [\"02:00:00:00:02\"]\n");
    char buf[160];
    assert_int_equal(policy_mac_pool_check(policy, 512, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(policy_mac_pool_check(policy, 0, buf, sizeof(buf)), 0);
    assert_int_equal(policy_mac_pool_check(policy, 513, buf, sizeof(buf)), -1);
    assert_string_equal(buf, "pools.yaml:3:5: mac pools give 512 addresses "
                             "for 513 VFs configured on the cluster");
    /* Truncated to the buffer, always terminated. */
    char small[16];
    assert_int_equal(
        policy_mac_pool_check(policy, 100000, small, sizeof(small)), -1);
    assert_string_equal(small, "pools.yaml:3:5:");
    assert_int_equal(policy_mac_pool_check(policy, 100000, NULL, 0), -1);
    policy_destroy(&policy);

    /* No pool at all: the warning points at the start of the file. */
    policy = s_parse("version: 1\n");
    assert_int_equal(policy_mac_pool_check(policy, 0, buf, sizeof(buf)), 0);
    assert_int_equal(policy_mac_pool_check(policy, 4, buf, sizeof(buf)), -1);
    assert_string_equal(buf, "pools.yaml:1:1: mac pools give 0 addresses for "
                             "4 VFs configured on the cluster");
    policy_destroy(&policy);
}

/* The example policy: one 4-octet prefix, 65536 addresses. */
static void test_check_example(void **state)
{
    policy_t *policy = policy_parse_file("ok/example.yaml", NULL);
    assert_non_null(policy);
    char buf[160];
    assert_int_equal(policy_mac_pool_total(policy), 65536);
    assert_int_equal(policy_mac_pool_check(policy, 65536, buf, sizeof(buf)), 0);
    assert_int_equal(policy_mac_pool_check(policy, 65537, buf, sizeof(buf)),
                     -1);
    assert_string_equal(buf, "ok/example.yaml:35:5: mac pools give 65536 "
                             "addresses for 65537 VFs configured on the "
                             "cluster");
    policy_destroy(&policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_per_prefix_length),
        cmocka_unit_test(test_capacity_without_the_zero_address),
        cmocka_unit_test(test_total_of_all_pools),
        cmocka_unit_test(test_capacity_saturates),
        cmocka_unit_test(test_check_warns_when_short),
        cmocka_unit_test(test_check_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
