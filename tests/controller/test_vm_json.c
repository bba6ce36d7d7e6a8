/* test_vm_json.c - unit tests for vm_json_text: byte for byte the text
 * json_dumps gives for vm_json's object, for VMs reserved, placed, failed
 * and on a down host, with and without a policy, and texts that need
 * escaping; NULL where jansson refuses a text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "vm_json.h"

#define S_POLICY                                                               \
    "version: 1\n"                                                             \
    "networks:\n"                                                              \
    "  - {name: vlan10, vlan: 10}\n"                                           \
    "  - {name: trunk, trunk: true}\n"                                         \
    "memory:\n"                                                                \
    "  hugepages: 2M\n"

static policy_t *s_policy(void)
{
    policy_t *policy =
        policy_parse_buffer("p.yaml", S_POLICY, strlen(S_POLICY), NULL);
    assert_non_null(policy);
    return policy;
}

/* web-1 on esx-1: NIC 0 held on vlan10, NIC 1 on trunk without a VF PCI
 * address, NIC 2 on a network no policy has, holding no VF. */
static db_vm_t s_vm(void)
{
    db_vm_t vm;
    memset(&vm, 0, sizeof(vm));
    snprintf(vm.name, sizeof(vm.name), "web-1");
    snprintf(vm.host, sizeof(vm.host), "esx-1");
    snprintf(vm.group, sizeof(vm.group), "web");
    snprintf(vm.numa, sizeof(vm.numa), "preferred");
    snprintf(vm.pin, sizeof(vm.pin), "esx-1");
    vm.memory_mib = 8192;
    vm.vcpus = 4;
    vm.separate_pfs = true;
    vm.power = DB_VM_POWER_ON;
    vm.state = DB_VM_PLACED;
    vm.apply_revision = 3;
    vm.created_at_ms = 1764553200123;
    vm.placed_at_ms = 1764553201000;
    vm.nic_count = 3;
    const char *networks[] = {"vlan10", "trunk", "other"};
    for (uint32_t i = 0; i < 3; i++) {
        db_vm_nic_t *nic = &vm.nics[i];
        snprintf(nic->network, sizeof(nic->network), "%s", networks[i]);
        const uint8_t mac[6] = {0x02, 0x76, 0x66, 0xab, 0x0c, (uint8_t)i};
        memcpy(nic->mac, mac, 6);
        if (i < 2) {
            snprintf(nic->pf, sizeof(nic->pf), "0000:3b:00.%u", i);
            snprintf(nic->pf_ifname, sizeof(nic->pf_ifname), "ens3f%u", i);
            nic->vf = (uint16_t)(7 + i);
        }
    }
    snprintf(vm.nics[0].vf_pci, sizeof(vm.nics[0].vf_pci), "0000:3b:02.7");
    return vm;
}

/* vm_json_text equals json_dumps of vm_json. */
static void s_same(const db_vm_t *vm, const policy_t *policy)
{
    json_t *tree = vm_json(vm, policy);
    assert_non_null(tree);
    char *want = json_dumps(tree, JSON_COMPACT);
    char *got = vm_json_text(vm, policy);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(tree);
}

static void test_same_as_jansson(void **state)
{
    (void)state;
    policy_t *policy = s_policy();
    db_vm_t vm = s_vm();
    s_same(&vm, policy);
    s_same(&vm, NULL);
    /* Reserved on a host that went down, not confirmed yet. */
    vm.state = DB_VM_RESERVED;
    vm.host_down = true;
    vm.placed_at_ms = 0;
    vm.power = DB_VM_POWER_UNKNOWN;
    vm.numa[0] = '\0';
    vm.separate_pfs = false;
    s_same(&vm, policy);
    /* Failed: no host, no VF, why. */
    db_vm_t failed = s_vm();
    failed.state = DB_VM_FAILED;
    failed.host[0] = '\0';
    failed.host_down = true;
    for (uint32_t i = 0; i < failed.nic_count; i++)
        failed.nics[i].pf[0] = '\0';
    snprintf(failed.error, sizeof(failed.error),
             "pf 0000:3b:00.0 vf 7 vlan: Invalid argument (errno 22)");
    s_same(&failed, policy);
    /* No NIC, the largest numbers. */
    db_vm_t bare = s_vm();
    bare.nic_count = 0;
    bare.memory_mib = INT64_MAX;
    bare.vcpus = UINT32_MAX;
    s_same(&bare, NULL);
    policy_destroy(&policy);
}

static void test_escapes_as_jansson(void **state)
{
    (void)state;
    db_vm_t vm = s_vm();
    snprintf(vm.error, sizeof(vm.error),
             "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f "
             "bell \a esc \x1b del \x7f utf-8 \xc3\xa9 \xe2\x82\xac "
             "\xf0\x9f\x98\x80 end");
    snprintf(vm.group, sizeof(vm.group), "\x01\x1f");
    snprintf(vm.pin, sizeof(vm.pin), "\"\\\"");
    s_same(&vm, NULL);
}

/* Texts jansson refuses (not UTF-8, an overlong form, a surrogate, past
 * U+10FFFF, cut short) make vm_json NULL, and vm_json_text too. */
static void test_refuses_what_jansson_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff",         "\xc0\xaf",         "\xe0\x80\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        db_vm_t vm = s_vm();
        snprintf(vm.error, sizeof(vm.error), "%s", bad[i]);
        json_t *tree = vm_json(&vm, NULL);
        assert_null(tree);
        assert_null(vm_json_text(&vm, NULL));
    }
    db_vm_t vm = s_vm();
    vm.power = DB_VM_POWER_COUNT;
    assert_null(vm_json_text(&vm, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_jansson),
        cmocka_unit_test(test_escapes_as_jansson),
        cmocka_unit_test(test_refuses_what_jansson_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
