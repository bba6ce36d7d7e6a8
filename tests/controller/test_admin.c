/* test_admin.c - the admin handlers on a real SQLite file read through a
 * read-only connection, without sockets: verbs, refusals and pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "test_db_file.h"
#include "test_peer.h"
#include "wire.h"

typedef struct {
    test_db_file_t file;
    db_t *db, *reader;
    sessions_t *sessions;
    admin_t *admin;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "admin");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    fx->reader = db_open_readonly(fx->file.path, &err);
    assert_non_null(fx->reader);
    fx->sessions = sessions_new();
    admin_config_t cfg = {.controller_id = "ctl-test", .heartbeat_ms = 2000};
    fx->admin = admin_new(fx->reader, fx->sessions, &cfg);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    admin_destroy(&fx->admin);
    sessions_destroy(&fx->sessions);
    db_destroy(&fx->reader);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* Registers a host with an inventory of pfs x vfs; the session table gets
 * it with a live session when connected. */
static void s_host(fixture_t *fx, const char *name, uint32_t pfs, uint32_t vfs,
                   bool connected)
{
    db_err_t err;
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", name);
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *inv = peer_inventory_new(name, 1, pfs, vfs, 0);
    assert_int_equal(
        db_inventory_replace(fx->db, name, &inv->u.inventory, 2000, &err), 0);
    vfp_msg_destroy(&inv);
    session_t *host = sessions_add(fx->sessions, name);
    if (connected) {
        zframe_t *route = zframe_new(name, strlen(name));
        sessions_attach(fx->sessions, host, route, 1, zclock_mono(), 5000);
        zframe_destroy(&route);
    }
}

/* Sends a REQUEST with params "k=v" and returns the REPLY. */
static vfp_msg_t *s_request(fixture_t *fx, const char *verb, ...)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 77;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    va_list ap;
    va_start(ap, verb);
    for (const char *kv; (kv = va_arg(ap, const char *));) {
        vfp_param_t *p = &req->u.request.params[req->u.request.param_count++];
        size_t key_len = strcspn(kv, "=");
        snprintf(p->key, sizeof(p->key), "%.*s", (int)key_len, kv);
        snprintf(p->value, sizeof(p->value), "%s", kv + key_len + 1);
    }
    va_end(ap);
    vfp_msg_t *reply = admin_handle(fx->admin, req);
    vfp_msg_destroy(&req);
    assert_non_null(reply);
    assert_int_equal(reply->id, VFP_REPLY);
    assert_int_equal(reply->request_id, 77);
    return reply;
}

/* The body of an OK reply; fails the test on any other status. */
static json_t *s_ok(vfp_msg_t *reply)
{
    if (reply->u.reply.status != VFP_OK)
        fail_msg("status %s: %s", vfp_errcode_name(reply->u.reply.status),
                 reply->u.reply.error);
    assert_true(reply->u.reply.body_len <= VFP_BODY_MAX);
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    assert_non_null(body);
    vfp_msg_destroy(&reply);
    return body;
}

static void s_status(vfp_msg_t *reply, vfp_errcode_t status, const char *text)
{
    assert_int_equal(reply->u.reply.status, status);
    assert_non_null(strstr(reply->u.reply.error, text));
    vfp_msg_destroy(&reply);
}

static void test_summary_counts_live_sessions(void **state)
{
    fixture_t *fx = *state;
    s_host(fx, "hv-1", 1, 2, true);
    s_host(fx, "hv-2", 1, 2, true);
    s_host(fx, "hv-3", 1, 2, false);
    sessions_mark_down(fx->sessions, sessions_find(fx->sessions, "hv-2"));
    json_t *body = s_ok(s_request(fx, "summary", NULL));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(body, "hosts"), "connected")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(body, "hosts"), "total")),
                     3);
    assert_string_equal(
        json_string_value(json_object_get(body, "controller_id")), "ctl-test");
    json_decref(body);

    body = s_ok(s_request(fx, "host", "name=hv-1", NULL));
    json_t *host = json_object_get(body, "host");
    assert_true(json_is_true(json_object_get(host, "connected")));
    assert_int_equal(json_array_size(json_object_get(host, "pf_list")), 1);
    assert_int_equal(json_object_size(json_object_get(host, "labels")), 0);
    json_decref(body);

    db_err_t err;
    char labels[DB_HOST_LABELS_MAX + 1];
    const db_label_t set[] = {{"rack", "r1"}, {"role", "sriov"}};
    assert_int_equal(
        db_host_labels_set(fx->db, "hv-1", set, 2, NULL, 0, labels, &err), 0);
    body = s_ok(s_request(fx, "host", "name=hv-1", NULL));
    char *text =
        json_dumps(json_object_get(json_object_get(body, "host"), "labels"),
                   JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"rack\":\"r1\",\"role\":\"sriov\"}");
    free(text);
    json_decref(body);
}

static void test_refusals(void **state)
{
    fixture_t *fx = *state;
    s_status(s_request(fx, "frobnicate", NULL), VFP_ERR_UNKNOWN_VERB,
             "unknown verb \"frobnicate\" (summary, hosts, ");
    s_status(s_request(fx, "frobnicate", NULL), VFP_ERR_UNKNOWN_VERB,
             ", vm.nic.add, vm.nic.remove)");
    s_status(s_request(fx, "hosts", "colour=blue", NULL), VFP_ERR_INVALID,
             "no parameter \"colour\"");
    s_status(s_request(fx, "hosts", "limit=0", NULL), VFP_ERR_INVALID,
             "1 to 10000");
    s_status(s_request(fx, "hosts", "limit=10001", NULL), VFP_ERR_INVALID,
             "1 to 10000");
    s_status(s_request(fx, "vfs", "after=[\"a\",\"b\"]", NULL), VFP_ERR_INVALID,
             "malformed cursor");
    s_status(s_request(fx, "pfs", "after=nonsense", NULL), VFP_ERR_INVALID,
             "malformed cursor");
    s_status(s_request(fx, "events", "after=-4", NULL), VFP_ERR_INVALID,
             "malformed cursor");
    s_status(s_request(fx, "vfs", "state=gone", NULL), VFP_ERR_INVALID,
             "unknown VF state");
    s_status(s_request(fx, "pfs", "host=nosuch", NULL), VFP_ERR_NOT_FOUND,
             "no host named \"nosuch\"");

    /* Not a REQUEST: ERROR UNEXPECTED; an ERROR: no answer at all. */
    vfp_msg_t *hello = vfp_msg_new(VFP_HELLO);
    hello->request_id = 3;
    vfp_msg_t *answer = admin_handle(fx->admin, hello);
    assert_int_equal(answer->id, VFP_ERROR);
    assert_int_equal(answer->u.error.code, VFP_ERR_UNEXPECTED);
    assert_int_equal(answer->request_id, 3);
    vfp_msg_destroy(&answer);
    vfp_msg_destroy(&hello);
    vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
    error->u.error.code = VFP_ERR_INTERNAL;
    assert_null(admin_handle(fx->admin, error));
    vfp_msg_destroy(&error);

    /* A REQUEST that does not decode: ERROR MALFORMED, its request id. */
    const uint8_t bad[] = {'V', 'F', 1, VFP_REQUEST, 0, 0, 0, 5, 0};
    vfp_decode_error_t err;
    assert_null(vfp_decode(bad, sizeof(bad), &err));
    answer = wire_decode_error_new(&err);
    assert_int_equal(answer->id, VFP_ERROR);
    assert_int_equal(answer->u.error.code, VFP_ERR_MALFORMED);
    assert_int_equal(answer->request_id, 5);
    vfp_msg_destroy(&answer);
}

/* Fetches every page of a listing; returns all rows and the page count. */
static json_t *s_all_pages(fixture_t *fx, const char *verb, const char *key,
                           const char *limit, int *pages)
{
    json_t *all = json_array();
    char after[VFP_TEXT_MAX + 8] = "";
    *pages = 0;
    while (true) {
        json_t *body = s_ok(after[0] ? s_request(fx, verb, limit, after, NULL)
                                     : s_request(fx, verb, limit, NULL));
        (*pages)++;
        json_array_extend(all, json_object_get(body, key));
        json_t *next = json_object_get(body, "next");
        if (json_is_null(next)) {
            json_decref(body);
            return all;
        }
        assert_true(json_is_string(next));
        snprintf(after, sizeof(after), "after=%s", json_string_value(next));
        json_decref(body);
    }
}

static void test_pages_cover_every_row_once(void **state)
{
    fixture_t *fx = *state;
    const char *names[] = {"hv-3", "hv-1", "hv-2", "hv-5", "hv-4"};
    for (int i = 0; i < 5; i++)
        s_host(fx, names[i], 2, 3, true);
    int pages;
    json_t *hosts = s_all_pages(fx, "hosts", "hosts", "limit=2", &pages);
    assert_int_equal(pages, 3);
    assert_int_equal(json_array_size(hosts), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(hosts, 4), "name")),
        "hv-5");
    json_decref(hosts);

    json_t *vfs = s_all_pages(fx, "vfs", "vfs", "limit=4", &pages);
    assert_int_equal(json_array_size(vfs), 30);
    assert_int_equal(pages, 8);
    json_t *pfs = s_all_pages(fx, "pfs", "pfs", "limit=3", &pages);
    assert_int_equal(json_array_size(pfs), 10);
    /* Sorted by host, PF and index, each exactly once. */
    char prev[512] = "";
    for (size_t i = 0; i < json_array_size(vfs); i++) {
        json_t *vf = json_array_get(vfs, i);
        char key[512];
        snprintf(key, sizeof(key), "%s/%s/%03lld",
                 json_string_value(json_object_get(vf, "host")),
                 json_string_value(json_object_get(vf, "pf")),
                 (long long)json_integer_value(json_object_get(vf, "index")));
        assert_true(strcmp(prev, key) < 0);
        snprintf(prev, sizeof(prev), "%s", key);
    }
    json_decref(vfs);
    json_decref(pfs);

    /* An exact fit: the last page says there is no more. */
    json_t *body = s_ok(s_request(fx, "hosts", "limit=5", NULL));
    assert_true(json_is_null(json_object_get(body, "next")));
    json_decref(body);
}

static void test_events_page_forward(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    for (int i = 0; i < 7; i++)
        assert_int_equal(
            db_event_add(fx->db, 1000 + i, "test", NULL, "e", &err), 0);
    /* Without a cursor: the newest `limit`, nothing after them. */
    json_t *body = s_ok(s_request(fx, "events", "limit=3", NULL));
    json_t *events = json_object_get(body, "events");
    assert_int_equal(json_array_size(events), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(events, 0), "id")),
        5);
    assert_true(json_is_null(json_object_get(body, "next")));
    json_decref(body);
    int pages;
    events = s_all_pages(fx, "events", "events", "limit=3", &pages);
    json_decref(events);
    body = s_ok(s_request(fx, "events", "limit=3", "after=0", NULL));
    assert_string_equal(json_string_value(json_object_get(body, "next")), "3");
    json_decref(body);
    body = s_ok(s_request(fx, "events", "limit=3", "after=6", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "events")), 1);
    assert_true(json_is_null(json_object_get(body, "next")));
    json_decref(body);
}

static void test_page_ends_before_the_body_limit(void **state)
{
    fixture_t *fx = *state;
    /* 96 PFs x 110 VFs with long notes: 10,000 rows are far more than
     * one message holds. */
    db_err_t err;
    vfp_hello_t hello = {.hostname = "big", .proto_min = 1, .proto_max = 1};
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *inv = peer_inventory_new("big", 1, 96, 110, 0);
    for (uint32_t i = 0; i < 96; i++)
        for (uint32_t k = 0; k < 110; k++)
            memset(inv->u.inventory.pfs[i].vfs[k].note, 'n', VFP_VF_NOTE_MAX);
    assert_int_equal(
        db_inventory_replace(fx->db, "big", &inv->u.inventory, 2000, &err), 0);
    vfp_msg_destroy(&inv);
    int pages;
    json_t *vfs = s_all_pages(fx, "vfs", "vfs", "limit=10000", &pages);
    assert_int_equal(json_array_size(vfs), 96 * 110);
    assert_true(pages >= 3);
    json_decref(vfs);
}

static void test_db_errors_as_protocol_codes(void **state)
{
    (void)state;
    assert_int_equal(wire_error_code(DB_ERR_INVALID, false), VFP_ERR_INVALID);
    assert_int_equal(wire_error_code(DB_ERR_RESYNC, false), VFP_ERR_RESYNC);
    assert_int_equal(wire_error_code(DB_ERR_IO, true), VFP_ERR_INTERNAL);
    assert_int_equal(wire_error_code(DB_ERR_NOT_FOUND, true),
                     VFP_ERR_NOT_FOUND);
    /* NOT_FOUND is a REPLY status only (PROTOCOL.md 8). */
    assert_int_equal(wire_error_code(DB_ERR_NOT_FOUND, false),
                     VFP_ERR_INTERNAL);
    /* A name, VF or MAC already taken is a CONFLICT, a REPLY status too. */
    assert_int_equal(wire_error_code(DB_ERR_EXISTS, true), VFP_ERR_CONFLICT);
    assert_int_equal(wire_error_code(DB_ERR_EXISTS, false), VFP_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_summary_counts_live_sessions,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pages_cover_every_row_once,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_events_page_forward, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_page_ends_before_the_body_limit,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_db_errors_as_protocol_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
