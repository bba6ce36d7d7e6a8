/* host_admin.h - the admin write verb host.label (ADMIN.md): set and remove
 * a host's labels, then have the host planned again with them. Runs on the
 * controller's main thread, on the write connection. */
#ifndef VFLEET_HOST_ADMIN_H
#define VFLEET_HOST_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "vfleet_db.h"
#include "vfp.h"

/* Plans host against the latest policy after its labels changed and sends
 * its new desired state: true when that desired state changed. */
typedef bool host_admin_replan_fn(void *arg, const char *host);

/* Whether verb is one host_admin_handle answers. */
bool host_admin_is_verb(const char *verb);

/* Answers one REQUEST host.label with its REPLY (UNKNOWN_VERB for any
 * other verb), on db, the write connection; replan(arg, host) runs once
 * the labels are stored. */
vfp_msg_t *host_admin_handle(db_t *db, const vfp_msg_t *request,
                             host_admin_replan_fn *replan, void *arg);

#endif
