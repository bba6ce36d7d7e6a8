/* placement.h - planned: choosing a host and VFs for a VM (DESIGN.md,
 * "Placement"). Not built yet; nothing includes this header. It records
 * the intended interface so the code that comes lands here.
 *
 * Intended use, on the event loop:
 *
 *   placement_t *pl = placement_new(db);          in-memory index of hosts,
 *                                                 free isolated VFs, memory
 *   placement_decide(pl, &request, &decision, &err);
 *       filter: host ready, not cordoned, IOMMU ready, full memory
 *       reservation fits, for each NIC a free isolated VF on a PF carrying
 *       its network, pin and anti-affinity honoured; score: pack or spread
 *       with a deterministic tie-break;
 *   placement_commit(pl, decisions, count, &err); many decisions in one
 *                                                 transaction (group commit)
 *
 * A client is answered only after the transaction holding its decision has
 * committed; `vm create --wait` parks the request (pending.h) until the
 * agent's APPLY_RESULT confirms. */
#ifndef VFLEET_PLACEMENT_H
#define VFLEET_PLACEMENT_H

typedef struct placement_t placement_t;

#endif
