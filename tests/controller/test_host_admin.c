/* test_host_admin.c - the admin write verb host.label on a real SQLite
 * file with a real rollout: what is stored and answered, that a labels:
 * group then selects the host (and no longer does once the label is
 * removed), and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_admin.h"
#include "policy_apply.h"
#include "rollout.h"
#include "test_db_file.h"
#include "test_peer.h"

typedef struct {
    test_db_file_t file;
    db_t *db;
    sessions_t *sessions;
    rollout_t *rollout;
    zlistx_t *out;
    int replans;
} fixture_t;

static const char s_policy[] = "version: 1\n"
                               "networks:\n"
                               "  - name: prod\n"
                               "    vlan: 10\n"
                               "host_groups:\n"
                               "  - name: sriov\n"
                               "    labels: {role: sriov}\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 2\n"
                               "        networks: [prod]\n";

/* A host as an agent reports it: 2 PFs of 4 VFs; VF 0 of ens1f0 in use
 * when asked, no other VF. */
static void s_host(fixture_t *fx, const char *name, bool in_use)
{
    db_err_t err;
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", name);
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *inv = peer_inventory_new(name, 1, 2, 4, 0);
    for (uint32_t p = 0; p < inv->u.inventory.pf_count; p++)
        for (uint32_t v = 0; v < inv->u.inventory.pfs[p].vf_count; v++)
            inv->u.inventory.pfs[p].vfs[v].in_use = in_use && p == 0 && v == 0;
    assert_int_equal(
        db_inventory_replace(fx->db, name, &inv->u.inventory, 2000, &err), 0);
    vfp_msg_destroy(&inv);
}

static vfp_msg_t *s_request(const char *verb, const char *name,
                            const char *body)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 7;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    if (name) {
        vfp_param_t *p = &req->u.request.params[req->u.request.param_count++];
        snprintf(p->key, sizeof(p->key), "%s", "name");
        snprintf(p->value, sizeof(p->value), "%s", name);
    }
    if (body) {
        req->u.request.body = strdup(body);
        req->u.request.body_len = (uint32_t)strlen(body);
    }
    return req;
}

static bool s_replan(void *arg, const char *host)
{
    fixture_t *fx = arg;
    fx->replans++;
    return rollout_replan(fx->rollout, host, "after a label change", fx->out) ==
           ROLLOUT_PLAN_CHANGED;
}

/* host.label on host with body; returns the REPLY. */
static vfp_msg_t *s_label(fixture_t *fx, const char *host, const char *body)
{
    vfp_msg_t *req = s_request("host.label", host, body);
    vfp_msg_t *reply = host_admin_handle(fx->db, req, s_replan, fx);
    vfp_msg_destroy(&req);
    assert_non_null(reply);
    assert_int_equal(reply->id, VFP_REPLY);
    assert_int_equal(reply->request_id, 7);
    return reply;
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "host-admin");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    s_host(fx, "h1", false);
    s_host(fx, "busy", true);
    vfp_msg_t *req = s_request("policy.apply", NULL, s_policy);
    policy_apply_changed_t changed = {0};
    vfp_msg_t *reply = policy_apply_handle(fx->db, req, 3000, &changed);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    policy_apply_changed_clear(&changed);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    fx->sessions = sessions_new();
    rollout_config_t rcfg = {.inflight_ms = 1000};
    fx->rollout = rollout_new(fx->db, fx->sessions, &rcfg);
    char text[256];
    assert_int_equal(rollout_load(fx->rollout, text, sizeof(text)), 0);
    fx->out = zlistx_new();
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    zlistx_destroy(&fx->out);
    rollout_destroy(&fx->rollout);
    sessions_destroy(&fx->sessions);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* PF items in the host's stored desired state. */
static uint32_t s_desired_pfs(fixture_t *fx, const char *host)
{
    db_host_desired_t d;
    db_err_t err;
    if (db_host_desired_get(fx->db, host, &d, &err) != 0)
        return 0;
    vfp_decode_error_t derr;
    vfp_msg_t *apply = vfp_decode(d.apply, d.apply_len, &derr);
    assert_non_null(apply);
    uint32_t count = apply->u.apply.pf_count;
    vfp_msg_destroy(&apply);
    db_host_desired_clear(&d);
    return count;
}

/* The body of an OK reply; labels_out gets its labels compact. */
static json_t *s_ok_body(vfp_msg_t *reply)
{
    if (reply->u.reply.status != VFP_OK)
        fail_msg("status %s: %s", vfp_errcode_name(reply->u.reply.status),
                 reply->u.reply.error);
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    assert_non_null(body);
    return body;
}

static void s_assert_labels(json_t *body, const char *want)
{
    char *got = json_dumps(json_object_get(body, "labels"),
                           JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, want);
    free(got);
}

static void test_label_selects_and_unselects(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(s_desired_pfs(fx, "h1"), 0);
    vfp_msg_t *reply =
        s_label(fx, "h1", "{\"set\": {\"role\": \"sriov\", \"rack\": \"r1\"}}");
    json_t *body = s_ok_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "host")), "h1");
    s_assert_labels(body, "{\"rack\":\"r1\",\"role\":\"sriov\"}");
    assert_true(json_is_true(json_object_get(body, "desired_changed")));
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_desired_pfs(fx, "h1"), 1);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events WHERE kind "
                                      "= 'host-labels' AND host = 'h1'"),
                     1);

    /* A label no group reads changes labels but not the desired state. */
    reply = s_label(fx, "h1", "{\"remove\": [\"rack\"]}");
    body = s_ok_body(reply);
    s_assert_labels(body, "{\"role\":\"sriov\"}");
    assert_true(json_is_false(json_object_get(body, "desired_changed")));
    json_decref(body);
    vfp_msg_destroy(&reply);

    reply = s_label(fx, "h1", "{\"remove\": [\"role\"]}");
    body = s_ok_body(reply);
    s_assert_labels(body, "{}");
    assert_true(json_is_true(json_object_get(body, "desired_changed")));
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_desired_pfs(fx, "h1"), 0);
    assert_int_equal(fx->replans, 3);
}

/* A host the labelled group does not fit (its VF count would change under
 * a VF in use) is refused alone: labels stored, desired state kept, the
 * refusal recorded. */
static void test_label_conflict_refuses_the_host(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_label(fx, "busy", "{\"set\": {\"role\": \"sriov\"}}");
    json_t *body = s_ok_body(reply);
    s_assert_labels(body, "{\"role\":\"sriov\"}");
    assert_true(json_is_false(json_object_get(body, "desired_changed")));
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_desired_pfs(fx, "busy"), 0);
    db_host_refusal_t refusal;
    db_err_t err;
    assert_int_equal(db_host_refusal_get(fx->db, "busy", &refusal, &err), 0);
}

static void test_label_refusals(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *host;
        const char *body;
        vfp_errcode_t status;
    } cases[] = {
        {"nohost", "{\"set\": {\"role\": \"sriov\"}}", VFP_ERR_NOT_FOUND},
        {NULL, "{\"set\": {\"role\": \"sriov\"}}", VFP_ERR_INVALID},
        {"h1", NULL, VFP_ERR_INVALID},
        {"h1", "[]", VFP_ERR_INVALID},
        {"h1", "{}", VFP_ERR_INVALID},
        {"h1", "{\"add\": {}}", VFP_ERR_INVALID},
        {"h1", "{\"set\": {\"-role\": \"sriov\"}}", VFP_ERR_INVALID},
        {"h1", "{\"set\": {\"role\": \"sr iov\"}}", VFP_ERR_INVALID},
        {"h1", "{\"set\": {\"role\": \"\"}}", VFP_ERR_INVALID},
        {"h1", "{\"set\": {\"role\": 1}}", VFP_ERR_INVALID},
        {"h1", "{\"set\": {\"a/b\": \"x/y\"}}", VFP_ERR_INVALID},
        {"h1", "{\"remove\": \"role\"}", VFP_ERR_INVALID},
        {"h1", "{\"remove\": [\"a=b\"]}", VFP_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vfp_msg_t *reply = s_label(fx, cases[i].host, cases[i].body);
        if (reply->u.reply.status != cases[i].status)
            fail_msg("case %zu: status %s: %s", i,
                     vfp_errcode_name(reply->u.reply.status),
                     reply->u.reply.error);
        assert_true(reply->u.reply.error[0] != '\0');
        vfp_msg_destroy(&reply);
    }
    /* 65 labels: more than a host carries. */
    json_t *set = json_object();
    for (int i = 0; i < 65; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(set, key, json_string("v"));
    }
    json_t *request = json_pack("{s:o}", "set", set);
    char *text = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    vfp_msg_t *reply = s_label(fx, "h1", text);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    vfp_msg_destroy(&reply);
    free(text);
    assert_int_equal(fx->replans, 0);
    db_err_t err;
    char labels[DB_HOST_LABELS_MAX + 1];
    assert_int_equal(db_host_labels_get(fx->db, "h1", labels, &err), 0);
    assert_string_equal(labels, "");
}

/* The host-labels event names what changed, not what was asked: a value
 * set again and a key the host lacks removed are no change, and a request
 * that changes nothing records no event. */
static void test_label_event_names_only_changes(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *body;
        const char *message; /* the event, or NULL for none */
    } steps[] = {
        {"{\"set\": {\"rack\": \"r1\", \"role\": \"sriov\"}}",
         "+rack=r1 +role=sriov"},
        {"{\"set\": {\"rack\": \"r1\"}, \"remove\": [\"zone\"]}", NULL},
        {"{\"set\": {\"rack\": \"r2\", \"role\": \"sriov\"}}", "+rack=r2"},
        {"{\"set\": {\"zone\": \"a\"}, \"remove\": [\"zone\", "
         "\"role\"]}",
         "-role"},
    };
    int expected = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        vfp_msg_t *reply = s_label(fx, "h1", steps[i].body);
        assert_int_equal(reply->u.reply.status, VFP_OK);
        vfp_msg_destroy(&reply);
        int events =
            test_db_file_int(fx->file.path, "SELECT count(*) FROM events WHERE "
                                            "kind = 'host-labels'");
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM events WHERE kind = 'host-labels' "
                 "AND id = (SELECT max(id) FROM events) AND message = '%s'",
                 steps[i].message ? steps[i].message : "");
        expected += steps[i].message ? 1 : 0;
        assert_int_equal(events, expected);
        if (steps[i].message)
            assert_int_equal(test_db_file_int(fx->file.path, sql), 1);
    }
}

static void test_other_verb_is_unknown(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *req = s_request("host.unlabel", "h1", NULL);
    vfp_msg_t *reply = host_admin_handle(fx->db, req, s_replan, fx);
    assert_int_equal(reply->u.reply.status, VFP_ERR_UNKNOWN_VERB);
    assert_false(host_admin_is_verb("host.unlabel"));
    assert_true(host_admin_is_verb("host.label"));
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_label_selects_and_unselects),
        S_TEST(test_label_conflict_refuses_the_host),
        S_TEST(test_label_refusals),
        S_TEST(test_label_event_names_only_changes),
        S_TEST(test_other_verb_is_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
