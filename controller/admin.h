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
 * UNEXPECTED to anything else, NULL to an ERROR (never answered). A write
 * verb (admin_is_write_verb) gets REPLY INTERNAL: only the server actor
 * reaches the main thread that runs them. */
vfp_msg_t *admin_handle(admin_t *self, const vfp_msg_t *msg);

/* Whether a verb writes ("policy.apply", "policy.rollback"): the server
 * actor hands those to the controller's main thread, which owns the write
 * connection. */
bool admin_is_write_verb(const char *verb);

/* The i-th verb the admin API knows, reads then writes; NULL past the
 * last. */
const char *admin_verb_name(size_t i);

/* Write requests forwarded and not yet answered, at most; beyond, a write
 * request is answered at once with REPLY INTERNAL "busy: ...". */
#define ADMIN_WRITES_QUEUED_MAX 64

/* Serves the admin socket in its own thread, so that no listing ever
 * delays the agents' loop. args is an admin_server_args_t; the socket,
 * handlers and everything they use must outlive the actor. */
typedef struct {
    zsock_t *sock; /* the bound admin ROUTER */
    admin_t *admin;
    peer_limit_t *limits; /* per-client budgets; NULL for none */
} admin_server_args_t;

/* The server actor: answers read verbs itself and forwards write verbs
 * over its pipe. The controller's main thread reads them from the actor's
 * socket (zactor_sock) with admin_write_recv and answers each, in any
 * order, with admin_write_answer; the actor sends the answer to the
 * client. */
void admin_server_actor(zsock_t *pipe, void *args);

/* Receives one forwarded write REQUEST (owned by the caller) and its
 * client's routing id (*client_p, to hand back); NULL when the pipe held
 * something else, which is dropped. */
vfp_msg_t *admin_write_recv(zsock_t *actor, zframe_t **client_p);

/* Hands the REPLY to a forwarded request back to the actor, which sends it
 * to the client; takes both. */
void admin_write_answer(zsock_t *actor, zframe_t **client_p,
                        vfp_msg_t **reply_p);

/* Tells the actor that a forwarded request was parked (vm.create --wait):
 * it no longer counts against ADMIN_WRITES_QUEUED_MAX, and its answer
 * comes later through admin_write_answer_later. */
void admin_write_parked(zsock_t *actor);

/* Hands the REPLY to a parked request to the actor; takes both. */
void admin_write_answer_later(zsock_t *actor, zframe_t **client_p,
                              vfp_msg_t **reply_p);

#endif
