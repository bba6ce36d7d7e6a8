/* test_peer.h - a protocol test peer: speaks the agent side of the vfleet
 * protocol with the real codec, for integration tests and the benchmark. */
#ifndef VFLEET_TEST_PEER_H
#define VFLEET_TEST_PEER_H

#include <czmq.h>
#include <jansson.h>

#include "vfp.h"

typedef struct peer_t peer_t;

/* Peers made from now on are CURVE clients with cert's pair, trusting the
 * server whose public certificate is server (neither is copied: they must
 * outlive the peers). NULL, NULL: plaintext, the default. */
void peer_use_keys(zcert_t *cert, zcert_t *server);

/* Peers made from now on are CURVE clients each with the secret
 * certificate DIR/HOSTNAME.key_secret of its own host name, trusting
 * server (not copied). */
void peer_use_key_dir(const char *dir, zcert_t *server);

/* Connects a DEALER to the controller for one simulated host. */
peer_t *peer_new(const char *endpoint, const char *hostname);
void peer_destroy(peer_t **self_p);

zsock_t *peer_sock(peer_t *self);
const char *peer_hostname(peer_t *self);

/* Sends msg with a fresh request id. Returns 0 or -1. */
int peer_send(peer_t *self, vfp_msg_t *msg);

/* Receives one message within timeout_ms; NULL on timeout or bad input. */
vfp_msg_t *peer_recv(peer_t *self, int timeout_ms);

/* Sends HELLO speaking versions min..max. */
int peer_send_hello(peer_t *self, uint8_t min, uint8_t max);

/* HELLO, then waits for WELCOME; returns the heartbeat interval in ms, or
 * -1 (an ERROR or nothing within timeout_ms). */
int peer_hello(peer_t *self, int timeout_ms);

/* Waits for the answer to the last message sent, a HELLO: as peer_hello,
 * for callers that send many HELLOs before waiting. */
int peer_wait_welcome(peer_t *self, int timeout_ms);

/* A deterministic INVENTORY for host: pfs PFs with vfs VFs each; `variant`
 * changes every VF's VLAN so successive reports differ. */
vfp_msg_t *peer_inventory_new(const char *hostname, uint64_t generation,
                              uint32_t pfs, uint32_t vfs, uint32_t variant);

/* The VFs of an INVENTORY as vfleetctl -o json vfs shows them (fields the
 * agent reports), sorted as the controller sorts them. */
json_t *peer_inventory_vfs_json(const vfp_msg_t *inventory);

#endif
