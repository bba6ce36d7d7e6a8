/* test_db_vm.c - unit tests for VM storage on real SQLite files:
 * reservations and every refusal, the VM's life after it, listings and
 * pages, the VM invariants as schema constraints, migration from version 5
 * and the reservation path's freedom from table scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "test_db_file.h"

/* Two hosts of 8 GiB: esx-e1 with PFs 0000:3b:00.0 (ens3f0) and
 * 0000:3b:00.1 (ens3f1), esx-e2 with 0000:5e:00.0 (ens5f0); 4 VFs each,
 * VF k of PF p at 0000:3b:0(2+p).k. */
#define S_MEM_MIB 8192
#define S_VFS 4

typedef struct {
    test_db_file_t file;
    db_t *db;
} fixture_t;

static const char *const s_e1_pfs[] = {"0000:3b:00.0", "0000:3b:00.1"};
static const char *const s_e2_pfs[] = {"0000:5e:00.0"};

/* PF number p at addr (ifname from its bus and function) with vf_count
 * VFs in vfs. */
static void s_pf_fill(vfp_pf_t *pf, vfp_vf_t *vfs, const char *addr, uint32_t p,
                      uint32_t vf_count)
{
    memset(pf, 0, sizeof(*pf));
    memset(vfs, 0, S_VFS * sizeof(*vfs));
    snprintf(pf->pci_addr, sizeof(pf->pci_addr), "%s", addr);
    snprintf(pf->ifname, sizeof(pf->ifname), "ens%cf%c",
             addr[6] == 'b' ? '3' : '5', addr[11]);
    pf->total_vfs = 8;
    pf->num_vfs = (uint16_t)vf_count;
    pf->vf_count = vf_count;
    pf->vfs = vfs;
    for (uint32_t k = 0; k < vf_count; k++) {
        vfs[k].index = (uint16_t)k;
        snprintf(vfs[k].pci_addr, sizeof(vfs[k].pci_addr), "%.8s%02x.%u", addr,
                 2 + p, k);
        vfs[k].iommu_isolated = true;
    }
}

/* The host's inventory of PFs at the given addresses, vf_count VFs each. */
static void s_ingest(db_t *db, const char *host, uint64_t generation,
                     const char *const *addrs, uint32_t pf_count,
                     uint32_t vf_count)
{
    vfp_pf_t pfs[2];
    vfp_vf_t vfs[2][S_VFS];
    vfp_inventory_t inv = {.generation = generation, .pf_count = pf_count};
    snprintf(inv.host.hostname, sizeof(inv.host.hostname), "%s", host);
    inv.host.iommu_ready = true;
    inv.host.mem_total_kb = (uint64_t)S_MEM_MIB * 1024;
    for (uint32_t p = 0; p < pf_count; p++)
        s_pf_fill(&pfs[p], vfs[p], addrs[p], p, vf_count);
    inv.pfs = pfs;
    db_err_t err;
    assert_int_equal(db_inventory_replace(db, host, &inv, 2000, &err), 0);
}

static void s_hello(db_t *db, const char *host)
{
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", host);
    db_err_t err;
    assert_int_equal(db_host_hello(db, &hello, 1, 1000, NULL, &err), 0);
}

static void s_fill(db_t *db)
{
    s_hello(db, "esx-e1");
    s_hello(db, "esx-e2");
    s_ingest(db, "esx-e1", 1, s_e1_pfs, 2, S_VFS);
    s_ingest(db, "esx-e2", 1, s_e2_pfs, 1, S_VFS);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "vm");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    s_fill(fx->db);
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

/* A VM on host with memory_mib and no NIC yet. */
static db_vm_t s_vm(const char *name, const char *host, uint64_t memory_mib)
{
    db_vm_t vm;
    memset(&vm, 0, sizeof(vm));
    snprintf(vm.name, sizeof(vm.name), "%s", name);
    snprintf(vm.host, sizeof(vm.host), "%s", host);
    vm.memory_mib = memory_mib;
    vm.vcpus = 2;
    return vm;
}

/* Adds a NIC on network "vlan1" with MAC 00:50:56:00:00:<mac>. */
static void s_nic(db_vm_t *vm, const char *pf, uint16_t vf, uint8_t mac)
{
    db_vm_nic_t *nic = &vm->nics[vm->nic_count++];
    snprintf(nic->network, sizeof(nic->network), "vlan1");
    snprintf(nic->pf, sizeof(nic->pf), "%s", pf);
    nic->vf = vf;
    const uint8_t bytes[6] = {0x00, 0x50, 0x56, 0x00, 0x00, mac};
    memcpy(nic->mac, bytes, 6);
}

static int s_int(fixture_t *fx, const char *sql)
{
    return test_db_file_int(fx->file.path, sql);
}

/* The state of VF idx of the PF at pf. */
static char *s_vf_state(fixture_t *fx, const char *pf, int idx)
{
    static char state[16];
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT v.state FROM vfs v JOIN pfs p ON p.id = v.pf_id"
             " WHERE p.pci_addr = '%s' AND v.idx = %d",
             pf, idx);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(fx->db->sql, sql, -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(state, sizeof(state), "%s", sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return state;
}

/* web-1 on esx-e1: 4 GiB, NIC 0 on ens3f0 VF 0, NIC 1 on ens3f1 VF 3. */
static void s_reserve_web1(fixture_t *fx)
{
    db_vm_t vm = s_vm("web-1", "esx-e1", 4096);
    snprintf(vm.group, sizeof(vm.group), "web");
    snprintf(vm.numa, sizeof(vm.numa), "preferred");
    snprintf(vm.pin, sizeof(vm.pin), "esx-e1");
    vm.separate_pfs = true;
    vm.vcpus = 4;
    s_nic(&vm, s_e1_pfs[0], 0, 1);
    s_nic(&vm, s_e1_pfs[1], 3, 2);
    snprintf(vm.nics[1].network, sizeof(vm.nics[1].network), "trunk");
    db_err_t err;
    assert_int_equal(db_vm_reserve(fx->db, &vm, 5000, &err), 0);
}

static void test_state_and_power_names(void **state)
{
    (void)state;
    for (int i = 0; i < DB_VM_STATE_COUNT; i++) {
        db_vm_state_t parsed;
        assert_int_equal(db_vm_state_parse(db_vm_state_name(i), &parsed), 0);
        assert_int_equal(parsed, i);
    }
    for (int i = 0; i < DB_VM_POWER_COUNT; i++) {
        db_vm_power_t parsed;
        assert_int_equal(db_vm_power_parse(db_vm_power_name(i), &parsed), 0);
        assert_int_equal(parsed, i);
    }
    assert_string_equal(db_vm_state_name(DB_VM_RESERVED), "reserved");
    assert_string_equal(db_vm_state_name(DB_VM_FAILED), "failed");
    assert_string_equal(db_vm_power_name(DB_VM_POWER_OFF), "off");
    assert_null(db_vm_state_name(DB_VM_STATE_COUNT));
    assert_null(db_vm_power_name(DB_VM_POWER_COUNT));
    db_vm_state_t vm_state;
    db_vm_power_t power;
    assert_int_equal(db_vm_state_parse("host-down", &vm_state), -1);
    assert_int_equal(db_vm_state_parse(NULL, &vm_state), -1);
    assert_int_equal(db_vm_power_parse("On", &power), -1);
}

/* db_column_text, which every VM read goes through, cuts a text as
 * snprintf "%s" would: at size - 1 bytes, NULL read as "". */
static void test_column_text_cuts(void **state)
{
    (void)state;
    sqlite3 *sql = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(":memory:", &sql), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(sql, "SELECT 'abcdef', NULL, ''", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    db_column_text(stmt, 0, buf, 4);
    assert_string_equal(buf, "abc");
    assert_int_equal(buf[4], 'x');
    db_column_text(stmt, 0, buf, 7);
    assert_string_equal(buf, "abcdef");
    db_column_text(stmt, 0, buf, 1);
    assert_string_equal(buf, "");
    memset(buf, 'x', sizeof(buf));
    db_column_text(stmt, 0, buf, 0);
    assert_int_equal(buf[0], 'x');
    db_column_text(stmt, 1, buf, sizeof(buf));
    assert_string_equal(buf, "");
    db_column_text(stmt, 2, buf, sizeof(buf));
    assert_string_equal(buf, "");
    sqlite3_finalize(stmt);
    sqlite3_close(sql);
}

static void test_reserve_and_get(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_string_equal(vm.name, "web-1");
    assert_int_equal(vm.memory_mib, 4096);
    assert_int_equal(vm.vcpus, 4);
    assert_string_equal(vm.host, "esx-e1");
    assert_string_equal(vm.group, "web");
    assert_string_equal(vm.numa, "preferred");
    assert_true(vm.separate_pfs);
    assert_string_equal(vm.pin, "esx-e1");
    assert_int_equal(vm.state, DB_VM_RESERVED);
    assert_int_equal(vm.power, DB_VM_POWER_UNKNOWN);
    assert_int_equal(vm.apply_revision, 0);
    assert_string_equal(vm.error, "");
    assert_int_equal(vm.created_at_ms, 5000);
    assert_int_equal(vm.placed_at_ms, 0);
    assert_false(vm.host_down);
    assert_int_equal(vm.nic_count, 2);
    assert_string_equal(vm.nics[0].network, "vlan1");
    assert_string_equal(vm.nics[1].network, "trunk");
    assert_string_equal(vm.nics[0].pf, "0000:3b:00.0");
    assert_string_equal(vm.nics[0].pf_ifname, "ens3f0");
    assert_int_equal(vm.nics[0].vf, 0);
    assert_string_equal(vm.nics[0].vf_pci, "0000:3b:02.0");
    assert_string_equal(vm.nics[1].pf, "0000:3b:00.1");
    assert_string_equal(vm.nics[1].pf_ifname, "ens3f1");
    assert_int_equal(vm.nics[1].vf, 3);
    assert_string_equal(vm.nics[1].vf_pci, "0000:3b:03.3");
    const uint8_t mac[6] = {0x00, 0x50, 0x56, 0x00, 0x00, 0x02};
    assert_memory_equal(vm.nics[1].mac, mac, 6);

    /* The VFs are reserved and shown as the VM's; the MACs stored lower
     * case as the schema wants them. */
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "reserved");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "reserved");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "free");
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vm_nics WHERE mac ="
                               " '00:50:56:00:00:01'"),
                     1);
    db_summary_t summary;
    assert_int_equal(db_summary(fx->db, &summary, &err), 0);
    assert_int_equal(summary.vms, 1);
    assert_int_equal(summary.vfs_reserved, 2);

    assert_int_equal(db_vm_get(fx->db, "web-2", &vm, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_string_equal(err.text, "no vm named \"web-2\"");

    /* A VM without NICs, numa "" stored as none. */
    db_vm_t bare = s_vm("bare", "esx-e2", 1024);
    assert_int_equal(db_vm_reserve(fx->db, &bare, 6000, &err), 0);
    assert_int_equal(db_vm_get(fx->db, "bare", &vm, &err), 0);
    assert_int_equal(vm.nic_count, 0);
    assert_string_equal(vm.numa, "none");
    assert_string_equal(vm.host, "esx-e2");
}

/* Reserves vm, expects it refused with code and text, and nothing of it
 * stored. */
static void s_refused(fixture_t *fx, const db_vm_t *vm, db_errcode_t code,
                      const char *text)
{
    int vms = s_int(fx, "SELECT count(*) FROM vms");
    int nics = s_int(fx, "SELECT count(*) FROM vm_nics");
    int free_vfs = s_int(fx, "SELECT count(*) FROM vfs WHERE state = 'free'");
    db_err_t err;
    assert_int_equal(db_vm_reserve(fx->db, vm, 7000, &err), -1);
    if (err.code != code || strcmp(err.text, text) != 0)
        fail_msg("refusal %d \"%s\", expected %d \"%s\"", err.code, err.text,
                 code, text);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vms"), vms);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vm_nics"), nics);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vfs WHERE state = 'free'"),
                     free_vfs);
}

static void test_reserve_refusals_taken(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_vm_t vm = s_vm("web-1", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_refused(fx, &vm, DB_ERR_EXISTS, "vm web-1 exists");

    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[1], 3, 9);
    s_refused(fx, &vm, DB_ERR_EXISTS,
              "vm web-2: pf 0000:3b:00.1 vf 3 is held by vm web-1");

    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_nic(&vm, s_e1_pfs[0], 2, 1);
    s_refused(fx, &vm, DB_ERR_EXISTS,
              "vm web-2: mac 00:50:56:00:00:01 is held by vm web-1");

    /* Two NICs of one request naming one VF or one MAC. */
    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_nic(&vm, s_e1_pfs[0], 1, 10);
    s_refused(fx, &vm, DB_ERR_INVALID,
              "vm web-2: nic 1 repeats pf 0000:3b:00.0 vf 1 of another nic");
    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_nic(&vm, s_e1_pfs[0], 2, 9);
    s_refused(fx, &vm, DB_ERR_INVALID,
              "vm web-2: nic 1 repeats mac 00:50:56:00:00:09 of another nic");

    /* A VF no VM holds but not free. */
    assert_int_equal(sqlite3_exec(fx->db->sql,
                                  "UPDATE vfs SET state = 'broken' WHERE idx ="
                                  " 2 AND pf_id = (SELECT id FROM pfs WHERE"
                                  " pci_addr = '0000:3b:00.1')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[1], 2, 9);
    s_refused(fx, &vm, DB_ERR_INVALID,
              "vm web-2: pf 0000:3b:00.1 vf 2 is broken, not free");

    /* Memory: 4096 of 8192 MiB held. */
    vm = s_vm("big", "esx-e1", 4097);
    s_refused(fx, &vm, DB_ERR_INVALID,
              "vm big: 4097 MiB more would exceed the memory of host esx-e1 "
              "(4096 of 8192 MiB held by its VMs)");
    vm = s_vm("big", "esx-e1", 4096);
    db_err_t err;
    assert_int_equal(db_vm_reserve(fx->db, &vm, 7000, &err), 0);
}

static void test_reserve_refusals_unknown(void **state)
{
    fixture_t *fx = *state;
    db_vm_t vm = s_vm("web-2", "nope", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_refused(fx, &vm, DB_ERR_NOT_FOUND, "vm web-2: no host named \"nope\"");
    /* esx-e2's PF is not on esx-e1. */
    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e2_pfs[0], 1, 9);
    s_refused(fx, &vm, DB_ERR_NOT_FOUND,
              "vm web-2: host esx-e1 has no pf 0000:5e:00.0");
    vm = s_vm("web-2", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 9);
    s_nic(&vm, s_e1_pfs[1], S_VFS, 10);
    s_refused(fx, &vm, DB_ERR_NOT_FOUND,
              "vm web-2: host esx-e1 pf 0000:3b:00.1 has no vf 4");
}

static void test_reserve_refusals_invalid(void **state)
{
    fixture_t *fx = *state;
    const char *needs = "a reservation needs";
    db_vm_t bad[10];
    bad[0] = s_vm("", "esx-e1", 1024);
    bad[1] = s_vm("x", "esx-e1", 1024);
    memset(bad[1].name, 'x', DB_VM_NAME_MAX + 1);
    bad[2] = s_vm("web-2", "esx-e1", 0);
    bad[3] = s_vm("web-2", "esx-e1", 1024);
    bad[3].vcpus = 0;
    bad[4] = s_vm("web-2", "esx-e1", 1024);
    bad[4].nic_count = DB_VM_NICS_MAX + 1;
    bad[5] = s_vm("web-2", "", 1024);
    bad[6] = s_vm("web-2", "esx-e1", 1024);
    snprintf(bad[6].numa, sizeof(bad[6].numa), "strict");
    bad[7] = s_vm("web-2", "esx-e1", 1024);
    s_nic(&bad[7], s_e1_pfs[0], 1, 9);
    bad[7].nics[0].network[0] = '\0';
    bad[8] = s_vm("web-2", "esx-e1", 1024);
    s_nic(&bad[8], "", 1, 9);
    bad[9] = s_vm("web-2", "esx-e1", 1024);
    bad[9].power = DB_VM_POWER_COUNT;
    const char *why[] = {"a name of 1 to 64 bytes",
                         "a name of 1 to 64 bytes",
                         "memory_mib above 0",
                         "vcpus above 0",
                         "at most 8 NICs",
                         "a host",
                         "numa none, preferred or required",
                         "a network for every NIC",
                         "a pf for every NIC",
                         "a power state"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "vm %.*s: %s %s", DB_VM_NAME_MAX,
                 bad[i].name, needs, why[i]);
        s_refused(fx, &bad[i], DB_ERR_INVALID, text);
    }
    /* The longest name and every numa the schema knows are taken. */
    db_err_t err;
    db_vm_t vm = s_vm("x", "esx-e2", 1);
    memset(vm.name, 'n', DB_VM_NAME_MAX);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 7000, &err), 0);
    const char *numas[] = {"none", "preferred", "required"};
    for (int i = 0; i < 3; i++) {
        vm = s_vm(numas[i], "esx-e2", 1);
        snprintf(vm.numa, sizeof(vm.numa), "%s", numas[i]);
        assert_int_equal(db_vm_reserve(fx->db, &vm, 7000, &err), 0);
        assert_int_equal(db_vm_get(fx->db, numas[i], &vm, &err), 0);
        assert_string_equal(vm.numa, numas[i]);
    }
}

/* Inside a batch a refused reservation takes back only itself. */
static void test_refusal_in_batch_keeps_the_rest(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    assert_int_equal(db_batch_begin(fx->db, &err), 0);
    db_vm_t a = s_vm("a", "esx-e1", 1024);
    s_nic(&a, s_e1_pfs[0], 0, 1);
    db_vm_t b = s_vm("b", "esx-e1", 1024);
    s_nic(&b, s_e1_pfs[0], 1, 2);
    s_nic(&b, s_e1_pfs[0], 0, 3);
    db_vm_t c = s_vm("c", "esx-e1", 1024);
    s_nic(&c, s_e1_pfs[0], 1, 4);
    assert_int_equal(db_vm_reserve(fx->db, &a, 1, &err), 0);
    assert_int_equal(db_vm_reserve(fx->db, &b, 2, &err), -1);
    assert_int_equal(err.code, DB_ERR_EXISTS);
    assert_int_equal(db_vm_reserve(fx->db, &c, 3, &err), 0);
    assert_int_equal(db_batch_commit(fx->db, &err), 0);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vms"), 2);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vms WHERE name = 'b'"), 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "reserved");
}

static void test_placed_power_revision(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_err_t err;
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e1", 7, NULL, &err), 0);
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9000, &err), 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "assigned");
    /* A second confirmation keeps the first time. */
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9500, &err), 0);
    assert_int_equal(db_vm_set_power(fx->db, "web-1", DB_VM_POWER_ON, &err), 0);
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_int_equal(vm.placed_at_ms, 9000);
    assert_int_equal(vm.apply_revision, 7);
    assert_int_equal(vm.power, DB_VM_POWER_ON);
    assert_int_equal(db_vm_set_power(fx->db, "web-1", DB_VM_POWER_OFF, &err),
                     0);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.power, DB_VM_POWER_OFF);

    assert_int_equal(db_vm_set_power(fx->db, "web-1", DB_VM_POWER_COUNT, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(db_vm_set_power(fx->db, "nope", DB_VM_POWER_ON, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_string_equal(err.text, "no vm named \"nope\"");
    assert_int_equal(db_vm_set_placed(fx->db, "nope", 1, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
}

/* A VM's apply revision and placement as one statement per host: only
 * the host's reserved VMs, planned at most once, placed up to the answered
 * revision; none on a host that is down or unknown. */
static void test_host_vms_revision_and_placed(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_err_t err;
    db_vm_t web2 = s_vm("web-2", "esx-e1", 1024);
    s_nic(&web2, s_e1_pfs[0], 1, 3);
    db_vm_t web3 = s_vm("web-3", "esx-e2", 1024);
    s_nic(&web3, s_e2_pfs[0], 0, 4);
    assert_int_equal(db_vm_reserve(fx->db, &web2, 1, &err), 0);
    assert_int_equal(db_vm_reserve(fx->db, &web3, 1, &err), 0);
    size_t count = 99;
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e1", 5, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e1", 6, &count, &err), 0);
    assert_int_equal(count, 0);
    db_vm_t web4 = s_vm("web-4", "esx-e1", 1024);
    s_nic(&web4, s_e1_pfs[1], 0, 5);
    assert_int_equal(db_vm_reserve(fx->db, &web4, 1, &err), 0);
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e1", 6, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(s_int(fx,
                           "SELECT count(*) FROM vms WHERE apply_revision = 5"
                           " AND (name = 'web-1' OR name = 'web-2')"),
                     2);
    assert_int_equal(
        s_int(fx, "SELECT apply_revision FROM vms WHERE name = 'web-3'"), 0);

    /* Revision 5 answered: web-1 and web-2, not web-4 (planned at 6). */
    assert_int_equal(
        db_host_vms_set_placed(fx->db, "esx-e1", 5, 9000, &count, &err), 0);
    assert_int_equal(count, 2);
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-2", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_int_equal(vm.placed_at_ms, 9000);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 0), "reserved");
    assert_int_equal(db_vm_get(fx->db, "web-4", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_RESERVED);
    assert_int_equal(
        db_host_vms_set_placed(fx->db, "esx-e1", 6, 9500, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 0), "assigned");
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.placed_at_ms, 9000);

    /* A host that is down is planned (its VMs take the revision it gets
     * when it is back), not placed; an unknown host has no VM. */
    assert_int_equal(db_host_set_state(fx->db, "esx-e2", DB_HOST_DOWN, &err),
                     0);
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e2", 2, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(
        s_int(fx, "SELECT apply_revision FROM vms WHERE name = 'web-3'"), 2);
    assert_int_equal(
        db_host_vms_set_placed(fx->db, "esx-e2", 2, 9600, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "nope", 2, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(db_host_vms_set_apply_revision(
                         fx->db, "esx-e1", (uint64_t)INT64_MAX + 1, NULL, &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_int_equal(db_host_vms_set_placed(fx->db, "esx-e1",
                                            (uint64_t)INT64_MAX + 1, 1, NULL,
                                            &err),
                     -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
}

static void test_failed_releases_everything_but_macs(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_err_t err;
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9000, &err), 0);
    assert_int_equal(db_vm_set_failed(fx->db, "web-1",
                                      "ens3f0 vf 0: vlan: Operation not "
                                      "permitted",
                                      &err),
                     0);
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_FAILED);
    assert_string_equal(vm.host, "");
    assert_false(vm.host_down);
    assert_string_equal(vm.error, "ens3f0 vf 0: vlan: Operation not permitted");
    assert_int_equal(vm.nic_count, 2);
    assert_string_equal(vm.nics[0].pf, "");
    assert_string_equal(vm.nics[0].vf_pci, "");
    assert_string_equal(vm.nics[1].network, "trunk");
    assert_int_equal(vm.nics[1].mac[5], 2);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "free");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "free");

    /* Its memory and VFs are free for another VM; its MAC is not. */
    db_vm_t all = s_vm("all", "esx-e1", S_MEM_MIB);
    s_nic(&all, s_e1_pfs[0], 0, 3);
    assert_int_equal(db_vm_reserve(fx->db, &all, 9100, &err), 0);
    db_vm_t mac = s_vm("mac", "esx-e2", 1);
    s_nic(&mac, s_e2_pfs[0], 0, 1);
    s_refused(fx, &mac, DB_ERR_EXISTS,
              "vm mac: mac 00:50:56:00:00:01 is held by vm web-1");

    /* A failed VM is not placed afterwards. */
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9200, &err), -1);
    assert_int_equal(err.code, DB_ERR_INVALID);
    assert_string_equal(err.text,
                        "vm web-1 failed and holds no VF; it cannot be placed");

    /* A long error is cut at a character boundary. */
    char text[VFP_TEXT_MAX + 8];
    memset(text, 'e', VFP_TEXT_MAX - 1);
    memcpy(text + VFP_TEXT_MAX - 1, "\xc3\xa9\xc3\xa9", 5);
    assert_int_equal(db_vm_set_failed(fx->db, "web-1", text, &err), 0);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(strlen(vm.error), VFP_TEXT_MAX - 1);
    assert_int_equal(db_vm_set_failed(fx->db, "nope", "x", &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
}

static void test_delete_frees(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_err_t err;
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9000, &err), 0);
    db_vm_t was;
    assert_int_equal(db_vm_delete(fx->db, "web-1", &was, &err), 0);
    assert_string_equal(was.name, "web-1");
    assert_int_equal(was.state, DB_VM_PLACED);
    assert_int_equal(was.nic_count, 2);
    assert_string_equal(was.nics[1].pf_ifname, "ens3f1");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "free");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "free");
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vm_nics"), 0);
    assert_int_equal(db_vm_delete(fx->db, "web-1", NULL, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_string_equal(err.text, "no vm named \"web-1\"");

    /* Name, VFs, MACs and memory are all free again. */
    s_reserve_web1(fx);
    assert_int_equal(db_vm_set_failed(fx->db, "web-1", "no", &err), 0);
    assert_int_equal(db_vm_delete(fx->db, "web-1", NULL, &err), 0);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vms"), 0);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vfs WHERE state <> "
                               "'free'"),
                     0);
}

/* A cold evacuation moves the VM, MACs and all, to another host in one
 * transaction; a refused move leaves it where it was. */
static void test_move(void **state)
{
    fixture_t *fx = *state;
    s_reserve_web1(fx);
    db_err_t err;
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9000, &err), 0);
    db_vm_t to = s_vm("web-1", "esx-e2", 4096);
    s_nic(&to, s_e2_pfs[0], 1, 1);
    s_nic(&to, s_e2_pfs[0], 2, 2);
    to.created_at_ms = 5000;
    /* VF 9 does not exist: refused, web-1 stays on esx-e1. */
    to.nics[1].vf = 9;
    assert_int_equal(db_vm_move(fx->db, "web-1", &to, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_string_equal(vm.host, "esx-e1");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");

    to.nics[1].vf = 2;
    assert_int_equal(db_vm_move(fx->db, "web-1", &to, &err), 0);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_string_equal(vm.host, "esx-e2");
    assert_int_equal(vm.state, DB_VM_RESERVED);
    assert_int_equal(vm.created_at_ms, 5000);
    assert_int_equal(vm.nics[0].mac[5], 1);
    assert_int_equal(vm.nics[1].vf, 2);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "free");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 3), "free");
    assert_string_equal(s_vf_state(fx, s_e2_pfs[0], 1), "reserved");
    assert_int_equal(db_vm_move(fx->db, "nope", &to, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
}

static void test_host_cordon(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    db_host_row_t row;
    assert_int_equal(db_host_set_cordoned(fx->db, "esx-e1", true, &err), 0);
    assert_int_equal(db_host_get(fx->db, "esx-e1", &row, &err), 0);
    assert_true(row.cordoned);
    assert_int_equal(db_host_get(fx->db, "esx-e2", &row, &err), 0);
    assert_false(row.cordoned);
    assert_int_equal(db_host_set_cordoned(fx->db, "esx-e1", false, &err), 0);
    assert_int_equal(db_host_get(fx->db, "esx-e1", &row, &err), 0);
    assert_false(row.cordoned);
    assert_int_equal(db_host_set_cordoned(fx->db, "nope", true, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_string_equal(err.text, "no host named \"nope\"");
}

/* Runs sql on a connection of its own with foreign keys on. */
static int s_raw(fixture_t *fx, const char *sql)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(fx->file.path, &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    int rc = sqlite3_exec(raw, sql, NULL, NULL, NULL);
    sqlite3_close(raw);
    return rc;
}

#define S_HOST(name) "(SELECT id FROM hosts WHERE name = '" name "')"
#define S_VF(pf, idx)                                                          \
    "(SELECT v.id FROM vfs v JOIN pfs p ON p.id = v.pf_id WHERE"               \
    " p.pci_addr = '" pf "' AND v.idx = " #idx ")"
#define S_NIC(vm, idx, vf, mac)                                                \
    "INSERT INTO vm_nics (vm_id, idx, network, vf_id, mac) VALUES"             \
    " ((SELECT id FROM vms WHERE name = '" vm "'), " #idx ", 'n', " vf         \
    ", '" mac "')"

/* The VM rules hold against any writer, not only db_vm_reserve. */
static void test_vm_invariants_are_constraints(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    assert_int_equal(
        s_raw(fx, "INSERT INTO vms (name, memory_mib, vcpus, host_id,"
                  " created_at) VALUES"
                  " ('a', 4096, 1, " S_HOST(
                      "esx-e1") ", 1),"
                                " ('b', 4096, 1, " S_HOST(
                                    "esx-e1") ", 1),"
                                              " ('c', 1024, 1, " S_HOST(
                                                  "esx-e2") ", 1)"),
        SQLITE_OK);
    assert_int_equal(
        s_raw(fx, S_NIC("a", 0, S_VF("0000:3b:00.0", 0), "00:50:56:00:00:01")),
        SQLITE_OK);
    /* A VF belongs to at most one VM, and a NIC takes only a free VF. */
    assert_int_equal(
        s_raw(fx, S_NIC("b", 0, S_VF("0000:3b:00.0", 0), "00:50:56:00:00:02")),
        SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, "UPDATE vfs SET state = 'reserved' WHERE id = " S_VF(
                      "0000:3b:00.0", 1)),
        SQLITE_OK);
    assert_int_equal(
        s_raw(fx, S_NIC("b", 0, S_VF("0000:3b:00.0", 1), "00:50:56:00:00:02")),
        SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(
            fx,
            S_NIC(
                "b", 0, "NULL",
                "00:50:56:00:00:02") ";"
                                     "UPDATE vm_nics SET vf_id = " S_VF(
                                         "0000:3b:00.0",
                                         1) " WHERE mac = '00:50:56:00:00:02'"),
        SQLITE_CONSTRAINT);
    /* A MAC is unique, and lower case. */
    assert_int_equal(
        s_raw(fx, S_NIC("b", 1, S_VF("0000:3b:00.0", 2), "00:50:56:00:00:01")),
        SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, S_NIC("b", 1, S_VF("0000:3b:00.0", 2), "00:50:56:00:0A:01")),
        SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, S_NIC("b", 1, S_VF("0000:3b:00.0", 2), "00:50:56:00:01")),
        SQLITE_CONSTRAINT);
    /* A NIC is on its VM's host, and a VM holding VFs does not move. */
    assert_int_equal(
        s_raw(fx, S_NIC("b", 1, S_VF("0000:5e:00.0", 0), "00:50:56:00:00:03")),
        SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(fx, "UPDATE vms SET host_id = " S_HOST(
                                   "esx-e2") " WHERE name = 'a'"),
                     SQLITE_CONSTRAINT);
    /* Memory: 8192 MiB held on esx-e1 of 8192. */
    assert_int_equal(s_raw(fx,
                           "INSERT INTO vms (name, memory_mib, vcpus,"
                           " host_id, created_at) VALUES ('d', 1, 1, " S_HOST(
                               "esx-e1") ", 1)"),
                     SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, "UPDATE vms SET memory_mib = 4097 WHERE name = 'b'"),
        SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(fx, "UPDATE vms SET host_id = " S_HOST(
                                   "esx-e1") " WHERE name = 'c'"),
                     SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, "UPDATE vms SET memory_mib = 4096 WHERE name = 'b'"),
        SQLITE_OK);
    /* A failed VM holds no host; a reserved or placed one holds one. */
    assert_int_equal(
        s_raw(fx, "UPDATE vms SET state = 'failed' WHERE name = 'c'"),
        SQLITE_CONSTRAINT);
    assert_int_equal(
        s_raw(fx, "UPDATE vms SET host_id = NULL WHERE name = 'c'"),
        SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(fx, "UPDATE vms SET state = 'failed', host_id ="
                               " NULL WHERE name = 'c'"),
                     SQLITE_OK);
    assert_int_equal(
        s_raw(fx, "UPDATE vms SET state = 'placing' WHERE name = 'a'"),
        SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(fx, "UPDATE vms SET power = 'up' WHERE name = 'a'"),
                     SQLITE_CONSTRAINT);
    assert_int_equal(s_raw(fx, "UPDATE vms SET numa = 'x' WHERE name = 'a'"),
                     SQLITE_CONSTRAINT);
    /* A host holding VMs is not deleted. */
    assert_int_equal(s_raw(fx, "DELETE FROM hosts WHERE name = 'esx-e1'"),
                     SQLITE_CONSTRAINT);
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
}

typedef struct {
    char names[16][DB_VM_NAME_MAX + 1];
    int nics[16];
    bool down[16];
    int count;
    int stop_after; /* 0: never */
} s_seen_t;

static int s_collect(const db_vm_t *vm, void *arg)
{
    s_seen_t *seen = arg;
    assert_true(seen->count < 16);
    snprintf(seen->names[seen->count], sizeof(seen->names[0]), "%s", vm->name);
    seen->nics[seen->count] = (int)vm->nic_count;
    seen->down[seen->count] = vm->host_down;
    seen->count++;
    return seen->stop_after && seen->count == seen->stop_after ? -1 : 0;
}

/* The names listed with filter, one string "a,b,c". */
static const char *s_list(fixture_t *fx, const db_vm_filter_t *filter)
{
    static char out[256];
    s_seen_t seen = {0};
    db_err_t err;
    assert_int_equal(db_vms_list(fx->db, filter, NULL, s_collect, &seen, &err),
                     0);
    out[0] = '\0';
    for (int i = 0; i < seen.count; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
                 i ? "," : "", seen.names[i]);
    return out;
}

/* e1: a (2 NICs, placed), c (reserved, 0 NICs), e (1 NIC); e2: b (1 NIC,
 * reserved), d (failed, then no host). esx-e2 is down. */
static void s_fill_vms(fixture_t *fx)
{
    db_err_t err;
    db_vm_t vm = s_vm("a", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 0, 1);
    s_nic(&vm, s_e1_pfs[1], 0, 2);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    vm = s_vm("e", "esx-e1", 1024);
    s_nic(&vm, s_e1_pfs[0], 1, 3);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    vm = s_vm("c", "esx-e1", 1024);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    vm = s_vm("b", "esx-e2", 1024);
    s_nic(&vm, s_e2_pfs[0], 0, 4);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    vm = s_vm("d", "esx-e2", 1024);
    s_nic(&vm, s_e2_pfs[0], 1, 5);
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    assert_int_equal(db_vm_set_placed(fx->db, "a", 2, &err), 0);
    assert_int_equal(db_vm_set_failed(fx->db, "d", "refused", &err), 0);
    assert_int_equal(db_host_set_state(fx->db, "esx-e2", DB_HOST_DOWN, &err),
                     0);
}

static void test_list_filters(void **state)
{
    fixture_t *fx = *state;
    s_fill_vms(fx);
    s_seen_t seen = {0};
    db_err_t err;
    assert_int_equal(db_vms_list(fx->db, NULL, NULL, s_collect, &seen, &err),
                     0);
    assert_int_equal(seen.count, 5);
    const int nics[] = {2, 1, 0, 1, 1};
    const bool down[] = {false, true, false, false, false};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(seen.names[i][0], 'a' + i);
        assert_int_equal(seen.nics[i], nics[i]);
        assert_int_equal(seen.down[i], down[i]);
    }
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.host = "esx-e1"}),
                        "a,c,e");
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.host = "esx-e2"}), "b");
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.host = "nope"}), "");
    /* By the state shown: b is reserved on a down host, so host-down. */
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.by_state = true,
                                                     .state = DB_VM_RESERVED}),
                        "c,e");
    assert_string_equal(
        s_list(fx, &(db_vm_filter_t){.by_state = true, .state = DB_VM_PLACED}),
        "a");
    assert_string_equal(
        s_list(fx, &(db_vm_filter_t){.by_state = true, .state = DB_VM_FAILED}),
        "d");
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.host_down = true}), "b");
    assert_string_equal(s_list(fx, &(db_vm_filter_t){.host = "esx-e1",
                                                     .by_state = true,
                                                     .state = DB_VM_RESERVED}),
                        "c,e");
    assert_string_equal(
        s_list(fx, &(db_vm_filter_t){.host = "esx-e1", .host_down = true}), "");
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "b", &vm, &err), 0);
    assert_true(vm.host_down);

    /* A callback that stops ends the listing without an error. */
    seen = (s_seen_t){.stop_after = 2};
    assert_int_equal(db_vms_list(fx->db, NULL, NULL, s_collect, &seen, &err),
                     -1);
    assert_int_equal(err.code, DB_OK);
    assert_int_equal(seen.count, 2);
}

/* Pages of every size walk every VM once, in order, the page limit
 * counting VMs and not their NIC rows. */
static void test_list_pages(void **state)
{
    fixture_t *fx = *state;
    s_fill_vms(fx);
    const char *hosts[] = {NULL, "esx-e1"};
    const char *all[] = {"a,b,c,d,e", "a,c,e"};
    for (int h = 0; h < 2; h++) {
        for (int64_t limit = 1; limit <= 6; limit++) {
            char joined[64] = "";
            char cursor[DB_VM_NAME_MAX + 1] = "";
            for (int pages = 0;; pages++) {
                assert_true(pages < 10);
                s_seen_t seen = {0};
                db_page_t page = {.host = cursor[0] ? cursor : NULL,
                                  .limit = limit};
                db_vm_filter_t filter = {.host = hosts[h]};
                db_err_t err;
                assert_int_equal(
                    db_vms_list(fx->db, &filter, &page, s_collect, &seen, &err),
                    0);
                assert_true(seen.count <= limit);
                for (int i = 0; i < seen.count; i++)
                    snprintf(joined + strlen(joined),
                             sizeof(joined) - strlen(joined), "%s%s",
                             joined[0] ? "," : "", seen.names[i]);
                if (seen.count < limit)
                    break;
                snprintf(cursor, sizeof(cursor), "%s",
                         seen.names[seen.count - 1]);
            }
            assert_string_equal(joined, all[h]);
        }
    }
}

/* Ingestion keeps the VF states placement gave, and a VF back from
 * "missing" returns to its holder's. */
static void test_ingest_keeps_vf_states(void **state)
{
    fixture_t *fx = *state;
    s_fill_vms(fx);
    s_ingest(fx->db, "esx-e1", 2, s_e1_pfs, 2, S_VFS);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "reserved");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 2), "free");
    /* A delta re-reporting PF 0 with its VFs changes no state either. */
    vfp_pf_t pf;
    vfp_vf_t vfs[S_VFS];
    s_pf_fill(&pf, vfs, s_e1_pfs[0], 0, S_VFS);
    vfp_inventory_delta_t delta = {
        .base_generation = 2, .generation = 3, .pf_count = 1, .pfs = &pf};
    db_err_t err;
    assert_int_equal(
        db_inventory_apply_delta(fx->db, "esx-e1", &delta, 3000, &err), 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "reserved");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 2), "free");
    s_ingest(fx->db, "esx-e1", 3, s_e1_pfs, 2, 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "missing");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "missing");
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vfs WHERE state = 'free'"
                               " AND pf_id IN (SELECT id FROM pfs WHERE"
                               " host_id = 1)"),
                     0);
    s_ingest(fx->db, "esx-e1", 4, s_e1_pfs, 2, S_VFS);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[1], 0), "assigned");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "reserved");
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 2), "free");

    /* A missing VF released by its VM stays missing, and goes with the
     * next inventory that does not list it. */
    s_ingest(fx->db, "esx-e1", 5, s_e1_pfs, 2, 0);
    assert_int_equal(db_vm_delete(fx->db, "e", NULL, &err), 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 1), "missing");
    s_ingest(fx->db, "esx-e1", 6, s_e1_pfs, 2, 0);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vfs WHERE pf_id IN"
                               " (SELECT id FROM pfs WHERE host_id = 1)"),
                     2);
}

/* A version 5 file keeps its inventory; the VM tables are new. */
static void test_migrates_from_version_5(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    test_db_file_make(&fx->file, "vm5");
    db_err_t err;
    fx->db = db_open_version(fx->file.path, 5, &err);
    assert_non_null(fx->db);
    s_fill(fx->db);
    assert_int_equal(db_event_add(fx->db, 3, "test", NULL, "kept", &err), 0);
    db_destroy(&fx->db);
    assert_int_equal(s_raw(fx, "INSERT INTO vms (name, memory_mb, vcpus,"
                               " host_id, state) VALUES ('old', 1, 1, 1,"
                               " 'placing')"),
                     SQLITE_OK);
    assert_int_equal(s_raw(fx, "UPDATE vfs SET state = 'assigned' WHERE id = 1;"
                               "UPDATE vfs SET state = 'broken' WHERE id = 2"),
                     SQLITE_OK);

    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    assert_int_equal(db_schema_version(fx->db), DB_SCHEMA_VERSION);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM hosts"), 2);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vfs"), 3 * S_VFS);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM events"), 1);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM vms"), 0);
    assert_int_equal(s_int(fx, "SELECT state = 'free' FROM vfs WHERE id = 1"),
                     1);
    assert_int_equal(s_int(fx, "SELECT state = 'broken' FROM vfs WHERE id = 2"),
                     1);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM sqlite_master WHERE"
                               " type = 'trigger'"),
                     7);
    s_reserve_web1(fx);
    assert_int_equal(db_vm_set_placed(fx->db, "web-1", 9, &err), 0);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
}

/* A version 6 file keeps its VMs and VF states; the two state indexes
 * are gone, the summary counts as before, and reservations go on. */
static void test_migrates_from_version_6(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    test_db_file_make(&fx->file, "vm6");
    db_err_t err;
    fx->db = db_open_version(fx->file.path, 6, &err);
    assert_non_null(fx->db);
    s_fill(fx->db);
    s_reserve_web1(fx);
    db_destroy(&fx->db);
    assert_int_equal(s_raw(fx, "UPDATE vms SET state = 'placed',"
                               " placed_at = 6000 WHERE name = 'web-1';"
                               "UPDATE vfs SET state = 'assigned'"
                               " WHERE state = 'reserved'"),
                     SQLITE_OK);

    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    assert_int_equal(db_schema_version(fx->db), DB_SCHEMA_VERSION);
    assert_int_equal(s_int(fx, "SELECT count(*) FROM sqlite_master WHERE"
                               " name IN ('vfs_state', 'vms_state')"),
                     0);
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_int_equal(vm.nic_count, 2);
    assert_string_equal(s_vf_state(fx, s_e1_pfs[0], 0), "assigned");
    db_vm_t next = s_vm("web-2", "esx-e1", 1024);
    s_nic(&next, s_e1_pfs[0], 1, 3);
    assert_int_equal(db_vm_reserve(fx->db, &next, 7000, &err), 0);
    db_summary_t summary;
    assert_int_equal(db_summary(fx->db, &summary, &err), 0);
    assert_int_equal(summary.vms, 2);
    assert_int_equal(summary.vms_reserved, 1);
    assert_int_equal(summary.vms_placed, 1);
    assert_int_equal(summary.vms_failed, 0);
    assert_int_equal(summary.vfs, 3 * S_VFS);
    assert_int_equal(summary.vfs_assigned, 2);
    assert_int_equal(summary.vfs_reserved, 1);
    assert_int_equal(summary.vfs_free, 3 * S_VFS - 3);
}

/* Every statement a reservation, a confirmation (of one VM and of a
 * host's), a failure and a deletion run, their triggers and foreign key checks
 * included, reaches rows through keys: no full scan, no temporary index,
 * whatever the size. */
static void s_vm_life(fixture_t *fx, const char *name, uint16_t vf)
{
    db_err_t err;
    db_vm_t vm = s_vm(name, "esx-e1", 1);
    s_nic(&vm, s_e1_pfs[1], vf, (uint8_t)(200 + vf));
    assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    assert_int_equal(
        db_host_vms_set_apply_revision(fx->db, "esx-e1", 3, NULL, &err), 0);
    assert_int_equal(db_vm_set_placed(fx->db, name, 2, &err), 0);
    assert_int_equal(db_host_vms_set_placed(fx->db, "esx-e1", 3, 3, NULL, &err),
                     0);
    assert_int_equal(db_vm_set_power(fx->db, name, DB_VM_POWER_ON, &err), 0);
    assert_int_equal(db_vm_set_failed(fx->db, name, "x", &err), 0);
    assert_int_equal(db_vm_delete(fx->db, name, NULL, &err), 0);
    db_vm_t taken = s_vm(name, "esx-e1", 1);
    s_nic(&taken, s_e1_pfs[0], 0, 1);
    assert_int_equal(db_vm_reserve(fx->db, &taken, 1, &err), -1);
}

/* The largest full-scan or automatic-index count of any cached statement
 * since the last call (which resets them). */
static int s_scans(db_t *db)
{
    int worst = 0;
    for (int i = 0; i < db->cache_size; i++) {
        int full = sqlite3_stmt_status(db->cache[i].stmt,
                                       SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
        int autoindex = sqlite3_stmt_status(db->cache[i].stmt,
                                            SQLITE_STMTSTATUS_AUTOINDEX, 1);
        if (full > worst || autoindex > worst)
            worst = full > autoindex ? full : autoindex;
    }
    return worst;
}

static void test_reservation_path_never_scans(void **state)
{
    fixture_t *fx = *state;
    db_err_t err;
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "filler-%02d", i);
        db_vm_t vm = s_vm(name, "esx-e1", 1);
        if (i == 0)
            s_nic(&vm, s_e1_pfs[0], 0, 1);
        assert_int_equal(db_vm_reserve(fx->db, &vm, 1, &err), 0);
    }
    s_vm_life(fx, "warm", 0);
    s_scans(fx->db);
    s_vm_life(fx, "measured", 1);
    assert_int_equal(s_scans(fx->db), 0);

    /* The check sees a scan inside a trigger: without vms_host the memory
     * trigger sums every VM of the cluster. */
    assert_int_equal(
        sqlite3_exec(fx->db->sql, "DROP INDEX vms_host", NULL, NULL, NULL),
        SQLITE_OK);
    s_scans(fx->db);
    s_vm_life(fx, "scanned", 2);
    assert_true(s_scans(fx->db) > 0);
}

int main(void)
{
#define S_TEST(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_and_power_names),
        cmocka_unit_test(test_column_text_cuts),
        S_TEST(test_reserve_and_get),
        S_TEST(test_reserve_refusals_taken),
        S_TEST(test_reserve_refusals_unknown),
        S_TEST(test_reserve_refusals_invalid),
        S_TEST(test_refusal_in_batch_keeps_the_rest),
        S_TEST(test_placed_power_revision),
        S_TEST(test_host_vms_revision_and_placed),
        S_TEST(test_failed_releases_everything_but_macs),
        S_TEST(test_delete_frees),
        S_TEST(test_move),
        S_TEST(test_host_cordon),
        S_TEST(test_vm_invariants_are_constraints),
        S_TEST(test_list_filters),
        S_TEST(test_list_pages),
        S_TEST(test_ingest_keeps_vf_states),
        S_TEST(test_migrates_from_version_5),
        S_TEST(test_migrates_from_version_6),
        S_TEST(test_reservation_path_never_scans),
    };
#undef S_TEST
    return cmocka_run_group_tests(tests, NULL, NULL);
}
