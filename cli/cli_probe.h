/* cli_probe.h - telling "nothing listens at the controller's endpoint"
 * apart from "something listens but did not answer". */
#ifndef VFLEET_CLI_PROBE_H
#define VFLEET_CLI_PROBE_H

#include <stddef.h>

typedef enum {
    CLI_PROBE_LISTENING, /* a plain connect() was accepted */
    CLI_PROBE_REFUSED,   /* nothing listens: no socket file, or refused */
    CLI_PROBE_FAILED,    /* connect() failed otherwise (permissions, ...) */
    CLI_PROBE_UNKNOWN,   /* not an ipc:// or tcp:// endpoint we can probe,
                            or the tcp connect did not finish in time */
} cli_probe_t;

/* Connects a plain AF_UNIX (ipc://PATH, ipc://@NAME) or TCP (tcp://HOST:PORT)
 * socket to a ZeroMQ connect endpoint and closes it again. For
 * CLI_PROBE_REFUSED and CLI_PROBE_FAILED, why receives strerror's text. */
cli_probe_t cli_probe(const char *endpoint, int timeout_ms, char *why,
                      size_t why_size);

#endif
