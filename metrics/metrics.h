/* metrics.h - a registry of counters, gauges and histograms rendered in
 * the Prometheus text exposition format 0.0.4; no HTTP here. */
#ifndef VFLEET_METRICS_H
#define VFLEET_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics_t metrics_t;
typedef struct metrics_series_t metrics_series_t;

/* Fills the gauges that are read on demand; runs at the start of every
 * metrics_render, on the rendering thread. Returns 0, or -1 when the
 * values cannot be read (the render then fails). */
typedef int(metrics_collect_fn)(void *arg);

metrics_t *metrics_new(void);

/* Frees the registry and every series; accepts NULL. */
void metrics_destroy(metrics_t **self_p);

/* Register series. A family (name, help, type) is created by its first
 * series and rendered in registration order; label may be NULL for a
 * series without a label, else value is its value (escaped here).
 * Registration is not thread-safe: register everything before the first
 * render, then update from any thread. Returns the series, valid for the
 * registry's life. */
metrics_series_t *metrics_counter(metrics_t *self, const char *name,
                                  const char *help, const char *label,
                                  const char *value);
metrics_series_t *metrics_gauge(metrics_t *self, const char *name,
                                const char *help, const char *label,
                                const char *value);
/* bounds: the buckets' upper bounds in seconds, ascending, copied; +Inf is
 * implied. */
metrics_series_t *metrics_histogram(metrics_t *self, const char *name,
                                    const char *help, const double *bounds,
                                    size_t bound_count, const char *label,
                                    const char *value);

/* Updates, lock-free and safe from any thread; each accepts NULL (a
 * metric not registered costs nothing). */
void metrics_add(metrics_series_t *counter, uint64_t n);
void metrics_set(metrics_series_t *gauge, int64_t value);
void metrics_observe_ns(metrics_series_t *histogram, uint64_t ns);

/* Sets the function run before each render. */
void metrics_set_collect(metrics_t *self, metrics_collect_fn *fn, void *arg);

/* The whole exposition, NUL-terminated, for the caller to free; *len gets
 * its length. NULL when the collect function failed. Renders are
 * serialised. */
char *metrics_render(metrics_t *self, size_t *len);

#endif
