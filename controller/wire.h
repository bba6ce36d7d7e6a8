/* wire.h - what the controller's handlers share about answering peers:
 * the database-error to protocol-error mapping and ERROR messages. */
#ifndef VFLEET_WIRE_H
#define VFLEET_WIRE_H

#include <stdbool.h>

#include "vfleet_db.h"
#include "vfp.h"

/* The protocol code a peer gets for a database failure: a broken rule is
 * INVALID, a stale delta RESYNC, an unknown object NOT_FOUND and a name,
 * VF or MAC already taken CONFLICT in a REPLY, anything else (disk,
 * corruption) INTERNAL. NOT_FOUND and CONFLICT are admin statuses only
 * (PROTOCOL.md 8): in an ERROR (in_reply false) they are INTERNAL. */
vfp_errcode_t wire_error_code(db_errcode_t code, bool in_reply);

/* A new ERROR answering request_id, in protocol version `version`. */
vfp_msg_t *wire_error_new(uint8_t version, uint32_t request_id,
                          vfp_errcode_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The answer to a message that did not decode (PROTOCOL.md 7.6): ERROR
 * MALFORMED or VERSION carrying the received request id when the header
 * could be read (0 otherwise), in the oldest version this build speaks.
 * NULL when the message was itself an ERROR, which is never answered. */
vfp_msg_t *wire_decode_error_new(const vfp_decode_error_t *err);

#endif
