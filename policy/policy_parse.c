/* policy_parse.c - the policy schema: checks the YAML node tree key by key,
 * builds the normalised model and then checks the rules that span several
 * items (names, references, MAC overlaps, VF count conflicts). */
#include "policy_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 63
#define GLOB_MAX_LEN 64
#define MAX_HOST_GROUPS 256
#define MAX_GROUP_ITEMS 64
#define MAX_HOST_GLOBS 512

typedef struct {
    policy_arena_t *arena; /* the model's */
    policy_errors_t *errs;
    policy_t *policy;
    bool failed;
    bool out_of_memory;
} parser_t;

/* A string with the node it came from, for sorting and duplicate checks. */
typedef struct {
    const char *text;
    const policy_node_t *node;
} located_t;

static void s_verror(parser_t *p, policy_pos_t pos, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void s_verror(parser_t *p, policy_pos_t pos, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof(message), fmt, ap);
    policy_errors_add(p->errs, pos.line, pos.column, "%s", message);
    p->failed = true;
}

static void s_error_at(parser_t *p, policy_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_error_at(parser_t *p, policy_pos_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(p, pos, fmt, ap);
    va_end(ap);
}

/* Reports an error at a node of the YAML tree. */
static void s_error(parser_t *p, const policy_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_error(parser_t *p, const policy_node_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(p, (policy_pos_t){.line = at->line, .column = at->column}, fmt,
             ap);
    va_end(ap);
}

static void s_oom(parser_t *p)
{
    policy_errors_set_out_of_memory(p->errs);
    p->failed = true;
    p->out_of_memory = true;
}

static void *s_calloc(parser_t *p, size_t count, size_t size)
{
    void *ptr = policy_arena_calloc(p->arena, count ? count : 1, size);
    if (!ptr)
        s_oom(p);
    return ptr;
}

static policy_pos_t s_pos(const policy_node_t *node)
{
    return (policy_pos_t){.line = node->line, .column = node->column};
}

/* Describes a node for a message: a scalar quoted and made printable, or
 * the kind of collection. */
static const char *s_got(const policy_node_t *node, char *buf, size_t size)
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

static bool s_scalar_is(const policy_node_t *node, const char *text)
{
    size_t len = strlen(text);
    return node->kind == POLICY_NODE_SCALAR && node->length == len &&
           memcmp(node->value, text, len) == 0;
}

/* The value of key in a mapping (the first one when repeated), or NULL. */
static const policy_node_t *s_get(const policy_node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (s_scalar_is(map->items[i], key))
            return map->items[i + 1];
    return NULL;
}

/* Checks that node is a mapping whose keys all come from keys[]. Reports
 * unknown keys (with a suggestion) and repeated ones. */
static bool s_mapping(parser_t *p, const policy_node_t *node, const char *what,
                      const char *const *keys, size_t key_count)
{
    char got[128];
    if (node->kind != POLICY_NODE_MAPPING) {
        s_error(p, node, "%s: expected a mapping, got %s", what,
                s_got(node, got, sizeof(got)));
        return false;
    }
    const policy_node_t *seen[16] = {NULL};
    for (size_t i = 0; i + 1 < node->count; i += 2) {
        const policy_node_t *key = node->items[i];
        if (key->kind != POLICY_NODE_SCALAR) {
            s_error(p, key, "%s: keys must be scalars, got %s", what,
                    s_got(key, got, sizeof(got)));
            continue;
        }
        size_t k = 0;
        while (k < key_count && !s_scalar_is(key, keys[k]))
            k++;
        if (k < key_count) {
            if (seen[k])
                s_error(p, key, "duplicate key '%s' in %s (first at %d:%d)",
                        keys[k], what, seen[k]->line, seen[k]->column);
            else
                seen[k] = key;
            continue;
        }
        const char *hint = key->length == strlen(key->value)
                               ? policy_suggest(key->value, keys, key_count)
                               : NULL;
        s_got(key, got, sizeof(got));
        if (hint)
            s_error(p, key, "unknown key %s in %s (did you mean '%s'?)", got,
                    what, hint);
        else
            s_error(p, key, "unknown key %s in %s", got, what);
    }
    return true;
}

static const policy_node_t *s_require(parser_t *p, const policy_node_t *map,
                                      const char *what, const char *key)
{
    const policy_node_t *value = s_get(map, key);
    if (!value)
        s_error(p, map, "%s: missing required key '%s'", what, key);
    return value;
}

static bool s_sequence(parser_t *p, const policy_node_t *node, const char *key)
{
    char got[128];
    if (node->kind == POLICY_NODE_SEQUENCE)
        return true;
    s_error(p, node, "%s: expected a list, got %s", key,
            s_got(node, got, sizeof(got)));
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

static bool s_uint(parser_t *p, const policy_node_t *node, const char *key,
                   uint64_t min, uint64_t max, uint64_t *out)
{
    char got[128];
    bool digits = node->kind == POLICY_NODE_SCALAR && node->plain &&
                  node->length > 0 && node->length <= 12;
    for (size_t i = 0; digits && i < node->length; i++)
        digits = node->value[i] >= '0' && node->value[i] <= '9';
    if (!digits) {
        s_error(p, node, "%s: expected an integer, got %s%s", key,
                s_got(node, got, sizeof(got)), s_quoted_hint(node));
        return false;
    }
    /* YAML 1.1 readers take 010 for octal 8: refuse to guess. */
    if (node->length > 1 && node->value[0] == '0') {
        s_error(p, node,
                "%s: %s has a leading zero (octal in some YAML readers)", key,
                s_got(node, got, sizeof(got)));
        return false;
    }
    uint64_t value = strtoull(node->value, NULL, 10);
    if (value < min || value > max) {
        s_error(p, node, "%s: %llu is out of range %llu..%llu", key,
                (unsigned long long)value, (unsigned long long)min,
                (unsigned long long)max);
        return false;
    }
    *out = value;
    return true;
}

static bool s_bool(parser_t *p, const policy_node_t *node, const char *key,
                   bool *out)
{
    char got[128];
    if (node->plain && s_scalar_is(node, "true")) {
        *out = true;
        return true;
    }
    if (node->plain && s_scalar_is(node, "false")) {
        *out = false;
        return true;
    }
    s_error(p, node, "%s: expected true or false, got %s%s", key,
            s_got(node, got, sizeof(got)), s_quoted_hint(node));
    return false;
}

static bool s_enum(parser_t *p, const policy_node_t *node, const char *key,
                   const char *const *names, size_t count, int *out)
{
    char got[128], expected[128] = "";
    for (size_t i = 0; i < count; i++) {
        if (s_scalar_is(node, names[i])) {
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
    s_got(node, got, sizeof(got));
    if (hint)
        s_error(p, node, "%s: expected one of %s, got %s (did you mean '%s'?)",
                key, expected, got, hint);
    else
        s_error(p, node, "%s: expected one of %s, got %s", key, expected, got);
    return false;
}

/* Character classes of the string kinds the language has. */
static bool s_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool s_chars_ok(const policy_node_t *node, const char *extra,
                       size_t max_len, bool alnum_first)
{
    if (node->kind != POLICY_NODE_SCALAR || node->length == 0 ||
        node->length > max_len)
        return false;
    if (alnum_first && !s_is_alnum(node->value[0]))
        return false;
    for (size_t i = 0; i < node->length; i++) {
        char c = node->value[i];
        if (!s_is_alnum(c) && (c == '\0' || !strchr(extra, c)))
            return false;
    }
    return true;
}

typedef enum {
    TEXT_NAME,   /* names of networks, pools, groups */
    TEXT_GLOB,   /* host, VM and ifname globs */
    TEXT_DRIVER, /* kernel driver names */
    TEXT_LABEL,  /* label keys */
    TEXT_VALUE,  /* label values */
} text_kind_t;

static const char *s_text_rule[] = {
    [TEXT_NAME] = "letters, digits, '.', '_' and '-', starting with a letter "
                  "or digit, at most 63 characters",
    [TEXT_GLOB] = "letters, digits, '.', '_', '-', ':' and the wildcards "
                  "'*' and '?', at most 64 characters",
    [TEXT_DRIVER] = "letters, digits, '_' and '-', at most 63 characters",
    [TEXT_LABEL] = "letters, digits, '.', '_', '/' and '-', starting with a "
                   "letter or digit, at most 63 characters",
    [TEXT_VALUE] = "letters, digits, '.', '_' and '-', at most 63 characters",
};

static bool s_text_ok(const policy_node_t *node, text_kind_t kind)
{
    switch (kind) {
    case TEXT_NAME:
        return s_chars_ok(node, "._-", NAME_MAX_LEN, true);
    case TEXT_GLOB:
        return s_chars_ok(node, "._-:*?", GLOB_MAX_LEN, false);
    case TEXT_DRIVER:
        return s_chars_ok(node, "_-", NAME_MAX_LEN, false);
    case TEXT_LABEL:
        return s_chars_ok(node, "._/-", NAME_MAX_LEN, true);
    case TEXT_VALUE:
        return s_chars_ok(node, "._-", NAME_MAX_LEN, false);
    }
    return false;
}

/* A validated copy of a string value in the model arena, or NULL. */
static const char *s_text(parser_t *p, const policy_node_t *node,
                          const char *key, text_kind_t kind)
{
    char got[128];
    if (!s_text_ok(node, kind)) {
        s_error(p, node, "%s: %s is not valid (%s)", key,
                s_got(node, got, sizeof(got)), s_text_rule[kind]);
        return NULL;
    }
    char *copy = policy_arena_strndup(p->arena, node->value, node->length);
    if (!copy)
        s_oom(p);
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
static size_t s_mac_parse(const policy_node_t *node, uint8_t octets[6])
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
static const char *s_hex_id(parser_t *p, const policy_node_t *node,
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
        s_error(p, node, "%s: expected the form %s, got %s", key, example,
                s_got(node, got, sizeof(got)));
        return NULL;
    }
    char *copy = policy_arena_strndup(p->arena, node->value, node->length);
    if (!copy) {
        s_oom(p);
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
    if (x->node->line != y->node->line)
        return x->node->line < y->node->line ? -1 : 1;
    return x->node->column - y->node->column;
}

/* A list of strings of one kind: validated, sorted, each listed once. */
static void s_text_list(parser_t *p, const policy_node_t *node, const char *key,
                        text_kind_t kind, size_t max_items, const char ***out,
                        size_t *count, policy_pos_t **positions)
{
    if (!s_sequence(p, node, key))
        return;
    if (node->count > max_items) {
        s_error(p, node, "%s: more than %zu entries", key, max_items);
        return;
    }
    located_t *items = s_calloc(p, node->count, sizeof(*items));
    const char **texts = s_calloc(p, node->count, sizeof(*texts));
    policy_pos_t *pos = s_calloc(p, node->count, sizeof(*pos));
    if (!items || !texts || !pos)
        return;
    size_t n = 0;
    for (size_t i = 0; i < node->count; i++) {
        const char *text = s_text(p, node->items[i], key, kind);
        if (text)
            items[n++] = (located_t){.text = text, .node = node->items[i]};
    }
    qsort(items, n, sizeof(*items), s_located_compare);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(texts[kept - 1], items[i].text) == 0) {
            s_error(p, items[i].node, "%s: '%s' is listed twice", key,
                    items[i].text);
            continue;
        }
        pos[kept] = s_pos(items[i].node);
        texts[kept++] = items[i].text;
    }
    *out = texts;
    *count = kept;
    if (positions)
        *positions = pos;
}

/* ---- networks ---------------------------------------------------------- */

static const char *const s_network_keys[] = {
    "name",        "vlan",        "qos",   "vlan_protocol",
    "trunk",       "spoof_check", "trust", "link_state",
    "min_tx_rate", "max_tx_rate", "mtu",   "guest_mtu_change"};
static const char *const s_vlan_protocols[] = {"802.1Q", "802.1ad"};
static const char *const s_link_states[] = {"auto", "enable", "disable"};
static const char *const s_allow_deny[] = {"deny", "allow"};

static void s_network(parser_t *p, const policy_node_t *node,
                      policy_network_t *net)
{
    net->pos = s_pos(node);
    net->spoof_check = true;
    net->mtu = POLICY_MTU_DEFAULT;
    if (!s_mapping(p, node, "network", s_network_keys,
                   sizeof(s_network_keys) / sizeof(*s_network_keys)))
        return;
    const policy_node_t *v;
    uint64_t n;
    int e;
    if ((v = s_require(p, node, "network", "name")))
        net->name = s_text(p, v, "name", TEXT_NAME);
    const policy_node_t *vlan = s_get(node, "vlan");
    if (vlan && s_uint(p, vlan, "vlan", 1, POLICY_VLAN_MAX, &n))
        net->vlan = (uint16_t)n;
    if ((v = s_get(node, "trunk")))
        s_bool(p, v, "trunk", &net->trunk);
    if ((v = s_get(node, "qos")) && s_uint(p, v, "qos", 0, POLICY_QOS_MAX, &n))
        net->qos = (uint8_t)n;
    if ((v = s_get(node, "vlan_protocol")) &&
        s_enum(p, v, "vlan_protocol", s_vlan_protocols, 2, &e))
        net->vlan_protocol = (policy_vlan_proto_t)e;
    if ((v = s_get(node, "spoof_check")))
        s_bool(p, v, "spoof_check", &net->spoof_check);
    if ((v = s_get(node, "trust")))
        s_bool(p, v, "trust", &net->trust);
    if ((v = s_get(node, "link_state")) &&
        s_enum(p, v, "link_state", s_link_states, 3, &e))
        net->link_state = (policy_link_state_t)e;
    const policy_node_t *min = s_get(node, "min_tx_rate");
    if (min && s_uint(p, min, "min_tx_rate", 0, POLICY_TX_RATE_MAX, &n))
        net->min_tx_rate = (uint32_t)n;
    if ((v = s_get(node, "max_tx_rate")) &&
        s_uint(p, v, "max_tx_rate", 0, POLICY_TX_RATE_MAX, &n))
        net->max_tx_rate = (uint32_t)n;
    if ((v = s_get(node, "mtu")) &&
        s_uint(p, v, "mtu", POLICY_MTU_MIN, POLICY_MTU_MAX, &n))
        net->mtu = (uint16_t)n;
    if ((v = s_get(node, "guest_mtu_change")) &&
        s_enum(p, v, "guest_mtu_change", s_allow_deny, 2, &e))
        net->guest_mtu_change = e == 1;

    if (net->trunk && vlan)
        s_error(p, vlan,
                "vlan: a trunk network has no VF vlan (the guest tags); "
                "drop vlan or trunk");
    if (!vlan) {
        const char *mode = net->trunk ? "trunk" : "untagged";
        if ((v = s_get(node, "qos")))
            s_error(p, v, "qos: needs a vlan (the network is %s)", mode);
        if ((v = s_get(node, "vlan_protocol")))
            s_error(p, v, "vlan_protocol: needs a vlan (the network is %s)",
                    mode);
    }
    if (min && net->max_tx_rate != 0 && net->min_tx_rate > net->max_tx_rate)
        s_error(p, min, "min_tx_rate %u is above max_tx_rate %u",
                net->min_tx_rate, net->max_tx_rate);
}

static int s_network_compare(const void *a, const void *b)
{
    const policy_network_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->pos.line != y->pos.line ? x->pos.line - y->pos.line
                                      : x->pos.column - y->pos.column;
}

static void s_networks(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!s_sequence(p, node, "networks"))
        return;
    policy->networks = s_calloc(p, node->count, sizeof(*policy->networks));
    if (!policy->networks)
        return;
    for (size_t i = 0; i < node->count; i++) {
        policy_network_t net = {0};
        s_network(p, node->items[i], &net);
        if (net.name)
            policy->networks[policy->network_count++] = net;
    }
    qsort(policy->networks, policy->network_count, sizeof(policy_network_t),
          s_network_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->network_count; i++) {
        policy_network_t *net = &policy->networks[i];
        if (kept > 0 && strcmp(policy->networks[kept - 1].name, net->name) == 0)
            s_error_at(p, net->pos, "duplicate network '%s' (first at %d:%d)",
                       net->name, policy->networks[kept - 1].pos.line,
                       policy->networks[kept - 1].pos.column);
        else
            policy->networks[kept++] = *net;
    }
    policy->network_count = kept;
}

/* ---- MAC pools and fixed MACs ----------------------------------------- */

static const char *const s_pool_keys[] = {"name", "prefixes", "vendor_oui"};

static void s_mac_prefix(parser_t *p, const policy_node_t *node,
                         bool vendor_oui, policy_mac_prefix_t *prefix)
{
    char got[128], mac[32];
    size_t length = s_mac_parse(node, prefix->octets);
    prefix->pos = s_pos(node);
    if (length < 3 || length > 5) {
        s_error(p, node,
                "prefixes: expected 3 to 5 hex octets like 02:00:00, got %s",
                s_got(node, got, sizeof(got)));
        return;
    }
    prefix->length = (uint8_t)length;
    policy_mac_format(prefix->octets, length, mac, sizeof(mac));
    if (prefix->octets[0] & 0x01)
        s_error(p, node, "prefixes: %s is a multicast prefix", mac);
    else if (!(prefix->octets[0] & 0x02) && !vendor_oui)
        s_error(p, node,
                "prefixes: %s is not locally administered (set vendor_oui: "
                "true to use a vendor OUI)",
                mac);
}

static int s_prefix_compare(const void *a, const void *b)
{
    const policy_mac_prefix_t *x = a, *y = b;
    size_t common = x->length < y->length ? x->length : y->length;
    int c = memcmp(x->octets, y->octets, common);
    if (c != 0)
        return c;
    return (int)x->length - (int)y->length;
}

static void s_mac_pool(parser_t *p, const policy_node_t *node,
                       policy_mac_pool_t *pool)
{
    pool->pos = s_pos(node);
    if (!s_mapping(p, node, "mac pool", s_pool_keys, 3))
        return;
    const policy_node_t *v;
    if ((v = s_require(p, node, "mac pool", "name")))
        pool->name = s_text(p, v, "name", TEXT_NAME);
    if ((v = s_get(node, "vendor_oui")))
        s_bool(p, v, "vendor_oui", &pool->vendor_oui);
    const policy_node_t *list = s_require(p, node, "mac pool", "prefixes");
    if (!list || !s_sequence(p, list, "prefixes"))
        return;
    if (list->count == 0) {
        s_error(p, list, "prefixes: a pool needs at least one prefix");
        return;
    }
    pool->prefixes = s_calloc(p, list->count, sizeof(*pool->prefixes));
    if (!pool->prefixes)
        return;
    for (size_t i = 0; i < list->count; i++) {
        policy_mac_prefix_t *prefix = &pool->prefixes[pool->prefix_count];
        s_mac_prefix(p, list->items[i], pool->vendor_oui, prefix);
        if (prefix->length)
            pool->prefix_count++;
    }
    qsort(pool->prefixes, pool->prefix_count, sizeof(*pool->prefixes),
          s_prefix_compare);
}

static int s_pool_compare(const void *a, const void *b)
{
    const policy_mac_pool_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->pos.line != y->pos.line ? x->pos.line - y->pos.line
                                      : x->pos.column - y->pos.column;
}

static void s_mac_pools(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!s_sequence(p, node, "mac_pools"))
        return;
    policy->mac_pools = s_calloc(p, node->count, sizeof(*policy->mac_pools));
    if (!policy->mac_pools)
        return;
    for (size_t i = 0; i < node->count; i++) {
        policy_mac_pool_t pool = {0};
        s_mac_pool(p, node->items[i], &pool);
        if (pool.name)
            policy->mac_pools[policy->mac_pool_count++] = pool;
    }
    qsort(policy->mac_pools, policy->mac_pool_count, sizeof(policy_mac_pool_t),
          s_pool_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->mac_pool_count; i++) {
        policy_mac_pool_t *pool = &policy->mac_pools[i];
        if (kept > 0 &&
            strcmp(policy->mac_pools[kept - 1].name, pool->name) == 0)
            s_error_at(p, pool->pos, "duplicate mac pool '%s' (first at %d:%d)",
                       pool->name, policy->mac_pools[kept - 1].pos.line,
                       policy->mac_pools[kept - 1].pos.column);
        else
            policy->mac_pools[kept++] = *pool;
    }
    policy->mac_pool_count = kept;
}

static int s_fixed_mac_compare(const void *a, const void *b)
{
    const policy_mac_t *x = a, *y = b;
    int c = memcmp(x->octets, y->octets, 6);
    if (c != 0)
        return c;
    return x->pos.line != y->pos.line ? x->pos.line - y->pos.line
                                      : x->pos.column - y->pos.column;
}

static void s_fixed_macs(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    char got[128], mac[32];
    if (!s_sequence(p, node, "fixed_macs"))
        return;
    policy->fixed_macs = s_calloc(p, node->count, sizeof(*policy->fixed_macs));
    if (!policy->fixed_macs)
        return;
    for (size_t i = 0; i < node->count; i++) {
        const policy_node_t *item = node->items[i];
        policy_mac_t *fixed = &policy->fixed_macs[policy->fixed_mac_count];
        fixed->pos = s_pos(item);
        if (s_mac_parse(item, fixed->octets) != 6) {
            s_error(p, item,
                    "fixed_macs: expected a MAC like 02:00:00:00:00:01, got "
                    "%s",
                    s_got(item, got, sizeof(got)));
            continue;
        }
        policy_mac_format(fixed->octets, 6, mac, sizeof(mac));
        static const uint8_t zero[6] = {0};
        if (fixed->octets[0] & 0x01)
            s_error(p, item, "fixed_macs: %s is a multicast address", mac);
        else if (memcmp(fixed->octets, zero, 6) == 0)
            s_error(p, item, "fixed_macs: %s is not a usable address", mac);
        else
            policy->fixed_mac_count++;
    }
    qsort(policy->fixed_macs, policy->fixed_mac_count, sizeof(policy_mac_t),
          s_fixed_mac_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->fixed_mac_count; i++) {
        policy_mac_t *fixed = &policy->fixed_macs[i];
        if (kept > 0 && memcmp(policy->fixed_macs[kept - 1].octets,
                               fixed->octets, 6) == 0) {
            policy_mac_format(fixed->octets, 6, mac, sizeof(mac));
            s_error_at(p, fixed->pos,
                       "fixed_macs: %s is listed twice (first at %d:%d)", mac,
                       policy->fixed_macs[kept - 1].pos.line,
                       policy->fixed_macs[kept - 1].pos.column);
        } else {
            policy->fixed_macs[kept++] = *fixed;
        }
    }
    policy->fixed_mac_count = kept;
}

/* A prefix or fixed MAC in the one sorted sweep that finds overlaps. */
typedef struct {
    policy_mac_prefix_t mac;
    const policy_mac_pool_t *pool; /* NULL for a fixed MAC */
} mac_entry_t;

static int s_mac_entry_compare(const void *a, const void *b)
{
    const mac_entry_t *x = a, *y = b;
    int c = s_prefix_compare(&x->mac, &y->mac);
    if (c != 0)
        return c;
    return x->mac.pos.line != y->mac.pos.line
               ? x->mac.pos.line - y->mac.pos.line
               : x->mac.pos.column - y->mac.pos.column;
}

static bool s_contains(const policy_mac_prefix_t *outer,
                       const policy_mac_prefix_t *inner)
{
    return outer->length <= inner->length &&
           memcmp(outer->octets, inner->octets, outer->length) == 0;
}

/* Sorted, a prefix comes right before everything it contains, so one pass
 * with a stack of enclosing prefixes finds every overlap. */
static void s_check_mac_overlaps(parser_t *p)
{
    policy_t *policy = p->policy;
    size_t total = policy->fixed_mac_count;
    for (size_t i = 0; i < policy->mac_pool_count; i++)
        total += policy->mac_pools[i].prefix_count;
    if (total == 0)
        return;
    mac_entry_t *entries = s_calloc(p, total, sizeof(*entries));
    const mac_entry_t **stack = s_calloc(p, total, sizeof(*stack));
    if (!entries || !stack)
        return;
    size_t n = 0;
    for (size_t i = 0; i < policy->mac_pool_count; i++)
        for (size_t j = 0; j < policy->mac_pools[i].prefix_count; j++)
            entries[n++] =
                (mac_entry_t){.mac = policy->mac_pools[i].prefixes[j],
                              .pool = &policy->mac_pools[i]};
    for (size_t i = 0; i < policy->fixed_mac_count; i++) {
        mac_entry_t entry = {.pool = NULL};
        memcpy(entry.mac.octets, policy->fixed_macs[i].octets, 6);
        entry.mac.length = 6;
        entry.mac.pos = policy->fixed_macs[i].pos;
        entries[n++] = entry;
    }
    qsort(entries, n, sizeof(*entries), s_mac_entry_compare);
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        const mac_entry_t *entry = &entries[i];
        while (depth > 0 && !s_contains(&stack[depth - 1]->mac, &entry->mac))
            depth--;
        if (depth > 0) {
            const mac_entry_t *outer = stack[depth - 1];
            char a[32], b[32];
            policy_mac_format(entry->mac.octets, entry->mac.length, a,
                              sizeof(a));
            policy_mac_format(outer->mac.octets, outer->mac.length, b,
                              sizeof(b));
            /* Duplicate fixed MACs are already reported. */
            if (!entry->pool && outer->pool)
                s_error_at(p, entry->mac.pos,
                           "fixed mac %s lies in prefix %s of mac pool '%s' "
                           "(%d:%d)",
                           a, b, outer->pool->name, outer->mac.pos.line,
                           outer->mac.pos.column);
            else if (entry->pool)
                s_error_at(p, entry->mac.pos,
                           "prefix %s of mac pool '%s' overlaps prefix %s of "
                           "mac pool '%s' (%d:%d)",
                           a, entry->pool->name, b, outer->pool->name,
                           outer->mac.pos.line, outer->mac.pos.column);
            continue;
        }
        stack[depth++] = entry;
    }
}

/* ---- host groups ------------------------------------------------------- */

static const char *const s_group_keys[] = {"name", "hosts", "labels", "pfs"};
static const char *const s_pf_keys[] = {"ifname", "pci_address", "driver",
                                        "device", "vfs",         "networks"};

static int s_label_compare(const void *a, const void *b)
{
    return strcmp(((const policy_label_t *)a)->key,
                  ((const policy_label_t *)b)->key);
}

static void s_labels(parser_t *p, const policy_node_t *node,
                     policy_host_group_t *group)
{
    char got[128];
    if (node->kind != POLICY_NODE_MAPPING) {
        s_error(p, node, "labels: expected a mapping, got %s",
                s_got(node, got, sizeof(got)));
        return;
    }
    size_t pairs = node->count / 2;
    if (pairs > MAX_GROUP_ITEMS) {
        s_error(p, node, "labels: more than %d entries", MAX_GROUP_ITEMS);
        return;
    }
    group->labels = s_calloc(p, pairs, sizeof(*group->labels));
    located_t *keys = s_calloc(p, pairs, sizeof(*keys));
    if (!group->labels || !keys)
        return;
    size_t n = 0;
    for (size_t i = 0; i < pairs; i++) {
        const char *key = s_text(p, node->items[2 * i], "labels", TEXT_LABEL);
        const char *value =
            s_text(p, node->items[2 * i + 1], "labels", TEXT_VALUE);
        if (key && value) {
            keys[n] = (located_t){.text = key, .node = node->items[2 * i]};
            group->labels[n++] = (policy_label_t){.key = key, .value = value};
        }
    }
    qsort(keys, n, sizeof(*keys), s_located_compare);
    for (size_t i = 1; i < n; i++)
        if (strcmp(keys[i - 1].text, keys[i].text) == 0)
            s_error(p, keys[i].node, "labels: duplicate key '%s'",
                    keys[i].text);
    qsort(group->labels, n, sizeof(*group->labels), s_label_compare);
    group->label_count = n;
}

static void s_pf(parser_t *p, const policy_node_t *node, policy_pf_t *pf)
{
    pf->pos = s_pos(node);
    if (!s_mapping(p, node, "pf", s_pf_keys, 6))
        return;
    const policy_node_t *v;
    uint64_t n;
    if ((v = s_get(node, "ifname")))
        pf->ifname = s_text(p, v, "ifname", TEXT_GLOB);
    if ((v = s_get(node, "pci_address")))
        pf->pci_address = s_hex_id(p, v, "pci_address", "hhhh:hh:hh.f",
                                   "0000:3b:00.0 (domain:bus:device.function)");
    if ((v = s_get(node, "driver")))
        pf->driver = s_text(p, v, "driver", TEXT_DRIVER);
    if ((v = s_get(node, "device")))
        pf->device =
            s_hex_id(p, v, "device", "hhhh:hhhh", "8086:1521 (vendor:device)");
    if (!s_get(node, "ifname") && !s_get(node, "pci_address") &&
        !s_get(node, "driver") && !s_get(node, "device"))
        s_error(p, node,
                "pf: needs at least one of ifname, pci_address, driver, "
                "device");
    if ((v = s_require(p, node, "pf", "vfs")) &&
        s_uint(p, v, "vfs", 0, POLICY_VFS_MAX, &n))
        pf->vfs = (uint32_t)n;
    if ((v = s_get(node, "networks")))
        s_text_list(p, v, "networks", TEXT_NAME, MAX_GROUP_ITEMS, &pf->networks,
                    &pf->network_count, &pf->network_pos);
}

static void s_host_group(parser_t *p, const policy_node_t *node,
                         policy_host_group_t *group)
{
    group->pos = s_pos(node);
    if (!s_mapping(p, node, "host group", s_group_keys, 4))
        return;
    const policy_node_t *v;
    if ((v = s_require(p, node, "host group", "name")))
        group->name = s_text(p, v, "name", TEXT_NAME);
    const policy_node_t *hosts = s_get(node, "hosts");
    const policy_node_t *labels = s_get(node, "labels");
    if (hosts)
        s_text_list(p, hosts, "hosts", TEXT_GLOB, MAX_GROUP_ITEMS,
                    &group->hosts, &group->host_count, NULL);
    if (labels)
        s_labels(p, labels, group);
    /* Judged on the text, so that invalid entries (or a value of the wrong
     * type) are not also reported as missing ones. */
    bool no_hosts =
        !hosts || (hosts->kind == POLICY_NODE_SEQUENCE && hosts->count == 0);
    bool no_labels =
        !labels || (labels->kind == POLICY_NODE_MAPPING && labels->count == 0);
    if (no_hosts && no_labels)
        s_error(p, node,
                "host group: selects no hosts (give hosts, labels or both)");
    const policy_node_t *pfs = s_require(p, node, "host group", "pfs");
    if (!pfs || !s_sequence(p, pfs, "pfs"))
        return;
    if (pfs->count > MAX_GROUP_ITEMS) {
        s_error(p, pfs, "pfs: more than %d entries", MAX_GROUP_ITEMS);
        return;
    }
    group->pfs = s_calloc(p, pfs->count, sizeof(*group->pfs));
    if (!group->pfs)
        return;
    for (size_t i = 0; i < pfs->count; i++)
        s_pf(p, pfs->items[i], &group->pfs[group->pf_count++]);
}

static int s_group_compare(const void *a, const void *b)
{
    const policy_host_group_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->pos.line != y->pos.line ? x->pos.line - y->pos.line
                                      : x->pos.column - y->pos.column;
}

static void s_host_groups(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!s_sequence(p, node, "host_groups"))
        return;
    if (node->count > MAX_HOST_GROUPS) {
        s_error(p, node, "host_groups: more than %d entries", MAX_HOST_GROUPS);
        return;
    }
    policy->host_groups =
        s_calloc(p, node->count, sizeof(*policy->host_groups));
    if (!policy->host_groups)
        return;
    for (size_t i = 0; i < node->count; i++) {
        policy_host_group_t group = {0};
        s_host_group(p, node->items[i], &group);
        if (group.name)
            policy->host_groups[policy->host_group_count++] = group;
    }
    size_t globs = 0;
    for (size_t i = 0; i < policy->host_group_count; i++)
        globs += policy->host_groups[i].host_count;
    /* Conflict checks compare globs pairwise: bound their number. */
    if (globs > MAX_HOST_GLOBS)
        s_error(p, node, "host_groups: more than %d host globs in all",
                MAX_HOST_GLOBS);
    qsort(policy->host_groups, policy->host_group_count,
          sizeof(policy_host_group_t), s_group_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->host_group_count; i++) {
        policy_host_group_t *group = &policy->host_groups[i];
        if (kept > 0 &&
            strcmp(policy->host_groups[kept - 1].name, group->name) == 0)
            s_error_at(p, group->pos,
                       "duplicate host group '%s' (first at %d:%d)",
                       group->name, policy->host_groups[kept - 1].pos.line,
                       policy->host_groups[kept - 1].pos.column);
        else
            policy->host_groups[kept++] = *group;
    }
    policy->host_group_count = kept;
}

static bool s_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool s_same_selector(const policy_pf_t *a, const policy_pf_t *b)
{
    return s_same(a->ifname, b->ifname) &&
           s_same(a->pci_address, b->pci_address) &&
           s_same(a->driver, b->driver) && s_same(a->device, b->device);
}

/* Whether some string matches both globs ('*' any run, '?' one
 * character). State (i, j) means a common prefix has been matched up to
 * a[i] and b[j]; every move goes to a later state in row-major order, so
 * one pass over the table decides it in O(len(a) * len(b)). */
static bool s_globs_meet(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool reach[GLOB_MAX_LEN + 2][GLOB_MAX_LEN + 2];
    memset(reach, 0, sizeof(reach));
    reach[0][0] = true;
    for (size_t i = 0; i <= la; i++) {
        for (size_t j = 0; j <= lb; j++) {
            if (!reach[i][j])
                continue;
            bool star_a = i < la && a[i] == '*';
            bool star_b = j < lb && b[j] == '*';
            /* A star may also match nothing. */
            if (star_a)
                reach[i + 1][j] = true;
            if (star_b)
                reach[i][j + 1] = true;
            /* Or both take one common character. */
            if (i < la && j < lb &&
                (star_a || star_b || a[i] == '?' || b[j] == '?' ||
                 a[i] == b[j]))
                reach[star_a ? i : i + 1][star_b ? j : j + 1] = true;
        }
    }
    return reach[la][lb];
}

/* Whether one host could belong to both groups, judging from the policy
 * text alone: some pair of name globs meets, and no label has two
 * different required values. */
static bool s_groups_may_share_host(const policy_host_group_t *a,
                                    const policy_host_group_t *b)
{
    if (a->host_count > 0 && b->host_count > 0) {
        bool meet = false;
        for (size_t i = 0; i < a->host_count && !meet; i++)
            for (size_t j = 0; j < b->host_count && !meet; j++)
                meet = s_globs_meet(a->hosts[i], b->hosts[j]);
        if (!meet)
            return false;
    }
    size_t i = 0, j = 0;
    while (i < a->label_count && j < b->label_count) {
        int c = strcmp(a->labels[i].key, b->labels[j].key);
        if (c == 0 && strcmp(a->labels[i].value, b->labels[j].value) != 0)
            return false;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    return true;
}

/* A PF entry with its group, in the sorted list that brings equal
 * selectors together. */
typedef struct {
    const char *selector;
    size_t group;
    const policy_pf_t *pf;
} pf_entry_t;

static int s_pf_entry_compare(const void *a, const void *b)
{
    const pf_entry_t *x = a, *y = b;
    int c = strcmp(x->selector, y->selector);
    if (c != 0)
        return c;
    if (x->pf->pos.line != y->pf->pos.line)
        return x->pf->pos.line < y->pf->pos.line ? -1 : 1;
    return x->pf->pos.column - y->pf->pos.column;
}

/* Groups that could give the same PF of the same host different VF
 * counts. Sorting by selector keeps the work near linear, and whether two
 * groups may share a host is computed once per pair of groups. */
static void s_check_vf_counts(parser_t *p)
{
    policy_t *policy = p->policy;
    size_t groups = policy->host_group_count, total = 0;
    for (size_t g = 0; g < groups; g++)
        total += policy->host_groups[g].pf_count;
    if (total < 2)
        return;
    pf_entry_t *entries = s_calloc(p, total, sizeof(*entries));
    /* 0 = not computed yet, 1 = may share a host, 2 = cannot. */
    uint8_t *share = s_calloc(p, groups * groups, 1);
    if (!entries || !share)
        return;
    size_t n = 0;
    char selector[512];
    for (size_t g = 0; g < groups; g++)
        for (size_t i = 0; i < policy->host_groups[g].pf_count; i++) {
            const policy_pf_t *pf = &policy->host_groups[g].pfs[i];
            policy_pf_selector(pf, selector, sizeof(selector));
            const char *copy =
                policy_arena_strndup(p->arena, selector, strlen(selector));
            if (!copy) {
                s_oom(p);
                return;
            }
            entries[n++] = (pf_entry_t){.selector = copy, .group = g, .pf = pf};
        }
    qsort(entries, n, sizeof(*entries), s_pf_entry_compare);
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n &&
               strcmp(entries[end].selector, entries[start].selector) == 0)
            end++;
        /* In file order: each entry is checked against the earlier ones. */
        for (size_t j = start + 1; j < end; j++) {
            const pf_entry_t *later = &entries[j];
            for (size_t i = start; i < j; i++) {
                const pf_entry_t *first = &entries[i];
                if (first->group == later->group ||
                    first->pf->vfs == later->pf->vfs)
                    continue;
                uint8_t *known = &share[first->group * groups + later->group];
                if (*known == 0)
                    *known = s_groups_may_share_host(
                                 &policy->host_groups[first->group],
                                 &policy->host_groups[later->group])
                                 ? 1
                                 : 2;
                if (*known != 1)
                    continue;
                s_error_at(
                    p, later->pf->pos,
                    "host group '%s' gives pf %s %u VFs but host "
                    "group '%s' gives it %u (%d:%d) and both may "
                    "select the same host",
                    policy->host_groups[later->group].name, later->selector,
                    later->pf->vfs, policy->host_groups[first->group].name,
                    first->pf->vfs, first->pf->pos.line, first->pf->pos.column);
                break;
            }
        }
        start = end;
    }
}

/* Network references, repeated selectors within a group, and groups that
 * could give the same PF of the same host different VF counts. */
static void s_check_host_groups(parser_t *p)
{
    policy_t *policy = p->policy;
    const char **names = s_calloc(p, policy->network_count, sizeof(*names));
    if (!names)
        return;
    for (size_t i = 0; i < policy->network_count; i++)
        names[i] = policy->networks[i].name;
    char selector[512];
    for (size_t g = 0; g < policy->host_group_count; g++) {
        const policy_host_group_t *group = &policy->host_groups[g];
        for (size_t i = 0; i < group->pf_count; i++) {
            const policy_pf_t *pf = &group->pfs[i];
            policy_pf_selector(pf, selector, sizeof(selector));
            for (size_t k = 0; k < pf->network_count; k++) {
                if (policy_network_find(policy, pf->networks[k]))
                    continue;
                const char *hint = policy_suggest(pf->networks[k], names,
                                                  policy->network_count);
                if (hint)
                    s_error_at(p, pf->network_pos[k],
                               "pf %s carries undefined network '%s' (did "
                               "you mean '%s'?)",
                               selector, pf->networks[k], hint);
                else
                    s_error_at(p, pf->network_pos[k],
                               "pf %s carries undefined network '%s'", selector,
                               pf->networks[k]);
            }
            for (size_t j = 0; j < i; j++)
                if (selector[0] && s_same_selector(&group->pfs[j], pf))
                    s_error_at(p, pf->pos,
                               "pf %s is listed twice in host group '%s' "
                               "(first at %d:%d)",
                               selector, group->name, group->pfs[j].pos.line,
                               group->pfs[j].pos.column);
        }
    }
    s_check_vf_counts(p);
}

/* ---- memory and placement --------------------------------------------- */

static const char *const s_memory_keys[] = {"full_reservation", "hugepages",
                                            "hypervisor_reserve"};
static const char *const s_hugepages[] = {"none", "2M", "1G"};
static const char *const s_placement_keys[] = {"strategy",
                                               "anti_affinity_groups"};
static const char *const s_strategies[] = {"spread", "pack"};
static const char *const s_anti_affinity_keys[] = {"name", "vms"};

static void s_size(parser_t *p, const policy_node_t *node, const char *key,
                   uint64_t *mib)
{
    char got[128];
    bool ok = node->kind == POLICY_NODE_SCALAR && node->length >= 2 &&
              node->length <= 10;
    for (size_t i = 0; ok && i + 1 < node->length; i++)
        ok = node->value[i] >= '0' && node->value[i] <= '9';
    char unit = ok ? node->value[node->length - 1] : 0;
    if (!ok || !strchr("MGT", unit) || unit == '\0') {
        s_error(p, node, "%s: expected a size like 512M, 4G or 1T, got %s", key,
                s_got(node, got, sizeof(got)));
        return;
    }
    uint64_t value = strtoull(node->value, NULL, 10);
    uint64_t scale = unit == 'M' ? 1 : unit == 'G' ? 1024 : 1024 * 1024;
    if (value > POLICY_RESERVE_MAX_MIB / scale) {
        s_error(p, node, "%s: %s is more than 16T", key,
                s_got(node, got, sizeof(got)));
        return;
    }
    *mib = value * scale;
}

static void s_memory(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!s_mapping(p, node, "memory", s_memory_keys, 3))
        return;
    const policy_node_t *v;
    int e;
    bool full = true;
    if ((v = s_get(node, "full_reservation")) &&
        s_bool(p, v, "full_reservation", &full) && !full)
        s_error(p, v,
                "full_reservation: cannot be false: a VM with a passthrough "
                "VF needs all its memory reserved");
    if ((v = s_get(node, "hugepages")) &&
        s_enum(p, v, "hugepages", s_hugepages, 3, &e))
        policy->hugepages = (policy_hugepages_t)e;
    if ((v = s_get(node, "hypervisor_reserve")))
        s_size(p, v, "hypervisor_reserve", &policy->hypervisor_reserve_mib);
}

static int s_anti_affinity_compare(const void *a, const void *b)
{
    const policy_anti_affinity_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->pos.line != y->pos.line ? x->pos.line - y->pos.line
                                      : x->pos.column - y->pos.column;
}

static void s_anti_affinity(parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!s_sequence(p, node, "anti_affinity_groups"))
        return;
    policy->anti_affinity =
        s_calloc(p, node->count, sizeof(*policy->anti_affinity));
    if (!policy->anti_affinity)
        return;
    for (size_t i = 0; i < node->count; i++) {
        const policy_node_t *item = node->items[i];
        policy_anti_affinity_t group = {.pos = s_pos(item)};
        if (!s_mapping(p, item, "anti-affinity group", s_anti_affinity_keys, 2))
            continue;
        const policy_node_t *v;
        if ((v = s_require(p, item, "anti-affinity group", "name")))
            group.name = s_text(p, v, "name", TEXT_NAME);
        if ((v = s_get(item, "vms")))
            s_text_list(p, v, "vms", TEXT_GLOB, MAX_GROUP_ITEMS, &group.vms,
                        &group.vm_count, NULL);
        if (group.name)
            policy->anti_affinity[policy->anti_affinity_count++] = group;
    }
    qsort(policy->anti_affinity, policy->anti_affinity_count,
          sizeof(policy_anti_affinity_t), s_anti_affinity_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->anti_affinity_count; i++) {
        policy_anti_affinity_t *group = &policy->anti_affinity[i];
        if (kept > 0 &&
            strcmp(policy->anti_affinity[kept - 1].name, group->name) == 0)
            s_error_at(p, group->pos,
                       "duplicate anti-affinity group '%s' (first at %d:%d)",
                       group->name, policy->anti_affinity[kept - 1].pos.line,
                       policy->anti_affinity[kept - 1].pos.column);
        else
            policy->anti_affinity[kept++] = *group;
    }
    policy->anti_affinity_count = kept;
}

static void s_placement(parser_t *p, const policy_node_t *node)
{
    if (!s_mapping(p, node, "placement", s_placement_keys, 2))
        return;
    const policy_node_t *v;
    int e;
    if ((v = s_get(node, "strategy")) &&
        s_enum(p, v, "strategy", s_strategies, 2, &e))
        p->policy->strategy = (policy_strategy_t)e;
    if ((v = s_get(node, "anti_affinity_groups")))
        s_anti_affinity(p, v);
}

/* ---- the document ------------------------------------------------------ */

static const char *const s_top_keys[] = {
    "version",     "networks", "mac_pools", "fixed_macs",
    "host_groups", "memory",   "placement"};

static void s_document(parser_t *p, const policy_node_t *root)
{
    policy_t *policy = p->policy;
    if (!s_mapping(p, root, "policy", s_top_keys, 7))
        return;
    const policy_node_t *v;
    uint64_t n;
    if ((v = s_require(p, root, "policy", "version")) &&
        s_uint(p, v, "version", 0, UINT32_MAX, &n)) {
        if (n != POLICY_SCHEMA_VERSION)
            s_error(p, v,
                    "version: schema version %llu is not supported (this "
                    "vfleet reads version %d)",
                    (unsigned long long)n, POLICY_SCHEMA_VERSION);
        else
            policy->version = (uint32_t)n;
    }
    if ((v = s_get(root, "networks")))
        s_networks(p, v);
    if (!p->out_of_memory && (v = s_get(root, "mac_pools")))
        s_mac_pools(p, v);
    if (!p->out_of_memory && (v = s_get(root, "fixed_macs")))
        s_fixed_macs(p, v);
    if (!p->out_of_memory && (v = s_get(root, "host_groups")))
        s_host_groups(p, v);
    if (!p->out_of_memory && (v = s_get(root, "memory")))
        s_memory(p, v);
    if (!p->out_of_memory && (v = s_get(root, "placement")))
        s_placement(p, v);
    if (!p->out_of_memory)
        s_check_mac_overlaps(p);
    if (!p->out_of_memory)
        s_check_host_groups(p);
}

/* Starts a parse: errs keeps only what this parse reports. */
static void s_errors_reset(policy_errors_t *errs, const char *name)
{
    if (errs) {
        policy_errors_clear(errs);
        policy_errors_set_source(errs, name);
    }
}

static policy_t *s_parse(const char *text, size_t len, policy_errors_t *errs)
{
    if (len > POLICY_MAX_FILE_SIZE) {
        policy_errors_add(errs, 1, 1, "policy is larger than %d bytes",
                          POLICY_MAX_FILE_SIZE);
        return NULL;
    }
    parser_t p = {.errs = errs};
    policy_arena_t *tree_arena = policy_arena_new();
    p.arena = policy_arena_new();
    p.policy = p.arena ? policy_arena_alloc(p.arena, sizeof(policy_t)) : NULL;
    if (!tree_arena || !p.policy) {
        policy_errors_set_out_of_memory(errs);
        policy_arena_destroy(&tree_arena);
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    p.policy->full_reservation = true;
    p.policy->hypervisor_reserve_mib = POLICY_RESERVE_DEFAULT_MIB;
    bool ok;
    const policy_node_t *root =
        policy_yaml_load(tree_arena, text, len, errs, &ok);
    if (!ok) {
        p.failed = true;
    } else if (!root) {
        policy_errors_add(errs, 1, 1,
                          "policy is empty: expected a mapping with at least "
                          "'version'");
        p.failed = true;
    } else {
        s_document(&p, root);
    }
    policy_arena_destroy(&tree_arena);
    policy_errors_sort(errs);
    /* A failed allocation anywhere, even one that only lost an error
     * message, fails the parse: no half-built model escapes. */
    if (p.failed || (errs && policy_errors_out_of_memory(errs))) {
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    p.policy->arena = p.arena;
    return p.policy;
}

policy_t *policy_parse_buffer(const char *name, const char *text, size_t len,
                              policy_errors_t *errs)
{
    s_errors_reset(errs, name);
    return s_parse(text, len, errs);
}

policy_t *policy_parse_file(const char *path, policy_errors_t *errs)
{
    s_errors_reset(errs, path);
    FILE *file = fopen(path, "rb");
    if (!file) {
        policy_errors_add(errs, 1, 1, "cannot open: %s", strerror(errno));
        return NULL;
    }
    /* Read one byte past the limit to tell "at the limit" from "over". */
    char *text = policy_malloc(POLICY_MAX_FILE_SIZE + 1);
    if (!text) {
        fclose(file);
        policy_errors_set_out_of_memory(errs);
        return NULL;
    }
    size_t len = fread(text, 1, POLICY_MAX_FILE_SIZE + 1, file);
    bool read_error = ferror(file);
    fclose(file);
    policy_t *policy = NULL;
    if (read_error)
        policy_errors_add(errs, 1, 1, "cannot read: %s", strerror(errno));
    else
        policy = s_parse(text, len, errs);
    policy_free(text);
    return policy;
}

void policy_destroy(policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_arena_t *arena = (*self_p)->arena;
    policy_arena_destroy(&arena);
    *self_p = NULL;
}
