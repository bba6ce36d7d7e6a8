/* vfp_duration.c - parsing the time spans the daemons' options take. */
#include "vfp_duration.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int vfp_duration_parse_ms(const char *text, uint32_t *ms)
{
    errno = 0;
    char *end;
    double value = strtod(text, &end);
    if (errno || end == text || !isfinite(value) || value <= 0)
        return -1;
    double scale = 1000;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    double result = value * scale;
    if (result < 1 || result > 3600000)
        return -1;
    *ms = (uint32_t)result;
    return 0;
}
