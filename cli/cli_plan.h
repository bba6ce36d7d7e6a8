/* cli_plan.h - vfleetctl plan: what-if placement of VMs (admin verb plan,
 * controller/ADMIN.md). */
#ifndef VFLEET_CLI_PLAN_H
#define VFLEET_CLI_PLAN_H

#include "cli.h"

/* plan FILE, or plan with vm create's options and --count N, --name BASE.
 * Returns 0 when every VM fits, 1 when one does not (or on an error, FILE
 * invalid), 2 for a usage error. */
cli_verb_fn cli_plan;

#endif
