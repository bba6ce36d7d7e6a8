/* test_policy_match.c - host group and PF entry selection (policy_match.h)
 * on a policy parsed from real YAML text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_match.h"

static const char s_text[] = "version: 1\n"
                             "networks:\n"
                             "  - name: vlan1\n"
                             "    vlan: 1\n"
                             "host_groups:\n"
                             "  - name: edge\n"
                             "    hosts: [\"esx-e*\", \"lab-?\"]\n"
                             "    pfs:\n"
                             "      - ifname: \"ens1f*\"\n"
                             "        driver: ixgbe\n"
                             "        vfs: 4\n"
                             "        networks: [vlan1]\n"
                             "      - device: \"8086:10FB\"\n"
                             "        vfs: 2\n"
                             "        networks: [vlan1]\n"
                             "      - pci_address: \"0000:3b:00.1\"\n"
                             "        vfs: 1\n"
                             "        networks: [vlan1]\n"
                             "  - name: gpu\n"
                             "    hosts: [\"*\"]\n"
                             "    labels: {rack: r1, role: gpu}\n"
                             "    pfs:\n"
                             "      - driver: mlx5_core\n"
                             "        vfs: 8\n"
                             "        networks: [vlan1]\n";

static int s_setup(void **state)
{
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy =
        policy_parse_buffer("match.yaml", s_text, strlen(s_text), errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    *state = policy;
    return policy ? 0 : -1;
}

static int s_teardown(void **state)
{
    policy_t *policy = *state;
    policy_destroy(&policy);
    return 0;
}

static void test_glob_match(void **state)
{
    (void)state;
    assert_true(policy_glob_match("*", ""));
    assert_true(policy_glob_match("esx-*", "esx-e1"));
    assert_true(policy_glob_match("esx-*", "esx-"));
    assert_true(policy_glob_match("*-e?", "esx-e1"));
    assert_true(policy_glob_match("a*b*c", "aXXbYYbc"));
    assert_true(policy_glob_match("**x", "abx"));
    assert_false(policy_glob_match("esx-*", "esx"));
    assert_false(policy_glob_match("lab-?", "lab-12"));
    assert_false(policy_glob_match("a*b*c", "aXXbYYbd"));
    assert_false(policy_glob_match("", "a"));
    /* Case-sensitive, as POLICY.md says. */
    assert_false(policy_glob_match("ESX-*", "esx-e1"));
}

/* A pathological glob against a long name finishes (no exponential
 * backtracking) and answers correctly. */
static void test_glob_match_no_blowup(void **state)
{
    (void)state;
    char text[4097];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_false(policy_glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
    assert_true(policy_glob_match("*a*a*a*a*a*a*a*a*a*a*", text));
}

static void test_host_group_by_name_and_labels(void **state)
{
    const policy_t *policy = *state;
    const policy_host_group_t *edge = policy_host_group_find(policy, "edge");
    const policy_host_group_t *gpu = policy_host_group_find(policy, "gpu");
    assert_non_null(edge);
    assert_non_null(gpu);

    assert_true(policy_host_group_selects(edge, "esx-e1", NULL, 0));
    assert_true(policy_host_group_selects(edge, "lab-7", NULL, 0));
    assert_false(policy_host_group_selects(edge, "lab-17", NULL, 0));
    assert_false(policy_host_group_selects(edge, "kvm-1", NULL, 0));

    policy_label_t both[] = {{"role", "gpu"}, {"rack", "r1"}};
    policy_label_t wrong[] = {{"rack", "r2"}, {"role", "gpu"}};
    policy_label_t one[] = {{"rack", "r1"}};
    assert_true(policy_host_group_selects(gpu, "kvm-1", both, 2));
    assert_false(policy_host_group_selects(gpu, "kvm-1", wrong, 2));
    assert_false(policy_host_group_selects(gpu, "kvm-1", one, 1));
    assert_false(policy_host_group_selects(gpu, "kvm-1", NULL, 0));
}

/* The label rules host.label checks with are the ones a policy's labels:
 * selectors are parsed with. */
static void test_label_rules(void **state)
{
    (void)state;
    char long_key[65];
    memset(long_key, 'k', 64);
    long_key[64] = '\0';
    assert_true(policy_label_key_valid("role"));
    assert_true(policy_label_key_valid("example.com/rack-1_a"));
    assert_true(policy_label_key_valid("9zone"));
    assert_true(policy_label_key_valid(long_key + 1));
    assert_false(policy_label_key_valid(long_key));
    assert_false(policy_label_key_valid(""));
    assert_false(policy_label_key_valid("-role"));
    assert_false(policy_label_key_valid("/role"));
    assert_false(policy_label_key_valid("a=b"));
    assert_false(policy_label_key_valid("a b"));
    assert_true(policy_label_value_valid("sriov"));
    assert_true(policy_label_value_valid("-x.y_z"));
    assert_true(policy_label_value_valid(long_key + 1));
    assert_false(policy_label_value_valid(long_key));
    assert_false(policy_label_value_valid(""));
    assert_false(policy_label_value_valid("a/b"));
    assert_false(policy_label_value_valid("a\nb"));
    /* Names (networks, groups, VMs) start with a letter or digit. */
    assert_true(policy_name_valid("web-1.prod_a"));
    assert_true(policy_name_valid(long_key + 1));
    assert_false(policy_name_valid(long_key));
    assert_false(policy_name_valid(""));
    assert_false(policy_name_valid("-web"));
    assert_false(policy_name_valid("web/1"));
    assert_false(policy_name_valid("web\x1b[31m"));
}

static void test_pf_entry_first_match_wins(void **state)
{
    const policy_t *policy = *state;
    const policy_host_group_t *edge = policy_host_group_find(policy, "edge");

    /* ifname and driver both match: the first entry. */
    policy_pf_facts_t ixgbe = {"ens1f0", "0000:3b:00.0", "ixgbe", 0x8086,
                               0x10fb};
    const policy_pf_t *entry = policy_host_group_pf_entry(edge, &ixgbe);
    assert_non_null(entry);
    assert_int_equal(entry->vfs, 4);

    /* The ifname matches but not the driver: the device entry, whose id
     * compares without regard to hex case. */
    policy_pf_facts_t vfio = {"ens1f1", "0000:3b:00.1", "vfio-pci", 0x8086,
                              0x10fb};
    entry = policy_host_group_pf_entry(edge, &vfio);
    assert_non_null(entry);
    assert_int_equal(entry->vfs, 2);

    /* Only the PCI address matches. */
    policy_pf_facts_t other = {"eth9", "0000:3B:00.1", "i40e", 0x8086, 0x1572};
    entry = policy_host_group_pf_entry(edge, &other);
    assert_non_null(entry);
    assert_int_equal(entry->vfs, 1);

    /* Nothing matches; an unknown ifname never matches a glob. */
    policy_pf_facts_t none = {NULL, "0000:5e:00.0", "i40e", 0x8086, 0x1572};
    assert_null(policy_host_group_pf_entry(edge, &none));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_match),
        cmocka_unit_test(test_glob_match_no_blowup),
        cmocka_unit_test(test_host_group_by_name_and_labels),
        cmocka_unit_test(test_pf_entry_first_match_wins),
        cmocka_unit_test(test_label_rules),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
