/* test_vf_sim.c - the simulated kernel of a recorded tree: each of the
 * kernel's answers, every attribute written and read back, its state
 * across a restart, atomic saves and attribute writes, and the writer and
 * discovery on top. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "discover.h"
#include "sysfs_attr.h"
#include "vf_kernel.h"
#include "vf_sim.h"
#include "vf_writer.h"

#define S_PATH 512
static char s_top[256];

typedef struct {
    char sysfs[S_PATH];
    char procfs[S_PATH];
    vf_sim_t *sim;
} fixture_t;

/* A fresh tree of `scenario` from tests/fixtures/mktree.py. */
static void s_tree(fixture_t *fx, const char *scenario)
{
    const char *src = getenv("VFLEET_SOURCE_DIR");
    char cmd[PATH_MAX * 2], err[256];
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixtures/mktree.py %s %s/%s",
             src ? src : "../..", scenario, s_top, scenario);
    assert_int_equal(system(cmd), 0);
    snprintf(fx->sysfs, S_PATH, "%s/%s/sys", s_top, scenario);
    snprintf(fx->procfs, S_PATH, "%s/%s/proc", s_top, scenario);
    fx->sim = vf_sim_new(fx->sysfs, err, sizeof(err));
    assert_non_null(fx->sim);
}

static int s_setup(void **state)
{
    snprintf(s_top, sizeof(s_top), "/tmp/vfleet-sim-XXXXXX");
    assert_non_null(mkdtemp(s_top));
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[PATH_MAX + 16];
    vf_sim_destroy(&fx->sim);
    free(fx);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s_top);
    return system(cmd);
}

static bool s_exists(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static bool s_exists(const char *fmt, ...)
{
    char path[PATH_MAX];
    struct stat st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return lstat(path, &st) == 0;
}

static long s_numvfs(const fixture_t *fx, const char *pf)
{
    char dir[PATH_MAX], why[128];
    long n = -1;
    snprintf(dir, sizeof(dir), "%s/class/net/%s/device", fx->sysfs, pf);
    assert_int_equal(
        sysfs_attr_read_long(dir, "sriov_numvfs", 0, 65535, &n, why, 128), 0);
    return n;
}

/* One VF read back through the simulated kernel. */
static vfp_vf_t s_read(fixture_t *fx, const char *pf_ifname, uint16_t index)
{
    char why[256];
    vfp_vf_t vfs[1] = {{.index = index, .iommu_group = -1}};
    vfp_pf_t pf = {.vf_count = 1, .vfs = vfs};
    snprintf(pf.ifname, sizeof(pf.ifname), "%s", pf_ifname);
    assert_int_equal(vf_sim_read_vfs(fx->sim, &pf, why, sizeof(why)), 0);
    return vfs[0];
}

static vfp_apply_vf_t s_item(uint16_t index)
{
    return (vfp_apply_vf_t){
        .index = index,
        .set = VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_TRUST |
               VFP_SET_LINK_STATE | VFP_SET_RATE,
        .mac = {0x02, 0x50, 0x56, 0x00, 0x00, 0x07},
        .vlan = 100,
        .qos = 3,
        .vlan_proto = VFP_VLAN_PROTO_8021AD,
        .spoofchk = VFP_OFF,
        .trust = VFP_ON,
        .link_state = VFP_LINK_DISABLE,
        .min_tx_rate = 100,
        .max_tx_rate = 1000,
    };
}

static const uint16_t s_bits[] = {VFP_SET_MAC,        VFP_SET_VLAN,
                                  VFP_SET_SPOOFCHK,   VFP_SET_TRUST,
                                  VFP_SET_LINK_STATE, VFP_SET_RATE};
#define S_NBITS (sizeof(s_bits) / sizeof(s_bits[0]))

/* The kernel's answers to sriov_numvfs (ens2f0: 6 of 63 VFs). */
static void test_num_vfs_answers(void **state)
{
    fixture_t *fx = *state;
    char text[256];
    s_tree(fx, "ixgbe-dualport");
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 8, text, 256),
                     EBUSY);
    assert_non_null(strstr(text, "6 VFs already enabled"));
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 64, text, 256),
                     ERANGE);
    assert_non_null(strstr(text, "sriov_totalvfs 63"));
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 6, text, 256), 0);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "nosuch0", 1, text, 256),
                     ENODEV);
    assert_int_equal(vf_sim_writes(fx->sim), 0);
    assert_int_equal(s_numvfs(fx, "ens2f0"), 6);

    /* 0 removes every VF device and what names it. */
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 0, text, 256), 0);
    assert_int_equal(s_numvfs(fx, "ens2f0"), 0);
    assert_false(s_exists("%s/class/net/ens2f0/device/virtfn0", fx->sysfs));
    assert_false(s_exists("%s/bus/pci/devices/0000:05:10.0", fx->sysfs));
    assert_false(s_exists("%s/class/net/ens2f0v0", fx->sysfs));
    assert_false(
        s_exists("%s/bus/pci/drivers/ixgbevf/0000:05:10.0", fx->sysfs));

    /* 3 lays out VF devices as the kernel does: routing id + offset +
     * stride * n, links both ways, an IOMMU group each. */
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 3, text, 256), 0);
    assert_int_equal(vf_sim_writes(fx->sim), 2);
    assert_int_equal(s_numvfs(fx, "ens2f0"), 3);
    assert_true(s_exists("%s/class/net/ens2f0/device/virtfn2/physfn/virtfn2",
                         fx->sysfs));
    assert_true(s_exists("%s/bus/pci/devices/0000:05:10.4/iommu_group/"
                         "devices/0000:05:10.4",
                         fx->sysfs));
    assert_false(s_exists("%s/class/net/ens2f0/device/virtfn3", fx->sysfs));

    vfp_inventory_t inv = {0};
    char err[256];
    discover_opts_t opts = {.sysfs_root = fx->sysfs,
                            .procfs_root = fx->procfs,
                            .kernel = VF_KERNEL_SIM};
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
    const vfp_pf_t *pf = discover_find_pf(&inv, "ens2f0");
    assert_non_null(pf);
    assert_int_equal(pf->num_vfs, 3);
    assert_int_equal(pf->vf_count, 3);
    assert_string_equal(pf->vfs[1].pci_addr, "0000:05:10.2");
    assert_true(pf->vfs[1].iommu_isolated);
    assert_true(pf->vfs[2].settings_known);
    discover_inventory_clear(&inv);

    /* The other port of the 82599: its VFs fall between port 0's
     * (05:00.1 + 128 + 2n), as on the card, none where port 0's are. */
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f1", 2, text, 256), 0);
    assert_true(s_exists("%s/bus/pci/devices/0000:05:10.1", fx->sysfs));
    assert_true(s_exists("%s/bus/pci/devices/0000:05:10.3", fx->sysfs));
    assert_true(s_exists("%s/class/net/ens2f1/device/virtfn1/physfn/virtfn1",
                         fx->sysfs));
    assert_int_equal(s_numvfs(fx, "ens2f0"), 3);
}

/* netdevsim: no sriov_totalvfs; its limit is debugfs max_vfs (4). */
static void test_num_vfs_netdevsim(void **state)
{
    fixture_t *fx = *state;
    char text[256];
    s_tree(fx, "netdevsim");
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "eni99np1", 4, text, 256),
                     EBUSY);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "eni99np1", 0, text, 256), 0);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "eni99np1", 5, text, 256),
                     ENOMEM);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "eni99np1", 4, text, 256), 0);
    assert_int_equal(s_numvfs(fx, "eni99np1"), 4);
    assert_true(s_read(fx, "eni99np1", 3).settings_known);
}

/* Values the kernel refuses: nothing is stored, nothing counted. */
static void test_bad_values(void **state)
{
    fixture_t *fx = *state;
    char text[256];
    s_tree(fx, "ixgbe-dualport");
    /* Each case spoils one value of a valid item (see the switch). */
    struct {
        uint16_t bit;
        int err;
    } cases[] = {
        {VFP_SET_MAC, EINVAL},        {VFP_SET_VLAN, EINVAL},
        {VFP_SET_VLAN, EINVAL},       {VFP_SET_VLAN, EPROTONOSUPPORT},
        {VFP_SET_LINK_STATE, EINVAL}, {VFP_SET_RATE, EINVAL},
        {VFP_SET_TRUST, EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vfp_apply_vf_t d = s_item(1);
        switch (i) {
        case 0:
            d.mac[0] = 0x01; /* multicast */
            break;
        case 1:
            d.vlan = 4096;
            break;
        case 2:
            d.qos = 8;
            break;
        case 3:
            d.vlan_proto = 0x9100;
            break;
        case 4:
            d.link_state = (vfp_link_state_t)3;
            break;
        case 5:
            d.min_tx_rate = 2000;
            break;
        case 6:
            d.index = 6; /* past sriov_numvfs */
            break;
        }
        text[0] = '\0';
        assert_int_equal(vf_sim_set_vf_attr(fx->sim, "ens2f0", cases[i].bit, &d,
                                            text, sizeof(text)),
                         cases[i].err);
        assert_true(text[0] != '\0');
    }
    assert_int_equal(vf_sim_writes(fx->sim), 0);
    assert_false(s_exists("%s/%s/%s", fx->sysfs, VF_SIM_DIR, VF_SIM_STATE));
    vfp_vf_t vf = s_read(fx, "ens2f0", 1);
    assert_int_equal(vf.vlan, 0);
    assert_int_equal(vf.spoofchk, VFP_ON);
}

/* Every attribute written reads back, from this instance and from a new
 * one (an agent restarted on the same tree). */
static void test_round_trip_and_restart(void **state)
{
    fixture_t *fx = *state;
    char text[256], err[256];
    s_tree(fx, "ixgbe-dualport");
    vfp_apply_vf_t d = s_item(2);
    for (size_t i = 0; i < S_NBITS; i++)
        assert_int_equal(vf_sim_set_vf_attr(fx->sim, "ens2f0", s_bits[i], &d,
                                            text, sizeof(text)),
                         0);
    assert_int_equal(vf_sim_writes(fx->sim), S_NBITS);
    for (int pass = 0; pass < 2; pass++) {
        vfp_vf_t vf = s_read(fx, "ens2f0", 2);
        assert_true(vf.settings_known);
        assert_memory_equal(vf.mac, d.mac, 6);
        assert_int_equal(vf.vlan, 100);
        assert_int_equal(vf.qos, 3);
        assert_int_equal(vf.vlan_proto, VFP_VLAN_PROTO_8021AD);
        assert_int_equal(vf.spoofchk, VFP_OFF);
        assert_int_equal(vf.trust, VFP_ON);
        assert_int_equal(vf.link_state, VFP_LINK_DISABLE);
        assert_int_equal(vf.min_tx_rate, 100);
        assert_int_equal(vf.max_tx_rate, 1000);
        vf_sim_destroy(&fx->sim);
        fx->sim = vf_sim_new(fx->sysfs, err, sizeof(err));
        assert_non_null(fx->sim);
    }
    /* Another VF is untouched: a new VF's settings. */
    vfp_vf_t other = s_read(fx, "ens2f0", 3);
    assert_int_equal(other.vlan_proto, VFP_VLAN_PROTO_8021Q);
    assert_int_equal(other.spoofchk, VFP_ON);
    assert_int_equal(other.trust, VFP_OFF);

    /* A VF removed and made again starts as new. */
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 0, text, 256), 0);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 4, text, 256), 0);
    assert_int_equal(s_read(fx, "ens2f0", 2).vlan, 0);

    /* MTU lives on the VF's netdev, which has one from the start, as
     * every netdev of a real kernel does (the agent reads it first). */
    char path[S_PATH + 64], mtu[16] = "";
    snprintf(path, sizeof(path), "%s/class/net/ens2f1/mtu", fx->sysfs);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(mtu, sizeof(mtu), f));
    fclose(f);
    assert_string_equal(mtu, "1500\n");
    assert_int_equal(vf_sim_set_mtu(fx->sim, "ens2f1", 9000, text, 256), 0);
    assert_int_equal(vf_sim_set_mtu(fx->sim, "ens2f1", 60, text, 256), EINVAL);
    assert_string_equal(text, "mtu less than device minimum");
    assert_int_equal(vf_sim_set_mtu(fx->sim, "nosuch0", 1500, text, 256),
                     ENODEV);
}

/* A save that cannot complete leaves the previous state file whole. */
static void test_atomic_save(void **state)
{
    fixture_t *fx = *state;
    char text[256], path[PATH_MAX], before[4096], after[4096];
    s_tree(fx, "ixgbe-dualport");
    vfp_apply_vf_t d = s_item(0);
    assert_int_equal(
        vf_sim_set_vf_attr(fx->sim, "ens2f0", VFP_SET_MAC, &d, text, 256), 0);
    snprintf(path, sizeof(path), "%s/%s/%s", fx->sysfs, VF_SIM_DIR,
             VF_SIM_STATE);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(before, 1, sizeof(before) - 1, f);
    before[n] = '\0';
    fclose(f);
    assert_non_null(strstr(before, "vf ens2f0 0 02:50:56:00:00:07 "));
    assert_false(s_exists("%s.tmp", path));

    /* The temporary file's name taken by a directory: the save fails. */
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0755), 0);
    d.vlan = 7;
    assert_int_not_equal(
        vf_sim_set_vf_attr(fx->sim, "ens2f0", VFP_SET_VLAN, &d, text, 256), 0);
    assert_non_null(strstr(text, "state file"));
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(after, 1, sizeof(after) - 1, f);
    after[n] = '\0';
    fclose(f);
    assert_string_equal(before, after);
    assert_int_equal(s_read(fx, "ens2f0", 0).vlan, 0);
    rmdir(tmp);

    /* A corrupt state file is reported, not taken as empty. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("vf ens2f0 zero\n", f);
    fclose(f);
    char why[256];
    vfp_vf_t vfs[1] = {{.index = 0}};
    vfp_pf_t pf = {.ifname = "ens2f0", .vf_count = 1, .vfs = vfs};
    assert_int_equal(vf_sim_read_vfs(fx->sim, &pf, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "line 1: not a VF entry"));
}

/* An attribute is replaced whole, as the kernel answers it: a reader in
 * another process (the agent's discovery, beside its writer process) sees
 * the old count or the new one, never an empty file. */
static void test_attribute_writes_are_whole(void **state)
{
    fixture_t *fx = *state;
    char text[256], path[PATH_MAX];
    s_tree(fx, "ixgbe-dualport");
    snprintf(path, sizeof(path), "%s/class/net/ens2f0/device/sriov_numvfs",
             fx->sysfs);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 0, text, 256), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_false(
        s_exists("%s/class/net/ens2f0/device/.sriov_numvfs.new", fx->sysfs));

    pid_t reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        /* Reads until killed; exits 1 at the first torn value. */
        for (;;) {
            FILE *f = fopen(path, "re");
            char value[32] = "";
            if (!f)
                _exit(1);
            bool whole =
                fgets(value, sizeof(value), f) &&
                (strcmp(value, "0\n") == 0 || strcmp(value, "2\n") == 0);
            fclose(f);
            if (!whole)
                _exit(1);
        }
    }
    for (int i = 0; i < 300; i++) {
        assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 2, text, 256),
                         0);
        assert_int_equal(vf_sim_set_num_vfs(fx->sim, "ens2f0", 0, text, 256),
                         0);
    }
    int status = 0;
    bool alive = waitpid(reader, &status, WNOHANG) == 0;
    kill(reader, SIGKILL);
    waitpid(reader, &status, 0);
    assert_true(alive);
}

/* A hugepage pool: nr_hugepages and free_hugepages move together. */
static void test_hugepages(void **state)
{
    fixture_t *fx = *state;
    char text[256], path[PATH_MAX + 16], dir[PATH_MAX], why[128];
    long nr, free_pages;
    s_tree(fx, "ixgbe-dualport");
    snprintf(dir, sizeof(dir), "%s/kernel/mm/hugepages/hugepages-2048kB",
             fx->sysfs);
    snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
    assert_int_equal(vf_sim_set_hugepages(fx->sim, path, 1000, text, 256), 0);
    assert_int_equal(
        sysfs_attr_read_long(dir, "nr_hugepages", 0, 1 << 30, &nr, why, 128),
        0);
    assert_int_equal(sysfs_attr_read_long(dir, "free_hugepages", 0, 1 << 30,
                                          &free_pages, why, 128),
                     0);
    assert_int_equal(nr, 1000);
    assert_int_equal(free_pages, 1000);
    assert_int_equal(vf_sim_writes(fx->sim), 1);
    assert_int_equal(vf_sim_set_hugepages(fx->sim, path, 1000, text, 256), 0);
    assert_int_equal(vf_sim_writes(fx->sim), 1);
    assert_int_equal(vf_sim_set_hugepages(fx->sim, "/proc/sys/vm/nr_hugepages",
                                          0, text, 256),
                     ENOENT);
}

static void s_apply(vf_writer_t *w, const char *pf, const vfp_apply_vf_t *d,
                    int rc, const char *prefix)
{
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 0;
    assert_int_equal(vf_writer_apply_vf(w, pf, d, results, VF_WRITER_ATTRS, &n),
                     rc);
    assert_int_equal(n, S_NBITS);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(results[i].message, prefix, strlen(prefix)))
            fail_msg("%s: %s", results[i].attribute, results[i].message);
    }
}

/* The writer on the simulated kernel: the same validation, comparison and
 * read-back as on netlink, and no netlink at all. */
static void test_writer_on_sim(void **state)
{
    fixture_t *fx = *state;
    char err[256];
    s_tree(fx, "ixgbe-dualport");
    vf_writer_t *w =
        vf_writer_new_kernel(fx->sysfs, VF_KERNEL_SIM, err, sizeof(err));
    assert_non_null(w);
    vfp_apply_vf_t d = s_item(4);
    s_apply(w, "ens2f0", &d, 0, "set: ");
    assert_int_equal(vf_writer_kernel_writes(w), S_NBITS);
    s_apply(w, "ens2f0", &d, 0, "unchanged: ");
    assert_int_equal(vf_writer_kernel_writes(w), S_NBITS);
    /* The codec's rule comes first: the simulated kernel sees nothing. */
    d.vlan = 4095;
    s_apply(w, "ens2f0", &d, -1, "");
    assert_int_equal(vf_writer_kernel_writes(w), S_NBITS);
    assert_int_equal(vf_writer_netlink_writes(w), 0);

    vfp_result_t r;
    assert_int_equal(vf_writer_set_num_vfs(w, "ens2f0", 64, NULL, 0, &r), -1);
    assert_int_equal(r.err, ERANGE);
    assert_non_null(strstr(r.message, "exceed sriov_totalvfs 63"));
    /* The writer went through 0 and put the 6 VFs back. */
    assert_int_equal(s_numvfs(fx, "ens2f0"), 6);
    vf_writer_destroy(&w);

    assert_null(vf_writer_new_kernel("/sys", VF_KERNEL_SIM, err, sizeof(err)));
    assert_non_null(strstr(err, "recorded sysfs tree"));
}

/* --kernel netlink on a recorded tree: a PF named like a live interface
 * ("lo" exists in every network namespace) gets no RTM_SETLINK. */
static void test_netlink_refused_for_recorded_tree(void **state)
{
    fixture_t *fx = *state;
    char err[256];
    s_tree(fx, "ixgbe-dualport");
    vf_writer_t *w =
        vf_writer_new_kernel(fx->sysfs, VF_KERNEL_NETLINK, err, sizeof(err));
    assert_non_null(w);
    vfp_apply_vf_t d = s_item(0);
    s_apply(w, "lo", &d, -1, VF_KERNEL_RECORDED_REFUSAL);
    assert_int_equal(vf_writer_netlink_writes(w), 0);
    vf_writer_destroy(&w);

    assert_false(vf_kernel_recorded_tree(NULL));
    assert_false(vf_kernel_recorded_tree("/sys"));
    assert_false(vf_kernel_recorded_tree("/sys/"));
    assert_true(vf_kernel_recorded_tree(fx->sysfs));
    vf_kernel_t k = VF_KERNEL_NETLINK;
    assert_int_equal(vf_kernel_parse("sim", &k), 0);
    assert_int_equal(k, VF_KERNEL_SIM);
    assert_int_equal(vf_kernel_parse("live", &k), -1);
    assert_string_equal(vf_kernel_name(VF_KERNEL_NETLINK), "netlink");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_num_vfs_answers, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_num_vfs_netdevsim, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_and_restart, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_atomic_save, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_attribute_writes_are_whole,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hugepages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_writer_on_sim, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_netlink_refused_for_recorded_tree,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
