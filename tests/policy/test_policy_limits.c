/* test_policy_limits.c - the limits policy/ restates from proto/ (policy
 * depends on nothing of ours, so it cannot include vfp.h) agree with the
 * codec's, and the parser enforces them at exactly those values. */
#include "policy.h"
#include "vfp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* A network's VLAN and QoS end up in an APPLY: the policy must accept
 * exactly what APPLY may carry, no more and no less. */
static void test_vlan_and_qos_match_apply(void **state)
{
    assert_int_equal(POLICY_VLAN_MAX, VFP_APPLY_VLAN_MAX);
    assert_int_equal(POLICY_QOS_MAX, VFP_QOS_MAX);
}

static void test_vf_count_matches_the_wire(void **state)
{
    assert_int_equal(POLICY_VFS_MAX, VFP_VFS_MAX);
}

/* Names and globs the policy accepts must fit the wire's name fields. */
static void test_names_fit_the_wire(void **state)
{
    assert_true(POLICY_NAME_MAX <= VFP_NAME_MAX);
    assert_true(POLICY_GLOB_MAX <= VFP_NAME_MAX);
    assert_true(strlen("0000:3b:00.0") <= VFP_PCI_ADDR_MAX);
}

/* The model's link-state values are the wire's, so one converts to the
 * other without a table. */
static void test_link_states_match(void **state)
{
    assert_int_equal(POLICY_LINK_AUTO, VFP_LINK_AUTO);
    assert_int_equal(POLICY_LINK_ENABLE, VFP_LINK_ENABLE);
    assert_int_equal(POLICY_LINK_DISABLE, VFP_LINK_DISABLE);
}

/* The codec refuses an MTU below 68 and carries it in 16 bits (vfp.c has
 * no constant for it to compare with). */
static void test_mtu_fits_apply(void **state)
{
    assert_true(POLICY_MTU_MIN >= 68);
    assert_true(POLICY_MTU_MAX <= UINT16_MAX);
    assert_true(POLICY_TX_RATE_MAX <= UINT32_MAX);
}

static bool s_parses(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static bool s_parses(const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    policy_t *policy =
        policy_parse_buffer("limits.yaml", text, strlen(text), NULL);
    bool ok = policy != NULL;
    policy_destroy(&policy);
    return ok;
}

/* The parser draws the line at the constants themselves. */
static void test_parser_enforces_the_limits(void **state)
{
#define NETWORK                                                                \
    "version: 1\nnetworks:\n  - name: n\n    vlan: %d\n    qos: %d\n"
    assert_true(s_parses(NETWORK, POLICY_VLAN_MAX, POLICY_QOS_MAX));
    assert_false(s_parses(NETWORK, POLICY_VLAN_MAX + 1, POLICY_QOS_MAX));
    assert_false(s_parses(NETWORK, POLICY_VLAN_MAX, POLICY_QOS_MAX + 1));

#define GROUP                                                                  \
    "version: 1\nhost_groups:\n  - name: g\n    hosts: [h]\n    pfs:\n"        \
    "      - driver: ice\n        vfs: %d\n"
    assert_true(s_parses(GROUP, POLICY_VFS_MAX));
    assert_false(s_parses(GROUP, POLICY_VFS_MAX + 1));

    char name[POLICY_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_false(s_parses("version: 1\nnetworks:\n  - name: %s\n", name));
    name[POLICY_NAME_MAX] = '\0';
    assert_true(s_parses("version: 1\nnetworks:\n  - name: %s\n", name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vlan_and_qos_match_apply),
        cmocka_unit_test(test_vf_count_matches_the_wire),
        cmocka_unit_test(test_names_fit_the_wire),
        cmocka_unit_test(test_link_states_match),
        cmocka_unit_test(test_mtu_fits_apply),
        cmocka_unit_test(test_parser_enforces_the_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
