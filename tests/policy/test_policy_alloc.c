/* test_policy_alloc.c - allocation failure injection: the policy library
 * is run with its Nth allocation failing, for every N until the operation
 * no longer reaches N allocations, and must fail cleanly each time (NULL,
 * an out-of-memory report, no leak, no crash; ASan and valgrind check the
 * last two). */
#include "policy.h"
#include "policy_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Reads a test file with plain malloc, outside the injected path. */
static char *s_read(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    char *text = malloc(POLICY_MAX_FILE_SIZE);
    assert_non_null(text);
    *len = fread(text, 1, POLICY_MAX_FILE_SIZE, file);
    fclose(file);
    return text;
}

/* Parses text with allocation n failing; returns whether the parse got
 * as far as the nth allocation. */
static bool s_parse_failing_at(const char *text, size_t len, unsigned long n,
                               bool valid)
{
    policy_errors_t *errs = policy_errors_new();
    assert_non_null(errs);
    policy_alloc_fail_after(n);
    policy_t *policy = policy_parse_buffer("inject", text, len, errs);
    unsigned long calls = policy_alloc_count();
    policy_alloc_fail_after(0);
    bool reached = calls >= n;
    if (reached) {
        assert_null(policy);
        /* The caller learns why: out of memory, or the real errors of an
         * invalid policy when only an error message was lost. */
        assert_true(policy_errors_out_of_memory(errs) ||
                    (!valid && policy_errors_count(errs) > 0));
    } else {
        assert_int_equal(policy != NULL, valid);
    }
    policy_destroy(&policy);
    policy_errors_destroy(&errs);
    return reached;
}

static void s_every_n(const char *path, bool valid)
{
    size_t len;
    char *text = s_read(path, &len);
    unsigned long n = 1;
    while (s_parse_failing_at(text, len, n, valid))
        n++;
    /* A rich input makes many allocations: the loop really ran. */
    printf("%s: %lu allocations\n", path, n - 1);
    assert_true(n > 10);
    free(text);
}

static void test_parse_valid_policy(void **state)
{
    s_every_n("ok/full.yaml", true);
}

static void test_parse_invalid_policy(void **state)
{
    s_every_n("bad/many-errors.yaml", false);
}

/* The case-conflict checks allocate their own sort order. */
static void test_parse_case_conflicts(void **state)
{
    s_every_n("bad/host-glob-case.yaml", false);
}

static void test_parse_file(void **state)
{
    /* parse_file's own buffer is the first allocation after the errors
     * object: fail it and the ones right after. */
    for (unsigned long n = 1; n <= 4; n++) {
        policy_errors_t *errs = policy_errors_new();
        assert_non_null(errs);
        policy_alloc_fail_after(n);
        policy_t *policy = policy_parse_file("ok/example.yaml", errs);
        policy_alloc_fail_after(0);
        assert_null(policy);
        assert_true(policy_errors_out_of_memory(errs));
        policy_errors_destroy(&errs);
    }
}

static void test_diff(void **state)
{
    policy_t *a = policy_parse_file("diff/everything.old.yaml", NULL);
    policy_t *b = policy_parse_file("diff/everything.new.yaml", NULL);
    assert_non_null(a);
    assert_non_null(b);
    unsigned long n = 1;
    for (;; n++) {
        policy_alloc_fail_after(n);
        policy_diff_t *diff = policy_diff_new(a, b);
        unsigned long calls = policy_alloc_count();
        policy_alloc_fail_after(0);
        if (calls < n) {
            assert_non_null(diff);
            assert_true(policy_diff_count(diff) > 30);
            policy_diff_destroy(&diff);
            break;
        }
        assert_null(diff);
    }
    assert_true(n > 30);
    policy_destroy(&a);
    policy_destroy(&b);
}

static void test_errors_new(void **state)
{
    policy_alloc_fail_after(1);
    policy_errors_t *errs = policy_errors_new();
    policy_alloc_fail_after(0);
    assert_null(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_policy),
        cmocka_unit_test(test_parse_invalid_policy),
        cmocka_unit_test(test_parse_case_conflicts),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_errors_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
