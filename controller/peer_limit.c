/* peer_limit.c - per-peer token buckets in a bounded LRU table, and the
 * one place where warnings about peers are rate-limited. Each limiter is
 * used by one thread (the event loop, or the admin thread). */
#include "peer_limit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sessions.h"
#include "stats.h"
#include "vfp_log.h"
#include "vfp_transport.h"

typedef struct {
    char *key;           /* hex of the routing id; the table's key */
    char address[48];    /* the peer's address, when libzmq told it */
    double msgs, bytes;  /* tokens left */
    double warns;        /* warnings this peer may still log */
    int64_t seen_ms;     /* when the buckets were last filled */
    uint64_t dropped;    /* messages dropped since the last warning */
    uint64_t suppressed; /* warnings left out since the last one logged */
    void *lru_handle;    /* in self->lru */
} s_peer_t;

struct peer_limit_t {
    peer_limit_config_t cfg;
    double msgs_burst, bytes_burst;
    zhashx_t *peers; /* key -> s_peer_t (owned) */
    zlistx_t *lru;   /* the same s_peer_t, least recently heard first */
    double all_warns;
    int64_t all_seen_ms;
    uint64_t all_suppressed;
    uint64_t dropped;
};

static void s_peer_free(void **item)
{
    s_peer_t *peer = *item;
    if (peer) {
        free(peer->key);
        free(peer);
        *item = NULL;
    }
}

peer_limit_t *peer_limit_new(const peer_limit_config_t *cfg)
{
    peer_limit_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->cfg = *cfg;
    self->msgs_burst = cfg->msgs_per_s > PEER_LIMIT_BURST_MSGS_MIN
                           ? cfg->msgs_per_s
                           : PEER_LIMIT_BURST_MSGS_MIN;
    self->bytes_burst =
        (double)(cfg->bytes_per_s > VFP_MSG_MAX ? cfg->bytes_per_s
                                                : VFP_MSG_MAX);
    self->peers = zhashx_new();
    assert(self->peers);
    /* Keys are the entries' own strings: one copy per peer. */
    zhashx_set_key_duplicator(self->peers, NULL);
    zhashx_set_key_destructor(self->peers, NULL);
    zhashx_set_destructor(self->peers, s_peer_free);
    self->lru = zlistx_new();
    assert(self->lru);
    self->all_warns = PEER_LIMIT_WARN_ALL_BURST;
    self->all_seen_ms = zclock_mono();
    return self;
}

void peer_limit_destroy(peer_limit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zlistx_destroy(&(*self_p)->lru);
    zhashx_destroy(&(*self_p)->peers);
    free(*self_p);
    *self_p = NULL;
}

static double s_refill(double tokens, double per_s, double cap, int64_t ms)
{
    tokens += per_s * (double)ms / 1000.0;
    return tokens < cap ? tokens : cap;
}

static s_peer_t *s_peer_add(peer_limit_t *self, const char *key, int64_t now_ms)
{
    while (zhashx_size(self->peers) >= self->cfg.table_max) {
        s_peer_t *oldest = zlistx_first(self->lru);
        if (!oldest)
            break;
        zlistx_delete(self->lru, oldest->lru_handle);
        zhashx_delete(self->peers, oldest->key);
    }
    s_peer_t *peer = calloc(1, sizeof(*peer));
    assert(peer);
    peer->key = strdup(key);
    assert(peer->key);
    peer->msgs = self->msgs_burst;
    peer->bytes = self->bytes_burst;
    peer->warns = PEER_LIMIT_WARN_BURST;
    peer->seen_ms = now_ms;
    zhashx_insert(self->peers, peer->key, peer);
    peer->lru_handle = zlistx_add_end(self->lru, peer);
    return peer;
}

/* The peer's entry, its buckets filled up to now; a new one starts full,
 * and makes room by forgetting the peer heard from least recently. */
static s_peer_t *s_peer(peer_limit_t *self, zframe_t *routing_id,
                        int64_t now_ms)
{
    char key[SESSIONS_ROUTE_KEY_MAX];
    sessions_route_key(routing_id, key);
    s_peer_t *peer = zhashx_lookup(self->peers, key);
    if (!peer)
        return s_peer_add(self, key, now_ms);
    int64_t ms = now_ms > peer->seen_ms ? now_ms - peer->seen_ms : 0;
    peer->msgs =
        s_refill(peer->msgs, self->cfg.msgs_per_s, self->msgs_burst, ms);
    peer->bytes = s_refill(peer->bytes, (double)self->cfg.bytes_per_s,
                           self->bytes_burst, ms);
    peer->warns = s_refill(peer->warns, 1000.0 / PEER_LIMIT_WARN_MS,
                           PEER_LIMIT_WARN_BURST, ms);
    peer->seen_ms = now_ms;
    zlistx_move_end(self->lru, peer->lru_handle);
    return peer;
}

/* Whether one more warning may be logged about peer, now. */
static bool s_may_warn(peer_limit_t *self, s_peer_t *peer, int64_t now_ms)
{
    int64_t ms = now_ms - self->all_seen_ms;
    self->all_warns = s_refill(self->all_warns, PEER_LIMIT_WARN_ALL_PER_S,
                               PEER_LIMIT_WARN_ALL_BURST, ms > 0 ? ms : 0);
    self->all_seen_ms = now_ms;
    if (peer->warns < 1 || self->all_warns < 1) {
        peer->suppressed++;
        self->all_suppressed++;
        return false;
    }
    peer->warns -= 1;
    self->all_warns -= 1;
    return true;
}

/* Logs text about peer, saying who it is and what was left out. */
static void s_log(peer_limit_t *self, s_peer_t *peer, zframe_t *routing_id,
                  const char *text)
{
    char left_out[96] = "";
    if (peer->suppressed || self->all_suppressed)
        snprintf(left_out, sizeof(left_out),
                 "; left out: %llu warnings about this peer, %llu in all",
                 (unsigned long long)peer->suppressed,
                 (unsigned long long)self->all_suppressed);
    vfp_log_warnx("%s (%s %.32s at %s%s)", text, self->cfg.what, peer->key,
                  peer->address[0] ? peer->address : "?", left_out);
    peer->suppressed = 0;
    self->all_suppressed = 0;
}

/* Charges a message to the peer's entry. */
static bool s_admit(peer_limit_t *self, s_peer_t *peer, zframe_t *routing_id,
                    size_t bytes, int64_t now_ms)
{
    if (peer->msgs >= 1 && peer->bytes >= (double)bytes) {
        peer->msgs -= 1;
        peer->bytes -= (double)bytes;
        return true;
    }
    peer->dropped++;
    self->dropped++;
    stats_peer_dropped(self->cfg.what);
    if (s_may_warn(self, peer, now_ms)) {
        char text[160];
        snprintf(
            text, sizeof(text),
            "over its budget of %u messages and %llu bytes a second: "
            "%llu message%s dropped",
            self->cfg.msgs_per_s, (unsigned long long)self->cfg.bytes_per_s,
            (unsigned long long)peer->dropped, peer->dropped == 1 ? "" : "s");
        s_log(self, peer, routing_id, text);
        peer->dropped = 0;
    }
    return false;
}

bool peer_limit_admit(peer_limit_t *self, zframe_t *routing_id, size_t bytes,
                      int64_t now_ms)
{
    return s_admit(self, s_peer(self, routing_id, now_ms), routing_id, bytes,
                   now_ms);
}

vfp_msg_t *peer_limit_recv(peer_limit_t *self, zsock_t *sock,
                           zframe_t **routing_id_p, vfp_decode_error_t *err,
                           bool *dropped)
{
    vfp_keys_peer_t key;
    return peer_limit_recv_keyed(self, sock, routing_id_p, &key, err, dropped);
}

bool peer_limit_admit_zmsg(peer_limit_t *self, zmsg_t *zmsg,
                           vfp_keys_peer_t *key)
{
    memset(key, 0, sizeof(*key));
    zframe_t *routing_id = zmsg_first(zmsg);
    if (!routing_id)
        return true;
    int64_t now_ms = zclock_mono();
    s_peer_t *peer = s_peer(self, routing_id, now_ms);
    /* Only frames libzmq decoded carry the connection's metadata: the
     * routing id is made by the ROUTER. A routing id names one connection
     * for the socket's life, so its address is looked up once, not in
     * libzmq's metadata map for every message. */
    vfp_keys_peer(zmsg_last(zmsg), key);
    if (!peer->address[0]) {
        const char *address = zframe_meta(zmsg_last(zmsg), "Peer-Address");
        if (address)
            snprintf(peer->address, sizeof(peer->address), "%s", address);
    }
    return s_admit(self, peer, routing_id, zmsg_content_size(zmsg), now_ms);
}

vfp_msg_t *peer_limit_recv_keyed(peer_limit_t *self, zsock_t *sock,
                                 zframe_t **routing_id_p, vfp_keys_peer_t *key,
                                 vfp_decode_error_t *err, bool *dropped)
{
    memset(err, 0, sizeof(*err));
    memset(key, 0, sizeof(*key));
    *routing_id_p = NULL;
    bool ignored;
    if (!dropped)
        dropped = &ignored;
    *dropped = false;
    zmsg_t *zmsg = zmsg_recv(sock);
    if (!zmsg)
        return NULL;
    if (!peer_limit_admit_zmsg(self, zmsg, key)) {
        zmsg_destroy(&zmsg);
        *dropped = true;
        return NULL;
    }
    return vfp_recv_zmsg(sock, &zmsg, routing_id_p, err);
}

void peer_limit_warnx(peer_limit_t *self, zframe_t *routing_id, const char *fmt,
                      ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (!self) {
        vfp_log_warnx("%s", text);
        return;
    }
    int64_t now_ms = zclock_mono();
    s_peer_t *peer = s_peer(self, routing_id, now_ms);
    if (s_may_warn(self, peer, now_ms))
        s_log(self, peer, routing_id, text);
}

uint32_t peer_limit_msgs_per_s(const peer_limit_t *self)
{
    return self->cfg.msgs_per_s;
}

uint32_t peer_limit_mib_per_s(const peer_limit_t *self)
{
    return (uint32_t)(self->cfg.bytes_per_s >> 20);
}

uint64_t peer_limit_dropped(const peer_limit_t *self)
{
    return self->dropped;
}

size_t peer_limit_size(const peer_limit_t *self)
{
    return zhashx_size(self->peers);
}
