/* test_keyring.c - the controller's set of authorised keys against its
 * key directory, changed under it as vfleetctl keys changes it: a key
 * authorised after the controller started is known at its first message
 * (even in the clock tick of the last read), a revoked one is dropped at
 * the next check, and keyring_refresh reports each change once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyring.h"
#include "keyset.h"
#include "vfp_keys.h"

typedef struct {
    char dir[64];       /* a fresh temporary directory */
    char keys[96];      /* dir/keys, the key directory */
    keyring_t *keyring; /* over keys, made by each test */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vfleet-test-keyring.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->keys, sizeof(fx->keys), "%s/keys", fx->dir);
    char err[512];
    if (vfp_keys_init(fx->keys, false, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    *state = fx;
    return 0;
}

static int s_remove(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    keyring_destroy(&fx->keyring);
    nftw(fx->dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* Authorises a new host key as vfleetctl keys add-host does; returns its
 * public key (Z85) in z85. */
static void s_add_host(fixture_t *fx, const char *name,
                       char z85[VFP_KEYS_Z85_LEN + 1])
{
    char secret[160], err[512];
    snprintf(secret, sizeof(secret), "%s/%s.key_secret", fx->dir, name);
    vfp_keys_add_t add = {.kind = VFP_KEYS_HOST,
                          .name = name,
                          .role = VFP_KEYS_ROLE_HOST,
                          .secret_out = secret};
    if (vfp_keys_add(fx->keys, &add, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    zcert_t *cert = vfp_keys_load_secret(secret, err, sizeof(err));
    if (!cert)
        fail_msg("%s", err);
    snprintf(z85, VFP_KEYS_Z85_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
}

static void s_open(fixture_t *fx)
{
    char err[512];
    fx->keyring = keyring_new(fx->keys, err, sizeof(err));
    if (!fx->keyring)
        fail_msg("%s", err);
}

/* The first message of a key authorised a moment after the last read
 * (the ZAP handler already admits it) is not taken for a revoked key's, even
 * when the directory's mtime did not move; the re-read is reported once. */
static void test_new_key_known_at_once(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    int64_t now = zclock_mono();
    char first[VFP_KEYS_Z85_LEN + 1], second[VFP_KEYS_Z85_LEN + 1];
    s_add_host(fx, "hv-1", first);
    assert_true(keyring_authorised(fx->keyring, first));
    assert_true(keyring_refresh(fx->keyring, now));
    /* Once more, right after that read. */
    s_add_host(fx, "hv-2", second);
    assert_true(keyring_authorised(fx->keyring, second));
    assert_true(keyring_authorised(fx->keyring, first));
}

/* A key never authorised stays unknown; NULL (a plaintext connection) is
 * never authorised. */
static void test_unknown_key(void **state)
{
    fixture_t *fx = *state;
    char known[VFP_KEYS_Z85_LEN + 1];
    s_add_host(fx, "hv-1", known);
    s_open(fx);
    zcert_t *stranger = zcert_new();
    assert_false(keyring_authorised(fx->keyring, zcert_public_txt(stranger)));
    assert_false(keyring_authorised(fx->keyring, NULL));
    assert_true(keyring_authorised(fx->keyring, known));
    zcert_destroy(&stranger);
}

/* Revocation: the key stays known until the next check, at most
 * KEYSET_CHECK_MS later, which reports the change; then it is gone. */
static void test_revoked_key(void **state)
{
    fixture_t *fx = *state;
    char z85[VFP_KEYS_Z85_LEN + 1];
    s_add_host(fx, "hv-1", z85);
    s_open(fx);
    assert_true(keyring_authorised(fx->keyring, z85));
    char err[512];
    vfp_keys_kind_t kind = VFP_KEYS_HOST;
    if (vfp_keys_revoke(fx->keys, &kind, "hv-1", err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int64_t later = zclock_mono() + KEYSET_CHECK_MS;
    assert_true(keyring_refresh(fx->keyring, later));
    assert_false(keyring_authorised(fx->keyring, z85));
    /* Nothing changed since: nothing to report once a read came after
     * the clock tick of the revocation (the first check may read again). */
    usleep(50 * 1000);
    keyring_refresh(fx->keyring, later + KEYSET_CHECK_MS);
    assert_false(keyring_refresh(fx->keyring, later + 2 * KEYSET_CHECK_MS));
    assert_false(keyring_authorised(fx->keyring, z85));
}

/* Without the controller's secret key: refused, naming the command that
 * makes it. */
static void test_needs_the_secret(void **state)
{
    fixture_t *fx = *state;
    char err[1024], path[160];
    s_open(fx);
    keyring_destroy(&fx->keyring);
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_CONTROLLER "_secret", fx->keys);
    assert_int_equal(unlink(path), 0);
    assert_null(keyring_new(fx->keys, err, sizeof(err)));
    assert_non_null(strstr(err, "vfleetctl keys init"));
}

int main(void)
{
    zsys_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_key_known_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_needs_the_secret, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
