/* test_db.c - unit tests for the inventory database: schema, migrations,
 * constraints, full and delta ingestion, queries, refused files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_db_file.h"
#include "vfleet_db.h"

typedef test_db_file_t fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(fx, "db");
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    test_db_file_remove(fx);
    free(fx);
    return 0;
}

/* Builds an inventory of pf_count PFs with vfs_per_pf VFs each. The first
 * PF is 0000:81:00.0, the next 0000:81:00.1, ... */
static vfp_inventory_t *s_inventory(const char *host, uint64_t generation,
                                    uint32_t pf_count, uint32_t vfs_per_pf)
{
    vfp_inventory_t *inv = calloc(1, sizeof(*inv));
    assert_non_null(inv);
    inv->generation = generation;
    snprintf(inv->host.hostname, sizeof(inv->host.hostname), "%s", host);
    snprintf(inv->host.kernel, sizeof(inv->host.kernel), "6.1.0-test");
    inv->host.cpu_virt = VFP_VIRT_VMX;
    inv->host.iommu_ready = true;
    inv->host.mem_total_kb = 1 << 20;
    inv->host.hugepage_count = 1;
    inv->host.hugepages[0].size_kb = 2048;
    inv->host.hugepages[0].total = 512;
    inv->host.hugepages[0].free = 500;
    inv->pf_count = pf_count;
    inv->pfs = calloc(pf_count ? pf_count : 1, sizeof(vfp_pf_t));
    assert_non_null(inv->pfs);
    for (uint32_t i = 0; i < pf_count; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:81:00.%u", i);
        snprintf(pf->ifname, sizeof(pf->ifname), "ens1f%u", i);
        snprintf(pf->driver, sizeof(pf->driver), "ice");
        pf->vendor_id = 0x8086;
        pf->device_id = 0x1592;
        pf->total_vfs = 64;
        pf->num_vfs = (uint16_t)vfs_per_pf;
        pf->vf_count = vfs_per_pf;
        pf->vfs = calloc(vfs_per_pf ? vfs_per_pf : 1, sizeof(vfp_vf_t));
        assert_non_null(pf->vfs);
        for (uint32_t k = 0; k < vfs_per_pf; k++) {
            vfp_vf_t *vf = &pf->vfs[k];
            vf->index = (uint16_t)k;
            snprintf(vf->pci_addr, sizeof(vf->pci_addr), "0000:81:%02x.%u",
                     1 + i, k);
            vf->iommu_group = (int32_t)(100 + i * 100 + k);
            vf->iommu_isolated = true;
            vf->mac[0] = 0x02;
            vf->mac[4] = (uint8_t)i;
            vf->mac[5] = (uint8_t)k;
            vf->vlan = (uint16_t)(10 + k);
            vf->spoofchk = VFP_ON;
            vf->trust = VFP_OFF;
        }
    }
    return inv;
}

static void s_inventory_free(vfp_inventory_t **inv_p)
{
    vfp_inventory_t *inv = *inv_p;
    for (uint32_t i = 0; i < inv->pf_count; i++)
        free(inv->pfs[i].vfs);
    free(inv->pfs);
    free(inv);
    *inv_p = NULL;
}

static db_t *s_open_with_host(fixture_t *fx, const char *host)
{
    db_err_t err;
    db_t *db = db_open(fx->path, &err);
    assert_non_null(db);
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", host);
    snprintf(hello.agent_version, sizeof(hello.agent_version), "0.1.0");
    assert_int_equal(db_host_hello(db, &hello, 1, 1000, NULL, &err), 0);
    return db;
}

static int s_count_vf(const db_vf_row_t *row, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static int s_vf_count(db_t *db, const char *host, const char *state)
{
    db_err_t err;
    int count = 0;
    db_vf_filter_t filter = {.host = host, .by_state = state != NULL};
    if (state)
        assert_int_equal(db_vf_state_parse(state, &filter.state), 0);
    assert_int_equal(db_vfs_list(db, &filter, NULL, s_count_vf, &count, &err),
                     0);
    return count;
}

/* Runs SQL on a second, raw connection; returns the SQLite result code. */
static int s_raw(const char *path, const char *sql)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    int rc = sqlite3_exec(raw, sql, NULL, NULL, NULL);
    sqlite3_close(raw);
    return rc;
}

static void test_open_empty_creates_schema(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open(fx->path, &err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_destroy(&db);
    assert_null(db);
    assert_int_equal(test_db_file_int(fx->path, "PRAGMA user_version"),
                     DB_SCHEMA_VERSION);
    assert_int_equal(
        test_db_file_int(fx->path,
                         "SELECT count(*) FROM sqlite_master WHERE name "
                         "IN ('hosts','pfs','vfs','vms','vm_nics',"
                         "'policies','apply_status','events','hugepages')"),
        9);
    /* WAL is a property of the file, and stays after close. */
    assert_int_equal(test_db_file_int(fx->path,
                                      "SELECT journal_mode = 'wal' FROM "
                                      "pragma_journal_mode"),
                     1);
}

static unsigned s_mode(const char *path, const char *suffix)
{
    char file[512];
    snprintf(file, sizeof(file), "%s%s", path, suffix);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

/* The database, its WAL and shared memory are not readable by others: a
 * new file is 0600 whatever the umask, an existing one loses the bits
 * others have (not the group's) once it opens as a database. */
static void test_files_are_private(void **state)
{
    fixture_t *fx = *state;
    mode_t old = umask(0);
    db_err_t err;
    db_t *db = db_open(fx->path, &err);
    assert_non_null(db);
    assert_int_equal(db_event_add(db, 1, "test", NULL, "x", &err), 0);
    assert_int_equal(s_mode(fx->path, ""), 0600);
    assert_int_equal(s_mode(fx->path, "-wal"), 0600);
    assert_int_equal(s_mode(fx->path, "-shm"), 0600);
    db_destroy(&db);
    assert_int_equal(chmod(fx->path, 0664), 0);
    db = db_open(fx->path, &err);
    assert_non_null(db);
    assert_int_equal(s_mode(fx->path, ""), 0660);
    db_destroy(&db);
    umask(old);
}

static void test_migrates_from_version_1(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open_version(fx->path, 1, &err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), 1);
    db_destroy(&db);
    assert_int_equal(s_raw(fx->path, "SELECT count(*) FROM events"),
                     SQLITE_ERROR);
    assert_int_equal(s_raw(fx->path, "INSERT INTO hosts (name, first_seen,"
                                     " last_seen) VALUES ('old', 1, 2)"),
                     SQLITE_OK);

    db = db_open(fx->path, &err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_host_row_t row;
    assert_int_equal(db_host_get(db, "old", &row, &err), 0);
    assert_int_equal(row.last_seen_ms, 2);
    assert_int_equal(db_event_add(db, 5, "test", NULL, "after migration", &err),
                     0);
    db_destroy(&db);
    assert_int_equal(test_db_file_int(fx->path, "SELECT count(*) FROM events"),
                     1);
}

static char *s_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = malloc(1 << 20);
    assert_non_null(data);
    *size = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

static void test_newer_version_refused(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(s_raw(fx->path, "CREATE TABLE future (x);"
                                     "PRAGMA user_version = 99"),
                     SQLITE_OK);
    size_t before_size, after_size;
    char *before = s_read_file(fx->path, &before_size);
    db_err_t err;
    db_t *db = db_open(fx->path, &err);
    assert_null(db);
    assert_int_equal(err.code, DB_ERR_VERSION);
    assert_non_null(strstr(err.text, "version 99"));
    char build_version[32];
    snprintf(build_version, sizeof(build_version), "version %d;",
             DB_SCHEMA_VERSION);
    assert_non_null(strstr(err.text, build_version));
    char *after = s_read_file(fx->path, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, before_size);
    free(before);
    free(after);
}

static void test_garbage_file_refused_untouched(void **state)
{
    fixture_t *fx = *state;
    FILE *f = fopen(fx->path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    size_t before_size, after_size;
    char *before = s_read_file(fx->path, &before_size);
    db_err_t err;
    assert_null(db_open(fx->path, &err));
    assert_int_equal(err.code, DB_ERR_IO);
    assert_non_null(strstr(err.text, fx->path));
    assert_non_null(strstr(err.text, "not a database"));
    char *after = s_read_file(fx->path, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, before_size);
    free(before);
    free(after);
}

static void test_damaged_page_refused(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    vfp_inventory_t *inv = s_inventory("h1", 1, 2, 64);
    db_err_t err;
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    s_inventory_free(&inv);
    db_destroy(&db);
    /* Fold the WAL into the main file so the damage below hits real data. */
    assert_int_equal(s_raw(fx->path, "PRAGMA wal_checkpoint(TRUNCATE);"
                                     "PRAGMA journal_mode=DELETE"),
                     SQLITE_OK);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(st.st_size > 16 * 4096);
    FILE *f = fopen(fx->path, "r+b");
    assert_non_null(f);
    /* Scribble over the b-tree header of a page in the middle. */
    fseek(f, (long)(st.st_size / 4096 / 2) * 4096, SEEK_SET);
    for (int i = 0; i < 64; i++)
        fputc(0xa5, f);
    fclose(f);
    assert_null(db_open(fx->path, &err));
    assert_int_equal(err.code, DB_ERR_IO);
    assert_non_null(strstr(err.text, "corrupt"));
}

typedef struct {
    db_vf_row_t rows[16];
    int count;
} vf_rows_t;

static int s_vf_collect(const db_vf_row_t *row, void *arg)
{
    vf_rows_t *out = arg;
    if (out->count == 16)
        return -1;
    out->rows[out->count++] = *row;
    return 0;
}

static void test_full_replace_stores_and_replaces(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("h1", 7, 2, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    assert_int_equal(s_vf_count(db, "h1", NULL), 8);
    assert_int_equal(s_vf_count(db, "h1", "free"), 8);

    vf_rows_t *out = calloc(1, sizeof(*out));
    assert_non_null(out);
    db_vf_filter_t filter = {.host = "h1", .pf = "0000:81:00.1"};
    assert_int_equal(db_vfs_list(db, &filter, NULL, s_vf_collect, out, &err),
                     0);
    assert_int_equal(out->count, 4);
    assert_string_equal(out->rows[0].pf, "0000:81:00.1");
    assert_string_equal(out->rows[0].pf_ifname, "ens1f1");
    assert_int_equal(out->rows[0].index, 0);
    assert_string_equal(out->rows[3].mac, "02:00:00:00:01:03");
    assert_int_equal(out->rows[3].vlan, 13);
    assert_int_equal(out->rows[3].spoofchk, VFP_ON);
    assert_int_equal(out->rows[3].iommu_group, 203);
    assert_int_equal(out->rows[3].state, DB_VF_FREE);
    free(out);

    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.generation, 7);
    assert_int_equal(host.pf_count, 2);
    assert_int_equal(host.vf_count, 8);
    assert_string_equal(host.cpu_virt, "vmx");
    assert_int_equal(host.state, DB_HOST_READY);

    /* PF 1 vanishes, PF 0 shrinks to 2 VFs: both disappear for good. */
    s_inventory_free(&inv);
    inv = s_inventory("h1", 8, 1, 2);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 3000, &err), 0);
    assert_int_equal(s_vf_count(db, "h1", NULL), 2);
    db_summary_t sum;
    assert_int_equal(db_summary(db, &sum, &err), 0);
    assert_int_equal(sum.hosts, 1);
    assert_int_equal(sum.pfs, 1);
    assert_int_equal(sum.vfs, 2);
    assert_int_equal(sum.vfs_free, 2);
    s_inventory_free(&inv);
    db_destroy(&db);
}

static void test_inventory_for_unknown_host_is_not_found(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("ghost", 1, 1, 1);
    assert_int_equal(db_inventory_replace(db, "ghost", inv, 2000, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    /* A session may only report for its own host. */
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    s_inventory_free(&inv);
    db_destroy(&db);
}

static void test_invalid_inventory_keeps_state(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *good = s_inventory("h1", 1, 2, 4);
    assert_int_equal(db_inventory_replace(db, "h1", good, 2000, &err), 0);

    /* The one rule left to the db: the codec refuses duplicates and
     * values beyond total_vfs before an inventory gets here. */
    vfp_inventory_t *bad = s_inventory("h1", 2, 2, 4);
    bad->pfs[0].num_vfs = 3;
    assert_int_equal(db_inventory_replace(db, "h1", bad, 3000, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_non_null(strstr(err.text, "4 VFs listed but num_vfs is 3"));
    vfp_inventory_delta_t delta = {
        .base_generation = 1, .generation = 2, .pf_count = 1, .pfs = bad->pfs};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);

    /* What the codec lets through but the database cannot hold is INVALID
     * naming it, not a failed write (INTERNAL with the database's text). */
    vfp_inventory_t *odd = s_inventory("h1", 2, 2, 4);
    odd->host.hugepage_count = 1;
    odd->host.hugepages[0] =
        (vfp_hugepages_t){.size_kb = 2048, .total = 1, .free = 5};
    assert_int_equal(db_inventory_replace(db, "h1", odd, 3000, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_string_equal(err.text, "hugepages 2048 kB: free 5 is above total 1");
    odd->host.hugepage_count = 0;
    odd->host.mem_total_kb = UINT64_MAX;
    assert_int_equal(db_inventory_replace(db, "h1", odd, 3000, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_string_equal(err.text,
                        "mem_total_kb 18446744073709551615 is beyond 2^63-1");
    odd->host.mem_total_kb = 1;
    odd->generation = (uint64_t)INT64_MAX + 1;
    assert_int_equal(db_inventory_replace(db, "h1", odd, 3000, &err), -1);
    assert_string_equal(err.text,
                        "generation 9223372036854775808 is beyond 2^63-1");
    delta =
        (vfp_inventory_delta_t){.base_generation = 1, .generation = UINT64_MAX};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);

    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.generation, 1);
    assert_int_equal(s_vf_count(db, "h1", NULL), 8);
    s_inventory_free(&good);
    s_inventory_free(&bad);
    s_inventory_free(&odd);
    db_destroy(&db);
}

/* A delta rewrites only the VFs that changed: the others keep the stamp of
 * the report that last changed them. A VF the PF no longer lists goes. */
static void test_delta_rewrites_only_changed_vfs(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("h1", 1, 2, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    vfp_inventory_t *next = s_inventory("h1", 2, 2, 4);
    next->pfs[0].vfs[2].vlan = 99;
    next->pfs[0].vf_count = 3;
    next->pfs[0].num_vfs = 3;
    vfp_inventory_delta_t delta = {
        .base_generation = 1, .generation = 2, .pf_count = 1, .pfs = next->pfs};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err), 0);
    static const char stamped[] =
        "SELECT count(*) FROM vfs WHERE report_seq ="
        " (SELECT report_seq FROM hosts WHERE name = 'h1')";
    assert_int_equal(test_db_file_int(fx->path, stamped), 1);
    assert_int_equal(test_db_file_int(fx->path,
                                      "SELECT vlan FROM vfs WHERE idx = 2 AND"
                                      " pf_id = (SELECT id FROM pfs WHERE"
                                      " pci_addr = '0000:81:00.0')"),
                     99);
    assert_int_equal(s_vf_count(db, "h1", NULL), 7);
    /* The same report again changes nothing. */
    delta.base_generation = 2;
    delta.generation = 3;
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 4000, &err), 0);
    assert_int_equal(test_db_file_int(fx->path, stamped), 0);
    assert_int_equal(s_vf_count(db, "h1", NULL), 7);
    s_inventory_free(&inv);
    s_inventory_free(&next);
    db_destroy(&db);
}

static void test_schema_invariants_are_constraints(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_hello_t hello = {.hostname = "h2"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1000, NULL, &err), 0);
    vfp_inventory_t *inv = s_inventory("h1", 1, 1, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    s_inventory_free(&inv);
    inv = s_inventory("h2", 1, 1, 4);
    assert_int_equal(db_inventory_replace(db, "h2", inv, 2000, &err), 0);
    s_inventory_free(&inv);
    db_destroy(&db);

    const char *p = fx->path;
    assert_int_equal(
        s_raw(p, "INSERT INTO vms (name, memory_mib, vcpus, host_id, state,"
                 " created_at)"
                 " VALUES ('vm1', 512, 2, (SELECT id FROM hosts WHERE "
                 "name='h1'), 'placed', 1),"
                 " ('vm2', 512, 2, (SELECT id FROM hosts WHERE "
                 "name='h1'), 'placed', 1)"),
        SQLITE_OK);
#define VF_OF(host, idx)                                                       \
    "(SELECT vfs.id FROM vfs JOIN pfs ON pfs.id = vfs.pf_id JOIN hosts ON "    \
    "hosts.id = pfs.host_id WHERE hosts.name = '" host "' AND vfs.idx = " #idx \
    ")"
    assert_int_equal(
        s_raw(p,
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac)"
              " VALUES (1, 0, 'prod', " VF_OF("h1", 0) ", "
                                                       "'00:50:56:00:00:01')"),
        SQLITE_OK);
    /* A VF belongs to at most one VM. */
    assert_int_equal(
        s_raw(p,
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac)"
              " VALUES (2, 0, 'prod', " VF_OF("h1", 0) ", "
                                                       "'00:50:56:00:00:02')"),
        SQLITE_CONSTRAINT);
    /* A MAC is unique in the cluster. */
    assert_int_equal(
        s_raw(p,
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac)"
              " VALUES (2, 0, 'prod', " VF_OF("h1", 1) ", "
                                                       "'00:50:56:00:00:01')"),
        SQLITE_CONSTRAINT);
    /* Every NIC of a VM is on the VM's host. */
    assert_int_equal(
        s_raw(p,
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac)"
              " VALUES (2, 0, 'prod', " VF_OF("h2", 1) ", "
                                                       "'00:50:56:00:00:03')"),
        SQLITE_CONSTRAINT);
    /* A VF needs a PF, a PF needs a host. */
    assert_int_equal(s_raw(p, "INSERT INTO vfs (pf_id, idx) VALUES (999, 0)"),
                     SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(p, "INSERT INTO pfs (host_id, pci_addr) VALUES (999, 'x')"),
        SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(p, "INSERT INTO vfs (pf_id, idx) VALUES (NULL, 9)"),
                     SQLITE_CONSTRAINT);
    /* A held VF cannot be deleted, not even through its host's cascade. */
    assert_int_equal(s_raw(p, "DELETE FROM vfs WHERE id = " VF_OF("h1", 0)),
                     SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(p, "DELETE FROM hosts WHERE name = 'h1'"),
                     SQLITE_CONSTRAINT);
    /* A free VF's host can go, and takes its PFs and VFs along. */
    assert_int_equal(s_raw(p, "DELETE FROM hosts WHERE name = 'h2'"),
                     SQLITE_OK);
    assert_int_equal(test_db_file_int(p, "SELECT count(*) FROM vfs"), 4);
    assert_int_equal(s_raw(p, "UPDATE vfs SET state = 'lost'"),
                     SQLITE_CONSTRAINT);
#undef VF_OF
}

static void test_vanished_vf_held_by_vm_is_missing(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("h1", 1, 2, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    assert_int_equal(
        s_raw(fx->path,
              "INSERT INTO vms (name, memory_mib, vcpus, host_id, state,"
              " created_at) VALUES ('vm1', 1024, 2, 1, 'placed', 1);"
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac) VALUES"
              " (1, 0, 'a', (SELECT id FROM vfs WHERE pf_id = 1 AND idx = 3),"
              " '00:50:56:00:00:01'),"
              " (1, 1, 'b', (SELECT id FROM vfs WHERE pf_id = 2 AND idx = 0),"
              " '00:50:56:00:00:02');"
              "UPDATE vfs SET state = 'assigned' WHERE id IN"
              " (SELECT vf_id FROM vm_nics)"),
        SQLITE_OK);

    /* PF 0 keeps VFs 0..1, PF 1 disappears entirely. */
    vfp_inventory_t *small = s_inventory("h1", 2, 1, 2);
    assert_int_equal(db_inventory_replace(db, "h1", small, 3000, &err), 0);
    assert_int_equal(s_vf_count(db, "h1", "missing"), 2);
    assert_int_equal(s_vf_count(db, "h1", "free"), 2);
    assert_int_equal(s_vf_count(db, "h1", NULL), 4);
    assert_int_equal(
        test_db_file_int(fx->path,
                         "SELECT state = 'missing' FROM pfs WHERE pci_addr = "
                         "'0000:81:00.1'"),
        1);

    /* They come back: the holder's state returns, nothing was released. */
    assert_int_equal(db_inventory_replace(db, "h1", inv, 4000, &err), 0);
    assert_int_equal(s_vf_count(db, "h1", "assigned"), 2);
    assert_int_equal(s_vf_count(db, "h1", "free"), 6);
    assert_int_equal(
        test_db_file_int(fx->path,
                         "SELECT count(*) FROM pfs WHERE state='present'"),
        2);
    s_inventory_free(&small);
    s_inventory_free(&inv);
    db_destroy(&db);
}

static void test_delta_applies_in_place(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("h1", 5, 2, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);

    /* PF 0 changes (VF 2 gets VLAN 300, VF 3 goes), PF 1 is removed. */
    vfp_inventory_delta_t delta = {.base_generation = 4, .generation = 6};
    delta.pf_count = 1;
    delta.pfs = &inv->pfs[0];
    inv->pfs[0].vfs[2].vlan = 300;
    inv->pfs[0].vf_count = 3;
    char removed[1][VFP_PCI_ADDR_MAX + 1] = {"0000:81:00.1"};
    delta.removed_count = 1;
    delta.removed = removed;

    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_RESYNC);
    assert_non_null(strstr(err.text, "generation 4"));
    assert_int_equal(s_vf_count(db, "h1", NULL), 8);

    delta.base_generation = 5;
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err), 0);
    assert_int_equal(s_vf_count(db, "h1", NULL), 3);
    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.generation, 6);
    assert_int_equal(host.pf_count, 1);
    assert_int_equal(
        test_db_file_int(fx->path, "SELECT vlan FROM vfs WHERE idx = 2"), 300);

    inv->pfs[0].vf_count = 4;
    s_inventory_free(&inv);
    db_destroy(&db);
}

/* What a host's full inventory stored reads back as the same codec struct
 * (PFs by address with every VF and its settings, host facts, pools); a
 * delta shows in it; a PF kept only as "missing" is left out. */
static void test_host_inventory_reads_back(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_inventory_t *inv = s_inventory("h1", 3, 3, 4);
    inv->host.iommu_units = 2;
    inv->host.iommu_groups = 40;
    inv->host.reason_count = 2;
    snprintf(inv->host.reasons[0], VFP_TEXT_MAX, "no DMAR");
    snprintf(inv->host.reasons[1], VFP_TEXT_MAX, "intel_iommu=off");
    snprintf(inv->host.iommu_cmdline, VFP_TEXT_MAX, "intel_iommu=off");
    snprintf(inv->host.boot_id, VFP_NAME_MAX, "boot-1");
    inv->host.mem_available_kb = 1000;
    inv->pfs[0].numa_node = 1;
    inv->pfs[0].link_up = true;
    inv->pfs[0].link_speed = 25000;
    snprintf(inv->pfs[0].note, VFP_TEXT_MAX, "a note");
    vfp_vf_t *vf = &inv->pfs[0].vfs[1];
    vf->settings_known = true;
    vf->in_use = true;
    vf->qos = 3;
    vf->vlan_proto = VFP_VLAN_PROTO_8021AD;
    vf->link_state = VFP_LINK_DISABLE;
    vf->min_tx_rate = 10;
    vf->max_tx_rate = 1000;
    snprintf(vf->driver, VFP_NAME_MAX, "vfio-pci");
    snprintf(vf->note, VFP_VF_NOTE_MAX, "trust unknown");
    inv->pfs[2].num_vfs = 0;
    inv->pfs[2].vf_count = 0;
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);

    vfp_inventory_t got;
    assert_int_equal(db_host_inventory_get(db, "h1", &got, &err), 0);
    assert_int_equal(got.generation, 3);
    assert_string_equal(got.host.hostname, "h1");
    assert_string_equal(got.host.kernel, "6.1.0-test");
    assert_string_equal(got.host.boot_id, "boot-1");
    assert_int_equal(got.host.cpu_virt, VFP_VIRT_VMX);
    assert_true(got.host.iommu_ready);
    assert_int_equal(got.host.iommu_units, 2);
    assert_int_equal(got.host.iommu_groups, 40);
    assert_string_equal(got.host.iommu_cmdline, "intel_iommu=off");
    assert_int_equal(got.host.reason_count, 2);
    assert_string_equal(got.host.reasons[1], "intel_iommu=off");
    assert_int_equal(got.host.mem_total_kb, 1 << 20);
    assert_int_equal(got.host.mem_available_kb, 1000);
    assert_int_equal(got.host.hugepage_count, 1);
    assert_int_equal(got.host.hugepages[0].size_kb, 2048);
    assert_int_equal(got.host.hugepages[0].total, 512);
    assert_int_equal(got.host.hugepages[0].free, 500);
    assert_int_equal(got.pf_count, 3);
    for (uint32_t p = 0; p < 3; p++) {
        vfp_pf_t want = inv->pfs[p], have = got.pfs[p];
        assert_int_equal(have.vf_count, want.vf_count);
        for (uint32_t k = 0; k < want.vf_count; k++)
            assert_memory_equal(&have.vfs[k], &want.vfs[k], sizeof(vfp_vf_t));
        want.vfs = have.vfs = NULL;
        assert_memory_equal(&have, &want, sizeof(vfp_pf_t));
    }
    assert_null(got.pfs[2].vfs);

    /* A delta: VF 2 of PF 0 is moved to VLAN 300. */
    inv->pfs[0].vfs[2].vlan = 300;
    vfp_inventory_delta_t delta = {
        .base_generation = 3, .generation = 4, .pf_count = 1, .pfs = inv->pfs};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 3000, &err), 0);
    vfp_inventory_clear(&got);
    assert_int_equal(db_host_inventory_get(db, "h1", &got, &err), 0);
    assert_int_equal(got.generation, 4);
    assert_int_equal(got.pfs[0].vfs[2].vlan, 300);

    /* PF 1 goes while a VM holds one of its VFs: kept as missing, not
     * reported. */
    assert_int_equal(
        s_raw(fx->path,
              "INSERT INTO vms (name, memory_mib, vcpus, host_id, state,"
              " created_at) VALUES ('vm1', 1024, 2, 1, 'placed', 1);"
              "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac) VALUES"
              " (1, 0, 'a', (SELECT id FROM vfs WHERE pf_id = 2 AND idx = 0),"
              " '00:50:56:00:00:01')"),
        SQLITE_OK);
    char removed[1][VFP_PCI_ADDR_MAX + 1] = {"0000:81:00.1"};
    delta = (vfp_inventory_delta_t){.base_generation = 4,
                                    .generation = 5,
                                    .removed_count = 1,
                                    .removed = removed};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &delta, 4000, &err), 0);
    vfp_inventory_clear(&got);
    assert_int_equal(db_host_inventory_get(db, "h1", &got, &err), 0);
    assert_int_equal(got.pf_count, 2);
    assert_string_equal(got.pfs[1].pci_addr, "0000:81:00.2");
    vfp_inventory_clear(&got);

    assert_int_equal(db_host_inventory_get(db, "nope", &got, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(got.pf_count, 0);
    assert_null(got.pfs);
    s_inventory_free(&inv);
    db_destroy(&db);
}

static void test_batch_keeps_each_operation_atomic(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    vfp_hello_t hello = {.hostname = "h2"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1000, NULL, &err), 0);
    vfp_inventory_t *inv1 = s_inventory("h1", 3, 1, 4);
    vfp_inventory_t *inv2 = s_inventory("h2", 9, 2, 2);

    assert_int_equal(db_batch_begin(db, &err), 0);
    assert_int_equal(db_inventory_replace(db, "h1", inv1, 2000, &err), 0);
    /* A failing operation in the middle rolls back only itself. */
    vfp_inventory_delta_t stale = {.base_generation = 1, .generation = 2};
    assert_int_equal(db_inventory_apply_delta(db, "h1", &stale, 2000, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_RESYNC);
    assert_int_equal(db_inventory_replace(db, "h2", inv2, 2000, &err), 0);
    /* Nothing is visible to another connection before the commit. */
    assert_int_equal(test_db_file_int(fx->path, "SELECT count(*) FROM vfs"), 0);
    assert_int_equal(db_batch_commit(db, &err), 0);

    assert_int_equal(test_db_file_int(fx->path, "SELECT count(*) FROM vfs"), 8);
    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.generation, 3);
    assert_int_equal(db_host_get(db, "h2", &host, &err), 0);
    assert_int_equal(host.generation, 9);
    s_inventory_free(&inv1);
    s_inventory_free(&inv2);
    db_destroy(&db);
}

static int s_event_collect(const db_event_row_t *row, void *arg)
{
    char *out = arg;
    strcat(out, row->kind);
    strcat(out, ":");
    strcat(out, row->host);
    strcat(out, ";");
    return 0;
}

static void test_liveness_and_events(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    const char *hosts[] = {"h1", "nosuch"};
    const int64_t times[] = {5000, 6000};
    assert_int_equal(db_hosts_touch(db, hosts, times, 2, &err), 0);
    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.last_seen_ms, 5000);
    /* An older time never moves last_seen back. */
    const int64_t older[] = {4000, 4000};
    assert_int_equal(db_hosts_touch(db, hosts, older, 2, &err), 0);
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.last_seen_ms, 5000);
    assert_int_equal(host.first_seen_ms, 1000);

    assert_int_equal(db_host_set_state(db, "h1", DB_HOST_DOWN, &err), 0);
    assert_int_equal(db_host_set_state(db, "nosuch", DB_HOST_DOWN, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    db_summary_t sum;
    assert_int_equal(db_summary(db, &sum, &err), 0);
    assert_int_equal(sum.hosts_down, 1);
    assert_int_equal(sum.hosts_ready, 0);

    vfp_hello_t hello = {.hostname = "h1"};
    bool was_down = false;
    assert_int_equal(db_host_hello(db, &hello, 1, 6000, &was_down, &err), 0);
    assert_true(was_down);
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.state, DB_HOST_READY);

    assert_int_equal(db_event_add(db, 100, "host-down", "h1", "gone", &err), 0);
    assert_int_equal(db_event_add(db, 200, "host-up", "h1", "back", &err), 0);
    assert_int_equal(db_event_add(db, 300, "start", NULL, "hello", &err), 0);
    char out[256] = "";
    assert_int_equal(db_events_list(db, 150, 0, s_event_collect, out, &err), 0);
    assert_string_equal(out, "host-up:h1;start:;");
    out[0] = '\0';
    assert_int_equal(db_events_list(db, 0, 1, s_event_collect, out, &err), 0);
    assert_string_equal(out, "start:;");
    assert_int_equal(db_host_get(db, "nosuch", &host, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    db_destroy(&db);
}

static void test_state_names_round_trip(void **state)
{
    for (int i = 0; i < DB_HOST_STATE_COUNT; i++) {
        db_host_state_t parsed;
        assert_int_equal(db_host_state_parse(db_host_state_name(i), &parsed),
                         0);
        assert_int_equal(parsed, i);
    }
    for (int i = 0; i < DB_PF_STATE_COUNT; i++) {
        db_pf_state_t parsed;
        assert_int_equal(db_pf_state_parse(db_pf_state_name(i), &parsed), 0);
        assert_int_equal(parsed, i);
    }
    for (int i = 0; i < DB_VF_STATE_COUNT; i++) {
        db_vf_state_t parsed;
        assert_int_equal(db_vf_state_parse(db_vf_state_name(i), &parsed), 0);
        assert_int_equal(parsed, i);
    }
    db_vf_state_t vf;
    assert_int_equal(db_vf_state_parse("missing", &vf), 0);
    assert_int_equal(vf, DB_VF_MISSING);
    assert_int_equal(db_vf_state_parse("gone", &vf), -1);
    assert_int_equal(db_vf_state_parse("", &vf), -1);
    assert_null(db_vf_state_name(DB_VF_STATE_COUNT));
    assert_null(db_host_state_name(DB_HOST_STATE_COUNT));
}

/* The CREATE TABLE text of one table, as SQLite keeps it. */
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

/* Checks that the table's CHECKs on `column` name exactly the `count`
 * names `name_of` knows: every name they hold is one of them, and every
 * one of them is there (a name may appear in more than one CHECK). */
static void s_assert_names(const char *path, const char *table,
                           const char *column, int count,
                           const char *(*name_of)(int))
{
    char *sql = s_table_sql(path, table);
    char needle[32];
    snprintf(needle, sizeof(needle), "%s = '", column);
    bool seen[16] = {false};
    for (const char *p = strstr(sql, needle); p; p = strstr(p + 1, needle)) {
        if (p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
            continue; /* another column ending in the same name */
        const char *name = p + strlen(needle);
        size_t len = strcspn(name, "'");
        int match = -1;
        for (int i = 0; i < count; i++) {
            if (strlen(name_of(i)) == len &&
                strncmp(name_of(i), name, len) == 0)
                match = i;
        }
        if (match < 0)
            fail_msg("%s.%s: CHECK names a value the enum lacks: %.*s", table,
                     column, (int)len, name);
        seen[match] = true;
    }
    for (int i = 0; i < count; i++) {
        if (!seen[i])
            fail_msg("%s.%s: CHECK lacks %s", table, column, name_of(i));
    }
    free(sql);
}

static void s_assert_states(const char *path, const char *table, int count,
                            const char *(*name_of)(int))
{
    s_assert_names(path, table, "state", count, name_of);
}

static const char *s_host_name(int i)
{
    return db_host_state_name((db_host_state_t)i);
}

static const char *s_pf_name(int i)
{
    return db_pf_state_name((db_pf_state_t)i);
}

static const char *s_vf_name(int i)
{
    return db_vf_state_name((db_vf_state_t)i);
}

static const char *s_vm_name(int i)
{
    return db_vm_state_name((db_vm_state_t)i);
}

static const char *s_vm_power(int i)
{
    return db_vm_power_name((db_vm_power_t)i);
}

/* The NUMA preferences db_vm_t.numa names (no enum in db/: placement
 * owns the meaning; test_db_vm.c checks db_vm_reserve takes each). */
static const char *s_vm_numa(int i)
{
    static const char *const names[] = {"none", "preferred", "required"};
    return names[i];
}

static void test_schema_checks_match_enums(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_t *db = db_open(fx->path, &err);
    assert_non_null(db);
    db_destroy(&db);
    s_assert_states(fx->path, "hosts", DB_HOST_STATE_COUNT, s_host_name);
    s_assert_states(fx->path, "pfs", DB_PF_STATE_COUNT, s_pf_name);
    s_assert_states(fx->path, "vfs", DB_VF_STATE_COUNT, s_vf_name);
    s_assert_states(fx->path, "vms", DB_VM_STATE_COUNT, s_vm_name);
    s_assert_names(fx->path, "vms", "power", DB_VM_POWER_COUNT, s_vm_power);
    s_assert_names(fx->path, "vms", "numa", 3, s_vm_numa);

    char *vms = s_table_sql(fx->path, "vms");
    char name_check[64];
    snprintf(name_check, sizeof(name_check),
             "CHECK (length(name) BETWEEN 1 AND %d)", DB_VM_NAME_MAX);
    assert_non_null(strstr(vms, name_check));
    free(vms);

    char *sql = s_table_sql(fx->path, "vfs");
    const char *check = strstr(sql, "CHECK (vlan BETWEEN 0 AND ");
    assert_non_null(check);
    assert_int_equal(atoi(check + strlen("CHECK (vlan BETWEEN 0 AND ")),
                     VFP_VLAN_MAX);
    free(sql);
}

typedef struct {
    char keys[32][320];
    int count;
} keys_t;

static int s_host_key(const db_host_row_t *row, void *arg)
{
    keys_t *out = arg;
    snprintf(out->keys[out->count++], sizeof(out->keys[0]), "%s", row->name);
    return 0;
}

static int s_pf_key(const db_pf_row_t *row, void *arg)
{
    keys_t *out = arg;
    snprintf(out->keys[out->count++], sizeof(out->keys[0]), "%s/%s", row->host,
             row->pci_addr);
    return 0;
}

static int s_vf_key(const db_vf_row_t *row, void *arg)
{
    keys_t *out = arg;
    snprintf(out->keys[out->count++], sizeof(out->keys[0]), "%s/%s/%u",
             row->host, row->pf, row->index);
    return 0;
}

static int s_event_key(const db_event_row_t *row, void *arg)
{
    keys_t *out = arg;
    snprintf(out->keys[out->count++], sizeof(out->keys[0]), "%lld",
             (long long)row->id);
    return 0;
}

static void test_listings_page_by_key(void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_with_host(fx, "h1");
    db_err_t err;
    const char *names[] = {"h2", "h3"};
    for (int i = 0; i < 2; i++) {
        vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
        snprintf(hello.hostname, sizeof(hello.hostname), "%s", names[i]);
        assert_int_equal(db_host_hello(db, &hello, 1, 1000, NULL, &err), 0);
    }
    const char *all[] = {"h1", "h2", "h3"};
    for (int i = 0; i < 3; i++) {
        vfp_inventory_t *inv = s_inventory(all[i], 1, 2, 3);
        assert_int_equal(db_inventory_replace(db, all[i], inv, 2000, &err), 0);
        s_inventory_free(&inv);
    }
    keys_t out = {.count = 0};
    db_page_t page = {.limit = 2};
    assert_int_equal(db_hosts_list(db, &page, s_host_key, &out, &err), 0);
    assert_int_equal(out.count, 2);
    assert_string_equal(out.keys[1], "h2");
    page.host = "h2";
    out.count = 0;
    assert_int_equal(db_hosts_list(db, &page, s_host_key, &out, &err), 0);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.keys[0], "h3");

    /* PFs: strictly after (h1, PF 1), across the host boundary. */
    page = (db_page_t){.host = "h1", .pf = "0000:81:00.1", .limit = 2};
    out.count = 0;
    assert_int_equal(db_pfs_list(db, NULL, &page, s_pf_key, &out, &err), 0);
    assert_int_equal(out.count, 2);
    assert_string_equal(out.keys[0], "h2/0000:81:00.0");
    assert_string_equal(out.keys[1], "h2/0000:81:00.1");

    /* VFs: after (h2, PF 1, VF 2) comes h3's first. */
    page = (db_page_t){.host = "h2", .pf = "0000:81:00.1", .index = 1};
    out.count = 0;
    db_vf_filter_t filter = {.by_state = true, .state = DB_VF_FREE};
    assert_int_equal(db_vfs_list(db, &filter, &page, s_vf_key, &out, &err), 0);
    assert_int_equal(out.count, 1 + 6);
    assert_string_equal(out.keys[0], "h2/0000:81:00.1/2");
    assert_string_equal(out.keys[1], "h3/0000:81:00.0/0");

    for (int i = 0; i < 5; i++)
        assert_int_equal(db_event_add(db, 100 + i, "test", NULL, "e", &err), 0);
    out.count = 0;
    assert_int_equal(db_events_after(db, 2, 0, 2, s_event_key, &out, &err), 0);
    assert_int_equal(out.count, 2);
    assert_string_equal(out.keys[0], "3");
    assert_string_equal(out.keys[1], "4");
    db_destroy(&db);
}

static void test_readonly_connection_reads_beside_writer(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_null(db_open_readonly(fx->path, &err));
    db_t *db = s_open_with_host(fx, "h1");
    db_t *reader = db_open_readonly(fx->path, &err);
    assert_non_null(reader);
    /* The reader sees what the writer committed, even mid-batch. */
    assert_int_equal(db_batch_begin(db, &err), 0);
    vfp_inventory_t *inv = s_inventory("h1", 4, 1, 2);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2000, &err), 0);
    db_host_row_t row;
    assert_int_equal(db_host_get(reader, "h1", &row, &err), 0);
    assert_int_equal(row.generation, 0);
    assert_int_equal(db_batch_commit(db, &err), 0);
    assert_int_equal(db_host_get(reader, "h1", &row, &err), 0);
    assert_int_equal(row.generation, 4);
    assert_int_equal(db_host_set_state(reader, "h1", DB_HOST_DOWN, &err), -1);
    assert_int_equal(err.code, DB_ERR_IO);
    s_inventory_free(&inv);
    db_destroy(&reader);
    db_destroy(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_empty_creates_schema, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_files_are_private, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_migrates_from_version_1, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_newer_version_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_refused_untouched,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_page_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_full_replace_stores_and_replaces,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_inventory_for_unknown_host_is_not_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_inventory_keeps_state,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_delta_rewrites_only_changed_vfs,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_invariants_are_constraints,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_vanished_vf_held_by_vm_is_missing,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_host_inventory_reads_back, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_delta_applies_in_place, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_keeps_each_operation_atomic,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_liveness_and_events, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_state_names_round_trip),
        cmocka_unit_test_setup_teardown(test_schema_checks_match_enums, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_listings_page_by_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_readonly_connection_reads_beside_writer, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
