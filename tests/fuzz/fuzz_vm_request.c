/* fuzz_vm_request.c - libFuzzer target for a VM request as vm.create and
 * plan read it from an admin client (ADMIN.md, "vm.create"): any body must
 * be refused with an error that names where, or read into a request
 * within the documented limits; a request read is decided against a small
 * index, and what is decided holds what was asked, is committed and given
 * back, and leaves the index as it was. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "vm_file.h"
#include "vm_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char s_policy[] =
    "version: 1\n"
    "networks:\n"
    "  - {name: vlan1, vlan: 1}\n"
    "  - {name: trunk, trunk: true}\n"
    "  - {name: bw, vlan: 3, min_tx_rate: 4000}\n"
    "mac_pools:\n"
    "  - {name: vf, prefixes: [\"02:00:00:00:00\"]}\n"
    "memory:\n"
    "  hugepages: 2M\n"
    "  hypervisor_reserve: 1G\n"
    "placement:\n"
    "  strategy: pack\n"
    "  anti_affinity_groups:\n"
    "    - {name: db, vms: [\"db-*\"]}\n";

static placement_t *s_index;
static const char *const s_hosts[] = {"h1", "h2", "h3", "h4"};

/* h1 ready with two PFs of 4 VFs on two NUMA nodes, h2 down, h3
 * cordoned, h4 without IOMMU; db-1 holds h1's first VF and a MAC. */
static void s_index_new(void)
{
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy =
        policy_parse_buffer("p.yaml", s_policy, strlen(s_policy), errs);
    if (!policy)
        abort();
    policy_errors_destroy(&errs);
    s_index = placement_new();
    placement_set_policy(s_index, policy);
    policy_destroy(&policy);
    static const char *const nets0[] = {"vlan1", "trunk"};
    static const char *const nets1[] = {"vlan1", "bw"};
    static const char *const pci[2][4] = {
        {"0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"},
        {"0000:01:10.1", "0000:01:10.3", "0000:01:10.5", "0000:01:10.7"}};
    placement_vf_t vfs[2][4];
    for (int p = 0; p < 2; p++)
        for (int v = 0; v < 4; v++)
            vfs[p][v] = (placement_vf_t){.index = (uint16_t)v,
                                         .pci_addr = pci[p][v],
                                         .in_use = p == 1 && v == 3};
    placement_pf_t pfs[2] = {
        {"0000:01:00.0", "ens1f0", 0, 10000, nets0, 2, vfs[0], 4},
        {"0000:01:00.1", "ens1f1", 1, 10000, nets1, 2, vfs[1], 4}};
    for (size_t h = 0; h < 4; h++)
        placement_host_set(s_index, &(placement_host_t){.name = s_hosts[h],
                                                        .ready = h != 1,
                                                        .down_since_ms = 1000,
                                                        .cordoned = h == 2,
                                                        .iommu_ready = h != 3,
                                                        .mem_total_mib = 16384,
                                                        .pfs = pfs,
                                                        .pf_count = 2});
    placement_vm_nic_t nic = {.network = "vlan1",
                              .mac = {2, 0, 0, 0, 0, 0},
                              .pf = "0000:01:00.0",
                              .vf = 0};
    placement_vm_add(s_index, &(placement_vm_t){.name = "db-1",
                                                .host = "h1",
                                                .memory_mib = 2048,
                                                .group = "",
                                                .nics = &nic,
                                                .nic_count = 1});
}

static void s_check_request(const placement_request_t *req)
{
    if (!policy_name_valid(req->name) || req->memory_mib == 0 ||
        req->memory_mib > (UINT64_C(1) << 40) || req->vcpus == 0 ||
        req->vcpus > POLICY_VM_VCPUS_MAX || req->nic_count == 0 ||
        req->nic_count > PLACEMENT_NICS_MAX)
        abort();
    for (size_t i = 0; i < req->nic_count; i++)
        if (!policy_name_valid(req->nics[i].network))
            abort();
}

/* A decision holds what was asked; committed and given back, it leaves
 * the index as it was. */
static void s_check_decision(const placement_request_t *req,
                             const placement_decision_t *d)
{
    bool known = false;
    for (size_t h = 0; h < 4; h++)
        known = known || strcmp(d->host, s_hosts[h]) == 0;
    if (!known || d->nic_count != req->nic_count ||
        d->memory_mib < req->memory_mib)
        abort();
    placement_vm_nic_t nics[PLACEMENT_NICS_MAX];
    for (size_t i = 0; i < d->nic_count; i++) {
        if (strcmp(d->nics[i].network, req->nics[i].network) != 0 ||
            (req->nics[i].has_mac &&
             memcmp(d->nics[i].mac, req->nics[i].mac, 6) != 0))
            abort();
        nics[i] = (placement_vm_nic_t){.network = d->nics[i].network,
                                       .pf = d->nics[i].pf,
                                       .vf = d->nics[i].vf};
        memcpy(nics[i].mac, d->nics[i].mac, 6);
    }
    size_t vms = placement_vm_count(s_index);
    placement_vm_add(s_index, &(placement_vm_t){.name = req->name,
                                                .host = d->host,
                                                .memory_mib = d->memory_mib,
                                                .group = req->group,
                                                .nics = nics,
                                                .nic_count = d->nic_count});
    if (placement_vm_count(s_index) != vms + 1 ||
        placement_vm_remove(s_index, req->name) != 0 ||
        placement_vm_count(s_index) != vms)
        abort();
}

static void s_check_refusal(placement_refusal_t *why)
{
    const char *text = why ? placement_refusal_text(why) : NULL;
    json_t *detail = why ? vm_request_refusal_json(why) : NULL;
    if (!text || !text[0] || !detail)
        abort();
    json_decref(detail);
    placement_refusal_destroy(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_index)
        s_index_new();
    json_t *body = json_loadb((const char *)data, size, 0, NULL);
    placement_request_t req;
    char err[VFP_TEXT_MAX + 1] = "";
    if (vm_request_parse(body, "body", &req, err) != 0) {
        if (strncmp(err, "body: ", 6) != 0 || !err[6])
            abort();
        json_decref(body);
        return 0;
    }
    s_check_request(&req);
    size_t vms = placement_vm_count(s_index);
    placement_decision_t decision;
    placement_refusal_t *why = NULL;
    if (placement_decide(s_index, &req, &decision, &why) == 0)
        s_check_decision(&req, &decision);
    else
        s_check_refusal(why);
    size_t placed = 0;
    why = NULL;
    if (placement_plan_count(s_index, &req, 3, &placed, NULL, &why) != 0)
        s_check_refusal(why);
    if (placed > 3 || placement_vm_count(s_index) != vms)
        abort();
    json_decref(body);
    return 0;
}
