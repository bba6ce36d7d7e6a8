/* cli.h - vfleetctl's global options, the option loop every verb shares,
 * error reporting and the verb handlers. A verb family lives in its own
 * file (cli_policy.c, cli_admin.c) and is registered in the dispatch table
 * of vfleetctl.c. */
#ifndef VFLEET_CLI_H
#define VFLEET_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfp_transport.h"

/* Exit statuses every verb uses. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_CHANGES 3 /* policy diff, --dry-run: something changes */
/* policy apply / rollback: a host failed, was refused or did not confirm
 * in time; vm create --wait: the VM failed or was not placed in time. */
#define CLI_EXIT_INCOMPLETE 4

/* Where the controller's admin API listens unless told otherwise. */
#define CLI_DEFAULT_CONTROLLER VFP_DEFAULT_ADMIN_ENDPOINT
/* How long a verb waits for each answer unless --timeout says otherwise. */
#define CLI_TIMEOUT_DEFAULT_MS 5000

/* A busy answer (VFP_BUSY_PREFIX) is sent again after CLI_BUSY_PAUSE_MS,
 * then twice as long each time up to CLI_BUSY_PAUSE_MAX_MS, within
 * --timeout (ADMIN.md, PROTOCOL.md 7.5). */
#define CLI_BUSY_PAUSE_MS 50
#define CLI_BUSY_PAUSE_MAX_MS 1000
/* How long policy apply and rollback wait for the hosts unless --timeout
 * says otherwise: the whole wait, not each answer. */
#define CLI_ROLLOUT_TIMEOUT_DEFAULT_MS 60000

typedef enum {
    CLI_OUTPUT_TABLE,
    CLI_OUTPUT_JSON,
} cli_output_t;

/* The admin key files used on a tcp:// endpoint unless --key,
 * --controller-key or the environment name others (README.md, "Keys"),
 * under the home directory. */
#define CLI_KEY_DEFAULT "~/.config/vfleet/admin.key_secret"
#define CLI_CONTROLLER_KEY_DEFAULT "~/.config/vfleet/controller.key"

/* Global options: accepted before the verb and after it. */
typedef struct {
    const char *controller;
    cli_output_t output;
    uint32_t timeout_ms;
    bool timeout_set; /* --timeout was given */
    /* CURVE on a tcp:// endpoint: this client's secret certificate and
     * the controller's public one; --insecure sends plaintext instead. */
    const char *key;
    const char *controller_key;
    bool insecure;
    char key_default[4096]; /* CLI_KEY_DEFAULT under $HOME */
    char controller_key_default[4096];
} cli_t;

/* Option codes. Global options keep their short letters; verb options are
 * long only and numbered from CLI_OPT_VERB, so the two never collide. */
enum {
    CLI_OPT_TIMEOUT = 0x100,
    CLI_OPT_KEY,
    CLI_OPT_CONTROLLER_KEY,
    CLI_OPT_INSECURE,
    CLI_OPT_VERB = 0x200,
};

/* The global options' entries, first in every verb's option table. */
#define CLI_GLOBAL_OPTIONS                                                     \
    {"controller", required_argument, NULL, 'c'},                              \
        {"output", required_argument, NULL, 'o'},                              \
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                 \
        {"key", required_argument, NULL, CLI_OPT_KEY},                         \
        {"controller-key", required_argument, NULL, CLI_OPT_CONTROLLER_KEY},   \
        {"insecure", no_argument, NULL, CLI_OPT_INSECURE},                     \
    {                                                                          \
        "help", no_argument, NULL, 'h'                                         \
    }

/* What cli_next_option returns besides a verb's own option code. */
#define CLI_NEXT_END (-1)   /* no more options; operands from optind */
#define CLI_NEXT_HELP (-2)  /* -h or --help: print the verb's usage */
#define CLI_NEXT_USAGE (-3) /* a usage error, already reported */

/* Fills in the defaults: $VFLEET_CONTROLLER or CLI_DEFAULT_CONTROLLER,
 * table output, CLI_TIMEOUT_DEFAULT_MS, $VFLEET_KEY or CLI_KEY_DEFAULT,
 * $VFLEET_CONTROLLER_KEY or CLI_CONTROLLER_KEY_DEFAULT. */
void cli_init(cli_t *cli);

/* Applies global option `opt` (a code of CLI_GLOBAL_OPTIONS other than
 * 'h'). Returns 1 when it was one, 0 when it is not global, -1 after
 * reporting a bad value. */
int cli_global_option(cli_t *cli, int opt, const char *arg);

/* The option loop of a verb: argv[0] is the verb, `options` its table
 * (CLI_GLOBAL_OPTIONS first). Options and operands may be mixed; global
 * options are applied to cli here. Returns the verb's next option code
 * (its value in optarg), or one of CLI_NEXT_*. Call it first with
 * optind = 0. */
int cli_next_option(cli_t *cli, int argc, char **argv,
                    const struct option *options, const char *usage);

/* Reports the option getopt_long stopped at with '?' (unknown) or ':'
 * (no value), naming it as written, after "VERB: " unless verb is NULL,
 * then usage unless NULL. Returns CLI_EXIT_USAGE. */
int cli_option_error(const char *verb, int opt, char **argv, const char *usage);

/* Prints "vfleetctl: message" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and the verb's usage on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Where a verb's subverb is in its argv (argv[0] the verb): the first word
 * that is neither an option nor the value of a global option written as a
 * separate word; argc when none. */
int cli_find_subverb(int argc, char **argv);

/* A verb handler gets argv[0] = the verb and returns an exit status. */
typedef int(cli_verb_fn)(cli_t *cli, int argc, char **argv);

/* Runs a subverb's handler: argv without its word at index `at` (found by
 * cli_find_subverb), argv[0] being "VERB SUBVERB". Returns its exit
 * status. */
int cli_run_subverb(cli_t *cli, int argc, char **argv, int at,
                    cli_verb_fn *run);

cli_verb_fn cli_policy;
/* Verbs over the admin API (cli_admin.c). */
cli_verb_fn cli_summary;
cli_verb_fn cli_hosts;
cli_verb_fn cli_host;
cli_verb_fn cli_pfs;
cli_verb_fn cli_vfs;
cli_verb_fn cli_events;
cli_verb_fn cli_drift;
/* host label NAME KEY=VALUE... [--remove KEY]... (cli_label.c); argv[0]
 * is "host label". */
cli_verb_fn cli_host_label;
/* VMs (cli_vm.c): vm SUBVERB ..., vms, and host cordon | uncordon |
 * drain NAME, whose argv[0] is "host cordon" and so on. */
cli_verb_fn cli_vm;
cli_verb_fn cli_vms;
cli_verb_fn cli_host_cordon;
cli_verb_fn cli_host_uncordon;
cli_verb_fn cli_host_drain;
/* keys init | add-host | add-admin | revoke | list (cli_keys.c): files
 * only, no controller needed. */
cli_verb_fn cli_keys;

#endif
