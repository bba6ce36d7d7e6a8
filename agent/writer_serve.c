/* writer_serve.c - the writer process's loop: receive one request, check
 * it, write, answer. */
#include "writer_serve.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "discover.h"
#include "vfp_log.h"

/* The VFs in use: those the network process names, and those the writer
 * sees itself with a host netdev up (as discovery decides), so that a
 * network process taken over cannot have a VF in use removed by leaving
 * it out. Its VF links are contiguous from virtfn0. Returns in_use's
 * length. */
static size_t s_in_use(vf_writer_t *writer, const writer_msg_req_t *req,
                       bool *in_use)
{
    size_t len = req->in_use_len;
    for (size_t i = 0; i < VFP_VFS_MAX; i++)
        in_use[i] = i < len && req->in_use[i];
    for (size_t i = 0; i < VFP_VFS_MAX; i++) {
        char dev[PATH_MAX];
        struct stat st;
        int n = snprintf(dev, sizeof(dev), "%s/class/net/%s/device/virtfn%zu",
                         vf_writer_sysfs(writer), req->pf_ifname, i);
        if (n < 0 || (size_t)n >= sizeof(dev) || stat(dev, &st))
            break;
        if (discover_device_netdev_up(dev)) {
            in_use[i] = true;
            len = i + 1 > len ? i + 1 : len;
        }
    }
    return len;
}

static void s_carry_out(vf_writer_t *writer, const writer_msg_req_t *req,
                        writer_msg_rep_t *rep)
{
    size_t n = 0;
    bool in_use[VFP_VFS_MAX];
    switch (req->type) {
    case WRITER_MSG_APPLY_VF:
        rep->rc = vf_writer_apply_vf(writer, req->pf_ifname, &req->vf,
                                     rep->results, VF_WRITER_ATTRS, &n);
        rep->result_count = (uint32_t)n;
        break;
    case WRITER_MSG_NUM_VFS:
        n = s_in_use(writer, req, in_use);
        rep->rc = vf_writer_set_num_vfs(writer, req->pf_ifname, req->num_vfs,
                                        in_use, n, &rep->results[0]);
        rep->result_count = 1;
        break;
    default:
        rep->rc = vf_writer_set_hugepages(writer, req->pool.size_kb,
                                          req->pool.pages, &rep->results[0]);
        rep->result_count = 1;
        break;
    }
}

void writer_serve_handle(vf_writer_t *writer, const void *buf, size_t len,
                         writer_msg_rep_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->len = sizeof(*rep);
    if (len >= sizeof(rep->type))
        memcpy(&rep->type, buf, sizeof(rep->type));
    rep->refused = writer_msg_check_req(buf, len, rep->why, sizeof(rep->why));
    if (rep->refused) {
        rep->rc = -1;
        vfp_log_warnx("request refused: %s", rep->why);
    } else {
        writer_msg_req_t req;
        memcpy(&req, buf, sizeof(req));
        s_carry_out(writer, &req, rep);
    }
    rep->kernel_writes = vf_writer_kernel_writes(writer);
}

int writer_serve_run(int fd, vf_writer_t *writer)
{
    /* One byte more than a request: MSG_TRUNC gives the real length of a
     * longer one, which the check then refuses. */
    union {
        writer_msg_req_t req;
        unsigned char bytes[sizeof(writer_msg_req_t) + 1];
    } in;
    writer_msg_rep_t rep;
    for (;;) {
        ssize_t n = recv(fd, &in, sizeof(in), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        writer_serve_handle(writer, &in, (size_t)n, &rep);
        if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
            return -1;
    }
}
