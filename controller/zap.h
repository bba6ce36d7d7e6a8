/* zap.h - the controller's ZAP handler (ZeroMQ RFC 27) for its CURVE
 * sockets: a client whose public key the key directory authorises is let
 * in, with the certificate's name and role as the connection's metadata
 * and its public key as User-Id; any other is refused. It takes the place
 * of czmq's zauth, whose certificate store reads every file of the
 * directory on each handshake: with thousands of host keys, a reconnect of
 * every agent took minutes (controller/README.md, "CURVE"). */
#ifndef VFLEET_ZAP_H
#define VFLEET_ZAP_H

#include <czmq.h>

#include "keyset.h"

/* The ZAP endpoint of czmq's context, bound by a REP socket; NULL with
 * the reason in err (another handler already bound it). Only one may
 * exist per process: every CURVE socket made by czmq in it is then
 * checked through this one. */
zsock_t *zap_handler_new(char *err, size_t errlen);

typedef struct {
    const char *dir;  /* the key directory; must outlive the actor */
    zsock_t *handler; /* from zap_handler_new; the actor takes it */
} zap_args_t;

/* The handler as a zactor_fn (args: a zap_args_t that must outlive the
 * actor): answers every ZAP request until $TERM. */
void zap_actor(zsock_t *pipe, void *args);

/* Handles one ZAP request already received (frames as RFC 27 has them)
 * against keys; returns the reply to send. Exposed for tests. */
zmsg_t *zap_answer(keyset_t *keys, zmsg_t *request);

#endif
