/* cli_plan.c - vfleetctl plan: how many of some VMs would fit on the live
 * inventory (admin verb plan), the VMs coming from a VM file or from vm
 * create's options times --count; nothing is created. */
#include "cli_plan.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "cli_client.h"
#include "cli_print.h"
#include "cli_vm.h"
#include "cli_vm_apply.h"
#include "vfp.h"

/* The usage below gives the count's bound in words. */
static_assert(VFP_PLAN_COUNT_MAX == 100000, "usage: --count at most 100000");

static const char s_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] plan FILE\n"
    "       vfleetctl [GLOBAL-OPTIONS] plan [--count N] [--name BASE]"
    " --memory SIZE --vcpus N --nic NET[,mac=MAC]... [--host HOST]"
    " [--group GROUP] [--numa none|preferred|required] [--separate-pfs]\n"
    "\n"
    "What-if: places VMs tentatively on the live inventory, as vm create\n"
    "would, each one seeing the capacity the ones before took, and creates\n"
    "nothing. The VMs are those of FILE (a VM file, as vm apply reads it;\n"
    "checked first, its errors printed as FILE:LINE:COLUMN: message), or\n"
    "--count copies of the VM the options describe, named BASE-1 to\n"
    "BASE-N and tried until one does not fit. Prints how many fit, how\n"
    "many went to each host and, when one did not fit, the first refusal:\n"
    "which resource runs out first. Exit 0 when all fit, 1 when one did\n"
    "not fit or on an error.\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         wait this long for the answer (default 5s)\n"
    "options (without FILE; as vm create's):\n"
    "  --count N        try N copies (default 1, at most 100000)\n"
    "  --name BASE      the copies' name (default plan)\n"
    "  --memory SIZE, --vcpus N, --nic NET[,mac=MAC], --host HOST,\n"
    "  --group GROUP, --numa none|preferred|required, --separate-pfs\n"
    "                   as vm create takes them (vfleetctl vm --help)\n";

enum { S_OPT_COUNT = CLI_VM_OPT_NEXT, S_OPT_NAME };

static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    CLI_VM_REQUEST_OPTIONS,
    {"count", required_argument, NULL, S_OPT_COUNT},
    {"name", required_argument, NULL, S_OPT_NAME},
    CLI_END_OPTIONS};

static const cli_column_t s_host_cols[] = {
    {"HOST", "host", CLI_CELL_TEXT, NULL},
    {"VMS", "vms", CLI_CELL_TEXT, NULL},
};

typedef struct {
    cli_t *cli;
    json_t *vm; /* the options' VM request */
    json_int_t count;
    bool vm_option; /* an option describing the VM was given */
    const char *path;
} s_plan_t;

static int s_count_option(s_plan_t *p, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(arg, &end, 10);
    if (!isdigit((unsigned char)arg[0]) || *end || errno || n == 0 ||
        n > VFP_PLAN_COUNT_MAX)
        return cli_usage_error(
            s_usage, "plan: --count '%s' is not a number from 1 to %d", arg,
            VFP_PLAN_COUNT_MAX);
    p->count = (json_int_t)n;
    return 0;
}

static int s_option(s_plan_t *p, int opt, const char *arg)
{
    p->vm_option = true;
    if (opt == S_OPT_COUNT)
        return s_count_option(p, arg);
    if (opt == S_OPT_NAME) {
        json_object_set_new(p->vm, "name", json_string(arg));
        return 0;
    }
    return cli_vm_request_option(p->vm, opt, arg, "plan", s_usage);
}

/* Returns -1 to go on, else an exit status. */
static int s_parse(s_plan_t *p, int argc, char **argv)
{
    optind = 0;
    for (;;) {
        int opt = cli_next_option(p->cli, argc, argv, s_options, s_usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        int status = s_option(p, opt, optarg);
        if (status != 0)
            return status;
    }
    if (argc - optind > 1)
        return cli_usage_error(s_usage, "plan: expected one FILE or none");
    if (argc - optind == 1) {
        p->path = argv[optind];
        return p->vm_option
                   ? cli_usage_error(s_usage, "plan: FILE declares the VMs: "
                                              "no VM options with it")
                   : -1;
    }
    int status = cli_vm_request_check(p->vm, "plan", s_usage);
    return status ? status : -1;
}

/* The plan body: {"vms": [...]} from FILE, or the options' VM and count
 * (ADMIN.md: count copies named NAME-1 ..., one by default).
 * NULL after printing FILE's errors. */
static json_t *s_body(s_plan_t *p)
{
    if (!p->path) {
        return json_pack("{s:[O], s:I}", "vms", p->vm, "count", p->count);
    }
    policy_vm_file_t *file = cli_vm_apply_load(p->path);
    if (!file)
        return NULL;
    json_t *vms = json_array();
    for (size_t i = 0; i < file->vm_count; i++)
        json_array_append_new(vms, cli_vm_apply_request(&file->vms[i]));
    policy_vm_file_destroy(&file);
    return json_pack("{s:o}", "vms", vms);
}

/* The answer as a table: how many fit, where, and the first refusal. */
static void s_print(json_t *answer)
{
    printf("%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " fit\n\n",
           json_integer_value(json_object_get(answer, "fit")),
           json_integer_value(json_object_get(answer, "requested")));
    cli_print_table(json_object_get(answer, "hosts"), s_host_cols,
                    CLI_NCOLS(s_host_cols));
    json_t *first = json_object_get(answer, "first_refusal");
    if (!json_is_object(first))
        return;
    const char *name = json_string_value(json_object_get(first, "name"));
    const char *error = json_string_value(json_object_get(first, "error"));
    char *n = cli_print_escape(name ? name : "?");
    char *e = cli_print_escape(error ? error : "");
    printf("\nfirst refused: %s: %s\n", n, e);
    free(n);
    free(e);
    cli_vm_print_refusal(first, stdout);
}

static int s_send(s_plan_t *p, json_t *body)
{
    cli_request_t req;
    cli_request_init(&req, "plan");
    char *text = json_dumps(body, JSON_COMPACT);
    assert(text);
    req.body = text;
    req.body_len = strlen(text);
    cli_client_t *client = cli_client_new(p->cli);
    json_t *answer = NULL;
    int status =
        client ? cli_client_call(client, &req, &answer) : CLI_EXIT_ERROR;
    cli_client_destroy(&client);
    free(text);
    if (status == CLI_EXIT_OK) {
        if (p->cli->output == CLI_OUTPUT_JSON)
            status = cli_print_json(answer);
        else
            s_print(answer);
        if (status == CLI_EXIT_OK &&
            json_integer_value(json_object_get(answer, "fit")) !=
                json_integer_value(json_object_get(answer, "requested")))
            status = CLI_EXIT_ERROR;
    }
    json_decref(answer);
    return status;
}

int cli_plan(cli_t *cli, int argc, char **argv)
{
    s_plan_t p = {cli, json_pack("{s:s, s:[]}", "name", "plan", "nics"), 1,
                  false, NULL};
    int status = s_parse(&p, argc, argv);
    if (status < 0) {
        json_t *body = s_body(&p);
        status = body ? s_send(&p, body) : CLI_EXIT_ERROR;
        json_decref(body);
    }
    json_decref(p.vm);
    return status;
}
