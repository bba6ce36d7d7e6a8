/* vfp_escape.h - how text that came from a peer is written to a log or a
 * terminal: control characters become visible escapes. */
#ifndef VFLEET_VFP_ESCAPE_H
#define VFLEET_VFP_ESCAPE_H

#include <stddef.h>

/* An escape is at most this many output bytes per input byte (\xHH). */
#define VFP_ESCAPE_GROWTH 4

/* Copies text into out (size bytes, always NUL-terminated when size > 0)
 * with backslash, C0 controls, DEL and the UTF-8 C1 controls written as
 * \\, \n, \t, \r, \xHH or \u00HH, the way ls -b and systemctl escape
 * names: nothing in the output can end a line or start a terminal escape
 * sequence. Output that does not fit is cut before a whole escape or
 * character. Returns the length written. */
size_t vfp_escape(const char *text, char *out, size_t size);

#endif
