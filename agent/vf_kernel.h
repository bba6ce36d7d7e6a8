/* vf_kernel.h - which kernel the agent's writer and VF reader talk to (the
 * live one over netlink, or the simulated kernel of a recorded sysfs tree),
 * and the operations a writer backend provides. */
#ifndef VFLEET_VF_KERNEL_H
#define VFLEET_VF_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfp.h"

/* --kernel: where VF settings and counts are read and written. */
typedef enum {
    VF_KERNEL_NETLINK = 0, /* the live kernel: rtnetlink and sysfs */
    VF_KERNEL_SIM = 1,     /* the recorded tree's simulated kernel (vf_sim) */
} vf_kernel_t;

/* The answer to an APPLY item that would send RTM_SETLINK to the live
 * kernel for a PF of a recorded tree. */
#define VF_KERNEL_RECORDED_REFUSAL                                             \
    "recorded sysfs tree: start with --kernel sim to apply"

/* "netlink" or "sim" into *out. Returns 0, or -1 for anything else. */
int vf_kernel_parse(const char *text, vf_kernel_t *out);

const char *vf_kernel_name(vf_kernel_t kernel);

/* Whether sysfs_root (NULL: "/sys") is a recorded tree rather than this
 * host's own sysfs: its interface names mean nothing to the live kernel. A
 * root that resolves to "/sys" is the live one; one that does not resolve
 * counts as recorded. */
bool vf_kernel_recorded_tree(const char *sysfs_root);

/* What a writer backend does; ctx is the backend's own. Each write returns
 * 0 or a positive errno as the kernel answers, with the kernel's message
 * (its extended ack, when it gave one) in text. */
typedef struct {
    /* Fills the settings of pf->vfs (matched by index) as vf_reader_read
     * does: 0, or -1 with why. */
    int (*read_vfs)(void *ctx, vfp_pf_t *pf, char *why, size_t whylen);
    /* 0 when network interface ifname exists, else ENODEV. */
    int (*find_link)(void *ctx, const char *ifname);
    /* Sets one VFP_SET_* attribute (not MTU) of VF d->index of pf_ifname. */
    int (*set_vf_attr)(void *ctx, const char *pf_ifname, uint16_t bit,
                       const vfp_apply_vf_t *d, char *text, size_t textlen);
    /* Sets the MTU of netdev ifname (a VF's host netdev). */
    int (*set_mtu)(void *ctx, const char *ifname, uint16_t mtu, char *text,
                   size_t textlen);
    /* Writes count to pf_ifname's sriov_numvfs, whose path is `path`. */
    int (*write_num_vfs)(void *ctx, const char *pf_ifname, const char *path,
                         long count, char *text, size_t textlen);
    /* Writes pages to a hugepage pool's nr_hugepages at `path`. */
    int (*write_hugepages)(void *ctx, const char *path, long pages, char *text,
                           size_t textlen);
} vf_kernel_ops_t;

#endif
