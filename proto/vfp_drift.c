/* vfp_drift.c - compares a desired APPLY with an inventory, the one rule
 * the agent and the controller share. */
#include "vfp_drift.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vfp_drift_attr_name(uint16_t bit)
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
        return "link_state";
    case VFP_SET_RATE:
        return "rate";
    case VFP_SET_MTU:
        return "mtu";
    default:
        return NULL;
    }
}

static uint16_t s_vlan_proto(uint16_t proto)
{
    return proto ? proto : VFP_VLAN_PROTO_8021Q;
}

uint16_t vfp_drift_differs(const vfp_apply_vf_t *d, const vfp_vf_t *a)
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

static const vfp_pf_t *s_find_pf(const vfp_inventory_t *inv, const char *name)
{
    for (uint32_t i = 0; i < inv->pf_count; i++) {
        const vfp_pf_t *pf = &inv->pfs[i];
        if (!strcmp(pf->pci_addr, name) ||
            (pf->ifname[0] && !strcmp(pf->ifname, name)))
            return pf;
    }
    return NULL;
}

/* Stores one difference when there is room; counts it either way. */
static void s_add(vfp_drift_t *out, size_t max, size_t *n, const vfp_drift_t *d)
{
    if (*n < max)
        out[*n] = *d;
    (*n)++;
}

static void s_find_pf_count(const vfp_apply_pf_t *a, const vfp_inventory_t *inv,
                            vfp_drift_t *out, size_t max, size_t *n)
{
    vfp_drift_t d = {.kind = VFP_ITEM_NUM_VFS,
                     .attribute = "num_vfs",
                     .wanted_num_vfs = a->num_vfs};
    snprintf(d.pf, sizeof(d.pf), "%s", a->pf);
    const vfp_pf_t *pf = s_find_pf(inv, a->pf);
    if (!pf) {
        d.attribute = "pf";
        s_add(out, max, n, &d);
    } else if (pf->num_vfs != a->num_vfs) {
        d.has_num_vfs = pf->num_vfs;
        s_add(out, max, n, &d);
    }
}

/* The observed settings of vf in the shape of a desired one. */
static void s_observed(const vfp_vf_t *vf, vfp_apply_vf_t *has)
{
    memcpy(has->mac, vf->mac, sizeof(has->mac));
    has->vlan = vf->vlan;
    has->qos = vf->qos;
    has->vlan_proto = vf->vlan_proto;
    has->spoofchk = vf->spoofchk;
    has->trust = vf->trust;
    has->link_state = vf->link_state;
    has->min_tx_rate = vf->min_tx_rate;
    has->max_tx_rate = vf->max_tx_rate;
}

static void s_find_vf(const vfp_apply_vf_t *a, const vfp_inventory_t *inv,
                      vfp_drift_t *out, size_t max, size_t *n)
{
    const vfp_pf_t *pf = s_find_pf(inv, a->pf);
    const vfp_vf_t *vf = NULL;
    for (uint32_t v = 0; pf && v < pf->vf_count && !vf; v++)
        if (pf->vfs[v].index == a->index && pf->vfs[v].settings_known)
            vf = &pf->vfs[v];
    if (!vf)
        return;
    uint16_t differs = vfp_drift_differs(a, vf);
    for (uint16_t bit = 1; bit & VFP_SET_ALL; bit <<= 1) {
        if (!(differs & bit))
            continue;
        vfp_drift_t d = {.kind = VFP_ITEM_VF,
                         .index = a->index,
                         .bit = bit,
                         .attribute = vfp_drift_attr_name(bit),
                         .wanted = *a};
        snprintf(d.pf, sizeof(d.pf), "%s", a->pf);
        d.has = *a;
        s_observed(vf, &d.has);
        s_add(out, max, n, &d);
    }
}

size_t vfp_drift_find(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                      vfp_drift_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < apply->pf_count; i++)
        s_find_pf_count(&apply->pfs[i], inv, out, max, &n);
    for (uint32_t i = 0; i < apply->vf_count; i++)
        s_find_vf(&apply->vfs[i], inv, out, max, &n);
    return n;
}

size_t vfp_drift_list(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                      vfp_drift_t **drift_p)
{
    *drift_p = NULL;
    size_t n = vfp_drift_find(apply, inv, NULL, 0);
    if (n == 0)
        return 0;
    *drift_p = calloc(n, sizeof(**drift_p));
    assert(*drift_p);
    return vfp_drift_find(apply, inv, *drift_p, n);
}

/* One side's value of the setting `bit`. */
static void s_value(const vfp_apply_vf_t *vf, uint16_t bit, char *buf,
                    size_t len)
{
    char mac[18];
    switch (bit) {
    case VFP_SET_MAC:
        snprintf(buf, len, "%s", vfp_mac_format(vf->mac, mac));
        break;
    case VFP_SET_VLAN:
        snprintf(buf, len, "%u", vf->vlan);
        if (vf->qos || vf->vlan_proto == VFP_VLAN_PROTO_8021AD)
            snprintf(buf + strlen(buf), len - strlen(buf), " qos %u%s", vf->qos,
                     vf->vlan_proto == VFP_VLAN_PROTO_8021AD ? " 802.1ad" : "");
        break;
    case VFP_SET_SPOOFCHK:
        snprintf(buf, len, "%s", vfp_flag_name(vf->spoofchk));
        break;
    case VFP_SET_TRUST:
        snprintf(buf, len, "%s", vfp_flag_name(vf->trust));
        break;
    case VFP_SET_LINK_STATE:
        snprintf(buf, len, "%s", vfp_link_state_name(vf->link_state));
        break;
    default:
        snprintf(buf, len, "min_tx_rate %" PRIu32 " max_tx_rate %" PRIu32,
                 vf->min_tx_rate, vf->max_tx_rate);
        break;
    }
}

void vfp_drift_values(const vfp_drift_t *d, char *wanted, size_t wanted_len,
                      char *has, size_t has_len)
{
    if (wanted_len > VFP_DRIFT_VALUE_SIZE)
        wanted_len = VFP_DRIFT_VALUE_SIZE;
    if (has_len > VFP_DRIFT_VALUE_SIZE)
        has_len = VFP_DRIFT_VALUE_SIZE;
    if (d->kind == VFP_ITEM_VF) {
        s_value(&d->wanted, d->bit, wanted, wanted_len);
        s_value(&d->has, d->bit, has, has_len);
    } else if (!strcmp(d->attribute, "pf")) {
        snprintf(wanted, wanted_len, "present");
        snprintf(has, has_len, "absent");
    } else {
        snprintf(wanted, wanted_len, "%u", d->wanted_num_vfs);
        snprintf(has, has_len, "%u", d->has_num_vfs);
    }
}
