/* test_zap.c - the controller's ZAP handler: each request answered as RFC
 * 27 says (200 with the key's User-Id, name and role; 400 for an unknown
 * key, another mechanism or a malformed request), and behind a real CURVE
 * ROUTER started by the keyring: an authorised key's messages carry its
 * identity, an unknown key gets nothing, and a revoked key's next
 * handshake is refused at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "keyset.h"
#include "test_keydir.h"
#include "vfp_keys.h"
#include "zap.h"

/* A ZAP request as libzmq sends it; key may be NULL (no credential). */
static zmsg_t *s_request(const char *version, const char *mechanism,
                         const uint8_t *key, size_t key_size)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, version);
    zmsg_addstr(msg, "7");
    zmsg_addstr(msg, "vfleet");
    zmsg_addstr(msg, "127.0.0.1");
    zmsg_addstr(msg, "");
    zmsg_addstr(msg, mechanism);
    if (key)
        zmsg_addmem(msg, key, key_size);
    return msg;
}

/* The reply's status code; checks the frames every reply has. */
static char *s_status(zmsg_t *reply, char **user_p, zframe_t **meta_p)
{
    assert_int_equal(zmsg_size(reply), 6);
    char *version = zmsg_popstr(reply), *sequence = zmsg_popstr(reply);
    assert_string_equal(version, "1.0");
    assert_string_equal(sequence, "7");
    char *status = zmsg_popstr(reply), *text = zmsg_popstr(reply);
    *user_p = zmsg_popstr(reply);
    *meta_p = zmsg_pop(reply);
    zstr_free(&version);
    zstr_free(&sequence);
    zstr_free(&text);
    return status;
}

static void test_answers(void **state)
{
    test_keydir_t *fx = *state;
    zcert_t *cert =
        test_keydir_add(fx, VFP_KEYS_HOST, "hv-01", VFP_KEYS_ROLE_HOST);
    keyset_t *keys = keyset_new(fx->dir, 0);
    struct {
        const char *version, *mechanism;
        const uint8_t *key;
        size_t size;
        const char *status;
    } cases[] = {
        {"1.0", "CURVE", zcert_public_key(cert), 32, "200"},
        {"1.0", "CURVE", (const uint8_t *)"0123456789abcdef0123456789abcdef",
         32, "400"},
        {"1.0", "PLAIN", zcert_public_key(cert), 32, "400"},
        {"1.0", "NULL", NULL, 0, "400"},
        {"2.0", "CURVE", zcert_public_key(cert), 32, "400"},
        {"1.0", "CURVE", zcert_public_key(cert), 31, "400"},
        {"1.0", "CURVE", NULL, 0, "400"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        zmsg_t *req = s_request(cases[i].version, cases[i].mechanism,
                                cases[i].key, cases[i].size);
        zmsg_t *reply = zap_answer(keys, req);
        char *user;
        zframe_t *meta;
        char *status = s_status(reply, &user, &meta);
        assert_string_equal(status, cases[i].status);
        if (streq(status, "200")) {
            assert_string_equal(user, zcert_public_txt(cert));
            /* name (4) "hv-01" (5), role (4) "host" (4), RFC 23 form */
            static const uint8_t want[] = {
                4, 'n', 'a', 'm', 'e', 0, 0, 0, 5, 'h', 'v', '-', '0', '1',
                4, 'r', 'o', 'l', 'e', 0, 0, 0, 4, 'h', 'o', 's', 't'};
            assert_int_equal(zframe_size(meta), sizeof(want));
            assert_memory_equal(zframe_data(meta), want, sizeof(want));
        } else {
            assert_string_equal(user, "");
            assert_int_equal(zframe_size(meta), 0);
        }
        zstr_free(&status);
        zstr_free(&user);
        zframe_destroy(&meta);
        zmsg_destroy(&reply);
        zmsg_destroy(&req);
    }
    /* An extra frame after the key is malformed too. */
    zmsg_t *req = s_request("1.0", "CURVE", zcert_public_key(cert), 32);
    zmsg_addstr(req, "extra");
    zmsg_t *reply = zap_answer(keys, req);
    char *user, *status;
    zframe_t *meta;
    status = s_status(reply, &user, &meta);
    assert_string_equal(status, "400");
    zstr_free(&status);
    zstr_free(&user);
    zframe_destroy(&meta);
    zmsg_destroy(&reply);
    zmsg_destroy(&req);
    keyset_destroy(&keys);
    zcert_destroy(&cert);
}

/* A CURVE DEALER with cert to endpoint, trusting the controller's key. */
static zsock_t *s_client(test_keydir_t *fx, zcert_t *cert, const char *endpoint)
{
    char path[160], err[512];
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_CONTROLLER, fx->dir);
    zcert_t *server = vfp_keys_load_public(path, err, sizeof(err));
    assert_non_null(server);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    vfp_keys_apply_client(sock, cert, server);
    zsock_set_linger(sock, 0);
    assert_int_equal(zsock_connect(sock, "%s", endpoint), 0);
    zcert_destroy(&server);
    zstr_send(sock, "hello");
    return sock;
}

/* The next message on router within timeout_ms: its frame's identity. */
static bool s_received(zsock_t *router, int timeout_ms, vfp_keys_peer_t *peer)
{
    zpoller_t *poller = zpoller_new(router, NULL);
    bool got = zpoller_wait(poller, timeout_ms) != NULL;
    zpoller_destroy(&poller);
    if (got) {
        zmsg_t *msg = zmsg_recv(router);
        vfp_keys_peer(zmsg_last(msg), peer);
        zmsg_destroy(&msg);
    }
    return got;
}

static void test_real_handshakes(void **state)
{
    test_keydir_t *fx = *state;
    char err[1024], endpoint[64];
    keyring_t *ring = keyring_new(fx->dir, err, sizeof(err));
    assert_non_null(ring);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    keyring_apply_server(ring, router);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", port);
    zcert_t *admin =
        test_keydir_add(fx, VFP_KEYS_ADMIN, "ops", VFP_KEYS_ROLE_READ_ONLY);
    zsock_t *client = s_client(fx, admin, endpoint);
    vfp_keys_peer_t peer;
    assert_true(s_received(router, 5000, &peer));
    assert_true(peer.keyed);
    assert_string_equal(peer.public_z85, zcert_public_txt(admin));
    assert_string_equal(peer.name, "ops");
    assert_string_equal(peer.role, VFP_KEYS_ROLE_READ_ONLY);
    zsock_destroy(&client);
    /* A key the directory does not hold. */
    zcert_t *stranger = zcert_new();
    client = s_client(fx, stranger, endpoint);
    assert_false(s_received(router, 500, &peer));
    zsock_destroy(&client);
    /* Revoked: the next handshake is refused at once, no second wait. */
    test_keydir_revoke(fx, VFP_KEYS_ADMIN, "ops");
    client = s_client(fx, admin, endpoint);
    assert_false(s_received(router, 500, &peer));
    zsock_destroy(&client);
    zcert_destroy(&stranger);
    zcert_destroy(&admin);
    zsock_destroy(&router);
    keyring_destroy(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers, test_keydir_setup,
                                        test_keydir_teardown),
        cmocka_unit_test_setup_teardown(test_real_handshakes, test_keydir_setup,
                                        test_keydir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
