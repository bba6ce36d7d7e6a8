/* vfleetctl.c - the operator's command line tool: global options, then one
 * verb from the dispatch table. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    cli_verb_fn *handler;
    const char *help;
} cli_verb_t;

static const cli_verb_t s_verbs[] = {
    {"policy", cli_policy,
     "validate, show or diff policy files (offline, no controller)"},
    {"hosts", cli_hosts, "list hosts, their state and free VFs"},
    {"host", cli_host, "show one host: facts, hugepages and PFs"},
    {"pfs", cli_pfs, "list physical functions [--host H]"},
    {"vfs", cli_vfs, "list VFs [--host H] [--pf PCI] [--free]"},
    {"events", cli_events, "show the controller's event log [--since T]"},
};

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vfleetctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vfleetctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: vfleetctl [-c ENDPOINT] [-o table|json] VERB [ARGS...]\n"
            "       vfleetctl VERB --help\n"
            "       vfleetctl --help | --version\n"
            "\n"
            "options:\n"
            "  -c, --controller ENDPOINT  controller admin API (default:\n"
            "                             $VFLEET_CONTROLLER, else %s)\n"
            "  -o, --output FORMAT        table (default) or json, for verbs "
            "that list\n"
            "  -h, --help                 show this help\n"
            "  -V, --version              show the version\n"
            "\n"
            "verbs:\n",
            CLI_DEFAULT_CONTROLLER);
    for (size_t i = 0; i < sizeof(s_verbs) / sizeof(*s_verbs); i++)
        fprintf(out, "  %-10s %s\n", s_verbs[i].name, s_verbs[i].help);
    fputs("\nexit status: 0 ok, 1 error, 2 usage error, 3 policy diff found "
          "changes\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"controller", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    cli_t cli = {.controller = getenv("VFLEET_CONTROLLER"),
                 .output = CLI_OUTPUT_TABLE};
    if (!cli.controller || !*cli.controller)
        cli.controller = CLI_DEFAULT_CONTROLLER;

    int opt;
    /* "+" stops at the verb, so verb options are left for the verb. */
    while ((opt = getopt_long(argc, argv, "+c:o:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cli.controller = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "table") == 0) {
                cli.output = CLI_OUTPUT_TABLE;
            } else if (strcmp(optarg, "json") == 0) {
                cli.output = CLI_OUTPUT_JSON;
            } else {
                cli_error("unknown output format '%s' (table or json)", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            s_usage(stdout);
            return CLI_EXIT_OK;
        case 'V':
            printf("vfleetctl %s\n", VFLEET_VERSION);
            return CLI_EXIT_OK;
        default:
            s_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind == argc) {
        cli_error("no verb given");
        s_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[optind];
    for (size_t i = 0; i < sizeof(s_verbs) / sizeof(*s_verbs); i++)
        if (strcmp(s_verbs[i].name, verb) == 0)
            return s_verbs[i].handler(&cli, argc - optind, argv + optind);
    cli_error("unknown verb '%s'", verb);
    s_usage(stderr);
    return CLI_EXIT_USAGE;
}
