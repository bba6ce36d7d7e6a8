/* test_vm_admin.c - the VM write verbs on a real SQLite file with a real
 * rollout and placement index: what a reservation stores and answers, how
 * it reaches the host's desired state, how the agent's answer places or
 * fails the VM and wakes a --wait request, release, power, cordon and
 * drain, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "policy_apply.h"
#include "rollout.h"
#include "test_db_file.h"
#include "test_peer.h"
#include "vm_admin.h"
#include "vm_index.h"
#include "vm_plan.h"

typedef struct {
    test_db_file_t file;
    db_t *db;
    sessions_t *sessions;
    rollout_t *rollout;
    vm_index_t *index;
    vm_admin_t *admin;
    zlistx_t *out;
    int replans;
    bool replan_fails; /* the host cannot be planned */
    int answers;
    vfp_msg_t *answer; /* the last parked request's answer */
} fixture_t;

/* Two hosts, h1 and h2: ens1f0 (the test peer's first PF) with 2 VFs
 * carrying prod (VLAN 10) and trunk. */
static const char s_policy[] = "version: 1\n"
                               "networks:\n"
                               "  - name: prod\n"
                               "    vlan: 10\n"
                               "  - name: trunk\n"
                               "    trunk: true\n"
                               "mac_pools:\n"
                               "  - name: vms\n"
                               "    prefixes: [\"02:aa:00\"]\n"
                               "host_groups:\n"
                               "  - name: all\n"
                               "    hosts: [\"h*\"]\n"
                               "    pfs:\n"
                               "      - ifname: ens1f0\n"
                               "        vfs: 2\n"
                               "        networks: [prod, trunk]\n"
                               "memory:\n"
                               "  hypervisor_reserve: 4G\n"
                               "placement:\n"
                               "  strategy: pack\n";

static void s_host(fixture_t *fx, const char *name)
{
    db_err_t err;
    vfp_hello_t hello = {.proto_min = 1, .proto_max = 1};
    snprintf(hello.hostname, sizeof(hello.hostname), "%s", name);
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1000, NULL, &err), 0);
    vfp_msg_t *inv = peer_inventory_new(name, 1, 1, 2, 0);
    /* No guest the controller does not know uses a VF here. */
    for (uint32_t v = 0; v < inv->u.inventory.pfs[0].vf_count; v++)
        inv->u.inventory.pfs[0].vfs[v].in_use = false;
    assert_int_equal(
        db_inventory_replace(fx->db, name, &inv->u.inventory, 2000, &err), 0);
    vfp_msg_destroy(&inv);
}

static vfp_msg_t *s_request(const char *verb, const char *body, const char *k1,
                            const char *v1, const char *k2, const char *v2)
{
    vfp_msg_t *req = vfp_msg_new(VFP_REQUEST);
    req->request_id = 9;
    snprintf(req->u.request.verb, sizeof(req->u.request.verb), "%s", verb);
    const char *kv[] = {k1, v1, k2, v2};
    for (int i = 0; i < 4; i += 2) {
        if (!kv[i])
            continue;
        vfp_param_t *p = &req->u.request.params[req->u.request.param_count++];
        snprintf(p->key, sizeof(p->key), "%s", kv[i]);
        snprintf(p->value, sizeof(p->value), "%s", kv[i + 1]);
    }
    if (body) {
        req->u.request.body = strdup(body);
        req->u.request.body_len = (uint32_t)strlen(body);
    }
    return req;
}

static int s_replan(void *arg, const char *host)
{
    fixture_t *fx = arg;
    fx->replans++;
    return fx->replan_fails
               ? -1
               : (int)rollout_replan(fx->rollout, host, "for its VMs", fx->out);
}

static void s_answer(void *arg, zframe_t **client, vfp_msg_t **reply)
{
    fixture_t *fx = arg;
    fx->answers++;
    vfp_msg_destroy(&fx->answer);
    fx->answer = *reply;
    *reply = NULL;
    zframe_destroy(client);
}

/* Runs one verb; returns its REPLY (NULL when parked), after the flush. */
static vfp_msg_t *s_run(fixture_t *fx, vfp_msg_t *req)
{
    zframe_t *client = zframe_new("c", 1);
    vfp_msg_t *reply = vm_admin_handle(fx->admin, req, &client);
    zframe_destroy(&client);
    vfp_msg_destroy(&req);
    vm_admin_flush(fx->admin);
    return reply;
}

static json_t *s_body(const vfp_msg_t *reply)
{
    assert_non_null(reply);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    assert_non_null(body);
    return body;
}

static vfp_msg_t *s_create(fixture_t *fx, const char *body)
{
    return s_run(fx, s_request("vm.create", body, NULL, NULL, NULL, NULL));
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "vm-admin");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    s_host(fx, "h1");
    s_host(fx, "h2");
    vfp_msg_t *req =
        s_request("policy.apply", s_policy, NULL, NULL, NULL, NULL);
    policy_apply_changed_t changed = {0};
    vfp_msg_t *reply = policy_apply_handle(fx->db, req, 3000, &changed);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    policy_apply_changed_clear(&changed);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    fx->sessions = sessions_new();
    rollout_config_t rcfg = {.inflight_ms = 1000};
    fx->rollout = rollout_new(fx->db, fx->sessions, &rcfg);
    char text[256];
    assert_int_equal(rollout_load(fx->rollout, text, sizeof(text)), 0);
    fx->index = vm_index_new(fx->db);
    assert_int_equal(vm_index_load(fx->index, &err), 0);
    vm_admin_config_t cfg = {.replan = s_replan, .answer = s_answer, .arg = fx};
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    fx->out = zlistx_new();
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    vm_admin_destroy(&fx->admin);
    vm_index_destroy(&fx->index);
    vfp_msg_destroy(&fx->answer);
    zlistx_destroy(&fx->out);
    rollout_destroy(&fx->rollout);
    sessions_destroy(&fx->sessions);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* The host's stored desired APPLY. */
static vfp_msg_t *s_desired(fixture_t *fx, const char *host)
{
    db_host_desired_t d;
    db_err_t err;
    assert_int_equal(db_host_desired_get(fx->db, host, &d, &err), 0);
    vfp_decode_error_t derr;
    vfp_msg_t *msg = vfp_decode(d.apply, d.apply_len, &derr);
    db_host_desired_clear(&d);
    assert_non_null(msg);
    return msg;
}

static const vfp_apply_vf_t *s_vf(const vfp_msg_t *apply, uint16_t index)
{
    for (uint32_t i = 0; i < apply->u.apply.vf_count; i++)
        if (apply->u.apply.vfs[i].index == index)
            return &apply->u.apply.vfs[i];
    fail_msg("no VF %u in the APPLY", index);
    return NULL;
}

/* The agent's answer to the host's current desired revision: every item
 * ok, or VF `failed_vf` refused with EINVAL (-1: none). */
static void s_agent_answers(fixture_t *fx, const char *host, int failed_vf)
{
    vfp_msg_t *apply = s_desired(fx, host);
    vfp_result_t item = {.kind = VFP_ITEM_VF, .index = (uint16_t)failed_vf};
    snprintf(item.pf, sizeof(item.pf), "%s", apply->u.apply.vfs[0].pf);
    snprintf(item.attribute, sizeof(item.attribute), "vlan");
    item.err = 22;
    snprintf(item.message, sizeof(item.message), "Invalid argument");
    db_err_t err;
    assert_int_equal(db_apply_result_record(fx->db, host,
                                            apply->u.apply.revision, &item,
                                            failed_vf >= 0 ? 1 : 0, 5000, &err),
                     0);
    vfp_msg_destroy(&apply);
    vm_admin_result(fx->admin, host);
    /* What the controller's loop does in its spare time. */
    vm_admin_flush(fx->admin);
}

static const char s_web1[] =
    "{\"name\":\"web-1\",\"memory_mib\":4096,\"vcpus\":2,"
    "\"nics\":[{\"network\":\"prod\"}]}";

/* A reservation is stored, answered "reserved", carried by the host's new
 * desired state (the VF gets the VM's MAC and VLAN 10), and placed when
 * the agent confirms. */
static void test_create_reserves_then_places(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *before = s_desired(fx, "h1");
    vfp_msg_t *reply = s_create(fx, s_web1);
    json_t *body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "state")),
                        "reserved");
    /* pack with equal hosts: the name decides. */
    assert_string_equal(json_string_value(json_object_get(body, "host")), "h1");
    json_t *nic = json_array_get(json_object_get(body, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        "02:aa:00:00:00:00");
    assert_int_equal(json_integer_value(json_object_get(nic, "vf")), 0);
    assert_int_equal(json_integer_value(json_object_get(nic, "vlan")), 10);
    json_decref(body);
    vfp_msg_destroy(&reply);

    vfp_msg_t *after = s_desired(fx, "h1");
    assert_true(after->u.apply.revision > before->u.apply.revision);
    const vfp_apply_vf_t *vf0 = s_vf(after, 0), *vf1 = s_vf(after, 1);
    uint8_t mac[6] = {0x02, 0xaa, 0, 0, 0, 0};
    assert_memory_equal(vf0->mac, mac, 6);
    assert_int_equal(vf0->vlan, 10);
    assert_int_equal(vf1->vlan, 0);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.apply_revision, after->u.apply.revision);
    assert_int_equal(vm.state, DB_VM_RESERVED);
    vfp_msg_destroy(&before);
    vfp_msg_destroy(&after);

    s_agent_answers(fx, "h1", -1);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_true(vm.placed_at_ms > 0);
}

/* --wait parks the request; the agent's answer wakes it with the VM
 * placed. */
static void test_wait_answers_when_placed(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *req =
        s_request("vm.create", s_web1, "wait", "true", "timeout", "30");
    assert_null(s_run(fx, req));
    assert_int_equal(vm_admin_waiting(fx->admin), 1);
    assert_int_equal(fx->answers, 0);
    s_agent_answers(fx, "h1", -1);
    assert_int_equal(fx->answers, 1);
    assert_int_equal(vm_admin_waiting(fx->admin), 0);
    json_t *body = s_body(fx->answer);
    assert_string_equal(json_string_value(json_object_get(body, "state")),
                        "placed");
    assert_int_equal(fx->answer->request_id, 9);
    json_decref(body);
}

/* A controller that stops answers a waiting vm.create with the VM as
 * stored (reserved), as when the wait times out: it is not lost. */
static void test_wait_answered_at_stop(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *req =
        s_request("vm.create", s_web1, "wait", "true", "timeout", "30");
    assert_null(s_run(fx, req));
    assert_int_equal(fx->answers, 0);
    vm_admin_destroy(&fx->admin);
    assert_int_equal(fx->answers, 1);
    assert_int_equal(fx->answer->u.reply.status, VFP_OK);
    json_t *body = s_body(fx->answer);
    assert_string_equal(json_string_value(json_object_get(body, "state")),
                        "reserved");
    json_decref(body);
}

/* A host that cannot be planned fails the VMs reserved on it, each
 * stored failed before its waiter is answered, with the reason. */
static void test_unplannable_host_fails_vms(void **state)
{
    fixture_t *fx = *state;
    fx->replan_fails = true;
    vfp_msg_t *req =
        s_request("vm.create", s_web1, "wait", "true", "timeout", "30");
    assert_null(s_run(fx, req));
    assert_int_equal(fx->answers, 1);
    assert_int_equal(vm_admin_waiting(fx->admin), 0);
    json_t *body = s_body(fx->answer);
    assert_string_equal(json_string_value(json_object_get(body, "state")),
                        "failed");
    json_decref(body);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_FAILED);
    assert_non_null(strstr(vm.error, "cannot be planned"));
}

/* Keeps the message of the newest event of kind arg's kind. */
typedef struct {
    const char *kind;
    char message[VFP_TEXT_MAX + 1];
} s_event_t;

static int s_event_row(const db_event_row_t *row, void *arg)
{
    s_event_t *want = arg;
    if (strcmp(row->kind, want->kind) == 0)
        snprintf(want->message, sizeof(want->message), "%s", row->message);
    return 0;
}

/* The agent refuses the VM's VF: the VM fails with the kernel's words,
 * gives its VF back, and the host's next plan resets that VF. */
static void test_agent_failure_fails_vm(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    s_agent_answers(fx, "h1", 0);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_FAILED);
    assert_string_equal(vm.host, "");
    assert_non_null(strstr(vm.error, "vf 0 vlan: Invalid argument (errno 22)"));
    vfp_msg_t *apply = s_desired(fx, "h1");
    assert_int_equal(s_vf(apply, 0)->vlan, 0);
    vfp_msg_destroy(&apply);
    /* Its VF is free again: two more VMs fit on h1 with pack. */
    reply = s_create(fx, "{\"name\":\"a\",\"memory_mib\":1024,\"vcpus\":1,"
                         "\"nics\":[{\"network\":\"trunk\"}]}");
    json_t *body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "host")), "h1");
    json_decref(body);
    vfp_msg_destroy(&reply);
    /* Deleted, it releases nothing more: its event says so (it said its
     * NICs and memory were released, which had happened at the failure). */
    reply =
        s_run(fx, s_request("vm.delete", NULL, "name", "web-1", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    s_event_t deleted = {.kind = "vm-deleted"};
    assert_int_equal(
        db_events_list(fx->db, 0, 1000, s_event_row, &deleted, &err), 0);
    assert_string_equal(deleted.message,
                        "vm web-1 deleted: it had failed and held nothing");
}

/* Nothing fits: CONFLICT with the reason per host and the detail. */
static void test_refusal_names_every_host(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_create(fx, "{\"name\":\"big\",\"memory_mib\":10000000,\"vcpus\":2,"
                     "\"nics\":[{\"network\":\"prod\"}]}");
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error, "no host fits vm big"));
    assert_non_null(strstr(reply->u.reply.error, "h1: memory"));
    json_t *body = json_loads(reply->u.reply.body, 0, NULL);
    json_t *reason = json_array_get(json_object_get(body, "reasons"), 0);
    assert_string_equal(json_string_value(json_object_get(reason, "rule")),
                        "memory");
    assert_int_equal(json_integer_value(json_object_get(reason, "hosts")), 2);
    json_decref(body);
    vfp_msg_destroy(&reply);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "big", &vm, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    /* Only reservations are handed to the metrics, once each. */
    assert_int_equal(vm_admin_take_reserved(fx->admin), 0);
    reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    assert_int_equal(vm_admin_take_reserved(fx->admin), 1);
    assert_int_equal(vm_admin_take_reserved(fx->admin), 0);
}

/* Bad bodies are INVALID and name the field. */
static void test_bad_requests(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *body;
        const char *error;
    } cases[] = {
        {"[]", "a JSON object"},
        {"{\"name\":\"-x\",\"memory_mib\":1,\"vcpus\":1,\"nics\":[]}",
         "\"name\" must be a VM name"},
        {"{\"name\":\"x\",\"memory_mib\":0,\"vcpus\":1,\"nics\":[]}",
         "\"memory_mib\" must be a whole number"},
        /* ADMIN.md: at most 2^40; less is a placement's to refuse. */
        {"{\"name\":\"x\",\"memory_mib\":1099511627777,\"vcpus\":1,"
         "\"nics\":[]}",
         "\"memory_mib\" must be a whole number from 1 to 1099511627776"},
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,\"nics\":[]}",
         "\"nics\" must list 1 to 8 NICs"},
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,"
         "\"nics\":[{\"network\":\"prod\",\"mac\":\"zz\"}]}",
         "nics[0]: mac \"zz\" is not a MAC address"},
        /* A multicast or zero MAC is a bad field too, not a placement's
         * CONFLICT. */
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,"
         "\"nics\":[{\"network\":\"prod\",\"mac\":\"01:00:00:00:00:01\"}]}",
         "body: nics[0]: mac \"01:00:00:00:00:01\" is multicast"},
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,"
         "\"nics\":[{\"network\":\"prod\",\"mac\":\"00:00:00:00:00:00\"}]}",
         "body: nics[0]: mac \"00:00:00:00:00:00\" means no MAC"},
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,\"colour\":1,"
         "\"nics\":[{\"network\":\"prod\"}]}",
         "unknown key \"colour\""},
        {"{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,\"numa\":\"yes\","
         "\"nics\":[{\"network\":\"prod\"}]}",
         "numa \"yes\" is not none, preferred or required"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vfp_msg_t *reply = s_create(fx, cases[i].body);
        assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
        if (!strstr(reply->u.reply.error, cases[i].error))
            fail_msg("%s: got \"%s\"", cases[i].body, reply->u.reply.error);
        vfp_msg_destroy(&reply);
    }
    /* What placement itself refuses is a CONFLICT (ADMIN.md). */
    vfp_msg_t *reply =
        s_create(fx, "{\"name\":\"x\",\"memory_mib\":1,\"vcpus\":1,"
                     "\"nics\":[{\"network\":\"vlan9\"}]}");
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_string_equal(reply->u.reply.error,
                        "network vlan9 is not defined by the policy");
    assert_int_equal(reply->u.reply.body_len, 0);
    vfp_msg_destroy(&reply);
    reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    reply = s_create(fx, s_web1);
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_string_equal(reply->u.reply.error, "vm web-1 exists");
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.create", s_web1, "wait", "maybe", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_non_null(strstr(reply->u.reply.error, "wait \"maybe\""));
    vfp_msg_destroy(&reply);
}

/* Deleting frees the VF (clean default in the next plan) and the name. */
static void test_delete_releases(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.delete", NULL, "name", "web-1", NULL, NULL));
    json_t *body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "name")),
                        "web-1");
    json_decref(body);
    vfp_msg_destroy(&reply);
    vfp_msg_t *apply = s_desired(fx, "h1");
    uint8_t zero[6] = {0};
    assert_memory_equal(s_vf(apply, 0)->mac, zero, 6);
    vfp_msg_destroy(&apply);
    reply =
        s_run(fx, s_request("vm.delete", NULL, "name", "web-1", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_NOT_FOUND);
    vfp_msg_destroy(&reply);
    /* The same name and the same first MAC can be had again. */
    reply = s_create(fx, s_web1);
    body = s_body(reply);
    json_t *nic = json_array_get(json_object_get(body, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        "02:aa:00:00:00:00");
    json_decref(body);
    vfp_msg_destroy(&reply);
}

/* Cordon keeps new VMs off a host; drain also lists the VMs to power off
 * first; power is recorded. */
static void test_cordon_drain_power(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.power", NULL, "name", "web-1", "state", "on"));
    json_t *body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "power")),
                        "on");
    json_decref(body);
    vfp_msg_destroy(&reply);
    reply = s_run(fx, s_request("host.drain", NULL, "name", "h1", NULL, NULL));
    body = s_body(reply);
    assert_true(json_is_true(json_object_get(body, "cordoned")));
    json_t *first = json_object_get(body, "power_off_first");
    assert_int_equal(json_array_size(first), 1);
    assert_string_equal(json_string_value(json_array_get(first, 0)), "web-1");
    json_decref(body);
    vfp_msg_destroy(&reply);
    /* pack would take h1 (less free memory); it is cordoned. */
    reply = s_create(fx, "{\"name\":\"b\",\"memory_mib\":1024,\"vcpus\":1,"
                         "\"nics\":[{\"network\":\"prod\"}]}");
    body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "host")), "h2");
    json_decref(body);
    vfp_msg_destroy(&reply);
    reply = s_run(fx, s_request("vm.create",
                                "{\"name\":\"c\",\"memory_mib\":1024,"
                                "\"vcpus\":1,\"host\":\"h1\","
                                "\"nics\":[{\"network\":\"prod\"}]}",
                                NULL, NULL, NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error, "h1: cordoned"));
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("host.uncordon", NULL, "name", "h1", NULL, NULL));
    body = s_body(reply);
    assert_true(json_is_false(json_object_get(body, "cordoned")));
    json_decref(body);
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("host.cordon", NULL, "name", "nope", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_NOT_FOUND);
    vfp_msg_destroy(&reply);
}

/* A restarted controller's index knows every held VF: nothing is handed
 * out twice. */
static void test_index_rebuilt_from_db(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    vm_admin_destroy(&fx->admin);
    vm_index_destroy(&fx->index);
    fx->index = vm_index_new(fx->db);
    db_err_t err;
    assert_int_equal(vm_index_load(fx->index, &err), 0);
    vm_admin_config_t cfg = {.replan = s_replan, .answer = s_answer, .arg = fx};
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    reply = s_create(fx, "{\"name\":\"web-2\",\"memory_mib\":1024,"
                         "\"vcpus\":1,\"host\":\"h1\","
                         "\"nics\":[{\"network\":\"prod\"}]}");
    json_t *body = s_body(reply);
    json_t *nic = json_array_get(json_object_get(body, "nics"), 0);
    assert_int_equal(json_integer_value(json_object_get(nic, "vf")), 1);
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        "02:aa:00:00:00:01");
    json_decref(body);
    vfp_msg_destroy(&reply);
}

/* A cold evacuation needs cold=true and the VM off (or its host down);
 * it then moves the VM with its MAC, and the old host's next plan resets
 * the VF. */
static void test_evacuate_cold(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.evacuate", NULL, "name", "web-1", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error, "only a cold evacuation"));
    vfp_msg_destroy(&reply);
    reply = s_run(
        fx, s_request("vm.evacuate", NULL, "name", "web-1", "cold", "true"));
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error,
                           "of unknown power state: power it off first"));
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.power", NULL, "name", "web-1", "state", "off"));
    vfp_msg_destroy(&reply);
    reply = s_run(
        fx, s_request("vm.evacuate", NULL, "name", "web-1", "cold", "true"));
    json_t *body = s_body(reply);
    assert_string_equal(json_string_value(json_object_get(body, "host")), "h2");
    assert_string_equal(json_string_value(json_object_get(body, "power")),
                        "off");
    json_t *nic = json_array_get(json_object_get(body, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        "02:aa:00:00:00:00");
    json_decref(body);
    vfp_msg_destroy(&reply);
    vfp_msg_t *h1 = s_desired(fx, "h1"), *h2 = s_desired(fx, "h2");
    uint8_t zero[6] = {0}, mac[6] = {0x02, 0xaa, 0, 0, 0, 0};
    assert_memory_equal(s_vf(h1, 0)->mac, zero, 6);
    assert_memory_equal(s_vf(h2, 0)->mac, mac, 6);
    vfp_msg_destroy(&h1);
    vfp_msg_destroy(&h2);
}

/* NICs change only while the VM is off: an SR-IOV VF cannot be
 * hot-plugged. Added and removed NICs reach the host's desired state. */
static void test_nic_add_remove(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    /* A missing parameter is said as every verb says it, before the
     * VM's power state. */
    reply =
        s_run(fx, s_request("vm.nic.add", NULL, "name", "web-1", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_string_equal(reply->u.reply.error,
                        "verb \"vm.nic.add\" needs parameter \"network\"");
    vfp_msg_destroy(&reply);
    reply = s_run(
        fx, s_request("vm.nic.remove", NULL, "name", "web-1", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_string_equal(reply->u.reply.error,
                        "verb \"vm.nic.remove\" needs parameter \"index\"");
    vfp_msg_destroy(&reply);
    vfp_msg_t *req =
        s_request("vm.nic.add", NULL, "name", "web-1", "network", "trunk");
    reply = s_run(fx, req);
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(
        strstr(reply->u.reply.error,
               "an SR-IOV NIC cannot be hot-added to a running VM"));
    vfp_msg_destroy(&reply);
    reply =
        s_run(fx, s_request("vm.power", NULL, "name", "web-1", "state", "off"));
    vfp_msg_destroy(&reply);
    req = s_request("vm.nic.add", NULL, "name", "web-1", "network", "trunk");
    vfp_param_t *mac = &req->u.request.params[req->u.request.param_count++];
    snprintf(mac->key, sizeof(mac->key), "mac");
    snprintf(mac->value, sizeof(mac->value), "03:00:00:00:00:01");
    reply = s_run(fx, req);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_string_equal(reply->u.reply.error,
                        "mac \"03:00:00:00:00:01\" is multicast");
    vfp_msg_destroy(&reply);
    reply = s_run(
        fx, s_request("vm.nic.add", NULL, "name", "web-1", "network", "trunk"));
    json_t *body = s_body(reply);
    json_t *nics = json_object_get(body, "nics");
    assert_int_equal(json_array_size(nics), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(nics, 1), "network")),
        "trunk");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(nics, 0), "mac")),
        "02:aa:00:00:00:00");
    json_decref(body);
    vfp_msg_destroy(&reply);
    vfp_msg_t *h1 = s_desired(fx, "h1");
    assert_int_equal(s_vf(h1, 0)->vlan, 10);
    assert_int_equal(s_vf(h1, 1)->mac[0], 0x02);
    vfp_msg_destroy(&h1);

    reply = s_run(
        fx, s_request("vm.nic.remove", NULL, "name", "web-1", "index", "0"));
    body = s_body(reply);
    nics = json_object_get(body, "nics");
    assert_int_equal(json_array_size(nics), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(nics, 0), "network")),
        "trunk");
    json_decref(body);
    vfp_msg_destroy(&reply);
    reply = s_run(
        fx, s_request("vm.nic.remove", NULL, "name", "web-1", "index", "0"));
    assert_int_equal(reply->u.reply.status, VFP_ERR_CONFLICT);
    assert_non_null(strstr(reply->u.reply.error, "keeps at least one"));
    vfp_msg_destroy(&reply);
}

/* Runs one verb without planning after it (the plan delay not yet
 * passed); returns its status. */
static vfp_errcode_t s_run_unplanned(fixture_t *fx, vfp_msg_t *req)
{
    zframe_t *client = zframe_new("c", 1);
    vfp_msg_t *reply = vm_admin_handle(fx->admin, req, &client);
    vfp_errcode_t status = reply->u.reply.status;
    zframe_destroy(&client);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    return status;
}

/* web-1 placed on h1 with the agent's answer (a failure on failed_vf, or
 * none for -1), powered off, then a NIC added and removed again before the
 * host's plan. The plan then changes nothing, so no answer will come: the
 * VM, with its one NIC, is placed at once by the answer stored, carried by
 * the desired revision it had. */
static void s_nic_change_undone(fixture_t *fx, int failed_vf)
{
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    s_agent_answers(fx, "h1", failed_vf);
    reply =
        s_run(fx, s_request("vm.power", NULL, "name", "web-1", "state", "off"));
    vfp_msg_destroy(&reply);
    vfp_msg_t *before = s_desired(fx, "h1");
    assert_int_equal(
        s_run_unplanned(fx, s_request("vm.nic.add", NULL, "name", "web-1",
                                      "network", "trunk")),
        VFP_OK);
    assert_int_equal(
        s_run_unplanned(fx, s_request("vm.nic.remove", NULL, "name", "web-1",
                                      "index", "1")),
        VFP_OK);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_RESERVED);
    int replans = fx->replans;
    vm_admin_flush(fx->admin);
    assert_true(fx->replans > replans);
    vfp_msg_t *after = s_desired(fx, "h1");
    assert_int_equal(after->u.apply.revision, before->u.apply.revision);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_int_equal(vm.nic_count, 1);
    assert_int_equal(vm.apply_revision, after->u.apply.revision);
    vfp_msg_destroy(&before);
    vfp_msg_destroy(&after);
}

/* After an all-ok answer: placed, not failed as a host that cannot be
 * planned. */
static void test_nic_change_undone_before_plan(void **state)
{
    s_nic_change_undone(*state, -1);
}

/* After an answer that failed on a VF no VM holds: that answer is all that
 * will come, and it does not concern the VM; before, it stayed reserved. */
static void test_nic_change_undone_after_failed_answer(void **state)
{
    s_nic_change_undone(*state, 1);
}

/* plan (vm_plan.c): copies placed tentatively until one does not fit,
 * counted per host, the first refusal explained, and the index left as
 * it was; a list of VMs tried each; bad bodies refused. */
static void test_plan(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *req = s_request("plan",
                               "{\"count\":10,\"vms\":[{\"name\":\"p\","
                               "\"memory_mib\":1024,\"vcpus\":1,"
                               "\"nics\":[{\"network\":\"prod\"}]}]}",
                               NULL, NULL, NULL, NULL);
    vfp_msg_t *reply = vm_plan_handle(fx->index, req);
    vfp_msg_destroy(&req);
    json_t *body = s_body(reply);
    /* Two hosts of 2 free VFs each: 4 fit, the 5th does not. */
    assert_int_equal(json_integer_value(json_object_get(body, "fit")), 4);
    assert_int_equal(json_integer_value(json_object_get(body, "requested")),
                     10);
    json_t *hosts = json_object_get(body, "hosts");
    assert_int_equal(json_array_size(hosts), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(hosts, 0), "vms")),
        2);
    json_t *first = json_object_get(body, "first_refusal");
    assert_string_equal(json_string_value(json_object_get(first, "name")),
                        "p-5");
    assert_non_null(strstr(json_string_value(json_object_get(first, "error")),
                           "no free isolated VF"));
    json_decref(body);
    vfp_msg_destroy(&reply);
    /* Nothing was kept: a real VM still gets VF 0 and the first MAC. */
    reply = s_create(fx, s_web1);
    body = s_body(reply);
    json_t *nic = json_array_get(json_object_get(body, "nics"), 0);
    assert_int_equal(json_integer_value(json_object_get(nic, "vf")), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        "02:aa:00:00:00:00");
    json_decref(body);
    vfp_msg_destroy(&reply);

    req = s_request("plan",
                    "{\"vms\":[{\"name\":\"a\",\"memory_mib\":1024,"
                    "\"vcpus\":1,\"nics\":[{\"network\":\"trunk\"}]},"
                    "{\"name\":\"b\",\"memory_mib\":99999999,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"prod\"}]}]}",
                    NULL, NULL, NULL, NULL);
    reply = vm_plan_handle(fx->index, req);
    vfp_msg_destroy(&req);
    body = s_body(reply);
    assert_int_equal(json_integer_value(json_object_get(body, "fit")), 1);
    json_t *refused = json_array_get(json_object_get(body, "refused"), 0);
    assert_string_equal(json_string_value(json_object_get(refused, "name")),
                        "b");
    json_decref(body);
    vfp_msg_destroy(&reply);

    req = s_request("plan", "{\"vms\":[]}", NULL, NULL, NULL, NULL);
    reply = vm_plan_handle(fx->index, req);
    vfp_msg_destroy(&req);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_non_null(strstr(reply->u.reply.error, "\"vms\" must list"));
    vfp_msg_destroy(&reply);
}

/* Every verb this module answers is one the admin thread forwards. */
/* A delta that only carries VF settings (what an agent reports after an
 * APPLY) leaves the index alone; anything placement or planning reads
 * makes it read the host again. */
static void test_delta_matters(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *inv = peer_inventory_new("h1", 3, 1, 2, 0);
    vfp_pf_t *pf = &inv->u.inventory.pfs[0];
    for (uint32_t v = 0; v < pf->vf_count; v++)
        pf->vfs[v].in_use = false;
    vfp_inventory_delta_t delta = {
        .base_generation = 1, .generation = 3, .pf_count = 1, .pfs = pf};
    pf->vfs[0].vlan = 10;
    pf->vfs[0].mac[5] ^= 0x5a;
    pf->vfs[1].trust = VFP_ON;
    pf->vfs[1].max_tx_rate = 1000;
    assert_false(vm_index_delta_matters(fx->index, "h1", &delta));
    assert_true(vm_index_delta_matters(fx->index, "h9", &delta));
    pf->vfs[1].in_use = true;
    assert_true(vm_index_delta_matters(fx->index, "h1", &delta));
    pf->vfs[1].in_use = false;
    pf->num_vfs--;
    assert_true(vm_index_delta_matters(fx->index, "h1", &delta));
    pf->num_vfs++;
    pf->vfs[0].iommu_isolated = !pf->vfs[0].iommu_isolated;
    assert_true(vm_index_delta_matters(fx->index, "h1", &delta));
    pf->vfs[0].iommu_isolated = !pf->vfs[0].iommu_isolated;
    delta.has_host = true;
    assert_true(vm_index_delta_matters(fx->index, "h1", &delta));
    delta.has_host = false;
    snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:99:00.0");
    assert_true(vm_index_delta_matters(fx->index, "h1", &delta));
    vfp_msg_destroy(&inv);
}

/* With a plan delay, a host is planned only once its first change is
 * that old, once for all the placements made on it meanwhile. */
static void test_plan_delay(void **state)
{
    fixture_t *fx = *state;
    vm_admin_destroy(&fx->admin);
    vm_admin_config_t cfg = {.replan = s_replan,
                             .answer = s_answer,
                             .arg = fx,
                             .plan_delay_ms = 1000};
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    int64_t start = zclock_mono();
    const char *bodies[] = {"{\"name\":\"a\",\"memory_mib\":1024,\"vcpus\":1,"
                            "\"nics\":[{\"network\":\"prod\"}]}",
                            "{\"name\":\"b\",\"memory_mib\":1024,\"vcpus\":1,"
                            "\"nics\":[{\"network\":\"prod\"}]}"};
    for (int i = 0; i < 2; i++) {
        zframe_t *client = zframe_new("c", 1);
        vfp_msg_t *req =
            s_request("vm.create", bodies[i], NULL, NULL, NULL, NULL);
        vfp_msg_t *reply = vm_admin_handle(fx->admin, req, &client);
        assert_int_equal(reply->u.reply.status, VFP_OK);
        vfp_msg_destroy(&reply);
        vfp_msg_destroy(&req);
        zframe_destroy(&client);
    }
    assert_int_equal(fx->replans, 0);
    assert_false(vm_admin_flush_one(fx->admin, start + 500));
    assert_int_equal(fx->replans, 0);
    /* Both VMs packed onto one host: one plan carries both. */
    assert_true(vm_admin_flush_one(fx->admin, zclock_mono() + 1000));
    assert_false(vm_admin_flush_one(fx->admin, zclock_mono() + 1000));
    assert_int_equal(fx->replans, 1);
    vfp_msg_t *apply = s_desired(fx, "h1");
    assert_int_equal(apply->u.apply.vf_count, 2);
    assert_int_equal(s_vf(apply, 0)->vlan, 10);
    assert_int_equal(s_vf(apply, 1)->vlan, 10);
    vfp_msg_destroy(&apply);
}

/* A reservation committed but not yet planned when the controller stopped
 * (which hosts await a plan is kept in memory only): the next controller
 * plans its host at start, and the VM gets the revision. */
static void test_recover_unplanned(void **state)
{
    fixture_t *fx = *state;
    zframe_t *client = zframe_new("c", 1);
    vfp_msg_t *req = s_request("vm.create", s_web1, NULL, NULL, NULL, NULL);
    vfp_msg_t *reply = vm_admin_handle(fx->admin, req, &client);
    assert_int_equal(reply->u.reply.status, VFP_OK);
    vfp_msg_destroy(&reply);
    vfp_msg_destroy(&req);
    zframe_destroy(&client);
    /* Stopped before its plan. */
    vm_admin_destroy(&fx->admin);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.apply_revision, 0);

    vm_admin_config_t cfg = {.replan = s_replan, .answer = s_answer, .arg = fx};
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    assert_int_equal(vm_admin_recover(fx->admin, &err), 1);
    vm_admin_flush(fx->admin);
    assert_int_equal(fx->replans, 1);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    vfp_msg_t *apply = s_desired(fx, "h1");
    assert_int_equal(vm.apply_revision, apply->u.apply.revision);
    vfp_msg_destroy(&apply);
    /* Planned VMs are not planned again at the next start. */
    vm_admin_destroy(&fx->admin);
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    assert_int_equal(vm_admin_recover(fx->admin, &err), 0);
}

/* A reservation committed just before its host went down (its agent
 * stopped, the down mark came before the plan): the plan made while the
 * host is down still gives the VM the revision, so the answer the agent
 * sends when it is back places it instead of leaving it reserved. */
static void s_reserved_then_down(fixture_t *fx, bool replan_fails)
{
    assert_int_equal(s_run_unplanned(fx, s_request("vm.create", s_web1, NULL,
                                                   NULL, NULL, NULL)),
                     VFP_OK);
    db_err_t err;
    assert_int_equal(db_host_set_state(fx->db, "h1", DB_HOST_DOWN, &err), 0);
    fx->replan_fails = replan_fails;
    vm_admin_flush(fx->admin);
}

static void test_host_down_before_plan(void **state)
{
    fixture_t *fx = *state;
    s_reserved_then_down(fx, false);
    db_err_t err;
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    vfp_msg_t *apply = s_desired(fx, "h1");
    assert_int_equal(vm.apply_revision, apply->u.apply.revision);
    vfp_msg_destroy(&apply);

    assert_int_equal(db_host_set_state(fx->db, "h1", DB_HOST_READY, &err), 0);
    s_agent_answers(fx, "h1", -1);
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
}

/* A host that cannot be planned while it is down: its reserved VM fails at
 * once, with the reason, instead of when the host is back and planned again. */
static void test_unplannable_down_host_fails_vms(void **state)
{
    fixture_t *fx = *state;
    s_reserved_then_down(fx, true);
    db_err_t err;
    db_vm_t vm;
    assert_int_equal(db_vm_get(fx->db, "web-1", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_FAILED);
    assert_non_null(strstr(vm.error, "cannot be planned"));
}

/* A VM deleted just before the controller stopped, its host not planned
 * yet: the desired state still gives its VF the VM's MAC. The next
 * controller's sweep plans every host once, which resets the VF; a host
 * whose desired state is current stores nothing. */
static void test_sweep_after_stop(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply = s_create(fx, s_web1);
    vfp_msg_destroy(&reply);
    s_agent_answers(fx, "h1", -1);
    assert_int_equal(s_run_unplanned(fx, s_request("vm.delete", NULL, "name",
                                                   "web-1", NULL, NULL)),
                     VFP_OK);
    vm_admin_destroy(&fx->admin);
    vfp_msg_t *stale = s_desired(fx, "h1");
    assert_int_equal(s_vf(stale, 0)->mac[0], 0x02);
    vfp_msg_t *h2 = s_desired(fx, "h2");

    vm_admin_config_t cfg = {.replan = s_replan, .answer = s_answer, .arg = fx};
    fx->admin = vm_admin_new(fx->db, fx->index, &cfg);
    db_err_t err;
    assert_int_equal(vm_admin_recover(fx->admin, &err), 0);
    int replans = fx->replans, swept = 0;
    while (vm_admin_sweep_one(fx->admin))
        swept++;
    assert_int_equal(swept, 2);
    assert_int_equal(fx->replans, replans + 2);
    vfp_msg_t *reset = s_desired(fx, "h1");
    assert_true(reset->u.apply.revision > stale->u.apply.revision);
    uint8_t zero[6] = {0};
    assert_memory_equal(s_vf(reset, 0)->mac, zero, 6);
    vfp_msg_t *h2_after = s_desired(fx, "h2");
    assert_int_equal(h2_after->u.apply.revision, h2->u.apply.revision);
    vfp_msg_destroy(&stale);
    vfp_msg_destroy(&reset);
    vfp_msg_destroy(&h2);
    vfp_msg_destroy(&h2_after);
}

static vfp_msg_t *s_batch(fixture_t *fx, const char *body)
{
    return s_run(fx,
                 s_request("vm.create.batch", body, NULL, NULL, NULL, NULL));
}

static const char *s_result_text(json_t *results, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(results, i), key));
}

static void s_batch_stored(fixture_t *fx);

/* Each VM of a batch is placed in turn on what the ones before it left
 * (pack: h1's two VFs, then h2's), one that does not fit or exists does
 * not stop the others, and every result comes in request order. */
static void test_batch_places_each(void **state)
{
    fixture_t *fx = *state;
    vfp_msg_t *reply =
        s_batch(fx, "{\"vms\":["
                    "{\"name\":\"a\",\"memory_mib\":1024,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"prod\"}]},"
                    "{\"name\":\"b\",\"memory_mib\":1024,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"trunk\"}]},"
                    "{\"name\":\"a\",\"memory_mib\":1024,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"prod\"}]},"
                    "{\"name\":\"c\",\"memory_mib\":1024,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"prod\"},{\"network\":\"prod\"}]},"
                    "{\"name\":\"d\",\"memory_mib\":1024,\"vcpus\":1,"
                    "\"nics\":[{\"network\":\"prod\"}]}]}");
    json_t *body = s_body(reply);
    assert_int_equal(json_integer_value(json_object_get(body, "created")), 3);
    assert_int_equal(json_integer_value(json_object_get(body, "refused")), 2);
    json_t *results = json_object_get(body, "results");
    assert_int_equal(json_array_size(results), 5);
    static const char *const names[] = {"a", "b", "a", "c", "d"};
    static const char *const status[] = {"OK", "OK", "CONFLICT", "OK",
                                         "CONFLICT"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s_result_text(results, i, "name"), names[i]);
        assert_string_equal(s_result_text(results, i, "status"), status[i]);
    }
    json_t *a = json_object_get(json_array_get(results, 0), "vm");
    assert_string_equal(json_string_value(json_object_get(a, "host")), "h1");
    assert_string_equal(json_string_value(json_object_get(a, "state")),
                        "reserved");
    json_t *c = json_object_get(json_array_get(results, 3), "vm");
    assert_string_equal(json_string_value(json_object_get(c, "host")), "h2");
    assert_null(json_object_get(json_array_get(results, 2), "vm"));
    assert_string_equal(s_result_text(results, 2, "error"), "vm a exists");
    /* A name taken is the request's error: no detail per host. */
    assert_null(json_object_get(json_array_get(results, 2), "closest"));
    const char *d = s_result_text(results, 4, "error");
    assert_non_null(strstr(d, "no host fits vm d: "));
    json_t *reasons = json_object_get(json_array_get(results, 4), "reasons");
    assert_true(json_array_size(reasons) > 0);
    json_decref(body);
    vfp_msg_destroy(&reply);
    s_batch_stored(fx);
}

/* What test_batch_places_each's batch stored, counted and planned. */
static void s_batch_stored(fixture_t *fx)
{
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "c", &vm, &err), 0);
    assert_string_equal(vm.host, "h2");
    assert_int_equal(vm.nic_count, 2);
    assert_int_equal(db_vm_get(fx->db, "d", &vm, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(vm_admin_decided(fx->admin), 5);
    assert_int_equal(vm_admin_take_reserved(fx->admin), 3);
    assert_int_equal(vm_admin_decided(fx->admin), 0);
    /* Both hosts were planned with their VMs, and their agents' answers
     * place them. */
    s_agent_answers(fx, "h1", -1);
    s_agent_answers(fx, "h2", -1);
    assert_int_equal(db_vm_get(fx->db, "b", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
    assert_int_equal(db_vm_get(fx->db, "c", &vm, &err), 0);
    assert_int_equal(vm.state, DB_VM_PLACED);
}

/* A batch that does not read stores nothing, not even its good VMs. */
static void test_batch_invalid_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *body;
        const char *error;
    } cases[] = {
        {"{\"vms\":[{\"name\":\"a\",\"memory_mib\":1024,\"vcpus\":1,"
         "\"nics\":[{\"network\":\"prod\"}]},"
         "{\"name\":\"b\",\"memory_mib\":0,\"vcpus\":1,"
         "\"nics\":[{\"network\":\"prod\"}]}]}",
         "body: vms[1]: \"memory_mib\" must be a whole number from 1 to "
         "1099511627776"},
        {"{\"vms\":[], \"x\":1}", "body: unknown key \"x\""},
        {"{\"vms\":[]}", "body: \"vms\" must list 1 to 500 VMs"},
        {"{\"vms\":{}}", "body: \"vms\" must list 1 to 500 VMs"},
        {"[1]", "body: a JSON object {\"vms\": [...]} is needed"},
        {NULL, "body: a JSON object {\"vms\": [...]} is needed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vfp_msg_t *reply = s_batch(fx, cases[i].body);
        assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
        assert_non_null(strstr(reply->u.reply.error, cases[i].error));
        vfp_msg_destroy(&reply);
    }
    vfp_msg_t *reply = s_run(fx, s_request("vm.create.batch", "{\"vms\":[]}",
                                           "wait", "true", NULL, NULL));
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_string_equal(reply->u.reply.error,
                        "verb \"vm.create.batch\" has no parameter \"wait\"");
    vfp_msg_destroy(&reply);
    /* 501 VMs: refused before any is read. */
    char *big = malloc(501 * 8 + 16);
    assert_non_null(big);
    strcpy(big, "{\"vms\":[");
    for (int i = 0; i < 501; i++)
        strcat(big, i ? ",{}" : "{}");
    strcat(big, "]}");
    reply = s_batch(fx, big);
    free(big);
    assert_int_equal(reply->u.reply.status, VFP_ERR_INVALID);
    assert_string_equal(reply->u.reply.error,
                        "body: \"vms\" must list 1 to 500 VMs");
    vfp_msg_destroy(&reply);
    db_vm_t vm;
    db_err_t err;
    assert_int_equal(db_vm_get(fx->db, "a", &vm, &err), -1);
    assert_int_equal(err.code, DB_ERR_NOT_FOUND);
    assert_int_equal(vm_admin_take_reserved(fx->admin), 0);
    assert_int_equal(fx->replans, 0);
}

/* The largest batch: 500 refusals with names of 63 characters, each with
 * its detail per host, still make an answer that encodes. */
static void test_batch_largest_answer(void **state)
{
    fixture_t *fx = *state;
    size_t cap = 500 * 160 + 16, used = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    used += (size_t)snprintf(body, cap, "{\"vms\":[");
    for (int i = 0; i < 500; i++)
        used += (size_t)snprintf(
            body + used, cap - used,
            "%s{\"name\":\"%060d-vm\",\"memory_mib\":1099511627776,"
            "\"vcpus\":1,\"nics\":[{\"network\":\"prod\"}]}",
            i ? "," : "", i);
    snprintf(body + used, cap - used, "]}");
    vfp_msg_t *reply = s_batch(fx, body);
    free(body);
    json_t *answer = s_body(reply);
    assert_int_equal(json_integer_value(json_object_get(answer, "refused")),
                     500);
    json_t *last = json_array_get(json_object_get(answer, "results"), 499);
    assert_int_equal(json_array_size(json_object_get(last, "closest")), 2);
    json_decref(answer);
    uint8_t *bytes = NULL;
    size_t size = 0;
    vfp_decode_error_t derr;
    assert_int_equal(vfp_encode(reply, &bytes, &size, &derr), 0);
    assert_true(size < VFP_BODY_MAX);
    free(bytes);
    vfp_msg_destroy(&reply);
}

static void test_verbs_are_forwarded(void **state)
{
    (void)state;
    static const char *const verbs[] = {"vm.create",
                                        "vm.create.batch",
                                        "vm.delete",
                                        "vm.power",
                                        "vm.evacuate",
                                        "vm.nic.add",
                                        "vm.nic.remove",
                                        "host.cordon",
                                        "host.uncordon",
                                        "host.drain",
                                        NULL};
    for (const char *const *v = verbs; *v; v++) {
        assert_true(vm_admin_is_verb(*v));
        assert_true(admin_verb_on_main(*v));
    }
    assert_false(vm_admin_is_verb("vm.show"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_reserves_then_places,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wait_answered_at_stop, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_wait_answers_when_placed, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unplannable_host_fails_vms,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_failure_fails_vm, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_names_every_host, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_delete_releases, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_cordon_drain_power, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuilt_from_db, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_evacuate_cold, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_nic_add_remove, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_nic_change_undone_before_plan,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_nic_change_undone_after_failed_answer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plan, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_delta_matters, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_plan_delay, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recover_unplanned, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_host_down_before_plan, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unplannable_down_host_fails_vms,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_after_stop, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_places_each, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_invalid_stores_nothing,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_largest_answer, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_verbs_are_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
