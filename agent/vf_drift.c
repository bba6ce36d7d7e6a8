/* vf_drift.c - compares desired VF state with the kernel's, and reports
 * the differences as drift in the log, the table and JSON. */
#include "vf_drift.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_text.h"
#include "discover.h"
#include "vf_print.h"
#include "vf_writer.h"
#include "vfp_log.h"

static uint16_t s_vlan_proto(uint16_t proto)
{
    return proto ? proto : VFP_VLAN_PROTO_8021Q;
}

uint16_t vf_drift_differs(const vfp_apply_vf_t *d, const vfp_vf_t *a)
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

/* Adds one difference when there is room; counts it either way. */
static void s_add(vf_drift_t *out, size_t max, size_t *n, const vf_drift_t *d,
                  const char *wanted, const char *has)
{
    if (*n < max) {
        out[*n] = *d;
        char text[2 * VFP_TEXT_MAX];
        snprintf(text, sizeof(text), "wanted %s; kernel has %s", wanted, has);
        agent_text_copy(out[*n].text, sizeof(out[*n].text), text);
    }
    (*n)++;
}

static void s_find_pf(const vfp_apply_pf_t *a, const vfp_inventory_t *inv,
                      vf_drift_t *out, size_t max, size_t *n)
{
    char wanted[64], has[64];
    vf_drift_t d = {.kind = VFP_ITEM_NUM_VFS, .attribute = "num_vfs"};
    agent_text_copy(d.pf, sizeof(d.pf), a->pf);
    const vfp_pf_t *pf = discover_find_pf(inv, a->pf);
    if (!pf) {
        d.attribute = "pf";
        snprintf(wanted, sizeof(wanted), "PF %s", a->pf);
        s_add(out, max, n, &d, wanted, "no such PF");
    } else if (pf->num_vfs != a->num_vfs) {
        snprintf(wanted, sizeof(wanted), "%u VFs", a->num_vfs);
        snprintf(has, sizeof(has), "%u VFs", pf->num_vfs);
        s_add(out, max, n, &d, wanted, has);
    }
}

static void s_find_vf(const vfp_apply_vf_t *a, const vfp_inventory_t *inv,
                      vf_drift_t *out, size_t max, size_t *n)
{
    const vfp_pf_t *pf = discover_find_pf(inv, a->pf);
    const vfp_vf_t *vf = NULL;
    for (uint32_t v = 0; pf && v < pf->vf_count && !vf; v++)
        if (pf->vfs[v].index == a->index && pf->vfs[v].settings_known)
            vf = &pf->vfs[v];
    if (!vf)
        return;
    uint16_t differs = vf_drift_differs(a, vf);
    char wanted[160], has[160];
    for (uint16_t bit = 1; bit & VF_PRINT_SETTINGS; bit <<= 1) {
        if (!(differs & bit))
            continue;
        vf_drift_t d = {.kind = VFP_ITEM_VF,
                        .index = a->index,
                        .bit = bit,
                        .attribute = vf_writer_attr_name(bit)};
        agent_text_copy(d.pf, sizeof(d.pf), a->pf);
        vf_print_desired(wanted, sizeof(wanted), a, bit);
        vf_print_text(has, sizeof(has), vf, bit);
        s_add(out, max, n, &d, wanted, has);
    }
}

size_t vf_drift_find(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vf_drift_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < apply->pf_count; i++)
        s_find_pf(&apply->pfs[i], inv, out, max, &n);
    for (uint32_t i = 0; i < apply->vf_count; i++)
        s_find_vf(&apply->vfs[i], inv, out, max, &n);
    return n;
}

size_t vf_drift_list(const vfp_apply_t *apply, const vfp_inventory_t *inv,
                     vf_drift_t **drift_p)
{
    *drift_p = NULL;
    size_t n = vf_drift_find(apply, inv, NULL, 0);
    if (n == 0)
        return 0;
    *drift_p = calloc(n, sizeof(**drift_p));
    assert(*drift_p);
    return vf_drift_find(apply, inv, *drift_p, n);
}

void vf_drift_line(const vf_drift_t *drift, char *buf, size_t len)
{
    if (drift->kind == VFP_ITEM_VF)
        snprintf(buf, len, "pf %s vf %u %s: %s", drift->pf, drift->index,
                 vf_print_word(drift->bit), drift->text);
    else
        snprintf(buf, len, "pf %s %s: %s", drift->pf, drift->attribute,
                 drift->text);
}

static void s_print_one(output_t *out, const vf_drift_t *d)
{
    char line[512];
    vf_drift_line(d, line, sizeof(line));
    output_text(out, "drift: %s\n", line);
    output_open_object(out, NULL);
    output_string(out, OUTPUT_JSON, "pf", NULL, d->pf);
    if (d->kind == VFP_ITEM_VF)
        output_uint(out, OUTPUT_JSON, "vf", NULL, d->index);
    output_string(out, OUTPUT_JSON, "attribute", NULL, d->attribute);
    output_string(out, OUTPUT_JSON, "detail", NULL, d->text);
    output_close_object(out);
}

void vf_drift_print(output_t *out, const vfp_inventory_t *inv,
                    const vfp_apply_t *desired)
{
    if (!desired) {
        output_text(out, "desired state: none stored\n");
        output_open_array(out, "drift");
        output_close_array(out);
        return;
    }
    vf_drift_t *drift = NULL;
    size_t n = vf_drift_list(desired, inv, &drift);
    output_uint(out, OUTPUT_ANY, "desired_revision",
                "desired state revision %" PRIu64, desired->revision);
    if (n == 0)
        output_text(out, ": no drift\n");
    else
        output_text(out, ": %zu drifted\n", n);
    output_open_array(out, "drift");
    for (size_t i = 0; i < n; i++)
        s_print_one(out, &drift[i]);
    output_close_array(out);
    free(drift);
}

void vf_drift_log(const vfp_apply_t *apply, const vfp_inventory_t *scan,
                  char **logged_p)
{
    vf_drift_t *drift = NULL;
    size_t n = vf_drift_list(apply, scan, &drift);
    size_t cap = n * 512 + 1, used = 0;
    char *text = calloc(1, cap);
    assert(text);
    for (size_t i = 0; i < n; i++) {
        vf_drift_line(&drift[i], text + used, cap - used - 1);
        used += strlen(text + used);
        text[used++] = '\n';
    }
    free(drift);
    if (*logged_p && !strcmp(*logged_p, text)) {
        free(text);
        return;
    }
    for (char *line = text, *end; (end = strchr(line, '\n')); line = end + 1)
        vfp_log_warnx("drift: %.*s", (int)(end - line), line);
    if (n == 0 && *logged_p && (*logged_p)[0])
        vfp_log_info("drift: none; the host matches desired revision %" PRIu64,
                     apply->revision);
    free(*logged_p);
    *logged_p = text;
}
