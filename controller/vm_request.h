/* vm_request.h - a VM request in the admin API's JSON (ADMIN.md,
 * "vm.create"): read into a placement request with errors that name the
 * field, and a refusal's detail as JSON. Shared by vm.create and plan. */
#ifndef VFLEET_VM_REQUEST_H
#define VFLEET_VM_REQUEST_H

#include <jansson.h>

#include "placement.h"
#include "vfp.h"

/* Reads body ({"name", "memory_mib", "vcpus", "nics": [{"network",
 * "mac"}], "host", "group", "numa", "separate_pfs"}) into *req, whose
 * strings point into body. Returns 0, or -1 with "WHERE: what is wrong"
 * in err. */
int vm_request_parse(const json_t *body, const char *where,
                     placement_request_t *req, char err[VFP_TEXT_MAX + 1]);

/* {"reasons": [{"rule", "hosts", "example"}], "closest": [{"host",
 * "rule", "reason"}]}. */
json_t *vm_request_refusal_json(const placement_refusal_t *why);

#endif
