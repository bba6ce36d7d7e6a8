/* test_db_faults.c - failure injection for the inventory database: every
 * SQLite allocation of a full inventory replace, of a delta, of a VM's
 * reservation and later steps, and of opening and migrating a file fails
 * in turn; each failure must be reported and
 * leave the stored state intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_db_file.h"
#include "vfleet_db.h"

static vfp_inventory_t *s_inventory(uint64_t generation, uint16_t vlan,
                                    uint32_t vf_count)
{
    vfp_inventory_t *inv = calloc(1, sizeof(*inv));
    assert_non_null(inv);
    inv->generation = generation;
    snprintf(inv->host.hostname, sizeof(inv->host.hostname), "h1");
    inv->host.hugepage_count = 1;
    inv->host.hugepages[0].size_kb = 2048;
    inv->host.hugepages[0].total = 8;
    inv->pf_count = 2;
    inv->pfs = calloc(2, sizeof(vfp_pf_t));
    assert_non_null(inv->pfs);
    for (uint32_t i = 0; i < 2; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:81:00.%u", i);
        pf->total_vfs = 8;
        pf->num_vfs = (uint16_t)vf_count;
        pf->vf_count = vf_count;
        pf->vfs = calloc(vf_count, sizeof(vfp_vf_t));
        assert_non_null(pf->vfs);
        for (uint32_t k = 0; k < vf_count; k++) {
            pf->vfs[k].index = (uint16_t)k;
            pf->vfs[k].vlan = vlan;
        }
    }
    return inv;
}

static void s_inventory_free(vfp_inventory_t **inv_p)
{
    for (uint32_t i = 0; i < (*inv_p)->pf_count; i++)
        free((*inv_p)->pfs[i].vfs);
    free((*inv_p)->pfs);
    free(*inv_p);
    *inv_p = NULL;
}

typedef struct {
    int count;
    int vlan_other; /* VFs whose VLAN is not the expected one */
    uint16_t vlan;
} s_check_t;

static int s_check_vf(const db_vf_row_t *row, void *arg)
{
    s_check_t *check = arg;
    check->count++;
    if (row->vlan != check->vlan)
        check->vlan_other++;
    return 0;
}

/* The stored state is exactly one whole report: generation, VF count and
 * every VF's VLAN belong together. */
static void s_assert_state(db_t *db, uint64_t generation, int vfs,
                           uint16_t vlan)
{
    db_err_t err;
    db_host_row_t host;
    assert_int_equal(db_host_get(db, "h1", &host, &err), 0);
    assert_int_equal(host.generation, generation);
    s_check_t check = {.vlan = vlan};
    db_vf_filter_t filter = {.host = "h1"};
    assert_int_equal(db_vfs_list(db, &filter, NULL, s_check_vf, &check, &err),
                     0);
    assert_int_equal(check.count, vfs);
    assert_int_equal(check.vlan_other, 0);
}

static void test_every_allocation_failure_is_clean(void **state)
{
    test_db_file_t file;
    test_db_file_make(&file, "faults");
    const char *path = file.path;
    db_err_t err;
    db_t *db = db_open(path, &err);
    assert_non_null(db);
    vfp_hello_t hello = {.hostname = "h1"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
    vfp_inventory_t *base = s_inventory(1, 10, 4);
    vfp_inventory_t *next = s_inventory(2, 20, 3);
    assert_int_equal(db_inventory_replace(db, "h1", base, 2, &err), 0);

    /* A fresh handle each round, so that preparing every statement is
     * among the allocations that fail. */
    int failures = 0;
    for (long fail_at = 1;; fail_at++) {
        db_destroy(&db);
        db = db_open(path, &err);
        assert_non_null(db);
        test_db_alloc_fail_at(fail_at);
        int rc = db_inventory_replace(db, "h1", next, 3, &err);
        test_db_alloc_fail_at(0);
        if (rc == 0) {
            s_assert_state(db, 2, 6, 20);
            break;
        }
        failures++;
        assert_int_equal(err.code, DB_ERR_IO);
        assert_true(strlen(err.text) > 0);
        s_assert_state(db, 1, 8, 10);
    }
    assert_true(failures > 100);

    /* The same for a delta: PF 0 changes back to 4 VFs on VLAN 20. */
    vfp_inventory_t *grown = s_inventory(3, 20, 4);
    vfp_inventory_delta_t delta = {.base_generation = 2,
                                   .generation = 3,
                                   .pf_count = 1,
                                   .pfs = grown->pfs};
    failures = 0;
    for (long fail_at = 1;; fail_at++) {
        test_db_alloc_fail_at(fail_at);
        int rc = db_inventory_apply_delta(db, "h1", &delta, 4, &err);
        test_db_alloc_fail_at(0);
        if (rc == 0) {
            s_assert_state(db, 3, 7, 20);
            break;
        }
        failures++;
        assert_int_equal(err.code, DB_ERR_IO);
        s_assert_state(db, 2, 6, 20);
    }
    assert_true(failures > 5);

    s_inventory_free(&base);
    s_inventory_free(&next);
    s_inventory_free(&grown);
    db_destroy(&db);
    test_db_file_remove(&file);
}

/* Opening a version 2 file migrates it to version 3 (the index the
 * listings need); a failure at any point of that leaves the file at
 * version 2, whole, and the next open migrates it. (test_db_policy covers
 * the step to version 4.) */
static void test_migration_allocation_failure_is_clean(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "faults");
    const char *path = file.path;
    db_err_t err;
    db_t *db = db_open_version(path, 2, &err);
    assert_non_null(db);
    vfp_hello_t hello = {.hostname = "h1"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
    vfp_inventory_t *inv = s_inventory(1, 10, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2, &err), 0);
    db_destroy(&db);

    int failures = 0;
    for (long fail_at = 1;; fail_at++) {
        test_db_alloc_fail_at(fail_at);
        db = db_open_version(path, 3, &err);
        test_db_alloc_fail_at(0);
        if (db)
            break;
        failures++;
        assert_true(strlen(err.text) > 0);
        assert_int_equal(test_db_file_int(path, "PRAGMA user_version"), 2);
        assert_int_equal(test_db_file_int(path,
                                          "SELECT count(*) FROM sqlite_master"
                                          " WHERE name = 'vfs_pf_state'"),
                         0);
    }
    assert_true(failures > 20);
    assert_int_equal(db_schema_version(db), 3);
    s_assert_state(db, 1, 8, 10);

    s_inventory_free(&inv);
    db_destroy(&db);
    test_db_file_remove(&file);
}

/* "state/reserved VFs/assigned VFs" of VM vm1 ("none" when absent). */
static void s_vm_snapshot(db_t *db, char *out, size_t size)
{
    db_err_t err;
    db_vm_t vm;
    db_summary_t sum;
    int rc = db_vm_get(db, "vm1", &vm, &err);
    assert_true(rc == 0 || err.code == DB_ERR_NOT_FOUND);
    assert_int_equal(db_summary(db, &sum, &err), 0);
    snprintf(out, size, "%s/%lld/%lld",
             rc == 0 ? db_vm_state_name(vm.state) : "none",
             (long long)sum.vfs_reserved, (long long)sum.vfs_assigned);
}

/* Step 1 confirms the VM by name, or (by_host) as its host's answer to
 * revision 1, which the VM is reserved with. */
static int s_vm_step(db_t *db, int step, bool by_host, db_err_t *err)
{
    db_vm_t vm = {.name = "vm1",
                  .host = "h1",
                  .memory_mib = 512,
                  .vcpus = 1,
                  .apply_revision = by_host ? 1 : 0};
    switch (step) {
    case 0:
        vm.nic_count = 2;
        for (uint32_t i = 0; i < 2; i++) {
            snprintf(vm.nics[i].network, sizeof(vm.nics[i].network), "n");
            snprintf(vm.nics[i].pf, sizeof(vm.nics[i].pf), "0000:81:00.%u", i);
            vm.nics[i].vf = 1;
            vm.nics[i].mac[5] = (uint8_t)(1 + i);
        }
        return db_vm_reserve(db, &vm, 1, err);
    case 1:
        return by_host ? db_host_vms_set_placed(db, "h1", 1, 2, NULL, err)
                       : db_vm_set_placed(db, "vm1", 2, err);
    case 2:
        return db_vm_set_failed(db, "vm1", "refused", err);
    default:
        return db_vm_delete(db, "vm1", NULL, err);
    }
}

/* Every allocation of a VM's reservation, confirmation, failure and
 * deletion fails in turn: each is reported as an I/O error and leaves the
 * VM and its VFs as they were. */
static void s_vm_allocation_failures(bool by_host)
{
    test_db_file_t file;
    test_db_file_make(&file, "faults");
    db_err_t err;
    db_t *db = db_open(file.path, &err);
    assert_non_null(db);
    vfp_hello_t hello = {.hostname = "h1"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
    vfp_inventory_t *inv = s_inventory(1, 10, 4);
    inv->host.mem_total_kb = 1 << 20;
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2, &err), 0);
    const char *after[] = {"reserved/2/0", "placed/0/2", "failed/0/0",
                           "none/0/0"};
    char before[64] = "none/0/0", now[64];
    for (int step = 0; step < 4; step++) {
        int failures = 0;
        for (long fail_at = 1;; fail_at++) {
            db_destroy(&db);
            db = db_open(file.path, &err);
            assert_non_null(db);
            test_db_alloc_fail_at(fail_at);
            int rc = s_vm_step(db, step, by_host, &err);
            test_db_alloc_fail_at(0);
            s_vm_snapshot(db, now, sizeof(now));
            if (rc == 0) {
                assert_string_equal(now, after[step]);
                break;
            }
            failures++;
            assert_int_equal(err.code, DB_ERR_IO);
            assert_string_equal(now, before);
        }
        assert_true(failures > 5);
        snprintf(before, sizeof(before), "%s", after[step]);
    }
    s_inventory_free(&inv);
    db_destroy(&db);
    test_db_file_remove(&file);
}

static void test_vm_allocation_failure_is_clean(void **state)
{
    (void)state;
    s_vm_allocation_failures(false);
}

static void test_host_vms_placed_allocation_failure_is_clean(void **state)
{
    (void)state;
    s_vm_allocation_failures(true);
}

/* The step to version 6 (the VM tables made again) fails cleanly at every
 * allocation too: the file stays at version 5 with its old vms table. */
static void test_vm_migration_allocation_failure_is_clean(void **state)
{
    (void)state;
    test_db_file_t file;
    test_db_file_make(&file, "faults");
    const char *path = file.path;
    db_err_t err;
    db_t *db = db_open_version(path, 5, &err);
    assert_non_null(db);
    vfp_hello_t hello = {.hostname = "h1"};
    assert_int_equal(db_host_hello(db, &hello, 1, 1, NULL, &err), 0);
    vfp_inventory_t *inv = s_inventory(1, 10, 4);
    assert_int_equal(db_inventory_replace(db, "h1", inv, 2, &err), 0);
    db_destroy(&db);
    int failures = 0;
    for (long fail_at = 1;; fail_at++) {
        test_db_alloc_fail_at(fail_at);
        db = db_open(path, &err);
        test_db_alloc_fail_at(0);
        if (db)
            break;
        failures++;
        assert_int_equal(test_db_file_int(path, "PRAGMA user_version"), 5);
        assert_int_equal(test_db_file_int(path, "SELECT count(*) FROM"
                                                " pragma_table_info('vms')"
                                                " WHERE name = 'memory_mb'"),
                         1);
    }
    assert_true(failures > 20);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    s_assert_state(db, 1, 8, 10);
    s_inventory_free(&inv);
    db_destroy(&db);
    test_db_file_remove(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure_is_clean),
        cmocka_unit_test(test_migration_allocation_failure_is_clean),
        cmocka_unit_test(test_vm_allocation_failure_is_clean),
        cmocka_unit_test(test_host_vms_placed_allocation_failure_is_clean),
        cmocka_unit_test(test_vm_migration_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, test_db_alloc_install, NULL);
}
