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
#include "admin_policy.h"
#include "admin_request.h"
#include "keyset.h"
#include "stats.h"
#include "vfp_keys.h"
#include "vfp_log.h"
#include "vfp_transport.h"
#include "vm_read.h"
#include "wire.h"

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
    answer->status = admin_request_db_error(err, "admin query", answer->error,
                                            sizeof(answer->error));
}

/* Refuses parameters the verb does not know (admin_request_unknown). */
static int s_params_allowed(const vfp_request_t *req,
                            const char *const *allowed, s_answer_t *answer)
{
    const char *unknown = admin_request_unknown(req, allowed);
    if (unknown)
        s_fail(answer, VFP_ERR_INVALID, "verb \"%s\" has no parameter \"%s\"",
               req->verb, unknown);
    return unknown ? -1 : 0;
}

/* Reads the page size (`limit`) of a listing. */
static int s_page_start(s_page_t *page, admin_t *self, const vfp_request_t *req,
                        s_answer_t *answer)
{
    memset(page, 0, sizeof(*page));
    page->self = self;
    if (admin_request_limit(req, VFP_PAGE_LIMIT_DEFAULT, &page->limit,
                            answer->error, sizeof(answer->error)) != 0) {
        answer->status = VFP_ERR_INVALID;
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
    const char *after = admin_request_param(req, "after");
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
        " s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:I, s:I}}",
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
        "vms", (json_int_t)sum.vms, "vm_states", "reserved",
        (json_int_t)sum.vms_reserved, "placed", (json_int_t)sum.vms_placed,
        "failed", (json_int_t)sum.vms_failed, "host_down",
        (json_int_t)sum.vms_host_down);
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
    const char *name = admin_request_param(req, "name");
    if (!name || !*name) {
        s_fail(answer, VFP_ERR_INVALID,
               "verb \"host\" needs parameter \"name\"");
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
    char labels[DB_HOST_LABELS_MAX + 1];
    if (db_host_labels_get(self->db, name, labels, &err) != 0) {
        json_decref(pools);
        json_decref(pfs);
        s_fail_db(answer, &err);
        return;
    }
    json_t *host = s_host_json(self, &row);
    json_object_set_new(host, "labels", admin_json_labels(labels));
    json_object_set_new(host, "hugepages", pools);
    json_object_set_new(host, "pf_list", pfs);
    answer->body = json_pack("{s:o}", "host", host);
}

static void s_verb_pfs(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    static const char *const allowed[] = {"host", "limit", "after", NULL};
    const char *host = admin_request_param(req, "host");
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
    filter->host = admin_request_param(req, "host");
    filter->pf = admin_request_param(req, "pf");
    const char *state = admin_request_param(req, "state");
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
    const char *text = admin_request_param(req, "since");
    const char *cursor = admin_request_param(req, "after");
    if (text && admin_request_int(text, 0, INT64_MAX / 1000, &since) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "since \"%s\" is not a Unix time in seconds", text);
    } else if (cursor && admin_request_int(cursor, 0, INT64_MAX, &after) != 0) {
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

/* Runs a verb of admin_policy.c. */
static void s_verb_policy(admin_t *self, const vfp_request_t *req,
                          s_answer_t *answer, admin_policy_verb_fn *fn)
{
    admin_policy_answer_t out = {.status = VFP_OK};
    fn(self->db, self->sessions, req, zclock_time(), &out);
    answer->status = out.status;
    snprintf(answer->error, sizeof(answer->error), "%s", out.error);
    answer->body = out.body;
}

static void s_verb_policy_status(admin_t *self, const vfp_request_t *req,
                                 s_answer_t *answer)
{
    s_verb_policy(self, req, answer, admin_policy_status);
}

static void s_verb_policy_history(admin_t *self, const vfp_request_t *req,
                                  s_answer_t *answer)
{
    s_verb_policy(self, req, answer, admin_policy_history);
}

static void s_verb_policy_get(admin_t *self, const vfp_request_t *req,
                              s_answer_t *answer)
{
    s_verb_policy(self, req, answer, admin_policy_get);
}

static void s_verb_drift(admin_t *self, const vfp_request_t *req,
                         s_answer_t *answer)
{
    s_verb_policy(self, req, answer, admin_policy_drift);
}

static void s_verb_vms(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    s_verb_policy(self, req, answer, vm_read_list);
}

static void s_verb_vm_show(admin_t *self, const vfp_request_t *req,
                           s_answer_t *answer)
{
    s_verb_policy(self, req, answer, vm_read_show);
}

static void s_verb_vm_migrate(admin_t *self, const vfp_request_t *req,
                              s_answer_t *answer)
{
    s_verb_policy(self, req, answer, vm_read_migrate);
}

typedef void s_verb_fn(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer);

/* Every verb, its class (admin_verb_class_t: what a read-only key may
 * run) and its handler here; NULL runs it on the controller's main
 * thread. vm.migrate asks for a change, refused as it always is; plan
 * writes nothing, but runs where placements are decided. */
static const struct {
    const char *verb;
    admin_verb_class_t class;
    s_verb_fn *fn;
} s_verbs[] = {
    {"summary", ADMIN_VERB_READS, s_verb_summary},
    {"hosts", ADMIN_VERB_READS, s_verb_hosts},
    {"host", ADMIN_VERB_READS, s_verb_host},
    {"pfs", ADMIN_VERB_READS, s_verb_pfs},
    {"vfs", ADMIN_VERB_READS, s_verb_vfs},
    {"events", ADMIN_VERB_READS, s_verb_events},
    {"policy.status", ADMIN_VERB_READS, s_verb_policy_status},
    {"policy.history", ADMIN_VERB_READS, s_verb_policy_history},
    {"policy.get", ADMIN_VERB_READS, s_verb_policy_get},
    {"drift", ADMIN_VERB_READS, s_verb_drift},
    {"vms", ADMIN_VERB_READS, s_verb_vms},
    {"vm.show", ADMIN_VERB_READS, s_verb_vm_show},
    {"vm.migrate", ADMIN_VERB_CHANGES, s_verb_vm_migrate},
    {"plan", ADMIN_VERB_READS, NULL},
    {"policy.apply", ADMIN_VERB_CHANGES, NULL},
    {"policy.rollback", ADMIN_VERB_CHANGES, NULL},
    {"host.label", ADMIN_VERB_CHANGES, NULL},
    {"host.cordon", ADMIN_VERB_CHANGES, NULL},
    {"host.uncordon", ADMIN_VERB_CHANGES, NULL},
    {"host.drain", ADMIN_VERB_CHANGES, NULL},
    {"vm.create", ADMIN_VERB_CHANGES, NULL},
    {"vm.create.batch", ADMIN_VERB_CHANGES, NULL},
    {"vm.delete", ADMIN_VERB_CHANGES, NULL},
    {"vm.power", ADMIN_VERB_CHANGES, NULL},
    {"vm.evacuate", ADMIN_VERB_CHANGES, NULL},
    {"vm.nic.add", ADMIN_VERB_CHANGES, NULL},
    {"vm.nic.remove", ADMIN_VERB_CHANGES, NULL},
};

#define S_VERB_COUNT (sizeof(s_verbs) / sizeof(s_verbs[0]))

/* The table row of a verb, or -1. */
static int s_verb_find(const char *verb)
{
    for (size_t i = 0; i < S_VERB_COUNT; i++)
        if (strcmp(s_verbs[i].verb, verb) == 0)
            return (int)i;
    return -1;
}

int admin_verb_class(const char *verb, admin_verb_class_t *class_p)
{
    int i = s_verb_find(verb);
    if (i < 0)
        return -1;
    *class_p = s_verbs[i].class;
    return 0;
}

bool admin_verb_on_main(const char *verb)
{
    int i = s_verb_find(verb);
    return i >= 0 && !s_verbs[i].fn;
}

const char *admin_verb_name(size_t i)
{
    return i < S_VERB_COUNT ? s_verbs[i].verb : NULL;
}

vfp_errcode_t admin_access(const char *role, const char *name, bool keyed,
                           const char *verb, char *error, size_t size)
{
    admin_verb_class_t class = ADMIN_VERB_READS;
    bool known = admin_verb_class(verb, &class) == 0;
    const char *who = name && *name ? name : "(no name)";
    if (!keyed || (role && strcmp(role, VFP_KEYS_ROLE_ADMIN) == 0))
        return VFP_OK;
    if (role && strcmp(role, VFP_KEYS_ROLE_READ_ONLY) == 0) {
        if (!known || class == ADMIN_VERB_READS)
            return VFP_OK;
        snprintf(error, size,
                 "admin key %.64s is read-only: %s changes the "
                 "cluster",
                 who, verb);
    } else if (role && strcmp(role, VFP_KEYS_ROLE_HOST) == 0) {
        snprintf(error, size,
                 "key %.64s is a host's key: the admin API "
                 "takes admin keys only (%s refused)",
                 who, verb);
    } else {
        snprintf(error, size,
                 "key %.64s has %s%.64s%s: the admin API takes "
                 "roles admin and read-only only (%s refused)",
                 who, role ? "role \"" : "no role", role ? role : "",
                 role ? "\"" : "", verb);
    }
    return VFP_ERR_DENIED;
}

static void s_dispatch(admin_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    int i = s_verb_find(req->verb);
    if (i >= 0 && s_verbs[i].fn) {
        s_verbs[i].fn(self, req, answer);
    } else if (i >= 0) {
        s_fail(answer, VFP_ERR_INTERNAL,
               "verb \"%s\" writes and runs on the controller's main "
               "thread, which this handler does not reach",
               req->verb);
    } else {
        char known[VFP_TEXT_MAX / 2] = "";
        for (size_t k = 0; k < S_VERB_COUNT; k++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known),
                     "%s%s", k ? ", " : "", s_verbs[k].verb);
        s_fail(answer, VFP_ERR_UNKNOWN_VERB, "unknown verb \"%s\" (%s)",
               req->verb, known);
    }
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
    uint64_t started = stats_clock_ns();
    s_answer_t answer = {.status = VFP_OK};
    s_dispatch(self, &msg->u.request, &answer);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = msg->version;
    reply->request_id = msg->request_id;
    s_reply_fill(&answer, &reply->u.reply);
    stats_admin_request(msg->u.request.verb, started);
    return reply;
}

/* The actor's state: its sockets, and how many write requests wait for
 * the main thread. */
typedef struct {
    admin_t *admin;
    zsock_t *sock;
    zsock_t *pipe;
    peer_limit_t *limits; /* per-client budgets, or NULL */
    keyset_t *keys;       /* the authorised keys (CURVE), or NULL */
    int writes_queued;
} s_server_t;

static void s_send(zsock_t *sock, zframe_t *routing_id, const vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    if (vfp_send(sock, routing_id, msg, &err) != 0) {
        int errnum = errno;
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot send an admin answer: %s",
                        strerror(errnum));
    }
}

/* Answers a request that was not acted on: INTERNAL, its text starting
 * VFP_BUSY_PREFIX (PROTOCOL.md 7.5), in the request's version. */
static void s_send_busy(s_server_t *server, zframe_t *routing_id,
                        uint8_t version, uint32_t request_id, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
static void s_send_busy(s_server_t *server, zframe_t *routing_id,
                        uint8_t version, uint32_t request_id, const char *fmt,
                        ...)
{
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = version;
    reply->request_id = request_id;
    reply->u.reply.status = VFP_ERR_INTERNAL;
    size_t prefix = strlen(VFP_BUSY_PREFIX);
    memcpy(reply->u.reply.error, VFP_BUSY_PREFIX, prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->u.reply.error + prefix,
              sizeof(reply->u.reply.error) - prefix, fmt, ap);
    va_end(ap);
    s_send(server->sock, routing_id, reply);
    vfp_msg_destroy(&reply);
}

/* Hands a write request to the main thread, or answers "busy" when too
 * many wait. Takes msg and routing_id. */
static void s_forward(s_server_t *server, vfp_msg_t **msg_p,
                      zframe_t **routing_id_p)
{
    vfp_msg_t *msg = *msg_p;
    if (server->writes_queued >= ADMIN_WRITES_QUEUED_MAX) {
        /* Counted before it is answered, like every request. */
        stats_admin_request(msg->u.request.verb, stats_clock_ns());
        s_send_busy(server, *routing_id_p, msg->version, msg->request_id,
                    "%d write requests queued; retry later",
                    server->writes_queued);
        vfp_msg_destroy(msg_p);
        zframe_destroy(routing_id_p);
        return;
    }
    /* Pointers within one process: the main thread owns them from here. */
    zsock_send(server->pipe, "spp", "WRITE", *routing_id_p, msg);
    *msg_p = NULL;
    *routing_id_p = NULL;
    server->writes_queued++;
}

/* A REQUEST over its client's budget is not decoded or acted on, but
 * told so, so that the client can wait and send it again (vfleetctl
 * does) instead of waiting out its timeout. Anything else over budget is
 * dropped unanswered, as on the agents' socket. */
static void s_busy(s_server_t *server, zmsg_t *zmsg)
{
    zframe_t *routing_id = NULL;
    uint8_t version, msg_id;
    uint32_t request_id;
    if (vfp_peek_zmsg(zmsg, &routing_id, &version, &msg_id, &request_id) != 0)
        return;
    if (msg_id == VFP_REQUEST && version >= VFP_VERSION_MIN &&
        version <= VFP_VERSION)
        s_send_busy(server, routing_id, version, request_id,
                    ADMIN_BUSY_RATE_FORMAT,
                    peer_limit_msgs_per_s(server->limits),
                    peer_limit_mib_per_s(server->limits));
    zframe_destroy(&routing_id);
}

/* Receives one message on the admin socket, and what the ZAP handler said of
 * its connection (the client's key, from the message frame). NULL with
 * *over set when the client was over its budget (answered by s_busy). */
static vfp_msg_t *s_recv(s_server_t *server, zframe_t **routing_id_p,
                         vfp_keys_peer_t *key, vfp_decode_error_t *err,
                         bool *over)
{
    memset(key, 0, sizeof(*key));
    memset(err, 0, sizeof(*err));
    *routing_id_p = NULL;
    *over = false;
    zmsg_t *zmsg = zmsg_recv(server->sock);
    if (!zmsg)
        return NULL;
    if (!server->limits)
        vfp_keys_peer(zmsg_last(zmsg), key);
    else if (!peer_limit_admit_zmsg(server->limits, zmsg, key)) {
        s_busy(server, zmsg);
        zmsg_destroy(&zmsg);
        *over = true;
        return NULL;
    }
    return vfp_recv_zmsg(server->sock, &zmsg, routing_id_p, err);
}

/* Whether the client's key was revoked after the ZAP handler admitted its
 * connection: libzmq keeps an admitted connection open, so each request
 * is checked against the key directory as it is now. */
static bool s_revoked(s_server_t *server, const vfp_keys_peer_t *key,
                      char *error, size_t size)
{
    if (!server->keys || !key->keyed)
        return false;
    keyset_refresh(server->keys, zclock_mono());
    if (keyset_authorised(server->keys, key->public_z85))
        return false;
    snprintf(error, size, "admin key %s was revoked",
             key->name[0] ? key->name : key->public_z85);
    return true;
}

/* The REPLY DENIED to a request its client's key may not make (revoked,
 * or admin_access), or NULL. */
static vfp_msg_t *s_denied(s_server_t *server, const vfp_msg_t *msg,
                           const vfp_keys_peer_t *key, zframe_t *routing_id)
{
    char error[VFP_TEXT_MAX + 1];
    vfp_errcode_t status = VFP_ERR_DENIED;
    if (!s_revoked(server, key, error, sizeof(error)))
        status = admin_access(key->role[0] ? key->role : NULL,
                              key->name[0] ? key->name : NULL, key->keyed,
                              msg->u.request.verb, error, sizeof(error));
    if (status == VFP_OK)
        return NULL;
    peer_limit_warnx(server->limits, routing_id, "admin request refused: %s",
                     error);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = msg->version;
    reply->request_id = msg->request_id;
    reply->u.reply.status = status;
    snprintf(reply->u.reply.error, sizeof(reply->u.reply.error), "%s", error);
    return reply;
}

/* Receives one message on the admin socket and answers or forwards it,
 * unless the client is over its budget (limits) or its key may not make
 * the request. */
static void s_serve_one(s_server_t *server)
{
    zframe_t *routing_id = NULL;
    vfp_keys_peer_t key;
    vfp_decode_error_t err;
    bool over;
    vfp_msg_t *msg = s_recv(server, &routing_id, &key, &err, &over);
    if (over)
        return;
    bool request = msg && routing_id && msg->id == VFP_REQUEST;
    uint64_t started = stats_clock_ns();
    vfp_msg_t *answer =
        request ? s_denied(server, msg, &key, routing_id) : NULL;
    /* A refused request is answered too, and counted under its verb
     * (controller/README.md, "Metrics"). */
    if (answer)
        stats_admin_request(msg->u.request.verb, started);
    if (!answer && request && admin_verb_on_main(msg->u.request.verb))
        s_forward(server, &msg, &routing_id);
    else if (!answer && msg)
        answer = admin_handle(server->admin, msg);
    else if (!answer && err.code != VFP_OK)
        answer = wire_decode_error_new(&err);
    if (answer && routing_id)
        s_send(server->sock, routing_id, answer);
    vfp_msg_destroy(&answer);
    vfp_msg_destroy(&msg);
    zframe_destroy(&routing_id);
}

/* A command on the pipe: the main thread's answer to a write, or $TERM.
 * Returns false to stop. */
static bool s_command(s_server_t *server)
{
    char *command = NULL;
    zframe_t *routing_id = NULL;
    vfp_msg_t *reply = NULL;
    if (zsock_recv(server->pipe, "spp", &command, &routing_id, &reply) != 0)
        return false;
    bool term = !command || streq(command, "$TERM");
    if (command && streq(command, "REPLY") && routing_id && reply) {
        s_send(server->sock, routing_id, reply);
        server->writes_queued--;
    } else if (command && streq(command, "LATER") && routing_id && reply) {
        s_send(server->sock, routing_id, reply);
    } else if (command && streq(command, "PARKED")) {
        server->writes_queued--;
    }
    vfp_msg_destroy(&reply);
    zframe_destroy(&routing_id);
    free(command);
    return !term;
}

void admin_server_actor(zsock_t *pipe, void *args)
{
    admin_server_args_t *a = args;
    s_server_t server = {
        .admin = a->admin, .sock = a->sock, .pipe = pipe, .limits = a->limits};
    if (a->keys_dir)
        server.keys = keyset_new(a->keys_dir, zclock_mono());
    zpoller_t *poller = zpoller_new(pipe, server.sock, NULL);
    assert(poller);
    /* Only $TERM ends the actor: the controller stops it after its own
     * loop has ended, and a signal must not leave a request half done. */
    zpoller_set_nonstop(poller, true);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe) {
            if (!s_command(&server))
                break;
        } else if (which == server.sock) {
            s_serve_one(&server);
        }
    }
    zpoller_destroy(&poller);
    keyset_destroy(&server.keys);
}

vfp_msg_t *admin_write_recv(zsock_t *actor, zframe_t **client_p)
{
    char *command = NULL;
    zframe_t *routing_id = NULL;
    vfp_msg_t *msg = NULL;
    *client_p = NULL;
    /* Never waits: zloop runs the timers that expired between its poll
     * and its readers, and a timer's drain (s_drain_serving) may have
     * served the write the poll saw; a blocking read would then hold the
     * main loop, agents and all, until the next write came. */
    if (!(zsock_events(actor) & ZMQ_POLLIN))
        return NULL;
    if (zsock_recv(actor, "spp", &command, &routing_id, &msg) != 0)
        return NULL;
    bool write = command && streq(command, "WRITE") && routing_id && msg;
    free(command);
    if (!write) {
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
        return NULL;
    }
    *client_p = routing_id;
    return msg;
}

void admin_write_answer(zsock_t *actor, zframe_t **client_p,
                        vfp_msg_t **reply_p)
{
    zsock_send(actor, "spp", "REPLY", *client_p, *reply_p);
    *client_p = NULL;
    *reply_p = NULL;
}

void admin_write_parked(zsock_t *actor)
{
    zsock_send(actor, "spp", "PARKED", NULL, NULL);
}

void admin_write_answer_later(zsock_t *actor, zframe_t **client_p,
                              vfp_msg_t **reply_p)
{
    zsock_send(actor, "spp", "LATER", *client_p, *reply_p);
    *client_p = NULL;
    *reply_p = NULL;
}
