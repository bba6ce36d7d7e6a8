/* vfp.h - the vfleet wire protocol: message model, limits and codec API. */
#ifndef VFLEET_VFP_H
#define VFLEET_VFP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every message starts with this 8-byte header (PROTOCOL.md, "Header"):
 *   uint16 signature  0x5646 ("VF")
 *   uint8  version    protocol version the message is encoded in
 *   uint8  msg_id     one of vfp_id_t
 *   uint32 request_id chosen by the requester, echoed in the answer
 * The signature and version bytes keep this position in every version, so a
 * peer can always tell which version it is being spoken to in. */
#define VFP_SIGNATURE 0x5646u
#define VFP_HEADER_SIZE 8
#define VFP_VERSION 1     /* the version this build speaks */
#define VFP_VERSION_MIN 1 /* the oldest version this build accepts */

/* Limits. String limits are in bytes, excluding the terminating NUL that the
 * decoded model adds. A field over its limit is a decode error. */
#define VFP_NAME_MAX 64           /* ifname, driver, version, verb, ... */
#define VFP_HOSTNAME_MAX 253      /* DNS name limit */
#define VFP_HOSTNAME_LABEL_MAX 63 /* one dot-separated label (RFC 1123) */
#define VFP_PCI_ADDR_MAX 32       /* "0000:86:02.0", or a non-PCI bus id */
#define VFP_TEXT_MAX 1024         /* error texts, PF notes, reasons */
/* Fields repeated per VF or per result get shorter limits, so that every
 * message built within these limits fits VFP_MSG_MAX (PROTOCOL.md, "Limits";
 * test_vfp_limits builds the largest message of every id). */
#define VFP_VF_NOTE_MAX 512       /* INVENTORY VF note */
#define VFP_ATTRIBUTE_MAX 16      /* RESULT attribute: "link_state", "2048kB" */
#define VFP_RESULT_MESSAGE_MAX 80 /* RESULT message */
#define VFP_BODY_MAX (4u << 20)   /* admin request/reply body, bytes */
#define VFP_MSG_MAX (16u << 20)   /* whole encoded message */
#define VFP_PFS_MAX 256           /* PFs per host */
#define VFP_VFS_MAX 1024          /* VFs per PF */
#define VFP_HOST_VFS_MAX 16384    /* VFs in one INVENTORY or delta, all PFs */
#define VFP_APPLY_VFS_MAX 16384   /* VF items in one APPLY */
#define VFP_HUGEPAGES_MAX 8       /* hugepage pool sizes per host */
#define VFP_REASONS_MAX 16        /* IOMMU not-ready reasons */
#define VFP_PARAMS_MAX 32         /* admin request parameters */
#define VFP_PLAN_COUNT_MAX 100000 /* admin "plan": copies of one VM */
#define VFP_PAGE_LIMIT_MAX 10000  /* admin listings: rows in one page */
#define VFP_PAGE_LIMIT_DEFAULT 1000 /* ... when the request names none */
#define VFP_REMOVED_MAX 256         /* removed PFs in one delta */
/* The largest REQUEST encodes to exactly this (PROTOCOL.md, "Limits";
 * test_vfp_limits checks it), so an admin socket may refuse larger frames. */
#define VFP_REQUEST_MSG_MAX 4229330u
/* Settings of one APPLY VF, the bits of VFP_SET_ALL. */
#define VFP_APPLY_VF_ATTRS 7
/* Items in one APPLY_RESULT: room for one result per item of the largest
 * APPLY (each PF's VF count, each set attribute of each VF, each pool), so
 * the agent answers any valid APPLY with one APPLY_RESULT. */
#define VFP_RESULTS_MAX                                                        \
    (VFP_PFS_MAX + VFP_APPLY_VFS_MAX * VFP_APPLY_VF_ATTRS + VFP_HUGEPAGES_MAX)
#define VFP_VLAN_MAX 4095 /* 12-bit VLAN id as read; 0 = no VLAN */
/* The highest VLAN id an APPLY may ask for: 4095 is reserved by 802.1Q, so
 * it can be read back from a NIC but never set. policy/ restates it as
 * POLICY_VLAN_MAX (it depends on nothing of ours); a test holds them equal. */
#define VFP_APPLY_VLAN_MAX 4094
#define VFP_QOS_MAX 7 /* 802.1p priority */

typedef enum {
    VFP_HELLO = 1,
    VFP_WELCOME = 2,
    VFP_INVENTORY = 3,
    VFP_INVENTORY_DELTA = 4,
    VFP_HEARTBEAT = 5,
    VFP_APPLY = 6,
    VFP_APPLY_RESULT = 7,
    VFP_ERROR = 8,
    VFP_REQUEST = 9,
    VFP_REPLY = 10,
} vfp_id_t;

/* Error codes carried by ERROR and REPLY (PROTOCOL.md, "Error codes"). */
typedef enum {
    VFP_OK = 0,
    VFP_ERR_MALFORMED = 1,   /* the message did not decode */
    VFP_ERR_VERSION = 2,     /* protocol version not supported */
    VFP_ERR_UNEXPECTED = 3,  /* valid message, wrong moment or sender */
    VFP_ERR_NOT_WELCOME = 4, /* message before HELLO/WELCOME */
    VFP_ERR_DENIED = 5,      /* key not allowed for this host / verb */
    VFP_ERR_RESYNC = 6,      /* delta base unknown: send a full INVENTORY */
    VFP_ERR_INVALID = 7,     /* well-formed but semantically invalid */
    VFP_ERR_NOT_FOUND = 8,   /* admin: no such object */
    VFP_ERR_CONFLICT = 9,    /* admin: state forbids it (pinned VM, ...) */
    VFP_ERR_INTERNAL = 10,   /* the peer failed; retry may help */
    VFP_ERR_UNKNOWN_VERB = 11,
    VFP_ERR_MAX = 11,
} vfp_errcode_t;

/* A REPLY INTERNAL whose text starts with this says the controller did not
 * act on the request (write requests queued beyond its limit, or the
 * client over its budget): the client may send it again after a pause
 * (PROTOCOL.md 7.5). */
#define VFP_BUSY_PREFIX "busy: "

/* A three-valued switch: drivers do not always report spoof-check/trust. */
typedef enum { VFP_OFF = 0, VFP_ON = 1, VFP_UNKNOWN = 2 } vfp_flag_t;

typedef enum {
    VFP_LINK_AUTO = 0,
    VFP_LINK_ENABLE = 1,
    VFP_LINK_DISABLE = 2,
} vfp_link_state_t;

typedef enum {
    VFP_VIRT_NONE = 0,
    VFP_VIRT_VMX = 1, /* Intel VT-x */
    VFP_VIRT_SVM = 2, /* AMD-V */
} vfp_cpu_virt_t;

#define VFP_VLAN_PROTO_8021Q 0x8100u
#define VFP_VLAN_PROTO_8021AD 0x88a8u

/* ---- model ---------------------------------------------------------- */

typedef struct {
    uint16_t index;                      /* VF number on its PF (virtfnN) */
    char pci_addr[VFP_PCI_ADDR_MAX + 1]; /* empty when not a PCI device */
    int32_t iommu_group;                 /* -1: none */
    bool iommu_isolated;                 /* group holds only this VF */
    char driver[VFP_NAME_MAX + 1];       /* "" when unbound */
    uint8_t mac[6];
    uint16_t vlan;       /* 0..4095; 0 = none */
    uint8_t qos;         /* 0..7 */
    uint16_t vlan_proto; /* 0 (unknown), 0x8100 or 0x88a8 */
    vfp_flag_t spoofchk;
    vfp_flag_t trust;
    vfp_link_state_t link_state;
    uint32_t min_tx_rate; /* Mbit/s, 0 = unlimited */
    uint32_t max_tx_rate; /* Mbit/s, 0 = unlimited */
    bool settings_known;  /* MAC..rates were read from the kernel */
    bool in_use;          /* held by a guest or a host netdev that is up */
    char note[VFP_VF_NOTE_MAX + 1]; /* what could not be read, and why */
} vfp_vf_t;

typedef struct {
    char pci_addr[VFP_PCI_ADDR_MAX + 1];
    char ifname[VFP_NAME_MAX + 1]; /* "" when no netdev (driver unbound) */
    char driver[VFP_NAME_MAX + 1];
    char vf_driver[VFP_NAME_MAX + 1]; /* driver VFs autoprobe to, or "" */
    uint16_t vendor_id;
    uint16_t device_id;
    int16_t numa_node;   /* -1: none/unknown */
    uint32_t link_speed; /* Mbit/s, 0 = unknown */
    bool link_up;
    uint16_t total_vfs; /* 0 when unknown (see note) */
    uint16_t num_vfs;
    char note[VFP_TEXT_MAX + 1];
    uint32_t vf_count;
    vfp_vf_t *vfs; /* ordered by index */
} vfp_pf_t;

typedef struct {
    uint32_t size_kb; /* page size */
    uint64_t total;   /* pages in the pool */
    uint64_t free;
} vfp_hugepages_t;

typedef struct {
    char hostname[VFP_HOSTNAME_MAX + 1];
    char boot_id[VFP_NAME_MAX + 1];
    char kernel[VFP_NAME_MAX + 1];
    vfp_cpu_virt_t cpu_virt;
    bool iommu_ready;
    uint16_t iommu_units;  /* entries in /sys/class/iommu */
    uint32_t iommu_groups; /* entries in /sys/kernel/iommu_groups */
    char iommu_cmdline[VFP_TEXT_MAX + 1]; /* IOMMU options on the cmdline */
    uint32_t reason_count;
    char reasons[VFP_REASONS_MAX][VFP_TEXT_MAX + 1]; /* why not ready */
    uint64_t mem_total_kb;
    uint64_t mem_available_kb;
    uint32_t hugepage_count;
    vfp_hugepages_t hugepages[VFP_HUGEPAGES_MAX];
} vfp_host_t;

typedef struct {
    char hostname[VFP_HOSTNAME_MAX + 1];
    char agent_version[VFP_NAME_MAX + 1];
    char boot_id[VFP_NAME_MAX + 1];
    uint8_t proto_min; /* oldest version the agent can speak */
    uint8_t proto_max; /* newest version the agent can speak */
} vfp_hello_t;

typedef struct {
    uint8_t proto_version; /* version both sides use from now on */
    uint32_t heartbeat_ms;
    char controller_id[VFP_NAME_MAX + 1];
} vfp_welcome_t;

typedef struct {
    uint64_t generation; /* increases with every change the agent sees */
    vfp_host_t host;
    uint32_t pf_count;
    vfp_pf_t *pfs;
} vfp_inventory_t;

typedef struct {
    uint64_t base_generation; /* the generation this delta applies to */
    uint64_t generation;      /* the generation after applying it */
    bool has_host;            /* host facts changed; `host` is valid */
    vfp_host_t host;
    uint32_t pf_count; /* PFs added or changed, each complete */
    vfp_pf_t *pfs;
    uint32_t removed_count; /* PFs gone, by PCI address */
    char (*removed)[VFP_PCI_ADDR_MAX + 1];
} vfp_inventory_delta_t;

typedef struct {
    uint64_t generation;       /* agent's current inventory generation */
    uint64_t applied_revision; /* last APPLY revision fully applied */
} vfp_heartbeat_t;

/* Which fields of a vfp_apply_vf_t carry a desired value. Fields whose bit
 * is clear are left as the kernel has them and must be zero on the wire. */
enum {
    VFP_SET_MAC = 1u << 0,
    VFP_SET_VLAN = 1u << 1, /* vlan, qos and vlan_proto together */
    VFP_SET_SPOOFCHK = 1u << 2,
    VFP_SET_TRUST = 1u << 3,
    VFP_SET_LINK_STATE = 1u << 4,
    VFP_SET_RATE = 1u << 5, /* min and max tx rate together */
    VFP_SET_MTU = 1u << 6,
    VFP_SET_ALL = (1u << VFP_APPLY_VF_ATTRS) - 1,
};

typedef struct {
    char pf[VFP_PCI_ADDR_MAX + 1]; /* PF by PCI address (or bus id) */
    uint16_t index;
    uint16_t set; /* VFP_SET_* */
    uint8_t mac[6];
    uint16_t vlan;
    uint8_t qos;
    uint16_t vlan_proto;
    vfp_flag_t spoofchk; /* VFP_OFF or VFP_ON */
    vfp_flag_t trust;    /* VFP_OFF or VFP_ON */
    vfp_link_state_t link_state;
    uint32_t min_tx_rate;
    uint32_t max_tx_rate;
    uint16_t mtu; /* 68..65535 when set */
} vfp_apply_vf_t;

typedef struct {
    char pf[VFP_PCI_ADDR_MAX + 1];
    uint16_t num_vfs;
} vfp_apply_pf_t;

typedef struct {
    uint32_t size_kb;
    uint64_t pages;
} vfp_apply_hugepages_t;

typedef struct {
    uint64_t revision;
    uint32_t pf_count;
    vfp_apply_pf_t *pfs;
    uint32_t vf_count;
    vfp_apply_vf_t *vfs;
    uint32_t hugepage_count;
    vfp_apply_hugepages_t hugepages[VFP_HUGEPAGES_MAX];
} vfp_apply_t;

typedef enum {
    VFP_ITEM_NUM_VFS = 1,  /* a PF's VF count */
    VFP_ITEM_VF = 2,       /* one attribute of one VF */
    VFP_ITEM_HUGEPAGES = 3 /* one hugepage pool */
} vfp_item_kind_t;

typedef struct {
    vfp_item_kind_t kind;
    char pf[VFP_PCI_ADDR_MAX + 1];         /* "" for hugepages */
    uint16_t index;                        /* VF index, or 0 */
    char attribute[VFP_ATTRIBUTE_MAX + 1]; /* "mac", "vlan", ..., "2048kB" */
    int32_t err;                           /* 0 = ok, else a positive errno */
    char message[VFP_RESULT_MESSAGE_MAX + 1];
} vfp_result_t;

typedef struct {
    uint64_t revision;
    uint32_t result_count;
    vfp_result_t *results;
} vfp_apply_result_t;

typedef struct {
    uint16_t code; /* vfp_errcode_t */
    char text[VFP_TEXT_MAX + 1];
} vfp_error_t;

typedef struct {
    char key[VFP_NAME_MAX + 1];
    char value[VFP_TEXT_MAX + 1];
} vfp_param_t;

typedef struct {
    char verb[VFP_NAME_MAX + 1]; /* "hosts", "vfs", "policy.apply", ... */
    uint32_t param_count;
    vfp_param_t params[VFP_PARAMS_MAX];
    uint32_t body_len;
    char *body; /* NUL-terminated; may be NULL when body_len is 0 */
} vfp_request_t;

typedef struct {
    uint16_t status; /* vfp_errcode_t; VFP_OK on success */
    char error[VFP_TEXT_MAX + 1];
    uint32_t body_len;
    char *body; /* JSON text on success; NUL-terminated; may be NULL */
} vfp_reply_t;

typedef struct {
    vfp_id_t id;
    uint8_t version; /* version the message was decoded from / encoded in */
    uint32_t request_id;
    union {
        vfp_hello_t hello;
        vfp_welcome_t welcome;
        vfp_inventory_t inventory;
        vfp_inventory_delta_t delta;
        vfp_heartbeat_t heartbeat;
        vfp_apply_t apply;
        vfp_apply_result_t apply_result;
        vfp_error_t error;
        vfp_request_t request;
        vfp_reply_t reply;
    } u;
} vfp_msg_t;

/* ---- codec ---------------------------------------------------------- */

/* Why a decode failed. `field` names the offending field as a path
 * ("inventory.pfs[2].vfs[5].vlan"), `text` says what was wrong with it. */
typedef struct {
    vfp_errcode_t code;   /* VFP_ERR_MALFORMED or VFP_ERR_VERSION */
    uint8_t peer_version; /* the header's version, when it could be read */
    /* All 8 header bytes were read and the signature matched, whatever
     * else is wrong: peer_msg_id and peer_request_id are the message's, and
     * an answer carries that request_id (PROTOCOL.md 7.6). False: nobody
     * can be answered (PROTOCOL.md 7.6, rule 1). */
    bool peer_header;
    uint8_t peer_msg_id;
    uint32_t peer_request_id;
    char field[128];
    char text[256];
} vfp_decode_error_t;

/* Allocates a zeroed message of the given id, version VFP_VERSION. Only
 * the union member of that id is allocated: a message is never copied
 * whole nor used as another id. */
vfp_msg_t *vfp_msg_new(vfp_id_t id);

/* Frees a message and everything it owns; accepts NULL, sets *self_p NULL.
 * A message owns its lists and bodies (pfs, vfs, removed, results, body) and
 * releases them with free(), so build them with malloc/calloc. */
void vfp_msg_destroy(vfp_msg_t **self_p);

/* Frees the PFs and VFs of an inventory built with malloc/calloc (as a
 * decoded one is) and zeroes it; accepts NULL. */
void vfp_inventory_clear(vfp_inventory_t *inv);

/* Name of a message id ("HELLO"), or "UNKNOWN". */
const char *vfp_id_name(int id);

/* Name of an error code ("RESYNC"), or "UNKNOWN". */
const char *vfp_errcode_name(int code);

/* Words iproute2 uses: "auto"/"enable"/"disable", "on"/"off"/"unknown". */
const char *vfp_link_state_name(vfp_link_state_t state);
const char *vfp_flag_name(vfp_flag_t flag);

/* "vmx", "svm" or "none", the CPU flag names of /proc/cpuinfo. */
const char *vfp_cpu_virt_name(vfp_cpu_virt_t virt);

/* Formats a MAC as "aa:bb:cc:dd:ee:ff" into buf (at least 18 bytes). */
char *vfp_mac_format(const uint8_t mac[6], char *buf);

/* Parses "aa:bb:cc:dd:ee:ff" (case-insensitive). Returns 0 or -1. */
int vfp_mac_parse(const char *text, uint8_t mac[6]);

/* Whether endpoint is tcp://HOST:PORT with a port of 1 to 65535 and a
 * HOST that is a host name, an IPv4 address or [an IPv6 address], or for
 * a bind "*": libzmq would otherwise take a port such as 99999 and use
 * another port (a bind) or retry it forever in silence (a connect). */
bool vfp_tcp_endpoint_valid(const char *endpoint, bool bind);

/* Parses a MAC a VM's NIC may be given: vfp_mac_parse's form, unicast and
 * not all zero. Returns NULL, or why not ("is not a MAC address
 * (aa:bb:cc:dd:ee:ff)", "is multicast", "means no MAC"), to follow the
 * text. */
const char *vfp_mac_parse_nic(const char *text, uint8_t mac[6]);

/* Whether APPLY revision a is newer than b (PROTOCOL.md 7.4): revisions
 * grow, and past UINT64_MAX go on from 0, so a is newer when it lies 1 to
 * 2^63 - 1 ahead of b, modulo 2^64 (serial-number arithmetic, RFC 1982);
 * a revision near the top then never locks an agent out of later ones. */
bool vfp_revision_newer(uint64_t a, uint64_t b);

/* Checks a host name against the rule every HELLO and HOST hostname
 * follows (PROTOCOL.md, section 4): RFC 1123 labels of ASCII letters,
 * digits and '-', 1 to VFP_HOSTNAME_LABEL_MAX bytes each, neither starting
 * nor ending with '-', joined by single dots; 1 to VFP_HOSTNAME_MAX bytes
 * in all, no trailing dot. Returns 0, or -1 with the reason in why. */
int vfp_hostname_check(const char *name, char *why, size_t whylen);

/* Drops an incomplete UTF-8 sequence from the end of the NUL-terminated
 * text, as snprintf leaves one when it cuts a longer text to a field's
 * limit, so the text stays valid for the wire. Returns its new length. */
size_t vfp_utf8_trim(char *text);

/* Checks a message against every rule the decoder enforces. Returns 0, or
 * -1 with the reason in *err. The encoder refuses what this refuses. */
int vfp_validate(const vfp_msg_t *msg, vfp_decode_error_t *err);

/* Encodes a message into a newly allocated buffer (*data_p, *size_p).
 * Returns 0, or -1 with *err set when the message breaks a rule. */
int vfp_encode(const vfp_msg_t *msg, uint8_t **data_p, size_t *size_p,
               vfp_decode_error_t *err);

/* Decodes one message. Returns the message, or NULL with *err set. Never
 * reads outside [data, data + size). */
vfp_msg_t *vfp_decode(const uint8_t *data, size_t size,
                      vfp_decode_error_t *err);

/* Picks the protocol version to use with a peer that speaks peer_min ..
 * peer_max: the highest version both sides speak, or -1 when there is none
 * (or the range is empty or starts at 0). PROTOCOL.md, "Versioning". */
int vfp_version_choose(uint8_t peer_min, uint8_t peer_max);

/* Reads only the header: returns 0 and fills the out parameters, or -1 when
 * the buffer is too short or the signature is wrong. Used to answer a peer
 * that speaks another version in terms it can still read. */
int vfp_peek_header(const uint8_t *data, size_t size, uint8_t *version,
                    uint8_t *msg_id, uint32_t *request_id);

#endif
