/* pending.h - admin requests parked until the controller can answer them
 * (a VM placed once its agent confirms, a policy rolled out), bounded in
 * number and in time. */
#ifndef VFLEET_PENDING_H
#define VFLEET_PENDING_H

#include <czmq.h>
#include <stdint.h>

#include "vfp.h"

/* One parked request: whom to answer, and in which request id and
 * protocol version. `key` names what it waits for ("vm:web-1"). */
typedef struct {
    char key[VFP_NAME_MAX * 2 + 1];
    zframe_t *routing_id; /* owned by the entry */
    uint32_t request_id;
    uint8_t version;
    int64_t deadline_mono; /* zclock_mono() after which it times out */
} pending_entry_t;

typedef struct pending_t pending_t;

/* A table of at most max_entries requests, each answered within
 * timeout_ms of being parked. */
pending_t *pending_new(size_t max_entries, int64_t timeout_ms);
void pending_destroy(pending_t **self_p);

/* Parks a request (copies routing_id). Returns 0, or -1 when the table is
 * full: the caller answers at once, for example with INTERNAL "busy". */
int pending_park(pending_t *self, const char *key, zframe_t *routing_id,
                 uint32_t request_id, uint8_t version, int64_t now_mono);

/* Like pending_park, answered within timeout_ms instead (at most the
 * table's timeout; 0 or less: the table's). */
int pending_park_for(pending_t *self, const char *key, zframe_t *routing_id,
                     uint32_t request_id, uint8_t version, int64_t now_mono,
                     int64_t timeout_ms);

/* Takes the oldest request parked under key out of the table into *out
 * (the caller then owns out->routing_id). Returns 0, or -1 when none. */
int pending_take(pending_t *self, const char *key, pending_entry_t *out);

/* Takes the first request, in parking order, whose deadline has passed
 * into *out. Returns 0,
 * or -1 when none has expired; call until -1 to answer every one. */
int pending_expire(pending_t *self, int64_t now_mono, pending_entry_t *out);

size_t pending_size(pending_t *self);

#endif
