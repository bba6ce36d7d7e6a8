/* vf_sim.c - the simulated kernel of a recorded sysfs tree: a state file of
 * VF settings, sriov_numvfs and virtfnN devices, the kernel's answers. */
#define _XOPEN_SOURCE 700
#include "vf_sim.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_text.h"
#include "sysfs_attr.h"
#include "vf_writer.h"

#define S_MTU_MIN 68 /* ETH_MIN_MTU: below it dev_validate_mtu refuses */
#define S_VLAN_MAX 4095
#define S_QOS_MAX 7

struct vf_sim_t {
    char root[PATH_MAX]; /* resolved: VF paths are checked to lie in it */
    uint64_t writes;
};

/* One VF's settings as the state file holds them. */
typedef struct {
    char pf[VFP_NAME_MAX + 1];
    vfp_vf_t vf;
} s_entry_t;

typedef struct {
    s_entry_t *items;
    size_t count;
    size_t cap;
} s_state_t;

static int s_say(char *text, size_t textlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_say(char *text, size_t textlen, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, textlen, fmt, ap);
    va_end(ap);
    return err;
}

vf_sim_t *vf_sim_new(const char *sysfs_root, char *err, size_t errlen)
{
    struct stat st;
    if (!vf_kernel_recorded_tree(sysfs_root)) {
        snprintf(err, errlen,
                 "the simulated kernel needs a recorded sysfs tree "
                 "(--sysfs-root DIR), not this host's /sys");
        return NULL;
    }
    vf_sim_t *self = calloc(1, sizeof(*self));
    assert(self);
    if (!realpath(sysfs_root, self->root) || stat(self->root, &st) ||
        !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "sysfs root %s: %s", sysfs_root,
                 errno ? strerror(errno) : "not a directory");
        free(self);
        return NULL;
    }
    return self;
}

void vf_sim_destroy(vf_sim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

uint64_t vf_sim_writes(const vf_sim_t *self)
{
    return self->writes;
}

/* ---- the state file ---------------------------------------------------- */

/* A new VF: what a driver reports right after creating it. */
static void s_new_vf(uint16_t index, vfp_vf_t *vf)
{
    vfp_apply_vf_t clean;
    vf_writer_clean_default(index, &clean);
    memset(vf, 0, sizeof(*vf));
    vf->index = index;
    vf->iommu_group = -1;
    vf->vlan_proto = clean.vlan_proto;
    vf->spoofchk = clean.spoofchk;
    vf->trust = clean.trust;
    vf->link_state = clean.link_state;
}

static void s_state_free(s_state_t *st)
{
    free(st->items);
    memset(st, 0, sizeof(*st));
}

static s_entry_t *s_state_add(s_state_t *st)
{
    if (st->count == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->items = realloc(st->items, st->cap * sizeof(*st->items));
        assert(st->items);
    }
    s_entry_t *e = &st->items[st->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

/* "vf PF INDEX MAC VLAN QOS PROTO SPOOFCHK TRUST LINK MIN MAX"; 0 or -1. */
static int s_parse_line(const char *line, s_entry_t *e)
{
    unsigned m[6], index, vlan, qos, proto, spoof, trust, link;
    unsigned long min, max;
    char pf[VFP_NAME_MAX + 1], end;
    if (sscanf(line,
               "vf %64s %u %x:%x:%x:%x:%x:%x %u %u %x %u %u %u %lu %lu %c", pf,
               &index, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &vlan, &qos,
               &proto, &spoof, &trust, &link, &min, &max, &end) != 16 ||
        index >= VFP_VFS_MAX || vlan > S_VLAN_MAX || qos > S_QOS_MAX ||
        proto > 0xffff || spoof > 1 || trust > 1 || link > VFP_LINK_DISABLE ||
        min > UINT32_MAX || max > UINT32_MAX)
        return -1;
    for (int i = 0; i < 6; i++)
        if (m[i] > 0xff)
            return -1;
    agent_text_copy(e->pf, sizeof(e->pf), pf);
    s_new_vf((uint16_t)index, &e->vf);
    for (int i = 0; i < 6; i++)
        e->vf.mac[i] = (uint8_t)m[i];
    e->vf.vlan = (uint16_t)vlan;
    e->vf.qos = (uint8_t)qos;
    e->vf.vlan_proto = (uint16_t)proto;
    e->vf.spoofchk = spoof ? VFP_ON : VFP_OFF;
    e->vf.trust = trust ? VFP_ON : VFP_OFF;
    e->vf.link_state = (vfp_link_state_t)link;
    e->vf.min_tx_rate = (uint32_t)min;
    e->vf.max_tx_rate = (uint32_t)max;
    return 0;
}

static void s_state_path(const vf_sim_t *self, const char *name, char *buf,
                         size_t len)
{
    snprintf(buf, len, "%s/%s/%s", self->root, VF_SIM_DIR, name);
}

/* Loads the state file; a missing one is an empty state. 0, or -1 with
 * why. */
static int s_state_load(const vf_sim_t *self, s_state_t *st, char *why,
                        size_t whylen)
{
    char path[PATH_MAX + 32], line[512];
    memset(st, 0, sizeof(*st));
    s_state_path(self, VF_SIM_STATE, path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (!f && errno == ENOENT)
        return 0;
    if (!f) {
        snprintf(why, whylen, "%s/%s: %s", VF_SIM_DIR, VF_SIM_STATE,
                 strerror(errno));
        return -1;
    }
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        s_entry_t e;
        if (s_parse_line(line, &e)) {
            snprintf(why, whylen, "%s/%s line %u: not a VF entry", VF_SIM_DIR,
                     VF_SIM_STATE, lineno);
            rc = -1;
        } else
            *s_state_add(st) = e;
    }
    fclose(f);
    if (rc)
        s_state_free(st);
    return rc;
}

static int s_state_write(FILE *f, const s_state_t *st)
{
    fprintf(f, "# vfleet simulated kernel: pf index mac vlan qos proto "
               "spoofchk trust link_state min_tx_rate max_tx_rate\n");
    for (size_t i = 0; i < st->count; i++) {
        const vfp_vf_t *v = &st->items[i].vf;
        fprintf(f,
                "vf %s %u %02x:%02x:%02x:%02x:%02x:%02x %u %u 0x%04x %u %u "
                "%u %u %u\n",
                st->items[i].pf, v->index, v->mac[0], v->mac[1], v->mac[2],
                v->mac[3], v->mac[4], v->mac[5], v->vlan, v->qos, v->vlan_proto,
                v->spoofchk == VFP_ON, v->trust == VFP_ON,
                (unsigned)v->link_state, v->min_tx_rate, v->max_tx_rate);
    }
    return fflush(f) || ferror(f) || fsync(fileno(f)) ? -1 : 0;
}

/* Saves atomically: a temporary file written and fsync'd, renamed over the
 * state file, the directory fsync'd; a crash leaves the old or the new
 * state, never a mix. Returns 0 or errno. */
static int s_state_save(const vf_sim_t *self, const s_state_t *st)
{
    char dir[PATH_MAX + 32], tmp[PATH_MAX + 32], path[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/%s", self->root, VF_SIM_DIR);
    s_state_path(self, VF_SIM_STATE ".tmp", tmp, sizeof(tmp));
    s_state_path(self, VF_SIM_STATE, path, sizeof(path));
    if (mkdir(dir, 0755) && errno != EEXIST)
        return errno;
    FILE *f = fopen(tmp, "we");
    if (!f)
        return errno;
    int err = s_state_write(f, st) ? (errno ? errno : EIO) : 0;
    if (fclose(f) && !err)
        err = errno;
    if (!err && rename(tmp, path))
        err = errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

/* ---- the tree ----------------------------------------------------------- */

/* The resolved device directory of netdev pf_ifname, and its VF count. 0,
 * or ENODEV/ENOENT with text. */
static int s_pf_device(const vf_sim_t *self, const char *pf_ifname,
                       char *devdir, long *num_vfs, char *text, size_t textlen)
{
    char link[PATH_MAX + 64], why[256];
    snprintf(link, sizeof(link), "%s/class/net/%s/device", self->root,
             pf_ifname);
    if (!realpath(link, devdir))
        return s_say(text, textlen, ENODEV, "no netdev %s in the tree",
                     pf_ifname);
    if (sysfs_attr_read_long(devdir, "sriov_numvfs", 0, UINT16_MAX, num_vfs,
                             why, sizeof(why)))
        return s_say(text, textlen, ENOENT, "%s cannot have VFs: %s", pf_ifname,
                     why);
    return 0;
}

static int s_write_attr(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes dir/name whole, as the kernel answers an attribute: a reader
 * sees the old value or the new one, never an empty or partial file (the
 * agent's discovery reads the tree while its writer process changes it).
 * The value goes to a hidden file beside it, renamed over it. 0 or
 * errno. */
static int s_write_attr(const char *dir, const char *name, const char *fmt, ...)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.new", dir, name);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return errno;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    int err = fclose(f) ? errno : 0;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    return err;
}

/* path relative to the root; NULL when it lies outside it. */
static const char *s_rel(const vf_sim_t *self, const char *path)
{
    size_t n = strlen(self->root);
    if (strncmp(path, self->root, n) || path[n] != '/')
        return NULL;
    return path + n + 1;
}

/* "../" once per component of rel: from the directory rel back to the
 * root, as the kernel's relative links go. */
static void s_ups(const char *rel, char *buf, size_t len)
{
    buf[0] = '\0';
    for (const char *p = rel; p; p = strchr(p + 1, '/'))
        strncat(buf, "../", len - strlen(buf) - 1);
}

static int s_link(const char *target, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Symlink at the path fmt names to target; 0 or errno. */
static int s_link(const char *target, const char *fmt, ...)
{
    char path[PATH_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return symlink(target, path) ? errno : 0;
}

/* The lowest IOMMU group number not in use. */
static long s_free_group(const vf_sim_t *self)
{
    char dir[PATH_MAX + 32], why[128];
    char **names = NULL;
    long next = 0;
    snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups", self->root);
    if (sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why)) > 0)
        for (char **n = names; *n; n++) {
            long g;
            if (agent_text_parse_long(*n, 0, INT32_MAX - 1, &g) == 0 &&
                g >= next)
                next = g + 1;
        }
    sysfs_attr_names_free(&names);
    return next;
}

/* A VF of its own IOMMU group, as an IOMMU in isolating mode gives it. */
static int s_add_group(const vf_sim_t *self, const char *vdir, const char *vbdf)
{
    char gdir[PATH_MAX + 64], ups[PATH_MAX], target[PATH_MAX * 2];
    const char *rel = s_rel(self, vdir);
    long g = s_free_group(self);
    snprintf(gdir, sizeof(gdir), "%s/kernel/iommu_groups/%ld", self->root, g);
    if (mkdir(gdir, 0755) || mkdir(strcat(gdir, "/devices"), 0755))
        return errno;
    s_ups(rel, ups, sizeof(ups));
    snprintf(target, sizeof(target), "%skernel/iommu_groups/%ld", ups, g);
    int err = s_link(target, "%s/iommu_group", vdir);
    snprintf(target, sizeof(target), "../../../../%s", rel);
    return err ? err : s_link(target, "%s/%s", gdir, vbdf);
}

/* Facts of the PF that its VFs are laid out from. */
typedef struct {
    const char *devdir;
    char bdf[32];
    char parent[PATH_MAX];
    unsigned rid;
    long offset, stride;
    unsigned long vendor, vf_device;
    char numa[16];
    int has_group;
} s_pci_pf_t;

/* 0 when devdir is a PCI PF whose VFs can be laid out, else -1. */
static int s_pci_pf(const char *devdir, s_pci_pf_t *pf)
{
    char why[128], copy[PATH_MAX];
    unsigned dom, bus, slot, fn;
    char end;
    memset(pf, 0, sizeof(*pf));
    pf->devdir = devdir;
    agent_text_copy(copy, sizeof(copy), devdir);
    agent_text_copy(pf->bdf, sizeof(pf->bdf), basename(copy));
    agent_text_copy(copy, sizeof(copy), devdir);
    agent_text_copy(pf->parent, sizeof(pf->parent), dirname(copy));
    if (sscanf(pf->bdf, "%4x:%2x:%2x.%1x%c", &dom, &bus, &slot, &fn, &end) !=
            4 ||
        sysfs_attr_read_long(devdir, "sriov_offset", 0, 0xffff, &pf->offset,
                             why, sizeof(why)) ||
        sysfs_attr_read_long(devdir, "sriov_stride", 0, 0xffff, &pf->stride,
                             why, sizeof(why)) ||
        sysfs_attr_read_hex(devdir, "sriov_vf_device", 0xffff, &pf->vf_device,
                            why, sizeof(why)) ||
        sysfs_attr_read_hex(devdir, "vendor", 0xffff, &pf->vendor, why,
                            sizeof(why)))
        return -1;
    pf->rid = bus << 8 | slot << 3 | fn;
    if (sysfs_attr_read_str(devdir, "numa_node", pf->numa, sizeof(pf->numa),
                            why, sizeof(why)))
        agent_text_copy(pf->numa, sizeof(pf->numa), "-1");
    pf->has_group = sysfs_attr_exists(devdir, "iommu_group");
    return 0;
}

/* VF n of pf: its device directory and links. 0 or errno. */
static int s_add_vf(const vf_sim_t *self, const s_pci_pf_t *pf, long n)
{
    char vbdf[32], vdir[PATH_MAX + 64], target[PATH_MAX + 16];
    unsigned dom = (unsigned)strtoul(pf->bdf, NULL, 16);
    unsigned r = pf->rid + (unsigned)(pf->offset + pf->stride * n);
    snprintf(vbdf, sizeof(vbdf), "%04x:%02x:%02x.%u", dom, (r >> 8) & 0xff,
             (r & 0xff) >> 3, r & 7);
    snprintf(vdir, sizeof(vdir), "%s/%s", pf->parent, vbdf);
    const char *rel = s_rel(self, vdir);
    if (!rel)
        return EXDEV;
    if (mkdir(vdir, 0755))
        return errno;
    int err = s_write_attr(vdir, "vendor", "0x%04lx\n", pf->vendor);
    if (!err)
        err = s_write_attr(vdir, "device", "0x%04lx\n", pf->vf_device);
    if (!err)
        err = s_write_attr(vdir, "class", "0x020000\n");
    if (!err)
        err = s_write_attr(vdir, "numa_node", "%s\n", pf->numa);
    if (!err)
        err = s_write_attr(vdir, "driver_override", "(null)\n");
    snprintf(target, sizeof(target), "../../../%s", rel);
    if (!err)
        err = s_link(target, "%s/bus/pci/devices/%s", self->root, vbdf);
    snprintf(target, sizeof(target), "../%s", vbdf);
    if (!err)
        err = s_link(target, "%s/virtfn%ld", pf->devdir, n);
    snprintf(target, sizeof(target), "../%s", pf->bdf);
    if (!err)
        err = s_link(target, "%s/physfn", vdir);
    if (!err && pf->has_group)
        err = s_add_group(self, vdir, vbdf);
    return err;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes link dir/name/<vbdf>, where dir/name resolves (a VF's driver or
 * IOMMU group), and the group itself when it is left empty. */
static void s_unlink_back(const char *vdir, const char *name, const char *sub,
                          const char *vbdf)
{
    char link[PATH_MAX + 32], target[PATH_MAX], path[PATH_MAX + 64];
    snprintf(link, sizeof(link), "%s/%s", vdir, name);
    if (!realpath(link, target))
        return;
    snprintf(path, sizeof(path), "%s%s/%s", target, sub, vbdf);
    unlink(path);
    if (sub[0]) {
        snprintf(path, sizeof(path), "%s%s", target, sub);
        if (rmdir(path) == 0)
            rmdir(target);
    }
}

/* Removes VF n of the PF at devdir with everything that names it. */
static void s_remove_vf(const vf_sim_t *self, const char *devdir, long n)
{
    char link[PATH_MAX + 32], vdir[PATH_MAX], copy[PATH_MAX],
        path[PATH_MAX + 64];
    snprintf(link, sizeof(link), "%s/virtfn%ld", devdir, n);
    if (realpath(link, vdir) && s_rel(self, vdir)) {
        agent_text_copy(copy, sizeof(copy), vdir);
        const char *vbdf = basename(copy);
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", self->root, vbdf);
        unlink(path);
        s_unlink_back(vdir, "iommu_group", "/devices", vbdf);
        s_unlink_back(vdir, "driver", "", vbdf);
        char netdir[PATH_MAX + 8], **names = NULL, why[64];
        snprintf(netdir, sizeof(netdir), "%s/net", vdir);
        if (sysfs_attr_dir_list(netdir, NULL, &names, why, sizeof(why)) > 0)
            for (char **nd = names; *nd; nd++) {
                snprintf(path, sizeof(path), "%s/class/net/%s", self->root,
                         *nd);
                unlink(path);
            }
        sysfs_attr_names_free(&names);
        nftw(vdir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    unlink(link);
}

/* ---- the kernel's answers ----------------------------------------------- */

/* The VF-count limit of the PF at devdir: sriov_totalvfs (ERANGE past it,
 * pci_sriov's answer), else a netdevsim device's debugfs max_vfs (ENOMEM,
 * netdevsim's). 0 when count is within it, else the errno with text. */
static int s_check_limit(const vf_sim_t *self, const char *devdir, long count,
                         char *text, size_t textlen)
{
    char why[128], dbg[PATH_MAX + 64], copy[PATH_MAX];
    long limit;
    if (sysfs_attr_read_long(devdir, "sriov_totalvfs", 0, UINT16_MAX, &limit,
                             why, sizeof(why)) == 0)
        return count > limit
                   ? s_say(text, textlen, ERANGE,
                           "%ld VFs exceed sriov_totalvfs %ld", count, limit)
                   : 0;
    agent_text_copy(copy, sizeof(copy), devdir);
    snprintf(dbg, sizeof(dbg), "%s/kernel/debug/netdevsim/%s", self->root,
             basename(copy));
    if (sysfs_attr_read_long(dbg, "max_vfs", 0, UINT16_MAX, &limit, why,
                             sizeof(why)) == 0 &&
        count > limit)
        return s_say(text, textlen, ENOMEM, "%ld VFs exceed max_vfs %ld", count,
                     limit);
    return 0;
}

/* Drops the state of pf_ifname's VFs: a VF that is removed and made again
 * starts as new. 0 or errno. */
static int s_forget_pf(const vf_sim_t *self, const char *pf_ifname)
{
    s_state_t st;
    char why[128];
    if (s_state_load(self, &st, why, sizeof(why)))
        return EIO;
    size_t kept = 0;
    for (size_t i = 0; i < st.count; i++)
        if (strcmp(st.items[i].pf, pf_ifname))
            st.items[kept++] = st.items[i];
    int err = 0;
    if (kept != st.count) {
        st.count = kept;
        err = s_state_save(self, &st);
    }
    s_state_free(&st);
    return err;
}

/* Makes or removes VFs between `from` and `to` (one of them 0). */
static int s_change_vfs(vf_sim_t *self, const char *pf_ifname,
                        const char *devdir, long from, long to)
{
    s_pci_pf_t pci;
    int err = 0;
    if (to == 0) {
        for (long n = 0; n < from; n++)
            s_remove_vf(self, devdir, n);
        err = s_forget_pf(self, pf_ifname);
    } else if (s_pci_pf(devdir, &pci) == 0)
        for (long n = 0; n < to && !err; n++)
            err = s_add_vf(self, &pci, n);
    return err ? err : s_write_attr(devdir, "sriov_numvfs", "%ld\n", to);
}

int vf_sim_set_num_vfs(vf_sim_t *self, const char *pf_ifname, long count,
                       char *text, size_t textlen)
{
    char devdir[PATH_MAX];
    long current;
    text[0] = '\0';
    int err = s_pf_device(self, pf_ifname, devdir, &current, text, textlen);
    if (err)
        return err;
    if (count < 0 || count > UINT16_MAX)
        return s_say(text, textlen, EINVAL, "%ld is not a VF count", count);
    if ((err = s_check_limit(self, devdir, count, text, textlen)))
        return err;
    if (count == current)
        return 0;
    if (current && count)
        return s_say(text, textlen, EBUSY,
                     "%ld VFs already enabled. Disable before enabling %ld "
                     "VFs",
                     current, count);
    err = s_change_vfs(self, pf_ifname, devdir, current, count);
    if (err)
        return s_say(text, textlen, err, "simulated kernel: %s", strerror(err));
    self->writes++;
    return 0;
}

/* The kernel's answer to one attribute's value, before anything changes:
 * rtnetlink's and the drivers' checks (netdevsim, ixgbe, mlx5). */
static int s_check_value(uint16_t bit, const vfp_apply_vf_t *d, char *text,
                         size_t textlen)
{
    switch (bit) {
    case VFP_SET_MAC:
        return d->mac[0] & 1 ? s_say(text, textlen, EINVAL,
                                     "multicast MAC not allowed on a VF")
                             : 0;
    case VFP_SET_VLAN:
        if (d->vlan > S_VLAN_MAX || d->qos > S_QOS_MAX)
            return s_say(text, textlen, EINVAL, "vlan %u qos %u out of range",
                         d->vlan, d->qos);
        return d->vlan_proto && d->vlan_proto != VFP_VLAN_PROTO_8021Q &&
                       d->vlan_proto != VFP_VLAN_PROTO_8021AD
                   ? s_say(text, textlen, EPROTONOSUPPORT,
                           "VLAN protocol 0x%04x not supported", d->vlan_proto)
                   : 0;
    case VFP_SET_LINK_STATE:
        return (unsigned)d->link_state > VFP_LINK_DISABLE
                   ? s_say(text, textlen, EINVAL, "unknown link state %u",
                           (unsigned)d->link_state)
                   : 0;
    case VFP_SET_RATE:
        return d->max_tx_rate && d->min_tx_rate > d->max_tx_rate
                   ? s_say(text, textlen, EINVAL,
                           "min_tx_rate %u exceeds max_tx_rate %u",
                           d->min_tx_rate, d->max_tx_rate)
                   : 0;
    case VFP_SET_SPOOFCHK:
    case VFP_SET_TRUST:
        return 0;
    default:
        return s_say(text, textlen, EOPNOTSUPP, "not a VF attribute");
    }
}

/* Copies the value of one attribute from d into vf. */
static void s_assign(vfp_vf_t *vf, uint16_t bit, const vfp_apply_vf_t *d)
{
    if (bit == VFP_SET_MAC)
        memcpy(vf->mac, d->mac, sizeof(vf->mac));
    else if (bit == VFP_SET_VLAN) {
        vf->vlan = d->vlan;
        vf->qos = d->qos;
        /* 0 is 802.1Q, as rtnetlink's IFLA_VF_VLAN sets it. */
        vf->vlan_proto = d->vlan_proto ? d->vlan_proto : VFP_VLAN_PROTO_8021Q;
    } else if (bit == VFP_SET_SPOOFCHK)
        vf->spoofchk = d->spoofchk == VFP_ON ? VFP_ON : VFP_OFF;
    else if (bit == VFP_SET_TRUST)
        vf->trust = d->trust == VFP_ON ? VFP_ON : VFP_OFF;
    else if (bit == VFP_SET_LINK_STATE)
        vf->link_state = d->link_state;
    else if (bit == VFP_SET_RATE) {
        vf->min_tx_rate = d->min_tx_rate;
        vf->max_tx_rate = d->max_tx_rate;
    }
}

static s_entry_t *s_find(s_state_t *st, const char *pf, uint16_t index)
{
    for (size_t i = 0; i < st->count; i++)
        if (!strcmp(st->items[i].pf, pf) && st->items[i].vf.index == index)
            return &st->items[i];
    return NULL;
}

int vf_sim_set_vf_attr(vf_sim_t *self, const char *pf_ifname, uint16_t bit,
                       const vfp_apply_vf_t *d, char *text, size_t textlen)
{
    char devdir[PATH_MAX];
    long num_vfs;
    text[0] = '\0';
    int err = s_pf_device(self, pf_ifname, devdir, &num_vfs, text, textlen);
    if (err)
        return err;
    if (d->index >= num_vfs)
        return s_say(text, textlen, EINVAL, "VF %u out of range: %ld VFs",
                     d->index, num_vfs);
    if ((err = s_check_value(bit, d, text, textlen)))
        return err;
    s_state_t st;
    if (s_state_load(self, &st, text, textlen))
        return EIO;
    s_entry_t *e = s_find(&st, pf_ifname, d->index);
    if (!e) {
        e = s_state_add(&st);
        agent_text_copy(e->pf, sizeof(e->pf), pf_ifname);
        s_new_vf(d->index, &e->vf);
    }
    s_assign(&e->vf, bit, d);
    err = s_state_save(self, &st);
    s_state_free(&st);
    if (err)
        return s_say(text, textlen, err, "simulated kernel: state file: %s",
                     strerror(err));
    self->writes++;
    return 0;
}

int vf_sim_read_vfs(vf_sim_t *self, vfp_pf_t *pf, char *why, size_t whylen)
{
    char devdir[PATH_MAX];
    long num_vfs;
    s_state_t st;
    if (s_pf_device(self, pf->ifname, devdir, &num_vfs, why, whylen) ||
        s_state_load(self, &st, why, whylen))
        return -1;
    if ((uint32_t)num_vfs != pf->vf_count)
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "the kernel reports %ld VFs on %s, sysfs %u",
                               num_vfs, pf->ifname, pf->vf_count);
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        vfp_vf_t *vf = &pf->vfs[i];
        if (vf->index >= num_vfs) {
            agent_text_note_append(vf->note, sizeof(vf->note),
                                   "settings unknown: the kernel did not "
                                   "describe vf %u",
                                   vf->index);
            continue;
        }
        vfp_vf_t now;
        const s_entry_t *e = s_find(&st, pf->ifname, vf->index);
        if (e)
            now = e->vf;
        else
            s_new_vf(vf->index, &now);
        memcpy(vf->mac, now.mac, sizeof(vf->mac));
        vf->vlan = now.vlan;
        vf->qos = now.qos;
        vf->vlan_proto = now.vlan_proto;
        vf->spoofchk = now.spoofchk;
        vf->trust = now.trust;
        vf->link_state = now.link_state;
        vf->min_tx_rate = now.min_tx_rate;
        vf->max_tx_rate = now.max_tx_rate;
        vf->settings_known = true;
    }
    s_state_free(&st);
    return 0;
}

int vf_sim_set_mtu(vf_sim_t *self, const char *ifname, uint16_t mtu, char *text,
                   size_t textlen)
{
    char dir[PATH_MAX + 64];
    long now;
    text[0] = '\0';
    snprintf(dir, sizeof(dir), "%s/class/net/%s", self->root, ifname);
    if (!sysfs_attr_exists(dir, "."))
        return s_say(text, textlen, ENODEV, "no netdev %s in the tree", ifname);
    if (mtu < S_MTU_MIN)
        return s_say(text, textlen, EINVAL, "mtu less than device minimum");
    if (sysfs_attr_read_long(dir, "mtu", 0, UINT16_MAX, &now, text, textlen) ==
            0 &&
        now == mtu)
        return 0;
    int err = s_write_attr(dir, "mtu", "%u\n", mtu);
    if (err)
        return s_say(text, textlen, err, "simulated kernel: %s", strerror(err));
    self->writes++;
    return 0;
}

int vf_sim_set_hugepages(vf_sim_t *self, const char *path, long pages,
                         char *text, size_t textlen)
{
    char dir[PATH_MAX], copy[PATH_MAX], why[128];
    long before, free_pages = 0;
    text[0] = '\0';
    agent_text_copy(copy, sizeof(copy), path);
    if (!realpath(dirname(copy), dir) || !s_rel(self, dir) ||
        sysfs_attr_read_long(dir, "nr_hugepages", 0, LONG_MAX, &before, why,
                             sizeof(why)))
        return s_say(text, textlen, ENOENT, "no such hugepage pool");
    if (pages < 0)
        return s_say(text, textlen, EINVAL, "%ld is not a page count", pages);
    if (pages == before)
        return 0;
    sysfs_attr_read_long(dir, "free_hugepages", 0, LONG_MAX, &free_pages, why,
                         sizeof(why));
    free_pages += pages - before;
    int err = s_write_attr(dir, "nr_hugepages", "%ld\n", pages);
    if (!err)
        err = s_write_attr(dir, "free_hugepages", "%ld\n",
                           free_pages > 0 ? free_pages : 0);
    if (err)
        return s_say(text, textlen, err, "simulated kernel: %s", strerror(err));
    self->writes++;
    return 0;
}

/* ---- the writer backend ------------------------------------------------- */

static int s_op_read_vfs(void *ctx, vfp_pf_t *pf, char *why, size_t whylen)
{
    return vf_sim_read_vfs(ctx, pf, why, whylen);
}

static int s_op_find_link(void *ctx, const char *ifname)
{
    const vf_sim_t *self = ctx;
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/class/net/%s", self->root, ifname);
    return sysfs_attr_exists(dir, ".") ? 0 : ENODEV;
}

static int s_op_set_vf_attr(void *ctx, const char *pf_ifname, uint16_t bit,
                            const vfp_apply_vf_t *d, char *text, size_t textlen)
{
    return vf_sim_set_vf_attr(ctx, pf_ifname, bit, d, text, textlen);
}

static int s_op_set_mtu(void *ctx, const char *ifname, uint16_t mtu, char *text,
                        size_t textlen)
{
    return vf_sim_set_mtu(ctx, ifname, mtu, text, textlen);
}

static int s_op_write_num_vfs(void *ctx, const char *pf_ifname,
                              const char *path, long count, char *text,
                              size_t textlen)
{
    (void)path;
    return vf_sim_set_num_vfs(ctx, pf_ifname, count, text, textlen);
}

static int s_op_write_hugepages(void *ctx, const char *path, long pages,
                                char *text, size_t textlen)
{
    return vf_sim_set_hugepages(ctx, path, pages, text, textlen);
}

const vf_kernel_ops_t vf_sim_ops = {
    .read_vfs = s_op_read_vfs,
    .find_link = s_op_find_link,
    .set_vf_attr = s_op_set_vf_attr,
    .set_mtu = s_op_set_mtu,
    .write_num_vfs = s_op_write_num_vfs,
    .write_hugepages = s_op_write_hugepages,
};
