/* test_db_plans.c - the query plans of the db module's read statements, on
 * a real SQLite file: each listing walks the indexes meant for it, never a
 * whole table inside a per-row subquery, so a planner or schema change that
 * would make a listing quadratic fails here; and the range-coded filters of
 * the listings match exactly what they name in every combination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_internal.h"
#include "test_db_file.h"

#define S_PLAN_ROWS_MAX 64
#define S_EXPECT_MAX 6

typedef struct {
    test_db_file_t file;
    db_t *db;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "plans");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* One line of EXPLAIN QUERY PLAN, and whether it runs once per row of an
 * enclosing query (it sits under a CORRELATED subquery). */
typedef struct {
    int id, parent;
    char detail[256];
    bool per_row;
} s_plan_row_t;

typedef struct {
    s_plan_row_t rows[S_PLAN_ROWS_MAX];
    int count;
    char text[S_PLAN_ROWS_MAX * 260]; /* the whole plan, for messages */
} s_plan_t;

static void s_explain(db_t *db, const char *sql, s_plan_t *plan)
{
    char *explain = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db->sql, explain, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        fail_msg("cannot prepare %s: %s", sql, sqlite3_errmsg(db->sql));
    memset(plan, 0, sizeof(*plan));
    size_t used = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        assert_true(plan->count < S_PLAN_ROWS_MAX);
        s_plan_row_t *row = &plan->rows[plan->count++];
        row->id = sqlite3_column_int(stmt, 0);
        row->parent = sqlite3_column_int(stmt, 1);
        snprintf(row->detail, sizeof(row->detail), "%s",
                 (const char *)sqlite3_column_text(stmt, 3));
        for (int i = 0; i < plan->count - 1; i++) {
            if (plan->rows[i].id == row->parent)
                row->per_row = plan->rows[i].per_row ||
                               strstr(plan->rows[i].detail, "CORRELATED");
        }
        /* Sized for S_PLAN_ROWS_MAX rows of detail, so it cannot fill. */
        used += (size_t)snprintf(plan->text + used, sizeof(plan->text) - used,
                                 "\n  %s%s", row->per_row ? "  (per row) " : "",
                                 row->detail);
        assert_true(used < sizeof(plan->text));
    }
    sqlite3_finalize(stmt);
    sqlite3_free(explain);
}

static bool s_plan_has(const s_plan_t *plan, const char *text)
{
    for (int i = 0; i < plan->count; i++) {
        if (strstr(plan->rows[i].detail, text))
            return true;
    }
    return false;
}

/* What a statement's plan must show: the index each table is reached
 * through and, where it matters, the leading constraint (a paged listing
 * may add bounds after it). Index names are the schema's own
 * (sqlite_autoindex_T_1 is table T's first UNIQUE constraint). */
typedef struct {
    const char *name;
    const char *must[S_EXPECT_MAX];
    bool sorts_page; /* may sort: only the at most `limit` rows it returns */
} s_expect_t;

static const s_expect_t s_expect[] = {
    {"summary",
     {"SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=? AND state=?)",
      "SEARCH vms USING COVERING INDEX vms_host (host_id=?)"},
     false},
    {"hosts_list",
     {"h USING INDEX sqlite_autoindex_hosts_1",
      "SEARCH pfs USING COVERING INDEX sqlite_autoindex_pfs_1 (host_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=? AND state=?)"},
     false},
    {"host_get",
     {"SEARCH h USING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH pfs USING COVERING INDEX sqlite_autoindex_pfs_1 (host_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=? AND state=?)"},
     false},
    {"host_names",
     {"SCAN hosts USING COVERING INDEX sqlite_autoindex_hosts_1"},
     false},
    {"host_hugepages",
     {"SEARCH hosts USING COVERING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH hugepages USING INDEX sqlite_autoindex_hugepages_1 (host_id=?)"},
     false},
    {"pfs_list",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH p USING INDEX sqlite_autoindex_pfs_1 (host_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=?)",
      "SEARCH vfs USING COVERING INDEX vfs_pf_state (pf_id=? AND state=?)"},
     false},
    {"vfs_list",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH p USING INDEX sqlite_autoindex_pfs_1 (host_id=? AND pci_addr>?",
      "SEARCH v USING INDEX sqlite_autoindex_vfs_1 (pf_id=?)",
      "SEARCH vm_nics USING INDEX sqlite_autoindex_vm_nics_1 (vf_id=?)"},
     false},
    {"vfs_list_state",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH p USING INDEX sqlite_autoindex_pfs_1 (host_id=? AND pci_addr>?",
      "SEARCH v USING INDEX vfs_pf_state (pf_id=? AND state=?)",
      "SEARCH vm_nics USING INDEX sqlite_autoindex_vm_nics_1 (vf_id=?)"},
     false},
    {"events_list", {"SCAN events"}, true},
    {"events_after",
     {"SEARCH events USING INTEGER PRIMARY KEY (rowid>?)"},
     false},
    {"host_inventory",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH p USING INDEX sqlite_autoindex_pfs_1 (host_id=?)",
      "SEARCH v USING INDEX sqlite_autoindex_vfs_1 (pf_id=?)"},
     false},
    {"policy_get",
     {"SEARCH policies USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    /* The newest revision: the rowid walked backwards, stopping at one. */
    {"policy_latest", {"SCAN policies"}, false},
    {"policy_history",
     {"SEARCH policies USING INTEGER PRIMARY KEY (rowid<?)"},
     false},
    {"host_desired_get",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    {"apply_status_list",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?)",
      "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH s USING INDEX sqlite_autoindex_apply_status_1 (host_id=? AND "
      "revision=?)"},
     false},
    {"apply_failures_list",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH f USING INDEX sqlite_autoindex_apply_failures_1 (host_id=? AND "
      "revision=?)"},
     false},
    {"drift_list",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH x USING INDEX sqlite_autoindex_drift_1 (host_id=?)"},
     false},
    {"host_labels_get",
     {"SEARCH hosts USING INDEX sqlite_autoindex_hosts_1 (name=?)"},
     false},
    {"host_refusal_get",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    {"host_refusals_list",
     {"SCAN h USING COVERING INDEX sqlite_autoindex_hosts_1",
      "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    {"apply_status_filter",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH s USING INDEX sqlite_autoindex_apply_status_1 (host_id=? AND "
      "revision=?)"},
     false},
    /* Every desired state once, its status and drift looked up by key. */
    {"apply_counts",
     {"SCAN d",
      "SEARCH s USING INDEX sqlite_autoindex_apply_status_1 (host_id=? AND "
      "revision=?)",
      "SEARCH x USING COVERING INDEX sqlite_autoindex_drift_1 (host_id=?)"},
     false},
    {"drift_page",
     {"SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (name>?",
      "SEARCH x USING INDEX sqlite_autoindex_drift_1 (host_id=?)"},
     false},
    /* A VM's NICs through UNIQUE (vm_id, idx), their VFs and PFs by id. */
    {"vm_get",
     {"SEARCH m USING INDEX sqlite_autoindex_vms_1 (name=?)",
      "SEARCH h USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH n USING INDEX sqlite_autoindex_vm_nics_3 (vm_id=?)",
      "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    {"vms_list",
     {"SEARCH m USING INDEX sqlite_autoindex_vms_1 (name>?)",
      "SEARCH h USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH n USING INDEX sqlite_autoindex_vm_nics_3 (vm_id=?)",
      "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    {"vms_list_host",
     {"SEARCH h USING INDEX sqlite_autoindex_hosts_1 (name=?)",
      "SEARCH m USING INDEX vms_host (host_id=? AND name>?)",
      "SEARCH n USING INDEX sqlite_autoindex_vm_nics_3 (vm_id=?)",
      "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)",
      "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"},
     false},
    /* The reservation's hot path: one PF and one VF by their keys. */
    {"vm_vf_lookup",
     {"SEARCH p USING COVERING INDEX sqlite_autoindex_pfs_1 (host_id=? AND "
      "pci_addr=?)",
      "SEARCH v USING INDEX sqlite_autoindex_vfs_1 (pf_id=? AND idx=?)"},
     false},
};

static const s_expect_t *s_expect_find(const char *name)
{
    for (size_t i = 0; i < sizeof(s_expect) / sizeof(s_expect[0]); i++) {
        if (strcmp(s_expect[i].name, name) == 0)
            return &s_expect[i];
    }
    return NULL;
}

/* A per-row lookup in vfs or pfs must be keyed by the enclosing row (its
 * PF, host or id); any other search walks rows of the whole cluster once
 * per row listed. */
static bool s_keyed_by_row(const char *detail)
{
    if (!strstr(detail, " vfs ") && !strstr(detail, " v ") &&
        !strstr(detail, " pfs ") && !strstr(detail, " p "))
        return true;
    return strstr(detail, "(pf_id=") || strstr(detail, "(host_id=") ||
           strstr(detail, "(rowid=") || strstr(detail, "(vf_id=");
}

/* Rules every read statement keeps, whatever it is for; returns what the
 * plan breaks, or NULL. */
static const char *s_plan_fault(const char *name, const s_plan_t *plan,
                                bool sorts_page)
{
    for (int i = 0; i < plan->count; i++) {
        const char *detail = plan->rows[i].detail;
        bool scan = strncmp(detail, "SCAN", 4) == 0;
        if (plan->rows[i].per_row && (scan || !s_keyed_by_row(detail)))
            return "a lookup not keyed by the row runs once per row";
        if (strstr(detail, "AUTOMATIC"))
            return "builds a temporary index on every run";
        /* A sort of a whole listing costs more than the walk and, paged,
         * is paid again for every page. */
        if (strstr(detail, "TEMP B-TREE") && !sorts_page)
            return "sorts its rows instead of walking an index";
        if (scan && !s_keyed_by_row(detail) && strcmp(name, "summary") != 0)
            return "scans a whole PF or VF table";
    }
    return NULL;
}

static void test_every_read_uses_its_indexes(void **state)
{
    fixture_t *fx = *state;
    assert_true(db_query_count >= 8);
    for (int i = 0; i < db_query_count; i++) {
        const db_query_t *query = &db_queries[i];
        const s_expect_t *expect = s_expect_find(query->name);
        if (!expect)
            fail_msg("%s: no expected plan in this test; add one", query->name);
        s_plan_t plan;
        s_explain(fx->db, query->sql, &plan);
        const char *fault =
            s_plan_fault(query->name, &plan, expect->sorts_page);
        if (fault)
            fail_msg("%s: %s:%s", query->name, fault, plan.text);
        for (int k = 0; k < S_EXPECT_MAX && expect->must[k]; k++) {
            if (!s_plan_has(&plan, expect->must[k]))
                fail_msg("%s: plan lacks \"%s\":%s", query->name,
                         expect->must[k], plan.text);
        }
    }
}

/* The rules catch what they are meant to: the host listing as it was
 * before schema version 3 counted each host's free VFs through vfs_state
 * (versions 2 to 6 had it), walking every free VF of the cluster per
 * host. */
static void test_quadratic_plan_is_caught(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(sqlite3_exec(fx->db->sql,
                                  "CREATE INDEX vfs_state ON vfs(state)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    static const char old_sql[] =
        "SELECT h.name, (SELECT count(*) FROM vfs INDEXED BY vfs_state"
        " JOIN pfs ON pfs.id = vfs.pf_id WHERE pfs.host_id = h.id"
        " AND vfs.state = 'free') FROM hosts h ORDER BY h.name";
    s_plan_t plan;
    s_explain(fx->db, old_sql, &plan);
    assert_non_null(s_plan_fault("hosts_list", &plan, false));
}

/* Three hosts ("zé" sorts after every ASCII name) with two PFs of three
 * VFs each; VF 1 of every PF is broken. */
static const char *const s_hosts[] = {"h1", "h2", "z\xc3\xa9"};
static const char *const s_pfs[] = {"0000:81:00.0", "0000:81:00.1"};
#define S_VFS_PER_PF 3

static void s_fill(db_t *db)
{
    db_err_t err;
    for (size_t h = 0; h < 3; h++) {
        vfp_hello_t hello = {0};
        snprintf(hello.hostname, sizeof(hello.hostname), "%s", s_hosts[h]);
        assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
        vfp_inventory_t inv = {.generation = 1, .pf_count = 2};
        snprintf(inv.host.hostname, sizeof(inv.host.hostname), "%s",
                 s_hosts[h]);
        vfp_pf_t pfs[2];
        vfp_vf_t vfs[2][S_VFS_PER_PF];
        memset(pfs, 0, sizeof(pfs));
        memset(vfs, 0, sizeof(vfs));
        for (int p = 0; p < 2; p++) {
            snprintf(pfs[p].pci_addr, sizeof(pfs[p].pci_addr), "%s", s_pfs[p]);
            pfs[p].total_vfs = 8;
            pfs[p].num_vfs = S_VFS_PER_PF;
            pfs[p].vf_count = S_VFS_PER_PF;
            pfs[p].vfs = vfs[p];
            for (int k = 0; k < S_VFS_PER_PF; k++)
                vfs[p][k].index = (uint16_t)k;
        }
        inv.pfs = pfs;
        assert_int_equal(db_inventory_replace(db, s_hosts[h], &inv, 2, &err),
                         0);
    }
    assert_int_equal(sqlite3_exec(db->sql,
                                  "UPDATE vfs SET state = 'broken' "
                                  "WHERE idx = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
}

typedef struct {
    const db_vf_filter_t *filter;
    int rows;
    char last[512]; /* "host|pf|index" of the previous row */
} s_vf_seen_t;

static int s_vf_check(const db_vf_row_t *row, void *arg)
{
    s_vf_seen_t *seen = arg;
    const db_vf_filter_t *f = seen->filter;
    if (f->host)
        assert_string_equal(row->host, f->host);
    if (f->pf)
        assert_string_equal(row->pf, f->pf);
    if (f->by_state)
        assert_int_equal(row->state, f->state);
    char key[512];
    snprintf(key, sizeof(key), "%s|%s|%05u", row->host, row->pf, row->index);
    assert_true(strcmp(seen->last, key) < 0);
    snprintf(seen->last, sizeof(seen->last), "%s", key);
    seen->rows++;
    return 0;
}

/* Every combination of the VF filters, each with a value that exists, one
 * that does not, and none: exactly the matching rows, in listing order. */
static void test_vf_filters_match_exactly(void **state)
{
    fixture_t *fx = *state;
    s_fill(fx->db);
    const char *hosts[] = {NULL, "h2", "z\xc3\xa9", "h", "nope"};
    const int host_n[] = {3, 1, 1, 0, 0};
    const char *pfs[] = {NULL, "0000:81:00.1", "0000:81:00.2"};
    const int pf_n[] = {2, 1, 0};
    const db_vf_state_t states[] = {DB_VF_FREE, DB_VF_FREE, DB_VF_BROKEN,
                                    DB_VF_ASSIGNED};
    const int state_n[] = {S_VFS_PER_PF, S_VFS_PER_PF - 1, 1, 0};
    for (int h = 0; h < 5; h++) {
        for (int p = 0; p < 3; p++) {
            for (int st = 0; st < 4; st++) {
                /* states[0] stands for no state filter. */
                db_vf_filter_t filter = {hosts[h], pfs[p], st > 0, states[st]};
                s_vf_seen_t seen = {.filter = &filter};
                db_err_t err;
                assert_int_equal(
                    db_vfs_list(fx->db, &filter, NULL, s_vf_check, &seen, &err),
                    0);
                assert_int_equal(seen.rows, host_n[h] * pf_n[p] * state_n[st]);
            }
        }
    }
    s_vf_seen_t seen = {.filter = &(db_vf_filter_t){0}};
    db_err_t err;
    assert_int_equal(db_vfs_list(fx->db, NULL, NULL, s_vf_check, &seen, &err),
                     0);
    assert_int_equal(seen.rows, 3 * 2 * S_VFS_PER_PF);
}

typedef struct {
    int rows;
    int64_t vfs, vfs_free;
} s_sum_t;

static int s_pf_sum(const db_pf_row_t *row, void *arg)
{
    s_sum_t *sum = arg;
    sum->rows++;
    sum->vfs += row->vf_count;
    sum->vfs_free += row->vf_free;
    return 0;
}

static int s_host_sum(const db_host_row_t *row, void *arg)
{
    s_sum_t *sum = arg;
    assert_int_equal(row->pf_count, 2);
    sum->rows++;
    sum->vfs += row->vf_count;
    sum->vfs_free += row->vf_free;
    return 0;
}

/* The per-host and per-PF counts, and the PF listing's host filter. */
static void test_counts_and_pf_filter(void **state)
{
    fixture_t *fx = *state;
    s_fill(fx->db);
    db_err_t err;
    s_sum_t sum = {0};
    assert_int_equal(db_hosts_list(fx->db, NULL, s_host_sum, &sum, &err), 0);
    assert_int_equal(sum.rows, 3);
    assert_int_equal(sum.vfs, 3 * 2 * S_VFS_PER_PF);
    assert_int_equal(sum.vfs_free, 3 * 2 * (S_VFS_PER_PF - 1));

    const char *hosts[] = {NULL, "h1", "z\xc3\xa9", "h", "nope"};
    const int host_n[] = {3, 1, 1, 0, 0};
    for (int h = 0; h < 5; h++) {
        sum = (s_sum_t){0};
        assert_int_equal(
            db_pfs_list(fx->db, hosts[h], NULL, s_pf_sum, &sum, &err), 0);
        assert_int_equal(sum.rows, host_n[h] * 2);
        assert_int_equal(sum.vfs, host_n[h] * 2 * S_VFS_PER_PF);
        assert_int_equal(sum.vfs_free, host_n[h] * 2 * (S_VFS_PER_PF - 1));
    }

    db_host_row_t row;
    assert_int_equal(db_host_get(fx->db, "z\xc3\xa9", &row, &err), 0);
    assert_int_equal(row.vf_count, 2 * S_VFS_PER_PF);
    assert_int_equal(row.vf_free, 2 * (S_VFS_PER_PF - 1));

    db_summary_t summary;
    assert_int_equal(db_summary(fx->db, &summary, &err), 0);
    assert_int_equal(summary.hosts, 3);
    assert_int_equal(summary.pfs, 6);
    assert_int_equal(summary.vfs, 18);
    assert_int_equal(summary.vfs_free, 12);
    assert_int_equal(summary.vfs_broken, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_read_uses_its_indexes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_quadratic_plan_is_caught, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_vf_filters_match_exactly, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_pf_filter, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
