/* agent_stats.h - the agent's own metrics (agent/README.md, "Metrics"),
 * served with --metrics; one call per thing counted. */
#ifndef VFLEET_AGENT_STATS_H
#define VFLEET_AGENT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Process-wide, like the log: until agent_stats_start (and without
 * --metrics) every call below does nothing. */

/* Builds the series and serves them on endpoint from libmicrohttpd's
 * thread. Call once, before the session starts. Returns 0, or -1 with the
 * reason in err. */
int agent_stats_start(const char *endpoint, char *err, size_t errlen);

/* Stops serving and frees the series; does nothing when not started. */
void agent_stats_stop(void);

/* Monotonic nanoseconds, for agent_stats_scan. */
uint64_t agent_stats_clock_ns(void);

/* A scan of sysfs, procfs and netlink finished, begun at started_ns. */
void agent_stats_scan(uint64_t started_ns);

/* One APPLY run: the kernel writes it made and the items that failed. */
void agent_stats_apply(uint64_t kernel_writes, uint32_t failed_items);

/* Differences between the desired state and the last scan. */
void agent_stats_drift(size_t items);

#endif
