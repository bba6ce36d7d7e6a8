/* policy_apply.h - the admin write verbs policy.apply and policy.rollback
 * (ADMIN.md): validate a policy, plan every known host, store the revision
 * and each changed host's desired state in one transaction, and answer
 * with what changes where. Runs on the controller's main thread, on the
 * write connection. */
#ifndef VFLEET_POLICY_APPLY_H
#define VFLEET_POLICY_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfleet_db.h"
#include "vfp.h"

/* A policy's text is at most this long in a request body. */
#define POLICY_APPLY_TEXT_MAX (1024 * 1024)
/* Change lines per host in a reply; the rest are counted. */
#define POLICY_APPLY_CHANGES_MAX 100
/* Reply body size past which further hosts (and refusals, conflicts)
 * are only counted; leaves room under VFP_BODY_MAX for the rest. */
#define POLICY_APPLY_BODY_BUDGET (3u << 20)

/* The hosts whose desired state a verb stored anew: the rollout sends each
 * its APPLY. Names are malloc'd. revision_stored: a new policy revision
 * was stored (false when the policy was the latest one's, "unchanged"). */
typedef struct {
    char **hosts;
    size_t count;
    bool revision_stored;
} policy_apply_changed_t;

void policy_apply_changed_clear(policy_apply_changed_t *changed);

/* Answers one REQUEST policy.apply or policy.rollback with its REPLY
 * (UNKNOWN_VERB for any other verb), on db, the write connection, with
 * now_ms as the time stored. *changed (initially empty) gets the hosts
 * whose new desired state was committed; nothing on a dry run or error. */
vfp_msg_t *policy_apply_handle(db_t *db, const vfp_msg_t *request,
                               int64_t now_ms, policy_apply_changed_t *changed);

#endif
