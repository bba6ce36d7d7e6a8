/* policy_check.c - the policy rules that span several items: names given
 * twice, fixed MACs given twice or inside a pool's prefix, overlapping
 * prefixes, networks a PF names but nobody defines, PF selectors repeated
 * in a group, host groups that would give one PF two VF counts, and a
 * normal form that would be over the parser's own limits. */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names given twice ------------------------------------------------- */

static const char *s_item_name(const void *item,
                               const policy_named_list_t *layout)
{
    const char *name;
    memcpy(&name, (const char *)item + layout->name_offset, sizeof(name));
    return name;
}

static policy_pos_t s_item_pos(const void *item,
                               const policy_named_list_t *layout)
{
    policy_pos_t pos;
    memcpy(&pos, (const char *)item + layout->pos_offset, sizeof(pos));
    return pos;
}

static int s_compare_positions(policy_pos_t a, policy_pos_t b)
{
    if (a.line != b.line)
        return a.line < b.line ? -1 : 1;
    return a.column - b.column;
}

/* By name, then by position, so the first of a name is the one kept. */
static int s_named_compare(const void *a, const void *b, void *arg)
{
    const policy_named_list_t *layout = arg;
    int c = strcmp(s_item_name(a, layout), s_item_name(b, layout));
    if (c != 0)
        return c;
    return s_compare_positions(s_item_pos(a, layout), s_item_pos(b, layout));
}

void policy_check_unique_names(policy_parser_t *p, void *items, size_t *count,
                               const policy_named_list_t *layout)
{
    if (*count == 0)
        return;
    char *base = items;
    size_t size = layout->item_size;
    qsort_r(items, *count, size, s_named_compare, (void *)layout);
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        const char *item = base + i * size;
        const char *first = kept > 0 ? base + (kept - 1) * size : NULL;
        const char *name = s_item_name(item, layout);
        if (first && strcmp(s_item_name(first, layout), name) == 0) {
            policy_pos_t at = s_item_pos(first, layout);
            policy_parser_error_at(p, s_item_pos(item, layout),
                                   "duplicate %s '%s' (first at %d:%d)",
                                   layout->what, name, at.line, at.column);
            continue;
        }
        if (kept != i)
            memcpy(base + kept * size, item, size);
        kept++;
    }
    *count = kept;
    policy_check_case_conflicts(p, items, kept, layout);
}

/* By name ignoring case, then by position. */
static int s_casefold_compare(const void *a, const void *b, void *arg)
{
    const policy_named_list_t *layout = arg;
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    int c = strcasecmp(s_item_name(x, layout), s_item_name(y, layout));
    if (c != 0)
        return c;
    return s_compare_positions(s_item_pos(x, layout), s_item_pos(y, layout));
}

void policy_check_case_conflicts(policy_parser_t *p, const void *items,
                                 size_t count,
                                 const policy_named_list_t *layout)
{
    if (count < 2)
        return;
    const void **order = policy_parser_calloc(p, count, sizeof(*order));
    if (!order)
        return;
    for (size_t i = 0; i < count; i++)
        order[i] = (const char *)items + i * layout->item_size;
    qsort_r(order, count, sizeof(*order), s_casefold_compare, (void *)layout);
    size_t first = 0;
    for (size_t i = 1; i < count; i++) {
        const char *name = s_item_name(order[i], layout);
        const char *first_name = s_item_name(order[first], layout);
        if (strcasecmp(first_name, name) != 0) {
            first = i;
            continue;
        }
        policy_pos_t at = s_item_pos(order[first], layout);
        policy_parser_error_at(
            p, s_item_pos(order[i], layout),
            "%s '%s' differs only by case from '%s' (first at %d:%d)",
            layout->what, name, first_name, at.line, at.column);
    }
}

static int s_fixed_mac_compare(const void *a, const void *b)
{
    const policy_mac_t *x = a, *y = b;
    int c = memcmp(x->octets, y->octets, 6);
    if (c != 0)
        return c;
    return s_compare_positions(x->pos, y->pos);
}

void policy_check_unique_fixed_macs(policy_parser_t *p)
{
    policy_t *policy = p->policy;
    char mac[32];
    qsort(policy->fixed_macs, policy->fixed_mac_count, sizeof(policy_mac_t),
          s_fixed_mac_compare);
    size_t kept = 0;
    for (size_t i = 0; i < policy->fixed_mac_count; i++) {
        policy_mac_t *fixed = &policy->fixed_macs[i];
        const policy_mac_t *first =
            kept > 0 ? &policy->fixed_macs[kept - 1] : NULL;
        if (first && memcmp(first->octets, fixed->octets, 6) == 0) {
            policy_mac_format(fixed->octets, 6, mac, sizeof(mac));
            policy_parser_error_at(
                p, fixed->pos,
                "fixed_macs: %s is listed twice (first at %d:%d)", mac,
                first->pos.line, first->pos.column);
        } else {
            policy->fixed_macs[kept++] = *fixed;
        }
    }
    policy->fixed_mac_count = kept;
}

/* ---- MAC overlaps ------------------------------------------------------ */

/* A prefix or fixed MAC in the one sorted sweep that finds overlaps. */
typedef struct {
    policy_mac_prefix_t mac;
    const policy_mac_pool_t *pool; /* NULL for a fixed MAC */
} mac_entry_t;

static int s_mac_entry_compare(const void *a, const void *b)
{
    const mac_entry_t *x = a, *y = b;
    int c = policy_mac_prefix_compare(&x->mac, &y->mac);
    if (c != 0)
        return c;
    return s_compare_positions(x->mac.pos, y->mac.pos);
}

static bool s_contains(const policy_mac_prefix_t *outer,
                       const policy_mac_prefix_t *inner)
{
    return outer->length <= inner->length &&
           memcmp(outer->octets, inner->octets, outer->length) == 0;
}

/* Every prefix of every pool and every fixed MAC (as a 6-octet prefix), in
 * one array of *count entries; NULL when there are none or memory runs
 * out. */
static mac_entry_t *s_mac_entries(policy_parser_t *p, size_t *count)
{
    const policy_t *policy = p->policy;
    size_t total = policy->fixed_mac_count;
    for (size_t i = 0; i < policy->mac_pool_count; i++)
        total += policy->mac_pools[i].prefix_count;
    if (total == 0)
        return NULL;
    mac_entry_t *entries = policy_parser_calloc(p, total, sizeof(*entries));
    if (!entries)
        return NULL;
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
    *count = n;
    return entries;
}

static void s_report_mac_overlap(policy_parser_t *p, const mac_entry_t *entry,
                                 const mac_entry_t *outer)
{
    char a[32], b[32];
    policy_mac_format(entry->mac.octets, entry->mac.length, a, sizeof(a));
    policy_mac_format(outer->mac.octets, outer->mac.length, b, sizeof(b));
    /* Duplicate fixed MACs are already reported. */
    if (!entry->pool && outer->pool)
        policy_parser_error_at(p, entry->mac.pos,
                               "fixed mac %s lies in prefix %s of mac pool "
                               "'%s' (%d:%d)",
                               a, b, outer->pool->name, outer->mac.pos.line,
                               outer->mac.pos.column);
    else if (entry->pool)
        policy_parser_error_at(p, entry->mac.pos,
                               "prefix %s of mac pool '%s' overlaps prefix %s "
                               "of mac pool '%s' (%d:%d)",
                               a, entry->pool->name, b, outer->pool->name,
                               outer->mac.pos.line, outer->mac.pos.column);
}

/* Sorted, a prefix comes right before everything it contains, so one pass
 * with a stack of enclosing prefixes finds every overlap. */
static void s_check_mac_overlaps(policy_parser_t *p)
{
    size_t n = 0;
    mac_entry_t *entries = s_mac_entries(p, &n);
    const mac_entry_t **stack =
        entries ? policy_parser_calloc(p, n, sizeof(*stack)) : NULL;
    if (!stack)
        return;
    qsort(entries, n, sizeof(*entries), s_mac_entry_compare);
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        const mac_entry_t *entry = &entries[i];
        while (depth > 0 && !s_contains(&stack[depth - 1]->mac, &entry->mac))
            depth--;
        if (depth > 0)
            s_report_mac_overlap(p, entry, stack[depth - 1]);
        else
            stack[depth++] = entry;
    }
}

/* ---- host groups ------------------------------------------------------- */

/* Whether some string matches both globs ('*' any run, '?' one
 * character). State (i, j) means a common prefix has been matched up to
 * a[i] and b[j]; every move goes to a later state in row-major order, so
 * one pass over the table decides it in O(len(a) * len(b)). */
static bool s_globs_meet(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool reach[POLICY_GLOB_MAX + 2][POLICY_GLOB_MAX + 2];
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
    return s_compare_positions(x->pf->pos, y->pf->pos);
}

/* Every PF entry of every group with its selector text, sorted so that
 * equal selectors are together and in file order; NULL when memory runs
 * out. */
static pf_entry_t *s_pf_entries(policy_parser_t *p, size_t total)
{
    const policy_t *policy = p->policy;
    pf_entry_t *entries = policy_parser_calloc(p, total, sizeof(*entries));
    if (!entries)
        return NULL;
    size_t n = 0;
    char selector[512];
    for (size_t g = 0; g < policy->host_group_count; g++)
        for (size_t i = 0; i < policy->host_groups[g].pf_count; i++) {
            const policy_pf_t *pf = &policy->host_groups[g].pfs[i];
            policy_pf_selector_format(pf, selector, sizeof(selector));
            const char *copy =
                policy_arena_strndup(p->arena, selector, strlen(selector));
            if (!copy) {
                policy_parser_out_of_memory(p);
                return NULL;
            }
            entries[n++] = (pf_entry_t){.selector = copy, .group = g, .pf = pf};
        }
    qsort(entries, n, sizeof(*entries), s_pf_entry_compare);
    return entries;
}

/* Whether groups a and b may share a host, remembered in share (one byte
 * per pair: 0 = not computed yet, 1 = may, 2 = cannot). */
static bool s_may_share(const policy_t *policy, uint8_t *share, size_t a,
                        size_t b)
{
    uint8_t *known = &share[a * policy->host_group_count + b];
    if (*known == 0)
        *known = s_groups_may_share_host(&policy->host_groups[a],
                                         &policy->host_groups[b])
                     ? 1
                     : 2;
    return *known == 1;
}

/* Within one run of entries with the same selector, in file order: each
 * entry is checked against the earlier ones and reported once. */
static void s_check_vf_count_run(policy_parser_t *p, const pf_entry_t *run,
                                 size_t count, uint8_t *share)
{
    const policy_t *policy = p->policy;
    for (size_t j = 1; j < count; j++) {
        const pf_entry_t *later = &run[j];
        for (size_t i = 0; i < j; i++) {
            const pf_entry_t *first = &run[i];
            if (first->group == later->group ||
                first->pf->vfs == later->pf->vfs ||
                !s_may_share(policy, share, first->group, later->group))
                continue;
            policy_parser_error_at(
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
}

/* Groups that could give the same PF of the same host different VF
 * counts. Sorting by selector keeps the work near linear, and whether two
 * groups may share a host is computed once per pair of groups. */
static void s_check_vf_counts(policy_parser_t *p)
{
    const policy_t *policy = p->policy;
    size_t groups = policy->host_group_count, total = 0;
    for (size_t g = 0; g < groups; g++)
        total += policy->host_groups[g].pf_count;
    if (total < 2)
        return;
    pf_entry_t *entries = s_pf_entries(p, total);
    uint8_t *share =
        entries ? policy_parser_calloc(p, groups * groups, 1) : NULL;
    if (!share)
        return;
    for (size_t start = 0; start < total;) {
        size_t end = start + 1;
        while (end < total &&
               strcmp(entries[end].selector, entries[start].selector) == 0)
            end++;
        s_check_vf_count_run(p, &entries[start], end - start, share);
        start = end;
    }
}

/* A PF's networks that no network defines, and a selector the group
 * already has in an earlier entry. */
static void s_check_pf(policy_parser_t *p, const policy_host_group_t *group,
                       size_t index, const char *const *network_names)
{
    const policy_t *policy = p->policy;
    const policy_pf_t *pf = &group->pfs[index];
    char selector[512];
    policy_pf_selector_format(pf, selector, sizeof(selector));
    for (size_t k = 0; k < pf->network_count; k++) {
        if (policy_network_find(policy, pf->networks[k]))
            continue;
        const char *hint = policy_suggest(pf->networks[k], network_names,
                                          policy->network_count);
        if (hint)
            policy_parser_error_at(p, pf->network_pos[k],
                                   "pf %s carries undefined network '%s' (did "
                                   "you mean '%s'?)",
                                   selector, pf->networks[k], hint);
        else
            policy_parser_error_at(p, pf->network_pos[k],
                                   "pf %s carries undefined network '%s'",
                                   selector, pf->networks[k]);
    }
    for (size_t j = 0; j < index; j++)
        if (selector[0] && policy_pf_same_selector(&group->pfs[j], pf))
            policy_parser_error_at(p, pf->pos,
                                   "pf %s is listed twice in host group '%s' "
                                   "(first at %d:%d)",
                                   selector, group->name,
                                   group->pfs[j].pos.line,
                                   group->pfs[j].pos.column);
}

void policy_check_model(policy_parser_t *p)
{
    const policy_t *policy = p->policy;
    s_check_mac_overlaps(p);
    if (p->out_of_memory)
        return;
    const char **names =
        policy_parser_calloc(p, policy->network_count, sizeof(*names));
    if (!names)
        return;
    for (size_t i = 0; i < policy->network_count; i++)
        names[i] = policy->networks[i].name;
    for (size_t g = 0; g < policy->host_group_count; g++)
        for (size_t i = 0; i < policy->host_groups[g].pf_count; i++)
            s_check_pf(p, &policy->host_groups[g], i, names);
    s_check_vf_counts(p);
}

/* ---- the normal form parses again -------------------------------------- */

/* The input met the size and node limits, but its normal form can be
 * larger: defaults are written out, aliases expanded, flow style becomes
 * block style with indentation, and show prints a comment line before it.
 * Measuring the emitted text itself keeps the rule true by construction;
 * every other limit (depth, counts, value ranges) is one the normal form
 * meets whenever the input does. */
void policy_check_normal_form(policy_parser_t *p)
{
    size_t len, nodes;
    char *text = policy_emit_string(p->policy, &len);
    if (!text) {
        policy_parser_out_of_memory(p);
        return;
    }
    bool counted = policy_yaml_count_nodes(text, len, &nodes);
    free(text);
    if (!counted) {
        policy_parser_out_of_memory(p);
        return;
    }
    policy_pos_t start = {.line = 1, .column = 1};
    if (len > POLICY_MAX_NORMAL_SIZE)
        policy_parser_error_at(p, start,
                               "normalised policy would be %zu bytes, over "
                               "the limit of %d bytes",
                               len, POLICY_MAX_NORMAL_SIZE);
    if (nodes > POLICY_MAX_NODES)
        policy_parser_error_at(p, start,
                               "normalised policy would be %zu YAML nodes, "
                               "over the limit of %d nodes",
                               nodes, POLICY_MAX_NODES);
}
