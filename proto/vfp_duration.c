/* vfp_duration.c - parsing the time spans the daemons' options take. */
#include "vfp_duration.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Parses NUMBER[UNIT] into milliseconds; a bare number is seconds.
 * Minutes, hours and days are accepted only where `long_units` says so. */
static int s_parse(const char *text, bool long_units, double *ms)
{
    static const struct {
        const char *unit;
        double ms;
        bool is_long;
    } units[] = {{"ms", 1, false},     {"s", 1000, false},
                 {"", 1000, false},    {"m", 60000, true},
                 {"h", 3600000, true}, {"d", 86400000, true}};
    errno = 0;
    char *end;
    double value = strtod(text, &end);
    if (errno || end == text || !isfinite(value) || value <= 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0 &&
            (long_units || !units[i].is_long)) {
            *ms = value * units[i].ms;
            return 0;
        }
    }
    return -1;
}

int vfp_duration_parse_ms(const char *text, uint32_t *ms)
{
    double result;
    if (s_parse(text, false, &result) != 0 || result < 1 || result > 3600000)
        return -1;
    *ms = (uint32_t)result;
    return 0;
}

int vfp_duration_parse_long_ms(const char *text, int64_t *ms)
{
    double result;
    if (s_parse(text, true, &result) != 0 || result < 1000 ||
        result > VFP_DURATION_LONG_MAX_MS)
        return -1;
    *ms = (int64_t)result;
    return 0;
}
