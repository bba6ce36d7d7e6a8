/* inventory_print.c - a host's inventory as a table or JSON. */
#include "inventory_print.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "vf_drift.h"
#include "vf_print.h"

static void s_print_host(out_t *out, const vfp_host_t *host)
{
    out_open_object(out, "host");
    out_string(out, OUT_ANY, "hostname", "host %s", host->hostname);
    out_string(out, OUT_ANY, "kernel", " kernel %s", host->kernel);
    out_string(out, OUT_ANY, "boot_id", " boot_id %s\n", host->boot_id);
    out_string(out, OUT_ANY, "cpu_virt", "cpu virtualisation %s\n",
               vfp_cpu_virt_name(host->cpu_virt));

    out_open_object(out, "iommu");
    out_bool(out, OUT_JSON, "ready", NULL, host->iommu_ready);
    out_text(out, "iommu %s", host->iommu_ready ? "ready" : "not ready");
    out_uint(out, OUT_ANY, "units", " units %" PRIu64, host->iommu_units);
    out_uint(out, OUT_ANY, "groups", " groups %" PRIu64, host->iommu_groups);
    out_string(out, OUT_JSON, "cmdline", NULL, host->iommu_cmdline);
    out_text(out, " cmdline %s\n",
             host->iommu_cmdline[0] ? host->iommu_cmdline : "(none)");
    out_open_array(out, "reasons");
    for (uint32_t i = 0; i < host->reason_count; i++)
        out_string(out, OUT_ANY, NULL, "    reason: %s\n", host->reasons[i]);
    out_close_array(out);
    out_close_object(out);

    out_open_object(out, "memory");
    out_uint(out, OUT_ANY, "total_kb", "memory total %" PRIu64 " kB",
             host->mem_total_kb);
    out_uint(out, OUT_ANY, "available_kb", " available %" PRIu64 " kB\n",
             host->mem_available_kb);
    out_open_array(out, "hugepages");
    for (uint32_t i = 0; i < host->hugepage_count; i++) {
        const vfp_hugepages_t *hp = &host->hugepages[i];
        out_open_object(out, NULL);
        out_uint(out, OUT_ANY, "size_kb", "hugepages %" PRIu64 "kB",
                 hp->size_kb);
        out_uint(out, OUT_ANY, "total", " total %" PRIu64, hp->total);
        out_uint(out, OUT_ANY, "free", " free %" PRIu64 "\n", hp->free);
        out_close_object(out);
    }
    out_close_array(out);
    out_close_object(out);
    out_close_object(out);
}

static void s_print_settings(out_t *out, const vfp_vf_t *vf)
{
    out_bool(out, OUT_JSON, "settings_known", NULL, vf->settings_known);
    if (!vf->settings_known) {
        out_text(out, "        settings unknown\n");
        return;
    }
    out_text(out, "        ");
    vf_print_settings(out, vf, VF_PRINT_SETTINGS);
    out_text(out, "\n");
}

static void s_print_vf(out_t *out, const vfp_vf_t *vf)
{
    out_open_object(out, NULL);
    out_uint(out, OUT_ANY, "vf", "    vf %" PRIu64, vf->index);
    if (vf->pci_addr[0])
        out_string(out, OUT_ANY, "pci_addr", " pci %s", vf->pci_addr);
    out_string(out, OUT_ANY, "driver", " driver %s",
               vf->driver[0] ? vf->driver : "none");
    out_int(out, OUT_JSON, "iommu_group", NULL, vf->iommu_group);
    if (vf->iommu_group >= 0)
        out_text(out, " iommu_group %d %s", (int)vf->iommu_group,
                 vf->iommu_isolated ? "isolated" : "shared");
    else
        out_text(out, " iommu_group none");
    out_bool(out, OUT_JSON, "iommu_isolated", NULL, vf->iommu_isolated);
    out_bool(out, OUT_JSON, "in_use", NULL, vf->in_use);
    out_text(out, "%s\n", vf->in_use ? " in-use" : "");
    s_print_settings(out, vf);
    if (vf->note[0])
        out_string(out, OUT_ANY, "note", "        note: %s\n", vf->note);
    out_close_object(out);
}

static void s_print_pf(out_t *out, const vfp_pf_t *pf)
{
    char id[16];
    out_open_object(out, NULL);
    out_string(out, OUT_ANY, "pci_addr", "pf %s", pf->pci_addr);
    out_string(out, OUT_ANY, "ifname", " ifname %s",
               pf->ifname[0] ? pf->ifname : "none");
    out_string(out, OUT_ANY, "driver", " driver %s",
               pf->driver[0] ? pf->driver : "none");
    snprintf(id, sizeof(id), "%04x", pf->vendor_id);
    out_string(out, OUT_ANY, "vendor_id", " id %s", id);
    snprintf(id, sizeof(id), "%04x", pf->device_id);
    out_string(out, OUT_ANY, "device_id", ":%s", id);
    out_int(out, OUT_JSON, "numa_node", NULL, pf->numa_node);
    if (pf->numa_node >= 0)
        out_text(out, " numa %d", pf->numa_node);
    else
        out_text(out, " numa none");
    out_bool(out, OUT_JSON, "link_up", NULL, pf->link_up);
    out_text(out, " link %s", pf->link_up ? "up" : "down");
    out_uint(out, OUT_JSON, "link_speed", NULL, pf->link_speed);
    if (pf->link_speed)
        out_text(out, " speed %uMb/s", pf->link_speed);
    out_text(out, "\n");
    out_uint(out, OUT_ANY, "num_vfs", "    vfs %" PRIu64, pf->num_vfs);
    out_uint(out, OUT_JSON, "total_vfs", NULL, pf->total_vfs);
    if (pf->total_vfs)
        out_text(out, " of %u", pf->total_vfs);
    else
        out_text(out, " of unknown");
    out_string(out, OUT_ANY, "vf_driver", " vf_driver %s\n",
               pf->vf_driver[0] ? pf->vf_driver : "none");
    if (pf->note[0])
        out_string(out, OUT_ANY, "note", "    note: %s\n", pf->note);
    out_open_array(out, "vfs");
    for (uint32_t i = 0; i < pf->vf_count; i++)
        s_print_vf(out, &pf->vfs[i]);
    out_close_array(out);
    out_close_object(out);
}

static void s_print(out_t *out, const vfp_inventory_t *inv,
                    const discover_warnings_t *warnings, bool with_desired,
                    const vfp_apply_t *desired)
{
    out_open_object(out, NULL);
    s_print_host(out, &inv->host);
    if (warnings && warnings->count) {
        out_open_array(out, "warnings");
        for (uint32_t i = 0; i < warnings->count; i++)
            out_string(out, OUT_ANY, NULL, "warning: %s\n", warnings->text[i]);
        out_close_array(out);
    }
    if (inv->pf_count == 0)
        out_text(out, "no SR-IOV PFs: no PCI device has sriov_totalvfs and "
                      "no netdev's parent device has sriov_numvfs\n");
    else
        out_text(out, "SR-IOV PFs %u\n", inv->pf_count);
    out_open_array(out, "pfs");
    for (uint32_t i = 0; i < inv->pf_count; i++)
        s_print_pf(out, &inv->pfs[i]);
    out_close_array(out);
    if (with_desired)
        vf_drift_print(out, inv, desired);
    out_close_object(out);
}

void inventory_print(out_t *out, const vfp_inventory_t *inv,
                     const discover_warnings_t *warnings)
{
    s_print(out, inv, warnings, false, NULL);
}

void inventory_print_desired(out_t *out, const vfp_inventory_t *inv,
                             const discover_warnings_t *warnings,
                             const vfp_apply_t *desired)
{
    s_print(out, inv, warnings, true, desired);
}
