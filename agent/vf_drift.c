/* vf_drift.c - reports the differences between desired VF state and the
 * kernel's (proto's vfp_drift_find) as drift in the log, the table and
 * JSON. */
#include "vf_drift.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vf_print.h"
#include "vfp_log.h"

void vf_drift_text(const vfp_drift_t *d, char *buf, size_t len)
{
    char wanted[160], has[160];
    if (d->kind == VFP_ITEM_VF) {
        vf_print_desired(wanted, sizeof(wanted), &d->wanted, d->bit);
        vf_print_desired(has, sizeof(has), &d->has, d->bit);
    } else if (!strcmp(d->attribute, "pf")) {
        snprintf(wanted, sizeof(wanted), "PF %s", d->pf);
        snprintf(has, sizeof(has), "no such PF");
    } else {
        snprintf(wanted, sizeof(wanted), "%u VFs", d->wanted_num_vfs);
        snprintf(has, sizeof(has), "%u VFs", d->has_num_vfs);
    }
    snprintf(buf, len, "wanted %s; kernel has %s", wanted, has);
}

void vf_drift_line(const vfp_drift_t *drift, char *buf, size_t len)
{
    char text[2 * VFP_TEXT_MAX];
    vf_drift_text(drift, text, sizeof(text));
    if (drift->kind == VFP_ITEM_VF)
        snprintf(buf, len, "pf %s vf %u %s: %s", drift->pf, drift->index,
                 vf_print_word(drift->bit), text);
    else
        snprintf(buf, len, "pf %s %s: %s", drift->pf, drift->attribute, text);
}

static void s_print_one(output_t *out, const vfp_drift_t *d)
{
    char line[2 * VFP_TEXT_MAX + 128], text[2 * VFP_TEXT_MAX];
    vf_drift_text(d, text, sizeof(text));
    vf_drift_line(d, line, sizeof(line));
    output_text(out, "drift: %s\n", line);
    output_open_object(out, NULL);
    output_string(out, OUTPUT_JSON, "pf", NULL, d->pf);
    if (d->kind == VFP_ITEM_VF)
        output_uint(out, OUTPUT_JSON, "vf", NULL, d->index);
    output_string(out, OUTPUT_JSON, "attribute", NULL, d->attribute);
    output_string(out, OUTPUT_JSON, "detail", NULL, text);
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
    vfp_drift_t *drift = NULL;
    size_t n = vfp_drift_list(desired, inv, &drift);
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

/* Drift lines logged for one change of the differences. */
#define S_DRIFT_LINES 10

size_t vf_drift_log(const vfp_apply_t *apply, const vfp_inventory_t *scan,
                    char **logged_p)
{
    vfp_drift_t *drift = NULL;
    size_t n = vfp_drift_list(apply, scan, &drift);
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
        return n;
    }
    /* A controller sends APPLYs at will, and each may change the
     * differences: at most S_DRIFT_LINES lines per change, and those
     * limited like every warning a peer could repeat (vfleet-agent(8)). */
    size_t shown = 0;
    for (char *line = text, *end;
         shown < S_DRIFT_LINES && (end = strchr(line, '\n'));
         line = end + 1, shown++)
        VFP_LOG_LIMITED(VFP_LOG_WARN, "drift: %.*s", (int)(end - line), line);
    if (n > shown)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "drift: and %zu more differences (vfleet-agent "
                        "--discover --state-dir lists them all)",
                        n - shown);
    if (n == 0 && *logged_p && (*logged_p)[0])
        vfp_log_info("drift: none; the host matches desired revision %" PRIu64,
                     apply->revision);
    free(*logged_p);
    *logged_p = text;
    return n;
}
