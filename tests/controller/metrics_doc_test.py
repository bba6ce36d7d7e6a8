#!/usr/bin/env python3
"""metrics_doc_test.py - the metrics contract as an outside tester reads it:
controller/README.md and agent/README.md ("Metrics"), the --metrics entries
of vfleet-controller(8) and vfleet-agent(8), and both daemons' --help,
checked against the real binaries.

What to expect is read from the documents themselves: each table row's
family, type and label values (a message name of proto/PROTOCOL.md, a verb
of ADMIN.md), and the bucket bounds each README lists. A real
vfleet-controller (CURVE, a tcp admin endpoint) with --metrics on a free
loopback port and no PATH, two real vfleet-agents on generated trees with
the simulated kernel (esx-e1 serving its own metrics), and this file's own
admin client (REQUESTs over zmtp.py, one connection each unless a test
needs a burst) so that every request sent is known exactly:

- every documented family, and no other, with HELP and TYPE, every
  documented label value from the start at 0, histogram buckets exactly as
  listed and cumulative (the agent's too, with and without a controller);
- PATH defaults to /metrics, 404 elsewhere, 405 with Allow for POST, HEAD
  answers without a body; 16 connections at once, an idle one closed
  after 10 s; `metrics =` in a configuration file (HOST `*`, a PATH of
  one's own); --metrics ignored with --discover;
- agent messages by type (HELLO exactly once per agent, INVENTORY,
  INVENTORY_DELTA, HEARTBEAT, APPLY_RESULT counted as
  vfleet_apply_results_total counts them, an undecodable one), admin
  requests per verb whatever their status (each verb of ADMIN.md once, an
  unknown verb as `other`, a DENIED one, writes answered busy because 64
  wait), policy.apply and policy.rollback by outcome (stored, unchanged,
  dry_run, refused), vm.create reserved / refused (by the closest host's
  rule, as the CONFLICT body names it; no rule when no host is known) /
  invalid; every counter checked to move by exactly what was done;
- requests over --admin-rate: answered busy, counted in
  vfleet_peer_messages_dropped_total{peer="admin"} and not as requests;
- the agent's failed apply items as policy.status reports them, its
  kernel writes and drift;
- the gauges against what `vfleetctl hosts`, `vfs` and `vms` list, with
  hosts cordoned, VMs placed, a host down with its VM
  (vfleet_vms_host_down);
- bad --metrics values refused at start by both daemons with exit status 2
  and the reason (on the command line and in a configuration file), an
  endpoint that cannot be served with exit status 1.
"""

import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import zmtp  # noqa: E402
from e2e import check, fail, free_port, wait_until  # noqa: E402

SRC = e2e.SRC
WORK = os.path.join(e2e.BIN, "tests", "controller", "metrics_doc")
e2e.WORK = WORK
POLICY = os.path.join(SRC, "deploy", "examples", "policy.yaml")
HOSTS = {"esx-e1": "vf64", "esx-e2": "vf64"}
HEARTBEAT = "300ms"
PF_IFNAME = "ens1f0"
ADMIN_RATE = 50
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# proto/PROTOCOL.md, section 8.
OK, DENIED, INVALID, CONFLICT, INTERNAL = 0, 5, 7, 9, 10


# ---- what the documents promise --------------------------------------------

def read(*path):
    with open(os.path.join(SRC, *path)) as f:
        return f.read()


def section(text, heading):
    """The text under a markdown heading, up to the next heading of the
    same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index("\n" + heading + "\n") + len(heading) + 2
    end = re.compile(r"^#{1,%d} " % len(level), re.M).search(text, start)
    return text[start:end.start() if end else len(text)]


def table_rows(text):
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| `")]


def buckets(text):
    """The bounds a README lists as "(0.001, 0.0025, ..., 10 and `+Inf`)"."""
    m = re.search(r"\(([0-9., \n]+?)\s+and\s+`\+Inf`\)", text)
    if not m:
        fail("no bucket list \"(..., 10 and `+Inf`)\" in %r" % text[:200])
    return [float(x) for x in re.split(r",\s*", m.group(1).strip())] + \
        [float("inf")]


def message_names():
    return re.findall(r"^### 4\.\d+ ([A-Z_]+) \(\d+\)",
                      read("proto", "PROTOCOL.md"), re.M)


def admin_verbs():
    verbs = []
    for line in re.findall(r"^## (`.*)$", read("controller", "ADMIN.md"),
                           re.M):
        verbs += re.findall(r"`([^`]+)`", line)
    return verbs


def label_values(label, text, version):
    """The values a labels cell documents: backquoted words, a document's
    names standing for all of them (its messages, its verbs)."""
    if label == "version":
        return {version}
    values = set()
    for word in re.findall(r"`([^`]+)`", text):
        if word.endswith("PROTOCOL.md"):
            values |= set(message_names())
        elif word.endswith("ADMIN.md"):
            values |= set(admin_verbs())
        else:
            values.add(word)
    return values


def controller_doc(version):
    """{family: (type, label or None, values)}, and the bucket bounds."""
    text = section(read("controller", "README.md"), "## Metrics")
    families = {}
    for name, kind, labels, _ in table_rows(text):
        name = name.strip("`")
        m = re.match(r"`(\w+)`: (.*)", labels)
        families[name] = (kind, m.group(1), label_values(
            m.group(1), m.group(2), version)) if m else (kind, None, set())
    return families, buckets(text)


def agent_doc(version):
    text = section(read("agent", "README.md"), "## Metrics")
    families, bounds = {}, None
    for name, kind, meaning in table_rows(text):
        m = re.match(r"`(\w+)(?:\{(\w+)\})?`", name)
        label = m.group(2)
        families[m.group(1)] = (kind, label, label_values(
            label, "", version) if label else set())
        if kind == "histogram":
            bounds = buckets(meaning)
    return families, bounds


# ---- scraping ---------------------------------------------------------------

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


class Scrape:
    """One scrape: HELP and TYPE per family, samples by name and labels."""

    def __init__(self, text):
        self.text, self.types, self.helps, self.samples = text, {}, {}, {}
        for line in text.splitlines():
            if line.startswith("# "):
                _, what, name, rest = (line.split(" ", 3) + [""])[:4]
                (self.types if what == "TYPE" else self.helps)[name] = rest
                continue
            m = LINE.match(line)
            if not m:
                fail("not a sample line: %r" % line)
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"',
                                             m.group(2) or "")))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            fail("no series %s%s in the scrape" % (name, labels or ""))
        return self.samples[key]

    def series(self, name):
        """{labels: value} of one sample name."""
        return {dict(k[1]).get("le") or k[1]: v
                for k, v in self.samples.items() if k[0] == name}


def http_get(port, path="/metrics", method="GET", body=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


def scrape(port):
    status, headers, text = http_get(port)
    if status != 200 or headers.get("Content-Type") != CONTENT_TYPE:
        fail("scrape: %d %s" % (status, headers.get("Content-Type")))
    return Scrape(text)


def try_scrape(port):
    try:
        return scrape(port)
    except OSError:
        return None


def check_families(s, doc, bounds, who):
    """Every documented family and no other, typed as documented, with
    every documented label value, and each histogram's buckets."""
    check(set(s.types) == set(doc),
          "%s: the families are the documented ones (undocumented: %s, "
          "missing: %s)" % (who, sorted(set(s.types) - set(doc)),
                            sorted(set(doc) - set(s.types))))
    for name, (kind, label, values) in sorted(doc.items()):
        if s.types[name] != kind or not s.helps.get(name):
            fail("%s: %s is TYPE %r with HELP %r; documented %s" %
                 (who, name, s.types[name], s.helps.get(name), kind))
        sample = name + "_bucket" if kind == "histogram" else name
        got = {dict(k[1]).get(label) for k in s.samples if k[0] == sample}
        if label and got != values:
            fail("%s: %s{%s} has %s; documented %s" %
                 (who, name, label, sorted(got - values),
                  sorted(values - got)) + " (exposed only, documented only)")
        if kind == "histogram":
            les = s.series(name + "_bucket")
            counts = [les[le] for le in sorted(les, key=float)]
            if sorted(float(le) for le in les) != bounds or \
                    counts != sorted(counts) or \
                    counts[-1] != s.get(name + "_count"):
                fail("%s: %s buckets %s, documented %s, cumulative to "
                     "_count" % (who, name, sorted(les, key=float), bounds))
    check(True, "%s: %d families typed and labelled as documented, "
          "histogram buckets %s to +Inf" % (who, len(doc), bounds[0]))


def check_all_zero(s, doc, who):
    nonzero = [(k, v) for k, v in s.samples.items()
               if v != 0 and k[0] != "vfleet_build_info"]
    check(not nonzero and all(
        v == 1 for k, v in s.samples.items() if k[0] == "vfleet_build_info"),
        "%s: every series there from the start at 0, vfleet_build_info 1 "
        "(not: %s)" % (who, nonzero[:3]))


def check_http(port, who):
    status, headers, body = http_get(port, method="HEAD")
    check(status == 200 and headers.get("Content-Type") == CONTENT_TYPE and
          body == "", "%s: HEAD /metrics: 200, the content type, no body" %
          who)
    for path in ("/", "/metrics/", "/other", "/metricsx"):
        status = http_get(port, path)[0]
        if status != 404:
            fail("%s: GET %s: %d, not 404" % (who, path, status))
    check(True, "%s: GET on any other path: 404" % who)
    status, headers, _ = http_get(port, method="POST", body="x")
    check(status == 405 and headers.get("Allow") == "GET, HEAD",
          "%s: POST: 405, Allow: GET, HEAD" % who)


# ---- the admin API, request by request -------------------------------------

def wire_string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def request_bytes(verb, params, body, request_id):
    """PROTOCOL.md 4.9: REQUEST, version 1."""
    out = b"VF\x01\x09" + struct.pack(">I", request_id) + wire_string(verb)
    out += struct.pack(">I", len(params))
    for key, value in params.items():
        out += wire_string(key) + wire_string(str(value))
    data = body.encode()
    return out + struct.pack(">I", len(data)) + data


def parse_reply(message):
    """(status, error text, body) of a REPLY (PROTOCOL.md 4.10)."""
    if message[3] != 10:
        fail("an answer of message id %d, not REPLY" % message[3])
    status, length = struct.unpack(">HH", message[8:12])
    error = message[12:12 + length].decode()
    (blen,) = struct.unpack(">I", message[12 + length:16 + length])
    body = message[16 + length:16 + length + blen].decode()
    return status, error, json.loads(body) if body else None


class Admin:
    """A CURVE admin client of the controller's tcp admin endpoint."""

    def __init__(self, c, secret):
        self.address = ("127.0.0.1", c.admin_port)
        self.cert = zmtp.load_cert(secret)
        self.server = zmtp.load_cert(
            os.path.join(c.keys, "controller.key"))[0]

    def connect(self):
        conn = zmtp.Conn(self.address, b"CURVE", self.cert, self.server)
        conn.handshake()
        return conn

    def __call__(self, verb, params=None, body=""):
        conn = self.connect()
        try:
            conn.send(request_bytes(verb, params or {}, body, 7))
            return parse_reply(conn.recv_message(10))
        finally:
            conn.close()


# ---- the cluster ------------------------------------------------------------

class Cluster(e2e.Cluster):
    """e2e.Cluster with --metrics on the controller and esx-e1's agent, and
    a tcp admin endpoint (CURVE, admin keys), so that a read-only key can
    be refused."""

    def __init__(self):
        super().__init__(HOSTS, HEARTBEAT)
        self.metrics_port = free_port()
        self.agent_metrics_port = free_port()
        self.admin_port = free_port()
        self.admin = "tcp://127.0.0.1:%d" % self.admin_port
        secrets = {}
        for name, options in (("ops", []), ("reader", ["--read-only"])):
            secrets[name] = os.path.join(WORK, "%s.key_secret" % name)
            e2e.keys("add-admin", name, "--out", secrets[name], *options)
        os.environ["VFLEET_KEY"] = secrets["ops"]
        os.environ["VFLEET_CONTROLLER_KEY"] = os.path.join(self.keys,
                                                           "controller.key")
        self.ops = Admin(self, secrets["ops"])
        self.reader = Admin(self, secrets["reader"])

    def start_controller(self):
        log = open(os.path.join(WORK, "controller.log"), "a")
        # PATH left out: the documented default /metrics. A send queue of
        # 1000: the burst over --admin-rate gets every busy answer.
        self.controller = subprocess.Popen(
            [e2e.CONTROLLER, "--config", self.config, "--keys", self.keys,
             "--state-dir", os.path.join(WORK, "controller"), "--agents",
             "tcp://127.0.0.1:%d" % self.port, "--admin", self.admin,
             "--heartbeat-interval", HEARTBEAT, "--dead-after", "3",
             "--admin-rate", str(ADMIN_RATE), "--peer-queue", "1000",
             "--metrics", "tcp://127.0.0.1:%d" % self.metrics_port],
            stderr=log)
        return wait_until("the metrics endpoint answers",
                          lambda: try_scrape(self.metrics_port))

    def start_agent(self, host):
        tree = os.path.join(WORK, host)
        extra = ["--metrics", "tcp://127.0.0.1:%d/metrics" %
                 self.agent_metrics_port] if host == "esx-e1" else []
        log = open(os.path.join(WORK, "agent-%s.log" % host), "a")
        self.agents[host] = subprocess.Popen(
            [e2e.AGENT, "--config", self.config, "--controller",
             "tcp://127.0.0.1:%d" % self.port] + self.agent_security(host) +
            ["--hostname", host, "--kernel", "sim", "--sysfs-root",
             os.path.join(tree, "sys"), "--procfs-root",
             os.path.join(tree, "proc"), "--state-dir",
             os.path.join(tree, "agent-state"), "--rescan", "300ms",
             "--heartbeat-interval", HEARTBEAT] + extra, stderr=log)

    def scrape(self):
        return scrape(self.metrics_port)


def delta(before, after, name, **labels):
    return after.get(name, **labels) - before.get(name, **labels)


def moved(before, after):
    """{(name, labels): change} of every counter or histogram count that
    changed between two scrapes."""
    out = {}
    for key, value in after.samples.items():
        kind = after.types.get(key[0]) or after.types.get(
            re.sub(r"_count$", "", key[0]))
        if kind in ("counter", "histogram") and not key[0].endswith(
                ("_bucket", "_sum")) and value != before.samples.get(key):
            out[key] = value - before.samples.get(key, 0)
    return out


# What the agents' own traffic moves meanwhile.
AGENT_TRAFFIC = ("vfleet_agent_messages_total", "vfleet_apply_results_total",
                 "vfleet_agent_burst_seconds_count",
                 "vfleet_db_commit_seconds_count")


def only_moved(c, action, expected, what):
    """Runs action and checks that exactly the expected counters moved, by
    exactly as much: {(name, label, value): change}. AGENT_TRAFFIC is left
    out; the admin request histogram must count one per admin request."""
    before = c.scrape()
    result = action()
    after = c.scrape()
    got = {}
    for (name, labels), change in moved(before, after).items():
        if name in AGENT_TRAFFIC:
            continue
        got[(name,) + (labels[0] if labels else ())] = change
    admin = sum(v for k, v in got.items()
                if k[0] == "vfleet_admin_requests_total")
    want = dict(expected)
    if admin:
        want[("vfleet_admin_request_seconds_count",)] = admin
    check(got == want, "%s: %s" % (what, ", ".join(
        "%s%s +%g" % (k[0], "{%s=%s}" % k[1:] if len(k) > 1 else "", v)
        for k, v in sorted(want.items())) or "nothing counted") +
        ("" if got == want else " (got %s)" % sorted(got.items())))
    return result


def requests_total(verb, n=1):
    return {("vfleet_admin_requests_total", "verb", verb): n}


def merged(a, b):
    return {**a, **b}


# ---- the checks -------------------------------------------------------------

def version_of(binary):
    return subprocess.run([binary, "--version"], capture_output=True,
                          text=True).stdout.split()[-1]


def check_usage():
    """--help and the man pages name the option and its example."""
    for binary, page, example in (
            (e2e.CONTROLLER, ("controller", "vfleet-controller.8"),
             "tcp://127.0.0.1:9650/metrics"),
            (e2e.AGENT, ("agent", "vfleet-agent.8"),
             "tcp://127.0.0.1:9651/metrics")):
        usage = subprocess.run([binary, "--help"], capture_output=True,
                               text=True).stdout
        name = os.path.basename(binary)
        check(re.search(r"--metrics ENDPOINT\s+serve Prometheus metrics, "
                        r"e\.g\.\s+%s \(default off\)" % example, usage)
              and example in read(*page),
              "%s --help and its man page: --metrics ENDPOINT, e.g. %s, off "
              "by default" % (name, example))


BAD_ENDPOINTS = ("http://127.0.0.1:9650", "tcp://localhost:9650",
                 "tcp://127.0.0.1", "tcp://127.0.0.1:0",
                 "tcp://127.0.0.1:65536", "tcp://127.0.0.1:9650metrics",
                 "tcp://127.0.0.1:9650/a b", "tcp://[::1]:9650", "")


def start_fails(binary, endpoint, state):
    """Runs a daemon that must not start: (exit status, stderr)."""
    args = [binary, "--config", os.path.join(WORK, "empty.conf"),
            "--insecure", "--metrics", endpoint]
    if binary == e2e.CONTROLLER:
        args += ["--state-dir", os.path.join(WORK, state), "--agents",
                 "tcp://127.0.0.1:%d" % free_port()]
    else:
        tree = os.path.join(WORK, "esx-e2")
        args += ["--controller", "tcp://127.0.0.1:%d" % free_port(),
                 "--hostname", "x", "--kernel", "sim", "--sysfs-root",
                 os.path.join(tree, "sys"), "--procfs-root",
                 os.path.join(tree, "proc"), "--state-dir",
                 os.path.join(WORK, state)]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        fail("%s --metrics %r started" % (os.path.basename(binary), endpoint))
    return r.returncode, r.stderr


def check_bad_endpoints(c):
    """vfleet-controller(8) and vfleet-agent(8), EXIT STATUS: a usage
    error is 2, an endpoint that cannot be served 1."""
    for binary in (e2e.CONTROLLER, e2e.AGENT):
        name = os.path.basename(binary)
        for endpoint in BAD_ENDPOINTS:
            rc, err = start_fails(binary, endpoint, "bad-" + name)
            if rc != 2 or "--metrics: invalid metrics endpoint \"%s\" " \
                    "(tcp://HOST:PORT[/PATH]" % endpoint not in err:
                fail("%s --metrics %r: exit %d, %r" % (name, endpoint, rc,
                                                       err))
        check(True, "%s: %d malformed --metrics values refused, exit 2, "
              "naming the value and the form" % (name, len(BAD_ENDPOINTS)))
        for endpoint, why in (
                ("tcp://127.0.0.1:%d" % c.metrics_port, "Address already "
                 "in use"),
                ("tcp://192.0.2.1:%d/metrics" % free_port(),
                 "Cannot assign requested address")):
            rc, err = start_fails(binary, endpoint, "taken-" + name)
            check(rc == 1 and "cannot serve metrics on %s: %s" % (
                endpoint, why) in err, "%s: --metrics %s: exit 1, \"%s\"" %
                (name, endpoint, why))


def agent_args(tree, state, controller_port):
    """A vfleet-agent on a generated tree that talks to no controller."""
    return [e2e.AGENT, "--controller", "tcp://127.0.0.1:%d" % controller_port,
            "--insecure", "--hostname", "x", "--kernel", "sim",
            "--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
            os.path.join(tree, "proc"), "--state-dir",
            os.path.join(WORK, state)]


def check_config_endpoint(c, adoc, abounds):
    """The man pages, CONFIGURATION FILE: `metrics = ...` as the option
    takes it (HOST `*`, a PATH of one's own); a bad one is FILE:LINE:
    reason and exit status 2. vfleet-agent(8): --metrics is ignored with
    --discover."""
    port = free_port()
    conf = os.path.join(WORK, "agent.conf")
    with open(conf, "w") as f:
        f.write("# metrics on every address\nmetrics = tcp://*:%d/custom\n" %
                port)
    log = open(os.path.join(WORK, "agent-config.log"), "w")
    agent = subprocess.Popen(agent_args(os.path.join(WORK, "esx-e2"),
                                        "config-agent", free_port()) +
                             ["--config", conf], stderr=log)
    try:
        s = wait_until("the agent's metrics on /custom",
                       lambda: try_scrape_path(port, "/custom"))
        check(s == 200 and http_get(port)[0] == 404,
              "agent: metrics = tcp://*:PORT/custom in its configuration "
              "file: served on 127.0.0.1 at /custom, 404 at /metrics")
        s = Scrape(http_get(port, "/custom")[2])
        check_families(s, adoc, abounds, "agent without a controller")
        check(s.get("vfleet_agent_drift_items") == 0 and
              s.get("vfleet_agent_kernel_writes_total") == 0 and
              s.get("vfleet_agent_apply_failures_total") == 0,
              "agent without a desired state: no drift, no write, no "
              "failure")
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    for binary in (e2e.CONTROLLER, e2e.AGENT):
        with open(conf, "w") as f:
            f.write("\nmetrics = tcp://127.0.0.1\n")
        args = agent_args(os.path.join(WORK, "esx-e2"), "conf-agent",
                          free_port()) if binary == e2e.AGENT else [
            binary, "--insecure", "--state-dir",
            os.path.join(WORK, "conf-controller"), "--agents",
            "tcp://127.0.0.1:%d" % free_port()]
        r = subprocess.run(args + ["--config", conf], capture_output=True,
                           text=True, timeout=15)
        check(r.returncode == 2 and "%s:2: " % conf in r.stderr and
              "invalid metrics endpoint" in r.stderr,
              "%s: a bad metrics line in its configuration file: FILE:2: "
              "the reason, exit 2" % os.path.basename(binary))
    r = subprocess.run([e2e.AGENT, "--config", c.config, "--discover",
                        "--sysfs-root",
                        os.path.join(WORK, "esx-e2", "sys"), "--procfs-root",
                        os.path.join(WORK, "esx-e2", "proc"), "--metrics",
                        "tcp://127.0.0.1:%d" % c.metrics_port],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "cannot serve metrics" not in r.stderr,
          "agent: --metrics ignored with --discover (a port in use is no "
          "error)")


def try_scrape_path(port, path):
    try:
        return http_get(port, path)[0]
    except OSError:
        return None


def check_connections(c):
    """vfleet-controller(8): at most 16 connections served at once. Returns
    one left idle, and when it was opened, for check_idle_closed."""
    idle = [socket.create_connection(("127.0.0.1", c.metrics_port))
            for _ in range(16)]
    opened = time.time()
    time.sleep(0.2)
    try:
        http_get(c.metrics_port, timeout=1)
        fail("a 17th connection was served while 16 were open")
    except OSError:
        check(True, "16 idle connections open: a 17th is not served")
    for sock in idle[1:]:
        sock.close()
    wait_until("a scrape once 15 of them closed",
               lambda: try_scrape(c.metrics_port))
    check(True, "...and is once they closed")
    return idle[0], opened


def check_idle_closed(sock, opened):
    """vfleet-controller(8): an idle connection is closed after 10 s."""
    sock.settimeout(max(1, 13 - (time.time() - opened)))
    try:
        closed = sock.recv(1) == b""
    except (socket.timeout, OSError):
        closed = False
    after = time.time() - opened
    check(closed and 9 <= after, "a connection idle since the start closed "
          "after %.1f s (10 s documented)" % after)


def check_no_hosts():
    """A vm.create refused by a controller that knows no host: refused,
    with no rule to count it under (no host came closest)."""
    port = free_port()
    state = os.path.join(WORK, "no-hosts")
    log = open(os.path.join(WORK, "no-hosts.log"), "w")
    proc = subprocess.Popen(
        [e2e.CONTROLLER, "--config", os.path.join(WORK, "empty.conf"),
         "--insecure", "--state-dir", state, "--agents",
         "tcp://127.0.0.1:%d" % free_port(), "--metrics",
         "tcp://127.0.0.1:%d" % port], stderr=log)
    try:
        admin = ["-c", "ipc://%s/admin.sock" % state]
        wait_until("a controller without hosts answers",
                   lambda: subprocess.run(
                       [e2e.CTL] + admin + ["summary"], capture_output=True,
                       timeout=30).returncode == 0)
        r = subprocess.run([e2e.CTL] + admin + ["policy", "apply", POLICY],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            fail("policy apply without hosts: %s" % r.stderr)
        r = subprocess.run([e2e.CTL] + admin + [
            "vm", "create", "a", "--memory", "1G", "--vcpus", "1", "--nic",
            "vlan1"], capture_output=True, text=True, timeout=30)
        s = scrape(port)
        rules = sum(s.series("vfleet_placement_refusals_total").values())
        check(r.returncode == 1 and "no hosts are known" in r.stderr and
              s.get("vfleet_placements_total", outcome="refused") == 1 and
              rules == 0, "no host known: vm.create refused, counted under "
              "no rule (%s)" % r.stderr.strip())
        check(s.get("vfleet_agent_burst_seconds_count") == 0 and
              s.get("vfleet_db_commit_seconds_count") == 0,
              "no agent: no burst observed (idle drains are not)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def check_start(c, s, cdoc, cbounds):
    check_families(s, cdoc, cbounds, "controller")
    check_all_zero(s, cdoc, "controller")
    check_http(c.metrics_port, "controller")


def check_agents_join(c):
    before = c.scrape()
    for host in HOSTS:
        c.start_agent(host)
    s = wait_until("two hosts ready and their inventories in", lambda: (
        lambda s: s if s.get("vfleet_hosts", state="ready") == 2 and
        delta(before, s, "vfleet_agent_messages_total",
              type="INVENTORY") >= 2 else None)(c.scrape()))
    check(delta(before, s, "vfleet_agent_messages_total", type="HELLO") == 2,
          "agent messages: one HELLO per agent, their INVENTORYs")
    for name in ("WELCOME", "APPLY", "REQUEST", "REPLY"):
        if s.get("vfleet_agent_messages_total", type=name) != 0:
            fail("agent messages: %s counted; agents sent none" % name)
    check(s.get("vfleet_agent_burst_seconds_count") > 0 and
          s.get("vfleet_db_commit_seconds_count") > 0,
          "bursts and their commits timed")
    beats = s.get("vfleet_agent_messages_total", type="HEARTBEAT")
    wait_until("heartbeats counted", lambda: c.scrape().get(
        "vfleet_agent_messages_total", type="HEARTBEAT") > beats)
    check(True, "agent messages: HEARTBEATs counted as they come")


def check_undecodable(c):
    e2e.add_host_key("odd-0")
    before = c.scrape()
    r = subprocess.run(
        [os.path.join(e2e.BIN, "tests", "controller", "vfleet-test-peer"),
         "--controller", "tcp://127.0.0.1:%d" % c.port, "--host", "odd-0",
         "--send-bad", "garbage", "--key", e2e.host_key("odd-0"),
         "--controller-key", os.path.join(c.keys, "controller.key")],
        capture_output=True, text=True, timeout=30)
    after = c.scrape()
    check(r.stdout.startswith("MALFORMED") and
          delta(before, after, "vfleet_agent_messages_total",
                type="undecodable") == 1,
          "agent messages: one that does not decode (answered %s) counted "
          "undecodable" % r.stdout.strip())


def stored_state(row):
    """ADMIN.md, VMs: host-down is not a stored state, the VM is reserved
    or placed (placed_at set) underneath; vfleet_vms counts stored states."""
    if row["state"] != "host-down":
        return row["state"]
    return "placed" if row["placed_at"] else "reserved"


def gauges_match(c):
    """vfleet_hosts, vfleet_vfs and vfleet_vms against vfleetctl's
    listings; returns the mismatches."""
    s = c.scrape()
    bad = []
    for family, verb, key in (("vfleet_hosts", "hosts", "hosts"),
                              ("vfleet_vfs", "vfs", "vfs"),
                              ("vfleet_vms", "vms", "vms")):
        rows = c.json(verb, "--all")[key]
        for (name, labels), value in s.samples.items():
            if name != family:
                continue
            state = dict(labels)["state"]
            listed = len([r for r in rows if stored_state(r) == state])
            if value != listed:
                bad.append("%s{state=%s} %g, vfleetctl %s lists %d" %
                           (family, state, value, verb, listed))
    return bad


def check_gauges(c, when):
    bad = []
    for _ in range(20):  # listings and scrape are two reads: retry a race
        bad = gauges_match(c)
        if not bad:
            break
        time.sleep(0.2)
    check(not bad, "gauges %s: hosts, VFs and VMs by state as vfleetctl "
          "hosts, vfs and vms list them%s" % (when, "; ".join([""] + bad)))


def check_verbs(c):
    """Each verb of ADMIN.md once, on a connection of its own, whatever its
    answer (most lack their parameters): counted under its verb alone."""
    for verb in admin_verbs():
        extra = {}
        if verb.startswith("policy.") and verb not in ("policy.status",
                                                       "policy.history",
                                                       "policy.get"):
            extra[("vfleet_policy_applies_total", "outcome", "refused")] = 1
        if verb in ("vm.create", "vm.create.batch"):
            # A body that does not read: invalid, once per request.
            extra[("vfleet_placements_total", "outcome", "invalid")] = 1
        only_moved(c, lambda: c.ops(verb), merged(requests_total(verb), extra),
                   "admin %s" % verb)
    only_moved(c, lambda: c.ops("no.such.verb"), requests_total("other"),
               "admin: a verb the controller does not know counted as other")
    only_moved(c, lambda: c.ops("host", {"name": "nowhere"}),
               requests_total("host"), "admin: host nowhere (NOT_FOUND)")
    r = only_moved(c, lambda: c.reader("policy.apply", {}, "version: 1\n"),
                   requests_total("policy.apply"),
                   "admin: a read-only key's policy.apply")
    check(r[0] == DENIED, "...answered DENIED: %s" % r[1])


def report_policy():
    """The example policy with `drift: report`, so that a VF changed
    behind an agent stays changed."""
    return read("deploy", "examples", "policy.yaml").replace(
        "\ndrift: correct", "\ndrift: report")


def results(before, s):
    """APPLY_RESULTs since before, when every one received is counted by
    outcome too (the two counts are bumped one after the other), else 0."""
    received = delta(before, s, "vfleet_agent_messages_total",
                     type="APPLY_RESULT")
    counted = delta(before, s, "vfleet_apply_results_total", outcome="ok") + \
        delta(before, s, "vfleet_apply_results_total", outcome="failed")
    return received if received == counted else 0


def check_policy(c):
    policy = report_policy()
    r = only_moved(c, lambda: c.ops("policy.apply", {"dry_run": "true"},
                                    policy),
                   merged(requests_total("policy.apply"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "dry_run"): 1}), "policy.apply dry_run")
    check(r[0] == 0 and r[2]["dry_run"], "...answered OK, a dry run")
    r = only_moved(c, lambda: c.ops("policy.apply", {}, "version: 7\n"),
                   merged(requests_total("policy.apply"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "refused"): 1}), "policy.apply of an invalid policy")
    check(r[0] != 0, "...answered %d: %s" % (r[0], r[1]))
    r = only_moved(c, lambda: c.ops("policy.rollback", {"revision": "9"}),
                   merged(requests_total("policy.rollback"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "refused"): 1}), "policy.rollback to no revision")
    before = c.scrape()
    r = only_moved(c, lambda: c.ops("policy.apply", {}, policy),
                   merged(requests_total("policy.apply"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "stored"): 1}), "policy.apply stored")
    check(r[0] == 0 and r[2]["revision"] == 1, "...as revision 1")
    s = wait_until("both hosts' APPLY_RESULTs, each counted as received "
                   "and by outcome", lambda: (
                       lambda s: s if results(before, s) >= 2 else None)(
                           c.scrape()))
    wait_until("the INVENTORY_DELTAs of the applies' VF counts", lambda:
               delta(before, c.scrape(), "vfleet_agent_messages_total",
                     type="INVENTORY_DELTA") >= 2)
    check(True, "agent messages: the INVENTORY_DELTA each agent sends when "
          "the apply changed its VF count")
    check(s.get("vfleet_apply_results_total", outcome="failed") == 0,
          "APPLY_RESULTs: each one received counted ok (%d)" %
          delta(before, s, "vfleet_apply_results_total", outcome="ok"))
    r = only_moved(c, lambda: c.ops("policy.apply", {}, policy),
                   merged(requests_total("policy.apply"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "unchanged"): 1}), "policy.apply of the same policy")
    check(r[0] == OK and r[2]["unchanged"] and r[2]["revision"] == 1,
          "...answered unchanged, no revision stored")
    r = only_moved(c, lambda: c.ops("policy.rollback", {"revision": "1"}),
                   merged(requests_total("policy.rollback"), {
                       ("vfleet_policy_applies_total", "outcome",
                        "unchanged"): 1}), "policy.rollback to the latest")
    check(r[0] == OK and r[2]["unchanged"], "...answered unchanged")


def vm_body(name, memory_mib=1024, network="vlan1", **extra):
    return json.dumps(dict({"name": name, "memory_mib": memory_mib,
                            "vcpus": 1, "nics": [{"network": network}]},
                           **extra))


def refused(c, body, rule, what):
    """A vm.create refused: counted under the rule its CONFLICT body names
    for the closest host, which must be rule."""
    r = only_moved(c, lambda: c.ops("vm.create", {}, body),
                   merged(requests_total("vm.create"), {
                       ("vfleet_placements_total", "outcome", "refused"): 1,
                       ("vfleet_placement_refusals_total", "rule", rule): 1}),
                   "vm.create refused, %s" % what)
    check(r[0] == CONFLICT and r[2]["closest"][0]["rule"] == rule,
          "...CONFLICT, the closest host failing %s: %s" % (rule, r[1]))


def invalid(c, body, what, status):
    r = only_moved(c, lambda: c.ops("vm.create", {}, body),
                   merged(requests_total("vm.create"), {
                       ("vfleet_placements_total", "outcome", "invalid"): 1}),
                   "vm.create invalid: %s" % what)
    check(r[0] == status, "...answered %d: %s" % (r[0], r[1]))


def check_placements(c):
    for name in ("web-1", "web-2", "db-1"):
        group = {"group": "web"} if name.startswith("web") else {}
        r = only_moved(c, lambda: c.ops("vm.create", {}, vm_body(
            name, **group)),
            merged(requests_total("vm.create"), {
                ("vfleet_placements_total", "outcome", "reserved"): 1}),
            "vm.create %s reserved" % name)
        if r[0] != 0:
            fail("vm.create %s: %r" % (name, r))
    refused(c, vm_body("big", memory_mib=4 << 20), "memory", "4 TiB")
    refused(c, vm_body("web-3"), "anti-affinity",
            "a third web-* VM on two hosts")
    refused(c, vm_body("db-2", host="esx-e1"), "nics",
            "both VFs of esx-e1 taken")
    invalid(c, vm_body("odd", network="vlan9"), "a network the policy "
            "lacks", CONFLICT)
    invalid(c, vm_body("web-1"), "a name taken", CONFLICT)
    invalid(c, "{\"name\": 1}", "a bad body", INVALID)
    batch = "{\"vms\": [%s, %s]}" % (vm_body("web-1"),
                                     vm_body("big", memory_mib=4 << 20))
    r = only_moved(c, lambda: c.ops("vm.create.batch", {}, batch),
                   merged(requests_total("vm.create.batch"), {
                       ("vfleet_placements_total", "outcome", "invalid"): 1,
                       ("vfleet_placements_total", "outcome", "refused"): 1,
                       ("vfleet_placement_refusals_total", "rule",
                        "memory"): 1}),
                   "vm.create.batch: each VM counted, a name taken and 4 TiB")
    check(r[0] == OK and [x["status"] for x in r[2]["results"]] ==
          ["CONFLICT", "CONFLICT"], "...answered OK, both CONFLICT: %s" %
          (r[2],))
    c.ctl("host", "cordon", "esx-e1")
    c.ctl("host", "cordon", "esx-e2")
    refused(c, vm_body("db-3"), "cordoned", "every host cordoned")
    check_gauges(c, "with both hosts cordoned")
    c.ctl("host", "uncordon", "esx-e1")
    c.ctl("host", "uncordon", "esx-e2")
    wait_until("the three VMs placed", lambda: c.scrape().get(
        "vfleet_vms", state="placed") == 3)
    check_gauges(c, "with three VMs placed")


def check_admin_rate(c):
    """ADMIN.md: requests over --admin-rate are answered busy, not decoded
    or acted on; the README: counted as dropped over the peer's budget."""
    n = ADMIN_RATE * 3
    before = c.scrape()
    conn = c.ops.connect()
    for i in range(n):
        conn.send(request_bytes("summary", {}, "", i + 1))
    replies = []
    try:
        while len(replies) < n:
            replies.append(parse_reply(conn.recv_message(5)))
    except socket.timeout:
        pass
    conn.close()
    after = c.scrape()
    busy = [r for r in replies
            if r[0] == INTERNAL and r[1].startswith("busy: ")]
    served = [r for r in replies if r[0] == OK]
    check(len(replies) == n and len(served) + len(busy) == n and busy,
          "%d summary requests at once over --admin-rate %d: %d served, %d "
          "answered busy" % (n, ADMIN_RATE, len(served), len(busy)))
    check(delta(before, after, "vfleet_peer_messages_dropped_total",
                peer="admin") == len(busy) and
          delta(before, after, "vfleet_admin_requests_total",
                verb="summary") == len(served),
          "...the busy ones counted in vfleet_peer_messages_dropped_total"
          "{peer=\"admin\"}, the served ones as summary requests")


def check_write_burst(c):
    """ADMIN.md: at most 64 write requests wait; the next is answered busy
    at once. Four connections send ADMIN_RATE dry runs each at once (within
    their budgets): every answer, busy or not, counted as a policy.apply,
    and the OK ones as dry runs."""
    policy = report_policy()
    before = c.scrape()
    conns = [c.ops.connect() for _ in range(4)]
    for conn in conns:
        for i in range(ADMIN_RATE):
            conn.send(request_bytes("policy.apply", {"dry_run": "true"},
                                    policy, i + 1))
    replies = []
    for conn in conns:
        try:
            for _ in range(ADMIN_RATE):
                replies.append(parse_reply(conn.recv_message(10)))
        except socket.timeout:
            pass
        conn.close()
    after = c.scrape()
    queued = [r for r in replies if r[1].endswith(
        "write requests queued; retry later")]
    dry = [r for r in replies if r[0] == OK]
    check(len(replies) == len(conns) * ADMIN_RATE and
          len(dry) + len(queued) == len(replies),
          "%d dry runs at once: %d answered OK, %d busy with write requests "
          "queued" % (len(replies), len(dry), len(queued)))
    check(delta(before, after, "vfleet_admin_requests_total",
                verb="policy.apply") == len(replies) and
          delta(before, after, "vfleet_policy_applies_total",
                outcome="dry_run") == len(dry),
          "...every answer counted as a policy.apply request, the busy ones "
          "included, and each OK one as a dry run")


def check_agent_metrics(c, adoc, abounds):
    port = c.agent_metrics_port
    s = scrape(port)
    check_families(s, adoc, abounds, "agent")
    check_http(port, "agent")
    check(s.get("vfleet_agent_scan_seconds_count") >= 1 and
          s.get("vfleet_agent_kernel_writes_total") >= 1 and
          s.get("vfleet_agent_apply_failures_total") == 0 and
          s.get("vfleet_agent_drift_items") == 0,
          "agent: scans timed, the applies' kernel writes counted (%d), no "
          "item failed, no drift" % s.get("vfleet_agent_kernel_writes_total"))
    e2e.set_vlan_behind("esx-e1", PF_IFNAME, 1, 77)
    wait_until("agent: one drift item", lambda: scrape(port).get(
        "vfleet_agent_drift_items") == 1)
    check(True, "agent: a VLAN changed behind it is one drift item")


def check_apply_failure(c):
    """An APPLY whose items the (simulated) kernel cannot write: the
    agent's vfleet_agent_apply_failures_total moves by the failed items
    policy.status reports, the controller counts one APPLY_RESULT failed.
    The simulated kernel saves its state through state.tmp: a directory
    there makes every VF write fail, reads still work."""
    os.mkdir(os.path.join(WORK, "esx-e1", "sys", ".vfleet-sim",
                          "state.tmp"))
    before, agent = c.scrape(), scrape(c.agent_metrics_port)
    r = c.ops("policy.apply", {}, report_policy().replace(
        "\n    vlan: 1\n", "\n    vlan: 5\n"))
    if r[0] != OK:
        fail("policy.apply of vlan 5: %r" % (r,))

    def row():
        rows = c.ops("policy.status", {"host": "esx-e1"})[2]["hosts"]
        return rows[0] if rows[0]["state"] == "failed" else None
    failed = wait_until("esx-e1 failed in policy.status", row)
    s, after = c.scrape(), scrape(c.agent_metrics_port)
    moved_by = delta(agent, after, "vfleet_agent_apply_failures_total")
    asked = delta(agent, after, "vfleet_agent_kernel_writes_total")
    check(failed["failed_items"] > 0 and
          moved_by == failed["failed_items"] == asked and
          delta(before, s, "vfleet_apply_results_total",
                outcome="failed") == 1,
          "an APPLY with %d items the kernel could not write: the agent's "
          "vfleet_agent_apply_failures_total +%d and kernel writes (asked, "
          "refused) +%d, the controller's vfleet_apply_results_total"
          "{outcome=\"failed\"} +1" % (failed["failed_items"], moved_by,
                                       asked))


def check_agent_restart(c):
    """agent/README.md: a value already set is not written. Restarted, the
    agent applies its stored desired state again: of all its items only
    the VLAN changed behind it (check_agent_metrics) is written."""
    c.agents["esx-e1"].terminate()
    c.agents["esx-e1"].wait()
    c.start_agent("esx-e1")
    port = c.agent_metrics_port
    wait_until("the restarted agent's apply", lambda: (
        lambda s: s and s.get("vfleet_agent_kernel_writes_total") > 0)(
        try_scrape(port)))
    scans = scrape(port).get("vfleet_agent_scan_seconds_count")
    s = wait_until("a scan after it", lambda: (
        lambda s: s if s.get("vfleet_agent_scan_seconds_count") > scans
        else None)(scrape(port)))
    check(s.get("vfleet_agent_kernel_writes_total") == 1 and
          s.get("vfleet_agent_drift_items") == 0,
          "agent restarted: its stored desired state applied again with one "
          "kernel write, the VLAN changed behind it; no drift left")


def check_host_down(c):
    on_e2 = [v for v in c.json("vms", "--all")["vms"]
             if v["host"] == "esx-e2"]
    c.agents["esx-e2"].kill()
    c.agents["esx-e2"].wait()
    s = wait_until("esx-e2 down in the metrics", lambda: (
        lambda s: s if s.get("vfleet_hosts", state="down") == 1 else None)(
        c.scrape()))
    listed = [v for v in c.json("vms", "--all")["vms"]
              if v["state"] == "host-down"]
    check(s.get("vfleet_vms_host_down") == len(on_e2) == len(listed) > 0,
          "vfleet_vms_host_down: esx-e2's %d VM(s), as vfleetctl vms shows "
          "them host-down" % len(on_e2))
    check_gauges(c, "with esx-e2 down")
    refused(c, vm_body("db-4", host="esx-e2"), "down",
            "pinned to esx-e2 while it is down")
    invalid(c, vm_body("db-5", host="nowhere"), "pinned to a host the "
            "inventory does not know", CONFLICT)


def main():
    started = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    c = Cluster()
    cdoc, cbounds = controller_doc(version_of(e2e.CONTROLLER))
    adoc, abounds = agent_doc(version_of(e2e.AGENT))
    try:
        check_usage()
        check_start(c, c.start_controller(), cdoc, cbounds)
        idle, opened = check_connections(c)
        check_bad_endpoints(c)
        check_config_endpoint(c, adoc, abounds)
        check_no_hosts()
        check_agents_join(c)
        check_gauges(c, "with two hosts ready")
        check_undecodable(c)
        check_verbs(c)
        check_policy(c)
        check_placements(c)
        check_admin_rate(c)
        check_write_burst(c)
        check_agent_metrics(c, adoc, abounds)
        check_agent_restart(c)
        check_apply_failure(c)
        check_host_down(c)
        check_idle_closed(idle, opened)
    finally:
        c.stop()
    print("metrics_doc_test: all checks passed in %.1f s" %
          (time.time() - started))


if __name__ == "__main__":
    main()
