/* inventory_diff.h - what changed between two scans, as a protocol delta. */
#ifndef VFLEET_INVENTORY_DIFF_H
#define VFLEET_INVENTORY_DIFF_H

#include <stdbool.h>

#include "vfp.h"

/* Deep copy of src into dst (dst's previous contents are not freed). */
void inventory_diff_copy(vfp_inventory_t *dst, const vfp_inventory_t *src);

/* Fills *delta with what turns old into new: host facts when they differ,
 * every PF added or changed (complete), every PF gone. base_generation and
 * generation are left for the caller. Returns true when anything changed;
 * *delta must be zeroed and is freed with inventory_diff_delta_clear. */
bool inventory_diff(const vfp_inventory_t *old, const vfp_inventory_t *new,
                    vfp_inventory_delta_t *delta);

void inventory_diff_delta_clear(vfp_inventory_delta_t *delta);

#endif
