/* vm_index.h - the placement index (placement.h) fed from the database:
 * built at start from every host and VM, and kept current as hosts report,
 * come and go, are cordoned or relabelled, and as policies are stored.
 * Runs on the main thread, on the write connection. */
#ifndef VFLEET_VM_INDEX_H
#define VFLEET_VM_INDEX_H

#include <stdbool.h>

#include "placement.h"
#include "policy.h"
#include "vfleet_db.h"

typedef struct vm_index_t vm_index_t;

vm_index_t *vm_index_new(db_t *db);
void vm_index_destroy(vm_index_t **self_p);

/* Reads the latest policy, every host and every VM. Returns 0, or -1 with
 * err. */
int vm_index_load(vm_index_t *self, db_err_t *err);

/* Forgets everything and loads again (vm_index_load): after a commit that
 * failed, the index must not keep decisions the database does not. */
int vm_index_reload(vm_index_t *self, db_err_t *err);

/* A policy was stored: which PF carries which network, the strategy, the
 * MAC pools and the memory rules may all have changed. */
void vm_index_policy_changed(vm_index_t *self);

/* The host's inventory or labels changed: its PFs and VFs are read again.
 * A host no longer in the database is dropped. */
void vm_index_host_refresh(vm_index_t *self, const char *host);

/* The host's inventory changed in a way that rarely matters to placement
 * (a delta: VF settings, a VF in use): it is read again by
 * vm_index_refresh_one, so that a burst of deltas costs one read per host
 * and none while placements wait. */
void vm_index_host_stale(vm_index_t *self, const char *host);

/* Whether a delta may change what the index holds of the host: a PF it
 * does not know, one gone, host facts, or a PF whose facts other than its
 * VFs' settings differ from those last indexed. A delta that does not (an
 * agent reporting the settings of an APPLY) needs no read of the host. */
bool vm_index_delta_matters(vm_index_t *self, const char *host,
                            const vfp_inventory_delta_t *delta);
/* Reads one stale host again; false when none is stale. */
bool vm_index_refresh_one(vm_index_t *self);

/* The host's liveness or cordon changed. */
void vm_index_host_state(vm_index_t *self, const char *host);

/* The VM as stored now: held VFs, memory and MACs taken (failed VMs keep
 * only their MACs). */
void vm_index_vm_put(vm_index_t *self, const db_vm_t *vm);
void vm_index_vm_remove(vm_index_t *self, const char *name);

placement_t *vm_index_placement(vm_index_t *self);

/* The policy the index was built from; NULL when none is stored. */
const policy_t *vm_index_policy(vm_index_t *self);

#endif
