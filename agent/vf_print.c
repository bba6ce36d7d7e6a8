/* vf_print.c - a VF's settings in iproute2's words, for table and JSON. */
#include "vf_print.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vfp_drift.h"

const char *vf_print_word(uint16_t bit)
{
    /* iproute2 spells with a dash the one word the protocol spells with an
     * underscore; every other word is the RESULT attribute name. */
    if (bit == VFP_SET_LINK_STATE)
        return "link-state";
    const char *name = vfp_drift_attr_name(bit);
    return name ? name : "attribute";
}

/* ", " before every printed setting but the first. */
static const char *s_sep(bool *first)
{
    const char *sep = *first ? "" : ", ";
    *first = false;
    return sep;
}

/* A setting with one word of value, after its separator. */
static void s_print_word(output_t *out, bool *first, const char *key,
                         const char *fmt, const char *value)
{
    output_text(out, "%s", s_sep(first));
    output_string(out, OUTPUT_ANY, key, fmt, value);
}

static void s_print_vlan(output_t *out, const vfp_vf_t *vf, bool *first)
{
    output_text(out, "%s", s_sep(first));
    output_uint(out, OUTPUT_ANY, "vlan", "vlan %" PRIu64, vf->vlan);
    output_uint(out, OUTPUT_ANY, "qos", ", qos %" PRIu64, vf->qos);
    /* A protocol of 0 (not reported) is the kernel's default, as the
     * drift comparison takes it too. */
    output_string(out, OUTPUT_ANY, "vlan_protocol", ", vlan-protocol %s",
                  vf->vlan_proto == VFP_VLAN_PROTO_8021AD ? "802.1ad"
                                                          : "802.1Q");
}

void vf_print_settings(output_t *out, const vfp_vf_t *vf, uint16_t bits)
{
    char mac[18];
    bool first = true;
    if (bits & VFP_SET_MAC)
        s_print_word(out, &first, "mac", "mac %s",
                     vfp_mac_format(vf->mac, mac));
    if (bits & VFP_SET_VLAN)
        s_print_vlan(out, vf, &first);
    if (bits & VFP_SET_SPOOFCHK)
        s_print_word(out, &first, "spoofchk", "spoofchk %s",
                     vfp_flag_name(vf->spoofchk));
    if (bits & VFP_SET_TRUST)
        s_print_word(out, &first, "trust", "trust %s",
                     vfp_flag_name(vf->trust));
    if (bits & VFP_SET_LINK_STATE)
        s_print_word(out, &first, "link_state", "link-state %s",
                     vfp_link_state_name(vf->link_state));
    if (bits & VFP_SET_RATE) {
        output_text(out, "%s", s_sep(&first));
        output_uint(out, OUTPUT_ANY, "min_tx_rate", "min_tx_rate %" PRIu64,
                    vf->min_tx_rate);
        output_uint(out, OUTPUT_ANY, "max_tx_rate", ", max_tx_rate %" PRIu64,
                    vf->max_tx_rate);
    }
}

void vf_print_text(char *buf, size_t len, const vfp_vf_t *vf, uint16_t bits)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    FILE *f = fmemopen(buf, len, "w");
    assert(f);
    /* Unbuffered, so a text longer than buf is cut rather than lost. */
    setvbuf(f, NULL, _IONBF, 0);
    output_t *out = output_new(f, false);
    vf_print_settings(out, vf, bits);
    output_destroy(&out);
    fclose(f);
    buf[len - 1] = '\0';
}

void vf_print_desired(char *buf, size_t len, const vfp_apply_vf_t *d,
                      uint16_t bits)
{
    vfp_vf_t as = {
        .index = d->index,
        .vlan = d->vlan,
        .qos = d->qos,
        .vlan_proto = d->vlan_proto,
        .spoofchk = d->spoofchk,
        .trust = d->trust,
        .link_state = d->link_state,
        .min_tx_rate = d->min_tx_rate,
        .max_tx_rate = d->max_tx_rate,
    };
    memcpy(as.mac, d->mac, sizeof(as.mac));
    vf_print_text(buf, len, &as, bits);
}
