/* test_agents.c - the agent handlers on a real SQLite file, without
 * sockets: HELLO, INVENTORY, HEARTBEAT and ERROR in, the messages to send
 * out, and memory that counts only what a commit made durable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "test_db_file.h"
#include "test_peer.h"

typedef struct {
    test_db_file_t file;
    db_t *db;
    sessions_t *sessions;
    agents_t *agents;
    zlistx_t *out;
    zframe_t *route;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "agents");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    fx->sessions = sessions_new();
    agents_config_t cfg = {
        .heartbeat_ms = 100, .dead_after = 3, .controller_id = "ctl-test"};
    fx->agents = agents_new(fx->db, fx->sessions, &cfg);
    fx->out = agents_outbox_new();
    fx->route = zframe_new("route-1", 7);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    zframe_destroy(&fx->route);
    zlistx_destroy(&fx->out);
    agents_destroy(&fx->agents);
    sessions_destroy(&fx->sessions);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

static void s_sql(fixture_t *fx, const char *sql)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(fx->file.path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
}

/* Handles msg (taken) as one burst from fx->route and commits it. */
static void s_burst(fixture_t *fx, vfp_msg_t *msg)
{
    agents_handle(fx->agents, fx->route, NULL, msg, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&msg);
}

/* Takes the one message the handlers queued, checking whom it is for. */
static vfp_msg_t *s_take_one(fixture_t *fx)
{
    assert_int_equal(zlistx_size(fx->out), 1);
    agents_out_t *item = zlistx_first(fx->out);
    assert_true(zframe_eq(item->to, fx->route));
    vfp_msg_t *msg = item->msg;
    item->msg = NULL;
    zlistx_purge(fx->out);
    return msg;
}

static void s_expect_error(fixture_t *fx, vfp_errcode_t code,
                           uint32_t request_id)
{
    vfp_msg_t *msg = s_take_one(fx);
    assert_int_equal(msg->id, VFP_ERROR);
    assert_int_equal(msg->u.error.code, code);
    assert_int_equal(msg->request_id, request_id);
    vfp_msg_destroy(&msg);
}

static vfp_msg_t *s_hello(const char *host, uint32_t request_id)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HELLO);
    snprintf(msg->u.hello.hostname, sizeof(msg->u.hello.hostname), "%s", host);
    snprintf(msg->u.hello.agent_version, sizeof(msg->u.hello.agent_version),
             "test");
    msg->u.hello.proto_min = VFP_VERSION_MIN;
    msg->u.hello.proto_max = VFP_VERSION;
    msg->request_id = request_id;
    return msg;
}

static vfp_msg_t *s_heartbeat(uint64_t generation, uint32_t request_id)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HEARTBEAT);
    msg->u.heartbeat.generation = generation;
    msg->request_id = request_id;
    return msg;
}

/* HELLO, committed, WELCOME taken. */
static void s_join(fixture_t *fx, const char *host)
{
    s_burst(fx, s_hello(host, 1));
    vfp_msg_t *welcome = s_take_one(fx);
    assert_int_equal(welcome->id, VFP_WELCOME);
    vfp_msg_destroy(&welcome);
}

/* With CURVE, the host is the key's: a HELLO for another host is DENIED
 * and recorded as a security event, nothing stored; a key of another role
 * is DENIED; the key's own host is welcomed, and its session forgotten
 * once its key is revoked. */
static bool s_none_authorised(void *arg, const char *key)
{
    (void)arg;
    (void)key;
    return false;
}

static void test_identity_is_the_key(void **state)
{
    fixture_t *fx = *state;
    agents_destroy(&fx->agents);
    agents_config_t cfg = {.heartbeat_ms = 100,
                           .dead_after = 3,
                           .controller_id = "ctl-test",
                           .keyed = true};
    fx->agents = agents_new(fx->db, fx->sessions, &cfg);
    vfp_keys_peer_t key = {.keyed = true,
                           .public_z85 =
                               "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                           .name = "hv-a",
                           .role = "host"};
    vfp_msg_t *hello = s_hello("hv-b", 7);
    agents_handle(fx->agents, fx->route, &key, hello, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&hello);
    s_expect_error(fx, VFP_ERR_DENIED, 7);
    assert_null(sessions_find(fx->sessions, "hv-b"));
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM events WHERE kind = 'security' "
                         "AND host = 'hv-b'"),
        1);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM hosts"), 0);
    /* No key at all, or a key that is not a host's. */
    hello = s_hello("hv-a", 8);
    agents_handle(fx->agents, fx->route, NULL, hello, fx->out);
    s_expect_error(fx, VFP_ERR_DENIED, 8);
    snprintf(key.role, sizeof(key.role), "admin");
    agents_handle(fx->agents, fx->route, &key, hello, fx->out);
    s_expect_error(fx, VFP_ERR_DENIED, 8);
    snprintf(key.role, sizeof(key.role), "host");
    agents_handle(fx->agents, fx->route, &key, hello, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&hello);
    vfp_msg_t *welcome = s_take_one(fx);
    assert_int_equal(welcome->id, VFP_WELCOME);
    vfp_msg_destroy(&welcome);
    session_t *host = sessions_find(fx->sessions, "hv-a");
    assert_non_null(host);
    assert_string_equal(host->key, key.public_z85);
    /* Revoked: the session is forgotten and the host down. */
    assert_int_equal(agents_revoke(fx->agents, s_none_authorised, NULL), 1);
    assert_null(host->routing_id);
    assert_true(host->down);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM hosts WHERE state = 'down'"),
        1);
    vfp_msg_t *beat = s_heartbeat(1, 9);
    agents_handle(fx->agents, fx->route, &key, beat, fx->out);
    vfp_msg_destroy(&beat);
    s_expect_error(fx, VFP_ERR_NOT_WELCOME, 9);
}

static void test_hello_is_welcomed_after_commit(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *hello = s_hello("hv-1", 41);
    agents_handle(fx->agents, fx->route, NULL, hello, fx->out);
    /* Nothing is promised before the registration is durable. */
    assert_int_equal(zlistx_size(fx->out), 0);
    assert_null(sessions_find(fx->sessions, "hv-1"));
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&hello);
    vfp_msg_t *welcome = s_take_one(fx);
    assert_int_equal(welcome->id, VFP_WELCOME);
    assert_int_equal(welcome->request_id, 41);
    assert_int_equal(welcome->u.welcome.heartbeat_ms, 100);
    assert_string_equal(welcome->u.welcome.controller_id, "ctl-test");
    vfp_msg_destroy(&welcome);
    session_facts_t facts;
    assert_true(sessions_peek(fx->sessions, "hv-1", &facts));
    assert_true(facts.connected);
    assert_int_equal(sessions_connected(fx->sessions), 1);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM events WHERE kind = "
                         "'host-registered' AND host = 'hv-1'"),
        1);
}

static void test_hello_refusals(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *hello = s_hello("hv-1", 5);
    hello->u.hello.proto_min = VFP_VERSION + 1;
    hello->u.hello.proto_max = VFP_VERSION + 2;
    s_burst(fx, hello);
    s_expect_error(fx, VFP_ERR_VERSION, 5);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM hosts"), 0);

    /* One session speaks for one host. */
    s_join(fx, "hv-1");
    s_burst(fx, s_hello("hv-2", 6));
    s_expect_error(fx, VFP_ERR_DENIED, 6);
    assert_null(sessions_find(fx->sessions, "hv-2"));
}

/* HELLOs sent back to back on one connection arrive in one burst, before
 * the first registration is committed: the second is refused all the same
 * (each registered a host on one connection, four with --peer-queue 4). */
static void test_hellos_in_one_burst(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *first = s_hello("hv-1", 5);
    vfp_msg_t *second = s_hello("hv-2", 6);
    agents_handle(fx->agents, fx->route, NULL, first, fx->out);
    agents_handle(fx->agents, fx->route, NULL, second, fx->out);
    s_expect_error(fx, VFP_ERR_DENIED, 6);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&first);
    vfp_msg_destroy(&second);
    vfp_msg_t *welcome = s_take_one(fx);
    assert_int_equal(welcome->id, VFP_WELCOME);
    assert_int_equal(welcome->request_id, 5);
    vfp_msg_destroy(&welcome);
    assert_non_null(sessions_find(fx->sessions, "hv-1"));
    assert_null(sessions_find(fx->sessions, "hv-2"));
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM hosts"), 1);
}

static void test_inventory_needs_hello(void **state)
{
    fixture_t *fx = *state;
    s_burst(fx, peer_inventory_new("hv-1", 1, 1, 4, 0));
    vfp_msg_t *msg = s_take_one(fx);
    assert_int_equal(msg->u.error.code, VFP_ERR_NOT_WELCOME);
    vfp_msg_destroy(&msg);
}

static void test_inventory_and_heartbeat_generations(void **state)
{
    fixture_t *fx = *state;
    s_join(fx, "hv-1");
    vfp_msg_t *inv = peer_inventory_new("hv-1", 7, 2, 4, 0);
    inv->request_id = 2;
    s_burst(fx, inv);
    assert_int_equal(zlistx_size(fx->out), 0);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM vfs"), 8);
    session_t *host = sessions_find(fx->sessions, "hv-1");
    assert_int_equal(host->generation, 7);
    assert_true(host->have_inventory);

    /* An inventory and a heartbeat at its generation in one burst: the
     * heartbeat is judged against what the burst stored. */
    agents_handle(fx->agents, fx->route, NULL,
                  inv = peer_inventory_new("hv-1", 8, 2, 4, 1), fx->out);
    vfp_msg_t *beat = s_heartbeat(8, 3);
    agents_handle(fx->agents, fx->route, NULL, beat, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&inv);
    vfp_msg_destroy(&beat);
    assert_int_equal(zlistx_size(fx->out), 0);

    /* A generation never stored: ask for a full inventory, once. */
    s_burst(fx, s_heartbeat(9, 4));
    s_expect_error(fx, VFP_ERR_RESYNC, 4);
    s_burst(fx, s_heartbeat(9, 5));
    assert_int_equal(zlistx_size(fx->out), 0);

    /* A broken rule is INVALID and stores nothing. */
    inv = peer_inventory_new("hv-1", 10, 2, 4, 2);
    inv->u.inventory.pfs[0].num_vfs = 3;
    inv->request_id = 6;
    s_burst(fx, inv);
    s_expect_error(fx, VFP_ERR_INVALID, 6);
    assert_int_equal(host->generation, 8);
}

static void test_error_is_never_answered(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
    error->u.error.code = VFP_ERR_INTERNAL;
    s_burst(fx, error);
    assert_int_equal(zlistx_size(fx->out), 0);
    s_join(fx, "hv-1");
    error = vfp_msg_new(VFP_ERROR);
    error->u.error.code = VFP_ERR_UNEXPECTED;
    s_burst(fx, error);
    assert_int_equal(zlistx_size(fx->out), 0);

    /* Undecodable: an ERROR stays unanswered; anything else gets
     * MALFORMED with the request id its header carried. */
    const uint8_t bad_error[] = {'V', 'F', 1, VFP_ERROR, 0, 0, 0, 9, 0, 99};
    vfp_decode_error_t err;
    assert_null(vfp_decode(bad_error, sizeof(bad_error), &err));
    agents_handle_undecodable(fx->agents, fx->route, &err, fx->out);
    assert_int_equal(zlistx_size(fx->out), 0);
    const uint8_t bad_beat[] = {'V', 'F', 1, VFP_HEARTBEAT, 0, 0, 1, 2, 0};
    assert_null(vfp_decode(bad_beat, sizeof(bad_beat), &err));
    agents_handle_undecodable(fx->agents, fx->route, &err, fx->out);
    s_expect_error(fx, VFP_ERR_MALFORMED, 258);
    const uint8_t new_version[] = {'V', 'F', 9, VFP_HELLO, 0, 0, 0, 3};
    assert_null(vfp_decode(new_version, sizeof(new_version), &err));
    agents_handle_undecodable(fx->agents, fx->route, &err, fx->out);
    s_expect_error(fx, VFP_ERR_VERSION, 3);
}

/* A write that makes COMMIT fail, as a full disk does: a deferred foreign
 * key violation passes every statement and fails only the commit. */
static void s_break_commits_on(fixture_t *fx, const char *event)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE t_broken (x INTEGER REFERENCES hosts(id)"
             " DEFERRABLE INITIALLY DEFERRED);"
             "CREATE TRIGGER t_break AFTER %s"
             " BEGIN INSERT INTO t_broken VALUES (-1); END;",
             event);
    s_sql(fx, sql);
}

static void test_failed_commit_welcomes_nobody(void **state)
{
    fixture_t *fx = *state;
    s_break_commits_on(fx, "INSERT ON hosts");
    s_burst(fx, s_hello("hv-1", 12));
    s_expect_error(fx, VFP_ERR_INTERNAL, 12);
    assert_null(sessions_find(fx->sessions, "hv-1"));
    assert_int_equal(sessions_connected(fx->sessions), 0);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM hosts"), 0);
    /* Not welcomed, so the agent's next message gets NOT_WELCOME and it
     * says HELLO again; once writes succeed it is registered. */
    s_burst(fx, s_heartbeat(0, 13));
    s_expect_error(fx, VFP_ERR_NOT_WELCOME, 13);
    s_sql(fx, "DROP TRIGGER t_break");
    s_join(fx, "hv-1");
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM hosts"), 1);
}

static void test_failed_commit_asks_for_the_inventory_again(void **state)
{
    fixture_t *fx = *state;
    s_join(fx, "hv-1");
    s_break_commits_on(fx, "UPDATE OF generation ON hosts");
    s_burst(fx, peer_inventory_new("hv-1", 3, 1, 4, 0));
    assert_int_equal(zlistx_size(fx->out), 0);
    session_t *host = sessions_find(fx->sessions, "hv-1");
    assert_false(host->have_inventory);
    assert_int_equal(host->generation, 0);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM vfs"), 0);
    /* The next heartbeat asks for it; stored once writes succeed. */
    s_burst(fx, s_heartbeat(3, 20));
    s_expect_error(fx, VFP_ERR_RESYNC, 20);
    s_sql(fx, "DROP TRIGGER t_break");
    s_burst(fx, peer_inventory_new("hv-1", 3, 1, 4, 0));
    assert_int_equal(zlistx_size(fx->out), 0);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM vfs"), 4);
    assert_int_equal(host->generation, 3);
    s_burst(fx, s_heartbeat(3, 21));
    assert_int_equal(zlistx_size(fx->out), 0);
}

static void test_silent_host_goes_down_and_comes_back(void **state)
{
    fixture_t *fx = *state;
    s_join(fx, "hv-1");
    agents_check_liveness(fx->agents, zclock_mono());
    assert_int_equal(sessions_connected(fx->sessions), 1);
    agents_check_liveness(fx->agents, zclock_mono() + 301);
    session_facts_t facts;
    assert_true(sessions_peek(fx->sessions, "hv-1", &facts));
    assert_false(facts.connected);
    assert_int_equal(
        test_db_file_int(
            fx->file.path,
            "SELECT state = 'down' FROM hosts WHERE name = 'hv-1'"),
        1);
    assert_int_equal(
        test_db_file_int(
            fx->file.path,
            "SELECT count(*) FROM events WHERE kind = 'host-down'"),
        1);
    s_burst(fx, s_heartbeat(0, 30));
    assert_int_equal(sessions_connected(fx->sessions), 1);
    assert_int_equal(
        test_db_file_int(
            fx->file.path,
            "SELECT state = 'ready' FROM hosts WHERE name = 'hv-1'"),
        1);
}

static void test_one_burst_records_each_change_once(void **state)
{
    fixture_t *fx = *state;
    /* Two HELLOs of one host in one burst: one registration. */
    vfp_msg_t *first = s_hello("hv-1", 1), *second = s_hello("hv-1", 2);
    agents_handle(fx->agents, fx->route, NULL, first, fx->out);
    agents_handle(fx->agents, fx->route, NULL, second, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&first);
    vfp_msg_destroy(&second);
    assert_int_equal(zlistx_size(fx->out), 2);
    zlistx_purge(fx->out);
    assert_int_equal(
        test_db_file_int(
            fx->file.path,
            "SELECT count(*) FROM events WHERE kind = 'host-registered'"),
        1);
    /* Two messages of a down host in one burst: one host-up. */
    agents_check_liveness(fx->agents, zclock_mono() + 301);
    vfp_msg_t *a = s_heartbeat(0, 3), *b = s_heartbeat(0, 4);
    agents_handle(fx->agents, fx->route, NULL, a, fx->out);
    agents_handle(fx->agents, fx->route, NULL, b, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&a);
    vfp_msg_destroy(&b);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM events WHERE kind = 'host-up'"),
        1);
    assert_int_equal(sessions_connected(fx->sessions), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_is_the_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_hello_is_welcomed_after_commit,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hello_refusals, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_hellos_in_one_burst, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_inventory_needs_hello, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_inventory_and_heartbeat_generations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_error_is_never_answered, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_welcomes_nobody,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_failed_commit_asks_for_the_inventory_again, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_silent_host_goes_down_and_comes_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_burst_records_each_change_once,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
