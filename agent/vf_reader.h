/* vf_reader.h - a PF's current VF settings, read from the kernel. */
#ifndef VFLEET_VF_READER_H
#define VFLEET_VF_READER_H

#include <stddef.h>

#include "vfp.h"

struct nl_sock;
struct rtnl_link_vf;

/* Asks the kernel for pf->ifname with VF info (RTM_GETLINK, IFLA_EXT_MASK
 * RTEXT_FILTER_VF) and fills MAC, VLAN, QoS, protocol, spoof-check, trust,
 * link state and rates of every VF in pf->vfs, matched by VF index, setting
 * settings_known. A VF the kernel did not describe gets a note. sk is a
 * connected NETLINK_ROUTE socket, or NULL to open one for this call.
 * Returns 0, or -1 with the reason in why (no VF is then marked known). */
int vf_reader_read(struct nl_sock *sk, vfp_pf_t *pf, char *why, size_t whylen);

/* Copies the settings libnl parsed from one IFLA_VF_INFO into vf and marks
 * them known. Settings the kernel did not send keep vf's values, except
 * spoof-check and trust, which become VFP_UNKNOWN. */
void vf_reader_fill(struct rtnl_link_vf *info, vfp_vf_t *vf);

#endif
