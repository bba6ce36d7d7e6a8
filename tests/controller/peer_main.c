/* peer_main.c - vfleet-test-peer: simulated agents for the controller's
 * integration tests, or one bad message to check the controller's answer.
 *
 * usage: vfleet-test-peer --controller EP --host NAME [--count N] [--pfs N]
 *          [--vfs N] [--updates N] [--dump FILE] [--send-bad KIND]
 *          [--key FILE --controller-key FILE]
 *          [--key-dir DIR --controller-key FILE]
 *
 * --key and --controller-key make every connection a CURVE client with
 * that secret certificate, trusting that controller; --key-dir instead
 * gives each simulated host its own, DIR/HOSTNAME.key_secret (as
 * vfleetctl keys add-host NAME --out writes it). Without them it speaks
 * plaintext (a controller started with --insecure).
 *
 * Without --send-bad it runs until SIGTERM: HELLO, a full INVENTORY (then
 * --updates more, back to back, each with the next generation and other
 * VLANs), then heartbeats at the interval WELCOME gave; it says HELLO again
 * on NOT_WELCOME and resends the inventory on RESYNC. A host whose HELLO
 * is refused (the controller could not store it) says HELLO again every
 * 200 ms. With --count N it simulates hosts NAME-0 .. NAME-(N-1). --dump
 * writes the VFs it reported last, in vfleetctl's JSON shape, once they
 * are all sent.
 *
 * --send-bad KIND sends one bad message, prints the code of the ERROR the
 * controller answers and its request id ("INVALID text (request_id 7)")
 * and exits 0, or exits 1 without one. KIND: no-hello, num-vfs,
 * too-many-vfs, version, hello (a plain HELLO as --host: refused with a
 * key of another host), garbage, truncated, stale-delta, wrong-host,
 * unexpected; and, with --controller naming the admin endpoint,
 * admin-garbage, admin-unknown-verb, admin-bad-param (the status of the
 * REPLY, or the ERROR, is printed). KIND error, bad-error, admin-error and
 * admin-bad-error send an ERROR (a valid one, or one that does not decode),
 * and KIND headerless and admin-headerless a frame too short to hold a
 * header; all of them expect silence: they print "no answer" and exit 0,
 * or print the answer and exit 1.
 *
 * --flood N says HELLO, then sends N full INVENTORYs (--pfs x --vfs VFs,
 * each a new generation) as fast as the controller takes them, with at
 * most 4 queued, and exits 0 (the hostile-peer test's heavy sender).
 *
 * --request VERB sends one admin REQUEST to the admin endpoint named by
 * --controller (vfleetctl has no verb for everything the API answers, e.g.
 * summary), with the parameters of --param KEY=VALUE (repeatable) and the
 * contents of --body FILE, and prints the JSON body; when the status is
 * not OK it prints "STATUS error text" and the body, if any, to stderr
 * and exits 1. With --repeat N it sends the request N times over one
 * connection, 250 ms apart, and prints instead how long each answer took
 * (milliseconds, one a line, the first one's connection included); it
 * exits 1 when an answer does not come within 10 s. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_peer.h"
#include "vfp_keys.h"

typedef struct {
    const char *endpoint;
    const char *host;
    int count;
    uint32_t pfs, vfs, updates;
    const char *dump;
    const char *bad;
    const char *request;
    const char *params[32];
    int param_count;
    const char *body;
    uint32_t flood;
    uint32_t repeat;
} options_t;

typedef struct {
    peer_t *peer;
    uint64_t generation;
    uint32_t variant;
    int64_t next_beat;
    bool welcomed;      /* a HELLO of this session was answered WELCOME */
    int64_t next_hello; /* when to say HELLO again while not welcomed */
} sim_t;

#define S_HELLO_RETRY_MS 200
#define S_REPEAT_MS 250

static int s_print_error(peer_t *peer)
{
    vfp_msg_t *msg = peer_recv(peer, 3000);
    int rc = 1;
    if (msg && msg->id == VFP_ERROR) {
        printf("%s %s (request_id %u)\n", vfp_errcode_name(msg->u.error.code),
               msg->u.error.text, msg->request_id);
        rc = 0;
    } else if (msg) {
        printf("got %s instead of ERROR\n", vfp_id_name(msg->id));
    } else {
        printf("no answer\n");
    }
    vfp_msg_destroy(&msg);
    return rc;
}

/* The encoder refuses num_vfs > total_vfs, so the bad value is patched
 * into the encoded bytes: the uint16 pair total_vfs, num_vfs of PF 0. */
static int s_send_patched_num_vfs(peer_t *peer, vfp_msg_t *msg)
{
    msg->request_id = 7;
    uint8_t *data;
    size_t size;
    vfp_decode_error_t err;
    if (vfp_encode(msg, &data, &size, &err) != 0)
        return 1;
    const vfp_pf_t *pf = &msg->u.inventory.pfs[0];
    uint8_t pattern[4] = {(uint8_t)(pf->total_vfs >> 8), (uint8_t)pf->total_vfs,
                          (uint8_t)(pf->num_vfs >> 8), (uint8_t)pf->num_vfs};
    uint8_t *at = memmem(data, size, pattern, sizeof(pattern));
    if (!at) {
        free(data);
        return 1;
    }
    uint16_t bad = (uint16_t)(pf->total_vfs + 1);
    at[2] = (uint8_t)(bad >> 8);
    at[3] = (uint8_t)bad;
    zframe_t *frame = zframe_new(data, size);
    free(data);
    zframe_send(&frame, peer_sock(peer), 0);
    return s_print_error(peer);
}

/* Admin API cases: the peer's endpoint is the admin socket, and the answer
 * is a REPLY whose status is printed. */
static int s_send_bad_admin(const options_t *opt)
{
    peer_t *peer = peer_new(opt->endpoint, "admin");
    if (!peer)
        return 1;
    if (strcmp(opt->bad, "admin-garbage") == 0) {
        zframe_t *frame = zframe_new("VF\x01\x09\0\0\0\x01\xff", 9);
        zframe_send(&frame, peer_sock(peer), 0);
    } else {
        vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
        bool unknown = strcmp(opt->bad, "admin-unknown-verb") == 0;
        snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s",
                 unknown ? "frobnicate" : "hosts");
        if (!unknown) {
            req->u.request.param_count = 1;
            snprintf(req->u.request.params[0].key,
                     sizeof(req->u.request.params[0].key), "colour");
            snprintf(req->u.request.params[0].value,
                     sizeof(req->u.request.params[0].value), "blue");
        }
        peer_send(peer, req);
        vfp_msg_destroy(&req);
    }
    vfp_msg_t *reply = peer_recv(peer, 3000);
    int rc = 1;
    if (reply && reply->id == VFP_REPLY) {
        printf("%s %s\n", vfp_errcode_name(reply->u.reply.status),
               reply->u.reply.error);
        rc = 0;
    } else if (reply && reply->id == VFP_ERROR) {
        printf("ERROR %s %s (request_id %u)\n",
               vfp_errcode_name(reply->u.error.code), reply->u.error.text,
               reply->request_id);
        rc = 0;
    } else {
        printf("no REPLY\n");
    }
    vfp_msg_destroy(&reply);
    peer_destroy(&peer);
    return rc;
}

/* Fills a REQUEST's parameters and body from the options. */
static int s_request_fill(const options_t *opt, vfp_request_t *req)
{
    for (int i = 0; i < opt->param_count; i++) {
        vfp_param_t *p = &req->params[req->param_count++];
        size_t key_len = strcspn(opt->params[i], "=");
        snprintf(p->key, sizeof(p->key), "%.*s", (int)key_len, opt->params[i]);
        snprintf(p->value, sizeof(p->value), "%s",
                 opt->params[i] + key_len + (opt->params[i][key_len] != 0));
    }
    if (!opt->body)
        return 0;
    FILE *f = fopen(opt->body, "rb");
    if (!f) {
        perror(opt->body);
        return -1;
    }
    req->body = calloc(VFP_BODY_MAX + 1, 1);
    size_t n = req->body ? fread(req->body, 1, VFP_BODY_MAX, f) : 0;
    fclose(f);
    req->body_len = (uint32_t)n;
    return 0;
}

static int s_request(const options_t *opt)
{
    peer_t *peer = peer_new(opt->endpoint, "admin");
    if (!peer)
        return 1;
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s",
             opt->request);
    if (s_request_fill(opt, &req->u.request) != 0) {
        vfp_msg_destroy(&req);
        peer_destroy(&peer);
        return 1;
    }
    peer_send(peer, req);
    vfp_msg_destroy(&req);
    vfp_msg_t *reply = peer_recv(peer, 10000);
    int rc = 1;
    if (reply && reply->id == VFP_REPLY && reply->u.reply.status == VFP_OK) {
        printf("%s\n", reply->u.reply.body);
        rc = 0;
    } else if (reply && reply->id == VFP_REPLY) {
        fprintf(stderr, "%s %s\n", vfp_errcode_name(reply->u.reply.status),
                reply->u.reply.error);
        if (reply->u.reply.body)
            fprintf(stderr, "%s\n", reply->u.reply.body);
    } else {
        fprintf(stderr, "vfleet-test-peer: %s: no REPLY\n", opt->request);
    }
    vfp_msg_destroy(&reply);
    peer_destroy(&peer);
    return rc;
}

/* --repeat: the times of answers on one connection, what the admin API
 * takes without a new process's start in them. */
static int s_request_repeat(const options_t *opt)
{
    peer_t *peer = peer_new(opt->endpoint, "admin");
    if (!peer)
        return 1;
    int rc = 0;
    for (uint32_t i = 0; i < opt->repeat && rc == 0 && !zsys_interrupted; i++) {
        vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
        snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s",
                 opt->request);
        rc = s_request_fill(opt, &req->u.request);
        int64_t start = zclock_usecs();
        if (rc == 0)
            rc = peer_send(peer, req) == 0 ? 0 : 1;
        vfp_msg_destroy(&req);
        vfp_msg_t *reply = rc == 0 ? peer_recv(peer, 10000) : NULL;
        if (reply && reply->id == VFP_REPLY) {
            printf("%.1f\n", (double)(zclock_usecs() - start) / 1000.0);
            fflush(stdout);
            zclock_sleep(S_REPEAT_MS);
        } else if (rc == 0) {
            fprintf(stderr, "vfleet-test-peer: %s: no REPLY\n", opt->request);
            rc = 1;
        }
        vfp_msg_destroy(&reply);
    }
    peer_destroy(&peer);
    return rc;
}

/* An ERROR, valid or not decodable, and a frame without a readable header
 * are never answered (PROTOCOL.md 7.6, rules 1 and 2): wait a second for
 * anything at all. */
static int s_send_error_expect_silence(const options_t *opt, bool admin)
{
    peer_t *peer = peer_new(opt->endpoint, admin ? "admin" : opt->host);
    if (!peer)
        return 1;
    if (!admin && peer_hello(peer, 3000) < 0) {
        peer_destroy(&peer);
        return 1;
    }
    if (strstr(opt->bad, "headerless")) {
        zframe_t *frame = zframe_new("VF\x01\x09\0", 5);
        zframe_send(&frame, peer_sock(peer), 0);
    } else if (strstr(opt->bad, "bad-error")) {
        /* ERROR code 99 does not exist: the body does not decode. */
        zframe_t *frame = zframe_new("VF\x01\x08\0\0\0\x05\0\x63\0\x01x", 13);
        zframe_send(&frame, peer_sock(peer), 0);
    } else {
        vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
        error->u.error.code = VFP_ERR_UNEXPECTED;
        snprintf(error->u.error.text, sizeof(error->u.error.text),
                 "what was that?");
        peer_send(peer, error);
        vfp_msg_destroy(&error);
    }
    vfp_msg_t *msg = peer_recv(peer, 1000);
    int rc = msg ? 1 : 0;
    if (msg)
        printf("answered with %s\n", vfp_id_name(msg->id));
    else
        printf("no answer\n");
    vfp_msg_destroy(&msg);
    peer_destroy(&peer);
    return rc;
}

static int s_send_bad(const options_t *opt)
{
    if (strcmp(opt->bad, "error") == 0 || strcmp(opt->bad, "bad-error") == 0 ||
        strcmp(opt->bad, "headerless") == 0)
        return s_send_error_expect_silence(opt, false);
    if (strcmp(opt->bad, "admin-error") == 0 ||
        strcmp(opt->bad, "admin-bad-error") == 0 ||
        strcmp(opt->bad, "admin-headerless") == 0)
        return s_send_error_expect_silence(opt, true);
    if (strncmp(opt->bad, "admin-", 6) == 0)
        return s_send_bad_admin(opt);
    peer_t *peer = peer_new(opt->endpoint, opt->host);
    if (!peer)
        return 1;
    const char *bad = opt->bad;
    int rc = 1;
    if (strcmp(bad, "version") == 0 || strcmp(bad, "hello") == 0) {
        if (strcmp(bad, "hello") == 0)
            peer_send_hello(peer, VFP_VERSION_MIN, VFP_VERSION);
        else
            peer_send_hello(peer, VFP_VERSION + 1, VFP_VERSION + 3);
        rc = s_print_error(peer);
        peer_destroy(&peer);
        return rc;
    }
    if (strcmp(bad, "garbage") == 0 || strcmp(bad, "truncated") == 0) {
        /* garbage: an unknown msg_id; truncated: a HEARTBEAT, request id
         * 4242, that ends after one byte of its body. */
        bool garbage = strcmp(bad, "garbage") == 0;
        zframe_t *frame = garbage ? zframe_new("VF\x01\x63garbage", 11)
                                  : zframe_new("VF\x01\x05\0\0\x10\x92\0", 9);
        zframe_send(&frame, peer_sock(peer), 0);
        rc = s_print_error(peer);
        peer_destroy(&peer);
        return rc;
    }
    if (strcmp(bad, "no-hello") != 0 && peer_hello(peer, 3000) < 0) {
        fprintf(stderr, "vfleet-test-peer: no WELCOME\n");
        peer_destroy(&peer);
        return 1;
    }
    vfp_msg_t *msg = peer_inventory_new(opt->host, 1, opt->pfs, opt->vfs, 0);
    vfp_inventory_t *inv = &msg->u.inventory;
    if (strcmp(bad, "num-vfs") == 0) {
        rc = s_send_patched_num_vfs(peer, msg);
        vfp_msg_destroy(&msg);
        peer_destroy(&peer);
        return rc;
    } else if (strcmp(bad, "too-many-vfs") == 0) {
        inv->pfs[0].num_vfs = (uint16_t)(inv->pfs[0].vf_count - 1);
    } else if (strcmp(bad, "wrong-host") == 0) {
        snprintf(inv->host.hostname, sizeof(inv->host.hostname), "%s-other",
                 opt->host);
    } else if (strcmp(bad, "stale-delta") == 0) {
        vfp_msg_t *delta = vfp_msg_new(VFP_INVENTORY_DELTA);
        delta->u.delta.base_generation = 424242;
        delta->u.delta.generation = 424243;
        vfp_msg_destroy(&msg);
        msg = delta;
    } else if (strcmp(bad, "unexpected") == 0) {
        vfp_msg_t *welcome = vfp_msg_new(VFP_WELCOME);
        welcome->u.welcome.proto_version = VFP_VERSION;
        welcome->u.welcome.heartbeat_ms = 1000;
        vfp_msg_destroy(&msg);
        msg = welcome;
    } else if (strcmp(bad, "no-hello") != 0) {
        fprintf(stderr, "vfleet-test-peer: unknown --send-bad %s\n", bad);
        vfp_msg_destroy(&msg);
        peer_destroy(&peer);
        return 2;
    }
    if (peer_send(peer, msg) == 0)
        rc = s_print_error(peer);
    vfp_msg_destroy(&msg);
    peer_destroy(&peer);
    return rc;
}

static int s_send_inventory(const options_t *opt, sim_t *sim, json_t *dump)
{
    vfp_msg_t *msg =
        peer_inventory_new(peer_hostname(sim->peer), sim->generation, opt->pfs,
                           opt->vfs, sim->variant);
    int rc = peer_send(sim->peer, msg);
    if (rc == 0 && dump) {
        json_t *vfs = peer_inventory_vfs_json(msg);
        json_array_extend(dump, vfs);
        json_decref(vfs);
    }
    vfp_msg_destroy(&msg);
    return rc;
}

static int s_hello_all(sim_t *sims, int count)
{
    for (int i = 0; i < count; i++) {
        if (peer_hello(sims[i].peer, 5000) < 0) {
            fprintf(stderr, "vfleet-test-peer: %s: no WELCOME\n",
                    peer_hostname(sims[i].peer));
            return -1;
        }
    }
    return 0;
}

/* Sends the first inventory and its updates of a welcomed host. */
static int s_start(const options_t *opt, sim_t *sim, int interval, json_t *dump)
{
    sim->welcomed = true;
    for (uint32_t u = 0; u <= opt->updates; u++) {
        sim->generation = 1 + u;
        sim->variant = u;
        if (s_send_inventory(opt, sim, u == opt->updates ? dump : NULL) != 0)
            return -1;
    }
    sim->next_beat = zclock_mono() + interval;
    return 0;
}

/* Says HELLO again for hosts the controller could not register. */
static void s_retry_hellos(const options_t *opt, sim_t *sims, int *interval)
{
    for (int i = 0; i < opt->count; i++) {
        if (sims[i].welcomed || zclock_mono() < sims[i].next_hello)
            continue;
        int answer = peer_hello(sims[i].peer, 1000);
        if (answer >= 0) {
            *interval = answer;
            s_start(opt, &sims[i], answer, NULL);
        } else {
            sims[i].next_hello = zclock_mono() + S_HELLO_RETRY_MS;
        }
    }
}

static int s_flood(const options_t *opt)
{
    peer_t *peer = peer_new(opt->endpoint, opt->host);
    if (peer_hello(peer, 5000) < 0) {
        fprintf(stderr, "vfleet-test-peer: %s: no WELCOME\n", opt->host);
        peer_destroy(&peer);
        return 1;
    }
    zsock_set_sndhwm(peer_sock(peer), 4);
    for (uint32_t i = 1; i <= opt->flood && !zsys_interrupted; i++) {
        vfp_msg_t *msg =
            peer_inventory_new(opt->host, i, opt->pfs, opt->vfs, i);
        int rc = peer_send(peer, msg);
        vfp_msg_destroy(&msg);
        if (rc != 0)
            break;
    }
    peer_destroy(&peer);
    return 0;
}

static int s_run(const options_t *opt)
{
    sim_t *sims = calloc((size_t)opt->count, sizeof(*sims));
    assert(sims);
    int rc = 1;
    int interval = 1000;
    zpoller_t *poller = zpoller_new(NULL);
    json_t *dump = opt->dump ? json_array() : NULL;
    for (int i = 0; i < opt->count; i++) {
        char name[VFP_HOSTNAME_MAX + 1];
        if (opt->count == 1)
            snprintf(name, sizeof(name), "%s", opt->host);
        else
            snprintf(name, sizeof(name), "%s-%d", opt->host, i);
        sims[i].peer = peer_new(opt->endpoint, name);
        if (!sims[i].peer)
            goto done;
        zpoller_add(poller, peer_sock(sims[i].peer));
        peer_send_hello(sims[i].peer, VFP_VERSION_MIN, VFP_VERSION);
    }
    /* All HELLOs go out before any answer is awaited, so that no host
     * waits in silence while the others join. */
    for (int i = 0; i < opt->count; i++) {
        const char *name = peer_hostname(sims[i].peer);
        int answer = peer_wait_welcome(sims[i].peer, 5000);
        if (answer >= 0)
            interval = answer;
        else
            fprintf(stderr, "vfleet-test-peer: %s: no WELCOME yet\n", name);
        sims[i].next_hello = zclock_mono() + S_HELLO_RETRY_MS;
        sims[i].welcomed = answer >= 0;
    }
    for (int i = 0; i < opt->count; i++) {
        if (sims[i].welcomed && s_start(opt, &sims[i], interval, dump) != 0)
            goto done;
    }
    if (dump) {
        json_t *doc = json_pack("{s:o}", "vfs", dump);
        int dumped = json_dump_file(doc, opt->dump, JSON_INDENT(1));
        json_decref(doc);
        if (dumped != 0)
            goto done;
    }
    while (!zsys_interrupted) {
        void *which = zpoller_wait(poller, interval / 4 + 1);
        for (int i = 0; which && i < opt->count; i++) {
            if (peer_sock(sims[i].peer) != which)
                continue;
            vfp_msg_t *msg = peer_recv(sims[i].peer, 0);
            if (msg && msg->id == VFP_ERROR) {
                /* The controller restarted or lost track: start over. A
                 * HELLO that goes unanswered is retried on the next
                 * NOT_WELCOME. */
                bool welcomed = msg->u.error.code == VFP_ERR_NOT_WELCOME &&
                                s_hello_all(&sims[i], 1) == 0;
                if (msg->u.error.code == VFP_ERR_NOT_WELCOME && !welcomed)
                    sims[i].welcomed = false;
                if (welcomed || msg->u.error.code == VFP_ERR_RESYNC)
                    s_send_inventory(opt, &sims[i], NULL);
            }
            vfp_msg_destroy(&msg);
        }
        s_retry_hellos(opt, sims, &interval);
        int64_t now = zclock_mono();
        for (int i = 0; i < opt->count; i++) {
            if (!sims[i].welcomed || now < sims[i].next_beat)
                continue;
            vfp_msg_t *beat = vfp_msg_new(VFP_HEARTBEAT);
            beat->u.heartbeat.generation = sims[i].generation;
            peer_send(sims[i].peer, beat);
            vfp_msg_destroy(&beat);
            sims[i].next_beat = now + interval;
        }
    }
    rc = 0;
done:
    zpoller_destroy(&poller);
    for (int i = 0; i < opt->count; i++)
        peer_destroy(&sims[i].peer);
    free(sims);
    return rc;
}

/* --key (or --key-dir) and --controller-key: the certificates the peers
 * use; key NULL loads only the controller's. */
static int s_load_keys(const char *key, const char *controller_key,
                       zcert_t **cert, zcert_t **server)
{
    char err[1024];
    if (!controller_key)
        snprintf(err, sizeof(err), "--key and --key-dir need --controller-key");
    else if (!key || (*cert = vfp_keys_load_secret(key, err, sizeof(err))))
        *server = vfp_keys_load_public(controller_key, err, sizeof(err));
    if (*server)
        return 0;
    fprintf(stderr, "vfleet-test-peer: %s\n", err);
    zcert_destroy(cert);
    return -1;
}

static int s_main(const options_t *opt)
{
    if (opt->request && opt->repeat)
        return s_request_repeat(opt);
    if (opt->request)
        return s_request(opt);
    if (opt->flood)
        return s_flood(opt);
    return opt->bad ? s_send_bad(opt) : s_run(opt);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"controller", required_argument, NULL, 'c'},
        {"host", required_argument, NULL, 'H'},
        {"count", required_argument, NULL, 'n'},
        {"pfs", required_argument, NULL, 'p'},
        {"vfs", required_argument, NULL, 'v'},
        {"updates", required_argument, NULL, 'u'},
        {"dump", required_argument, NULL, 'd'},
        {"send-bad", required_argument, NULL, 'b'},
        {"request", required_argument, NULL, 'r'},
        {"param", required_argument, NULL, 'P'},
        {"body", required_argument, NULL, 'B'},
        {"flood", required_argument, NULL, 'f'},
        {"repeat", required_argument, NULL, 'R'},
        {"key", required_argument, NULL, 'k'},
        {"controller-key", required_argument, NULL, 'K'},
        {"key-dir", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    options_t opt = {.endpoint = "tcp://127.0.0.1:7450",
                     .host = "peer",
                     .count = 1,
                     .pfs = 2,
                     .vfs = 4};
    const char *key = NULL, *controller_key = NULL, *key_dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            opt.endpoint = optarg;
            break;
        case 'H':
            opt.host = optarg;
            break;
        case 'n':
            opt.count = atoi(optarg);
            break;
        case 'p':
            opt.pfs = (uint32_t)atoi(optarg);
            break;
        case 'v':
            opt.vfs = (uint32_t)atoi(optarg);
            break;
        case 'u':
            opt.updates = (uint32_t)atoi(optarg);
            break;
        case 'd':
            opt.dump = optarg;
            break;
        case 'b':
            opt.bad = optarg;
            break;
        case 'r':
            opt.request = optarg;
            break;
        case 'P':
            if (opt.param_count < 32)
                opt.params[opt.param_count++] = optarg;
            break;
        case 'B':
            opt.body = optarg;
            break;
        case 'f':
            opt.flood = (uint32_t)atoi(optarg);
            break;
        case 'R':
            opt.repeat = (uint32_t)atoi(optarg);
            break;
        case 'k':
            key = optarg;
            break;
        case 'K':
            controller_key = optarg;
            break;
        case 'D':
            key_dir = optarg;
            break;
        default:
            fprintf(stderr, "usage: see the comment in peer_main.c\n");
            return 2;
        }
    }
    if (opt.count < 1 || opt.pfs < 1 || opt.pfs > 64 || opt.vfs < 2 ||
        opt.vfs > 128) {
        fprintf(stderr, "vfleet-test-peer: --count >= 1, --pfs 1..64, --vfs "
                        "2..128\n");
        return 2;
    }
    zsys_init();
    zcert_t *cert = NULL, *server = NULL;
    if ((key || key_dir) &&
        s_load_keys(key, controller_key, &cert, &server) != 0)
        return 2;
    if (key_dir && !key)
        peer_use_key_dir(key_dir, server);
    else
        peer_use_keys(cert, server);
    int rc = s_main(&opt);
    zcert_destroy(&cert);
    zcert_destroy(&server);
    return rc;
}
