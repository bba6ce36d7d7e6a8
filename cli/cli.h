/* cli.h - vfleetctl's global options, shared helpers and verb handlers.
 * A verb is one function in its own file (cli_policy.c, ...) registered in
 * the dispatch table of vfleetctl.c. */
#ifndef VFLEET_CLI_H
#define VFLEET_CLI_H

#include <stdbool.h>

#include "vfp_transport.h"

/* Exit statuses every verb uses. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_CHANGES 3 /* policy diff: the policies differ */

/* Where the controller's admin API listens unless told otherwise. */
#define CLI_DEFAULT_CONTROLLER VFP_DEFAULT_ADMIN_ENDPOINT

typedef enum {
    CLI_OUTPUT_TABLE,
    CLI_OUTPUT_JSON,
} cli_output_t;

/* Global options, parsed before the verb. */
typedef struct {
    const char *controller;
    cli_output_t output;
} cli_t;

/* A verb handler gets argv[0] = the verb and returns an exit status. */
typedef int(cli_verb_fn)(cli_t *cli, int argc, char **argv);

/* True for "-h" and "--help". */
bool cli_is_help(const char *arg);
/* Prints "vfleetctl: message" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and the verb's usage on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

cli_verb_fn cli_policy;
/* Read verbs over the admin API (cli_admin.c). */
cli_verb_fn cli_hosts;
cli_verb_fn cli_host;
cli_verb_fn cli_pfs;
cli_verb_fn cli_vfs;
cli_verb_fn cli_events;

#endif
