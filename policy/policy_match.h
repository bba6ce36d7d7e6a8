/* policy_match.h - which hosts and PFs a policy's host groups select,
 * decided on plain strings so that policy/ still depends on nothing of ours
 * (the controller passes in what its inventory knows). */
#ifndef VFLEET_POLICY_MATCH_H
#define VFLEET_POLICY_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* The facts of one PF that a PF entry's selectors look at. Strings may be
 * NULL or "" when the inventory does not know them (then a selector on that
 * key does not match). */
typedef struct {
    const char *ifname;
    const char *pci_address;
    const char *driver;
    uint16_t vendor_id;
    uint16_t device_id;
} policy_pf_facts_t;

/* Whether text matches glob: '*' any run of characters (also none), '?'
 * exactly one, everything else itself. Case-sensitive, as POLICY.md says. */
bool policy_glob_match(const char *glob, const char *text);

/* Whether the group selects the host: its name matches one of the group's
 * host globs (when it has any) and it carries every label of the group with
 * that value (when it has any). labels is the host's own, in any order. */
bool policy_host_group_selects(const policy_host_group_t *group,
                               const char *host, const policy_label_t *labels,
                               size_t label_count);

/* Whether a PF entry selects the PF: every selector key the entry gives
 * matches (ifname as a glob, pci_address exactly, driver exactly, device as
 * vendor:device hex). */
bool policy_pf_entry_selects(const policy_pf_t *entry,
                             const policy_pf_facts_t *pf);

/* The entry of the group that configures the PF: the first one, in source
 * order, that selects it; NULL when none does. */
const policy_pf_t *policy_host_group_pf_entry(const policy_host_group_t *group,
                                              const policy_pf_facts_t *pf);

#endif
