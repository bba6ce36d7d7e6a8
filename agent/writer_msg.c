/* writer_msg.c - the writer channel's requests and answers: built by the
 * network process, checked field by field by the writer (and the answers
 * by the network process) before anything in them is used. */
#include "writer_msg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_text.h"

static void s_init(writer_msg_req_t *req, writer_msg_type_t type,
                   const char *pf_ifname)
{
    memset(req, 0, sizeof(*req));
    req->type = type;
    req->len = sizeof(*req);
    if (pf_ifname)
        agent_text_copy(req->pf_ifname, sizeof(req->pf_ifname), pf_ifname);
}

void writer_msg_apply_vf(writer_msg_req_t *req, const char *pf_ifname,
                         const vfp_apply_vf_t *d)
{
    s_init(req, WRITER_MSG_APPLY_VF, pf_ifname);
    req->vf = *d;
    memset(req->vf.pf, 0, sizeof(req->vf.pf));
}

void writer_msg_num_vfs(writer_msg_req_t *req, const char *pf_ifname,
                        uint16_t num_vfs, const bool *in_use, size_t in_use_len)
{
    s_init(req, WRITER_MSG_NUM_VFS, pf_ifname);
    req->num_vfs = num_vfs;
    if (in_use_len > VFP_VFS_MAX)
        in_use_len = VFP_VFS_MAX;
    req->in_use_len = (uint16_t)in_use_len;
    for (size_t i = 0; i < in_use_len; i++)
        req->in_use[i] = in_use[i] ? 1 : 0;
}

void writer_msg_hugepages(writer_msg_req_t *req, uint32_t size_kb,
                          uint64_t pages)
{
    s_init(req, WRITER_MSG_HUGEPAGES, NULL);
    req->pool.size_kb = size_kb;
    req->pool.pages = pages;
}

int writer_msg_ifname_check(const char *name, char *why, size_t whylen)
{
    size_t len = strnlen(name, IF_NAMESIZE);
    if (len == 0 || len >= IF_NAMESIZE) {
        snprintf(why, whylen, "interface name of %s bytes",
                 len ? "16 or more" : "0");
        return -1;
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        snprintf(why, whylen, "interface name \"%s\"", name);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c == ':' || isspace(c) || !isprint(c)) {
            snprintf(why, whylen, "interface name with byte 0x%02x at %zu", c,
                     i);
            return -1;
        }
    }
    return 0;
}

/* The protocol's rule for a VF count or a pool: one-item APPLY through
 * vfp_validate, as vf_writer_validate does for a VF. */
static int s_check_apply_item(const writer_msg_req_t *req, char *why,
                              size_t whylen)
{
    vfp_apply_pf_t pf = {.num_vfs = req->num_vfs};
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    if (req->type == WRITER_MSG_NUM_VFS) {
        agent_text_copy(pf.pf, sizeof(pf.pf), req->pf_ifname);
        msg.u.apply.pf_count = 1;
        msg.u.apply.pfs = &pf;
    } else {
        msg.u.apply.hugepage_count = 1;
        msg.u.apply.hugepages[0] = req->pool;
    }
    vfp_decode_error_t err;
    if (vfp_validate(&msg, &err) == 0)
        return 0;
    const char *dot = strrchr(err.field, '.');
    snprintf(why, whylen, "%s: %s", dot ? dot + 1 : err.field, err.text);
    return -1;
}

static int s_check_in_use(const writer_msg_req_t *req, char *why, size_t whylen)
{
    if (req->in_use_len > VFP_VFS_MAX) {
        snprintf(why, whylen, "in_use: %u entries, at most %d", req->in_use_len,
                 VFP_VFS_MAX);
        return -1;
    }
    for (size_t i = 0; i < VFP_VFS_MAX; i++)
        if (req->in_use[i] > (i < req->in_use_len ? 1 : 0)) {
            snprintf(why, whylen, "in_use[%zu]: %u", i, req->in_use[i]);
            return -1;
        }
    return 0;
}

/* The fields of a well-framed request of a known type. 0 or -1 with why. */
static int s_check_fields(const writer_msg_req_t *req, char *why, size_t whylen)
{
    char sub[200];
    if (req->type != WRITER_MSG_HUGEPAGES &&
        writer_msg_ifname_check(req->pf_ifname, sub, sizeof(sub))) {
        snprintf(why, whylen, "pf: %s", sub);
        return -1;
    }
    switch (req->type) {
    case WRITER_MSG_APPLY_VF:
        if (memchr(req->vf.pf, '\0', sizeof(req->vf.pf)) == NULL) {
            snprintf(why, whylen, "vf.pf: not terminated");
            return -1;
        }
        if (vf_writer_validate(req->pf_ifname, &req->vf, sub, sizeof(sub))) {
            snprintf(why, whylen, "vf %u %s", req->vf.index, sub);
            return -1;
        }
        return 0;
    case WRITER_MSG_NUM_VFS:
        return s_check_in_use(req, why, whylen) ||
                       s_check_apply_item(req, why, whylen)
                   ? -1
                   : 0;
    default:
        return s_check_apply_item(req, why, whylen);
    }
}

int writer_msg_check_req(const void *buf, size_t len, char *why, size_t whylen)
{
    writer_msg_req_t req;
    if (len != sizeof(req)) {
        snprintf(why, whylen, "request of %zu bytes, not %zu", len,
                 sizeof(req));
        return EBADMSG;
    }
    memcpy(&req, buf, sizeof(req));
    if (req.len != sizeof(req) || req.type < WRITER_MSG_APPLY_VF ||
        req.type > WRITER_MSG_HUGEPAGES) {
        snprintf(why, whylen, "request type %u, length %u", req.type, req.len);
        return EBADMSG;
    }
    return s_check_fields(&req, why, whylen) ? EINVAL : 0;
}

static bool s_terminated(const char *text, size_t size)
{
    return memchr(text, '\0', size) != NULL;
}

int writer_msg_check_rep(const void *buf, size_t len, uint32_t type, char *why,
                         size_t whylen)
{
    writer_msg_rep_t rep;
    if (len != sizeof(rep)) {
        snprintf(why, whylen, "answer of %zu bytes, not %zu", len, sizeof(rep));
        return -1;
    }
    memcpy(&rep, buf, sizeof(rep));
    /* A VF has a result per attribute set, a count or a pool one, a
     * refusal or READY none. */
    bool none = rep.refused || type == WRITER_MSG_READY;
    bool count_ok = none ? rep.result_count == 0
                    : type == WRITER_MSG_APPLY_VF
                        ? rep.result_count <= VF_WRITER_ATTRS
                        : rep.result_count == 1;
    if (rep.len != sizeof(rep) || rep.type != type || !count_ok ||
        rep.refused < 0 || !s_terminated(rep.why, sizeof(rep.why))) {
        snprintf(why, whylen, "answer of type %u to a request of type %u",
                 rep.type, type);
        return -1;
    }
    for (uint32_t i = 0; i < rep.result_count; i++) {
        const vfp_result_t *r = &rep.results[i];
        if (r->err < 0 || !s_terminated(r->pf, sizeof(r->pf)) ||
            !s_terminated(r->attribute, sizeof(r->attribute)) ||
            !s_terminated(r->message, sizeof(r->message))) {
            snprintf(why, whylen, "answer with a malformed result %u", i);
            return -1;
        }
    }
    return 0;
}
