/* test_metrics.c - the metrics registry's exposition text, exactly, and
 * the --metrics endpoint's parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "metrics_http.h"

static const char s_expected[] =
    "# HELP t_info Build; always 1\n"
    "# TYPE t_info gauge\n"
    "t_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"
    "# HELP t_requests_total Requests by verb\n"
    "# TYPE t_requests_total counter\n"
    "t_requests_total{verb=\"get\"} 3\n"
    "t_requests_total{verb=\"put\"} 0\n"
    "# HELP t_up Up\\\\down \\n twice\n"
    "# TYPE t_up gauge\n"
    "t_up -7\n"
    "# HELP t_seconds Handling time\n"
    "# TYPE t_seconds histogram\n"
    "t_seconds_bucket{le=\"0.001\"} 1\n"
    "t_seconds_bucket{le=\"0.5\"} 3\n"
    "t_seconds_bucket{le=\"+Inf\"} 4\n"
    "t_seconds_sum 3.502000001\n"
    "t_seconds_count 4\n"
    "# HELP t_labelled_seconds Per verb\n"
    "# TYPE t_labelled_seconds histogram\n"
    "t_labelled_seconds_bucket{verb=\"get\",le=\"1\"} 0\n"
    "t_labelled_seconds_bucket{verb=\"get\",le=\"+Inf\"} 0\n"
    "t_labelled_seconds_sum{verb=\"get\"} 0.000000000\n"
    "t_labelled_seconds_count{verb=\"get\"} 0\n";

static int s_collects;

static int s_collect(void *arg)
{
    metrics_set(arg, -7);
    return s_collects++ == 0 ? 0 : -1;
}

static void test_render_exact_text(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    metrics_set(
        metrics_gauge(m, "t_info", "Build; always 1", "version", "a\"b\\c\nd"),
        1);
    metrics_series_t *get = metrics_counter(m, "t_requests_total",
                                            "Requests by verb", "verb", "get");
    metrics_counter(m, "t_requests_total", "Requests by verb", "verb", "put");
    metrics_series_t *up =
        metrics_gauge(m, "t_up", "Up\\down \n twice", NULL, NULL);
    const double bounds[] = {0.001, 0.5};
    metrics_series_t *seconds = metrics_histogram(
        m, "t_seconds", "Handling time", bounds, 2, NULL, NULL);
    const double one[] = {1};
    metrics_histogram(m, "t_labelled_seconds", "Per verb", one, 1, "verb",
                      "get");
    metrics_add(get, 2);
    metrics_add(get, 1);
    metrics_add(NULL, 5);
    metrics_observe_ns(seconds, 1000000);   /* on the bound: first bucket */
    metrics_observe_ns(seconds, 1000001);   /* just over it */
    metrics_observe_ns(seconds, 500000000); /* 0.5 */
    metrics_observe_ns(seconds, 3000000000u);
    metrics_observe_ns(NULL, 1);
    metrics_set_collect(m, s_collect, up);
    size_t len = 0;
    char *text = metrics_render(m, &len);
    assert_non_null(text);
    assert_string_equal(text, s_expected);
    assert_int_equal(len, strlen(s_expected));
    free(text);
    /* A failed collect fails the render: no stale gauges are served. */
    assert_null(metrics_render(m, &len));
    metrics_destroy(&m);
    assert_null(m);
    metrics_destroy(&m);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    metrics_http_endpoint_t e;
    char err[256];
    assert_int_equal(metrics_http_endpoint_parse("tcp://127.0.0.1:9650/metrics",
                                                 &e, err, sizeof(err)),
                     0);
    assert_string_equal(e.host, "127.0.0.1");
    assert_int_equal(e.port, 9650);
    assert_string_equal(e.path, "/metrics");
    assert_int_equal(
        metrics_http_endpoint_parse("tcp://*:80", &e, err, sizeof(err)), 0);
    assert_string_equal(e.host, "");
    assert_int_equal(e.port, 80);
    assert_string_equal(e.path, "/metrics");
    assert_int_equal(metrics_http_endpoint_parse("tcp://10.0.0.1:9650/x/y", &e,
                                                 err, sizeof(err)),
                     0);
    assert_string_equal(e.path, "/x/y");
    const char *bad[] = {"127.0.0.1:9650",        "http://127.0.0.1:9650",
                         "tcp://127.0.0.1",       "tcp://127.0.0.1:0",
                         "tcp://127.0.0.1:65536", "tcp://127.0.0.1:-1",
                         "tcp://127.0.0.1: 80",   "tcp://127.0.0.1:80x",
                         "tcp://localhost:9650",  "tcp://127.0.0.1:80/a b",
                         "tcp://:9650",           "tcp://127.0.0.1:80/?q"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            metrics_http_endpoint_parse(bad[i], &e, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "invalid metrics endpoint"));
    }
    /* The text is shared by both daemons: no daemon's own port in it. */
    metrics_http_endpoint_parse("tcp://:9651", &e, err, sizeof(err));
    assert_string_equal(err, "invalid metrics endpoint \"tcp://:9651\" "
                             "(tcp://HOST:PORT[/PATH], HOST an IPv4 address "
                             "or *, PORT 1 to 65535, PATH /metrics when left "
                             "out)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact_text),
        cmocka_unit_test(test_endpoint_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
