/* test_peer_limit.c - per-peer budgets and warning limits at the
 * controller's sockets (issue 13, bounded resources). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/test_capture.h"

#include "peer_limit.h"
#include "vfp_log.h"
#include "vfp_transport.h"

static zframe_t *s_id(int n)
{
    char id[16];
    snprintf(id, sizeof(id), "peer-%d", n);
    return zframe_new(id, strlen(id));
}

static peer_limit_t *s_limiter(uint32_t msgs, uint64_t bytes, size_t table)
{
    peer_limit_config_t cfg = {.what = "test peer",
                               .msgs_per_s = msgs,
                               .bytes_per_s = bytes,
                               .table_max = table};
    return peer_limit_new(&cfg);
}

static void test_message_budget_and_refill(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_ERROR, false);
    peer_limit_t *limits = s_limiter(20, 1 << 30, 16);
    zframe_t *a = s_id(1), *b = s_id(2);
    int admitted = 0;
    for (int i = 0; i < 50; i++)
        admitted += peer_limit_admit(limits, a, 100, 1000);
    assert_int_equal(admitted, 20); /* one second's worth */
    assert_int_equal(peer_limit_dropped(limits), 30);
    /* Another peer has a budget of its own. */
    assert_true(peer_limit_admit(limits, b, 100, 1000));
    /* Half a second later: ten more. */
    admitted = 0;
    for (int i = 0; i < 50; i++)
        admitted += peer_limit_admit(limits, a, 100, 1500);
    assert_int_equal(admitted, 10);
    zframe_destroy(&a);
    zframe_destroy(&b);
    peer_limit_destroy(&limits);
}

/* A burst is at least one message of the largest size, whatever the
 * byte rate; then the rate applies. */
static void test_byte_budget(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_ERROR, false);
    peer_limit_t *limits = s_limiter(1000, 1 << 20, 16);
    zframe_t *a = s_id(1);
    assert_true(peer_limit_admit(limits, a, VFP_MSG_MAX, 0));
    assert_false(peer_limit_admit(limits, a, 2 << 20, 0));
    assert_false(peer_limit_admit(limits, a, 2 << 20, 1000));
    assert_true(peer_limit_admit(limits, a, 2 << 20, 2000));
    zframe_destroy(&a);
    peer_limit_destroy(&limits);
}

/* The table never holds more than table_max peers; the peer heard from
 * least recently is forgotten first. */
static void test_table_is_bounded(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_ERROR, false);
    peer_limit_t *limits = s_limiter(10, 1 << 30, 8);
    zframe_t *kept = s_id(0);
    for (int i = 0; i < 10; i++)
        peer_limit_admit(limits, kept, 1, 0); /* its budget spent */
    for (int i = 1; i < 100; i++) {
        zframe_t *id = s_id(i);
        assert_true(peer_limit_admit(limits, id, 1, 0));
        zframe_destroy(&id);
        assert_true(peer_limit_size(limits) <= 8);
        peer_limit_admit(limits, kept, 1, 0); /* heard again: kept */
    }
    assert_int_equal(peer_limit_size(limits), 8);
    assert_false(peer_limit_admit(limits, kept, 1, 0)); /* remembered */
    zframe_destroy(&kept);
    peer_limit_destroy(&limits);
}

/* One message over a budget of 20. */
static void s_over_by_one(void *arg)
{
    peer_limit_t *limits = arg;
    zframe_t *a = s_id(1);
    for (int i = 0; i < 21; i++)
        peer_limit_admit(limits, a, 100, 1000);
    zframe_destroy(&a);
}

/* The warning counts what it says it counts, in words that agree. */
static void test_dropped_warning_counts(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_WARN, false);
    peer_limit_t *limits = s_limiter(20, 1 << 30, 16);
    const char *text = test_capture_stderr(s_over_by_one, limits);
    assert_int_equal(test_capture_lines(text), 1);
    assert_non_null(strstr(text, "over its budget of 20 messages and "
                                 "1073741824 bytes a second: 1 message "
                                 "dropped"));
    peer_limit_destroy(&limits);
}

static void s_warn_one_peer(void *arg)
{
    peer_limit_t *limits = arg;
    zframe_t *a = s_id(1);
    for (int i = 0; i < 1000; i++)
        peer_limit_warnx(limits, a, "malformed message %d", i);
    zframe_destroy(&a);
}

static void s_warn_many_peers(void *arg)
{
    peer_limit_t *limits = arg;
    for (int p = 0; p < 100; p++) {
        zframe_t *id = s_id(p);
        for (int i = 0; i < 10; i++)
            peer_limit_warnx(limits, id, "malformed message");
        zframe_destroy(&id);
    }
}

static void test_warnings_are_limited(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_WARN, false);
    peer_limit_t *limits = s_limiter(10, 1 << 30, 1000);
    const char *text = test_capture_stderr(s_warn_one_peer, limits);
    assert_int_equal(test_capture_lines(text), PEER_LIMIT_WARN_BURST);
    assert_non_null(strstr(text, "malformed message 4 (test peer "));
    peer_limit_destroy(&limits);
    limits = s_limiter(10, 1 << 30, 1000);
    /* The burst, and what the refill of PEER_LIMIT_WARN_ALL_PER_S adds
     * while the 1000 warnings are written (under valgrind they take long
     * enough for one more). */
    int64_t started = zclock_mono();
    int lines =
        test_capture_lines(test_capture_stderr(s_warn_many_peers, limits));
    int64_t refill =
        (zclock_mono() - started) * PEER_LIMIT_WARN_ALL_PER_S / 1000 + 1;
    if (lines < PEER_LIMIT_WARN_ALL_BURST ||
        lines > PEER_LIMIT_WARN_ALL_BURST + refill)
        fail_msg("%d lines for 1000 warnings; the burst is %d, the refill "
                 "meanwhile at most %lld",
                 lines, PEER_LIMIT_WARN_ALL_BURST, (long long)refill);
    peer_limit_destroy(&limits);
}

/* Over real sockets: what a peer sends beyond its budget is dropped
 * before it is decoded, and counted. */
static void test_recv_drops_over_budget(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_ERROR, false);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    vfp_socket_limit(router);
    zsock_set_rcvhwm(router, 1000);
    zsock_set_rcvtimeo(router, 2000);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_sndhwm(dealer, 1000);
    zsock_connect(dealer, "tcp://127.0.0.1:%d", port);
    for (int i = 0; i < 30; i++) {
        vfp_msg_t *beat = vfp_msg_new(VFP_HEARTBEAT);
        beat->request_id = (uint32_t)i;
        vfp_decode_error_t err;
        assert_int_equal(vfp_send(dealer, NULL, beat, &err), 0);
        vfp_msg_destroy(&beat);
    }
    peer_limit_t *limits = s_limiter(10, 1 << 30, 16);
    int decoded = 0, dropped_count = 0;
    for (int i = 0; i < 30; i++) {
        zframe_t *id = NULL;
        vfp_decode_error_t err;
        bool dropped;
        vfp_msg_t *msg = peer_limit_recv(limits, router, &id, &err, &dropped);
        decoded += msg != NULL;
        dropped_count += dropped;
        if (msg)
            assert_non_null(id);
        vfp_msg_destroy(&msg);
        zframe_destroy(&id);
    }
    assert_int_equal(dropped_count + decoded, 30);
    assert_true(decoded >= 10 && decoded < 15); /* the burst, and a refill */
    assert_int_equal(peer_limit_dropped(limits), (uint64_t)dropped_count);
    peer_limit_destroy(&limits);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

/* A ROUTER set up as the controller's (queues of 2, ZMQ_ROUTER_MANDATORY
 * off) drops answers to a client that does not read: sending never blocks
 * or fails, and the client finds only what the queues and the kernel's
 * socket buffers held. */
static void test_unread_answers_are_dropped(void **state)
{
    (void)state;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    vfp_socket_limits_t limits = {.maxmsgsize = VFP_MSG_MAX,
                                  .rcvhwm = 2,
                                  .sndhwm = 2,
                                  .handshake_ms = 1000};
    vfp_socket_limit_set(router, &limits);
    zsock_set_router_mandatory(router, 0);
    zsock_set_rcvtimeo(router, 2000);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *client = zsock_new(ZMQ_DEALER);
    vfp_socket_limit_set(client, &limits);
    zsock_connect(client, "tcp://127.0.0.1:%d", port);
    zstr_send(client, "hello");
    zmsg_t *first = zmsg_recv(router);
    assert_non_null(first);
    zframe_t *id = zmsg_pop(first);
    zmsg_destroy(&first);
    enum { S_SENT = 2000, S_SIZE = 256 * 1024 };
    int64_t start = zclock_mono();
    for (int i = 0; i < S_SENT; i++) {
        zmsg_t *answer = zmsg_new();
        zmsg_append(answer, &(zframe_t *){zframe_dup(id)});
        /* Zeroed: valgrind would see uninitialised bytes sent. */
        zframe_t *body = zframe_new(NULL, S_SIZE);
        memset(zframe_data(body), 0, S_SIZE);
        zmsg_append(answer, &body);
        assert_int_equal(zmsg_send(&answer, router), 0);
    }
    printf("sent %d answers of %d KiB in %lld ms\n", (int)S_SENT, S_SIZE / 1024,
           (long long)(zclock_mono() - start));
    zsock_set_rcvtimeo(client, 500);
    int received = 0;
    for (zmsg_t *msg; (msg = zmsg_recv(client)); zmsg_destroy(&msg))
        received++;
    printf("the client found %d of them\n", received);
    assert_true(received > 0);
    assert_true(received < S_SENT / 10);
    zframe_destroy(&id);
    zsock_destroy(&client);
    zsock_destroy(&router);
}

/* A warning about a peer names its address, which the limiter takes from
 * the connection's first message and keeps: later messages are not asked
 * for it again. */
static void test_warning_names_the_address(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_WARN, false);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    vfp_socket_limit(router);
    zsock_set_rcvtimeo(router, 2000);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_connect(dealer, "tcp://127.0.0.1:%d", port);
    peer_limit_t *limits = s_limiter(100, 1 << 30, 16);
    zframe_t *id = NULL;
    for (int i = 0; i < 3; i++) {
        vfp_msg_t *beat = vfp_msg_new(VFP_HEARTBEAT);
        vfp_decode_error_t err;
        assert_int_equal(vfp_send(dealer, NULL, beat, &err), 0);
        vfp_msg_destroy(&beat);
        zframe_destroy(&id);
        vfp_msg_t *msg = peer_limit_recv(limits, router, &id, &err, NULL);
        assert_non_null(msg);
        vfp_msg_destroy(&msg);
    }
    char path[] = "/tmp/test_peer_limit.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    peer_limit_warnx(limits, id, "a warning");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[512] = "";
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_non_null(strstr(text, "a warning (test peer "));
    assert_non_null(strstr(text, " at 127.0.0.1)"));
    zframe_destroy(&id);
    peer_limit_destroy(&limits);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_budget_and_refill),
        cmocka_unit_test(test_byte_budget),
        cmocka_unit_test(test_table_is_bounded),
        cmocka_unit_test(test_warnings_are_limited),
        cmocka_unit_test(test_recv_drops_over_budget),
        cmocka_unit_test(test_warning_names_the_address),
        cmocka_unit_test(test_dropped_warning_counts),
        cmocka_unit_test(test_unread_answers_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
