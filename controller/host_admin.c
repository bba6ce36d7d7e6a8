/* host_admin.c - the admin write verb host.label: validated label changes
 * stored in one transaction, an event, and a re-plan of the host. */
#include "host_admin.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"
#include "admin_request.h"
#include "controller_internal.h"
#include "policy.h"

/* One request's label changes, pointing into its parsed body. */
typedef struct {
    db_label_t set[POLICY_HOST_LABELS_MAX];
    size_t set_count;
    const char *remove[POLICY_HOST_LABELS_MAX];
    size_t remove_count;
} s_change_t;

typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
} s_result_t;

static int s_fail(s_result_t *res, vfp_errcode_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(s_result_t *res, vfp_errcode_t status, const char *fmt, ...)
{
    res->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    vfp_utf8_trim(res->error);
    return -1;
}

static int s_set_parse(const json_t *set, s_change_t *change, s_result_t *res)
{
    if (set && !json_is_object(set))
        return s_fail(res, VFP_ERR_INVALID, "body: \"set\" is not an object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)set, key, value)
    {
        if (!policy_label_key_valid(key))
            return s_fail(res, VFP_ERR_INVALID,
                          "label key \"%.64s\" is not valid (letters, digits, "
                          "'.', '_', '/' and '-', starting with a letter or "
                          "digit, at most %d characters)",
                          key, POLICY_NAME_MAX);
        if (!json_is_string(value) ||
            !policy_label_value_valid(json_string_value(value)))
            return s_fail(res, VFP_ERR_INVALID,
                          "label %s: the value is not valid (letters, digits, "
                          "'.', '_' and '-', 1 to %d characters)",
                          key, POLICY_NAME_MAX);
        if (change->set_count == POLICY_HOST_LABELS_MAX)
            return s_fail(res, VFP_ERR_INVALID, "a host has at most %d labels",
                          POLICY_HOST_LABELS_MAX);
        change->set[change->set_count++] =
            (db_label_t){.key = key, .value = json_string_value(value)};
    }
    return 0;
}

static int s_remove_parse(const json_t *remove, s_change_t *change,
                          s_result_t *res)
{
    if (remove && !json_is_array(remove))
        return s_fail(res, VFP_ERR_INVALID, "body: \"remove\" is not a list");
    size_t i;
    json_t *item;
    json_array_foreach(remove, i, item)
    {
        const char *key = json_string_value(item);
        if (!key || !policy_label_key_valid(key))
            return s_fail(res, VFP_ERR_INVALID,
                          "body: \"remove\" item %zu is not a label key", i);
        if (change->remove_count == POLICY_HOST_LABELS_MAX)
            return s_fail(res, VFP_ERR_INVALID,
                          "at most %d labels are removed at once",
                          POLICY_HOST_LABELS_MAX);
        change->remove[change->remove_count++] = key;
    }
    return 0;
}

/* The body {"set": {...}, "remove": [...]}; *body_out owns the strings
 * change points to. */
static int s_body_parse(const vfp_request_t *req, json_t **body_out,
                        s_change_t *change, s_result_t *res)
{
    json_error_t jerr;
    json_t *body =
        req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    *body_out = body;
    if (!json_is_object(body))
        return s_fail(res, VFP_ERR_INVALID,
                      "the body is not a JSON object with \"set\" and/or "
                      "\"remove\"");
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "set") != 0 && strcmp(key, "remove") != 0)
            return s_fail(res, VFP_ERR_INVALID, "body: unknown key \"%.64s\"",
                          key);
    }
    if (s_set_parse(json_object_get(body, "set"), change, res) != 0 ||
        s_remove_parse(json_object_get(body, "remove"), change, res) != 0)
        return -1;
    if (change->set_count + change->remove_count == 0)
        return s_fail(res, VFP_ERR_INVALID, "nothing to set or remove");
    return 0;
}

/* The stored labels text (split in place) as pairs, at most the
 * policy's number of them. */
static size_t s_labels_split(char *text, db_label_t *out)
{
    size_t n = 0;
    while (n < POLICY_HOST_LABELS_MAX && db_labels_next(&text, &out[n]))
        n++;
    return n;
}

/* The value of key among labels, or NULL. */
static const char *s_labels_find(const db_label_t *labels, size_t n,
                                 const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].key, key) == 0)
            return labels[i].value;
    return NULL;
}

/* Records what the labels' change did, "+key=value" for each label set to
 * a new value and "-key" for each removed, cut to fit; a request that
 * changed nothing (a value set again, a key the host lacks removed) is
 * not an event. Both texts are split in place. */
static void s_event(db_t *db, const char *host, char *before, char *after)
{
    db_label_t was[POLICY_HOST_LABELS_MAX], now[POLICY_HOST_LABELS_MAX];
    size_t was_count = s_labels_split(before, was);
    size_t now_count = s_labels_split(after, now);
    char text[VFP_TEXT_MAX + 1] = "";
    size_t used = 0;
    for (size_t i = 0; i < now_count && used < sizeof(text); i++) {
        const char *old = s_labels_find(was, was_count, now[i].key);
        if (!old || strcmp(old, now[i].value) != 0)
            used +=
                (size_t)snprintf(text + used, sizeof(text) - used, "%s+%s=%s",
                                 used ? " " : "", now[i].key, now[i].value);
    }
    for (size_t i = 0; i < was_count && used < sizeof(text); i++)
        if (!s_labels_find(now, now_count, was[i].key))
            used += (size_t)snprintf(text + used, sizeof(text) - used, "%s-%s",
                                     used ? " " : "", was[i].key);
    if (used == 0)
        return;
    vfp_utf8_trim(text);
    controller_event(db, "host-labels", host, "%s", text);
}

/* The request's host and change, or -1 after recording why not. */
static int s_request_parse(const vfp_request_t *req, const char **host,
                           json_t **body, s_change_t *change, s_result_t *res)
{
    static const char *const allowed[] = {"name", NULL};
    const char *unknown = admin_request_unknown(req, allowed);
    *host = admin_request_param(req, "name");
    if (unknown)
        return s_fail(res, VFP_ERR_INVALID,
                      "verb \"%s\" has no parameter \"%s\"", req->verb,
                      unknown);
    if (!*host || !**host)
        return s_fail(res, VFP_ERR_INVALID,
                      "verb \"%s\" needs parameter \"name\"", req->verb);
    return s_body_parse(req, body, change, res);
}

static json_t *s_label(db_t *db, const vfp_request_t *req,
                       host_admin_replan_fn *replan, void *arg, s_result_t *res)
{
    const char *host = NULL;
    json_t *body = NULL, *answer = NULL;
    s_change_t *change = calloc(1, sizeof(*change));
    assert(change);
    char before[DB_HOST_LABELS_MAX + 1], labels[DB_HOST_LABELS_MAX + 1];
    char after[DB_HOST_LABELS_MAX + 1];
    db_err_t err;
    int rc = s_request_parse(req, &host, &body, change, res);
    if (rc == 0 && (db_host_labels_get(db, host, before, &err) != 0 ||
                    db_host_labels_set(db, host, change->set, change->set_count,
                                       change->remove, change->remove_count,
                                       labels, &err) != 0)) {
        res->status = admin_request_db_error(&err, "host labels", res->error,
                                             sizeof(res->error));
        rc = -1;
    }
    if (rc == 0) {
        memcpy(after, labels, sizeof(after));
        s_event(db, host, before, after);
        bool changed = replan(arg, host);
        answer =
            json_pack("{s:s, s:o, s:b}", "host", host, "labels",
                      admin_json_labels(labels), "desired_changed", changed);
    }
    json_decref(body);
    free(change);
    return answer;
}

bool host_admin_is_verb(const char *verb)
{
    return strcmp(verb, "host.label") == 0;
}

vfp_msg_t *host_admin_handle(db_t *db, const vfp_msg_t *request,
                             host_admin_replan_fn *replan, void *arg)
{
    assert(request->id == VFP_REQUEST);
    const vfp_request_t *req = &request->u.request;
    s_result_t res = {.status = VFP_OK};
    json_t *answer = NULL;
    if (host_admin_is_verb(req->verb))
        answer = s_label(db, req, replan, arg, &res);
    else
        s_fail(&res, VFP_ERR_UNKNOWN_VERB, "\"%s\" is not a write verb",
               req->verb);
    vfp_msg_t *msg = vfp_msg_new(VFP_REPLY);
    assert(msg);
    msg->version = request->version;
    msg->request_id = request->request_id;
    msg->u.reply.status = (uint16_t)res.status;
    if (res.status != VFP_OK)
        snprintf(msg->u.reply.error, sizeof(msg->u.reply.error), "%s",
                 res.error);
    if (answer) {
        msg->u.reply.body = json_dumps(answer, JSON_COMPACT);
        assert(msg->u.reply.body);
        msg->u.reply.body_len = (uint32_t)strlen(msg->u.reply.body);
        json_decref(answer);
    }
    return msg;
}
