/* agent_stats.c - the agent's metrics: the series and the endpoint. */
#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include "agent_stats.h"
#include "metrics.h"
#include "metrics_http.h"
#include "vfp_log.h"

/* A scan reads sysfs and asks netlink for every PF: from 1 ms on a small
 * host to seconds on one with hundreds of VFs. */
static const double s_scan_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

typedef struct {
    metrics_t *registry;
    metrics_http_t *http;
    metrics_series_t *scan, *writes, *failures, *drift;
} s_stats_t;

/* Set before the session starts, cleared after it ended. */
static s_stats_t *s_stats;

uint64_t agent_stats_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int agent_stats_start(const char *endpoint, char *err, size_t errlen)
{
    assert(!s_stats);
    s_stats_t *self = calloc(1, sizeof(*self));
    assert(self);
    metrics_t *m = metrics_new();
    self->registry = m;
    metrics_set(metrics_gauge(m, "vfleet_build_info",
                              "vfleet-agent's version; always 1", "version",
                              VFLEET_VERSION),
                1);
    self->scan = metrics_histogram(
        m, "vfleet_agent_scan_seconds",
        "Time of one scan of sysfs, procfs and the kernel's VF settings",
        s_scan_bounds, sizeof(s_scan_bounds) / sizeof(s_scan_bounds[0]), NULL,
        NULL);
    self->writes = metrics_counter(
        m, "vfleet_agent_kernel_writes_total",
        "Writes to the kernel (netlink, sriov_numvfs, hugepages) by applies",
        NULL, NULL);
    self->failures = metrics_counter(
        m, "vfleet_agent_apply_failures_total",
        "Items of an APPLY that failed (each is in its APPLY_RESULT)", NULL,
        NULL);
    self->drift = metrics_gauge(
        m, "vfleet_agent_drift_items",
        "VF settings that differ from the desired state at the last scan", NULL,
        NULL);
    self->http = metrics_http_new(endpoint, m, err, errlen);
    s_stats = self;
    if (!self->http) {
        agent_stats_stop();
        return -1;
    }
    vfp_log_info("metrics on %s", endpoint);
    return 0;
}

void agent_stats_stop(void)
{
    s_stats_t *self = s_stats;
    if (!self)
        return;
    metrics_http_destroy(&self->http);
    metrics_destroy(&self->registry);
    free(self);
    s_stats = NULL;
}

void agent_stats_scan(uint64_t started_ns)
{
    if (!s_stats)
        return;
    uint64_t now = agent_stats_clock_ns();
    metrics_observe_ns(s_stats->scan, now > started_ns ? now - started_ns : 0);
}

void agent_stats_apply(uint64_t kernel_writes, uint32_t failed_items)
{
    if (!s_stats)
        return;
    metrics_add(s_stats->writes, kernel_writes);
    metrics_add(s_stats->failures, failed_items);
}

void agent_stats_drift(size_t items)
{
    if (s_stats)
        metrics_set(s_stats->drift, (int64_t)items);
}
