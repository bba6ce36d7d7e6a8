/* vm_json.c - a VM and its NICs as the admin API's JSON object. */
#include "vm_json.h"

#include "admin_json.h"

const char *vm_json_state(const db_vm_t *vm)
{
    if (vm->host_down && vm->state != DB_VM_FAILED)
        return "host-down";
    return db_vm_state_name(vm->state);
}

static const char *s_hugepages(const policy_t *policy)
{
    if (!policy)
        return "none";
    switch (policy->hugepages) {
    case POLICY_HUGEPAGES_2M:
        return "2M";
    case POLICY_HUGEPAGES_1G:
        return "1G";
    default:
        return "none";
    }
}

static json_t *s_nic(const db_vm_nic_t *nic, uint32_t index,
                     const policy_t *policy)
{
    char mac[18];
    vfp_mac_format(nic->mac, mac);
    bool held = nic->pf[0] != '\0';
    const policy_network_t *net =
        policy ? policy_network_find(policy, nic->network) : NULL;
    return json_pack(
        "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "index",
        (json_int_t)index, "network", nic->network, "mac", mac, "pf",
        held ? json_string(nic->pf) : json_null(), "pf_ifname",
        held ? json_string(nic->pf_ifname) : json_null(), "vf",
        held ? json_integer(nic->vf) : json_null(), "vf_pci",
        held && nic->vf_pci[0] ? json_string(nic->vf_pci) : json_null(), "vlan",
        net ? json_integer(net->trunk ? 0 : net->vlan) : json_null(), "trunk",
        net && net->trunk);
}

json_t *vm_json(const db_vm_t *vm, const policy_t *policy)
{
    json_t *nics = json_array();
    for (uint32_t i = 0; i < vm->nic_count; i++)
        json_array_append_new(nics, s_nic(&vm->nics[i], i, policy));
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:o,"
        " s:s, s:o, s:s}",
        "name", vm->name, "state", vm_json_state(vm), "host",
        vm->host[0] ? json_string(vm->host) : json_null(), "memory_mib",
        (json_int_t)vm->memory_mib, "vcpus", (json_int_t)vm->vcpus, "power",
        db_vm_power_name(vm->power), "group", vm->group, "numa",
        vm->numa[0] ? vm->numa : "none", "separate_pfs", vm->separate_pfs,
        "pin", vm->pin, "error", vm->error, "created_at",
        admin_json_time(vm->created_at_ms), "placed_at",
        admin_json_time(vm->placed_at_ms), "hugepages", s_hugepages(policy),
        "nics", nics, "pinned", VM_JSON_PINNED);
}
