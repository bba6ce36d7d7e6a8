/* policy_parse.c - the policy schema: walks the YAML node tree key by key
 * and builds the normalised model (defaults filled in, lists sorted); the
 * rules that span several items are in policy_check.c. */
#include "policy_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COUNT(array) (sizeof(array) / sizeof(*(array)))

/* ---- networks ---------------------------------------------------------- */

static const char *const s_network_keys[] = {
    "name",        "vlan",        "qos",   "vlan_protocol",
    "trunk",       "spoof_check", "trust", "link_state",
    "min_tx_rate", "max_tx_rate", "mtu",   "guest_mtu_change"};

/* vlan 0 and 4095 are what other tools write for "no VLAN" and for a
 * trunk (vSphere's VLAN 4095): the error names the way to say it here. */
static void s_network_vlan(policy_parser_t *p, const policy_node_t *node,
                           policy_network_t *net)
{
    uint64_t n;
    if (!policy_field_uint(p, node, "vlan", 0, UINT64_MAX, &n))
        return;
    if (n >= 1 && n <= POLICY_VLAN_MAX) {
        net->vlan = (uint16_t)n;
        return;
    }
    const char *hint = n == 0 ? " (for an untagged network leave vlan out)"
                       : n == POLICY_VLAN_MAX + 1
                           ? " (for a trunk, where the guest tags, "
                             "write trunk: true)"
                           : "";
    policy_parser_error(p, node, "vlan: %llu is out of range 1..%d%s",
                        (unsigned long long)n, POLICY_VLAN_MAX, hint);
}

/* The keys of a network that each stand alone. */
static void s_network_fields(policy_parser_t *p, const policy_node_t *node,
                             policy_network_t *net)
{
    const policy_node_t *v;
    uint64_t n;
    int e;
    if ((v = policy_field_require(p, node, "network", "name")))
        net->name = policy_field_text(p, v, "name", POLICY_TEXT_NAME);
    if ((v = policy_node_get(node, "vlan")))
        s_network_vlan(p, v, net);
    if ((v = policy_node_get(node, "trunk")))
        policy_field_bool(p, v, "trunk", &net->trunk);
    if ((v = policy_node_get(node, "qos")) &&
        policy_field_uint(p, v, "qos", 0, POLICY_QOS_MAX, &n))
        net->qos = (uint8_t)n;
    if ((v = policy_node_get(node, "vlan_protocol")) &&
        policy_field_enum(p, v, "vlan_protocol", &policy_vlan_protocol_words,
                          &e))
        net->vlan_protocol = (policy_vlan_proto_t)e;
    if ((v = policy_node_get(node, "spoof_check")))
        policy_field_bool(p, v, "spoof_check", &net->spoof_check);
    if ((v = policy_node_get(node, "trust")))
        policy_field_bool(p, v, "trust", &net->trust);
    if ((v = policy_node_get(node, "link_state")) &&
        policy_field_enum(p, v, "link_state", &policy_link_state_words, &e))
        net->link_state = (policy_link_state_t)e;
    if ((v = policy_node_get(node, "min_tx_rate")) &&
        policy_field_uint(p, v, "min_tx_rate", 0, POLICY_TX_RATE_MAX, &n))
        net->min_tx_rate = (uint32_t)n;
    if ((v = policy_node_get(node, "max_tx_rate")) &&
        policy_field_uint(p, v, "max_tx_rate", 0, POLICY_TX_RATE_MAX, &n))
        net->max_tx_rate = (uint32_t)n;
    if ((v = policy_node_get(node, "mtu")) &&
        policy_field_uint(p, v, "mtu", POLICY_MTU_MIN, POLICY_MTU_MAX, &n))
        net->mtu = (uint16_t)n;
    if ((v = policy_node_get(node, "guest_mtu_change")) &&
        policy_field_enum(p, v, "guest_mtu_change",
                          &policy_guest_mtu_change_words, &e))
        net->guest_mtu_change = e == 1;
}

/* The rules between keys of one network: what a trunk or untagged network
 * cannot have, and rates in order. */
static void s_network_combinations(policy_parser_t *p,
                                   const policy_node_t *node,
                                   const policy_network_t *net)
{
    const policy_node_t *v;
    const policy_node_t *vlan = policy_node_get(node, "vlan");
    const policy_node_t *min = policy_node_get(node, "min_tx_rate");
    if (net->trunk && vlan)
        policy_parser_error(
            p, vlan,
            "vlan: a trunk network has no VF vlan (the guest tags); "
            "drop vlan or trunk");
    if (!vlan) {
        const char *mode = net->trunk ? "trunk" : "untagged";
        if ((v = policy_node_get(node, "qos")))
            policy_parser_error(p, v, "qos: needs a vlan (the network is %s)",
                                mode);
        if ((v = policy_node_get(node, "vlan_protocol")))
            policy_parser_error(
                p, v, "vlan_protocol: needs a vlan (the network is %s)", mode);
    }
    if (min && net->max_tx_rate != 0 && net->min_tx_rate > net->max_tx_rate)
        policy_parser_error(p, min, "min_tx_rate %u is above max_tx_rate %u",
                            net->min_tx_rate, net->max_tx_rate);
}

static void s_network(policy_parser_t *p, const policy_node_t *node, void *item)
{
    policy_network_t *net = item;
    net->pos = policy_node_pos(node);
    net->spoof_check = true;
    net->mtu = POLICY_MTU_DEFAULT;
    if (!policy_field_mapping(p, node, "network", s_network_keys,
                              S_COUNT(s_network_keys)))
        return;
    s_network_fields(p, node, net);
    s_network_combinations(p, node, net);
}

static const policy_named_list_t s_network_list =
    POLICY_NAMED_LIST(policy_network_t, "network");

static void s_networks(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    policy->networks =
        policy_field_named_items(p, node, "networks", 0, &s_network_list,
                                 s_network, &policy->network_count);
    policy_check_unique_names(p, policy->networks, &policy->network_count,
                              &s_network_list);
}

/* ---- MAC pools and fixed MACs ----------------------------------------- */

static const char *const s_pool_keys[] = {"name", "prefixes", "vendor_oui"};

static void s_mac_prefix(policy_parser_t *p, const policy_node_t *node,
                         bool vendor_oui, policy_mac_prefix_t *prefix)
{
    char got[128], mac[32];
    size_t length = policy_mac_parse(node, prefix->octets);
    prefix->pos = policy_node_pos(node);
    if (length < 3 || length > 5) {
        policy_parser_error(
            p, node,
            "prefixes: expected 3 to 5 hex octets like 02:00:00, got %s",
            policy_node_describe(node, got, sizeof(got)));
        return;
    }
    prefix->length = (uint8_t)length;
    policy_mac_format(prefix->octets, length, mac, sizeof(mac));
    if (prefix->octets[0] & 0x01)
        policy_parser_error(p, node, "prefixes: %s is a multicast prefix", mac);
    else if (!(prefix->octets[0] & 0x02) && !vendor_oui)
        policy_parser_error(
            p, node,
            "prefixes: %s is not locally administered (set vendor_oui: "
            "true to use a vendor OUI)",
            mac);
}

static int s_prefix_compare(const void *a, const void *b)
{
    return policy_mac_prefix_compare(a, b);
}

static void s_mac_pool(policy_parser_t *p, const policy_node_t *node,
                       void *item)
{
    policy_mac_pool_t *pool = item;
    pool->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "mac pool", s_pool_keys,
                              S_COUNT(s_pool_keys)))
        return;
    const policy_node_t *v;
    if ((v = policy_field_require(p, node, "mac pool", "name")))
        pool->name = policy_field_text(p, v, "name", POLICY_TEXT_NAME);
    if ((v = policy_node_get(node, "vendor_oui")))
        policy_field_bool(p, v, "vendor_oui", &pool->vendor_oui);
    const policy_node_t *list =
        policy_field_require(p, node, "mac pool", "prefixes");
    if (!list || !policy_field_sequence(p, list, "prefixes"))
        return;
    if (list->count == 0) {
        policy_parser_error(p, list,
                            "prefixes: a pool needs at least one prefix");
        return;
    }
    pool->prefixes =
        policy_parser_calloc(p, list->count, sizeof(*pool->prefixes));
    if (!pool->prefixes)
        return;
    for (size_t i = 0; i < list->count; i++) {
        policy_mac_prefix_t *prefix = &pool->prefixes[pool->prefix_count];
        s_mac_prefix(p, list->items[i], pool->vendor_oui, prefix);
        if (prefix->length)
            pool->prefix_count++;
    }
    qsort(pool->prefixes, pool->prefix_count, sizeof(*pool->prefixes),
          s_prefix_compare);
}

static const policy_named_list_t s_mac_pool_list =
    POLICY_NAMED_LIST(policy_mac_pool_t, "mac pool");

static void s_mac_pools(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    policy->mac_pools =
        policy_field_named_items(p, node, "mac_pools", 0, &s_mac_pool_list,
                                 s_mac_pool, &policy->mac_pool_count);
    policy_check_unique_names(p, policy->mac_pools, &policy->mac_pool_count,
                              &s_mac_pool_list);
}

static void s_fixed_macs(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    char got[128], mac[32];
    if (!policy_field_sequence(p, node, "fixed_macs"))
        return;
    policy->fixed_macs =
        policy_parser_calloc(p, node->count, sizeof(*policy->fixed_macs));
    if (!policy->fixed_macs)
        return;
    for (size_t i = 0; i < node->count; i++) {
        const policy_node_t *item = node->items[i];
        policy_mac_t *fixed = &policy->fixed_macs[policy->fixed_mac_count];
        fixed->pos = policy_node_pos(item);
        if (policy_mac_parse(item, fixed->octets) != 6) {
            policy_parser_error(
                p, item,
                "fixed_macs: expected a MAC like 02:00:00:00:00:01, got "
                "%s",
                policy_node_describe(item, got, sizeof(got)));
            continue;
        }
        policy_mac_format(fixed->octets, 6, mac, sizeof(mac));
        static const uint8_t zero[6] = {0};
        if (fixed->octets[0] & 0x01)
            policy_parser_error(p, item,
                                "fixed_macs: %s is a multicast address", mac);
        else if (memcmp(fixed->octets, zero, 6) == 0)
            policy_parser_error(p, item,
                                "fixed_macs: %s is not a usable address", mac);
        else
            policy->fixed_mac_count++;
    }
    policy_check_unique_fixed_macs(p);
}

/* ---- host groups ------------------------------------------------------- */

static const char *const s_group_keys[] = {"name", "hosts", "labels", "pfs"};
static const char *const s_pf_keys[] = {"ifname", "pci_address", "driver",
                                        "device", "vfs",         "networks"};

static void s_pf(policy_parser_t *p, const policy_node_t *node, policy_pf_t *pf)
{
    pf->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "pf", s_pf_keys, S_COUNT(s_pf_keys)))
        return;
    const policy_node_t *v;
    uint64_t n;
    if ((v = policy_node_get(node, "ifname")))
        pf->ifname = policy_field_text(p, v, "ifname", POLICY_TEXT_GLOB);
    if ((v = policy_node_get(node, "pci_address")))
        pf->pci_address =
            policy_field_hex_id(p, v, "pci_address", "hhhh:hh:hh.f",
                                "0000:3b:00.0 (domain:bus:device.function)");
    if ((v = policy_node_get(node, "driver")))
        pf->driver = policy_field_text(p, v, "driver", POLICY_TEXT_DRIVER);
    if ((v = policy_node_get(node, "device")))
        pf->device = policy_field_hex_id(p, v, "device", "hhhh:hhhh",
                                         "8086:1521 (vendor:device)");
    size_t selectors = 0;
    for (size_t i = 0; i < POLICY_PF_SELECTOR_KEYS; i++)
        selectors += policy_node_get(node, policy_pf_selector_keys[i]) != NULL;
    if (selectors == 0)
        policy_parser_error(
            p, node,
            "pf: needs at least one of ifname, pci_address, driver, "
            "device");
    if ((v = policy_field_require(p, node, "pf", "vfs")) &&
        policy_field_uint(p, v, "vfs", 0, POLICY_VFS_MAX, &n))
        pf->vfs = (uint32_t)n;
    if ((v = policy_node_get(node, "networks")))
        policy_field_text_list(p, v, "networks", POLICY_TEXT_NAME,
                               POLICY_GROUP_ITEMS_MAX, &pf->networks,
                               &pf->network_count, &pf->network_pos);
}

static void s_host_group(policy_parser_t *p, const policy_node_t *node,
                         void *item)
{
    policy_host_group_t *group = item;
    group->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "host group", s_group_keys,
                              S_COUNT(s_group_keys)))
        return;
    const policy_node_t *v;
    if ((v = policy_field_require(p, node, "host group", "name")))
        group->name = policy_field_text(p, v, "name", POLICY_TEXT_NAME);
    const policy_node_t *hosts = policy_node_get(node, "hosts");
    const policy_node_t *labels = policy_node_get(node, "labels");
    if (hosts)
        policy_field_text_list(p, hosts, "hosts", POLICY_TEXT_GLOB,
                               POLICY_GROUP_ITEMS_MAX, &group->hosts,
                               &group->host_count, NULL);
    if (labels)
        policy_field_labels(p, labels, &group->labels, &group->label_count);
    /* Judged on the text, so that invalid entries (or a value of the wrong
     * type) are not also reported as missing ones. */
    bool no_hosts =
        !hosts || (hosts->kind == POLICY_NODE_SEQUENCE && hosts->count == 0);
    bool no_labels =
        !labels || (labels->kind == POLICY_NODE_MAPPING && labels->count == 0);
    if (no_hosts && no_labels)
        policy_parser_error(
            p, node,
            "host group: selects no hosts (give hosts, labels or both)");
    const policy_node_t *pfs =
        policy_field_require(p, node, "host group", "pfs");
    if (!pfs || !policy_field_sequence(p, pfs, "pfs"))
        return;
    if (pfs->count > POLICY_GROUP_ITEMS_MAX) {
        policy_parser_error(p, pfs, "pfs: more than %d entries",
                            POLICY_GROUP_ITEMS_MAX);
        return;
    }
    group->pfs = policy_parser_calloc(p, pfs->count, sizeof(*group->pfs));
    if (!group->pfs)
        return;
    for (size_t i = 0; i < pfs->count; i++)
        s_pf(p, pfs->items[i], &group->pfs[group->pf_count++]);
}

static const policy_named_list_t s_host_group_list =
    POLICY_NAMED_LIST(policy_host_group_t, "host group");

static void s_host_groups(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    policy->host_groups = policy_field_named_items(
        p, node, "host_groups", POLICY_HOST_GROUPS_MAX, &s_host_group_list,
        s_host_group, &policy->host_group_count);
    size_t globs = 0;
    for (size_t i = 0; i < policy->host_group_count; i++)
        globs += policy->host_groups[i].host_count;
    /* Conflict checks compare globs pairwise: bound their number. */
    if (globs > POLICY_HOST_GLOBS_MAX)
        policy_parser_error(p, node,
                            "host_groups: more than %d host globs in all",
                            POLICY_HOST_GLOBS_MAX);
    policy_check_unique_names(p, policy->host_groups, &policy->host_group_count,
                              &s_host_group_list);
}

/* ---- memory and placement --------------------------------------------- */

static const char *const s_memory_keys[] = {"full_reservation", "hugepages",
                                            "hypervisor_reserve"};
static const char *const s_placement_keys[] = {"strategy",
                                               "anti_affinity_groups"};
static const char *const s_anti_affinity_keys[] = {"name", "vms"};

static void s_memory(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    if (!policy_field_mapping(p, node, "memory", s_memory_keys,
                              S_COUNT(s_memory_keys)))
        return;
    const policy_node_t *v;
    int e;
    bool full = true;
    if ((v = policy_node_get(node, "full_reservation")) &&
        policy_field_bool(p, v, "full_reservation", &full) && !full)
        policy_parser_error(
            p, v,
            "full_reservation: cannot be false: a VM with a passthrough "
            "VF needs all its memory reserved");
    if ((v = policy_node_get(node, "hugepages")) &&
        policy_field_enum(p, v, "hugepages", &policy_hugepages_words, &e)) {
        policy->hugepages = (policy_hugepages_t)e;
        policy->hugepages_pos = policy_node_pos(v);
    }
    if ((v = policy_node_get(node, "hypervisor_reserve")))
        policy_field_size(p, v, "hypervisor_reserve",
                          &policy->hypervisor_reserve_mib);
}

static const policy_named_list_t s_anti_affinity_list =
    POLICY_NAMED_LIST(policy_anti_affinity_t, "anti-affinity group");

static void s_anti_affinity_group(policy_parser_t *p, const policy_node_t *node,
                                  void *item)
{
    policy_anti_affinity_t *group = item;
    group->pos = policy_node_pos(node);
    if (!policy_field_mapping(p, node, "anti-affinity group",
                              s_anti_affinity_keys,
                              S_COUNT(s_anti_affinity_keys)))
        return;
    const policy_node_t *v;
    if ((v = policy_field_require(p, node, "anti-affinity group", "name")))
        group->name = policy_field_text(p, v, "name", POLICY_TEXT_NAME);
    if ((v = policy_node_get(node, "vms")))
        policy_field_text_list(p, v, "vms", POLICY_TEXT_GLOB,
                               POLICY_GROUP_ITEMS_MAX, &group->vms,
                               &group->vm_count, NULL);
}

static void s_anti_affinity(policy_parser_t *p, const policy_node_t *node)
{
    policy_t *policy = p->policy;
    policy->anti_affinity = policy_field_named_items(
        p, node, "anti_affinity_groups", 0, &s_anti_affinity_list,
        s_anti_affinity_group, &policy->anti_affinity_count);
    policy_check_unique_names(p, policy->anti_affinity,
                              &policy->anti_affinity_count,
                              &s_anti_affinity_list);
}

static void s_placement(policy_parser_t *p, const policy_node_t *node)
{
    if (!policy_field_mapping(p, node, "placement", s_placement_keys,
                              S_COUNT(s_placement_keys)))
        return;
    const policy_node_t *v;
    int e;
    if ((v = policy_node_get(node, "strategy")) &&
        policy_field_enum(p, v, "strategy", &policy_strategy_words, &e))
        p->policy->strategy = (policy_strategy_t)e;
    if ((v = policy_node_get(node, "anti_affinity_groups")))
        s_anti_affinity(p, v);
}

/* ---- the document ------------------------------------------------------ */

static const char *const s_top_keys[] = {
    "version",     "networks", "mac_pools", "fixed_macs",
    "host_groups", "memory",   "placement", "drift"};

static void s_document(policy_parser_t *p, const policy_node_t *root)
{
    policy_t *policy = p->policy;
    if (!policy_field_mapping(p, root, "policy", s_top_keys,
                              S_COUNT(s_top_keys)))
        return;
    const policy_node_t *v;
    uint64_t n;
    if ((v = policy_field_require(p, root, "policy", "version")) &&
        policy_field_uint(p, v, "version", 0, UINT32_MAX, &n)) {
        if (n != POLICY_SCHEMA_VERSION)
            policy_parser_error(
                p, v,
                "version: schema version %llu is not supported (this "
                "vfleet reads version %d)",
                (unsigned long long)n, POLICY_SCHEMA_VERSION);
        else
            policy->version = (uint32_t)n;
    }
    if ((v = policy_node_get(root, "networks")))
        s_networks(p, v);
    if (!p->out_of_memory && (v = policy_node_get(root, "mac_pools")))
        s_mac_pools(p, v);
    if (!p->out_of_memory && (v = policy_node_get(root, "fixed_macs")))
        s_fixed_macs(p, v);
    if (!p->out_of_memory && (v = policy_node_get(root, "host_groups")))
        s_host_groups(p, v);
    if (!p->out_of_memory && (v = policy_node_get(root, "memory")))
        s_memory(p, v);
    if (!p->out_of_memory && (v = policy_node_get(root, "placement")))
        s_placement(p, v);
    int e;
    if (!p->out_of_memory && (v = policy_node_get(root, "drift")) &&
        policy_field_enum(p, v, "drift", &policy_drift_words, &e))
        policy->drift = (policy_drift_t)e;
    if (!p->out_of_memory)
        policy_check_model(p);
    if (!p->failed)
        policy_check_normal_form(p);
}

/* Starts a parse: errs keeps only what this parse reports. */
static void s_errors_reset(policy_errors_t *errs, const char *name)
{
    if (errs) {
        policy_errors_clear(errs);
        policy_errors_set_source(errs, name);
    }
}

static policy_t *s_parse(const char *name, const char *text, size_t len,
                         policy_errors_t *errs)
{
    if (len > POLICY_MAX_FILE_SIZE) {
        policy_errors_add(errs, 1, 1, "policy is larger than %d bytes",
                          POLICY_MAX_FILE_SIZE);
        return NULL;
    }
    policy_parser_t p = {.errs = errs};
    policy_arena_t *tree_arena = policy_arena_new();
    p.arena = policy_arena_new();
    p.policy = p.arena ? policy_arena_alloc(p.arena, sizeof(policy_t)) : NULL;
    if (p.policy)
        p.policy->source = policy_arena_strndup(p.arena, name, strlen(name));
    if (!tree_arena || !p.policy || !p.policy->source) {
        policy_errors_set_out_of_memory(errs);
        policy_arena_destroy(&tree_arena);
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    p.policy->full_reservation = true;
    p.policy->hypervisor_reserve_mib = POLICY_RESERVE_DEFAULT_MIB;
    bool ok;
    const policy_node_t *root =
        policy_yaml_load(tree_arena, text, len, errs, &ok);
    if (!ok) {
        p.failed = true;
    } else if (!root) {
        policy_errors_add(errs, 1, 1,
                          "policy is empty: expected a mapping with at least "
                          "'version'");
        p.failed = true;
    } else {
        s_document(&p, root);
    }
    policy_arena_destroy(&tree_arena);
    policy_errors_sort(errs);
    /* A failed allocation anywhere, even one that only lost an error
     * message, fails the parse: no half-built model escapes. */
    if (p.failed || (errs && policy_errors_out_of_memory(errs))) {
        policy_arena_destroy(&p.arena);
        return NULL;
    }
    p.policy->arena = p.arena;
    return p.policy;
}

policy_t *policy_parse_buffer(const char *name, const char *text, size_t len,
                              policy_errors_t *errs)
{
    s_errors_reset(errs, name);
    return s_parse(name, text, len, errs);
}

char *policy_file_read(const char *path, policy_errors_t *errs, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        policy_errors_add(errs, 1, 1, "cannot open: %s", strerror(errno));
        return NULL;
    }
    /* Read one byte past the limit to tell "at the limit" from "over". */
    char *text = policy_malloc(POLICY_MAX_FILE_SIZE + 1);
    if (!text) {
        fclose(file);
        policy_errors_set_out_of_memory(errs);
        return NULL;
    }
    *len = fread(text, 1, POLICY_MAX_FILE_SIZE + 1, file);
    bool read_error = ferror(file);
    fclose(file);
    if (read_error) {
        policy_errors_add(errs, 1, 1, "cannot read: %s", strerror(errno));
        policy_free(text);
        return NULL;
    }
    return text;
}

policy_t *policy_parse_file(const char *path, policy_errors_t *errs)
{
    s_errors_reset(errs, path);
    size_t len;
    char *text = policy_file_read(path, errs, &len);
    if (!text)
        return NULL;
    policy_t *policy = s_parse(path, text, len, errs);
    policy_free(text);
    return policy;
}

void policy_destroy(policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_arena_t *arena = (*self_p)->arena;
    policy_arena_destroy(&arena);
    *self_p = NULL;
}
