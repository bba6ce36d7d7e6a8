/* desired.c - a host's plan from its stored inventory and labels, and its
 * desired state stored only when the plan changes it. */
#include "desired.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_log.h"

static void s_err(db_err_t *err, db_errcode_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(db_err_t *err, db_errcode_t code, const char *fmt, ...)
{
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

struct desired_t {
    vfp_msg_t *inventory; /* VFP_INVENTORY: owns the PF and VF lists */
    char labels_text[DB_HOST_LABELS_MAX + 1];
    policy_label_t labels[DB_HOST_LABELS_MAX / 2 + 1];
    size_t label_count;
    db_vm_t *vms; /* the VMs the host holds, with their NICs */
    size_t vm_count, vm_cap;
    apply_plan_vm_t *plan_vms;
    apply_plan_held_vf_t *held;
    size_t held_count;
    apply_plan_t *plan;
};

/* The stored labels as the policy's matchers take them. */
static void s_parse_labels(desired_t *self)
{
    char *cursor = self->labels_text;
    for (db_label_t label; db_labels_next(&cursor, &label);)
        self->labels[self->label_count++] =
            (policy_label_t){.key = label.key, .value = label.value};
}

static int s_vm_collect(const db_vm_t *vm, void *arg)
{
    desired_t *self = arg;
    if (self->vm_count == self->vm_cap) {
        self->vm_cap = self->vm_cap ? self->vm_cap * 2 : 8;
        self->vms = realloc(self->vms, self->vm_cap * sizeof(*self->vms));
        assert(self->vms);
    }
    self->vms[self->vm_count++] = *vm;
    return 0;
}

/* The VMs on the host and the VFs they hold, as the plan takes them. */
static int s_vms_read(desired_t *self, db_t *db, const char *host,
                      db_err_t *err)
{
    db_vm_filter_t filter = {.host = host};
    db_page_t page = {0};
    if (db_vms_list(db, &filter, &page, s_vm_collect, self, err) != 0)
        return -1;
    self->plan_vms = calloc(self->vm_count + 1, sizeof(*self->plan_vms));
    self->held =
        calloc(self->vm_count * DB_VM_NICS_MAX + 1, sizeof(*self->held));
    assert(self->plan_vms && self->held);
    for (size_t i = 0; i < self->vm_count; i++) {
        const db_vm_t *vm = &self->vms[i];
        self->plan_vms[i] =
            (apply_plan_vm_t){.name = vm->name, .memory_mib = vm->memory_mib};
        for (uint32_t n = 0; n < vm->nic_count; n++) {
            const db_vm_nic_t *nic = &vm->nics[n];
            if (!nic->pf[0])
                continue;
            apply_plan_held_vf_t *held = &self->held[self->held_count++];
            *held = (apply_plan_held_vf_t){.pf = nic->pf,
                                           .index = nic->vf,
                                           .network = nic->network,
                                           .vm = vm->name};
            memcpy(held->mac, nic->mac, sizeof(held->mac));
        }
    }
    return 0;
}

desired_t *desired_plan_host(db_t *db, const policy_t *policy,
                             const char *source, const char *host,
                             db_err_t *err)
{
    desired_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->inventory = vfp_msg_new(VFP_INVENTORY);
    assert(self->inventory);
    /* The inventory as the agent last reported it, read as drift reads it
     * (db_host_inventory_get: PFs and VFs kept only as missing left
     * out). */
    if (db_host_inventory_get(db, host, &self->inventory->u.inventory, err) !=
            0 ||
        db_host_labels_get(db, host, self->labels_text, err) != 0 ||
        s_vms_read(self, db, host, err) != 0) {
        desired_destroy(&self);
        return NULL;
    }
    s_parse_labels(self);
    apply_plan_host_t plan_host = {.name = host,
                                   .labels = self->labels,
                                   .label_count = self->label_count,
                                   .inventory = &self->inventory->u.inventory,
                                   .vms = self->plan_vms,
                                   .vm_count = self->vm_count,
                                   .held_vfs = self->held,
                                   .held_vf_count = self->held_count};
    self->plan = apply_plan_new(policy, source, &plan_host);
    return self;
}

void desired_destroy(desired_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    desired_t *self = *self_p;
    apply_plan_destroy(&self->plan);
    vfp_msg_destroy(&self->inventory);
    free(self->vms);
    free(self->plan_vms);
    free(self->held);
    free(self);
    *self_p = NULL;
}

const apply_plan_t *desired_plan(const desired_t *self)
{
    return self->plan;
}

vfp_msg_t *desired_take_apply(desired_t *self)
{
    return apply_plan_take_msg(self->plan);
}

const vfp_inventory_t *desired_inventory(const desired_t *self)
{
    return &self->inventory->u.inventory;
}

int desired_stored(db_t *db, const char *host, vfp_msg_t **stored,
                   db_err_t *err)
{
    *stored = NULL;
    db_host_desired_t desired;
    if (db_host_desired_get(db, host, &desired, err) != 0) {
        if (err->code != DB_ERR_NOT_FOUND)
            return -1;
        /* Unknown host, or a known one without a desired state. */
        db_host_row_t row;
        return db_host_get(db, host, &row, err);
    }
    vfp_decode_error_t derr;
    *stored = vfp_decode(desired.apply, desired.apply_len, &derr);
    db_host_desired_clear(&desired);
    if (!*stored || (*stored)->id != VFP_APPLY) {
        vfp_msg_destroy(stored);
        s_err(err, DB_ERR_IO,
              "host %s: the stored desired state is not an APPLY: %s: %s", host,
              derr.field, derr.text);
        return -1;
    }
    return 0;
}

static bool s_vf_equal(const vfp_apply_vf_t *a, const vfp_apply_vf_t *b)
{
    return strcmp(a->pf, b->pf) == 0 && a->index == b->index &&
           a->set == b->set && memcmp(a->mac, b->mac, 6) == 0 &&
           a->vlan == b->vlan && a->qos == b->qos &&
           a->vlan_proto == b->vlan_proto && a->spoofchk == b->spoofchk &&
           a->trust == b->trust && a->link_state == b->link_state &&
           a->min_tx_rate == b->min_tx_rate &&
           a->max_tx_rate == b->max_tx_rate && a->mtu == b->mtu;
}

bool desired_apply_equal(const vfp_apply_t *a, const vfp_apply_t *b)
{
    if (a->pf_count != b->pf_count || a->vf_count != b->vf_count ||
        a->hugepage_count != b->hugepage_count)
        return false;
    for (uint32_t i = 0; i < a->pf_count; i++)
        if (strcmp(a->pfs[i].pf, b->pfs[i].pf) != 0 ||
            a->pfs[i].num_vfs != b->pfs[i].num_vfs)
            return false;
    for (uint32_t i = 0; i < a->vf_count; i++)
        if (!s_vf_equal(&a->vfs[i], &b->vfs[i]))
            return false;
    for (uint32_t i = 0; i < a->hugepage_count; i++)
        if (a->hugepages[i].size_kb != b->hugepages[i].size_kb ||
            a->hugepages[i].pages != b->hugepages[i].pages)
            return false;
    return true;
}

int desired_store(db_t *db, const char *host, int64_t policy_revision,
                  const vfp_apply_t *apply, int64_t now_ms, uint64_t *revision,
                  db_err_t *err)
{
    if (db_host_desired_next(db, host, revision, err) != 0)
        return -1;
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    msg.u.apply = *apply;
    msg.u.apply.revision = *revision;
    uint8_t *data = NULL;
    size_t size = 0;
    vfp_decode_error_t derr;
    if (vfp_encode(&msg, &data, &size, &derr) != 0) {
        s_err(err, DB_ERR_INVALID, "host %s: cannot encode the APPLY: %s: %s",
              host, derr.field, derr.text);
        return -1;
    }
    int rc = db_host_desired_set(db, host, policy_revision, *revision, data,
                                 size, now_ms, err);
    free(data);
    return rc;
}

int desired_refuse(db_t *db, const char *host, int64_t policy_revision,
                   const char *reason, int64_t now_ms, db_err_t *err)
{
    vfp_msg_t *stored = NULL;
    if (desired_stored(db, host, &stored, err) != 0)
        return -1;
    int rc = 0;
    if (!stored) {
        /* Nothing of the host is managed: an APPLY without items, planned
         * from no policy so that the host is planned again when it
         * returns. */
        vfp_apply_t empty = {0};
        uint64_t revision;
        rc = desired_store(db, host, 0, &empty, now_ms, &revision, err);
    }
    vfp_msg_destroy(&stored);
    return rc == 0 ? db_host_refusal_set(db, host, policy_revision, reason,
                                         now_ms, err)
                   : -1;
}

int desired_store_if_changed(db_t *db, const char *host,
                             int64_t policy_revision, const apply_plan_t *plan,
                             int64_t now_ms, bool *changed, uint64_t *revision,
                             db_err_t *err)
{
    *changed = false;
    *revision = 0;
    const vfp_apply_t *apply = apply_plan_apply(plan);
    if (!apply) {
        s_err(err, DB_ERR_INVALID, "host %s: the plan has conflicts: %s", host,
              apply_plan_conflict(plan, 0));
        return -1;
    }
    vfp_msg_t *stored = NULL;
    if (desired_stored(db, host, &stored, err) != 0)
        return -1;
    bool same = stored && desired_apply_equal(&stored->u.apply, apply);
    *revision = stored ? stored->u.apply.revision : 0;
    vfp_msg_destroy(&stored);
    if (same)
        return 0;
    if (desired_store(db, host, policy_revision, apply, now_ms, revision,
                      err) != 0)
        return -1;
    *changed = true;
    return 0;
}

static int s_latest_revision(const db_policy_row_t *row, void *arg)
{
    *(int64_t *)arg = row->revision;
    return -1;
}

const policy_t *desired_policy_latest(db_t *db, desired_policy_t *cache)
{
    int64_t latest = 0;
    db_err_t err;
    if (db_policy_history(db, 0, 1, s_latest_revision, &latest, &err) != 0 &&
        err.code != DB_OK) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot read the latest policy: %s",
                        err.text);
        return NULL;
    }
    if (latest == cache->revision)
        return cache->policy;
    desired_policy_clear(cache);
    cache->revision = latest;
    if (!latest)
        return NULL;
    db_policy_row_t row = {0};
    if (db_policy_get(db, latest, &row, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "cannot read policy revision %" PRId64 ": %s", latest,
                        err.text);
        cache->revision = 0;
        return NULL;
    }
    snprintf(cache->source, sizeof(cache->source), "revision %" PRId64, latest);
    cache->policy =
        policy_parse_buffer(cache->source, row.text, row.text_len, NULL);
    if (!cache->policy)
        vfp_log_warnx("policy revision %" PRId64 " does not parse", latest);
    db_policy_row_clear(&row);
    return cache->policy;
}

void desired_policy_clear(desired_policy_t *cache)
{
    policy_destroy(&cache->policy);
    cache->revision = 0;
    cache->source[0] = '\0';
}
