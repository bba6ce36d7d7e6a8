/* test_vm_file.c - the VM files of `vfleetctl vm apply`: the shipped
 * example parses to its VMs, every error is reported at its FILE:LINE:COL
 * with its exact text and all at once, the limits hold at their
 * constants, and an allocation failure at any point fails cleanly. */
#include "vm_file.h"

#include "policy_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

static policy_vm_file_t *s_parse(const char *text, policy_errors_t *errs)
{
    return policy_vm_file_parse("vms.yaml", text, strlen(text), errs);
}

/* The errors of an invalid text as vfleetctl prints them. */
static char *s_errors(const char *text)
{
    policy_errors_t *errs = policy_errors_new();
    assert_non_null(errs);
    policy_vm_file_t *file = s_parse(text, errs);
    assert_null(file);
    char *out = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&out, &size);
    assert_non_null(stream);
    policy_errors_print(errs, stream);
    fclose(stream);
    policy_errors_destroy(&errs);
    return out;
}

static void s_assert_errors(const char *text, const char *expected)
{
    char *got = s_errors(text);
    assert_string_equal(got, expected);
    free(got);
}

static policy_vm_file_t *s_valid(const char *text)
{
    policy_errors_t *errs = policy_errors_new();
    assert_non_null(errs);
    policy_vm_file_t *file = s_parse(text, errs);
    if (!file)
        policy_errors_print(errs, stderr);
    assert_non_null(file);
    policy_errors_destroy(&errs);
    return file;
}

static void test_example_file(void **state)
{
    (void)state;
    const char *dir = getenv("VFLEET_SOURCE_DIR");
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/deploy/examples/vms.yaml", dir);
    policy_errors_t *errs = policy_errors_new();
    policy_vm_file_t *file = policy_vm_file_parse_file(path, errs);
    if (!file)
        policy_errors_print(errs, stderr);
    assert_non_null(file);
    assert_string_equal(file->source, path);
    assert_int_equal(file->vm_count, 3);
    const char *names[] = {"web-1", "web-2", "db-1"};
    const char *networks[] = {"vlan1", "vlan1", "trunk"};
    uint64_t memory[] = {4096, 4096, 8192};
    uint32_t vcpus[] = {2, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        const policy_vm_t *vm = &file->vms[i];
        assert_string_equal(vm->name, names[i]);
        assert_int_equal(vm->memory_mib, memory[i]);
        assert_int_equal(vm->vcpus, vcpus[i]);
        assert_int_equal(vm->nic_count, 1);
        assert_string_equal(vm->nics[0].network, networks[i]);
        assert_null(vm->nics[0].mac);
        assert_null(vm->host);
        assert_null(vm->group);
        assert_int_equal(vm->numa, POLICY_VM_NUMA_NONE);
        assert_false(vm->separate_pfs);
    }
    policy_vm_file_destroy(&file);
    assert_null(file);
    policy_errors_destroy(&errs);
}

/* The fuzz target's seeds: ok-* parse, bad-* are refused with errors. */
static void test_fuzz_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("VFLEET_SOURCE_DIR");
    assert_non_null(dir);
    char corpus[4096];
    snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/vm_file", dir);
    DIR *d = opendir(corpus);
    assert_non_null(d);
    size_t ok = 0, bad = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        bool valid = strncmp(e->d_name, "ok-", 3) == 0;
        if (!valid && strncmp(e->d_name, "bad-", 4) != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", corpus, e->d_name);
        policy_errors_t *errs = policy_errors_new();
        policy_vm_file_t *file = policy_vm_file_parse_file(path, errs);
        if (valid && !file)
            policy_errors_print(errs, stderr);
        assert_int_equal(file != NULL, valid);
        assert_int_equal(policy_errors_count(errs) > 0, !valid);
        *(valid ? &ok : &bad) += 1;
        policy_vm_file_destroy(&file);
        policy_errors_destroy(&errs);
    }
    closedir(d);
    assert_true(ok >= 3 && bad >= 3);
}

/* Every key, and the file's order kept (not sorted by name). */
static void test_every_key(void **state)
{
    (void)state;
    policy_vm_file_t *file = s_valid("version: 1\n"
                                     "vms:\n"
                                     "  - name: zeta\n"
                                     "    memory: 512M\n"
                                     "    vcpus: 1\n"
                                     "    nics: [{network: vlan1}]\n"
                                     "  - name: web-1\n"
                                     "    memory: 1T\n"
                                     "    vcpus: 16\n"
                                     "    nics:\n"
                                     "      - network: vlan1\n"
                                     "      - network: trunk\n"
                                     "        mac: \"02:76:66:FF:00:01\"\n"
                                     "    host: esx-e1.example.org\n"
                                     "    group: web\n"
                                     "    numa: required\n"
                                     "    separate_pfs: true\n");
    assert_int_equal(file->vm_count, 2);
    assert_string_equal(file->vms[0].name, "zeta");
    assert_int_equal(file->vms[0].memory_mib, 512);
    assert_int_equal(file->vms[0].pos.line, 3);
    assert_int_equal(file->vms[0].pos.column, 5);
    const policy_vm_t *vm = &file->vms[1];
    assert_string_equal(vm->name, "web-1");
    assert_int_equal(vm->memory_mib, 1024 * 1024);
    assert_int_equal(vm->vcpus, 16);
    assert_int_equal(vm->nic_count, 2);
    assert_string_equal(vm->nics[0].network, "vlan1");
    assert_null(vm->nics[0].mac);
    assert_string_equal(vm->nics[1].network, "trunk");
    assert_string_equal(vm->nics[1].mac, "02:76:66:ff:00:01");
    assert_string_equal(vm->host, "esx-e1.example.org");
    assert_string_equal(vm->group, "web");
    assert_int_equal(vm->numa, POLICY_VM_NUMA_REQUIRED);
    assert_string_equal(policy_vm_numa_name(vm->numa), "required");
    assert_true(vm->separate_pfs);
    policy_vm_file_destroy(&file);
}

/* vfleet-policy(5): quoting a MAC is optional; an unquoted one that YAML
 * 1.1 could read as a number (all digits and colons) is still a MAC. */
static void test_unquoted_mac(void **state)
{
    (void)state;
    policy_vm_file_t *file = s_valid("version: 1\n"
                                     "vms:\n"
                                     "  - name: web-1\n"
                                     "    memory: 1G\n"
                                     "    vcpus: 1\n"
                                     "    nics:\n"
                                     "      - network: vlan1\n"
                                     "        mac: 12:34:56:00:00:01\n"
                                     "      - network: trunk\n"
                                     "        mac: 02:76:66:Ab:00:02\n");
    assert_string_equal(file->vms[0].nics[0].mac, "12:34:56:00:00:01");
    assert_string_equal(file->vms[0].nics[1].mac, "02:76:66:ab:00:02");
    policy_vm_file_destroy(&file);
}

#define S_HEAD "version: 1\nvms:\n"
/* A valid VM after S_HEAD: its keys start at line 3, column 5. */
#define S_VM(name) "  - name: " name "\n    memory: 4G\n    vcpus: 2\n"
#define S_NIC "    nics: [{network: vlan1}]\n"

static void test_document_errors(void **state)
{
    (void)state;
    s_assert_errors("", "vms.yaml:1:1: VM file is empty: expected a mapping "
                        "with 'version' and 'vms'\n");
    s_assert_errors("- a\n",
                    "vms.yaml:1:1: VM file: expected a mapping, got a list\n");
    s_assert_errors("version: 1\n",
                    "vms.yaml:1:1: VM file: missing required key 'vms'\n");
    s_assert_errors("version: 2\nvms: []\n",
                    "vms.yaml:1:10: version: VM file version 2 is not "
                    "supported (this vfleet reads version 1)\n"
                    "vms.yaml:2:6: vms: the file declares no VM\n");
    s_assert_errors("version: 1\nvms: {}\n",
                    "vms.yaml:2:6: vms: expected a list, got a mapping\n");
    s_assert_errors("version: 1\nvm: []\n",
                    "vms.yaml:1:1: VM file: missing required key 'vms'\n"
                    "vms.yaml:2:1: unknown key 'vm' in VM file (did you mean "
                    "'vms'?)\n");
    s_assert_errors("version: 1\nvms: [\n",
                    "vms.yaml:3:1: YAML syntax error: did not find expected "
                    "node content (while parsing a flow node at 3:1)\n");
}

static void test_vm_errors(void **state)
{
    (void)state;
    s_assert_errors(S_HEAD S_VM("web-1") S_NIC "    memroy: 4G\n",
                    "vms.yaml:7:5: unknown key 'memroy' in vm (did you mean "
                    "'memory'?)\n");
    s_assert_errors(S_HEAD S_VM("web-1") S_NIC "    vcpus: 4\n",
                    "vms.yaml:7:5: duplicate key 'vcpus' in vm (first at "
                    "5:5)\n");
    s_assert_errors(S_HEAD "  - memory: 4G\n    vcpus: 2\n" S_NIC,
                    "vms.yaml:3:5: vm: missing required key 'name'\n");
    s_assert_errors(S_HEAD "  - name: web-1\n" S_NIC,
                    "vms.yaml:3:5: vm: missing required key 'memory'\n"
                    "vms.yaml:3:5: vm: missing required key 'vcpus'\n");
    s_assert_errors(S_HEAD S_VM("web-1"),
                    "vms.yaml:3:5: vm: missing required key 'nics'\n");
    s_assert_errors(S_HEAD S_VM("web_1!") S_NIC,
                    "vms.yaml:3:11: name: 'web_1!' is not valid (letters, "
                    "digits, '.', '_' and '-', starting with a letter or "
                    "digit, at most 63 characters)\n");
    s_assert_errors(S_HEAD S_VM("web-1") S_NIC S_VM("web-1") S_NIC,
                    "vms.yaml:7:5: duplicate vm 'web-1' (first at 3:5)\n");
    s_assert_errors(S_HEAD S_VM("web-1") S_NIC S_VM("Web-1") S_NIC,
                    "vms.yaml:7:5: vm 'Web-1' differs only by case from "
                    "'web-1' (first at 3:5)\n");
    s_assert_errors(S_HEAD "  - name: a\n    memory: 0G\n    vcpus: 0\n" S_NIC,
                    "vms.yaml:4:13: memory: must be more than 0\n"
                    "vms.yaml:5:12: vcpus: 0 is out of range 1..65536\n");
    s_assert_errors(S_HEAD
                    "  - name: a\n    memory: -4G\n    vcpus: -2\n" S_NIC,
                    "vms.yaml:4:13: memory: expected a size like 512M, 4G or "
                    "1T, got '-4G'\n"
                    "vms.yaml:5:12: vcpus: expected an integer, got '-2'\n");
    s_assert_errors(S_HEAD S_VM("a") S_NIC "    host: esx_1\n"
                                           "    group: 'web group'\n"
                                           "    numa: prefered\n"
                                           "    separate_pfs: yes\n",
                    "vms.yaml:7:11: host: 'esx_1' is not valid (letters, "
                    "digits, '.' and '-', starting with a letter or digit, at "
                    "most 253 characters)\n"
                    "vms.yaml:8:12: group: 'web group' is not valid (letters, "
                    "digits, '.', '_' and '-', starting with a letter or "
                    "digit, at most 63 characters)\n"
                    "vms.yaml:9:11: numa: expected one of none, preferred, "
                    "required, got 'prefered' (did you mean 'preferred'?)\n"
                    "vms.yaml:10:19: separate_pfs: expected true or false, "
                    "got 'yes'\n");
}

static void test_nic_errors(void **state)
{
    (void)state;
    s_assert_errors(S_HEAD S_VM("a") "    nics: []\n",
                    "vms.yaml:6:11: nics: a VM needs at least one NIC\n");
    s_assert_errors(S_HEAD S_VM("a") "    nics: vlan1\n",
                    "vms.yaml:6:11: nics: expected a list, got 'vlan1'\n");
    s_assert_errors(S_HEAD S_VM("a") "    nics: [vlan1]\n",
                    "vms.yaml:6:12: nic: expected a mapping, got 'vlan1'\n");
    s_assert_errors(S_HEAD S_VM("a") "    nics: [{mac: '02:00:00:00:00:01', "
                                     "net: x}]\n",
                    "vms.yaml:6:12: nic: missing required key 'network'\n"
                    "vms.yaml:6:39: unknown key 'net' in nic\n");
    s_assert_errors(S_HEAD S_VM("a") "    nics:\n"
                                     "      - {network: a, mac: '02:00:00'}\n"
                                     "      - {network: b, mac: '03:00:00:00:"
                                     "00:01'}\n"
                                     "      - {network: c, mac: '00:00:00:00:"
                                     "00:00'}\n"
                                     "      - {network: d, mac: 02-00-00-00-"
                                     "00-01}\n",
                    "vms.yaml:7:27: mac: expected a MAC like "
                    "02:00:00:00:00:01, got '02:00:00'\n"
                    "vms.yaml:8:27: mac: 03:00:00:00:00:01 is a multicast "
                    "address\n"
                    "vms.yaml:9:27: mac: 00:00:00:00:00:00 is not a usable "
                    "address\n"
                    "vms.yaml:10:27: mac: expected a MAC like "
                    "02:00:00:00:00:01, got '02-00-00-00-00-01'\n");
    /* One MAC on two NICs, written in two cases. */
    s_assert_errors(S_HEAD S_VM("a") "    nics:\n"
                                     "      - {network: a, mac: "
                                     "'02:00:00:00:00:0a'}\n" S_VM(
                                         "b") "    nics:\n"
                                              "      - {network: a, mac: "
                                              "'02:00:00:00:00:0A'}\n",
                    "vms.yaml:12:9: duplicate mac '02:00:00:00:00:0a' (first "
                    "at 7:9)\n");
}

/* Errors in several VMs, of several kinds, all in one report. */
static void test_all_errors_at_once(void **state)
{
    (void)state;
    s_assert_errors("version: 1\n"
                    "vms:\n"
                    "  - name: a\n"
                    "    memory: 4X\n"
                    "    vcpus: 2\n"
                    "    nics: [{network: vlan1}]\n"
                    "  - name: b\n"
                    "    memory: 4G\n"
                    "    vcpus: two\n"
                    "    nics: [{network: 'v 1'}]\n"
                    "  - name: a\n"
                    "    memory: 4G\n"
                    "    vcpus: 2\n"
                    "    nics: [{network: vlan1}]\n"
                    "    colour: red\n",
                    "vms.yaml:4:13: memory: expected a size like 512M, 4G or "
                    "1T, got '4X'\n"
                    "vms.yaml:9:12: vcpus: expected an integer, got 'two'\n"
                    "vms.yaml:10:22: network: 'v 1' is not valid (letters, "
                    "digits, '.', '_' and '-', starting with a letter or "
                    "digit, at most 63 characters)\n"
                    "vms.yaml:11:5: duplicate vm 'a' (first at 3:5)\n"
                    "vms.yaml:15:5: unknown key 'colour' in vm\n");
}

/* Appends a minimal VM named vm-N to buf. */
static size_t s_append_vm(char *buf, size_t used, size_t size, size_t n)
{
    int len = snprintf(buf + used, size - used,
                       "  - {name: vm-%zu, memory: 1G, vcpus: 1, "
                       "nics: [{network: vlan1}]}\n",
                       n);
    assert_true(len > 0 && (size_t)len < size - used);
    return used + (size_t)len;
}

static void test_vm_count_limit(void **state)
{
    (void)state;
    size_t size = POLICY_MAX_FILE_SIZE;
    char *text = malloc(size);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, size, S_HEAD);
    for (size_t i = 0; i < POLICY_VM_FILE_MAX_VMS; i++)
        used = s_append_vm(text, used, size, i);
    policy_vm_file_t *file = s_valid(text);
    assert_int_equal(file->vm_count, POLICY_VM_FILE_MAX_VMS);
    policy_vm_file_destroy(&file);
    s_append_vm(text, used, size, POLICY_VM_FILE_MAX_VMS);
    s_assert_errors(text, "vms.yaml:3:3: vms: more than 5000 entries\n");
    free(text);
}

static void test_nic_count_limit(void **state)
{
    (void)state;
    char text[1024];
    char nics[512] = "";
    for (int i = 0; i < POLICY_VM_NICS_MAX; i++)
        strcat(nics, "{network: vlan1}, ");
    snprintf(text, sizeof(text), S_HEAD S_VM("a") "    nics: [%s]\n", nics);
    policy_vm_file_t *file = s_valid(text);
    assert_int_equal(file->vms[0].nic_count, POLICY_VM_NICS_MAX);
    policy_vm_file_destroy(&file);
    strcat(nics, "{network: vlan1}");
    snprintf(text, sizeof(text), S_HEAD S_VM("a") "    nics: [%s]\n", nics);
    s_assert_errors(text, "vms.yaml:6:11: nics: more than 8 entries\n");
}

static void test_value_limits(void **state)
{
    (void)state;
    char host[POLICY_HOST_NAME_MAX + 2];
    memset(host, 'h', sizeof(host));
    for (size_t i = 63; i < sizeof(host); i += 64)
        host[i] = '.';
    host[POLICY_HOST_NAME_MAX] = '\0';
    char text[1024];
    snprintf(text, sizeof(text),
             S_HEAD "  - name: a\n    memory: 16T\n    vcpus: 65536\n" S_NIC
                    "    host: %s\n",
             host);
    policy_vm_file_t *file = s_valid(text);
    assert_int_equal(file->vms[0].memory_mib, POLICY_RESERVE_MAX_MIB);
    assert_int_equal(file->vms[0].vcpus, POLICY_VM_VCPUS_MAX);
    assert_int_equal(strlen(file->vms[0].host), POLICY_HOST_NAME_MAX);
    policy_vm_file_destroy(&file);
    host[POLICY_HOST_NAME_MAX] = 'h';
    host[POLICY_HOST_NAME_MAX + 1] = '\0';
    snprintf(text, sizeof(text),
             S_HEAD "  - name: a\n    memory: 17T\n    vcpus: 65537\n" S_NIC);
    s_assert_errors(text,
                    "vms.yaml:4:13: memory: '17T' is more than 16T\n"
                    "vms.yaml:5:12: vcpus: 65537 is out of range 1..65536\n");
    snprintf(text, sizeof(text), S_HEAD S_VM("a") S_NIC "    host: %s\n", host);
    char *got = s_errors(text);
    assert_non_null(strstr(got, "vms.yaml:7:11: host: 'hhh"));
    assert_non_null(strstr(got, "at most 253 characters)\n"));
    free(got);
}

static void test_file_size_limit(void **state)
{
    (void)state;
    size_t len = POLICY_MAX_FILE_SIZE + 1;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, '#', len);
    policy_errors_t *errs = policy_errors_new();
    assert_null(policy_vm_file_parse("big.yaml", text, len, errs));
    assert_int_equal(policy_errors_count(errs), 1);
    assert_string_equal(policy_errors_get(errs, 0)->message,
                        "VM file is larger than 1048576 bytes");
    policy_errors_destroy(&errs);
    free(text);
}

static void test_missing_file(void **state)
{
    (void)state;
    policy_errors_t *errs = policy_errors_new();
    assert_null(policy_vm_file_parse_file("/nonexistent/vms.yaml", errs));
    assert_string_equal(policy_errors_source(errs), "/nonexistent/vms.yaml");
    assert_string_equal(policy_errors_get(errs, 0)->message,
                        "cannot open: No such file or directory");
    policy_errors_destroy(&errs);
}

/* The Nth allocation fails, for every N the parse reaches: NULL and a
 * report each time, never a half-built file (ASan checks for leaks). */
static void test_allocation_failures(void **state)
{
    (void)state;
    const char *texts[] = {
        S_HEAD S_VM("a") S_NIC S_VM(
            "b") "    nics: [{network: x, mac: '02:00:00:00:00:01'}]\n",
        S_HEAD S_VM("a") S_NIC S_VM("a") S_NIC,
    };
    for (size_t t = 0; t < 2; t++) {
        for (unsigned long n = 1;; n++) {
            policy_errors_t *errs = policy_errors_new();
            assert_non_null(errs);
            policy_alloc_fail_after(n);
            policy_vm_file_t *file = s_parse(texts[t], errs);
            bool reached = policy_alloc_count() >= n;
            policy_alloc_fail_after(0);
            if (reached) {
                assert_null(file);
                assert_true(policy_errors_out_of_memory(errs) ||
                            (t == 1 && policy_errors_count(errs) > 0));
            } else {
                assert_int_equal(file != NULL, t == 0);
            }
            policy_vm_file_destroy(&file);
            policy_errors_destroy(&errs);
            if (!reached)
                break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_fuzz_seeds),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_unquoted_mac),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_vm_errors),
        cmocka_unit_test(test_nic_errors),
        cmocka_unit_test(test_all_errors_at_once),
        cmocka_unit_test(test_vm_count_limit),
        cmocka_unit_test(test_nic_count_limit),
        cmocka_unit_test(test_value_limits),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
