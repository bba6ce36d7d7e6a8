/* policy_mac_pool.c - the capacity of a policy's MAC pools and the
 * warning when it is below the VFs the controller configures. */
#include "policy_mac_pool.h"

#include <stdio.h>

static uint64_t s_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t policy_mac_pool_capacity(const policy_mac_pool_t *pool)
{
    uint64_t total = 0;
    for (size_t i = 0; i < pool->prefix_count; i++) {
        const policy_mac_prefix_t *prefix = &pool->prefixes[i];
        /* A valid prefix has 3 to 5 octets: at most 2^24 addresses. */
        uint64_t addresses = UINT64_C(1) << (8 * (6 - prefix->length));
        bool zero = true;
        for (size_t k = 0; k < prefix->length; k++)
            zero = zero && prefix->octets[k] == 0;
        total = s_add(total, addresses - zero);
    }
    return total;
}

uint64_t policy_mac_pool_total(const policy_t *policy)
{
    uint64_t total = 0;
    for (size_t i = 0; i < policy->mac_pool_count; i++)
        total = s_add(total, policy_mac_pool_capacity(&policy->mac_pools[i]));
    return total;
}

int policy_mac_pool_check(const policy_t *policy, uint64_t vfs, char *buf,
                          size_t len)
{
    uint64_t addresses = policy_mac_pool_total(policy);
    if (len > 0)
        buf[0] = '\0';
    if (addresses >= vfs)
        return 0;
    /* Pools are sorted by name; the warning points where the operator
     * starts reading them. */
    policy_pos_t at = {.line = 1, .column = 1};
    for (size_t i = 0; i < policy->mac_pool_count; i++) {
        policy_pos_t pos = policy->mac_pools[i].pos;
        if (i == 0 || pos.line < at.line ||
            (pos.line == at.line && pos.column < at.column))
            at = pos;
    }
    if (len > 0)
        snprintf(buf, len,
                 "%s:%d:%d: mac pools give %llu addresses for %llu VFs "
                 "configured on the cluster",
                 policy->source ? policy->source : "policy", at.line, at.column,
                 (unsigned long long)addresses, (unsigned long long)vfs);
    return -1;
}
