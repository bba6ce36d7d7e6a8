/* cli_probe.c - a plain connect() to the controller's endpoint, so a
 * timeout can say whether anything listens there at all. ZeroMQ hides
 * this: its connect succeeds at once and retries in the background. */
#include "cli_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static cli_probe_t s_verdict(int err, char *why, size_t why_size)
{
    if (err == 0)
        return CLI_PROBE_LISTENING;
    snprintf(why, why_size, "%s", strerror(err));
    if (err == ECONNREFUSED || err == ENOENT)
        return CLI_PROBE_REFUSED;
    return CLI_PROBE_FAILED;
}

static cli_probe_t s_probe_ipc(const char *path, char *why, size_t why_size)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(addr.sun_path))
        return CLI_PROBE_UNKNOWN;
    memcpy(addr.sun_path, path, len);
    /* ZeroMQ spells Linux's abstract namespace with a leading '@'. */
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CLI_PROBE_UNKNOWN;
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                     len + (path[0] == '@' ? 0 : 1));
    int rc = connect(fd, (struct sockaddr *)&addr, addr_len);
    int err = rc == 0 ? 0 : errno;
    close(fd);
    return s_verdict(err, why, why_size);
}

/* Connects without blocking past timeout_ms. Returns 0, an errno, or
 * ETIMEDOUT. */
static int s_connect_tcp(const struct addrinfo *ai, int timeout_ms)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
    if (fd < 0)
        return errno;
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            socklen_t len = sizeof(err);
            if (poll(&pfd, 1, timeout_ms) != 1)
                err = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
    }
    close(fd);
    return err;
}

/* "HOST:PORT", "[V6]:PORT", or ZeroMQ's "SOURCE;HOST:PORT". */
static cli_probe_t s_probe_tcp(const char *address, int timeout_ms, char *why,
                               size_t why_size)
{
    const char *semi = strchr(address, ';');
    if (semi)
        address = semi + 1;
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address || (size_t)(colon - address) >= sizeof(host))
        return CLI_PROBE_UNKNOWN;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    if (strcmp(host, "*") == 0 || getaddrinfo(host, colon + 1, &hints, &list))
        return CLI_PROBE_UNKNOWN;
    /* Refused only when every address refuses. */
    int err = ECONNREFUSED;
    for (struct addrinfo *ai = list; ai && err == ECONNREFUSED;
         ai = ai->ai_next)
        err = s_connect_tcp(ai, timeout_ms);
    freeaddrinfo(list);
    if (err == ETIMEDOUT)
        return CLI_PROBE_UNKNOWN;
    return s_verdict(err, why, why_size);
}

cli_probe_t cli_probe(const char *endpoint, int timeout_ms, char *why,
                      size_t why_size)
{
    if (why_size)
        why[0] = '\0';
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return s_probe_ipc(endpoint + 6, why, why_size);
    if (strncmp(endpoint, "tcp://", 6) == 0)
        return s_probe_tcp(endpoint + 6, timeout_ms, why, why_size);
    return CLI_PROBE_UNKNOWN;
}
