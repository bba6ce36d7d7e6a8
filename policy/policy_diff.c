/* policy_diff.c - what changes between two policies, in the words an
 * operator reviews in a pull request, grouped by network, MAC pool, fixed
 * MAC, host group, memory, placement and drift. Both models are normalised,
 * so every list is compared with one merge pass. */
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct policy_diff {
    char **lines;
    size_t count;
    size_t capacity;
    bool failed;
};

static void s_line(policy_diff_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_line(policy_diff_t *self, const char *fmt, ...)
{
    if (self->failed)
        return;
    char **lines = policy_array_grow(self->lines, &self->capacity, self->count,
                                     sizeof(*lines));
    if (!lines) {
        self->failed = true;
        return;
    }
    self->lines = lines;
    va_list ap;
    va_start(ap, fmt);
    char *line = policy_vformat(fmt, ap);
    va_end(ap);
    if (!line) {
        self->failed = true;
        return;
    }
    self->lines[self->count++] = line;
}

/* Which host groups' PFs carry a network, as "host groups a, b", or NULL
 * when none does. */
static const char *s_carriers(const policy_t *policy, const char *network,
                              char *buf, size_t size)
{
    size_t found = 0, used = 0;
    char names[400] = "";
    for (size_t g = 0; g < policy->host_group_count; g++) {
        const policy_host_group_t *group = &policy->host_groups[g];
        bool carries = false;
        for (size_t i = 0; i < group->pf_count && !carries; i++)
            for (size_t k = 0; k < group->pfs[i].network_count; k++)
                if (strcmp(group->pfs[i].networks[k], network) == 0)
                    carries = true;
        if (!carries)
            continue;
        if (used < sizeof(names)) {
            int n = snprintf(names + used, sizeof(names) - used, "%s%s",
                             found ? ", " : "", group->name);
            if (n > 0)
                used += (size_t)n;
        }
        found++;
    }
    if (found == 0)
        return NULL;
    snprintf(buf, size, "host group%s %s", found > 1 ? "s" : "", names);
    return buf;
}

static void s_affects(const policy_t *policy, const char *network, char *buf,
                      size_t size)
{
    char groups[448];
    if (s_carriers(policy, network, groups, sizeof(groups)))
        snprintf(buf, size, "affects VFs on %s", groups);
    else
        snprintf(buf, size, "no host group carries it");
}

/* "vlan 10", "trunk" or "untagged". */
static const char *s_vlan_mode(const policy_network_t *net, char *buf,
                               size_t size)
{
    if (net->trunk)
        return "trunk";
    if (net->vlan == 0)
        return "untagged";
    snprintf(buf, size, "vlan %u", net->vlan);
    return buf;
}

static const char *s_on(bool value)
{
    return value ? "on" : "off";
}

static const char *s_rate(uint32_t rate, bool is_max, char *buf, size_t size)
{
    if (rate == 0)
        return is_max ? "unlimited" : "none";
    snprintf(buf, size, "%u Mbit/s", rate);
    return buf;
}

static void s_network_changes(policy_diff_t *self, const policy_t *new_policy,
                              const policy_network_t *a,
                              const policy_network_t *b)
{
    const char *const *protocols = policy_vlan_protocol_words.words;
    const char *const *links = policy_link_state_words.words;
    const char *const *mtu_change = policy_guest_mtu_change_words.words;
    char affects[512], x[32], y[32];
    s_affects(new_policy, b->name, affects, sizeof(affects));
    const char *name = b->name;
    if (a->vlan && b->vlan && a->vlan != b->vlan)
        s_line(self, "network %s: vlan %u -> %u (%s)", name, a->vlan, b->vlan,
               affects);
    else if (a->trunk != b->trunk || a->vlan != b->vlan)
        s_line(self, "network %s: %s -> %s (%s)", name,
               s_vlan_mode(a, x, sizeof(x)), s_vlan_mode(b, y, sizeof(y)),
               affects);
    if (a->vlan && b->vlan && a->qos != b->qos)
        s_line(self, "network %s: qos %u -> %u (%s)", name, a->qos, b->qos,
               affects);
    if (a->vlan && b->vlan && a->vlan_protocol != b->vlan_protocol)
        s_line(self, "network %s: vlan_protocol %s -> %s (%s)", name,
               protocols[a->vlan_protocol], protocols[b->vlan_protocol],
               affects);
    if (a->spoof_check != b->spoof_check)
        s_line(self, "network %s: spoof_check %s -> %s (%s)", name,
               s_on(a->spoof_check), s_on(b->spoof_check), affects);
    if (a->trust != b->trust)
        s_line(self, "network %s: trust %s -> %s (%s)", name, s_on(a->trust),
               s_on(b->trust), affects);
    if (a->link_state != b->link_state)
        s_line(self, "network %s: link_state %s -> %s (%s)", name,
               links[a->link_state], links[b->link_state], affects);
    if (a->min_tx_rate != b->min_tx_rate)
        s_line(self, "network %s: min_tx_rate %s -> %s (%s)", name,
               s_rate(a->min_tx_rate, false, x, sizeof(x)),
               s_rate(b->min_tx_rate, false, y, sizeof(y)), affects);
    if (a->max_tx_rate != b->max_tx_rate)
        s_line(self, "network %s: max_tx_rate %s -> %s (%s)", name,
               s_rate(a->max_tx_rate, true, x, sizeof(x)),
               s_rate(b->max_tx_rate, true, y, sizeof(y)), affects);
    if (a->mtu != b->mtu)
        s_line(self, "network %s: mtu %u -> %u (%s)", name, a->mtu, b->mtu,
               affects);
    if (a->guest_mtu_change != b->guest_mtu_change)
        s_line(self, "network %s: guest_mtu_change %s -> %s (%s)", name,
               mtu_change[a->guest_mtu_change], mtu_change[b->guest_mtu_change],
               affects);
}

/* ---- the one merge pass ------------------------------------------------ */

/* A list sorted by the merge's compare function. */
typedef struct {
    const void *items;
    size_t count;
    size_t item_size;
} sorted_t;

typedef int merge_compare_t(const void *a, const void *b);

/* Called once per item of a merge: with only old_item (removed), only
 * new_item (added) or both (the same key in both lists). */
typedef void merge_visit_t(policy_diff_t *self, const void *old_item,
                           const void *new_item, const void *context);

/* Walks two sorted lists in step, so every comparison of two normalised
 * models is linear. */
static void s_merge(policy_diff_t *self, sorted_t a, sorted_t b,
                    merge_compare_t *compare, merge_visit_t *visit,
                    const void *context)
{
    size_t i = 0, j = 0;
    for (;;) {
        const void *x =
            i < a.count ? (const char *)a.items + i * a.item_size : NULL;
        const void *y =
            j < b.count ? (const char *)b.items + j * b.item_size : NULL;
        if (!x && !y)
            return;
        int c = !x ? 1 : !y ? -1 : compare(x, y);
        visit(self, c <= 0 ? x : NULL, c >= 0 ? y : NULL, context);
        i += c <= 0;
        j += c >= 0;
    }
}

#define S_SORTED(array, count) ((sorted_t){(array), (count), sizeof(*(array))})

/* ---- networks ---------------------------------------------------------- */

static int s_network_compare(const void *a, const void *b)
{
    return strcmp(((const policy_network_t *)a)->name,
                  ((const policy_network_t *)b)->name);
}

typedef struct {
    const policy_t *old_policy;
    const policy_t *new_policy;
} policies_t;

static void s_network(policy_diff_t *self, const void *old_item,
                      const void *new_item, const void *context)
{
    const policies_t *policies = context;
    const policy_network_t *net = new_item ? new_item : old_item;
    char affects[512], mode[32];
    if (old_item && new_item) {
        s_network_changes(self, policies->new_policy, old_item, new_item);
    } else if (new_item) {
        s_affects(policies->new_policy, net->name, affects, sizeof(affects));
        s_line(self, "network %s: added (%s; %s)", net->name,
               s_vlan_mode(net, mode, sizeof(mode)), affects);
    } else if (s_carriers(policies->old_policy, net->name, affects,
                          sizeof(affects))) {
        s_line(self, "network %s: removed (was %s, carried by %s)", net->name,
               s_vlan_mode(net, mode, sizeof(mode)), affects);
    } else {
        s_line(self, "network %s: removed (was %s)", net->name,
               s_vlan_mode(net, mode, sizeof(mode)));
    }
}

/* ---- MAC pools and fixed MACs ----------------------------------------- */

static int s_prefix_compare(const void *a, const void *b)
{
    return policy_mac_prefix_compare(a, b);
}

/* context: the pool's name. */
static void s_prefix(policy_diff_t *self, const void *old_item,
                     const void *new_item, const void *context)
{
    const policy_mac_prefix_t *prefix = new_item ? new_item : old_item;
    char mac[32];
    if (old_item && new_item)
        return;
    policy_mac_format(prefix->octets, prefix->length, mac, sizeof(mac));
    s_line(self, "mac pool %s: prefix %s %s", (const char *)context, mac,
           new_item ? "added" : "removed");
}

static int s_pool_compare(const void *a, const void *b)
{
    return strcmp(((const policy_mac_pool_t *)a)->name,
                  ((const policy_mac_pool_t *)b)->name);
}

static void s_pool(policy_diff_t *self, const void *old_item,
                   const void *new_item, const void *context)
{
    const policy_mac_pool_t *a = old_item, *b = new_item;
    if (!b) {
        s_line(self, "mac pool %s: removed", a->name);
        return;
    }
    if (!a) {
        s_line(self, "mac pool %s: added (%zu prefix%s)", b->name,
               b->prefix_count, b->prefix_count == 1 ? "" : "es");
        return;
    }
    if (a->vendor_oui != b->vendor_oui)
        s_line(self, "mac pool %s: vendor_oui %s -> %s", b->name,
               policy_bool_words.words[a->vendor_oui],
               policy_bool_words.words[b->vendor_oui]);
    s_merge(self, S_SORTED(a->prefixes, a->prefix_count),
            S_SORTED(b->prefixes, b->prefix_count), s_prefix_compare, s_prefix,
            b->name);
}

static int s_fixed_mac_compare(const void *a, const void *b)
{
    return memcmp(((const policy_mac_t *)a)->octets,
                  ((const policy_mac_t *)b)->octets, 6);
}

static void s_fixed_mac(policy_diff_t *self, const void *old_item,
                        const void *new_item, const void *context)
{
    const policy_mac_t *fixed = new_item ? new_item : old_item;
    char mac[32];
    if (old_item && new_item)
        return;
    policy_mac_format(fixed->octets, 6, mac, sizeof(mac));
    s_line(self, "fixed mac %s: %s", mac, new_item ? "added" : "removed");
}

/* ---- string sets and labels -------------------------------------------- */

static int s_string_compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What a set of strings belongs to and what its members are called. */
typedef struct {
    const char *subject; /* "host group esx" */
    const char *what;    /* "host glob" */
} string_set_t;

static void s_string(policy_diff_t *self, const void *old_item,
                     const void *new_item, const void *context)
{
    const string_set_t *set = context;
    const char *const *text = new_item ? new_item : old_item;
    if (!old_item || !new_item)
        s_line(self, "%s: %s %s %s", set->subject, set->what, *text,
               new_item ? "added" : "removed");
}

/* Reports the members only one of two sorted string lists has. */
static void s_string_sets(policy_diff_t *self, const char *subject,
                          const char *what, const char *const *a, size_t na,
                          const char *const *b, size_t nb)
{
    s_merge(self, S_SORTED(a, na), S_SORTED(b, nb), s_string_compare, s_string,
            &(string_set_t){.subject = subject, .what = what});
}

static int s_label_compare(const void *a, const void *b)
{
    return strcmp(((const policy_label_t *)a)->key,
                  ((const policy_label_t *)b)->key);
}

/* context: the group's subject, "host group NAME". */
static void s_label(policy_diff_t *self, const void *old_item,
                    const void *new_item, const void *context)
{
    const policy_label_t *a = old_item, *b = new_item;
    const char *subject = context;
    if (a && b) {
        if (strcmp(a->value, b->value) != 0)
            s_line(self, "%s: label %s %s -> %s", subject, a->key, a->value,
                   b->value);
    } else {
        const policy_label_t *label = b ? b : a;
        s_line(self, "%s: label %s=%s %s", subject, label->key, label->value,
               b ? "added" : "removed");
    }
}

/* ---- host groups ------------------------------------------------------- */

static const policy_pf_t *s_pf_find(const policy_host_group_t *group,
                                    const policy_pf_t *pf, size_t *index)
{
    for (size_t i = 0; i < group->pf_count; i++) {
        const policy_pf_t *other = &group->pfs[i];
        if (policy_pf_same_selector(other, pf)) {
            if (index)
                *index = i;
            return other;
        }
    }
    return NULL;
}

static void s_pfs(policy_diff_t *self, const char *subject,
                  const policy_host_group_t *a, const policy_host_group_t *b)
{
    char selector[512], pf_subject[700];
    for (size_t i = 0; i < a->pf_count; i++)
        if (!s_pf_find(b, &a->pfs[i], NULL)) {
            policy_pf_selector_format(&a->pfs[i], selector, sizeof(selector));
            s_line(self, "%s: pf %s removed (had %u VFs)", subject, selector,
                   a->pfs[i].vfs);
        }
    /* Entries are tried in order, so a new order of the shared ones is a
     * change too: walk them in new order and watch the old index rise. */
    bool reordered = false;
    size_t last = 0;
    bool any = false;
    for (size_t j = 0; j < b->pf_count; j++) {
        const policy_pf_t *pf = &b->pfs[j];
        size_t index;
        const policy_pf_t *old = s_pf_find(a, pf, &index);
        policy_pf_selector_format(pf, selector, sizeof(selector));
        snprintf(pf_subject, sizeof(pf_subject), "%s: pf %s", subject,
                 selector);
        if (!old) {
            s_line(self, "%s added (%u VFs, %zu network%s)", pf_subject,
                   pf->vfs, pf->network_count,
                   pf->network_count == 1 ? "" : "s");
            continue;
        }
        if (any && index < last)
            reordered = true;
        last = index;
        any = true;
        if (old->vfs != pf->vfs)
            s_line(self, "%s: vfs %u -> %u", pf_subject, old->vfs, pf->vfs);
        s_string_sets(self, pf_subject, "network", old->networks,
                      old->network_count, pf->networks, pf->network_count);
    }
    if (reordered)
        s_line(self, "%s: pf order changed (the first matching entry wins)",
               subject);
}

static int s_group_compare(const void *a, const void *b)
{
    return strcmp(((const policy_host_group_t *)a)->name,
                  ((const policy_host_group_t *)b)->name);
}

static void s_host_group(policy_diff_t *self, const void *old_item,
                         const void *new_item, const void *context)
{
    const policy_host_group_t *x = old_item, *y = new_item;
    char subject[128];
    if (!y) {
        s_line(self, "host group %s: removed", x->name);
        return;
    }
    if (!x) {
        s_line(self, "host group %s: added (%zu pf entr%s)", y->name,
               y->pf_count, y->pf_count == 1 ? "y" : "ies");
        return;
    }
    snprintf(subject, sizeof(subject), "host group %s", y->name);
    s_string_sets(self, subject, "host glob", x->hosts, x->host_count, y->hosts,
                  y->host_count);
    s_merge(self, S_SORTED(x->labels, x->label_count),
            S_SORTED(y->labels, y->label_count), s_label_compare, s_label,
            subject);
    s_pfs(self, subject, x, y);
}

/* ---- memory and placement --------------------------------------------- */

static void s_memory(policy_diff_t *self, const policy_t *a, const policy_t *b)
{
    const char *const *hugepages = policy_hugepages_words.words;
    if (a->hugepages != b->hugepages)
        s_line(self, "memory: hugepages %s -> %s", hugepages[a->hugepages],
               hugepages[b->hugepages]);
    char x[32], y[32];
    policy_size_format(a->hypervisor_reserve_mib, x, sizeof(x));
    policy_size_format(b->hypervisor_reserve_mib, y, sizeof(y));
    if (a->hypervisor_reserve_mib != b->hypervisor_reserve_mib)
        s_line(self, "memory: hypervisor_reserve %s -> %s", x, y);
}

static int s_anti_affinity_compare(const void *a, const void *b)
{
    return strcmp(((const policy_anti_affinity_t *)a)->name,
                  ((const policy_anti_affinity_t *)b)->name);
}

static void s_anti_affinity(policy_diff_t *self, const void *old_item,
                            const void *new_item, const void *context)
{
    const policy_anti_affinity_t *a = old_item, *b = new_item;
    char subject[128];
    if (!a || !b) {
        s_line(self, "anti-affinity group %s: %s", b ? b->name : a->name,
               b ? "added" : "removed");
        return;
    }
    snprintf(subject, sizeof(subject), "anti-affinity group %s", b->name);
    s_string_sets(self, subject, "vm glob", a->vms, a->vm_count, b->vms,
                  b->vm_count);
}

static void s_placement(policy_diff_t *self, const policy_t *a,
                        const policy_t *b)
{
    const char *const *strategies = policy_strategy_words.words;
    if (a->strategy != b->strategy)
        s_line(self, "placement: strategy %s -> %s", strategies[a->strategy],
               strategies[b->strategy]);
    s_merge(self, S_SORTED(a->anti_affinity, a->anti_affinity_count),
            S_SORTED(b->anti_affinity, b->anti_affinity_count),
            s_anti_affinity_compare, s_anti_affinity, NULL);
}

policy_diff_t *policy_diff_new(const policy_t *old_policy,
                               const policy_t *new_policy)
{
    policy_diff_t *self = policy_malloc(sizeof(*self));
    if (!self)
        return NULL;
    memset(self, 0, sizeof(*self));
    const policy_t *a = old_policy, *b = new_policy;
    if (a->version != b->version)
        s_line(self, "version: %u -> %u", a->version, b->version);
    s_merge(self, S_SORTED(a->networks, a->network_count),
            S_SORTED(b->networks, b->network_count), s_network_compare,
            s_network, &(policies_t){.old_policy = a, .new_policy = b});
    s_merge(self, S_SORTED(a->mac_pools, a->mac_pool_count),
            S_SORTED(b->mac_pools, b->mac_pool_count), s_pool_compare, s_pool,
            NULL);
    s_merge(self, S_SORTED(a->fixed_macs, a->fixed_mac_count),
            S_SORTED(b->fixed_macs, b->fixed_mac_count), s_fixed_mac_compare,
            s_fixed_mac, NULL);
    s_merge(self, S_SORTED(a->host_groups, a->host_group_count),
            S_SORTED(b->host_groups, b->host_group_count), s_group_compare,
            s_host_group, NULL);
    s_memory(self, a, b);
    s_placement(self, a, b);
    if (a->drift != b->drift)
        s_line(self, "drift: %s -> %s", policy_drift_words.words[a->drift],
               policy_drift_words.words[b->drift]);
    if (self->failed)
        policy_diff_destroy(&self);
    return self;
}

void policy_diff_destroy(policy_diff_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_diff_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        policy_free(self->lines[i]);
    policy_free(self->lines);
    policy_free(self);
    *self_p = NULL;
}

size_t policy_diff_count(const policy_diff_t *self)
{
    return self->count;
}

const char *policy_diff_line(const policy_diff_t *self, size_t index)
{
    return index < self->count ? self->lines[index] : NULL;
}
