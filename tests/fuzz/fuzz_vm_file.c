/* fuzz_vm_file.c - libFuzzer target for the VM file parser (vfleetctl vm
 * apply). Any input must be accepted or rejected without a crash, a leak
 * or undefined behaviour; a rejected one says why, and an accepted one
 * holds only what POLICY.md "VM files" allows. */
#include "vm_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_vm(const policy_vm_t *vm)
{
    if (!policy_name_valid(vm->name) || vm->memory_mib == 0 ||
        vm->memory_mib > POLICY_RESERVE_MAX_MIB || vm->vcpus == 0 ||
        vm->vcpus > POLICY_VM_VCPUS_MAX || vm->nic_count == 0 ||
        vm->nic_count > POLICY_VM_NICS_MAX ||
        (vm->group && !policy_name_valid(vm->group)) ||
        (vm->host && strlen(vm->host) > POLICY_HOST_NAME_MAX) ||
        vm->numa > POLICY_VM_NUMA_REQUIRED)
        abort();
    for (size_t i = 0; i < vm->nic_count; i++)
        if (!policy_name_valid(vm->nics[i].network) ||
            (vm->nics[i].mac && strlen(vm->nics[i].mac) != 17))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy_errors_t *errs = policy_errors_new();
    if (!errs)
        abort();
    policy_vm_file_t *file =
        policy_vm_file_parse("fuzz", (const char *)data, size, errs);
    if (!file) {
        if (policy_errors_count(errs) == 0 &&
            !policy_errors_out_of_memory(errs))
            abort();
    } else {
        if (file->vm_count == 0 || file->vm_count > POLICY_VM_FILE_MAX_VMS ||
            policy_errors_count(errs) != 0)
            abort();
        for (size_t i = 0; i < file->vm_count; i++)
            s_check_vm(&file->vms[i]);
    }
    policy_vm_file_destroy(&file);
    policy_errors_destroy(&errs);
    return 0;
}
