/* vf_reader.c - a PF's current VF settings, read from the kernel. */
#include "vf_reader.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <stdio.h>
#include <string.h>

#include "agent_text.h"
#include "sysfs_attr.h"

static void s_keep_link(struct nl_object *obj, void *arg)
{
    struct rtnl_link **link_p = arg;
    if (*link_p)
        return;
    nl_object_get(obj);
    *link_p = (struct rtnl_link *)obj;
}

static int s_on_valid(struct nl_msg *msg, void *arg)
{
    nl_msg_parse(msg, s_keep_link, arg);
    return NL_OK;
}

/* RTM_GETLINK for one name. The request carries RTEXT_FILTER_VF: without
 * it the kernel leaves IFLA_VFINFO_LIST out of the answer. */
static int s_get_link(struct nl_sock *sk, const char *ifname,
                      struct rtnl_link **link_p, char *why, size_t whylen)
{
    struct nl_msg *msg = NULL;
    int err = rtnl_link_build_get_request(0, ifname, &msg);
    if (err == 0 && !nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct ifinfomsg),
                                     IFLA_EXT_MASK))
        err = nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF);
    if (err == 0)
        err = nl_send_auto(sk, msg);
    nlmsg_free(msg);
    if (err >= 0) {
        struct nl_cb *base = nl_socket_get_cb(sk);
        struct nl_cb *cb = nl_cb_clone(base);
        nl_cb_put(base);
        if (!cb)
            err = -NLE_NOMEM;
        else {
            nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, s_on_valid, link_p);
            err = nl_recvmsgs(sk, cb);
            nl_cb_put(cb);
        }
    }
    if (err >= 0 && *link_p)
        err = nl_wait_for_ack(sk);
    if (err >= 0 && !*link_p)
        err = -NLE_OBJ_NOTFOUND;
    if (err >= 0)
        return 0;
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
        snprintf(why, whylen, "no netdev %s in this network namespace", ifname);
    else
        snprintf(why, whylen, "RTM_GETLINK %s: %s", ifname, nl_geterror(err));
    if (*link_p) {
        rtnl_link_put(*link_p);
        *link_p = NULL;
    }
    return -1;
}

static vfp_flag_t s_flag(int got, uint32_t value)
{
    if (got < 0)
        return VFP_UNKNOWN;
    return value ? VFP_ON : VFP_OFF;
}

void vf_reader_fill(struct rtnl_link_vf *info, vfp_vf_t *vf)
{
    struct nl_addr *addr = NULL;
    if (rtnl_link_vf_get_addr(info, &addr) == 0 && addr &&
        nl_addr_get_len(addr) == 6)
        memcpy(vf->mac, nl_addr_get_binary_addr(addr), 6);

    nl_vf_vlans_t *vlans = NULL;
    if (rtnl_link_vf_get_vlans(info, &vlans) == 0 && vlans && vlans->size > 0) {
        /* One VLAN per VF is all ndo_set_vf_vlan can set; QinQ lists more
         * only through IFLA_VF_VLAN_LIST, where the first is the outer. */
        vf->vlan = (uint16_t)(vlans->vlans[0].vf_vlan & 0xfff);
        vf->qos = (uint8_t)(vlans->vlans[0].vf_vlan_qos & 0x7);
        vf->vlan_proto = vlans->vlans[0].vf_vlan_proto;
    }
    /* The getter must run before its value is read: as two arguments of
     * one call their order would be unspecified. */
    uint32_t value = 0;
    int got = rtnl_link_vf_get_spoofchk(info, &value);
    vf->spoofchk = s_flag(got, value);
    value = 0;
    got = rtnl_link_vf_get_trust(info, &value);
    vf->trust = s_flag(got, value);
    if (rtnl_link_vf_get_linkstate(info, &value) == 0 &&
        value <= VFP_LINK_DISABLE)
        vf->link_state = (vfp_link_state_t)value;
    struct nl_vf_rate rate = {0};
    if (rtnl_link_vf_get_rate(info, &rate) == 0) {
        if (rate.api == RTNL_LINK_VF_RATE_API_OLD)
            vf->max_tx_rate = rate.rate;
        else {
            vf->min_tx_rate = rate.min_tx_rate;
            vf->max_tx_rate = rate.max_tx_rate;
        }
    }
    vf->settings_known = true;
}

int vf_reader_read(struct nl_sock *sk, vfp_pf_t *pf, char *why, size_t whylen)
{
    struct nl_sock *own = NULL;
    if (!sk) {
        own = nl_socket_alloc();
        int err = own ? nl_connect(own, NETLINK_ROUTE) : -NLE_NOMEM;
        if (err < 0) {
            snprintf(why, whylen, "netlink socket: %s", nl_geterror(err));
            nl_socket_free(own);
            return -1;
        }
        sk = own;
    }
    struct rtnl_link *link = NULL;
    int rc = s_get_link(sk, pf->ifname, &link, why, whylen);
    uint32_t num = 0;
    if (rc == 0 && rtnl_link_get_num_vf(link, &num) < 0) {
        snprintf(why, whylen,
                 "the kernel reports no VF information for %s (its driver "
                 "has no SR-IOV netlink support)",
                 pf->ifname);
        rc = -1;
    }
    /* IFLA_NUM_VF comes without IFLA_VFINFO_LIST when the driver cannot
     * describe its VFs (no ndo_get_vf_config); libnl then has no list to
     * look VFs up in. */
    if (rc == 0 && num > 0 && !rtnl_link_has_vf_list(link)) {
        snprintf(why, whylen,
                 "the kernel counts %u VFs on %s but describes none (its "
                 "driver cannot report VF settings)",
                 num, pf->ifname);
        rc = -1;
    }
    if (rc == 0) {
        if (num != pf->vf_count)
            agent_text_note_append(pf->note, sizeof(pf->note),
                                   "the kernel reports %u VFs on %s, sysfs %u",
                                   num, pf->ifname, pf->vf_count);
        for (uint32_t i = 0; i < pf->vf_count; i++) {
            vfp_vf_t *vf = &pf->vfs[i];
            struct rtnl_link_vf *info =
                num > 0 ? rtnl_link_vf_get(link, vf->index) : NULL;
            if (!info) {
                agent_text_note_append(
                    vf->note, sizeof(vf->note),
                    "settings unknown: the kernel did not describe "
                    "vf %u",
                    vf->index);
                continue;
            }
            vf_reader_fill(info, vf);
            rtnl_link_vf_put(info);
        }
    }
    if (link)
        rtnl_link_put(link);
    nl_socket_free(own);
    return rc;
}
