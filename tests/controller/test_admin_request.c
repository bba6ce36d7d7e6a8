/* test_admin_request.c - request parameters and database failures as every
 * admin verb reads and answers them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "admin_request.h"

static void s_add(vfp_request_t *req, const char *key, const char *value)
{
    vfp_param_t *p = &req->params[req->param_count++];
    snprintf(p->key, sizeof(p->key), "%s", key);
    snprintf(p->value, sizeof(p->value), "%s", value);
}

static void test_params(void **state)
{
    (void)state;
    vfp_request_t req = {.verb = "hosts"};
    s_add(&req, "limit", "10");
    s_add(&req, "after", "");
    assert_string_equal(admin_request_param(&req, "limit"), "10");
    assert_string_equal(admin_request_param(&req, "after"), "");
    assert_null(admin_request_param(&req, "host"));
    static const char *const paged[] = {"limit", "after", NULL};
    static const char *const one[] = {"limit", NULL};
    assert_null(admin_request_unknown(&req, paged));
    assert_string_equal(admin_request_unknown(&req, one), "after");
}

static void test_int(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(admin_request_int("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(admin_request_int("9223372036854775807", 0, INT64_MAX, &v),
                     0);
    assert_int_equal(v, INT64_MAX);
    const char *bad[] = {"",   "0",  "101", "4x",
                         " 4", "4 ", "-1",  "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        assert_int_equal(admin_request_int(bad[i], 1, 100, &v), -1);
        assert_int_equal(v, 7);
    }
}

/* One page-size rule for every listing: absent is the caller's default,
 * 1 to VFP_PAGE_LIMIT_MAX is taken, anything else is refused with the
 * text ADMIN.md quotes. */
static void test_limit(void **state)
{
    (void)state;
    vfp_request_t req = {0};
    int64_t limit = 0;
    char error[VFP_TEXT_MAX + 1] = "";
    assert_int_equal(
        admin_request_limit(&req, 1000, &limit, error, sizeof(error)), 0);
    assert_int_equal(limit, 1000);
    s_add(&req, "limit", "10000");
    assert_int_equal(
        admin_request_limit(&req, 1000, &limit, error, sizeof(error)), 0);
    assert_int_equal(limit, VFP_PAGE_LIMIT_MAX);
    snprintf(req.params[0].value, sizeof(req.params[0].value), "10001");
    assert_int_equal(
        admin_request_limit(&req, 1000, &limit, error, sizeof(error)), -1);
    assert_string_equal(error,
                        "limit \"10001\" is not a number from 1 to 10000");
    snprintf(req.params[0].value, sizeof(req.params[0].value), "0");
    assert_int_equal(
        admin_request_limit(&req, 1000, &limit, error, sizeof(error)), -1);
    assert_string_equal(error, "limit \"0\" is not a number from 1 to 10000");
}

static void test_db_error(void **state)
{
    (void)state;
    char buf[VFP_TEXT_MAX + 1];
    db_err_t missing = {DB_ERR_NOT_FOUND, "no host named \"x\""};
    assert_int_equal(
        admin_request_db_error(&missing, "admin query", buf, sizeof(buf)),
        VFP_ERR_NOT_FOUND);
    assert_string_equal(buf, "no host named \"x\"");
    db_err_t io = {DB_ERR_IO, "disk I/O error"};
    assert_int_equal(
        admin_request_db_error(&io, "admin query", buf, sizeof(buf)),
        VFP_ERR_INTERNAL);
    assert_string_equal(buf, "database error: disk I/O error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_db_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
