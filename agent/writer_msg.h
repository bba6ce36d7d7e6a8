/* writer_msg.h - what the agent's network process asks its privileged
 * writer process, and the answers: fixed binary structs over a local
 * SOCK_SEQPACKET channel (privsep.h), never the controller's codec, and
 * every field checked again by the writer before it is used. */
#ifndef VFLEET_WRITER_MSG_H
#define VFLEET_WRITER_MSG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf_writer.h"
#include "vfp.h"

typedef enum {
    WRITER_MSG_READY = 1, /* the writer's first answer: up, or why not */
    WRITER_MSG_APPLY_VF,  /* vf_writer_apply_vf */
    WRITER_MSG_NUM_VFS,   /* vf_writer_set_num_vfs */
    WRITER_MSG_HUGEPAGES, /* vf_writer_set_hugepages */
} writer_msg_type_t;

/* One request. Every byte is set (unused parts zero) and both ends are the
 * same binary, so the struct itself is the encoding. */
typedef struct {
    uint32_t type;               /* writer_msg_type_t, not READY */
    uint32_t len;                /* sizeof(writer_msg_req_t) */
    char pf_ifname[IF_NAMESIZE]; /* APPLY_VF, NUM_VFS: the PF's netdev */
    vfp_apply_vf_t vf;           /* APPLY_VF; its pf is "" */
    uint16_t num_vfs;            /* NUM_VFS */
    uint16_t in_use_len;         /* NUM_VFS: in_use[0..in_use_len) */
    uint8_t in_use[VFP_VFS_MAX]; /* NUM_VFS: 1 when the VF is held */
    vfp_apply_hugepages_t pool;  /* HUGEPAGES */
} writer_msg_req_t;

/* One answer, to READY or to one request. */
typedef struct {
    uint32_t type;   /* the request's */
    uint32_t len;    /* sizeof(writer_msg_rep_t) */
    int32_t refused; /* 0, or the errno refusing the request itself */
    int32_t rc;      /* the writer call's return: 0 or -1 */
    char why[256];   /* why it was refused (READY: why the writer is not up) */
    uint64_t kernel_writes; /* the writer's vf_writer_kernel_writes after it */
    uint32_t result_count;
    vfp_result_t results[VF_WRITER_ATTRS];
} writer_msg_rep_t;

/* Fills *req to set VF d->index of pf_ifname. */
void writer_msg_apply_vf(writer_msg_req_t *req, const char *pf_ifname,
                         const vfp_apply_vf_t *d);

/* Fills *req to set pf_ifname's VF count; in_use as vf_writer_set_num_vfs
 * takes it, cut at VFP_VFS_MAX. */
void writer_msg_num_vfs(writer_msg_req_t *req, const char *pf_ifname,
                        uint16_t num_vfs, const bool *in_use,
                        size_t in_use_len);

/* Fills *req to set the pool of size_kb hugepages to `pages`. */
void writer_msg_hugepages(writer_msg_req_t *req, uint32_t size_kb,
                          uint64_t pages);

/* Whether name is a network interface name as the kernel's
 * dev_valid_name() takes it: 1 to IF_NAMESIZE - 1 bytes, not "." or "..",
 * no '/', ':' or white space; and printable. 0, or -1 with why. */
int writer_msg_ifname_check(const char *name, char *why, size_t whylen);

/* The writer's check of `len` bytes received as one request: the exact
 * size, a known type, a valid interface name, and the item itself by the
 * protocol's rule for APPLY (vf_writer_validate for a VF; vfp_validate on
 * a one-item APPLY for a VF count or a pool). Returns 0, or the errno to
 * refuse it with (EBADMSG for the framing, EINVAL for a field) and why. */
int writer_msg_check_req(const void *buf, size_t len, char *why, size_t whylen);

/* The network process's check of `len` bytes received as the answer to a
 * request of `type`: size, type, a result count within what the request
 * can produce, NUL-terminated texts. 0, or -1 with why. */
int writer_msg_check_rep(const void *buf, size_t len, uint32_t type, char *why,
                         size_t whylen);

#endif
