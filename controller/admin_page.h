/* admin_page.h - one page of an admin listing (ADMIN.md, "Paging"), for
 * the read verbs that build their rows as JSON: at most `limit` rows and
 * what one message holds, and the cursor of the last row. */
#ifndef VFLEET_ADMIN_PAGE_H
#define VFLEET_ADMIN_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "admin_policy.h"
#include "vfleet_db.h"
#include "vfp.h"

/* One page being filled: at most `limit` rows and what one message holds;
 * `cursor` is the key of the last row taken. */
typedef struct {
    json_t *rows;
    int64_t limit;
    size_t bytes;
    bool more;
    json_t *cursor;
} admin_page_t;

/* An answer's failure: status and text (cut at a character boundary). */
void admin_answer_fail(admin_policy_answer_t *answer, vfp_errcode_t status,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failed database call as the answer (admin_request_db_error). */
void admin_answer_db(admin_policy_answer_t *answer, const db_err_t *err);

/* Refuses parameters the verb does not know (admin_request_unknown).
 * Returns 0, or -1 with answer filled. */
int admin_answer_params(const vfp_request_t *req, const char *const *allowed,
                        admin_policy_answer_t *answer);

/* Reads the request's "limit" (default VFP_PAGE_LIMIT_DEFAULT). Returns 0,
 * or -1 with answer filled. */
int admin_page_start(admin_page_t *page, const vfp_request_t *req,
                     admin_policy_answer_t *answer);

/* Takes one row and its cursor key (both consumed). Returns -1 to stop
 * the listing once the page is full. */
int admin_page_add(admin_page_t *page, json_t *row, json_t *key);

/* The rows under `name` and "next" into body (created when NULL); a
 * listing the page stopped returns -1 with DB_OK: that is success. */
void admin_page_finish(admin_page_t *page, const char *name, int rc,
                       const db_err_t *err, json_t **body,
                       admin_policy_answer_t *answer);

#endif
