/* agents.c - the agent side of the controller: HELLO/WELCOME sessions,
 * inventory ingestion, heartbeats, APPLY_RESULTs for the rollout and host
 * liveness. Memory follows the database: what a burst stored counts only
 * once its commit succeeded. */
#include "agents.h"

#include <stdio.h>
#include <string.h>

#include "controller_internal.h"
#include "stats.h"
#include "vfp_keys.h"
#include "vfp_log.h"
#include "wire.h"

/* What a handled message did that memory may only believe after the
 * burst's commit, applied in arrival order. */
typedef enum {
    S_REGISTER, /* HELLO stored: attach the session, send WELCOME */
    S_STORED,   /* an inventory or delta stored */
    S_UP,       /* a down host's state set to ready */
    S_BEAT,     /* a heartbeat: compare its generation with memory's */
    S_RESULT,   /* an APPLY_RESULT recorded */
    S_REFUSAL,  /* an ERROR from an agent, for the rollout */
} s_kind_t;

typedef struct {
    s_kind_t kind;
    char host[VFP_HOSTNAME_MAX + 1];
    zframe_t *routing_id;
    uint8_t version;
    uint32_t request_id;
    uint64_t generation;
    uint64_t applied_revision;      /* S_BEAT */
    bool full;                      /* S_STORED: a full INVENTORY */
    bool matters;                   /* S_STORED: host_inventory is called */
    vfp_msg_t *answer;              /* S_REGISTER: the WELCOME */
    vfp_msg_t *error;               /* S_REFUSAL: a copy of the ERROR */
    rollout_result_t result;        /* S_RESULT */
    char note[VFP_NAME_MAX * 2];    /* S_REGISTER: what to log */
    char key[VFP_KEYS_Z85_LEN + 1]; /* S_REGISTER: the session's key */
} s_staged_t;

struct agents_t {
    db_t *db;
    sessions_t *sessions;
    rollout_t *rollout; /* NULL: no rollout hooks */
    agents_hooks_t hooks;
    agents_config_t cfg;
    zlistx_t *staged;          /* s_staged_t, in arrival order */
    bool batch_open;           /* a db batch spans the current burst */
    int64_t flushed_mono;      /* when last_seen was last written */
    int64_t security_mono;     /* when the last security event was */
    uint64_t security_skipped; /* refusals since, not recorded */
};

/* Security events are recorded at most this often: a peer repeating a
 * forged HELLO must not fill the event log (the next one says how many
 * were left out). */
#define S_SECURITY_EVENT_MS 1000

void agents_out_destroy(agents_out_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zframe_destroy(&(*self_p)->to);
    vfp_msg_destroy(&(*self_p)->msg);
    free(*self_p);
    *self_p = NULL;
}

static void s_out_free(void **item)
{
    agents_out_destroy((agents_out_t **)item);
}

zlistx_t *agents_outbox_new(void)
{
    zlistx_t *out = zlistx_new();
    assert(out);
    zlistx_set_destructor(out, s_out_free);
    return out;
}

static void s_staged_free(void **item)
{
    s_staged_t *staged = *item;
    if (staged) {
        zframe_destroy(&staged->routing_id);
        vfp_msg_destroy(&staged->answer);
        vfp_msg_destroy(&staged->error);
        free(staged);
        *item = NULL;
    }
}

agents_t *agents_new(db_t *db, sessions_t *sessions, const agents_config_t *cfg)
{
    agents_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->db = db;
    self->sessions = sessions;
    self->cfg = *cfg;
    self->staged = zlistx_new();
    assert(self->staged);
    zlistx_set_destructor(self->staged, s_staged_free);
    self->flushed_mono = zclock_mono();
    return self;
}

void agents_set_rollout(agents_t *self, rollout_t *rollout)
{
    self->rollout = rollout;
}

void agents_set_hooks(agents_t *self, const agents_hooks_t *hooks)
{
    self->hooks = *hooks;
}

static void s_hook(agents_t *self, void (*fn)(void *, const char *),
                   const char *host)
{
    if (fn)
        fn(self->hooks.arg, host);
}

void agents_destroy(agents_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zlistx_destroy(&(*self_p)->staged);
    free(*self_p);
    *self_p = NULL;
}

static int s_load_host(const db_host_row_t *row, void *arg)
{
    agents_t *self = arg;
    session_t *host = sessions_add(self->sessions, row->name);
    if (row->state == DB_HOST_DOWN)
        sessions_mark_down(self->sessions, host);
    host->generation = row->generation;
    return 0;
}

int agents_load(agents_t *self, char *err, size_t errlen)
{
    db_err_t dberr;
    if (db_hosts_list(self->db, NULL, s_load_host, self, &dberr) != 0) {
        snprintf(err, errlen, "%s", dberr.text);
        return -1;
    }
    return 0;
}

void agents_out_queue(zlistx_t *out, zframe_t *routing_id, vfp_msg_t *msg)
{
    agents_out_t *item = calloc(1, sizeof(*item));
    assert(item);
    item->to = vfp_routing_id_dup(routing_id);
    item->msg = msg;
    zlistx_add_end(out, item);
}

static s_staged_t *s_stage(agents_t *self, s_kind_t kind, const char *host,
                           zframe_t *routing_id, const vfp_msg_t *msg)
{
    s_staged_t *staged = calloc(1, sizeof(*staged));
    assert(staged);
    staged->kind = kind;
    snprintf(staged->host, sizeof(staged->host), "%s", host);
    staged->routing_id = vfp_routing_id_dup(routing_id);
    staged->version = msg->version;
    staged->request_id = msg->request_id;
    zlistx_add_end(self->staged, staged);
    return staged;
}

/* Whether the burst already holds a `kind` change for host: its effect on
 * the database is there, though memory does not show it yet. */
static bool s_staged(agents_t *self, s_kind_t kind, const char *host)
{
    for (s_staged_t *staged = zlistx_first(self->staged); staged;
         staged = zlistx_next(self->staged)) {
        if (staged->kind == kind && strcmp(staged->host, host) == 0)
            return true;
    }
    return false;
}

/* Opens one write transaction for the rest of the burst, on the first
 * message that writes: a burst of heartbeats writes nothing. */
static void s_batch(agents_t *self)
{
    if (self->batch_open)
        return;
    db_err_t err;
    if (db_batch_begin(self->db, &err) == 0)
        self->batch_open = true;
    else
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "cannot start a batch, writing one by one: %s",
                        err.text);
}

/* The host a HELLO of this burst, not committed yet, registered for the
 * connection, or NULL: HELLOs sent back to back arrive in one burst, and
 * the session's route is recorded only once the burst commits (each of
 * them registered a host on one connection). */
static const char *s_staged_owner(agents_t *self, zframe_t *routing_id)
{
    for (s_staged_t *staged = zlistx_first(self->staged); staged;
         staged = zlistx_next(self->staged)) {
        if (staged->kind == S_REGISTER && staged->routing_id &&
            zframe_eq(staged->routing_id, routing_id))
            return staged->host;
    }
    return NULL;
}

/* Refuses a HELLO before anything is written: no common version, or a
 * session that already speaks for another host. Returns the ERROR, or
 * NULL when the HELLO may go on; *version gets the chosen version. */
static vfp_msg_t *s_hello_refusal(agents_t *self, zframe_t *routing_id,
                                  const char *route_key, const vfp_msg_t *msg,
                                  int *version)
{
    const vfp_hello_t *hello = &msg->u.hello;
    *version = vfp_version_choose(hello->proto_min, hello->proto_max);
    if (*version < 0) {
        peer_limit_warnx(self->cfg.limits, routing_id,
                         "host %s: agent speaks protocol %u..%u, this "
                         "controller %d..%d; not registered",
                         hello->hostname, hello->proto_min, hello->proto_max,
                         VFP_VERSION_MIN, VFP_VERSION);
        return wire_error_new(VFP_VERSION_MIN, msg->request_id, VFP_ERR_VERSION,
                              "agent speaks protocol versions %u..%u, "
                              "controller speaks %d..%d",
                              hello->proto_min, hello->proto_max,
                              VFP_VERSION_MIN, VFP_VERSION);
    }
    session_t *route = sessions_find_route(self->sessions, route_key);
    const char *owner = route ? route->name : s_staged_owner(self, routing_id);
    if (owner && strcmp(owner, hello->hostname) != 0) {
        /* One connection speaks for one host for its whole life. */
        peer_limit_warnx(self->cfg.limits, routing_id,
                         "session of host %s sent HELLO for %s; refused", owner,
                         hello->hostname);
        return wire_error_new(msg->version, msg->request_id, VFP_ERR_DENIED,
                              "this session belongs to host %s", owner);
    }
    return NULL;
}

static vfp_msg_t *s_welcome_new(agents_t *self, const vfp_msg_t *hello,
                                int version)
{
    vfp_msg_t *welcome = vfp_msg_new(VFP_WELCOME);
    welcome->version = (uint8_t)version;
    welcome->request_id = hello->request_id;
    welcome->u.welcome.proto_version = (uint8_t)version;
    welcome->u.welcome.heartbeat_ms = self->cfg.heartbeat_ms;
    snprintf(welcome->u.welcome.controller_id,
             sizeof(welcome->u.welcome.controller_id), "%s",
             self->cfg.controller_id);
    return welcome;
}

/* Records the registration's event in the burst and says what to log
 * once it is committed. */
static void s_hello_event(agents_t *self, const vfp_hello_t *hello, int version,
                          bool was_down, char *note, size_t size)
{
    session_t *host = sessions_find(self->sessions, hello->hostname);
    if (s_staged(self, S_REGISTER, hello->hostname)) {
        snprintf(note, size, "connected again");
    } else if (!host) {
        snprintf(note, size, "registered");
        controller_event(self->db, "host-registered", hello->hostname,
                         "agent %s, protocol %d", hello->agent_version,
                         version);
    } else if (host->down || was_down) {
        snprintf(note, size, "ready again");
        controller_event(self->db, "host-up", hello->hostname,
                         "agent %s reconnected", hello->agent_version);
    } else {
        snprintf(note, size, "connected");
    }
}

static void s_on_hello(agents_t *self, zframe_t *routing_id,
                       const vfp_keys_peer_t *key, const char *route_key,
                       const vfp_msg_t *msg, zlistx_t *out)
{
    const vfp_hello_t *hello = &msg->u.hello;
    int version;
    vfp_msg_t *refusal =
        s_hello_refusal(self, routing_id, route_key, msg, &version);
    if (refusal) {
        agents_out_queue(out, routing_id, refusal);
        return;
    }
    s_batch(self);
    bool was_down = false;
    db_err_t err;
    if (db_host_hello(self->db, hello, (uint8_t)version, controller_now_ms(),
                      &was_down, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: %s", hello->hostname, err.text);
        agents_out_queue(
            out, routing_id,
            wire_error_new(msg->version, msg->request_id, VFP_ERR_INTERNAL,
                           "controller could not register the host"));
        return;
    }
    char note[sizeof(((s_staged_t *)0)->note)];
    s_hello_event(self, hello, version, was_down, note, sizeof(note));
    s_staged_t *staged =
        s_stage(self, S_REGISTER, hello->hostname, routing_id, msg);
    staged->version = (uint8_t)version;
    staged->answer = s_welcome_new(self, msg, version);
    snprintf(staged->key, sizeof(staged->key), "%s",
             key && key->keyed ? key->public_z85 : "");
    snprintf(staged->note, sizeof(staged->note), "%s", note);
}

/* Any message from a live session proves the host is alive; a host that
 * was down is set ready in the burst. */
static void s_host_alive(agents_t *self, session_t *host, zframe_t *routing_id,
                         const vfp_msg_t *msg)
{
    sessions_touch(self->sessions, host, zclock_mono(), controller_now_ms());
    if (!host->down || s_staged(self, S_UP, host->name))
        return;
    s_batch(self);
    db_err_t err;
    if (db_host_set_state(self->db, host->name, DB_HOST_READY, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: %s", host->name, err.text);
        return;
    }
    controller_event(self->db, "host-up", host->name, "agent is back");
    s_stage(self, S_UP, host->name, routing_id, msg);
}

/* A delta applies on top of a generation the controller holds, and until a
 * full INVENTORY of this session is stored (after HELLO, or after a
 * heartbeat showed a report lost) it holds none, whatever generation the
 * database kept: the column's default 0 would otherwise let a delta on
 * base 0 be applied to a host that never reported (PROTOCOL.md 7.3). A full
 * one staged earlier in this burst counts. Answers RESYNC when so. */
static bool s_delta_without_base(agents_t *self, session_t *host,
                                 zframe_t *routing_id, const vfp_msg_t *msg,
                                 zlistx_t *out)
{
    if (msg->id != VFP_INVENTORY_DELTA || host->have_inventory ||
        s_staged(self, S_STORED, host->name))
        return false;
    peer_limit_warnx(self->cfg.limits, routing_id,
                     "host %s: INVENTORY_DELTA dropped: no full inventory of "
                     "this session is stored",
                     host->name);
    agents_out_queue(out, routing_id,
                     wire_error_new(msg->version, msg->request_id,
                                    VFP_ERR_RESYNC,
                                    "no full inventory stored since this "
                                    "session's HELLO; send one"));
    return true;
}

static void s_on_inventory(agents_t *self, session_t *host,
                           zframe_t *routing_id, const vfp_msg_t *msg,
                           zlistx_t *out)
{
    if (s_delta_without_base(self, host, routing_id, msg, out))
        return;
    s_batch(self);
    db_err_t err;
    int rc;
    bool full = msg->id == VFP_INVENTORY;
    if (full)
        rc = db_inventory_replace(self->db, host->name, &msg->u.inventory,
                                  controller_now_ms(), &err);
    else
        rc = db_inventory_apply_delta(self->db, host->name, &msg->u.delta,
                                      controller_now_ms(), &err);
    if (rc != 0) {
        if (err.code == DB_ERR_INVALID || err.code == DB_ERR_RESYNC) {
            peer_limit_warnx(self->cfg.limits, routing_id,
                             "host %s: %s dropped: %s", host->name,
                             vfp_id_name(msg->id), err.text);
        } else {
            VFP_LOG_LIMITED(VFP_LOG_ERROR, "host %s: cannot store %s: %s",
                            host->name, vfp_id_name(msg->id), err.text);
            /* Asked again at the next heartbeat, not at once: a full disk
             * must not turn into a tight resend loop. */
            host->resync = true;
        }
        agents_out_queue(out, routing_id,
                         wire_error_new(msg->version, msg->request_id,
                                        wire_error_code(err.code, false), "%s",
                                        err.text));
        return;
    }
    s_staged_t *staged = s_stage(self, S_STORED, host->name, routing_id, msg);
    staged->full = full;
    staged->matters =
        full || !self->hooks.delta_matters ||
        self->hooks.delta_matters(self->hooks.arg, host->name, &msg->u.delta);
    staged->generation =
        full ? msg->u.inventory.generation : msg->u.delta.generation;
}

/* The result is stored in the burst; memory and the log take it after the
 * commit. */
static void s_on_result(agents_t *self, session_t *host, zframe_t *routing_id,
                        const vfp_msg_t *msg)
{
    s_batch(self);
    s_staged_t *staged = s_stage(self, S_RESULT, host->name, routing_id, msg);
    rollout_result_record(self->rollout, host->name, msg, &staged->result);
}

/* An ERROR from a registered agent may answer an APPLY: the rollout
 * hears of it once the burst is committed. */
static void s_on_error(agents_t *self, zframe_t *routing_id,
                       const char *route_key, const vfp_msg_t *msg)
{
    session_t *host = sessions_find_route(self->sessions, route_key);
    if (!self->rollout || !host)
        return;
    s_staged_t *staged = s_stage(self, S_REFUSAL, host->name, routing_id, msg);
    staged->error = vfp_msg_new(VFP_ERROR);
    staged->error->request_id = msg->request_id;
    staged->error->u.error = msg->u.error;
}

/* Refuses a message whose key may not speak for the host it is about:
 * a HELLO naming another host (a security event), a key whose role is
 * not host, or a connection that took over the routing id of another
 * host's session. An ERROR is dropped unanswered (PROTOCOL.md 7.6). */
static void s_refuse_key(agents_t *self, zframe_t *routing_id,
                         const vfp_msg_t *msg, const char *name,
                         const char *role, const char *claimed, zlistx_t *out)
{
    const char *what = vfp_id_name(msg->id);
    peer_limit_warnx(self->cfg.limits, routing_id,
                     "the key of %s (role %s) sent %s for host %s; refused",
                     name ? name : "?", role ? role : "none", what, claimed);
    int64_t now = zclock_mono();
    if (msg->id == VFP_HELLO && self->security_mono &&
        now - self->security_mono < S_SECURITY_EVENT_MS)
        self->security_skipped++;
    else if (msg->id == VFP_HELLO) {
        controller_event(self->db, "security", claimed,
                         "HELLO for host %s refused: the connection's key is "
                         "%s's (role %s); %llu more refused since the last "
                         "event",
                         claimed, name ? name : "?", role ? role : "none",
                         (unsigned long long)self->security_skipped);
        self->security_mono = now;
        self->security_skipped = 0;
    }
    if (msg->id != VFP_ERROR)
        agents_out_queue(
            out, routing_id,
            wire_error_new(msg->version, msg->request_id, VFP_ERR_DENIED,
                           "this connection's key is not host %s's", claimed));
}

/* With CURVE, the host a message speaks for is its key's "name"
 * (docs/SECURITY.md, "Forged host records"). Returns whether it may go
 * on. */
static bool s_key_allows(agents_t *self, zframe_t *routing_id,
                         const vfp_keys_peer_t *key, const char *route_key,
                         const vfp_msg_t *msg, zlistx_t *out)
{
    const char *name = key && key->name[0] ? key->name : NULL;
    const char *role = key && key->role[0] ? key->role : NULL;
    const char *claimed = NULL;
    if (msg->id == VFP_HELLO) {
        claimed = msg->u.hello.hostname;
    } else {
        session_t *host = sessions_find_route(self->sessions, route_key);
        claimed = host ? host->name : NULL;
    }
    bool host_key = name && role && strcmp(role, VFP_KEYS_ROLE_HOST) == 0;
    if (host_key && (!claimed || strcmp(claimed, name) == 0))
        return true;
    s_refuse_key(self, routing_id, msg, name, role, claimed ? claimed : "?",
                 out);
    return false;
}

static void s_not_welcome(agents_t *self, zframe_t *routing_id,
                          const vfp_msg_t *msg, zlistx_t *out)
{
    peer_limit_warnx(self->cfg.limits, routing_id,
                     "%s from an agent that never said HELLO; dropped",
                     vfp_id_name(msg->id));
    agents_out_queue(out, routing_id,
                     wire_error_new(msg->version, msg->request_id,
                                    VFP_ERR_NOT_WELCOME, "send HELLO first"));
}

void agents_handle(agents_t *self, zframe_t *routing_id,
                   const vfp_keys_peer_t *key, const vfp_msg_t *msg,
                   zlistx_t *out)
{
    char route_key[SESSIONS_ROUTE_KEY_MAX];
    sessions_route_key(routing_id, route_key);
    if (self->cfg.keyed &&
        !s_key_allows(self, routing_id, key, route_key, msg, out))
        return;
    if (msg->id == VFP_ERROR) {
        /* Never answered, whatever it says (PROTOCOL.md 7.6). */
        peer_limit_warnx(
            self->cfg.limits, routing_id, "an agent reports %s: %s",
            vfp_errcode_name(msg->u.error.code), msg->u.error.text);
        s_on_error(self, routing_id, route_key, msg);
        return;
    }
    if (msg->id == VFP_HELLO) {
        s_on_hello(self, routing_id, key, route_key, msg, out);
        return;
    }
    session_t *host = sessions_find_route(self->sessions, route_key);
    if (!host) {
        s_not_welcome(self, routing_id, msg, out);
        return;
    }
    switch (msg->id) {
    case VFP_INVENTORY:
    case VFP_INVENTORY_DELTA:
        s_host_alive(self, host, routing_id, msg);
        s_on_inventory(self, host, routing_id, msg, out);
        break;
    case VFP_HEARTBEAT: {
        s_host_alive(self, host, routing_id, msg);
        s_staged_t *beat = s_stage(self, S_BEAT, host->name, routing_id, msg);
        beat->generation = msg->u.heartbeat.generation;
        beat->applied_revision = msg->u.heartbeat.applied_revision;
        break;
    }
    case VFP_APPLY_RESULT:
        if (!self->rollout)
            goto unexpected;
        s_host_alive(self, host, routing_id, msg);
        s_on_result(self, host, routing_id, msg);
        break;
    default:
    unexpected:
        peer_limit_warnx(self->cfg.limits, routing_id,
                         "host %s: unexpected %s; dropped", host->name,
                         vfp_id_name(msg->id));
        agents_out_queue(out, routing_id,
                         wire_error_new(msg->version, msg->request_id,
                                        VFP_ERR_UNEXPECTED,
                                        "%s is not expected from an agent",
                                        vfp_id_name(msg->id)));
        break;
    }
}

void agents_handle_undecodable(agents_t *self, zframe_t *routing_id,
                               const vfp_decode_error_t *err, zlistx_t *out)
{
    vfp_msg_t *answer = wire_decode_error_new(err);
    peer_limit_warnx(self->cfg.limits, routing_id,
                     "malformed message from an agent: %s: %s; %s", err->field,
                     err->text,
                     answer             ? "answered"
                     : err->peer_header ? "an ERROR, not answered"
                                        : "no readable header, dropped");
    if (answer)
        agents_out_queue(out, routing_id, answer);
}

static void s_apply_register(agents_t *self, s_staged_t *staged, zlistx_t *out)
{
    session_t *host = sessions_find(self->sessions, staged->host);
    if (!host)
        host = sessions_add(self->sessions, staged->host);
    else if (host->routing_id &&
             !zframe_eq(host->routing_id, staged->routing_id))
        vfp_log_info("host %s: new agent session replaces the old one",
                     host->name);
    sessions_attach(self->sessions, host, staged->routing_id, staged->version,
                    zclock_mono(), controller_now_ms());
    snprintf(host->key, sizeof(host->key), "%s", staged->key);
    vfp_log_info("host %s %s (protocol %u)", host->name, staged->note,
                 staged->version);
    agents_out_queue(out, staged->routing_id, staged->answer);
    staged->answer = NULL;
    s_hook(self, self->hooks.host_state, host->name);
}

/* A generation the controller never stored means an update was lost: ask
 * for a full inventory rather than trust the gap. */
static void s_apply_beat(session_t *host, s_staged_t *beat, zlistx_t *out)
{
    bool gap = host->have_inventory && beat->generation != host->generation;
    if (!gap && !host->resync)
        return;
    /* Again at every heartbeat of every host while the disk is full. */
    VFP_LOG_LIMITED(VFP_LOG_INFO,
                    "host %s: heartbeat at generation %llu, stored %s%llu; "
                    "asking for a full inventory",
                    host->name, (unsigned long long)beat->generation,
                    host->resync ? "none of " : "",
                    (unsigned long long)host->generation);
    host->have_inventory = false;
    host->resync = false;
    agents_out_queue(out, beat->routing_id,
                     wire_error_new(beat->version, beat->request_id,
                                    VFP_ERR_RESYNC,
                                    "heartbeat generation %llu is not a stored "
                                    "generation",
                                    (unsigned long long)beat->generation));
}

/* The burst is durable: memory takes on what it stored. */
static void s_apply(agents_t *self, s_staged_t *staged, zlistx_t *out)
{
    if (staged->kind == S_REGISTER) {
        s_apply_register(self, staged, out);
        return;
    }
    session_t *host = sessions_find(self->sessions, staged->host);
    if (!host)
        return;
    switch (staged->kind) {
    case S_STORED:
        host->generation = staged->generation;
        host->resync = false;
        if (staged->full)
            host->have_inventory = true;
        vfp_log_debug("host %s: generation %llu stored", host->name,
                      (unsigned long long)staged->generation);
        if (self->rollout)
            rollout_inventory_stored(self->rollout, host, staged->full, out);
        if (self->hooks.host_inventory && staged->matters)
            self->hooks.host_inventory(self->hooks.arg, host->name,
                                       staged->full);
        break;
    case S_UP:
        sessions_mark_up(self->sessions, host);
        vfp_log_info("host %s is ready again", host->name);
        s_hook(self, self->hooks.host_state, host->name);
        break;
    case S_RESULT:
        rollout_result_committed(self->rollout, host, &staged->result, out);
        if (staged->result.stored)
            s_hook(self, self->hooks.host_result, host->name);
        break;
    case S_REFUSAL:
        rollout_agent_error(self->rollout, host, staged->error, out);
        break;
    default:
        s_apply_beat(host, staged, out);
        if (self->rollout)
            rollout_heartbeat(self->rollout, host, staged->applied_revision,
                              out);
        break;
    }
}

/* The burst was lost: memory keeps what it had, and the agents are asked
 * to send again what it held. */
static void s_forget(agents_t *self, s_staged_t *staged, zlistx_t *out)
{
    session_t *host = sessions_find(self->sessions, staged->host);
    switch (staged->kind) {
    case S_REGISTER:
        agents_out_queue(
            out, staged->routing_id,
            wire_error_new(staged->version, staged->request_id,
                           VFP_ERR_INTERNAL,
                           "controller could not store the registration; "
                           "say HELLO again"));
        break;
    case S_STORED:
        if (host)
            host->resync = true;
        break;
    case S_UP:
    case S_REFUSAL:
        break;
    case S_RESULT:
        /* The agent does not send it again: the APPLY goes again once
         * its window has passed, and its new answer is stored. */
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: APPLY_RESULT revision %llu lost with the "
                        "burst",
                        staged->host,
                        (unsigned long long)staged->result.revision);
        break;
    default:
        if (host)
            s_apply_beat(host, staged, out);
        break;
    }
}

void agents_commit(agents_t *self, zlistx_t *out)
{
    bool stored = true;
    if (self->batch_open) {
        self->batch_open = false;
        db_err_t err;
        uint64_t started = stats_clock_ns();
        int rc = db_batch_commit(self->db, &err);
        stats_db_commit(started);
        if (rc != 0) {
            VFP_LOG_LIMITED(VFP_LOG_ERROR,
                            "cannot commit agent updates: %s; the agents "
                            "will be asked to send them again",
                            err.text);
            stored = false;
        }
    }
    for (s_staged_t *staged = zlistx_first(self->staged); staged;
         staged = zlistx_next(self->staged)) {
        if (stored)
            s_apply(self, staged, out);
        else
            s_forget(self, staged, out);
    }
    zlistx_purge(self->staged);
}

void agents_flush(agents_t *self)
{
    size_t count = 0, size = sessions_size(self->sessions);
    const char **names = calloc(size + 1, sizeof(*names));
    int64_t *times = calloc(size + 1, sizeof(*times));
    assert(names && times);
    for (size_t i = 0; i < size; i++) {
        session_t *host = sessions_at(self->sessions, i);
        if (host->seen_unflushed) {
            names[count] = host->name;
            times[count++] = host->last_seen_ms;
        }
    }
    db_err_t err;
    if (db_hosts_touch(self->db, names, times, count, &err) == 0) {
        for (size_t i = 0; i < size; i++)
            sessions_at(self->sessions, i)->seen_unflushed = false;
    } else {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot store last_seen: %s", err.text);
    }
    free(names);
    free(times);
    self->flushed_mono = zclock_mono();
}

static void s_mark_down(agents_t *self, session_t *host, int64_t silent_ms)
{
    db_err_t err;
    if (db_host_set_state(self->db, host->name, DB_HOST_DOWN, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: %s", host->name, err.text);
        return;
    }
    /* The session stays mapped: if the agent was only slow, its next
     * message brings the host back without a new HELLO. */
    sessions_mark_down(self->sessions, host);
    vfp_log_warnx("host %s is down: nothing heard for %lld ms (%u missed "
                  "heartbeats)",
                  host->name, (long long)silent_ms, self->cfg.dead_after);
    controller_event(self->db, "host-down", host->name,
                     "nothing heard for %lld ms", (long long)silent_ms);
    s_hook(self, self->hooks.host_state, host->name);
}

size_t agents_revoke(agents_t *self,
                     bool (*authorised)(void *arg, const char *key), void *arg)
{
    size_t count = 0, size = sessions_size(self->sessions);
    for (size_t i = 0; i < size; i++) {
        session_t *host = sessions_at(self->sessions, i);
        if (!host->routing_id || !host->key[0] || authorised(arg, host->key))
            continue;
        vfp_log_warnx("host %s: its key was revoked; session closed",
                      host->name);
        sessions_detach(self->sessions, host);
        count++;
        if (host->down)
            continue;
        db_err_t err;
        if (db_host_set_state(self->db, host->name, DB_HOST_DOWN, &err) != 0) {
            VFP_LOG_LIMITED(VFP_LOG_WARN, "host %s: %s", host->name, err.text);
            continue;
        }
        sessions_mark_down(self->sessions, host);
        controller_event(self->db, "host-down", host->name,
                         "its key was revoked");
        s_hook(self, self->hooks.host_state, host->name);
    }
    return count;
}

void agents_check_liveness(agents_t *self, int64_t now)
{
    /* Heartbeats only touch memory; last_seen reaches the db in one
     * transaction every AGENTS_FLUSH_MS, and before a host is marked down
     * (so its row says when it was last heard). */
    int64_t limit = (int64_t)self->cfg.heartbeat_ms * self->cfg.dead_after;
    bool due = now - self->flushed_mono >= AGENTS_FLUSH_MS;
    size_t size = sessions_size(self->sessions);
    for (size_t i = 0; i < size && !due; i++) {
        const session_t *host = sessions_at(self->sessions, i);
        due = !host->down && host->seen_unflushed &&
              now - host->last_seen_mono > limit;
    }
    if (due)
        agents_flush(self);
    for (size_t i = 0; i < size; i++) {
        session_t *host = sessions_at(self->sessions, i);
        if (!host->down && now - host->last_seen_mono > limit)
            s_mark_down(self, host, now - host->last_seen_mono);
    }
}
