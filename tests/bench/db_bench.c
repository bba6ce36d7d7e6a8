/* db_bench.c - times the admin listings of the inventory: builds a database
 * through the db API (HELLO + full inventory per simulated host), times VM
 * reservations (one transaction each, then one batch), then runs every
 * listing through the db API and, when given the binaries, through the
 * real controller and vfleetctl. Not a test: it prints figures.
 *
 * usage: db_bench [HOSTS] [PFS] [VFS] [CONTROLLER_BIN VFLEETCTL_BIN]
 *        (defaults 1000 hosts x 2 PFs x 32 VFs, db API only)
 *
 * A listing run that passes S_BUDGET_S seconds is stopped and reported as
 * such, so a quadratic query cannot hold the machine for an hour. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_sys.h"
#include "test_peer.h"
#include "vfleet_db.h"

#define S_BUDGET_S 30.0
#define S_RUNS 3
#define S_VERB_RUNS 20
#define S_BATCH_HOSTS 100
#define S_DETAIL_HOSTS 1000
#define S_RESERVE_VMS 10000
#define S_VM_NICS 2

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_host_name(int i, char *buf, size_t size)
{
    snprintf(buf, size, "bench-%05d", i);
}

/* Rows seen by one run, and whether it ran out of time. */
typedef struct {
    double start;
    long rows;
    bool stopped;
} s_count_t;

static int s_tick(s_count_t *count)
{
    if (++count->rows % 64 == 0 && s_now() - count->start > S_BUDGET_S) {
        count->stopped = true;
        return -1;
    }
    return 0;
}

static int s_host_row(const db_host_row_t *row, void *arg)
{
    (void)row;
    return s_tick(arg);
}

static int s_pf_row(const db_pf_row_t *row, void *arg)
{
    (void)row;
    return s_tick(arg);
}

static int s_vf_row(const db_vf_row_t *row, void *arg)
{
    (void)row;
    return s_tick(arg);
}

static int s_event_row(const db_event_row_t *row, void *arg)
{
    (void)row;
    return s_tick(arg);
}

static int s_hugepages_row(const db_hugepages_row_t *row, void *arg)
{
    (void)row;
    return s_tick(arg);
}

static int s_vm_row(const db_vm_t *vm, void *arg)
{
    (void)vm;
    return s_tick(arg);
}

/* One listing: what to call, and its arguments. */
typedef struct {
    const char *name;
    enum {
        S_HOSTS,
        S_PFS,
        S_VFS,
        S_EVENTS,
        S_SUMMARY,
        S_DETAIL,
        S_INVENTORY,
        S_VMS
    } kind;
    const char *host;
    db_vf_filter_t filter;
    int64_t limit;
} s_listing_t;

/* The controller's `host NAME`: the host, its hugepage pools, its PFs;
 * repeated over S_DETAIL_HOSTS hosts spread over the inventory. Counts
 * hosts, not rows. */
static int s_detail(db_t *db, int hosts, s_count_t *count, db_err_t *err)
{
    int n = hosts < S_DETAIL_HOSTS ? hosts : S_DETAIL_HOSTS;
    for (int i = 0; i < n; i++) {
        char name[32];
        s_host_name((int)((long)i * hosts / n), name, sizeof(name));
        db_host_row_t row;
        s_count_t rows = {.start = count->start};
        if (db_host_get(db, name, &row, err) != 0 ||
            db_host_hugepages(db, name, s_hugepages_row, &rows, err) != 0 ||
            db_pfs_list(db, name, NULL, s_pf_row, &rows, err) != 0)
            return -1;
        count->rows = i + 1;
        if (s_now() - count->start > S_BUDGET_S) {
            count->stopped = true;
            return -1;
        }
    }
    return 0;
}

/* The rollout's drift read: one host's whole inventory as the codec's
 * struct, over the same hosts as s_detail. Counts hosts. */
static int s_inventory(db_t *db, int hosts, s_count_t *count, db_err_t *err)
{
    int n = hosts < S_DETAIL_HOSTS ? hosts : S_DETAIL_HOSTS;
    for (int i = 0; i < n; i++) {
        char name[32];
        s_host_name((int)((long)i * hosts / n), name, sizeof(name));
        vfp_inventory_t inv;
        int rc = db_host_inventory_get(db, name, &inv, err);
        vfp_inventory_clear(&inv);
        if (rc != 0)
            return -1;
        count->rows = i + 1;
        if (s_now() - count->start > S_BUDGET_S) {
            count->stopped = true;
            return -1;
        }
    }
    return 0;
}

static int s_list_once(db_t *db, const s_listing_t *l, int hosts,
                       s_count_t *count, db_err_t *err)
{
    db_summary_t sum;
    switch (l->kind) {
    case S_HOSTS:
        return db_hosts_list(db, NULL, s_host_row, count, err);
    case S_PFS:
        return db_pfs_list(db, l->host, NULL, s_pf_row, count, err);
    case S_VFS:
        return db_vfs_list(db, &l->filter, NULL, s_vf_row, count, err);
    case S_EVENTS:
        return db_events_list(db, 0, l->limit, s_event_row, count, err);
    case S_SUMMARY:
        count->rows = 1;
        return db_summary(db, &sum, err);
    case S_DETAIL:
        return s_detail(db, hosts, count, err);
    case S_INVENTORY:
        return s_inventory(db, hosts, count, err);
    case S_VMS:
        return db_vms_list(db, &(db_vm_filter_t){.host = l->host}, NULL,
                           s_vm_row, count, err);
    }
    return -1;
}

/* This process's CPU time: on a shared machine the wall time of a run
 * also holds other processes' time slices. */
static double s_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of S_RUNS runs (one when a run takes over a second), wall and CPU
 * time of the same run. */
static void s_time_listing(db_t *db, const s_listing_t *l, int hosts)
{
    double best = -1, best_cpu = 0;
    s_count_t count = {0};
    for (int run = 0; run < S_RUNS; run++) {
        double cpu0 = s_cpu_now();
        count = (s_count_t){.start = s_now()};
        db_err_t err;
        if (s_list_once(db, l, hosts, &count, &err) != 0 && !count.stopped) {
            printf("  %-30s failed: %s\n", l->name, err.text);
            return;
        }
        double took = s_now() - count.start;
        if (best < 0 || took < best) {
            best = took;
            best_cpu = s_cpu_now() - cpu0;
        }
        if (count.stopped || took > 1.0)
            break;
    }
    /* `host NAME` and the inventory read are timed over many hosts: per
     * host. */
    bool per_host = l->kind == S_DETAIL || l->kind == S_INVENTORY;
    double per = per_host ? (double)count.rows : 1.0;
    if (count.stopped && !per_host) {
        printf("  %-30s stopped after %.0f s at %ld rows\n", l->name, best,
               count.rows);
    } else {
        printf("  %-30s %10.3f ms wall %10.3f ms CPU %8ld %s%s\n", l->name,
               best * 1e3 / per, best_cpu * 1e3 / per, count.rows,
               per_host ? "hosts, per host" : "rows",
               count.stopped ? " (stopped)" : "");
    }
    fflush(stdout);
}

/* HELLO and one full inventory per host, S_BATCH_HOSTS hosts per
 * transaction as the controller batches them, and one event per host. */
static int s_build(db_t *db, int hosts, uint32_t pfs, uint32_t vfs)
{
    double t = s_now(), cpu0 = s_cpu_now();
    db_err_t err;
    for (int i = 0; i < hosts; i++) {
        char name[32];
        s_host_name(i, name, sizeof(name));
        if (i % S_BATCH_HOSTS == 0 && db_batch_begin(db, &err) != 0)
            goto fail;
        vfp_hello_t hello = {0};
        snprintf(hello.hostname, sizeof(hello.hostname), "%s", name);
        vfp_msg_t *msg = peer_inventory_new(name, 1, pfs, vfs, 0);
        int rc = db_host_hello(db, &hello, VFP_VERSION, 1000 + i, NULL, &err);
        if (rc == 0)
            rc = db_inventory_replace(db, name, &msg->u.inventory, 1000 + i,
                                      &err);
        vfp_msg_destroy(&msg);
        if (rc != 0 || db_event_add(db, 1000 + i, "host-up", name,
                                    "agent said HELLO", &err) != 0)
            goto fail;
        if ((i % S_BATCH_HOSTS == S_BATCH_HOSTS - 1 || i == hosts - 1) &&
            db_batch_commit(db, &err) != 0)
            goto fail;
    }
    double took = s_now() - t;
    printf("  %-30s %10.3f s wall  %10.3f s CPU  (%.0f hosts/s)\n",
           "build (HELLO + inventory)", took, s_cpu_now() - cpu0, hosts / took);
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, "db_bench: building the inventory: %s\n", err.text);
    return -1;
}

/* Every host reports its first PF again in a delta, generation from to
 * from + 1, with one VF's VLAN set to 77: a change the first time (what
 * an agent sends after an APPLY), `change` false when it is stored
 * already. */
static int s_deltas(db_t *db, int hosts, uint32_t pfs, uint32_t vfs,
                    uint64_t from, bool change)
{
    double t = s_now(), cpu0 = s_cpu_now();
    db_err_t err;
    for (int i = 0; i < hosts; i++) {
        char name[32];
        s_host_name(i, name, sizeof(name));
        if (i % S_BATCH_HOSTS == 0 && db_batch_begin(db, &err) != 0)
            goto fail;
        vfp_msg_t *msg = peer_inventory_new(name, from + 1, pfs, vfs, 0);
        vfp_pf_t *pf = &msg->u.inventory.pfs[0];
        pf->vfs[(uint32_t)i % pf->vf_count].vlan = 77;
        vfp_inventory_delta_t delta = {.base_generation = from,
                                       .generation = from + 1,
                                       .pf_count = 1,
                                       .pfs = pf};
        int rc = db_inventory_apply_delta(db, name, &delta, 2000 + i, &err);
        vfp_msg_destroy(&msg);
        if (rc != 0)
            goto fail;
        if ((i % S_BATCH_HOSTS == S_BATCH_HOSTS - 1 || i == hosts - 1) &&
            db_batch_commit(db, &err) != 0)
            goto fail;
    }
    double took = s_now() - t, cpu = s_cpu_now() - cpu0;
    printf("  %-30s %10.3f s wall  %10.3f s CPU  %8.0f deltas/s %5.1f us CPU "
           "each\n",
           change ? "delta, one VF of 32 changed" : "delta, nothing changed",
           took, cpu, hosts / took, cpu * 1e6 / hosts);
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, "db_bench: deltas: %s\n", err.text);
    return -1;
}

/* VM k of a reservation run: on host k % hosts, 1 GiB, one NIC per PF
 * (at most S_VM_NICS) on VF k / hosts of each, MACs from k. */
static void s_vm_new(int k, int hosts, uint32_t pfs, db_vm_t *vm)
{
    memset(vm, 0, sizeof(*vm));
    snprintf(vm->name, sizeof(vm->name), "vm-%06d", k);
    s_host_name(k % hosts, vm->host, sizeof(vm->host));
    vm->memory_mib = 1024;
    vm->vcpus = 2;
    vm->nic_count = pfs < S_VM_NICS ? pfs : S_VM_NICS;
    for (uint32_t j = 0; j < vm->nic_count; j++) {
        db_vm_nic_t *nic = &vm->nics[j];
        snprintf(nic->network, sizeof(nic->network), "vlan1");
        snprintf(nic->pf, sizeof(nic->pf), "0000:%02x:00.%u", 0x3b + j / 2,
                 j % 2);
        nic->vf = (uint16_t)(k / hosts);
        nic->mac[1] = 0x50;
        nic->mac[2] = 0x56;
        nic->mac[3] = (uint8_t)((k >> 14) & 0xff);
        nic->mac[4] = (uint8_t)((k >> 6) & 0xff);
        nic->mac[5] = (uint8_t)(((k & 0x3f) << 2) | j);
    }
}

/* Reserves (or deletes) VMs 0..n-1, in one batch or one transaction
 * each, and prints the rate. */
static int s_time_vms(db_t *db, int n, int hosts, uint32_t pfs, bool batch,
                      bool delete)
{
    double t = s_now(), cpu0 = s_cpu_now();
    db_err_t err;
    if (batch && db_batch_begin(db, &err) != 0)
        goto fail;
    for (int k = 0; k < n; k++) {
        db_vm_t vm;
        s_vm_new(k, hosts, pfs, &vm);
        if ((delete ? db_vm_delete(db, vm.name, NULL, &err)
                    : db_vm_reserve(db, &vm, 1, &err)) != 0)
            goto fail;
    }
    if (batch && db_batch_commit(db, &err) != 0)
        goto fail;
    double took = s_now() - t, cpu = s_cpu_now() - cpu0;
    const char *what = delete  ? "delete, one batch"
                       : batch ? "reserve, one batch"
                               : "reserve, one transaction each";
    printf("  %-30s %10.3f s wall  %10.3f s CPU  %8.0f VMs/s %7.1f us CPU "
           "each\n",
           what, took, cpu, n / took, cpu * 1e6 / n);
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, "db_bench: VMs: %s\n", err.text);
    return -1;
}

/* db_vm_reserve one transaction each, then all in one batch (as placement
 * commits many decisions at once), with S_VM_NICS NICs per VM. */
static int s_reserve(db_t *db, int hosts, uint32_t pfs, uint32_t vfs)
{
    long capacity = (long)hosts * vfs;
    int n = capacity < S_RESERVE_VMS ? (int)capacity : S_RESERVE_VMS;
    printf("reservations (%d VMs of %u NICs, db API):\n", n,
           pfs < S_VM_NICS ? pfs : S_VM_NICS);
    return s_time_vms(db, n, hosts, pfs, false, false) != 0 ||
                   s_time_vms(db, n, hosts, pfs, true, true) != 0 ||
                   s_time_vms(db, n, hosts, pfs, true, false) != 0
               ? -1
               : 0;
}

/* Runs `vfleetctl -c ENDPOINT -o json ARGS...` with its output thrown
 * away; returns its exit status (-1 when it could not run). */
static int s_cli(const char *cli, const char *endpoint, const char *const *args,
                 bool quiet)
{
    const char *argv[16] = {cli, "-c", endpoint, "-o", "json"};
    int argc = 5;
    for (int i = 0; args[i] && argc < 14; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) ||
            (quiet && !freopen("/dev/null", "w", stderr)))
            _exit(127);
        execv(cli, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Times one verb end to end: the best wall time of up to S_VERB_RUNS runs
 * (fewer when they are slow), and the controller's CPU time per run
 * averaged over them (the kernel counts it in 10 ms ticks). */
static void s_time_verb(pid_t controller, const char *cli, const char *endpoint,
                        const char *label, const char *const *args)
{
    double best = -1, cpu0 = bench_sys_cpu_seconds(controller), total = 0;
    int status = 0, runs = 0;
    while (runs < S_VERB_RUNS && (runs < S_RUNS || total < 2.0)) {
        double t = s_now();
        status = s_cli(cli, endpoint, args, false);
        double took = s_now() - t;
        if (best < 0 || took < best)
            best = took;
        total += took;
        runs++;
        if (took > 5.0)
            break;
    }
    double cpu = (bench_sys_cpu_seconds(controller) - cpu0) / runs;
    printf("  %-30s %10.3f ms wall %10.3f ms controller CPU%s\n", label,
           best * 1e3, cpu * 1e3,
           status == 0 ? "" : "  (vfleetctl failed; see its stderr above)");
    fflush(stdout);
}

/* Starts the real controller on the state directory holding the built
 * database and times the admin verbs through vfleetctl. */
static int s_controller(const char *ctl, const char *cli, const char *dir)
{
    char agents[64], endpoint[128], log_path[128];
    snprintf(agents, sizeof(agents), "tcp://127.0.0.1:%d",
             12000 + getpid() % 20000);
    snprintf(endpoint, sizeof(endpoint), "ipc://%s/admin.sock", dir);
    snprintf(log_path, sizeof(log_path), "%s/controller.log", dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log_path, "w", stderr))
            _exit(127);
        /* No agent connects: a long dead-after period keeps the
         * controller from marking every host down in the middle of the
         * timings. */
        execl(ctl, ctl, "--insecure", "--state-dir", dir, "--agents", agents,
              "--heartbeat-interval", "60s", "--dead-after", "100",
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    const char *const probe[] = {"events", "--limit", "1", NULL};
    int status = -1;
    for (int i = 0; i < 100 && status != 0; i++) {
        usleep(100 * 1000);
        status = s_cli(cli, endpoint, probe, true);
    }
    if (status != 0) {
        fprintf(stderr, "db_bench: the controller did not answer; see %s\n",
                log_path);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    printf("through vfleet-controller + vfleetctl -o json:\n");
    const char *const verbs[][6] = {
        {"hosts", "--timeout", "600", NULL},
        {"pfs", "--timeout", "600", NULL},
        {"host", "bench-00000", NULL},
        {"pfs", "--host", "bench-00000", NULL},
        {"vfs", "--host", "bench-00000", NULL},
        {"events", NULL},
    };
    const char *labels[] = {"hosts",      "pfs",        "host NAME",
                            "pfs --host", "vfs --host", "events (last 1000)"};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        s_time_verb(pid, cli, endpoint, labels[i], verbs[i]);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return 0;
}

static void s_time_db(db_t *db, int hosts)
{
    const s_listing_t listings[] = {
        {.name = "hosts", .kind = S_HOSTS},
        {.name = "pfs", .kind = S_PFS},
        {.name = "pfs --host", .kind = S_PFS, .host = "bench-00000"},
        {.name = "host NAME (get, hugepages, pfs)", .kind = S_DETAIL},
        {.name = "host inventory (drift read)", .kind = S_INVENTORY},
        {.name = "vfs (all)", .kind = S_VFS},
        {.name = "vfs --host",
         .kind = S_VFS,
         .filter = {.host = "bench-00000"}},
        {.name = "vfs --host --pf",
         .kind = S_VFS,
         .filter = {.host = "bench-00000", .pf = "0000:3b:00.0"}},
        {.name = "vfs --free",
         .kind = S_VFS,
         .filter = {.by_state = true, .state = DB_VF_FREE}},
        {.name = "vfs --host --free",
         .kind = S_VFS,
         .filter = {.host = "bench-00000",
                    .by_state = true,
                    .state = DB_VF_FREE}},
        {.name = "vfs --pf (any host)",
         .kind = S_VFS,
         .filter = {.pf = "0000:3b:00.1"}},
        {.name = "vfs state=broken (none)",
         .kind = S_VFS,
         .filter = {.by_state = true, .state = DB_VF_BROKEN}},
        {.name = "summary", .kind = S_SUMMARY},
        {.name = "events (last 1000)", .kind = S_EVENTS, .limit = 1000},
        {.name = "events (all)", .kind = S_EVENTS},
        {.name = "vms (all)", .kind = S_VMS},
        {.name = "vms --host", .kind = S_VMS, .host = "bench-00000"},
    };
    printf("through the db API (best of %d):\n", S_RUNS);
    for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++)
        s_time_listing(db, &listings[i], hosts);
}

int main(int argc, char **argv)
{
    int hosts = argc > 1 ? atoi(argv[1]) : 1000;
    uint32_t pfs = argc > 2 ? (uint32_t)atoi(argv[2]) : 2;
    uint32_t vfs = argc > 3 ? (uint32_t)atoi(argv[3]) : 32;
    const char *ctl = argc > 5 ? argv[4] : NULL;
    const char *cli = argc > 5 ? argv[5] : NULL;
    if (hosts < 1 || pfs < 1 || pfs > 256 || vfs < 1 || vfs > 256) {
        fprintf(stderr, "usage: db_bench [HOSTS] [PFS] [VFS] "
                        "[CONTROLLER_BIN VFLEETCTL_BIN]\n");
        return 2;
    }
    char dir[] = "/tmp/vfleet-db-bench.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[96];
    snprintf(path, sizeof(path), "%s/vfleet.db", dir);
    char sqlite_version[64];
    snprintf(sqlite_version, sizeof(sqlite_version), "SQLite %s",
             sqlite3_libversion());
    bench_sys_print_machine(sqlite_version);
    printf("db_bench: %d hosts x %u PFs x %u VFs = %lld VFs, %s\n", hosts, pfs,
           vfs, (long long)hosts * pfs * vfs, path);
    db_err_t err;
    db_t *db = db_open(path, &err);
    int status = 1;
    if (!db) {
        fprintf(stderr, "db_bench: %s\n", err.text);
        goto done;
    }
    if (s_build(db, hosts, pfs, vfs) != 0 ||
        s_deltas(db, hosts, pfs, vfs, 1, true) != 0 ||
        s_deltas(db, hosts, pfs, vfs, 2, false) != 0 ||
        s_reserve(db, hosts, pfs, vfs) != 0)
        goto done;
    s_time_db(db, hosts);
    db_destroy(&db);
    status = ctl && s_controller(ctl, cli, dir) != 0 ? 1 : 0;
done:
    db_destroy(&db);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "db_bench: cannot remove %s\n", dir);
    return status;
}
