/* vfleet_db.h - the controller's inventory in SQLite: open, migrate, ingest
 * agent inventories, record liveness and events, answer read queries. */
#ifndef VFLEET_DB_H
#define VFLEET_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "vfp.h"

/* The schema version this build writes; db_open migrates older files up to
 * it and refuses newer ones. */
#define DB_SCHEMA_VERSION 7

typedef struct db_t db_t;

/* The states a host, a PF and a VF can be in. The schema's CHECK
 * constraints list exactly these names (a test holds them equal). */
typedef enum {
    DB_HOST_READY = 0, /* the agent talks */
    DB_HOST_DOWN,      /* nothing heard for --dead-after intervals */
    DB_HOST_STATE_COUNT,
} db_host_state_t;

typedef enum {
    DB_PF_PRESENT = 0,
    DB_PF_MISSING, /* no longer reported while a VM holds one of its VFs */
    DB_PF_STATE_COUNT,
} db_pf_state_t;

typedef enum {
    DB_VF_FREE = 0,
    DB_VF_RESERVED,
    DB_VF_ASSIGNED,
    DB_VF_BROKEN,
    DB_VF_MISSING, /* no longer reported while a VM holds it */
    DB_VF_STATE_COUNT,
} db_vf_state_t;

/* The state's name as stored and shown ("ready"); NULL when out of range. */
const char *db_host_state_name(db_host_state_t state);
const char *db_pf_state_name(db_pf_state_t state);
const char *db_vf_state_name(db_vf_state_t state);

/* Parses a state name. Returns 0, or -1 when the name is not a state. */
int db_host_state_parse(const char *name, db_host_state_t *state);
int db_pf_state_parse(const char *name, db_pf_state_t *state);
int db_vf_state_parse(const char *name, db_vf_state_t *state);

/* Why a call failed. The codes are the few a caller acts on differently. */
typedef enum {
    DB_OK = 0,
    DB_ERR_IO = 1,        /* SQLite failed (disk, corruption, busy) */
    DB_ERR_INVALID = 2,   /* input breaks an inventory rule; nothing stored */
    DB_ERR_RESYNC = 3,    /* delta base is not the stored generation */
    DB_ERR_NOT_FOUND = 4, /* no such host / object */
    DB_ERR_VERSION = 5,   /* file written by a newer schema */
    DB_ERR_EXISTS = 6,    /* a name, VF or MAC is already taken */
} db_errcode_t;

typedef struct {
    db_errcode_t code;
    char text[512];
} db_err_t;

/* Opens (creating if absent) the database at path, checks it
 * (PRAGMA quick_check), refuses read-only and newer-schema files, sets WAL,
 * foreign keys and busy_timeout, and migrates an older schema. Returns the
 * handle, or NULL with the reason in *err. Never writes to a file it refuses.
 */
db_t *db_open(const char *path, db_err_t *err);

/* How a commit is made durable. db_open sets synchronous=NORMAL: a commit
 * is durable once the WAL is synced, at the next checkpoint; a power loss
 * may take the last commits back but never corrupts. FULL syncs the WAL
 * at every commit: what a client was told is committed survives a power
 * loss too, at the cost of an fsync per commit. Returns 0 or -1. */
int db_set_synchronous_full(db_t *self, bool full, db_err_t *err);

/* Opens like db_open but migrates only up to `version` (tests build a
 * previous-version file with it). */
db_t *db_open_version(const char *path, int version, db_err_t *err);

/* Opens an existing database read-only, for a reader that runs beside the
 * writer (WAL lets both proceed). Refuses a file whose schema version is
 * not DB_SCHEMA_VERSION. Only the query calls below work on it. */
db_t *db_open_readonly(const char *path, db_err_t *err);

/* Writes a consistent copy of the database at path into file, whether a
 * controller runs on it or not (a reader beside the writer): one
 * self-contained file (no WAL), mode 0600, checked with integrity_check,
 * synced, then renamed over file. Its schema version in *version. */
int db_backup(const char *path, const char *file, int *version, db_err_t *err);

/* Puts a copy of file in place of the database at path, which no
 * controller may have open (the caller holds its lock). file must be an
 * intact vfleet database of schema version 1 to DB_SCHEMA_VERSION (an
 * older one is upgraded at the next start); nothing changes otherwise. The
 * database replaced is kept as path.before-restore; its WAL is folded into
 * it first. The version in *version. */
int db_restore(const char *path, const char *file, int *version, db_err_t *err);

/* WAL checkpoints on a thread of their own, every interval_ms, with a
 * connection of their own to path (PASSIVE: never waiting for the writer
 * or a reader). A checkpoint ends with an fsync of the database file;
 * done by the writer (SQLite's automatic checkpoint) it stalls every
 * writer of the process meanwhile. NULL with err when the connection or
 * thread cannot be made. */
typedef struct db_checkpointer_t db_checkpointer_t;
db_checkpointer_t *db_checkpointer_start(const char *path, int interval_ms,
                                         db_err_t *err);
void db_checkpointer_stop(db_checkpointer_t **self_p);
/* Checkpoints run so far. */
uint64_t db_checkpointer_runs(db_checkpointer_t *self);

/* The WAL size in pages beyond which a commit on this connection
 * checkpoints itself (PRAGMA wal_autocheckpoint; SQLite's default 1000,
 * 0: never). With a checkpointer running, a writer keeps only a high
 * threshold, as the backstop that bounds the WAL should the thread fall
 * behind. */
int db_wal_autocheckpoint(db_t *self, int pages, db_err_t *err);

/* Closes the handle and its cached statements; accepts NULL. */
void db_destroy(db_t **self_p);

/* Groups many operations into one write transaction, each still atomic on
 * its own (a failed one is rolled back to where it began), so a burst of
 * agent messages costs one commit instead of one each. Until
 * db_batch_commit nothing in the batch is durable. */
int db_batch_begin(db_t *self, db_err_t *err);
int db_batch_commit(db_t *self, db_err_t *err);

/* Ends a batch by rolling back everything in it: for a writer whose whole
 * batch must be all or nothing (a policy rollout). */
void db_batch_rollback(db_t *self);

/* Current PRAGMA user_version of the open file. */
int db_schema_version(db_t *self);

/* ---- ingestion ------------------------------------------------------ */

/* Checks an inventory against the one rule neither the codec nor the
 * schema enforces: a PF lists no more VFs than num_vfs. (The codec already
 * refuses duplicate PF addresses, VF indices out of order or repeated,
 * num_vfs or VF indices beyond total_vfs, and a PF both changed and removed
 * in a delta.) Returns 0, or -1 with err. */
int db_inventory_check(const vfp_pf_t *pfs, uint32_t pf_count, db_err_t *err);

/* Registers (or refreshes) a host after HELLO: state ready, agent facts,
 * last_seen. *was_down (may be NULL) tells whether it had been down. */
int db_host_hello(db_t *self, const vfp_hello_t *hello, uint8_t proto_version,
                  int64_t now_ms, bool *was_down, db_err_t *err);

/* Replaces everything the host reported before with this full inventory, in
 * one transaction. VFs (and PFs) that vanished are deleted unless a VM NIC
 * holds them; held ones are kept in state "missing". */
int db_inventory_replace(db_t *self, const char *host,
                         const vfp_inventory_t *inv, int64_t now_ms,
                         db_err_t *err);

/* Applies a delta in place, in one transaction. DB_ERR_RESYNC when
 * delta->base_generation is not the stored generation. */
int db_inventory_apply_delta(db_t *self, const char *host,
                             const vfp_inventory_delta_t *delta, int64_t now_ms,
                             db_err_t *err);

/* Stores last_seen (times_ms[i] for hosts[i]) for many hosts in one
 * transaction; a time older than the stored one is ignored. */
int db_hosts_touch(db_t *self, const char *const *hosts,
                   const int64_t *times_ms, size_t count, db_err_t *err);

/* Sets a host's liveness state. */
int db_host_set_state(db_t *self, const char *host, db_host_state_t state,
                      db_err_t *err);

/* Appends an audit event. host may be NULL. */
int db_event_add(db_t *self, int64_t now_ms, const char *kind, const char *host,
                 const char *message, db_err_t *err);

/* Bounds the event log at insertion: every DB_EVENT_TRIM_EVERY events
 * db_event_add deletes up to twice that many of those not among the newest
 * max_count, in the inserting transaction. The log then stays within
 * max_count + DB_EVENT_TRIM_EVERY rows at any rate of events, where a
 * timer's db_event_trim alone falls behind a fast enough writer; it also
 * drains a backlog (a lowered max_count) at twice the rate of new events.
 * 0 turns it off. */
#define DB_EVENT_TRIM_EVERY 64
void db_event_limit(db_t *self, int64_t max_count);

/* Deletes up to `batch` of the oldest events that are older than
 * before_ms, or that are not among the newest max_count; a caller drains a
 * backlog over several calls so that no one call holds the database long.
 * Returns how many were deleted (0: nothing left to trim), or -1. */
int db_event_trim(db_t *self, int64_t before_ms, int64_t max_count, int batch,
                  db_err_t *err);

/* ---- queries -------------------------------------------------------- */

typedef struct {
    int64_t hosts, hosts_ready, hosts_down;
    int64_t pfs;
    int64_t vfs, vfs_free, vfs_reserved, vfs_assigned, vfs_broken, vfs_missing;
    int64_t vms;
    /* VMs by stored state, and those (reserved or placed) whose host is
     * down, which the operator sees as host-down. */
    int64_t vms_reserved, vms_placed, vms_failed, vms_host_down;
} db_summary_t;

typedef struct {
    char name[VFP_HOSTNAME_MAX + 1];
    db_host_state_t state;
    bool cordoned;
    int64_t first_seen_ms, last_seen_ms;
    uint64_t generation;
    char boot_id[VFP_NAME_MAX + 1];
    char agent_version[VFP_NAME_MAX + 1];
    int proto_version;
    char kernel[VFP_NAME_MAX + 1];
    char cpu_virt[8]; /* none, vmx, svm */
    bool iommu_ready;
    uint32_t iommu_units, iommu_groups;
    char iommu_cmdline[VFP_TEXT_MAX + 1];
    char iommu_reasons[VFP_TEXT_MAX + 1]; /* one per line */
    uint64_t mem_total_kb, mem_available_kb;
    int64_t pf_count, vf_count, vf_free;
} db_host_row_t;

/* A stored hugepage pool is the pool as the agent reported it. */
typedef vfp_hugepages_t db_hugepages_row_t;

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    char pci_addr[VFP_PCI_ADDR_MAX + 1];
    char ifname[VFP_NAME_MAX + 1];
    char driver[VFP_NAME_MAX + 1];
    char vf_driver[VFP_NAME_MAX + 1];
    uint16_t vendor_id, device_id;
    int numa_node;
    uint32_t link_speed;
    bool link_up;
    uint16_t total_vfs, num_vfs;
    char note[VFP_TEXT_MAX + 1];
    db_pf_state_t state;
    int64_t vf_count, vf_free;
} db_pf_row_t;

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    char pf[VFP_PCI_ADDR_MAX + 1];
    char pf_ifname[VFP_NAME_MAX + 1];
    uint16_t index;
    char pci_addr[VFP_PCI_ADDR_MAX + 1];
    int32_t iommu_group;
    bool iommu_isolated;
    char driver[VFP_NAME_MAX + 1];
    char mac[18];
    uint16_t vlan;
    uint8_t qos;
    uint16_t vlan_proto;
    vfp_flag_t spoofchk, trust;
    vfp_link_state_t link_state;
    uint32_t min_tx_rate, max_tx_rate;
    bool settings_known, in_use;
    char note[VFP_TEXT_MAX + 1];
    db_vf_state_t state;
    char vm[VFP_NAME_MAX + 1]; /* VM holding it, or "" */
} db_vf_row_t;

typedef struct {
    int64_t id;
    int64_t at_ms;
    char kind[32];
    char host[VFP_HOSTNAME_MAX + 1]; /* "" when not about one host */
    char message[VFP_TEXT_MAX + 1];
} db_event_row_t;

/* Filters for db_vfs_list; NULL fields (and by_state false) match
 * everything. */
typedef struct {
    const char *host;
    const char *pf; /* PCI address */
    bool by_state;
    db_vf_state_t state;
} db_vf_filter_t;

/* One page of a listing: at most `limit` rows (0: no limit) strictly after
 * the key (host, pf, index) in the listing's order. host NULL starts at the
 * first row; a listing uses as much of the key as its order has (hosts:
 * host; PFs: host, pf; VFs: host, pf, index). A NULL page lists all. */
typedef struct {
    const char *host;
    const char *pf;
    int32_t index;
    int64_t limit;
} db_page_t;

/* Row callbacks return 0 to go on, -1 to stop the listing (which then
 * returns -1 with err->code DB_OK). */
typedef int(db_host_cb)(const db_host_row_t *row, void *arg);
typedef int(db_pf_cb)(const db_pf_row_t *row, void *arg);
typedef int(db_vf_cb)(const db_vf_row_t *row, void *arg);
typedef int(db_event_cb)(const db_event_row_t *row, void *arg);
typedef int(db_hugepages_cb)(const db_hugepages_row_t *row, void *arg);

int db_summary(db_t *self, db_summary_t *out, db_err_t *err);

/* Every host's name, by name, and nothing else: what a caller that only
 * needs the names (the controller's sweep at start) reads at 10,000 hosts
 * without the listing's PF and VF counts. */
typedef int(db_name_cb)(const char *name, void *arg);
int db_host_names(db_t *self, db_name_cb *cb, void *arg, db_err_t *err);

/* Hosts by name. */
int db_hosts_list(db_t *self, const db_page_t *page, db_host_cb *cb, void *arg,
                  db_err_t *err);

/* One host; DB_ERR_NOT_FOUND when unknown. */
int db_host_get(db_t *self, const char *name, db_host_row_t *out,
                db_err_t *err);

/* One host's inventory as its agent last reported it, in the codec's
 * struct: host facts (memory, hugepage pools, IOMMU), every present PF by
 * PCI address with its VFs (settings included) by index, and the stored
 * generation. PFs and VFs kept only as "missing" are left out. *out is
 * overwritten; free it with vfp_inventory_clear (also after a failure).
 * DB_ERR_NOT_FOUND for an unknown host. */
int db_host_inventory_get(db_t *self, const char *host, vfp_inventory_t *out,
                          db_err_t *err);

/* A host's hugepage pools by size. */
int db_host_hugepages(db_t *self, const char *name, db_hugepages_cb *cb,
                      void *arg, db_err_t *err);

/* PFs by host and PCI address; host NULL lists every host's. */
int db_pfs_list(db_t *self, const char *host, const db_page_t *page,
                db_pf_cb *cb, void *arg, db_err_t *err);

/* VFs by host, PF and index. */
int db_vfs_list(db_t *self, const db_vf_filter_t *filter, const db_page_t *page,
                db_vf_cb *cb, void *arg, db_err_t *err);

/* Events with at_ms >= since_ms, oldest first, the newest `limit` of them
 * (limit 0: all). */
int db_events_list(db_t *self, int64_t since_ms, int64_t limit, db_event_cb *cb,
                   void *arg, db_err_t *err);

/* Events with id > after_id and at_ms >= since_ms, oldest first, at most
 * `limit` of them (0: all): pages forward through the log. */
int db_events_after(db_t *self, int64_t after_id, int64_t since_ms,
                    int64_t limit, db_event_cb *cb, void *arg, db_err_t *err);

/* ---- policies, desired states, apply status, drift (db_policy.c) ---- */

/* Limits of what a stored policy revision records, in bytes. A commit id
 * is a git object name: 40 hex digits (SHA-1) or 64 (SHA-256). */
#define DB_POLICY_MESSAGE_MAX VFP_TEXT_MAX
#define DB_POLICY_AUTHOR_MAX 255
#define DB_POLICY_COMMIT_MAX 64
/* A drift value as the agent words it ("52:54:00:12:34:56", "on", "100"). */
#define DB_DRIFT_VALUE_MAX VFP_NAME_MAX

/* Where a host's current desired state stands. The schema's CHECK lists
 * exactly these names (a test holds them equal). */
typedef enum {
    DB_APPLY_PENDING = 0, /* stored (and sent), no answer yet */
    DB_APPLY_OK,          /* every item applied */
    DB_APPLY_FAILED,      /* at least one item failed */
    DB_APPLY_STATE_COUNT,
} db_apply_state_t;

const char *db_apply_state_name(db_apply_state_t state);
int db_apply_state_parse(const char *name, db_apply_state_t *state);

/* One stored policy revision. text is set (NUL-terminated, owned by the
 * row: db_policy_row_clear frees it) by db_policy_get and db_policy_latest,
 * and NULL in a history listing, which does not read the texts. */
typedef struct {
    int64_t revision;
    char sha256[65];
    char message[DB_POLICY_MESSAGE_MAX + 1];
    char author[DB_POLICY_AUTHOR_MAX + 1];
    char commit_id[DB_POLICY_COMMIT_MAX + 1];
    int64_t created_at_ms;
    char *text;
    size_t text_len;
} db_policy_row_t;

/* Frees a row's text; accepts a row without one. */
void db_policy_row_clear(db_policy_row_t *row);

/* Stores a policy text as the next revision (the highest stored + 1, from
 * 1) and returns it in *revision. Revisions are never reused: a rollback
 * stores the old text again as a new revision, so history is linear.
 * sha256 is 64 lowercase hex digits; message, author and commit_id may be
 * "" and are refused (DB_ERR_INVALID) beyond the DB_POLICY_*_MAX limits. */
int db_policy_store(db_t *self, const char *text, const char *sha256,
                    const char *message, const char *author,
                    const char *commit_id, int64_t now_ms, int64_t *revision,
                    db_err_t *err);

/* One revision, or the newest; DB_ERR_NOT_FOUND when there is none. */
int db_policy_get(db_t *self, int64_t revision, db_policy_row_t *out,
                  db_err_t *err);
int db_policy_latest(db_t *self, db_policy_row_t *out, db_err_t *err);

typedef int(db_policy_cb)(const db_policy_row_t *row, void *arg);

/* Revisions below before_revision (0: from the newest), newest first, at
 * most `limit` of them (0: all); rows carry no text. */
int db_policy_history(db_t *self, int64_t before_revision, int64_t limit,
                      db_policy_cb *cb, void *arg, db_err_t *err);

/* A host's current desired state: the encoded APPLY (codec bytes, owned by
 * the struct: db_host_desired_clear frees them). */
typedef struct {
    uint64_t revision;         /* the APPLY revision */
    int64_t policy_revision;   /* planned from; 0: none */
    uint64_t applied_revision; /* last revision answered all ok; 0: none */
    int64_t created_at_ms;
    uint8_t *apply;
    size_t apply_len;
} db_host_desired_t;

void db_host_desired_clear(db_host_desired_t *desired);

/* The revision a host's next desired state carries: one above the stored
 * one (1 for a host without one). The caller encodes its APPLY with it
 * (or with any higher revision) and stores it with db_host_desired_set. */
int db_host_desired_next(db_t *self, const char *host, uint64_t *revision,
                         db_err_t *err);

/* Stores the host's new desired state, in one transaction, with a fresh
 * apply status "pending" (sent_at now_ms) in place of the previous one.
 * revision must exceed the stored one (DB_ERR_INVALID otherwise, nothing
 * stored), so a host's revisions only grow, across controller restarts
 * too. policy_revision 0 means none; apply_len must not be 0. */
int db_host_desired_set(db_t *self, const char *host, int64_t policy_revision,
                        uint64_t revision, const void *apply, size_t apply_len,
                        int64_t now_ms, db_err_t *err);

/* DB_ERR_NOT_FOUND for an unknown host or one without a desired state. */
int db_host_desired_get(db_t *self, const char *host, db_host_desired_t *out,
                        db_err_t *err);

/* Stores a host's APPLY_RESULT for `revision`, in one transaction: the
 * count of ok items and every failed item (err > 0); state ok when none
 * failed, and then applied_revision becomes revision. A result that is not
 * for the host's current desired revision is refused (DB_ERR_INVALID) and
 * stores nothing; a second result for the same revision replaces the
 * first. */
int db_apply_result_record(db_t *self, const char *host, uint64_t revision,
                           const vfp_result_t *results, uint32_t count,
                           int64_t now_ms, db_err_t *err);

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    uint64_t revision;         /* desired */
    uint64_t applied_revision; /* 0: none */
    int64_t policy_revision;   /* 0: none */
    db_apply_state_t state;    /* of the desired revision */
    int64_t ok_count, failed_count;
    int64_t sent_at_ms;
    int64_t answered_at_ms; /* 0: not answered */
    /* Why the latest rollout left the host at this desired state, or ""
     * (set by db_apply_status_filter only; see db_host_refusal_set). */
    char refusal[VFP_TEXT_MAX + 1];
} db_apply_status_row_t;

typedef int(db_apply_status_cb)(const db_apply_status_row_t *row, void *arg);

/* Hosts that have a desired state, by name, paged by host (db_page_t). */
int db_apply_status_list(db_t *self, const db_page_t *page,
                         db_apply_status_cb *cb, void *arg, db_err_t *err);

typedef int(db_apply_failure_cb)(const vfp_result_t *item, void *arg);

/* The failed items of a host's current desired revision, in the order the
 * host reported them. */
int db_apply_failures_list(db_t *self, const char *host,
                           db_apply_failure_cb *cb, void *arg, db_err_t *err);

/* One attribute that differs from the desired state. pf is "" for a
 * hugepage pool (attribute "2048kB"); index is 0 unless a VF's. */
typedef struct {
    char pf[VFP_PCI_ADDR_MAX + 1];
    uint16_t index;
    char attribute[VFP_ATTRIBUTE_MAX + 1];
    char wanted[DB_DRIFT_VALUE_MAX + 1];
    char has[DB_DRIFT_VALUE_MAX + 1];
} db_drift_item_t;

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    db_drift_item_t item;
    int64_t seen_at_ms;
} db_drift_row_t;

typedef int(db_drift_cb)(const db_drift_row_t *row, void *arg);

/* Replaces the host's drift report with these items (none: no drift), in
 * one transaction. An item repeated (same pf, index and attribute) is
 * refused with DB_ERR_INVALID. */
int db_drift_replace(db_t *self, const char *host, const db_drift_item_t *items,
                     uint32_t count, int64_t now_ms, db_err_t *err);

/* Drift by host, PF, index and attribute; host NULL lists every host's. */
int db_drift_list(db_t *self, const char *host, db_drift_cb *cb, void *arg,
                  db_err_t *err);

/* ---- host labels (db_policy.c) --------------------------------------- */

/* A host's labels as stored in hosts.labels: "key=value\n" lines sorted
 * by key ("" when none). Room for 64 labels of 63-character keys and
 * values; which keys and values are valid is the policy language's rule,
 * checked by the caller. */
#define DB_HOST_LABELS_MAX 8192

/* The host's labels text; DB_ERR_NOT_FOUND for an unknown host. */
int db_host_labels_get(db_t *self, const char *host,
                       char labels[DB_HOST_LABELS_MAX + 1], db_err_t *err);

typedef struct {
    const char *key;
    const char *value;
} db_label_t;

/* The next label of labels text as stored (above), which it modifies in
 * place: *cursor starts at the text and moves past each label taken.
 * Lines without '=' are skipped. Returns false at the end. */
bool db_labels_next(char **cursor, db_label_t *label);

/* In one transaction, sets each of set (a key already there takes the new
 * value), then removes each key of remove (absent keys are no change), and
 * stores the result sorted by key; labels gets it. DB_ERR_NOT_FOUND for an
 * unknown host; DB_ERR_INVALID, storing nothing, for an empty key, a key
 * holding '=' or a newline, a value holding a newline, or a result longer
 * than DB_HOST_LABELS_MAX. */
int db_host_labels_set(db_t *self, const char *host, const db_label_t *set,
                       size_t set_count, const char *const *remove,
                       size_t remove_count, char labels[DB_HOST_LABELS_MAX + 1],
                       db_err_t *err);

/* ---- refusals (db_policy.c) ------------------------------------------ */

/* Why a rollout left a host at its previous desired state (a VF count
 * change under VFs in use), for the policy revision it refused. */
#define DB_REFUSAL_REASON_MAX VFP_TEXT_MAX

typedef struct {
    char host[VFP_HOSTNAME_MAX + 1];
    int64_t policy_revision;
    char reason[DB_REFUSAL_REASON_MAX + 1];
    int64_t refused_at_ms;
} db_host_refusal_t;

typedef int(db_host_refusal_cb)(const db_host_refusal_t *row, void *arg);

/* Records that the rollout of policy_revision refused the host, replacing
 * the host's previous refusal. reason is 1..DB_REFUSAL_REASON_MAX bytes
 * (DB_ERR_INVALID otherwise); DB_ERR_NOT_FOUND for an unknown host or
 * policy revision. */
int db_host_refusal_set(db_t *self, const char *host, int64_t policy_revision,
                        const char *reason, int64_t now_ms, db_err_t *err);

/* Forgets the host's refusal (host NULL: every host's); no refusal is not
 * an error. */
int db_host_refusal_clear(db_t *self, const char *host, db_err_t *err);

/* The host's refusal; DB_ERR_NOT_FOUND when it has none. */
int db_host_refusal_get(db_t *self, const char *host, db_host_refusal_t *out,
                        db_err_t *err);

/* Every refusal, by host name. */
int db_host_refusals_list(db_t *self, db_host_refusal_cb *cb, void *arg,
                          db_err_t *err);

/* ---- the admin API's rollout views (db_policy.c) -------------------- */

/* Filters for db_apply_status_filter; NULL host and by_state false match
 * every host with a desired state. */
typedef struct {
    const char *host;
    bool by_state; /* hosts in `state` that no rollout refused */
    db_apply_state_t state;
    bool refused; /* only hosts a rollout refused (by_state false) */
} db_apply_status_filter_t;

/* Like db_apply_status_list, filtered; page->host is the cursor (the
 * last host of the previous page). */
int db_apply_status_filter(db_t *self, const db_apply_status_filter_t *filter,
                           const db_page_t *page, db_apply_status_cb *cb,
                           void *arg, db_err_t *err);

/* Hosts with a desired state: those a rollout refused (refused), the
 * others by the state of their apply status (pending, ok, failed), and
 * those of all with drift stored. pending + ok + failed + refused is
 * hosts. */
typedef struct {
    int64_t hosts, pending, ok, failed, refused, drifted;
} db_apply_counts_t;

int db_apply_counts(db_t *self, db_apply_counts_t *out, db_err_t *err);

/* Drift in db_drift_list's order, at most `limit` rows (0: all) strictly
 * after the row `after` (NULL: from the first); host NULL: every host. */
int db_drift_page(db_t *self, const char *host, const db_drift_row_t *after,
                  int64_t limit, db_drift_cb *cb, void *arg, db_err_t *err);

/* ---- VMs (db_vm.c) ---------------------------------------------------- */

/* A VM's life: reserved (its VFs and memory are taken and committed, its
 * host's agent has not confirmed the VF settings yet), placed (the agent
 * confirmed), failed (the agent refused an item of its VFs; it holds no
 * host, VF or memory any more, keeps its MACs and says why). A VM whose
 * host is down is shown as "host-down" (db_vm_t.host_down); that is not a
 * stored state. The schema's CHECK lists exactly these names. */
typedef enum {
    DB_VM_RESERVED = 0,
    DB_VM_PLACED,
    DB_VM_FAILED,
    DB_VM_STATE_COUNT,
} db_vm_state_t;

/* The power state the hypervisor side last reported (`vm power`). */
typedef enum {
    DB_VM_POWER_UNKNOWN = 0,
    DB_VM_POWER_ON,
    DB_VM_POWER_OFF,
    DB_VM_POWER_COUNT,
} db_vm_power_t;

const char *db_vm_state_name(db_vm_state_t state);
int db_vm_state_parse(const char *name, db_vm_state_t *state);
const char *db_vm_power_name(db_vm_power_t power); /* unknown, on, off */
int db_vm_power_parse(const char *name, db_vm_power_t *power);

#define DB_VM_NICS_MAX 8
#define DB_VM_NAME_MAX VFP_NAME_MAX

/* One NIC. pf is "" when the NIC holds no VF (a failed VM). */
typedef struct {
    char network[VFP_NAME_MAX + 1];
    uint8_t mac[6];
    char pf[VFP_PCI_ADDR_MAX + 1]; /* the VF's PF, by PCI address */
    uint16_t vf;                   /* VF index on the PF */
    /* Read only (filled by db_vm_get / db_vms_list, ignored by
     * db_vm_reserve): */
    char pf_ifname[VFP_NAME_MAX + 1];
    char vf_pci[VFP_PCI_ADDR_MAX + 1];
} db_vm_nic_t;

typedef struct {
    char name[DB_VM_NAME_MAX + 1];
    uint64_t memory_mib; /* reserved: what the host keeps for it */
    uint32_t vcpus;
    char host[VFP_HOSTNAME_MAX + 1]; /* "" when it holds no host */
    char group[VFP_NAME_MAX + 1];    /* anti-affinity group, "" none */
    char numa[16];                   /* "none", "preferred", "required" */
    bool separate_pfs;
    char pin[VFP_HOSTNAME_MAX + 1]; /* the host asked for, "" any */
    db_vm_state_t state;
    db_vm_power_t power;
    /* The host's desired revision that first carries this VM's VF settings
     * (0: not planned yet): the VM is placed once the host applied it. */
    uint64_t apply_revision;
    char error[VFP_TEXT_MAX + 1]; /* why it failed, "" otherwise */
    int64_t created_at_ms;
    int64_t placed_at_ms; /* 0: not placed */
    /* Read only: */
    bool host_down; /* its host is down */
    uint32_t nic_count;
    db_vm_nic_t nics[DB_VM_NICS_MAX];
} db_vm_t;

/* Stores a reservation, in one transaction (a savepoint inside a batch):
 * the VM in state reserved on vm->host (with its memory, vcpus, group,
 * numa ("" is "none"), separate_pfs, pin, power and apply_revision as
 * given), each NIC on its VF (pf, vf on that host), the VFs in state
 * "reserved". Refused with nothing stored:
 * DB_ERR_EXISTS when a VM of that name exists ("vm web-1 exists"), a VF is
 * held by another VM ("vm web-1: pf 0000:3b:00.0 vf 3 is held by vm web-2")
 * or a MAC is ("vm web-1: mac 00:50:56:00:00:01 is held by vm web-2");
 * DB_ERR_NOT_FOUND when the host, a PF or a VF is unknown; DB_ERR_INVALID
 * for a field out of range (name 1..DB_VM_NAME_MAX bytes, memory and
 * vcpus > 0, at most DB_VM_NICS_MAX NICs, each with a network and a pf),
 * two NICs naming one VF or MAC, a VF not in state free, or when the
 * memory of the host's VMs would exceed the host's memory
 * (hosts.mem_total_kb) - the schema enforces the last three and the
 * uniqueness itself, so no caller can double-book. */
int db_vm_reserve(db_t *self, const db_vm_t *vm, int64_t now_ms, db_err_t *err);

/* One VM with its NICs; DB_ERR_NOT_FOUND when unknown. */
int db_vm_get(db_t *self, const char *name, db_vm_t *out, db_err_t *err);

typedef int(db_vm_cb)(const db_vm_t *vm, void *arg);

/* Filters for db_vms_list; NULL / false match every VM. A VM is matched
 * by the state it is shown in: a reserved or placed VM whose host is down
 * is shown as host-down, so by_state does not match it, host_down does. */
typedef struct {
    const char *host;
    bool by_state;
    db_vm_state_t state;
    bool host_down; /* only VMs shown as host-down */
} db_vm_filter_t;

/* VMs by name, with their NICs, paged by name (page->host is the cursor:
 * the last name of the previous page; page->limit counts VMs). */
int db_vms_list(db_t *self, const db_vm_filter_t *filter, const db_page_t *page,
                db_vm_cb *cb, void *arg, db_err_t *err);

/* Deletes the VM, in one transaction: its VFs return to state free (a VF
 * the host no longer reports stays "missing" until ingestion retires it),
 * its memory and MACs are released. *was (may be NULL) is the VM as it was.
 * DB_ERR_NOT_FOUND when unknown. */
int db_vm_delete(db_t *self, const char *name, db_vm_t *was, db_err_t *err);

/* A cold evacuation, in one transaction: the VM `name` releases its VFs
 * and memory where it is (its VFs free again) and is stored anew as `to`
 * (normally the same name and MACs on another host, state reserved, its
 * created_at_ms kept), as db_vm_reserve stores it. Any refusal leaves the
 * VM where it was. DB_ERR_NOT_FOUND when no VM has that name. */
int db_vm_move(db_t *self, const char *name, const db_vm_t *to, db_err_t *err);

/* The agent confirmed: state placed, placed_at now (the first time only),
 * its reserved VFs "assigned". DB_ERR_INVALID for a failed VM. */
int db_vm_set_placed(db_t *self, const char *name, int64_t now_ms,
                     db_err_t *err);

/* Planning the host: each of its reserved VMs not planned yet
 * (apply_revision 0) takes revision, in one statement, on a host that is
 * down too (it is sent that revision when it is back). *count (may be
 * NULL) is how many did; none on an unknown host. DB_ERR_INVALID for a
 * revision not below 2^63. */
int db_host_vms_set_apply_revision(db_t *self, const char *host,
                                   uint64_t revision, size_t *count,
                                   db_err_t *err);

/* The host applied revision: each of its reserved VMs planned at or before
 * it (apply_revision 1..revision) is placed as db_vm_set_placed places
 * one, in one transaction (a savepoint inside a batch). *count (may be
 * NULL) is how many; none on a host that is down or unknown. */
int db_host_vms_set_placed(db_t *self, const char *host, uint64_t revision,
                           int64_t now_ms, size_t *count, db_err_t *err);

/* The agent refused: state failed with error (cut to VFP_TEXT_MAX bytes
 * at a character boundary), its VFs free again and no longer its
 * (vm_nics.vf_id NULL, MACs kept), no host, no memory. */
int db_vm_set_failed(db_t *self, const char *name, const char *error,
                     db_err_t *err);

/* DB_ERR_NOT_FOUND when unknown; DB_ERR_INVALID for a power out of range. */
int db_vm_set_power(db_t *self, const char *name, db_vm_power_t power,
                    db_err_t *err);

/* Sets hosts.cordoned; DB_ERR_NOT_FOUND for an unknown host. */
int db_host_set_cordoned(db_t *self, const char *host, bool cordoned,
                         db_err_t *err);

#endif
