#!/usr/bin/env python3
"""privsep_test.py - the real vfleet-agent's privilege separation, with
real processes.

Checks: the agent is two processes, the writer a child of the network
process; the network process holds no capability and has no_new_privs,
the writer at most CAP_NET_ADMIN; started as root with --user nobody the
network process runs as nobody and the writer keeps uid 0 (the state
directory given to nobody), and --user naming no user is refused; an
APPLY from the test peer (over CURVE: the keys are read before the
privileges go) is applied through the writer to the simulated kernel; killing the writer makes the agent exit 1 with an error naming
it; killing the network process takes the writer with it; SIGTERM to the
network process stops both cleanly.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import session_test  # noqa: E402
from session_test import AGENT, SRC, fail, free_port, wait_log  # noqa: E402

CAP_NET_ADMIN = 1 << 12
ROOT = os.geteuid() == 0
PF = "0000:37:00.0"  # i40e-xxv710's first PF, ens2f0


def status(pid):
    """/proc/PID/status as a dict of its fields."""
    with open("/proc/%d/status" % pid) as f:
        return dict(l.split(":\t", 1) for l in f.read().splitlines()
                    if ":\t" in l)


def children(pid):
    path = "/proc/%d/task/%d/children" % (pid, pid)
    with open(path) as f:
        return [int(p) for p in f.read().split()]


def gone(pid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if status(pid)["State"].startswith("Z"):
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


class Agent:
    """vfleet-agent --kernel sim on the tree, its log in WORK."""

    def __init__(self, tree, name, endpoint, extra=()):
        self.log_path = os.path.join(session_test.WORK, "agent-%s.log" % name)
        self.state = os.path.join(session_test.WORK, "state-" + name)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [AGENT, "--controller", endpoint] + session_test.agent_keys() +
                ["--kernel", "sim", "--sysfs-root", os.path.join(tree, "sys"),
                 "--procfs-root", os.path.join(tree, "proc"), "--state-dir",
                 self.state, "--rescan", "0.3"] + list(extra), stderr=log)
        wait_log(self.log_path, "connecting to", 5)
        kids = children(self.proc.pid)
        if len(kids) != 1:
            fail("agent %d has children %s, want one writer" %
                 (self.proc.pid, kids))
        self.writer = kids[0]

    def log(self):
        return open(self.log_path).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_privileges(tree, endpoint):
    extra = ["--user", "nobody"] if ROOT else []
    agent = Agent(tree, "privileges", endpoint, extra)
    try:
        net, wri = status(agent.proc.pid), status(agent.writer)
        if int(net["CapEff"], 16) or int(net["CapPrm"], 16):
            fail("network process has capabilities: %s %s" %
                 (net["CapEff"], net["CapPrm"]))
        if net["NoNewPrivs"].strip() != "1" or wri["NoNewPrivs"].strip() != "1":
            fail("no_new_privs not set: %s %s" %
                 (net["NoNewPrivs"], wri["NoNewPrivs"]))
        if int(wri["CapEff"], 16) & ~CAP_NET_ADMIN:
            fail("writer has more than CAP_NET_ADMIN: %s" % wri["CapEff"])
        if ROOT:
            if net["Uid"].split() != ["65534"] * 4:
                fail("network process uids %s, want nobody" % net["Uid"])
            if net["Groups"].strip():
                fail("network process keeps groups %s" % net["Groups"])
            if wri["Uid"].split()[0] != "0":
                fail("writer uid %s, want 0" % wri["Uid"])
            if int(wri["CapEff"], 16) != CAP_NET_ADMIN:
                fail("writer CapEff %s, want CAP_NET_ADMIN" % wri["CapEff"])
            if os.stat(agent.state).st_uid != 65534:
                fail("state directory not given to nobody")
            if "network process: user nobody (uid 65534" not in agent.log():
                fail("user change not logged:\n" + agent.log())
            kept = "writer process %d: uid 0, CAP_NET_ADMIN;" % agent.writer
            if kept not in agent.log():
                fail("writer's capability not logged:\n" + agent.log())
        elif "not started as root" not in agent.log():
            fail("skipped user change not logged:\n" + agent.log())
        fds = os.listdir("/proc/%d/fd" % agent.writer)
        if sorted(int(f) for f in fds) != [0, 1, 2, 3]:
            fail("writer keeps descriptors %s" % fds)
        agent.proc.send_signal(signal.SIGTERM)
        if agent.proc.wait(timeout=5) != 0:
            fail("agent exited %d on SIGTERM" % agent.proc.returncode)
        if not gone(agent.writer, 3):
            fail("writer %d outlived a clean stop" % agent.writer)
    finally:
        agent.stop()


def check_unknown_user(tree, endpoint):
    if not ROOT:
        return
    out = subprocess.run(
        [AGENT, "--controller", endpoint] + session_test.agent_keys() +
        ["--kernel", "sim", "--sysfs-root", os.path.join(tree, "sys"),
         "--procfs-root", os.path.join(tree, "proc"), "--user",
         "no-such-vfleet-user",
         "--state-dir", os.path.join(session_test.WORK, "state-nouser")],
        capture_output=True, text=True, timeout=10)
    if out.returncode != 1 or "--user no-such-vfleet-user: no such user" \
            not in out.stderr:
        fail("unknown --user: exit %d, %s" % (out.returncode, out.stderr))


def check_apply(tree):
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    apply = session_test.write(
        "apply-1", "revision 1\nvf %s 4 mac 02:50:56:00:00:04 trust on\n" % PF)
    peer = session_test.Peer(endpoint, "peer", "--apply", apply)
    agent = Agent(tree, "apply", endpoint)
    try:
        _, r = peer.wait_for("APPLY_RESULT", 5)
        if r.get("failed") != "0":
            fail("APPLY through the writer failed: %s" % r)
        wait_log(agent.log_path, "apply revision 1: 2 kernel writes", 3)
    finally:
        agent.stop()
        peer.stop()


def check_writer_killed(tree, endpoint):
    agent = Agent(tree, "writer-killed", endpoint)
    try:
        os.kill(agent.writer, signal.SIGKILL)
        try:
            rc = agent.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            fail("agent still running 5 s after its writer was killed")
        want = "error: writer process %d killed by signal 9" % agent.writer
        if rc != 1 or want not in agent.log():
            fail("writer killed: exit %d, log:\n%s" % (rc, agent.log()))
    finally:
        agent.stop()


def check_parent_killed(tree, endpoint):
    agent = Agent(tree, "parent-killed", endpoint)
    try:
        agent.proc.kill()
        agent.proc.wait()
        if not gone(agent.writer, 3):
            fail("writer %d outlived its network process" % agent.writer)
    finally:
        agent.stop()


def main():
    # Every directory up to the tree open to nobody, for --user nobody.
    top = tempfile.mkdtemp(prefix="vfleet-privsep.")
    os.chmod(top, 0o755)
    session_test.WORK = top
    try:
        tree = os.path.join(top, "tree")
        subprocess.run(["python3", os.path.join(SRC, "tests", "fixtures",
                                                "mktree.py"), "i40e-xxv710",
                        tree], check=True, stdout=subprocess.DEVNULL)
        quiet = "tcp://127.0.0.1:%d" % free_port()  # no controller there
        check_privileges(tree, quiet)
        check_unknown_user(tree, quiet)
        check_apply(tree)
        check_writer_killed(tree, quiet)
        check_parent_killed(tree, quiet)
    finally:
        subprocess.run(["rm", "-rf", top])
    print("ok: privilege separation (%s)" %
          ("as root, --user nobody" if ROOT else "not root"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
