#!/usr/bin/env python3
"""session_test.py - the real vfleet-agent against fake_controller over tcp.

Checks, in one run of about fourteen seconds: reconnect backoff when no
WELCOME comes; a rescan on netlink link events (live /sys, private network
namespace); HELLO; a full INVENTORY equal to what --discover --json prints
for the same tree; heartbeats at the interval WELCOME set; malformed,
unexpected messages dropped without harm, an empty APPLY stored, applied
and answered; a delta after each
change of the tree (VF driver, VF count) and none without one; a full
INVENTORY after ERROR RESYNC; reconnect and full re-send after the peer
restarts in place and after it is killed and started again; a clean exit
on SIGTERM. Over CURVE: fake_controller with the pair `vfleetctl keys init`
made, the agent with a host key from `vfleetctl keys add-host`; an agent
trusting another controller's public key, or running with --insecure, gets
no session and logs why; a flood of ERRORs is logged within the limit.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SRC = os.environ.get("VFLEET_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ["VFLEET_BINARY_DIR"]
AGENT = os.path.join(BIN, "agent", "vfleet-agent")
PEER = os.path.join(BIN, "tests", "agent", "fake_controller")
CTL = os.path.join(BIN, "cli", "vfleetctl")
WORK = os.path.join(BIN, "tests", "agent", "session")
HEARTBEAT_MS = 200


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    raise SystemExit(1)


def write(name, text):
    """Writes text to WORK/name (WORK as the calling test set it)."""
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_log(path, needle, timeout):
    """Waits until the log file holds needle; fails after timeout s."""
    wait_log_any(path, [needle], timeout)


def wait_log_any(path, needles, timeout):
    """Waits until the log file holds one of needles; fails after timeout
    s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = open(path).read()
        if any(needle in text for needle in needles):
            return
        time.sleep(0.05)
    fail("agent log lacks '%s' after %s s:\n%s" %
         ("' or '".join(needles), timeout, open(path).read()))


def terminate(proc):
    """Stops proc (a Popen) with SIGTERM; returns its exit status."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=5)


def kill_if_running(proc):
    """Kills proc (a Popen) unless it has exited, and reaps it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def run(main, work):
    """Runs main in a fresh, empty work directory and exits with what it
    returns."""
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    sys.exit(main())


def keys(*args, keys_dir=None):
    """vfleetctl keys ARGS on WORK/keys (or keys_dir); fails when it
    fails."""
    r = subprocess.run([CTL, "keys"] + list(args) + [
        "--keys", keys_dir or os.path.join(WORK, "keys")],
        capture_output=True, text=True)
    if r.returncode != 0:
        fail("keys %s exited %d: %s" % (" ".join(args), r.returncode,
                                        r.stderr))


def agent_key():
    """The agent's secret certificate, made with the controller's pair in
    WORK/keys by vfleetctl keys on first use."""
    path = os.path.join(WORK, "agent.key_secret")
    if not os.path.exists(path):
        keys("init")
        keys("add-host", "hv-i40e-01", "--out", path)
    return path


def peer_keys():
    """fake_controller's options for CURVE with WORK/keys' pair."""
    agent_key()
    return ["--keys", os.path.join(WORK, "keys")]


def agent_keys():
    """The agent's options for CURVE with the key agent_key() made,
    trusting WORK/keys' controller."""
    return ["--key", agent_key(), "--controller-key",
            os.path.join(WORK, "keys", "controller.key")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    def __init__(self, endpoint, name, *flags):
        self.dir = os.path.join(WORK, name)
        os.makedirs(self.dir, exist_ok=True)
        self.out_path = os.path.join(WORK, name + ".out")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(
            [PEER, "--bind", endpoint, "--dir", self.dir, "--heartbeat-ms",
             str(HEARTBEAT_MS)] + peer_keys() + list(flags), stdout=self.out)
        i, _ = self.wait_for("LISTENING", 5)
        if self.lines()[i][3:] != ["curve"]:
            fail("peer is not a CURVE server: %s" % self.lines()[i])

    def lines(self):
        with open(self.out_path) as f:
            return [l.split() for l in f.read().splitlines()]

    def wait_for(self, what, timeout, after=0):
        """The first line of kind `what` at index >= after."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            lines = self.lines()
            for i, l in enumerate(lines):
                if i >= after and len(l) > 1 and l[1] == what:
                    return i, dict(kv.split("=", 1) for kv in l[2:]
                                   if "=" in kv)
            time.sleep(0.05)
        fail("peer saw no %s within %s s; got:\n%s" %
             (what, timeout, open(self.out_path).read()))

    def dump(self, fields):
        with open(os.path.join(self.dir, "%s-%s.json" % (
                fields["file"], "INVENTORY" if "base" not in fields
                else "INVENTORY_DELTA"))) as f:
            return json.load(f)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.out.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.out.close()


def discover_json(sysfs, procfs):
    out = subprocess.run([AGENT, "--discover", "--json", "--sysfs-root", sysfs,
                          "--procfs-root", procfs], check=True,
                         capture_output=True, text=True).stdout
    doc = json.loads(out)
    doc.pop("warnings", None)
    return doc


def check_backoff(sysfs, procfs):
    """A controller that accepts the connection but never says WELCOME:
    the agent gives up after 3 heartbeat intervals and retries on a new
    connection after 0.5 s, then 1 s, then 2 s."""
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = Peer(endpoint, "mute", "--mute")
    with open(os.path.join(WORK, "agent-backoff.log"), "w") as log:
        agent = subprocess.Popen(
            [AGENT, "--controller", endpoint] + agent_keys() + ["--sysfs-root",
             sysfs, "--procfs-root", procfs, "--heartbeat-interval", "200ms",
             "--state-dir", os.path.join(WORK, "state-backoff")],
            stderr=log)
        try:
            time.sleep(4.5)
        finally:
            rc = terminate(agent)
            peer.stop()
    if rc != 0:
        fail("agent exited %d on SIGTERM while reconnecting" % rc)
    hellos = [int(l[0]) for l in peer.lines() if l[1:2] == ["HELLO"]]
    gaps = [b - a for a, b in zip(hellos, hellos[1:])]
    # 0.6 s without WELCOME + 0.5, 1, 2 s backoff: ~1.1, ~1.6, ~2.6 s
    if len(hellos) < 3 or not gaps[1] > gaps[0] + 300:
        fail("HELLO at %s ms: no growing backoff" % hellos)


def check_link_events():
    """On the live /sys, a netlink link event makes the agent rescan. Runs
    agent and peer in a network namespace of their own and adds a veth
    pair there; skipped where namespaces cannot be made."""
    if subprocess.run(["unshare", "-n", "true"],
                      capture_output=True).returncode != 0:
        print("link events: skipped (no network namespace)")
        return
    log_path = os.path.join(WORK, "agent-netns.log")
    script = """
        ip link set lo up
        "$1" --bind tcp://127.0.0.1:7450 --dir "$3" --keys "$5" >/dev/null &
        peer=$!
        sleep 0.3
        "$2" --controller tcp://127.0.0.1:7450 --key "$6" \
            --controller-key "$5/controller.key" --log-level debug \
            --state-dir "$3/state" 2>"$4" & agent=$!
        sleep 1
        ip link add vfleet0 type veth peer name vfleet1
        sleep 0.5
        kill $agent $peer
        wait $agent
    """
    os.makedirs(os.path.join(WORK, "netns"), exist_ok=True)
    rc = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", PEER,
                         AGENT, os.path.join(WORK, "netns"), log_path,
                         os.path.join(WORK, "keys"), agent_key()],
                        timeout=20).returncode
    if rc != 0:
        fail("agent in a network namespace exited %d" % rc)
    if "netlink link event: rescanning soon" not in open(log_path).read():
        fail("no rescan on a netlink link event; log:\n" +
             open(log_path).read())


def run_against(sysfs, procfs, name, flags, seconds):
    """Runs the agent against a fake_controller with flags until its
    INVENTORY and `seconds` more, then stops both; returns the peer, the
    agent's log and its exit status on SIGTERM."""
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = Peer(endpoint, name, *flags)
    log_path = os.path.join(WORK, "agent-%s.log" % name)
    with open(log_path, "w") as log:
        agent = subprocess.Popen(
            [AGENT, "--controller", endpoint] + agent_keys() + ["--sysfs-root",
             sysfs, "--procfs-root", procfs,
             "--state-dir", os.path.join(WORK, "state-%s" % name)],
            stderr=log)
        try:
            peer.wait_for("INVENTORY", 5)
            time.sleep(seconds)
            if agent.poll() is not None:
                fail("agent died against fake_controller %s" % " ".join(flags))
        finally:
            rc = terminate(agent)
            peer.stop()
    return peer, open(log_path).read(), rc


def check_errors_never_answered(sysfs, procfs):
    """ERROR is never answered, whatever it contains (PROTOCOL.md 7.6):
    one before WELCOME and one of every code that asks nothing of the
    agent, with request ids 0..UINT32_MAX and empty or maximal texts. The
    agent sends its INVENTORY and HEARTBEATs and nothing else."""
    peer, log, rc = run_against(sysfs, procfs, "errors", ["--errors"], 1.5)
    if rc != 0:
        fail("agent exited %d on SIGTERM after ERRORs" % rc)
    kinds = [l[1] for l in peer.lines() if len(l) > 1]
    extra = [k for k in kinds if k not in ("LISTENING", "HELLO", "INVENTORY",
                                           "HEARTBEAT", "INVENTORY_DELTA")]
    if extra or kinds.count("HELLO") != 1 or kinds.count("INVENTORY") != 1:
        fail("agent answered ERRORs: peer saw %s" % kinds)
    if log.count("controller says ") != 8:
        fail("agent did not log the 8 ERRORs:\n" + log)


def check_error_flood(sysfs, procfs):
    """A controller's ERRORs are logged within the limit vfleet-agent(8)
    states under --log-level: 10 at once, then one every 10 s. 500 ERRORs
    in a burst give 10 lines, and the agent goes on (its inventory)."""
    _, log, _ = run_against(sysfs, procfs, "flood", ["--error-flood", "500"],
                            1)
    said = log.count("controller says INVALID")
    if said != 10:
        fail("500 ERRORs logged %d times, not 10:\n%s" % (said, log[-2000:]))


def check_wrong_controller_key(sysfs, procfs):
    """An agent trusting another controller's public key gets no session:
    its CURVE HELLO cannot be read, the peer sees no message at all, and
    the agent logs the failed handshake as an error, once, while it keeps
    retrying. A plaintext agent (--insecure) gets none either, and its
    error names the mismatch."""
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = Peer(endpoint, "wrong-key")
    other = os.path.join(WORK, "keys-other")
    keys("init", keys_dir=other)
    log_path = os.path.join(WORK, "agent-wrong-key.log")
    with open(log_path, "w") as log:
        agent = subprocess.Popen(
            [AGENT, "--controller", endpoint, "--key", agent_key(),
             "--controller-key", os.path.join(other, "controller.key"),
             "--sysfs-root", sysfs, "--procfs-root", procfs,
             "--log-level", "debug",
             "--state-dir", os.path.join(WORK, "state-wrong-key")],
            stderr=log)
        try:
            wait_log(log_path, "error: %s broke off the CURVE handshake (is "
                     "--controller-key the public key of that controller, "
                     "its keys/controller.key?); retrying" % endpoint, 5)
            wait_log(log_path, "handshake with %s failed again" % endpoint,
                     5)
        finally:
            rc = terminate(agent)
            peer.stop()
    if rc != 0:
        fail("agent exited %d on SIGTERM with the wrong controller key" % rc)
    kinds = [l[1] for l in peer.lines() if len(l) > 1]
    if kinds != ["LISTENING"]:
        fail("an agent with the wrong controller key reached the peer: %s" %
             kinds)
    text = open(log_path).read()
    if text.count("error: ") != 1 or "sent HELLO" in text:
        fail("wrong controller key: not one error, or a HELLO sent:\n" +
             text)

    # plaintext against the CURVE peer: an error names the mismatch, or
    # the hang-up when the peer closes before the agent reads its greeting
    peer = Peer(endpoint, "plaintext")
    log_path = os.path.join(WORK, "agent-plaintext.log")
    with open(log_path, "w") as log:
        agent = subprocess.Popen(
            [AGENT, "--controller", endpoint, "--insecure", "--sysfs-root",
             sysfs, "--procfs-root", procfs,
             "--state-dir", os.path.join(WORK, "state-plaintext")],
            stderr=log)
        try:
            wait_log_any(log_path, [
                "error: %s uses another security mechanism: this agent runs "
                "with --insecure, the controller wants CURVE keys (--key, "
                "--controller-key)" % endpoint,
                "error: %s broke off the handshake (a controller that wants "
                "CURVE keys?); retrying" % endpoint], 5)
        finally:
            rc = terminate(agent)
            peer.stop()
    if rc != 0 or [l[1] for l in peer.lines()] != ["LISTENING"]:
        fail("a plaintext agent: exit %d, the peer saw %s" %
             (rc, peer.lines()))


def main():
    tree = os.path.join(WORK, "tree")
    subprocess.run([sys.executable,
                    os.path.join(SRC, "tests", "fixtures", "mktree.py"),
                    "i40e-xxv710", tree], check=True)
    sysfs, procfs = os.path.join(tree, "sys"), os.path.join(tree, "proc")
    expected = discover_json(sysfs, procfs)
    check_backoff(sysfs, procfs)
    check_link_events()
    check_errors_never_answered(sysfs, procfs)
    check_error_flood(sysfs, procfs)
    check_wrong_controller_key(sysfs, procfs)

    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = Peer(endpoint, "peer1", "--garbage", "--resync-first-delta")
    log_path = os.path.join(WORK, "agent.log")
    log = open(log_path, "w")
    agent = subprocess.Popen(
        [AGENT, "--controller", endpoint] + agent_keys() + ["--sysfs-root", sysfs,
         "--procfs-root", procfs, "--heartbeat", "1", "--rescan", "300ms",
         "--log-level", "debug", "--state-dir", os.path.join(WORK, "state")],
        stderr=log)
    try:
        # HELLO, then a full inventory that is exactly the discovery
        _, hello = peer.wait_for("HELLO", 5)
        if hello["hostname"] != "hv-i40e-01":
            fail("HELLO hostname %s" % hello["hostname"])
        # the old spelling of --heartbeat-interval still runs, and says so
        if ("vfleet-agent: warning: --heartbeat is deprecated; use "
                "--heartbeat-interval 1") not in open(log_path).read():
            fail("no warning for --heartbeat:\n" + open(log_path).read())
        i, inv = peer.wait_for("INVENTORY", 5)
        if inv["generation"] != "1" or inv["pfs"] != "1":
            fail("first INVENTORY %s" % inv)
        got = peer.dump(inv)
        if got != expected:
            fail("INVENTORY differs from --discover --json:\n%s\n%s" %
                 (json.dumps(got, indent=1)[:3000],
                  json.dumps(expected, indent=1)[:3000]))

        # heartbeats at WELCOME's interval (200 ms), not the 1 s asked for
        time.sleep(2.0)
        beats = [int(l[0]) for l in peer.lines() if l[1:2] == ["HEARTBEAT"]]
        if len(beats) < 6:
            fail("%d heartbeats in 2 s at %d ms" % (len(beats), HEARTBEAT_MS))
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        mean = sum(gaps) / len(gaps)
        if not 150 <= mean <= 260:
            fail("mean heartbeat gap %.0f ms, want ~%d" % (mean, HEARTBEAT_MS))
        if agent.poll() is not None:
            fail("agent died after malformed/unexpected messages")
        text = open(log_path).read()
        for needle in ("malformed message from the controller dropped",
                       "unexpected INVENTORY from the controller",
                       "apply revision 7: 0 items, 0 failed"):
            if needle not in text:
                fail("agent log lacks '%s'" % needle)
        _, result = peer.wait_for("APPLY_RESULT", 1)
        if (result["revision"], result["results"]) != ("7", "0"):
            fail("APPLY_RESULT for the empty APPLY: %s" % result)

        # change the tree: VF 0 moves from iavf to vfio-pci
        vf0 = os.path.join(sysfs, "bus", "pci", "devices", "0000:37:02.0")
        os.remove(os.path.join(vf0, "driver"))
        os.makedirs(os.path.join(sysfs, "bus/pci/drivers/vfio-pci"),
                    exist_ok=True)
        os.symlink("../../../bus/pci/drivers/vfio-pci",
                   os.path.join(vf0, "driver"))
        j, delta = peer.wait_for("INVENTORY_DELTA", 3, after=i + 1)
        if (delta["base"], delta["generation"], delta["pfs"],
                delta["removed"]) != ("1", "2", "1", "0"):
            fail("delta %s" % delta)
        changed = peer.dump(delta)["pfs"][0]["vfs"][0]
        if changed["driver"] != "vfio-pci":
            fail("delta shows vf 0 driver %s" % changed["driver"])
        # the peer answered RESYNC: a full inventory at generation 2 follows
        _, full = peer.wait_for("INVENTORY", 3, after=j + 1)
        if full["generation"] != "2":
            fail("INVENTORY after RESYNC %s" % full)
        after_change = discover_json(sysfs, procfs)
        if peer.dump(full) != after_change:
            fail("INVENTORY after RESYNC differs from --discover --json")
        # no change, no delta: a few rescans later still one delta
        time.sleep(1.0)
        deltas = [l for l in peer.lines() if l[1:2] == ["INVENTORY_DELTA"]]
        if len(deltas) != 1:
            fail("%d deltas for one change" % len(deltas))

        # VF count 16 -> 15: sriov_numvfs and the last virtfn link go
        pf = os.path.join(sysfs, "bus", "pci", "devices", "0000:37:00.0")
        with open(os.path.join(pf, "sriov_numvfs"), "w") as f:
            f.write("15\n")
        os.remove(os.path.join(pf, "virtfn15"))
        k, delta = peer.wait_for("INVENTORY_DELTA", 3, after=j + 1)
        if (delta["base"], delta["generation"]) != ("2", "3"):
            fail("second delta %s" % delta)
        shrunk = peer.dump(delta)["pfs"][0]
        if shrunk["num_vfs"] != 15 or len(shrunk["vfs"]) != 15:
            fail("delta after numvfs 15: %d / %d VFs" %
                 (shrunk["num_vfs"], len(shrunk["vfs"])))
        after_change = discover_json(sysfs, procfs)

        # controller restart in place (SIGHUP): sessions forgotten
        n = len(peer.lines())
        peer.proc.send_signal(signal.SIGHUP)
        peer.wait_for("RESTARTING", 3, after=n)
        _, hello = peer.wait_for("HELLO", 8, after=n)
        _, full = peer.wait_for("INVENTORY", 3, after=n)
        if full["generation"] != "3" or peer.dump(full) != after_change:
            fail("no full re-send after the peer restarted: %s" % full)

        # controller crash: kill -9, new peer process on the same port
        peer.kill()
        time.sleep(0.5)
        peer = Peer(endpoint, "peer2")
        _, hello = peer.wait_for("HELLO", 8)
        _, full = peer.wait_for("INVENTORY", 3)
        if full["generation"] != "3" or peer.dump(full) != after_change:
            fail("no full re-send after reconnect: %s" % full)
        peer.wait_for("HEARTBEAT", 3)

        rc = terminate(agent)
        if rc != 0:
            fail("agent exited %d on SIGTERM" % rc)
    finally:
        kill_if_running(agent)
        if peer.proc.poll() is None:
            peer.stop()
        log.close()
    print("ok: hello, inventory, heartbeats, garbage dropped, delta, resync, "
          "reconnect, clean stop")
    return 0


if __name__ == "__main__":
    run(main, WORK)
