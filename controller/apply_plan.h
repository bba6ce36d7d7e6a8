/* apply_plan.h - planned (the desired-state module): turning the stored policy
 * revision and the inventory into one APPLY per host. Not built yet; nothing
 * includes this header. It records the intended interface so the code that
 * comes lands here and nowhere else.
 *
 * Intended use, on the event loop (the only writer):
 *
 *   apply_plan_t *plan = apply_plan_new(db, policy);
 *   vfp_msg_t *apply = apply_plan_for_host(plan, "hv-01", revision, &err);
 *       -> the complete APPLY for that host: PF VF counts from the policy's
 *          PF rules, VF settings from the networks of the VMs holding them,
 *          released VFs reset to clean defaults, hugepage pools;
 *   apply_plan_destroy(&plan);
 *
 * Rules it will own: revisions only grow per host (PROTOCOL.md 7.4), so a
 * host's next APPLY carries max(policy revision, last sent + 1); an APPLY
 * never names a PF the inventory does not hold; VLANs stay within
 * VFP_APPLY_VLAN_MAX. The result is stored before it is sent. */
#ifndef VFLEET_APPLY_PLAN_H
#define VFLEET_APPLY_PLAN_H

typedef struct apply_plan_t apply_plan_t;

#endif
