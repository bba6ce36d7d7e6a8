/* rollout.h - the controller's rollout engine, on the main thread: sends
 * each host its stored desired APPLY when it joins, falls behind, drifts
 * or gets a new desired state, and records what the agent answers. */
#ifndef VFLEET_ROLLOUT_H
#define VFLEET_ROLLOUT_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "sessions.h"
#include "vfleet_db.h"
#include "vfp.h"

/* An APPLY sent on a session counts as in flight for this long: nothing
 * else is sent to that host meanwhile (heartbeats that still show the old
 * revision, drift), so a slow agent or a VF the kernel keeps refusing
 * costs one APPLY per window, never a loop. */
#define ROLLOUT_INFLIGHT_MS 30000

typedef struct rollout_t rollout_t;

typedef struct {
    uint32_t inflight_ms; /* 0: ROLLOUT_INFLIGHT_MS (tests use less) */
} rollout_config_t;

/* The engine over db (the main thread's write connection) and sessions
 * (the agents' table, for the routing ids); neither is owned. cfg may be
 * NULL (defaults). */
rollout_t *rollout_new(db_t *db, sessions_t *sessions,
                       const rollout_config_t *cfg);
void rollout_destroy(rollout_t **self_p);

/* Loads every host's desired and applied revision from the db (one row per
 * host with a desired state, no APPLY bytes). Returns 0, or -1 with err. */
int rollout_load(rollout_t *self, char *err, size_t errlen);

/* The hooks below are called by agents.c once the burst that stored what
 * they report has committed, so every APPLY they queue on `out` (an
 * agents_outbox_new list) is a committed desired state; their own db
 * writes are transactions of their own. */

/* The host's full INVENTORY (full true: it joined or rejoined) or a delta
 * is stored: sends the desired APPLY to a joined host whose applied
 * revision differs, and compares the desired state with the stored
 * inventory (drift). */
void rollout_inventory_stored(rollout_t *self, session_t *host, bool full,
                              zlistx_t *out);

/* A HEARTBEAT's applied_revision: sends the desired APPLY when the host is
 * behind and nothing is in flight; renumbers the desired state above the
 * agent's when the agent is ahead of the db. */
void rollout_heartbeat(rollout_t *self, session_t *host,
                       uint64_t applied_revision, zlistx_t *out);

/* What one APPLY_RESULT did, from rollout_result_record to
 * rollout_result_committed. */
typedef struct {
    uint64_t revision;
    uint32_t ok, failed;
    bool stored; /* recorded as the answer to the current desired revision */
    char first_failure[192];
} rollout_result_t;

/* Inside the burst's transaction: records an APPLY_RESULT from host
 * (db_apply_result_record; one for another revision is logged, not
 * stored) and its event, and fills *result. */
void rollout_result_record(rollout_t *self, const char *host,
                           const vfp_msg_t *msg, rollout_result_t *result);

/* After the commit: memory takes the answer, the summary is logged and
 * the now settled state is compared with the inventory (drift). */
void rollout_result_committed(rollout_t *self, session_t *host,
                              const rollout_result_t *result, zlistx_t *out);

/* An ERROR from host's agent answering request_id. An INVALID answer to
 * the APPLY in flight means the agent holds a newer revision (PROTOCOL.md
 * 7.4): its text names it, and the desired state is renumbered above it
 * and sent again. Others are logged. */
void rollout_agent_error(rollout_t *self, session_t *host, const vfp_msg_t *msg,
                         zlistx_t *out);

/* The host's desired state was just stored (policy.apply, rollback): reads
 * it and sends it at once to a connected host, whatever was in flight. */
void rollout_desired_changed(rollout_t *self, const char *host, zlistx_t *out);

/* What rollout_replan did. */
typedef enum {
    ROLLOUT_PLAN_FAILED = -1, /* no policy was ever applied, the plan
                               * conflicts (this host alone is refused and
                               * keeps its desired state), or it could not
                               * be read or stored */
    ROLLOUT_PLAN_SAME = 0,    /* the desired state already is the plan */
    ROLLOUT_PLAN_CHANGED = 1, /* the plan was stored and sent */
} rollout_plan_t;

/* The host's labels or VMs changed: plans it against the latest policy
 * whatever its desired state was planned from, and stores and sends the
 * plan when it differs. why ends the log line ("after a label change"). */
rollout_plan_t rollout_replan(rollout_t *self, const char *host,
                              const char *why, zlistx_t *out);

/* A policy was stored (applied or rolled back): hosts whose last check
 * found drift are checked again, since the new policy may now say to
 * correct it (drift: report -> correct) or want other values. */
void rollout_policy_changed(rollout_t *self, zlistx_t *out);

/* Periodic: re-sends to hosts whose drift is to be corrected once their
 * in-flight window has passed. */
void rollout_tick(rollout_t *self, zlistx_t *out);

#endif
