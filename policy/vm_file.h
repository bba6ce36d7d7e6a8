/* vm_file.h - VM files: the VMs `vfleetctl vm apply` declares, YAML text
 * in, validated model out (POLICY.md "VM files"). Shares the policy
 * language's loader, limits, error list and value rules. */
#ifndef VFLEET_VM_FILE_H
#define VFLEET_VM_FILE_H

#include "policy.h"

#define POLICY_VM_FILE_VERSION 1
/* VMs one file may declare. A minimal VM is 12 YAML nodes, so a file of
 * this many, each with a pin and a group, stays under POLICY_MAX_NODES. */
#define POLICY_VM_FILE_MAX_VMS 5000
/* NICs of one VM: the controller's PLACEMENT_NICS_MAX (it holds them
 * equal; policy includes nothing of the controller's). */
#define POLICY_VM_NICS_MAX 8
/* vCPUs of one VM, as the admin verb vm.create accepts them. */
#define POLICY_VM_VCPUS_MAX 65536

typedef enum {
    POLICY_VM_NUMA_NONE = 0,
    POLICY_VM_NUMA_PREFERRED = 1,
    POLICY_VM_NUMA_REQUIRED = 2,
} policy_vm_numa_t;

typedef struct {
    const char *network;
    const char *mac; /* lowercase aa:bb:cc:dd:ee:ff; NULL: from a pool */
    policy_pos_t pos;
} policy_vm_nic_t;

typedef struct {
    const char *name;
    uint64_t memory_mib;
    uint32_t vcpus;
    size_t nic_count; /* 1..POLICY_VM_NICS_MAX */
    policy_vm_nic_t *nics;
    const char *host;  /* pinned host; NULL: any */
    const char *group; /* anti-affinity group; NULL: none */
    policy_vm_numa_t numa;
    bool separate_pfs;
    policy_pos_t pos;
} policy_vm_t;

typedef struct {
    size_t vm_count;       /* 1..POLICY_VM_FILE_MAX_VMS */
    policy_vm_t *vms;      /* in file order */
    const char *source;    /* the name it was parsed under */
    policy_arena_t *arena; /* owns every string and array above */
} policy_vm_file_t;

/* Parses and validates a VM file. On any error returns NULL and fills errs
 * (may be NULL) with every error found; name is FILE in the messages. */
policy_vm_file_t *policy_vm_file_parse(const char *name, const char *text,
                                       size_t len, policy_errors_t *errs);
policy_vm_file_t *policy_vm_file_parse_file(const char *path,
                                            policy_errors_t *errs);
void policy_vm_file_destroy(policy_vm_file_t **self_p);

/* "none", "preferred", "required": the words of the file and of the
 * admin API's VM object. */
const char *policy_vm_numa_name(policy_vm_numa_t numa);

#endif
