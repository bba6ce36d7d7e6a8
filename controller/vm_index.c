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
    zhashx_t *stale;  /* hosts to read again: name -> "" */
    zhashx_t *prints; /* name -> s_prints_t: its PFs as last indexed */
};

/* What placement takes of each PF of a host, as a hash per PF: a delta
 * whose PFs hash the same (only VF settings changed, as after every
 * APPLY) leaves the index as it is, without reading the host again. */
typedef struct {
    size_t count;
    struct {
        char pci_addr[VFP_PCI_ADDR_MAX + 1];
        uint64_t hash;
    } pfs[];
} s_prints_t;

static void s_prints_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* FNV-1a, 64 bits. */
static uint64_t s_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t s_hash_str(uint64_t h, const char *text)
{
    return s_hash(h, text, strlen(text) + 1);
}

static uint64_t s_hash_int(uint64_t h, int64_t value)
{
    return s_hash(h, &value, sizeof(value));
}

/* Every fact of the PF and its VFs that planning or placement reads:
 * all but the VF settings (MAC, VLAN, flags, rates), which an APPLY
 * changes and a plan writes rather than reads. */
static uint64_t s_pf_hash(const vfp_pf_t *pf)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = s_hash_str(h, pf->pci_addr);
    h = s_hash_str(h, pf->ifname);
    h = s_hash_str(h, pf->driver);
    h = s_hash_str(h, pf->vf_driver);
    h = s_hash_str(h, pf->note);
    int64_t facts[] = {pf->vendor_id,  pf->device_id, pf->numa_node,
                       pf->link_speed, pf->link_up,   pf->total_vfs,
                       pf->num_vfs,    pf->vf_count};
    h = s_hash(h, facts, sizeof(facts));
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        const vfp_vf_t *vf = &pf->vfs[i];
        h = s_hash_str(h, vf->pci_addr);
        h = s_hash_str(h, vf->driver);
        h = s_hash_int(h, vf->index);
        h = s_hash_int(h, vf->iommu_group);
        h = s_hash_int(h, vf->iommu_isolated);
        h = s_hash_int(h, vf->in_use);
    }
    return h;
}

/* The host's PFs as just indexed from inv (NULL: none known). */
static void s_prints_store(vm_index_t *self, const char *host,
                           const vfp_inventory_t *inv)
{
    size_t count = inv ? inv->pf_count : 0;
    s_prints_t *prints =
        malloc(sizeof(*prints) + count * sizeof(prints->pfs[0]));
    assert(prints);
    prints->count = count;
    for (size_t i = 0; i < count; i++) {
        snprintf(prints->pfs[i].pci_addr, sizeof(prints->pfs[i].pci_addr), "%s",
                 inv->pfs[i].pci_addr);
        prints->pfs[i].hash = s_pf_hash(&inv->pfs[i]);
    }
    zhashx_update(self->prints, host, prints);
}

bool vm_index_delta_matters(vm_index_t *self, const char *host,
                            const vfp_inventory_delta_t *delta)
{
    const s_prints_t *prints = zhashx_lookup(self->prints, host);
    if (!prints || delta->has_host || delta->removed_count > 0)
        return true;
    for (uint32_t p = 0; p < delta->pf_count; p++) {
        const vfp_pf_t *pf = &delta->pfs[p];
        size_t i = 0;
        while (i < prints->count &&
               strcmp(prints->pfs[i].pci_addr, pf->pci_addr) != 0)
            i++;
        if (i == prints->count || prints->pfs[i].hash != s_pf_hash(pf))
            return true;
    }
    return false;
}

vm_index_t *vm_index_new(db_t *db)
{
    vm_index_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->db = db;
    self->placement = placement_new();
    self->stale = zhashx_new();
    self->prints = zhashx_new();
    assert(self->stale && self->prints);
    zhashx_set_destructor(self->prints, s_prints_free);
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
    zhashx_destroy(&self->prints);
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
        if (err.code == DB_ERR_NOT_FOUND) {
            placement_host_remove(self->placement, host);
            zhashx_delete(self->prints, host);
        }
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
        zhashx_delete(self->prints, host);
        if (err.code == DB_ERR_NOT_FOUND)
            placement_host_remove(self->placement, host);
        else
            VFP_LOG_LIMITED(VFP_LOG_WARN,
                            "host %s: cannot read it for placement: %s", host,
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
            VFP_LOG_LIMITED(VFP_LOG_WARN,
                            "host %s: cannot plan it for placement: %s", host,
                            err.text);
        else
            s_pfs_build(&pfs, desired);
    }
    if (desired)
        s_prints_store(self, host, desired_inventory(desired));
    else
        zhashx_delete(self->prints, host);
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
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot read the hosts for placement: %s",
                        err.text);
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
    zhashx_purge(self->prints);
    desired_policy_clear(&self->latest);
    return vm_index_load(self, err);
}
