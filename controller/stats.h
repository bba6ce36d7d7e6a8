/* stats.h - the controller's own metrics (controller/README.md, "Metrics"):
 * which series exist, one call per thing counted, and the --metrics
 * endpoint that serves them. */
#ifndef VFLEET_STATS_H
#define VFLEET_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The series are process-wide, like the log: the sites that count sit in
 * several modules and threads, and none of them should carry a handle
 * for it. Until stats_start (and without --metrics) every call below
 * does nothing. */

/* Builds the registry, opens a read-only connection to db_path for the
 * gauges read on each scrape and serves the endpoint on its own thread.
 * Call once, before the loop and the admin thread start. Returns 0, or -1
 * with the reason in err. */
int stats_start(const char *endpoint, const char *db_path, char *err,
                size_t errlen);

/* Stops serving and frees everything; call after the threads that count
 * have stopped. Does nothing when not started. */
void stats_stop(void);

/* Monotonic nanoseconds, for the *_started arguments below. */
uint64_t stats_clock_ns(void);

/* One message from an agent: its vfp_id_t, or 0 when it did not decode. */
void stats_agent_message(int id);

/* A burst of agent messages handled, from started_ns to now. */
void stats_agent_burst(uint64_t started_ns);

/* A database commit of agents' updates, from started_ns to now. */
void stats_db_commit(uint64_t started_ns);

/* An admin request answered, from started_ns to now. */
void stats_admin_request(const char *verb, uint64_t started_ns);

/* An APPLY_RESULT from an agent: failed when any item failed. */
void stats_apply_result(bool failed);

/* A policy.apply or policy.rollback answered: "stored", "unchanged" (the
 * latest revision's policy again: no revision stored), "dry_run" or
 * "refused". */
void stats_policy_apply(const char *outcome);

/* A vm.create answered: outcome "reserved", "refused" (with the
 * placement_rule_t the closest host failed) or "invalid". */
void stats_placement(const char *outcome, int rule);

/* A message a peer limiter dropped; what is its peer_limit_config_t's
 * what ("agent" or "admin client"). */
void stats_peer_dropped(const char *what);

#endif
