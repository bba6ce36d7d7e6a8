/* wire.c - database errors as protocol errors, and ERROR messages. */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>

vfp_errcode_t wire_error_code(db_errcode_t code, bool in_reply)
{
    switch (code) {
    case DB_ERR_INVALID:
        return VFP_ERR_INVALID;
    case DB_ERR_RESYNC:
        return VFP_ERR_RESYNC;
    case DB_ERR_NOT_FOUND:
        return in_reply ? VFP_ERR_NOT_FOUND : VFP_ERR_INTERNAL;
    case DB_ERR_EXISTS:
        return in_reply ? VFP_ERR_CONFLICT : VFP_ERR_INTERNAL;
    default:
        return VFP_ERR_INTERNAL;
    }
}

vfp_msg_t *wire_error_new(uint8_t version, uint32_t request_id,
                          vfp_errcode_t code, const char *fmt, ...)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_ERROR);
    msg->version = version;
    msg->request_id = request_id;
    msg->u.error.code = (uint16_t)code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->u.error.text, sizeof(msg->u.error.text), fmt, ap);
    va_end(ap);
    return msg;
}

vfp_msg_t *wire_decode_error_new(const vfp_decode_error_t *err)
{
    /* PROTOCOL.md 7.6, rules 1 and 2: no header, nobody to answer; an
     * ERROR is never answered. */
    if (!err->peer_header || err->peer_msg_id == VFP_ERROR)
        return NULL;
    if (err->code == VFP_ERR_VERSION)
        return wire_error_new(VFP_VERSION_MIN, err->peer_request_id,
                              VFP_ERR_VERSION,
                              "controller speaks protocol versions %d..%d",
                              VFP_VERSION_MIN, VFP_VERSION);
    return wire_error_new(VFP_VERSION_MIN, err->peer_request_id,
                          VFP_ERR_MALFORMED, "%s: %s", err->field, err->text);
}
