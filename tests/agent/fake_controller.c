/* fake_controller.c - a minimal controller endpoint for agent integration
 * tests.
 *
 * Binds a ROUTER, answers HELLO with WELCOME and prints one line per
 * message it receives on stdout ("<ms> HELLO hostname=..."); every
 * INVENTORY and INVENTORY_DELTA is also written as JSON (the agent's own
 * --discover --json layout) to DIR/<seq>-<ID>.json so a test can compare
 * it with what discovery prints. It speaks the protocol only through the
 * real codec. Options make it misbehave on purpose:
 *   --garbage             after WELCOME, send a frame that does not decode,
 *                         an unexpected INVENTORY and an empty APPLY
 *                         (revision 7)
 *   --resync-first-delta  answer the first delta with ERROR RESYNC
 *   --mute                answer nothing, not even HELLO
 *   --errors              send ERROR before WELCOME, then after it one
 *                         ERROR of every code that asks the agent for
 *                         nothing (all but VERSION, NOT_WELCOME, RESYNC,
 *                         DENIED),
 *                         with odd request ids and texts
 *   --error-flood N       after WELCOME, send N ERROR INVALID at once
 * and one makes it a controller that has something to say:
 *   --apply FILE          after the first INVENTORY, send the APPLY that
 *                         FILE describes (repeatable: sent in order, the
 *                         n-th with request_id 1000 + n); the answers are
 *                         printed, APPLY_RESULTs also dumped as JSON
 * FILE holds one item a line: "revision N", "pf ADDR NUM_VFS",
 * "vf ADDR INDEX [mac M] [vlan V] [qos Q] [proto 802.1Q|802.1ad]
 * [spoofchk on|off] [trust on|off] [link auto|enable|disable]
 * [min_rate N] [max_rate N] [mtu N]", "hugepages SIZE_KB PAGES".
 *   --show-apply FILE     decode FILE (an encoded vfp APPLY, as the agent
 *                         stores it) and print it in that same form
 *   --keys DIR            a CURVE server with DIR/controller.key_secret, the
 *                         pair `vfleetctl keys init` made there; without it
 *                         plaintext (agents run with --insecure)
 * With --keys it runs no zauth: any CURVE client whose handshake succeeds
 * (one that trusts this pair) is accepted, whatever its key. The agent's
 * side of CURVE is what these tests check; which keys are authorised is
 * the real controller's part (tests/controller/curve_test.py).
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
#include "output.h"
#include "vfp.h"
#include "vfp_keys.h"
#include "vfp_transport.h"

#define S_APPLY_FILES_MAX 8

typedef struct {
    const char *endpoint;
    const char *dir;
    uint32_t heartbeat_ms;
    bool garbage;
    bool resync_first_delta;
    bool resync_sent;
    bool mute;
    bool errors;
    unsigned error_flood;
    const char *apply_files[S_APPLY_FILES_MAX];
    unsigned apply_count;
    bool applies_sent;
    unsigned seq;
    int64_t start;
    zcert_t *cert; /* --keys: the CURVE server's pair */
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
    output_t *out = output_new(f, true);
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
    output_destroy(&out);
    fclose(f);
}

static void s_reply(s_peer_t *self, zframe_t *to, vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    if (vfp_send(self->router, to, msg, &err))
        fprintf(stderr, "fake_controller: send %s failed: %s %s\n",
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

/* ERRORs the agent must never answer (PROTOCOL.md 7.6). */
static void s_send_errors(s_peer_t *self, zframe_t *to)
{
    static const vfp_errcode_t codes[] = {
        VFP_ERR_MALFORMED,    VFP_ERR_UNEXPECTED, VFP_ERR_INVALID,
        VFP_ERR_NOT_FOUND,    VFP_ERR_CONFLICT,   VFP_ERR_INTERNAL,
        VFP_ERR_UNKNOWN_VERB,
    };
    static const uint32_t ids[] = {0, 1, 7, UINT32_MAX};
    char text[VFP_TEXT_MAX + 1];
    memset(text, 'e', VFP_TEXT_MAX);
    text[VFP_TEXT_MAX] = '\0';
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        s_error(self, to, ids[i % 4], codes[i], i % 2 ? text : "");
}

/* ---- APPLY as text ------------------------------------------------------ */

/* Keys past those of the first APPLYs: VLAN protocol, link state, rates,
 * MTU. Returns 0, or -1 for an unknown key. */
static int s_parse_vf_more(const char *key, const char *value,
                           vfp_apply_vf_t *vf)
{
    unsigned long v = strtoul(value, NULL, 10);
    if (!strcmp(key, "proto")) {
        vf->vlan_proto = !strcmp(value, "802.1ad") ? VFP_VLAN_PROTO_8021AD
                                                   : VFP_VLAN_PROTO_8021Q;
        vf->set |= VFP_SET_VLAN;
    } else if (!strcmp(key, "link")) {
        vf->link_state = !strcmp(value, "enable")    ? VFP_LINK_ENABLE
                         : !strcmp(value, "disable") ? VFP_LINK_DISABLE
                                                     : VFP_LINK_AUTO;
        vf->set |= VFP_SET_LINK_STATE;
    } else if (!strcmp(key, "min_rate") || !strcmp(key, "max_rate")) {
        if (key[1] == 'i')
            vf->min_tx_rate = (uint32_t)v;
        else
            vf->max_tx_rate = (uint32_t)v;
        vf->set |= VFP_SET_RATE;
    } else if (!strcmp(key, "mtu")) {
        vf->mtu = (uint16_t)v;
        vf->set |= VFP_SET_MTU;
    } else
        return -1;
    return 0;
}

static int s_parse_vf(char *rest, vfp_apply_vf_t *vf)
{
    char *key, *value, *save = NULL;
    if (sscanf(rest, "%32s %hu", vf->pf, &vf->index) != 2)
        return -1;
    strtok_r(rest, " ", &save);
    strtok_r(NULL, " ", &save);
    while ((key = strtok_r(NULL, " ", &save))) {
        if (!(value = strtok_r(NULL, " ", &save)))
            return -1;
        if (!strcmp(key, "mac")) {
            if (vfp_mac_parse(value, vf->mac))
                return -1;
            vf->set |= VFP_SET_MAC;
        } else if (!strcmp(key, "vlan") || !strcmp(key, "qos")) {
            unsigned long v = strtoul(value, NULL, 10);
            if (key[0] == 'v')
                vf->vlan = (uint16_t)v;
            else
                vf->qos = (uint8_t)v;
            if (!vf->vlan_proto)
                vf->vlan_proto = VFP_VLAN_PROTO_8021Q;
            vf->set |= VFP_SET_VLAN;
        } else if (!strcmp(key, "spoofchk") || !strcmp(key, "trust")) {
            vfp_flag_t flag = !strcmp(value, "on") ? VFP_ON : VFP_OFF;
            if (key[0] == 's') {
                vf->spoofchk = flag;
                vf->set |= VFP_SET_SPOOFCHK;
            } else {
                vf->trust = flag;
                vf->set |= VFP_SET_TRUST;
            }
        } else if (s_parse_vf_more(key, value, vf))
            return -1;
    }
    return 0;
}

/* --keys DIR: the controller's secret certificate in DIR; exits when it
 * cannot be read (a test bug). */
static zcert_t *s_load_cert(const char *dir)
{
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/%s%s", dir, VFP_KEYS_CONTROLLER,
             VFP_KEYS_SECRET_SUFFIX);
    zcert_t *cert = vfp_keys_load_secret(path, err, sizeof(err));
    if (!cert) {
        fprintf(stderr, "fake_controller: %s\n", err);
        exit(2);
    }
    return cert;
}

/* Reads an APPLY described as text; exits on a bad file (a test bug). */
static vfp_msg_t *s_read_apply(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY);
    vfp_apply_t *a = &msg->u.apply;
    a->pfs = calloc(VFP_PFS_MAX, sizeof(*a->pfs));
    a->vfs = calloc(256, sizeof(*a->vfs));
    char line[512];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        unsigned long long revision, pages;
        unsigned size_kb;
        int ok = 0;
        if (sscanf(line, "revision %llu", &revision) == 1) {
            a->revision = revision;
            ok = 1;
        } else if (!strncmp(line, "pf ", 3) && a->pf_count < VFP_PFS_MAX) {
            vfp_apply_pf_t *pf = &a->pfs[a->pf_count++];
            ok = sscanf(line + 3, "%32s %hu", pf->pf, &pf->num_vfs) == 2;
        } else if (!strncmp(line, "vf ", 3) && a->vf_count < 256)
            ok = !s_parse_vf(line + 3, &a->vfs[a->vf_count++]);
        else if (sscanf(line, "hugepages %u %llu", &size_kb, &pages) == 2 &&
                 a->hugepage_count < VFP_HUGEPAGES_MAX) {
            a->hugepages[a->hugepage_count].size_kb = size_kb;
            a->hugepages[a->hugepage_count++].pages = pages;
            ok = 1;
        }
        if (!ok) {
            fprintf(stderr, "fake_controller: %s:%u: cannot read '%s'\n", path,
                    lineno, line);
            exit(2);
        }
    }
    fclose(f);
    return msg;
}

static void s_print_apply(const vfp_apply_t *a)
{
    char mac[18];
    printf("revision %" PRIu64 "\n", a->revision);
    for (uint32_t i = 0; i < a->pf_count; i++)
        printf("pf %s %u\n", a->pfs[i].pf, a->pfs[i].num_vfs);
    for (uint32_t i = 0; i < a->vf_count; i++) {
        const vfp_apply_vf_t *vf = &a->vfs[i];
        printf("vf %s %u", vf->pf, vf->index);
        if (vf->set & VFP_SET_MAC)
            printf(" mac %s", vfp_mac_format(vf->mac, mac));
        if (vf->set & VFP_SET_VLAN)
            printf(" vlan %u qos %u%s", vf->vlan, vf->qos,
                   vf->vlan_proto == VFP_VLAN_PROTO_8021AD ? " proto 802.1ad"
                                                           : "");
        if (vf->set & VFP_SET_SPOOFCHK)
            printf(" spoofchk %s", vfp_flag_name(vf->spoofchk));
        if (vf->set & VFP_SET_TRUST)
            printf(" trust %s", vfp_flag_name(vf->trust));
        if (vf->set & VFP_SET_LINK_STATE)
            printf(" link %s", vfp_link_state_name(vf->link_state));
        if (vf->set & VFP_SET_RATE)
            printf(" min_rate %u max_rate %u", vf->min_tx_rate,
                   vf->max_tx_rate);
        if (vf->set & VFP_SET_MTU)
            printf(" mtu %u", vf->mtu);
        printf("\n");
    }
    for (uint32_t i = 0; i < a->hugepage_count; i++)
        printf("hugepages %u %" PRIu64 "\n", a->hugepages[i].size_kb,
               a->hugepages[i].pages);
}

/* Decodes an encoded APPLY file with the real codec and prints it. */
static int s_show_apply(const char *path)
{
    zfile_t *file = zfile_new(NULL, path);
    zchunk_t *chunk = file && zfile_input(file) == 0
                          ? zfile_read(file, VFP_MSG_MAX, 0)
                          : NULL;
    zfile_destroy(&file);
    if (!chunk) {
        fprintf(stderr, "fake_controller: cannot read %s\n", path);
        return 1;
    }
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_decode(zchunk_data(chunk), zchunk_size(chunk), &err);
    zchunk_destroy(&chunk);
    if (!msg || msg->id != VFP_APPLY) {
        fprintf(stderr, "fake_controller: %s: not an APPLY: %s: %s\n", path,
                msg ? vfp_id_name(msg->id) : err.field, msg ? "" : err.text);
        vfp_msg_destroy(&msg);
        return 1;
    }
    s_print_apply(&msg->u.apply);
    vfp_msg_destroy(&msg);
    return 0;
}

static void s_dump_results(s_peer_t *self, const vfp_apply_result_t *r)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%03u-APPLY_RESULT.json", self->dir,
             ++self->seq);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    output_t *out = output_new(f, true);
    output_open_object(out, NULL);
    output_uint(out, OUTPUT_JSON, "revision", NULL, r->revision);
    output_open_array(out, "results");
    for (uint32_t i = 0; i < r->result_count; i++) {
        output_open_object(out, NULL);
        output_uint(out, OUTPUT_JSON, "kind", NULL, r->results[i].kind);
        output_string(out, OUTPUT_JSON, "pf", NULL, r->results[i].pf);
        output_uint(out, OUTPUT_JSON, "index", NULL, r->results[i].index);
        output_string(out, OUTPUT_JSON, "attribute", NULL,
                      r->results[i].attribute);
        output_int(out, OUTPUT_JSON, "err", NULL, r->results[i].err);
        output_string(out, OUTPUT_JSON, "message", NULL, r->results[i].message);
        output_close_object(out);
    }
    output_close_array(out);
    output_close_object(out);
    output_destroy(&out);
    fclose(f);
}

static void s_send_applies(s_peer_t *self, zframe_t *to)
{
    self->applies_sent = true;
    for (unsigned i = 0; i < self->apply_count; i++) {
        vfp_msg_t *msg = s_read_apply(self->apply_files[i]);
        msg->request_id = 1000 + i;
        printf("%" PRId64 " SENT_APPLY revision=%" PRIu64 " request_id=%u\n",
               zclock_mono() - self->start, msg->u.apply.revision,
               msg->request_id);
        s_reply(self, to, msg);
    }
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
        if (self->errors)
            s_error(self, from, msg->request_id, VFP_ERR_UNEXPECTED,
                    "test peer: an ERROR before WELCOME");
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
        if (self->errors)
            s_send_errors(self, from);
        for (unsigned i = 0; i < self->error_flood; i++)
            s_error(self, from, i, VFP_ERR_INVALID, "test peer: flood");
        break;
    }
    case VFP_INVENTORY:
        s_dump(self, msg);
        printf("%" PRId64 " INVENTORY generation=%" PRIu64
               " pfs=%u file=%03u\n",
               t, msg->u.inventory.generation, msg->u.inventory.pf_count,
               self->seq);
        if (!self->applies_sent && self->apply_count)
            s_send_applies(self, from);
        break;
    case VFP_APPLY_RESULT: {
        const vfp_apply_result_t *r = &msg->u.apply_result;
        uint32_t failed = 0;
        for (uint32_t i = 0; i < r->result_count; i++)
            failed += r->results[i].err != 0;
        s_dump_results(self, r);
        printf("%" PRId64 " APPLY_RESULT revision=%" PRIu64
               " request_id=%u results=%u failed=%u file=%03u\n",
               t, r->revision, msg->request_id, r->result_count, failed,
               self->seq);
        break;
    }
    case VFP_ERROR:
        printf("%" PRId64 " ERROR code=%s request_id=%u\n", t,
               vfp_errcode_name(msg->u.error.code), msg->request_id);
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
        printf("%" PRId64 " HEARTBEAT generation=%" PRIu64 " applied=%" PRIu64
               "\n",
               t, msg->u.heartbeat.generation,
               msg->u.heartbeat.applied_revision);
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
    if (self->router && self->cert)
        vfp_keys_apply_server(self->router, self->cert);
    if (!self->router || zsock_bind(self->router, "%s", self->endpoint) < 0) {
        fprintf(stderr, "fake_controller: cannot bind %s\n", self->endpoint);
        zsock_destroy(&self->router);
        return -1;
    }
    zsock_set_rcvtimeo(self->router, 100);
    printf("%" PRId64 " LISTENING %s %s\n", zclock_mono() - self->start,
           self->endpoint, self->cert ? "curve" : "plaintext");
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
        {"errors", no_argument, NULL, 'e'},
        {"error-flood", required_argument, NULL, 'f'},
        {"apply", required_argument, NULL, 'a'},
        {"show-apply", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    s_peer_t self = {.heartbeat_ms = 2000};
    const char *keys_dir = NULL;
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
        case 'e':
            self.errors = true;
            break;
        case 'f':
            self.error_flood = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'a':
            if (self.apply_count == S_APPLY_FILES_MAX) {
                fprintf(stderr, "fake_controller: at most %d --apply\n",
                        S_APPLY_FILES_MAX);
                return 2;
            }
            self.apply_files[self.apply_count++] = optarg;
            break;
        case 's':
            return s_show_apply(optarg);
        case 'k':
            keys_dir = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: fake_controller --bind ENDPOINT --dir DIR "
                    "[--heartbeat-ms N] [--garbage] "
                    "[--resync-first-delta] [--mute] [--errors] "
                    "[--error-flood N] "
                    "[--apply FILE]... [--keys DIR] | --show-apply FILE\n");
            return 2;
        }
    }
    if (!self.endpoint || !self.dir) {
        fprintf(stderr, "fake_controller: --bind and --dir are required\n");
        return 2;
    }
    zsys_init();
    if (keys_dir)
        self.cert = s_load_cert(keys_dir);
    struct sigaction hup = {.sa_handler = s_on_hup};
    sigaction(SIGHUP, &hup, NULL);
    int rc = s_run(&self);
    zcert_destroy(&self.cert);
    return rc;
}
