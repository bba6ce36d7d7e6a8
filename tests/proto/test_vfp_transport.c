/* test_vfp_transport.c - vfp_send / vfp_recv over real ZeroMQ sockets,
 * ROUTER <-> DEALER, including garbage from the peer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vfp_samples.h"
#include "vfp_transport.h"

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
} s_pair_t;

/* A fresh endpoint per test, so one test's leftovers cannot reach the
 * next. The receive timeout keeps a broken test from hanging. */
static int s_setup(void **state)
{
    static int counter;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://vfp-transport-%d", counter++);
    s_pair_t *pair = calloc(1, sizeof *pair);
    pair->router = zsock_new(ZMQ_ROUTER);
    pair->dealer = zsock_new(ZMQ_DEALER);
    assert_int_equal(zsock_bind(pair->router, "%s", endpoint), 0);
    assert_int_equal(zsock_connect(pair->dealer, "%s", endpoint), 0);
    zsock_set_rcvtimeo(pair->router, 2000);
    zsock_set_rcvtimeo(pair->dealer, 2000);
    *state = pair;
    return 0;
}

static int s_teardown(void **state)
{
    s_pair_t *pair = *state;
    zsock_destroy(&pair->dealer);
    zsock_destroy(&pair->router);
    free(pair);
    return 0;
}

/* Sends raw frames from the dealer, as a misbehaving peer would. */
static void s_send_frames(zsock_t *sock, const void *data, size_t size,
                          int count)
{
    zmsg_t *zmsg = zmsg_new();
    for (int i = 0; i < count; i++)
        zmsg_addmem(zmsg, data, size);
    assert_int_equal(zmsg_send(&zmsg, sock), 0);
}

static void test_conversation(void **state)
{
    s_pair_t *pair = *state;
    vfp_decode_error_t err;

    vfp_msg_t *hello = sample_msg(VFP_HELLO, SAMPLE_FULL);
    assert_int_equal(vfp_send(pair->dealer, NULL, hello, &err), 0);
    zframe_t *peer = NULL;
    vfp_msg_t *got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    assert_non_null(peer);
    assert_true(sample_equal(hello, got));
    vfp_msg_destroy(&got);
    vfp_msg_destroy(&hello);

    /* The answer goes back through the routing id just received, and the
     * routing id is not consumed by sending. */
    vfp_msg_t *inventory = sample_msg(VFP_INVENTORY, SAMPLE_FULL);
    assert_int_equal(vfp_send(pair->router, peer, inventory, &err), 0);
    assert_int_equal(vfp_send(pair->router, peer, inventory, &err), 0);
    for (int i = 0; i < 2; i++) {
        zframe_t *none = peer;
        got = vfp_recv(pair->dealer, &none, &err);
        assert_non_null(got);
        assert_null(none);
        assert_true(sample_equal(inventory, got));
        vfp_msg_destroy(&got);
    }
    vfp_msg_destroy(&inventory);
    zframe_destroy(&peer);
}

/* Garbage of every kind is consumed, reported as MALFORMED or VERSION, and
 * still tells the ROUTER who sent it, so it can answer with an ERROR. */
static void test_router_rejects_garbage(void **state)
{
    s_pair_t *pair = *state;
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    vfp_msg_t *heartbeat = sample_msg(VFP_HEARTBEAT, SAMPLE_FULL);
    assert_int_equal(vfp_encode(heartbeat, &data, &size, &err), 0);

    s_send_frames(pair->dealer, data, size, 2);
    zframe_t *peer = NULL;
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "transport");
    assert_string_equal(err.text, "expected exactly 1 message frame, got 2");
    assert_false(err.peer_header);
    assert_non_null(peer);
    zframe_t *first = peer;
    peer = NULL;

    s_send_frames(pair->dealer, "", 0, 1);
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "header.signature");
    assert_string_equal(err.text, "truncated: 2 bytes needed, 0 left");
    assert_true(zframe_eq(first, peer));
    zframe_destroy(&peer);

    s_send_frames(pair->dealer, "\x56\x47\x01\x05", 4, 1);
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "header.signature");
    assert_true(zframe_eq(first, peer));
    zframe_destroy(&peer);

    data[2] = VFP_VERSION + 1;
    s_send_frames(pair->dealer, data, size, 1);
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_VERSION);
    assert_int_equal(err.peer_version, VFP_VERSION + 1);
    assert_true(zframe_eq(first, peer));
    zframe_destroy(&peer);

    /* The socket is still in step: a good message follows the garbage. */
    assert_int_equal(vfp_send(pair->dealer, NULL, heartbeat, &err), 0);
    vfp_msg_t *got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    assert_true(sample_equal(heartbeat, got));
    vfp_msg_destroy(&got);
    zframe_destroy(&peer);
    zframe_destroy(&first);
    vfp_msg_destroy(&heartbeat);
    free(data);
}

static void test_dealer_rejects_extra_frames(void **state)
{
    s_pair_t *pair = *state;
    vfp_decode_error_t err;
    vfp_msg_t *heartbeat = sample_msg(VFP_HEARTBEAT, SAMPLE_MIN);
    assert_int_equal(vfp_send(pair->dealer, NULL, heartbeat, &err), 0);
    zframe_t *peer = NULL;
    vfp_msg_t *got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    vfp_msg_destroy(&got);

    zmsg_t *zmsg = zmsg_new();
    zmsg_append(zmsg, &(zframe_t *){zframe_dup(peer)});
    zmsg_addstr(zmsg, "one");
    zmsg_addstr(zmsg, "two");
    assert_int_equal(zmsg_send(&zmsg, pair->router), 0);
    assert_null(vfp_recv(pair->dealer, NULL, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "transport");
    zframe_destroy(&peer);
    vfp_msg_destroy(&heartbeat);
}

static void test_send_refuses_invalid_message(void **state)
{
    s_pair_t *pair = *state;
    vfp_decode_error_t err;
    vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
    error->u.error.code = 99;
    assert_int_equal(vfp_send(pair->dealer, NULL, error, &err), -1);
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "error.code");
    vfp_msg_destroy(&error);

    /* A ROUTER needs a routing id, and a DEALER must not get one. */
    vfp_msg_t *heartbeat = sample_msg(VFP_HEARTBEAT, SAMPLE_MIN);
    errno = 0;
    assert_int_equal(vfp_send(pair->router, NULL, heartbeat, &err), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(err.code, VFP_OK);
    zframe_t *bogus = zframe_new("id", 2);
    errno = 0;
    assert_int_equal(vfp_send(pair->dealer, bogus, heartbeat, &err), -1);
    assert_int_equal(errno, EINVAL);
    zframe_destroy(&bogus);
    vfp_msg_destroy(&heartbeat);

    /* Nothing went out: the router times out with nothing received. */
    zsock_set_rcvtimeo(pair->router, 50);
    zframe_t *peer = NULL;
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_OK);
    assert_null(peer);
}

/* What a controller does with a HELLO (PROTOCOL.md, "Versioning"): answer
 * WELCOME in the chosen version, or ERROR VERSION in its oldest version. */
static void s_controller_answer_hello(s_pair_t *pair)
{
    vfp_decode_error_t err;
    zframe_t *peer = NULL;
    vfp_msg_t *hello = vfp_recv(pair->router, &peer, &err);
    int chosen = hello ? vfp_version_choose(hello->u.hello.proto_min,
                                            hello->u.hello.proto_max)
                       : -1;
    vfp_msg_t *answer;
    if (chosen > 0) {
        answer = vfp_msg_new(VFP_WELCOME);
        answer->version = (uint8_t)chosen;
        answer->request_id = hello->request_id;
        answer->u.welcome.proto_version = (uint8_t)chosen;
        answer->u.welcome.heartbeat_ms = 2000;
    } else {
        answer = vfp_msg_new(VFP_ERROR);
        answer->version = VFP_VERSION_MIN;
        answer->request_id = hello ? hello->request_id : err.peer_request_id;
        answer->u.error.code = VFP_ERR_VERSION;
        snprintf(answer->u.error.text, sizeof answer->u.error.text,
                 "controller speaks protocol versions %d..%d", VFP_VERSION_MIN,
                 VFP_VERSION);
    }
    assert_int_equal(vfp_send(pair->router, peer, answer, &err), 0);
    vfp_msg_destroy(&answer);
    vfp_msg_destroy(&hello);
    zframe_destroy(&peer);
}

/* Sends a HELLO for the range min..max, its header in `version`. The body is
 * version 1's; a controller never looks past a header it cannot read. */
static void s_agent_hello(s_pair_t *pair, uint8_t version, uint8_t min,
                          uint8_t max)
{
    vfp_msg_t *hello = vfp_msg_new(VFP_HELLO);
    hello->request_id = 1000u + version * 16u + max;
    strcpy(hello->u.hello.hostname, "node1");
    hello->u.hello.proto_min = min;
    hello->u.hello.proto_max = max;
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(vfp_encode(hello, &data, &size, &err), 0);
    data[2] = version;
    s_send_frames(pair->dealer, data, size, 1);
    free(data);
    vfp_msg_destroy(&hello);
}

static void test_version_negotiation(void **state)
{
    s_pair_t *pair = *state;
    vfp_decode_error_t err;

    /* An agent that also speaks newer versions gets this build's. */
    s_agent_hello(pair, 1, 1, 5);
    s_controller_answer_hello(pair);
    vfp_msg_t *got = vfp_recv(pair->dealer, NULL, &err);
    assert_non_null(got);
    assert_int_equal(got->id, VFP_WELCOME);
    assert_int_equal(got->version, VFP_VERSION);
    assert_int_equal(got->u.welcome.proto_version, VFP_VERSION);
    assert_int_equal(got->request_id, 1000 + 16 + 5);
    vfp_msg_destroy(&got);

    /* An agent that only speaks newer versions writes a HELLO this build
     * cannot read; it still learns why, in the version named in the
     * ERROR's header, and its request id comes back. */
    s_agent_hello(pair, 2, 2, 3);
    s_controller_answer_hello(pair);
    got = vfp_recv(pair->dealer, NULL, &err);
    assert_non_null(got);
    assert_int_equal(got->id, VFP_ERROR);
    assert_int_equal(got->version, VFP_VERSION_MIN);
    assert_int_equal(got->u.error.code, VFP_ERR_VERSION);
    assert_string_equal(got->u.error.text,
                        "controller speaks protocol versions 1..1");
    assert_int_equal(got->request_id, 1000 + 2 * 16 + 3);
    vfp_msg_destroy(&got);

    /* A readable HELLO whose range has nothing in common. */
    s_agent_hello(pair, 1, 2, 3);
    s_controller_answer_hello(pair);
    got = vfp_recv(pair->dealer, NULL, &err);
    assert_non_null(got);
    assert_int_equal(got->u.error.code, VFP_ERR_VERSION);
    vfp_msg_destroy(&got);

    /* The agent's side of an ERROR in a version it does not speak: the
     * frozen header still says it is an ERROR, in which version, for which
     * request. */
    vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
    error->request_id = 42;
    error->u.error.code = VFP_ERR_VERSION;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(vfp_encode(error, &data, &size, &err), 0);
    data[2] = 9;
    /* An empty frame from the agent tells the controller side its routing
     * id. */
    zframe_t *peer = NULL;
    s_send_frames(pair->dealer, "", 0, 1);
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_non_null(peer);
    zmsg_t *zmsg = zmsg_new();
    zmsg_append(zmsg, &peer);
    zmsg_addmem(zmsg, data, size);
    assert_int_equal(zmsg_send(&zmsg, pair->router), 0);
    assert_null(vfp_recv(pair->dealer, NULL, &err));
    assert_int_equal(err.code, VFP_ERR_VERSION);
    assert_int_equal(err.peer_version, 9);
    assert_int_equal(err.peer_msg_id, VFP_ERROR);
    assert_int_equal(err.peer_request_id, 42);
    free(data);
    vfp_msg_destroy(&error);
}

/* A REQ peer wraps its message in an empty delimiter frame and drops any
 * answer without one: the ROUTER side takes the delimiter off and puts it
 * back on the answer, also on the answer to a request that did not decode. */
static void test_req_peer(void **state)
{
    s_pair_t *pair = *state;
    zsock_t *req = zsock_new(ZMQ_REQ);
    assert_int_equal(zsock_connect(req, "%s", zsock_endpoint(pair->router)), 0);
    zsock_set_rcvtimeo(req, 2000);
    vfp_decode_error_t err;

    vfp_msg_t *request = sample_msg(VFP_REQUEST, SAMPLE_FULL);
    assert_int_equal(vfp_send(req, NULL, request, &err), 0);
    zframe_t *peer = NULL;
    vfp_msg_t *got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    assert_true(sample_equal(request, got));
    assert_true(zframe_more(peer));
    vfp_msg_destroy(&got);
    vfp_msg_t *reply = sample_msg(VFP_REPLY, SAMPLE_FULL);
    assert_int_equal(vfp_send(pair->router, peer, reply, &err), 0);
    got = vfp_recv(req, NULL, &err);
    assert_non_null(got);
    assert_true(sample_equal(reply, got));
    vfp_msg_destroy(&got);
    zframe_destroy(&peer);

    assert_int_equal(zstr_send(req, "garbage"), 0);
    assert_null(vfp_recv(pair->router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "header.signature");
    assert_int_equal(vfp_send(pair->router, peer, reply, &err), 0);
    got = vfp_recv(req, NULL, &err);
    assert_non_null(got);
    vfp_msg_destroy(&got);
    zframe_destroy(&peer);

    /* A DEALER peer's routing id carries no delimiter mark. */
    assert_int_equal(vfp_send(pair->dealer, NULL, request, &err), 0);
    got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    assert_false(zframe_more(peer));
    vfp_msg_destroy(&got);
    zframe_destroy(&peer);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&request);
    zsock_destroy(&req);
}

/* An answer sent later, through a copy of the routing id, still reaches a
 * REQ peer: vfp_routing_id_dup keeps the delimiter mark zframe_dup drops. */
/* vfp_peek_zmsg reads a received message's header without taking it,
 * and gives a routing id that answers the peer in its own envelope: a
 * REQ peer gets its delimiter back, a DEALER none; a message that is not
 * one VFP frame in its envelope is not read. */
static void test_peek_zmsg(void **state)
{
    s_pair_t *pair = *state;
    zsock_t *req = zsock_new(ZMQ_REQ);
    assert_int_equal(zsock_connect(req, "%s", zsock_endpoint(pair->router)), 0);
    zsock_set_rcvtimeo(req, 2000);
    vfp_decode_error_t err;
    vfp_msg_t *request = sample_msg(VFP_REQUEST, SAMPLE_FULL);
    zsock_t *peers[] = {req, pair->dealer};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vfp_send(peers[i], NULL, request, &err), 0);
        zmsg_t *zmsg = zmsg_recv(pair->router);
        assert_non_null(zmsg);
        size_t frames = zmsg_size(zmsg);
        zframe_t *peer = NULL;
        uint8_t version = 0, msg_id = 0;
        uint32_t request_id = 0;
        assert_int_equal(
            vfp_peek_zmsg(zmsg, &peer, &version, &msg_id, &request_id), 0);
        assert_int_equal(zmsg_size(zmsg), frames);
        assert_int_equal(version, request->version);
        assert_int_equal(msg_id, VFP_REQUEST);
        assert_int_equal(request_id, request->request_id);
        assert_int_equal(zframe_more(peer), peers[i] == req);
        zmsg_destroy(&zmsg);
        vfp_msg_t *reply = sample_msg(VFP_REPLY, SAMPLE_FULL);
        assert_int_equal(vfp_send(pair->router, peer, reply, &err), 0);
        vfp_msg_t *got = vfp_recv(peers[i], NULL, &err);
        assert_non_null(got);
        assert_true(sample_equal(reply, got));
        vfp_msg_destroy(&got);
        vfp_msg_destroy(&reply);
        zframe_destroy(&peer);
    }
    zstr_sendm(pair->dealer, "extra");
    zstr_send(pair->dealer, "frame");
    zmsg_t *zmsg = zmsg_recv(pair->router);
    zframe_t *peer = NULL;
    uint8_t version, msg_id;
    uint32_t request_id;
    assert_int_equal(vfp_peek_zmsg(zmsg, &peer, &version, &msg_id, &request_id),
                     -1);
    assert_null(peer);
    zmsg_destroy(&zmsg);
    vfp_msg_destroy(&request);
    zsock_destroy(&req);
}

static void test_routing_id_dup(void **state)
{
    s_pair_t *pair = *state;
    zsock_t *req = zsock_new(ZMQ_REQ);
    assert_int_equal(zsock_connect(req, "%s", zsock_endpoint(pair->router)), 0);
    zsock_set_rcvtimeo(req, 2000);
    vfp_decode_error_t err;
    vfp_msg_t *request = sample_msg(VFP_REQUEST, SAMPLE_FULL);
    assert_int_equal(vfp_send(req, NULL, request, &err), 0);
    zframe_t *peer = NULL;
    vfp_msg_t *got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    vfp_msg_destroy(&got);
    zframe_t *copy = vfp_routing_id_dup(peer);
    zframe_destroy(&peer);
    assert_true(zframe_more(copy));
    vfp_msg_t *reply = sample_msg(VFP_REPLY, SAMPLE_FULL);
    assert_int_equal(vfp_send(pair->router, copy, reply, &err), 0);
    got = vfp_recv(req, NULL, &err);
    assert_non_null(got);
    assert_true(sample_equal(reply, got));
    vfp_msg_destroy(&got);
    zframe_destroy(&copy);

    assert_int_equal(vfp_send(pair->dealer, NULL, request, &err), 0);
    got = vfp_recv(pair->router, &peer, &err);
    assert_non_null(got);
    copy = vfp_routing_id_dup(peer);
    assert_false(zframe_more(copy));
    assert_true(zframe_eq(copy, peer));
    assert_null(vfp_routing_id_dup(NULL));
    vfp_msg_destroy(&got);
    zframe_destroy(&copy);
    zframe_destroy(&peer);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&request);
    zsock_destroy(&req);
}

/* A HEARTBEAT header and then zeros: delivered, it fails to decode with
 * trailing bytes, so the receiver can tell it arrived. */
static void s_send_raw_frame(zsock_t *sock, size_t size)
{
    uint8_t *data = calloc(1, size);
    memcpy(data, (uint8_t[]){0x56, 0x46, 1, VFP_HEARTBEAT, 0, 0, 0, 77}, 8);
    zframe_t *frame = zframe_new(data, size);
    free(data);
    assert_int_equal(zframe_send(&frame, sock, 0), 0);
}

/* A PAIR receiving the socket's ZMQ_EVENT_DISCONNECTED events. */
static void *s_monitor_start(zsock_t *sock)
{
    static int counter;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://vfp-monitor-%d", counter++);
    assert_int_equal(zmq_socket_monitor(zsock_resolve(sock), endpoint,
                                        ZMQ_EVENT_DISCONNECTED),
                     0);
    void *pair = zmq_socket(zsys_init(), ZMQ_PAIR);
    assert_non_null(pair);
    assert_int_equal(zmq_connect(pair, endpoint), 0);
    return pair;
}

/* Whether event arrives within timeout_ms. An event is two frames: 16-bit
 * event and 32-bit value, then the endpoint. */
static bool s_monitor_wait(void *pair, uint16_t event, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = pair, .events = ZMQ_POLLIN};
    while (zmq_poll(&item, 1, timeout_ms) == 1) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, pair, 0) < 0)
            return false;
        uint16_t got = 0;
        if (zmq_msg_size(&msg) >= 2)
            memcpy(&got, zmq_msg_data(&msg), 2);
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, pair, 0);
        zmq_msg_close(&msg);
        if (got == event)
            return true;
    }
    return false;
}

static void s_monitor_stop(zsock_t *sock, void *pair)
{
    zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
    int linger = 0;
    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(pair);
}

/* ZMQ_MAXMSGSIZE, set by vfp_socket_limit, makes libzmq drop a frame over
 * VFP_MSG_MAX and the connection that carried it; a frame of exactly
 * VFP_MSG_MAX is delivered. Over tcp: inproc has no size check. */
static void test_socket_limit(void **state)
{
    (void)state;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    vfp_socket_limit(router);
    assert_int_equal(zsock_maxmsgsize(router), VFP_MSG_MAX);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    /* libzmq's own monitor, read on a PAIR of ours: czmq's zmonitor actor
     * once aborted in its teardown on a loaded machine. */
    void *monitor = s_monitor_start(router);

    /* Raw peers: sockets without the limit, as another implementation's. */
    zsock_t *over = zsock_new_dealer(NULL);
    assert_int_equal(zsock_connect(over, "tcp://127.0.0.1:%d", port), 0);
    s_send_raw_frame(over, (size_t)VFP_MSG_MAX + 1);
    assert_true(s_monitor_wait(monitor, ZMQ_EVENT_DISCONNECTED, 10000));
    zsock_set_rcvtimeo(router, 300);
    zframe_t *peer = NULL;
    vfp_decode_error_t err;
    assert_null(vfp_recv(router, &peer, &err));
    assert_int_equal(err.code, VFP_OK);
    assert_null(peer);

    zsock_t *at = zsock_new_dealer(NULL);
    assert_int_equal(zsock_connect(at, "tcp://127.0.0.1:%d", port), 0);
    s_send_raw_frame(at, VFP_MSG_MAX);
    zsock_set_rcvtimeo(router, 10000);
    assert_null(vfp_recv(router, &peer, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    /* The header and HEARTBEAT's 16 body bytes decode; the rest trails. */
    char text[64];
    snprintf(text, sizeof text, "%u trailing byte(s) after the message",
             VFP_MSG_MAX - VFP_HEADER_SIZE - 16);
    assert_string_equal(err.text, text);
    assert_true(err.peer_header);
    assert_int_equal(err.peer_request_id, 77);
    assert_non_null(peer);
    zframe_destroy(&peer);

    zsock_destroy(&at);
    zsock_destroy(&over);
    s_monitor_stop(router, monitor);
    zsock_destroy(&router);
}

/* Every vfleet socket gets bounded queues and a handshake timeout, and no
 * ZMTP heartbeats unless asked for (vfp_transport.h says why). */
static void test_socket_limit_values(void **state)
{
    (void)state;
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    vfp_socket_limit(sock);
    assert_int_equal(zsock_maxmsgsize(sock), VFP_MSG_MAX);
    assert_int_equal(zsock_rcvhwm(sock), VFP_SOCKET_HWM);
    assert_int_equal(zsock_sndhwm(sock), VFP_SOCKET_HWM);
    assert_int_equal(zsock_handshake_ivl(sock), VFP_SOCKET_HANDSHAKE_MS);
    assert_int_equal(zsock_heartbeat_ivl(sock), 0);
    vfp_socket_limits_t limits = {.maxmsgsize = 1000,
                                  .rcvhwm = 2,
                                  .sndhwm = 3,
                                  .handshake_ms = 500,
                                  .heartbeat_ms = 100,
                                  .heartbeat_timeout_ms = 300};
    vfp_socket_limit_set(sock, &limits);
    assert_int_equal(zsock_maxmsgsize(sock), 1000);
    assert_int_equal(zsock_rcvhwm(sock), 2);
    assert_int_equal(zsock_sndhwm(sock), 3);
    assert_int_equal(zsock_handshake_ivl(sock), 500);
    assert_int_equal(zsock_heartbeat_ivl(sock), 100);
    assert_int_equal(zsock_heartbeat_timeout(sock), 300);
    zsock_destroy(&sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conversation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_garbage, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_dealer_rejects_extra_frames,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_refuses_invalid_message,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_version_negotiation, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_req_peer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peek_zmsg, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_routing_id_dup, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_socket_limit),
        cmocka_unit_test(test_socket_limit_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
