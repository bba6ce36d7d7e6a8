/* sessions.h - the controller's per-host session table: which agent
 * session speaks for which host, and what the controller holds in memory
 * between database writes. */
#ifndef VFLEET_SESSIONS_H
#define VFLEET_SESSIONS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfp.h"

/* Enough for the hex of any ZeroMQ routing id (at most 255 bytes). */
#define SESSIONS_ROUTE_KEY_MAX (2 * 255 + 1)

/* One host. The event loop is the only writer; fields another thread may
 * read (through sessions_peek and sessions_connected) change only through
 * the calls below, which hold the table's lock. */
typedef struct {
    char name[VFP_HOSTNAME_MAX + 1];
    zframe_t *routing_id; /* current agent session, NULL when none */
    char route_key[SESSIONS_ROUTE_KEY_MAX];
    uint8_t proto_version;
    int64_t last_seen_mono; /* zclock_mono() of the last message */
    int64_t last_seen_ms;   /* wall clock of the same, for the db */
    bool seen_unflushed;    /* last_seen not yet written to the db */
    bool down;
    bool have_inventory; /* a full INVENTORY of this session is stored */
    bool resync;         /* a report was lost: ask for a full one */
    uint64_t generation; /* last generation stored for this session */
    char key[41]; /* Z85 public key the session's HELLO came with; "" none */
} session_t;

/* What another thread may learn about a host. */
typedef struct {
    bool connected; /* an agent session that is not down */
    int64_t last_seen_ms;
} session_facts_t;

typedef struct sessions_t sessions_t;

sessions_t *sessions_new(void);
void sessions_destroy(sessions_t **self_p);

/* Adds a host without a session (last seen now); returns it. The name must
 * not be in the table yet. */
session_t *sessions_add(sessions_t *self, const char *name);

/* Lookups for the event loop: by host name, by routing-id key. */
session_t *sessions_find(sessions_t *self, const char *name);
session_t *sessions_find_route(sessions_t *self, const char *route_key);

/* Writes the hex key of a routing id into key (SESSIONS_ROUTE_KEY_MAX). */
void sessions_route_key(zframe_t *routing_id, char *key);

/* Binds the host to a new agent session (a copy of routing_id), replacing
 * any previous one, and marks it up and heard from now. */
void sessions_attach(sessions_t *self, session_t *host, zframe_t *routing_id,
                     uint8_t proto_version, int64_t now_mono, int64_t now_ms);

/* Forgets the host's agent session (its routing id); nothing more is
 * sent to it until a new HELLO. */
void sessions_detach(sessions_t *self, session_t *host);

/* Records a message from the host's session. */
void sessions_touch(sessions_t *self, session_t *host, int64_t now_mono,
                    int64_t now_ms);

/* Liveness as the database now records it. */
void sessions_mark_down(sessions_t *self, session_t *host);
void sessions_mark_up(sessions_t *self, session_t *host);

/* Iteration for the event loop: sessions_at(self, i) for i below
 * sessions_size(self), in the order hosts were added. Not zhashx's cursor:
 * every zhashx_lookup moves that one, and the admin thread looks hosts up
 * while the loop iterates. */
size_t sessions_size(sessions_t *self);
session_t *sessions_at(sessions_t *self, size_t index);

/* Thread-safe: hosts with a live session, and one host's facts (false when
 * the name is unknown). */
size_t sessions_connected(sessions_t *self);
bool sessions_peek(sessions_t *self, const char *name, session_facts_t *out);

#endif
