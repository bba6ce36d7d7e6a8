/* cli_client.c - vfleetctl's side of the admin API (controller/ADMIN.md):
 * a DEALER socket, one REQUEST per call, the matching REPLY's JSON body. */
#include "cli_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_print.h"
#include "cli_probe.h"
#include "vfp_keys.h"

struct cli_client_t {
    zsock_t *sock;
    const cli_t *cli;
    uint32_t timeout_ms;
    uint32_t next_request_id;
};

void cli_request_init(cli_request_t *req, const char *verb)
{
    memset(req, 0, sizeof(*req));
    req->verb = verb;
}

int cli_request_set(cli_request_t *req, const char *key, const char *value)
{
    if (strlen(value) > VFP_TEXT_MAX) {
        cli_error("%s: the %s value is longer than %d bytes", req->verb, key,
                  VFP_TEXT_MAX);
        return -1;
    }
    uint32_t i = 0;
    while (i < req->param_count && strcmp(req->params[i].key, key) != 0)
        i++;
    assert(i < VFP_PARAMS_MAX);
    if (i == req->param_count)
        req->param_count++;
    snprintf(req->params[i].key, sizeof(req->params[i].key), "%s", key);
    snprintf(req->params[i].value, sizeof(req->params[i].value), "%s", value);
    return 0;
}

const char *cli_request_get(const cli_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

/* Whether the endpoint speaks CURVE: tcp://, unless --insecure; ipc://
 * is guarded by its file mode and stays plaintext (README.md, "Keys"). */
static bool s_curve(const cli_t *cli)
{
    return !cli->insecure && strncmp(cli->controller, "tcp://", 6) == 0;
}

/* Makes sock a CURVE client with the admin key and the controller's
 * public key. Returns -1 after saying which file is missing or unsafe. */
static int s_curve_client(const cli_t *cli, zsock_t *sock)
{
    char err[1024];
    zcert_t *mine = vfp_keys_load_secret(cli->key, err, sizeof(err));
    zcert_t *server =
        mine ? vfp_keys_load_public(cli->controller_key, err, sizeof(err))
             : NULL;
    int rc = mine && server ? 0 : -1;
    if (rc == 0)
        vfp_keys_apply_client(sock, mine, server);
    else if (!mine)
        cli_error("%s needs an admin key: %s; give --key FILE (vfleetctl keys "
                  "add-admin on the controller host makes one; --insecure "
                  "only for a controller started with --insecure)",
                  cli->controller, err);
    else
        cli_error("%s needs the controller's public key: %s; give "
                  "--controller-key FILE (controller.key in the controller's "
                  "key directory, which vfleetctl keys init made)",
                  cli->controller, err);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return rc;
}

cli_client_t *cli_client_new(const cli_t *cli)
{
    zsys_handler_set(NULL);
    cli_client_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->cli = cli;
    self->timeout_ms = cli->timeout_ms;
    /* Request ids only need to differ between the calls of one socket. */
    self->next_request_id = (uint32_t)getpid() << 8;
    self->sock = zsock_new(ZMQ_DEALER);
    assert(self->sock);
    vfp_socket_limit(self->sock);
    zsock_set_linger(self->sock, 0);
    zsock_set_rcvtimeo(self->sock, (int)cli->timeout_ms);
    if (s_curve(cli) && s_curve_client(cli, self->sock) != 0) {
        cli_client_destroy(&self);
    } else if (zsock_connect(self->sock, "%s", cli->controller) != 0) {
        cli_error("invalid controller endpoint \"%s\"", cli->controller);
        cli_client_destroy(&self);
    }
    return self;
}

void cli_client_destroy(cli_client_t **self_p)
{
    if (!*self_p)
        return;
    zsock_destroy(&(*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

/* How long the probe may wait for a TCP handshake, on top of the timeout
 * already spent: a peer that answers SYNs does so well within this. */
#define S_PROBE_MAX_MS 1000

void cli_client_set_timeout(cli_client_t *self, uint32_t timeout_ms)
{
    self->timeout_ms = timeout_ms;
    zsock_set_rcvtimeo(self->sock, (int)timeout_ms);
}

/* Says why nothing listens at the endpoint and returns -1, or returns 0
 * when something does (or the probe cannot tell). */
static int s_report_unreachable(const cli_t *cli, int probe_ms)
{
    char why[128];
    switch (cli_probe(cli->controller, probe_ms, why, sizeof(why))) {
    case CLI_PROBE_REFUSED:
        cli_error("cannot reach controller at %s: is vfleet-controller "
                  "running? (%s)",
                  cli->controller, why);
        return -1;
    case CLI_PROBE_FAILED:
        cli_error("cannot reach controller at %s: %s", cli->controller, why);
        return -1;
    default:
        return 0;
    }
}

int cli_client_check_reachable(cli_client_t *self)
{
    return s_report_unreachable(self->cli, S_PROBE_MAX_MS);
}

/* Nothing arrived in time: say whether anything listens at all. */
static void s_report_silence(const cli_client_t *self)
{
    int probe_ms = self->timeout_ms < S_PROBE_MAX_MS ? (int)self->timeout_ms
                                                     : S_PROBE_MAX_MS;
    const cli_t *cli = self->cli;
    const char *why = "";
    if (s_curve(cli))
        why = " (a controller that does not know this key, or a different "
              "--controller-key, does not answer a CURVE client)";
    else if (strncmp(cli->controller, "tcp://", 6) == 0)
        why = " (with --insecure: a controller whose tcp endpoint needs CURVE "
              "does not answer plaintext)";
    if (s_report_unreachable(cli, probe_ms) == 0)
        cli_error("vfleet-controller at %s did not answer within %g s%s",
                  cli->controller, self->timeout_ms / 1000.0, why);
}

static void s_report_error(const cli_t *cli, const vfp_msg_t *error)
{
    char *text = cli_print_escape(error->u.error.text);
    cli_error("controller at %s refused the request: %s", cli->controller,
              text);
    free(text);
}

/* The "errors" or "conflicts" lines an error REPLY's body may carry
 * (ADMIN.md), one per line on stderr, as policy validate prints errors. */
static void s_print_error_lines(const vfp_reply_t *reply, json_t **error_body_p)
{
    if (!reply->body_len)
        return;
    json_t *body = json_loadb(reply->body, reply->body_len, 0, NULL);
    const char *keys[] = {"errors", "conflicts"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        size_t i;
        json_t *line;
        json_array_foreach(json_object_get(body, keys[k]), i, line)
        {
            if (!json_is_string(line))
                continue;
            char *text = cli_print_escape(json_string_value(line));
            fprintf(stderr, "%s\n", text);
            free(text);
        }
    }
    if (error_body_p && json_is_object(body))
        *error_body_p = json_incref(body);
    json_decref(body);
}

/* The body of a REPLY as a JSON object; CLI_EXIT_ERROR after saying why
 * it is not one. */
static int s_body_object(const vfp_reply_t *reply, json_t **body_p)
{
    json_error_t jerr;
    *body_p =
        json_loadb(reply->body ? reply->body : "", reply->body_len, 0, &jerr);
    if (!*body_p) {
        cli_error("controller sent invalid JSON: %s (line %d)", jerr.text,
                  jerr.line);
        return CLI_EXIT_ERROR;
    }
    if (!json_is_object(*body_p)) {
        cli_error("controller sent JSON that is not an object");
        json_decref(*body_p);
        *body_p = NULL;
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_reply_body(const cli_request_t *req, const vfp_msg_t *reply,
                        json_t **body_p, json_t **error_body_p)
{
    if (reply->u.reply.status != VFP_OK) {
        char *error = cli_print_escape(reply->u.reply.error);
        cli_error("%s: %s", req->verb, error);
        free(error);
        s_print_error_lines(&reply->u.reply, error_body_p);
        return CLI_EXIT_ERROR;
    }
    return s_body_object(&reply->u.reply, body_p);
}

static vfp_msg_t *s_request_new(const cli_request_t *req)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_REQUEST);
    snprintf(msg->u.request.verb, sizeof(msg->u.request.verb), "%s", req->verb);
    msg->u.request.param_count = req->param_count;
    memcpy(msg->u.request.params, req->params,
           req->param_count * sizeof(req->params[0]));
    if (req->body) {
        msg->u.request.body = malloc(req->body_len + 1);
        assert(msg->u.request.body);
        memcpy(msg->u.request.body, req->body, req->body_len);
        msg->u.request.body[req->body_len] = '\0';
        msg->u.request.body_len = (uint32_t)req->body_len;
    }
    return msg;
}

/* Sends msg under a new request id and returns the matching REPLY, or
 * NULL after saying on stderr why none came. */
static vfp_msg_t *s_send_once(cli_client_t *self, vfp_msg_t *msg)
{
    msg->request_id = self->next_request_id++;
    vfp_msg_t *reply = NULL;
    vfp_decode_error_t err;
    if (vfp_send(self->sock, NULL, msg, &err) != 0) {
        if (err.code == VFP_OK)
            cli_error("cannot send the request: %s", strerror(errno));
        else
            cli_error("cannot send the request: %s: %s", err.field, err.text);
        return NULL;
    }
    reply = vfp_recv(self->sock, NULL, &err);
    if (!reply && err.code == VFP_OK)
        s_report_silence(self);
    else if (!reply)
        cli_error("controller at %s sent a malformed reply: %s: %s",
                  self->cli->controller, err.field, err.text);
    else if (reply->id == VFP_ERROR)
        s_report_error(self->cli, reply);
    else if (reply->id != VFP_REPLY || reply->request_id != msg->request_id)
        cli_error("controller at %s answered with an unexpected %s",
                  self->cli->controller, vfp_id_name(reply->id));
    else
        return reply;
    vfp_msg_destroy(&reply);
    return NULL;
}

/* A REPLY INTERNAL whose text starts "busy:": the controller did not act
 * on the request (too many queued, or over this client's budget). */
static bool s_busy(const vfp_msg_t *reply)
{
    return reply->u.reply.status == VFP_ERR_INTERNAL &&
           strncmp(reply->u.reply.error, VFP_BUSY_PREFIX,
                   strlen(VFP_BUSY_PREFIX)) == 0;
}

/* Sends req and returns the matching REPLY, or NULL after saying on
 * stderr why none came. A busy answer is sent again after a pause that
 * doubles from CLI_BUSY_PAUSE_MS up to CLI_BUSY_PAUSE_MAX_MS, for as long
 * as the timeout allows; the last busy answer is the reply then. */
static vfp_msg_t *s_round_trip(cli_client_t *self, const cli_request_t *req)
{
    vfp_msg_t *msg = s_request_new(req);
    int64_t deadline = zclock_mono() + self->timeout_ms;
    int64_t pause = CLI_BUSY_PAUSE_MS;
    vfp_msg_t *reply = s_send_once(self, msg);
    while (reply && s_busy(reply) && zclock_mono() + pause < deadline) {
        vfp_msg_destroy(&reply);
        zclock_sleep((int)pause);
        pause = pause * 2 < CLI_BUSY_PAUSE_MAX_MS ? pause * 2
                                                  : CLI_BUSY_PAUSE_MAX_MS;
        reply = s_send_once(self, msg);
    }
    vfp_msg_destroy(&msg);
    return reply;
}

int cli_client_call(cli_client_t *self, const cli_request_t *req,
                    json_t **body_p)
{
    return cli_client_call_detail(self, req, body_p, NULL);
}

int cli_client_call_detail(cli_client_t *self, const cli_request_t *req,
                           json_t **body_p, json_t **error_body_p)
{
    if (error_body_p)
        *error_body_p = NULL;
    vfp_msg_t *reply = s_round_trip(self, req);
    int status =
        reply ? s_reply_body(req, reply, body_p, error_body_p) : CLI_EXIT_ERROR;
    vfp_msg_destroy(&reply);
    return status;
}

int cli_client_exchange(cli_client_t *self, const cli_request_t *req,
                        cli_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    vfp_msg_t *reply = s_round_trip(self, req);
    if (!reply)
        return CLI_EXIT_ERROR;
    int status = CLI_EXIT_OK;
    out->status = (vfp_errcode_t)reply->u.reply.status;
    snprintf(out->error, sizeof(out->error), "%s", reply->u.reply.error);
    if (out->status == VFP_OK)
        status = s_body_object(&reply->u.reply, &out->body);
    else if (reply->u.reply.body_len)
        out->body =
            json_loadb(reply->u.reply.body, reply->u.reply.body_len, 0, NULL);
    vfp_msg_destroy(&reply);
    return status;
}

void cli_reply_clear(cli_reply_t *reply)
{
    json_decref(reply->body);
    reply->body = NULL;
}
