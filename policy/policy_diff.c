/* policy_diff.c - what changes between two policies, in the words an
 * operator reviews in a pull request, grouped by network, MAC pool, host
 * group, memory and placement. Both models are normalised, so every list
 * is compared with one merge pass. */
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

static void s_networks(policy_diff_t *self, const policy_t *a,
                       const policy_t *b)
{
    char affects[512], mode[32];
    size_t i = 0, j = 0;
    while (i < a->network_count || j < b->network_count) {
        int c = i == a->network_count ? 1
                : j == b->network_count
                    ? -1
                    : strcmp(a->networks[i].name, b->networks[j].name);
        if (c < 0) {
            const policy_network_t *net = &a->networks[i];
            if (s_carriers(a, net->name, affects, sizeof(affects)))
                s_line(self, "network %s: removed (was %s, carried by %s)",
                       net->name, s_vlan_mode(net, mode, sizeof(mode)),
                       affects);
            else
                s_line(self, "network %s: removed (was %s)", net->name,
                       s_vlan_mode(net, mode, sizeof(mode)));
            i++;
        } else if (c > 0) {
            const policy_network_t *net = &b->networks[j];
            s_affects(b, net->name, affects, sizeof(affects));
            s_line(self, "network %s: added (%s; %s)", net->name,
                   s_vlan_mode(net, mode, sizeof(mode)), affects);
            j++;
        } else {
            s_network_changes(self, b, &a->networks[i], &b->networks[j]);
            i++;
            j++;
        }
    }
}

static void s_pool_changes(policy_diff_t *self, const policy_mac_pool_t *a,
                           const policy_mac_pool_t *b)
{
    char mac[32];
    if (a->vendor_oui != b->vendor_oui)
        s_line(self, "mac pool %s: vendor_oui %s -> %s", b->name,
               policy_bool_words.words[a->vendor_oui],
               policy_bool_words.words[b->vendor_oui]);
    size_t i = 0, j = 0;
    while (i < a->prefix_count || j < b->prefix_count) {
        int c =
            i == a->prefix_count ? 1
            : j == b->prefix_count
                ? -1
                : policy_mac_prefix_compare(&a->prefixes[i], &b->prefixes[j]);
        if (c < 0) {
            policy_mac_format(a->prefixes[i].octets, a->prefixes[i].length, mac,
                              sizeof(mac));
            s_line(self, "mac pool %s: prefix %s removed", b->name, mac);
            i++;
        } else if (c > 0) {
            policy_mac_format(b->prefixes[j].octets, b->prefixes[j].length, mac,
                              sizeof(mac));
            s_line(self, "mac pool %s: prefix %s added", b->name, mac);
            j++;
        } else {
            i++;
            j++;
        }
    }
}

static void s_mac_pools(policy_diff_t *self, const policy_t *a,
                        const policy_t *b)
{
    size_t i = 0, j = 0;
    while (i < a->mac_pool_count || j < b->mac_pool_count) {
        int c = i == a->mac_pool_count ? 1
                : j == b->mac_pool_count
                    ? -1
                    : strcmp(a->mac_pools[i].name, b->mac_pools[j].name);
        if (c < 0) {
            s_line(self, "mac pool %s: removed", a->mac_pools[i].name);
            i++;
        } else if (c > 0) {
            s_line(self, "mac pool %s: added (%zu prefix%s)",
                   b->mac_pools[j].name, b->mac_pools[j].prefix_count,
                   b->mac_pools[j].prefix_count == 1 ? "" : "es");
            j++;
        } else {
            s_pool_changes(self, &a->mac_pools[i], &b->mac_pools[j]);
            i++;
            j++;
        }
    }
    char mac[32];
    i = j = 0;
    while (i < a->fixed_mac_count || j < b->fixed_mac_count) {
        int c = i == a->fixed_mac_count   ? 1
                : j == b->fixed_mac_count ? -1
                                          : memcmp(a->fixed_macs[i].octets,
                                                   b->fixed_macs[j].octets, 6);
        if (c < 0) {
            policy_mac_format(a->fixed_macs[i++].octets, 6, mac, sizeof(mac));
            s_line(self, "fixed mac %s: removed", mac);
        } else if (c > 0) {
            policy_mac_format(b->fixed_macs[j++].octets, 6, mac, sizeof(mac));
            s_line(self, "fixed mac %s: added", mac);
        } else {
            i++;
            j++;
        }
    }
}

/* Reports the members only one of two sorted string lists has. */
static void s_string_sets(policy_diff_t *self, const char *subject,
                          const char *what, const char *const *a, size_t na,
                          const char *const *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
        if (c < 0)
            s_line(self, "%s: %s %s removed", subject, what, a[i++]);
        else if (c > 0)
            s_line(self, "%s: %s %s added", subject, what, b[j++]);
        else {
            i++;
            j++;
        }
    }
}

static void s_labels(policy_diff_t *self, const char *subject,
                     const policy_host_group_t *a, const policy_host_group_t *b)
{
    size_t i = 0, j = 0;
    while (i < a->label_count || j < b->label_count) {
        int c = i == a->label_count ? 1
                : j == b->label_count
                    ? -1
                    : strcmp(a->labels[i].key, b->labels[j].key);
        if (c < 0) {
            s_line(self, "%s: label %s=%s removed", subject, a->labels[i].key,
                   a->labels[i].value);
            i++;
        } else if (c > 0) {
            s_line(self, "%s: label %s=%s added", subject, b->labels[j].key,
                   b->labels[j].value);
            j++;
        } else {
            if (strcmp(a->labels[i].value, b->labels[j].value) != 0)
                s_line(self, "%s: label %s %s -> %s", subject, a->labels[i].key,
                       a->labels[i].value, b->labels[j].value);
            i++;
            j++;
        }
    }
}

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

static void s_host_groups(policy_diff_t *self, const policy_t *a,
                          const policy_t *b)
{
    char subject[128];
    size_t i = 0, j = 0;
    while (i < a->host_group_count || j < b->host_group_count) {
        int c = i == a->host_group_count ? 1
                : j == b->host_group_count
                    ? -1
                    : strcmp(a->host_groups[i].name, b->host_groups[j].name);
        if (c < 0) {
            s_line(self, "host group %s: removed", a->host_groups[i].name);
            i++;
        } else if (c > 0) {
            const policy_host_group_t *group = &b->host_groups[j];
            s_line(self, "host group %s: added (%zu pf entr%s)", group->name,
                   group->pf_count, group->pf_count == 1 ? "y" : "ies");
            j++;
        } else {
            const policy_host_group_t *x = &a->host_groups[i];
            const policy_host_group_t *y = &b->host_groups[j];
            snprintf(subject, sizeof(subject), "host group %s", y->name);
            s_string_sets(self, subject, "host glob", x->hosts, x->host_count,
                          y->hosts, y->host_count);
            s_labels(self, subject, x, y);
            s_pfs(self, subject, x, y);
            i++;
            j++;
        }
    }
}

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

static void s_placement(policy_diff_t *self, const policy_t *a,
                        const policy_t *b)
{
    const char *const *strategies = policy_strategy_words.words;
    char subject[128];
    if (a->strategy != b->strategy)
        s_line(self, "placement: strategy %s -> %s", strategies[a->strategy],
               strategies[b->strategy]);
    size_t i = 0, j = 0;
    while (i < a->anti_affinity_count || j < b->anti_affinity_count) {
        int c =
            i == a->anti_affinity_count ? 1
            : j == b->anti_affinity_count
                ? -1
                : strcmp(a->anti_affinity[i].name, b->anti_affinity[j].name);
        if (c < 0) {
            s_line(self, "anti-affinity group %s: removed",
                   a->anti_affinity[i++].name);
        } else if (c > 0) {
            s_line(self, "anti-affinity group %s: added",
                   b->anti_affinity[j++].name);
        } else {
            snprintf(subject, sizeof(subject), "anti-affinity group %s",
                     b->anti_affinity[j].name);
            s_string_sets(self, subject, "vm glob", a->anti_affinity[i].vms,
                          a->anti_affinity[i].vm_count, b->anti_affinity[j].vms,
                          b->anti_affinity[j].vm_count);
            i++;
            j++;
        }
    }
}

policy_diff_t *policy_diff_new(const policy_t *old_policy,
                               const policy_t *new_policy)
{
    policy_diff_t *self = policy_malloc(sizeof(*self));
    if (!self)
        return NULL;
    memset(self, 0, sizeof(*self));
    if (old_policy->version != new_policy->version)
        s_line(self, "version: %u -> %u", old_policy->version,
               new_policy->version);
    s_networks(self, old_policy, new_policy);
    s_mac_pools(self, old_policy, new_policy);
    s_host_groups(self, old_policy, new_policy);
    s_memory(self, old_policy, new_policy);
    s_placement(self, old_policy, new_policy);
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
