/* admin_policy.c - the admin API's read verbs of policy rollout: where each
 * host's desired state stands (policy.status), the stored revisions
 * (policy.history, policy.get) and the drift hosts report (drift). */
#include "admin_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"
#include "admin_page.h"
#include "admin_request.h"
#include "vfp_log.h"
#include "wire.h"

/* Failures and drift items shown per host; the rest are counted. */
#define S_ITEMS_MAX 100
/* The state policy.status shows for a host held back by a refusal. */
#define S_STATE_REFUSED "refused"

/* Checks that a named host exists: a filter by an unknown host says so. */
static int s_host_exists(db_t *db, const char *name,
                         admin_policy_answer_t *answer)
{
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(db, name, &row, &err) != 0) {
        admin_answer_db(answer, &err);
        return -1;
    }
    return 0;
}

/* ---- policy.status ---------------------------------------------------- */

static json_t *s_policy_json(const db_policy_row_t *row)
{
    json_t *obj =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "revision",
                  (json_int_t)row->revision, "sha256", row->sha256, "message",
                  row->message, "author", row->author, "commit", row->commit_id,
                  "created_at", admin_json_time(row->created_at_ms));
    if (row->text)
        json_object_set_new(obj, "text", json_string(row->text));
    return obj;
}

static int s_policy_take(const db_policy_row_t *row, void *arg)
{
    json_t **out = arg;
    *out = s_policy_json(row);
    return 0;
}

/* The newest stored revision without its text, or JSON null. */
static int s_latest_policy(db_t *db, json_t **out, db_err_t *err)
{
    *out = NULL;
    if (db_policy_history(db, 0, 1, s_policy_take, out, err) != 0)
        return -1;
    if (!*out)
        *out = json_null();
    return 0;
}

static json_t *s_counts_json(const db_apply_counts_t *counts)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I}", "hosts", (json_int_t)counts->hosts,
        "ok", (json_int_t)counts->ok, "failed", (json_int_t)counts->failed,
        "pending", (json_int_t)counts->pending, "refused",
        (json_int_t)counts->refused, "drifted", (json_int_t)counts->drifted);
}

static const char *s_item_kind_name(vfp_item_kind_t kind)
{
    switch (kind) {
    case VFP_ITEM_NUM_VFS:
        return "num_vfs";
    case VFP_ITEM_VF:
        return "vf";
    default:
        return "hugepages";
    }
}

/* A capped list of items, and how many did not fit. */
typedef struct {
    json_t *items;
    int64_t more;
} s_capped_t;

static int s_failure_add(const vfp_result_t *item, void *arg)
{
    s_capped_t *list = arg;
    if (json_array_size(list->items) == S_ITEMS_MAX) {
        list->more++;
        return 0;
    }
    const char *name = strerrorname_np(item->err);
    json_array_append_new(
        list->items,
        json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:s}", "kind",
                  s_item_kind_name(item->kind), "pf", item->pf, "vf",
                  item->index, "attribute", item->attribute, "err", item->err,
                  "errno", name ? name : "", "message", item->message));
    return 0;
}

static json_t *s_drift_json(const db_drift_row_t *row, bool with_host)
{
    json_t *obj =
        json_pack("{s:s, s:i, s:s, s:s, s:s}", "pf", row->item.pf, "vf",
                  row->item.index, "attribute", row->item.attribute, "wanted",
                  row->item.wanted, "has", row->item.has);
    if (with_host) {
        json_object_set_new(obj, "host", json_string(row->host));
        json_object_set_new(obj, "seen_at", admin_json_time(row->seen_at_ms));
    }
    return obj;
}

static int s_drift_add(const db_drift_row_t *row, void *arg)
{
    s_capped_t *list = arg;
    if (json_array_size(list->items) == S_ITEMS_MAX)
        list->more++;
    else
        json_array_append_new(list->items, s_drift_json(row, false));
    return 0;
}

/* A status listing in progress: the page and what its rows read. */
typedef struct {
    admin_page_t page;
    db_t *db;
    sessions_t *sessions;
    int64_t now_ms;
    db_err_t err; /* a failure of a row's own queries */
} s_status_walk_t;

/* Adds the capped list `list` under key, and key_more beside it. */
static void s_capped_set(json_t *row, const char *key, s_capped_t *list)
{
    char more[32];
    snprintf(more, sizeof(more), "%s_more", key);
    json_object_set_new(row, key, list->items);
    json_object_set_new(row, more, json_integer(list->more));
}

static json_t *s_status_json(s_status_walk_t *walk,
                             const db_apply_status_row_t *row)
{
    session_facts_t facts;
    bool connected =
        sessions_peek(walk->sessions, row->host, &facts) && facts.connected;
    bool refused = row->refusal[0] != '\0';
    bool pending = row->state == DB_APPLY_PENDING && !refused;
    int64_t pending_ms = pending ? walk->now_ms - row->sent_at_ms : 0;
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:I, s:b, s:o, s:o, s:I, s:I, "
        "s:I}",
        "host", row->host, "state",
        refused ? S_STATE_REFUSED : db_apply_state_name(row->state), "refused",
        refused ? json_string(row->refusal) : json_null(), "desired_revision",
        (json_int_t)row->revision, "applied_revision",
        (json_int_t)row->applied_revision, "policy_revision",
        (json_int_t)row->policy_revision, "connected", connected, "sent_at",
        admin_json_time(row->sent_at_ms), "answered_at",
        admin_json_time(row->answered_at_ms), "pending_ms",
        (json_int_t)(pending_ms > 0 ? pending_ms : 0), "ok_items",
        (json_int_t)row->ok_count, "failed_items",
        (json_int_t)row->failed_count);
}

static int s_status_row(const db_apply_status_row_t *row, void *arg)
{
    s_status_walk_t *walk = arg;
    s_capped_t failures = {json_array(), 0}, drift = {json_array(), 0};
    if ((row->failed_count > 0 &&
         db_apply_failures_list(walk->db, row->host, s_failure_add, &failures,
                                &walk->err) != 0) ||
        db_drift_list(walk->db, row->host, s_drift_add, &drift, &walk->err) !=
            0) {
        json_decref(failures.items);
        json_decref(drift.items);
        return -1;
    }
    json_t *obj = s_status_json(walk, row);
    s_capped_set(obj, "failures", &failures);
    s_capped_set(obj, "drift", &drift);
    return admin_page_add(&walk->page, obj, json_pack("[s]", row->host));
}

/* The filter of a policy.status request; -1 (INVALID, NOT_FOUND) when a
 * value is wrong. *none is set when no row is wanted (summary). */
static int s_status_filter(db_t *db, const vfp_request_t *req,
                           db_apply_status_filter_t *filter, bool *none,
                           admin_policy_answer_t *answer)
{
    memset(filter, 0, sizeof(*filter));
    *none = false;
    filter->host = admin_request_param(req, "host");
    const char *state = admin_request_param(req, "state");
    if (state && strcmp(state, S_STATE_REFUSED) == 0) {
        filter->refused = true;
    } else if (state && db_apply_state_parse(state, &filter->state) != 0) {
        admin_answer_fail(
            answer, VFP_ERR_INVALID,
            "unknown rollout state \"%s\" (pending, ok, failed, refused)",
            state);
        return -1;
    }
    filter->by_state = state && !filter->refused;
    const char *summary = admin_request_param(req, "summary");
    if (summary && strcmp(summary, "true") != 0 &&
        strcmp(summary, "false") != 0) {
        admin_answer_fail(answer, VFP_ERR_INVALID,
                          "summary \"%s\" is not true or false", summary);
        return -1;
    }
    *none = *none || (summary && strcmp(summary, "true") == 0);
    return filter->host ? s_host_exists(db, filter->host, answer) : 0;
}

/* The cursor of a host listing: a JSON array of one host name. */
static json_t *s_host_cursor(const char *text, admin_policy_answer_t *answer)
{
    json_t *cursor = json_loads(text, 0, NULL);
    if (!json_is_array(cursor) || json_array_size(cursor) != 1 ||
        !json_is_string(json_array_get(cursor, 0))) {
        json_decref(cursor);
        admin_answer_fail(answer, VFP_ERR_INVALID, "malformed cursor \"%s\"",
                          text);
        return NULL;
    }
    return cursor;
}

/* The policy and the counts every policy.status answer starts with. */
static json_t *s_status_head(db_t *db, admin_policy_answer_t *answer)
{
    json_t *policy;
    db_apply_counts_t counts;
    db_err_t err;
    if (s_latest_policy(db, &policy, &err) != 0) {
        admin_answer_db(answer, &err);
        return NULL;
    }
    if (db_apply_counts(db, &counts, &err) != 0) {
        json_decref(policy);
        admin_answer_db(answer, &err);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "policy", policy, "counts",
                     s_counts_json(&counts));
}

void admin_policy_status(db_t *db, sessions_t *sessions,
                         const vfp_request_t *req, int64_t now_ms,
                         admin_policy_answer_t *answer)
{
    static const char *const allowed[] = {"host",  "state", "summary",
                                          "limit", "after", NULL};
    db_apply_status_filter_t filter;
    bool none;
    s_status_walk_t walk = {.db = db, .sessions = sessions, .now_ms = now_ms};
    if (admin_answer_params(req, allowed, answer) != 0 ||
        s_status_filter(db, req, &filter, &none, answer) != 0 ||
        admin_page_start(&walk.page, req, answer) != 0)
        return;
    const char *after = admin_request_param(req, "after");
    json_t *cursor = after ? s_host_cursor(after, answer) : NULL;
    json_t *body = answer->status == VFP_OK ? s_status_head(db, answer) : NULL;
    if (!body) {
        json_decref(cursor);
        json_decref(walk.page.rows);
        return;
    }
    db_page_t key = {.limit = walk.page.limit + 1};
    key.host = cursor ? json_string_value(json_array_get(cursor, 0)) : NULL;
    db_err_t err = {DB_OK, ""};
    int rc = none ? 0
                  : db_apply_status_filter(db, &filter, &key, s_status_row,
                                           &walk, &err);
    if (rc != 0 && walk.err.code != DB_OK)
        err = walk.err;
    admin_page_finish(&walk.page, "hosts", rc, &err, &body, answer);
    json_decref(cursor);
    if (answer->status == VFP_OK)
        answer->body = body;
    else
        json_decref(body);
}

/* ---- policy.history, policy.get --------------------------------------- */

static int s_history_row(const db_policy_row_t *row, void *arg)
{
    return admin_page_add(arg, s_policy_json(row), json_integer(row->revision));
}

/* The revision a request names under `key`, or 0 when it names none. */
static int s_revision_param(const vfp_request_t *req, const char *key,
                            int64_t *revision, admin_policy_answer_t *answer)
{
    const char *text = admin_request_param(req, key);
    *revision = 0;
    if (text && admin_request_int(text, 1, INT64_MAX, revision) != 0) {
        admin_answer_fail(answer, VFP_ERR_INVALID,
                          "%s \"%s\" is not a revision",
                          strcmp(key, "after") == 0 ? "cursor" : key, text);
        return -1;
    }
    return 0;
}

void admin_policy_history(db_t *db, sessions_t *sessions,
                          const vfp_request_t *req, int64_t now_ms,
                          admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"limit", "after", NULL};
    int64_t before;
    admin_page_t page;
    if (admin_answer_params(req, allowed, answer) != 0 ||
        s_revision_param(req, "after", &before, answer) != 0 ||
        admin_page_start(&page, req, answer) != 0)
        return;
    db_err_t err = {DB_OK, ""};
    int rc = db_policy_history(db, before, page.limit + 1, s_history_row, &page,
                               &err);
    json_t *body = NULL;
    admin_page_finish(&page, "policies", rc, &err, &body, answer);
    answer->body = body;
}

void admin_policy_get(db_t *db, sessions_t *sessions, const vfp_request_t *req,
                      int64_t now_ms, admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"revision", NULL};
    int64_t revision;
    if (admin_answer_params(req, allowed, answer) != 0 ||
        s_revision_param(req, "revision", &revision, answer) != 0)
        return;
    db_policy_row_t row;
    db_err_t err;
    int rc = revision ? db_policy_get(db, revision, &row, &err)
                      : db_policy_latest(db, &row, &err);
    if (rc != 0) {
        admin_answer_db(answer, &err);
        return;
    }
    answer->body = s_policy_json(&row);
    db_policy_row_clear(&row);
}

/* ---- drift ------------------------------------------------------------ */

static int s_drift_row(const db_drift_row_t *row, void *arg)
{
    return admin_page_add(arg, s_drift_json(row, true),
                          json_pack("[s, s, i, s]", row->host, row->item.pf,
                                    row->item.index, row->item.attribute));
}

/* Parses a drift cursor ["host", "pf", vf, "attribute"] into *after. */
static int s_drift_cursor(const char *text, db_drift_row_t *after,
                          admin_policy_answer_t *answer)
{
    json_t *cursor = json_loads(text, 0, NULL);
    const char *host = NULL, *pf = NULL, *attribute = NULL;
    json_int_t index = -1;
    int rc =
        json_unpack(cursor, "[s, s, I, s!]", &host, &pf, &index, &attribute);
    memset(after, 0, sizeof(*after));
    bool ok = rc == 0 && index >= 0 && index <= UINT16_MAX &&
              strlen(host) < sizeof(after->host) &&
              strlen(pf) < sizeof(after->item.pf) &&
              strlen(attribute) < sizeof(after->item.attribute);
    if (ok) {
        snprintf(after->host, sizeof(after->host), "%s", host);
        snprintf(after->item.pf, sizeof(after->item.pf), "%s", pf);
        after->item.index = (uint16_t)index;
        snprintf(after->item.attribute, sizeof(after->item.attribute), "%s",
                 attribute);
    } else {
        admin_answer_fail(answer, VFP_ERR_INVALID, "malformed cursor \"%s\"",
                          text);
    }
    json_decref(cursor);
    return ok ? 0 : -1;
}

void admin_policy_drift(db_t *db, sessions_t *sessions,
                        const vfp_request_t *req, int64_t now_ms,
                        admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"host", "limit", "after", NULL};
    const char *host = admin_request_param(req, "host");
    const char *cursor = admin_request_param(req, "after");
    db_drift_row_t after;
    admin_page_t page;
    if (admin_answer_params(req, allowed, answer) != 0 ||
        (cursor && s_drift_cursor(cursor, &after, answer) != 0) ||
        (host && s_host_exists(db, host, answer) != 0) ||
        admin_page_start(&page, req, answer) != 0)
        return;
    db_err_t err = {DB_OK, ""};
    int rc = db_drift_page(db, host, cursor ? &after : NULL, page.limit + 1,
                           s_drift_row, &page, &err);
    json_t *body = NULL;
    admin_page_finish(&page, "drift", rc, &err, &body, answer);
    answer->body = body;
}
