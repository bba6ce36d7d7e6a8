#!/usr/bin/env python3
"""admin_access_test.py - who may use the admin API, with real processes:
a real vfleet-controller and the real vfleetctl.

- A controller with CURVE on and a tcp admin endpoint, keys made with
  `vfleetctl keys`: a read-only key lists and shows, but `policy apply`,
  `vm create` and `host cordon` are answered DENIED naming the key and the
  verb, and the database is unchanged, byte for byte in every table; a
  full admin key applies a policy; a host's key is refused every verb; a
  plaintext vfleetctl (--insecure) gets no answer and says so.
- `--admin-group GROUP` (the current user's primary group): the ipc socket
  is mode 0660 with that group, the state directory 0710 with it, the
  database stays 0600, and vfleetctl works over the socket; without it the
  socket is 0600; an unknown group is a usage error that names it.
"""

import grp
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check, fail, free_port, wait_until  # noqa: E402

BIN = os.environ["VFLEET_BINARY_DIR"]
SRC = os.environ.get("VFLEET_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
CTL = os.path.join(BIN, "cli", "vfleetctl")
WORK = os.path.join(BIN, "tests", "controller", "admin_access")
e2e.WORK = WORK


def ctl(admin, *args, timeout="5s"):
    return subprocess.run([CTL, "-c", admin, "--timeout", timeout] +
                          list(args), capture_output=True, text=True,
                          timeout=60)


class Controller:
    """One vfleet-controller on its own state directory."""

    def __init__(self, name, *options):
        self.state = os.path.join(WORK, name)
        self.log = os.path.join(WORK, "%s.log" % name)
        self.argv = [CONTROLLER, "--state-dir", self.state, "--agents",
                     "tcp://127.0.0.1:%d" % free_port(),
                     "--log-level", "debug"] + list(options)
        self.proc = None

    def start(self, admin, *ctl_options):
        self.proc = subprocess.Popen(self.argv,
                                     stderr=open(self.log, "a"))
        wait_until("controller answers on %s" % admin, lambda: self.proc.poll()
                   is not None or ctl(admin, *ctl_options,
                                      "summary").returncode == 0)
        if self.proc.poll() is not None:
            fail("controller exited %d" % self.proc.returncode)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def mode_and_group(path):
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode), st.st_gid


def keys(directory, *args):
    r = subprocess.run([CTL, "keys"] + list(args) + ["--keys", directory],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("vfleetctl keys %s: %s" % (" ".join(args), r.stderr))


def db_dump(path):
    """Every row of every table, in a stable order."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_roles(started):
    key_dir = os.path.join(WORK, "keys")
    keys(key_dir, "init")
    secrets = {}
    for name, extra in (("ops", []), ("ops-ro", ["--read-only"])):
        secrets[name] = os.path.join(WORK, "%s.key_secret" % name)
        keys(key_dir, "add-admin", name, "--out", secrets[name], *extra)
    secrets["hv-01"] = os.path.join(WORK, "hv-01.key_secret")
    keys(key_dir, "add-host", "hv-01", "--out", secrets["hv-01"])
    server = os.path.join(key_dir, "controller.key")
    admin = "tcp://127.0.0.1:%d" % free_port()
    curve = Controller("curve", "--keys", key_dir, "--admin", admin)
    started.append(curve)

    def as_key(name, *args, timeout="5s"):
        return ctl(admin, "--key", secrets[name], "--controller-key", server,
                   *args, timeout=timeout)

    curve.start(admin, "--key", secrets["ops"], "--controller-key", server)
    db = os.path.join(curve.state, "vfleet.db")
    policy = os.path.join(SRC, "tests", "policy", "ok", "minimal.yaml")
    before = db_dump(db)
    for args in (["hosts"], ["policy", "status"], ["vms"], ["events"],
                 ["summary"]):
        r = as_key("ops-ro", "-o", "json", *args)
        check(r.returncode == 0 and json.loads(r.stdout) is not None,
              "read-only key: %s answers" % " ".join(args))
    r = as_key("ops-ro", "vm", "show", "nosuch")
    check(r.returncode == 1 and 'no vm named "nosuch"' in r.stderr,
          "read-only key: vm show runs (an unknown VM is not found)")
    refused = (("policy.apply", ["policy", "apply", policy]),
               ("vm.create", ["vm", "create", "web-1", "--memory", "1G",
                              "--vcpus", "1", "--nic", "prod"]),
               ("host.cordon", ["host", "cordon", "hv-01"]))
    for verb, args in refused:
        r = as_key("ops-ro", *args)
        want = "admin key ops-ro is read-only: %s changes the cluster" % verb
        check(r.returncode == 1 and want in r.stderr,
              "read-only key: %s refused: %s" % (verb, r.stderr.strip()))
    check(db_dump(db) == before, "nothing the refused requests asked for "
          "was stored: every table is unchanged")
    r = as_key("hv-01", "summary")
    check(r.returncode == 1 and "key hv-01 is a host's key" in r.stderr,
          "a host's key is refused on the admin API")
    r = as_key("ops", "policy", "apply", policy, "--message", "by ops")
    check(r.returncode == 0, "the full admin key applies a policy")
    history = json.loads(as_key("ops-ro", "-o", "json", "policy",
                                "history").stdout)
    check(len(history["policies"]) == 1,
          "the read-only key sees the revision the admin key stored")
    r = ctl(admin, "--insecure", "summary", timeout="500ms")
    check(r.returncode == 1 and "did not answer within 0.5 s" in r.stderr
          and "needs CURVE" in r.stderr,
          "a plaintext vfleetctl gets no answer from the CURVE endpoint: %s" %
          r.stderr.strip())
    curve.stop()


def test_admin_group(started):
    gid = os.getgid()
    group = grp.getgrgid(gid).gr_name
    ctl_ = Controller("grouped", "--insecure", "--admin-group", group)
    started.append(ctl_)
    admin = "ipc://%s/admin.sock" % ctl_.state
    ctl_.start(admin)
    sock = os.path.join(ctl_.state, "admin.sock")
    check(mode_and_group(sock) == (0o660, gid),
          "--admin-group %s: the socket is 0660 with that group (%s)" %
          (group, oct(mode_and_group(sock)[0])))
    check(mode_and_group(ctl_.state) == (0o710, gid),
          "the state directory is 0710 with the group")
    check(mode_and_group(os.path.join(ctl_.state, "vfleet.db"))[0] == 0o600,
          "the database stays 0600")
    r = ctl(admin, "-o", "json", "hosts")
    check(r.returncode == 0 and '"hosts"' in r.stdout,
          "vfleetctl answers over the group's socket")
    ctl_.stop()

    plain = Controller("plain", "--insecure")
    started.append(plain)
    admin = "ipc://%s/admin.sock" % plain.state
    plain.start(admin)
    check(mode_and_group(os.path.join(plain.state, "admin.sock"))[0] ==
          0o600, "without --admin-group the socket is 0600")
    check(mode_and_group(plain.state)[0] == 0o700,
          "and the state directory 0700")
    plain.stop()

    r = subprocess.run([CONTROLLER, "--insecure", "--state-dir",
                        os.path.join(WORK, "bad"), "--admin-group",
                        "no-such-group-vfleet"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 2 and
          'unknown group "no-such-group-vfleet" for --admin-group' in r.stderr,
          "an unknown group is a usage error that names it")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    started = []
    try:
        test_roles(started)
        test_admin_group(started)
    finally:
        for c in started:
            c.stop()
    print("all admin access checks passed")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
