/* vf_drift.h - the drift the agent logs and prints: the differences
 * proto's one comparison (vfp_drift.h) finds, in iproute2's words. */
#ifndef VFLEET_VF_DRIFT_H
#define VFLEET_VF_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "vfp.h"
#include "vfp_drift.h"

/* One difference (vfp_drift_find) in the words of `ip -d link show`:
 * "wanted vlan 12, qos 0, vlan-protocol 802.1Q; kernel has vlan 77, ...",
 * "wanted 4 VFs; kernel has 2 VFs", "wanted PF 0000:05:00.0; kernel has no
 * such PF". */
void vf_drift_text(const vfp_drift_t *drift, char *buf, size_t len);

/* One difference in the words of `ip -d link show`, as logged and printed:
 * "pf 0000:05:00.0 vf 2 vlan: wanted vlan 100, ...; kernel has vlan 77,
 * ...", or "pf 0000:05:00.0 num_vfs: wanted 4 VFs; kernel has 2 VFs". */
void vf_drift_line(const vfp_drift_t *drift, char *buf, size_t len);

/* The desired state's revision and every difference from inv: table lines
 * "drift: <line>", JSON "desired_revision" and a "drift" array of {pf, vf,
 * attribute, detail}. desired NULL: none is stored, which is said too. */
void vf_drift_print(output_t *out, const vfp_inventory_t *inv,
                    const vfp_apply_t *desired);

/* Logs every difference between apply and scan as a warning, but only when
 * the set of differences is not the one logged last (*logged_p, NULL at
 * first; updated, free it): a VF changed by hand is reported once, not on
 * every rescan, and its repair is reported too. Returns how many
 * differences there are. */
size_t vf_drift_log(const vfp_apply_t *apply, const vfp_inventory_t *scan,
                    char **logged_p);

#endif
