/* vfp_drift.h - the one rule for how observed VF state differs from a
 * desired APPLY: used by the agent (skip what is set, log drift) and by the
 * controller (store and correct drift). Pure: no I/O, no allocation but
 * vfp_drift_list's. */
#ifndef VFLEET_VFP_DRIFT_H
#define VFLEET_VFP_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "vfp.h"

/* One difference between a desired APPLY and an inventory. Both sides are
 * copied in, so a difference outlives the APPLY and the inventory. */
typedef struct {
    vfp_item_kind_t kind; /* VFP_ITEM_NUM_VFS (PF level) or VFP_ITEM_VF */
    char pf[VFP_PCI_ADDR_MAX + 1]; /* the PF as the APPLY names it */
    uint16_t index;                /* VF index for VFP_ITEM_VF, else 0 */
    uint16_t bit;          /* the VFP_SET_* bit for VFP_ITEM_VF, else 0 */
    const char *attribute; /* "num_vfs", "pf" (PF absent), "mac", ... */
    uint16_t wanted_num_vfs, has_num_vfs; /* "num_vfs" */
    vfp_apply_vf_t wanted;                /* VFP_ITEM_VF: the desired VF */
    vfp_apply_vf_t has; /* VFP_ITEM_VF: the observed settings, same set */
} vfp_drift_t;

/* The protocol's name of one VFP_SET_* bit, as RESULT items and drift
 * reports call it: "mac", "vlan", "spoofchk", "trust", "link_state",
 * "rate", "mtu"; NULL for anything but one bit. */
const char *vfp_drift_attr_name(uint16_t bit);

/* The VFP_SET_* bits of `desired` whose value differs from what `actual`
 * (a VF as the kernel reports it) holds. A VLAN protocol of 0 on either
 * side means 802.1Q. MTU is not part of vfp_vf_t and is never compared. */
uint16_t vfp_drift_differs(const vfp_apply_vf_t *desired,
                           const vfp_vf_t *actual);

/* Compares the desired state of an APPLY with an inventory: each PF's VF
 * count, and every set attribute (MTU aside) of every VF whose settings
 * were read (settings_known). A PF is found by PCI address or ifname; one
 * missing from the inventory is one difference, attribute "pf", and its
 * VFs are not compared. Hugepage pools are not compared. Fills
 * out[0..max) in APPLY order (PFs, then VFs) and returns how many
 * differences there are, which may be more than max. */
size_t vfp_drift_find(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                      vfp_drift_t *out, size_t max);

/* Every difference into a malloc'd *drift_p (free it; NULL when there is
 * none). Returns their number. */
size_t vfp_drift_list(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                      vfp_drift_t **drift_p);

/* The largest text vfp_drift_values writes, NUL included; fits the
 * controller's stored drift values (DB_DRIFT_VALUE_MAX). */
#define VFP_DRIFT_VALUE_SIZE 48

/* One difference as two short values, in the words of `ip link set`:
 * "10", "10 qos 3", "10 qos 3 802.1ad" (vlan); "02:50:56:00:00:01";
 * "on"/"off"/"unknown"; "auto"/"enable"/"disable";
 * "min_tx_rate 0 max_tx_rate 1000"; a VF count "4"; a PF "present" /
 * "absent". Each buffer gets at most VFP_DRIFT_VALUE_SIZE bytes. */
void vfp_drift_values(const vfp_drift_t *drift, char *wanted, size_t wanted_len,
                      char *has, size_t has_len);

#endif
