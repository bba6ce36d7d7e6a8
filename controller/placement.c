/* placement.c - the in-memory placement index (placement.h): hosts kept
 * ordered by free memory for the walk, free VF counts per host and network,
 * held MACs with a lowest-free cursor, and the filter that explains every
 * refusal. */
#include "placement.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_match.h"

/* s_check's answer for a host that passes every rule. */
#define S_PASS PLACEMENT_RULE_COUNT
/* Nodes one VF search may visit. Free VF counts, separate PFs and NUMA are
 * decided exactly by the matching that prunes the search; only guaranteed
 * rates of different networks sharing a PF (a bin packing) can make it
 * backtrack, so the bound only keeps a contrived host from stalling the
 * main thread. */
#define S_SEARCH_STEPS_MAX 20000
#define S_REASON_MAX 1024
/* Per rule the refusal keeps the closest hosts: the ones the text may name
 * one by one, and the next one, whose reason stands for the rest. */
#define S_TOP (PLACEMENT_CLOSEST_MAX + 1)

/* ---- the model ------------------------------------------------------- */

typedef struct {
    uint16_t index;
    bool in_use;
    char *pci;
} s_vf_t;

typedef struct {
    char *pci;
    char *ifname;
    int numa;
    uint32_t link_speed;
    char **networks; /* as the caller named them */
    size_t network_count;
    size_t *nets; /* the policy's indexes of those it defines */
    size_t net_count;
    s_vf_t *vfs; /* candidates, by index */
    size_t vf_count;
    uint64_t *free_bits; /* bit i: vfs[i] is free */
    size_t free_count;
    uint64_t guaranteed; /* Mbit/s of min_tx_rate held by VMs */
} s_pf_t;

typedef struct s_vm s_vm_t;

typedef struct {
    const char *group; /* interned */
    size_t count;
} s_group_count_t;

/* A host the caller set (known) or only one VMs name (kept for their
 * sake until it is set or they go). */
typedef struct {
    char *name;
    bool known;
    bool ready;
    bool cordoned;
    bool iommu_ready;
    int64_t down_since_ms;
    uint64_t mem_total_mib;
    uint64_t mem_used_mib; /* VMs' memory, rounded to pages */
    s_pf_t *pfs;
    size_t pf_count;
    size_t *net_free; /* free VFs per policy network */
    size_t free_vfs;
    s_vm_t **vms;
    size_t vm_count, vm_max;
    s_group_count_t *groups;
    size_t group_count, group_max;
    bool in_walk;
    uint64_t walk_free; /* the free memory it is ordered by */
} s_host_t;

typedef struct {
    char *network;
    uint8_t mac[6];
    char *pf; /* NULL: holds no VF */
    uint16_t vf;
} s_nic_t;

struct s_vm {
    char *name;
    s_host_t *host;
    uint64_t memory_mib;
    const char *group; /* interned; NULL: none */
    s_nic_t *nics;
    size_t nic_count;
    const char **groups; /* interned: its own, then the policy's */
    size_t group_count;
};

typedef struct {
    char *name;
    uint32_t min_tx_rate;
} s_net_t;

/* One pool prefix, numbered into one sequence of MACs over all pools. */
typedef struct {
    uint8_t octets[6];
    uint8_t length;
    uint64_t base;
    uint64_t size;
} s_prefix_t;

typedef struct {
    const char *name; /* interned */
    char **globs;
    size_t glob_count;
} s_aa_t;

/* Held MACs: open addressing on the 48-bit value (0 never held). */
typedef struct {
    uint64_t key;
    s_vm_t *vm;
} s_mac_slot_t;

/* What one search keeps per PF. */
typedef struct {
    size_t taken;    /* VFs this request takes there */
    uint64_t extra;  /* Mbit/s this request guarantees there */
    bool used;       /* for separate PFs */
    size_t load;     /* matching */
    bool seen;       /* matching */
    size_t next_pos; /* VF choice */
} s_pf_state_t;

struct placement_t {
    bool has_policy;
    policy_strategy_t strategy;
    policy_hugepages_t hugepages;
    uint64_t reserve_mib;
    s_net_t *nets; /* by name */
    size_t net_count;
    s_prefix_t *prefixes;
    size_t prefix_count;
    uint64_t mac_total;    /* numbered MACs */
    uint64_t mac_capacity; /* less 00:00:00:00:00:00 */
    uint64_t mac_cursor;   /* every MAC numbered below it is held */
    s_aa_t *aa;
    size_t aa_count;
    zhashx_t *hosts; /* name -> s_host_t */
    size_t known_count;
    zhashx_t *vms;    /* name -> s_vm_t */
    zhashx_t *groups; /* group name -> interned copy */
    s_mac_slot_t *macs;
    size_t mac_mask, mac_count;
    s_host_t **walk; /* eligible hosts by (free memory, name) */
    size_t walk_count, walk_max;
    const char **req_groups; /* scratch of 1 + aa_count */
    s_pf_state_t *pf_state;  /* scratch of pf_max */
    size_t pf_max;
};

typedef struct {
    const s_host_t *host;
    placement_rule_t rule;
    uint64_t metric;
} s_cand_t;

struct placement_refusal_t {
    bool request;
    char *text;
    size_t hosts[PLACEMENT_RULE_COUNT];
    char *example[PLACEMENT_RULE_COUNT];
    size_t closest_count;
    char *closest_host[PLACEMENT_CLOSEST_MAX];
    placement_rule_t closest_rule[PLACEMENT_CLOSEST_MAX];
    char *closest_reason[PLACEMENT_CLOSEST_MAX];
};

/* A request as the index checks it. */
typedef struct {
    const placement_request_t *r;
    uint64_t memory; /* rounded */
    size_t n;
    size_t net[PLACEMENT_NICS_MAX];
    uint32_t rate[PLACEMENT_NICS_MAX];
    const char **groups;
    size_t group_count;
    s_host_t *pin;
    const s_host_t *avoid;             /* never considered; NULL: none */
    size_t choice[PLACEMENT_NICS_MAX]; /* PF per NIC, of the last fit */
} s_req_t;

/* One VF search on one host. */
typedef struct {
    const s_host_t *host;
    const s_req_t *req;
    s_pf_state_t *st;
    bool distinct;
    bool numa_any;
    int numa;
    size_t steps;
    size_t assign[PLACEMENT_NICS_MAX];
} s_search_t;

/* ---- small helpers --------------------------------------------------- */

static char *s_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    assert(copy);
    return copy;
}

static void *s_grow(void *array, size_t *max, size_t need, size_t size)
{
    if (need <= *max)
        return array;
    size_t next = *max ? *max * 2 : 8;
    while (next < need)
        next *= 2;
    array = realloc(array, next * size);
    assert(array);
    *max = next;
    return array;
}

static uint64_t s_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t s_sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Appends to a heap string. */
static void s_append(char **text, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *more = zsys_vprintf(fmt, ap);
    va_end(ap);
    assert(more);
    size_t len = *text ? strlen(*text) : 0;
    char *joined = realloc(*text, len + strlen(more) + 1);
    assert(joined);
    memcpy(joined + len, more, strlen(more) + 1);
    free(more);
    *text = joined;
}

static void s_mac_text(const uint8_t *mac, char *buf, size_t size)
{
    policy_mac_format(mac, 6, buf, size);
}

static uint64_t s_mac_key(const uint8_t *mac)
{
    uint64_t key = 0;
    for (size_t i = 0; i < 6; i++)
        key = key << 8 | mac[i];
    return key;
}

static void s_mac_octets(uint64_t key, uint8_t *mac)
{
    for (size_t i = 6; i-- > 0;) {
        mac[i] = (uint8_t)(key & 0xff);
        key >>= 8;
    }
}

/* Memory as the refusal texts show it: MiB below 1 GiB, otherwise GiB with
 * one decimal (dropped when 0). Free memory rounds down and the need up,
 * so the two never read the same. */
static void s_mib_text(uint64_t mib, bool up, char *buf, size_t size)
{
    if (mib < 1024) {
        snprintf(buf, size, "%" PRIu64 " MiB", mib);
        return;
    }
    uint64_t tenths =
        mib / 1024 * 10 + (mib % 1024 * 10 + (up ? 1023 : 0)) / 1024;
    if (tenths % 10)
        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " GiB", tenths / 10,
                 tenths % 10);
    else
        snprintf(buf, size, "%" PRIu64 " GiB", tenths / 10);
}

/* ---- held MACs ------------------------------------------------------- */

static size_t s_mac_slot(const placement_t *self, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & self->mac_mask;
}

static s_vm_t *s_mac_get(const placement_t *self, uint64_t key)
{
    if (!self->macs)
        return NULL;
    for (size_t i = s_mac_slot(self, key);; i = (i + 1) & self->mac_mask) {
        if (self->macs[i].key == key)
            return self->macs[i].vm;
        if (self->macs[i].key == 0)
            return NULL;
    }
}

static void s_mac_insert(placement_t *self, uint64_t key, s_vm_t *vm)
{
    size_t i = s_mac_slot(self, key);
    while (self->macs[i].key != 0 && self->macs[i].key != key)
        i = (i + 1) & self->mac_mask;
    if (self->macs[i].key == 0)
        self->mac_count++;
    self->macs[i].key = key;
    self->macs[i].vm = vm;
}

static void s_mac_put(placement_t *self, uint64_t key, s_vm_t *vm)
{
    if ((self->mac_count + 1) * 2 > self->mac_mask + 1 || !self->macs) {
        s_mac_slot_t *old = self->macs;
        size_t old_size = old ? self->mac_mask + 1 : 0;
        size_t size = old_size ? old_size * 2 : 1024;
        self->macs = calloc(size, sizeof(*self->macs));
        assert(self->macs);
        self->mac_mask = size - 1;
        self->mac_count = 0;
        for (size_t i = 0; i < old_size; i++)
            if (old[i].key)
                s_mac_insert(self, old[i].key, old[i].vm);
        free(old);
    }
    s_mac_insert(self, key, vm);
}

/* Forgets key when vm holds it; later entries of its probe run move back
 * so that no lookup stops early. */
static void s_mac_delete(placement_t *self, uint64_t key, const s_vm_t *vm)
{
    if (!self->macs)
        return;
    size_t i = s_mac_slot(self, key);
    while (self->macs[i].key != key) {
        if (self->macs[i].key == 0)
            return;
        i = (i + 1) & self->mac_mask;
    }
    if (self->macs[i].vm != vm)
        return;
    self->macs[i].key = 0;
    self->mac_count--;
    for (size_t j = (i + 1) & self->mac_mask; self->macs[j].key;
         j = (j + 1) & self->mac_mask) {
        size_t home = s_mac_slot(self, self->macs[j].key);
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        self->macs[i] = self->macs[j];
        self->macs[j].key = 0;
        i = j;
    }
}

/* ---- MAC pools ------------------------------------------------------- */

static void s_pool_mac(const placement_t *self, uint64_t ordinal, uint8_t *mac)
{
    size_t i = 0;
    while (i + 1 < self->prefix_count && self->prefixes[i + 1].base <= ordinal)
        i++;
    const s_prefix_t *prefix = &self->prefixes[i];
    uint8_t suffix[6];
    s_mac_octets(ordinal - prefix->base, suffix);
    memcpy(mac, prefix->octets, prefix->length);
    memcpy(mac + prefix->length, suffix + prefix->length,
           6 - (size_t)prefix->length);
}

/* The MAC's number in the pools' sequence; UINT64_MAX when in no pool. */
static uint64_t s_pool_ordinal(const placement_t *self, const uint8_t *mac)
{
    for (size_t i = 0; i < self->prefix_count; i++) {
        const s_prefix_t *prefix = &self->prefixes[i];
        if (memcmp(mac, prefix->octets, prefix->length) != 0)
            continue;
        uint8_t suffix[6] = {0};
        memcpy(suffix + prefix->length, mac + prefix->length,
               6 - (size_t)prefix->length);
        return prefix->base + s_mac_key(suffix);
    }
    return UINT64_MAX;
}

/* Whether the pool MAC of that number can be handed out, apart from the
 * MACs this request already took (taken, count). */
static bool s_pool_free(const placement_t *self, uint64_t ordinal,
                        const uint64_t *taken, size_t count, uint64_t *key)
{
    uint8_t mac[6];
    s_pool_mac(self, ordinal, mac);
    *key = s_mac_key(mac);
    if (*key == 0 || s_mac_get(self, *key))
        return false;
    for (size_t i = 0; i < count; i++)
        if (taken[i] == *key)
            return false;
    return true;
}

/* The lowest free pool MAC; -1 when the pools are exhausted. */
static int s_pool_take(placement_t *self, const uint64_t *taken, size_t count,
                       uint64_t *key)
{
    /* Moving the cursor over held MACs changes nothing but the next scan's
     * start. */
    while (self->mac_cursor < self->mac_total &&
           !s_pool_free(self, self->mac_cursor, NULL, 0, key))
        self->mac_cursor++;
    for (uint64_t o = self->mac_cursor; o < self->mac_total; o++)
        if (s_pool_free(self, o, taken, count, key))
            return 0;
    return -1;
}

/* Gives every NIC its MAC, or says why not. */
static int s_macs_choose(placement_t *self, const placement_request_t *r,
                         placement_decision_t *out, char *err, size_t size)
{
    uint64_t taken[PLACEMENT_NICS_MAX];
    size_t count = 0;
    char text[32];
    for (size_t i = 0; i < r->nic_count; i++) {
        if (!r->nics[i].has_mac)
            continue;
        const uint8_t *mac = r->nics[i].mac;
        uint64_t key = s_mac_key(mac);
        s_mac_text(mac, text, sizeof(text));
        const s_vm_t *holder = s_mac_get(self, key);
        bool twice = false;
        for (size_t j = 0; j < count; j++)
            twice |= taken[j] == key;
        if (key == 0)
            snprintf(err, size, "mac %s means no MAC", text);
        else if (mac[0] & 1)
            snprintf(err, size, "mac %s is multicast", text);
        else if (holder)
            snprintf(err, size, "mac %s is held by vm %s", text, holder->name);
        else if (twice)
            snprintf(err, size, "mac %s is given to more than one nic", text);
        if (key == 0 || (mac[0] & 1) || holder || twice)
            return -1;
        taken[count++] = key;
        memcpy(out->nics[i].mac, mac, 6);
    }
    for (size_t i = 0; i < r->nic_count; i++) {
        if (r->nics[i].has_mac)
            continue;
        uint64_t key;
        if (self->prefix_count == 0) {
            snprintf(err, size,
                     "nic %zu has no mac and the policy defines no mac pool",
                     i);
            return -1;
        }
        if (s_pool_take(self, taken, count, &key) != 0) {
            snprintf(err, size,
                     "mac pools are exhausted (%" PRIu64 " addresses)",
                     self->mac_capacity);
            return -1;
        }
        taken[count++] = key;
        s_mac_octets(key, out->nics[i].mac);
    }
    return 0;
}

/* ---- policy ---------------------------------------------------------- */

static uint64_t s_round(const placement_t *self, uint64_t mib)
{
    uint64_t page = self->hugepages == POLICY_HUGEPAGES_1G   ? 1024
                    : self->hugepages == POLICY_HUGEPAGES_2M ? 2
                                                             : 1;
    if (mib > UINT64_MAX - (page - 1))
        return UINT64_MAX / page * page;
    return (mib + page - 1) / page * page;
}

static int s_net_sort(const void *a, const void *b)
{
    return strcmp(((const s_net_t *)a)->name, ((const s_net_t *)b)->name);
}

static int s_net_compare(const void *key, const void *item)
{
    return strcmp(key, ((const s_net_t *)item)->name);
}

/* The policy's index of a network; SIZE_MAX when it defines none. */
static size_t s_net_find(const placement_t *self, const char *name)
{
    if (!name || !self->nets)
        return SIZE_MAX;
    const s_net_t *net = bsearch(name, self->nets, self->net_count,
                                 sizeof(*self->nets), s_net_compare);
    return net ? (size_t)(net - self->nets) : SIZE_MAX;
}

static const char *s_intern(placement_t *self, const char *name)
{
    if (!name || !*name)
        return NULL;
    const char *copy = zhashx_lookup(self->groups, name);
    if (!copy) {
        copy = s_strdup(name);
        zhashx_insert(self->groups, name, (void *)copy);
    }
    return copy;
}

static void s_policy_clear(placement_t *self)
{
    for (size_t i = 0; i < self->net_count; i++)
        free(self->nets[i].name);
    free(self->nets);
    for (size_t i = 0; i < self->aa_count; i++) {
        for (size_t j = 0; j < self->aa[i].glob_count; j++)
            free(self->aa[i].globs[j]);
        free(self->aa[i].globs);
    }
    free(self->aa);
    free(self->prefixes);
    self->nets = NULL;
    self->aa = NULL;
    self->prefixes = NULL;
    self->net_count = self->aa_count = self->prefix_count = 0;
    self->mac_total = self->mac_capacity = self->mac_cursor = 0;
    self->has_policy = false;
}

static void s_policy_copy_pools(placement_t *self, const policy_t *policy)
{
    size_t count = 0;
    for (size_t i = 0; i < policy->mac_pool_count; i++)
        count += policy->mac_pools[i].prefix_count;
    self->prefixes = calloc(count ? count : 1, sizeof(*self->prefixes));
    assert(self->prefixes);
    for (size_t i = 0; i < policy->mac_pool_count; i++) {
        const policy_mac_pool_t *pool = &policy->mac_pools[i];
        for (size_t j = 0; j < pool->prefix_count; j++) {
            s_prefix_t *prefix = &self->prefixes[self->prefix_count++];
            memcpy(prefix->octets, pool->prefixes[j].octets, 6);
            prefix->length = pool->prefixes[j].length;
            prefix->base = self->mac_total;
            prefix->size = 1ULL << (8 * (6 - prefix->length));
            self->mac_total += prefix->size;
            uint8_t zero[6] = {0};
            bool holds_zero = memcmp(prefix->octets, zero, prefix->length) == 0;
            self->mac_capacity += prefix->size - (holds_zero ? 1 : 0);
        }
    }
}

static void s_policy_copy(placement_t *self, const policy_t *policy)
{
    self->has_policy = true;
    self->strategy = policy->strategy;
    self->hugepages = policy->hugepages;
    self->reserve_mib = policy->hypervisor_reserve_mib;
    self->nets = calloc(policy->network_count + 1, sizeof(*self->nets));
    assert(self->nets);
    self->net_count = policy->network_count;
    for (size_t i = 0; i < policy->network_count; i++) {
        self->nets[i].name = s_strdup(policy->networks[i].name);
        self->nets[i].min_tx_rate = policy->networks[i].min_tx_rate;
    }
    qsort(self->nets, self->net_count, sizeof(*self->nets), s_net_sort);
    s_policy_copy_pools(self, policy);
    self->aa = calloc(policy->anti_affinity_count + 1, sizeof(*self->aa));
    assert(self->aa);
    self->aa_count = policy->anti_affinity_count;
    for (size_t i = 0; i < self->aa_count; i++) {
        const policy_anti_affinity_t *group = &policy->anti_affinity[i];
        s_aa_t *aa = &self->aa[i];
        aa->name = s_intern(self, group->name);
        aa->globs = calloc(group->vm_count + 1, sizeof(*aa->globs));
        assert(aa->globs);
        aa->glob_count = group->vm_count;
        for (size_t j = 0; j < group->vm_count; j++)
            aa->globs[j] = s_strdup(group->vms[j]);
    }
    self->req_groups =
        realloc(self->req_groups, (self->aa_count + 1) * sizeof(char *));
    assert(self->req_groups);
}

/* Whether the policy's anti-affinity group selects the VM name. */
static bool s_aa_selects(const s_aa_t *aa, const char *name)
{
    for (size_t i = 0; i < aa->glob_count; i++)
        if (policy_glob_match(aa->globs[i], name))
            return true;
    return false;
}

/* The VM's groups: its own, then every policy group selecting its name,
 * into groups (room for 1 + aa_count). */
static size_t s_groups_of(const placement_t *self, const char *name,
                          const char *own, const char **groups)
{
    size_t count = 0;
    if (own)
        groups[count++] = own;
    for (size_t i = 0; i < self->aa_count; i++)
        if (self->aa[i].name != own && s_aa_selects(&self->aa[i], name))
            groups[count++] = self->aa[i].name;
    return count;
}

static void s_vm_regroup(placement_t *self, s_vm_t *vm)
{
    vm->groups = realloc(vm->groups, (self->aa_count + 1) * sizeof(char *));
    assert(vm->groups);
    vm->group_count = s_groups_of(self, vm->name, vm->group, vm->groups);
}

/* ---- hosts ----------------------------------------------------------- */

static uint64_t s_host_free_mib(const placement_t *self, const s_host_t *host)
{
    uint64_t reservable = s_sub_sat(host->mem_total_mib, self->reserve_mib);
    return s_sub_sat(reservable, host->mem_used_mib);
}

static bool s_pf_carries(const s_pf_t *pf, size_t net)
{
    for (size_t i = 0; i < pf->net_count; i++)
        if (pf->nets[i] == net)
            return true;
    return false;
}

static bool s_bit(const uint64_t *bits, size_t pos)
{
    return bits[pos / 64] >> (pos % 64) & 1;
}

/* Marks a candidate free or taken, keeping the counts. */
static void s_pf_mark(s_host_t *host, s_pf_t *pf, size_t pos, bool free_now)
{
    if (s_bit(pf->free_bits, pos) == free_now)
        return;
    pf->free_bits[pos / 64] ^= 1ULL << (pos % 64);
    pf->free_count += free_now ? 1 : (size_t)-1;
    host->free_vfs += free_now ? 1 : (size_t)-1;
    for (size_t i = 0; i < pf->net_count; i++)
        host->net_free[pf->nets[i]] += free_now ? 1 : (size_t)-1;
}

static s_pf_t *s_pf_find(s_host_t *host, const char *pci)
{
    for (size_t i = 0; i < host->pf_count; i++)
        if (strcmp(host->pfs[i].pci, pci) == 0)
            return &host->pfs[i];
    return NULL;
}

/* The candidate position of VF index; SIZE_MAX when not a candidate. */
static size_t s_vf_pos(const s_pf_t *pf, uint16_t index)
{
    size_t lo = 0, hi = pf->vf_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pf->vfs[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < pf->vf_count && pf->vfs[lo].index == index ? lo : SIZE_MAX;
}

static void s_host_group_add(s_host_t *host, const char *group, bool add)
{
    for (size_t i = 0; i < host->group_count; i++) {
        if (host->groups[i].group != group)
            continue;
        if (add)
            host->groups[i].count++;
        else if (--host->groups[i].count == 0)
            host->groups[i] = host->groups[--host->group_count];
        return;
    }
    assert(add);
    host->groups = s_grow(host->groups, &host->group_max, host->group_count + 1,
                          sizeof(*host->groups));
    host->groups[host->group_count++] = (s_group_count_t){group, 1};
}

/* Adds (take) or gives back what the VM holds on its host: memory, groups,
 * VFs and guaranteed rates. */
static void s_host_take(placement_t *self, s_host_t *host, const s_vm_t *vm,
                        bool take)
{
    uint64_t memory = s_round(self, vm->memory_mib);
    host->mem_used_mib = take ? s_add_sat(host->mem_used_mib, memory)
                              : s_sub_sat(host->mem_used_mib, memory);
    for (size_t i = 0; i < vm->group_count; i++)
        s_host_group_add(host, vm->groups[i], take);
    for (size_t i = 0; i < vm->nic_count; i++) {
        const s_nic_t *nic = &vm->nics[i];
        s_pf_t *pf = nic->pf ? s_pf_find(host, nic->pf) : NULL;
        if (!pf)
            continue;
        size_t net = s_net_find(self, nic->network);
        uint64_t rate = net == SIZE_MAX ? 0 : self->nets[net].min_tx_rate;
        pf->guaranteed = take ? s_add_sat(pf->guaranteed, rate)
                              : s_sub_sat(pf->guaranteed, rate);
        size_t pos = s_vf_pos(pf, nic->vf);
        if (pos != SIZE_MAX && !pf->vfs[pos].in_use)
            s_pf_mark(host, pf, pos, !take);
    }
}

static int s_walk_compare(uint64_t free_mib, const char *name,
                          const s_host_t *host)
{
    if (free_mib != host->walk_free)
        return free_mib < host->walk_free ? -1 : 1;
    return strcmp(name, host->name);
}

/* The first position whose host orders at or after (free_mib, name). */
static size_t s_walk_lower(const placement_t *self, uint64_t free_mib,
                           const char *name)
{
    size_t lo = 0, hi = self->walk_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s_walk_compare(free_mib, name, self->walk[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool s_host_walkable(const s_host_t *host)
{
    return host->known && host->ready && !host->cordoned && host->iommu_ready &&
           host->free_vfs > 0;
}

/* Puts the host where its free memory now orders it, or takes it out of
 * the walk when it cannot take any VM. */
static void s_host_reindex(placement_t *self, s_host_t *host)
{
    if (host->in_walk) {
        size_t at = s_walk_lower(self, host->walk_free, host->name);
        assert(at < self->walk_count && self->walk[at] == host);
        memmove(&self->walk[at], &self->walk[at + 1],
                (self->walk_count - at - 1) * sizeof(*self->walk));
        self->walk_count--;
        host->in_walk = false;
    }
    if (!s_host_walkable(host))
        return;
    host->walk_free = s_host_free_mib(self, host);
    size_t at = s_walk_lower(self, host->walk_free, host->name);
    self->walk = s_grow(self->walk, &self->walk_max, self->walk_count + 1,
                        sizeof(*self->walk));
    memmove(&self->walk[at + 1], &self->walk[at],
            (self->walk_count - at) * sizeof(*self->walk));
    self->walk[at] = host;
    self->walk_count++;
    host->in_walk = true;
}

static void s_pf_reset(placement_t *self, s_pf_t *pf)
{
    pf->net_count = 0;
    for (size_t i = 0; i < pf->network_count; i++) {
        size_t net = s_net_find(self, pf->networks[i]);
        if (net != SIZE_MAX && !s_pf_carries(pf, net))
            pf->nets[pf->net_count++] = net;
    }
    memset(pf->free_bits, 0, (pf->vf_count / 64 + 1) * sizeof(uint64_t));
    pf->free_count = 0;
    for (size_t i = 0; i < pf->vf_count; i++) {
        if (!pf->vfs[i].in_use) {
            pf->free_bits[i / 64] |= 1ULL << (i % 64);
            pf->free_count++;
        }
    }
    pf->guaranteed = 0;
}

/* Counts everything of the host again from its PFs and its VMs (after its
 * facts or the policy changed); the caller reindexes it. */
static void s_host_recount(placement_t *self, s_host_t *host)
{
    host->mem_used_mib = 0;
    host->group_count = 0;
    host->free_vfs = 0;
    free(host->net_free);
    host->net_free = calloc(self->net_count + 1, sizeof(*host->net_free));
    assert(host->net_free);
    for (size_t i = 0; i < host->pf_count; i++) {
        s_pf_t *pf = &host->pfs[i];
        s_pf_reset(self, pf);
        host->free_vfs += pf->free_count;
        for (size_t j = 0; j < pf->net_count; j++)
            host->net_free[pf->nets[j]] += pf->free_count;
    }
    for (size_t i = 0; i < host->vm_count; i++)
        s_host_take(self, host, host->vms[i], true);
}

static void s_pf_free(s_pf_t *pf)
{
    free(pf->pci);
    free(pf->ifname);
    for (size_t i = 0; i < pf->network_count; i++)
        free(pf->networks[i]);
    free(pf->networks);
    free(pf->nets);
    for (size_t i = 0; i < pf->vf_count; i++)
        free(pf->vfs[i].pci);
    free(pf->vfs);
    free(pf->free_bits);
}

static int s_vf_compare(const void *a, const void *b)
{
    const s_vf_t *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static void s_pf_copy(s_pf_t *pf, const placement_pf_t *from)
{
    memset(pf, 0, sizeof(*pf));
    pf->pci = s_strdup(from->pci_addr);
    pf->ifname = s_strdup(from->ifname);
    pf->numa = from->numa_node;
    pf->link_speed = from->link_speed;
    pf->networks = calloc(from->network_count + 1, sizeof(char *));
    pf->nets = calloc(from->network_count + 1, sizeof(size_t));
    assert(pf->networks && pf->nets);
    pf->network_count = from->network_count;
    for (size_t i = 0; i < from->network_count; i++)
        pf->networks[i] = s_strdup(from->networks[i]);
    pf->vfs = calloc(from->vf_count + 1, sizeof(*pf->vfs));
    pf->free_bits = calloc(from->vf_count / 64 + 1, sizeof(uint64_t));
    assert(pf->vfs && pf->free_bits);
    pf->vf_count = from->vf_count;
    for (size_t i = 0; i < from->vf_count; i++) {
        pf->vfs[i].index = from->vfs[i].index;
        pf->vfs[i].in_use = from->vfs[i].in_use;
        pf->vfs[i].pci = s_strdup(from->vfs[i].pci_addr);
    }
    qsort(pf->vfs, pf->vf_count, sizeof(*pf->vfs), s_vf_compare);
}

static void s_host_free(void **item)
{
    s_host_t *host = *item;
    if (!host)
        return;
    for (size_t i = 0; i < host->pf_count; i++)
        s_pf_free(&host->pfs[i]);
    free(host->pfs);
    free(host->net_free);
    free(host->vms);
    free(host->groups);
    free(host->name);
    free(host);
    *item = NULL;
}

static s_host_t *s_host_get(placement_t *self, const char *name)
{
    s_host_t *host = zhashx_lookup(self->hosts, name);
    if (!host) {
        host = calloc(1, sizeof(*host));
        assert(host);
        host->name = s_strdup(name);
        host->net_free = calloc(self->net_count + 1, sizeof(size_t));
        assert(host->net_free);
        zhashx_insert(self->hosts, name, host);
    }
    return host;
}

/* Forgets a host nobody refers to any more. */
static void s_host_drop_if_unused(placement_t *self, s_host_t *host)
{
    if (!host->known && host->vm_count == 0)
        zhashx_delete(self->hosts, host->name);
}

/* ---- VMs ------------------------------------------------------------- */

static void s_vm_free(void **item)
{
    s_vm_t *vm = *item;
    if (!vm)
        return;
    for (size_t i = 0; i < vm->nic_count; i++) {
        free(vm->nics[i].network);
        free(vm->nics[i].pf);
    }
    free(vm->nics);
    free(vm->groups);
    free(vm->name);
    free(vm);
    *item = NULL;
}

static s_vm_t *s_vm_copy(placement_t *self, const placement_vm_t *from)
{
    s_vm_t *vm = calloc(1, sizeof(*vm));
    assert(vm);
    vm->name = s_strdup(from->name);
    vm->memory_mib = from->memory_mib;
    vm->group = s_intern(self, from->group);
    vm->nics = calloc(from->nic_count + 1, sizeof(*vm->nics));
    assert(vm->nics);
    vm->nic_count = from->nic_count;
    for (size_t i = 0; i < from->nic_count; i++) {
        const placement_vm_nic_t *nic = &from->nics[i];
        vm->nics[i].network = s_strdup(nic->network);
        memcpy(vm->nics[i].mac, nic->mac, 6);
        vm->nics[i].pf = nic->pf ? s_strdup(nic->pf) : NULL;
        vm->nics[i].vf = nic->vf;
    }
    s_vm_regroup(self, vm);
    return vm;
}

static void s_host_attach(s_host_t *host, s_vm_t *vm)
{
    host->vms = s_grow(host->vms, &host->vm_max, host->vm_count + 1,
                       sizeof(*host->vms));
    host->vms[host->vm_count++] = vm;
    vm->host = host;
}

static void s_host_detach(s_host_t *host, const s_vm_t *vm)
{
    for (size_t i = 0; i < host->vm_count; i++) {
        if (host->vms[i] == vm) {
            host->vms[i] = host->vms[--host->vm_count];
            return;
        }
    }
}

/* ---- life cycle ------------------------------------------------------ */

static void s_string_free(void **item)
{
    free(*item);
    *item = NULL;
}

placement_t *placement_new(void)
{
    placement_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->hosts = zhashx_new();
    self->vms = zhashx_new();
    self->groups = zhashx_new();
    assert(self->hosts && self->vms && self->groups);
    zhashx_set_destructor(self->hosts, s_host_free);
    zhashx_set_destructor(self->vms, s_vm_free);
    zhashx_set_destructor(self->groups, s_string_free);
    self->req_groups = calloc(1, sizeof(char *));
    self->pf_state = calloc(1, sizeof(*self->pf_state));
    assert(self->req_groups && self->pf_state);
    self->pf_max = 1;
    return self;
}

void placement_destroy(placement_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    placement_t *self = *self_p;
    s_policy_clear(self);
    zhashx_destroy(&self->vms);
    zhashx_destroy(&self->hosts);
    zhashx_destroy(&self->groups);
    free(self->macs);
    free(self->walk);
    free(self->req_groups);
    free(self->pf_state);
    free(self);
    *self_p = NULL;
}

static int s_walk_sort(const void *a, const void *b)
{
    const s_host_t *x = *(s_host_t *const *)a;
    const s_host_t *y = *(s_host_t *const *)b;
    return s_walk_compare(x->walk_free, x->name, y);
}

void placement_set_policy(placement_t *self, const policy_t *policy)
{
    assert(self);
    s_policy_clear(self);
    if (policy)
        s_policy_copy(self, policy);
    for (s_vm_t *vm = zhashx_first(self->vms); vm; vm = zhashx_next(self->vms))
        s_vm_regroup(self, vm);
    /* Every host's counts change at once, so the walk is sorted once
     * rather than reindexed host by host. */
    self->walk_count = 0;
    for (s_host_t *host = zhashx_first(self->hosts); host;
         host = zhashx_next(self->hosts)) {
        s_host_recount(self, host);
        host->in_walk = s_host_walkable(host);
        if (!host->in_walk)
            continue;
        host->walk_free = s_host_free_mib(self, host);
        self->walk = s_grow(self->walk, &self->walk_max, self->walk_count + 1,
                            sizeof(*self->walk));
        self->walk[self->walk_count++] = host;
    }
    if (self->walk_count)
        qsort(self->walk, self->walk_count, sizeof(*self->walk), s_walk_sort);
}

void placement_host_set(placement_t *self, const placement_host_t *from)
{
    assert(self && from && from->name);
    s_host_t *host = s_host_get(self, from->name);
    if (!host->known)
        self->known_count++;
    host->known = true;
    host->ready = from->ready;
    host->down_since_ms = from->down_since_ms;
    host->cordoned = from->cordoned;
    host->iommu_ready = from->iommu_ready;
    host->mem_total_mib = from->mem_total_mib;
    for (size_t i = 0; i < host->pf_count; i++)
        s_pf_free(&host->pfs[i]);
    free(host->pfs);
    host->pfs = calloc(from->pf_count + 1, sizeof(*host->pfs));
    assert(host->pfs);
    host->pf_count = from->pf_count;
    for (size_t i = 0; i < from->pf_count; i++)
        s_pf_copy(&host->pfs[i], &from->pfs[i]);
    if (from->pf_count > self->pf_max) {
        self->pf_max = from->pf_count;
        free(self->pf_state);
        self->pf_state = calloc(self->pf_max, sizeof(*self->pf_state));
        assert(self->pf_state);
    }
    s_host_recount(self, host);
    s_host_reindex(self, host);
}

int placement_host_state(placement_t *self, const char *name, bool ready,
                         int64_t down_since_ms, bool cordoned)
{
    s_host_t *host = zhashx_lookup(self->hosts, name);
    if (!host || !host->known)
        return -1;
    host->ready = ready;
    host->down_since_ms = down_since_ms;
    host->cordoned = cordoned;
    s_host_reindex(self, host);
    return 0;
}

void placement_host_remove(placement_t *self, const char *name)
{
    s_host_t *host = zhashx_lookup(self->hosts, name);
    if (!host || !host->known)
        return;
    host->known = false;
    self->known_count--;
    s_host_reindex(self, host);
    for (size_t i = 0; i < host->pf_count; i++)
        s_pf_free(&host->pfs[i]);
    free(host->pfs);
    host->pfs = NULL;
    host->pf_count = 0;
    s_host_recount(self, host);
    s_host_drop_if_unused(self, host);
}

void placement_vm_add(placement_t *self, const placement_vm_t *from)
{
    assert(self && from && from->name);
    placement_vm_remove(self, from->name);
    s_vm_t *vm = s_vm_copy(self, from);
    zhashx_insert(self->vms, vm->name, vm);
    for (size_t i = 0; i < vm->nic_count; i++) {
        uint64_t key = s_mac_key(vm->nics[i].mac);
        if (key)
            s_mac_put(self, key, vm);
    }
    if (!from->host || !*from->host)
        return;
    s_host_t *host = s_host_get(self, from->host);
    s_host_attach(host, vm);
    s_host_take(self, host, vm, true);
    s_host_reindex(self, host);
}

int placement_vm_remove(placement_t *self, const char *name)
{
    s_vm_t *vm = name ? zhashx_lookup(self->vms, name) : NULL;
    if (!vm)
        return -1;
    for (size_t i = 0; i < vm->nic_count; i++) {
        uint64_t key = s_mac_key(vm->nics[i].mac);
        if (!key || s_mac_get(self, key) != vm)
            continue;
        s_mac_delete(self, key, vm);
        uint64_t ordinal = s_pool_ordinal(self, vm->nics[i].mac);
        if (ordinal < self->mac_cursor)
            self->mac_cursor = ordinal;
    }
    s_host_t *host = vm->host;
    if (host) {
        s_host_take(self, host, vm, false);
        s_host_detach(host, vm);
        s_host_reindex(self, host);
        s_host_drop_if_unused(self, host);
    }
    zhashx_delete(self->vms, name);
    return 0;
}

size_t placement_host_count(const placement_t *self)
{
    return self->known_count;
}

size_t placement_vm_count(const placement_t *self)
{
    return zhashx_size(self->vms);
}

/* ---- names ----------------------------------------------------------- */

const char *placement_numa_name(placement_numa_t numa)
{
    switch (numa) {
    case PLACEMENT_NUMA_PREFERRED:
        return "preferred";
    case PLACEMENT_NUMA_REQUIRED:
        return "required";
    default:
        return "none";
    }
}

int placement_numa_parse(const char *name, placement_numa_t *numa)
{
    static const placement_numa_t all[] = {
        PLACEMENT_NUMA_NONE, PLACEMENT_NUMA_PREFERRED, PLACEMENT_NUMA_REQUIRED};
    for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, placement_numa_name(all[i])) == 0) {
            *numa = all[i];
            return 0;
        }
    }
    return -1;
}

const char *placement_rule_name(placement_rule_t rule)
{
    static const char *const names[PLACEMENT_RULE_COUNT] = {
        "request", "pin",           "down",   "cordoned",
        "iommu",   "anti-affinity", "memory", "nics"};
    return rule < PLACEMENT_RULE_COUNT ? names[rule] : "unknown";
}

/* ---- the VF search --------------------------------------------------- */

static bool s_edge(const s_search_t *s, size_t nic, size_t p)
{
    const s_pf_t *pf = &s->host->pfs[p];
    if (!s->numa_any && pf->numa != s->numa)
        return false;
    if (!s_pf_carries(pf, s->req->net[nic]))
        return false;
    uint32_t rate = s->req->rate[nic];
    if (rate == 0)
        return true;
    uint64_t need = pf->guaranteed + s->st[p].extra + rate;
    return pf->link_speed != 0 && need <= pf->link_speed;
}

static size_t s_cap(const s_search_t *s, size_t p)
{
    size_t left = s->host->pfs[p].free_count - s->st[p].taken;
    if (s->distinct)
        return s->st[p].used ? 0 : left > 0;
    return left;
}

/* Kuhn's augmenting path with PF capacities. */
static bool s_augment(s_search_t *s, size_t from, size_t nic)
{
    for (size_t p = 0; p < s->host->pf_count; p++) {
        if (s->st[p].seen || !s_edge(s, nic, p))
            continue;
        s->st[p].seen = true;
        if (s->st[p].load < s_cap(s, p)) {
            s->st[p].load++;
            s->assign[nic] = p;
            return true;
        }
        for (size_t other = from; other < nic; other++) {
            if (s->assign[other] == p && s_augment(s, from, other)) {
                s->assign[nic] = p;
                return true;
            }
        }
    }
    return false;
}

/* How many of the NICs from `from` on could get a VF if guaranteed rates
 * only counted one NIC at a time: exact for VF counts, separate PFs and
 * NUMA, and an upper bound otherwise. */
static size_t s_match(s_search_t *s, size_t from)
{
    size_t count = 0;
    for (size_t p = 0; p < s->host->pf_count; p++)
        s->st[p].load = 0;
    for (size_t nic = from; nic < s->req->n; nic++) {
        s->assign[nic] = SIZE_MAX;
        for (size_t p = 0; p < s->host->pf_count; p++)
            s->st[p].seen = false;
        if (s_augment(s, from, nic))
            count++;
    }
    return count;
}

static bool s_same_nic(const s_req_t *req, size_t a, size_t b)
{
    return req->net[a] == req->net[b] && req->rate[a] == req->rate[b];
}

/* Places NIC i and the ones after it, lowest PF first. NICs alike take
 * PFs in order, which keeps the first answer and cuts the mirror images. */
static bool s_place(s_search_t *s, s_req_t *req, size_t i)
{
    if (i == req->n)
        return true;
    if (++s->steps > S_SEARCH_STEPS_MAX || s_match(s, i) < req->n - i)
        return false;
    size_t first = 0;
    for (size_t j = i; j-- > 0;) {
        if (s_same_nic(req, i, j)) {
            first = req->choice[j];
            break;
        }
    }
    for (size_t p = first; p < s->host->pf_count; p++) {
        if (!s_edge(s, i, p) || s_cap(s, p) == 0)
            continue;
        s->st[p].taken++;
        s->st[p].extra += req->rate[i];
        s->st[p].used = true;
        req->choice[i] = p;
        if (s_place(s, req, i + 1))
            return true;
        s->st[p].taken--;
        s->st[p].extra -= req->rate[i];
        s->st[p].used = s->st[p].taken > 0;
    }
    return false;
}

static void s_search_init(placement_t *self, s_search_t *s,
                          const s_host_t *host, const s_req_t *req)
{
    memset(s, 0, sizeof(*s));
    s->host = host;
    s->req = req;
    s->st = self->pf_state;
    s->distinct = req->r->separate_pfs;
    s->numa_any = true;
    memset(s->st, 0, host->pf_count * sizeof(*s->st));
}

static bool s_search(placement_t *self, const s_host_t *host, s_req_t *req,
                     bool numa_any, int numa)
{
    s_search_t s;
    s_search_init(self, &s, host, req);
    s.numa_any = numa_any;
    s.numa = numa;
    return s_place(&s, req, 0);
}

/* Whether the host has a VF for every NIC; req->choice holds the PFs. */
static bool s_nics_fit(placement_t *self, const s_host_t *host, s_req_t *req)
{
    if (req->n > host->free_vfs)
        return false;
    for (size_t i = 0; i < req->n; i++) {
        size_t need = 0;
        for (size_t j = 0; j < req->n; j++)
            need += req->net[j] == req->net[i];
        if (host->net_free[req->net[i]] < need)
            return false;
    }
    if (req->r->numa == PLACEMENT_NUMA_NONE)
        return s_search(self, host, req, true, 0);
    for (size_t i = 0; i < host->pf_count; i++) {
        int node = host->pfs[i].numa;
        bool tried = false;
        for (size_t j = 0; j < i; j++)
            tried |= host->pfs[j].numa == node;
        if (!tried && s_search(self, host, req, false, node))
            return true;
    }
    return req->r->numa == PLACEMENT_NUMA_PREFERRED &&
           s_search(self, host, req, true, 0);
}

/* NICs short of a VF when every node counts (a nics failure's metric). */
static size_t s_nics_missing(placement_t *self, const s_host_t *host,
                             const s_req_t *req)
{
    s_search_t s;
    s_search_init(self, &s, host, req);
    return req->n - s_match(&s, 0);
}

/* ---- the rules ------------------------------------------------------- */

/* The request's group the host's VMs share first; NULL: none. */
static const char *s_aa_conflict(const s_host_t *host, const s_req_t *req)
{
    for (size_t i = 0; i < req->group_count; i++)
        for (size_t j = 0; j < host->group_count; j++)
            if (host->groups[j].group == req->groups[i])
                return req->groups[i];
    return NULL;
}

/* The first rule the host fails (S_PASS when none) and how close it came:
 * memory free for memory, NICs short of a VF for nics. */
static placement_rule_t s_check(placement_t *self, const s_host_t *host,
                                s_req_t *req, uint64_t *metric)
{
    *metric = 0;
    if (!host->ready)
        return PLACEMENT_RULE_DOWN;
    if (host->cordoned)
        return PLACEMENT_RULE_CORDONED;
    if (!host->iommu_ready)
        return PLACEMENT_RULE_IOMMU;
    if (s_aa_conflict(host, req))
        return PLACEMENT_RULE_ANTI_AFFINITY;
    uint64_t free_mib = s_host_free_mib(self, host);
    if (free_mib < req->memory) {
        *metric = free_mib;
        return PLACEMENT_RULE_MEMORY;
    }
    if (!s_nics_fit(self, host, req)) {
        *metric = s_nics_missing(self, host, req);
        return PLACEMENT_RULE_NICS;
    }
    return S_PASS;
}

static bool s_first_of_net(const s_req_t *req, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (req->net[j] == req->net[i])
            return false;
    return true;
}

static size_t s_nics_on(const s_req_t *req, size_t net)
{
    size_t count = 0;
    for (size_t i = 0; i < req->n; i++)
        count += req->net[i] == net;
    return count;
}

/* "vlan1, trunk": the request's networks in order, each once. */
static void s_nets_text(const placement_t *self, const s_req_t *req, char *buf,
                        size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < req->n && len < size; i++)
        if (s_first_of_net(req, i))
            len +=
                (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                 self->nets[req->net[i]].name);
}

/* "ens3f0: 9500 of 10000 guaranteed, ..." for the PFs with a free VF that
 * carry net (SIZE_MAX: any of the request's). */
static void s_guarantees_text(const s_host_t *host, const s_req_t *req,
                              size_t net, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t p = 0; p < host->pf_count && len < size; p++) {
        const s_pf_t *pf = &host->pfs[p];
        bool carries = false;
        for (size_t i = 0; i < req->n; i++)
            carries |= (net == SIZE_MAX || req->net[i] == net) &&
                       s_pf_carries(pf, req->net[i]);
        if (!carries || pf->free_count == 0)
            continue;
        const char *sep = len ? ", " : "";
        if (pf->link_speed == 0)
            len +=
                (size_t)snprintf(buf + len, size - len,
                                 "%s%s: link speed unknown", sep, pf->ifname);
        else
            len += (size_t)snprintf(
                buf + len, size - len,
                "%s%s: %" PRIu64 " of %" PRIu32 " guaranteed", sep, pf->ifname,
                pf->guaranteed, pf->link_speed);
    }
}

/* The first reason among the per-network ones: no PF, too few free VFs,
 * too little bandwidth. Returns 0 when one was written. */
static int s_net_reason(const placement_t *self, const s_host_t *host,
                        const s_req_t *req, size_t i, int stage, char *buf,
                        size_t size)
{
    size_t net = req->net[i], want = s_nics_on(req, net);
    const char *name = self->nets[net].name;
    uint32_t rate = self->nets[net].min_tx_rate;
    size_t carriers = 0, total = 0, room = 0;
    for (size_t p = 0; p < host->pf_count; p++) {
        const s_pf_t *pf = &host->pfs[p];
        if (!s_pf_carries(pf, net))
            continue;
        carriers++;
        total += pf->vf_count;
        uint64_t left = s_sub_sat(pf->link_speed, pf->guaranteed);
        uint64_t fit = rate ? left / rate : pf->free_count;
        room += fit < pf->free_count ? (size_t)fit : pf->free_count;
    }
    size_t free_vfs = host->net_free[net];
    char list[S_REASON_MAX / 2];
    if (stage == 0 && carriers == 0)
        snprintf(buf, size, "no PF carries %s", name);
    else if (stage == 0 || carriers == 0)
        return -1;
    else if (stage == 1 && free_vfs == 0)
        snprintf(buf, size,
                 "no free isolated VF on a PF carrying %s (%zu of %zu used)",
                 name, total - free_vfs, total);
    else if (stage == 1 && free_vfs < want)
        snprintf(buf, size,
                 "needs %zu free isolated VFs on PFs carrying %s; has %zu "
                 "(%zu of %zu used)",
                 want, name, free_vfs, total - free_vfs, total);
    else if (stage == 2 && free_vfs >= want && room < want) {
        s_guarantees_text(host, req, net, list, sizeof(list));
        if (want == 1)
            snprintf(buf, size,
                     "no PF carrying %s has %" PRIu32
                     " Mbit/s unguaranteed (%s)",
                     name, rate, list);
        else
            snprintf(buf, size,
                     "PFs carrying %s have room for %zu of %zu NICs at "
                     "%" PRIu32 " Mbit/s guaranteed (%s)",
                     name, room, want, rate, list);
    } else
        return -1;
    return 0;
}

/* Why the host has no VFs for the request, in the order of placement.h. */
static void s_nics_reason(placement_t *self, const s_host_t *host, s_req_t *req,
                          char *buf, size_t size)
{
    for (int stage = 0; stage < 3; stage++)
        for (size_t i = 0; i < req->n; i++)
            if (s_first_of_net(req, i) &&
                s_net_reason(self, host, req, i, stage, buf, size) == 0)
                return;
    char nets[S_REASON_MAX / 2];
    s_nets_text(self, req, nets, sizeof(nets));
    s_search_t s;
    s_search_init(self, &s, host, req);
    size_t matched = s_match(&s, 0);
    if (req->r->separate_pfs && matched < req->n) {
        snprintf(buf, size, "needs %zu separate PFs for %s; has %zu", req->n,
                 nets, matched);
    } else if (req->r->numa == PLACEMENT_NUMA_REQUIRED &&
               s_search(self, host, req, true, 0)) {
        snprintf(buf, size, "no NUMA node has free VFs for every NIC");
    } else if (matched < req->n) {
        snprintf(buf, size,
                 "needs %zu free isolated VFs on PFs carrying %s; has %zu",
                 req->n, nets, matched);
    } else {
        char list[S_REASON_MAX / 2];
        s_guarantees_text(host, req, SIZE_MAX, list, sizeof(list));
        snprintf(buf, size,
                 "PFs carrying %s cannot guarantee every NIC's min_tx_rate "
                 "together (%s)",
                 nets, list);
    }
}

/* "runs db-1 of anti-affinity group db": the VM of the group whose name
 * sorts first. */
static void s_aa_reason(const s_host_t *host, const s_req_t *req, char *buf,
                        size_t size)
{
    const char *group = s_aa_conflict(host, req);
    const char *first = NULL;
    for (size_t i = 0; i < host->vm_count; i++) {
        const s_vm_t *vm = host->vms[i];
        for (size_t j = 0; j < vm->group_count; j++)
            if (vm->groups[j] == group &&
                (!first || strcmp(vm->name, first) < 0))
                first = vm->name;
    }
    snprintf(buf, size, "runs %s of anti-affinity group %s", first, group);
}

static void s_reason(placement_t *self, const s_host_t *host, s_req_t *req,
                     placement_rule_t rule, char *buf, size_t size)
{
    char have[32], need[32];
    switch (rule) {
    case PLACEMENT_RULE_DOWN:
        if (host->down_since_ms > 0) {
            time_t when = (time_t)(host->down_since_ms / 1000);
            struct tm tm;
            gmtime_r(&when, &tm);
            snprintf(buf, size, "down since %02d:%02d:%02d", tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
        } else
            snprintf(buf, size, "down");
        break;
    case PLACEMENT_RULE_CORDONED:
        snprintf(buf, size, "cordoned");
        break;
    case PLACEMENT_RULE_IOMMU:
        snprintf(buf, size, "IOMMU not ready");
        break;
    case PLACEMENT_RULE_ANTI_AFFINITY:
        s_aa_reason(host, req, buf, size);
        break;
    case PLACEMENT_RULE_MEMORY:
        s_mib_text(s_host_free_mib(self, host), false, have, sizeof(have));
        s_mib_text(req->memory, true, need, sizeof(need));
        snprintf(buf, size, "memory %s free < %s", have, need);
        break;
    default:
        s_nics_reason(self, host, req, buf, size);
        break;
    }
}

/* ---- refusals -------------------------------------------------------- */

static placement_refusal_t *s_refusal_request(const char *text)
{
    placement_refusal_t *why = calloc(1, sizeof(*why));
    assert(why);
    why->request = true;
    why->text = s_strdup(text);
    return why;
}

/* Whether a is closer to fitting than b: a later rule, then more memory
 * (memory) or fewer NICs short (nics), then the name. */
static bool s_closer(const s_cand_t *a, const s_cand_t *b)
{
    if (a->rule != b->rule)
        return a->rule > b->rule;
    if (a->metric != b->metric && a->rule == PLACEMENT_RULE_MEMORY)
        return a->metric > b->metric;
    if (a->metric != b->metric && a->rule == PLACEMENT_RULE_NICS)
        return a->metric < b->metric;
    return strcmp(a->host->name, b->host->name) < 0;
}

/* Keeps the max closest candidates, closest first. */
static void s_top_insert(s_cand_t *top, size_t *count, size_t max,
                         const s_cand_t *cand)
{
    size_t at = *count;
    while (at > 0 && s_closer(cand, &top[at - 1]))
        at--;
    if (at >= max)
        return;
    size_t keep = *count < max ? *count : max - 1;
    memmove(&top[at + 1], &top[at], (keep - at) * sizeof(*top));
    top[at] = *cand;
    if (*count < max)
        (*count)++;
}

typedef struct {
    s_cand_t closest[PLACEMENT_CLOSEST_MAX];
    size_t closest_count;
    s_cand_t top[PLACEMENT_RULE_COUNT][S_TOP];
    size_t top_count[PLACEMENT_RULE_COUNT];
    size_t hosts[PLACEMENT_RULE_COUNT];
} s_tally_t;

static void s_tally_host(placement_t *self, s_tally_t *tally,
                         const s_host_t *host, s_req_t *req)
{
    s_cand_t cand = {.host = host};
    cand.rule = s_check(self, host, req, &cand.metric);
    /* The walk found no host, so every host fails one rule. */
    assert(cand.rule != S_PASS);
    if (cand.rule == S_PASS)
        return;
    tally->hosts[cand.rule]++;
    s_top_insert(tally->closest, &tally->closest_count, PLACEMENT_CLOSEST_MAX,
                 &cand);
    s_top_insert(tally->top[cand.rule], &tally->top_count[cand.rule], S_TOP,
                 &cand);
}

static char *s_cand_reason(placement_t *self, const s_cand_t *cand,
                           s_req_t *req)
{
    char buf[S_REASON_MAX];
    s_reason(self, cand->host, req, cand->rule, buf, sizeof(buf));
    return s_strdup(buf);
}

/* The text of placement.h: the closest hosts, then per rule from the
 * latest the hosts not named, with the closest of them. */
static void s_refusal_text(placement_t *self, placement_refusal_t *why,
                           const s_tally_t *tally, s_req_t *req)
{
    s_append(&why->text, "no host fits vm %s: ", req->r->name);
    if (tally->closest_count == 0)
        s_append(&why->text, "no hosts are known");
    size_t named[PLACEMENT_RULE_COUNT] = {0};
    for (size_t i = 0; i < why->closest_count; i++) {
        s_append(&why->text, "%s%s: %s", i ? "; " : "", why->closest_host[i],
                 why->closest_reason[i]);
        named[why->closest_rule[i]]++;
    }
    for (size_t r = PLACEMENT_RULE_COUNT; r-- > 0;) {
        size_t left = tally->hosts[r] - named[r];
        if (left == 0)
            continue;
        char *reason = s_cand_reason(self, &tally->top[r][named[r]], req);
        s_append(&why->text, "; %zu host%s: %s", left, left == 1 ? "" : "s",
                 reason);
        free(reason);
    }
}

/* Why no host fits: only the pinned host, or every known one. */
static placement_refusal_t *s_explain(placement_t *self, s_req_t *req)
{
    s_tally_t *tally = calloc(1, sizeof(*tally));
    assert(tally);
    if (req->pin)
        s_tally_host(self, tally, req->pin, req);
    else
        for (s_host_t *host = zhashx_first(self->hosts); host;
             host = zhashx_next(self->hosts))
            if (host->known && host != req->avoid)
                s_tally_host(self, tally, host, req);
    placement_refusal_t *why = calloc(1, sizeof(*why));
    assert(why);
    for (size_t r = 0; r < PLACEMENT_RULE_COUNT; r++) {
        why->hosts[r] = tally->hosts[r];
        if (tally->hosts[r])
            why->example[r] = s_cand_reason(self, &tally->top[r][0], req);
    }
    why->closest_count = tally->closest_count;
    for (size_t i = 0; i < tally->closest_count; i++) {
        const s_cand_t *cand = &tally->closest[i];
        why->closest_host[i] = s_strdup(cand->host->name);
        why->closest_rule[i] = cand->rule;
        why->closest_reason[i] = s_cand_reason(self, cand, req);
    }
    s_refusal_text(self, why, tally, req);
    free(tally);
    return why;
}

const char *placement_refusal_text(const placement_refusal_t *why)
{
    return why->text;
}

bool placement_refusal_is_request(const placement_refusal_t *why)
{
    return why->request;
}

size_t placement_refusal_hosts(const placement_refusal_t *why,
                               placement_rule_t rule)
{
    return rule < PLACEMENT_RULE_COUNT ? why->hosts[rule] : 0;
}

const char *placement_refusal_example(const placement_refusal_t *why,
                                      placement_rule_t rule)
{
    return rule < PLACEMENT_RULE_COUNT ? why->example[rule] : NULL;
}

size_t placement_refusal_closest_count(const placement_refusal_t *why)
{
    return why->closest_count;
}

const char *placement_refusal_closest_host(const placement_refusal_t *why,
                                           size_t i)
{
    return i < why->closest_count ? why->closest_host[i] : NULL;
}

placement_rule_t placement_refusal_closest_rule(const placement_refusal_t *why,
                                                size_t i)
{
    return i < why->closest_count ? why->closest_rule[i] : PLACEMENT_RULE_COUNT;
}

const char *placement_refusal_closest_reason(const placement_refusal_t *why,
                                             size_t i)
{
    return i < why->closest_count ? why->closest_reason[i] : NULL;
}

void placement_refusal_destroy(placement_refusal_t **why_p)
{
    if (!why_p || !*why_p)
        return;
    placement_refusal_t *why = *why_p;
    free(why->text);
    for (size_t r = 0; r < PLACEMENT_RULE_COUNT; r++)
        free(why->example[r]);
    for (size_t i = 0; i < why->closest_count; i++) {
        free(why->closest_host[i]);
        free(why->closest_reason[i]);
    }
    free(why);
    *why_p = NULL;
}

/* ---- deciding -------------------------------------------------------- */

/* The request checks of placement.h, in order; fills req. */
static int s_request_check(placement_t *self, const placement_request_t *r,
                           s_req_t *req, char *err, size_t size)
{
    memset(req, 0, sizeof(*req));
    req->r = r;
    const char *name = r->name ? r->name : "";
    if (!*name)
        snprintf(err, size, "vm name is empty");
    else if (strlen(name) > VFP_NAME_MAX)
        snprintf(err, size, "vm name is longer than %d bytes", VFP_NAME_MAX);
    else if (zhashx_lookup(self->vms, name))
        snprintf(err, size, "vm %s exists", name);
    else if (r->memory_mib == 0)
        snprintf(err, size, "memory must be at least 1 MiB");
    else if (r->vcpus == 0)
        snprintf(err, size, "vcpus must be at least 1");
    else if (r->nic_count == 0 || r->nic_count > PLACEMENT_NICS_MAX)
        snprintf(err, size, "a vm needs 1 to %d nics (has %zu)",
                 PLACEMENT_NICS_MAX, r->nic_count);
    else if (!self->has_policy)
        snprintf(err, size, "no policy has been applied");
    else
        err[0] = '\0';
    if (err[0])
        return -1;
    for (size_t i = 0; i < r->nic_count; i++) {
        const char *network = r->nics[i].network;
        req->net[i] = s_net_find(self, network);
        if (!network || !*network)
            snprintf(err, size, "nic %zu has no network", i);
        else if (req->net[i] == SIZE_MAX)
            snprintf(err, size, "network %s is not defined by the policy",
                     network);
        if (req->net[i] == SIZE_MAX)
            return -1;
        req->rate[i] = self->nets[req->net[i]].min_tx_rate;
    }
    req->n = r->nic_count;
    req->avoid =
        r->avoid && *r->avoid ? zhashx_lookup(self->hosts, r->avoid) : NULL;
    if (r->host && *r->host) {
        req->pin = zhashx_lookup(self->hosts, r->host);
        if (!req->pin || !req->pin->known) {
            snprintf(err, size, "host %s is not known", r->host);
            return -1;
        }
        if (req->pin == req->avoid) {
            snprintf(err, size, "host %s is the one the vm leaves", r->host);
            return -1;
        }
    }
    req->memory = s_round(self, r->memory_mib);
    req->groups = self->req_groups;
    /* A group no VM holds is not interned and cannot conflict. */
    const char *own =
        r->group && *r->group ? zhashx_lookup(self->groups, r->group) : NULL;
    req->group_count = s_groups_of(self, name, own, req->groups);
    return 0;
}

static bool s_fits(placement_t *self, const s_host_t *host, s_req_t *req)
{
    return host != req->avoid && host->walk_free >= req->memory &&
           !s_aa_conflict(host, req) && s_nics_fit(self, host, req);
}

/* Pack: the least free memory that fits, walking up from the first host
 * with enough. */
static s_host_t *s_walk_pack(placement_t *self, s_req_t *req)
{
    for (size_t i = s_walk_lower(self, req->memory, ""); i < self->walk_count;
         i++)
        if (s_fits(self, self->walk[i], req))
            return self->walk[i];
    return NULL;
}

/* Spread: the most free memory first; hosts with equal free memory in name
 * order, so the run of equals is walked forward from its start. */
static s_host_t *s_walk_spread(placement_t *self, s_req_t *req)
{
    size_t end = self->walk_count;
    while (end > 0 && self->walk[end - 1]->walk_free >= req->memory) {
        size_t start = s_walk_lower(self, self->walk[end - 1]->walk_free, "");
        for (size_t i = start; i < end; i++)
            if (s_fits(self, self->walk[i], req))
                return self->walk[i];
        end = start;
    }
    return NULL;
}

static void s_decision_fill(const s_host_t *host, s_req_t *req,
                            placement_decision_t *out, s_pf_state_t *st)
{
    snprintf(out->host, sizeof(out->host), "%s", host->name);
    out->memory_mib = req->memory;
    out->nic_count = req->n;
    for (size_t p = 0; p < host->pf_count; p++)
        st[p].next_pos = 0;
    for (size_t i = 0; i < req->n; i++) {
        const s_pf_t *pf = &host->pfs[req->choice[i]];
        size_t pos = st[req->choice[i]].next_pos;
        while (!s_bit(pf->free_bits, pos))
            pos++;
        st[req->choice[i]].next_pos = pos + 1;
        placement_nic_t *nic = &out->nics[i];
        snprintf(nic->network, sizeof(nic->network), "%s",
                 req->r->nics[i].network);
        snprintf(nic->pf, sizeof(nic->pf), "%s", pf->pci);
        snprintf(nic->pf_ifname, sizeof(nic->pf_ifname), "%s", pf->ifname);
        nic->vf = pf->vfs[pos].index;
        snprintf(nic->vf_pci, sizeof(nic->vf_pci), "%s", pf->vfs[pos].pci);
    }
}

int placement_decide(placement_t *self, const placement_request_t *request,
                     placement_decision_t *out, placement_refusal_t **why)
{
    assert(self && request && out && why);
    *why = NULL;
    memset(out, 0, sizeof(*out));
    s_req_t req;
    char err[S_REASON_MAX];
    if (s_request_check(self, request, &req, err, sizeof(err)) != 0 ||
        s_macs_choose(self, request, out, err, sizeof(err)) != 0) {
        *why = s_refusal_request(err);
        return -1;
    }
    s_host_t *host = NULL;
    uint64_t metric;
    if (req.pin)
        host = s_check(self, req.pin, &req, &metric) == S_PASS ? req.pin : NULL;
    else if (self->strategy == POLICY_STRATEGY_PACK)
        host = s_walk_pack(self, &req);
    else
        host = s_walk_spread(self, &req);
    if (!host) {
        *why = s_explain(self, &req);
        return -1;
    }
    s_decision_fill(host, &req, out, self->pf_state);
    return 0;
}

/* ---- what-if --------------------------------------------------------- */

static void s_plan_add(placement_t *self, const char *name,
                       const placement_request_t *request,
                       const placement_decision_t *decision)
{
    placement_vm_nic_t nics[PLACEMENT_NICS_MAX];
    for (size_t i = 0; i < decision->nic_count; i++) {
        nics[i].network = decision->nics[i].network;
        memcpy(nics[i].mac, decision->nics[i].mac, 6);
        nics[i].pf = decision->nics[i].pf;
        nics[i].vf = decision->nics[i].vf;
    }
    placement_vm_t vm = {.name = name,
                         .host = decision->host,
                         .memory_mib = request->memory_mib,
                         .group = request->group,
                         .nics = nics,
                         .nic_count = decision->nic_count};
    placement_vm_add(self, &vm);
}

int placement_plan_count(placement_t *self, const placement_request_t *request,
                         size_t count, size_t *placed,
                         char (*hosts)[VFP_HOSTNAME_MAX + 1],
                         placement_refusal_t **why)
{
    assert(self && request && placed && why);
    *placed = 0;
    *why = NULL;
    placement_request_t copy = *request;
    char name[VFP_NAME_MAX + 32];
    placement_decision_t decision;
    const char *base = request->name && *request->name ? request->name : NULL;
    for (size_t i = 0; i < count; i++) {
        if (base) {
            snprintf(name, sizeof(name), "%s-%zu", base, i + 1);
            copy.name = name;
        }
        if (placement_decide(self, &copy, &decision, why) != 0)
            break;
        s_plan_add(self, name, request, &decision);
        if (hosts)
            snprintf(hosts[i], sizeof(hosts[i]), "%s", decision.host);
        (*placed)++;
    }
    for (size_t i = 0; i < *placed; i++) {
        snprintf(name, sizeof(name), "%s-%zu", base, i + 1);
        placement_vm_remove(self, name);
    }
    return *placed == count ? 0 : -1;
}
