/* db_policy.c - policy revisions, each host's desired state (the APPLY it
 * was sent), the answers to it and the drift hosts report. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

static const char *const s_apply_states[DB_APPLY_STATE_COUNT] = {
    "pending", "ok", "failed"};

const char *db_apply_state_name(db_apply_state_t state)
{
    return (unsigned)state < DB_APPLY_STATE_COUNT ? s_apply_states[state]
                                                  : NULL;
}

int db_apply_state_parse(const char *name, db_apply_state_t *state)
{
    int i = db_name_find(s_apply_states, DB_APPLY_STATE_COUNT, name);
    if (i >= 0)
        *state = (db_apply_state_t)i;
    return i >= 0 ? 0 : -1;
}

/* The read statements, listed in db_queries[] (db_query.c) so that their
 * plans are checked with the others'. Each is one index range walked in
 * the order it returns rows. */
const char db_sql_policy_get[] =
    "SELECT revision, sha256, message, author, commit_id, created_at, text"
    " FROM policies WHERE revision = ?1";

const char db_sql_policy_latest[] =
    "SELECT revision, sha256, message, author, commit_id, created_at, text"
    " FROM policies ORDER BY revision DESC LIMIT 1";

const char db_sql_policy_history[] =
    "SELECT revision, sha256, message, author, commit_id, created_at"
    " FROM policies WHERE revision < ?1 ORDER BY revision DESC LIMIT ?2";

const char db_sql_host_desired_get[] =
    "SELECT d.revision, d.policy_revision, d.applied_revision, d.created_at,"
    " d.apply FROM hosts h CROSS JOIN host_desired d ON d.host_id = h.id"
    " WHERE h.name = ?1";

const char db_sql_apply_status_list[] =
    "SELECT h.name, d.revision, d.applied_revision, d.policy_revision,"
    " s.state, s.ok_count, s.failed_count, s.sent_at, s.answered_at"
    " FROM hosts h CROSS JOIN host_desired d ON d.host_id = h.id"
    " CROSS JOIN apply_status s ON s.host_id = d.host_id"
    " AND s.revision = d.revision"
    " WHERE h.name > coalesce(?1, '') ORDER BY h.name LIMIT ?2";

const char db_sql_apply_failures_list[] =
    "SELECT f.kind, f.pf, f.idx, f.attribute, f.errno, f.message"
    " FROM hosts h CROSS JOIN host_desired d ON d.host_id = h.id"
    " CROSS JOIN apply_failures f ON f.host_id = d.host_id"
    " AND f.revision = d.revision"
    " WHERE h.name = ?1 ORDER BY f.seq";

const char db_sql_drift_list[] =
    "SELECT h.name, x.pf, x.idx, x.attribute, x.wanted, x.has, x.seen_at"
    " FROM hosts h CROSS JOIN drift x ON x.host_id = h.id"
    " WHERE h.name BETWEEN coalesce(?1, '') AND coalesce(?1, x'ff')"
    " ORDER BY h.name, x.pf, x.idx, x.attribute";

const char db_sql_host_labels_get[] =
    "SELECT labels FROM hosts WHERE name = ?1";

const char db_sql_host_refusal_get[] =
    "SELECT h.name, r.policy_revision, r.reason, r.refused_at"
    " FROM hosts h CROSS JOIN host_refusals r ON r.host_id = h.id"
    " WHERE h.name = ?1";

const char db_sql_host_refusals_list[] =
    "SELECT h.name, r.policy_revision, r.reason, r.refused_at"
    " FROM hosts h CROSS JOIN host_refusals r ON r.host_id = h.id"
    " ORDER BY h.name";

/* Like db_step_done, but a broken constraint is the caller's input
 * (DB_ERR_INVALID), not a failing disk. */
static int s_step(db_t *self, sqlite3_stmt *stmt, const char *what,
                  db_err_t *err)
{
    if (db_step_done(self, stmt, what, err) == 0)
        return 0;
    if ((sqlite3_extended_errcode(self->sql) & 0xff) == SQLITE_CONSTRAINT)
        err->code = DB_ERR_INVALID;
    return -1;
}

/* ---- policies -------------------------------------------------------- */

static bool s_is_sha256(const char *text)
{
    if (!text || strlen(text) != 64)
        return false;
    return strspn(text, "0123456789abcdef") == 64;
}

static int s_policy_check(const char *text, const char *sha256,
                          const char *message, const char *author,
                          const char *commit_id, db_err_t *err)
{
    if (!text) {
        db_errorf(err, DB_ERR_INVALID, "policy: no text");
        return -1;
    }
    if (!s_is_sha256(sha256)) {
        db_errorf(err, DB_ERR_INVALID,
                  "policy: sha256 is not 64 lowercase hex digits");
        return -1;
    }
    const struct {
        const char *name, *value;
        size_t max;
    } fields[] = {{"message", message, DB_POLICY_MESSAGE_MAX},
                  {"author", author, DB_POLICY_AUTHOR_MAX},
                  {"commit id", commit_id, DB_POLICY_COMMIT_MAX}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].value && strlen(fields[i].value) > fields[i].max) {
            db_errorf(err, DB_ERR_INVALID,
                      "policy: %s is longer than %zu bytes", fields[i].name,
                      fields[i].max);
            return -1;
        }
    }
    return 0;
}

int db_policy_store(db_t *self, const char *text, const char *sha256,
                    const char *message, const char *author,
                    const char *commit_id, int64_t now_ms, int64_t *revision,
                    db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO policies (revision, sha256, text, message, author,"
        " commit_id, created_at)"
        " VALUES ((SELECT coalesce(max(revision), 0) + 1 FROM policies),"
        " ?1, ?2, ?3, ?4, ?5, ?6) RETURNING revision";
    if (s_policy_check(text, sha256, message, author, commit_id, err) != 0)
        return -1;
    if (db_begin(self, err) != 0)
        return -1;
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (stmt) {
        sqlite3_bind_text(stmt, 1, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text64(stmt, 2, text, strlen(text), SQLITE_STATIC,
                            SQLITE_UTF8);
        sqlite3_bind_text(stmt, 3, message ? message : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, author ? author : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, commit_id ? commit_id : "", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, now_ms);
    }
    if (!stmt ||
        db_step_returning(self, stmt, "storing a policy", revision, err) != 0 ||
        db_commit(self, err) != 0) {
        db_rollback(self);
        return -1;
    }
    return 0;
}

void db_policy_row_clear(db_policy_row_t *row)
{
    free(row->text);
    row->text = NULL;
    row->text_len = 0;
}

/* Fills a row from columns 0-5, and the text from column 6 when asked. */
static void s_policy_row(sqlite3_stmt *stmt, db_policy_row_t *row,
                         bool with_text)
{
    memset(row, 0, sizeof(*row));
    row->revision = sqlite3_column_int64(stmt, 0);
    db_column_text(stmt, 1, row->sha256, sizeof(row->sha256));
    db_column_text(stmt, 2, row->message, sizeof(row->message));
    db_column_text(stmt, 3, row->author, sizeof(row->author));
    db_column_text(stmt, 4, row->commit_id, sizeof(row->commit_id));
    row->created_at_ms = sqlite3_column_int64(stmt, 5);
    if (!with_text)
        return;
    const unsigned char *text = sqlite3_column_text(stmt, 6);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 6);
    row->text = malloc(len + 1);
    assert(row->text);
    memcpy(row->text, text ? (const char *)text : "", text ? len : 0);
    row->text[text ? len : 0] = '\0';
    row->text_len = text ? len : 0;
}

static int s_policy_copy(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    s_policy_row(stmt, arg, true);
    return 0;
}

/* Reads one policy row with its text through a bound statement. */
static int s_policy_read(db_t *self, sqlite3_stmt *stmt, db_policy_row_t *out,
                         const char *missing, db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (db_query_rows(self, stmt, "reading a policy", s_policy_copy, NULL, out,
                      err) != 0) {
        db_policy_row_clear(out);
        return -1;
    }
    if (!out->text) {
        db_errorf(err, DB_ERR_NOT_FOUND, "%s", missing);
        return -1;
    }
    return 0;
}

int db_policy_get(db_t *self, int64_t revision, db_policy_row_t *out,
                  db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_policy_get, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, revision);
    char missing[64];
    snprintf(missing, sizeof(missing), "no policy revision %lld",
             (long long)revision);
    return s_policy_read(self, stmt, out, missing, err);
}

int db_policy_latest(db_t *self, db_policy_row_t *out, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_policy_latest, err);
    if (!stmt)
        return -1;
    return s_policy_read(self, stmt, out, "no policy stored", err);
}

static int s_policy_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_policy_row_t row;
    s_policy_row(stmt, &row, false);
    return ((db_policy_cb *)cb)(&row, arg);
}

int db_policy_history(db_t *self, int64_t before_revision, int64_t limit,
                      db_policy_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_policy_history, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1,
                       before_revision > 0 ? before_revision : INT64_MAX);
    sqlite3_bind_int64(stmt, 2, limit > 0 ? limit : -1);
    return db_query_rows(self, stmt, "listing policy revisions", s_policy_each,
                         (void *)cb, arg, err);
}

/* ---- desired states -------------------------------------------------- */

/* A host's id and its stored desired revision (0: none). */
static int s_host_desired_lookup(db_t *self, const char *host, int64_t *id,
                                 uint64_t *revision, db_err_t *err)
{
    static const char sql[] =
        "SELECT h.id, coalesce(d.revision, 0) FROM hosts h"
        " LEFT JOIN host_desired d ON d.host_id = h.id WHERE h.name = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
        *revision = (uint64_t)sqlite3_column_int64(stmt, 1);
    } else if (rc == SQLITE_DONE) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", host);
    } else {
        db_set_error(self, err, DB_ERR_IO, "looking up a host");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

int db_host_desired_next(db_t *self, const char *host, uint64_t *revision,
                         db_err_t *err)
{
    int64_t id;
    uint64_t stored;
    if (s_host_desired_lookup(self, host, &id, &stored, err) != 0)
        return -1;
    *revision = stored + 1;
    return 0;
}

/* The desired state itself, then a fresh pending status for it (the
 * previous status and its failures go with the cascade). */
static int s_desired_write(db_t *self, int64_t host_id, int64_t policy_revision,
                           uint64_t revision, const void *apply,
                           size_t apply_len, int64_t now_ms, db_err_t *err)
{
    static const char sql_set[] =
        "INSERT INTO host_desired (host_id, revision, policy_revision, apply,"
        " created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT (host_id) DO UPDATE SET revision = excluded.revision,"
        " policy_revision = excluded.policy_revision, apply = excluded.apply,"
        " created_at = excluded.created_at";
    static const char sql_clear[] = "DELETE FROM apply_status"
                                    " WHERE host_id = ?1";
    static const char sql_status[] =
        "INSERT INTO apply_status (host_id, revision, state, sent_at)"
        " VALUES (?1, ?2, 'pending', ?3)";
    sqlite3_stmt *stmt = db_stmt(self, sql_set, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    if (policy_revision > 0)
        sqlite3_bind_int64(stmt, 3, policy_revision);
    sqlite3_bind_blob64(stmt, 4, apply, apply_len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, now_ms);
    if (s_step(self, stmt, "storing a desired state", err) != 0)
        return -1;
    if (!(stmt = db_stmt(self, sql_clear, err)))
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    if (db_step_done(self, stmt, "clearing an apply status", err) != 0)
        return -1;
    if (!(stmt = db_stmt(self, sql_status, err)))
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    sqlite3_bind_int64(stmt, 3, now_ms);
    return db_step_done(self, stmt, "storing an apply status", err);
}

int db_host_desired_set(db_t *self, const char *host, int64_t policy_revision,
                        uint64_t revision, const void *apply, size_t apply_len,
                        int64_t now_ms, db_err_t *err)
{
    if (!apply || apply_len == 0 || revision > INT64_MAX) {
        db_errorf(err, DB_ERR_INVALID,
                  "host %s: a desired state needs APPLY bytes and a revision "
                  "below 2^63",
                  host);
        return -1;
    }
    if (db_begin(self, err) != 0)
        return -1;
    int64_t host_id;
    uint64_t stored;
    if (s_host_desired_lookup(self, host, &host_id, &stored, err) != 0)
        goto fail;
    if (revision <= stored) {
        db_errorf(err, DB_ERR_INVALID,
                  "host %s: desired revision %llu is not above the stored "
                  "revision %llu; nothing stored",
                  host, (unsigned long long)revision,
                  (unsigned long long)stored);
        goto fail;
    }
    if (s_desired_write(self, host_id, policy_revision, revision, apply,
                        apply_len, now_ms, err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

void db_host_desired_clear(db_host_desired_t *desired)
{
    free(desired->apply);
    desired->apply = NULL;
    desired->apply_len = 0;
}

static int s_desired_copy(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    db_host_desired_t *out = arg;
    out->revision = (uint64_t)sqlite3_column_int64(stmt, 0);
    out->policy_revision = sqlite3_column_int64(stmt, 1);
    out->applied_revision = (uint64_t)sqlite3_column_int64(stmt, 2);
    out->created_at_ms = sqlite3_column_int64(stmt, 3);
    const void *blob = sqlite3_column_blob(stmt, 4);
    out->apply_len = (size_t)sqlite3_column_bytes(stmt, 4);
    out->apply = malloc(out->apply_len ? out->apply_len : 1);
    assert(out->apply);
    if (blob)
        memcpy(out->apply, blob, out->apply_len);
    return 0;
}

int db_host_desired_get(db_t *self, const char *host, db_host_desired_t *out,
                        db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = db_stmt(self, db_sql_host_desired_get, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (db_query_rows(self, stmt, "reading a desired state", s_desired_copy,
                      NULL, out, err) != 0) {
        db_host_desired_clear(out);
        return -1;
    }
    if (!out->apply) {
        db_errorf(err, DB_ERR_NOT_FOUND,
                  "host \"%s\" is unknown or has no desired state", host);
        return -1;
    }
    return 0;
}

/* ---- apply results --------------------------------------------------- */

static int s_results_check(const char *host, const vfp_result_t *results,
                           uint32_t count, db_err_t *err)
{
    for (uint32_t i = 0; i < count; i++) {
        const vfp_result_t *r = &results[i];
        if (r->kind < VFP_ITEM_NUM_VFS || r->kind > VFP_ITEM_HUGEPAGES ||
            r->err < 0) {
            db_errorf(err, DB_ERR_INVALID,
                      "host %s: result %u has kind %d and err %d; nothing "
                      "stored",
                      host, i, (int)r->kind, (int)r->err);
            return -1;
        }
    }
    return 0;
}

/* Replaces the failed items stored for (host, revision) with these. */
static int s_failures_write(db_t *self, int64_t host_id, uint64_t revision,
                            const vfp_result_t *results, uint32_t count,
                            db_err_t *err)
{
    static const char sql_clear[] =
        "DELETE FROM apply_failures WHERE host_id = ?1 AND revision = ?2";
    static const char sql_add[] =
        "INSERT INTO apply_failures (host_id, revision, seq, kind, pf, idx,"
        " attribute, errno, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9)";
    sqlite3_stmt *stmt = db_stmt(self, sql_clear, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    if (db_step_done(self, stmt, "clearing apply failures", err) != 0)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const vfp_result_t *r = &results[i];
        if (r->err == 0)
            continue;
        if (!(stmt = db_stmt(self, sql_add, err)))
            return -1;
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, (int64_t)revision);
        sqlite3_bind_int64(stmt, 3, i);
        sqlite3_bind_int(stmt, 4, (int)r->kind);
        sqlite3_bind_text(stmt, 5, r->pf, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 6, r->index);
        sqlite3_bind_text(stmt, 7, r->attribute, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 8, r->err);
        sqlite3_bind_text(stmt, 9, r->message, -1, SQLITE_STATIC);
        if (s_step(self, stmt, "storing an apply failure", err) != 0)
            return -1;
    }
    return 0;
}

/* The status row of the answered revision and, when every item applied,
 * the host's applied revision. */
static int s_status_write(db_t *self, int64_t host_id, uint64_t revision,
                          int64_t ok_count, int64_t failed_count,
                          int64_t now_ms, db_err_t *err)
{
    static const char sql_status[] =
        "UPDATE apply_status SET state = ?3, ok_count = ?4,"
        " failed_count = ?5, answered_at = ?6"
        " WHERE host_id = ?1 AND revision = ?2";
    static const char sql_applied[] =
        "UPDATE host_desired SET applied_revision = ?2 WHERE host_id = ?1";
    sqlite3_stmt *stmt = db_stmt(self, sql_status, err);
    if (!stmt)
        return -1;
    db_apply_state_t state = failed_count ? DB_APPLY_FAILED : DB_APPLY_OK;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    sqlite3_bind_text(stmt, 3, db_apply_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, ok_count);
    sqlite3_bind_int64(stmt, 5, failed_count);
    sqlite3_bind_int64(stmt, 6, now_ms);
    if (db_step_done(self, stmt, "storing an apply status", err) != 0)
        return -1;
    if (state != DB_APPLY_OK)
        return 0;
    if (!(stmt = db_stmt(self, sql_applied, err)))
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)revision);
    return db_step_done(self, stmt, "storing an applied revision", err);
}

int db_apply_result_record(db_t *self, const char *host, uint64_t revision,
                           const vfp_result_t *results, uint32_t count,
                           int64_t now_ms, db_err_t *err)
{
    if (s_results_check(host, results, count, err) != 0)
        return -1;
    int64_t failed = 0;
    for (uint32_t i = 0; i < count; i++)
        failed += results[i].err != 0;
    if (db_begin(self, err) != 0)
        return -1;
    int64_t host_id;
    uint64_t current;
    if (s_host_desired_lookup(self, host, &host_id, &current, err) != 0)
        goto fail;
    if (current == 0 || revision != current) {
        db_errorf(err, DB_ERR_INVALID,
                  "host %s: result for APPLY revision %llu, but its desired "
                  "revision is %llu; result not stored",
                  host, (unsigned long long)revision,
                  (unsigned long long)current);
        goto fail;
    }
    if (s_failures_write(self, host_id, revision, results, count, err) != 0 ||
        s_status_write(self, host_id, revision, (int64_t)count - failed, failed,
                       now_ms, err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

static int s_status_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_apply_status_row_t row;
    memset(&row, 0, sizeof(row));
    db_column_text(stmt, 0, row.host, sizeof(row.host));
    row.revision = (uint64_t)sqlite3_column_int64(stmt, 1);
    row.applied_revision = (uint64_t)sqlite3_column_int64(stmt, 2);
    row.policy_revision = sqlite3_column_int64(stmt, 3);
    /* The schema's CHECK admits only the enum's names. */
    db_apply_state_parse((const char *)sqlite3_column_text(stmt, 4),
                         &row.state);
    row.ok_count = sqlite3_column_int64(stmt, 5);
    row.failed_count = sqlite3_column_int64(stmt, 6);
    row.sent_at_ms = sqlite3_column_int64(stmt, 7);
    row.answered_at_ms = sqlite3_column_int64(stmt, 8);
    if (sqlite3_column_count(stmt) > 9)
        db_column_text(stmt, 9, row.refusal, sizeof(row.refusal));
    return ((db_apply_status_cb *)cb)(&row, arg);
}

int db_apply_status_list(db_t *self, const db_page_t *page,
                         db_apply_status_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_apply_status_list, err);
    if (!stmt)
        return -1;
    if (page && page->host)
        sqlite3_bind_text(stmt, 1, page->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, page && page->limit > 0 ? page->limit : -1);
    return db_query_rows(self, stmt, "listing apply status", s_status_each,
                         (void *)cb, arg, err);
}

static int s_failure_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    vfp_result_t item;
    memset(&item, 0, sizeof(item));
    item.kind = (vfp_item_kind_t)sqlite3_column_int(stmt, 0);
    db_column_text(stmt, 1, item.pf, sizeof(item.pf));
    item.index = (uint16_t)sqlite3_column_int(stmt, 2);
    db_column_text(stmt, 3, item.attribute, sizeof(item.attribute));
    item.err = sqlite3_column_int(stmt, 4);
    db_column_text(stmt, 5, item.message, sizeof(item.message));
    return ((db_apply_failure_cb *)cb)(&item, arg);
}

int db_apply_failures_list(db_t *self, const char *host,
                           db_apply_failure_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_apply_failures_list, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    return db_query_rows(self, stmt, "listing apply failures", s_failure_each,
                         (void *)cb, arg, err);
}

/* ---- drift ----------------------------------------------------------- */

static int s_drift_write(db_t *self, int64_t host_id,
                         const db_drift_item_t *items, uint32_t count,
                         int64_t now_ms, db_err_t *err)
{
    static const char sql_clear[] = "DELETE FROM drift WHERE host_id = ?1";
    static const char sql_add[] =
        "INSERT INTO drift (host_id, pf, idx, attribute, wanted, has, seen_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *stmt = db_stmt(self, sql_clear, err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, host_id);
    if (db_step_done(self, stmt, "clearing drift", err) != 0)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        if (!(stmt = db_stmt(self, sql_add, err)))
            return -1;
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_text(stmt, 2, items[i].pf, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, items[i].index);
        sqlite3_bind_text(stmt, 4, items[i].attribute, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, items[i].wanted, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 6, items[i].has, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 7, now_ms);
        if (s_step(self, stmt, "storing drift", err) != 0)
            return -1;
    }
    return 0;
}

int db_drift_replace(db_t *self, const char *host, const db_drift_item_t *items,
                     uint32_t count, int64_t now_ms, db_err_t *err)
{
    if (db_begin(self, err) != 0)
        return -1;
    int64_t host_id;
    uint64_t revision;
    if (s_host_desired_lookup(self, host, &host_id, &revision, err) != 0 ||
        s_drift_write(self, host_id, items, count, now_ms, err) != 0 ||
        db_commit(self, err) != 0) {
        db_rollback(self);
        return -1;
    }
    return 0;
}

static int s_drift_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_drift_row_t row;
    memset(&row, 0, sizeof(row));
    db_column_text(stmt, 0, row.host, sizeof(row.host));
    db_column_text(stmt, 1, row.item.pf, sizeof(row.item.pf));
    row.item.index = (uint16_t)sqlite3_column_int(stmt, 2);
    db_column_text(stmt, 3, row.item.attribute, sizeof(row.item.attribute));
    db_column_text(stmt, 4, row.item.wanted, sizeof(row.item.wanted));
    db_column_text(stmt, 5, row.item.has, sizeof(row.item.has));
    row.seen_at_ms = sqlite3_column_int64(stmt, 6);
    return ((db_drift_cb *)cb)(&row, arg);
}

int db_drift_list(db_t *self, const char *host, db_drift_cb *cb, void *arg,
                  db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_drift_list, err);
    if (!stmt)
        return -1;
    if (host)
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    return db_query_rows(self, stmt, "listing drift", s_drift_each, (void *)cb,
                         arg, err);
}

/* ---- host labels ----------------------------------------------------- */

static int s_labels_copy(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    db_column_text(stmt, 0, arg, DB_HOST_LABELS_MAX + 1);
    /* Marks the row as found even when the text is empty. */
    ((char *)arg)[DB_HOST_LABELS_MAX + 1] = 1;
    return 0;
}

int db_host_labels_get(db_t *self, const char *host,
                       char labels[DB_HOST_LABELS_MAX + 1], db_err_t *err)
{
    char found[DB_HOST_LABELS_MAX + 2] = "";
    sqlite3_stmt *stmt = db_stmt(self, db_sql_host_labels_get, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (db_query_rows(self, stmt, "reading host labels", s_labels_copy, NULL,
                      found, err) != 0)
        return -1;
    if (!found[DB_HOST_LABELS_MAX + 1]) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no host named \"%s\"", host);
        return -1;
    }
    memcpy(labels, found, DB_HOST_LABELS_MAX + 1);
    return 0;
}

static bool s_label_ok(const db_label_t *label)
{
    return label->key[0] && !strpbrk(label->key, "=\n") &&
           !strchr(label->value, '\n');
}

static int s_label_cmp(const void *a, const void *b)
{
    return strcmp(((const db_label_t *)a)->key, ((const db_label_t *)b)->key);
}

/* The entry for key in list, or NULL. */
static db_label_t *s_label_find(db_label_t *list, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i].key, key) == 0)
            return &list[i];
    return NULL;
}

bool db_labels_next(char **cursor, db_label_t *label)
{
    while (**cursor) {
        char *line = *cursor;
        size_t len = strcspn(line, "\n");
        *cursor = line + len + (line[len] == '\n');
        line[len] = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            *label = (db_label_t){.key = line, .value = eq + 1};
            return true;
        }
    }
    return false;
}

/* The merged, sorted labels as text; -1 when longer than the column. */
static int s_labels_merge(char *current, const db_label_t *set,
                          size_t set_count, const char *const *remove,
                          size_t remove_count, char *out)
{
    db_label_t *list =
        calloc(DB_HOST_LABELS_MAX / 2 + 1 + set_count, sizeof(*list));
    assert(list);
    size_t count = 0;
    for (char *cursor = current; db_labels_next(&cursor, &list[count]);)
        count++;
    for (size_t i = 0; i < set_count; i++) {
        db_label_t *found = s_label_find(list, count, set[i].key);
        if (found)
            found->value = set[i].value;
        else
            list[count++] = set[i];
    }
    for (size_t i = 0; i < remove_count; i++) {
        db_label_t *found = s_label_find(list, count, remove[i]);
        if (found)
            *found = list[--count];
    }
    qsort(list, count, sizeof(*list), s_label_cmp);
    size_t used = 0;
    out[0] = '\0';
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        int n = snprintf(out + used, DB_HOST_LABELS_MAX + 1 - used, "%s=%s\n",
                         list[i].key, list[i].value);
        if (n < 0 || (size_t)n > DB_HOST_LABELS_MAX - used)
            rc = -1;
        else
            used += (size_t)n;
    }
    free(list);
    return rc;
}

int db_host_labels_set(db_t *self, const char *host, const db_label_t *set,
                       size_t set_count, const char *const *remove,
                       size_t remove_count, char labels[DB_HOST_LABELS_MAX + 1],
                       db_err_t *err)
{
    static const char sql[] = "UPDATE hosts SET labels = ?2 WHERE name = ?1";
    for (size_t i = 0; i < set_count; i++)
        if (!s_label_ok(&set[i])) {
            db_errorf(err, DB_ERR_INVALID,
                      "host %s: label \"%s\" cannot be stored", host,
                      set[i].key);
            return -1;
        }
    char current[DB_HOST_LABELS_MAX + 1];
    if (db_begin(self, err) != 0)
        return -1;
    sqlite3_stmt *stmt = NULL;
    if (db_host_labels_get(self, host, current, err) != 0)
        goto fail;
    if (s_labels_merge(current, set, set_count, remove, remove_count, labels) !=
        0) {
        db_errorf(err, DB_ERR_INVALID, "host %s: labels longer than %d bytes",
                  host, DB_HOST_LABELS_MAX);
        goto fail;
    }
    if (!(stmt = db_stmt(self, sql, err)))
        goto fail;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, labels, -1, SQLITE_STATIC);
    if (s_step(self, stmt, "storing host labels", err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

/* ---- refusals -------------------------------------------------------- */

int db_host_refusal_set(db_t *self, const char *host, int64_t policy_revision,
                        const char *reason, int64_t now_ms, db_err_t *err)
{
    static const char sql[] =
        "INSERT INTO host_refusals (host_id, policy_revision, reason,"
        " refused_at) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (host_id) DO UPDATE SET"
        " policy_revision = excluded.policy_revision,"
        " reason = excluded.reason, refused_at = excluded.refused_at";
    static const char sql_policy[] =
        "SELECT count(*) FROM policies WHERE revision = ?1";
    size_t len = reason ? strlen(reason) : 0;
    if (len == 0 || len > DB_REFUSAL_REASON_MAX) {
        db_errorf(err, DB_ERR_INVALID,
                  "host %s: a refusal reason is 1 to %d bytes", host,
                  DB_REFUSAL_REASON_MAX);
        return -1;
    }
    if (db_begin(self, err) != 0)
        return -1;
    int64_t host_id, known = 0;
    uint64_t revision;
    sqlite3_stmt *stmt = NULL;
    if (s_host_desired_lookup(self, host, &host_id, &revision, err) != 0 ||
        !(stmt = db_stmt(self, sql_policy, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, policy_revision);
    if (db_step_returning(self, stmt, "looking up a policy", &known, err) != 0)
        goto fail;
    if (!known) {
        db_errorf(err, DB_ERR_NOT_FOUND, "no policy revision %lld",
                  (long long)policy_revision);
        goto fail;
    }
    if (!(stmt = db_stmt(self, sql, err)))
        goto fail;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, policy_revision);
    sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, now_ms);
    if (s_step(self, stmt, "storing a refusal", err) != 0 ||
        db_commit(self, err) != 0)
        goto fail;
    return 0;

fail:
    db_rollback(self);
    return -1;
}

int db_host_refusal_clear(db_t *self, const char *host, db_err_t *err)
{
    static const char sql[] =
        "DELETE FROM host_refusals WHERE ?1 IS NULL"
        " OR host_id = (SELECT id FROM hosts WHERE name = ?1)";
    if (db_begin(self, err) != 0)
        return -1;
    sqlite3_stmt *stmt = db_stmt(self, sql, err);
    if (stmt && host)
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (!stmt || db_step_done(self, stmt, "clearing refusals", err) != 0 ||
        db_commit(self, err) != 0) {
        db_rollback(self);
        return -1;
    }
    return 0;
}

static int s_refusal_each(sqlite3_stmt *stmt, void *cb, void *arg)
{
    db_host_refusal_t row;
    memset(&row, 0, sizeof(row));
    db_column_text(stmt, 0, row.host, sizeof(row.host));
    row.policy_revision = sqlite3_column_int64(stmt, 1);
    db_column_text(stmt, 2, row.reason, sizeof(row.reason));
    row.refused_at_ms = sqlite3_column_int64(stmt, 3);
    return ((db_host_refusal_cb *)cb)(&row, arg);
}

static int s_refusal_copy(const db_host_refusal_t *row, void *arg)
{
    *(db_host_refusal_t *)arg = *row;
    return 0;
}

int db_host_refusal_get(db_t *self, const char *host, db_host_refusal_t *out,
                        db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = db_stmt(self, db_sql_host_refusal_get, err);
    if (!stmt)
        return -1;
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (db_query_rows(self, stmt, "reading a refusal", s_refusal_each,
                      (void *)s_refusal_copy, out, err) != 0)
        return -1;
    if (!out->reason[0]) {
        db_errorf(err, DB_ERR_NOT_FOUND,
                  "host \"%s\" is unknown or has no refusal", host);
        return -1;
    }
    return 0;
}

int db_host_refusals_list(db_t *self, db_host_refusal_cb *cb, void *arg,
                          db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_host_refusals_list, err);
    if (!stmt)
        return -1;
    return db_query_rows(self, stmt, "listing refusals", s_refusal_each,
                         (void *)cb, arg, err);
}

/* ---- the admin API's rollout views ----------------------------------- */

const char db_sql_apply_status_filter[] =
    "SELECT h.name, d.revision, d.applied_revision, d.policy_revision,"
    " s.state, s.ok_count, s.failed_count, s.sent_at, s.answered_at,"
    " r.reason"
    " FROM hosts h CROSS JOIN host_desired d ON d.host_id = h.id"
    " CROSS JOIN apply_status s ON s.host_id = d.host_id"
    " AND s.revision = d.revision"
    " LEFT JOIN host_refusals r ON r.host_id = h.id"
    " WHERE h.name BETWEEN coalesce(?2, ?1, '') AND coalesce(?1, x'ff')"
    " AND (?2 IS NULL OR h.name > ?2)"
    " AND s.state BETWEEN coalesce(?3, '') AND coalesce(?3, x'ff')"
    " AND (?5 IS NULL OR (r.host_id IS NOT NULL) = ?5)"
    " ORDER BY h.name LIMIT ?4";

/* One walk of the desired states (one apply status each, its key): at
 * 10,000 hosts a few milliseconds, with no index on state to maintain. */
const char db_sql_apply_counts[] =
    "SELECT count(*),"
    " coalesce(sum(r.host_id IS NULL AND s.state = 'pending'), 0),"
    " coalesce(sum(r.host_id IS NULL AND s.state = 'ok'), 0),"
    " coalesce(sum(r.host_id IS NULL AND s.state = 'failed'), 0),"
    " coalesce(sum(r.host_id IS NOT NULL), 0),"
    " coalesce(sum(EXISTS (SELECT 1 FROM drift x"
    "  WHERE x.host_id = d.host_id)), 0)"
    " FROM host_desired d CROSS JOIN apply_status s"
    " ON s.host_id = d.host_id AND s.revision = d.revision"
    " LEFT JOIN host_refusals r ON r.host_id = d.host_id";

const char db_sql_drift_page[] =
    "SELECT h.name, x.pf, x.idx, x.attribute, x.wanted, x.has, x.seen_at"
    " FROM hosts h CROSS JOIN drift x ON x.host_id = h.id"
    " WHERE h.name BETWEEN coalesce(?2, ?1, '') AND coalesce(?1, x'ff')"
    " AND (?2 IS NULL OR h.name > ?2 OR (x.pf, x.idx, x.attribute) >"
    " (?3, ?4, ?5))"
    " ORDER BY h.name, x.pf, x.idx, x.attribute LIMIT ?6";

int db_apply_status_filter(db_t *self, const db_apply_status_filter_t *filter,
                           const db_page_t *page, db_apply_status_cb *cb,
                           void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_apply_status_filter, err);
    if (!stmt)
        return -1;
    if (filter && filter->host)
        sqlite3_bind_text(stmt, 1, filter->host, -1, SQLITE_STATIC);
    if (page && page->host)
        sqlite3_bind_text(stmt, 2, page->host, -1, SQLITE_STATIC);
    if (filter && filter->by_state) {
        sqlite3_bind_text(stmt, 3, db_apply_state_name(filter->state), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int(stmt, 5, 0);
    } else if (filter && filter->refused) {
        sqlite3_bind_int(stmt, 5, 1);
    }
    sqlite3_bind_int64(stmt, 4, page && page->limit > 0 ? page->limit : -1);
    return db_query_rows(self, stmt, "listing apply status", s_status_each,
                         (void *)cb, arg, err);
}

static int s_counts_copy(sqlite3_stmt *stmt, void *cb, void *arg)
{
    (void)cb;
    db_apply_counts_t *out = arg;
    out->hosts = sqlite3_column_int64(stmt, 0);
    out->pending = sqlite3_column_int64(stmt, 1);
    out->ok = sqlite3_column_int64(stmt, 2);
    out->failed = sqlite3_column_int64(stmt, 3);
    out->refused = sqlite3_column_int64(stmt, 4);
    out->drifted = sqlite3_column_int64(stmt, 5);
    return 0;
}

int db_apply_counts(db_t *self, db_apply_counts_t *out, db_err_t *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = db_stmt(self, db_sql_apply_counts, err);
    if (!stmt)
        return -1;
    return db_query_rows(self, stmt, "counting apply states", s_counts_copy,
                         NULL, out, err);
}

int db_drift_page(db_t *self, const char *host, const db_drift_row_t *after,
                  int64_t limit, db_drift_cb *cb, void *arg, db_err_t *err)
{
    sqlite3_stmt *stmt = db_stmt(self, db_sql_drift_page, err);
    if (!stmt)
        return -1;
    if (host)
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    if (after) {
        sqlite3_bind_text(stmt, 2, after->host, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, after->item.pf, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 4, after->item.index);
        sqlite3_bind_text(stmt, 5, after->item.attribute, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(stmt, 6, limit > 0 ? limit : -1);
    return db_query_rows(self, stmt, "listing drift", s_drift_each, (void *)cb,
                         arg, err);
}
