/* vfp_log.c - daemon logging to stderr, the journal or syslog, with
 * levels. */
#include "vfp_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "vfp_escape.h"

static const char *s_progname = "vfleet";
static vfp_log_level_t s_level = VFP_LOG_INFO;
static bool s_syslog;
static bool s_journal;

static const char *s_level_names[] = {"error", "warn", "info", "debug"};
static const int s_syslog_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
                                        LOG_DEBUG};
static const char *s_journal_prefix[] = {SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG};

/* systemd connects a service's stderr to the journal and says so in
 * JOURNAL_STREAM=DEVICE:INODE; a stderr redirected elsewhere by the unit or
 * a child of the service no longer matches it (sd_journal_stream_fd(3)). */
static bool s_stderr_is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!stream || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

void vfp_log_init(const char *progname, vfp_log_level_t level, bool use_syslog)
{
    s_progname = progname;
    s_level = level;
    s_syslog = use_syslog;
    s_journal = !use_syslog && s_stderr_is_journal();
    if (use_syslog)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int vfp_log_level_parse(const char *text, vfp_log_level_t *level)
{
    for (int i = 0; i <= VFP_LOG_DEBUG; i++) {
        if (strcmp(text, s_level_names[i]) == 0) {
            *level = (vfp_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

#define S_TEXT_MAX 2048

static void s_vlog(vfp_log_level_t level, int errnum, const char *fmt,
                   va_list ap) __attribute__((format(printf, 3, 0)));

/* Writes one line of text (at most S_TEXT_MAX bytes are used). */
static void s_log_text(vfp_log_level_t level, int errnum, const char *text)
{
    /* Every line is escaped here, once, so that no peer-supplied text in
     * any message can start a line of its own or drive a terminal. */
    char line[S_TEXT_MAX * VFP_ESCAPE_GROWTH + 128];
    size_t n = vfp_escape(text, line, sizeof line - 128);
    if (errnum)
        snprintf(line + n, sizeof line - n, ": %s", strerror(errnum));
    if (s_syslog) {
        syslog(s_syslog_priority[level], "%s", line);
        return;
    }
    /* The journal stamps time and program itself; the prefix carries the
     * priority that journalctl -p filters on. */
    if (s_journal) {
        fprintf(stderr, "%s%s: %s\n", s_journal_prefix[level],
                s_level_names[level], line);
        return;
    }
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec, now.tv_nsec / 1000000, s_progname, s_level_names[level],
            line);
}

static void s_vlog(vfp_log_level_t level, int errnum, const char *fmt,
                   va_list ap)
{
    if (level > s_level)
        return;
    char text[S_TEXT_MAX];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0)
        return;
    s_log_text(level, errnum, text);
}

#define S_LOG_BODY(level, errnum)                                              \
    do {                                                                       \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        s_vlog(level, errnum, fmt, ap);                                        \
        va_end(ap);                                                            \
    } while (0)

void vfp_log_warn(const char *fmt, ...)
{
    int saved = errno;
    S_LOG_BODY(VFP_LOG_WARN, saved);
}

void vfp_log_warnx(const char *fmt, ...)
{
    S_LOG_BODY(VFP_LOG_WARN, 0);
}

void vfp_log_error(const char *fmt, ...)
{
    S_LOG_BODY(VFP_LOG_ERROR, 0);
}

void vfp_log_info(const char *fmt, ...)
{
    S_LOG_BODY(VFP_LOG_INFO, 0);
}

void vfp_log_debug(const char *fmt, ...)
{
    S_LOG_BODY(VFP_LOG_DEBUG, 0);
}

int64_t vfp_log_mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static pthread_mutex_t s_limit_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether limit lets one more line through at now_mono; the count of lines
 * left out before it in *left_out. */
static bool s_limit_take(vfp_log_limit_t *limit, int64_t now_mono,
                         uint64_t *left_out)
{
    double burst = limit->burst > 0 ? limit->burst : VFP_LOG_LIMIT_BURST;
    int64_t interval =
        limit->interval_ms > 0 ? limit->interval_ms : VFP_LOG_LIMIT_MS;
    bool take = false;
    pthread_mutex_lock(&s_limit_lock);
    if (!limit->started) {
        limit->started = true;
        limit->tokens = burst;
        limit->seen_mono = now_mono;
    } else if (now_mono > limit->seen_mono) {
        limit->tokens += (double)(now_mono - limit->seen_mono) / interval;
        if (limit->tokens > burst)
            limit->tokens = burst;
        limit->seen_mono = now_mono;
    }
    if (limit->tokens >= 1) {
        limit->tokens -= 1;
        *left_out = limit->left_out;
        limit->left_out = 0;
        take = true;
    } else {
        limit->left_out++;
    }
    pthread_mutex_unlock(&s_limit_lock);
    return take;
}

bool vfp_log_limited(vfp_log_limit_t *limit, int64_t now_mono,
                     vfp_log_level_t level, const char *fmt, ...)
{
    uint64_t left_out = 0;
    if (level > s_level || !s_limit_take(limit, now_mono, &left_out))
        return false;
    /* Room is kept for what was left out: the line may be cut, never
     * that count. */
    char text[S_TEXT_MAX];
    size_t room = sizeof text - 64;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    size_t used = (size_t)n < room ? (size_t)n : room - 1;
    if (left_out)
        snprintf(text + used, sizeof text - used,
                 "; left out: %llu line%s like this",
                 (unsigned long long)left_out, left_out == 1 ? "" : "s");
    s_log_text(level, 0, text);
    return true;
}

void vfp_fatal(const char *fmt, ...)
{
    int saved = errno;
    S_LOG_BODY(VFP_LOG_ERROR, saved);
    exit(1);
}

void vfp_fatalx(const char *fmt, ...)
{
    S_LOG_BODY(VFP_LOG_ERROR, 0);
    exit(1);
}

bool vfp_log_remind(vfp_log_reminder_t *reminder, int64_t now_mono,
                    const char *text)
{
    if (reminder->next_mono && now_mono < reminder->next_mono)
        return false;
    vfp_log_warnx("%s", text);
    reminder->next_mono = now_mono + reminder->interval_ms;
    return true;
}
