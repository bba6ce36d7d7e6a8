/* test_cli_vm_apply.c - vfleetctl vm apply against an in-process stand-in
 * for the admin API's vm.show, vm.create and vm.create.batch (it keeps VMs
 * as ADMIN.md's VM objects and rounds memory up to 1 GiB like 1G
 * hugepages): created, then unchanged on a second apply, refused,
 * different settings, --dry-run sending nothing that writes, --wait
 * creating every VM first and then asking after each in file order, an
 * invalid file sending nothing at all; batches of at most 100 in file
 * order, a VM the batch finds existing compared, a controller without the
 * batch verb, whole-batch errors and busy answers. */
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
    size_t writes;              /* VMs asked to be created, either verb */
    size_t creates;             /* vm.create requests */
    char wait[16], timeout[16]; /* vm.create's parameters */
    size_t shows_reserved;      /* vm.show of a reserved VM */
    size_t writes_at_first;     /* writes before the first of those */
    size_t batches;             /* vm.create.batch requests, busy ones too */
    size_t batch_sizes[8];      /* VMs in each batch acted on */
    size_t acted;               /* batches acted on */
    json_t *batched;            /* every batched VM's name, in order */
    /* Steering: */
    bool no_batch;        /* UNKNOWN_VERB for vm.create.batch */
    bool silent_batch;    /* no answer to vm.create.batch */
    bool short_answer;    /* a batch answer without its last result */
    bool misnamed;        /* a batch answer's first result named "other" */
    size_t busy;          /* busy answers to give batches first */
    vfp_errcode_t refuse; /* the whole batch's error status, if set */
    const char *hide;     /* vm.show says NOT_FOUND once for this name */
} s_fake_t;

static s_fake_t s_fake;

static const char *s_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return "";
}

/* One VM created from its vm.create body, as the controller would: a
 * name it holds exists, "huge" fits nowhere, "dbfail" meets a database
 * error, anything else lands on esx-e1. Returns the status; the new VM
 * object in *vm_p when OK, else the text in error. */
static vfp_errcode_t s_make(json_t *body, json_t **vm_p, char *error,
                            size_t size)
{
    s_fake.writes++;
    const char *name = json_string_value(json_object_get(body, "name"));
    assert_non_null(name);
    if (json_object_get(s_fake.vms, name)) {
        snprintf(error, size, "vm %s exists", name);
        return VFP_ERR_CONFLICT;
    }
    if (strcmp(name, "huge") == 0) {
        snprintf(error, size, "no host can take vm huge: memory on 3 hosts");
        return VFP_ERR_CONFLICT;
    }
    if (strcmp(name, "dbfail") == 0) {
        snprintf(error, size, "database is locked");
        return VFP_ERR_INTERNAL;
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
    *vm_p = vm;
    return VFP_OK;
}

static void s_create(const vfp_request_t *req, vfp_reply_t *reply)
{
    s_fake.creates++;
    snprintf(s_fake.wait, sizeof(s_fake.wait), "%s", s_param(req, "wait"));
    snprintf(s_fake.timeout, sizeof(s_fake.timeout), "%s",
             s_param(req, "timeout"));
    json_t *body = json_loads(req->body, 0, NULL);
    assert_non_null(body);
    json_t *vm = NULL;
    reply->status = s_make(body, &vm, reply->error, sizeof(reply->error));
    if (vm)
        reply->body = json_dumps(vm, JSON_COMPACT);
    json_decref(vm);
    json_decref(body);
}

/* vm.create.batch acted on: each VM made in turn, one result each. */
static void s_batch_act(json_t *vms, vfp_reply_t *reply)
{
    assert_true(s_fake.acted < 8);
    s_fake.batch_sizes[s_fake.acted++] = json_array_size(vms);
    json_t *results = json_array();
    size_t i, created = 0;
    json_t *body;
    json_array_foreach(vms, i, body)
    {
        json_array_append(s_fake.batched, json_object_get(body, "name"));
        json_t *vm = NULL;
        char error[256] = "";
        vfp_errcode_t status = s_make(body, &vm, error, sizeof(error));
        json_t *result =
            json_pack("{s:O, s:s}", "name", json_object_get(body, "name"),
                      "status", vfp_errcode_name((int)status));
        if (s_fake.misnamed && i == 0)
            json_object_set_new(result, "name", json_string("other"));
        json_object_set_new(result, vm ? "vm" : "error",
                            vm ? vm : json_string(error));
        created += status == VFP_OK;
        if (!s_fake.short_answer || i + 1 < json_array_size(vms))
            json_array_append_new(results, result);
        else
            json_decref(result);
    }
    json_t *answer = json_pack(
        "{s:I, s:I, s:o}", "created", (json_int_t)created, "refused",
        (json_int_t)(json_array_size(vms) - created), "results", results);
    reply->body = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
}

/* vm.create.batch as steered; false: no answer. */
static bool s_batch(const vfp_request_t *req, vfp_reply_t *reply)
{
    s_fake.batches++;
    assert_int_equal(req->param_count, 0);
    if (s_fake.silent_batch)
        return false;
    if (s_fake.no_batch || s_fake.busy || s_fake.refuse) {
        reply->status = s_fake.no_batch ? VFP_ERR_UNKNOWN_VERB
                        : s_fake.busy   ? VFP_ERR_INTERNAL
                                        : s_fake.refuse;
        snprintf(reply->error, sizeof(reply->error), "%s",
                 s_fake.no_batch ? "unknown verb \"vm.create.batch\""
                 : s_fake.busy   ? "busy: 64 write requests queued; retry "
                                   "later"
                 : s_fake.refuse == VFP_ERR_DENIED
                     ? "admin key ops-ro is read-only: vm.create.batch "
                       "changes the cluster"
                     : "body: vms[1]: \"memory_mib\" must be a whole number "
                       "from 1 to 1099511627776");
        s_fake.busy -= s_fake.busy > 0 && !s_fake.no_batch;
        return true;
    }
    json_t *body = json_loads(req->body, 0, NULL);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 1);
    s_batch_act(json_object_get(body, "vms"), reply);
    json_decref(body);
    return true;
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

/* The answer to req in reply; false: none. */
static bool s_answer(const vfp_request_t *req, vfp_reply_t *reply)
{
    s_fake.requests++;
    if (strcmp(req->verb, "vm.create") == 0) {
        s_create(req, reply);
    } else if (strcmp(req->verb, "vm.create.batch") == 0) {
        if (!s_batch(req, reply))
            return false;
    } else if (strcmp(req->verb, "vm.show") == 0) {
        const char *name = s_param(req, "name");
        json_t *vm = json_object_get(s_fake.vms, name);
        if (vm && s_fake.hide && strcmp(s_fake.hide, name) == 0) {
            s_fake.hide = NULL;
            vm = NULL;
        }
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
    return true;
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
            if (s_answer(&msg->u.request, &reply->u.reply))
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
    json_decref(s_fake.batched);
    memset(&s_fake, 0, sizeof(s_fake));
    s_fake.vms = json_object();
    s_fake.batched = json_array();
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
    assert_int_equal(s_fake.batches, 0);
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
    assert_int_equal(s_fake.creates, 0);
    assert_int_equal(s_fake.acted, 1);
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

/* A file of count VMs vm-000, vm-001...: a text to free(). */
static char *s_many(size_t count)
{
    size_t size = 32 + count * 96;
    char *text = malloc(size);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, size, "version: 1\nvms:\n");
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "  - {name: vm-%03zu, memory: 1G, vcpus: 1, "
                                 "nics: [{network: vlan1}]}\n",
                                 i);
    assert_true(used < size);
    return text;
}

/* 250 new VMs go in three vm.create.batch requests of 100, 100 and 50, in
 * file order, with no vm.create; each VM's line as vm.create's would be. */
static void test_batches_of_100(void **state)
{
    (void)state;
    char *text = s_many(250);
    char *out;
    assert_int_equal(s_apply(text, "", &out), CLI_EXIT_OK);
    assert_int_equal(s_fake.batches, 3);
    assert_int_equal(s_fake.acted, 3);
    assert_int_equal(s_fake.batch_sizes[0], 100);
    assert_int_equal(s_fake.batch_sizes[1], 100);
    assert_int_equal(s_fake.batch_sizes[2], 50);
    assert_int_equal(s_fake.creates, 0);
    assert_int_equal(s_fake.requests, 250 + 3);
    assert_int_equal(json_array_size(s_fake.batched), 250);
    char *at = out;
    for (size_t i = 0; i < 250; i++) {
        char name[16], line[64];
        snprintf(name, sizeof(name), "vm-%03zu", i);
        assert_string_equal(
            json_string_value(json_array_get(s_fake.batched, i)), name);
        snprintf(line, sizeof(line), "%s: created on esx-e1\n", name);
        assert_memory_equal(at, line, strlen(line));
        at += strlen(line);
    }
    assert_non_null(strstr(at, ": 250 VMs: 250 created, 0 unchanged, 0 "
                               "refused, 0 failed\n"));
    free(out);
    free(text);
}

static const char s_mixed[] = "version: 1\n"
                              "vms:\n"
                              "  - name: web-1\n"
                              "    memory: 1000M\n"
                              "    vcpus: 2\n"
                              "    nics:\n"
                              "      - network: vlan1\n"
                              "      - network: trunk\n"
                              "        mac: '02:76:66:FF:00:01'\n"
                              "    group: web\n"
                              "  - {name: new-1, memory: 1G, vcpus: 1, "
                              "nics: [{network: vlan1}]}\n"
                              "  - {name: db-1, memory: 8G, vcpus: 2, "
                              "nics: [{network: trunk}], host: esx-e1, "
                              "numa: required, separate_pfs: true}\n"
                              "  - {name: huge, memory: 1T, vcpus: 1, "
                              "nics: [{network: vlan1}]}\n"
                              "  - {name: dbfail, memory: 1G, vcpus: 1, "
                              "nics: [{network: vlan1}]}\n"
                              "  - {name: new-2, memory: 1G, vcpus: 1, "
                              "nics: [{network: vlan1}]}\n";

static const char s_mixed_lines[] =
    "web-1: unchanged\n"
    "new-1: created on esx-e1\n"
    "db-1: exists with different settings (vcpus 4 -> 2); delete it first: "
    "a passthrough VM's NICs and memory cannot change in place\n"
    "huge: refused: no host can take vm huge: memory on 3 hosts\n"
    "dbfail: error: database is locked\n"
    "new-2: created on esx-e1\n";

/* Known VMs are compared and never sent; the others go in one batch, and
 * each result reads as vm.create's answer with its status: OK created,
 * CONFLICT refused, any other status failed with its text. */
static void test_batch_outcomes(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "", &out), CLI_EXIT_OK);
    free(out);
    s_fake.acted = 0;
    json_array_clear(s_fake.batched);
    int status = s_apply(s_mixed, "", &out);
    assert_memory_equal(out, s_mixed_lines, strlen(s_mixed_lines));
    assert_non_null(strstr(out, ": 6 VMs: 2 created, 1 unchanged, 1 refused, "
                                "2 failed\n"));
    assert_int_equal(status, CLI_EXIT_ERROR);
    free(out);
    assert_int_equal(s_fake.acted, 1);
    assert_int_equal(s_fake.batch_sizes[0], 4);
    assert_string_equal(json_string_value(json_array_get(s_fake.batched, 0)),
                        "new-1");
    assert_string_equal(json_string_value(json_array_get(s_fake.batched, 3)),
                        "new-2");
}

/* A controller without vm.create.batch (UNKNOWN_VERB) gets one vm.create
 * per VM, asked once: the same lines, the same exit status. */
static void test_no_batch_verb(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "", &out), CLI_EXIT_OK);
    free(out);
    s_fake.no_batch = true;
    s_fake.batches = 0;
    int status = s_apply(s_mixed, "", &out);
    assert_memory_equal(out, s_mixed_lines, strlen(s_mixed_lines));
    assert_non_null(strstr(out, ": 6 VMs: 2 created, 1 unchanged, 1 refused, "
                                "2 failed\n"));
    assert_int_equal(status, CLI_EXIT_ERROR);
    free(out);
    assert_int_equal(s_fake.batches, 1);
    assert_int_equal(s_fake.creates, 4);
    assert_int_equal(s_fake.acted, 1); /* the first apply's */
    s_reset(NULL);
    s_fake.no_batch = true;
    char *text = s_many(150);
    assert_int_equal(s_apply(text, "--wait", &out), CLI_EXIT_OK);
    assert_non_null(strstr(out, "vm-000: created on esx-e1, placed\n"
                                "vm-001: created on esx-e1, placed\n"));
    assert_non_null(strstr(out, ": 150 VMs: 150 created, 0 unchanged, 0 "
                                "refused, 0 failed\n"));
    free(out);
    free(text);
    assert_int_equal(s_fake.batches, 1);
    assert_int_equal(s_fake.creates, 150);
    assert_string_equal(s_fake.wait, "");
    assert_int_equal(s_fake.writes_at_first, 150);
}

/* A VM the batch finds existing (made by another client since vm.show
 * said it was not there) is asked for again and compared. */
static void test_batch_finds_it_exists(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(s_apply(s_file, "", &out), CLI_EXIT_OK);
    free(out);
    s_fake.hide = "web-1";
    s_fake.acted = 0;
    size_t requests = s_fake.requests;
    int status = s_apply(s_file, "", &out);
    assert_non_null(strstr(out, "web-1: unchanged\ndb-1: unchanged\n"));
    assert_non_null(strstr(out, ": 2 VMs: 0 created, 2 unchanged, 0 refused, "
                                "0 failed\n"));
    assert_int_equal(status, CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_fake.acted, 1);
    assert_int_equal(s_fake.batch_sizes[0], 1);
    assert_int_equal(s_fake.requests - requests, 2 + 1 + 1);
    s_fake.hide = "db-1";
    s_fake.acted = 0;
    status = s_apply(s_mixed, "", &out);
    assert_memory_equal(out, s_mixed_lines, strlen(s_mixed_lines));
    assert_int_equal(status, CLI_EXIT_ERROR);
    free(out);
    assert_int_equal(s_fake.acted, 1);
    assert_int_equal(s_fake.batch_sizes[0], 5);
}

/* A whole batch refused (INVALID, DENIED, or busy past --timeout) is each
 * of its VMs failed with the text, as vm.create's would be; nothing is
 * stored. */
static void test_batch_refused_whole(void **state)
{
    (void)state;
    static const vfp_errcode_t statuses[] = {VFP_ERR_INVALID, VFP_ERR_DENIED,
                                             VFP_ERR_INTERNAL};
    static const char s_invalid[] =
        "body: vms[1]: \"memory_mib\" must be a whole number from 1 to "
        "1099511627776";
    static const char *const texts[] = {
        s_invalid,
        "admin key ops-ro is read-only: vm.create.batch changes the cluster",
        "busy: 64 write requests queued; retry later"};
    for (size_t i = 0; i < 3; i++) {
        s_reset(NULL);
        s_fake.refuse = statuses[i];
        s_fake.busy = statuses[i] == VFP_ERR_INTERNAL ? 1000 : 0;
        char *out, expected[512];
        int status = s_apply(s_file, "--timeout 300ms", &out);
        snprintf(expected, sizeof(expected),
                 "web-1: error: %s\ndb-1: error: %s\n", texts[i], texts[i]);
        assert_memory_equal(out, expected, strlen(expected));
        assert_non_null(strstr(out, ": 2 VMs: 0 created, 0 unchanged, 0 "
                                    "refused, 2 failed\n"));
        assert_int_equal(status, CLI_EXIT_ERROR);
        free(out);
        assert_int_equal(json_object_size(s_fake.vms), 0);
        assert_int_equal(s_fake.creates, 0);
        assert_true(statuses[i] == VFP_ERR_INTERNAL ? s_fake.batches > 1
                                                    : s_fake.batches == 1);
    }
}

/* A busy answer is sent again after a pause, as every request is. */
static void test_batch_busy_retried(void **state)
{
    (void)state;
    s_fake.busy = 2;
    char *out;
    int status = s_apply(s_file, "", &out);
    assert_non_null(strstr(out, "web-1: created on esx-e1\n"
                                "db-1: created on esx-e1\n"));
    assert_int_equal(status, CLI_EXIT_OK);
    free(out);
    assert_int_equal(s_fake.batches, 3);
    assert_int_equal(s_fake.acted, 1);
    assert_int_equal(s_fake.creates, 0);
}

/* No answer to a batch stops the run at its first VM, as no answer to
 * that VM's vm.create did. */
static void test_batch_no_answer(void **state)
{
    (void)state;
    s_fake.silent_batch = true;
    char *out;
    int status = s_apply(s_file, "--timeout 200ms", &out);
    assert_memory_equal(out, "web-1: error: no answer from the controller\n",
                        strlen("web-1: error: no answer from the "
                               "controller\n"));
    assert_non_null(strstr(out, ": 2 VMs: 0 created, 0 unchanged, 0 refused, "
                                "1 failed\n"));
    assert_non_null(strstr(out, ": stopped: 1 VMs not applied\n"));
    assert_null(strstr(out, "db-1"));
    assert_int_equal(status, CLI_EXIT_ERROR);
    free(out);
}

/* An answer without each VM's result in its place (one missing, or one
 * named otherwise) fails every VM of the batch. */
static void test_batch_answer_mismatch(void **state)
{
    (void)state;
    static const char *const expected[] = {
        "web-1: error: the controller's vm.create.batch answer does not "
        "hold this VM's result in its place (1 results for 2 VMs)\n"
        "db-1: error: the controller's vm.create.batch answer does not "
        "hold this VM's result in its place (1 results for 2 VMs)\n",
        "web-1: error: the controller's vm.create.batch answer does not "
        "hold this VM's result in its place (2 results for 2 VMs)\n"
        "db-1: error: the controller's vm.create.batch answer does not "
        "hold this VM's result in its place (2 results for 2 VMs)\n"};
    for (size_t i = 0; i < 2; i++) {
        s_reset(NULL);
        s_fake.short_answer = i == 0;
        s_fake.misnamed = i == 1;
        char *out;
        int status = s_apply(s_file, "", &out);
        assert_memory_equal(out, expected[i], strlen(expected[i]));
        assert_int_equal(status, CLI_EXIT_ERROR);
        free(out);
        assert_int_equal(s_fake.acted, 1);
    }
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
        cmocka_unit_test_setup(test_batches_of_100, s_reset),
        cmocka_unit_test_setup(test_batch_outcomes, s_reset),
        cmocka_unit_test_setup(test_no_batch_verb, s_reset),
        cmocka_unit_test_setup(test_batch_finds_it_exists, s_reset),
        cmocka_unit_test_setup(test_batch_refused_whole, s_reset),
        cmocka_unit_test_setup(test_batch_busy_retried, s_reset),
        cmocka_unit_test_setup(test_batch_no_answer, s_reset),
        cmocka_unit_test_setup(test_batch_answer_mismatch, s_reset),
        cmocka_unit_test_setup(test_usage, s_reset),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    json_decref(s_fake.vms);
    json_decref(s_fake.batched);
    return failed;
}
