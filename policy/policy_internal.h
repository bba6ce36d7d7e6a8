/* policy_internal.h - internals shared by the policy library's modules:
 * the single allocation path (with its failure-injection test hook), the
 * arena that owns a model, error recording, the YAML tree, the readers of
 * typed values out of it and the checks that span several items. Not for
 * use outside policy/ and its tests. */
#ifndef VFLEET_POLICY_INTERNAL_H
#define VFLEET_POLICY_INTERNAL_H

#include "policy.h"

#include <stdarg.h>
#include <stddef.h>

/* Every allocation of the library goes through these, so tests can make the
 * Nth one fail and check that each failure is handled cleanly. */
void *policy_malloc(size_t size);
void *policy_realloc(void *ptr, size_t size);
void policy_free(void *ptr);
/* Room for one more item in a growable array of capacity *capacity
 * holding count items: items itself, or the array moved to a doubled
 * capacity; NULL when memory runs out (items is then still valid). */
void *policy_array_grow(void *items, size_t *capacity, size_t count,
                        size_t item_size);
/* A formatted heap string (policy_free it), or NULL when memory runs out. */
char *policy_vformat(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

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
/* The nodes a load of text (which must hold no alias) counts against
 * POLICY_MAX_NODES; false when libyaml cannot read it (out of memory, or
 * text that is not the emitter's). */
bool policy_yaml_count_nodes(const char *text, size_t len, size_t *nodes);

/* The text of a file for a parse: at most POLICY_MAX_FILE_SIZE + 1 bytes
 * (one past the limit, so the parse can tell "at the limit" from "over");
 * NULL after recording why. policy_free() it. */
char *policy_file_read(const char *path, policy_errors_t *errs, size_t *len);

/* ---- the parse in progress (policy_field.c, policy_parse.c,
 * policy_check.c) ------------------------------------------------------ */

typedef struct {
    policy_arena_t *arena; /* the model's */
    policy_errors_t *errs;
    policy_t *policy;
    bool failed;
    bool out_of_memory;
} policy_parser_t;

/* Record an error (at a model position or at a node) and fail the parse. */
void policy_parser_error_at(policy_parser_t *p, policy_pos_t pos,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void policy_parser_error(policy_parser_t *p, const policy_node_t *at,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void policy_parser_out_of_memory(policy_parser_t *p);
/* Zeroed model memory (at least one byte, so an empty list is not NULL);
 * NULL after recording out of memory. */
void *policy_parser_calloc(policy_parser_t *p, size_t count, size_t size);

policy_pos_t policy_node_pos(const policy_node_t *node);
/* Describes a node for a message: a scalar quoted and made printable, or
 * the kind of collection. */
const char *policy_node_describe(const policy_node_t *node, char *buf,
                                 size_t size);
bool policy_node_is_text(const policy_node_t *node, const char *text);
/* The value of key in a mapping (the first one when repeated), or NULL. */
const policy_node_t *policy_node_get(const policy_node_t *map, const char *key);

/* The words the language has for each enum, indexed by the enum's value:
 * the parser reads them, the emitter and the diff print them. */
typedef struct {
    const char *const *words;
    size_t count;
} policy_words_t;

extern const policy_words_t policy_vlan_protocol_words;
extern const policy_words_t policy_link_state_words;
extern const policy_words_t policy_hugepages_words;
extern const policy_words_t policy_strategy_words;
extern const policy_words_t policy_drift_words;            /* correct, report */
extern const policy_words_t policy_guest_mtu_change_words; /* deny, allow */
extern const policy_words_t policy_bool_words;             /* false, true */

/* The kinds of string the language has, each with its character rule. */
typedef enum {
    POLICY_TEXT_NAME,   /* names of networks, pools, groups */
    POLICY_TEXT_GLOB,   /* host, VM and ifname globs */
    POLICY_TEXT_DRIVER, /* kernel driver names */
    POLICY_TEXT_LABEL,  /* label keys */
    POLICY_TEXT_VALUE,  /* label values */
    POLICY_TEXT_HOST,   /* a host name (RFC 1123), as a VM file pins one */
} policy_text_kind_t;

/* Where the name and position of a named item (network, MAC pool, host
 * group, anti-affinity group) sit, for the one sort that orders every
 * such list by name and reports each name given twice. */
typedef struct {
    const char *what; /* "network", "mac pool", ... */
    size_t item_size;
    size_t name_offset; /* of a const char * */
    size_t pos_offset;  /* of a policy_pos_t */
} policy_named_list_t;

/* The layout of a model type with members name and pos. */
#define POLICY_NAMED_LIST(type, what_text)                                     \
    {                                                                          \
        .what = (what_text), .item_size = sizeof(type),                        \
        .name_offset = offsetof(type, name),                                   \
        .pos_offset = offsetof(type, pos),                                     \
    }

/* Typed readers: each checks one value node, records an error naming key
 * when it is wrong, and returns false (or NULL) then. */
bool policy_field_mapping(policy_parser_t *p, const policy_node_t *node,
                          const char *what, const char *const *keys,
                          size_t key_count);
const policy_node_t *policy_field_require(policy_parser_t *p,
                                          const policy_node_t *map,
                                          const char *what, const char *key);
bool policy_field_sequence(policy_parser_t *p, const policy_node_t *node,
                           const char *key);
bool policy_field_uint(policy_parser_t *p, const policy_node_t *node,
                       const char *key, uint64_t min, uint64_t max,
                       uint64_t *out);
bool policy_field_bool(policy_parser_t *p, const policy_node_t *node,
                       const char *key, bool *out);
bool policy_field_enum(policy_parser_t *p, const policy_node_t *node,
                       const char *key, const policy_words_t *words, int *out);
/* A validated copy of a string in the model arena. */
const char *policy_field_text(policy_parser_t *p, const policy_node_t *node,
                              const char *key, policy_text_kind_t kind);
/* A lowercase copy of a fixed-format hex identifier: pattern has 'h' for
 * a hex digit, 'f' for 0-7 and any other character for itself. */
const char *policy_field_hex_id(policy_parser_t *p, const policy_node_t *node,
                                const char *key, const char *pattern,
                                const char *example);
/* A list of strings of one kind: validated, sorted, each listed once and
 * no two differing only by case; positions (may be NULL) receives where
 * each kept entry was written. */
void policy_field_text_list(policy_parser_t *p, const policy_node_t *node,
                            const char *key, policy_text_kind_t kind,
                            size_t max_items, const char ***out, size_t *count,
                            policy_pos_t **positions);
/* Reads one item of a list of named items into a zeroed item. */
typedef void policy_item_reader_t(policy_parser_t *p, const policy_node_t *node,
                                  void *item);
/* The items of a list of named things, in source order, each read by
 * read_item; an item left without a valid name is dropped (its errors are
 * reported already). The caller sorts them and reports repeated names
 * (policy_check_unique_names). */
void *policy_field_named_items(policy_parser_t *p, const policy_node_t *node,
                               const char *key, size_t max_items,
                               const policy_named_list_t *layout,
                               policy_item_reader_t *read_item, size_t *count);
/* A mapping of label keys to values, sorted by key. */
void policy_field_labels(policy_parser_t *p, const policy_node_t *node,
                         policy_label_t **labels, size_t *count);
/* A size like 512M, 4G or 1T, in MiB. */
void policy_field_size(policy_parser_t *p, const policy_node_t *node,
                       const char *key, uint64_t *mib);
/* Parses "xx:xx:..." into octets; returns how many, or 0 when malformed. */
size_t policy_mac_parse(const policy_node_t *node, uint8_t octets[6]);

/* Cross-item rules (policy_check.c). */

/* Sorts items by name and keeps the first of each name; *count shrinks.
 * Then reports names that differ only by case. */
void policy_check_unique_names(policy_parser_t *p, void *items, size_t *count,
                               const policy_named_list_t *layout);
/* Names are case-sensitive, so two that differ only by case would be two
 * things an operator reads as one: reports each such name against the
 * first (by position) it collides with. Leaves items in their order. */
void policy_check_case_conflicts(policy_parser_t *p, const void *items,
                                 size_t count,
                                 const policy_named_list_t *layout);
/* Sorts the fixed MACs and keeps the first of each. */
void policy_check_unique_fixed_macs(policy_parser_t *p);
/* The rules between items of a complete model: MAC prefixes and fixed
 * MACs that overlap, networks PFs name but nobody defines, selectors
 * repeated in a group, and VF counts two groups disagree on. */
void policy_check_model(policy_parser_t *p);
/* `policy show` of a valid policy must itself be a valid policy: refuses a
 * model whose normal form is over the size or node limit, at 1:1, saying
 * how large it would be. Run on a model without errors. */
void policy_check_normal_form(policy_parser_t *p);

/* ---- small shared helpers (policy_util.c) ---------------------------- */

/* Orders MAC prefixes by octets, a shorter one before those it contains. */
int policy_mac_prefix_compare(const policy_mac_prefix_t *a,
                              const policy_mac_prefix_t *b);
/* The keys that select a PF, in the order they are printed, and a PF's
 * values for them (NULL when not given). */
#define POLICY_PF_SELECTOR_KEYS 4
extern const char *const policy_pf_selector_keys[POLICY_PF_SELECTOR_KEYS];
void policy_pf_selector_values(const policy_pf_t *pf,
                               const char *values[POLICY_PF_SELECTOR_KEYS]);
/* Whether two PF entries select with the same values. */
bool policy_pf_same_selector(const policy_pf_t *a, const policy_pf_t *b);
/* A size in MiB written in the largest unit that states it exactly, as
 * the language writes it: "512M", "4G", "1T". */
void policy_size_format(uint64_t mib, char *buf, size_t size);

/* Levenshtein distance, capped: used for "did you mean" suggestions. */
size_t policy_edit_distance(const char *a, const char *b);
/* The candidate closest to word when it is a plausible typo, else NULL. */
const char *policy_suggest(const char *word, const char *const *candidates,
                           size_t count);

#endif
