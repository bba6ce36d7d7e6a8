/* test_metrics.c - the metrics registry's exposition text, exactly, the
 * --metrics endpoint's parsing, and the HTTP answers of a real server on
 * loopback (200, 503 when the gauges cannot be read, 404, 405). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* A loopback port free a moment ago. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One HTTP/1.0 request to 127.0.0.1:port; the whole answer, to free(). */
static char *s_http(int port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 65536, used = 0;
    char *answer = malloc(cap);
    assert_non_null(answer);
    ssize_t got;
    while ((got = read(fd, answer + used, cap - used - 1)) > 0)
        used += (size_t)got;
    answer[used] = '\0';
    close(fd);
    return answer;
}

static int s_gauge_fails;

static int s_collect_http(void *arg)
{
    metrics_set(arg, 5);
    return s_gauge_fails ? -1 : 0;
}

static void s_expect(int port, const char *method, const char *path,
                     const char *status, const char *has)
{
    char *answer = s_http(port, method, path);
    if (strncmp(answer, status, strlen(status)) != 0 || !strstr(answer, has))
        fail_msg("%s %s: expected \"%s\" with \"%s\", got:\n%s", method, path,
                 status, has, answer);
    free(answer);
}

/* The endpoint as a scraper meets it: the text, 503 (never stale gauges)
 * while the collect function fails, and 200 again once it works. */
static void test_http_answers(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    metrics_series_t *vms = metrics_gauge(m, "t_vms", "VMs", NULL, NULL);
    metrics_set_collect(m, s_collect_http, vms);
    int port = s_free_port();
    char endpoint[64], err[256];
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d/m", port);
    metrics_http_t *http = metrics_http_new(endpoint, m, err, sizeof(err));
    assert_non_null(http);
    s_expect(port, "GET", "/m", "HTTP/1.1 200", "\r\n\r\n# HELP t_vms VMs\n");
    s_expect(port, "GET", "/m", "HTTP/1.1 200", "t_vms 5\n");
    s_expect(port, "HEAD", "/m", "HTTP/1.1 200", "text/plain; version=0.0.4");
    s_gauge_fails = 1;
    s_expect(port, "GET", "/m", "HTTP/1.1 503",
             "the inventory cannot be read now; see the log\n");
    s_gauge_fails = 0;
    s_expect(port, "GET", "/m", "HTTP/1.1 200", "t_vms 5\n");
    s_expect(port, "GET", "/metrics", "HTTP/1.1 404", "no such path");
    s_expect(port, "POST", "/m", "HTTP/1.1 405", "Allow: GET, HEAD");
    metrics_http_destroy(&http);
    metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact_text),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_http_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
