/* discover_internal.h - interfaces between the discovery modules. */
#ifndef VFLEET_DISCOVER_INTERNAL_H
#define VFLEET_DISCOVER_INTERNAL_H

#include "discover.h"

/* Host identity, IOMMU readiness and memory (discover_host.c). */
void discover_host_facts(const char *sysfs, const char *procfs,
                         const char *hostname, vfp_host_t *host,
                         discover_warnings_t *warnings);

#endif
