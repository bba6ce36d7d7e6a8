/* policy.h - the vfleet policy: YAML text in, validated normalised model out.
 *
 * The language is specified in policy/POLICY.md (and vfleet-policy.5). A
 * parsed policy_t is always valid and normalised: defaults are filled in and
 * every list whose order carries no meaning is sorted, so two texts that say
 * the same thing give the same model, the same emitted YAML and the same
 * sha256 revision hash. */
#ifndef VFLEET_POLICY_H
#define VFLEET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define POLICY_SCHEMA_VERSION 1
/* Inputs larger than this are refused before parsing. */
#define POLICY_MAX_FILE_SIZE (1024 * 1024)
/* Nodes a document may expand to once every alias is followed. */
#define POLICY_MAX_NODES 100000
/* `vfleetctl policy show` prints one comment line naming the revision
 * (at most this many bytes) and then the normal form; a policy whose
 * normal form is longer than POLICY_MAX_NORMAL_SIZE or has more than
 * POLICY_MAX_NODES nodes is refused, so show's output always parses. */
#define POLICY_SHOW_COMMENT_MAX 128
#define POLICY_MAX_NORMAL_SIZE (POLICY_MAX_FILE_SIZE - POLICY_SHOW_COMMENT_MAX)
/* Errors recorded per parse; a file with more says so. */
#define POLICY_MAX_ERRORS 1000
/* Deepest nesting of sequences and mappings accepted. */
#define POLICY_MAX_DEPTH 64

/* Names of networks, MAC pools, host groups, anti-affinity groups, label
 * keys and values, drivers: at most this many characters. */
#define POLICY_NAME_MAX 63
/* Host, VM and ifname globs. */
#define POLICY_GLOB_MAX 64
/* A host name (proto's VFP_HOSTNAME_MAX: the DNS limit). */
#define POLICY_HOST_NAME_MAX 253
#define POLICY_HOST_GROUPS_MAX 256
/* Entries in one list of a host group or anti-affinity group: hosts,
 * labels, pfs, a PF's networks, vms. */
#define POLICY_GROUP_ITEMS_MAX 64
/* Host globs in all host groups together: the VF count conflict check
 * compares them pairwise. */
#define POLICY_HOST_GLOBS_MAX 512

/* Value ranges. Those the wire protocol also carries restate proto's
 * limits (policy depends on nothing of ours); tests/policy/
 * test_policy_limits.c holds them equal. */
#define POLICY_VLAN_MAX 4094
#define POLICY_QOS_MAX 7
#define POLICY_MTU_MIN 68
#define POLICY_MTU_MAX 9216
#define POLICY_MTU_DEFAULT 1500
#define POLICY_TX_RATE_MAX 400000 /* Mbit/s */
#define POLICY_VFS_MAX 1024
#define POLICY_RESERVE_DEFAULT_MIB 2048
#define POLICY_RESERVE_MAX_MIB (16ULL * 1024 * 1024) /* 16T */

/* Where a model item came from in the source text (1-based). */
typedef struct {
    int line;
    int column;
} policy_pos_t;

typedef enum {
    POLICY_VLAN_PROTO_8021Q = 0,
    POLICY_VLAN_PROTO_8021AD = 1,
} policy_vlan_proto_t;

typedef enum {
    POLICY_LINK_AUTO = 0,
    POLICY_LINK_ENABLE = 1,
    POLICY_LINK_DISABLE = 2,
} policy_link_state_t;

typedef enum {
    POLICY_HUGEPAGES_NONE = 0,
    POLICY_HUGEPAGES_2M = 1,
    POLICY_HUGEPAGES_1G = 2,
} policy_hugepages_t;

/* What the controller does when a host's VF state drifts from the policy:
 * set it back (correct), or only show it (report). */
typedef enum {
    POLICY_DRIFT_CORRECT = 0,
    POLICY_DRIFT_REPORT = 1,
} policy_drift_t;

typedef enum {
    POLICY_STRATEGY_SPREAD = 0,
    POLICY_STRATEGY_PACK = 1,
} policy_strategy_t;

/* A network: what a VF attached to it is configured with. vlan 0 means no
 * VF VLAN: either untagged, or trunk when trunk is set (the guest tags). */
typedef struct {
    const char *name;
    uint16_t vlan;
    uint8_t qos;
    policy_vlan_proto_t vlan_protocol;
    bool trunk;
    bool spoof_check;
    bool trust;
    policy_link_state_t link_state;
    uint32_t min_tx_rate; /* Mbit/s, 0 = no guaranteed minimum */
    uint32_t max_tx_rate; /* Mbit/s, 0 = unlimited */
    uint16_t mtu;
    bool guest_mtu_change;
    policy_pos_t pos;
} policy_network_t;

/* A MAC prefix of 3 to 5 octets; the controller fills in the rest. */
typedef struct {
    uint8_t octets[6];
    uint8_t length; /* number of significant octets */
    policy_pos_t pos;
} policy_mac_prefix_t;

typedef struct {
    const char *name;
    bool vendor_oui;
    size_t prefix_count;
    policy_mac_prefix_t *prefixes; /* sorted */
    policy_pos_t pos;
} policy_mac_pool_t;

typedef struct {
    uint8_t octets[6];
    policy_pos_t pos;
} policy_mac_t;

typedef struct {
    const char *key;
    const char *value;
} policy_label_t;

/* One PF selector of a host group; NULL fields match anything. */
typedef struct {
    const char *ifname;      /* glob */
    const char *pci_address; /* DDDD:BB:DD.F */
    const char *driver;
    const char *device; /* vendor:device, 4 hex digits each */
    uint32_t vfs;
    size_t network_count;
    const char **networks;     /* sorted */
    policy_pos_t *network_pos; /* where each network is named */
    policy_pos_t pos;
} policy_pf_t;

typedef struct {
    const char *name;
    size_t host_count;
    const char **hosts; /* host name globs, sorted */
    size_t label_count;
    policy_label_t *labels; /* sorted by key */
    size_t pf_count;
    policy_pf_t *pfs; /* source order: the first matching entry wins */
    policy_pos_t pos;
} policy_host_group_t;

typedef struct {
    const char *name;
    size_t vm_count;
    const char **vms; /* VM name globs, sorted */
    policy_pos_t pos;
} policy_anti_affinity_t;

typedef struct policy_arena policy_arena_t;

/* The model. Lists of named items are sorted by name. */
typedef struct {
    uint32_t version;
    size_t network_count;
    policy_network_t *networks;
    size_t mac_pool_count;
    policy_mac_pool_t *mac_pools;
    size_t fixed_mac_count;
    policy_mac_t *fixed_macs; /* sorted */
    size_t host_group_count;
    policy_host_group_t *host_groups;
    bool full_reservation; /* always true: passthrough needs it */
    policy_hugepages_t hugepages;
    /* Where hugepages is set, for conflicts that it causes (line 0: not
     * set); like source, not part of the policy. */
    policy_pos_t hugepages_pos;
    uint64_t hypervisor_reserve_mib;
    policy_strategy_t strategy;
    policy_drift_t drift;
    size_t anti_affinity_count;
    policy_anti_affinity_t *anti_affinity;
    /* The name it was parsed under (FILE of FILE:LINE:COLUMN): not part of
     * the policy, so neither emitted nor hashed nor diffed. */
    const char *source;
    policy_arena_t *arena; /* owns every string and array above */
} policy_t;

/* One diagnostic: FILE:LINE:COLUMN: message. */
typedef struct {
    int line;
    int column;
    char *message;
} policy_error_t;

typedef struct policy_errors policy_errors_t;

policy_errors_t *policy_errors_new(void);
void policy_errors_destroy(policy_errors_t **self_p);
/* Errors sorted by position, duplicates removed. */
size_t policy_errors_count(const policy_errors_t *self);
const policy_error_t *policy_errors_get(const policy_errors_t *self,
                                        size_t index);
/* The name errors are reported against (file path or buffer name). */
const char *policy_errors_source(const policy_errors_t *self);
/* True when memory ran out while parsing or recording errors. */
bool policy_errors_out_of_memory(const policy_errors_t *self);
/* True when more than POLICY_MAX_ERRORS errors were found and only that
 * many are kept. */
bool policy_errors_truncated(const policy_errors_t *self);
/* Prints every error as FILE:LINE:COLUMN: message, one per line, then a
 * line for truncation or out of memory. */
void policy_errors_print(const policy_errors_t *self, FILE *out);
/* Forgets all errors so the object can be reused. */
void policy_errors_clear(policy_errors_t *self);

/* Parses and validates one policy. On any error returns NULL and fills errs
 * (which may be NULL when the caller only wants a yes or no); name is used
 * as FILE in the messages. */
policy_t *policy_parse_buffer(const char *name, const char *text, size_t len,
                              policy_errors_t *errs);
policy_t *policy_parse_file(const char *path, policy_errors_t *errs);
void policy_destroy(policy_t **self_p);

/* Writes the normalised policy as YAML. Returns 0 or -1 (write error). */
int policy_emit(const policy_t *self, FILE *out);
/* The same text in a NUL-terminated heap string (free() it); NULL when
 * memory runs out. */
char *policy_emit_string(const policy_t *self, size_t *len);
/* sha256 of the emitted text, as 64 lowercase hex digits plus NUL: the
 * policy's revision id. Returns 0 or -1 when memory runs out. */
int policy_sha256_hex(const policy_t *self, char out[65]);

/* Lookups used by the controller and the diff. */
const policy_network_t *policy_network_find(const policy_t *self,
                                            const char *name);
const policy_host_group_t *policy_host_group_find(const policy_t *self,
                                                  const char *name);
/* Formats a PF selector as "ifname=ens1f* driver=ixgbe" into buf. */
void policy_pf_selector_format(const policy_pf_t *pf, char *buf, size_t size);
/* Formats a MAC or prefix as lowercase colon-separated hex. */
void policy_mac_format(const uint8_t *octets, size_t length, char *buf,
                       size_t size);

/* What changes between two policies, as lines an operator reviews,
 * grouped by network, MAC pool, fixed MAC, host group, memory, placement
 * and drift. */
typedef struct policy_diff policy_diff_t;

/* Returns NULL only when memory runs out. */
policy_diff_t *policy_diff_new(const policy_t *old_policy,
                               const policy_t *new_policy);
void policy_diff_destroy(policy_diff_t **self_p);
size_t policy_diff_count(const policy_diff_t *self);
const char *policy_diff_line(const policy_diff_t *self, size_t index);

/* Labels a host may carry (set with `vfleetctl host label`). */
#define POLICY_HOST_LABELS_MAX 64

/* Whether text (NUL-terminated) is a valid label key or value, by the rules
 * a policy's `labels:` selectors follow (POLICY.md "Host groups"). */
bool policy_label_key_valid(const char *text);
bool policy_label_value_valid(const char *text);

/* Whether text is a valid name by the rule of network, pool and group
 * names (POLICY.md): letters, digits, '.', '_' and '-', starting with a
 * letter or digit, at most POLICY_NAME_MAX characters. VM names and
 * anti-affinity groups given at placement follow it too. */
bool policy_name_valid(const char *text);

/* Plain sha256 over a buffer, as hex; exposed for tests and the CLI. */
void policy_sha256_buffer(const void *data, size_t len, char out[65]);

#endif
