/* vfleetctl.c - the operator's command line tool: global options, then one
 * verb from the dispatch table. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_plan.h"

typedef struct {
    const char *name;
    cli_verb_fn *handler;
    const char *help;
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"policy", cli_policy,
     "validate, show, diff, apply or roll back policy; its status, history"},
    {"summary", cli_summary, "the controller's counts of hosts, PFs and VFs"},
    {"hosts", cli_hosts, "list hosts, their state and free VFs"},
    {"host", cli_host,
     "show one host: facts, labels, hugepages and PFs; host label sets "
     "labels; host cordon, uncordon, drain"},
    {"pfs", cli_pfs, "list physical functions [--host H]"},
    {"vfs", cli_vfs, "list VFs [--host H] [--pf PCI] [--free | --state S]"},
    {"events", cli_events, "show the controller's event log [--since T]"},
    {"drift", cli_drift,
     "list VF settings that differ from the policy [--host H]"},
    {"vm", cli_vm,
     "create, show, delete, power, migrate, evacuate a VM; nic, xml, apply"},
    {"vms", cli_vms, "list VMs [--host H] [--state S]"},
    {"plan", cli_plan,
     "how many VMs would fit: plan FILE | plan --count N ..."},
    {"keys", cli_keys,
     "CURVE keys on the controller host: init, add-host, add-admin, revoke, "
     "list"},
};

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: vfleetctl [-c ENDPOINT] [-o table|json] [--timeout "
            "DURATION]\n"
            "                 [--key FILE] [--controller-key FILE] "
            "[--insecure] VERB [ARGS...]\n"
            "       vfleetctl VERB --help\n"
            "       vfleetctl --help | --version\n"
            "\n"
            "global options (also accepted after the verb):\n"
            "  -c, --controller ENDPOINT  controller admin API (default:\n"
            "                             $VFLEET_CONTROLLER, else %s)\n"
            "  -o, --output FORMAT        table (default) or json, for verbs "
            "that list\n"
            "  --timeout DURATION         how long to wait for each answer of "
            "the\n"
            "                             controller (default 5s; 500ms, "
            "1.5s, 2);\n"
            "                             policy apply and rollback: for the "
            "whole\n"
            "                             rollout (default 60s); a vm create "
            "or vm\n"
            "                             apply that waits: for the placement\n"
            "                             (default 60s)\n"
            "  --key FILE                 this admin's secret key, for a "
            "tcp:// endpoint\n"
            "                             (default: $VFLEET_KEY, else\n"
            "                             " CLI_KEY_DEFAULT ")\n"
            "  --controller-key FILE      the controller's public key "
            "(default:\n"
            "                             $VFLEET_CONTROLLER_KEY, else\n"
            "                             " CLI_CONTROLLER_KEY_DEFAULT ")\n"
            "  --insecure                 plaintext on a tcp:// endpoint, "
            "for a controller\n"
            "                             started with --insecure; ipc:// "
            "is always\n"
            "                             plaintext (its file mode guards "
            "it)\n"
            "  -h, --help                 show this help\n"
            "  -V, --version              show the version\n"
            "\n"
            "verbs:\n",
            CLI_DEFAULT_CONTROLLER);
    for (size_t i = 0; i < sizeof(s_verbs) / sizeof(*s_verbs); i++)
        fprintf(out, "  %-10s %s\n", s_verbs[i].name, s_verbs[i].help);
    fputs("\nlisting verbs take --all, --limit N and --after CURSOR "
          "(vfleetctl hosts --help)\n"
          "\nexit status: 0 ok, 1 error, 2 usage error, 3 policy diff (or a "
          "dry run)\n"
          "found changes, 4 policy apply or rollback did not complete on "
          "every host,\n"
          "or vm create --wait did not place the VM; plan exits 1 when a VM "
          "does not fit\n",
          out);
}

/* Global options before the verb. Returns -1 to go on to the verb, else
 * an exit status. */
static int s_global_options(cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int opt, status;
    /* "+" stops at the verb: what follows is the verb's to parse. */
    while ((opt = getopt_long(argc, argv, "+:c:o:hV", options, NULL)) != -1) {
        if (opt == 'h') {
            s_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (opt == 'V') {
            printf("vfleetctl %s\n", VFLEET_VERSION);
            return CLI_EXIT_OK;
        }
        if (opt == '?' || opt == ':') {
            status = cli_option_error(NULL, opt, argv, NULL);
            s_usage(stderr);
            return status;
        }
        if (cli_global_option(cli, opt, optarg) < 0)
            return CLI_EXIT_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    /* A listing's pages are replies of megabytes, each parsed into
     * thousands of small JSON values and freed before the next: from the
     * heap (glibc raises its mmap threshold to the largest block freed),
     * every such block made malloc consolidate all the small ones freed
     * before it, a quarter of vfleetctl vfs's time at 10,000 hosts. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    cli_t cli;
    cli_init(&cli);
    int status = s_global_options(&cli, argc, argv);
    if (status >= 0)
        return status;
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
