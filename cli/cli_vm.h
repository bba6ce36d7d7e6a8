/* cli_vm.h - vfleetctl's VM verbs (vm create, delete, show, migrate,
 * power, xml, evacuate, nic; vms; host cordon, uncordon, drain) over the
 * admin API
 * (controller/ADMIN.md); the handlers are declared in cli.h. */
#ifndef VFLEET_CLI_VM_H
#define VFLEET_CLI_VM_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* How long vm create --wait waits unless --timeout says otherwise. */
#define CLI_VM_WAIT_DEFAULT_MS 60000

/* Parses a memory SIZE: a whole number with K, M, G or T (either case,
 * optionally followed by "iB": binary units), a plain number being MiB,
 * into MiB. Returns 0, or -1 for anything else, a size below 1 MiB, one
 * that is not a whole number of MiB, or one over 16T (what a VM file may
 * give, POLICY_RESERVE_MAX_MIB). */
int cli_vm_size_parse(const char *text, uint64_t *mib);

/* The options that describe a VM request (vm.create's body): vm create's
 * and plan's. Their codes are CLI_VM_OPT_*; a verb numbers its own options
 * from CLI_VM_OPT_NEXT. */
enum {
    CLI_VM_OPT_MEMORY = CLI_OPT_VERB,
    CLI_VM_OPT_VCPUS,
    CLI_VM_OPT_NIC,
    CLI_VM_OPT_HOST,
    CLI_VM_OPT_GROUP,
    CLI_VM_OPT_NUMA,
    CLI_VM_OPT_SEPARATE_PFS,
    CLI_VM_OPT_NEXT,
};

#define CLI_VM_REQUEST_OPTIONS                                                 \
    {"memory", required_argument, NULL, CLI_VM_OPT_MEMORY},                    \
        {"vcpus", required_argument, NULL, CLI_VM_OPT_VCPUS},                  \
        {"nic", required_argument, NULL, CLI_VM_OPT_NIC},                      \
        {"host", required_argument, NULL, CLI_VM_OPT_HOST},                    \
        {"group", required_argument, NULL, CLI_VM_OPT_GROUP},                  \
        {"numa", required_argument, NULL, CLI_VM_OPT_NUMA},                    \
    {                                                                          \
        "separate-pfs", no_argument, NULL, CLI_VM_OPT_SEPARATE_PFS             \
    }

/* Applies option `opt` (a CLI_VM_OPT_* code below CLI_VM_OPT_NEXT) with
 * value arg to body, a vm.create body. Returns 0, or CLI_EXIT_USAGE after
 * reporting a bad value as "VERB: ..." followed by usage. */
int cli_vm_request_option(json_t *body, int opt, const char *arg,
                          const char *verb, const char *usage);

/* Returns 0 when body has --memory, --vcpus and a --nic, else
 * CLI_EXIT_USAGE after naming the missing option as "VERB: ...". */
int cli_vm_request_check(const json_t *body, const char *verb,
                         const char *usage);

/* Prints a placement refusal's details (vm.create's CONFLICT body: its
 * closest hosts, then how many hosts each rule refused) to out, one line
 * each. */
void cli_vm_print_refusal(const json_t *detail, FILE *out);

#endif
