/* vf_writer_tool.c - drives the agent's VF writer from a shell, so kernel
 * tests (netdevsim in a guest, veth in a namespace) can call it and check
 * the kernel with iproute2 next to it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired_state.h"
#include "discover.h"
#include "output.h"
#include "vf_apply.h"
#include "vf_drift.h"
#include "vf_print.h"
#include "vf_writer.h"
#include "vfp.h"

/* Exit codes: every result ok; some result failed; bad usage. */
enum { TOOL_OK = 0, TOOL_FAILED = 1, TOOL_USAGE = 2 };

static void s_usage(FILE *out)
{
    fputs("usage: vf_writer_tool [--sysfs DIR] COMMAND ...\n"
          "  show PF                    every VF as the kernel reports it\n"
          "  apply PF VF [ATTR VALUE]...\n"
          "                             apply; ATTR is mac, vlan, qos, "
          "proto\n"
          "                             (802.1Q|802.1ad), spoofchk, trust "
          "(on|off),\n"
          "                             state (auto|enable|disable), "
          "min_tx_rate,\n"
          "                             max_tx_rate (Mbit/s), mtu\n"
          "  reset PF VF                apply the clean default\n"
          "  drift PF VF [ATTR VALUE]...\n"
          "                             scan the host; print the attributes "
          "whose\n"
          "                             kernel value differs\n"
          "  numvfs PF N [INUSE,...]    set the VF count; INUSE lists VFs in "
          "use\n"
          "  message PF N VF [ATTR VALUE]...\n"
          "                             one APPLY message: PF by PCI address, "
          "bus id\n"
          "                             or ifname; N VFs, then VF's "
          "settings\n"
          "  store DIR PF N VF [ATTR VALUE]...\n"
          "                             store that APPLY message as the "
          "agent's\n"
          "                             desired state in DIR (the agent's "
          "code);\n"
          "                             nothing is applied\n"
          "  hugepages SIZE_KB PAGES    set a hugepage pool\n"
          "Results print as: result PF VF ATTR ERRNO MESSAGE; apply and reset\n"
          "end with: netlink-writes N\n",
          out);
}

static int s_number(const char *text, unsigned long max, unsigned long *value)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (errno || end == text || *end || text[0] == '-' || v > max)
        return -1;
    *value = v;
    return 0;
}

static int s_flag(const char *text, vfp_flag_t *flag)
{
    if (!strcmp(text, "on"))
        *flag = VFP_ON;
    else if (!strcmp(text, "off"))
        *flag = VFP_OFF;
    else
        return -1;
    return 0;
}

/* Parses ATTR VALUE pairs into d. Values outside what the protocol model
 * can hold are refused here; values the model holds but the kernel must
 * not see (VLAN 4095, QoS 8, a multicast MAC) pass on to the writer. */
static int s_parse_attrs(int argc, char **argv, vfp_apply_vf_t *d)
{
    unsigned long v = 0;
    for (int i = 0; i < argc; i += 2) {
        const char *key = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "vf_writer_tool: %s needs a value\n", key);
            return -1;
        }
        int bad = 0;
        if (!strcmp(key, "mac")) {
            bad = vfp_mac_parse(val, d->mac);
            d->set |= VFP_SET_MAC;
        } else if (!strcmp(key, "vlan")) {
            bad = s_number(val, UINT16_MAX, &v);
            d->vlan = (uint16_t)v;
            d->set |= VFP_SET_VLAN;
        } else if (!strcmp(key, "qos")) {
            bad = s_number(val, UINT8_MAX, &v);
            d->qos = (uint8_t)v;
            d->set |= VFP_SET_VLAN;
        } else if (!strcmp(key, "proto")) {
            if (!strcmp(val, "802.1Q"))
                d->vlan_proto = VFP_VLAN_PROTO_8021Q;
            else if (!strcmp(val, "802.1ad"))
                d->vlan_proto = VFP_VLAN_PROTO_8021AD;
            else
                bad = s_number(val, UINT16_MAX, &v) ||
                      !(d->vlan_proto = (uint16_t)v);
            d->set |= VFP_SET_VLAN;
        } else if (!strcmp(key, "spoofchk")) {
            bad = s_flag(val, &d->spoofchk);
            d->set |= VFP_SET_SPOOFCHK;
        } else if (!strcmp(key, "trust")) {
            bad = s_flag(val, &d->trust);
            d->set |= VFP_SET_TRUST;
        } else if (!strcmp(key, "state")) {
            if (!strcmp(val, "auto"))
                d->link_state = VFP_LINK_AUTO;
            else if (!strcmp(val, "enable"))
                d->link_state = VFP_LINK_ENABLE;
            else if (!strcmp(val, "disable"))
                d->link_state = VFP_LINK_DISABLE;
            else
                bad = 1;
            d->set |= VFP_SET_LINK_STATE;
        } else if (!strcmp(key, "min_tx_rate")) {
            bad = s_number(val, UINT32_MAX, &v);
            d->min_tx_rate = (uint32_t)v;
            d->set |= VFP_SET_RATE;
        } else if (!strcmp(key, "max_tx_rate")) {
            bad = s_number(val, UINT32_MAX, &v);
            d->max_tx_rate = (uint32_t)v;
            d->set |= VFP_SET_RATE;
        } else if (!strcmp(key, "mtu")) {
            bad = s_number(val, UINT16_MAX, &v);
            d->mtu = (uint16_t)v;
            d->set |= VFP_SET_MTU;
        } else {
            fprintf(stderr, "vf_writer_tool: unknown attribute '%s'\n", key);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "vf_writer_tool: %s: bad value '%s'\n", key, val);
            return -1;
        }
    }
    return 0;
}

static void s_print_result(const vfp_result_t *r)
{
    printf("result %s %u %s %d %s\n", r->pf[0] ? r->pf : "-", r->index,
           r->attribute, r->err, r->message);
}

/* The agent's own printer, so the kernel tests check the words operators
 * read in the agent's table. */
static void s_print_vf(const vfp_vf_t *vf)
{
    output_t *out = output_new(stdout, false);
    output_text(out, "vf %u ", vf->index);
    vf_print_settings(out, vf, VF_PRINT_SETTINGS);
    output_text(out, "\n");
    output_destroy(&out);
}

static int s_show(vf_writer_t *writer, const char *pf)
{
    vfp_vf_t *vfs = NULL;
    uint32_t count = 0;
    char err[512];
    if (vf_writer_read(writer, pf, &vfs, &count, err, sizeof(err))) {
        fprintf(stderr, "vf_writer_tool: %s\n", err);
        return TOOL_FAILED;
    }
    for (uint32_t i = 0; i < count; i++)
        s_print_vf(&vfs[i]);
    free(vfs);
    return TOOL_OK;
}

static int s_apply(vf_writer_t *writer, const char *pf, const vfp_apply_vf_t *d)
{
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 0;
    uint64_t before = vf_writer_netlink_writes(writer);
    int rc = vf_writer_apply_vf(writer, pf, d, results, VF_WRITER_ATTRS, &n);
    for (size_t i = 0; i < n; i++)
        s_print_result(&results[i]);
    printf("netlink-writes %llu\n",
           (unsigned long long)(vf_writer_netlink_writes(writer) - before));
    return rc == 0 ? TOOL_OK : TOOL_FAILED;
}

/* What the agent's scan sees: discovery, then the comparison with what
 * the arguments ask for. */
static int s_drift(const char *sysfs, const char *pf, vfp_apply_vf_t *d)
{
    discover_opts_t opts = {.sysfs_root = sysfs};
    vfp_inventory_t inv = {0};
    char err[512];
    if (discover_host(&opts, &inv, NULL, err, sizeof(err))) {
        fprintf(stderr, "vf_writer_tool: discovery: %s\n", err);
        return TOOL_FAILED;
    }
    snprintf(d->pf, sizeof(d->pf), "%s", pf);
    vfp_apply_t apply = {.vf_count = 1, .vfs = d};
    vfp_drift_t drift[VF_WRITER_ATTRS];
    size_t n = vfp_drift_find(&apply, &inv, drift, VF_WRITER_ATTRS);
    for (size_t i = 0; i < n && i < VF_WRITER_ATTRS; i++) {
        char text[512];
        vf_drift_text(&drift[i], text, sizeof(text));
        printf("drift %s %u %s: %s\n", drift[i].pf, drift[i].index,
               drift[i].attribute, text);
    }
    discover_inventory_clear(&inv);
    return TOOL_OK;
}

/* One APPLY message, as the controller would send it: PF by PCI address,
 * bus id or ifname, resolved through a discovery scan. */
static int s_message(vf_writer_t *writer, const char *sysfs, const char *pf,
                     const char *count, vfp_apply_vf_t *d)
{
    unsigned long n;
    if (s_number(count, UINT16_MAX, &n)) {
        fprintf(stderr, "vf_writer_tool: bad VF count '%s'\n", count);
        return TOOL_USAGE;
    }
    discover_opts_t opts = {.sysfs_root = sysfs};
    vfp_inventory_t inv = {0};
    char err[512];
    if (discover_host(&opts, &inv, NULL, err, sizeof(err))) {
        fprintf(stderr, "vf_writer_tool: discovery: %s\n", err);
        return TOOL_FAILED;
    }
    vfp_apply_pf_t apf = {.num_vfs = (uint16_t)n};
    snprintf(apf.pf, sizeof(apf.pf), "%s", pf);
    snprintf(d->pf, sizeof(d->pf), "%s", pf);
    vfp_apply_t apply = {
        .revision = 1, .pf_count = 1, .pfs = &apf, .vf_count = 1, .vfs = d};
    vfp_apply_result_t out = {0};
    int rc = vf_apply_run(writer, &apply, &inv, &out);
    for (uint32_t i = 0; i < out.result_count; i++)
        s_print_result(&out.results[i]);
    free(out.results);
    discover_inventory_clear(&inv);
    return rc == 0 ? TOOL_OK : TOOL_FAILED;
}

/* The same message stored where vfleet-agent --state-dir DIR keeps its
 * desired state, through the agent's own code. */
static int s_store(const char *dir, const char *pf, const char *count,
                   vfp_apply_vf_t *d)
{
    unsigned long n;
    char err[512];
    if (s_number(count, UINT16_MAX, &n)) {
        fprintf(stderr, "vf_writer_tool: bad VF count '%s'\n", count);
        return TOOL_USAGE;
    }
    vfp_apply_pf_t apf = {.num_vfs = (uint16_t)n};
    snprintf(apf.pf, sizeof(apf.pf), "%s", pf);
    snprintf(d->pf, sizeof(d->pf), "%s", pf);
    /* The writer takes 0 as 802.1Q; the wire names the protocol. */
    if ((d->set & VFP_SET_VLAN) && !d->vlan_proto)
        d->vlan_proto = VFP_VLAN_PROTO_8021Q;
    vfp_apply_t apply = {
        .revision = 1, .pf_count = 1, .pfs = &apf, .vf_count = 1, .vfs = d};
    if (desired_state_dir_init(dir, err, sizeof(err)) ||
        desired_state_save(dir, &apply, err, sizeof(err))) {
        fprintf(stderr, "vf_writer_tool: %s\n", err);
        return TOOL_FAILED;
    }
    printf("stored %s/%s\n", dir, DESIRED_STATE_FILE);
    return TOOL_OK;
}

static int s_numvfs(vf_writer_t *writer, const char *pf, const char *count,
                    const char *in_use_list)
{
    unsigned long n, index;
    bool in_use[VFP_VFS_MAX] = {false};
    size_t in_use_len = 0;
    if (s_number(count, UINT16_MAX, &n)) {
        fprintf(stderr, "vf_writer_tool: bad VF count '%s'\n", count);
        return TOOL_USAGE;
    }
    if (in_use_list) {
        char *copy = strdup(in_use_list);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            if (s_number(tok, VFP_VFS_MAX - 1, &index)) {
                fprintf(stderr, "vf_writer_tool: bad VF index '%s'\n", tok);
                free(copy);
                return TOOL_USAGE;
            }
            in_use[index] = true;
            if (index + 1 > in_use_len)
                in_use_len = index + 1;
        }
        free(copy);
    }
    vfp_result_t result;
    int rc = vf_writer_set_num_vfs(writer, pf, (uint16_t)n, in_use, in_use_len,
                                   &result);
    s_print_result(&result);
    return rc == 0 ? TOOL_OK : TOOL_FAILED;
}

static int s_hugepages(vf_writer_t *writer, const char *size, const char *pages)
{
    unsigned long size_kb, count;
    if (s_number(size, UINT32_MAX, &size_kb) ||
        s_number(pages, UINT32_MAX, &count)) {
        fprintf(stderr, "vf_writer_tool: bad hugepage size or count\n");
        return TOOL_USAGE;
    }
    vfp_result_t result;
    int rc = vf_writer_set_hugepages(writer, (uint32_t)size_kb, count, &result);
    s_print_result(&result);
    return rc == 0 ? TOOL_OK : TOOL_FAILED;
}

/* Parses "PF VF [ATTR VALUE]..." into *d; argv[0] is the PF. */
static int s_parse_vf(int argc, char **argv, vfp_apply_vf_t *d)
{
    unsigned long index;
    memset(d, 0, sizeof(*d));
    if (argc < 2 || s_number(argv[1], UINT16_MAX, &index)) {
        fprintf(stderr, "vf_writer_tool: expected PF and VF index\n");
        return -1;
    }
    d->index = (uint16_t)index;
    return s_parse_attrs(argc - 2, argv + 2, d);
}

static int s_run(vf_writer_t *writer, const char *sysfs, int argc, char **argv)
{
    const char *cmd = argv[0];
    vfp_apply_vf_t d;
    if (!strcmp(cmd, "show") && argc == 2)
        return s_show(writer, argv[1]);
    if (!strcmp(cmd, "apply") || !strcmp(cmd, "drift")) {
        if (s_parse_vf(argc - 1, argv + 1, &d))
            return TOOL_USAGE;
        return cmd[0] == 'a' ? s_apply(writer, argv[1], &d)
                             : s_drift(sysfs, argv[1], &d);
    }
    if (!strcmp(cmd, "message") && argc >= 4) {
        /* "PF N VF [ATTR VALUE]...": the shared parser reads the VF index
         * and attributes after the slot it would give the PF, here N. */
        if (s_parse_vf(argc - 2, argv + 2, &d))
            return TOOL_USAGE;
        return s_message(writer, sysfs, argv[1], argv[2], &d);
    }
    if (!strcmp(cmd, "store") && argc >= 5) {
        if (s_parse_vf(argc - 3, argv + 3, &d))
            return TOOL_USAGE;
        return s_store(argv[1], argv[2], argv[3], &d);
    }
    if (!strcmp(cmd, "reset") && argc == 3) {
        if (s_parse_vf(argc - 1, argv + 1, &d))
            return TOOL_USAGE;
        vf_writer_clean_default(d.index, &d);
        return s_apply(writer, argv[1], &d);
    }
    if (!strcmp(cmd, "numvfs") && (argc == 3 || argc == 4))
        return s_numvfs(writer, argv[1], argv[2], argc == 4 ? argv[3] : NULL);
    if (!strcmp(cmd, "hugepages") && argc == 3)
        return s_hugepages(writer, argv[1], argv[2]);
    s_usage(stderr);
    return TOOL_USAGE;
}

int main(int argc, char **argv)
{
    const char *sysfs = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "--sysfs")) {
        sysfs = argv[i + 1];
        i += 2;
    }
    if (i >= argc || !strcmp(argv[i], "--help")) {
        s_usage(i >= argc ? stderr : stdout);
        return i >= argc ? TOOL_USAGE : TOOL_OK;
    }
    char err[256];
    vf_writer_t *writer = vf_writer_new(sysfs, err, sizeof(err));
    if (!writer) {
        fprintf(stderr, "vf_writer_tool: %s\n", err);
        return TOOL_FAILED;
    }
    int rc = s_run(writer, sysfs, argc - i, argv + i);
    vf_writer_destroy(&writer);
    return rc;
}
