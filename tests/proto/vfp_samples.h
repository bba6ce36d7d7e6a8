/* vfp_samples.h - valid example messages of every type, for tests and the
 * fuzzer's seed corpus. */
#ifndef VFLEET_VFP_SAMPLES_H
#define VFLEET_VFP_SAMPLES_H

#include <stdbool.h>

#include "vfp.h"

typedef enum {
    SAMPLE_MIN,  /* zero counts, empty optional strings, flags unset */
    SAMPLE_FULL, /* every optional field set, strings at their limits */
    SAMPLE_MAX,  /* lists at their limits where that stays cheap */
} sample_kind_t;

#define SAMPLE_KINDS 3

/* Builds a valid message of the given id and kind; caller destroys it. */
vfp_msg_t *sample_msg(vfp_id_t id, sample_kind_t kind);

/* The largest message of the given id that the limits allow: every list at
 * its item limit, every string at its byte limit. Megabytes each, so it is
 * not one of the SAMPLE_KINDS. Caller destroys it. */
vfp_msg_t *sample_largest(vfp_id_t id);

/* Deep equality of two messages (header fields, body, every list item). */
bool sample_equal(const vfp_msg_t *a, const vfp_msg_t *b);

#endif
