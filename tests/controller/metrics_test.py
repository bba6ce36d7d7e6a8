#!/usr/bin/env python3
"""metrics_test.py - the controller's --metrics endpoint, end to end: the
series controller/stats.c and agent/agent_stats.c register and count, as a
scraper sees them.

A real vfleet-controller with --metrics on a free loopback port, two real
vfleet-agents on generated trees with the simulated kernel, and the real
vfleetctl; agents and peers talk CURVE with keys from `vfleetctl keys`. The test scrapes the endpoint over HTTP and checks:

- the values: hosts and VFs by state against the inventory, agent
  messages by type, admin requests by verb, a policy apply and the
  APPLY_RESULTs it brings, the histograms' counts, a host that dies;
- the format: `promtool check metrics` when promtool is installed, and
  always this file's own check of the text exposition format 0.0.4
  (HELP/TYPE before samples, names, labels, cumulative buckets ending in
  +Inf equal to _count);
- a flooding peer (vfleet-test-peer --flood) over --peer-rate: its drops
  counted;
- HTTP: the content type, 404 on another path, 405 on POST;
- a second controller asked to serve metrics on a port already taken does
  not start;
- the agent's own endpoint (esx-e1 runs with --metrics): scans timed,
  kernel writes of the apply counted, no failed item, and the drift gauge
  at 0, then at 1 once a VF is changed behind the agent (the policy says
  `drift: report`, so nothing sets it back).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import (check, fail, free_port, set_vlan_behind,  # noqa: E402,F401
                 sim_state)
SRC = os.environ.get("VFLEET_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ["VFLEET_BINARY_DIR"]
AGENT = os.path.join(BIN, "agent", "vfleet-agent")
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
CTL = os.path.join(BIN, "cli", "vfleetctl")
PEER = os.path.join(BIN, "tests", "controller", "vfleet-test-peer")
MKTREE = os.path.join(SRC, "tests", "fixtures", "mktree.py")
POLICY = os.path.join(SRC, "deploy", "examples", "policy.yaml")
WORK = os.path.join(BIN, "tests", "controller", "metrics")
e2e.WORK = WORK
HOSTS = ("esx-e1", "esx-e2")  # hosts the example policy selects
HEARTBEAT = "300ms"
PF_IFNAME = "ens1f0"  # the simulated kernel's state names PFs by netdev

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))


def wait_until(what, fn, timeout=20):
    return e2e.wait_until(what, fn, timeout)


def check_format(text):
    """The text exposition format 0.0.4's rules, as Prometheus parses
    them; returns the samples as {(name, labels): value}."""
    samples, types, helps = {}, {}, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if not (len(parts) >= 3 and re.fullmatch(NAME, parts[2])):
                fail("format: %s names no metric" % where)
            family = parts[2]
            if parts[1] == "TYPE":
                if family in types or len(parts) != 4 or parts[3] not in (
                        "counter", "gauge", "histogram", "summary",
                        "untyped"):
                    fail("format: %s: bad or repeated TYPE" % where)
                types[family] = parts[3]
            else:
                if family in helps:
                    fail("format: %s: repeated HELP" % where)
                helps.add(family)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("format: %s is not a sample line" % where)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        float(value)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if types.get(name) is None and types.get(family) != "histogram":
            fail("format: %s: sample before its TYPE" % where)
        if types.get(name) == "counter" and not name.endswith("_total"):
            fail("format: %s: a counter's name ends in _total" % where)
        if (name, labels) in samples:
            fail("format: %s: repeated series" % where)
        samples[(name, labels)] = float(value)
    check_histograms(samples, types)
    if not (text.endswith("\n") and samples):
        fail("format: no samples, or no newline at the end")
    return samples


def check_histograms(samples, types):
    for family, kind in types.items():
        if kind != "histogram":
            continue
        buckets = [(labels, v) for (name, labels), v in samples.items()
                   if name == family + "_bucket"]
        les = [re.search(r'le="([^"]*)"', labels).group(1)
               for labels, _ in buckets]
        counts = [v for _, v in buckets]
        if not les or les[-1] != "+Inf" or counts != sorted(counts):
            fail("format: %s: buckets not cumulative up to +Inf" % family)
        if [float(x) for x in les] != sorted(float(x) for x in les):
            fail("format: %s: bucket bounds not ascending" % family)
        if samples.get((family + "_count", "")) != counts[-1] or \
                (family + "_sum", "") not in samples:
            fail("format: %s: _count is not the +Inf bucket" % family)


FLOOD_HOST = "flood-0"  # vfleet-test-peer --flood's host


class Cluster:
    """The controller, the agents and the trees they run on, over CURVE:
    the controller's pair and a key for every host (and the flooding
    peer), made with vfleetctl keys in WORK/keys."""

    def __init__(self):
        self.keys = os.path.join(WORK, "keys")
        e2e.keys("init")
        for host in HOSTS + (FLOOD_HOST,):
            e2e.add_host_key(host)
        self.port = free_port()
        self.metrics_port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        self.agent_port = free_port()
        self.agent_url = "http://127.0.0.1:%d/metrics" % self.agent_port
        self.admin = "ipc://%s/admin.sock" % os.path.join(WORK, "controller")
        self.controller = None
        self.agents = {}
        for host in HOSTS:
            subprocess.run(["python3", MKTREE, "vf64",
                            os.path.join(WORK, host)], check=True,
                           stdout=subprocess.DEVNULL)

    def start_controller(self):
        log = open(os.path.join(WORK, "controller.log"), "a")
        self.controller = subprocess.Popen(
            [CONTROLLER, "--keys", self.keys, "--state-dir",
             os.path.join(WORK, "controller"), "--agents",
             "tcp://127.0.0.1:%d" % self.port, "--admin", self.admin,
             "--heartbeat-interval", HEARTBEAT, "--dead-after", "3",
             "--peer-rate", "20",
             "--metrics", "tcp://127.0.0.1:%d/metrics" % self.metrics_port],
            stderr=log)
        wait_until("metrics answer", lambda: self.try_scrape())

    def start_agent(self, host):
        tree = os.path.join(WORK, host)
        log = open(os.path.join(WORK, "agent-%s.log" % host), "a")
        self.agents[host] = subprocess.Popen(
            [AGENT, "--controller", "tcp://127.0.0.1:%d" % self.port] +
            self.agent_keys(host) + ["--hostname", host, "--kernel", "sim",
             "--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
             os.path.join(tree, "proc"), "--state-dir",
             os.path.join(tree, "agent-state"), "--rescan", "300ms",
             "--heartbeat-interval", HEARTBEAT] +
            (["--metrics", "tcp://127.0.0.1:%d" % self.agent_port]
             if host == HOSTS[0] else []),
            stderr=log)

    def agent_keys(self, host):
        """The options of a CURVE client with host's key."""
        return ["--key", e2e.host_key(host), "--controller-key",
                os.path.join(self.keys, "controller.key")]

    def try_scrape(self, url=None):
        try:
            return self.scrape(url)
        except (urllib.error.URLError, ConnectionError):
            return None

    def scrape(self, url=None):
        with urllib.request.urlopen(url or self.url, timeout=5) as r:
            if r.status != 200 or r.headers["Content-Type"] != \
                    "text/plain; version=0.0.4; charset=utf-8":
                fail("scrape: status %d, content type %s" %
                     (r.status, r.headers["Content-Type"]))
            return r.read().decode()

    def ctl(self, *args):
        r = subprocess.run([CTL, "-c", self.admin] + list(args),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("vfleetctl %s exited %d: %s" %
                 (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def stop(self):
        for p in list(self.agents.values()) + [self.controller]:
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


def values(c):
    return check_format(c.scrape())


def value(samples, name, labels=""):
    return samples.get((name, labels))


def check_start(c):
    s = values(c)
    version = subprocess.run([CONTROLLER, "--version"], capture_output=True,
                             text=True).stdout.split()[-1]
    check(value(s, "vfleet_build_info", '{version="%s"}' % version) == 1,
          "vfleet_build_info names version %s" % version)
    check(value(s, "vfleet_hosts", '{state="ready"}') == 0 and
          value(s, "vfleet_vfs", '{state="free"}') == 0,
          "an empty inventory: no hosts, no VFs")
    check(value(s, "vfleet_agent_messages_total", '{type="HELLO"}') == 0,
          "no HELLO counted before any agent")


def check_agents_join(c):
    for host in HOSTS:
        c.start_agent(host)
    s = wait_until("two hosts ready in the metrics", lambda: (
        lambda s: s if value(s, "vfleet_hosts", '{state="ready"}') == 2
        else None)(values(c)))
    free = json.loads(c.ctl("-o", "json", "summary"))["vfs"]["free"]
    s = values(c)
    check(value(s, "vfleet_vfs", '{state="free"}') == free and free > 0,
          "vfleet_vfs{state=\"free\"} is the summary's %d free VFs" % free)
    check(value(s, "vfleet_agent_messages_total", '{type="HELLO"}') >= 2,
          "the HELLOs counted")
    check(value(s, "vfleet_agent_messages_total", '{type="INVENTORY"}') >= 2,
          "the full inventories counted")
    check(value(s, "vfleet_agent_burst_seconds_count") >= 2 and
          value(s, "vfleet_agent_burst_seconds_sum") > 0,
          "agent bursts timed")
    check(value(s, "vfleet_db_commit_seconds_count") >= 2,
          "the inventories' commits timed")
    beats = value(s, "vfleet_agent_messages_total", '{type="HEARTBEAT"}')
    s = wait_until("heartbeats counted", lambda: (
        lambda s: s if value(s, "vfleet_agent_messages_total",
                             '{type="HEARTBEAT"}') > beats else None)(
        values(c)))
    check(True, "heartbeats keep being counted")


def check_admin(c):
    before = values(c)
    c.ctl("summary")
    c.ctl("hosts")
    c.ctl("hosts")
    s = values(c)
    for verb, n in (("summary", 1), ("hosts", 2)):
        label = '{verb="%s"}' % verb
        check(value(s, "vfleet_admin_requests_total", label) -
              value(before, "vfleet_admin_requests_total", label) == n,
              "%d admin request(s) %s counted" % (n, verb))
    check(value(s, "vfleet_admin_request_seconds_count") -
          value(before, "vfleet_admin_request_seconds_count") == 3,
          "three admin requests timed")


def report_policy():
    """The example policy with `drift: report`."""
    with open(POLICY) as f:
        text = f.read()
    if "\ndrift: correct" not in text:
        fail("the example policy no longer says drift: correct")
    path = os.path.join(WORK, "report.yaml")
    with open(path, "w") as f:
        f.write(text.replace("\ndrift: correct", "\ndrift: report"))
    return path


def check_policy_apply(c):
    out = c.ctl("policy", "apply", report_policy(), "--message", "metrics")
    check("revision 1" in out, "policy apply stores revision 1")
    s = wait_until("two APPLY_RESULTs ok", lambda: (
        lambda s: s if value(s, "vfleet_apply_results_total",
                             '{outcome="ok"}') >= 2 else None)(values(c)))
    check(value(s, "vfleet_policy_applies_total", '{outcome="stored"}') == 1,
          "one policy apply stored")
    check(value(s, "vfleet_apply_results_total", '{outcome="failed"}') == 0,
          "no APPLY_RESULT failed")
    check(value(s, "vfleet_agent_messages_total",
                '{type="APPLY_RESULT"}') >= 2, "APPLY_RESULTs counted")
    check(value(s, "vfleet_admin_requests_total",
                '{verb="policy.apply"}') == 1, "policy.apply counted as verb")


def check_placement(c):
    """A VM placed, one refused and one invalid: counted by outcome, the
    refusal by the rule the closest host failed; the VM gauge follows."""
    c.ctl("vm", "create", "web-1", "--memory", "4G", "--vcpus", "1",
          "--nic", "vlan1", "--wait")
    r = subprocess.run([CTL, "-c", c.admin, "vm", "create", "big",
                        "--memory", "4T", "--vcpus", "1", "--nic", "vlan1"],
                       capture_output=True, text=True)
    check(r.returncode == 1, "a 4 TiB VM is refused")
    r = subprocess.run([CTL, "-c", c.admin, "vm", "create", "odd",
                        "--memory", "1G", "--vcpus", "1", "--nic", "vlan9"],
                       capture_output=True, text=True)
    check(r.returncode == 1, "a VM on an undefined network is refused")
    s = values(c)
    check(value(s, "vfleet_placements_total", '{outcome="reserved"}') == 1 and
          value(s, "vfleet_placements_total", '{outcome="refused"}') == 1 and
          value(s, "vfleet_placements_total", '{outcome="invalid"}') == 1,
          "placements counted: 1 reserved, 1 refused, 1 invalid")
    check(value(s, "vfleet_placement_refusals_total", '{rule="memory"}') == 1,
          "the refusal counted under the closest host's rule, memory")
    check(value(s, "vfleet_vms", '{state="placed"}') == 1 and
          value(s, "vfleet_vms", '{state="reserved"}') == 0,
          "vfleet_vms counts the placed VM")
    check(value(s, "vfleet_vfs", '{state="assigned"}') == 1,
          "its VF is counted assigned")


def check_agent(c):
    def agent():
        return check_format(c.scrape(c.agent_url))
    s = agent()
    version = subprocess.run([AGENT, "--version"], capture_output=True,
                             text=True).stdout.split()[-1]
    check(value(s, "vfleet_build_info", '{version="%s"}' % version) == 1,
          "agent: vfleet_build_info names version %s" % version)
    check(value(s, "vfleet_agent_scan_seconds_count") >= 2,
          "agent: scans timed")
    check(value(s, "vfleet_agent_kernel_writes_total") >= 1,
          "agent: the apply's kernel writes counted (%d)" %
          value(s, "vfleet_agent_kernel_writes_total"))
    check(value(s, "vfleet_agent_apply_failures_total") == 0,
          "agent: no apply item failed")
    check(value(s, "vfleet_agent_drift_items") == 0,
          "agent: no drift after the apply")
    set_vlan_behind(HOSTS[0], PF_IFNAME, 1, 77)
    wait_until("agent: one drift item", lambda: value(
        agent(), "vfleet_agent_drift_items") == 1)
    check(True, "agent: a VLAN changed behind it is one drift item")
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"],
                           input=c.scrape(c.agent_url), capture_output=True,
                           text=True)
        check(r.returncode == 0, "agent: promtool check metrics: clean "
              "(%s%s)" % (r.stdout.strip(), r.stderr.strip()))


def check_host_down(c):
    c.agents["esx-e2"].kill()
    c.agents["esx-e2"].wait()
    wait_until("one host ready, one down in the metrics", lambda: (
        lambda s: value(s, "vfleet_hosts", '{state="down"}') == 1 and
        value(s, "vfleet_hosts", '{state="ready"}') == 1)(values(c)))
    check(True, "one host ready, one down")


def check_drops(c):
    before = value(values(c), "vfleet_peer_messages_dropped_total",
                   '{peer="agent"}')
    r = subprocess.run([PEER, "--controller", "tcp://127.0.0.1:%d" % c.port,
                        "--host", FLOOD_HOST, "--pfs", "1", "--vfs", "2",
                        "--flood", "3000"] + c.agent_keys(FLOOD_HOST),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "a peer sent 3000 inventories back to back%s" %
          (": " + r.stderr.strip() if r.returncode else ""))
    s = values(c)
    dropped = value(s, "vfleet_peer_messages_dropped_total",
                    '{peer="agent"}') - before
    check(dropped > 0, "its messages over --peer-rate 20 counted as dropped "
          "(%d)" % dropped)
    check(value(s, "vfleet_peer_messages_dropped_total",
                '{peer="admin"}') == 0, "no admin request dropped")


def check_promtool(c):
    s = values(c)
    check(len(s) > 90, "format: every scrape so far, and this one's %d "
          "samples, follow the exposition format" % len(s))
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip - promtool is not installed (deploy/install-deps.sh "
              "installs it); the format was checked by this test only")
        return
    r = subprocess.run([promtool, "check", "metrics"], input=c.scrape(),
                       capture_output=True, text=True)
    check(r.returncode == 0, "promtool check metrics: clean (%s%s)" %
          (r.stdout.strip(), r.stderr.strip()))


def check_http(c):
    try:
        urllib.request.urlopen(c.url.replace("/metrics", "/other"), timeout=5)
        fail("another path answered")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "another path: 404")
    try:
        urllib.request.urlopen(c.url, data=b"x", timeout=5)
        fail("POST answered")
    except urllib.error.HTTPError as e:
        check(e.code == 405 and e.headers["Allow"] == "GET, HEAD",
              "POST: 405 with Allow: GET, HEAD")


def check_port_taken(c):
    log = os.path.join(WORK, "second.log")
    with open(log, "w") as f:
        rc = subprocess.run(
            [CONTROLLER, "--keys", c.keys, "--state-dir",
             os.path.join(WORK, "second"), "--agents",
             "tcp://127.0.0.1:%d" % free_port(), "--metrics",
             "tcp://127.0.0.1:%d" % c.metrics_port],
            stderr=f, timeout=30).returncode
    with open(log) as f:
        text = f.read()
    check(rc == 1 and "cannot serve metrics" in text,
          "a metrics port already taken: exit 1 with the reason")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    c = Cluster()
    try:
        c.start_controller()
        check_start(c)
        check_agents_join(c)
        check_admin(c)
        check_policy_apply(c)
        check_placement(c)
        check_agent(c)
        check_host_down(c)
        check_drops(c)
        check_promtool(c)
        check_http(c)
        check_port_taken(c)
    finally:
        c.stop()
    print("metrics_test: all checks passed")


if __name__ == "__main__":
    main()
