/* cli_rollout.c - vfleetctl policy apply | rollback: the local checks, the
 * request (policy.apply / policy.rollback, ADMIN.md), what it changes, and
 * the wait for the hosts through policy.status, with progress, until each
 * host applied, failed or was refused, or --timeout passed. */
#include "cli_rollout.h"

#include <czmq.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_admin.h"
#include "cli_client.h"
#include "cli_git.h"
#include "cli_page.h"
#include "cli_print.h"
#include "policy.h"

/* How often the rollout's progress is asked for. */
#define S_POLL_MS 250
/* The least a status request may wait, even right at the deadline. */
#define S_POLL_TIMEOUT_MIN_MS 500

enum {
    S_OPT_MESSAGE = CLI_OPT_VERB,
    S_OPT_DRY_RUN,
};

static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"message", required_argument, NULL, S_OPT_MESSAGE},
    {"dry-run", no_argument, NULL, S_OPT_DRY_RUN},
    {NULL, 0, NULL, 0},
};

typedef struct {
    cli_t *cli;
    const char *usage;
    const char *command; /* "policy apply", for messages */
    cli_request_t req;
    bool dry_run;
    const char *operand;
    int64_t deadline; /* zclock_mono() when the wait ends */
    char *text;       /* apply: the policy file's bytes */
} s_rollout_t;

/* Parses options and the one operand. Returns -1 to go on, else an exit
 * status. */
static int s_parse(s_rollout_t *r, int argc, char **argv, const char *verb)
{
    cli_request_init(&r->req, verb);
    r->command = argv[0];
    optind = 0;
    for (;;) {
        int opt = cli_next_option(r->cli, argc, argv, s_options, r->usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(r->usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        if (opt == S_OPT_DRY_RUN)
            r->dry_run = true;
        else if (cli_request_set(&r->req, "message", optarg) != 0)
            return CLI_EXIT_ERROR;
    }
    if (argc - optind != 1)
        return cli_usage_error(r->usage, "%s: expected one %s", r->command,
                               strcmp(verb, "policy.apply") == 0 ? "FILE"
                                                                 : "REV");
    r->operand = argv[optind];
    uint32_t wait_ms = r->cli->timeout_set ? r->cli->timeout_ms
                                           : CLI_ROLLOUT_TIMEOUT_DEFAULT_MS;
    r->deadline = zclock_mono() + wait_ms;
    return -1;
}

/* The login name of the user running vfleetctl (through sudo too), "" when
 * none can be found. */
static void s_author(char *out, size_t size)
{
    out[0] = '\0';
    if (getlogin_r(out, size) == 0 && out[0])
        return;
    struct passwd *pw = getpwuid(getuid());
    snprintf(out, size, "%s", pw ? pw->pw_name : "");
}

/* Reads the whole file; NULL after saying why. */
static char *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(POLICY_MAX_FILE_SIZE + 2);
    assert(text);
    *len = fread(text, 1, POLICY_MAX_FILE_SIZE + 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed || *len > POLICY_MAX_FILE_SIZE) {
        cli_error("%s: %s", path,
                  failed ? "cannot read the file"
                         : "larger than the 1 MiB a policy may be");
        free(text);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

/* Validates FILE as policy validate does (its errors printed, nothing
 * sent when there is one), and sets the request's body and source. */
static int s_load_policy(s_rollout_t *r)
{
    size_t len;
    r->text = s_read_file(r->operand, &len);
    if (!r->text)
        return CLI_EXIT_ERROR;
    policy_errors_t *errs = policy_errors_new();
    assert(errs);
    policy_t *policy = policy_parse_buffer(r->operand, r->text, len, errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    if (!policy)
        return CLI_EXIT_ERROR;
    policy_destroy(&policy);
    r->req.body = r->text;
    r->req.body_len = len;
    return cli_request_set(&r->req, "source", r->operand) == 0 ? CLI_EXIT_OK
                                                               : CLI_EXIT_ERROR;
}

/* The commit id (when FILE is committed unchanged in git) and author. */
static int s_provenance(s_rollout_t *r, bool with_commit)
{
    char author[256], commit[65] = "";
    s_author(author, sizeof(author));
    if (with_commit && cli_git_commit(r->operand, commit) == CLI_GIT_DIRTY)
        fprintf(stderr,
                "vfleetctl: note: %s differs from its last git commit; no "
                "commit id recorded\n",
                r->operand);
    if (cli_request_set(&r->req, "author", author) != 0 ||
        (with_commit && cli_request_set(&r->req, "commit", commit) != 0) ||
        (r->dry_run && cli_request_set(&r->req, "dry_run", "true") != 0))
        return CLI_EXIT_ERROR;
    return CLI_EXIT_OK;
}

/* ---- what the controller answered ------------------------------------- */

static json_int_t s_int(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* One line of controller text on stdout (or stderr), escaped. */
static void s_put(FILE *out, const char *prefix, const char *text)
{
    char *safe = cli_print_escape(text ? text : "");
    fprintf(out, "%s%s\n", prefix, safe);
    free(safe);
}

static void s_print_headline(json_t *body)
{
    bool dry = json_is_true(json_object_get(body, "dry_run"));
    bool unchanged = json_is_true(json_object_get(body, "unchanged"));
    const char *sha = json_string_value(json_object_get(body, "sha256"));
    char *safe = cli_print_escape(sha ? sha : "");
    long long revision = (long long)s_int(body, "revision");
    if (unchanged)
        printf("%spolicy unchanged: revision %lld, sha256:%s\n",
               dry ? "dry run: " : "", revision, safe);
    else if (dry)
        printf("dry run: would store revision %lld, sha256:%s\n", revision,
               safe);
    else
        printf("stored revision %lld, sha256:%s\n", revision, safe);
    free(safe);
    printf("%lld of %lld hosts %s\n", (long long)s_int(body, "hosts_changed"),
           (long long)s_int(body, "hosts_total"),
           dry ? "would change" : "change");
}

/* The apply reply as text: the changes per host, refused hosts on stdout;
 * warnings on stderr. */
static void s_print_apply(json_t *body)
{
    s_print_headline(body);
    size_t i, j;
    json_t *host, *line;
    json_array_foreach(json_object_get(body, "hosts"), i, host)
    {
        json_array_foreach(json_object_get(host, "changes"), j, line)
            s_put(stdout, "  ", json_string_value(line));
        if (s_int(host, "changes_more") > 0) {
            char text[64];
            snprintf(text, sizeof(text), ": %lld more changes",
                     (long long)s_int(host, "changes_more"));
            char *name = cli_print_escape(
                json_string_value(json_object_get(host, "host")));
            printf("  %s%s\n", name, text);
            free(name);
        }
    }
    if (s_int(body, "hosts_omitted") > 0)
        printf("  %lld more hosts change, not listed\n",
               (long long)s_int(body, "hosts_omitted"));
    json_array_foreach(json_object_get(body, "refused"), i, host)
    {
        char *name =
            cli_print_escape(json_string_value(json_object_get(host, "host")));
        char *reason = cli_print_escape(
            json_string_value(json_object_get(host, "reason")));
        printf("refused: %s: %s\n", name, reason ? reason : "");
        free(name);
        free(reason);
    }
    json_array_foreach(json_object_get(body, "warnings"), i, line)
        s_put(stderr, "warning: ", json_string_value(line));
}

/* ---- waiting for the hosts -------------------------------------------- */

static int64_t s_remaining(const s_rollout_t *r)
{
    int64_t left = r->deadline - zclock_mono();
    return left > 0 ? left : 0;
}

/* The counts of policy.status summary=true into *counts (caller decrefs). */
static int s_poll(s_rollout_t *r, cli_client_t *client, json_t **counts)
{
    cli_request_t req;
    cli_request_init(&req, "policy.status");
    cli_request_set(&req, "summary", "true");
    int64_t left = s_remaining(r);
    cli_client_set_timeout(client, left > S_POLL_TIMEOUT_MIN_MS
                                       ? (uint32_t)left
                                       : S_POLL_TIMEOUT_MIN_MS);
    json_t *body = NULL;
    int status = cli_client_call(client, &req, &body);
    if (status != CLI_EXIT_OK)
        return status;
    *counts = json_incref(json_object_get(body, "counts"));
    json_decref(body);
    if (!json_is_object(*counts)) {
        cli_error("controller reply has no \"counts\" object");
        json_decref(*counts);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static void s_progress_text(json_int_t revision, json_t *counts, char *buf,
                            size_t size)
{
    int n = snprintf(buf, size,
                     "rollout of revision %lld: %lld/%lld hosts applied, "
                     "%lld failed, %lld pending",
                     (long long)revision, (long long)s_int(counts, "ok"),
                     (long long)s_int(counts, "hosts"),
                     (long long)s_int(counts, "failed"),
                     (long long)s_int(counts, "pending"));
    if (s_int(counts, "refused") > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ", %lld refused",
                 (long long)s_int(counts, "refused"));
}

/* Progress on stderr: on a terminal one line rewritten in place, else a
 * line each time the counts change. */
static void s_progress(json_int_t revision, json_t *counts, char *last,
                       size_t size, bool tty)
{
    char line[256];
    s_progress_text(revision, counts, line, sizeof(line));
    if (tty)
        fprintf(stderr, "\r%s\033[K", line);
    else if (strcmp(line, last) != 0)
        fprintf(stderr, "%s\n", line);
    snprintf(last, size, "%s", line);
}

/* Polls until no host is pending or the deadline passes. Returns an exit
 * status, the last counts in *counts. */
static int s_wait(s_rollout_t *r, cli_client_t *client, json_int_t revision,
                  json_t **counts)
{
    bool tty = isatty(STDERR_FILENO);
    char last[256] = "";
    int status;
    *counts = NULL;
    for (;;) {
        json_t *now = NULL;
        status = s_poll(r, client, &now);
        if (status != CLI_EXIT_OK)
            break;
        json_decref(*counts);
        *counts = now;
        s_progress(revision, now, last, sizeof(last), tty);
        if (s_int(now, "pending") == 0 || s_remaining(r) == 0)
            break;
        int64_t left = s_remaining(r);
        zclock_sleep((int)(left < S_POLL_MS ? left : S_POLL_MS));
    }
    if (tty && last[0])
        fputc('\n', stderr);
    return status;
}

/* Every host in `state` (all pages of policy.status state=STATE). */
static int s_hosts_in(const cli_t *cli, cli_client_t *client, const char *state,
                      json_t **rows)
{
    cli_request_t req;
    cli_request_init(&req, "policy.status");
    cli_request_set(&req, "state", state);
    cli_client_set_timeout(client, cli->timeout_set ? cli->timeout_ms
                                                    : CLI_TIMEOUT_DEFAULT_MS);
    cli_page_t page = {.all = true};
    json_t *next = NULL;
    int status = cli_page_fetch(client, &req, "hosts", &page, rows, &next);
    json_decref(next);
    return status;
}

/* One line per failure of a failed host, then the count of the rest. */
static void s_print_failed(json_t *row)
{
    char *host =
        cli_print_escape(json_string_value(json_object_get(row, "host")));
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(row, "failures"), i, item)
    {
        char line[2048];
        cli_print_failure(item, line, sizeof(line));
        char *safe = cli_print_escape(line);
        printf("failed: %s: %s\n", host, safe);
        free(safe);
    }
    if (json_array_size(json_object_get(row, "failures")) == 0)
        printf("failed: %s: %lld items failed\n", host,
               (long long)s_int(row, "failed_items"));
    if (s_int(row, "failures_more") > 0)
        printf("failed: %s: %lld more failures\n", host,
               (long long)s_int(row, "failures_more"));
    free(host);
}

static void s_print_pending(json_t *row)
{
    char *host =
        cli_print_escape(json_string_value(json_object_get(row, "host")));
    printf("pending: %s: no answer for %.1f s%s\n", host,
           (double)s_int(row, "pending_ms") / 1000.0,
           json_is_true(json_object_get(row, "connected"))
               ? ""
               : " (agent not connected)");
    free(host);
}

/* Names every host that did not apply: failed ones with their failures,
 * pending ones with how long they have been, refused ones with why. */
static int s_report(s_rollout_t *r, cli_client_t *client, json_t *apply,
                    json_t *counts, json_t *doc)
{
    json_t *failed = NULL, *pending = NULL;
    int status = CLI_EXIT_OK;
    if (s_int(counts, "failed") > 0)
        status = s_hosts_in(r->cli, client, "failed", &failed);
    if (status == CLI_EXIT_OK && s_int(counts, "pending") > 0)
        status = s_hosts_in(r->cli, client, "pending", &pending);
    if (status != CLI_EXIT_OK)
        goto done;
    json_t *hosts = json_array();
    if (failed)
        json_array_extend(hosts, failed);
    if (pending)
        json_array_extend(hosts, pending);
    size_t i;
    json_t *row;
    if (r->cli->output == CLI_OUTPUT_TABLE) {
        json_array_foreach(failed, i, row) s_print_failed(row);
        json_array_foreach(pending, i, row) s_print_pending(row);
        json_array_foreach(json_object_get(apply, "refused"), i, row)
        {
            char *name = cli_print_escape(
                json_string_value(json_object_get(row, "host")));
            char *reason = cli_print_escape(
                json_string_value(json_object_get(row, "reason")));
            printf("refused: %s: %s\n", name, reason ? reason : "");
            free(name);
            free(reason);
        }
    }
    json_object_set_new(doc, "hosts", hosts);
done:
    json_decref(failed);
    json_decref(pending);
    return status;
}

static bool s_complete(json_t *apply, json_t *counts)
{
    return s_int(counts, "pending") == 0 && s_int(counts, "failed") == 0 &&
           s_int(counts, "refused") == 0 &&
           json_array_size(json_object_get(apply, "refused")) == 0;
}

/* After the answer: the wait and the report. */
static int s_follow(s_rollout_t *r, cli_client_t *client, json_t *apply,
                    json_t *doc)
{
    json_t *counts = NULL;
    int status = s_wait(r, client, s_int(apply, "revision"), &counts);
    if (status == CLI_EXIT_OK)
        status = s_report(r, client, apply, counts, doc);
    if (status == CLI_EXIT_OK) {
        bool complete = s_complete(apply, counts);
        json_object_set(doc, "counts", counts);
        json_object_set_new(doc, "complete", json_boolean(complete));
        status = complete ? CLI_EXIT_OK : CLI_EXIT_INCOMPLETE;
    }
    json_decref(counts);
    return status;
}

static bool s_dry_run_changes(json_t *apply)
{
    return s_int(apply, "hosts_changed") > 0 ||
           !json_is_true(json_object_get(apply, "unchanged"));
}

/* Sends the request, prints its answer, then follows the rollout. */
static int s_run(s_rollout_t *r)
{
    cli_client_t *client = cli_client_new(r->cli);
    if (!client)
        return CLI_EXIT_ERROR;
    json_t *apply = NULL;
    int status =
        cli_client_check_reachable(client) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    if (status == CLI_EXIT_OK) {
        int64_t left = s_remaining(r);
        cli_client_set_timeout(client, left > 0 ? (uint32_t)left : 1);
        status = cli_client_call(client, &r->req, &apply);
    }
    json_t *doc = json_pack("{s:O}", "apply", apply ? apply : json_null());
    if (status == CLI_EXIT_OK && r->cli->output == CLI_OUTPUT_TABLE)
        s_print_apply(apply);
    if (status == CLI_EXIT_OK && r->dry_run)
        status = s_dry_run_changes(apply) ? CLI_EXIT_CHANGES : CLI_EXIT_OK;
    else if (status == CLI_EXIT_OK)
        status = s_follow(r, client, apply, doc);
    if ((status == CLI_EXIT_OK || status == CLI_EXIT_CHANGES ||
         status == CLI_EXIT_INCOMPLETE) &&
        r->cli->output == CLI_OUTPUT_JSON && cli_print_json(doc) != CLI_EXIT_OK)
        status = CLI_EXIT_ERROR;
    json_decref(doc);
    json_decref(apply);
    cli_client_destroy(&client);
    return status;
}

int cli_rollout_apply(cli_t *cli, int argc, char **argv, const char *usage)
{
    s_rollout_t r = {.cli = cli, .usage = usage};
    int status = s_parse(&r, argc, argv, "policy.apply");
    if (status >= 0)
        return status;
    status = s_load_policy(&r);
    if (status == CLI_EXIT_OK)
        status = s_provenance(&r, true);
    if (status == CLI_EXIT_OK)
        status = s_run(&r);
    free(r.text);
    return status;
}

int cli_rollout_rollback(cli_t *cli, int argc, char **argv, const char *usage)
{
    s_rollout_t r = {.cli = cli, .usage = usage};
    int status = s_parse(&r, argc, argv, "policy.rollback");
    if (status >= 0)
        return status;
    const char *rev = r.operand;
    if (!rev[0] || strspn(rev, "0123456789") != strlen(rev) ||
        strspn(rev, "0") == strlen(rev) || strlen(rev) > 18)
        return cli_usage_error(usage, "%s: '%s' is not a policy revision",
                               r.command, rev);
    if (cli_request_set(&r.req, "revision", rev) != 0)
        return CLI_EXIT_ERROR;
    status = s_provenance(&r, false);
    return status == CLI_EXIT_OK ? s_run(&r) : status;
}
