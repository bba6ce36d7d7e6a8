/* vm_plan.c - what-if placement: how many of the asked VMs fit, where,
 * and why the first that does not fit does not. */
#include "vm_plan.h"

#include <assert.h>
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_request.h"
#include "vm_request.h"

bool vm_plan_is_verb(const char *verb)
{
    return strcmp(verb, "plan") == 0;
}

/* One run: the requests, what was placed tentatively, the answer. */
typedef struct {
    placement_t *placement;
    zlistx_t *placed;  /* names placed tentatively, to take back */
    zhashx_t *by_host; /* host -> count, as a (void *)(uintptr_t) */
    json_t *listed;    /* [{"name", "host"}] up to VM_PLAN_LISTED_MAX */
    json_t *refused;   /* [{"name", "error"}] */
    json_t *first;     /* the first refusal's detail, or NULL */
    size_t requested, fit;
} s_plan_t;

static void s_take(s_plan_t *plan, const placement_request_t *req,
                   const placement_decision_t *d)
{
    placement_vm_nic_t nics[PLACEMENT_NICS_MAX];
    for (size_t i = 0; i < d->nic_count; i++) {
        nics[i] = (placement_vm_nic_t){.network = d->nics[i].network,
                                       .pf = d->nics[i].pf,
                                       .vf = d->nics[i].vf};
        memcpy(nics[i].mac, d->nics[i].mac, sizeof(nics[i].mac));
    }
    placement_vm_t vm = {.name = req->name,
                         .host = d->host,
                         .memory_mib = d->memory_mib,
                         .group = req->group,
                         .nics = nics,
                         .nic_count = d->nic_count};
    placement_vm_add(plan->placement, &vm);
    zlistx_add_end(plan->placed, (void *)req->name);
    uintptr_t n = (uintptr_t)zhashx_lookup(plan->by_host, d->host);
    zhashx_update(plan->by_host, d->host, (void *)(n + 1));
    if (json_array_size(plan->listed) < VM_PLAN_LISTED_MAX)
        json_array_append_new(
            plan->listed,
            json_pack("{s:s, s:s}", "name", req->name, "host", d->host));
    plan->fit++;
}

/* Tries one VM; false when it was refused. */
static bool s_try(s_plan_t *plan, const placement_request_t *req)
{
    placement_decision_t d;
    placement_refusal_t *why = NULL;
    plan->requested++;
    if (placement_decide(plan->placement, req, &d, &why) == 0) {
        s_take(plan, req, &d);
        return true;
    }
    if (json_array_size(plan->refused) < VM_PLAN_LISTED_MAX)
        json_array_append_new(plan->refused,
                              json_pack("{s:s, s:s}", "name", req->name,
                                        "error", placement_refusal_text(why)));
    if (!plan->first) {
        plan->first = vm_request_refusal_json(why);
        json_object_set_new(plan->first, "name", json_string(req->name));
        json_object_set_new(plan->first, "error",
                            json_string(placement_refusal_text(why)));
    }
    placement_refusal_destroy(&why);
    return false;
}

/* count copies of vms[0], named NAME-1 ... NAME-count; after the first
 * refusal the others would be refused alike and are only counted. */
static int s_copies(s_plan_t *plan, const json_t *vm, json_int_t count,
                    char *err)
{
    placement_request_t req;
    if (vm_request_parse(vm, "body: vms[0]", &req, err) != 0)
        return -1;
    const char *base = req.name;
    for (json_int_t i = 1; i <= count; i++) {
        char *name = zsys_sprintf("%s-%lld", base, (long long)i);
        assert(name);
        req.name = name;
        bool fit = s_try(plan, &req);
        zstr_free(&name);
        if (!fit) {
            plan->requested += (size_t)(count - i);
            break;
        }
    }
    return 0;
}

static int s_each(s_plan_t *plan, const json_t *vms, char *err)
{
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        char where[64];
        snprintf(where, sizeof(where), "body: vms[%zu]", i);
        placement_request_t req;
        if (vm_request_parse(vm, where, &req, err) != 0)
            return -1;
        s_try(plan, &req);
    }
    return 0;
}

/* The body's VMs: {"vms": [...], "count": N}. 0, or -1 with err. */
static int s_run(s_plan_t *plan, const vfp_request_t *req, char *err)
{
    json_error_t jerr;
    json_t *body =
        req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    json_t *vms = json_object_get(body, "vms");
    json_t *count = json_object_get(body, "count");
    const char *key = NULL;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "vms") != 0 && strcmp(key, "count") != 0)
            break;
    }
    int rc = -1;
    if (key)
        snprintf(err, VFP_TEXT_MAX + 1, "body: unknown key \"%.64s\"", key);
    else if (!json_is_array(vms) || json_array_size(vms) < 1 ||
             json_array_size(vms) > VM_PLAN_VMS_MAX)
        snprintf(err, VFP_TEXT_MAX + 1, "body: \"vms\" must list 1 to %d VMs",
                 VM_PLAN_VMS_MAX);
    else if (count && (!json_is_integer(count) || json_array_size(vms) != 1 ||
                       json_integer_value(count) < 1 ||
                       json_integer_value(count) > VFP_PLAN_COUNT_MAX))
        snprintf(err, VFP_TEXT_MAX + 1,
                 "body: \"count\" must be a whole number from 1 to %d, with "
                 "exactly one VM",
                 VFP_PLAN_COUNT_MAX);
    else
        rc = count ? s_copies(plan, json_array_get(vms, 0),
                              json_integer_value(count), err)
                   : s_each(plan, vms, err);
    json_decref(body);
    return rc;
}

static json_t *s_hosts_json(s_plan_t *plan)
{
    json_t *hosts = json_array();
    zlistx_t *names = zhashx_keys(plan->by_host);
    zlistx_set_comparator(names, (zlistx_comparator_fn *)strcmp);
    zlistx_sort(names);
    for (const char *h = zlistx_first(names); h; h = zlistx_next(names))
        json_array_append_new(
            hosts,
            json_pack("{s:s, s:I}", "host", h, "vms",
                      (json_int_t)(uintptr_t)zhashx_lookup(plan->by_host, h)));
    zlistx_destroy(&names);
    return hosts;
}

vfp_msg_t *vm_plan_handle(vm_index_t *index, const vfp_msg_t *request)
{
    s_plan_t plan = {.placement = vm_index_placement(index),
                     .placed = zlistx_new(),
                     .by_host = zhashx_new(),
                     .listed = json_array(),
                     .refused = json_array()};
    assert(plan.placed && plan.by_host);
    zlistx_set_duplicator(plan.placed, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(plan.placed, (zlistx_destructor_fn *)zstr_free);
    vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
    reply->version = request->version;
    reply->request_id = request->request_id;
    const char *unknown =
        admin_request_unknown(&request->u.request, (const char *const[]){NULL});
    if (unknown) {
        reply->u.reply.status = VFP_ERR_INVALID;
        snprintf(reply->u.reply.error, sizeof(reply->u.reply.error),
                 "verb \"plan\" has no parameter \"%s\"", unknown);
    } else if (s_run(&plan, &request->u.request, reply->u.reply.error) != 0) {
        reply->u.reply.status = VFP_ERR_INVALID;
    } else {
        json_t *body = json_pack(
            "{s:I, s:I, s:o, s:o, s:o, s:o}", "requested",
            (json_int_t)plan.requested, "fit", (json_int_t)plan.fit, "hosts",
            s_hosts_json(&plan), "vms", plan.listed, "refused", plan.refused,
            "first_refusal", plan.first ? plan.first : json_null());
        plan.listed = plan.refused = plan.first = NULL;
        reply->u.reply.body = json_dumps(body, JSON_COMPACT);
        reply->u.reply.body_len = (uint32_t)strlen(reply->u.reply.body);
        json_decref(body);
    }
    /* Every tentative VM goes back: the index is as it was. */
    for (const char *name = zlistx_first(plan.placed); name;
         name = zlistx_next(plan.placed))
        placement_vm_remove(plan.placement, name);
    zlistx_destroy(&plan.placed);
    zhashx_destroy(&plan.by_host);
    json_decref(plan.listed);
    json_decref(plan.refused);
    json_decref(plan.first);
    return reply;
}
