/* placement.h - choosing a host and VFs for a passthrough VM: the in-memory
 * index of free capacity, the filter that explains every refusal, the pack
 * and spread scorers, and the cluster's MAC allocation.
 *
 * Pure: no database, no sockets, no clock. The controller feeds it what the
 * database and the policy say (placement_set_policy, placement_host_set,
 * placement_vm_add), asks it (placement_decide), and after the database has
 * committed a reservation tells it (placement_vm_add again): a decision
 * changes nothing until then, so a request the database refuses leaves the
 * index as it was.
 *
 * Rules, in the order a host is checked; the first rule a host fails is its
 * reason (PLACEMENT_RULE_*):
 *
 * - pin: a request naming a host (`--host`) considers that host only: the
 *   other hosts are not considered, so no refusal counts a host under pin.
 * - down: the host's agent is not connected (state down). Reason
 *   "down since HH:MM:SS" (UTC, from down_since_ms; "down" when 0).
 * - cordoned: "cordoned".
 * - iommu: the host's IOMMU is not ready: "IOMMU not ready".
 * - anti-affinity: the VM's groups (the request's group, and every policy
 *   anti_affinity group one of whose VM globs matches the VM's name) and
 *   the groups of the VMs already on the host share a group:
 *   "runs db-1 of anti-affinity group db" (the first shared group, the
 *   request's own before the policy's in policy order; of its VMs on the
 *   host the one whose name sorts first).
 * - memory: the host's reservable memory (mem_total_mib less the policy's
 *   hypervisor_reserve_mib) less the memory of every VM on it is below the
 *   VM's memory; with hugepages 2M or 1G every VM's memory counts rounded
 *   up to whole pages (counted again when the policy changes). Never
 *   negative. "memory 3.1 GiB free < 4 GiB" (GiB with one decimal, dropped
 *   when it is 0, or MiB below 1 GiB: "memory 512 MiB free < 4 GiB"; the
 *   free memory rounds down and the need up, so they never read equal:
 *   "memory 4 GiB free < 4.1 GiB").
 * - nics: for every NIC a distinct free VF on a PF that carries the NIC's
 *   network (placement_pf_t.networks). A VF is free when it is a candidate
 *   (placement_vf_t: isolated, present, enabled), no VM holds it, and the
 *   inventory does not report it in use. With `separate_pfs` each NIC on a
 *   different PF; with NUMA `required` every VF on PFs of one NUMA node
 *   (`preferred` tries that first, then any; nodes are tried in the order
 *   of their first PF, and PFs of unknown node, -1 as single-node machines
 *   report it, count as one node); a NIC whose network sets min_tx_rate
 *   only on a PF whose link_speed (0: unknown, refused) is at least the
 *   min_tx_rate already guaranteed there (by the VMs holding its VFs, at
 *   the current policy's rates) plus this request's. Reasons, the first
 *   that applies, each network in request order:
 *   "no PF carries vlan1";
 *   "no free isolated VF on a PF carrying vlan1 (2 of 2 used)" (used
 *   counts held and in-use candidates of the PFs carrying it), or with
 *   more NICs on the network than free VFs "needs 2 free isolated VFs on
 *   PFs carrying vlan1; has 1 (1 of 2 used)";
 *   "no PF carrying vlan1 has 1000 Mbit/s unguaranteed (ens3f0: 9500 of
 *   10000 guaranteed)" (every PF with a free VF carrying it; "ens3f1:
 *   link speed unknown" for speed 0), or for more NICs on the network
 *   "PFs carrying vlan1 have room for 1 of 2 NICs at 1000 Mbit/s
 *   guaranteed (...)";
 *   "needs 2 separate PFs for vlan1, trunk; has 1" (the request's
 *   networks, each once; has = NICs that distinct PFs can serve);
 *   "no NUMA node has free VFs for every NIC";
 *   "needs 2 free isolated VFs on PFs carrying vlan1, trunk; has 1" (NICs
 *   of different networks competing for the same VFs);
 *   "PFs carrying vlan1, bw cannot guarantee every NIC's min_tx_rate
 *   together (...)".
 *   VFs are chosen lowest PF (inventory order) then lowest index first,
 *   NICs in request order: the first assignment in that order that meets
 *   every constraint (a NIC moves to a later PF when an earlier choice
 *   leaves a later NIC without one).
 *
 * Score, among hosts that pass: the policy's strategy on the memory left
 * free after the VM: pack takes the least, spread the most; ties go to the
 * host whose name sorts first (strcmp). Hosts are kept ordered by free
 * memory so a decision looks at few hosts, not at every host.
 *
 * MACs: a NIC without a MAC gets the lowest MAC of the policy's pools
 * (pools in policy order, each prefix in order, counting up from the
 * prefix) that no VM holds and no other NIC of the request has; a NIC with
 * a MAC must be unicast ("mac 03:00:00:00:00:01 is multicast"), not
 * 00:00:00:00:00:00 ("mac 00:00:00:00:00:00 means no MAC"), held by no VM
 * ("mac 02:00:00:00:00:01 is held by vm web-2") and given to one NIC only
 * ("mac 02:00:00:00:00:01 is given to more than one nic"). A policy
 * without pools refuses NICs without a MAC ("nic 0 has no mac and the
 * policy defines no mac pool"); pools with no MAC left: "mac pools are
 * exhausted (256 addresses)" (their capacity). MAC problems are request
 * errors, found before any host.
 *
 * Request checks (PLACEMENT_RULE_REQUEST, before any host), in this order:
 * name non-empty ("vm name is empty") and at most VFP_NAME_MAX bytes ("vm
 * name is longer than 64 bytes"), not a VM already known ("vm web-1
 * exists"); memory_mib > 0 ("memory must be at least 1 MiB"); vcpus > 0
 * ("vcpus must be at least 1"); 1..PLACEMENT_NICS_MAX NICs ("a vm needs 1
 * to 8 nics (has 0)"); a policy stored ("no policy has been applied");
 * every NIC naming a network ("nic 1 has no network") defined by the
 * policy ("network vlan9 is not defined by the policy"); a pinned host
 * known ("host esx-9 is not known"); then the MACs. */
#ifndef VFLEET_PLACEMENT_H
#define VFLEET_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "vfp.h"

#define PLACEMENT_NICS_MAX 8
/* How many hosts a refusal names one by one; the rest are counted per
 * rule. */
#define PLACEMENT_CLOSEST_MAX 3

typedef struct placement_t placement_t;

typedef enum {
    PLACEMENT_NUMA_NONE = 0,
    PLACEMENT_NUMA_PREFERRED,
    PLACEMENT_NUMA_REQUIRED,
} placement_numa_t;

/* "none", "preferred", "required"; parse returns 0 or -1. */
const char *placement_numa_name(placement_numa_t numa);
int placement_numa_parse(const char *name, placement_numa_t *numa);

/* ---- what the index knows ------------------------------------------- */

typedef struct {
    uint16_t index;
    const char *pci_addr; /* the VF's PCI address, "" when unknown */
    bool in_use;          /* the inventory says a guest or netdev uses it */
} placement_vf_t;

/* A PF the policy configures on the host. Its candidate VFs are the VFs
 * the inventory reports, below the policy's `vfs`, whose IOMMU group is
 * isolated; `vfs` lists those only (the caller filters), in any order.
 * VMs may hold some of them (placement_vm_add). */
typedef struct {
    const char *pci_addr;
    const char *ifname;
    int numa_node;               /* -1: unknown */
    uint32_t link_speed;         /* Mbit/s, 0 unknown */
    const char *const *networks; /* carried (apply_plan_pf_networks) */
    size_t network_count;
    const placement_vf_t *vfs; /* the candidates */
    size_t vf_count;
} placement_pf_t;

typedef struct {
    const char *name;
    bool ready;            /* connected (state ready) */
    int64_t down_since_ms; /* when not ready: last heard of, 0 unknown */
    bool cordoned;
    bool iommu_ready;
    uint64_t mem_total_mib;
    const placement_pf_t *pfs; /* inventory order */
    size_t pf_count;
} placement_host_t;

/* One NIC of a VM: its network and MAC, and the VF it holds (pf NULL for
 * a VM that holds none, such as a failed one keeping its MACs). */
typedef struct {
    const char *network;
    uint8_t mac[6];
    const char *pf; /* PCI address */
    uint16_t vf;
} placement_vm_nic_t;

/* A VM the database holds. host NULL: it holds no VF and no memory, but
 * its MACs stay taken and its name stays known. */
typedef struct {
    const char *name;
    const char *host;
    uint64_t memory_mib;
    const char *group; /* "" or NULL: none */
    const placement_vm_nic_t *nics;
    size_t nic_count;
} placement_vm_t;

/* An empty index: no host, no VM, no policy (every request refused). */
placement_t *placement_new(void);
void placement_destroy(placement_t **self_p);

/* Takes from the policy (copied; the policy may be freed after) the
 * strategy, hugepages, hypervisor_reserve_mib, networks (name,
 * min_tx_rate), MAC pools and anti_affinity groups. NULL: no policy. The
 * hosts' PFs are the caller's to set again (placement_host_set), since
 * which PF carries which network comes from the policy. */
void placement_set_policy(placement_t *self, const policy_t *policy);

/* Adds the host, or replaces everything known of it except the VMs on it
 * (copied). */
void placement_host_set(placement_t *self, const placement_host_t *host);

/* Changes only liveness or cordon; -1 for an unknown host. */
int placement_host_state(placement_t *self, const char *host, bool ready,
                         int64_t down_since_ms, bool cordoned);

void placement_host_remove(placement_t *self, const char *host);

/* Adds a VM (copied), or replaces the one of that name: its VFs, memory
 * and MACs are taken. A VF the host does not list is still counted as held
 * (it may come back). */
void placement_vm_add(placement_t *self, const placement_vm_t *vm);

/* Forgets a VM: its VFs, memory and MACs are free again. -1 when unknown. */
int placement_vm_remove(placement_t *self, const char *name);

size_t placement_host_count(const placement_t *self);
size_t placement_vm_count(const placement_t *self);

/* ---- deciding ------------------------------------------------------- */

typedef struct {
    const char *network;
    bool has_mac;
    uint8_t mac[6];
} placement_nic_request_t;

typedef struct {
    const char *name;
    uint64_t memory_mib;
    uint32_t vcpus;
    const char *host; /* pin; NULL or "": any */
    /* A host not to consider at all (a cold evacuation's old host); NULL
     * or "": none. Naming it as the pin too is a request error. */
    const char *avoid;
    const char *group; /* anti-affinity group; NULL or "": none */
    placement_numa_t numa;
    bool separate_pfs;
    size_t nic_count;
    placement_nic_request_t nics[PLACEMENT_NICS_MAX];
} placement_request_t;

typedef struct {
    char network[VFP_NAME_MAX + 1];
    uint8_t mac[6];
    char pf[VFP_PCI_ADDR_MAX + 1];
    char pf_ifname[VFP_NAME_MAX + 1];
    uint16_t vf;
    char vf_pci[VFP_PCI_ADDR_MAX + 1];
} placement_nic_t;

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    uint64_t memory_mib; /* as reserved: rounded up to hugepages */
    size_t nic_count;
    placement_nic_t nics[PLACEMENT_NICS_MAX];
} placement_decision_t;

typedef enum {
    PLACEMENT_RULE_REQUEST = 0, /* the request itself is wrong */
    PLACEMENT_RULE_PIN,
    PLACEMENT_RULE_DOWN,
    PLACEMENT_RULE_CORDONED,
    PLACEMENT_RULE_IOMMU,
    PLACEMENT_RULE_ANTI_AFFINITY,
    PLACEMENT_RULE_MEMORY,
    PLACEMENT_RULE_NICS,
    PLACEMENT_RULE_COUNT,
} placement_rule_t;

/* "request", "pin", "down", "cordoned", "iommu", "anti-affinity",
 * "memory", "nics". */
const char *placement_rule_name(placement_rule_t rule);

/* Why nothing fits. */
typedef struct placement_refusal_t placement_refusal_t;

/* Decides without changing the index. Returns 0 with *out, or -1 with
 * *why (destroy it): a request error (rule REQUEST, and MAC problems), or
 * every considered host failing a rule. Never returns -1 without *why. */
int placement_decide(placement_t *self, const placement_request_t *request,
                     placement_decision_t *out, placement_refusal_t **why);

/* The one-line answer an operator reads, for a request error the error
 * itself, otherwise "no host fits vm NAME: " then the closest hosts (the
 * ones that fail the latest rule in the order above, then the ones
 * closest to passing it: most memory free for memory, fewest NICs short of
 * a VF for nics, then by name; at most PLACEMENT_CLOSEST_MAX) as "HOST:
 * REASON", then for every rule that leaves hosts uncounted, from the
 * latest rule to the first, "N hosts: REASON" ("1 host: REASON") with the
 * reason of the one closest to passing that rule among those not named,
 * separated by "; ". A cluster without hosts: "no host fits vm NAME: no
 * hosts are known". Example:
 *   no host fits vm web-1: h5: no free isolated VF on a PF carrying vlan1
 *   (2 of 2 used); h4: memory 2 GiB free < 4 GiB; h7: memory 2 GiB free <
 *   4 GiB; 2 hosts: memory 1 GiB free < 4 GiB; 1 host: cordoned; 1 host:
 *   down */
const char *placement_refusal_text(const placement_refusal_t *why);
bool placement_refusal_is_request(const placement_refusal_t *why);

/* Per rule: how many considered hosts failed it first (0 for a rule no host
 * failed; all of them, named among the closest or not) and the reason of
 * the one of them closest to passing it, as above (NULL when 0). */
size_t placement_refusal_hosts(const placement_refusal_t *why,
                               placement_rule_t rule);
const char *placement_refusal_example(const placement_refusal_t *why,
                                      placement_rule_t rule);

/* The closest hosts, as in the text. */
size_t placement_refusal_closest_count(const placement_refusal_t *why);
const char *placement_refusal_closest_host(const placement_refusal_t *why,
                                           size_t i);
placement_rule_t placement_refusal_closest_rule(const placement_refusal_t *why,
                                                size_t i);
const char *placement_refusal_closest_reason(const placement_refusal_t *why,
                                             size_t i);

void placement_refusal_destroy(placement_refusal_t **why_p);

/* ---- what-if -------------------------------------------------------- */

/* Places up to `count` copies of the request (names NAME-1, NAME-2, ...,
 * each checked like a request's name: against known VMs, length and
 * anti-affinity globs) one after another, as if each were committed, and
 * takes them out again, so the index is as it was: *placed says how many
 * fit, hosts[i] (caller's array of count entries, may be NULL) where the
 * i-th went, and *why why the next one did not (NULL when all fit).
 * Returns 0 when all fit, -1 (with *why) otherwise. */
int placement_plan_count(placement_t *self, const placement_request_t *request,
                         size_t count, size_t *placed,
                         char (*hosts)[VFP_HOSTNAME_MAX + 1],
                         placement_refusal_t **why);

#endif
