/* test_desired_state.c - the desired state on disk: round trip, atomic
 * replace, corrupt and truncated files moved aside, drift lines. */
#include <fcntl.h>
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

#include "desired_state.h"
#include "vf_drift.h"

typedef struct {
    char dir[64];
    char path[128];    /* dir/desired.vfp */
    char corrupt[128]; /* dir/desired.vfp.corrupt */
    char temp[128];    /* the writer's temporary file */
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vfleet-desired-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/desired.vfp", f->dir);
    snprintf(f->corrupt, sizeof(f->corrupt), "%s/desired.vfp.corrupt", f->dir);
    snprintf(f->temp, sizeof(f->temp), "%s/.desired.vfp.tmp", f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    unlink(f->path);
    unlink(f->corrupt);
    unlink(f->temp);
    rmdir(f->temp);
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* An APPLY with a VF count, two VFs and a hugepage pool. */
static vfp_msg_t *s_apply_msg(uint64_t revision)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY);
    vfp_apply_t *a = &msg->u.apply;
    a->revision = revision;
    a->pf_count = 1;
    a->pfs = calloc(1, sizeof(*a->pfs));
    snprintf(a->pfs[0].pf, sizeof(a->pfs[0].pf), "0000:05:00.0");
    a->pfs[0].num_vfs = 4;
    a->vf_count = 2;
    a->vfs = calloc(2, sizeof(*a->vfs));
    for (uint16_t i = 0; i < 2; i++) {
        vfp_apply_vf_t *vf = &a->vfs[i];
        snprintf(vf->pf, sizeof(vf->pf), "0000:05:00.0");
        vf->index = (uint16_t)(i + 1);
        vf->set = VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_TRUST;
        vf->mac[0] = 0x02;
        vf->mac[5] = (uint8_t)i;
        vf->vlan = 100;
        vf->qos = 3;
        vf->vlan_proto = VFP_VLAN_PROTO_8021Q;
        vf->trust = VFP_ON;
    }
    a->hugepage_count = 1;
    a->hugepages[0].size_kb = 2048;
    a->hugepages[0].pages = 512;
    return msg;
}

static void s_encode(const vfp_msg_t *msg, uint8_t **data, size_t *size)
{
    vfp_decode_error_t err;
    assert_int_equal(vfp_encode(msg, data, size, &err), 0);
}

static void s_write_bytes(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static long s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static void test_missing_file_is_no_state(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    vfp_msg_t *msg = NULL;
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     0);
    assert_null(msg);
}

static void test_round_trip(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    vfp_msg_t *saved = s_apply_msg(9);
    assert_int_equal(
        desired_state_save(f->dir, &saved->u.apply, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(access(f->temp, F_OK), -1);

    vfp_msg_t *loaded = NULL;
    assert_int_equal(
        desired_state_load(f->dir, true, &loaded, err, sizeof(err)), 1);
    assert_non_null(loaded);
    assert_int_equal(loaded->u.apply.revision, 9);
    assert_int_equal(loaded->u.apply.vf_count, 2);
    assert_string_equal(loaded->u.apply.vfs[1].pf, "0000:05:00.0");
    assert_int_equal(loaded->u.apply.vfs[1].index, 2);
    assert_int_equal(loaded->u.apply.hugepages[0].pages, 512);
    /* canonical encoding: same message, same bytes */
    uint8_t *a, *b;
    size_t a_size, b_size;
    s_encode(saved, &a, &a_size);
    s_encode(loaded, &b, &b_size);
    assert_int_equal(a_size, b_size);
    assert_memory_equal(a, b, a_size);
    assert_int_equal(s_file_size(f->path), (long)a_size);
    free(a);
    free(b);
    vfp_msg_destroy(&saved);
    vfp_msg_destroy(&loaded);
}

static void test_replace_keeps_old_on_failure(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    vfp_msg_t *one = s_apply_msg(1), *two = s_apply_msg(2);
    assert_int_equal(
        desired_state_save(f->dir, &one->u.apply, err, sizeof(err)), 0);
    assert_int_equal(
        desired_state_save(f->dir, &two->u.apply, err, sizeof(err)), 0);
    vfp_msg_t *loaded = NULL;
    assert_int_equal(
        desired_state_load(f->dir, true, &loaded, err, sizeof(err)), 1);
    assert_int_equal(loaded->u.apply.revision, 2);
    vfp_msg_destroy(&loaded);

    /* The temporary file cannot be created (a directory holds its name,
     * which stops root as well as anyone): the write fails, and the
     * stored revision 2 is untouched. */
    assert_int_equal(mkdir(f->temp, 0700), 0);
    vfp_msg_t *three = s_apply_msg(3);
    assert_int_equal(
        desired_state_save(f->dir, &three->u.apply, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ".desired.vfp.tmp"));
    assert_int_equal(
        desired_state_load(f->dir, true, &loaded, err, sizeof(err)), 1);
    assert_int_equal(loaded->u.apply.revision, 2);
    vfp_msg_destroy(&loaded);
    vfp_msg_destroy(&one);
    vfp_msg_destroy(&two);
    vfp_msg_destroy(&three);
}

static void test_save_to_missing_dir_fails(void **state)
{
    s_fixture_t *f = *state;
    char err[512], dir[160];
    snprintf(dir, sizeof(dir), "%s/absent", f->dir);
    vfp_msg_t *msg = s_apply_msg(1);
    assert_int_equal(desired_state_save(dir, &msg->u.apply, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "No such file or directory"));
    vfp_msg_destroy(&msg);
}

static void test_garbage_moved_aside(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    s_write_bytes(f->path, "not a vfp message\n", 18);
    vfp_msg_t *msg = NULL;
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     -1);
    assert_null(msg);
    assert_non_null(strstr(err, "does not decode (18 bytes)"));
    assert_non_null(strstr(err, "moved aside to"));
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(s_file_size(f->corrupt), 18);
    /* nothing is reused on the next start */
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     0);
}

static void test_truncated_moved_aside(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    vfp_msg_t *saved = s_apply_msg(4);
    assert_int_equal(
        desired_state_save(f->dir, &saved->u.apply, err, sizeof(err)), 0);
    long size = s_file_size(f->path);
    assert_int_equal(truncate(f->path, size - 3), 0);

    /* read-only (--discover): reported, left in place */
    vfp_msg_t *msg = NULL;
    assert_int_equal(desired_state_load(f->dir, false, &msg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "truncated"));
    assert_null(strstr(err, "moved aside"));
    assert_int_equal(s_file_size(f->path), size - 3);

    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "truncated"));
    assert_non_null(strstr(err, "desired.vfp.corrupt"));
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(s_file_size(f->corrupt), size - 3);
    vfp_msg_destroy(&saved);
}

static void test_other_message_refused(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    vfp_msg_t *hello = vfp_msg_new(VFP_HELLO);
    snprintf(hello->u.hello.hostname, sizeof(hello->u.hello.hostname), "hv1");
    hello->u.hello.proto_min = hello->u.hello.proto_max = 1;
    uint8_t *data;
    size_t size;
    s_encode(hello, &data, &size);
    s_write_bytes(f->path, data, size);
    free(data);
    vfp_msg_destroy(&hello);
    vfp_msg_t *msg = NULL;
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "holds a HELLO message, not an APPLY"));
    assert_int_equal(access(f->corrupt, F_OK), 0);
}

static void test_dir_init(void **state)
{
    s_fixture_t *f = *state;
    char err[512], dir[160];
    snprintf(dir, sizeof(dir), "%s/desired.vfp", f->dir);
    assert_int_equal(desired_state_dir_init(dir, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(desired_state_dir_init(dir, err, sizeof(err)), 0);
    assert_int_equal(rmdir(dir), 0);

    s_write_bytes(f->path, "x", 1);
    assert_int_equal(desired_state_dir_init(f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not a directory"));
}

/* A desired.vfp that is not a regular file is refused at once: a FIFO
 * without a writer used to block the agent's start for ever in open(). The
 * alarm turns such a hang into a failure. */
static void s_expect_refused(const s_fixture_t *f, const char *kind)
{
    char err[512];
    vfp_msg_t *msg = NULL;
    alarm(5);
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     -1);
    alarm(0);
    assert_null(msg);
    assert_non_null(strstr(err, kind));
    assert_non_null(strstr(err, f->path));
    /* Not ours to move aside: it is left where it is. */
    assert_int_equal(access(f->corrupt, F_OK), -1);
}

static void test_fifo_refused_not_opened(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(mkfifo(f->path, 0600), 0);
    s_expect_refused(f, "not a regular file but a FIFO");
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
}

static void test_directory_and_link_refused(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(mkdir(f->path, 0700), 0);
    s_expect_refused(f, "not a regular file but a directory");
    assert_int_equal(rmdir(f->path), 0);

    assert_int_equal(symlink("/dev/null", f->path), 0);
    s_expect_refused(f, "symbolic link");
    assert_int_equal(unlink(f->path), 0);

    assert_int_equal(symlink("/dev/zero", f->path), 0);
    s_expect_refused(f, "symbolic link");
}

/* A FIFO under the writer's temporary name does not block a save. */
static void test_save_over_fifo_temp(void **state)
{
    s_fixture_t *f = *state;
    char err[512];
    assert_int_equal(mkfifo(f->temp, 0600), 0);
    vfp_msg_t *msg = s_apply_msg(3);
    alarm(5);
    assert_int_equal(
        desired_state_save(f->dir, &msg->u.apply, err, sizeof(err)), 0);
    alarm(0);
    vfp_msg_destroy(&msg);
    assert_int_equal(desired_state_load(f->dir, true, &msg, err, sizeof(err)),
                     1);
    assert_int_equal(msg->u.apply.revision, 3);
    vfp_msg_destroy(&msg);
}

/* Revisions only grow, and keep growing past the top of their range: a
 * stored UINT64_MAX must not refuse every later APPLY. */
static void test_revision_rule(void **state)
{
    assert_true(desired_state_revision_accepted(5, 5));
    assert_true(desired_state_revision_accepted(5, 6));
    assert_false(desired_state_revision_accepted(5, 4));
    assert_false(desired_state_revision_accepted(5, 0));
    assert_true(desired_state_revision_accepted(0, UINT64_C(1) << 62));
    assert_true(desired_state_revision_accepted(UINT64_MAX - 1, UINT64_MAX));
    assert_true(desired_state_revision_accepted(UINT64_MAX, 0));
    assert_true(desired_state_revision_accepted(UINT64_MAX, 1));
    assert_false(desired_state_revision_accepted(1, UINT64_MAX));
    assert_false(desired_state_revision_accepted(0, UINT64_C(1) << 63));
}

static void test_drift_lines(void **state)
{
    vfp_msg_t *msg = s_apply_msg(5);
    vfp_inventory_t inv = {0};
    inv.pf_count = 1;
    inv.pfs = calloc(1, sizeof(*inv.pfs));
    vfp_pf_t *pf = &inv.pfs[0];
    snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:05:00.0");
    pf->num_vfs = 4;
    pf->vf_count = 4;
    pf->vfs = calloc(4, sizeof(*pf->vfs));
    for (uint16_t i = 0; i < 4; i++) {
        vfp_vf_t *vf = &pf->vfs[i];
        vf->index = i;
        vf->settings_known = true;
        vf->vlan = 100;
        vf->qos = 3;
        vf->vlan_proto = VFP_VLAN_PROTO_8021Q;
        vf->trust = VFP_ON;
        vf->mac[0] = 0x02;
        vf->mac[5] = (uint8_t)(i - 1);
    }
    vfp_drift_t *drift = NULL;
    assert_int_equal(vfp_drift_list(&msg->u.apply, &inv, &drift), 0);
    assert_null(drift);

    pf->vfs[2].vlan = 77;
    pf->num_vfs = 3;
    assert_int_equal(vfp_drift_list(&msg->u.apply, &inv, &drift), 2);
    char line[512];
    vf_drift_line(&drift[0], line, sizeof(line));
    assert_string_equal(line, "pf 0000:05:00.0 num_vfs: wanted 4 VFs; kernel "
                              "has 3 VFs");
    vf_drift_line(&drift[1], line, sizeof(line));
    assert_string_equal(line, "pf 0000:05:00.0 vf 2 vlan: wanted vlan 100, "
                              "qos 3, vlan-protocol 802.1Q; kernel has vlan "
                              "77, qos 3, vlan-protocol 802.1Q");
    free(drift);
    free(pf->vfs);
    free(inv.pfs);
    vfp_msg_destroy(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file_is_no_state, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_old_on_failure,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_save_to_missing_dir_fails, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_moved_aside, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_moved_aside, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_other_message_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_dir_init, s_setup, s_teardown),
        cmocka_unit_test(test_drift_lines),
        cmocka_unit_test_setup_teardown(test_fifo_refused_not_opened, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_directory_and_link_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_save_over_fifo_temp, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_revision_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
