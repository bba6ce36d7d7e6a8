/* test_admin_policy.c - the admin API's rollout read verbs (policy.status,
 * policy.history, policy.get, drift) on a real SQLite file read through a
 * read-only connection: shapes, filters, counts, caps and pages (the
 * pages of admin_page.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "test_db_file.h"
#include "test_peer.h"

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
    test_db_file_make(&fx->file, "admin-policy");
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

/* A registered host with one PF of two VFs; in the session table with a
 * live session when connected. */
static void s_host(fixture_t *fx, const char *name, bool connected)
{
    db_err_t err;
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", name);
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *inv = peer_inventory_new(name, 1, 1, 2, 0);
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

static int64_t s_policy(fixture_t *fx, const char *message, int64_t at_ms)
{
    char sha[65];
    memset(sha, 'a', 64);
    sha[64] = '\0';
    int64_t revision;
    db_err_t err;
    assert_int_equal(db_policy_store(fx->db, "networks: {}\n", sha, message,
                                     "alice", "", at_ms, &revision, &err),
                     0);
    return revision;
}

/* A desired state (any APPLY bytes will do here), sent at sent_ms. */
static void s_desired(fixture_t *fx, const char *host, int64_t policy,
                      uint64_t revision, int64_t sent_ms)
{
    static const uint8_t apply[] = {1, 2, 3};
    db_err_t err;
    assert_int_equal(db_host_desired_set(fx->db, host, policy, revision, apply,
                                         sizeof(apply), sent_ms, &err),
                     0);
}

/* Answers revision with `ok` ok items and `failed` EINVAL vlan failures. */
static void s_result(fixture_t *fx, const char *host, uint64_t revision,
                     uint32_t ok, uint32_t failed)
{
    vfp_result_t *results = calloc(ok + failed + 1, sizeof(*results));
    assert_non_null(results);
    for (uint32_t i = 0; i < ok + failed; i++) {
        results[i].kind = VFP_ITEM_VF;
        snprintf(results[i].pf, sizeof(results[i].pf), "0000:3b:00.0");
        results[i].index = (uint16_t)i;
        snprintf(results[i].attribute, sizeof(results[i].attribute), "vlan");
        if (i >= ok) {
            results[i].err = 22;
            snprintf(results[i].message, sizeof(results[i].message),
                     "vlan %u out of range", i);
        }
    }
    db_err_t err;
    assert_int_equal(db_apply_result_record(fx->db, host, revision, results,
                                            ok + failed, 9000, &err),
                     0);
    free(results);
}

static void s_drift(fixture_t *fx, const char *host, uint32_t count)
{
    db_drift_item_t *items = calloc(count + 1, sizeof(*items));
    assert_non_null(items);
    for (uint32_t i = 0; i < count; i++) {
        snprintf(items[i].pf, sizeof(items[i].pf), "0000:3b:00.0");
        items[i].index = (uint16_t)i;
        snprintf(items[i].attribute, sizeof(items[i].attribute), "vlan");
        snprintf(items[i].wanted, sizeof(items[i].wanted), "10");
        snprintf(items[i].has, sizeof(items[i].has), "77");
    }
    db_err_t err;
    assert_int_equal(db_drift_replace(fx->db, host, items, count, 8000, &err),
                     0);
    free(items);
}

/* Sends a REQUEST with params "k=v" and returns the REPLY. */
static vfp_msg_t *s_request(fixture_t *fx, const char *verb, ...)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 9;
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
    return reply;
}

static json_t *s_ok(vfp_msg_t *reply)
{
    if (reply->u.reply.status != VFP_OK)
        fail_msg("status %s: %s", vfp_errcode_name(reply->u.reply.status),
                 reply->u.reply.error);
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    assert_non_null(body);
    vfp_msg_destroy(&reply);
    return body;
}

static void s_status(vfp_msg_t *reply, vfp_errcode_t status, const char *text)
{
    assert_int_equal(reply->u.reply.status, status);
    if (!strstr(reply->u.reply.error, text))
        fail_msg("error \"%s\" lacks \"%s\"", reply->u.reply.error, text);
    vfp_msg_destroy(&reply);
}

static json_int_t s_int(json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    assert_true(json_is_integer(value));
    return json_integer_value(value);
}

static const char *s_str(json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    assert_true(json_is_string(value));
    return json_string_value(value);
}

/* Three hosts under policy revision 1: hv-a applied (and drifted, and
 * connected), hv-b failed two of five items, hv-c still pending. */
static void s_rollout(fixture_t *fx)
{
    s_host(fx, "hv-a", true);
    s_host(fx, "hv-b", false);
    s_host(fx, "hv-c", false);
    int64_t policy = s_policy(fx, "first", 1000);
    s_desired(fx, "hv-a", policy, 1, 5000);
    s_desired(fx, "hv-b", policy, 1, 5000);
    s_desired(fx, "hv-c", policy, 1, zclock_time() - 3000);
    s_result(fx, "hv-a", 1, 4, 0);
    s_result(fx, "hv-b", 1, 3, 2);
    s_drift(fx, "hv-a", 1);
}

static void test_status_without_policy(void **state)
{
    fixture_t *fx = *state;
    json_t *body = s_ok(s_request(fx, "policy.status", NULL));
    assert_true(json_is_null(json_object_get(body, "policy")));
    json_t *counts = json_object_get(body, "counts");
    assert_int_equal(s_int(counts, "hosts"), 0);
    assert_int_equal(s_int(counts, "refused"), 0);
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    assert_true(json_is_null(json_object_get(body, "next")));
    json_decref(body);
    s_status(s_request(fx, "policy.get", NULL), VFP_ERR_NOT_FOUND,
             "no policy stored");
}

static void test_status_rows_and_counts(void **state)
{
    fixture_t *fx = *state;
    s_rollout(fx);
    json_t *body = s_ok(s_request(fx, "policy.status", NULL));
    json_t *policy = json_object_get(body, "policy");
    assert_int_equal(s_int(policy, "revision"), 1);
    assert_string_equal(s_str(policy, "message"), "first");
    assert_string_equal(s_str(policy, "author"), "alice");
    assert_string_equal(s_str(policy, "created_at"),
                        "1970-01-01T00:00:01.000Z");
    assert_null(json_object_get(policy, "text"));
    json_t *counts = json_object_get(body, "counts");
    assert_int_equal(s_int(counts, "hosts"), 3);
    assert_int_equal(s_int(counts, "ok"), 1);
    assert_int_equal(s_int(counts, "failed"), 1);
    assert_int_equal(s_int(counts, "pending"), 1);
    assert_int_equal(s_int(counts, "drifted"), 1);
    json_t *hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 3);

    json_t *a = json_array_get(hosts, 0);
    assert_string_equal(s_str(a, "host"), "hv-a");
    assert_string_equal(s_str(a, "state"), "ok");
    assert_true(json_is_true(json_object_get(a, "connected")));
    assert_int_equal(s_int(a, "applied_revision"), 1);
    assert_int_equal(s_int(a, "policy_revision"), 1);
    assert_int_equal(s_int(a, "ok_items"), 4);
    assert_int_equal(s_int(a, "pending_ms"), 0);
    assert_string_equal(s_str(a, "answered_at"), "1970-01-01T00:00:09.000Z");
    json_t *drift = json_array_get(json_object_get(a, "drift"), 0);
    assert_string_equal(s_str(drift, "wanted"), "10");
    assert_string_equal(s_str(drift, "has"), "77");
    assert_int_equal(s_int(a, "drift_more"), 0);

    json_t *b = json_array_get(hosts, 1);
    assert_string_equal(s_str(b, "state"), "failed");
    assert_false(json_is_true(json_object_get(b, "connected")));
    assert_int_equal(s_int(b, "applied_revision"), 0);
    assert_int_equal(s_int(b, "failed_items"), 2);
    json_t *failures = json_object_get(b, "failures");
    assert_int_equal(json_array_size(failures), 2);
    json_t *f = json_array_get(failures, 0);
    assert_string_equal(s_str(f, "kind"), "vf");
    assert_string_equal(s_str(f, "pf"), "0000:3b:00.0");
    assert_int_equal(s_int(f, "vf"), 3);
    assert_string_equal(s_str(f, "attribute"), "vlan");
    assert_int_equal(s_int(f, "err"), 22);
    assert_string_equal(s_str(f, "errno"), "EINVAL");
    assert_string_equal(s_str(f, "message"), "vlan 3 out of range");

    json_t *c = json_array_get(hosts, 2);
    assert_string_equal(s_str(c, "state"), "pending");
    assert_true(json_is_null(json_object_get(c, "answered_at")));
    /* Sent 3 s before the request: at least that long pending. */
    assert_true(s_int(c, "pending_ms") >= 3000);
    assert_true(s_int(c, "pending_ms") < 60000);
    json_decref(body);
}

static void test_status_filters(void **state)
{
    fixture_t *fx = *state;
    s_rollout(fx);
    json_t *body = s_ok(s_request(fx, "policy.status", "state=failed", NULL));
    json_t *hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 1);
    assert_string_equal(s_str(json_array_get(hosts, 0), "host"), "hv-b");
    /* Counts cover every host whatever the filter. */
    assert_int_equal(s_int(json_object_get(body, "counts"), "hosts"), 3);
    json_decref(body);

    body = s_ok(s_request(fx, "policy.status", "host=hv-c", NULL));
    hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 1);
    assert_string_equal(s_str(json_array_get(hosts, 0), "host"), "hv-c");
    json_decref(body);

    body = s_ok(s_request(fx, "policy.status", "host=hv-c", "state=ok", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    json_decref(body);

    body = s_ok(s_request(fx, "policy.status", "summary=true", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    assert_int_equal(s_int(json_object_get(body, "counts"), "pending"), 1);
    json_decref(body);

    body = s_ok(s_request(fx, "policy.status", "state=refused", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    json_decref(body);

    s_status(s_request(fx, "policy.status", "state=done", NULL),
             VFP_ERR_INVALID, "unknown rollout state \"done\"");
    s_status(s_request(fx, "policy.status", "summary=yes", NULL),
             VFP_ERR_INVALID, "summary \"yes\"");
    s_status(s_request(fx, "policy.status", "host=nosuch", NULL),
             VFP_ERR_NOT_FOUND, "no host named \"nosuch\"");
    s_status(s_request(fx, "policy.status", "after=hv-a", NULL),
             VFP_ERR_INVALID, "malformed cursor");
    s_status(s_request(fx, "policy.status", "colour=red", NULL),
             VFP_ERR_INVALID, "no parameter \"colour\"");
    s_status(s_request(fx, "policy.status", "limit=0", NULL), VFP_ERR_INVALID,
             "1 to 10000");
}

/* A host the rollout refused shows as refused with the reason, counts as
 * refused only, and is what state=refused lists. */
static void test_status_refused(void **state)
{
    fixture_t *fx = *state;
    s_rollout(fx);
    db_err_t err;
    assert_int_equal(db_host_refusal_set(fx->db, "hv-c", 1,
                                         "p.yaml:7:9: vf 0 is in use", 9000,
                                         &err),
                     0);
    json_t *body = s_ok(s_request(fx, "policy.status", NULL));
    json_t *counts = json_object_get(body, "counts");
    assert_int_equal(s_int(counts, "hosts"), 3);
    assert_int_equal(s_int(counts, "refused"), 1);
    assert_int_equal(s_int(counts, "pending"), 0);
    json_t *c = json_array_get(json_object_get(body, "hosts"), 2);
    assert_string_equal(s_str(c, "state"), "refused");
    assert_string_equal(s_str(c, "refused"), "p.yaml:7:9: vf 0 is in use");
    assert_int_equal(s_int(c, "pending_ms"), 0);
    json_t *a = json_array_get(json_object_get(body, "hosts"), 0);
    assert_true(json_is_null(json_object_get(a, "refused")));
    json_decref(body);

    body = s_ok(s_request(fx, "policy.status", "state=refused", NULL));
    json_t *hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 1);
    assert_string_equal(s_str(json_array_get(hosts, 0), "host"), "hv-c");
    json_decref(body);
    body = s_ok(s_request(fx, "policy.status", "state=pending", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    json_decref(body);
}

/* Follows `next` through every page of one row; returns the rows' `field`
 * values joined by spaces. */
static void s_walk(fixture_t *fx, const char *verb, const char *key,
                   const char *field, const char *extra, char *out, size_t size)
{
    char after[VFP_TEXT_MAX + 8] = "";
    out[0] = '\0';
    for (int pages = 0;; pages++) {
        assert_true(pages < 20);
        json_t *body =
            s_ok(after[0] ? s_request(fx, verb, "limit=1", after, extra, NULL)
                          : s_request(fx, verb, "limit=1", extra, NULL));
        json_t *rows = json_object_get(body, key);
        assert_true(json_array_size(rows) <= 1);
        json_t *row = json_array_get(rows, 0);
        if (row) {
            json_t *value = json_object_get(row, field);
            size_t len = strlen(out);
            if (json_is_integer(value))
                snprintf(out + len, size - len, "%s%lld", len ? " " : "",
                         (long long)json_integer_value(value));
            else
                snprintf(out + len, size - len, "%s%s", len ? " " : "",
                         json_string_value(value));
        }
        json_t *next = json_object_get(body, "next");
        if (json_is_null(next)) {
            json_decref(body);
            return;
        }
        snprintf(after, sizeof(after), "after=%s", json_string_value(next));
        json_decref(body);
    }
}

static void test_status_pages(void **state)
{
    fixture_t *fx = *state;
    s_rollout(fx);
    char seen[256];
    s_walk(fx, "policy.status", "hosts", "host", NULL, seen, sizeof(seen));
    assert_string_equal(seen, "hv-a hv-b hv-c");
    s_walk(fx, "policy.status", "hosts", "host", "state=ok", seen,
           sizeof(seen));
    assert_string_equal(seen, "hv-a");
}

/* A host with 150 failures and 120 drift items shows 100 of each and
 * counts the rest. */
static void test_status_caps_items(void **state)
{
    fixture_t *fx = *state;
    s_host(fx, "hv-x", false);
    int64_t policy = s_policy(fx, "", 1000);
    s_desired(fx, "hv-x", policy, 7, 5000);
    s_result(fx, "hv-x", 7, 1, 150);
    s_drift(fx, "hv-x", 120);
    json_t *body = s_ok(s_request(fx, "policy.status", "host=hv-x", NULL));
    json_t *row = json_array_get(json_object_get(body, "hosts"), 0);
    assert_int_equal(s_int(row, "desired_revision"), 7);
    assert_int_equal(json_array_size(json_object_get(row, "failures")), 100);
    assert_int_equal(s_int(row, "failures_more"), 50);
    assert_int_equal(json_array_size(json_object_get(row, "drift")), 100);
    assert_int_equal(s_int(row, "drift_more"), 20);
    json_decref(body);
}

static void test_history_and_get(void **state)
{
    fixture_t *fx = *state;
    s_policy(fx, "one", 1000);
    s_policy(fx, "two", 2000);
    s_policy(fx, "three", 3000);
    json_t *body = s_ok(s_request(fx, "policy.history", NULL));
    json_t *rows = json_object_get(body, "policies");
    assert_int_equal(json_array_size(rows), 3);
    assert_int_equal(s_int(json_array_get(rows, 0), "revision"), 3);
    assert_string_equal(s_str(json_array_get(rows, 2), "message"), "one");
    assert_null(json_object_get(json_array_get(rows, 0), "text"));
    assert_true(json_is_null(json_object_get(body, "next")));
    json_decref(body);

    body = s_ok(s_request(fx, "policy.history", "limit=2", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "policies")), 2);
    assert_string_equal(s_str(body, "next"), "2");
    json_decref(body);
    char seen[64];
    s_walk(fx, "policy.history", "policies", "revision", NULL, seen,
           sizeof(seen));
    assert_string_equal(seen, "3 2 1");
    s_status(s_request(fx, "policy.history", "after=x", NULL), VFP_ERR_INVALID,
             "cursor \"x\" is not a revision");

    body = s_ok(s_request(fx, "policy.get", NULL));
    assert_int_equal(s_int(body, "revision"), 3);
    assert_string_equal(s_str(body, "text"), "networks: {}\n");
    assert_string_equal(s_str(body, "commit"), "");
    json_decref(body);
    body = s_ok(s_request(fx, "policy.get", "revision=1", NULL));
    assert_string_equal(s_str(body, "message"), "one");
    json_decref(body);
    s_status(s_request(fx, "policy.get", "revision=9", NULL), VFP_ERR_NOT_FOUND,
             "no policy revision 9");
    s_status(s_request(fx, "policy.get", "revision=0", NULL), VFP_ERR_INVALID,
             "revision \"0\" is not a revision");
}

static void test_drift_listing(void **state)
{
    fixture_t *fx = *state;
    s_host(fx, "hv-a", false);
    s_host(fx, "hv-b", false);
    s_host(fx, "hv-c", false);
    s_drift(fx, "hv-a", 2);
    s_drift(fx, "hv-c", 1);
    json_t *body = s_ok(s_request(fx, "drift", NULL));
    json_t *rows = json_object_get(body, "drift");
    assert_int_equal(json_array_size(rows), 3);
    json_t *row = json_array_get(rows, 1);
    assert_string_equal(s_str(row, "host"), "hv-a");
    assert_string_equal(s_str(row, "pf"), "0000:3b:00.0");
    assert_int_equal(s_int(row, "vf"), 1);
    assert_string_equal(s_str(row, "attribute"), "vlan");
    assert_string_equal(s_str(row, "seen_at"), "1970-01-01T00:00:08.000Z");
    json_decref(body);

    body = s_ok(s_request(fx, "drift", "host=hv-c", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "drift")), 1);
    json_decref(body);
    body = s_ok(s_request(fx, "drift", "host=hv-b", NULL));
    assert_int_equal(json_array_size(json_object_get(body, "drift")), 0);
    json_decref(body);

    /* One row per page: the cursor resumes inside a host and across. */
    char seen[128];
    s_walk(fx, "drift", "drift", "host", NULL, seen, sizeof(seen));
    assert_string_equal(seen, "hv-a hv-a hv-c");
    body = s_ok(s_request(fx, "drift", "limit=1", NULL));
    assert_string_equal(s_str(body, "next"),
                        "[\"hv-a\",\"0000:3b:00.0\",0,\"vlan\"]");
    json_decref(body);

    s_status(s_request(fx, "drift", "host=nosuch", NULL), VFP_ERR_NOT_FOUND,
             "no host named");
    s_status(s_request(fx, "drift", "after=[\"hv-a\",\"x\"]", NULL),
             VFP_ERR_INVALID, "malformed cursor");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_without_policy, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_status_rows_and_counts, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_status_filters, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_status_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_status_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_status_caps_items, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_and_get, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_drift_listing, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
