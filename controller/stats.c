/* stats.c - the controller's metrics: the series, the gauges read from the
 * inventory on each scrape, and the endpoint. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "metrics.h"
#include "metrics_http.h"
#include "placement.h"
#include "stats.h"
#include "vfleet_db.h"
#include "vfp.h"
#include "vfp_log.h"

/* Message ids have a name in the codec up to this bound; id 0 stands for
 * a message that did not decode. */
#define S_IDS_MAX 32
#define S_VERBS_MAX 32

/* Handling times from 100 us (a heartbeat burst) to 10 s (a large
 * inventory on a slow disk). */
static const double s_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                  1,      2.5,     5,      10};
#define S_BOUNDS (sizeof(s_bounds) / sizeof(s_bounds[0]))

typedef struct {
    metrics_t *registry;
    metrics_http_t *http;
    db_t *db; /* read-only; used by the HTTP thread only */
    metrics_series_t *hosts[DB_HOST_STATE_COUNT];
    metrics_series_t *vfs[DB_VF_STATE_COUNT];
    metrics_series_t *vms[DB_VM_STATE_COUNT], *vms_host_down;
    metrics_series_t *placements[3]; /* reserved, refused, invalid */
    metrics_series_t *refusals[PLACEMENT_RULE_COUNT];
    metrics_series_t *agent_messages[S_IDS_MAX];
    metrics_series_t *agent_burst, *db_commit;
    const char *verbs[S_VERBS_MAX + 1]; /* the last one is "other" */
    metrics_series_t *admin_requests[S_VERBS_MAX + 1];
    metrics_series_t *admin_seconds;
    metrics_series_t *apply_ok, *apply_failed;
    metrics_series_t *policy_stored, *policy_unchanged, *policy_dry_run,
        *policy_refused;
    metrics_series_t *dropped_agent, *dropped_admin;
} s_stats_t;

/* Set before the threads that count start, cleared after they stopped. */
static s_stats_t *s_stats;

uint64_t stats_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t s_since(uint64_t started_ns)
{
    uint64_t now = stats_clock_ns();
    return now > started_ns ? now - started_ns : 0;
}

/* The gauges from the inventory, on the scraping thread. */
static int s_collect(void *arg)
{
    s_stats_t *self = arg;
    db_summary_t sum;
    db_err_t err;
    if (db_summary(self->db, &sum, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "metrics: cannot read the inventory: %s",
                        err.text);
        return -1;
    }
    metrics_set(self->hosts[DB_HOST_READY], sum.hosts_ready);
    metrics_set(self->hosts[DB_HOST_DOWN], sum.hosts_down);
    int64_t vfs[DB_VF_STATE_COUNT] = {[DB_VF_FREE] = sum.vfs_free,
                                      [DB_VF_RESERVED] = sum.vfs_reserved,
                                      [DB_VF_ASSIGNED] = sum.vfs_assigned,
                                      [DB_VF_BROKEN] = sum.vfs_broken,
                                      [DB_VF_MISSING] = sum.vfs_missing};
    for (int i = 0; i < DB_VF_STATE_COUNT; i++)
        metrics_set(self->vfs[i], vfs[i]);
    metrics_set(self->vms[DB_VM_RESERVED], sum.vms_reserved);
    metrics_set(self->vms[DB_VM_PLACED], sum.vms_placed);
    metrics_set(self->vms[DB_VM_FAILED], sum.vms_failed);
    metrics_set(self->vms_host_down, sum.vms_host_down);
    return 0;
}

static void s_inventory_series(s_stats_t *self)
{
    metrics_t *m = self->registry;
    metrics_set(metrics_gauge(m, "vfleet_build_info",
                              "vfleet-controller's version; always 1",
                              "version", VFLEET_VERSION),
                1);
    for (int i = 0; i < DB_HOST_STATE_COUNT; i++)
        self->hosts[i] = metrics_gauge(m, "vfleet_hosts",
                                       "Hosts in the inventory by liveness "
                                       "state",
                                       "state", db_host_state_name(i));
    for (int i = 0; i < DB_VF_STATE_COUNT; i++)
        self->vfs[i] =
            metrics_gauge(m, "vfleet_vfs", "VFs in the inventory by state",
                          "state", db_vf_state_name(i));
    for (int i = 0; i < DB_VM_STATE_COUNT; i++)
        self->vms[i] = metrics_gauge(m, "vfleet_vms", "VMs by stored state",
                                     "state", db_vm_state_name(i));
    self->vms_host_down =
        metrics_gauge(m, "vfleet_vms_host_down",
                      "Reserved or placed VMs whose host is down (pinned: "
                      "they stay assigned to it)",
                      NULL, NULL);
}

static void s_placement_series(s_stats_t *self)
{
    metrics_t *m = self->registry;
    static const char *const outcomes[] = {"reserved", "refused", "invalid"};
    for (int i = 0; i < 3; i++)
        self->placements[i] = metrics_counter(
            m, "vfleet_placements_total",
            "vm.create requests and batched VMs by outcome (refused: no host "
            "fits; invalid: the request itself is wrong)",
            "outcome", outcomes[i]);
    for (int r = PLACEMENT_RULE_PIN; r < PLACEMENT_RULE_COUNT; r++)
        self->refusals[r] = metrics_counter(
            m, "vfleet_placement_refusals_total",
            "Refused placements by the rule the closest host failed (what ran "
            "out first)",
            "rule", placement_rule_name((placement_rule_t)r));
}

void stats_placement(const char *outcome, int rule)
{
    if (!s_stats)
        return;
    int i = strcmp(outcome, "reserved") == 0  ? 0
            : strcmp(outcome, "refused") == 0 ? 1
                                              : 2;
    metrics_add(s_stats->placements[i], 1);
    if (i == 1 && rule > PLACEMENT_RULE_REQUEST && rule < PLACEMENT_RULE_COUNT)
        metrics_add(s_stats->refusals[rule], 1);
}

static void s_agent_series(s_stats_t *self)
{
    metrics_t *m = self->registry;
    const char *help = "Messages received from agents by type";
    self->agent_messages[0] = metrics_counter(m, "vfleet_agent_messages_total",
                                              help, "type", "undecodable");
    for (int id = 1; id < S_IDS_MAX && strcmp(vfp_id_name(id), "UNKNOWN") != 0;
         id++)
        self->agent_messages[id] = metrics_counter(
            m, "vfleet_agent_messages_total", help, "type", vfp_id_name(id));
    self->dropped_agent = metrics_counter(
        m, "vfleet_peer_messages_dropped_total",
        "Messages over a peer's budget (--peer-rate, --admin-rate, "
        "--peer-bandwidth), not acted on: dropped, or an admin request "
        "answered busy",
        "peer", "agent");
    self->dropped_admin = metrics_counter(
        m, "vfleet_peer_messages_dropped_total", "", "peer", "admin");
    self->agent_burst = metrics_histogram(
        m, "vfleet_agent_burst_seconds",
        "Time to handle one burst of agent messages, commit included", s_bounds,
        S_BOUNDS, NULL, NULL);
    self->db_commit =
        metrics_histogram(m, "vfleet_db_commit_seconds",
                          "Time to commit one burst's database transaction",
                          s_bounds, S_BOUNDS, NULL, NULL);
    const char *apply = "APPLY_RESULTs received by outcome (failed: any item "
                        "failed)";
    self->apply_ok = metrics_counter(m, "vfleet_apply_results_total", apply,
                                     "outcome", "ok");
    self->apply_failed = metrics_counter(m, "vfleet_apply_results_total", apply,
                                         "outcome", "failed");
}

static void s_admin_series(s_stats_t *self)
{
    metrics_t *m = self->registry;
    size_t n = 0;
    for (const char *verb; n < S_VERBS_MAX && (verb = admin_verb_name(n)); n++)
        self->verbs[n] = verb;
    self->verbs[n] = "other";
    for (size_t i = 0; i <= n; i++)
        self->admin_requests[i] = metrics_counter(
            m, "vfleet_admin_requests_total",
            "Admin requests answered by verb, whatever their status (other: "
            "a verb the controller does not know)",
            "verb", self->verbs[i]);
    self->admin_seconds = metrics_histogram(m, "vfleet_admin_request_seconds",
                                            "Time to answer one admin request",
                                            s_bounds, S_BOUNDS, NULL, NULL);
    const char *help = "policy.apply and policy.rollback requests by outcome";
    self->policy_stored = metrics_counter(m, "vfleet_policy_applies_total",
                                          help, "outcome", "stored");
    self->policy_unchanged = metrics_counter(m, "vfleet_policy_applies_total",
                                             help, "outcome", "unchanged");
    self->policy_dry_run = metrics_counter(m, "vfleet_policy_applies_total",
                                           help, "outcome", "dry_run");
    self->policy_refused = metrics_counter(m, "vfleet_policy_applies_total",
                                           help, "outcome", "refused");
}

int stats_start(const char *endpoint, const char *db_path, char *err,
                size_t errlen)
{
    assert(!s_stats);
    s_stats_t *self = calloc(1, sizeof(*self));
    assert(self);
    db_err_t dberr;
    self->db = db_open_readonly(db_path, &dberr);
    if (!self->db) {
        snprintf(err, errlen, "metrics: %s", dberr.text);
        free(self);
        return -1;
    }
    self->registry = metrics_new();
    s_inventory_series(self);
    s_agent_series(self);
    s_admin_series(self);
    s_placement_series(self);
    metrics_set_collect(self->registry, s_collect, self);
    self->http = metrics_http_new(endpoint, self->registry, err, errlen);
    s_stats = self;
    if (!self->http) {
        stats_stop();
        return -1;
    }
    vfp_log_info("metrics on %s", endpoint);
    return 0;
}

void stats_stop(void)
{
    s_stats_t *self = s_stats;
    if (!self)
        return;
    metrics_http_destroy(&self->http);
    metrics_destroy(&self->registry);
    db_destroy(&self->db);
    free(self);
    s_stats = NULL;
}

void stats_agent_message(int id)
{
    if (s_stats)
        metrics_add(s_stats->agent_messages[id > 0 && id < S_IDS_MAX ? id : 0],
                    1);
}

void stats_agent_burst(uint64_t started_ns)
{
    if (s_stats)
        metrics_observe_ns(s_stats->agent_burst, s_since(started_ns));
}

void stats_db_commit(uint64_t started_ns)
{
    if (s_stats)
        metrics_observe_ns(s_stats->db_commit, s_since(started_ns));
}

void stats_admin_request(const char *verb, uint64_t started_ns)
{
    if (!s_stats)
        return;
    size_t i = 0;
    while (strcmp(s_stats->verbs[i], "other") != 0 &&
           strcmp(s_stats->verbs[i], verb) != 0)
        i++;
    metrics_add(s_stats->admin_requests[i], 1);
    metrics_observe_ns(s_stats->admin_seconds, s_since(started_ns));
}

void stats_apply_result(bool failed)
{
    if (s_stats)
        metrics_add(failed ? s_stats->apply_failed : s_stats->apply_ok, 1);
}

void stats_policy_apply(const char *outcome)
{
    if (!s_stats)
        return;
    metrics_add(strcmp(outcome, "stored") == 0      ? s_stats->policy_stored
                : strcmp(outcome, "unchanged") == 0 ? s_stats->policy_unchanged
                : strcmp(outcome, "dry_run") == 0   ? s_stats->policy_dry_run
                                                    : s_stats->policy_refused,
                1);
}

void stats_peer_dropped(const char *what)
{
    if (s_stats)
        metrics_add(strcmp(what, "agent") == 0 ? s_stats->dropped_agent
                                               : s_stats->dropped_admin,
                    1);
}
