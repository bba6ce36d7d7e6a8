/* test_vfp_malformed.c - strict decoding: a table of malformed inputs per
 * message type, every truncation of every sample, and trailing bytes. */
#include <ctype.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfp.h"
#include "vfp_samples.h"

/* Wire bytes are built here independently of the codec, field by field as
 * PROTOCOL.md lays them out. Each field token carries the path the decoder
 * must name when that field is bad, so a case only says which token to
 * replace and what error to expect. */
typedef enum { T_U8, T_U16, T_U32, T_U64, T_MAC, T_STR, T_LSTR } tok_type_t;

typedef struct {
    char name[96];
    tok_type_t type;
    uint64_t num;      /* integer value */
    const char *bytes; /* T_MAC, T_STR, T_LSTR; NULL: `len` times 'a' */
    size_t len;
} tok_t;

typedef struct {
    tok_t v[256];
    size_t n;
} toks_t;

__attribute__((format(printf, 6, 7))) static void
s_add(toks_t *l, tok_type_t type, uint64_t num, const char *bytes, size_t len,
      const char *fmt, ...)
{
    assert_true(l->n < sizeof l->v / sizeof *l->v);
    tok_t *t = &l->v[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->type = type;
    t->num = num;
    t->bytes = bytes;
    t->len = len;
}

#define ADD_U8(l, v, ...) s_add(l, T_U8, v, NULL, 0, __VA_ARGS__)
#define ADD_U16(l, v, ...) s_add(l, T_U16, v, NULL, 0, __VA_ARGS__)
#define ADD_U32(l, v, ...) s_add(l, T_U32, v, NULL, 0, __VA_ARGS__)
#define ADD_U64(l, v, ...) s_add(l, T_U64, v, NULL, 0, __VA_ARGS__)
#define ADD_STR(l, s, ...) s_add(l, T_STR, 0, s, strlen(s), __VA_ARGS__)
#define ADD_LSTR(l, s, ...) s_add(l, T_LSTR, 0, s, strlen(s), __VA_ARGS__)
#define ADD_MAC(l, m, ...) s_add(l, T_MAC, 0, m, 6, __VA_ARGS__)

static void s_put_be(uint8_t **p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static void s_put_bytes(uint8_t **p, const tok_t *t)
{
    if (t->bytes)
        memcpy(*p, t->bytes, t->len);
    else
        memset(*p, 'a', t->len);
    *p += t->len;
}

static uint8_t *s_serialize(const toks_t *l, size_t *size_p)
{
    size_t size = 0;
    for (size_t i = 0; i < l->n; i++)
        size += 8 + l->v[i].len;
    uint8_t *data = malloc(size), *p = data;
    for (size_t i = 0; i < l->n; i++) {
        const tok_t *t = &l->v[i];
        switch (t->type) {
        case T_U8:
            s_put_be(&p, t->num, 1);
            break;
        case T_U16:
            s_put_be(&p, t->num, 2);
            break;
        case T_U32:
            s_put_be(&p, t->num, 4);
            break;
        case T_U64:
            s_put_be(&p, t->num, 8);
            break;
        case T_MAC:
            s_put_bytes(&p, t);
            break;
        case T_STR:
            s_put_be(&p, t->len, 2);
            s_put_bytes(&p, t);
            break;
        case T_LSTR:
            s_put_be(&p, t->len, 4);
            s_put_bytes(&p, t);
            break;
        }
    }
    *size_p = (size_t)(p - data);
    return data;
}

static tok_t *s_find(toks_t *l, const char *name)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k].name, name) == 0)
            return &l->v[k];
    fail_msg("no field %s", name);
    return NULL;
}

/* ---- one valid message of each type, as tokens ---------------------- */

static void s_host_toks(toks_t *l, const char *at)
{
    ADD_STR(l, "node1", "%s.hostname", at);
    ADD_STR(l, "4f1c", "%s.boot_id", at);
    ADD_STR(l, "6.1.0-18-amd64", "%s.kernel", at);
    ADD_U8(l, 1, "%s.cpu_virt", at);
    ADD_U8(l, 1, "%s.iommu_ready", at);
    ADD_U16(l, 2, "%s.iommu_units", at);
    ADD_U32(l, 80, "%s.iommu_groups", at);
    ADD_STR(l, "intel_iommu=on", "%s.iommu_cmdline", at);
    ADD_U32(l, 1, "%s.reasons", at);
    ADD_STR(l, "ok", "%s.reasons[0]", at);
    ADD_U64(l, 1 << 30, "%s.mem_total_kb", at);
    ADD_U64(l, 1 << 29, "%s.mem_available_kb", at);
    ADD_U32(l, 2, "%s.hugepages", at);
    for (int i = 0; i < 2; i++) {
        ADD_U32(l, i ? 1048576 : 2048, "%s.hugepages[%d].size_kb", at, i);
        ADD_U64(l, 100, "%s.hugepages[%d].total", at, i);
        ADD_U64(l, 50, "%s.hugepages[%d].free", at, i);
    }
}

static void s_vf_toks(toks_t *l, const char *at, int index)
{
    ADD_U16(l, (uint64_t)index, "%s.index", at);
    ADD_STR(l, "0000:3b:02.0", "%s.pci_addr", at);
    ADD_U32(l, 0xffffffffu, "%s.iommu_group", at);
    ADD_U8(l, 0, "%s.iommu_isolated", at);
    ADD_STR(l, "iavf", "%s.driver", at);
    ADD_MAC(l, "\x02\x00\x00\x00\x00\x01", "%s.mac", at);
    ADD_U16(l, 100, "%s.vlan", at);
    ADD_U8(l, 3, "%s.qos", at);
    ADD_U16(l, 0x8100, "%s.vlan_proto", at);
    ADD_U8(l, 2, "%s.spoofchk", at);
    ADD_U8(l, 1, "%s.trust", at);
    ADD_U8(l, 2, "%s.link_state", at);
    ADD_U32(l, 0, "%s.min_tx_rate", at);
    ADD_U32(l, 1000, "%s.max_tx_rate", at);
    ADD_U8(l, 1, "%s.settings_known", at);
    ADD_U8(l, 0, "%s.in_use", at);
    ADD_STR(l, "", "%s.note", at);
}

static void s_pf_toks(toks_t *l, const char *at, const char *pci, int vfs)
{
    ADD_STR(l, pci, "%s.pci_addr", at);
    ADD_STR(l, "ens1f0", "%s.ifname", at);
    ADD_STR(l, "ice", "%s.driver", at);
    ADD_STR(l, "iavf", "%s.vf_driver", at);
    ADD_U16(l, 0x8086, "%s.vendor_id", at);
    ADD_U16(l, 0x1593, "%s.device_id", at);
    ADD_U16(l, 0xffff, "%s.numa_node", at);
    ADD_U32(l, 25000, "%s.link_speed", at);
    ADD_U8(l, 1, "%s.link_up", at);
    ADD_U16(l, 64, "%s.total_vfs", at);
    ADD_U16(l, (uint64_t)vfs, "%s.num_vfs", at);
    ADD_STR(l, "", "%s.note", at);
    ADD_U32(l, (uint64_t)vfs, "%s.vfs", at);
    for (int i = 0; i < vfs; i++) {
        char vf_at[96];
        snprintf(vf_at, sizeof vf_at, "%s.vfs[%d]", at, i);
        s_vf_toks(l, vf_at, i * 2);
    }
}

static void s_apply_vf_toks(toks_t *l, int i, bool set)
{
    ADD_STR(l, "0000:3b:00.0", "apply.vfs[%d].pf", i);
    ADD_U16(l, (uint64_t)i, "apply.vfs[%d].index", i);
    ADD_U16(l, set ? 0x7f : 0, "apply.vfs[%d].set", i);
    ADD_MAC(l, set ? "\x02\x11\x22\x33\x44\x55" : "\0\0\0\0\0\0",
            "apply.vfs[%d].mac", i);
    ADD_U16(l, set ? 4094 : 0, "apply.vfs[%d].vlan", i);
    ADD_U8(l, set ? 7 : 0, "apply.vfs[%d].qos", i);
    ADD_U16(l, set ? 0x88a8 : 0, "apply.vfs[%d].vlan_proto", i);
    ADD_U8(l, set ? 1 : 0, "apply.vfs[%d].spoofchk", i);
    ADD_U8(l, set ? 1 : 0, "apply.vfs[%d].trust", i);
    ADD_U8(l, set ? 2 : 0, "apply.vfs[%d].link_state", i);
    ADD_U32(l, set ? 100 : 0, "apply.vfs[%d].min_tx_rate", i);
    ADD_U32(l, set ? 10000 : 0, "apply.vfs[%d].max_tx_rate", i);
    ADD_U16(l, set ? 9000 : 0, "apply.vfs[%d].mtu", i);
}

static void s_base(toks_t *l, vfp_id_t id)
{
    l->n = 0;
    ADD_U16(l, 0x5646, "header.signature");
    ADD_U8(l, 1, "header.version");
    ADD_U8(l, id, "header.msg_id");
    ADD_U32(l, 77, "header.request_id");
    switch (id) {
    case VFP_HELLO:
        ADD_STR(l, "node1", "hello.hostname");
        ADD_STR(l, "0.1.0", "hello.agent_version");
        ADD_STR(l, "4f1c", "hello.boot_id");
        ADD_U8(l, 1, "hello.proto_min");
        ADD_U8(l, 1, "hello.proto_max");
        break;
    case VFP_WELCOME:
        ADD_U8(l, 1, "welcome.proto_version");
        ADD_U32(l, 5000, "welcome.heartbeat_ms");
        ADD_STR(l, "ctl-a", "welcome.controller_id");
        break;
    case VFP_INVENTORY:
        ADD_U64(l, 9, "inventory.generation");
        s_host_toks(l, "inventory.host");
        ADD_U32(l, 2, "inventory.pfs");
        s_pf_toks(l, "inventory.pfs[0]", "0000:3b:00.0", 2);
        s_pf_toks(l, "inventory.pfs[1]", "0000:3b:00.1", 0);
        break;
    case VFP_INVENTORY_DELTA:
        ADD_U64(l, 9, "inventory_delta.base_generation");
        ADD_U64(l, 10, "inventory_delta.generation");
        ADD_U8(l, 1, "inventory_delta.has_host");
        s_host_toks(l, "inventory_delta.host");
        ADD_U32(l, 1, "inventory_delta.pfs");
        s_pf_toks(l, "inventory_delta.pfs[0]", "0000:3b:00.0", 1);
        ADD_U32(l, 2, "inventory_delta.removed");
        ADD_STR(l, "0000:5e:00.0", "inventory_delta.removed[0]");
        ADD_STR(l, "0000:5e:00.1", "inventory_delta.removed[1]");
        break;
    case VFP_HEARTBEAT:
        ADD_U64(l, 10, "heartbeat.generation");
        ADD_U64(l, 4, "heartbeat.applied_revision");
        break;
    case VFP_APPLY:
        ADD_U64(l, 4, "apply.revision");
        ADD_U32(l, 2, "apply.pfs");
        ADD_STR(l, "0000:3b:00.0", "apply.pfs[0].pf");
        ADD_U16(l, 8, "apply.pfs[0].num_vfs");
        ADD_STR(l, "0000:3b:00.1", "apply.pfs[1].pf");
        ADD_U16(l, 0, "apply.pfs[1].num_vfs");
        ADD_U32(l, 2, "apply.vfs");
        s_apply_vf_toks(l, 0, true);
        s_apply_vf_toks(l, 1, false);
        ADD_U32(l, 2, "apply.hugepages");
        ADD_U32(l, 2048, "apply.hugepages[0].size_kb");
        ADD_U64(l, 512, "apply.hugepages[0].pages");
        ADD_U32(l, 1048576, "apply.hugepages[1].size_kb");
        ADD_U64(l, 0, "apply.hugepages[1].pages");
        break;
    case VFP_APPLY_RESULT:
        ADD_U64(l, 4, "apply_result.revision");
        ADD_U32(l, 3, "apply_result.results");
        ADD_U8(l, 1, "apply_result.results[0].kind");
        ADD_STR(l, "0000:3b:00.0", "apply_result.results[0].pf");
        ADD_U16(l, 0, "apply_result.results[0].index");
        ADD_STR(l, "num_vfs", "apply_result.results[0].attribute");
        ADD_U32(l, 0, "apply_result.results[0].err");
        ADD_STR(l, "", "apply_result.results[0].message");
        ADD_U8(l, 2, "apply_result.results[1].kind");
        ADD_STR(l, "0000:3b:00.0", "apply_result.results[1].pf");
        ADD_U16(l, 5, "apply_result.results[1].index");
        ADD_STR(l, "trust", "apply_result.results[1].attribute");
        ADD_U32(l, 95, "apply_result.results[1].err");
        ADD_STR(l, "not supported", "apply_result.results[1].message");
        ADD_U8(l, 3, "apply_result.results[2].kind");
        ADD_STR(l, "", "apply_result.results[2].pf");
        ADD_U16(l, 0, "apply_result.results[2].index");
        ADD_STR(l, "2048kB", "apply_result.results[2].attribute");
        ADD_U32(l, 0, "apply_result.results[2].err");
        ADD_STR(l, "", "apply_result.results[2].message");
        break;
    case VFP_ERROR:
        ADD_U16(l, 6, "error.code");
        ADD_STR(l, "unknown base generation 3", "error.text");
        break;
    case VFP_REQUEST:
        ADD_STR(l, "vfs", "request.verb");
        ADD_U32(l, 2, "request.params");
        ADD_STR(l, "host", "request.params[0].key");
        ADD_STR(l, "node1", "request.params[0].value");
        ADD_STR(l, "state", "request.params[1].key");
        ADD_STR(l, "free", "request.params[1].value");
        ADD_LSTR(l, "{}", "request.body");
        break;
    case VFP_REPLY:
        ADD_U16(l, 0, "reply.status");
        ADD_STR(l, "", "reply.error");
        ADD_LSTR(l, "[]", "reply.body");
        break;
    }
}

/* The token layouts match the codec: each decodes, and the codec encodes
 * the result back to exactly the same bytes. */
static void test_token_layouts_match_codec(void **state)
{
    toks_t *l = malloc(sizeof *l);
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        s_base(l, (vfp_id_t)id);
        size_t size;
        uint8_t *data = s_serialize(l, &size);
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_decode(data, size, &err);
        if (!msg)
            fail_msg("%s: %s: %s", vfp_id_name(id), err.field, err.text);
        uint8_t *again = NULL;
        size_t again_size = 0;
        assert_int_equal(vfp_encode(msg, &again, &again_size, &err), 0);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, data, size);
        assert_int_equal(msg->request_id, 77);
        free(again);
        free(data);
        vfp_msg_destroy(&msg);
    }
    free(l);
}

/* ---- the table ------------------------------------------------------- */

typedef struct {
    vfp_id_t id;        /* base message */
    const char *target; /* token replaced */
    tok_type_t type;    /* replacement */
    uint64_t num;
    const char *bytes;
    size_t len;
    int code;          /* expected error code */
    const char *field; /* expected field; NULL: the target itself */
    const char *text;  /* expected inside the error text */
} s_case_t;

#define U8(v) T_U8, (v), NULL, 0
#define U16(v) T_U16, (v), NULL, 0
#define U32(v) T_U32, (v), NULL, 0
#define U64(v) T_U64, (v), NULL, 0
#define STR(s) T_STR, 0, (s), sizeof(s) - 1
#define FILL(n) T_STR, 0, NULL, (n)
#define LSTR(s) T_LSTR, 0, (s), sizeof(s) - 1
#define MAC(m) T_MAC, 0, (m), 6
#define BAD VFP_ERR_MALFORMED

static const s_case_t s_cases[] = {
    /* header */
    {VFP_HEARTBEAT, "header.signature", U16(0x4656), BAD, NULL,
     "0x4656 is not 0x5646"},
    {VFP_HEARTBEAT, "header.version", U8(0), VFP_ERR_VERSION, NULL,
     "version 0 is not supported"},
    {VFP_HEARTBEAT, "header.version", U8(2), VFP_ERR_VERSION, NULL,
     "version 2 is not supported"},
    {VFP_HEARTBEAT, "header.msg_id", U8(0), BAD, NULL, "unknown message id 0"},
    {VFP_HEARTBEAT, "header.msg_id", U8(11), BAD, NULL,
     "unknown message id 11"},
    {VFP_HEARTBEAT, "header.msg_id", U8(255), BAD, NULL,
     "unknown message id 255"},
    /* a valid header whose id says another message: the body is short */
    {VFP_HEARTBEAT, "header.msg_id", U8(VFP_HELLO), BAD, "hello.hostname",
     "must not be empty"},
    {VFP_HEARTBEAT, "header.msg_id", U8(VFP_ERROR), BAD, "error.code",
     "0 is out of range 1..11"},
    /* HELLO */
    {VFP_HELLO, "hello.hostname", STR(""), BAD, NULL, "must not be empty"},
    {VFP_HELLO, "hello.hostname", FILL(254), BAD, NULL,
     "length 254 exceeds the limit of 253 bytes"},
    {VFP_HELLO, "hello.hostname", FILL(0xffff), BAD, NULL,
     "length 65535 exceeds"},
    {VFP_HELLO, "hello.agent_version", FILL(65), BAD, NULL,
     "length 65 exceeds the limit of 64 bytes"},
    {VFP_HELLO, "hello.boot_id", STR("a\0b"), BAD, NULL, "contains a NUL byte"},
    {VFP_HELLO, "hello.hostname", STR("\xc3\x28"), BAD, NULL, "UTF-8"},
    {VFP_HELLO, "hello.hostname", STR("\xc0\xaf"), BAD, NULL, "UTF-8"},
    {VFP_HELLO, "hello.hostname", STR("\xed\xa0\x80"), BAD, NULL, "UTF-8"},
    {VFP_HELLO, "hello.hostname", STR("\xf4\x90\x80\x80"), BAD, NULL, "UTF-8"},
    {VFP_HELLO, "hello.hostname", STR("ab\xe2\x9c"), BAD, NULL, "UTF-8"},
    {VFP_HELLO, "hello.hostname", STR("\xff"), BAD, NULL, "UTF-8"},
    /* host names are RFC 1123 names (PROTOCOL.md 4.1) */
    {VFP_HELLO, "hello.hostname", STR("a\nb"), BAD, NULL,
     "byte 0x0a is not a letter, digit, '-' or '.'"},
    {VFP_HELLO, "hello.hostname", STR("a\x1b[2Jb"), BAD, NULL, "byte 0x1b"},
    {VFP_HELLO, "hello.hostname", STR("node_1"), BAD, NULL, "byte 0x5f"},
    {VFP_HELLO, "hello.hostname", STR("node 1"), BAD, NULL, "byte 0x20"},
    {VFP_HELLO, "hello.hostname",
     STR("n\xc3\xb6"
         "de"),
     BAD, NULL, "byte 0xc3"},
    {VFP_HELLO, "hello.hostname", STR("-node"), BAD, NULL,
     "has a label that starts or ends with '-'"},
    {VFP_HELLO, "hello.hostname", STR("node-.lab"), BAD, NULL,
     "starts or ends with '-'"},
    {VFP_HELLO, "hello.hostname", STR("node..lab"), BAD, NULL,
     "has an empty label"},
    {VFP_HELLO, "hello.hostname", STR(".node"), BAD, NULL, "empty label"},
    {VFP_HELLO, "hello.hostname", STR("node.lab."), BAD, NULL, "empty label"},
    {VFP_HELLO, "hello.hostname", FILL(64), BAD, NULL,
     "has a label of 64 bytes, over 63"},
    {VFP_INVENTORY, "inventory.host.hostname", STR("a/b"), BAD, NULL,
     "byte 0x2f"},
    {VFP_INVENTORY_DELTA, "inventory_delta.host.hostname", STR("a\rb"), BAD,
     NULL, "byte 0x0d"},
    {VFP_HELLO, "hello.proto_min", U8(0), BAD, NULL, "must not be 0"},
    {VFP_HELLO, "hello.proto_max", U8(0), BAD, NULL, "0 is below proto_min 1"},
    /* WELCOME */
    {VFP_WELCOME, "welcome.proto_version", U8(0), BAD, NULL, "must not be 0"},
    {VFP_WELCOME, "welcome.heartbeat_ms", U32(0), BAD, NULL, "must not be 0"},
    {VFP_WELCOME, "welcome.controller_id", FILL(65), BAD, NULL, "exceeds"},
    /* INVENTORY: host */
    {VFP_INVENTORY, "inventory.host.hostname", STR(""), BAD, NULL,
     "must not be empty"},
    {VFP_INVENTORY, "inventory.host.cpu_virt", U8(3), BAD, NULL,
     "3 is out of range 0..2"},
    {VFP_INVENTORY, "inventory.host.iommu_ready", U8(2), BAD, NULL,
     "boolean is 2, not 0 or 1"},
    {VFP_INVENTORY, "inventory.host.iommu_cmdline", FILL(1025), BAD, NULL,
     "length 1025 exceeds the limit of 1024 bytes"},
    {VFP_INVENTORY, "inventory.host.reasons", U32(17), BAD, NULL,
     "17 items exceed the limit of 16"},
    {VFP_INVENTORY, "inventory.host.reasons", U32(2), BAD,
     "inventory.host.reasons[1]", "must not be empty"},
    {VFP_INVENTORY, "inventory.host.reasons[0]", STR(""), BAD, NULL,
     "must not be empty"},
    {VFP_INVENTORY, "inventory.host.hugepages", U32(9), BAD, NULL,
     "9 items exceed the limit of 8"},
    {VFP_INVENTORY, "inventory.host.hugepages[0].size_kb", U32(0), BAD, NULL,
     "must not be 0"},
    {VFP_INVENTORY, "inventory.host.hugepages[1].size_kb", U32(2048), BAD, NULL,
     "2048 kB already listed at [0]"},
    /* INVENTORY: PFs */
    {VFP_INVENTORY, "inventory.pfs", U32(257), BAD, NULL,
     "257 items exceed the limit of 256"},
    {VFP_INVENTORY, "inventory.pfs", U32(200), BAD, NULL,
     "truncated: 200 items need at least"},
    {VFP_INVENTORY, "inventory.pfs[0].pci_addr", STR(""), BAD, NULL,
     "must not be empty"},
    {VFP_INVENTORY, "inventory.pfs[0].pci_addr", FILL(33), BAD, NULL,
     "length 33 exceeds the limit of 32 bytes"},
    {VFP_INVENTORY, "inventory.pfs[1].pci_addr", STR("0000:3b:00.0"), BAD, NULL,
     "\"0000:3b:00.0\" already listed at [0]"},
    {VFP_INVENTORY, "inventory.pfs[0].numa_node", U16(0xfffe), BAD, NULL,
     "-2 is below -1"},
    {VFP_INVENTORY, "inventory.pfs[0].link_up", U8(7), BAD, NULL,
     "boolean is 7"},
    {VFP_INVENTORY, "inventory.pfs[0].ifname", STR("ens\0"), BAD, NULL,
     "contains a NUL byte"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs", U32(1025), BAD, NULL,
     "1025 items exceed the limit of 1024"},
    {VFP_INVENTORY, "inventory.pfs[0].num_vfs", U16(65), BAD, NULL,
     "65 exceeds total_vfs 64"},
    {VFP_INVENTORY, "inventory.pfs[0].total_vfs", U16(1), BAD,
     "inventory.pfs[0].num_vfs", "2 exceeds total_vfs 1"},
    {VFP_INVENTORY, "inventory.pfs[1].vfs", U32(1), BAD, NULL,
     "truncated: 1 items need at least 37 bytes, 0 left"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].index", U16(64), BAD, NULL,
     "64 is not below total_vfs 64"},
    /* INVENTORY: VFs */
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].index", U16(0), BAD, NULL,
     "0 does not follow 0"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].vlan", U16(4096), BAD, NULL,
     "4096 exceeds 4095"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].qos", U8(8), BAD, NULL,
     "8 exceeds 7"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].vlan_proto", U16(0x0800), BAD,
     NULL, "0x0800 is not 0, 0x8100 or 0x88a8"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].spoofchk", U8(3), BAD, NULL,
     "3 is out of range 0..2"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].trust", U8(3), BAD, NULL,
     "3 is out of range 0..2"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].link_state", U8(3), BAD, NULL,
     "3 is out of range 0..2"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].iommu_group", U32(0xfffffffe), BAD,
     NULL, "-2 is below -1"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].iommu_isolated", U8(2), BAD, NULL,
     "boolean is 2"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].settings_known", U8(255), BAD,
     NULL, "boolean is 255"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].in_use", U8(2), BAD, NULL,
     "boolean is 2"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].note", FILL(513), BAD, NULL,
     "exceeds the limit of 512"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[1].driver", STR("\xfe"), BAD, NULL,
     "UTF-8"},
    {VFP_INVENTORY, "inventory.pfs[0].vfs[0].pci_addr", FILL(33), BAD, NULL,
     "exceeds the limit of 32"},
    /* INVENTORY_DELTA */
    {VFP_INVENTORY_DELTA, "inventory_delta.generation", U64(9), BAD, NULL,
     "9 is not above base_generation 9"},
    {VFP_INVENTORY_DELTA, "inventory_delta.has_host", U8(2), BAD, NULL,
     "boolean is 2"},
    {VFP_INVENTORY_DELTA, "inventory_delta.host.kernel", FILL(65), BAD, NULL,
     "exceeds the limit of 64"},
    {VFP_INVENTORY_DELTA, "inventory_delta.pfs[0].vfs[0].vlan", U16(4096), BAD,
     NULL, "4096 exceeds 4095"},
    {VFP_INVENTORY_DELTA, "inventory_delta.pfs", U32(257), BAD, NULL,
     "exceed the limit of 256"},
    {VFP_INVENTORY_DELTA, "inventory_delta.removed", U32(257), BAD, NULL,
     "257 items exceed the limit of 256"},
    {VFP_INVENTORY_DELTA, "inventory_delta.removed[0]", STR(""), BAD, NULL,
     "must not be empty"},
    {VFP_INVENTORY_DELTA, "inventory_delta.removed[1]", STR("0000:5e:00.0"),
     BAD, NULL, "already listed at [0]"},
    {VFP_INVENTORY_DELTA, "inventory_delta.removed[1]", STR("0000:3b:00.0"),
     BAD, NULL, "is also in pfs[0]"},
    /* a delta without host facts: the host bytes are then trailing junk */
    {VFP_INVENTORY_DELTA, "inventory_delta.has_host", U8(0), BAD,
     "inventory_delta.pfs", "exceed the limit of 256"},
    /* APPLY */
    {VFP_APPLY, "apply.pfs", U32(257), BAD, NULL, "exceed the limit of 256"},
    {VFP_APPLY, "apply.pfs[0].pf", STR(""), BAD, NULL, "must not be empty"},
    {VFP_APPLY, "apply.pfs[1].pf", STR("0000:3b:00.0"), BAD, NULL,
     "already listed at [0]"},
    {VFP_APPLY, "apply.vfs", U32(16385), BAD, NULL,
     "16385 items exceed the limit of 16384"},
    {VFP_APPLY, "apply.vfs[0].pf", FILL(33), BAD, NULL, "exceeds"},
    {VFP_APPLY, "apply.vfs[0].set", U16(0x80), BAD, NULL,
     "0x0080 has bits outside 0x007f"},
    {VFP_APPLY, "apply.vfs[0].mac", MAC("\x03\x11\x22\x33\x44\x55"), BAD, NULL,
     "03:11:22:33:44:55 is a multicast address"},
    {VFP_APPLY, "apply.vfs[0].vlan", U16(4095), BAD, NULL,
     "4095 exceeds 4094 (4095 is reserved by 802.1Q)"},
    {VFP_APPLY, "apply.vfs[0].qos", U8(8), BAD, NULL, "8 exceeds 7"},
    {VFP_APPLY, "apply.vfs[0].vlan_proto", U16(0), BAD, NULL,
     "0x0000 is not 0x8100 or 0x88a8"},
    {VFP_APPLY, "apply.vfs[0].spoofchk", U8(2), BAD, NULL,
     "2 is out of range 0..1"},
    {VFP_APPLY, "apply.vfs[0].trust", U8(2), BAD, NULL,
     "2 is out of range 0..1"},
    {VFP_APPLY, "apply.vfs[0].link_state", U8(3), BAD, NULL,
     "3 is out of range 0..2"},
    {VFP_APPLY, "apply.vfs[0].min_tx_rate", U32(10001), BAD, NULL,
     "10001 exceeds max_tx_rate 10000"},
    {VFP_APPLY, "apply.vfs[0].mtu", U16(67), BAD, NULL, "67 is below 68"},
    {VFP_APPLY, "apply.vfs[1].mac", MAC("\0\0\0\0\0\x01"), BAD, NULL,
     "is 1 but VFP_SET_MAC is clear in set"},
    {VFP_APPLY, "apply.vfs[1].vlan", U16(5), BAD, NULL,
     "is 5 but VFP_SET_VLAN is clear"},
    {VFP_APPLY, "apply.vfs[1].qos", U8(1), BAD, NULL, "VFP_SET_VLAN is clear"},
    {VFP_APPLY, "apply.vfs[1].vlan_proto", U16(0x8100), BAD, NULL,
     "VFP_SET_VLAN is clear"},
    {VFP_APPLY, "apply.vfs[1].spoofchk", U8(1), BAD, NULL,
     "VFP_SET_SPOOFCHK is clear"},
    {VFP_APPLY, "apply.vfs[1].trust", U8(1), BAD, NULL,
     "VFP_SET_TRUST is clear"},
    {VFP_APPLY, "apply.vfs[1].link_state", U8(1), BAD, NULL,
     "VFP_SET_LINK_STATE is clear"},
    {VFP_APPLY, "apply.vfs[1].min_tx_rate", U32(1), BAD, NULL,
     "VFP_SET_RATE is clear"},
    {VFP_APPLY, "apply.vfs[1].max_tx_rate", U32(1), BAD, NULL,
     "VFP_SET_RATE is clear"},
    {VFP_APPLY, "apply.vfs[1].mtu", U16(1500), BAD, NULL,
     "is 1500 but VFP_SET_MTU is clear"},
    {VFP_APPLY, "apply.vfs[1].index", U16(0), BAD, "apply.vfs[1]",
     "pf \"0000:3b:00.0\" vf 0 is already set by vfs[0]"},
    {VFP_APPLY, "apply.hugepages", U32(9), BAD, NULL,
     "9 items exceed the limit of 8"},
    {VFP_APPLY, "apply.hugepages[0].size_kb", U32(0), BAD, NULL,
     "must not be 0"},
    {VFP_APPLY, "apply.hugepages[1].size_kb", U32(2048), BAD, NULL,
     "2048 kB already listed at [0]"},
    /* APPLY_RESULT */
    {VFP_APPLY_RESULT, "apply_result.results", U32(114953), BAD, NULL,
     "114953 items exceed the limit of 114952"},
    {VFP_APPLY_RESULT, "apply_result.results[0].kind", U8(0), BAD, NULL,
     "0 is out of range 1..3"},
    {VFP_APPLY_RESULT, "apply_result.results[0].kind", U8(4), BAD, NULL,
     "4 is out of range 1..3"},
    {VFP_APPLY_RESULT, "apply_result.results[0].pf", STR(""), BAD, NULL,
     "must not be empty for a num_vfs item"},
    {VFP_APPLY_RESULT, "apply_result.results[1].pf", STR(""), BAD, NULL,
     "must not be empty for a vf item"},
    {VFP_APPLY_RESULT, "apply_result.results[2].pf", STR("0000:3b:00.0"), BAD,
     NULL, "must be empty for a hugepages item"},
    {VFP_APPLY_RESULT, "apply_result.results[0].index", U16(1), BAD, NULL,
     "is 1 but only vf items have an index"},
    {VFP_APPLY_RESULT, "apply_result.results[1].err", U32(0xffffffff), BAD,
     NULL, "-1 is negative"},
    {VFP_APPLY_RESULT, "apply_result.results[1].attribute", FILL(17), BAD, NULL,
     "exceeds the limit of 16"},
    {VFP_APPLY_RESULT, "apply_result.results[1].message", FILL(81), BAD, NULL,
     "exceeds the limit of 80"},
    /* ERROR */
    {VFP_ERROR, "error.code", U16(0), BAD, NULL, "0 is out of range 1..11"},
    {VFP_ERROR, "error.code", U16(12), BAD, NULL, "12 is out of range 1..11"},
    {VFP_ERROR, "error.text", FILL(1025), BAD, NULL, "exceeds"},
    {VFP_ERROR, "error.text", STR("\x80"), BAD, NULL, "UTF-8"},
    /* REQUEST */
    {VFP_REQUEST, "request.verb", STR(""), BAD, NULL, "must not be empty"},
    {VFP_REQUEST, "request.verb", FILL(65), BAD, NULL, "exceeds"},
    {VFP_REQUEST, "request.params", U32(33), BAD, NULL,
     "33 items exceed the limit of 32"},
    {VFP_REQUEST, "request.params[0].key", STR(""), BAD, NULL,
     "must not be empty"},
    {VFP_REQUEST, "request.params[1].key", STR("host"), BAD, NULL,
     "\"host\" already given at [0]"},
    {VFP_REQUEST, "request.params[0].value", FILL(1025), BAD, NULL, "exceeds"},
    {VFP_REQUEST, "request.body", U32(VFP_BODY_MAX + 1), BAD, NULL,
     "length 4194305 exceeds the limit of 4194304 bytes"},
    {VFP_REQUEST, "request.body", U32(3), BAD, NULL,
     "truncated: 3 bytes needed, 0 left"},
    {VFP_REQUEST, "request.body", LSTR("{\0}"), BAD, NULL,
     "contains a NUL byte"},
    {VFP_REQUEST, "request.body", LSTR("{\"a\":\"\xc3\"}"), BAD, NULL, "UTF-8"},
    /* REPLY */
    {VFP_REPLY, "reply.status", U16(12), BAD, NULL, "12 is out of range 0..11"},
    {VFP_REPLY, "reply.error", FILL(1025), BAD, NULL, "exceeds"},
    {VFP_REPLY, "reply.body", U32(0xffffffff), BAD, NULL, "exceeds"},
};

/* Whatever is wrong after the signature, the error still carries the
 * header as received, so the receiver can answer with its request_id. */
static void s_expect_header(const vfp_decode_error_t *err, const s_case_t *c)
{
    bool signature = strcmp(c->target, "header.signature") == 0;
    bool version = strcmp(c->target, "header.version") == 0;
    bool msg_id = strcmp(c->target, "header.msg_id") == 0;
    assert_int_equal(err->peer_header, !signature);
    if (signature)
        return;
    assert_int_equal(err->peer_version, version ? c->num : 1);
    assert_int_equal(err->peer_msg_id, msg_id ? c->num : c->id);
    assert_int_equal(err->peer_request_id, 77);
}

static void test_malformed_table(void **state)
{
    toks_t *l = malloc(sizeof *l);
    size_t covered[VFP_REPLY + 1] = {0};
    for (size_t i = 0; i < sizeof s_cases / sizeof *s_cases; i++) {
        const s_case_t *c = &s_cases[i];
        s_base(l, c->id);
        tok_t *t = s_find(l, c->target);
        t->type = c->type;
        t->num = c->num;
        t->bytes = c->bytes;
        t->len = c->len;
        size_t size;
        uint8_t *data = s_serialize(l, &size);
        vfp_decode_error_t err;
        vfp_msg_t *msg = vfp_decode(data, size, &err);
        free(data);
        const char *field = c->field ? c->field : c->target;
        if (msg || (int)err.code != c->code || strcmp(err.field, field) != 0 ||
            !strstr(err.text, c->text)) {
            vfp_msg_destroy(&msg);
            fail_msg("case %zu (%s): expected %s %s \"%s\", got %s %s \"%s\"",
                     i, c->target, vfp_errcode_name(c->code), field, c->text,
                     vfp_errcode_name(err.code), err.field, err.text);
        }
        s_expect_header(&err, c);
        covered[c->id]++;
    }
    /* Every message type has cases of its own (HEARTBEAT: the header's). */
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++)
        assert_true(covered[id] > 0);
    free(l);
}

/* More VFs listed than the PF can have: needs two fields changed, so it is
 * not in the table. */
static void test_more_vfs_than_total(void **state)
{
    toks_t *l = malloc(sizeof *l);
    s_base(l, VFP_INVENTORY);
    s_find(l, "inventory.pfs[0].total_vfs")->num = 1;
    s_find(l, "inventory.pfs[0].num_vfs")->num = 1;
    size_t size;
    uint8_t *data = s_serialize(l, &size);
    vfp_decode_error_t err;
    assert_null(vfp_decode(data, size, &err));
    assert_string_equal(err.field, "inventory.pfs[0].vfs");
    assert_string_equal(err.text, "2 VFs listed but total_vfs is 1");
    free(data);
    free(l);
}

/* An INVENTORY with `pfs` PFs of 1024 minimal VFs each, PCI addresses
 * starting at bus `first`. */
static vfp_msg_t *s_big_inventory(uint32_t pfs, uint32_t first)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY);
    vfp_inventory_t *inv = &msg->u.inventory;
    strcpy(inv->host.hostname, "big");
    inv->pf_count = pfs;
    inv->pfs = pfs ? calloc(pfs, sizeof *inv->pfs) : NULL;
    for (uint32_t i = 0; i < pfs; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        snprintf(pf->pci_addr, sizeof pf->pci_addr, "0000:%02x:00.0",
                 first + i);
        pf->vf_count = VFP_VFS_MAX;
        pf->vfs = calloc(VFP_VFS_MAX, sizeof *pf->vfs);
        for (uint32_t k = 0; k < VFP_VFS_MAX; k++) {
            pf->vfs[k].index = (uint16_t)k;
            pf->vfs[k].iommu_group = -1;
        }
    }
    return msg;
}

static uint8_t *s_encode_or_fail(const vfp_msg_t *msg, size_t *size)
{
    uint8_t *data = NULL;
    vfp_decode_error_t err;
    if (vfp_encode(msg, &data, size, &err))
        fail_msg("%s: %s", err.field, err.text);
    return data;
}

/* All PFs together carry at most VFP_HOST_VFS_MAX VFs, in the model and on
 * the wire. The wire form is spliced from two valid encodings: 16 full PFs,
 * then a 17th taken from a message of its own. */
static void test_host_vfs_limit(void **state)
{
    vfp_decode_error_t err;
    vfp_msg_t *msg = s_big_inventory(17, 0);
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "inventory.pfs[16].vfs");
    assert_string_equal(err.text,
                        "17408 VFs in the message exceed the limit of 16384");
    vfp_msg_destroy(&msg);

    size_t full_size, one_size, none_size;
    msg = s_big_inventory(16, 0);
    uint8_t *full = s_encode_or_fail(msg, &full_size);
    vfp_msg_destroy(&msg);
    msg = s_big_inventory(1, 16);
    uint8_t *one = s_encode_or_fail(msg, &one_size);
    vfp_msg_destroy(&msg);
    msg = s_big_inventory(0, 0);
    free(s_encode_or_fail(msg, &none_size));
    vfp_msg_destroy(&msg);

    size_t size = full_size + one_size - none_size;
    uint8_t *data = malloc(size);
    memcpy(data, full, full_size);
    memcpy(data + full_size, one + none_size, one_size - none_size);
    data[none_size - 1] = 17; /* the low byte of the u32 PF count */
    assert_null(vfp_decode(data, size, &err));
    assert_string_equal(err.field, "inventory.pfs[16].vfs");
    assert_string_equal(err.text,
                        "17408 VFs in the message exceed the limit of 16384");
    /* The same bytes with the 16 PFs only are fine. */
    msg = vfp_decode(full, full_size, &err);
    assert_non_null(msg);
    vfp_msg_destroy(&msg);
    free(data);
    free(one);
    free(full);
}

/* The kernel reports whatever MAC a VF has, multicast included; only APPLY
 * refuses one. */
static void test_inventory_accepts_any_mac(void **state)
{
    toks_t *l = malloc(sizeof *l);
    s_base(l, VFP_INVENTORY);
    s_find(l, "inventory.pfs[0].vfs[1].mac")->bytes =
        "\xff\xff\xff\xff\xff\xff";
    size_t size;
    uint8_t *data = s_serialize(l, &size);
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_decode(data, size, &err);
    assert_non_null(msg);
    assert_int_equal(msg->u.inventory.pfs[0].vfs[1].mac[0], 0xff);
    vfp_msg_destroy(&msg);
    free(data);
    free(l);
}

/* ---- truncation and trailing bytes ---------------------------------- */

static void s_encode_sample(vfp_id_t id, sample_kind_t kind, uint8_t **data,
                            size_t *size)
{
    vfp_msg_t *msg = sample_msg(id, kind);
    vfp_decode_error_t err;
    assert_int_equal(vfp_encode(msg, data, size, &err), 0);
    vfp_msg_destroy(&msg);
}

static void s_expect_truncated(const uint8_t *data, size_t cut, int id,
                               int kind, uint32_t request_id)
{
    /* A copy of exactly `cut` bytes, so that a read past the end is caught
     * by ASan and valgrind, not merely wrong. */
    uint8_t *prefix = malloc(cut ? cut : 1);
    memcpy(prefix, data, cut);
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_decode(prefix, cut, &err);
    free(prefix);
    if (msg || err.code != VFP_ERR_MALFORMED || !strstr(err.text, "truncated"))
        fail_msg("%s kind %d cut at %zu: %s \"%s\"", vfp_id_name(id), kind, cut,
                 err.field, err.text);
    /* From 8 bytes on, the header tells whom to answer. */
    bool header = cut >= VFP_HEADER_SIZE;
    if (err.peer_header != header ||
        (header &&
         (err.peer_msg_id != id || err.peer_request_id != request_id)))
        fail_msg("%s kind %d cut at %zu: header %d msg_id %u request_id %u",
                 vfp_id_name(id), kind, cut, err.peer_header, err.peer_msg_id,
                 err.peer_request_id);
}

/* Every proper prefix of every valid message fails cleanly as truncated.
 * The MAX samples are megabytes long, so they are cut at a spread of
 * points, and one byte short of the end, instead of at every byte. */
static void test_every_prefix_is_truncated(void **state)
{
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        for (int kind = 0; kind < SAMPLE_KINDS; kind++) {
            uint8_t *data;
            size_t size;
            s_encode_sample((vfp_id_t)id, (sample_kind_t)kind, &data, &size);
            size_t step = kind == SAMPLE_MAX ? size / 61 + 1 : 1;
            uint32_t request_id = kind == SAMPLE_MIN ? 0 : 0xdeadbeef;
            for (size_t cut = 0; cut < size; cut += step)
                s_expect_truncated(data, cut, id, kind, request_id);
            s_expect_truncated(data, size - 1, id, kind, request_id);
            free(data);
        }
    }
}

static void test_trailing_byte(void **state)
{
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        uint8_t *data;
        size_t size;
        s_encode_sample((vfp_id_t)id, SAMPLE_FULL, &data, &size);
        data = realloc(data, size + 1);
        data[size] = 0;
        vfp_decode_error_t err;
        assert_null(vfp_decode(data, size + 1, &err));
        assert_int_equal(err.code, VFP_ERR_MALFORMED);
        char field[32];
        snprintf(field, sizeof field, "%s", vfp_id_name(id));
        for (char *p = field; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        assert_string_equal(err.field, field);
        assert_string_equal(err.text, "1 trailing byte(s) after the message");
        assert_true(err.peer_header);
        assert_int_equal(err.peer_msg_id, id);
        assert_int_equal(err.peer_request_id, 0xdeadbeef);
        free(data);
    }
}

static void test_oversized_message(void **state)
{
    size_t size = (size_t)VFP_MSG_MAX + 1;
    uint8_t *data = calloc(1, size);
    data[0] = 0x56;
    data[1] = 0x46;
    data[2] = 1;
    data[3] = VFP_HEARTBEAT;
    data[7] = 9;
    vfp_decode_error_t err;
    assert_null(vfp_decode(data, size, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "message");
    assert_true(err.peer_header);
    assert_int_equal(err.peer_msg_id, VFP_HEARTBEAT);
    assert_int_equal(err.peer_request_id, 9);
    /* In a version this build does not speak, the version is what is
     * wrong: that peer may have other limits. */
    data[2] = 2;
    assert_null(vfp_decode(data, size, &err));
    assert_int_equal(err.code, VFP_ERR_VERSION);
    free(data);
}

/* An ERROR is never answered (PROTOCOL.md 7.6), so the receiver must know
 * one when it sees it: in a version it does not speak, or with a body that
 * does not decode, the header still says ERROR. */
static void test_undecodable_error_is_recognisable(void **state)
{
    static const uint8_t newer[] = {0x56, 0x46, 0x02, VFP_ERROR, 0,
                                    0,    0,    5,    0xff};
    static const uint8_t bad_body[] = {0x56, 0x46, 0x01, VFP_ERROR, 0,
                                       0,    0,    6,    0x00,      0x63};
    vfp_decode_error_t err;
    assert_null(vfp_decode(newer, sizeof newer, &err));
    assert_int_equal(err.code, VFP_ERR_VERSION);
    assert_true(err.peer_header);
    assert_int_equal(err.peer_version, 2);
    assert_int_equal(err.peer_msg_id, VFP_ERROR);
    assert_int_equal(err.peer_request_id, 5);
    assert_null(vfp_decode(bad_body, sizeof bad_body, &err));
    assert_int_equal(err.code, VFP_ERR_MALFORMED);
    assert_string_equal(err.field, "error.code");
    assert_true(err.peer_header);
    assert_int_equal(err.peer_msg_id, VFP_ERROR);
    assert_int_equal(err.peer_request_id, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_layouts_match_codec),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_more_vfs_than_total),
        cmocka_unit_test(test_host_vfs_limit),
        cmocka_unit_test(test_inventory_accepts_any_mac),
        cmocka_unit_test(test_every_prefix_is_truncated),
        cmocka_unit_test(test_trailing_byte),
        cmocka_unit_test(test_oversized_message),
        cmocka_unit_test(test_undecodable_error_is_recognisable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
