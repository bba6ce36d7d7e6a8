/* test_keyset.c - the authorised keys of a real key directory, as the
 * agents' loop and the admin actor each keep them: a key added is known
 * at once, a revoked one is gone at the next check, and an unchanged
 * directory is not read again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"
#include "test_keydir.h"
#include "vfp_keys.h"

/* Authorises a new host key NAME; returns its public key (Z85). */
static char *s_add(test_keydir_t *kd, const char *name)
{
    zcert_t *cert =
        test_keydir_add(kd, VFP_KEYS_HOST, name, VFP_KEYS_ROLE_HOST);
    char *key = strdup(zcert_public_txt(cert));
    zcert_destroy(&cert);
    return key;
}

static void s_revoke(test_keydir_t *kd, const char *name)
{
    test_keydir_revoke(kd, VFP_KEYS_HOST, name);
}

static void test_added_known_at_once_revoked_at_next_check(void **state)
{
    test_keydir_t *fx = *state;
    char *a = s_add(fx, "hv-a");
    keyset_t *set = keyset_new(fx->dir, 0);
    assert_true(keyset_authorised(set, a));
    assert_false(keyset_authorised(set, NULL));
    assert_false(keyset_authorised(set, "not-a-key"));
    /* Added after the set was read, before any check was due. */
    char *b = s_add(fx, "hv-b");
    assert_true(keyset_authorised(set, b));
    /* A directory's mtime moves in clock ticks: two changes within one
     * tick look like one. */
    zclock_sleep(20);
    s_revoke(fx, "hv-a");
    /* b's lookup read the set again: reported, but no new read yet. */
    assert_true(keyset_refresh(set, KEYSET_CHECK_MS - 1));
    assert_true(keyset_authorised(set, a)); /* not checked yet */
    assert_true(keyset_refresh(set, KEYSET_CHECK_MS));
    assert_false(keyset_authorised(set, a));
    assert_true(keyset_authorised(set, b));
    /* Nothing changed since (the stamp may still be too young to trust
     * once): the directory is not read again. */
    zclock_sleep(60);
    keyset_recheck(set);
    assert_false(keyset_recheck(set));
    keyset_refresh(set, 2 * KEYSET_CHECK_MS); /* the lookups' re-reads */
    assert_false(keyset_refresh(set, 3 * KEYSET_CHECK_MS));
    assert_int_equal(keyset_size(set), 1);
    keyset_destroy(&set);
    assert_null(set);
    keyset_destroy(&set);
    free(a);
    free(b);
}

/* Sets the mtime of DIR/authorized and its folders to now + offset
 * seconds. */
static void s_hosts_mtime(test_keydir_t *fx, int offset)
{
    static const char *const sub[] = {"", "/hosts", "/admins"};
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec += offset;
    t[1] = t[0];
    for (size_t i = 0; i < 3; i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED "%s", fx->dir,
                 sub[i]);
        assert_true(utimensat(AT_FDCWD, path, t, 0) == 0 || errno == ENOENT);
    }
}

static void test_young_stamp_not_trusted(void **state)
{
    test_keydir_t *fx = *state;
    char *a = s_add(fx, "hv-a");
    keyset_t *set = keyset_new(fx->dir, 0);
    /* A directory time that may still be the current clock tick: a
     * second change within that tick would not move it, so it is looked
     * at again on every check. */
    s_hosts_mtime(fx, 10);
    assert_true(keyset_recheck(set));
    assert_true(keyset_recheck(set));
    /* An old one is trusted: read once, then not again. */
    s_hosts_mtime(fx, -10);
    assert_true(keyset_recheck(set));
    assert_false(keyset_recheck(set));
    assert_true(keyset_authorised(set, a));
    keyset_destroy(&set);
    free(a);
}

static void test_bad_file_left_out(void **state)
{
    test_keydir_t *fx = *state;
    char *a = s_add(fx, "hv-a");
    char path[160];
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED "/hosts/junk.key",
             fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    keyset_t *set = keyset_new(fx->dir, 0);
    assert_true(keyset_authorised(set, a));
    assert_int_equal(keyset_size(set), 1);
    /* Replaced by a real certificate: read on the next look. */
    assert_int_equal(unlink(path), 0);
    char *b = s_add(fx, "junk");
    s_hosts_mtime(fx, -10);
    assert_true(keyset_authorised(set, b));
    assert_int_equal(keyset_size(set), 2);
    const vfp_keys_entry_t *e = keyset_lookup(set, b);
    assert_non_null(e);
    assert_string_equal(e->name, "junk");
    assert_string_equal(e->role, VFP_KEYS_ROLE_HOST);
    keyset_destroy(&set);
    free(a);
    free(b);
}

static void test_reread_by_lookup_reported(void **state)
{
    test_keydir_t *fx = *state;
    char *a = s_add(fx, "hv-a");
    keyset_t *set = keyset_new(fx->dir, 0);
    zclock_sleep(20);
    s_revoke(fx, "hv-a");
    char *b = s_add(fx, "hv-b");
    /* b's first message makes the set be read again, which drops a: the
     * next refresh must say the set changed, though the directory has
     * not changed since, so that a's session is closed. */
    assert_true(keyset_authorised(set, b));
    assert_false(keyset_authorised(set, a));
    assert_true(keyset_refresh(set, 0));
    assert_false(keyset_refresh(set, 0));
    keyset_destroy(&set);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_added_known_at_once_revoked_at_next_check, test_keydir_setup,
            test_keydir_teardown),
        cmocka_unit_test_setup_teardown(test_young_stamp_not_trusted,
                                        test_keydir_setup,
                                        test_keydir_teardown),
        cmocka_unit_test_setup_teardown(
            test_bad_file_left_out, test_keydir_setup, test_keydir_teardown),
        cmocka_unit_test_setup_teardown(test_reread_by_lookup_reported,
                                        test_keydir_setup,
                                        test_keydir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
