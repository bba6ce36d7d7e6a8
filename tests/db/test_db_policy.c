/* test_db_policy.c - unit tests for policy revisions, desired states,
 * apply results, drift and refusals (db_policy.c, schema versions 4 and
 * 5), on real
 * SQLite files, with every SQLite allocation of each write, each read and
 * the migration failing in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_db_file.h"
#include "vfleet_db.h"

typedef struct {
    char dir[64];
    char path[128];
    db_t *db;
} fixture_t;

static const char s_sha_a[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char s_sha_b[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void s_hello(db_t *db, const char *host)
{
    db_err_t err;
    vfp_hello_t hello = {0};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", host);
    assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
}

/* A fresh file with hosts h1 and h2. */
static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vfleet-test-policy.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/vfleet.db", fx->dir);
    db_err_t err;
    fx->db = db_open(fx->path, &err);
    assert_non_null(fx->db);
    s_hello(fx->db, "h1");
    s_hello(fx->db, "h2");
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char file[160];
        snprintf(file, sizeof(file), "%s%s", fx->path, suffixes[i]);
        unlink(file);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void s_reopen(fixture_t *fx)
{
    db_err_t err;
    db_destroy(&fx->db);
    fx->db = db_open(fx->path, &err);
    assert_non_null(fx->db);
}

/* One integer from a raw connection, beside the handle under test. */
static int s_raw_int(const char *path, const char *sql)
{
    sqlite3 *raw = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    if (sqlite3_prepare_v2(raw, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(raw));
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int value = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    return value;
}

static int s_raw(const char *path, const char *sql)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    int rc = sqlite3_exec(raw, sql, NULL, NULL, NULL);
    sqlite3_close(raw);
    return rc;
}

static int64_t s_store(db_t *db, const char *text, const char *sha,
                       const char *message)
{
    db_err_t err;
    int64_t revision = 0;
    assert_int_equal(db_policy_store(db, text, sha, message, "Ann <a@x>",
                                     "0123abcd", 100, &revision, &err),
                     0);
    return revision;
}

/* ---- policies -------------------------------------------------------- */

static void test_policy_revisions_grow(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_policy_row_t row;
    assert_int_equal(db_policy_latest(fx->db, &row, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);

    assert_int_equal(s_store(fx->db, "version: 1\n", s_sha_a, "first"), 1);
    assert_int_equal(s_store(fx->db, "version: 1\n# b\n", s_sha_b, ""), 2);
    assert_int_equal(db_policy_get(fx->db, 1, &row, &err), 0);
    assert_int_equal(row.revision, 1);
    assert_string_equal(row.text, "version: 1\n");
    assert_int_equal(row.text_len, strlen("version: 1\n"));
    assert_string_equal(row.sha256, s_sha_a);
    assert_string_equal(row.message, "first");
    assert_string_equal(row.author, "Ann <a@x>");
    assert_string_equal(row.commit_id, "0123abcd");
    assert_int_equal(row.created_at_ms, 100);
    db_policy_row_clear(&row);
    assert_null(row.text);
    db_policy_row_clear(&row);

    assert_int_equal(db_policy_latest(fx->db, &row, &err), 0);
    assert_int_equal(row.revision, 2);
    assert_string_equal(row.text, "version: 1\n# b\n");
    db_policy_row_clear(&row);
    assert_int_equal(db_policy_get(fx->db, 3, &row, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.text, "revision 3"));

    /* Revisions are kept across reopening: the next is still 3. */
    s_reopen(fx);
    assert_int_equal(s_store(fx->db, "x", s_sha_a, NULL), 3);
}

static void test_policy_store_refuses_bad_fields(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    int64_t revision = -1;
    char upper[65];
    snprintf(upper, sizeof(upper), "%s", s_sha_b);
    upper[10] = 'A';
    const char *shas[] = {"abc", upper, NULL};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(db_policy_store(fx->db, "x", shas[i], "", "", "", 1,
                                         &revision, &err),
                         -1);
        assert_int_equal(err.code, DB_ERR_INVALID);
        assert_non_null(strstr(err.text, "sha256"));
    }
    char long_author[DB_POLICY_AUTHOR_MAX + 2];
    memset(long_author, 'a', sizeof(long_author) - 1);
    long_author[sizeof(long_author) - 1] = '\0';
    assert_int_equal(db_policy_store(fx->db, "x", s_sha_a, "", long_author, "",
                                     1, &revision, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_non_null(strstr(err.text, "author"));
    char long_commit[DB_POLICY_COMMIT_MAX + 2];
    memset(long_commit, 'f', sizeof(long_commit) - 1);
    long_commit[sizeof(long_commit) - 1] = '\0';
    assert_int_equal(db_policy_store(fx->db, "x", s_sha_a, "", "", long_commit,
                                     1, &revision, &err),
                     -1);
    assert_non_null(strstr(err.text, "commit id"));
    /* Exactly at the limits is fine. */
    long_author[DB_POLICY_AUTHOR_MAX] = '\0';
    long_commit[DB_POLICY_COMMIT_MAX] = '\0';
    assert_int_equal(db_policy_store(fx->db, "x", s_sha_a, "", long_author,
                                     long_commit, 1, &revision, &err),
                     0);
    assert_int_equal(revision, 1);
    assert_int_equal(s_raw_int(fx->path, "SELECT count(*) FROM policies"), 1);
}

typedef struct {
    int64_t revisions[16];
    int count;
    int stop_after; /* 0: never */
} s_history_t;

static int s_history_collect(const db_policy_row_t *row, void *arg)
{
    s_history_t *h = arg;
    assert_null(row->text);
    h->revisions[h->count++] = row->revision;
    return h->stop_after && h->count == h->stop_after ? -1 : 0;
}

/* History is newest first and pages backwards; a rollback is a new
 * revision on top, never a return to the old number. */
static void test_policy_history_order(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_history_t h = {0};
    assert_int_equal(
        db_policy_history(fx->db, 0, 0, s_history_collect, &h, &err), 0);
    assert_int_equal(h.count, 0);
    s_store(fx->db, "A", s_sha_a, "a");
    s_store(fx->db, "B", s_sha_b, "b");
    s_store(fx->db, "A", s_sha_a, "roll back to 1");
    s_store(fx->db, "C", s_sha_b, "c");
    s_store(fx->db, "D", s_sha_b, "d");

    assert_int_equal(
        db_policy_history(fx->db, 0, 0, s_history_collect, &h, &err), 0);
    assert_int_equal(h.count, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h.revisions[i], 5 - i);

    h = (s_history_t){0};
    assert_int_equal(
        db_policy_history(fx->db, 4, 2, s_history_collect, &h, &err), 0);
    assert_int_equal(h.count, 2);
    assert_int_equal(h.revisions[0], 3);
    assert_int_equal(h.revisions[1], 2);

    h = (s_history_t){.stop_after = 1};
    assert_int_equal(
        db_policy_history(fx->db, 0, 0, s_history_collect, &h, &err), -1);
    assert_int_equal(err.code, DB_OK);
    assert_int_equal(h.count, 1);

    db_policy_row_t row;
    assert_int_equal(db_policy_get(fx->db, 3, &row, &err), 0);
    assert_string_equal(row.text, "A");
    assert_string_equal(row.message, "roll back to 1");
    db_policy_row_clear(&row);
}

/* ---- desired states -------------------------------------------------- */

static void s_desired_set(db_t *db, const char *host, int64_t policy,
                          uint64_t revision, const char *bytes, int64_t now)
{
    db_err_t err;
    if (db_host_desired_set(db, host, policy, revision, bytes, strlen(bytes),
                            now, &err) != 0)
        fail_msg("desired_set %s %llu: %s", host, (unsigned long long)revision,
                 err.text);
}

static uint64_t s_next(db_t *db, const char *host)
{
    db_err_t err;
    uint64_t next = 0;
    assert_int_equal(db_host_desired_next(db, host, &next, &err), 0);
    return next;
}

static void test_desired_revision_survives_reopen(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    int64_t policy = s_store(fx->db, "A", s_sha_a, "");
    assert_int_equal(s_next(fx->db, "h1"), 1);
    s_desired_set(fx->db, "h1", policy, 1, "apply-1", 10);
    assert_int_equal(s_next(fx->db, "h1"), 2);
    assert_int_equal(s_next(fx->db, "h2"), 1);

    s_reopen(fx);
    assert_int_equal(s_next(fx->db, "h1"), 2);
    /* Placement changes the desired state under the same policy. */
    s_desired_set(fx->db, "h1", policy, 2, "apply-2", 20);
    /* The caller may jump ahead (to pass what an agent already holds). */
    s_desired_set(fx->db, "h1", 0, 7, "apply-7\0tail", 30);
    s_reopen(fx);
    assert_int_equal(s_next(fx->db, "h1"), 8);

    db_host_desired_t desired;
    assert_int_equal(db_host_desired_get(fx->db, "h1", &desired, &err), 0);
    assert_int_equal(desired.revision, 7);
    assert_int_equal(desired.policy_revision, 0);
    assert_int_equal(desired.applied_revision, 0);
    assert_int_equal(desired.created_at_ms, 30);
    assert_int_equal(desired.apply_len, strlen("apply-7"));
    assert_memory_equal(desired.apply, "apply-7", desired.apply_len);
    db_host_desired_clear(&desired);
    assert_null(desired.apply);

    /* Bytes are kept as given, zero bytes included. */
    static const uint8_t binary[] = {0x56, 0x46, 0x00, 0x01, 0xff, 0x00};
    assert_int_equal(db_host_desired_set(fx->db, "h1", policy, 8, binary,
                                         sizeof(binary), 40, &err),
                     0);
    assert_int_equal(db_host_desired_get(fx->db, "h1", &desired, &err), 0);
    assert_int_equal(desired.apply_len, sizeof(binary));
    assert_memory_equal(desired.apply, binary, sizeof(binary));
    assert_int_equal(desired.policy_revision, policy);
    db_host_desired_clear(&desired);
}

static void test_desired_set_refuses_and_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 5, "five", 10);
    const uint64_t stale[] = {5, 4, 1};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            db_host_desired_set(fx->db, "h1", 0, stale[i], "x", 1, 20, &err),
            -1);
        assert_int_equal(err.code, DB_ERR_INVALID);
        assert_non_null(strstr(err.text, "stored revision 5"));
    }
    /* No APPLY bytes, a revision SQLite cannot hold, a policy that was
     * never stored. */
    assert_int_equal(db_host_desired_set(fx->db, "h1", 0, 6, "x", 0, 20, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(
        db_host_desired_set(fx->db, "h1", 0, UINT64_MAX, "x", 1, 20, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(db_host_desired_set(fx->db, "h1", 9, 6, "x", 1, 20, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(
        db_host_desired_set(fx->db, "nosuch", 0, 1, "x", 1, 20, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);

    db_host_desired_t desired;
    assert_int_equal(db_host_desired_get(fx->db, "h1", &desired, &err), 0);
    assert_int_equal(desired.revision, 5);
    assert_memory_equal(desired.apply, "five", 4);
    assert_int_equal(desired.created_at_ms, 10);
    db_host_desired_clear(&desired);
    assert_int_equal(db_host_desired_get(fx->db, "h2", &desired, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_null(desired.apply);
    assert_int_equal(db_host_desired_get(fx->db, "nosuch", &desired, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    uint64_t next;
    assert_int_equal(db_host_desired_next(fx->db, "nosuch", &next, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
}

/* ---- apply results --------------------------------------------------- */

static vfp_result_t s_result(vfp_item_kind_t kind, const char *pf,
                             uint16_t index, const char *attribute, int err,
                             const char *message)
{
    vfp_result_t r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    snprintf(r.pf, sizeof(r.pf), "%s", pf);
    r.index = index;
    snprintf(r.attribute, sizeof(r.attribute), "%s", attribute);
    r.err = err;
    snprintf(r.message, sizeof(r.message), "%s", message);
    return r;
}

typedef struct {
    db_apply_status_row_t rows[8];
    int count;
} s_statuses_t;

static int s_status_collect(const db_apply_status_row_t *row, void *arg)
{
    s_statuses_t *out = arg;
    assert_true(out->count < 8);
    out->rows[out->count++] = *row;
    return 0;
}

/* The status row of one host (the listing paged to start at it). */
static db_apply_status_row_t s_status(db_t *db, const char *host)
{
    s_statuses_t out = {0};
    db_err_t err;
    assert_int_equal(
        db_apply_status_list(db, NULL, s_status_collect, &out, &err), 0);
    for (int i = 0; i < out.count; i++) {
        if (strcmp(out.rows[i].host, host) == 0)
            return out.rows[i];
    }
    fail_msg("no apply status for %s", host);
    return out.rows[0];
}

typedef struct {
    vfp_result_t items[8];
    int count;
} s_failures_t;

static int s_failure_collect(const vfp_result_t *item, void *arg)
{
    s_failures_t *out = arg;
    assert_true(out->count < 8);
    out->items[out->count++] = *item;
    return 0;
}

static int s_failure_rows(const char *path)
{
    return s_raw_int(path, "SELECT count(*) FROM apply_failures");
}

static void test_stale_result_is_refused(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    vfp_result_t failed =
        s_result(VFP_ITEM_VF, "0000:81:00.0", 3, "vlan", EINVAL, "bad");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, &failed, 1, 50, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(
        db_apply_result_record(fx->db, "nosuch", 1, &failed, 1, 50, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);

    s_desired_set(fx->db, "h1", 0, 1, "one", 10);
    s_desired_set(fx->db, "h1", 0, 2, "two", 20);
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, &failed, 1, 50, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_non_null(strstr(err.text, "revision 1"));
    assert_non_null(strstr(err.text, "desired revision is 2"));
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 3, &failed, 1, 50, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);

    db_apply_status_row_t row = s_status(fx->db, "h1");
    assert_int_equal(row.revision, 2);
    assert_int_equal(row.state, DB_APPLY_PENDING);
    assert_int_equal(row.sent_at_ms, 20);
    assert_int_equal(row.answered_at_ms, 0);
    assert_int_equal(row.ok_count + row.failed_count, 0);
    assert_int_equal(s_failure_rows(fx->path), 0);

    /* An item that is no item is refused before anything is written. */
    vfp_result_t odd = failed;
    odd.kind = (vfp_item_kind_t)9;
    assert_int_equal(db_apply_result_record(fx->db, "h1", 2, &odd, 1, 50, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    odd = failed;
    odd.err = -1;
    assert_int_equal(db_apply_result_record(fx->db, "h1", 2, &odd, 1, 50, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(s_status(fx->db, "h1").state, DB_APPLY_PENDING);
}

static void test_failures_stored_with_errno_and_message(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 4, "four", 10);
    vfp_result_t results[] = {
        s_result(VFP_ITEM_NUM_VFS, "0000:81:00.0", 0, "num_vfs", 0, ""),
        s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "mac", 0, ""),
        s_result(VFP_ITEM_VF, "0000:81:00.0", 1, "vlan", EINVAL,
                 "Invalid VLAN 5000"),
        s_result(VFP_ITEM_VF, "0000:81:00.0", 1, "mac", 0, ""),
        s_result(VFP_ITEM_HUGEPAGES, "", 0, "2048kB", ENOMEM,
                 "only 100 of 512 pages"),
    };
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 4, results, 5, 60, &err), 0);
    db_apply_status_row_t row = s_status(fx->db, "h1");
    assert_int_equal(row.state, DB_APPLY_FAILED);
    assert_int_equal(row.ok_count, 3);
    assert_int_equal(row.failed_count, 2);
    assert_int_equal(row.answered_at_ms, 60);
    assert_int_equal(row.applied_revision, 0);

    s_failures_t out = {0};
    assert_int_equal(
        db_apply_failures_list(fx->db, "h1", s_failure_collect, &out, &err), 0);
    assert_int_equal(out.count, 2);
    assert_int_equal(out.items[0].kind, VFP_ITEM_VF);
    assert_string_equal(out.items[0].pf, "0000:81:00.0");
    assert_int_equal(out.items[0].index, 1);
    assert_string_equal(out.items[0].attribute, "vlan");
    assert_int_equal(out.items[0].err, EINVAL);
    assert_string_equal(out.items[0].message, "Invalid VLAN 5000");
    assert_int_equal(out.items[1].kind, VFP_ITEM_HUGEPAGES);
    assert_string_equal(out.items[1].pf, "");
    assert_string_equal(out.items[1].attribute, "2048kB");
    assert_int_equal(out.items[1].err, ENOMEM);
    assert_string_equal(out.items[1].message, "only 100 of 512 pages");

    /* The agent answers the same revision again (it re-applied after a
     * restart): the new answer replaces the old one. */
    results[2].err = 0;
    results[4].err = 0;
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 4, results, 5, 70, &err), 0);
    row = s_status(fx->db, "h1");
    assert_int_equal(row.state, DB_APPLY_OK);
    assert_int_equal(row.ok_count, 5);
    assert_int_equal(row.failed_count, 0);
    assert_int_equal(row.applied_revision, 4);
    assert_int_equal(s_failure_rows(fx->path), 0);

    /* A new desired state starts pending again, and keeps what the host
     * last applied. */
    s_desired_set(fx->db, "h1", 0, 5, "five", 80);
    row = s_status(fx->db, "h1");
    assert_int_equal(row.state, DB_APPLY_PENDING);
    assert_int_equal(row.revision, 5);
    assert_int_equal(row.applied_revision, 4);
    assert_int_equal(row.sent_at_ms, 80);
    assert_int_equal(row.answered_at_ms, 0);
    assert_int_equal(s_raw_int(fx->path, "SELECT count(*) FROM apply_status"),
                     1);
}

/* A new desired state drops the failures stored for the old one. */
static void test_superseded_failures_are_dropped(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 1, "one", 10);
    vfp_result_t failed =
        s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "trust", EPERM, "no");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, &failed, 1, 20, &err), 0);
    assert_int_equal(s_failure_rows(fx->path), 1);
    s_desired_set(fx->db, "h1", 0, 2, "two", 30);
    assert_int_equal(s_failure_rows(fx->path), 0);
    s_failures_t out = {0};
    assert_int_equal(
        db_apply_failures_list(fx->db, "h1", s_failure_collect, &out, &err), 0);
    assert_int_equal(out.count, 0);
}

/* A full-size APPLY that succeeds writes its status row and nothing else. */
static void test_ok_only_results_store_no_items(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 1, "one", 10);
    uint32_t count = VFP_APPLY_VFS_MAX;
    vfp_result_t *results = calloc(count, sizeof(*results));
    assert_non_null(results);
    for (uint32_t i = 0; i < count; i++)
        results[i] = s_result(VFP_ITEM_VF, "0000:81:00.0", (uint16_t)(i % 1024),
                              "mac", 0, "");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, results, count, 20, &err), 0);
    free(results);
    assert_int_equal(s_failure_rows(fx->path), 0);
    db_apply_status_row_t row = s_status(fx->db, "h1");
    assert_int_equal(row.state, DB_APPLY_OK);
    assert_int_equal(row.ok_count, count);
    assert_int_equal(row.applied_revision, 1);

    /* An empty answer (nothing to do) is all ok too. */
    s_desired_set(fx->db, "h1", 0, 2, "two", 30);
    assert_int_equal(db_apply_result_record(fx->db, "h1", 2, NULL, 0, 40, &err),
                     0);
    row = s_status(fx->db, "h1");
    assert_int_equal(row.state, DB_APPLY_OK);
    assert_int_equal(row.ok_count, 0);
    assert_int_equal(row.applied_revision, 2);
}

static void test_apply_status_lists_by_host_in_pages(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_hello(fx->db, "h3");
    int64_t policy = s_store(fx->db, "A", s_sha_a, "");
    s_desired_set(fx->db, "h3", policy, 1, "x", 10);
    s_desired_set(fx->db, "h1", 0, 2, "x", 10);
    s_statuses_t out = {0};
    assert_int_equal(
        db_apply_status_list(fx->db, NULL, s_status_collect, &out, &err), 0);
    /* h2 has no desired state and is not listed. */
    assert_int_equal(out.count, 2);
    assert_string_equal(out.rows[0].host, "h1");
    assert_int_equal(out.rows[0].revision, 2);
    assert_int_equal(out.rows[0].policy_revision, 0);
    assert_string_equal(out.rows[1].host, "h3");
    assert_int_equal(out.rows[1].policy_revision, policy);

    out = (s_statuses_t){0};
    db_page_t page = {.limit = 1};
    assert_int_equal(
        db_apply_status_list(fx->db, &page, s_status_collect, &out, &err), 0);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.rows[0].host, "h1");
    page.host = "h1";
    out = (s_statuses_t){0};
    assert_int_equal(
        db_apply_status_list(fx->db, &page, s_status_collect, &out, &err), 0);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.rows[0].host, "h3");
}

static int s_count_rows(const db_apply_status_row_t *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

/* The admin thread reads through a read-only connection beside the
 * writer. */
static void test_readonly_connection_reads(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_store(fx->db, "A", s_sha_a, "");
    s_desired_set(fx->db, "h1", 1, 1, "one", 10);
    db_t *reader = db_open_readonly(fx->path, &err);
    assert_non_null(reader);
    int rows = 0;
    assert_int_equal(
        db_apply_status_list(reader, NULL, s_count_rows, &rows, &err), 0);
    assert_int_equal(rows, 1);
    db_policy_row_t row;
    assert_int_equal(db_policy_latest(reader, &row, &err), 0);
    assert_string_equal(row.text, "A");
    db_policy_row_clear(&row);
    s_desired_set(fx->db, "h2", 1, 1, "one", 20);
    rows = 0;
    assert_int_equal(
        db_apply_status_list(reader, NULL, s_count_rows, &rows, &err), 0);
    assert_int_equal(rows, 2);
    db_destroy(&reader);
}

/* Inside a batch, a refused result rolls back only itself. */
static void test_batch_keeps_refusals_apart(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 2, "two", 10);
    vfp_result_t ok = s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "mac", 0, "");
    assert_int_equal(db_batch_begin(fx->db, &err), 0);
    assert_int_equal(db_apply_result_record(fx->db, "h1", 1, &ok, 1, 20, &err),
                     -1);
    assert_int_equal(db_apply_result_record(fx->db, "h1", 2, &ok, 1, 20, &err),
                     0);
    assert_int_equal(s_store(fx->db, "A", s_sha_a, ""), 1);
    assert_int_equal(db_batch_commit(fx->db, &err), 0);
    s_reopen(fx);
    assert_int_equal(s_status(fx->db, "h1").state, DB_APPLY_OK);
    db_policy_row_t row;
    assert_int_equal(db_policy_latest(fx->db, &row, &err), 0);
    db_policy_row_clear(&row);
}

/* A refusal is one row per host, replaced by the next, cleared per host
 * or all at once, and refused for an unknown host, an unknown policy
 * revision or an empty reason. */
static int s_refusal_count(const db_host_refusal_t *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static void test_refusals_set_get_clear(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(s_store(fx->db, "A", s_sha_a, ""), 1);
    assert_int_equal(s_store(fx->db, "B", s_sha_b, ""), 2);
    db_host_refusal_t row;
    assert_int_equal(db_host_refusal_get(fx->db, "h1", &row, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(db_host_refusal_set(fx->db, "h1", 1, "first", 10, &err),
                     0);
    assert_int_equal(db_host_refusal_set(fx->db, "h1", 2, "second", 20, &err),
                     0);
    assert_int_equal(db_host_refusal_set(fx->db, "h2", 2, "other", 30, &err),
                     0);
    assert_int_equal(db_host_refusal_get(fx->db, "h1", &row, &err), 0);
    assert_string_equal(row.host, "h1");
    assert_int_equal(row.policy_revision, 2);
    assert_string_equal(row.reason, "second");
    assert_int_equal(row.refused_at_ms, 20);
    int rows = 0;
    assert_int_equal(
        db_host_refusals_list(fx->db, s_refusal_count, &rows, &err), 0);
    assert_int_equal(rows, 2);

    assert_int_equal(db_host_refusal_set(fx->db, "nosuch", 1, "x", 1, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(db_host_refusal_set(fx->db, "h1", 9, "x", 1, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(db_host_refusal_set(fx->db, "h1", 1, "", 1, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);

    assert_int_equal(db_host_refusal_clear(fx->db, "h1", &err), 0);
    assert_int_equal(db_host_refusal_get(fx->db, "h1", &row, &err), -1);
    assert_int_equal(db_host_refusal_get(fx->db, "h2", &row, &err), 0);
    assert_int_equal(db_host_refusal_clear(fx->db, NULL, &err), 0);
    rows = 0;
    assert_int_equal(
        db_host_refusals_list(fx->db, s_refusal_count, &rows, &err), 0);
    assert_int_equal(rows, 0);
}

/* A rolled back batch leaves nothing of what it did. */
static void test_batch_rollback_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_batch_begin(fx->db, &err), 0);
    assert_int_equal(s_store(fx->db, "A", s_sha_a, ""), 1);
    s_desired_set(fx->db, "h1", 1, 1, "one", 10);
    db_batch_rollback(fx->db);
    db_policy_row_t row;
    assert_int_equal(db_policy_latest(fx->db, &row, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    db_host_desired_t desired;
    assert_int_equal(db_host_desired_get(fx->db, "h1", &desired, &err), -1);
    /* The connection writes again afterwards. */
    assert_int_equal(s_store(fx->db, "A", s_sha_a, ""), 1);
}

static void s_unlink_db(const char *path);

/* A version 4 file keeps its rows and gets the refusals table. */
static void test_migrates_from_version_4(void **state)
{
    fixture_t *fx = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/v4.db", fx->dir);
    db_err_t err;
    db_t *db = db_open_version(path, 4, &err);
    assert_non_null(db);
    s_hello(db, "h1");
    assert_int_equal(s_store(db, "A", s_sha_a, "m"), 1);
    s_desired_set(db, "h1", 1, 3, "three", 10);
    db_destroy(&db);
    assert_int_equal(s_raw(path, "SELECT 1 FROM host_refusals"), SQLITE_ERROR);
    db = db_open(path, &err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_host_desired_t desired;
    assert_int_equal(db_host_desired_get(db, "h1", &desired, &err), 0);
    assert_int_equal(desired.revision, 3);
    db_host_desired_clear(&desired);
    assert_int_equal(db_host_refusal_set(db, "h1", 1, "busy", 20, &err), 0);
    db_destroy(&db);
    assert_int_equal(s_raw_int(path, "SELECT count(*) FROM host_refusals"), 1);
    s_unlink_db(path);
}

/* Everything about a host goes with it. */
static void test_host_rows_cascade(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_desired_set(fx->db, "h1", 0, 1, "one", 10);
    vfp_result_t failed =
        s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "mac", EINVAL, "bad");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, &failed, 1, 20, &err), 0);
    db_drift_item_t drift = {.pf = "0000:81:00.0", .attribute = "mac"};
    assert_int_equal(db_drift_replace(fx->db, "h1", &drift, 1, 30, &err), 0);
    db_destroy(&fx->db);
    assert_int_equal(s_raw(fx->path, "PRAGMA foreign_keys = ON;"
                                     "DELETE FROM hosts WHERE name = 'h1'"),
                     SQLITE_OK);
    const char *tables[] = {"host_desired", "apply_status", "apply_failures",
                            "drift"};
    for (size_t i = 0; i < 4; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(s_raw_int(fx->path, sql), 0);
    }
}

/* ---- drift ----------------------------------------------------------- */

typedef struct {
    char keys[8][512];
    int count;
} s_drift_keys_t;

static int s_drift_collect(const db_drift_row_t *row, void *arg)
{
    s_drift_keys_t *out = arg;
    assert_true(out->count < 8);
    snprintf(out->keys[out->count++], sizeof(out->keys[0]),
             "%s/%s/%u/%s:%s>%s@%lld", row->host, row->item.pf, row->item.index,
             row->item.attribute, row->item.wanted, row->item.has,
             (long long)row->seen_at_ms);
    return 0;
}

static db_drift_item_t s_drift(const char *pf, uint16_t index,
                               const char *attribute, const char *wanted,
                               const char *has)
{
    db_drift_item_t item;
    memset(&item, 0, sizeof(item));
    snprintf(item.pf, sizeof(item.pf), "%s", pf);
    item.index = index;
    snprintf(item.attribute, sizeof(item.attribute), "%s", attribute);
    snprintf(item.wanted, sizeof(item.wanted), "%s", wanted);
    snprintf(item.has, sizeof(item.has), "%s", has);
    return item;
}

static void test_drift_replace_and_list(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_drift_item_t h1[] = {
        s_drift("0000:81:00.1", 0, "vlan", "100", "0"),
        s_drift("0000:81:00.0", 2, "trust", "off", "on"),
        s_drift("", 0, "2048kB", "512", "100"),
    };
    db_drift_item_t h2[] = {s_drift("0000:3b:00.0", 0, "num_vfs", "8", "4")};
    assert_int_equal(db_drift_replace(fx->db, "h2", h2, 1, 5, &err), 0);
    assert_int_equal(db_drift_replace(fx->db, "h1", h1, 3, 7, &err), 0);

    s_drift_keys_t out = {0};
    assert_int_equal(db_drift_list(fx->db, NULL, s_drift_collect, &out, &err),
                     0);
    assert_int_equal(out.count, 4);
    assert_string_equal(out.keys[0], "h1//0/2048kB:512>100@7");
    assert_string_equal(out.keys[1], "h1/0000:81:00.0/2/trust:off>on@7");
    assert_string_equal(out.keys[2], "h1/0000:81:00.1/0/vlan:100>0@7");
    assert_string_equal(out.keys[3], "h2/0000:3b:00.0/0/num_vfs:8>4@5");

    out = (s_drift_keys_t){0};
    assert_int_equal(db_drift_list(fx->db, "h2", s_drift_collect, &out, &err),
                     0);
    assert_int_equal(out.count, 1);

    /* A repeated item is refused and the stored report stays. */
    db_drift_item_t twice[] = {h1[0], h1[0]};
    assert_int_equal(db_drift_replace(fx->db, "h1", twice, 2, 9, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(db_drift_replace(fx->db, "nosuch", h1, 1, 9, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    out = (s_drift_keys_t){0};
    assert_int_equal(db_drift_list(fx->db, "h1", s_drift_collect, &out, &err),
                     0);
    assert_int_equal(out.count, 3);

    /* No drift any more. */
    assert_int_equal(db_drift_replace(fx->db, "h1", NULL, 0, 11, &err), 0);
    out = (s_drift_keys_t){0};
    assert_int_equal(db_drift_list(fx->db, NULL, s_drift_collect, &out, &err),
                     0);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.keys[0], "h2/0000:3b:00.0/0/num_vfs:8>4@5");
}

/* ---- schema ---------------------------------------------------------- */

static void test_apply_state_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < DB_APPLY_STATE_COUNT; i++) {
        db_apply_state_t parsed;
        assert_int_equal(db_apply_state_parse(db_apply_state_name(i), &parsed),
                         0);
        assert_int_equal(parsed, i);
    }
    db_apply_state_t parsed = DB_APPLY_OK;
    assert_int_equal(db_apply_state_parse("done", &parsed), -1);
    assert_int_equal(db_apply_state_parse(NULL, &parsed), -1);
    assert_int_equal(parsed, DB_APPLY_OK);
    assert_null(db_apply_state_name(DB_APPLY_STATE_COUNT));
}

static char *s_table_sql(const char *path, const char *table)
{
    sqlite3 *raw = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT sql FROM sqlite_master WHERE "
                                        "type = 'table' AND name = ?1",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    char *sql = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    return sql;
}

/* apply_status's CHECK names exactly the enum's states, and
 * apply_failures' kind range is the codec's item kinds. */
static void test_schema_checks_match_enums(void **state)
{
    fixture_t *fx = *state;
    char *sql = s_table_sql(fx->path, "apply_status");
    int found = 0;
    bool seen[DB_APPLY_STATE_COUNT] = {false};
    for (const char *p = strstr(sql, "state = '"); p;
         p = strstr(p + 1, "state = '")) {
        const char *name = p + strlen("state = '");
        size_t len = strcspn(name, "'");
        int match = -1;
        for (int i = 0; i < DB_APPLY_STATE_COUNT; i++) {
            const char *known = db_apply_state_name(i);
            if (strlen(known) == len && strncmp(known, name, len) == 0)
                match = i;
        }
        if (match < 0)
            fail_msg("apply_status: CHECK names a state the enum lacks: %.*s",
                     (int)len, name);
        seen[match] = true;
        found++;
    }
    assert_int_equal(found, DB_APPLY_STATE_COUNT);
    for (int i = 0; i < DB_APPLY_STATE_COUNT; i++)
        assert_true(seen[i]);
    free(sql);

    sql = s_table_sql(fx->path, "apply_failures");
    char kinds[64];
    snprintf(kinds, sizeof(kinds), "CHECK (kind BETWEEN %d AND %d)",
             VFP_ITEM_NUM_VFS, VFP_ITEM_HUGEPAGES);
    assert_non_null(strstr(sql, kinds));
    free(sql);

    /* And they are constraints: a raw write of another state fails. */
    db_destroy(&fx->db);
    assert_int_equal(s_raw(fx->path, "PRAGMA foreign_keys = OFF;"
                                     "INSERT INTO apply_status (host_id,"
                                     " revision, state, sent_at)"
                                     " VALUES (1, 1, 'done', 1)"),
                     SQLITE_CONSTRAINT);
}

static void s_unlink_db(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char file[160];
        snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

/* A version 3 file with host h1 and policy revision 1 stored raw. */
static void s_make_v3(const char *path)
{
    db_err_t err;
    db_t *db = db_open_version(path, 3, &err);
    assert_non_null(db);
    s_hello(db, "h1");
    db_destroy(&db);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO policies (revision, sha256, text, author,"
             " commit_id, created_at) VALUES (1, '%s', 'old', 'Bo', 'c0ffee',"
             " 5)",
             s_sha_a);
    assert_int_equal(s_raw(path, sql), SQLITE_OK);
}

/* The version 3 policy, as version 4 reads it. */
static void s_assert_migrated(db_t *db)
{
    db_err_t err;
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_policy_row_t row;
    assert_int_equal(db_policy_get(db, 1, &row, &err), 0);
    assert_string_equal(row.text, "old");
    assert_string_equal(row.message, "");
    assert_string_equal(row.author, "Bo");
    assert_string_equal(row.commit_id, "c0ffee");
    db_policy_row_clear(&row);
}

/* A version 3 file keeps its policies (message "") and gets the new
 * tables; version 1's apply_status, which nothing wrote, is replaced. */
static void test_migrates_from_version_3(void **state)
{
    fixture_t *fx = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/v3.db", fx->dir);
    s_make_v3(path);
    assert_int_equal(s_raw(path, "SELECT result FROM apply_status"), SQLITE_OK);
    db_err_t err;
    db_t *db = db_open(path, &err);
    assert_non_null(db);
    s_assert_migrated(db);
    int64_t revision = 0;
    assert_int_equal(
        db_policy_store(db, "new", s_sha_b, "m", "", "", 9, &revision, &err),
        0);
    assert_int_equal(revision, 2);
    s_desired_set(db, "h1", 2, 1, "one", 10);
    db_destroy(&db);
    assert_int_equal(s_raw(path, "SELECT result FROM apply_status"),
                     SQLITE_ERROR);
    s_unlink_db(path);
}

/* ---- allocation failures --------------------------------------------- */

/* What the file holds between the fault rounds. */
typedef struct {
    int64_t latest_policy;
    uint64_t desired;
    db_apply_state_t state;
    int failures;
    int drift;
} s_snapshot_t;

static int s_drift_count(const db_drift_row_t *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static s_snapshot_t s_snapshot(db_t *db, const char *path)
{
    s_snapshot_t snap = {0};
    db_err_t err;
    db_policy_row_t row;
    assert_int_equal(db_policy_latest(db, &row, &err), 0);
    snap.latest_policy = row.revision;
    db_policy_row_clear(&row);
    db_host_desired_t desired;
    assert_int_equal(db_host_desired_get(db, "h1", &desired, &err), 0);
    snap.desired = desired.revision;
    db_host_desired_clear(&desired);
    snap.state = s_status(db, "h1").state;
    snap.failures = s_failure_rows(path);
    assert_int_equal(db_drift_list(db, NULL, s_drift_count, &snap.drift, &err),
                     0);
    return snap;
}

static void s_assert_snapshot(db_t *db, const char *path,
                              const s_snapshot_t *want)
{
    s_snapshot_t got = s_snapshot(db, path);
    assert_int_equal(got.latest_policy, want->latest_policy);
    assert_int_equal(got.desired, want->desired);
    assert_int_equal(got.state, want->state);
    assert_int_equal(got.failures, want->failures);
    assert_int_equal(got.drift, want->drift);
}

/* The write each fault round tries, numbered. */
static int s_fault_write(db_t *db, int which, db_err_t *err)
{
    static const vfp_result_t results[] = {
        {.kind = VFP_ITEM_VF, .pf = "0000:81:00.0", .attribute = "mac"},
        {.kind = VFP_ITEM_VF,
         .pf = "0000:81:00.0",
         .index = 1,
         .attribute = "vlan",
         .err = EINVAL,
         .message = "bad"},
        {.kind = VFP_ITEM_HUGEPAGES,
         .attribute = "2048kB",
         .err = ENOMEM,
         .message = "short"},
    };
    static const db_drift_item_t drift[] = {
        {.pf = "0000:81:00.0", .attribute = "mac", .wanted = "a", .has = "b"},
        {.pf = "0000:81:00.0", .index = 2, .attribute = "vlan"},
    };
    int64_t revision;
    switch (which) {
    case 0:
        return db_policy_store(db, "next", s_sha_b, "m", "a", "c", 50,
                               &revision, err);
    case 1:
        return db_host_desired_set(db, "h1", 1, 3, "three", 5, 50, err);
    case 2:
        return db_apply_result_record(db, "h1", 3, results, 3, 60, err);
    default:
        return db_drift_replace(db, "h1", drift, 2, 70, err);
    }
}

/* Each write fails cleanly at every SQLite allocation in turn: an error,
 * and the file exactly as before; then it succeeds. */
static void test_write_allocation_failures_are_clean(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_store(fx->db, "A", s_sha_a, "");
    s_desired_set(fx->db, "h1", 1, 2, "two", 10);
    vfp_result_t failed =
        s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "trust", EPERM, "no");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 2, &failed, 1, 20, &err), 0);
    db_drift_item_t old = s_drift("", 0, "2048kB", "1", "0");
    assert_int_equal(db_drift_replace(fx->db, "h1", &old, 1, 30, &err), 0);

    s_snapshot_t want = s_snapshot(fx->db, fx->path);
    assert_int_equal(want.failures, 1);
    for (int which = 0; which < 4; which++) {
        int failures = 0;
        for (long fail_at = 1;; fail_at++) {
            /* A fresh handle each round, so that preparing every
             * statement is among the allocations that fail. */
            s_reopen(fx);
            test_db_alloc_fail_at(fail_at);
            int rc = s_fault_write(fx->db, which, &err);
            test_db_alloc_fail_at(0);
            if (rc == 0)
                break;
            failures++;
            assert_int_equal(err.code, DB_ERR_IO);
            assert_true(strlen(err.text) > 0);
            s_assert_snapshot(fx->db, fx->path, &want);
        }
        assert_true(failures > 5);
        const s_snapshot_t after[] = {
            {2, 2, DB_APPLY_FAILED, 1, 1},
            {2, 3, DB_APPLY_PENDING, 0, 1},
            {2, 3, DB_APPLY_FAILED, 2, 1},
            {2, 3, DB_APPLY_FAILED, 2, 2},
        };
        want = after[which];
        s_assert_snapshot(fx->db, fx->path, &want);
    }
}

static int s_count_policy(const db_policy_row_t *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static int s_count_failure(const vfp_result_t *item, void *arg)
{
    (void)item;
    (*(int *)arg)++;
    return 0;
}

/* Each read, under the same faults, either fails with a reason or answers
 * in full. */
static void test_read_allocation_failures_are_clean(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    s_store(fx->db, "A", s_sha_a, "");
    s_store(fx->db, "B", s_sha_b, "");
    s_desired_set(fx->db, "h1", 1, 1, "one", 10);
    vfp_result_t failed =
        s_result(VFP_ITEM_VF, "0000:81:00.0", 0, "trust", EPERM, "no");
    assert_int_equal(
        db_apply_result_record(fx->db, "h1", 1, &failed, 1, 20, &err), 0);
    db_drift_item_t drift = s_drift("", 0, "2048kB", "1", "0");
    assert_int_equal(db_drift_replace(fx->db, "h1", &drift, 1, 30, &err), 0);

    for (int which = 0; which < 6; which++) {
        int failures = 0;
        for (long fail_at = 1;; fail_at++) {
            s_reopen(fx);
            int rows = 0;
            db_policy_row_t policy = {0};
            db_host_desired_t desired = {0};
            test_db_alloc_fail_at(fail_at);
            int rc;
            switch (which) {
            case 0:
                rc = db_policy_latest(fx->db, &policy, &err);
                rows = policy.text && strcmp(policy.text, "B") == 0;
                break;
            case 1:
                rc = db_policy_history(fx->db, 0, 0, s_count_policy, &rows,
                                       &err);
                rows = rows == 2;
                break;
            case 2:
                rc = db_host_desired_get(fx->db, "h1", &desired, &err);
                rows = desired.apply_len == 3;
                break;
            case 3:
                rc = db_apply_status_list(fx->db, NULL, s_count_rows, &rows,
                                          &err);
                break;
            case 4:
                rc = db_apply_failures_list(fx->db, "h1", s_count_failure,
                                            &rows, &err);
                break;
            default:
                rc = db_drift_list(fx->db, NULL, s_drift_count, &rows, &err);
                break;
            }
            test_db_alloc_fail_at(0);
            db_policy_row_clear(&policy);
            db_host_desired_clear(&desired);
            if (rc == 0) {
                assert_int_equal(rows, 1);
                break;
            }
            failures++;
            assert_int_equal(err.code, DB_ERR_IO);
            assert_true(strlen(err.text) > 0);
            assert_null(policy.text);
            assert_null(desired.apply);
        }
        assert_true(failures > 0);
    }
}

/* Migrating a version 3 file fails cleanly at every allocation: the file
 * stays at version 3, whole, and the next open migrates it. */
static void test_migration_allocation_failure_is_clean(void **state)
{
    fixture_t *fx = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/v3.db", fx->dir);
    s_make_v3(path);
    int failures = 0;
    db_t *db = NULL;
    db_err_t err;
    for (long fail_at = 1;; fail_at++) {
        test_db_alloc_fail_at(fail_at);
        db = db_open(path, &err);
        test_db_alloc_fail_at(0);
        if (db)
            break;
        failures++;
        assert_true(strlen(err.text) > 0);
        assert_int_equal(s_raw_int(path, "PRAGMA user_version"), 3);
        assert_int_equal(s_raw_int(path, "SELECT count(*) FROM sqlite_master"
                                         " WHERE name = 'host_desired'"),
                         0);
        assert_int_equal(s_raw_int(path, "SELECT count(*) FROM policies"), 1);
        assert_int_equal(s_raw(path, "SELECT result FROM apply_status"),
                         SQLITE_OK);
    }
    assert_true(failures > 20);
    s_assert_migrated(db);
    db_destroy(&db);
    s_unlink_db(path);
}

/* Labels are stored as "key=value" lines sorted by key; a set replaces a
 * key's value, a remove drops it, an absent remove changes nothing. */
static void test_host_labels_set(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    char labels[DB_HOST_LABELS_MAX + 1];
    const db_label_t set[] = {{"zone", "z1"}, {"rack", "r1"}, {"a/b", "x"}};
    assert_int_equal(
        db_host_labels_set(fx->db, "h1", set, 3, NULL, 0, labels, &err), 0);
    assert_string_equal(labels, "a/b=x\nrack=r1\nzone=z1\n");
    const db_label_t again[] = {{"rack", "r2"}};
    const char *const remove[] = {"zone", "absent"};
    assert_int_equal(
        db_host_labels_set(fx->db, "h1", again, 1, remove, 2, labels, &err), 0);
    assert_string_equal(labels, "a/b=x\nrack=r2\n");
    s_reopen(fx);
    assert_int_equal(db_host_labels_get(fx->db, "h1", labels, &err), 0);
    assert_string_equal(labels, "a/b=x\nrack=r2\n");
    assert_int_equal(db_host_labels_get(fx->db, "h2", labels, &err), 0);
    assert_string_equal(labels, "");
    const char *const all[] = {"a/b", "rack"};
    assert_int_equal(
        db_host_labels_set(fx->db, "h1", NULL, 0, all, 2, labels, &err), 0);
    assert_string_equal(labels, "");
}

static void test_host_labels_set_refusals(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    char labels[DB_HOST_LABELS_MAX + 1];
    const db_label_t ok[] = {{"rack", "r1"}};
    assert_int_equal(
        db_host_labels_set(fx->db, "nohost", ok, 1, NULL, 0, labels, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    const db_label_t bad[][2] = {{{"zone", "z1"}, {"a=b", "x"}},
                                 {{"zone", "z1"}, {"", "x"}},
                                 {{"zone", "z1"}, {"k", "x\ny=z"}},
                                 {{"zone", "z1"}, {"k\n", "x"}}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            db_host_labels_set(fx->db, "h1", bad[i], 2, NULL, 0, labels, &err),
            -1);
        assert_int_equal(err.code, DB_ERR_INVALID);
    }
    /* Longer than the column: refused whole, nothing stored. */
    static char keys[200][16];
    static char value[64];
    db_label_t many[200];
    memset(value, 'v', 63);
    for (size_t i = 0; i < 200; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%03zu", i);
        many[i] = (db_label_t){keys[i], value};
    }
    assert_int_equal(
        db_host_labels_set(fx->db, "h1", many, 200, NULL, 0, labels, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(db_host_labels_get(fx->db, "h1", labels, &err), 0);
    assert_string_equal(labels, "");
}

/* One reader of the stored labels text for every caller: pairs in order,
 * lines without '=' and empty lines skipped, an empty value kept, the
 * last line read without a newline after it. */
static void test_labels_next(void **state)
{
    (void)state;
    char text[] = "rack=r1\n\nbroken\nzone=\ntier=gold";
    char *cursor = text;
    db_label_t label;
    assert_true(db_labels_next(&cursor, &label));
    assert_string_equal(label.key, "rack");
    assert_string_equal(label.value, "r1");
    assert_true(db_labels_next(&cursor, &label));
    assert_string_equal(label.key, "zone");
    assert_string_equal(label.value, "");
    assert_true(db_labels_next(&cursor, &label));
    assert_string_equal(label.key, "tier");
    assert_string_equal(label.value, "gold");
    assert_false(db_labels_next(&cursor, &label));
    assert_false(db_labels_next(&cursor, &label));
    char empty[] = "";
    cursor = empty;
    assert_false(db_labels_next(&cursor, &label));
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_policy_revisions_grow),
        S_TEST(test_policy_store_refuses_bad_fields),
        S_TEST(test_policy_history_order),
        S_TEST(test_desired_revision_survives_reopen),
        S_TEST(test_desired_set_refuses_and_stores_nothing),
        S_TEST(test_stale_result_is_refused),
        S_TEST(test_failures_stored_with_errno_and_message),
        S_TEST(test_superseded_failures_are_dropped),
        S_TEST(test_ok_only_results_store_no_items),
        S_TEST(test_apply_status_lists_by_host_in_pages),
        S_TEST(test_readonly_connection_reads),
        S_TEST(test_batch_keeps_refusals_apart),
        S_TEST(test_refusals_set_get_clear),
        S_TEST(test_batch_rollback_stores_nothing),
        S_TEST(test_migrates_from_version_4),
        S_TEST(test_host_rows_cascade),
        S_TEST(test_drift_replace_and_list),
        S_TEST(test_host_labels_set),
        S_TEST(test_host_labels_set_refusals),
        cmocka_unit_test(test_labels_next),
        cmocka_unit_test(test_apply_state_names_round_trip),
        S_TEST(test_schema_checks_match_enums),
        S_TEST(test_migrates_from_version_3),
        S_TEST(test_write_allocation_failures_are_clean),
        S_TEST(test_read_allocation_failures_are_clean),
        S_TEST(test_migration_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, test_db_alloc_install, NULL);
}
