/* vfp_log.h - daemon logging to stderr, the journal or syslog, with
 * levels. */
#ifndef VFLEET_VFP_LOG_H
#define VFLEET_VFP_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    VFP_LOG_ERROR = 0,
    VFP_LOG_WARN = 1,
    VFP_LOG_INFO = 2,
    VFP_LOG_DEBUG = 3,
} vfp_log_level_t;

/* Every line is escaped with vfp_escape before it is written: a newline or
 * escape sequence inside a logged string shows as \n or \x1b and never
 * ends the line or reaches a terminal raw. */

/* Sets the program name shown in every line, the lowest level printed and
 * whether lines go to syslog (daemon facility) instead of stderr. When
 * stderr is the journal (JOURNAL_STREAM names it), each line starts with
 * its sd-daemon priority prefix ("<3>" error ... "<7>" debug) instead of a
 * timestamp. */
void vfp_log_init(const char *progname, vfp_log_level_t level, bool use_syslog);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -1. */
int vfp_log_level_parse(const char *text, vfp_log_level_t *level);

/* vfp_log_warn appends strerror(errno); vfp_log_warnx does not (OpenBGPD
 * style). */
void vfp_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vfp_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vfp_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vfp_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vfp_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning that must not scroll out of sight while its condition lasts
 * (a daemon running with --insecure): logged at once, then again every
 * interval_ms. Zero-initialise next_mono. */
#define VFP_LOG_REMIND_MS (60 * 60 * 1000)
typedef struct {
    int64_t interval_ms;
    int64_t next_mono; /* 0: not logged yet */
} vfp_log_reminder_t;

/* Logs text as a warning when due at now_mono (monotonic milliseconds) and
 * schedules the next; returns whether it logged. */
bool vfp_log_remind(vfp_log_reminder_t *reminder, int64_t now_mono,
                    const char *text);

/* Lines that can repeat for as long as a condition lasts (a full disk) or
 * a peer keeps sending: at most `burst` at once, then one every
 * `interval_ms`; the next line logged ends "; left out: N lines like this".
 * One limiter per kind of line, used as a static: zero-initialised it
 * allows VFP_LOG_LIMIT_BURST at once, then one every VFP_LOG_LIMIT_MS. A
 * line below the level printed is not counted. Thread-safe. */
#define VFP_LOG_LIMIT_BURST 10
#define VFP_LOG_LIMIT_MS 10000
typedef struct {
    int burst;           /* 0: VFP_LOG_LIMIT_BURST */
    int64_t interval_ms; /* 0: VFP_LOG_LIMIT_MS */
    double tokens;       /* lines that may still be logged */
    int64_t seen_mono;   /* when tokens were last added */
    uint64_t left_out;   /* lines left out since the last one logged */
    bool started;
} vfp_log_limit_t;

/* Logs the line at level when limit allows it at now_mono (monotonic
 * milliseconds); returns whether it did. */
bool vfp_log_limited(vfp_log_limit_t *limit, int64_t now_mono,
                     vfp_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Monotonic milliseconds, the clock vfp_log_limited is given. */
int64_t vfp_log_mono_ms(void);

/* vfp_log_limited with a limiter of the call site's own, zero-initialised,
 * at vfp_log_mono_ms(). */
#define VFP_LOG_LIMITED(level, ...)                                            \
    do {                                                                       \
        static vfp_log_limit_t vfp_log_limit_;                                 \
        vfp_log_limited(&vfp_log_limit_, vfp_log_mono_ms(), (level),           \
                        __VA_ARGS__);                                          \
    } while (0)

/* Logs at error level (with strerror(errno) when errno is set by the caller
 * via vfp_fatal, not vfp_fatalx) and exits 1. Start-up only. */
void vfp_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void vfp_fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
