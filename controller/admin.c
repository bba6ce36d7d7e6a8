/* admin.c - the admin API: REQUEST verbs answered with JSON REPLY bodies
 * (shapes in ADMIN.md), listings in pages that each fit one message. */
#include "admin.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"
#include "vfp_log.h"
#include "vfp_transport.h"
#include "wire.h"

#define S_LIMIT_DEFAULT 1000
#define S_LIMIT_MAX 10000
/* Room kept in a reply body for what surrounds the rows: the object, its
 * key and the "next" cursor (at most a parameter value long). */
#define S_ENVELOPE (VFP_TEXT_MAX + 256)

struct admin_t {
    db_t *db;
    sessions_t *sessions;
    admin_config_t cfg;
};

/* An answer under construction: a JSON body (an object, or a listing's
 * text already serialised), or a status and text. */
typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
    char *body_text; /* malloc'd; set instead of body by listings */
} s_answer_t;

/* One page being filled: rows up to `limit`, and bytes up to what one
 * message holds; `cursor` is the key of the last row taken. Each row is
 * serialised once, straight into `text` (the rows, comma-separated), which
 * also measures it: at 10,000 hosts, building JSON trees and serialising
 * them twice (to measure, then to send) was most of a listing's time. */
typedef struct {
    admin_t *self;
    char *text;
    size_t len, cap;
    int64_t rows, limit;
    bool more;      /* rows remain after this page */
    json_t *cursor; /* key of the last row in the page, or NULL */
} s_page_t;

admin_t *admin_new(db_t *db, sessions_t *sessions, const admin_config_t *cfg)
{
    admin_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->db = db;
    self->sessions = sessions;
    self->cfg = *cfg;
    return self;
}

void admin_destroy(admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static void s_fail(s_answer_t *answer, vfp_errcode_t status, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));

static void s_fail(s_answer_t *answer, vfp_errcode_t status, const char *fmt,
                   ...)
{
    answer->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(answer->error, sizeof(answer->error), fmt, ap);
    va_end(ap);
}

static void s_fail_db(s_answer_t *answer, const db_err_t *err)
{
    vfp_errcode_t code = wire_error_code(err->code, true);
    if (code == VFP_ERR_INTERNAL) {
        vfp_log_error("admin query failed: %s", err->text);
        s_fail(answer, code, "database error: %s", err->text);
    } else {
        s_fail(answer, code, "%s", err->text);
    }
}

static const char *s_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++) {
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    }
    return NULL;
}

/* Refuses parameters the verb does not know: a typo must not silently
 * widen a listing. */
static int s_params_allowed(const vfp_request_t *req,
                            const char *const *allowed, s_answer_t *answer)
{
    for (uint32_t i = 0; i < req->param_count; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            known = known || strcmp(req->params[i].key, *a) == 0;
        if (!known) {
            s_fail(answer, VFP_ERR_INVALID,
                   "verb \"%s\" has no parameter \"%s\"", req->verb,
                   req->params[i].key);
            return -1;
        }
    }
    return 0;
}

static int s_parse_int(const char *text, int64_t min, int64_t max,
                       int64_t *value)
{
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *value = v;
    return 0;
}

/* Reads the page size (`limit`) of a listing. */
static int s_page_start(s_page_t *page, admin_t *self, const vfp_request_t *req,
                        s_answer_t *answer)
{
    memset(page, 0, sizeof(*page));
    page->self = self;
    page->limit = S_LIMIT_DEFAULT;
    const char *text = s_param(req, "limit");
    if (text && s_parse_int(text, 1, S_LIMIT_MAX, &page->limit) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "limit \"%s\" is not a number from 1 to %d", text, S_LIMIT_MAX);
        return -1;
    }
    return 0;
}

static int s_page_append(const char *buffer, size_t size, void *data)
{
    s_page_t *page = data;
    if (page->len + size + 1 > page->cap) {
        while (page->len + size + 1 > page->cap)
            page->cap = page->cap ? 2 * page->cap : 64 * 1024;
        page->text = realloc(page->text, page->cap);
        assert(page->text);
    }
    memcpy(page->text + page->len, buffer, size);
    page->len += size;
    page->text[page->len] = '\0';
    return 0;
}

static void s_page_discard(s_page_t *page)
{
    free(page->text);
    page->text = NULL;
    json_decref(page->cursor);
    page->cursor = NULL;
}

/* Takes one row (and its cursor key) into the page; both are consumed.
 * Returns -1 to stop the listing once the page is full: `limit` rows, or
 * one more row would take the body past VFP_BODY_MAX. */
static int s_page_add(s_page_t *page, json_t *row, json_t *key)
{
    size_t before = page->len;
    bool full = page->rows == page->limit;
    if (!full) {
        if (page->rows > 0)
            s_page_append(",", 1, page);
        json_dump_callback(row, s_page_append, page, JSON_COMPACT);
        full = page->len > VFP_BODY_MAX - S_ENVELOPE;
    }
    json_decref(row);
    if (full) {
        page->len = before;
        if (page->text)
            page->text[before] = '\0';
        page->more = true;
        json_decref(key);
        return -1;
    }
    page->rows++;
    json_decref(page->cursor);
    page->cursor = key;
    return 0;
}

/* Ends a listing: the rows under `name`, and "next". A listing that the
 * page stopped returns -1 with DB_OK: that is success. */
static void s_page_finish(s_page_t *page, const char *name, int rc,
                          const db_err_t *err, s_answer_t *answer)
{
    if (rc != 0 && err->code != DB_OK) {
        s_fail_db(answer, err);
    } else {
        json_t *next = json_null();
        if (page->more && page->cursor) {
            char *text =
                json_dumps(page->cursor, JSON_COMPACT | JSON_ENCODE_ANY);
            assert(text);
            next = json_string(text);
            free(text);
        }
        char *next_text = json_dumps(next, JSON_COMPACT | JSON_ENCODE_ANY);
        assert(next_text);
        json_decref(next);
        /* Names are fixed words of this file: nothing to escape. */
        size_t size = strlen(name) + page->len + strlen(next_text) + 32;
        answer->body_text = malloc(size);
        assert(answer->body_text);
        snprintf(answer->body_text, size, "{\"%s\":[%s],\"next\":%s}", name,
                 page->text ? page->text : "", next_text);
        free(next_text);
    }
    s_page_discard(page);
}

/* Parses an `after` cursor of `parts` keys (host, pf, index) into *key.
 * Returns the parsed JSON, which the key points into, or NULL (INVALID). */
static json_t *s_cursor_parse(const char *text, size_t parts, db_page_t *key,
                              s_answer_t *answer)
{
    json_t *cursor = json_loads(text, 0, NULL);
    bool ok = json_is_array(cursor) && json_array_size(cursor) == parts &&
              json_is_string(json_array_get(cursor, 0));
    if (ok && parts > 1)
        ok = json_is_string(json_array_get(cursor, 1));
    json_int_t index = 0;
    if (ok && parts > 2) {
        index = json_integer_value(json_array_get(cursor, 2));
        ok = json_is_integer(json_array_get(cursor, 2)) && index >= 0 &&
             index <= UINT16_MAX;
    }
    if (!ok) {
        json_decref(cursor);
        s_fail(answer, VFP_ERR_INVALID, "malformed cursor \"%s\"", text);
        return NULL;
    }
    key->host = json_string_value(json_array_get(cursor, 0));
    if (parts > 1)
        key->pf = json_string_value(json_array_get(cursor, 1));
    key->index = (int32_t)index;
    return cursor;
}

/* The db key for one page: rows after `after` (if given), one more than
 * the page holds, so that the page knows whether more follow. */
static int s_page_key(const vfp_request_t *req, const s_page_t *page,
                      size_t parts, db_page_t *key, json_t **cursor,
                      s_answer_t *answer)
{
    memset(key, 0, sizeof(*key));
    key->limit = page->limit + 1;
    *cursor = NULL;
    const char *after = s_param(req, "after");
    if (!after)
        return 0;
    *cursor = s_cursor_parse(after, parts, key, answer);
    return *cursor ? 0 : -1;
}

/* Checks that a host exists, so filters by an unknown host say so instead
 * of answering with an empty list. */
static int s_host_exists(admin_t *self, const char *name, s_answer_t *answer)
{
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(self->db, name, &row, &err) != 0) {
        s_fail_db(answer, &err);
        return -1;
    }
    return 0;
}

static json_t *s_host_json(admin_t *self, const db_host_row_t *row)
{
    session_facts_t facts;
    bool known = sessions_peek(self->sessions, row->name, &facts);
    return admin_json_host(row, known ? &facts : NULL);
}

static int s_host_row(const db_host_row_t *row, void *arg)
{
    s_page_t *page = arg;
    return s_page_add(page, s_host_json(page->self, row),
                      json_pack("[s]", row->name));
}

static int s_pf_row(const db_pf_row_t *row, void *arg)
{
    return s_page_add(arg, admin_json_pf(row),
                      json_pack("[s, s]", row->host, row->pci_addr));
}

static int s_vf_row(const db_vf_row_t *row, void *arg)
{
    return s_page_add(arg, admin_json_vf(row),
                      json_pack("[s, s, i]", row->host, row->pf, row->index));
}

static int s_event_row(const db_event_row_t *row, void *arg)
{
    return s_page_add(arg, admin_json_event(row), json_integer(row->id));
}

static int s_pf_append(const db_pf_row_t *row, void *arg)
{
    json_array_append_new(arg, admin_json_pf(row));
    return 0;
}

static int s_hugepages_append(const db_hugepages_row_t *row, void *arg)
{
    json_array_append_new(arg, admin_json_hugepages(row));
    return 0;
}

/* Everything a paged verb does before its query: known parameters, the
 * page size and the cursor. On failure the answer says why. */
static int s_page_begin(admin_t *self, const vfp_request_t *req,
                        const char *const *allowed, size_t parts,
                        s_page_t *page, db_page_t *key, json_t **cursor,
                        s_answer_t *answer)
{
    if (s_params_allowed(req, allowed, answer) != 0 ||
        s_page_start(page, self, req, answer) != 0)
        return -1;
    if (s_page_key(req, page, parts, key, cursor, answer) != 0) {
        s_page_discard(page);
        return -1;
    }
    return 0;
}

static void s_verb_summary(admin_t *self, const vfp_request_t *req,
                           s_answer_t *answer)
{
    static const char *const allowed[] = {NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    db_summary_t sum;
    db_err_t err;
    if (db_summary(self->db, &sum, &err) != 0) {
        s_fail_db(answer, &err);
        return;
    }
    answer->body = json_pack(
        "{s:s, s:s, s:i, s:o, s:I, s:{s:I, s:I, s:I, s:I}, s:I,"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I}",
        "controller_id", self->cfg.controller_id, "version", VFLEET_VERSION,
        "schema_version", db_schema_version(self->db), "started",
        admin_json_time(self->cfg.started_ms), "heartbeat_ms",
        (json_int_t)self->cfg.heartbeat_ms, "hosts", "total",
        (json_int_t)sum.hosts, "ready", (json_int_t)sum.hosts_ready, "down",
        (json_int_t)sum.hosts_down, "connected",
        (json_int_t)sessions_connected(self->sessions), "pfs",
        (json_int_t)sum.pfs, "vfs", "total", (json_int_t)sum.vfs, "free",
        (json_int_t)sum.vfs_free, "reserved", (json_int_t)sum.vfs_reserved,
        "assigned", (json_int_t)sum.vfs_assigned, "broken",
        (json_int_t)sum.vfs_broken, "missing", (json_int_t)sum.vfs_missing,
        "vms", (json_int_t)sum.vms);
}

static void s_verb_hosts(admin_t *self, const vfp_request_t *req,
                         s_answer_t *answer)
{
    static const char *const allowed[] = {"limit", "after", NULL};
    s_page_t page;
    db_page_t key;
    json_t *cursor;
    if (s_page_begin(self, req, allowed, 1, &page, &key, &cursor, answer) != 0)
        return;
    db_err_t err;
    int rc = db_hosts_list(self->db, &key, s_host_row, &page, &err);
    s_page_finish(&page, "hosts", rc, &err, answer);
    json_decref(cursor);
}

static void s_verb_host(admin_t *self, const vfp_request_t *req,
                        s_answer_t *answer)
{
    static const char *const allowed[] = {"name", NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    const char *name = s_param(req, "name");
    if (!name || !*name) {
        s_fail(answer, VFP_ERR_INVALID, "verb \"host\" needs parameter name");
        return;
    }
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(self->db, name, &row, &err) != 0) {
        s_fail_db(answer, &err);
        return;
    }
    json_t *pools = json_array(), *pfs = json_array();
    if (db_host_hugepages(self->db, name, s_hugepages_append, pools, &err) !=
            0 ||
        db_pfs_list(self->db, name, NULL, s_pf_append, pfs, &err) != 0) {
        json_decref(pools);
        json_decref(pfs);
        s_fail_db(answer, &err);
        return;
    }
    json_t *host = s_host_json(self, &row);
    json_object_set_new(host, "hugepages", pools);
    json_object_set_new(host, "pf_list", pfs);
    answer->body = json_pack("{s:o}", "host", host);
}

static void s_verb_pfs(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    static const char *const allowed[] = {"host", "limit", "after", NULL};
    const char *host = s_param(req, "host");
    s_page_t page;
    db_page_t key;
    json_t *cursor;
    if (s_page_begin(self, req, allowed, 2, &page, &key, &cursor, answer) != 0)
        return;
    db_err_t err = {DB_OK, ""};
    int rc = host ? s_host_exists(self, host, answer) : 0;
    if (rc == 0)
        rc = db_pfs_list(self->db, host, &key, s_pf_row, &page, &err);
    if (answer->status == VFP_OK)
        s_page_finish(&page, "pfs", rc, &err, answer);
    else
        s_page_discard(&page);
    json_decref(cursor);
}

/* The VF filter of a request; -1 (INVALID) for an unknown state. */
static int s_vf_filter(admin_t *self, const vfp_request_t *req,
                       db_vf_filter_t *filter, s_answer_t *answer)
{
    memset(filter, 0, sizeof(*filter));
    filter->host = s_param(req, "host");
    filter->pf = s_param(req, "pf");
    const char *state = s_param(req, "state");
    if (state && db_vf_state_parse(state, &filter->state) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "unknown VF state \"%s\" (free, reserved, assigned, broken, "
               "missing)",
               state);
        return -1;
    }
    filter->by_state = state != NULL;
    if (filter->host && s_host_exists(self, filter->host, answer) != 0)
        return -1;
    return 0;
}

static void s_verb_vfs(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    static const char *const allowed[] = {"host",  "pf",    "state",
                                          "limit", "after", NULL};
    s_page_t page;
    db_page_t key;
    json_t *cursor;
    if (s_page_begin(self, req, allowed, 3, &page, &key, &cursor, answer) != 0)
        return;
    db_vf_filter_t filter;
    if (s_vf_filter(self, req, &filter, answer) == 0) {
        db_err_t err;
        int rc = db_vfs_list(self->db, &filter, &key, s_vf_row, &page, &err);
        s_page_finish(&page, "vfs", rc, &err, answer);
    } else {
        s_page_discard(&page);
    }
    json_decref(cursor);
}

static void s_verb_events(admin_t *self, const vfp_request_t *req,
                          s_answer_t *answer)
{
    static const char *const allowed[] = {"since", "limit", "after", NULL};
    s_page_t page;
    if (s_params_allowed(req, allowed, answer) != 0 ||
        s_page_start(&page, self, req, answer) != 0)
        return;
    int64_t since = 0, after = -1;
    const char *text = s_param(req, "since");
    const char *cursor = s_param(req, "after");
    if (text && s_parse_int(text, 0, INT64_MAX / 1000, &since) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "since \"%s\" is not a Unix time in seconds", text);
    } else if (cursor && s_parse_int(cursor, 0, INT64_MAX, &after) != 0) {
        s_fail(answer, VFP_ERR_INVALID, "malformed cursor \"%s\"", cursor);
    }
    if (answer->status != VFP_OK) {
        s_page_discard(&page);
        return;
    }
    db_err_t err;
    /* Without a cursor: the newest `limit` events; with one: forward. */
    int rc = after < 0
                 ? db_events_list(self->db, since * 1000, page.limit,
                                  s_event_row, &page, &err)
                 : db_events_after(self->db, after, since * 1000,
                                   page.limit + 1, s_event_row, &page, &err);
    s_page_finish(&page, "events", rc, &err, answer);
}

static const struct {
    const char *verb;
    void (*fn)(admin_t *, const vfp_request_t *, s_answer_t *);
} s_verbs[] = {
    {"summary", s_verb_summary}, {"hosts", s_verb_hosts},
    {"host", s_verb_host},       {"pfs", s_verb_pfs},
    {"vfs", s_verb_vfs},         {"events", s_verb_events},
};

static void s_dispatch(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    size_t n = sizeof(s_verbs) / sizeof(s_verbs[0]);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s_verbs[i].verb, req->verb) == 0) {
            s_verbs[i].fn(self, req, answer);
            return;
        }
    }
    s_fail(answer, VFP_ERR_UNKNOWN_VERB,
           "unknown verb \"%s\" (summary, hosts, host, pfs, vfs, events)",
           req->verb);
}

/* Fills the REPLY from the answer. A body over VFP_BODY_MAX cannot come
 * from a paged listing; `host` with thousands of PFs is what is left. */
static void s_reply_fill(s_answer_t *answer, vfp_reply_t *reply)
{
    if (answer->status == VFP_OK) {
        char *text = answer->body_text ? answer->body_text
                                       : json_dumps(answer->body, JSON_COMPACT);
        answer->body_text = NULL;
        assert(text);
        size_t len = strlen(text);
        if (len > VFP_BODY_MAX) {
            free(text);
            s_fail(answer, VFP_ERR_INVALID,
                   "the answer is %zu bytes, more than the protocol's %u; "
                   "narrow it with a filter",
                   len, VFP_BODY_MAX);
        } else {
            reply->body = text;
            reply->body_len = (uint32_t)len;
        }
    }
    json_decref(answer->body);
    free(answer->body_text);
    reply->status = (uint16_t)answer->status;
    if (answer->status != VFP_OK)
        snprintf(reply->error, sizeof(reply->error), "%s", answer->error);
}

vfp_msg_t *admin_handle(admin_t *self, const vfp_msg_t *msg)
{
    if (msg->id == VFP_ERROR)
        return NULL;
    if (msg->id != VFP_REQUEST)
        return wire_error_new(msg->version, msg->request_id, VFP_ERR_UNEXPECTED,
                              "%s is not a request; the admin socket answers "
                              "REQUEST only",
                              vfp_id_name(msg->id));
    s_answer_t answer = {.status = VFP_OK};
    s_dispatch(self, &msg->u.request, &answer);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = msg->version;
    reply->request_id = msg->request_id;
    s_reply_fill(&answer, &reply->u.reply);
    return reply;
}

/* Receives one message on the admin socket and answers it, unless the
 * client is over its budget (limits). */
static void s_serve_one(admin_t *self, zsock_t *sock, peer_limit_t *limits)
{
    zframe_t *routing_id = NULL;
    vfp_decode_error_t err;
    vfp_msg_t *msg =
        limits ? peer_limit_recv(limits, sock, &routing_id, &err, NULL)
               : vfp_recv(sock, &routing_id, &err);
    vfp_msg_t *answer = NULL;
    if (msg)
        answer = admin_handle(self, msg);
    else if (err.code != VFP_OK)
        answer = wire_decode_error_new(&err);
    if (answer && routing_id) {
        vfp_decode_error_t send_err;
        if (vfp_send(sock, routing_id, answer, &send_err) != 0)
            vfp_log_warn("cannot send an admin answer");
    }
    vfp_msg_destroy(&answer);
    vfp_msg_destroy(&msg);
    zframe_destroy(&routing_id);
}

void admin_server_actor(zsock_t *pipe, void *args)
{
    admin_server_args_t *server = args;
    zpoller_t *poller = zpoller_new(pipe, server->sock, NULL);
    assert(poller);
    /* Only $TERM ends the actor: the controller stops it after its own
     * loop has ended, and a signal must not leave a request half done. */
    zpoller_set_nonstop(poller, true);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            free(command);
            if (term)
                break;
        } else if (which == server->sock) {
            s_serve_one(server->admin, server->sock, server->limits);
        }
    }
    zpoller_destroy(&poller);
}
