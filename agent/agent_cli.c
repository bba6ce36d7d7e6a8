/* agent_cli.c - vfleet-agent's command line. */
#include "agent_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_DISCOVER = 256,
    OPT_JSON,
    OPT_CONTROLLER,
    OPT_INSECURE,
    OPT_HOSTNAME,
    OPT_HEARTBEAT,
    OPT_RESCAN,
    OPT_SYSFS,
    OPT_PROCFS,
    OPT_DEBUGFS,
    OPT_NETLINK,
    OPT_NO_NETLINK,
    OPT_STATE_DIR,
    OPT_LOG_LEVEL,
    OPT_SYSLOG,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option s_options[] = {
    {"discover", no_argument, NULL, OPT_DISCOVER},
    {"json", no_argument, NULL, OPT_JSON},
    {"controller", required_argument, NULL, OPT_CONTROLLER},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"rescan", required_argument, NULL, OPT_RESCAN},
    {"sysfs-root", required_argument, NULL, OPT_SYSFS},
    {"procfs-root", required_argument, NULL, OPT_PROCFS},
    {"debugfs-root", required_argument, NULL, OPT_DEBUGFS},
    {"netlink", no_argument, NULL, OPT_NETLINK},
    {"no-netlink", no_argument, NULL, OPT_NO_NETLINK},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void agent_cli_usage(FILE *out)
{
    fputs("usage: vfleet-agent --discover [--json] [--state-dir DIR] "
          "[discovery options]\n"
          "       vfleet-agent --controller tcp://HOST:7450 --insecure "
          "[options]\n"
          "\n"
          "Discovers this host's SR-IOV PFs and VFs, IOMMU readiness and "
          "memory,\n"
          "and reports them to a vfleet controller; applies the desired "
          "state it\n"
          "sends, keeps it in the state directory and logs drift from it.\n"
          "\n"
          "  --discover            print the inventory and exit\n"
          "  --json                with --discover: JSON instead of a table\n"
          "  --controller URL      controller endpoint, tcp://HOST:7450\n"
          "  --insecure            talk to the controller in plaintext; "
          "required:\n"
          "                        only plaintext is implemented so far (no "
          "CURVE)\n"
          "  --hostname NAME       report as NAME (default: the kernel's "
          "hostname)\n"
          "  --heartbeat SECONDS   heartbeat interval until the controller "
          "sets one\n"
          "                        (default 2, fractions allowed)\n"
          "  --rescan SECONDS      rescan interval (default 10); link events "
          "also\n"
          "                        trigger a rescan\n"
          "  --sysfs-root DIR      sysfs to read (default /sys)\n"
          "  --procfs-root DIR     procfs to read (default /proc)\n"
          "  --debugfs-root DIR    debugfs to read (default "
          "SYSFS-ROOT/kernel/debug)\n"
          "  --netlink             read VF settings through netlink even from "
          "a\n"
          "                        sysfs root other than /sys\n"
          "  --no-netlink          do not read VF settings through netlink\n"
          "  --state-dir DIR       where the last desired state from the "
          "controller\n"
          "                        is kept (default /var/lib/vfleet-agent, "
          "created\n"
          "                        0700); with --discover: also print its "
          "drift\n"
          "  --log-level LEVEL     error, warn, info (default) or debug\n"
          "  --syslog              log to syslog instead of stderr\n"
          "  --help                this text\n"
          "  --version             print the version\n",
          out);
}

static const char *s_option_name(int val)
{
    for (const struct option *o = s_options; o->name; o++)
        if (o->val == val)
            return o->name;
    return "?";
}

/* Seconds as a positive decimal, fractions allowed, at most a day. */
static int s_seconds(const char *text, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0.01 || v > 86400.0)
        return -1;
    *value = v;
    return 0;
}

int agent_cli_parse(int argc, char **argv, agent_cli_t *cli, char *err,
                    size_t errlen)
{
    memset(cli, 0, sizeof(*cli));
    cli->log_level = VFP_LOG_INFO;
    session_opts_init(&cli->session);
    discover_opts_t *disc = &cli->session.discover;
    bool run_options = false;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", s_options, NULL)) != -1) {
        switch (c) {
        case OPT_DISCOVER:
            cli->mode = AGENT_DISCOVER;
            break;
        case OPT_JSON:
            cli->json = true;
            break;
        case OPT_CONTROLLER:
            cli->session.endpoint = optarg;
            run_options = true;
            break;
        case OPT_INSECURE:
            cli->insecure = true;
            break;
        case OPT_HOSTNAME:
            if (!*optarg || strlen(optarg) > VFP_HOSTNAME_MAX) {
                snprintf(err, errlen, "--hostname: 1 to %d bytes",
                         VFP_HOSTNAME_MAX);
                return -1;
            }
            disc->hostname = optarg;
            break;
        case OPT_HEARTBEAT:
        case OPT_RESCAN: {
            double *value = c == OPT_HEARTBEAT ? &cli->session.heartbeat_s
                                               : &cli->session.rescan_s;
            if (s_seconds(optarg, value)) {
                snprintf(err, errlen,
                         "--%s: '%s' is not a number of seconds in "
                         "0.01..86400",
                         c == OPT_HEARTBEAT ? "heartbeat" : "rescan", optarg);
                return -1;
            }
            run_options = true;
            break;
        }
        case OPT_SYSFS:
            disc->sysfs_root = optarg;
            break;
        case OPT_PROCFS:
            disc->procfs_root = optarg;
            break;
        case OPT_DEBUGFS:
            disc->debugfs_root = optarg;
            break;
        case OPT_NETLINK:
            disc->netlink = DISCOVER_NETLINK_ON;
            break;
        case OPT_NO_NETLINK:
            disc->netlink = DISCOVER_NETLINK_OFF;
            break;
        case OPT_STATE_DIR:
            if (!*optarg) {
                snprintf(err, errlen, "--state-dir: empty directory name");
                return -1;
            }
            cli->session.state_dir = optarg;
            cli->state_dir_given = true;
            break;
        case OPT_LOG_LEVEL:
            if (vfp_log_level_parse(optarg, &cli->log_level)) {
                snprintf(err, errlen,
                         "--log-level: '%s' is not error, warn, info or "
                         "debug",
                         optarg);
                return -1;
            }
            break;
        case OPT_SYSLOG:
            cli->use_syslog = true;
            break;
        case OPT_HELP:
            cli->mode = AGENT_HELP;
            return 0;
        case OPT_VERSION:
            cli->mode = AGENT_VERSION;
            return 0;
        default:
            if (optopt)
                snprintf(err, errlen, "option --%s needs a value",
                         s_option_name(optopt));
            else
                snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (cli->mode == AGENT_DISCOVER) {
        if (run_options) {
            snprintf(err, errlen,
                     "--discover takes no --controller, "
                     "--heartbeat or --rescan");
            return -1;
        }
        return 0;
    }
    if (cli->json) {
        snprintf(err, errlen, "--json needs --discover");
        return -1;
    }
    if (!cli->session.endpoint) {
        snprintf(err, errlen, "either --discover or --controller URL");
        return -1;
    }
    if (strncmp(cli->session.endpoint, "tcp://", 6)) {
        snprintf(err, errlen, "--controller: '%s' is not tcp://HOST:PORT",
                 cli->session.endpoint);
        return -1;
    }
    if (!cli->insecure) {
        snprintf(err, errlen,
                 "refusing to start without --insecure: only plaintext "
                 "transport is implemented (CURVE is not), so plaintext "
                 "must be asked for explicitly");
        return -1;
    }
    return 0;
}
