/* test_cli_vm_apply.c - vfleetctl vm apply against an in-process stand-in
 * for the admin API's vm.show and vm.create (it keeps VMs as ADMIN.md's VM
 * objects and rounds memory up to 1 GiB like 1G hugepages): created, then
 * unchanged on a second apply, refused, different settings, --dry-run
 * sending nothing that writes, --wait creating every VM first and then
 * asking after each in file order, an invalid file sending nothing at
 * all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_vm_apply.h"
#include "vfp_transport.h"

#define S_ENDPOINT "inproc://test-cli-vm-apply"

/* The stand-in's state; the actor touches it only while vfleetctl waits
 * for its answer. */
typedef struct {
    json_t *vms;                /* name -> VM object */
    size_t requests;            /* every request */
    size_t writes;              /* vm.create requests */
    char wait[16], timeout[16]; /* vm.create's parameters */
    size_t shows_reserved;      /* vm.show of a reserved VM */
    size_t writes_at_first;     /* vm.create requests before the first */
} s_fake_t;

static s_fake_t s_fake;

static const char *s_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return "";
}

/* vm.create: "huge" fits nowhere; anything else lands on esx-e1. */
static void s_create(const vfp_request_t *req, vfp_reply_t *reply)
{
    s_fake.writes++;
    snprintf(s_fake.wait, sizeof(s_fake.wait), "%s", s_param(req, "wait"));
    snprintf(s_fake.timeout, sizeof(s_fake.timeout), "%s",
             s_param(req, "timeout"));
    json_t *body = json_loads(req->body, 0, NULL);
    assert_non_null(body);
    const char *name = json_string_value(json_object_get(body, "name"));
    if (strcmp(name, "huge") == 0) {
        reply->status = VFP_ERR_CONFLICT;
        snprintf(reply->error, sizeof(reply->error),
                 "no host can take vm huge: memory on 3 hosts");
        json_decref(body);
        return;
    }
    json_int_t memory = json_integer_value(json_object_get(body, "memory_mib"));
    json_t *nics = json_object_get(body, "nics");
    size_t i;
    json_t *nic;
    json_array_foreach(nics, i, nic)
    {
        if (!json_object_get(nic, "mac"))
            json_object_set_new(
                nic, "mac",
                json_string(i ? "02:76:66:00:00:02" : "02:76:66:00:00:01"));
    }
    const char *pin = json_string_value(json_object_get(body, "host"));
    const char *group = json_string_value(json_object_get(body, "group"));
    json_t *vm =
        json_pack("{s:s, s:s, s:s, s:I, s:O, s:s, s:O, s:O, s:s, s:s, s:O}",
                  "name", name, "state", s_fake.wait[0] ? "placed" : "reserved",
                  "host", "esx-e1", "memory_mib", (memory + 1023) / 1024 * 1024,
                  "vcpus", json_object_get(body, "vcpus"), "group",
                  group ? group : "", "numa", json_object_get(body, "numa"),
                  "separate_pfs", json_object_get(body, "separate_pfs"), "pin",
                  pin ? pin : "", "error", "", "nics", nics);
    assert_non_null(vm);
    json_object_set(s_fake.vms, name, vm);
    reply->body = json_dumps(vm, JSON_COMPACT);
    json_decref(vm);
    json_decref(body);
}

/* A reserved VM shown: "stuck" stays reserved, "doomed" fails, any
 * other is placed from the next vm.show on; true for that one. */
static bool s_settle(json_t *vm)
{
    if (strcmp(json_string_value(json_object_get(vm, "state")), "reserved"))
        return false;
    if (s_fake.shows_reserved++ == 0)
        s_fake.writes_at_first = s_fake.writes;
    const char *name = json_string_value(json_object_get(vm, "name"));
    if (strcmp(name, "doomed") == 0) {
        json_object_set_new(vm, "state", json_string("failed"));
        json_object_set_new(vm, "error",
                            json_string("pf 0000:3b:00.0 vf 0 "
                                        "vlan: Invalid argument "
                                        "(errno 22)"));
    }
    return strcmp(name, "stuck") != 0 && strcmp(name, "doomed") != 0;
}

static void s_answer(const vfp_request_t *req, vfp_reply_t *reply)
{
    s_fake.requests++;
    if (strcmp(req->verb, "vm.create") == 0) {
        s_create(req, reply);
    } else if (strcmp(req->verb, "vm.show") == 0) {
        json_t *vm = json_object_get(s_fake.vms, s_param(req, "name"));
        if (vm)
            reply->body = json_dumps(vm, JSON_COMPACT);
        else
            reply->status = VFP_ERR_NOT_FOUND;
        if (vm && s_settle(vm))
            json_object_set_new(vm, "state", json_string("placed"));
    } else {
        reply->status = VFP_ERR_UNKNOWN_VERB;
    }
    if (reply->status == VFP_ERR_NOT_FOUND)
        snprintf(reply->error, sizeof(reply->error), "no vm %s",
                 s_param(req, "name"));
    reply->body_len = reply->body ? (uint32_t)strlen(reply->body) : 0;
}

static void s_actor(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_t *sock = zsock_new_router(S_ENDPOINT);
    assert_non_null(sock);
    zpoller_t *poller = zpoller_new(pipe, sock, NULL);
    zsock_signal(pipe, 0);
    while (zpoller_wait(poller, -1) == sock) {
        zframe_t *routing_id = NULL;
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_recv(sock, &routing_id, &err);
        if (msg && msg->id == VFP_REQUEST) {
            vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
            reply->request_id = msg->request_id;
            s_answer(&msg->u.request, &reply->u.reply);
            vfp_send(sock, routing_id, reply, &err);
            vfp_msg_destroy(&reply);
        }
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
}

static zactor_t *s_server;

static int s_setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    s_server = zactor_new(s_actor, NULL);
    return s_server ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    zactor_destroy(&s_server);
    return 0;
}

static int s_reset(void **state)
{
    (void)state;
    json_decref(s_fake.vms);
    memset(&s_fake, 0, sizeof(s_fake));
    s_fake.vms = json_object();
    return 0;
}

/* Runs `vfleetctl vm apply FILE [options]` on text; *out gets its stdout
 * (free it). Returns the exit status. */
static int s_apply(const char *text, const char *options, char **out)
{
    char path[] = "/tmp/test-vm-apply-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char output[] = "/tmp/test-vm-apply-out-XXXXXX";
    int out_fd = mkstemp(output);
    assert_true(out_fd >= 0);
    char *argv[8] = {"vm apply", path};
    int argc = 2;
    char words[64] = "";
    snprintf(words, sizeof(words), "%s", options);
    for (char *w = strtok(words, " "); w && argc < 7; w = strtok(NULL, " "))
        argv[argc++] = w;
    cli_t cli;
    cli_init(&cli);
    cli.controller = S_ENDPOINT;
    fflush(stdout);
    int saved = dup(1);
    dup2(out_fd, 1);
    int status = cli_vm_apply(&cli, argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    FILE *f = fdopen(out_fd, "r");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    *out = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(*out, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    unlink(output);
    unlink(path);
    return status;
}

static void s_expect(const char *text, const char *options, int status,
                     const char *expected)
{
    char *out = NULL;
    int got = s_apply(text, options, &out);
    assert_string_equal(out, expected);
    assert_int_equal(got, status);
    free(out);
}

static const char s_file[] = "version: 1\n"
                             "vms:\n"
                             "  - name: web-1\n"
                             "    memory: 1000M\n"
                             "    vcpus: 2\n"
                             "    nics:\n"
                             "      - network: vlan1\n"
                             "      - network: trunk\n"
                             "        mac: '02:76:66:FF:00:01'\n"
                             "    group: web\n"
                             "  - name: db-1\n"
                             "    memory: 8G\n"
                             "    vcpus: 4\n"
                             "    nics: [{network: trunk}]\n"
                             "    host: esx-e1\n"
                             "    numa: required\n"
                             "    separate_pfs: true\n";

/* Created once, then unchanged however often it is applied again (the
 * stored memory, rounded up to 1 GiB, counts as the same). */
static void test_apply_twice_changes_nothing(void **state)
{
    (void)state;
    char *out;
    int status = s_apply(s_file, "", &out);
    assert_non_null(strstr(out, "web-1: created on esx-e1\n"
                                "db-1: created on esx-e1\n"));
    assert_non_null(strstr(out, ": 2 VMs: 2 created, 0 unchanged, 0 refused, "
                                "0 failed\n"));
    assert_int_equal(status, CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_fake.writes, 2);
    json_t *web = json_object_get(s_fake.vms, "web-1");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(web, "nics"), 1), "mac")),
        "02:76:66:ff:00:01");
    status = s_apply(s_file, "", &out);
    assert_non_null(strstr(out, "web-1: unchanged\ndb-1: unchanged\n"));
    assert_non_null(strstr(out, ": 2 VMs: 0 created, 2 unchanged, 0 refused, "
                                "0 failed\n"));
    assert_int_equal(status, CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_fake.writes, 2);
}

/* Every setting that differs is named, old -> new; nothing is written. */
static void test_different_settings(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "", &out), CLI_EXIT_OK);
    free(out);
    static const char changed[] = "version: 1\n"
                                  "vms:\n"
                                  "  - name: web-1\n"
                                  "    memory: 2G\n"
                                  "    vcpus: 4\n"
                                  "    nics:\n"
                                  "      - network: vlan1\n"
                                  "      - network: trunk\n"
                                  "        mac: '02:76:66:ff:00:09'\n"
                                  "  - name: db-1\n"
                                  "    memory: 8G\n"
                                  "    vcpus: 4\n"
                                  "    nics: [{network: vlan1}, "
                                  "{network: trunk}]\n";
    char *got;
    int status = s_apply(changed, "", &got);
    assert_non_null(strstr(
        got, "web-1: exists with different settings (memory 1024 MiB -> "
             "2048 MiB, vcpus 2 -> 4, nic 1 mac 02:76:66:ff:00:01 -> "
             "02:76:66:ff:00:09, group web -> (none)); delete it first: a "
             "passthrough VM's NICs and memory cannot change in place\n"
             "db-1: exists with different settings (nics [trunk] -> [vlan1, "
             "trunk], host esx-e1 -> (none), numa required -> none, "
             "separate_pfs true -> false); delete it first: a passthrough "
             "VM's NICs and memory cannot change in place\n"));
    assert_non_null(strstr(got, ": 2 VMs: 0 created, 0 unchanged, 0 refused, "
                                "2 failed\n"));
    assert_int_equal(status, CLI_EXIT_ERROR);
    assert_int_equal(s_fake.writes, 2);
    free(got);
}

static void test_refused(void **state)
{
    (void)state;
    char *out;
    int status = s_apply("version: 1\n"
                         "vms:\n"
                         "  - {name: huge, memory: 1T, vcpus: 1, "
                         "nics: [{network: vlan1}]}\n"
                         "  - {name: small, memory: 1G, vcpus: 1, "
                         "nics: [{network: vlan1}]}\n",
                         "", &out);
    assert_non_null(strstr(out, "huge: refused: no host can take vm huge: "
                                "memory on 3 hosts\n"
                                "small: created on esx-e1\n"));
    assert_non_null(strstr(out, ": 2 VMs: 1 created, 0 unchanged, 1 refused, "
                                "0 failed\n"));
    assert_int_equal(status, CLI_EXIT_ERROR);
    free(out);
}

/* --dry-run reads only: exit 3 while something would be created, 0 once
 * nothing would. */
static void test_dry_run(void **state)
{
    (void)state;
    char *out;
    int status = s_apply(s_file, "--dry-run", &out);
    assert_non_null(strstr(out, "web-1: would be created\n"
                                "db-1: would be created\n"));
    assert_non_null(strstr(out, ": 2 VMs: 2 would be created, 0 unchanged, "
                                "0 failed (dry run: nothing was changed)\n"));
    assert_int_equal(status, CLI_EXIT_CHANGES);
    free(out);
    assert_int_equal(s_fake.writes, 0);
    assert_int_equal(s_fake.requests, 2);
    assert_int_equal(s_apply(s_file, "", &out), CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_apply(s_file, "--dry-run", &out), CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_fake.writes, 2);
}

/* --wait creates every VM first, then asks vm.show after each in file
 * order until it is no longer reserved: its line says placed, failed
 * with the agent's error, or not placed within --timeout. */
static void test_wait(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "--wait --timeout 1500ms", &out),
                     CLI_EXIT_OK);
    char *web = strstr(out, "web-1: created on esx-e1, placed\n");
    char *db = strstr(out, "db-1: created on esx-e1, placed\n");
    assert_non_null(web);
    assert_non_null(db);
    assert_true(web < db);
    free(out);
    assert_string_equal(s_fake.wait, "");
    assert_int_equal(s_fake.writes, 2);
    assert_int_equal(s_fake.writes_at_first, 2);
    s_reset(NULL);
    static const char settle[] = "version: 1\n"
                                 "vms:\n"
                                 "  - name: doomed\n"
                                 "    memory: 1G\n"
                                 "    vcpus: 1\n"
                                 "    nics: [{network: vlan1}]\n"
                                 "  - name: huge\n"
                                 "    memory: 1G\n"
                                 "    vcpus: 1\n"
                                 "    nics: [{network: vlan1}]\n"
                                 "  - name: stuck\n"
                                 "    memory: 1G\n"
                                 "    vcpus: 1\n"
                                 "    nics: [{network: vlan1}]\n";
    assert_int_equal(s_apply(settle, "--wait --timeout 1s", &out),
                     CLI_EXIT_ERROR);
    assert_non_null(strstr(out, "doomed: created, but failed: pf 0000:3b:00.0 "
                                "vf 0 vlan: Invalid argument (errno 22)\n"
                                "huge: refused: no host can take vm huge: "
                                "memory on 3 hosts\n"
                                "stuck: created on esx-e1, but not placed "
                                "within 1 s\n"));
    assert_non_null(strstr(out, "3 VMs: 0 created, 0 unchanged, 1 refused, "
                                "2 failed\n"));
    free(out);
    assert_int_equal(s_fake.writes_at_first, 3);
}

/* -o json: one document with a row per VM and the counts. */
static void test_json_output(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "--dry-run -o json", &out),
                     CLI_EXIT_CHANGES);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "dry_run")));
    assert_int_equal(json_integer_value(json_object_get(doc, "would_create")),
                     2);
    json_t *row = json_array_get(json_object_get(doc, "vms"), 1);
    assert_string_equal(json_string_value(json_object_get(row, "name")),
                        "db-1");
    assert_string_equal(json_string_value(json_object_get(row, "result")),
                        "would-create");
    assert_true(json_is_null(json_object_get(row, "host")));
    json_decref(doc);
    free(out);
}

/* An invalid file is reported and nothing is sent. */
static void test_invalid_file_sends_nothing(void **state)
{
    (void)state;
    s_expect("version: 1\nvms: []\n", "", CLI_EXIT_ERROR, "");
    assert_int_equal(s_fake.requests, 0);
}

static void test_usage(void **state)
{
    (void)state;
    cli_t cli;
    cli_init(&cli);
    char *argv[] = {"vm apply", NULL};
    assert_int_equal(cli_vm_apply(&cli, 1, argv), CLI_EXIT_USAGE);
    char *bogus[] = {"vm apply", "f.yaml", "--bogus", NULL};
    assert_int_equal(cli_vm_apply(&cli, 3, bogus), CLI_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_apply_twice_changes_nothing, s_reset),
        cmocka_unit_test_setup(test_different_settings, s_reset),
        cmocka_unit_test_setup(test_refused, s_reset),
        cmocka_unit_test_setup(test_dry_run, s_reset),
        cmocka_unit_test_setup(test_wait, s_reset),
        cmocka_unit_test_setup(test_json_output, s_reset),
        cmocka_unit_test_setup(test_invalid_file_sends_nothing, s_reset),
        cmocka_unit_test_setup(test_usage, s_reset),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    json_decref(s_fake.vms);
    return failed;
}
