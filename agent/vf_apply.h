/* vf_apply.h - applies a whole APPLY message through the writer and builds
 * its APPLY_RESULT. */
#ifndef VFLEET_VF_APPLY_H
#define VFLEET_VF_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf_writer.h"
#include "vfp.h"

/* Where vf_apply_run_ops sends each item: the calls of vf_writer.h with
 * the writer as ctx (vf_apply_run), or the privileged writer process's
 * channel (privsep.h). Each fills its results as the vf_writer_* call of
 * the same name does. */
typedef struct {
    int (*apply_vf)(void *ctx, const char *pf_ifname,
                    const vfp_apply_vf_t *desired, vfp_result_t *results,
                    size_t max_results, size_t *n_results);
    int (*set_num_vfs)(void *ctx, const char *pf_ifname, uint16_t num_vfs,
                       const bool *in_use, size_t in_use_len,
                       vfp_result_t *result);
    int (*set_hugepages)(void *ctx, uint32_t size_kb, uint64_t pages,
                         vfp_result_t *result);
} vf_apply_ops_t;

/* Applies `apply`: VF counts first (so the VFs exist), then every VF's
 * settings, then hugepage pools. PFs are named as in the protocol (PCI
 * address or bus id) and resolved to netdevs through `inv`, a current scan,
 * whose VFs' in_use flags guard the VF counts; an item of a PF the scan
 * lacks, or one without a netdev, gets ENODEV. Fills out->revision and
 * out->results (malloc'd; the caller frees it, or it is freed with the
 * message that holds it), every result naming its PF as the APPLY did.
 * The results always encode as one APPLY_RESULT (vf_apply_results_t).
 * Returns 0 when every item is ok, -1 otherwise. */
int vf_apply_run(vf_writer_t *writer, const vfp_apply_t *apply,
                 const vfp_inventory_t *inv, vfp_apply_result_t *out);

/* vf_apply_run with every item sent through ops (ctx: theirs). */
int vf_apply_run_ops(const vf_apply_ops_t *ops, void *ctx,
                     const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vfp_apply_result_t *out);

/* The results of one APPLY as they are collected. The protocol sizes
 * VFP_RESULTS_MAX for the largest APPLY, so its results always fit; should
 * a writer ever report more, the results past the limit are counted, not
 * kept, and vf_apply_results_finish folds them into one final item that
 * says how many went unreported and how many of those failed. */
typedef struct {
    vfp_result_t *items; /* malloc'd as needed */
    uint32_t count;
    uint32_t cap;
    uint64_t unreported; /* results counted but not kept */
    uint64_t unreported_failed;
    vfp_result_t first_unreported; /* the first of them, to name it */
} vf_apply_results_t;

/* Adds one result, or counts it when the message is full. */
void vf_apply_results_add(vf_apply_results_t *self, const vfp_result_t *r);

/* Adds the folded item when results went unreported, and hands the items
 * to out (out->results, out->result_count); *self is emptied. */
void vf_apply_results_finish(vf_apply_results_t *self, vfp_apply_result_t *out);

#endif
