/* test_capture.h - runs a function with stderr sent to a file and returns
 * what it wrote, for the tests of log lines. Header only: each test
 * program that includes it gets its own copy. Include after cmocka.h. */
#ifndef VFLEET_TEST_CAPTURE_H
#define VFLEET_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What fn(arg) wrote to stderr (at most 64 KiB), in a static buffer that
 * the next call reuses. */
static inline char *test_capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/vfleet-capture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char text[1 << 16];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* The lines of text. */
static inline int test_capture_lines(const char *text)
{
    int lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    return lines;
}

#endif
