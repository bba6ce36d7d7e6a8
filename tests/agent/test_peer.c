/* test_peer.c - a minimal controller endpoint for agent integration tests.
 *
 * Binds a ROUTER, answers HELLO with WELCOME and prints one line per
 * message it receives on stdout ("<ms> HELLO hostname=..."); every
 * INVENTORY and INVENTORY_DELTA is also written as JSON (the agent's own
 * --discover --json layout) to DIR/<seq>-<ID>.json so a test can compare
 * it with what discovery prints. It speaks the protocol only through the
 * real codec. Options make it misbehave on purpose:
 *   --garbage             after WELCOME, send a frame that does not decode,
 *                         an unexpected INVENTORY and an APPLY
 *   --resync-first-delta  answer the first delta with ERROR RESYNC
 *   --mute                answer nothing, not even HELLO
 * SIGHUP restarts it in place: the socket closes, every session is
 * forgotten, and it binds again half a second later, as a restarted
 * controller would. It stops on SIGTERM/SIGINT. */
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_print.h"
#include "vfp.h"
#include "vfp_transport.h"

typedef struct {
    const char *endpoint;
    const char *dir;
    uint32_t heartbeat_ms;
    bool garbage;
    bool resync_first_delta;
    bool resync_sent;
    bool mute;
    unsigned seq;
    int64_t start;
    zsock_t *router;
} s_peer_t;

static volatile sig_atomic_t s_restart;

static void s_on_hup(int sig)
{
    s_restart = 1;
}

static void s_dump(s_peer_t *self, const vfp_msg_t *msg)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%03u-%s.json", self->dir, ++self->seq,
             vfp_id_name(msg->id));
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    out_t *out = out_new(f, true);
    if (msg->id == VFP_INVENTORY)
        inventory_print(out, &msg->u.inventory, NULL);
    else {
        const vfp_inventory_delta_t *d = &msg->u.delta;
        vfp_inventory_t view = {.generation = d->generation,
                                .host = d->host,
                                .pf_count = d->pf_count,
                                .pfs = d->pfs};
        inventory_print(out, &view, NULL);
    }
    out_destroy(&out);
    fclose(f);
}

static void s_reply(s_peer_t *self, zframe_t *to, vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    if (vfp_send(self->router, to, msg, &err))
        fprintf(stderr, "test_peer: send %s failed: %s %s\n",
                vfp_id_name(msg->id), err.field, err.text);
    vfp_msg_destroy(&msg);
}

static void s_error(s_peer_t *self, zframe_t *to, uint32_t request_id,
                    vfp_errcode_t code, const char *text)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_ERROR);
    msg->request_id = request_id;
    msg->u.error.code = (uint16_t)code;
    snprintf(msg->u.error.text, sizeof(msg->u.error.text), "%s", text);
    s_reply(self, to, msg);
}

static void s_misbehave(s_peer_t *self, zframe_t *to)
{
    zmsg_t *raw = zmsg_new();
    zmsg_append(raw, &(zframe_t *){zframe_dup(to)});
    zmsg_addstr(raw, "this is not a vfp message");
    zmsg_send(&raw, self->router);

    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY);
    snprintf(msg->u.inventory.host.hostname,
             sizeof(msg->u.inventory.host.hostname), "not-the-agent");
    s_reply(self, to, msg);

    msg = vfp_msg_new(VFP_APPLY);
    msg->u.apply.revision = 7;
    s_reply(self, to, msg);
}

static void s_on_message(s_peer_t *self, zframe_t *from, vfp_msg_t *msg,
                         bool *welcomed)
{
    int64_t t = zclock_mono() - self->start;
    switch (msg->id) {
    case VFP_HELLO: {
        printf("%" PRId64 " HELLO hostname=%s agent=%s proto=%u..%u\n", t,
               msg->u.hello.hostname, msg->u.hello.agent_version,
               msg->u.hello.proto_min, msg->u.hello.proto_max);
        if (self->mute)
            break;
        vfp_msg_t *welcome = vfp_msg_new(VFP_WELCOME);
        welcome->request_id = msg->request_id;
        welcome->u.welcome.proto_version = VFP_VERSION;
        welcome->u.welcome.heartbeat_ms = self->heartbeat_ms;
        snprintf(welcome->u.welcome.controller_id,
                 sizeof(welcome->u.welcome.controller_id), "test-peer");
        s_reply(self, from, welcome);
        *welcomed = true;
        if (self->garbage)
            s_misbehave(self, from);
        break;
    }
    case VFP_INVENTORY:
        s_dump(self, msg);
        printf("%" PRId64 " INVENTORY generation=%" PRIu64
               " pfs=%u file=%03u\n",
               t, msg->u.inventory.generation, msg->u.inventory.pf_count,
               self->seq);
        break;
    case VFP_INVENTORY_DELTA:
        s_dump(self, msg);
        printf("%" PRId64 " INVENTORY_DELTA base=%" PRIu64
               " generation=%" PRIu64 " host=%d pfs=%u removed=%u file=%03u\n",
               t, msg->u.delta.base_generation, msg->u.delta.generation,
               msg->u.delta.has_host, msg->u.delta.pf_count,
               msg->u.delta.removed_count, self->seq);
        if (self->resync_first_delta && !self->resync_sent) {
            self->resync_sent = true;
            s_error(self, from, msg->request_id, VFP_ERR_RESYNC,
                    "test peer asks for a full inventory");
        }
        break;
    case VFP_HEARTBEAT:
        printf("%" PRId64 " HEARTBEAT generation=%" PRIu64 "\n", t,
               msg->u.heartbeat.generation);
        break;
    default:
        printf("%" PRId64 " %s\n", t, vfp_id_name(msg->id));
        break;
    }
    fflush(stdout);
}

static int s_bind(s_peer_t *self)
{
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router || zsock_bind(self->router, "%s", self->endpoint) < 0) {
        fprintf(stderr, "test_peer: cannot bind %s\n", self->endpoint);
        zsock_destroy(&self->router);
        return -1;
    }
    zsock_set_rcvtimeo(self->router, 100);
    printf("%" PRId64 " LISTENING %s\n", zclock_mono() - self->start,
           self->endpoint);
    fflush(stdout);
    return 0;
}

static int s_run(s_peer_t *self)
{
    self->start = zclock_mono();
    if (s_bind(self))
        return 1;
    /* Routing ids of agents that said HELLO; others get NOT_WELCOME. */
    zhashx_t *welcomed = zhashx_new();
    while (!zsys_interrupted) {
        if (s_restart) {
            s_restart = 0;
            zsock_destroy(&self->router);
            zhashx_purge(welcomed);
            printf("%" PRId64 " RESTARTING\n", zclock_mono() - self->start);
            fflush(stdout);
            zclock_sleep(500);
            if (s_bind(self))
                break;
        }
        zframe_t *from = NULL;
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_recv(self->router, &from, &err);
        if (!msg) {
            if (err.code != VFP_OK)
                printf("%" PRId64 " MALFORMED %s: %s\n",
                       zclock_mono() - self->start, err.field, err.text);
            zframe_destroy(&from);
            continue;
        }
        char *key = zframe_strhex(from);
        bool known = zhashx_lookup(welcomed, key) != NULL;
        if (!known && msg->id != VFP_HELLO && !self->mute) {
            s_error(self, from, msg->request_id, VFP_ERR_NOT_WELCOME,
                    "send HELLO first");
        } else {
            bool now_welcomed = known;
            s_on_message(self, from, msg, &now_welcomed);
            if (now_welcomed && !known)
                zhashx_insert(welcomed, key, (void *)1);
        }
        free(key);
        zframe_destroy(&from);
        vfp_msg_destroy(&msg);
    }
    zhashx_destroy(&welcomed);
    int rc = self->router ? 0 : 1;
    zsock_destroy(&self->router);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"bind", required_argument, NULL, 'b'},
        {"dir", required_argument, NULL, 'd'},
        {"heartbeat-ms", required_argument, NULL, 'h'},
        {"garbage", no_argument, NULL, 'g'},
        {"resync-first-delta", no_argument, NULL, 'r'},
        {"mute", no_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    s_peer_t self = {.heartbeat_ms = 2000};
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            self.endpoint = optarg;
            break;
        case 'd':
            self.dir = optarg;
            break;
        case 'h':
            self.heartbeat_ms = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'g':
            self.garbage = true;
            break;
        case 'r':
            self.resync_first_delta = true;
            break;
        case 'm':
            self.mute = true;
            break;
        default:
            fprintf(stderr, "usage: test_peer --bind ENDPOINT --dir DIR "
                            "[--heartbeat-ms N] [--garbage] "
                            "[--resync-first-delta] [--mute]\n");
            return 2;
        }
    }
    if (!self.endpoint || !self.dir) {
        fprintf(stderr, "test_peer: --bind and --dir are required\n");
        return 2;
    }
    zsys_init();
    struct sigaction hup = {.sa_handler = s_on_hup};
    sigaction(SIGHUP, &hup, NULL);
    return s_run(&self);
}
