/* vf_apply.c - walks an APPLY message, calls the writer for every item and
 * collects the per-item results into one APPLY_RESULT. */
#include "vf_apply.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_text.h"
#include "discover.h"

/* The protocol's limits let every valid APPLY's results fit one
 * APPLY_RESULT (VFP_RESULTS_MAX counts them; PROTOCOL.md 5 shows the bytes
 * fit VFP_MSG_MAX), so the fold below only guards against a writer that one
 * day reports more per item than the protocol counts. */
static void s_append(vf_apply_results_t *self, const vfp_result_t *r)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->items = realloc(self->items, self->cap * sizeof(*self->items));
        assert(self->items);
    }
    self->items[self->count++] = *r;
}

static void s_count_unreported(vf_apply_results_t *self, const vfp_result_t *r)
{
    if (self->unreported == 0)
        self->first_unreported = *r;
    self->unreported++;
    if (r->err)
        self->unreported_failed++;
}

void vf_apply_results_add(vf_apply_results_t *self, const vfp_result_t *r)
{
    if (self->unreported == 0 && self->count < VFP_RESULTS_MAX) {
        s_append(self, r);
        return;
    }
    /* The first overflow frees the last slot for the folded item. */
    if (self->unreported == 0)
        s_count_unreported(self, &self->items[--self->count]);
    s_count_unreported(self, r);
}

void vf_apply_results_finish(vf_apply_results_t *self, vfp_apply_result_t *out)
{
    if (self->unreported) {
        /* Keeps the first unreported item's kind, PF and index, so it
         * encodes like any other item; its errno is EMSGSIZE when any of
         * them failed, so a failure is never reported as success. */
        const vfp_result_t *first = &self->first_unreported;
        vfp_result_t fold;
        char what[VFP_NAME_MAX + 32];
        if (first->kind == VFP_ITEM_VF)
            snprintf(what, sizeof(what), "vf %u %s", first->index,
                     first->attribute);
        else
            agent_text_copy(what, sizeof(what), first->attribute);
        memset(&fold, 0, sizeof(fold));
        fold.kind = first->kind;
        agent_text_copy(fold.pf, sizeof(fold.pf), first->pf);
        fold.index = first->kind == VFP_ITEM_VF ? first->index : 0;
        agent_text_copy(fold.attribute, sizeof(fold.attribute), "unreported");
        fold.err = self->unreported_failed ? EMSGSIZE : 0;
        char message[VFP_TEXT_MAX];
        snprintf(message, sizeof(message),
                 "%" PRIu64 " more results do not fit one APPLY_RESULT "
                 "(at most %u items): %" PRIu64 " failed; the "
                 "first not reported is %s%s %s",
                 self->unreported, VFP_RESULTS_MAX, self->unreported_failed,
                 first->pf[0] ? "pf " : "", first->pf[0] ? first->pf : "",
                 what);
        agent_text_copy(fold.message, sizeof(fold.message), message);
        s_append(self, &fold);
    }
    out->results = self->items ? self->items : calloc(1, sizeof(*out->results));
    assert(out->results);
    out->result_count = self->count;
    memset(self, 0, sizeof(*self));
}

/* The scanned PF named `name` when it has a netdev, or NULL with why. */
static const vfp_pf_t *s_resolve_pf(const vfp_inventory_t *inv,
                                    const char *name, char *why, size_t whylen)
{
    const vfp_pf_t *pf = discover_find_pf(inv, name);
    if (!pf)
        snprintf(why, whylen, "no PF %s on this host", name);
    else if (!pf->ifname[0])
        snprintf(why, whylen, "PF %s has no netdev (no driver bound)", name);
    return pf && pf->ifname[0] ? pf : NULL;
}

/* Adds results[0..n), naming their PF as the APPLY did; -1 if one failed. */
static int s_add_all(vf_apply_results_t *sink, vfp_result_t *results, size_t n,
                     const char *pf)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        agent_text_copy(results[i].pf, sizeof(results[i].pf), pf);
        vf_apply_results_add(sink, &results[i]);
        if (results[i].err)
            rc = -1;
    }
    return rc;
}

static int s_apply_pf(const vf_apply_ops_t *ops, void *ctx,
                      const vfp_apply_pf_t *a, const vfp_inventory_t *inv,
                      vf_apply_results_t *sink)
{
    char why[256];
    vfp_result_t r;
    const vfp_pf_t *pf = s_resolve_pf(inv, a->pf, why, sizeof(why));
    if (!pf) {
        vf_writer_result(&r, VFP_ITEM_NUM_VFS, a->pf, 0, "num_vfs", ENODEV,
                         "%s", why);
        return s_add_all(sink, &r, 1, a->pf);
    }
    bool in_use[VFP_VFS_MAX] = {false};
    size_t in_use_len = 0;
    for (uint32_t v = 0; v < pf->vf_count; v++) {
        uint16_t index = pf->vfs[v].index;
        if (!pf->vfs[v].in_use || index >= VFP_VFS_MAX)
            continue;
        in_use[index] = true;
        if (index + 1u > in_use_len)
            in_use_len = index + 1u;
    }
    ops->set_num_vfs(ctx, pf->ifname, a->num_vfs, in_use, in_use_len, &r);
    return s_add_all(sink, &r, 1, a->pf);
}

static int s_apply_vf(const vf_apply_ops_t *ops, void *ctx,
                      const vfp_apply_vf_t *d, const vfp_inventory_t *inv,
                      vf_apply_results_t *sink)
{
    char why[256];
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 0;
    const vfp_pf_t *pf = s_resolve_pf(inv, d->pf, why, sizeof(why));
    if (!pf)
        n = vf_writer_fail_vf(d->pf, d, ENODEV, why, results, VF_WRITER_ATTRS);
    else
        ops->apply_vf(ctx, pf->ifname, d, results, VF_WRITER_ATTRS, &n);
    return s_add_all(sink, results, n, d->pf);
}

/* The writer's own calls, with the writer as ctx. */
static int s_writer_apply_vf(void *ctx, const char *pf_ifname,
                             const vfp_apply_vf_t *desired,
                             vfp_result_t *results, size_t max_results,
                             size_t *n_results)
{
    return vf_writer_apply_vf(ctx, pf_ifname, desired, results, max_results,
                              n_results);
}

static int s_writer_set_num_vfs(void *ctx, const char *pf_ifname,
                                uint16_t num_vfs, const bool *in_use,
                                size_t in_use_len, vfp_result_t *result)
{
    return vf_writer_set_num_vfs(ctx, pf_ifname, num_vfs, in_use, in_use_len,
                                 result);
}

static int s_writer_set_hugepages(void *ctx, uint32_t size_kb, uint64_t pages,
                                  vfp_result_t *result)
{
    return vf_writer_set_hugepages(ctx, size_kb, pages, result);
}

static const vf_apply_ops_t s_writer_ops = {
    .apply_vf = s_writer_apply_vf,
    .set_num_vfs = s_writer_set_num_vfs,
    .set_hugepages = s_writer_set_hugepages,
};

int vf_apply_run(vf_writer_t *writer, const vfp_apply_t *apply,
                 const vfp_inventory_t *inv, vfp_apply_result_t *out)
{
    return vf_apply_run_ops(&s_writer_ops, writer, apply, inv, out);
}

int vf_apply_run_ops(const vf_apply_ops_t *ops, void *ctx,
                     const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vfp_apply_result_t *out)
{
    vf_apply_results_t sink = {0};
    int rc = 0;
    out->revision = apply->revision;
    for (uint32_t i = 0; i < apply->pf_count; i++)
        if (s_apply_pf(ops, ctx, &apply->pfs[i], inv, &sink))
            rc = -1;
    for (uint32_t i = 0; i < apply->vf_count; i++)
        if (s_apply_vf(ops, ctx, &apply->vfs[i], inv, &sink))
            rc = -1;
    for (uint32_t i = 0; i < apply->hugepage_count; i++) {
        const vfp_apply_hugepages_t *h = &apply->hugepages[i];
        vfp_result_t r;
        if (ops->set_hugepages(ctx, h->size_kb, h->pages, &r))
            rc = -1;
        vf_apply_results_add(&sink, &r);
    }
    vf_apply_results_finish(&sink, out);
    return rc;
}
