/* test_policy_limits.c - the limits policy/ restates from proto/ (policy
 * depends on nothing of ours, so it cannot include vfp.h) agree with the
 * codec's, the parser enforces them at exactly those values, and the
 * largest policy it accepts still shows as a policy it accepts. */
#include "policy.h"
#include "policy_internal.h"
#include "vfp.h"

#include <assert.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A VM file's pinned host is sent in vm.create, whose host names follow
 * the codec's rule. */
static void test_host_names_match_the_wire(void **state)
{
    assert_int_equal(POLICY_HOST_NAME_MAX, VFP_HOSTNAME_MAX);
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

/* ---- every count and length limit, drawn at its constant --------------- */

typedef void s_writer_t(FILE *out, size_t n);

/* "" when the policy that write makes for n parses, else its first error
 * as "LINE:COL: message" (in buf). */
static const char *s_verdict(s_writer_t *write, size_t n, char *buf,
                             size_t size)
{
    char *text = NULL;
    size_t len;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    write(out, n);
    assert_int_equal(fclose(out), 0);
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy = policy_parse_buffer("limits.yaml", text, len, errs);
    buf[0] = '\0';
    if (!policy) {
        const policy_error_t *error = policy_errors_get(errs, 0);
        snprintf(buf, size, "%d:%d: %s", error->line, error->column,
                 error->message);
    }
    policy_destroy(&policy);
    policy_errors_destroy(&errs);
    free(text);
    return buf;
}

/* Items "xN" separated for a flow list. */
static void s_items(FILE *out, const char *prefix, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s%zu", i ? ", " : "", prefix, i);
}

static void s_group_hosts(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    hosts: [", out);
    s_items(out, "h", n);
    fputs("]\n    pfs: [{driver: ice, vfs: 1}]\n", out);
}

static void s_group_labels(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    labels: {", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%sk%zu: v", i ? ", " : "", i);
    fputs("}\n    pfs: [{driver: ice, vfs: 1}]\n", out);
}

static void s_group_pfs(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    hosts: [h]\n"
          "    pfs:\n",
          out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "      - {ifname: e%zu, vfs: 1}\n", i);
}

static void s_pf_networks(FILE *out, size_t n)
{
    fputs("version: 1\nnetworks:\n", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  - {name: n%zu}\n", i);
    fputs("host_groups:\n  - name: g\n    hosts: [h]\n    pfs:\n"
          "      - {driver: ice, vfs: 1, networks: [",
          out);
    s_items(out, "n", n);
    fputs("]}\n", out);
}

static void s_group_vms(FILE *out, size_t n)
{
    fputs("version: 1\nplacement:\n  anti_affinity_groups:\n"
          "    - name: a\n      vms: [",
          out);
    s_items(out, "v", n);
    fputs("]\n", out);
}

static void s_host_groups(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out,
                "  - {name: g%zu, hosts: [h%zu], pfs: [{driver: ice, "
                "vfs: 1}]}\n",
                i, i);
}

/* n characters of c. */
static void s_run(FILE *out, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(c, out);
}

static void s_glob_length(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    hosts: [", out);
    s_run(out, 'h', n);
    fputs("]\n    pfs: [{driver: ice, vfs: 1}]\n", out);
}

static void s_label_key_length(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    labels: {", out);
    s_run(out, 'k', n);
    fputs(": v}\n    pfs: [{driver: ice, vfs: 1}]\n", out);
}

static void s_label_value_length(FILE *out, size_t n)
{
    fputs("version: 1\nhost_groups:\n  - name: g\n    labels: {k: ", out);
    s_run(out, 'v', n);
    fputs("}\n    pfs: [{driver: ice, vfs: 1}]\n", out);
}

/* mtu written with n digits: 1 followed by zeros. */
static void s_integer_digits(FILE *out, size_t n)
{
    fputs("version: 1\nnetworks:\n  - name: n\n    mtu: 1", out);
    s_run(out, '0', n - 1);
    fputc('\n', out);
}

/* hypervisor_reserve written with n digits before the unit. */
static void s_size_digits(FILE *out, size_t n)
{
    fputs("version: 1\nmemory:\n  hypervisor_reserve: 1", out);
    s_run(out, '0', n - 1);
    fputs("M\n", out);
}

/* Every count limit of POLICY.md's table, at the limit and one past it. */
static void test_count_limits(void **state)
{
    char buf[512];
    const size_t items = POLICY_GROUP_ITEMS_MAX;
    assert_string_equal(s_verdict(s_group_hosts, items, buf, sizeof(buf)), "");
    assert_string_equal(s_verdict(s_group_hosts, items + 1, buf, sizeof(buf)),
                        "4:12: hosts: more than 64 entries");
    assert_string_equal(s_verdict(s_group_labels, items, buf, sizeof(buf)), "");
    assert_string_equal(s_verdict(s_group_labels, items + 1, buf, sizeof(buf)),
                        "4:13: labels: more than 64 entries");
    assert_string_equal(s_verdict(s_group_pfs, items, buf, sizeof(buf)), "");
    assert_string_equal(s_verdict(s_group_pfs, items + 1, buf, sizeof(buf)),
                        "6:7: pfs: more than 64 entries");
    assert_string_equal(s_verdict(s_pf_networks, items, buf, sizeof(buf)), "");
    assert_string_equal(s_verdict(s_pf_networks, items + 1, buf, sizeof(buf)),
                        "72:41: networks: more than 64 entries");
    assert_string_equal(s_verdict(s_group_vms, items, buf, sizeof(buf)), "");
    assert_string_equal(s_verdict(s_group_vms, items + 1, buf, sizeof(buf)),
                        "5:12: vms: more than 64 entries");
    assert_string_equal(
        s_verdict(s_host_groups, POLICY_HOST_GROUPS_MAX, buf, sizeof(buf)), "");
    assert_string_equal(
        s_verdict(s_host_groups, POLICY_HOST_GROUPS_MAX + 1, buf, sizeof(buf)),
        "3:3: host_groups: more than 256 entries");
}

/* Every length limit of the table, at the limit and one past it. */
static void test_length_limits(void **state)
{
    char buf[512];
    assert_string_equal(
        s_verdict(s_glob_length, POLICY_GLOB_MAX, buf, sizeof(buf)), "");
    assert_non_null(
        strstr(s_verdict(s_glob_length, POLICY_GLOB_MAX + 1, buf, sizeof(buf)),
               "at most 64 characters)"));
    assert_int_equal(strncmp(buf, "4:13: hosts: 'hhh", 17), 0);
    assert_string_equal(
        s_verdict(s_label_key_length, POLICY_NAME_MAX, buf, sizeof(buf)), "");
    assert_non_null(strstr(
        s_verdict(s_label_key_length, POLICY_NAME_MAX + 1, buf, sizeof(buf)),
        "at most 63 characters)"));
    assert_int_equal(strncmp(buf, "4:14: labels: 'kkk", 18), 0);
    assert_string_equal(
        s_verdict(s_label_value_length, POLICY_NAME_MAX, buf, sizeof(buf)), "");
    assert_non_null(strstr(
        s_verdict(s_label_value_length, POLICY_NAME_MAX + 1, buf, sizeof(buf)),
        "at most 63 characters)"));
    assert_int_equal(strncmp(buf, "4:17: labels: 'vvv", 18), 0);
    /* 12 digits are read as an integer (and are out of range here); 13
     * are not an integer at all. */
    assert_string_equal(s_verdict(s_integer_digits, 12, buf, sizeof(buf)),
                        "4:10: mtu: 100000000000 is out of range 68..9216");
    assert_string_equal(s_verdict(s_integer_digits, 13, buf, sizeof(buf)),
                        "4:10: mtu: expected an integer, got "
                        "'1000000000000'");
    /* 9 digits before the unit are a size (here one too large); 10 are
     * not. */
    assert_string_equal(s_verdict(s_size_digits, 9, buf, sizeof(buf)),
                        "3:23: hypervisor_reserve: '100000000M' is more than "
                        "16T");
    assert_string_equal(s_verdict(s_size_digits, 10, buf, sizeof(buf)),
                        "3:23: hypervisor_reserve: expected a size like "
                        "512M, 4G or 1T, got '1000000000M'");
}

/* ---- the normal form fits the limits the input met -------------------- */

/* Every key of a network, none at its default. */
#define FULL_NETWORK                                                           \
    "  - {name: net-%04zu, vlan: %zu, qos: 7, vlan_protocol: 802.1ad, "        \
    "spoof_check: false, trust: true, link_state: disable, min_tx_rate: 100, " \
    "max_tx_rate: 400000, mtu: 9216, guest_mtu_change: allow}\n"

/* The largest policy there can be: the most host groups and host globs,
 * every other key given, then `networks` networks with every key and
 * `macs` fixed MACs filling up what the node limit leaves. */
static char *s_largest(size_t networks, size_t macs, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    assert_non_null(out);
    fputs("version: 1\nnetworks:\n", out);
    for (size_t i = 0; i < networks; i++)
        fprintf(out, FULL_NETWORK, i, i % POLICY_VLAN_MAX + 1);
    fputs("mac_pools:\n  - {name: pool, vendor_oui: true, prefixes: "
          "[\"02:00:00\", \"00:50:56:01\"]}\nfixed_macs: [\n",
          out);
    for (size_t i = 0; i < macs; i++)
        fprintf(out, "  \"0a:00:00:%02zx:%02zx:%02zx\",\n", i >> 16,
                (i >> 8) & 0xff, i & 0xff);
    fputs("]\nhost_groups:\n", out);
    static_assert(POLICY_HOST_GLOBS_MAX == 2 * POLICY_HOST_GROUPS_MAX,
                  "two globs per group reach both limits");
    for (size_t g = 0; g < POLICY_HOST_GROUPS_MAX; g++)
        fprintf(out,
                "  - name: group-%03zu\n    hosts: [\"h%03zu-*\", "
                "\"r%03zu-*\"]\n    labels: {rack: r%03zu}\n    pfs:\n"
                "      - {ifname: \"ens*\", pci_address: \"0000:%02zx:00.0\", "
                "driver: ice, device: \"8086:1593\", vfs: %d, "
                "networks: [net-0000]}\n",
                g, g, g, g, g, POLICY_VFS_MAX);
    fputs("memory: {full_reservation: true, hugepages: 1G, "
          "hypervisor_reserve: 16T}\nplacement: {strategy: pack, "
          "anti_affinity_groups: [{name: db, vms: [\"db-*\", \"pg-?\"]}]}\n"
          "drift: report\n",
          out);
    assert_int_equal(fclose(out), 0);
    return text;
}

/* Parses text; on success checks that the normal form is at most the
 * limits and parses again to the same text and revision, and returns
 * its node count. Returns 0 when the text is refused. */
static size_t s_round_trip(const char *text, size_t len, policy_errors_t *errs)
{
    policy_t *policy = policy_parse_buffer("largest", text, len, errs);
    if (!policy)
        return 0;
    size_t shown_len, again_len, nodes;
    char *shown = policy_emit_string(policy, &shown_len);
    assert_non_null(shown);
    assert_true(shown_len <= POLICY_MAX_NORMAL_SIZE);
    assert_true(policy_yaml_count_nodes(shown, shown_len, &nodes));
    assert_true(nodes <= POLICY_MAX_NODES);
    policy_t *again = policy_parse_buffer("shown", shown, shown_len, errs);
    assert_non_null(again);
    char *again_text = policy_emit_string(again, &again_len);
    assert_non_null(again_text);
    assert_int_equal(again_len, shown_len);
    assert_memory_equal(again_text, shown, shown_len);
    char hash[65], again_hash[65];
    assert_int_equal(policy_sha256_hex(policy, hash), 0);
    assert_int_equal(policy_sha256_hex(again, again_hash), 0);
    assert_string_equal(hash, again_hash);
    free(again_text);
    free(shown);
    policy_destroy(&again);
    policy_destroy(&policy);
    return nodes;
}

/* The normal form of the largest policy has exactly POLICY_MAX_NODES
 * nodes and shows to itself; one node more is refused, at 1:1, with the
 * count, although the input itself is well under both limits. */
static void test_largest_policy_round_trips(void **state)
{
    policy_errors_t *errs = policy_errors_new();
    size_t len;
    char *text = s_largest(1, 0, &len);
    size_t one = s_round_trip(text, len, errs);
    free(text);
    text = s_largest(2, 0, &len);
    size_t per_network = s_round_trip(text, len, errs) - one;
    free(text);
    assert_true(one > 0 && per_network > 0);
    size_t networks = 1 + (POLICY_MAX_NODES - one) / per_network;
    size_t macs = (POLICY_MAX_NODES - one) % per_network;

    text = s_largest(networks, macs, &len);
    assert_true(len <= POLICY_MAX_FILE_SIZE);
    assert_int_equal(s_round_trip(text, len, errs), POLICY_MAX_NODES);
    free(text);

    text = s_largest(networks, macs + 1, &len);
    assert_int_equal(s_round_trip(text, len, errs), 0);
    assert_int_equal(policy_errors_count(errs), 1);
    const policy_error_t *error = policy_errors_get(errs, 0);
    assert_int_equal(error->line, 1);
    assert_int_equal(error->column, 1);
    char want[128];
    snprintf(want, sizeof(want),
             "normalised policy would be %d YAML nodes, over the limit of "
             "%d nodes",
             POLICY_MAX_NODES + 1, POLICY_MAX_NODES);
    assert_string_equal(error->message, want);
    free(text);
    policy_errors_destroy(&errs);
}

/* A network per VLAN, each with every key: the input is well under both
 * limits, but its normal form (25 nodes a network) is not, so it is
 * refused rather than shown as a policy that would not parse. */
static void test_network_per_vlan(void **state)
{
    policy_errors_t *errs = policy_errors_new();
    char *text = NULL;
    size_t len;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    fputs("version: 1\nnetworks:\n", out);
    for (size_t i = 0; i < POLICY_VLAN_MAX; i++)
        fprintf(out, FULL_NETWORK, i, i + 1);
    assert_int_equal(fclose(out), 0);
    assert_true(len <= POLICY_MAX_FILE_SIZE);
    assert_int_equal(s_round_trip(text, len, errs), 0);
    assert_int_equal(policy_errors_count(errs), 1);
    assert_string_equal(policy_errors_get(errs, 0)->message,
                        "normalised policy would be 102377 YAML nodes, over "
                        "the limit of 100000 nodes");
    free(text);
    policy_errors_destroy(&errs);
}

/* Names sized so that the normal form is exactly POLICY_MAX_NORMAL_SIZE
 * bytes (plus `extra`): the byte limit, which leaves room for show's
 * revision comment, is drawn there. */
static char *s_long_names(size_t target, size_t extra, size_t *len)
{
    enum { NETWORKS = 4800, BASE = 6 };
    size_t pad[NETWORKS] = {0};
    char *text = NULL;
    for (int pass = 0; pass < 2; pass++) {
        FILE *out = open_memstream(&text, len);
        assert_non_null(out);
        fputs("version: 1\nnetworks:\n", out);
        for (size_t i = 0; i < NETWORKS; i++)
            fprintf(out, "  - {name: n%05zu%.*s}\n", i, (int)pad[i],
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                    "xx");
        assert_int_equal(fclose(out), 0);
        if (pass == 1)
            break;
        policy_t *policy = policy_parse_buffer("names", text, *len, NULL);
        assert_non_null(policy);
        size_t shown;
        free(policy_emit_string(policy, &shown));
        policy_destroy(&policy);
        free(text);
        /* Each character added to a name adds one to the normal form. */
        size_t missing = target + extra - shown;
        for (size_t i = 0; i < NETWORKS && missing; i++) {
            pad[i] = missing < POLICY_NAME_MAX - BASE ? missing
                                                      : POLICY_NAME_MAX - BASE;
            missing -= pad[i];
        }
        assert_int_equal(missing, 0);
    }
    return text;
}

static void test_normal_form_byte_limit(void **state)
{
    static_assert(POLICY_SHOW_COMMENT_MAX >=
                      sizeof("# vfleet policy, normalised; revision "
                             "sha256:\n") +
                          64,
                  "show's comment line fits its allowance");
    policy_errors_t *errs = policy_errors_new();
    size_t len;
    char *text = s_long_names(POLICY_MAX_NORMAL_SIZE, 0, &len);
    assert_true(s_round_trip(text, len, errs) > 0);
    free(text);
    text = s_long_names(POLICY_MAX_NORMAL_SIZE, 1, &len);
    assert_true(len <= POLICY_MAX_FILE_SIZE);
    assert_int_equal(s_round_trip(text, len, errs), 0);
    assert_int_equal(policy_errors_count(errs), 1);
    char want[128];
    snprintf(want, sizeof(want),
             "normalised policy would be %d bytes, over the limit of %d "
             "bytes",
             POLICY_MAX_NORMAL_SIZE + 1, POLICY_MAX_NORMAL_SIZE);
    assert_string_equal(policy_errors_get(errs, 0)->message, want);
    free(text);
    policy_errors_destroy(&errs);
}

/* Aliases: some 15 kilobytes that name one list of 64 long VM globs 300
 * times expand to well under the node limit, but the normal form writes
 * the list out each time and is over the byte limit. */
static void test_aliases_expanded_over_byte_limit(void **state)
{
    char *text = NULL;
    size_t len;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    fputs("version: 1\nplacement:\n  anti_affinity_groups:\n"
          "    - name: group-000\n      vms: &vms\n",
          out);
    for (int i = 0; i < POLICY_GROUP_ITEMS_MAX; i++)
        fprintf(out, "        - vm%02d-%0*d*\n", i, POLICY_GLOB_MAX - 6, 0);
    for (int g = 1; g < 300; g++)
        fprintf(out, "    - {name: group-%03d, vms: *vms}\n", g);
    assert_int_equal(fclose(out), 0);
    assert_true(len < 16 * 1024);
    policy_errors_t *errs = policy_errors_new();
    assert_int_equal(s_round_trip(text, len, errs), 0);
    assert_int_equal(policy_errors_count(errs), 1);
    const policy_error_t *error = policy_errors_get(errs, 0);
    assert_int_equal(error->line, 1);
    assert_int_equal(error->column, 1);
    const char *message = error->message;
    size_t bytes;
    char rest[64];
    assert_int_equal(sscanf(message,
                            "normalised policy would be %zu bytes, %63[^\n]",
                            &bytes, rest),
                     2);
    assert_true(bytes > POLICY_MAX_NORMAL_SIZE);
    assert_string_equal(rest, "over the limit of 1048448 bytes");
    free(text);
    policy_errors_destroy(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vlan_and_qos_match_apply),
        cmocka_unit_test(test_vf_count_matches_the_wire),
        cmocka_unit_test(test_names_fit_the_wire),
        cmocka_unit_test(test_host_names_match_the_wire),
        cmocka_unit_test(test_link_states_match),
        cmocka_unit_test(test_mtu_fits_apply),
        cmocka_unit_test(test_parser_enforces_the_limits),
        cmocka_unit_test(test_count_limits),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_largest_policy_round_trips),
        cmocka_unit_test(test_network_per_vlan),
        cmocka_unit_test(test_normal_form_byte_limit),
        cmocka_unit_test(test_aliases_expanded_over_byte_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
