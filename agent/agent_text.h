/* agent_text.h - bounded string helpers: copy, note append, path join. */
#ifndef VFLEET_AGENT_TEXT_H
#define VFLEET_AGENT_TEXT_H

#include <stddef.h>

/* Joins up to three parts with '/' into buf. Returns 0, or -1 when the
 * result does not fit. c may be NULL. */
int agent_text_path_join(char *buf, size_t len, const char *a, const char *b,
                         const char *c);

/* Parses text as a decimal integer in [min, max]; -1 on garbage. */
int agent_text_parse_long(const char *text, long min, long max, long *value);

/* Copies src into dst of size len, truncating; always NUL-terminates. */
void agent_text_copy(char *dst, size_t len, const char *src);

/* Marks dst, a text cut to fill its len bytes, as cut: its end becomes
 * "..." (at a UTF-8 character boundary), so nobody takes it for whole. */
void agent_text_mark_cut(char *dst, size_t len);

/* Appends "; text" (or text when dst is empty) to dst of size len,
 * truncating with "..." when it does not fit. */
void agent_text_note_append(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
