/* policy_field.c - reading typed values out of the YAML tree: mappings
 * with known keys, integers in a range, booleans, enum words, the string
 * kinds with their character rules, MACs, sizes; and recording what is
 * wrong with them at FILE:LINE:COLUMN, with a "did you mean". */
#include "policy_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string with the node it came from, for sorting and duplicate checks. */
typedef struct {
    const char *text;
    policy_pos_t pos;
} located_t;

static void s_verror(policy_parser_t *p, policy_pos_t pos, const char *fmt,
                     va_list ap) __attribute__((format(printf, 3, 0)));

static void s_verror(policy_parser_t *p, policy_pos_t pos, const char *fmt,
                     va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof(message), fmt, ap);
    policy_errors_add(p->errs, pos.line, pos.column, "%s", message);
    p->failed = true;
}

void policy_parser_error_at(policy_parser_t *p, policy_pos_t pos,
                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(p, pos, fmt, ap);
    va_end(ap);
}

void policy_parser_error(policy_parser_t *p, const policy_node_t *at,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(p, (policy_pos_t){.line = at->line, .column = at->column}, fmt,
             ap);
    va_end(ap);
}

void policy_parser_out_of_memory(policy_parser_t *p)
{
    policy_errors_set_out_of_memory(p->errs);
    p->failed = true;
    p->out_of_memory = true;
}

void *policy_parser_calloc(policy_parser_t *p, size_t count, size_t size)
{
    void *ptr = policy_arena_calloc(p->arena, count ? count : 1, size);
    if (!ptr)
        policy_parser_out_of_memory(p);
    return ptr;
}

policy_pos_t policy_node_pos(const policy_node_t *node)
{
    return (policy_pos_t){.line = node->line, .column = node->column};
}

/* Describes a node for a message: a scalar quoted and made printable, or
 * the kind of collection. */
const char *policy_node_describe(const policy_node_t *node, char *buf,
                                 size_t size)
{
    if (node->kind == POLICY_NODE_SEQUENCE)
        return "a list";
    if (node->kind == POLICY_NODE_MAPPING)
        return "a mapping";
    if (node->plain && node->length == 0)
        return "nothing";
    size_t used = 0;
    buf[used++] = '\'';
    for (size_t i = 0; i < node->length && used + 8 < size; i++) {
        unsigned char c = (unsigned char)node->value[i];
        if (i == 40) {
            used += (size_t)snprintf(buf + used, size - used, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[used++] = (char)c;
        else
            used += (size_t)snprintf(buf + used, size - used, "\\x%02x", c);
    }
    buf[used++] = '\'';
    buf[used] = '\0';
    return buf;
}

bool policy_node_is_text(const policy_node_t *node, const char *text)
{
    size_t len = strlen(text);
    return node->kind == POLICY_NODE_SCALAR && node->length == len &&
           memcmp(node->value, text, len) == 0;
}

/* The value of key in a mapping (the first one when repeated), or NULL. */
const policy_node_t *policy_node_get(const policy_node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (policy_node_is_text(map->items[i], key))
            return map->items[i + 1];
    return NULL;
}

/* Checks that node is a mapping whose keys all come from keys[]. Reports
 * unknown keys (with a suggestion) and repeated ones. */
bool policy_field_mapping(policy_parser_t *p, const policy_node_t *node,
                          const char *what, const char *const *keys,
                          size_t key_count)
{
    char got[128];
    if (node->kind != POLICY_NODE_MAPPING) {
        policy_parser_error(p, node, "%s: expected a mapping, got %s", what,
                            policy_node_describe(node, got, sizeof(got)));
        return false;
    }
    const policy_node_t *seen[16] = {NULL};
    for (size_t i = 0; i + 1 < node->count; i += 2) {
        const policy_node_t *key = node->items[i];
        if (key->kind != POLICY_NODE_SCALAR) {
            policy_parser_error(p, key, "%s: keys must be scalars, got %s",
                                what,
                                policy_node_describe(key, got, sizeof(got)));
            continue;
        }
        size_t k = 0;
        while (k < key_count && !policy_node_is_text(key, keys[k]))
            k++;
        if (k < key_count) {
            if (seen[k])
                policy_parser_error(
                    p, key, "duplicate key '%s' in %s (first at %d:%d)",
                    keys[k], what, seen[k]->line, seen[k]->column);
            else
                seen[k] = key;
            continue;
        }
        /* A YAML 1.1 merge key is a feature other readers have, so it
         * gets the same plain refusal as a tag rather than a typo hint. */
        if (key->plain && policy_node_is_text(key, "<<")) {
            policy_parser_error(p, key,
                                "YAML merge keys ('<<') are not supported");
            continue;
        }
        const char *hint = key->length == strlen(key->value)
                               ? policy_suggest(key->value, keys, key_count)
                               : NULL;
        /* The description may be a constant rather than got. */
        const char *described = policy_node_describe(key, got, sizeof(got));
        if (hint)
            policy_parser_error(p, key,
                                "unknown key %s in %s (did you mean '%s'?)",
                                described, what, hint);
        else
            policy_parser_error(p, key, "unknown key %s in %s", described,
                                what);
    }
    return true;
}

const policy_node_t *policy_field_require(policy_parser_t *p,
                                          const policy_node_t *map,
                                          const char *what, const char *key)
{
    const policy_node_t *value = policy_node_get(map, key);
    if (!value)
        policy_parser_error(p, map, "%s: missing required key '%s'", what, key);
    return value;
}

bool policy_field_sequence(policy_parser_t *p, const policy_node_t *node,
                           const char *key)
{
    char got[128];
    if (node->kind == POLICY_NODE_SEQUENCE)
        return true;
    policy_parser_error(p, node, "%s: expected a list, got %s", key,
                        policy_node_describe(node, got, sizeof(got)));
    return false;
}

/* Numbers and booleans are written without quotes; a quoted one is a
 * string, which is worth saying because it looks right at a glance. */
static const char *s_quoted_hint(const policy_node_t *node)
{
    return node->kind == POLICY_NODE_SCALAR && !node->plain
               ? " (a quoted string: drop the quotes)"
               : "";
}

bool policy_field_uint(policy_parser_t *p, const policy_node_t *node,
                       const char *key, uint64_t min, uint64_t max,
                       uint64_t *out)
{
    char got[128];
    bool digits = node->kind == POLICY_NODE_SCALAR && node->plain &&
                  node->length > 0 && node->length <= 12;
    for (size_t i = 0; digits && i < node->length; i++)
        digits = node->value[i] >= '0' && node->value[i] <= '9';
    if (!digits) {
        policy_parser_error(p, node, "%s: expected an integer, got %s%s", key,
                            policy_node_describe(node, got, sizeof(got)),
                            s_quoted_hint(node));
        return false;
    }
    /* YAML 1.1 readers take 010 for octal 8: refuse to guess. */
    if (node->length > 1 && node->value[0] == '0') {
        policy_parser_error(
            p, node, "%s: %s has a leading zero (octal in some YAML readers)",
            key, policy_node_describe(node, got, sizeof(got)));
        return false;
    }
    uint64_t value = strtoull(node->value, NULL, 10);
    if (value < min || value > max) {
        policy_parser_error(p, node, "%s: %llu is out of range %llu..%llu", key,
                            (unsigned long long)value, (unsigned long long)min,
                            (unsigned long long)max);
        return false;
    }
    *out = value;
    return true;
}

bool policy_field_bool(policy_parser_t *p, const policy_node_t *node,
                       const char *key, bool *out)
{
    char got[128];
    if (node->plain && policy_node_is_text(node, policy_bool_words.words[1])) {
        *out = true;
        return true;
    }
    if (node->plain && policy_node_is_text(node, policy_bool_words.words[0])) {
        *out = false;
        return true;
    }
    policy_parser_error(p, node, "%s: expected true or false, got %s%s", key,
                        policy_node_describe(node, got, sizeof(got)),
                        s_quoted_hint(node));
    return false;
}

bool policy_field_enum(policy_parser_t *p, const policy_node_t *node,
                       const char *key, const policy_words_t *words, int *out)
{
    const char *const *names = words->words;
    size_t count = words->count;
    char got[128], expected[128] = "";
    for (size_t i = 0; i < count; i++) {
        if (policy_node_is_text(node, names[i])) {
            *out = (int)i;
            return true;
        }
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof(expected) - used, "%s%s",
                 i ? ", " : "", names[i]);
    }
    const char *hint =
        node->kind == POLICY_NODE_SCALAR && node->length == strlen(node->value)
            ? policy_suggest(node->value, names, count)
            : NULL;
    const char *described = policy_node_describe(node, got, sizeof(got));
    if (hint)
        policy_parser_error(
            p, node, "%s: expected one of %s, got %s (did you mean '%s'?)", key,
            expected, described, hint);
    else
        policy_parser_error(p, node, "%s: expected one of %s, got %s", key,
                            expected, described);
    return false;
}

/* Character classes of the string kinds the language has. */
static bool s_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool s_text_ok(const char *text, size_t length, const char *extra,
                      size_t max_len, bool alnum_first)
{
    if (length == 0 || length > max_len)
        return false;
    if (alnum_first && !s_is_alnum(text[0]))
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!s_is_alnum(c) && (c == '\0' || !strchr(extra, c)))
            return false;
    }
    return true;
}

static bool s_chars_ok(const policy_node_t *node, const char *extra,
                       size_t max_len, bool alnum_first)
{
    return node->kind == POLICY_NODE_SCALAR &&
           s_text_ok(node->value, node->length, extra, max_len, alnum_first);
}

/* What each kind of string may hold. */
typedef struct {
    const char *extra; /* allowed besides letters and digits */
    size_t max_len;
    bool alnum_first;
    const char *described; /* the characters, for the message */
} text_rule_t;

static const text_rule_t s_text_rules[] = {
    [POLICY_TEXT_NAME] = {"._-", POLICY_NAME_MAX, true,
                          "letters, digits, '.', '_' and '-'"},
    [POLICY_TEXT_GLOB] = {"._-:*?", POLICY_GLOB_MAX, false,
                          "letters, digits, '.', '_', '-', ':' and the "
                          "wildcards '*' and '?'"},
    [POLICY_TEXT_DRIVER] = {"_-", POLICY_NAME_MAX, false,
                            "letters, digits, '_' and '-'"},
    [POLICY_TEXT_LABEL] = {"._/-", POLICY_NAME_MAX, true,
                           "letters, digits, '.', '_', '/' and '-'"},
    [POLICY_TEXT_VALUE] = {"._-", POLICY_NAME_MAX, false,
                           "letters, digits, '.', '_' and '-'"},
    [POLICY_TEXT_HOST] = {".-", POLICY_HOST_NAME_MAX, true,
                          "letters, digits, '.' and '-'"},
};

static bool s_text_kind_ok(const char *text, policy_text_kind_t kind)
{
    const text_rule_t *rule = &s_text_rules[kind];
    return s_text_ok(text, strlen(text), rule->extra, rule->max_len,
                     rule->alnum_first);
}

bool policy_label_key_valid(const char *text)
{
    return s_text_kind_ok(text, POLICY_TEXT_LABEL);
}

bool policy_label_value_valid(const char *text)
{
    return s_text_kind_ok(text, POLICY_TEXT_VALUE);
}

bool policy_name_valid(const char *text)
{
    return s_text_kind_ok(text, POLICY_TEXT_NAME);
}

/* A validated copy of a string value in the model arena, or NULL. */
const char *policy_field_text(policy_parser_t *p, const policy_node_t *node,
                              const char *key, policy_text_kind_t kind)
{
    char got[128];
    const text_rule_t *rule = &s_text_rules[kind];
    if (!s_chars_ok(node, rule->extra, rule->max_len, rule->alnum_first)) {
        policy_parser_error(
            p, node, "%s: %s is not valid (%s%s, at most %zu characters)", key,
            policy_node_describe(node, got, sizeof(got)), rule->described,
            rule->alnum_first ? ", starting with a letter or digit" : "",
            (size_t)rule->max_len);
        return NULL;
    }
    char *copy = policy_arena_strndup(p->arena, node->value, node->length);
    if (!copy)
        policy_parser_out_of_memory(p);
    return copy;
}

static bool s_hex(char c, unsigned *out)
{
    if (c >= '0' && c <= '9')
        *out = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
        *out = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        *out = (unsigned)(c - 'A' + 10);
    else
        return false;
    return true;
}

/* Parses "xx:xx:..." into octets; returns how many, or 0 when malformed. */
size_t policy_mac_parse(const policy_node_t *node, uint8_t octets[6])
{
    if (node->kind != POLICY_NODE_SCALAR || node->length > 17 ||
        node->length % 3 != 2)
        return 0;
    size_t count = (node->length + 1) / 3;
    for (size_t i = 0; i < count; i++) {
        const char *s = node->value + i * 3;
        unsigned hi, lo;
        if (!s_hex(s[0], &hi) || !s_hex(s[1], &lo))
            return 0;
        if (i + 1 < count && s[2] != ':')
            return 0;
        octets[i] = (uint8_t)(hi << 4 | lo);
    }
    return count;
}

/* Lowercase copy of a fixed-format hex identifier (PCI address, device). */
const char *policy_field_hex_id(policy_parser_t *p, const policy_node_t *node,
                                const char *key, const char *pattern,
                                const char *example)
{
    char got[128];
    bool ok =
        node->kind == POLICY_NODE_SCALAR && node->length == strlen(pattern);
    for (size_t i = 0; ok && i < node->length; i++) {
        unsigned digit;
        char c = node->value[i];
        if (pattern[i] == 'h')
            ok = s_hex(c, &digit);
        else if (pattern[i] == 'f')
            ok = c >= '0' && c <= '7';
        else
            ok = c == pattern[i];
    }
    if (!ok) {
        policy_parser_error(p, node, "%s: expected the form %s, got %s", key,
                            example,
                            policy_node_describe(node, got, sizeof(got)));
        return NULL;
    }
    char *copy = policy_arena_strndup(p->arena, node->value, node->length);
    if (!copy) {
        policy_parser_out_of_memory(p);
        return NULL;
    }
    for (char *c = copy; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return copy;
}

static int s_located_compare(const void *a, const void *b)
{
    const located_t *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c != 0)
        return c;
    if (x->pos.line != y->pos.line)
        return x->pos.line < y->pos.line ? -1 : 1;
    return x->pos.column - y->pos.column;
}

/* A list of strings of one kind: validated, sorted, each listed once. */
void policy_field_text_list(policy_parser_t *p, const policy_node_t *node,
                            const char *key, policy_text_kind_t kind,
                            size_t max_items, const char ***out, size_t *count,
                            policy_pos_t **positions)
{
    if (!policy_field_sequence(p, node, key))
        return;
    if (node->count > max_items) {
        policy_parser_error(p, node, "%s: more than %zu entries", key,
                            max_items);
        return;
    }
    located_t *items = policy_parser_calloc(p, node->count, sizeof(*items));
    const char **texts = policy_parser_calloc(p, node->count, sizeof(*texts));
    policy_pos_t *pos = policy_parser_calloc(p, node->count, sizeof(*pos));
    if (!items || !texts || !pos)
        return;
    size_t n = 0;
    for (size_t i = 0; i < node->count; i++) {
        const char *text = policy_field_text(p, node->items[i], key, kind);
        if (text)
            items[n++] = (located_t){.text = text,
                                     .pos = policy_node_pos(node->items[i])};
    }
    qsort(items, n, sizeof(*items), s_located_compare);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(texts[kept - 1], items[i].text) == 0) {
            policy_parser_error_at(p, items[i].pos, "%s: '%s' is listed twice",
                                   key, items[i].text);
            continue;
        }
        pos[kept] = items[i].pos;
        items[kept] = items[i];
        texts[kept++] = items[i].text;
    }
    char what[64];
    snprintf(what, sizeof(what), "%s:", key);
    policy_check_case_conflicts(p, items, kept,
                                &(policy_named_list_t){
                                    .what = what,
                                    .item_size = sizeof(located_t),
                                    .name_offset = offsetof(located_t, text),
                                    .pos_offset = offsetof(located_t, pos),
                                });
    *out = texts;
    *count = kept;
    if (positions)
        *positions = pos;
}

static int s_label_compare(const void *a, const void *b)
{
    return strcmp(((const policy_label_t *)a)->key,
                  ((const policy_label_t *)b)->key);
}

void policy_field_labels(policy_parser_t *p, const policy_node_t *node,
                         policy_label_t **labels, size_t *count)
{
    char got[128];
    if (node->kind != POLICY_NODE_MAPPING) {
        policy_parser_error(p, node, "labels: expected a mapping, got %s",
                            policy_node_describe(node, got, sizeof(got)));
        return;
    }
    size_t pairs = node->count / 2;
    if (pairs > POLICY_GROUP_ITEMS_MAX) {
        policy_parser_error(p, node, "labels: more than %d entries",
                            POLICY_GROUP_ITEMS_MAX);
        return;
    }
    policy_label_t *pairs_read =
        policy_parser_calloc(p, pairs, sizeof(*pairs_read));
    located_t *keys = policy_parser_calloc(p, pairs, sizeof(*keys));
    *labels = pairs_read;
    if (!pairs_read || !keys)
        return;
    size_t n = 0;
    for (size_t i = 0; i < pairs; i++) {
        const char *key = policy_field_text(p, node->items[2 * i], "labels",
                                            POLICY_TEXT_LABEL);
        const char *value = policy_field_text(p, node->items[2 * i + 1],
                                              "labels", POLICY_TEXT_VALUE);
        if (key && value) {
            keys[n] = (located_t){.text = key,
                                  .pos = policy_node_pos(node->items[2 * i])};
            pairs_read[n++] = (policy_label_t){.key = key, .value = value};
        }
    }
    /* Sorted by key, then position: each run's first is the one written
     * first, and every later one is named against it, as a key repeated in
     * any other mapping is. */
    qsort(keys, n, sizeof(*keys), s_located_compare);
    for (size_t i = 1, first = 0; i < n; i++) {
        if (strcmp(keys[first].text, keys[i].text) != 0) {
            first = i;
            continue;
        }
        policy_parser_error_at(
            p, keys[i].pos, "duplicate key '%s' in labels (first at %d:%d)",
            keys[i].text, keys[first].pos.line, keys[first].pos.column);
    }
    qsort(pairs_read, n, sizeof(*pairs_read), s_label_compare);
    *count = n;
}

void policy_field_size(policy_parser_t *p, const policy_node_t *node,
                       const char *key, uint64_t *mib)
{
    char got[128];
    bool ok = node->kind == POLICY_NODE_SCALAR && node->length >= 2 &&
              node->length <= 10;
    for (size_t i = 0; ok && i + 1 < node->length; i++)
        ok = node->value[i] >= '0' && node->value[i] <= '9';
    char unit = ok ? node->value[node->length - 1] : 0;
    if (!ok || !strchr("MGT", unit) || unit == '\0') {
        policy_parser_error(p, node,
                            "%s: expected a size like 512M, 4G or 1T, got %s",
                            key, policy_node_describe(node, got, sizeof(got)));
        return;
    }
    if (node->value[0] == '0' && node->length > 2) {
        policy_parser_error(p, node, "%s: %s has a leading zero", key,
                            policy_node_describe(node, got, sizeof(got)));
        return;
    }
    uint64_t value = strtoull(node->value, NULL, 10);
    uint64_t scale = unit == 'M' ? 1 : unit == 'G' ? 1024 : 1024 * 1024;
    if (value > POLICY_RESERVE_MAX_MIB / scale) {
        char most[32];
        policy_size_format(POLICY_RESERVE_MAX_MIB, most, sizeof(most));
        policy_parser_error(p, node, "%s: %s is more than %s", key,
                            policy_node_describe(node, got, sizeof(got)), most);
        return;
    }
    *mib = value * scale;
}

/* The items of a list of named things, in source order, each read by
 * read_item; an item left without a valid name is dropped (its errors are
 * reported already). The caller sorts them and reports repeated names. */
void *policy_field_named_items(policy_parser_t *p, const policy_node_t *node,
                               const char *key, size_t max_items,
                               const policy_named_list_t *layout,
                               policy_item_reader_t *read_item, size_t *count)
{
    if (!policy_field_sequence(p, node, key))
        return NULL;
    if (max_items && node->count > max_items) {
        policy_parser_error(p, node, "%s: more than %zu entries", key,
                            max_items);
        return NULL;
    }
    char *items = policy_parser_calloc(p, node->count, layout->item_size);
    if (!items)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < node->count; i++) {
        char *item = items + kept * layout->item_size;
        read_item(p, node->items[i], item);
        const char *name;
        memcpy(&name, item + layout->name_offset, sizeof(name));
        if (name)
            kept++;
        else
            memset(item, 0, layout->item_size);
    }
    *count = kept;
    return items;
}
