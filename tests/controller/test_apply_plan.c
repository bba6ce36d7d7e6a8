/* test_apply_plan.c - policy + inventory to one APPLY per host: selection,
 * VF settings, hugepages, every conflict's text, and the APPLY diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_plan.h"

#define SEED_POLICY "../../deploy/examples/policy.yaml"
#define CLEAN_SET                                                              \
    (VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_TRUST |           \
     VFP_SET_LINK_STATE | VFP_SET_RATE)

/* ---- helpers -------------------------------------------------------- */

static policy_t *s_parse(const char *text)
{
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy = policy_parse_buffer("p.yaml", text, strlen(text), errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    assert_non_null(policy);
    return policy;
}

/* An inventory of up to 32 PFs, added with s_add_pf. */
static vfp_inventory_t *s_inventory(const char *hostname)
{
    vfp_inventory_t *inv = calloc(1, sizeof *inv);
    assert_non_null(inv);
    snprintf(inv->host.hostname, sizeof inv->host.hostname, "%s", hostname);
    inv->pfs = calloc(32, sizeof *inv->pfs);
    assert_non_null(inv->pfs);
    return inv;
}

static void s_add_pf(vfp_inventory_t *inv, const char *pci, const char *ifname,
                     const char *driver, uint16_t total_vfs, uint16_t num_vfs)
{
    assert_true(inv->pf_count < 32);
    vfp_pf_t *pf = &inv->pfs[inv->pf_count++];
    snprintf(pf->pci_addr, sizeof pf->pci_addr, "%s", pci);
    snprintf(pf->ifname, sizeof pf->ifname, "%s", ifname);
    snprintf(pf->driver, sizeof pf->driver, "%s", driver);
    pf->vendor_id = 0x8086;
    pf->device_id = 0x10fb;
    pf->numa_node = -1;
    pf->total_vfs = total_vfs;
    pf->num_vfs = num_vfs;
}

static void s_inventory_free(vfp_inventory_t **inv_p)
{
    free((*inv_p)->pfs);
    free(*inv_p);
    *inv_p = NULL;
}

/* The plan's APPLY, asserted conflict-free and valid on the wire. */
static const vfp_apply_t *s_valid_apply(const apply_plan_t *plan)
{
    for (size_t i = 0; i < apply_plan_conflict_count(plan); i++)
        fprintf(stderr, "unexpected conflict: %s\n",
                apply_plan_conflict(plan, i));
    assert_int_equal(apply_plan_conflict_count(plan), 0);
    const vfp_apply_t *apply = apply_plan_apply(plan);
    assert_non_null(apply);
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    msg.u.apply = *apply;
    vfp_decode_error_t err;
    if (vfp_validate(&msg, &err))
        fprintf(stderr, "invalid APPLY: %s: %s\n", err.field, err.text);
    assert_int_equal(vfp_validate(&msg, &err), 0);
    return apply;
}

static apply_plan_t *s_plan(const policy_t *policy, const char *name,
                            const vfp_inventory_t *inv)
{
    apply_plan_host_t host = {.name = name, .inventory = inv};
    return apply_plan_new(policy, "p.yaml", &host);
}

/* The conflicts of a plan, asserted to be exactly `want` (NULL-ended). */
static void s_assert_conflicts(const apply_plan_t *plan,
                               const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (apply_plan_conflict_count(plan) != n)
        for (size_t i = 0; i < apply_plan_conflict_count(plan); i++)
            fprintf(stderr, "conflict: %s\n", apply_plan_conflict(plan, i));
    assert_int_equal(apply_plan_conflict_count(plan), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(apply_plan_conflict(plan, i), want[i]);
    assert_null(apply_plan_apply(plan));
}

static void s_assert_clean(const vfp_apply_vf_t *vf, const char *pf,
                           uint16_t index)
{
    static const uint8_t zero[6];
    assert_string_equal(vf->pf, pf);
    assert_int_equal(vf->index, index);
    assert_int_equal(vf->set, CLEAN_SET);
    assert_memory_equal(vf->mac, zero, 6);
    assert_int_equal(vf->vlan, 0);
    assert_int_equal(vf->qos, 0);
    assert_int_equal(vf->vlan_proto, VFP_VLAN_PROTO_8021Q);
    assert_int_equal(vf->spoofchk, VFP_ON);
    assert_int_equal(vf->trust, VFP_OFF);
    assert_int_equal(vf->link_state, VFP_LINK_AUTO);
    assert_int_equal(vf->min_tx_rate, 0);
    assert_int_equal(vf->max_tx_rate, 0);
    assert_int_equal(vf->mtu, 0);
}

/* ---- the seed cluster ----------------------------------------------- */

static void test_seed_policy_gives_two_clean_vfs_per_host(void **state)
{
    (void)state;
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy = policy_parse_file(SEED_POLICY, errs);
    policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    assert_non_null(policy);
    const char *hosts[] = {"esx-e1", "esx-e2"};
    for (int h = 0; h < 2; h++) {
        vfp_inventory_t *inv = s_inventory(hosts[h]);
        s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 0);
        s_add_pf(inv, "0000:3b:00.1", "ens1f1", "ixgbe", 63, 0);
        apply_plan_t *plan = s_plan(policy, hosts[h], inv);
        const vfp_apply_t *apply = s_valid_apply(plan);
        assert_int_equal(apply->revision, 0);
        /* ens1f1 is in no PF entry: left alone. */
        assert_int_equal(apply->pf_count, 1);
        assert_string_equal(apply->pfs[0].pf, "0000:3b:00.0");
        assert_int_equal(apply->pfs[0].num_vfs, 2);
        assert_int_equal(apply->vf_count, 2);
        s_assert_clean(&apply->vfs[0], "0000:3b:00.0", 0);
        s_assert_clean(&apply->vfs[1], "0000:3b:00.0", 1);
        /* hugepages: none */
        assert_int_equal(apply->hugepage_count, 0);
        size_t count;
        const char *const *nets =
            apply_plan_pf_networks(plan, "0000:3b:00.0", &count);
        assert_int_equal(count, 2);
        assert_string_equal(nets[0], "trunk");
        assert_string_equal(nets[1], "vlan1");
        assert_null(apply_plan_pf_networks(plan, "0000:3b:00.1", &count));
        assert_int_equal(count, 0);

        vfp_msg_t *msg = apply_plan_take_msg(plan);
        assert_non_null(msg);
        assert_null(apply_plan_take_msg(plan));
        assert_null(apply_plan_apply(plan));
        uint8_t *data;
        size_t size;
        vfp_decode_error_t err;
        assert_int_equal(vfp_encode(msg, &data, &size, &err), 0);
        free(data);
        vfp_msg_destroy(&msg);
        apply_plan_destroy(&plan);
        assert_null(plan);
        s_inventory_free(&inv);
    }
    policy_destroy(&policy);
}

static void test_host_no_group_selects_gets_empty_apply(void **state)
{
    (void)state;
    policy_t *policy = policy_parse_file(SEED_POLICY, NULL);
    assert_non_null(policy);
    vfp_inventory_t *inv = s_inventory("esx-e3");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 4);
    apply_plan_t *plan = s_plan(policy, "esx-e3", inv);
    const vfp_apply_t *apply = s_valid_apply(plan);
    assert_int_equal(apply->pf_count, 0);
    assert_int_equal(apply->vf_count, 0);
    assert_int_equal(apply->hugepage_count, 0);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

/* ---- selection ------------------------------------------------------ */

static const char *const s_select_policy = "version: 1\n"
                                           "networks:\n"
                                           "  - name: a\n"
                                           "  - name: b\n"
                                           "host_groups:\n"
                                           "  - name: globbed\n"
                                           "    hosts: [\"esx-*\"]\n"
                                           "    pfs:\n"
                                           "      - ifname: ens1f0\n"
                                           "        vfs: 2\n"
                                           "        networks: [a]\n"
                                           "  - name: labelled\n"
                                           "    labels: {rack: r1}\n"
                                           "    pfs:\n"
                                           "      - driver: mlx5_core\n"
                                           "        vfs: 3\n";

static uint16_t s_num_vfs_of(const vfp_apply_t *apply, const char *pf)
{
    for (uint32_t i = 0; i < apply->pf_count; i++)
        if (strcmp(apply->pfs[i].pf, pf) == 0)
            return apply->pfs[i].num_vfs;
    return 0xffff;
}

static void test_glob_hosts_and_labels_select(void **state)
{
    (void)state;
    policy_t *policy = s_parse(s_select_policy);
    vfp_inventory_t *inv = s_inventory("x");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 0);
    s_add_pf(inv, "0000:5e:00.0", "ens2f0", "mlx5_core", 16, 0);
    policy_label_t r1[] = {{"os", "esxi"}, {"rack", "r1"}};
    policy_label_t r2[] = {{"rack", "r2"}};
    struct {
        const char *name;
        const policy_label_t *labels;
        size_t label_count;
        uint16_t ixgbe_vfs, mlx_vfs;
    } cases[] = {
        {"esx-7", NULL, 0, 2, 0xffff}, /* glob only */
        {"kvm-1", r1, 2, 0xffff, 3},   /* labels only */
        {"kvm-2", r2, 1, 0xffff, 0xffff},
        {"ESX-7", NULL, 0, 0xffff, 0xffff}, /* case-sensitive */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apply_plan_host_t host = {.name = cases[i].name,
                                  .labels = cases[i].labels,
                                  .label_count = cases[i].label_count,
                                  .inventory = inv};
        apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
        const vfp_apply_t *apply = s_valid_apply(plan);
        assert_int_equal(s_num_vfs_of(apply, "0000:3b:00.0"),
                         cases[i].ixgbe_vfs);
        assert_int_equal(s_num_vfs_of(apply, "0000:5e:00.0"), cases[i].mlx_vfs);
        apply_plan_destroy(&plan);
    }
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_first_matching_pf_entry_wins(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "host_groups:\n"
                               "  - name: g\n"
                               "    hosts: [h1]\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 2\n"
                               "      - ifname: \"ens1f*\"\n"
                               "        vfs: 4\n");
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 0);
    s_add_pf(inv, "0000:3b:00.1", "ens1f1", "ixgbe", 63, 0);
    apply_plan_t *plan = s_plan(policy, "h1", inv);
    const vfp_apply_t *apply = s_valid_apply(plan);
    assert_int_equal(apply->pf_count, 2);
    assert_int_equal(s_num_vfs_of(apply, "0000:3b:00.0"), 2);
    assert_int_equal(s_num_vfs_of(apply, "0000:3b:00.1"), 4);
    assert_int_equal(apply->vf_count, 6);
    s_assert_clean(&apply->vfs[1], "0000:3b:00.0", 1);
    s_assert_clean(&apply->vfs[5], "0000:3b:00.1", 3);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_two_groups_same_vfs_unite_networks(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "networks:\n"
                               "  - name: a\n"
                               "  - name: b\n"
                               "  - name: c\n"
                               "host_groups:\n"
                               "  - name: g1\n"
                               "    hosts: [h1]\n"
                               "    pfs:\n"
                               "      - driver: ixgbe\n"
                               "        vfs: 2\n"
                               "        networks: [b, a]\n"
                               "  - name: g2\n"
                               "    hosts: [\"h*\"]\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 2\n"
                               "        networks: [c, b]\n");
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 2);
    apply_plan_t *plan = s_plan(policy, "h1", inv);
    const vfp_apply_t *apply = s_valid_apply(plan);
    assert_int_equal(apply->pf_count, 1);
    assert_int_equal(apply->vf_count, 2);
    size_t count;
    const char *const *nets =
        apply_plan_pf_networks(plan, "0000:3b:00.0", &count);
    assert_int_equal(count, 3);
    assert_string_equal(nets[0], "a");
    assert_string_equal(nets[1], "b");
    assert_string_equal(nets[2], "c");
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

/* ---- conflicts ------------------------------------------------------ */

static void test_conflict_driver_and_ifname_give_different_vfs(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "host_groups:\n"
                               "  - name: by-driver\n"
                               "    hosts: [h1]\n"
                               "    pfs:\n"
                               "      - driver: ixgbe\n"
                               "        vfs: 4\n"
                               "  - name: by-name\n"
                               "    labels: {rack: r1}\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 8\n");
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 0);
    policy_label_t labels[] = {{"rack", "r1"}};
    apply_plan_host_t host = {
        .name = "h1", .labels = labels, .label_count = 1, .inventory = inv};
    apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
    const char *const want[] = {
        "p.yaml:11:9: host h1: pf 0000:3b:00.0 (ens1f0): host group by-name "
        "gives vfs 8 but host group by-driver gives vfs 4 (other at "
        "p.yaml:6:9)",
        NULL};
    s_assert_conflicts(plan, want);
    assert_null(apply_plan_take_msg(plan));
    apply_plan_destroy(&plan);
    /* Without the label only one group selects the host: no conflict. */
    host.label_count = 0;
    plan = apply_plan_new(policy, "p.yaml", &host);
    assert_int_equal(s_num_vfs_of(s_valid_apply(plan), "0000:3b:00.0"), 4);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_conflict_selector_matches_nothing(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "host_groups:\n"
                               "  - name: g\n"
                               "    hosts: [h1, h2]\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 2\n"
                               "      - driver: mlx5_core\n"
                               "        ifname: \"ens2*\"\n"
                               "        vfs: 2\n");
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, 0);
    s_add_pf(inv, "0000:5e:00.0", "ens2f0", "ice", 63, 0);
    apply_plan_t *plan = s_plan(policy, "h1", inv);
    const char *const want[] = {
        "p.yaml:8:9: host h1: host group g: pf selector ifname=ens2* "
        "driver=mlx5_core matches nothing on host h1",
        NULL};
    s_assert_conflicts(plan, want);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_conflict_vfs_over_total_vfs(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "host_groups:\n"
                               "  - name: g\n"
                               "    hosts: [h1]\n"
                               "    pfs:\n"
                               "      - ifname: \"ens*\"\n"
                               "        vfs: 8\n");
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 8, 0);
    s_add_pf(inv, "0000:3b:00.1", "ens1f1", "ixgbe", 7, 0);
    s_add_pf(inv, "0000:3b:00.2", "ens1f2", "igb", 0, 0);
    apply_plan_t *plan = s_plan(policy, "h1", inv);
    const char *const want[] = {
        "p.yaml:6:9: host h1: pf 0000:3b:00.1 (ens1f1): vfs 8 is more than "
        "the PF's total_vfs 7",
        "p.yaml:6:9: host h1: pf 0000:3b:00.2 (ens1f2): vfs 8 is more than "
        "the PF's total_vfs 0",
        NULL};
    s_assert_conflicts(plan, want);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_conflict_apply_limits(void **state)
{
    (void)state;
    policy_t *policy = s_parse("version: 1\n"
                               "host_groups:\n"
                               "  - name: g\n"
                               "    hosts: [h1]\n"
                               "    pfs:\n"
                               "      - driver: ice\n"
                               "        vfs: 1024\n");
    vfp_inventory_t *inv = s_inventory("h1");
    for (int i = 0; i < 16; i++) {
        char pci[16], ifname[16];
        snprintf(pci, sizeof pci, "0000:%02x:00.0", 0x10 + i);
        snprintf(ifname, sizeof ifname, "ens%d", i);
        s_add_pf(inv, pci, ifname, "ice", 1024, 0);
    }
    /* 16 PFs of 1024 VFs: exactly what one APPLY can carry. */
    apply_plan_t *plan = s_plan(policy, "h1", inv);
    assert_int_equal(s_valid_apply(plan)->vf_count, 16384);
    apply_plan_destroy(&plan);
    /* One more is refused, and so is a PF without a PCI address. */
    s_add_pf(inv, "", "ens99", "ice", 1024, 0);
    plan = s_plan(policy, "h1", inv);
    const char *const want[] = {
        "p.yaml:6:9: host h1: pf (none) (ens99): the PF has no PCI address "
        "to name it by",
        "p.yaml: host h1: the PFs would have 17408 VFs, over the 16384 one "
        "APPLY can set",
        NULL};
    s_assert_conflicts(plan, want);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

/* ---- VFs held by VMs ------------------------------------------------ */

static const char *const s_vm_policy = "version: 1\n"
                                       "networks:\n"
                                       "  - name: db\n"
                                       "    vlan: 100\n"
                                       "    qos: 3\n"
                                       "    vlan_protocol: 802.1ad\n"
                                       "    spoof_check: false\n"
                                       "    trust: true\n"
                                       "    link_state: enable\n"
                                       "    min_tx_rate: 100\n"
                                       "    max_tx_rate: 1000\n"
                                       "    mtu: 9000\n"
                                       "  - name: trunk\n"
                                       "    trunk: true\n"
                                       "  - name: web\n"
                                       "    vlan: 200\n"
                                       "  - name: spare\n"
                                       "host_groups:\n"
                                       "  - name: g\n"
                                       "    hosts: [h1]\n"
                                       "    pfs:\n"
                                       "      - ifname: ens1f0\n"
                                       "        vfs: 4\n"
                                       "        networks: [db, trunk, web]\n"
                                       "      - ifname: ens1f1\n"
                                       "        vfs: 0\n";

static const vfp_apply_vf_t *s_vf_of(const vfp_apply_t *apply, const char *pf,
                                     uint16_t index)
{
    for (uint32_t i = 0; i < apply->vf_count; i++)
        if (strcmp(apply->vfs[i].pf, pf) == 0 && apply->vfs[i].index == index)
            return &apply->vfs[i];
    fail_msg("no vf %u on %s", index, pf);
    return NULL;
}

static vfp_inventory_t *s_vm_inventory(uint16_t num_vfs)
{
    vfp_inventory_t *inv = s_inventory("h1");
    s_add_pf(inv, "0000:3b:00.0", "ens1f0", "ixgbe", 63, num_vfs);
    s_add_pf(inv, "0000:3b:00.1", "ens1f1", "ixgbe", 63, 0);
    s_add_pf(inv, "0000:af:00.0", "eno1", "tg3", 0, 0);
    return inv;
}

static void test_held_vf_gets_network_settings_and_mac(void **state)
{
    (void)state;
    policy_t *policy = s_parse(s_vm_policy);
    vfp_inventory_t *inv = s_vm_inventory(4);
    apply_plan_held_vf_t held[] = {
        {"0000:3b:00.0", 2, "db", {0x02, 0x76, 0x66, 0, 0, 7}, "db-1"},
        {"0000:3b:00.0", 0, "trunk", {0x02, 0x76, 0x66, 0, 0, 8}, "fw-1"},
        {"0000:3b:00.0", 3, "web", {0x02, 0x76, 0x66, 0, 0, 9}, "web-1"},
    };
    apply_plan_host_t host = {
        .name = "h1", .inventory = inv, .held_vfs = held, .held_vf_count = 3};
    apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
    const vfp_apply_t *apply = s_valid_apply(plan);
    assert_int_equal(apply->pf_count, 2);
    assert_int_equal(s_num_vfs_of(apply, "0000:3b:00.1"), 0);
    assert_int_equal(apply->vf_count, 4);

    const vfp_apply_vf_t *db = s_vf_of(apply, "0000:3b:00.0", 2);
    /* Every setting but the MTU, which the host cannot set on a VF
     * passed to a guest (no host netdev: ENODEV). */
    assert_int_equal(db->set, VFP_SET_ALL & ~VFP_SET_MTU);
    assert_memory_equal(db->mac, held[0].mac, 6);
    assert_int_equal(db->vlan, 100);
    assert_int_equal(db->qos, 3);
    assert_int_equal(db->vlan_proto, VFP_VLAN_PROTO_8021AD);
    assert_int_equal(db->spoofchk, VFP_OFF);
    assert_int_equal(db->trust, VFP_ON);
    assert_int_equal(db->link_state, VFP_LINK_ENABLE);
    assert_int_equal(db->min_tx_rate, 100);
    assert_int_equal(db->max_tx_rate, 1000);
    assert_int_equal(db->mtu, 0);

    /* Trunk: no VF VLAN, the guest tags. */
    const vfp_apply_vf_t *trunk = s_vf_of(apply, "0000:3b:00.0", 0);
    assert_int_equal(trunk->set, VFP_SET_ALL & ~VFP_SET_MTU);
    assert_memory_equal(trunk->mac, held[1].mac, 6);
    assert_int_equal(trunk->vlan, 0);
    assert_int_equal(trunk->qos, 0);
    assert_int_equal(trunk->vlan_proto, VFP_VLAN_PROTO_8021Q);
    assert_int_equal(trunk->spoofchk, VFP_ON);
    assert_int_equal(trunk->trust, VFP_OFF);
    assert_int_equal(trunk->link_state, VFP_LINK_AUTO);
    assert_int_equal(trunk->mtu, 0);

    const vfp_apply_vf_t *web = s_vf_of(apply, "0000:3b:00.0", 3);
    assert_int_equal(web->vlan, 200);
    assert_int_equal(web->vlan_proto, VFP_VLAN_PROTO_8021Q);
    s_assert_clean(s_vf_of(apply, "0000:3b:00.0", 1), "0000:3b:00.0", 1);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_conflict_held_vfs(void **state)
{
    (void)state;
    policy_t *policy = s_parse(s_vm_policy);
    vfp_inventory_t *inv = s_vm_inventory(4);
    apply_plan_held_vf_t held[] = {
        {"0000:3b:00.0", 0, "spare", {0x02, 0, 0, 0, 0, 1}, "a"},
        {"0000:3b:00.0", 1, "nosuch", {0x02, 0, 0, 0, 0, 2}, "b"},
        {"0000:3b:00.0", 4, "db", {0x02, 0, 0, 0, 0, 3}, "c"},
        {"0000:3b:00.0", 2, "db", {0x02, 0, 0, 0, 0, 4}, "d"},
        {"0000:3b:00.0", 2, "db", {0x02, 0, 0, 0, 0, 5}, "e"},
        {"0000:3b:00.0", 3, "db", {0x03, 0, 0, 0, 0, 6}, "f"},
        {"0000:d8:00.0", 0, "db", {0x02, 0, 0, 0, 0, 7}, "g"},
        {"0000:af:00.0", 1, "db", {0x02, 0, 0, 0, 0, 8}, "h"},
    };
    apply_plan_host_t host = {
        .name = "h1", .inventory = inv, .held_vfs = held, .held_vf_count = 8};
    apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
    const char *const want[] = {
        "p.yaml:22:9: host h1: pf 0000:3b:00.0 (ens1f0): vf 0 of vm a is on "
        "network spare, which host group g does not give this PF (network at "
        "p.yaml:17:5)",
        "p.yaml: host h1: pf 0000:3b:00.0 (ens1f0): vf 1 of vm b is on "
        "network nosuch, which the policy does not define",
        "p.yaml:22:9: host h1: pf 0000:3b:00.0 (ens1f0): vf 4 of vm c is "
        "beyond the PF's vfs 4",
        "p.yaml: host h1: pf 0000:3b:00.0 (ens1f0): vf 2 is held by vm d and "
        "vm e",
        "p.yaml: host h1: pf 0000:3b:00.0 (ens1f0): vf 3 of vm f: MAC "
        "03:00:00:00:00:06 is a multicast address",
        "p.yaml: host h1: pf 0000:d8:00.0: vm g holds vf 0 of a PF the host "
        "does not have",
        "p.yaml: host h1: pf 0000:af:00.0 (eno1): vm h holds vf 1 but no "
        "host group configures the PF",
        NULL};
    s_assert_conflicts(plan, want);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

static void test_conflict_vf_count_change_under_a_vm(void **state)
{
    (void)state;
    policy_t *policy = s_parse(s_vm_policy);
    vfp_inventory_t *inv = s_vm_inventory(2);
    apply_plan_held_vf_t held[] = {
        {"0000:3b:00.0", 1, "web", {0x02, 0, 0, 0, 0, 1}, "web-1"},
    };
    apply_plan_host_t host = {
        .name = "h1", .inventory = inv, .held_vfs = held, .held_vf_count = 1};
    apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
    const char *const want[] = {
        "p.yaml:22:9: host h1: pf 0000:3b:00.0 (ens1f0): vfs 4 would change "
        "sriov_numvfs 2 while vm web-1 holds vf 1",
        NULL};
    s_assert_conflicts(plan, want);
    assert_true(apply_plan_conflict_host_only(plan, 0));
    assert_true(apply_plan_refuses_host_only(plan));
    apply_plan_destroy(&plan);
    /* With no VM on it the count may change. */
    host.held_vf_count = 0;
    plan = apply_plan_new(policy, "p.yaml", &host);
    assert_int_equal(s_num_vfs_of(s_valid_apply(plan), "0000:3b:00.0"), 4);
    apply_plan_destroy(&plan);
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

/* A VF the agent reports in use (a guest or an up netdev the controller
 * did not place) blocks a count change like a held one, and only that
 * host's: the conflict is host-only, while a policy error is not. */
static void test_conflict_vf_count_change_under_an_in_use_vf(void **state)
{
    (void)state;
    policy_t *policy = s_parse(s_vm_policy);
    vfp_inventory_t *inv = s_vm_inventory(2);
    vfp_vf_t vfs[2] = {{.index = 0}, {.index = 1, .in_use = true}};
    inv->pfs[0].vfs = vfs;
    inv->pfs[0].vf_count = 2;
    apply_plan_host_t host = {.name = "h1", .inventory = inv};
    apply_plan_t *plan = apply_plan_new(policy, "p.yaml", &host);
    const char *const want[] = {
        "p.yaml:22:9: host h1: pf 0000:3b:00.0 (ens1f0): vfs 4 would change "
        "sriov_numvfs 2 while vf 1 is in use",
        NULL};
    s_assert_conflicts(plan, want);
    assert_true(apply_plan_conflict_host_only(plan, 0));
    assert_false(apply_plan_conflict_host_only(plan, 1));
    assert_true(apply_plan_refuses_host_only(plan));
    apply_plan_destroy(&plan);

    /* Not in use: the count may change. */
    vfs[1].in_use = false;
    plan = apply_plan_new(policy, "p.yaml", &host);
    assert_int_equal(s_num_vfs_of(s_valid_apply(plan), "0000:3b:00.0"), 4);
    assert_false(apply_plan_refuses_host_only(plan));
    apply_plan_destroy(&plan);

    /* A policy conflict beside it refuses more than the host. */
    vfs[1].in_use = true;
    apply_plan_held_vf_t held[] = {
        {"0000:3b:00.0", 0, "nosuch", {0x02, 0, 0, 0, 0, 1}, "a"}};
    host.held_vfs = held;
    host.held_vf_count = 1;
    plan = apply_plan_new(policy, "p.yaml", &host);
    assert_int_equal(apply_plan_conflict_count(plan), 2);
    assert_false(apply_plan_conflict_host_only(plan, 0));
    assert_true(apply_plan_conflict_host_only(plan, 1));
    assert_false(apply_plan_refuses_host_only(plan));
    apply_plan_destroy(&plan);
    inv->pfs[0].vfs = NULL;
    inv->pfs[0].vf_count = 0;
    s_inventory_free(&inv);
    policy_destroy(&policy);
}

/* ---- hugepages ------------------------------------------------------ */

static void test_hugepages_follow_vm_memory(void **state)
{
    (void)state;
    const char *text[] = {
        "version: 1\nmemory:\n  hugepages: 2M\n  hypervisor_reserve: 1G\n",
        "version: 1\nmemory:\n  hugepages: 1G\n  hypervisor_reserve: 1G\n"};
    policy_t *two_m = s_parse(text[0]);
    policy_t *one_g = s_parse(text[1]);
    vfp_inventory_t *inv = s_inventory("h1");
    inv->host.mem_total_kb = 8ull * 1024 * 1024; /* 8 GiB */
    apply_plan_vm_t vms[] = {{"a", 1000}, {"b", 3}, {"c", 1025}};
    apply_plan_host_t host = {.name = "h1", .inventory = inv};

    /* No VMs: an empty pool. */
    apply_plan_t *plan = apply_plan_new(one_g, "p.yaml", &host);
    const vfp_apply_t *apply = s_valid_apply(plan);
    assert_int_equal(apply->hugepage_count, 1);
    assert_int_equal(apply->hugepages[0].size_kb, 1048576);
    assert_int_equal(apply->hugepages[0].pages, 0);
    apply_plan_destroy(&plan);

    host.vms = vms;
    host.vm_count = 3;
    plan = apply_plan_new(two_m, "p.yaml", &host);
    apply = s_valid_apply(plan);
    assert_int_equal(apply->hugepage_count, 1);
    assert_int_equal(apply->hugepages[0].size_kb, 2048);
    assert_int_equal(apply->hugepages[0].pages, 500 + 2 + 513);
    apply_plan_destroy(&plan);

    /* Each VM rounded up to whole 1G pages: 1 + 1 + 2. */
    plan = apply_plan_new(one_g, "p.yaml", &host);
    assert_int_equal(s_valid_apply(plan)->hugepages[0].pages, 4);
    apply_plan_destroy(&plan);

    /* 8 GiB less 1 GiB reserved holds 7 pages of 1G, not 8. */
    apply_plan_vm_t big[] = {{"a", 4096}, {"b", 4096}};
    host.vms = big;
    host.vm_count = 2;
    plan = apply_plan_new(one_g, "p.yaml", &host);
    const char *const want[] = {
        /* At hugepages: (line 3), as every conflict names its line. */
        "p.yaml:3:14: host h1: hugepages 1G: the VMs need 8192 MiB but the "
        "host has 8192 MiB less hypervisor_reserve 1024 MiB",
        NULL};
    s_assert_conflicts(plan, want);
    apply_plan_destroy(&plan);
    /* Memory unknown: not checked. */
    inv->host.mem_total_kb = 0;
    plan = apply_plan_new(one_g, "p.yaml", &host);
    assert_int_equal(s_valid_apply(plan)->hugepages[0].pages, 8);
    apply_plan_destroy(&plan);

    s_inventory_free(&inv);
    policy_destroy(&two_m);
    policy_destroy(&one_g);
}

/* ---- diff ----------------------------------------------------------- */

static void s_assert_diff(const apply_plan_diff_t *diff,
                          const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (apply_plan_diff_count(diff) != n)
        for (size_t i = 0; i < apply_plan_diff_count(diff); i++)
            fprintf(stderr, "diff: %s\n", apply_plan_diff_line(diff, i));
    assert_int_equal(apply_plan_diff_count(diff), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(apply_plan_diff_line(diff, i), want[i]);
}

static void test_diff_lists_only_vfs_of_changed_network(void **state)
{
    (void)state;
    policy_t *old_policy = s_parse(s_vm_policy);
    char *text = strdup(s_vm_policy);
    assert_non_null(text);
    char *vlan = strstr(text, "vlan: 200");
    assert_non_null(vlan);
    memcpy(vlan, "vlan: 300", 9);
    policy_t *new_policy = s_parse(text);
    free(text);
    vfp_inventory_t *inv = s_vm_inventory(4);
    apply_plan_held_vf_t held[] = {
        {"0000:3b:00.0", 0, "db", {0x02, 0, 0, 0, 0, 1}, "db-1"},
        {"0000:3b:00.0", 1, "web", {0x02, 0, 0, 0, 0, 2}, "web-1"},
        {"0000:3b:00.0", 3, "web", {0x02, 0, 0, 0, 0, 3}, "web-2"},
    };
    apply_plan_host_t host = {
        .name = "h1", .inventory = inv, .held_vfs = held, .held_vf_count = 3};
    apply_plan_t *old_plan = apply_plan_new(old_policy, "p.yaml", &host);
    apply_plan_t *new_plan = apply_plan_new(new_policy, "p.yaml", &host);
    apply_plan_diff_t *diff = apply_plan_diff_new("h1", s_valid_apply(old_plan),
                                                  s_valid_apply(new_plan));
    const char *const want[] = {"h1: pf 0000:3b:00.0: vf 1 vlan 200 -> 300",
                                "h1: pf 0000:3b:00.0: vf 3 vlan 200 -> 300",
                                NULL};
    s_assert_diff(diff, want);
    apply_plan_diff_destroy(&diff);
    assert_null(diff);

    /* The same APPLY against itself: nothing. */
    diff = apply_plan_diff_new("h1", s_valid_apply(new_plan),
                               s_valid_apply(new_plan));
    assert_int_equal(apply_plan_diff_count(diff), 0);
    apply_plan_diff_destroy(&diff);
    apply_plan_destroy(&old_plan);
    apply_plan_destroy(&new_plan);
    s_inventory_free(&inv);
    policy_destroy(&old_policy);
    policy_destroy(&new_policy);
}

static void test_diff_words(void **state)
{
    (void)state;
    /* Old: PF A with 3 VFs (vf 2 held), PF B with 1, a 2M pool. New, in
     * another order: A with 2 clean VFs, C with 1, a 1G pool. */
    vfp_apply_pf_t old_pfs[] = {{"0000:0a:00.0", 3}, {"0000:0b:00.0", 1}};
    vfp_apply_vf_t old_vfs[] = {
        {.pf = "0000:0b:00.0", .index = 0, .set = VFP_SET_MTU, .mtu = 1500},
        {.pf = "0000:0a:00.0", .index = 2, .set = CLEAN_SET},
        {.pf = "0000:0a:00.0", .index = 0, .set = CLEAN_SET},
        {.pf = "0000:0a:00.0",
         .index = 1,
         .set = VFP_SET_ALL,
         .mac = {2, 0, 0, 0, 0, 1},
         .vlan = 10,
         .qos = 1,
         .vlan_proto = VFP_VLAN_PROTO_8021AD,
         .spoofchk = VFP_OFF,
         .trust = VFP_ON,
         .link_state = VFP_LINK_DISABLE,
         .min_tx_rate = 10,
         .max_tx_rate = 20,
         .mtu = 9000},
    };
    for (int i = 0; i < 3; i++) {
        old_vfs[i].vlan_proto =
            old_vfs[i].set & VFP_SET_VLAN ? VFP_VLAN_PROTO_8021Q : 0;
        old_vfs[i].spoofchk = old_vfs[i].set & VFP_SET_SPOOFCHK ? VFP_ON : 0;
    }
    vfp_apply_t old_apply = {.pf_count = 2,
                             .pfs = old_pfs,
                             .vf_count = 4,
                             .vfs = old_vfs,
                             .hugepage_count = 1,
                             .hugepages = {{2048, 10}}};
    vfp_apply_pf_t new_pfs[] = {{"0000:0c:00.0", 1}, {"0000:0a:00.0", 2}};
    vfp_apply_vf_t new_vfs[3] = {
        {.pf = "0000:0c:00.0",
         .index = 0,
         .set = VFP_SET_VLAN,
         .vlan = 5,
         .vlan_proto = VFP_VLAN_PROTO_8021Q},
        {.pf = "0000:0a:00.0", .index = 1},
        {.pf = "0000:0a:00.0", .index = 0},
    };
    for (int i = 1; i < 3; i++) {
        new_vfs[i].set = CLEAN_SET;
        new_vfs[i].vlan_proto = VFP_VLAN_PROTO_8021Q;
        new_vfs[i].spoofchk = VFP_ON;
    }
    vfp_apply_t new_apply = {.pf_count = 2,
                             .pfs = new_pfs,
                             .vf_count = 3,
                             .vfs = new_vfs,
                             .hugepage_count = 1,
                             .hugepages = {{1048576, 0}}};
    for (int side = 0; side < 2; side++) {
        vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
        msg.u.apply = side ? new_apply : old_apply;
        vfp_decode_error_t err;
        assert_int_equal(vfp_validate(&msg, &err), 0);
    }
    apply_plan_diff_t *diff = apply_plan_diff_new("h", &old_apply, &new_apply);
    const char *const want[] = {
        "h: pf 0000:0a:00.0: num_vfs 3 -> 2",
        "h: pf 0000:0a:00.0: vf 1 mac 02:00:00:00:00:01 -> 00:00:00:00:00:00",
        "h: pf 0000:0a:00.0: vf 1 vlan 10 -> 0",
        "h: pf 0000:0a:00.0: vf 1 qos 1 -> 0",
        "h: pf 0000:0a:00.0: vf 1 proto 802.1ad -> 802.1Q",
        "h: pf 0000:0a:00.0: vf 1 spoofchk off -> on",
        "h: pf 0000:0a:00.0: vf 1 trust on -> off",
        "h: pf 0000:0a:00.0: vf 1 link-state disable -> auto",
        "h: pf 0000:0a:00.0: vf 1 min_tx_rate 10 -> 0",
        "h: pf 0000:0a:00.0: vf 1 max_tx_rate 20 -> 0",
        "h: pf 0000:0a:00.0: vf 1 mtu 9000 -> unset",
        "h: pf 0000:0a:00.0: vf 2 no longer managed",
        "h: pf 0000:0b:00.0: num_vfs 1 -> unmanaged",
        "h: pf 0000:0b:00.0: vf 0 no longer managed",
        "h: pf 0000:0c:00.0: num_vfs unmanaged -> 1",
        "h: pf 0000:0c:00.0: vf 0 new: vlan 5 qos 0 proto 802.1Q",
        "h: hugepages 2048kB: pages 10 -> unmanaged",
        "h: hugepages 1048576kB: pages unmanaged -> 0",
        NULL};
    s_assert_diff(diff, want);
    apply_plan_diff_destroy(&diff);

    /* Nothing applied yet: everything is new. */
    diff = apply_plan_diff_new("h", NULL, &old_apply);
    assert_int_equal(apply_plan_diff_count(diff), 2 + 4 + 1);
    assert_string_equal(apply_plan_diff_line(diff, 0),
                        "h: pf 0000:0a:00.0: num_vfs unmanaged -> 3");
    assert_string_equal(
        apply_plan_diff_line(diff, 1),
        "h: pf 0000:0a:00.0: vf 0 new: mac 00:00:00:00:00:00 vlan 0 qos 0 "
        "proto 802.1Q spoofchk on trust off link-state auto min_tx_rate 0 "
        "max_tx_rate 0");
    assert_null(apply_plan_diff_line(diff, 7));
    apply_plan_diff_destroy(&diff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_policy_gives_two_clean_vfs_per_host),
        cmocka_unit_test(test_host_no_group_selects_gets_empty_apply),
        cmocka_unit_test(test_glob_hosts_and_labels_select),
        cmocka_unit_test(test_first_matching_pf_entry_wins),
        cmocka_unit_test(test_two_groups_same_vfs_unite_networks),
        cmocka_unit_test(test_conflict_driver_and_ifname_give_different_vfs),
        cmocka_unit_test(test_conflict_selector_matches_nothing),
        cmocka_unit_test(test_conflict_vfs_over_total_vfs),
        cmocka_unit_test(test_conflict_apply_limits),
        cmocka_unit_test(test_held_vf_gets_network_settings_and_mac),
        cmocka_unit_test(test_conflict_held_vfs),
        cmocka_unit_test(test_conflict_vf_count_change_under_a_vm),
        cmocka_unit_test(test_conflict_vf_count_change_under_an_in_use_vf),
        cmocka_unit_test(test_hugepages_follow_vm_memory),
        cmocka_unit_test(test_diff_lists_only_vfs_of_changed_network),
        cmocka_unit_test(test_diff_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
