"""e2e.py - what the end-to-end tests of tests/controller share: failing
with the processes' logs, checks, bounded waits, free ports, and the
simulated kernel's state file of a generated host tree.

A test sets e2e.WORK to its work directory (where the *.log files and the
host trees are) before it calls anything here.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

WORK = None
SRC = os.environ.get("VFLEET_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("VFLEET_BINARY_DIR", "")
AGENT = os.path.join(BIN, "agent", "vfleet-agent")
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
CTL = os.path.join(BIN, "cli", "vfleetctl")
MKTREE = os.path.join(SRC, "tests", "fixtures", "mktree.py")


def fail(msg):
    """Fails the test, printing the last lines of every log in WORK."""
    sys.stderr.write("FAIL: %s\n" % msg)
    for name in sorted(os.listdir(WORK)):
        if name.endswith(".log"):
            with open(os.path.join(WORK, name)) as f:
                sys.stderr.write("---- %s (last lines)\n%s" %
                                 (name, "".join(f.readlines()[-25:])))
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok - %s" % msg)


def wait_until(what, fn, timeout=15):
    """fn's first true value within timeout seconds, else fails."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    fail("%s: not within %s s" % (what, timeout))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sim_state(host):
    """The simulated kernel's state file of WORK/host ("" until a VF leaves
    the defaults: a VF it does not list has the kernel's defaults)."""
    path = os.path.join(WORK, host, "sys", ".vfleet-sim", "state")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def set_vlan_behind(host, pf_ifname, index, vlan):
    """Changes one VF's VLAN in the simulated kernel, as `ip link set`
    would, behind the agent's back (the state names PFs by netdev)."""
    path = os.path.join(WORK, host, "sys", ".vfleet-sim", "state")
    lines = sim_state(host).splitlines(True)
    for i, line in enumerate(lines):
        f = line.split()
        if f and f[0] == "vf" and f[1] == pf_ifname and f[2] == str(index):
            f[4] = str(vlan)
            lines[i] = " ".join(f) + "\n"
            break
    else:
        lines.append("vf %s %d 00:00:00:00:00:00 %d 0 0x8100 1 0 0 0 0\n" %
                     (pf_ifname, index, vlan))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(path + ".tmp", path)


def sim_vfs(host, pf_ifname):
    """The simulated kernel's VFs of a PF (by netdev): index -> the state
    line's fields after the index (mac, vlan, qos, ...)."""
    out = {}
    for line in sim_state(host).splitlines():
        f = line.split()
        if f and f[0] == "vf" and f[1] == pf_ifname:
            out[int(f[2])] = f[3:]
    return out


def keys(*args):
    """vfleetctl keys ARGS on the key directory WORK/keys; fails the test
    when it fails."""
    r = subprocess.run([CTL, "keys"] + list(args) +
                       ["--keys", os.path.join(WORK, "keys")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("keys %s exited %d: %s" % (" ".join(args), r.returncode,
                                        r.stderr))
    return r


def host_key(host):
    """Where add_host_key put host's secret certificate."""
    return os.path.join(WORK, "%s.key_secret" % host)


def add_host_key(host):
    """Authorises a new key for host; its secret goes to host_key(host)."""
    keys("add-host", host, "--out", host_key(host))


class Answer:
    """One admin REPLY: status ("OK" or the error code's name), error text
    and body (parsed JSON, or None when empty)."""

    def __init__(self, status, error, body):
        self.status, self.error, self.body = status, error, body

    def __repr__(self):
        return "%s %r %r" % (self.status, self.error, self.body)


def request(c, verb, params=None, body=None):
    """Sends one admin REQUEST to cluster c with vfleet-test-peer."""
    peer = os.path.join(BIN, "tests", "controller", "vfleet-test-peer")
    cmd = [peer, "--controller", c.admin, "--request", verb]
    for key, value in (params or {}).items():
        cmd += ["--param", "%s=%s" % (key, value)]
    if body is not None:
        path = os.path.join(WORK, "body.json")
        with open(path, "w") as f:
            f.write(body if isinstance(body, str) else json.dumps(body))
        cmd += ["--body", path]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode == 0:
        return Answer("OK", "", json.loads(r.stdout))
    lines = r.stderr.rstrip("\n").split("\n")
    status, _, error = lines[0].partition(" ")
    detail = json.loads(lines[1]) if len(lines) > 1 and lines[1] else None
    return Answer(status, error, detail)


def ok(c, verb, params=None, body=None):
    """The body of an OK answer; fails the test on any other."""
    a = request(c, verb, params, body)
    if a.status != "OK":
        fail("%s %s: %r" % (verb, params, a))
    return a.body


def expect(c, verb, params, body, status, text, what):
    """Checks that the request is answered status with text (a substring,
    or the whole error when it starts with '=')."""
    a = request(c, verb, params, body)
    exact = text.startswith("=")
    good = a.status == status and (
        a.error == text[1:] if exact else text in a.error)
    check(good, "%s: %s (got %r)" % (verb, what, a))
    return a



class Cluster:
    """The controller, the agents and the trees they run on. With CURVE
    unless insecure: the controller's pair and one key per host, made with
    vfleetctl keys in WORK/keys. Every daemon gets an explicit empty
    --config: the machine's /etc/vfleet/*.conf must not reach a test."""

    def __init__(self, hosts, heartbeat, insecure=False):
        self.hosts = hosts
        self.heartbeat = heartbeat
        self.insecure = insecure
        self.keys = os.path.join(WORK, "keys")
        self.port = free_port()
        self.admin = "ipc://%s/admin.sock" % os.path.join(WORK, "controller")
        self.controller = None
        self.agents = {}
        self.config = os.path.join(WORK, "empty.conf")
        open(self.config, "w").close()
        for host, scenario in hosts.items():
            subprocess.run(["python3", MKTREE, scenario,
                            os.path.join(WORK, host)], check=True,
                           stdout=subprocess.DEVNULL)
        if not insecure:
            keys("init")
            for host in hosts:
                add_host_key(host)

    def security(self):
        """The controller's options for CURVE, or --insecure."""
        if self.insecure:
            return ["--insecure"]
        return ["--keys", self.keys]

    def agent_security(self, host):
        """An agent's options for CURVE with host's key, or --insecure."""
        if self.insecure:
            return ["--insecure"]
        return ["--key", host_key(host), "--controller-key",
                os.path.join(self.keys, "controller.key")]

    def start_controller(self):
        log = open(os.path.join(WORK, "controller.log"), "a")
        self.controller = subprocess.Popen(
            [CONTROLLER, "--config", self.config] + self.security() +
            ["--state-dir",
             os.path.join(WORK, "controller"), "--agents",
             "tcp://127.0.0.1:%d" % self.port, "--admin", self.admin,
             "--heartbeat-interval", self.heartbeat, "--log-level", "debug"],
            stderr=log)
        wait_until("controller answers", lambda: self.ctl(
            "summary", check_rc=False).returncode == 0)

    def start_agent(self, host):
        tree = os.path.join(WORK, host)
        log = open(os.path.join(WORK, "agent-%s.log" % host), "a")
        self.agents[host] = subprocess.Popen(
            [AGENT, "--config", self.config, "--controller",
             "tcp://127.0.0.1:%d" % self.port] +
            self.agent_security(host) + ["--hostname", host, "--kernel", "sim",
             "--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
             os.path.join(tree, "proc"), "--state-dir",
             os.path.join(tree, "agent-state"), "--rescan", "300ms",
             "--heartbeat-interval", self.heartbeat, "--log-level", "debug"],
            stderr=log)

    def start_ready(self):
        """Starts the controller and every host's agent, and waits until
        every host is ready."""
        self.start_controller()
        for host in self.hosts:
            self.start_agent(host)
        wait_until("%d hosts ready" % len(self.hosts), lambda: len(
            [h for h in self.json("hosts")["hosts"]
             if h["state"] == "ready"]) == len(self.hosts))

    def ctl(self, *args, check_rc=True, timeout=None):
        cmd = [CTL, "-c", self.admin] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout or 120)
        if check_rc and r.returncode != 0:
            fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" %
                 (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def json(self, *args):
        return json.loads(self.ctl("-o", "json", *args).stdout)

    def stop(self):
        for p in list(self.agents.values()) + [self.controller]:
            if p and p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
