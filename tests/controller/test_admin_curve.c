/* test_admin_curve.c - the admin server actor behind a real CURVE ROUTER
 * with the controller's ZAP handler (zap.h), as the controller runs it on
 * a tcp admin endpoint: each
 * request's role comes from its client's certificate (ADMIN.md, "Access"),
 * a refused write never reaches the main thread, a key revoked while its
 * connection is open is refused from then on, and a plaintext client gets
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "test_db_file.h"
#include "vfp_keys.h"
#include "vfp_transport.h"
#include "zap.h"

typedef struct {
    test_db_file_t file;
    db_t *db, *reader;
    sessions_t *sessions;
    admin_t *admin;
    zap_args_t zap;
    zactor_t *auth;
    zcert_t *server_cert;
    zsock_t *router;
    admin_server_args_t args;
    zactor_t *server;
    char endpoint[64];
    char dir[160];
} fixture_t;

/* A key authorised by the key module (vfleetctl keys add-host or
 * add-admin); returns its secret certificate. */
static zcert_t *s_client_cert(fixture_t *fx, const char *kind, const char *name,
                              const char *role)
{
    char secret[256], err[512];
    snprintf(secret, sizeof(secret), "%s/%s.key_secret", fx->file.dir, name);
    vfp_keys_add_t add = {.kind = strcmp(kind, "hosts") == 0 ? VFP_KEYS_HOST
                                                             : VFP_KEYS_ADMIN,
                          .name = name,
                          .role = role,
                          .secret_out = secret};
    if (vfp_keys_add(fx->dir, &add, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    zcert_t *cert = vfp_keys_load_secret(secret, err, sizeof(err));
    if (!cert)
        fail_msg("%s", err);
    return cert;
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "admin-curve");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    fx->reader = db_open_readonly(fx->file.path, &err);
    fx->sessions = sessions_new();
    admin_config_t cfg = {.controller_id = "ctl-test", .heartbeat_ms = 2000};
    fx->admin = admin_new(fx->reader, fx->sessions, &cfg);
    snprintf(fx->dir, sizeof(fx->dir), "%s/keys", fx->file.dir);
    char errtext[512], path[256];
    assert_int_equal(vfp_keys_init(fx->dir, false, errtext, sizeof(errtext)),
                     0);
    fx->zap.dir = fx->dir;
    fx->zap.handler = zap_handler_new(errtext, sizeof(errtext));
    assert_non_null(fx->zap.handler);
    fx->auth = zactor_new(zap_actor, &fx->zap);
    assert_non_null(fx->auth);
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_CONTROLLER "_secret", fx->dir);
    fx->server_cert = vfp_keys_load_secret(path, errtext, sizeof(errtext));
    assert_non_null(fx->server_cert);
    fx->router = zsock_new(ZMQ_ROUTER);
    vfp_keys_apply_server(fx->router, fx->server_cert);
    int port = zsock_bind(fx->router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    snprintf(fx->endpoint, sizeof(fx->endpoint), "tcp://127.0.0.1:%d", port);
    fx->args = (admin_server_args_t){
        .sock = fx->router, .admin = fx->admin, .keys_dir = fx->dir};
    fx->server = zactor_new(admin_server_actor, &fx->args);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    zactor_destroy(&fx->server);
    zsock_destroy(&fx->router);
    zactor_destroy(&fx->auth);
    zcert_destroy(&fx->server_cert);
    admin_destroy(&fx->admin);
    sessions_destroy(&fx->sessions);
    db_destroy(&fx->reader);
    db_destroy(&fx->db);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* A DEALER to the fixture's endpoint: a CURVE client with cert, or
 * plaintext when cert is NULL. */
static zsock_t *s_client(fixture_t *fx, zcert_t *cert)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    assert_non_null(sock);
    if (cert)
        vfp_keys_apply_client(sock, cert, fx->server_cert);
    zsock_set_rcvtimeo(sock, 3000);
    zsock_set_linger(sock, 0);
    assert_int_equal(zsock_connect(sock, "%s", fx->endpoint), 0);
    return sock;
}

/* Sends a REQUEST for verb; returns the answer, or NULL after timeout_ms. */
static vfp_msg_t *s_call(zsock_t *sock, const char *verb, int timeout_ms)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 9;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    vfp_decode_error_t err;
    assert_int_equal(vfp_send(sock, NULL, req, &err), 0);
    vfp_msg_destroy(&req);
    zsock_set_rcvtimeo(sock, timeout_ms);
    return vfp_recv(sock, NULL, &err);
}

/* Whether the actor forwarded a write to the main thread within 200 ms. */
static bool s_forwarded(fixture_t *fx)
{
    zpoller_t *poller = zpoller_new(zactor_sock(fx->server), NULL);
    bool ready = zpoller_wait(poller, 200) != NULL;
    zpoller_destroy(&poller);
    return ready;
}

static void test_read_only_key(void **state)
{
    fixture_t *fx = *state;
    zcert_t *cert =
        s_client_cert(fx, "admins", "ops-ro", VFP_KEYS_ROLE_READ_ONLY);
    zsock_t *client = s_client(fx, cert);
    vfp_msg_t *reply = s_call(client, "hosts", 3000);
    assert_non_null(reply);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    const char *writes[] = {"policy.apply", "vm.create", "host.cordon"};
    for (size_t i = 0; i < sizeof(writes) / sizeof(*writes); i++) {
        reply = s_call(client, writes[i], 3000);
        assert_non_null(reply);
        assert_int_equal(reply->u.reply.status, VFP_ERR_DENIED);
        char want[128];
        snprintf(want, sizeof(want),
                 "admin key ops-ro is read-only: %s changes the cluster",
                 writes[i]);
        assert_string_equal(reply->u.reply.error, want);
        vfp_msg_destroy(&reply);
    }
    assert_false(s_forwarded(fx));
    zsock_destroy(&client);
    zcert_destroy(&cert);
}

static void test_admin_key_reaches_main_thread(void **state)
{
    fixture_t *fx = *state;
    zcert_t *cert = s_client_cert(fx, "admins", "ops", VFP_KEYS_ROLE_ADMIN);
    zsock_t *client = s_client(fx, cert);
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 5;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "policy.apply");
    vfp_decode_error_t err;
    assert_int_equal(vfp_send(client, NULL, req, &err), 0);
    vfp_msg_destroy(&req);
    assert_true(s_forwarded(fx));
    zframe_t *from = NULL;
    vfp_msg_t *forwarded = admin_write_recv(zactor_sock(fx->server), &from);
    assert_non_null(forwarded);
    assert_string_equal(forwarded->u.request.verb, "policy.apply");
    vfp_msg_t *answer = vfp_msg_new(VFP_REPLY);
    answer->request_id = forwarded->request_id;
    admin_write_answer(zactor_sock(fx->server), &from, &answer);
    vfp_msg_t *reply = vfp_recv(client, NULL, &err);
    assert_non_null(reply);
    assert_int_equal(reply->request_id, 5);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&forwarded);
    zsock_destroy(&client);
    zcert_destroy(&cert);
}

/* The main loop may call admin_write_recv after a timer's drain took the
 * write its poll saw: with nothing queued it returns at once instead of
 * holding the loop until the next write (the alarm ends a test that
 * blocks). */
static void test_write_recv_never_waits(void **state)
{
    fixture_t *fx = *state;
    zframe_t *from = NULL;
    alarm(5);
    assert_null(admin_write_recv(zactor_sock(fx->server), &from));
    alarm(0);
    assert_null(from);
}

static void test_host_key_and_plaintext(void **state)
{
    fixture_t *fx = *state;
    zcert_t *cert = s_client_cert(fx, "hosts", "hv-01", VFP_KEYS_ROLE_HOST);
    zsock_t *client = s_client(fx, cert);
    vfp_msg_t *reply = s_call(client, "summary", 3000);
    assert_non_null(reply);
    assert_int_equal(reply->u.reply.status, VFP_ERR_DENIED);
    assert_non_null(strstr(reply->u.reply.error, "key hv-01 is a host's key"));
    vfp_msg_destroy(&reply);
    zsock_destroy(&client);
    zcert_destroy(&cert);
    /* No key: the handshake never completes, nothing is answered. */
    zsock_t *plain = s_client(fx, NULL);
    assert_null(s_call(plain, "summary", 500));
    zsock_destroy(&plain);
    /* A key the key directory does not authorise: the same. */
    zcert_t *stranger = zcert_new();
    zsock_t *unknown = s_client(fx, stranger);
    assert_null(s_call(unknown, "summary", 500));
    zsock_destroy(&unknown);
    zcert_destroy(&stranger);
}

static void test_revoked_key_refused_on_open_connection(void **state)
{
    fixture_t *fx = *state;
    zcert_t *cert = s_client_cert(fx, "admins", "ops", VFP_KEYS_ROLE_ADMIN);
    zsock_t *client = s_client(fx, cert);
    vfp_msg_t *reply = s_call(client, "hosts", 3000);
    assert_non_null(reply);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    char err[512];
    vfp_keys_kind_t admins = VFP_KEYS_ADMIN;
    assert_int_equal(vfp_keys_revoke(fx->dir, &admins, "ops", err, sizeof(err)),
                     0);
    /* The same connection, still open: refused once the actor has read
     * the directory again (at most KEYSET_CHECK_MS later). */
    int status = VFP_OK;
    for (int i = 0; i < 40 && status == VFP_OK; i++) {
        reply = s_call(client, "hosts", 3000);
        assert_non_null(reply);
        status = reply->u.reply.status;
        if (status == VFP_ERR_DENIED)
            assert_string_equal(reply->u.reply.error,
                                "admin key ops was revoked");
        vfp_msg_destroy(&reply);
        if (status == VFP_OK)
            zclock_sleep(100);
    }
    assert_int_equal(status, VFP_ERR_DENIED);
    reply = s_call(client, "policy.apply", 3000);
    assert_non_null(reply);
    assert_int_equal(reply->u.reply.status, VFP_ERR_DENIED);
    vfp_msg_destroy(&reply);
    assert_false(s_forwarded(fx));
    zsock_destroy(&client);
    zcert_destroy(&cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_only_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_admin_key_reaches_main_thread,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_recv_never_waits, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_host_key_and_plaintext, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_revoked_key_refused_on_open_connection, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
