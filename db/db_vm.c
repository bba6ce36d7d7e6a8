/* db_vm.c - VMs as placement stores them: reservations on VFs, their
 * confirmation or failure, power, deletion, and the VM listings. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

static const char *const s_vm_states[DB_VM_STATE_COUNT] = {"reserved", "placed",
                                                           "failed"};
static const char *const s_vm_powers[DB_VM_POWER_COUNT] = {"unknown", "on",
                                                           "off"};
/* The NUMA preferences vms.numa's CHECK lists. */
static const char *const s_numa_names[] = {"none", "preferred", "required"};
#define S_NUMA_COUNT ((int)(sizeof(s_numa_names) / sizeof(s_numa_names[0])))

const char *db_vm_state_name(db_vm_state_t state)
{
    return (unsigned)state < DB_VM_STATE_COUNT ? s_vm_states[state] : NULL;
}

int db_vm_state_parse(const char *name, db_vm_state_t *state)
{
    int i = db_name_find(s_vm_states, DB_VM_STATE_COUNT, name);
    if (i >= 0)
        *state = (db_vm_state_t)i;
    return i >= 0 ? 0 : -1;
}

const char *db_vm_power_name(db_vm_power_t power)
{
    return (unsigned)power < DB_VM_POWER_COUNT ? s_vm_powers[power] : NULL;
}

int db_vm_power_parse(const char *name, db_vm_power_t *power)
{
    int i = db_name_find(s_vm_powers, DB_VM_POWER_COUNT, name);
    if (i >= 0)
        *power = (db_vm_power_t)i;
    return i >= 0 ? 0 : -1;
}

/* ---- read statements ------------------------------------------------- */

/* A VM with its NICs is one row per NIC (one row with NULL NIC columns
 * for a VM without NICs), VMs by name and each VM's NICs by index: the
 * name index walked in order, each VM's NICs through UNIQUE (vm_id, idx),
 * VFs and PFs by rowid. A page stops reading after its last VM instead of
 * a LIMIT, which would count NIC rows. */
#define S_VM_COLUMNS                                                           \
    "SELECT m.id, m.name, m.memory_mib, m.vcpus, h.name, m.grp, m.numa,"       \
    " m.separate_pfs, m.pin, m.state, m.power, m.apply_revision, m.error,"     \
    " m.created_at, m.placed_at, coalesce(h.state = 'down', 0),"               \
    " n.idx, n.network, n.mac, p.pci_addr, p.ifname, v.idx, v.pci_addr"
#define S_VM_NICS                                                              \
    " LEFT JOIN vm_nics n ON n.vm_id = m.id"                                   \
    " LEFT JOIN vfs v ON v.id = n.vf_id LEFT JOIN pfs p ON p.id = v.pf_id"
/* ?1 the cursor, ?2 a state (its VMs on a host that is not down), ?3 set:
 * only VMs on a down host. The state filters are checked on each VM
 * walked (no index on state to keep up on every placement), so a filtered
 * page may walk past VMs it does not return. Names are unique, so memory_mib
 * and id change nothing in the order; they are there because vms_host (host_id,
 * name, memory_mib) then gives the whole order: by name alone SQLite cannot
 * tell that the index holds each name once and sorts every VM's NICs. */
#define S_VM_FILTER                                                            \
    " AND m.name > coalesce(?1, '')"                                           \
    " AND (?2 IS NULL OR (m.state = ?2 AND h.state IS NOT 'down'))"            \
    " AND (?3 IS NULL OR h.state = 'down')"                                    \
    " ORDER BY m.name, m.memory_mib, m.id, n.idx"

const char db_sql_vm_get[] =
    S_VM_COLUMNS " FROM vms m LEFT JOIN hosts h ON h.id = m.host_id" S_VM_NICS
                 " WHERE m.name = ?1 ORDER BY n.idx";

const char db_sql_vms_list[] =
    S_VM_COLUMNS " FROM vms m LEFT JOIN hosts h ON h.id = m.host_id" S_VM_NICS
                 " WHERE 1" S_VM_FILTER;

/* One host's VMs: vms_host (host_id, name) walks them in name order. */
const char db_sql_vms_list_host[] =
    S_VM_COLUMNS " FROM hosts h CROSS JOIN vms m ON m.host_id = h.id" S_VM_NICS
                 " WHERE h.name = ?4" S_VM_FILTER;

/* A reservation's VF, by the host's PF address and the VF index: the PF
 * (NULL VF columns when it lacks that VF), or no row when the host has no
 * such PF. */
const char db_sql_vm_vf_lookup[] =
    "SELECT p.id, v.id, v.state FROM pfs p"
    " LEFT JOIN vfs v ON v.pf_id = p.id AND v.idx = ?3"
    " WHERE p.host_id = ?1 AND p.pci_addr = ?2";

/* ---- reading rows ---------------------------------------------------- */

/* Walks a listing's rows into VMs: the VM being filled, how many VMs were
 * handed out, and whether the page is complete. */
typedef struct {
    db_vm_cb *cb;
    void *arg;
    int64_t limit; /* VMs; 0: all */
    int64_t count;
    bool have;
    int64_t id;
    bool full;
    db_vm_t vm;
} s_walk_t;

static void s_vm_read(sqlite3_stmt *stmt, db_vm_t *vm)
{
    memset(vm, 0, sizeof(*vm));
    db_column_text(stmt, 1, vm->name, sizeof(vm->name));
    vm->memory_mib = (uint64_t)sqlite3_column_int64(stmt, 2);
    vm->vcpus = (uint32_t)sqlite3_column_int64(stmt, 3);
    db_column_text(stmt, 4, vm->host, sizeof(vm->host));
    db_column_text(stmt, 5, vm->group, sizeof(vm->group));
    db_column_text(stmt, 6, vm->numa, sizeof(vm->numa));
    vm->separate_pfs = sqlite3_column_int(stmt, 7) != 0;
    db_column_text(stmt, 8, vm->pin, sizeof(vm->pin));
    /* The schema's CHECKs hold these to the names parsed here. */
    db_vm_state_parse((const char *)sqlite3_column_text(stmt, 9), &vm->state);
    db_vm_power_parse((const char *)sqlite3_column_text(stmt, 10), &vm->power);
    vm->apply_revision = (uint64_t)sqlite3_column_int64(stmt, 11);
    db_column_text(stmt, 12, vm->error, sizeof(vm->error));
    vm->created_at_ms = sqlite3_column_int64(stmt, 13);
    vm->placed_at_ms = sqlite3_column_int64(stmt, 14);
    vm->host_down = sqlite3_column_int(stmt, 15) != 0;
}

static void s_nic_read(sqlite3_stmt *stmt, db_vm_t *vm)
{
    if (sqlite3_column_type(stmt, 16) == SQLITE_NULL ||
        vm->nic_count >= DB_VM_NICS_MAX)
        return;
    db_vm_nic_t *nic = &vm->nics[vm->nic_count++];
    db_column_text(stmt, 17, nic->network, sizeof(nic->network));
    const char *mac = (const char *)sqlite3_column_text(stmt, 18);
    if (!mac || vfp_mac_parse(mac, nic->mac) != 0)
        memset(nic->mac, 0, sizeof(nic->mac));
    db_column_text(stmt, 19, nic->pf, sizeof(nic->pf));
    db_column_text(stmt, 20, nic->pf_ifname, sizeof(nic->pf_ifname));
    nic->vf = (uint16_t)sqlite3_column_int(stmt, 21);
    db_column_text(stmt, 22, nic->vf_pci, sizeof(nic->vf_pci));
}

/* Hands the VM filled so far to the callback. */
static int s_walk_emit(s_walk_t *walk)
{
    walk->have = false;
    walk->count++;
    return walk->cb(&walk->vm, walk->arg) != 0 ? -1 : 0;
}

static int s_walk_row(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    s_walk_t *walk = arg;
    int64_t id = sqlite3_column_int64(stmt, 0);
    if (!walk->have || id != walk->id) {
        if (walk->have && s_walk_emit(walk) != 0)
            return -1;
        if (walk->limit > 0 && walk->count == walk->limit) {
            walk->full = true;
            return -1;
        }
        s_vm_read(stmt, &walk->vm);
        walk->have = true;
        walk->id = id;
    }
    s_nic_read(stmt, &walk->vm);
    return 0;
}

/* Runs a bound VM statement through walk: 0 when every VM (or a full
 * page) was handed out, -1 with DB_OK when the callback stopped it. */
static int s_walk(db_t *self, sqlite3_stmt *stmt, s_walk_t *walk, db_err_t *err)
{
    if (db_query_rows(self, stmt, "listing VMs", s_walk_row, NULL, walk, err) !=
        0)
        return walk->full ? 0 : -1;
    if (walk->have && s_walk_emit(walk) != 0)
        return -1;
    return 0;
}

static int s_vm_copy(const db_vm_t *vm, void *arg)
{
    *(db_vm_t *)arg = *vm;
    return 0;
}

int db_vm_get(db_t *self, const char *name, db_vm_t *out, db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = db_stmt(self, db_sql_vm_get, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    s_walk_t *walk = &(s_walk_t){.cb = s_vm_copy, .arg = out};
    if (s_walk(self, stmt, walk, err) != 0)
        return -1;
    if (walk->count == 0) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no vm named \"%s\"", name);
        return -1;
    }
    return 0;
}

int db_vms_list(db_t *self, const db_vm_filter_t *filter, const db_page_t *page,
                db_vm_cb *cb, void *arg, db_err_t *err)
{
    bool by_host = filter && filter->host;
    sqlite3_stmt *stmt =
        db_stmt(self, by_host ? db_sql_vms_list_host : db_sql_vms_list, err);
    if (!stmt)
        return -1;
    if (page && page->host)
        sqlite3_bind_text(stmt, 1, page->host, -1, SQLITE_STATIC);
    if (filter && filter->by_state) {
        const char *state = db_vm_state_name(filter->state);
        assert(state);
        sqlite3_bind_text(stmt, 2, state, -1, SQLITE_STATIC);
    }
    if (filter && filter->host_down)
        sqlite3_bind_int(stmt, 3, 1);
    if (by_host)
        sqlite3_bind_text(stmt, 4, filter->host, -1, SQLITE_STATIC);
    s_walk_t *walk =
        &(s_walk_t){.cb = cb, .arg = arg, .limit = page ? page->limit : 0};
    return s_walk(self, stmt, walk, err);
}

/* ---- shared write steps ---------------------------------------------- */

/* The extended code of the connection's last error when it is a broken
 * constraint, else 0. */
static int s_constraint(db_t *self)
{
    int code = sqlite3_extended_errcode(self->sql);
    return (code & 0xff) == SQLITE_CONSTRAINT ? code : 0;
}

/* A VM's id and (state may be NULL) state; DB_ERR_NOT_FOUND when
 * unknown. */
static int s_vm_find(db_t *self, const char *name, int64_t *id,
                     db_vm_state_t *state, db_err_t *err)
{
    static const char sql[] = "SELECT id, state FROM vms WHERE name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
        if (state)
            db_vm_state_parse((const char *)sqlite3_column_text(stmt, 1),
                              state);
    } else if (rc == SQLITE_DONE) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no vm named \"%s\"", name);
    } else {
        db_set_error(self, err, DB_ERR_IO, "looking up a VM");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Moves the VM's VFs in state from (or also from2; DB_VF_STATE_COUNT:
 * none) to state to. VFs in other states (missing, broken) keep theirs. */
static int s_vfs_move(db_t *self, int64_t vm_id, db_vf_state_t to,
                      db_vf_state_t from, db_vf_state_t from2, db_err_t *err)
{
    static const char sql[] =
        "UPDATE vfs SET state = ?2"
        " WHERE id IN (SELECT vf_id FROM vm_nics WHERE vm_id = ?1)"
        " AND (+state = ?3 OR +state = ?4)";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, vm_id);
    sqlite3_bind_text(stmt, 2, db_vf_state_name(to), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, db_vf_state_name(from), -1, SQLITE_STATIC);
    if (from2 != DB_VF_STATE_COUNT)
        sqlite3_bind_text(stmt, 4, db_vf_state_name(from2), -1, SQLITE_STATIC);
    return db_step_done(self, stmt, "setting a VM's VF states", err);
}

/* ---- reservation ----------------------------------------------------- */

/* A limit's value in a string literal. */
#define S_STR(x) S_STR_(x)
#define S_STR_(x) #x

/* The reservation's own rules, before anything is read or written. */
static int s_reserve_check(const db_vm_t *vm, db_err_t *err)
{
    size_t len = strnlen(vm->name, sizeof(vm->name));
    const char *why = NULL;
    if (len == 0 || len > DB_VM_NAME_MAX)
        why = "a name of 1 to " S_STR(DB_VM_NAME_MAX) " bytes";
    else if (vm->memory_mib == 0 || vm->memory_mib > INT64_MAX)
        why = "memory_mib above 0";
    else if (vm->vcpus == 0)
        why = "vcpus above 0";
    else if (vm->nic_count > DB_VM_NICS_MAX)
        why = "at most " S_STR(DB_VM_NICS_MAX) " NICs";
    else if (!vm->host[0])
        why = "a host";
    else if (vm->numa[0] &&
             db_name_find(s_numa_names, S_NUMA_COUNT, vm->numa) < 0)
        why = "numa none, preferred or required";
    else if (db_vm_power_name(vm->power) == NULL)
        why = "a power state";
    else if (vm->apply_revision > INT64_MAX)
        why = "an apply revision below 2^63";
    for (uint32_t i = 0; !why && i < vm->nic_count; i++) {
        if (!vm->nics[i].network[0])
            why = "a network for every NIC";
        else if (!vm->nics[i].pf[0])
            why = "a pf for every NIC";
    }
    if (why) {
        db_errorf(err, DB_ERR_INVALID, "vm %.*s: a reservation needs %s",
                  DB_VM_NAME_MAX, vm->name, why);
        return -1;
    }
    return 0;
}

static int s_host_id(db_t *self, const db_vm_t *vm, int64_t *host_id,
                     db_err_t *err)
{
    static const char sql[] = "SELECT id FROM hosts WHERE name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, vm->host, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *host_id = sqlite3_column_int64(stmt, 0);
    else if (rc == SQLITE_DONE)
        db_errorf(err, DB_ERR_NOT_FOUND, "vm %s: no host named \"%s\"",
                  vm->name, vm->host);
    else
        db_set_error(self, err, DB_ERR_IO, "looking up a host");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Why the memory trigger refused the VM, with the host's figures. */
static void s_memory_refusal(db_t *self, const db_vm_t *vm, int64_t host_id,
                             db_err_t *err)
{
    static const char sql[] =
        "SELECT mem_total_kb / 1024, (SELECT coalesce(sum(memory_mib), 0)"
        " FROM vms WHERE host_id = ?1) FROM hosts WHERE id = ?1";
    long long total = 0, held = 0;
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, host_id);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            total = sqlite3_column_int64(stmt, 0);
            held = sqlite3_column_int64(stmt, 1);
        }
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
    db_errorf(err, DB_ERR_INVALID,
              "vm %s: %llu MiB more would exceed the memory of host %s "
              "(%lld of %lld MiB held by its VMs)",
              vm->name, (unsigned long long)vm->memory_mib, vm->host, held,
              total);
}

static int s_vm_insert(db_t *self, const db_vm_t *vm, int64_t host_id,
                       int64_t now_ms, int64_t *vm_id, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO vms (name, memory_mib, vcpus, host_id, grp, numa,"
        " separate_pfs, pin, state, power, apply_revision, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'reserved', ?9, ?10, ?11)";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, vm->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)vm->memory_mib);
    sqlite3_bind_int64(stmt, 3, vm->vcpus);
    sqlite3_bind_int64(stmt, 4, host_id);
    sqlite3_bind_text(stmt, 5, vm->group, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, vm->numa[0] ? vm->numa : "none", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(stmt, 7, vm->separate_pfs ? 1 : 0);
    sqlite3_bind_text(stmt, 8, vm->pin, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 9, db_vm_power_name(vm->power), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 10, (int64_t)vm->apply_revision);
    sqlite3_bind_int64(stmt, 11, now_ms);
    /* The rowid rather than RETURNING, which costs a temporary table per
     * statement; the memory trigger inserts nothing, so it is the VM's. */
    if (db_step_done(self, stmt, "storing a VM", err) == 0) {
        *vm_id = sqlite3_last_insert_rowid(self->sql);
        return 0;
    }
    int code = s_constraint(self);
    if (code == SQLITE_CONSTRAINT_UNIQUE)
        db_errorf(err, DB_ERR_EXISTS, "vm %s exists", vm->name);
    else if (code == SQLITE_CONSTRAINT_TRIGGER)
        s_memory_refusal(self, vm, host_id, err);
    else if (code)
        db_errorf(err, DB_ERR_INVALID, "vm %s: %s", vm->name,
                  sqlite3_errmsg(self->sql));
    return -1;
}

/* The name of the VM holding a VF (by id) or a MAC (by text), "" when
 * none does: for refusal texts only. */
static void s_holder(db_t *self, int64_t vf_id, const char *mac,
                     char name[DB_VM_NAME_MAX + 1], db_err_t *err)
{
    static const char sql_vf[] =
        "SELECT m.name FROM vm_nics n JOIN vms m ON m.id = n.vm_id"
        " WHERE n.vf_id = ?1";
    static const char sql_mac[] =
        "SELECT m.name FROM vm_nics n JOIN vms m ON m.id = n.vm_id"
        " WHERE n.mac = ?1";
    name[0] = '\0';
    sqlite3_stmt *stmt = db_stmt(self, mac ? sql_mac : sql_vf, err);
    if (!stmt)
        return;
    if (mac)
        sqlite3_bind_text(stmt, 1, mac, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(stmt, 1, vf_id);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        db_column_text(stmt, 0, name, DB_VM_NAME_MAX + 1);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Why a NIC cannot take its VF (vf_id, in state `state`) or its MAC (mac
 * set): held by another VM, by this one through another NIC, or a VF that
 * is simply not free. */
static void s_nic_refusal(db_t *self, const db_vm_t *vm, uint32_t i,
                          int64_t vf_id, const char *state, const char *mac,
                          db_err_t *err)
{
    const db_vm_nic_t *nic = &vm->nics[i];
    char what[VFP_PCI_ADDR_MAX + 32];
    if (mac)
        snprintf(what, sizeof(what), "mac %s", mac);
    else
        snprintf(what, sizeof(what), "pf %s vf %u", nic->pf, nic->vf);
    char holder[DB_VM_NAME_MAX + 1];
    s_holder(self, vf_id, mac, holder, err);
    if (strcmp(holder, vm->name) == 0)
        db_errorf(err, DB_ERR_INVALID,
                  "vm %s: nic %u repeats %s of another nic", vm->name, i, what);
    else if (holder[0])
        db_errorf(err, DB_ERR_EXISTS, "vm %s: %s is held by vm %s", vm->name,
                  what, holder);
    else
        db_errorf(err, DB_ERR_INVALID, "vm %s: %s is %s, not free", vm->name,
                  what, state ? state : "taken");
}

/* Finds the NIC's VF on the host: its id and state. */
static int s_vf_find(db_t *self, const db_vm_t *vm, uint32_t i, int64_t host_id,
                     int64_t *vf_id, char state[16], db_err_t *err)
{
    const db_vm_nic_t *nic = &vm->nics[i];
    sqlite3_stmt *stmt = db_stmt(self, db_sql_vm_vf_lookup, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, nic->pf, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, nic->vf);
    int rc = sqlite3_step(stmt);
    bool has_vf =
        rc == SQLITE_ROW && sqlite3_column_type(stmt, 1) != SQLITE_NULL;
    if (has_vf) {
        *vf_id = sqlite3_column_int64(stmt, 1);
        db_column_text(stmt, 2, state, 16);
    } else if (rc == SQLITE_ROW) {
        db_errorf(err, DB_ERR_NOT_FOUND, "vm %s: host %s pf %s has no vf %u",
                  vm->name, vm->host, nic->pf, nic->vf);
    } else if (rc == SQLITE_DONE) {
        db_errorf(err, DB_ERR_NOT_FOUND, "vm %s: host %s has no pf %s",
                  vm->name, vm->host, nic->pf);
    } else {
        db_set_error(self, err, DB_ERR_IO, "looking up a VF");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return has_vf ? 0 : -1;
}

/* Reserves NIC i's VF, found free by s_nic_insert: by its rowid, not
 * through the VM's NICs. */
static int s_vf_reserve(db_t *self, int64_t vf_id, db_err_t *err)
{
    static const char sql[] =
        "UPDATE vfs SET state = 'reserved' WHERE id = ?1 AND state = 'free'";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, vf_id);
    return db_step_done(self, stmt, "reserving a VF", err);
}

/* Stores NIC i on its VF and reserves the VF. A VF not free is refused
 * before the insert; the schema refuses it again, and a MAC or VF already
 * held, on insert. */
static int s_nic_insert(db_t *self, const db_vm_t *vm, uint32_t i,
                        int64_t host_id, int64_t vm_id, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac)"
        " VALUES (?1, ?2, ?3, ?4, ?5)";
    const db_vm_nic_t *nic = &vm->nics[i];
    int64_t vf_id = 0;
    char state[16] = "";
    if (s_vf_find(self, vm, i, host_id, &vf_id, state, err) != 0)
        return -1;
    if (strcmp(state, db_vf_state_name(DB_VF_FREE)) != 0) {
        s_nic_refusal(self, vm, i, vf_id, state, NULL, err);
        return -1;
    }
    char mac[18];
    vfp_mac_format(nic->mac, mac);
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, vm_id);
    sqlite3_bind_int64(stmt, 2, i);
    sqlite3_bind_text(stmt, 3, nic->network, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, vf_id);
    sqlite3_bind_text(stmt, 5, mac, -1, SQLITE_STATIC);
    if (db_step_done(self, stmt, "storing a VM NIC", err) == 0)
        return s_vf_reserve(self, vf_id, err);
    int code = s_constraint(self);
    const char *msg = sqlite3_errmsg(self->sql);
    if (code == SQLITE_CONSTRAINT_UNIQUE && strstr(msg, "vm_nics.mac"))
        s_nic_refusal(self, vm, i, 0, NULL, mac, err);
    else if (code == SQLITE_CONSTRAINT_UNIQUE && strstr(msg, "vm_nics.vf_id"))
        s_nic_refusal(self, vm, i, vf_id, NULL, NULL, err);
    else if (code)
        db_errorf(err, DB_ERR_INVALID, "vm %s: nic %u on pf %s vf %u: %s",
                  vm->name, i, nic->pf, nic->vf, msg);
    return -1;
}

/* The reservation's writes, inside the caller's transaction. */
static int s_reserve_steps(db_t *self, const db_vm_t *vm, int64_t now_ms,
                           db_err_t *err)
{
    int64_t host_id = 0, vm_id = 0;
    if (s_host_id(self, vm, &host_id, err) != 0 ||
        s_vm_insert(self, vm, host_id, now_ms, &vm_id, err) != 0)
        return -1;
    for (uint32_t i = 0; i < vm->nic_count; i++) {
        if (s_nic_insert(self, vm, i, host_id, vm_id, err) != 0)
            return -1;
    }
    return 0;
}

int db_vm_reserve(db_t *self, const db_vm_t *vm, int64_t now_ms, db_err_t *err)
{
    if (s_reserve_check(vm, err) != 0 || db_begin(self, err) != 0)
        return -1;
    if (s_reserve_steps(self, vm, now_ms, err) != 0 ||
        db_commit(self, err) != 0) {
        db_rollback(self);
        return -1;
    }
    return 0;
}

/* ---- the VM's life after its reservation ----------------------------- */

int db_vm_delete(db_t *self, const char *name, db_vm_t *was, db_err_t *err)
{
    static const char sql[] = "DELETE FROM vms WHERE id = ?1";
    if (db_begin(self, err) != 0)
        return -1;
    int64_t id;
    sqlite3_stmt *stmt = NULL;
    if (s_vm_find(self, name, &id, NULL, err) != 0 ||
        (was && db_vm_get(self, name, was, err) != 0) ||
        s_vfs_move(self, id, DB_VF_FREE, DB_VF_RESERVED, DB_VF_ASSIGNED, err) !=
            0 ||
        !(stmt = db_stmt(self, sql, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, id);
    if (db_step_done(self, stmt, "deleting a VM", err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

int db_vm_move(db_t *self, const char *name, const db_vm_t *to, db_err_t *err)
{
    static const char sql[] = "DELETE FROM vms WHERE id = ?1";
    if (s_reserve_check(to, err) != 0 || db_begin(self, err) != 0)
        return -1;
    int64_t id;
    sqlite3_stmt *stmt = NULL;
    if (s_vm_find(self, name, &id, NULL, err) != 0 ||
        s_vfs_move(self, id, DB_VF_FREE, DB_VF_RESERVED, DB_VF_ASSIGNED, err) !=
            0 ||
        !(stmt = db_stmt(self, sql, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, id);
    if (db_step_done(self, stmt, "moving a VM", err) != 0 ||
        s_reserve_steps(self, to, to->created_at_ms, err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

/* Runs an UPDATE of one VM by name (?1) whose ?2 is bound by the caller;
 * DB_ERR_NOT_FOUND when no VM has that name. */
static int s_vm_update(db_t *self, sqlite3_stmt *stmt, const char *name,
                       const char *what, db_err_t *err)
{
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (db_step_done(self, stmt, what, err) != 0)
        return -1;
    if (sqlite3_changes(self->sql) == 0) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no vm named \"%s\"", name);
        return -1;
    }
    return 0;
}

int db_vm_set_power(db_t *self, const char *name, db_vm_power_t power,
                    db_err_t *err)
{
    static const char sql[] = "UPDATE vms SET power = ?2 WHERE name = ?1";
    const char *power_name = db_vm_power_name(power);
    if (!power_name) {
        db_errorf(err, DB_ERR_INVALID, "vm %s: power state %d is unknown", name,
                  (int)power);
        return -1;
    }
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 2, power_name, -1, SQLITE_STATIC);
    return s_vm_update(self, stmt, name, "storing a VM's power", err);
}

int db_vm_set_placed(db_t *self, const char *name, int64_t now_ms,
                     db_err_t *err)
{
    static const char sql[] =
        "UPDATE vms SET state = 'placed', placed_at = coalesce(placed_at, ?2)"
        " WHERE id = ?1";
    if (db_begin(self, err) != 0)
        return -1;
    int64_t id;
    db_vm_state_t state = DB_VM_RESERVED;
    sqlite3_stmt *stmt = NULL;
    if (s_vm_find(self, name, &id, &state, err) != 0)
        goto fail;
    if (state == DB_VM_FAILED) {
        db_errorf(err, DB_ERR_INVALID,
                  "vm %s failed and holds no VF; it cannot be placed", name);
        goto fail;
    }
    if (!(stmt = db_stmt(self, sql, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now_ms);
    if (db_step_done(self, stmt, "placing a VM", err) != 0 ||
        s_vfs_move(self, id, DB_VF_ASSIGNED, DB_VF_RESERVED, DB_VF_STATE_COUNT,
                   err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

/* The host's reserved VMs, as db_vms_list shows them: ?1 the host's name,
 * none when it is down. Through vms_host (host_id, ...) and each VM's row. */
#define S_HOST_RESERVED                                                        \
    " host_id = (SELECT id FROM hosts"                                         \
    " WHERE name = ?1 AND state IS NOT 'down') AND state = 'reserved'"

static int s_revision_check(const char *host, uint64_t revision, db_err_t *err)
{
    if (revision <= INT64_MAX)
        return 0;
    db_errorf(err, DB_ERR_INVALID,
              "host %s: apply revision %llu is not below 2^63", host,
              (unsigned long long)revision);
    return -1;
}

int db_host_vms_set_apply_revision(db_t *self, const char *host,
                                   uint64_t revision, size_t *count,
                                   db_err_t *err)
{
    /* A host that is down takes the revision too: it is what the host is
     * sent when it is back, and its answer places the VMs only if they
     * carry it. */
    static const char sql[] =
        "UPDATE vms SET apply_revision = ?2 WHERE host_id = (SELECT id FROM"
        " hosts WHERE name = ?1) AND state = 'reserved' AND apply_revision = 0";
    if (count)
        *count = 0;
    if (s_revision_check(host, revision, err) != 0)
        return -1;
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    if (db_step_done(self, stmt, "storing VMs' apply revision", err) != 0)
        return -1;
    if (count)
        *count = (size_t)sqlite3_changes(self->sql);
    return 0;
}

/* The VFs first: they are found through the VMs still reserved. */
static int s_host_placed_steps(db_t *self, const char *host, uint64_t revision,
                               int64_t now_ms, size_t *count, db_err_t *err)
{
    static const char sql_vfs[] =
        "UPDATE vfs SET state = 'assigned' WHERE id IN (SELECT n.vf_id"
        " FROM vms JOIN vm_nics n ON n.vm_id = vms.id WHERE" S_HOST_RESERVED
        " AND apply_revision BETWEEN 1 AND ?2) AND +state = 'reserved'";
    static const char sql_vms[] =
        "UPDATE vms SET state = 'placed', placed_at = coalesce(placed_at, ?3)"
        " WHERE" S_HOST_RESERVED " AND apply_revision BETWEEN 1 AND ?2";
    sqlite3_stmt *stmt = db_stmt(self, sql_vfs, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    if (db_step_done(self, stmt, "assigning VMs' VFs", err) != 0 ||
        !(stmt = db_stmt(self, sql_vms, err)))
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    sqlite3_bind_int64(stmt, 3, now_ms);
    if (db_step_done(self, stmt, "placing VMs", err) != 0)
        return -1;
    *count = (size_t)sqlite3_changes(self->sql);
    return 0;
}

int db_host_vms_set_placed(db_t *self, const char *host, uint64_t revision,
                           int64_t now_ms, size_t *count, db_err_t *err)
{
    size_t placed = 0;
    if (count)
        *count = 0;
    if (s_revision_check(host, revision, err) != 0 || db_begin(self, err) != 0)
        return -1;
    if (s_host_placed_steps(self, host, revision, now_ms, &placed, err) != 0 ||
        db_commit(self, err) != 0) {
        db_rollback(self);
        return -1;
    }
    if (count)
        *count = placed;
    return 0;
}

/* The length of text cut to at most max bytes without splitting a UTF-8
 * character. */
static int s_cut(const char *text, size_t max)
{
    size_t len = strnlen(text, max + 1);
    if (len <= max)
        return (int)len;
    len = max;
    while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
        len--;
    return (int)len;
}

int db_vm_set_failed(db_t *self, const char *name, const char *error,
                     db_err_t *err)
{
    static const char sql_nics[] =
        "UPDATE vm_nics SET vf_id = NULL WHERE vm_id = ?1";
    static const char sql_vm[] =
        "UPDATE vms SET state = 'failed', host_id = NULL, error = ?2"
        " WHERE id = ?1";
    if (!error)
        error = "";
    if (db_begin(self, err) != 0)
        return -1;
    int64_t id;
    sqlite3_stmt *stmt = NULL;
    /* The VFs go first: the schema refuses a host change while the VM
     * still holds VFs on its host. */
    if (s_vm_find(self, name, &id, NULL, err) != 0 ||
        s_vfs_move(self, id, DB_VF_FREE, DB_VF_RESERVED, DB_VF_ASSIGNED, err) !=
            0 ||
        !(stmt = db_stmt(self, sql_nics, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, id);
    if (db_step_done(self, stmt, "releasing a VM's VFs", err) != 0 ||
        !(stmt = db_stmt(self, sql_vm, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_text(stmt, 2, error, s_cut(error, VFP_TEXT_MAX),
                      SQLITE_STATIC);
    if (db_step_done(self, stmt, "failing a VM", err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

int db_host_set_cordoned(db_t *self, const char *host, bool cordoned,
                         db_err_t *err)
{
    static const char sql[] = "UPDATE hosts SET cordoned = ?2 WHERE name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, cordoned ? 1 : 0);
    if (db_step_done(self, stmt, "setting a host's cordon", err) != 0)
        return -1;
    if (sqlite3_changes(self->sql) == 0) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", host);
        return -1;
    }
    return 0;
}
