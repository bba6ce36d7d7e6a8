/* test_vfp_drift.c - proto's one drift rule: what differs between a
 * desired APPLY and an inventory, and each difference as two short
 * values the controller stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_drift.h"

/* One PF (ifname "pf0") with 4 VFs, 2 of them read, VF 2 on VLAN 77. */
typedef struct {
    vfp_inventory_t inv;
    vfp_pf_t pf;
    vfp_vf_t vfs[4];
} s_host_t;

static void s_host(s_host_t *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->pf.pci_addr, sizeof(h->pf.pci_addr), "0000:01:00.0");
    snprintf(h->pf.ifname, sizeof(h->pf.ifname), "pf0");
    h->pf.total_vfs = 8;
    h->pf.num_vfs = 4;
    h->pf.vf_count = 4;
    h->pf.vfs = h->vfs;
    for (uint16_t i = 0; i < 4; i++) {
        h->vfs[i].index = i;
        h->vfs[i].settings_known = i >= 2;
        h->vfs[i].spoofchk = VFP_ON;
        h->vfs[i].trust = VFP_OFF;
    }
    h->vfs[2].vlan = 77;
    h->inv.pf_count = 1;
    h->inv.pfs = &h->pf;
}

static void test_differs_per_attribute(void **state)
{
    (void)state;
    vfp_vf_t a = {.vlan = 10, .spoofchk = VFP_ON, .trust = VFP_OFF};
    vfp_apply_vf_t d = {.set = VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_MTU,
                        .vlan = 10,
                        .vlan_proto = VFP_VLAN_PROTO_8021Q,
                        .spoofchk = VFP_ON,
                        .mtu = 9000};
    /* Protocol 0 read back is 802.1Q; MTU is never compared. */
    assert_int_equal(vfp_drift_differs(&d, &a), 0);
    a.qos = 1;
    a.spoofchk = VFP_UNKNOWN;
    assert_int_equal(vfp_drift_differs(&d, &a),
                     VFP_SET_VLAN | VFP_SET_SPOOFCHK);
    /* Bits the APPLY does not set are left alone. */
    a.trust = VFP_ON;
    a.mac[0] = 2;
    assert_int_equal(vfp_drift_differs(&d, &a) & (VFP_SET_TRUST | VFP_SET_MAC),
                     0);
    assert_string_equal(vfp_drift_attr_name(VFP_SET_LINK_STATE), "link_state");
    assert_null(vfp_drift_attr_name(VFP_SET_MAC | VFP_SET_VLAN));
}

static void test_find_counts_pfs_then_vfs(void **state)
{
    (void)state;
    s_host_t h;
    s_host(&h);
    vfp_apply_pf_t pfs[2] = {{.pf = "pf0", .num_vfs = 6},
                             {.pf = "0000:09:00.0", .num_vfs = 1}};
    vfp_apply_vf_t vfs[3] = {
        {.pf = "0000:01:00.0", .index = 2, .set = VFP_SET_VLAN, .vlan = 12},
        /* Settings not read: unknown, not drift. */
        {.pf = "0000:01:00.0", .index = 1, .set = VFP_SET_VLAN, .vlan = 12},
        {.pf = "0000:01:00.0",
         .index = 3,
         .set = VFP_SET_TRUST | VFP_SET_RATE,
         .trust = VFP_ON,
         .max_tx_rate = 1000}};
    vfp_apply_t apply = {
        .revision = 4, .pf_count = 2, .pfs = pfs, .vf_count = 3, .vfs = vfs};
    vfp_drift_t out[8];
    assert_int_equal(vfp_drift_find(&apply, &h.inv, out, 8), 5);
    assert_string_equal(out[0].attribute, "num_vfs");
    assert_string_equal(out[0].pf, "pf0");
    assert_int_equal(out[0].wanted_num_vfs, 6);
    assert_int_equal(out[0].has_num_vfs, 4);
    assert_string_equal(out[1].attribute, "pf");
    assert_int_equal(out[2].kind, VFP_ITEM_VF);
    assert_int_equal(out[2].index, 2);
    assert_string_equal(out[2].attribute, "vlan");
    assert_int_equal(out[2].has.vlan, 77);
    assert_string_equal(out[3].attribute, "trust");
    assert_string_equal(out[4].attribute, "rate");
    /* Counting goes on past a full array. */
    assert_int_equal(vfp_drift_find(&apply, &h.inv, out, 2), 5);

    vfp_drift_t *list = NULL;
    assert_int_equal(vfp_drift_list(&apply, &h.inv, &list), 5);
    assert_non_null(list);
    assert_string_equal(list[4].attribute, "rate");
    free(list);
    apply.pf_count = 0;
    apply.vf_count = 0;
    assert_int_equal(vfp_drift_list(&apply, &h.inv, &list), 0);
    assert_null(list);
}

static void s_assert_values(const vfp_drift_t *d, const char *wanted,
                            const char *has)
{
    char w[64], h[64];
    vfp_drift_values(d, w, sizeof(w), h, sizeof(h));
    assert_string_equal(w, wanted);
    assert_string_equal(h, has);
}

static void test_values_are_short_words(void **state)
{
    (void)state;
    vfp_drift_t d = {.kind = VFP_ITEM_NUM_VFS,
                     .attribute = "num_vfs",
                     .wanted_num_vfs = 4,
                     .has_num_vfs = 2};
    s_assert_values(&d, "4", "2");
    d.attribute = "pf";
    s_assert_values(&d, "present", "absent");

    d = (vfp_drift_t){.kind = VFP_ITEM_VF, .attribute = "vlan"};
    d.bit = VFP_SET_VLAN;
    d.wanted.vlan = 10;
    d.has.vlan = 4095;
    d.has.qos = 7;
    d.has.vlan_proto = VFP_VLAN_PROTO_8021AD;
    s_assert_values(&d, "10", "4095 qos 7 802.1ad");
    d.bit = VFP_SET_MAC;
    d.wanted.mac[0] = 0x52;
    d.wanted.mac[5] = 0x01;
    s_assert_values(&d, "52:00:00:00:00:01", "00:00:00:00:00:00");
    d.bit = VFP_SET_SPOOFCHK;
    d.wanted.spoofchk = VFP_ON;
    d.has.spoofchk = VFP_UNKNOWN;
    s_assert_values(&d, "on", "unknown");
    d.bit = VFP_SET_LINK_STATE;
    d.wanted.link_state = VFP_LINK_DISABLE;
    s_assert_values(&d, "disable", "auto");
    /* The longest value fits the stored drift value (64 bytes). */
    d.bit = VFP_SET_RATE;
    d.wanted.min_tx_rate = UINT32_MAX;
    d.wanted.max_tx_rate = UINT32_MAX;
    char w[VFP_DRIFT_VALUE_SIZE + 16], h[8];
    vfp_drift_values(&d, w, sizeof(w), h, sizeof(h));
    assert_string_equal(w, "min_tx_rate 4294967295 max_tx_rate 4294967295");
    assert_true(strlen(w) < VFP_DRIFT_VALUE_SIZE);
    /* A short buffer cuts, never overflows. */
    assert_string_equal(h, "min_tx_");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differs_per_attribute),
        cmocka_unit_test(test_find_counts_pfs_then_vfs),
        cmocka_unit_test(test_values_are_short_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
