/* discover.h - what a host has: SR-IOV PFs and VFs, IOMMU, memory. */
#ifndef VFLEET_DISCOVER_H
#define VFLEET_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf_kernel.h"
#include "vfp.h"

struct nl_sock;

/* Whether VF settings (MAC, VLAN, ...) are read from the kernel. AUTO reads
 * them only when the sysfs root is the live "/sys": a recorded tree's
 * interface names mean nothing to this host's kernel. */
typedef enum {
    DISCOVER_NETLINK_AUTO = 0,
    DISCOVER_NETLINK_ON = 1,
    DISCOVER_NETLINK_OFF = 2,
} discover_netlink_t;

typedef struct {
    const char *sysfs_root;   /* NULL: "/sys" */
    const char *procfs_root;  /* NULL: "/proc" */
    const char *debugfs_root; /* NULL: <sysfs_root>/kernel/debug */
    const char *hostname;     /* NULL: <procfs>/sys/kernel/hostname */
    discover_netlink_t netlink;
    vf_kernel_t kernel; /* SIM: VF settings from the tree's simulated
                           kernel (vf_sim), never netlink */
    struct nl_sock *nl; /* connected NETLINK_ROUTE socket to reuse, or
                           NULL to open one per scan */
} discover_opts_t;

/* Host-level facts that could not be read (a PF's or VF's problems go to
 * its own note instead). */
#define DISCOVER_WARNINGS_MAX 16
typedef struct {
    uint32_t count;
    char text[DISCOVER_WARNINGS_MAX][256];
} discover_warnings_t;

/* Scans the host into *inv (generation left 0). inv must be zeroed or
 * cleared; free it with discover_inventory_clear. warnings may be NULL. Returns
 * 0 even when parts could not be read (they carry the reason); -1 with err only
 * when the roots themselves are unusable. */
int discover_host(const discover_opts_t *opts, vfp_inventory_t *inv,
                  discover_warnings_t *warnings, char *err, size_t errlen);

/* The PF whose PCI address (or bus id) or ifname is name, or NULL. */
vfp_pf_t *discover_find_pf(const vfp_inventory_t *inv, const char *name);

/* Frees what discover_host allocated and zeroes *inv. */
void discover_inventory_clear(vfp_inventory_t *inv);

/* Whether one of the host netdevs of device directory dev (its "net"
 * entries) is administratively up: what makes a VF in_use. */
bool discover_device_netdev_up(const char *dev);

/* Adds a warning (drops it when the list is full). */
void discover_warn(discover_warnings_t *warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
