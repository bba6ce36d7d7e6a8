/* placement_bench.c - times the placement index alone: builds HOSTS hosts
 * x PFS PFs x VFS VFs on two networks, places a mix of VMs (1 or 2 NICs,
 * 2 to 16 GiB, some in anti-affinity groups) by decide + vm_add, as the
 * controller commits them, until the cluster is full or the count is
 * reached, and prints decisions per second, p50/p99 latency, the time of a
 * refusal and of plan_count(1000). Not a test: it prints figures.
 *
 * usage: placement_bench [HOSTS [VMS]] ...   (pairs; default 1000 60000
 *        10000 100000), PFS and VFS fixed at 2 and 32, strategy spread and
 *        pack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_sys.h"
#include "placement.h"

#define S_PFS 2
#define S_VFS 32
#define S_HOST_MIB (256ULL * 1024)
#define S_PLAN_COUNT 1000

#define S_POLICY_TEXT                                                          \
    "version: 1\n"                                                             \
    "networks:\n"                                                              \
    "  - {name: prod, vlan: 100}\n"                                            \
    "  - {name: storage, vlan: 200, min_tx_rate: 1000}\n"                      \
    "mac_pools:\n"                                                             \
    "  - {name: vf, prefixes: [\"02:76:66\"]}\n"                               \
    "memory:\n"                                                                \
    "  hugepages: 2M\n"                                                        \
    "  hypervisor_reserve: 8G\n"                                               \
    "placement:\n"                                                             \
    "  strategy: %s\n"                                                         \
    "  anti_affinity_groups:\n"                                                \
    "    - {name: db, vms: [\"db-*\"]}\n"                                      \
    "    - {name: lb, vms: [\"lb-*\"]}\n"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t s_rand_state = 88172645463325252ULL;

static uint64_t s_rand(void)
{
    s_rand_state ^= s_rand_state << 13;
    s_rand_state ^= s_rand_state >> 7;
    s_rand_state ^= s_rand_state << 17;
    return s_rand_state;
}

static long s_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static int s_set_policy(placement_t *p, const char *strategy)
{
    char text[1024];
    snprintf(text, sizeof(text), S_POLICY_TEXT, strategy);
    policy_errors_t *errs = policy_errors_new();
    policy_t *policy =
        policy_parse_buffer("bench.yaml", text, strlen(text), errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    if (!policy)
        return -1;
    placement_set_policy(p, policy);
    policy_destroy(&policy);
    return 0;
}

/* Hosts bench-NNNNN: ens1f0 (NUMA 0) carries prod, ens1f1 (NUMA 1) prod
 * and storage, 25 Gbit/s each. */
static void s_add_hosts(placement_t *p, int hosts)
{
    static const char *const pf0_nets[] = {"prod"};
    static const char *const pf1_nets[] = {"prod", "storage"};
    placement_vf_t vfs[S_PFS][S_VFS];
    char vf_pci[S_PFS][S_VFS][16];
    char pf_pci[S_PFS][16], ifname[S_PFS][16], name[32];
    placement_pf_t pfs[S_PFS];
    for (int h = 0; h < hosts; h++) {
        for (int i = 0; i < S_PFS; i++) {
            snprintf(pf_pci[i], sizeof(pf_pci[i]), "0000:3b:00.%d", i);
            snprintf(ifname[i], sizeof(ifname[i]), "ens1f%d", i);
            for (int v = 0; v < S_VFS; v++) {
                snprintf(vf_pci[i][v], sizeof(vf_pci[i][v]), "0000:3b:%02x.%d",
                         2 + i * 4 + v / 8, v % 8);
                vfs[i][v] = (placement_vf_t){.index = (uint16_t)v,
                                             .pci_addr = vf_pci[i][v]};
            }
            pfs[i] = (placement_pf_t){.pci_addr = pf_pci[i],
                                      .ifname = ifname[i],
                                      .numa_node = i,
                                      .link_speed = 25000,
                                      .networks = i ? pf1_nets : pf0_nets,
                                      .network_count = i ? 2 : 1,
                                      .vfs = vfs[i],
                                      .vf_count = S_VFS};
        }
        snprintf(name, sizeof(name), "bench-%05d", h);
        placement_host_t host = {.name = name,
                                 .ready = true,
                                 .iommu_ready = true,
                                 .mem_total_mib = S_HOST_MIB,
                                 .pfs = pfs,
                                 .pf_count = S_PFS};
        placement_host_set(p, &host);
    }
}

/* The i-th VM of the mix: 1 NIC (70 %) or 2 (prod + storage, separate
 * PFs), 2 to 16 GiB, 5 % in the policy's db and lb groups by name and 10 %
 * in one of 50 request groups. */
static void s_request(size_t i, placement_request_t *r, char *name, size_t size)
{
    static const uint64_t gib[] = {2, 4, 4, 8, 8, 16};
    uint64_t roll = s_rand();
    memset(r, 0, sizeof(*r));
    const char *prefix = roll % 40 == 0 ? "db" : roll % 40 == 1 ? "lb" : "vm";
    snprintf(name, size, "%s-%zu", prefix, i);
    r->name = name;
    r->vcpus = 2;
    r->memory_mib = gib[(roll >> 8) % 6] * 1024;
    r->nic_count = 1;
    r->nics[0].network = "prod";
    if ((roll >> 16) % 10 < 3) {
        r->nics[r->nic_count++].network = "storage";
        r->separate_pfs = true;
    }
    static char group[16];
    if ((roll >> 24) % 10 == 0) {
        snprintf(group, sizeof(group), "grp-%u", (unsigned)((roll >> 32) % 50));
        r->group = group;
    }
}

static void s_commit(placement_t *p, const placement_request_t *r,
                     const placement_decision_t *d)
{
    placement_vm_nic_t nics[PLACEMENT_NICS_MAX];
    for (size_t i = 0; i < d->nic_count; i++)
        nics[i] = (placement_vm_nic_t){.network = d->nics[i].network,
                                       .pf = d->nics[i].pf,
                                       .vf = d->nics[i].vf};
    for (size_t i = 0; i < d->nic_count; i++)
        memcpy(nics[i].mac, d->nics[i].mac, 6);
    placement_vm_t vm = {.name = r->name,
                         .host = d->host,
                         .memory_mib = r->memory_mib,
                         .group = r->group,
                         .nics = nics,
                         .nic_count = d->nic_count};
    placement_vm_add(p, &vm);
}

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Places until the first refusal or vms placements; returns how many. */
static size_t s_fill(placement_t *p, size_t vms, double *lat, double *wall,
                     char *refusal, size_t size)
{
    placement_request_t r;
    placement_decision_t d;
    char name[64];
    size_t placed = 0;
    double start = s_now();
    for (; placed < vms; placed++) {
        s_request(placed, &r, name, sizeof(name));
        placement_refusal_t *why = NULL;
        double t0 = s_now();
        if (placement_decide(p, &r, &d, &why) != 0) {
            double t1 = s_now();
            snprintf(refusal, size, "%.3f ms: %.200s", (t1 - t0) * 1e3,
                     placement_refusal_text(why));
            placement_refusal_destroy(&why);
            break;
        }
        s_commit(p, &r, &d);
        lat[placed] = s_now() - t0;
    }
    *wall = s_now() - start;
    return placed;
}

static void s_run(int hosts, size_t vms, const char *strategy)
{
    placement_t *p = placement_new();
    if (s_set_policy(p, strategy) != 0)
        exit(1);
    long rss0 = s_rss_kib();
    double t0 = s_now();
    s_add_hosts(p, hosts);
    double build = s_now() - t0;
    long rss1 = s_rss_kib();
    double *lat = calloc(vms + 1, sizeof(*lat));
    if (!lat)
        exit(1);
    char refusal[512] = "";
    double wall;
    size_t placed = s_fill(p, vms, lat, &wall, refusal, sizeof(refusal));
    long rss2 = s_rss_kib();
    qsort(lat, placed, sizeof(*lat), s_compare);
    printf("%s, %d hosts x %d PFs x %d VFs:\n", strategy, hosts, S_PFS, S_VFS);
    printf("  hosts set                %10.3f s  (%ld KiB RSS for hosts)\n",
           build, rss1 - rss0);
    printf("  decide + vm_add          %10zu VMs in %.3f s: %.0f/s, "
           "p50 %.1f us, p99 %.1f us, max %.1f us  (%ld KiB RSS for VMs)\n",
           placed, wall, placed / wall, placed ? lat[placed / 2] * 1e6 : 0.0,
           placed ? lat[placed * 99 / 100] * 1e6 : 0.0,
           placed ? lat[placed - 1] * 1e6 : 0.0, rss2 - rss1);
    if (refusal[0])
        printf("  first refusal            %s\n", refusal);
    /* A refusal explains itself over every host. */
    placement_request_t big = {
        .name = "big", .memory_mib = 1ULL << 30, .vcpus = 1, .nic_count = 1};
    big.nics[0].network = "prod";
    placement_decision_t d;
    placement_refusal_t *why = NULL;
    t0 = s_now();
    int rc = placement_decide(p, &big, &d, &why);
    printf("  refusal (1 TiB VM)       %10.3f ms (%s)\n", (s_now() - t0) * 1e3,
           rc ? "refused" : "placed?");
    placement_refusal_destroy(&why);
    placement_request_t plan = {
        .name = "plan", .memory_mib = 4096, .vcpus = 2, .nic_count = 1};
    plan.nics[0].network = "prod";
    size_t fit = 0;
    t0 = s_now();
    placement_plan_count(p, &plan, S_PLAN_COUNT, &fit, NULL, &why);
    printf("  plan_count(%d)         %10.3f ms, %zu fit\n", S_PLAN_COUNT,
           (s_now() - t0) * 1e3, fit);
    placement_refusal_destroy(&why);
    free(lat);
    placement_destroy(&p);
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"1000", "60000", "10000", "100000"};
    const char *const *args =
        argc > 1 ? (const char *const *)argv + 1 : defaults;
    int count = argc > 1 ? argc - 1 : 4;
    if (count % 2) {
        fprintf(stderr, "usage: placement_bench [HOSTS VMS] ...\n");
        return 2;
    }
    bench_sys_print_machine(NULL);
    for (int i = 0; i < count; i += 2) {
        int hosts = atoi(args[i]);
        size_t vms = (size_t)strtoull(args[i + 1], NULL, 10);
        if (hosts <= 0 || vms == 0) {
            fprintf(stderr, "usage: placement_bench [HOSTS VMS] ...\n");
            return 2;
        }
        s_run(hosts, vms, "spread");
        s_run(hosts, vms, "pack");
    }
    return 0;
}
