/* controller_bench.c - drives the real vfleet-controller over tcp with many
 * simulated hosts and prints full-inventory ingestion time, heartbeat load
 * (controller CPU), controller RSS, admin listing times alone and under
 * listing load, and how many heartbeating hosts were marked down while
 * clients listed. Not a test: it prints figures.
 *
 * usage: controller_bench [OPTIONS] CONTROLLER_BIN [HOSTS] [PFS] [VFS]
 *                         [HB_SECONDS]
 *        (defaults 1000 hosts x 2 PFs x 32 VFs, 10 s of heartbeats; see
 *        s_usage for the options; the state directory is made in $TMPDIR,
 *        else /tmp, and VFLEET_KEEP=1 keeps it, with the controller's log
 *        and database)
 *
 * Hosts are simulated by worker processes, each with up to S_PER_WORKER
 * DEALER sockets (two file descriptors each), so that 10,000 hosts fit
 * under a 20,000 descriptor limit. The coordinator steps them through the
 * phases over pipes: sessions, then inventories, after which every host
 * heartbeats (as a real agent does) until the coordinator says stop. While
 * they do, the coordinator times the admin verbs one at a time, then runs
 * the listing clients (threads of its own, or vfleetctl processes). With
 * --apply it rolls a policy out (policy.apply, then policy.status until no
 * host is pending), twice; the simulated hosts answer every APPLY as
 * vfleet-agent does: a delta with the new VF state, then all ok. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_place.h"
#include "bench_sys.h"
#include "test_peer.h"
#include "vfp_keys.h"
#include "vfp_transport.h"

extern char **environ;

#define S_HEARTBEAT_MS 2000
#define S_PER_WORKER 4000
/* A reply slower than this is reported as a failure, not a figure. It is
 * waited for in slices, so that a controller that died ends the wait. */
#define S_REPLY_TIMEOUT_MS 120000
#define S_SLICE_MS 1000
#define S_ALONE_RUNS 5
#define S_EVENTS_PAGE "10000"

typedef struct {
    const char *controller;
    const char *cli; /* vfleetctl, or NULL: in-process listing clients */
    int hosts;
    uint32_t pfs, vfs;
    int hb_seconds;
    int clients;
    int list_seconds;
    int dead_after;
    const char *apply;       /* policy file to roll out, or NULL */
    int place;               /* VMs placed per run; 0: none */
    int batch;               /* VMs per request: 1 vm.create, more a batch */
    const char *synchronous; /* the controller's --synchronous */
    const char *latencies;   /* --latencies FILE, or NULL */
    bool keys;               /* CURVE: a key per host; else --insecure */
} s_opts_t;

static double s_now(void)
{
    return (double)zclock_usecs() / 1e6;
}

static double s_load(void)
{
    double load[1];
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

/* utime + stime of a process (tid 0) or one of its threads, in seconds. */
static double s_cpu_seconds(pid_t pid, pid_t tid)
{
    char path[96], buf[2048];
    if (tid)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
                 (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which ends with the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
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

/* ---- admin API client ------------------------------------------------ */

/* The controller, which this process reaps only at the end: once it has
 * died it stays a zombie, and no reply is waited for any more. */
static pid_t s_controller_pid;

static bool s_controller_alive(void)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)s_controller_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z';
}

static zsock_t *s_admin_connect(const char *admin)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    assert(sock);
    vfp_socket_limit(sock);
    zsock_set_rcvtimeo(sock, S_SLICE_MS);
    zsock_set_linger(sock, 0);
    if (zsock_connect(sock, "%s", admin) != 0)
        zsock_destroy(&sock);
    return sock;
}

/* One REQUEST (params: key, value pairs, NULL-terminated; `after` added
 * when set) and its OK reply's body, parsed. NULL with err set otherwise:
 * an error answer, a wrong request id, no answer in time. */
static json_t *s_call_body(zsock_t *sock, const char *verb,
                           const char *const *params, const char *after,
                           const char *text, char *err, size_t errlen)
{
    static atomic_uint s_request_id;
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = atomic_fetch_add(&s_request_id, 1) + 1;
    vfp_request_t *r = &req->u.request;
    snprintf(r->verb, sizeof(r->verb), "%s", verb);
    for (int i = 0; params && params[i]; i += 2) {
        vfp_param_t *p = &r->params[r->param_count++];
        snprintf(p->key, sizeof(p->key), "%s", params[i]);
        snprintf(p->value, sizeof(p->value), "%s", params[i + 1]);
    }
    if (after) {
        vfp_param_t *p = &r->params[r->param_count++];
        snprintf(p->key, sizeof(p->key), "after");
        snprintf(p->value, sizeof(p->value), "%s", after);
    }
    if (text) {
        r->body = strdup(text);
        assert(r->body);
        r->body_len = (uint32_t)strlen(text);
    }
    vfp_decode_error_t derr;
    vfp_msg_t *reply = NULL;
    json_t *body = NULL;
    double end = s_now() + S_REPLY_TIMEOUT_MS / 1000.0;
    if (vfp_send(sock, NULL, req, &derr) == 0) {
        while (!(reply = vfp_recv(sock, NULL, &derr)) && s_now() < end &&
               s_controller_alive())
            ;
    }
    if (!reply)
        snprintf(err, errlen, "%s: no reply (%s)", verb,
                 s_controller_alive() ? "none within 120 s"
                                      : "the controller is gone");
    else if (reply->id != VFP_REPLY || reply->request_id != req->request_id)
        snprintf(err, errlen, "%s: answered by %s for request %u", verb,
                 vfp_id_name(reply->id), reply->request_id);
    else if (reply->u.reply.status != VFP_OK)
        snprintf(err, errlen, "%s: status %u: %.200s", verb,
                 reply->u.reply.status, reply->u.reply.error);
    else if (!(body = json_loads(reply->u.reply.body, 0, NULL)))
        snprintf(err, errlen, "%s: reply body is not JSON", verb);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    return body;
}

static json_t *s_call(zsock_t *sock, const char *verb,
                      const char *const *params, const char *after, char *err,
                      size_t errlen)
{
    return s_call_body(sock, verb, params, after, NULL, err, errlen);
}

typedef void(s_row_fn)(json_t *row, void *arg);

/* A whole listing, every page, following `next` (rows_key NULL: a verb
 * answering one object). Counts the rows; calls row_fn, when set, on each.
 * 0, or -1 with err set. */
static int s_fetch_all(zsock_t *sock, const char *verb, const char *rows_key,
                       const char *const *params, const char *first_after,
                       s_row_fn *row_fn, void *arg, long *rows, char *err,
                       size_t errlen)
{
    char after[VFP_TEXT_MAX + 1];
    snprintf(after, sizeof(after), "%s", first_after ? first_after : "");
    *rows = 0;
    for (;;) {
        json_t *body =
            s_call(sock, verb, params, after[0] ? after : NULL, err, errlen);
        if (!body)
            return -1;
        json_t *list = rows_key ? json_object_get(body, rows_key) : NULL;
        json_t *next = json_object_get(body, "next");
        if (rows_key && !json_is_array(list)) {
            snprintf(err, errlen, "%s: reply has no \"%s\" list", verb,
                     rows_key);
            json_decref(body);
            return -1;
        }
        *rows += rows_key ? (long)json_array_size(list) : 1;
        for (size_t i = 0; row_fn && i < json_array_size(list); i++)
            row_fn(json_array_get(list, i), arg);
        bool more = json_is_string(next);
        if (more)
            snprintf(after, sizeof(after), "%s", json_string_value(next));
        json_decref(body);
        if (!more)
            return 0;
    }
}

/* The admin API's summary; fills vfs, hosts, down, connected. 0 or -1. */
static int s_summary(zsock_t *sock, long long *vfs, long long *hosts,
                     long long *down, long long *connected)
{
    char err[256];
    json_t *body = s_call(sock, "summary", NULL, NULL, err, sizeof(err));
    int rc = body && json_unpack(body, "{s:{s:I}, s:{s:I, s:I, s:I}}", "vfs",
                                 "total", vfs, "hosts", "total", hosts, "down",
                                 down, "connected", connected) == 0
                 ? 0
                 : -1;
    json_decref(body);
    return rc;
}

static void s_count_down(json_t *row, void *arg)
{
    const char *kind = json_string_value(json_object_get(row, "kind"));
    if (kind && strcmp(kind, "host-down") == 0)
        (*(long *)arg)++;
}

/* host-down events in the whole event log, or -1. */
static long s_host_downs(zsock_t *sock)
{
    const char *const params[] = {"limit", S_EVENTS_PAGE, NULL};
    long downs = 0, rows;
    char err[256];
    if (s_fetch_all(sock, "events", "events", params, "0", s_count_down, &downs,
                    &rows, err, sizeof(err)) != 0) {
        fprintf(stderr, "controller_bench: counting events: %s\n", err);
        return -1;
    }
    return downs;
}

/* ---- listings: the verbs, timed ------------------------------------- */

typedef struct {
    const char *label;
    const char *verb;
    const char *rows;       /* key of the rows; NULL: one object */
    const char *host_param; /* names a random host: "host", "name" or NULL */
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"hosts", "hosts", "hosts", NULL},    {"pfs", "pfs", "pfs", NULL},
    {"vfs --host", "vfs", "vfs", "host"}, {"host NAME", "host", NULL, "name"},
    {"summary", "summary", NULL, NULL},
};
#define S_NVERBS ((int)(sizeof(s_verbs) / sizeof(s_verbs[0])))

/* Runs `vfleetctl -c ADMIN -o json VERB ...` (every page, its default)
 * with its output thrown away. 0, or -1 with err set. */
static int s_cli_run(const char *cli, const char *admin, const s_verb_t *v,
                     const char *host, char *err, size_t errlen)
{
    const char *argv[12] = {cli,    "-c",        admin, "-o",
                            "json", "--timeout", "120", v->verb};
    int argc = 8;
    if (v->host_param && strcmp(v->host_param, "host") == 0)
        argv[argc++] = "--host";
    if (v->host_param)
        argv[argc++] = host;
    argv[argc] = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    pid_t pid;
    int rc =
        posix_spawn(&pid, cli, &actions, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", cli, strerror(rc));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "vfleetctl %s failed (status 0x%x)", v->label,
                 status);
        return -1;
    }
    return 0;
}

/* One full listing of verb v, in process (sock) or through vfleetctl
 * (cli), about a random host where it names one; its wall time in took. */
static int s_list(const s_opts_t *o, const char *admin, const char *cli,
                  zsock_t *sock, int v, unsigned *seed, double *took, char *err,
                  size_t errlen)
{
    const s_verb_t *verb = &s_verbs[v];
    char host[32];
    snprintf(host, sizeof(host), "bench-%05d", rand_r(seed) % o->hosts);
    const char *const params[] = {verb->host_param, host, NULL};
    long rows;
    double t = s_now();
    int rc = cli ? s_cli_run(cli, admin, verb, host, err, errlen)
                 : s_fetch_all(sock, verb->verb, verb->rows,
                               verb->host_param ? params : NULL, NULL, NULL,
                               NULL, &rows, err, errlen);
    *took = s_now() - t;
    return rc;
}

typedef struct {
    double *v;
    size_t n, cap;
} s_samples_t;

static void s_add(s_samples_t *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        assert(s->v);
    }
    s->v[s->n++] = x;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_print_samples(const char *label, s_samples_t *s)
{
    if (!s->n) {
        printf("    %-12s no listing finished\n", label);
        return;
    }
    qsort(s->v, s->n, sizeof(*s->v), s_cmp_double);
    double median =
        s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
    printf("    %-12s %5zu listings  min %9.1f ms  median %9.1f ms  max "
           "%9.1f ms\n",
           label, s->n, s->v[0] * 1e3, median * 1e3, s->v[s->n - 1] * 1e3);
}

/* Every verb S_ALONE_RUNS times, one listing at a time (the heartbeats
 * still flowing), in process and, given vfleetctl, through it. */
static int s_listing_alone(const s_opts_t *o, const char *admin, zsock_t *sock)
{
    unsigned seed = 1;
    char err[256];
    for (int pass = 0; pass < (o->cli ? 2 : 1); pass++) {
        const char *cli = pass ? o->cli : NULL;
        printf("  listings one at a time, %s, every page (load average "
               "%.2f):\n",
               cli ? "through vfleetctl -o json" : "in-process client",
               s_load());
        for (int v = 0; v < S_NVERBS; v++) {
            s_samples_t took = {0};
            for (int run = 0; run < S_ALONE_RUNS; run++) {
                double t;
                if (s_list(o, admin, cli, sock, v, &seed, &t, err,
                           sizeof(err)) != 0) {
                    fprintf(stderr, "controller_bench: %s\n", err);
                    free(took.v);
                    return -1;
                }
                s_add(&took, t);
            }
            s_print_samples(s_verbs[v].label, &took);
            free(took.v);
        }
        fflush(stdout);
    }
    return 0;
}

/* One listing client: the verbs in turn, from its own starting point,
 * until `end`, stopping at its first failure. */
typedef struct {
    const s_opts_t *o;
    const char *admin;
    int index;
    double end;
    s_samples_t took[S_NVERBS];
    char err[256]; /* the failure; empty when none */
} s_client_t;

static void *s_client(void *arg)
{
    s_client_t *c = arg;
    zsock_t *sock = c->o->cli ? NULL : s_admin_connect(c->admin);
    if (!c->o->cli && !sock) {
        snprintf(c->err, sizeof(c->err), "cannot connect to %s", c->admin);
        return NULL;
    }
    unsigned seed = (unsigned)c->index + 100;
    for (int i = c->index; s_now() < c->end; i++) {
        double took;
        int v = i % S_NVERBS;
        if (s_list(c->o, c->admin, c->o->cli, sock, v, &seed, &took, c->err,
                   sizeof(c->err)) != 0)
            break;
        s_add(&c->took[v], took);
    }
    zsock_destroy(&sock);
    return NULL;
}

static void s_print_cpu(pid_t pid, double wall, double cpu0, double main0)
{
    double cpu = s_cpu_seconds(pid, 0) - cpu0;
    double main_cpu = s_cpu_seconds(pid, pid) - main0;
    printf("    controller CPU: %.0f%% of a core (main thread, the agents' "
           "loop: %.0f%%; admin thread and ZeroMQ I/O: %.0f%%)\n",
           100 * cpu / wall, 100 * main_cpu / wall,
           100 * (cpu - main_cpu) / wall);
}

static void s_print_wal(const char *dir)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/vfleet.db-wal", dir);
    if (stat(path, &st) == 0)
        printf("    write-ahead log after the listings: %.1f MB\n",
               st.st_size / 1048576.0);
}

/* o->clients clients listing for o->list_seconds while every host
 * heartbeats; then the listing times per verb and the host-down events
 * that happened meanwhile. */
static int s_listing_load(const s_opts_t *o, pid_t pid, const char *admin,
                          const char *dir, zsock_t *sock)
{
    long downs0 = s_host_downs(sock);
    s_client_t *clients = calloc((size_t)o->clients, sizeof(*clients));
    pthread_t *threads = calloc((size_t)o->clients, sizeof(*threads));
    assert(clients && threads);
    printf("  listing load: %d clients (%s) for %d s, each cycling %s",
           o->clients, o->cli ? "vfleetctl -o json" : "in process",
           o->list_seconds, s_verbs[0].label);
    for (int v = 1; v < S_NVERBS; v++)
        printf(", %s", s_verbs[v].label);
    printf(" (load average %.2f at the start)\n", s_load());
    fflush(stdout);
    double t = s_now(), cpu0 = s_cpu_seconds(pid, 0);
    double main0 = s_cpu_seconds(pid, pid);
    for (int i = 0; i < o->clients; i++) {
        clients[i] = (s_client_t){
            .o = o, .admin = admin, .index = i, .end = t + o->list_seconds};
        if (pthread_create(&threads[i], NULL, s_client, &clients[i]) != 0)
            assert(!"pthread_create");
    }
    int status = 0;
    for (int i = 0; i < o->clients; i++) {
        pthread_join(threads[i], NULL);
        if (clients[i].err[0]) {
            fprintf(stderr, "controller_bench: client %d: %s\n", i,
                    clients[i].err);
            status = -1;
        }
    }
    double wall = s_now() - t;
    printf("    wall time per full listing over %.0f s (load average %.2f "
           "at the end):\n",
           wall, s_load());
    for (int v = 0; v < S_NVERBS; v++) {
        for (int i = 1; i < o->clients; i++) {
            for (size_t k = 0; k < clients[i].took[v].n; k++)
                s_add(&clients[0].took[v], clients[i].took[v].v[k]);
        }
        s_print_samples(s_verbs[v].label, &clients[0].took[v]);
    }
    s_print_cpu(pid, wall, cpu0, main0);
    s_print_wal(dir);
    long downs = s_host_downs(sock);
    if (downs < 0 || downs0 < 0) {
        status = -1;
        printf("  false host-down transitions under listing load: not "
               "counted, the controller did not answer\n");
    } else {
        printf("  false host-down transitions under listing load: %ld%s\n",
               downs - downs0, downs > downs0 ? "  (target: 0)" : "");
    }
    for (int i = 0; i < o->clients; i++) {
        for (int v = 0; v < S_NVERBS; v++)
            free(clients[i].took[v].v);
    }
    free(clients);
    free(threads);
    fflush(stdout);
    return status;
}

/* ---- simulated hosts -------------------------------------------------- */

typedef struct {
    int first, count;
    uint32_t pfs, vfs;
    const char *agents;
    const char *keys; /* the key directory (--keys), or NULL: plaintext */
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

/* With --keys, makes the next peer a CURVE client with host `name`'s
 * key (s_make_keys wrote it). The certificates stay until the worker
 * exits, as its peers need them. */
static int s_peer_keys(const s_worker_t *w, const char *name)
{
    static zcert_t *server;
    char path[4096], err[512];
    if (!w->keys)
        return 0;
    if (!server) {
        snprintf(path, sizeof(path), "%s/" VFP_KEYS_CONTROLLER, w->keys);
        server = vfp_keys_load_public(path, err, sizeof(err));
    }
    snprintf(path, sizeof(path), "%s/secrets/%s.key_secret", w->keys, name);
    zcert_t *cert =
        server ? vfp_keys_load_secret(path, err, sizeof(err)) : NULL;
    if (!cert) {
        fprintf(stderr, "controller_bench: %s\n", err);
        return -1;
    }
    peer_use_keys(cert, server);
    return 0;
}

/* HELLO from every host, then every WELCOME. 0 or -1. */
static int s_sessions(peer_t **peers, const s_worker_t *w)
{
    for (int i = 0; i < w->count; i++) {
        char name[64];
        snprintf(name, sizeof(name), "bench-%05d", w->first + i);
        if (s_peer_keys(w, name) != 0)
            return -1;
        peers[i] = peer_new(w->agents, name);
        assert(peers[i]);
        peer_send_hello(peers[i], VFP_VERSION_MIN, VFP_VERSION);
    }
    for (int i = 0; i < w->count; i++) {
        vfp_msg_t *welcome = peer_recv(peers[i], 60000);
        if (!welcome || welcome->id != VFP_WELCOME) {
            fprintf(stderr, "controller_bench: host %d got no WELCOME\n",
                    w->first + i);
            vfp_msg_destroy(&welcome);
            return -1;
        }
        vfp_msg_destroy(&welcome);
    }
    return 0;
}

/* What an agent reports after applying: its inventory with the APPLY's VF
 * settings in place, as an INVENTORY_DELTA on top of generation *gen
 * (each PF complete), sent before the APPLY_RESULT as vfleet-agent does
 * (it rescans before it answers). */
static void s_report_applied(peer_t *peer, const vfp_apply_t *a, uint64_t *gen,
                             uint32_t pfs, uint32_t vfs)
{
    vfp_msg_t *inv_msg =
        peer_inventory_new(peer_hostname(peer), *gen + 1, pfs, vfs, 0);
    vfp_inventory_t *inv = &inv_msg->u.inventory;
    for (uint32_t i = 0; i < a->vf_count; i++) {
        const vfp_apply_vf_t *d = &a->vfs[i];
        for (uint32_t p = 0; p < inv->pf_count; p++) {
            vfp_pf_t *pf = &inv->pfs[p];
            if (strcmp(pf->pci_addr, d->pf) != 0 || d->index >= pf->vf_count)
                continue;
            vfp_vf_t *vf = &pf->vfs[d->index];
            if (d->set & VFP_SET_MAC)
                memcpy(vf->mac, d->mac, sizeof(vf->mac));
            if (d->set & VFP_SET_VLAN) {
                vf->vlan = d->vlan;
                vf->qos = d->qos;
                vf->vlan_proto = d->vlan_proto;
            }
            if (d->set & VFP_SET_SPOOFCHK)
                vf->spoofchk = d->spoofchk;
            if (d->set & VFP_SET_TRUST)
                vf->trust = d->trust;
            if (d->set & VFP_SET_LINK_STATE)
                vf->link_state = d->link_state;
            if (d->set & VFP_SET_RATE) {
                vf->min_tx_rate = d->min_tx_rate;
                vf->max_tx_rate = d->max_tx_rate;
            }
        }
    }
    vfp_msg_t *delta = vfp_msg_new(VFP_INVENTORY_DELTA);
    delta->u.delta.base_generation = *gen;
    delta->u.delta.generation = *gen + 1;
    delta->u.delta.pf_count = inv->pf_count;
    delta->u.delta.pfs = inv->pfs;
    inv->pf_count = 0;
    inv->pfs = NULL;
    peer_send(peer, delta);
    vfp_msg_destroy(&delta);
    vfp_msg_destroy(&inv_msg);
    (*gen)++;
}

/* Answers an APPLY as an agent whose kernel takes every item would: the
 * report of the new state, then one ok RESULT per item (a VF count, each
 * set attribute of each VF, each pool), with the APPLY's request id.
 * Returns the revision applied. */
static uint64_t s_answer_apply(peer_t *peer, const vfp_msg_t *apply_msg,
                               uint64_t *gen, uint32_t pfs, uint32_t vfs)
{
    static const char *const attrs[VFP_APPLY_VF_ATTRS] = {
        "mac", "vlan", "spoofchk", "trust", "link_state", "rate", "mtu"};
    const vfp_apply_t *a = &apply_msg->u.apply;
    s_report_applied(peer, a, gen, pfs, vfs);
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY_RESULT);
    msg->request_id = apply_msg->request_id;
    vfp_apply_result_t *r = &msg->u.apply_result;
    r->revision = a->revision;
    r->results =
        calloc((size_t)a->pf_count + (size_t)a->vf_count * VFP_APPLY_VF_ATTRS +
                   a->hugepage_count + 1,
               sizeof(*r->results));
    assert(r->results);
    for (uint32_t i = 0; i < a->pf_count; i++) {
        vfp_result_t *it = &r->results[r->result_count++];
        *it = (vfp_result_t){.kind = VFP_ITEM_NUM_VFS};
        snprintf(it->pf, sizeof(it->pf), "%s", a->pfs[i].pf);
        snprintf(it->attribute, sizeof(it->attribute), "num_vfs");
    }
    for (uint32_t i = 0; i < a->vf_count; i++) {
        for (int bit = 0; bit < VFP_APPLY_VF_ATTRS; bit++) {
            if (!(a->vfs[i].set & (1u << bit)))
                continue;
            vfp_result_t *it = &r->results[r->result_count++];
            *it = (vfp_result_t){.kind = VFP_ITEM_VF, .index = a->vfs[i].index};
            snprintf(it->pf, sizeof(it->pf), "%s", a->vfs[i].pf);
            snprintf(it->attribute, sizeof(it->attribute), "%s", attrs[bit]);
        }
    }
    for (uint32_t i = 0; i < a->hugepage_count; i++) {
        vfp_result_t *it = &r->results[r->result_count++];
        *it = (vfp_result_t){.kind = VFP_ITEM_HUGEPAGES};
        snprintf(it->attribute, sizeof(it->attribute), "%ukB",
                 a->hugepages[i].size_kb);
    }
    vfp_decode_error_t err;
    if (vfp_send(peer_sock(peer), NULL, msg, &err) != 0)
        fprintf(stderr, "controller_bench: cannot send APPLY_RESULT\n");
    vfp_msg_destroy(&msg);
    return a->revision;
}

/* Reads what the controller sent to `peer` (without waiting) and answers
 * each APPLY; applied holds the host's applied revision, gen its
 * inventory generation. */
static void s_serve_peer(peer_t *peer, uint64_t *applied, uint64_t *gen,
                         const s_worker_t *w)
{
    while (zsock_events(peer_sock(peer)) & ZMQ_POLLIN) {
        vfp_msg_t *msg = peer_recv(peer, 0);
        if (!msg)
            return;
        if (msg->id == VFP_APPLY)
            *applied = s_answer_apply(peer, msg, gen, w->pfs, w->vfs);
        vfp_msg_destroy(&msg);
    }
}

/* Answers what arrived for the peers epoll found readable. A peer's
 * ZMQ_FD only signals that its socket has commands to process, so every
 * peer is read until it has nothing more (s_serve_peer), and again after
 * each send, which may have taken the signal without reading. */
static void s_serve_ready(int epfd, int timeout_ms, peer_t **peers,
                          uint64_t *applied, uint64_t *gen, const s_worker_t *w,
                          bool *stop)
{
    struct epoll_event ev[64];
    int n = epoll_wait(epfd, ev, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
        int k = (int)ev[i].data.u32;
        if (k == w->count)
            *stop = true;
        else
            s_serve_peer(peers[k], &applied[k], &gen[k], w);
    }
}

/* Every host once per interval, spread evenly over it, until the
 * coordinator says anything (or goes away); meanwhile each host answers
 * the APPLYs the controller sends it as they arrive. One epoll set over
 * every socket: the simulated hosts share the controller's machine, and
 * asking each socket in turn whether it had mail cost more than a core.
 * Returns how late the latest beat was sent, in seconds: more than the
 * interval means a host fell silent through the bench's fault, not the
 * controller's. */
static double s_heartbeats(peer_t **peers, const s_worker_t *w)
{
    int count = w->count;
    double t = s_now(), step = (S_HEARTBEAT_MS / 1000.0) / count, late = 0;
    uint64_t *applied = calloc((size_t)count, sizeof(*applied));
    uint64_t *gen = calloc((size_t)count, sizeof(*gen));
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    assert(applied && gen && epfd >= 0);
    for (int i = 0; i <= count; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        int fd = i < count ? zsock_fd(peer_sock(peers[i])) : w->cmd_fd;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            assert(!"epoll_ctl");
    }
    for (int i = 0; i < count; i++) {
        gen[i] = 1;
        s_serve_peer(peers[i], &applied[i], &gen[i], w);
    }
    bool stop = false;
    for (long long beats = 0; !stop; beats++) {
        double wait = t + (double)beats * step - s_now();
        s_serve_ready(epfd, wait > 0.001 ? (int)(wait * 1000) : 0, peers,
                      applied, gen, w, &stop);
        if (stop)
            break;
        if (-wait > late)
            late = -wait;
        int k = (int)(beats % count);
        vfp_msg_t *beat = vfp_msg_new(VFP_HEARTBEAT);
        beat->u.heartbeat.generation = gen[k];
        beat->u.heartbeat.applied_revision = applied[k];
        peer_send(peers[k], beat);
        vfp_msg_destroy(&beat);
        s_serve_peer(peers[k], &applied[k], &gen[k], w);
    }
    close(epfd);
    free(applied);
    free(gen);
    return late;
}

/* One worker process: its slice of hosts through every phase. */
static int s_worker(const s_worker_t *w)
{
    zsys_init();
    zsys_set_max_sockets((size_t)w->count + 64);
    peer_t **peers = calloc((size_t)w->count, sizeof(*peers));
    zframe_t **frames = calloc((size_t)w->count, sizeof(*frames));
    assert(peers && frames);
    if (s_sessions(peers, w) != 0) {
        s_say(w->reply_fd, 'E');
        return 1;
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
    double late = s_heartbeats(peers, w);
    for (int i = 0; i < w->count; i++)
        peer_destroy(&peers[i]);
    free(peers);
    free(frames);
    s_say(w->reply_fd, 'D');
    if (write(w->reply_fd, &late, sizeof(late)) != sizeof(late))
        return 1;
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

/* Stops the heartbeats; prints how late the latest beat was sent. */
static int s_stop_heartbeats(s_worker_t *workers, int n)
{
    if (s_phase(workers, n, 'X', 'D') != 0)
        return -1;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double late = 0;
        if (read(workers[i].reply_fd, &late, sizeof(late)) != sizeof(late))
            return -1;
        if (late > worst)
            worst = late;
    }
    printf("  heartbeat senders: the latest beat left %.2f s behind its "
           "schedule%s\n",
           worst,
           worst * 1000 > S_HEARTBEAT_MS ? " (hosts fell silent through the "
                                           "bench's fault)"
                                         : "");
    return 0;
}

/* ---- the run ---------------------------------------------------------- */

typedef struct {
    const s_opts_t *o;
    pid_t pid;
    s_worker_t *workers;
    int nworkers;
    const char *dir, *admin, *log_path;
    zsock_t *sock;
    long rss_empty, rss_sessions;
} s_run_t;

/* ---- policy rollout ---------------------------------------------------- */

/* The rollout counts of policy.status. 0 or -1. */
static int s_rollout_counts(zsock_t *sock, long long *ok, long long *failed,
                            long long *pending)
{
    const char *const params[] = {"summary", "true", NULL};
    char err[256];
    json_t *body =
        s_call(sock, "policy.status", params, NULL, err, sizeof(err));
    int rc = body && json_unpack(body, "{s:{s:I, s:I, s:I}}", "counts", "ok",
                                 ok, "failed", failed, "pending", pending) == 0
                 ? 0
                 : -1;
    if (!body)
        fprintf(stderr, "controller_bench: %s\n", err);
    json_decref(body);
    return rc;
}

/* One policy.apply of text, then the wait until no host is pending: the
 * time to the reply, to every host's confirmation, and the controller's
 * CPU meanwhile. */
static int s_rollout_once(s_run_t *r, const char *what, const char *text)
{
    double t = s_now(), cpu0 = s_cpu_seconds(r->pid, 0);
    double main0 = s_cpu_seconds(r->pid, r->pid);
    const char *const params[] = {"source", r->o->apply, "message", what, NULL};
    char err[256];
    json_t *body = s_call_body(r->sock, "policy.apply", params, NULL, text, err,
                               sizeof(err));
    if (!body) {
        fprintf(stderr, "controller_bench: %s\n", err);
        return -1;
    }
    double replied = s_now() - t;
    json_int_t changed =
        json_integer_value(json_object_get(body, "hosts_changed"));
    json_int_t revision = json_integer_value(json_object_get(body, "revision"));
    json_decref(body);
    long long ok = 0, failed = 0, pending = 1;
    while (pending > 0 && s_now() - t < S_REPLY_TIMEOUT_MS / 1000.0) {
        if (s_rollout_counts(r->sock, &ok, &failed, &pending) != 0)
            return -1;
        if (pending > 0)
            zclock_sleep(50);
    }
    double wall = s_now() - t;
    printf("  rollout (%s): policy.apply of revision %lld answered in %.2f s "
           "(%lld hosts changed); all confirmed after %.2f s: %lld ok, %lld "
           "failed, %lld pending (load average %.2f)\n",
           what, (long long)revision, replied, (long long)changed, wall, ok,
           failed, pending, s_load());
    s_print_cpu(r->pid, wall, cpu0, main0);
    fflush(stdout);
    return pending == 0 ? 0 : -1;
}

static int s_rollout(s_run_t *r)
{
    FILE *f = fopen(r->o->apply, "r");
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    if (n == 0) {
        fprintf(stderr, "controller_bench: cannot read %s\n", r->o->apply);
        return -1;
    }
    text[n] = '\0';
    if (s_rollout_once(r, "first apply", text) != 0)
        return -1;
    return s_rollout_once(r, "the same again", text);
}

static int s_wait_started(s_run_t *r)
{
    long long vfs, hosts, down, connected;
    for (int i = 0; s_summary(r->sock, &vfs, &hosts, &down, &connected) != 0;
         i++) {
        if (i > 100 || !s_controller_alive()) {
            fprintf(stderr, "controller_bench: controller did not start; "
                            "see its log:\n");
            char cmd[160];
            snprintf(cmd, sizeof(cmd), "cat %s", r->log_path);
            if (system(cmd) != 0)
                fprintf(stderr, "(no log)\n");
            return -1;
        }
        /* Afresh: an answer to the request that timed out would come
         * before the next one's. */
        zsock_destroy(&r->sock);
        zclock_sleep(100);
        r->sock = s_admin_connect(r->admin);
    }
    r->rss_empty = s_rss_kb(r->pid);
    return 0;
}

static int s_ingest(s_run_t *r)
{
    double t = s_now(), cpu0 = s_cpu_seconds(r->pid, 0);
    if (s_phase(r->workers, r->nworkers, 0, 'R') != 0) {
        fprintf(stderr, "controller_bench: sessions failed\n");
        return -1;
    }
    r->rss_sessions = s_rss_kb(r->pid);
    printf("  sessions:   %d HELLO/WELCOME (and encoding) in %.2f s, "
           "controller CPU %.2f s, RSS %.1f MB (load average %.2f)\n",
           r->o->hosts, s_now() - t, s_cpu_seconds(r->pid, 0) - cpu0,
           r->rss_sessions / 1024.0, s_load());
    fflush(stdout);

    cpu0 = s_cpu_seconds(r->pid, 0);
    t = s_now();
    if (s_phase(r->workers, r->nworkers, 'G', 'S') != 0)
        return -1;
    long long want = (long long)r->o->hosts * r->o->pfs * r->o->vfs;
    long long vfs = 0, hosts, down, connected;
    while (vfs < want) {
        if (s_summary(r->sock, &vfs, &hosts, &down, &connected) != 0)
            return -1;
        zclock_sleep(100);
    }
    double took = s_now() - t;
    printf("  ingestion:  %d full inventories stored and queryable in %.2f s "
           "(%.0f hosts/s, %.0f VFs/s, controller CPU %.2f s; load average "
           "%.2f)\n",
           r->o->hosts, took, r->o->hosts / took, want / took,
           s_cpu_seconds(r->pid, 0) - cpu0, s_load());
    fflush(stdout);
    return 0;
}

static int s_heartbeat_window(s_run_t *r)
{
    double cpu0 = s_cpu_seconds(r->pid, 0), t = s_now();
    zclock_sleep(r->o->hb_seconds * 1000);
    double wall = s_now() - t, cpu = s_cpu_seconds(r->pid, 0) - cpu0;
    long long vfs, hosts, down, connected;
    if (s_summary(r->sock, &vfs, &hosts, &down, &connected) != 0)
        return -1;
    long rss = s_rss_kb(r->pid);
    printf("  heartbeats: %.0f/s from %d hosts for %.0f s: controller CPU "
           "%.1f%% of a core; hosts down: %lld (load average %.2f)\n",
           r->o->hosts / (S_HEARTBEAT_MS / 1000.0), r->o->hosts, wall,
           100.0 * cpu / wall, down, s_load());
    printf("  RSS:        %.1f MB empty, %.1f MB with sessions, %.1f MB after "
           "ingestion and heartbeats (%.1f kB per host)\n",
           r->rss_empty / 1024.0, r->rss_sessions / 1024.0, rss / 1024.0,
           (double)(rss - r->rss_empty) / r->o->hosts);
    fflush(stdout);
    return 0;
}

static int s_end_state(s_run_t *r)
{
    long long vfs, hosts, down, connected;
    long downs = s_host_downs(r->sock);
    if (downs < 0 || s_summary(r->sock, &vfs, &hosts, &down, &connected) != 0)
        return -1;
    printf("  at the end: %lld hosts, %lld connected, %lld down; host-down "
           "events over the whole run: %ld; controller RSS %.1f MB\n",
           hosts, connected, down, downs, s_rss_kb(r->pid) / 1024.0);
    return 0;
}

static int s_bench(s_run_t *r)
{
    if (s_wait_started(r) != 0)
        return -1;
    const s_opts_t *o = r->o;
    printf("controller_bench: %d hosts x %u PFs x %u VFs = %lld VFs, %d "
           "worker process(es), --dead-after %d, --synchronous %s\n",
           o->hosts, o->pfs, o->vfs, (long long)o->hosts * o->pfs * o->vfs,
           r->nworkers, o->dead_after, o->synchronous);
    fflush(stdout);
    if (s_ingest(r) != 0 || s_heartbeat_window(r) != 0)
        return -1;
    if (o->apply && s_rollout(r) != 0)
        return -1;
    /* One synchronous client, then eight sharing the same number; each
     * after the transport's floor with as many clients. */
    int requests = o->place / o->batch;
    if (o->place > 0 && (bench_place_floor(1, requests) != 0 ||
                         bench_place_run(r->admin, 1, requests, o->batch,
                                         "one client", r->pid) != 0 ||
                         bench_place_floor(8, requests / 8) != 0 ||
                         bench_place_run(r->admin, 8, requests / 8, o->batch,
                                         "eight clients", r->pid) != 0 ||
                         bench_place_plan(r->admin, 1000) != 0))
        return -1;
    if (o->clients > 0 &&
        (s_listing_alone(o, r->admin, r->sock) != 0 ||
         s_listing_load(o, r->pid, r->admin, r->dir, r->sock) != 0))
        return -1;
    if (s_end_state(r) != 0)
        return -1;
    return s_stop_heartbeats(r->workers, r->nworkers);
}

/* ---- processes -------------------------------------------------------- */

static pid_t s_start_controller(const s_opts_t *o, const char *dir,
                                const char *agents, const char *log_path)
{
    char dead_after[16];
    snprintf(dead_after, sizeof(dead_after), "%d", o->dead_after);
    pid_t pid = fork();
    if (pid == 0) {
        /* The controller's log goes to a file: thousands of hosts make
         * thousands of lines. */
        if (!freopen(log_path, "w", stderr))
            _exit(127);
        /* The listing clients load the admin thread on purpose: past the
         * per-client budget a controller keeps against hostile ones. */
        char keys[160];
        snprintf(keys, sizeof(keys), "%s/keys", dir);
        const char *security = o->keys ? "--keys" : "--insecure";
        execl(o->controller, o->controller, "--state-dir", dir, "--agents",
              agents, "--heartbeat-interval", "2s", "--dead-after", dead_after,
              "--log-level", "warn", "--admin-rate", "1000000", "--synchronous",
              o->synchronous, security, o->keys ? keys : (char *)NULL,
              (char *)NULL);
        perror("exec vfleet-controller");
        _exit(127);
    }
    return pid;
}

/* Forks the workers (before this process touches ZeroMQ); NULL when a
 * pipe cannot be made. */
static s_worker_t *s_start_workers(const s_opts_t *o, const char *agents,
                                   const char *keys, int n, pid_t *pids)
{
    s_worker_t *workers = calloc((size_t)n, sizeof(*workers));
    assert(workers);
    for (int i = 0; i < n; i++) {
        int cmd[2], reply[2];
        if (pipe(cmd) != 0 || pipe(reply) != 0) {
            perror("pipe");
            free(workers);
            return NULL;
        }
        workers[i] = (s_worker_t){.first = i * S_PER_WORKER,
                                  .count = o->hosts - i * S_PER_WORKER,
                                  .pfs = o->pfs,
                                  .vfs = o->vfs,
                                  .agents = agents,
                                  .keys = keys,
                                  .cmd_fd = cmd[0],
                                  .reply_fd = reply[1]};
        if (workers[i].count > S_PER_WORKER)
            workers[i].count = S_PER_WORKER;
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(s_worker(&workers[i]));
        close(cmd[0]);
        close(reply[1]);
        workers[i].cmd_fd = cmd[1];
        workers[i].reply_fd = reply[0];
    }
    return workers;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: controller_bench [OPTIONS] CONTROLLER_BIN [HOSTS] [PFS] "
            "[VFS] [HB_SECONDS]\n"
            "  defaults: 1000 hosts x 2 PFs x 32 VFs, 10 s of heartbeats\n"
            "  --clients N       listing clients under load (default 10; 0: "
            "no listings)\n"
            "  --list-seconds S  how long they list (default 60)\n"
            "  --cli VFLEETCTL   list through this vfleetctl (one process per "
            "listing)\n"
            "                    instead of in-process clients, and time it "
            "alone too\n"
            "  --dead-after N    the controller's --dead-after (default 3, its "
            "own default)\n"
            "  --apply POLICY    roll this policy out to every host, twice, "
            "after the\n"
            "                    heartbeat window (hosts answer every APPLY "
            "all ok)\n"
            "  --place N         after --apply (use "
            "tests/bench/placement-policy.yaml),\n"
            "                    place N VMs with one synchronous client, "
            "then N with\n"
            "                    eight, then time plan --count 1000; "
            "before each, the\n"
            "                    same clients against a ROUTER that only "
            "echoes (the\n"
            "                    transport's floor on this machine); after "
            "each, the\n"
            "                    time until every VM is placed (its agent "
            "confirmed)\n"
            "  --batch B         with --place, B VMs per request "
            "(vm.create.batch;\n"
            "                    default 1: one vm.create each); the floor "
            "and the\n"
            "                    latencies are per request\n"
            "  --latencies FILE  with --place, a line per request: run, "
            "client,\n"
            "                    start (s since the run's start), latency "
            "(ms)\n"
            "  --synchronous M   the controller's --synchronous, normal "
            "(default) or full\n"
            "  --keys            CURVE: the controller's pair and a key per "
            "host (timed),\n"
            "                    instead of --insecure\n"
            "  environment: TMPDIR (where the state directory goes), "
            "VFLEET_KEEP=1 (keep it)\n");
}

/* --keys: DIR/keys with the controller's pair and one host key per
 * simulated host, as vfleetctl keys init and add-host make them, their
 * secrets in DIR/keys/secrets; timed. */
static int s_make_keys(const s_opts_t *o, const char *keys)
{
    char err[1024], secret[4096];
    double t0 = s_now();
    if (vfp_keys_init(keys, false, err, sizeof(err)) != 0) {
        fprintf(stderr, "controller_bench: %s\n", err);
        return -1;
    }
    snprintf(secret, sizeof(secret), "%s/secrets", keys);
    if (mkdir(secret, 0700) != 0) {
        perror(secret);
        return -1;
    }
    for (int i = 0; i < o->hosts; i++) {
        char name[64];
        snprintf(name, sizeof(name), "bench-%05d", i);
        snprintf(secret, sizeof(secret), "%s/secrets/%s.key_secret", keys,
                 name);
        vfp_keys_add_t add = {.kind = VFP_KEYS_HOST,
                              .name = name,
                              .role = VFP_KEYS_ROLE_HOST,
                              .secret_out = secret};
        if (vfp_keys_add(keys, &add, err, sizeof(err)) != 0) {
            fprintf(stderr, "controller_bench: %s\n", err);
            return -1;
        }
    }
    printf("keys: %d host keys made in %.1f s (CURVE on the agents "
           "endpoint)\n",
           o->hosts, s_now() - t0);
    return 0;
}

static bool s_options_valid(const s_opts_t *o)
{
    return o->hosts >= 1 && o->pfs >= 1 && o->vfs >= 2 && o->hb_seconds >= 1 &&
           o->clients >= 0 && o->list_seconds >= 1 && o->dead_after >= 1 &&
           o->place >= 0 && (o->place == 0 || o->apply) && o->batch >= 1 &&
           o->batch <= 500 && o->place % (8 * o->batch) == 0;
}

/* 0, 1 for --help, -1 for a usage error. */
static int s_options(int argc, char **argv, s_opts_t *o)
{
    static const struct option longopts[] = {
        {"clients", required_argument, NULL, 'n'},
        {"list-seconds", required_argument, NULL, 's'},
        {"cli", required_argument, NULL, 'c'},
        {"dead-after", required_argument, NULL, 'd'},
        {"apply", required_argument, NULL, 'a'},
        {"place", required_argument, NULL, 'p'},
        {"batch", required_argument, NULL, 'b'},
        {"synchronous", required_argument, NULL, 'y'},
        {"latencies", required_argument, NULL, 'l'},
        {"keys", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (s_opts_t){.clients = 10,
                    .list_seconds = 60,
                    .dead_after = 3,
                    .batch = 1,
                    .synchronous = "normal"};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'n')
            o->clients = atoi(optarg);
        else if (c == 's')
            o->list_seconds = atoi(optarg);
        else if (c == 'c')
            o->cli = optarg;
        else if (c == 'd')
            o->dead_after = atoi(optarg);
        else if (c == 'a')
            o->apply = optarg;
        else if (c == 'p')
            o->place = atoi(optarg);
        else if (c == 'b')
            o->batch = atoi(optarg);
        else if (c == 'y')
            o->synchronous = optarg;
        else if (c == 'k')
            o->keys = true;
        else if (c == 'l')
            o->latencies = optarg;
        else if (c == 'h')
            return 1;
        else
            return -1;
    }
    char **pos = argv + optind;
    int npos = argc - optind;
    if (npos < 1)
        return -1;
    o->controller = pos[0];
    o->hosts = npos > 1 ? atoi(pos[1]) : 1000;
    o->pfs = npos > 2 ? (uint32_t)atoi(pos[2]) : 2;
    o->vfs = npos > 3 ? (uint32_t)atoi(pos[3]) : 32;
    o->hb_seconds = npos > 4 ? atoi(pos[4]) : 10;
    return s_options_valid(o) ? 0 : -1;
}

/* Stops the workers and the controller, shows the controller's log when it
 * did not end well, removes the state directory (unless VFLEET_KEEP);
 * the bench's exit status, given the run's. */
static int s_teardown(pid_t pid, const pid_t *worker_pids, int nworkers,
                      const char *dir, const char *log_path, int status)
{
    for (int i = 0; i < nworkers && worker_pids[i] > 0; i++) {
        kill(worker_pids[i], SIGTERM);
        waitpid(worker_pids[i], NULL, 0);
    }
    kill(pid, SIGTERM);
    int cstatus = 0;
    waitpid(pid, &cstatus, 0);
    if (!WIFEXITED(cstatus) || WEXITSTATUS(cstatus) != 0) {
        fprintf(stderr,
                "controller_bench: the controller ended with status "
                "0x%x; its log:\n",
                cstatus);
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "tail -n 20 %s", log_path);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        status = 1;
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (getenv("VFLEET_KEEP"))
        fprintf(stderr, "controller_bench: kept %s\n", dir);
    else if (system(cmd) != 0)
        fprintf(stderr, "controller_bench: cannot remove %s\n", dir);
    return status;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    int rc = s_options(argc, argv, &o);
    if (rc != 0) {
        s_usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    FILE *latencies = NULL;
    if (o.latencies && !(latencies = fopen(o.latencies, "w"))) {
        perror(o.latencies);
        return 2;
    }
    bench_place_latencies(latencies);
    char dir[96];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/vfleet-bench.XXXXXX",
             tmp && tmp[0] && strlen(tmp) < 48 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char agents[64], admin[128], log_path[128];
    /* Below the kernel's ephemeral range (32768 and up), which 10,000
     * client connections use up. */
    snprintf(agents, sizeof(agents), "tcp://127.0.0.1:%d",
             12000 + getpid() % 20000);
    snprintf(admin, sizeof(admin), "ipc://%s/admin.sock", dir);
    snprintf(log_path, sizeof(log_path), "%s/controller.log", dir);
    bench_sys_print_machine(NULL);
    char keys[160];
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    if (o.keys && s_make_keys(&o, keys) != 0)
        return 1;
    fflush(stdout);
    pid_t pid = s_start_controller(&o, dir, agents, log_path);
    s_controller_pid = pid;
    int nworkers = (o.hosts + S_PER_WORKER - 1) / S_PER_WORKER;
    pid_t *worker_pids = calloc((size_t)nworkers, sizeof(*worker_pids));
    assert(worker_pids);
    s_worker_t *workers = s_start_workers(&o, agents, o.keys ? keys : NULL,
                                          nworkers, worker_pids);
    int status = 1;
    if (workers) {
        zsys_init();
        s_run_t run = {.o = &o,
                       .pid = pid,
                       .workers = workers,
                       .nworkers = nworkers,
                       .dir = dir,
                       .admin = admin,
                       .log_path = log_path,
                       .sock = s_admin_connect(admin)};
        status = run.sock && s_bench(&run) == 0 ? 0 : 1;
        zsock_destroy(&run.sock);
    }
    status = s_teardown(pid, worker_pids, nworkers, dir, log_path, status);
    free(workers);
    free(worker_pids);
    return latencies && fclose(latencies) != 0 ? 1 : status;
}
