/* vf_sim.h - the simulated kernel of a recorded sysfs tree: VF settings in
 * a state file inside the tree, VF counts in its sriov_numvfs and virtfnN
 * devices, every write answered as the kernel answers it. */
#ifndef VFLEET_VF_SIM_H
#define VFLEET_VF_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "vf_kernel.h"
#include "vfp.h"

/* The state file: SYSFS-ROOT/.vfleet-sim/state, one line per VF whose
 * settings differ from a new VF's. */
#define VF_SIM_DIR ".vfleet-sim"
#define VF_SIM_STATE "state"

typedef struct vf_sim_t vf_sim_t;

/* The simulated kernel of the tree at sysfs_root, which must be a
 * directory other than this host's /sys. Returns NULL with the reason in
 * err. Nothing is written until the first change. */
vf_sim_t *vf_sim_new(const char *sysfs_root, char *err, size_t errlen);

/* Accepts NULL; sets *self_p to NULL. */
void vf_sim_destroy(vf_sim_t **self_p);

/* Changes made since vf_sim_new (settings, MTUs, VF counts): a write the
 * kernel refuses, or one that changes nothing, adds nothing. */
uint64_t vf_sim_writes(const vf_sim_t *self);

/* Fills pf->vfs (matched by index) with the settings the state file holds,
 * a new VF's where it holds none, for every VF below the PF's
 * sriov_numvfs; a VF past it gets a note, as the live kernel leaves it
 * undescribed. Returns 0, or -1 with why (no such PF in the tree, a
 * corrupt state file). */
int vf_sim_read_vfs(vf_sim_t *self, vfp_pf_t *pf, char *why, size_t whylen);

/* Sets one VFP_SET_* attribute other than MTU of VF d->index of pf_ifname,
 * answering as rtnetlink and the drivers do: EINVAL for a VF past
 * sriov_numvfs, a multicast MAC, a VLAN over 4095, a QoS over 7, a link
 * state the kernel does not know, a minimum rate over a non-zero maximum;
 * EPROTONOSUPPORT for a VLAN protocol other than 802.1Q and 802.1ad.
 * Returns 0 or that errno, with the reason in text. */
int vf_sim_set_vf_attr(vf_sim_t *self, const char *pf_ifname, uint16_t bit,
                       const vfp_apply_vf_t *d, char *text, size_t textlen);

/* Writes count to pf_ifname's sriov_numvfs as the kernel takes it: the
 * same count changes nothing; ERANGE over sriov_totalvfs (ENOMEM over a
 * netdevsim device's max_vfs); EBUSY from a non-zero count to another
 * non-zero one. A PCI PF's VFs appear as the kernel lays them out (device
 * directory at the PF's routing id + sriov_offset + sriov_stride * n,
 * virtfnN, physfn, bus/pci/devices, an IOMMU group of their own when the
 * PF has one) and are removed the same way; removed VFs lose their
 * settings. Returns 0 or the errno, with the reason in text. */
int vf_sim_set_num_vfs(vf_sim_t *self, const char *pf_ifname, long count,
                       char *text, size_t textlen);

/* Sets the mtu attribute of netdev ifname in the tree: ENODEV when there
 * is none, EINVAL below 68 (the kernel's "mtu less than device
 * minimum"). */
int vf_sim_set_mtu(vf_sim_t *self, const char *ifname, uint16_t mtu, char *text,
                   size_t textlen);

/* Sets the hugepage pool whose nr_hugepages is at `path` (inside the tree)
 * to pages, moving its free_hugepages by the same amount (never below 0):
 * the simulated kernel reserves every page asked for. ENOENT for a path
 * outside the tree or a missing pool. */
int vf_sim_set_hugepages(vf_sim_t *self, const char *path, long pages,
                         char *text, size_t textlen);

/* The writer backend (ctx: a vf_sim_t). */
extern const vf_kernel_ops_t vf_sim_ops;

#endif
