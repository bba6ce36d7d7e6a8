/* db.c - opening, checking and migrating the inventory database, and the
 * statement cache and transaction helpers every query uses. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_internal.h"

static const char *const s_host_states[DB_HOST_STATE_COUNT] = {"ready", "down"};
static const char *const s_pf_states[DB_PF_STATE_COUNT] = {"present",
                                                           "missing"};
static const char *const s_vf_states[DB_VF_STATE_COUNT] = {
    "free", "reserved", "assigned", "broken", "missing"};

int db_name_find(const char *const *names, int count, const char *name)
{
    for (int i = 0; name && i < count; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}

const char *db_host_state_name(db_host_state_t state)
{
    return (unsigned)state < DB_HOST_STATE_COUNT ? s_host_states[state] : NULL;
}

const char *db_pf_state_name(db_pf_state_t state)
{
    return (unsigned)state < DB_PF_STATE_COUNT ? s_pf_states[state] : NULL;
}

const char *db_vf_state_name(db_vf_state_t state)
{
    return (unsigned)state < DB_VF_STATE_COUNT ? s_vf_states[state] : NULL;
}

int db_host_state_parse(const char *name, db_host_state_t *state)
{
    int i = db_name_find(s_host_states, DB_HOST_STATE_COUNT, name);
    if (i >= 0)
        *state = (db_host_state_t)i;
    return i >= 0 ? 0 : -1;
}

int db_pf_state_parse(const char *name, db_pf_state_t *state)
{
    int i = db_name_find(s_pf_states, DB_PF_STATE_COUNT, name);
    if (i >= 0)
        *state = (db_pf_state_t)i;
    return i >= 0 ? 0 : -1;
}

int db_vf_state_parse(const char *name, db_vf_state_t *state)
{
    int i = db_name_find(s_vf_states, DB_VF_STATE_COUNT, name);
    if (i >= 0)
        *state = (db_vf_state_t)i;
    return i >= 0 ? 0 : -1;
}

void db_errorf(db_err_t *err, db_errcode_t code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

void db_set_error(db_t *self, db_err_t *err, db_errcode_t code,
                  const char *what)
{
    db_errorf(err, code, "%s: %s: %s", self->path, what,
              sqlite3_errmsg(self->sql));
}

sqlite3_stmt *db_stmt(db_t *self, const char *sql, db_err_t *err)
{
    for (int i = 0; i < self->cache_size; i++) {
        if (self->cache[i].text == sql)
            return self->cache[i].stmt;
    }
    /* Every statement text is a static in db/, so the cache cannot grow
     * past the number of call sites; running out is a programming error. */
    assert(self->cache_size < DB_STMT_CACHE_MAX);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(self->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           NULL) != SQLITE_OK) {
        db_set_error(self, err, DB_ERR_IO, "preparing a statement");
        return NULL;
    }
    self->cache[self->cache_size].text = sql;
    self->cache[self->cache_size].stmt = stmt;
    self->cache_size++;
    return stmt;
}

int db_step_done(db_t *self, sqlite3_stmt *stmt, const char *what,
                 db_err_t *err)
{
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        db_set_error(self, err, DB_ERR_IO, what);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return -1;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return 0;
}

int db_step_returning(db_t *self, sqlite3_stmt *stmt, const char *what,
                      int64_t *value, db_err_t *err)
{
    int rc = sqlite3_step(stmt);
    bool found = rc == SQLITE_ROW;
    if (found) {
        *value = sqlite3_column_int64(stmt, 0);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE)
        db_set_error(self, err, DB_ERR_IO, what);
    else if (!found)
        db_errorf(err, DB_ERR_IO, "%s: %s: no row returned", self->path, what);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE && found ? 0 : -1;
}

/* A copy cut at size - 1 bytes as snprintf "%s" cuts it, without a
 * format string: listings read a dozen text columns a row. */
void db_column_text(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    if (size == 0)
        return;
    size_t len = text ? strnlen(text, size - 1) : 0;
    memcpy(buf, text ? text : "", len);
    buf[len] = '\0';
}

static int s_exec(db_t *self, const char *sql, const char *what, db_err_t *err)
{
    if (sqlite3_exec(self->sql, sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_set_error(self, err, DB_ERR_IO, what);
        return -1;
    }
    return 0;
}

int db_begin(db_t *self, db_err_t *err)
{
    static const char sql_begin[] = "BEGIN IMMEDIATE";
    static const char sql_savepoint[] = "SAVEPOINT op";
    /* SQLite rolls a whole transaction back on some errors (SQLITE_FULL,
     * SQLITE_IOERR): the batch and everything in it is gone. A SAVEPOINT
     * now would quietly start a new transaction and commit this operation
     * alone, so every later operation fails until the batch ends. */
    assert(!self->read_only);
    if (self->in_batch && sqlite3_get_autocommit(self->sql)) {
        db_errorf(err, DB_ERR_IO, "%s: the batch transaction was lost",
                  self->path);
        return -1;
    }
    sqlite3_stmt *stmt =
        db_stmt(self, self->in_batch ? sql_savepoint : sql_begin, err);
    if (!stmt)
        return -1;
    return db_step_done(self, stmt, "starting a transaction", err);
}

int db_commit(db_t *self, db_err_t *err)
{
    static const char sql_commit[] = "COMMIT";
    static const char sql_release[] = "RELEASE op";
    sqlite3_stmt *stmt =
        db_stmt(self, self->in_batch ? sql_release : sql_commit, err);
    if (!stmt)
        return -1;
    if (db_step_done(self, stmt, "committing", err) != 0) {
        db_rollback(self);
        return -1;
    }
    return 0;
}

void db_rollback(db_t *self)
{
    /* A failed statement may already have ended the transaction; only roll
     * back one that is still open. */
    if (sqlite3_get_autocommit(self->sql))
        return;
    if (self->in_batch)
        sqlite3_exec(self->sql, "ROLLBACK TO op; RELEASE op", NULL, NULL, NULL);
    else
        sqlite3_exec(self->sql, "ROLLBACK", NULL, NULL, NULL);
}

int db_batch_begin(db_t *self, db_err_t *err)
{
    assert(!self->in_batch);
    if (db_begin(self, err) != 0)
        return -1;
    self->in_batch = true;
    return 0;
}

int db_batch_commit(db_t *self, db_err_t *err)
{
    assert(self->in_batch);
    self->in_batch = false;
    if (sqlite3_get_autocommit(self->sql)) {
        db_errorf(err, DB_ERR_IO, "%s: the batch transaction was lost",
                  self->path);
        return -1;
    }
    return db_commit(self, err);
}

void db_batch_rollback(db_t *self)
{
    assert(self->in_batch);
    self->in_batch = false;
    db_rollback(self);
}

static int s_pragma_int(db_t *self, const char *sql, int *value, db_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(self->sql, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        db_errorf(err, DB_ERR_IO, "%s: cannot read the database (%s): %s",
                  self->path, sql, sqlite3_errmsg(self->sql));
        sqlite3_finalize(stmt);
        return -1;
    }
    *value = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

/* PRAGMA quick_check answers one row "ok", or rows describing damage. */
static int s_quick_check(db_t *self, db_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc =
        sqlite3_prepare_v2(self->sql, "PRAGMA quick_check(1)", -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        db_errorf(err, DB_ERR_IO,
                  "%s: database is corrupt (quick_check: %s); restore it "
                  "from a backup or move it away",
                  self->path, sqlite3_errmsg(self->sql));
        sqlite3_finalize(stmt);
        return -1;
    }
    const char *result = (const char *)sqlite3_column_text(stmt, 0);
    if (!result || strcmp(result, "ok") != 0) {
        db_errorf(err, DB_ERR_IO,
                  "%s: database is corrupt (quick_check: %s); restore it "
                  "from a backup or move it away",
                  self->path, result ? result : "no answer");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

static int s_migrate(db_t *self, int from, int to, db_err_t *err)
{
    for (int i = 0; i < db_migration_count; i++) {
        const db_migration_t *step = &db_migrations[i];
        if (step->version <= from || step->version > to)
            continue;
        char what[64];
        snprintf(what, sizeof(what), "migrating to schema version %d",
                 step->version);
        if (s_exec(self, "BEGIN IMMEDIATE", what, err) != 0)
            return -1;
        char set_version[64];
        snprintf(set_version, sizeof(set_version), "PRAGMA user_version=%d",
                 step->version);
        if (s_exec(self, step->sql, what, err) != 0 ||
            s_exec(self, set_version, what, err) != 0 ||
            s_exec(self, "COMMIT", what, err) != 0) {
            db_rollback(self);
            return -1;
        }
    }
    return 0;
}

/* Opens the file with the given flags and sets what every connection
 * needs: extended result codes and a busy timeout. */
db_t *db_connect(const char *path, int flags, db_err_t *err)
{
    db_t *self = calloc(1, sizeof(*self));
    assert(self);
    snprintf(self->path, sizeof(self->path), "%s", path);
    err->code = DB_OK;
    err->text[0] = '\0';
    /* Statement journals (every UPDATE of a row other tables reference
     * keeps one) are by default 64 KiB memory chunks, allocated and freed
     * per statement: at thousands of statements a second the allocator
     * hands those pages back to the kernel and faults them in again. Kept
     * in small chunks they stay in the heap. This has to precede SQLite's
     * initialisation, so it is a no-op (SQLITE_MISUSE) after the first
     * open in a process. */
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
    /* No allocation statistics (nothing reads them): SQLite then takes
     * no global mutex around every allocation. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(path, &self->sql, flags | SQLITE_OPEN_NOMUTEX,
                        db_wal_vfs()) != SQLITE_OK) {
        db_errorf(err, DB_ERR_IO, "%s: cannot open: %s", path,
                  self->sql ? sqlite3_errmsg(self->sql) : "out of memory");
        db_destroy(&self);
        return NULL;
    }
    sqlite3_extended_result_codes(self->sql, 1);
    sqlite3_busy_timeout(self->sql, 5000);
    return self;
}

/* Reads the file's schema version and refuses one newer than this build. */
static int s_version_check(db_t *self, int *current, db_err_t *err)
{
    if (s_pragma_int(self, "PRAGMA user_version", current, err) != 0)
        return -1;
    if (*current > DB_SCHEMA_VERSION) {
        db_errorf(err, DB_ERR_VERSION,
                  "%s: database schema version %d is newer than this "
                  "build's version %d; run a newer vfleet-controller",
                  self->path, *current, DB_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

static int s_pragmas(db_t *self, db_err_t *err)
{
    int fk = 0;
    if (s_exec(self, "PRAGMA journal_mode=WAL", "enabling WAL", err) != 0 ||
        s_exec(self, "PRAGMA synchronous=NORMAL", "setting synchronous", err) !=
            0 ||
        s_exec(self, "PRAGMA cache_size=-16384", "sizing the page cache",
               err) != 0 ||
        s_exec(self, "PRAGMA foreign_keys=ON", "enabling foreign keys", err) !=
            0 ||
        s_pragma_int(self, "PRAGMA foreign_keys", &fk, err) != 0)
        return -1;
    if (fk != 1) {
        db_errorf(err, DB_ERR_IO, "%s: SQLite refused foreign keys",
                  self->path);
        return -1;
    }
    return 0;
}

/* The inventory is nobody else's business: a new database is created
 * 0600, and SQLite gives its -wal and -shm files the database file's
 * mode. */
static int s_create_private(const char *path, db_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    else if (errno != EEXIST) {
        db_errorf(err, DB_ERR_IO, "%s: cannot create: %s", path,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* An existing database (and -wal, -shm) others may read loses those bits,
 * once it is known to be a database this build opens; the group's bits
 * are the operator's choice. */
static int s_make_private(const char *path, db_err_t *err)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char file[sizeof(((db_t *)0)->path) + 8];
        snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
        struct stat st;
        if (stat(file, &st) == 0 && (st.st_mode & S_IRWXO) &&
            chmod(file, st.st_mode & 07770) != 0) {
            db_errorf(err, DB_ERR_IO, "%s: cannot make it private: %s", file,
                      strerror(errno));
            return -1;
        }
    }
    return 0;
}

db_t *db_open_version(const char *path, int version, db_err_t *err)
{
    assert(version >= 1 && version <= DB_SCHEMA_VERSION);
    if (s_create_private(path, err) != 0)
        return NULL;
    db_t *self =
        db_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (!self)
        return NULL;
    /* SQLite silently falls back to read-only when it cannot write the
     * file; the controller must never run on a database it cannot update. */
    if (sqlite3_db_readonly(self->sql, "main") == 1) {
        db_errorf(err, DB_ERR_IO,
                  "%s: database is read-only; the controller needs write "
                  "access to it and its directory",
                  path);
        goto fail;
    }
    int current = 0;
    if (s_version_check(self, &current, err) != 0 ||
        (current > 0 && s_quick_check(self, err) != 0) ||
        s_pragmas(self, err) != 0 || s_make_private(path, err) != 0)
        goto fail;
    if (current < version && s_migrate(self, current, version, err) != 0)
        goto fail;
    return self;

fail:
    db_destroy(&self);
    return NULL;
}

db_t *db_open_readonly(const char *path, db_err_t *err)
{
    db_t *self = db_connect(path, SQLITE_OPEN_READONLY, err);
    if (!self)
        return NULL;
    int current = 0;
    if (s_version_check(self, &current, err) != 0)
        goto fail;
    if (current != DB_SCHEMA_VERSION) {
        db_errorf(err, DB_ERR_VERSION,
                  "%s: database schema version %d is not this build's %d", path,
                  current, DB_SCHEMA_VERSION);
        goto fail;
    }
    self->read_only = true;
    return self;

fail:
    db_destroy(&self);
    return NULL;
}

db_t *db_open(const char *path, db_err_t *err)
{
    return db_open_version(path, DB_SCHEMA_VERSION, err);
}

int db_set_synchronous_full(db_t *self, bool full, db_err_t *err)
{
    return s_exec(
        self, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
        "setting synchronous", err);
}

void db_destroy(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    for (int i = 0; i < self->cache_size; i++)
        sqlite3_finalize(self->cache[i].stmt);
    sqlite3_close(self->sql);
    free(self);
    *self_p = NULL;
}

int db_schema_version(db_t *self)
{
    db_err_t err;
    int version = -1;
    if (s_pragma_int(self, "PRAGMA user_version", &version, &err) != 0)
        return -1;
    return version;
}

int db_query_rows(db_t *self, sqlite3_stmt *stmt, const char *what,
                  db_row_fn *row_fn, void *cb, void *arg, db_err_t *err)
{
    int rc;
    int result = 0;
    err->code = DB_OK;
    err->text[0] = '\0';
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (row_fn(stmt, cb, arg) != 0) {
            result = -1;
            break;
        }
    }
    if (result == 0 && rc != SQLITE_DONE) {
        db_set_error(self, err, DB_ERR_IO, what);
        result = -1;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}
