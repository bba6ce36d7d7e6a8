/* vm_json.c - a VM and its NICs as the admin API's JSON object. */
#include "vm_json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"

const char *vm_json_state(const db_vm_t *vm)
{
    if (vm->host_down && vm->state != DB_VM_FAILED)
        return "host-down";
    return db_vm_state_name(vm->state);
}

static const char *s_hugepages(const policy_t *policy)
{
    if (!policy)
        return "none";
    switch (policy->hugepages) {
    case POLICY_HUGEPAGES_2M:
        return "2M";
    case POLICY_HUGEPAGES_1G:
        return "1G";
    default:
        return "none";
    }
}

static json_t *s_nic(const db_vm_nic_t *nic, uint32_t index,
                     const policy_t *policy)
{
    char mac[18];
    vfp_mac_format(nic->mac, mac);
    bool held = nic->pf[0] != '\0';
    const policy_network_t *net =
        policy ? policy_network_find(policy, nic->network) : NULL;
    return json_pack(
        "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "index",
        (json_int_t)index, "network", nic->network, "mac", mac, "pf",
        held ? json_string(nic->pf) : json_null(), "pf_ifname",
        held ? json_string(nic->pf_ifname) : json_null(), "vf",
        held ? json_integer(nic->vf) : json_null(), "vf_pci",
        held && nic->vf_pci[0] ? json_string(nic->vf_pci) : json_null(), "vlan",
        net ? json_integer(net->trunk ? 0 : net->vlan) : json_null(), "trunk",
        net && net->trunk);
}

json_t *vm_json(const db_vm_t *vm, const policy_t *policy)
{
    json_t *nics = json_array();
    for (uint32_t i = 0; i < vm->nic_count; i++)
        json_array_append_new(nics, s_nic(&vm->nics[i], i, policy));
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:o,"
        " s:s, s:o, s:s}",
        "name", vm->name, "state", vm_json_state(vm), "host",
        vm->host[0] ? json_string(vm->host) : json_null(), "memory_mib",
        (json_int_t)vm->memory_mib, "vcpus", (json_int_t)vm->vcpus, "power",
        db_vm_power_name(vm->power), "group", vm->group, "numa",
        vm->numa[0] ? vm->numa : "none", "separate_pfs", vm->separate_pfs,
        "pin", vm->pin, "error", vm->error, "created_at",
        admin_json_time(vm->created_at_ms), "placed_at",
        admin_json_time(vm->placed_at_ms), "hugepages", s_hugepages(policy),
        "nics", nics, "pinned", VM_JSON_PINNED);
}

/* ---- the object as text ------------------------------------------------ */

/* A growing text; ok false once a string was not valid UTF-8. */
typedef struct {
    char *data;
    size_t len, cap;
    bool ok;
} s_text_t;

static void s_put(s_text_t *t, const char *data, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        while (t->len + len + 1 > t->cap)
            t->cap = t->cap ? t->cap * 2 : 1024;
        t->data = realloc(t->data, t->cap);
        assert(t->data);
    }
    memcpy(t->data + t->len, data, len);
    t->len += len;
    t->data[t->len] = '\0';
}

static void s_puts(s_text_t *t, const char *text)
{
    s_put(t, text, strlen(text));
}

static void s_printf(s_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_printf(s_text_t *t, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert(len >= 0 && (size_t)len < sizeof(buf));
    s_put(t, buf, (size_t)len);
}

/* The length of the UTF-8 character at p (at most `left` bytes) as
 * jansson accepts it: no overlong form, no surrogate, nothing past
 * U+10FFFF; 0 when invalid. */
static size_t s_utf8_char(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n = c < 0x80   ? 1
               : c < 0xc2 ? 0
               : c < 0xe0 ? 2
               : c < 0xf0 ? 3
               : c < 0xf5 ? 4
                          : 0;
    if (n <= 1 || n > left)
        return n > left ? 0 : n;
    uint32_t value = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (value < 0x800 || (value >= 0xd800 && value <= 0xdfff))) ||
        (n == 4 && (value < 0x10000 || value > 0x10ffff)))
        return 0;
    return n;
}

/* A JSON string escaped as jansson's dump escapes it without flags; NULL
 * or text that is not UTF-8 fails the whole, as it fails json_pack. */
static void s_string(s_text_t *t, const char *text)
{
    if (!text) {
        t->ok = false;
        return;
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t left = strlen(text), run = 0;
    s_put(t, "\"", 1);
    while (run < left) {
        size_t n = s_utf8_char(p + run, left - run);
        if (n == 0) {
            t->ok = false;
            return;
        }
        unsigned char c = p[run];
        if (n > 1 || (c >= 0x20 && c != '"' && c != '\\')) {
            run += n;
            continue;
        }
        s_put(t, (const char *)p, run);
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (esc)
            s_puts(t, esc);
        else
            s_printf(t, "\\u%04X", (unsigned)c);
        p += run + 1;
        left -= run + 1;
        run = 0;
    }
    s_put(t, (const char *)p, run);
    s_put(t, "\"", 1);
}

/* "key": with its comma when it follows another member. */
static void s_key(s_text_t *t, const char *key, bool first)
{
    if (!first)
        s_put(t, ",", 1);
    s_string(t, key);
    s_put(t, ":", 1);
}

static void s_string_or_null(s_text_t *t, bool have, const char *text)
{
    if (have)
        s_string(t, text);
    else
        s_puts(t, "null");
}

/* admin_json_time as text. */
static void s_time(s_text_t *t, int64_t ms)
{
    if (ms <= 0) {
        s_puts(t, "null");
        return;
    }
    char buf[ADMIN_JSON_TIME_MAX];
    admin_json_time_text(ms, buf);
    s_string(t, buf);
}

static void s_nic_text(s_text_t *t, const db_vm_nic_t *nic, uint32_t index,
                       const policy_t *policy)
{
    char mac[18];
    vfp_mac_format(nic->mac, mac);
    bool held = nic->pf[0] != '\0';
    const policy_network_t *net =
        policy ? policy_network_find(policy, nic->network) : NULL;
    s_put(t, "{", 1);
    s_key(t, "index", true);
    s_printf(t, "%" PRIu32, index);
    s_key(t, "network", false);
    s_string(t, nic->network);
    s_key(t, "mac", false);
    s_string(t, mac);
    s_key(t, "pf", false);
    s_string_or_null(t, held, nic->pf);
    s_key(t, "pf_ifname", false);
    s_string_or_null(t, held, nic->pf_ifname);
    s_key(t, "vf", false);
    if (held)
        s_printf(t, "%u", (unsigned)nic->vf);
    else
        s_puts(t, "null");
    s_key(t, "vf_pci", false);
    s_string_or_null(t, held && nic->vf_pci[0], nic->vf_pci);
    s_key(t, "vlan", false);
    if (net)
        s_printf(t, "%d", net->trunk ? 0 : (int)net->vlan);
    else
        s_puts(t, "null");
    s_key(t, "trunk", false);
    s_puts(t, net && net->trunk ? "true" : "false");
    s_put(t, "}", 1);
}

/* The members of vm_json up to "nics", in its order. */
static void s_vm_members(s_text_t *t, const db_vm_t *vm, const policy_t *policy)
{
    s_key(t, "name", true);
    s_string(t, vm->name);
    s_key(t, "state", false);
    s_string(t, vm_json_state(vm));
    s_key(t, "host", false);
    s_string_or_null(t, vm->host[0], vm->host);
    s_key(t, "memory_mib", false);
    s_printf(t, "%lld", (long long)vm->memory_mib);
    s_key(t, "vcpus", false);
    s_printf(t, "%" PRIu32, vm->vcpus);
    s_key(t, "power", false);
    s_string(t, db_vm_power_name(vm->power));
    s_key(t, "group", false);
    s_string(t, vm->group);
    s_key(t, "numa", false);
    s_string(t, vm->numa[0] ? vm->numa : "none");
    s_key(t, "separate_pfs", false);
    s_puts(t, vm->separate_pfs ? "true" : "false");
    s_key(t, "pin", false);
    s_string(t, vm->pin);
    s_key(t, "error", false);
    s_string(t, vm->error);
    s_key(t, "created_at", false);
    s_time(t, vm->created_at_ms);
    s_key(t, "placed_at", false);
    s_time(t, vm->placed_at_ms);
    s_key(t, "hugepages", false);
    s_string(t, s_hugepages(policy));
}

char *vm_json_text(const db_vm_t *vm, const policy_t *policy)
{
    s_text_t t = {.ok = true};
    s_put(&t, "{", 1);
    s_vm_members(&t, vm, policy);
    s_key(&t, "nics", false);
    s_put(&t, "[", 1);
    for (uint32_t i = 0; i < vm->nic_count; i++) {
        if (i > 0)
            s_put(&t, ",", 1);
        s_nic_text(&t, &vm->nics[i], i, policy);
    }
    s_put(&t, "]", 1);
    s_key(&t, "pinned", false);
    s_string(&t, VM_JSON_PINNED);
    s_put(&t, "}", 1);
    if (!t.ok) {
        free(t.data);
        return NULL;
    }
    return t.data;
}
