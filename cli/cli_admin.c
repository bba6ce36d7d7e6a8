/* cli_admin.c - vfleetctl's verbs over the admin API (summary, hosts,
 * host, pfs, vfs, events, drift): options into a REQUEST, every page of the
 * answer, printed as a table or as JSON. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_admin.h"
#include "cli_client.h"
#include "cli_page.h"
#include "cli_print.h"
#include "vfp.h"

/* The usage below gives the page limit in words. */
static_assert(VFP_PAGE_LIMIT_MAX == 10000, "usage: --limit 1 to 10000");

static const char s_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] summary\n"
    "       vfleetctl [GLOBAL-OPTIONS] hosts [PAGING]\n"
    "       vfleetctl [GLOBAL-OPTIONS] host NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] host label NAME [KEY=VALUE...]"
    " [--remove KEY]...\n"
    "       vfleetctl [GLOBAL-OPTIONS] host cordon NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] host uncordon NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] host drain NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] pfs [--host H] [PAGING]\n"
    "       vfleetctl [GLOBAL-OPTIONS] vfs [--host H] [--pf PCI]"
    " [--free | --state S] [PAGING]\n"
    "       vfleetctl [GLOBAL-OPTIONS] events [--since T] [PAGING]\n"
    "       vfleetctl [GLOBAL-OPTIONS] drift [--host H] [PAGING]\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         wait this long for each answer (default\n"
    "                             5s; 500ms, 1.5s, a bare number is seconds)\n"
    "paging, PAGING above (hosts, pfs, vfs, events, drift):\n"
    "  --all            fetch every page (the default)\n"
    "  --limit N        fetch one page of at most N rows (1 to 10000) and\n"
    "                   say on stderr how to get the next; with --all, N\n"
    "                   rows per page\n"
    "  --after CURSOR   start after the cursor such a hint printed\n"
    "filters:\n"
    "  --host H         only this host's PFs, VFs or drift\n"
    "  --pf PCI         only the VFs of the PF at this PCI address\n"
    "  --free           only free VFs, the same as --state free\n"
    "  --state S        only VFs in state free, reserved, assigned, broken\n"
    "                   or missing\n"
    "  --since T        events at or after T: Unix seconds,\n"
    "                   2026-11-25T08:00:00Z, or an age such as 30s, 10m,\n"
    "                   2h, 1d\n";

static const struct option s_plain_options[] = {CLI_GLOBAL_OPTIONS,
                                                CLI_END_OPTIONS};
static const struct option s_hosts_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_END_OPTIONS};
static const struct option s_pfs_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_HOST_OPTION, CLI_END_OPTIONS};
static const struct option s_vfs_options[] = {
    CLI_GLOBAL_OPTIONS,
    CLI_PAGING_OPTIONS,
    CLI_HOST_OPTION,
    {"pf", required_argument, NULL, CLI_LIST_OPT_PF},
    {"free", no_argument, NULL, CLI_LIST_OPT_FREE},
    {"state", required_argument, NULL, CLI_LIST_OPT_STATE},
    CLI_END_OPTIONS};
static const struct option s_drift_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_HOST_OPTION, CLI_END_OPTIONS};
static const struct option s_events_options[] = {
    CLI_GLOBAL_OPTIONS,
    CLI_PAGING_OPTIONS,
    {"since", required_argument, NULL, CLI_LIST_OPT_SINCE},
    CLI_END_OPTIONS};

/* ---- what each verb prints -------------------------------------------- */

static const cli_column_t s_host_cols[] = {
    {"NAME", "name", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
    {"LAST-SEEN", "last_seen", CLI_CELL_TIME, NULL},
    {"PFS", "pfs", CLI_CELL_TEXT, NULL},
    {"VFS", "vfs", CLI_CELL_TEXT, NULL},
    {"FREE", "vfs_free", CLI_CELL_TEXT, NULL},
    {"IOMMU", "iommu.ready", CLI_CELL_BOOL, NULL},
    {"CPU", "cpu_virt", CLI_CELL_TEXT, NULL},
    {"AGENT", "agent_version", CLI_CELL_DASH, NULL},
    {"CORDONED", "cordoned", CLI_CELL_BOOL, NULL},
};

static const cli_column_t s_pf_cols[] = {
    {"HOST", "host", CLI_CELL_TEXT, NULL},
    {"PF", "pci_addr", CLI_CELL_TEXT, NULL},
    {"IFNAME", "ifname", CLI_CELL_DASH, NULL},
    {"DRIVER", "driver", CLI_CELL_DASH, NULL},
    {"VENDOR", "vendor_id", CLI_CELL_TEXT, NULL},
    {"DEVICE", "device_id", CLI_CELL_TEXT, NULL},
    {"NUMA", "numa_node", CLI_CELL_TEXT, NULL},
    {"SPEED", "link_speed", CLI_CELL_TEXT, NULL},
    {"LINK", "link_up", CLI_CELL_BOOL, NULL},
    {"NUMVFS", "num_vfs", CLI_CELL_RATIO, "total_vfs"},
    {"FREE", "vfs_free", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
};

static const cli_column_t s_vf_cols[] = {
    {"HOST", "host", CLI_CELL_TEXT, NULL},
    {"PF", "pf", CLI_CELL_TEXT, NULL},
    {"VF", "index", CLI_CELL_TEXT, NULL},
    {"PCI", "pci_addr", CLI_CELL_DASH, NULL},
    {"MAC", "mac", CLI_CELL_TEXT, NULL},
    {"VLAN", "vlan", CLI_CELL_TEXT, NULL},
    {"QOS", "qos", CLI_CELL_TEXT, NULL},
    {"SPOOFCHK", "spoofchk", CLI_CELL_TEXT, NULL},
    {"TRUST", "trust", CLI_CELL_TEXT, NULL},
    {"LINK-STATE", "link_state", CLI_CELL_TEXT, NULL},
    {"IOMMU-GROUP", "iommu_group", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
    {"VM", "vm", CLI_CELL_DASH, NULL},
};

static const cli_column_t s_event_cols[] = {
    {"TIME", "at", CLI_CELL_TIME, NULL},
    {"HOST", "host", CLI_CELL_DASH, NULL},
    {"KIND", "kind", CLI_CELL_TEXT, NULL},
    {"MESSAGE", "message", CLI_CELL_TEXT, NULL},
};

/* host NAME: these, the hugepage pools, s_host_counts, then a PF table. */
static const cli_column_t s_host_fields[] = {
    {"name", "name", CLI_CELL_TEXT, NULL},
    {"state", "state", CLI_CELL_TEXT, NULL},
    {"connected", "connected", CLI_CELL_BOOL, NULL},
    {"cordoned", "cordoned", CLI_CELL_BOOL, NULL},
    {"last seen", "last_seen", CLI_CELL_TIME, NULL},
    {"first seen", "first_seen", CLI_CELL_TIME, NULL},
    {"agent", "agent_version", CLI_CELL_DASH, NULL},
    {"protocol", "proto_version", CLI_CELL_TEXT, NULL},
    {"boot id", "boot_id", CLI_CELL_DASH, NULL},
    {"kernel", "kernel", CLI_CELL_DASH, NULL},
    {"generation", "generation", CLI_CELL_TEXT, NULL},
    {"cpu virt", "cpu_virt", CLI_CELL_TEXT, NULL},
    {"iommu ready", "iommu.ready", CLI_CELL_BOOL, NULL},
    {"iommu units", "iommu.units", CLI_CELL_TEXT, NULL},
    {"iommu groups", "iommu.groups", CLI_CELL_TEXT, NULL},
    {"iommu cmdline", "iommu.cmdline", CLI_CELL_DASH, NULL},
    {"iommu not ready", "iommu.reasons", CLI_CELL_LIST, NULL},
    {"memory kB", "memory.total_kb", CLI_CELL_TEXT, NULL},
    {"available kB", "memory.available_kb", CLI_CELL_TEXT, NULL},
};

static const cli_column_t s_host_counts[] = {
    {"vfs", "vfs", CLI_CELL_TEXT, NULL},
    {"vfs free", "vfs_free", CLI_CELL_TEXT, NULL},
};

static const cli_column_t s_summary_fields[] = {
    {"controller id", "controller_id", CLI_CELL_TEXT, NULL},
    {"version", "version", CLI_CELL_TEXT, NULL},
    {"schema version", "schema_version", CLI_CELL_TEXT, NULL},
    {"started", "started", CLI_CELL_TIME, NULL},
    {"heartbeat ms", "heartbeat_ms", CLI_CELL_TEXT, NULL},
    {"hosts", "hosts.total", CLI_CELL_TEXT, NULL},
    {"hosts ready", "hosts.ready", CLI_CELL_TEXT, NULL},
    {"hosts down", "hosts.down", CLI_CELL_TEXT, NULL},
    {"hosts connected", "hosts.connected", CLI_CELL_TEXT, NULL},
    {"pfs", "pfs", CLI_CELL_TEXT, NULL},
    {"vfs", "vfs.total", CLI_CELL_TEXT, NULL},
    {"vfs free", "vfs.free", CLI_CELL_TEXT, NULL},
    {"vfs reserved", "vfs.reserved", CLI_CELL_TEXT, NULL},
    {"vfs assigned", "vfs.assigned", CLI_CELL_TEXT, NULL},
    {"vfs broken", "vfs.broken", CLI_CELL_TEXT, NULL},
    {"vfs missing", "vfs.missing", CLI_CELL_TEXT, NULL},
    {"vms", "vms", CLI_CELL_TEXT, NULL},
};

static const cli_column_t s_drift_cols[] = {
    {"HOST", "host", CLI_CELL_TEXT, NULL},
    {"PF", "pf", CLI_CELL_DASH, NULL},
    {"VF", "vf", CLI_CELL_TEXT, NULL},
    {"ATTRIBUTE", "attribute", CLI_CELL_TEXT, NULL},
    {"WANTED", "wanted", CLI_CELL_TEXT, NULL},
    {"HAS", "has", CLI_CELL_TEXT, NULL},
    {"SEEN", "seen_at", CLI_CELL_TIME, NULL},
};

static const cli_listing_t s_hosts = {
    "hosts",     s_hosts_options,        s_usage, "hosts",
    s_host_cols, CLI_NCOLS(s_host_cols), NULL,    NULL};
static const cli_listing_t s_pfs = {"pfs", s_pfs_options, s_usage,
                                    "pfs", s_pf_cols,     CLI_NCOLS(s_pf_cols),
                                    NULL,  NULL};
static const cli_listing_t s_vfs = {"vfs", s_vfs_options, s_usage,
                                    "vfs", s_vf_cols,     CLI_NCOLS(s_vf_cols),
                                    NULL,  NULL};
/* Every page of events starts from the oldest ("0"), since without a
 * cursor they answer the newest page only (ADMIN.md). */
static const cli_listing_t s_events = {
    "events",     s_events_options,        s_usage, "events",
    s_event_cols, CLI_NCOLS(s_event_cols), "0",     NULL};
static const cli_listing_t s_drift = {
    "drift",      s_drift_options,         s_usage, "drift",
    s_drift_cols, CLI_NCOLS(s_drift_cols), NULL,    NULL};

/* ---- options ---------------------------------------------------------- */

typedef struct {
    cli_request_t req;
    const char *usage;
    cli_page_t page;
    bool free_only;
    const char *state;
    const char *operand; /* host NAME */
} s_args_t;

/* Unix seconds, RFC 3339 UTC ("...Z"), or an age ("10m") before now. */
static int s_parse_since(const char *text, long long *secs)
{
    static const struct {
        const char *unit;
        long long scale;
    } units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    size_t nunits = sizeof(units) / sizeof(units[0]);
    for (size_t i = 0; !errno && end != text && n >= 0 && i < nunits; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *secs = i == 0 ? n : (long long)time(NULL) - n * units[i].scale;
            return 0;
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

static int s_since_option(s_args_t *args, const char *text)
{
    long long since;
    if (s_parse_since(text, &since) != 0)
        return cli_usage_error(args->usage, "%s: cannot read --since '%s'",
                               args->req.verb, text);
    char value[32];
    snprintf(value, sizeof(value), "%lld", since < 0 ? 0 : since);
    return cli_request_set(&args->req, "since", value) == 0 ? 0
                                                            : CLI_EXIT_ERROR;
}

static int s_limit_option(s_args_t *args, const char *text)
{
    if (!text[0] || strspn(text, "0123456789") != strlen(text) ||
        strspn(text, "0") == strlen(text) || strlen(text) > 9 ||
        strtol(text, NULL, 10) > VFP_PAGE_LIMIT_MAX)
        return cli_usage_error(args->usage,
                               "%s: --limit '%s' is not a number of rows "
                               "from 1 to %d",
                               args->req.verb, text, VFP_PAGE_LIMIT_MAX);
    args->page.limit = text;
    return 0;
}

/* Applies one verb option. Returns 0 or an exit status. */
static int s_option(s_args_t *args, int opt, const char *arg)
{
    switch (opt) {
    case CLI_LIST_OPT_HOST:
        return cli_request_set(&args->req, "host", arg) ? CLI_EXIT_ERROR : 0;
    case CLI_LIST_OPT_PF:
        return cli_request_set(&args->req, "pf", arg) ? CLI_EXIT_ERROR : 0;
    case CLI_LIST_OPT_FREE:
        args->free_only = true;
        return 0;
    case CLI_LIST_OPT_STATE:
        args->state = arg;
        return 0;
    case CLI_LIST_OPT_SINCE:
        return s_since_option(args, arg);
    case CLI_LIST_OPT_LIMIT:
        return s_limit_option(args, arg);
    case CLI_LIST_OPT_AFTER:
        args->page.after = arg;
        return 0;
    case CLI_LIST_OPT_ALL:
        args->page.all = true;
        return 0;
    default:
        assert(!"a verb option without a case");
        return CLI_EXIT_USAGE;
    }
}

/* Checks what the options say together and the operands. */
static int s_finish_args(s_args_t *args, int argc, char **argv,
                         bool want_operand)
{
    const char *verb = args->req.verb;
    if (args->free_only && args->state)
        return cli_usage_error(
            args->usage, "%s: --free and --state exclude each other", verb);
    if ((args->free_only || args->state) &&
        cli_request_set(&args->req, "state",
                        args->free_only ? "free" : args->state) != 0)
        return CLI_EXIT_ERROR;
    int operands = argc - optind;
    if (want_operand && operands != 1)
        return cli_usage_error(args->usage, "%s: expected exactly one NAME",
                               verb);
    if (!want_operand && operands != 0)
        return cli_usage_error(args->usage, "%s: unexpected argument '%s'",
                               verb, argv[optind]);
    args->operand = want_operand ? argv[optind] : NULL;
    return 0;
}

/* s_parse's "go on": any other value is an exit status to return now. */
#define S_PROCEED (-1)

/* Parses a verb's command line into args. Returns S_PROCEED, or an exit
 * status after printing the help or reporting a usage error. */
static int s_parse(cli_t *cli, int argc, char **argv, const char *verb,
                   const struct option *options, const char *usage,
                   bool want_operand, s_args_t *args)
{
    memset(args, 0, sizeof(*args));
    cli_request_init(&args->req, verb);
    args->usage = usage;
    optind = 0;
    for (;;) {
        int opt = cli_next_option(cli, argc, argv, options, usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        int status = s_option(args, opt, optarg);
        if (status != 0)
            return status;
    }
    int status = s_finish_args(args, argc, argv, want_operand);
    return status == 0 ? S_PROCEED : status;
}

/* ---- verbs ------------------------------------------------------------ */

static int s_out_add(json_t *rows, void *out)
{
    return cli_listing_out_add(out, rows);
}

/* Every page, printed as it comes (cli_listing_out_t): only the table's
 * text is kept, not every page's JSON. */
static int s_listing_stream(cli_t *cli, cli_client_t *client, s_args_t *args,
                            const cli_listing_t *listing)
{
    cli_listing_out_t *out =
        cli_listing_out_new(cli, listing->key, listing->cols, listing->ncols);
    json_t *next = NULL;
    int status = cli_page_each(client, &args->req, listing->key, &args->page,
                               s_out_add, out, &next);
    if (status == CLI_EXIT_OK)
        status = cli_listing_out_end(out, NULL);
    cli_listing_out_destroy(&out);
    json_decref(next);
    return status;
}

int cli_listing_run(cli_t *cli, int argc, char **argv,
                    const cli_listing_t *listing)
{
    s_args_t args;
    int status = s_parse(cli, argc, argv, listing->verb, listing->options,
                         listing->usage, false, &args);
    if (status != S_PROCEED)
        return status;
    if (!args.page.after && (args.page.all || !args.page.limit))
        args.page.after = listing->first_after;
    cli_client_t *client = cli_client_new(cli);
    if (!client)
        return CLI_EXIT_ERROR;
    if (!listing->print && !(args.page.limit && !args.page.all)) {
        status = s_listing_stream(cli, client, &args, listing);
        cli_client_destroy(&client);
        return status;
    }
    cli_request_t filters = args.req;
    json_t *rows = NULL, *next = NULL;
    status = cli_page_fetch(client, &args.req, listing->key, &args.page, &rows,
                            &next);
    if (status == CLI_EXIT_OK && listing->print)
        status = listing->print(cli, client, &filters, rows, next);
    else if (status == CLI_EXIT_OK)
        status = cli_print_listing(cli, listing->key, rows, next, listing->cols,
                                   listing->ncols);
    cli_client_destroy(&client);
    if (status == CLI_EXIT_OK)
        cli_page_hint(listing->key, next);
    json_decref(rows);
    json_decref(next);
    return status;
}

int cli_hosts(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_hosts);
}

int cli_pfs(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_pfs);
}

int cli_vfs(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_vfs);
}

int cli_events(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_events);
}

int cli_drift(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_drift);
}

/* One request, one reply (summary, host): the body, which must hold the
 * object `key` unless it is NULL, in *body_p. */
static int s_detail(cli_t *cli, s_args_t *args, const char *key,
                    json_t **body_p)
{
    cli_client_t *client = cli_client_new(cli);
    if (!client)
        return CLI_EXIT_ERROR;
    int status = cli_client_call(client, &args->req, body_p);
    cli_client_destroy(&client);
    if (status != CLI_EXIT_OK)
        return status;
    if (key && !json_is_object(json_object_get(*body_p, key))) {
        cli_error("controller reply has no \"%s\" object", key);
        json_decref(*body_p);
        *body_p = NULL;
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cli_summary(cli_t *cli, int argc, char **argv)
{
    s_args_t args;
    int status = s_parse(cli, argc, argv, argv[0], s_plain_options, s_usage,
                         false, &args);
    if (status != S_PROCEED)
        return status;
    json_t *body = NULL;
    status = s_detail(cli, &args, NULL, &body);
    if (status == CLI_EXIT_OK && cli->output == CLI_OUTPUT_JSON)
        status = cli_print_json(body);
    else if (status == CLI_EXIT_OK)
        cli_print_fields(body, s_summary_fields, CLI_NCOLS(s_summary_fields));
    json_decref(body);
    return status;
}

static void s_print_host(json_t *host)
{
    cli_print_fields(host, s_host_fields, CLI_NCOLS(s_host_fields));
    cli_print_labels(json_object_get(host, "labels"));
    size_t i;
    json_t *pool;
    json_array_foreach(json_object_get(host, "hugepages"), i, pool)
    {
        char text[128];
        snprintf(text, sizeof(text),
                 "%" JSON_INTEGER_FORMAT "kB: %" JSON_INTEGER_FORMAT
                 " total, %" JSON_INTEGER_FORMAT " free",
                 json_integer_value(json_object_get(pool, "size_kb")),
                 json_integer_value(json_object_get(pool, "total")),
                 json_integer_value(json_object_get(pool, "free")));
        cli_print_line("hugepages", text);
    }
    cli_print_fields(host, s_host_counts, CLI_NCOLS(s_host_counts));
    putchar('\n');
    /* The PF table of one host leaves out the HOST column. */
    cli_print_table(json_object_get(host, "pf_list"), s_pf_cols + 1,
                    CLI_NCOLS(s_pf_cols) - 1);
}

/* host SUBVERB ...: the subverb's handler, or NULL for host NAME. "host
 * label" alone (nothing after the word) shows a host named label, and so
 * on for each subverb. */
static cli_verb_fn *s_host_subverb(int argc, char **argv, int *at)
{
    static const struct {
        const char *name;
        cli_verb_fn *run;
    } subverbs[] = {
        {"label", cli_host_label},
        {"cordon", cli_host_cordon},
        {"uncordon", cli_host_uncordon},
        {"drain", cli_host_drain},
    };
    *at = cli_find_subverb(argc, argv);
    if (*at + 1 >= argc)
        return NULL;
    for (size_t i = 0; i < sizeof(subverbs) / sizeof(*subverbs); i++)
        if (strcmp(argv[*at], subverbs[i].name) == 0)
            return subverbs[i].run;
    return NULL;
}

int cli_host(cli_t *cli, int argc, char **argv)
{
    int at;
    cli_verb_fn *run = s_host_subverb(argc, argv, &at);
    if (run)
        return cli_run_subverb(cli, argc, argv, at, run);
    s_args_t args;
    int status = s_parse(cli, argc, argv, argv[0], s_plain_options, s_usage,
                         true, &args);
    if (status != S_PROCEED)
        return status;
    if (cli_request_set(&args.req, "name", args.operand) != 0)
        return CLI_EXIT_ERROR;
    json_t *body = NULL;
    status = s_detail(cli, &args, "host", &body);
    if (status == CLI_EXIT_OK && cli->output == CLI_OUTPUT_JSON)
        status = cli_print_json(body);
    else if (status == CLI_EXIT_OK)
        s_print_host(json_object_get(body, "host"));
    json_decref(body);
    return status;
}
