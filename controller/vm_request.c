/* vm_request.c - a VM request as the admin API's JSON gives it, read
 * into a placement request, and a refusal as JSON. */
#include "vm_request.h"

#include <assert.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm_file.h"

/* A VM file (policy/vm_file.h) and a request hold the same VMs. */
static_assert(POLICY_VM_NICS_MAX == PLACEMENT_NICS_MAX, "one NIC limit");

/* Where the object being read is ("body", "body: vms[3]") and the text
 * of the first error. */
typedef struct {
    const char *where;
    char *text;
} s_err_t;

static int s_fail(s_err_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int s_fail(s_err_t *e, const char *fmt, ...)
{
    int used = snprintf(e->text, VFP_TEXT_MAX + 1, "%s: ", e->where);
    if (used < 0 || used > VFP_TEXT_MAX)
        used = VFP_TEXT_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text + used, (size_t)(VFP_TEXT_MAX + 1 - used), fmt, ap);
    va_end(ap);
    vfp_utf8_trim(e->text);
    return -1;
}

static const char *const s_create_keys[] = {"name", "memory_mib",   "vcpus",
                                            "nics", "host",         "group",
                                            "numa", "separate_pfs", NULL};

static int s_body_keys(const json_t *body, s_err_t *e)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        bool known = false;
        for (const char *const *k = s_create_keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            return s_fail(e, "unknown key \"%.64s\"", key);
    }
    return 0;
}

/* An optional string member: NULL when absent. */
static int s_text(const json_t *body, const char *key, const char **out,
                  s_err_t *e)
{
    json_t *value = json_object_get(body, key);
    *out = NULL;
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value))
        return s_fail(e, "\"%s\" is not a string", key);
    *out = json_string_value(value);
    return 0;
}

static int s_count(const json_t *body, const char *key, int64_t max,
                   int64_t *out, s_err_t *e)
{
    json_t *value = json_object_get(body, key);
    if (!json_is_integer(value) || json_integer_value(value) < 1 ||
        json_integer_value(value) > max)
        return s_fail(e, "\"%s\" must be a whole number from 1 to %" PRId64,
                      key, max);
    *out = json_integer_value(value);
    return 0;
}

static int s_nic_parse(const json_t *item, size_t i,
                       placement_nic_request_t *nic, s_err_t *e)
{
    const char *key;
    json_t *value;
    if (!json_is_object(item))
        return s_fail(e, "nics[%zu] is not an object", i);
    json_object_foreach((json_t *)item, key, value)
    {
        if (strcmp(key, "network") != 0 && strcmp(key, "mac") != 0)
            return s_fail(e, "nics[%zu]: unknown key \"%.64s\"", i, key);
    }
    const char *network = NULL, *mac = NULL;
    if (s_text(item, "network", &network, e) != 0 ||
        s_text(item, "mac", &mac, e) != 0)
        return -1;
    if (!network || !policy_name_valid(network))
        return s_fail(e, "nics[%zu]: \"network\" must be a network name", i);
    nic->network = network;
    nic->has_mac = mac != NULL;
    const char *why = mac ? vfp_mac_parse_nic(mac, nic->mac) : NULL;
    if (why)
        return s_fail(e, "nics[%zu]: mac \"%.32s\" %s", i, mac, why);
    return 0;
}

static int s_nics_parse(const json_t *body, placement_request_t *req,
                        s_err_t *e)
{
    json_t *nics = json_object_get(body, "nics");
    if (!json_is_array(nics) || json_array_size(nics) < 1 ||
        json_array_size(nics) > PLACEMENT_NICS_MAX)
        return s_fail(e, "\"nics\" must list 1 to %d NICs", PLACEMENT_NICS_MAX);
    size_t i;
    json_t *item;
    json_array_foreach(nics, i, item)
    {
        if (s_nic_parse(item, i, &req->nics[i], e) != 0)
            return -1;
    }
    req->nic_count = json_array_size(nics);
    return 0;
}

/* The placement options: pin, group, NUMA and separate PFs. */
static int s_options_parse(const json_t *body, placement_request_t *req,
                           s_err_t *e)
{
    const char *numa = NULL;
    if (s_text(body, "host", &req->host, e) != 0 ||
        s_text(body, "group", &req->group, e) != 0 ||
        s_text(body, "numa", &numa, e) != 0)
        return -1;
    char why[128];
    if (req->host && req->host[0] &&
        vfp_hostname_check(req->host, why, sizeof(why)) != 0)
        return s_fail(e, "\"host\": %s", why);
    if (req->group && req->group[0] && !policy_name_valid(req->group))
        return s_fail(e,
                      "group \"%.64s\" is not valid (letters, digits, "
                      "'.', '_' and '-', starting with a letter or digit, at "
                      "most %d characters)",
                      req->group, POLICY_NAME_MAX);
    if (numa && placement_numa_parse(numa, &req->numa) != 0)
        return s_fail(e, "numa \"%.32s\" is not none, preferred or required",
                      numa);
    json_t *separate = json_object_get(body, "separate_pfs");
    if (separate && !json_is_boolean(separate))
        return s_fail(e, "\"separate_pfs\" is not true or false");
    req->separate_pfs = json_is_true(separate);
    return 0;
}

int vm_request_parse(const json_t *body, const char *where,
                     placement_request_t *req, char err[VFP_TEXT_MAX + 1])
{
    s_err_t e = {.where = where, .text = err};
    memset(req, 0, sizeof(*req));
    int64_t memory = 0, vcpus = 0;
    if (!json_is_object(body))
        return s_fail(&e, "a JSON object with the VM is needed");
    if (s_body_keys(body, &e) != 0 || s_text(body, "name", &req->name, &e) != 0)
        return -1;
    if (!req->name || !policy_name_valid(req->name))
        return s_fail(&e,
                      "\"name\" must be a VM name (letters, digits, '.', "
                      "'_' and '-', starting with a letter or digit, at "
                      "most %d characters)",
                      POLICY_NAME_MAX);
    if (s_count(body, "memory_mib", INT64_C(1) << 40, &memory, &e) != 0 ||
        s_count(body, "vcpus", POLICY_VM_VCPUS_MAX, &vcpus, &e) != 0 ||
        s_nics_parse(body, req, &e) != 0 || s_options_parse(body, req, &e) != 0)
        return -1;
    req->memory_mib = (uint64_t)memory;
    req->vcpus = (uint32_t)vcpus;
    return 0;
}

/* A refusal's detail: each rule's count and example, the closest hosts. */
json_t *vm_request_refusal_json(const placement_refusal_t *why)
{
    json_t *reasons = json_array(), *closest = json_array();
    for (int r = 0; r < PLACEMENT_RULE_COUNT; r++) {
        size_t hosts = placement_refusal_hosts(why, (placement_rule_t)r);
        if (hosts == 0)
            continue;
        json_array_append_new(
            reasons,
            json_pack("{s:s, s:I, s:s}", "rule",
                      placement_rule_name((placement_rule_t)r), "hosts",
                      (json_int_t)hosts, "example",
                      placement_refusal_example(why, (placement_rule_t)r)));
    }
    for (size_t i = 0; i < placement_refusal_closest_count(why); i++)
        json_array_append_new(
            closest,
            json_pack(
                "{s:s, s:s, s:s}", "host",
                placement_refusal_closest_host(why, i), "rule",
                placement_rule_name(placement_refusal_closest_rule(why, i)),
                "reason", placement_refusal_closest_reason(why, i)));
    return json_pack("{s:o, s:o}", "reasons", reasons, "closest", closest);
}
