/* db_ingest.c - writing what agents report: HELLO registration, full
 * inventories, deltas, liveness and the event log. */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

int db_inventory_check(const vfp_pf_t *pfs, uint32_t pf_count, db_err_t *err)
{
    for (uint32_t i = 0; i < pf_count; i++) {
        if (pfs[i].vf_count > pfs[i].num_vfs) {
            db_errorf(err, DB_ERR_INVALID,
                      "PF %s: %u VFs listed but num_vfs is %u", pfs[i].pci_addr,
                      pfs[i].vf_count, pfs[i].num_vfs);
            return -1;
        }
    }
    return 0;
}

/* Looks up a host's id, generation and report sequence. */
static int s_host_lookup(db_t *self, const char *host, int64_t *id,
                         uint64_t *generation, int64_t *report_seq,
                         db_err_t *err)
{
    static const char sql[] =
        "SELECT id, generation, report_seq FROM hosts WHERE name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
        if (generation)
            *generation = (uint64_t)sqlite3_column_int64(stmt, 1);
        if (report_seq)
            *report_seq = sqlite3_column_int64(stmt, 2);
    } else if (rc == SQLITE_DONE) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", host);
    } else {
        db_set_error(self, err, DB_ERR_IO, "looking up a host");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

int db_host_hello(db_t *self, const vfp_hello_t *hello, uint8_t proto_version,
                  int64_t now_ms, bool *was_down, db_err_t *err)
{
    static const char sql_state[] = "SELECT state FROM hosts WHERE name = ?1";
    static const char sql[] =
        "INSERT INTO hosts (name, state, first_seen, last_seen, boot_id,"
        " agent_version, proto_version)"
        " VALUES (?1, 'ready', ?2, ?2, ?3, ?4, ?5)"
        " ON CONFLICT (name) DO UPDATE SET state = 'ready',"
        " last_seen = excluded.last_seen, boot_id = excluded.boot_id,"
        " agent_version = excluded.agent_version,"
        " proto_version = excluded.proto_version";
    sqlite3_stmt *stmt = db_stmt(self, sql_state, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, hello->hostname, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    db_host_state_t state = DB_HOST_READY;
    bool down = rc == SQLITE_ROW &&
                db_host_state_parse((const char *)sqlite3_column_text(stmt, 0),
                                    &state) == 0 &&
                state == DB_HOST_DOWN;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_set_error(self, err, DB_ERR_IO, "reading a host's state");
        return -1;
    }
    if (was_down)
        *was_down = down;

    stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, hello->hostname, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    sqlite3_bind_text(stmt, 3, hello->boot_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, hello->agent_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 5, proto_version);
    return db_step_done(self, stmt, "registering a host", err);
}

/* Replaces the host's hugepage pools with the reported ones. */
static int s_host_hugepages(db_t *self, int64_t host_id, const vfp_host_t *host,
                            db_err_t *err)
{
    static const char sql_del[] = "DELETE FROM hugepages WHERE host_id = ?1";
    static const char sql_add[] =
        "INSERT INTO hugepages (host_id, size_kb, total, free)"
        " VALUES (?1, ?2, ?3, ?4)";
    sqlite3_stmt *stmt = db_stmt(self, sql_del, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    if (db_step_done(self, stmt, "clearing hugepage pools", err) != 0)
        return -1;
    for (uint32_t i = 0; i < host->hugepage_count && i < VFP_HUGEPAGES_MAX;
         i++) {
        const vfp_hugepages_t *pool = &host->hugepages[i];
        stmt = db_stmt(self, sql_add, err);
        if (!stmt)
            return -1;
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, pool->size_kb);
        sqlite3_bind_int64(stmt, 3, (int64_t)pool->total);
        sqlite3_bind_int64(stmt, 4, (int64_t)pool->free);
        if (db_step_done(self, stmt, "storing a hugepage pool", err) != 0)
            return -1;
    }
    return 0;
}

static int s_host_facts(db_t *self, int64_t host_id, const vfp_host_t *host,
                        db_err_t *err)
{
    static const char sql[] =
        "UPDATE hosts SET kernel = ?2, cpu_virt = ?3, iommu_ready = ?4,"
        " iommu_units = ?5, iommu_groups = ?6, iommu_cmdline = ?7,"
        " iommu_reasons = ?8, mem_total_kb = ?9, mem_available_kb = ?10,"
        " boot_id = CASE WHEN ?11 = '' THEN boot_id ELSE ?11 END"
        " WHERE id = ?1";
    char reasons[VFP_TEXT_MAX + 1] = "";
    size_t used = 0;
    for (uint32_t i = 0; i < host->reason_count && i < VFP_REASONS_MAX; i++) {
        int n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                         i ? "\n" : "", host->reasons[i]);
        if (n < 0 || (size_t)n >= sizeof(reasons) - used)
            break;
        used += (size_t)n;
    }
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, host->kernel, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, vfp_cpu_virt_name(host->cpu_virt), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, host->iommu_ready ? 1 : 0);
    sqlite3_bind_int64(stmt, 5, host->iommu_units);
    sqlite3_bind_int64(stmt, 6, host->iommu_groups);
    sqlite3_bind_text(stmt, 7, host->iommu_cmdline, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, reasons, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, (int64_t)host->mem_total_kb);
    sqlite3_bind_int64(stmt, 10, (int64_t)host->mem_available_kb);
    sqlite3_bind_text(stmt, 11, host->boot_id, -1, SQLITE_STATIC);
    if (db_step_done(self, stmt, "storing host facts", err) != 0)
        return -1;
    return s_host_hugepages(self, host_id, host, err);
}

static int s_vfs_retire(db_t *self, int64_t pf_id, const vfp_pf_t *pf,
                        db_err_t *err);

/* Runs the VF upsert. */
static int s_vf_store(db_t *self, const char *sql, int64_t pf_id,
                      const vfp_vf_t *vf, int64_t report_seq, db_err_t *err)
{
    char mac[18];
    vfp_mac_format(vf->mac, mac);
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, pf_id);
    sqlite3_bind_int(stmt, 2, vf->index);
    sqlite3_bind_text(stmt, 3, vf->pci_addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, vf->iommu_group);
    sqlite3_bind_int(stmt, 5, vf->iommu_isolated ? 1 : 0);
    sqlite3_bind_text(stmt, 6, vf->driver, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, mac, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 8, vf->vlan);
    sqlite3_bind_int(stmt, 9, vf->qos);
    sqlite3_bind_int(stmt, 10, vf->vlan_proto);
    sqlite3_bind_int(stmt, 11, (int)vf->spoofchk);
    sqlite3_bind_int(stmt, 12, (int)vf->trust);
    sqlite3_bind_int(stmt, 13, (int)vf->link_state);
    sqlite3_bind_int64(stmt, 14, vf->min_tx_rate);
    sqlite3_bind_int64(stmt, 15, vf->max_tx_rate);
    sqlite3_bind_int(stmt, 16, vf->settings_known ? 1 : 0);
    sqlite3_bind_int(stmt, 17, vf->in_use ? 1 : 0);
    sqlite3_bind_text(stmt, 18, vf->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 19, report_seq);
    return db_step_done(self, stmt, "storing a VF", err);
}

/* Inserts or updates the PF row itself; its id in *pf_id. */
static int s_pf_row(db_t *self, int64_t host_id, const vfp_pf_t *pf,
                    int64_t report_seq, int64_t *pf_id, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO pfs (host_id, pci_addr, ifname, driver, vf_driver,"
        " vendor_id, device_id, numa_node, link_speed, link_up, total_vfs,"
        " num_vfs, note, state, report_seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " 'present', ?14)"
        " ON CONFLICT (host_id, pci_addr) DO UPDATE SET"
        " ifname = excluded.ifname, driver = excluded.driver,"
        " vf_driver = excluded.vf_driver, vendor_id = excluded.vendor_id,"
        " device_id = excluded.device_id, numa_node = excluded.numa_node,"
        " link_speed = excluded.link_speed, link_up = excluded.link_up,"
        " total_vfs = excluded.total_vfs, num_vfs = excluded.num_vfs,"
        " note = excluded.note, state = 'present',"
        " report_seq = excluded.report_seq"
        " RETURNING id";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, pf->pci_addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, pf->ifname, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, pf->driver, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, pf->vf_driver, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 6, pf->vendor_id);
    sqlite3_bind_int(stmt, 7, pf->device_id);
    sqlite3_bind_int(stmt, 8, pf->numa_node);
    sqlite3_bind_int64(stmt, 9, pf->link_speed);
    sqlite3_bind_int(stmt, 10, pf->link_up ? 1 : 0);
    sqlite3_bind_int(stmt, 11, pf->total_vfs);
    sqlite3_bind_int(stmt, 12, pf->num_vfs);
    sqlite3_bind_text(stmt, 13, pf->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 14, report_seq);
    return db_step_returning(self, stmt, "storing a PF", pf_id, err);
}

/* Stores every VF of a PF: inserted when new, rewritten only when a
 * column differs or it was missing (then stamped with report_seq, which
 * s_vfs_returned looks for). A host re-reports the same VFs all day, and
 * the report after an APPLY changes a few of a PF's VFs: rewriting the
 * others dirtied their pages for nothing. */
static int s_pf_vfs(db_t *self, int64_t pf_id, const vfp_pf_t *pf,
                    int64_t report_seq, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO vfs (pf_id, idx, pci_addr, iommu_group, iommu_isolated,"
        " driver, mac, vlan, qos, vlan_proto, spoofchk, trust, link_state,"
        " min_tx_rate, max_tx_rate, settings_known, in_use, note, state,"
        " report_seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, 'free', ?19)"
        " ON CONFLICT (pf_id, idx) DO UPDATE SET pci_addr = ?3,"
        " iommu_group = ?4, iommu_isolated = ?5, driver = ?6, mac = ?7,"
        " vlan = ?8, qos = ?9, vlan_proto = ?10, spoofchk = ?11, trust = ?12,"
        " link_state = ?13, min_tx_rate = ?14, max_tx_rate = ?15,"
        " settings_known = ?16, in_use = ?17, note = ?18, report_seq = ?19"
        " WHERE state = 'missing' OR pci_addr IS NOT ?3"
        " OR iommu_group IS NOT ?4 OR iommu_isolated IS NOT ?5"
        " OR driver IS NOT ?6 OR mac IS NOT ?7 OR vlan IS NOT ?8"
        " OR qos IS NOT ?9 OR vlan_proto IS NOT ?10 OR spoofchk IS NOT ?11"
        " OR trust IS NOT ?12 OR link_state IS NOT ?13"
        " OR min_tx_rate IS NOT ?14 OR max_tx_rate IS NOT ?15"
        " OR settings_known IS NOT ?16 OR in_use IS NOT ?17 OR note IS NOT ?18";
    for (uint32_t i = 0; i < pf->vf_count; i++)
        if (s_vf_store(self, sql, pf_id, &pf->vfs[i], report_seq, err) != 0)
            return -1;
    return 0;
}

/* A VF that comes back after being "missing" returns to the state its
 * holder implies (reserved for a reserved VM, assigned for a placed one,
 * free without a holder); any other VF keeps the state placement gave it
 * (ingestion never frees a reserved or assigned VF). One statement per PF
 * repairs the rare return. */
static int s_vfs_returned(db_t *self, int64_t pf_id, int64_t report_seq,
                          db_err_t *err)
{
    static const char sql[] =
        "UPDATE vfs SET state = coalesce((SELECT CASE WHEN vms.state ="
        " 'reserved' THEN 'reserved' ELSE 'assigned' END"
        " FROM vm_nics JOIN vms ON vms.id = vm_nics.vm_id"
        " WHERE vm_nics.vf_id = vfs.id), 'free')"
        " WHERE pf_id = ?1 AND state = 'missing' AND report_seq = ?2";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, pf_id);
    sqlite3_bind_int64(stmt, 2, report_seq);
    return db_step_done(self, stmt, "restoring returned VFs", err);
}

/* Stores one PF, stamped with report_seq, and its VFs, then retires the
 * PF's VFs that this report no longer lists. */
static int s_pf_store(db_t *self, int64_t host_id, const vfp_pf_t *pf,
                      int64_t report_seq, db_err_t *err)
{
    int64_t pf_id;
    if (s_pf_row(self, host_id, pf, report_seq, &pf_id, err) != 0 ||
        s_pf_vfs(self, pf_id, pf, report_seq, err) != 0 ||
        s_vfs_returned(self, pf_id, report_seq, err) != 0)
        return -1;
    return s_vfs_retire(self, pf_id, pf, err);
}

/* The PF's stored VFs whose index the report does not list, by id, into
 * ids[VFP_VFS_MAX]; how many, or -1. */
static int s_vfs_unlisted(db_t *self, int64_t pf_id, const vfp_pf_t *pf,
                          int64_t *ids, db_err_t *err)
{
    static const char sql[] = "SELECT idx, id FROM vfs WHERE pf_id = ?1";
    uint8_t listed[(UINT16_MAX + 1) / 8] = {0};
    for (uint32_t i = 0; i < pf->vf_count; i++)
        listed[pf->vfs[i].index / 8] |= (uint8_t)(1u << (pf->vfs[i].index % 8));
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, pf_id);
    int count = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && count < VFP_VFS_MAX) {
        int64_t idx = sqlite3_column_int64(stmt, 0);
        bool known = idx >= 0 && idx <= UINT16_MAX &&
                     (listed[idx / 8] & (1u << (idx % 8)));
        if (!known)
            ids[count++] = sqlite3_column_int64(stmt, 1);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_set_error(self, err, DB_ERR_IO, "listing a PF's VFs");
        count = -1;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return count;
}

/* VFs of a PF the report does not list vanished: a VM NIC's VF turns
 * "missing", every other one is deleted. */
static int s_vfs_retire(db_t *self, int64_t pf_id, const vfp_pf_t *pf,
                        db_err_t *err)
{
    static const char sql_missing[] =
        "UPDATE vfs SET state = 'missing' WHERE id = ?1 AND state <> 'missing'"
        " AND EXISTS (SELECT 1 FROM vm_nics WHERE vm_nics.vf_id = vfs.id)";
    static const char sql_delete[] =
        "DELETE FROM vfs WHERE id = ?1"
        " AND NOT EXISTS (SELECT 1 FROM vm_nics WHERE vm_nics.vf_id = vfs.id)";
    int64_t ids[VFP_VFS_MAX];
    int count = s_vfs_unlisted(self, pf_id, pf, ids, err);
    if (count < 0)
        return -1;
    const char *sqls[] = {sql_missing, sql_delete};
    for (int v = 0; v < count; v++) {
        for (size_t i = 0; i < 2; i++) {
            sqlite3_stmt *stmt = db_stmt(self, sqls[i], err);
            if (!stmt)
                return -1;
            sqlite3_bind_int64(stmt, 1, ids[v]);
            if (db_step_done(self, stmt, "retiring vanished VFs", err) != 0)
                return -1;
        }
    }
    return 0;
}

/* Retires the host's PFs not stamped with report_seq (all of them when
 * pci_addr is NULL), or only the PF at pci_addr: their VFs are retired, and
 * a PF left with no VF is deleted, else marked "missing". */
static int s_pfs_retire(db_t *self, int64_t host_id, const char *pci_addr,
                        int64_t report_seq, db_err_t *err)
{
    static const char sql_vfs[] =
        "SELECT id FROM pfs WHERE host_id = ?1 AND report_seq <> ?2"
        " AND (?3 IS NULL OR pci_addr = ?3)";
    static const char sql_missing[] =
        "UPDATE pfs SET state = 'missing' WHERE host_id = ?1"
        " AND report_seq <> ?2 AND (?3 IS NULL OR pci_addr = ?3)"
        " AND EXISTS (SELECT 1 FROM vfs WHERE vfs.pf_id = pfs.id)";
    static const char sql_delete[] =
        "DELETE FROM pfs WHERE host_id = ?1 AND report_seq <> ?2"
        " AND (?3 IS NULL OR pci_addr = ?3)"
        " AND NOT EXISTS (SELECT 1 FROM vfs WHERE vfs.pf_id = pfs.id)";

    sqlite3_stmt *stmt = db_stmt(self, sql_vfs, err);
    if (!stmt)
        return -1;
    /* Collect first: retiring VFs while stepping over pfs is safe in
     * SQLite, but a plain list keeps the statement cache reentrancy-free. */
    int64_t ids[VFP_PFS_MAX * 2];
    size_t count = 0;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, report_seq);
    if (pci_addr)
        sqlite3_bind_text(stmt, 3, pci_addr, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
           count < sizeof(ids) / sizeof(ids[0]))
        ids[count++] = sqlite3_column_int64(stmt, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_set_error(self, err, DB_ERR_IO, "listing vanished PFs");
        sqlite3_reset(stmt);
        return -1;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    /* A PF that lists no VF: every VF goes. */
    static const vfp_pf_t none;
    for (size_t i = 0; i < count; i++) {
        if (s_vfs_retire(self, ids[i], &none, err) != 0)
            return -1;
    }
    const char *sqls[] = {sql_missing, sql_delete};
    for (size_t i = 0; i < 2; i++) {
        stmt = db_stmt(self, sqls[i], err);
        if (!stmt)
            return -1;
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, report_seq);
        if (pci_addr)
            sqlite3_bind_text(stmt, 3, pci_addr, -1, SQLITE_STATIC);
        if (db_step_done(self, stmt, "retiring vanished PFs", err) != 0)
            return -1;
    }
    return 0;
}

/* Stamps the host with a new report sequence and generation. */
static int s_host_report(db_t *self, int64_t host_id, uint64_t generation,
                         int64_t now_ms, int64_t *report_seq, db_err_t *err)
{
    static const char sql[] =
        "UPDATE hosts SET generation = ?2, last_seen = ?3,"
        " report_seq = report_seq + 1 WHERE id = ?1 RETURNING report_seq";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)generation);
    sqlite3_bind_int64(stmt, 3, now_ms);
    return db_step_returning(self, stmt, "stamping a host report", report_seq,
                             err);
}

/* A count the database stores as a signed 64-bit integer. */
static bool s_storable(uint64_t value, const char *what, db_err_t *err)
{
    if (value <= INT64_MAX)
        return true;
    db_errorf(err, DB_ERR_INVALID, "%s %llu is beyond 2^63-1", what,
              (unsigned long long)value);
    return false;
}

/* The generation and host facts (NULL: none) fit the database, and no
 * hugepage pool has more free pages than pages. */
static int s_facts_check(uint64_t generation, const vfp_host_t *facts,
                         db_err_t *err)
{
    if (!s_storable(generation, "generation", err))
        return -1;
    if (!facts)
        return 0;
    if (!s_storable(facts->mem_total_kb, "mem_total_kb", err) ||
        !s_storable(facts->mem_available_kb, "mem_available_kb", err))
        return -1;
    for (uint32_t i = 0; i < facts->hugepage_count; i++) {
        const vfp_hugepages_t *hp = &facts->hugepages[i];
        if (!s_storable(hp->total, "hugepages total", err))
            return -1;
        if (hp->free > hp->total) {
            db_errorf(err, DB_ERR_INVALID,
                      "hugepages %u kB: free %llu is above total %llu",
                      hp->size_kb, (unsigned long long)hp->free,
                      (unsigned long long)hp->total);
            return -1;
        }
    }
    return 0;
}

/* A report's PFs are valid and the host it names, if any, is the
 * session's: what ("inventory", "delta") names it in the error. */
static int s_report_check(const vfp_pf_t *pfs, uint32_t pf_count,
                          const char *what, const char *named, const char *host,
                          db_err_t *err)
{
    if (db_inventory_check(pfs, pf_count, err) != 0)
        return -1;
    if (named && strcmp(named, host) != 0) {
        db_errorf(err, DB_ERR_INVALID,
                  "%s is for host \"%s\" but the session is \"%s\"", what,
                  named, host);
        return -1;
    }
    return 0;
}

static int s_pfs_store(db_t *self, int64_t host_id, const vfp_pf_t *pfs,
                       uint32_t pf_count, int64_t report_seq, db_err_t *err)
{
    for (uint32_t i = 0; i < pf_count; i++) {
        if (s_pf_store(self, host_id, &pfs[i], report_seq, err) != 0)
            return -1;
    }
    return 0;
}

int db_inventory_replace(db_t *self, const char *host,
                         const vfp_inventory_t *inv, int64_t now_ms,
                         db_err_t *err)
{
    if (s_report_check(inv->pfs, inv->pf_count, "inventory", inv->host.hostname,
                       host, err) != 0 ||
        s_facts_check(inv->generation, &inv->host, err) != 0 ||
        db_begin(self, err) != 0)
        return -1;
    int64_t host_id, report_seq = 0;
    if (s_host_lookup(self, host, &host_id, NULL, NULL, err) != 0 ||
        s_host_report(self, host_id, inv->generation, now_ms, &report_seq,
                      err) != 0 ||
        s_host_facts(self, host_id, &inv->host, err) != 0)
        goto fail;
    if (s_pfs_store(self, host_id, inv->pfs, inv->pf_count, report_seq, err) !=
            0 ||
        s_pfs_retire(self, host_id, NULL, report_seq, err) != 0)
        goto fail;
    return db_commit(self, err);
fail:
    db_rollback(self);
    return -1;
}

int db_inventory_apply_delta(db_t *self, const char *host,
                             const vfp_inventory_delta_t *delta, int64_t now_ms,
                             db_err_t *err)
{
    if (s_report_check(delta->pfs, delta->pf_count, "delta",
                       delta->has_host ? delta->host.hostname : NULL, host,
                       err) != 0 ||
        s_facts_check(delta->generation, delta->has_host ? &delta->host : NULL,
                      err) != 0 ||
        db_begin(self, err) != 0)
        return -1;
    int64_t host_id, report_seq = 0;
    uint64_t generation = 0;
    if (s_host_lookup(self, host, &host_id, &generation, NULL, err) != 0)
        goto fail;
    if (generation != delta->base_generation) {
        db_errorf(err, DB_ERR_RESYNC,
                  "delta base generation %llu is not the stored generation "
                  "%llu",
                  (unsigned long long)delta->base_generation,
                  (unsigned long long)generation);
        goto fail;
    }
    if (s_host_report(self, host_id, delta->generation, now_ms, &report_seq,
                      err) != 0 ||
        (delta->has_host &&
         s_host_facts(self, host_id, &delta->host, err) != 0))
        goto fail;
    if (s_pfs_store(self, host_id, delta->pfs, delta->pf_count, report_seq,
                    err) != 0)
        goto fail;
    for (uint32_t i = 0; i < delta->removed_count; i++) {
        if (s_pfs_retire(self, host_id, delta->removed[i], report_seq, err) !=
            0)
            goto fail;
    }
    return db_commit(self, err);
fail:
    db_rollback(self);
    return -1;
}

int db_hosts_touch(db_t *self, const char *const *hosts,
                   const int64_t *times_ms, size_t count, db_err_t *err)
{
    static const char sql[] = "UPDATE hosts SET last_seen = ?2"
                              " WHERE name = ?1 AND last_seen < ?2";
    if (count == 0)
        return 0;
    if (db_begin(self, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        sqlite3_stmt *stmt = db_stmt(self, sql, err);
        if (!stmt)
            goto fail;
        sqlite3_bind_text(stmt, 1, hosts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, times_ms[i]);
        if (db_step_done(self, stmt, "storing last_seen", err) != 0)
            goto fail;
    }
    return db_commit(self, err);
fail:
    db_rollback(self);
    return -1;
}

int db_host_set_state(db_t *self, const char *host, db_host_state_t state,
                      db_err_t *err)
{
    static const char sql[] = "UPDATE hosts SET state = ?2 WHERE name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    const char *name = db_host_state_name(state);
    assert(name);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    if (db_step_done(self, stmt, "setting a host's state", err) != 0)
        return -1;
    if (sqlite3_changes(self->sql) == 0) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", host);
        return -1;
    }
    return 0;
}

/* Event ids are rowids handed out as max(id) + 1 and only the oldest are
 * ever deleted, so "not among the newest max_count" is the rowid range
 * below max(id) - max_count + 1: a walk of the rows it deletes, where
 * counting the table would walk all of it on every call. */
static const char s_event_by_count[] =
    "DELETE FROM events WHERE id IN (SELECT id FROM events"
    " WHERE id <= (SELECT max(id) FROM events) - ?1 ORDER BY id LIMIT ?2)";

/* Deletes up to `limit` events chosen by sql (?1 the bound, ?2 the limit). */
static int64_t s_event_delete(db_t *self, const char *sql, int64_t bound,
                              int64_t limit, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, bound);
    sqlite3_bind_int64(stmt, 2, limit);
    if (db_step_done(self, stmt, "trimming the event log", err) != 0)
        return -1;
    return sqlite3_changes(self->sql);
}

int db_event_add(db_t *self, int64_t now_ms, const char *kind, const char *host,
                 const char *message, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO events (at, kind, host, message) VALUES (?1, ?2, ?3, ?4)";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    if (host)
        sqlite3_bind_text(stmt, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, message, -1, SQLITE_STATIC);
    if (db_step_done(self, stmt, "recording an event", err) != 0)
        return -1;
    int64_t id = sqlite3_last_insert_rowid(self->sql);
    if (self->event_max_count <= 0 || id % DB_EVENT_TRIM_EVERY != 0)
        return 0;
    return s_event_delete(self, s_event_by_count, self->event_max_count,
                          2 * DB_EVENT_TRIM_EVERY, err) < 0
               ? -1
               : 0;
}

void db_event_limit(db_t *self, int64_t max_count)
{
    self->event_max_count = max_count > 0 ? max_count : 0;
}

int db_event_trim(db_t *self, int64_t before_ms, int64_t max_count, int batch,
                  db_err_t *err)
{
    /* By age through events_at, oldest first: stops at the first event
     * young enough to keep. */
    static const char by_age[] =
        "DELETE FROM events WHERE id IN (SELECT id FROM events"
        " WHERE at < ?1 ORDER BY at LIMIT ?2)";
    int64_t counted =
        s_event_delete(self, s_event_by_count, max_count, batch, err);
    if (counted < 0)
        return -1;
    if (counted == batch)
        return (int)counted;
    int64_t aged =
        s_event_delete(self, by_age, before_ms, batch - counted, err);
    return aged < 0 ? -1 : (int)(counted + aged);
}
