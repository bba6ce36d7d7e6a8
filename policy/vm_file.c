/* vm_file.c - the VM file schema (POLICY.md "VM files"): walks the YAML
 * tree of a file `vfleetctl vm apply` reads and builds its VMs in file
 * order, with the policy language's readers, so names, sizes and MACs
 * follow one rule everywhere. */
#include "vm_file.h"

#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>

#define S_COUNT(array) (sizeof(array) / sizeof(*(array)))

static const policy_words_t s_numa_words = {
    .words = (const char *const[]){"none", "preferred", "required"},
    .count = 3,
};

const char *policy_vm_numa_name(policy_vm_numa_t numa)
{
    return (size_t)numa < s_numa_words.count ? s_numa_words.words[numa]
                                             : "none";
}

static const char *const s_nic_keys[] = {"network", "mac"};
static const char *const s_vm_keys[] = {
    "name", "memory", "vcpus", "nics", "host", "group", "numa", "separate_pfs"};
static const char *const s_top_keys[] = {"version", "vms"};

/* A fixed MAC as the placement takes it: six octets, unicast, not zero. */
static const char *s_mac(policy_parser_t *p, const policy_node_t *node)
{
    char got[128], mac[32];
    uint8_t octets[6];
    static const uint8_t zero[6] = {0};
    if (policy_mac_parse(node, octets) != 6) {
        policy_parser_error(
            p, node, "mac: expected a MAC like 02:00:00:00:00:01, got %s",
            policy_node_describe(node, got, sizeof(got)));
        return NULL;
    }
    policy_mac_format(octets, 6, mac, sizeof(mac));
    if (octets[0] & 0x01) {
        policy_parser_error(p, node, "mac: %s is a multicast address", mac);
        return NULL;
    }
    if (memcmp(octets, zero, 6) == 0) {
        policy_parser_error(p, node, "mac: %s is not a usable address", mac);
        return NULL;
    }
    char *copy = policy_arena_strndup(p->arena, mac, strlen(mac));
    if (!copy)
        policy_parser_out_of_memory(p);
    return copy;
}

static void s_nic(policy_parser_t *p, const policy_node_t *node,
                  policy_vm_nic_t *nic)
{
    nic->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "nic", s_nic_keys, S_COUNT(s_nic_keys)))
        return;
    const policy_node_t *v;
    if ((v = policy_field_require(p, node, "nic", "network")))
        nic->network = policy_field_text(p, v, "network", POLICY_TEXT_NAME);
    if ((v = policy_node_get(node, "mac")))
        nic->mac = s_mac(p, v);
}

static void s_nics(policy_parser_t *p, const policy_node_t *node,
                   policy_vm_t *vm)
{
    if (!policy_field_sequence(p, node, "nics"))
        return;
    if (node->count == 0) {
        policy_parser_error(p, node, "nics: a VM needs at least one NIC");
        return;
    }
    if (node->count > POLICY_VM_NICS_MAX) {
        policy_parser_error(p, node, "nics: more than %d entries",
                            POLICY_VM_NICS_MAX);
        return;
    }
    vm->nics = policy_parser_calloc(p, node->count, sizeof(*vm->nics));
    if (!vm->nics)
        return;
    for (size_t i = 0; i < node->count; i++)
        s_nic(p, node->items[i], &vm->nics[i]);
    vm->nic_count = node->count;
}

/* Memory and vCPUs: what the VM takes from its host. */
static void s_size(policy_parser_t *p, const policy_node_t *node,
                   policy_vm_t *vm)
{
    const policy_node_t *v;
    uint64_t n;
    if ((v = policy_field_require(p, node, "vm", "memory"))) {
        uint64_t mib = UINT64_MAX; /* left as is when the size is invalid */
        policy_field_size(p, v, "memory", &mib);
        if (mib == 0)
            policy_parser_error(p, v, "memory: must be more than 0");
        else if (mib != UINT64_MAX)
            vm->memory_mib = mib;
    }
    if ((v = policy_field_require(p, node, "vm", "vcpus")) &&
        policy_field_uint(p, v, "vcpus", 1, POLICY_VM_VCPUS_MAX, &n))
        vm->vcpus = (uint32_t)n;
}

static void s_vm(policy_parser_t *p, const policy_node_t *node, void *item)
{
    policy_vm_t *vm = item;
    vm->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "vm", s_vm_keys, S_COUNT(s_vm_keys)))
        return;
    const policy_node_t *v;
    int e;
    if ((v = policy_field_require(p, node, "vm", "name")))
        vm->name = policy_field_text(p, v, "name", POLICY_TEXT_NAME);
    s_size(p, node, vm);
    if ((v = policy_field_require(p, node, "vm", "nics")))
        s_nics(p, v, vm);
    if ((v = policy_node_get(node, "host")))
        vm->host = policy_field_text(p, v, "host", POLICY_TEXT_HOST);
    if ((v = policy_node_get(node, "group")))
        vm->group = policy_field_text(p, v, "group", POLICY_TEXT_NAME);
    if ((v = policy_node_get(node, "numa")) &&
        policy_field_enum(p, v, "numa", &s_numa_words, &e))
        vm->numa = (policy_vm_numa_t)e;
    if ((v = policy_node_get(node, "separate_pfs")))
        policy_field_bool(p, v, "separate_pfs", &vm->separate_pfs);
}

static const policy_named_list_t s_vm_list =
    POLICY_NAMED_LIST(policy_vm_t, "vm");

/* A fixed MAC with where it is written, to find one given twice. */
typedef struct {
    const char *name; /* the MAC */
    policy_pos_t pos;
} s_mac_at_t;

static const policy_named_list_t s_mac_list =
    POLICY_NAMED_LIST(s_mac_at_t, "mac");

/* Names and fixed MACs given twice. The checks sort copies: the model
 * keeps the file's order, which is the order VMs are applied in. */
static void s_check_unique(policy_parser_t *p, const policy_vm_file_t *file)
{
    size_t count = file->vm_count, macs = 0;
    policy_vm_t *sorted = policy_parser_calloc(p, count, sizeof(*sorted));
    if (!sorted)
        return;
    memcpy(sorted, file->vms, count * sizeof(*sorted));
    policy_check_unique_names(p, sorted, &count, &s_vm_list);
    for (size_t i = 0; i < file->vm_count; i++)
        macs += file->vms[i].nic_count;
    s_mac_at_t *fixed = policy_parser_calloc(p, macs, sizeof(*fixed));
    if (!fixed)
        return;
    macs = 0;
    for (size_t i = 0; i < file->vm_count; i++)
        for (size_t j = 0; j < file->vms[i].nic_count; j++)
            if (file->vms[i].nics[j].mac)
                fixed[macs++] = (s_mac_at_t){.name = file->vms[i].nics[j].mac,
                                             .pos = file->vms[i].nics[j].pos};
    policy_check_unique_names(p, fixed, &macs, &s_mac_list);
}

static void s_document(policy_parser_t *p, const policy_node_t *root,
                       policy_vm_file_t *file)
{
    if (!policy_field_mapping(p, root, "VM file", s_top_keys,
                              S_COUNT(s_top_keys)))
        return;
    const policy_node_t *v;
    uint64_t n;
    if ((v = policy_field_require(p, root, "VM file", "version")) &&
        policy_field_uint(p, v, "version", 0, UINT32_MAX, &n) &&
        n != POLICY_VM_FILE_VERSION)
        policy_parser_error(p, v,
                            "version: VM file version %llu is not supported "
                            "(this vfleet reads version %d)",
                            (unsigned long long)n, POLICY_VM_FILE_VERSION);
    if (!(v = policy_field_require(p, root, "VM file", "vms")))
        return;
    if (v->kind == POLICY_NODE_SEQUENCE && v->count == 0) {
        policy_parser_error(p, v, "vms: the file declares no VM");
        return;
    }
    file->vms = policy_field_named_items(p, v, "vms", POLICY_VM_FILE_MAX_VMS,
                                         &s_vm_list, s_vm, &file->vm_count);
    if (file->vms && !p->out_of_memory)
        s_check_unique(p, file);
}

static policy_vm_file_t *s_parse(const char *name, const char *text, size_t len,
                                 policy_errors_t *errs)
{
    if (len > POLICY_MAX_FILE_SIZE) {
        policy_errors_add(errs, 1, 1, "VM file is larger than %d bytes",
                          POLICY_MAX_FILE_SIZE);
        return NULL;
    }
    policy_parser_t p = {.errs = errs};
    policy_arena_t *tree_arena = policy_arena_new();
    p.arena = policy_arena_new();
    policy_vm_file_t *file =
        p.arena ? policy_arena_alloc(p.arena, sizeof(*file)) : NULL;
    if (file)
        file->source = policy_arena_strndup(p.arena, name, strlen(name));
    if (!tree_arena || !file || !file->source) {
        policy_errors_set_out_of_memory(errs);
        policy_arena_destroy(&tree_arena);
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    bool ok;
    const policy_node_t *root =
        policy_yaml_load(tree_arena, text, len, errs, &ok);
    if (!ok) {
        p.failed = true;
    } else if (!root) {
        policy_errors_add(errs, 1, 1,
                          "VM file is empty: expected a mapping with "
                          "'version' and 'vms'");
        p.failed = true;
    } else {
        s_document(&p, root, file);
    }
    policy_arena_destroy(&tree_arena);
    policy_errors_sort(errs);
    /* As for a policy: no half-built model escapes, even when only an
     * error message was lost to memory. */
    if (p.failed || (errs && policy_errors_out_of_memory(errs))) {
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    file->arena = p.arena;
    return file;
}

static void s_errors_reset(policy_errors_t *errs, const char *name)
{
    if (errs) {
        policy_errors_clear(errs);
        policy_errors_set_source(errs, name);
    }
}

policy_vm_file_t *policy_vm_file_parse(const char *name, const char *text,
                                       size_t len, policy_errors_t *errs)
{
    s_errors_reset(errs, name);
    return s_parse(name, text, len, errs);
}

policy_vm_file_t *policy_vm_file_parse_file(const char *path,
                                            policy_errors_t *errs)
{
    s_errors_reset(errs, path);
    size_t len;
    char *text = policy_file_read(path, errs, &len);
    if (!text)
        return NULL;
    policy_vm_file_t *file = s_parse(path, text, len, errs);
    policy_free(text);
    return file;
}

void policy_vm_file_destroy(policy_vm_file_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_arena_t *arena = (*self_p)->arena;
    policy_arena_destroy(&arena);
    *self_p = NULL;
}
