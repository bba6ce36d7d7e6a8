/* vm_read.h - the admin API's read verbs of VMs (ADMIN.md): vms, vm.show
 * and vm.migrate (always refused: passthrough VMs are pinned), read from
 * the admin thread's read-only connection. */
#ifndef VFLEET_VM_READ_H
#define VFLEET_VM_READ_H

#include "admin_policy.h"

admin_policy_verb_fn vm_read_list;
admin_policy_verb_fn vm_read_show;
admin_policy_verb_fn vm_read_migrate;

#endif
