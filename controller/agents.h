/* agents.h - the agent side of the controller: HELLO/WELCOME sessions,
 * inventory ingestion, heartbeats, APPLY_RESULTs and host liveness, as
 * handlers that take decoded messages and return the messages to send. */
#ifndef VFLEET_AGENTS_H
#define VFLEET_AGENTS_H

#include <czmq.h>

#include "peer_limit.h"
#include "rollout.h"
#include "sessions.h"
#include "vfleet_db.h"
#include "vfp.h"

/* One message to send: `msg` to the agent session `to`. */
typedef struct {
    zframe_t *to;
    vfp_msg_t *msg;
} agents_out_t;

/* Frees an outgoing message and its routing id; accepts NULL. */
void agents_out_destroy(agents_out_t **self_p);

/* A list for agents_out_t items that destroys them with it. */
zlistx_t *agents_outbox_new(void);

/* Queues msg (taken) for routing_id (copied) on out. */
void agents_out_queue(zlistx_t *out, zframe_t *routing_id, vfp_msg_t *msg);

typedef struct {
    uint32_t heartbeat_ms; /* interval agents are told to use */
    uint32_t dead_after;   /* missed intervals before a host is down */
    const char *controller_id;
    peer_limit_t *limits; /* rate-limits warnings about peers; may be NULL */
    /* CURVE: a message speaks for the host its key names (the ZAP
     * properties "name" and "role" of its routing id frame), never for
     * the one it says. false: plaintext (--insecure), as said. */
    bool keyed;
} agents_config_t;

typedef struct agents_t agents_t;

/* Handlers over db (written) and sessions (the table they keep); neither
 * is owned. cfg is copied, controller_id must outlive the handlers. */
agents_t *agents_new(db_t *db, sessions_t *sessions,
                     const agents_config_t *cfg);
void agents_destroy(agents_t **self_p);

/* Calls rollout's hooks (rollout.h) from now on: after each committed
 * INVENTORY, delta, HEARTBEAT, APPLY_RESULT (stored in the burst) and
 * agent ERROR. Without a rollout an APPLY_RESULT is answered ERROR
 * UNEXPECTED. */
void agents_set_rollout(agents_t *self, rollout_t *rollout);

/* What the rest of the controller learns of hosts once a burst has
 * committed (placement keeps its index with them). Any may be NULL. */
typedef struct {
    void (*host_state)(void *arg, const char *host); /* joined, back, down */
    /* A full INVENTORY (the host joined) or a delta was stored; a delta
     * only when delta_matters said so (or is NULL). */
    void (*host_inventory)(void *arg, const char *host, bool full);
    /* Whether a delta, as received, changes what the hooks' owner keeps
     * of the host. */
    bool (*delta_matters)(void *arg, const char *host,
                          const vfp_inventory_delta_t *delta);
    /* The answer to the host's current desired revision was stored. */
    void (*host_result)(void *arg, const char *host);
    void *arg;
} agents_hooks_t;

void agents_set_hooks(agents_t *self, const agents_hooks_t *hooks);

/* Loads the known hosts from the db into the session table (no sessions:
 * each gets a full dead-after period from now to reconnect). */
int agents_load(agents_t *self, char *err, size_t errlen);

/* Handles one decoded message from the agent session routing_id, whose
 * connection's key is key (NULL: none; with cfg.keyed, refused). Database
 * writes of a burst share one transaction; answers that depend on it
 * (WELCOME, RESYNC after a heartbeat) wait for agents_commit. Answers to
 * send go to out (made by agents_outbox_new). */
void agents_handle(agents_t *self, zframe_t *routing_id,
                   const vfp_keys_peer_t *key, const vfp_msg_t *msg,
                   zlistx_t *out);

/* Answers a message that did not decode (never an ERROR). */
void agents_handle_undecodable(agents_t *self, zframe_t *routing_id,
                               const vfp_decode_error_t *err, zlistx_t *out);

/* Ends a burst: commits its transaction, and only then counts what it
 * stored (sessions, generations, liveness) in memory and releases the
 * answers that waited. When the commit fails nothing of the burst counts:
 * HELLOs get ERROR INTERNAL (the agent says HELLO again), and hosts whose
 * reports were lost are asked for a full INVENTORY at their next
 * heartbeat. */
void agents_commit(agents_t *self, zlistx_t *out);

/* Forgets every agent session whose key (the User-Id its HELLO came
 * with) authorised(arg, key) no longer accepts: nothing is sent to it or
 * accepted from it again, and its host is marked down (event
 * "host-down"). Returns how many were connected. */
size_t agents_revoke(agents_t *self,
                     bool (*authorised)(void *arg, const char *key), void *arg);

/* Marks down every host not heard from for dead_after intervals, writing
 * pending last_seen values first. Call only after draining the socket. */
void agents_check_liveness(agents_t *self, int64_t now_mono);

/* Writes pending last_seen values to the db (the liveness check does it
 * every AGENTS_FLUSH_MS; the admin API shows the in-memory value). */
#define AGENTS_FLUSH_MS 10000
void agents_flush(agents_t *self);

#endif
