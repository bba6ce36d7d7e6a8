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

#include "../common/test_capture.h"

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

static int s_count(const char *text, const char *what)
{
    int count = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        count++;
    return count;
}

/* Runs one warning with stderr sent to a file and returns what it wrote. */
static void s_warn_peer_text(void *arg)
{
    vfp_log_warnx("host %s: dropped", (const char *)arg);
}

static char *s_logged(const char *peer_text)
{
    char *text = test_capture_stderr(s_warn_peer_text, (void *)peer_text);
    assert_true(text[0] != '\0');
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
static void s_remind(void *arg)
{
    vfp_log_reminder_t *r = arg;
    bool logged[5] = {
        vfp_log_remind(r, 5000, "plaintext"),
        vfp_log_remind(r, 5999, "plaintext"),
        vfp_log_remind(r, 6000, "plaintext"),
        vfp_log_remind(r, 6500, "plaintext"),
        vfp_log_remind(r, 9000, "plaintext"),
    };
    assert_true(logged[0] && !logged[1] && logged[2] && !logged[3] &&
                logged[4]);
}

static void test_reminder_repeats_on_its_interval(void **state)
{
    (void)state;
    vfp_log_reminder_t r = {.interval_ms = 1000};
    char *text = test_capture_stderr(s_remind, &r);
    assert_int_equal(s_count(text, "plaintext"), 3);
    assert_int_equal(r.next_mono, 10000);
}

/* 10 at once, then one every 10 s: 1,000 lines in the first second give
 * 10; 10 s later one more, saying the other 990 were left out. */
static void s_flood(void *arg)
{
    vfp_log_limit_t *limit = arg;
    for (int i = 0; i < 1000; i++)
        vfp_log_limited(limit, 1000 + i, VFP_LOG_ERROR, "disk full %d", i);
    assert_false(vfp_log_limited(limit, 10999, VFP_LOG_ERROR, "early"));
    assert_true(vfp_log_limited(limit, 11999, VFP_LOG_ERROR, "late"));
    assert_false(vfp_log_limited(limit, 12000, VFP_LOG_ERROR, "again"));
}

static void test_limited_lines(void **state)
{
    (void)state;
    vfp_log_init("vfleet-test", VFP_LOG_INFO, false);
    vfp_log_limit_t limit = {0};
    char *text = test_capture_stderr(s_flood, &limit);
    assert_int_equal(s_count(text, "disk full"), 10);
    assert_non_null(strstr(text, "disk full 9\n"));
    assert_null(strstr(text, "disk full 10\n"));
    assert_int_equal(s_count(text, "left out"), 1);
    assert_non_null(strstr(text, "late; left out: 991 lines like this\n"));
    assert_null(strstr(text, "early"));
    assert_null(strstr(text, "again"));
    assert_int_equal(limit.left_out, 1);
}

/* A limiter's own budget; lines below the level printed are not counted;
 * a line too long to fit is cut, never the count of what was left out. */
static void s_own_budget(void *arg)
{
    vfp_log_limit_t *limit = arg;
    static char big[4000];
    memset(big, 'L', sizeof big - 1);
    for (int i = 0; i < 5; i++)
        vfp_log_limited(limit, 0, VFP_LOG_DEBUG, "not printed");
    for (int i = 0; i < 4; i++)
        vfp_log_limited(limit, 0, VFP_LOG_WARN, "budget %d", i);
    assert_true(vfp_log_limited(limit, 1000, VFP_LOG_WARN, "%s", big));
}

static void test_limited_own_budget(void **state)
{
    (void)state;
    vfp_log_init("vfleet-test", VFP_LOG_INFO, false);
    vfp_log_limit_t limit = {.burst = 2, .interval_ms = 1000};
    char *text = test_capture_stderr(s_own_budget, &limit);
    assert_int_equal(s_count(text, "budget"), 2);
    assert_null(strstr(text, "not printed"));
    assert_non_null(strstr(text, "LLL; left out: 2 lines like this\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_escape_cuts_at_whole_escapes),
        cmocka_unit_test(test_newline_cannot_forge_a_line),
        cmocka_unit_test(test_long_escaped_line_stays_one_line),
        cmocka_unit_test(test_reminder_repeats_on_its_interval),
        cmocka_unit_test(test_limited_lines),
        cmocka_unit_test(test_limited_own_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
