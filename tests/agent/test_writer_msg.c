/* test_writer_msg.c - the writer channel: forged requests refused by the
 * writer's own check (a VLAN out of APPLY's range, a PF name with '/', a
 * VF index past the PF's VFs, truncated, oversized or unknown messages)
 * with nothing written, answers checked by the network process, and a
 * real writer process forked over the channel. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privsep.h"
#include "vf_apply.h"
#include "vf_sim.h"
#include "vf_writer.h"
#include "writer_msg.h"
#include "writer_serve.h"

#define S_PF "ens2f0" /* i40e-xxv710's first PF: 16 VFs */

typedef struct {
    char top[64];
    char sysfs[PATH_MAX];
    vf_writer_t *writer;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->top, sizeof(fx->top), "/tmp/vfleet-wmsg-XXXXXX");
    assert_non_null(mkdtemp(fx->top));
    const char *src = getenv("VFLEET_SOURCE_DIR");
    char cmd[PATH_MAX * 2], err[256];
    snprintf(cmd, sizeof(cmd),
             "python3 %s/tests/fixtures/mktree.py i40e-xxv710 %s/tree",
             src ? src : "../..", fx->top);
    assert_int_equal(system(cmd), 0);
    snprintf(fx->sysfs, sizeof(fx->sysfs), "%s/tree/sys", fx->top);
    fx->writer =
        vf_writer_new_kernel(fx->sysfs, VF_KERNEL_SIM, err, sizeof(err));
    assert_non_null(fx->writer);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[128];
    vf_writer_destroy(&fx->writer);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->top);
    free(fx);
    return system(cmd);
}

static vfp_apply_vf_t s_vf(uint16_t index)
{
    return (vfp_apply_vf_t){
        .index = index,
        .set = VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_TRUST,
        .mac = {0x02, 0x50, 0x56, 0x00, 0x00, 0x07},
        .vlan = 100,
        .vlan_proto = VFP_VLAN_PROTO_8021Q,
        .trust = VFP_ON,
    };
}

/* The writer's answer to req as it stands (bytes, not the builder). */
static writer_msg_rep_t s_serve(fixture_t *fx, const void *req, size_t len)
{
    writer_msg_rep_t rep;
    writer_serve_handle(fx->writer, req, len, &rep);
    return rep;
}

static void test_valid_requests_pass(void **state)
{
    (void)state;
    char why[256];
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    bool in_use[4] = {false, true, false, false};
    writer_msg_apply_vf(&req, S_PF, &vf);
    assert_int_equal(writer_msg_check_req(&req, sizeof(req), why, 256), 0);
    writer_msg_num_vfs(&req, S_PF, 8, in_use, 4);
    assert_int_equal(writer_msg_check_req(&req, sizeof(req), why, 256), 0);
    writer_msg_hugepages(&req, 2048, 512);
    assert_int_equal(writer_msg_check_req(&req, sizeof(req), why, 256), 0);
}

static void test_vlan_out_of_apply_range_refused(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    writer_msg_apply_vf(&req, S_PF, &vf);
    req.vf.vlan = VFP_APPLY_VLAN_MAX + 1; /* forged after the builder */
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
    assert_int_equal(rep.refused, EINVAL);
    assert_int_equal(rep.rc, -1);
    assert_int_equal(rep.result_count, 0);
    assert_non_null(strstr(rep.why, "vlan"));
    assert_int_equal(rep.kernel_writes, 0);
}

static void test_pf_name_with_slash_refused(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    const char *forged[] = {"../../etc", "ens2f0/x",          "", ".", "en s",
                            "a:b",       "ens2f0ens2f0ens2f0"};
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        writer_msg_apply_vf(&req, S_PF, &vf);
        memset(req.pf_ifname, 0, sizeof(req.pf_ifname));
        memcpy(req.pf_ifname, forged[i],
               strnlen(forged[i], sizeof(req.pf_ifname)));
        writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
        assert_int_equal(rep.refused, EINVAL);
        assert_non_null(strstr(rep.why, "pf: interface name"));
    }
    writer_msg_num_vfs(&req, "a/b", 0, NULL, 0);
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EINVAL);
    assert_int_equal(vf_writer_kernel_writes(fx->writer), 0);
}

static void test_vf_index_past_the_pf_refused(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(20); /* the PF has 16 VFs */
    writer_msg_apply_vf(&req, S_PF, &vf);
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
    assert_int_equal(rep.refused, 0);
    assert_int_equal(rep.rc, -1);
    assert_int_equal(rep.result_count, 3);
    for (uint32_t i = 0; i < rep.result_count; i++) {
        assert_int_equal(rep.results[i].err, EINVAL);
        assert_non_null(strstr(rep.results[i].message, "out of range"));
    }
    assert_int_equal(rep.kernel_writes, 0);
}

static void test_framing_refused(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    writer_msg_apply_vf(&req, S_PF, &vf);
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req) - 1);
    assert_int_equal(rep.refused, EBADMSG);
    assert_non_null(strstr(rep.why, "bytes"));
    assert_int_equal(s_serve(fx, &req, 2).refused, EBADMSG);
    req.len = sizeof(req) - 8;
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EBADMSG);
    req.len = sizeof(req);
    req.type = WRITER_MSG_READY;
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EBADMSG);
    req.type = 99;
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EBADMSG);
    assert_int_equal(vf_writer_kernel_writes(fx->writer), 0);
}

static void test_other_fields_refused(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    writer_msg_apply_vf(&req, S_PF, &vf);
    memset(req.vf.pf, 'x', sizeof(req.vf.pf)); /* not terminated */
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EINVAL);
    writer_msg_apply_vf(&req, S_PF, &vf);
    req.vf.mac[0] = 0x01; /* multicast */
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EINVAL);
    writer_msg_num_vfs(&req, S_PF, 4, NULL, 0);
    req.in_use[2] = 1; /* past in_use_len */
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EINVAL);
    req.in_use[2] = 0;
    req.in_use_len = VFP_VFS_MAX + 1;
    assert_int_equal(s_serve(fx, &req, sizeof(req)).refused, EINVAL);
    writer_msg_hugepages(&req, 0, 512);
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
    assert_int_equal(rep.refused, EINVAL);
    assert_non_null(strstr(rep.why, "size_kb"));
    assert_int_equal(vf_writer_kernel_writes(fx->writer), 0);
}

/* A VF in use that the request leaves out of in_use is still guarded:
 * the writer sees its netdev up itself. */
static void test_in_use_seen_by_the_writer(void **state)
{
    fixture_t *fx = *state;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path),
             "%s/class/net/%s/device/virtfn3/net/ens2f0v3/flags", fx->sysfs,
             S_PF);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("0x1003\n", f); /* IFF_UP */
    fclose(f);
    writer_msg_req_t req;
    writer_msg_num_vfs(&req, S_PF, 2, NULL, 0);
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
    assert_int_equal(rep.refused, 0);
    assert_int_equal(rep.rc, -1);
    assert_int_equal(rep.results[0].err, EBUSY);
    assert_non_null(strstr(rep.results[0].message, "VF 3"));
    assert_int_equal(rep.kernel_writes, 0);
}

static void test_valid_request_writes(void **state)
{
    fixture_t *fx = *state;
    writer_msg_req_t req;
    vfp_apply_vf_t vf = s_vf(3);
    writer_msg_apply_vf(&req, S_PF, &vf);
    writer_msg_rep_t rep = s_serve(fx, &req, sizeof(req));
    assert_int_equal(rep.refused, 0);
    assert_int_equal(rep.rc, 0);
    assert_int_equal(rep.result_count, 3);
    assert_int_equal(rep.kernel_writes, 3);
    char why[128];
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_APPLY_VF, why, 128),
        0);
}

static void test_answers_checked(void **state)
{
    (void)state;
    char why[128];
    writer_msg_rep_t rep = {
        .type = WRITER_MSG_NUM_VFS, .len = sizeof(rep), .result_count = 1};
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_NUM_VFS, why, 128),
        0);
    assert_int_equal(writer_msg_check_rep(&rep, sizeof(rep) - 1,
                                          WRITER_MSG_NUM_VFS, why, 128),
                     -1);
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_HUGEPAGES, why, 128),
        -1);
    rep.result_count = 2;
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_NUM_VFS, why, 128),
        -1);
    rep.type = WRITER_MSG_APPLY_VF;
    rep.result_count = VF_WRITER_ATTRS + 1;
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_APPLY_VF, why, 128),
        -1);
    rep.result_count = 1;
    memset(rep.results[0].message, 'x', sizeof(rep.results[0].message));
    assert_int_equal(
        writer_msg_check_rep(&rep, sizeof(rep), WRITER_MSG_APPLY_VF, why, 128),
        -1);
}

/* A real writer process: an item through the channel reaches the tree's
 * simulated kernel, a truncated message gets a refusal, and closing the
 * channel ends the process. */
/* A RESULT message longer than the wire takes is cut and marked "...",
 * never left ending in "; " as if it were whole; a short one is kept. */
static void test_result_message_cut_marked(void **state)
{
    (void)state;
    vfp_result_t r;
    vf_writer_result(&r, VFP_ITEM_VF, "eth0", 0, "vlan", EPERM,
                     "%s: %s; kernel refused vlan 5 on VF 0",
                     "Operation not permitted",
                     "simulated kernel: state file: Operation not permitted");
    assert_int_equal(strlen(r.message), VFP_RESULT_MESSAGE_MAX);
    assert_string_equal(r.message + VFP_RESULT_MESSAGE_MAX - 3, "...");
    assert_int_equal(
        strncmp(r.message, "Operation not permitted: simulated", 34), 0);
    vf_writer_result(&r, VFP_ITEM_VF, "eth0", 0, "vlan", 0, "%s", "ok");
    assert_string_equal(r.message, "ok");
}

static void test_writer_process(void **state)
{
    fixture_t *fx = *state;
    char why[256];
    privsep_opts_t opts = {.sysfs_root = fx->sysfs, .kernel = VF_KERNEL_SIM};
    privsep_t *ps = privsep_start(&opts, why, sizeof(why));
    assert_non_null(ps);
    pid_t pid = privsep_pid(ps);
    assert_true(pid > 0 && pid != getpid());
    vfp_apply_vf_t vf = s_vf(5);
    vfp_result_t results[VF_WRITER_ATTRS];
    size_t n = 0;
    assert_int_equal(
        privsep_apply_ops.apply_vf(ps, S_PF, &vf, results, VF_WRITER_ATTRS, &n),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(privsep_kernel_writes(ps), 3);
    vf.vlan = 5000;
    assert_int_equal(
        privsep_apply_ops.apply_vf(ps, S_PF, &vf, results, VF_WRITER_ATTRS, &n),
        -1);
    assert_int_equal(results[0].err, EINVAL);
    assert_non_null(strstr(results[0].message, "writer refused"));

    writer_msg_req_t req;
    writer_msg_rep_t rep;
    writer_msg_hugepages(&req, 2048, 1);
    assert_int_equal(send(privsep_fd(ps), &req, 10, 0), 10);
    assert_int_equal(recv(privsep_fd(ps), &rep, sizeof(rep), 0), sizeof(rep));
    assert_int_equal(rep.refused, EBADMSG);
    privsep_destroy(&ps);
    assert_int_equal(kill(pid, 0), -1);
}

/* A writer that cannot open its kernel says why, and is reaped. */
static void test_writer_process_not_up(void **state)
{
    (void)state;
    char why[256] = "";
    privsep_opts_t opts = {.sysfs_root = "/nonexistent",
                           .kernel = VF_KERNEL_SIM};
    assert_null(privsep_start(&opts, why, sizeof(why)));
    assert_non_null(strstr(why, "writer process: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_requests_pass),
        cmocka_unit_test_setup_teardown(test_vlan_out_of_apply_range_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pf_name_with_slash_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_vf_index_past_the_pf_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_framing_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_other_fields_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_in_use_seen_by_the_writer, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_valid_request_writes, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_answers_checked),
        cmocka_unit_test(test_result_message_cut_marked),
        cmocka_unit_test_setup_teardown(test_writer_process, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_writer_process_not_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
