/* bench_place.c - controller_bench --place: VM placements through the
 * admin API, each client synchronous (one vm.create in flight), with a
 * realistic mix, every reservation committed before its answer. Prints
 * placements per second and the latency distribution, then how long the
 * agents took to confirm what was still reserved at the last answer. */
#include "bench_place.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_sys.h"
#include "vfp_transport.h"

#define S_TIMEOUT_MS 30000

/* --latencies: one line per request, or NULL. */
static FILE *s_latencies;

void bench_place_latencies(FILE *file)
{
    s_latencies = file;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The mix: 1 NIC (70%) or 2, on vlan10 or vlan20; 2 to 16 GiB; one in
 * ten in one of 50 anti-affinity groups. Deterministic per request. */
static void s_body(int run, int client, int i, char *buf, size_t len)
{
    unsigned x = (unsigned)(client * 1000003 + i) * 2654435761u;
    const char *net1 = x & 1 ? "vlan10" : "vlan20";
    const char *net2 = x & 2 ? "vlan10" : "vlan20";
    int two = (x >> 2) % 10 >= 7;
    unsigned mib = 2048u * (1 + (x >> 5) % 8);
    char group[32] = "";
    if ((x >> 9) % 10 == 0)
        snprintf(group, sizeof(group), ",\"group\":\"g%u\"", (x >> 12) % 50);
    snprintf(buf, len,
             "{\"name\":\"vm-%d-%d-%d\",\"memory_mib\":%u,\"vcpus\":2%s,"
             "\"nics\":[{\"network\":\"%s\"}%s%s%s]}",
             run, client, i, mib, group, net1, two ? ",{\"network\":\"" : "",
             two ? net2 : "", two ? "\"}" : "");
}

typedef struct {
    const char *admin;
    const char *verb;
    int run;
    int index;
    int count;
    int batch;    /* VMs per request: 1 vm.create, more vm.create.batch */
    double start; /* when the run started */
    double *took; /* per request, seconds */
    int placed, refused, errors;
    int answered; /* requests answered */
    char err[256];
} s_client_t;

/* One request; its status, or -1 when no answer came. The answer's body
 * in *answer (NUL-terminated, freed by the caller) when answer is set. */
static int s_call(zsock_t *sock, const char *verb, const char *body,
                  const char *const *params, char **answer)
{
    static atomic_uint s_id;
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = atomic_fetch_add(&s_id, 1) + 1;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    for (int i = 0; params && params[i]; i += 2) {
        vfp_param_t *p = &req->u.request.params[req->u.request.param_count++];
        snprintf(p->key, sizeof(p->key), "%s", params[i]);
        snprintf(p->value, sizeof(p->value), "%s", params[i + 1]);
    }
    if (body) {
        req->u.request.body = strdup(body);
        req->u.request.body_len = (uint32_t)strlen(body);
    }
    vfp_decode_error_t derr;
    int status = -1;
    if (vfp_send(sock, NULL, req, &derr) == 0) {
        vfp_msg_t *reply = vfp_recv(sock, NULL, &derr);
        if (reply && reply->id == VFP_REPLY &&
            reply->request_id == req->request_id) {
            status = reply->u.reply.status;
            if (answer)
                *answer =
                    strndup(reply->u.reply.body ? reply->u.reply.body : "",
                            reply->u.reply.body_len);
        }
        vfp_msg_destroy(&reply);
    }
    vfp_msg_destroy(&req);
    return status;
}

static zsock_t *s_connect(const char *admin)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock)
        return NULL;
    vfp_socket_limit(sock);
    zsock_set_rcvtimeo(sock, S_TIMEOUT_MS);
    zsock_set_linger(sock, 0);
    if (zsock_connect(sock, "%s", admin) != 0)
        zsock_destroy(&sock);
    return sock;
}

/* The body of request i: one VM (vm.create), or c->batch of them
 * (vm.create.batch), to free(). */
static char *s_request_body(const s_client_t *c, int i)
{
    char one[512];
    if (c->batch == 1) {
        s_body(c->run, c->index, i, one, sizeof(one));
        return strdup(one);
    }
    size_t len = (size_t)c->batch * sizeof(one) + 16, used = 0;
    char *body = malloc(len);
    if (!body)
        return NULL;
    used += (size_t)snprintf(body, len, "{\"vms\":[");
    for (int v = 0; v < c->batch; v++) {
        s_body(c->run, c->index, i * c->batch + v, one, sizeof(one));
        used += (size_t)snprintf(body + used, len - used, "%s%s", v ? "," : "",
                                 one);
    }
    snprintf(body + used, len - used, "]}");
    return body;
}

/* Counts what one answer placed and refused; false on an error. */
static bool s_count(s_client_t *c, int status, const char *answer)
{
    int created = 0, refused = 0;
    if (c->batch > 1 && status == VFP_OK && answer &&
        sscanf(answer, "{\"created\":%d,\"refused\":%d", &created, &refused) ==
            2) {
        c->placed += created;
        c->refused += refused;
        return true;
    }
    if (c->batch == 1 && status == VFP_OK)
        c->placed++;
    else if (c->batch == 1 && status == VFP_ERR_CONFLICT)
        c->refused++;
    else {
        c->errors++;
        snprintf(c->err, sizeof(c->err), "%s answered status %d", c->verb,
                 status);
        return false;
    }
    return true;
}

static void *s_client(void *arg)
{
    s_client_t *c = arg;
    zsock_t *sock = s_connect(c->admin);
    if (!sock) {
        snprintf(c->err, sizeof(c->err), "cannot connect to %s", c->admin);
        return NULL;
    }
    for (int i = 0; i < c->count; i++) {
        char *body = s_request_body(c, i);
        char *answer = NULL;
        double t = s_now();
        int status =
            s_call(sock, c->verb, body, NULL, c->batch > 1 ? &answer : NULL);
        c->took[i] = s_now() - t;
        free(body);
        if (s_latencies)
            fprintf(s_latencies, "%d %d %.6f %.3f\n", c->run, c->index,
                    t - c->start, c->took[i] * 1e3);
        if (status >= 0)
            c->answered++;
        bool counted = s_count(c, status, answer);
        free(answer);
        if (!counted && status < 0)
            break;
    }
    zsock_destroy(&sock);
    return NULL;
}

static double s_load(void)
{
    double load[1];
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(const double *v, size_t n, double p)
{
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

/* VMs still reserved (their agents have not confirmed), from summary;
 * -1 on an error. */
static long s_reserved(zsock_t *sock)
{
    char *answer = NULL;
    long reserved = -1;
    if (s_call(sock, "summary", NULL, NULL, &answer) == VFP_OK) {
        json_t *root = json_loads(answer, 0, NULL);
        json_t *n =
            json_object_get(json_object_get(root, "vm_states"), "reserved");
        if (json_is_integer(n))
            reserved = (long)json_integer_value(n);
        json_decref(root);
    }
    free(answer);
    return reserved;
}

/* Whether any VM is still reserved: one VM of that state asked for, much
 * cheaper than the summary's counts at 10,000 hosts. -1 on an error. */
static int s_any_reserved(zsock_t *sock)
{
    static const char *const params[] = {"state", "reserved", "limit", "1",
                                         NULL};
    char *answer = NULL;
    int any = -1;
    if (s_call(sock, "vms", NULL, params, &answer) == VFP_OK) {
        json_t *root = json_loads(answer, 0, NULL);
        json_t *vms = json_object_get(root, "vms");
        if (json_is_array(vms))
            any = json_array_size(vms) > 0;
        json_decref(root);
    }
    free(answer);
    return any;
}

/* After the last answer, the agents still confirm what was reserved:
 * how long until no VM is reserved (vm.create --wait's share), polling
 * every 50 ms for up to 120 s. */
static void s_settle(const char *admin, pid_t controller)
{
    zsock_t *sock = s_connect(admin);
    if (!sock)
        return;
    double start = s_now();
    double cpu0 = bench_sys_cpu_seconds(controller);
    long first = s_reserved(sock);
    int any = first != 0;
    while (any > 0 && s_now() - start < 120) {
        zclock_sleep(50);
        any = s_any_reserved(sock);
    }
    if (any == 0)
        printf("    every VM placed (%ld still reserved at the last answer) "
               "%.2f s after it, controller CPU meanwhile %.2f s\n",
               first, s_now() - start,
               bench_sys_cpu_seconds(controller) - cpu0);
    else
        printf("    VMs still reserved %.0f s after the last answer\n",
               s_now() - start);
    zsock_destroy(&sock);
}

/* Load-independent, unlike the rates: what the controller spent during
 * a run, agents' answers and heartbeats included, per request and per VM
 * asked for. */
static void s_report_cpu(double cpu, size_t requests, size_t vms)
{
    printf("    controller CPU during the run: %.2f s, %.0f us per request, "
           "%.0f us per VM (load average %.2f)\n",
           cpu, requests ? cpu * 1e6 / (double)requests : 0,
           vms ? cpu * 1e6 / (double)vms : 0, s_load());
}

/* What one request carries, as the report names it. */
static void s_what(int batch, char *buf, size_t len)
{
    if (batch > 1)
        snprintf(buf, len, "vm.create.batch of %d VMs", batch);
    else
        snprintf(buf, len, "vm.create");
}

int bench_place_run(const char *admin, int clients, int per_client, int batch,
                    const char *label, pid_t controller)
{
    s_client_t *c = calloc((size_t)clients, sizeof(*c));
    pthread_t *t = calloc((size_t)clients, sizeof(*t));
    double *all = calloc((size_t)clients * per_client, sizeof(*all));
    if (!c || !t || !all)
        return -1;
    static int s_runs;
    int run = ++s_runs;
    double start = s_now();
    double cpu0 = bench_sys_cpu_seconds(controller);
    for (int i = 0; i < clients; i++) {
        c[i] = (s_client_t){.admin = admin,
                            .verb = batch > 1 ? "vm.create.batch" : "vm.create",
                            .run = run,
                            .index = i,
                            .count = per_client,
                            .batch = batch,
                            .start = start,
                            .took = all + (size_t)i * per_client};
        pthread_create(&t[i], NULL, s_client, &c[i]);
    }
    int placed = 0, refused = 0, errors = 0, requests = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        placed += c[i].placed;
        refused += c[i].refused;
        errors += c[i].errors;
        requests += c[i].answered;
        if (c[i].err[0])
            fprintf(stderr, "bench_place: client %d: %s\n", i, c[i].err);
    }
    double wall = s_now() - start;
    double cpu = bench_sys_cpu_seconds(controller) - cpu0;
    size_t n = (size_t)requests;
    qsort(all, (size_t)clients * per_client, sizeof(*all), s_cmp);
    /* Unanswered slots stay 0 and sort first; the distribution is over
     * the answered ones. */
    double *answered = all + ((size_t)clients * per_client - n);
    char what[64];
    s_what(batch, what, sizeof(what));
    printf("  placement (%s): %d synchronous client(s) x %d %s: %d "
           "reserved, %d refused, %d errors in %.2f s: %.0f placements/s "
           "(%.0f requests/s); latency per request p50 %.3f ms, p99 %.3f "
           "ms, max %.3f ms\n",
           label, clients, per_client, what, placed, refused, errors, wall,
           placed / wall, n / wall, n ? s_pct(answered, n, 0.50) * 1e3 : 0,
           n ? s_pct(answered, n, 0.99) * 1e3 : 0,
           n ? answered[n - 1] * 1e3 : 0);
    s_report_cpu(cpu, n, (size_t)(placed + refused));
    s_settle(admin, controller);
    fflush(stdout);
    free(c);
    free(t);
    free(all);
    return errors ? -1 : 0;
}

int bench_place_plan(const char *admin, int count)
{
    zsock_t *sock = s_connect(admin);
    if (!sock)
        return -1;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"count\":%d,\"vms\":[{\"name\":\"plan\",\"memory_mib\":"
             "4096,\"vcpus\":2,\"nics\":[{\"network\":\"vlan10\"}]}]}",
             count);
    double took[5];
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        double t = s_now();
        int status = s_call(sock, "plan", body, NULL, NULL);
        took[i] = s_now() - t;
        if (status != VFP_OK) {
            fprintf(stderr, "bench_place: plan answered status %d\n", status);
            rc = -1;
        }
    }
    zsock_destroy(&sock);
    if (rc != 0)
        return -1;
    qsort(took, 5, sizeof(took[0]), s_cmp);
    printf("  plan --count %d: min %.1f ms, median %.1f ms, max %.1f ms over "
           "5 (load average %.2f)\n",
           count, took[0] * 1e3, took[2] * 1e3, took[4] * 1e3, s_load());
    fflush(stdout);
    return 0;
}

/* ---- the transport's floor ---------------------------------------------- */

/* Sends every message back as it came: a ROUTER with nothing behind it. */
static void s_echo_actor(zsock_t *pipe, void *args)
{
    zsock_t *router = args;
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    assert(poller);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which != router)
            break;
        zmsg_t *msg = zmsg_recv(router);
        if (msg)
            zmsg_send(&msg, router);
    }
    zpoller_destroy(&poller);
}

typedef struct {
    const char *endpoint;
    int count;
    double *took;
    int failed;
} s_echo_client_t;

static void *s_echo_client(void *arg)
{
    s_echo_client_t *c = arg;
    zsock_t *sock = s_connect(c->endpoint);
    char body[512];
    for (int i = 0; sock && i < c->count; i++) {
        s_body(0, 0, i, body, sizeof(body));
        double t = s_now();
        zmsg_t *reply = NULL;
        if (zstr_send(sock, body) == 0)
            reply = zmsg_recv(sock);
        c->took[i] = s_now() - t;
        c->failed += !reply;
        zmsg_destroy(&reply);
    }
    c->failed += !sock;
    zsock_destroy(&sock);
    return NULL;
}

int bench_place_floor(int clients, int per_client)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = router ? zsock_bind(router, "tcp://127.0.0.1:*") : -1;
    zactor_t *echo = port > 0 ? zactor_new(s_echo_actor, router) : NULL;
    s_echo_client_t *c = calloc((size_t)clients, sizeof(*c));
    pthread_t *t = calloc((size_t)clients, sizeof(*t));
    double *all = calloc((size_t)clients * per_client, sizeof(*all));
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", port);
    int failed = !echo || !c || !t || !all;
    double start = s_now();
    for (int i = 0; !failed && i < clients; i++) {
        c[i] = (s_echo_client_t){.endpoint = endpoint,
                                 .count = per_client,
                                 .took = all + (size_t)i * per_client};
        pthread_create(&t[i], NULL, s_echo_client, &c[i]);
    }
    for (int i = 0; !failed && i < clients; i++) {
        pthread_join(t[i], NULL);
        failed += c[i].failed;
    }
    double wall = s_now() - start;
    size_t n = (size_t)clients * per_client;
    if (!failed) {
        qsort(all, n, sizeof(*all), s_cmp);
        printf("  transport floor: %d synchronous client(s) x %d round trips "
               "through a ROUTER that only echoes (this process, tcp "
               "loopback): %.0f/s; latency p50 %.3f ms, p99 %.3f ms\n",
               clients, per_client, (double)n / wall, s_pct(all, n, 0.50) * 1e3,
               s_pct(all, n, 0.99) * 1e3);
        fflush(stdout);
    }
    zactor_destroy(&echo);
    zsock_destroy(&router);
    free(c);
    free(t);
    free(all);
    return failed ? -1 : 0;
}
