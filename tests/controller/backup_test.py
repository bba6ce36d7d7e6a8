#!/usr/bin/env python3
"""backup_test.py - vfleet-controller --backup and --restore, as
vfleet-controller(8) and controller/README.md ("Backup and restore") state
them, with real processes: a controller (CURVE) and two agents on
generated trees (simulated kernel).

- --backup beside the running controller, while clients place VMs: the
  copy is one file (no -wal beside it), mode 0600, integrity_check ok,
  and the schema's invariants hold in it (sqlite3 shell);
- a quiet backup, then the cluster moves on (a VM created, one deleted);
- --restore while the controller runs is refused, exit 1, "stop it
  first", and changes nothing;
- controller stopped: --restore of a file that is not a vfleet database:
  exit 1, nothing changed; --restore puts the copy in place and keeps the
  replaced database as vfleet.db.before-restore (which still holds what
  came after the backup);
- run as root, the restored database and its lock file get the owner of
  the state directory;
- the controller started again serves the VMs of the backup, and the
  agents, which hold newer desired revisions, converge to it: the VFs of
  the restored VMs carry their MACs again, and the VF of the VM created
  after the backup is back to the clean default;
- usage: --backup with --restore exits 2; --backup of a missing database
  exits 1 and writes nothing.
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check, fail  # noqa: E402

HOSTS = {"esx-b1": "vf64", "esx-b2": "vf64"}
PF_IFNAME = "ens1f0"
VFS_PER_HOST = 8
CLEAN = ("00:00:00:00:00:00", "0")
WORK = os.path.join(e2e.BIN, "tests", "controller", "backup")
e2e.WORK = WORK
STATE = os.path.join(WORK, "controller")
DB = os.path.join(STATE, "vfleet.db")

POLICY = """version: 1
networks:
  - name: red
    vlan: 10
mac_pools:
  - name: backup
    prefixes: ["02:76:78:00"]
host_groups:
  - name: all
    hosts: [%s]
    pfs:
      - ifname: "%s"
        vfs: %d
        networks: [red]
memory:
  full_reservation: true
  hugepages: none
  hypervisor_reserve: 1G
placement:
  strategy: spread
""" % (", ".join('"%s"' % h for h in HOSTS), PF_IFNAME, VFS_PER_HOST)


def controller(*args):
    """vfleet-controller ARGS as a one-shot command on the test's state
    directory."""
    return subprocess.run([e2e.CONTROLLER, "--config", "/dev/null",
                           "--state-dir", STATE] + list(args),
                          capture_output=True, text=True, timeout=60)


def sql(path, query):
    r = subprocess.run(["sqlite3", path, query], capture_output=True,
                       text=True)
    if r.returncode != 0:
        fail("sqlite3 %s %r: %s" % (path, query, r.stderr))
    return r.stdout.strip()


def check_copy(path):
    """A backup is one intact file of this schema, private, with the
    placement invariants."""
    check(not os.path.exists(path + "-wal"), "%s has no -wal beside it" %
          path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "%s is mode 0600 (%o)" % (path, mode))
    check(sql(path, "PRAGMA integrity_check") == "ok",
          "%s: integrity_check ok" % path)
    check(sql(path, "PRAGMA journal_mode") == "delete",
          "%s is not in WAL mode (one self-contained file)" % path)
    check(sql(path, "SELECT vf_id FROM vm_nics WHERE vf_id IS NOT NULL"
              " GROUP BY vf_id HAVING count(*) > 1") == "",
          "%s: no VF held by two NICs" % path)
    check(sql(path, "SELECT count(*) FROM vm_nics JOIN vms ON vms.id ="
              " vm_nics.vm_id JOIN vfs ON vfs.id = vm_nics.vf_id"
              " JOIN pfs ON pfs.id = vfs.pf_id"
              " WHERE pfs.host_id IS NOT vms.host_id") == "0",
          "%s: every NIC on its VM's host" % path)


def vm_names(path):
    return set(filter(None, sql(path, "SELECT name FROM vms").split("\n")))


def backup_under_load(c):
    """--backup while a client keeps placing VMs."""
    stop = threading.Event()

    def place():
        i = 0
        while not stop.is_set() and i < 6:
            c.ctl("vm", "create", "load-%d" % i, "--memory", "1G", "--vcpus", "1", "--nic",
                  "red")
            i += 1

    t = threading.Thread(target=place)
    t.start()
    try:
        for n in range(3):
            r = controller("--backup", os.path.join(WORK, "load-%d.db" % n))
            check(r.returncode == 0, "--backup beside placements exits 0: %s"
                  % (r.stdout + r.stderr).strip())
            check_copy(os.path.join(WORK, "load-%d.db" % n))
    finally:
        stop.set()
        t.join()
    for i in range(6):
        c.ctl("vm", "delete", "load-%d" % i, check_rc=False)


def kernel_diffs(c):
    """Placed VMs' VFs that do not carry their MAC and VLAN, and VFs no VM
    holds that are not clean, in the simulated kernels."""
    held, diffs = {}, []
    for v in c.json("vms")["vms"]:
        for n in v["nics"]:
            held[(v["host"], n["vf"])] = v["name"]
            got = tuple(e2e.sim_vfs(v["host"], PF_IFNAME).get(
                n["vf"], CLEAN)[:2])
            if v["state"] == "placed" and got != (n["mac"], "10"):
                diffs.append("%s VF %s: %s, %s wants %s" %
                             (v["host"], n["vf"], got, v["name"], n["mac"]))
    for host in HOSTS:
        for index, f in e2e.sim_vfs(host, PF_IFNAME).items():
            if (host, index) not in held and tuple(f[:2]) != CLEAN:
                diffs.append("%s VF %d is %s and no VM holds it" %
                             (host, index, f[:2]))
    return diffs


def restore_refused(c, quiet, what):
    """The running controller's database is not replaced."""
    before = c.json("vms")["vms"]
    r = controller("--restore", quiet)
    check(r.returncode == 1 and "stop it first" in r.stderr and
          "in use by another vfleet-controller" in r.stderr,
          "--restore beside a running controller: exit 1, 'stop it first' "
          "(%d: %s)" % (r.returncode, r.stderr.strip()))
    check(c.json("vms")["vms"] == before and not os.path.exists(
        DB + ".before-restore"), "the refused restore %s changed nothing" %
        what)


def restore_bogus():
    """With the controller stopped, a file that is not a vfleet database is
    refused and the database stays as it was."""
    bogus = os.path.join(WORK, "bogus.db")
    with open(bogus, "w") as f:
        f.write("not a database\n" * 100)
    before = vm_names(DB)
    r = controller("--restore", bogus)
    check(r.returncode == 1 and "nothing restored" in r.stderr and
          "not a database" in r.stderr,
          "--restore of a file that is not a database: exit 1, 'nothing "
          "restored' (%d: %s)" % (r.returncode, r.stderr.strip()))
    check(vm_names(DB) == before and not os.path.exists(
        DB + ".before-restore"), "the refused restore of %s changed "
        "nothing" % bogus)


def usage():
    r = controller("--backup", "a.db", "--restore", "b.db")
    check(r.returncode == 2, "--backup with --restore: exit 2 (%d: %s)" %
          (r.returncode, r.stderr.strip()))
    r = subprocess.run([e2e.CONTROLLER, "--config", "/dev/null", "--db",
                        os.path.join(WORK, "nothing.db"), "--backup",
                        os.path.join(WORK, "never.db")],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "no database" in r.stderr and
          not os.path.exists(os.path.join(WORK, "never.db")),
          "--backup of a missing database: exit 1, nothing written (%d: %s)"
          % (r.returncode, r.stderr.strip()))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    start = time.time()
    c = e2e.Cluster(HOSTS, "300ms")
    try:
        c.start_ready()
        path = os.path.join(WORK, "policy.yaml")
        with open(path, "w") as f:
            f.write(POLICY)
        c.ctl("policy", "apply", path)
        for name in ("a1", "a2"):
            c.ctl("vm", "create", name, "--memory", "1G", "--vcpus", "1", "--nic", "red",
                  "--wait")
        backup_under_load(c)
        quiet = os.path.join(WORK, "quiet.db")
        r = controller("--backup", quiet)
        check(r.returncode == 0 and "integrity_check ok" in r.stdout,
              "quiet --backup: %s" % r.stdout.strip())
        check_copy(quiet)
        check(vm_names(quiet) == {"a1", "a2"}, "the quiet backup holds a1 "
              "and a2: %s" % sorted(vm_names(quiet)))
        c.ctl("vm", "create", "c1", "--memory", "1G", "--vcpus", "1", "--nic", "red",
              "--wait")
        c.ctl("vm", "delete", "a2")
        restore_refused(c, quiet, "beside the controller")
        c.controller.send_signal(signal.SIGTERM)
        c.controller.wait(timeout=20)
        restore_bogus()
        if os.geteuid() == 0:
            os.chown(STATE, 65534, 65534)
        r = controller("--restore", quiet)
        check(r.returncode == 0 and "before-restore" in r.stdout,
              "--restore with the controller stopped: %s" %
              (r.stdout + r.stderr).strip())
        if os.geteuid() == 0:
            owner = (os.stat(DB).st_uid, os.stat(DB + ".lock").st_uid)
            check(owner == (65534, 65534), "run as root, --restore gives "
                  "the database and its lock the state directory's owner: "
                  "%s" % (owner,))
        else:
            print("# not root: the owner of the restored files not checked")
        check(vm_names(DB + ".before-restore") == {"a1", "c1"},
              "the replaced database is kept, with what came after the "
              "backup: %s" % sorted(vm_names(DB + ".before-restore")))
        c.start_controller()
        names = {v["name"] for v in c.json("vms")["vms"]}
        check(names == {"a1", "a2"}, "the restarted controller serves the "
              "backup's VMs: %s" % sorted(names))
        diffs = []

        def converged():
            diffs[:] = kernel_diffs(c)
            return not diffs and all(v["state"] == "placed"
                                     for v in c.json("vms")["vms"])

        deadline = time.time() + 30
        while time.time() < deadline and not converged():
            time.sleep(0.3)
        check(not diffs, "the agents converge to the restored desired "
              "state: its VMs' VFs carry their MACs, every other VF is "
              "clean:\n  %s" % "\n  ".join(diffs))
        usage()
    finally:
        c.stop()
    print("backup_test: all checks passed in %.1f s" % (time.time() - start))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
