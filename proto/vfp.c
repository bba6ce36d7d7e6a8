/* vfp.c - the vfleet wire codec: one field walker that reads, writes and
 * validates every message, so encoder, decoder and checks cannot drift. */
#include "vfp.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each message is described once, by a walker over its fields in wire order.
 * The same walker decodes (S_READ), encodes (S_WRITE) or only checks
 * (S_CHECK, what vfp_validate runs), and every rule sits next to the field
 * it governs. A rule that fails stops the walk with the field's path. */
typedef enum { S_READ, S_WRITE, S_CHECK } s_mode_t;

typedef struct {
    s_mode_t mode;
    const uint8_t *data; /* S_READ: input */
    size_t size;
    size_t pos;
    uint8_t *buf; /* S_WRITE: output; S_CHECK only counts len */
    size_t len;
    size_t cap;
    char path[sizeof(((vfp_decode_error_t *)0)->field)];
    size_t path_len;
    uint32_t vf_total; /* VFs seen so far, across all PFs */
    vfp_decode_error_t *err;
} s_ctx_t;

/* Smallest wire size of one list item. Checked against the bytes left
 * before a list is allocated, so a short message cannot make the decoder
 * allocate more than a small multiple of its own size. */
#define S_WIRE_STR 2
#define S_WIRE_VF 37
#define S_WIRE_PF 29
#define S_WIRE_HUGEPAGES 20
#define S_WIRE_APPLY_PF 4
#define S_WIRE_APPLY_VF 30
#define S_WIRE_APPLY_HUGEPAGES 12
#define S_WIRE_RESULT 13
#define S_WIRE_PARAM 4

#define S_TRY(expr)                                                            \
    do {                                                                       \
        if ((expr) != 0)                                                       \
            goto malformed;                                                    \
    } while (0)

static const char *s_id_names[] = {
    NULL,        "HELLO", "WELCOME",      "INVENTORY", "INVENTORY_DELTA",
    "HEARTBEAT", "APPLY", "APPLY_RESULT", "ERROR",     "REQUEST",
    "REPLY"};

/* Lower-case names that start every field path. */
static const char *s_id_paths[] = {
    NULL,        "hello", "welcome",      "inventory", "inventory_delta",
    "heartbeat", "apply", "apply_result", "error",     "request",
    "reply"};

static const char *s_errcode_names[] = {
    "OK",          "MALFORMED", "VERSION",  "UNEXPECTED",
    "NOT_WELCOME", "DENIED",    "RESYNC",   "INVALID",
    "NOT_FOUND",   "CONFLICT",  "INTERNAL", "UNKNOWN_VERB"};

/* ---- paths and errors ------------------------------------------------ */

/* Appends text to the path, cut short at its end. Every field of every
 * message enters the path, so this is written out rather than snprintf
 * (which was most of the cost of decoding a delta's VFs). */
static void s_path_append(s_ctx_t *c, const char *text)
{
    size_t len = c->path_len;
    size_t n = strnlen(text, sizeof c->path - 1 - len);
    memcpy(c->path + len, text, n);
    c->path_len = len + n;
    c->path[c->path_len] = '\0';
}

static size_t s_enter(s_ctx_t *c, const char *name)
{
    size_t mark = c->path_len;
    if (mark)
        s_path_append(c, ".");
    s_path_append(c, name);
    return mark;
}

static size_t s_enter_index(s_ctx_t *c, const char *name, uint32_t index)
{
    size_t mark = s_enter(c, name);
    char text[16];
    size_t at = sizeof text;
    text[--at] = '\0';
    text[--at] = ']';
    do {
        text[--at] = (char)('0' + index % 10);
        index /= 10;
    } while (index);
    text[--at] = '[';
    s_path_append(c, text + at);
    return mark;
}

static void s_leave(s_ctx_t *c, size_t mark)
{
    c->path_len = mark;
    c->path[mark] = '\0';
}

/* Appends src to the NUL-terminated string in dst[cap], cutting it short. */
static void s_append(char *dst, size_t cap, const char *src)
{
    size_t len = strnlen(dst, cap - 1);
    size_t n = strnlen(src, cap - 1 - len);
    memcpy(dst + len, src, n);
    dst[len + n] = '\0';
}

/* Records why field `name` (under the current path; NULL for the path
 * itself) is bad. Always returns -1 so callers can `return s_fail(...)`. */
__attribute__((format(printf, 3, 4))) static int
s_fail(s_ctx_t *c, const char *name, const char *fmt, ...)
{
    vfp_decode_error_t *err = c->err;
    err->code = VFP_ERR_MALFORMED;
    /* A path longer than the buffer is cut short; the text still says
     * what was wrong. */
    err->field[0] = '\0';
    s_append(err->field, sizeof err->field, name && c->path_len ? c->path : "");
    s_append(err->field, sizeof err->field, name && c->path_len ? "." : "");
    s_append(err->field, sizeof err->field, name ? name : c->path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- primitives ------------------------------------------------------ */

static int s_need(s_ctx_t *c, const char *name, size_t n)
{
    if (c->size - c->pos < n)
        return s_fail(c, name, "truncated: %zu bytes needed, %zu left", n,
                      c->size - c->pos);
    return 0;
}

static int s_put(s_ctx_t *c, const char *name, const void *bytes, size_t n)
{
    /* An empty body may come with a NULL pointer, which memcpy must not see
     * even for zero bytes. */
    if (n == 0)
        return 0;
    /* Unreachable while the field limits hold (test_vfp_limits builds the
     * largest message of every id); kept so that a limit raised too far
     * makes the encoder refuse what no receiver would take. */
    if (n > VFP_MSG_MAX - c->len)
        return s_fail(c, name, "message would exceed %u bytes", VFP_MSG_MAX);
    if (c->mode == S_WRITE) {
        if (c->len + n > c->cap) {
            size_t cap = c->cap ? c->cap : 256;
            while (cap < c->len + n)
                cap *= 2;
            c->buf = realloc(c->buf, cap);
            assert(c->buf);
            c->cap = cap;
        }
        memcpy(c->buf + c->len, bytes, n);
    }
    c->len += n;
    return 0;
}

static uint64_t s_get_be(s_ctx_t *c, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | c->data[c->pos + i];
    c->pos += n;
    return v;
}

/* Reads or writes an n-byte big-endian unsigned integer through *v. */
static int s_uint(s_ctx_t *c, const char *name, uint64_t *v, size_t n)
{
    if (c->mode == S_READ) {
        if (s_need(c, name, n))
            return -1;
        *v = s_get_be(c, n);
        return 0;
    }
    uint8_t bytes[8];
    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)(*v >> (8 * (n - 1 - i)));
    return s_put(c, name, bytes, n);
}

static int s_u8(s_ctx_t *c, const char *name, uint8_t *v)
{
    uint64_t x = *v;
    int rc = s_uint(c, name, &x, 1);
    *v = (uint8_t)x;
    return rc;
}

static int s_u16(s_ctx_t *c, const char *name, uint16_t *v)
{
    uint64_t x = *v;
    int rc = s_uint(c, name, &x, 2);
    *v = (uint16_t)x;
    return rc;
}

static int s_u32(s_ctx_t *c, const char *name, uint32_t *v)
{
    uint64_t x = *v;
    int rc = s_uint(c, name, &x, 4);
    *v = (uint32_t)x;
    return rc;
}

static int s_u64(s_ctx_t *c, const char *name, uint64_t *v)
{
    return s_uint(c, name, v, 8);
}

/* Signed integers are two's complement; the conversions are spelled out
 * because converting an out-of-range unsigned value is not portable C. */
static int s_i16(s_ctx_t *c, const char *name, int16_t *v)
{
    uint64_t x = (uint16_t)*v;
    if (s_uint(c, name, &x, 2))
        return -1;
    *v = x >= 0x8000u ? (int16_t)((int32_t)x - 0x10000) : (int16_t)x;
    return 0;
}

static int s_i32(s_ctx_t *c, const char *name, int32_t *v)
{
    uint64_t x = (uint32_t)*v;
    if (s_uint(c, name, &x, 4))
        return -1;
    *v = x >= 0x80000000u ? (int32_t)((int64_t)x - 0x100000000) : (int32_t)x;
    return 0;
}

static int s_bool(s_ctx_t *c, const char *name, bool *v)
{
    uint8_t x = *v ? 1 : 0;
    if (s_u8(c, name, &x))
        return -1;
    if (x > 1)
        return s_fail(c, name, "boolean is %u, not 0 or 1", x);
    *v = x == 1;
    return 0;
}

/* A one-byte enumeration: checks the range in every mode. The model's enum
 * fields are assigned only when reading, so encoding never writes. */
static int s_enum8(s_ctx_t *c, const char *name, int *v, int min, int max)
{
    if (c->mode != S_READ && (*v < min || *v > max))
        return s_fail(c, name, "%d is out of range %d..%d", *v, min, max);
    uint8_t x = (uint8_t)*v;
    if (s_u8(c, name, &x))
        return -1;
    if (x < min || x > max)
        return s_fail(c, name, "%u is out of range %d..%d", x, min, max);
    *v = x;
    return 0;
}

#define S_ENUM8(c, name, lvalue, min, max)                                     \
    do {                                                                       \
        int e_ = (int)(lvalue);                                                \
        S_TRY(s_enum8(c, name, &e_, min, max));                                \
        if ((c)->mode == S_READ)                                               \
            (lvalue) = e_;                                                     \
    } while (0)

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF. */
static bool s_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t more;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            more = 1, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            more = 2, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            more = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

/* Checks the bytes of a string field: no NUL, valid UTF-8, not empty when
 * required. Shared by the short and the long string forms. */
static int s_text_check(s_ctx_t *c, const char *name, const char *s, size_t n,
                        bool required)
{
    if (memchr(s, '\0', n))
        return s_fail(c, name, "contains a NUL byte");
    if (!s_utf8_valid((const uint8_t *)s, n))
        return s_fail(c, name, "is not valid UTF-8");
    if (required && n == 0)
        return s_fail(c, name, "must not be empty");
    return 0;
}

/* string: uint16 length, then that many bytes. `s` holds max + 1 bytes. */
static int s_str(s_ctx_t *c, const char *name, char *s, size_t max,
                 bool required)
{
    uint16_t n = 0;
    if (c->mode == S_READ) {
        if (s_u16(c, name, &n))
            return -1;
        if (n > max)
            return s_fail(c, name, "length %u exceeds the limit of %zu bytes",
                          n, max);
        if (s_need(c, name, n))
            return -1;
        memcpy(s, c->data + c->pos, n);
        s[n] = '\0';
        c->pos += n;
    } else {
        size_t len = strnlen(s, max + 1);
        if (len > max)
            return s_fail(c, name, "longer than %zu bytes", max);
        n = (uint16_t)len;
        if (s_u16(c, name, &n) || s_put(c, name, s, n))
            return -1;
    }
    return s_text_check(c, name, s, n, required);
}

/* longstr: uint32 length, then that many bytes; the decoded model gets a
 * NUL-terminated copy, or NULL when the length is 0. */
static int s_longstr(s_ctx_t *c, const char *name, char **s, uint32_t *len,
                     uint32_t max)
{
    uint32_t n = *len;
    if (c->mode != S_READ && n > 0 && *s == NULL)
        return s_fail(c, name, "is NULL but its length is %" PRIu32, n);
    if (c->mode != S_READ && n > max)
        return s_fail(c, name,
                      "length %" PRIu32 " exceeds the limit of %" PRIu32
                      " bytes",
                      n, max);
    if (s_u32(c, name, &n))
        return -1;
    if (c->mode == S_READ) {
        if (n > max)
            return s_fail(c, name,
                          "length %" PRIu32 " exceeds the limit of %" PRIu32
                          " bytes",
                          n, max);
        if (s_need(c, name, n))
            return -1;
        if (n > 0) {
            *s = malloc((size_t)n + 1);
            assert(*s);
            memcpy(*s, c->data + c->pos, n);
            (*s)[n] = '\0';
            c->pos += n;
        }
        *len = n;
    } else if (s_put(c, name, *s, n)) {
        return -1;
    }
    return n ? s_text_check(c, name, *s, n, false) : 0;
}

/* A host name: a string that also follows vfp_hostname_check. Names are
 * data that end up in logs, terminals and file names, so the codec admits
 * only what DNS admits. */
static int s_hostname(s_ctx_t *c, const char *name, char *s)
{
    if (s_str(c, name, s, VFP_HOSTNAME_MAX, true))
        return -1;
    char why[96];
    if (vfp_hostname_check(s, why, sizeof why))
        return s_fail(c, name, "%s", why);
    return 0;
}

static int s_mac(s_ctx_t *c, const char *name, uint8_t mac[6])
{
    if (c->mode == S_READ) {
        if (s_need(c, name, 6))
            return -1;
        memcpy(mac, c->data + c->pos, 6);
        c->pos += 6;
        return 0;
    }
    return s_put(c, name, mac, 6);
}

/* A list's uint32 item count. When reading, also refuses counts the rest of
 * the message cannot possibly hold, before anything is allocated. */
static int s_count(s_ctx_t *c, const char *name, uint32_t *count, uint32_t max,
                   size_t min_wire)
{
    if (c->mode != S_READ && *count > max)
        return s_fail(c, name, "%" PRIu32 " items exceed the limit of %" PRIu32,
                      *count, max);
    if (s_u32(c, name, count))
        return -1;
    if (c->mode == S_READ) {
        if (*count > max)
            return s_fail(c, name,
                          "%" PRIu32 " items exceed the limit of %" PRIu32,
                          *count, max);
        if ((size_t)*count * min_wire > c->size - c->pos)
            return s_fail(c, name,
                          "truncated: %" PRIu32
                          " items need at least %zu bytes, %zu left",
                          *count, (size_t)*count * min_wire, c->size - c->pos);
    }
    return 0;
}

/* A list in a separately allocated array: count and pointer are set
 * together, so a half-decoded message can always be destroyed. */
#define S_LIST(c, name, count, items, max, min_wire)                           \
    do {                                                                       \
        uint32_t n_ = (count);                                                 \
        S_TRY(s_count(c, name, &n_, max, min_wire));                           \
        if ((c)->mode == S_READ) {                                             \
            if (n_ > 0) {                                                      \
                (items) = calloc(n_, sizeof *(items));                         \
                assert(items);                                                 \
            }                                                                  \
            (count) = n_;                                                      \
        } else if (n_ > 0 && (items) == NULL) {                                \
            s_fail(c, name, "is NULL but its count is %" PRIu32, n_);          \
            goto malformed;                                                    \
        }                                                                      \
    } while (0)

/* ---- messages -------------------------------------------------------- */

static int s_hugepages(s_ctx_t *c, vfp_hugepages_t *hp)
{
    S_TRY(s_u32(c, "size_kb", &hp->size_kb));
    if (hp->size_kb == 0)
        return s_fail(c, "size_kb", "must not be 0");
    S_TRY(s_u64(c, "total", &hp->total));
    S_TRY(s_u64(c, "free", &hp->free));
    return 0;
malformed:
    return -1;
}

static int s_host(s_ctx_t *c, vfp_host_t *host)
{
    S_TRY(s_hostname(c, "hostname", host->hostname));
    S_TRY(s_str(c, "boot_id", host->boot_id, VFP_NAME_MAX, false));
    S_TRY(s_str(c, "kernel", host->kernel, VFP_NAME_MAX, false));
    S_ENUM8(c, "cpu_virt", host->cpu_virt, VFP_VIRT_NONE, VFP_VIRT_SVM);
    S_TRY(s_bool(c, "iommu_ready", &host->iommu_ready));
    S_TRY(s_u16(c, "iommu_units", &host->iommu_units));
    S_TRY(s_u32(c, "iommu_groups", &host->iommu_groups));
    S_TRY(s_str(c, "iommu_cmdline", host->iommu_cmdline, VFP_TEXT_MAX, false));
    S_TRY(s_count(c, "reasons", &host->reason_count, VFP_REASONS_MAX,
                  S_WIRE_STR));
    for (uint32_t i = 0; i < host->reason_count; i++) {
        char name[32];
        snprintf(name, sizeof name, "reasons[%" PRIu32 "]", i);
        S_TRY(s_str(c, name, host->reasons[i], VFP_TEXT_MAX, true));
    }
    S_TRY(s_u64(c, "mem_total_kb", &host->mem_total_kb));
    S_TRY(s_u64(c, "mem_available_kb", &host->mem_available_kb));
    S_TRY(s_count(c, "hugepages", &host->hugepage_count, VFP_HUGEPAGES_MAX,
                  S_WIRE_HUGEPAGES));
    for (uint32_t i = 0; i < host->hugepage_count; i++) {
        size_t mark = s_enter_index(c, "hugepages", i);
        S_TRY(s_hugepages(c, &host->hugepages[i]));
        for (uint32_t k = 0; k < i; k++)
            if (host->hugepages[k].size_kb == host->hugepages[i].size_kb)
                return s_fail(c, "size_kb",
                              "%" PRIu32 " kB already listed at [%" PRIu32 "]",
                              host->hugepages[i].size_kb, k);
        s_leave(c, mark);
    }
    return 0;
malformed:
    return -1;
}

static int s_vf(s_ctx_t *c, vfp_vf_t *vf)
{
    S_TRY(s_u16(c, "index", &vf->index));
    S_TRY(s_str(c, "pci_addr", vf->pci_addr, VFP_PCI_ADDR_MAX, false));
    S_TRY(s_i32(c, "iommu_group", &vf->iommu_group));
    if (vf->iommu_group < -1)
        return s_fail(c, "iommu_group", "%" PRId32 " is below -1",
                      vf->iommu_group);
    S_TRY(s_bool(c, "iommu_isolated", &vf->iommu_isolated));
    S_TRY(s_str(c, "driver", vf->driver, VFP_NAME_MAX, false));
    /* The kernel may report any six bytes here (even a multicast address a
     * driver would refuse to set), so every value is accepted. */
    S_TRY(s_mac(c, "mac", vf->mac));
    S_TRY(s_u16(c, "vlan", &vf->vlan));
    if (vf->vlan > VFP_VLAN_MAX)
        return s_fail(c, "vlan", "%u exceeds %u", vf->vlan, VFP_VLAN_MAX);
    S_TRY(s_u8(c, "qos", &vf->qos));
    if (vf->qos > VFP_QOS_MAX)
        return s_fail(c, "qos", "%u exceeds %u", vf->qos, VFP_QOS_MAX);
    S_TRY(s_u16(c, "vlan_proto", &vf->vlan_proto));
    if (vf->vlan_proto != 0 && vf->vlan_proto != VFP_VLAN_PROTO_8021Q &&
        vf->vlan_proto != VFP_VLAN_PROTO_8021AD)
        return s_fail(c, "vlan_proto", "0x%04x is not 0, 0x8100 or 0x88a8",
                      vf->vlan_proto);
    S_ENUM8(c, "spoofchk", vf->spoofchk, VFP_OFF, VFP_UNKNOWN);
    S_ENUM8(c, "trust", vf->trust, VFP_OFF, VFP_UNKNOWN);
    S_ENUM8(c, "link_state", vf->link_state, VFP_LINK_AUTO, VFP_LINK_DISABLE);
    S_TRY(s_u32(c, "min_tx_rate", &vf->min_tx_rate));
    S_TRY(s_u32(c, "max_tx_rate", &vf->max_tx_rate));
    S_TRY(s_bool(c, "settings_known", &vf->settings_known));
    S_TRY(s_bool(c, "in_use", &vf->in_use));
    S_TRY(s_str(c, "note", vf->note, VFP_VF_NOTE_MAX, false));
    return 0;
malformed:
    return -1;
}

static int s_pf(s_ctx_t *c, vfp_pf_t *pf)
{
    S_TRY(s_str(c, "pci_addr", pf->pci_addr, VFP_PCI_ADDR_MAX, true));
    S_TRY(s_str(c, "ifname", pf->ifname, VFP_NAME_MAX, false));
    S_TRY(s_str(c, "driver", pf->driver, VFP_NAME_MAX, false));
    S_TRY(s_str(c, "vf_driver", pf->vf_driver, VFP_NAME_MAX, false));
    S_TRY(s_u16(c, "vendor_id", &pf->vendor_id));
    S_TRY(s_u16(c, "device_id", &pf->device_id));
    S_TRY(s_i16(c, "numa_node", &pf->numa_node));
    if (pf->numa_node < -1)
        return s_fail(c, "numa_node", "%d is below -1", pf->numa_node);
    S_TRY(s_u32(c, "link_speed", &pf->link_speed));
    S_TRY(s_bool(c, "link_up", &pf->link_up));
    S_TRY(s_u16(c, "total_vfs", &pf->total_vfs));
    /* total_vfs 0 means the driver did not say; otherwise the kernel never
     * enables, or links, more VFs than it. */
    S_TRY(s_u16(c, "num_vfs", &pf->num_vfs));
    if (pf->total_vfs && pf->num_vfs > pf->total_vfs)
        return s_fail(c, "num_vfs", "%u exceeds total_vfs %u", pf->num_vfs,
                      pf->total_vfs);
    S_TRY(s_str(c, "note", pf->note, VFP_TEXT_MAX, false));
    S_LIST(c, "vfs", pf->vf_count, pf->vfs, VFP_VFS_MAX, S_WIRE_VF);
    if (pf->total_vfs && pf->vf_count > pf->total_vfs)
        return s_fail(c, "vfs", "%" PRIu32 " VFs listed but total_vfs is %u",
                      pf->vf_count, pf->total_vfs);
    /* 256 PFs of 1024 VFs would be over 300 MB decoded; a host never has
     * that many, and APPLY could not configure them anyway. */
    c->vf_total += pf->vf_count;
    if (c->vf_total > VFP_HOST_VFS_MAX)
        return s_fail(c, "vfs",
                      "%" PRIu32 " VFs in the message exceed the limit of %u",
                      c->vf_total, VFP_HOST_VFS_MAX);
    for (uint32_t i = 0; i < pf->vf_count; i++) {
        size_t mark = s_enter_index(c, "vfs", i);
        S_TRY(s_vf(c, &pf->vfs[i]));
        if (pf->total_vfs && pf->vfs[i].index >= pf->total_vfs)
            return s_fail(c, "index", "%u is not below total_vfs %u",
                          pf->vfs[i].index, pf->total_vfs);
        if (i > 0 && pf->vfs[i].index <= pf->vfs[i - 1].index)
            return s_fail(c, "index",
                          "%u does not follow %u: VFs must be in increasing "
                          "index order",
                          pf->vfs[i].index, pf->vfs[i - 1].index);
        s_leave(c, mark);
    }
    return 0;
malformed:
    return -1;
}

/* A list of complete PFs, as in INVENTORY and INVENTORY_DELTA. */
static int s_pf_list(s_ctx_t *c, uint32_t *count, vfp_pf_t **pfs)
{
    S_LIST(c, "pfs", *count, *pfs, VFP_PFS_MAX, S_WIRE_PF);
    for (uint32_t i = 0; i < *count; i++) {
        size_t mark = s_enter_index(c, "pfs", i);
        S_TRY(s_pf(c, &(*pfs)[i]));
        for (uint32_t k = 0; k < i; k++)
            if (strcmp((*pfs)[k].pci_addr, (*pfs)[i].pci_addr) == 0)
                return s_fail(c, "pci_addr",
                              "\"%s\" already listed at [%" PRIu32 "]",
                              (*pfs)[i].pci_addr, k);
        s_leave(c, mark);
    }
    return 0;
malformed:
    return -1;
}

static int s_hello(s_ctx_t *c, vfp_hello_t *m)
{
    S_TRY(s_hostname(c, "hostname", m->hostname));
    S_TRY(s_str(c, "agent_version", m->agent_version, VFP_NAME_MAX, false));
    S_TRY(s_str(c, "boot_id", m->boot_id, VFP_NAME_MAX, false));
    S_TRY(s_u8(c, "proto_min", &m->proto_min));
    if (m->proto_min == 0)
        return s_fail(c, "proto_min", "must not be 0");
    S_TRY(s_u8(c, "proto_max", &m->proto_max));
    if (m->proto_max < m->proto_min)
        return s_fail(c, "proto_max", "%u is below proto_min %u", m->proto_max,
                      m->proto_min);
    return 0;
malformed:
    return -1;
}

static int s_welcome(s_ctx_t *c, vfp_welcome_t *m)
{
    S_TRY(s_u8(c, "proto_version", &m->proto_version));
    if (m->proto_version == 0)
        return s_fail(c, "proto_version", "must not be 0");
    S_TRY(s_u32(c, "heartbeat_ms", &m->heartbeat_ms));
    if (m->heartbeat_ms == 0)
        return s_fail(c, "heartbeat_ms", "must not be 0");
    S_TRY(s_str(c, "controller_id", m->controller_id, VFP_NAME_MAX, false));
    return 0;
malformed:
    return -1;
}

static int s_inventory(s_ctx_t *c, vfp_inventory_t *m)
{
    S_TRY(s_u64(c, "generation", &m->generation));
    size_t mark = s_enter(c, "host");
    S_TRY(s_host(c, &m->host));
    s_leave(c, mark);
    return s_pf_list(c, &m->pf_count, &m->pfs);
malformed:
    return -1;
}

static int s_delta(s_ctx_t *c, vfp_inventory_delta_t *m)
{
    S_TRY(s_u64(c, "base_generation", &m->base_generation));
    S_TRY(s_u64(c, "generation", &m->generation));
    if (m->generation <= m->base_generation)
        return s_fail(c, "generation",
                      "%" PRIu64 " is not above base_generation %" PRIu64,
                      m->generation, m->base_generation);
    S_TRY(s_bool(c, "has_host", &m->has_host));
    if (m->has_host) {
        size_t mark = s_enter(c, "host");
        S_TRY(s_host(c, &m->host));
        s_leave(c, mark);
    }
    S_TRY(s_pf_list(c, &m->pf_count, &m->pfs));
    S_LIST(c, "removed", m->removed_count, m->removed, VFP_REMOVED_MAX,
           S_WIRE_STR);
    for (uint32_t i = 0; i < m->removed_count; i++) {
        char name[32];
        snprintf(name, sizeof name, "removed[%" PRIu32 "]", i);
        S_TRY(s_str(c, name, m->removed[i], VFP_PCI_ADDR_MAX, true));
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(m->removed[k], m->removed[i]) == 0)
                return s_fail(c, name, "\"%s\" already listed at [%" PRIu32 "]",
                              m->removed[i], k);
        for (uint32_t k = 0; k < m->pf_count; k++)
            if (strcmp(m->pfs[k].pci_addr, m->removed[i]) == 0)
                return s_fail(c, name, "\"%s\" is also in pfs[%" PRIu32 "]",
                              m->removed[i], k);
    }
    return 0;
malformed:
    return -1;
}

static int s_heartbeat(s_ctx_t *c, vfp_heartbeat_t *m)
{
    S_TRY(s_u64(c, "generation", &m->generation));
    S_TRY(s_u64(c, "applied_revision", &m->applied_revision));
    return 0;
malformed:
    return -1;
}

/* A field whose VFP_SET_* bit is clear must be zero, so that two encodings
 * of the same desired state are always the same bytes. */
static int s_unset_zero(s_ctx_t *c, const char *name, uint64_t value,
                        const char *bit)
{
    if (value != 0)
        return s_fail(c, name, "is %" PRIu64 " but %s is clear in set", value,
                      bit);
    return 0;
}

static int s_apply_vf_rules(s_ctx_t *c, const vfp_apply_vf_t *vf)
{
    uint64_t mac = 0;
    for (int i = 0; i < 6; i++)
        mac = (mac << 8) | vf->mac[i];
    if (!(vf->set & VFP_SET_MAC))
        S_TRY(s_unset_zero(c, "mac", mac, "VFP_SET_MAC"));
    else if (vf->mac[0] & 1)
        return s_fail(c, "mac",
                      "%02x:%02x:%02x:%02x:%02x:%02x is a multicast "
                      "address",
                      vf->mac[0], vf->mac[1], vf->mac[2], vf->mac[3],
                      vf->mac[4], vf->mac[5]);
    if (!(vf->set & VFP_SET_VLAN)) {
        S_TRY(s_unset_zero(c, "vlan", vf->vlan, "VFP_SET_VLAN"));
        S_TRY(s_unset_zero(c, "qos", vf->qos, "VFP_SET_VLAN"));
        S_TRY(s_unset_zero(c, "vlan_proto", vf->vlan_proto, "VFP_SET_VLAN"));
    } else if (vf->vlan_proto != VFP_VLAN_PROTO_8021Q &&
               vf->vlan_proto != VFP_VLAN_PROTO_8021AD) {
        return s_fail(c, "vlan_proto", "0x%04x is not 0x8100 or 0x88a8",
                      vf->vlan_proto);
    }
    if (!(vf->set & VFP_SET_SPOOFCHK))
        S_TRY(s_unset_zero(c, "spoofchk", (uint64_t)vf->spoofchk,
                           "VFP_SET_SPOOFCHK"));
    if (!(vf->set & VFP_SET_TRUST))
        S_TRY(s_unset_zero(c, "trust", (uint64_t)vf->trust, "VFP_SET_TRUST"));
    if (!(vf->set & VFP_SET_LINK_STATE))
        S_TRY(s_unset_zero(c, "link_state", (uint64_t)vf->link_state,
                           "VFP_SET_LINK_STATE"));
    if (!(vf->set & VFP_SET_RATE)) {
        S_TRY(s_unset_zero(c, "min_tx_rate", vf->min_tx_rate, "VFP_SET_RATE"));
        S_TRY(s_unset_zero(c, "max_tx_rate", vf->max_tx_rate, "VFP_SET_RATE"));
    } else if (vf->max_tx_rate != 0 && vf->min_tx_rate > vf->max_tx_rate) {
        return s_fail(c, "min_tx_rate",
                      "%" PRIu32 " exceeds max_tx_rate %" PRIu32,
                      vf->min_tx_rate, vf->max_tx_rate);
    }
    if (!(vf->set & VFP_SET_MTU))
        S_TRY(s_unset_zero(c, "mtu", vf->mtu, "VFP_SET_MTU"));
    else if (vf->mtu < 68)
        return s_fail(c, "mtu", "%u is below 68", vf->mtu);
    return 0;
malformed:
    return -1;
}

static int s_apply_vf(s_ctx_t *c, vfp_apply_vf_t *vf)
{
    S_TRY(s_str(c, "pf", vf->pf, VFP_PCI_ADDR_MAX, true));
    S_TRY(s_u16(c, "index", &vf->index));
    S_TRY(s_u16(c, "set", &vf->set));
    if (vf->set & ~VFP_SET_ALL)
        return s_fail(c, "set", "0x%04x has bits outside 0x%04x", vf->set,
                      VFP_SET_ALL);
    S_TRY(s_mac(c, "mac", vf->mac));
    S_TRY(s_u16(c, "vlan", &vf->vlan));
    if (vf->vlan > VFP_APPLY_VLAN_MAX)
        return s_fail(c, "vlan", "%u exceeds %u (4095 is reserved by 802.1Q)",
                      vf->vlan, VFP_APPLY_VLAN_MAX);
    S_TRY(s_u8(c, "qos", &vf->qos));
    if (vf->qos > VFP_QOS_MAX)
        return s_fail(c, "qos", "%u exceeds %u", vf->qos, VFP_QOS_MAX);
    S_TRY(s_u16(c, "vlan_proto", &vf->vlan_proto));
    /* Only on and off can be asked for; "unknown" is a reading. */
    S_ENUM8(c, "spoofchk", vf->spoofchk, VFP_OFF, VFP_ON);
    S_ENUM8(c, "trust", vf->trust, VFP_OFF, VFP_ON);
    S_ENUM8(c, "link_state", vf->link_state, VFP_LINK_AUTO, VFP_LINK_DISABLE);
    S_TRY(s_u32(c, "min_tx_rate", &vf->min_tx_rate));
    S_TRY(s_u32(c, "max_tx_rate", &vf->max_tx_rate));
    S_TRY(s_u16(c, "mtu", &vf->mtu));
    return s_apply_vf_rules(c, vf);
malformed:
    return -1;
}

typedef struct {
    const vfp_apply_vf_t *vf;
    uint32_t position;
} s_vf_ref_t;

static int s_vf_ref_compare(const void *a, const void *b)
{
    const s_vf_ref_t *x = a, *y = b;
    int rc = strcmp(x->vf->pf, y->vf->pf);
    if (rc)
        return rc;
    if (x->vf->index != y->vf->index)
        return x->vf->index < y->vf->index ? -1 : 1;
    return x->position < y->position ? -1 : x->position > y->position;
}

/* Refuses two items for the same (pf, index): the agent could not tell
 * which one the controller meant. Sorting keeps 16384 items cheap. */
static int s_apply_vf_duplicates(s_ctx_t *c, const vfp_apply_t *m)
{
    if (m->vf_count < 2)
        return 0;
    s_vf_ref_t *refs = malloc(m->vf_count * sizeof *refs);
    assert(refs);
    for (uint32_t i = 0; i < m->vf_count; i++)
        refs[i] = (s_vf_ref_t){&m->vfs[i], i};
    qsort(refs, m->vf_count, sizeof *refs, s_vf_ref_compare);
    int rc = 0;
    for (uint32_t i = 1; i < m->vf_count && rc == 0; i++) {
        if (strcmp(refs[i].vf->pf, refs[i - 1].vf->pf) == 0 &&
            refs[i].vf->index == refs[i - 1].vf->index) {
            size_t mark = s_enter_index(c, "vfs", refs[i].position);
            rc = s_fail(
                c, NULL, "pf \"%s\" vf %u is already set by vfs[%" PRIu32 "]",
                refs[i].vf->pf, refs[i].vf->index, refs[i - 1].position);
            s_leave(c, mark);
        }
    }
    free(refs);
    return rc;
}

static int s_apply(s_ctx_t *c, vfp_apply_t *m)
{
    S_TRY(s_u64(c, "revision", &m->revision));
    S_LIST(c, "pfs", m->pf_count, m->pfs, VFP_PFS_MAX, S_WIRE_APPLY_PF);
    for (uint32_t i = 0; i < m->pf_count; i++) {
        size_t mark = s_enter_index(c, "pfs", i);
        S_TRY(s_str(c, "pf", m->pfs[i].pf, VFP_PCI_ADDR_MAX, true));
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(m->pfs[k].pf, m->pfs[i].pf) == 0)
                return s_fail(c, "pf", "\"%s\" already listed at [%" PRIu32 "]",
                              m->pfs[i].pf, k);
        S_TRY(s_u16(c, "num_vfs", &m->pfs[i].num_vfs));
        s_leave(c, mark);
    }
    S_LIST(c, "vfs", m->vf_count, m->vfs, VFP_APPLY_VFS_MAX, S_WIRE_APPLY_VF);
    for (uint32_t i = 0; i < m->vf_count; i++) {
        size_t mark = s_enter_index(c, "vfs", i);
        S_TRY(s_apply_vf(c, &m->vfs[i]));
        s_leave(c, mark);
    }
    S_TRY(s_apply_vf_duplicates(c, m));
    S_TRY(s_count(c, "hugepages", &m->hugepage_count, VFP_HUGEPAGES_MAX,
                  S_WIRE_APPLY_HUGEPAGES));
    for (uint32_t i = 0; i < m->hugepage_count; i++) {
        size_t mark = s_enter_index(c, "hugepages", i);
        vfp_apply_hugepages_t *hp = &m->hugepages[i];
        S_TRY(s_u32(c, "size_kb", &hp->size_kb));
        if (hp->size_kb == 0)
            return s_fail(c, "size_kb", "must not be 0");
        for (uint32_t k = 0; k < i; k++)
            if (m->hugepages[k].size_kb == hp->size_kb)
                return s_fail(c, "size_kb",
                              "%" PRIu32 " kB already listed at [%" PRIu32 "]",
                              hp->size_kb, k);
        S_TRY(s_u64(c, "pages", &hp->pages));
        s_leave(c, mark);
    }
    return 0;
malformed:
    return -1;
}

static int s_result(s_ctx_t *c, vfp_result_t *r)
{
    S_ENUM8(c, "kind", r->kind, VFP_ITEM_NUM_VFS, VFP_ITEM_HUGEPAGES);
    S_TRY(s_str(c, "pf", r->pf, VFP_PCI_ADDR_MAX, false));
    if (r->kind == VFP_ITEM_HUGEPAGES && r->pf[0])
        return s_fail(c, "pf", "must be empty for a hugepages item");
    if (r->kind != VFP_ITEM_HUGEPAGES && !r->pf[0])
        return s_fail(c, "pf", "must not be empty for a %s item",
                      r->kind == VFP_ITEM_VF ? "vf" : "num_vfs");
    S_TRY(s_u16(c, "index", &r->index));
    if (r->kind != VFP_ITEM_VF && r->index != 0)
        return s_fail(c, "index", "is %u but only vf items have an index",
                      r->index);
    S_TRY(s_str(c, "attribute", r->attribute, VFP_ATTRIBUTE_MAX, false));
    S_TRY(s_i32(c, "err", &r->err));
    if (r->err < 0)
        return s_fail(c, "err", "%" PRId32 " is negative", r->err);
    S_TRY(s_str(c, "message", r->message, VFP_RESULT_MESSAGE_MAX, false));
    return 0;
malformed:
    return -1;
}

static int s_apply_result(s_ctx_t *c, vfp_apply_result_t *m)
{
    S_TRY(s_u64(c, "revision", &m->revision));
    S_LIST(c, "results", m->result_count, m->results, VFP_RESULTS_MAX,
           S_WIRE_RESULT);
    for (uint32_t i = 0; i < m->result_count; i++) {
        size_t mark = s_enter_index(c, "results", i);
        S_TRY(s_result(c, &m->results[i]));
        s_leave(c, mark);
    }
    return 0;
malformed:
    return -1;
}

static int s_error(s_ctx_t *c, vfp_error_t *m)
{
    S_TRY(s_u16(c, "code", &m->code));
    if (m->code < VFP_ERR_MALFORMED || m->code > VFP_ERR_MAX)
        return s_fail(c, "code", "%u is out of range 1..%d", m->code,
                      VFP_ERR_MAX);
    S_TRY(s_str(c, "text", m->text, VFP_TEXT_MAX, false));
    return 0;
malformed:
    return -1;
}

static int s_request(s_ctx_t *c, vfp_request_t *m)
{
    S_TRY(s_str(c, "verb", m->verb, VFP_NAME_MAX, true));
    S_TRY(s_count(c, "params", &m->param_count, VFP_PARAMS_MAX, S_WIRE_PARAM));
    for (uint32_t i = 0; i < m->param_count; i++) {
        size_t mark = s_enter_index(c, "params", i);
        S_TRY(s_str(c, "key", m->params[i].key, VFP_NAME_MAX, true));
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(m->params[k].key, m->params[i].key) == 0)
                return s_fail(c, "key", "\"%s\" already given at [%" PRIu32 "]",
                              m->params[i].key, k);
        S_TRY(s_str(c, "value", m->params[i].value, VFP_TEXT_MAX, false));
        s_leave(c, mark);
    }
    return s_longstr(c, "body", &m->body, &m->body_len, VFP_BODY_MAX);
malformed:
    return -1;
}

static int s_reply(s_ctx_t *c, vfp_reply_t *m)
{
    S_TRY(s_u16(c, "status", &m->status));
    if (m->status > VFP_ERR_MAX)
        return s_fail(c, "status", "%u is out of range 0..%d", m->status,
                      VFP_ERR_MAX);
    S_TRY(s_str(c, "error", m->error, VFP_TEXT_MAX, false));
    return s_longstr(c, "body", &m->body, &m->body_len, VFP_BODY_MAX);
malformed:
    return -1;
}

static int s_body(s_ctx_t *c, vfp_msg_t *msg)
{
    s_enter(c, s_id_paths[msg->id]);
    switch (msg->id) {
    case VFP_HELLO:
        return s_hello(c, &msg->u.hello);
    case VFP_WELCOME:
        return s_welcome(c, &msg->u.welcome);
    case VFP_INVENTORY:
        return s_inventory(c, &msg->u.inventory);
    case VFP_INVENTORY_DELTA:
        return s_delta(c, &msg->u.delta);
    case VFP_HEARTBEAT:
        return s_heartbeat(c, &msg->u.heartbeat);
    case VFP_APPLY:
        return s_apply(c, &msg->u.apply);
    case VFP_APPLY_RESULT:
        return s_apply_result(c, &msg->u.apply_result);
    case VFP_ERROR:
        return s_error(c, &msg->u.error);
    case VFP_REQUEST:
        return s_request(c, &msg->u.request);
    case VFP_REPLY:
        return s_reply(c, &msg->u.reply);
    }
    return s_fail(c, NULL, "unknown message id %d", (int)msg->id);
}

static bool s_id_valid(int id)
{
    return id >= VFP_HELLO && id <= VFP_REPLY;
}

static bool s_version_supported(unsigned version)
{
    return version >= VFP_VERSION_MIN && version <= VFP_VERSION;
}

/* Writes or checks a whole message from the model. */
static int s_emit(s_ctx_t *c, const vfp_msg_t *msg)
{
    if (!s_id_valid((int)msg->id))
        return s_fail(c, "header.msg_id", "unknown message id %d",
                      (int)msg->id);
    if (!s_version_supported(msg->version))
        return s_fail(c, "header.version",
                      "version %u is not supported (this build speaks %d..%d)",
                      msg->version, VFP_VERSION_MIN, VFP_VERSION);
    uint16_t signature = VFP_SIGNATURE;
    uint8_t version = msg->version, id = (uint8_t)msg->id;
    uint32_t request_id = msg->request_id;
    if (s_u16(c, "header.signature", &signature) ||
        s_u8(c, "header.version", &version) || s_u8(c, "header.msg_id", &id) ||
        s_u32(c, "header.request_id", &request_id))
        return -1;
    /* The walker's signature serves all modes; writing never modifies. */
    return s_body(c, (vfp_msg_t *)msg);
}

/* ---- public API ------------------------------------------------------ */

/* The bytes a message of this id uses: its header and its own member of
 * the union. The union is as large as its largest member (a request's
 * inline parameters, some 35 KB), and zeroing that for every heartbeat or
 * reply cost more than decoding it. */
static size_t s_msg_size(vfp_id_t id)
{
    size_t head = offsetof(vfp_msg_t, u);
    switch (id) {
    case VFP_HELLO:
        return head + sizeof(vfp_hello_t);
    case VFP_WELCOME:
        return head + sizeof(vfp_welcome_t);
    case VFP_INVENTORY:
        return head + sizeof(vfp_inventory_t);
    case VFP_INVENTORY_DELTA:
        return head + sizeof(vfp_inventory_delta_t);
    case VFP_HEARTBEAT:
        return head + sizeof(vfp_heartbeat_t);
    case VFP_APPLY:
        return head + sizeof(vfp_apply_t);
    case VFP_APPLY_RESULT:
        return head + sizeof(vfp_apply_result_t);
    case VFP_ERROR:
        return head + sizeof(vfp_error_t);
    case VFP_REQUEST:
        return head + sizeof(vfp_request_t);
    case VFP_REPLY:
        return head + sizeof(vfp_reply_t);
    }
    return sizeof(vfp_msg_t);
}

vfp_msg_t *vfp_msg_new(vfp_id_t id)
{
    vfp_msg_t *self = calloc(1, s_msg_size(id));
    assert(self);
    self->id = id;
    self->version = VFP_VERSION;
    return self;
}

static void s_pfs_free(vfp_pf_t *pfs, uint32_t count)
{
    for (uint32_t i = 0; pfs && i < count; i++)
        free(pfs[i].vfs);
    free(pfs);
}

void vfp_inventory_clear(vfp_inventory_t *inv)
{
    if (!inv)
        return;
    s_pfs_free(inv->pfs, inv->pf_count);
    memset(inv, 0, sizeof(*inv));
}

void vfp_msg_destroy(vfp_msg_t **self_p)
{
    assert(self_p);
    vfp_msg_t *self = *self_p;
    if (!self)
        return;
    switch (self->id) {
    case VFP_INVENTORY:
        s_pfs_free(self->u.inventory.pfs, self->u.inventory.pf_count);
        break;
    case VFP_INVENTORY_DELTA:
        s_pfs_free(self->u.delta.pfs, self->u.delta.pf_count);
        free(self->u.delta.removed);
        break;
    case VFP_APPLY:
        free(self->u.apply.pfs);
        free(self->u.apply.vfs);
        break;
    case VFP_APPLY_RESULT:
        free(self->u.apply_result.results);
        break;
    case VFP_REQUEST:
        free(self->u.request.body);
        break;
    case VFP_REPLY:
        free(self->u.reply.body);
        break;
    case VFP_HELLO:
    case VFP_WELCOME:
    case VFP_HEARTBEAT:
    case VFP_ERROR:
        break;
    }
    free(self);
    *self_p = NULL;
}

const char *vfp_id_name(int id)
{
    return s_id_valid(id) ? s_id_names[id] : "UNKNOWN";
}

const char *vfp_errcode_name(int code)
{
    return code >= 0 && code <= VFP_ERR_MAX ? s_errcode_names[code] : "UNKNOWN";
}

const char *vfp_link_state_name(vfp_link_state_t state)
{
    switch (state) {
    case VFP_LINK_AUTO:
        return "auto";
    case VFP_LINK_ENABLE:
        return "enable";
    case VFP_LINK_DISABLE:
        return "disable";
    }
    return "invalid";
}

const char *vfp_flag_name(vfp_flag_t flag)
{
    switch (flag) {
    case VFP_OFF:
        return "off";
    case VFP_ON:
        return "on";
    case VFP_UNKNOWN:
        return "unknown";
    }
    return "invalid";
}

const char *vfp_cpu_virt_name(vfp_cpu_virt_t virt)
{
    switch (virt) {
    case VFP_VIRT_VMX:
        return "vmx";
    case VFP_VIRT_SVM:
        return "svm";
    case VFP_VIRT_NONE:
        break;
    }
    return "none";
}

/* By hand rather than snprintf: every VM read, stored and answered
 * formats its MACs, and the format string cost more than the rest. */
char *vfp_mac_format(const uint8_t mac[6], char *buf)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        buf[i * 3] = digits[mac[i] >> 4];
        buf[i * 3 + 1] = digits[mac[i] & 0xf];
        buf[i * 3 + 2] = i < 5 ? ':' : '\0';
    }
    return buf;
}

static int s_hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool vfp_revision_newer(uint64_t a, uint64_t b)
{
    uint64_t ahead = a - b;
    return ahead != 0 && ahead < (UINT64_C(1) << 63);
}

int vfp_mac_parse(const char *text, uint8_t mac[6])
{
    uint8_t out[6];
    if (!text || strlen(text) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;
        int hi = s_hex_digit(p[0]), lo = s_hex_digit(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(mac, out, 6);
    return 0;
}

/* len bytes at host: a host name or IPv4 address, "[IPv6]", or for a bind
 * also "*" (every interface). */
static bool s_tcp_host_valid(const char *host, size_t len, bool bind)
{
    if (bind && len == 1 && host[0] == '*')
        return true;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        size_t inner = strspn(host + 1, "0123456789abcdefABCDEF:.");
        return inner == len - 2 && inner > 0;
    }
    static const char name[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    return len > 0 && host[0] != '-' && host[0] != '.' &&
           strspn(host, name) >= len;
}

bool vfp_tcp_endpoint_valid(const char *endpoint, bool bind)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || !s_tcp_host_valid(host, (size_t)(colon - host), bind))
        return false;
    const char *port = colon + 1;
    size_t digits = strspn(port, "0123456789");
    if (digits == 0 || digits > 5 || port[digits])
        return false;
    long number = strtol(port, NULL, 10);
    return number >= 1 && number <= 65535;
}

const char *vfp_mac_parse_nic(const char *text, uint8_t mac[6])
{
    uint8_t out[6];
    static const uint8_t zero[6] = {0};
    if (vfp_mac_parse(text, out) != 0)
        return "is not a MAC address (aa:bb:cc:dd:ee:ff)";
    if (out[0] & 0x01)
        return "is multicast";
    if (memcmp(out, zero, sizeof(out)) == 0)
        return "means no MAC";
    memcpy(mac, out, 6);
    return NULL;
}

/* Checks one label of a host name, len bytes at label. */
static int s_label_check(const char *label, size_t len, char *why,
                         size_t whylen)
{
    if (len == 0) {
        snprintf(why, whylen, "has an empty label");
        return -1;
    }
    if (len > VFP_HOSTNAME_LABEL_MAX) {
        snprintf(why, whylen, "has a label of %zu bytes, over %d", len,
                 VFP_HOSTNAME_LABEL_MAX);
        return -1;
    }
    if (label[0] == '-' || label[len - 1] == '-') {
        snprintf(why, whylen, "has a label that starts or ends with '-'");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)label[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-';
        if (!ok) {
            snprintf(why, whylen,
                     "byte 0x%02x is not a letter, digit, '-' or '.'", ch);
            return -1;
        }
    }
    return 0;
}

int vfp_hostname_check(const char *name, char *why, size_t whylen)
{
    size_t len = strnlen(name, VFP_HOSTNAME_MAX + 1);
    if (len == 0) {
        snprintf(why, whylen, "must not be empty");
        return -1;
    }
    if (len > VFP_HOSTNAME_MAX) {
        snprintf(why, whylen, "longer than %d bytes", VFP_HOSTNAME_MAX);
        return -1;
    }
    const char *label = name;
    while (true) {
        const char *dot = memchr(label, '.', len - (size_t)(label - name));
        size_t label_len = dot ? (size_t)(dot - label) : strlen(label);
        if (s_label_check(label, label_len, why, whylen))
            return -1;
        if (!dot)
            return 0;
        label = dot + 1;
    }
}

size_t vfp_utf8_trim(char *text)
{
    size_t len = strlen(text);
    size_t lead = len;
    while (lead > 0 && len - lead < 3 &&
           ((unsigned char)text[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return len;
    unsigned char b = (unsigned char)text[lead - 1];
    size_t need = (b & 0xe0) == 0xc0   ? 2
                  : (b & 0xf0) == 0xe0 ? 3
                  : (b & 0xf8) == 0xf0 ? 4
                                       : 1;
    if (b >= 0xc0 && len - lead + 1 < need) {
        text[lead - 1] = '\0';
        return lead - 1;
    }
    return len;
}

int vfp_version_choose(uint8_t peer_min, uint8_t peer_max)
{
    if (peer_min == 0 || peer_min > peer_max)
        return -1;
    int high = peer_max < VFP_VERSION ? peer_max : VFP_VERSION;
    int low = peer_min > VFP_VERSION_MIN ? peer_min : VFP_VERSION_MIN;
    return high >= low ? high : -1;
}

int vfp_validate(const vfp_msg_t *msg, vfp_decode_error_t *err)
{
    vfp_decode_error_t scratch;
    s_ctx_t c = {.mode = S_CHECK, .err = err ? err : &scratch};
    memset(c.err, 0, sizeof *c.err);
    return s_emit(&c, msg);
}

int vfp_encode(const vfp_msg_t *msg, uint8_t **data_p, size_t *size_p,
               vfp_decode_error_t *err)
{
    vfp_decode_error_t scratch;
    s_ctx_t c = {.mode = S_WRITE, .err = err ? err : &scratch};
    memset(c.err, 0, sizeof *c.err);
    if (s_emit(&c, msg)) {
        free(c.buf);
        return -1;
    }
    *data_p = c.buf;
    *size_p = c.len;
    return 0;
}

/* Reads and checks the 8-byte header in the order PROTOCOL.md section 6
 * gives: signature, version, size, message id, request id. */
static int s_header(s_ctx_t *c, uint8_t *version, uint8_t *id,
                    uint32_t *request_id)
{
    uint16_t signature = 0;
    S_TRY(s_u16(c, "header.signature", &signature));
    if (signature != VFP_SIGNATURE) {
        s_fail(c, "header.signature", "0x%04x is not 0x%04x", signature,
               VFP_SIGNATURE);
        return -1;
    }
    S_TRY(s_u8(c, "header.version", version));
    c->err->peer_version = *version;
    /* The version is checked before the size and the id: a newer version
     * may have other limits, and message ids this build has never heard of
     * (PROTOCOL.md, "Decoding rules"). */
    if (!s_version_supported(*version)) {
        s_fail(c, "header.version",
               "version %u is not supported (this build speaks %d..%d)",
               *version, VFP_VERSION_MIN, VFP_VERSION);
        c->err->code = VFP_ERR_VERSION;
        return -1;
    }
    if (c->size > VFP_MSG_MAX) {
        s_fail(c, "message", "%zu bytes exceed the limit of %u", c->size,
               VFP_MSG_MAX);
        return -1;
    }
    S_TRY(s_u8(c, "header.msg_id", id));
    if (!s_id_valid(*id)) {
        s_fail(c, "header.msg_id", "unknown message id %u", *id);
        return -1;
    }
    S_TRY(s_u32(c, "header.request_id", request_id));
    return 0;
malformed:
    return -1;
}

vfp_msg_t *vfp_decode(const uint8_t *data, size_t size, vfp_decode_error_t *err)
{
    vfp_decode_error_t scratch;
    s_ctx_t c = {.mode = S_READ,
                 .data = data,
                 .size = size,
                 .err = err ? err : &scratch};
    memset(c.err, 0, sizeof *c.err);
    vfp_msg_t *msg = NULL;
    /* The header is the same in every version, so even a message that will
     * not decode tells whom to answer and what it was (PROTOCOL.md,
     * "Versioning"). */
    c.err->peer_header =
        vfp_peek_header(data, size, &c.err->peer_version, &c.err->peer_msg_id,
                        &c.err->peer_request_id) == 0;
    uint8_t version = 0, id = 0;
    uint32_t request_id = 0;
    S_TRY(s_header(&c, &version, &id, &request_id));
    msg = vfp_msg_new((vfp_id_t)id);
    msg->version = version;
    msg->request_id = request_id;
    S_TRY(s_body(&c, msg));
    if (c.pos != size) {
        s_leave(&c, 0);
        s_fail(&c, s_id_paths[id], "%zu trailing byte(s) after the message",
               size - c.pos);
        goto malformed;
    }
    return msg;
malformed:
    vfp_msg_destroy(&msg);
    return NULL;
}

int vfp_peek_header(const uint8_t *data, size_t size, uint8_t *version,
                    uint8_t *msg_id, uint32_t *request_id)
{
    if (size < VFP_HEADER_SIZE ||
        (((unsigned)data[0] << 8) | data[1]) != VFP_SIGNATURE)
        return -1;
    if (version)
        *version = data[2];
    if (msg_id)
        *msg_id = data[3];
    if (request_id)
        *request_id = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
                      (uint32_t)data[6] << 8 | data[7];
    return 0;
}
