/* vm_json.h - a VM as the admin API's JSON object (ADMIN.md, "VMs"), for
 * the read verbs and the write verbs alike. */
#ifndef VFLEET_VM_JSON_H
#define VFLEET_VM_JSON_H

#include <jansson.h>

#include "policy.h"
#include "vfleet_db.h"

/* What a passthrough VM cannot do, said with every VM. */
#define VM_JSON_PINNED                                                         \
    "passthrough VMs are pinned to their host: no live migration, no HA "      \
    "restart elsewhere, no snapshots"

/* The state an operator sees: "host-down" for a reserved or placed VM
 * whose host is down, otherwise the stored state's name. */
const char *vm_json_state(const db_vm_t *vm);

/* The VM object. policy (the latest stored, or NULL) gives each NIC's
 * VLAN and trunk flag and the hugepage size. */
json_t *vm_json(const db_vm_t *vm, const policy_t *policy);

/* The same object as text, byte for byte what json_dumps(vm_json(vm,
 * policy), JSON_COMPACT) gives, written without building the tree (the
 * answer to every vm.create). malloc'd; NULL when a text of the VM is not
 * valid UTF-8, which jansson refuses: the caller then builds the tree. */
char *vm_json_text(const db_vm_t *vm, const policy_t *policy);

#endif
