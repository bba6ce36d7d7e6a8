/* cli_policy.c - vfleetctl policy: the offline checks of policy files
 * (validate, show, diff OLD NEW) for an operator's shell and the policy
 * repository's CI, and the verbs that reach the controller: diff against
 * the live revision, status, history, and apply / rollback (cli_rollout.c).
 */
#include "cli.h"
#include "cli_admin.h"
#include "cli_client.h"
#include "cli_rollout.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: vfleetctl policy validate FILE...\n"
    "       vfleetctl policy show FILE\n"
    "       vfleetctl policy diff [OLD] NEW\n"
    "       vfleetctl policy apply FILE [--message TEXT]"
    " [--dry-run]\n"
    "       vfleetctl policy rollback REV [--message TEXT]"
    " [--dry-run]\n"
    "       vfleetctl policy status [--host H] [--state S]"
    " [PAGING]\n"
    "       vfleetctl policy history [PAGING]\n"
    "\n"
    "  validate  check files; print every error as FILE:LINE:COLUMN: message\n"
    "  show      print the normalised policy (defaults filled in, stable\n"
    "            order) as YAML, after a comment with its sha256 revision\n"
    "  diff      print what changes from OLD to NEW, or with NEW alone from\n"
    "            the controller's latest revision; exit 0 when nothing\n"
    "            changes, 3 when something does\n"
    "  apply     check FILE as validate does (nothing is sent when it is\n"
    "            invalid), store it on the controller as a new revision,\n"
    "            print what changes on which host, then wait until every\n"
    "            host applied it; exit 0 when all did, 4 when a host\n"
    "            failed, was refused or did not answer in time\n"
    "  rollback  store revision REV's text again as a new revision and roll\n"
    "            it out like apply (nothing is stored when it is the\n"
    "            latest revision's text)\n"
    "  status    where each host's desired state stands (ok, failed,\n"
    "            pending, refused), the latest revision and the counts\n"
    "  history   the stored revisions, newest first\n"
    "\n"
    "options:\n"
    "  --message TEXT   why: stored with the revision (apply, rollback)\n"
    "  --dry-run        print what would change and store nothing; exit 0\n"
    "                   when nothing would change, 3 when something would\n"
    "  --host H         status: only this host, with its failures and drift\n"
    "  --state S        status: only hosts in state pending, ok, failed or\n"
    "                   refused\n"
    "  --all, --limit N, --after CURSOR\n"
    "                   paging of status and history (vfleetctl hosts --help)\n"
    "  --timeout DURATION\n"
    "                   apply and rollback: how long to wait for the hosts,\n"
    "                   all in all (default 60s); other verbs: for each\n"
    "                   answer (default 5s)\n";

/* Parses one file, printing its errors; NULL when it is not valid. */
static policy_t *s_load(const char *path)
{
    policy_errors_t *errs = policy_errors_new();
    if (!errs) {
        cli_error("out of memory");
        return NULL;
    }
    policy_t *policy = policy_parse_file(path, errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    return policy;
}

static int s_validate(cli_t *cli, int argc, char **argv)
{
    (void)cli;
    if (argc < 1)
        return cli_usage_error(s_usage, "policy validate: no FILE given");
    int status = CLI_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        policy_t *policy = s_load(argv[i]);
        char hash[65];
        if (!policy) {
            status = CLI_EXIT_ERROR;
        } else if (policy_sha256_hex(policy, hash) != 0) {
            cli_error("%s: out of memory", argv[i]);
            status = CLI_EXIT_ERROR;
        } else {
            printf("%s: valid, revision sha256:%s\n", argv[i], hash);
        }
        policy_destroy(&policy);
    }
    return status;
}

static int s_show(cli_t *cli, int argc, char **argv)
{
    (void)cli;
    if (argc != 1)
        return cli_usage_error(s_usage, "policy show: expected one FILE");
    policy_t *policy = s_load(argv[0]);
    if (!policy)
        return CLI_EXIT_ERROR;
    size_t len;
    char *text = policy_emit_string(policy, &len);
    policy_destroy(&policy);
    if (!text) {
        cli_error("%s: out of memory", argv[0]);
        return CLI_EXIT_ERROR;
    }
    char hash[65];
    policy_sha256_buffer(text, len, hash);
    printf("# vfleet policy, normalised; revision sha256:%s\n", hash);
    fwrite(text, 1, len, stdout);
    free(text);
    if (fflush(stdout) != 0) {
        cli_error("policy show: cannot write the output");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

/* Prints the diff from old to new; exit 0 or CLI_EXIT_CHANGES. */
static int s_print_diff(const policy_t *old_policy, const policy_t *new_policy)
{
    policy_diff_t *diff = policy_diff_new(old_policy, new_policy);
    if (!diff) {
        cli_error("policy diff: out of memory");
        return CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < policy_diff_count(diff); i++)
        puts(policy_diff_line(diff, i));
    int status = policy_diff_count(diff) ? CLI_EXIT_CHANGES : CLI_EXIT_OK;
    policy_diff_destroy(&diff);
    return status;
}

/* The controller's latest revision, parsed; NULL after saying why. */
static policy_t *s_load_live(cli_t *cli)
{
    cli_client_t *client = cli_client_new(cli);
    if (!client)
        return NULL;
    cli_request_t req;
    cli_request_init(&req, "policy.get");
    json_t *body = NULL;
    int status = cli_client_call(client, &req, &body);
    cli_client_destroy(&client);
    if (status != CLI_EXIT_OK)
        return NULL;
    const char *text = json_string_value(json_object_get(body, "text"));
    policy_t *policy = NULL;
    if (!text) {
        cli_error("policy.get: the reply has no \"text\"");
    } else {
        char name[64];
        snprintf(
            name, sizeof(name), "revision %lld",
            (long long)json_integer_value(json_object_get(body, "revision")));
        policy_errors_t *errs = policy_errors_new();
        assert(errs);
        policy = policy_parse_buffer(name, text, strlen(text), errs);
        if (!policy)
            policy_errors_print(errs, stderr);
        policy_errors_destroy(&errs);
    }
    json_decref(body);
    return policy;
}

static int s_diff(cli_t *cli, int argc, char **argv)
{
    if (argc != 1 && argc != 2)
        return cli_usage_error(s_usage,
                               "policy diff: expected OLD and NEW, or NEW");
    /* NEW first: a file with errors needs no controller to say so. */
    policy_t *new_policy = s_load(argv[argc - 1]);
    policy_t *old_policy = NULL;
    if (new_policy || argc == 2)
        old_policy = argc == 2 ? s_load(argv[0]) : s_load_live(cli);
    int status = CLI_EXIT_ERROR;
    if (old_policy && new_policy)
        status = s_print_diff(old_policy, new_policy);
    policy_destroy(&old_policy);
    policy_destroy(&new_policy);
    return status;
}

/* ---- status and history: listings of the admin API -------------------- */

static const struct option s_status_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_HOST_OPTION, CLI_STATE_OPTION,
    CLI_END_OPTIONS};
static const struct option s_history_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_END_OPTIONS};

static const cli_column_t s_status_cols[] = {
    {"HOST", "host", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
    {"DESIRED", "desired_revision", CLI_CELL_TEXT, NULL},
    {"APPLIED", "applied_revision", CLI_CELL_TEXT, NULL},
    {"POLICY", "policy_revision", CLI_CELL_TEXT, NULL},
    {"CONNECTED", "connected", CLI_CELL_BOOL, NULL},
    {"SENT", "sent_at", CLI_CELL_TIME, NULL},
    {"PENDING-MS", "pending_ms", CLI_CELL_TEXT, NULL},
    {"OK", "ok_items", CLI_CELL_TEXT, NULL},
    {"FAILED", "failed_items", CLI_CELL_TEXT, NULL},
    {"DRIFT", "drift", CLI_CELL_COUNT, "drift_more"},
};

static const cli_column_t s_history_cols[] = {
    {"REVISION", "revision", CLI_CELL_TEXT, NULL},
    {"CREATED", "created_at", CLI_CELL_TIME, NULL},
    {"AUTHOR", "author", CLI_CELL_DASH, NULL},
    {"COMMIT", "commit", CLI_CELL_DASH, NULL},
    {"MESSAGE", "message", CLI_CELL_DASH, NULL},
};

static const cli_column_t s_policy_fields[] = {
    {"revision", "revision", CLI_CELL_TEXT, NULL},
    {"sha256", "sha256", CLI_CELL_TEXT, NULL},
    {"created", "created_at", CLI_CELL_TIME, NULL},
    {"author", "author", CLI_CELL_DASH, NULL},
    {"commit", "commit", CLI_CELL_DASH, NULL},
    {"message", "message", CLI_CELL_DASH, NULL},
};

static const cli_column_t s_count_fields[] = {
    {"hosts", "hosts", CLI_CELL_TEXT, NULL},
    {"ok", "ok", CLI_CELL_TEXT, NULL},
    {"failed", "failed", CLI_CELL_TEXT, NULL},
    {"pending", "pending", CLI_CELL_TEXT, NULL},
    {"refused", "refused", CLI_CELL_TEXT, NULL},
    {"drifted", "drifted", CLI_CELL_TEXT, NULL},
};

/* One host's failures and drift, a line each. */
static void s_print_details(json_t *row)
{
    size_t i;
    json_t *item;
    char text[2048];
    json_array_foreach(json_object_get(row, "failures"), i, item)
    {
        cli_print_failure(item, text, sizeof(text));
        cli_print_line("failure", text);
    }
    json_array_foreach(json_object_get(row, "drift"), i, item)
    {
        cli_print_drift(item, text, sizeof(text));
        cli_print_line("drift", text);
    }
}

/* policy status: the latest revision and the counts (asked for once more,
 * summary=true), then the rows. */
static int s_print_status(cli_t *cli, cli_client_t *client,
                          const cli_request_t *filters, json_t *rows,
                          json_t *next)
{
    cli_request_t req;
    cli_request_init(&req, "policy.status");
    cli_request_set(&req, "summary", "true");
    json_t *head = NULL;
    int status = cli_client_call(client, &req, &head);
    if (status != CLI_EXIT_OK)
        return status;
    if (cli->output == CLI_OUTPUT_JSON) {
        json_object_set(head, "hosts", rows);
        if (next)
            json_object_set(head, "next", next);
        else
            json_object_del(head, "next");
        status = cli_print_json(head);
        json_decref(head);
        return status;
    }
    json_t *policy = json_object_get(head, "policy");
    if (json_is_object(policy))
        cli_print_fields(policy, s_policy_fields, CLI_NCOLS(s_policy_fields));
    else
        cli_print_line("revision", "none stored");
    cli_print_fields(json_object_get(head, "counts"), s_count_fields,
                     CLI_NCOLS(s_count_fields));
    json_decref(head);
    putchar('\n');
    cli_print_table(rows, s_status_cols, CLI_NCOLS(s_status_cols));
    size_t i;
    json_t *row;
    if (cli_request_get(filters, "host"))
        json_array_foreach(rows, i, row) s_print_details(row);
    return CLI_EXIT_OK;
}

static const cli_listing_t s_status = {
    "policy.status", s_status_options,         s_usage, "hosts",
    s_status_cols,   CLI_NCOLS(s_status_cols), NULL,    s_print_status};
static const cli_listing_t s_history = {
    "policy.history", s_history_options,         s_usage, "policies",
    s_history_cols,   CLI_NCOLS(s_history_cols), NULL,    NULL};

static int s_status_verb(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_status);
}

static int s_history_verb(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_history);
}

static int s_apply_verb(cli_t *cli, int argc, char **argv)
{
    return cli_rollout_apply(cli, argc, argv, s_usage);
}

static int s_rollback_verb(cli_t *cli, int argc, char **argv)
{
    return cli_rollout_rollback(cli, argc, argv, s_usage);
}

/* Takes the global options out of argv, wherever they are, and leaves the
 * operands in argv[optind..]. Returns -1 to go on, else an exit status. */
static int s_options(cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {CLI_GLOBAL_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    optind = 0;
    /* The policy commands take no options of their own: a dash is a typo,
     * not a file name (write "-- -file" for that). */
    switch (cli_next_option(cli, argc, argv, options, s_usage)) {
    case CLI_NEXT_END:
        return -1;
    case CLI_NEXT_HELP:
        fputs(s_usage, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

typedef int(s_subverb_fn)(cli_t *cli, int argc, char **argv);

/* Runs an offline subverb: global options anywhere, then its operands. */
static int s_offline(cli_t *cli, int argc, char **argv, s_subverb_fn *run)
{
    int status = s_options(cli, argc, argv);
    if (status >= 0)
        return status;
    return run(cli, argc - optind, argv + optind);
}

int cli_policy(cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        s_subverb_fn *run;
        bool online; /* parses its own options */
    } subverbs[] = {
        {"validate", s_validate, false},
        {"show", s_show, false},
        {"diff", s_diff, false},
        {"apply", s_apply_verb, true},
        {"rollback", s_rollback_verb, true},
        {"status", s_status_verb, true},
        {"history", s_history_verb, true},
    };
    int at = cli_find_subverb(argc, argv);
    if (at == argc) {
        int status = s_options(cli, argc, argv);
        return status >= 0 ? status
                           : cli_usage_error(s_usage,
                                             "policy: expected validate, show, "
                                             "diff, apply, rollback, status or "
                                             "history");
    }
    size_t i = 0, n = sizeof(subverbs) / sizeof(*subverbs);
    while (i < n && strcmp(argv[at], subverbs[i].name) != 0)
        i++;
    if (i == n)
        return cli_usage_error(s_usage, "policy: unknown command '%s'",
                               argv[at]);
    /* The subverb's own argv: "policy NAME" first, the subverb left out. */
    char label[32];
    snprintf(label, sizeof(label), "policy %s", subverbs[i].name);
    char **sub = calloc((size_t)argc + 1, sizeof(*sub));
    assert(sub);
    int subc = 0;
    sub[subc++] = label;
    for (int k = 1; k < argc; k++)
        if (k != at)
            sub[subc++] = argv[k];
    int status = subverbs[i].online
                     ? subverbs[i].run(cli, subc, sub)
                     : s_offline(cli, subc, sub, subverbs[i].run);
    free(sub);
    return status;
}
