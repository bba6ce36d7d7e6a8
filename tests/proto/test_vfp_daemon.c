/* test_vfp_daemon.c - what the daemons share besides the codec:
 * configuration files (vfp_config), long durations, journal priority
 * prefixes in the log and systemd notifications (vfp_notify). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfp_config.h"
#include "vfp_duration.h"
#include "vfp_log.h"
#include "vfp_notify.h"

static const struct option s_options[] = {
    {"agents", required_argument, NULL, 1},
    {"dead-after", required_argument, NULL, 2},
    {"insecure", no_argument, NULL, 3},
    {"syslog", no_argument, NULL, 4},
    {"config", required_argument, NULL, 5},
    {NULL, 0, NULL, 0},
};
static const char *const s_refused[] = {"config", NULL};

/* Writes text to a fresh file and returns its path (static storage). */
static const char *s_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/vfp-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Loads text; returns the configuration or NULL with err set. */
static vfp_config_t *s_load(const char *text, char *err, size_t errlen)
{
    const char *path = s_file(text);
    err[0] = '\0';
    vfp_config_t *config =
        vfp_config_load(path, true, s_options, s_refused, err, errlen);
    unlink(path);
    return config;
}

/* err with the temporary file name cut off: ":LINE: reason". */
static const char *s_where(const char *err)
{
    const char *colon = strchr(err, ':');
    return colon ? colon : err;
}

static void test_settings_become_arguments(void **state)
{
    char err[512];
    vfp_config_t *config = s_load("# vfleet test\n"
                                  "agents = tcp://*:9000\n"
                                  "\n"
                                  "  dead-after=5   ; inline comment\n"
                                  "insecure = yes\n"
                                  "syslog = off\n"
                                  "; another comment\n",
                                  err, sizeof(err));
    assert_non_null(config);
    assert_int_equal(vfp_config_argc(config), 4);
    char **argv = vfp_config_argv(config);
    assert_string_equal(argv[1], "--agents=tcp://*:9000");
    assert_string_equal(argv[2], "--dead-after=5");
    assert_string_equal(argv[3], "--insecure");
    assert_null(argv[4]);
    char blame[128] = "invalid --dead-after";
    vfp_config_blame(config, 2, blame, sizeof(blame));
    assert_non_null(strstr(blame, ":4: invalid --dead-after"));
    vfp_config_destroy(&config);
    assert_null(config);
}

static void test_errors_name_file_and_line(void **state)
{
    static const struct {
        const char *text;
        const char *error;
    } cases[] = {
        {"agents = x\nbogus = 1\n", ":2: unknown key \"bogus\""},
        {"\n\nconfig = /etc/x\n", ":3: config is a command-line option only"},
        {"insecure = maybe\n", ":1: insecure: \"maybe\" is not true or false"},
        {"agents =\n", ":1: agents needs a value"},
        {"agents = a\njust words\n", ":2: not a \"key = value\" line"},
        {"agents = a\n[main]\nagents = b\n",
         ":2: \"[main]\" starts a section: this file has no sections"},
        /* a header alone, which inih passes over in silence */
        {"  [main]\n", ":1: \"[main]\" starts a section"},
        /* a flag's "false" does not undo an earlier "true" */
        {"insecure = true\nagents = a\ninsecure = false\n",
         ":3: insecure given again (first on line 1)"},
        {"agents = a\n\nagents = b\n",
         ":3: agents given again (first on line 1)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512];
        assert_null(s_load(cases[i].text, err, sizeof(err)));
        if (strncmp(s_where(err), cases[i].error, strlen(cases[i].error))) {
            print_error("case %zu: got \"%s\"\n", i, err);
            fail();
        }
    }
}

/* inih cuts lines at 200 bytes; the rest must not be read as a setting of
 * its own. */
static void test_long_line_refused(void **state)
{
    char text[400];
    snprintf(text, sizeof(text), "agents = tcp://%0300d\n", 7);
    char err[512];
    assert_null(s_load(text, err, sizeof(err)));
    assert_string_equal(s_where(err), ":1: line longer than 198 characters");
}

/* Not a configuration file: a directory, a NUL byte, an endless device
 * (this read /dev/zero for ever), one beyond 1 MiB; /dev/null is an empty
 * one. */
static void test_not_a_text_file(void **state)
{
    char err[512] = "";
    assert_null(
        vfp_config_load("/tmp", true, s_options, s_refused, err, sizeof(err)));
    assert_string_equal(err, "cannot read /tmp: Is a directory");
    static const char with_nul[] = "agents = a\0b\n";
    const char *path = s_file("");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(with_nul, 1, sizeof(with_nul) - 1, f),
                     sizeof(with_nul) - 1);
    fclose(f);
    assert_null(
        vfp_config_load(path, true, s_options, s_refused, err, sizeof(err)));
    assert_string_equal(s_where(err), ":1: a NUL byte: not a text file");
    unlink(path);
    assert_null(vfp_config_load("/dev/zero", true, s_options, s_refused, err,
                                sizeof(err)));
    assert_string_equal(err, "/dev/zero:1: a NUL byte: not a text file");
    size_t big = 1024 * 1024 + 100;
    char *text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 64 == 63 ? '\n' : '#';
    text[big] = '\0';
    assert_null(s_load(text, err, sizeof(err)));
    free(text);
    assert_non_null(strstr(err, ": the file is longer than 1048576 bytes"));
    vfp_config_t *config = vfp_config_load("/dev/null", true, s_options,
                                           s_refused, err, sizeof(err));
    assert_non_null(config);
    assert_int_equal(vfp_config_argc(config), 1);
    vfp_config_destroy(&config);
}

/* A missing default file is an empty configuration; a missing file that
 * was asked for is an error naming it. */
static void test_missing_file(void **state)
{
    char err[512] = "";
    const char *path = "/nonexistent/vfleet/none.conf";
    vfp_config_t *config =
        vfp_config_load(path, false, s_options, s_refused, err, sizeof(err));
    assert_non_null(config);
    assert_int_equal(vfp_config_argc(config), 1);
    vfp_config_destroy(&config);
    assert_null(
        vfp_config_load(path, true, s_options, s_refused, err, sizeof(err)));
    assert_string_equal(err, "cannot read /nonexistent/vfleet/none.conf: No "
                             "such file or directory");
}

static void test_long_durations(void **state)
{
    int64_t ms = 0;
    assert_int_equal(vfp_duration_parse_long_ms("30d", &ms), 0);
    assert_int_equal(ms, 30LL * 86400000);
    assert_int_equal(vfp_duration_parse_long_ms("12h", &ms), 0);
    assert_int_equal(ms, 12LL * 3600000);
    assert_int_equal(vfp_duration_parse_long_ms("90m", &ms), 0);
    assert_int_equal(ms, 90LL * 60000);
    assert_int_equal(vfp_duration_parse_long_ms("45", &ms), 0);
    assert_int_equal(ms, 45000);
    assert_int_equal(vfp_duration_parse_long_ms("3650d", &ms), 0);
    assert_int_equal(vfp_duration_parse_long_ms("3651d", &ms), -1);
    assert_int_equal(vfp_duration_parse_long_ms("500ms", &ms), -1);
    assert_int_equal(vfp_duration_parse_long_ms("1w", &ms), -1);
    assert_int_equal(vfp_duration_parse_long_ms("-1d", &ms), -1);
    /* The short form keeps its own spellings and range. */
    uint32_t short_ms;
    assert_int_equal(vfp_duration_parse_ms("1m", &short_ms), -1);
    assert_int_equal(vfp_duration_parse_ms("1.5s", &short_ms), 0);
    assert_int_equal(short_ms, 1500);
}

/* Logs one warning and one debug line with stderr redirected to a file
 * and returns what the file got. */
static char *s_log_to_file(bool journal, vfp_log_level_t level)
{
    char path[] = "/tmp/vfp-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    struct stat st;
    assert_int_equal(fstat(2, &st), 0);
    char stream[64];
    snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (journal ? 0 : 1));
    setenv("JOURNAL_STREAM", stream, 1);
    vfp_log_init("vfleet-test", level, false);
    vfp_log_warnx("disk %d%% full", 95);
    vfp_log_debug("detail");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("JOURNAL_STREAM");
    vfp_log_init("vfleet-test", VFP_LOG_INFO, false);
    char *text = calloc(1, 4096);
    assert_non_null(text);
    assert_true(pread(fd, text, 4095, 0) > 0);
    close(fd);
    unlink(path);
    return text;
}

static void test_journal_priorities(void **state)
{
    char *text = s_log_to_file(true, VFP_LOG_DEBUG);
    assert_string_equal(text, "<4>warn: disk 95% full\n<7>debug: detail\n");
    free(text);
    /* JOURNAL_STREAM naming another file: a redirected stderr, plain
     * lines with a timestamp. */
    text = s_log_to_file(false, VFP_LOG_INFO);
    assert_true(text[0] >= '0' && text[0] <= '9');
    assert_non_null(strstr(text, "Z vfleet-test warn: disk 95% full\n"));
    assert_null(strstr(text, "detail"));
    free(text);
}

/* The next datagram on fd, or "" after 1 s. */
static const char *s_datagram(int fd)
{
    static char text[256];
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* What systemd would receive: a unix datagram socket in NOTIFY_SOCKET,
 * the watchdog period in WATCHDOG_USEC for this pid. */
static void test_notify_messages(void **state)
{
    char path[] = "/tmp/vfp-notify-XXXXXX";
    assert_non_null(mkdtemp(path));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/notify", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);

    assert_int_equal(vfp_notify_watchdog_interval_ms(), 0);
    setenv("NOTIFY_SOCKET", addr.sun_path, 1);
    vfp_notify_ready("serving");
    assert_string_equal(s_datagram(fd), "READY=1\nSTATUS=serving");
    vfp_notify_watchdog();
    assert_string_equal(s_datagram(fd), "WATCHDOG=1");
    vfp_notify_stopping();
    assert_string_equal(s_datagram(fd), "STOPPING=1\nSTATUS=stopping");

    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(vfp_notify_watchdog_interval_ms(), 15000);
    /* Another process's watchdog is not ours. */
    setenv("WATCHDOG_PID", "1", 1);
    assert_int_equal(vfp_notify_watchdog_interval_ms(), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(addr.sun_path);
    rmdir(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_become_arguments),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_long_line_refused),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_a_text_file),
        cmocka_unit_test(test_long_durations),
        cmocka_unit_test(test_journal_priorities),
        cmocka_unit_test(test_notify_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
