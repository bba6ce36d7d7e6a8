/* inventory_print.h - a host's inventory as a table or JSON. */
#ifndef VFLEET_INVENTORY_PRINT_H
#define VFLEET_INVENTORY_PRINT_H

#include <stdbool.h>

#include "discover.h"
#include "output.h"

/* Host facts, then every PF followed by its VFs (words of `ip -d link
 * show`: vf, mac, vlan, qos, spoofchk, trust, link-state, min_tx_rate,
 * max_tx_rate). warnings may be NULL. */
void inventory_print(output_t *out, const vfp_inventory_t *inv,
                     const discover_warnings_t *warnings);

/* The same, then the desired state's revision and every difference
 * between it and inv ("drift: pf P vf N vlan: wanted ..., kernel has ...";
 * JSON: "desired_revision" and a "drift" array). desired NULL: none is
 * stored, which is said too. */
void inventory_print_desired(output_t *out, const vfp_inventory_t *inv,
                             const discover_warnings_t *warnings,
                             const vfp_apply_t *desired);

#endif
