/* vfp_duration.h - the one spelling of a time span on every command line. */
#ifndef VFLEET_VFP_DURATION_H
#define VFLEET_VFP_DURATION_H

#include <stdint.h>

/* The longest span vfp_duration_parse_long_ms takes: ten years. */
#define VFP_DURATION_LONG_MAX_MS (3650LL * 86400000LL)

/* Parses "2s", "500ms", "1.5s" or a bare number of seconds into
 * milliseconds, between 1 ms and one hour. Returns 0, or -1 when the text
 * is not such a duration. */
int vfp_duration_parse_ms(const char *text, uint32_t *ms);

/* The same spellings plus minutes, hours and days ("90m", "12h", "30d"),
 * for retention periods: between one second and ten years. */
int vfp_duration_parse_long_ms(const char *text, int64_t *ms);

#endif
