/* session.c - the agent's conversation with the controller.
 *
 * One DEALER connects to the controller. libzmq owns the transport: it
 * reconnects with capped exponential backoff (ZMQ_RECONNECT_IVL doubling up
 * to ZMQ_RECONNECT_IVL_MAX) and drops a connection whose peer stops
 * answering ZMTP heartbeats for miss_limit intervals, so a controller that
 * is silent at the application level (it answers HEARTBEAT with nothing) is
 * still watched. A socket monitor tells this loop when a connection is up
 * (send HELLO) or gone (wait for the next one). When a connection is up but
 * no WELCOME comes, the socket is rebuilt after an application backoff with
 * the same cap.
 *
 * Desired state: an APPLY is stored on disk (desired_state.c) before the
 * writer touches the kernel, so a restarted agent re-applies the last one
 * at once, controller or not; every rescan compares the kernel with it and
 * logs drift when that changes. */
#include "session.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent_stats.h"
#include "desired_state.h"
#include "inventory_diff.h"
#include "vf_apply.h"
#include "vf_drift.h"
#include "vfp_keys.h"
#include "vfp_log.h"
#include "vfp_notify.h"
#include "vfp_transport.h"

#define S_EVENT_DEBOUNCE_MS 200 /* link events come in bursts */
#define S_HEARTBEAT_MIN_MS 10
#define S_HEARTBEAT_MAX_MS 3600000
#define S_HEARTBEAT_TTL_MAX_MS (0xffff * 100)

#define S_INSECURE_WARNING                                                     \
    "--insecure: the controller connection is plaintext and "                  \
    "unauthenticated; use it for tests and demos only"

typedef enum { S_OFFLINE, S_WAIT_WELCOME, S_ONLINE } s_state_t;

/* Kinds of failed handshake (s_on_handshake_failed). */
#define S_HANDSHAKE_MECHANISM                                                  \
    1u                         /* CURVE on one side, plaintext on the other    \
                                */
#define S_HANDSHAKE_BROKEN 2u  /* the controller hung up: another key */
#define S_HANDSHAKE_REFUSED 4u /* the controller refused this key */

typedef struct {
    const session_opts_t *opts;
    zsock_t *dealer;
    zsock_t *monitor;
    struct nl_sock *events;
    bool link_event;
    s_state_t state;
    int64_t heartbeat_ms;
    int64_t backoff_ms;
    int64_t reconnect_at; /* no socket until then; 0 when one exists */
    int64_t welcome_deadline;
    int64_t next_heartbeat;
    int64_t next_rescan;
    vfp_log_reminder_t insecure; /* the plaintext warning, repeated */
    int64_t watchdog_ms;         /* systemd's WatchdogSec / 2; 0: none */
    int64_t next_watchdog;       /* INT64_MAX without a watchdog */
    uint32_t request_id;
    uint8_t proto_version; /* chosen by WELCOME; HELLO uses the oldest */
    unsigned monitor_seq;
    /* Kinds of handshake failure logged as errors (S_HANDSHAKE_*), none
     * once a handshake succeeds: a failing handshake repeats at every
     * reconnect, twice a second, and each kind is logged once. */
    unsigned handshake_logged;
    vfp_inventory_t inv; /* what the controller holds, or is about to */
    privsep_t *writer;
    vfp_msg_t *desired;        /* the stored APPLY, or NULL */
    uint64_t applied_revision; /* last revision applied with every item ok */
    char *drift_logged;        /* drift lines last logged; NULL: none yet */
} s_session_t;

void session_opts_init(session_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->heartbeat_ms = 2000;
    opts->rescan_ms = 10000;
    opts->miss_limit = 3;
    opts->backoff_min_s = 0.5;
    opts->backoff_max_s = 30.0;
    opts->state_dir = DESIRED_STATE_DIR;
}

static int64_t s_ms(double seconds)
{
    return (int64_t)llround(seconds * 1000.0);
}

/* ---- sending --------------------------------------------------------- */

static void s_transmit(s_session_t *self, vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    msg->version = msg->id == VFP_HELLO ? VFP_VERSION_MIN : self->proto_version;
    if (vfp_send(self->dealer, NULL, msg, &err)) {
        int errnum = errno;
        if (err.code != VFP_OK)
            VFP_LOG_LIMITED(VFP_LOG_WARN, "%s not sent: %s: %s",
                            vfp_id_name(msg->id), err.field, err.text);
        else
            VFP_LOG_LIMITED(VFP_LOG_WARN, "%s not sent: %s",
                            vfp_id_name(msg->id), strerror(errnum));
    } else
        vfp_log_debug("sent %s", vfp_id_name(msg->id));
}

/* A message of our own: it carries our next request_id. */
static void s_send(s_session_t *self, vfp_msg_t *msg)
{
    msg->request_id = ++self->request_id;
    s_transmit(self, msg);
}

/* An answer carries the request_id of what it answers (PROTOCOL.md 3). */
static void s_answer(s_session_t *self, vfp_msg_t *msg, uint32_t request_id)
{
    msg->request_id = request_id;
    s_transmit(self, msg);
}

static void s_answer_error(s_session_t *self, uint32_t request_id,
                           vfp_errcode_t code, const char *text)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_ERROR);
    msg->u.error.code = (uint16_t)code;
    snprintf(msg->u.error.text, sizeof(msg->u.error.text), "%s", text);
    s_answer(self, msg, request_id);
    vfp_msg_destroy(&msg);
}

static void s_send_hello(s_session_t *self)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HELLO);
    vfp_hello_t *hello = &msg->u.hello;
    snprintf(hello->hostname, sizeof(hello->hostname), "%s",
             self->inv.host.hostname);
    snprintf(hello->agent_version, sizeof(hello->agent_version), "%s",
             VFLEET_VERSION);
    snprintf(hello->boot_id, sizeof(hello->boot_id), "%s",
             self->inv.host.boot_id);
    hello->proto_min = VFP_VERSION_MIN;
    hello->proto_max = VFP_VERSION;
    s_send(self, msg);
    vfp_msg_destroy(&msg);
}

static void s_send_inventory(s_session_t *self)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY);
    inventory_diff_copy(&msg->u.inventory, &self->inv);
    s_send(self, msg);
    vfp_log_info("full inventory sent: generation %llu, %u PFs",
                 (unsigned long long)self->inv.generation, self->inv.pf_count);
    vfp_msg_destroy(&msg);
}

static void s_send_heartbeat(s_session_t *self)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HEARTBEAT);
    msg->u.heartbeat.generation = self->inv.generation;
    msg->u.heartbeat.applied_revision = self->applied_revision;
    s_send(self, msg);
    vfp_msg_destroy(&msg);
}

/* ---- scanning -------------------------------------------------------- */

static void s_check_drift(s_session_t *self, const vfp_inventory_t *scan)
{
    size_t drift = 0;
    if (self->desired)
        drift =
            vf_drift_log(&self->desired->u.apply, scan, &self->drift_logged);
    agent_stats_drift(drift);
}

/* Rescans; when the result differs from what the controller holds, the
 * generation moves on and, while online, a delta goes out. check_drift is
 * false only just before an apply, which is about to change the kernel. */
static void s_rescan(s_session_t *self, bool check_drift)
{
    char err[256];
    discover_warnings_t warnings;
    vfp_inventory_t scan = {0};
    uint64_t started = agent_stats_clock_ns();
    if (discover_host(&self->opts->discover, &scan, &warnings, err,
                      sizeof(err))) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "rescan failed: %s", err);
        return;
    }
    agent_stats_scan(started);
    for (uint32_t i = 0; i < warnings.count; i++)
        vfp_log_debug("scan: %s", warnings.text[i]);
    if (check_drift)
        s_check_drift(self, &scan);
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY_DELTA);
    vfp_inventory_delta_t *delta = &msg->u.delta;
    if (!inventory_diff(&self->inv, &scan, delta)) {
        vfp_msg_destroy(&msg);
        discover_inventory_clear(&scan);
        return;
    }
    delta->base_generation = self->inv.generation;
    delta->generation = self->inv.generation + 1;
    scan.generation = delta->generation;
    /* Host facts not sent stay as the controller knows them, so small
     * drifts are measured against what it holds. */
    if (!delta->has_host)
        scan.host = self->inv.host;
    vfp_log_info(
        "inventory changed: generation %llu, %u PFs changed, %u gone%s",
        (unsigned long long)delta->generation, delta->pf_count,
        delta->removed_count, delta->has_host ? ", host facts" : "");
    if (self->state == S_ONLINE)
        s_send(self, msg);
    vfp_msg_destroy(&msg);
    discover_inventory_clear(&self->inv);
    self->inv = scan;
}

/* ---- connection ------------------------------------------------------ */

static void s_disconnect(s_session_t *self)
{
    if (self->dealer && self->monitor)
        zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
    self->state = S_OFFLINE;
}

static int s_connect(s_session_t *self)
{
    char monitor_ep[64];
    int64_t timeout = self->heartbeat_ms * self->opts->miss_limit;
    /* libzmq refuses a ZMTP heartbeat TTL above 0xffff deciseconds, and
     * czmq asserts on the refusal: three intervals of an hour would abort
     * the agent. */
    if (timeout > S_HEARTBEAT_TTL_MAX_MS)
        timeout = S_HEARTBEAT_TTL_MAX_MS;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    vfp_socket_limit(self->dealer);
    if (self->opts->cert)
        vfp_keys_apply_client(self->dealer, self->opts->cert,
                              self->opts->controller_cert);
    /* libzmq 4.3.4 can abort when a ZMTP heartbeat timeout meets a full
     * receive queue (vfp_transport.h), and this socket needs heartbeats:
     * keep the queue deep enough that only a controller sending a
     * thousand messages the agent has not read could fill it. */
    zsock_set_rcvhwm(self->dealer, 1000);
    zsock_set_linger(self->dealer, 0);
    zsock_set_sndtimeo(self->dealer, 0);
    /* Queue nothing for a connection that is not up: the first message on
     * every new connection must be HELLO. */
    zsock_set_immediate(self->dealer, 1);
    zsock_set_reconnect_ivl(self->dealer, (int)s_ms(self->opts->backoff_min_s));
    zsock_set_reconnect_ivl_max(self->dealer,
                                (int)s_ms(self->opts->backoff_max_s));
    zsock_set_heartbeat_ivl(self->dealer, (int)self->heartbeat_ms);
    zsock_set_heartbeat_timeout(self->dealer, (int)timeout);
    zsock_set_heartbeat_ttl(self->dealer, (int)timeout);

    snprintf(monitor_ep, sizeof(monitor_ep), "inproc://agent-monitor-%u",
             ++self->monitor_seq);
    if (zmq_socket_monitor(
            zsock_resolve(self->dealer), monitor_ep,
            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_DISCONNECTED) ||
        !(self->monitor = zsock_new_pair(monitor_ep)) ||
        zsock_connect(self->dealer, "%s", self->opts->endpoint)) {
        int saved = zmq_errno();
        s_disconnect(self);
        errno = saved;
        return -1;
    }
    self->reconnect_at = 0;
    vfp_log_info("connecting to %s", self->opts->endpoint);
    return 0;
}

/* Closes the socket; a new one connects after the backoff, which grows. */
static void s_reconnect_later(s_session_t *self)
{
    s_disconnect(self);
    self->reconnect_at = zclock_mono() + self->backoff_ms;
    self->backoff_ms *= 2;
    if (self->backoff_ms > s_ms(self->opts->backoff_max_s))
        self->backoff_ms = s_ms(self->opts->backoff_max_s);
}

/* No WELCOME on a live connection: start over on a new socket later. */
static void s_give_up_connection(s_session_t *self, const char *why)
{
    vfp_log_warnx("%s; reconnecting in %.1f s", why,
                  (double)self->backoff_ms / 1000.0);
    s_reconnect_later(self);
}

/* A handshake that failed: the controller refused this agent's key, or
 * the controller's public key is not the one given (the controller cannot
 * read the agent's CURVE HELLO and hangs up), or one side runs with
 * --insecure. Each kind is logged once as an error until a handshake
 * succeeds, then at debug level. A hang-up is retried by libzmq itself,
 * about twice a second; a refused key or another mechanism is an error
 * libzmq never retries on that socket, so the agent connects a new one
 * after its backoff (a key authorised meanwhile is then admitted). */
static void s_on_handshake_failed(s_session_t *self, uint16_t id,
                                  uint32_t value)
{
    unsigned kind = S_HANDSHAKE_BROKEN;
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        kind = S_HANDSHAKE_REFUSED;
    else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
             value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        kind = S_HANDSHAKE_MECHANISM;
    if (kind != S_HANDSHAKE_BROKEN) {
        vfp_log_debug("handshake refused: a new connection in %.1f s",
                      (double)self->backoff_ms / 1000.0);
        s_reconnect_later(self);
    }
    if (self->handshake_logged & kind) {
        vfp_log_debug("handshake with %s failed again (event 0x%x, 0x%x)",
                      self->opts->endpoint, id, value);
        return;
    }
    self->handshake_logged |= kind;
    if (kind == S_HANDSHAKE_REFUSED)
        vfp_log_error("%s refused this agent's key: it is not authorised "
                      "there (vfleetctl keys add-host); retrying",
                      self->opts->endpoint);
    else if (kind == S_HANDSHAKE_MECHANISM)
        vfp_log_error("%s uses another security mechanism: %s",
                      self->opts->endpoint,
                      self->opts->cert
                          ? "it runs with --insecure, this agent with CURVE "
                            "keys"
                          : "this agent runs with --insecure, the controller "
                            "wants CURVE keys (--key, --controller-key)");
    else if (self->opts->cert)
        vfp_log_error("%s broke off the CURVE handshake (is --controller-key "
                      "the public key of that controller, its "
                      "keys/controller.key?); retrying",
                      self->opts->endpoint);
    else
        vfp_log_error("%s broke off the handshake (a controller that wants "
                      "CURVE keys?); retrying",
                      self->opts->endpoint);
}

static void s_on_monitor(s_session_t *self)
{
    zmsg_t *event = zmsg_recv(self->monitor);
    if (!event)
        return;
    zframe_t *head = zmsg_first(event);
    if (head && zframe_size(head) >= 6) {
        uint16_t id; /* host byte order, as libzmq writes it */
        uint32_t value;
        memcpy(&id, zframe_data(head), sizeof(id));
        memcpy(&value, zframe_data(head) + sizeof(id), sizeof(value));
        if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->handshake_logged = 0;
            vfp_log_info("connected to %s; sending HELLO",
                         self->opts->endpoint);
            s_send_hello(self);
            self->state = S_WAIT_WELCOME;
            self->welcome_deadline =
                zclock_mono() + self->heartbeat_ms * self->opts->miss_limit;
        } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                   id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                   id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            s_on_handshake_failed(self, id, value);
        } else if (id == ZMQ_EVENT_DISCONNECTED) {
            if (self->state != S_OFFLINE)
                vfp_log_warnx("connection to %s lost; reconnecting",
                              self->opts->endpoint);
            self->state = S_OFFLINE;
        }
    }
    zmsg_destroy(&event);
}

/* ---- controller messages --------------------------------------------- */

static void s_on_welcome(s_session_t *self, const vfp_welcome_t *welcome)
{
    if (self->state != S_WAIT_WELCOME) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "unexpected WELCOME; dropped");
        return;
    }
    if (welcome->proto_version < VFP_VERSION_MIN ||
        welcome->proto_version > VFP_VERSION) {
        s_give_up_connection(self, "WELCOME chose a protocol version this "
                                   "agent does not speak");
        return;
    }
    /* A controller's interval wins, within sane bounds: a typo there must
     * not make every agent flood it or fall silent for hours. */
    if (welcome->heartbeat_ms >= S_HEARTBEAT_MIN_MS &&
        welcome->heartbeat_ms <= S_HEARTBEAT_MAX_MS)
        self->heartbeat_ms = welcome->heartbeat_ms;
    else
        VFP_LOG_LIMITED(
            VFP_LOG_WARN,
            "WELCOME heartbeat %u ms outside %d..%d ms; keeping %lld ms",
            welcome->heartbeat_ms, S_HEARTBEAT_MIN_MS, S_HEARTBEAT_MAX_MS,
            (long long)self->heartbeat_ms);
    self->backoff_ms = s_ms(self->opts->backoff_min_s);
    self->proto_version = welcome->proto_version;
    self->state = S_ONLINE;
    vfp_log_info("welcomed by controller %s (protocol %u, heartbeat %u ms)",
                 welcome->controller_id, welcome->proto_version,
                 welcome->heartbeat_ms);
    s_rescan(self, true);
    s_send_inventory(self);
    self->next_heartbeat = zclock_mono() + self->heartbeat_ms;
}

static void s_on_error(s_session_t *self, const vfp_error_t *error)
{
    VFP_LOG_LIMITED(VFP_LOG_WARN, "controller says %s: %s",
                    vfp_errcode_name(error->code), error->text);
    if (error->code == VFP_ERR_RESYNC && self->state == S_ONLINE)
        s_send_inventory(self);
    else if (error->code == VFP_ERR_NOT_WELCOME && self->state != S_OFFLINE) {
        /* The controller lost our session (it restarted behind a
         * connection that survived): introduce ourselves again. */
        s_send_hello(self);
        self->state = S_WAIT_WELCOME;
        self->welcome_deadline =
            zclock_mono() + self->heartbeat_ms * self->opts->miss_limit;
    } else if (error->code == VFP_ERR_DENIED) {
        /* The key names another host than this agent says it is (the
         * HELLO is refused until the key or the host name is changed), or
         * this connection's messages are refused for its session's host:
         * either way nothing sent on it is taken (PROTOCOL.md 7.1). */
        vfp_log_error("the controller refused this host: %s", error->text);
        if (self->state != S_OFFLINE)
            s_give_up_connection(self, self->state == S_WAIT_WELCOME
                                           ? "HELLO refused (DENIED)"
                                           : "messages refused (DENIED)");
    } else if (error->code == VFP_ERR_VERSION) {
        char why[128];
        snprintf(why, sizeof(why),
                 "no protocol version in common (this agent speaks %d..%d)",
                 VFP_VERSION_MIN, VFP_VERSION);
        s_give_up_connection(self, why);
    }
}

/* Applies the stored desired state to the kernel against a fresh scan,
 * logs every item that failed, and rescans so the controller sees the
 * result. Fills *result; returns 0 when every item is ok. */
static int s_apply(s_session_t *self, vfp_apply_result_t *result)
{
    const vfp_apply_t *apply = &self->desired->u.apply;
    s_rescan(self, false);
    uint64_t writes = privsep_kernel_writes(self->writer);
    int rc = vf_apply_run_ops(&privsep_apply_ops, self->writer, apply,
                              &self->inv, result);
    uint32_t failed = 0;
    for (uint32_t i = 0; i < result->result_count; i++) {
        const vfp_result_t *r = &result->results[i];
        if (!r->err)
            continue;
        failed++;
        if (r->kind == VFP_ITEM_VF)
            VFP_LOG_LIMITED(
                VFP_LOG_WARN, "apply revision %llu: pf %s vf %u %s: %s (%s)",
                (unsigned long long)apply->revision, r->pf, r->index,
                r->attribute, r->message, strerror(r->err));
        else
            VFP_LOG_LIMITED(VFP_LOG_WARN,
                            "apply revision %llu: %s%s%s%s: %s (%s)",
                            (unsigned long long)apply->revision,
                            r->pf[0] ? "pf " : "", r->pf, r->pf[0] ? " " : "",
                            r->attribute, r->message, strerror(r->err));
    }
    vfp_log_info("apply revision %llu: %u items, %u failed",
                 (unsigned long long)apply->revision, result->result_count,
                 failed);
    writes = privsep_kernel_writes(self->writer) - writes;
    agent_stats_apply(writes, failed);
    vfp_log_info("apply revision %llu: %llu kernel writes (--kernel %s)",
                 (unsigned long long)apply->revision,
                 (unsigned long long)writes,
                 vf_kernel_name(self->opts->discover.kernel));
    if (rc == 0)
        self->applied_revision = apply->revision;
    s_rescan(self, true);
    return rc;
}

/* An APPLY from the controller: stored first, then applied, answered with
 * every item's result. Takes *msg_p when it becomes the desired state. */
static void s_on_apply(s_session_t *self, vfp_msg_t **msg_p)
{
    vfp_msg_t *msg = *msg_p;
    const vfp_apply_t *apply = &msg->u.apply;
    char err[512], text[VFP_TEXT_MAX];
    if (self->state != S_ONLINE) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "APPLY revision %llu before WELCOME; dropped",
                        (unsigned long long)apply->revision);
        return;
    }
    /* Revisions only grow (PROTOCOL.md 7.4): an older one is a controller
     * that lost track, and must not undo what a newer one asked for. Past
     * UINT64_MAX they wrap (desired_state_revision_accepted). */
    if (self->desired &&
        !desired_state_revision_accepted(self->desired->u.apply.revision,
                                         apply->revision)) {
        snprintf(text, sizeof(text),
                 "APPLY revision %llu is older than the stored desired "
                 "state, revision %llu; refused",
                 (unsigned long long)apply->revision,
                 (unsigned long long)self->desired->u.apply.revision);
        VFP_LOG_LIMITED(VFP_LOG_WARN, "%s", text);
        s_answer_error(self, msg->request_id, VFP_ERR_INVALID, text);
        return;
    }
    /* Not stored means not applied: a restart would otherwise re-apply an
     * older state over this one. */
    if (desired_state_save(self->opts->state_dir, apply, err, sizeof(err))) {
        snprintf(text, sizeof(text),
                 "APPLY revision %llu not applied: desired state not "
                 "stored: %s",
                 (unsigned long long)apply->revision, err);
        VFP_LOG_LIMITED(VFP_LOG_WARN, "%s", text);
        s_answer_error(self, msg->request_id, VFP_ERR_INTERNAL, text);
        return;
    }
    vfp_log_info("APPLY revision %llu stored in %s/%s: %u PFs, %u VFs, %u "
                 "hugepage pools",
                 (unsigned long long)apply->revision, self->opts->state_dir,
                 DESIRED_STATE_FILE, apply->pf_count, apply->vf_count,
                 apply->hugepage_count);
    vfp_msg_destroy(&self->desired);
    self->desired = msg;
    *msg_p = NULL;
    vfp_msg_t *answer = vfp_msg_new(VFP_APPLY_RESULT);
    s_apply(self, &answer->u.apply_result);
    s_answer(self, answer, self->desired->request_id);
    vfp_msg_destroy(&answer);
}

static void s_on_message(s_session_t *self)
{
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_recv(self->dealer, NULL, &err);
    if (!msg) {
        if (err.code == VFP_ERR_VERSION && self->state == S_WAIT_WELCOME) {
            /* A controller that cannot speak our versions answers in its
             * own oldest one, which we cannot decode (PROTOCOL.md 9). */
            char why[160];
            snprintf(why, sizeof(why),
                     "controller answered in protocol version %u; this "
                     "agent speaks %d..%d",
                     err.peer_version, VFP_VERSION_MIN, VFP_VERSION);
            s_give_up_connection(self, why);
        } else if (err.code != VFP_OK)
            VFP_LOG_LIMITED(
                VFP_LOG_WARN,
                "malformed message from the controller dropped: %s: %s",
                err.field, err.text);
        return;
    }
    vfp_log_debug("received %s", vfp_id_name(msg->id));
    switch (msg->id) {
    case VFP_WELCOME:
        s_on_welcome(self, &msg->u.welcome);
        break;
    case VFP_ERROR:
        s_on_error(self, &msg->u.error);
        break;
    case VFP_APPLY:
        s_on_apply(self, &msg);
        break;
    default:
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "unexpected %s from the controller; dropped",
                        vfp_id_name(msg->id));
        break;
    }
    vfp_msg_destroy(&msg);
}

/* ---- netlink link events --------------------------------------------- */

static int s_on_link_event(struct nl_msg *msg, void *arg)
{
    *(bool *)arg = true;
    return NL_OK;
}

static void s_events_open(s_session_t *self)
{
    const discover_opts_t *d = &self->opts->discover;
    bool live = !d->sysfs_root || !strcmp(d->sysfs_root, "/sys");
    if (d->netlink == DISCOVER_NETLINK_OFF ||
        (d->netlink == DISCOVER_NETLINK_AUTO && !live))
        return;
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return;
    nl_socket_disable_seq_check(sk);
    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, s_on_link_event,
                        &self->link_event);
    int err = nl_connect(sk, NETLINK_ROUTE);
    if (err == 0)
        err = nl_socket_add_memberships(sk, RTNLGRP_LINK, 0);
    if (err == 0)
        err = nl_socket_set_nonblocking(sk);
    if (err < 0) {
        vfp_log_warnx(
            "no netlink link events (%s): rescanning on the timer only",
            nl_geterror(err));
        nl_socket_free(sk);
        return;
    }
    self->events = sk;
}

/* ---- loop ------------------------------------------------------------ */

static int64_t s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void s_on_timers(s_session_t *self, int64_t now)
{
    if (self->opts->insecure)
        vfp_log_remind(&self->insecure, now, S_INSECURE_WARNING);
    if (self->state == S_WAIT_WELCOME && now >= self->welcome_deadline)
        s_give_up_connection(self, "no WELCOME from the controller");
    if (!self->dealer && now >= self->reconnect_at && s_connect(self)) {
        char why[256];
        snprintf(why, sizeof(why), "cannot connect to %s: %s",
                 self->opts->endpoint, zmq_strerror(errno));
        s_give_up_connection(self, why);
    }
    if (now >= self->next_rescan) {
        s_rescan(self, true);
        self->next_rescan = now + self->opts->rescan_ms;
    }
    if (self->state == S_ONLINE && now >= self->next_heartbeat) {
        s_send_heartbeat(self);
        self->next_heartbeat += self->heartbeat_ms;
        if (self->next_heartbeat <= now)
            self->next_heartbeat = now + self->heartbeat_ms;
    }
    if (now >= self->next_watchdog) {
        vfp_notify_watchdog();
        self->next_watchdog = now + self->watchdog_ms;
    }
}

static int64_t s_next_deadline(const s_session_t *self)
{
    int64_t next = s_min(self->next_rescan, self->next_watchdog);
    if (!self->dealer)
        next = s_min(next, self->reconnect_at);
    if (self->state == S_WAIT_WELCOME)
        next = s_min(next, self->welcome_deadline);
    if (self->state == S_ONLINE)
        next = s_min(next, self->next_heartbeat);
    return next;
}

/* The desired state stored by an earlier run is re-applied before any
 * controller is asked: the host reaches it even while none answers. A file
 * that does not decode is moved aside, never reused. */
static void s_restore_desired(s_session_t *self)
{
    char err[1024];
    int rc = desired_state_load(self->opts->state_dir, true, &self->desired,
                                err, sizeof(err));
    if (rc < 0) {
        vfp_log_warnx("desired state not restored: %s", err);
        return;
    }
    if (rc == 0) {
        vfp_log_info("no desired state stored in %s yet",
                     self->opts->state_dir);
        return;
    }
    vfp_log_info("re-applying desired state revision %llu from %s/%s",
                 (unsigned long long)self->desired->u.apply.revision,
                 self->opts->state_dir, DESIRED_STATE_FILE);
    vfp_apply_result_t result = {0};
    s_apply(self, &result);
    free(result.results);
}

static void s_cleanup(s_session_t *self)
{
    s_disconnect(self);
    nl_socket_free(self->events);
    self->events = NULL;
    vfp_msg_destroy(&self->desired);
    free(self->drift_logged);
    self->drift_logged = NULL;
    discover_inventory_clear(&self->inv);
}

/* Polls the controller socket, its monitor and netlink link events until
 * SIGINT/SIGTERM. Returns 0 on such a stop, -1 with err when polling
 * fails. */
static int s_loop(s_session_t *self, char *err, size_t errlen)
{
    while (!zsys_interrupted) {
        zmq_pollitem_t items[4];
        int n = 0, dealer_at = -1, monitor_at = -1, events_at = -1;
        int writer_at = n++;
        items[writer_at] =
            (zmq_pollitem_t){NULL, privsep_fd(self->writer), ZMQ_POLLIN, 0};
        if (self->dealer) {
            items[dealer_at = n++] =
                (zmq_pollitem_t){zsock_resolve(self->dealer), 0, ZMQ_POLLIN, 0};
            items[monitor_at = n++] = (zmq_pollitem_t){
                zsock_resolve(self->monitor), 0, ZMQ_POLLIN, 0};
        }
        if (self->events)
            items[events_at = n++] = (zmq_pollitem_t){
                NULL, nl_socket_get_fd(self->events), ZMQ_POLLIN, 0};
        int64_t wait = s_next_deadline(self) - zclock_mono();
        if (wait < 0)
            wait = 0;
        if (zmq_poll(items, n, (long)wait) < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", zmq_strerror(errno));
            break;
        }
        if (zsys_interrupted)
            break;
        if (items[writer_at].revents) {
            privsep_describe_exit(self->writer, err, errlen);
            return -1;
        }
        if (monitor_at >= 0 && (items[monitor_at].revents & ZMQ_POLLIN))
            s_on_monitor(self);
        if (dealer_at >= 0 && self->dealer &&
            (items[dealer_at].revents & ZMQ_POLLIN))
            s_on_message(self);
        if (events_at >= 0 && (items[events_at].revents & ZMQ_POLLIN)) {
            nl_recvmsgs_default(self->events);
            if (self->link_event) {
                vfp_log_debug("netlink link event: rescanning soon");
                self->link_event = false;
                self->next_rescan = s_min(self->next_rescan,
                                          zclock_mono() + S_EVENT_DEBOUNCE_MS);
            }
        }
        s_on_timers(self, zclock_mono());
    }
    return zsys_interrupted ? 0 : -1;
}

int session_run(const session_opts_t *opts, char *err, size_t errlen)
{
    s_session_t self = {
        .opts = opts,
        .proto_version = VFP_VERSION,
        .heartbeat_ms = opts->heartbeat_ms,
        .backoff_ms = s_ms(opts->backoff_min_s),
        .insecure.interval_ms = VFP_LOG_REMIND_MS,
    };
    /* A stop asked for during the first scan or the re-apply is a clean
     * one too. SIGHUP asks for nothing: there is no configuration to
     * reload, and a hangup must not end the agent. */
    zsys_catch_interrupts();
    signal(SIGHUP, SIG_IGN);
    if (opts->insecure)
        vfp_log_remind(&self.insecure, zclock_mono(), S_INSECURE_WARNING);
    if (discover_host(&opts->discover, &self.inv, NULL, err, errlen))
        return -1;
    self.inv.generation = 1;
    if (!self.inv.host.hostname[0]) {
        snprintf(err, errlen,
                 "no host name to report: the kernel's is "
                 "unreadable; give --hostname");
        discover_inventory_clear(&self.inv);
        return -1;
    }
    self.writer = opts->writer;
    if (desired_state_dir_init(opts->state_dir, err, errlen)) {
        discover_inventory_clear(&self.inv);
        return -1;
    }
    if (opts->discover.kernel == VF_KERNEL_NETLINK &&
        vf_kernel_recorded_tree(opts->discover.sysfs_root))
        vfp_log_info("sysfs root %s is a recorded tree: VF settings are not "
                     "sent to this host's kernel (%s)",
                     opts->discover.sysfs_root, VF_KERNEL_RECORDED_REFUSAL);
    else
        vfp_log_info("kernel: %s", vf_kernel_name(opts->discover.kernel));
    s_restore_desired(&self);
    zsys_init();
    if (s_connect(&self)) {
        snprintf(err, errlen, "cannot connect to %s: %s", opts->endpoint,
                 zmq_strerror(errno));
        s_cleanup(&self);
        return -1;
    }
    s_events_open(&self);
    self.next_rescan = zclock_mono() + opts->rescan_ms;
    self.watchdog_ms = vfp_notify_watchdog_interval_ms();
    self.next_watchdog =
        self.watchdog_ms ? zclock_mono() + self.watchdog_ms : INT64_MAX;

    vfp_notify_ready("reporting to the controller");
    int rc = s_loop(&self, err, errlen);
    vfp_notify_stopping();
    vfp_log_info("stopping");
    s_cleanup(&self);
    return rc;
}
