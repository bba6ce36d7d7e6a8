/* agent_text.c - bounded string helpers: copy, note append, path join. */
#include "agent_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp.h"

void agent_text_copy(char *dst, size_t len, const char *src)
{
    if (len == 0)
        return;
    /* A cut may fall inside a UTF-8 sequence; the wire takes only whole
     * characters (PROTOCOL.md, strings). */
    if ((size_t)snprintf(dst, len, "%s", src) >= len)
        vfp_utf8_trim(dst);
}

void agent_text_note_append(char *dst, size_t len, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);

    size_t used = strlen(dst);
    if (used + 1 >= len)
        return;
    int n = snprintf(dst + used, len - used, "%s%s", used ? "; " : "", text);
    if (n < 0 || (size_t)n >= len - used)
        agent_text_mark_cut(dst, len);
}

void agent_text_mark_cut(char *dst, size_t len)
{
    if (len < 4)
        return;
    dst[len - 4] = '\0';
    vfp_utf8_trim(dst);
    strcat(dst, "...");
}

int agent_text_path_join(char *buf, size_t len, const char *a, const char *b,
                         const char *c)
{
    int n;
    if (c)
        n = snprintf(buf, len, "%s/%s/%s", a, b, c);
    else
        n = snprintf(buf, len, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return 0;
}

int agent_text_parse_long(const char *text, long min, long max, long *value)
{
    if (!*text || isspace((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *value = v;
    return 0;
}
