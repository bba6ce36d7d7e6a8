/* policy_apply.c - policy.apply and policy.rollback: validate, plan every
 * host, refuse on conflicts, else store the revision, the changed desired
 * states and the refusals in one transaction (shapes in ADMIN.md). */
#include "policy_apply.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_request.h"
#include "apply_plan.h"
#include "controller_internal.h"
#include "desired.h"
#include "policy.h"
#include "policy_mac_pool.h"
#include "vfp_log.h"
#include "wire.h"

/* A parameter value (at most VFP_TEXT_MAX bytes) always fits a stored
 * message, so `message` needs no check of its own. */
static_assert(DB_POLICY_MESSAGE_MAX >= VFP_TEXT_MAX, "message fits");

/* What a verb was asked to do. */
typedef struct {
    const char *verb;
    const char *source, *message, *author, *commit;
    bool dry_run;
    const char *text;
    size_t len;
    char message_buf[DB_POLICY_MESSAGE_MAX + 1];
    char source_buf[64];
} s_args_t;

/* A host whose desired state changes, with the APPLY to store. */
typedef struct {
    char *host;
    vfp_msg_t *apply;
} s_change_t;

typedef struct {
    char *host;
    char reason[DB_REFUSAL_REASON_MAX + 1];
} s_refusal_t;

/* One verb's run: the answer under construction and what planning found. */
typedef struct {
    db_t *db;
    int64_t now_ms;
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
    char sha256[65];
    int64_t revision;
    bool unchanged;
    char **hosts; /* every host planned */
    size_t host_count, host_capacity;
    s_change_t *changes;
    size_t change_count;
    s_refusal_t *refusals;
    size_t refusal_count;
    json_t *conflicts;
    size_t conflict_count;
    size_t budget; /* reply bytes used so far by listed items */
    json_t *hosts_json, *refused_json;
    size_t hosts_omitted, refused_omitted, conflicts_omitted;
    uint64_t vfs_configured; /* VFs the plans enable on every host */
} s_run_t;

void policy_apply_changed_clear(policy_apply_changed_t *changed)
{
    for (size_t i = 0; i < changed->count; i++)
        free(changed->hosts[i]);
    free(changed->hosts);
    changed->hosts = NULL;
    changed->count = 0;
    changed->revision_stored = false;
}

static void s_fail(s_run_t *run, vfp_errcode_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fail(s_run_t *run, vfp_errcode_t status, const char *fmt, ...)
{
    run->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    vfp_utf8_trim(run->error);
}

static void s_fail_db(s_run_t *run, const db_err_t *err)
{
    run->status = admin_request_db_error(err, "policy rollout", run->error,
                                         sizeof(run->error));
    vfp_utf8_trim(run->error);
}

/* Counts a listed item against the reply's budget: true when it fits. */
static bool s_budget_take(s_run_t *run, const json_t *item)
{
    char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
    assert(text);
    size_t len = strlen(text) + 1;
    free(text);
    if (run->budget + len > POLICY_APPLY_BODY_BUDGET)
        return false;
    run->budget += len;
    return true;
}

/* ---- parameters ------------------------------------------------------- */

static int s_params_allowed(s_run_t *run, const vfp_request_t *req,
                            const char *const *allowed)
{
    const char *unknown = admin_request_unknown(req, allowed);
    if (unknown)
        s_fail(run, VFP_ERR_INVALID, "verb \"%s\" has no parameter \"%s\"",
               req->verb, unknown);
    return unknown ? -1 : 0;
}

static bool s_is_commit(const char *text)
{
    size_t len = strlen(text);
    return len == 0 || ((len == 40 || len == 64) &&
                        strspn(text, "0123456789abcdef") == len);
}

/* The parameters both verbs share: message, author, dry_run. */
static int s_common_args(s_run_t *run, const vfp_request_t *req, s_args_t *args)
{
    const char *dry = admin_request_param(req, "dry_run");
    args->author = admin_request_param(req, "author");
    args->message = admin_request_param(req, "message");
    if (!args->author)
        args->author = "";
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        s_fail(run, VFP_ERR_INVALID, "dry_run \"%s\" is not true or false",
               dry);
        return -1;
    }
    args->dry_run = dry && strcmp(dry, "true") == 0;
    if (strlen(args->author) > DB_POLICY_AUTHOR_MAX) {
        s_fail(run, VFP_ERR_INVALID, "author is longer than %d bytes",
               DB_POLICY_AUTHOR_MAX);
        return -1;
    }
    return 0;
}

static int s_apply_args(s_run_t *run, const vfp_request_t *req, s_args_t *args)
{
    static const char *const allowed[] = {"source", "message", "author",
                                          "commit", "dry_run", NULL};
    if (s_params_allowed(run, req, allowed) != 0 ||
        s_common_args(run, req, args) != 0)
        return -1;
    args->source = admin_request_param(req, "source");
    if (!args->source || !*args->source)
        args->source = "policy";
    if (!args->message)
        args->message = "";
    args->commit = admin_request_param(req, "commit");
    if (!args->commit)
        args->commit = "";
    if (!s_is_commit(args->commit)) {
        s_fail(run, VFP_ERR_INVALID,
               "commit \"%s\" is not 40 or 64 lowercase hex digits",
               args->commit);
        return -1;
    }
    args->text = req->body ? req->body : "";
    args->len = req->body ? req->body_len : 0;
    if (args->len > POLICY_APPLY_TEXT_MAX) {
        s_fail(run, VFP_ERR_INVALID,
               "the policy is %zu bytes, more than the %d accepted", args->len,
               POLICY_APPLY_TEXT_MAX);
        return -1;
    }
    return 0;
}

/* ---- validation -------------------------------------------------------- */

/* Parses the text; on errors the answer is INVALID with every error. */
static policy_t *s_parse(s_run_t *run, const s_args_t *args)
{
    policy_errors_t *errs = policy_errors_new();
    assert(errs);
    policy_t *policy =
        policy_parse_buffer(args->source, args->text, args->len, errs);
    if (policy || policy_errors_out_of_memory(errs)) {
        if (!policy)
            s_fail(run, VFP_ERR_INTERNAL, "out of memory parsing the policy");
        policy_errors_destroy(&errs);
        return policy;
    }
    json_t *list = json_array();
    size_t count = policy_errors_count(errs);
    for (size_t i = 0; i < count; i++) {
        const policy_error_t *e = policy_errors_get(errs, i);
        json_array_append_new(list,
                              json_sprintf("%s:%d:%d: %s", args->source,
                                           e->line, e->column, e->message));
    }
    s_fail(run, VFP_ERR_INVALID, "policy rejected: %zu error%s; first: %s",
           count, count == 1 ? "" : "s",
           count ? json_string_value(json_array_get(list, 0)) : "none");
    run->body = json_pack("{s:o, s:b}", "errors", list, "errors_truncated",
                          policy_errors_truncated(errs));
    policy_errors_destroy(&errs);
    return NULL;
}

/* The revision the policy gets: the latest when it normalises to the same
 * text (unchanged), else the next. */
static int s_revision(s_run_t *run, const policy_t *policy)
{
    if (policy_sha256_hex(policy, run->sha256) != 0) {
        s_fail(run, VFP_ERR_INTERNAL, "out of memory hashing the policy");
        return -1;
    }
    db_policy_row_t latest;
    db_err_t err;
    if (db_policy_latest(run->db, &latest, &err) != 0) {
        if (err.code != DB_ERR_NOT_FOUND) {
            s_fail_db(run, &err);
            return -1;
        }
        run->revision = 1;
        return 0;
    }
    run->unchanged = strcmp(latest.sha256, run->sha256) == 0;
    run->revision = latest.revision + !run->unchanged;
    db_policy_row_clear(&latest);
    return 0;
}

/* ---- planning ---------------------------------------------------------- */

/* Hosts that sent an inventory; one that never did is planned when it
 * does (the rollout's join). */
static int s_host_collect(const db_host_row_t *row, void *arg)
{
    s_run_t *run = arg;
    if (row->generation == 0)
        return 0;
    if (run->host_count == run->host_capacity) {
        run->host_capacity = run->host_capacity ? 2 * run->host_capacity : 64;
        run->hosts =
            realloc(run->hosts, run->host_capacity * sizeof(*run->hosts));
        assert(run->hosts);
    }
    run->hosts[run->host_count] = strdup(row->name);
    assert(run->hosts[run->host_count]);
    run->host_count++;
    return 0;
}

static void s_conflicts_add(s_run_t *run, const apply_plan_t *plan)
{
    for (size_t i = 0; i < apply_plan_conflict_count(plan); i++) {
        if (apply_plan_conflict_host_only(plan, i))
            continue;
        json_t *line = json_string(apply_plan_conflict(plan, i));
        run->conflict_count++;
        if (s_budget_take(run, line))
            json_array_append(run->conflicts, line);
        else
            run->conflicts_omitted++;
        json_decref(line);
    }
}

static void s_refusal_add(s_run_t *run, const char *host,
                          const apply_plan_t *plan)
{
    run->refusals = realloc(run->refusals,
                            (run->refusal_count + 1) * sizeof(*run->refusals));
    assert(run->refusals);
    s_refusal_t *r = &run->refusals[run->refusal_count++];
    r->host = strdup(host);
    assert(r->host);
    size_t len = 0;
    r->reason[0] = '\0';
    for (size_t i = 0; i < apply_plan_conflict_count(plan); i++)
        if (len < sizeof(r->reason))
            len += (size_t)snprintf(r->reason + len, sizeof(r->reason) - len,
                                    "%s%s", i ? "; " : "",
                                    apply_plan_conflict(plan, i));
    vfp_utf8_trim(r->reason);
    json_t *item = json_pack("{s:s, s:s}", "host", host, "reason", r->reason);
    if (s_budget_take(run, item))
        json_array_append(run->refused_json, item);
    else
        run->refused_omitted++;
    json_decref(item);
}

/* The reply's entry of a changed host: its change lines, at most
 * POLICY_APPLY_CHANGES_MAX. */
static void s_change_json(s_run_t *run, const char *host,
                          const vfp_msg_t *stored, const vfp_apply_t *apply)
{
    apply_plan_diff_t *diff =
        apply_plan_diff_new(host, stored ? &stored->u.apply : NULL, apply);
    size_t count = apply_plan_diff_count(diff);
    json_t *lines = json_array();
    for (size_t i = 0; i < count && i < POLICY_APPLY_CHANGES_MAX; i++)
        json_array_append_new(lines,
                              json_string(apply_plan_diff_line(diff, i)));
    apply_plan_diff_destroy(&diff);
    uint64_t next = stored ? stored->u.apply.revision + 1 : 1;
    json_t *item =
        json_pack("{s:s, s:I, s:o, s:I}", "host", host, "desired_revision",
                  (json_int_t)next, "changes", lines, "changes_more",
                  (json_int_t)(count > POLICY_APPLY_CHANGES_MAX
                                   ? count - POLICY_APPLY_CHANGES_MAX
                                   : 0));
    if (s_budget_take(run, item))
        json_array_append(run->hosts_json, item);
    else
        run->hosts_omitted++;
    json_decref(item);
}

/* Plans one host and files it: conflicts, refusal, change or nothing. */
static int s_plan_one(s_run_t *run, const policy_t *policy, const char *source,
                      const char *host)
{
    db_err_t err;
    desired_t *desired = desired_plan_host(run->db, policy, source, host, &err);
    if (!desired)
        return -1;
    const apply_plan_t *plan = desired_plan(desired);
    int rc = 0;
    if (apply_plan_refuses_host_only(plan)) {
        s_refusal_add(run, host, plan);
    } else if (apply_plan_conflict_count(plan) > 0) {
        s_conflicts_add(run, plan);
    } else {
        vfp_msg_t *stored = NULL;
        rc = desired_stored(run->db, host, &stored, &err);
        const vfp_apply_t *apply = apply_plan_apply(plan);
        for (uint32_t i = 0; i < apply->pf_count; i++)
            run->vfs_configured += apply->pfs[i].num_vfs;
        if (rc == 0 &&
            (!stored || !desired_apply_equal(&stored->u.apply, apply))) {
            s_change_json(run, host, stored, apply);
            run->changes = realloc(run->changes, (run->change_count + 1) *
                                                     sizeof(*run->changes));
            assert(run->changes);
            s_change_t *c = &run->changes[run->change_count++];
            c->host = strdup(host);
            assert(c->host);
            c->apply = desired_take_apply(desired);
        }
        vfp_msg_destroy(&stored);
    }
    desired_destroy(&desired);
    if (rc != 0)
        s_fail_db(run, &err);
    return rc;
}

static int s_plan_all(s_run_t *run, const policy_t *policy, const char *source)
{
    db_err_t err;
    if (db_hosts_list(run->db, NULL, s_host_collect, run, &err) != 0) {
        s_fail_db(run, &err);
        return -1;
    }
    for (size_t i = 0; i < run->host_count; i++) {
        if (s_plan_one(run, policy, source, run->hosts[i]) != 0) {
            if (run->status == VFP_OK)
                s_fail(run, VFP_ERR_INTERNAL, "cannot plan host %s",
                       run->hosts[i]);
            return -1;
        }
    }
    if (run->conflict_count == 0)
        return 0;
    s_fail(run, VFP_ERR_CONFLICT,
           "policy conflicts with the inventory: %zu conflict%s; first: %s",
           run->conflict_count, run->conflict_count == 1 ? "" : "s",
           json_string_value(json_array_get(run->conflicts, 0)));
    run->body =
        json_pack("{s:O, s:I}", "conflicts", run->conflicts,
                  "conflicts_omitted", (json_int_t)run->conflicts_omitted);
    return -1;
}

/* ---- storing ----------------------------------------------------------- */

/* Every write of the verb, all or nothing. */
static int s_store(s_run_t *run, const s_args_t *args, const char *commit,
                   policy_apply_changed_t *changed)
{
    db_err_t err;
    if (db_batch_begin(run->db, &err) != 0) {
        s_fail_db(run, &err);
        return -1;
    }
    int64_t revision = run->revision;
    int rc = run->unchanged
                 ? 0
                 : db_policy_store(run->db, args->text, run->sha256,
                                   args->message, args->author, commit,
                                   run->now_ms, &revision, &err);
    if (rc == 0)
        rc = db_host_refusal_clear(run->db, NULL, &err);
    for (size_t i = 0; rc == 0 && i < run->change_count; i++) {
        uint64_t desired_revision;
        rc = desired_store(run->db, run->changes[i].host, revision,
                           &run->changes[i].apply->u.apply, run->now_ms,
                           &desired_revision, &err);
    }
    for (size_t i = 0; rc == 0 && i < run->refusal_count; i++)
        rc = desired_refuse(run->db, run->refusals[i].host, revision,
                            run->refusals[i].reason, run->now_ms, &err);
    if (rc == 0)
        controller_event(
            run->db,
            strcmp(args->verb, "policy.rollback") == 0 ? "policy-rollback"
                                                       : "policy-apply",
            NULL,
            "revision %" PRId64 " (sha256 %.12s)%s by %s: %zu "
            "hosts changed, %zu refused",
            revision, run->sha256, run->unchanged ? " unchanged" : "",
            *args->author ? args->author : "unknown", run->change_count,
            run->refusal_count);
    if (rc != 0 || db_batch_commit(run->db, &err) != 0) {
        if (rc != 0)
            db_batch_rollback(run->db);
        s_fail_db(run, &err);
        return -1;
    }
    run->revision = revision;
    changed->hosts = calloc(run->change_count + 1, sizeof(*changed->hosts));
    assert(changed->hosts);
    for (size_t i = 0; i < run->change_count; i++) {
        changed->hosts[i] = run->changes[i].host;
        run->changes[i].host = NULL;
    }
    changed->count = run->change_count;
    changed->revision_stored = !run->unchanged;
    return 0;
}

/* ---- the verbs --------------------------------------------------------- */

static void s_ok_body(s_run_t *run, const s_args_t *args,
                      const policy_t *policy)
{
    /* Any configured VF can be handed to a VM NIC, which takes a MAC from
     * the pools: pools smaller than that are worth a warning, not a
     * refusal (no VM may ever need them all). */
    json_t *warnings = json_array();
    char line[VFP_TEXT_MAX + 1];
    if (policy_mac_pool_check(policy, run->vfs_configured, line,
                              sizeof(line)) != 0)
        json_array_append_new(warnings, json_string(line));
    run->body =
        json_pack("{s:b, s:I, s:s, s:b, s:I, s:I, s:O, s:O, s:o, s:I, s:I}",
                  "dry_run", args->dry_run, "revision",
                  (json_int_t)run->revision, "sha256", run->sha256, "unchanged",
                  run->unchanged, "hosts_total", (json_int_t)run->host_count,
                  "hosts_changed", (json_int_t)run->change_count, "hosts",
                  run->hosts_json, "refused", run->refused_json, "warnings",
                  warnings, "hosts_omitted", (json_int_t)run->hosts_omitted,
                  "refused_omitted", (json_int_t)run->refused_omitted);
    assert(run->body);
}

/* Validates, plans and (unless a dry run) stores one policy text. */
static void s_rollout(s_run_t *run, const s_args_t *args, const char *commit,
                      policy_apply_changed_t *changed)
{
    policy_t *policy = s_parse(run, args);
    if (!policy)
        return;
    if (s_revision(run, policy) == 0 &&
        s_plan_all(run, policy, args->source) == 0 &&
        (args->dry_run || s_store(run, args, commit, changed) == 0))
        s_ok_body(run, args, policy);
    policy_destroy(&policy);
}

static void s_verb_apply(s_run_t *run, const vfp_request_t *req,
                         policy_apply_changed_t *changed)
{
    s_args_t args = {.verb = req->verb};
    if (s_apply_args(run, req, &args) == 0)
        s_rollout(run, &args, args.commit, changed);
}

static void s_verb_rollback(s_run_t *run, const vfp_request_t *req,
                            policy_apply_changed_t *changed)
{
    static const char *const allowed[] = {"revision", "message", "author",
                                          "dry_run", NULL};
    s_args_t args = {.verb = req->verb};
    if (s_params_allowed(run, req, allowed) != 0 ||
        s_common_args(run, req, &args) != 0)
        return;
    const char *text = admin_request_param(req, "revision");
    int64_t revision = 0;
    if (!text) {
        s_fail(run, VFP_ERR_INVALID,
               "verb \"policy.rollback\" needs parameter \"revision\"");
        return;
    }
    if (admin_request_int(text, 1, INT64_MAX, &revision) != 0) {
        s_fail(run, VFP_ERR_INVALID,
               "revision \"%.64s\" is not a revision number from 1", text);
        return;
    }
    db_policy_row_t row;
    db_err_t err;
    if (db_policy_get(run->db, revision, &row, &err) != 0) {
        s_fail_db(run, &err);
        return;
    }
    snprintf(args.source_buf, sizeof(args.source_buf), "revision %" PRId64,
             revision);
    args.source = args.source_buf;
    if (!args.message) {
        snprintf(args.message_buf, sizeof(args.message_buf),
                 "rollback to revision %" PRId64, revision);
        args.message = args.message_buf;
    }
    args.text = row.text;
    args.len = row.text_len;
    s_rollout(run, &args, row.commit_id, changed);
    db_policy_row_clear(&row);
}

static void s_run_free(s_run_t *run)
{
    for (size_t i = 0; i < run->host_count; i++)
        free(run->hosts[i]);
    free(run->hosts);
    for (size_t i = 0; i < run->change_count; i++) {
        free(run->changes[i].host);
        vfp_msg_destroy(&run->changes[i].apply);
    }
    free(run->changes);
    for (size_t i = 0; i < run->refusal_count; i++)
        free(run->refusals[i].host);
    free(run->refusals);
    json_decref(run->conflicts);
    json_decref(run->hosts_json);
    json_decref(run->refused_json);
    json_decref(run->body);
}

/* The REPLY: the body on success, and with an error the details a verb
 * gives (errors, conflicts). */
static vfp_msg_t *s_reply(s_run_t *run, const vfp_msg_t *request)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_REPLY);
    assert(msg);
    msg->version = request->version;
    msg->request_id = request->request_id;
    vfp_reply_t *reply = &msg->u.reply;
    reply->status = (uint16_t)run->status;
    if (run->status != VFP_OK)
        snprintf(reply->error, sizeof(reply->error), "%s", run->error);
    if (run->body) {
        char *text = json_dumps(run->body, JSON_COMPACT);
        assert(text);
        size_t len = strlen(text);
        if (len <= VFP_BODY_MAX) {
            reply->body = text;
            reply->body_len = (uint32_t)len;
        } else {
            free(text);
        }
    }
    return msg;
}

vfp_msg_t *policy_apply_handle(db_t *db, const vfp_msg_t *request,
                               int64_t now_ms, policy_apply_changed_t *changed)
{
    assert(request->id == VFP_REQUEST);
    const vfp_request_t *req = &request->u.request;
    s_run_t run = {.db = db,
                   .now_ms = now_ms,
                   .status = VFP_OK,
                   .conflicts = json_array(),
                   .hosts_json = json_array(),
                   .refused_json = json_array()};
    if (strcmp(req->verb, "policy.apply") == 0)
        s_verb_apply(&run, req, changed);
    else if (strcmp(req->verb, "policy.rollback") == 0)
        s_verb_rollback(&run, req, changed);
    else
        s_fail(&run, VFP_ERR_UNKNOWN_VERB, "\"%s\" is not a write verb",
               req->verb);
    vfp_msg_t *reply = s_reply(&run, request);
    s_run_free(&run);
    return reply;
}
