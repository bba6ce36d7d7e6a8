/* vfp_transport.c - one vfp message per ZeroMQ frame on czmq sockets. */
#include "vfp_transport.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void vfp_socket_limits_default(vfp_socket_limits_t *limits)
{
    *limits = (vfp_socket_limits_t){
        .maxmsgsize = VFP_MSG_MAX,
        .rcvhwm = VFP_SOCKET_HWM,
        .sndhwm = VFP_SOCKET_HWM,
        .handshake_ms = VFP_SOCKET_HANDSHAKE_MS,
    };
}

void vfp_socket_limit_set(zsock_t *sock, const vfp_socket_limits_t *limits)
{
    assert(sock && limits);
    zsock_set_maxmsgsize(sock, limits->maxmsgsize);
    zsock_set_rcvhwm(sock, limits->rcvhwm);
    zsock_set_sndhwm(sock, limits->sndhwm);
    zsock_set_handshake_ivl(sock, limits->handshake_ms);
    if (limits->heartbeat_ms > 0) {
        zsock_set_heartbeat_ivl(sock, limits->heartbeat_ms);
        zsock_set_heartbeat_timeout(sock, limits->heartbeat_timeout_ms);
        zsock_set_heartbeat_ttl(sock, limits->heartbeat_timeout_ms);
    }
}

void vfp_socket_limit(zsock_t *sock)
{
    vfp_socket_limits_t limits;
    vfp_socket_limits_default(&limits);
    vfp_socket_limit_set(sock, &limits);
}

int vfp_send(zsock_t *sock, zframe_t *routing_id, const vfp_msg_t *msg,
             vfp_decode_error_t *err)
{
    assert(sock && msg && err);
    memset(err, 0, sizeof *err);
    bool router = zsock_type(sock) == ZMQ_ROUTER;
    /* Without a routing id a ROUTER would take the message frame itself for
     * one and drop it silently. */
    if (router != (routing_id != NULL)) {
        errno = EINVAL;
        return -1;
    }
    uint8_t *data;
    size_t size;
    if (vfp_encode(msg, &data, &size, err))
        return -1;
    zmsg_t *zmsg = zmsg_new();
    if (router) {
        zmsg_append(zmsg, &(zframe_t *){zframe_dup(routing_id)});
        /* A REQ peer drops any answer without its delimiter. */
        if (zframe_more(routing_id))
            zmsg_addmem(zmsg, NULL, 0);
    }
    zframe_t *frame = zframe_new(data, size);
    free(data);
    zmsg_append(zmsg, &frame);
    if (zmsg_send(&zmsg, sock)) {
        int saved = errno;
        zmsg_destroy(&zmsg);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Whether a message received on a ROUTER came from a REQ peer: an empty
 * delimiter frame between the routing id and at least one more frame. */
static bool s_req_envelope(zmsg_t *zmsg)
{
    zmsg_first(zmsg);
    zframe_t *second = zmsg_next(zmsg);
    return zmsg_size(zmsg) >= 3 && zframe_size(second) == 0;
}

/* Takes the envelope off a message received on a ROUTER: the routing id,
 * and the empty delimiter frame a REQ peer puts before its message. The
 * routing id's MORE flag records which of the two envelopes came in. */
static zframe_t *s_open_envelope(zmsg_t *zmsg)
{
    bool req = s_req_envelope(zmsg);
    zframe_t *routing_id = zmsg_pop(zmsg);
    if (req) {
        zframe_t *delimiter = zmsg_pop(zmsg);
        zframe_destroy(&delimiter);
    }
    if (routing_id)
        zframe_set_more(routing_id, req);
    return routing_id;
}

zframe_t *vfp_routing_id_dup(zframe_t *routing_id)
{
    zframe_t *copy = zframe_dup(routing_id);
    if (copy)
        zframe_set_more(copy, zframe_more(routing_id));
    return copy;
}

int vfp_peek_zmsg(zmsg_t *zmsg, zframe_t **routing_id_p, uint8_t *version,
                  uint8_t *msg_id, uint32_t *request_id)
{
    *routing_id_p = NULL;
    bool req = s_req_envelope(zmsg);
    zframe_t *data = zmsg_last(zmsg);
    /* The envelope and exactly one VFP frame, as vfp_recv_zmsg takes. */
    if (zmsg_size(zmsg) != (req ? 3u : 2u) ||
        vfp_peek_header(zframe_data(data), zframe_size(data), version, msg_id,
                        request_id) != 0)
        return -1;
    *routing_id_p = zframe_dup(zmsg_first(zmsg));
    zframe_set_more(*routing_id_p, req);
    return 0;
}

vfp_msg_t *vfp_recv(zsock_t *sock, zframe_t **routing_id_p,
                    vfp_decode_error_t *err)
{
    assert(sock && err);
    memset(err, 0, sizeof *err);
    if (routing_id_p)
        *routing_id_p = NULL;
    zmsg_t *zmsg = zmsg_recv(sock);
    if (!zmsg)
        return NULL;
    return vfp_recv_zmsg(sock, &zmsg, routing_id_p, err);
}

vfp_msg_t *vfp_recv_zmsg(zsock_t *sock, zmsg_t **zmsg_p,
                         zframe_t **routing_id_p, vfp_decode_error_t *err)
{
    assert(sock && zmsg_p && *zmsg_p && err);
    memset(err, 0, sizeof *err);
    zmsg_t *zmsg = *zmsg_p;
    *zmsg_p = NULL;
    bool router = zsock_type(sock) == ZMQ_ROUTER;
    assert(!router || routing_id_p);
    if (routing_id_p)
        *routing_id_p = NULL;
    if (router) {
        zframe_t *routing_id = s_open_envelope(zmsg);
        /* Without asserts, a caller that wants no routing id still gets
         * the message decoded rather than a crash. */
        if (routing_id_p)
            *routing_id_p = routing_id;
        else
            zframe_destroy(&routing_id);
    }
    vfp_msg_t *msg = NULL;
    size_t frames = zmsg_size(zmsg);
    if (frames != 1) {
        err->code = VFP_ERR_MALFORMED;
        snprintf(err->field, sizeof err->field, "transport");
        snprintf(err->text, sizeof err->text,
                 "expected exactly 1 message frame, got %zu", frames);
    } else {
        zframe_t *frame = zmsg_first(zmsg);
        msg = vfp_decode(zframe_data(frame), zframe_size(frame), err);
    }
    zmsg_destroy(&zmsg);
    return msg;
}
