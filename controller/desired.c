/* desired.c - a host's plan from its stored inventory and labels, and its
 * desired state stored only when the plan changes it. */
#include "desired.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The PF list grows as rows come: most hosts have a few PFs, and a
 * VFP_PFS_MAX array per host would cost megabytes over a fleet. */
typedef struct {
    vfp_inventory_t *inv;
    uint32_t capacity;
} s_pfs_t;

struct desired_t {
    vfp_msg_t *inventory; /* VFP_INVENTORY: owns the PF and VF lists */
    char labels_text[DB_HOST_LABELS_MAX + 1];
    policy_label_t labels[DB_HOST_LABELS_MAX / 2 + 1];
    size_t label_count;
    apply_plan_t *plan;
};

static void s_host_facts(vfp_host_t *host, const db_host_row_t *row)
{
    snprintf(host->hostname, sizeof(host->hostname), "%s", row->name);
    snprintf(host->boot_id, sizeof(host->boot_id), "%s", row->boot_id);
    snprintf(host->kernel, sizeof(host->kernel), "%s", row->kernel);
    host->cpu_virt = strcmp(row->cpu_virt, "vmx") == 0   ? VFP_VIRT_VMX
                     : strcmp(row->cpu_virt, "svm") == 0 ? VFP_VIRT_SVM
                                                         : VFP_VIRT_NONE;
    host->iommu_ready = row->iommu_ready;
    host->iommu_units = (uint16_t)row->iommu_units;
    host->iommu_groups = row->iommu_groups;
    snprintf(host->iommu_cmdline, sizeof(host->iommu_cmdline), "%s",
             row->iommu_cmdline);
    const char *r = row->iommu_reasons;
    while (*r && host->reason_count < VFP_REASONS_MAX) {
        size_t len = strcspn(r, "\n");
        snprintf(host->reasons[host->reason_count++], VFP_TEXT_MAX + 1, "%.*s",
                 (int)len, r);
        r += len + (r[len] == '\n');
    }
    host->mem_total_kb = row->mem_total_kb;
    host->mem_available_kb = row->mem_available_kb;
}

static int s_hugepages_add(const db_hugepages_row_t *row, void *arg)
{
    vfp_host_t *host = arg;
    if (host->hugepage_count < VFP_HUGEPAGES_MAX)
        host->hugepages[host->hugepage_count++] = *row;
    return 0;
}

static int s_pf_add(const db_pf_row_t *row, void *arg)
{
    s_pfs_t *pfs = arg;
    vfp_inventory_t *inv = pfs->inv;
    if (row->state == DB_PF_MISSING || inv->pf_count == VFP_PFS_MAX)
        return 0;
    if (inv->pf_count == pfs->capacity) {
        pfs->capacity = pfs->capacity ? 2 * pfs->capacity : 4;
        inv->pfs = realloc(inv->pfs, pfs->capacity * sizeof(*inv->pfs));
        assert(inv->pfs);
    }
    memset(&inv->pfs[inv->pf_count], 0, sizeof(*inv->pfs));
    vfp_pf_t *pf = &inv->pfs[inv->pf_count++];
    snprintf(pf->pci_addr, sizeof(pf->pci_addr), "%s", row->pci_addr);
    snprintf(pf->ifname, sizeof(pf->ifname), "%s", row->ifname);
    snprintf(pf->driver, sizeof(pf->driver), "%s", row->driver);
    snprintf(pf->vf_driver, sizeof(pf->vf_driver), "%s", row->vf_driver);
    snprintf(pf->note, sizeof(pf->note), "%s", row->note);
    pf->vendor_id = row->vendor_id;
    pf->device_id = row->device_id;
    pf->numa_node = (int16_t)row->numa_node;
    pf->link_speed = row->link_speed;
    pf->link_up = row->link_up;
    pf->total_vfs = row->total_vfs;
    pf->num_vfs = row->num_vfs;
    /* The inventory rule (db_inventory_check): no more VFs than num_vfs. */
    pf->vfs = calloc((size_t)row->num_vfs + 1, sizeof(*pf->vfs));
    assert(pf->vfs);
    return 0;
}

static int s_vf_add(const db_vf_row_t *row, void *arg)
{
    vfp_inventory_t *inv = arg;
    if (row->state == DB_VF_MISSING)
        return 0;
    for (uint32_t i = 0; i < inv->pf_count; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        if (strcmp(pf->pci_addr, row->pf) != 0 || pf->vf_count >= pf->num_vfs)
            continue;
        vfp_vf_t *vf = &pf->vfs[pf->vf_count++];
        vf->index = row->index;
        snprintf(vf->pci_addr, sizeof(vf->pci_addr), "%s", row->pci_addr);
        vf->iommu_group = row->iommu_group;
        vf->iommu_isolated = row->iommu_isolated;
        snprintf(vf->driver, sizeof(vf->driver), "%s", row->driver);
        vfp_mac_parse(row->mac, vf->mac);
        vf->vlan = row->vlan;
        vf->qos = row->qos;
        vf->vlan_proto = row->vlan_proto;
        vf->spoofchk = row->spoofchk;
        vf->trust = row->trust;
        vf->link_state = row->link_state;
        vf->min_tx_rate = row->min_tx_rate;
        vf->max_tx_rate = row->max_tx_rate;
        vf->settings_known = row->settings_known;
        vf->in_use = row->in_use;
        snprintf(vf->note, sizeof(vf->note), "%.*s", (int)sizeof(vf->note) - 1,
                 row->note);
        return 0;
    }
    return 0;
}

/* The stored inventory of one host, as the agent last reported it. */
static int s_load_inventory(db_t *db, const char *host, vfp_inventory_t *inv,
                            db_err_t *err)
{
    db_host_row_t row;
    if (db_host_get(db, host, &row, err) != 0)
        return -1;
    inv->generation = row.generation;
    s_host_facts(&inv->host, &row);
    db_vf_filter_t filter = {.host = host};
    s_pfs_t pfs = {inv, 0};
    if (db_host_hugepages(db, host, s_hugepages_add, &inv->host, err) != 0 ||
        db_pfs_list(db, host, NULL, s_pf_add, &pfs, err) != 0 ||
        db_vfs_list(db, &filter, NULL, s_vf_add, inv, err) != 0)
        return -1;
    return 0;
}

/* Splits "key=value" lines into labels; lines without '=' are skipped. */
static void s_parse_labels(desired_t *self)
{
    char *save = NULL;
    for (char *line = strtok_r(self->labels_text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        self->labels[self->label_count++] =
            (policy_label_t){.key = line, .value = eq + 1};
    }
}

desired_t *desired_plan_host(db_t *db, const policy_t *policy,
                             const char *source, const char *host,
                             db_err_t *err)
{
    desired_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->inventory = vfp_msg_new(VFP_INVENTORY);
    assert(self->inventory);
    if (s_load_inventory(db, host, &self->inventory->u.inventory, err) != 0 ||
        db_host_labels_get(db, host, self->labels_text, err) != 0) {
        desired_destroy(&self);
        return NULL;
    }
    s_parse_labels(self);
    apply_plan_host_t plan_host = {.name = host,
                                   .labels = self->labels,
                                   .label_count = self->label_count,
                                   .inventory = &self->inventory->u.inventory};
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
