/* policy_util.c - small helpers shared by the policy modules: the enum
 * words, "did you mean" suggestions, lookups, and the comparison and
 * formatting of MACs, PF selectors and sizes. */
#include "policy_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Longer words get no suggestion: keeps the distance cheap on hostile
 * input and a 40-letter typo is not a typo. */
#define SUGGEST_MAX_LEN 40

#define S_WORDS(...)                                                           \
    {                                                                          \
        .words = (const char *const[]){__VA_ARGS__},                           \
        .count = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),  \
    }

const policy_words_t policy_vlan_protocol_words = S_WORDS("802.1Q", "802.1ad");
const policy_words_t policy_link_state_words =
    S_WORDS("auto", "enable", "disable");
const policy_words_t policy_hugepages_words = S_WORDS("none", "2M", "1G");
const policy_words_t policy_strategy_words = S_WORDS("spread", "pack");
const policy_words_t policy_drift_words = S_WORDS("correct", "report");
const policy_words_t policy_guest_mtu_change_words = S_WORDS("deny", "allow");
const policy_words_t policy_bool_words = S_WORDS("false", "true");

const char *const policy_pf_selector_keys[POLICY_PF_SELECTOR_KEYS] = {
    "ifname", "pci_address", "driver", "device"};

size_t policy_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
        return SIZE_MAX;
    size_t row[SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

const char *policy_suggest(const char *word, const char *const *candidates,
                           size_t count)
{
    size_t len = strlen(word);
    size_t limit = 1 + len / 4;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t d = policy_edit_distance(word, candidates[i]);
        if (d <= limit && d < best_distance) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best;
}

/* Binary search of a list of named items sorted by name (the name is a
 * const char * at name_offset in each item). */
static const void *s_find_named(const void *items, size_t count,
                                size_t item_size, size_t name_offset,
                                const char *name)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *item = (const char *)items + mid * item_size;
        const char *item_name;
        memcpy(&item_name, item + name_offset, sizeof(item_name));
        int c = strcmp(item_name, name);
        if (c == 0)
            return item;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const policy_network_t *policy_network_find(const policy_t *self,
                                            const char *name)
{
    return s_find_named(self->networks, self->network_count,
                        sizeof(policy_network_t),
                        offsetof(policy_network_t, name), name);
}

const policy_host_group_t *policy_host_group_find(const policy_t *self,
                                                  const char *name)
{
    return s_find_named(self->host_groups, self->host_group_count,
                        sizeof(policy_host_group_t),
                        offsetof(policy_host_group_t, name), name);
}

void policy_pf_selector_values(const policy_pf_t *pf,
                               const char *values[POLICY_PF_SELECTOR_KEYS])
{
    values[0] = pf->ifname;
    values[1] = pf->pci_address;
    values[2] = pf->driver;
    values[3] = pf->device;
}

static bool s_same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool policy_pf_same_selector(const policy_pf_t *a, const policy_pf_t *b)
{
    const char *x[POLICY_PF_SELECTOR_KEYS], *y[POLICY_PF_SELECTOR_KEYS];
    policy_pf_selector_values(a, x);
    policy_pf_selector_values(b, y);
    for (size_t i = 0; i < POLICY_PF_SELECTOR_KEYS; i++)
        if (!s_same_text(x[i], y[i]))
            return false;
    return true;
}

void policy_pf_selector_format(const policy_pf_t *pf, char *buf, size_t size)
{
    const char *const *names = policy_pf_selector_keys;
    const char *values[POLICY_PF_SELECTOR_KEYS];
    policy_pf_selector_values(pf, values);
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < POLICY_PF_SELECTOR_KEYS; i++) {
        if (!values[i] || used >= size)
            continue;
        int n = snprintf(buf + used, size - used, "%s%s=%s", used ? " " : "",
                         names[i], values[i]);
        if (n > 0)
            used += (size_t)n;
    }
}

void policy_mac_format(const uint8_t *octets, size_t length, char *buf,
                       size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < length && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%02x", i ? ":" : "",
                         octets[i]);
        if (n > 0)
            used += (size_t)n;
    }
}

int policy_mac_prefix_compare(const policy_mac_prefix_t *a,
                              const policy_mac_prefix_t *b)
{
    size_t common = a->length < b->length ? a->length : b->length;
    int c = memcmp(a->octets, b->octets, common);
    return c != 0 ? c : (int)a->length - (int)b->length;
}

void policy_size_format(uint64_t mib, char *buf, size_t size)
{
    if (mib != 0 && mib % (1024 * 1024) == 0)
        snprintf(buf, size, "%lluT", (unsigned long long)(mib / (1024 * 1024)));
    else if (mib != 0 && mib % 1024 == 0)
        snprintf(buf, size, "%lluG", (unsigned long long)(mib / 1024));
    else
        snprintf(buf, size, "%lluM", (unsigned long long)mib);
}
