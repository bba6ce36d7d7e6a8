/* cli_page.c - following a listing's "next" cursors until the last page,
 * so vfleetctl shows a whole listing however many messages it takes. */
#include "cli_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_print.h"
#include "vfp.h"

/* --limit without --all: exactly one page. */
static bool s_single(const cli_page_t *page)
{
    return page->limit && !page->all;
}

/* Hands the rows of one reply to fn and takes its cursor: a string, or
 * null on the last page (also when "next" is absent). */
static int s_take_page(json_t *body, const char *key, cli_page_rows_fn *fn,
                       void *arg, json_t **next_p)
{
    json_t *page_rows = json_object_get(body, key);
    json_t *next = json_object_get(body, "next");
    if (!json_is_array(page_rows)) {
        cli_error("controller reply has no \"%s\" list", key);
        return -1;
    }
    if (next && !json_is_null(next) && !json_is_string(next)) {
        cli_error("controller reply has a \"next\" that is not a string");
        return -1;
    }
    *next_p = next ? json_incref(next) : json_null();
    return fn(page_rows, arg);
}

/* A reply whose cursor is the one it answered would have us ask for the
 * same page forever. */
static int s_check_progress(const cli_request_t *req, json_t *next)
{
    const char *sent = cli_request_get(req, "after");
    if (!sent || strcmp(sent, json_string_value(next)) != 0)
        return 0;
    char *text = cli_print_escape(sent);
    cli_error("controller answered cursor \"%s\" with the same cursor", text);
    free(text);
    return -1;
}

int cli_page_each(cli_client_t *client, cli_request_t *req, const char *key,
                  const cli_page_t *page, cli_page_rows_fn *fn, void *arg,
                  json_t **next_p)
{
    /* A whole listing in as few requests as the controller allows: each
     * request counts against this client's --admin-rate. */
    char max[16];
    snprintf(max, sizeof(max), "%d", VFP_PAGE_LIMIT_MAX);
    const char *limit = page->limit ? page->limit : max;
    *next_p = NULL;
    if (cli_request_set(req, "limit", limit) != 0 ||
        (page->after && cli_request_set(req, "after", page->after) != 0))
        return CLI_EXIT_ERROR;
    json_t *next = NULL;
    int status;
    for (;;) {
        json_t *body = NULL;
        status = cli_client_call(client, req, &body);
        if (status == CLI_EXIT_OK &&
            s_take_page(body, key, fn, arg, &next) != 0)
            status = CLI_EXIT_ERROR;
        json_decref(body);
        if (status != CLI_EXIT_OK || s_single(page) || json_is_null(next))
            break;
        if (s_check_progress(req, next) != 0 ||
            cli_request_set(req, "after", json_string_value(next)) != 0) {
            status = CLI_EXIT_ERROR;
            break;
        }
        json_decref(next);
        next = NULL;
    }
    if (status == CLI_EXIT_OK && s_single(page))
        *next_p = next;
    else
        json_decref(next);
    return status;
}

static int s_append(json_t *page_rows, void *rows)
{
    return json_array_extend(rows, page_rows) == 0 ? 0 : -1;
}

int cli_page_fetch(cli_client_t *client, cli_request_t *req, const char *key,
                   const cli_page_t *page, json_t **rows_p, json_t **next_p)
{
    json_t *rows = json_array();
    int status = cli_page_each(client, req, key, page, s_append, rows, next_p);
    if (status != CLI_EXIT_OK)
        json_decref(rows);
    *rows_p = status == CLI_EXIT_OK ? rows : NULL;
    return status;
}

static bool s_has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f ||
            (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return true;
    return false;
}

/* Quoted for a POSIX shell when it has to be; escaped for the terminal
 * (and so no longer exact) only when it holds control characters. */
static char *s_shell_word(const char *text)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_@%+=:,./-";
    if (text[0] && strspn(text, safe) == strlen(text))
        return strdup(text);
    char *quoted = malloc(strlen(text) * 4 + 3);
    assert(quoted);
    char *q = quoted;
    *q++ = '\'';
    for (const char *p = text; *p; p++)
        q += *p == '\'' ? sprintf(q, "'\\''") : sprintf(q, "%c", *p);
    sprintf(q, "'");
    if (!s_has_control(quoted))
        return quoted;
    char *escaped = cli_print_escape(quoted);
    free(quoted);
    return escaped;
}

void cli_page_hint(const char *key, json_t *next)
{
    if (!json_is_string(next))
        return;
    char *word = s_shell_word(json_string_value(next));
    cli_error("more %s follow; for the next page add --after %s", key, word);
    free(word);
}
