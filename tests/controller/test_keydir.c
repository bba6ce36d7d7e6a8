/* test_keydir.c - the key directory of the controller's CURVE tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_keydir.h"

void test_keydir_make(test_keydir_t *kd, const char *what)
{
    snprintf(kd->top, sizeof(kd->top), "/tmp/vfleet-%s-XXXXXX", what);
    assert_non_null(mkdtemp(kd->top));
    snprintf(kd->dir, sizeof(kd->dir), "%s/keys", kd->top);
    char err[512];
    if (vfp_keys_init(kd->dir, false, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

int test_keydir_remove(test_keydir_t *kd)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kd->top);
    return system(cmd);
}

int test_keydir_setup(void **state)
{
    test_keydir_t *kd = calloc(1, sizeof(*kd));
    assert_non_null(kd);
    test_keydir_make(kd, "keys");
    *state = kd;
    return 0;
}

int test_keydir_teardown(void **state)
{
    test_keydir_t *kd = *state;
    int rc = test_keydir_remove(kd);
    free(kd);
    return rc;
}

zcert_t *test_keydir_add(test_keydir_t *kd, vfp_keys_kind_t kind,
                         const char *name, const char *role)
{
    char secret[160], err[512];
    snprintf(secret, sizeof(secret), "%s/%s.key_secret", kd->top, name);
    vfp_keys_add_t add = {
        .kind = kind, .name = name, .role = role, .secret_out = secret};
    if (vfp_keys_add(kd->dir, &add, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    zcert_t *cert = vfp_keys_load_secret(secret, err, sizeof(err));
    if (!cert)
        fail_msg("%s", err);
    return cert;
}

void test_keydir_revoke(test_keydir_t *kd, vfp_keys_kind_t kind,
                        const char *name)
{
    char err[512];
    if (vfp_keys_revoke(kd->dir, &kind, name, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}
