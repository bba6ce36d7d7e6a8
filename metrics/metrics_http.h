/* metrics_http.h - serves a metrics registry over HTTP (libmicrohttpd),
 * on its own thread, for Prometheus to scrape. */
#ifndef VFLEET_METRICS_HTTP_H
#define VFLEET_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/* Connections served at once, and how long an idle one is kept: a scraper
 * that stalls, or many of them, cost a bounded amount. */
#define METRICS_HTTP_CONNECTIONS_MAX 16
#define METRICS_HTTP_TIMEOUT_S 10

#define METRICS_HTTP_PATH_MAX 127

typedef struct {
    char host[16]; /* an IPv4 address, or "" for every address */
    uint16_t port;
    char path[METRICS_HTTP_PATH_MAX + 1];
} metrics_http_endpoint_t;

typedef struct metrics_http_t metrics_http_t;

/* Parses tcp://HOST:PORT[/PATH]: HOST an IPv4 address or '*', PORT 1 to
 * 65535, PATH "/metrics" when left out. Returns 0, or -1 with the reason
 * in err. */
int metrics_http_endpoint_parse(const char *text, metrics_http_endpoint_t *out,
                                char *err, size_t errlen);

/* Listens on the endpoint and answers GET PATH with the registry's
 * rendering, from libmicrohttpd's own thread. NULL with the reason in err
 * when the endpoint is invalid or cannot be bound. */
metrics_http_t *metrics_http_new(const char *endpoint, metrics_t *registry,
                                 char *err, size_t errlen);

/* Stops the thread and closes every connection; accepts NULL. */
void metrics_http_destroy(metrics_http_t **self_p);

#endif
