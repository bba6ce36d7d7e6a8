/* vf_drift.h - how the kernel's state differs from the desired state: the
 * comparison the writer uses to skip what is already set, and the drift
 * the agent logs and prints. */
#ifndef VFLEET_VF_DRIFT_H
#define VFLEET_VF_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "vfp.h"

/* One difference between desired and scanned state. */
typedef struct {
    vfp_item_kind_t kind; /* VFP_ITEM_NUM_VFS or VFP_ITEM_VF */
    char pf[VFP_PCI_ADDR_MAX + 1];
    uint16_t index;        /* VF index for VFP_ITEM_VF */
    uint16_t bit;          /* the VFP_SET_* bit for VFP_ITEM_VF, else 0 */
    const char *attribute; /* protocol name: "num_vfs", "pf", "mac", ... */
    char text[320];        /* "wanted vlan 12, ...; kernel has vlan 77, ..." */
} vf_drift_t;

/* The VFP_SET_* bits of `desired` whose value differs from what `actual`
 * (a VF as the kernel reports it) holds. A VLAN protocol of 0 on either
 * side means 802.1Q. MTU is not part of vfp_vf_t and is never reported. */
uint16_t vf_drift_differs(const vfp_apply_vf_t *desired,
                          const vfp_vf_t *actual);

/* Compares the desired state of an APPLY with a scan: a PF's VF count, and
 * every set attribute (MTU aside) of every VF whose settings the scan could
 * read. A PF missing from the scan is reported once, as attribute "pf".
 * Fills out[0..max) and returns how many differences there are (which may
 * be more than max). */
size_t vf_drift_find(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vf_drift_t *out, size_t max);

/* Every difference (vf_drift_find) into a malloc'd *drift_p (free it; NULL
 * when there is none). Returns their number. */
size_t vf_drift_list(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vf_drift_t **drift_p);

/* One difference in the words of `ip -d link show`, as logged and printed:
 * "pf 0000:05:00.0 vf 2 vlan: wanted vlan 100, ...; kernel has vlan 77,
 * ...", or "pf 0000:05:00.0 num_vfs: wanted 4 VFs; kernel has 2 VFs". */
void vf_drift_line(const vf_drift_t *drift, char *buf, size_t len);

/* The desired state's revision and every difference from inv: table lines
 * "drift: <line>", JSON "desired_revision" and a "drift" array of {pf, vf,
 * attribute, detail}. desired NULL: none is stored, which is said too. */
void vf_drift_print(output_t *out, const vfp_inventory_t *inv,
                    const vfp_apply_t *desired);

/* Logs every difference between apply and scan as a warning, but only when
 * the set of differences is not the one logged last (*logged_p, NULL at
 * first; updated, free it): a VF changed by hand is reported once, not on
 * every rescan, and its repair is reported too. */
void vf_drift_log(const vfp_apply_t *apply, const vfp_inventory_t *scan,
                  char **logged_p);

#endif
