#!/usr/bin/env python3
"""vm_doc_test.py - the VM half of vfleetctl(8), `vfleetctl vm ... --help`,
`plan` and deploy/demo.sh, checked statement by statement as an outside
tester reads them, against the real binaries only.

A real vfleet-controller (CURVE on the agents' socket) and two real
vfleet-agents (--kernel sim, an explicit empty --config) on generated
trees, esx-e1 and esx-e2 (vf64: one PF, ens1f0, four VFs under this
test's policy, which backs guest memory with 2M hugepages and has an
untagged network), driven only through vfleetctl as an operator types it.
What controller/ADMIN.md promises of the raw admin API is
tests/controller/admin_doc_test.py's; this test takes what the man page,
the --help texts and README.md promise of the command line: option
parsing, its messages and exit statuses (a usage error sends nothing),
table columns and -o json fields, the refusal texts (migrate, NICs of a
running VM, evacuate without --cold or of a running VM, cordon, drain),
vm apply's idempotence with every compared field and its
FILE:LINE:COLUMN errors, plan's output, the elements of vm xml, and what
deploy/demo.sh promises beyond tests/deploy/demo_test.sh: --help, an
unknown argument, and --keep (the commands it prints work, and so does
its "Stop it with" line).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "controller"))
import e2e  # noqa: E402
from e2e import check, wait_until  # noqa: E402

WORK = os.path.join(e2e.BIN, "tests", "cli", "vm_doc")
e2e.WORK = WORK
HOSTS = {"esx-e1": "vf64", "esx-e2": "vf64"}
PINNED = "passthrough VMs are pinned; live migration is not possible"
CHECKS = 0
ZERO_MAC = "00:00:00:00:00:00"

POLICY = """\
version: 1
networks:
  - name: vlan1
    vlan: 1
  - name: trunk
    trunk: true
  - name: plain
    spoof_check: true
mac_pools:
  - name: macs
    prefixes:
      - "02:76:66:00"
host_groups:
  - name: esx
    hosts: ["esx-e1", "esx-e2"]
    pfs:
      - ifname: "ens1f0"
        vfs: 4
        networks: [vlan1, trunk, plain]
memory:
  full_reservation: true
  hugepages: 2M
  hypervisor_reserve: 1G
placement:
  strategy: spread
"""


def ok(cond, msg):
    global CHECKS
    CHECKS += 1
    check(cond, msg)


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def names(c):
    return sorted(v["name"] for v in c.json("vms")["vms"])


def show(c, name):
    return c.json("vm", "show", name)


def holdings(c):
    """Every VM's host, memory, state-independent settings and NICs."""
    out = {}
    for v in c.json("vms")["vms"]:
        out[v["name"]] = (v["host"], v["memory_mib"], v["vcpus"], v["pin"],
                          v["group"], v["numa"], v["separate_pfs"],
                          [(n["network"], n["mac"], n["vf_pci"])
                           for n in v["nics"]])
    return out


def first_line(text):
    return text.split("\n", 1)[0]


# ---- --help ---------------------------------------------------------------

VM_SYNOPSIS = ["vm create NAME --memory SIZE --vcpus N --nic NET[,mac=MAC]",
               "vm delete NAME", "vm show NAME", "vm migrate NAME HOST",
               "vm power NAME on|off", "vm xml NAME",
               "vm evacuate NAME --cold [--host HOST]",
               "vm nic add NAME NETWORK [--mac MAC]",
               "vm nic remove NAME INDEX",
               "vm apply FILE [--wait] [--dry-run]",
               "vms [--host H] [--state S] [PAGING]"]
CREATE_OPTIONS = ["--memory", "--vcpus", "--nic", "--host", "--group",
                  "--numa", "--separate-pfs", "--wait", "--timeout"]


def check_help(c):
    for verb in (["vm"], ["vm", "create"], ["vm", "delete"], ["vm", "show"],
                 ["vm", "migrate"], ["vm", "power"], ["vm", "xml"],
                 ["vm", "evacuate"], ["vm", "nic"], ["vm", "nic", "add"],
                 ["vm", "nic", "remove"], ["vms"]):
        r = c.ctl(*(verb + ["--help"]), check_rc=False)
        missing = [s for s in VM_SYNOPSIS if s not in r.stdout]
        ok(r.returncode == 0 and r.stdout.startswith("usage: ") and
           not r.stderr and not missing,
           "vfleetctl %s --help: exit 0, the usage on stdout with every "
           "VM verb of the man page's synopsis (missing: %s)" %
           (" ".join(verb), missing))
    r = c.ctl("vm", "create", "--help")
    missing = [o for o in CREATE_OPTIONS + ["--cold", "--mac", "--all",
                                            "--limit", "--after", "--state"]
               if o not in r.stdout]
    ok(not missing, "vm --help names every option of vm create, evacuate, "
       "nic add and vms the man page lists (missing: %s)" % missing)
    ok("1 to 65536" in r.stdout and "1 to 8" in r.stdout,
       "vm --help gives --vcpus' and --nic's bounds as the man page does")
    r = c.ctl("vm", "apply", "--help")
    ok(r.returncode == 0 and "vm apply FILE [--wait] [--dry-run]" in r.stdout
       and "--wait" in r.stdout and "--dry-run" in r.stdout and
       "FILE:LINE:COLUMN" in r.stdout and "3 for --dry-run" in r.stdout,
       "vm apply --help: its usage, options, the error format and exit 3 "
       "of --dry-run")
    r = c.ctl("plan", "--help")
    missing = [o for o in ["--count", "--name"] + CREATE_OPTIONS[:7]
               if o not in r.stdout]
    ok(r.returncode == 0 and "plan FILE" in r.stdout and
       "at most 100000" in r.stdout and "(default plan)" in r.stdout and
       not missing,
       "plan --help: both forms, --count's bound, --name's default and vm "
       "create's options (missing: %s)" % missing)
    for sub in ("cordon", "uncordon", "drain"):
        r = c.ctl("host", sub, "--help")
        ok(r.returncode == 0 and "host cordon NAME" in r.stdout and
           "host uncordon NAME" in r.stdout and "host drain NAME" in r.stdout,
           "host %s --help: exit 0, the three host verbs" % sub)
    r = c.ctl("--help")
    ok("a vm create or vm\n                             apply that waits: "
       "for the placement\n                             (default 60s)"
       in r.stdout, "vfleetctl --help: --timeout is the placement wait of vm "
       "create --wait and vm apply --wait, 60s by default, as the man page "
       "says")
    ok("vm create --wait did not place the VM" in r.stdout and
       "plan exits 1 when a VM does not fit" in r.stdout and
       re.search(r"^  vm +create, show, delete", r.stdout, re.M) and
       re.search(r"^  plan +", r.stdout, re.M),
       "vfleetctl --help lists vm, vms and plan and the exit statuses 4 "
       "and 1 the man page gives them")


# ---- usage errors ---------------------------------------------------------

USAGE_ERRORS = [
    (["vm", "create", "u-1", "--memory", "0", "--vcpus", "1", "--nic",
      "vlan1"], "vm create: --memory '0' is not a size from 1 MiB to 16T",
     "--memory 0"),
    (["vm", "create", "u-1", "--memory", "1K", "--vcpus", "1", "--nic",
      "vlan1"], "--memory '1K' is not a size", "--memory below 1 MiB"),
    (["vm", "create", "u-1", "--memory", "1536K", "--vcpus", "1", "--nic",
      "vlan1"], "--memory '1536K' is not a size", "--memory not whole MiB"),
    (["vm", "create", "u-1", "--memory", "1.5G", "--vcpus", "1", "--nic",
      "vlan1"], "--memory '1.5G' is not a size", "--memory 1.5G"),
    (["vm", "create", "u-1", "--memory", "1GB", "--vcpus", "1", "--nic",
      "vlan1"], "--memory '1GB' is not a size", "--memory 1GB (not binary)"),
    (["vm", "create", "u-1", "--memory", "4X", "--vcpus", "1", "--nic",
      "vlan1"], "--memory '4X' is not a size", "--memory 4X"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "0", "--nic",
      "vlan1"], "vm create: --vcpus '0' is not a number from 1 to 65536",
     "--vcpus 0"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "65537", "--nic",
      "vlan1"], "vm create: --vcpus '65537' is not a number from 1 to 65536",
     "--vcpus above 65536"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "two", "--nic",
      "vlan1"], "--vcpus 'two' is not a number", "--vcpus two"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac"], "vm create: --nic 'vlan1,mac' is not NET[,mac=MAC]",
     "--nic NET,mac"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac="], "--nic 'vlan1,mac=' is not NET[,mac=MAC]",
     "--nic NET,mac= (empty)"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      ",mac=02:00:00:00:00:01"], "is not NET[,mac=MAC]", "--nic without NET"),
    # vfleetctl(8): a NIC whose network is no name or whose MAC is not a
    # unicast MAC is a usage error, and nothing is sent.
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac=zz"],
     "vm create: --nic 'vlan1,mac=zz': mac zz is not a MAC address",
     "--nic with a malformed MAC"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac=01:00:00:00:00:01"],
     "mac 01:00:00:00:00:01 is multicast", "--nic with a multicast MAC"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac=00:00:00:00:00:00"],
     "mac 00:00:00:00:00:00 means no MAC", "--nic with the zero MAC"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "bad name!"], "vm create: --nic 'bad name!': 'bad name!' is not a "
     "network name", "--nic with no network name"),
    (["plan", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1,mac=01:00:00:00:00:01"],
     "plan: --nic 'vlan1,mac=01:00:00:00:00:01': mac 01:00:00:00:00:01 is "
     "multicast", "plan --nic with a multicast MAC"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1"] +
     ["--nic", "vlan1"] * 9, "vm create: at most 8 --nic", "nine --nic"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1", "--numa", "sometimes"],
     "vm create: --numa 'sometimes' is not none, preferred or required",
     "--numa sometimes"),
    (["vm", "create", "u-1", "--vcpus", "1", "--nic", "vlan1"],
     "vm create: --memory is required", "no --memory"),
    (["vm", "create", "u-1", "--memory", "1G", "--nic", "vlan1"],
     "vm create: --vcpus is required", "no --vcpus"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1"],
     "vm create: --nic is required", "no --nic"),
    (["vm", "create", "--memory", "1G", "--vcpus", "1", "--nic", "vlan1"],
     "vm create: expected one NAME", "no NAME"),
    (["vm", "create", "u-1", "u-2", "--memory", "1G", "--vcpus", "1",
      "--nic", "vlan1"], "vm create: expected one NAME", "two NAMEs"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1", "--colour", "red"], "unknown option '--colour'",
     "an unknown option"),
    (["vm", "create", "u-1", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1", "--timeout", "0"], "--timeout '0' is not a duration",
     "--timeout 0"),
    (["vm", "power", "u-1"], "vm power: expected NAME on|off",
     "vm power without a state"),
    (["vm", "migrate", "u-1"], "vm migrate: expected NAME HOST",
     "vm migrate without a host"),
    (["vm", "show"], "vm show: expected one NAME", "vm show without NAME"),
    (["vm", "delete", "a", "b"], "vm delete: expected one NAME",
     "vm delete of two names"),
    (["vm", "xml"], "vm xml: expected one NAME", "vm xml without NAME"),
    (["vm", "evacuate", "u-1"], "vm evacuate: --cold is required: "
     "passthrough VMs are pinned to their host and only move cold",
     "vm evacuate without --cold"),
    (["vm", "nic", "add", "u-1"], "vm nic add: expected NAME NETWORK",
     "vm nic add without a network"),
    (["vm", "nic", "remove", "u-1", "first"],
     "vm nic remove: INDEX 'first' is not a NIC index (0, 1, ...)",
     "vm nic remove of a word"),
    (["vm", "nic"], "vm nic: expected add or remove", "vm nic alone"),
    (["vm", "nic", "swap", "u-1"], "vm nic: unknown command 'swap'",
     "vm nic swap"),
    (["vm"], "vm: expected create, delete, show", "vm alone"),
    (["vm", "clone", "u-1"], "vm: unknown command 'clone'", "vm clone"),
    (["vm", "apply"], "vm apply: expected one FILE", "vm apply without FILE"),
    (["vm", "apply", "a.yaml", "b.yaml"], "vm apply: expected one FILE",
     "vm apply of two files"),
    (["plan"], "plan: --memory is required", "plan without a VM"),
    (["plan", "--count", "0", "--memory", "1G", "--vcpus", "1", "--nic",
      "vlan1"], "plan: --count '0' is not a number from 1 to 100000",
     "plan --count 0"),
    (["plan", "a.yaml", "--count", "2"],
     "plan: FILE declares the VMs: no VM options with it",
     "plan FILE with --count"),
    (["plan", "a.yaml", "b.yaml"], "plan: expected one FILE or none",
     "plan of two files"),
    (["plan", "--memory", "1G", "--vcpus", "1", "--nic", "vlan1", "--numa",
      "all"], "plan: --numa 'all' is not none, preferred or required",
     "plan --numa all"),
    (["vms", "--limit", "0"], "--limit", "vms --limit 0"),
    (["host", "drain", "esx-e1", "esx-e2"],
     "host drain: expected one host NAME", "host drain of two hosts"),
]


def check_usage_errors(c):
    before = holdings(c)
    for args, text, what in USAGE_ERRORS:
        r = c.ctl(*args, check_rc=False)
        line = first_line(r.stderr)
        ok(r.returncode == 2 and line.startswith("vfleetctl: ") and
           text in line and not r.stdout,
           "%s: a usage error, exit 2, saying %r (got %d: %s)" %
           (what, text, r.returncode, line))
    ok(holdings(c) == before and
       c.json("host", "esx-e1")["host"]["cordoned"] is False,
       "no usage error sent anything: no VM was created and no host "
       "cordoned")


# ---- vm create, show, vms -------------------------------------------------

def fields(text):
    """The "key   value" lines before the first blank line."""
    out = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition("  ")
        out[key.strip()] = value.strip()
    return out


def table(text, header):
    """The rows of the table whose header line starts with header, as
    lists of columns."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                rows.append(row.split())
            return line.split(), rows
    return None, []


def check_create_show(c):
    r = c.ctl("vm", "create", "web-1", "--memory", "1G", "--vcpus", "2",
              "--nic", "vlan1", "--nic", "trunk,mac=02:00:00:00:ab:01",
              "--wait")
    f = fields(r.stdout)
    ok(r.returncode == 0 and f.get("name") == "web-1" and
       f.get("state") == "placed" and f.get("host") in HOSTS and
       f.get("memory") == "1024 MiB" and f.get("vcpus") == "2" and
       f.get("power") == "unknown" and f.get("group") == "-" and
       f.get("numa") == "none",
       "vm create --wait prints the VM as vm show does: name, state placed, "
       "host, memory, vCPUs, power, group, NUMA mode (%s)" % f)
    head, rows = table(r.stdout, "NIC ")
    ok(head == ["NIC", "NETWORK", "MAC", "PF", "VF", "PCI", "VLAN"] and
       len(rows) == 2 and rows[0][:3] == ["0", "vlan1", "02:76:66:00:00:00"]
       and rows[0][3] == "ens1f0" and rows[0][6] == "1" and
       rows[1][:3] == ["1", "trunk", "02:00:00:00:ab:01"] and
       rows[1][6] == "trunk",
       "its NIC table: index, network, MAC (the pool's lowest free one, or "
       "mac=), PF interface, VF, VF PCI address, VLAN or trunk: %s" % rows)
    ok(re.search(r"^pinned: passthrough VMs are pinned to their host",
                 r.stdout, re.M) is not None,
       "and a line \"pinned: ...\" saying what its VFs rule out")
    same = c.ctl("vm", "show", "web-1")
    ok(same.stdout == r.stdout,
       "vm show prints the VM the way vm create did")
    vm = c.json("vm", "show", "web-1")
    flipped = json.loads(c.ctl("vm", "show", "web-1", "-o", "json").stdout)
    ok(vm == flipped and vm["nics"][1]["vf_pci"] == rows[1][5],
       "global options work after the operands too (vm show NAME -o json)")
    head, rows = table(c.ctl("vms").stdout, "NAME ")
    ok(head == ["NAME", "STATE", "HOST", "MEMORY-MIB", "VCPUS", "POWER",
                "NICS", "GROUP"] and
       rows == [["web-1", "placed", vm["host"], "1024", "2", "unknown", "2",
                 "-"]],
       "vms: one line per VM, name, state, host, memory in MiB, vCPUs, "
       "power, NICs and group: %s" % rows)
    other = [h for h in HOSTS if h != vm["host"]][0]
    ok(c.json("vms", "--host", other)["vms"] == [] and
       [v["name"] for v in c.json("vms", "--host", vm["host"])["vms"]] ==
       ["web-1"] and c.json("vms", "--state", "reserved")["vms"] == [] and
       [v["name"] for v in c.json("vms", "--state", "placed")["vms"]] ==
       ["web-1"],
       "vms --host and --state keep only the VMs on that host, in that "
       "state")
    return vm


def check_sizes(c):
    """size: K, M, G, T, KiB..TiB, either case, a plain number is MiB;
    the controller rounds up to whole hugepages (2M here)."""
    for size, mib in (("4096", 4096), ("2g", 2048), ("512MiB", 512),
                      ("1gib", 1024), ("2048K", 2), ("3", 4),
                      ("1024k", 2)):
        r = c.ctl("-o", "json", "vm", "create", "size-1", "--memory", size,
                  "--vcpus", "1", "--nic", "plain", check_rc=False)
        got = json.loads(r.stdout).get("memory_mib") if r.stdout else None
        c.ctl("vm", "delete", "size-1", check_rc=False)
        ok(r.returncode == 0 and got == mib,
           "vm create --memory %s: %d MiB (%s)" % (size, mib, got))


def sim_macs(host, vfs):
    """The MACs the simulated kernel of host holds for VFs vfs of ens1f0
    (a VF it does not list has the kernel's default, all zero)."""
    held = e2e.sim_vfs(host, "ens1f0")
    return [held.get(i, [ZERO_MAC])[0] for i in vfs]


def check_delete(c):
    """vm delete: its VFs return to free and are reset, its MACs are
    released."""
    r = c.ctl("-o", "json", "vm", "create", "del-1", "--memory", "2M",
              "--vcpus", "1", "--nic", "plain,mac=02:00:00:00:ab:09",
              "--nic", "plain", "--wait")
    vm = json.loads(r.stdout)
    host, vfs = vm["host"], [n["vf"] for n in vm["nics"]]
    macs = [n["mac"] for n in vm["nics"]]
    wait_until("del-1's MACs set on its VFs",
               lambda: sim_macs(host, vfs) == macs)
    r = c.ctl("vm", "delete", "del-1")
    ok(r.stdout == "deleted vm del-1\n" and "del-1" not in names(c),
       "vm delete: the VM is gone (\"deleted vm NAME\")")
    wait_until("del-1's VFs reset", lambda: sim_macs(host, vfs) ==
               [ZERO_MAC, ZERO_MAC])
    states = {v["index"]: (v["state"], v["vm"])
              for v in c.json("vfs", "--host", host)["vfs"]}
    ok(all(states[i] == ("free", None) for i in vfs),
       "vm delete: its VFs are free again and reset (MAC %s on the "
       "host): %s" % (ZERO_MAC, states))
    r = c.ctl("-o", "json", "vm", "create", "del-2", "--memory", "2M",
              "--vcpus", "1", "--nic", "plain", "--nic",
              "plain,mac=02:00:00:00:ab:09", check_rc=False)
    again = json.loads(r.stdout or "{}").get("nics", [])
    ok(r.returncode == 0 and [n["mac"] for n in again] == macs[::-1],
       "vm delete released its MACs: the fixed one can be given again and "
       "the pool's lowest free MAC is the one it held (%s)" % again)
    c.ctl("vm", "delete", "del-2")


def refusal(r, name, rule, hosts=1):
    """A refusal as vm create prints it: the reason, then the closest
    hosts and how many hosts each rule refused."""
    lines = r.stderr.splitlines()
    return (r.returncode == 1 and lines and
            re.match(r"vfleetctl: vm\.\w+(\.\w+)?: no host fits vm %s: " %
                     re.escape(name), lines[0]) is not None and
            any(re.match(r"closest host esx-e\d \(%s\): " % rule, x)
                for x in lines[1:]) and
            any(x.startswith("%d %s refused by rule %s, such as: " %
                             (hosts, "host" if hosts == 1 else "hosts",
                              rule)) for x in lines[1:]))


def check_create_rules(c, web1):
    host = web1["host"]
    r = c.ctl("vm", "create", "db-1", "--memory", "1G", "--vcpus", "1",
              "--nic", "plain", "--host", host, "--group", "db", "--numa",
              "required")
    f = fields(r.stdout)
    ok(f.get("host") == host and f.get("group") == "db" and
       f.get("numa") == "required",
       "--host HOST: on that host; --group and --numa are shown by vm show")
    r = c.ctl("vm", "create", "db-2", "--memory", "1G", "--vcpus", "1",
              "--nic", "plain", "--host", host, "--group", "db",
              check_rc=False)
    ok(refusal(r, "db-2", "anti-affinity") and
       "runs db-1 of anti-affinity group db" in r.stderr,
       "--group: not on a host that runs another VM of the group; the "
       "refusal names the rule, \"1 host\" for one:\n%s" % r.stderr)
    r = c.ctl("vm", "create", "sep-1", "--memory", "1G", "--vcpus", "1",
              "--nic", "vlan1", "--nic", "trunk", "--separate-pfs",
              check_rc=False)
    ok(refusal(r, "sep-1", "nics", hosts=2) and
       "needs 2 separate PFs" in r.stderr,
       "--separate-pfs: each NIC on a different PF, refused on hosts of "
       "one PF, \"2 hosts\" for two:\n%s" % r.stderr)
    r = c.ctl("-o", "json", "vm", "create", "big-1", "--memory", "1T",
              "--vcpus", "1", "--nic", "vlan1", check_rc=False)
    body = json.loads(r.stdout or "{}")
    ok(refusal(r, "big-1", "memory", hosts=2) and
       set(body) == {"reasons", "closest"},
       "-o json: the refusal's JSON body on stdout, the reason on stderr")
    r = c.ctl("vm", "create", "web-1", "--memory", "1G", "--vcpus", "1",
              "--nic", "vlan1", check_rc=False)
    ok(r.returncode == 1 and
       first_line(r.stderr) == "vfleetctl: vm.create: vm web-1 exists",
       "vm create of a name that exists: exit 1 (%s)" % r.stderr.strip())
    r = c.ctl("vm", "create", "n-1", "--memory", "1G", "--vcpus", "1",
              "--nic", "vlan9", check_rc=False)
    ok(r.returncode == 1 and "network vlan9 is not defined by the policy"
       in r.stderr, "a network the policy does not define: exit 1")
    body = {"name": "cpu-1", "memory_mib": 2, "vcpus": 65537,
            "nics": [{"network": "plain"}]}
    a = e2e.request(c, "vm.create", {}, body)
    ok(a.status == "INVALID" and "vcpus" in a.error and "65536" in a.error,
       "ADMIN.md: vm.create's vcpus is 1 to 65536: 65537 is INVALID (%r)" % a)
    body["vcpus"] = 65536
    a = e2e.request(c, "vm.create", {}, body)
    ok(a.status == "OK" and a.body["vcpus"] == 65536,
       "ADMIN.md: vm.create takes vcpus 65536 (%s)" % a.status)
    c.ctl("vm", "delete", "cpu-1")
    ok(sorted(names(c)) == ["db-1", "web-1"],
       "the refused VMs were not created")


# ---- vm xml ---------------------------------------------------------------

def check_xml(c, web1):
    r = c.ctl("vm", "xml", "web-1")
    dom = ET.fromstring(r.stdout)
    mem = dom.find("memory")
    page = dom.find("memoryBacking/hugepages/page")
    ok(dom.tag == "domain" and dom.findtext("name") == "web-1" and
       mem is not None and mem.get("unit") == "KiB" and
       mem.text == str(1024 * 1024) and dom.findtext("vcpu") == "2" and
       dom.find("memoryBacking/locked") is not None and
       page is not None and page.get("size") == "2048" and
       page.get("unit") == "KiB" and dom.findtext("os/type") == "hvm",
       "vm xml: name, memory in KiB, vCPUs, locked memory backing with the "
       "policy's hugepage size (2M), hvm")
    ifaces = dom.findall("devices/interface")
    good = len(ifaces) == 2
    for iface, nic in zip(ifaces, web1["nics"]):
        addr = iface.find("source/address")
        want = re.match(r"(\w{4}):(\w\w):(\w\w)\.(\w)$", nic["vf_pci"])
        good = good and (
            iface.get("type") == "hostdev" and
            iface.get("managed") == "yes" and
            iface.find("mac").get("address") == nic["mac"] and
            addr.get("type") == "pci" and
            [int(addr.get(k), 16) for k in
             ("domain", "bus", "slot", "function")] ==
            [int(x, 16) for x in want.groups()])
    tags = [i.find("vlan/tag") for i in ifaces]
    ok(good and tags[0] is not None and tags[0].get("id") == "1" and
       tags[1] is None,
       "per NIC an <interface type='hostdev' managed='yes'> with the VF's "
       "PCI address and the NIC's MAC; VLAN 1 tagged, the trunk not")
    dom = ET.fromstring(c.ctl("vm", "xml", "db-1").stdout)
    ok(len(dom.findall("devices/interface")) == 1 and
       dom.find("devices/interface/vlan") is None,
       "vm xml: no <vlan> for a network of VLAN 0 (untagged)")
    r = c.ctl("vm", "xml", "nope", check_rc=False)
    ok(r.returncode == 1 and not r.stdout and "nope" in r.stderr,
       "vm xml of an unknown VM: exit 1, nothing on stdout")


def check_failed_vm(c):
    """A VM whose host refuses its VF settings is failed: vm show says why,
    vm xml refuses it, vm apply says to delete it."""
    state = os.path.join(WORK, "esx-e2", "sys", ".vfleet-sim", "state")
    saved = state + ".saved"
    os.rename(state, saved)
    os.mkdir(state)  # the simulated kernel cannot store the VF's MAC
    bad2 = write("bad-2.yaml", "version: 1\nvms:\n  - name: bad-2\n"
                 "    memory: 2M\n    vcpus: 1\n    host: esx-e2\n"
                 "    nics:\n      - network: plain\n")
    try:
        r = c.ctl("vm", "create", "bad-1", "--memory", "2M", "--vcpus", "1",
                  "--nic", "plain", "--host", "esx-e2", "--wait",
                  "--timeout", "20", check_rc=False)
        applied = c.ctl("vm", "apply", bad2, "--wait", "--timeout", "20",
                        check_rc=False)
    finally:
        os.rmdir(state)
        os.rename(saved, state)
    ok(applied.returncode == 1 and re.match(
        r"bad-2: created, but failed: .*kernel refused.*\n%s: 1 VMs: 0 "
        r"created, 0 unchanged, 0 refused, 1 failed\n$" % re.escape(bad2),
        applied.stdout),
       "vm apply --wait of a VM its host refused: an error saying it "
       "failed, exit 1:\n%s" % applied.stdout)
    c.ctl("vm", "delete", "bad-2")
    f = fields(r.stdout)
    ok(r.returncode == 4 and f.get("state") == "failed" and
       f.get("host") == "-" and "kernel refused" in f.get("error", "") and
       "vm bad-1 was not placed: it is failed" in r.stderr,
       "vm create --wait of a VM its host refused: exit 4, vm show's "
       "\"error\" line says why (%d, %s)" % (r.returncode, f))
    r = c.ctl("vm", "xml", "bad-1", check_rc=False)
    ok(r.returncode == 1 and not r.stdout and "holds no VF" in r.stderr,
       "vm xml of a failed VM (it holds no VF): exit 1 (%s)" %
       r.stderr.strip())
    path = write("failed.yaml", "version: 1\nvms:\n  - name: bad-1\n"
                 "    memory: 2M\n    vcpus: 1\n    host: esx-e2\n"
                 "    nics:\n      - network: plain\n")
    r = c.ctl("vm", "apply", path, check_rc=False)
    ok(r.returncode == 1 and re.search(
        r"^bad-1: exists but failed: .*kernel refused.*; delete it and "
        r"apply again to place it$", r.stdout, re.M) and
       "%s: 1 VMs: 0 created, 0 unchanged, 0 refused, 1 failed" % path
       in r.stdout,
       "vm apply of a VM that exists but failed: an error saying to delete "
       "it, exit 1:\n%s" % r.stdout)
    failed = show(c, "bad-1")
    r = c.ctl("vm", "evacuate", "bad-1", "--cold")
    anew = show(c, "bad-1")
    ok(failed["nics"][0]["vf"] is None and fields(r.stdout).get("host") ==
       "esx-e2" and anew["state"] in ("reserved", "placed") and
       anew["nics"][0]["mac"] == failed["nics"][0]["mac"],
       "a failed VM holds no VF but keeps its MAC; vm evacuate --cold "
       "places it anew (on its pinned host), with that MAC")
    c.ctl("vm", "delete", "bad-1")


# ---- pinned: migrate, power, NICs, evacuate -------------------------------

def check_pinned(c, web1):
    host = web1["host"]
    other = [h for h in HOSTS if h != host][0]
    r = c.ctl("vm", "migrate", "web-1", other, check_rc=False)
    want = ("vfleetctl: vm.migrate: web-1 holds 2 SR-IOV VFs on %s "
            "(ens1f0 VF %d, ens1f0 VF %d): %s" %
            (host, web1["nics"][0]["vf"], web1["nics"][1]["vf"], PINNED))
    ok(r.returncode == 1 and r.stderr.strip() == want and not r.stdout,
       "vm migrate: always refused, exit 1, naming its VFs as the man page's "
       "example does: %s" % r.stderr.strip())
    r = c.ctl("vm", "power", "web-1", "standby", check_rc=False)
    ok(r.returncode == 1 and "\"standby\" is not on or off" in r.stderr,
       "vm power NAME standby: the controller refuses another word, exit 1")
    r = c.ctl("vm", "power", "web-1", "on")
    ok(fields(r.stdout).get("power") == "on",
       "vm power NAME on records it and prints the VM")
    r = c.ctl("vm", "nic", "add", "web-1", "plain", check_rc=False)
    ok(r.returncode == 1 and "an SR-IOV NIC cannot be hot-added to a "
       "running VM; power it off first (vm power web-1 off)" in r.stderr,
       "vm nic add of a running VM: refused, exit 1 (%s)" % r.stderr.strip())
    r = c.ctl("vm", "nic", "remove", "web-1", "1", check_rc=False)
    ok(r.returncode == 1 and "cannot be hot-removed" in r.stderr,
       "vm nic remove of a running VM: refused, exit 1")
    r = c.ctl("vm", "evacuate", "web-1", "--cold", check_rc=False)
    ok(r.returncode == 1 and "vm web-1 on %s is powered on: power it off "
       "first (vm power web-1 off)" % host in r.stderr,
       "vm evacuate --cold of a VM powered on: refused, exit 1 (%s)" %
       r.stderr.strip())
    ok(show(c, "web-1")["host"] == host and
       show(c, "web-1")["nics"] == web1["nics"],
       "the refusals left the VM and its NICs where they were")
    c.ctl("vm", "power", "web-1", "off")
    macs = [n["mac"] for n in web1["nics"]]
    r = c.ctl("vm", "nic", "add", "web-1", "plain", "--mac",
              "02:00:00:00:ab:02")
    head, rows = table(r.stdout, "NIC ")
    ok([row[2] for row in rows] == macs + ["02:00:00:00:ab:02"] and
       rows[2][1] == "plain" and fields(r.stdout).get("host") == host,
       "vm nic add of a VM powered off: one more NIC with --mac, on its "
       "host, its MACs kept, printed as vm show does: %s" % rows)
    # Placed before the NIC goes again: a change undone within the
    # controller's planning delay leaves the host's desired state as it was,
    # which the controller takes for a host it cannot plan, and fails the VM.
    wait_until("web-1 placed with 3 NICs",
               lambda: show(c, "web-1")["state"] == "placed")
    r = c.ctl("vm", "nic", "remove", "web-1", "5", check_rc=False)
    ok(r.returncode == 1 and "is not a NIC of vm web-1 (0 to 2)" in r.stderr,
       "vm nic remove of an index it does not have: exit 1")
    r = c.ctl("vm", "nic", "remove", "web-1", "2")
    head, rows = table(r.stdout, "NIC ")
    ok([row[2] for row in rows] == macs,
       "vm nic remove INDEX (from 0): the NIC goes, the others keep their "
       "MACs")
    wait_until("web-1 placed with 2 NICs",
               lambda: show(c, "web-1")["state"] == "placed")
    c.ctl("vm", "power", "db-1", "off")
    r = c.ctl("vm", "nic", "remove", "db-1", "0", check_rc=False)
    ok(r.returncode == 1 and "keeps at least one" in r.stderr,
       "a VM keeps at least one NIC (%s)" % r.stderr.strip())
    c.ctl("host", "cordon", other)
    r = c.ctl("vm", "evacuate", "web-1", "--cold", "--host", other,
              check_rc=False)
    ok(refusal(r, "web-1", "cordoned"),
       "vm evacuate --cold when no host fits: printed as vm create prints "
       "a refusal, exit 1:\n%s" % r.stderr)
    c.ctl("host", "uncordon", other)
    ok(show(c, "web-1")["state"] == "placed" and
       show(c, "web-1")["power"] == "off", "web-1 is placed and powered off")
    r = c.ctl("vm", "evacuate", "web-1", "--cold", "--host", other)
    f = fields(r.stdout)
    moved = show(c, "web-1")
    ok(f.get("host") == other and moved["host"] == other and
       [n["mac"] for n in moved["nics"]] == macs,
       "vm evacuate --cold --host HOST of a VM powered off: re-placed on "
       "HOST, its MACs kept, printed as vm show does")
    return moved


# ---- host cordon, uncordon, drain -----------------------------------------

def check_hosts(c, web1):
    host = web1["host"]
    r = c.ctl("host", "cordon", "esx-e1")
    ok(fields(r.stdout) == {"host": "esx-e1", "cordoned": "yes"},
       "host cordon: the host and whether it is cordoned")
    ok(c.json("host", "cordon", "esx-e1") == {"host": "esx-e1",
                                               "cordoned": True},
       "host cordon -o json: {host, cordoned}")
    r = c.ctl("vm", "create", "c-1", "--memory", "2M", "--vcpus", "1",
              "--nic", "plain", "--host", "esx-e1", check_rc=False)
    ok(refusal(r, "c-1", "cordoned"),
       "no new VM is placed on a cordoned host:\n%s" % r.stderr)
    r = c.ctl("host", "uncordon", "esx-e1")
    ok(fields(r.stdout) == {"host": "esx-e1", "cordoned": "no"},
       "host uncordon: cordoned no")
    c.ctl("vm", "power", "web-1", "on")
    c.ctl("vm", "create", "off-1", "--memory", "2M", "--vcpus", "1", "--nic",
          "plain", "--host", host)
    c.ctl("vm", "power", "off-1", "off")
    before = holdings(c)
    r = c.ctl("host", "drain", host)
    head, rows = table(r.stdout, "VM ")
    on_host = sorted(n for n, v in before.items() if v[0] == host)
    ok(fields(r.stdout) == {"host": host, "cordoned": "yes"} and
       head == ["VM", "STATE", "POWER"] and
       sorted(row[0] for row in rows) == on_host,
       "host drain: cordons the host and lists its VMs with state and "
       "power: %s" % rows)
    off_first = re.search(r"^power off first +(.*)$", r.stdout, re.M)
    want = sorted(row[0] for row in rows if row[2] != "off")
    ok(off_first and sorted(off_first.group(1).split()) == want == ["web-1"]
       and
       "its VMs are pinned to the host: nothing is moved" in r.stdout,
       "host drain names on \"power off first\" the VMs whose power is "
       "not off (%s)" % (off_first and off_first.group(1)))
    ok(holdings(c) == before, "host drain moved nothing")
    doc = c.json("host", "drain", host)
    ok(set(doc) == {"host", "cordoned", "vms", "power_off_first"} and
       sorted(doc["power_off_first"]) == want,
       "host drain -o json: host, cordoned, vms, power_off_first")
    c.ctl("host", "uncordon", host)
    c.ctl("vm", "delete", "off-1")
    for verb in ("cordon", "uncordon", "drain"):
        r = c.ctl("host", verb, "esx-e9", check_rc=False)
        ok(r.returncode == 1 and "esx-e9" in r.stderr,
           "host %s of an unknown host: exit 1" % verb)
        r = c.ctl("host", verb, check_rc=False)
        ok(r.returncode == 1 and "no host named \"%s\"" % verb in r.stderr,
           "host %s alone shows a host named %s (exit 1 here: %s)" %
           (verb, verb, r.stderr.strip()))


# ---- vm apply -------------------------------------------------------------

BAD_FILE = """\
version: 1
vms:
  - name: f-1
    memory: 1G
    vcpus: 0
    nics:
      - network: vlan1
  - name: f-1
    memory: 1X
    vcpu: 1
    nics: []
"""
BAD_ERRORS = [
    ":5:12: vcpus: 0 is out of range 1..65536",
    ":8:5: duplicate vm 'f-1' (first at 3:5)",
    ":8:5: vm: missing required key 'vcpus'",
    ":9:13: memory: expected a size like 512M, 4G or 1T, got '1X'",
    ":10:5: unknown key 'vcpu' in vm (did you mean 'vcpus'?)",
    ":11:11: nics: a VM needs at least one NIC",
]

# Every field vm apply compares (vfleetctl(8)): memory (rounded up to
# whole hugepages by the controller: 3M is stored as 4 MiB), vCPUs, the
# networks in order, a fixed MAC (given in capitals), the pinned host,
# the group, numa and separate_pfs.
FULL_FILE = """\
version: 1
vms:
  - name: app-1
    memory: 3M
    vcpus: 3
    nics:
      - network: vlan1
      - network: trunk
        mac: "02:00:00:00:AB:03"
    host: esx-e2
    group: apps
    numa: preferred
    separate_pfs: false
  - name: app-2
    memory: 1G
    vcpus: 1
    nics:
      - network: plain
"""


def check_apply_invalid(c):
    before = holdings(c)
    bad = write("bad.yaml", BAD_FILE)
    for verb in (["vm", "apply"], ["plan"]):
        r = c.ctl(*(verb + [bad]), check_rc=False)
        lines = r.stderr.splitlines()
        ok(r.returncode == 1 and not r.stdout and
           lines == [bad + e for e in BAD_ERRORS],
           "%s of an invalid file: every error as FILE:LINE:COLUMN: message, "
           "in file order, exit 1:\n%s" % (" ".join(verb), r.stderr))
    absent = os.path.join(WORK, "absent.yaml")
    r = c.ctl("vm", "apply", absent, check_rc=False)
    ok(r.returncode == 1 and r.stderr.startswith(absent + ":") and
       "No such file" in r.stderr, "vm apply of an unreadable file: exit 1, "
       "naming it (%s)" % r.stderr.strip())
    ok(holdings(c) == before, "an invalid file sent nothing")


def check_apply_twice(c):
    """Returns the file and what the controller holds after it."""
    before = holdings(c)
    full = write("full.yaml", FULL_FILE)
    r = c.ctl("vm", "apply", full, "--dry-run", check_rc=False)
    ok(r.returncode == 3 and r.stdout ==
       "app-1: would be created\napp-2: would be created\n%s: 2 VMs: 2 would "
       "be created, 0 unchanged, 0 failed (dry run: nothing was changed)\n" %
       full and holdings(c) == before,
       "vm apply --dry-run: \"NAME: would be created\", the dry run's "
       "summary, exit 3, nothing changed:\n%s" % r.stdout)
    doc = json.loads(c.ctl("-o", "json", "vm", "apply", full, "--dry-run",
                           check_rc=False).stdout)
    ok(doc["dry_run"] is True and doc["would_create"] == 2 and
       [v["result"] for v in doc["vms"]] == ["would-create"] * 2,
       "vm apply --dry-run -o json: dry_run true, would-create, "
       "would_create")
    r = c.ctl("vm", "apply", full, "--wait")
    ok(re.match(r"app-1: created on esx-e2, placed\n"
                r"app-2: created on esx-e\d, placed\n%s: 2 VMs: 2 created, "
                r"0 unchanged, 0 refused, 0 failed\n$" % re.escape(full),
                r.stdout),
       "vm apply --wait: \"NAME: created on HOST, placed\" per VM in file "
       "order and the summary line:\n%s" % r.stdout)
    app1 = show(c, "app-1")
    ok(app1["memory_mib"] == 4 and app1["pin"] == "esx-e2" and
       app1["group"] == "apps" and app1["numa"] == "preferred" and
       app1["nics"][1]["mac"] == "02:00:00:00:ab:03",
       "the file's settings reached the controller (memory rounded to 2M "
       "pages, the MAC in lower case)")
    created = holdings(c)
    for extra, summary in (
            ([], "0 created, 2 unchanged, 0 refused, 0 failed"),
            (["--dry-run"], "0 would be created, 2 unchanged, 0 failed "
             "(dry run: nothing was changed)")):
        r = c.ctl("vm", "apply", full, *extra, check_rc=False)
        ok(r.returncode == 0 and r.stdout ==
           "app-1: unchanged\napp-2: unchanged\n%s: 2 VMs: %s\n" %
           (full, summary),
           "vm apply %s of the same file again: every VM unchanged, exit "
           "0:\n%s" % (" ".join(extra), r.stdout))
    ok(holdings(c) == created,
       "applying the same file twice changed nothing on the controller")
    return full, created


def check_apply_errors(c, full, created):
    changed = (FULL_FILE.replace("vcpus: 3", "vcpus: 4")
               .replace("numa: preferred", "numa: required")
               .replace("group: apps", "group: other")
               .replace("separate_pfs: false", "separate_pfs: true")
               .replace("host: esx-e2", "host: esx-e1")
               .replace("AB:03", "AB:04")
               .replace("network: plain", "network: vlan1"))
    other = write("other.yaml", changed)
    r = c.ctl("vm", "apply", other, check_rc=False)
    ok(r.returncode == 1 and
       "app-1: exists with different settings (vcpus 3 -> 4, nic 1 mac "
       "02:00:00:00:ab:03 -> 02:00:00:00:ab:04, host esx-e2 -> esx-e1, "
       "group apps -> other, numa preferred -> required, separate_pfs false "
       "-> true); delete it first: a passthrough VM's NICs and memory cannot "
       "change in place\n" in r.stdout and
       "app-2: exists with different settings (nics [plain] -> [vlan1]); "
       in r.stdout and
       "%s: 2 VMs: 0 created, 0 unchanged, 0 refused, 2 failed\n" % other
       in r.stdout,
       "vm apply naming each difference, stored value first, exit 1:\n%s" %
       r.stdout)
    ok(holdings(c) == created, "a file with differences changed nothing")
    refused = write("refused.yaml", "version: 1\nvms:\n" + "".join(
        "  - name: %s\n    memory: 2M\n    vcpus: 1\n%s    nics:\n"
        "      - network: %s\n%s" % (name, pin, net, mac)
        for name, pin, net, mac in (
            ("r-1", "", "vlan9", ""),
            ("r-2", "    host: esx-e9\n", "vlan1", ""),
            ("r-3", "", "vlan1", "        mac: \"02:00:00:00:ab:03\"\n"))))
    r = c.ctl("vm", "apply", refused, check_rc=False)
    ok(r.returncode == 1 and r.stdout ==
       "r-1: refused: network vlan9 is not defined by the policy\n"
       "r-2: refused: host esx-e9 is not known\n"
       "r-3: refused: mac 02:00:00:00:ab:03 is held by vm app-1\n"
       "%s: 3 VMs: 0 created, 0 unchanged, 3 refused, 0 failed\n" % refused,
       "vm apply: a VM the controller refuses to place (an undefined "
       "network, an unknown host, a MAC another VM holds) is \"NAME: "
       "refused: REASON\", exit 1:\n%s" % r.stdout)
    ok(holdings(c) == created, "the refused VMs were not created")
    gone = os.path.join(WORK, "nobody", "admin.sock")
    r = subprocess.run([e2e.CTL, "-c", "ipc://" + gone, "vm", "apply", full],
                       capture_output=True, text=True, timeout=30)
    ok(r.returncode == 1 and r.stdout ==
       "app-1: error: no answer from the controller\n%s: 2 VMs: 0 created, "
       "0 unchanged, 0 refused, 1 failed\n%s: stopped: 1 VMs not applied\n"
       % (full, full) and "cannot reach controller" in r.stderr,
       "a controller that does not answer stops the run, exit 1:\n%s%s" %
       (r.stdout, r.stderr))
    for name in ("app-1", "app-2"):
        c.ctl("vm", "delete", name)


# ---- plan -----------------------------------------------------------------

def free_vfs(c):
    return sum(h["vfs_free"] for h in c.json("hosts")["hosts"])


def check_plan(c):
    before = holdings(c)
    free = free_vfs(c)
    r = c.ctl("plan", "--count", str(free + 1), "--memory", "2M", "--vcpus",
              "1", "--nic", "plain", "--name", "p", check_rc=False)
    lines = r.stdout.splitlines()
    head, rows = table(r.stdout, "HOST ")
    ok(r.returncode == 1 and lines[0] == "%d of %d fit" % (free, free + 1)
       and head == ["HOST", "VMS"] and
       sum(int(row[1]) for row in rows) == free and
       {row[0] for row in rows} <= set(HOSTS),
       "plan --count N: \"fit of requested fit\", a table of how many went "
       "to each host, exit 1 when one did not fit:\n%s" % r.stdout)
    ok(re.search(r"^first refused: p-%d: no host fits vm p-%d: " %
                 (free + 1, free + 1), r.stdout, re.M) and
       re.search(r"^closest host esx-e\d \(nics\): ", r.stdout, re.M) and
       re.search(r"^2 hosts refused by rule nics, such as: ", r.stdout,
                 re.M),
       "plan: \"first refused: NAME: error\" (named BASE-N with --name), "
       "its closest hosts and the rules, as vm create prints a refusal")
    r = c.ctl("plan", "--memory", "2M", "--vcpus", "1", "--nic", "plain")
    ok(r.stdout.startswith("1 of 1 fit\n") and "first refused" not in
       r.stdout, "plan without --count tries one VM; exit 0 when all fit")
    r = c.ctl("plan", "--count", "3", "--memory", "1T", "--vcpus", "1",
              "--nic", "plain", check_rc=False)
    ok(r.returncode == 1 and "first refused: plan-1: " in r.stdout and
       "refused by rule memory" in r.stdout,
       "plan's copies are named plan-1 ... by default; what runs out first "
       "(memory) is named")
    path = write("plan.yaml", "version: 1\nvms:\n  - name: x-1\n"
                 "    memory: 1G\n    vcpus: 1\n    nics:\n"
                 "      - network: vlan1\n  - name: x-2\n    memory: 1G\n"
                 "    vcpus: 1\n    nics:\n      - network: trunk\n")
    r = c.ctl("plan", path)
    ok(r.stdout.startswith("2 of 2 fit\n"), "plan FILE: the file's VMs")
    doc = c.json("plan", "--count", "2", "--memory", "2M", "--vcpus", "1",
                 "--nic", "vlan1")
    ok(doc["requested"] == 2 and doc["fit"] == 2,
       "plan -o json prints the controller's answer")
    ok(holdings(c) == before, "plan created nothing")


# ---- a host that goes down ------------------------------------------------

def check_host_down(c):
    """Its VMs stay assigned to it, shown host-down; a cold evacuation
    moves one even while it is powered on, its MACs kept."""
    vm = show(c, "web-1")
    host = vm["host"]
    other = [h for h in HOSTS if h != host][0]
    agent = c.agents[host]
    slow = write("slow.yaml", "version: 1\nvms:\n  - name: slow-1\n"
                 "    memory: 2M\n    vcpus: 1\n    host: %s\n    nics:\n"
                 "      - network: plain\n" % host)
    agent.send_signal(signal.SIGSTOP)
    try:
        r = c.ctl("vm", "apply", slow, "--wait", "--timeout", "1",
                  check_rc=False)
    finally:
        agent.send_signal(signal.SIGCONT)
    ok(r.returncode == 1 and r.stdout ==
       "slow-1: created on %s, but not placed within 1 s\n%s: 1 VMs: 0 "
       "created, 0 unchanged, 0 refused, 1 failed\n" % (host, slow),
       "vm apply --wait --timeout 1 while the host's agent does not answer: "
       "not placed in time is an error, exit 1:\n%s" % r.stdout)
    wait_until("slow-1 placed once the agent answers",
               lambda: show(c, "slow-1")["state"] == "placed")
    c.ctl("vm", "delete", "slow-1")
    agent.send_signal(signal.SIGKILL)
    agent.wait()
    wait_until("%s is down" % host, lambda: c.json("host", host)["host"]
               ["state"] == "down", 20)
    head, rows = table(c.ctl("vms", "--state", "host-down").stdout, "NAME ")
    ok([row[:3] for row in rows] == [["web-1", "host-down", host]],
       "a host that goes down keeps its VMs, shown host-down: %s" % rows)
    r = c.ctl("vm", "migrate", "web-1", other, check_rc=False)
    ok(r.returncode == 1 and PINNED in r.stderr,
       "vm migrate of a VM on a down host: still refused, exit 1")
    ok(show(c, "web-1")["power"] == "on", "web-1 is powered on")
    r = c.ctl("vm", "evacuate", "web-1", "--cold")
    moved = show(c, "web-1")
    ok(fields(r.stdout).get("host") == other and moved["host"] == other and
       [n["mac"] for n in moved["nics"]] == [n["mac"] for n in vm["nics"]],
       "vm evacuate --cold of a VM whose host is down: re-placed on another "
       "host, its MACs kept, though it is powered on")


# ---- deploy/demo.sh -------------------------------------------------------

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def check_demo():
    demo = os.path.join(e2e.SRC, "deploy", "demo.sh")
    r = subprocess.run([demo, "--help"], capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout.startswith(
        "Usage: deploy/demo.sh [--keep] [--work DIR] [--build-dir DIR] "
        "[--port N]\n") and all(o in r.stdout for o in (
            "--keep", "--work DIR", "--build-dir DIR", "--port N")),
       "deploy/demo.sh --help: exit 0, every option README names")
    r = subprocess.run([demo, "--colour"], capture_output=True, text=True)
    ok(r.returncode == 2 and "unknown argument: --colour" in r.stderr,
       "deploy/demo.sh with an unknown argument: exit 2, naming it")
    for port in ("abc", "0", "65536"):
        r = subprocess.run([demo, "--port", port], capture_output=True,
                           text=True, timeout=30)
        ok(r.returncode == 2 and "--port %s is not a port number" % port in
           r.stderr and not r.stdout,
           "deploy/demo.sh --port %s: exit 2 before it installs or builds "
           "anything" % port)
    work = os.path.join(WORK, "demo")
    # Into a file, not a pipe: the processes --keep leaves running hold
    # the demo's standard output open.
    with open(os.path.join(WORK, "demo.out"), "w+") as out:
        r = subprocess.run([demo, "--keep", "--work", work, "--build-dir",
                            e2e.BIN, "--port", str(e2e.free_port())],
                           stdout=out, stderr=subprocess.STDOUT, timeout=240)
        out.seek(0)
        r.stdout, r.stderr = out.read(), ""
    stop = re.search(r"^Stop it with: kill((?: \d+)+)$", r.stdout, re.M)
    pids = [int(p) for p in stop.group(1).split()] if stop else []
    try:
        ok(r.returncode == 0 and "Explore it with:" in r.stdout and stop and
           len(pids) == 3 and all(alive(p) for p in pids),
           "deploy/demo.sh --keep: exit 0, the cluster keeps running (the "
           "controller and the agents of esx-e1 and esx-e3) and it prints "
           "the commands to explore it and how to stop it:\n%s%s" %
           (r.stdout[-1500:], r.stderr[-1500:]))
        env = dict(os.environ)
        export = re.search(r"^  export VFLEET_CONTROLLER=(\S+)$", r.stdout,
                           re.M)
        env["VFLEET_CONTROLLER"] = export.group(1) if export else ""
        ctl = os.path.join(e2e.BIN, "cli", "vfleetctl")
        cmds = re.findall(r"^  %s (.+)$" % re.escape(ctl), r.stdout, re.M)
        ok(export and len(cmds) >= 5, "it prints the export and the "
           "commands: %s" % cmds)
        for cmd in cmds:
            run = subprocess.run([ctl] + cmd.split(), capture_output=True,
                                 text=True, env=env, timeout=30)
            if cmd.startswith("plan "):
                fit = re.match(r"(\d+) of (\d+) fit", run.stdout)
                ok(fit and int(fit.group(1)) >= 1 and run.returncode ==
                   (0 if fit.group(1) == fit.group(2) else 1),
                   "the suggested `vfleetctl %s` finds room for a VM and "
                   "exits as plan does: %s" % (cmd, first_line(run.stdout)))
            else:
                ok(run.returncode == 0 and run.stdout,
                   "the suggested `vfleetctl %s` works (%d: %s)" %
                   (cmd, run.returncode, first_line(run.stderr)))
        r = subprocess.run(["kill"] + [str(p) for p in pids],
                           capture_output=True, text=True)
        ok(r.returncode == 0, "its \"Stop it with: kill ...\" line names "
           "only running processes (%s)" % r.stderr.strip())
        wait_until("the demo's processes stop",
                   lambda: not any(alive(p) for p in pids), timeout=20)
        ok(True, "and stops the cluster")
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def main():
    start = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    write("empty.conf", "")
    c = e2e.Cluster(HOSTS, "300ms")
    try:
        c.start_ready()
        c.ctl("policy", "apply", write("policy.yaml", POLICY))
        check_help(c)
        check_usage_errors(c)
        web1 = check_create_show(c)
        check_sizes(c)
        check_delete(c)
        check_create_rules(c, web1)
        check_xml(c, web1)
        check_failed_vm(c)
        web1 = check_pinned(c, web1)
        check_hosts(c, web1)
        check_apply_invalid(c)
        check_apply_errors(c, *check_apply_twice(c))
        check_plan(c)
        check_host_down(c)
    finally:
        c.stop()
    check_demo()
    print("vm_doc_test: all %d checks passed in %.1f s" %
          (CHECKS, time.time() - start))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
