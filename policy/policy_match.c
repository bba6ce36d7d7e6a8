/* policy_match.c - host group and PF entry selection on plain strings. */
#include "policy_match.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Iterative matcher with one backtrack point: on a mismatch after a '*',
 * the star swallows one more character and matching resumes. Linear in
 * practice and never recursive, so a hostile glob cannot blow the stack. */
bool policy_glob_match(const char *glob, const char *text)
{
    const char *star = NULL, *resume = NULL;
    while (*text) {
        if (*glob == '*') {
            star = glob++;
            resume = text;
        } else if (*glob == '?' || *glob == *text) {
            glob++;
            text++;
        } else if (star) {
            glob = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*glob == '*')
        glob++;
    return *glob == '\0';
}

static bool s_host_has_label(const policy_label_t *want,
                             const policy_label_t *labels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(labels[i].key, want->key) == 0)
            return strcmp(labels[i].value, want->value) == 0;
    }
    return false;
}

bool policy_host_group_selects(const policy_host_group_t *group,
                               const char *host, const policy_label_t *labels,
                               size_t label_count)
{
    if (group->host_count > 0) {
        bool named = false;
        for (size_t i = 0; i < group->host_count && !named; i++)
            named = policy_glob_match(group->hosts[i], host);
        if (!named)
            return false;
    }
    for (size_t i = 0; i < group->label_count; i++) {
        if (!s_host_has_label(&group->labels[i], labels, label_count))
            return false;
    }
    /* The parser refuses a group with neither hosts nor labels; a group
     * built by hand without either selects nothing rather than everything. */
    return group->host_count > 0 || group->label_count > 0;
}

static bool s_known(const char *value)
{
    return value && *value;
}

bool policy_pf_entry_selects(const policy_pf_t *entry,
                             const policy_pf_facts_t *pf)
{
    if (entry->ifname &&
        !(s_known(pf->ifname) && policy_glob_match(entry->ifname, pf->ifname)))
        return false;
    if (entry->pci_address &&
        !(s_known(pf->pci_address) &&
          strcasecmp(entry->pci_address, pf->pci_address) == 0))
        return false;
    if (entry->driver &&
        !(s_known(pf->driver) && strcmp(entry->driver, pf->driver) == 0))
        return false;
    if (entry->device) {
        char device[10];
        snprintf(device, sizeof device, "%04x:%04x", pf->vendor_id,
                 pf->device_id);
        if (strcasecmp(entry->device, device) != 0)
            return false;
    }
    return entry->ifname || entry->pci_address || entry->driver ||
           entry->device;
}

const policy_pf_t *policy_host_group_pf_entry(const policy_host_group_t *group,
                                              const policy_pf_facts_t *pf)
{
    for (size_t i = 0; i < group->pf_count; i++) {
        if (policy_pf_entry_selects(&group->pfs[i], pf))
            return &group->pfs[i];
    }
    return NULL;
}
