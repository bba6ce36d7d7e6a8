/* test_placement.c - the placement index: every rule fitting and refused
 * with its exact reason, the aggregated refusal, pack and spread with their
 * tie-break, pin, separate PFs, NUMA, guaranteed rates, MACs, capacity
 * given back, hosts set again under their VMs, and plan_count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

/* ---- helpers -------------------------------------------------------- */

#define S_POLICY                                                               \
    "version: 1\n"                                                             \
    "networks:\n"                                                              \
    "  - {name: vlan1, vlan: 1}\n"                                             \
    "  - {name: trunk, trunk: true}\n"                                         \
    "  - {name: bw, vlan: 3, min_tx_rate: 1000}\n"                             \
    "  - {name: bw5, vlan: 5, min_tx_rate: 4750}\n"                            \
    "%s"                                                                       \
    "memory:\n"                                                                \
    "  hugepages: %s\n"                                                        \
    "  hypervisor_reserve: 1G\n"                                               \
    "placement:\n"                                                             \
    "  strategy: %s\n"                                                         \
    "  anti_affinity_groups:\n"                                                \
    "    - {name: db, vms: [\"db-*\"]}\n"

#define S_POOLS                                                                \
    "mac_pools:\n"                                                             \
    "  - {name: vf, prefixes: [\"02:00:00:00:00\"]}\n"

static void s_set_policy(placement_t *p, const char *strategy,
                         const char *hugepages, bool pools)
{
    char text[2048];
    snprintf(text, sizeof(text), S_POLICY, pools ? S_POOLS : "", hugepages,
             strategy);
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy = policy_parse_buffer("p.yaml", text, strlen(text), errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    assert_non_null(policy);
    placement_set_policy(p, policy);
    policy_destroy(&policy);
}

/* A PF for s_host: candidates 0..vfs-1 (PCI "PCI.vN"), networks
 * NULL-ended. */
typedef struct {
    const char *pci;
    const char *ifname;
    int numa;
    uint32_t speed;
    size_t vfs;
    const char *nets[4];
} t_pf_t;

typedef struct {
    bool down;
    int64_t down_since_ms;
    bool cordoned;
    bool no_iommu;
    uint16_t in_use; /* 1 + index of a VF the inventory says is in use */
} t_state_t;

static void s_host_state(placement_t *p, const char *name, uint64_t mem_mib,
                         const t_state_t *state, const t_pf_t *pfs,
                         size_t pf_count)
{
    placement_pf_t *out = calloc(pf_count + 1, sizeof(*out));
    placement_vf_t *vfs = calloc(pf_count * 64 + 1, sizeof(*vfs));
    char(*pci)[64] = calloc(pf_count * 64 + 1, sizeof(*pci));
    assert_true(out && vfs && pci);
    for (size_t i = 0; i < pf_count; i++) {
        out[i].pci_addr = pfs[i].pci;
        out[i].ifname = pfs[i].ifname;
        out[i].numa_node = pfs[i].numa;
        out[i].link_speed = pfs[i].speed;
        out[i].networks = pfs[i].nets;
        while (pfs[i].nets[out[i].network_count])
            out[i].network_count++;
        out[i].vfs = &vfs[i * 64];
        out[i].vf_count = pfs[i].vfs;
        for (size_t v = 0; v < pfs[i].vfs; v++) {
            snprintf(pci[i * 64 + v], sizeof(*pci), "%.32s.v%zu", pfs[i].pci,
                     v);
            vfs[i * 64 + v].index = (uint16_t)v;
            vfs[i * 64 + v].pci_addr = pci[i * 64 + v];
            vfs[i * 64 + v].in_use = state && state->in_use == v + 1;
        }
    }
    placement_host_t host = {.name = name,
                             .ready = !(state && state->down),
                             .down_since_ms = state ? state->down_since_ms : 0,
                             .cordoned = state && state->cordoned,
                             .iommu_ready = !(state && state->no_iommu),
                             .mem_total_mib = mem_mib,
                             .pfs = out,
                             .pf_count = pf_count};
    placement_host_set(p, &host);
    free(out);
    free(vfs);
    free(pci);
}

/* A host with PF ens1f0 (2 VFs, vlan1 and trunk); memory in MiB, the
 * policy keeps 1 GiB back. */
static const t_pf_t s_one_pf[] = {
    {"0000:01:00.0", "ens1f0", 0, 10000, 2, {"vlan1", "trunk", NULL}}};

static void s_host(placement_t *p, const char *name, uint64_t mem_mib)
{
    s_host_state(p, name, mem_mib, NULL, s_one_pf, 1);
}

static placement_request_t s_request(const char *name, uint64_t mem_mib,
                                     const char *net)
{
    placement_request_t r = {.name = name, .memory_mib = mem_mib, .vcpus = 2};
    r.nic_count = 1;
    r.nics[0].network = net;
    return r;
}

static void s_add_nic(placement_request_t *r, const char *net)
{
    r->nics[r->nic_count++].network = net;
}

/* Decides and commits like the controller; returns the host. */
static const char *s_place(placement_t *p, const placement_request_t *r,
                           placement_decision_t *d)
{
    placement_refusal_t *why = NULL;
    int rc = placement_decide(p, r, d, &why);
    if (rc != 0)
        fprintf(stderr, "refused: %s\n", placement_refusal_text(why));
    assert_int_equal(rc, 0);
    assert_null(why);
    placement_vm_nic_t nics[PLACEMENT_NICS_MAX];
    for (size_t i = 0; i < d->nic_count; i++) {
        nics[i].network = d->nics[i].network;
        memcpy(nics[i].mac, d->nics[i].mac, 6);
        nics[i].pf = d->nics[i].pf;
        nics[i].vf = d->nics[i].vf;
    }
    placement_vm_t vm = {.name = r->name,
                         .host = d->host,
                         .memory_mib = r->memory_mib,
                         .group = r->group,
                         .nics = nics,
                         .nic_count = d->nic_count};
    placement_vm_add(p, &vm);
    return d->host;
}

/* Asserts a refusal with exactly this text; returns it (destroy it). */
static placement_refusal_t *
s_refused(placement_t *p, const placement_request_t *r, const char *text)
{
    placement_decision_t d;
    placement_refusal_t *why = NULL;
    assert_int_equal(placement_decide(p, r, &d, &why), -1);
    assert_non_null(why);
    assert_string_equal(placement_refusal_text(why), text);
    return why;
}

static void s_refused_only(placement_t *p, const placement_request_t *r,
                           const char *text)
{
    placement_refusal_t *why = s_refused(p, r, text);
    placement_refusal_destroy(&why);
}

static placement_t *s_index(const char *strategy)
{
    placement_t *p = placement_new();
    s_set_policy(p, strategy, "none", true);
    return p;
}

/* ---- request checks -------------------------------------------------- */

static void test_request_errors(void **state)
{
    (void)state;
    placement_t *p = placement_new();
    placement_request_t r = s_request("web-1", 4096, "vlan1");
    placement_refusal_t *why = s_refused(p, &r, "no policy has been applied");
    assert_true(placement_refusal_is_request(why));
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_MEMORY), 0);
    assert_int_equal(placement_refusal_closest_count(why), 0);
    placement_refusal_destroy(&why);
    s_set_policy(p, "spread", "none", true);
    s_host(p, "h1", 8192);

    r.name = "";
    s_refused_only(p, &r, "vm name is empty");
    char long_name[VFP_NAME_MAX + 2];
    memset(long_name, 'v', VFP_NAME_MAX + 1);
    long_name[VFP_NAME_MAX + 1] = '\0';
    r.name = long_name;
    s_refused_only(p, &r, "vm name is longer than 64 bytes");
    r = s_request("web-1", 0, "vlan1");
    s_refused_only(p, &r, "memory must be at least 1 MiB");
    r = s_request("web-1", 1024, "vlan1");
    r.vcpus = 0;
    s_refused_only(p, &r, "vcpus must be at least 1");
    r = s_request("web-1", 1024, "vlan1");
    r.nic_count = 0;
    s_refused_only(p, &r, "a vm needs 1 to 8 nics (has 0)");
    r = s_request("web-1", 1024, "vlan9");
    s_refused_only(p, &r, "network vlan9 is not defined by the policy");
    r = s_request("web-1", 1024, "vlan1");
    s_add_nic(&r, "");
    s_refused_only(p, &r, "nic 1 has no network");
    r.nics[1].network = NULL;
    s_refused_only(p, &r, "nic 1 has no network");
    r = s_request("web-1", 1024, "vlan1");
    r.host = "esx-9";
    s_refused_only(p, &r, "host esx-9 is not known");

    placement_decision_t d;
    r = s_request("web-1", 1024, "vlan1");
    s_place(p, &r, &d);
    s_refused_only(p, &r, "vm web-1 exists");
    placement_destroy(&p);
    assert_null(p);
}

static void test_no_hosts(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    placement_request_t r = s_request("web-1", 1024, "vlan1");
    placement_refusal_t *why =
        s_refused(p, &r, "no host fits vm web-1: no hosts are known");
    assert_false(placement_refusal_is_request(why));
    placement_refusal_destroy(&why);
    placement_destroy(&p);
}

/* ---- host rules ------------------------------------------------------ */

static void test_down_cordoned_iommu(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    /* 2026-11-30 10:20:30 UTC */
    t_state_t down = {.down = true, .down_since_ms = 1796034030000LL};
    s_host_state(p, "h1", 8192, &down, s_one_pf, 1);
    placement_request_t r = s_request("web-1", 1024, "vlan1");
    s_refused_only(p, &r, "no host fits vm web-1: h1: down since 10:20:30");
    down.down_since_ms = 0;
    s_host_state(p, "h1", 8192, &down, s_one_pf, 1);
    s_refused_only(p, &r, "no host fits vm web-1: h1: down");
    assert_int_equal(placement_host_state(p, "h1", true, 0, true), 0);
    s_refused_only(p, &r, "no host fits vm web-1: h1: cordoned");
    assert_int_equal(placement_host_state(p, "nope", true, 0, false), -1);
    t_state_t iommu = {.no_iommu = true};
    s_host_state(p, "h1", 8192, &iommu, s_one_pf, 1);
    placement_refusal_t *why =
        s_refused(p, &r, "no host fits vm web-1: h1: IOMMU not ready");
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_IOMMU), 1);
    assert_string_equal(placement_refusal_example(why, PLACEMENT_RULE_IOMMU),
                        "IOMMU not ready");
    assert_null(placement_refusal_example(why, PLACEMENT_RULE_DOWN));
    placement_refusal_destroy(&why);
    s_host(p, "h1", 8192);
    placement_decision_t d;
    assert_string_equal(s_place(p, &r, &d), "h1");
    placement_destroy(&p);
}

static void test_anti_affinity(void **state)
{
    (void)state;
    placement_t *p = s_index("pack");
    s_host(p, "h1", 8192);
    placement_decision_t d;
    placement_request_t r = s_request("db-1", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h1");
    /* The policy's group selects db-2 by its name. */
    r = s_request("db-2", 1024, "vlan1");
    s_refused_only(
        p, &r, "no host fits vm db-2: h1: runs db-1 of anti-affinity group db");
    s_host(p, "h2", 16384);
    assert_string_equal(s_place(p, &r, &d), "h2");

    /* A group named by the request only. */
    r = s_request("c-1", 1024, "vlan1");
    r.group = "cache";
    r.host = "h1";
    assert_string_equal(s_place(p, &r, &d), "h1");
    r = s_request("c-2", 1024, "vlan1");
    r.group = "cache";
    r.host = "h1";
    s_refused_only(
        p, &r,
        "no host fits vm c-2: h1: runs c-1 of anti-affinity group cache");
    r.host = NULL;
    assert_string_equal(s_place(p, &r, &d), "h2");
    placement_destroy(&p);
}

static void test_memory(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host(p, "h1", 1024 + 3175);
    placement_request_t r = s_request("web-1", 4096, "vlan1");
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: memory 3.1 GiB free < 4 GiB");
    s_host(p, "h1", 1024 + 512);
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: memory 512 MiB free < 4 GiB");
    /* Free memory rounds down, the need up. */
    s_host(p, "h1", 1024 + 4096);
    r.memory_mib = 4097;
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: memory 4 GiB free < 4.1 GiB");
    /* The reserve is larger than the host: nothing free, no wrap. */
    s_host(p, "h1", 512);
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: memory 0 MiB free < 4.1 GiB");
    s_host(p, "h1", 1024 + 4097);
    placement_decision_t d;
    assert_string_equal(s_place(p, &r, &d), "h1");
    assert_int_equal(d.memory_mib, 4097);
    placement_destroy(&p);
}

static void test_hugepages(void **state)
{
    (void)state;
    placement_t *p = placement_new();
    s_set_policy(p, "spread", "1G", true);
    s_host(p, "h1", 1024 + 3000);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1500, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h1");
    assert_int_equal(d.memory_mib, 2048);
    /* a counts 2048: 952 MiB are left, and 100 MiB round up to 1 GiB. */
    r = s_request("b", 100, "vlan1");
    s_refused_only(p, &r, "no host fits vm b: h1: memory 952 MiB free < 1 GiB");
    /* Under 2M pages the same VMs count less. */
    s_set_policy(p, "spread", "2M", true);
    r = s_request("b", 101, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h1");
    assert_int_equal(d.memory_mib, 102);
    placement_destroy(&p);
}

/* ---- NICs ------------------------------------------------------------ */

static void test_nics_reasons(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host(p, "h1", 8192);
    placement_request_t r = s_request("web-1", 1024, "bw");
    s_refused_only(p, &r, "no host fits vm web-1: h1: no PF carries bw");
    placement_decision_t d;
    placement_request_t a = s_request("a", 1024, "vlan1");
    s_place(p, &a, &d);
    a = s_request("b", 1024, "trunk");
    s_place(p, &a, &d);
    r = s_request("web-1", 1024, "vlan1");
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: no free isolated VF on a PF "
                   "carrying vlan1 (2 of 2 used)");
    assert_int_equal(placement_vm_remove(p, "b"), 0);
    s_add_nic(&r, "vlan1");
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: needs 2 free isolated VFs on "
                   "PFs carrying vlan1; has 1 (1 of 2 used)");
    /* Two networks on one PF with one VF left. */
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    a = s_request("a", 1024, "vlan1");
    s_place(p, &a, &d);
    r = s_request("web-1", 1024, "vlan1");
    s_add_nic(&r, "trunk");
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: needs 2 free isolated VFs on "
                   "PFs carrying vlan1, trunk; has 1");
    /* A VF the inventory reports in use is not free. */
    t_state_t used = {.in_use = 2};
    s_host_state(p, "h1", 8192, &used, s_one_pf, 1);
    r = s_request("web-1", 1024, "trunk");
    s_refused_only(p, &r,
                   "no host fits vm web-1: h1: no free isolated VF on a PF "
                   "carrying trunk (2 of 2 used)");
    placement_destroy(&p);
}

static const t_pf_t s_two_pfs[] = {
    {"0000:01:00.0", "ens1f0", 0, 10000, 4, {"vlan1", "trunk", "bw", NULL}},
    {"0000:01:00.1", "ens1f1", 0, 10000, 4, {"vlan1", NULL}}};

static void test_separate_pfs(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, s_two_pfs, 2);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    s_add_nic(&r, "vlan1");
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    assert_int_equal(d.nics[0].vf, 0);
    assert_string_equal(d.nics[1].pf, "0000:01:00.0");
    assert_int_equal(d.nics[1].vf, 1);
    assert_string_equal(d.nics[1].pf_ifname, "ens1f0");
    assert_string_equal(d.nics[1].vf_pci, "0000:01:00.0.v1");
    r = s_request("b", 1024, "vlan1");
    s_add_nic(&r, "vlan1");
    r.separate_pfs = true;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    assert_int_equal(d.nics[0].vf, 2);
    assert_string_equal(d.nics[1].pf, "0000:01:00.1");
    assert_int_equal(d.nics[1].vf, 0);
    /* The first NIC gives way: only ens1f0 carries trunk. */
    r = s_request("c", 1024, "vlan1");
    s_add_nic(&r, "trunk");
    r.separate_pfs = true;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.1");
    assert_string_equal(d.nics[1].pf, "0000:01:00.0");
    assert_int_equal(d.nics[1].vf, 3);
    /* ens1f0 is full now. */
    r = s_request("e", 1024, "vlan1");
    s_add_nic(&r, "vlan1");
    r.separate_pfs = true;
    s_refused_only(p, &r,
                   "no host fits vm e: h1: needs 2 separate PFs for vlan1; "
                   "has 1");
    r.separate_pfs = false;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.1");
    assert_int_equal(d.nics[0].vf, 2);
    assert_int_equal(d.nics[1].vf, 3);
    placement_destroy(&p);

    p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, s_two_pfs, 2);
    r = s_request("f", 1024, "trunk");
    s_add_nic(&r, "trunk");
    r.separate_pfs = true;
    s_refused_only(p, &r,
                   "no host fits vm f: h1: needs 2 separate PFs for trunk; "
                   "has 1");
    placement_destroy(&p);
}

static void test_numa(void **state)
{
    (void)state;
    const t_pf_t pfs[] = {
        {"0000:01:00.0", "ens1f0", 0, 10000, 1, {"vlan1", NULL}},
        {"0000:81:00.0", "ens8f0", 1, 10000, 2, {"vlan1", NULL}}};
    placement_t *p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, pfs, 2);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    s_add_nic(&r, "vlan1");
    r.numa = PLACEMENT_NUMA_PREFERRED;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:81:00.0");
    assert_string_equal(d.nics[1].pf, "0000:81:00.0");
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    r.numa = PLACEMENT_NUMA_REQUIRED;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:81:00.0");
    assert_int_equal(d.nics[1].vf, 1);
    /* One VF left on each node. */
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    placement_request_t one = s_request("x", 1024, "vlan1");
    one.host = "h1";
    s_place(p, &one, &d);
    s_place(p,
            &(placement_request_t){.name = "y",
                                   .memory_mib = 1024,
                                   .vcpus = 1,
                                   .nic_count = 1,
                                   .nics = {{.network = "vlan1"}}},
            &d);
    assert_string_equal(d.nics[0].pf, "0000:81:00.0");
    assert_int_equal(placement_vm_remove(p, "x"), 0);
    /* Now ens1f0 and ens8f0 have one free VF each. */
    r.name = "b";
    r.numa = PLACEMENT_NUMA_REQUIRED;
    s_refused_only(p, &r,
                   "no host fits vm b: h1: no NUMA node has free VFs for "
                   "every NIC");
    r.numa = PLACEMENT_NUMA_PREFERRED;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    assert_string_equal(d.nics[1].pf, "0000:81:00.0");
    placement_destroy(&p);

    /* PFs of unknown node (a single-node machine) are one node. */
    const t_pf_t unknown[] = {
        {"0000:01:00.0", "ens1f0", -1, 10000, 1, {"vlan1", NULL}},
        {"0000:01:00.1", "ens1f1", -1, 10000, 1, {"vlan1", NULL}}};
    p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, unknown, 2);
    r.name = "c";
    r.numa = PLACEMENT_NUMA_REQUIRED;
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    assert_string_equal(d.nics[1].pf, "0000:01:00.1");
    placement_destroy(&p);
}

static void test_min_tx_rate(void **state)
{
    (void)state;
    const t_pf_t pfs[] = {
        {"0000:01:00.0", "ens3f0", 0, 10000, 8, {"bw", "bw5", NULL}},
        {"0000:01:00.1", "ens3f1", 0, 0, 8, {"bw", NULL}}};
    placement_t *p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, pfs, 2);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "bw5");
    s_place(p, &r, &d);
    r = s_request("b", 1024, "bw5");
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    /* 9500 of 10000 guaranteed on ens3f0; ens3f1's speed is unknown. */
    r = s_request("c", 1024, "bw");
    s_refused_only(p, &r,
                   "no host fits vm c: h1: no PF carrying bw has 1000 Mbit/s "
                   "unguaranteed (ens3f0: 9500 of 10000 guaranteed, ens3f1: "
                   "link speed unknown)");
    assert_int_equal(placement_vm_remove(p, "b"), 0);
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    r = s_request("e", 1024, "bw");
    for (int i = 0; i < 4; i++)
        s_add_nic(&r, "bw");
    s_refused_only(
        p, &r,
        "no host fits vm e: h1: PFs carrying bw have room for 4 of 5 "
        "NICs at 1000 Mbit/s guaranteed (ens3f0: 5750 of 10000 "
        "guaranteed, ens3f1: link speed unknown)");
    /* A known link speed on ens3f1 gives the room. */
    const t_pf_t fast[] = {
        pfs[0], {"0000:01:00.1", "ens3f1", 0, 1000, 8, {"bw", NULL}}};
    s_host_state(p, "h1", 65536, NULL, fast, 2);
    s_place(p, &r, &d);
    assert_string_equal(d.nics[0].pf, "0000:01:00.0");
    assert_string_equal(d.nics[3].pf, "0000:01:00.0");
    assert_string_equal(d.nics[4].pf, "0000:01:00.1");
    placement_destroy(&p);

    /* Each NIC alone would fit ens3f0; together they do not. */
    const t_pf_t slow[] = {
        {"0000:01:00.0", "ens3f0", 0, 5000, 8, {"bw", "bw5", NULL}}};
    p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, slow, 1);
    r = s_request("g", 1024, "bw");
    s_add_nic(&r, "bw5");
    s_refused_only(p, &r,
                   "no host fits vm g: h1: PFs carrying bw, bw5 cannot "
                   "guarantee every NIC's min_tx_rate together (ens3f0: 0 of "
                   "5000 guaranteed)");
    r.nic_count = 1;
    s_place(p, &r, &d);
    placement_destroy(&p);
}

/* ---- scoring --------------------------------------------------------- */

static void s_three_hosts(placement_t *p)
{
    s_host(p, "h-b", 9216);
    s_host(p, "h-a", 9216);
    s_host(p, "h-c", 9216);
}

static void test_spread(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_three_hosts(p);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-a");
    r = s_request("b", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-b");
    r = s_request("c", 2048, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-c");
    /* h-a and h-b have 7 GiB free, h-c 6: the name decides. */
    r = s_request("d", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-a");
    r = s_request("e", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-b");
    r = s_request("f", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-c");
    assert_int_equal(placement_host_count(p), 3);
    assert_int_equal(placement_vm_count(p), 6);
    placement_destroy(&p);
}

static void test_pack(void **state)
{
    (void)state;
    placement_t *p = s_index("pack");
    s_three_hosts(p);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-a");
    r = s_request("b", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-a");
    /* h-a has no VF left: the next equal hosts by name. */
    r = s_request("c", 7168, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-b");
    /* h-b has 1 GiB left, enough for d but not for e. */
    r = s_request("d", 1024, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-b");
    s_host(p, "h-d", 4096);
    r = s_request("e", 2048, "vlan1");
    assert_string_equal(s_place(p, &r, &d), "h-d");
    placement_destroy(&p);
}

static void test_pin(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host(p, "h1", 16384);
    s_host(p, "h2", 8192);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    r.host = "h2";
    assert_string_equal(s_place(p, &r, &d), "h2");
    r = s_request("b", 8192, "vlan1");
    r.host = "h2";
    placement_refusal_t *why =
        s_refused(p, &r, "no host fits vm b: h2: memory 6 GiB free < 8 GiB");
    /* Only the pinned host was considered. */
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_MEMORY), 1);
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_PIN), 0);
    placement_refusal_destroy(&why);
    r.host = "";
    assert_string_equal(s_place(p, &r, &d), "h1");
    placement_destroy(&p);
}

/* A host to avoid (a cold evacuation's old host) is never considered,
 * not even in the refusal; pinning it too is a request error. */
static void test_avoid(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host(p, "h1", 16384);
    s_host(p, "h2", 8192);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    r.avoid = "h1";
    assert_string_equal(s_place(p, &r, &d), "h2");
    r = s_request("b", 8192, "vlan1");
    r.avoid = "h1";
    placement_refusal_t *why =
        s_refused(p, &r, "no host fits vm b: h2: memory 6 GiB free < 8 GiB");
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_MEMORY), 1);
    placement_refusal_destroy(&why);
    r.host = "h1";
    why = s_refused(p, &r, "host h1 is the one the vm leaves");
    assert_true(placement_refusal_is_request(why));
    placement_refusal_destroy(&why);
    placement_destroy(&p);
}

/* ---- the aggregated refusal ----------------------------------------- */

static void test_refusal_text(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    t_state_t down = {.down = true};
    t_state_t cordoned = {.cordoned = true};
    s_host_state(p, "h1", 65536, &down, s_one_pf, 1);
    s_host_state(p, "h2", 65536, &cordoned, s_one_pf, 1);
    s_host(p, "h3", 1024 + 1024);
    s_host(p, "h4", 1024 + 2048);
    s_host(p, "h6", 1024 + 512);
    s_host(p, "h7", 1024 + 2048);
    s_host(p, "h5", 16384);
    placement_decision_t d;
    placement_request_t r = s_request("a", 1024, "vlan1");
    r.host = "h5";
    s_place(p, &r, &d);
    r = s_request("b", 1024, "vlan1");
    r.host = "h5";
    s_place(p, &r, &d);
    r = s_request("web-1", 4096, "vlan1");
    placement_refusal_t *why = s_refused(
        p, &r,
        "no host fits vm web-1: h5: no free isolated VF on a PF carrying "
        "vlan1 (2 of 2 used); h4: memory 2 GiB free < 4 GiB; h7: memory 2 GiB "
        "free < 4 GiB; 2 hosts: memory 1 GiB free < 4 GiB; 1 host: cordoned; "
        "1 host: down");
    assert_false(placement_refusal_is_request(why));
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_NICS), 1);
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_MEMORY), 4);
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_CORDONED), 1);
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_DOWN), 1);
    assert_int_equal(placement_refusal_hosts(why, PLACEMENT_RULE_IOMMU), 0);
    assert_string_equal(placement_refusal_example(why, PLACEMENT_RULE_MEMORY),
                        "memory 2 GiB free < 4 GiB");
    assert_null(placement_refusal_example(why, PLACEMENT_RULE_IOMMU));
    assert_int_equal(placement_refusal_closest_count(why), 3);
    assert_string_equal(placement_refusal_closest_host(why, 0), "h5");
    assert_int_equal(placement_refusal_closest_rule(why, 0),
                     PLACEMENT_RULE_NICS);
    assert_string_equal(placement_refusal_closest_reason(why, 1),
                        "memory 2 GiB free < 4 GiB");
    assert_string_equal(placement_refusal_closest_host(why, 2), "h7");
    assert_null(placement_refusal_closest_host(why, 3));
    placement_refusal_destroy(&why);
    assert_null(why);
    placement_destroy(&p);
}

/* ---- MACs ------------------------------------------------------------ */

static void s_mac(uint8_t *mac, uint8_t a, uint8_t last)
{
    uint8_t value[6] = {a, 0, 0, 0, 0, last};
    memcpy(mac, value, 6);
}

static void test_macs(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host_state(p, "h1", 65536, NULL, s_two_pfs, 2);
    placement_decision_t d;
    uint8_t want[6];
    placement_request_t r = s_request("a", 1024, "vlan1");
    s_add_nic(&r, "vlan1");
    s_place(p, &r, &d);
    s_mac(want, 2, 0);
    assert_memory_equal(d.nics[0].mac, want, 6);
    s_mac(want, 2, 1);
    assert_memory_equal(d.nics[1].mac, want, 6);
    /* A fixed MAC inside the pool is skipped by the next allocation. */
    r = s_request("b", 1024, "vlan1");
    r.nics[0].has_mac = true;
    s_mac(r.nics[0].mac, 2, 2);
    s_add_nic(&r, "vlan1");
    s_place(p, &r, &d);
    s_mac(want, 2, 3);
    assert_memory_equal(d.nics[1].mac, want, 6);
    /* Removing a gives its MACs back, lowest first. */
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    r = s_request("c", 1024, "vlan1");
    s_place(p, &r, &d);
    s_mac(want, 2, 0);
    assert_memory_equal(d.nics[0].mac, want, 6);

    r = s_request("e", 1024, "vlan1");
    r.nics[0].has_mac = true;
    s_mac(r.nics[0].mac, 2, 2);
    s_refused_only(p, &r, "mac 02:00:00:00:00:02 is held by vm b");
    s_mac(r.nics[0].mac, 3, 2);
    s_refused_only(p, &r, "mac 03:00:00:00:00:02 is multicast");
    s_mac(r.nics[0].mac, 0, 0);
    s_refused_only(p, &r, "mac 00:00:00:00:00:00 means no MAC");
    s_mac(r.nics[0].mac, 6, 9);
    s_add_nic(&r, "vlan1");
    r.nics[1].has_mac = true;
    s_mac(r.nics[1].mac, 6, 9);
    placement_refusal_t *why =
        s_refused(p, &r, "mac 06:00:00:00:00:09 is given to more than one nic");
    assert_true(placement_refusal_is_request(why));
    placement_refusal_destroy(&why);
    /* A fixed MAC outside every pool. */
    r.nic_count = 1;
    s_place(p, &r, &d);
    s_mac(want, 6, 9);
    assert_memory_equal(d.nics[0].mac, want, 6);
    placement_destroy(&p);
}

static void test_mac_pool_exhausted(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    s_host(p, "h1", 65536);
    /* VMs without a host keep their MACs. */
    for (int i = 0; i < 256; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f-%d", i);
        placement_vm_nic_t nic = {.network = "vlan1"};
        s_mac(nic.mac, 2, (uint8_t)i);
        placement_vm_t vm = {
            .name = name, .memory_mib = 1, .nics = &nic, .nic_count = 1};
        placement_vm_add(p, &vm);
    }
    placement_request_t r = s_request("web-1", 1024, "vlan1");
    s_refused_only(p, &r, "mac pools are exhausted (256 addresses)");
    assert_int_equal(placement_vm_remove(p, "f-77"), 0);
    placement_decision_t d;
    s_place(p, &r, &d);
    uint8_t want[6];
    s_mac(want, 2, 77);
    assert_memory_equal(d.nics[0].mac, want, 6);
    assert_string_equal(d.host, "h1");
    /* Without pools a NIC needs its MAC. */
    s_set_policy(p, "spread", "none", false);
    r = s_request("web-2", 1024, "vlan1");
    s_refused_only(p, &r,
                   "nic 0 has no mac and the policy defines no mac pool");
    placement_destroy(&p);
}

/* ---- the index's life ------------------------------------------------ */

static void test_capacity_given_back(void **state)
{
    (void)state;
    placement_t *p = s_index("pack");
    s_host(p, "h1", 1024 + 4096);
    placement_decision_t d;
    placement_request_t r = s_request("a", 4096, "vlan1");
    s_place(p, &r, &d);
    r = s_request("b", 1024, "vlan1");
    s_refused_only(p, &r, "no host fits vm b: h1: memory 0 MiB free < 1 GiB");
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    assert_int_equal(placement_vm_remove(p, "a"), -1);
    s_place(p, &r, &d);
    /* Adding a VM again under its name replaces it. */
    placement_vm_nic_t nic = {
        .network = "vlan1", .pf = "0000:01:00.0", .vf = 1};
    s_mac(nic.mac, 2, 9);
    placement_vm_t vm = {.name = "b",
                         .host = "h1",
                         .memory_mib = 4096,
                         .nics = &nic,
                         .nic_count = 1};
    placement_vm_add(p, &vm);
    assert_int_equal(placement_vm_count(p), 1);
    r = s_request("c", 1024, "vlan1");
    s_refused_only(p, &r, "no host fits vm c: h1: memory 0 MiB free < 1 GiB");
    vm.memory_mib = 1024;
    placement_vm_add(p, &vm);
    s_place(p, &r, &d);
    assert_int_equal(d.nics[0].vf, 0);
    placement_destroy(&p);
}

static void test_host_set_keeps_vms(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    /* The VM comes first (loaded from the db before any agent). */
    placement_vm_nic_t nic = {
        .network = "vlan1", .pf = "0000:01:00.0", .vf = 0};
    s_mac(nic.mac, 2, 0);
    placement_vm_t vm = {.name = "old",
                         .host = "h1",
                         .memory_mib = 1024,
                         .nics = &nic,
                         .nic_count = 1};
    placement_vm_add(p, &vm);
    assert_int_equal(placement_host_count(p), 0);
    placement_request_t r = s_request("a", 1024, "vlan1");
    s_refused_only(p, &r, "no host fits vm a: no hosts are known");
    s_host(p, "h1", 8192);
    assert_int_equal(placement_host_count(p), 1);
    placement_decision_t d;
    s_place(p, &r, &d);
    assert_int_equal(d.nics[0].vf, 1);
    assert_int_equal(placement_vm_remove(p, "a"), 0);
    /* The PF comes back without VF 0, then with it: still held by old. */
    const t_pf_t only1[] = {
        {"0000:01:00.0", "ens1f0", 0, 10000, 2, {"vlan1", NULL}}};
    t_state_t used = {.in_use = 2};
    s_host_state(p, "h1", 8192, &used, only1, 1);
    s_refused_only(p, &r,
                   "no host fits vm a: h1: no free isolated VF on a PF "
                   "carrying vlan1 (2 of 2 used)");
    s_host(p, "h1", 8192);
    s_place(p, &r, &d);
    assert_int_equal(d.nics[0].vf, 1);
    /* Removed and set again, the host still holds its VMs' memory. */
    placement_host_remove(p, "h1");
    assert_int_equal(placement_host_count(p), 0);
    s_host(p, "h1", 1024 + 2048);
    r = s_request("b", 1024, "trunk");
    s_refused_only(p, &r, "no host fits vm b: h1: memory 0 MiB free < 1 GiB");
    assert_int_equal(placement_vm_remove(p, "old"), 0);
    placement_host_remove(p, "h1");
    placement_host_remove(p, "h1");
    assert_int_equal(placement_host_count(p), 0);
    placement_destroy(&p);
}

static void test_plan_count(void **state)
{
    (void)state;
    placement_t *p = s_index("spread");
    const t_pf_t pfs[] = {
        {"0000:01:00.0", "ens1f0", 0, 10000, 8, {"vlan1", NULL}}};
    s_host_state(p, "h1", 1024 + 4096, NULL, pfs, 1);
    s_host_state(p, "h2", 1024 + 4096, NULL, pfs, 1);
    placement_request_t r = s_request("web", 2048, "vlan1");
    size_t placed = 99;
    char hosts[5][VFP_HOSTNAME_MAX + 1];
    placement_refusal_t *why = NULL;
    assert_int_equal(placement_plan_count(p, &r, 5, &placed, hosts, &why), -1);
    assert_int_equal(placed, 4);
    assert_string_equal(hosts[0], "h1");
    assert_string_equal(hosts[1], "h2");
    assert_string_equal(hosts[2], "h1");
    assert_string_equal(hosts[3], "h2");
    assert_non_null(why);
    assert_string_equal(placement_refusal_text(why),
                        "no host fits vm web-5: h1: memory 0 MiB free < 2 GiB; "
                        "h2: memory 0 MiB free < 2 GiB");
    placement_refusal_destroy(&why);
    /* Nothing stayed. */
    assert_int_equal(placement_vm_count(p), 0);
    assert_int_equal(placement_plan_count(p, &r, 2, &placed, NULL, &why), 0);
    assert_int_equal(placed, 2);
    assert_null(why);
    placement_decision_t d;
    r = s_request("web-1", 4096, "vlan1");
    s_place(p, &r, &d);
    uint8_t want[6];
    s_mac(want, 2, 0);
    assert_memory_equal(d.nics[0].mac, want, 6);
    /* The anti-affinity of db-* holds between the copies. */
    r = s_request("db", 1024, "vlan1");
    assert_int_equal(placement_plan_count(p, &r, 3, &placed, hosts, &why), -1);
    assert_int_equal(placed, 1);
    assert_string_equal(hosts[0], "h2");
    assert_string_equal(placement_refusal_text(why),
                        "no host fits vm db-2: h1: memory 0 MiB free < 1 GiB; "
                        "h2: runs db-1 of anti-affinity group db");
    placement_refusal_destroy(&why);
    placement_destroy(&p);
}

/* The walk's answer is the best host by the score: the same as asking
 * every host alone (pinned) and scoring by hand, over random clusters. */
static void s_walk_matches(const char *strategy, unsigned seed)
{
    enum { HOSTS = 24, ROUNDS = 400 };
    placement_t *p = s_index(strategy);
    uint64_t free_mib[HOSTS];
    char names[HOSTS][16];
    size_t placed = 0, refused = 0;
    srand(seed);
    for (int h = 0; h < HOSTS; h++) {
        t_pf_t pfs[2] = {{"0000:01:00.0",
                          "ens1f0",
                          0,
                          10000,
                          1 + (size_t)(rand() % 4),
                          {"vlan1", "trunk", NULL}},
                         {"0000:01:00.1",
                          "ens1f1",
                          1,
                          10000,
                          1 + (size_t)(rand() % 4),
                          {"vlan1", NULL}}};
        uint64_t mem = 1024 + 1024 * (uint64_t)(4 + rand() % 8);
        snprintf(names[h], sizeof(names[h]), "h%02d", (h * 7) % HOSTS);
        t_state_t st = {.cordoned = rand() % 10 == 0};
        s_host_state(p, names[h], mem, &st, pfs, 2);
        free_mib[h] = st.cordoned ? 0 : mem - 1024;
    }
    for (int i = 0; i < ROUNDS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-%d", rand() % 5 ? "vm" : "db", i);
        placement_request_t r =
            s_request(name, 512 * (uint64_t)(1 + rand() % 6), "vlan1");
        if (rand() % 3 == 0)
            s_add_nic(&r, rand() % 2 ? "trunk" : "vlan1");
        r.separate_pfs = rand() % 4 == 0;
        int best = -1;
        placement_decision_t d;
        for (int h = 0; h < HOSTS; h++) {
            placement_refusal_t *why = NULL;
            r.host = names[h];
            if (placement_decide(p, &r, &d, &why) != 0) {
                placement_refusal_destroy(&why);
                continue;
            }
            bool pack = strcmp(strategy, "pack") == 0;
            bool better = best < 0 ||
                          (pack ? free_mib[h] < free_mib[best]
                                : free_mib[h] > free_mib[best]) ||
                          (free_mib[h] == free_mib[best] &&
                           strcmp(names[h], names[best]) < 0);
            if (better)
                best = h;
        }
        r.host = NULL;
        placement_refusal_t *why = NULL;
        int rc = placement_decide(p, &r, &d, &why);
        placement_refusal_destroy(&why);
        assert_int_equal(rc, best < 0 ? -1 : 0);
        if (best < 0) {
            refused++;
            continue;
        }
        placed++;
        assert_string_equal(d.host, names[best]);
        s_place(p, &r, &d);
        free_mib[best] -= r.memory_mib;
    }
    /* The cluster filled up on the way. */
    assert_true(placed > 50 && refused > 50);
    placement_destroy(&p);
}

static void test_walk_matches_every_host(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 4; seed++) {
        s_walk_matches("spread", seed);
        s_walk_matches("pack", seed);
    }
}

static void test_names(void **state)
{
    (void)state;
    placement_numa_t numa;
    assert_int_equal(placement_numa_parse("required", &numa), 0);
    assert_int_equal(numa, PLACEMENT_NUMA_REQUIRED);
    assert_int_equal(placement_numa_parse("preferred", &numa), 0);
    assert_int_equal(numa, PLACEMENT_NUMA_PREFERRED);
    assert_int_equal(placement_numa_parse("none", &numa), 0);
    assert_int_equal(numa, PLACEMENT_NUMA_NONE);
    assert_int_equal(placement_numa_parse("Required", &numa), -1);
    assert_int_equal(placement_numa_parse(NULL, &numa), -1);
    assert_string_equal(placement_numa_name(PLACEMENT_NUMA_PREFERRED),
                        "preferred");
    assert_string_equal(placement_rule_name(PLACEMENT_RULE_ANTI_AFFINITY),
                        "anti-affinity");
    assert_string_equal(placement_rule_name(PLACEMENT_RULE_REQUEST), "request");
    assert_string_equal(placement_rule_name(PLACEMENT_RULE_NICS), "nics");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_no_hosts),
        cmocka_unit_test(test_down_cordoned_iommu),
        cmocka_unit_test(test_anti_affinity),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_hugepages),
        cmocka_unit_test(test_nics_reasons),
        cmocka_unit_test(test_separate_pfs),
        cmocka_unit_test(test_numa),
        cmocka_unit_test(test_min_tx_rate),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_pin),
        cmocka_unit_test(test_avoid),
        cmocka_unit_test(test_refusal_text),
        cmocka_unit_test(test_macs),
        cmocka_unit_test(test_mac_pool_exhausted),
        cmocka_unit_test(test_capacity_given_back),
        cmocka_unit_test(test_host_set_keeps_vms),
        cmocka_unit_test(test_plan_count),
        cmocka_unit_test(test_walk_matches_every_host),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
