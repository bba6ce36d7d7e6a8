/* cli_rollout.h - vfleetctl policy apply and policy rollback: store a
 * policy revision on the controller, then follow its rollout host by host
 * until every host answered or --timeout passed. */
#ifndef VFLEET_CLI_ROLLOUT_H
#define VFLEET_CLI_ROLLOUT_H

#include "cli.h"

/* argv[0] is the command as typed ("policy apply"), then options and
 * operands; usage is printed on a usage error. Return an exit status:
 * CLI_EXIT_OK every host applied, CLI_EXIT_INCOMPLETE a host failed, was
 * refused or is still pending, CLI_EXIT_CHANGES a dry run that would
 * change something, CLI_EXIT_ERROR, CLI_EXIT_USAGE. */
int cli_rollout_apply(cli_t *cli, int argc, char **argv, const char *usage);
int cli_rollout_rollback(cli_t *cli, int argc, char **argv, const char *usage);

#endif
