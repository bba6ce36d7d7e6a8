/* apply_plan.h - the desired state: a policy and one host's inventory in, that
 * host's complete APPLY (or the conflicts that forbid one) out, and the
 * difference between two APPLYs as lines an operator reads.
 *
 * Pure: no database, no sockets, no clock. The rollout and placement pass in
 * what they know; the same inputs always give the same APPLY, byte for byte.
 *
 * Rules:
 *
 * - Host groups. Every host group whose hosts/labels select the host
 *   (policy_host_group_selects) configures it. A host no group selects gets
 *   an APPLY with no PF and no VF items: nothing on it is managed.
 * - PFs. For each PF of the inventory, each selecting group contributes its
 *   first PF entry, in source order, whose selectors match the PF. A PF no
 *   entry matches is not named in the APPLY: the controller leaves it alone
 *   (a management NIC, a PF used by something else). When several groups
 *   configure one PF they must agree on `vfs`, or it is a conflict naming
 *   both entries; their `networks` are united, because a PF's networks are
 *   what VMs on it may attach to, not kernel state: no VF setting depends
 *   on the list, and refusing would forbid two teams from sharing a PF.
 * - An entry of a selecting group whose selectors match no PF of the host
 *   is a conflict: on a real host it is a typo or a host in the wrong group.
 *   (An entry whose PFs all went to an earlier entry still matches them.)
 * - `vfs` above the PF's total_vfs (0 when the kernel reports none) is a
 *   conflict. So is changing `vfs` of a PF (sriov_numvfs != vfs) while a VM
 *   holds one of its VFs, or while the inventory reports one of its VFs
 *   `in_use` (a guest the controller does not know, an up netdev): the
 *   kernel only changes the count through 0, which would tear the VF out
 *   of its user. These count-change conflicts concern only the host
 *   (apply_plan_conflict_host_only): a rollout leaves that host at its
 *   previous desired state and goes on with the others, while every other
 *   conflict is an error in the policy that stops the whole rollout.
 * - VFs. Every VF 0..vfs-1 of a configured PF gets one APPLY_VF item. A VF
 *   no VM holds gets the clean default, as sriov-cni resets a VF on
 *   release: MAC 00:00:00:00:00:00 (cleared), VLAN 0 with qos 0 and 802.1Q,
 *   spoofchk on, trust off, link-state auto, min/max_tx_rate 0 (no limit);
 *   MTU is not set, since it lives on the VF's netdev, which a free VF may
 *   not have. A VF a VM holds gets the VM's MAC and its network's settings:
 *   vlan, qos, vlan_protocol (VLAN 0 for trunk and untagged networks),
 *   spoof_check, trust, link_state and min/max_tx_rate, every `set` bit
 *   but the MTU's: a passthrough VF's netdev lives in the guest, so the
 *   host has none to set an MTU on (the network's mtu and
 *   guest_mtu_change are the guest's business).
 * - A held VF is a conflict when its network is not defined by the policy
 *   or not among the networks the PF carries, when its index is not below
 *   the PF's `vfs`, when no entry configures its PF or the host has no such
 *   PF, when two VMs hold the same VF, or when its MAC is multicast.
 * - Hugepages. `hugepages: none` gives no pool item (pools the policy does
 *   not use are left alone; the hypervisor may use them). `2M` or `1G` give
 *   one pool item of 2048 kB or 1048576 kB pages: enough pages for the
 *   memory of every VM on the host, each VM rounded up to whole pages. With
 *   no VMs that is 0 pages. When the pool would not fit in the host's
 *   memory less `hypervisor_reserve`, it is a conflict (skipped when the
 *   inventory does not know the host's memory, mem_total_kb 0).
 *
 * The APPLY lists PFs in inventory order and VFs by PF then index; its
 * revision is 0 and the caller fills it in (PROTOCOL.md 7.4). Every APPLY
 * this module produces passes vfp_validate. */
#ifndef VFLEET_APPLY_PLAN_H
#define VFLEET_APPLY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "vfp.h"

/* A VF a VM holds: placement's record of an attachment. */
typedef struct {
    const char *pf; /* the PF's PCI address */
    uint16_t index; /* VF number on the PF */
    const char *network;
    uint8_t mac[6];
    const char *vm; /* the holder, for messages */
} apply_plan_held_vf_t;

/* A VM placed on the host: what its hugepage share depends on. */
typedef struct {
    const char *name;
    uint64_t memory_mib;
} apply_plan_vm_t;

/* Everything known about one host. The inventory's host facts give its
 * memory (mem_total_kb). */
typedef struct {
    const char *name;
    const policy_label_t *labels;
    size_t label_count;
    const vfp_inventory_t *inventory;
    const apply_plan_vm_t *vms;
    size_t vm_count;
    const apply_plan_held_vf_t *held_vfs;
    size_t held_vf_count;
} apply_plan_host_t;

/* The plan of one host: its APPLY or its conflicts. */
typedef struct apply_plan_t apply_plan_t;

/* Plans one host. source names the policy in conflict lines (its file name,
 * or "revision N"). Never returns NULL; asserts when memory runs out. The
 * plan keeps pointers into policy and host->inventory: destroy it before
 * them. */
apply_plan_t *apply_plan_new(const policy_t *policy, const char *source,
                             const apply_plan_host_t *host);
void apply_plan_destroy(apply_plan_t **self_p);

/* Conflicts, in the order found (host groups, then PFs in inventory order,
 * then held VFs, then memory), one line each:
 *   SOURCE:LINE:COLUMN: host H: pf PCI (IFNAME): what is wrong, naming the
 *   other policy position as "(other at SOURCE:LINE:COLUMN)"
 * or "SOURCE: host H: ..." when no policy line is involved. */
size_t apply_plan_conflict_count(const apply_plan_t *self);
const char *apply_plan_conflict(const apply_plan_t *self, size_t index);

/* True when conflict `index` is a VF count change on a PF whose VFs are in
 * use or held: it refuses this host only, not the policy. */
bool apply_plan_conflict_host_only(const apply_plan_t *self, size_t index);

/* True when the plan has conflicts and every one is host-only. */
bool apply_plan_refuses_host_only(const apply_plan_t *self);

/* The APPLY; NULL when there are conflicts. */
const vfp_apply_t *apply_plan_apply(const apply_plan_t *self);

/* Hands the APPLY over as a VFP_APPLY message to send (destroy with
 * vfp_msg_destroy); NULL when there are conflicts or it was taken. */
vfp_msg_t *apply_plan_take_msg(apply_plan_t *self);

/* The networks VMs on the PF (by PCI address) may attach to, sorted, united
 * over the groups configuring it; NULL with *count 0 for a PF the plan does
 * not configure. For placement. */
const char *const *apply_plan_pf_networks(const apply_plan_t *self,
                                          const char *pf, size_t *count);

/* What changes between two APPLYs of one host, in iproute2's words:
 *   H: pf P: num_vfs 2 -> 4
 *   H: pf P: vf 3 vlan 100 -> 200
 *   H: pf P: vf 3 new: mac 00:00:00:00:00:00 vlan 0 qos 0 proto 802.1Q ...
 *   H: pf P: vf 3 no longer managed
 *   H: hugepages 2048kB: pages 0 -> 512
 * A PF or pool only one side names shows "unmanaged" on the other. The
 * revisions are not compared. old_apply may be NULL (nothing applied yet).
 * Lines are sorted by PF and VF index, pools last. */
typedef struct apply_plan_diff_t apply_plan_diff_t;

apply_plan_diff_t *apply_plan_diff_new(const char *host,
                                       const vfp_apply_t *old_apply,
                                       const vfp_apply_t *new_apply);
void apply_plan_diff_destroy(apply_plan_diff_t **self_p);
size_t apply_plan_diff_count(const apply_plan_diff_t *self);
const char *apply_plan_diff_line(const apply_plan_diff_t *self, size_t index);

#endif
