/* vfp_escape.c - visible escapes for control characters in peer text. */
#include "vfp_escape.h"

#include <stdio.h>
#include <string.h>

/* Writes the escape (or the byte itself) for the character at p into buf;
 * returns its length and sets *used to the input bytes it stands for. */
static size_t s_escape_one(const unsigned char *p, char buf[8], size_t *used)
{
    *used = 1;
    switch (*p) {
    case '\\':
        return (size_t)snprintf(buf, 8, "\\\\");
    case '\n':
        return (size_t)snprintf(buf, 8, "\\n");
    case '\t':
        return (size_t)snprintf(buf, 8, "\\t");
    case '\r':
        return (size_t)snprintf(buf, 8, "\\r");
    default:
        break;
    }
    if (*p < 0x20 || *p == 0x7f)
        return (size_t)snprintf(buf, 8, "\\x%02x", *p);
    if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
        /* U+0080..U+009F in UTF-8: C1 controls such as CSI. */
        *used = 2;
        return (size_t)snprintf(buf, 8, "\\u%04x", p[1]);
    }
    /* A multi-byte UTF-8 character is copied whole, so a cut never
     * splits one. */
    size_t len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            len = 1;
            break;
        }
    }
    memcpy(buf, p, len);
    *used = len;
    return len;
}

size_t vfp_escape(const char *text, char *out, size_t size)
{
    if (size == 0)
        return 0;
    size_t len = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        char buf[8];
        size_t used;
        size_t n = s_escape_one(p, buf, &used);
        if (len + n >= size)
            break;
        memcpy(out + len, buf, n);
        len += n;
        p += used;
    }
    out[len] = '\0';
    return len;
}
