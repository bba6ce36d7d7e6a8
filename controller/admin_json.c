/* admin_json.c - inventory rows as the admin API's JSON objects. */
#include "admin_json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void admin_json_time_text(int64_t ms, char buf[ADMIN_JSON_TIME_MAX])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, ADMIN_JSON_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

json_t *admin_json_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[ADMIN_JSON_TIME_MAX];
    admin_json_time_text(ms, buf);
    return json_string(buf);
}

static json_t *s_reasons(const char *text)
{
    json_t *reasons = json_array();
    char copy[VFP_TEXT_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", text);
    char *save = NULL;
    for (char *r = strtok_r(copy, "\n", &save); r;
         r = strtok_r(NULL, "\n", &save))
        json_array_append_new(reasons, json_string(r));
    return reasons;
}

json_t *admin_json_host(const db_host_row_t *row, const session_facts_t *facts)
{
    /* The session's time is newer than the db's between flushes. */
    int64_t last_seen = row->last_seen_ms;
    if (facts && facts->last_seen_ms > last_seen)
        last_seen = facts->last_seen_ms;
    return json_pack(
        "{s:s, s:s, s:b, s:b, s:o, s:o, s:I, s:s, s:s, s:i, s:s, s:s,"
        " s:{s:b, s:I, s:I, s:s, s:o}, s:{s:I, s:I}, s:I, s:I, s:I}",
        "name", row->name, "state", db_host_state_name(row->state), "cordoned",
        row->cordoned, "connected", facts && facts->connected, "first_seen",
        admin_json_time(row->first_seen_ms), "last_seen",
        admin_json_time(last_seen), "generation", (json_int_t)row->generation,
        "agent_version", row->agent_version, "boot_id", row->boot_id,
        "proto_version", row->proto_version, "kernel", row->kernel, "cpu_virt",
        row->cpu_virt, "iommu", "ready", row->iommu_ready, "units",
        (json_int_t)row->iommu_units, "groups", (json_int_t)row->iommu_groups,
        "cmdline", row->iommu_cmdline, "reasons", s_reasons(row->iommu_reasons),
        "memory", "total_kb", (json_int_t)row->mem_total_kb, "available_kb",
        (json_int_t)row->mem_available_kb, "pfs", (json_int_t)row->pf_count,
        "vfs", (json_int_t)row->vf_count, "vfs_free", (json_int_t)row->vf_free);
}

json_t *admin_json_pf(const db_pf_row_t *row)
{
    char vendor[8], device[8];
    snprintf(vendor, sizeof(vendor), "%04x", row->vendor_id);
    snprintf(device, sizeof(device), "%04x", row->device_id);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:b, s:i, s:i, s:I,"
        " s:I, s:s, s:s}",
        "host", row->host, "pci_addr", row->pci_addr, "ifname", row->ifname,
        "driver", row->driver, "vf_driver", row->vf_driver, "vendor_id", vendor,
        "device_id", device, "numa_node", row->numa_node, "link_speed",
        (json_int_t)row->link_speed, "link_up", row->link_up, "total_vfs",
        row->total_vfs, "num_vfs", row->num_vfs, "vfs",
        (json_int_t)row->vf_count, "vfs_free", (json_int_t)row->vf_free,
        "state", db_pf_state_name(row->state), "note", row->note);
}

json_t *admin_json_vf(const db_vf_row_t *row)
{
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:s, s:s, s:i, s:i, s:i, s:s,"
        " s:s, s:s, s:I, s:I, s:b, s:b, s:s, s:o, s:s}",
        "host", row->host, "pf", row->pf, "pf_ifname", row->pf_ifname, "index",
        row->index, "pci_addr", row->pci_addr, "iommu_group", row->iommu_group,
        "iommu_isolated", row->iommu_isolated, "driver", row->driver, "mac",
        row->mac, "vlan", row->vlan, "qos", row->qos, "vlan_proto",
        row->vlan_proto, "spoofchk", vfp_flag_name(row->spoofchk), "trust",
        vfp_flag_name(row->trust), "link_state",
        vfp_link_state_name(row->link_state), "min_tx_rate",
        (json_int_t)row->min_tx_rate, "max_tx_rate",
        (json_int_t)row->max_tx_rate, "settings_known", row->settings_known,
        "in_use", row->in_use, "state", db_vf_state_name(row->state), "vm",
        row->vm[0] ? json_string(row->vm) : json_null(), "note", row->note);
}

json_t *admin_json_event(const db_event_row_t *row)
{
    return json_pack("{s:I, s:o, s:s, s:o, s:s}", "id", (json_int_t)row->id,
                     "at", admin_json_time(row->at_ms), "kind", row->kind,
                     "host",
                     row->host[0] ? json_string(row->host) : json_null(),
                     "message", row->message);
}

json_t *admin_json_hugepages(const db_hugepages_row_t *row)
{
    return json_pack("{s:I, s:I, s:I}", "size_kb", (json_int_t)row->size_kb,
                     "total", (json_int_t)row->total, "free",
                     (json_int_t)row->free);
}

json_t *admin_json_labels(const char *text)
{
    json_t *labels = json_object();
    assert(labels);
    char copy[DB_HOST_LABELS_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", text);
    char *cursor = copy;
    for (db_label_t label; db_labels_next(&cursor, &label);)
        json_object_set_new(labels, label.key, json_string(label.value));
    return labels;
}
