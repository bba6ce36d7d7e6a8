/* vm_plan.h - the admin verb plan (ADMIN.md): the placement filter and
 * scorer run on the live index for VMs that are not created, each placed
 * tentatively so the next sees the capacity it took, then all taken back.
 * Nothing is stored. Runs on the main thread, which owns the index. */
#ifndef VFLEET_VM_PLAN_H
#define VFLEET_VM_PLAN_H

#include <stdbool.h>

#include "vfp.h"
#include "vm_index.h"

/* VMs of a file (`vms`), at most; copies of one VM (`count`) are bounded
 * by VFP_PLAN_COUNT_MAX, which vfleetctl checks too. */
#define VM_PLAN_VMS_MAX 10000
/* VMs named one by one in the answer; the rest are counted per host. */
#define VM_PLAN_LISTED_MAX 1000

bool vm_plan_is_verb(const char *verb);

/* Answers one REQUEST plan with its REPLY. */
vfp_msg_t *vm_plan_handle(vm_index_t *index, const vfp_msg_t *request);

#endif
