/* test_admin_access.c - the roles of admin keys (ADMIN.md, "Access"):
 * every verb of the dispatch table has a class, read-only keys run only
 * the reads, host keys and keys without a known role run nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "host_admin.h"
#include "vm_admin.h"
#include "vm_plan.h"

/* Written out here, apart from the table, so that a verb moved to the
 * wrong class fails. */
static const char *const s_changes[] = {
    "policy.apply",  "policy.rollback", "host.label",  "host.cordon",
    "host.uncordon", "host.drain",      "vm.create",   "vm.create.batch",
    "vm.delete",     "vm.power",        "vm.evacuate", "vm.nic.add",
    "vm.nic.remove", "vm.migrate",      NULL};

static bool s_listed(const char *verb)
{
    for (const char *const *v = s_changes; *v; v++)
        if (strcmp(*v, verb) == 0)
            return true;
    return false;
}

static size_t s_verb_count(void)
{
    size_t n = 0;
    while (admin_verb_name(n))
        n++;
    return n;
}

static void test_every_verb_has_a_class(void **state)
{
    (void)state;
    size_t n = s_verb_count(), changes = 0;
    assert_true(n >= 26);
    for (size_t i = 0; i < n; i++) {
        const char *verb = admin_verb_name(i);
        admin_verb_class_t class = 0;
        assert_int_equal(admin_verb_class(verb, &class), 0);
        assert_true(class == ADMIN_VERB_READS || class == ADMIN_VERB_CHANGES);
        assert_int_equal(class == ADMIN_VERB_CHANGES, s_listed(verb));
        changes += class == ADMIN_VERB_CHANGES;
        /* The main thread's writers are all changes; plan only reads. */
        if (vm_admin_is_verb(verb) || host_admin_is_verb(verb))
            assert_int_equal(class, ADMIN_VERB_CHANGES);
        if (vm_plan_is_verb(verb))
            assert_int_equal(class, ADMIN_VERB_READS);
    }
    assert_int_equal(changes, sizeof(s_changes) / sizeof(*s_changes) - 1);
    admin_verb_class_t class;
    assert_int_equal(admin_verb_class("no.such.verb", &class), -1);
    assert_true(admin_verb_on_main("policy.apply"));
    assert_true(admin_verb_on_main("plan"));
    assert_false(admin_verb_on_main("vm.migrate"));
    assert_false(admin_verb_on_main("no.such.verb"));
}

static void test_read_only_runs_reads_only(void **state)
{
    (void)state;
    for (size_t i = 0; admin_verb_name(i); i++) {
        const char *verb = admin_verb_name(i);
        char error[1024] = "";
        vfp_errcode_t status = admin_access("read-only", "ops-ro", true, verb,
                                            error, sizeof(error));
        if (!s_listed(verb)) {
            assert_int_equal(status, VFP_OK);
            continue;
        }
        assert_int_equal(status, VFP_ERR_DENIED);
        char want[256];
        snprintf(want, sizeof(want),
                 "admin key ops-ro is read-only: %s changes the cluster", verb);
        assert_string_equal(error, want);
    }
}

static void test_host_key_runs_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; admin_verb_name(i); i++) {
        char error[1024] = "";
        assert_int_equal(admin_access("host", "hv-01", true, admin_verb_name(i),
                                      error, sizeof(error)),
                         VFP_ERR_DENIED);
        assert_non_null(strstr(error, "key hv-01 is a host's key"));
        assert_non_null(strstr(error, admin_verb_name(i)));
    }
    char error[1024] = "";
    assert_int_equal(admin_access("host", "hv-01", true, "no.such.verb", error,
                                  sizeof(error)),
                     VFP_ERR_DENIED);
}

/* A key without a role, or with one the API does not know, runs
 * nothing; no key at all (ipc, --insecure) and role admin run all. */
static void test_other_roles(void **state)
{
    (void)state;
    char error[1024] = "";
    for (size_t i = 0; admin_verb_name(i); i++) {
        const char *verb = admin_verb_name(i);
        assert_int_equal(
            admin_access(NULL, NULL, false, verb, error, sizeof(error)),
            VFP_OK);
        assert_int_equal(
            admin_access("admin", "ops", true, verb, error, sizeof(error)),
            VFP_OK);
        assert_int_equal(
            admin_access(NULL, "odd", true, verb, error, sizeof(error)),
            VFP_ERR_DENIED);
        assert_non_null(strstr(error, "key odd has no role"));
        assert_int_equal(
            admin_access("root", "odd", true, verb, error, sizeof(error)),
            VFP_ERR_DENIED);
        assert_non_null(strstr(error, "key odd has role \"root\""));
        assert_int_equal(
            admin_access("Admin", "odd", true, verb, error, sizeof(error)),
            VFP_ERR_DENIED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_verb_has_a_class),
        cmocka_unit_test(test_read_only_runs_reads_only),
        cmocka_unit_test(test_host_key_runs_nothing),
        cmocka_unit_test(test_other_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
