/* vf_writer.h - applies VF settings, VF counts and hugepage pools to the
 * kernel: rtnetlink on the PF, sriov_numvfs and nr_hugepages in sysfs. */
#ifndef VFLEET_VF_WRITER_H
#define VFLEET_VF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfp.h"

/* Results one VF apply can produce: one per VFP_SET_* attribute. */
#define VF_WRITER_ATTRS 7

/* The highest VLAN id the writer sends. 4095 is reserved by 802.1Q (and
 * means "trunk" only in vSphere's vocabulary, which the kernel has no word
 * for), so it is refused before it reaches a driver. */
#define VF_WRITER_VLAN_MAX 4094

typedef struct vf_writer_t vf_writer_t;

/* Opens a NETLINK_ROUTE socket. sysfs_root (NULL: "/sys") is where VF
 * counts, VF netdevs and hugepage pools are found. Returns NULL with the
 * reason in err on failure. */
vf_writer_t *vf_writer_new(const char *sysfs_root, char *err, size_t errlen);

/* Closes the socket; accepts NULL, sets *self_p to NULL. */
void vf_writer_destroy(vf_writer_t **self_p);

/* Number of RTM_SETLINK requests sent since vf_writer_new: an apply that
 * finds the kernel already as desired adds nothing to it. */
uint64_t vf_writer_netlink_writes(const vf_writer_t *self);

/* Name of one VFP_SET_* bit as it appears in results: "mac", "vlan",
 * "spoofchk", "trust", "link-state", "rate", "mtu"; NULL for anything else. */
const char *vf_writer_attr_name(uint16_t bit);

/* Checks every value `desired` sets without asking the kernel: VLAN
 * <= VF_WRITER_VLAN_MAX, QoS <= 7, protocol 802.1Q or 802.1ad, unicast MAC
 * (all-zero clears it), on/off switches, link state, min rate <= max rate
 * (max 0 = unlimited), MTU 68..65535. Returns the VFP_SET_* bits that are
 * invalid (0 when all are valid) and the first reason in why. */
uint16_t vf_writer_validate(const vfp_apply_vf_t *desired, char *why,
                            size_t whylen);

/* The VFP_SET_* bits of `desired` whose value differs from what `actual`
 * (a VF as the kernel reports it) holds. MTU is not part of vfp_vf_t and is
 * never reported here. */
uint16_t vf_writer_differs(const vfp_apply_vf_t *desired,
                           const vfp_vf_t *actual);

/* Fills *out with the clean state of VF `index` that a released VF gets:
 * zero MAC, no VLAN (802.1Q), spoof-check on, trust off, link auto, no
 * rate limits. */
void vf_writer_clean_default(uint16_t index, vfp_apply_vf_t *out);

/* Reads the VFs of PF pf_ifname as the kernel reports them. *vfs_p gets a
 * malloc'd array ordered by index (free it), *count_p its length. Returns
 * 0, or -1 with the reason in err. */
int vf_writer_read(vf_writer_t *self, const char *pf_ifname, vfp_vf_t **vfs_p,
                   uint32_t *count_p, char *err, size_t errlen);

/* Applies `desired` to VF desired->index of PF pf_ifname. Every value is
 * validated first; when one is invalid, or the index is out of range,
 * nothing of this VF reaches the kernel. Only attributes that differ from
 * what the kernel reports are written, one RTM_SETLINK each, so each gets
 * the kernel's own answer; then the VF is read back and each written value
 * verified. Fills one result (kind VFP_ITEM_VF, pf = pf_ifname) per set
 * attribute into results[0..max_results) and their number into *n_results:
 * err 0 when the VF holds the value, else a positive errno and a message.
 * Returns 0 when every result is ok, -1 otherwise. */
int vf_writer_apply_vf(vf_writer_t *self, const char *pf_ifname,
                       const vfp_apply_vf_t *desired, vfp_result_t *results,
                       size_t max_results, size_t *n_results);

/* Sets the VF count of PF pf_ifname through its device's sriov_numvfs,
 * writing 0 first when changing a non-zero count (the kernel refuses a
 * direct change). in_use[i] (i < in_use_len) says VF i is held by a guest:
 * any change that would remove it is refused, and since going through 0
 * removes every VF, so is any change of a non-zero count while a VF is in
 * use. Fills *result (kind VFP_ITEM_NUM_VFS, attribute "num_vfs"). Returns
 * 0 when the count is as asked, -1 otherwise. */
int vf_writer_set_num_vfs(vf_writer_t *self, const char *pf_ifname,
                          uint16_t num_vfs, const bool *in_use,
                          size_t in_use_len, vfp_result_t *result);

/* Sets the pool of size_kb hugepages to `pages` and reads nr_hugepages
 * back: when the kernel could not reserve them all, the pool is put back to
 * its previous size and ENOMEM is reported with the count it managed.
 * Fills *result (kind VFP_ITEM_HUGEPAGES, attribute "<size>kB"). Returns 0
 * or -1. */
int vf_writer_set_hugepages(vf_writer_t *self, uint32_t size_kb, uint64_t pages,
                            vfp_result_t *result);

/* Applies a whole APPLY message: VF counts first (so the VFs exist), then
 * every VF's settings, then hugepage pools. PFs are named as in the
 * protocol (PCI address or bus id) and resolved to netdevs through `inv`,
 * a current scan, whose VFs' in_use flags guard the VF counts. Fills
 * out->revision and out->results (malloc'd; the caller frees it, or it is
 * freed with the message that holds it), every result naming its PF as the
 * APPLY did. Returns 0 when every result is ok, -1 otherwise. */
int vf_writer_apply(vf_writer_t *self, const vfp_apply_t *apply,
                    const vfp_inventory_t *inv, vfp_apply_result_t *out);

/* One difference between desired and scanned state. */
typedef struct {
    vfp_item_kind_t kind; /* VFP_ITEM_NUM_VFS or VFP_ITEM_VF */
    char pf[VFP_PCI_ADDR_MAX + 1];
    uint16_t index;        /* VF index for VFP_ITEM_VF */
    const char *attribute; /* "num_vfs", "mac", "vlan", ... */
    char text[320];        /* "wanted vlan 12 ..., kernel has vlan 77 ..." */
} vf_drift_t;

/* Compares the desired state of an APPLY with a scan: a PF's VF count, and
 * every set attribute (MTU aside) of every VF whose settings the scan could
 * read. A PF missing from the scan is reported once, as attribute "pf".
 * Fills out[0..max) and returns how many differences there are (which may
 * be more than max). */
size_t vf_writer_drift(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                       vf_drift_t *out, size_t max);

#endif
