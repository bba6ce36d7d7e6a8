#!/usr/bin/env python3
"""placement_test.py - VM placement end to end, with real processes only.

A real vfleet-controller and three real vfleet-agents on trees generated
by tests/fixtures/mktree.py with the simulated kernel (--kernel sim), the
real vfleetctl, and deploy/examples/policy.yaml (esx-e1 and esx-e2: 2 VFs
each on ens1f0 carrying vlan1 and trunk; spread; anti-affinity web-*):

- `vm create --wait` reserves, the agent applies the VM's MAC and VLAN to
  exactly its VF, and the VM is placed; spread with the name tie-break
  puts web-1 on esx-e1, anti-affinity puts web-2 on esx-e2, and web-3 is
  refused with the reason for each host;
- a VLAN change in the policy reaches exactly the VFs VMs hold on that
  network, nothing else;
- `vm migrate` is refused naming the VF that pins the VM; `vm show`,
  `vms`; `vm power`;
- cordon, drain (lists the VMs to power off first), uncordon;
- `vm delete` resets the VF to the clean default and frees it;
- a host whose agent dies keeps its VMs, shown as host-down, and is not
  placed on ("down since");
- kill -9 of the controller: every VM is still there after the restart,
  and the rebuilt index never hands out a held VF again.

Modules exercised: controller/vm_admin.c, vm_index.c, vm_request.c (the
vm.create body), vm_read.c and vm_json.c (vms, vm.show, vm.migrate),
admin_page.c (the vms page), placement.c, db/db_vm.c, and the agent's
simulated kernel.
"""

import json
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check, fail, wait_until  # noqa: E402

POLICY = os.path.join(e2e.SRC, "deploy", "examples", "policy.yaml")
WORK = os.path.join(e2e.BIN, "tests", "controller", "placement")
e2e.WORK = WORK
PF = "0000:03:00.0"
PF_IFNAME = "ens1f0"
HOSTS = {"esx-e1": "vf64", "esx-e2": "vf64", "esx-e3": "ixgbe-dualport"}
HEARTBEAT = "300ms"


def sim_vf(host, index):
    """(mac, vlan) of a VF in the simulated kernel; the kernel's defaults
    for a VF the state does not list."""
    vf = e2e.sim_vfs(host, PF_IFNAME).get(index)
    return (vf[0], vf[1]) if vf else ("00:00:00:00:00:00", "0")


def all_ok(c):
    rows = c.json("policy", "status")["hosts"]
    return len(rows) == len(HOSTS) and all(
        r["state"] == "ok" and r["applied_revision"] == r["desired_revision"]
        for r in rows)


def vm(c, name):
    return c.json("vm", "show", name)


def create(c, name, *args, check_rc=True):
    return c.ctl("-o", "json", "vm", "create", name, *args,
                 check_rc=check_rc)


def check_place(c):
    wait_until("three hosts ready", lambda: len(
        [h for h in c.json("hosts")["hosts"] if h["state"] == "ready"]) == 3)
    c.ctl("policy", "apply", POLICY, "--message", "placement test")
    wait_until("every host confirms the policy", lambda: all_ok(c))
    before = e2e.sim_state("esx-e2")
    r = create(c, "web-1", "--memory", "4G", "--vcpus", "2", "--nic",
               "vlan1", "--wait")
    body = json.loads(r.stdout)
    check(body["state"] == "placed" and body["host"] == "esx-e1",
          "web-1 is placed on esx-e1 (spread, tie broken by name): %s/%s" %
          (body["state"], body["host"]))
    nic = body["nics"][0]
    check(nic["pf"] == PF and nic["vf"] == 0 and nic["vlan"] == 1 and
          nic["mac"].startswith("02:76:66:00:"),
          "web-1's NIC is ens1f0 VF 0 on VLAN 1 with a pool MAC (%s)" % nic)
    check(sim_vf("esx-e1", 0) == (nic["mac"], "1"),
          "the simulated kernel of esx-e1 has VF 0 with web-1's MAC and "
          "VLAN 1")
    check(sim_vf("esx-e1", 1) == ("00:00:00:00:00:00", "0"),
          "esx-e1 VF 1 keeps the clean default")
    check(e2e.sim_state("esx-e2") == before, "esx-e2 was not touched")
    return nic["mac"]


def check_anti_affinity(c):
    r = create(c, "web-2", "--memory", "4G", "--vcpus", "2", "--nic",
               "trunk", "--wait")
    body = json.loads(r.stdout)
    check(body["host"] == "esx-e2" and body["state"] == "placed",
          "web-2 goes to esx-e2: esx-e1 runs web-1 of group web")
    check(sim_vf("esx-e2", 0)[1] == "0" and
          sim_vf("esx-e2", 0)[0] == body["nics"][0]["mac"],
          "a trunk NIC's VF has the VM's MAC and no VLAN")
    r = create(c, "web-3", "--memory", "4G", "--vcpus", "2", "--nic",
               "vlan1", check_rc=False)
    text = r.stdout + r.stderr
    check(r.returncode == 1 and "no host fits vm web-3" in text and
          "runs web-1 of anti-affinity group web" in text and
          "runs web-2 of anti-affinity group web" in text,
          "web-3 is refused, each host named with its anti-affinity "
          "reason:\n%s" % text.strip())
    check(c.ctl("vm", "show", "web-3", check_rc=False).returncode != 0,
          "a refused VM is not stored")


def check_vlan_change(c, mac):
    """A new VLAN for vlan1 changes the one VF a VM holds on vlan1."""
    with open(POLICY) as f:
        text = f.read()
    path = os.path.join(WORK, "vlan5.yaml")
    with open(path, "w") as f:
        f.write(text.replace("    vlan: 1\n", "    vlan: 5\n", 1))
    states = {h: e2e.sim_state(h) for h in ("esx-e2", "esx-e3")}
    e2_vf = sim_vf("esx-e2", 0)
    c.ctl("policy", "apply", path, "--message", "vlan1 is VLAN 5 now")
    wait_until("every host confirms the VLAN change", lambda: all_ok(c))
    check(sim_vf("esx-e1", 0) == (mac, "5"),
          "web-1's VF on esx-e1 moved to VLAN 5 with its MAC kept")
    check(sim_vf("esx-e1", 1) == ("00:00:00:00:00:00", "0"),
          "the free VF of esx-e1 did not change")
    check(sim_vf("esx-e2", 0) == e2_vf and
          e2e.sim_state("esx-e3") == states["esx-e3"],
          "esx-e2 (a trunk VM) and esx-e3 did not change")
    check(vm(c, "web-1")["nics"][0]["vlan"] == 5,
          "vm show reports VLAN 5 for web-1")
    c.ctl("policy", "apply", POLICY, "--message", "back to VLAN 1")
    wait_until("every host confirms VLAN 1 again", lambda: all_ok(c))
    check(sim_vf("esx-e1", 0) == (mac, "1"), "web-1's VF is on VLAN 1 again")


def check_pinning(c):
    r = c.ctl("vm", "migrate", "web-1", "esx-e2", check_rc=False)
    text = r.stdout + r.stderr
    check(r.returncode != 0 and
          "web-1 holds 1 SR-IOV VF on esx-e1 (ens1f0 VF 0)" in text and
          "live migration is not possible" in text,
          "vm migrate is refused naming the VF: %s" % text.strip())
    show = vm(c, "web-1")
    check("no live migration" in show["pinned"] and
          "no HA restart" in show["pinned"],
          "vm show says why the VM is pinned")
    names = [v["name"] for v in c.json("vms")["vms"]]
    check(names == ["web-1", "web-2"], "vms lists web-1 and web-2")
    c.ctl("vm", "power", "web-1", "on")
    check(vm(c, "web-1")["power"] == "on", "vm power records on")


def check_cordon_drain(c):
    r = c.json("host", "drain", "esx-e1")
    check(r["cordoned"] is True and r["power_off_first"] == ["web-1"] and
          [v["name"] for v in r["vms"]] == ["web-1"],
          "drain cordons esx-e1 and lists web-1 to power off first")
    r = create(c, "db-1", "--memory", "2G", "--vcpus", "1", "--nic",
               "vlan1", "--host", "esx-e1", check_rc=False)
    check(r.returncode == 1 and "esx-e1: cordoned" in r.stdout + r.stderr,
          "a VM pinned to a cordoned host is refused: cordoned")
    c.ctl("host", "uncordon", "esx-e1")
    r = create(c, "db-1", "--memory", "2G", "--vcpus", "1", "--nic",
               "vlan1", "--host", "esx-e1", "--wait")
    check(json.loads(r.stdout)["host"] == "esx-e1",
          "after uncordon db-1 is placed on esx-e1 as pinned")


def check_delete(c):
    c.ctl("vm", "delete", "db-1")
    wait_until("esx-e1 VF 1 is reset to the clean default",
               lambda: sim_vf("esx-e1", 1) == ("00:00:00:00:00:00", "0"))
    check(True, "vm delete resets the VF to the clean default")
    check(c.ctl("vm", "show", "db-1", check_rc=False).returncode != 0,
          "the deleted VM is gone")


def check_host_down(c):
    c.agents["esx-e2"].kill()
    c.agents["esx-e2"].wait()
    wait_until("web-2 is shown host-down",
               lambda: vm(c, "web-2")["state"] == "host-down", 20)
    check(vm(c, "web-2")["host"] == "esx-e2",
          "web-2 stays assigned to esx-e2 while it is down")
    r = create(c, "db-2", "--memory", "2G", "--vcpus", "1", "--nic",
               "trunk", "--host", "esx-e2", check_rc=False)
    check(r.returncode == 1 and "esx-e2: down since" in r.stdout + r.stderr,
          "nothing is placed on a down host: %s" %
          (r.stdout + r.stderr).strip())
    c.start_agent("esx-e2")
    wait_until("web-2 is placed again once esx-e2 is back",
               lambda: vm(c, "web-2")["state"] == "placed", 20)


def check_controller_kill9(c):
    c.controller.kill()
    c.controller.wait()
    c.start_controller()
    names = [v["name"] for v in c.json("vms")["vms"]]
    check(names == ["web-1", "web-2"],
          "after kill -9 and restart the VMs are all there")
    # esx-e1 has one free VF left, esx-e2 one: two more fit, a third not.
    for name in ("app-1", "app-2"):
        create(c, name, "--memory", "1G", "--vcpus", "1", "--nic", "vlan1")
    r = create(c, "app-3", "--memory", "1G", "--vcpus", "1", "--nic",
               "vlan1", check_rc=False)
    check(r.returncode == 1 and "no free isolated VF" in r.stdout + r.stderr,
          "the rebuilt index knows every held VF: app-3 does not fit")
    vfs = {}
    for v in c.json("vms")["vms"]:
        for n in v["nics"]:
            key = (v["host"], n["pf"], n["vf"])
            if key in vfs:
                fail("VF %s held by %s and %s" % (key, vfs[key], v["name"]))
            vfs[key] = v["name"]
    check(len(vfs) == 4, "four VMs hold four distinct VFs")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    c = e2e.Cluster(HOSTS, HEARTBEAT)
    try:
        c.start_controller()
        for host in HOSTS:
            c.start_agent(host)
        mac = check_place(c)
        check_anti_affinity(c)
        check_vlan_change(c, mac)
        check_pinning(c)
        check_cordon_drain(c)
        check_delete(c)
        check_host_down(c)
        check_controller_kill9(c)
    finally:
        c.stop()
    print("placement_test: all checks passed")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
