/* fake_admin.c - vfleet-fake-admin: a stand-in for the controller's admin
 * API (controller/ADMIN.md) that vfleetctl's tests can steer: synthetic
 * listings served in pages with opaque "next" cursors, a log of every
 * request's parameters, hostile text, or no answer at all.
 *
 * usage: vfleet-fake-admin --endpoint EP [--rows N] [--page N] [--silent]
 *          [--hostile] [--stuck] [--log FILE] [--ready FILE]
 *
 * --rows    rows in every listing (default 10)
 * --page    rows per page when the request has no limit (default 3)
 * --silent  read requests and never answer
 * --hostile host names and event messages hold ESC, BEL, CSI and newlines
 * --stuck   every page's next cursor is "stuck", whatever came before
 * --log     append "VERB key=value ..." per request, in the order received
 * --ready   written once the socket is bound: the endpoint bound, so
 *           "tcp://127.0.0.1:*" tells the port the kernel chose
 * Runs until SIGTERM. */
#include <czmq.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_transport.h"

typedef struct {
    const char *endpoint;
    int rows, page;
    bool silent, hostile, stuck;
    const char *log, *ready;
} s_opts_t;

static s_opts_t s_opts = {.rows = 10, .page = 3};

typedef struct {
    uint16_t status;
    char error[256];
    json_t *body;
} s_answer_t;

static const char *s_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

static void s_fail(s_answer_t *answer, uint16_t status, const char *text)
{
    answer->status = status;
    snprintf(answer->error, sizeof(answer->error), "%s", text);
}

/* Cursors hold a space, a slash and base64 padding so that a client that
 * does not pass them back byte for byte is caught. */
static void s_cursor(int index, char *buf, size_t size)
{
    snprintf(buf, size, "pos %d/+=", index);
}

static json_t *s_row(const char *verb, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "host-%02d", i);
    if (strcmp(verb, "hosts") == 0)
        return json_pack(
            "{s:s, s:s, s:s, s:i, s:i, s:i, s:{s:b}, s:s, s:s}", "name",
            s_opts.hostile && i == 1 ? "evil\x1b[31m\nhost" : name, "state",
            "ready", "last_seen", "2026-11-25T08:38:40.123Z", "pfs", 1, "vfs",
            4, "vfs_free", 4, "iommu", "ready", 1, "cpu_virt", "vmx",
            "agent_version", "0.1.0");
    if (strcmp(verb, "pfs") == 0)
        return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "host", name,
                         "pci_addr", "0000:05:00.0", "ifname", "ens2f0",
                         "num_vfs", 4, "total_vfs", 8, "state", "present");
    if (strcmp(verb, "vfs") == 0)
        return json_pack("{s:s, s:s, s:i, s:s, s:s}", "host", "host-00", "pf",
                         "0000:05:00.0", "index", i, "state", "free", "mac",
                         "02:00:00:00:00:01");
    char message[64];
    snprintf(message, sizeof(message), "event %d", i);
    return json_pack(
        "{s:i, s:s, s:s, s:s, s:s}", "id", i + 1, "at",
        "2026-11-25T08:41:18.086Z", "kind", "host-up", "host", name, "message",
        s_opts.hostile && i == 0 ? "bell\x07 title\x1b]0;pwned\x07 csi\xc2\x9b"
                                   "31m\nsecond line"
                                 : message);
}

/* Where a page starts: 0 without a cursor, after the named row with one;
 * -1 for a cursor this server never handed out. */
static int s_page_start(const char *verb, const char *after, int limit)
{
    if (!after)
        /* events without a cursor: the newest page (ADMIN.md). */
        return strcmp(verb, "events") == 0 && s_opts.rows > limit
                   ? s_opts.rows - limit
                   : 0;
    if ((strcmp(verb, "events") == 0 && strcmp(after, "0") == 0) ||
        (s_opts.stuck && strcmp(after, "stuck") == 0))
        return 0;
    for (int i = 0; i < s_opts.rows; i++) {
        char cursor[64];
        s_cursor(i, cursor, sizeof(cursor));
        if (strcmp(after, cursor) == 0)
            return i + 1;
    }
    return -1;
}

static void s_listing(const vfp_request_t *req, s_answer_t *answer)
{
    const char *text = s_param(req, "limit");
    int limit = text ? atoi(text) : s_opts.page;
    if (limit < 1 || limit > 10000) {
        s_fail(answer, VFP_ERR_INVALID, "limit is not 1 to 10000");
        return;
    }
    const char *after = s_param(req, "after");
    int start = s_page_start(req->verb, after, limit);
    if (start < 0) {
        s_fail(answer, VFP_ERR_INVALID, "malformed cursor");
        return;
    }
    json_t *rows = json_array();
    int i;
    for (i = start; i < s_opts.rows && i < start + limit; i++)
        json_array_append_new(rows, s_row(req->verb, i));
    char cursor[64];
    s_cursor(i - 1, cursor, sizeof(cursor));
    if (s_opts.stuck)
        snprintf(cursor, sizeof(cursor), "stuck");
    /* events without a cursor answer the newest page only. */
    bool newest = !after && strcmp(req->verb, "events") == 0;
    bool more = i < s_opts.rows && !newest;
    answer->body = json_pack("{s:o, s:o}", req->verb, rows, "next",
                             more ? json_string(cursor) : json_null());
}

static void s_summary(const vfp_request_t *req, s_answer_t *answer)
{
    (void)req;
    answer->body = json_pack(
        "{s:s, s:s, s:i, s:s, s:i, s:{s:i, s:i, s:i, s:i}, s:i,"
        " s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:i}",
        "controller_id", "ctl-01", "version", "0.1.0", "schema_version", 2,
        "started", "2026-11-25T08:38:40.123Z", "heartbeat_ms", 2000, "hosts",
        "total", 3, "ready", 2, "down", 1, "connected", 2, "pfs", 6, "vfs",
        "total", 192, "free", 190, "reserved", 0, "assigned", 1, "broken", 0,
        "missing", 1, "vms", 1);
}

static void s_host(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    if (!name || strncmp(name, "host-", 5) != 0) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no host named that");
        return;
    }
    json_t *host = s_row("hosts", 0);
    json_object_set_new(host, "name", json_string(name));
    json_object_set_new(host, "hugepages", json_array());
    json_object_set_new(host, "pf_list", json_pack("[o]", s_row("pfs", 0)));
    answer->body = json_pack("{s:o}", "host", host);
}

static const struct {
    const char *verb;
    const char *params[6];
    void (*fn)(const vfp_request_t *, s_answer_t *);
} s_verbs[] = {
    {"summary", {NULL}, s_summary},
    {"host", {"name", NULL}, s_host},
    {"hosts", {"limit", "after", NULL}, s_listing},
    {"pfs", {"host", "limit", "after", NULL}, s_listing},
    {"vfs", {"host", "pf", "state", "limit", "after", NULL}, s_listing},
    {"events", {"since", "limit", "after", NULL}, s_listing},
};

/* Like the controller: unknown verbs and parameters are refused. */
static void s_answer(const vfp_request_t *req, s_answer_t *answer)
{
    for (size_t v = 0; v < sizeof(s_verbs) / sizeof(s_verbs[0]); v++) {
        if (strcmp(s_verbs[v].verb, req->verb) != 0)
            continue;
        for (uint32_t i = 0; i < req->param_count; i++) {
            bool known = false;
            for (const char *const *p = s_verbs[v].params; *p; p++)
                known = known || strcmp(*p, req->params[i].key) == 0;
            if (!known) {
                s_fail(answer, VFP_ERR_INVALID, "unknown parameter");
                return;
            }
        }
        s_verbs[v].fn(req, answer);
        return;
    }
    s_fail(answer, VFP_ERR_UNKNOWN_VERB, "unknown verb");
}

static void s_log(const vfp_request_t *req)
{
    if (!s_opts.log)
        return;
    FILE *f = fopen(s_opts.log, "a");
    assert(f);
    fputs(req->verb, f);
    for (uint32_t i = 0; i < req->param_count; i++)
        fprintf(f, " %s=%s", req->params[i].key, req->params[i].value);
    fputc('\n', f);
    fclose(f);
}

static void s_serve(zsock_t *sock, zframe_t *routing_id, vfp_msg_t *msg)
{
    s_answer_t answer = {.status = VFP_OK};
    s_answer(&msg->u.request, &answer);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->request_id = msg->request_id;
    reply->u.reply.status = answer.status;
    snprintf(reply->u.reply.error, sizeof(reply->u.reply.error), "%s",
             answer.error);
    if (answer.body) {
        reply->u.reply.body = json_dumps(answer.body, JSON_COMPACT);
        reply->u.reply.body_len = (uint32_t)strlen(reply->u.reply.body);
        json_decref(answer.body);
    }
    vfp_decode_error_t err;
    if (vfp_send(sock, routing_id, reply, &err) != 0)
        fprintf(stderr, "fake-admin: cannot send: %s %s\n", err.field,
                err.text);
    vfp_msg_destroy(&reply);
}

static void s_parse(int argc, char **argv)
{
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"rows", required_argument, NULL, 'r'},
        {"page", required_argument, NULL, 'p'},
        {"silent", no_argument, NULL, 's'},
        {"hostile", no_argument, NULL, 'x'},
        {"stuck", no_argument, NULL, 'S'},
        {"log", required_argument, NULL, 'l'},
        {"ready", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'e':
            s_opts.endpoint = optarg;
            break;
        case 'r':
            s_opts.rows = atoi(optarg);
            break;
        case 'p':
            s_opts.page = atoi(optarg);
            break;
        case 's':
            s_opts.silent = true;
            break;
        case 'x':
            s_opts.hostile = true;
            break;
        case 'S':
            s_opts.stuck = true;
            break;
        case 'l':
            s_opts.log = optarg;
            break;
        case 'R':
            s_opts.ready = optarg;
            break;
        default:
            exit(2);
        }
    }
    if (!s_opts.endpoint || s_opts.rows < 0 || s_opts.page < 1) {
        fprintf(stderr, "usage: vfleet-fake-admin --endpoint EP [...]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    s_parse(argc, argv);
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    assert(sock);
    zsock_set_rcvtimeo(sock, 100);
    if (zsock_bind(sock, "%s", s_opts.endpoint) < 0) {
        fprintf(stderr, "fake-admin: cannot bind %s\n", s_opts.endpoint);
        return 1;
    }
    if (s_opts.ready) {
        FILE *f = fopen(s_opts.ready, "w");
        assert(f);
        fprintf(f, "%s\n", zsock_endpoint(sock));
        fclose(f);
    }
    while (!zsys_interrupted) {
        zframe_t *routing_id = NULL;
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_recv(sock, &routing_id, &err);
        if (msg && msg->id == VFP_REQUEST) {
            s_log(&msg->u.request);
            if (!s_opts.silent)
                s_serve(sock, routing_id, msg);
        }
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
    }
    zsock_destroy(&sock);
    return 0;
}
