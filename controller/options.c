/* options.c - vfleet-controller's command line (kept in step with
 * vfleet-controller.8). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_socket.h"
#include "controller.h"
#include "metrics_http.h"
#include "vfp.h"
#include "vfp_duration.h"
#include "vfp_transport.h"

/* The options that run something else than the daemon, and the file. */
static void s_usage_more(void)
{
    printf("  --config FILE              read options from FILE, \"key = "
           "value\" lines\n"
           "                             (default " CONTROLLER_CONFIG_DEFAULT
           ", if it\n"
           "                             exists); the command line wins\n"
           "  --backup FILE              write a consistent copy of the "
           "database to FILE\n"
           "                             (beside a running controller), then "
           "exit\n"
           "  --restore FILE             put the copy in FILE in place of the "
           "database\n"
           "                             (no controller may run on it), then "
           "exit\n"
           "  --help                     show this help\n"
           "  --version                  show the version\n");
}

void controller_usage(void)
{
    printf(
        "usage: vfleet-controller [options]\n"
        "       vfleet-controller [--state-dir DIR | --db PATH] "
        "--backup FILE | --restore FILE\n"
        "\n"
        "  --agents ENDPOINT          agent ROUTER (default tcp://*:7450)\n"
        "  --admin ENDPOINT           admin ROUTER (default "
        "ipc://STATE_DIR/admin.sock)\n"
        "  --admin-group GROUP        the ipc admin socket is mode 0660 for "
        "GROUP\n"
        "                             (default: 0600, the owner only)\n"
        "  --state-dir DIR            state directory "
        "(default " VFP_DEFAULT_STATE_DIR ")\n"
        "  --db PATH                  database (default STATE_DIR/vfleet.db)\n"
        "  --keys DIR                 CURVE key directory (default "
        "STATE_DIR/keys)\n"
        "  --heartbeat-interval TIME  agent heartbeat interval, e.g. 2s or "
        "500ms (default 2s)\n"
        "  --dead-after N             missed heartbeats before a host is "
        "down (default 3)\n"
        "  --peer-queue N             messages queued per connection, "
        "each way (default 4)\n"
        "  --peer-rate N              messages a second one agent may send "
        "(default 200)\n"
        "  --admin-rate N             requests a second one admin client "
        "may send (default 1000)\n"
        "  --peer-bandwidth MIB       MiB a second one peer may send "
        "(default 64)\n"
        "  --peer-timeout TIME        handshake timeout and TCP keepalive "
        "idle time (default 30s)\n"
        "  --memory-max MIB           close every agent connection past "
        "this resident size (default 4096; 0 never)\n"
        "  --insecure                 run without CURVE authentication "
        "(demo and tests only)\n"
        "  --event-max-age TIME       trim events older than this, e.g. "
        "30d, 12h\n"
        "                             (default 30d)\n"
        "  --event-max-count N        keep at most the newest N events "
        "(default\n"
        "                             1000000)\n"
        "  --synchronous MODE         normal or full: whether each commit "
        "waits for an\n"
        "                             fsync (default normal)\n"
        "  --metrics ENDPOINT         serve Prometheus metrics, e.g.\n"
        "                             tcp://127.0.0.1:9650/metrics (default "
        "off)\n"
        "  --log-level LEVEL          error, warn, info or debug (default "
        "info)\n"
        "  --syslog                   log to syslog instead of stderr\n");
    s_usage_more();
}

enum {
    S_AGENTS = 256,
    S_ADMIN,
    S_STATE_DIR,
    S_DB,
    S_HEARTBEAT,
    S_DEAD_AFTER,
    S_PEER_QUEUE,
    S_PEER_RATE,
    S_ADMIN_RATE,
    S_PEER_BANDWIDTH,
    S_PEER_TIMEOUT,
    S_MEMORY_MAX,
    S_INSECURE,
    S_LOG_LEVEL,
    S_SYSLOG,
    S_EVENT_MAX_AGE,
    S_EVENT_MAX_COUNT,
    S_CONFIG,
    S_METRICS,
    S_ADMIN_GROUP,
    S_KEYS,
    S_SYNCHRONOUS,
    S_BACKUP,
    S_RESTORE,
    S_HELP,
    S_VERSION,
};

static const struct option s_options[] = {
    {"agents", required_argument, NULL, S_AGENTS},
    {"admin", required_argument, NULL, S_ADMIN},
    {"state-dir", required_argument, NULL, S_STATE_DIR},
    {"db", required_argument, NULL, S_DB},
    {"heartbeat-interval", required_argument, NULL, S_HEARTBEAT},
    {"dead-after", required_argument, NULL, S_DEAD_AFTER},
    {"peer-queue", required_argument, NULL, S_PEER_QUEUE},
    {"peer-rate", required_argument, NULL, S_PEER_RATE},
    {"admin-rate", required_argument, NULL, S_ADMIN_RATE},
    {"peer-bandwidth", required_argument, NULL, S_PEER_BANDWIDTH},
    {"peer-timeout", required_argument, NULL, S_PEER_TIMEOUT},
    {"memory-max", required_argument, NULL, S_MEMORY_MAX},
    {"insecure", no_argument, NULL, S_INSECURE},
    {"log-level", required_argument, NULL, S_LOG_LEVEL},
    {"syslog", no_argument, NULL, S_SYSLOG},
    {"event-max-age", required_argument, NULL, S_EVENT_MAX_AGE},
    {"event-max-count", required_argument, NULL, S_EVENT_MAX_COUNT},
    {"config", required_argument, NULL, S_CONFIG},
    {"metrics", required_argument, NULL, S_METRICS},
    {"admin-group", required_argument, NULL, S_ADMIN_GROUP},
    {"keys", required_argument, NULL, S_KEYS},
    {"synchronous", required_argument, NULL, S_SYNCHRONOUS},
    {"backup", required_argument, NULL, S_BACKUP},
    {"restore", required_argument, NULL, S_RESTORE},
    {"help", no_argument, NULL, S_HELP},
    {"version", no_argument, NULL, S_VERSION},
    {NULL, 0, NULL, 0},
};

/* Options a configuration file may not set. */
static const char *const s_command_line_only[] = {
    "config", "help", "version", "backup", "restore", NULL};

static void s_defaults(controller_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->agents_endpoint, sizeof(cfg->agents_endpoint),
             "tcp://*:7450");
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), VFP_DEFAULT_STATE_DIR);
    cfg->heartbeat_ms = 2000;
    cfg->dead_after = 3;
    cfg->log_level = VFP_LOG_INFO;
    cfg->event_max_age_ms = CONTROLLER_EVENT_MAX_AGE_MS;
    cfg->event_max_count = CONTROLLER_EVENT_MAX_COUNT;
    snprintf(cfg->config_path, sizeof(cfg->config_path), "%s",
             CONTROLLER_CONFIG_DEFAULT);
    cfg->peer_queue = 4;
    cfg->peer_rate = 200;
    /* A bound on what one connection can make the admin thread do, well
     * above what an operator's bulk vm apply needs (two requests a VM). */
    cfg->admin_rate = 1000;
    cfg->peer_bandwidth = 64;
    cfg->peer_timeout_ms = 30000;
    cfg->memory_max = 4096;
}

static int s_endpoint(int opt, const char *arg, controller_config_t *cfg,
                      char *err, size_t errlen)
{
    char *dst = opt == S_AGENTS ? cfg->agents_endpoint : cfg->admin_endpoint;
    size_t size = opt == S_AGENTS ? sizeof(cfg->agents_endpoint)
                                  : sizeof(cfg->admin_endpoint);
    bool ipc = strncmp(arg, "ipc://", 6) == 0 && arg[6];
    if (strlen(arg) >= size || !(ipc || vfp_tcp_endpoint_valid(arg, true))) {
        snprintf(err, errlen,
                 "invalid endpoint \"%s\" for --%s (tcp://HOST:PORT with a "
                 "port from 1 to 65535, or ipc://PATH)",
                 arg, opt == S_AGENTS ? "agents" : "admin");
        return -1;
    }
    snprintf(dst, size, "%s", arg);
    return 0;
}

static int s_path(int opt, const char *arg, controller_config_t *cfg, char *err,
                  size_t errlen)
{
    char *dst = opt == S_DB        ? cfg->db_path
                : opt == S_KEYS    ? cfg->keys_dir
                : opt == S_BACKUP  ? cfg->backup_file
                : opt == S_RESTORE ? cfg->restore_file
                                   : cfg->state_dir;
    /* The file names inside (FILE.tmp) need room too. */
    size_t size = opt == S_DB     ? sizeof(cfg->db_path)
                  : opt == S_KEYS ? sizeof(cfg->keys_dir)
                  : opt == S_BACKUP || opt == S_RESTORE
                      ? sizeof(cfg->backup_file) - 64
                      : sizeof(cfg->state_dir);
    if (!*arg || strlen(arg) >= size) {
        snprintf(err, errlen, "invalid path \"%s\" for --%s", arg,
                 s_options[opt - S_AGENTS].name);
        return -1;
    }
    snprintf(dst, size, "%s", arg);
    return 0;
}

static int s_dead_after(const char *arg, controller_config_t *cfg, char *err,
                        size_t errlen)
{
    errno = 0;
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || n < 1 || n > 1000) {
        snprintf(err, errlen,
                 "invalid --dead-after \"%s\" (a number from 1 to 1000)", arg);
        return -1;
    }
    cfg->dead_after = (uint32_t)n;
    return 0;
}

static int s_event_max_count(const char *arg, controller_config_t *cfg,
                             char *err, size_t errlen)
{
    errno = 0;
    char *end;
    long long n = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || n < 1 ||
        n > CONTROLLER_EVENT_MAX_COUNT_LIMIT) {
        snprintf(err, errlen,
                 "invalid --event-max-count \"%s\" (a number from 1 to %lld)",
                 arg, CONTROLLER_EVENT_MAX_COUNT_LIMIT);
        return -1;
    }
    cfg->event_max_count = n;
    return 0;
}

/* Options added after the first release: retention and the file. */
static int s_valued_more(int opt, const char *arg, controller_config_t *cfg,
                         char *err, size_t errlen)
{
    switch (opt) {
    case S_EVENT_MAX_AGE:
        if (vfp_duration_parse_long_ms(arg, &cfg->event_max_age_ms) == 0)
            return 0;
        snprintf(err, errlen,
                 "invalid --event-max-age \"%s\" (e.g. 30d, 12h, 90m; 1s to "
                 "3650d)",
                 arg);
        return -1;
    case S_EVENT_MAX_COUNT:
        return s_event_max_count(arg, cfg, err, errlen);
    case S_ADMIN_GROUP:
        if (admin_socket_group(arg, &cfg->admin_gid, err, errlen) != 0)
            return -1;
        /* Kept for the log only: a longer name still names the gid. */
        snprintf(cfg->admin_group, sizeof(cfg->admin_group), "%s", arg);
        return 0;
    case S_SYNCHRONOUS:
        if (strcmp(arg, "normal") == 0 || strcmp(arg, "full") == 0) {
            cfg->synchronous_full = strcmp(arg, "full") == 0;
            return 0;
        }
        snprintf(err, errlen, "invalid --synchronous \"%s\" (normal or full)",
                 arg);
        return -1;
    case S_METRICS: {
        metrics_http_endpoint_t endpoint;
        char why[512] = "too long";
        if (strlen(arg) >= sizeof(cfg->metrics_endpoint) ||
            metrics_http_endpoint_parse(arg, &endpoint, why, sizeof(why)) !=
                0) {
            snprintf(err, errlen, "--metrics: %s", why);
            return -1;
        }
        snprintf(cfg->metrics_endpoint, sizeof(cfg->metrics_endpoint), "%s",
                 arg);
        return 0;
    }
    default:
        if (*arg && strlen(arg) < sizeof(cfg->config_path)) {
            snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", arg);
            cfg->config_given = true;
            return 0;
        }
        snprintf(err, errlen, "invalid path \"%s\" for --config", arg);
        return -1;
    }
}

/* The per-peer limits and --memory-max: whole numbers in a range, or a
 * duration. */
static int s_peer_limit(int opt, const char *arg, controller_config_t *cfg,
                        char *err, size_t errlen)
{
    if (opt == S_PEER_TIMEOUT) {
        if (vfp_duration_parse_ms(arg, &cfg->peer_timeout_ms) == 0 &&
            cfg->peer_timeout_ms >= 100)
            return 0;
        snprintf(err, errlen,
                 "invalid --peer-timeout \"%s\" (e.g. 30s; 100ms to 3600s)",
                 arg);
        return -1;
    }
    const struct {
        int opt;
        const char *name;
        unsigned long min, max;
        uint32_t *dst;
    } limits[] = {
        {S_PEER_QUEUE, "peer-queue", 1, 10000, &cfg->peer_queue},
        {S_PEER_RATE, "peer-rate", 1, 1000000, &cfg->peer_rate},
        {S_ADMIN_RATE, "admin-rate", 1, 1000000, &cfg->admin_rate},
        {S_PEER_BANDWIDTH, "peer-bandwidth", 1, 4096, &cfg->peer_bandwidth},
        {S_MEMORY_MAX, "memory-max", 0, 1048576, &cfg->memory_max},
    };
    size_t i = 0;
    while (limits[i].opt != opt)
        i++;
    errno = 0;
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || *arg == '-' || n < limits[i].min ||
        n > limits[i].max) {
        snprintf(err, errlen, "invalid --%s \"%s\" (a number from %lu to %lu)",
                 limits[i].name, arg, limits[i].min, limits[i].max);
        return -1;
    }
    *limits[i].dst = (uint32_t)n;
    return 0;
}

/* Applies one option with a value. */
static int s_valued(int opt, const char *arg, controller_config_t *cfg,
                    char *err, size_t errlen)
{
    switch (opt) {
    case S_AGENTS:
    case S_ADMIN:
        return s_endpoint(opt, arg, cfg, err, errlen);
    case S_STATE_DIR:
    case S_DB:
    case S_KEYS:
    case S_BACKUP:
    case S_RESTORE:
        return s_path(opt, arg, cfg, err, errlen);
    case S_HEARTBEAT:
        if (vfp_duration_parse_ms(arg, &cfg->heartbeat_ms) == 0)
            return 0;
        snprintf(err, errlen,
                 "invalid --heartbeat-interval \"%s\" (e.g. 2s, 500ms; 1ms "
                 "to 3600s)",
                 arg);
        return -1;
    case S_DEAD_AFTER:
        return s_dead_after(arg, cfg, err, errlen);
    case S_EVENT_MAX_AGE:
    case S_EVENT_MAX_COUNT:
    case S_CONFIG:
    case S_METRICS:
    case S_ADMIN_GROUP:
    case S_SYNCHRONOUS:
        return s_valued_more(opt, arg, cfg, err, errlen);
    case S_PEER_QUEUE:
    case S_PEER_RATE:
    case S_ADMIN_RATE:
    case S_PEER_BANDWIDTH:
    case S_PEER_TIMEOUT:
    case S_MEMORY_MAX:
        return s_peer_limit(opt, arg, cfg, err, errlen);
    default:
        if (vfp_log_level_parse(arg, &cfg->log_level) == 0)
            return 0;
        snprintf(err, errlen,
                 "invalid --log-level \"%s\" (error, warn, info, debug)", arg);
        return -1;
    }
}

/* Applies one option: 0 go on, 1 stop (help or version printed), -1 a
 * usage error. */
static int s_option(int opt, char **argv, controller_config_t *cfg, char *err,
                    size_t errlen)
{
    switch (opt) {
    case S_INSECURE:
        cfg->insecure = true;
        return 0;
    case S_SYSLOG:
        cfg->use_syslog = true;
        return 0;
    case S_HELP:
        controller_usage();
        return 1;
    case S_VERSION:
        printf("vfleet-controller %s\n", VFLEET_VERSION);
        return 1;
    case '?':
        if (optopt)
            snprintf(err, errlen, "option --%s needs a value",
                     s_options[optopt - S_AGENTS].name);
        else
            snprintf(err, errlen, "unknown option \"%s\"", argv[optind - 1]);
        return -1;
    default:
        return s_valued(opt, optarg, cfg, err, errlen);
    }
}

/* Applies every option of argv. Returns as s_option does. */
static int s_parse_argv(int argc, char **argv, controller_config_t *cfg,
                        char *err, size_t errlen)
{
    opterr = 0;
    optind = 0; /* a full reset: the file's arguments were parsed before */
    int opt;
    while ((opt = getopt_long(argc, argv, "", s_options, NULL)) != -1) {
        int rc = s_option(opt, argv, cfg, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    return 0;
}

/* Applies the configuration file named by cfg->config_path; a missing
 * file is an error only when --config named it. */
static int s_parse_file(controller_config_t *cfg, char *err, size_t errlen)
{
    vfp_config_t *file =
        vfp_config_load(cfg->config_path, cfg->config_given, s_options,
                        s_command_line_only, err, errlen);
    if (!file)
        return -1;
    int rc = s_parse_argv(vfp_config_argc(file), vfp_config_argv(file), cfg,
                          err, errlen);
    if (rc != 0)
        vfp_config_blame(file, optind - 1, err, errlen);
    vfp_config_destroy(&file);
    return rc;
}

int controller_options_parse(int argc, char **argv, controller_config_t *cfg,
                             char *err, size_t errlen)
{
    /* The command line is read twice: first for --config, --help and its
     * own errors, then again over the file's settings so that it wins. */
    s_defaults(cfg);
    int rc = s_parse_argv(argc, argv, cfg, err, errlen);
    if (rc != 0)
        return rc;
    char path[sizeof(cfg->config_path)];
    snprintf(path, sizeof(path), "%s", cfg->config_path);
    bool given = cfg->config_given;
    s_defaults(cfg);
    snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", path);
    cfg->config_given = given;
    if (s_parse_file(cfg, err, errlen) != 0 ||
        s_parse_argv(argc, argv, cfg, err, errlen) != 0)
        return -1;
    if (!cfg->db_path[0])
        snprintf(cfg->db_path, sizeof(cfg->db_path), "%s/vfleet.db",
                 cfg->state_dir);
    if (!cfg->keys_dir[0])
        snprintf(cfg->keys_dir, sizeof(cfg->keys_dir), "%s/keys",
                 cfg->state_dir);
    if (!cfg->admin_endpoint[0])
        snprintf(cfg->admin_endpoint, sizeof(cfg->admin_endpoint),
                 "ipc://%s/" VFP_ADMIN_SOCKET_NAME, cfg->state_dir);
    if (cfg->backup_file[0] && cfg->restore_file[0]) {
        snprintf(err, errlen, "--backup and --restore go one at a time");
        return -1;
    }
    if (cfg->admin_group[0] && strncmp(cfg->admin_endpoint, "ipc://", 6)) {
        snprintf(err, errlen,
                 "--admin-group is for an ipc:// admin endpoint, not %s",
                 cfg->admin_endpoint);
        return -1;
    }
    return 0;
}
