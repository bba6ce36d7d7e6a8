/* vf_writer.h - the kernel-facing writer: VF settings through rtnetlink on
 * the PF, VF counts through sriov_numvfs, hugepage pools through
 * nr_hugepages, every write read back. */
#ifndef VFLEET_VF_WRITER_H
#define VFLEET_VF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf_kernel.h"
#include "vfp.h"

/* Results one VF apply can produce: one per VFP_SET_* attribute. */
#define VF_WRITER_ATTRS 7

typedef struct vf_writer_t vf_writer_t;

/* Opens a NETLINK_ROUTE socket. sysfs_root (NULL: "/sys") is where VF
 * counts, VF netdevs and hugepage pools are found. Returns NULL with the
 * reason in err on failure. */
vf_writer_t *vf_writer_new(const char *sysfs_root, char *err, size_t errlen);

/* The agent's writer: with VF_KERNEL_NETLINK as vf_writer_new, except that
 * when sysfs_root is a recorded tree (vf_kernel_recorded_tree) no
 * RTM_SETLINK ever reaches the live kernel: every VF item is answered EPERM
 * with VF_KERNEL_RECORDED_REFUSAL (VF counts and hugepages still go to the
 * tree's files). With VF_KERNEL_SIM no netlink socket is opened: VF
 * settings, MTUs and VF counts go to the tree's simulated kernel
 * (vf_sim.h), through the same validation, comparison and read-back.
 * vf_writer_new itself is for tools that pair a made-up tree with a real
 * network namespace (tests/kernel/veth-test.sh). */
vf_writer_t *vf_writer_new_kernel(const char *sysfs_root, vf_kernel_t kernel,
                                  char *err, size_t errlen);

/* Closes the socket; accepts NULL, sets *self_p to NULL. */
void vf_writer_destroy(vf_writer_t **self_p);

/* The sysfs root the writer was made with ("/sys" for NULL). */
const char *vf_writer_sysfs(const vf_writer_t *self);

/* Number of RTM_SETLINK requests sent since vf_writer_new: an apply that
 * finds the kernel already as desired adds nothing to it. */
uint64_t vf_writer_netlink_writes(const vf_writer_t *self);

/* Changes asked of the kernel, live or simulated, since the writer was
 * made: VF attributes, MTUs, sriov_numvfs and nr_hugepages writes, refused
 * or not. An apply that finds everything as desired adds nothing. */
uint64_t vf_writer_kernel_writes(const vf_writer_t *self);

/* Fills *r (zeroing it first) with one result. A message is cut at
 * VFP_RESULT_MESSAGE_MAX bytes, so every refusal starts with the kernel's
 * reason (strerror, then its extended ack) and says what was asked after
 * it. */
void vf_writer_result(vfp_result_t *r, vfp_item_kind_t kind, const char *pf,
                      uint16_t index, const char *attribute, int err,
                      const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Fills one result per attribute `desired` sets, all with err and why, into
 * results[0..max_results); returns how many. */
size_t vf_writer_fail_vf(const char *pf, const vfp_apply_vf_t *desired, int err,
                         const char *why, vfp_result_t *results,
                         size_t max_results);

/* Checks `desired` against the codec's own rule for an APPLY_VF item
 * (proto/vfp.c: unicast MAC, VLAN <= VFP_APPLY_VLAN_MAX, QoS, protocol,
 * switches, link state, rates, MTU, clear fields zero), so a hand-built
 * item gets the same answer as one off the wire. A VLAN protocol of 0 is
 * taken as 802.1Q and an empty pf as pf_ifname. Returns 0, or the VFP_SET_*
 * bit of the first invalid field (VFP_SET_ALL for the bit set itself) with
 * "field: reason" in why. */
uint16_t vf_writer_validate(const char *pf_ifname,
                            const vfp_apply_vf_t *desired, char *why,
                            size_t whylen);

/* Fills *out with the clean state of VF `index` that a released VF gets:
 * zero MAC, no VLAN (802.1Q), spoof-check on, trust off, link auto, no
 * rate limits. */
void vf_writer_clean_default(uint16_t index, vfp_apply_vf_t *out);

/* Reads the VFs of PF pf_ifname as the kernel reports them. *vfs_p gets a
 * malloc'd array ordered by index (free it), *count_p its length. Returns
 * 0, or -1 with the reason in err. */
int vf_writer_read(vf_writer_t *self, const char *pf_ifname, vfp_vf_t **vfs_p,
                   uint32_t *count_p, char *err, size_t errlen);

/* Applies `desired` to VF desired->index of PF pf_ifname. The item is
 * checked first (vf_writer_validate); when it is invalid, or the index is
 * out of range, nothing of this VF reaches the kernel. Only attributes
 * that differ from what the kernel reports are written, one RTM_SETLINK
 * each, so each gets the kernel's own answer; then the VF is read back and
 * each written value verified. Fills one result (kind VFP_ITEM_VF, pf =
 * pf_ifname) per set attribute into results[0..max_results) and their
 * number into *n_results: err 0 when the VF holds the value, else a
 * positive errno and a message. Returns 0 when every result is ok, -1
 * otherwise. */
int vf_writer_apply_vf(vf_writer_t *self, const char *pf_ifname,
                       const vfp_apply_vf_t *desired, vfp_result_t *results,
                       size_t max_results, size_t *n_results);

/* Sets the VF count of PF pf_ifname through its device's sriov_numvfs,
 * writing 0 first when changing a non-zero count (the kernel refuses a
 * direct change). in_use[i] (i < in_use_len) says VF i is held by a guest:
 * any change that would remove it is refused, and since going through 0
 * removes every VF, so is any change of a non-zero count while a VF is in
 * use. Fills *result (kind VFP_ITEM_NUM_VFS, index 0, attribute
 * "num_vfs"). Returns 0 when the count is as asked, -1 otherwise. */
int vf_writer_set_num_vfs(vf_writer_t *self, const char *pf_ifname,
                          uint16_t num_vfs, const bool *in_use,
                          size_t in_use_len, vfp_result_t *result);

/* Sets the pool of size_kb hugepages to `pages` and reads nr_hugepages
 * back: when the kernel could not reserve them all, the pool is put back to
 * its previous size and ENOMEM is reported with the count it managed.
 * Fills *result (kind VFP_ITEM_HUGEPAGES, attribute "<size>kB"). Returns 0
 * or -1. */
int vf_writer_set_hugepages(vf_writer_t *self, uint32_t size_kb, uint64_t pages,
                            vfp_result_t *result);

#endif
