/* policy_internal.h - internals shared by the policy library's modules:
 * the single allocation path (with its failure-injection test hook), the
 * arena that owns a model, and error recording. Not for use outside policy/
 * and its tests. */
#ifndef VFLEET_POLICY_INTERNAL_H
#define VFLEET_POLICY_INTERNAL_H

#include "policy.h"

#include <stdarg.h>

/* Every allocation of the library goes through these, so tests can make the
 * Nth one fail and check that each failure is handled cleanly. */
void *policy_malloc(size_t size);
void *policy_realloc(void *ptr, size_t size);
void policy_free(void *ptr);

/* Test hook: the nth allocation from now (1 = the next one) fails, once;
 * 0 turns injection off. */
void policy_alloc_fail_after(unsigned long n);
/* Test hook: allocations made since the last policy_alloc_fail_after(). */
unsigned long policy_alloc_count(void);

/* A bump allocator: a model's strings and arrays live in one arena and are
 * freed together, which keeps every error path a single free. */
policy_arena_t *policy_arena_new(void);
void policy_arena_destroy(policy_arena_t **self_p);
/* Zeroed memory, or NULL when memory runs out. */
void *policy_arena_alloc(policy_arena_t *self, size_t size);
void *policy_arena_calloc(policy_arena_t *self, size_t count, size_t size);
char *policy_arena_strndup(policy_arena_t *self, const char *text, size_t len);

/* Records one error at line:column; on out of memory sets the flag. */
void policy_errors_add(policy_errors_t *self, int line, int column,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void policy_errors_set_source(policy_errors_t *self, const char *source);
void policy_errors_set_out_of_memory(policy_errors_t *self);
/* Sorts by position and drops exact duplicates. */
void policy_errors_sort(policy_errors_t *self);

/* The YAML document as a tree. Aliases point at the anchored node, so the
 * tree is a DAG; all nodes live in the tree's arena. */
typedef enum {
    POLICY_NODE_SCALAR,
    POLICY_NODE_SEQUENCE,
    POLICY_NODE_MAPPING,
} policy_node_kind_t;

typedef struct policy_node policy_node_t;
struct policy_node {
    policy_node_kind_t kind;
    int line;
    int column;
    bool plain;        /* scalar written without quotes */
    const char *value; /* scalar text, NUL-terminated */
    size_t length;     /* scalar length (may contain NUL bytes) */
    size_t count;      /* items; for a mapping, 2 * pairs (key, value) */
    policy_node_t **items;
    size_t expanded; /* nodes below and including this, aliases followed */
};

/* Parses YAML text into a tree in arena. Returns the root (NULL for an
 * empty document) and sets *ok to false after recording errors. */
policy_node_t *policy_yaml_load(policy_arena_t *arena, const char *text,
                                size_t len, policy_errors_t *errs, bool *ok);

/* Levenshtein distance, capped: used for "did you mean" suggestions. */
size_t policy_edit_distance(const char *a, const char *b);
/* The candidate closest to word when it is a plausible typo, else NULL. */
const char *policy_suggest(const char *word, const char *const *candidates,
                           size_t count);

#endif
