/* vf_writer.c - the kernel-facing writer: one RTM_SETLINK per VF attribute
 * on the PF, sriov_numvfs and nr_hugepages in sysfs, each read back. */
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
#include "sysfs_attr.h"
#include "vf_drift.h"
#include "vf_print.h"
#include "vf_reader.h"
#include "vf_sim.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vf_writer_t {
    struct nl_sock *sk; /* NULL with the simulated kernel */
    char sysfs[PATH_MAX];
    uint64_t netlink_writes;
    uint64_t kernel_writes;
    const vf_kernel_ops_t *ops; /* the backend, with its ctx */
    void *ctx;
    vf_sim_t *sim;
    bool recorded; /* netlink on a recorded tree: never RTM_SETLINK */
};

static const vf_kernel_ops_t s_netlink_ops;

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

void vf_writer_result(vfp_result_t *r, vfp_item_kind_t kind, const char *pf,
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
    int n = vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    /* Cut to the wire's limit (VFP_RESULT_MESSAGE_MAX), and marked so: a
     * cut mid-word or after "; " must not read as the whole text. */
    if (n >= (int)sizeof(r->message))
        agent_text_mark_cut(r->message, sizeof(r->message));
}

vf_writer_t *vf_writer_new(const char *sysfs_root, char *err, size_t errlen)
{
    vf_writer_t *self = calloc(1, sizeof(*self));
    assert(self);
    agent_text_copy(self->sysfs, sizeof(self->sysfs),
                    sysfs_root ? sysfs_root : "/sys");
    self->ops = &s_netlink_ops;
    self->ctx = self;
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

vf_writer_t *vf_writer_new_kernel(const char *sysfs_root, vf_kernel_t kernel,
                                  char *err, size_t errlen)
{
    if (kernel == VF_KERNEL_NETLINK) {
        vf_writer_t *self = vf_writer_new(sysfs_root, err, errlen);
        if (self)
            self->recorded = vf_kernel_recorded_tree(sysfs_root);
        return self;
    }
    vf_sim_t *sim = vf_sim_new(sysfs_root, err, errlen);
    if (!sim)
        return NULL;
    vf_writer_t *self = calloc(1, sizeof(*self));
    assert(self);
    agent_text_copy(self->sysfs, sizeof(self->sysfs), sysfs_root);
    self->sim = sim;
    self->ops = &vf_sim_ops;
    self->ctx = sim;
    return self;
}

void vf_writer_destroy(vf_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vf_writer_t *self = *self_p;
    if (self->sk)
        nl_socket_free(self->sk);
    vf_sim_destroy(&self->sim);
    free(self);
    *self_p = NULL;
}

const char *vf_writer_sysfs(const vf_writer_t *self)
{
    return self->sysfs;
}

uint64_t vf_writer_netlink_writes(const vf_writer_t *self)
{
    return self->netlink_writes;
}

uint64_t vf_writer_kernel_writes(const vf_writer_t *self)
{
    return self->kernel_writes;
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

static uint16_t s_vlan_proto(uint16_t proto)
{
    return proto ? proto : VFP_VLAN_PROTO_8021Q;
}

/* ---- the codec's rules ----------------------------------------------- */

/* The VFP_SET_* bit a field of APPLY_VF belongs to; every bit for "set". */
static uint16_t s_field_bit(const char *path)
{
    static const struct {
        const char *field;
        uint16_t bit;
    } fields[] = {
        {"mac", VFP_SET_MAC},
        {"vlan", VFP_SET_VLAN},
        {"qos", VFP_SET_VLAN},
        {"vlan_proto", VFP_SET_VLAN},
        {"spoofchk", VFP_SET_SPOOFCHK},
        {"trust", VFP_SET_TRUST},
        {"link_state", VFP_SET_LINK_STATE},
        {"min_tx_rate", VFP_SET_RATE},
        {"max_tx_rate", VFP_SET_RATE},
        {"mtu", VFP_SET_MTU},
    };
    const char *dot = strrchr(path, '.');
    const char *field = dot ? dot + 1 : path;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(field, fields[i].field))
            return fields[i].bit;
    return VFP_SET_ALL;
}

uint16_t vf_writer_validate(const char *pf_ifname,
                            const vfp_apply_vf_t *desired, char *why,
                            size_t whylen)
{
    /* The codec's own rule, on a one-item APPLY: items that came off the
     * wire passed it already, hand-built ones must too. */
    vfp_apply_vf_t vf = *desired;
    if (!vf.pf[0])
        agent_text_copy(vf.pf, sizeof(vf.pf), pf_ifname);
    if ((vf.set & VFP_SET_VLAN) && !vf.vlan_proto)
        vf.vlan_proto = VFP_VLAN_PROTO_8021Q;
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    msg.u.apply.vf_count = 1;
    msg.u.apply.vfs = &vf;
    vfp_decode_error_t err;
    if (whylen)
        why[0] = '\0';
    if (vfp_validate(&msg, &err) == 0)
        return 0;
    const char *dot = strrchr(err.field, '.');
    snprintf(why, whylen, "%s: %s", dot ? dot + 1 : err.field, err.text);
    return s_field_bit(err.field);
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
    if (self->recorded) {
        agent_text_copy(ack->text, sizeof(ack->text),
                        VF_KERNEL_RECORDED_REFUSAL);
        return ack->err = EPERM;
    }
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

/* Puts the value of one attribute into vf as libnl holds it. Returns 0, or
 * -1 when it cannot (no memory, or not a VF attribute). */
static int s_vf_set_attr(struct rtnl_link_vf *vf, uint16_t bit,
                         const vfp_apply_vf_t *d)
{
    switch (bit) {
    case VFP_SET_MAC: {
        struct nl_addr *addr = nl_addr_build(AF_LLC, d->mac, 6);
        assert(addr);
        rtnl_link_vf_set_addr(vf, addr);
        nl_addr_put(addr);
        return 0;
    }
    case VFP_SET_VLAN: {
        nl_vf_vlans_t *vlans = NULL;
        if (rtnl_link_vf_vlan_alloc(&vlans, 1) < 0)
            return -1;
        vlans->vlans[0].vf_vlan = d->vlan;
        vlans->vlans[0].vf_vlan_qos = d->qos;
        vlans->vlans[0].vf_vlan_proto = ETH_P_8021Q;
        rtnl_link_vf_set_vlans(vf, vlans);
        rtnl_link_vf_vlan_put(vlans);
        return 0;
    }
    case VFP_SET_SPOOFCHK:
        rtnl_link_vf_set_spoofchk(vf, d->spoofchk == VFP_ON);
        return 0;
    case VFP_SET_TRUST:
        rtnl_link_vf_set_trust(vf, d->trust == VFP_ON);
        return 0;
    case VFP_SET_LINK_STATE:
        rtnl_link_vf_set_linkstate(vf, (uint32_t)d->link_state);
        return 0;
    case VFP_SET_RATE: {
        struct nl_vf_rate rate = {
            .api = RTNL_LINK_VF_RATE_API_NEW,
            .min_tx_rate = d->min_tx_rate,
            .max_tx_rate = d->max_tx_rate,
        };
        rtnl_link_vf_set_rate(vf, &rate);
        return 0;
    }
    default:
        return -1;
    }
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
    struct nl_msg *msg = NULL;
    if (s_vf_set_attr(vf, bit, d) == 0) {
        struct rtnl_link *changes = rtnl_link_alloc();
        assert(changes);
        if (rtnl_link_vf_add(changes, vf) == 0)
            msg = s_build_change(ifindex, changes);
        rtnl_link_put(changes);
    }
    rtnl_link_vf_put(vf);
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
    return self->ops->read_vfs(self->ctx, pf, why, whylen);
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
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", ENODEV,
                         "%s", why);
        return;
    }
    if (s_read_mtu(self, netdev, &mtu, why, sizeof(why))) {
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", EIO,
                         "%s: %s", netdev, why);
        return;
    }
    if (mtu == d->mtu) {
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", 0,
                         "unchanged: mtu %u on %s", d->mtu, netdev);
        return;
    }
    if (self->ops->find_link(self->ctx, netdev)) {
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", ENODEV,
                         "VF netdev %s is not in this network namespace",
                         netdev);
        return;
    }
    s_ack_t ack = {0};
    self->kernel_writes++;
    int err = self->ops->set_mtu(self->ctx, netdev, d->mtu, ack.text,
                                 sizeof(ack.text));
    if (err) {
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", err,
                         "%s%s%s; kernel refused mtu %u on %s", strerror(err),
                         ack.text[0] ? ": " : "", ack.text, d->mtu, netdev);
        return;
    }
    if (s_read_mtu(self, netdev, &mtu, why, sizeof(why)) || mtu != d->mtu)
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", EIO,
                         "kernel accepted mtu %u on %s but reports %ld", d->mtu,
                         netdev, mtu);
    else
        vf_writer_result(r, VFP_ITEM_VF, pf_ifname, d->index, "mtu", 0,
                         "set: mtu %u on %s", d->mtu, netdev);
}

/* ---- one VF ----------------------------------------------------------- */

size_t vf_writer_fail_vf(const char *pf, const vfp_apply_vf_t *d, int err,
                         const char *why, vfp_result_t *results,
                         size_t max_results)
{
    size_t n = 0;
    for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++)
        if (d->set & s_attr_order[i])
            vf_writer_result(&results[n++], VFP_ITEM_VF, pf, d->index,
                             vfp_drift_attr_name(s_attr_order[i]), err, "%s",
                             why);
    return n;
}

/* The invalid attributes get EINVAL with the codec's reason, the others
 * ECANCELED: nothing of a VF with one invalid value reaches the kernel. */
static size_t s_refuse_invalid(const char *pf_ifname, const vfp_apply_vf_t *d,
                               uint16_t invalid, const char *why,
                               vfp_result_t *results, size_t max_results)
{
    size_t n = 0;
    if (!(invalid & d->set))
        invalid = VFP_SET_ALL;
    for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++) {
        uint16_t bit = s_attr_order[i];
        const char *name = vfp_drift_attr_name(bit);
        if (!(d->set & bit))
            continue;
        if (invalid & bit)
            vf_writer_result(&results[n++], VFP_ITEM_VF, pf_ifname, d->index,
                             name, EINVAL, "invalid: %s", why);
        else
            vf_writer_result(&results[n++], VFP_ITEM_VF, pf_ifname, d->index,
                             name, ECANCELED,
                             "not applied: another setting of VF %u is "
                             "invalid (%s)",
                             d->index, why);
    }
    return n;
}

/* What the kernel holds for VF d->index now, into *pf (free pf->vfs).
 * Returns 1 with *actual set when it is known; 0 with the reader's reason
 * in why when the PF reports no VF information at all (a driver without
 * SR-IOV netlink support); -1 with why when the PF has no such VF. */
static int s_read_current(vf_writer_t *self, const char *pf_ifname,
                          const vfp_apply_vf_t *d, vfp_pf_t *pf,
                          const vfp_vf_t **actual, char *why, size_t whylen)
{
    *actual = NULL;
    if (s_read_pf(self, pf_ifname, (uint32_t)d->index + 1, pf, why, whylen))
        return 0;
    if (pf->vfs[d->index].settings_known) {
        *actual = &pf->vfs[d->index];
        return 1;
    }
    char numvfs[32] = "";
    char dir[PATH_MAX];
    char ignored[128];
    if (s_pf_device_dir(self, pf_ifname, dir, sizeof(dir)) == 0)
        sysfs_attr_read_str(dir, "sriov_numvfs", numvfs, sizeof(numvfs),
                            ignored, sizeof(ignored));
    snprintf(why, whylen, "VF %u out of range: %s %s%s%s; nothing applied",
             d->index, pf_ifname, numvfs[0] ? "has " : "reports no such VF",
             numvfs[0] ? numvfs : "", numvfs[0] ? " VFs" : "");
    return -1;
}

/* The kernel's answer to each attribute written, by s_attr_order slot. */
typedef struct {
    int err[VF_WRITER_ATTRS];
    char text[VF_WRITER_ATTRS][256];
} s_answers_t;

/* One request per attribute in `differs`: the kernel stops at the first
 * attribute it refuses, so only separate requests give each its own
 * answer. */
static void s_write_attrs(vf_writer_t *self, const char *pf_ifname,
                          const vfp_apply_vf_t *d, uint16_t differs,
                          s_answers_t *answers)
{
    memset(answers, 0, sizeof(*answers));
    for (int i = 0; i < VF_WRITER_ATTRS; i++) {
        uint16_t bit = s_attr_order[i];
        if (!(differs & bit))
            continue;
        self->kernel_writes++;
        answers->err[i] =
            self->ops->set_vf_attr(self->ctx, pf_ifname, bit, d,
                                   answers->text[i], sizeof(answers->text[i]));
    }
}

/* What the writer learnt about one VF, to turn into results. */
typedef struct {
    const char *pf_ifname;
    const vfp_apply_vf_t *desired;
    uint16_t differs; /* attributes written */
    const s_answers_t *answers;
    const vfp_vf_t *actual; /* read back after writing; NULL: unreadable */
    char read_why[VFP_TEXT_MAX / 2];
} s_outcome_t;

/* The result of one attribute other than MTU. */
static void s_report_attr(const s_outcome_t *o, int slot, vfp_result_t *r)
{
    uint16_t bit = s_attr_order[slot];
    const vfp_apply_vf_t *d = o->desired;
    const char *name = vfp_drift_attr_name(bit);
    char value[160], now[160];
    vf_print_desired(value, sizeof(value), d, bit);
    int err = o->answers->err[slot];
    const char *text = o->answers->text[slot];
    if (!(o->differs & bit))
        vf_writer_result(r, VFP_ITEM_VF, o->pf_ifname, d->index, name, 0,
                         "unchanged: %s", value);
    else if (err)
        vf_writer_result(r, VFP_ITEM_VF, o->pf_ifname, d->index, name, err,
                         "%s%s%s; kernel refused %s on VF %u", strerror(err),
                         text[0] ? ": " : "", text, value, d->index);
    else if (!o->actual)
        vf_writer_result(r, VFP_ITEM_VF, o->pf_ifname, d->index, name, EIO,
                         "kernel accepted %s on VF %u but it cannot be read "
                         "back: %s",
                         value, d->index, o->read_why);
    else if (vfp_drift_differs(d, o->actual) & bit) {
        vf_print_text(now, sizeof(now), o->actual, bit);
        vf_writer_result(r, VFP_ITEM_VF, o->pf_ifname, d->index, name, EIO,
                         "kernel accepted %s on VF %u but reports %s", value,
                         d->index, now);
    } else
        vf_writer_result(r, VFP_ITEM_VF, o->pf_ifname, d->index, name, 0,
                         "set: %s", value);
}

/* One result per set attribute; MTU, which lives on the VF's netdev, is
 * applied here. Returns 0 when all are ok, -1 otherwise. */
static int s_report_all(vf_writer_t *self, const s_outcome_t *o,
                        vfp_result_t *results, size_t max_results,
                        size_t *n_results)
{
    int rc = 0;
    size_t n = 0;
    for (int i = 0; i < VF_WRITER_ATTRS && n < max_results; i++) {
        if (!(o->desired->set & s_attr_order[i]))
            continue;
        vfp_result_t *r = &results[n++];
        if (s_attr_order[i] == VFP_SET_MTU)
            s_apply_mtu(self, o->pf_ifname, o->desired, r);
        else
            s_report_attr(o, i, r);
        if (r->err)
            rc = -1;
    }
    *n_results = n;
    return rc;
}

int vf_writer_apply_vf(vf_writer_t *self, const char *pf_ifname,
                       const vfp_apply_vf_t *d, vfp_result_t *results,
                       size_t max_results, size_t *n_results)
{
    char why[VFP_TEXT_MAX / 2];
    *n_results = 0;
    uint16_t invalid = vf_writer_validate(pf_ifname, d, why, sizeof(why));
    if (invalid) {
        *n_results =
            s_refuse_invalid(pf_ifname, d, invalid, why, results, max_results);
        return -1;
    }
    if (self->recorded) {
        *n_results =
            vf_writer_fail_vf(pf_ifname, d, EPERM, VF_KERNEL_RECORDED_REFUSAL,
                              results, max_results);
        return -1;
    }
    if (self->ops->find_link(self->ctx, pf_ifname)) {
        snprintf(why, sizeof(why), "no network interface %s", pf_ifname);
        *n_results =
            vf_writer_fail_vf(pf_ifname, d, ENODEV, why, results, max_results);
        return -1;
    }
    vfp_pf_t pf;
    const vfp_vf_t *actual;
    int known =
        s_read_current(self, pf_ifname, d, &pf, &actual, why, sizeof(why));
    if (known < 0) {
        free(pf.vfs);
        *n_results =
            vf_writer_fail_vf(pf_ifname, d, EINVAL, why, results, max_results);
        return -1;
    }
    /* Unknown settings leave the kernel as the judge: every value is sent
     * and its answer reported. */
    s_outcome_t o = {.pf_ifname = pf_ifname, .desired = d};
    o.differs = known ? vfp_drift_differs(d, actual)
                      : (uint16_t)(d->set & VF_PRINT_SETTINGS);
    s_answers_t answers;
    o.answers = &answers;
    s_write_attrs(self, pf_ifname, d, o.differs, &answers);
    o.actual = actual;
    if (o.differs) {
        free(pf.vfs);
        o.actual = s_read_current(self, pf_ifname, d, &pf, &actual, o.read_why,
                                  sizeof(o.read_why)) > 0
                       ? actual
                       : NULL;
    }
    int rc = s_report_all(self, &o, results, max_results, n_results);
    free(pf.vfs);
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

static int s_write_number(const char *path, long value)
{
    char text[32];
    snprintf(text, sizeof(text), "%ld", value);
    return s_write_file(path, text);
}

/* Going through 0 removes every VF, so a VF in use blocks any change of a
 * non-zero count, not only one that shrinks past it. Returns 0, or -1
 * with *result saying which VF blocks the change. */
static int s_num_vfs_in_use(const char *pf_ifname, long current,
                            uint16_t num_vfs, const bool *in_use,
                            size_t in_use_len, vfp_result_t *result)
{
    for (size_t i = 0; i < in_use_len && current > 0; i++) {
        if (!in_use[i] || (long)i >= current)
            continue;
        /* A NUM_VFS item has index 0 on the wire: the VF is named in
         * the message. */
        if (i >= num_vfs)
            vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, "num_vfs",
                             EBUSY,
                             "refused: %u VFs would remove VF %zu of %s, "
                             "which is in use",
                             num_vfs, i, pf_ifname);
        else
            vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, "num_vfs",
                             EBUSY,
                             "refused: changing %s from %ld to %u VFs goes "
                             "through 0, which removes VF %zu, and it is in "
                             "use",
                             pf_ifname, current, num_vfs, i);
        return -1;
    }
    return 0;
}

/* Writes 0 (when there are VFs), then num_vfs; when the kernel refuses
 * num_vfs the PF gets its previous VFs back rather than none. */
static int s_num_vfs_write(vf_writer_t *self, const char *path,
                           const char *pf_ifname, long current,
                           uint16_t num_vfs, vfp_result_t *result)
{
    char text[256] = "", ignored[256];
    if (current != 0)
        self->kernel_writes++;
    int err = current != 0
                  ? self->ops->write_num_vfs(self->ctx, pf_ifname, path, 0,
                                             text, sizeof(text))
                  : 0;
    if (err) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, "num_vfs", err,
                         "%s%s%s; kernel refused 0 VFs on %s (the step before "
                         "%u)",
                         strerror(err), text[0] ? ": " : "", text, pf_ifname,
                         num_vfs);
        return -1;
    }
    if (num_vfs != 0)
        self->kernel_writes++;
    err = num_vfs != 0 ? self->ops->write_num_vfs(self->ctx, pf_ifname, path,
                                                  num_vfs, text, sizeof(text))
                       : 0;
    if (!err)
        return 0;
    char restored[128] = "";
    if (current != 0) {
        self->kernel_writes++;
        int back = self->ops->write_num_vfs(self->ctx, pf_ifname, path, current,
                                            ignored, sizeof(ignored));
        snprintf(restored, sizeof(restored),
                 back ? "; restoring %ld VFs failed too: %s"
                      : "; restored the previous %ld VFs%s",
                 current, back ? strerror(back) : "");
    }
    vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, "num_vfs", err,
                     "%s%s%s; kernel refused %u VFs on %s%s", strerror(err),
                     text[0] ? ": " : "", text, num_vfs, pf_ifname, restored);
    return -1;
}

int vf_writer_set_num_vfs(vf_writer_t *self, const char *pf_ifname,
                          uint16_t num_vfs, const bool *in_use,
                          size_t in_use_len, vfp_result_t *result)
{
    char dir[PATH_MAX], path[PATH_MAX], why[512];
    long current;
    const char *attr = "num_vfs";
    if (s_pf_device_dir(self, pf_ifname, dir, sizeof(dir)) ||
        agent_text_path_join(path, sizeof(path), dir, "sriov_numvfs", NULL)) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr,
                         ENAMETOOLONG, "sysfs path of %s too long", pf_ifname);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "sriov_numvfs", 0, UINT16_MAX, &current, why,
                             sizeof(why))) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, ENODEV,
                         "%s cannot have VFs: %s", pf_ifname, why);
        return -1;
    }
    if (current == num_vfs) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, 0,
                         "unchanged: %u VFs", num_vfs);
        return 0;
    }
    if (s_num_vfs_in_use(pf_ifname, current, num_vfs, in_use, in_use_len,
                         result) ||
        s_num_vfs_write(self, path, pf_ifname, current, num_vfs, result))
        return -1;
    if (sysfs_attr_read_long(dir, "sriov_numvfs", 0, UINT16_MAX, &current, why,
                             sizeof(why)) ||
        current != num_vfs) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, EIO,
                         "kernel accepted %u VFs on %s but reports %ld",
                         num_vfs, pf_ifname, current);
        return -1;
    }
    vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, attr, 0,
                     "set: %u VFs", num_vfs);
    return 0;
}

/* Writes the pool size and reads it back: the kernel accepts any count and
 * reserves what it can find, so a short pool is put back to `before`. */
static int s_hugepages_write(vf_writer_t *self, const char *dir,
                             const char *path, const char *attr, long before,
                             uint64_t pages, vfp_result_t *result)
{
    char text[256], why[512];
    long after;
    int err = self->ops->write_hugepages(self->ctx, path, (long)pages, text,
                                         sizeof(text));
    if (err) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, err,
                         "%s%s%s; kernel refused %llu %s pages", strerror(err),
                         text[0] ? ": " : "", text, (unsigned long long)pages,
                         attr);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "nr_hugepages", 0, LONG_MAX, &after, why,
                             sizeof(why))) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, EIO,
                         "cannot read the pool back: %s", why);
        return -1;
    }
    if ((uint64_t)after != pages) {
        self->kernel_writes++;
        int back = self->ops->write_hugepages(self->ctx, path, before, text,
                                              sizeof(text));
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENOMEM,
                         "kernel reserved only %ld of %llu %s pages; pool %s "
                         "%ld",
                         after, (unsigned long long)pages, attr,
                         back ? "could not be put back to" : "put back to",
                         before);
        return -1;
    }
    vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, 0,
                     "set: %llu pages", (unsigned long long)pages);
    return 0;
}

int vf_writer_set_hugepages(vf_writer_t *self, uint32_t size_kb, uint64_t pages,
                            vfp_result_t *result)
{
    char attr[VFP_NAME_MAX + 1];
    char dir[PATH_MAX], path[PATH_MAX], why[512];
    long before;
    snprintf(attr, sizeof(attr), "%ukB", size_kb);
    int n = snprintf(dir, sizeof(dir), "%s/kernel/mm/hugepages/hugepages-%s",
                     self->sysfs, attr);
    if (n < 0 || (size_t)n >= sizeof(dir) ||
        agent_text_path_join(path, sizeof(path), dir, "nr_hugepages", NULL)) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENAMETOOLONG,
                         "sysfs path too long");
        return -1;
    }
    if (pages > LONG_MAX) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, EINVAL,
                         "invalid: %llu pages", (unsigned long long)pages);
        return -1;
    }
    if (sysfs_attr_read_long(dir, "nr_hugepages", 0, LONG_MAX, &before, why,
                             sizeof(why))) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, ENOENT,
                         "no %s hugepage pool: %s", attr, why);
        return -1;
    }
    if ((uint64_t)before == pages) {
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, 0,
                         "unchanged: %llu pages", (unsigned long long)pages);
        return 0;
    }
    self->kernel_writes++;
    return s_hugepages_write(self, dir, path, attr, before, pages, result);
}

/* ---- the live kernel as a writer backend ------------------------------ */

static int s_nl_read_vfs(void *ctx, vfp_pf_t *pf, char *why, size_t whylen)
{
    vf_writer_t *self = ctx;
    return vf_reader_read(self->sk, pf, why, whylen);
}

static int s_nl_find_link(void *ctx, const char *ifname)
{
    (void)ctx;
    return if_nametoindex(ifname) ? 0 : ENODEV;
}

/* Sends one change request; the kernel's answer goes into text. */
static int s_nl_change(vf_writer_t *self, struct nl_msg *msg, char *text,
                       size_t textlen)
{
    if (!msg) {
        agent_text_copy(text, textlen, "could not build the netlink request");
        return ENOMEM;
    }
    s_ack_t ack = {0};
    int err = s_send(self, msg, &ack);
    nlmsg_free(msg);
    agent_text_copy(text, textlen, ack.text);
    return err;
}

static int s_nl_set_vf_attr(void *ctx, const char *pf_ifname, uint16_t bit,
                            const vfp_apply_vf_t *d, char *text, size_t textlen)
{
    int ifindex = (int)if_nametoindex(pf_ifname);
    if (ifindex == 0) {
        snprintf(text, textlen, "no network interface %s", pf_ifname);
        return ENODEV;
    }
    return s_nl_change(ctx, s_build_vf_attr(ifindex, bit, d), text, textlen);
}

static int s_nl_set_mtu(void *ctx, const char *ifname, uint16_t mtu, char *text,
                        size_t textlen)
{
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0) {
        snprintf(text, textlen, "no network interface %s", ifname);
        return ENODEV;
    }
    struct rtnl_link *changes = rtnl_link_alloc();
    assert(changes);
    rtnl_link_set_mtu(changes, mtu);
    struct nl_msg *msg = s_build_change(ifindex, changes);
    rtnl_link_put(changes);
    return s_nl_change(ctx, msg, text, textlen);
}

/* The live sriov_numvfs is a file: the kernel answers the write. */
static int s_nl_write_num_vfs(void *ctx, const char *pf_ifname,
                              const char *path, long count, char *text,
                              size_t textlen)
{
    (void)ctx;
    (void)pf_ifname;
    if (textlen)
        text[0] = '\0';
    return s_write_number(path, count);
}

static int s_nl_write_hugepages(void *ctx, const char *path, long pages,
                                char *text, size_t textlen)
{
    (void)ctx;
    if (textlen)
        text[0] = '\0';
    return s_write_number(path, pages);
}

static const vf_kernel_ops_t s_netlink_ops = {
    .read_vfs = s_nl_read_vfs,
    .find_link = s_nl_find_link,
    .set_vf_attr = s_nl_set_vf_attr,
    .set_mtu = s_nl_set_mtu,
    .write_num_vfs = s_nl_write_num_vfs,
    .write_hugepages = s_nl_write_hugepages,
};
