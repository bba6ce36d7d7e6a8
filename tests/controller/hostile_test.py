#!/usr/bin/env python3
"""hostile_test.py - the real vfleet-controller with CURVE on, under a
memory cap, against hostile peers on loopback, while a well-behaved peer
keeps heartbeating (issue 13 item 5; docs/SECURITY.md, "Memory bound").

Keys are made by `vfleetctl keys` (init, add-host, add-admin). The agents
endpoint and the admin endpoint are both tcp, so both are CURVE servers.
The hostile peers speak raw ZMTP over TCP (tests/controller/zmtp.py, a
CURVE client on libsodium), so they can do what no ZeroMQ library would:
stop inside a handshake, announce a frame and stall inside it. In one
run of about 30 seconds:

- peers without a key: TCP garbage, connections that never greet or stop
  inside the greeting, CURVE handshakes with unknown keys (refused), ones
  that stop after WELCOME, ones that send a maximum-size frame in place of
  HELLO and stall one byte short of its end (libzmq reads a handshake
  frame of up to ZMQ_MAXMSGSIZE before CURVE looks at it), on both
  endpoints, and plaintext ZMTP peers flooding 16 MiB frames at the CURVE
  endpoint: they are closed (by the handshake timeout, --peer-timeout,
  when they stall), and nothing of them is stored;
- an insider holding a valid host key (mallory): a malformed ERROR whose
  text holds a newline and an escape sequence shows escaped in the log;
  floods of maximum-size (VFP_MSG_MAX) messages without pause; frames
  announced over the limit (closed at once); frames of the maximum size
  announced and stalled after 1 KiB or one byte short of their end; 50
  connections sending malformed messages (the log grows by a bounded
  amount); HELLOs for 10 hosts that are not its key's (DENIED, nothing
  stored); two real hosts' keys (heavy-0, heavy-1) sending valid full
  INVENTORYs of 8192 VFs (5.4 MB) as fast as the controller takes them;
- an admin key (ops) over tcp: clients ask for large answers and never
  read them; the largest REQUEST the protocol allows is answered;
- last, the insider sends a multipart message that never ends (1 MiB
  frames with the MORE flag), which libzmq queues without limit:
  --memory-max cuts every agent connection when the process grows past
  it, and the good host comes back.

Checked: the controller lives (under prlimit --as), its peak RSS stays
within the bound docs/SECURITY.md gives for the connections the test
opened (authenticated or not), the good host is never marked down, and
every summary request during the attack (over tcp with the admin key,
from a new process every 0.25 s and from one client on one connection
every 0.25 s) is answered before a generous timeout (the times are
printed against the issue's 1 s target). Besides that and generous
limits on when stalled handshakes are closed, nothing is timed: each
flood sends until its connection is cut or its byte budget is spent.
"""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import zmtp  # noqa: E402
from e2e import fail  # noqa: E402
from zmtp import CURVE_OVERHEAD, Refused  # noqa: E402

BIN = os.environ["VFLEET_BINARY_DIR"]
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
PEER = os.path.join(BIN, "tests", "controller", "vfleet-test-peer")

MIB = 1 << 20
VFP_MSG_MAX = 16 * MIB
VFP_REQUEST_MSG_MAX = 4229330
# docs/SECURITY.md, "Memory bound": the sizes it names, with CURVE.
S_AGENT_IN = VFP_MSG_MAX + CURVE_OVERHEAD  # largest frame on the wire
S_AGENT_OUT = 1025148 + CURVE_OVERHEAD  # largest APPLY, encrypted
S_ADMIN_IN = VFP_REQUEST_MSG_MAX + CURVE_OVERHEAD
S_ADMIN_OUT = 4195344 + CURVE_OVERHEAD  # largest REPLY, encrypted
K_CONN = 64 * 1024  # libzmq's own buffers and objects per connection
TABLES = 2 * 16384 * 1024  # two peer tables, PEER_LIMIT_ENTRY_BYTES each
DECODED_MAX = 17012896  # largest decoded model: a full APPLY_RESULT
ADMIN_WORK = 64 * MIB  # one admin answer being built
CURVE_COPIES = 2 * (S_AGENT_OUT + S_ADMIN_OUT)  # encryption's copies

QUEUE = 2
MEMORY_MAX_MIB = 640
VALVE_SLACK_MIB = 256  # growth between two checks (every 5 ms) and more
# --peer-timeout: 2 s cut good handshakes too on a loaded machine.
TIMEOUT_S = 4.0
HEARTBEAT_MS = 200
DEAD_AFTER = 10
SUMMARY_TIMEOUT_S = 5.0  # generous; the target is 1 s
TARGET_S = 1.0
CLOSE_SLACK_S = 15.0  # on top of --peer-timeout, for a loaded machine
HANDSHAKE_TRIES = 10

# Peers without a key: on the agents endpoint, and (_ADMIN) the admin one.
GARBAGE = 3
SILENT = 3
HALF_GREETING = 2
UNKNOWN_KEY = 5
WELCOME_STALL = 3
HELLO_STALL = 4
HELLO_STALL_ADMIN = 2
SILENT_ADMIN = 2
PLAINTEXT_FLOODERS = 2
PLAINTEXT_BUDGET = 1024 * MIB  # bytes a plaintext flooder sends at most
# The insider (mallory's host key) and the admin key.
FLOODERS = 4
HEAVY = 2
OVERSIZED = 2
STALLED = 20
MALFORMED_PEERS = 50
MALFORMED_THREADS = 5
MALFORMED_EACH = 300
ADMIN_UNREAD = 2
ADMIN_UNREAD_BURST = 4  # the queue (2), one being written, one in the kernel
MADE_UP = 10
T0 = time.monotonic()


def say(text):
    print("[%4.1f s] %s" % (time.monotonic() - T0, text))


def check_documented_sizes():
    """The sizes above are docs/SECURITY.md's table, figure for figure."""
    documented = {}
    with open(os.path.join(e2e.SRC, "docs", "SECURITY.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and cells[1].startswith("`") and \
                    cells[2].isdigit():
                documented[cells[1].strip("`")] = int(cells[2])
    for name in ("S_AGENT_IN", "S_AGENT_OUT", "S_ADMIN_IN", "S_ADMIN_OUT",
                 "K_CONN", "TABLES", "DECODED_MAX", "ADMIN_WORK",
                 "CURVE_COPIES"):
        if documented.get(name) != globals()[name]:
            fail("docs/SECURITY.md gives %s = %s, the test %d" %
                 (name, documented.get(name), globals()[name]))


def memory_bound(idle_rss, agent_conns, admin_conns):
    """docs/SECURITY.md's bound on the controller's resident memory."""
    per_agent = (QUEUE + 2) * S_AGENT_IN + (QUEUE + 1) * S_AGENT_OUT + K_CONN
    per_admin = (QUEUE + 2) * S_ADMIN_IN + (QUEUE + 1) * S_ADMIN_OUT + K_CONN
    work = S_AGENT_IN + DECODED_MAX + ADMIN_WORK + CURVE_COPIES
    return (idle_rss + TABLES + work + agent_conns * per_agent +
            admin_conns * per_admin)


# ---- vfp messages --------------------------------------------------------

def _string(text):
    return struct.pack(">H", len(text)) + text


def vfp(msg_id, request_id, body):
    return b"VF\x01" + bytes([msg_id]) + struct.pack(">I", request_id) + body


def hello(name):
    return vfp(1, 1, _string(name) + _string(b"hostile") + _string(b"") +
               b"\x01\x01")


def request(verb, params, request_id, body=b""):
    out = _string(verb) + struct.pack(">I", len(params))
    for key, value in params:
        out += _string(key) + _string(value)
    return vfp(9, request_id, out + struct.pack(">I", len(body)) + body)


def error_code(answer):
    """An ERROR's code (PROTOCOL.md 5), or None for another message."""
    if answer[3] != 8:
        return None
    return struct.unpack(">H", answer[8:10])[0]


# ---- the run -------------------------------------------------------------

class Run:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="vfleet-hostile.")
        e2e.WORK = self.work
        self.log_path = os.path.join(self.work, "controller.log")
        self.agents = ("127.0.0.1", e2e.free_port())
        self.admin = ("127.0.0.1", e2e.free_port())
        self.admin_ep = "tcp://%s:%d" % self.admin
        self.agents_ep = "tcp://%s:%d" % self.agents
        self.keys = os.path.join(self.work, "keys")
        e2e.keys("init")
        for host in ["good", "mallory"] + ["heavy-%d" % i
                                           for i in range(HEAVY)]:
            e2e.add_host_key(host)
        self.ops = os.path.join(self.work, "ops.key_secret")
        e2e.keys("add-admin", "ops", "--out", self.ops)
        self.controller_key = os.path.join(self.keys, "controller.key")
        self.server_key = zmtp.load_cert(self.controller_key)[0]
        self.mallory = zmtp.load_cert(e2e.host_key("mallory"))
        self.ops_cert = zmtp.load_cert(self.ops)
        self.stop = threading.Event()
        self.procs = []
        self.threads = []
        self.summary_times = []
        self.peak_conns = [0, 0]  # agents, admin: opened at once at most
        self.open_conns = [0, 0]
        self.lock = threading.Lock()
        self.input_bytes = 0
        self.plaintext_cut = 0

    def conn(self, which, mechanism=b"CURVE", cert=None, handshake=True):
        """A raw connection to the agents (0) or admin (1) endpoint,
        counted while open; with cert and handshake, authenticated."""
        with self.lock:
            self.open_conns[which] += 1
            self.peak_conns[which] = max(self.peak_conns[which],
                                         self.open_conns[which])
        address = self.admin if which else self.agents
        try:
            c = zmtp.Conn(address, mechanism, cert, self.server_key)
            if cert and handshake:
                c.handshake()
        except BaseException:
            with self.lock:
                self.open_conns[which] -= 1
            raise
        c.which = which
        return c

    def keyed(self, which, cert):
        """An authenticated connection. On a loaded machine a handshake
        may outlast --peer-timeout and be closed: then it tries again."""
        for _ in range(HANDSHAKE_TRIES - 1):
            try:
                return self.conn(which, cert=cert)
            except (Refused, EOFError, OSError):
                time.sleep(0.1)
        return self.conn(which, cert=cert)

    def insider(self):
        return self.keyed(0, self.mallory)

    def release(self, c):
        c.close()
        with self.lock:
            self.open_conns[c.which] -= 1

    def add(self, n, bytes_):
        with self.lock:
            self.input_bytes += n * bytes_

    def start_controller(self, cap):
        log = open(self.log_path, "ab")
        args = ["prlimit", "--as=%d" % cap, CONTROLLER, "--keys", self.keys,
                "--agents", self.agents_ep, "--admin", self.admin_ep,
                "--state-dir", os.path.join(self.work, "state"),
                "--heartbeat-interval", "%dms" % HEARTBEAT_MS,
                "--dead-after", str(DEAD_AFTER),
                "--peer-queue", str(QUEUE), "--peer-rate", "100",
                "--peer-bandwidth", "32",
                "--peer-timeout", "%dms" % (TIMEOUT_S * 1000),
                "--memory-max", str(MEMORY_MAX_MIB)]
        self.controller = subprocess.Popen(args, stdout=log, stderr=log)
        self.procs.append(self.controller)
        deadline = time.time() + 15
        while True:
            if self.controller.poll() is not None:
                fail("the controller did not start")
            try:
                self.summary(timeout=1)
                return
            except (OSError, EOFError, Refused):
                if time.time() > deadline:
                    fail("the controller did not answer")
                time.sleep(0.1)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def status(self, field):
        with open("/proc/%d/status" % self.controller.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        fail("no %s for the controller" % field)

    def call(self, message, timeout=SUMMARY_TIMEOUT_S):
        """One admin message over tcp with the ops key; the answer."""
        c = self.keyed(1, self.ops_cert)
        try:
            c.send(message)
            return c.recv_message(timeout)
        finally:
            self.release(c)

    def summary(self, timeout=SUMMARY_TIMEOUT_S):
        answer = self.call(request(b"summary", [], 77), timeout)
        if answer[3] != 10:
            fail("summary answered with message id %d" % answer[3])
        # REPLY: status u16, error string, body longstr.
        err_len = struct.unpack(">H", answer[10:12])[0]
        return json.loads(answer[12 + err_len + 4:])

    def summary_process(self):
        """summary from a process of its own (vfleet-test-peer --request,
        over tcp with the ops key), so the time measured is the
        controller's and not this Python process's threads'; it includes
        starting the process and the CURVE handshake."""
        start = time.monotonic()
        try:
            done = subprocess.run([PEER, "--controller", self.admin_ep,
                                   "--key", self.ops, "--controller-key",
                                   self.controller_key,
                                   "--request", "summary"],
                                  capture_output=True, text=True,
                                  timeout=SUMMARY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            fail("summary not answered within %.1f s" % SUMMARY_TIMEOUT_S)
        took = time.monotonic() - start
        if done.returncode != 0:
            fail("summary failed: " + done.stderr)
        return json.loads(done.stdout), took

    def start_probe(self):
        """A client of its own process that asks for summary every 0.25 s
        over one connection (vfleet-test-peer --repeat): the admin API's
        answer times without a process start in them."""
        self.probe = subprocess.Popen(
            [PEER, "--controller", self.admin_ep, "--key", self.ops,
             "--controller-key", self.controller_key, "--request", "summary",
             "--repeat", "100000"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.procs.append(self.probe)
        with self.lock:
            self.open_conns[1] += 1
            self.peak_conns[1] = max(self.peak_conns[1], self.open_conns[1])

    def stop_probe(self):
        if self.probe.poll() is not None:
            fail("the summary client stopped: " + self.probe.stderr.read())
        self.probe.send_signal(signal.SIGTERM)
        out, _ = self.probe.communicate(timeout=15)
        with self.lock:
            self.open_conns[1] -= 1
        self.probe_times = [float(ms) / 1000 for ms in out.split()]
        if not self.probe_times:
            fail("the summary client got no answer")
        if max(self.probe_times) > SUMMARY_TIMEOUT_S:
            fail("a summary took %.1f s" % max(self.probe_times))

    def peer(self, host, *args):
        proc = subprocess.Popen([PEER, "--controller", self.agents_ep,
                                 "--host", host, "--key",
                                 e2e.host_key(host), "--controller-key",
                                 self.controller_key] + list(args),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def spawn(self, fn, *args):
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    # -- attackers --

    def flooder(self):
        """The insider: maximum-size messages until stopped or cut."""
        try:
            c = self.insider()
        except (Refused, EOFError, OSError):
            return
        send = c.repeater(vfp(3, 1, b"\xff" * (VFP_MSG_MAX - 8)))
        try:
            while not self.stop.is_set():
                send()
                self.add(1, VFP_MSG_MAX)
        except OSError:
            pass
        finally:
            self.release(c)

    def plaintext_flooder(self):
        """No key: a ZMTP NULL greeting, READY and 16 MiB frames at the
        CURVE endpoint without waiting for an answer, until the
        connection is cut or the budget is spent."""
        c = self.conn(0, None)
        chunk = zmtp.frame(vfp(3, 1, b"\xff" * (VFP_MSG_MAX - 8)))
        sent = 0
        try:
            c.sock.sendall(zmtp.greeting(b"NULL") + zmtp.frame(
                b"\x05READY" + zmtp.prop(b"Socket-Type", b"DEALER"),
                command=True))
            while sent < PLAINTEXT_BUDGET and not self.stop.is_set():
                c.sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            with self.lock:
                self.plaintext_cut += 1
        finally:
            self.add(1, sent)
            self.release(c)

    def malformed(self, peers):
        for _ in range(peers):
            if self.stop.is_set():
                return
            try:
                c = self.insider()
            except (Refused, EOFError, OSError):
                continue
            try:
                for i in range(MALFORMED_EACH):
                    c.send(vfp(5, i, b"\x01\x02\x03"))
                self.add(MALFORMED_EACH, 14)
                time.sleep(0.2)
            except OSError:
                pass
            finally:
                self.release(c)

    def admin_unread(self):
        """Asks for large answers and never reads them: a burst fills the
        queue of answers (the rest are dropped), then the connection stays
        open. Asking on and on would test how the admin thread shares its
        time, which nothing bounds yet (docs/SECURITY.md), not memory."""
        c = self.keyed(1, self.ops_cert)
        try:
            for i in range(ADMIN_UNREAD_BURST):
                c.send(request(b"vfs", [(b"limit", b"10000")], i + 1))
            self.stop.wait()
        except OSError:
            pass
        finally:
            self.release(c)


def main():
    run = Run()
    try:
        check(run)
    finally:
        run.stop.set()
        for proc in run.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if os.environ.get("KEEP"):
            say("kept " + run.work)
        else:
            shutil.rmtree(run.work, ignore_errors=True)


def start(run):
    # The cap leaves the bound for every connection the test opens at
    # once, on top of what the idle process maps.
    run.start_controller(64 << 30)
    idle_vm = run.status("VmSize")
    run.controller.send_signal(signal.SIGTERM)
    run.controller.wait(10)
    agent_conns = (1 + GARBAGE + SILENT + HALF_GREETING + UNKNOWN_KEY +
                   WELCOME_STALL + HELLO_STALL + PLAINTEXT_FLOODERS +
                   FLOODERS + HEAVY + OVERSIZED + STALLED +
                   MALFORMED_THREADS + 2)
    admin_conns = HELLO_STALL_ADMIN + SILENT_ADMIN + ADMIN_UNREAD + 3
    cap = idle_vm + memory_bound(0, agent_conns, admin_conns)
    run.start_controller(cap)
    say("controller with CURVE under prlimit --as=%d MiB (idle VmSize "
          "%d MiB)" % (cap // MIB, idle_vm // MIB))
    run.peer("good", "--pfs", "8", "--vfs", "64")
    deadline = time.time() + 15
    while True:
        facts = run.summary()
        if facts["hosts"]["connected"] == 1 and facts["vfs"]["total"] == 512:
            break
        if time.time() > deadline:
            fail("the good peer did not register: %s" % facts)
        time.sleep(0.1)


def check_forged_line(run):
    forger = run.insider()
    forged = (b"x\n2026-01-01T00:00:00.000Z vfleet-controller info: host "
              b"forged registered\x1b[2J")
    forger.send(hello(b"mallory"))
    forger.recv_message(5)
    forger.send(vfp(8, 1, struct.pack(">H", 4) + _string(forged)))
    time.sleep(0.3)
    run.release(forger)
    log = run.log()
    if "info: host forged registered" in log.replace(
            "x\\n2026-01-01T00:00:00.000Z vfleet-controller info: host "
            "forged registered", ""):
        fail("a peer's text forged a log line")
    if "x\\n2026-01-01T00:00:00.000Z vfleet-controller info: host forged " \
       "registered\\x1b[2J" not in log:
        fail("the peer's ERROR text is not in the log, escaped")
    if "\x1b" in log:
        fail("an escape character reached the log")


def check_largest_request(run):
    """The largest REQUEST (exactly VFP_REQUEST_MSG_MAX) arrives over
    CURVE, whose frame is 33 bytes longer, and is answered."""
    params = [(b"%02d" % i + b"k" * 62, b"v" * 1024) for i in range(32)]
    message = request(b"x" * 64, params, 5, b"{" * (4 << 20))
    if len(message) != VFP_REQUEST_MSG_MAX:
        fail("the largest REQUEST is %d bytes" % len(message))
    try:
        answer = run.call(message)
    except (OSError, EOFError):
        fail("the largest REQUEST over CURVE was not answered")
    if answer[3] != 10 or struct.unpack(">I", answer[4:8])[0] != 5:
        fail("the largest REQUEST: not its REPLY")
    say("the largest REQUEST (%d bytes) over CURVE: answered" %
          len(message))


def unauthenticated(run):
    """Peers without a key. Returns the connections the controller must
    close by itself, and the refused handshakes."""
    must_close = []
    for _ in range(GARBAGE):
        c = run.conn(0, None)
        c.sock.sendall(os.urandom(64).replace(b"\xff", b"\0"))
        must_close.append(c)
    for _ in range(SILENT):
        must_close.append(run.conn(0, None))
    for _ in range(SILENT_ADMIN):
        must_close.append(run.conn(1, None))
    for _ in range(HALF_GREETING):
        c = run.conn(0, None)
        c.sock.sendall(zmtp.greeting(b"CURVE")[:11])
        must_close.append(c)
    refused = 0
    for _ in range(UNKNOWN_KEY):
        try:
            c = run.conn(0, cert=zmtp.keypair())
            run.release(c)
        except (Refused, EOFError, OSError):
            refused += 1
    if refused != UNKNOWN_KEY:
        fail("%d of %d unknown keys got past the handshake" %
             (UNKNOWN_KEY - refused, UNKNOWN_KEY))
    # On a loaded machine the handshake timeout may close these before
    # they stall: closed is what is checked.
    for _ in range(WELCOME_STALL):
        c = run.conn(0, cert=zmtp.keypair(), handshake=False)
        try:
            c.hello()
        except (Refused, EOFError, OSError):
            pass
        must_close.append(c)
    for which, count, size in ((0, HELLO_STALL, S_AGENT_IN),
                               (1, HELLO_STALL_ADMIN, S_ADMIN_IN)):
        for i in range(count):
            c = run.conn(which)
            sent = size - 1 if i % 2 == 0 else 1024
            try:
                c.sock.sendall(zmtp.frame_header(size, command=True) +
                               b"\0" * sent)
                run.add(1, sent)
            except OSError:
                pass
            must_close.append(c)
    return must_close, refused


def insiders(run):
    """The insider's stalled and oversized frames, and the floods."""
    stalled, oversized = [], []
    for _ in range(OVERSIZED):
        c = run.insider()
        c.sock.sendall(zmtp.frame_header(S_AGENT_IN + 1))
        oversized.append(c)
    for i in range(STALLED):
        c = run.insider()
        sent = S_AGENT_IN - 1 if i % 2 else 1024
        c.sock.sendall(zmtp.frame_header(S_AGENT_IN) + b"\0" * sent)
        run.add(1, sent)
        stalled.append(c)
    for _ in range(FLOODERS):
        run.spawn(run.flooder)
    for _ in range(PLAINTEXT_FLOODERS):
        run.spawn(run.plaintext_flooder)
    run.heavy = [run.peer("heavy-%d" % i, "--pfs", "64", "--vfs", "128",
                          "--flood", "100000") for i in range(HEAVY)]
    with run.lock:
        run.open_conns[0] += HEAVY
        run.peak_conns[0] = max(run.peak_conns[0], run.open_conns[0])
    per_thread = MALFORMED_PEERS // MALFORMED_THREADS
    for _ in range(MALFORMED_THREADS):
        run.spawn(run.malformed, per_thread)
    for _ in range(ADMIN_UNREAD):
        run.spawn(run.admin_unread)
    return stalled, oversized


def watch(run, seconds):
    """Summary every 0.25 s and RSS every round, for `seconds`."""
    rss_max = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if run.controller.poll() is not None:
            fail("the controller died (%s) under attack" %
                 run.controller.returncode)
        facts, took = run.summary_process()
        run.summary_times.append(took)
        if facts["hosts"]["connected"] < 1:
            fail("the good host is not connected: %s" % facts)
        rss_max = max(rss_max, run.status("VmRSS"))
        time.sleep(0.25)
    return rss_max


def check_closed(label, conns, limit, start):
    for c in conns:
        left = max(0.1, limit - (time.monotonic() - start))
        if not c.closed_within(left):
            fail("%s connection still open after %.1f s" % (label, limit))
    say("%d %s connections closed within %.1f s" %
          (len(conns), label, time.monotonic() - start))


def check_made_up_hosts(run):
    """HELLO for hosts that are not the key's: DENIED, nothing stored;
    the insider's own host goes down once it stops."""
    for i in range(MADE_UP):
        c = run.insider()
        c.send(hello(b"made-up-%d" % i))
        # The event loop may still be storing the heavy hosts' last
        # inventories: a generous wait, not a timed check.
        code = error_code(c.recv_message(30))
        run.release(c)
        if code != 5:
            fail("HELLO for made-up-%d with mallory's key: answer %s, not "
                 "DENIED" % (i, code))
    hosts = json.loads(ctl(run, "hosts").stdout)["hosts"]
    names = sorted(h["name"] for h in hosts)
    # The heavy hosts registered unless their HELLO timed out on a loaded
    # machine; nothing else may be there.
    keyed = ["good", "mallory"] + ["heavy-%d" % i for i in range(HEAVY)]
    if set(names) - set(keyed) or "good" not in names or \
            "mallory" not in names:
        fail("hosts stored: %s, expected %s" % (names, keyed))
    deadline = time.time() + HEARTBEAT_MS * DEAD_AFTER / 1000 + 10
    while True:
        facts = run.summary()
        if (facts["hosts"]["connected"] == 1 and
                facts["hosts"]["down"] == len(names) - 1):
            break
        if time.time() > deadline:
            fail("the insider's and heavy hosts still counted: %s" % facts)
        time.sleep(0.2)
    say("made-up hosts: %d HELLOs with mallory's key DENIED, none stored; "
          "hosts %s; connected = %d" % (MADE_UP, ", ".join(names),
                                        facts["hosts"]["connected"]))


def check_endless_message(run):
    """The --memory-max valve against the one attack libzmq does not
    bound, from the insider; the good host reconnects afterwards."""
    c = run.insider()
    send = c.repeater(b"\0" * MIB, more=True)
    rss_max, sent, cut = 0, 0, False
    # Bounded by what is sent, not by time: on a loaded machine 4 s moved
    # only 1 GiB, short of --memory-max, and the valve never had to trip.
    try:
        while sent < 3 * MEMORY_MAX_MIB:
            send()
            sent += 1
            if sent % 16 == 0:
                rss_max = max(rss_max, run.status("VmRSS"))
    except OSError:
        cut = True
    run.release(c)
    rss_max = max(rss_max, run.status("VmRSS"))
    say("endless message: %d MiB sent, controller RSS at most %.0f MiB "
          "(--memory-max %d), connection cut: %s" %
          (sent, rss_max / MIB, MEMORY_MAX_MIB, cut))
    deadline = time.time() + 3
    while cut and "over --memory-max" not in run.log():
        if time.time() > deadline:
            break
        time.sleep(0.05)
    if not cut or "over --memory-max" not in run.log():
        fail("the endless message was not cut")
    if rss_max > (MEMORY_MAX_MIB + VALVE_SLACK_MIB) * MIB:
        fail("RSS %d MiB past --memory-max" % (rss_max // MIB))
    deadline = time.time() + 15
    while run.summary()["hosts"]["connected"] != 1:
        if time.time() > deadline:
            fail("the good host did not come back after the valve")
        time.sleep(0.2)


def ctl(run, *args):
    r = subprocess.run([e2e.CTL, "-c", run.admin_ep, "--key", run.ops,
                        "--controller-key", run.controller_key, "-o", "json"]
                       + list(args), capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        fail("vfleetctl %s: %s" % (" ".join(args), r.stderr))
    return r


def check_events(run):
    events = json.loads(ctl(run, "events", "--all").stdout)["events"]
    for event in events:
        if event.get("host") == "good" and event["kind"] == "host-down":
            fail("the good host has a host-down event")
    security = [e for e in events if e["kind"] == "security"]
    if not security:
        fail("no security event for the HELLOs with another host's name")


def report(run, rss_max, log_growth):
    hwm = run.status("VmHWM")
    bound = memory_bound(run.idle_rss, run.peak_conns[0], run.peak_conns[1])
    for label, times in (("each from a new process", run.summary_times),
                         ("one connection", run.probe_times)):
        times = sorted(times)
        say("summary during the attack (%s, over tcp with CURVE): %d "
              "requests, median %.0f ms, max %.0f ms (target %.0f ms)" %
              (label, len(times), 1000 * times[len(times) // 2],
               1000 * times[-1], 1000 * TARGET_S))
    say("controller RSS: idle %.1f MiB, max sampled %.1f MiB, peak (VmHWM) "
          "%.1f MiB; bound for %d agent and %d admin connections %.0f MiB" %
          (run.idle_rss / MIB, rss_max / MIB, hwm / MIB, run.peak_conns[0],
           run.peak_conns[1], bound / MIB))
    say("input %.0f MiB; %d of %d plaintext floods cut; log grew by %d "
          "bytes" % (run.input_bytes / MIB, run.plaintext_cut,
                     PLAINTEXT_FLOODERS, log_growth))
    if hwm > bound:
        fail("peak RSS %d over the documented bound %d" % (hwm, bound))
    if run.plaintext_cut != PLAINTEXT_FLOODERS:
        fail("a plaintext flood was never cut")


def check(run):
    check_documented_sizes()
    start(run)
    run.idle_rss = run.status("VmRSS")
    check_forged_line(run)
    check_largest_request(run)
    log_before = os.path.getsize(run.log_path)
    attack_start = time.monotonic()
    run.start_probe()
    must_close, refused = unauthenticated(run)
    # Only the frames sent to one byte short of their end are resident:
    # libzmq's buffer for the rest is allocated but never written.
    time.sleep(0.5)
    say("peers without a key holding %d maximum-size handshake frames "
        "(%d on the agents endpoint, %d on the admin one): RSS %+.1f MiB" %
        ((HELLO_STALL + HELLO_STALL_ADMIN) // 2, HELLO_STALL // 2,
         HELLO_STALL_ADMIN // 2, (run.status("VmRSS") - run.idle_rss) / MIB))
    stalled, oversized = insiders(run)
    check_closed("oversized", oversized, CLOSE_SLACK_S, attack_start)
    rss_max = watch(run, 4.0)
    check_closed("stalled handshake", must_close, TIMEOUT_S + CLOSE_SLACK_S,
                 attack_start)
    say("%d unknown keys refused in the handshake" % refused)
    for c in stalled + must_close + oversized:
        run.release(c)
    rss_max = max(rss_max, watch(run, 6.0))
    run.stop_probe()
    run.stop.set()
    for proc in run.heavy:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    for thread in run.threads:
        thread.join(15)
    attack_s = time.monotonic() - attack_start
    log_growth = os.path.getsize(run.log_path) - log_before
    report(run, rss_max, log_growth)
    # At most the warnings' overall budget for the time the attack took
    # (100 at once, then 20 a second), 400 bytes a line at most.
    if log_growth > (100 + 20 * attack_s) * 400:
        fail("the log grew by %d bytes in %.0f s" % (log_growth, attack_s))
    check_made_up_hosts(run)
    if "host good is down" in run.log():
        fail("the good host was marked down")
    check_events(run)
    if run.controller.poll() is not None:
        fail("the controller died")
    check_endless_message(run)
    say("ok: the good host stayed up; the controller stayed within its "
        "bound")


if __name__ == "__main__":
    main()
