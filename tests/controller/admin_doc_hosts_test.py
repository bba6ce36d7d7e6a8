#!/usr/bin/env python3
"""admin_doc_hosts_test.py - the inventory, policy and host half of
controller/ADMIN.md, with vfleetctl(8) and vfleet-controller(8), checked
statement by statement as an outside tester reads them, against the real
binaries only.

A real vfleet-controller with CURVE on the agents' socket, two real
vfleet-agents (--kernel sim) on generated trees (esx-e1 and esx-e2: vf64,
ens1f0 at 0000:03:00.0), raw admin REQUESTs from vfleet-test-peer
--request (for what vfleetctl never sends: bad parameters, cursors,
bodies), the real vfleetctl for its exit codes, its -o json shapes, its
paging hints and its --help, and vfleet-controller started with each
option out of its documented bounds (it must refuse at once: exit 2 and
the reason). Each check quotes what the document promises: the envelope
(unknown parameters and verbs), paging (`limit` 1 to 10000, cursors and
`next`), the JSON fields of summary, hosts, host, pfs, vfs, events,
policy.apply, policy.status, policy.history, policy.get, drift and
host.label with their types and null cases, every documented error
status with the texts the document quotes, the labels policy.apply
plans hosts with, drift reported (`drift: report`), a host refused for a
VF count change under a VM's VF, the man pages' examples and SYNOPSIS,
and their exit statuses.
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

WORK = os.path.join(e2e.BIN, "tests", "controller", "admin_doc_hosts")
e2e.WORK = WORK
HOSTS = {"esx-e1": "vf64", "esx-e2": "vf64"}
PF = "0000:03:00.0"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NULL = type(None)
MAYBE_TIME = (str, NULL)

with open(os.path.join(e2e.SRC, "deploy", "examples", "policy.yaml")) as f:
    EXAMPLE = f.read()
# The example policy, drift only reported (so that drift stays to be
# listed), and the same with its host group selecting hosts by label.
POLICY = EXAMPLE.replace("drift: correct", "drift: report")
POLICY_BY_LABEL = POLICY.replace(
    '    hosts:\n      - "esx-e1"\n      - "esx-e2"\n',
    "    labels: {role: sriov}\n")
assert POLICY != EXAMPLE and POLICY_BY_LABEL != POLICY

# The documented objects: every field and its JSON type.
HOST_FIELDS = {"name": str, "state": str, "cordoned": bool, "connected": bool,
               "first_seen": MAYBE_TIME, "last_seen": MAYBE_TIME,
               "generation": int, "agent_version": str, "boot_id": str,
               "proto_version": int, "kernel": str, "cpu_virt": str,
               "iommu": dict, "memory": dict, "pfs": int, "vfs": int,
               "vfs_free": int}
IOMMU_FIELDS = {"ready": bool, "units": int, "groups": int, "cmdline": str,
                "reasons": list}
PF_FIELDS = {"host": str, "pci_addr": str, "ifname": str, "driver": str,
             "vf_driver": str, "vendor_id": str, "device_id": str,
             "numa_node": int, "link_speed": int, "link_up": bool,
             "total_vfs": int, "num_vfs": int, "vfs": int, "vfs_free": int,
             "state": str, "note": str}
VF_FIELDS = {"host": str, "pf": str, "pf_ifname": str, "index": int,
             "pci_addr": str, "iommu_group": int, "iommu_isolated": bool,
             "driver": str, "mac": str, "vlan": int, "qos": int,
             "vlan_proto": int, "spoofchk": str, "trust": str,
             "link_state": str, "min_tx_rate": int, "max_tx_rate": int,
             "settings_known": bool, "in_use": bool, "state": str,
             "vm": (str, NULL), "note": str}
EVENT_FIELDS = {"id": int, "at": str, "kind": str, "host": (str, NULL),
                "message": str}
POLICY_FIELDS = {"revision": int, "sha256": str, "message": str,
                 "author": str, "commit": str, "created_at": str}
STATUS_FIELDS = {"host": str, "state": str, "refused": (str, NULL),
                 "desired_revision": int, "applied_revision": int,
                 "policy_revision": int, "connected": bool,
                 "sent_at": MAYBE_TIME, "answered_at": MAYBE_TIME,
                 "pending_ms": int, "ok_items": int, "failed_items": int,
                 "failures": list, "failures_more": int, "drift": list,
                 "drift_more": int}
DRIFT_FIELDS = {"host": str, "pf": str, "vf": int, "attribute": str,
                "wanted": str, "has": str, "seen_at": str}
APPLY_FIELDS = {"dry_run": bool, "revision": int, "sha256": str,
                "unchanged": bool, "hosts_total": int, "hosts_changed": int,
                "hosts": list, "refused": list, "warnings": list,
                "hosts_omitted": int, "refused_omitted": int}
EVENT_KINDS = {"controller-start", "controller-stop", "controller-memory",
               "host-registered", "host-down", "host-up", "security",
               "policy-apply", "policy-rollback", "policy-refused",
               "host-labels", "apply-ok", "apply-failed",
               "desired-renumbered", "vm-reserved", "vm-placed", "vm-failed",
               "vm-deleted", "vm-power", "vm-evacuated", "vm-nics",
               "host-drained"}


def shape(obj, fields, what):
    """Every documented field with its type, and nothing else."""
    problems = []
    if not isinstance(obj, dict):
        problems.append("not an object: %r" % (obj,))
        obj = {}
    elif set(obj) != set(fields):
        problems.append("fields %s" % sorted(set(obj) ^ set(fields)))
    for key, kind in fields.items():
        value = obj.get(key)
        if key in obj and (not isinstance(value, kind) or
                           (kind is int and isinstance(value, bool))):
            problems.append("%s is %r" % (key, value))
        timed = kind is MAYBE_TIME or key in ("at", "created_at", "seen_at")
        if timed and isinstance(value, str) and not TIME.match(value):
            problems.append("%s %r is not RFC 3339 UTC with ms" %
                            (key, value))
    check(not problems, "%s: the documented fields and types %s" %
          (what, problems or ""))


def newest_match(newest, every):
    """Whether newest() is the last rows of every(): retried while an
    event (a late rollout answer) lands between the two listings."""
    for _ in range(5):
        before, rows, after = every(), newest(), every()
        if before == after:
            return rows == after[-len(rows):] and len(rows) == 2
    return False


def ctl(c, *args, rc=0):
    """vfleetctl against the cluster; checks its exit status."""
    r = c.ctl(*args, check_rc=False)
    if rc is not None and r.returncode != rc:
        e2e.fail("vfleetctl %s exited %d, not %d\nstdout:\n%s\nstderr:\n%s"
                 % (" ".join(args), r.returncode, rc, r.stdout, r.stderr))
    return r


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- vfleet-controller(8) and --help -------------------------------------

def man_synopsis_options(path):
    """The long options of a man page's SYNOPSIS, every form of it (the
    daemon's, --backup and --restore's), but --help and --version."""
    with open(path) as f:
        text = f.read()
    synopsis = text.split(".Sh SYNOPSIS", 1)[1].split(".Sh ", 1)[0]
    return set(re.findall(r"\bFl -([a-z-]+)", synopsis)) - {"help",
                                                            "version"}


def man_option_items(path):
    with open(path) as f:
        return set(re.findall(r"^\.It Fl -([a-z-]+)", f.read(), re.M))


def controller_refuses(args, message, what):
    """vfleet-controller with args stops at once: exit 2 and message."""
    r = subprocess.run([e2e.CONTROLLER] + args + [
        "--state-dir", os.path.join(WORK, "never"), "--insecure"],
        capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and message in r.stderr,
          "vfleet-controller %s: exit 2, `%s` (%d %r)" %
          (" ".join(args), message, r.returncode, r.stderr[:200]))


def check_controller_options():
    man = os.path.join(e2e.SRC, "controller", "vfleet-controller.8")
    r = subprocess.run([e2e.CONTROLLER, "--help"], capture_output=True,
                       text=True, timeout=10)
    helped = set(re.findall(r"^  --([a-z-]+)", r.stdout, re.M))
    synopsis = man_synopsis_options(man)
    items = man_option_items(man) - {"help", "version"}
    check(r.returncode == 0 and helped - {"help", "version"} == items,
          "vfleet-controller --help and the man page's option list name the "
          "same options (%s)" % sorted(helped ^ (items | {"help",
                                                          "version"})))
    check(synopsis == items,
          "vfleet-controller(8) SYNOPSIS names every option it describes "
          "(%s)" % sorted(synopsis ^ items))
    with open(man) as f:
        page = f.read()
    # (option, bad values, the reason's text, what the man page says)
    bounds = [
        ("--dead-after", ["0", "1001", "x"], "(a number from 1 to 1000)",
         "from 1 to 1000"),
        ("--heartbeat-interval", ["0", "3601s", "1h"],
         "(e.g. 2s, 500ms; 1ms to 3600s)", "from 1ms to 3600s"),
        ("--event-max-age", ["500ms", "3651d"],
         "(e.g. 30d, 12h, 90m; 1s to 3650d)", "from 1s to 3650d"),
        ("--event-max-count", ["0", "1000000001"],
         "(a number from 1 to 1000000000)", "from 1 to 1000000000"),
        ("--peer-queue", ["0", "10001"], "(a number from 1 to 10000)",
         "from 1 to 10000"),
        ("--peer-rate", ["0", "1000001"], "(a number from 1 to 1000000)",
         "from 1 to 1000000"),
        ("--admin-rate", ["0", "1000001"], "(a number from 1 to 1000000)",
         "from 1 to 1000000"),
        ("--peer-bandwidth", ["0", "4097"], "(a number from 1 to 4096)",
         "from 1 to 4096"),
        ("--peer-timeout", ["99ms", "3601s"], "(e.g. 30s; 100ms to 3600s)",
         "100ms to\n3600s"),
        ("--memory-max", ["-1", "1048577"], "(a number from 0 to 1048576)",
         "from 0 to 1048576"),
        ("--synchronous", ["off"], "(normal or full)", None),
        ("--log-level", ["trace"], "(error, warn, info, debug)", None),
    ]
    for option, values, reason, doc in bounds:
        for value in values:
            controller_refuses([option, value], 'invalid %s "%s" %s' %
                               (option, value, reason),
                               "%s %s" % (option, value))
        if doc:
            item = page.split(".It Fl %s " % option[1:], 1)[1]
            item = item.split(".It ", 1)[0]
            check(doc in item, "vfleet-controller(8) gives %s's bounds: `%s`"
                  % (option, doc))
    controller_refuses(["--admin-group", "root", "--admin",
                        "tcp://127.0.0.1:1"],
                       "--admin-group is for an ipc:// admin endpoint",
                       "--admin-group with a tcp admin endpoint")
    controller_refuses(["--config", os.path.join(WORK, "absent.conf")],
                       "absent.conf", "a --config file that is absent")
    conf = write("bad.conf", "# comment\ndead-after = 0\n")
    controller_refuses(["--config", conf], '%s:2: invalid --dead-after "0"' %
                       conf, "a bad value in the file: FILE:LINE: reason")
    conf = write("unknown.conf", "colour = red\n")
    controller_refuses(["--config", conf], "%s:1: " % conf,
                       "an unknown key in the file")
    conf = write("help.conf", "help = true\n")
    controller_refuses(["--config", conf], "%s:1: " % conf,
                       "help in the file: command-line only")
    controller_refuses(["--bogus"], '"--bogus"', "an unknown option")
    controller_refuses(["--admin-group", "no-such-group-here"],
                       '"no-such-group-here"', "an unknown --admin-group")
    controller_refuses(["--agents", "localhost"], '"localhost"',
                       "an --agents value that is no endpoint")
    controller_refuses(["--metrics", "http://127.0.0.1:9650"], "--metrics",
                       "a --metrics endpoint not tcp://HOST:PORT[/PATH]")
    controller_refuses(["--dead-after"], "--dead-after",
                       "an option without its value")
    conf = write("flag.conf", "insecure = maybe\n")
    controller_refuses(["--config", conf], "%s:1: " % conf,
                       "a flag in the file takes true/yes/on/false/no/off")
    conf = write("comment.conf", "; a comment\ndead-after = 1001 ; many\n")
    controller_refuses(["--config", conf],
                       '%s:2: invalid --dead-after "1001"' % conf,
                       "a ; after a blank starts a comment in the file")
    conf = write("words.conf", "dead-after 3\n")
    controller_refuses(["--config", conf], "%s:1: " % conf,
                       "a line that is not a setting")
    r = subprocess.run([e2e.CONTROLLER, "--state-dir",
                        os.path.join(WORK, "nokeys")], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 1 and "controller.key_secret" in r.stderr,
          "vfleet-controller without --insecure and without keys: exit 1 "
          "naming the missing secret (%d)" % r.returncode)


# ---- the envelope, summary, hosts, host -----------------------------------

def check_envelope(c):
    a = expect(c, "colour", {}, None, "UNKNOWN_VERB", '"colour"',
               "an unknown verb is UNKNOWN_VERB")
    for verb in ("summary", "hosts", "host", "pfs", "vfs", "events",
                 "policy.status", "policy.history", "policy.get", "drift",
                 "policy.apply", "policy.rollback", "host.label"):
        check(verb in a.error, "the UNKNOWN_VERB text lists %s" % verb)
    for verb in ("summary", "hosts", "pfs", "vfs", "events", "policy.status",
                 "policy.history", "policy.get", "drift"):
        a = expect(c, verb, {"colour": "red"}, None, "INVALID", "colour",
                   "%s refuses an unknown parameter" % verb)
        check(a.body is None, "%s: an error's body is empty" % verb)


def check_summary(c):
    s = ok(c, "summary")
    shape(s, {"controller_id": str, "version": str, "schema_version": int,
              "started": str, "heartbeat_ms": int, "hosts": dict, "pfs": int,
              "vfs": dict, "vms": int, "vm_states": dict}, "summary")
    check(set(s["hosts"]) == {"total", "ready", "down", "connected"} and
          set(s["vfs"]) == {"total", "free", "reserved", "assigned",
                            "broken", "missing"} and
          set(s["vm_states"]) == {"reserved", "placed", "failed",
                                  "host_down"},
          "summary: the counts ADMIN.md lists (%s)" % s)
    for program, name in ((e2e.CTL, "vfleetctl"),
                          (e2e.CONTROLLER, "vfleet-controller")):
        for flag in (("--version", "-V") if name == "vfleetctl" else
                     ("--version",)):
            r = subprocess.run([program, flag], capture_output=True,
                               text=True, timeout=10)
            check(r.returncode == 0 and
                  r.stdout == "%s %s\n" % (name, s["version"]),
                  "%s %s prints the version summary reports" % (name, flag))
    check(s["hosts"] == {"total": 2, "ready": 2, "down": 0, "connected": 2}
          and s["heartbeat_ms"] == 300 and TIME.match(s["started"]) and
          s["pfs"] == 2,
          "summary: 2 hosts ready and connected, heartbeat_ms as "
          "--heartbeat-interval 300ms")


def check_hosts(c):
    wait_until("both agents report the policy's 2 VFs", lambda: all(
        h["vfs"] == 2 for h in ok(c, "hosts")["hosts"]))
    a = ok(c, "hosts")
    check(set(a) == {"hosts", "next"} and a["next"] is None and
          [h["name"] for h in a["hosts"]] == ["esx-e1", "esx-e2"],
          "hosts: {hosts, next}, by name, next null on the last page")
    for h in a["hosts"]:
        shape(h, HOST_FIELDS, "hosts row %s" % h["name"])
        shape(h["iommu"], IOMMU_FIELDS, "hosts row iommu")
        check(set(h["memory"]) == {"total_kb", "available_kb"} and
              h["state"] == "ready" and h["connected"] is True and
              h["cpu_virt"] in ("vmx", "svm", "none") and
              h["cordoned"] is False,
              "hosts row %s: memory, state ready, connected, cpu_virt" %
              h["name"])
    a = ok(c, "hosts", {"limit": "1"})
    check(len(a["hosts"]) == 1 and a["next"] == '["esx-e1"]',
          "hosts limit 1: the cursor is [\"HOST\"] written as a string (%r)"
          % a["next"])
    b = ok(c, "hosts", {"limit": "1", "after": a["next"]})
    check([h["name"] for h in b["hosts"]] == ["esx-e2"] and
          b["next"] is None,
          "hosts after the cursor: the next host, next null at the end")
    for params, text in (({"limit": "0"}, "limit"),
                         ({"limit": "10001"}, "limit"),
                         ({"limit": "ten"}, "limit"),
                         ({"after": "esx-e1"}, "malformed cursor"),
                         ({"after": '["esx-e1","x"]'}, "malformed cursor")):
        expect(c, "hosts", params, None, "INVALID", text,
               "hosts %s is INVALID" % params)
    check(len(ok(c, "hosts", {"limit": "10000"})["hosts"]) == 2,
          "hosts limit 10000 is accepted")


def check_host(c):
    h = ok(c, "host", {"name": "esx-e1"})
    check(set(h) == {"host"}, "host: {\"host\": HOST}")
    h = h["host"]
    fields = dict(HOST_FIELDS, labels=dict, hugepages=list, pf_list=list)
    shape(h, fields, "host esx-e1")
    check(h["labels"] == {} and all(
        set(p) == {"size_kb", "total", "free"} for p in h["hugepages"]) and
        [p["pci_addr"] for p in h["pf_list"]] == [PF],
        "host: labels {} when none, hugepage pools, pf_list of PFs")
    for pf in h["pf_list"]:
        shape(pf, PF_FIELDS, "host pf_list row")
    expect(c, "host", {}, None, "INVALID", '=verb "host" needs parameter '
           '"name"', "host without name is INVALID, naming the parameter")
    expect(c, "host", {"name": "esx-e9"}, None, "NOT_FOUND",
           '=no host named "esx-e9"', "host of an unknown host is NOT_FOUND")


# ---- pfs, vfs --------------------------------------------------------------

def check_pfs(c):
    a = ok(c, "pfs")
    check(set(a) == {"pfs", "next"} and
          [(p["host"], p["pci_addr"]) for p in a["pfs"]] ==
          [("esx-e1", PF), ("esx-e2", PF)],
          "pfs: every PF, by host and PCI address")
    for p in a["pfs"]:
        shape(p, PF_FIELDS, "pfs row")
        check(re.match(r"^[0-9a-f]{4}$", p["vendor_id"]) and
              re.match(r"^[0-9a-f]{4}$", p["device_id"]) and
              p["state"] == "present" and p["link_speed"] >= 0 and
              p["numa_node"] >= -1,
              "pfs row: ids as four lower-case hex digits, state present")
    a = ok(c, "pfs", {"host": "esx-e2"})
    check([p["host"] for p in a["pfs"]] == ["esx-e2"],
          "pfs host filter lists that host's PFs")
    a = ok(c, "pfs", {"limit": "1"})
    check(a["next"] == json.dumps(["esx-e1", PF], separators=(",", ":")),
          "pfs cursor: [\"HOST\",\"PCI\"] (%r)" % a["next"])
    b = ok(c, "pfs", {"after": a["next"]})
    check([p["host"] for p in b["pfs"]] == ["esx-e2"],
          "pfs after the cursor")
    expect(c, "pfs", {"host": "esx-e9"}, None, "NOT_FOUND",
           '=no host named "esx-e9"', "pfs of an unknown host is NOT_FOUND")
    expect(c, "pfs", {"after": '["esx-e1"]'}, None, "INVALID",
           "malformed cursor", "pfs with a host cursor is INVALID")


def check_vfs(c):
    a = ok(c, "vfs", {"host": "esx-e1"})
    check(set(a) == {"vfs", "next"} and
          [v["index"] for v in a["vfs"]] == [0, 1],
          "vfs host esx-e1: its 2 VFs by index (the policy's vfs: 2)")
    for v in a["vfs"]:
        shape(v, VF_FIELDS, "vfs row")
        check(v["spoofchk"] in ("on", "off", "unknown") and
              v["trust"] in ("on", "off", "unknown") and
              v["link_state"] in ("auto", "enable", "disable") and
              v["vlan_proto"] in (0, 33024, 34984) and v["vm"] is None and
              v["state"] == "free" and v["pf"] == PF and
              v["pf_ifname"] == "ens1f0",
              "vfs row: ip -d link words, vm null for a free VF")
    a = ok(c, "vfs", {"limit": "1"})
    check(a["next"] == json.dumps(["esx-e1", PF, 0], separators=(",", ":")),
          "vfs cursor: [\"HOST\",\"PF\",INDEX] (%r)" % a["next"])
    b = ok(c, "vfs", {"limit": "10", "after": a["next"]})
    check([(v["host"], v["index"]) for v in b["vfs"]] ==
          [("esx-e1", 1), ("esx-e2", 0), ("esx-e2", 1)] and
          b["next"] is None,
          "vfs after the cursor: the rest, by host, PF and index")
    check(len(ok(c, "vfs", {"state": "free"})["vfs"]) == 4 and
          ok(c, "vfs", {"state": "assigned"})["vfs"] == [] and
          len(ok(c, "vfs", {"pf": PF, "host": "esx-e2"})["vfs"]) == 2,
          "vfs state and pf filters")
    for state in ("reserved", "broken", "missing"):
        ok(c, "vfs", {"state": state})
    expect(c, "vfs", {"state": "busy"}, None, "INVALID", "busy",
           "vfs state busy is INVALID")
    expect(c, "vfs", {"host": "esx-e9"}, None, "NOT_FOUND",
           '=no host named "esx-e9"', "vfs of an unknown host is NOT_FOUND")
    for cursor in ('["esx-e1","%s"]' % PF, '["esx-e1","%s",-1]' % PF,
                   '["esx-e1","%s","0"]' % PF, "0"):
        expect(c, "vfs", {"after": cursor}, None, "INVALID",
               "malformed cursor", "vfs cursor %s is INVALID" % cursor)


# ---- events ----------------------------------------------------------------

def check_events(c):
    a = ok(c, "events")
    events = a["events"]
    check(set(a) == {"events", "next"} and a["next"] is None and events,
          "events: {events, next}")
    for e in events:
        shape(e, EVENT_FIELDS, "event %s" % e.get("kind"))
        check(e["kind"] in EVENT_KINDS, "event kind %s is documented" %
              e["kind"])
    ids = [e["id"] for e in events]
    check(ids == sorted(ids), "events oldest first")
    start = [e for e in events if e["kind"] == "controller-start"]
    joined = {e["host"] for e in events if e["kind"] == "host-registered"}
    check(start and start[0]["host"] is None and joined == set(HOSTS),
          "controller-start has host null; host-registered names each host")
    check(newest_match(lambda: ok(c, "events", {"limit": "2"})["events"],
                       lambda: ok(c, "events")["events"]),
          "events limit 2 without after: the newest 2, oldest first")
    check(ok(c, "events", {"limit": "1"})["next"] is None,
          "events without after: next null (none follow the newest)")
    page = ok(c, "events", {"after": "0", "limit": "2"})
    check(page["events"] == events[:2] and page["next"] == str(ids[1]),
          "events after 0: from the first, the cursor an event id string "
          "(%r)" % page["next"])
    rest = ok(c, "events", {"after": page["next"]})["events"]
    check(rest[:len(events) - 2] == events[2:],
          "events after the cursor: the ones after it")
    at = events[-1]["at"]
    future = ok(c, "events", {"since": "4102444800"})["events"]
    check(future == [], "events since a future time: none")
    since = ok(c, "events", {"since": "0"})["events"]
    check(since[:len(events)] == events,
          "events since 0: all (latest at %s)" % at)
    for params, text in (({"since": "-1"}, "since"),
                         ({"since": "yesterday"}, "since"),
                         ({"after": "x"}, "malformed cursor"),
                         ({"after": "-1"}, "malformed cursor"),
                         ({"limit": "0"}, "limit"),
                         ({"limit": "10001"}, "limit")):
        expect(c, "events", params, None, "INVALID", text,
               "events %s is INVALID" % params)


# ---- policy verbs -----------------------------------------------------------

def check_before_policy(c):
    s = ok(c, "policy.status")
    check(s == {"policy": None, "counts": {"hosts": 0, "ok": 0, "failed": 0,
                                           "pending": 0, "refused": 0,
                                           "drifted": 0},
                "hosts": [], "next": None},
          "policy.status before any policy: policy null, counts zero")
    check(ok(c, "policy.history") == {"policies": [], "next": None},
          "policy.history before any policy: empty")
    expect(c, "policy.get", {}, None, "NOT_FOUND", "",
           "policy.get with no revision stored is NOT_FOUND")
    check(ok(c, "drift") == {"drift": [], "next": None},
          "drift before any policy: empty")


def check_apply_errors(c):
    expect(c, "policy.apply", {"dry_run": "maybe"}, POLICY, "INVALID",
           "dry_run", "policy.apply dry_run maybe is INVALID")
    expect(c, "policy.apply", {"commit": "abc123"}, POLICY, "INVALID",
           "commit", "policy.apply commit not 40/64 hex digits is INVALID")
    expect(c, "policy.apply", {"commit": "A" * 40}, POLICY, "INVALID",
           "commit", "policy.apply commit in upper case is INVALID")
    expect(c, "policy.apply", {"author": "a" * 256}, POLICY, "INVALID",
           "author", "policy.apply author over 255 bytes is INVALID")
    a = request(c, "policy.apply", {"commit": "", "dry_run": "true"},
                POLICY)
    check(a.status == "OK", "policy.apply commit \"\" is accepted (%s)" %
          a.status)
    expect(c, "policy.apply", {"colour": "red"}, POLICY, "INVALID",
           "colour", "policy.apply refuses an unknown parameter")
    a = expect(c, "policy.apply", {}, "#" * (1 << 20) + "\n", "INVALID", "",
               "policy.apply of a body over 1 MiB is INVALID")
    check(a.body is None, "a body over 1 MiB: no error body")
    bad = "version: 1\nnetworks:\n  - name: x\n    vlan: 5000\n" \
          "  - name: y\n    vlan: 0\n"
    a = expect(c, "policy.apply", {"source": "mine.yaml"}, bad, "INVALID",
               "policy rejected: 2 errors; first: mine.yaml:4:",
               "an invalid policy: `policy rejected: N errors; first: "
               "FILE:L:C: msg`, FILE from source")
    body = a.body or {}
    check(set(body) == {"errors", "errors_truncated"} and
          len(body["errors"]) == 2 and body["errors_truncated"] is False and
          all(e.startswith("mine.yaml:") for e in body["errors"]),
          "the rejection's body lists every error (%s)" % body)
    a = expect(c, "policy.apply", {}, bad, "INVALID", "first: policy:",
               "source defaults to `policy`")
    check(ok(c, "policy.history")["policies"] == [],
          "nothing is stored by a refused policy.apply")


def check_apply(c):
    a = ok(c, "policy.apply", {"dry_run": "true", "message": "m" * 1024,
                               "author": "a" * 255,
                               "commit": "0123456789abcdef" * 4}, POLICY)
    shape(a, APPLY_FIELDS, "policy.apply dry_run")
    check(a["dry_run"] is True and a["revision"] == 1 and
          a["unchanged"] is False and a["hosts_total"] == 2 and
          a["hosts_changed"] == 2 and
          [h["host"] for h in a["hosts"]] == ["esx-e1", "esx-e2"] and
          all(set(h) == {"host", "desired_revision", "changes",
                         "changes_more"} for h in a["hosts"]) and
          re.match(r"^[0-9a-f]{64}$", a["sha256"]),
          "policy.apply dry_run: the revision it would get, both hosts "
          "planned and changed; message 1024 and author 255 bytes, a 64-digit "
          "commit accepted")
    check(ok(c, "policy.history")["policies"] == [] and
          request(c, "policy.status").body["policy"] is None,
          "a dry run stores nothing")
    r = ctl(c, "-o", "json", "policy", "apply",
            write("policy.yaml", POLICY), "--message", "first")
    out = json.loads(r.stdout)
    check(set(out) >= {"apply", "counts", "complete", "hosts"} and
          out["complete"] is True and out["apply"]["revision"] == 1 and
          out["apply"]["dry_run"] is False,
          "vfleetctl -o json policy apply: apply, counts, complete, hosts; "
          "exit 0 once every host applied")
    r = ctl(c, "policy", "apply", write("policy.yaml", POLICY), "--dry-run")
    check("unchanged" in r.stdout or r.returncode == 0,
          "vfleetctl policy apply --dry-run of the stored text: exit 0")
    a = ok(c, "policy.apply", {"dry_run": "true"}, POLICY)
    check(a["unchanged"] is True and a["revision"] == 1 and
          a["hosts_changed"] == 0,
          "the same text again: unchanged, the latest revision")
    events = [e for e in ok(c, "events")["events"]
              if e["kind"] == "policy-apply"]
    check(len(events) == 1 and events[0]["host"] is None and re.match(
        r"^revision 1 \(sha256 [0-9a-f]{12}\) by \S+: 2 hosts changed, "
        r"0 refused$", events[0]["message"]),
        "one policy-apply event, host null, in the quoted form (%s)" %
        events)


def check_status_history_get(c):
    s = ok(c, "policy.status")
    check(set(s) == {"policy", "counts", "hosts", "next"},
          "policy.status: policy, counts, hosts, next")
    shape(s["policy"], POLICY_FIELDS, "policy.status policy")
    check(s["policy"]["revision"] == 1 and s["policy"]["message"] == "first",
          "policy.status policy: the newest revision, with its message")
    counts = s["counts"]
    check(counts == {"hosts": 2, "ok": 2, "failed": 0, "pending": 0,
                     "refused": 0, "drifted": 0},
          "policy.status counts: 2 hosts ok (%s)" % counts)
    for row in s["hosts"]:
        shape(row, STATUS_FIELDS, "policy.status row %s" % row["host"])
        check(row["state"] == "ok" and row["refused"] is None and
              row["applied_revision"] == row["desired_revision"] and
              row["policy_revision"] == 1 and row["pending_ms"] == 0 and
              row["connected"] is True,
              "policy.status row %s: ok, refused null, applied, policy "
              "revision 1" % row["host"])
    a = ok(c, "policy.status", {"limit": "1"})
    check(a["next"] == '["esx-e1"]' and
          [r["host"] for r in ok(c, "policy.status", {"after": a["next"]})
           ["hosts"]] == ["esx-e2"],
          "policy.status pages with the cursor [\"HOST\"]")
    a = ok(c, "policy.status", {"summary": "true"})
    check(a == {"policy": s["policy"], "counts": counts, "hosts": [],
                "next": None},
          "policy.status summary true: no host rows (hosts [], next null), "
          "policy and counts")
    a = ok(c, "policy.status", {"host": "esx-e2", "state": "ok"})
    check([r["host"] for r in a["hosts"]] == ["esx-e2"] and
          a["counts"] == counts,
          "policy.status host and state filter the rows, not the counts")
    check(ok(c, "policy.status", {"state": "failed"})["hosts"] == [],
          "policy.status state failed: none")
    for params, status, text in (
            ({"state": "done"}, "INVALID", "done"),
            ({"summary": "yes"}, "INVALID", "summary"),
            ({"host": "esx-e9"}, "NOT_FOUND", '=no host named "esx-e9"'),
            ({"after": "esx-e1"}, "INVALID", "malformed cursor")):
        expect(c, "policy.status", params, None, status, text,
               "policy.status %s: %s" % (params, status))
    h = ok(c, "policy.history")
    check(set(h) == {"policies", "next"} and len(h["policies"]) == 1,
          "policy.history: {policies, next}")
    shape(h["policies"][0], POLICY_FIELDS, "policy.history row")
    got = ok(c, "policy.get")
    shape(got, dict(POLICY_FIELDS, text=str), "policy.get")
    check(got["text"] == POLICY and got["revision"] == 1,
          "policy.get: the newest revision, its text exactly as stored")
    check(ok(c, "policy.get", {"revision": "1"}) == got,
          "policy.get revision 1")
    expect(c, "policy.get", {"revision": "9"}, None, "NOT_FOUND",
           "=no policy revision 9", "policy.get of a revision never stored")
    for value in ("0", "-1", "one"):
        expect(c, "policy.get", {"revision": value}, None, "INVALID",
               value, "policy.get revision %s is INVALID" % value)
    for value in ("0", "x"):
        expect(c, "policy.history", {"after": value}, None, "INVALID",
               value, "policy.history cursor %s is INVALID" % value)


def check_rollback(c):
    expect(c, "policy.rollback", {}, None, "INVALID",
           '=verb "policy.rollback" needs parameter "revision"',
           "policy.rollback without revision is INVALID, naming it")
    for value in ("0", "one"):
        expect(c, "policy.rollback", {"revision": value}, None, "INVALID",
               '=revision "%s" is not a revision number from 1' % value,
               "policy.rollback revision %s is INVALID" % value)
    expect(c, "policy.rollback", {"revision": "7"}, None, "NOT_FOUND",
           "=no policy revision 7", "policy.rollback of a revision never "
           "stored: NOT_FOUND `no policy revision N`")
    expect(c, "policy.rollback", {"revision": "1", "source": "x"}, None,
           "INVALID", "source", "policy.rollback has no parameter source")
    a = ok(c, "policy.rollback", {"revision": "1", "dry_run": "true"})
    shape(a, APPLY_FIELDS, "policy.rollback dry_run")
    r = ctl(c, "-o", "json", "policy", "rollback", "1")
    out = json.loads(r.stdout)
    check(out["apply"]["unchanged"] is True and out["complete"] is True,
          "vfleetctl policy rollback to the same text: unchanged, exit 0")
    events = [e for e in ok(c, "events")["events"]
              if e["kind"] == "policy-rollback"]
    check(len(events) == 1 and events[0]["host"] is None,
          "a policy-rollback event, host null")


# ---- host.label, and the labels a policy selects by -----------------------

def check_label(c):
    for params, body, status, text in (
            ({}, {"set": {"rack": "r1"}}, "INVALID",
             '=verb "host.label" needs parameter "name"'),
            ({"name": "esx-e1"}, None, "INVALID", "body"),
            ({"name": "esx-e1"}, [1], "INVALID", "body"),
            ({"name": "esx-e1"}, {}, "INVALID", "nothing"),
            ({"name": "esx-e1"}, {"set": {}, "remove": []}, "INVALID",
             "nothing"),
            ({"name": "esx-e1"}, {"set": {"-rack": "r1"}}, "INVALID",
             "-rack"),
            ({"name": "esx-e1"}, {"set": {"r" * 64: "r1"}}, "INVALID",
             "r" * 64),
            ({"name": "esx-e1"}, {"set": {"rack": "r/1"}}, "INVALID",
             "rack"),
            ({"name": "esx-e1"}, {"set": {"rack": ""}}, "INVALID", "rack"),
            ({"name": "esx-e1"}, {"set": {"rack": "v" * 64}}, "INVALID",
             "rack"),
            ({"name": "esx-e1"}, {"set": {"rack": 1}}, "INVALID", "rack"),
            ({"name": "esx-e1"}, {"set": {"rack": "r1"}, "keep": []},
             "INVALID", "keep"),
            ({"name": "esx-e1"},
             {"set": {"k%d" % i: "v" for i in range(65)}}, "INVALID", "64"),
            ({"name": "esx-e1", "x": "1"}, {"set": {"rack": "r1"}},
             "INVALID", '"x"'),
            ({"name": "esx-e9"}, {"set": {"rack": "r1"}}, "NOT_FOUND",
             '=no host named "esx-e9"')):
        expect(c, "host.label", params, body, status, text,
               "host.label %s %s: %s" % (params, json.dumps(body)[:40],
                                         status))
    check(ok(c, "host", {"name": "esx-e1"})["host"]["labels"] == {},
          "nothing is stored by a refused host.label")
    a = ok(c, "host.label", {"name": "esx-e1"},
           {"set": {"rack": "r1", "role": "sriov", "zone": "a"},
            "remove": ["zone"]})
    check(a == {"host": "esx-e1", "labels": {"rack": "r1", "role": "sriov"},
                "desired_changed": False},
          "host.label: set, then remove; labels after the change and "
          "desired_changed (%s)" % a)
    a = ok(c, "host.label", {"name": "esx-e1"},
           {"set": {"k.a/b_c-d": "v.1_x-y"}, "remove": ["absent"]})
    check(a["labels"] == {"rack": "r1", "role": "sriov",
                          "k.a/b_c-d": "v.1_x-y"},
          "a key with . / _ - and a value with . _ -; removing a key the "
          "host lacks is no change")
    ok(c, "host.label", {"name": "esx-e1"}, {"remove": ["k.a/b_c-d"]})
    a = ok(c, "host.label", {"name": "esx-e1"},
           {"set": {"rack": "r1"}, "remove": ["zone"]})
    check(a["labels"] == {"rack": "r1", "role": "sriov"},
          "a value set again and an absent key removed: no change")
    events = [(e["host"], e["message"]) for e in ok(c, "events")["events"]
              if e["kind"] == "host-labels"]
    check(events == [("esx-e1", "+rack=r1 +role=sriov"),
                     ("esx-e1", "+k.a/b_c-d=v.1_x-y"),
                     ("esx-e1", "-k.a/b_c-d")],
          "host-labels events list what changed, +key=value and -key, and "
          "a request that changes nothing records none (%s)" % events)
    check(ok(c, "host", {"name": "esx-e1"})["host"]["labels"] ==
          {"rack": "r1", "role": "sriov"},
          "host shows the labels host.label set")
    # policy.apply plans each host with its labels: only esx-e1 carries
    # role=sriov, so a group selecting by it keeps esx-e1 as it is and
    # leaves esx-e2 unmanaged.
    a = ok(c, "policy.apply", {"dry_run": "true"}, POLICY_BY_LABEL)
    check([h["host"] for h in a["hosts"]] == ["esx-e2"],
          "policy.apply plans hosts with the labels host.label set: a "
          "group selecting role=sriov changes esx-e2 only (%s)" %
          [h["host"] for h in a["hosts"]])
    r = ctl(c, "host", "label", "esx-e2", "role=sriov", "--remove", "rack")
    check("role=sriov" in r.stdout,
          "vfleetctl host label prints the labels after the change")
    r = ctl(c, "-o", "json", "host", "label", "esx-e2", "--remove", "role")
    check(json.loads(r.stdout) == {"host": "esx-e2", "labels": {},
                                   "desired_changed": False},
          "vfleetctl -o json host label prints the reply")
    ctl(c, "host", "label", "esx-e9", "rack=r1", rc=1)
    ctl(c, "host", "label", "esx-e2", "rack=r/1", rc=2)
    ctl(c, "host", "label", "esx-e2", "rack", rc=2)


# ---- drift ------------------------------------------------------------------

def check_drift(c):
    e2e.set_vlan_behind("esx-e1", "ens1f0", 1, 77)
    rows = wait_until("the agent reports VF 1's VLAN as drift",
                      lambda: ok(c, "drift")["drift"])
    a = ok(c, "drift")
    check(set(a) == {"drift", "next"}, "drift: {drift, next}")
    row = rows[0]
    shape(row, DRIFT_FIELDS, "drift row")
    check(row["host"] == "esx-e1" and row["pf"] == PF and row["vf"] == 1 and
          row["attribute"] == "vlan" and row["has"] == "77" and
          row["wanted"] == "0",
          "drift row: host, pf, vf, attribute, wanted and has (%s)" % row)
    check(ok(c, "drift", {"host": "esx-e2"})["drift"] == [],
          "drift host filter")
    a = ok(c, "drift", {"limit": "1"})
    cursor = json.loads(a["next"]) if a["next"] else None
    check(len(rows) == 1 and a["next"] is None or
          (isinstance(cursor, list) and len(cursor) == 4),
          "drift cursor: [\"HOST\",\"PF\",VF,\"ATTRIBUTE\"] (%r)" % a["next"])
    after = json.dumps(["esx-e1", PF, 1, "vlan"])
    check(ok(c, "drift", {"after": after})["drift"] == [],
          "drift after the last row: empty")
    for params, status, text in (({"host": "esx-e9"}, "NOT_FOUND",
                                  '=no host named "esx-e9"'),
                                 ({"after": '["esx-e1"]'}, "INVALID",
                                  "malformed cursor"),
                                 ({"limit": "0"}, "INVALID", "limit")):
        expect(c, "drift", params, None, status, text,
               "drift %s: %s" % (params, status))
    s = wait_until("policy.status counts the drifted host", lambda: (
        lambda s: s if s["counts"]["drifted"] == 1 else None)(
            ok(c, "policy.status", {"host": "esx-e1"})))
    row = s["hosts"][0]
    check(row["drift"] and set(row["drift"][0]) ==
          {"pf", "vf", "attribute", "wanted", "has"} and
          row["drift_more"] == 0,
          "policy.status row: its drift items, without host and seen_at")
    r = ctl(c, "policy", "status", "--host", "esx-e1")
    check(any("vlan" in x and "77" in x for x in r.stdout.splitlines()[1:]),
          "vfleetctl policy status --host: the host's drift, a line each "
          "(%s)" % r.stdout[-300:])
    r = ctl(c, "drift")
    check(re.search(r"^esx-e1 +%s +1 +vlan +0 +77 " % PF, r.stdout, re.M),
          "vfleetctl drift: host, PF, VF, attribute, wanted, has, seen")
    r = ctl(c, "-o", "json", "drift")
    check(set(json.loads(r.stdout)) == {"drift"},
          "vfleetctl -o json drift: {\"drift\": [...]}")


# ---- vfleetctl --------------------------------------------------------------

def check_ctl(c):
    for verb, key in (("hosts", "hosts"), ("pfs", "pfs"), ("vfs", "vfs"),
                      ("events", "events"), ("drift", "drift")):
        doc = json.loads(ctl(c, "-o", "json", verb).stdout)
        check(set(doc) == {key}, "vfleetctl -o json %s: {\"%s\": [...]}" %
              (verb, key))
    doc = json.loads(ctl(c, "-o", "json", "summary").stdout)
    check(doc["hosts"]["total"] == 2, "vfleetctl -o json summary: the reply")
    doc = json.loads(ctl(c, "-o", "json", "host", "esx-e1").stdout)
    check(set(doc) == {"host"} and doc["host"]["name"] == "esx-e1",
          "vfleetctl -o json host: the reply")
    doc = json.loads(ctl(c, "-o", "json", "policy", "history").stdout)
    check(set(doc) == {"policies"}, "vfleetctl -o json policy history")
    doc = json.loads(ctl(c, "-o", "json", "vfs", "--free", "--host",
                         "esx-e2").stdout)
    check(len(doc["vfs"]) == 2 and all(v["state"] == "free"
                                       for v in doc["vfs"]),
          "vfleetctl vfs --free --host: that host's free VFs")
    r = ctl(c, "hosts", "--limit", "1")
    m = re.search(r"more hosts follow; for the next page add --after (.+)$",
                  r.stderr, re.M)
    check(m and "esx-e1" in r.stdout and "esx-e2" not in r.stdout,
          "vfleetctl hosts --limit 1: one page, the hint on stderr (%r)" %
          r.stderr)
    cursor = m.group(1) if m else ""
    check(cursor == "'[\"esx-e1\"]'",
          "the hint's cursor is quoted for the shell (%s)" % cursor)
    r = ctl(c, "hosts", "--limit", "1", "--after", '["esx-e1"]')
    check("esx-e2" in r.stdout and "more hosts" not in r.stderr,
          "--after the hinted cursor gives the next page")
    doc = json.loads(ctl(c, "-o", "json", "hosts", "--limit", "1").stdout)
    check(set(doc) == {"hosts", "next"} and doc["next"] == '["esx-e1"]',
          "vfleetctl -o json hosts --limit 1: the object has next")
    doc = json.loads(ctl(c, "-o", "json", "hosts", "--limit",
                         "10000").stdout)
    check(len(doc["hosts"]) == 2 and doc["next"] is None,
          "vfleetctl hosts --limit 10000: the largest page")
    doc = json.loads(ctl(c, "-o", "json", "hosts", "--limit", "1",
                         "--all").stdout)
    check(len(doc["hosts"]) == 2, "--limit 1 --all: every page, of 1 row")
    def listed(*args):
        return json.loads(ctl(c, "-o", "json", "events", *args).stdout)[
            "events"]
    check(newest_match(lambda: listed("--limit", "2"), listed),
          "vfleetctl events --limit 2 alone: the newest 2")
    everything = listed()
    doc = {"events": listed("--since", "1h")[:len(everything)]}
    check(doc["events"] == everything, "vfleetctl events --since 1h: all")
    doc = json.loads(ctl(c, "-o", "json", "events", "--since",
                         "2099-01-01T00:00:00Z").stdout)
    check(doc["events"] == [], "vfleetctl events --since a future time")
    doc = {"events": listed("--since", "2020-01-01T00:00:00Z")}
    check(doc["events"][:len(everything)] == everything,
          "vfleetctl events --since 2020-01-01T00:00:00Z: all")
    doc = json.loads(ctl(c, "-o", "json", "events", "--since",
                         "4102444800").stdout)
    check(doc["events"] == [], "vfleetctl events --since Unix seconds")
    r = ctl(c, "host", "label", rc=1)
    check('no host named "label"' in r.stderr,
          "vfleetctl host label alone shows a host named label")
    for args, rc in ((("host", "esx-e9"), 1), (("pfs", "--host", "esx-e9"), 1),
                     (("vfs", "--state", "busy"), 1),
                     (("hosts", "--after", "esx-e1"), 1),
                     (("hosts", "--limit", "0"), 2),
                     (("hosts", "--limit", "10001"), 2),
                     (("vfs", "--limit", "10001"), 2),
                     (("events", "--limit", "10001"), 2),
                     (("policy", "history", "--limit", "10001"), 2),
                     (("vms", "--limit", "10001"), 2),
                     (("hosts", "--colour"), 2), (("colour",), 2),
                     (("-o", "yaml", "hosts"), 2),
                     (("events", "--since", "yesterday"), 2),
                     (("--timeout", "0", "hosts"), 2),
                     (("policy", "status", "--state", "done"), 1),
                     (("policy", "rollback", "7"), 1)):
        r = ctl(c, *args, rc=None)
        check(r.returncode == rc, "vfleetctl %s: exit %d (%d)" %
              (" ".join(args), rc, r.returncode))
    r = ctl(c, "hosts", "-o", "json")
    check(set(json.loads(r.stdout)) == {"hosts"},
          "a global option after the verb")
    r = ctl(c, "--help")
    for verb in ("policy", "summary", "hosts", "host", "pfs", "vfs",
                 "events", "drift", "vm", "vms", "plan", "keys"):
        check(re.search(r"^  %s " % verb, r.stdout, re.M),
              "vfleetctl --help lists %s" % verb)
    r = ctl(c, "policy", "--help")
    check(all(v in r.stdout for v in ("policy validate", "policy show",
                                      "policy diff", "policy apply",
                                      "policy rollback", "policy status",
                                      "policy history")),
          "vfleetctl policy --help lists every policy verb of the man page")
    r = ctl(c, "hosts", "--help")
    check(all(v in r.stdout for v in ("host label", "host cordon", "pfs",
                                      "vfs", "events", "drift", "--limit",
                                      "--after", "--all")),
          "vfleetctl hosts --help: the inventory verbs and paging")
    doc = json.loads(c.ctl("-o", "json", "keys", "list", "--keys",
                           c.keys).stdout)
    check(set(doc) == {"keys"} and
          [(k["kind"], k["name"], k["role"]) for k in doc["keys"]] ==
          [("host", "esx-e1", "host"), ("host", "esx-e2", "host")] and
          all(set(k) == {"kind", "name", "role", "public_key"} and
              len(k["public_key"]) == 40 for k in doc["keys"]),
          "vfleetctl -o json keys list: kind, name, role, public_key")
    for args, rc in ((("add-host", "bad_name"), 2),
                     (("add-admin", "ops_1"), 2),
                     (("revoke", "bad_name"), 2),
                     (("add-host", "esx-e1"), 1),
                     (("revoke", "nobody"), 1),
                     (("init",), 1)):
        r = c.ctl("keys", *args, "--keys", c.keys, check_rc=False)
        check(r.returncode == rc and r.stderr.startswith(
            "vfleetctl: keys %s: " % args[0]),
            "vfleetctl keys %s: exit %d, the reason named (%d %r)" %
            (" ".join(args), rc, r.returncode, r.stderr[:120]))
    r = subprocess.run([e2e.CTL, "-c", "ipc://%s/none.sock" % WORK,
                        "--timeout", "300ms", "hosts"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 1 and "cannot reach controller at ipc://" in
          r.stderr and "is vfleet-controller running?" in r.stderr,
          "vfleetctl with no controller: exit 1, `cannot reach controller`")


def check_refused(c):
    """ADMIN.md policy.apply `refused`: a VF count change on a PF a VM
    holds a VF of refuses that host alone; vfleetctl(8): the host is named
    once, `refused: HOST: REASON`, and the rollout exits 4."""
    ctl(c, "vm", "create", "web-1", "--memory", "1G", "--vcpus", "1",
        "--nic", "vlan1", "--host", "esx-e1", "--wait", "--timeout", "10s")
    four = write("four.yaml", POLICY.replace("vfs: 2", "vfs: 4"))
    reason = re.compile(
        r"^(?:.*/)?four\.yaml:\d+:\d+: host esx-e1: pf %s \(ens1f0\): "
        r"vfs 4 would change sriov_numvfs 2 while vm web-1 holds vf \d+$" %
        PF)
    a = ok(c, "policy.apply", {"dry_run": "true", "source": "four.yaml"},
           POLICY.replace("vfs: 2", "vfs: 4"))
    check([h["host"] for h in a["hosts"]] == ["esx-e2"] and
          len(a["refused"]) == 1 and set(a["refused"][0]) ==
          {"host", "reason"} and a["refused"][0]["host"] == "esx-e1" and
          reason.match(a["refused"][0]["reason"]),
          "policy.apply: a VF count change under a VM's VF refuses that host "
          "alone, the reason as documented (%s)" % a["refused"])
    r = ctl(c, "policy", "apply", four, "--dry-run", rc=3)
    lines = [x for x in r.stdout.splitlines() if x.startswith("refused:")]
    check(len(lines) == 1 and lines[0].startswith("refused: esx-e1: "),
          "vfleetctl policy apply --dry-run: the refused host named, exit 3 "
          "(%s)" % lines)
    r = ctl(c, "policy", "apply", four, "--timeout", "10s", rc=4)
    lines = [x for x in r.stdout.splitlines() if x.startswith("refused:")]
    tail = lines[0][len("refused: esx-e1: "):] if lines else ""
    check(len(lines) == 2 and lines[0] == lines[1] and reason.match(tail),
          "vfleetctl policy apply: a refused host is named with the answer "
          "and again in the report after the wait, `refused: HOST: REASON`, "
          "exit 4 (%s)" % lines)
    s = ok(c, "policy.status", {"state": "refused"})
    check(s["counts"]["refused"] == 1 and
          [(h["host"], h["state"]) for h in s["hosts"]] ==
          [("esx-e1", "refused")] and reason.match(s["hosts"][0]["refused"]),
          "policy.status: the refused host in state refused, with the reason")


def check_down_and_back(c):
    """ADMIN.md hosts: `down` after --dead-after missed intervals (3 of
    300 ms here), not connected, counted down in summary; events
    host-down `nothing heard for N ms`, then host-up; a cordoned host
    shows cordoned true."""
    agent = c.agents["esx-e2"]
    agent.send_signal(signal.SIGSTOP)
    try:
        row = wait_until("esx-e2 is down", lambda: [
            h for h in ok(c, "hosts")["hosts"]
            if h["name"] == "esx-e2" and h["state"] == "down"])[0]
        check(row["connected"] is False and TIME.match(row["last_seen"]),
              "a down host: connected false, last_seen kept")
        s = ok(c, "summary")
        check(s["hosts"] == {"total": 2, "ready": 1, "down": 1,
                             "connected": 1},
              "summary counts the down host (%s)" % s["hosts"])
        rows = ok(c, "policy.status", {"host": "esx-e2"})["hosts"]
        check(rows[0]["connected"] is False,
              "policy.status: a down host is not connected")
        r = ctl(c, "hosts")
        check(re.search(r"^esx-e2 +down ", r.stdout, re.M),
              "vfleetctl hosts shows the state down")
    finally:
        agent.send_signal(signal.SIGCONT)
    wait_until("esx-e2 is ready again", lambda: [
        h for h in ok(c, "hosts")["hosts"]
        if h["name"] == "esx-e2" and h["state"] == "ready" and
        h["connected"]])
    events = [e for e in ok(c, "events")["events"]
              if e["host"] == "esx-e2" and e["kind"] in ("host-down",
                                                          "host-up")]
    events = events[-2:]
    check([e["kind"] for e in events] == ["host-down", "host-up"] and
          re.match(r"^nothing heard for \d+ ms$", events[0]["message"]),
          "events host-down (`nothing heard for N ms`) then host-up (%s)" %
          events)
    ok(c, "host.cordon", {"name": "esx-e2"})
    row = ok(c, "host", {"name": "esx-e2"})["host"]
    check(row["cordoned"] is True and row["state"] == "ready",
          "a cordoned host: cordoned true, state still ready")
    ok(c, "host.uncordon", {"name": "esx-e2"})


def check_rollback_stores(c):
    """ADMIN.md policy.rollback: revision N's text stored again as a new
    revision, message `rollback to revision N` by default, its commit
    kept; policy.history newest first, paged by revision."""
    first = ok(c, "policy.get", {"revision": "1"})
    a = ok(c, "policy.rollback", {"revision": "1"})
    check(a["revision"] == 3 and a["unchanged"] is False and
          a["dry_run"] is False,
          "policy.rollback 1 after revision 2: stored as revision 3 (%s)" %
          a["revision"])
    got = ok(c, "policy.get")
    check(got["revision"] == 3 and got["text"] == first["text"] and
          got["message"] == "rollback to revision 1" and
          got["author"] == "" and got["commit"] == first["commit"] and
          got["sha256"] == first["sha256"],
          "the new revision: revision 1's text and commit, message "
          "`rollback to revision 1`, author \"\" (%s)" %
          dict(got, text="..."))
    h = ok(c, "policy.history", {"limit": "1"})
    check([p["revision"] for p in h["policies"]] == [3] and
          h["next"] == "3",
          "policy.history limit 1: the newest, the cursor its revision "
          "(%r)" % h["next"])
    h = ok(c, "policy.history", {"after": h["next"]})
    check([p["revision"] for p in h["policies"]] == [2, 1] and
          h["next"] is None,
          "policy.history after \"3\": the revisions below it")
    events = [e["message"] for e in ok(c, "events")["events"]
              if e["kind"] == "policy-rollback"]
    check(len(events) == 2 and events[-1].startswith("revision 3 "),
          "a policy-rollback event for the stored rollback (%s)" % events)


def check_man_examples():
    """vfleetctl(8)'s paging example shows the hint as vfleetctl prints
    it: the cursor is a JSON array, quoted for the shell."""
    with open(os.path.join(e2e.SRC, "cli", "vfleetctl.8")) as f:
        page = f.read().replace("\\(dq", '"')
    hints = re.findall(r"more hosts follow; for the next page add --after "
                       r"(\S+)", page)
    check(hints and all(h.startswith("'[\"") for h in hints),
          "vfleetctl(8) EXAMPLES: the --after cursor as vfleetctl prints "
          "it (%s)" % hints)


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    check_controller_options()
    check_man_examples()
    c = e2e.Cluster(HOSTS, "300ms")
    try:
        c.start_ready()
        check_envelope(c)
        check_summary(c)
        check_before_policy(c)
        check_apply_errors(c)
        check_apply(c)
        check_hosts(c)
        check_host(c)
        check_pfs(c)
        check_vfs(c)
        check_status_history_get(c)
        check_rollback(c)
        check_label(c)
        check_events(c)
        check_drift(c)
        check_ctl(c)
        check_down_and_back(c)
        check_refused(c)
        check_rollback_stores(c)
    finally:
        c.stop()
    print("admin_doc_hosts_test: all checks passed")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
