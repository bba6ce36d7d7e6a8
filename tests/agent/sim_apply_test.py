#!/usr/bin/env python3
"""sim_apply_test.py - the real vfleet-agent with --kernel sim applies
APPLYs from the real test peer (over CURVE, with session_test's keys) to a
recorded tree's simulated kernel.

Checks: every item of a first APPLY is set (VF count through 0, every VF
attribute, a hugepage pool) and the agent logs the kernel writes it made;
the same desired state again is answered "unchanged" item by item with 0
kernel writes; vfleet-agent --discover --kernel sim shows what was applied
and no drift, and a VF changed behind the agent's back shows as drift;
--kernel sim without a recorded tree, or with --netlink or --no-netlink,
is a usage error; with --kernel netlink (the default) the same tree's VF
items are refused with EPERM and nothing reaches the live kernel, checked
in a network namespace of its own where a dummy (or veth) interface
carries the recorded PF's name and is left exactly as it was.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import session_test  # noqa: E402  (Peer, fail, free_port, paths)
from session_test import (AGENT, SRC, fail, free_port, wait_log,  # noqa: E402
                          write)

WORK = os.path.join(os.environ["VFLEET_BINARY_DIR"], "tests", "agent",
                    "sim-apply")
session_test.WORK = WORK

PF = "0000:37:00.0"  # the XXV710's PF, ifname ens2f0 (16 of 64 VFs)
ITEMS = ("pf %s 8\n"
         "vf %s 2 mac 02:50:56:00:00:02 vlan 100 qos 3 proto 802.1ad "
         "spoofchk off trust on link disable min_rate 100 max_rate 1000\n"
         "vf %s 5 mac 02:50:56:00:00:05 trust on\n"
         "hugepages 2048 512\n" % (PF, PF, PF))
REFUSAL = "recorded sysfs tree: start with --kernel sim to apply"


def tree_args(tree):
    return ["--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
            os.path.join(tree, "proc")]


def run_agent(peer_files, tree, kernel, name):
    """Agent and peer until every APPLY is answered; returns the results
    of each APPLY_RESULT and the agent's log."""
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = session_test.Peer(endpoint, "peer-" + name, *sum(
        (["--apply", f] for f in peer_files), []))
    log_path = os.path.join(WORK, "agent-%s.log" % name)
    with open(log_path, "w") as log:
        agent = subprocess.Popen(
            [AGENT, "--controller", endpoint] + session_test.agent_keys() +
            ["--kernel", kernel, "--state-dir",
             os.path.join(WORK, "state-" + name), "--rescan", "0.3"] +
            tree_args(tree), stderr=log)
    answers = []
    try:
        i = -1
        for _ in peer_files:
            i, r = peer.wait_for("APPLY_RESULT", 5, after=i + 1)
            with open(os.path.join(peer.dir, "%s-APPLY_RESULT.json" %
                                   r["file"])) as f:
                answers.append((r, json.load(f)["results"]))
        wait_log(log_path, "apply revision %s: " % answers[-1][0]["revision"],
                 3)
        deadline = time.time() + 3
        while (open(log_path).read().count(" kernel writes (--kernel ") <
               len(peer_files) and time.time() < deadline):
            time.sleep(0.05)
        agent.send_signal(signal.SIGTERM)
        if agent.wait(timeout=5) != 0:
            fail("agent exited %d on SIGTERM" % agent.returncode)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        peer.stop()
    return answers, open(log_path).read()


def check_applied(tree):
    """Revision 1 sets everything; revision 2, the same state, writes
    nothing."""
    files = [write("apply-1", "revision 1\n" + ITEMS),
             write("apply-2", "revision 2\n" + ITEMS)]
    answers, log = run_agent(files, tree, "sim", "sim")
    (r1, res1), (r2, res2) = answers
    if r1["failed"] != "0" or r2["failed"] != "0":
        fail("failed items: %s %s" % (res1, res2))
    attrs = [(r["index"], r["attribute"]) for r in res1]
    want = [(0, "num_vfs")] + [(2, a) for a in (
        "mac", "vlan", "spoofchk", "trust", "link_state", "rate")] + [
        (5, "mac"), (5, "trust"), (0, "2048kB")]
    if attrs != want:
        fail("revision 1 items %s, want %s" % (attrs, want))
    if any(not r["message"].startswith("set: ") for r in res1):
        fail("revision 1 not all set: %s" % [r["message"] for r in res1])
    if any(not r["message"].startswith("unchanged: ") for r in res2):
        fail("revision 2 not all unchanged: %s" %
             [r["message"] for r in res2])
    # 0 and 8 to sriov_numvfs, 6 + 2 VF attributes, one pool
    if "apply revision 1: 11 kernel writes (--kernel sim)" not in log:
        fail("revision 1 kernel writes not logged as 11:\n" + log)
    if "apply revision 2: 0 kernel writes (--kernel sim)" not in log:
        fail("revision 2 wrote to the kernel:\n" + log)


def check_discovered(tree):
    """--discover --kernel sim shows what was applied; drift from the
    stored desired state appears when the VF changes behind the agent."""
    out = subprocess.run([AGENT, "--discover", "--json", "--kernel", "sim"] +
                         tree_args(tree), check=True, capture_output=True,
                         text=True).stdout
    pf = [p for p in json.loads(out)["pfs"] if p["pci_addr"] == PF][0]
    vfs = {v["vf"]: v for v in pf["vfs"]}
    got = {k: vfs[2].get(k) for k in (
        "mac", "vlan", "qos", "vlan_protocol", "spoofchk", "trust",
        "link_state", "min_tx_rate", "max_tx_rate")}
    want = {"mac": "02:50:56:00:00:02", "vlan": 100, "qos": 3,
            "vlan_protocol": "802.1ad", "spoofchk": "off", "trust": "on",
            "link_state": "disable", "min_tx_rate": 100, "max_tx_rate": 1000}
    if (pf["num_vfs"], len(vfs)) != (8, 8) or got != want:
        fail("discovered num_vfs %s, %d VFs, VF 2 %s; want 8, 8, %s" %
             (pf["num_vfs"], len(vfs), got, want))
    if (vfs[5]["mac"], vfs[5]["trust"], vfs[3]["mac"]) != (
            "02:50:56:00:00:05", "on", "00:00:00:00:00:00"):
        fail("VF 5 or 3: %s %s" % (vfs[5], vfs[3]))
    pool = os.path.join(tree, "sys", "kernel", "mm", "hugepages",
                        "hugepages-2048kB", "nr_hugepages")
    free = os.path.join(os.path.dirname(pool), "free_hugepages")
    if (open(pool).read(), open(free).read()) != ("512\n", "512\n"):
        fail("nr_hugepages %s free_hugepages %s" % (open(pool).read(),
                                                    open(free).read()))

    drift = [AGENT, "--discover", "--kernel", "sim", "--state-dir",
             os.path.join(WORK, "state-sim")] + tree_args(tree)
    table = subprocess.run(drift, check=True, capture_output=True,
                           text=True).stdout
    if "desired state revision 2: no drift" not in table:
        fail("drift right after the apply:\n" + table)
    state = os.path.join(tree, "sys", ".vfleet-sim", "state")
    text = open(state).read()
    changed = text.replace(" 100 3 0x88a8 ", " 77 3 0x88a8 ")
    if changed == text:
        fail("state file lacks VF 2's VLAN:\n" + text)
    with open(state, "w") as f:
        f.write(changed)
    table = subprocess.run(drift, check=True, capture_output=True,
                           text=True).stdout
    if ("desired state revision 2: 1 drifted" not in table or
            "kernel has vlan 77" not in table):
        fail("a VLAN changed behind the agent is not drift:\n" + table)


def check_command_line(tree):
    """--kernel sim is for a recorded tree only, and reads VF settings from
    it alone."""
    cases = [
        ([], "--kernel sim needs --sysfs-root DIR, a recorded tree"),
        (["--sysfs-root", "/sys/"],
         "--kernel sim needs --sysfs-root DIR, a recorded tree"),
        (tree_args(tree) + ["--netlink"],
         "--netlink and --no-netlink do not apply"),
        (tree_args(tree) + ["--no-netlink"],
         "--netlink and --no-netlink do not apply"),
    ]
    for args, needle in cases:
        p = subprocess.run([AGENT, "--discover", "--kernel", "sim"] + args,
                           capture_output=True, text=True)
        if p.returncode != 2 or needle not in p.stderr:
            fail("--kernel sim %s: exit %d, %s" % (args, p.returncode,
                                                   p.stderr))
    p = subprocess.run([AGENT, "--discover", "--kernel", "live"],
                       capture_output=True, text=True)
    if p.returncode != 2 or "'live' is not netlink or sim" not in p.stderr:
        fail("--kernel live: exit %d, %s" % (p.returncode, p.stderr))


def check_netlink_refused(tree):
    """Inside a network namespace of its own (re-run as --netns)."""
    if subprocess.run(["unshare", "-n", "true"],
                      capture_output=True).returncode != 0:
        print("netlink refusal: skipped (no network namespace)")
        return
    rc = subprocess.run(["unshare", "-n", sys.executable,
                         os.path.abspath(__file__), "--netns", tree],
                        timeout=30).returncode
    if rc != 0:
        fail("netlink refusal in a network namespace failed (%d)" % rc)


def netns_main(tree):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # a veth where the dummy driver is not built
    if subprocess.run(["ip", "link", "add", "ens2f0", "type", "dummy"],
                      capture_output=True).returncode != 0:
        subprocess.run(["ip", "link", "add", "ens2f0", "type", "veth",
                        "peer", "name", "vfleet-peer0"], check=True)
    show = ["ip", "-d", "-j", "link", "show", "ens2f0"]
    before = subprocess.run(show, check=True, capture_output=True,
                            text=True).stdout
    vf_items = "".join(l + "\n" for l in ITEMS.splitlines()
                       if l.startswith("vf "))
    answers, log = run_agent([write("apply-netlink", "revision 1\n" +
                                    vf_items)], tree, "netlink", "netlink")
    (r, results), = answers
    if r["failed"] != str(len(results)) or len(results) != 8:
        fail("netlink on a recorded tree: %s" % results)
    if any((x["err"], x["message"]) != (1, REFUSAL) for x in results):
        fail("not refused with EPERM: %s" % results)
    if "apply revision 1: 0 kernel writes (--kernel netlink)" not in log:
        fail("kernel writes with --kernel netlink:\n" + log)
    after = subprocess.run(show, check=True, capture_output=True,
                           text=True).stdout
    if before != after:
        fail("ens2f0 changed:\n%s\n%s" % (before, after))
    return 0


def main():
    tree = os.path.join(WORK, "tree")
    subprocess.run([sys.executable,
                    os.path.join(SRC, "tests", "fixtures", "mktree.py"),
                    "i40e-xxv710", tree], check=True)
    check_command_line(tree)
    check_applied(tree)
    check_discovered(tree)
    check_netlink_refused(tree)
    print("ok: sim apply set and unchanged with write counts, discovery "
          "and drift through the simulated kernel, netlink refused for a "
          "recorded tree")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--netns":
        sys.exit(netns_main(sys.argv[2]))
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    os.makedirs(WORK)
    sys.exit(main())
