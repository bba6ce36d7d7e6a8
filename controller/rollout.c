/* rollout.c - the rollout engine: which host gets its desired APPLY when,
 * what its answers mean, and drift between desired and reported state. */
#include "rollout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "controller_internal.h"
#include "desired.h"
#include "policy.h"
#include "stats.h"
#include "vfp_drift.h"
#include "vfp_log.h"

/* What memory holds per known host: the revisions as the db has them and
 * the last APPLY sent. One entry per host, made on first sight. */
typedef struct {
    char name[VFP_HOSTNAME_MAX + 1];
    uint64_t desired; /* stored desired revision; 0: none */
    uint64_t applied; /* stored applied revision (confirmed); 0: none */
    uint64_t sent_revision;
    uint32_t sent_request;
    int64_t sent_mono; /* zclock_mono() of the last send; 0: none */
    zframe_t *sent_to; /* the session it went to */
    bool answered;     /* the last APPLY sent was answered */
    bool drift_stored; /* drift_hash is the set the db holds */
    uint64_t drift_hash;
    bool drift_correct;       /* drift found that the policy says to correct */
    int64_t drift_next_mono;  /* no correction before this */
    int64_t drift_backoff_ms; /* since the last drift-free check; 0: none */
    size_t drift_count;       /* differences found by the last check */
    bool reported_in_flight;  /* an inventory report came during the APPLY */
} s_host_t;

struct rollout_t {
    db_t *db;
    sessions_t *sessions;
    zhashx_t *hosts; /* name -> s_host_t */
    int64_t inflight_ms;
    uint32_t request_id;
    desired_policy_t latest; /* the latest policy, parsed */
};

static void s_host_free(void **item)
{
    s_host_t *host = *item;
    if (host) {
        zframe_destroy(&host->sent_to);
        free(host);
        *item = NULL;
    }
}

rollout_t *rollout_new(db_t *db, sessions_t *sessions,
                       const rollout_config_t *cfg)
{
    rollout_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->inflight_ms =
        cfg && cfg->inflight_ms ? cfg->inflight_ms : ROLLOUT_INFLIGHT_MS;
    self->db = db;
    self->sessions = sessions;
    self->hosts = zhashx_new();
    assert(self->hosts);
    zhashx_set_destructor(self->hosts, s_host_free);
    return self;
}

void rollout_destroy(rollout_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->hosts);
    desired_policy_clear(&(*self_p)->latest);
    free(*self_p);
    *self_p = NULL;
}

static s_host_t *s_host(rollout_t *self, const char *name)
{
    s_host_t *host = zhashx_lookup(self->hosts, name);
    if (host)
        return host;
    host = calloc(1, sizeof(*host));
    assert(host);
    snprintf(host->name, sizeof(host->name), "%s", name);
    zhashx_insert(self->hosts, name, host);
    return host;
}

static int s_load_one(const db_apply_status_row_t *row, void *arg)
{
    s_host_t *host = s_host(arg, row->host);
    host->desired = row->revision;
    host->applied = row->applied_revision;
    return 0;
}

int rollout_load(rollout_t *self, char *err, size_t errlen)
{
    db_err_t dberr;
    if (db_apply_status_list(self->db, NULL, s_load_one, self, &dberr) != 0) {
        snprintf(err, errlen, "%s", dberr.text);
        return -1;
    }
    return 0;
}

/* Sent on the host's current session less than the in-flight time ago,
 * answered or not: nothing more is sent until the window passes. */
static bool s_in_window(const rollout_t *self, const s_host_t *host,
                        const session_t *session)
{
    return host->sent_mono && session->routing_id && host->sent_to &&
           zframe_eq(host->sent_to, session->routing_id) &&
           zclock_mono() - host->sent_mono < self->inflight_ms;
}

/* In the window and not answered: the host's state is moving. */
static bool s_in_flight(const rollout_t *self, const s_host_t *host,
                        const session_t *session)
{
    return s_in_window(self, host, session) && !host->answered;
}

/* The stored desired APPLY of host, decoded; NULL (logged) when it cannot
 * be read. *row gets the stored revisions. */
static vfp_msg_t *s_desired_read(rollout_t *self, const char *host,
                                 db_host_desired_t *row)
{
    db_err_t err;
    if (db_host_desired_get(self->db, host, row, &err) != 0) {
        if (err.code != DB_ERR_NOT_FOUND)
            VFP_LOG_LIMITED(VFP_LOG_WARN,
                            "host %s: cannot read the desired state: %s", host,
                            err.text);
        return NULL;
    }
    vfp_decode_error_t derr;
    vfp_msg_t *msg = vfp_decode(row->apply, row->apply_len, &derr);
    db_host_desired_clear(row);
    if (msg && msg->id == VFP_APPLY)
        return msg;
    vfp_log_error("host %s: stored desired revision %" PRIu64
                  " is not an APPLY: %s %s",
                  host, row->revision, msg ? "message" : derr.field,
                  msg ? vfp_id_name(msg->id) : derr.text);
    vfp_msg_destroy(&msg);
    return NULL;
}

/* Sends the stored desired APPLY on the host's session. */
static void s_send(rollout_t *self, s_host_t *host, session_t *session,
                   const char *why, zlistx_t *out)
{
    db_host_desired_t row;
    vfp_msg_t *msg = s_desired_read(self, host->name, &row);
    if (!msg)
        return;
    host->desired = row.revision;
    host->applied = row.applied_revision;
    if (++self->request_id == 0)
        self->request_id = 1;
    msg->version = session->proto_version;
    msg->request_id = self->request_id;
    host->sent_revision = msg->u.apply.revision;
    host->sent_request = msg->request_id;
    host->sent_mono = zclock_mono();
    host->answered = false;
    host->reported_in_flight = false;
    zframe_destroy(&host->sent_to);
    host->sent_to = zframe_dup(session->routing_id);
    vfp_log_info("host %s: sending APPLY revision %" PRIu64 " (%s)", host->name,
                 host->sent_revision, why);
    agents_out_queue(out, session->routing_id, msg);
}

/* Sends unless the host cannot take it now: no live session with a stored
 * full inventory, no desired state, or an APPLY sent within the window. */
static void s_offer(rollout_t *self, s_host_t *host, session_t *session,
                    const char *why, zlistx_t *out)
{
    if (!session || !session->routing_id || session->down ||
        !session->have_inventory || host->desired == 0 ||
        s_in_window(self, host, session))
        return;
    s_send(self, host, session, why, out);
}

/* The latest stored policy, parsed once per revision; NULL when none is
 * stored or it cannot be read or parsed (logged). */
static const policy_t *s_policy(rollout_t *self)
{
    return desired_policy_latest(self->db, &self->latest);
}

/* The latest policy's drift mode; no policy, or one that does not parse
 * here, means the default: correct. */
static policy_drift_t s_drift_mode(rollout_t *self)
{
    const policy_t *policy = s_policy(self);
    return policy ? policy->drift : POLICY_DRIFT_CORRECT;
}

/* FNV-1a over the items (zeroed before they were filled), so an unchanged
 * drift set is not written again. */
static uint64_t s_drift_hash(const db_drift_item_t *items, size_t count)
{
    uint64_t hash = 14695981039346656037ull ^ count;
    const unsigned char *bytes = (const unsigned char *)items;
    for (size_t i = 0; i < count * sizeof(*items); i++)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

/* The differences as db rows (calloc'd: free it). */
static db_drift_item_t *s_drift_items(const vfp_drift_t *drift, size_t count)
{
    db_drift_item_t *items = calloc(count ? count : 1, sizeof(*items));
    assert(items);
    for (size_t i = 0; i < count; i++) {
        const vfp_drift_t *d = &drift[i];
        db_drift_item_t *item = &items[i];
        snprintf(item->pf, sizeof(item->pf), "%s", d->pf);
        item->index = d->index;
        snprintf(item->attribute, sizeof(item->attribute), "%s", d->attribute);
        vfp_drift_values(d, item->wanted, sizeof(item->wanted), item->has,
                         sizeof(item->has));
    }
    return items;
}

/* Stores the drift set unless the db already holds it. */
static void s_drift_store(rollout_t *self, s_host_t *host,
                          const vfp_drift_t *drift, size_t count)
{
    db_drift_item_t *items = s_drift_items(drift, count);
    uint64_t hash = s_drift_hash(items, count);
    if (!host->drift_stored || hash != host->drift_hash) {
        db_err_t err;
        if (db_drift_replace(self->db, host->name, items, (uint32_t)count,
                             controller_now_ms(), &err) == 0) {
            host->drift_stored = true;
            host->drift_hash = hash;
            if (count)
                vfp_log_warnx("host %s: %zu settings drifted from desired "
                              "revision %" PRIu64 "; first: pf %s vf %u %s: "
                              "wanted %s, has %s",
                              host->name, count, host->desired, items[0].pf,
                              items[0].index, items[0].attribute,
                              items[0].wanted, items[0].has);
        } else {
            host->drift_stored = false;
            VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: cannot store drift: %s",
                            host->name, err.text);
        }
    }
    free(items);
}

/* Sends the applied desired state again to repair drift: at once the first
 * time, whatever the in-flight window (the last APPLY was answered), then
 * after S_DRIFT_BACKOFF_MIN_MS, doubling up to the window while the drift
 * keeps coming back, so that something on the host that fights the policy
 * costs one APPLY per window, not one per rescan. */
#define S_DRIFT_BACKOFF_MIN_MS 1000
static void s_correct(rollout_t *self, s_host_t *host, session_t *session,
                      zlistx_t *out)
{
    int64_t now = zclock_mono();
    if (!session || !session->routing_id || session->down ||
        !session->have_inventory || s_in_flight(self, host, session) ||
        now < host->drift_next_mono)
        return;
    host->drift_backoff_ms = host->drift_backoff_ms ? host->drift_backoff_ms * 2
                                                    : S_DRIFT_BACKOFF_MIN_MS;
    if (host->drift_backoff_ms > self->inflight_ms)
        host->drift_backoff_ms = self->inflight_ms;
    host->drift_next_mono = now + host->drift_backoff_ms;
    s_send(self, host, session, "correcting drift", out);
}

/* The first VM holding a VF of the PF, into arg (a name buffer). */
static int s_vf_holder(const db_vf_row_t *row, void *arg)
{
    char *vm = arg;
    if (row->vm[0] && !vm[0])
        snprintf(vm, VFP_NAME_MAX + 1, "%s", row->vm);
    return 0;
}

/* Whether correcting the drift would change the VF count of a PF one of
 * whose VFs a VM holds: the kernel changes the count only through 0, which
 * pulls the VF out of the guest, so that drift is only reported (as an
 * apply that would do it refuses the host). */
static bool s_correction_pulls_vf(rollout_t *self, const char *host,
                                  const vfp_drift_t *drift, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (drift[i].kind != VFP_ITEM_NUM_VFS ||
            !strcmp(drift[i].attribute, "pf"))
            continue;
        char vm[VFP_NAME_MAX + 1] = "";
        db_vf_filter_t filter = {.host = host, .pf = drift[i].pf};
        db_err_t err;
        if (db_vfs_list(self->db, &filter, NULL, s_vf_holder, vm, &err) != 0)
            return true; /* unknown: not risked */
        if (vm[0]) {
            VFP_LOG_LIMITED(VFP_LOG_WARN,
                            "host %s: pf %s has %u VFs, desired %u: not "
                            "corrected while vm %s holds one of its VFs",
                            host, drift[i].pf, drift[i].has_num_vfs,
                            drift[i].wanted_num_vfs, vm);
            return true;
        }
    }
    return false;
}

/* Compares the host's desired state with its stored inventory, stores the
 * differences and, when the applied state has drifted and the policy says
 * so, sends the APPLY again. Not while an APPLY is in flight, nor when it
 * would change the VF count under a VM. */
static void s_drift_check(rollout_t *self, s_host_t *host, session_t *session,
                          zlistx_t *out)
{
    if (host->desired == 0 || (session && s_in_flight(self, host, session)))
        return;
    db_host_desired_t row;
    vfp_msg_t *desired = s_desired_read(self, host->name, &row);
    if (!desired)
        return;
    vfp_inventory_t inv;
    db_err_t err;
    if (db_host_inventory_get(self->db, host->name, &inv, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: cannot read the inventory: %s",
                        host->name, err.text);
        vfp_msg_destroy(&desired);
        return;
    }
    vfp_drift_t *drift = NULL;
    size_t count = vfp_drift_list(&desired->u.apply, &inv, &drift);
    s_drift_store(self, host, drift, count);
    vfp_inventory_clear(&inv);
    vfp_msg_destroy(&desired);
    host->drift_correct =
        count > 0 && host->desired == host->applied &&
        s_drift_mode(self) == POLICY_DRIFT_CORRECT &&
        !s_correction_pulls_vf(self, host->name, drift, count);
    free(drift);
    host->drift_count = count;
    if (count == 0)
        host->drift_backoff_ms = 0;
    if (host->drift_correct)
        s_correct(self, host, session, out);
}

/* Records why the latest policy cannot be planned on the host, which keeps
 * its previous desired state. */
static void s_refuse(rollout_t *self, s_host_t *host, const apply_plan_t *plan)
{
    const char *reason = apply_plan_conflict(plan, 0);
    db_err_t err;
    if (db_host_refusal_set(self->db, host->name, self->latest.revision, reason,
                            controller_now_ms(), &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: cannot record the refusal: %s",
                        host->name, err.text);
        return;
    }
    vfp_log_warnx("host %s: policy revision %" PRId64 " not applied: %zu "
                  "conflict(s); first: %s",
                  host->name, self->latest.revision,
                  apply_plan_conflict_count(plan), reason);
    controller_event(self->db, "policy-refused", host->name, "%s", reason);
}

/* Whether the host's desired state was planned from the latest policy. */
static bool s_planned_from_latest(rollout_t *self, const char *host)
{
    db_host_desired_t row;
    db_err_t err;
    if (db_host_desired_get(self->db, host, &row, &err) != 0)
        return false;
    bool latest = row.policy_revision >= self->latest.revision;
    db_host_desired_clear(&row);
    return latest;
}

/* Plans the host against the latest policy and stores the plan as its
 * desired state when it differs: true when it did. A plan with conflicts
 * keeps the previous desired state: the policy was accepted for the
 * cluster, and one host that does not fit it is refused alone. */
static rollout_plan_t s_plan(rollout_t *self, s_host_t *host,
                             const policy_t *policy, const char *why)
{
    db_err_t err;
    desired_t *desired = desired_plan_host(
        self->db, policy, self->latest.source, host->name, &err);
    if (!desired) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: cannot plan: %s", host->name,
                        err.text);
        return ROLLOUT_PLAN_FAILED;
    }
    const apply_plan_t *plan = desired_plan(desired);
    bool changed = false;
    uint64_t revision = 0;
    rollout_plan_t result = ROLLOUT_PLAN_FAILED;
    if (apply_plan_conflict_count(plan) > 0)
        s_refuse(self, host, plan);
    else if (db_host_refusal_clear(self->db, host->name, &err) != 0 ||
             desired_store_if_changed(
                 self->db, host->name, self->latest.revision, plan,
                 controller_now_ms(), &changed, &revision, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot store the desired state: %s",
                        host->name, err.text);
    else if (!changed)
        result = ROLLOUT_PLAN_SAME;
    else {
        result = ROLLOUT_PLAN_CHANGED;
        vfp_log_info("host %s: desired revision %" PRIu64 " planned from "
                     "policy revision %" PRId64 " %s",
                     host->name, revision, self->latest.revision, why);
        host->desired = revision;
        host->sent_mono = 0;
    }
    desired_destroy(&desired);
    return result;
}

/* A host that joins with a full inventory is planned when its desired
 * state was not planned from the latest policy (a host new since the
 * apply, or one refused then). */
static void s_replan(rollout_t *self, s_host_t *host)
{
    const policy_t *policy = s_policy(self);
    if (policy && !s_planned_from_latest(self, host->name))
        s_plan(self, host, policy, "on joining");
}

rollout_plan_t rollout_replan(rollout_t *self, const char *name,
                              const char *why, zlistx_t *out)
{
    const policy_t *policy = s_policy(self);
    if (!policy)
        return ROLLOUT_PLAN_FAILED;
    s_host_t *host = s_host(self, name);
    rollout_plan_t result = s_plan(self, host, policy, why);
    if (result != ROLLOUT_PLAN_CHANGED)
        return result;
    host->drift_correct = false;
    s_offer(self, host, sessions_find(self->sessions, name),
            "desired state changed", out);
    return result;
}

void rollout_inventory_stored(rollout_t *self, session_t *session, bool full,
                              zlistx_t *out)
{
    s_host_t *host = s_host(self, session->name);
    if (s_in_flight(self, host, session))
        host->reported_in_flight = true;
    if (full)
        s_replan(self, host);
    if (full && host->desired != host->applied)
        s_offer(self, host, session, "host joined", out);
    s_drift_check(self, host, session, out);
}

/* Stores the host's desired APPLY again with a revision above `above`, so
 * an agent that holds a newer revision than the db (the db was replaced)
 * accepts it, and sends it. */
static void s_renumber(rollout_t *self, s_host_t *host, session_t *session,
                       uint64_t above, zlistx_t *out)
{
    db_host_desired_t row;
    vfp_msg_t *msg = s_desired_read(self, host->name, &row);
    if (!msg)
        return;
    uint64_t revision =
        (vfp_revision_newer(above, row.revision) ? above : row.revision) + 1;
    msg->u.apply.revision = revision;
    uint8_t *bytes = NULL;
    size_t size = 0;
    vfp_decode_error_t derr;
    db_err_t err;
    if (vfp_encode(msg, &bytes, &size, &derr) != 0)
        vfp_log_error("host %s: cannot encode desired revision %" PRIu64
                      ": %s: %s",
                      host->name, revision, derr.field, derr.text);
    else if (db_host_desired_set(self->db, host->name, row.policy_revision,
                                 revision, bytes, size, controller_now_ms(),
                                 &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot renumber the desired state: %s",
                        host->name, err.text);
    else {
        vfp_log_warnx("host %s: its agent holds revision %" PRIu64
                      ", the db %" PRIu64 "; desired state stored again as "
                      "revision %" PRIu64,
                      host->name, above, row.revision, revision);
        controller_event(self->db, "desired-renumbered", host->name,
                         "agent holds revision %" PRIu64 "; revision %" PRIu64
                         " stored again as %" PRIu64,
                         above, row.revision, revision);
        host->desired = revision;
        host->sent_mono = 0;
        s_offer(self, host, session, "renumbered above the agent's", out);
    }
    free(bytes);
    vfp_msg_destroy(&msg);
}

void rollout_heartbeat(rollout_t *self, session_t *session,
                       uint64_t applied_revision, zlistx_t *out)
{
    s_host_t *host = s_host(self, session->name);
    if (host->desired == 0 || !session->have_inventory)
        return;
    if (vfp_revision_newer(applied_revision, host->desired)) {
        if (!s_in_window(self, host, session))
            s_renumber(self, host, session, applied_revision, out);
        return;
    }
    /* Behind, or ahead of what the db recorded (an APPLY_RESULT that was
     * lost): the agent confirms only by answering an APPLY. */
    if (applied_revision != host->desired || host->applied != host->desired)
        s_offer(self, host, session, "host behind", out);
}

/* "pf X vf N attr: message (EINVAL)" for the first failed item. */
static void s_first_failure(const vfp_result_t *r, char *buf, size_t len)
{
    if (r->kind == VFP_ITEM_VF)
        snprintf(buf, len, "pf %s vf %u %s: %s (%s)", r->pf, r->index,
                 r->attribute, r->message, strerror(r->err));
    else
        snprintf(buf, len, "%s%s%s%s: %s (%s)", r->pf[0] ? "pf " : "", r->pf,
                 r->pf[0] ? " " : "", r->attribute, r->message,
                 strerror(r->err));
}

void rollout_result_record(rollout_t *self, const char *name,
                           const vfp_msg_t *msg, rollout_result_t *result)
{
    const vfp_apply_result_t *answer = &msg->u.apply_result;
    memset(result, 0, sizeof(*result));
    result->revision = answer->revision;
    for (uint32_t i = 0; i < answer->result_count; i++) {
        const vfp_result_t *r = &answer->results[i];
        if (r->err == 0) {
            result->ok++;
        } else if (result->failed++ == 0) {
            s_first_failure(r, result->first_failure,
                            sizeof(result->first_failure));
        }
    }
    stats_apply_result(result->failed > 0);
    db_err_t err;
    if (db_apply_result_record(self->db, name, answer->revision,
                               answer->results, answer->result_count,
                               controller_now_ms(), &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: APPLY_RESULT revision %" PRIu64
                        " not stored: %s",
                        name, answer->revision, err.text);
        return;
    }
    result->stored = true;
    controller_event(self->db, result->failed ? "apply-failed" : "apply-ok",
                     name, "revision %" PRIu64 ": %u ok, %u failed%s%s",
                     result->revision, result->ok, result->failed,
                     result->failed ? "; first: " : "", result->first_failure);
}

void rollout_result_committed(rollout_t *self, session_t *session,
                              const rollout_result_t *result, zlistx_t *out)
{
    s_host_t *host = s_host(self, session->name);
    if (result->revision == host->sent_revision)
        host->answered = true;
    if (!result->stored)
        return;
    if (result->failed == 0)
        host->applied = result->revision;
    vfp_log_info("host %s: APPLY revision %" PRIu64 ": %u ok, %u failed%s%s",
                 host->name, result->revision, result->ok, result->failed,
                 result->failed ? "; first: " : "", result->first_failure);
    if (result->failed == 0 && result->revision == host->desired &&
        !host->reported_in_flight) {
        /* Every item applied and no report came while it was applied: the
         * agent wrote what differed and read each write back, and the
         * inventory stored before the APPLY was compared already, so there
         * is no new drift to look for, and reading the inventory back
         * (a cold database read per host: at 10,000 hosts, tens of seconds
         * of the agents' loop) is saved. */
        s_drift_store(self, host, NULL, 0);
        host->drift_count = 0;
        host->drift_correct = false;
        host->drift_backoff_ms = 0;
        return;
    }
    /* The agent rescans before it answers, so the stored inventory is the
     * state this APPLY left. */
    s_drift_check(self, host, session, out);
}

/* The newer revision an agent's INVALID answer names: the last number
 * after "revision " in its text (PROTOCOL.md 7.4); 0 when none. */
static uint64_t s_named_revision(const char *text)
{
    uint64_t revision = 0;
    for (const char *at = strstr(text, "revision "); at;
         at = strstr(at + 1, "revision "))
        revision = strtoull(at + 9, NULL, 10);
    return revision;
}

void rollout_agent_error(rollout_t *self, session_t *session,
                         const vfp_msg_t *msg, zlistx_t *out)
{
    s_host_t *host = s_host(self, session->name);
    if (!host->sent_mono || msg->request_id != host->sent_request)
        return;
    host->answered = true;
    const vfp_error_t *error = &msg->u.error;
    uint64_t held = s_named_revision(error->text);
    if (error->code != VFP_ERR_INVALID || held <= host->sent_revision) {
        vfp_log_warnx("host %s: APPLY revision %" PRIu64 " refused: %s: %s",
                      host->name, host->sent_revision,
                      vfp_errcode_name(error->code), error->text);
        return;
    }
    s_renumber(self, host, session, held, out);
}

void rollout_desired_changed(rollout_t *self, const char *name, zlistx_t *out)
{
    db_host_desired_t row;
    db_err_t err;
    if (db_host_desired_get(self->db, name, &row, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot read the new desired state: %s", name,
                        err.text);
        return;
    }
    db_host_desired_clear(&row);
    /* Only a host the db knows gets an entry. */
    s_host_t *host = s_host(self, name);
    host->desired = row.revision;
    host->applied = row.applied_revision;
    /* A new revision goes at once: the window guards repeats of one. */
    host->sent_mono = 0;
    host->drift_correct = false;
    s_offer(self, host, sessions_find(self->sessions, name),
            "desired state changed", out);
}

void rollout_policy_changed(rollout_t *self, zlistx_t *out)
{
    for (s_host_t *host = zhashx_first(self->hosts); host;
         host = zhashx_next(self->hosts)) {
        if (host->drift_count > 0)
            s_drift_check(self, host, sessions_find(self->sessions, host->name),
                          out);
    }
}

void rollout_tick(rollout_t *self, zlistx_t *out)
{
    for (s_host_t *host = zhashx_first(self->hosts); host;
         host = zhashx_next(self->hosts)) {
        if (host->drift_correct && host->desired == host->applied)
            s_correct(self, host, sessions_find(self->sessions, host->name),
                      out);
    }
}
