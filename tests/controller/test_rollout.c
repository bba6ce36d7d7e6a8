/* test_rollout.c - the rollout engine through the agent handlers, on a
 * real SQLite file, without sockets: which APPLY goes out when, what an
 * APPLY_RESULT stores, drift rows and their correction, renumbering above
 * an agent that is ahead, and a restart that resumes from the db. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "policy.h"
#include "rollout.h"
#include "test_db_file.h"

/* Short enough to wait out, long enough that a test never outruns it. */
#define S_WINDOW_MS 1500

typedef struct {
    test_db_file_t file;
    db_t *db;
    sessions_t *sessions;
    agents_t *agents;
    rollout_t *rollout;
    zlistx_t *out;
    zframe_t *route;
    uint64_t generation;
} fixture_t;

/* The handlers and the engine over the open db, as a (re)started
 * controller makes them. */
static void s_start(fixture_t *fx)
{
    fx->sessions = sessions_new();
    agents_config_t cfg = {
        .heartbeat_ms = 100, .dead_after = 3, .controller_id = "ctl-test"};
    fx->agents = agents_new(fx->db, fx->sessions, &cfg);
    rollout_config_t rcfg = {.inflight_ms = S_WINDOW_MS};
    fx->rollout = rollout_new(fx->db, fx->sessions, &rcfg);
    agents_set_rollout(fx->agents, fx->rollout);
    char err[256];
    assert_int_equal(agents_load(fx->agents, err, sizeof(err)), 0);
    assert_int_equal(rollout_load(fx->rollout, err, sizeof(err)), 0);
}

static void s_stop(fixture_t *fx)
{
    agents_destroy(&fx->agents);
    rollout_destroy(&fx->rollout);
    sessions_destroy(&fx->sessions);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    test_db_file_make(&fx->file, "rollout");
    db_err_t err;
    fx->db = db_open(fx->file.path, &err);
    assert_non_null(fx->db);
    fx->out = agents_outbox_new();
    fx->route = zframe_new("route-1", 7);
    /* The host is known to the db before the controller starts. */
    vfp_hello_t hello = {.hostname = "hv-1", .proto_min = 1, .proto_max = 1};
    assert_int_equal(db_host_hello(fx->db, &hello, 1, 1, NULL, &err), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    s_stop(fx);
    zframe_destroy(&fx->route);
    zlistx_destroy(&fx->out);
    db_destroy(&fx->db);
    test_db_file_remove(&fx->file);
    free(fx);
    return 0;
}

/* Handles msg (taken) as one burst and commits it. */
static void s_burst(fixture_t *fx, vfp_msg_t *msg)
{
    agents_handle(fx->agents, fx->route, NULL, msg, fx->out);
    agents_commit(fx->agents, fx->out);
    vfp_msg_destroy(&msg);
}

/* Takes the one queued message, or NULL when none was queued. */
static vfp_msg_t *s_take(fixture_t *fx)
{
    if (zlistx_size(fx->out) == 0)
        return NULL;
    assert_int_equal(zlistx_size(fx->out), 1);
    agents_out_t *item = zlistx_first(fx->out);
    assert_true(zframe_eq(item->to, fx->route));
    vfp_msg_t *msg = item->msg;
    item->msg = NULL;
    zlistx_purge(fx->out);
    return msg;
}

/* Takes the one APPLY queued, checks its revision, returns its request
 * id. */
static uint32_t s_expect_apply(fixture_t *fx, uint64_t revision)
{
    vfp_msg_t *msg = s_take(fx);
    assert_non_null(msg);
    assert_int_equal(msg->id, VFP_APPLY);
    assert_int_equal(msg->u.apply.revision, revision);
    assert_int_equal(msg->u.apply.vf_count, 1);
    assert_int_equal(msg->u.apply.vfs[0].vlan, 10);
    uint32_t request_id = msg->request_id;
    assert_int_not_equal(request_id, 0);
    vfp_msg_destroy(&msg);
    return request_id;
}

static void s_expect_nothing(fixture_t *fx)
{
    assert_int_equal(zlistx_size(fx->out), 0);
}

/* One PF with 2 VFs, both on VLAN vf0_vlan / 10. */
static vfp_msg_t *s_inventory(fixture_t *fx, uint16_t vf0_vlan, bool full)
{
    vfp_msg_t *msg = vfp_msg_new(full ? VFP_INVENTORY : VFP_INVENTORY_DELTA);
    vfp_pf_t *pf = calloc(1, sizeof(*pf));
    assert_non_null(pf);
    snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:81:00.0");
    pf->total_vfs = 8;
    pf->num_vfs = 2;
    pf->vf_count = 2;
    pf->vfs = calloc(2, sizeof(*pf->vfs));
    assert_non_null(pf->vfs);
    for (uint16_t i = 0; i < 2; i++) {
        pf->vfs[i].index = i;
        pf->vfs[i].iommu_group = 10 + i;
        pf->vfs[i].settings_known = true;
        pf->vfs[i].vlan = 10;
    }
    pf->vfs[0].vlan = vf0_vlan;
    if (full) {
        msg->u.inventory.generation = ++fx->generation;
        snprintf(msg->u.inventory.host.hostname,
                 sizeof(msg->u.inventory.host.hostname), "hv-1");
        /* Room for a VM (test_vf_count_drift_under_a_vm). */
        msg->u.inventory.host.mem_total_kb = 64ull << 20;
        msg->u.inventory.pf_count = 1;
        msg->u.inventory.pfs = pf;
    } else {
        msg->u.delta.base_generation = fx->generation;
        msg->u.delta.generation = ++fx->generation;
        msg->u.delta.pf_count = 1;
        msg->u.delta.pfs = pf;
    }
    msg->request_id = 7;
    return msg;
}

static vfp_msg_t *s_heartbeat(fixture_t *fx, uint64_t applied)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HEARTBEAT);
    msg->u.heartbeat.generation = fx->generation;
    msg->u.heartbeat.applied_revision = applied;
    return msg;
}

/* HELLO (WELCOME taken), then a full inventory with VF 0 on vf0_vlan. */
static void s_join(fixture_t *fx, uint16_t vf0_vlan)
{
    vfp_msg_t *hello = vfp_msg_new(VFP_HELLO);
    snprintf(hello->u.hello.hostname, sizeof(hello->u.hello.hostname), "hv-1");
    hello->u.hello.proto_min = VFP_VERSION_MIN;
    hello->u.hello.proto_max = VFP_VERSION;
    s_burst(fx, hello);
    vfp_msg_t *welcome = s_take(fx);
    assert_non_null(welcome);
    assert_int_equal(welcome->id, VFP_WELCOME);
    vfp_msg_destroy(&welcome);
    s_burst(fx, s_inventory(fx, vf0_vlan, true));
}

/* Stores hv-1's desired state: PF with 2 VFs, VF 0 on VLAN 10, as if
 * planned from the latest stored policy (none: 0), so that joining does
 * not plan the host again. */
static void s_store_desired(fixture_t *fx, uint64_t revision)
{
    int64_t policy_revision = test_db_file_int(
        fx->file.path, "SELECT coalesce(max(revision), 0) FROM policies");
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY);
    vfp_apply_t *apply = &msg->u.apply;
    apply->revision = revision;
    apply->pf_count = 1;
    apply->pfs = calloc(1, sizeof(*apply->pfs));
    apply->vf_count = 1;
    apply->vfs = calloc(1, sizeof(*apply->vfs));
    assert_true(apply->pfs && apply->vfs);
    snprintf(apply->pfs[0].pf, sizeof(apply->pfs[0].pf), "0000:81:00.0");
    apply->pfs[0].num_vfs = 2;
    snprintf(apply->vfs[0].pf, sizeof(apply->vfs[0].pf), "0000:81:00.0");
    apply->vfs[0].set = VFP_SET_VLAN;
    apply->vfs[0].vlan = 10;
    apply->vfs[0].vlan_proto = VFP_VLAN_PROTO_8021Q;
    uint8_t *bytes = NULL;
    size_t size = 0;
    vfp_decode_error_t derr;
    if (vfp_encode(msg, &bytes, &size, &derr) != 0)
        fail_msg("%s: %s", derr.field, derr.text);
    db_err_t err;
    assert_int_equal(db_host_desired_set(fx->db, "hv-1", policy_revision,
                                         revision, bytes, size, 1000, &err),
                     0);
    free(bytes);
    vfp_msg_destroy(&msg);
}

static vfp_msg_t *s_result(uint64_t revision, uint32_t request_id, int err)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY_RESULT);
    msg->request_id = request_id;
    vfp_apply_result_t *r = &msg->u.apply_result;
    r->revision = revision;
    r->result_count = 2;
    r->results = calloc(2, sizeof(*r->results));
    assert_non_null(r->results);
    r->results[0].kind = VFP_ITEM_NUM_VFS;
    snprintf(r->results[0].pf, sizeof(r->results[0].pf), "0000:81:00.0");
    snprintf(r->results[0].attribute, sizeof(r->results[0].attribute),
             "num_vfs");
    r->results[1].kind = VFP_ITEM_VF;
    snprintf(r->results[1].pf, sizeof(r->results[1].pf), "0000:81:00.0");
    snprintf(r->results[1].attribute, sizeof(r->results[1].attribute), "vlan");
    r->results[1].err = err;
    snprintf(r->results[1].message, sizeof(r->results[1].message),
             err ? "kernel refused vlan 10" : "vlan 10");
    return msg;
}

static int s_status_copy(const db_apply_status_row_t *row, void *arg)
{
    *(db_apply_status_row_t *)arg = *row;
    return 0;
}

static db_apply_status_row_t s_status(fixture_t *fx)
{
    db_apply_status_row_t row = {0};
    db_err_t err;
    assert_int_equal(
        db_apply_status_list(fx->db, NULL, s_status_copy, &row, &err), 0);
    assert_string_equal(row.host, "hv-1");
    return row;
}

/* Marks revision confirmed, as an earlier controller would have. */
static void s_confirm(fixture_t *fx, uint64_t revision)
{
    vfp_msg_t *ok = s_result(revision, 1, 0);
    db_err_t err;
    assert_int_equal(db_apply_result_record(fx->db, "hv-1", revision,
                                            ok->u.apply_result.results, 2, 1000,
                                            &err),
                     0);
    vfp_msg_destroy(&ok);
}

static void test_join_sends_the_stored_desired_state(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 3);
    s_start(fx);
    s_join(fx, 10);
    s_expect_apply(fx, 3);
    /* A heartbeat still behind does not send it twice. */
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_nothing(fx);
}

static void test_join_when_applied_sends_nothing(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_nothing(fx);
    s_burst(fx, s_heartbeat(fx, 1));
    s_expect_nothing(fx);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM drift"), 0);
}

static void test_heartbeat_behind_sends_once_per_window(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_nothing(fx);
    /* The agent lost its state: its heartbeat is behind. */
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_apply(fx, 1);
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_nothing(fx);
    zclock_sleep(S_WINDOW_MS + 100);
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_apply(fx, 1);
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_nothing(fx);
}

static void test_result_ok_is_stored(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 2);
    s_start(fx);
    s_join(fx, 10);
    uint32_t request = s_expect_apply(fx, 2);
    s_burst(fx, s_result(2, request, 0));
    s_expect_nothing(fx);
    db_apply_status_row_t row = s_status(fx);
    assert_int_equal(row.state, DB_APPLY_OK);
    assert_int_equal(row.applied_revision, 2);
    assert_int_equal(row.ok_count, 2);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM events WHERE kind = 'apply-ok'"),
        1);
    /* Applied now: heartbeats that say so send nothing, even after the
     * window. */
    zclock_sleep(S_WINDOW_MS + 100);
    s_burst(fx, s_heartbeat(fx, 2));
    s_expect_nothing(fx);
}

static int s_failure_copy(const vfp_result_t *item, void *arg)
{
    *(vfp_result_t *)arg = *item;
    return 0;
}

static void test_result_failed_is_stored_with_the_item(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 2);
    s_start(fx);
    s_join(fx, 10);
    uint32_t request = s_expect_apply(fx, 2);
    s_burst(fx, s_result(2, request, EINVAL));
    db_apply_status_row_t row = s_status(fx);
    assert_int_equal(row.state, DB_APPLY_FAILED);
    assert_int_equal(row.applied_revision, 0);
    assert_int_equal(row.failed_count, 1);
    vfp_result_t item = {0};
    db_err_t err;
    assert_int_equal(
        db_apply_failures_list(fx->db, "hv-1", s_failure_copy, &item, &err), 0);
    assert_string_equal(item.attribute, "vlan");
    assert_int_equal(item.err, EINVAL);
    assert_int_equal(
        test_db_file_int(
            fx->file.path,
            "SELECT count(*) FROM events WHERE kind = 'apply-failed'"),
        1);
    /* Not applied: no drift correction loop, the heartbeat retries only
     * once the window passed. */
    s_burst(fx, s_heartbeat(fx, 0));
    s_expect_nothing(fx);
}

static void test_result_for_an_old_revision_stores_nothing(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_store_desired(fx, 2);
    s_start(fx);
    s_join(fx, 10);
    uint32_t request = s_expect_apply(fx, 2);
    s_burst(fx, s_result(1, request, 0));
    db_apply_status_row_t row = s_status(fx);
    assert_int_equal(row.state, DB_APPLY_PENDING);
    assert_int_equal(row.applied_revision, 0);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events WHERE "
                                      "kind LIKE 'apply-%'"),
                     0);
}

/* Stores text as the next policy revision. */
static void s_store_policy(fixture_t *fx, const char *text)
{
    char sha[65];
    memset(sha, 'a', 64);
    sha[64] = '\0';
    int64_t revision;
    db_err_t err;
    assert_int_equal(
        db_policy_store(fx->db, text, sha, "", "", "", 1000, &revision, &err),
        0);
}

/* hv-1 joined and in step with desired revision 1, under a policy with
 * the default drift mode (correct): nothing to send. */
static void s_joined_in_step(fixture_t *fx)
{
    s_store_policy(fx, "version: 1\n");
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_nothing(fx);
}

static void test_drift_is_stored_and_corrected(void **state)
{
    fixture_t *fx = *state;
    s_joined_in_step(fx);
    /* Someone sets VF 0 to VLAN 77 by hand; the agent reports it. */
    s_burst(fx, s_inventory(fx, 77, false));
    uint32_t request = s_expect_apply(fx, 1);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM drift WHERE pf = '0000:81:00.0'"
                         " AND idx = 0 AND attribute = 'vlan'"
                         " AND wanted = '10' AND has = '77'"),
        1);
    /* The kernel keeps VLAN 77 (the agent's rescan before it answers):
     * drift stays, and is not re-sent within the window. */
    s_burst(fx, s_inventory(fx, 77, false));
    s_expect_nothing(fx);
    s_burst(fx, s_result(1, request, 0));
    s_expect_nothing(fx);
    rollout_tick(fx->rollout, fx->out);
    s_expect_nothing(fx);
    zclock_sleep(S_WINDOW_MS + 100);
    rollout_tick(fx->rollout, fx->out);
    request = s_expect_apply(fx, 1);
    /* Repaired this time (rescan, then answer): the drift rows go. */
    s_burst(fx, s_inventory(fx, 10, false));
    s_burst(fx, s_result(1, request, 0));
    s_expect_nothing(fx);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM drift"), 0);
}

/* A delta that reports PF 0000:81:00.0 with num_vfs VFs enabled. */
static vfp_msg_t *s_num_vfs_delta(fixture_t *fx, uint16_t num_vfs)
{
    vfp_msg_t *msg = s_inventory(fx, 10, false);
    msg->u.delta.pfs[0].num_vfs = num_vfs;
    return msg;
}

/* VF-count drift on a PF one of whose VFs a VM holds is reported but not
 * corrected: the kernel changes the count only through 0, which would pull
 * the VF out of the guest (it was corrected, VM or not). Once the VM is
 * gone, the same drift is corrected. */
static void test_vf_count_drift_under_a_vm(void **state)
{
    fixture_t *fx = *state;
    s_joined_in_step(fx);
    db_vm_t vm = {.memory_mib = 1024, .vcpus = 1, .nic_count = 1};
    snprintf(vm.name, sizeof(vm.name), "web-1");
    snprintf(vm.host, sizeof(vm.host), "hv-1");
    snprintf(vm.nics[0].network, sizeof(vm.nics[0].network), "vlan10");
    snprintf(vm.nics[0].pf, sizeof(vm.nics[0].pf), "0000:81:00.0");
    vm.nics[0].mac[0] = 0x02;
    vm.nics[0].mac[5] = 0x01;
    db_err_t err;
    if (db_vm_reserve(fx->db, &vm, 2000, &err) != 0)
        fail_msg("%s", err.text);
    s_burst(fx, s_num_vfs_delta(fx, 3));
    s_expect_nothing(fx);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM drift WHERE attribute ="
                         " 'num_vfs' AND wanted = '2' AND has = '3'"),
        1);
    db_vm_t was;
    assert_int_equal(db_vm_delete(fx->db, "web-1", &was, &err), 0);
    s_burst(fx, s_num_vfs_delta(fx, 3));
    vfp_msg_t *msg = s_take(fx);
    assert_non_null(msg);
    assert_int_equal(msg->id, VFP_APPLY);
    assert_int_equal(msg->u.apply.pfs[0].num_vfs, 2);
    vfp_msg_destroy(&msg);
}

static void test_drift_is_only_reported_when_the_policy_says(void **state)
{
    fixture_t *fx = *state;
    static const char text[] = "version: 1\ndrift: report\n";
    policy_t *policy = policy_parse_buffer("p", text, strlen(text), NULL);
    bool parsed = policy && policy->drift == POLICY_DRIFT_REPORT;
    policy_destroy(&policy);
    if (!parsed)
        skip(); /* the policy language has no `drift:` key yet */
    s_store_policy(fx, text);
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_burst(fx, s_inventory(fx, 77, false));
    s_expect_nothing(fx);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM drift"), 1);
    rollout_tick(fx->rollout, fx->out);
    s_expect_nothing(fx);
}

static void test_agent_ahead_gets_a_higher_revision(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_nothing(fx);
    /* The db was replaced: the agent holds revision 5. */
    s_burst(fx, s_heartbeat(fx, 5));
    s_expect_apply(fx, 6);
    assert_int_equal(s_status(fx).revision, 6);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events"
                                      " WHERE kind = 'desired-renumbered'"),
                     1);
}

/* Revisions compare in serial-number arithmetic (PROTOCOL.md 7.4): a
 * revision more than 2^63 above the host's is behind it, not ahead, so the
 * host is sent its desired state as it is, not renumbered above a number
 * the agent itself takes for older. */
static void test_agent_far_above_is_behind(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_nothing(fx);
    s_burst(fx, s_heartbeat(fx, 1 + (UINT64_C(1) << 63) + 1));
    s_expect_apply(fx, 1);
    assert_int_equal(s_status(fx).revision, 1);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events"
                                      " WHERE kind = 'desired-renumbered'"),
                     0);
}

static void test_refused_as_older_gets_a_higher_revision(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    uint32_t request = s_expect_apply(fx, 1);
    /* An answer to another request changes nothing. */
    vfp_msg_t *error = vfp_msg_new(VFP_ERROR);
    error->request_id = request + 1;
    error->u.error.code = VFP_ERR_INVALID;
    snprintf(error->u.error.text, sizeof(error->u.error.text),
             "APPLY revision 1 is older than the stored desired state, "
             "revision 9; refused");
    s_burst(fx, error);
    s_expect_nothing(fx);
    error = vfp_msg_new(VFP_ERROR);
    error->request_id = request;
    error->u.error.code = VFP_ERR_INVALID;
    snprintf(error->u.error.text, sizeof(error->u.error.text),
             "APPLY revision 1 is older than the stored desired state, "
             "revision 9; refused");
    s_burst(fx, error);
    s_expect_apply(fx, 10);
    assert_int_equal(s_status(fx).revision, 10);
}

static void test_restarted_rollout_resends_on_join(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 4);
    s_start(fx);
    s_join(fx, 10);
    s_expect_apply(fx, 4);
    /* The controller restarts before the agent answered. */
    s_stop(fx);
    s_start(fx);
    s_join(fx, 10);
    s_expect_apply(fx, 4);
}

static void test_changed_desired_state_goes_at_once(void **state)
{
    fixture_t *fx = *state;
    s_store_desired(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_expect_apply(fx, 1);
    s_store_desired(fx, 2);
    rollout_desired_changed(fx->rollout, "hv-1", fx->out);
    s_expect_apply(fx, 2);
    /* An unknown host, or one without a session, gets nothing. */
    rollout_desired_changed(fx->rollout, "nope", fx->out);
    s_expect_nothing(fx);
}

/* A host that joins after a policy was applied is planned against it on
 * joining, and gets the plan at once; one the policy cannot be planned on
 * is refused alone, keeping no desired state. */
static void test_join_after_the_policy_plans_the_host(void **state)
{
    fixture_t *fx = *state;
    s_store_policy(fx, "version: 1\n"
                       "host_groups:\n"
                       "  - name: hv\n"
                       "    hosts: [hv-1]\n"
                       "    pfs:\n"
                       "      - pci_address: \"0000:81:00.0\"\n"
                       "        vfs: 2\n");
    s_start(fx);
    s_join(fx, 10);
    vfp_msg_t *msg = s_take(fx);
    assert_non_null(msg);
    assert_int_equal(msg->id, VFP_APPLY);
    assert_int_equal(msg->u.apply.revision, 1);
    assert_int_equal(msg->u.apply.pf_count, 1);
    assert_int_equal(msg->u.apply.pfs[0].num_vfs, 2);
    /* Free VFs get the clean default: VLAN 0. */
    assert_int_equal(msg->u.apply.vf_count, 2);
    assert_int_equal(msg->u.apply.vfs[0].vlan, 0);
    vfp_msg_destroy(&msg);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT policy_revision FROM "
                                      "host_desired"),
                     1);
    s_stop(fx);

    /* The next policy names a PF hv-1 does not have: refused alone. */
    s_store_policy(fx, "version: 1\n"
                       "host_groups:\n"
                       "  - name: hv\n"
                       "    hosts: [hv-1]\n"
                       "    pfs:\n"
                       "      - pci_address: \"0000:99:00.0\"\n"
                       "        vfs: 2\n");
    s_start(fx);
    s_join(fx, 10);
    assert_int_equal(
        test_db_file_int(fx->file.path,
                         "SELECT count(*) FROM host_refusals r JOIN hosts h "
                         "ON h.id = r.host_id WHERE h.name = 'hv-1' AND "
                         "r.policy_revision = 2"),
        1);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT revision FROM host_desired"),
        1);
    assert_int_equal(test_db_file_int(fx->file.path,
                                      "SELECT count(*) FROM events WHERE "
                                      "kind = 'policy-refused'"),
                     1);
}

/* An APPLY answered all ok with no inventory report while it was applied
 * leaves no drift to look for: the rows go without a database read of the
 * inventory, and nothing is sent again. */
static void test_ok_result_without_report_clears_drift(void **state)
{
    fixture_t *fx = *state;
    s_store_policy(fx, "version: 1\n");
    s_store_desired(fx, 1);
    s_confirm(fx, 1);
    s_start(fx);
    s_join(fx, 10);
    s_burst(fx, s_inventory(fx, 77, false));
    uint32_t request = s_expect_apply(fx, 1);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM drift"), 1);
    s_burst(fx, s_result(1, request, 0));
    s_expect_nothing(fx);
    assert_int_equal(
        test_db_file_int(fx->file.path, "SELECT count(*) FROM drift"), 0);
    zclock_sleep(S_WINDOW_MS + 100);
    rollout_tick(fx->rollout, fx->out);
    s_expect_nothing(fx);
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_join_sends_the_stored_desired_state),
        S_TEST(test_join_when_applied_sends_nothing),
        S_TEST(test_heartbeat_behind_sends_once_per_window),
        S_TEST(test_result_ok_is_stored),
        S_TEST(test_result_failed_is_stored_with_the_item),
        S_TEST(test_result_for_an_old_revision_stores_nothing),
        S_TEST(test_drift_is_stored_and_corrected),
        S_TEST(test_drift_is_only_reported_when_the_policy_says),
        S_TEST(test_vf_count_drift_under_a_vm),
        S_TEST(test_agent_ahead_gets_a_higher_revision),
        S_TEST(test_agent_far_above_is_behind),
        S_TEST(test_refused_as_older_gets_a_higher_revision),
        S_TEST(test_restarted_rollout_resends_on_join),
        S_TEST(test_changed_desired_state_goes_at_once),
        S_TEST(test_join_after_the_policy_plans_the_host),
        S_TEST(test_ok_result_without_report_clears_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
