/* policy_emit.c - writes the normalised policy as YAML; the same text is
 * hashed for the revision id, so its form must never depend on anything
 * but the model. */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words a YAML 1.1 reader would take for a boolean or null. */
static bool s_reserved(const char *text)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",   "on",
                                        "off", "true", "false", "null", "~"};
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (strcasecmp(text, words[i]) == 0)
            return true;
    return false;
}

/* Writes text plain when no YAML reader could mistake it for anything but
 * a string, double-quoted otherwise. */
static void s_string(FILE *out, const char *text)
{
    bool plain = ((text[0] >= 'a' && text[0] <= 'z') ||
                  (text[0] >= 'A' && text[0] <= 'Z')) &&
                 !s_reserved(text);
    for (const char *c = text; plain && *c; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789._/-",
                       *c) != NULL;
    if (plain) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void s_string_list(FILE *out, const char *indent, const char *key,
                          const char *const *items, size_t count)
{
    fprintf(out, "%s%s:", indent, key);
    if (count == 0) {
        fputs(" []\n", out);
        return;
    }
    fputc('\n', out);
    for (size_t i = 0; i < count; i++) {
        fprintf(out, "%s  - ", indent);
        s_string(out, items[i]);
        fputc('\n', out);
    }
}

static const char *s_bool(bool value)
{
    return policy_bool_words.words[value];
}

static void s_network(FILE *out, const policy_network_t *net)
{
    fputs("  - name: ", out);
    s_string(out, net->name);
    fputc('\n', out);
    if (net->vlan) {
        fprintf(out,
                "    vlan: %u\n    qos: %u\n    vlan_protocol: ", net->vlan,
                net->qos);
        s_string(out, policy_vlan_protocol_words.words[net->vlan_protocol]);
        fputc('\n', out);
    }
    fprintf(out,
            "    trunk: %s\n    spoof_check: %s\n    trust: %s\n"
            "    link_state: %s\n    min_tx_rate: %u\n    max_tx_rate: %u\n"
            "    mtu: %u\n    guest_mtu_change: %s\n",
            s_bool(net->trunk), s_bool(net->spoof_check), s_bool(net->trust),
            policy_link_state_words.words[net->link_state], net->min_tx_rate,
            net->max_tx_rate, net->mtu,
            policy_guest_mtu_change_words.words[net->guest_mtu_change]);
}

static void s_mac_pool(FILE *out, const policy_mac_pool_t *pool)
{
    char mac[32];
    fputs("  - name: ", out);
    s_string(out, pool->name);
    fprintf(out, "\n    vendor_oui: %s\n    prefixes:\n",
            s_bool(pool->vendor_oui));
    for (size_t i = 0; i < pool->prefix_count; i++) {
        policy_mac_format(pool->prefixes[i].octets, pool->prefixes[i].length,
                          mac, sizeof(mac));
        fprintf(out, "      - \"%s\"\n", mac);
    }
}

static void s_pf(FILE *out, const policy_pf_t *pf)
{
    const char *values[POLICY_PF_SELECTOR_KEYS];
    policy_pf_selector_values(pf, values);
    const char *lead = "      - ";
    for (size_t i = 0; i < POLICY_PF_SELECTOR_KEYS; i++) {
        if (!values[i])
            continue;
        fprintf(out, "%s%s: ", lead, policy_pf_selector_keys[i]);
        s_string(out, values[i]);
        fputc('\n', out);
        lead = "        ";
    }
    fprintf(out, "        vfs: %u\n", pf->vfs);
    s_string_list(out, "        ", "networks", pf->networks, pf->network_count);
}

static void s_host_group(FILE *out, const policy_host_group_t *group)
{
    fputs("  - name: ", out);
    s_string(out, group->name);
    fputc('\n', out);
    s_string_list(out, "    ", "hosts", group->hosts, group->host_count);
    fputs("    labels:", out);
    if (group->label_count == 0)
        fputs(" {}", out);
    fputc('\n', out);
    for (size_t i = 0; i < group->label_count; i++) {
        fputs("      ", out);
        s_string(out, group->labels[i].key);
        fputs(": ", out);
        s_string(out, group->labels[i].value);
        fputc('\n', out);
    }
    fputs("    pfs:", out);
    fputs(group->pf_count ? "\n" : " []\n", out);
    for (size_t i = 0; i < group->pf_count; i++)
        s_pf(out, &group->pfs[i]);
}

static void s_size(FILE *out, uint64_t mib)
{
    char size[32];
    policy_size_format(mib, size, sizeof(size));
    fprintf(out, "\"%s\"", size);
}

int policy_emit(const policy_t *self, FILE *out)
{
    char mac[32];
    fprintf(out, "version: %u\n", self->version);
    fputs(self->network_count ? "networks:\n" : "networks: []\n", out);
    for (size_t i = 0; i < self->network_count; i++)
        s_network(out, &self->networks[i]);
    fputs(self->mac_pool_count ? "mac_pools:\n" : "mac_pools: []\n", out);
    for (size_t i = 0; i < self->mac_pool_count; i++)
        s_mac_pool(out, &self->mac_pools[i]);
    fputs(self->fixed_mac_count ? "fixed_macs:\n" : "fixed_macs: []\n", out);
    for (size_t i = 0; i < self->fixed_mac_count; i++) {
        policy_mac_format(self->fixed_macs[i].octets, 6, mac, sizeof(mac));
        fprintf(out, "  - \"%s\"\n", mac);
    }
    fputs(self->host_group_count ? "host_groups:\n" : "host_groups: []\n", out);
    for (size_t i = 0; i < self->host_group_count; i++)
        s_host_group(out, &self->host_groups[i]);
    fprintf(out, "memory:\n  full_reservation: %s\n  hugepages: ",
            s_bool(self->full_reservation));
    s_string(out, policy_hugepages_words.words[self->hugepages]);
    fputs("\n  hypervisor_reserve: ", out);
    s_size(out, self->hypervisor_reserve_mib);
    fprintf(out, "\nplacement:\n  strategy: %s\n",
            policy_strategy_words.words[self->strategy]);
    fputs(self->anti_affinity_count ? "  anti_affinity_groups:\n"
                                    : "  anti_affinity_groups: []\n",
          out);
    for (size_t i = 0; i < self->anti_affinity_count; i++) {
        fputs("    - name: ", out);
        s_string(out, self->anti_affinity[i].name);
        fputc('\n', out);
        s_string_list(out, "      ", "vms", self->anti_affinity[i].vms,
                      self->anti_affinity[i].vm_count);
    }
    fprintf(out, "drift: %s\n", policy_drift_words.words[self->drift]);
    return ferror(out) ? -1 : 0;
}

char *policy_emit_string(const policy_t *self, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    int rc = policy_emit(self, out);
    if (fclose(out) != 0 || rc != 0) {
        free(text);
        return NULL;
    }
    if (len)
        *len = size;
    return text;
}

int policy_sha256_hex(const policy_t *self, char out[65])
{
    size_t len;
    char *text = policy_emit_string(self, &len);
    if (!text)
        return -1;
    policy_sha256_buffer(text, len, out);
    free(text);
    return 0;
}
