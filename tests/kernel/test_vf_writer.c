/* test_vf_writer.c - the VF writer's checks that need no SR-IOV kernel:
 * value validation, comparison with the kernel's state, the clean default,
 * refusals before any netlink write, and VF-count / hugepage writes on a
 * sysfs tree made of real files. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vf_apply.h"
#include "vf_drift.h"
#include "vf_print.h"
#include "vf_writer.h"

typedef struct {
    char root[64];
    vf_writer_t *writer;
} fixture_t;

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static long s_read(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long v = -1;
    assert_int_equal(fscanf(f, "%ld", &v), 1);
    fclose(f);
    return v;
}

static void s_mkdirs(const char *root, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

/* A sysfs tree with PF "pf0" (4 VFs enabled) and a 2048kB hugepage pool. */
static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->root, sizeof(fx->root), "/tmp/vfleet-vfw-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    s_mkdirs(fx->root, "class/net/pf0/device");
    s_mkdirs(fx->root, "kernel/mm/hugepages/hugepages-2048kB");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/class/net/pf0/device/sriov_numvfs",
             fx->root);
    s_write(path, "4\n");
    snprintf(path, sizeof(path),
             "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", fx->root);
    s_write(path, "0\n");
    char err[256];
    fx->writer = vf_writer_new(fx->root, err, sizeof(err));
    assert_non_null(fx->writer);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[PATH_MAX + 16];
    vf_writer_destroy(&fx->writer);
    assert_null(fx->writer);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static vfp_apply_vf_t s_valid(void)
{
    vfp_apply_vf_t d = {
        .index = 1,
        .set = VFP_SET_ALL,
        .mac = {0x02, 0x50, 0x56, 0, 0, 1},
        .vlan = 100,
        .qos = 3,
        .vlan_proto = VFP_VLAN_PROTO_8021AD,
        .spoofchk = VFP_ON,
        .trust = VFP_OFF,
        .link_state = VFP_LINK_ENABLE,
        .min_tx_rate = 10,
        .max_tx_rate = 100,
        .mtu = 9000,
    };
    return d;
}

static void test_valid_values_pass(void **state)
{
    char why[256];
    vfp_apply_vf_t d = s_valid();
    assert_int_equal(vf_writer_validate("pf0", &d, why, sizeof(why)), 0);
    assert_string_equal(why, "");
    /* Limits themselves are valid; max rate 0 means unlimited. */
    d.vlan = VFP_APPLY_VLAN_MAX;
    d.qos = 7;
    d.min_tx_rate = 500;
    d.max_tx_rate = 0;
    d.mtu = 68;
    memset(d.mac, 0, 6);
    assert_int_equal(vf_writer_validate("pf0", &d, why, sizeof(why)), 0);
    /* A hand-built item may leave the VLAN protocol 0: 802.1Q. */
    d.vlan_proto = 0;
    assert_int_equal(vf_writer_validate("pf0", &d, why, sizeof(why)), 0);
}

/* The codec's verdict on the same item as a one-VF APPLY. */
static void s_codec_says(const vfp_apply_vf_t *d, char *buf, size_t len)
{
    vfp_apply_vf_t vf = *d;
    snprintf(vf.pf, sizeof(vf.pf), "pf0");
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    msg.u.apply.vf_count = 1;
    msg.u.apply.vfs = &vf;
    vfp_decode_error_t err;
    assert_int_equal(vfp_validate(&msg, &err), -1);
    snprintf(buf, len, "%s", err.text);
}

/* The writer names the field and gives the codec's own reason: one rule,
 * defined in proto/vfp.c. */
static void s_expect_invalid(const vfp_apply_vf_t *d, uint16_t bit,
                             const char *field)
{
    char why[256], codec[256], prefix[64];
    assert_int_equal(vf_writer_validate("pf0", d, why, sizeof(why)), bit);
    s_codec_says(d, codec, sizeof(codec));
    snprintf(prefix, sizeof(prefix), "%s: ", field);
    assert_int_equal(strncmp(why, prefix, strlen(prefix)), 0);
    assert_string_equal(why + strlen(prefix), codec);
}

static void test_invalid_values_named(void **state)
{
    vfp_apply_vf_t d = s_valid();
    d.vlan = 4095;
    s_expect_invalid(&d, VFP_SET_VLAN, "vlan");

    d = s_valid();
    d.qos = 8;
    s_expect_invalid(&d, VFP_SET_VLAN, "qos");

    d = s_valid();
    d.vlan_proto = 0x9100;
    s_expect_invalid(&d, VFP_SET_VLAN, "vlan_proto");

    d = s_valid();
    d.mac[0] = 0x01;
    s_expect_invalid(&d, VFP_SET_MAC, "mac");

    d = s_valid();
    memset(d.mac, 0xff, 6);
    s_expect_invalid(&d, VFP_SET_MAC, "mac");

    d = s_valid();
    d.min_tx_rate = 200;
    s_expect_invalid(&d, VFP_SET_RATE, "min_tx_rate");

    d = s_valid();
    d.trust = (vfp_flag_t)7;
    s_expect_invalid(&d, VFP_SET_TRUST, "trust");

    d = s_valid();
    d.link_state = (vfp_link_state_t)3;
    s_expect_invalid(&d, VFP_SET_LINK_STATE, "link_state");

    d = s_valid();
    d.mtu = 67;
    s_expect_invalid(&d, VFP_SET_MTU, "mtu");

    d = s_valid();
    d.set |= 0x80;
    s_expect_invalid(&d, VFP_SET_ALL, "set");

    /* A field whose bit is clear must be zero, as on the wire. */
    d = s_valid();
    d.vlan = 4095;
    d.set = VFP_SET_MAC;
    s_expect_invalid(&d, VFP_SET_VLAN, "vlan");
}

static void test_differs_compares_set_fields_only(void **state)
{
    vfp_apply_vf_t d = s_valid();
    vfp_vf_t a = {
        .index = 1,
        .mac = {0x02, 0x50, 0x56, 0, 0, 1},
        .vlan = 100,
        .qos = 3,
        .vlan_proto = VFP_VLAN_PROTO_8021AD,
        .spoofchk = VFP_ON,
        .trust = VFP_OFF,
        .link_state = VFP_LINK_ENABLE,
        .min_tx_rate = 10,
        .max_tx_rate = 100,
    };
    assert_int_equal(vfp_drift_differs(&d, &a), 0);
    a.qos = 2;
    a.trust = VFP_ON;
    a.max_tx_rate = 50;
    assert_int_equal(vfp_drift_differs(&d, &a),
                     VFP_SET_VLAN | VFP_SET_TRUST | VFP_SET_RATE);
    d.set = VFP_SET_MAC;
    assert_int_equal(vfp_drift_differs(&d, &a), 0);
    a.mac[5] = 2;
    assert_int_equal(vfp_drift_differs(&d, &a), VFP_SET_MAC);

    /* A kernel that reports protocol 0 means 802.1Q. */
    d = s_valid();
    d.set = VFP_SET_VLAN;
    d.vlan_proto = VFP_VLAN_PROTO_8021Q;
    a.qos = 3;
    a.vlan_proto = 0;
    assert_int_equal(vfp_drift_differs(&d, &a), 0);
}

static void test_clean_default(void **state)
{
    vfp_apply_vf_t d;
    char why[256];
    static const uint8_t zero[6] = {0};
    vf_writer_clean_default(3, &d);
    assert_int_equal(d.index, 3);
    assert_memory_equal(d.mac, zero, 6);
    assert_int_equal(d.vlan, 0);
    assert_int_equal(d.qos, 0);
    assert_int_equal(d.spoofchk, VFP_ON);
    assert_int_equal(d.trust, VFP_OFF);
    assert_int_equal(d.link_state, VFP_LINK_AUTO);
    assert_int_equal(d.min_tx_rate, 0);
    assert_int_equal(d.max_tx_rate, 0);
    assert_int_equal(d.set & VFP_SET_MTU, 0);
    assert_true(d.set & VFP_SET_MAC);
    assert_int_equal(vf_writer_validate("pf0", &d, why, sizeof(why)), 0);
}

static void test_attr_names(void **state)
{
    assert_string_equal(vfp_drift_attr_name(VFP_SET_MAC), "mac");
    /* PROTOCOL.md 4.7 spells it link_state; the table says link-state. */
    assert_string_equal(vfp_drift_attr_name(VFP_SET_LINK_STATE), "link_state");
    assert_string_equal(vf_print_word(VFP_SET_LINK_STATE), "link-state");
    assert_string_equal(vfp_drift_attr_name(VFP_SET_MTU), "mtu");
    assert_null(vfp_drift_attr_name(VFP_SET_MAC | VFP_SET_VLAN));
}

/* An invalid value stops the whole VF before the kernel sees anything. */
static void test_invalid_apply_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    vfp_apply_vf_t d = s_valid();
    d.vlan = 4095;
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 99;
    assert_int_equal(
        vf_writer_apply_vf(fx->writer, "lo", &d, results, VF_WRITER_ATTRS, &n),
        -1);
    assert_int_equal(n, VF_WRITER_ATTRS);
    assert_int_equal(vf_writer_netlink_writes(fx->writer), 0);
    assert_string_equal(results[0].attribute, "mac");
    assert_int_equal(results[0].err, ECANCELED);
    assert_string_equal(results[1].attribute, "vlan");
    assert_int_equal(results[1].err, EINVAL);
    assert_non_null(strstr(results[1].message, "invalid: vlan: 4095 exceeds"));
    assert_int_equal(results[1].kind, VFP_ITEM_VF);
    assert_int_equal(results[1].index, 1);
    assert_string_equal(results[1].pf, "lo");
    for (size_t i = 2; i < n; i++)
        assert_int_equal(results[i].err, ECANCELED);

    /* Results never overflow the caller's array. */
    assert_int_equal(vf_writer_apply_vf(fx->writer, "lo", &d, results, 2, &n),
                     -1);
    assert_int_equal(n, 2);
}

static void test_unknown_pf_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    vfp_apply_vf_t d = s_valid();
    d = (vfp_apply_vf_t){.index = 1,
                         .set = VFP_SET_MAC | VFP_SET_TRUST,
                         .mac = {0x02, 0x50, 0x56, 0, 0, 1},
                         .trust = VFP_ON};
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 0;
    assert_int_equal(vf_writer_apply_vf(fx->writer, "vfleet-none0", &d, results,
                                        VF_WRITER_ATTRS, &n),
                     -1);
    assert_int_equal(n, 2);
    assert_int_equal(results[0].err, ENODEV);
    assert_int_equal(results[1].err, ENODEV);
    assert_string_equal(results[1].attribute, "trust");
    assert_non_null(strstr(results[0].message, "vfleet-none0"));
    assert_int_equal(vf_writer_netlink_writes(fx->writer), 0);
}

static void test_num_vfs_through_zero(void **state)
{
    fixture_t *fx = *state;
    char path[PATH_MAX];
    vfp_result_t r;
    snprintf(path, sizeof(path), "%s/class/net/pf0/device/sriov_numvfs",
             fx->root);
    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 4, NULL, 0, &r),
                     0);
    assert_int_equal(r.err, 0);
    assert_non_null(strstr(r.message, "unchanged"));
    assert_int_equal(r.kind, VFP_ITEM_NUM_VFS);

    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 2, NULL, 0, &r),
                     0);
    assert_int_equal(r.err, 0);
    assert_int_equal(s_read(path), 2);

    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 0, NULL, 0, &r),
                     0);
    assert_int_equal(s_read(path), 0);
}

static void test_num_vfs_in_use_refused(void **state)
{
    fixture_t *fx = *state;
    char path[PATH_MAX];
    vfp_result_t r;
    snprintf(path, sizeof(path), "%s/class/net/pf0/device/sriov_numvfs",
             fx->root);
    bool in_use[4] = {false, false, false, true};
    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 2, in_use, 4, &r),
                     -1);
    assert_int_equal(r.err, EBUSY);
    assert_non_null(strstr(r.message, "VF 3"));
    assert_int_equal(s_read(path), 4);
    /* A NUM_VFS item carries index 0 on the wire: an index here made the
     * whole APPLY_RESULT fail to encode, so the controller heard nothing. */
    assert_int_equal(r.index, 0);
    vfp_msg_t msg = {.id = VFP_APPLY_RESULT, .version = VFP_VERSION};
    msg.u.apply_result.result_count = 1;
    msg.u.apply_result.results = &r;
    assert_int_equal(vfp_validate(&msg, NULL), 0);

    /* Growing still goes through 0, which would remove VF 0. */
    bool first[1] = {true};
    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 8, first, 1, &r),
                     -1);
    assert_int_equal(r.err, EBUSY);
    assert_non_null(strstr(r.message, "goes through 0"));
    assert_int_equal(s_read(path), 4);

    /* A VF marked in use beyond the current count does not exist. */
    bool beyond[6] = {false, false, false, false, false, true};
    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "pf0", 1, beyond, 6, &r),
                     0);
    assert_int_equal(s_read(path), 1);
}

static void test_num_vfs_no_sriov(void **state)
{
    fixture_t *fx = *state;
    vfp_result_t r;
    assert_int_equal(vf_writer_set_num_vfs(fx->writer, "eth9", 2, NULL, 0, &r),
                     -1);
    assert_int_equal(r.err, ENODEV);
    assert_non_null(strstr(r.message, "eth9"));
}

static void test_hugepages(void **state)
{
    fixture_t *fx = *state;
    char path[PATH_MAX];
    vfp_result_t r;
    snprintf(path, sizeof(path),
             "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", fx->root);
    assert_int_equal(vf_writer_set_hugepages(fx->writer, 2048, 16, &r), 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.kind, VFP_ITEM_HUGEPAGES);
    assert_string_equal(r.attribute, "2048kB");
    assert_int_equal(s_read(path), 16);
    assert_int_equal(vf_writer_set_hugepages(fx->writer, 2048, 16, &r), 0);
    assert_non_null(strstr(r.message, "unchanged"));
    /* Shrinking to a shorter number must leave exactly that number: a
     * recorded tree is a regular file, and without truncation "4" written
     * over "16" read back as 46. */
    assert_int_equal(vf_writer_set_hugepages(fx->writer, 2048, 4, &r), 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(s_read(path), 4);

    assert_int_equal(vf_writer_set_hugepages(fx->writer, 1048576, 1, &r), -1);
    assert_int_equal(r.err, ENOENT);
    assert_string_equal(r.attribute, "1048576kB");
}

/* A scan with PF pf0 (PCI 0000:01:00.0, 4 VFs, VF 2 in use and holding
 * vlan 77) and a PF without a netdev. */
static void s_inventory(vfp_inventory_t *inv, vfp_pf_t pfs[2], vfp_vf_t vfs[4])
{
    memset(inv, 0, sizeof(*inv));
    memset(pfs, 0, 2 * sizeof(*pfs));
    memset(vfs, 0, 4 * sizeof(*vfs));
    for (uint16_t i = 0; i < 4; i++) {
        vfs[i].index = i;
        vfs[i].settings_known = true;
        vfs[i].vlan_proto = VFP_VLAN_PROTO_8021Q;
        vfs[i].spoofchk = VFP_ON;
    }
    vfs[2].in_use = true;
    vfs[2].vlan = 77;
    snprintf(pfs[0].pci_addr, sizeof(pfs[0].pci_addr), "0000:01:00.0");
    snprintf(pfs[0].ifname, sizeof(pfs[0].ifname), "pf0");
    pfs[0].num_vfs = 4;
    pfs[0].vf_count = 4;
    pfs[0].vfs = vfs;
    snprintf(pfs[1].pci_addr, sizeof(pfs[1].pci_addr), "0000:02:00.0");
    inv->pf_count = 2;
    inv->pfs = pfs;
}

static void test_drift_names_vf_and_attribute(void **state)
{
    vfp_inventory_t inv;
    vfp_pf_t pfs[2];
    vfp_vf_t vfs[4];
    s_inventory(&inv, pfs, vfs);
    vfp_apply_vf_t d[2] = {
        {.pf = "0000:01:00.0",
         .index = 2,
         .set = VFP_SET_VLAN | VFP_SET_SPOOFCHK,
         .vlan = 12,
         .vlan_proto = VFP_VLAN_PROTO_8021Q,
         .spoofchk = VFP_ON},
        {.pf = "pf0", .index = 1, .set = VFP_SET_TRUST, .trust = VFP_OFF}};
    vfp_apply_pf_t p[2] = {{.pf = "0000:01:00.0", .num_vfs = 8},
                           {.pf = "0000:09:00.0", .num_vfs = 1}};
    vfp_apply_t apply = {.pf_count = 2, .pfs = p, .vf_count = 2, .vfs = d};
    vfp_drift_t out[8];
    char text[512];
    assert_int_equal(vfp_drift_find(&apply, &inv, out, 8), 3);
    assert_string_equal(out[0].attribute, "num_vfs");
    vf_drift_text(&out[0], text, sizeof(text));
    assert_string_equal(text, "wanted 8 VFs; kernel has 4 VFs");
    assert_string_equal(out[1].attribute, "pf");
    assert_string_equal(out[1].pf, "0000:09:00.0");
    assert_int_equal(out[2].kind, VFP_ITEM_VF);
    assert_int_equal(out[2].index, 2);
    assert_string_equal(out[2].attribute, "vlan");
    vf_drift_text(&out[2], text, sizeof(text));
    assert_string_equal(text,
                        "wanted vlan 12, qos 0, vlan-protocol 802.1Q; kernel "
                        "has vlan 77, qos 0, vlan-protocol 802.1Q");
    char line[512];
    vf_drift_line(&out[2], line, sizeof(line));
    assert_string_equal(line, "pf 0000:01:00.0 vf 2 vlan: wanted vlan 12, qos "
                              "0, vlan-protocol 802.1Q; kernel has vlan 77, "
                              "qos 0, vlan-protocol 802.1Q");
    /* Counting goes on past a full array. */
    assert_int_equal(vfp_drift_find(&apply, &inv, out, 1), 3);

    /* Unreadable settings are unknown, not drift. */
    vfs[2].settings_known = false;
    apply.pf_count = 0;
    assert_int_equal(vfp_drift_find(&apply, &inv, out, 8), 0);
}

static void s_assert_encodes(const vfp_apply_result_t *out)
{
    vfp_msg_t msg = {.id = VFP_APPLY_RESULT, .version = VFP_VERSION};
    msg.u.apply_result = *out;
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    if (vfp_encode(&msg, &data, &size, &err))
        fail_msg("APPLY_RESULT does not encode: %s: %s", err.field, err.text);
    free(data);
}

static void test_apply_message(void **state)
{
    fixture_t *fx = *state;
    vfp_inventory_t inv;
    vfp_pf_t pfs[2];
    vfp_vf_t vfs[4];
    char path[PATH_MAX];
    s_inventory(&inv, pfs, vfs);
    vfp_apply_pf_t p[3] = {{.pf = "0000:01:00.0", .num_vfs = 2},
                           {.pf = "0000:02:00.0", .num_vfs = 2},
                           {.pf = "0000:03:00.0", .num_vfs = 2}};
    vfp_apply_vf_t d[1] = {{.pf = "0000:03:00.0",
                            .index = 0,
                            .set = VFP_SET_MAC | VFP_SET_TRUST,
                            .trust = VFP_ON}};
    vfp_apply_t apply = {.revision = 7,
                         .pf_count = 3,
                         .pfs = p,
                         .vf_count = 1,
                         .vfs = d,
                         .hugepage_count = 1,
                         .hugepages = {{.size_kb = 2048, .pages = 4}}};
    vfp_apply_result_t out = {0};
    assert_int_equal(vf_apply_run(fx->writer, &apply, &inv, &out), -1);
    assert_int_equal(out.revision, 7);
    assert_int_equal(out.result_count, 6);
    /* VF 2 is in use: going 4 -> 2 would remove it. */
    assert_string_equal(out.results[0].pf, "0000:01:00.0");
    assert_int_equal(out.results[0].err, EBUSY);
    assert_int_equal(out.results[1].err, ENODEV);
    assert_non_null(strstr(out.results[1].message, "no netdev"));
    assert_int_equal(out.results[2].err, ENODEV);
    assert_non_null(strstr(out.results[2].message, "no PF 0000:03:00.0"));
    assert_string_equal(out.results[3].attribute, "mac");
    assert_string_equal(out.results[3].pf, "0000:03:00.0");
    assert_int_equal(out.results[3].err, ENODEV);
    assert_string_equal(out.results[4].attribute, "trust");
    assert_string_equal(out.results[5].attribute, "2048kB");
    assert_int_equal(out.results[5].err, 0);
    snprintf(path, sizeof(path),
             "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", fx->root);
    assert_int_equal(s_read(path), 4);
    s_assert_encodes(&out);
    free(out.results);

    /* Without the VF in use the count changes, through 0. */
    vfs[2].in_use = false;
    apply.pf_count = 1;
    apply.vf_count = 0;
    assert_int_equal(vf_apply_run(fx->writer, &apply, &inv, &out), 0);
    assert_int_equal(out.result_count, 2);
    assert_string_equal(out.results[0].pf, "0000:01:00.0");
    snprintf(path, sizeof(path), "%s/class/net/pf0/device/sriov_numvfs",
             fx->root);
    assert_int_equal(s_read(path), 2);
    free(out.results);
}

/* The largest APPLY the codec accepts (every PF, every VF item with every
 * attribute, every pool) yields exactly VFP_RESULTS_MAX results: all of
 * them are reported, none folded, and the answer encodes. */
static void test_maximal_apply_answered(void **state)
{
    fixture_t *fx = *state;
    vfp_inventory_t inv = {0};
    vfp_apply_t apply = {.revision = 9,
                         .pf_count = VFP_PFS_MAX,
                         .vf_count = VFP_APPLY_VFS_MAX,
                         .hugepage_count = VFP_HUGEPAGES_MAX};
    apply.pfs = calloc(VFP_PFS_MAX, sizeof(*apply.pfs));
    apply.vfs = calloc(VFP_APPLY_VFS_MAX, sizeof(*apply.vfs));
    assert_non_null(apply.pfs);
    assert_non_null(apply.vfs);
    for (uint32_t i = 0; i < VFP_PFS_MAX; i++)
        snprintf(apply.pfs[i].pf, sizeof(apply.pfs[i].pf), "0000:%02x:00.0", i);
    for (uint32_t i = 0; i < VFP_APPLY_VFS_MAX; i++) {
        vfp_apply_vf_t *d = &apply.vfs[i];
        *d = s_valid();
        snprintf(d->pf, sizeof(d->pf), "0000:%02x:00.0", i / VFP_VFS_MAX);
        d->index = (uint16_t)(i % VFP_VFS_MAX);
    }
    for (uint32_t i = 0; i < VFP_HUGEPAGES_MAX; i++)
        apply.hugepages[i] = (vfp_apply_hugepages_t){.size_kb = 2048 << i};
    vfp_msg_t in = {.id = VFP_APPLY, .version = VFP_VERSION};
    in.u.apply = apply;
    assert_int_equal(vfp_validate(&in, NULL), 0);

    vfp_apply_result_t out = {0};
    assert_int_equal(vf_apply_run(fx->writer, &apply, &inv, &out), -1);
    uint64_t total = VFP_PFS_MAX +
                     (uint64_t)VFP_APPLY_VFS_MAX * VF_WRITER_ATTRS +
                     VFP_HUGEPAGES_MAX;
    assert_int_equal(total, VFP_RESULTS_MAX);
    assert_int_equal(out.result_count, VFP_RESULTS_MAX);
    for (uint32_t i = 0; i < out.result_count; i++)
        assert_string_not_equal(out.results[i].attribute, "unreported");
    s_assert_encodes(&out);
    free(out.results);
    free(apply.pfs);
    free(apply.vfs);
}

/* More results than VFP_RESULTS_MAX, each with the longest message, still
 * make one APPLY_RESULT that encodes: the overflow, including the item
 * whose slot the fold takes, is counted in a last "unreported" item, and a
 * failure among them is never reported as success. */
static void test_results_fold_past_the_item_limit(void **state)
{
    (void)state;
    vf_apply_results_t sink = {0};
    vfp_result_t r;
    for (uint64_t added = 0; added < VFP_RESULTS_MAX + 5ull; added++) {
        vf_writer_result(&r, VFP_ITEM_VF, "0000:01:00.0", 1, "mac",
                         added == VFP_RESULTS_MAX + 2ull ? EINVAL : 0, "%s",
                         "");
        memset(r.message, 'x', VFP_RESULT_MESSAGE_MAX);
        r.message[VFP_RESULT_MESSAGE_MAX] = '\0';
        vf_apply_results_add(&sink, &r);
    }
    assert_int_equal(sink.unreported, 6);
    assert_int_equal(sink.unreported_failed, 1);
    vfp_apply_result_t out = {.revision = 1};
    vf_apply_results_finish(&sink, &out);
    assert_int_equal(out.result_count, VFP_RESULTS_MAX);
    const vfp_result_t *last = &out.results[out.result_count - 1];
    assert_string_equal(last->attribute, "unreported");
    assert_int_equal(last->err, EMSGSIZE);
    assert_non_null(strstr(last->message, "6 more results"));
    s_assert_encodes(&out);
    free(out.results);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_values_pass),
        cmocka_unit_test(test_invalid_values_named),
        cmocka_unit_test(test_differs_compares_set_fields_only),
        cmocka_unit_test(test_clean_default),
        cmocka_unit_test(test_attr_names),
        cmocka_unit_test_setup_teardown(test_invalid_apply_writes_nothing,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_pf_writes_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_num_vfs_through_zero, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_num_vfs_in_use_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_num_vfs_no_sriov, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_hugepages, s_setup, s_teardown),
        cmocka_unit_test(test_drift_names_vf_and_attribute),
        cmocka_unit_test_setup_teardown(test_apply_message, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_maximal_apply_answered, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_results_fold_past_the_item_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
