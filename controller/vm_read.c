/* vm_read.c - VMs as the operator reads them: the listing, one VM, and the
 * refusal of a live migration that names what pins the VM. */
#include "vm_read.h"

#include <stdio.h>
#include <string.h>

#include "admin_page.h"
#include "admin_request.h"
#include "desired.h"
#include "vm_json.h"

/* A required parameter. */
static const char *s_required(const vfp_request_t *req, const char *key,
                              admin_policy_answer_t *answer)
{
    const char *value = admin_request_param(req, key);
    if (!value || !value[0])
        admin_answer_fail(answer, VFP_ERR_INVALID,
                          "verb \"%s\" needs parameter \"%s\"", req->verb, key);
    return value && value[0] ? value : NULL;
}

/* ---- vms ---------------------------------------------------------------- */

typedef struct {
    admin_page_t page;
    const policy_t *policy;
} s_list_t;

static int s_list_row(const db_vm_t *vm, void *arg)
{
    s_list_t *list = arg;
    return admin_page_add(&list->page, vm_json(vm, list->policy),
                          json_string(vm->name));
}

/* The state filter: a stored state, or "host-down", which is reserved or
 * placed on a host that is down. */
static int s_state_filter(const char *text, db_vm_filter_t *filter,
                          admin_policy_answer_t *answer)
{
    if (!text)
        return 0;
    if (strcmp(text, "host-down") == 0) {
        filter->host_down = true;
        return 0;
    }
    if (db_vm_state_parse(text, &filter->state) != 0) {
        admin_answer_fail(
            answer, VFP_ERR_INVALID,
            "state \"%s\" is not reserved, placed, failed or host-down", text);
        return -1;
    }
    filter->by_state = true;
    return 0;
}

/* The cursor of "after": the last name of a page, as "next" gave it. */
static int s_cursor(const char *text, char *name, size_t len,
                    admin_policy_answer_t *answer)
{
    if (strlen(text) >= len || !policy_name_valid(text)) {
        admin_answer_fail(answer, VFP_ERR_INVALID,
                          "cursor \"%s\" is not a VM name", text);
        return -1;
    }
    snprintf(name, len, "%s", text);
    return 0;
}

/* "next" as the plain name, like the hosts listing's, not as JSON text. */
static void s_next_plain(json_t *body)
{
    json_t *next = json_object_get(body, "next");
    if (!json_is_string(next))
        return;
    json_t *name = json_loads(json_string_value(next), JSON_DECODE_ANY, NULL);
    if (json_is_string(name))
        json_object_set(body, "next", name);
    json_decref(name);
}

void vm_read_list(db_t *db, sessions_t *sessions, const vfp_request_t *req,
                  int64_t now_ms, admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"host", "state", "limit", "after",
                                          NULL};
    s_list_t list = {0};
    db_vm_filter_t filter = {.host = admin_request_param(req, "host")};
    const char *after = admin_request_param(req, "after");
    char cursor[DB_VM_NAME_MAX + 1] = "";
    if (admin_answer_params(req, allowed, answer) != 0 ||
        s_state_filter(admin_request_param(req, "state"), &filter, answer) !=
            0 ||
        (after && s_cursor(after, cursor, sizeof(cursor), answer) != 0) ||
        admin_page_start(&list.page, req, answer) != 0)
        return;
    db_err_t err = {DB_OK, ""};
    db_host_row_t host;
    if (filter.host && db_host_get(db, filter.host, &host, &err) != 0) {
        admin_answer_db(answer, &err);
        json_decref(list.page.rows);
        return;
    }
    /* The NICs' VLANs come from the latest policy. */
    desired_policy_t latest = {0};
    list.policy = desired_policy_latest(db, &latest);
    db_page_t page = {.host = after ? cursor : NULL,
                      .limit = list.page.limit + 1};
    int rc = db_vms_list(db, &filter, &page, s_list_row, &list, &err);
    json_t *body = NULL;
    admin_page_finish(&list.page, "vms", rc, &err, &body, answer);
    if (body)
        s_next_plain(body);
    answer->body = body;
    desired_policy_clear(&latest);
}

/* ---- vm.show ------------------------------------------------------------ */

void vm_read_show(db_t *db, sessions_t *sessions, const vfp_request_t *req,
                  int64_t now_ms, admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"name", NULL};
    const char *name;
    if (admin_answer_params(req, allowed, answer) != 0 ||
        !(name = s_required(req, "name", answer)))
        return;
    db_vm_t vm;
    db_err_t err;
    if (db_vm_get(db, name, &vm, &err) != 0) {
        admin_answer_db(answer, &err);
        return;
    }
    desired_policy_t latest = {0};
    answer->body = vm_json(&vm, desired_policy_latest(db, &latest));
    desired_policy_clear(&latest);
}

/* ---- vm.migrate --------------------------------------------------------- */

/* "web-1 holds 2 SR-IOV VFs on esx-e1 (ens3f0 VF 0, ens3f1 VF 3)". */
static void s_holdings(const db_vm_t *vm, char *buf, size_t len)
{
    uint32_t held = 0;
    for (uint32_t i = 0; i < vm->nic_count; i++)
        held += vm->nics[i].pf[0] != '\0';
    if (held == 0) {
        snprintf(buf, len, "%s is a passthrough VM", vm->name);
        return;
    }
    size_t used =
        (size_t)snprintf(buf, len, "%s holds %u SR-IOV VF%s on %s (", vm->name,
                         held, held == 1 ? "" : "s", vm->host);
    const char *sep = "";
    for (uint32_t i = 0; i < vm->nic_count && used < len; i++) {
        const db_vm_nic_t *nic = &vm->nics[i];
        if (!nic->pf[0])
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s VF %u", sep,
                                 nic->pf_ifname[0] ? nic->pf_ifname : nic->pf,
                                 nic->vf);
        sep = ", ";
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

void vm_read_migrate(db_t *db, sessions_t *sessions, const vfp_request_t *req,
                     int64_t now_ms, admin_policy_answer_t *answer)
{
    (void)sessions;
    (void)now_ms;
    static const char *const allowed[] = {"name", "host", NULL};
    const char *name;
    if (admin_answer_params(req, allowed, answer) != 0 ||
        !(name = s_required(req, "name", answer)) ||
        !s_required(req, "host", answer))
        return;
    db_vm_t vm;
    db_err_t err;
    if (db_vm_get(db, name, &vm, &err) != 0) {
        admin_answer_db(answer, &err);
        return;
    }
    char holdings[VFP_TEXT_MAX / 2];
    s_holdings(&vm, holdings, sizeof(holdings));
    admin_answer_fail(
        answer, VFP_ERR_CONFLICT,
        "%s: passthrough VMs are pinned; live migration is not possible",
        holdings);
}
