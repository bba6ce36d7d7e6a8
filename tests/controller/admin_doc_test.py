#!/usr/bin/env python3
"""admin_doc_test.py - the VM and placement half of controller/ADMIN.md
and vfleetctl(8), checked statement by statement as an outside tester
reads them, against the real binaries only.

A real vfleet-controller with CURVE on the agents' socket, two real
vfleet-agents (--kernel sim) on generated trees (esx-e1 and esx-e2: two
VFs each on ens1f0, deploy/examples/policy.yaml), raw admin REQUESTs from
vfleet-test-peer --request (for what vfleetctl never sends: bad
parameters, bad bodies), and the real vfleetctl for its exit codes, its
-o json shapes and its --help. Each check quotes what the document
promises: parameters, defaults and bounds (vm.create's wait and timeout,
plan's count, paging), every documented error status with the texts the
document quotes, the VM object's field names, types and null cases, the
shapes of host.cordon, host.drain and plan, vm apply's idempotence and
the exit statuses of the man page.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check, expect, ok, request, wait_until  # noqa: E402

POLICY = os.path.join(e2e.SRC, "deploy", "examples", "policy.yaml")
WORK = os.path.join(e2e.BIN, "tests", "controller", "admin_doc")
e2e.WORK = WORK
HOSTS = {"esx-e1": "vf64", "esx-e2": "vf64"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PINNED_TAIL = "passthrough VMs are pinned; live migration is not possible"

# The VM object of ADMIN.md "VMs": every field and its JSON type.
VM_FIELDS = {"name": str, "state": str, "host": (str, type(None)),
             "memory_mib": int, "vcpus": int, "power": str, "group": str,
             "numa": str, "separate_pfs": bool, "pin": str, "error": str,
             "created_at": (str, type(None)), "placed_at": (str, type(None)),
             "hugepages": str, "nics": list, "pinned": str}
NIC_FIELDS = {"index": int, "network": str, "mac": str,
              "pf": (str, type(None)), "pf_ifname": (str, type(None)),
              "vf": (int, type(None)), "vf_pci": (str, type(None)),
              "vlan": (int, type(None)), "trunk": bool}


def vm_body(name, memory=1024, vcpus=1, nics=("vlan1",), **extra):
    doc = {"name": name, "memory_mib": memory, "vcpus": vcpus,
           "nics": [{"network": n} for n in nics]}
    doc.update(extra)
    return doc


def holdings(c):
    """What the VMs hold: name, host and each NIC's VF and MAC (a state
    going from reserved to placed meanwhile is no change)."""
    return [(v["name"], v["host"],
             [(n["pf"], n["vf"], n["mac"]) for n in v["nics"]])
            for v in request(c, "vms").body["vms"]]


def check_vm_object(vm, what):
    """Every documented field with its type, and nothing else."""
    problems = []
    if set(vm) != set(VM_FIELDS):
        problems.append("fields %s" % sorted(set(vm) ^ set(VM_FIELDS)))
    for key, kind in VM_FIELDS.items():
        if key in vm and (not isinstance(vm[key], kind) or
                          (kind is int and isinstance(vm[key], bool))):
            problems.append("%s is %r" % (key, vm[key]))
    for nic in vm.get("nics", []):
        if set(nic) != set(NIC_FIELDS):
            problems.append("nic fields %s" % sorted(set(nic) ^
                                                     set(NIC_FIELDS)))
        for key, kind in NIC_FIELDS.items():
            if key in nic and not isinstance(nic[key], kind):
                problems.append("nic %s is %r" % (key, nic[key]))
    for key in ("created_at", "placed_at"):
        if isinstance(vm.get(key), str) and not TIME.match(vm[key]):
            problems.append("%s %r is not RFC 3339 with ms" % (key, vm[key]))
    check(not problems, "%s: the VM object has the documented fields and "
          "types %s" % (what, problems or ""))


def all_ok(c):
    rows = c.json("policy", "status")["hosts"]
    return len(rows) == len(HOSTS) and all(
        r["state"] == "ok" and r["applied_revision"] == r["desired_revision"]
        for r in rows)


def check_before_policy(c):
    a = expect(c, "vm.create", {}, vm_body("early-1"), "CONFLICT",
               "=no policy has been applied",
               "no policy yet: CONFLICT with the request error's text")
    check(a.body is None, "a request error's CONFLICT has an empty body")


def check_create_invalid(c):
    """ADMIN.md vm.create: INVALID for a bad body or parameter, the text
    naming the field; nothing stored."""
    ok_body = vm_body("bad-1")
    cases = [
        ({}, None, "body", "no body"),
        ({}, "[1]", "body", "a body that is not an object"),
        ({}, vm_body("bad-1", colour="red"), "colour", "an unknown key"),
        ({}, {"memory_mib": 1, "vcpus": 1, "nics": [{"network": "vlan1"}]},
         "name", "no name"),
        ({}, vm_body("bad-1", memory=0), "memory_mib", "memory_mib 0"),
        ({}, vm_body("bad-1", vcpus=0), "vcpus", "vcpus 0"),
        ({}, vm_body("bad-1", nics=()), "nics", "no NICs"),
        ({}, vm_body("bad-1", nics=("vlan1",) * 9), "nics", "9 NICs"),
        ({}, vm_body("bad-1", numa="sometimes"), "numa", "numa sometimes"),
        ({}, vm_body("bad-1", separate_pfs="yes"), "separate_pfs",
         "separate_pfs not a boolean"),
        ({"wait": "maybe"}, ok_body, "wait", "wait maybe"),
        ({"wait": "true", "timeout": "0"}, ok_body, "timeout", "timeout 0"),
        ({"wait": "true", "timeout": "3601"}, ok_body, "timeout",
         "timeout above an hour"),
        ({"colour": "red"}, ok_body, "colour", "an unknown parameter"),
    ]
    for params, body, field, what in cases:
        expect(c, "vm.create", params, body, "INVALID", field,
               "INVALID naming %s for %s" % (field, what))
    expect(c, "vm.create", {}, vm_body("bad-1", nics=("vlan9",)), "CONFLICT",
           "=network vlan9 is not defined by the policy",
           "a network the policy lacks: CONFLICT, the text ADMIN.md quotes")
    names = [v["name"] for v in request(c, "vms").body["vms"]]
    check(names == [], "nothing is stored by a refused vm.create")


def check_batch(c):
    """ADMIN.md vm.create.batch: every VM read before any is placed, then
    each placed on its own, results in request order; undone afterwards
    so the checks that follow see the cluster as before."""
    cases = [
        ({}, None, "=body: a JSON object {\"vms\": [...]} is needed",
         "no body"),
        ({}, {"vms": []}, "=body: \"vms\" must list 1 to 500 VMs",
         "an empty list"),
        ({}, {"vms": [vm_body("b-%d" % i) for i in range(501)]},
         "=body: \"vms\" must list 1 to 500 VMs", "501 VMs"),
        ({}, {"vms": [vm_body("b-1")], "count": 2},
         "=body: unknown key \"count\"", "a key other than vms"),
        ({}, {"vms": [vm_body("b-1"), vm_body("b-2", memory=0)]},
         "=body: vms[1]: \"memory_mib\" must be a whole number from 1 to "
         "1099511627776", "the quoted text for a bad second VM"),
        ({"wait": "true"}, {"vms": [vm_body("b-1")]},
         "=verb \"vm.create.batch\" has no parameter \"wait\"",
         "a parameter: it takes none"),
    ]
    for params, body, text, what in cases:
        expect(c, "vm.create.batch", params, body, "INVALID", text,
               "INVALID for %s" % what)
    check(request(c, "vms").body["vms"] == [],
          "nothing is stored by a batch that does not read")
    a = request(c, "vm.create.batch", {}, {"vms": [
        vm_body("b-1"), vm_body("b-1"), vm_body("b-big", memory=1 << 30),
        vm_body("b-2", nics=("vlan9",))]})
    body = a.body or {}
    results = body.get("results", [])
    check(a.status == "OK" and set(body) == {"created", "refused", "results"}
          and body["created"] == 1 and body["refused"] == 3 and
          [(r["name"], r["status"]) for r in results] ==
          [("b-1", "OK"), ("b-1", "CONFLICT"), ("b-big", "CONFLICT"),
           ("b-2", "CONFLICT")],
          "vm.create.batch: one result per VM in request order, counted "
          "(%s)" % a)
    if len(results) == 4:
        check_vm_object(results[0]["vm"], "vm.create.batch")
        check(results[0]["vm"]["state"] == "reserved" and
              set(results[0]) == {"name", "status", "vm"},
              "an OK result: name, status and the VM, reserved")
        check(results[1]["error"] == "vm b-1 exists" and
              set(results[1]) == {"name", "status", "error"},
              "a VM named twice: the second exists, no detail per host")
        check(results[2]["error"].startswith("no host fits vm b-big: ") and
              set(results[2]) == {"name", "status", "error", "reasons",
                                  "closest"},
              "nothing fits: the error with reasons and closest (%s)" %
              results[2])
        check(results[3]["error"] ==
              "network vlan9 is not defined by the policy",
              "a network the policy lacks: vm.create's text")
    names = [v["name"] for v in request(c, "vms").body["vms"]]
    check(names == ["b-1"], "only the VM that fitted is stored (%s)" % names)
    wait_until("b-1 is placed", lambda: request(
        c, "vm.show", {"name": "b-1"}).body["state"] == "placed")
    request(c, "vm.delete", {"name": "b-1"})


def check_create(c):
    a = request(c, "vm.create", {}, vm_body("web-1", memory=4096, vcpus=2))
    vm = a.body
    check(a.status == "OK" and vm["state"] == "reserved",
          "vm.create without wait answers once reserved (%s)" % a)
    check_vm_object(vm, "vm.create")
    nic = vm["nics"][0]
    check(vm["host"] in HOSTS and vm["placed_at"] is None and
          TIME.match(vm["created_at"]) and vm["power"] == "unknown" and
          vm["group"] == "" and vm["pin"] == "" and vm["numa"] == "none" and
          vm["separate_pfs"] is False and vm["error"] == "" and
          vm["hugepages"] == "none",
          "the defaults: power unknown, group/pin \"\", numa none, "
          "placed_at null, hugepages none (%s)" % vm)
    check(nic["index"] == 0 and nic["network"] == "vlan1" and
          nic["vlan"] == 1 and nic["trunk"] is False and
          nic["pf"] == "0000:03:00.0" and nic["pf_ifname"] == "ens1f0" and
          nic["mac"].startswith("02:76:66:00:"),
          "the NIC: its VF, VLAN 1 from the policy, a pool MAC (%s)" % nic)
    expect(c, "vm.create", {}, vm_body("web-1"), "CONFLICT",
           "=vm web-1 exists", "a second web-1: CONFLICT `vm web-1 exists`")
    wait_until("web-1 is placed",
               lambda: request(c, "vm.show", {"name": "web-1"})
               .body["state"] == "placed")
    vm = request(c, "vm.show", {"name": "web-1"}).body
    check(TIME.match(vm["placed_at"] or ""),
          "a placed VM has placed_at (%s)" % vm["placed_at"])
    a = request(c, "vm.create", {"wait": "true", "timeout": "10"},
                vm_body("db-1", memory=2048, nics=("trunk", "vlan1"),
                        group="db", numa="preferred"))
    vm = a.body
    check(a.status == "OK" and vm["state"] == "placed",
          "vm.create with wait answers once placed (%s)" % a)
    check_vm_object(vm, "vm.create wait")
    check(vm["group"] == "db" and vm["numa"] == "preferred" and
          vm["nics"][0]["trunk"] is True and vm["nics"][0]["vlan"] == 0 and
          [n["index"] for n in vm["nics"]] == [0, 1],
          "group and numa kept; a trunk NIC has vlan 0 and trunk true; "
          "NICs in request order")
    return vm


def check_wait_timeout(c):
    """vm.create wait: "or still reserved when timeout passed first";
    vfleetctl vm create --wait exits 4 when the VM was not placed in time.
    esx-e1's agent is stopped, so nothing confirms the VF settings."""
    agent = c.agents["esx-e1"]
    agent.send_signal(signal.SIGSTOP)
    try:
        r = c.ctl("-o", "json", "vm", "create", "slow-1", "--memory", "1G",
                  "--vcpus", "1", "--nic", "vlan1", "--host", "esx-e1",
                  "--wait", "--timeout", "1s", check_rc=False)
    finally:
        agent.send_signal(signal.SIGCONT)
    vm = json.loads(r.stdout or "{}")
    check(r.returncode == 4 and vm.get("state") in ("reserved", "host-down")
          and vm.get("pin") == "esx-e1" and "was not placed" in r.stderr,
          "vm create --wait --timeout 1s, host not confirming: the VM as it "
          "stands, exit 4 (%d, %s)" % (r.returncode, vm.get("state")))
    wait_until("slow-1 is placed once its agent runs again",
               lambda: request(c, "vm.show", {"name": "slow-1"})
               .body["state"] == "placed", 20)
    r = c.ctl("vm", "show", "slow-1")
    check("\npinned: passthrough VMs are pinned" in r.stdout,
          "vfleetctl vm show ends with the pinned: line")
    c.ctl("vm", "delete", "slow-1")


def check_refusal(c):
    a = expect(c, "vm.create", {}, vm_body("big-1", memory=1 << 30),
               "CONFLICT", "no host fits vm big-1: ",
               "nothing fits: CONFLICT `no host fits vm NAME: ...`")
    body = a.body or {}
    rules = {"pin", "down", "cordoned", "iommu", "anti-affinity", "memory",
             "nics"}
    reasons = body.get("reasons", [])
    closest = body.get("closest", [])
    check(set(body) == {"reasons", "closest"} and reasons and
          all(set(r) == {"rule", "hosts", "example"} and r["rule"] in rules
              and isinstance(r["hosts"], int) for r in reasons) and
          0 < len(closest) <= 3 and
          all(set(h) == {"host", "rule", "reason"} and h["rule"] in rules
              for h in closest),
          "the refusal body: reasons per rule and at most 3 closest (%s)" %
          body)
    check(re.search(r"esx-e\d: memory", a.error),
          "the text names the closest hosts as HOST: REASON (%s)" % a.error)


def check_show_and_list(c):
    expect(c, "vm.show", {}, None, "INVALID", "name",
           "vm.show without name is INVALID")
    expect(c, "vm.show", {"name": "nope"}, None, "NOT_FOUND", "nope",
           "vm.show of an unknown VM is NOT_FOUND")
    expect(c, "vm.show", {"name": "web-1", "colour": "red"}, None,
           "INVALID", "colour", "vm.show refuses an unknown parameter")
    a = request(c, "vms")
    check(a.status == "OK" and set(a.body) == {"vms", "next"} and
          a.body["next"] is None and
          [v["name"] for v in a.body["vms"]] == ["db-1", "web-1"],
          "vms: {vms, next}, by name, next null on the last page")
    for vm in a.body["vms"]:
        check_vm_object(vm, "vms row %s" % vm["name"])
    a = request(c, "vms", {"limit": "1"})
    check(a.body["next"] == "db-1" and len(a.body["vms"]) == 1,
          "vms limit 1: the cursor is the last VM's name (%s)" %
          a.body["next"])
    a = request(c, "vms", {"limit": "1", "after": "db-1"})
    check([v["name"] for v in a.body["vms"]] == ["web-1"],
          "vms after the cursor gives the next page")
    for params, field in (({"after": "!bad"}, "cursor"),
                          ({"limit": "0"}, "limit"),
                          ({"limit": "10001"}, "limit"),
                          ({"state": "running"}, "state"),
                          ({"colour": "red"}, "colour")):
        expect(c, "vms", params, None, "INVALID", field,
               "vms %s is INVALID" % params)
    expect(c, "vms", {"host": "esx-e9"}, None, "NOT_FOUND", "esx-e9",
           "vms of an unknown host is NOT_FOUND")
    placed = request(c, "vms", {"state": "placed"}).body["vms"]
    check(sorted(v["name"] for v in placed) == ["db-1", "web-1"],
          "vms state placed lists the placed VMs")
    host = request(c, "vm.show", {"name": "web-1"}).body["host"]
    on = request(c, "vms", {"host": host}).body["vms"]
    check("web-1" in [v["name"] for v in on] and
          all(v["host"] == host for v in on),
          "vms host lists only the VMs on that host")


def check_migrate(c, db1):
    web1 = request(c, "vm.show", {"name": "web-1"}).body
    nic = web1["nics"][0]
    expect(c, "vm.migrate", {"name": "web-1", "host": "esx-e2"}, None,
           "CONFLICT", "=web-1 holds 1 SR-IOV VF on %s (ens1f0 VF %d): %s" %
           (web1["host"], nic["vf"], PINNED_TAIL),
           "one VF: the text ADMIN.md quotes")
    vfs = ", ".join("ens1f0 VF %d" % n["vf"] for n in db1["nics"])
    expect(c, "vm.migrate", {"name": "db-1", "host": "esx-e1"}, None,
           "CONFLICT", "=db-1 holds 2 SR-IOV VFs on %s (%s): %s" %
           (db1["host"], vfs, PINNED_TAIL), "two VFs: the text ADMIN.md quotes")
    expect(c, "vm.migrate", {"name": "nope", "host": "esx-e1"}, None,
           "NOT_FOUND", "nope", "vm.migrate of an unknown VM is NOT_FOUND")
    expect(c, "vm.migrate", {"name": "web-1"}, None, "INVALID", "host",
           "vm.migrate without host is INVALID")
    r = c.ctl("vm", "migrate", "web-1", "esx-e2", check_rc=False)
    check(r.returncode == 1 and PINNED_TAIL in r.stderr,
          "vfleetctl vm migrate: refused, exit 1 (%d)" % r.returncode)


def check_power(c):
    expect(c, "vm.power", {"name": "web-1", "state": "standby"}, None,
           "INVALID", "standby", "vm.power state standby is INVALID")
    expect(c, "vm.power", {"name": "web-1"}, None, "INVALID",
           '=verb "vm.power" needs parameter "state"',
           "vm.power without state is INVALID, naming the parameter")
    expect(c, "vm.power", {"name": "nope", "state": "on"}, None,
           "NOT_FOUND", "nope", "vm.power of an unknown VM is NOT_FOUND")
    a = request(c, "vm.power", {"name": "web-1", "state": "on"})
    check(a.status == "OK" and a.body["power"] == "on",
          "vm.power on answers the VM object with power on")
    check_vm_object(a.body, "vm.power")


def check_cordon_drain(c):
    a = request(c, "host.cordon", {"name": "esx-e2"})
    check(a.status == "OK" and a.body == {"host": "esx-e2", "cordoned": True},
          "host.cordon answers {host, cordoned: true} (%s)" % a)
    a = request(c, "host.uncordon", {"name": "esx-e2"})
    check(a.body == {"host": "esx-e2", "cordoned": False},
          "host.uncordon answers cordoned false (%s)" % a)
    for verb in ("host.cordon", "host.uncordon", "host.drain"):
        expect(c, verb, {"name": "esx-e9"}, None, "NOT_FOUND", "esx-e9",
               "%s of an unknown host is NOT_FOUND" % verb)
        expect(c, verb, {}, None, "INVALID", "name",
               "%s without name is INVALID" % verb)
    host = request(c, "vm.show", {"name": "web-1"}).body["host"]
    a = request(c, "host.drain", {"name": host})
    b = a.body or {}
    rows = {v["name"]: v for v in b.get("vms", [])}
    check(a.status == "OK" and set(b) == {"host", "cordoned", "vms",
                                          "power_off_first"} and
          b["cordoned"] is True and "web-1" in rows and
          set(rows["web-1"]) == {"name", "power", "state"} and
          "web-1" in b["power_off_first"],
          "host.drain: cordons, lists its VMs with power and state, web-1 "
          "(on) to power off first (%s)" % b)
    r = c.ctl("-o", "json", "host", "uncordon", host)
    check(json.loads(r.stdout) == {"host": host, "cordoned": False},
          "vfleetctl -o json host uncordon prints the reply")


def check_evacuate_refusals(c):
    expect(c, "vm.evacuate", {"name": "web-1"}, None, "CONFLICT",
           "=vm web-1: passthrough VMs are pinned; only a cold evacuation "
           "(cold=true) of a powered-off or host-down VM moves it",
           "evacuate without cold=true: the text ADMIN.md quotes")
    host = request(c, "vm.show", {"name": "web-1"}).body["host"]
    expect(c, "vm.evacuate", {"name": "web-1", "cold": "true"}, None,
           "CONFLICT", "=vm web-1 on %s is powered on: power it off first "
           "(vm power web-1 off); a cold evacuation needs it off or its host "
           "down" % host, "evacuate of a powered-on VM: the quoted text")
    expect(c, "vm.evacuate", {"name": "db-1", "cold": "true"}, None,
           "CONFLICT", "is of unknown power state: power it off first",
           "evacuate of a VM of unknown power: `of unknown power state`")
    expect(c, "vm.evacuate", {"name": "nope", "cold": "true"}, None,
           "NOT_FOUND", "nope", "evacuate of an unknown VM is NOT_FOUND")
    r = c.ctl("vm", "evacuate", "web-1", check_rc=False)
    check(r.returncode == 2 and "--cold" in r.stderr,
          "vfleetctl vm evacuate without --cold: exit 2 (%d)" % r.returncode)
    r = c.ctl("vm", "evacuate", "web-1", "--cold", check_rc=False)
    check(r.returncode == 1 and "is powered on" in r.stderr,
          "vfleetctl vm evacuate --cold of a powered-on VM: exit 1 (%d)" %
          r.returncode)


def check_evacuate_move(c):
    """web-1 moves cold to the other host (db-1's NIC removal freed a VF
    there)."""
    before = request(c, "vm.show", {"name": "web-1"}).body
    request(c, "vm.power", {"name": "web-1", "state": "off"})
    r = c.ctl("-o", "json", "vm", "evacuate", "web-1", "--cold")
    vm = json.loads(r.stdout)
    check_vm_object(vm, "vm.evacuate")
    check(vm["host"] != before["host"] and vm["host"] in HOSTS and
          vm["nics"][0]["mac"] == before["nics"][0]["mac"] and
          vm["state"] == "reserved",
          "vm evacuate --cold of a powered-off VM: another host, its MAC "
          "kept, reserved (%s -> %s)" % (before["host"], vm["host"]))
    wait_until("web-1 is placed on its new host",
               lambda: request(c, "vm.show", {"name": "web-1"})
               .body["state"] == "placed")


def check_nics(c):
    request(c, "vm.power", {"name": "db-1", "state": "on"})
    expect(c, "vm.nic.add", {"name": "db-1", "network": "vlan1"}, None,
           "CONFLICT", "=vm db-1 is powered on: an SR-IOV NIC cannot be "
           "hot-added to a running VM; power it off first (vm power db-1 off)",
           "nic.add to a powered-on VM: the text ADMIN.md quotes")
    expect(c, "vm.nic.remove", {"name": "db-1", "index": "0"}, None,
           "CONFLICT", "hot-removed from a running VM",
           "nic.remove from a powered-on VM: `hot-removed from`")
    r = c.ctl("vm", "nic", "add", "db-1", "vlan1", check_rc=False)
    check(r.returncode == 1 and "cannot be hot-added" in r.stderr,
          "vfleetctl vm nic add to a powered-on VM: exit 1 (%d)" %
          r.returncode)
    request(c, "vm.power", {"name": "db-1", "state": "off"})
    expect(c, "vm.nic.add", {"name": "db-1", "network": "vlan1",
                             "index": "0"}, None, "INVALID", "index",
           "vm.nic.add refuses a parameter it does not know (index)")
    expect(c, "vm.nic.remove", {"name": "db-1", "index": "0",
                                "mac": "02:76:66:00:00:09"}, None,
           "INVALID", "mac",
           "vm.nic.remove refuses a parameter it does not know (mac)")
    expect(c, "vm.nic.remove", {"name": "db-1", "index": "2"}, None,
           "INVALID", "index", "vm.nic.remove of an index it lacks: INVALID")
    expect(c, "vm.nic.add", {"name": "nope", "network": "vlan1"}, None,
           "NOT_FOUND", "nope", "vm.nic.add of an unknown VM is NOT_FOUND")
    before = request(c, "vm.show", {"name": "db-1"}).body
    r = c.ctl("-o", "json", "vm", "nic", "remove", "db-1", "0")
    vm = json.loads(r.stdout)
    check_vm_object(vm, "vm.nic.remove")
    check([n["network"] for n in vm["nics"]] == ["vlan1"] and
          vm["nics"][0]["index"] == 0 and
          vm["nics"][0]["mac"] == before["nics"][1]["mac"],
          "vm nic remove 0: the other NIC is left, its MAC kept, now index 0")
    expect(c, "vm.nic.remove", {"name": "db-1", "index": "0"}, None,
           "CONFLICT", "delete the VM instead",
           "a VM keeps at least one NIC: CONFLICT")


def check_plan(c):
    before = holdings(c)
    for body, field in (({}, "vms"), ({"vms": []}, "vms"),
                        ({"vms": [vm_body("p"), vm_body("q")], "count": 2},
                         "count"),
                        ({"vms": [vm_body("p")], "count": 100001}, "count"),
                        ({"vms": [vm_body("p")], "cuont": 5}, "cuont"),
                        ({"vms": [vm_body("p%d" % i) for i in range(10001)]},
                         "vms"),
                        ({"vms": [vm_body("p", memory=0)]}, "memory_mib")):
        expect(c, "plan", {}, body, "INVALID", field,
               "plan INVALID naming %s" % field)
    a = request(c, "plan", {}, {"vms": [vm_body("p", nics=("trunk",))]})
    b = a.body or {}
    check(a.status == "OK" and set(b) == {"requested", "fit", "hosts", "vms",
                                          "refused", "first_refusal"} and
          b["requested"] == 1 and b["fit"] == 1 and
          b["first_refusal"] is None and b["refused"] == [] and
          [v["name"] for v in b["vms"]] == ["p"] and
          sum(h["vms"] for h in b["hosts"]) == 1,
          "plan of one VM that fits: first_refusal null (%s)" % b)
    free = len(request(c, "vfs", {"state": "free"}).body["vfs"])
    a = request(c, "plan", {}, {"vms": [vm_body("p")], "count": 5})
    b = a.body
    first = b["first_refusal"] or {}
    refused = "p-%d" % (free + 1)
    check(b["requested"] == 5 and b["fit"] == free and
          [v["name"] for v in b["vms"]] ==
          ["p-%d" % i for i in range(1, free + 1)] and
          b["refused"][0]["name"] == refused and
          set(first) == {"name", "error", "reasons", "closest"} and
          first["name"] == refused and
          first["error"].startswith("no host fits vm %s: " % refused),
          "plan count 5 with %d free VFs: %d of 5 fit, %s refused first "
          "(%s)" % (free, free, refused, b))
    check(re.match(r"no host fits vm p-\d: esx-e\d: no free isolated VF on "
                   r"a PF carrying vlan1 \(\d of \d used\)", first["error"]),
          "a refusal's text names the host then the reason, no rule name "
          "(vfleetctl(8): %s)" % first["error"])
    check(holdings(c) == before, "plan created nothing")
    r = c.ctl("plan", "--count", "5", "--memory", "1G", "--vcpus", "1",
              "--nic", "vlan1", check_rc=False)
    check(r.returncode == 1 and "%d of 5 fit" % free in r.stdout and
          "first refused: plan-%d: no host fits vm plan-%d" %
          (free + 1, free + 1) in r.stdout,
          "vfleetctl plan: `N of 5 fit`, the first refusal, exit 1 (%d)" %
          r.returncode)
    r = c.ctl("-o", "json", "plan", "--memory", "1G", "--vcpus", "1",
              "--nic", "vlan1")
    check(json.loads(r.stdout)["fit"] == 1, "vfleetctl plan: exit 0 when "
          "every VM fits, -o json prints the answer")


def check_ctl(c):
    r = c.ctl("-o", "json", "vm", "create", "huge-1", "--memory", "1T",
              "--vcpus", "1", "--nic", "vlan1", check_rc=False)
    detail = json.loads(r.stdout or "{}")
    check(r.returncode == 1 and set(detail) == {"reasons", "closest"} and
          "vm.create: no host fits vm huge-1" in r.stderr and
          "closest host esx-e" in r.stderr and
          "2 hosts refused by rule memory, such as: memory " in r.stderr,
          "vfleetctl vm create refused: exit 1, the reason and closest "
          "hosts on stderr, the refusal's JSON body on stdout")
    r = c.ctl("vm", "create", "x-1", "--vcpus", "1", "--nic", "vlan1",
              check_rc=False)
    check(r.returncode == 2 and "--memory is required" in r.stderr,
          "vfleetctl vm create without --memory: a usage error, exit 2")
    r = c.ctl("vm", "show", "nope", check_rc=False)
    check(r.returncode == 1, "vfleetctl vm show of an unknown VM: exit 1")
    r = c.ctl("vm", "--help")
    check("vm apply FILE" in r.stdout and "vm create NAME" in r.stdout and
          "vm nic remove NAME INDEX" in r.stdout,
          "vfleetctl vm --help lists every vm verb of the man page, vm "
          "apply too")
    r = c.ctl("-o", "json", "vms")
    check(set(json.loads(r.stdout)) == {"vms"},
          "vfleetctl -o json vms prints {\"vms\": [...]}")
    r = c.ctl("-o", "json", "vms", "--limit", "1")
    doc = json.loads(r.stdout)
    check(set(doc) == {"vms", "next"} and isinstance(doc["next"], str) and
          "--after" in r.stderr,
          "vfleetctl -o json vms --limit 1: the object has next, stderr says "
          "how to get the next page")


def check_apply(c):
    path = os.path.join(WORK, "vms.yaml")
    with open(path, "w") as f:
        f.write("version: 1\nvms:\n  - name: app-1\n    memory: 1G\n"
                "    vcpus: 1\n    nics:\n      - network: vlan1\n")
    r = c.ctl("vm", "apply", path, "--dry-run", check_rc=False)
    check(r.returncode == 3 and "app-1: would be created" in r.stdout,
          "vm apply --dry-run: exit 3 when a VM would be created (%d)" %
          r.returncode)
    r = c.ctl("vm", "apply", path, "--wait")
    check("app-1: created on esx-e" in r.stdout and ", placed" in r.stdout,
          "vm apply --wait: created on HOST, placed")
    vms = holdings(c)
    r = c.ctl("-o", "json", "vm", "apply", path)
    doc = json.loads(r.stdout)
    check(doc["created"] == 0 and doc["unchanged"] == 1 and
          doc["vms"][0]["result"] == "unchanged" and
          set(doc["vms"][0]) == {"name", "result", "host", "message"} and
          set(doc) == {"file", "dry_run", "vms", "created", "unchanged",
                       "would_create", "refused", "failed"},
          "vm apply of the same file twice: unchanged, exit 0 (%s)" % doc)
    check(holdings(c) == vms,
          "the second vm apply changed nothing on the controller")
    r = c.ctl("vm", "apply", path, "--dry-run")
    check(r.returncode == 0, "vm apply --dry-run: exit 0 when none would be "
          "created")
    other = os.path.join(WORK, "vms-other.yaml")
    with open(other, "w") as f:
        f.write("version: 1\nvms:\n  - name: app-1\n    memory: 2G\n"
                "    vcpus: 1\n    nics:\n      - network: vlan1\n"
                "  - name: big-2\n    memory: 1T\n    vcpus: 1\n"
                "    nics:\n      - network: vlan1\n")
    r = c.ctl("vm", "apply", other, check_rc=False)
    check(r.returncode == 1 and
          "app-1: exists with different settings (memory 1024 MiB -> 2048 "
          "MiB); delete it first: a passthrough VM's NICs and memory cannot "
          "change in place\n" in r.stdout and
          "big-2: refused: no host fits vm big-2: " in r.stdout and
          "%s: 2 VMs: 0 created, 0 unchanged, 1 refused, 1 failed\n" % other
          in r.stdout,
          "vm apply: a VM with other settings is an error naming the "
          "difference, one that fits nowhere `refused: REASON`, the summary "
          "line, exit 1 (%d):\n%s" % (r.returncode, r.stdout))
    check(holdings(c) == vms,
          "vm apply of a file with differences changed nothing")


def check_delete(c):
    expect(c, "vm.delete", {"name": "nope"}, None, "NOT_FOUND", "nope",
           "vm.delete of an unknown VM is NOT_FOUND")
    was = request(c, "vm.show", {"name": "app-1"}).body
    a = request(c, "vm.delete", {"name": "app-1"})
    check(a.status == "OK" and a.body == was,
          "vm.delete answers the VM object as it was")
    expect(c, "vm.show", {"name": "app-1"}, None, "NOT_FOUND", "app-1",
           "the deleted VM is gone")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    c = e2e.Cluster(HOSTS, "300ms")
    try:
        c.start_ready()
        check_before_policy(c)
        c.ctl("policy", "apply", POLICY, "--message", "admin doc test")
        wait_until("every host confirms the policy", lambda: all_ok(c))
        check_create_invalid(c)
        check_batch(c)
        db1 = check_create(c)
        check_wait_timeout(c)
        check_refusal(c)
        check_show_and_list(c)
        check_migrate(c, db1)
        check_power(c)
        check_cordon_drain(c)
        check_evacuate_refusals(c)
        check_nics(c)
        check_evacuate_move(c)
        check_plan(c)
        check_ctl(c)
        check_apply(c)
        check_delete(c)
    finally:
        c.stop()
    print("admin_doc_test: all checks passed")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
