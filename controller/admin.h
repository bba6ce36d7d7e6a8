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
 * UNEXPECTED to anything else, NULL to an ERROR (never answered). A verb
 * the main thread runs (admin_verb_on_main) gets REPLY INTERNAL: only the
 * server actor reaches that thread. Roles are not checked here: the actor
 * does that first (admin_access). */
vfp_msg_t *admin_handle(admin_t *self, const vfp_msg_t *msg);

/* What a verb does to the cluster, which decides the roles that may run
 * it (ADMIN.md, "Access"). Numbered from 1, so that a verb whose table row
 * names no class is caught. */
typedef enum {
    ADMIN_VERB_READS = 1, /* reads, or writes nothing (plan) */
    ADMIN_VERB_CHANGES,   /* asks for a change to the cluster */
} admin_verb_class_t;

/* The class of a verb the admin API knows; -1 for any other. */
int admin_verb_class(const char *verb, admin_verb_class_t *class_p);

/* Whether the server actor hands the verb to the controller's main
 * thread, which owns the write connection and the placement index. */
bool admin_verb_on_main(const char *verb);

/* The i-th verb the admin API knows, in the order of its dispatch table;
 * NULL past the last. */
const char *admin_verb_name(size_t i);

/* Whether a client may run verb. role and name are its key's "role" and
 * "name" (the ZAP properties of its connection), NULL when absent; keyed
 * says whether the connection was authenticated with a key (CURVE). No
 * key at all (ipc, --insecure) is full admin; a key with role admin may
 * run every verb, read-only the verbs of class ADMIN_VERB_READS, and any
 * other key (host, no role, an unknown role) nothing. Returns VFP_OK, or
 * VFP_ERR_DENIED with the reason in error, naming the key and the verb. A
 * verb the API does not know is allowed: dispatch answers UNKNOWN_VERB. */
vfp_errcode_t admin_access(const char *role, const char *name, bool keyed,
                           const char *verb, char *error, size_t size);

/* Write requests forwarded and not yet answered, at most; beyond, a write
 * request is answered at once with REPLY INTERNAL "busy: ...". */
#define ADMIN_WRITES_QUEUED_MAX 64

/* The answer to a REQUEST over its client's budget (PROTOCOL.md 7.5):
 * INTERNAL with VFP_BUSY_PREFIX and this text, filled with --admin-rate
 * and --peer-bandwidth. Like every busy answer, it says the request was
 * not acted on. */
#define ADMIN_BUSY_RATE_FORMAT                                                 \
    "over this client's budget of %u requests and %u MiB a second; "           \
    "not acted on, retry later"

/* Serves the admin socket in its own thread, so that no listing ever
 * delays the agents' loop. args is an admin_server_args_t; the socket,
 * handlers and everything they use must outlive the actor. */
typedef struct {
    zsock_t *sock; /* the bound admin ROUTER */
    admin_t *admin;
    peer_limit_t *limits; /* per-client budgets; NULL for none */
    /* The key directory when the socket is a CURVE server, else NULL: a
     * request made with a key revoked since its connection was admitted
     * is answered DENIED (the actor keeps its own keyset). */
    const char *keys_dir;
} admin_server_args_t;

/* The server actor: answers read verbs itself and forwards write verbs
 * over its pipe. The controller's main thread reads them from the actor's
 * socket (zactor_sock) with admin_write_recv and answers each, in any
 * order, with admin_write_answer; the actor sends the answer to the
 * client. */
void admin_server_actor(zsock_t *pipe, void *args);

/* Receives one forwarded write REQUEST (owned by the caller) and its
 * client's routing id (*client_p, to hand back); NULL at once when the
 * pipe holds nothing, and when it held something else, which is
 * dropped. */
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
