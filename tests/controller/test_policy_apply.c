/* test_policy_apply.c - policy.apply and policy.rollback on a real SQLite
 * file with hosts ingested as agents report them: what is stored, what is
 * answered, and that a refused apply stores nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "desired.h"
#include "policy_apply.h"
#include "test_db_file.h"
#include "test_peer.h"
#include "vfp_transport.h"

typedef struct {
    test_db_file_t file;
    db_t *db;
    policy_apply_changed_t changed;
} fixture_t;

/* Groups a and b both configure ens1f0 (4 VFs); b's count is %d. */
static const char s_policy_fmt[] = "version: 1\n"
                                   "networks:\n"
                                   "  - name: prod\n"
                                   "    vlan: 10\n"
                                   "host_groups:\n"
                                   "  - name: a\n"
                                   "    hosts: [a-*]\n"
                                   "    pfs:\n"
                                   "      - ifname: ens1f0\n"
                                   "        vfs: 4\n"
                                   "        networks: [prod]\n"
                                   "  - name: b\n"
                                   "    hosts: [b-*]\n"
                                   "    pfs:\n"
                                   "      - ifname: %s\n"
                                   "        vfs: %d\n"
                                   "        networks: [prod]\n";

static char *s_policy(const char *b_ifname, int b_vfs)
{
    static char text[1024];
    snprintf(text, sizeof(text), s_policy_fmt, b_ifname, b_vfs);
    return text;
}

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

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "policy-apply");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    s_host(fx, "a-1", false);
    s_host(fx, "a-2", false);
    s_host(fx, "b-1", false);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    policy_apply_changed_clear(&fx->changed);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* Sends verb with params "k=v" (NULL-terminated) and body; returns the
 * REPLY. fx->changed holds the changed hosts. */
static vfp_msg_t *s_call(fixture_t *fx, const char *verb, const char *body, ...)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 9;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    va_list ap;
    va_start(ap, body);
    for (const char *kv; (kv = va_arg(ap, const char *));) {
        vfp_param_t *p = &req->u.request.params[req->u.request.param_count++];
        size_t key_len = strcspn(kv, "=");
        snprintf(p->key, sizeof(p->key), "%.*s", (int)key_len, kv);
        snprintf(p->value, sizeof(p->value), "%s", kv + key_len + 1);
    }
    va_end(ap);
    if (body) {
        req->u.request.body = strdup(body);
        req->u.request.body_len = (uint32_t)strlen(body);
    }
    policy_apply_changed_clear(&fx->changed);
    vfp_msg_t *reply = policy_apply_handle(fx->db, req, 5000, &fx->changed);
    vfp_msg_destroy(&req);
    assert_non_null(reply);
    assert_int_equal(reply->id, VFP_REPLY);
    assert_int_equal(reply->request_id, 9);
    return reply;
}

/* The JSON body of a reply with the given status. */
static json_t *s_body(vfp_msg_t *reply, vfp_errcode_t status)
{
    if (reply->u.reply.status != status)
        fail_msg("status %s: %s", vfp_errcode_name(reply->u.reply.status),
                 reply->u.reply.error);
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    assert_non_null(body);
    return body;
}

static json_int_t s_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static uint64_t s_desired_revision(fixture_t *fx, const char *host)
{
    db_host_desired_t d;
    db_err_t err;
    if (db_host_desired_get(fx->db, host, &d, &err) != 0)
        return 0;
    uint64_t revision = d.revision;
    db_host_desired_clear(&d);
    return revision;
}

static int64_t s_latest(fixture_t *fx)
{
    db_policy_row_t row;
    db_err_t err;
    if (db_policy_latest(fx->db, &row, &err) != 0)
        return 0;
    db_policy_row_clear(&row);
    return row.revision;
}

/* Applies the default policy; asserts it stored revision `revision`. */
static void s_apply_ok(fixture_t *fx, const char *text, int64_t revision)
{
    vfp_msg_t *reply = s_call(fx, "policy.apply", text, "author=ops", NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "revision"), revision);
    json_decref(body);
    vfp_msg_destroy(&reply);
}

static void test_valid_apply_stores_revision_and_desired(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", s_policy("ens1f0", 4), "source=p.yaml",
               "message=first", "author=ops", NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "revision"), 1);
    assert_false(json_is_true(json_object_get(body, "unchanged")));
    assert_false(json_is_true(json_object_get(body, "dry_run")));
    assert_int_equal(s_int(body, "hosts_total"), 3);
    assert_int_equal(s_int(body, "hosts_changed"), 3);
    assert_int_equal(strlen(json_string_value(json_object_get(body, "sha256"))),
                     64);
    json_t *hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 3);
    json_t *first = json_array_get(hosts, 0);
    assert_string_equal(json_string_value(json_object_get(first, "host")),
                        "a-1");
    assert_int_equal(s_int(first, "desired_revision"), 1);
    /* Nothing was stored before: every VF is new. */
    json_t *changes = json_object_get(first, "changes");
    assert_string_equal(json_string_value(json_array_get(changes, 0)),
                        "a-1: pf 0000:3b:00.0: num_vfs unmanaged -> 4");
    assert_int_equal(json_array_size(json_object_get(body, "refused")), 0);
    assert_true(json_is_array(json_object_get(body, "warnings")));
    json_decref(body);
    vfp_msg_destroy(&reply);

    assert_int_equal(fx->changed.count, 3);
    assert_string_equal(fx->changed.hosts[2], "b-1");
    assert_true(fx->changed.revision_stored);
    db_policy_row_t row;
    db_err_t err;
    assert_int_equal(db_policy_get(fx->db, 1, &row, &err), 0);
    assert_string_equal(row.text, s_policy("ens1f0", 4));
    assert_string_equal(row.message, "first");
    assert_string_equal(row.author, "ops");
    db_policy_row_clear(&row);
    db_host_desired_t d;
    assert_int_equal(db_host_desired_get(fx->db, "a-2", &d, &err), 0);
    assert_int_equal(d.revision, 1);
    assert_int_equal(d.policy_revision, 1);
    vfp_decode_error_t derr;
    vfp_msg_t *apply = vfp_decode(d.apply, d.apply_len, &derr);
    assert_non_null(apply);
    assert_int_equal(apply->u.apply.revision, 1);
    assert_int_equal(apply->u.apply.pf_count, 1);
    assert_int_equal(apply->u.apply.vf_count, 4);
    vfp_msg_destroy(&apply);
    db_host_desired_clear(&d);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events WHERE kind "
                                      "= 'policy-apply'"),
                     1);
}

static void test_same_text_is_unchanged(void **state)
{
    fixture_t *fx = *state;
    s_apply_ok(fx, s_policy("ens1f0", 4), 1);
    /* The same policy in other words (comment, order) normalises alike. */
    char text[1100];
    snprintf(text, sizeof(text), "# again\n%s", s_policy("ens1f0", 4));
    vfp_msg_t *reply = s_call(fx, "policy.apply", text, NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_true(json_is_true(json_object_get(body, "unchanged")));
    assert_int_equal(s_int(body, "revision"), 1);
    assert_int_equal(s_int(body, "hosts_changed"), 0);
    assert_int_equal(json_array_size(json_object_get(body, "hosts")), 0);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(fx->changed.count, 0);
    /* What vfleet_policy_applies_total counts as "unchanged". */
    assert_false(fx->changed.revision_stored);
    assert_int_equal(s_latest(fx), 1);
    assert_int_equal(s_desired_revision(fx, "a-1"), 1);
    assert_int_equal(s_desired_revision(fx, "b-1"), 1);
}

/* A VF count change in group b: only b-1 gets a new desired state, and
 * its change lines say what changes. (A VLAN reaches an APPLY only
 * through a VM on the VF, which placement adds later.) */
static void test_change_reaches_only_affected_hosts(void **state)
{
    fixture_t *fx = *state;
    s_apply_ok(fx, s_policy("ens1f0", 4), 1);
    vfp_msg_t *reply = s_call(fx, "policy.apply", s_policy("ens1f0", 6), NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "revision"), 2);
    assert_int_equal(s_int(body, "hosts_changed"), 1);
    json_t *host = json_array_get(json_object_get(body, "hosts"), 0);
    assert_string_equal(json_string_value(json_object_get(host, "host")),
                        "b-1");
    assert_int_equal(s_int(host, "desired_revision"), 2);
    json_t *changes = json_object_get(host, "changes");
    assert_int_equal(json_array_size(changes), 3);
    assert_string_equal(json_string_value(json_array_get(changes, 0)),
                        "b-1: pf 0000:3b:00.0: num_vfs 4 -> 6");
    assert_non_null(strstr(json_string_value(json_array_get(changes, 1)),
                           "b-1: pf 0000:3b:00.0: vf 4 new: mac "
                           "00:00:00:00:00:00 vlan 0"));
    assert_int_equal(s_int(host, "changes_more"), 0);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(fx->changed.count, 1);
    assert_string_equal(fx->changed.hosts[0], "b-1");
    assert_int_equal(s_desired_revision(fx, "a-1"), 1);
    assert_int_equal(s_desired_revision(fx, "b-1"), 2);
}

static void test_invalid_policy_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", "version: 1\nnetworks:\n  - vlan: 99999\n",
               "source=bad.yaml", NULL);
    json_t *body = s_body(reply, VFP_ERR_INVALID);
    assert_non_null(strstr(reply->u.reply.error, "policy rejected: "));
    assert_non_null(strstr(reply->u.reply.error, "first: bad.yaml:3:"));
    json_t *errors = json_object_get(body, "errors");
    assert_true(json_array_size(errors) >= 2);
    assert_non_null(
        strstr(json_string_value(json_array_get(errors, 0)), "bad.yaml:"));
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_latest(fx), 0);
    assert_int_equal(s_desired_revision(fx, "a-1"), 0);
    assert_int_equal(fx->changed.count, 0);
}

static void test_inventory_conflict_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", s_policy("ens9", 4), "source=p.yaml", NULL);
    json_t *body = s_body(reply, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error,
                           "policy conflicts with the inventory: 1 conflict; "
                           "first: p.yaml:15:9: host b-1: host group b: pf "
                           "selector ifname=ens9 matches nothing"));
    assert_int_equal(json_array_size(json_object_get(body, "conflicts")), 1);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_latest(fx), 0);
    assert_int_equal(s_desired_revision(fx, "a-1"), 0);
}

/* A count change under an in-use VF refuses that host only: it keeps its
 * desired state (one without gets an APPLY without items, so that it is
 * listed), the refusal is stored, the others roll out. */
static void test_in_use_count_change_refuses_one_host(void **state)
{
    fixture_t *fx = *state;
    s_apply_ok(fx, s_policy("ens1f0", 4), 1);
    s_host(fx, "b-2", true);
    vfp_msg_t *reply = s_call(fx, "policy.apply", s_policy("ens1f0", 2), NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "revision"), 2);
    json_t *refused = json_object_get(body, "refused");
    assert_int_equal(json_array_size(refused), 1);
    json_t *r = json_array_get(refused, 0);
    assert_string_equal(json_string_value(json_object_get(r, "host")), "b-2");
    assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
                           "would change sriov_numvfs 4 while vf 0 is in use"));
    assert_int_equal(s_int(body, "hosts_changed"), 1);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_desired_revision(fx, "b-1"), 2);
    assert_int_equal(s_desired_revision(fx, "b-2"), 1);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT d.policy_revision FROM "
                                      "host_desired d JOIN hosts h ON h.id = "
                                      "d.host_id WHERE h.name = 'b-2'"),
                     0);
    db_host_refusal_t refusal;
    db_err_t err;
    assert_int_equal(db_host_refusal_get(fx->db, "b-2", &refusal, &err), 0);
    assert_int_equal(refusal.policy_revision, 2);
    db_apply_counts_t counts;
    assert_int_equal(db_apply_counts(fx->db, &counts, &err), 0);
    assert_int_equal(counts.hosts, 4);
    assert_int_equal(counts.refused, 1);
    assert_int_equal(counts.pending + counts.ok + counts.failed, 3);
    /* The next apply that does not refuse it forgets the refusal. */
    s_apply_ok(fx, s_policy("ens1f0", 4), 3);
    assert_int_equal(db_host_refusal_get(fx->db, "b-2", &refusal, &err), -1);
    assert_int_equal(s_desired_revision(fx, "b-2"), 2);
    assert_int_equal(db_apply_counts(fx->db, &counts, &err), 0);
    assert_int_equal(counts.refused, 0);
}

static void test_dry_run_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", s_policy("ens1f0", 4), "dry_run=true", NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_true(json_is_true(json_object_get(body, "dry_run")));
    assert_int_equal(s_int(body, "revision"), 1);
    assert_int_equal(s_int(body, "hosts_changed"), 3);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(fx->changed.count, 0);
    assert_false(fx->changed.revision_stored);
    assert_int_equal(s_latest(fx), 0);
    assert_int_equal(s_desired_revision(fx, "a-1"), 0);
}

static void test_rollback_stores_old_text_again(void **state)
{
    fixture_t *fx = *state;
    s_apply_ok(fx, s_policy("ens1f0", 4), 1);
    s_apply_ok(fx, s_policy("ens1f0", 6), 2);
    vfp_msg_t *reply = s_call(fx, "policy.rollback", NULL, "revision=1", NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "revision"), 3);
    assert_int_equal(s_int(body, "hosts_changed"), 1);
    json_decref(body);
    vfp_msg_destroy(&reply);
    db_policy_row_t row;
    db_err_t err;
    assert_int_equal(db_policy_get(fx->db, 3, &row, &err), 0);
    assert_string_equal(row.text, s_policy("ens1f0", 4));
    assert_string_equal(row.message, "rollback to revision 1");
    db_policy_row_clear(&row);
    assert_int_equal(s_desired_revision(fx, "b-1"), 3);

    reply = s_call(fx, "policy.rollback", NULL, "revision=42", NULL);
    assert_int_equal(reply->u.reply.status, VFP_ERR_NOT_FOUND);
    assert_non_null(strstr(reply->u.reply.error, "no policy revision 42"));
    vfp_msg_destroy(&reply);
    assert_int_equal(s_latest(fx), 3);
}

static void test_bad_parameters(void **state)
{
    fixture_t *fx = *state;
    const char *cases[][2] = {
        {"dry_run=yes", "dry_run \"yes\" is not true or false"},
        {"commit=abc", "commit \"abc\" is not 40 or 64"},
        {"colour=red", "has no parameter \"colour\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vfp_msg_t *reply = s_call(fx, "policy.apply", s_policy("ens1f0", 4),
                                  cases[i][0], NULL);
        assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
        assert_non_null(strstr(reply->u.reply.error, cases[i][1]));
        vfp_msg_destroy(&reply);
    }
    vfp_msg_t *reply = s_call(fx, "policy.rollback", NULL, NULL);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_latest(fx), 0);
}

/* At most POLICY_APPLY_CHANGES_MAX change lines per host; a down host is
 * planned, a host that never sent an inventory is not. */
static void test_change_lines_capped_and_hosts_planned(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_host_set_state(fx->db, "a-2", DB_HOST_DOWN, &err), 0);
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "b-new");
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", s_policy("ens1f0", 120), NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(s_int(body, "hosts_total"), 3);
    assert_int_equal(s_int(body, "hosts_changed"), 3);
    json_t *hosts = json_object_get(body, "hosts");
    json_t *a2 = json_array_get(hosts, 1);
    assert_string_equal(json_string_value(json_object_get(a2, "host")), "a-2");
    json_t *b1 = json_array_get(hosts, 2);
    /* num_vfs, then 120 new VFs: 121 lines. */
    assert_int_equal(json_array_size(json_object_get(b1, "changes")),
                     POLICY_APPLY_CHANGES_MAX);
    assert_int_equal(s_int(b1, "changes_more"), 121 - POLICY_APPLY_CHANGES_MAX);
    assert_int_equal(s_int(body, "hosts_omitted"), 0);
    json_decref(body);
    vfp_msg_destroy(&reply);
    assert_int_equal(s_desired_revision(fx, "a-2"), 1);
    assert_int_equal(s_desired_revision(fx, "b-new"), 0);
}

/* The server actor forwards write verbs over its pipe and sends back what
 * the main thread answers; past ADMIN_WRITES_QUEUED_MAX waiting it
 * answers "busy" itself, and read verbs never wait for writes. */
static vfp_msg_t *s_client_recv(zsock_t *client)
{
    zsock_set_rcvtimeo(client, 5000);
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_recv(client, NULL, &err);
    assert_non_null(msg);
    assert_int_equal(msg->id, VFP_REPLY);
    return msg;
}

static void test_actor_forwards_writes_and_bounds_them(void **state)
{
    fixture_t *fx = *state;
    sessions_t *sessions = sessions_new();
    admin_config_t cfg = {.controller_id = "ctl"};
    admin_t *admin = admin_new(fx->db, sessions, &cfg);
    zsock_t *server = zsock_new_router("inproc://admin-forward");
    zsock_t *client = zsock_new_dealer(">inproc://admin-forward");
    assert_non_null(server);
    assert_non_null(client);
    admin_server_args_t args = {.sock = server, .admin = admin};
    zactor_t *actor = zactor_new(admin_server_actor, &args);
    assert_non_null(actor);
    vfp_decode_error_t err;
    for (uint32_t i = 1; i <= ADMIN_WRITES_QUEUED_MAX + 1; i++) {
        vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
        req->request_id = i;
        snprintf(req->u.request.verb, sizeof(req->u.request.verb),
                 "policy.apply");
        assert_int_equal(vfp_send(client, NULL, req, &err), 0);
        vfp_msg_destroy(&req);
    }
    /* The one past the bound is answered at once. */
    vfp_msg_t *reply = s_client_recv(client);
    assert_int_equal(reply->request_id, ADMIN_WRITES_QUEUED_MAX + 1);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INTERNAL);
    assert_non_null(strstr(reply->u.reply.error, "busy: 64 write requests"));
    vfp_msg_destroy(&reply);
    /* A read is answered while the writes wait. */
    vfp_msg_t *read = vfp_msg_new(VFP_REQUEST);
    read->request_id = 1000;
    snprintf(read->u.request.verb, sizeof(read->u.request.verb), "summary");
    assert_int_equal(vfp_send(client, NULL, read, &err), 0);
    vfp_msg_destroy(&read);
    reply = s_client_recv(client);
    assert_int_equal(reply->request_id, 1000);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    /* The main thread's side: each forwarded request, answered in turn. */
    zsock_t *pipe = zactor_sock(actor);
    for (uint32_t i = 1; i <= ADMIN_WRITES_QUEUED_MAX; i++) {
        zframe_t *from = NULL;
        vfp_msg_t *req = admin_write_recv(pipe, &from);
        assert_non_null(req);
        assert_int_equal(req->request_id, i);
        policy_apply_changed_t changed = {0};
        vfp_msg_t *answer = policy_apply_handle(fx->db, req, 1, &changed);
        admin_write_answer(pipe, &from, &answer);
        assert_null(from);
        vfp_msg_destroy(&req);
        reply = s_client_recv(client);
        assert_int_equal(reply->request_id, i);
        assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
        vfp_msg_destroy(&reply);
    }
    /* Answered, they no longer count: the next write is forwarded. */
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 2000;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "policy.apply");
    assert_int_equal(vfp_send(client, NULL, req, &err), 0);
    vfp_msg_destroy(&req);
    /* admin_write_recv never waits: the main loop polls the pipe first. */
    zpoller_t *poller = zpoller_new(pipe, NULL);
    assert_ptr_equal(zpoller_wait(poller, 5000), pipe);
    zpoller_destroy(&poller);
    zframe_t *from = NULL;
    req = admin_write_recv(pipe, &from);
    assert_non_null(req);
    assert_int_equal(req->request_id, 2000);
    vfp_msg_destroy(&req);
    zframe_destroy(&from);
    zactor_destroy(&actor);
    zsock_destroy(&client);
    zsock_destroy(&server);
    admin_destroy(&admin);
    sessions_destroy(&sessions);
}

/* desired_plan_host reads the host's labels ("key=value" per line) and
 * inventory; desired_store_if_changed stores only a different APPLY and
 * refuses a plan with conflicts. */
static void test_desired_plan_and_store_if_changed(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "UPDATE hosts SET labels = 'rack=r1\n"
                         "zone=z9' WHERE name = 'a-1' RETURNING 1"),
        1);
    const char *text = "version: 1\n"
                       "host_groups:\n"
                       "  - name: zoned\n"
                       "    labels: {zone: z9}\n"
                       "    pfs:\n"
                       "      - ifname: ens1f1\n"
                       "        vfs: 2\n";
    policy_t *policy = policy_parse_buffer("l.yaml", text, strlen(text), NULL);
    assert_non_null(policy);
    db_err_t err;
    desired_t *desired =
        desired_plan_host(fx->db, policy, "l.yaml", "a-1", &err);
    assert_non_null(desired);
    assert_int_equal(desired_inventory(desired)->pf_count, 2);
    assert_int_equal(desired_inventory(desired)->pfs[0].vf_count, 4);
    const vfp_apply_t *apply = apply_plan_apply(desired_plan(desired));
    assert_non_null(apply);
    assert_int_equal(apply->pf_count, 1);
    assert_string_equal(apply->pfs[0].pf, "0000:3b:00.1");
    bool changed = false;
    uint64_t revision = 0;
    assert_int_equal(desired_store_if_changed(fx->db, "a-1", 0,
                                              desired_plan(desired), 10,
                                              &changed, &revision, &err),
                     0);
    assert_true(changed);
    assert_int_equal(revision, 1);
    assert_int_equal(desired_store_if_changed(fx->db, "a-1", 0,
                                              desired_plan(desired), 20,
                                              &changed, &revision, &err),
                     0);
    assert_false(changed);
    assert_int_equal(revision, 1);
    desired_destroy(&desired);

    /* a-2 has no labels: the group does not select it, nothing managed. */
    desired = desired_plan_host(fx->db, policy, "l.yaml", "a-2", &err);
    assert_int_equal(apply_plan_apply(desired_plan(desired))->pf_count, 0);
    desired_destroy(&desired);
    assert_null(desired_plan_host(fx->db, policy, "l.yaml", "nosuch", &err));
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    policy_destroy(&policy);

    /* A plan with conflicts is not stored. */
    policy = policy_parse_buffer("c.yaml", s_policy("ens9", 4),
                                 strlen(s_policy("ens9", 4)), NULL);
    desired = desired_plan_host(fx->db, policy, "c.yaml", "b-1", &err);
    assert_int_equal(desired_store_if_changed(fx->db, "b-1", 0,
                                              desired_plan(desired), 30,
                                              &changed, &revision, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_false(changed);
    assert_int_equal(s_desired_revision(fx, "b-1"), 0);
    desired_destroy(&desired);
    policy_destroy(&policy);
}

/* The read-only handler never runs a write verb silently. */
static void test_admin_handle_refuses_write_verbs(void **state)
{
    fixture_t *fx = *state;
    sessions_t *sessions = sessions_new();
    admin_config_t cfg = {.controller_id = "ctl"};
    admin_t *admin = admin_new(fx->db, sessions, &cfg);
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "policy.apply");
    vfp_msg_t *reply = admin_handle(admin, req);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INTERNAL);
    assert_non_null(strstr(reply->u.reply.error, "main thread"));
    assert_true(admin_verb_on_main("policy.rollback"));
    assert_false(admin_verb_on_main("hosts"));
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    admin_destroy(&admin);
    sessions_destroy(&sessions);
    assert_int_equal(s_latest(fx), 0);
}

/* Every VF the plans configure can take a MAC from the pools: 3 hosts x 100
 * VFs outgrow one 5-octet prefix (256 addresses), 3 x 4 do not. */
static void test_mac_pool_warning(void **state)
{
    fixture_t *fx = *state;
    static const char fmt[] = "version: 1\n"
                              "mac_pools:\n"
                              "  - name: small\n"
                              "    prefixes: [\"02:00:00:00:01\"]\n"
                              "host_groups:\n"
                              "  - name: all\n"
                              "    hosts: [\"*\"]\n"
                              "    pfs:\n"
                              "      - ifname: ens1f0\n"
                              "        vfs: %d\n";
    char text[512];
    snprintf(text, sizeof(text), fmt, 4);
    vfp_msg_t *reply =
        s_call(fx, "policy.apply", text, "source=p.yaml", "dry_run=true", NULL);
    json_t *body = s_body(reply, VFP_OK);
    assert_int_equal(json_array_size(json_object_get(body, "warnings")), 0);
    json_decref(body);
    vfp_msg_destroy(&reply);

    snprintf(text, sizeof(text), fmt, 100);
    reply =
        s_call(fx, "policy.apply", text, "source=p.yaml", "dry_run=true", NULL);
    body = s_body(reply, VFP_OK);
    json_t *warnings = json_object_get(body, "warnings");
    assert_int_equal(json_array_size(warnings), 1);
    assert_string_equal(json_string_value(json_array_get(warnings, 0)),
                        "p.yaml:3:5: mac pools give 256 addresses for 300 VFs "
                        "configured on the cluster");
    json_decref(body);
    vfp_msg_destroy(&reply);
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_valid_apply_stores_revision_and_desired),
        S_TEST(test_same_text_is_unchanged),
        S_TEST(test_change_reaches_only_affected_hosts),
        S_TEST(test_invalid_policy_stores_nothing),
        S_TEST(test_inventory_conflict_stores_nothing),
        S_TEST(test_in_use_count_change_refuses_one_host),
        S_TEST(test_dry_run_stores_nothing),
        S_TEST(test_rollback_stores_old_text_again),
        S_TEST(test_bad_parameters),
        S_TEST(test_admin_handle_refuses_write_verbs),
        S_TEST(test_change_lines_capped_and_hosts_planned),
        S_TEST(test_desired_plan_and_store_if_changed),
        S_TEST(test_actor_forwards_writes_and_bounds_them),
        S_TEST(test_mac_pool_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
