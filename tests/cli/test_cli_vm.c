/* test_cli_vm.c - unit tests of vfleetctl's VM verbs that need no
 * controller: memory SIZE parsing and the options that describe a VM
 * request, vm create's and plan's (cli_vm.c), and the libvirt domain built
 * from a canned vm.show object (cli_vm_xml.c), compared byte for byte
 * with tests/cli/vm/show.xml, which vm_xml_test.sh validates against
 * libvirt's schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_vm.h"
#include "cli_vm_xml.h"

static void s_size_ok(const char *text, uint64_t want)
{
    uint64_t mib = 0;
    if (cli_vm_size_parse(text, &mib) != 0)
        fail_msg("'%s' refused", text);
    assert_int_equal(mib, want);
}

static void s_size_bad(const char *text)
{
    uint64_t mib = 77;
    if (cli_vm_size_parse(text, &mib) == 0)
        fail_msg("'%s' taken as %llu MiB", text, (unsigned long long)mib);
    assert_int_equal(mib, 77);
}

static void test_size_units(void **state)
{
    (void)state;
    s_size_ok("4096", 4096);
    s_size_ok("1", 1);
    s_size_ok("4G", 4096);
    s_size_ok("4g", 4096);
    s_size_ok("4GiB", 4096);
    s_size_ok("512M", 512);
    s_size_ok("512MiB", 512);
    s_size_ok("1024K", 1);
    s_size_ok("2048KiB", 2);
    s_size_ok("1T", 1048576);
    s_size_ok("2TiB", 2097152);
    s_size_ok("16T", 16ULL << 20);
    s_size_ok("16777216", 16ULL << 20);
}

static void test_size_refused(void **state)
{
    (void)state;
    s_size_bad("");
    s_size_bad("0");
    s_size_bad("0G");
    s_size_bad("512K");  /* below 1 MiB */
    s_size_bad("1536K"); /* not whole MiB */
    s_size_bad("1.5G");  /* integers only */
    s_size_bad("-1");
    s_size_bad("+4G");
    s_size_bad(" 4G");
    s_size_bad("4GB"); /* decimal units are not taken */
    s_size_bad("4 G");
    s_size_bad("4Gi");
    s_size_bad("4P");
    s_size_bad("G");
    s_size_bad("17T");      /* over 16T, a VM file's most */
    s_size_bad("16777217"); /* 16T and 1 MiB */
    s_size_bad("1048576T");
    s_size_bad("99999999999999999999999");
    s_size_bad("18446744073709551615K");
}

static json_t *s_load(const char *path)
{
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (!doc)
        fail_msg("%s: %s", path, err.text);
    return doc;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* The XML of vm into a string; *rc the writer's answer. */
static char *s_xml(json_t *vm, int *rc, char *why, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    *rc = cli_vm_xml_write(vm, out, why, size);
    fclose(out);
    return text;
}

static void test_xml_matches_the_validated_file(void **state)
{
    (void)state;
    json_t *vm = s_load("vm/show.json");
    char why[256] = "", *want = s_slurp("vm/show.xml");
    int rc;
    char *got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_decref(vm);
}

static void test_xml_hugepages_and_vlan(void **state)
{
    (void)state;
    json_t *vm = s_load("vm/show.json");
    char why[256];
    int rc;
    /* 1G pages; none: no <hugepages>, memory still locked. */
    json_object_set_new(vm, "hugepages", json_string("1G"));
    char *got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(got, "<page size='1048576' unit='KiB'/>"));
    free(got);
    json_object_set_new(vm, "hugepages", json_string("none"));
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_null(strstr(got, "hugepages"));
    assert_non_null(strstr(got, "<locked/>"));
    free(got);
    /* VLAN 0 and an undefined network (null) carry no tag. */
    json_t *nic = json_array_get(json_object_get(vm, "nics"), 0);
    json_object_set_new(nic, "vlan", json_integer(0));
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_null(strstr(got, "<vlan>"));
    free(got);
    json_object_set_new(nic, "vlan", json_null());
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_null(strstr(got, "<vlan>"));
    free(got);
    json_decref(vm);
}

static void test_xml_refused(void **state)
{
    (void)state;
    json_t *vm = s_load("vm/show.json");
    char why[256] = "";
    int rc;
    /* A failed VM: its NICs hold no VF. Nothing is written. */
    json_t *nic = json_array_get(json_object_get(vm, "nics"), 1);
    json_object_set_new(nic, "vf_pci", json_null());
    char *got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, -1);
    assert_string_equal(got, "");
    assert_non_null(strstr(why, "NIC 1 holds no VF"));
    free(got);
    /* A PCI address that is no DDDD:BB:SS.F. */
    const char *bad[] = {"0000:3b:02",   "0000:3b:02.8",  "0000:3b:20.0",
                         "0000:3g:02.0", "0000:3b:02.0x", "3b:02.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_object_set_new(nic, "vf_pci", json_string(bad[i]));
        got = s_xml(vm, &rc, why, sizeof(why));
        assert_int_equal(rc, -1);
        assert_non_null(strstr(why, "is not DDDD:BB:SS.F"));
        free(got);
    }
    /* No NIC at all; a name XML cannot carry; an unknown hugepage size. */
    json_object_set_new(vm, "nics", json_array());
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, -1);
    free(got);
    json_decref(vm);
    vm = s_load("vm/show.json");
    json_object_set_new(vm, "name", json_string("web\x1b]0;pwned\x07"));
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, -1);
    assert_string_equal(got, "");
    assert_non_null(strstr(why, "control character"));
    free(got);
    json_object_set_new(vm, "name", json_string("web-1"));
    json_object_set_new(vm, "hugepages", json_string("16G"));
    got = s_xml(vm, &rc, why, sizeof(why));
    assert_int_equal(rc, -1);
    assert_string_equal(got, "");
    free(got);
    json_decref(vm);
}

/* The options into a vm.create body, in the order given; nics in order. */
static void test_request_options(void **state)
{
    (void)state;
    json_t *body = json_object();
    assert_int_equal(cli_vm_request_check(body, "plan", ""), CLI_EXIT_USAGE);
    assert_int_equal(
        cli_vm_request_option(body, CLI_VM_OPT_MEMORY, "4G", "plan", ""), 0);
    assert_int_equal(
        cli_vm_request_option(body, CLI_VM_OPT_VCPUS, "2", "plan", ""), 0);
    assert_int_equal(cli_vm_request_check(body, "plan", ""), CLI_EXIT_USAGE);
    assert_int_equal(
        cli_vm_request_option(body, CLI_VM_OPT_NIC, "vlan1", "plan", ""), 0);
    assert_int_equal(cli_vm_request_option(body, CLI_VM_OPT_NIC,
                                           "trunk,mac=02:00:00:00:00:01",
                                           "plan", ""),
                     0);
    assert_int_equal(
        cli_vm_request_option(body, CLI_VM_OPT_NUMA, "required", "plan", ""),
        0);
    assert_int_equal(
        cli_vm_request_option(body, CLI_VM_OPT_SEPARATE_PFS, NULL, "plan", ""),
        0);
    assert_int_equal(cli_vm_request_check(body, "plan", ""), 0);
    char *text = json_dumps(body, JSON_COMPACT);
    assert_string_equal(
        text, "{\"memory_mib\":4096,\"vcpus\":2,\"nics\":[{\"network\":"
              "\"vlan1\"},{\"network\":\"trunk\",\"mac\":"
              "\"02:00:00:00:00:01\"}],\"numa\":\"required\","
              "\"separate_pfs\":true}");
    free(text);
    json_decref(body);
}

/* A bad value is a usage error that leaves the body as it was. */
static void test_request_options_refused(void **state)
{
    (void)state;
    static const struct {
        int opt;
        const char *arg;
    } bad[] = {
        {CLI_VM_OPT_MEMORY, "512K"}, {CLI_VM_OPT_MEMORY, "x"},
        {CLI_VM_OPT_VCPUS, "0"},     {CLI_VM_OPT_VCPUS, "2x"},
        {CLI_VM_OPT_NIC, ",mac=1"},  {CLI_VM_OPT_NIC, "n,mc=1"},
        {CLI_VM_OPT_NIC, "n,mac="},  {CLI_VM_OPT_NIC, "n,mac=1,x"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *body = json_object();
        assert_int_equal(
            cli_vm_request_option(body, bad[i].opt, bad[i].arg, "plan", ""),
            CLI_EXIT_USAGE);
        assert_int_equal(json_object_size(body), 0);
        json_decref(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_units),
        cmocka_unit_test(test_size_refused),
        cmocka_unit_test(test_request_options),
        cmocka_unit_test(test_request_options_refused),
        cmocka_unit_test(test_xml_matches_the_validated_file),
        cmocka_unit_test(test_xml_hugepages_and_vlan),
        cmocka_unit_test(test_xml_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
