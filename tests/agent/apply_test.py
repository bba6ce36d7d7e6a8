#!/usr/bin/env python3
"""apply_test.py - desired state: the real vfleet-agent applies APPLYs from
the real test peer (over CURVE, with session_test's keys) on a recorded
tree, keeps the last one on disk and re-applies it after a restart.

Checks: APPLY_RESULT per item, with the request_id echoed and the errors
the agent gives for a recorded tree's VFs under --kernel netlink (EPERM:
never sent to the live kernel) and for a PF the host lacks; HEARTBEAT applied_revision is the last revision applied
with every item ok; an older revision is refused with ERROR INVALID and
leaves the stored state alone; desired.vfp decodes to the APPLY sent;
--discover --state-dir prints its drift; a restart with no controller
re-applies it from disk; a corrupt desired.vfp is moved aside and the
agent runs on.
"""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import session_test  # noqa: E402  (Peer, helpers, paths)
from session_test import (AGENT, PEER, SRC, fail, free_port,  # noqa: E402
                          kill_if_running, run, terminate, wait_log,
                          write)

WORK = os.path.join(os.environ["VFLEET_BINARY_DIR"], "tests", "agent",
                    "apply")
session_test.WORK = WORK

PF = "0000:37:00.0"  # the XXV710's PF, ifname ens2f0 (not on this host)
MISSING_PF = "0000:99:00.0"
APPLY_OK = "revision 4\npf %s 16\n" % PF
APPLY_FAILS = ("revision 5\npf %s 16\npf %s 4\n"
               "vf %s 2 mac 02:50:56:00:00:02 vlan 100 qos 3 spoofchk on "
               "trust off\n" % (PF, MISSING_PF, PF))
APPLY_OLD = "revision 3\n"


def start_agent(endpoint, tree, state, log_name):
    log_path = os.path.join(WORK, log_name)
    log = open(log_path, "w")
    agent = subprocess.Popen(
        [AGENT, "--controller", endpoint] + session_test.agent_keys() +
        ["--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
         os.path.join(tree, "proc"), "--state-dir", state, "--rescan", "0.3"],
        stderr=log)
    log.close()
    return agent, log_path


def stop_agent(agent, what):
    rc = terminate(agent)
    if rc != 0:
        fail("agent exited %d on SIGTERM (%s)" % (rc, what))


def check_results(peer, after):
    """Revision 4 fully ok; revision 5 per-item errors."""
    i, r4 = peer.wait_for("APPLY_RESULT", 5, after=after)
    if (r4["revision"], r4["request_id"], r4["failed"]) != ("4", "1000", "0"):
        fail("APPLY_RESULT for revision 4: %s" % r4)
    i, r5 = peer.wait_for("APPLY_RESULT", 5, after=i + 1)
    if (r5["revision"], r5["request_id"]) != ("5", "1001"):
        fail("APPLY_RESULT for revision 5: %s" % r5)
    with open(os.path.join(peer.dir, "%s-APPLY_RESULT.json" % r5["file"])) as f:
        results = json.load(f)["results"]
    got = [(r["pf"], r["index"], r["attribute"], r["err"]) for r in results]
    want = [(PF, 0, "num_vfs", 0), (MISSING_PF, 0, "num_vfs", 19)] + \
        [(PF, 2, a, 1) for a in ("mac", "vlan", "spoofchk", "trust")]
    if got != want:
        fail("revision 5 results %s, want %s" % (got, want))
    if results[1]["message"] != "no PF %s on this host" % MISSING_PF:
        fail("missing PF message: %s" % results[1]["message"])
    if any(r["message"] != "recorded sysfs tree: start with --kernel sim to "
           "apply" for r in results[2:]):
        fail("VF item messages: %s" % [r["message"] for r in results[2:]])
    return i


def check_fifo_and_revision_wrap(tree):
    """A FIFO where desired.vfp belongs is refused at start (it used to
    block the agent in open() before it ever said HELLO); then a revision
    at the top of its range, UINT64_MAX, does not lock out the next one,
    which is 0 + 1 after the wrap."""
    state = os.path.join(WORK, "state-fifo")
    os.makedirs(state, mode=0o700)
    os.mkfifo(os.path.join(state, "desired.vfp"))
    top = write("apply-top", "revision %d\npf %s 16\n" % (2**64 - 1, PF))
    after = write("apply-after", "revision 1\npf %s 16\n" % PF)
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = session_test.Peer(endpoint, "peer-fifo", "--apply", top,
                             "--apply", after)
    agent, log_path = start_agent(endpoint, tree, state, "agent-fifo.log")
    try:
        wait_log(log_path, "desired state not restored: desired state %s "
                 "is not a regular file but a FIFO" %
                 os.path.join(state, "desired.vfp"), 3)
        i, r = peer.wait_for("APPLY_RESULT", 5)
        if (r["revision"], r["failed"]) != (str(2**64 - 1), "0"):
            fail("APPLY_RESULT for revision 2^64-1: %s" % r)
        i, r = peer.wait_for("APPLY_RESULT", 5, after=i + 1)
        if (r["revision"], r["request_id"], r["failed"]) != ("1", "1001",
                                                             "0"):
            fail("revision 1 after 2^64-1 not applied: %s" % r)
        _, beat = peer.wait_for("HEARTBEAT", 3, after=i + 1)
        if beat["applied"] != "1":
            fail("HEARTBEAT applied_revision %s, want 1" % beat["applied"])
        if any(l[1:2] == ["ERROR"] for l in peer.lines()):
            fail("the agent sent ERROR: %s" % peer.lines())
        stop_agent(agent, "fifo and revision wrap")
    finally:
        kill_if_running(agent)
        peer.stop()


def main():
    tree = os.path.join(WORK, "tree")
    state = os.path.join(WORK, "state")
    subprocess.run([sys.executable,
                    os.path.join(SRC, "tests", "fixtures", "mktree.py"),
                    "i40e-xxv710", tree], check=True)
    files = [write("apply-%d" % n, text) for n, text in
             ((4, APPLY_OK), (5, APPLY_FAILS), (3, APPLY_OLD))]
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = session_test.Peer(endpoint, "peer", *sum(
        (["--apply", f] for f in files), []))
    agent, log_path = start_agent(endpoint, tree, state, "agent.log")
    try:
        i = check_results(peer, 0)
        j, error = peer.wait_for("ERROR", 5, after=i + 1)
        if (error["code"], error["request_id"]) != ("INVALID", "1002"):
            fail("answer to the older revision 3: %s" % error)
        wait_log(log_path, "APPLY revision 3 is older than the stored "
                           "desired state, revision 5; refused", 1)
        # heartbeats: revision 4 is the last one applied with every item ok
        _, beat = peer.wait_for("HEARTBEAT", 3, after=j + 1)
        if beat["applied"] != "4":
            fail("HEARTBEAT applied_revision %s, want 4" % beat["applied"])
        # drift from revision 5 is logged once, not on every rescan
        time.sleep(1.0)
        needle = "drift: pf %s pf: wanted PF %s; kernel has no such PF" % (
            MISSING_PF, MISSING_PF)
        if open(log_path).read().count(needle) != 1:
            fail("drift line not logged exactly once:\n" +
                 open(log_path).read())
        stop_agent(agent, "online")
    finally:
        kill_if_running(agent)
        peer.stop()

    # on disk: the state directory (0700) holds exactly revision 5
    if os.stat(state).st_mode & 0o777 != 0o700:
        fail("state directory mode %o" % (os.stat(state).st_mode & 0o777))
    stored = os.path.join(state, "desired.vfp")
    shown = subprocess.run([PEER, "--show-apply", stored], check=True,
                           capture_output=True, text=True).stdout
    if shown != APPLY_FAILS:
        fail("desired.vfp decodes to:\n%s\nwant:\n%s" % (shown, APPLY_FAILS))
    if os.listdir(state) != ["desired.vfp"]:
        fail("state directory holds %s" % os.listdir(state))

    # --discover --state-dir: the stored state's drift, table and JSON
    discover = [AGENT, "--discover", "--sysfs-root", os.path.join(tree, "sys"),
                "--procfs-root", os.path.join(tree, "proc"), "--state-dir",
                state]
    table = subprocess.run(discover, check=True, capture_output=True,
                           text=True).stdout
    if ("desired state revision 5: 1 drifted\ndrift: " + needle[7:] + "\n"
            not in table):
        fail("--discover table lacks the drift:\n" + table)
    doc = json.loads(subprocess.run(discover + ["--json"], check=True,
                                    capture_output=True, text=True).stdout)
    if doc["desired_revision"] != 5 or [
            (d["pf"], d["attribute"]) for d in doc["drift"]] != [
                (MISSING_PF, "pf")]:
        fail("--discover --json: revision %s drift %s" %
             (doc.get("desired_revision"), doc.get("drift")))

    # restart with no controller listening: re-applied from disk at once
    agent, log_path = start_agent("tcp://127.0.0.1:%d" % free_port(), tree,
                                  state, "agent-restart.log")
    try:
        wait_log(log_path, "re-applying desired state revision 5 from "
                 + stored, 3)
        wait_log(log_path, "apply revision 5: 6 items, 5 failed", 3)
        stop_agent(agent, "restart without controller")
    finally:
        kill_if_running(agent)

    # a truncated desired.vfp: moved aside with the reason, never reused
    size = os.path.getsize(stored)
    with open(stored, "r+b") as f:
        f.truncate(size - 5)
    agent, log_path = start_agent("tcp://127.0.0.1:%d" % free_port(), tree,
                                  state, "agent-corrupt.log")
    try:
        wait_log(log_path, "desired state not restored: %s does not decode "
                 "(%d bytes)" % (stored, size - 5), 3)
        wait_log(log_path, "moved aside to %s.corrupt" % stored, 1)
        time.sleep(0.5)
        if agent.poll() is not None:
            fail("agent stopped after a corrupt desired.vfp")
        if "re-applying" in open(log_path).read():
            fail("a corrupt desired.vfp was applied")
        stop_agent(agent, "corrupt state")
    finally:
        kill_if_running(agent)
    if sorted(os.listdir(state)) != ["desired.vfp.corrupt"]:
        fail("after the corrupt start the state directory holds %s" %
             os.listdir(state))
    check_fifo_and_revision_wrap(tree)
    print("ok: apply results, applied_revision, stale revision refused, "
          "stored state, drift, re-apply after restart, corrupt file "
          "moved aside, FIFO refused, revision wrap")
    return 0


if __name__ == "__main__":
    run(main, WORK)
