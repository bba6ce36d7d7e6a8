/* test_discover.c - discovery on recorded trees, bad input and races. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_text.h"
#include "discover.h"
#include "sysfs_attr.h"
#include "vfp.h"

#define S_PATH 512      /* tree paths here are short; keeps snprintf bounded */
static char s_top[256]; /* temporary directory holding the trees */

/* Builds a scenario with tests/fixtures/mktree.py under s_top. */
static void s_tree(const char *scenario, char *sysfs, char *procfs)
{
    const char *src = getenv("VFLEET_SOURCE_DIR");
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixtures/mktree.py %s %s/%s",
             src ? src : "../..", scenario, s_top, scenario);
    assert_int_equal(system(cmd), 0);
    snprintf(sysfs, S_PATH, "%s/%s/sys", s_top, scenario);
    snprintf(procfs, S_PATH, "%s/%s/proc", s_top, scenario);
}

static void s_discover(const char *scenario, vfp_inventory_t *inv,
                       discover_warnings_t *warnings)
{
    char sysfs[S_PATH], procfs[S_PATH], err[256];
    s_tree(scenario, sysfs, procfs);
    discover_opts_t opts = {.sysfs_root = sysfs, .procfs_root = procfs};
    assert_int_equal(discover_host(&opts, inv, warnings, err, sizeof(err)), 0);
}

static int s_setup(void **state)
{
    snprintf(s_top, sizeof(s_top), "/tmp/vfleet-discover-XXXXXX");
    assert_non_null(mkdtemp(s_top));
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s_top);
    return system(cmd);
}

static void test_attr_numbers(void **state)
{
    char dir[PATH_MAX], why[256], path[PATH_MAX + 16];
    long v;
    unsigned long h;
    snprintf(dir, sizeof(dir), "%s/attrs", s_top);
    mkdir(dir, 0755);
    const char *files[][2] = {{"num", "42\n"},    {"neg", "-1\n"},
                              {"junk", "4x2\n"},  {"hex", "0x8086\n"},
                              {"bare", "10ed\n"}, {"empty", ""}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    assert_int_equal(sysfs_attr_read_long(dir, "num", 0, 100, &v, why, 256), 0);
    assert_int_equal(v, 42);
    assert_int_equal(sysfs_attr_read_long(dir, "num", 0, 10, &v, why, 256), -1);
    assert_string_equal(why, "num: not a number in 0..10: '42'");
    assert_int_equal(sysfs_attr_read_long(dir, "neg", -1, 10, &v, why, 256), 0);
    assert_int_equal(v, -1);
    assert_int_equal(sysfs_attr_read_long(dir, "junk", 0, 100, &v, why, 256),
                     -1);
    assert_string_equal(why, "junk: not a number in 0..100: '4x2'");
    assert_int_equal(sysfs_attr_read_long(dir, "empty", 0, 100, &v, why, 256),
                     -1);
    assert_int_equal(sysfs_attr_read_long(dir, "absent", 0, 100, &v, why, 256),
                     -1);
    assert_string_equal(why, "absent: No such file or directory");
    assert_int_equal(sysfs_attr_read_hex(dir, "hex", 0xffff, &h, why, 256), 0);
    assert_int_equal(h, 0x8086);
    assert_int_equal(sysfs_attr_read_hex(dir, "bare", 0xffff, &h, why, 256), 0);
    assert_int_equal(h, 0x10ed);
    assert_int_equal(sysfs_attr_read_hex(dir, "junk", 0xffff, &h, why, 256),
                     -1);
}

static void test_dir_list_numeric(void **state)
{
    char dir[PATH_MAX], why[256], path[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/virtfns", s_top);
    mkdir(dir, 0755);
    const char *names[] = {"virtfn0",  "virtfn10", "virtfn2", "virtfn1",
                           "virtfn01", "virtfnx",  "other"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        assert_int_equal(symlink("../nowhere", path), 0);
    }
    char **list = NULL;
    assert_int_equal(
        sysfs_attr_dir_list(dir, "virtfn", &list, why, sizeof(why)), 4);
    assert_string_equal(list[0], "virtfn0");
    assert_string_equal(list[1], "virtfn1");
    assert_string_equal(list[2], "virtfn2");
    assert_string_equal(list[3], "virtfn10");
    assert_null(list[4]);
    sysfs_attr_names_free(&list);
    assert_null(list);
    /* a dangling link still names its target */
    char target[64];
    assert_int_equal(sysfs_attr_link_target(dir, "virtfn2", target,
                                            sizeof(target), why, sizeof(why)),
                     0);
    assert_string_equal(target, "nowhere");
    assert_false(sysfs_attr_exists(dir, "virtfn2"));
}

static void test_note_truncation(void **state)
{
    char note[16] = "";
    agent_text_note_append(note, sizeof(note), "first");
    agent_text_note_append(note, sizeof(note), "second");
    assert_string_equal(note, "first; second");
    agent_text_note_append(note, sizeof(note), "third");
    assert_int_equal(strlen(note), 15);
    assert_string_equal(note + 12, "...");
}

static void test_ixgbe_dualport(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("ixgbe-dualport", &inv, NULL);
    assert_int_equal(inv.pf_count, 2);
    vfp_pf_t *pf = discover_find_pf(&inv, "ens2f0");
    assert_non_null(pf);
    assert_string_equal(pf->pci_addr, "0000:05:00.0");
    assert_int_equal(pf->vendor_id, 0x8086);
    assert_int_equal(pf->device_id, 0x10fb);
    assert_int_equal(pf->total_vfs, 63);
    assert_int_equal(pf->num_vfs, 6);
    assert_int_equal(pf->vf_count, 6);
    assert_string_equal(pf->vf_driver, "ixgbevf");
    assert_int_equal(pf->link_speed, 10000);
    /* offset 128, stride 2: the StarlingX listing */
    assert_string_equal(pf->vfs[5].pci_addr, "0000:05:11.2");
    assert_true(pf->vfs[5].iommu_isolated);
    assert_false(pf->vfs[5].settings_known);
    assert_non_null(strstr(pf->note, "netlink off"));
    pf = discover_find_pf(&inv, "0000:05:00.1");
    assert_non_null(pf);
    assert_int_equal(pf->num_vfs, 0);
    assert_int_equal(pf->vf_count, 0);
    assert_string_equal(pf->note, "");
    assert_true(inv.host.iommu_ready);
    assert_int_equal(inv.host.iommu_units, 2);
    assert_int_equal(inv.host.cpu_virt, VFP_VIRT_VMX);
    assert_string_equal(inv.host.iommu_cmdline, "intel_iommu=on iommu=pt");
    assert_int_equal(inv.host.hugepage_count, 2);
    assert_int_equal(inv.host.hugepages[0].size_kb, 2048);
    assert_int_equal(inv.host.hugepages[0].total, 1024);
    assert_int_equal(inv.host.hugepages[1].size_kb, 1048576);
    discover_inventory_clear(&inv);
    assert_null(inv.pfs);
}

static void test_i40e_numeric_order(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("i40e-xxv710", &inv, NULL);
    assert_int_equal(inv.pf_count, 1);
    vfp_pf_t *pf = &inv.pfs[0];
    assert_int_equal(pf->vf_count, 16);
    for (uint32_t i = 0; i < 16; i++) {
        assert_int_equal(pf->vfs[i].index, i);
        assert_int_equal(pf->vfs[i].iommu_group, 168 + (int)i);
    }
    /* offset 16, stride 1: VF 10 is 37:03.2, after VF 9 (37:03.1) */
    assert_string_equal(pf->vfs[9].pci_addr, "0000:37:03.1");
    assert_string_equal(pf->vfs[10].pci_addr, "0000:37:03.2");
    assert_string_equal(pf->vfs[15].driver, "iavf");
    discover_inventory_clear(&inv);
}

static void test_mlx5_vfio(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("mlx5-vfio", &inv, NULL);
    vfp_pf_t *pf = &inv.pfs[0];
    assert_int_equal(pf->numa_node, -1);
    assert_string_equal(pf->driver, "mlx5_core");
    assert_string_equal(pf->vfs[0].driver, "vfio-pci");
    assert_string_equal(pf->vfs[3].pci_addr, "0000:08:00.5");
    /* every VF was bound by driver_override: autoprobe did not pick it */
    assert_string_equal(pf->vf_driver, "");
    assert_int_equal(inv.host.cpu_virt, VFP_VIRT_SVM);
    assert_true(inv.host.iommu_ready);
    discover_inventory_clear(&inv);
}

static void test_iommu_off(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("iommu-off", &inv, NULL);
    assert_false(inv.host.iommu_ready);
    assert_int_equal(inv.host.iommu_groups, 0);
    assert_int_equal(inv.host.reason_count, 2);
    assert_non_null(strstr(inv.host.reasons[0], "intel_iommu=on"));
    assert_non_null(strstr(inv.host.reasons[1], "/sys/class/iommu"));
    vfp_vf_t *vf = &inv.pfs[0].vfs[1];
    assert_string_equal(vf->pci_addr, "0000:03:10.4"); /* stride 4 */
    assert_int_equal(vf->iommu_group, -1);
    assert_false(vf->iommu_isolated);
    assert_non_null(strstr(vf->note, "no IOMMU group"));
    discover_inventory_clear(&inv);
}

static void test_shared_group(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("shared-group", &inv, NULL);
    vfp_vf_t *vf = &inv.pfs[0].vfs[0];
    assert_int_equal(vf->iommu_group, 7);
    assert_false(vf->iommu_isolated);
    assert_non_null(strstr(vf->note, "0000:00:1c.6"));
    assert_non_null(strstr(vf->note, "cannot be assigned"));
    discover_inventory_clear(&inv);
}

static void test_unbound(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("unbound", &inv, NULL);
    assert_int_equal(inv.pf_count, 2);
    assert_string_equal(inv.pfs[0].driver, "");
    assert_string_equal(inv.pfs[0].ifname, "");
    assert_int_equal(inv.pfs[0].total_vfs, 64);
    assert_non_null(strstr(inv.pfs[0].note, "no driver bound"));
    assert_string_equal(inv.pfs[1].driver, "vfio-pci");
    assert_non_null(strstr(inv.pfs[1].note, "no netdev"));
    discover_inventory_clear(&inv);
}

static void test_netdevsim(void **state)
{
    vfp_inventory_t inv = {0};
    s_discover("netdevsim", &inv, NULL);
    assert_int_equal(inv.pf_count, 1);
    vfp_pf_t *pf = discover_find_pf(&inv, "eni99np1");
    assert_non_null(pf);
    assert_string_equal(pf->pci_addr, "netdevsim99");
    assert_string_equal(pf->driver, "netdevsim");
    assert_int_equal(pf->total_vfs, 4); /* debugfs max_vfs */
    assert_int_equal(pf->num_vfs, 3);
    assert_int_equal(pf->vf_count, 3);
    assert_int_equal(pf->vfs[2].index, 2);
    assert_string_equal(pf->vfs[2].pci_addr, "");
    discover_inventory_clear(&inv);
}

static void test_bad_input(void **state)
{
    vfp_inventory_t inv = {0};
    discover_warnings_t warnings = {0};
    s_discover("bad-input", &inv, &warnings);
    /* 07:00.0 vanished: not reported; the others are, with reasons */
    assert_int_equal(inv.pf_count, 4);
    assert_null(discover_find_pf(&inv, "0000:07:00.0"));
    vfp_pf_t *pf = discover_find_pf(&inv, "0000:04:00.0");
    assert_int_equal(pf->total_vfs, 0);
    assert_non_null(strstr(pf->note, "sriov_totalvfs: not a number"));
    assert_non_null(strstr(pf->note, "vendor: Is a directory"));
    assert_non_null(strstr(pf->note, "numa_node: No such file"));
    assert_int_equal(pf->numa_node, -1);
    assert_int_equal(pf->device_id, 0x10fb);
    assert_int_equal(pf->vf_count, 2);
    pf = discover_find_pf(&inv, "0000:06:00.0");
    assert_string_equal(pf->driver, "");
    assert_non_null(strstr(pf->note, "dangles"));
    assert_non_null(strstr(pf->note, "'banana'"));
    assert_non_null(strstr(pf->note, "sriov_numvfs is 3 but 2 virtfn"));
    assert_string_equal(pf->vfs[1].pci_addr, "0000:06:10.2");
    assert_non_null(strstr(pf->vfs[1].note, "missing device"));
    pf = discover_find_pf(&inv, "0000:08:00.0");
    assert_non_null(strstr(pf->note, "sriov_numvfs: No such file"));
    pf = discover_find_pf(&inv, "netdevsim7");
    assert_int_equal(pf->total_vfs, 0);
    assert_non_null(strstr(pf->note, "VF limit unknown"));
    assert_false(inv.host.iommu_ready);
    assert_non_null(strstr(inv.host.reasons[0], "intel_iommu=off"));
    assert_int_equal(warnings.count, 2);
    assert_non_null(strstr(warnings.text[0], "MemAvailable"));
    assert_non_null(strstr(warnings.text[1], "'lots'"));
    assert_int_equal(inv.host.hugepage_count, 1);
    discover_inventory_clear(&inv);
}

/* Writes text to the tree's proc/cmdline. */
static void s_cmdline(const char *procfs, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cmdline", procfs);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    fclose(f);
}

/* An option for the other vendor's IOMMU is ignored by the kernel, and by
 * the readiness check: amd_iommu=off on an Intel host turns nothing off
 * (it made the host not ready). Its own vendor's off, and iommu=off, do. */
static void test_other_vendor_option_ignored(void **state)
{
    char sysfs[S_PATH], procfs[S_PATH], err[256];
    s_tree("ixgbe-dualport", sysfs, procfs);
    discover_opts_t opts = {.sysfs_root = sysfs, .procfs_root = procfs};
    static const struct {
        const char *cmdline;
        bool ready;
    } cases[] = {{"intel_iommu=on,sm_off amd_iommu=off", true},
                 {"amd_iommu=off intel_iommu=off", false},
                 {"intel_iommu=on iommu=off", false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_cmdline(procfs, cases[i].cmdline);
        vfp_inventory_t inv = {0};
        assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
        if (inv.host.iommu_ready != cases[i].ready)
            fail_msg("%s: ready %d (%s)", cases[i].cmdline,
                     inv.host.iommu_ready,
                     inv.host.reason_count ? inv.host.reasons[0] : "");
        discover_inventory_clear(&inv);
    }
}

/* Writes text to the file at path (a printf format's result). */
static void s_write(const char *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_write(const char *text, const char *fmt, ...)
{
    char path[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Whether the inventory is one the protocol takes (what the agent sends). */
static bool s_sendable(vfp_inventory_t *inv, char *why, size_t whylen)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY);
    msg->u.inventory = *inv;
    vfp_decode_error_t err;
    bool ok = vfp_validate(msg, &err) == 0;
    snprintf(why, whylen, "%.60s: %.180s", err.field, err.text);
    memset(&msg->u.inventory, 0, sizeof(msg->u.inventory));
    vfp_msg_destroy(&msg);
    return ok;
}

/* Numbers that contradict each other still give an inventory the protocol
 * takes, each change noted: before, none was sent (num_vfs above
 * total_vfs) or the controller refused it (VFs linked beyond num_vfs, a
 * pool with more free pages than pages), and the host lost every fact. */
static void test_contradictions_still_sendable(void **state)
{
    char sysfs[S_PATH], procfs[S_PATH], err[256], why[256];
    s_tree("i40e-xxv710", sysfs, procfs);
    const char *pf = "devices/pci0000:00/0000:37:00.0";
    discover_opts_t opts = {.sysfs_root = sysfs, .procfs_root = procfs};
    vfp_inventory_t inv = {0};
    discover_warnings_t warnings = {0};

    s_write("70\n", "%s/%s/sriov_numvfs", sysfs, pf);
    s_write("9\n", "%s/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
            sysfs);
    s_write("1\n", "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
            sysfs);
    assert_int_equal(discover_host(&opts, &inv, &warnings, err, sizeof(err)),
                     0);
    vfp_pf_t *p = discover_find_pf(&inv, "0000:37:00.0");
    assert_int_equal(p->num_vfs, 70);
    assert_int_equal(p->total_vfs, 70);
    assert_non_null(strstr(p->note, "total_vfs reported as 70"));
    assert_int_equal(inv.host.hugepages[0].free, 1);
    assert_non_null(
        strstr(warnings.text[warnings.count - 1], "free reported as 1"));
    if (!s_sendable(&inv, why, sizeof(why)))
        fail_msg("not sendable: %s", why);
    discover_inventory_clear(&inv);

    s_write("  16\n", "%s/%s/sriov_numvfs", sysfs, pf);
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
    p = discover_find_pf(&inv, "0000:37:00.0");
    assert_int_equal(p->vf_count, 16);
    assert_int_equal(p->num_vfs, 16);
    assert_non_null(strstr(p->note, "num_vfs reported as 16"));
    if (!s_sendable(&inv, why, sizeof(why)))
        fail_msg("not sendable: %s", why);
    discover_inventory_clear(&inv);
}

/* A virtfn link that loops is no device and its name no PCI address; a
 * link speed that is garbage is noted (it was dropped in silence). */
static void test_loop_and_garbage_speed_noted(void **state)
{
    char sysfs[S_PATH], procfs[S_PATH], err[256], path[PATH_MAX];
    s_tree("i40e-xxv710", sysfs, procfs);
    const char *pf = "devices/pci0000:00/0000:37:00.0";
    snprintf(path, sizeof(path), "%s/%s/virtfn3", sysfs, pf);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("virtfn3", path), 0);
    s_write("4294967297\n", "%s/%s/net/ens2f0/speed", sysfs, pf);
    discover_opts_t opts = {.sysfs_root = sysfs, .procfs_root = procfs};
    vfp_inventory_t inv = {0};
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
    vfp_pf_t *p = discover_find_pf(&inv, "0000:37:00.0");
    assert_int_equal(p->vfs[3].index, 3);
    assert_string_equal(p->vfs[3].pci_addr, "");
    assert_non_null(strstr(p->vfs[3].note, "virtfn3: a symlink loop"));
    assert_int_equal(p->link_speed, 0);
    assert_non_null(strstr(p->note, "ens2f0: speed: not a number"));
    char why[256];
    if (!s_sendable(&inv, why, sizeof(why)))
        fail_msg("not sendable: %s", why);
    discover_inventory_clear(&inv);
}

static void test_missing_roots(void **state)
{
    char err[256];
    vfp_inventory_t inv = {0};
    discover_opts_t opts = {.sysfs_root = "/nonexistent/sys"};
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "sysfs root /nonexistent/sys: No such file or "
                             "directory");
    opts.sysfs_root = s_top;
    opts.procfs_root = "/nonexistent/proc";
    assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "procfs root"));
    /* an empty directory as both roots: nothing, with reasons, no crash */
    opts.procfs_root = s_top;
    discover_warnings_t warnings = {0};
    assert_int_equal(discover_host(&opts, &inv, &warnings, err, sizeof(err)),
                     0);
    assert_int_equal(inv.pf_count, 0);
    assert_false(inv.host.iommu_ready);
    assert_true(warnings.count > 0);
    discover_inventory_clear(&inv);
}

/* A PF and its VF vanish and come back while discovery runs: every scan
 * must finish and report either the whole PF or what it could read. */
typedef struct {
    char pf[PATH_MAX];
    char vf[PATH_MAX];
    volatile bool stop;
} s_flapper_t;

static void *s_flap(void *arg)
{
    s_flapper_t *f = arg;
    char gone[PATH_MAX + 8];
    char vfgone[PATH_MAX + 8];
    snprintf(gone, sizeof(gone), "%s.gone", f->pf);
    snprintf(vfgone, sizeof(vfgone), "%s.gone", f->vf);
    while (!f->stop) {
        rename(f->vf, vfgone);
        rename(f->pf, gone);
        usleep(100);
        rename(gone, f->pf);
        rename(vfgone, f->vf);
        usleep(100);
    }
    return NULL;
}

static void test_pf_vanishes_mid_scan(void **state)
{
    char sysfs[S_PATH], procfs[S_PATH], err[256];
    s_tree("i40e-xxv710", sysfs, procfs);
    s_flapper_t flapper = {0};
    snprintf(flapper.pf, sizeof(flapper.pf),
             "%s/devices/pci0000:00/"
             "0000:37:00.0",
             sysfs);
    snprintf(flapper.vf, sizeof(flapper.vf),
             "%s/devices/pci0000:00/"
             "0000:37:02.7",
             sysfs);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_flap, &flapper), 0);
    discover_opts_t opts = {.sysfs_root = sysfs, .procfs_root = procfs};
    for (int i = 0; i < 40; i++) {
        vfp_inventory_t inv = {0};
        assert_int_equal(discover_host(&opts, &inv, NULL, err, sizeof(err)), 0);
        assert_true(inv.pf_count <= 1);
        for (uint32_t k = 0; k < inv.pf_count; k++)
            for (uint32_t v = 0; v < inv.pfs[k].vf_count; v++)
                assert_int_equal(inv.pfs[k].vfs[v].index, v);
        discover_inventory_clear(&inv);
    }
    flapper.stop = true;
    pthread_join(thread, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr_numbers),
        cmocka_unit_test(test_dir_list_numeric),
        cmocka_unit_test(test_note_truncation),
        cmocka_unit_test(test_ixgbe_dualport),
        cmocka_unit_test(test_i40e_numeric_order),
        cmocka_unit_test(test_mlx5_vfio),
        cmocka_unit_test(test_iommu_off),
        cmocka_unit_test(test_shared_group),
        cmocka_unit_test(test_unbound),
        cmocka_unit_test(test_netdevsim),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_other_vendor_option_ignored),
        cmocka_unit_test(test_contradictions_still_sendable),
        cmocka_unit_test(test_loop_and_garbage_speed_noted),
        cmocka_unit_test(test_missing_roots),
        cmocka_unit_test(test_pf_vanishes_mid_scan),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
