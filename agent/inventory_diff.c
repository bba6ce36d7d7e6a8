/* inventory_diff.c - what changed between two scans, as a protocol delta. */
#include "inventory_diff.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Field by field: the structs hold padding and text buffers whose bytes
 * after the terminating NUL mean nothing. */
static bool s_host_equal(const vfp_host_t *a, const vfp_host_t *b)
{
    if (strcmp(a->hostname, b->hostname) || strcmp(a->boot_id, b->boot_id) ||
        strcmp(a->kernel, b->kernel) || a->cpu_virt != b->cpu_virt ||
        a->iommu_ready != b->iommu_ready || a->iommu_units != b->iommu_units ||
        a->iommu_groups != b->iommu_groups ||
        strcmp(a->iommu_cmdline, b->iommu_cmdline) ||
        a->reason_count != b->reason_count ||
        a->mem_total_kb != b->mem_total_kb ||
        a->hugepage_count != b->hugepage_count)
        return false;
    for (uint32_t i = 0; i < a->reason_count; i++)
        if (strcmp(a->reasons[i], b->reasons[i]))
            return false;
    for (uint32_t i = 0; i < a->hugepage_count; i++)
        if (a->hugepages[i].size_kb != b->hugepages[i].size_kb ||
            a->hugepages[i].total != b->hugepages[i].total ||
            a->hugepages[i].free != b->hugepages[i].free)
            return false;
    /* MemAvailable moves all the time; reporting every wobble would turn
     * each rescan into a delta. A change of a sixteenth or more counts. */
    uint64_t x = a->mem_available_kb, y = b->mem_available_kb;
    uint64_t diff = x > y ? x - y : y - x;
    return diff < (x > y ? x : y) / 16;
}

static bool s_vf_equal(const vfp_vf_t *a, const vfp_vf_t *b)
{
    return a->index == b->index && !strcmp(a->pci_addr, b->pci_addr) &&
           a->iommu_group == b->iommu_group &&
           a->iommu_isolated == b->iommu_isolated &&
           !strcmp(a->driver, b->driver) && !memcmp(a->mac, b->mac, 6) &&
           a->vlan == b->vlan && a->qos == b->qos &&
           a->vlan_proto == b->vlan_proto && a->spoofchk == b->spoofchk &&
           a->trust == b->trust && a->link_state == b->link_state &&
           a->min_tx_rate == b->min_tx_rate &&
           a->max_tx_rate == b->max_tx_rate &&
           a->settings_known == b->settings_known && a->in_use == b->in_use &&
           !strcmp(a->note, b->note);
}

static bool s_pf_equal(const vfp_pf_t *a, const vfp_pf_t *b)
{
    if (strcmp(a->pci_addr, b->pci_addr) || strcmp(a->ifname, b->ifname) ||
        strcmp(a->driver, b->driver) || strcmp(a->vf_driver, b->vf_driver) ||
        a->vendor_id != b->vendor_id || a->device_id != b->device_id ||
        a->numa_node != b->numa_node || a->link_speed != b->link_speed ||
        a->link_up != b->link_up || a->total_vfs != b->total_vfs ||
        a->num_vfs != b->num_vfs || strcmp(a->note, b->note) ||
        a->vf_count != b->vf_count)
        return false;
    for (uint32_t i = 0; i < a->vf_count; i++)
        if (!s_vf_equal(&a->vfs[i], &b->vfs[i]))
            return false;
    return true;
}

static void s_pf_copy(vfp_pf_t *dst, const vfp_pf_t *src)
{
    *dst = *src;
    dst->vfs = NULL;
    if (src->vf_count) {
        dst->vfs = malloc(src->vf_count * sizeof(*dst->vfs));
        assert(dst->vfs);
        memcpy(dst->vfs, src->vfs, src->vf_count * sizeof(*dst->vfs));
    }
}

void inventory_diff_copy(vfp_inventory_t *dst, const vfp_inventory_t *src)
{
    dst->generation = src->generation;
    dst->host = src->host;
    dst->pf_count = src->pf_count;
    dst->pfs = NULL;
    if (src->pf_count) {
        dst->pfs = calloc(src->pf_count, sizeof(*dst->pfs));
        assert(dst->pfs);
        for (uint32_t i = 0; i < src->pf_count; i++)
            s_pf_copy(&dst->pfs[i], &src->pfs[i]);
    }
}

static const vfp_pf_t *s_find(const vfp_inventory_t *inv, const char *addr)
{
    for (uint32_t i = 0; i < inv->pf_count; i++)
        if (!strcmp(inv->pfs[i].pci_addr, addr))
            return &inv->pfs[i];
    return NULL;
}

bool inventory_diff(const vfp_inventory_t *old, const vfp_inventory_t *new,
                    vfp_inventory_delta_t *delta)
{
    if (!s_host_equal(&old->host, &new->host)) {
        delta->has_host = true;
        delta->host = new->host;
    }
    for (uint32_t i = 0; i < new->pf_count; i++) {
        const vfp_pf_t *before = s_find(old, new->pfs[i].pci_addr);
        if (before && s_pf_equal(before, &new->pfs[i]))
            continue;
        if (!delta->pfs) {
            delta->pfs = calloc(new->pf_count, sizeof(*delta->pfs));
            assert(delta->pfs);
        }
        s_pf_copy(&delta->pfs[delta->pf_count++], &new->pfs[i]);
    }
    for (uint32_t i = 0; i < old->pf_count; i++) {
        if (s_find(new, old->pfs[i].pci_addr))
            continue;
        if (!delta->removed) {
            delta->removed = calloc(old->pf_count, sizeof(*delta->removed));
            assert(delta->removed);
        }
        memcpy(delta->removed[delta->removed_count++], old->pfs[i].pci_addr,
               sizeof(delta->removed[0]));
    }
    return delta->has_host || delta->pf_count || delta->removed_count;
}

void inventory_diff_delta_clear(vfp_inventory_delta_t *delta)
{
    for (uint32_t i = 0; i < delta->pf_count; i++)
        free(delta->pfs[i].vfs);
    free(delta->pfs);
    free(delta->removed);
    memset(delta, 0, sizeof(*delta));
}
