/* agent_cli.h - vfleet-agent's command line. */
#ifndef VFLEET_AGENT_CLI_H
#define VFLEET_AGENT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "session.h"
#include "vfp_config.h"
#include "vfp_log.h"

#define AGENT_CONFIG_DEFAULT VFP_CONFIG_DIR "/agent.conf"

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
    char warning[128];    /* a deprecated option was used: say so; else "" */
    const char *metrics;  /* --metrics ENDPOINT, or NULL: none */
    const char *user;     /* --user: the network process's, as root */
    bool user_given;      /* by --user: it must exist */
    const char *key_path; /* --key: this host's secret certificate */
    const char *controller_key_path; /* --controller-key: its public one */
    const char *config_path;         /* --config, or AGENT_CONFIG_DEFAULT */
    bool config_given;               /* by --config: it must exist */
    vfp_config_t *config;            /* holds the strings the file set */
    session_opts_t session;          /* includes the discovery options */
} agent_cli_t;

/* Parses argv into *cli: defaults, then the configuration file (--config
 * FILE, else AGENT_CONFIG_DEFAULT if it exists), then the command line,
 * which wins. Strings point into argv or into cli->config: release it with
 * agent_cli_release when done. Returns 0, or -1 with a message naming the
 * offending option (as "FILE:LINE: ..." for the file) in err. */
int agent_cli_parse(int argc, char **argv, agent_cli_t *cli, char *err,
                    size_t errlen);

/* Frees what agent_cli_parse kept for cli (the strings of the file, the
 * certificates it loaded); safe to call twice. */
void agent_cli_release(agent_cli_t *cli);

void agent_cli_usage(FILE *out);

#endif
