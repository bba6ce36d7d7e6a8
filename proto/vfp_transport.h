/* vfp_transport.h - sending and receiving vfp messages on czmq sockets. */
#ifndef VFLEET_VFP_TRANSPORT_H
#define VFLEET_VFP_TRANSPORT_H

#include <czmq.h>

#include "vfp.h"

/* Where the controller keeps its state, and so its admin socket, unless told
 * otherwise. vfleet-controller and vfleetctl both default to this endpoint. */
#define VFP_DEFAULT_STATE_DIR "/var/lib/vfleet"
#define VFP_ADMIN_SOCKET_NAME "admin.sock"
#define VFP_DEFAULT_ADMIN_ENDPOINT                                             \
    "ipc://" VFP_DEFAULT_STATE_DIR "/" VFP_ADMIN_SOCKET_NAME

/* What a socket may hold and how long a half-open connection may stay,
 * so that memory is bounded by these numbers and not by what peers send.
 * High-water marks count messages per connection, each at most maxmsgsize
 * bytes; handshake_ms closes a connection that never finishes its ZMTP
 * greeting.
 *
 * ZMTP heartbeats (heartbeat_ms, 0 for none) are off by default: with a
 * receive high-water mark, libzmq 4.3.4 aborts the whole process when a
 * peer hangs up while its queue is full and the heartbeat timer then fires
 * (zeromq/libzmq issues 3937, 4364, 4767: "Assertion failed: !_io_error
 * (stream_engine_base.cpp:331)"), so any peer could stop a daemon that
 * uses both. The agent, whose only peer is its controller, turns them on
 * to notice a controller that went away, and keeps a receive queue of
 * 1000 messages so that only a controller sending that many unread ones
 * could reach the bug. */
typedef struct {
    int maxmsgsize;           /* ZMQ_MAXMSGSIZE, bytes */
    int rcvhwm;               /* ZMQ_RCVHWM, messages per connection */
    int sndhwm;               /* ZMQ_SNDHWM, messages per connection */
    int handshake_ms;         /* ZMQ_HANDSHAKE_IVL */
    int heartbeat_ms;         /* ZMQ_HEARTBEAT_IVL; 0: no ZMTP heartbeats */
    int heartbeat_timeout_ms; /* ZMQ_HEARTBEAT_TIMEOUT and ZMQ_HEARTBEAT_TTL */
} vfp_socket_limits_t;

/* The defaults every vfleet socket gets from vfp_socket_limit. */
#define VFP_SOCKET_HWM 16
#define VFP_SOCKET_HANDSHAKE_MS 10000

/* Fills limits with the defaults above and maxmsgsize VFP_MSG_MAX. */
void vfp_socket_limits_default(vfp_socket_limits_t *limits);

/* Applies limits to a socket, right after it is created (ZeroMQ takes
 * high-water marks only before bind or connect). */
void vfp_socket_limit_set(zsock_t *sock, const vfp_socket_limits_t *limits);

/* Applies the defaults: ZMQ_MAXMSGSIZE = VFP_MSG_MAX, so libzmq drops a
 * peer that sends a larger frame (and its connection) before reading it
 * into memory, VFP_SOCKET_HWM messages each way, VFP_SOCKET_HANDSHAKE_MS,
 * no ZMTP heartbeats. */
void vfp_socket_limit(zsock_t *sock);

/* A vfp message is exactly one ZeroMQ frame. On a ROUTER socket it is
 * preceded by the peer's envelope: its routing id frame, and for a REQ peer
 * the empty delimiter frame after it. DEALER (and REQ) sockets send and
 * receive the message frame alone (PROTOCOL.md, "Transport").
 *
 * vfp_send: encodes and sends msg. routing_id is required on a ROUTER and
 * must be NULL otherwise; it is not consumed. Returns 0, or -1 with *err
 * set (invalid message) or errno set (socket error, err->code VFP_OK).
 * The routing id's MORE flag (zframe_more) says which envelope to send:
 * set, the REQ envelope with its delimiter; clear, the routing id alone.
 * vfp_recv sets it on the routing id it returns; a frame made with
 * zframe_new or zframe_dup has it clear, so to answer a REQ peer pass the
 * very frame vfp_recv returned, or a copy made by vfp_routing_id_dup. */
int vfp_send(zsock_t *sock, zframe_t *routing_id, const vfp_msg_t *msg,
             vfp_decode_error_t *err);

/* vfp_recv: receives one ZeroMQ message (blocking, or honouring the socket's
 * receive timeout) and decodes it. On a ROUTER, *routing_id_p receives the
 * peer's id (caller destroys it), also when decoding fails, so the caller can
 * answer with an ERROR; an empty frame right after it is a REQ peer's
 * delimiter and is removed. Returns the message, or NULL with *err set: code
 * VFP_ERR_MALFORMED / VFP_ERR_VERSION for bad input (the frames are
 * consumed), VFP_OK when nothing was received (interrupted or timed out).
 * err->peer_header says whether the sender can be answered (PROTOCOL.md
 * 7.6); it is false for a message that is not one frame (field
 * "transport"). */
vfp_msg_t *vfp_recv(zsock_t *sock, zframe_t **routing_id_p,
                    vfp_decode_error_t *err);

/* A copy of a routing id vfp_recv returned, MORE flag included, for an
 * answer sent after the original is gone (czmq's zframe_dup clears the
 * flag, and a REQ peer drops an answer without its delimiter). NULL for
 * NULL. */
zframe_t *vfp_routing_id_dup(zframe_t *routing_id);

/* Reads the envelope and header of a message received on a ROUTER,
 * without decoding or taking it: *routing_id_p gets a copy of its routing
 * id (its MORE flag set as vfp_recv sets it, for vfp_send to answer) and
 * the header's fields are filled. 0, or -1 (nothing copied) when the
 * envelope is not one VFP frame or the header cannot be read. */
int vfp_peek_zmsg(zmsg_t *zmsg, zframe_t **routing_id_p, uint8_t *version,
                  uint8_t *msg_id, uint32_t *request_id);

/* vfp_recv's second half, for a caller that looked at the ZeroMQ message
 * before decoding it (the controller's per-peer limits): takes *zmsg_p,
 * received on sock, and decodes it as vfp_recv does. */
vfp_msg_t *vfp_recv_zmsg(zsock_t *sock, zmsg_t **zmsg_p,
                         zframe_t **routing_id_p, vfp_decode_error_t *err);

#endif
