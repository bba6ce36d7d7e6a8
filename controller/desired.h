/* desired.h - one host's desired state from the database: its stored
 * inventory and labels planned against a policy (apply_plan.h), and the
 * planned APPLY stored as the host's next desired state only when it
 * differs from the stored one. Used by policy.apply and by the rollout
 * when a host joins. */
#ifndef VFLEET_DESIRED_H
#define VFLEET_DESIRED_H

#include <stdbool.h>
#include <stdint.h>

#include "apply_plan.h"
#include "policy.h"
#include "vfleet_db.h"
#include "vfp.h"

/* A host's plan with everything it points into (inventory, labels). */
typedef struct desired_t desired_t;

/* Plans one host from the database: its inventory as last stored (PFs and
 * VFs in state "missing" are left out: the agent no longer reports them),
 * its labels (hosts.labels, "key=value" per line) and the VMs it holds
 * (reserved or placed) with their VFs and memory. source
 * names the policy in conflict lines. NULL with err when the host is
 * unknown (DB_ERR_NOT_FOUND) or the database fails. */
desired_t *desired_plan_host(db_t *db, const policy_t *policy,
                             const char *source, const char *host,
                             db_err_t *err);
void desired_destroy(desired_t **self_p);

const apply_plan_t *desired_plan(const desired_t *self);
const vfp_inventory_t *desired_inventory(const desired_t *self);

/* Hands the plan's APPLY over (apply_plan_take_msg): it outlives the plan
 * and its inventory. NULL when the plan has conflicts. */
vfp_msg_t *desired_take_apply(desired_t *self);

/* The host's stored desired APPLY, decoded (destroy with vfp_msg_destroy);
 * *stored NULL when the host has none. -1 with err when the host is
 * unknown or the database fails; a stored APPLY that does not decode is
 * DB_ERR_IO. */
int desired_stored(db_t *db, const char *host, vfp_msg_t **stored,
                   db_err_t *err);

/* Whether two APPLYs set the same things; their revisions are not
 * compared. */
bool desired_apply_equal(const vfp_apply_t *a, const vfp_apply_t *b);

/* Stores apply as the host's next desired state (db_host_desired_next,
 * encoded with that revision, db_host_desired_set), planned from
 * policy_revision (0: none); *revision is the one stored. */
int desired_store(db_t *db, const char *host, int64_t policy_revision,
                  const vfp_apply_t *apply, int64_t now_ms, uint64_t *revision,
                  db_err_t *err);

/* Records that the rollout of policy_revision refused the host for
 * reason (db_host_refusal_set): it keeps its desired state, and a host
 * without one gets an APPLY without items (nothing managed, policy
 * revision 0), so that it is listed with its refusal. */
int desired_refuse(db_t *db, const char *host, int64_t policy_revision,
                   const char *reason, int64_t now_ms, db_err_t *err);

/* Stores the plan's APPLY when it differs from the stored desired state
 * (desired_apply_equal); *changed says whether it did, *revision is the
 * host's desired revision afterwards (0: none). A plan with conflicts is
 * refused with DB_ERR_INVALID. */
int desired_store_if_changed(db_t *db, const char *host,
                             int64_t policy_revision, const apply_plan_t *plan,
                             int64_t now_ms, bool *changed, uint64_t *revision,
                             db_err_t *err);

/* The latest stored policy, parsed once per revision: a cache its owner
 * keeps (zeroed to start, desired_policy_clear to end). */
typedef struct {
    int64_t revision; /* of the cached policy; 0: none */
    policy_t *policy; /* NULL: none stored, or it does not parse */
    char source[32];  /* "revision N", for conflict lines */
} desired_policy_t;

/* The latest stored policy: read and parsed only when a newer revision was
 * stored since the last call. NULL when none is stored or it cannot be read
 * or parsed (logged). */
const policy_t *desired_policy_latest(db_t *db, desired_policy_t *cache);
void desired_policy_clear(desired_policy_t *cache);

#endif
