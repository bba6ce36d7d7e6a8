/* discover.c - SR-IOV PFs and their VFs from sysfs, VF settings via netlink. */
#include "discover.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_text.h"
#include "discover_internal.h"
#include "sysfs_attr.h"
#include "vf_reader.h"
#include "vf_sim.h"

#define IFF_UP_BIT 0x1 /* IFF_UP in a netdev's "flags" attribute */

typedef struct {
    const char *sysfs;
    const char *debugfs;
    bool netlink;
    struct nl_sock *nl;
    vf_sim_t *sim; /* --kernel sim: the VF settings' source */
    uint32_t cap;  /* allocated entries of inv->pfs */
    vfp_inventory_t *inv;
    discover_warnings_t *warnings;
} s_scan_t;

void discover_warn(discover_warnings_t *warnings, const char *fmt, ...)
{
    if (!warnings || warnings->count >= DISCOVER_WARNINGS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(warnings->text[warnings->count], sizeof(warnings->text[0]), fmt,
              ap);
    va_end(ap);
    warnings->count++;
}

void discover_inventory_clear(vfp_inventory_t *inv)
{
    vfp_inventory_clear(inv);
}

vfp_pf_t *discover_find_pf(const vfp_inventory_t *inv, const char *name)
{
    for (uint32_t i = 0; i < inv->pf_count; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        if (!strcmp(pf->pci_addr, name) ||
            (pf->ifname[0] && !strcmp(pf->ifname, name)))
            return pf;
    }
    return NULL;
}

static vfp_pf_t *s_pf_add(s_scan_t *scan)
{
    vfp_inventory_t *inv = scan->inv;
    if (inv->pf_count >= VFP_PFS_MAX)
        return NULL;
    if (inv->pf_count == scan->cap) {
        scan->cap = scan->cap ? scan->cap * 2 : 8;
        inv->pfs = realloc(inv->pfs, scan->cap * sizeof(*inv->pfs));
        assert(inv->pfs);
    }
    vfp_pf_t *pf = &inv->pfs[inv->pf_count++];
    memset(pf, 0, sizeof(*pf));
    pf->numa_node = -1;
    return pf;
}

/* The PF's netdevs: the first (by name) becomes pf->ifname, the rest are
 * named in the note (mlx4 puts both ports on one PCI function). */
static void s_read_netdev(const char *dev, vfp_pf_t *pf)
{
    char dir[PATH_MAX];
    char why[256];
    char **names = NULL;
    if (agent_text_path_join(dir, sizeof(dir), dev, "net", NULL))
        return;
    int n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    if (n <= 0) {
        sysfs_attr_names_free(&names);
        return;
    }
    agent_text_copy(pf->ifname, sizeof(pf->ifname), names[0]);
    for (int i = 1; i < n; i++)
        agent_text_note_append(pf->note, sizeof(pf->note), "also netdev %s",
                               names[i]);

    /* A down link answers EINVAL for speed, and a netdev without the file
     * has none: both are "unknown", no note; garbage is noted. */
    char netdev[PATH_MAX];
    char state[32];
    long speed;
    if (agent_text_path_join(netdev, sizeof(netdev), dir, names[0], NULL) ==
        0) {
        if (sysfs_attr_read_long(netdev, "speed", -1, INT32_MAX, &speed, why,
                                 sizeof(why)) == 0) {
            if (speed > 0)
                pf->link_speed = (uint32_t)speed;
        } else if (!strstr(why, strerror(EINVAL)) &&
                   !strstr(why, strerror(ENOENT))) {
            agent_text_note_append(pf->note, sizeof(pf->note), "%s: %s",
                                   names[0], why);
        }
        if (sysfs_attr_read_str(netdev, "operstate", state, sizeof(state), why,
                                sizeof(why)) == 0)
            pf->link_up = !strcmp(state, "up");
    }
    sysfs_attr_names_free(&names);
}

bool discover_device_netdev_up(const char *dev)
{
    char dir[PATH_MAX];
    char netdev[PATH_MAX];
    char why[256];
    char **names = NULL;
    bool up = false;
    if (agent_text_path_join(dir, sizeof(dir), dev, "net", NULL))
        return false;
    int n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    for (int i = 0; i < n && !up; i++) {
        unsigned long flags;
        if (agent_text_path_join(netdev, sizeof(netdev), dir, names[i], NULL) ==
                0 &&
            sysfs_attr_read_hex(netdev, "flags", ULONG_MAX, &flags, why,
                                sizeof(why)) == 0)
            up = flags & IFF_UP_BIT;
    }
    sysfs_attr_names_free(&names);
    return up;
}

/* Whether the VF's IOMMU group holds only the VF; otherwise says with
 * what it is shared, because that is why it cannot be assigned. */
/* Why a VF whose group holds more than itself (or not itself) cannot be
 * handed to a guest alone. */
static void s_note_shared_group(vfp_vf_t *vf, long group, char **names, int n)
{
    char others[VFP_TEXT_MAX / 2] = "";
    size_t used = 0;
    bool listed = false;
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], vf->pci_addr))
            listed = true;
        else if (used < sizeof(others))
            used += (size_t)snprintf(others + used, sizeof(others) - used,
                                     "%s%s", used ? ", " : "", names[i]);
    }
    if (listed)
        agent_text_note_append(vf->note, sizeof(vf->note),
                               "IOMMU group %ld shared with %s: cannot be "
                               "assigned to a guest alone",
                               group, others);
    else
        agent_text_note_append(vf->note, sizeof(vf->note),
                               "IOMMU group %ld does not list this VF: "
                               "isolation unknown",
                               group);
}

static void s_read_group(s_scan_t *scan, const char *vfdir, vfp_vf_t *vf)
{
    char text[64];
    char why[256];
    long group;
    vf->iommu_group = -1;
    if (sysfs_attr_link_target(vfdir, "iommu_group", text, sizeof(text), why,
                               sizeof(why))) {
        if (strstr(why, strerror(ENOENT)))
            agent_text_note_append(
                vf->note, sizeof(vf->note),
                "no IOMMU group (IOMMU off): cannot be passed "
                "through");
        else
            agent_text_note_append(vf->note, sizeof(vf->note), "%s", why);
        return;
    }
    if (agent_text_parse_long(text, 0, INT32_MAX, &group)) {
        agent_text_note_append(
            vf->note, sizeof(vf->note),
            "iommu_group: link to '%.32s' is not a group number", text);
        return;
    }
    vf->iommu_group = (int32_t)group;

    char dir[PATH_MAX];
    char **names = NULL;
    int n = -1;
    if (snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%ld/devices",
                 scan->sysfs, group) < (int)sizeof(dir))
        n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    if (n < 0) {
        agent_text_note_append(
            vf->note, sizeof(vf->note),
            "IOMMU group %ld unreadable (%s): isolation unknown", group, why);
    } else if (n == 1 && !strcmp(names[0], vf->pci_addr)) {
        vf->iommu_isolated = true;
    } else {
        s_note_shared_group(vf, group, names, n);
    }
    sysfs_attr_names_free(&names);
}

/* A driver read from a link that no longer resolves (the driver unbound
 * while we scanned) is noted and dropped. */
static void s_drop_dangling_driver(const char *dir, char *driver, char *note,
                                   size_t notelen)
{
    if (sysfs_attr_exists(dir, "driver"))
        return;
    if (errno == ELOOP)
        agent_text_note_append(note, notelen,
                               "driver link to %s is a symlink loop", driver);
    else
        agent_text_note_append(
            note, notelen,
            "driver link to %s dangles (driver unbound during the scan?)",
            driver);
    driver[0] = '\0';
}

static void s_read_vf(s_scan_t *scan, const char *pfdir, const vfp_pf_t *pf,
                      const char *link, vfp_vf_t *vf)
{
    char why[256];
    char vfdir[PATH_MAX];
    vf->iommu_group = -1;
    vf->index = (uint16_t)strtol(link + strlen("virtfn"), NULL, 10);
    if (sysfs_attr_link_target(pfdir, link, vf->pci_addr, sizeof(vf->pci_addr),
                               why, sizeof(why))) {
        agent_text_note_append(vf->note, sizeof(vf->note), "%s", why);
        return;
    }
    if (agent_text_path_join(vfdir, sizeof(vfdir), pfdir, link, NULL))
        return;
    struct stat st;
    if (stat(vfdir, &st) == -1 && errno == ELOOP) {
        /* Not a device at all: its name is no PCI address either. */
        agent_text_note_append(vf->note, sizeof(vf->note),
                               "%s: a symlink loop, not a device", link);
        vf->pci_addr[0] = '\0';
        return;
    }
    if (stat(vfdir, &st) || !S_ISDIR(st.st_mode)) {
        agent_text_note_append(
            vf->note, sizeof(vf->note),
            "%s points to a missing device %s (removed during the "
            "scan?)",
            link, vf->pci_addr);
        return;
    }
    if (sysfs_attr_link_target(vfdir, "driver", vf->driver, sizeof(vf->driver),
                               why, sizeof(why))) {
        if (!strstr(why, strerror(ENOENT)))
            agent_text_note_append(vf->note, sizeof(vf->note), "%s", why);
    } else {
        s_drop_dangling_driver(vfdir, vf->driver, vf->note, sizeof(vf->note));
    }
    /* The kernel links both ways; a VF that names another PF is stale. */
    char physfn[VFP_PCI_ADDR_MAX + 1];
    if (sysfs_attr_link_target(vfdir, "physfn", physfn, sizeof(physfn), why,
                               sizeof(why)) == 0 &&
        strcmp(physfn, pf->pci_addr))
        agent_text_note_append(vf->note, sizeof(vf->note),
                               "physfn points to %s, not to this PF", physfn);
    s_read_group(scan, vfdir, vf);
    vf->in_use = discover_device_netdev_up(vfdir);
}

/* VFs of a PCI PF, from its virtfnN links in numeric order. */
static void s_read_pci_vfs(s_scan_t *scan, const char *pfdir, vfp_pf_t *pf)
{
    char why[256];
    char **links = NULL;
    int n = sysfs_attr_dir_list(pfdir, "virtfn", &links, why, sizeof(why));
    if (n < 0) {
        agent_text_note_append(pf->note, sizeof(pf->note), "VFs unreadable: %s",
                               why);
        return;
    }
    if (n > VFP_VFS_MAX) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "%d VFs, only the first %d reported", n,
                               VFP_VFS_MAX);
        n = VFP_VFS_MAX;
    }
    if (n != pf->num_vfs)
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "sriov_numvfs is %u but %d virtfn links exist",
                               pf->num_vfs, n);
    if (n == 0) {
        sysfs_attr_names_free(&links);
        return;
    }
    pf->vfs = calloc((size_t)n, sizeof(*pf->vfs));
    assert(pf->vfs);
    uint32_t count = 0;
    for (int i = 0; i < n; i++) {
        long index = strtol(links[i] + strlen("virtfn"), NULL, 10);
        if (index > UINT16_MAX) {
            agent_text_note_append(pf->note, sizeof(pf->note),
                                   "%s: VF number out of range, ignored",
                                   links[i]);
            continue;
        }
        s_read_vf(scan, pfdir, pf, links[i], &pf->vfs[count++]);
    }
    pf->vf_count = count;
    sysfs_attr_names_free(&links);
}

/* VFs of a PF that are not devices of their own (netdevsim): only their
 * indexes, 0..sriov_numvfs-1, exist outside netlink. */
static void s_make_plain_vfs(vfp_pf_t *pf)
{
    uint32_t n = pf->num_vfs > VFP_VFS_MAX ? VFP_VFS_MAX : pf->num_vfs;
    if (n == 0)
        return;
    pf->vfs = calloc(n, sizeof(*pf->vfs));
    assert(pf->vfs);
    for (uint32_t i = 0; i < n; i++) {
        pf->vfs[i].index = (uint16_t)i;
        pf->vfs[i].iommu_group = -1;
    }
    pf->vf_count = n;
}

/* Which driver new VFs get: none when autoprobe is off; otherwise the
 * driver the existing VFs were given, leaving out VFs bound through a
 * driver_override (an operator's choice, not autoprobe's). */
static void s_read_vf_driver(const char *pfdir, vfp_pf_t *pf)
{
    char why[256];
    long autoprobe;
    if (sysfs_attr_read_long(pfdir, "sriov_drivers_autoprobe", 0, 1, &autoprobe,
                             why, sizeof(why))) {
        if (!strstr(why, strerror(ENOENT)))
            agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
        return;
    }
    if (!autoprobe)
        return;
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        char vfdir[PATH_MAX];
        char override[VFP_NAME_MAX + 1];
        char link[32];
        snprintf(link, sizeof(link), "virtfn%u", pf->vfs[i].index);
        if (!pf->vfs[i].driver[0] ||
            agent_text_path_join(vfdir, sizeof(vfdir), pfdir, link, NULL))
            continue;
        if (sysfs_attr_read_str(vfdir, "driver_override", override,
                                sizeof(override), why, sizeof(why)) == 0 &&
            strcmp(override, "(null)") && override[0])
            continue;
        agent_text_copy(pf->vf_driver, sizeof(pf->vf_driver),
                        pf->vfs[i].driver);
        return;
    }
}

static void s_read_settings(s_scan_t *scan, vfp_pf_t *pf)
{
    char why[VFP_TEXT_MAX / 2];
    if (pf->vf_count == 0)
        return;
    if (!scan->netlink && !scan->sim) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "VF settings not read: netlink off");
        return;
    }
    if (!pf->ifname[0]) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "VF settings unknown: the PF has no netdev");
        return;
    }
    if (scan->sim ? vf_sim_read_vfs(scan->sim, pf, why, sizeof(why))
                  : vf_reader_read(scan->nl, pf, why, sizeof(why)))
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "VF settings unknown: %s", why);
}

/* Fields common to PCI and non-PCI PFs: counts, driver, netdev. */
static int s_read_pf_common(s_scan_t *scan, const char *dev, vfp_pf_t *pf,
                            bool pci)
{
    char why[256];
    long value;
    if (sysfs_attr_read_long(dev, "sriov_totalvfs", 0, UINT16_MAX, &value, why,
                             sizeof(why)) == 0)
        pf->total_vfs = (uint16_t)value;
    else if (pci || !strstr(why, strerror(ENOENT)))
        agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
    if (sysfs_attr_read_long(dev, "sriov_numvfs", 0, UINT16_MAX, &value, why,
                             sizeof(why)) == 0)
        pf->num_vfs = (uint16_t)value;
    else {
        agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
        if (!sysfs_attr_exists(dev, "."))
            return -1;
    }
    if (sysfs_attr_link_target(dev, "driver", pf->driver, sizeof(pf->driver),
                               why, sizeof(why))) {
        if (strstr(why, strerror(ENOENT)))
            agent_text_note_append(pf->note, sizeof(pf->note),
                                   "no driver bound: VFs cannot be enabled");
        else
            agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
    } else {
        s_drop_dangling_driver(dev, pf->driver, pf->note, sizeof(pf->note));
    }
    s_read_netdev(dev, pf);
    if (pf->driver[0] && !pf->ifname[0])
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "driver %s gives it no netdev", pf->driver);
    return 0;
}

/* Adds the PF at addr (its device directory dev) and reads what every PF
 * has into *pf_p. Returns 0, 1 when the list is full (warned), -1 when the
 * device went away during the scan (noted on it). */
static int s_pf_begin(s_scan_t *scan, const char *dev, const char *addr,
                      bool pci, vfp_pf_t **pf_p)
{
    vfp_pf_t *pf = s_pf_add(scan);
    if (!pf) {
        discover_warn(scan->warnings, "more than %d PFs: %s not reported",
                      VFP_PFS_MAX, addr);
        return 1;
    }
    agent_text_copy(pf->pci_addr, sizeof(pf->pci_addr), addr);
    if (s_read_pf_common(scan, dev, pf, pci)) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "device disappeared during the scan");
        return -1;
    }
    *pf_p = pf;
    return 0;
}

static void s_scan_pci_pf(s_scan_t *scan, const char *dev, const char *addr)
{
    char why[256];
    vfp_pf_t *pf;
    if (s_pf_begin(scan, dev, addr, true, &pf) != 0)
        return;
    unsigned long id;
    if (sysfs_attr_read_hex(dev, "vendor", UINT16_MAX, &id, why, sizeof(why)) ==
        0)
        pf->vendor_id = (uint16_t)id;
    else
        agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
    if (sysfs_attr_read_hex(dev, "device", UINT16_MAX, &id, why, sizeof(why)) ==
        0)
        pf->device_id = (uint16_t)id;
    else
        agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
    long numa;
    if (sysfs_attr_read_long(dev, "numa_node", -1, INT16_MAX, &numa, why,
                             sizeof(why)) == 0)
        pf->numa_node = (int16_t)numa;
    else
        agent_text_note_append(pf->note, sizeof(pf->note), "%s", why);
    s_read_pci_vfs(scan, dev, pf);
    s_read_vf_driver(dev, pf);
    s_read_settings(scan, pf);
}

static void s_scan_pci(s_scan_t *scan)
{
    char dir[PATH_MAX];
    char dev[PATH_MAX];
    char why[256];
    char **names = NULL;
    if (agent_text_path_join(dir, sizeof(dir), scan->sysfs, "bus/pci/devices",
                             NULL))
        return;
    int n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    if (n < 0)
        discover_warn(scan->warnings, "PCI devices unreadable: %s", why);
    for (int i = 0; i < n; i++)
        if (agent_text_path_join(dev, sizeof(dev), dir, names[i], NULL) == 0 &&
            sysfs_attr_exists(dev, "sriov_totalvfs"))
            s_scan_pci_pf(scan, dev, names[i]);
    sysfs_attr_names_free(&names);
}

/* netdevsim keeps its VF limit in debugfs, not in sriov_totalvfs. */
static void s_read_debugfs_limit(s_scan_t *scan, vfp_pf_t *pf)
{
    char dir[PATH_MAX];
    char why[256];
    long max_vfs;
    if (!strcmp(pf->driver, "netdevsim") &&
        snprintf(dir, sizeof(dir), "%s/netdevsim/%s", scan->debugfs,
                 pf->pci_addr) < (int)sizeof(dir) &&
        sysfs_attr_read_long(dir, "max_vfs", 0, UINT16_MAX, &max_vfs, why,
                             sizeof(why)) == 0) {
        pf->total_vfs = (uint16_t)max_vfs;
        return;
    }
    agent_text_note_append(
        pf->note, sizeof(pf->note), "VF limit unknown: no sriov_totalvfs%s",
        strcmp(pf->driver, "netdevsim") ? "" : " and no debugfs max_vfs");
}

/* PFs that are not PCI functions: any netdev whose parent device has
 * sriov_numvfs (netdevsim). A PCI PF found that way is already listed. */
static void s_scan_netdev_parents(s_scan_t *scan)
{
    char dir[PATH_MAX];
    char dev[PATH_MAX];
    char real[PATH_MAX];
    char why[256];
    char **names = NULL;
    if (agent_text_path_join(dir, sizeof(dir), scan->sysfs, "class/net", NULL))
        return;
    int n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    for (int i = 0; i < n; i++) {
        if (agent_text_path_join(dev, sizeof(dev), dir, names[i], "device") ||
            !sysfs_attr_exists(dev, "sriov_numvfs") || !realpath(dev, real))
            continue;
        const char *busid = strrchr(real, '/') + 1;
        if (discover_find_pf(scan->inv, busid))
            continue;
        vfp_pf_t *pf;
        int begun = s_pf_begin(scan, real, busid, false, &pf);
        if (begun > 0)
            break;
        if (begun < 0)
            continue;
        if (!sysfs_attr_exists(real, "sriov_totalvfs"))
            s_read_debugfs_limit(scan, pf);
        s_make_plain_vfs(pf);
        s_read_settings(scan, pf);
    }
    sysfs_attr_names_free(&names);
}

static int s_check_root(const char *root, const char *what, char *err,
                        size_t errlen)
{
    struct stat st;
    if (stat(root, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    snprintf(err, errlen, "%s root %s: %s", what, root,
             errno ? strerror(errno) : "not a directory");
    return -1;
}

/* A tree whose numbers contradict each other (garbage, or a scan racing a
 * change) must still give an inventory the protocol takes (PROTOCOL.md
 * 4.4): otherwise none is sent at all, or the controller refuses it, and
 * the host loses every fact. The counts follow what exists, each change
 * noted: VFs linked beyond sriov_numvfs raise num_vfs, and num_vfs or a
 * VF index beyond sriov_totalvfs raise total_vfs; a repeated VF index is
 * left out. */
static void s_pf_consistent(vfp_pf_t *pf)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        if (kept > 0 && pf->vfs[i].index <= pf->vfs[kept - 1].index) {
            agent_text_note_append(pf->note, sizeof(pf->note),
                                   "VF %u listed twice: reported once",
                                   pf->vfs[i].index);
            continue;
        }
        pf->vfs[kept++] = pf->vfs[i];
    }
    pf->vf_count = kept;
    if (pf->vf_count > pf->num_vfs) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "num_vfs reported as %u, the VFs linked",
                               pf->vf_count);
        pf->num_vfs = (uint16_t)pf->vf_count;
    }
    uint32_t need = pf->num_vfs;
    if (pf->vf_count > 0 && pf->vfs[pf->vf_count - 1].index + 1u > need)
        need = pf->vfs[pf->vf_count - 1].index + 1u;
    if (pf->total_vfs && need > pf->total_vfs) {
        agent_text_note_append(pf->note, sizeof(pf->note),
                               "sriov_totalvfs %u is below what is enabled: "
                               "total_vfs reported as %u",
                               pf->total_vfs, need);
        pf->total_vfs = (uint16_t)(need > UINT16_MAX ? UINT16_MAX : need);
    }
}

int discover_host(const discover_opts_t *opts, vfp_inventory_t *inv,
                  discover_warnings_t *warnings, char *err, size_t errlen)
{
    const char *sysfs = opts->sysfs_root ? opts->sysfs_root : "/sys";
    const char *procfs = opts->procfs_root ? opts->procfs_root : "/proc";
    char debugfs[PATH_MAX];
    if (opts->debugfs_root)
        agent_text_copy(debugfs, sizeof(debugfs), opts->debugfs_root);
    else if (agent_text_path_join(debugfs, sizeof(debugfs), sysfs,
                                  "kernel/debug", NULL)) {
        snprintf(err, errlen, "sysfs root %s: path too long", sysfs);
        return -1;
    }
    errno = 0;
    if (s_check_root(sysfs, "sysfs", err, errlen) ||
        s_check_root(procfs, "procfs", err, errlen))
        return -1;
    if (warnings)
        warnings->count = 0;

    s_scan_t scan = {
        .sysfs = sysfs,
        .debugfs = debugfs,
        .netlink =
            opts->netlink == DISCOVER_NETLINK_ON ||
            (opts->netlink == DISCOVER_NETLINK_AUTO && !strcmp(sysfs, "/sys")),
        .nl = opts->nl,
        .inv = inv,
        .warnings = warnings,
    };
    if (opts->kernel == VF_KERNEL_SIM &&
        !(scan.sim = vf_sim_new(sysfs, err, errlen)))
        return -1;
    memset(inv, 0, sizeof(*inv));
    discover_host_facts(sysfs, procfs, opts->hostname, &inv->host, warnings);
    s_scan_pci(&scan);
    s_scan_netdev_parents(&scan);
    vf_sim_destroy(&scan.sim);
    for (uint32_t i = 0; i < inv->pf_count; i++)
        s_pf_consistent(&inv->pfs[i]);
    return 0;
}
