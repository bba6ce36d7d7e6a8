/* metrics_http.c - the metrics endpoint: libmicrohttpd with its internal
 * thread, GET only, bounded in connections and time. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_http.h"

/* The exposition format's version, as Prometheus negotiates it. */
#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http_t {
    struct MHD_Daemon *daemon;
    metrics_t *registry;
    metrics_http_endpoint_t endpoint;
};

int metrics_http_endpoint_parse(const char *text, metrics_http_endpoint_t *out,
                                char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *host = strncmp(text, "tcp://", 6) == 0 ? text + 6 : NULL;
    const char *colon = host ? strchr(host, ':') : NULL;
    if (!colon || (size_t)(colon - host) >= sizeof(out->host))
        goto invalid;
    memcpy(out->host, host, (size_t)(colon - host));
    struct in_addr addr;
    if (strcmp(out->host, "*") == 0)
        out->host[0] = '\0';
    else if (inet_pton(AF_INET, out->host, &addr) != 1)
        goto invalid;
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || colon[1] < '0' || colon[1] > '9' ||
        port < 1 || port > 65535 || (*end && *end != '/'))
        goto invalid;
    out->port = (uint16_t)port;
    const char *path = *end ? end : "/metrics";
    if (strlen(path) > METRICS_HTTP_PATH_MAX || strpbrk(path, " ?#"))
        goto invalid;
    snprintf(out->path, sizeof(out->path), "%s", path);
    return 0;
invalid:
    snprintf(err, errlen,
             "invalid metrics endpoint \"%s\" (tcp://HOST:PORT[/PATH], HOST "
             "an IPv4 address or *, PORT 1 to 65535, PATH /metrics when "
             "left out)",
             text);
    return -1;
}

static enum MHD_Result s_respond(struct MHD_Connection *connection,
                                 unsigned int status, char *body, size_t len,
                                 const char *content_type)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    assert(response);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result s_error(struct MHD_Connection *connection,
                               unsigned int status, const char *text)
{
    char *body = strdup(text);
    assert(body);
    return s_respond(connection, status, body, strlen(body),
                     "text/plain; charset=utf-8");
}

/* A request: answered as soon as its headers are in, since a scrape has
 * no body. */
static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *connection, const char *url,
             const char *method, const char *version, const char *upload_data,
             size_t *upload_data_size, void **state)
{
    (void)version;
    (void)upload_data;
    (void)state;
    metrics_http_t *self = cls;
    if (*upload_data_size != 0)
        return MHD_NO;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                       "only GET and HEAD\n");
    if (strcmp(url, self->endpoint.path) != 0)
        return s_error(connection, MHD_HTTP_NOT_FOUND,
                       "no such path; metrics are at the configured path\n");
    size_t len = 0;
    char *text = metrics_render(self->registry, &len);
    if (!text)
        return s_error(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                       "the inventory cannot be read now; see the log\n");
    return s_respond(connection, MHD_HTTP_OK, text, len, S_CONTENT_TYPE);
}

metrics_http_t *metrics_http_new(const char *endpoint, metrics_t *registry,
                                 char *err, size_t errlen)
{
    metrics_http_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->registry = registry;
    if (metrics_http_endpoint_parse(endpoint, &self->endpoint, err, errlen) !=
        0) {
        free(self);
        return NULL;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons(self->endpoint.port)};
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (self->endpoint.host[0])
        inet_pton(AF_INET, self->endpoint.host, &addr.sin_addr);
    errno = 0;
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, self->endpoint.port,
        NULL, NULL, s_on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)METRICS_HTTP_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_TIMEOUT_S,
        MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, errlen, "cannot serve metrics on %s: %s", endpoint,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        free(self);
        return NULL;
    }
    return self;
}

void metrics_http_destroy(metrics_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_http_t *self = *self_p;
    MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}
