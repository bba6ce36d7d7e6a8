/* admin_policy.h - the admin API's read verbs of policy rollout
 * (ADMIN.md): policy.status, policy.history, policy.get and drift, read
 * from the admin thread's read-only connection and the session table. */
#ifndef VFLEET_ADMIN_POLICY_H
#define VFLEET_ADMIN_POLICY_H

#include <jansson.h>

#include "sessions.h"
#include "vfleet_db.h"
#include "vfp.h"

/* What a verb answers: status VFP_OK and body (owned by the caller), or
 * an error status and its text. */
typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
} admin_policy_answer_t;

/* Every verb reads db and sessions (neither owned) and fills answer, which
 * starts as {VFP_OK, "", NULL}. now_ms is the wall clock pending_ms is
 * measured against. */
typedef void(admin_policy_verb_fn)(db_t *db, sessions_t *sessions,
                                   const vfp_request_t *req, int64_t now_ms,
                                   admin_policy_answer_t *answer);

admin_policy_verb_fn admin_policy_status;
admin_policy_verb_fn admin_policy_history;
admin_policy_verb_fn admin_policy_get;
admin_policy_verb_fn admin_policy_drift;

#endif
