/* vf_print.h - a VF's settings in iproute2's words, the one printer behind
 * the inventory table, its JSON, drift lines and apply result messages. */
#ifndef VFLEET_VF_PRINT_H
#define VFLEET_VF_PRINT_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "vfp.h"

/* The settings a VF reading holds: every VFP_SET_* bit but MTU, which
 * lives on the VF's own netdev. */
#define VF_PRINT_SETTINGS (VFP_SET_ALL & ~VFP_SET_MTU)

/* The iproute2 word for one VFP_SET_* bit, as the table and drift lines
 * say it: "mac", "vlan", "spoofchk", "trust", "link-state", "rate", "mtu";
 * "attribute" for anything else. */
const char *vf_print_word(uint16_t bit);

/* Prints the settings of vf selected by `bits` (VFP_SET_* bits; MTU is
 * ignored), in the words of `ip -d link show`, separated by ", ": "mac
 * 02:50:56:00:00:10, vlan 12, qos 2, vlan-protocol 802.1Q, spoofchk on,
 * trust off, link-state auto, min_tx_rate 0, max_tx_rate 0". JSON keys:
 * mac, vlan, qos, vlan_protocol, spoofchk, trust, link_state, min_tx_rate,
 * max_tx_rate. A VLAN protocol of 0 (not reported) reads as 802.1Q, the
 * kernel's default. */
void vf_print_settings(output_t *out, const vfp_vf_t *vf, uint16_t bits);

/* The same table text into buf (truncated to len). */
void vf_print_text(char *buf, size_t len, const vfp_vf_t *vf, uint16_t bits);

/* The same for the values a desired state sets. */
void vf_print_desired(char *buf, size_t len, const vfp_apply_vf_t *desired,
                      uint16_t bits);

#endif
