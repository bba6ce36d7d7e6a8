/* admin_request.h - what every admin verb reads from a REQUEST, and how a
 * database failure becomes its answer: one rule for the verbs of admin.c,
 * admin_policy.c and policy_apply.c. */
#ifndef VFLEET_ADMIN_REQUEST_H
#define VFLEET_ADMIN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "vfleet_db.h"
#include "vfp.h"

/* The value of parameter key, or NULL when the request has none. */
const char *admin_request_param(const vfp_request_t *req, const char *key);

/* The first parameter whose key is not in allowed (NULL-terminated), or
 * NULL: a verb refuses parameters it does not know, since a typo must not
 * silently widen a listing or change a write. */
const char *admin_request_unknown(const vfp_request_t *req,
                                  const char *const *allowed);

/* A decimal integer from min to max, nothing around it: 0, or -1. */
int admin_request_int(const char *text, int64_t min, int64_t max,
                      int64_t *value);

/* The listing verbs' page size: parameter "limit", from 1 to
 * VFP_PAGE_LIMIT_MAX, else `otherwise` when absent. 0, or -1 with the
 * INVALID answer's text in error. */
int admin_request_limit(const vfp_request_t *req, int64_t otherwise,
                        int64_t *limit, char *error, size_t len);

/* The status answering a failed database call, and its text in buf: the
 * db's own words, or "database error: ..." for a failure of the
 * controller's (which is also logged, naming `what`). */
vfp_errcode_t admin_request_db_error(const db_err_t *err, const char *what,
                                     char *buf, size_t len);

#endif
