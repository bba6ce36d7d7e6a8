/* test_vfp_log.c - log lines are escaped: peer text cannot forge a line or
 * reach a terminal raw (issue 13, names are data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfp_escape.h"
#include "vfp_log.h"

static void s_expect_escape(const char *in, const char *want)
{
    char out[256];
    vfp_escape(in, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_escape_controls(void **state)
{
    (void)state;
    s_expect_escape("hv-01", "hv-01");
    s_expect_escape("a\x1b[31mb", "a\\x1b[31mb");
    s_expect_escape("one\ntwo\tthree\rfour", "one\\ntwo\\tthree\\rfour");
    s_expect_escape("bell\x07 del\x7f", "bell\\x07 del\\x7f");
    s_expect_escape("back\\slash", "back\\\\slash");
    s_expect_escape("csi\xc2\x9b"
                    "1m r\xc3\xa9seau",
                    "csi\\u009b1m r\xc3\xa9seau");
}

/* Cut short at a whole escape, never inside one. */
static void test_escape_cuts_at_whole_escapes(void **state)
{
    (void)state;
    char out[6];
    assert_int_equal(vfp_escape("ab\ncd", out, sizeof out), 5);
    assert_string_equal(out, "ab\\nc");
    assert_int_equal(vfp_escape("abc\xe2\x9c\x93", out, sizeof out), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(vfp_escape("abcd\n", out, sizeof out), 4);
    assert_string_equal(out, "abcd");
    char none[1] = {'x'};
    assert_int_equal(vfp_escape("abc", none, sizeof none), 0);
    assert_string_equal(none, "");
}

/* Runs one warning with stderr sent to a file and returns what it wrote. */
static char *s_logged(const char *peer_text)
{
    char path[] = "/tmp/vfp-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    vfp_log_warnx("host %s: dropped", peer_text);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char text[8192];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    assert_true(n > 0);
    text[n] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static void test_newline_cannot_forge_a_line(void **state)
{
    (void)state;
    vfp_log_init("vfleet-test", VFP_LOG_INFO, false);
    const char *forged = "evil\n2026-01-01T00:00:00.000Z vfleet-controller "
                         "info: host evil registered\x1b]0;pwned\x07";
    char *text = s_logged(forged);
    char *newline = strchr(text, '\n');
    assert_non_null(newline);
    assert_string_equal(newline + 1, ""); /* one line, ended once */
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\x07'));
    assert_non_null(strstr(text, "host evil\\n2026-01-01T00:00:00.000Z "
                                 "vfleet-controller info: host evil "
                                 "registered\\x1b]0;pwned\\x07: dropped"));
}

/* A line that fills the buffer with escapes is cut, still one line. */
static void test_long_escaped_line_stays_one_line(void **state)
{
    (void)state;
    vfp_log_init("vfleet-test", VFP_LOG_INFO, false);
    char many[3000];
    memset(many, '\n', sizeof many - 1);
    many[sizeof many - 1] = '\0';
    char *text = s_logged(many);
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
}

/* The --insecure reminder: logged at the first call, not again before
 * its interval has passed, then again. */
static void test_reminder_repeats_on_its_interval(void **state)
{
    (void)state;
    char path[] = "/tmp/vfp-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    vfp_log_reminder_t r = {.interval_ms = 1000};
    bool logged[5] = {
        vfp_log_remind(&r, 5000, "plaintext"),
        vfp_log_remind(&r, 5999, "plaintext"),
        vfp_log_remind(&r, 6000, "plaintext"),
        vfp_log_remind(&r, 6500, "plaintext"),
        vfp_log_remind(&r, 9000, "plaintext"),
    };
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[4096];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    text[n] = '\0';
    assert_true(logged[0] && !logged[1] && logged[2] && !logged[3] &&
                logged[4]);
    int lines = 0;
    for (const char *p = strstr(text, "plaintext"); p;
         p = strstr(p + 1, "plaintext"))
        lines++;
    assert_int_equal(lines, 3);
    assert_int_equal(r.next_mono, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_escape_cuts_at_whole_escapes),
        cmocka_unit_test(test_newline_cannot_forge_a_line),
        cmocka_unit_test(test_long_escaped_line_stays_one_line),
        cmocka_unit_test(test_reminder_repeats_on_its_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
