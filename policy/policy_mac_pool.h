/* policy_mac_pool.h - how many VF MACs a policy's pools can hand out, and
 * the warning the controller gives when that is fewer than the VFs its
 * plan configures (POLICY.md, "MAC pools": capacity). */
#ifndef VFLEET_POLICY_MAC_POOL_H
#define VFLEET_POLICY_MAC_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* The addresses a pool can hand out: 2^(8 * (6 - length)) for each prefix
 * (256 for a 5-octet prefix, 65536 for 4 octets, 16777216 for 3), less
 * 00:00:00:00:00:00 when a prefix holds it (only a vendor_oui pool with an
 * all-zero prefix can): that address means "no MAC" (a free VF). Every
 * other address of a valid prefix is a usable unicast MAC, and no fixed
 * MAC lies inside a prefix, so nothing else is subtracted. Saturates at
 * UINT64_MAX. */
uint64_t policy_mac_pool_capacity(const policy_mac_pool_t *pool);

/* The addresses of all the policy's pools together (saturating): pools are
 * one cluster-wide supply, since a MAC is unique in the cluster and a pool
 * is not tied to a network, host group or host. */
uint64_t policy_mac_pool_total(const policy_t *policy);

/* Whether the pools together can give a MAC to each of vfs VFs (the VFs
 * the controller's plan configures on all hosts: each can be handed to a
 * VM NIC). Returns 0 when they can (buf gets ""), and -1 when they cannot,
 * with one line in buf (truncated to len, no newline):
 *   SOURCE:LINE:COL: mac pools give N addresses for M VFs configured on
 *   the cluster
 * at the pool written first in the source (1:1 when there is none). */
int policy_mac_pool_check(const policy_t *policy, uint64_t vfs, char *buf,
                          size_t len);

#endif
