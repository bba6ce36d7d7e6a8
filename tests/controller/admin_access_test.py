#!/usr/bin/env python3
"""admin_access_test.py - who may use the admin API, with real processes:
a real vfleet-controller and the real vfleetctl.

- `--admin-group GROUP` (the current user's primary group): the ipc socket
  is mode 0660 with that group, the state directory 0710 with it, the
  database stays 0600, and vfleetctl works over the socket; without it the
  socket is 0600; an unknown group is a usage error that names it.
"""

import grp
import os
import shutil
import signal
import stat
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check, fail, free_port, wait_until  # noqa: E402

BIN = os.environ["VFLEET_BINARY_DIR"]
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
        test_admin_group(started)
    finally:
        for c in started:
            c.stop()
    print("all admin access checks passed")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
