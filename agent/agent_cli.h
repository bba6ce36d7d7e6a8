/* agent_cli.h - vfleet-agent's command line. */
#ifndef VFLEET_AGENT_CLI_H
#define VFLEET_AGENT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "session.h"
#include "vfp_log.h"

typedef enum {
    AGENT_RUN = 0,  /* report to a controller */
    AGENT_DISCOVER, /* print the inventory and exit */
    AGENT_HELP,
    AGENT_VERSION,
} agent_mode_t;

typedef struct {
    agent_mode_t mode;
    bool json;
    bool insecure;
    bool use_syslog;
    bool state_dir_given; /* --discover shows drift only when asked */
    vfp_log_level_t log_level;
    char warning[128];      /* a deprecated option was used: say so; else "" */
    session_opts_t session; /* includes the discovery options */
} agent_cli_t;

/* Parses argv into *cli (strings point into argv). Returns 0, or -1 with
 * a message naming the offending option in err. */
int agent_cli_parse(int argc, char **argv, agent_cli_t *cli, char *err,
                    size_t errlen);

void agent_cli_usage(FILE *out);

#endif
