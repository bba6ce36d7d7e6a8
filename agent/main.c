/* main.c - vfleet-agent: discover this host's SR-IOV hardware, report it. */
#include <stdio.h>
#include <stdlib.h>

#include "agent_cli.h"
#include "agent_stats.h"
#include "desired_state.h"
#include "discover.h"
#include "inventory_print.h"
#include "privdrop.h"
#include "privsep.h"
#include "session.h"
#include "vfp_log.h"

static int s_discover(const agent_cli_t *cli)
{
    char err[512];
    vfp_inventory_t inv = {0};
    discover_warnings_t warnings = {0};
    if (discover_host(&cli->session.discover, &inv, &warnings, err,
                      sizeof(err))) {
        fprintf(stderr, "vfleet-agent: %s\n", err);
        return 1;
    }
    /* Read-only here: a bad file is reported, not moved aside; that is the
     * running agent's job. */
    vfp_msg_t *desired = NULL;
    int stored = 0;
    if (cli->state_dir_given)
        stored = desired_state_load(cli->session.state_dir, false, &desired,
                                    err, sizeof(err));
    output_t *out = output_new(stdout, cli->json);
    if (!cli->state_dir_given)
        inventory_print(out, &inv, &warnings);
    else
        inventory_print_desired(out, &inv, &warnings,
                                desired ? &desired->u.apply : NULL);
    output_destroy(&out);
    discover_inventory_clear(&inv);
    vfp_msg_destroy(&desired);
    if (stored < 0) {
        fprintf(stderr, "vfleet-agent: desired state: %s\n", err);
        return 1;
    }
    return 0;
}

/* The writer process first, before any other socket or thread; then this
 * process gives up root and every capability. Exits on failure. */
static privsep_t *s_separate(const agent_cli_t *cli)
{
    char err[512];
    privsep_opts_t opts = {
        .sysfs_root = cli->session.discover.sysfs_root,
        .kernel = cli->session.discover.kernel,
        .log_level = cli->log_level,
        .use_syslog = cli->use_syslog,
    };
    privsep_t *writer = privsep_start(&opts, err, sizeof(err));
    if (!writer)
        vfp_fatalx("%s", err);
    if (privdrop_network(cli->user, cli->user_given, cli->session.state_dir,
                         err, sizeof(err)))
        vfp_fatalx("%s", err);
    vfp_log_info("writer process %d: %s; this process talks to the "
                 "controller",
                 (int)privsep_pid(writer), privsep_writer_kept(writer));
    return writer;
}

int main(int argc, char **argv)
{
    agent_cli_t cli;
    char err[512];
    if (agent_cli_parse(argc, argv, &cli, err, sizeof(err))) {
        fprintf(stderr, "vfleet-agent: %s\n", err);
        fprintf(stderr, "Try 'vfleet-agent --help'.\n");
        return 2;
    }
    if (cli.warning[0])
        fprintf(stderr, "vfleet-agent: warning: %s\n", cli.warning);
    int rc = 0;
    switch (cli.mode) {
    case AGENT_HELP:
        agent_cli_usage(stdout);
        break;
    case AGENT_VERSION:
        printf("vfleet-agent %s\n", VFLEET_VERSION);
        break;
    case AGENT_DISCOVER:
        rc = s_discover(&cli);
        break;
    case AGENT_RUN:
        vfp_log_init("vfleet-agent", cli.log_level, cli.use_syslog);
        cli.session.writer = s_separate(&cli);
        if (cli.metrics && agent_stats_start(cli.metrics, err, sizeof(err)))
            vfp_fatalx("%s", err);
        if (session_run(&cli.session, err, sizeof(err)))
            vfp_fatalx("%s", err);
        agent_stats_stop();
        privsep_destroy(&cli.session.writer);
        break;
    }
    agent_cli_release(&cli);
    return rc;
}
