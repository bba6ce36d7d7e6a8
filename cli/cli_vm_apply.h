/* cli_vm_apply.h - vfleetctl vm apply FILE: the VMs a VM file declares
 * (policy/POLICY.md "VM files") made to exist on the controller. */
#ifndef VFLEET_CLI_VM_APPLY_H
#define VFLEET_CLI_VM_APPLY_H

#include <jansson.h>

#include "cli.h"
#include "vm_file.h"

/* argv[0] is "vm apply" (as cli_host_label's is "host label"); the rest
 * are FILE and the options in any order. Returns 0 when every VM was
 * created or is unchanged, 1 when one was refused or failed (or the file
 * is invalid), 2 for a usage error, 3 for --dry-run when a VM would be
 * created. */
cli_verb_fn cli_vm_apply;

/* Parses the VM file at path; NULL after printing every error on stderr
 * as FILE:LINE:COLUMN: message (as policy validate does). */
policy_vm_file_t *cli_vm_apply_load(const char *path);

/* vm's vm.create body (controller/ADMIN.md), a new JSON object. */
json_t *cli_vm_apply_request(const policy_vm_t *vm);

#endif
