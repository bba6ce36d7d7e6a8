/* db_internal.h - what the db/ source files share: the handle, the
 * statement cache and transaction helpers. Not installed, not for callers. */
#ifndef VFLEET_DB_INTERNAL_H
#define VFLEET_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>

#include "vfleet_db.h"

/* Statements are prepared once and reused. Each call site keeps its SQL in a
 * static array, so the text's address is a stable cache key. db/ has some
 * 85 such texts; a long-running controller ends up with most of them. */
#define DB_STMT_CACHE_MAX 128

struct db_t {
    sqlite3 *sql;
    char path[4096];
    struct {
        const char *text;
        sqlite3_stmt *stmt;
    } cache[DB_STMT_CACHE_MAX];
    int cache_size;
    bool in_batch;  /* db_batch_begin is open: transactions are savepoints */
    bool read_only; /* db_open_readonly: queries only */
    int64_t event_max_count; /* db_event_limit; 0: no bound on insert */
};

/* The name of the VFS every connection opens files through (db_wal.c:
 * the default one, with a commit's WAL frames written at once),
 * registered on the first call. */
const char *db_wal_vfs(void);

/* Opens a connection (flags as sqlite3_open_v2's) with extended result
 * codes and the busy timeout, and nothing else: no check, no pragma. */
db_t *db_connect(const char *path, int flags, db_err_t *err);

/* One ordered migration step: running it on a file at `version - 1` brings
 * it to `version`. */
typedef struct {
    int version;
    const char *sql;
} db_migration_t;

extern const db_migration_t db_migrations[];
extern const int db_migration_count;

/* The read statements of db/ by name: the modules run exactly these texts,
 * so tests can check the query plan of each. */
typedef struct {
    const char *name;
    const char *sql;
} db_query_t;

extern const db_query_t db_queries[];
extern const int db_query_count;

/* db_policy.c's read statements, for db_queries[]. */
extern const char db_sql_policy_get[];
extern const char db_sql_policy_latest[];
extern const char db_sql_policy_history[];
extern const char db_sql_host_desired_get[];
extern const char db_sql_apply_status_list[];
extern const char db_sql_apply_failures_list[];
extern const char db_sql_drift_list[];
extern const char db_sql_host_labels_get[];
extern const char db_sql_host_refusal_get[];
extern const char db_sql_host_refusals_list[];
extern const char db_sql_apply_status_filter[];
extern const char db_sql_apply_counts[];
extern const char db_sql_drift_page[];

/* db_vm.c's read statements, for db_queries[]. */
extern const char db_sql_vm_get[];
extern const char db_sql_vms_list[];
extern const char db_sql_vms_list_host[];
extern const char db_sql_vm_vf_lookup[];

/* The index of name in names[0..count), or -1 (also for NULL): the state
 * parsers' lookup. */
int db_name_find(const char *const *names, int count, const char *name);

/* Returns the cached (reset, unbound) statement for sql, preparing it on
 * first use; NULL with err on failure. */
sqlite3_stmt *db_stmt(db_t *self, const char *sql, db_err_t *err);

/* Fills err from the connection's last error, prefixed by what failed. */
void db_set_error(db_t *self, db_err_t *err, db_errcode_t code,
                  const char *what);

/* Formats err->text and sets err->code. */
void db_errorf(db_err_t *err, db_errcode_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK, or inside a batch SAVEPOINT /
 * RELEASE / ROLLBACK TO, so each operation stays atomic on its own. */
int db_begin(db_t *self, db_err_t *err);
int db_commit(db_t *self, db_err_t *err);
void db_rollback(db_t *self);

/* Runs a statement that returns no rows to completion. */
int db_step_done(db_t *self, sqlite3_stmt *stmt, const char *what,
                 db_err_t *err);

/* Runs a statement that returns exactly one row (INSERT ... RETURNING) and
 * stores that row's first column in *value. */
int db_step_returning(db_t *self, sqlite3_stmt *stmt, const char *what,
                      int64_t *value, db_err_t *err);

/* Steps a bound read statement, handing every row to row_fn (which
 * converts it and calls the caller's callback, cb) until it asks to stop:
 * then -1 with err->code DB_OK; -1 with DB_ERR_IO when SQLite fails. The
 * statement is reset and unbound either way. */
typedef int(db_row_fn)(sqlite3_stmt *stmt, void *cb, void *arg);
int db_query_rows(db_t *self, sqlite3_stmt *stmt, const char *what,
                  db_row_fn *row_fn, void *cb, void *arg, db_err_t *err);

/* Copies a TEXT column into a fixed buffer ("" for NULL). */
void db_column_text(sqlite3_stmt *stmt, int col, char *buf, size_t size);

#endif
