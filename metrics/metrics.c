/* metrics.c - the metrics registry and its Prometheus text rendering. */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

struct metrics_series_t {
    char *labels; /* `label="value"`, escaped; NULL without a label */
    _Atomic uint64_t counter;
    _Atomic int64_t gauge;
    double *bounds;
    size_t bound_count;
    _Atomic uint64_t *buckets; /* bound_count + 1 (+Inf), not cumulative */
    _Atomic uint64_t sum_ns;
};

typedef struct {
    char *name;
    char *help;
    s_type_t type;
    metrics_series_t **series;
    size_t series_count;
} s_family_t;

struct metrics_t {
    s_family_t **families;
    size_t family_count;
    metrics_collect_fn *collect;
    void *collect_arg;
    pthread_mutex_t render;
};

static const char *const s_type_names[] = {"counter", "gauge", "histogram"};

metrics_t *metrics_new(void)
{
    metrics_t *self = calloc(1, sizeof(*self));
    assert(self);
    pthread_mutex_init(&self->render, NULL);
    return self;
}

static void s_series_destroy(metrics_series_t *series)
{
    free(series->labels);
    free(series->bounds);
    free(series->buckets);
    free(series);
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    for (size_t i = 0; i < self->family_count; i++) {
        s_family_t *family = self->families[i];
        for (size_t j = 0; j < family->series_count; j++)
            s_series_destroy(family->series[j]);
        free(family->series);
        free(family->name);
        free(family->help);
        free(family);
    }
    free(self->families);
    pthread_mutex_destroy(&self->render);
    free(self);
    *self_p = NULL;
}

/* Writes text with the exposition format's escapes: backslash and newline
 * everywhere, the double quote too inside a label value. */
static void s_escape(FILE *out, const char *text, bool quote)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            fputs("\\\\", out);
        else if (*c == '\n')
            fputs("\\n", out);
        else if (*c == '"' && quote)
            fputs("\\\"", out);
        else
            fputc(*c, out);
    }
}

static s_family_t *s_family(metrics_t *self, const char *name, const char *help,
                            s_type_t type)
{
    for (size_t i = 0; i < self->family_count; i++) {
        s_family_t *family = self->families[i];
        if (strcmp(family->name, name) == 0) {
            assert(family->type == type);
            return family;
        }
    }
    s_family_t *family = calloc(1, sizeof(*family));
    self->families = realloc(self->families, (self->family_count + 1) *
                                                 sizeof(*self->families));
    assert(family && self->families);
    family->name = strdup(name);
    family->help = strdup(help);
    assert(family->name && family->help);
    family->type = type;
    self->families[self->family_count++] = family;
    return family;
}

static metrics_series_t *s_series(metrics_t *self, const char *name,
                                  const char *help, s_type_t type,
                                  const char *label, const char *value)
{
    s_family_t *family = s_family(self, name, help, type);
    metrics_series_t *series = calloc(1, sizeof(*series));
    family->series = realloc(family->series, (family->series_count + 1) *
                                                 sizeof(*family->series));
    assert(series && family->series);
    if (label) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        assert(out);
        fprintf(out, "%s=\"", label);
        s_escape(out, value, true);
        fputc('"', out);
        fclose(out);
        series->labels = text;
    }
    family->series[family->series_count++] = series;
    return series;
}

metrics_series_t *metrics_counter(metrics_t *self, const char *name,
                                  const char *help, const char *label,
                                  const char *value)
{
    return s_series(self, name, help, S_COUNTER, label, value);
}

metrics_series_t *metrics_gauge(metrics_t *self, const char *name,
                                const char *help, const char *label,
                                const char *value)
{
    return s_series(self, name, help, S_GAUGE, label, value);
}

metrics_series_t *metrics_histogram(metrics_t *self, const char *name,
                                    const char *help, const double *bounds,
                                    size_t bound_count, const char *label,
                                    const char *value)
{
    metrics_series_t *series =
        s_series(self, name, help, S_HISTOGRAM, label, value);
    series->bounds = calloc(bound_count + 1, sizeof(*series->bounds));
    series->buckets = calloc(bound_count + 1, sizeof(*series->buckets));
    assert(series->bounds && series->buckets);
    memcpy(series->bounds, bounds, bound_count * sizeof(*bounds));
    series->bound_count = bound_count;
    return series;
}

void metrics_add(metrics_series_t *counter, uint64_t n)
{
    if (counter)
        atomic_fetch_add_explicit(&counter->counter, n, memory_order_relaxed);
}

void metrics_set(metrics_series_t *gauge, int64_t value)
{
    if (gauge)
        atomic_store_explicit(&gauge->gauge, value, memory_order_relaxed);
}

void metrics_observe_ns(metrics_series_t *histogram, uint64_t ns)
{
    if (!histogram)
        return;
    double seconds = (double)ns / 1e9;
    size_t i = 0;
    while (i < histogram->bound_count && seconds > histogram->bounds[i])
        i++;
    atomic_fetch_add_explicit(&histogram->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&histogram->sum_ns, ns, memory_order_relaxed);
}

void metrics_set_collect(metrics_t *self, metrics_collect_fn *fn, void *arg)
{
    self->collect = fn;
    self->collect_arg = arg;
}

/* NAME{LABELS} or NAME{LABELS,EXTRA} or NAME, then the suffix. */
static void s_name(FILE *out, const char *name, const char *suffix,
                   const char *labels, const char *extra)
{
    fprintf(out, "%s%s", name, suffix);
    if (!labels && !extra)
        return;
    fprintf(out, "{%s%s%s}", labels ? labels : "", labels && extra ? "," : "",
            extra ? extra : "");
}

/* The buckets cumulative, and _count equal to the +Inf bucket even while
 * other threads observe: both come from one pass over the buckets. */
static void s_histogram(FILE *out, const char *name,
                        const metrics_series_t *series)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= series->bound_count; i++) {
        total +=
            atomic_load_explicit(&series->buckets[i], memory_order_relaxed);
        char le[48];
        if (i < series->bound_count)
            snprintf(le, sizeof(le), "le=\"%g\"", series->bounds[i]);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        s_name(out, name, "_bucket", series->labels, le);
        fprintf(out, " %" PRIu64 "\n", total);
    }
    uint64_t sum_ns =
        atomic_load_explicit(&series->sum_ns, memory_order_relaxed);
    s_name(out, name, "_sum", series->labels, NULL);
    fprintf(out, " %" PRIu64 ".%09" PRIu64 "\n", sum_ns / 1000000000u,
            sum_ns % 1000000000u);
    s_name(out, name, "_count", series->labels, NULL);
    fprintf(out, " %" PRIu64 "\n", total);
}

static void s_family_render(FILE *out, const s_family_t *family)
{
    fprintf(out, "# HELP %s ", family->name);
    s_escape(out, family->help, false);
    fprintf(out, "\n# TYPE %s %s\n", family->name, s_type_names[family->type]);
    for (size_t i = 0; i < family->series_count; i++) {
        const metrics_series_t *series = family->series[i];
        if (family->type == S_HISTOGRAM) {
            s_histogram(out, family->name, series);
            continue;
        }
        s_name(out, family->name, "", series->labels, NULL);
        if (family->type == S_COUNTER)
            fprintf(
                out, " %" PRIu64 "\n",
                atomic_load_explicit(&series->counter, memory_order_relaxed));
        else
            fprintf(out, " %" PRId64 "\n",
                    atomic_load_explicit(&series->gauge, memory_order_relaxed));
    }
}

char *metrics_render(metrics_t *self, size_t *len)
{
    pthread_mutex_lock(&self->render);
    char *text = NULL;
    if (!self->collect || self->collect(self->collect_arg) == 0) {
        FILE *out = open_memstream(&text, len);
        assert(out);
        for (size_t i = 0; i < self->family_count; i++)
            s_family_render(out, self->families[i]);
        fclose(out);
    }
    pthread_mutex_unlock(&self->render);
    return text;
}
