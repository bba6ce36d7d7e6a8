/* fake_admin.c - vfleet-fake-admin: a stand-in for the controller's admin
 * API (controller/ADMIN.md) that vfleetctl's tests can steer: synthetic
 * listings served in pages with opaque "next" cursors, a log of every
 * request's parameters, hostile text, or no answer at all.
 *
 * usage: vfleet-fake-admin --endpoint EP [--rows N] [--page N] [--silent]
 *          [--hostile] [--stuck] [--log FILE] [--ready FILE]
 *          [--rollout MODE] [--policy FILE]
 *
 * --rows    rows in every listing (default 10)
 * --page    rows per page when the request has no limit or asks for the
 *           most, 10000 (default 3)
 * --silent  read requests and never answer
 * --hostile host names and event messages hold ESC, BEL, CSI and newlines
 * --stuck   every page's next cursor is "stuck", whatever came before
 * --log     append "VERB key=value ..." per request, in the order received
 *           (vm.create and plan: the body too, " body=JSON")
 * --ready   written once the socket is bound: the endpoint bound, so
 *           "tcp://127.0.0.1:*" tells the port the kernel chose
 * --rollout how policy.apply and policy.rollback go, on hosts esx-e1..3,
 *           each policy.status call after them one step further: ok (all
 *           apply, one more each step), failed (esx-e2 fails), stuck
 *           (esx-e3 never answers), refused (esx-e3 is refused), none
 *           (nothing changes), conflict and invalid (refused with a body)
 * --policy  the text policy.get serves as revision 2 (else NOT_FOUND)
 * --vm      the VM object (a JSON file) the VM verbs answer with, under
 *           the name asked for; vms lists --rows copies, vm-00, vm-01...
 *           vm.create steers by name: refuse-* is refused with reasons and
 *           closest hosts, exists-* exists, fail-* fails, slow-* stays
 *           reserved; with wait=true the others are placed. nosuch is
 *           unknown to every VM and host verb. vm.evacuate: refuse-* is
 *           refused as vm.create refuses it, on-* is powered on, the others
 *           go to the host asked for, else esx-e2. vm.nic.add appends the
 *           NIC (index 2), vm.nic.remove drops NIC index; on-* is powered
 *           on for both. plan: all fit, but when the first VM's name starts
 *           with full, the last one is refused with reasons and closest
 *           hosts; the fitting ones alternate esx-e1, esx-e2.
 * Runs until SIGTERM. */
#include <czmq.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_transport.h"

typedef struct {
    const char *endpoint;
    int rows, page;
    bool silent, hostile, stuck;
    const char *log, *ready;
    const char *rollout, *policy;
    json_t *vm;
} s_opts_t;

static s_opts_t s_opts = {.rows = 10, .page = 3, .rollout = "ok"};

/* policy.status calls since the last apply or rollback; -1: none yet (the
 * rollout is shown finished). */
static int s_polls = -1;

typedef struct {
    uint16_t status;
    char error[256];
    json_t *body;
} s_answer_t;

static const char *s_param(const vfp_request_t *req, const char *key)
{
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

static void s_fail(s_answer_t *answer, uint16_t status, const char *text)
{
    answer->status = status;
    snprintf(answer->error, sizeof(answer->error), "%s", text);
}

/* Cursors hold a space, a slash and base64 padding so that a client that
 * does not pass them back byte for byte is caught. */
static void s_cursor(int index, char *buf, size_t size)
{
    snprintf(buf, size, "pos %d/+=", index);
}

static json_t *s_row(const char *verb, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "host-%02d", i);
    if (strcmp(verb, "hosts") == 0)
        return json_pack(
            "{s:s, s:s, s:s, s:i, s:i, s:i, s:{s:b}, s:s, s:s, s:b}", "name",
            s_opts.hostile && i == 1 ? "evil\x1b[31m\nhost" : name, "state",
            "ready", "last_seen", "2026-11-25T08:38:40.123Z", "pfs", 1, "vfs",
            4, "vfs_free", 4, "iommu", "ready", 1, "cpu_virt", "vmx",
            "agent_version", "0.1.0", "cordoned", i == 9);
    if (strcmp(verb, "pfs") == 0)
        return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "host", name,
                         "pci_addr", "0000:05:00.0", "ifname", "ens2f0",
                         "num_vfs", 4, "total_vfs", 8, "state", "present");
    if (strcmp(verb, "vfs") == 0)
        return json_pack("{s:s, s:s, s:i, s:s, s:s}", "host", "host-00", "pf",
                         "0000:05:00.0", "index", i, "state", "free", "mac",
                         "02:00:00:00:00:01");
    if (strcmp(verb, "policy.history") == 0)
        return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "revision",
                         s_opts.rows - i, "sha256",
                         "1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f74"
                         "86eaf888b3c84cd7",
                         "message", i == 0 ? "" : "raise the vlan", "author",
                         "alice", "commit", "", "created_at",
                         "2026-11-30T15:00:00.000Z");
    if (strcmp(verb, "drift") == 0)
        return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "host", name,
                         "pf", "0000:3b:00.0", "vf", i, "attribute", "vlan",
                         "wanted", "10", "has", "77", "seen_at",
                         "2026-11-30T15:00:00.000Z");
    if (strcmp(verb, "vms") == 0) {
        json_t *vm = json_deep_copy(s_opts.vm);
        snprintf(name, sizeof(name), "vm-%02d", i);
        json_object_set_new(vm, "name", json_string(name));
        return vm;
    }
    char message[64];
    snprintf(message, sizeof(message), "event %d", i);
    return json_pack(
        "{s:i, s:s, s:s, s:s, s:s}", "id", i + 1, "at",
        "2026-11-25T08:41:18.086Z", "kind", "host-up", "host", name, "message",
        s_opts.hostile && i == 0 ? "bell\x07 title\x1b]0;pwned\x07 csi\xc2\x9b"
                                   "31m\nsecond line"
                                 : message);
}

/* Where a page starts: 0 without a cursor, after the named row with one;
 * -1 for a cursor this server never handed out. */
static int s_page_start(const char *verb, const char *after, int limit)
{
    if (!after)
        /* events without a cursor: the newest page (ADMIN.md). */
        return strcmp(verb, "events") == 0 && s_opts.rows > limit
                   ? s_opts.rows - limit
                   : 0;
    if ((strcmp(verb, "events") == 0 && strcmp(after, "0") == 0) ||
        (s_opts.stuck && strcmp(after, "stuck") == 0))
        return 0;
    for (int i = 0; i < s_opts.rows; i++) {
        char cursor[64];
        s_cursor(i, cursor, sizeof(cursor));
        if (strcmp(after, cursor) == 0)
            return i + 1;
    }
    return -1;
}

static void s_listing(const vfp_request_t *req, s_answer_t *answer)
{
    const char *text = s_param(req, "limit");
    int limit = text ? atoi(text) : s_opts.page;
    if (limit < 1 || limit > VFP_PAGE_LIMIT_MAX) {
        s_fail(answer, VFP_ERR_INVALID, "limit is not 1 to 10000");
        return;
    }
    /* Asked for the most a page may hold (what vfleetctl asks for a whole
     * listing), it gives --page rows: the client must follow the cursors
     * however few rows each page has. */
    if (limit == VFP_PAGE_LIMIT_MAX)
        limit = s_opts.page;
    const char *after = s_param(req, "after");
    int start = s_page_start(req->verb, after, limit);
    if (start < 0) {
        s_fail(answer, VFP_ERR_INVALID, "malformed cursor");
        return;
    }
    json_t *rows = json_array();
    int i;
    for (i = start; i < s_opts.rows && i < start + limit; i++)
        json_array_append_new(rows, s_row(req->verb, i));
    char cursor[64];
    s_cursor(i - 1, cursor, sizeof(cursor));
    if (s_opts.stuck)
        snprintf(cursor, sizeof(cursor), "stuck");
    /* events without a cursor answer the newest page only. */
    bool newest = !after && strcmp(req->verb, "events") == 0;
    bool more = i < s_opts.rows && !newest;
    const char *key =
        strcmp(req->verb, "policy.history") == 0 ? "policies" : req->verb;
    answer->body = json_pack("{s:o, s:o}", key, rows, "next",
                             more ? json_string(cursor) : json_null());
}

static void s_summary(const vfp_request_t *req, s_answer_t *answer)
{
    (void)req;
    answer->body = json_pack(
        "{s:s, s:s, s:i, s:s, s:i, s:{s:i, s:i, s:i, s:i}, s:i,"
        " s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:i}",
        "controller_id", "ctl-01", "version", "0.1.0", "schema_version", 2,
        "started", "2026-11-25T08:38:40.123Z", "heartbeat_ms", 2000, "hosts",
        "total", 3, "ready", 2, "down", 1, "connected", 2, "pfs", 6, "vfs",
        "total", 192, "free", 190, "reserved", 0, "assigned", 1, "broken", 0,
        "missing", 1, "vms", 1);
}

static void s_host(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    if (!name || strncmp(name, "host-", 5) != 0) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no host named that");
        return;
    }
    json_t *host = s_row("hosts", 0);
    json_object_set_new(host, "name", json_string(name));
    json_object_set_new(host, "labels",
                        json_pack("{s:s, s:s}", "rack", "r0", "zone", "z1"));
    json_object_set_new(host, "hugepages", json_array());
    json_object_set_new(host, "pf_list", json_pack("[o]", s_row("pfs", 0)));
    answer->body = json_pack("{s:o}", "host", host);
}

/* host.label on a host labelled rack=r0: the labels after the body's
 * change; the desired state changes when "role" does. */
static void s_host_label(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    if (!name || strncmp(name, "host-", 5) != 0) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no host named that");
        return;
    }
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    json_t *labels = json_pack("{s:s}", "rack", "r0");
    json_object_update(labels, json_object_get(body, "set"));
    bool role = json_object_get(json_object_get(body, "set"), "role");
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(body, "remove"), i, key)
    {
        role = role || strcmp(json_string_value(key), "role") == 0;
        json_object_del(labels, json_string_value(key));
    }
    json_decref(body);
    answer->body = json_pack("{s:s, s:o, s:b}", "host", name, "labels", labels,
                             "desired_changed", role);
}

/* ---- VMs --------------------------------------------------------------- */

/* The --vm object named name, or NOT_FOUND for "nosuch" and without --vm. */
static json_t *s_vm(const char *name, s_answer_t *answer)
{
    if (!s_opts.vm || !name || strcmp(name, "nosuch") == 0) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no vm named that");
        return NULL;
    }
    json_t *vm = json_deep_copy(s_opts.vm);
    json_object_set_new(vm, "name", json_string(name));
    return vm;
}

static void s_vm_show(const vfp_request_t *req, s_answer_t *answer)
{
    answer->body = s_vm(s_param(req, "name"), answer);
}

static void s_vm_power(const vfp_request_t *req, s_answer_t *answer)
{
    answer->body = s_vm(s_param(req, "name"), answer);
    if (answer->body)
        json_object_set_new(answer->body, "power",
                            json_string(s_param(req, "state")));
}

static void s_vm_migrate(const vfp_request_t *req, s_answer_t *answer)
{
    json_t *vm = s_vm(s_param(req, "name"), answer);
    if (!vm)
        return;
    json_decref(vm);
    snprintf(answer->error, sizeof(answer->error),
             "%s holds 1 SR-IOV VF on esx-e1 (ens3f0 VF 0): passthrough VMs "
             "are pinned; live migration is not possible",
             s_param(req, "name"));
    answer->status = VFP_ERR_CONFLICT;
}

static void s_vm_state(json_t *vm, const char *state, const char *error)
{
    json_object_set_new(vm, "state", json_string(state));
    json_object_set_new(vm, "error", json_string(error));
}

/* vm.create's CONFLICT body: reasons and closest hosts, one escaped. */
static json_t *s_refusal(void)
{
    return json_pack(
        "{s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}], s:[{s:s, s:s, s:s}]}",
        "reasons", "rule", "memory", "hosts", 41, "example",
        "memory 3.1 GiB free < 4 GiB", "rule", "nics", "hosts", 1, "example",
        "no PF carries vlan1", "closest", "host", "esx-e1[2J", "rule", "nics",
        "reason", "no PF carries vlan1");
}

static void s_vm_create(const vfp_request_t *req, s_answer_t *answer)
{
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *wait = s_param(req, "wait");
    if (!name) {
        s_fail(answer, VFP_ERR_INVALID, "name: missing");
    } else if (strncmp(name, "refuse", 6) == 0) {
        s_fail(answer, VFP_ERR_CONFLICT,
               "no host fits vm refuse-1: esx-e1: no PF carries vlan1; "
               "41 hosts: memory 3.1 GiB free < 4 GiB");
        answer->body = s_refusal();
    } else if (strncmp(name, "exists", 6) == 0) {
        snprintf(answer->error, sizeof(answer->error), "vm %s exists", name);
        answer->status = VFP_ERR_CONFLICT;
    } else {
        answer->body = s_vm(name, answer);
        bool waited = wait && strcmp(wait, "true") == 0;
        if (strncmp(name, "fail", 4) == 0)
            s_vm_state(answer->body, "failed", "vf 0 vlan: EINVAL");
        else if (waited && strncmp(name, "slow", 4) != 0)
            s_vm_state(answer->body, "placed", "");
        else
            s_vm_state(answer->body, "reserved", "");
    }
    json_decref(body);
}

/* The VM asked for, powered off, or NULL: NOT_FOUND, or CONFLICT for an
 * on-* VM, the error text then left to the caller. */
static json_t *s_vm_off(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    json_t *vm = s_vm(name, answer);
    if (vm && strncmp(name, "on", 2) == 0) {
        answer->status = VFP_ERR_CONFLICT;
        json_decref(vm);
        return NULL;
    }
    if (vm)
        json_object_set_new(vm, "power", json_string("off"));
    return vm;
}

static void s_vm_evacuate(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    const char *host = s_param(req, "host");
    if (name && strncmp(name, "refuse", 6) == 0) {
        s_fail(answer, VFP_ERR_CONFLICT,
               "no host fits vm refuse-1: esx-e1: no PF carries vlan1; "
               "41 hosts: memory 3.1 GiB free < 4 GiB");
        answer->body = s_refusal();
        return;
    }
    answer->body = s_vm_off(req, answer);
    if (answer->body)
        json_object_set_new(answer->body, "host",
                            json_string(host ? host : "esx-e2"));
    else if (answer->status == VFP_ERR_CONFLICT)
        snprintf(answer->error, sizeof(answer->error),
                 "vm %s on esx-e1 is powered on: power it off first (vm "
                 "power %s off); a cold evacuation needs it off or its host "
                 "down",
                 name, name);
}

/* The CONFLICT text for a NIC change of a powered-on VM. */
static void s_nic_powered_on(const vfp_request_t *req, s_answer_t *answer,
                             const char *change)
{
    const char *name = s_param(req, "name");
    snprintf(answer->error, sizeof(answer->error),
             "vm %s is powered on: an SR-IOV NIC cannot be %s a running VM; "
             "power it off first (vm power %s off)",
             name, change, name);
}

static void s_vm_nic_add(const vfp_request_t *req, s_answer_t *answer)
{
    answer->body = s_vm_off(req, answer);
    if (!answer->body) {
        if (answer->status == VFP_ERR_CONFLICT)
            s_nic_powered_on(req, answer, "hot-added to");
        return;
    }
    const char *mac = s_param(req, "mac");
    json_array_append_new(
        json_object_get(answer->body, "nics"),
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:b}", "index", 2,
                  "network", s_param(req, "network"), "mac",
                  mac ? mac : "02:76:66:00:00:03", "pf", "0000:3b:00.0",
                  "pf_ifname", "ens3f0", "vf", 1, "vf_pci", "0000:3b:02.1",
                  "vlan", 100, "trunk", false));
}

static void s_vm_nic_remove(const vfp_request_t *req, s_answer_t *answer)
{
    answer->body = s_vm_off(req, answer);
    if (!answer->body) {
        if (answer->status == VFP_ERR_CONFLICT)
            s_nic_powered_on(req, answer, "hot-removed from");
        return;
    }
    const char *index = s_param(req, "index");
    if (index)
        json_array_remove(json_object_get(answer->body, "nics"),
                          (size_t)atoi(index));
}

/* plan: every VM fits but, for a first name full-*, the last. */
static void s_plan(const vfp_request_t *req, s_answer_t *answer)
{
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    json_t *vms = json_object_get(body, "vms");
    const char *name =
        json_string_value(json_object_get(json_array_get(vms, 0), "name"));
    if (!name) {
        s_fail(answer, VFP_ERR_INVALID, "vms: missing");
        json_decref(body);
        return;
    }
    json_int_t count = json_integer_value(json_object_get(body, "count"));
    json_int_t requested = count ? count : (json_int_t)json_array_size(vms);
    bool full = strncmp(name, "full", 4) == 0;
    json_int_t fit = full ? requested - 1 : requested;
    answer->body = json_pack(
        "{s:I, s:I, s:[{s:s, s:I}, {s:s, s:I}], s:[], s:[], s:n}", "requested",
        requested, "fit", fit, "hosts", "host", "esx-e1", "vms", fit - fit / 2,
        "host", "esx-e2", "vms", fit / 2, "vms", "refused", "first_refusal");
    if (full) {
        json_t *first = s_refusal();
        json_object_set_new(first, "name", json_string("full-9"));
        json_object_set_new(
            first, "error",
            json_string("no host fits vm full-9: esx-e1: no PF carries vlan1"));
        json_object_set_new(answer->body, "first_refusal", first);
    }
    json_decref(body);
}

/* host.cordon, uncordon, drain on host-* hosts; drain lists two VMs, one
 * still on. */
static void s_host_cordon(const vfp_request_t *req, s_answer_t *answer)
{
    const char *name = s_param(req, "name");
    if (!name || strncmp(name, "host-", 5) != 0) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no host named that");
        return;
    }
    bool cordoned = strcmp(req->verb, "host.uncordon") != 0;
    answer->body = json_pack("{s:s, s:b}", "host", name, "cordoned", cordoned);
    if (strcmp(req->verb, "host.drain") == 0) {
        json_object_set_new(answer->body, "vms",
                            json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]",
                                      "name", "web-1", "power", "on", "state",
                                      "placed", "name", "web-2", "power", "off",
                                      "state", "placed"));
        json_object_set_new(answer->body, "power_off_first",
                            json_pack("[s]", "web-1"));
    }
}

/* ---- policy rollout ---------------------------------------------------- */

static bool s_mode(const char *mode)
{
    return strcmp(s_opts.rollout, mode) == 0;
}

/* Host i's state at the current step. */
static const char *s_host_state(int i)
{
    int step = s_polls < 0 ? 99 : s_polls;
    if (i == 1 && s_mode("failed") && step >= 2)
        return "failed";
    if (i == 2 && s_mode("stuck"))
        return "pending";
    if (i == 2 && s_mode("refused"))
        return "refused";
    if (s_mode("ok") || s_mode("failed"))
        return step > i ? "ok" : "pending";
    return step >= 1 ? "ok" : "pending";
}

static json_t *s_status_row(int i)
{
    char name[32];
    snprintf(name, sizeof(name), "esx-e%d", i + 1);
    const char *state = s_host_state(i);
    bool failed = strcmp(state, "failed") == 0;
    bool pending = strcmp(state, "pending") == 0;
    json_t *failures = json_array();
    if (failed)
        json_array_append_new(
            failures,
            json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:s}", "kind", "vf", "pf",
                      "0000:3b:00.0", "vf", 1, "attribute", "vlan", "err", 22,
                      "errno", "EINVAL", "message", "vlan 5000 out of range"));
    /* esx-e1 has drifted. */
    json_t *drift = json_array();
    if (i == 0)
        json_array_append_new(drift,
                              json_pack("{s:s, s:i, s:s, s:s, s:s}", "pf",
                                        "0000:3b:00.0", "vf", 0, "attribute",
                                        "vlan", "wanted", "10", "has", "77"));
    return json_pack(
        "{s:s, s:s, s:i, s:i, s:i, s:b, s:s, s:o, s:i, s:i, s:i, s:o, s:i,"
        " s:o, s:i}",
        "host", name, "state", state, "desired_revision", 5, "applied_revision",
        strcmp(state, "ok") == 0 ? 5 : 4, "policy_revision", 3, "connected",
        i != 2, "sent_at", "2026-11-30T15:00:00.000Z", "answered_at",
        pending ? json_null() : json_string("2026-11-30T15:00:01.000Z"),
        "pending_ms", pending ? 1500 + 250 * (s_polls < 0 ? 0 : s_polls) : 0,
        "ok_items", failed ? 9 : 10, "failed_items", failed ? 1 : 0, "failures",
        failures, "failures_more", 0, "drift", drift, "drift_more", 0);
}

static void s_policy_status(const vfp_request_t *req, s_answer_t *answer)
{
    const char *host = s_param(req, "host");
    const char *state = s_param(req, "state");
    const char *summary = s_param(req, "summary");
    json_t *counts =
        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "hosts", 3, "ok", 0,
                  "failed", 0, "pending", 0, "refused", 0, "drifted", 0);
    json_t *rows = json_array();
    for (int i = 0; i < 3; i++) {
        json_t *row = s_status_row(i);
        const char *st = json_string_value(json_object_get(row, "state"));
        json_object_set_new(
            counts, st,
            json_integer(json_integer_value(json_object_get(counts, st)) + 1));
        const char *name = json_string_value(json_object_get(row, "host"));
        if ((summary && strcmp(summary, "true") == 0) ||
            (host && strcmp(host, name) != 0) ||
            (state && strcmp(state, st) != 0))
            json_decref(row);
        else
            json_array_append_new(rows, row);
    }
    answer->body =
        json_pack("{s:{s:i, s:s, s:s, s:s, s:s, s:s}, s:o, s:o, s:n}", "policy",
                  "revision", 3, "sha256",
                  "1a49cd59c660f878d9a63d3fdddef09662f96f9424c7"
                  "9f7486eaf888b3c84cd7",
                  "message", "raise the vlan", "author", "alice", "commit", "",
                  "created_at", "2026-11-30T15:00:00.000Z", "counts", counts,
                  "hosts", rows, "next");
    /* The next summary poll sees the rollout one step further. */
    if (summary && strcmp(summary, "true") == 0 && s_polls >= 0)
        s_polls++;
}

/* The answer of policy.apply and policy.rollback in every mode. */
static void s_policy_change(const vfp_request_t *req, s_answer_t *answer,
                            int revision)
{
    if (s_mode("conflict")) {
        s_fail(answer, VFP_ERR_CONFLICT,
               "policy conflicts with the inventory: 2 conflicts; first: "
               "esx-e1: pf 0000:3b:00.0: 64 VFs asked, 32 supported");
        answer->body =
            json_pack("{s:[s, s]}", "conflicts",
                      "esx-e1: pf 0000:3b:00.0: 64 VFs asked, 32 supported",
                      "esx-e2: pf 0000:3b:00.0: 64 VFs asked, 16 supported");
        return;
    }
    if (s_mode("invalid")) {
        s_fail(answer, VFP_ERR_INVALID,
               "policy rejected: 1 errors; first: policy.yaml:4:7: unknown "
               "network 'prod'");
        answer->body = json_pack("{s:[s]}", "errors",
                                 "policy.yaml:4:7: unknown network 'prod'");
        return;
    }
    const char *dry = s_param(req, "dry_run");
    bool dry_run = dry && strcmp(dry, "true") == 0;
    bool none = s_mode("none");
    if (!dry_run && !none)
        s_polls = 0;
    json_t *hosts = json_array();
    for (int i = 0; i < 2 && !none; i++) {
        char name[32], change[128];
        snprintf(name, sizeof(name), "esx-e%d", i + 1);
        snprintf(change, sizeof(change),
                 "%s: pf 0000:3b:00.0: vf 0 vlan 1 -> 10", name);
        json_array_append_new(hosts,
                              json_pack("{s:s, s:i, s:[s], s:i}", "host", name,
                                        "desired_revision", 5, "changes",
                                        change, "changes_more", i));
    }
    json_t *refused = json_array();
    if (s_mode("refused"))
        json_array_append_new(
            refused, json_pack("{s:s, s:s}", "host", "esx-e3", "reason",
                               "pf 0000:3b:00.0: VF count 4 -> 8 while VFs "
                               "are in use"));
    answer->body = json_pack(
        "{s:b, s:i, s:s, s:b, s:i, s:i, s:o, s:o, s:[s], s:i}", "dry_run",
        dry_run, "revision", revision, "sha256",
        "1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f7486eaf888b3c84cd7",
        "unchanged", none, "hosts_total", 3, "hosts_changed", none ? 0 : 2,
        "hosts", hosts, "refused", refused, "warnings",
        "policy.yaml:9:5: mac pool pool-a: 4 addresses left", "hosts_omitted",
        0);
}

static void s_policy_apply(const vfp_request_t *req, s_answer_t *answer)
{
    s_policy_change(req, answer, 3);
}

static void s_policy_rollback(const vfp_request_t *req, s_answer_t *answer)
{
    const char *rev = s_param(req, "revision");
    if (!rev || atoi(rev) < 1 || atoi(rev) > 3) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no policy revision");
        return;
    }
    s_policy_change(req, answer, 4);
}

static void s_policy_get(const vfp_request_t *req, s_answer_t *answer)
{
    (void)req;
    FILE *f = s_opts.policy ? fopen(s_opts.policy, "r") : NULL;
    if (!f) {
        s_fail(answer, VFP_ERR_NOT_FOUND, "no policy stored");
        return;
    }
    char text[65536];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    answer->body = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "revision", 2, "sha256",
        "1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f7486eaf888b3c84cd7",
        "message", "", "author", "alice", "commit", "", "created_at",
        "2026-11-30T15:00:00.000Z", "text", text);
}

static const struct {
    const char *verb;
    const char *params[8];
    void (*fn)(const vfp_request_t *, s_answer_t *);
} s_verbs[] = {
    {"summary", {NULL}, s_summary},
    {"host", {"name", NULL}, s_host},
    {"host.label", {"name", NULL}, s_host_label},
    {"hosts", {"limit", "after", NULL}, s_listing},
    {"pfs", {"host", "limit", "after", NULL}, s_listing},
    {"vfs", {"host", "pf", "state", "limit", "after", NULL}, s_listing},
    {"events", {"since", "limit", "after", NULL}, s_listing},
    {"drift", {"host", "limit", "after", NULL}, s_listing},
    {"policy.history", {"limit", "after", NULL}, s_listing},
    {"policy.status",
     {"host", "state", "summary", "limit", "after", NULL},
     s_policy_status},
    {"policy.get", {"revision", NULL}, s_policy_get},
    {"vm.create", {"wait", "timeout", NULL}, s_vm_create},
    {"vm.show", {"name", NULL}, s_vm_show},
    {"vm.delete", {"name", NULL}, s_vm_show},
    {"vm.power", {"name", "state", NULL}, s_vm_power},
    {"vm.migrate", {"name", "host", NULL}, s_vm_migrate},
    {"vm.evacuate", {"name", "cold", "host", NULL}, s_vm_evacuate},
    {"vm.nic.add", {"name", "network", "mac", NULL}, s_vm_nic_add},
    {"vm.nic.remove", {"name", "index", NULL}, s_vm_nic_remove},
    {"plan", {NULL}, s_plan},
    {"vms", {"host", "state", "limit", "after", NULL}, s_listing},
    {"host.cordon", {"name", NULL}, s_host_cordon},
    {"host.uncordon", {"name", NULL}, s_host_cordon},
    {"host.drain", {"name", NULL}, s_host_cordon},
    {"policy.apply",
     {"source", "message", "author", "commit", "dry_run", NULL},
     s_policy_apply},
    {"policy.rollback",
     {"revision", "message", "author", "dry_run", NULL},
     s_policy_rollback},
};

/* Like the controller: unknown verbs and parameters are refused. */
static void s_answer(const vfp_request_t *req, s_answer_t *answer)
{
    for (size_t v = 0; v < sizeof(s_verbs) / sizeof(s_verbs[0]); v++) {
        if (strcmp(s_verbs[v].verb, req->verb) != 0)
            continue;
        for (uint32_t i = 0; i < req->param_count; i++) {
            bool known = false;
            for (const char *const *p = s_verbs[v].params; *p; p++)
                known = known || strcmp(*p, req->params[i].key) == 0;
            if (!known) {
                s_fail(answer, VFP_ERR_INVALID, "unknown parameter");
                return;
            }
        }
        s_verbs[v].fn(req, answer);
        return;
    }
    s_fail(answer, VFP_ERR_UNKNOWN_VERB, "unknown verb");
}

static void s_log(const vfp_request_t *req)
{
    if (!s_opts.log)
        return;
    FILE *f = fopen(s_opts.log, "a");
    assert(f);
    fputs(req->verb, f);
    for (uint32_t i = 0; i < req->param_count; i++)
        fprintf(f, " %s=%s", req->params[i].key, req->params[i].value);
    /* vm.create's and plan's bodies are built from options and files: the
     * test reads them whole. */
    if (req->body_len &&
        (strcmp(req->verb, "vm.create") == 0 || strcmp(req->verb, "plan") == 0))
        fprintf(f, " body=%.*s", (int)req->body_len, req->body);
    else if (req->body_len)
        fprintf(f, " body_len=%u", req->body_len);
    fputc('\n', f);
    fclose(f);
}

static void s_serve(zsock_t *sock, zframe_t *routing_id, vfp_msg_t *msg)
{
    s_answer_t answer = {.status = VFP_OK};
    s_answer(&msg->u.request, &answer);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->request_id = msg->request_id;
    reply->u.reply.status = answer.status;
    snprintf(reply->u.reply.error, sizeof(reply->u.reply.error), "%s",
             answer.error);
    if (answer.body) {
        reply->u.reply.body = json_dumps(answer.body, JSON_COMPACT);
        reply->u.reply.body_len = (uint32_t)strlen(reply->u.reply.body);
        json_decref(answer.body);
    }
    vfp_decode_error_t err;
    if (vfp_send(sock, routing_id, reply, &err) != 0)
        fprintf(stderr, "fake-admin: cannot send: %s %s\n", err.field,
                err.text);
    vfp_msg_destroy(&reply);
}

static void s_parse(int argc, char **argv)
{
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"rows", required_argument, NULL, 'r'},
        {"page", required_argument, NULL, 'p'},
        {"silent", no_argument, NULL, 's'},
        {"hostile", no_argument, NULL, 'x'},
        {"stuck", no_argument, NULL, 'S'},
        {"log", required_argument, NULL, 'l'},
        {"ready", required_argument, NULL, 'R'},
        {"rollout", required_argument, NULL, 'o'},
        {"policy", required_argument, NULL, 'P'},
        {"vm", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'e':
            s_opts.endpoint = optarg;
            break;
        case 'r':
            s_opts.rows = atoi(optarg);
            break;
        case 'p':
            s_opts.page = atoi(optarg);
            break;
        case 's':
            s_opts.silent = true;
            break;
        case 'x':
            s_opts.hostile = true;
            break;
        case 'S':
            s_opts.stuck = true;
            break;
        case 'l':
            s_opts.log = optarg;
            break;
        case 'R':
            s_opts.ready = optarg;
            break;
        case 'o':
            s_opts.rollout = optarg;
            break;
        case 'P':
            s_opts.policy = optarg;
            break;
        case 'v':
            s_opts.vm = json_load_file(optarg, 0, NULL);
            if (!s_opts.vm) {
                fprintf(stderr, "fake-admin: cannot read %s\n", optarg);
                exit(2);
            }
            break;
        default:
            exit(2);
        }
    }
    if (!s_opts.endpoint || s_opts.rows < 0 || s_opts.page < 1) {
        fprintf(stderr, "usage: vfleet-fake-admin --endpoint EP [...]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    s_parse(argc, argv);
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    assert(sock);
    zsock_set_rcvtimeo(sock, 100);
    if (zsock_bind(sock, "%s", s_opts.endpoint) < 0) {
        fprintf(stderr, "fake-admin: cannot bind %s\n", s_opts.endpoint);
        return 1;
    }
    if (s_opts.ready) {
        FILE *f = fopen(s_opts.ready, "w");
        assert(f);
        fprintf(f, "%s\n", zsock_endpoint(sock));
        fclose(f);
    }
    while (!zsys_interrupted) {
        zframe_t *routing_id = NULL;
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_recv(sock, &routing_id, &err);
        if (msg && msg->id == VFP_REQUEST) {
            s_log(&msg->u.request);
            if (!s_opts.silent)
                s_serve(sock, routing_id, msg);
        }
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
    }
    zsock_destroy(&sock);
    json_decref(s_opts.vm);
    return 0;
}
