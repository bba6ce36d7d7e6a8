/* peer_limit.h - what one peer of a controller socket may cost: a token
 * bucket of messages and one of bytes per routing id, kept in a table of
 * bounded size, and warnings about peers limited per peer and in all. */
#ifndef VFLEET_PEER_LIMIT_H
#define VFLEET_PEER_LIMIT_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfp.h"
#include "vfp_keys.h"

/* A peer may send a burst of one second's worth of its rates, but at
 * least this many messages and one message of the largest size. */
#define PEER_LIMIT_BURST_MSGS_MIN 10

/* Warnings about one peer: this many at once, then one per
 * PEER_LIMIT_WARN_MS; about all peers together, PEER_LIMIT_WARN_ALL_BURST
 * at once, then PEER_LIMIT_WARN_ALL_PER_S a second. A warning that is
 * logged says how many were left out before it. */
#define PEER_LIMIT_WARN_BURST 5
#define PEER_LIMIT_WARN_MS 10000
#define PEER_LIMIT_WARN_ALL_BURST 100
#define PEER_LIMIT_WARN_ALL_PER_S 20

/* Bytes one table entry may take, its key (the hex of a routing id of up
 * to 255 bytes) included; docs/SECURITY.md's memory bound uses it. */
#define PEER_LIMIT_ENTRY_BYTES 1024

/* Peers the controller tracks per socket. */
#define PEER_LIMIT_TABLE_MAX 16384

typedef struct {
    const char *what;     /* "agent", "admin client": for the log */
    uint32_t msgs_per_s;  /* sustained messages a second per peer */
    uint64_t bytes_per_s; /* sustained bytes a second per peer */
    size_t table_max;     /* peers tracked at once; the least recently
                           * heard one is forgotten to make room */
} peer_limit_config_t;

typedef struct peer_limit_t peer_limit_t;

/* cfg is copied; cfg->what must outlive the limiter. */
peer_limit_t *peer_limit_new(const peer_limit_config_t *cfg);
void peer_limit_destroy(peer_limit_t **self_p);

/* Charges one message of `bytes` to the peer at now_ms (any monotonic
 * clock). Returns true when its budgets allow it; otherwise the message
 * is counted as dropped, and a warning logged (rate-limited). */
bool peer_limit_admit(peer_limit_t *self, zframe_t *routing_id, size_t bytes,
                      int64_t now_ms);

/* vfp_recv on a ROUTER, with the sender's budgets checked before the
 * message is decoded. Returns the message as vfp_recv does; NULL with
 * *dropped set (dropped may be NULL) when a message came but was over
 * budget: it was freed undecoded and is never answered. */
vfp_msg_t *peer_limit_recv(peer_limit_t *self, zsock_t *sock,
                           zframe_t **routing_id_p, vfp_decode_error_t *err,
                           bool *dropped);

/* peer_limit_recv, and what the ZAP handler said of the sender's connection
 * into *key (keyed false on a plaintext socket, or when nothing came). */
vfp_msg_t *peer_limit_recv_keyed(peer_limit_t *self, zsock_t *sock,
                                 zframe_t **routing_id_p, vfp_keys_peer_t *key,
                                 vfp_decode_error_t *err, bool *dropped);

/* Charges a message received on a ROUTER (its routing id first) to its
 * sender, and says in *key what the ZAP handler said of its connection.
 * Returns true when the budgets allow it; otherwise it is counted as
 * dropped (and warned about, rate-limited), and the caller frees it
 * undecoded. A message without frames passes. */
bool peer_limit_admit_zmsg(peer_limit_t *self, zmsg_t *zmsg,
                           vfp_keys_peer_t *key);

/* Logs a warning about the peer routing_id, unless it or all peers
 * together already had their share (see above). self may be NULL: the
 * warning is then logged as is. */
void peer_limit_warnx(peer_limit_t *self, zframe_t *routing_id, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* The budgets a peer has: messages, and whole MiB, a second. */
uint32_t peer_limit_msgs_per_s(const peer_limit_t *self);
uint32_t peer_limit_mib_per_s(const peer_limit_t *self);

/* Messages dropped over budget so far; peers in the table now. */
uint64_t peer_limit_dropped(const peer_limit_t *self);
size_t peer_limit_size(const peer_limit_t *self);

#endif
