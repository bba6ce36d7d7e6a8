/* cli_vm.h - vfleetctl's VM verbs (vm create, delete, show, migrate,
 * power, xml; vms; host cordon, uncordon, drain) over the admin API
 * (controller/ADMIN.md); the handlers are declared in cli.h. */
#ifndef VFLEET_CLI_VM_H
#define VFLEET_CLI_VM_H

#include <stdint.h>

/* How long vm create --wait waits unless --timeout says otherwise. */
#define CLI_VM_WAIT_DEFAULT_MS 60000

/* Parses a memory SIZE: a whole number with K, M, G or T (either case,
 * optionally followed by "iB": binary units), a plain number being MiB,
 * into MiB. Returns 0, or -1 for anything else, a size below 1 MiB, one
 * that is not a whole number of MiB, or one over 2^40 MiB. */
int cli_vm_size_parse(const char *text, uint64_t *mib);

#endif
