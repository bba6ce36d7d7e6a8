/* inventory_print.c - a host's inventory as a table or JSON. */
#include "inventory_print.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "vf_drift.h"
#include "vf_print.h"

static void s_print_host(output_t *out, const vfp_host_t *host)
{
    output_open_object(out, "host");
    output_string(out, OUTPUT_ANY, "hostname", "host %s", host->hostname);
    output_string(out, OUTPUT_ANY, "kernel", " kernel %s", host->kernel);
    output_string(out, OUTPUT_ANY, "boot_id", " boot_id %s\n", host->boot_id);
    output_string(out, OUTPUT_ANY, "cpu_virt", "cpu virtualisation %s\n",
                  vfp_cpu_virt_name(host->cpu_virt));

    output_open_object(out, "iommu");
    output_bool(out, OUTPUT_JSON, "ready", NULL, host->iommu_ready);
    output_text(out, "iommu %s", host->iommu_ready ? "ready" : "not ready");
    output_uint(out, OUTPUT_ANY, "units", " units %" PRIu64, host->iommu_units);
    output_uint(out, OUTPUT_ANY, "groups", " groups %" PRIu64,
                host->iommu_groups);
    output_string(out, OUTPUT_JSON, "cmdline", NULL, host->iommu_cmdline);
    output_text(out, " cmdline %s\n",
                host->iommu_cmdline[0] ? host->iommu_cmdline : "(none)");
    output_open_array(out, "reasons");
    for (uint32_t i = 0; i < host->reason_count; i++)
        output_string(out, OUTPUT_ANY, NULL, "    reason: %s\n",
                      host->reasons[i]);
    output_close_array(out);
    output_close_object(out);

    output_open_object(out, "memory");
    output_uint(out, OUTPUT_ANY, "total_kb", "memory total %" PRIu64 " kB",
                host->mem_total_kb);
    output_uint(out, OUTPUT_ANY, "available_kb", " available %" PRIu64 " kB\n",
                host->mem_available_kb);
    output_open_array(out, "hugepages");
    for (uint32_t i = 0; i < host->hugepage_count; i++) {
        const vfp_hugepages_t *hp = &host->hugepages[i];
        output_open_object(out, NULL);
        output_uint(out, OUTPUT_ANY, "size_kb", "hugepages %" PRIu64 "kB",
                    hp->size_kb);
        output_uint(out, OUTPUT_ANY, "total", " total %" PRIu64, hp->total);
        output_uint(out, OUTPUT_ANY, "free", " free %" PRIu64 "\n", hp->free);
        output_close_object(out);
    }
    output_close_array(out);
    output_close_object(out);
    output_close_object(out);
}

static void s_print_settings(output_t *out, const vfp_vf_t *vf)
{
    output_bool(out, OUTPUT_JSON, "settings_known", NULL, vf->settings_known);
    if (!vf->settings_known) {
        output_text(out, "        settings unknown\n");
        return;
    }
    output_text(out, "        ");
    vf_print_settings(out, vf, VF_PRINT_SETTINGS);
    output_text(out, "\n");
}

static void s_print_vf(output_t *out, const vfp_vf_t *vf)
{
    output_open_object(out, NULL);
    output_uint(out, OUTPUT_ANY, "vf", "    vf %" PRIu64, vf->index);
    if (vf->pci_addr[0])
        output_string(out, OUTPUT_ANY, "pci_addr", " pci %s", vf->pci_addr);
    output_string(out, OUTPUT_ANY, "driver", " driver %s",
                  vf->driver[0] ? vf->driver : "none");
    output_int(out, OUTPUT_JSON, "iommu_group", NULL, vf->iommu_group);
    if (vf->iommu_group >= 0)
        output_text(out, " iommu_group %d %s", (int)vf->iommu_group,
                    vf->iommu_isolated ? "isolated" : "shared");
    else
        output_text(out, " iommu_group none");
    output_bool(out, OUTPUT_JSON, "iommu_isolated", NULL, vf->iommu_isolated);
    output_bool(out, OUTPUT_JSON, "in_use", NULL, vf->in_use);
    output_text(out, "%s\n", vf->in_use ? " in-use" : "");
    s_print_settings(out, vf);
    if (vf->note[0])
        output_string(out, OUTPUT_ANY, "note", "        note: %s\n", vf->note);
    output_close_object(out);
}

static void s_print_pf(output_t *out, const vfp_pf_t *pf)
{
    char id[16];
    output_open_object(out, NULL);
    output_string(out, OUTPUT_ANY, "pci_addr", "pf %s", pf->pci_addr);
    output_string(out, OUTPUT_ANY, "ifname", " ifname %s",
                  pf->ifname[0] ? pf->ifname : "none");
    output_string(out, OUTPUT_ANY, "driver", " driver %s",
                  pf->driver[0] ? pf->driver : "none");
    snprintf(id, sizeof(id), "%04x", pf->vendor_id);
    output_string(out, OUTPUT_ANY, "vendor_id", " id %s", id);
    snprintf(id, sizeof(id), "%04x", pf->device_id);
    output_string(out, OUTPUT_ANY, "device_id", ":%s", id);
    output_int(out, OUTPUT_JSON, "numa_node", NULL, pf->numa_node);
    if (pf->numa_node >= 0)
        output_text(out, " numa %d", pf->numa_node);
    else
        output_text(out, " numa none");
    output_bool(out, OUTPUT_JSON, "link_up", NULL, pf->link_up);
    output_text(out, " link %s", pf->link_up ? "up" : "down");
    output_uint(out, OUTPUT_JSON, "link_speed", NULL, pf->link_speed);
    if (pf->link_speed)
        output_text(out, " speed %uMb/s", pf->link_speed);
    output_text(out, "\n");
    output_uint(out, OUTPUT_ANY, "num_vfs", "    vfs %" PRIu64, pf->num_vfs);
    output_uint(out, OUTPUT_JSON, "total_vfs", NULL, pf->total_vfs);
    if (pf->total_vfs)
        output_text(out, " of %u", pf->total_vfs);
    else
        output_text(out, " of unknown");
    output_string(out, OUTPUT_ANY, "vf_driver", " vf_driver %s\n",
                  pf->vf_driver[0] ? pf->vf_driver : "none");
    if (pf->note[0])
        output_string(out, OUTPUT_ANY, "note", "    note: %s\n", pf->note);
    output_open_array(out, "vfs");
    for (uint32_t i = 0; i < pf->vf_count; i++)
        s_print_vf(out, &pf->vfs[i]);
    output_close_array(out);
    output_close_object(out);
}

static void s_print(output_t *out, const vfp_inventory_t *inv,
                    const discover_warnings_t *warnings, bool with_desired,
                    const vfp_apply_t *desired)
{
    output_open_object(out, NULL);
    s_print_host(out, &inv->host);
    if (warnings && warnings->count) {
        output_open_array(out, "warnings");
        for (uint32_t i = 0; i < warnings->count; i++)
            output_string(out, OUTPUT_ANY, NULL, "warning: %s\n",
                          warnings->text[i]);
        output_close_array(out);
    }
    if (inv->pf_count == 0)
        output_text(out, "no SR-IOV PFs: no PCI device has sriov_totalvfs and "
                         "no netdev's parent device has sriov_numvfs\n");
    else
        output_text(out, "SR-IOV PFs %u\n", inv->pf_count);
    output_open_array(out, "pfs");
    for (uint32_t i = 0; i < inv->pf_count; i++)
        s_print_pf(out, &inv->pfs[i]);
    output_close_array(out);
    if (with_desired)
        vf_drift_print(out, inv, desired);
    output_close_object(out);
}

void inventory_print(output_t *out, const vfp_inventory_t *inv,
                     const discover_warnings_t *warnings)
{
    s_print(out, inv, warnings, false, NULL);
}

void inventory_print_desired(output_t *out, const vfp_inventory_t *inv,
                             const discover_warnings_t *warnings,
                             const vfp_apply_t *desired)
{
    s_print(out, inv, warnings, true, desired);
}
