/* session.h - the agent's conversation with the controller. */
#ifndef VFLEET_SESSION_H
#define VFLEET_SESSION_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "discover.h"
#include "privsep.h"

typedef struct {
    const char *endpoint;  /* "tcp://HOST:7450" */
    uint32_t heartbeat_ms; /* until the controller's WELCOME sets it */
    uint32_t rescan_ms;    /* periodic rescan; netlink link events too */
    unsigned miss_limit;   /* silent heartbeat intervals before reconnect */
    double backoff_min_s;  /* first reconnect delay, doubling ... */
    double backoff_max_s;  /* ... up to this */
    const char *state_dir; /* where the last APPLY is kept */
    bool insecure;         /* plaintext: warned at start and every hour */
    /* CURVE (not owned): this host's secret certificate and the
     * controller's public one; NULL with insecure. */
    zcert_t *cert;
    zcert_t *controller_cert;
    discover_opts_t discover;
    privsep_t *writer; /* the writer process's channel (main.c starts it) */
} session_opts_t;

/* Sets the defaults: heartbeat 2 s, rescan 10 s, miss_limit 3, backoff
 * 0.5 s doubling to 30 s, state in /var/lib/vfleet-agent, live /sys and
 * /proc. */
void session_opts_init(session_opts_t *opts);

/* Runs until SIGINT/SIGTERM, every kernel write going through
 * opts->writer: re-applies the desired state stored in
 * state_dir, then HELLO, WELCOME, full INVENTORY, HEARTBEATs and
 * INVENTORY_DELTAs when a rescan finds a change; APPLYs are stored, applied
 * and answered, and drift from the stored one is logged; reconnects with
 * backoff when the controller goes quiet. Returns 0 on a
 * clean stop, -1 with err when it cannot run at all or the writer process
 * is gone. */
int session_run(const session_opts_t *opts, char *err, size_t errlen);

#endif
