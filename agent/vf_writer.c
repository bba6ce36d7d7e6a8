/* vf_writer.c - applies VF settings, VF counts and hugepage pools to the
 * kernel: rtnetlink on the PF, sriov_numvfs and nr_hugepages in sysfs. */
#include "vf_writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_text.h"
#include "discover.h"
#include "sysfs_attr.h"
#include "vf_reader.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vf_writer_t {
    struct nl_sock *sk;
    char sysfs[PATH_MAX];
    uint64_t netlink_writes;
};

/* The kernel's answer to one request: its errno and, when it sent one, its
 * extended-ack message ("VF index out of range", ...). */
typedef struct {
    int err;
    char text[256];
} s_ack_t;

/* Attributes in the order they are applied and reported. */
static const uint16_t s_attr_order[VF_WRITER_ATTRS] = {
    VFP_SET_MAC,        VFP_SET_VLAN, VFP_SET_SPOOFCHK, VFP_SET_TRUST,
    VFP_SET_LINK_STATE, VFP_SET_RATE, VFP_SET_MTU,
};

static void s_result(vfp_result_t *r, vfp_item_kind_t kind, const char *pf,
                     uint16_t index, const char *attribute, int err,
                     const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void s_result(vfp_result_t *r, vfp_item_kind_t kind, const char *pf,
                     uint16_t index, const char *attribute, int err,
                     const char *fmt, ...)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    agent_text_copy(r->pf, sizeof(r->pf), pf);
    r->index = index;
    agent_text_copy(r->attribute, sizeof(r->attribute), attribute);
    r->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

vf_writer_t *vf_writer_new(const char *sysfs_root, char *err, size_t errlen)
{
    vf_writer_t *self = calloc(1, sizeof(*self));
    assert(self);
    agent_text_copy(self->sysfs, sizeof(self->sysfs),
                    sysfs_root ? sysfs_root : "/sys");
    self->sk = nl_socket_alloc();
    assert(self->sk);
    int rc = nl_connect(self->sk, NETLINK_ROUTE);
    if (rc < 0) {
        snprintf(err, errlen, "netlink socket: %s", nl_geterror(rc));
        vf_writer_destroy(&self);
        return NULL;
    }
    /* Extended acks carry the kernel's own words for a refusal; capping
     * keeps the echoed request out of them. Kernels without either still
     * answer with a plain errno, so failure here is not an error. */
    int on = 1;
    int fd = nl_socket_get_fd(self->sk);
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
    return self;
}

void vf_writer_destroy(vf_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vf_writer_t *self = *self_p;
    nl_socket_free(self->sk);
    free(self);
    *self_p = NULL;
}

uint64_t vf_writer_netlink_writes(const vf_writer_t *self)
{
    return self->netlink_writes;
}

const char *vf_writer_attr_name(uint16_t bit)
{
    switch (bit) {
    case VFP_SET_MAC:
        return "mac";
    case VFP_SET_VLAN:
        return "vlan";
    case VFP_SET_SPOOFCHK:
        return "spoofchk";
    case VFP_SET_TRUST:
        return "trust";
    case VFP_SET_LINK_STATE:
        return "link-state";
    case VFP_SET_RATE:
        return "rate";
    case VFP_SET_MTU:
        return "mtu";
    default:
        return NULL;
    }
}

/* ---- validation and comparison -------------------------------------- */

static uint16_t s_vlan_proto(uint16_t proto)
{
    return proto ? proto : VFP_VLAN_PROTO_8021Q;
}

/* Describes the value `desired` sets for `bit` in iproute2's words. */
static void s_describe(uint16_t bit, const vfp_apply_vf_t *d, char *buf,
                       size_t len)
{
    char mac[18];
    switch (bit) {
    case VFP_SET_MAC:
        snprintf(buf, len, "mac %s", vfp_mac_format(d->mac, mac));
        break;
    case VFP_SET_VLAN:
        snprintf(buf, len, "vlan %u qos %u proto %s", d->vlan, d->qos,
                 s_vlan_proto(d->vlan_proto) == VFP_VLAN_PROTO_8021AD
                     ? "802.1ad"
                     : "802.1Q");
        break;
    case VFP_SET_SPOOFCHK:
        snprintf(buf, len, "spoofchk %s", vfp_flag_name(d->spoofchk));
        break;
    case VFP_SET_TRUST:
        snprintf(buf, len, "trust %s", vfp_flag_name(d->trust));
        break;
    case VFP_SET_LINK_STATE:
        snprintf(buf, len, "link-state %s", vfp_link_state_name(d->link_state));
        break;
    case VFP_SET_RATE:
        snprintf(buf, len, "min_tx_rate %u max_tx_rate %u", d->min_tx_rate,
                 d->max_tx_rate);
        break;
    case VFP_SET_MTU:
        snprintf(buf, len, "mtu %u", d->mtu);
        break;
    default:
        snprintf(buf, len, "attribute 0x%x", bit);
        break;
    }
}

/* Checks the value of one attribute; 0, or -1 with why. */
static int s_check_attr(uint16_t bit, const vfp_apply_vf_t *d, char *why,
                        size_t whylen)
{
    char mac[18];
    switch (bit) {
    case VFP_SET_MAC:
        if (d->mac[0] & 1) {
            snprintf(why, whylen,
                     "mac %s is a multicast address; a VF needs a unicast "
                     "one",
                     vfp_mac_format(d->mac, mac));
            return -1;
        }
        return 0;
    case VFP_SET_VLAN:
        if (d->vlan > VF_WRITER_VLAN_MAX) {
            snprintf(why, whylen,
                     "vlan %u out of range 0..%u (4095 is reserved by "
                     "802.1Q)",
                     d->vlan, VF_WRITER_VLAN_MAX);
            return -1;
        }
        if (d->qos > VFP_QOS_MAX) {
            snprintf(why, whylen, "qos %u out of range 0..%u", d->qos,
                     VFP_QOS_MAX);
            return -1;
        }
        if (s_vlan_proto(d->vlan_proto) != VFP_VLAN_PROTO_8021Q &&
            d->vlan_proto != VFP_VLAN_PROTO_8021AD) {
            snprintf(why, whylen,
                     "vlan protocol 0x%04x is neither 802.1Q (0x8100) nor "
                     "802.1ad (0x88a8)",
                     d->vlan_proto);
            return -1;
        }
        return 0;
    case VFP_SET_SPOOFCHK:
    case VFP_SET_TRUST: {
        vfp_flag_t flag = bit == VFP_SET_SPOOFCHK ? d->spoofchk : d->trust;
        if (flag != VFP_OFF && flag != VFP_ON) {
            snprintf(why, whylen, "%s must be on or off, not %d",
                     vf_writer_attr_name(bit), (int)flag);
            return -1;
        }
        return 0;
    }
    case VFP_SET_LINK_STATE:
        if (d->link_state != VFP_LINK_AUTO &&
            d->link_state != VFP_LINK_ENABLE &&
            d->link_state != VFP_LINK_DISABLE) {
            snprintf(why, whylen,
                     "link-state must be auto, enable or disable, not %d",
                     (int)d->link_state);
            return -1;
        }
        return 0;
    case VFP_SET_RATE:
        if (d->max_tx_rate != 0 && d->min_tx_rate > d->max_tx_rate) {
            snprintf(why, whylen,
                     "min_tx_rate %u is above max_tx_rate %u (Mbit/s)",
                     d->min_tx_rate, d->max_tx_rate);
            return -1;
        }
        return 0;
    case VFP_SET_MTU:
        if (d->mtu < 68) {
            snprintf(why, whylen, "mtu %u below the IPv4 minimum of 68",
                     d->mtu);
            return -1;
        }
        return 0;
    default:
        snprintf(why, whylen, "unknown attribute bit 0x%x", bit);
        return -1;
    }
}

uint16_t vf_writer_validate(const vfp_apply_vf_t *desired, char *why,
                            size_t whylen)
{
    uint16_t invalid = 0;
    char reason[256];
    if (whylen)
        why[0] = '\0';
    for (int i = 0; i < VF_WRITER_ATTRS; i++) {
        uint16_t bit = s_attr_order[i];
        if (!(desired->set & bit) ||
            s_check_attr(bit, desired, reason, sizeof(reason)) == 0)
            continue;
        if (!invalid && whylen)
            agent_text_copy(why, whylen, reason);
        invalid |= bit;
    }
    return invalid;
}

uint16_t vf_writer_differs(const vfp_apply_vf_t *d, const vfp_vf_t *a)
{
    uint16_t differs = 0;
    if ((d->set & VFP_SET_MAC) && memcmp(d->mac, a->mac, 6))
        differs |= VFP_SET_MAC;
    if ((d->set & VFP_SET_VLAN) &&
        (d->vlan != a->vlan || d->qos != a->qos ||
         s_vlan_proto(d->vlan_proto) != s_vlan_proto(a->vlan_proto)))
        differs |= VFP_SET_VLAN;
    if ((d->set & VFP_SET_SPOOFCHK) && d->spoofchk != a->spoofchk)
        differs |= VFP_SET_SPOOFCHK;
    if ((d->set & VFP_SET_TRUST) && d->trust != a->trust)
        differs |= VFP_SET_TRUST;
    if ((d->set & VFP_SET_LINK_STATE) && d->link_state != a->link_state)
        differs |= VFP_SET_LINK_STATE;
    if ((d->set & VFP_SET_RATE) &&
        (d->min_tx_rate != a->min_tx_rate || d->max_tx_rate != a->max_tx_rate))
        differs |= VFP_SET_RATE;
    return differs;
}

void vf_writer_clean_default(uint16_t index, vfp_apply_vf_t *out)
{
    memset(out, 0, sizeof(*out));
    out->index = index;
    out->set = VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_TRUST |
               VFP_SET_LINK_STATE | VFP_SET_RATE;
    out->vlan_proto = VFP_VLAN_PROTO_8021Q;
    out->spoofchk = VFP_ON;
    out->trust = VFP_OFF;
    out->link_state = VFP_LINK_AUTO;
}

/* ---- netlink ---------------------------------------------------------- */

static int s_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
    s_ack_t *ack = arg;
    ack->err = -e->error;
    struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return NL_STOP;
    /* The TLVs follow the echoed request: only its header when capped. */
    size_t echoed =
        (nlh->nlmsg_flags & NLM_F_CAPPED) ? NLMSG_HDRLEN : e->msg.nlmsg_len;
    size_t offset = NLMSG_ALIGN(sizeof(e->error) + echoed);
    size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
    if (offset >= payload)
        return NL_STOP;
    struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
    if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + offset),
                  (int)(payload - offset), NULL) == 0 &&
        tb[NLMSGERR_ATTR_MSG])
        nla_strlcpy(ack->text, tb[NLMSGERR_ATTR_MSG], sizeof(ack->text));
    return NL_STOP;
}

static int s_on_ack(struct nl_msg *msg, void *arg)
{
    return NL_STOP;
}

/* Sends one change request and waits for the kernel's answer. Returns 0,
 * or a positive errno with ack->text holding the kernel's message when it
 * gave one. */
static int s_send(vf_writer_t *self, struct nl_msg *msg, s_ack_t *ack)
{
    memset(ack, 0, sizeof(*ack));
    self->netlink_writes++;
    int rc = nl_send_auto(self->sk, msg);
    if (rc < 0) {
        snprintf(ack->text, sizeof(ack->text), "send: %s", nl_geterror(rc));
        return ack->err = EIO;
    }
    struct nl_cb *base = nl_socket_get_cb(self->sk);
    struct nl_cb *cb = nl_cb_clone(base);
    nl_cb_put(base);
    assert(cb);
    nl_cb_err(cb, NL_CB_CUSTOM, s_on_error, ack);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, s_on_ack, NULL);
    rc = nl_recvmsgs(self->sk, cb);
    nl_cb_put(cb);
    if (rc < 0 && ack->err == 0) {
        snprintf(ack->text, sizeof(ack->text), "receive: %s", nl_geterror(rc));
        ack->err = EIO;
    }
    return ack->err;
}

/* A change request for link ifindex built by libnl from `changes`, sent as
 * RTM_SETLINK: the kernel modifies an existing link either way, and SETLINK
 * is the request that can never create one. */
static struct nl_msg *s_build_change(int ifindex, struct rtnl_link *changes)
{
    struct rtnl_link *orig = rtnl_link_alloc();
    assert(orig);
    rtnl_link_set_ifindex(orig, ifindex);
    struct nl_msg *msg = NULL;
    int rc = rtnl_link_build_change_request(orig, changes, 0, &msg);
    rtnl_link_put(orig);
    if (rc < 0)
        return NULL;
    nlmsg_hdr(msg)->nlmsg_type = RTM_SETLINK;
    return msg;
}

/* IFLA_VFINFO_LIST → IFLA_VF_INFO → IFLA_VF_VLAN_LIST → IFLA_VF_VLAN_INFO,
 * as iproute2 sends for "vlan N qos Q proto 802.1ad". libnl 3.7 copies the
 * protocol into this attribute in host byte order while the kernel reads it
 * in network order (a driver would see 0xa888), so this one is built by
 * hand. */
static struct nl_msg *s_build_vlan_list(int ifindex, const vfp_apply_vf_t *d)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
    assert(msg);
    struct ifla_vf_vlan_info info = {
        .vf = d->index,
        .vlan = d->vlan,
        .qos = d->qos,
        .vlan_proto = htons(s_vlan_proto(d->vlan_proto)),
    };
    struct nlattr *list, *vfinfo, *vlans;
    if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
        !(list = nla_nest_start(msg, IFLA_VFINFO_LIST)) ||
        !(vfinfo = nla_nest_start(msg, IFLA_VF_INFO)) ||
        !(vlans = nla_nest_start(msg, IFLA_VF_VLAN_LIST)) ||
        nla_put(msg, IFLA_VF_VLAN_INFO, sizeof(info), &info) < 0) {
        nlmsg_free(msg);
        return NULL;
    }
    nla_nest_end(msg, vlans);
    nla_nest_end(msg, vfinfo);
    nla_nest_end(msg, list);
    return msg;
}

/* The request that sets one VF attribute on PF ifindex, or NULL. */
static struct nl_msg *s_build_vf_attr(int ifindex, uint16_t bit,
                                      const vfp_apply_vf_t *d)
{
    if (bit == VFP_SET_VLAN &&
        s_vlan_proto(d->vlan_proto) != VFP_VLAN_PROTO_8021Q)
        return s_build_vlan_list(ifindex, d);

    struct rtnl_link_vf *vf = rtnl_link_vf_alloc();
    assert(vf);
    rtnl_link_vf_set_index(vf, d->index);
    switch (bit) {
    case VFP_SET_MAC: {
        struct nl_addr *addr = nl_addr_build(AF_LLC, d->mac, 6);
        assert(addr);
        rtnl_link_vf_set_addr(vf, addr);
        nl_addr_put(addr);
        break;
    }
    case VFP_SET_VLAN: {
        nl_vf_vlans_t *vlans = NULL;
        if (rtnl_link_vf_vlan_alloc(&vlans, 1) < 0) {
            rtnl_link_vf_put(vf);
            return NULL;
        }
        vlans->vlans[0].vf_vlan = d->vlan;
        vlans->vlans[0].vf_vlan_qos = d->qos;
        vlans->vlans[0].vf_vlan_proto = ETH_P_8021Q;
        rtnl_link_vf_set_vlans(vf, vlans);
        rtnl_link_vf_vlan_put(vlans);
        break;
    }
    case VFP_SET_SPOOFCHK:
        rtnl_link_vf_set_spoofchk(vf, d->spoofchk == VFP_ON);
        break;
    case VFP_SET_TRUST:
        rtnl_link_vf_set_trust(vf, d->trust == VFP_ON);
        break;
    case VFP_SET_LINK_STATE:
        rtnl_link_vf_set_linkstate(vf, (uint32_t)d->link_state);
        break;
    case VFP_SET_RATE: {
        struct nl_vf_rate rate = {
            .api = RTNL_LINK_VF_RATE_API_NEW,
            .min_tx_rate = d->min_tx_rate,
            .max_tx_rate = d->max_tx_rate,
        };
        rtnl_link_vf_set_rate(vf, &rate);
        break;
    }
    default:
        rtnl_link_vf_put(vf);
        return NULL;
    }
    struct rtnl_link *changes = rtnl_link_alloc();
    assert(changes);
    struct nl_msg *msg = NULL;
    if (rtnl_link_vf_add(changes, vf) == 0)
        msg = s_build_change(ifindex, changes);
    rtnl_link_vf_put(vf);
    rtnl_link_put(changes);
    return msg;
}

/* ---- VF state --------------------------------------------------------- */

/* <sysfs>/class/net/<pf>/device: where sriov_numvfs is, PCI or not. */
static int s_pf_device_dir(const vf_writer_t *self, const char *pf_ifname,
                           char *buf, size_t len)
{
    int n =
        snprintf(buf, len, "%s/class/net/%s/device", self->sysfs, pf_ifname);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Reads VFs 0..count-1 of pf_ifname into a fresh vfp_pf_t. Returns 0, or
 * -1 with why when the kernel gave no VF information at all. */
static int s_read_pf(vf_writer_t *self, const char *pf_ifname, uint32_t count,
                     vfp_pf_t *pf, char *why, size_t whylen)
{
    memset(pf, 0, sizeof(*pf));
    agent_text_copy(pf->ifname, sizeof(pf->ifname), pf_ifname);
    pf->vf_count = count;
    pf->vfs = count ? calloc(count, sizeof(*pf->vfs)) : NULL;
    assert(count == 0 || pf->vfs);
    for (uint32_t i = 0; i < count; i++) {
        pf->vfs[i].index = (uint16_t)i;
        pf->vfs[i].iommu_group = -1;
    }
    return vf_reader_read(self->sk, pf, why, whylen);
}

int vf_writer_read(vf_writer_t *self, const char *pf_ifname, vfp_vf_t **vfs_p,
                   uint32_t *count_p, char *err, size_t errlen)
{
    *vfs_p = NULL;
    *count_p = 0;
    /* The reader fills the VFs it is given; ask for the most a PF can
     * have and keep those the kernel described. */
    vfp_pf_t pf;
    if (s_read_pf(self, pf_ifname, VFP_VFS_MAX, &pf, err, errlen)) {
        free(pf.vfs);
        return -1;
    }
    uint32_t n = 0;
    while (n < pf.vf_count && pf.vfs[n].settings_known)
        n++;
    for (uint32_t i = 0; i < n; i++)
        pf.vfs[i].note[0] = '\0';
    *vfs_p = pf.vfs;
    *count_p = n;
    return 0;
}

/* ---- MTU on the VF's own netdev --------------------------------------- */

/* The host netdev of VF index of pf_ifname, from sysfs. 0, or -1 with why. */
static int s_vf_netdev(vf_writer_t *self, const char *pf_ifname, uint16_t index,
                       char *name, size_t len, char *why, size_t whylen)
{
    char dir[PATH_MAX];
    char vfn[32];
    snprintf(vfn, sizeof(vfn), "virtfn%u", index);
    int n = snprintf(dir, sizeof(dir), "%s/class/net/%s/device/%s/net",
                     self->sysfs, pf_ifname, vfn);
    char **names = NULL;
    if (n < 0 || (size_t)n >= sizeof(dir) ||
        sysfs_attr_dir_list(dir, NULL, &names, why, whylen) <= 0) {
        sysfs_attr_names_free(&names);
        snprintf(why, whylen,
                 "VF %u of %s has no host netdev (not a PCI VF, or bound to "
                 "a driver without one): its MTU is the guest's",
                 index, pf_ifname);
        return -1;
    }
    agent_text_copy(name, len, names[0]);
    sysfs_attr_names_free(&names);
    return 0;
}

static int s_read_mtu(vf_writer_t *self, const char *netdev, long *mtu,
                      char *why, size_t whylen)
{
    char dir[PATH_MAX];
    if (agent_text_path_join(dir, sizeof(dir), self->sysfs, "class/net",
                             netdev)) {
        snprintf(why, whylen, "path too long for %s", netdev);
        return -1;
    }
    return sysfs_attr_read_long(dir, "mtu", 0, UINT16_MAX, mtu, why, whylen);
}

static void s_apply_mtu(vf_writer_t *self, const char *pf_ifname,
                        const vfp_apply_vf_t *d, vfp_result_t *r)
{
    char netdev[IF_NAMESIZE + 1];
    char why[512];
    long mtu;
    if (s_vf_netdev(self, pf_ifname, d->index, netdev, sizeof(netdev), why,
                    sizeof(why))) {
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", ENODEV, "%s", why);
        return;
    }
    if (s_read_mtu(self, netdev, &mtu, why, sizeof(why))) {
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", EIO, "%s: %s",
                 netdev, why);
        return;
    }
    if (mtu == d->mtu) {
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", 0,
                 "unchanged: mtu %u on %s", d->mtu, netdev);
        return;
    }
    int ifindex = (int)if_nametoindex(netdev);
    if (ifindex == 0) {
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", ENODEV,
                 "VF netdev %s is not in this network namespace", netdev);
        return;
    }
    struct rtnl_link *changes = rtnl_link_alloc();
    assert(changes);
    rtnl_link_set_mtu(changes, d->mtu);
    struct nl_msg *msg = s_build_change(ifindex, changes);
    rtnl_link_put(changes);
    s_ack_t ack = {0};
    int err = msg ? s_send(self, msg, &ack) : ENOMEM;
    nlmsg_free(msg);
    if (err) {
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", err,
                 "kernel refused mtu %u on %s: %s%s%s", d->mtu, netdev,
                 strerror(err), ack.text[0] ? ": " : "", ack.text);
        return;
    }
    if (s_read_mtu(self, netdev, &mtu, why, sizeof(why)) || mtu != d->mtu)
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", EIO,
                 "kernel accepted mtu %u on %s but reports %ld", d->mtu, netdev,
                 mtu);
    else
        s_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", 0,
                 "set: mtu %u on %s", d->mtu, netdev);
}

/* ---- apply ------------------------------------------------------------ */

/* Describes what the kernel reports for `bit` on VF a. */
static void s_describe_actual(uint16_t bit, const vfp_vf_t *a, char *buf,
                              size_t len)
{
    vfp_apply_vf_t as = {
        .index = a->index,
        .set = bit,
        .vlan = a->vlan,
        .qos = a->qos,
        .vlan_proto = a->vlan_proto,
        .spoofchk = a->spoofchk,
        .trust = a->trust,
        .link_state = a->link_state,
        .min_tx_rate = a->min_tx_rate,
        .max_tx_rate = a->max_tx_rate,
    };
    memcpy(as.mac, a->mac, 6);
    s_describe(bit, &as, buf, len);
}

/* Fills one result per set attribute with the same error. */
static size_t s_fail_all(const char *pf, const vfp_apply_vf_t *d, uint16_t bits,
                         int err, const char *why, vfp_result_t *results,
                         size_t max_results)
{
    size_t n = 0;
    for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++)
        if (bits & s_attr_order[i])
            s_result(&results[n++], VFP_ITEM_VF, pf, d->index,
                     vf_writer_attr_name(s_attr_order[i]), err, "%s", why);
    return n;
}

int vf_writer_apply_vf(vf_writer_t *self, const char *pf_ifname,
                       const vfp_apply_vf_t *d, vfp_result_t *results,
                       size_t max_results, size_t *n_results)
{
    uint16_t bits = d->set & VFP_SET_ALL;
    char why[VFP_TEXT_MAX / 2];
    char value[128];
    size_t n = 0;
    *n_results = 0;

    if (d->set & ~VFP_SET_ALL) {
        snprintf(why, sizeof(why),
                 "VF %u: unknown attribute bits 0x%x set; nothing applied",
                 d->index, d->set & ~VFP_SET_ALL);
        *n_results =
            s_fail_all(pf_ifname, d, bits, EINVAL, why, results, max_results);
        return -1;
    }
    uint16_t invalid = vf_writer_validate(d, why, sizeof(why));
    if (invalid) {
        for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++) {
            uint16_t bit = s_attr_order[i];
            const char *name = vf_writer_attr_name(bit);
            char reason[256];
            if (!(bits & bit))
                continue;
            if (invalid & bit) {
                s_check_attr(bit, d, reason, sizeof(reason));
                s_result(&results[n++], VFP_ITEM_VF, pf_ifname, d->index, name,
                         EINVAL, "invalid: %s", reason);
            } else
                s_result(&results[n++], VFP_ITEM_VF, pf_ifname, d->index, name,
                         ECANCELED,
                         "not applied: another setting of VF %u is "
                         "invalid (%s)",
                         d->index, why);
        }
        *n_results = n;
        return -1;
    }
    int ifindex = (int)if_nametoindex(pf_ifname);
    if (ifindex == 0) {
        snprintf(why, sizeof(why), "no network interface %s", pf_ifname);
        *n_results =
            s_fail_all(pf_ifname, d, bits, ENODEV, why, results, max_results);
        return -1;
    }

    /* What the kernel holds now. A PF that reports no VF information at
     * all (a driver without SR-IOV netlink support) leaves the kernel as
     * the judge: every value is sent and its answer reported. */
    vfp_pf_t pf;
    char read_why[VFP_TEXT_MAX / 2];
    bool known = s_read_pf(self, pf_ifname, (uint32_t)d->index + 1, &pf,
                           read_why, sizeof(read_why)) == 0;
    const vfp_vf_t *actual = known ? &pf.vfs[d->index] : NULL;
    if (known && !actual->settings_known) {
        char numvfs[32] = "";
        char dir[PATH_MAX];
        char ignored[128];
        if (s_pf_device_dir(self, pf_ifname, dir, sizeof(dir)) == 0)
            sysfs_attr_read_str(dir, "sriov_numvfs", numvfs, sizeof(numvfs),
                                ignored, sizeof(ignored));
        snprintf(why, sizeof(why),
                 "VF %u out of range: %s %s%s%s; nothing applied", d->index,
                 pf_ifname, numvfs[0] ? "has " : "reports no such VF",
                 numvfs[0] ? numvfs : "", numvfs[0] ? " VFs" : "");
        free(pf.vfs);
        *n_results =
            s_fail_all(pf_ifname, d, bits, EINVAL, why, results, max_results);
        return -1;
    }
    uint16_t differs =
        known ? vf_writer_differs(d, actual) : (uint16_t)(bits & ~VFP_SET_MTU);

    /* One request per attribute: the kernel stops at the first attribute
     * it refuses, so only separate requests give each its own answer. */
    int errs[VF_WRITER_ATTRS] = {0};
    char texts[VF_WRITER_ATTRS][256];
    for (int i = 0; i < VF_WRITER_ATTRS; i++) {
        uint16_t bit = s_attr_order[i];
        texts[i][0] = '\0';
        if (!(differs & bit))
            continue;
        struct nl_msg *msg = s_build_vf_attr(ifindex, bit, d);
        if (!msg) {
            errs[i] = ENOMEM;
            agent_text_copy(texts[i], sizeof(texts[i]),
                            "could not build the netlink request");
            continue;
        }
        s_ack_t ack;
        errs[i] = s_send(self, msg, &ack);
        nlmsg_free(msg);
        agent_text_copy(texts[i], sizeof(texts[i]), ack.text);
    }

    /* Read back what the kernel now holds for every written attribute. */
    bool verified = false;
    if (differs) {
        free(pf.vfs);
        verified = s_read_pf(self, pf_ifname, (uint32_t)d->index + 1, &pf,
                             read_why, sizeof(read_why)) == 0 &&
                   pf.vfs[d->index].settings_known;
        actual = verified ? &pf.vfs[d->index] : NULL;
    }
    uint16_t still = verified ? vf_writer_differs(d, actual) : 0;

    int rc = 0;
    for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++) {
        uint16_t bit = s_attr_order[i];
        const char *name = vf_writer_attr_name(bit);
        if (!(bits & bit))
            continue;
        vfp_result_t *r = &results[n++];
        s_describe(bit, d, value, sizeof(value));
        if (bit == VFP_SET_MTU) {
            s_apply_mtu(self, pf_ifname, d, r);
        } else if (!(differs & bit)) {
            s_result(r, VFP_ITEM_VF, pf_ifname, d->index, name, 0,
                     "unchanged: %s", value);
        } else if (errs[i]) {
            s_result(r, VFP_ITEM_VF, pf_ifname, d->index, name, errs[i],
                     "kernel refused %s on VF %u: %s%s%s", value, d->index,
                     strerror(errs[i]), texts[i][0] ? ": " : "", texts[i]);
        } else if (!verified) {
            s_result(r, VFP_ITEM_VF, pf_ifname, d->index, name, EIO,
                     "kernel accepted %s on VF %u but it cannot be read "
                     "back: %s",
                     value, d->index, read_why);
        } else if (still & bit) {
            char now[128];
            s_describe_actual(bit, actual, now, sizeof(now));
            s_result(r, VFP_ITEM_VF, pf_ifname, d->index, name, EIO,
                     "kernel accepted %s on VF %u but reports %s", value,
                     d->index, now);
        } else {
            s_result(r, VFP_ITEM_VF, pf_ifname, d->index, name, 0, "set: %s",
                     value);
        }
        if (r->err)
            rc = -1;
    }
    free(pf.vfs);
    *n_results = n;
    return rc;
}

/* ---- VF counts and hugepages ------------------------------------------ */

/* Writes text to path; 0 or errno. */
static int s_write_file(const char *path, const char *text)
{
    /* O_TRUNC as a shell's ">" does: sysfs ignores it, and a recorded
     * tree (a regular file) then holds exactly the number written. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int err = w < 0 ? errno : (size_t)w != len ? EIO : 0;
    if (close(fd) < 0 && err == 0)
        err = errno;
    return err;
}

int vf_writer_set_num_vfs(vf_writer_t *self, const char *pf_ifname,
                          uint16_t num_vfs, const bool *in_use,
                          size_t in_use_len, vfp_result_t *result)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char why[512];
    char text[32];
    long current;
    const char *attr = "num_vfs";
    if (s_pf_device_dir(self, pf_ifname, dir, sizeof(dir)) ||
        agent_text_path_join(path, sizeof(path), dir, "sriov_numvfs", NULL)) {
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, ENAMETOOLONG,
                 "sysfs path of %s too long", pf_ifname);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "sriov_numvfs", 0, UINT16_MAX, &current, why,
                             sizeof(why))) {
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, ENODEV,
                 "%s cannot have VFs: %s", pf_ifname, why);
        return -1;
    }
    if (current == num_vfs) {
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, 0,
                 "unchanged: %u VFs", num_vfs);
        return 0;
    }
    /* Going through 0 removes every VF, so a VF in use blocks any change
     * of a non-zero count, not only one that shrinks past it. */
    for (size_t i = 0; i < in_use_len && current > 0; i++) {
        if (!in_use[i] || (long)i >= current)
            continue;
        if (i >= num_vfs)
            s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, (uint16_t)i, attr,
                     EBUSY,
                     "refused: %u VFs would remove VF %zu of %s, which is "
                     "in use",
                     num_vfs, i, pf_ifname);
        else
            s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, (uint16_t)i, attr,
                     EBUSY,
                     "refused: changing %s from %ld to %u VFs goes through "
                     "0, which removes VF %zu, and it is in use",
                     pf_ifname, current, num_vfs, i);
        return -1;
    }
    int err = current != 0 ? s_write_file(path, "0") : 0;
    if (err) {
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, err,
                 "kernel refused 0 VFs on %s (the step before %u): %s",
                 pf_ifname, num_vfs, strerror(err));
        return -1;
    }
    if (num_vfs != 0) {
        snprintf(text, sizeof(text), "%u", num_vfs);
        err = s_write_file(path, text);
    }
    if (err) {
        /* The PF had VFs before the 0 step: give them back rather than
         * leave it with none. */
        char restored[128] = "";
        if (current != 0) {
            snprintf(text, sizeof(text), "%ld", current);
            int back = s_write_file(path, text);
            snprintf(restored, sizeof(restored),
                     back ? "; restoring %ld VFs failed too: %s"
                          : "; restored the previous %ld VFs%s",
                     current, back ? strerror(back) : "");
        }
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, err,
                 "kernel refused %u VFs on %s: %s%s", num_vfs, pf_ifname,
                 strerror(err), restored);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "sriov_numvfs", 0, UINT16_MAX, &current, why,
                             sizeof(why)) ||
        current != num_vfs) {
        s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, EIO,
                 "kernel accepted %u VFs on %s but reports %ld", num_vfs,
                 pf_ifname, current);
        return -1;
    }
    s_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, 0, "set: %u VFs",
             num_vfs);
    return 0;
}

int vf_writer_set_hugepages(vf_writer_t *self, uint32_t size_kb, uint64_t pages,
                            vfp_result_t *result)
{
    char attr[VFP_NAME_MAX + 1];
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char why[512];
    char text[32];
    long before, after;
    snprintf(attr, sizeof(attr), "%ukB", size_kb);
    int n = snprintf(dir, sizeof(dir), "%s/kernel/mm/hugepages/hugepages-%s",
                     self->sysfs, attr);
    if (n < 0 || (size_t)n >= sizeof(dir) ||
        agent_text_path_join(path, sizeof(path), dir, "nr_hugepages", NULL)) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENAMETOOLONG,
                 "sysfs path too long");
        return -1;
    }
    if (pages > LONG_MAX) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, EINVAL,
                 "invalid: %llu pages", (unsigned long long)pages);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "nr_hugepages", 0, LONG_MAX, &before, why,
                             sizeof(why))) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENOENT,
                 "no %s hugepage pool: %s", attr, why);
        return -1;
    }
    if ((uint64_t)before == pages) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, 0,
                 "unchanged: %llu pages", (unsigned long long)pages);
        return 0;
    }
    snprintf(text, sizeof(text), "%llu", (unsigned long long)pages);
    int err = s_write_file(path, text);
    if (err) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, err,
                 "kernel refused %llu %s pages: %s", (unsigned long long)pages,
                 attr, strerror(err));
        return -1;
    }
    /* The kernel accepts any count and reserves what it can find. */
    if (sysfs_attr_read_long(dir, "nr_hugepages", 0, LONG_MAX, &after, why,
                             sizeof(why))) {
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, EIO,
                 "cannot read the pool back: %s", why);
        return -1;
    }
    if ((uint64_t)after != pages) {
        snprintf(text, sizeof(text), "%ld", before);
        int back = s_write_file(path, text);
        s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENOMEM,
                 "kernel reserved only %ld of %llu %s pages; pool %s %ld",
                 after, (unsigned long long)pages, attr,
                 back ? "could not be put back to" : "put back to", before);
        return -1;
    }
    s_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, 0, "set: %llu pages",
             (unsigned long long)pages);
    return 0;
}

/* ---- whole APPLY messages and drift ----------------------------------- */

/* Rewrites the PF of results[0..n) to the protocol's name for it. */
static void s_rename_pf(vfp_result_t *results, size_t n, const char *pf)
{
    for (size_t i = 0; i < n; i++)
        agent_text_copy(results[i].pf, sizeof(results[i].pf), pf);
}

/* The scanned PF named `name` when it has a netdev, or NULL with a result
 * saying why. */
static const vfp_pf_t *s_resolve_pf(const vfp_inventory_t *inv,
                                    const char *name, char *why, size_t whylen)
{
    const vfp_pf_t *pf = discover_find_pf(inv, name);
    if (!pf)
        snprintf(why, whylen, "no PF %s on this host", name);
    else if (!pf->ifname[0])
        snprintf(why, whylen, "PF %s has no netdev (no driver bound)", name);
    return pf && pf->ifname[0] ? pf : NULL;
}

int vf_writer_apply(vf_writer_t *self, const vfp_apply_t *apply,
                    const vfp_inventory_t *inv, vfp_apply_result_t *out)
{
    size_t max = (size_t)apply->pf_count +
                 (size_t)apply->vf_count * VF_WRITER_ATTRS +
                 apply->hugepage_count;
    char why[256];
    size_t n = 0;
    int rc = 0;
    out->revision = apply->revision;
    out->results = calloc(max ? max : 1, sizeof(*out->results));
    assert(out->results);

    for (uint32_t i = 0; i < apply->pf_count; i++) {
        const vfp_apply_pf_t *a = &apply->pfs[i];
        vfp_result_t *r = &out->results[n++];
        const vfp_pf_t *pf = s_resolve_pf(inv, a->pf, why, sizeof(why));
        if (!pf) {
            s_result(r, VFP_ITEM_NUM_VFS, a->pf, 0, "num_vfs", ENODEV, "%s",
                     why);
            rc = -1;
            continue;
        }
        bool in_use[VFP_VFS_MAX] = {false};
        size_t in_use_len = 0;
        for (uint32_t v = 0; v < pf->vf_count; v++) {
            uint16_t index = pf->vfs[v].index;
            if (!pf->vfs[v].in_use || index >= VFP_VFS_MAX)
                continue;
            in_use[index] = true;
            if (index + 1u > in_use_len)
                in_use_len = index + 1u;
        }
        if (vf_writer_set_num_vfs(self, pf->ifname, a->num_vfs, in_use,
                                  in_use_len, r))
            rc = -1;
        s_rename_pf(r, 1, a->pf);
    }
    for (uint32_t i = 0; i < apply->vf_count; i++) {
        const vfp_apply_vf_t *d = &apply->vfs[i];
        const vfp_pf_t *pf = s_resolve_pf(inv, d->pf, why, sizeof(why));
        size_t got = 0;
        if (!pf) {
            got = s_fail_all(d->pf, d, d->set & VFP_SET_ALL, ENODEV, why,
                             &out->results[n], max - n);
            rc = -1;
        } else if (vf_writer_apply_vf(self, pf->ifname, d, &out->results[n],
                                      max - n, &got)) {
            rc = -1;
        }
        s_rename_pf(&out->results[n], got, d->pf);
        n += got;
    }
    for (uint32_t i = 0; i < apply->hugepage_count; i++) {
        const vfp_apply_hugepages_t *h = &apply->hugepages[i];
        if (vf_writer_set_hugepages(self, h->size_kb, h->pages,
                                    &out->results[n++]))
            rc = -1;
    }
    out->result_count = (uint32_t)n;
    return rc;
}

/* Adds one difference when there is room; counts it either way. */
static void s_drift(vf_drift_t *out, size_t max, size_t *n,
                    vfp_item_kind_t kind, const char *pf, uint16_t index,
                    const char *attribute, const char *wanted, const char *has)
{
    if (*n < max) {
        vf_drift_t *d = &out[*n];
        memset(d, 0, sizeof(*d));
        d->kind = kind;
        agent_text_copy(d->pf, sizeof(d->pf), pf);
        d->index = index;
        d->attribute = attribute;
        snprintf(d->text, sizeof(d->text), "wanted %s, kernel has %s", wanted,
                 has);
    }
    (*n)++;
}

size_t vf_writer_drift(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                       vf_drift_t *out, size_t max)
{
    size_t n = 0;
    char wanted[128], has[128];
    for (uint32_t i = 0; i < apply->pf_count; i++) {
        const vfp_apply_pf_t *a = &apply->pfs[i];
        const vfp_pf_t *pf = discover_find_pf(inv, a->pf);
        if (!pf) {
            snprintf(wanted, sizeof(wanted), "PF %s", a->pf);
            s_drift(out, max, &n, VFP_ITEM_NUM_VFS, a->pf, 0, "pf", wanted,
                    "no such PF");
        } else if (pf->num_vfs != a->num_vfs) {
            snprintf(wanted, sizeof(wanted), "%u VFs", a->num_vfs);
            snprintf(has, sizeof(has), "%u VFs", pf->num_vfs);
            s_drift(out, max, &n, VFP_ITEM_NUM_VFS, a->pf, 0, "num_vfs", wanted,
                    has);
        }
    }
    for (uint32_t i = 0; i < apply->vf_count; i++) {
        const vfp_apply_vf_t *d = &apply->vfs[i];
        const vfp_pf_t *pf = discover_find_pf(inv, d->pf);
        const vfp_vf_t *vf = NULL;
        for (uint32_t v = 0; pf && v < pf->vf_count && !vf; v++)
            if (pf->vfs[v].index == d->index && pf->vfs[v].settings_known)
                vf = &pf->vfs[v];
        if (!vf)
            continue;
        uint16_t differs = vf_writer_differs(d, vf);
        for (int b = 0; b < VF_WRITER_ATTRS; b++) {
            uint16_t bit = s_attr_order[b];
            if (!(differs & bit))
                continue;
            s_describe(bit, d, wanted, sizeof(wanted));
            s_describe_actual(bit, vf, has, sizeof(has));
            s_drift(out, max, &n, VFP_ITEM_VF, d->pf, d->index,
                    vf_writer_attr_name(bit), wanted, has);
        }
    }
    return n;
}
