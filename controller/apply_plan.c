/* apply_plan.c - policy + one host's inventory -> its APPLY or its conflicts,
 * and the iproute2-worded difference between two APPLYs (rules in
 * apply_plan.h). */
#include "apply_plan.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_match.h"

/* The policy's ranges must fit the wire's, so a valid policy always gives a
 * valid APPLY. */
static_assert(POLICY_VLAN_MAX <= VFP_APPLY_VLAN_MAX, "policy vlan range");
static_assert(POLICY_QOS_MAX <= VFP_QOS_MAX, "policy qos range");
static_assert(POLICY_VFS_MAX <= VFP_VFS_MAX, "policy vfs range");
static_assert(POLICY_MTU_MIN >= 68, "policy mtu range");
static_assert((int)POLICY_LINK_AUTO == (int)VFP_LINK_AUTO &&
                  (int)POLICY_LINK_ENABLE == (int)VFP_LINK_ENABLE &&
                  (int)POLICY_LINK_DISABLE == (int)VFP_LINK_DISABLE,
              "link states are spoken alike");

#define S_CLEAN_SET                                                            \
    (VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_TRUST |           \
     VFP_SET_LINK_STATE | VFP_SET_RATE)

/* ---- lines ---------------------------------------------------------- */

typedef struct {
    char **items;
    size_t count;
    size_t capacity;
} s_lines_t;

static void s_lines_vadd(s_lines_t *lines, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void s_lines_vadd(s_lines_t *lines, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    assert(len >= 0);
    char *text = malloc((size_t)len + 1);
    assert(text);
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    if (lines->count == lines->capacity) {
        lines->capacity = lines->capacity ? lines->capacity * 2 : 8;
        lines->items =
            realloc(lines->items, lines->capacity * sizeof *lines->items);
        assert(lines->items);
    }
    lines->items[lines->count++] = text;
}

static void s_lines_add(s_lines_t *lines, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_lines_add(s_lines_t *lines, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_lines_vadd(lines, fmt, ap);
    va_end(ap);
}

static void s_lines_free(s_lines_t *lines)
{
    for (size_t i = 0; i < lines->count; i++)
        free(lines->items[i]);
    free(lines->items);
    *lines = (s_lines_t){0};
}

/* ---- planning ------------------------------------------------------- */

/* What the plan decided for one PF of the inventory. */
typedef struct {
    const vfp_pf_t *pf;
    const policy_host_group_t *group; /* of entry; NULL: not configured */
    const policy_pf_t *entry;         /* the first group's entry */
    const char **networks;            /* sorted union */
    size_t network_count;
    const apply_plan_held_vf_t **held; /* by VF index, entry->vfs long */
} s_pf_plan_t;

struct apply_plan_t {
    s_lines_t conflicts;
    bool *host_only; /* per conflict: concerns only this host's VF count */
    size_t host_only_size;
    vfp_msg_t *msg;
    size_t pf_count;
    s_pf_plan_t *pfs;
};

typedef struct {
    apply_plan_t *self;
    const policy_t *policy;
    const char *source;
    const apply_plan_host_t *host;
    const policy_host_group_t **groups; /* those selecting the host */
    size_t group_count;
} s_ctx_t;

/* One conflict line; pos and pf may be NULL when none is involved. */
static void s_conflict(s_ctx_t *c, const policy_pos_t *pos, const char *pf,
                       const char *ifname, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void s_conflict(s_ctx_t *c, const policy_pos_t *pos, const char *pf,
                       const char *ifname, const char *fmt, ...)
{
    char head[512];
    int n = pos ? snprintf(head, sizeof head, "%s:%d:%d: host %s: ", c->source,
                           pos->line, pos->column, c->host->name)
                : snprintf(head, sizeof head, "%s: host %s: ", c->source,
                           c->host->name);
    if (pf && (size_t)n < sizeof head)
        snprintf(head + n, sizeof head - (size_t)n,
                 ifname ? "pf %s (%s): " : "pf %s: ", pf,
                 ifname && *ifname ? ifname : "no netdev");
    char body[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    s_lines_add(&c->self->conflicts, "%s%s", head, body);
}

static void s_pos_format(const s_ctx_t *c, const policy_pos_t *pos, char *buf,
                         size_t size)
{
    snprintf(buf, size, "%s:%d:%d", c->source, pos->line, pos->column);
}

static policy_pf_facts_t s_facts(const vfp_pf_t *pf)
{
    return (policy_pf_facts_t){pf->ifname, pf->pci_addr, pf->driver,
                               pf->vendor_id, pf->device_id};
}

static void s_select_groups(s_ctx_t *c)
{
    const policy_t *policy = c->policy;
    c->groups = calloc(policy->host_group_count + 1, sizeof *c->groups);
    assert(c->groups);
    for (size_t g = 0; g < policy->host_group_count; g++) {
        const policy_host_group_t *group = &policy->host_groups[g];
        if (policy_host_group_selects(group, c->host->name, c->host->labels,
                                      c->host->label_count))
            c->groups[c->group_count++] = group;
    }
}

/* Every entry of a selecting group must match some PF of the host. */
static void s_check_entries_match(s_ctx_t *c)
{
    const vfp_inventory_t *inv = c->host->inventory;
    for (size_t g = 0; g < c->group_count; g++) {
        const policy_host_group_t *group = c->groups[g];
        for (size_t e = 0; e < group->pf_count; e++) {
            const policy_pf_t *entry = &group->pfs[e];
            bool matched = false;
            for (uint32_t p = 0; p < inv->pf_count && !matched; p++) {
                policy_pf_facts_t facts = s_facts(&inv->pfs[p]);
                matched = policy_pf_entry_selects(entry, &facts);
            }
            if (matched)
                continue;
            char selector[512];
            policy_pf_selector_format(entry, selector, sizeof selector);
            s_conflict(c, &entry->pos, NULL, NULL,
                       "host group %s: pf selector %s matches nothing on host "
                       "%s",
                       group->name, selector, c->host->name);
        }
    }
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void s_add_networks(s_pf_plan_t *plan, const policy_pf_t *entry)
{
    size_t n = plan->network_count + entry->network_count;
    plan->networks = realloc(plan->networks, (n + 1) * sizeof(char *));
    assert(plan->networks);
    for (size_t i = 0; i < entry->network_count; i++)
        plan->networks[plan->network_count++] = entry->networks[i];
    qsort(plan->networks, plan->network_count, sizeof(char *), s_strcmp_p);
    size_t kept = 0;
    for (size_t i = 0; i < plan->network_count; i++)
        if (kept == 0 || strcmp(plan->networks[kept - 1], plan->networks[i]))
            plan->networks[kept++] = plan->networks[i];
    plan->network_count = kept;
}

/* The entries configuring one PF: the first selecting group's entry rules,
 * the others must agree on vfs and add their networks. */
static void s_plan_pf(s_ctx_t *c, s_pf_plan_t *plan)
{
    const vfp_pf_t *pf = plan->pf;
    policy_pf_facts_t facts = s_facts(pf);
    for (size_t g = 0; g < c->group_count; g++) {
        const policy_pf_t *entry =
            policy_host_group_pf_entry(c->groups[g], &facts);
        if (!entry)
            continue;
        if (!plan->entry) {
            plan->group = c->groups[g];
            plan->entry = entry;
        } else if (entry->vfs != plan->entry->vfs) {
            char first[512];
            s_pos_format(c, &plan->entry->pos, first, sizeof first);
            s_conflict(c, &entry->pos, pf->pci_addr, pf->ifname,
                       "host group %s gives vfs %" PRIu32
                       " but host group %s gives vfs %" PRIu32 " (other at %s)",
                       c->groups[g]->name, entry->vfs, plan->group->name,
                       plan->entry->vfs, first);
        }
        s_add_networks(plan, entry);
    }
    if (!plan->entry)
        return;
    if (!pf->pci_addr[0])
        s_conflict(c, &plan->entry->pos, "(none)", pf->ifname,
                   "the PF has no PCI address to name it by");
    else if (plan->entry->vfs > pf->total_vfs)
        s_conflict(c, &plan->entry->pos, pf->pci_addr, pf->ifname,
                   "vfs %" PRIu32 " is more than the PF's total_vfs %u",
                   plan->entry->vfs, pf->total_vfs);
    plan->held = calloc(plan->entry->vfs + 1, sizeof *plan->held);
    assert(plan->held);
}

static s_pf_plan_t *s_find_pf(const apply_plan_t *self, const char *pci)
{
    for (size_t i = 0; i < self->pf_count; i++)
        if (strcmp(self->pfs[i].pf->pci_addr, pci) == 0)
            return &self->pfs[i];
    return NULL;
}

/* The network of a held VF must exist and be carried by its PF. */
static void s_check_held_network(s_ctx_t *c, const s_pf_plan_t *plan,
                                 const apply_plan_held_vf_t *held)
{
    const vfp_pf_t *pf = plan->pf;
    const policy_network_t *net = policy_network_find(c->policy, held->network);
    if (!net) {
        s_conflict(c, NULL, pf->pci_addr, pf->ifname,
                   "vf %u of vm %s is on network %s, which the policy does "
                   "not define",
                   held->index, held->vm, held->network);
        return;
    }
    if (bsearch(&held->network, plan->networks, plan->network_count,
                sizeof(char *), s_strcmp_p))
        return;
    char defined[512];
    s_pos_format(c, &net->pos, defined, sizeof defined);
    s_conflict(c, &plan->entry->pos, pf->pci_addr, pf->ifname,
               "vf %u of vm %s is on network %s, which host group %s does "
               "not give this PF (network at %s)",
               held->index, held->vm, held->network, plan->group->name,
               defined);
}

static void s_check_held_vf(s_ctx_t *c, const apply_plan_held_vf_t *held)
{
    s_pf_plan_t *plan = s_find_pf(c->self, held->pf);
    if (!plan) {
        s_conflict(c, NULL, held->pf, NULL,
                   "vm %s holds vf %u of a PF the host does not have", held->vm,
                   held->index);
        return;
    }
    const vfp_pf_t *pf = plan->pf;
    if (!plan->entry) {
        s_conflict(c, NULL, pf->pci_addr, pf->ifname,
                   "vm %s holds vf %u but no host group configures the PF",
                   held->vm, held->index);
        return;
    }
    if (held->index >= plan->entry->vfs) {
        s_conflict(c, &plan->entry->pos, pf->pci_addr, pf->ifname,
                   "vf %u of vm %s is beyond the PF's vfs %" PRIu32,
                   held->index, held->vm, plan->entry->vfs);
        return;
    }
    if (plan->held[held->index]) {
        s_conflict(c, NULL, pf->pci_addr, pf->ifname,
                   "vf %u is held by vm %s and vm %s", held->index,
                   plan->held[held->index]->vm, held->vm);
        return;
    }
    plan->held[held->index] = held;
    if (held->mac[0] & 1) {
        char mac[18];
        s_conflict(c, NULL, pf->pci_addr, pf->ifname,
                   "vf %u of vm %s: MAC %s is a multicast address", held->index,
                   held->vm, vfp_mac_format(held->mac, mac));
    }
    s_check_held_network(c, plan, held);
}

/* Marks the conflict just added as one that concerns only this host. */
static void s_mark_host_only(apply_plan_t *self)
{
    size_t n = self->conflicts.count;
    self->host_only = realloc(self->host_only, n * sizeof *self->host_only);
    assert(self->host_only);
    for (size_t i = self->host_only_size; i < n; i++)
        self->host_only[i] = false;
    self->host_only[n - 1] = true;
    self->host_only_size = n;
}

/* Changing sriov_numvfs goes through 0, which would pull held VFs out of
 * their guests, and in-use VFs (a guest the controller does not know, an
 * up netdev) from under their users. */
static void s_check_count_change(s_ctx_t *c, const s_pf_plan_t *plan)
{
    const vfp_pf_t *pf = plan->pf;
    if (!plan->entry || pf->num_vfs == plan->entry->vfs)
        return;
    for (uint32_t i = 0; i < plan->entry->vfs; i++) {
        const apply_plan_held_vf_t *held = plan->held[i];
        if (!held)
            continue;
        s_conflict(c, &plan->entry->pos, pf->pci_addr, pf->ifname,
                   "vfs %" PRIu32 " would change sriov_numvfs %u while vm %s "
                   "holds vf %u",
                   plan->entry->vfs, pf->num_vfs, held->vm, held->index);
        s_mark_host_only(c->self);
        return;
    }
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        if (!pf->vfs[i].in_use)
            continue;
        s_conflict(c, &plan->entry->pos, pf->pci_addr, pf->ifname,
                   "vfs %" PRIu32 " would change sriov_numvfs %u while vf %u "
                   "is in use",
                   plan->entry->vfs, pf->num_vfs, pf->vfs[i].index);
        s_mark_host_only(c->self);
        return;
    }
}

static uint64_t s_add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The hugepage pool of the policy's page size: whole pages for every VM.
 * Returns false (and adds no item) for `hugepages: none`. */
static bool s_plan_hugepages(s_ctx_t *c, vfp_apply_hugepages_t *pool)
{
    if (c->policy->hugepages == POLICY_HUGEPAGES_NONE)
        return false;
    bool giant = c->policy->hugepages == POLICY_HUGEPAGES_1G;
    uint64_t page_mib = giant ? 1024 : 2;
    pool->size_kb = (uint32_t)(page_mib * 1024);
    pool->pages = 0;
    for (size_t i = 0; i < c->host->vm_count; i++) {
        uint64_t mib = c->host->vms[i].memory_mib;
        uint64_t pages = mib / page_mib + (mib % page_mib != 0);
        pool->pages = s_add_saturating(pool->pages, pages);
    }
    uint64_t total_mib = c->host->inventory->host.mem_total_kb / 1024;
    uint64_t reserve_mib = c->policy->hypervisor_reserve_mib;
    uint64_t room_mib = total_mib > reserve_mib ? total_mib - reserve_mib : 0;
    uint64_t need_mib = pool->pages > UINT64_MAX / page_mib
                            ? UINT64_MAX
                            : pool->pages * page_mib;
    const policy_pos_t *pos = &c->policy->hugepages_pos;
    if (total_mib > 0 && need_mib > room_mib)
        s_conflict(c, pos->line ? pos : NULL, NULL, NULL,
                   "hugepages %s: the VMs need %" PRIu64
                   " MiB but the host has %" PRIu64
                   " MiB less hypervisor_reserve %" PRIu64 " MiB",
                   giant ? "1G" : "2M", need_mib, total_mib, reserve_mib);
    return true;
}

static void s_fill_clean(vfp_apply_vf_t *vf)
{
    vf->set = S_CLEAN_SET;
    vf->vlan_proto = VFP_VLAN_PROTO_8021Q;
    vf->spoofchk = VFP_ON;
    vf->trust = VFP_OFF;
    vf->link_state = VFP_LINK_AUTO;
}

static void s_fill_held(vfp_apply_vf_t *vf, const policy_network_t *net,
                        const apply_plan_held_vf_t *held)
{
    /* Not the MTU: a passthrough VF's netdev lives in the guest, and the
     * host has none to set it on (the kernel answers ENODEV). */
    vf->set = VFP_SET_ALL & ~VFP_SET_MTU;
    memcpy(vf->mac, held->mac, sizeof vf->mac);
    vf->vlan = net->trunk ? 0 : net->vlan;
    vf->qos = net->vlan ? net->qos : 0;
    vf->vlan_proto = net->vlan && net->vlan_protocol == POLICY_VLAN_PROTO_8021AD
                         ? VFP_VLAN_PROTO_8021AD
                         : VFP_VLAN_PROTO_8021Q;
    vf->spoofchk = net->spoof_check ? VFP_ON : VFP_OFF;
    vf->trust = net->trust ? VFP_ON : VFP_OFF;
    vf->link_state = (vfp_link_state_t)net->link_state;
    vf->min_tx_rate = net->min_tx_rate;
    vf->max_tx_rate = net->max_tx_rate;
}

/* Builds the message from a conflict-free plan. */
static vfp_msg_t *s_build_apply(s_ctx_t *c, const vfp_apply_hugepages_t *pool)
{
    apply_plan_t *self = c->self;
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY);
    assert(msg);
    vfp_apply_t *apply = &msg->u.apply;
    uint32_t vf_total = 0;
    for (size_t i = 0; i < self->pf_count; i++)
        if (self->pfs[i].entry)
            vf_total += self->pfs[i].entry->vfs;
    apply->pfs = calloc(self->pf_count + 1, sizeof *apply->pfs);
    apply->vfs = calloc((size_t)vf_total + 1, sizeof *apply->vfs);
    assert(apply->pfs && apply->vfs);
    for (size_t i = 0; i < self->pf_count; i++) {
        const s_pf_plan_t *plan = &self->pfs[i];
        if (!plan->entry)
            continue;
        vfp_apply_pf_t *item = &apply->pfs[apply->pf_count++];
        snprintf(item->pf, sizeof item->pf, "%s", plan->pf->pci_addr);
        item->num_vfs = (uint16_t)plan->entry->vfs;
        for (uint32_t v = 0; v < plan->entry->vfs; v++) {
            vfp_apply_vf_t *vf = &apply->vfs[apply->vf_count++];
            snprintf(vf->pf, sizeof vf->pf, "%s", plan->pf->pci_addr);
            vf->index = (uint16_t)v;
            const apply_plan_held_vf_t *held = plan->held[v];
            if (held)
                s_fill_held(vf, policy_network_find(c->policy, held->network),
                            held);
            else
                s_fill_clean(vf);
        }
    }
    if (pool)
        apply->hugepages[apply->hugepage_count++] = *pool;
    return msg;
}

static void s_check_vf_total(s_ctx_t *c)
{
    uint64_t total = 0;
    for (size_t i = 0; i < c->self->pf_count; i++)
        if (c->self->pfs[i].entry)
            total += c->self->pfs[i].entry->vfs;
    if (total > VFP_APPLY_VFS_MAX)
        s_conflict(c, NULL, NULL, NULL,
                   "the PFs would have %" PRIu64
                   " VFs, over the %u one APPLY can set",
                   total, VFP_APPLY_VFS_MAX);
}

apply_plan_t *apply_plan_new(const policy_t *policy, const char *source,
                             const apply_plan_host_t *host)
{
    assert(policy && source && host && host->name && host->inventory);
    apply_plan_t *self = calloc(1, sizeof *self);
    assert(self);
    const vfp_inventory_t *inv = host->inventory;
    self->pfs = calloc(inv->pf_count + 1, sizeof *self->pfs);
    assert(self->pfs);
    self->pf_count = inv->pf_count;
    s_ctx_t c = {self, policy, source, host, NULL, 0};
    s_select_groups(&c);
    s_check_entries_match(&c);
    for (size_t i = 0; i < self->pf_count; i++) {
        self->pfs[i].pf = &inv->pfs[i];
        s_plan_pf(&c, &self->pfs[i]);
    }
    s_check_vf_total(&c);
    for (size_t i = 0; i < host->held_vf_count; i++)
        s_check_held_vf(&c, &host->held_vfs[i]);
    for (size_t i = 0; i < self->pf_count; i++)
        s_check_count_change(&c, &self->pfs[i]);
    vfp_apply_hugepages_t pool;
    bool has_pool = s_plan_hugepages(&c, &pool);
    if (self->conflicts.count == 0)
        self->msg = s_build_apply(&c, has_pool ? &pool : NULL);
    free(c.groups);
    return self;
}

void apply_plan_destroy(apply_plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apply_plan_t *self = *self_p;
    for (size_t i = 0; i < self->pf_count; i++) {
        free(self->pfs[i].networks);
        free(self->pfs[i].held);
    }
    free(self->pfs);
    s_lines_free(&self->conflicts);
    free(self->host_only);
    vfp_msg_destroy(&self->msg);
    free(self);
    *self_p = NULL;
}

size_t apply_plan_conflict_count(const apply_plan_t *self)
{
    return self->conflicts.count;
}

const char *apply_plan_conflict(const apply_plan_t *self, size_t index)
{
    return index < self->conflicts.count ? self->conflicts.items[index] : NULL;
}

bool apply_plan_conflict_host_only(const apply_plan_t *self, size_t index)
{
    return index < self->host_only_size && self->host_only[index];
}

bool apply_plan_refuses_host_only(const apply_plan_t *self)
{
    for (size_t i = 0; i < self->conflicts.count; i++)
        if (!apply_plan_conflict_host_only(self, i))
            return false;
    return self->conflicts.count > 0;
}

const vfp_apply_t *apply_plan_apply(const apply_plan_t *self)
{
    return self->msg ? &self->msg->u.apply : NULL;
}

vfp_msg_t *apply_plan_take_msg(apply_plan_t *self)
{
    vfp_msg_t *msg = self->msg;
    self->msg = NULL;
    return msg;
}

const char *const *apply_plan_pf_networks(const apply_plan_t *self,
                                          const char *pf, size_t *count)
{
    const s_pf_plan_t *plan = s_find_pf(self, pf);
    if (!plan || !plan->entry) {
        *count = 0;
        return NULL;
    }
    *count = plan->network_count;
    return plan->networks;
}

/* ---- diff ----------------------------------------------------------- */

struct apply_plan_diff_t {
    s_lines_t lines;
};

/* One APPLY's items, sorted so two can be walked side by side. */
typedef struct {
    const vfp_apply_pf_t **pfs;
    size_t pf_count;
    const vfp_apply_vf_t **vfs;
    size_t vf_count;
    const vfp_apply_hugepages_t **pools;
    size_t pool_count;
} s_sorted_t;

static int s_pf_compare(const void *a, const void *b)
{
    const vfp_apply_pf_t *x = *(const vfp_apply_pf_t *const *)a;
    const vfp_apply_pf_t *y = *(const vfp_apply_pf_t *const *)b;
    return strcmp(x->pf, y->pf);
}

static int s_vf_compare(const void *a, const void *b)
{
    const vfp_apply_vf_t *x = *(const vfp_apply_vf_t *const *)a;
    const vfp_apply_vf_t *y = *(const vfp_apply_vf_t *const *)b;
    int rc = strcmp(x->pf, y->pf);
    if (rc)
        return rc;
    return (x->index > y->index) - (x->index < y->index);
}

static int s_pool_compare(const void *a, const void *b)
{
    const vfp_apply_hugepages_t *x = *(const vfp_apply_hugepages_t *const *)a;
    const vfp_apply_hugepages_t *y = *(const vfp_apply_hugepages_t *const *)b;
    return (x->size_kb > y->size_kb) - (x->size_kb < y->size_kb);
}

static void s_sorted_init(s_sorted_t *s, const vfp_apply_t *apply)
{
    *s = (s_sorted_t){0};
    static const vfp_apply_t empty;
    if (!apply)
        apply = &empty;
    s->pfs = calloc(apply->pf_count + 1, sizeof *s->pfs);
    s->vfs = calloc(apply->vf_count + 1, sizeof *s->vfs);
    s->pools = calloc(apply->hugepage_count + 1, sizeof *s->pools);
    assert(s->pfs && s->vfs && s->pools);
    for (s->pf_count = 0; s->pf_count < apply->pf_count; s->pf_count++)
        s->pfs[s->pf_count] = &apply->pfs[s->pf_count];
    for (s->vf_count = 0; s->vf_count < apply->vf_count; s->vf_count++)
        s->vfs[s->vf_count] = &apply->vfs[s->vf_count];
    for (s->pool_count = 0; s->pool_count < apply->hugepage_count;
         s->pool_count++)
        s->pools[s->pool_count] = &apply->hugepages[s->pool_count];
    qsort(s->pfs, s->pf_count, sizeof *s->pfs, s_pf_compare);
    qsort(s->vfs, s->vf_count, sizeof *s->vfs, s_vf_compare);
    qsort(s->pools, s->pool_count, sizeof *s->pools, s_pool_compare);
}

static void s_sorted_free(s_sorted_t *s)
{
    free(s->pfs);
    free(s->vfs);
    free(s->pools);
}

/* The settings of a VF in `ip link set DEV vf N` words, one per slot;
 * "unset" for a setting the APPLY leaves alone. */
enum { S_ATTR_COUNT = 10 };

static const char *const s_attr_names[S_ATTR_COUNT] = {
    "mac",   "vlan",       "qos",         "proto",       "spoofchk",
    "trust", "link-state", "min_tx_rate", "max_tx_rate", "mtu"};

static void s_vf_words(const vfp_apply_vf_t *vf, char words[][24])
{
    static const uint16_t bits[S_ATTR_COUNT] = {
        VFP_SET_MAC,      VFP_SET_VLAN,  VFP_SET_VLAN,       VFP_SET_VLAN,
        VFP_SET_SPOOFCHK, VFP_SET_TRUST, VFP_SET_LINK_STATE, VFP_SET_RATE,
        VFP_SET_RATE,     VFP_SET_MTU};
    vfp_mac_format(vf->mac, words[0]);
    snprintf(words[1], 24, "%u", vf->vlan);
    snprintf(words[2], 24, "%u", vf->qos);
    snprintf(words[3], 24, "%s",
             vf->vlan_proto == VFP_VLAN_PROTO_8021AD ? "802.1ad" : "802.1Q");
    snprintf(words[4], 24, "%s", vfp_flag_name(vf->spoofchk));
    snprintf(words[5], 24, "%s", vfp_flag_name(vf->trust));
    snprintf(words[6], 24, "%s", vfp_link_state_name(vf->link_state));
    snprintf(words[7], 24, "%" PRIu32, vf->min_tx_rate);
    snprintf(words[8], 24, "%" PRIu32, vf->max_tx_rate);
    snprintf(words[9], 24, "%u", vf->mtu);
    for (int i = 0; i < S_ATTR_COUNT; i++)
        if (!(vf->set & bits[i]))
            snprintf(words[i], 24, "unset");
}

static void s_diff_vf(apply_plan_diff_t *self, const char *host,
                      const vfp_apply_vf_t *o, const vfp_apply_vf_t *n)
{
    const vfp_apply_vf_t *any = o ? o : n;
    if (!n) {
        s_lines_add(&self->lines, "%s: pf %s: vf %u no longer managed", host,
                    any->pf, any->index);
        return;
    }
    char new_words[S_ATTR_COUNT][24], old_words[S_ATTR_COUNT][24];
    s_vf_words(n, new_words);
    if (!o) {
        char all[S_ATTR_COUNT * 40] = "";
        size_t len = 0;
        for (int i = 0; i < S_ATTR_COUNT; i++)
            if (strcmp(new_words[i], "unset") && len < sizeof all)
                len += (size_t)snprintf(all + len, sizeof all - len, " %s %s",
                                        s_attr_names[i], new_words[i]);
        s_lines_add(&self->lines, "%s: pf %s: vf %u new:%s", host, n->pf,
                    n->index, all);
        return;
    }
    s_vf_words(o, old_words);
    for (int i = 0; i < S_ATTR_COUNT; i++)
        if (strcmp(old_words[i], new_words[i]))
            s_lines_add(&self->lines, "%s: pf %s: vf %u %s %s -> %s", host,
                        n->pf, n->index, s_attr_names[i], old_words[i],
                        new_words[i]);
}

static void s_diff_pf(apply_plan_diff_t *self, const char *host, const char *pf,
                      const vfp_apply_pf_t *o, const vfp_apply_pf_t *n)
{
    char was[16] = "unmanaged", now[16] = "unmanaged";
    if (o)
        snprintf(was, sizeof was, "%u", o->num_vfs);
    if (n)
        snprintf(now, sizeof now, "%u", n->num_vfs);
    if (strcmp(was, now))
        s_lines_add(&self->lines, "%s: pf %s: num_vfs %s -> %s", host, pf, was,
                    now);
}

/* The smallest PF name still ahead in either APPLY, or NULL. */
static const char *s_next_pf(const s_sorted_t *s, size_t pf_at, size_t vf_at,
                             const char *best)
{
    if (pf_at < s->pf_count && (!best || strcmp(s->pfs[pf_at]->pf, best) < 0))
        best = s->pfs[pf_at]->pf;
    if (vf_at < s->vf_count && (!best || strcmp(s->vfs[vf_at]->pf, best) < 0))
        best = s->vfs[vf_at]->pf;
    return best;
}

/* The VF items of one PF, walked side by side by index. */
static void s_diff_pf_vfs(apply_plan_diff_t *self, const char *host,
                          const char *pf, const s_sorted_t *o, size_t *oi,
                          const s_sorted_t *n, size_t *ni)
{
    for (;;) {
        const vfp_apply_vf_t *ov =
            *oi < o->vf_count && strcmp(o->vfs[*oi]->pf, pf) == 0 ? o->vfs[*oi]
                                                                  : NULL;
        const vfp_apply_vf_t *nv =
            *ni < n->vf_count && strcmp(n->vfs[*ni]->pf, pf) == 0 ? n->vfs[*ni]
                                                                  : NULL;
        if (!ov && !nv)
            return;
        if (ov && nv && ov->index != nv->index) {
            if (ov->index < nv->index)
                nv = NULL;
            else
                ov = NULL;
        }
        s_diff_vf(self, host, ov, nv);
        *oi += ov != NULL;
        *ni += nv != NULL;
    }
}

static void s_diff_pools(apply_plan_diff_t *self, const char *host,
                         const s_sorted_t *o, const s_sorted_t *n)
{
    size_t oi = 0, ni = 0;
    while (oi < o->pool_count || ni < n->pool_count) {
        const vfp_apply_hugepages_t *op =
            oi < o->pool_count ? o->pools[oi] : NULL;
        const vfp_apply_hugepages_t *np =
            ni < n->pool_count ? n->pools[ni] : NULL;
        if (op && np && op->size_kb != np->size_kb) {
            if (op->size_kb < np->size_kb)
                np = NULL;
            else
                op = NULL;
        }
        char was[24] = "unmanaged", now[24] = "unmanaged";
        if (op)
            snprintf(was, sizeof was, "%" PRIu64, op->pages);
        if (np)
            snprintf(now, sizeof now, "%" PRIu64, np->pages);
        if (strcmp(was, now))
            s_lines_add(&self->lines,
                        "%s: hugepages %" PRIu32 "kB: pages %s -> %s", host,
                        (op ? op : np)->size_kb, was, now);
        oi += op != NULL;
        ni += np != NULL;
    }
}

apply_plan_diff_t *apply_plan_diff_new(const char *host,
                                       const vfp_apply_t *old_apply,
                                       const vfp_apply_t *new_apply)
{
    assert(host && new_apply);
    apply_plan_diff_t *self = calloc(1, sizeof *self);
    assert(self);
    s_sorted_t o, n;
    s_sorted_init(&o, old_apply);
    s_sorted_init(&n, new_apply);
    size_t opf = 0, npf = 0, ovf = 0, nvf = 0;
    for (;;) {
        const char *pf = s_next_pf(&n, npf, nvf, s_next_pf(&o, opf, ovf, NULL));
        if (!pf)
            break;
        const vfp_apply_pf_t *op =
            opf < o.pf_count && strcmp(o.pfs[opf]->pf, pf) == 0 ? o.pfs[opf++]
                                                                : NULL;
        const vfp_apply_pf_t *np =
            npf < n.pf_count && strcmp(n.pfs[npf]->pf, pf) == 0 ? n.pfs[npf++]
                                                                : NULL;
        s_diff_pf(self, host, pf, op, np);
        s_diff_pf_vfs(self, host, pf, &o, &ovf, &n, &nvf);
    }
    s_diff_pools(self, host, &o, &n);
    s_sorted_free(&o);
    s_sorted_free(&n);
    return self;
}

void apply_plan_diff_destroy(apply_plan_diff_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_lines_free(&(*self_p)->lines);
    free(*self_p);
    *self_p = NULL;
}

size_t apply_plan_diff_count(const apply_plan_diff_t *self)
{
    return self->lines.count;
}

const char *apply_plan_diff_line(const apply_plan_diff_t *self, size_t index)
{
    return index < self->lines.count ? self->lines.items[index] : NULL;
}
