/* db_query.c - the read side of the inventory: summary, hosts, PFs, VFs and
 * events, each row handed to a caller's callback, and one host's whole
 * inventory as the codec's struct. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

/* The read statements. Each one's plan is part of its contract, checked by
 * tests/db/test_db_plans.c: every listing walks its rows in the order it
 * returns them, and every count it adds per row is an index range of that
 * row's own VFs, so a listing costs time linear in the rows it returns.
 *
 * - Without statistics (no ANALYZE), SQLite may walk an index on state
 *   as if it were as selective as "pf_id = ?" (version 2's vfs_state
 *   counted a PF's free VFs by walking every free VF in the cluster). The
 *   per-row counts name their index (INDEXED BY: a statement that cannot
 *   use it fails to prepare instead of slowing down), and CROSS JOIN fixes
 *   the order of the joins.
 * - An optional filter "?1 IS NULL OR name = ?1" cannot use an index, so
 *   filters are ranges: coalesce(?1, '') to coalesce(?1, x'ff') is the one
 *   name when bound and every name when NULL (SQLite orders every TEXT
 *   value before every BLOB).
 * - Pages (db_page_t) resume after the last row sent. The cursor's host is
 *   folded into the same one range on hosts.name (a second lower bound
 *   would leave SQLite free to walk from the start and filter, making a
 *   full paged listing quadratic); the rest of the cursor is a filter on
 *   the first host's own rows only.
 * - The summary has no index on a state either (one would be rewritten by
 *   every reservation and placement): VFs in each state but free are
 *   counted through each PF's range of vfs_pf_state and free ones are
 *   the rest (one walk of every VF counting each state cost four times
 *   as much); VMs by state in one walk. */
static const char s_sql_summary[] =
    "SELECT (SELECT count(*) FROM hosts),"
    " (SELECT count(*) FROM hosts WHERE state = 'ready'),"
    " (SELECT count(*) FROM hosts WHERE state = 'down'),"
    " (SELECT count(*) FROM pfs),"
    " v.total, v.total - v.reserved - v.assigned - v.broken - v.missing,"
    " v.reserved, v.assigned, v.broken, v.missing,"
    " m.total, m.reserved, m.placed, m.failed,"
    " (SELECT count(*) FROM hosts, vms INDEXED BY vms_host"
    "  WHERE hosts.state = 'down' AND vms.host_id = hosts.id)"
    " FROM (SELECT (SELECT count(*) FROM vfs) AS total,"
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"
    "  ON vfs.pf_id = pfs.id AND vfs.state = 'reserved') AS reserved,"
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"
    "  ON vfs.pf_id = pfs.id AND vfs.state = 'assigned') AS assigned,"
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"
    "  ON vfs.pf_id = pfs.id AND vfs.state = 'broken') AS broken,"
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"
    "  ON vfs.pf_id = pfs.id AND vfs.state = 'missing') AS missing) v,"
    " (SELECT count(*) AS total,"
    "  count(*) FILTER (WHERE state = 'reserved') AS reserved,"
    "  count(*) FILTER (WHERE state = 'placed') AS placed,"
    "  count(*) FILTER (WHERE state = 'failed') AS failed FROM vms) m";

/* The host row's own columns, as s_host_each reads them; the counts
 * follow. */
#define S_HOST_FACTS                                                           \
    "SELECT h.name, h.state, h.cordoned, h.first_seen, h.last_seen,"           \
    " h.generation, h.boot_id, h.agent_version, h.proto_version, h.kernel,"    \
    " h.cpu_virt, h.iommu_ready, h.iommu_units, h.iommu_groups,"               \
    " h.iommu_cmdline, h.iommu_reasons, h.mem_total_kb, h.mem_available_kb,"

/* Columns shared by the host listing and the host lookup. */
#define S_HOST_COLUMNS                                                         \
    S_HOST_FACTS                                                               \
    " (SELECT count(*) FROM pfs WHERE pfs.host_id = h.id),"                    \
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"        \
    "  ON vfs.pf_id = pfs.id WHERE pfs.host_id = h.id),"                       \
    " (SELECT count(*) FROM pfs CROSS JOIN vfs INDEXED BY vfs_pf_state"        \
    "  ON vfs.pf_id = pfs.id AND vfs.state = 'free'"                           \
    "  WHERE pfs.host_id = h.id)"                                              \
    " FROM hosts h"

static const char s_sql_hosts_list[] =
    S_HOST_COLUMNS " WHERE h.name > coalesce(?1, '') ORDER BY h.name LIMIT ?2";

static const char s_sql_host_get[] = S_HOST_COLUMNS " WHERE h.name = ?1";

static const char s_sql_host_names[] = "SELECT name FROM hosts ORDER BY name";

/* The host row without the counts, which walk the host's VFs twice: for
 * the inventory read back (every plan and drift check), which counts
 * nothing. */
static const char s_sql_host_facts[] =
    S_HOST_FACTS " 0, 0, 0 FROM hosts h WHERE h.name = ?1";

static const char s_sql_host_hugepages[] =
    "SELECT size_kb, total, free FROM hugepages"
    " WHERE host_id = (SELECT id FROM hosts WHERE name = ?1)"
    " ORDER BY size_kb";

static const char s_sql_pfs_list[] =
    "SELECT h.name, p.pci_addr, p.ifname, p.driver, p.vf_driver,"
    " p.vendor_id, p.device_id, p.numa_node, p.link_speed, p.link_up,"
    " p.total_vfs, p.num_vfs, p.note, p.state,"
    " (SELECT count(*) FROM vfs INDEXED BY vfs_pf_state"
    "  WHERE vfs.pf_id = p.id),"
    " (SELECT count(*) FROM vfs INDEXED BY vfs_pf_state"
    "  WHERE vfs.pf_id = p.id AND vfs.state = 'free')"
    " FROM hosts h CROSS JOIN pfs p ON p.host_id = h.id"
    " WHERE h.name BETWEEN coalesce(?2, ?1, '') AND coalesce(?1, x'ff')"
    " AND (?2 IS NULL OR h.name > ?2 OR p.pci_addr > ?3)"
    " ORDER BY h.name, p.pci_addr LIMIT ?4";

/* Everything but the state filter, shared by both VF listings. */
#define S_VF_COLUMNS                                                           \
    "SELECT h.name, p.pci_addr, p.ifname, v.idx, v.pci_addr,"                  \
    " v.iommu_group, v.iommu_isolated, v.driver, v.mac, v.vlan, v.qos,"        \
    " v.vlan_proto, v.spoofchk, v.trust, v.link_state, v.min_tx_rate,"         \
    " v.max_tx_rate, v.settings_known, v.in_use, v.note, v.state,"             \
    " (SELECT vms.name FROM vm_nics JOIN vms ON vms.id = vm_nics.vm_id"        \
    "  WHERE vm_nics.vf_id = v.id)"                                            \
    " FROM hosts h CROSS JOIN pfs p ON p.host_id = h.id"
#define S_VF_WHERE                                                             \
    " WHERE h.name BETWEEN coalesce(?4, ?1, '') AND coalesce(?1, x'ff')"       \
    " AND p.pci_addr BETWEEN coalesce(?2, '') AND coalesce(?2, x'ff')"         \
    " AND (?4 IS NULL OR h.name > ?4 OR p.pci_addr >= ?5)"                     \
    " AND (?4 IS NULL OR h.name > ?4 OR p.pci_addr > ?5 OR v.idx > ?6)"        \
    " ORDER BY h.name, p.pci_addr, v.idx LIMIT ?7"

/* Any state: a PF's VFs by (pf_id, idx), the UNIQUE constraint's index. */
static const char s_sql_vfs_list[] =
    S_VF_COLUMNS " CROSS JOIN vfs v ON v.pf_id = p.id" S_VF_WHERE;

/* One state: a PF's VFs in that state, still in index order. */
static const char s_sql_vfs_list_state[] =
    S_VF_COLUMNS " CROSS JOIN vfs v INDEXED BY vfs_pf_state"
                 " ON v.pf_id = p.id AND v.state = ?3" S_VF_WHERE;

/* The newest `limit` events (walking ids down from the newest, so a limit
 * bounds the walk), handed out oldest first. */
static const char s_sql_events_list[] =
    "SELECT id, at, kind, host, message FROM"
    " (SELECT * FROM events WHERE at >= ?1 ORDER BY id DESC LIMIT ?2)"
    " ORDER BY id";

/* Events after a known id, oldest first: a range of the rowid. */
static const char s_sql_events_after[] =
    "SELECT id, at, kind, host, message FROM events"
    " WHERE id > ?1 AND at >= ?2 ORDER BY id LIMIT ?3";

/* One host's PFs and VFs as the agent last reported them (missing ones,
 * kept only for the VMs holding them, left out): the host's PFs in address
 * order, each with its VFs in index order (a PF without VFs is one row
 * with NULL VF columns). */
static const char s_sql_host_inventory[] =
    "SELECT p.pci_addr, p.ifname, p.driver, p.vf_driver, p.vendor_id,"
    " p.device_id, p.numa_node, p.link_speed, p.link_up, p.total_vfs,"
    " p.num_vfs, p.note, v.idx, v.pci_addr, v.iommu_group, v.iommu_isolated,"
    " v.driver, v.mac, v.vlan, v.qos, v.vlan_proto, v.spoofchk, v.trust,"
    " v.link_state, v.min_tx_rate, v.max_tx_rate, v.settings_known,"
    " v.in_use, v.note"
    " FROM hosts h CROSS JOIN pfs p ON p.host_id = h.id"
    " LEFT JOIN vfs v ON v.pf_id = p.id AND v.state <> 'missing'"
    " WHERE h.name = ?1 AND p.state = 'present'"
    " ORDER BY p.pci_addr, v.idx";

const db_query_t db_queries[] = {
    {"summary", s_sql_summary},
    {"hosts_list", s_sql_hosts_list},
    {"host_get", s_sql_host_get},
    {"host_names", s_sql_host_names},
    {"host_hugepages", s_sql_host_hugepages},
    {"pfs_list", s_sql_pfs_list},
    {"vfs_list", s_sql_vfs_list},
    {"vfs_list_state", s_sql_vfs_list_state},
    {"events_list", s_sql_events_list},
    {"events_after", s_sql_events_after},
    {"host_inventory", s_sql_host_inventory},
    {"policy_get", db_sql_policy_get},
    {"policy_latest", db_sql_policy_latest},
    {"policy_history", db_sql_policy_history},
    {"host_desired_get", db_sql_host_desired_get},
    {"apply_status_list", db_sql_apply_status_list},
    {"apply_failures_list", db_sql_apply_failures_list},
    {"drift_list", db_sql_drift_list},
    {"host_labels_get", db_sql_host_labels_get},
    {"host_refusal_get", db_sql_host_refusal_get},
    {"host_refusals_list", db_sql_host_refusals_list},
    {"apply_status_filter", db_sql_apply_status_filter},
    {"apply_counts", db_sql_apply_counts},
    {"drift_page", db_sql_drift_page},
    {"vm_get", db_sql_vm_get},
    {"vms_list", db_sql_vms_list},
    {"vms_list_host", db_sql_vms_list_host},
    {"vm_vf_lookup", db_sql_vm_vf_lookup},
};
const int db_query_count = (int)(sizeof(db_queries) / sizeof(db_queries[0]));

/* The text of a column, for the state parsers ("" for NULL). */
static const char *s_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? (const char *)text : "";
}

/* Binds a page's limit (0: all) to parameter `param`. */
static void s_bind_limit(sqlite3_stmt *stmt, int param, const db_page_t *page)
{
    sqlite3_bind_int64(stmt, param, page && page->limit > 0 ? page->limit : -1);
}

int db_summary(db_t *self, db_summary_t *out, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_summary, err);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        int64_t *fields[] = {
            &out->hosts,        &out->hosts_ready,  &out->hosts_down,
            &out->pfs,          &out->vfs,          &out->vfs_free,
            &out->vfs_reserved, &out->vfs_assigned, &out->vfs_broken,
            &out->vfs_missing,  &out->vms,          &out->vms_reserved,
            &out->vms_placed,   &out->vms_failed,   &out->vms_host_down};
        for (int i = 0; i < (int)(sizeof(fields) / sizeof(fields[0])); i++)
            *fields[i] = sqlite3_column_int64(stmt, i);
    } else {
        db_set_error(self, err, DB_ERR_IO, "summarising the inventory");
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

static void s_host_row(sqlite3_stmt *stmt, db_host_row_t *row)
{
    memset(row, 0, sizeof(*row));
    db_column_text(stmt, 0, row->name, sizeof(row->name));
    /* The schema's CHECK admits only names the enum knows; row was
     * zeroed, so anything else would read as the first state. */
    db_host_state_parse(s_text(stmt, 1), &row->state);
    row->cordoned = sqlite3_column_int(stmt, 2) != 0;
    row->first_seen_ms = sqlite3_column_int64(stmt, 3);
    row->last_seen_ms = sqlite3_column_int64(stmt, 4);
    row->generation = (uint64_t)sqlite3_column_int64(stmt, 5);
    db_column_text(stmt, 6, row->boot_id, sizeof(row->boot_id));
    db_column_text(stmt, 7, row->agent_version, sizeof(row->agent_version));
    row->proto_version = sqlite3_column_int(stmt, 8);
    db_column_text(stmt, 9, row->kernel, sizeof(row->kernel));
    db_column_text(stmt, 10, row->cpu_virt, sizeof(row->cpu_virt));
    row->iommu_ready = sqlite3_column_int(stmt, 11) != 0;
    row->iommu_units = (uint32_t)sqlite3_column_int64(stmt, 12);
    row->iommu_groups = (uint32_t)sqlite3_column_int64(stmt, 13);
    db_column_text(stmt, 14, row->iommu_cmdline, sizeof(row->iommu_cmdline));
    db_column_text(stmt, 15, row->iommu_reasons, sizeof(row->iommu_reasons));
    row->mem_total_kb = (uint64_t)sqlite3_column_int64(stmt, 16);
    row->mem_available_kb = (uint64_t)sqlite3_column_int64(stmt, 17);
    row->pf_count = sqlite3_column_int64(stmt, 18);
    row->vf_count = sqlite3_column_int64(stmt, 19);
    row->vf_free = sqlite3_column_int64(stmt, 20);
}

static int s_host_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_host_row_t row;
    s_host_row(stmt, &row);
    return ((db_host_cb *)cb)(&row, arg);
}

int db_hosts_list(db_t *self, const db_page_t *page, db_host_cb *cb, void *arg,
                  db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_hosts_list, err);
    if (!stmt)
        return -1;
    if (page && page->host)
        sqlite3_bind_text(stmt, 1, page->host, -1, SQLITE_STATIC);
    s_bind_limit(stmt, 2, page);
    return db_query_rows(self, stmt, "listing hosts", s_host_each, (void *)cb,
                         arg, err);
}

static int s_name_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    return ((db_name_cb *)cb)((const char *)sqlite3_column_text(stmt, 0), arg);
}

int db_host_names(db_t *self, db_name_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_host_names, err);
    if (!stmt)
        return -1;
    return db_query_rows(self, stmt, "listing host names", s_name_each,
                         (void *)cb, arg, err);
}

static int s_host_copy(const db_host_row_t *row, void *arg)
{
    *(db_host_row_t *)arg = *row;
    return 0;
}

static int s_host_get(db_t *self, const char *sql, const char *name,
                      db_host_row_t *out, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    out->name[0] = '\0';
    if (db_query_rows(self, stmt, "reading a host", s_host_each,
                      (void *)s_host_copy, out, err) != 0)
        return -1;
    if (out->name[0] == '\0') {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", name);
        return -1;
    }
    return 0;
}

int db_host_get(db_t *self, const char *name, db_host_row_t *out, db_err_t *err)
{
    return s_host_get(self, s_sql_host_get, name, out, err);
}

static int s_hugepages_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_hugepages_row_t row = {
        .size_kb = (uint32_t)sqlite3_column_int64(stmt, 0),
        .total = (uint64_t)sqlite3_column_int64(stmt, 1),
        .free = (uint64_t)sqlite3_column_int64(stmt, 2),
    };
    return ((db_hugepages_cb *)cb)(&row, arg);
}

int db_host_hugepages(db_t *self, const char *name, db_hugepages_cb *cb,
                      void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_host_hugepages, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    return db_query_rows(self, stmt, "listing hugepage pools", s_hugepages_each,
                         (void *)cb, arg, err);
}

static int s_pf_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_pf_row_t row;
    memset(&row, 0, sizeof(row));
    db_column_text(stmt, 0, row.host, sizeof(row.host));
    db_column_text(stmt, 1, row.pci_addr, sizeof(row.pci_addr));
    db_column_text(stmt, 2, row.ifname, sizeof(row.ifname));
    db_column_text(stmt, 3, row.driver, sizeof(row.driver));
    db_column_text(stmt, 4, row.vf_driver, sizeof(row.vf_driver));
    row.vendor_id = (uint16_t)sqlite3_column_int(stmt, 5);
    row.device_id = (uint16_t)sqlite3_column_int(stmt, 6);
    row.numa_node = sqlite3_column_int(stmt, 7);
    row.link_speed = (uint32_t)sqlite3_column_int64(stmt, 8);
    row.link_up = sqlite3_column_int(stmt, 9) != 0;
    row.total_vfs = (uint16_t)sqlite3_column_int(stmt, 10);
    row.num_vfs = (uint16_t)sqlite3_column_int(stmt, 11);
    db_column_text(stmt, 12, row.note, sizeof(row.note));
    db_pf_state_parse(s_text(stmt, 13), &row.state);
    row.vf_count = sqlite3_column_int64(stmt, 14);
    row.vf_free = sqlite3_column_int64(stmt, 15);
    return ((db_pf_cb *)cb)(&row, arg);
}

int db_pfs_list(db_t *self, const char *host, const db_page_t *page,
                db_pf_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_pfs_list, err);
    if (!stmt)
        return -1;
    if (host)
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (page && page->host) {
        sqlite3_bind_text(stmt, 2, page->host, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, page->pf ? page->pf : "", -1, SQLITE_STATIC);
    }
    s_bind_limit(stmt, 4, page);
    return db_query_rows(self, stmt, "listing PFs", s_pf_each, (void *)cb, arg,
                         err);
}

static int s_vf_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_vf_row_t row;
    memset(&row, 0, sizeof(row));
    db_column_text(stmt, 0, row.host, sizeof(row.host));
    db_column_text(stmt, 1, row.pf, sizeof(row.pf));
    db_column_text(stmt, 2, row.pf_ifname, sizeof(row.pf_ifname));
    row.index = (uint16_t)sqlite3_column_int(stmt, 3);
    db_column_text(stmt, 4, row.pci_addr, sizeof(row.pci_addr));
    row.iommu_group = sqlite3_column_int(stmt, 5);
    row.iommu_isolated = sqlite3_column_int(stmt, 6) != 0;
    db_column_text(stmt, 7, row.driver, sizeof(row.driver));
    db_column_text(stmt, 8, row.mac, sizeof(row.mac));
    row.vlan = (uint16_t)sqlite3_column_int(stmt, 9);
    row.qos = (uint8_t)sqlite3_column_int(stmt, 10);
    row.vlan_proto = (uint16_t)sqlite3_column_int(stmt, 11);
    row.spoofchk = (vfp_flag_t)sqlite3_column_int(stmt, 12);
    row.trust = (vfp_flag_t)sqlite3_column_int(stmt, 13);
    row.link_state = (vfp_link_state_t)sqlite3_column_int(stmt, 14);
    row.min_tx_rate = (uint32_t)sqlite3_column_int64(stmt, 15);
    row.max_tx_rate = (uint32_t)sqlite3_column_int64(stmt, 16);
    row.settings_known = sqlite3_column_int(stmt, 17) != 0;
    row.in_use = sqlite3_column_int(stmt, 18) != 0;
    db_column_text(stmt, 19, row.note, sizeof(row.note));
    db_vf_state_parse(s_text(stmt, 20), &row.state);
    db_column_text(stmt, 21, row.vm, sizeof(row.vm));
    return ((db_vf_cb *)cb)(&row, arg);
}

int db_vfs_list(db_t *self, const db_vf_filter_t *filter, const db_page_t *page,
                db_vf_cb *cb, void *arg, db_err_t *err)
{
    /* The state filter picks the statement: each walks hosts, PFs and VFs
     * in listing order through an index that matches it. */
    bool by_state = filter && filter->by_state;
    sqlite3_stmt *stmt =
        db_stmt(self, by_state ? s_sql_vfs_list_state : s_sql_vfs_list, err);
    if (!stmt)
        return -1;
    if (filter && filter->host)
        sqlite3_bind_text(stmt, 1, filter->host, -1, SQLITE_STATIC);
    if (filter && filter->pf)
        sqlite3_bind_text(stmt, 2, filter->pf, -1, SQLITE_STATIC);
    if (by_state)
        sqlite3_bind_text(stmt, 3, db_vf_state_name(filter->state), -1,
                          SQLITE_STATIC);
    if (page && page->host) {
        sqlite3_bind_text(stmt, 4, page->host, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, page->pf ? page->pf : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 6, page->index);
    }
    s_bind_limit(stmt, 7, page);
    return db_query_rows(self, stmt, "listing VFs", s_vf_each, (void *)cb, arg,
                         err);
}

static int s_event_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_event_row_t row;
    memset(&row, 0, sizeof(row));
    row.id = sqlite3_column_int64(stmt, 0);
    row.at_ms = sqlite3_column_int64(stmt, 1);
    db_column_text(stmt, 2, row.kind, sizeof(row.kind));
    db_column_text(stmt, 3, row.host, sizeof(row.host));
    db_column_text(stmt, 4, row.message, sizeof(row.message));
    return ((db_event_cb *)cb)(&row, arg);
}

int db_events_list(db_t *self, int64_t since_ms, int64_t limit, db_event_cb *cb,
                   void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_events_list, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, since_ms);
    sqlite3_bind_int64(stmt, 2, limit > 0 ? limit : -1);
    return db_query_rows(self, stmt, "listing events", s_event_each, (void *)cb,
                         arg, err);
}

int db_events_after(db_t *self, int64_t after_id, int64_t since_ms,
                    int64_t limit, db_event_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, s_sql_events_after, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, after_id);
    sqlite3_bind_int64(stmt, 2, since_ms);
    sqlite3_bind_int64(stmt, 3, limit > 0 ? limit : -1);
    return db_query_rows(self, stmt, "listing events", s_event_each, (void *)cb,
                         arg, err);
}

/* ---- one host's inventory, as the codec's struct ---- */

static int s_inventory_facts(db_t *self, const char *name, vfp_inventory_t *out,
                             db_err_t *err)
{
    db_host_row_t row;
    if (s_host_get(self, s_sql_host_facts, name, &row, err) != 0)
        return -1;
    vfp_host_t *host = &out->host;
    out->generation = row.generation;
    snprintf(host->hostname, sizeof(host->hostname), "%s", row.name);
    snprintf(host->boot_id, sizeof(host->boot_id), "%s", row.boot_id);
    snprintf(host->kernel, sizeof(host->kernel), "%s", row.kernel);
    for (int v = VFP_VIRT_NONE; v <= VFP_VIRT_SVM; v++)
        if (!strcmp(row.cpu_virt, vfp_cpu_virt_name((vfp_cpu_virt_t)v)))
            host->cpu_virt = (vfp_cpu_virt_t)v;
    host->iommu_ready = row.iommu_ready;
    host->iommu_units = (uint16_t)row.iommu_units;
    host->iommu_groups = row.iommu_groups;
    snprintf(host->iommu_cmdline, sizeof(host->iommu_cmdline), "%s",
             row.iommu_cmdline);
    /* Stored one per line (db_ingest.c). */
    for (char *line = row.iommu_reasons, *end;
         *line && host->reason_count < VFP_REASONS_MAX;
         line = end + (*end != '\0')) {
        end = line + strcspn(line, "\n");
        snprintf(host->reasons[host->reason_count++], VFP_TEXT_MAX + 1, "%.*s",
                 (int)(end - line), line);
    }
    host->mem_total_kb = row.mem_total_kb;
    host->mem_available_kb = row.mem_available_kb;
    return 0;
}

static int s_inventory_pool(const db_hugepages_row_t *row, void *arg)
{
    vfp_host_t *host = arg;
    if (host->hugepage_count < VFP_HUGEPAGES_MAX)
        host->hugepages[host->hugepage_count++] = *row;
    return 0;
}

/* Appends one element to a malloc'd array, doubling it when full. */
static void *s_grow(void *array, uint32_t count, uint32_t *cap, size_t size)
{
    if (count < *cap)
        return array;
    *cap = *cap ? *cap * 2 : 8;
    array = realloc(array, *cap * size);
    assert(array);
    return array;
}

typedef struct {
    vfp_inventory_t *inv;
    uint32_t pf_cap, vf_cap; /* of inv->pfs and of the last PF's vfs */
} s_inventory_fill_t;

static vfp_pf_t *s_inventory_pf(sqlite3_stmt *stmt, s_inventory_fill_t *fill)
{
    vfp_inventory_t *inv = fill->inv;
    const char *addr = s_text(stmt, 0);
    if (inv->pf_count && !strcmp(inv->pfs[inv->pf_count - 1].pci_addr, addr))
        return &inv->pfs[inv->pf_count - 1];
    inv->pfs =
        s_grow(inv->pfs, inv->pf_count, &fill->pf_cap, sizeof(*inv->pfs));
    vfp_pf_t *pf = &inv->pfs[inv->pf_count++];
    memset(pf, 0, sizeof(*pf));
    fill->vf_cap = 0;
    db_column_text(stmt, 0, pf->pci_addr, sizeof(pf->pci_addr));
    db_column_text(stmt, 1, pf->ifname, sizeof(pf->ifname));
    db_column_text(stmt, 2, pf->driver, sizeof(pf->driver));
    db_column_text(stmt, 3, pf->vf_driver, sizeof(pf->vf_driver));
    pf->vendor_id = (uint16_t)sqlite3_column_int(stmt, 4);
    pf->device_id = (uint16_t)sqlite3_column_int(stmt, 5);
    pf->numa_node = (int16_t)sqlite3_column_int(stmt, 6);
    pf->link_speed = (uint32_t)sqlite3_column_int64(stmt, 7);
    pf->link_up = sqlite3_column_int(stmt, 8) != 0;
    pf->total_vfs = (uint16_t)sqlite3_column_int(stmt, 9);
    pf->num_vfs = (uint16_t)sqlite3_column_int(stmt, 10);
    db_column_text(stmt, 11, pf->note, sizeof(pf->note));
    return pf;
}

static void s_inventory_vf(sqlite3_stmt *stmt, vfp_vf_t *vf)
{
    char mac[18];
    memset(vf, 0, sizeof(*vf));
    vf->index = (uint16_t)sqlite3_column_int(stmt, 12);
    db_column_text(stmt, 13, vf->pci_addr, sizeof(vf->pci_addr));
    vf->iommu_group = sqlite3_column_int(stmt, 14);
    vf->iommu_isolated = sqlite3_column_int(stmt, 15) != 0;
    db_column_text(stmt, 16, vf->driver, sizeof(vf->driver));
    db_column_text(stmt, 17, mac, sizeof(mac));
    /* Stored by vfp_mac_format (db_ingest.c), so it parses. */
    vfp_mac_parse(mac, vf->mac);
    vf->vlan = (uint16_t)sqlite3_column_int(stmt, 18);
    vf->qos = (uint8_t)sqlite3_column_int(stmt, 19);
    vf->vlan_proto = (uint16_t)sqlite3_column_int(stmt, 20);
    vf->spoofchk = (vfp_flag_t)sqlite3_column_int(stmt, 21);
    vf->trust = (vfp_flag_t)sqlite3_column_int(stmt, 22);
    vf->link_state = (vfp_link_state_t)sqlite3_column_int(stmt, 23);
    vf->min_tx_rate = (uint32_t)sqlite3_column_int64(stmt, 24);
    vf->max_tx_rate = (uint32_t)sqlite3_column_int64(stmt, 25);
    vf->settings_known = sqlite3_column_int(stmt, 26) != 0;
    vf->in_use = sqlite3_column_int(stmt, 27) != 0;
    db_column_text(stmt, 28, vf->note, sizeof(vf->note));
}

static int s_inventory_row(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    s_inventory_fill_t *fill = arg;
    vfp_pf_t *pf = s_inventory_pf(stmt, fill);
    if (sqlite3_column_type(stmt, 12) == SQLITE_NULL)
        return 0;
    pf->vfs = s_grow(pf->vfs, pf->vf_count, &fill->vf_cap, sizeof(*pf->vfs));
    s_inventory_vf(stmt, &pf->vfs[pf->vf_count++]);
    return 0;
}

int db_host_inventory_get(db_t *self, const char *host, vfp_inventory_t *out,
                          db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (s_inventory_facts(self, host, out, err) != 0 ||
        db_host_hugepages(self, host, s_inventory_pool, &out->host, err) != 0)
        goto fail;
    sqlite3_stmt *stmt = db_stmt(self, s_sql_host_inventory, err);
    if (!stmt)
        goto fail;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    s_inventory_fill_t fill = {.inv = out};
    if (db_query_rows(self, stmt, "reading a host's inventory", s_inventory_row,
                      NULL, &fill, err) == 0)
        return 0;
fail:
    vfp_inventory_clear(out);
    return -1;
}
