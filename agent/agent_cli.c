/* agent_cli.c - vfleet-agent's command line. */
#include "agent_cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_http.h"
#include "privdrop.h"
#include "vfp_duration.h"
#include "vfp_keys.h"

enum {
    OPT_DISCOVER = 256,
    OPT_JSON,
    OPT_CONTROLLER,
    OPT_INSECURE,
    OPT_HOSTNAME,
    OPT_HEARTBEAT_INTERVAL,
    OPT_HEARTBEAT_SECONDS,
    OPT_RESCAN,
    OPT_SYSFS,
    OPT_PROCFS,
    OPT_DEBUGFS,
    OPT_NETLINK,
    OPT_NO_NETLINK,
    OPT_KERNEL,
    OPT_STATE_DIR,
    OPT_LOG_LEVEL,
    OPT_SYSLOG,
    OPT_CONFIG,
    OPT_METRICS,
    OPT_USER,
    OPT_KEY,
    OPT_CONTROLLER_KEY,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option s_options[] = {
    {"discover", no_argument, NULL, OPT_DISCOVER},
    {"json", no_argument, NULL, OPT_JSON},
    {"controller", required_argument, NULL, OPT_CONTROLLER},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT_INTERVAL},
    /* The spelling before the controller's --heartbeat-interval. */
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT_SECONDS},
    {"rescan", required_argument, NULL, OPT_RESCAN},
    {"sysfs-root", required_argument, NULL, OPT_SYSFS},
    {"procfs-root", required_argument, NULL, OPT_PROCFS},
    {"debugfs-root", required_argument, NULL, OPT_DEBUGFS},
    {"netlink", no_argument, NULL, OPT_NETLINK},
    {"no-netlink", no_argument, NULL, OPT_NO_NETLINK},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"user", required_argument, NULL, OPT_USER},
    {"key", required_argument, NULL, OPT_KEY},
    {"controller-key", required_argument, NULL, OPT_CONTROLLER_KEY},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Options a configuration file may not set: the file configures the
 * daemon, not one command's mode or output. */
static const char *const s_command_line_only[] = {"config",   "help", "version",
                                                  "discover", "json", NULL};

/* The --help text's options after the connection's: the host, discovery
 * and the daemon (tests/docs/check_options.sh holds them equal to the man
 * page's). */
static void s_usage_host(FILE *out)
{
    fputs("  --hostname NAME       report as NAME (default: the kernel's "
          "hostname)\n"
          "  --heartbeat-interval TIME\n"
          "                        heartbeat interval until the controller "
          "sets one,\n"
          "                        e.g. 2s or 500ms (default 2s)\n"
          "  --heartbeat SECONDS   the older spelling of --heartbeat-interval "
          "(warns)\n"
          "  --rescan TIME         rescan interval, e.g. 10s or 300ms "
          "(default 10s);\n"
          "                        link events also trigger a rescan\n"
          "  --sysfs-root DIR      sysfs to read (default /sys)\n"
          "  --procfs-root DIR     procfs to read (default /proc)\n"
          "  --debugfs-root DIR    debugfs to read (default "
          "SYSFS-ROOT/kernel/debug)\n"
          "  --netlink             read VF settings through netlink even from "
          "a\n"
          "                        sysfs root other than /sys\n"
          "  --no-netlink          do not read VF settings through netlink\n"
          "  --kernel KERNEL       netlink (default): VF settings and counts "
          "of this\n"
          "                        host's kernel; an APPLY for a recorded "
          "tree's VFs\n"
          "                        is refused. sim: the simulated kernel of "
          "the\n"
          "                        recorded tree given by --sysfs-root "
          "(required),\n"
          "                        its state kept in "
          "SYSFS-ROOT/.vfleet-sim/state\n"
          "  --state-dir DIR       where the last desired state from the "
          "controller\n"
          "                        is kept (default /var/lib/vfleet-agent, "
          "created\n"
          "                        0700); with --discover: also print its "
          "drift\n"
          "  --metrics ENDPOINT    serve Prometheus metrics, e.g.\n"
          "                        tcp://127.0.0.1:9651/metrics (default "
          "off)\n"
          "  --user NAME           started as root: the process that talks "
          "to the\n"
          "                        controller runs as NAME "
          "(default " PRIVDROP_USER_DEFAULT "), only\n"
          "                        a small writer process keeps "
          "CAP_NET_ADMIN\n"
          "  --log-level LEVEL     error, warn, info (default) or debug\n"
          "  --syslog              log to syslog instead of stderr\n"
          "  --config FILE         read options from FILE, \"key = value\" "
          "lines\n"
          "                        (default " AGENT_CONFIG_DEFAULT
          ", if it exists);\n"
          "                        the command line wins\n"
          "  --help                this text\n"
          "  --version             print the version\n",
          out);
}

/* The --help text: usage, what the agent does, and its connection's
 * options; s_usage_host has the rest. */
void agent_cli_usage(FILE *out)
{
    fputs("usage: vfleet-agent --discover [--json] [--state-dir DIR] "
          "[discovery options]\n"
          "       vfleet-agent --controller tcp://HOST:7450 [options]\n"
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
          "  --key FILE            this host's secret key (CURVE), mode 0600 "
          "(default\n"
          "                        " VFP_KEYS_AGENT_SECRET_DEFAULT ")\n"
          "  --controller-key FILE the controller's public key (default\n"
          "                        " VFP_KEYS_AGENT_CONTROLLER_DEFAULT ")\n"
          "  --insecure            talk to the controller in plaintext, "
          "without keys\n"
          "                        (demo and tests only)\n",
          out);
    s_usage_host(out);
}

static const char *s_option_name(int val)
{
    for (const struct option *o = s_options; o->name; o++)
        if (o->val == val)
            return o->name;
    return "?";
}

/* A TIME option (vfp_duration_parse_ms: "2s", "500ms", bare seconds). */
static int s_duration(const char *name, const char *text, uint32_t *ms,
                      char *err, size_t errlen)
{
    if (vfp_duration_parse_ms(text, ms) == 0)
        return 0;
    snprintf(err, errlen,
             "--%s: '%s' is not a time such as 2s, 500ms or 1.5 (seconds), "
             "from 1ms to 3600s",
             name, text);
    return -1;
}

/* Options of a run with a controller; *run_option keeps the name of the
 * last one given. Returns 1 when c is not one of them. */
static int s_parse_run_option(int c, agent_cli_t *cli, const char **run_option,
                              char *err, size_t errlen)
{
    switch (c) {
    case OPT_CONTROLLER:
        cli->session.endpoint = optarg;
        break;
    case OPT_KEY:
        cli->key_path = optarg;
        break;
    case OPT_CONTROLLER_KEY:
        cli->controller_key_path = optarg;
        break;
    case OPT_HEARTBEAT_SECONDS:
    case OPT_HEARTBEAT_INTERVAL:
        /* Bare seconds, all the old option took, are a TIME too. */
        if (c == OPT_HEARTBEAT_SECONDS)
            snprintf(cli->warning, sizeof(cli->warning),
                     "--heartbeat is deprecated; use --heartbeat-interval %s",
                     optarg);
        if (s_duration(s_option_name(c), optarg, &cli->session.heartbeat_ms,
                       err, errlen))
            return -1;
        break;
    case OPT_RESCAN:
        if (s_duration("rescan", optarg, &cli->session.rescan_ms, err, errlen))
            return -1;
        break;
    default:
        return 1;
    }
    *run_option = s_option_name(c);
    return 0;
}

/* Where discovery reads from. Returns 1 when c is not one of them. */
static int s_parse_discovery_option(int c, discover_opts_t *disc, char *err,
                                    size_t errlen)
{
    switch (c) {
    case OPT_HOSTNAME: {
        char why[96];
        if (vfp_hostname_check(optarg, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "--hostname: not a host name: %s", why);
            return -1;
        }
        disc->hostname = optarg;
        return 0;
    }
    case OPT_SYSFS:
        disc->sysfs_root = optarg;
        return 0;
    case OPT_PROCFS:
        disc->procfs_root = optarg;
        return 0;
    case OPT_DEBUGFS:
        disc->debugfs_root = optarg;
        return 0;
    case OPT_NETLINK:
        disc->netlink = DISCOVER_NETLINK_ON;
        return 0;
    case OPT_NO_NETLINK:
        disc->netlink = DISCOVER_NETLINK_OFF;
        return 0;
    case OPT_KERNEL:
        if (vf_kernel_parse(optarg, &disc->kernel)) {
            snprintf(err, errlen, "--kernel: '%s' is not netlink or sim",
                     optarg);
            return -1;
        }
        return 0;
    default:
        return 1;
    }
}

/* Mode, output, state and logging. Returns 1 when c is not one of them. */
static int s_parse_general_option(int c, agent_cli_t *cli, char *err,
                                  size_t errlen)
{
    switch (c) {
    case OPT_DISCOVER:
        cli->mode = AGENT_DISCOVER;
        return 0;
    case OPT_JSON:
        cli->json = true;
        return 0;
    case OPT_INSECURE:
        cli->insecure = true;
        cli->session.insecure = true;
        return 0;
    case OPT_STATE_DIR:
        if (!*optarg) {
            snprintf(err, errlen, "--state-dir: empty directory name");
            return -1;
        }
        cli->session.state_dir = optarg;
        cli->state_dir_given = true;
        return 0;
    case OPT_LOG_LEVEL:
        if (vfp_log_level_parse(optarg, &cli->log_level)) {
            snprintf(err, errlen,
                     "--log-level: '%s' is not error, warn, info or debug",
                     optarg);
            return -1;
        }
        return 0;
    case OPT_SYSLOG:
        cli->use_syslog = true;
        return 0;
    case OPT_CONFIG:
        cli->config_path = optarg;
        cli->config_given = true;
        return 0;
    case OPT_USER:
        if (!*optarg) {
            snprintf(err, errlen, "--user: empty user name");
            return -1;
        }
        cli->user = optarg;
        cli->user_given = true;
        return 0;
    case OPT_METRICS: {
        metrics_http_endpoint_t endpoint;
        char why[400];
        if (metrics_http_endpoint_parse(optarg, &endpoint, why, sizeof(why))) {
            snprintf(err, errlen, "--metrics: %s", why);
            return -1;
        }
        cli->metrics = optarg;
        return 0;
    }
    default:
        return 1;
    }
}

/* The simulated kernel is chosen for a recorded tree only, and reads VF
 * settings from it alone. */
static int s_check_kernel(const discover_opts_t *disc, char *err, size_t errlen)
{
    if (disc->kernel != VF_KERNEL_SIM)
        return 0;
    if (!vf_kernel_recorded_tree(disc->sysfs_root)) {
        snprintf(err, errlen,
                 "--kernel sim needs --sysfs-root DIR, a recorded tree: it "
                 "never simulates this host's /sys");
        return -1;
    }
    if (disc->netlink != DISCOVER_NETLINK_AUTO) {
        snprintf(err, errlen,
                 "--kernel sim reads VF settings from the tree's simulated "
                 "kernel: --netlink and --no-netlink do not apply");
        return -1;
    }
    return 0;
}

/* The combinations a valid command line must have. */
static int s_check_mode(const agent_cli_t *cli, const char *run_option,
                        char *err, size_t errlen)
{
    if (cli->mode == AGENT_DISCOVER) {
        if (run_option) {
            snprintf(err, errlen,
                     "--discover takes no --%s: it is an option of a run "
                     "with a controller",
                     run_option);
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
    if (!vfp_tcp_endpoint_valid(cli->session.endpoint, false)) {
        snprintf(err, errlen, "--controller: '%s' is not tcp://HOST:PORT",
                 cli->session.endpoint);
        return -1;
    }
    return 0;
}

/* The certificates of a run with CURVE, read at start: a secret key
 * others may read is refused before anything connects. */
static int s_load_keys(agent_cli_t *cli, char *err, size_t errlen)
{
    char why[1024];
    cli->session.cert = vfp_keys_load_secret(cli->key_path, why, sizeof(why));
    if (cli->session.cert)
        cli->session.controller_cert =
            vfp_keys_load_public(cli->controller_key_path, why, sizeof(why));
    if (cli->session.controller_cert)
        return 0;
    snprintf(err, errlen,
             "%s (--key, --controller-key; --insecure for "
             "plaintext, demo and tests only)",
             why);
    return -1;
}

/* The error for an option getopt did not accept. */
static void s_bad_option(char **argv, char *err, size_t errlen)
{
    if (optopt)
        snprintf(err, errlen, "option --%s needs a value",
                 s_option_name(optopt));
    else
        snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
}

/* Applies every option of argv; *run_option names a run option given.
 * Returns 0, 1 when --help or --version was given, -1 on an error. */
static int s_parse_argv(int argc, char **argv, agent_cli_t *cli,
                        const char **run_option, char *err, size_t errlen)
{
    optind = 0; /* a full reset: argv may be parsed more than once */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", s_options, NULL)) != -1) {
        if (c == OPT_HELP || c == OPT_VERSION) {
            cli->mode = c == OPT_HELP ? AGENT_HELP : AGENT_VERSION;
            return 1;
        }
        int rc = s_parse_general_option(c, cli, err, errlen);
        if (rc == 1)
            rc = s_parse_run_option(c, cli, run_option, err, errlen);
        if (rc == 1)
            rc = s_parse_discovery_option(c, &cli->session.discover, err,
                                          errlen);
        if (rc == 1)
            s_bad_option(argv, err, errlen);
        if (rc)
            return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

static void s_defaults(agent_cli_t *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->log_level = VFP_LOG_INFO;
    cli->config_path = AGENT_CONFIG_DEFAULT;
    cli->user = PRIVDROP_USER_DEFAULT;
    cli->key_path = VFP_KEYS_AGENT_SECRET_DEFAULT;
    cli->controller_key_path = VFP_KEYS_AGENT_CONTROLLER_DEFAULT;
    session_opts_init(&cli->session);
}

/* Applies the configuration file. Its run options never count against
 * --discover: one file serves the daemon and a look at the hardware. */
static int s_parse_file(agent_cli_t *cli, char *err, size_t errlen)
{
    cli->config = vfp_config_load(cli->config_path, cli->config_given,
                                  s_options, s_command_line_only, err, errlen);
    if (!cli->config)
        return -1;
    const char *ignored = NULL;
    int rc =
        s_parse_argv(vfp_config_argc(cli->config), vfp_config_argv(cli->config),
                     cli, &ignored, err, errlen);
    if (rc != 0)
        vfp_config_blame(cli->config, optind - 1, err, errlen);
    if (vfp_config_argc(cli->config) <= 1)
        vfp_config_destroy(&cli->config);
    return rc;
}

int agent_cli_parse(int argc, char **argv, agent_cli_t *cli, char *err,
                    size_t errlen)
{
    /* The command line is read twice: first for --config, --help and its
     * own errors, then again over the file's settings so that it wins. */
    s_defaults(cli);
    const char *run_option = NULL;
    int rc = s_parse_argv(argc, argv, cli, &run_option, err, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    const char *path = cli->config_path;
    bool given = cli->config_given;
    s_defaults(cli);
    cli->config_path = path;
    cli->config_given = given;
    run_option = NULL;
    if (s_parse_file(cli, err, errlen) ||
        s_parse_argv(argc, argv, cli, &run_option, err, errlen)) {
        agent_cli_release(cli);
        return -1;
    }
    if (s_check_kernel(&cli->session.discover, err, errlen) ||
        s_check_mode(cli, run_option, err, errlen) ||
        (cli->mode == AGENT_RUN && !cli->insecure &&
         s_load_keys(cli, err, errlen))) {
        agent_cli_release(cli);
        return -1;
    }
    return 0;
}

void agent_cli_release(agent_cli_t *cli)
{
    vfp_config_destroy(&cli->config);
    zcert_destroy(&cli->session.cert);
    zcert_destroy(&cli->session.controller_cert);
}
