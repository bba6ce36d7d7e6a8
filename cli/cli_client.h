/* cli_client.h - one connection to the controller's admin API: REQUEST
 * out, REPLY in, its JSON body parsed, every failure said on stderr. */
#ifndef VFLEET_CLI_CLIENT_H
#define VFLEET_CLI_CLIENT_H

#include <jansson.h>

#include "cli.h"

typedef struct {
    const char *verb;
    uint32_t param_count;
    vfp_param_t params[VFP_PARAMS_MAX];
    const char *body; /* sent as the REQUEST body; NULL: none */
    size_t body_len;
} cli_request_t;

void cli_request_init(cli_request_t *req, const char *verb);
/* Sets key to value, replacing an earlier value of the same key. Returns
 * -1 after reporting a value over VFP_TEXT_MAX. */
int cli_request_set(cli_request_t *req, const char *key, const char *value);

/* The value of key, or NULL. */
const char *cli_request_get(const cli_request_t *req, const char *key);

typedef struct cli_client_t cli_client_t;

/* Connects to cli->controller. Returns NULL after reporting an invalid
 * endpoint. */
cli_client_t *cli_client_new(const cli_t *cli);
void cli_client_destroy(cli_client_t **self_p);

/* How long each call waits for its answer from now on (cli->timeout_ms
 * until set). */
void cli_client_set_timeout(cli_client_t *self, uint32_t timeout_ms);

/* Returns 0 when something listens at the endpoint (or the check cannot
 * tell), else -1 after saying so as a timed-out call would: for a verb
 * that would otherwise wait a long time to learn that nobody listens. */
int cli_client_check_reachable(cli_client_t *self);

/* Sends req and waits up to the timeout for its REPLY. Returns
 * CLI_EXIT_OK with the parsed body object in *body_p (caller decrefs), or
 * CLI_EXIT_ERROR after saying why on stderr: the controller did not answer
 * in time, nothing listens at the endpoint, or the reply is an error (with
 * each line of the "errors" or "conflicts" list of its body, if any). */
int cli_client_call(cli_client_t *self, const cli_request_t *req,
                    json_t **body_p);

/* The same, and when the reply is an error whose body is a JSON object
 * (vm.create's refusal: its reasons and closest hosts), that body in
 * *error_body_p (caller decrefs); NULL otherwise. */
int cli_client_call_detail(cli_client_t *self, const cli_request_t *req,
                           json_t **body_p, json_t **error_body_p);

/* A REPLY as it came: its status, its error text ("" when OK) and its
 * body (the JSON object; for an error the body it may carry, else NULL). */
typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
} cli_reply_t;

/* Sends req and waits up to the timeout for its REPLY, for a verb that
 * reads the controller's error answers itself (vm apply takes NOT_FOUND
 * for "create it"). Returns CLI_EXIT_OK with *reply filled in (whatever
 * its status; cli_reply_clear it), or CLI_EXIT_ERROR after saying on
 * stderr why no usable REPLY came (as cli_client_call). */
int cli_client_exchange(cli_client_t *self, const cli_request_t *req,
                        cli_reply_t *reply);
void cli_reply_clear(cli_reply_t *reply);

#endif
