/* test_admin_socket.c - the admin ipc socket's permissions on a real
 * bound ZeroMQ ipc socket: 0600 alone, 0660 with --admin-group and the
 * state directory 0710 with that group; group names and numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <czmq.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_socket.h"

static void test_group_by_name_or_number(void **state)
{
    (void)state;
    char err[256];
    gid_t gid = 1;
    struct group *root = getgrgid(0);
    assert_non_null(root);
    assert_int_equal(admin_socket_group(root->gr_name, &gid, err, sizeof(err)),
                     0);
    assert_int_equal(gid, 0);
    assert_int_equal(admin_socket_group("4242", &gid, err, sizeof(err)), 0);
    assert_int_equal(gid, 4242);
    assert_int_equal(
        admin_socket_group("no-such-group-vfleet", &gid, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no-such-group-vfleet"));
}

/* Binds an ipc ROUTER at DIR/admin.sock under umask 0077, as the
 * controller does. */
static zsock_t *s_bind(const char *dir, char *path, size_t size)
{
    snprintf(path, size, "%s/admin.sock", dir);
    mode_t old = umask(0077);
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    assert_non_null(sock);
    assert_int_equal(zsock_bind(sock, "ipc://%s", path), 0);
    umask(old);
    return sock;
}

static void test_modes(void **state)
{
    (void)state;
    char dir[] = "/tmp/vfleet-admin-sock-XXXXXX", path[128], err[256];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0700), 0);
    zsock_t *sock = s_bind(dir, path, sizeof(path));
    struct stat st;
    assert_int_equal(admin_socket_protect(path, dir, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    gid_t group = getgid();
    assert_int_equal(admin_socket_protect(path, dir, &group, err, sizeof(err)),
                     0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0660);
    assert_int_equal(st.st_gid, group);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0710);
    assert_int_equal(st.st_gid, group);
    /* A socket outside the state directory leaves that directory alone. */
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(
        admin_socket_protect(path, "/nonexistent", &group, err, sizeof(err)),
        0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* Gone: the error names the socket. */
    zsock_destroy(&sock);
    unlink(path);
    assert_int_equal(admin_socket_protect(path, dir, NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, path));
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_by_name_or_number),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
