/* vm_admin.c - placing, releasing and powering VMs, and cordoning and
 * draining hosts: the admin write verbs over the placement index, each
 * committed before it is answered. */
#include "vm_admin.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_request.h"
#include "controller_internal.h"
#include "pending.h"
#include "placement.h"
#include "stats.h"
#include "vfp_log.h"
#include "vm_json.h"
#include "vm_request.h"

struct vm_admin_t {
    db_t *db;
    vm_index_t *index;
    vm_admin_config_t cfg;
    pending_t *waits;
    /* Hosts to plan again, oldest first, each once: name -> its item in
     * `order`, a s_dirty_t. */
    zhashx_t *dirty;
    zlistx_t *order;
    /* Hosts to plan once after start (vm_admin_recover), by name. */
    zlistx_t *sweep;
    /* Reservations made since vm_admin_take_reserved last asked: metrics
     * count them once their transaction is committed. */
    size_t reserved;
    /* Placements decided (reserved or refused) since then. */
    size_t decided;
};

/* A host to plan again and since when (zclock_mono). */
typedef struct {
    int64_t since;
    char name[];
} s_dirty_t;

/* One request's answer under construction: its body as a tree, or
 * (text) already written. */
typedef struct {
    vfp_errcode_t status;
    char error[VFP_TEXT_MAX + 1];
    json_t *body;
    char *text;
} s_run_t;

static int s_fail(s_run_t *run, vfp_errcode_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(s_run_t *run, vfp_errcode_t status, const char *fmt, ...)
{
    run->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    vfp_utf8_trim(run->error);
    return -1;
}

static int s_fail_db(s_run_t *run, const db_err_t *err)
{
    run->status =
        admin_request_db_error(err, "VM write", run->error, sizeof(run->error));
    return -1;
}

static void s_dirty_free(void **item)
{
    free(*item);
    *item = NULL;
}

vm_admin_t *vm_admin_new(db_t *db, vm_index_t *index,
                         const vm_admin_config_t *cfg)
{
    vm_admin_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->db = db;
    self->index = index;
    self->cfg = *cfg;
    if (!self->cfg.waits_max)
        self->cfg.waits_max = VM_ADMIN_WAITS_MAX;
    self->waits =
        pending_new(self->cfg.waits_max, (int64_t)VM_ADMIN_WAIT_MAX_S * 1000);
    self->dirty = zhashx_new();
    self->order = zlistx_new();
    self->sweep = zlistx_new();
    assert(self->waits && self->dirty && self->order && self->sweep);
    zlistx_set_destructor(self->order, s_dirty_free);
    zlistx_set_duplicator(self->sweep, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(self->sweep, (zlistx_destructor_fn *)zstr_free);
    return self;
}

static vfp_msg_t *s_reply_new(uint8_t version, uint32_t request_id,
                              s_run_t *run)
{
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = version;
    reply->request_id = request_id;
    reply->u.reply.status = (uint16_t)run->status;
    snprintf(reply->u.reply.error, sizeof(reply->u.reply.error), "%s",
             run->error);
    if (run->text) {
        reply->u.reply.body = run->text;
        reply->u.reply.body_len = (uint32_t)strlen(run->text);
        run->text = NULL;
    } else if (run->body) {
        reply->u.reply.body = json_dumps(run->body, JSON_COMPACT);
        assert(reply->u.reply.body);
        reply->u.reply.body_len = (uint32_t)strlen(reply->u.reply.body);
        json_decref(run->body);
        run->body = NULL;
    }
    return reply;
}

/* Answers a parked request with the VM as stored now. */
static void s_answer_wait(vm_admin_t *self, pending_entry_t *entry,
                          const char *name, const char *note)
{
    s_run_t run = {.status = VFP_OK};
    db_vm_t vm;
    db_err_t err;
    if (note)
        s_fail(&run, VFP_ERR_INTERNAL, "%s", note);
    else if (db_vm_get(self->db, name, &vm, &err) != 0)
        s_fail_db(&run, &err);
    else
        run.body = vm_json(&vm, vm_index_policy(self->index));
    vfp_msg_t *reply = s_reply_new(entry->version, entry->request_id, &run);
    self->cfg.answer(self->cfg.arg, &entry->routing_id, &reply);
    zframe_destroy(&entry->routing_id);
    vfp_msg_destroy(&reply);
}

void vm_admin_destroy(vm_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vm_admin_t *self = *self_p;
    /* A waiting vm.create is stored already: at a stop it is answered
     * with the VM as stored, as when its timeout passes (it was answered
     * INTERNAL "the controller is stopping", which read as not stored). */
    vm_admin_expire(self, INT64_MAX);
    pending_destroy(&self->waits);
    zhashx_destroy(&self->dirty);
    zlistx_destroy(&self->order);
    zlistx_destroy(&self->sweep);
    free(self);
    *self_p = NULL;
}

size_t vm_admin_waiting(vm_admin_t *self)
{
    return pending_size(self->waits);
}

static void s_dirty(vm_admin_t *self, const char *host)
{
    if (!host || !host[0] || zhashx_lookup(self->dirty, host))
        return;
    size_t len = strlen(host) + 1;
    s_dirty_t *item = malloc(sizeof(*item) + len);
    assert(item);
    item->since = zclock_mono();
    memcpy(item->name, host, len);
    zhashx_insert(self->dirty, host, zlistx_add_end(self->order, item));
}

static void s_wait_key(const char *name, char *key, size_t len)
{
    snprintf(key, len, "vm:%s", name);
}

/* Answers every request waiting for the VM. */
static void s_wake(vm_admin_t *self, const char *name)
{
    char key[VFP_NAME_MAX * 2 + 1];
    s_wait_key(name, key, sizeof(key));
    pending_entry_t entry;
    while (pending_take(self->waits, key, &entry) == 0)
        s_answer_wait(self, &entry, name, NULL);
}

void vm_admin_expire(vm_admin_t *self, int64_t now_mono)
{
    pending_entry_t entry;
    while (pending_expire(self->waits, now_mono, &entry) == 0)
        s_answer_wait(self, &entry, entry.key + 3, NULL);
}

/* ---- vm.create ---------------------------------------------------------- */

/* A create request read from its body; the strings point into `body`. */
typedef struct {
    json_t *body;
    placement_request_t req;
    bool wait;
    int64_t timeout_ms;
} s_create_t;

/* wait and timeout, the request's parameters. */
static int s_wait_parse(const vfp_request_t *request, s_create_t *create,
                        s_run_t *run)
{
    static const char *const allowed[] = {"wait", "timeout", NULL};
    const char *unknown = admin_request_unknown(request, allowed);
    if (unknown)
        return s_fail(run, VFP_ERR_INVALID,
                      "verb \"%s\" has no parameter \"%s\"", request->verb,
                      unknown);
    const char *wait = admin_request_param(request, "wait");
    const char *timeout = admin_request_param(request, "timeout");
    if (wait && strcmp(wait, "true") != 0 && strcmp(wait, "false") != 0)
        return s_fail(run, VFP_ERR_INVALID, "wait \"%s\" is not true or false",
                      wait);
    create->wait = wait && strcmp(wait, "true") == 0;
    int64_t seconds = VM_ADMIN_WAIT_DEFAULT_S;
    if (timeout &&
        admin_request_int(timeout, 1, VM_ADMIN_WAIT_MAX_S, &seconds) != 0)
        return s_fail(run, VFP_ERR_INVALID,
                      "timeout \"%s\" is not a number of seconds from 1 to %d",
                      timeout, VM_ADMIN_WAIT_MAX_S);
    create->timeout_ms = seconds * 1000;
    return 0;
}

static int s_create_parse(const vfp_request_t *request, s_create_t *create,
                          s_run_t *run)
{
    json_error_t jerr;
    create->body = request->body_len
                       ? json_loadb(request->body, request->body_len, 0, &jerr)
                       : NULL;
    if (!json_is_object(create->body))
        return s_fail(run, VFP_ERR_INVALID,
                      "body: a JSON object with the VM is needed");
    if (s_wait_parse(request, create, run) != 0)
        return -1;
    if (vm_request_parse(create->body, "body", &create->req, run->error) != 0) {
        run->status = VFP_ERR_INVALID;
        return -1;
    }
    return 0;
}

/* The reservation as the database stores it. */
static void s_vm_from(const placement_request_t *req,
                      const placement_decision_t *decision, db_vm_t *vm)
{
    memset(vm, 0, sizeof(*vm));
    snprintf(vm->name, sizeof(vm->name), "%s", req->name);
    vm->memory_mib = decision->memory_mib;
    vm->vcpus = req->vcpus;
    snprintf(vm->host, sizeof(vm->host), "%s", decision->host);
    snprintf(vm->group, sizeof(vm->group), "%s", req->group ? req->group : "");
    snprintf(vm->numa, sizeof(vm->numa), "%s", placement_numa_name(req->numa));
    vm->separate_pfs = req->separate_pfs;
    snprintf(vm->pin, sizeof(vm->pin), "%s", req->host ? req->host : "");
    vm->state = DB_VM_RESERVED;
    vm->power = DB_VM_POWER_UNKNOWN;
    vm->nic_count = (uint32_t)decision->nic_count;
    for (size_t i = 0; i < decision->nic_count; i++) {
        const placement_nic_t *from = &decision->nics[i];
        db_vm_nic_t *nic = &vm->nics[i];
        snprintf(nic->network, sizeof(nic->network), "%s", from->network);
        memcpy(nic->mac, from->mac, sizeof(nic->mac));
        snprintf(nic->pf, sizeof(nic->pf), "%s", from->pf);
        nic->vf = from->vf;
        snprintf(nic->pf_ifname, sizeof(nic->pf_ifname), "%s", from->pf_ifname);
        snprintf(nic->vf_pci, sizeof(nic->vf_pci), "%s", from->vf_pci);
    }
}

/* Decides, commits and indexes the reservation; *vm is what was stored. */
/* What placement refuses is a CONFLICT (ADMIN.md, vm.create): its text
 * the refusal's, and the body the detail per host, which a request error
 * (a name taken, a network the policy lacks) has none of. */
static void s_refused(s_run_t *run, const placement_refusal_t *why)
{
    s_fail(run, VFP_ERR_CONFLICT, "%s", placement_refusal_text(why));
    if (!placement_refusal_is_request(why))
        run->body = vm_request_refusal_json(why);
}

static int s_reserve(vm_admin_t *self, const s_create_t *create, db_vm_t *vm,
                     s_run_t *run)
{
    placement_decision_t decision;
    placement_refusal_t *why = NULL;
    self->decided++;
    if (placement_decide(vm_index_placement(self->index), &create->req,
                         &decision, &why) != 0) {
        bool request = placement_refusal_is_request(why);
        s_refused(run, why);
        stats_placement(request ? "invalid" : "refused",
                        placement_refusal_closest_count(why)
                            ? (int)placement_refusal_closest_rule(why, 0)
                            : PLACEMENT_RULE_REQUEST);
        placement_refusal_destroy(&why);
        return -1;
    }
    s_vm_from(&create->req, &decision, vm);
    db_err_t err;
    vm->created_at_ms = controller_now_ms();
    if (db_vm_reserve(self->db, vm, vm->created_at_ms, &err) != 0)
        return s_fail_db(run, &err);
    vm_index_vm_put(self->index, vm);
    s_dirty(self, vm->host);
    self->reserved++;
    controller_event(self->db, "vm-reserved", vm->host,
                     "vm %s: %u NICs, %" PRIu64 " MiB reserved", vm->name,
                     vm->nic_count, vm->memory_mib);
    return 0;
}

static void s_create(vm_admin_t *self, const vfp_msg_t *msg, zframe_t **client,
                     s_run_t *run, bool *parked)
{
    s_create_t create = {0};
    db_vm_t vm;
    if (s_create_parse(&msg->u.request, &create, run) != 0)
        stats_placement("invalid", PLACEMENT_RULE_REQUEST);
    else if (s_reserve(self, &create, &vm, run) == 0) {
        char key[VFP_NAME_MAX * 2 + 1];
        s_wait_key(vm.name, key, sizeof(key));
        *parked = create.wait &&
                  pending_park_for(self->waits, key, *client, msg->request_id,
                                   msg->version, zclock_mono(),
                                   create.timeout_ms) == 0;
        /* The answer to every placement: written, not built and dumped. */
        if (*parked)
            zframe_destroy(client);
        else if (!(run->text = vm_json_text(&vm, vm_index_policy(self->index))))
            run->body = vm_json(&vm, vm_index_policy(self->index));
    }
    json_decref(create.body);
}

/* ---- vm.create.batch ---------------------------------------------------- */

/* The batch's requests, each read from its item of the body's "vms"; the
 * strings point into body. */
typedef struct {
    json_t *body;
    placement_request_t *reqs;
    size_t count;
} s_batch_t;

/* {"vms": [VM request, ...]}: every item must read before any is placed,
 * so that an INVALID answer means nothing was stored. */
static int s_batch_parse(const vfp_request_t *request, s_batch_t *batch,
                         s_run_t *run)
{
    const char *unknown =
        admin_request_unknown(request, (const char *const[]){NULL});
    if (unknown)
        return s_fail(run, VFP_ERR_INVALID,
                      "verb \"%s\" has no parameter \"%s\"", request->verb,
                      unknown);
    json_error_t jerr;
    batch->body = request->body_len
                      ? json_loadb(request->body, request->body_len, 0, &jerr)
                      : NULL;
    if (!json_is_object(batch->body))
        return s_fail(run, VFP_ERR_INVALID,
                      "body: a JSON object {\"vms\": [...]} is needed");
    const char *key;
    json_t *value;
    json_object_foreach(batch->body, key, value)
    {
        if (strcmp(key, "vms") != 0)
            return s_fail(run, VFP_ERR_INVALID, "body: unknown key \"%.64s\"",
                          key);
    }
    json_t *vms = json_object_get(batch->body, "vms");
    size_t count = json_array_size(vms);
    if (!json_is_array(vms) || count < 1 || count > VM_ADMIN_BATCH_MAX)
        return s_fail(run, VFP_ERR_INVALID,
                      "body: \"vms\" must list 1 to %d VMs",
                      VM_ADMIN_BATCH_MAX);
    batch->reqs = calloc(count, sizeof(*batch->reqs));
    assert(batch->reqs);
    for (size_t i = 0; i < count; i++) {
        char where[64];
        snprintf(where, sizeof(where), "body: vms[%zu]", i);
        if (vm_request_parse(json_array_get(vms, i), where, &batch->reqs[i],
                             run->error) != 0) {
            run->status = VFP_ERR_INVALID;
            return -1;
        }
    }
    batch->count = count;
    return 0;
}

/* One VM's result as JSON text: {"name", "status", and "vm" (OK) or
 * "error" with the refusal's detail}. The VM is written as vm.create's
 * answer is, not built as a tree. */
static char *s_batch_item(vm_admin_t *self, const placement_request_t *req,
                          const db_vm_t *vm, s_run_t *run)
{
    json_t *item = json_object();
    json_object_set_new(item, "name", json_string(req->name));
    json_object_set_new(item, "status",
                        json_string(vfp_errcode_name((int)run->status)));
    if (run->status != VFP_OK)
        json_object_set_new(item, "error", json_string(run->error));
    if (run->body)
        json_object_update(item, run->body);
    json_decref(run->body);
    run->body = NULL;
    /* As vm.create's answer: written, or built when it cannot be. */
    const policy_t *policy = vm_index_policy(self->index);
    char *vm_text = NULL;
    if (run->status == VFP_OK && !(vm_text = vm_json_text(vm, policy)))
        json_object_set_new(item, "vm", vm_json(vm, policy));
    char *text = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(item);
    assert(text);
    if (!vm_text)
        return text;
    /* text ends with its closing brace: the VM goes before it. */
    text[strlen(text) - 1] = '\0';
    char *whole = zsys_sprintf("%s,\"vm\":%s}", text, vm_text);
    assert(whole);
    free(text);
    free(vm_text);
    return whole;
}

/* Each VM reserved in turn, on the capacity the ones before it left; one
 * that does not fit does not stop the others. */
static void s_create_batch(vm_admin_t *self, const vfp_msg_t *msg, s_run_t *run)
{
    s_batch_t batch = {0};
    if (s_batch_parse(&msg->u.request, &batch, run) != 0) {
        stats_placement("invalid", PLACEMENT_RULE_REQUEST);
        free(batch.reqs);
        json_decref(batch.body);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert(out);
    size_t created = 0;
    for (size_t i = 0; i < batch.count; i++) {
        s_create_t create = {.req = batch.reqs[i]};
        s_run_t one = {.status = VFP_OK};
        db_vm_t vm;
        if (s_reserve(self, &create, &vm, &one) == 0)
            created++;
        char *item = s_batch_item(self, &batch.reqs[i], &vm, &one);
        fprintf(out, "%s%s", i ? "," : "", item);
        free(item);
    }
    fclose(out);
    run->text = zsys_sprintf("{\"created\":%zu,\"refused\":%zu,"
                             "\"results\":[%s]}",
                             created, batch.count - created, buf);
    assert(run->text);
    free(buf);
    free(batch.reqs);
    json_decref(batch.body);
}

/* ---- vm.delete, vm.power ------------------------------------------------ */

static const char *s_name_param(const vfp_request_t *req,
                                const char *const *allowed, s_run_t *run)
{
    const char *unknown = admin_request_unknown(req, allowed);
    if (unknown) {
        s_fail(run, VFP_ERR_INVALID, "verb \"%s\" has no parameter \"%s\"",
               req->verb, unknown);
        return NULL;
    }
    const char *name = admin_request_param(req, "name");
    if (!name || !name[0]) {
        s_fail(run, VFP_ERR_INVALID, "verb \"%s\" needs parameter \"name\"",
               req->verb);
        return NULL;
    }
    return name;
}

/* The VM the request's "name" names, as stored. 0, or -1 with run set. */
static int s_vm_named(vm_admin_t *self, const vfp_request_t *req,
                      const char *const *allowed, db_vm_t *vm, s_run_t *run)
{
    const char *name = s_name_param(req, allowed, run);
    db_err_t err;
    if (!name)
        return -1;
    if (db_vm_get(self->db, name, vm, &err) != 0)
        return s_fail_db(run, &err);
    return 0;
}

static void s_delete(vm_admin_t *self, const vfp_request_t *req, s_run_t *run)
{
    static const char *const allowed[] = {"name", NULL};
    const char *name = s_name_param(req, allowed, run);
    db_vm_t was;
    db_err_t err;
    if (!name)
        return;
    if (db_vm_delete(self->db, name, &was, &err) != 0) {
        s_fail_db(run, &err);
        return;
    }
    vm_index_vm_remove(self->index, name);
    /* Its VFs go back to the clean default on the host's next plan. */
    s_dirty(self, was.host);
    char released[96] = "it had failed and held nothing"; /* released then */
    if (was.state != DB_VM_FAILED)
        snprintf(released, sizeof(released),
                 "%u NICs and %" PRIu64 " MiB released", was.nic_count,
                 was.memory_mib);
    controller_event(self->db, "vm-deleted", was.host[0] ? was.host : NULL,
                     "vm %s deleted: %s", was.name, released);
    run->body = vm_json(&was, vm_index_policy(self->index));
    s_wake(self, name);
}

static void s_power(vm_admin_t *self, const vfp_request_t *req, s_run_t *run)
{
    static const char *const allowed[] = {"name", "state", NULL};
    const char *name = s_name_param(req, allowed, run);
    if (!name)
        return;
    const char *state = admin_request_param(req, "state");
    db_vm_power_t power;
    if (!state || !state[0]) {
        s_fail(run, VFP_ERR_INVALID, "verb \"%s\" needs parameter \"state\"",
               req->verb);
        return;
    }
    if ((strcmp(state, "on") != 0 && strcmp(state, "off") != 0) ||
        db_vm_power_parse(state, &power) != 0) {
        s_fail(run, VFP_ERR_INVALID, "state \"%s\" is not on or off", state);
        return;
    }
    db_vm_t vm;
    db_err_t err;
    if (db_vm_set_power(self->db, name, power, &err) != 0 ||
        db_vm_get(self->db, name, &vm, &err) != 0) {
        s_fail_db(run, &err);
        return;
    }
    controller_event(self->db, "vm-power", vm.host[0] ? vm.host : NULL,
                     "vm %s powered %s", name, state);
    run->body = vm_json(&vm, vm_index_policy(self->index));
}

/* ---- vm.evacuate -------------------------------------------------------- */

/* What keeps a VM where it is: not asked cold, or still running. */
static int s_evacuate_allowed(const db_vm_t *vm, const vfp_request_t *req,
                              s_run_t *run)
{
    const char *cold = admin_request_param(req, "cold");
    if (!cold || strcmp(cold, "true") != 0)
        return s_fail(run, VFP_ERR_CONFLICT,
                      "vm %s: passthrough VMs are pinned; only a cold "
                      "evacuation (cold=true) of a powered-off or host-down "
                      "VM moves it",
                      vm->name);
    if (vm->host[0] && !vm->host_down && vm->power != DB_VM_POWER_OFF)
        return s_fail(run, VFP_ERR_CONFLICT,
                      "vm %s on %s is %s: power it off first (vm power %s "
                      "off); a cold evacuation needs it off or its host down",
                      vm->name, vm->host,
                      vm->power == DB_VM_POWER_ON ? "powered on"
                                                  : "of unknown power state",
                      vm->name);
    return 0;
}

/* The VM's placement request again, its MACs fixed, its host avoided. */
static void s_evacuee_request(const db_vm_t *vm, const char *target,
                              placement_request_t *req)
{
    memset(req, 0, sizeof(*req));
    req->name = vm->name;
    req->memory_mib = vm->memory_mib;
    req->vcpus = vm->vcpus;
    req->host = target;
    req->avoid = vm->host;
    req->group = vm->group;
    placement_numa_parse(vm->numa[0] ? vm->numa : "none", &req->numa);
    req->separate_pfs = vm->separate_pfs;
    req->nic_count = vm->nic_count;
    for (uint32_t i = 0; i < vm->nic_count; i++) {
        req->nics[i].network = vm->nics[i].network;
        req->nics[i].has_mac = true;
        memcpy(req->nics[i].mac, vm->nics[i].mac, sizeof(req->nics[i].mac));
    }
}

/* Decides the VM's new place (req) without its own holdings, and moves it
 * in the database; on any refusal the index keeps the VM where it was. */
static int s_move(vm_admin_t *self, const db_vm_t *vm,
                  const placement_request_t *req, db_vm_t *to, s_run_t *run)
{
    placement_decision_t decision;
    placement_refusal_t *why = NULL;
    self->decided++;
    vm_index_vm_remove(self->index, vm->name);
    int rc =
        placement_decide(vm_index_placement(self->index), req, &decision, &why);
    if (rc != 0) {
        s_refused(run, why);
        placement_refusal_destroy(&why);
    } else {
        s_vm_from(req, &decision, to);
        snprintf(to->pin, sizeof(to->pin), "%s", vm->pin);
        to->power = vm->power;
        to->created_at_ms = vm->created_at_ms;
        db_err_t err;
        if (db_vm_move(self->db, vm->name, to, &err) != 0)
            rc = s_fail_db(run, &err);
    }
    vm_index_vm_put(self->index, rc == 0 ? to : vm);
    return rc;
}

static void s_evacuate(vm_admin_t *self, const vfp_request_t *req, s_run_t *run)
{
    static const char *const allowed[] = {"name", "cold", "host", NULL};
    db_vm_t vm, to;
    if (s_vm_named(self, req, allowed, &vm, run) != 0)
        return;
    placement_request_t again;
    s_evacuee_request(&vm, admin_request_param(req, "host"), &again);
    if (s_evacuate_allowed(&vm, req, run) != 0 ||
        s_move(self, &vm, &again, &to, run) != 0)
        return;
    /* The old host resets the VFs it no longer lends once it is back. */
    s_dirty(self, vm.host);
    s_dirty(self, to.host);
    controller_event(self->db, "vm-evacuated", to.host,
                     "vm %s moved cold from %s to %s, MACs kept", vm.name,
                     vm.host[0] ? vm.host : "no host", to.host);
    run->body = vm_json(&to, vm_index_policy(self->index));
}

/* ---- vm.nic.add, vm.nic.remove ----------------------------------------- */

/* A NIC change needs the VM off: an SR-IOV VF cannot be hot-plugged. */
static int s_nic_change_allowed(const db_vm_t *vm, const char *verb,
                                s_run_t *run)
{
    if (vm->state == DB_VM_FAILED)
        return s_fail(run, VFP_ERR_CONFLICT,
                      "vm %s failed and holds no host; delete it and create "
                      "it again",
                      vm->name);
    if (vm->power != DB_VM_POWER_OFF)
        return s_fail(run, VFP_ERR_CONFLICT,
                      "vm %s is %s: an SR-IOV NIC cannot be %s a running VM; "
                      "power it off first (vm power %s off)",
                      vm->name,
                      vm->power == DB_VM_POWER_ON ? "powered on"
                                                  : "of unknown power state",
                      strcmp(verb, "vm.nic.add") == 0 ? "hot-added to"
                                                      : "hot-removed from",
                      vm->name);
    return 0;
}

/* The NIC list changed by the request: one more (network, mac) or one
 * less (index). */
static int s_nic_edit(const db_vm_t *vm, const vfp_request_t *req,
                      placement_request_t *again, s_run_t *run)
{
    s_evacuee_request(vm, vm->host, again);
    again->avoid = NULL;
    if (strcmp(req->verb, "vm.nic.add") == 0) {
        const char *network = admin_request_param(req, "network");
        const char *mac = admin_request_param(req, "mac");
        if (!network || !policy_name_valid(network))
            return s_fail(run, VFP_ERR_INVALID,
                          "verb \"vm.nic.add\" needs parameter \"network\", "
                          "a network name");
        if (again->nic_count == PLACEMENT_NICS_MAX)
            return s_fail(run, VFP_ERR_CONFLICT,
                          "vm %s has %d NICs, the most a VM has", vm->name,
                          PLACEMENT_NICS_MAX);
        placement_nic_request_t *nic = &again->nics[again->nic_count++];
        *nic = (placement_nic_request_t){.network = network,
                                         .has_mac = mac != NULL};
        const char *why = mac ? vfp_mac_parse_nic(mac, nic->mac) : NULL;
        if (why)
            return s_fail(run, VFP_ERR_INVALID, "mac \"%.32s\" %s", mac, why);
        return 0;
    }
    int64_t index;
    const char *text = admin_request_param(req, "index");
    if (!text ||
        admin_request_int(text, 0, (int64_t)vm->nic_count - 1, &index) != 0)
        return s_fail(run, VFP_ERR_INVALID,
                      "index \"%s\" is not a NIC of vm %s (0 to %u)",
                      text ? text : "", vm->name, vm->nic_count - 1);
    if (vm->nic_count == 1)
        return s_fail(run, VFP_ERR_CONFLICT,
                      "vm %s has one NIC; a passthrough VM keeps at least "
                      "one (delete the VM instead)",
                      vm->name);
    memmove(&again->nics[index], &again->nics[index + 1],
            (again->nic_count - (size_t)index - 1) * sizeof(again->nics[0]));
    again->nic_count--;
    return 0;
}

static void s_nic(vm_admin_t *self, const vfp_request_t *req, s_run_t *run)
{
    static const char *const add_params[] = {"name", "network", "mac", NULL};
    static const char *const remove_params[] = {"name", "index", NULL};
    bool adding = strcmp(req->verb, "vm.nic.add") == 0;
    db_vm_t vm, to;
    if (s_vm_named(self, req, adding ? add_params : remove_params, &vm, run) !=
        0)
        return;
    /* A missing parameter is said as every verb says it, before the VM's
     * power state or NICs are looked at. */
    const char *needed = adding ? "network" : "index";
    if (!admin_request_param(req, needed)) {
        s_fail(run, VFP_ERR_INVALID, "verb \"%s\" needs parameter \"%s\"",
               req->verb, needed);
        return;
    }
    placement_request_t again;
    if (s_nic_change_allowed(&vm, req->verb, run) != 0 ||
        s_nic_edit(&vm, req, &again, run) != 0 ||
        s_move(self, &vm, &again, &to, run) != 0)
        return;
    s_dirty(self, vm.host);
    controller_event(self->db, "vm-nics", vm.host, "vm %s: %u NICs now (%s)",
                     vm.name, to.nic_count,
                     strcmp(req->verb, "vm.nic.add") == 0 ? "one added"
                                                          : "one removed");
    run->body = vm_json(&to, vm_index_policy(self->index));
}

/* ---- host.cordon, host.uncordon, host.drain ---------------------------- */

typedef struct {
    json_t *vms;
    json_t *power_off_first;
} s_drain_t;

static int s_drain_row(const db_vm_t *vm, void *arg)
{
    s_drain_t *drain = arg;
    json_array_append_new(drain->vms,
                          json_pack("{s:s, s:s, s:s}", "name", vm->name,
                                    "power", db_vm_power_name(vm->power),
                                    "state", vm_json_state(vm)));
    if (vm->power != DB_VM_POWER_OFF)
        json_array_append_new(drain->power_off_first, json_string(vm->name));
    return 0;
}

static void s_cordon(vm_admin_t *self, const vfp_request_t *req, s_run_t *run)
{
    static const char *const allowed[] = {"name", NULL};
    const char *name = s_name_param(req, allowed, run);
    if (!name)
        return;
    bool cordon = strcmp(req->verb, "host.uncordon") != 0;
    db_err_t err;
    if (db_host_set_cordoned(self->db, name, cordon, &err) != 0) {
        s_fail_db(run, &err);
        return;
    }
    vm_index_host_state(self->index, name);
    run->body = json_pack("{s:s, s:b}", "host", name, "cordoned", cordon);
    if (strcmp(req->verb, "host.drain") != 0) {
        controller_event(self->db, cordon ? "host-cordoned" : "host-uncordoned",
                         name, "%s",
                         cordon ? "no new VM is placed here"
                                : "VMs may be placed here again");
        return;
    }
    /* Passthrough VMs are pinned: draining moves nothing, it says which
     * VMs must be powered off before the host can be serviced. */
    s_drain_t drain = {json_array(), json_array()};
    db_vm_filter_t filter = {.host = name};
    db_page_t page = {0};
    if (db_vms_list(self->db, &filter, &page, s_drain_row, &drain, &err) != 0) {
        json_decref(drain.vms);
        json_decref(drain.power_off_first);
        s_fail_db(run, &err);
        return;
    }
    controller_event(self->db, "host-drained", name,
                     "cordoned; %zu pinned VMs, %zu to power off first",
                     json_array_size(drain.vms),
                     json_array_size(drain.power_off_first));
    json_object_set_new(run->body, "vms", drain.vms);
    json_object_set_new(run->body, "power_off_first", drain.power_off_first);
}

/* ---- dispatch ----------------------------------------------------------- */

static const char *const s_verbs[] = {"vm.create",
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

size_t vm_admin_take_reserved(vm_admin_t *self)
{
    size_t reserved = self->reserved;
    self->reserved = 0;
    self->decided = 0;
    return reserved;
}

size_t vm_admin_decided(const vm_admin_t *self)
{
    return self->decided;
}

bool vm_admin_is_verb(const char *verb)
{
    for (const char *const *v = s_verbs; *v; v++)
        if (strcmp(*v, verb) == 0)
            return true;
    return false;
}

vfp_msg_t *vm_admin_handle(vm_admin_t *self, const vfp_msg_t *request,
                           zframe_t **client)
{
    const vfp_request_t *req = &request->u.request;
    s_run_t run = {.status = VFP_OK};
    bool parked = false;
    if (strcmp(req->verb, "vm.create") == 0)
        s_create(self, request, client, &run, &parked);
    else if (strcmp(req->verb, "vm.create.batch") == 0)
        s_create_batch(self, request, &run);
    else if (strcmp(req->verb, "vm.delete") == 0)
        s_delete(self, req, &run);
    else if (strcmp(req->verb, "vm.power") == 0)
        s_power(self, req, &run);
    else if (strcmp(req->verb, "vm.evacuate") == 0)
        s_evacuate(self, req, &run);
    else if (strncmp(req->verb, "vm.nic.", 7) == 0 &&
             vm_admin_is_verb(req->verb))
        s_nic(self, req, &run);
    else if (strncmp(req->verb, "host.", 5) == 0 && vm_admin_is_verb(req->verb))
        s_cordon(self, req, &run);
    else
        s_fail(&run, VFP_ERR_UNKNOWN_VERB, "unknown verb \"%s\"", req->verb);
    if (parked)
        return NULL;
    return s_reply_new(request->version, request->request_id, &run);
}

/* ---- the agent's side --------------------------------------------------- */

/* A VM that cannot get its VFs: released, with why, and its waiters told. */
static void s_vm_failed(vm_admin_t *self, const db_vm_t *vm, const char *why)
{
    db_err_t err;
    if (db_vm_set_failed(self->db, vm->name, why, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "vm %s: cannot record its failure: %s",
                        vm->name, err.text);
        return;
    }
    db_vm_t now;
    if (db_vm_get(self->db, vm->name, &now, &err) == 0)
        vm_index_vm_put(self->index, &now);
    s_dirty(self, vm->host);
    vfp_log_warnx("vm %s on host %s failed: %s", vm->name, vm->host, why);
    controller_event(self->db, "vm-failed", vm->host, "vm %s: %s", vm->name,
                     why);
}

static void s_vm_free(void **item)
{
    free(*item);
    *item = NULL;
}

static int s_collect(const db_vm_t *vm, void *arg)
{
    db_vm_t *copy = malloc(sizeof(*copy));
    assert(copy);
    *copy = *vm;
    zlistx_add_end(arg, copy);
    return 0;
}

static int s_unplanned(const db_vm_t *vm, void *arg)
{
    vm_admin_t *self = arg;
    if (vm->apply_revision == 0)
        s_dirty(self, vm->host);
    return 0;
}

static int s_sweep_add(const char *name, void *arg)
{
    vm_admin_t *self = arg;
    zlistx_add_end(self->sweep, (void *)name);
    return 0;
}

int vm_admin_recover(vm_admin_t *self, db_err_t *err)
{
    db_vm_filter_t filter = {.by_state = true, .state = DB_VM_RESERVED};
    db_page_t page = {0};
    if (db_vms_list(self->db, &filter, &page, s_unplanned, self, err) != 0 ||
        db_host_names(self->db, s_sweep_add, self, err) != 0)
        return -1;
    return (int)zhashx_size(self->dirty);
}

static int s_collect_reserved(const db_vm_t *vm, void *arg)
{
    return vm->state == DB_VM_RESERVED ? s_collect(vm, arg) : 0;
}

/* The reserved VMs of a host, copied out of the listing. A down host's
 * are listed as host-down, which the reserved filter does not match: with
 * down_too they are read from all the host's VMs by their stored state. */
static zlistx_t *s_reserved(vm_admin_t *self, const char *host, bool down_too)
{
    zlistx_t *vms = zlistx_new();
    assert(vms);
    zlistx_set_destructor(vms, s_vm_free);
    db_vm_filter_t filter = {
        .host = host, .by_state = !down_too, .state = DB_VM_RESERVED};
    db_page_t page = {0};
    db_err_t err;
    if (db_vms_list(self->db, &filter, &page,
                    down_too ? s_collect_reserved : s_collect, vms, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot read its reserved VMs: %s", host,
                        err.text);
    return vms;
}

/* The host's reserved VMs not yet in an APPLY fail: the host cannot be
 * planned, whether it is up or down (a down host's VMs would otherwise
 * wait for its return to fail). One transaction for them all; waiters are
 * answered after it. */
static void s_plan_failed(vm_admin_t *self, const char *host)
{
    db_err_t err;
    db_host_refusal_t refusal = {0};
    const char *why = db_host_refusal_get(self->db, host, &refusal, &err) == 0
                          ? refusal.reason
                          : "its host's desired state cannot be planned "
                            "(no policy applies to it)";
    zlistx_t *vms = s_reserved(self, host, true);
    bool batch = db_batch_begin(self->db, &err) == 0;
    for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms))
        if (vm->apply_revision == 0)
            s_vm_failed(self, vm, why);
    if (batch && db_batch_commit(self->db, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot store its VMs' failure: %s", host,
                        err.text);
    for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms))
        if (vm->apply_revision == 0)
            s_wake(self, vm->name);
    zlistx_destroy(&vms);
}

static int s_status_copy(const db_apply_status_row_t *row, void *arg)
{
    *(db_apply_status_row_t *)arg = *row;
    return 0;
}

/* The host's reserved VMs not yet in an APPLY each take the revision just
 * planned (one statement, nobody waits on that), or fail when the host
 * cannot be planned. A plan that changed nothing (a NIC added, then
 * removed before the plan) carries them in the current desired revision;
 * when the agent already answered that one, all ok or not, no answer is
 * coming, so they are settled by the answer stored. */
static void s_plan_host(vm_admin_t *self, const char *host)
{
    int planned = self->cfg.replan(self->cfg.arg, host);
    db_apply_status_row_t status = {.revision = 0};
    db_apply_status_filter_t filter = {.host = host};
    db_page_t one = {.limit = 1};
    db_err_t err;
    bool have = db_apply_status_filter(self->db, &filter, &one, s_status_copy,
                                       &status, &err) == 0 &&
                status.revision > 0;
    if (planned < 0 || !have)
        s_plan_failed(self, host);
    else if (db_host_vms_set_apply_revision(self->db, host, status.revision,
                                            NULL, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot store its VMs' revision: %s", host,
                        err.text);
    else if (planned == 0 && status.state != DB_APPLY_PENDING)
        vm_admin_result(self, host);
}

/* Takes the oldest dirty host off the list; its name, to free. */
static char *s_dirty_take(vm_admin_t *self)
{
    s_dirty_t *item = zlistx_first(self->order);
    char *host = strdup(item->name);
    assert(host);
    zhashx_delete(self->dirty, host);
    zlistx_delete(self->order, zlistx_cursor(self->order));
    return host;
}

bool vm_admin_sweep_one(vm_admin_t *self)
{
    char *host = zlistx_first(self->sweep);
    if (!host)
        return false;
    if (!zhashx_lookup(self->dirty, host))
        s_plan_host(self, host);
    zlistx_delete(self->sweep, zlistx_cursor(self->sweep));
    return true;
}

bool vm_admin_flush_one(vm_admin_t *self, int64_t now_mono)
{
    s_dirty_t *item = zlistx_first(self->order);
    if (!item || now_mono - item->since < (int64_t)self->cfg.plan_delay_ms)
        return false;
    char *host = s_dirty_take(self);
    s_plan_host(self, host);
    free(host);
    return true;
}

void vm_admin_flush(vm_admin_t *self)
{
    /* Failing a VM dirties its host again; planning it once more then
     * resets the VFs it no longer holds. Two rounds settle it. */
    for (int round = 0; round < 2 && zlistx_size(self->order) > 0; round++) {
        for (size_t n = zlistx_size(self->order); n > 0; n--) {
            char *host = s_dirty_take(self);
            s_plan_host(self, host);
            free(host);
        }
    }
}

/* Whether a failed item concerns the VM: one of its VFs, the count of a
 * PF it holds a VF on, or the hugepage pool its memory comes from. */
static bool s_item_hits(const vfp_result_t *item, const db_vm_t *vm)
{
    if (item->kind == VFP_ITEM_HUGEPAGES)
        return true;
    for (uint32_t i = 0; i < vm->nic_count; i++) {
        const db_vm_nic_t *nic = &vm->nics[i];
        if (strcmp(item->pf, nic->pf) == 0 &&
            (item->kind == VFP_ITEM_NUM_VFS || item->index == nic->vf))
            return true;
    }
    return false;
}

typedef struct {
    vfp_result_t *items;
    size_t count, cap;
} s_failures_t;

static int s_failure_row(const vfp_result_t *item, void *arg)
{
    s_failures_t *failures = arg;
    if (failures->count == failures->cap) {
        failures->cap = failures->cap ? failures->cap * 2 : 16;
        failures->items =
            realloc(failures->items, failures->cap * sizeof(*failures->items));
        assert(failures->items);
    }
    failures->items[failures->count++] = *item;
    return 0;
}

/* "pf 0000:3b:00.0 vf 0 vlan: Invalid argument (errno 22)". */
static void s_item_text(const vfp_result_t *item, char *buf, size_t len)
{
    if (item->kind == VFP_ITEM_HUGEPAGES)
        snprintf(buf, len, "hugepages %s: %s (errno %d)", item->attribute,
                 item->message, item->err);
    else if (item->kind == VFP_ITEM_NUM_VFS)
        snprintf(buf, len, "pf %s sriov_numvfs: %s (errno %d)", item->pf,
                 item->message, item->err);
    else
        snprintf(buf, len, "pf %s vf %u %s: %s (errno %d)", item->pf,
                 item->index, item->attribute, item->message, item->err);
}

static void s_settle(vm_admin_t *self, const db_vm_t *vm,
                     const s_failures_t *failures)
{
    for (size_t i = 0; i < failures->count; i++) {
        if (s_item_hits(&failures->items[i], vm)) {
            char why[VFP_TEXT_MAX / 2];
            s_item_text(&failures->items[i], why, sizeof(why));
            s_vm_failed(self, vm, why);
            return;
        }
    }
    db_err_t err;
    if (db_vm_set_placed(self->db, vm->name, controller_now_ms(), &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN, "vm %s: cannot record it placed: %s",
                        vm->name, err.text);
        return;
    }
    vfp_log_info("vm %s placed on host %s", vm->name, vm->host);
    controller_event(self->db, "vm-placed", vm->host,
                     "vm %s: the agent applied its VFs", vm->name);
}

/* Whether an item failed that concerns a VM the answer covers: then each
 * VM is settled on its own, else all are placed at once. */
static bool s_any_hit(zlistx_t *vms, uint64_t revision,
                      const s_failures_t *failures)
{
    for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms)) {
        if (vm->apply_revision == 0 || vm->apply_revision > revision)
            continue;
        for (size_t i = 0; i < failures->count; i++)
            if (s_item_hits(&failures->items[i], vm))
                return true;
    }
    return false;
}

/* Every VM the answer covers applied: placed by one statement per table
 * (no lookup by name per VM), then each logged. */
static void s_place_all(vm_admin_t *self, const char *host, uint64_t revision,
                        zlistx_t *vms)
{
    db_err_t err;
    if (db_host_vms_set_placed(self->db, host, revision, controller_now_ms(),
                               NULL, &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot record its VMs placed: %s", host,
                        err.text);
        return;
    }
    for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms)) {
        if (vm->apply_revision == 0 || vm->apply_revision > revision)
            continue;
        vfp_log_info("vm %s placed on host %s", vm->name, vm->host);
        controller_event(self->db, "vm-placed", vm->host,
                         "vm %s: the agent applied its VFs", vm->name);
    }
}

void vm_admin_result(vm_admin_t *self, const char *host)
{
    zlistx_t *vms = s_reserved(self, host, false);
    if (zlistx_size(vms) == 0) {
        zlistx_destroy(&vms);
        return;
    }
    db_host_desired_t desired = {0};
    db_err_t err;
    s_failures_t failures = {0};
    if (db_host_desired_get(self->db, host, &desired, &err) != 0 ||
        db_apply_failures_list(self->db, host, s_failure_row, &failures,
                               &err) != 0) {
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot read its answer for placement: %s",
                        host, err.text);
        db_host_desired_clear(&desired);
        zlistx_destroy(&vms);
        free(failures.items);
        return;
    }
    uint64_t revision = desired.revision;
    db_host_desired_clear(&desired);
    /* The answer covers every reserved VM the answered revision carries;
     * their new states commit together, before any plan they cause. */
    bool batch = db_batch_begin(self->db, &err) == 0;
    if (!s_any_hit(vms, revision, &failures))
        s_place_all(self, host, revision, vms);
    else
        for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms))
            if (vm->apply_revision > 0 && vm->apply_revision <= revision)
                s_settle(self, vm, &failures);
    if (batch && db_batch_commit(self->db, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN,
                        "host %s: cannot store its VMs' states: %s", host,
                        err.text);
    /* Whoever waits is answered with what is now stored. */
    for (db_vm_t *vm = zlistx_first(vms); vm; vm = zlistx_next(vms))
        if (vm->apply_revision > 0 && vm->apply_revision <= revision)
            s_wake(self, vm->name);
    zlistx_destroy(&vms);
    free(failures.items);
}
