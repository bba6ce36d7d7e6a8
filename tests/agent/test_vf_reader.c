/* test_vf_reader.c - reading VF settings from this host's real kernel.
 *
 * Runs in a fresh network namespace (needs CAP_SYS_ADMIN; skipped
 * otherwise) so the only netdev is "lo": a netdev without VF support, and
 * names that do not exist, must come back as clear reasons, never as
 * invented settings. Reading real VFs is covered by the kernel harness
 * (netdevsim in a guest). */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netlink/route/link/sriov.h>

#include "discover.h"
#include "vf_reader.h"

static void s_pf(vfp_pf_t *pf, vfp_vf_t *vfs, const char *ifname)
{
    memset(pf, 0, sizeof(*pf));
    memset(vfs, 0, 2 * sizeof(*vfs));
    snprintf(pf->ifname, sizeof(pf->ifname), "%s", ifname);
    pf->vfs = vfs;
    pf->vf_count = 2;
    vfs[1].index = 1;
}

/* Spoof-check and trust on must read back as on: their getters used to be
 * evaluated after their value argument, so both always read as off. */
static void test_fill_reads_spoofchk_and_trust(void **state)
{
    struct rtnl_link_vf *info = rtnl_link_vf_alloc();
    assert_non_null(info);
    rtnl_link_vf_set_spoofchk(info, 1);
    rtnl_link_vf_set_trust(info, 1);
    rtnl_link_vf_set_linkstate(info, VFP_LINK_DISABLE);
    vfp_vf_t vf = {0};
    vf_reader_fill(info, &vf);
    assert_true(vf.settings_known);
    assert_int_equal(vf.spoofchk, VFP_ON);
    assert_int_equal(vf.trust, VFP_ON);
    assert_int_equal(vf.link_state, VFP_LINK_DISABLE);

    rtnl_link_vf_set_spoofchk(info, 0);
    vf_reader_fill(info, &vf);
    assert_int_equal(vf.spoofchk, VFP_OFF);
    assert_int_equal(vf.trust, VFP_ON);
    rtnl_link_vf_put(info);

    /* A driver that does not report them leaves them unknown. */
    info = rtnl_link_vf_alloc();
    vf_reader_fill(info, &vf);
    assert_int_equal(vf.spoofchk, VFP_UNKNOWN);
    assert_int_equal(vf.trust, VFP_UNKNOWN);
    rtnl_link_vf_put(info);
}

static void test_no_such_netdev(void **state)
{
    vfp_pf_t pf;
    vfp_vf_t vfs[2];
    char why[256];
    s_pf(&pf, vfs, "ens2f0");
    assert_int_equal(vf_reader_read(NULL, &pf, why, sizeof(why)), -1);
    assert_string_equal(why, "no netdev ens2f0 in this network namespace");
    assert_false(vfs[0].settings_known);
    assert_false(vfs[1].settings_known);
}

static void test_netdev_without_vfs(void **state)
{
    vfp_pf_t pf;
    vfp_vf_t vfs[2];
    char why[256];
    s_pf(&pf, vfs, "lo");
    assert_int_equal(vf_reader_read(NULL, &pf, why, sizeof(why)), -1);
    assert_string_equal(why, "the kernel reports no VF information for lo "
                             "(its driver has no SR-IOV netlink support)");
    assert_false(vfs[0].settings_known);
}

static void test_discover_live_root(void **state)
{
    /* The live /sys with netlink on: whatever this host has, discovery
     * finishes and every VF it reports is either known or explained. */
    vfp_inventory_t inv = {0};
    char err[256];
    discover_opts_t opts = {.netlink = DISCOVER_NETLINK_ON};
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
    for (uint32_t p = 0; p < inv.pf_count; p++)
        for (uint32_t v = 0; v < inv.pfs[p].vf_count; v++)
            assert_true(inv.pfs[p].vfs[v].settings_known ||
                        inv.pfs[p].note[0] || inv.pfs[p].vfs[v].note[0]);
    assert_true(inv.host.mem_total_kb > 0);
    discover_inventory_clear(&inv);
}

int main(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        printf("skipped: no network namespace of our own (%s)\n",
               strerror(errno));
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_reads_spoofchk_and_trust),
        cmocka_unit_test(test_no_such_netdev),
        cmocka_unit_test(test_netdev_without_vfs),
        cmocka_unit_test(test_discover_live_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
