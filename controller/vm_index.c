/* vm_index.c - the placement index built from the database and the latest
 * policy, host by host. */
#include "vm_index.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "vfp_log.h"

struct vm_index_t {
    db_t *db;
    placement_t *placement;
    desired_policy_t latest;
    zhashx_t *stale; /* hosts to read again: name -> "" */
};

vm_index_t *vm_index_new(db_t *db)
{
    vm_index_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->db = db;
    self->placement = placement_new();
    self->stale = zhashx_new();
    assert(self->stale);
    return self;
}

void vm_index_destroy(vm_index_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vm_index_t *self = *self_p;
    placement_destroy(&self->placement);
    desired_policy_clear(&self->latest);
    zhashx_destroy(&self->stale);
    free(self);
    *self_p = NULL;
}

placement_t *vm_index_placement(vm_index_t *self)
{
    return self->placement;
}

const policy_t *vm_index_policy(vm_index_t *self)
{
    return self->latest.policy;
}

static void s_state_of(const db_host_row_t *row, bool *ready,
                       int64_t *down_since)
{
    *ready = row->state == DB_HOST_READY;
    *down_since = *ready ? 0 : row->last_seen_ms;
}

void vm_index_host_state(vm_index_t *self, const char *host)
{
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(self->db, host, &row, &err) != 0) {
        if (err.code == DB_ERR_NOT_FOUND)
            placement_host_remove(self->placement, host);
        return;
    }
    bool ready;
    int64_t down_since;
    s_state_of(&row, &ready, &down_since);
    if (placement_host_state(self->placement, host, ready, down_since,
                             row.cordoned) != 0)
        vm_index_host_refresh(self, host);
}

/* The PFs of the plan as placement takes them: each PF the plan
 * configures, its networks, and its VFs below the planned count whose
 * IOMMU group is isolated. The arrays point into the plan and inventory,
 * which outlive the call to placement_host_set. */
typedef struct {
    placement_pf_t *pfs;
    placement_vf_t *vfs;
    size_t pf_count;
} s_pfs_t;

static uint32_t s_planned_vfs(const vfp_apply_t *apply, const char *pf)
{
    for (uint32_t i = 0; i < apply->pf_count; i++)
        if (strcmp(apply->pfs[i].pf, pf) == 0)
            return apply->pfs[i].num_vfs;
    return 0;
}

static void s_pfs_build(s_pfs_t *out, const desired_t *desired)
{
    const vfp_inventory_t *inv = desired_inventory(desired);
    const apply_plan_t *plan = desired_plan(desired);
    const vfp_apply_t *apply = apply_plan_apply(plan);
    size_t vf_total = 0;
    for (uint32_t p = 0; p < inv->pf_count; p++)
        vf_total += inv->pfs[p].vf_count;
    out->pfs = calloc(inv->pf_count + 1, sizeof(*out->pfs));
    out->vfs = calloc(vf_total + 1, sizeof(*out->vfs));
    assert(out->pfs && out->vfs);
    out->pf_count = 0;
    size_t used = 0;
    /* A host whose plan has conflicts gets no APPLY: nothing on it can be
     * given to a VM until the policy fits it. */
    for (uint32_t p = 0; apply && p < inv->pf_count; p++) {
        const vfp_pf_t *pf = &inv->pfs[p];
        size_t nets = 0;
        const char *const *networks =
            apply_plan_pf_networks(plan, pf->pci_addr, &nets);
        if (nets == 0)
            continue;
        uint32_t planned = s_planned_vfs(apply, pf->pci_addr);
        placement_vf_t *first = &out->vfs[used];
        for (uint32_t v = 0; v < pf->vf_count; v++) {
            const vfp_vf_t *vf = &pf->vfs[v];
            if (vf->index >= planned || !vf->iommu_isolated)
                continue;
            out->vfs[used++] = (placement_vf_t){.index = vf->index,
                                                .pci_addr = vf->pci_addr,
                                                .in_use = vf->in_use};
        }
        out->pfs[out->pf_count++] =
            (placement_pf_t){.pci_addr = pf->pci_addr,
                             .ifname = pf->ifname,
                             .numa_node = pf->numa_node,
                             .link_speed = pf->link_speed,
                             .networks = networks,
                             .network_count = nets,
                             .vfs = first,
                             .vf_count = (size_t)(&out->vfs[used] - first)};
    }
}

void vm_index_host_stale(vm_index_t *self, const char *host)
{
    zhashx_insert(self->stale, host, (void *)"");
}

bool vm_index_refresh_one(vm_index_t *self)
{
    const char *first = zhashx_first(self->stale);
    if (!first)
        return false;
    char *host = strdup(zhashx_cursor(self->stale));
    assert(host);
    zhashx_delete(self->stale, host);
    vm_index_host_refresh(self, host);
    free(host);
    return true;
}

void vm_index_host_refresh(vm_index_t *self, const char *host)
{
    zhashx_delete(self->stale, host);
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(self->db, host, &row, &err) != 0) {
        if (err.code == DB_ERR_NOT_FOUND)
            placement_host_remove(self->placement, host);
        else
            vfp_log_warnx("host %s: cannot read it for placement: %s", host,
                          err.text);
        return;
    }
    placement_host_t entry = {.name = host,
                              .cordoned = row.cordoned,
                              .iommu_ready = row.iommu_ready,
                              .mem_total_mib = row.mem_total_kb / 1024};
    s_state_of(&row, &entry.ready, &entry.down_since_ms);
    desired_t *desired = NULL;
    s_pfs_t pfs = {0};
    if (self->latest.policy) {
        desired = desired_plan_host(self->db, self->latest.policy,
                                    self->latest.source, host, &err);
        if (!desired)
            vfp_log_warnx("host %s: cannot plan it for placement: %s", host,
                          err.text);
        else
            s_pfs_build(&pfs, desired);
    }
    entry.pfs = pfs.pfs;
    entry.pf_count = pfs.pf_count;
    placement_host_set(self->placement, &entry);
    free(pfs.pfs);
    free(pfs.vfs);
    desired_destroy(&desired);
}

void vm_index_vm_put(vm_index_t *self, const db_vm_t *vm)
{
    placement_vm_nic_t nics[DB_VM_NICS_MAX];
    for (uint32_t i = 0; i < vm->nic_count; i++) {
        const db_vm_nic_t *nic = &vm->nics[i];
        nics[i] = (placement_vm_nic_t){.network = nic->network,
                                       .pf = nic->pf[0] ? nic->pf : NULL,
                                       .vf = nic->vf};
        memcpy(nics[i].mac, nic->mac, sizeof(nics[i].mac));
    }
    placement_vm_t entry = {.name = vm->name,
                            .host = vm->host[0] ? vm->host : NULL,
                            .memory_mib = vm->memory_mib,
                            .group = vm->group,
                            .nics = nics,
                            .nic_count = vm->nic_count};
    placement_vm_add(self->placement, &entry);
}

void vm_index_vm_remove(vm_index_t *self, const char *name)
{
    placement_vm_remove(self->placement, name);
}

static int s_host_name(const db_host_row_t *row, void *arg)
{
    zlistx_add_end(arg, (void *)row->name);
    return 0;
}

/* Every host is read again, named first: planning a host reads the
 * database, which a listing in progress must not share. */
static int s_hosts_refresh(vm_index_t *self, db_err_t *err)
{
    zlistx_t *names = zlistx_new();
    assert(names);
    zlistx_set_duplicator(names, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(names, (zlistx_destructor_fn *)zstr_free);
    db_page_t page = {0};
    int rc = db_hosts_list(self->db, &page, s_host_name, names, err);
    for (const char *name = zlistx_first(names); rc == 0 && name;
         name = zlistx_next(names))
        vm_index_host_refresh(self, name);
    zlistx_destroy(&names);
    return rc;
}

static int s_vm_row(const db_vm_t *vm, void *arg)
{
    vm_index_vm_put(arg, vm);
    return 0;
}

void vm_index_policy_changed(vm_index_t *self)
{
    /* The same policy applied again stores no new revision: nothing a
     * host's PFs carry can have changed. */
    int64_t before = self->latest.revision;
    desired_policy_latest(self->db, &self->latest);
    if (before != 0 && self->latest.revision == before)
        return;
    placement_set_policy(self->placement, self->latest.policy);
    db_err_t err;
    if (s_hosts_refresh(self, &err) != 0)
        vfp_log_warnx("cannot read the hosts for placement: %s", err.text);
}

int vm_index_load(vm_index_t *self, db_err_t *err)
{
    desired_policy_latest(self->db, &self->latest);
    placement_set_policy(self->placement, self->latest.policy);
    db_page_t page = {0};
    db_vm_filter_t all = {0};
    if (s_hosts_refresh(self, err) != 0 ||
        db_vms_list(self->db, &all, &page, s_vm_row, self, err) != 0)
        return -1;
    vfp_log_info("placement: %zu hosts and %zu VMs indexed",
                 placement_host_count(self->placement),
                 placement_vm_count(self->placement));
    return 0;
}

int vm_index_reload(vm_index_t *self, db_err_t *err)
{
    placement_destroy(&self->placement);
    self->placement = placement_new();
    zhashx_purge(self->stale);
    desired_policy_clear(&self->latest);
    return vm_index_load(self, err);
}
