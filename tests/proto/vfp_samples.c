/* vfp_samples.c - valid example messages of every type, for tests and the
 * fuzzer's seed corpus. */
#include "vfp_samples.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills dst with n copies of ch (n excludes the NUL). */
static void s_fill(char *dst, size_t n, char ch)
{
    memset(dst, ch, n);
    dst[n] = '\0';
}

/* The longest host name the codec takes: VFP_HOSTNAME_MAX bytes of labels
 * of at most VFP_HOSTNAME_LABEL_MAX 'h's, joined by dots. */
static void s_fill_hostname(char *dst)
{
    for (size_t i = 0; i < VFP_HOSTNAME_MAX; i++)
        dst[i] = i % (VFP_HOSTNAME_LABEL_MAX + 1) == VFP_HOSTNAME_LABEL_MAX
                     ? '.'
                     : 'h';
    dst[VFP_HOSTNAME_MAX] = '\0';
}

/* A string of exactly n bytes that mixes ASCII and multi-byte UTF-8, so the
 * limits are exercised in bytes rather than characters. */
static void s_fill_utf8(char *dst, size_t n)
{
    static const char pattern[] = "r\xc3\xa9seau \xe2\x9c\x93 ";
    size_t i = 0;
    while (n - i >= sizeof pattern - 1) {
        memcpy(dst + i, pattern, sizeof pattern - 1);
        i += sizeof pattern - 1;
    }
    memset(dst + i, 'x', n - i);
    dst[n] = '\0';
}

static void s_host(vfp_host_t *host, sample_kind_t kind)
{
    if (kind == SAMPLE_MIN) {
        strcpy(host->hostname, "h");
        return;
    }
    s_fill_hostname(host->hostname);
    s_fill(host->boot_id, VFP_NAME_MAX, 'b');
    s_fill(host->kernel, VFP_NAME_MAX, 'k');
    host->cpu_virt = VFP_VIRT_SVM;
    host->iommu_ready = true;
    host->iommu_units = 0xffff;
    host->iommu_groups = 0xfffffffe;
    s_fill_utf8(host->iommu_cmdline, VFP_TEXT_MAX);
    host->reason_count = kind == SAMPLE_MAX ? VFP_REASONS_MAX : 2;
    for (uint32_t i = 0; i < host->reason_count; i++)
        snprintf(host->reasons[i], sizeof host->reasons[i], "reason %u", i);
    s_fill_utf8(host->reasons[0], VFP_TEXT_MAX);
    host->mem_total_kb = UINT64_MAX;
    host->mem_available_kb = 0x0102030405060708u;
    host->hugepage_count = kind == SAMPLE_MAX ? VFP_HUGEPAGES_MAX : 2;
    for (uint32_t i = 0; i < host->hugepage_count; i++) {
        host->hugepages[i].size_kb = 4u << (3 * i);
        host->hugepages[i].total = 1000 + i;
        host->hugepages[i].free = 10 * i;
    }
}

static void s_vf(vfp_vf_t *vf, uint16_t index, bool full)
{
    vf->index = index;
    vf->iommu_group = -1;
    if (!full)
        return;
    snprintf(vf->pci_addr, sizeof vf->pci_addr, "0000:86:%02x.%u",
             2 + index / 8, index % 8);
    vf->iommu_group = 100 + index;
    vf->iommu_isolated = index % 2 == 0;
    s_fill(vf->driver, VFP_NAME_MAX, 'd');
    /* A multicast MAC: the kernel may report one, so INVENTORY carries it. */
    memcpy(vf->mac, (uint8_t[]){0xff, 0xfe, 0x00, 0x12, 0x34, 0x56}, 6);
    vf->vlan = VFP_VLAN_MAX;
    vf->qos = VFP_QOS_MAX;
    vf->vlan_proto = VFP_VLAN_PROTO_8021AD;
    vf->spoofchk = VFP_UNKNOWN;
    vf->trust = VFP_ON;
    vf->link_state = VFP_LINK_DISABLE;
    vf->min_tx_rate = 0xffffffffu;
    vf->max_tx_rate = 1;
    vf->settings_known = true;
    vf->in_use = true;
    s_fill_utf8(vf->note, VFP_VF_NOTE_MAX);
}

static void s_pf(vfp_pf_t *pf, uint32_t n, sample_kind_t kind,
                 uint32_t vf_count)
{
    snprintf(pf->pci_addr, sizeof pf->pci_addr, "0000:%02x:00.0", n % 256);
    pf->numa_node = -1;
    pf->vf_count = vf_count;
    pf->vfs = vf_count ? calloc(vf_count, sizeof *pf->vfs) : NULL;
    for (uint32_t i = 0; i < vf_count; i++)
        s_vf(&pf->vfs[i], (uint16_t)(i * 3), kind != SAMPLE_MIN);
    if (kind == SAMPLE_MIN)
        return;
    s_fill(pf->pci_addr + strlen(pf->pci_addr),
           VFP_PCI_ADDR_MAX - strlen(pf->pci_addr), 'p');
    s_fill(pf->ifname, VFP_NAME_MAX, 'i');
    s_fill(pf->driver, VFP_NAME_MAX, 'd');
    s_fill(pf->vf_driver, VFP_NAME_MAX, 'v');
    pf->vendor_id = 0x8086;
    pf->device_id = 0x1593;
    pf->numa_node = (int16_t)(n % 2 ? 32767 : 1);
    pf->link_speed = 100000;
    pf->link_up = true;
    pf->total_vfs = 0xffff;
    pf->num_vfs = (uint16_t)vf_count;
    s_fill_utf8(pf->note, VFP_TEXT_MAX);
}

/* PF list shapes: none, two with VFs (and one without), or many. */
static void s_pfs(uint32_t *count, vfp_pf_t **pfs, sample_kind_t kind)
{
    static const uint32_t full_vfs[] = {3, 0};
    *count = kind == SAMPLE_MIN ? 0 : kind == SAMPLE_FULL ? 2 : VFP_PFS_MAX;
    *pfs = *count ? calloc(*count, sizeof **pfs) : NULL;
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t vfs = kind == SAMPLE_FULL ? full_vfs[i]
                       : i == 0            ? VFP_VFS_MAX
                                           : 0;
        s_pf(&(*pfs)[i], i, kind == SAMPLE_MAX && i > 0 ? SAMPLE_MIN : kind,
             vfs);
    }
}

static void s_apply_vf(vfp_apply_vf_t *vf, uint32_t i, bool full)
{
    snprintf(vf->pf, sizeof vf->pf, "0000:%02x:00.0", i / 1024);
    vf->index = (uint16_t)(i % 1024);
    if (!full)
        return;
    vf->set = VFP_SET_ALL;
    memcpy(vf->mac, (uint8_t[]){0x02, 0x00, 0x00, 0x00, 0x00, 0x00}, 6);
    vf->mac[4] = (uint8_t)(i >> 8);
    vf->mac[5] = (uint8_t)i;
    vf->vlan = (uint16_t)(i % (VFP_APPLY_VLAN_MAX + 1u));
    vf->qos = (uint8_t)(i % 8);
    vf->vlan_proto = i % 2 ? VFP_VLAN_PROTO_8021Q : VFP_VLAN_PROTO_8021AD;
    vf->spoofchk = VFP_ON;
    vf->trust = VFP_OFF;
    vf->link_state = VFP_LINK_ENABLE;
    vf->min_tx_rate = 100;
    vf->max_tx_rate = 10000;
    vf->mtu = 65535;
}

static void s_apply(vfp_apply_t *m, sample_kind_t kind)
{
    if (kind == SAMPLE_MIN)
        return;
    m->revision = 0xfedcba9876543210u;
    m->pf_count = kind == SAMPLE_MAX ? VFP_PFS_MAX : 2;
    m->pfs = calloc(m->pf_count, sizeof *m->pfs);
    for (uint32_t i = 0; i < m->pf_count; i++) {
        snprintf(m->pfs[i].pf, sizeof m->pfs[i].pf, "0000:%02x:00.0", i);
        m->pfs[i].num_vfs = (uint16_t)(i * 7);
    }
    s_fill(m->pfs[0].pf, VFP_PCI_ADDR_MAX, 'p');
    m->vf_count = kind == SAMPLE_MAX ? VFP_APPLY_VFS_MAX : 3;
    m->vfs = calloc(m->vf_count, sizeof *m->vfs);
    /* Item 1 has no field set: it only names a VF that must exist. */
    for (uint32_t i = 0; i < m->vf_count; i++)
        s_apply_vf(&m->vfs[i], i, i != 1);
    m->hugepage_count = kind == SAMPLE_MAX ? VFP_HUGEPAGES_MAX : 1;
    for (uint32_t i = 0; i < m->hugepage_count; i++) {
        m->hugepages[i].size_kb = 2048 + i;
        m->hugepages[i].pages = UINT64_MAX - i;
    }
}

static void s_results(vfp_apply_result_t *m, sample_kind_t kind)
{
    if (kind == SAMPLE_MIN)
        return;
    m->revision = 42;
    m->result_count = kind == SAMPLE_MAX ? 4096 : 3;
    m->results = calloc(m->result_count, sizeof *m->results);
    for (uint32_t i = 0; i < m->result_count; i++) {
        vfp_result_t *r = &m->results[i];
        r->kind = (vfp_item_kind_t)(i % 3 + 1);
        if (r->kind != VFP_ITEM_HUGEPAGES)
            snprintf(r->pf, sizeof r->pf, "0000:%02x:00.0", i % 256);
        if (r->kind == VFP_ITEM_VF)
            r->index = (uint16_t)i;
        snprintf(r->attribute, sizeof r->attribute, "%s",
                 r->kind == VFP_ITEM_HUGEPAGES ? "2048kB" : "mac");
        r->err = i % 2 ? 95 : 0;
    }
    s_fill(m->results[0].pf, VFP_PCI_ADDR_MAX, 'p');
    s_fill(m->results[0].attribute, VFP_ATTRIBUTE_MAX, 'a');
    s_fill_utf8(m->results[0].message, VFP_RESULT_MESSAGE_MAX);
    m->results[0].err = 0x7fffffff;
}

static char *s_body(uint32_t len)
{
    char *body = malloc((size_t)len + 1);
    assert(body);
    s_fill_utf8(body, len);
    return body;
}

static void s_request(vfp_request_t *m, sample_kind_t kind)
{
    if (kind == SAMPLE_MIN) {
        strcpy(m->verb, "hosts");
        return;
    }
    s_fill(m->verb, VFP_NAME_MAX, 'v');
    m->param_count = kind == SAMPLE_MAX ? VFP_PARAMS_MAX : 2;
    for (uint32_t i = 0; i < m->param_count; i++) {
        snprintf(m->params[i].key, sizeof m->params[i].key, "key%u", i);
        snprintf(m->params[i].value, sizeof m->params[i].value, "v%u", i);
    }
    s_fill(m->params[0].key, VFP_NAME_MAX, 'k');
    s_fill_utf8(m->params[0].value, VFP_TEXT_MAX);
    m->body_len = kind == SAMPLE_MAX ? VFP_BODY_MAX : 100;
    m->body = s_body(m->body_len);
}

vfp_msg_t *sample_msg(vfp_id_t id, sample_kind_t kind)
{
    vfp_msg_t *msg = vfp_msg_new(id);
    bool min = kind == SAMPLE_MIN;
    msg->request_id = min ? 0 : 0xdeadbeef;
    switch (id) {
    case VFP_HELLO:
        strcpy(msg->u.hello.hostname, "h");
        msg->u.hello.proto_min = 1;
        msg->u.hello.proto_max = 1;
        if (!min) {
            s_fill_hostname(msg->u.hello.hostname);
            s_fill(msg->u.hello.agent_version, VFP_NAME_MAX, 'a');
            s_fill(msg->u.hello.boot_id, VFP_NAME_MAX, 'b');
            msg->u.hello.proto_max = 255;
        }
        break;
    case VFP_WELCOME:
        msg->u.welcome.proto_version = 1;
        msg->u.welcome.heartbeat_ms = min ? 1 : 0xffffffffu;
        if (!min)
            s_fill(msg->u.welcome.controller_id, VFP_NAME_MAX, 'c');
        break;
    case VFP_INVENTORY:
        msg->u.inventory.generation = min ? 0 : UINT64_MAX;
        s_host(&msg->u.inventory.host, kind);
        s_pfs(&msg->u.inventory.pf_count, &msg->u.inventory.pfs, kind);
        break;
    case VFP_INVENTORY_DELTA: {
        vfp_inventory_delta_t *d = &msg->u.delta;
        d->base_generation = min ? 0 : 1000;
        d->generation = min ? 1 : UINT64_MAX;
        if (!min) {
            d->has_host = true;
            s_host(&d->host, kind);
        }
        s_pfs(&d->pf_count, &d->pfs, kind);
        d->removed_count = min ? 0 : kind == SAMPLE_FULL ? 2 : VFP_REMOVED_MAX;
        d->removed = d->removed_count
                         ? calloc(d->removed_count, sizeof *d->removed)
                         : NULL;
        for (uint32_t i = 0; i < d->removed_count; i++)
            snprintf(d->removed[i], sizeof d->removed[i], "0001:%02x:00.0", i);
        if (d->removed_count)
            s_fill(d->removed[0], VFP_PCI_ADDR_MAX, 'r');
        break;
    }
    case VFP_HEARTBEAT:
        msg->u.heartbeat.generation = min ? 0 : UINT64_MAX;
        msg->u.heartbeat.applied_revision = min ? 0 : 0x8000000000000001u;
        break;
    case VFP_APPLY:
        s_apply(&msg->u.apply, kind);
        break;
    case VFP_APPLY_RESULT:
        s_results(&msg->u.apply_result, kind);
        break;
    case VFP_ERROR:
        msg->u.error.code = min ? VFP_ERR_MALFORMED : VFP_ERR_MAX;
        if (!min)
            s_fill_utf8(msg->u.error.text, VFP_TEXT_MAX);
        break;
    case VFP_REQUEST:
        s_request(&msg->u.request, kind);
        break;
    case VFP_REPLY:
        msg->u.reply.status = min ? VFP_OK : VFP_ERR_CONFLICT;
        if (!min) {
            s_fill_utf8(msg->u.reply.error, VFP_TEXT_MAX);
            msg->u.reply.body_len = kind == SAMPLE_MAX ? VFP_BODY_MAX : 2;
            msg->u.reply.body = s_body(msg->u.reply.body_len);
        }
        break;
    }
    return msg;
}

/* ---- largest messages ------------------------------------------------ */

/* Pads the string in dst (max + 1 bytes) with 'x' up to max bytes. What it
 * holds is kept, so names that were unique stay unique. */
static void s_pad(char *dst, size_t max)
{
    size_t n = strlen(dst);
    s_fill(dst + n, max - n, 'x');
}

static void s_largest_host(vfp_host_t *host)
{
    s_host(host, SAMPLE_MAX);
    for (uint32_t i = 0; i < host->reason_count; i++)
        s_pad(host->reasons[i], VFP_TEXT_MAX);
}

/* Every PF at its limits, and VFP_HOST_VFS_MAX VFs spread over them: every
 * VF costs the same bytes, so how they are spread does not matter. */
static void s_largest_pfs(uint32_t *count, vfp_pf_t **pfs)
{
    *count = VFP_PFS_MAX;
    *pfs = calloc(*count, sizeof **pfs);
    for (uint32_t i = 0; i < *count; i++) {
        vfp_pf_t *pf = &(*pfs)[i];
        s_pf(pf, i, SAMPLE_FULL, VFP_HOST_VFS_MAX / VFP_PFS_MAX);
        for (uint32_t v = 0; v < pf->vf_count; v++)
            s_pad(pf->vfs[v].pci_addr, VFP_PCI_ADDR_MAX);
    }
}

static void s_largest_apply(vfp_apply_t *m)
{
    s_apply(m, SAMPLE_MAX);
    for (uint32_t i = 0; i < m->pf_count; i++)
        s_pad(m->pfs[i].pf, VFP_PCI_ADDR_MAX);
    for (uint32_t i = 0; i < m->vf_count; i++) {
        s_apply_vf(&m->vfs[i], i, true);
        s_pad(m->vfs[i].pf, VFP_PCI_ADDR_MAX);
    }
}

/* VF items: unlike hugepage items they carry a PF name. */
static void s_largest_results(vfp_apply_result_t *m)
{
    m->revision = UINT64_MAX;
    m->result_count = VFP_RESULTS_MAX;
    m->results = calloc(m->result_count, sizeof *m->results);
    for (uint32_t i = 0; i < m->result_count; i++) {
        vfp_result_t *r = &m->results[i];
        r->kind = VFP_ITEM_VF;
        r->index = (uint16_t)i;
        r->err = 0x7fffffff;
        s_fill(r->pf, VFP_PCI_ADDR_MAX, 'p');
        s_fill(r->attribute, VFP_ATTRIBUTE_MAX, 'a');
        s_fill_utf8(r->message, VFP_RESULT_MESSAGE_MAX);
    }
}

vfp_msg_t *sample_largest(vfp_id_t id)
{
    /* These have no lists: their FULL sample has every string at its
     * limit, and REPLY's MAX sample also the largest body. */
    if (id == VFP_HELLO || id == VFP_WELCOME || id == VFP_HEARTBEAT ||
        id == VFP_ERROR)
        return sample_msg(id, SAMPLE_FULL);
    if (id == VFP_REPLY)
        return sample_msg(id, SAMPLE_MAX);
    vfp_msg_t *msg = vfp_msg_new(id);
    msg->request_id = 0xdeadbeef;
    switch (id) {
    case VFP_INVENTORY:
        s_largest_host(&msg->u.inventory.host);
        s_largest_pfs(&msg->u.inventory.pf_count, &msg->u.inventory.pfs);
        break;
    case VFP_INVENTORY_DELTA: {
        vfp_inventory_delta_t *d = &msg->u.delta;
        d->generation = 1;
        d->has_host = true;
        s_largest_host(&d->host);
        s_largest_pfs(&d->pf_count, &d->pfs);
        d->removed_count = VFP_REMOVED_MAX;
        d->removed = calloc(d->removed_count, sizeof *d->removed);
        for (uint32_t i = 0; i < d->removed_count; i++) {
            snprintf(d->removed[i], sizeof d->removed[i], "0001:%02x:00.0", i);
            s_pad(d->removed[i], VFP_PCI_ADDR_MAX);
        }
        break;
    }
    case VFP_APPLY:
        s_largest_apply(&msg->u.apply);
        break;
    case VFP_APPLY_RESULT:
        s_largest_results(&msg->u.apply_result);
        break;
    case VFP_REQUEST:
        s_request(&msg->u.request, SAMPLE_MAX);
        for (uint32_t i = 0; i < msg->u.request.param_count; i++) {
            s_pad(msg->u.request.params[i].key, VFP_NAME_MAX);
            s_pad(msg->u.request.params[i].value, VFP_TEXT_MAX);
        }
        break;
    default:
        break;
    }
    return msg;
}

/* ---- equality -------------------------------------------------------- */

/* The model's structs are compared bytewise after their pointers are
 * cleared: both sides come from calloc, so padding and the bytes after each
 * string's NUL are zero on both. */
static bool s_pf_equal(const vfp_pf_t *a, const vfp_pf_t *b)
{
    vfp_pf_t x = *a, y = *b;
    x.vfs = y.vfs = NULL;
    if (memcmp(&x, &y, sizeof x) != 0)
        return false;
    return a->vf_count == 0 ||
           memcmp(a->vfs, b->vfs, a->vf_count * sizeof *a->vfs) == 0;
}

static bool s_pfs_equal(const vfp_pf_t *a, const vfp_pf_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!s_pf_equal(&a[i], &b[i]))
            return false;
    return true;
}

static bool s_body_equal(const char *a, const char *b, uint32_t len)
{
    return len == 0 || memcmp(a, b, len) == 0;
}

bool sample_equal(const vfp_msg_t *a, const vfp_msg_t *b)
{
    if (a->id != b->id || a->version != b->version ||
        a->request_id != b->request_id)
        return false;
    switch (a->id) {
    case VFP_INVENTORY: {
        vfp_inventory_t x = a->u.inventory, y = b->u.inventory;
        x.pfs = y.pfs = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               s_pfs_equal(a->u.inventory.pfs, b->u.inventory.pfs, x.pf_count);
    }
    case VFP_INVENTORY_DELTA: {
        vfp_inventory_delta_t x = a->u.delta, y = b->u.delta;
        x.pfs = y.pfs = NULL;
        x.removed = y.removed = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               s_pfs_equal(a->u.delta.pfs, b->u.delta.pfs, x.pf_count) &&
               (x.removed_count == 0 ||
                memcmp(a->u.delta.removed, b->u.delta.removed,
                       x.removed_count * sizeof *a->u.delta.removed) == 0);
    }
    case VFP_APPLY: {
        vfp_apply_t x = a->u.apply, y = b->u.apply;
        x.pfs = y.pfs = NULL;
        x.vfs = y.vfs = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               (x.pf_count == 0 || memcmp(a->u.apply.pfs, b->u.apply.pfs,
                                          x.pf_count * sizeof *x.pfs) == 0) &&
               (x.vf_count == 0 || memcmp(a->u.apply.vfs, b->u.apply.vfs,
                                          x.vf_count * sizeof *x.vfs) == 0);
    }
    case VFP_APPLY_RESULT: {
        vfp_apply_result_t x = a->u.apply_result, y = b->u.apply_result;
        x.results = y.results = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               (x.result_count == 0 ||
                memcmp(a->u.apply_result.results, b->u.apply_result.results,
                       x.result_count * sizeof *x.results) == 0);
    }
    case VFP_REQUEST: {
        vfp_request_t x = a->u.request, y = b->u.request;
        x.body = y.body = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               s_body_equal(a->u.request.body, b->u.request.body, x.body_len);
    }
    case VFP_REPLY: {
        vfp_reply_t x = a->u.reply, y = b->u.reply;
        x.body = y.body = NULL;
        return memcmp(&x, &y, sizeof x) == 0 &&
               s_body_equal(a->u.reply.body, b->u.reply.body, x.body_len);
    }
    case VFP_HELLO:
        return memcmp(&a->u.hello, &b->u.hello, sizeof a->u.hello) == 0;
    case VFP_WELCOME:
        return memcmp(&a->u.welcome, &b->u.welcome, sizeof a->u.welcome) == 0;
    case VFP_HEARTBEAT:
        return memcmp(&a->u.heartbeat, &b->u.heartbeat,
                      sizeof a->u.heartbeat) == 0;
    case VFP_ERROR:
        return memcmp(&a->u.error, &b->u.error, sizeof a->u.error) == 0;
    }
    return false;
}
