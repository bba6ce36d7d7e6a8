/* options.c - vfleet-controller's command line (kept in step with
 * vfleet-controller.8). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "vfp_duration.h"
#include "vfp_transport.h"

void controller_usage(void)
{
    printf(
        "usage: vfleet-controller --insecure [options]\n"
        "\n"
        "  --agents ENDPOINT          agent ROUTER (default tcp://*:7450)\n"
        "  --admin ENDPOINT           admin ROUTER (default "
        "ipc://STATE_DIR/admin.sock)\n"
        "  --state-dir DIR            state directory "
        "(default " VFP_DEFAULT_STATE_DIR ")\n"
        "  --db PATH                  database (default STATE_DIR/vfleet.db)\n"
        "  --heartbeat-interval TIME  agent heartbeat interval, e.g. 2s or "
        "500ms (default 2s)\n"
        "  --dead-after N             missed heartbeats before a host is "
        "down (default 3)\n"
        "  --insecure                 run without CURVE authentication "
        "(required; demo and tests only)\n"
        "  --log-level LEVEL          error, warn, info or debug (default "
        "info)\n"
        "  --syslog                   log to syslog instead of stderr\n"
        "  --help                     show this help\n"
        "  --version                  show the version\n");
}

int controller_options_parse(int argc, char **argv, controller_config_t *cfg,
                             char *err, size_t errlen)
{
    enum {
        O_AGENTS = 256,
        O_ADMIN,
        O_STATE_DIR,
        O_DB,
        O_HEARTBEAT,
        O_DEAD_AFTER,
        O_INSECURE,
        O_LOG_LEVEL,
        O_SYSLOG,
        O_HELP,
        O_VERSION,
    };
    static const struct option options[] = {
        {"agents", required_argument, NULL, O_AGENTS},
        {"admin", required_argument, NULL, O_ADMIN},
        {"state-dir", required_argument, NULL, O_STATE_DIR},
        {"db", required_argument, NULL, O_DB},
        {"heartbeat-interval", required_argument, NULL, O_HEARTBEAT},
        {"dead-after", required_argument, NULL, O_DEAD_AFTER},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"syslog", no_argument, NULL, O_SYSLOG},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->agents_endpoint, sizeof(cfg->agents_endpoint),
             "tcp://*:7450");
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), VFP_DEFAULT_STATE_DIR);
    cfg->heartbeat_ms = 2000;
    cfg->dead_after = 3;
    cfg->log_level = VFP_LOG_INFO;

    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end;
        unsigned long n;
        switch (opt) {
        case O_AGENTS:
        case O_ADMIN: {
            char *dst =
                opt == O_AGENTS ? cfg->agents_endpoint : cfg->admin_endpoint;
            size_t size = opt == O_AGENTS ? sizeof(cfg->agents_endpoint)
                                          : sizeof(cfg->admin_endpoint);
            if (strlen(optarg) >= size || !strstr(optarg, "://")) {
                snprintf(err, errlen, "invalid endpoint \"%s\" for --%s",
                         optarg, opt == O_AGENTS ? "agents" : "admin");
                return -1;
            }
            snprintf(dst, size, "%s", optarg);
            break;
        }
        case O_STATE_DIR:
        case O_DB: {
            char *dst = opt == O_DB ? cfg->db_path : cfg->state_dir;
            size_t size =
                opt == O_DB ? sizeof(cfg->db_path) : sizeof(cfg->state_dir);
            if (!*optarg || strlen(optarg) >= size) {
                snprintf(err, errlen, "invalid path \"%s\" for --%s", optarg,
                         opt == O_DB ? "db" : "state-dir");
                return -1;
            }
            snprintf(dst, size, "%s", optarg);
            break;
        }
        case O_HEARTBEAT:
            if (vfp_duration_parse_ms(optarg, &cfg->heartbeat_ms) != 0) {
                snprintf(err, errlen,
                         "invalid --heartbeat-interval \"%s\" (e.g. 2s, "
                         "500ms; 1ms to 3600s)",
                         optarg);
                return -1;
            }
            break;
        case O_DEAD_AFTER:
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 1 || n > 1000) {
                snprintf(err, errlen,
                         "invalid --dead-after \"%s\" (a number from 1 to "
                         "1000)",
                         optarg);
                return -1;
            }
            cfg->dead_after = (uint32_t)n;
            break;
        case O_INSECURE:
            cfg->insecure = true;
            break;
        case O_LOG_LEVEL:
            if (vfp_log_level_parse(optarg, &cfg->log_level) != 0) {
                snprintf(err, errlen,
                         "invalid --log-level \"%s\" (error, warn, info, "
                         "debug)",
                         optarg);
                return -1;
            }
            break;
        case O_SYSLOG:
            cfg->use_syslog = true;
            break;
        case O_HELP:
            controller_usage();
            return 1;
        case O_VERSION:
            printf("vfleet-controller %s\n", VFLEET_VERSION);
            return 1;
        default:
            if (optopt)
                snprintf(err, errlen, "option --%s needs a value",
                         options[optopt - O_AGENTS].name);
            else
                snprintf(err, errlen, "unknown option \"%s\"",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (!cfg->db_path[0])
        snprintf(cfg->db_path, sizeof(cfg->db_path), "%s/vfleet.db",
                 cfg->state_dir);
    if (!cfg->admin_endpoint[0])
        snprintf(cfg->admin_endpoint, sizeof(cfg->admin_endpoint),
                 "ipc://%s/" VFP_ADMIN_SOCKET_NAME, cfg->state_dir);
    return 0;
}
