/* admin_page.c - one page of an admin listing: rows up to a limit and to
 * what one message holds, and the cursor that continues it. */
#include "admin_page.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_request.h"

/* Room kept in a reply body for what surrounds the rows: an object the
 * verb adds (a policy with its message, author and commit, escaped), the
 * counts and the cursor. */
#define S_ENVELOPE (64u * 1024)

void admin_answer_fail(admin_policy_answer_t *answer, vfp_errcode_t status,
                       const char *fmt, ...)
{
    answer->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(answer->error, sizeof(answer->error), fmt, ap);
    va_end(ap);
    vfp_utf8_trim(answer->error);
}

void admin_answer_db(admin_policy_answer_t *answer, const db_err_t *err)
{
    answer->status = admin_request_db_error(err, "admin query", answer->error,
                                            sizeof(answer->error));
}

int admin_answer_params(const vfp_request_t *req, const char *const *allowed,
                        admin_policy_answer_t *answer)
{
    const char *unknown = admin_request_unknown(req, allowed);
    if (unknown)
        admin_answer_fail(answer, VFP_ERR_INVALID,
                          "verb \"%s\" has no parameter \"%s\"", req->verb,
                          unknown);
    return unknown ? -1 : 0;
}

int admin_page_start(admin_page_t *page, const vfp_request_t *req,
                     admin_policy_answer_t *answer)
{
    memset(page, 0, sizeof(*page));
    char error[VFP_TEXT_MAX + 1];
    if (admin_request_limit(req, VFP_PAGE_LIMIT_DEFAULT, &page->limit, error,
                            sizeof(error)) != 0) {
        admin_answer_fail(answer, VFP_ERR_INVALID, "%s", error);
        return -1;
    }
    page->rows = json_array();
    return 0;
}

int admin_page_add(admin_page_t *page, json_t *row, json_t *key)
{
    size_t size = json_dumpb(row, NULL, 0, JSON_COMPACT) + 1;
    if ((int64_t)json_array_size(page->rows) == page->limit ||
        page->bytes + size > VFP_BODY_MAX - S_ENVELOPE) {
        page->more = true;
        json_decref(row);
        json_decref(key);
        return -1;
    }
    json_array_append_new(page->rows, row);
    page->bytes += size;
    json_decref(page->cursor);
    page->cursor = key;
    return 0;
}

void admin_page_finish(admin_page_t *page, const char *name, int rc,
                       const db_err_t *err, json_t **body,
                       admin_policy_answer_t *answer)
{
    if (rc != 0 && err->code != DB_OK) {
        answer->status = admin_request_db_error(
            err, "admin query", answer->error, sizeof(answer->error));
    } else {
        json_t *next = json_null();
        if (page->more && page->cursor) {
            char *text =
                json_dumps(page->cursor, JSON_COMPACT | JSON_ENCODE_ANY);
            assert(text);
            next = json_string(text);
            free(text);
        }
        if (!*body)
            *body = json_object();
        json_object_set(*body, name, page->rows);
        json_object_set_new(*body, "next", next);
    }
    json_decref(page->rows);
    json_decref(page->cursor);
    memset(page, 0, sizeof(*page));
}
