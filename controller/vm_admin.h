/* vm_admin.h - the admin write verbs of VMs and hosts (ADMIN.md):
 * vm.create, vm.create.batch, vm.delete, vm.power, host.cordon, host.uncordon
 * and host.drain, run on the controller's main thread, on the write connection,
 * over the placement index (vm_index.h). A reservation is decided in memory,
 * committed to the database, answered, and only then planned into its host's
 * desired state and sent to the agent; the VM is placed when the agent confirms
 * (vm_admin_result). */
#ifndef VFLEET_VM_ADMIN_H
#define VFLEET_VM_ADMIN_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfleet_db.h"
#include "vfp.h"
#include "vm_index.h"

/* vm.create --wait requests parked at once, at most; beyond, the request
 * is answered when the reservation commits, with a note. */
#define VM_ADMIN_WAITS_MAX 1024
/* VMs one vm.create.batch may hold: it holds the main thread, and the
 * agents behind it, for some tens of milliseconds at most, and its answer
 * stays under VFP_BODY_MAX: a result is at most some 5 KiB (a refusal
 * with its error text, 7 rules' examples and 3 closest hosts of 253
 * characters; a VM with 8 NICs is less), 2.5 MiB for 500. */
#define VM_ADMIN_BATCH_MAX 500
/* How long vm.create --wait waits by default, and at most, in seconds. */
#define VM_ADMIN_WAIT_DEFAULT_S 60
#define VM_ADMIN_WAIT_MAX_S 3600

/* Plans the host against the latest policy with the VMs it holds, stores
 * the plan as its desired state when it differs and sends it: 1 then, 0
 * when the desired state already was that plan, -1 when the plan was
 * refused (the host keeps its desired state) or no policy is stored. */
typedef int vm_admin_replan_fn(void *arg, const char *host);

/* Sends a parked request's REPLY (takes client and reply). */
typedef void vm_admin_answer_fn(void *arg, zframe_t **client,
                                vfp_msg_t **reply);

typedef struct {
    vm_admin_replan_fn *replan;
    vm_admin_answer_fn *answer;
    void *arg;
    size_t waits_max; /* 0: VM_ADMIN_WAITS_MAX */
    /* vm_admin_flush_one plans a host once its VMs first changed this
     * long ago, so that the placements of a burst on one host cost one
     * plan, one APPLY and one answer of its agent. */
    uint32_t plan_delay_ms;
} vm_admin_config_t;

typedef struct vm_admin_t vm_admin_t;

/* db and index are not owned. */
vm_admin_t *vm_admin_new(db_t *db, vm_index_t *index,
                         const vm_admin_config_t *cfg);
/* Parked requests are answered INTERNAL "the controller is stopping". */
void vm_admin_destroy(vm_admin_t **self_p);

/* At start: the hosts of reserved VMs that no desired state carries yet
 * are planned as if those VMs had just been reserved, and every host is
 * queued to be planned again once nothing else waits (vm_admin_sweep_one).
 * Which hosts await a plan is kept in memory only, so a reservation
 * committed just before the controller stopped (or was killed) would
 * otherwise stay reserved, and the VFs of a VM deleted, failed or moved
 * then keep its settings, until something else on the host changed.
 * Returns how many hosts have such VMs, or -1 when the database could not
 * be read (err). */
int vm_admin_recover(vm_admin_t *self, db_err_t *err);

/* Plans the next host of vm_admin_recover's queue, unless it waits as
 * dirty anyway; false when the queue is empty. A host whose desired state
 * is already its plan stores and sends nothing. */
bool vm_admin_sweep_one(vm_admin_t *self);

bool vm_admin_is_verb(const char *verb);

/* Answers one REQUEST with its REPLY, or parks it (vm.create --wait) and
 * returns NULL: it is answered through cfg->answer later, and *client was
 * taken. */
vfp_msg_t *vm_admin_handle(vm_admin_t *self, const vfp_msg_t *request,
                           zframe_t **client);

/* How many VMs vm_admin_handle reserved since the last call: the caller
 * counts them (stats_placement) once their transaction committed, so a
 * group commit that fails counts none. */
size_t vm_admin_take_reserved(vm_admin_t *self);

/* How many placements (vm.create, each VM of a vm.create.batch,
 * vm.evacuate) were decided since vm_admin_take_reserved last asked:
 * what a group commit holds so far. */
size_t vm_admin_decided(const vm_admin_t *self);

/* Plans the hosts whose VMs changed since the last call into their
 * desired states (cfg->replan), once each; call it after the answers
 * were sent. A host whose plan is refused fails its reserved VMs. */
void vm_admin_flush(vm_admin_t *self);

/* Plans the host of those vm_admin_flush would whose VMs first changed
 * longest ago, if that was cfg->plan_delay_ms or more before now_mono
 * (zclock_mono); false when none is due. The controller spreads them over
 * its loop so that placements never wait behind a burst of plans. */
bool vm_admin_flush_one(vm_admin_t *self, int64_t now_mono);

/* The host's answer to its current desired revision was stored: reserved
 * VMs it carries become placed, or failed when an item of their VFs,
 * their PF's count or the hugepages failed; waiting requests are
 * answered. A failed VM's host is planned again later (vm_admin_flush or
 * vm_admin_flush_one), which resets the VFs it held. */
void vm_admin_result(vm_admin_t *self, const char *host);

/* Answers the --wait requests whose time is up with the VM as it stands. */
void vm_admin_expire(vm_admin_t *self, int64_t now_mono);

/* Parked requests. */
size_t vm_admin_waiting(vm_admin_t *self);

#endif
