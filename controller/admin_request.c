/* admin_request.c - request parameters and database failures, as every
 * admin verb reads and answers them. */
#include "admin_request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_log.h"
#include "wire.h"

const char *admin_request_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

const char *admin_request_unknown(const vfp_request_t *req,
                                  const char *const *allowed)
{
    for (uint32_t i = 0; i < req->param_count; i++) {
        const char *const *a = allowed;
        while (*a && strcmp(req->params[i].key, *a) != 0)
            a++;
        if (!*a)
            return req->params[i].key;
    }
    return NULL;
}

int admin_request_int(const char *text, int64_t min, int64_t max,
                      int64_t *value)
{
    /* strtoll would also take leading blanks and a '+'. */
    if (!(isdigit((unsigned char)text[0]) ||
          (text[0] == '-' && isdigit((unsigned char)text[1]))))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *value = v;
    return 0;
}

vfp_errcode_t admin_request_db_error(const db_err_t *err, const char *what,
                                     char *buf, size_t len)
{
    vfp_errcode_t code = wire_error_code(err->code, true);
    if (code == VFP_ERR_INTERNAL) {
        VFP_LOG_LIMITED(VFP_LOG_ERROR, "%s failed: %s", what, err->text);
        snprintf(buf, len, "database error: %s", err->text);
    } else {
        snprintf(buf, len, "%s", err->text);
    }
    return code;
}

int admin_request_limit(const vfp_request_t *req, int64_t otherwise,
                        int64_t *limit, char *error, size_t len)
{
    const char *text = admin_request_param(req, "limit");
    *limit = otherwise;
    if (text && admin_request_int(text, 1, VFP_PAGE_LIMIT_MAX, limit) != 0) {
        snprintf(error, len, "limit \"%s\" is not a number from 1 to %d", text,
                 VFP_PAGE_LIMIT_MAX);
        return -1;
    }
    return 0;
}
