/* cli_admin.c - vfleetctl's read verbs (hosts, host, pfs, vfs, events):
 * one REQUEST to the controller's admin API, its JSON REPLY printed as an
 * aligned table or passed through as JSON. */
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vfp_transport.h"

#define S_TIMEOUT_DEFAULT_MS 5000

/* ---- talking to the controller --------------------------------------- */

typedef struct {
    const char *verb;
    uint32_t param_count;
    vfp_param_t params[VFP_PARAMS_MAX];
    int timeout_ms;
} s_request_t;

static void s_param(s_request_t *req, const char *key, const char *value)
{
    assert(req->param_count < VFP_PARAMS_MAX);
    vfp_param_t *p = &req->params[req->param_count++];
    snprintf(p->key, sizeof(p->key), "%s", key);
    snprintf(p->value, sizeof(p->value), "%s", value);
}

/* Sends the request and waits for its reply. Returns CLI_EXIT_OK with the
 * parsed body in *body_p, or CLI_EXIT_ERROR after saying why on stderr. */
static int s_call(cli_t *cli, const s_request_t *req, json_t **body_p)
{
    zsys_handler_set(NULL);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    assert(sock);
    vfp_socket_limit(sock);
    zsock_set_linger(sock, 0);
    zsock_set_rcvtimeo(sock, req->timeout_ms);
    int status = CLI_EXIT_ERROR;
    vfp_msg_t *reply = NULL;
    vfp_msg_t *msg = vfp_msg_new(VFP_REQUEST);
    if (zsock_connect(sock, "%s", cli->controller) != 0) {
        cli_error("invalid controller endpoint \"%s\"", cli->controller);
        goto done;
    }
    msg->request_id = (uint32_t)getpid();
    snprintf(msg->u.request.verb, sizeof(msg->u.request.verb), "%s", req->verb);
    msg->u.request.param_count = req->param_count;
    memcpy(msg->u.request.params, req->params,
           req->param_count * sizeof(req->params[0]));
    vfp_decode_error_t err;
    if (vfp_send(sock, NULL, msg, &err) != 0) {
        cli_error("cannot send the request: %s %s", err.field, err.text);
        goto done;
    }
    /* Replies to an earlier, timed-out request cannot arrive on a fresh
     * socket, but a reply must still match its request id. */
    reply = vfp_recv(sock, NULL, &err);
    if (!reply && err.code == VFP_OK) {
        cli_error("cannot reach controller at %s: is vfleet-controller "
                  "running?",
                  cli->controller);
        goto done;
    }
    if (!reply) {
        cli_error("controller at %s sent a malformed reply: %s: %s",
                  cli->controller, err.field, err.text);
        goto done;
    }
    if (reply->id != VFP_REPLY || reply->request_id != msg->request_id) {
        cli_error("controller at %s answered with an unexpected %s",
                  cli->controller, vfp_id_name(reply->id));
        goto done;
    }
    if (reply->u.reply.status != VFP_OK) {
        cli_error("%s: %s", req->verb, reply->u.reply.error);
        goto done;
    }
    json_error_t jerr;
    *body_p = json_loadb(reply->u.reply.body ? reply->u.reply.body : "",
                         reply->u.reply.body_len, 0, &jerr);
    if (!*body_p) {
        cli_error("controller sent invalid JSON: %s (line %d)", jerr.text,
                  jerr.line);
        goto done;
    }
    status = CLI_EXIT_OK;
done:
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&msg);
    zsock_destroy(&sock);
    return status;
}

/* ---- printing --------------------------------------------------------- */

typedef enum {
    S_TEXT,  /* string, number or bool as is */
    S_BOOL,  /* yes / no */
    S_TIME,  /* RFC 3339, shown to the second */
    S_RATIO, /* key/key2 */
    S_DASH,  /* "-" for null or "" */
} s_kind_t;

typedef struct {
    const char *header;
    const char *key; /* dotted path into the row object */
    s_kind_t kind;
    const char *key2;
} s_column_t;

static json_t *s_path(json_t *obj, const char *path)
{
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part && obj;
         part = strtok_r(NULL, ".", &save))
        obj = json_object_get(obj, part);
    return obj;
}

static void s_scalar(json_t *value, char *buf, size_t size)
{
    if (json_is_string(value))
        snprintf(buf, size, "%s", json_string_value(value));
    else if (json_is_integer(value))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    else if (json_is_boolean(value))
        snprintf(buf, size, "%s", json_is_true(value) ? "true" : "false");
    else
        snprintf(buf, size, "-");
}

static void s_cell(json_t *row, const s_column_t *col, char *buf, size_t size)
{
    json_t *value = s_path(row, col->key);
    switch (col->kind) {
    case S_BOOL:
        snprintf(buf, size, "%s", json_is_true(value) ? "yes" : "no");
        break;
    case S_TIME:
        s_scalar(value, buf, size);
        /* 2026-11-25T08:38:40.123Z -> 2026-11-25T08:38:40Z */
        if (strlen(buf) == 24 && buf[19] == '.')
            memmove(buf + 19, buf + 23, 2);
        break;
    case S_RATIO: {
        char a[32], b[32];
        s_scalar(value, a, sizeof(a));
        s_scalar(s_path(row, col->key2), b, sizeof(b));
        snprintf(buf, size, "%s/%s", a, b);
        break;
    }
    case S_DASH:
        s_scalar(value, buf, size);
        if (!buf[0])
            snprintf(buf, size, "-");
        break;
    default:
        s_scalar(value, buf, size);
        break;
    }
}

/* Prints rows as columns padded to their widest cell. */
static void s_table(json_t *rows, const s_column_t *cols, size_t ncols)
{
    size_t *width = calloc(ncols, sizeof(*width));
    assert(width);
    char cell[1100];
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c].header);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            s_cell(row, &cols[c], cell, sizeof(cell));
            if (strlen(cell) > width[c])
                width[c] = strlen(cell);
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].header,
               c + 1 < ncols ? "  " : "\n");
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            s_cell(row, &cols[c], cell, sizeof(cell));
            printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cell,
                   c + 1 < ncols ? "  " : "\n");
        }
    }
    free(width);
}

static int s_print_json(json_t *body)
{
    if (json_dumpf(body, stdout, JSON_INDENT(2)) != 0) {
        cli_error("cannot write the output");
        return CLI_EXIT_ERROR;
    }
    putchar('\n');
    return CLI_EXIT_OK;
}

static const s_column_t s_host_cols[] = {
    {"NAME", "name", S_TEXT, NULL},
    {"STATE", "state", S_TEXT, NULL},
    {"LAST-SEEN", "last_seen", S_TIME, NULL},
    {"PFS", "pfs", S_TEXT, NULL},
    {"VFS", "vfs", S_TEXT, NULL},
    {"FREE", "vfs_free", S_TEXT, NULL},
    {"IOMMU", "iommu.ready", S_BOOL, NULL},
    {"CPU", "cpu_virt", S_TEXT, NULL},
    {"AGENT", "agent_version", S_DASH, NULL},
};

static const s_column_t s_pf_cols[] = {
    {"HOST", "host", S_TEXT, NULL},
    {"PF", "pci_addr", S_TEXT, NULL},
    {"IFNAME", "ifname", S_DASH, NULL},
    {"DRIVER", "driver", S_DASH, NULL},
    {"VENDOR", "vendor_id", S_TEXT, NULL},
    {"DEVICE", "device_id", S_TEXT, NULL},
    {"NUMA", "numa_node", S_TEXT, NULL},
    {"SPEED", "link_speed", S_TEXT, NULL},
    {"LINK", "link_up", S_BOOL, NULL},
    {"NUMVFS", "num_vfs", S_RATIO, "total_vfs"},
    {"FREE", "vfs_free", S_TEXT, NULL},
    {"STATE", "state", S_TEXT, NULL},
};

static const s_column_t s_vf_cols[] = {
    {"HOST", "host", S_TEXT, NULL},
    {"PF", "pf", S_TEXT, NULL},
    {"VF", "index", S_TEXT, NULL},
    {"PCI", "pci_addr", S_DASH, NULL},
    {"MAC", "mac", S_TEXT, NULL},
    {"VLAN", "vlan", S_TEXT, NULL},
    {"QOS", "qos", S_TEXT, NULL},
    {"SPOOFCHK", "spoofchk", S_TEXT, NULL},
    {"TRUST", "trust", S_TEXT, NULL},
    {"LINK-STATE", "link_state", S_TEXT, NULL},
    {"IOMMU-GROUP", "iommu_group", S_TEXT, NULL},
    {"STATE", "state", S_TEXT, NULL},
    {"VM", "vm", S_DASH, NULL},
};

static const s_column_t s_event_cols[] = {
    {"TIME", "at", S_TIME, NULL},
    {"HOST", "host", S_DASH, NULL},
    {"KIND", "kind", S_TEXT, NULL},
    {"MESSAGE", "message", S_TEXT, NULL},
};

#define S_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* ---- verbs ------------------------------------------------------------ */

static const char s_usage[] =
    "usage: vfleetctl [-c ENDPOINT] [-o table|json] hosts [--timeout S]\n"
    "       vfleetctl [...] host NAME [--timeout S]\n"
    "       vfleetctl [...] pfs [--host H] [--timeout S]\n"
    "       vfleetctl [...] vfs [--host H] [--pf PCI] [--free | --state S]"
    " [--timeout S]\n"
    "       vfleetctl [...] events [--since T] [--limit N] [--timeout S]\n"
    "\n"
    "  --timeout S  seconds to wait for the controller (default 5)\n"
    "  --since T    Unix seconds, 2026-11-25T08:00:00Z, or an age such as\n"
    "               30s, 10m, 2h, 1d\n";

/* Unix seconds, RFC 3339 UTC ("...Z"), or an age ("10m") before now. */
static int s_parse_since(const char *text, long long *secs)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (!errno && end != text && n >= 0) {
        static const struct {
            const char *unit;
            long long scale;
        } units[] = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
        if (!*end) {
            *secs = n;
            return 0;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcmp(end, units[i].unit) == 0) {
                *secs = (long long)time(NULL) - n * units[i].scale;
                return 0;
            }
        }
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end && (strcmp(end, "Z") == 0 || *end == '\0')) {
        *secs = (long long)timegm(&tm);
        return 0;
    }
    return -1;
}

/* Parses the verb's options into req; `allowed` is a string of the option
 * letters this verb takes (H host, P pf, F free, S state, T since,
 * L limit). Returns -1 on a usage error (already reported). */
static int s_options(int argc, char **argv, const char *allowed,
                     s_request_t *req, const char **positional)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},
        {"pf", required_argument, NULL, 'P'},
        {"free", no_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},
        {"since", required_argument, NULL, 'T'},
        {"limit", required_argument, NULL, 'L'},
        {"timeout", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    req->verb = argv[0];
    req->timeout_ms = S_TIMEOUT_DEFAULT_MS;
    bool free_only = false;
    const char *state = NULL;
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(s_usage, stdout);
            return 1;
        }
        if (opt == '?' || opt == ':' || (opt != 'W' && !strchr(allowed, opt))) {
            cli_usage_error(s_usage, "%s: unknown or misplaced option '%s'",
                            req->verb, argv[optind - 1]);
            return -1;
        }
        long long since;
        char *end;
        double secs;
        switch (opt) {
        case 'H':
            s_param(req, "host", optarg);
            break;
        case 'P':
            s_param(req, "pf", optarg);
            break;
        case 'F':
            free_only = true;
            break;
        case 'S':
            state = optarg;
            break;
        case 'T':
            if (s_parse_since(optarg, &since) != 0) {
                cli_usage_error(s_usage, "%s: cannot read --since '%s'",
                                req->verb, optarg);
                return -1;
            }
            char value[32];
            snprintf(value, sizeof(value), "%lld", since < 0 ? 0 : since);
            s_param(req, "since", value);
            break;
        case 'L':
            s_param(req, "limit", optarg);
            break;
        case 'W':
            secs = strtod(optarg, &end);
            if (end == optarg || *end || !(secs > 0 && secs <= 3600)) {
                cli_usage_error(s_usage,
                                "%s: --timeout '%s' is not 0 to 3600 seconds",
                                req->verb, optarg);
                return -1;
            }
            req->timeout_ms = (int)(secs * 1000);
            if (req->timeout_ms < 1)
                req->timeout_ms = 1;
            break;
        }
    }
    if (free_only && state) {
        cli_usage_error(s_usage, "%s: --free and --state exclude each other",
                        req->verb);
        return -1;
    }
    if (free_only || state)
        s_param(req, "state", free_only ? "free" : state);
    int remaining = argc - optind;
    if (positional) {
        if (remaining != 1) {
            cli_usage_error(s_usage, "%s: expected exactly one NAME",
                            req->verb);
            return -1;
        }
        *positional = argv[optind];
    } else if (remaining != 0) {
        cli_usage_error(s_usage, "%s: unexpected argument '%s'", req->verb,
                        argv[optind]);
        return -1;
    }
    return 0;
}

/* Runs a listing verb: request, then the array under `key` as a table. */
static int s_list(cli_t *cli, int argc, char **argv, const char *allowed,
                  const char *key, const s_column_t *cols, size_t ncols)
{
    s_request_t req = {0};
    int rc = s_options(argc, argv, allowed, &req, NULL);
    if (rc != 0)
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    json_t *body = NULL;
    int status = s_call(cli, &req, &body);
    if (status != CLI_EXIT_OK)
        return status;
    json_t *rows = json_object_get(body, key);
    if (!json_is_array(rows)) {
        cli_error("controller reply has no \"%s\" list", key);
        status = CLI_EXIT_ERROR;
    } else if (cli->output == CLI_OUTPUT_JSON) {
        status = s_print_json(body);
    } else {
        s_table(rows, cols, ncols);
    }
    json_decref(body);
    return status;
}

int cli_hosts(cli_t *cli, int argc, char **argv)
{
    return s_list(cli, argc, argv, "", "hosts", s_host_cols,
                  S_NCOLS(s_host_cols));
}

int cli_pfs(cli_t *cli, int argc, char **argv)
{
    return s_list(cli, argc, argv, "H", "pfs", s_pf_cols, S_NCOLS(s_pf_cols));
}

int cli_vfs(cli_t *cli, int argc, char **argv)
{
    return s_list(cli, argc, argv, "HPFS", "vfs", s_vf_cols,
                  S_NCOLS(s_vf_cols));
}

int cli_events(cli_t *cli, int argc, char **argv)
{
    return s_list(cli, argc, argv, "TL", "events", s_event_cols,
                  S_NCOLS(s_event_cols));
}

static void s_field(const char *label, json_t *host, const char *key,
                    s_kind_t kind)
{
    s_column_t col = {label, key, kind, NULL};
    char cell[1100];
    s_cell(host, &col, cell, sizeof(cell));
    printf("%-16s %s\n", label, cell);
}

int cli_host(cli_t *cli, int argc, char **argv)
{
    s_request_t req = {0};
    const char *name = NULL;
    int rc = s_options(argc, argv, "", &req, &name);
    if (rc != 0)
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    s_param(&req, "name", name);
    json_t *body = NULL;
    int status = s_call(cli, &req, &body);
    if (status != CLI_EXIT_OK)
        return status;
    json_t *host = json_object_get(body, "host");
    if (!json_is_object(host)) {
        cli_error("controller reply has no \"host\" object");
        json_decref(body);
        return CLI_EXIT_ERROR;
    }
    if (cli->output == CLI_OUTPUT_JSON) {
        status = s_print_json(body);
        json_decref(body);
        return status;
    }
    s_field("name", host, "name", S_TEXT);
    s_field("state", host, "state", S_TEXT);
    s_field("connected", host, "connected", S_BOOL);
    s_field("last seen", host, "last_seen", S_TIME);
    s_field("first seen", host, "first_seen", S_TIME);
    s_field("agent", host, "agent_version", S_DASH);
    s_field("protocol", host, "proto_version", S_TEXT);
    s_field("boot id", host, "boot_id", S_DASH);
    s_field("kernel", host, "kernel", S_DASH);
    s_field("generation", host, "generation", S_TEXT);
    s_field("cpu virt", host, "cpu_virt", S_TEXT);
    s_field("iommu ready", host, "iommu.ready", S_BOOL);
    s_field("iommu units", host, "iommu.units", S_TEXT);
    s_field("iommu groups", host, "iommu.groups", S_TEXT);
    s_field("iommu cmdline", host, "iommu.cmdline", S_DASH);
    size_t i;
    json_t *reason;
    json_array_foreach(s_path(host, "iommu.reasons"), i, reason)
        printf("%-16s %s\n", "iommu not ready", json_string_value(reason));
    s_field("memory kB", host, "memory.total_kb", S_TEXT);
    s_field("available kB", host, "memory.available_kb", S_TEXT);
    json_t *pool;
    json_array_foreach(json_object_get(host, "hugepages"), i, pool)
    {
        printf("%-16s %" JSON_INTEGER_FORMAT "kB: %" JSON_INTEGER_FORMAT
               " total, %" JSON_INTEGER_FORMAT " free\n",
               "hugepages",
               json_integer_value(json_object_get(pool, "size_kb")),
               json_integer_value(json_object_get(pool, "total")),
               json_integer_value(json_object_get(pool, "free")));
    }
    s_field("vfs", host, "vfs", S_TEXT);
    s_field("vfs free", host, "vfs_free", S_TEXT);
    putchar('\n');
    s_table(json_object_get(host, "pf_list"), s_pf_cols + 1,
            S_NCOLS(s_pf_cols) - 1);
    json_decref(body);
    return CLI_EXIT_OK;
}
