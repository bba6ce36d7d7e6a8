/* db_schema.c - the inventory schema as ordered migration steps; step N
 * turns a version N-1 file into version N (PRAGMA user_version). */
#include "db_internal.h"

/* Version 1: the inventory, VMs, policy revisions and apply status.
 *
 * Invariants the schema itself enforces (the VM rules as of version 6):
 * - a VF belongs to exactly one PF (vfs.pf_id NOT NULL) on exactly one host
 *   (pfs.host_id NOT NULL), and (pf, index) is unique;
 * - a VF belongs to at most one VM (vm_nics.vf_id UNIQUE), and a NIC takes
 *   only a VF in state free (trigger vm_nics_vf_free_*);
 * - a MAC is unique in the cluster (vm_nics.mac UNIQUE, lower case);
 * - every NIC of a VM is on that VM's host, and a VM holding VFs cannot
 *   move (triggers vm_nics_same_host_*, vms_host_move), so a failed VM,
 *   which holds no host, holds no VF either;
 * - the memory of the VMs on a host never exceeds the host's memory
 *   (hosts.mem_total_kb) when a VM is added or moved or grows
 *   (triggers vms_memory_*); a host reporting less memory is not refused;
 * - a VF a VM holds cannot be deleted, not even by a cascade from its PF or
 *   host (vm_nics.vf_id ON DELETE RESTRICT): ingestion marks it "missing";
 *   a host holding VMs cannot be deleted (vms.host_id ON DELETE RESTRICT).
 * Times are milliseconds since the Unix epoch.
 *
 * CHECKs spell value lists as OR chains and ranges as BETWEEN, never
 * IN (...): SQLite builds a temporary table for an IN list each time the
 * check runs, which made every VF insert three times slower. */
static const char s_v1[] =
    "CREATE TABLE hosts ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 253),"
    " public_key TEXT,"
    " state TEXT NOT NULL DEFAULT 'ready'"
    "  CHECK (state = 'ready' OR state = 'down'),"
    " cordoned INTEGER NOT NULL DEFAULT 0 CHECK (cordoned BETWEEN 0 AND 1),"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " generation INTEGER NOT NULL DEFAULT 0,"
    " report_seq INTEGER NOT NULL DEFAULT 0,"
    " boot_id TEXT NOT NULL DEFAULT '',"
    " agent_version TEXT NOT NULL DEFAULT '',"
    " proto_version INTEGER NOT NULL DEFAULT 0,"
    " kernel TEXT NOT NULL DEFAULT '',"
    " cpu_virt TEXT NOT NULL DEFAULT 'none'"
    "  CHECK (cpu_virt = 'none' OR cpu_virt = 'vmx' OR cpu_virt = 'svm'),"
    " iommu_ready INTEGER NOT NULL DEFAULT 0 CHECK (iommu_ready BETWEEN 0 AND "
    "1),"
    " iommu_units INTEGER NOT NULL DEFAULT 0,"
    " iommu_groups INTEGER NOT NULL DEFAULT 0,"
    " iommu_cmdline TEXT NOT NULL DEFAULT '',"
    " iommu_reasons TEXT NOT NULL DEFAULT '',"
    " mem_total_kb INTEGER NOT NULL DEFAULT 0,"
    " mem_available_kb INTEGER NOT NULL DEFAULT 0,"
    " labels TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE hugepages ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " size_kb INTEGER NOT NULL CHECK (size_kb > 0),"
    " total INTEGER NOT NULL CHECK (total >= 0),"
    " free INTEGER NOT NULL CHECK (free >= 0 AND free <= total),"
    " PRIMARY KEY (host_id, size_kb));"
    "CREATE TABLE pfs ("
    " id INTEGER PRIMARY KEY,"
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " pci_addr TEXT NOT NULL CHECK (length(pci_addr) BETWEEN 1 AND 32),"
    " ifname TEXT NOT NULL DEFAULT '',"
    " driver TEXT NOT NULL DEFAULT '',"
    " vf_driver TEXT NOT NULL DEFAULT '',"
    " vendor_id INTEGER NOT NULL DEFAULT 0,"
    " device_id INTEGER NOT NULL DEFAULT 0,"
    " numa_node INTEGER NOT NULL DEFAULT -1,"
    " link_speed INTEGER NOT NULL DEFAULT 0,"
    " link_up INTEGER NOT NULL DEFAULT 0 CHECK (link_up BETWEEN 0 AND 1),"
    " total_vfs INTEGER NOT NULL DEFAULT 0 CHECK (total_vfs >= 0),"
    " num_vfs INTEGER NOT NULL DEFAULT 0"
    "  CHECK (num_vfs >= 0 AND (total_vfs = 0 OR num_vfs <= total_vfs)),"
    " note TEXT NOT NULL DEFAULT '',"
    " networks TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT 'present'"
    "  CHECK (state = 'present' OR state = 'missing'),"
    " report_seq INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (host_id, pci_addr));"
    "CREATE TABLE vfs ("
    " id INTEGER PRIMARY KEY,"
    " pf_id INTEGER NOT NULL REFERENCES pfs(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL CHECK (idx BETWEEN 0 AND 65535),"
    " pci_addr TEXT NOT NULL DEFAULT '',"
    " iommu_group INTEGER NOT NULL DEFAULT -1,"
    " iommu_isolated INTEGER NOT NULL DEFAULT 0"
    "  CHECK (iommu_isolated BETWEEN 0 AND 1),"
    " driver TEXT NOT NULL DEFAULT '',"
    " mac TEXT NOT NULL DEFAULT '00:00:00:00:00:00',"
    " vlan INTEGER NOT NULL DEFAULT 0 CHECK (vlan BETWEEN 0 AND 4095),"
    " qos INTEGER NOT NULL DEFAULT 0 CHECK (qos BETWEEN 0 AND 7),"
    " vlan_proto INTEGER NOT NULL DEFAULT 0,"
    " spoofchk INTEGER NOT NULL DEFAULT 2 CHECK (spoofchk BETWEEN 0 AND 2),"
    " trust INTEGER NOT NULL DEFAULT 2 CHECK (trust BETWEEN 0 AND 2),"
    " link_state INTEGER NOT NULL DEFAULT 0 CHECK (link_state BETWEEN 0 AND 2),"
    " min_tx_rate INTEGER NOT NULL DEFAULT 0,"
    " max_tx_rate INTEGER NOT NULL DEFAULT 0,"
    " settings_known INTEGER NOT NULL DEFAULT 0,"
    " in_use INTEGER NOT NULL DEFAULT 0,"
    " note TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT 'free'"
    "  CHECK (state = 'free' OR state = 'reserved' OR state = 'assigned'"
    "  OR state = 'broken' OR state = 'missing'),"
    " report_seq INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (pf_id, idx));"
    "CREATE TABLE vms ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),"
    " memory_mb INTEGER NOT NULL CHECK (memory_mb > 0),"
    " vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
    " host_id INTEGER REFERENCES hosts(id) ON DELETE RESTRICT,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state = 'pending' OR state = 'placing' OR state = 'placed'"
    "  OR state = 'host-down' OR state = 'stopped'),"
    " placed_at INTEGER);"
    "CREATE TABLE vm_nics ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL CHECK (idx >= 0),"
    " network TEXT NOT NULL,"
    " vf_id INTEGER UNIQUE REFERENCES vfs(id) ON DELETE RESTRICT,"
    " mac TEXT NOT NULL UNIQUE,"
    " UNIQUE (vm_id, idx));"
    "CREATE TRIGGER vm_nics_same_host_insert BEFORE INSERT ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND"
    "  (SELECT pfs.host_id FROM vfs JOIN pfs ON pfs.id = vfs.pf_id"
    "   WHERE vfs.id = NEW.vf_id) IS NOT"
    "  (SELECT host_id FROM vms WHERE id = NEW.vm_id)"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not on the VM''s host'); END;"
    "CREATE TRIGGER vm_nics_same_host_update BEFORE UPDATE ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND"
    "  (SELECT pfs.host_id FROM vfs JOIN pfs ON pfs.id = vfs.pf_id"
    "   WHERE vfs.id = NEW.vf_id) IS NOT"
    "  (SELECT host_id FROM vms WHERE id = NEW.vm_id)"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not on the VM''s host'); END;"
    "CREATE TRIGGER vms_host_move BEFORE UPDATE OF host_id ON vms"
    " WHEN EXISTS (SELECT 1 FROM vm_nics JOIN vfs ON vfs.id = vm_nics.vf_id"
    "  JOIN pfs ON pfs.id = vfs.pf_id WHERE vm_nics.vm_id = NEW.id"
    "  AND pfs.host_id IS NOT NEW.host_id)"
    " BEGIN SELECT RAISE(ABORT, 'VM holds VFs on another host'); END;"
    "CREATE TABLE policies ("
    " revision INTEGER PRIMARY KEY,"
    " sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    " text TEXT NOT NULL,"
    " author TEXT NOT NULL DEFAULT '',"
    " commit_id TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " applied_at INTEGER);"
    "CREATE TABLE apply_status ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " revision INTEGER NOT NULL REFERENCES policies(revision),"
    " state TEXT NOT NULL"
    "  CHECK (state = 'pending' OR state = 'ok' OR state = 'failed'),"
    " result TEXT NOT NULL DEFAULT '',"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, revision));";

/* Version 2: the audit/event log, and the indexes the admin listings
 * need (the summary counts VFs by state). */
static const char s_v2[] =
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 31),"
    " host TEXT,"
    " message TEXT NOT NULL);"
    "CREATE INDEX events_at ON events(at);"
    "CREATE INDEX vfs_state ON vfs(state);"
    "CREATE INDEX vm_nics_vm ON vm_nics(vm_id);";

/* Version 3: the index that keeps the admin listings linear in the rows
 * they return. Counting a PF's free VFs through vfs_state walked every free
 * VF in the cluster once per host or PF listed (quadratic: 2.5 s for 500
 * hosts); vfs(pf_id, state, idx) answers "this PF's VFs in this state" in
 * index order, covering both the per-PF counts and the state-filtered VF
 * listing. The ingest UPDATE of a VF sets none of its columns, so re-reports
 * do not maintain it. */
static const char s_v3[] =
    "CREATE INDEX vfs_pf_state ON vfs(pf_id, state, idx);";

/* Version 4: policy revisions, each host's desired state, apply status and
 * drift.
 *
 * - policies: every stored policy text gets the next revision (max + 1):
 *   revisions are never reused or deleted, and a rollback stores the old
 *   text again as a new revision, so the history is one straight line.
 *   message, author and commit_id say who stored it and why.
 * - host_desired: the APPLY the controller last decided for a host, as the
 *   codec's bytes, so a restarted controller resends exactly that.
 *   revision is the APPLY revision, which only grows per host (PROTOCOL.md
 *   7.4) and is kept here across controller restarts; it is not the policy
 *   revision, because placement changes a host's desired state under the
 *   same policy. policy_revision is the policy it was planned from (NULL:
 *   none). applied_revision is the last revision the host answered with
 *   every item ok.
 * - apply_status (replacing version 1's, which nothing wrote): the answer
 *   to the host's current desired revision only; storing a new desired
 *   state replaces it, since a result for an older revision is refused.
 *   Only failed items are rows (apply_failures); ok items are a count, so
 *   a 16k-VF APPLY that succeeds writes one row.
 * - drift: the latest drift report per host, replaced whole.
 * Every row is deleted with its host. */
static const char s_v4[] =
    "ALTER TABLE policies ADD COLUMN message TEXT NOT NULL DEFAULT '';"
    "DROP TABLE apply_status;"
    "CREATE TABLE host_desired ("
    " host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
    " revision INTEGER NOT NULL CHECK (revision > 0),"
    " policy_revision INTEGER REFERENCES policies(revision),"
    " applied_revision INTEGER NOT NULL DEFAULT 0"
    "  CHECK (applied_revision BETWEEN 0 AND revision),"
    " apply BLOB NOT NULL CHECK (length(apply) > 0),"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE apply_status ("
    " host_id INTEGER NOT NULL REFERENCES host_desired(host_id)"
    "  ON DELETE CASCADE,"
    " revision INTEGER NOT NULL CHECK (revision > 0),"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state = 'pending' OR state = 'ok' OR state = 'failed'),"
    " ok_count INTEGER NOT NULL DEFAULT 0 CHECK (ok_count >= 0),"
    " failed_count INTEGER NOT NULL DEFAULT 0 CHECK (failed_count >= 0),"
    " sent_at INTEGER NOT NULL,"
    " answered_at INTEGER,"
    " PRIMARY KEY (host_id, revision));"
    "CREATE TABLE apply_failures ("
    " host_id INTEGER NOT NULL,"
    " revision INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
    " pf TEXT NOT NULL,"
    " idx INTEGER NOT NULL CHECK (idx BETWEEN 0 AND 65535),"
    " attribute TEXT NOT NULL,"
    " errno INTEGER NOT NULL CHECK (errno > 0),"
    " message TEXT NOT NULL,"
    " PRIMARY KEY (host_id, revision, seq),"
    " FOREIGN KEY (host_id, revision)"
    "  REFERENCES apply_status(host_id, revision) ON DELETE CASCADE);"
    "CREATE TABLE drift ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " pf TEXT NOT NULL,"
    " idx INTEGER NOT NULL CHECK (idx BETWEEN 0 AND 65535),"
    " attribute TEXT NOT NULL CHECK (length(attribute) >= 1),"
    " wanted TEXT NOT NULL,"
    " has TEXT NOT NULL,"
    " seen_at INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, pf, idx, attribute));";

/* Version 5: refusals. A policy rollout leaves a host at its previous
 * desired state when the new plan would change a VF count under VFs in use
 * (controller/apply_plan.h); host_refusals keeps why, per host, for the
 * policy revision whose rollout refused it, so the status shows it after
 * the apply has answered and across controller restarts. One row per
 * host: the outcome of the latest rollout that planned it. */
static const char s_v5[] =
    "CREATE TABLE host_refusals ("
    " host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
    " policy_revision INTEGER NOT NULL REFERENCES policies(revision),"
    " reason TEXT NOT NULL CHECK (length(reason) >= 1),"
    " refused_at INTEGER NOT NULL);";

/* Version 6: VMs as placement stores them. Version 1's vms and vm_nics
 * were never written by any release, so they are dropped and made again
 * (their triggers first: they name both tables). Without a VM no VF is
 * held, so a VF left reserved or assigned is free.
 *
 * - vms: a VM is reserved (its VFs and memory are taken, its host's agent
 *   has not confirmed the VF settings), placed (confirmed) or failed (it
 *   holds no host and no VF, and says why in error). A host down is not a
 *   VM state: it is the host's. grp is the anti-affinity group, pin the
 *   host the request named; apply_revision is the host's desired revision
 *   that first carries the VM's VF settings (0: not planned yet).
 * - vm_nics: one row per NIC, in request order (idx); vf_id is NULL when
 *   the NIC holds no VF (a failed VM keeps its MACs).
 * - vms_state: the summary's VM counts by state without a scan (dropped
 *   again by version 7);
 * - vms_host (host_id, name, memory_mib): a host's VMs by name for the
 *   listing of one host, and their memory read from the index alone by
 *   the memory triggers on every reservation. UNIQUE (vm_id, idx) is
 *   vm_nics' index on vm_id (version 2's vm_nics_vm went with the table).
 * - The memory triggers compare in MiB: the host's mem_total_kb / 1024
 *   against the sum of its VMs' memory_mib. */
static const char s_v6[] =
    "DROP TRIGGER vm_nics_same_host_insert;"
    "DROP TRIGGER vm_nics_same_host_update;"
    "DROP TRIGGER vms_host_move;"
    "DROP TABLE vm_nics;"
    "DROP TABLE vms;"
    "UPDATE vfs SET state = 'free'"
    " WHERE state = 'reserved' OR state = 'assigned';"
    "CREATE TABLE vms ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),"
    " memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),"
    " vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
    " host_id INTEGER REFERENCES hosts(id) ON DELETE RESTRICT,"
    " grp TEXT NOT NULL DEFAULT '',"
    " numa TEXT NOT NULL DEFAULT 'none'"
    "  CHECK (numa = 'none' OR numa = 'preferred' OR numa = 'required'),"
    " separate_pfs INTEGER NOT NULL DEFAULT 0"
    "  CHECK (separate_pfs BETWEEN 0 AND 1),"
    " pin TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT 'reserved'"
    "  CHECK (state = 'reserved' OR state = 'placed' OR state = 'failed'),"
    " power TEXT NOT NULL DEFAULT 'unknown'"
    "  CHECK (power = 'unknown' OR power = 'on' OR power = 'off'),"
    " apply_revision INTEGER NOT NULL DEFAULT 0 CHECK (apply_revision >= 0),"
    " error TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " placed_at INTEGER,"
    " CHECK ((host_id IS NULL) = (state = 'failed')));"
    "CREATE TABLE vm_nics ("
    " id INTEGER PRIMARY KEY,"
    " vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL CHECK (idx >= 0),"
    " network TEXT NOT NULL CHECK (length(network) BETWEEN 1 AND 64),"
    " vf_id INTEGER UNIQUE REFERENCES vfs(id) ON DELETE RESTRICT,"
    " mac TEXT NOT NULL UNIQUE CHECK (mac GLOB"
    "  '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:"
    "[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),"
    " UNIQUE (vm_id, idx));"
    "CREATE INDEX vms_host ON vms(host_id, name, memory_mib);"
    "CREATE INDEX vms_state ON vms(state);"
    "CREATE TRIGGER vm_nics_same_host_insert BEFORE INSERT ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND"
    "  (SELECT pfs.host_id FROM vfs JOIN pfs ON pfs.id = vfs.pf_id"
    "   WHERE vfs.id = NEW.vf_id) IS NOT"
    "  (SELECT host_id FROM vms WHERE id = NEW.vm_id)"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not on the VM''s host'); END;"
    "CREATE TRIGGER vm_nics_same_host_update BEFORE UPDATE ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND"
    "  (SELECT pfs.host_id FROM vfs JOIN pfs ON pfs.id = vfs.pf_id"
    "   WHERE vfs.id = NEW.vf_id) IS NOT"
    "  (SELECT host_id FROM vms WHERE id = NEW.vm_id)"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not on the VM''s host'); END;"
    "CREATE TRIGGER vm_nics_vf_free_insert BEFORE INSERT ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND"
    "  (SELECT state FROM vfs WHERE id = NEW.vf_id) IS NOT 'free'"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not free'); END;"
    "CREATE TRIGGER vm_nics_vf_free_update BEFORE UPDATE OF vf_id ON vm_nics"
    " WHEN NEW.vf_id IS NOT NULL AND NEW.vf_id IS NOT OLD.vf_id AND"
    "  (SELECT state FROM vfs WHERE id = NEW.vf_id) IS NOT 'free'"
    " BEGIN SELECT RAISE(ABORT, 'vm_nic VF is not free'); END;"
    "CREATE TRIGGER vms_host_move BEFORE UPDATE OF host_id ON vms"
    " WHEN EXISTS (SELECT 1 FROM vm_nics JOIN vfs ON vfs.id = vm_nics.vf_id"
    "  JOIN pfs ON pfs.id = vfs.pf_id WHERE vm_nics.vm_id = NEW.id"
    "  AND pfs.host_id IS NOT NEW.host_id)"
    " BEGIN SELECT RAISE(ABORT, 'VM holds VFs on another host'); END;"
    "CREATE TRIGGER vms_memory_insert BEFORE INSERT ON vms"
    " WHEN NEW.host_id IS NOT NULL AND NEW.memory_mib +"
    "  (SELECT coalesce(sum(memory_mib), 0) FROM vms"
    "   WHERE host_id = NEW.host_id) >"
    "  (SELECT mem_total_kb / 1024 FROM hosts WHERE id = NEW.host_id)"
    " BEGIN SELECT RAISE(ABORT, 'VM memory exceeds the host''s memory'); END;"
    "CREATE TRIGGER vms_memory_update BEFORE UPDATE OF host_id, memory_mib"
    " ON vms"
    " WHEN NEW.host_id IS NOT NULL AND NEW.memory_mib +"
    "  (SELECT coalesce(sum(memory_mib), 0) FROM vms"
    "   WHERE host_id = NEW.host_id AND id <> NEW.id) >"
    "  (SELECT mem_total_kb / 1024 FROM hosts WHERE id = NEW.host_id)"
    " BEGIN SELECT RAISE(ABORT, 'VM memory exceeds the host''s memory'); END;";

/* Version 7: two indexes fewer to keep up on every reservation and
 * placement. A reservation moves a VF from free to reserved and a
 * placement to assigned: each move rewrote a page of vfs_state twice
 * (the entry leaves one state's range and joins another's), and each VM
 * state change a page of vms_state, some 3 of a reservation's 15 WAL
 * pages. The only reader of either was the summary, whose counts by
 * state now take one walk of vfs_pf_state (every VF, as counting the free
 * ones through vfs_state did) and one of vms. */
static const char s_v7[] = "DROP INDEX vfs_state;"
                           "DROP INDEX vms_state;";

const db_migration_t db_migrations[] = {
    {1, s_v1}, {2, s_v2}, {3, s_v3}, {4, s_v4}, {5, s_v5}, {6, s_v6}, {7, s_v7},
};
const int db_migration_count =
    (int)(sizeof(db_migrations) / sizeof(db_migrations[0]));
