/* controller_int.h - state shared by the controller's source files: the
 * daemon handle and the per-host session table. Not for other modules. */
#ifndef VFLEET_CONTROLLER_INT_H
#define VFLEET_CONTROLLER_INT_H

#include <czmq.h>

#include "controller.h"
#include "vfleet_db.h"
#include "vfp.h"

/* What the controller knows about one host between database writes. */
typedef struct {
    char name[VFP_HOSTNAME_MAX + 1];
    zframe_t *routing_id; /* current agent session, NULL when none */
    char route_key[2 * 256 + 1];
    uint8_t proto_version;
    int64_t last_seen_mono; /* zclock_mono() of the last message */
    int64_t last_seen_ms;   /* wall clock of the same, for the db */
    bool seen_unflushed;    /* last_seen not yet written to the db */
    bool down;
    bool have_inventory; /* this session sent a full INVENTORY */
    uint64_t generation; /* last generation stored for this session */
} host_session_t;

struct controller_t {
    controller_config_t cfg;
    char controller_id[VFP_NAME_MAX + 1];
    db_t *db;
    int lock_fd;
    zsock_t *agents;
    zsock_t *admin;
    zloop_t *loop;
    zhashx_t *hosts;  /* host name -> host_session_t (owned) */
    zhashx_t *routes; /* routing id hex -> host_session_t (borrowed) */
    int64_t started_ms;
    char ipc_path[4096];  /* admin ipc socket file, "" when tcp */
    bool started;         /* controller_new finished: a stop is recorded */
    bool batch_open;      /* a db batch spans the current burst */
    int64_t flushed_mono; /* when last_seen was last written */
};

/* Wall-clock milliseconds since the Unix epoch. */
int64_t controller_now_ms(void);

/* Records an audit event; failures are logged, never fatal. */
void controller_event(controller_t *self, const char *kind, const char *host,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Loads known hosts from the db into the session table (no sessions). */
int agents_load(controller_t *self, char *err, size_t errlen);

/* The agent socket is drained on a short timer rather than woken for every
 * message: thousands of heartbeats a second then cost a few wake-ups of
 * both the loop and ZeroMQ's I/O thread instead of one each, for at most
 * this much added latency. */
#define AGENTS_DRAIN_MS 5

/* zloop handlers: drain the agent socket, the liveness tick, one admin
 * request. */
int agents_on_drain(zloop_t *loop, int timer_id, void *arg);
int agents_on_tick(zloop_t *loop, int timer_id, void *arg);
int admin_on_message(zloop_t *loop, zsock_t *sock, void *arg);

/* Writes pending last_seen values to the db (the liveness tick does it
 * every CONTROLLER_FLUSH_MS; the admin API shows the in-memory value). */
#define CONTROLLER_FLUSH_MS 10000
void agents_flush(controller_t *self);

/* Number of hosts with a live agent session. */
size_t agents_connected(controller_t *self);

#endif
