/* admin.h - the admin API (ADMIN.md): REQUEST verbs answered with JSON
 * REPLY bodies, read from a database connection and the session table. */
#ifndef VFLEET_ADMIN_H
#define VFLEET_ADMIN_H

#include <czmq.h>

#include "peer_limit.h"
#include "sessions.h"
#include "vfleet_db.h"
#include "vfp.h"

typedef struct {
    const char *controller_id;
    int64_t started_ms;
    uint32_t heartbeat_ms;
} admin_config_t;

typedef struct admin_t admin_t;

/* Handlers reading db (a read-only connection will do) and sessions;
 * neither is owned. cfg is copied; its strings must outlive the handlers. */
admin_t *admin_new(db_t *db, sessions_t *sessions, const admin_config_t *cfg);
void admin_destroy(admin_t **self_p);

/* The answer to one decoded message: a REPLY to a REQUEST, ERROR
 * UNEXPECTED to anything else, NULL to an ERROR (never answered). */
vfp_msg_t *admin_handle(admin_t *self, const vfp_msg_t *msg);

/* Serves the admin socket in its own thread, so that no listing ever
 * delays the agents' loop. args is an admin_server_args_t; the socket,
 * handlers and everything they use must outlive the actor. */
typedef struct {
    zsock_t *sock; /* the bound admin ROUTER */
    admin_t *admin;
    peer_limit_t *limits; /* per-client budgets; NULL for none */
} admin_server_args_t;

void admin_server_actor(zsock_t *pipe, void *args);

#endif
