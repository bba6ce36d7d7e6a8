/* admin.c - the admin API: REQUEST verbs answered with JSON REPLY bodies
 * (shapes in ADMIN.md), read straight from the inventory database. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller_int.h"
#include "vfp_log.h"
#include "vfp_transport.h"

#define S_EVENTS_LIMIT_DEFAULT 1000
#define S_EVENTS_LIMIT_MAX 100000

/* An answer under construction: a JSON body, or a status and text. */
typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
} s_answer_t;

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
    if (err->code == DB_ERR_NOT_FOUND) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "%s", err->text);
    } else {
        vfp_log_error("admin query failed: %s", err->text);
        s_fail(answer, VFP_ERR_INTERNAL, "database error: %s", err->text);
    }
}

/* Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds;
 * JSON null for 0 (never). */
static json_t *s_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[80];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
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

static json_t *s_host_json(controller_t *self, const db_host_row_t *row)
{
    json_t *reasons = json_array();
    char copy[sizeof(row->iommu_reasons)];
    snprintf(copy, sizeof(copy), "%s", row->iommu_reasons);
    char *save = NULL;
    for (char *r = strtok_r(copy, "\n", &save); r;
         r = strtok_r(NULL, "\n", &save))
        json_array_append_new(reasons, json_string(r));
    host_session_t *session = zhashx_lookup(self->hosts, row->name);
    /* The session's time is newer than the db's between flushes. */
    int64_t last_seen = row->last_seen_ms;
    if (session && session->last_seen_ms > last_seen)
        last_seen = session->last_seen_ms;
    return json_pack(
        "{s:s, s:s, s:b, s:b, s:o, s:o, s:I, s:s, s:s, s:i, s:s, s:s,"
        " s:{s:b, s:I, s:I, s:s, s:o}, s:{s:I, s:I}, s:I, s:I, s:I}",
        "name", row->name, "state", row->state, "cordoned", row->cordoned,
        "connected", session && session->routing_id, "first_seen",
        s_time(row->first_seen_ms), "last_seen", s_time(last_seen),
        "generation", (json_int_t)row->generation, "agent_version",
        row->agent_version, "boot_id", row->boot_id, "proto_version",
        row->proto_version, "kernel", row->kernel, "cpu_virt", row->cpu_virt,
        "iommu", "ready", row->iommu_ready, "units",
        (json_int_t)row->iommu_units, "groups", (json_int_t)row->iommu_groups,
        "cmdline", row->iommu_cmdline, "reasons", reasons, "memory", "total_kb",
        (json_int_t)row->mem_total_kb, "available_kb",
        (json_int_t)row->mem_available_kb, "pfs", (json_int_t)row->pf_count,
        "vfs", (json_int_t)row->vf_count, "vfs_free", (json_int_t)row->vf_free);
}

static json_t *s_pf_json(const db_pf_row_t *row)
{
    char vendor[8], device[8];
    snprintf(vendor, sizeof(vendor), "%04x", row->vendor_id);
    snprintf(device, sizeof(device), "%04x", row->device_id);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:b, s:i, s:i, s:I,"
        " s:I, s:s, s:s}",
        "host", row->host, "pci_addr", row->pci_addr, "ifname", row->ifname,
        "driver", row->driver, "vf_driver", row->vf_driver, "vendor_id", vendor,
        "device_id", device, "numa_node", row->numa_node, "link_speed",
        (json_int_t)row->link_speed, "link_up", row->link_up, "total_vfs",
        row->total_vfs, "num_vfs", row->num_vfs, "vfs",
        (json_int_t)row->vf_count, "vfs_free", (json_int_t)row->vf_free,
        "state", row->state, "note", row->note);
}

static json_t *s_vf_json(const db_vf_row_t *row)
{
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:s, s:s, s:i, s:i, s:i, s:s,"
        " s:s, s:s, s:I, s:I, s:b, s:b, s:s, s:o, s:s}",
        "host", row->host, "pf", row->pf, "pf_ifname", row->pf_ifname, "index",
        row->index, "pci_addr", row->pci_addr, "iommu_group", row->iommu_group,
        "iommu_isolated", row->iommu_isolated, "driver", row->driver, "mac",
        row->mac, "vlan", row->vlan, "qos", row->qos, "vlan_proto",
        row->vlan_proto, "spoofchk", vfp_flag_name(row->spoofchk), "trust",
        vfp_flag_name(row->trust), "link_state",
        vfp_link_state_name(row->link_state), "min_tx_rate",
        (json_int_t)row->min_tx_rate, "max_tx_rate",
        (json_int_t)row->max_tx_rate, "settings_known", row->settings_known,
        "in_use", row->in_use, "state", row->state, "vm",
        row->vm[0] ? json_string(row->vm) : json_null(), "note", row->note);
}

typedef struct {
    controller_t *self;
    json_t *array;
} s_list_t;

static int s_host_append(const db_host_row_t *row, void *arg)
{
    s_list_t *list = arg;
    json_array_append_new(list->array, s_host_json(list->self, row));
    return 0;
}

static int s_pf_append(const db_pf_row_t *row, void *arg)
{
    json_array_append_new(((s_list_t *)arg)->array, s_pf_json(row));
    return 0;
}

static int s_vf_append(const db_vf_row_t *row, void *arg)
{
    json_array_append_new(((s_list_t *)arg)->array, s_vf_json(row));
    return 0;
}

static int s_hugepages_append(const db_hugepages_row_t *row, void *arg)
{
    json_array_append_new(((s_list_t *)arg)->array,
                          json_pack("{s:I, s:I, s:I}", "size_kb",
                                    (json_int_t)row->size_kb, "total",
                                    (json_int_t)row->total, "free",
                                    (json_int_t)row->free));
    return 0;
}

static int s_event_append(const db_event_row_t *row, void *arg)
{
    json_array_append_new(
        ((s_list_t *)arg)->array,
        json_pack("{s:I, s:o, s:s, s:o, s:s}", "id", (json_int_t)row->id, "at",
                  s_time(row->at_ms), "kind", row->kind, "host",
                  row->host[0] ? json_string(row->host) : json_null(),
                  "message", row->message));
    return 0;
}

/* Checks that a host exists, so filters by an unknown host say so instead
 * of answering with an empty list. */
static int s_host_exists(controller_t *self, const char *name,
                         s_answer_t *answer)
{
    db_host_row_t row;
    db_err_t err;
    if (db_host_get(self->db, name, &row, &err) != 0) {
        s_fail_db(answer, &err);
        return -1;
    }
    return 0;
}

static void s_verb_summary(controller_t *self, const vfp_request_t *req,
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
        "controller_id", self->controller_id, "version", VFLEET_VERSION,
        "schema_version", db_schema_version(self->db), "started",
        s_time(self->started_ms), "heartbeat_ms",
        (json_int_t)self->cfg.heartbeat_ms, "hosts", "total",
        (json_int_t)sum.hosts, "ready", (json_int_t)sum.hosts_ready, "down",
        (json_int_t)sum.hosts_down, "connected",
        (json_int_t)agents_connected(self), "pfs", (json_int_t)sum.pfs, "vfs",
        "total", (json_int_t)sum.vfs, "free", (json_int_t)sum.vfs_free,
        "reserved", (json_int_t)sum.vfs_reserved, "assigned",
        (json_int_t)sum.vfs_assigned, "broken", (json_int_t)sum.vfs_broken,
        "missing", (json_int_t)sum.vfs_missing, "vms", (json_int_t)sum.vms);
}

static void s_verb_hosts(controller_t *self, const vfp_request_t *req,
                         s_answer_t *answer)
{
    static const char *const allowed[] = {NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    s_list_t list = {self, json_array()};
    db_err_t err;
    if (db_hosts_list(self->db, s_host_append, &list, &err) != 0) {
        json_decref(list.array);
        s_fail_db(answer, &err);
        return;
    }
    answer->body = json_pack("{s:o}", "hosts", list.array);
}

static void s_verb_host(controller_t *self, const vfp_request_t *req,
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
    json_t *host = s_host_json(self, &row);
    s_list_t pools = {self, json_array()};
    s_list_t pfs = {self, json_array()};
    if (db_host_hugepages(self->db, name, s_hugepages_append, &pools, &err) !=
            0 ||
        db_pfs_list(self->db, name, s_pf_append, &pfs, &err) != 0) {
        json_decref(host);
        json_decref(pools.array);
        json_decref(pfs.array);
        s_fail_db(answer, &err);
        return;
    }
    json_object_set_new(host, "hugepages", pools.array);
    json_object_set_new(host, "pf_list", pfs.array);
    answer->body = json_pack("{s:o}", "host", host);
}

static void s_verb_pfs(controller_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    static const char *const allowed[] = {"host", NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    const char *host = s_param(req, "host");
    if (host && s_host_exists(self, host, answer) != 0)
        return;
    s_list_t list = {self, json_array()};
    db_err_t err;
    if (db_pfs_list(self->db, host, s_pf_append, &list, &err) != 0) {
        json_decref(list.array);
        s_fail_db(answer, &err);
        return;
    }
    answer->body = json_pack("{s:o}", "pfs", list.array);
}

static void s_verb_vfs(controller_t *self, const vfp_request_t *req,
                       s_answer_t *answer)
{
    static const char *const allowed[] = {"host", "pf", "state", NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    db_vf_filter_t filter = {.host = s_param(req, "host"),
                             .pf = s_param(req, "pf"),
                             .state = s_param(req, "state")};
    if (filter.state && !db_vf_state_valid(filter.state)) {
        s_fail(answer, VFP_ERR_INVALID,
               "unknown VF state \"%s\" (free, reserved, assigned, broken, "
               "missing)",
               filter.state);
        return;
    }
    if (filter.host && s_host_exists(self, filter.host, answer) != 0)
        return;
    s_list_t list = {self, json_array()};
    db_err_t err;
    if (db_vfs_list(self->db, &filter, s_vf_append, &list, &err) != 0) {
        json_decref(list.array);
        s_fail_db(answer, &err);
        return;
    }
    answer->body = json_pack("{s:o}", "vfs", list.array);
}

static void s_verb_events(controller_t *self, const vfp_request_t *req,
                          s_answer_t *answer)
{
    static const char *const allowed[] = {"since", "limit", NULL};
    if (s_params_allowed(req, allowed, answer) != 0)
        return;
    int64_t since = 0, limit = S_EVENTS_LIMIT_DEFAULT;
    const char *text = s_param(req, "since");
    if (text && s_parse_int(text, 0, INT64_MAX / 1000, &since) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "since \"%s\" is not a Unix time in seconds", text);
        return;
    }
    text = s_param(req, "limit");
    if (text && s_parse_int(text, 1, S_EVENTS_LIMIT_MAX, &limit) != 0) {
        s_fail(answer, VFP_ERR_INVALID,
               "limit \"%s\" is not a number from 1 to %d", text,
               S_EVENTS_LIMIT_MAX);
        return;
    }
    s_list_t list = {self, json_array()};
    db_err_t err;
    if (db_events_list(self->db, since * 1000, limit, s_event_append, &list,
                       &err) != 0) {
        json_decref(list.array);
        s_fail_db(answer, &err);
        return;
    }
    answer->body = json_pack("{s:o}", "events", list.array);
}

static const struct {
    const char *verb;
    void (*fn)(controller_t *, const vfp_request_t *, s_answer_t *);
} s_verbs[] = {
    {"summary", s_verb_summary}, {"hosts", s_verb_hosts},
    {"host", s_verb_host},       {"pfs", s_verb_pfs},
    {"vfs", s_verb_vfs},         {"events", s_verb_events},
};

static void s_answer(controller_t *self, const vfp_msg_t *msg, vfp_msg_t *reply)
{
    s_answer_t answer = {.status = VFP_OK};
    if (msg->id != VFP_REQUEST) {
        s_fail(&answer, VFP_ERR_UNEXPECTED,
               "%s is not a request; the admin socket answers REQUEST only",
               vfp_id_name(msg->id));
    } else {
        size_t i, n = sizeof(s_verbs) / sizeof(s_verbs[0]);
        for (i = 0; i < n; i++) {
            if (strcmp(s_verbs[i].verb, msg->u.request.verb) == 0) {
                s_verbs[i].fn(self, &msg->u.request, &answer);
                break;
            }
        }
        if (i == n)
            s_fail(&answer, VFP_ERR_UNKNOWN_VERB,
                   "unknown verb \"%s\" (summary, hosts, host, pfs, vfs, "
                   "events)",
                   msg->u.request.verb);
    }
    if (answer.status == VFP_OK) {
        char *text = json_dumps(answer.body, JSON_COMPACT);
        assert(text);
        size_t len = strlen(text);
        if (len > VFP_BODY_MAX) {
            free(text);
            s_fail(&answer, VFP_ERR_INVALID,
                   "the answer is %zu bytes, more than the protocol's %u; "
                   "narrow it with a filter",
                   len, VFP_BODY_MAX);
        } else {
            reply->u.reply.body = text;
            reply->u.reply.body_len = (uint32_t)len;
        }
    }
    json_decref(answer.body);
    reply->u.reply.status = (uint16_t)answer.status;
    if (answer.status != VFP_OK)
        snprintf(reply->u.reply.error, sizeof(reply->u.reply.error), "%s",
                 answer.error);
}

int admin_on_message(zloop_t *loop, zsock_t *sock, void *arg)
{
    controller_t *self = arg;
    zframe_t *routing_id = NULL;
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_recv(sock, &routing_id, &err);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    if (msg) {
        reply->request_id = msg->request_id;
        s_answer(self, msg, reply);
    } else if (err.code != VFP_OK) {
        reply->u.reply.status = (uint16_t)err.code;
        snprintf(reply->u.reply.error, sizeof(reply->u.reply.error),
                 "malformed request: %s: %s", err.field, err.text);
    }
    if (routing_id && (msg || err.code != VFP_OK)) {
        vfp_decode_error_t send_err;
        if (vfp_send(sock, routing_id, reply, &send_err) != 0)
            vfp_log_warn("cannot send an admin reply");
    }
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&msg);
    zframe_destroy(&routing_id);
    return 0;
}
