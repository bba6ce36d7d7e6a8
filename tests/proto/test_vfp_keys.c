/* test_vfp_keys.c - the key directory on real files: init, add, import,
 * revoke, list, the secret file mode check, and a CURVE connection made
 * with the certificates it writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfp_keys.h"

typedef struct {
    char dir[64];
    char keys[128];
    char err[512];
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vfp-keys-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* A parent that does not exist yet is made too. */
    snprintf(f->keys, sizeof(f->keys), "%s/state/keys", f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* A file that is not a certificate, or is too long to be one, is
 * refused with its name (and, under ASan, without a leak). */
static void test_not_a_certificate(void **state)
{
    s_fixture_t *f = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/junk.key", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs("not a certificate\n", out);
    fclose(out);
    assert_null(vfp_keys_load_public(path, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, "junk.key is not a certificate"));
    out = fopen(path, "w");
    assert_non_null(out);
    for (int i = 0; i <= VFP_KEYS_FILE_MAX / 8; i++)
        fputs("#comment", out);
    fclose(out);
    assert_null(vfp_keys_load_public(path, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, "is not a certificate"));
}

static void test_init_writes_a_private_pair(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(vfp_keys_init(f->keys, false, f->err, sizeof(f->err)), 0);
    char path[256];
    assert_int_equal(s_mode(f->keys), 0700);
    snprintf(path, sizeof(path), "%s/controller.key_secret", f->keys);
    assert_int_equal(s_mode(path), 0600);
    zcert_t *cert = vfp_keys_load_secret(path, f->err, sizeof(f->err));
    assert_non_null(cert);
    zcert_destroy(&cert);
    /* Not replaced without force. */
    assert_int_equal(vfp_keys_init(f->keys, false, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "--force"));
    assert_int_equal(vfp_keys_init(f->keys, true, f->err, sizeof(f->err)), 0);
}

static void test_secret_readable_by_others_is_refused(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(vfp_keys_init(f->keys, false, f->err, sizeof(f->err)), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/controller.key_secret", f->keys);
    assert_int_equal(chmod(path, 0644), 0);
    assert_null(vfp_keys_load_secret(path, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, path));
    assert_non_null(strstr(f->err, "0644"));
    assert_int_equal(chmod(path, 0620), 0);
    assert_null(vfp_keys_load_secret(path, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, "0620"));
    /* A public certificate has no secret to load. */
    snprintf(path, sizeof(path), "%s/controller.key", f->keys);
    assert_int_equal(chmod(path, 0600), 0);
    assert_null(vfp_keys_load_secret(path, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, "no secret key"));
}

static int s_add(s_fixture_t *f, vfp_keys_kind_t kind, const char *name,
                 const char *role, const char *public_z85)
{
    char out[256];
    snprintf(out, sizeof(out), "%s/%s.key_secret", f->dir, name);
    vfp_keys_add_t add = {.kind = kind,
                          .name = name,
                          .role = role,
                          .public_z85 = public_z85,
                          .secret_out = out};
    return vfp_keys_add(f->keys, &add, f->err, sizeof(f->err));
}

/* Whoever may write in the key directory may authorise a key: a folder
 * group or others may write in is refused, naming it, its mode and the
 * fix; one that does not exist yet is fine. */
static void test_writable_key_directory_is_refused(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(vfp_keys_init(f->keys, false, f->err, sizeof(f->err)), 0);
    assert_int_equal(vfp_keys_dir_check(f->keys, f->err, sizeof(f->err)), 0);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), 0);
    char hosts[256];
    snprintf(hosts, sizeof(hosts), "%s/authorized/hosts", f->keys);
    assert_int_equal(vfp_keys_dir_check(f->keys, f->err, sizeof(f->err)), 0);
    const char *const folders[] = {f->keys, hosts};
    const mode_t modes[] = {0770, 0702, 0777};
    for (size_t i = 0; i < 2; i++) {
        for (size_t m = 0; m < 3; m++) {
            assert_int_equal(chmod(folders[i], modes[m]), 0);
            assert_int_equal(
                vfp_keys_dir_check(f->keys, f->err, sizeof(f->err)), -1);
            char want[512];
            snprintf(want, sizeof(want),
                     "key directory %s has mode %04o: group or others may "
                     "write in it and so authorise keys; chmod go-w %s",
                     folders[i], (unsigned)modes[m], folders[i]);
            assert_string_equal(f->err, want);
        }
        assert_int_equal(chmod(folders[i], 0755), 0);
    }
    assert_int_equal(vfp_keys_dir_check(f->keys, f->err, sizeof(f->err)), 0);
}

static void test_add_list_revoke(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-02", "host", NULL), 0);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), 0);
    assert_int_equal(s_add(f, VFP_KEYS_ADMIN, "alice", "read-only", NULL), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/hv-01.key_secret", f->dir);
    assert_int_equal(s_mode(path), 0600);
    zcert_t *secret = vfp_keys_load_secret(path, f->err, sizeof(f->err));
    assert_non_null(secret);
    assert_string_equal(zcert_meta(secret, "name"), "hv-01");
    assert_string_equal(zcert_meta(secret, "role"), "host");

    vfp_keys_entry_t *entries;
    assert_int_equal(vfp_keys_list(f->keys, &entries, f->err, sizeof(f->err)),
                     3);
    assert_string_equal(entries[0].name, "hv-01");
    assert_int_equal(entries[0].kind, VFP_KEYS_HOST);
    assert_string_equal(entries[0].public_z85, zcert_public_txt(secret));
    assert_string_equal(entries[1].name, "hv-02");
    assert_string_equal(entries[2].name, "alice");
    assert_string_equal(entries[2].role, "read-only");
    free(entries);
    zcert_destroy(&secret);

    vfp_keys_stamp_t before, after;
    vfp_keys_stamp(f->keys, &before);
    usleep(20000);
    assert_int_equal(
        vfp_keys_revoke(f->keys, NULL, "hv-01", f->err, sizeof(f->err)), 0);
    vfp_keys_stamp(f->keys, &after);
    assert_false(vfp_keys_stamp_equal(&before, &after));
    assert_int_equal(vfp_keys_list(f->keys, &entries, f->err, sizeof(f->err)),
                     2);
    free(entries);
    assert_int_equal(
        vfp_keys_revoke(f->keys, NULL, "hv-01", f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "no host or admin key named hv-01"));
}

static void test_add_refusals(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), 0);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), -1);
    assert_non_null(strstr(f->err, "already has a key"));
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "bad_name", "host", NULL), -1);
    assert_non_null(strstr(f->err, "invalid name bad_name"));
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "-x", "host", NULL), -1);
    /* The secret file is never overwritten. */
    assert_int_equal(
        vfp_keys_revoke(f->keys, NULL, "hv-01", f->err, sizeof(f->err)), 0);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), -1);
    assert_non_null(strstr(f->err, "not overwritten"));
}

static void test_import_public_key(void **state)
{
    s_fixture_t *f = *state;
    zcert_t *cert = zcert_new();
    char z85[VFP_KEYS_Z85_LEN + 1];
    snprintf(z85, sizeof(z85), "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-07", "host", z85), 0);
    char out[256];
    snprintf(out, sizeof(out), "%s/hv-07.key_secret", f->dir);
    assert_int_equal(access(out, F_OK), -1);
    /* The same key under another name, of either kind, is refused. */
    assert_int_equal(s_add(f, VFP_KEYS_ADMIN, "bob", "admin", z85), -1);
    assert_non_null(strstr(f->err, "already authorised as host hv-07"));
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-08", "host", "short"), -1);
    assert_non_null(strstr(f->err, "not a Z85 public key"));
    vfp_keys_entry_t *entries;
    assert_int_equal(vfp_keys_list(f->keys, &entries, f->err, sizeof(f->err)),
                     1);
    assert_string_equal(entries[0].public_z85, z85);
    free(entries);
}

static void test_revoke_needs_kind_when_ambiguous(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "ops", "host", NULL), 0);
    char out[256];
    snprintf(out, sizeof(out), "%s/ops-admin.key_secret", f->dir);
    vfp_keys_add_t add = {.kind = VFP_KEYS_ADMIN,
                          .name = "ops",
                          .role = "admin",
                          .secret_out = out};
    assert_int_equal(vfp_keys_add(f->keys, &add, f->err, sizeof(f->err)), 0);
    assert_int_equal(
        vfp_keys_revoke(f->keys, NULL, "ops", f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "--host or --admin"));
    vfp_keys_kind_t admin = VFP_KEYS_ADMIN;
    assert_int_equal(
        vfp_keys_revoke(f->keys, &admin, "ops", f->err, sizeof(f->err)), 0);
    vfp_keys_entry_t *entries;
    assert_int_equal(vfp_keys_list(f->keys, &entries, f->err, sizeof(f->err)),
                     1);
    assert_int_equal(entries[0].kind, VFP_KEYS_HOST);
    free(entries);
}

/* The files work as CURVE certificates: an authorised client talks, its
 * metadata arrives with its messages, an unknown one is never heard. */
static void test_curve_with_written_keys(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(vfp_keys_init(f->keys, false, f->err, sizeof(f->err)), 0);
    assert_int_equal(s_add(f, VFP_KEYS_HOST, "hv-01", "host", NULL), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED, f->keys);
    zactor_t *auth = zactor_new(zauth, NULL);
    assert_int_equal(zstr_sendx(auth, "CURVE", path, NULL), 0);
    assert_int_equal(zsock_wait(auth), 0);

    snprintf(path, sizeof(path), "%s/controller.key_secret", f->keys);
    zcert_t *server_cert = vfp_keys_load_secret(path, f->err, sizeof(f->err));
    snprintf(path, sizeof(path), "%s/controller.key", f->keys);
    zcert_t *server_public = vfp_keys_load_public(path, f->err, sizeof(f->err));
    snprintf(path, sizeof(path), "%s/hv-01.key_secret", f->dir);
    zcert_t *client_cert = vfp_keys_load_secret(path, f->err, sizeof(f->err));
    assert_non_null(server_cert);
    assert_non_null(server_public);
    assert_non_null(client_cert);

    zsock_t *server = zsock_new(ZMQ_ROUTER);
    vfp_keys_apply_server(server, server_cert);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_set_rcvtimeo(server, 2000);

    zsock_t *stranger = zsock_new(ZMQ_DEALER);
    zcert_t *unknown = zcert_new();
    vfp_keys_apply_client(stranger, unknown, server_public);
    assert_int_equal(zsock_connect(stranger, "tcp://127.0.0.1:%d", port), 0);
    zstr_send(stranger, "stranger");

    zsock_t *client = zsock_new(ZMQ_DEALER);
    vfp_keys_apply_client(client, client_cert, server_public);
    assert_int_equal(zsock_connect(client, "tcp://127.0.0.1:%d", port), 0);
    zstr_send(client, "hello");

    zmsg_t *msg = zmsg_recv(server);
    assert_non_null(msg);
    zframe_t *body = zmsg_last(msg);
    assert_true(zframe_streq(body, "hello"));
    assert_string_equal(zframe_meta(body, "name"), "hv-01");
    assert_string_equal(zframe_meta(body, "role"), "host");
    /* The ROUTER gives its routing id frame the same metadata. */
    assert_string_equal(zframe_meta(zmsg_first(msg), "name"), "hv-01");
    assert_non_null(zframe_meta(zmsg_first(msg), "User-Id"));
    assert_string_equal(zframe_meta(body, "User-Id"),
                        zcert_public_txt(client_cert));
    zmsg_destroy(&msg);
    zsock_set_rcvtimeo(server, 300);
    assert_null(zmsg_recv(server));

    zsock_destroy(&client);
    zsock_destroy(&stranger);
    zsock_destroy(&server);
    zcert_destroy(&unknown);
    zcert_destroy(&client_cert);
    zcert_destroy(&server_public);
    zcert_destroy(&server_cert);
    zactor_destroy(&auth);
}

/* Receives one frame of exactly size bytes on sock (a ROUTER's routing id
 * frame skipped); false on timeout or another size. */
static bool s_recv_size(zsock_t *sock, size_t size)
{
    zmsg_t *msg = zmsg_recv(sock);
    bool ok = msg && zframe_size(zmsg_last(msg)) == size;
    zmsg_destroy(&msg);
    return ok;
}

/* libzmq checks ZMQ_MAXMSGSIZE on the encrypted frame: a message of
 * exactly VFP_MSG_MAX must still pass both ways once vfp_socket_limit and
 * the CURVE options are set, and one byte more must not. */
static void test_curve_frame_limit(void **state)
{
    (void)state;
    zcert_t *server_cert = zcert_new();
    zcert_t *client_cert = zcert_new();
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    vfp_socket_limit(server);
    vfp_keys_apply_server(server, server_cert);
    assert_int_equal(zsock_maxmsgsize(server),
                     VFP_MSG_MAX + VFP_KEYS_CURVE_OVERHEAD);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_set_rcvtimeo(server, 120000); /* 16 MiB over CURVE under valgrind */
    zsock_t *client = zsock_new(ZMQ_DEALER);
    vfp_socket_limit(client);
    vfp_keys_apply_client(client, client_cert, server_cert);
    zsock_set_rcvtimeo(client, 120000);
    assert_int_equal(zsock_connect(client, "tcp://127.0.0.1:%d", port), 0);

    uint8_t *data = calloc(VFP_MSG_MAX + 1, 1);
    assert_non_null(data);
    zframe_t *frame = zframe_new(data, VFP_MSG_MAX);
    assert_int_equal(zframe_send(&frame, client, 0), 0);
    zmsg_t *got = zmsg_recv(server);
    assert_non_null(got);
    assert_int_equal(zframe_size(zmsg_last(got)), VFP_MSG_MAX);
    zframe_t *id = zmsg_pop(got);
    zmsg_destroy(&got);
    zframe_send(&id, server, ZFRAME_MORE);
    frame = zframe_new(data, VFP_MSG_MAX);
    assert_int_equal(zframe_send(&frame, server, 0), 0);
    assert_true(s_recv_size(client, VFP_MSG_MAX));

    frame = zframe_new(data, VFP_MSG_MAX + 1);
    assert_int_equal(zframe_send(&frame, client, 0), 0);
    zsock_set_rcvtimeo(server, 500);
    assert_false(s_recv_size(server, VFP_MSG_MAX + 1));

    free(data);
    zsock_destroy(&client);
    zsock_destroy(&server);
    zcert_destroy(&client_cert);
    zcert_destroy(&server_cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_a_certificate, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_init_writes_a_private_pair,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_secret_readable_by_others_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_add_list_revoke, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_writable_key_directory_is_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_add_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_import_public_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_revoke_needs_kind_when_ambiguous,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_curve_frame_limit),
        cmocka_unit_test_setup_teardown(test_curve_with_written_keys, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
