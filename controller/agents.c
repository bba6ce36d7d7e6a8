/* agents.c - the agent side of the controller: HELLO/WELCOME sessions,
 * inventory ingestion, heartbeats and host liveness. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "controller_int.h"
#include "vfp_log.h"
#include "vfp_transport.h"

/* At most this many queued agent messages are handled per drain, so the
 * admin socket and the liveness timer are never starved by a flood. */
#define S_BATCH_MAX 256

static void s_host_free(void **item)
{
    host_session_t *host = *item;
    if (host) {
        zframe_destroy(&host->routing_id);
        free(host);
        *item = NULL;
    }
}

static void s_route_key(zframe_t *routing_id, char *key, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *data = zframe_data(routing_id);
    size_t len = zframe_size(routing_id);
    size_t i;
    for (i = 0; i < len && 2 * i + 2 < size; i++) {
        key[2 * i] = hex[data[i] >> 4];
        key[2 * i + 1] = hex[data[i] & 15];
    }
    key[2 * i] = '\0';
}

static host_session_t *s_host_add(controller_t *self, const char *name)
{
    host_session_t *host = calloc(1, sizeof(*host));
    assert(host);
    snprintf(host->name, sizeof(host->name), "%s", name);
    host->last_seen_mono = zclock_mono();
    zhashx_insert(self->hosts, host->name, host);
    return host;
}

static int s_load_host(const db_host_row_t *row, void *arg)
{
    controller_t *self = arg;
    host_session_t *host = s_host_add(self, row->name);
    host->down = strcmp(row->state, "down") == 0;
    host->generation = row->generation;
    return 0;
}

int agents_load(controller_t *self, char *err, size_t errlen)
{
    self->hosts = zhashx_new();
    zhashx_set_destructor(self->hosts, s_host_free);
    self->routes = zhashx_new();
    /* Hosts that were ready when the controller stopped get a full
     * dead-after period from now to reconnect before they count as down. */
    db_err_t dberr;
    if (db_hosts_list(self->db, s_load_host, self, &dberr) != 0) {
        snprintf(err, errlen, "%s", dberr.text);
        return -1;
    }
    return 0;
}

size_t agents_connected(controller_t *self)
{
    return zhashx_size(self->routes);
}

static void s_send(controller_t *self, zframe_t *routing_id,
                   const vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    if (vfp_send(self->agents, routing_id, msg, &err) != 0) {
        if (err.code != VFP_OK)
            vfp_log_warnx("cannot encode %s: %s: %s", vfp_id_name(msg->id),
                      err.field, err.text);
        else
            vfp_log_warn("cannot send %s to an agent", vfp_id_name(msg->id));
    }
}

static void s_send_error(controller_t *self, zframe_t *routing_id,
                         uint32_t request_id, vfp_errcode_t code,
                         const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void s_send_error(controller_t *self, zframe_t *routing_id,
                         uint32_t request_id, vfp_errcode_t code,
                         const char *fmt, ...)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_ERROR);
    msg->request_id = request_id;
    msg->u.error.code = (uint16_t)code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->u.error.text, sizeof(msg->u.error.text), fmt, ap);
    va_end(ap);
    s_send(self, routing_id, msg);
    vfp_msg_destroy(&msg);
}

/* Any message from a live session proves the host is alive. */
static void s_host_alive(controller_t *self, host_session_t *host)
{
    host->last_seen_mono = zclock_mono();
    host->last_seen_ms = controller_now_ms();
    host->seen_unflushed = true;
    if (!host->down)
        return;
    db_err_t err;
    if (db_host_set_state(self->db, host->name, "ready", &err) != 0) {
        vfp_log_warnx("host %s: %s", host->name, err.text);
        return;
    }
    host->down = false;
    vfp_log_info("host %s is ready again", host->name);
    controller_event(self, "host-up", host->name, "agent is back");
}

static void s_on_hello(controller_t *self, zframe_t *routing_id,
                       const char *route_key, const vfp_msg_t *msg)
{
    const vfp_hello_t *hello = &msg->u.hello;
    int version = vfp_version_choose(hello->proto_min, hello->proto_max);
    if (version < 0) {
        vfp_log_warnx("host %s: agent speaks protocol %u..%u, this controller "
                  "%d..%d; not registered",
                  hello->hostname, hello->proto_min, hello->proto_max,
                  VFP_VERSION_MIN, VFP_VERSION);
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_VERSION,
                     "agent speaks protocol versions %u..%u, controller "
                     "speaks %d..%d",
                     hello->proto_min, hello->proto_max, VFP_VERSION_MIN,
                     VFP_VERSION);
        return;
    }
    if (hello->hostname[0] == '\0') {
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_INVALID,
                     "HELLO has an empty hostname");
        return;
    }

    host_session_t *route = zhashx_lookup(self->routes, route_key);
    if (route && strcmp(route->name, hello->hostname) != 0) {
        /* One connection speaks for one host for its whole life. */
        vfp_log_warnx("session of host %s sent HELLO for %s; refused", route->name,
                  hello->hostname);
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_DENIED,
                     "this session belongs to host %s", route->name);
        return;
    }

    bool was_down = false;
    db_err_t err;
    if (db_host_hello(self->db, hello, (uint8_t)version, controller_now_ms(),
                      &was_down, &err) != 0) {
        vfp_log_warnx("host %s: %s", hello->hostname, err.text);
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_INTERNAL,
                     "controller could not register the host");
        return;
    }
    host_session_t *host = zhashx_lookup(self->hosts, hello->hostname);
    bool is_new = host == NULL;
    if (is_new)
        host = s_host_add(self, hello->hostname);
    if (host->routing_id && strcmp(host->route_key, route_key) != 0) {
        vfp_log_info("host %s: new agent session replaces the old one", host->name);
        zhashx_delete(self->routes, host->route_key);
    }
    zframe_destroy(&host->routing_id);
    host->routing_id = zframe_dup(routing_id);
    snprintf(host->route_key, sizeof(host->route_key), "%s", route_key);
    zhashx_update(self->routes, host->route_key, host);
    host->proto_version = (uint8_t)version;
    host->have_inventory = false;
    host->last_seen_mono = zclock_mono();
    host->last_seen_ms = controller_now_ms();
    host->seen_unflushed = false;
    if (is_new) {
        vfp_log_info("host %s registered (agent %s, protocol %d)", host->name,
                 hello->agent_version, version);
        controller_event(self, "host-registered", host->name,
                         "agent %s, protocol %d", hello->agent_version,
                         version);
    } else if (host->down || was_down) {
        vfp_log_info("host %s is ready again (agent %s)", host->name,
                 hello->agent_version);
        controller_event(self, "host-up", host->name, "agent %s reconnected",
                         hello->agent_version);
    } else {
        vfp_log_info("host %s connected (agent %s)", host->name,
                 hello->agent_version);
    }
    host->down = false;

    vfp_msg_t *welcome = vfp_msg_new(VFP_WELCOME);
    welcome->version = (uint8_t)version;
    welcome->request_id = msg->request_id;
    welcome->u.welcome.proto_version = (uint8_t)version;
    welcome->u.welcome.heartbeat_ms = self->cfg.heartbeat_ms;
    snprintf(welcome->u.welcome.controller_id,
             sizeof(welcome->u.welcome.controller_id), "%s",
             self->controller_id);
    s_send(self, routing_id, welcome);
    vfp_msg_destroy(&welcome);
}

static vfp_errcode_t s_wire_code(db_errcode_t code)
{
    switch (code) {
    case DB_ERR_INVALID:
        return VFP_ERR_INVALID;
    case DB_ERR_RESYNC:
        return VFP_ERR_RESYNC;
    default:
        return VFP_ERR_INTERNAL;
    }
}

static void s_on_inventory(controller_t *self, host_session_t *host,
                           const vfp_msg_t *msg)
{
    db_err_t err;
    int rc;
    uint64_t generation;
    if (msg->id == VFP_INVENTORY) {
        generation = msg->u.inventory.generation;
        rc = db_inventory_replace(self->db, host->name, &msg->u.inventory,
                                  controller_now_ms(), &err);
    } else {
        generation = msg->u.delta.generation;
        rc = db_inventory_apply_delta(self->db, host->name, &msg->u.delta,
                                      controller_now_ms(), &err);
    }
    if (rc != 0) {
        if (err.code == DB_ERR_INVALID || err.code == DB_ERR_RESYNC)
            vfp_log_warnx("host %s: %s dropped: %s", host->name,
                      vfp_id_name(msg->id), err.text);
        else
            vfp_log_error("host %s: cannot store %s: %s", host->name,
                      vfp_id_name(msg->id), err.text);
        s_send_error(self, host->routing_id, msg->request_id,
                     s_wire_code(err.code), "%s", err.text);
        return;
    }
    host->generation = generation;
    if (msg->id == VFP_INVENTORY)
        host->have_inventory = true;
    vfp_log_debug("host %s: %s generation %llu stored", host->name,
              vfp_id_name(msg->id), (unsigned long long)generation);
}

static void s_on_heartbeat(controller_t *self, host_session_t *host,
                           const vfp_msg_t *msg)
{
    /* A generation the controller never stored means an update was lost:
     * ask for a full inventory rather than trust the gap. */
    if (host->have_inventory &&
        msg->u.heartbeat.generation != host->generation) {
        vfp_log_info("host %s: heartbeat at generation %llu, stored %llu; "
                 "asking for a full inventory",
                 host->name, (unsigned long long)msg->u.heartbeat.generation,
                 (unsigned long long)host->generation);
        host->have_inventory = false;
        s_send_error(self, host->routing_id, msg->request_id, VFP_ERR_RESYNC,
                     "heartbeat generation %llu is not the stored %llu",
                     (unsigned long long)msg->u.heartbeat.generation,
                     (unsigned long long)host->generation);
    }
}

/* Opens one write transaction for the rest of the burst, on the first
 * message that writes: a burst of heartbeats writes nothing. */
static void s_batch(controller_t *self)
{
    if (self->batch_open)
        return;
    db_err_t err;
    if (db_batch_begin(self->db, &err) == 0)
        self->batch_open = true;
    else
        vfp_log_warnx("cannot start a batch, writing one by one: %s", err.text);
}

static void s_handle(controller_t *self, zframe_t *routing_id,
                     const vfp_msg_t *msg)
{
    char route_key[sizeof(((host_session_t *)0)->route_key)];
    s_route_key(routing_id, route_key, sizeof(route_key));
    if (msg->id == VFP_HELLO) {
        s_batch(self);
        s_on_hello(self, routing_id, route_key, msg);
        return;
    }
    host_session_t *host = zhashx_lookup(self->routes, route_key);
    if (!host) {
        vfp_log_warnx("%s from an agent that never said HELLO; dropped",
                  vfp_id_name(msg->id));
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_NOT_WELCOME,
                     "send HELLO first");
        return;
    }
    switch (msg->id) {
    case VFP_INVENTORY:
    case VFP_INVENTORY_DELTA:
        s_batch(self);
        s_host_alive(self, host);
        s_on_inventory(self, host, msg);
        break;
    case VFP_HEARTBEAT:
        s_host_alive(self, host);
        s_on_heartbeat(self, host, msg);
        break;
    default:
        vfp_log_warnx("host %s: unexpected %s; dropped", host->name,
                  vfp_id_name(msg->id));
        s_send_error(self, routing_id, msg->request_id, VFP_ERR_UNEXPECTED,
                     "%s is not expected from an agent", vfp_id_name(msg->id));
        break;
    }
}

int agents_on_drain(zloop_t *loop, int timer_id, void *arg)
{
    controller_t *self = arg;
    zsock_t *sock = self->agents;
    for (int i = 0; i < S_BATCH_MAX; i++) {
        if (!(zsock_events(sock) & ZMQ_POLLIN))
            break;
        zframe_t *routing_id = NULL;
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_recv(sock, &routing_id, &err);
        if (!msg) {
            if (err.code != VFP_OK && routing_id) {
                vfp_log_warnx("malformed message from an agent: %s: %s; dropped",
                          err.field, err.text);
                s_send_error(self, routing_id, 0, err.code, "%s: %s", err.field,
                             err.text);
            }
            zframe_destroy(&routing_id);
            if (err.code == VFP_OK)
                break;
            continue;
        }
        s_handle(self, routing_id, msg);
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
    }
    /* A stop signal lets the burst finish and commit before the loop
     * ends. */
    if (self->batch_open) {
        self->batch_open = false;
        db_err_t err;
        if (db_batch_commit(self->db, &err) != 0)
            vfp_log_error("cannot commit agent updates: %s", err.text);
    }
    return 0;
}

void agents_flush(controller_t *self)
{
    size_t count = 0, size = zhashx_size(self->hosts) + 1;
    const char **names = calloc(size, sizeof(*names));
    int64_t *times = calloc(size, sizeof(*times));
    assert(names && times);
    for (host_session_t *host = zhashx_first(self->hosts); host;
         host = zhashx_next(self->hosts)) {
        if (host->seen_unflushed) {
            names[count] = host->name;
            times[count++] = host->last_seen_ms;
            host->seen_unflushed = false;
        }
    }
    db_err_t err;
    if (db_hosts_touch(self->db, names, times, count, &err) != 0)
        vfp_log_warnx("cannot store last_seen: %s", err.text);
    free(names);
    free(times);
    self->flushed_mono = zclock_mono();
}

int agents_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    controller_t *self = arg;
    int64_t now = zclock_mono();
    /* Heartbeats only touch memory; last_seen reaches the db in one
     * transaction every CONTROLLER_FLUSH_MS, and before a host is marked
     * down (so its row says when it was last heard). */
    int64_t limit = (int64_t)self->cfg.heartbeat_ms * self->cfg.dead_after;
    bool due = now - self->flushed_mono >= CONTROLLER_FLUSH_MS;
    for (host_session_t *host = zhashx_first(self->hosts); host && !due;
         host = zhashx_next(self->hosts))
        due = !host->down && host->seen_unflushed &&
              now - host->last_seen_mono > limit;
    if (due)
        agents_flush(self);
    for (host_session_t *host = zhashx_first(self->hosts); host;
         host = zhashx_next(self->hosts)) {
        if (host->down || now - host->last_seen_mono <= limit)
            continue;
        db_err_t err;
        if (db_host_set_state(self->db, host->name, "down", &err) != 0) {
            vfp_log_warnx("host %s: %s", host->name, err.text);
            continue;
        }
        host->down = true;
        /* The session stays mapped: if the agent was only slow, its next
         * message brings the host back without a new HELLO. */
        vfp_log_warnx("host %s is down: nothing heard for %lld ms (%u missed "
                  "heartbeats)",
                  host->name, (long long)(now - host->last_seen_mono),
                  self->cfg.dead_after);
        controller_event(self, "host-down", host->name,
                         "nothing heard for %lld ms",
                         (long long)(now - host->last_seen_mono));
    }
    return 0;
}
