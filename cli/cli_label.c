/* cli_label.c - vfleetctl host label: set and remove a host's labels
 * (admin write verb host.label, ADMIN.md), checked locally by the policy
 * language's label rules first. */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_client.h"
#include "cli_print.h"
#include "policy.h"

static const char s_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] host label NAME [KEY=VALUE...]"
    " [--remove KEY]...\n"
    "\n"
    "Sets each KEY to VALUE and removes each --remove KEY on host NAME,\n"
    "then the controller plans the host again: policy host groups select\n"
    "hosts by these labels. Keys: letters, digits, '.', '_', '/' and '-',\n"
    "starting with a letter or digit, at most 63; values: letters, digits,\n"
    "'.', '_' and '-', 1 to 63. A host has at most 64 labels.\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         wait this long for the answer (default 5s)\n"
    "options:\n"
    "  --remove KEY     remove label KEY (repeatable)\n";

enum { S_OPT_REMOVE = CLI_OPT_VERB };

static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"remove", required_argument, NULL, S_OPT_REMOVE},
    {NULL, 0, NULL, 0}};

static int s_remove(json_t *remove, const char *key)
{
    if (!policy_label_key_valid(key))
        return cli_usage_error(
            s_usage, "host label: '%s' is not a valid label key", key);
    json_array_append_new(remove, json_string(key));
    return 0;
}

/* KEY=VALUE into set. */
static int s_set(json_t *set, char *operand)
{
    char *eq = strchr(operand, '=');
    if (!eq)
        return cli_usage_error(
            s_usage, "host label: expected KEY=VALUE, got '%s'", operand);
    *eq = '\0';
    bool ok =
        policy_label_key_valid(operand) && policy_label_value_valid(eq + 1);
    if (ok)
        json_object_set_new(set, operand, json_string(eq + 1));
    *eq = '=';
    if (!ok)
        return cli_usage_error(s_usage,
                               "host label: '%s' is not a valid label "
                               "KEY=VALUE",
                               operand);
    return 0;
}

/* The options and operands into the request's name and body. */
static int s_parse(cli_t *cli, int argc, char **argv, json_t *set,
                   json_t *remove, const char **name)
{
    optind = 0;
    for (;;) {
        int opt = cli_next_option(cli, argc, argv, s_options, s_usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        if (s_remove(remove, optarg) != 0)
            return CLI_EXIT_USAGE;
    }
    if (optind >= argc)
        return cli_usage_error(s_usage, "host label: expected a host NAME");
    *name = argv[optind];
    for (int i = optind + 1; i < argc; i++)
        if (s_set(set, argv[i]) != 0)
            return CLI_EXIT_USAGE;
    if (json_object_size(set) + json_array_size(remove) == 0)
        return cli_usage_error(
            s_usage, "host label: expected KEY=VALUE or --remove KEY");
    return -1;
}

static int s_call(cli_t *cli, const char *name, json_t *set, json_t *remove)
{
    cli_request_t req;
    cli_request_init(&req, "host.label");
    if (cli_request_set(&req, "name", name) != 0)
        return CLI_EXIT_ERROR;
    json_t *doc = json_object();
    if (json_object_size(set))
        json_object_set(doc, "set", set);
    if (json_array_size(remove))
        json_object_set(doc, "remove", remove);
    char *text = json_dumps(doc, JSON_COMPACT);
    assert(text);
    json_decref(doc);
    req.body = text;
    req.body_len = strlen(text);
    cli_client_t *client = cli_client_new(cli);
    json_t *body = NULL;
    int status = client ? cli_client_call(client, &req, &body) : CLI_EXIT_ERROR;
    cli_client_destroy(&client);
    free(text);
    if (status == CLI_EXIT_OK && cli->output == CLI_OUTPUT_JSON)
        status = cli_print_json(body);
    else if (status == CLI_EXIT_OK) {
        cli_print_line("host", name);
        cli_print_labels(json_object_get(body, "labels"));
        cli_print_line("desired state",
                       json_is_true(json_object_get(body, "desired_changed"))
                           ? "changed"
                           : "unchanged");
    }
    json_decref(body);
    return status;
}

int cli_host_label(cli_t *cli, int argc, char **argv)
{
    json_t *set = json_object(), *remove = json_array();
    const char *name = NULL;
    int status = s_parse(cli, argc, argv, set, remove, &name);
    if (status < 0)
        status = s_call(cli, name, set, remove);
    json_decref(set);
    json_decref(remove);
    return status;
}
