/* vfp_duration.h - the one spelling of a time span on every command line. */
#ifndef VFLEET_VFP_DURATION_H
#define VFLEET_VFP_DURATION_H

#include <stdint.h>

/* Parses "2s", "500ms", "1.5s" or a bare number of seconds into
 * milliseconds, between 1 ms and one hour. Returns 0, or -1 when the text
 * is not such a duration. */
int vfp_duration_parse_ms(const char *text, uint32_t *ms);

#endif
