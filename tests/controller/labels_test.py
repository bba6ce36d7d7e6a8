#!/usr/bin/env python3
"""labels_test.py - host labels select hosts, end to end, with real
processes only: a real vfleet-controller, one real vfleet-agent on a tree
from tests/fixtures/mktree.py (vf64: ens1f0 with 64 VFs) with the simulated
kernel (--kernel sim), and the real vfleetctl. The agent talks CURVE with a
host key from `vfleetctl keys` (e2e.Cluster).

The policy's only host group selects hosts by `labels: {role: sriov}` and
wants 2 VFs on ens1f0:
- before labelling, the host is unmanaged: its desired state has no PF
  items (policy status: no items applied) and the kernel keeps its 64 VFs;
- `vfleetctl host label HOST role=sriov`: the host gets its 2 VFs in the
  simulated kernel, and `vfleetctl host HOST` shows the label;
- `vfleetctl host label HOST --remove role`: unmanaged again (its desired
  state has no PF items), and the VFs are left as they are.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import CTL, check, fail, wait_until  # noqa: E402
BIN = os.environ["VFLEET_BINARY_DIR"]
WORK = os.path.join(BIN, "tests", "controller", "labels")
e2e.WORK = WORK
HOST = "esx-l1"
PF = "0000:03:00.0"  # ens1f0 of the vf64 tree
HEARTBEAT = "300ms"
POLICY = """version: 1
networks:
  - name: prod
    vlan: 10
host_groups:
  - name: sriov
    labels: {role: sriov}
    pfs:
      - ifname: ens1f0
        vfs: 2
        networks: [prod]
"""


def ctl(admin, *args, check_rc=True):
    r = subprocess.run([CTL, "-c", admin] + list(args), capture_output=True,
                       text=True, timeout=60)
    if check_rc and r.returncode != 0:
        fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def ctl_json(admin, *args):
    return json.loads(ctl(admin, "-o", "json", *args).stdout)


def numvfs():
    path = os.path.join(WORK, HOST, "sys", "bus", "pci", "devices", PF,
                        "sriov_numvfs")
    with open(path) as f:
        return int(f.read())


def host_status(admin):
    rows = ctl_json(admin, "policy", "status")["hosts"]
    return rows[0] if rows else None


def settled(admin):
    """The host's status once it applied its desired revision."""
    row = host_status(admin)
    if row and row["state"] == "ok" and \
            row["applied_revision"] == row["desired_revision"]:
        return row
    return None


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "controller"))
    policy = os.path.join(WORK, "policy.yaml")
    with open(policy, "w") as f:
        f.write(POLICY)
    cluster = e2e.Cluster({HOST: "vf64"}, HEARTBEAT)
    admin = cluster.admin
    try:
        cluster.start_controller()
        cluster.start_agent(HOST)
        wait_until("the host is ready", lambda: [
            h for h in ctl_json(admin, "hosts")["hosts"]
            if h["state"] == "ready"])
        ctl(admin, "policy", "apply", policy)
        row = wait_until("the host confirms the policy",
                         lambda: settled(admin))
        check(row["ok_items"] + row["failed_items"] == 0,
              "before labelling, the desired state has no items (%s)" % row)
        time.sleep(1)
        check(numvfs() == 64, "before labelling, the kernel keeps 64 VFs")

        r = ctl_json(admin, "host", "label", HOST, "role=sriov")
        check(r["labels"] == {"role": "sriov"} and
              r["desired_changed"] is True,
              "host label role=sriov: a new desired state (%s)" % r)
        wait_until("2 VFs in the simulated kernel", lambda: numvfs() == 2)
        check(numvfs() == 2, "labelled, the host gets its 2 VFs")
        row = wait_until("the host applies it", lambda: settled(admin))
        check(row["ok_items"] > 0, "labelled, the applied state has items")
        shown = ctl(admin, "host", HOST).stdout
        check("labels           role=sriov" in shown,
              "vfleetctl host shows the label")

        before = settled(admin)["desired_revision"]
        r = ctl_json(admin, "host", "label", HOST, "--remove", "role")
        check(r["labels"] == {} and r["desired_changed"] is True,
              "--remove role: a new desired state (%s)" % r)
        row = wait_until("the host applies the unmanaged state", lambda: (
            settled(admin) if settled(admin) and
            settled(admin)["desired_revision"] > before else None))
        check(row["ok_items"] + row["failed_items"] == 0,
              "unlabelled, the desired state has no items again (%s)" % row)
        time.sleep(1)
        check(numvfs() == 2, "unlabelled, the VFs are left as they are")
        events = ctl_json(admin, "events")["events"]
        kinds = [e["message"] for e in events if e["kind"] == "host-labels"]
        check(kinds == ["+role=sriov", "-role"],
              "host-labels events record each change (%s)" % kinds)
    finally:
        cluster.stop()
    print("all ok")


if __name__ == "__main__":
    main()
