/* controller_bench.c - drives the real vfleet-controller over tcp with many
 * simulated hosts and prints full-inventory ingestion time, heartbeat load
 * (controller CPU) and controller RSS. Not a test: it prints figures.
 *
 * usage: controller_bench CONTROLLER_BIN [HOSTS] [PFS] [VFS] [HB_SECONDS]
 *        (defaults 1000 hosts x 2 PFs x 32 VFs, 10 s of heartbeats)
 *
 * Hosts are simulated by worker processes, each with up to S_PER_WORKER
 * DEALER sockets (two file descriptors each), so that 10,000 hosts fit
 * under a 20,000 descriptor limit. The coordinator steps them through the
 * phases over pipes: sessions, inventories, heartbeats. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_sys.h"
#include "test_peer.h"
#include "vfp_transport.h"

#define S_HEARTBEAT_MS 2000
#define S_PER_WORKER 4000

static double s_now(void)
{
    return (double)zclock_usecs() / 1e6;
}

static long s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kb;
}

/* Asks the admin API for the summary; fills vfs and down. 0 or -1. */
static int s_summary(const char *admin, long long *vfs, long long *hosts,
                     long long *down)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zsock_set_rcvtimeo(sock, 2000);
    zsock_set_linger(sock, 0);
    zsock_connect(sock, "%s", admin);
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "summary");
    vfp_decode_error_t err;
    int rc = -1;
    vfp_msg_t *reply = NULL;
    if (vfp_send(sock, NULL, req, &err) == 0)
        reply = vfp_recv(sock, NULL, &err);
    if (reply && reply->id == VFP_REPLY && reply->u.reply.status == VFP_OK) {
        json_t *body = json_loads(reply->u.reply.body, 0, NULL);
        if (body &&
            json_unpack(body, "{s:{s:I}, s:{s:I, s:I}}", "vfs", "total", vfs,
                        "hosts", "total", hosts, "down", down) == 0)
            rc = 0;
        json_decref(body);
    }
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    zsock_destroy(&sock);
    return rc;
}

typedef struct {
    int first, count;
    uint32_t pfs, vfs;
    int hb_seconds;
    const char *agents;
    int cmd_fd, reply_fd;
} s_worker_t;

static void s_say(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        _exit(1);
}

static char s_hear(int fd)
{
    char c = 0;
    if (read(fd, &c, 1) != 1)
        return 0;
    return c;
}

/* One worker process: its slice of hosts through every phase. */
static int s_worker(const s_worker_t *w)
{
    zsys_init();
    zsys_set_max_sockets((size_t)w->count + 64);
    peer_t **peers = calloc((size_t)w->count, sizeof(*peers));
    zframe_t **frames = calloc((size_t)w->count, sizeof(*frames));
    assert(peers && frames);
    for (int i = 0; i < w->count; i++) {
        char name[64];
        snprintf(name, sizeof(name), "bench-%05d", w->first + i);
        peers[i] = peer_new(w->agents, name);
        assert(peers[i]);
        peer_send_hello(peers[i], VFP_VERSION_MIN, VFP_VERSION);
    }
    for (int i = 0; i < w->count; i++) {
        vfp_msg_t *welcome = peer_recv(peers[i], 60000);
        if (!welcome || welcome->id != VFP_WELCOME) {
            fprintf(stderr, "controller_bench: host %d got no WELCOME\n",
                    w->first + i);
            s_say(w->reply_fd, 'E');
            return 1;
        }
        vfp_msg_destroy(&welcome);
    }
    /* Encode first, so the timing covers the controller's work. */
    for (int i = 0; i < w->count; i++) {
        vfp_msg_t *msg =
            peer_inventory_new(peer_hostname(peers[i]), 1, w->pfs, w->vfs, 0);
        uint8_t *data;
        size_t size;
        vfp_decode_error_t err;
        if (vfp_encode(msg, &data, &size, &err) != 0) {
            fprintf(stderr, "controller_bench: encode: %s\n", err.text);
            s_say(w->reply_fd, 'E');
            return 1;
        }
        frames[i] = zframe_new(data, size);
        free(data);
        vfp_msg_destroy(&msg);
    }
    s_say(w->reply_fd, 'R');
    if (s_hear(w->cmd_fd) != 'G')
        return 1;
    for (int i = 0; i < w->count; i++)
        zframe_send(&frames[i], peer_sock(peers[i]), 0);
    s_say(w->reply_fd, 'S');
    if (s_hear(w->cmd_fd) != 'H')
        return 1;
    /* Every host once per interval, spread evenly over it. */
    double t = s_now(), step = (S_HEARTBEAT_MS / 1000.0) / w->count;
    long long beats = 0;
    while (s_now() - t < w->hb_seconds) {
        double wait = t + (double)beats * step - s_now();
        if (wait > 0.001)
            zclock_sleep((int)(wait * 1000));
        vfp_msg_t *beat = vfp_msg_new(VFP_HEARTBEAT);
        beat->u.heartbeat.generation = 1;
        peer_send(peers[beats % w->count], beat);
        vfp_msg_destroy(&beat);
        beats++;
    }
    for (int i = 0; i < w->count; i++)
        peer_destroy(&peers[i]);
    free(peers);
    free(frames);
    s_say(w->reply_fd, 'D');
    return 0;
}

/* Sends cmd to every worker and waits for each one's `want` answer. */
static int s_phase(s_worker_t *workers, int n, char cmd, char want)
{
    for (int i = 0; i < n; i++) {
        if (cmd)
            s_say(workers[i].cmd_fd, cmd);
    }
    for (int i = 0; i < n; i++) {
        if (s_hear(workers[i].reply_fd) != want)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: controller_bench CONTROLLER_BIN [HOSTS] "
                        "[PFS] [VFS] [HB_SECONDS]\n");
        return 2;
    }
    int hosts = argc > 2 ? atoi(argv[2]) : 1000;
    uint32_t pfs = argc > 3 ? (uint32_t)atoi(argv[3]) : 2;
    uint32_t vfs = argc > 4 ? (uint32_t)atoi(argv[4]) : 32;
    int hb_seconds = argc > 5 ? atoi(argv[5]) : 10;
    if (hosts < 1 || pfs < 1 || vfs < 2 || hb_seconds < 1) {
        fprintf(stderr, "controller_bench: bad arguments\n");
        return 2;
    }

    char dir[] = "/tmp/vfleet-bench.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char agents[64], admin[128], log_path[96];
    /* Below the kernel's ephemeral range (32768 and up), which 10,000
     * client connections use up. */
    int port = 12000 + getpid() % 20000;
    snprintf(agents, sizeof(agents), "tcp://127.0.0.1:%d", port);
    snprintf(admin, sizeof(admin), "ipc://%s/admin.sock", dir);
    snprintf(log_path, sizeof(log_path), "%s/controller.log", dir);

    pid_t pid = fork();
    if (pid == 0) {
        /* The controller's log goes to a file: thousands of hosts make
         * thousands of lines. */
        if (!freopen(log_path, "w", stderr))
            _exit(127);
        execl(argv[1], argv[1], "--insecure", "--state-dir", dir, "--agents",
              agents, "--heartbeat-interval", "2s",
              /* 20 s: no host may time out while 10,000 say HELLO and
               * report before the heartbeat phase starts. */
              "--dead-after", "10", "--log-level", "warn", (char *)NULL);
        perror("exec vfleet-controller");
        _exit(127);
    }

    /* Workers are forked before this process touches ZeroMQ. */
    int nworkers = (hosts + S_PER_WORKER - 1) / S_PER_WORKER;
    s_worker_t *workers = calloc((size_t)nworkers, sizeof(*workers));
    pid_t *worker_pids = calloc((size_t)nworkers, sizeof(*worker_pids));
    assert(workers && worker_pids);
    for (int i = 0; i < nworkers; i++) {
        int cmd[2], reply[2];
        if (pipe(cmd) != 0 || pipe(reply) != 0) {
            perror("pipe");
            return 1;
        }
        workers[i] = (s_worker_t){.first = i * S_PER_WORKER,
                                  .count = hosts - i * S_PER_WORKER,
                                  .pfs = pfs,
                                  .vfs = vfs,
                                  .hb_seconds = hb_seconds,
                                  .agents = agents,
                                  .cmd_fd = cmd[0],
                                  .reply_fd = reply[1]};
        if (workers[i].count > S_PER_WORKER)
            workers[i].count = S_PER_WORKER;
        worker_pids[i] = fork();
        if (worker_pids[i] == 0)
            _exit(s_worker(&workers[i]));
        close(cmd[0]);
        close(reply[1]);
        workers[i].cmd_fd = cmd[1];
        workers[i].reply_fd = reply[0];
    }

    zsys_init();
    long long vf_total = 0, host_total = 0, down = 0;
    int status = 1;
    double t, cpu0;
    for (int i = 0; s_summary(admin, &vf_total, &host_total, &down) != 0; i++) {
        if (i > 100) {
            fprintf(stderr, "controller_bench: controller did not start; "
                            "see its log:\n");
            char cmd[160];
            snprintf(cmd, sizeof(cmd), "cat %s", log_path);
            if (system(cmd) != 0)
                fprintf(stderr, "(no log)\n");
            goto done;
        }
        zclock_sleep(100);
    }
    long rss_empty = s_rss_kb(pid);
    bench_sys_print_machine(NULL);
    printf("controller_bench: %d hosts x %u PFs x %u VFs = %lld VFs, %d "
           "worker process(es)\n",
           hosts, pfs, vfs, (long long)hosts * pfs * vfs, nworkers);
    fflush(stdout);
    t = s_now();
    cpu0 = bench_sys_cpu_seconds(pid);
    if (s_phase(workers, nworkers, 0, 'R') != 0) {
        fprintf(stderr, "controller_bench: sessions failed\n");
        goto done;
    }
    long rss_sessions = s_rss_kb(pid);
    printf("  sessions:   %d HELLO/WELCOME (and encoding) in %.2f s, "
           "controller CPU %.2f s, RSS %.1f MB\n",
           hosts, s_now() - t, bench_sys_cpu_seconds(pid) - cpu0,
           rss_sessions / 1024.0);
    fflush(stdout);

    cpu0 = bench_sys_cpu_seconds(pid);
    t = s_now();
    if (s_phase(workers, nworkers, 'G', 'S') != 0)
        goto done;
    long long want = (long long)hosts * pfs * vfs;
    while (s_summary(admin, &vf_total, &host_total, &down) == 0 &&
           vf_total < want)
        zclock_sleep(100);
    double ingest = s_now() - t;
    double ingest_cpu = bench_sys_cpu_seconds(pid) - cpu0;
    long rss_full = s_rss_kb(pid);
    printf("  ingestion:  %d full inventories stored and queryable in %.2f s "
           "(%.0f hosts/s, %.0f VFs/s, controller CPU %.2f s)\n",
           hosts, ingest, hosts / ingest, want / ingest, ingest_cpu);
    fflush(stdout);

    cpu0 = bench_sys_cpu_seconds(pid);
    t = s_now();
    if (s_phase(workers, nworkers, 'H', 'D') != 0)
        goto done;
    double hb_wall = s_now() - t;
    double hb_cpu = bench_sys_cpu_seconds(pid) - cpu0;
    s_summary(admin, &vf_total, &host_total, &down);
    long rss_hb = s_rss_kb(pid);
    printf("  heartbeats: %.0f/s from %d hosts for %.0f s: controller CPU "
           "%.1f%% of a core; hosts down: %lld\n",
           hosts / (S_HEARTBEAT_MS / 1000.0), hosts, hb_wall,
           100.0 * hb_cpu / hb_wall, down);
    printf("  RSS:        %.1f MB empty, %.1f MB with sessions, %.1f MB after "
           "ingestion, %.1f MB after heartbeats (%.1f kB per host)\n",
           rss_empty / 1024.0, rss_sessions / 1024.0, rss_full / 1024.0,
           rss_hb / 1024.0, (double)(rss_hb - rss_empty) / hosts);
    status = 0;
done:
    for (int i = 0; i < nworkers; i++) {
        kill(worker_pids[i], SIGTERM);
        waitpid(worker_pids[i], NULL, 0);
    }
    free(workers);
    free(worker_pids);
    kill(pid, SIGTERM);
    int cstatus = 0;
    waitpid(pid, &cstatus, 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "controller_bench: cannot remove %s\n", dir);
    return status == 0 && WIFEXITED(cstatus) && WEXITSTATUS(cstatus) == 0 ? 0
                                                                          : 1;
}
