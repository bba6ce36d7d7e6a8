/* test_privdrop.c - what each of the agent's processes keeps of root,
 * checked in forked children of a real process (each drop is for good):
 * the network process becomes the user with no capability and gets the
 * state directory; an unknown user is an error when named, a warning
 * otherwise; the writer keeps CAP_NET_ADMIN alone. Run as root (the
 * suite is); not as root, only what an unprivileged process can do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"

/* Runs fn in a child; returns its exit status (0: every check held). */
static int s_in_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int s_network_as(void *arg)
{
    const char *dir = arg;
    char why[256];
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        return 10;
    if (privdrop_network("nobody", true, dir, why, sizeof(why)) != 0)
        return 11;
    if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
        getgid() != pw->pw_gid || getgroups(0, NULL) != 0)
        return 12;
    if (privdrop_effective() != 0)
        return 13;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 14;
    struct stat st;
    if (stat(dir, &st) != 0 || st.st_uid != pw->pw_uid)
        return 15;
    /* No way back. */
    if (setuid(0) == 0)
        return 16;
    return 0;
}

static void test_network_becomes_the_user(void **state)
{
    (void)state;
    if (geteuid() != 0 || !getpwnam("nobody"))
        skip();
    char dir[] = "/tmp/vfleet-privdrop-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(s_in_child(s_network_as, dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

static int s_network_unknown_user(void *arg)
{
    bool given = arg != NULL;
    char why[256] = "";
    int rc = privdrop_network("no-such-user-vfleet", given, "/tmp", why,
                              sizeof(why));
    if (given)
        return rc == -1 && strstr(why, "no-such-user-vfleet") ? 0 : 20;
    /* The default user missing: keeps uid 0, but no capability. */
    if (rc != 0 || geteuid() != 0)
        return 21;
    return privdrop_effective() == 0 ? 0 : 22;
}

static void test_unknown_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(s_in_child(s_network_unknown_user, "given"), 0);
    assert_int_equal(s_in_child(s_network_unknown_user, NULL), 0);
}

static int s_writer(void *arg)
{
    (void)arg;
    char why[256];
    uint64_t before = privdrop_effective();
    if (privdrop_writer(why, sizeof(why)) != 0)
        return 30;
    uint64_t kept = (uint64_t)1 << CAP_NET_ADMIN;
    if (privdrop_effective() != (before & kept))
        return 31;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 32;
    return 0;
}

static void test_writer_keeps_net_admin_alone(void **state)
{
    (void)state;
    assert_int_equal(s_in_child(s_writer, NULL), 0);
}

static int s_unprivileged(void *arg)
{
    (void)arg;
    char why[256];
    if (geteuid() == 0 && setuid(65534) != 0)
        return 40;
    if (privdrop_network("nobody", true, "/nonexistent", why, sizeof(why)))
        return 41;
    return privdrop_effective() == 0 ? 0 : 42;
}

static void test_not_root_drops_capabilities_only(void **state)
{
    (void)state;
    assert_int_equal(s_in_child(s_unprivileged, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_becomes_the_user),
        cmocka_unit_test(test_unknown_user),
        cmocka_unit_test(test_writer_keeps_net_admin_alone),
        cmocka_unit_test(test_not_root_drops_capabilities_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
