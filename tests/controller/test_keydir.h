/* test_keydir.h - a real key directory for the controller's CURVE tests:
 * made with the key module in a fresh temporary folder, as `vfleetctl
 * keys init` and `add-host` / `add-admin` make it. */
#ifndef VFLEET_TEST_KEYDIR_H
#define VFLEET_TEST_KEYDIR_H

#include <czmq.h>

#include "vfp_keys.h"

typedef struct {
    char top[64]; /* the temporary folder; secrets go here */
    char dir[96]; /* top/keys: the key directory */
} test_keydir_t;

/* A fresh folder /tmp/vfleet-WHAT-XXXXXX with the controller's pair in
 * its keys/; fails the test on error. */
void test_keydir_make(test_keydir_t *kd, const char *what);

/* Removes the folder; returns 0 or the status of rm. */
int test_keydir_remove(test_keydir_t *kd);

/* cmocka setup and teardown: *state is a test_keydir_t made with
 * test_keydir_make (what "keys"), then removed and freed. */
int test_keydir_setup(void **state);
int test_keydir_teardown(void **state);

/* Authorises a new key NAME of kind with role; returns its secret
 * certificate (the caller destroys it). */
zcert_t *test_keydir_add(test_keydir_t *kd, vfp_keys_kind_t kind,
                         const char *name, const char *role);

/* Revokes NAME of kind; fails the test on error. */
void test_keydir_revoke(test_keydir_t *kd, vfp_keys_kind_t kind,
                        const char *name);

#endif
