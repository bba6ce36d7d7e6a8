#!/usr/bin/env python3
"""hostile_test.py - the real vfleet-controller under a memory cap against
hostile peers on loopback, while a well-behaved peer keeps heartbeating
(issue 13 item 5; docs/SECURITY.md, "Memory bound").

The hostile peers speak raw ZMTP 3.0 over TCP (agents) and a Unix socket
(admin), so they can do what no ZeroMQ library would: announce a frame
and stall inside it. In one run of about 30 seconds:

- a malformed ERROR whose text holds a newline and an escape sequence
  shows escaped in the log, never as a line of its own;
- flooders send maximum-size (16 MiB) messages without pause, peers
  announce frames over the limit (closed at once), and two registered
  hosts send valid full INVENTORYs of 8192 VFs (5.4 MB) as fast as the
  controller takes them (each one a database write);
- peers complete the handshake, announce a 16 MiB frame, send 1 KiB of
  it, or all of it but one byte, and stall: they hold at most their share
  of the bound (no ZMTP heartbeats close them; see vfp_transport.h);
  peers that connect and never greet are closed by the handshake timeout
  (--peer-timeout);
- 50 peers send malformed messages (the log grows by a bounded amount);
- admin clients ask for large answers and never read them;
- 20 made-up hosts register and go away: they end up down, and summary
  stops counting them as connected;
- last, one peer sends a multipart message that never ends (1 MiB frames
  with the MORE flag), which libzmq queues without limit: --memory-max
  cuts every agent connection when the process grows past it, and the
  good host comes back.

Checked: the controller lives (under prlimit --as), its peak RSS stays
within the bound docs/SECURITY.md gives for the connections the test
opened, the good host is never marked down, and every summary request
during the attack is answered before a generous timeout (the times are
printed against the issue's 1 s target).
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ["VFLEET_BINARY_DIR"]
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
PEER = os.path.join(BIN, "tests", "controller", "vfleet-test-peer")

MIB = 1 << 20
VFP_MSG_MAX = 16 * MIB
# docs/SECURITY.md, "Memory bound": the sizes it names.
S_AGENT_IN = VFP_MSG_MAX  # largest frame an agent connection may send
S_AGENT_OUT = 1025148  # largest APPLY, the largest message to an agent
S_ADMIN_IN = 4229330  # VFP_REQUEST_MSG_MAX
S_ADMIN_OUT = 4195344  # largest REPLY
K_CONN = 64 * 1024  # libzmq's own buffers and objects per connection
TABLES = 2 * 16384 * 1024  # two peer tables, PEER_LIMIT_ENTRY_BYTES each
DECODED_MAX = 17012896  # largest decoded model: a full APPLY_RESULT
ADMIN_WORK = 64 * MIB  # one admin answer being built

QUEUE = 2
MEMORY_MAX_MIB = 1024
VALVE_SLACK_MIB = 256  # growth between two checks (every 5 ms) and more
TIMEOUT_S = 2.0
HEARTBEAT_MS = 200
DEAD_AFTER = 10
SUMMARY_TIMEOUT_S = 5.0  # generous; the target is 1 s
TARGET_S = 1.0

FLOODERS = 4
HEAVY = 2
OVERSIZED = 2
STALLED = 20
SILENT = 5
MALFORMED_PEERS = 50
MALFORMED_THREADS = 5
MALFORMED_EACH = 300
ADMIN_UNREAD = 4
MADE_UP = 20


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    raise SystemExit(1)


def check_documented_sizes():
    """The sizes above are docs/SECURITY.md's table, figure for figure."""
    src = os.environ.get("VFLEET_SOURCE_DIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    documented = {}
    with open(os.path.join(src, "docs", "SECURITY.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and cells[1].startswith("`") and \
                    cells[2].isdigit():
                documented[cells[1].strip("`")] = int(cells[2])
    for name in ("S_AGENT_IN", "S_AGENT_OUT", "S_ADMIN_IN", "S_ADMIN_OUT",
                 "K_CONN", "TABLES", "DECODED_MAX", "ADMIN_WORK"):
        if documented.get(name) != globals()[name]:
            fail("docs/SECURITY.md gives %s = %s, the test %d" %
                 (name, documented.get(name), globals()[name]))


def memory_bound(idle_rss, agent_conns, admin_conns):
    """docs/SECURITY.md's bound on the controller's resident memory."""
    per_agent = (QUEUE + 2) * S_AGENT_IN + (QUEUE + 1) * S_AGENT_OUT + K_CONN
    per_admin = (QUEUE + 2) * S_ADMIN_IN + (QUEUE + 1) * S_ADMIN_OUT + K_CONN
    work = S_AGENT_IN + DECODED_MAX + ADMIN_WORK
    return (idle_rss + TABLES + work + agent_conns * per_agent +
            admin_conns * per_admin)


# ---- raw ZMTP 3.0, NULL mechanism ---------------------------------------

def _prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def _frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


class Zmtp:
    """One raw ZMTP connection that greets as a DEALER (unless greet is
    False: then it only connects)."""

    def __init__(self, address, greet=True):
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(address)
        if not greet:
            return
        greeting = (b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" +
                    b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31)
        self.sock.sendall(greeting)
        self._exact(64)
        self.sock.sendall(_frame(b"\x05READY" + _prop(b"Socket-Type",
                                                      b"DEALER"),
                                 command=True))
        flags, body = self.recv_frame()
        if not flags & 4 or not body.startswith(b"\x05READY"):
            fail("no READY from the controller")

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def recv_frame(self):
        flags = self._exact(1)[0]
        if flags & 2:
            size = struct.unpack(">Q", self._exact(8))[0]
        else:
            size = self._exact(1)[0]
        return flags, self._exact(size)

    def recv_message(self, timeout):
        """The next message frame, skipping commands (PING)."""
        self.sock.settimeout(timeout)
        while True:
            flags, body = self.recv_frame()
            if not flags & 4:
                return body
            if body.startswith(b"\x04PING"):
                ctx_len = len(body) - 8
                self.sock.sendall(_frame(b"\x04PONG" + body[8:8 + ctx_len],
                                         command=True))

    def send(self, body):
        self.sock.sendall(_frame(body))

    def closed_within(self, timeout):
        """True when the controller closes the connection in time."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# ---- vfp messages --------------------------------------------------------

def _string(text):
    return struct.pack(">H", len(text)) + text


def vfp(msg_id, request_id, body):
    return b"VF\x01" + bytes([msg_id]) + struct.pack(">I", request_id) + body


def hello(name):
    return vfp(1, 1, _string(name) + _string(b"hostile") + _string(b"") +
               b"\x01\x01")


def request(verb, params, request_id):
    body = _string(verb) + struct.pack(">I", len(params))
    for key, value in params:
        body += _string(key) + _string(value)
    return vfp(9, request_id, body + struct.pack(">I", 0))


# ---- the run -------------------------------------------------------------

class Run:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="vfleet-hostile.")
        self.log_path = os.path.join(self.work, "controller.log")
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.agents = ("127.0.0.1", self.port)
        self.admin = os.path.join(self.work, "state", "admin.sock")
        self.stop = threading.Event()
        self.procs = []
        self.threads = []
        self.summary_times = []
        self.peak_conns = [0, 0]  # agents, admin: opened at once at most
        self.open_conns = [0, 0]
        self.lock = threading.Lock()
        self.input_bytes = 0

    def conn(self, which, address, greet=True):
        with self.lock:
            self.open_conns[which] += 1
            self.peak_conns[which] = max(self.peak_conns[which],
                                         self.open_conns[which])
        return Zmtp(address, greet)

    def release(self, which, zmtp):
        zmtp.close()
        with self.lock:
            self.open_conns[which] -= 1

    def start_controller(self, cap):
        if os.path.exists(self.admin):
            os.unlink(self.admin)
        log = open(self.log_path, "ab")
        args = ["prlimit", "--as=%d" % cap, CONTROLLER, "--insecure",
                "--agents", "tcp://127.0.0.1:%d" % self.port,
                "--state-dir", os.path.join(self.work, "state"),
                "--heartbeat-interval", "%dms" % HEARTBEAT_MS,
                "--dead-after", str(DEAD_AFTER),
                "--peer-queue", str(QUEUE), "--peer-rate", "100",
                "--peer-bandwidth", "32",
                "--peer-timeout", "%dms" % (TIMEOUT_S * 1000),
                "--memory-max", str(MEMORY_MAX_MIB)]
        self.controller = subprocess.Popen(args, stdout=log, stderr=log)
        self.procs.append(self.controller)
        deadline = time.time() + 10
        while not os.path.exists(self.admin):
            if time.time() > deadline or self.controller.poll() is not None:
                fail("the controller did not start:\n" + self.log())
            time.sleep(0.05)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def status(self, field):
        with open("/proc/%d/status" % self.controller.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        fail("no %s for the controller" % field)

    def summary(self, timeout=SUMMARY_TIMEOUT_S):
        zmtp = self.conn(1, self.admin)
        try:
            start = time.monotonic()
            zmtp.send(request(b"summary", [], 77))
            try:
                answer = zmtp.recv_message(timeout)
            except (socket.timeout, EOFError):
                fail("summary not answered within %.1f s" % timeout)
            took = time.monotonic() - start
        finally:
            self.release(1, zmtp)
        if answer[3] != 10:
            fail("summary answered with message id %d" % answer[3])
        # REPLY: status u16, error string, body longstr.
        err_len = struct.unpack(">H", answer[10:12])[0]
        body = answer[12 + err_len + 4:]
        return json.loads(body), took

    def summary_process(self):
        """summary from a process of its own (vfleet-test-peer --request),
        so the time measured is the controller's and not this Python
        process's threads'; it includes starting the process."""
        start = time.monotonic()
        try:
            done = subprocess.run([PEER, "--controller", "ipc://" + self.admin,
                                   "--request", "summary"],
                                  capture_output=True, text=True,
                                  timeout=SUMMARY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            fail("summary not answered within %.1f s" % SUMMARY_TIMEOUT_S)
        took = time.monotonic() - start
        if done.returncode != 0:
            fail("summary failed: " + done.stderr)
        return json.loads(done.stdout), took

    def spawn(self, fn, *args):
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    # -- attackers --

    def flooder(self):
        zmtp = self.conn(0, self.agents)
        message = vfp(3, 1, b"\xff" * (VFP_MSG_MAX - 8))
        try:
            while not self.stop.is_set():
                zmtp.send(message)
                with self.lock:
                    self.input_bytes += len(message)
        except OSError:
            pass
        finally:
            self.release(0, zmtp)

    def malformed(self, peers):
        for _ in range(peers):
            if self.stop.is_set():
                return
            zmtp = self.conn(0, self.agents)
            try:
                for i in range(MALFORMED_EACH):
                    zmtp.send(vfp(5, i, b"\x01\x02\x03"))
                with self.lock:
                    self.input_bytes += MALFORMED_EACH * 14
                time.sleep(0.2)
            except OSError:
                pass
            finally:
                self.release(0, zmtp)

    def admin_unread(self):
        zmtp = self.conn(1, self.admin)
        try:
            for i in range(400):
                if self.stop.is_set():
                    break
                zmtp.send(request(b"vfs", [(b"limit", b"10000")], i + 1))
                time.sleep(0.01)
            self.stop.wait()
        except OSError:
            pass
        finally:
            self.release(1, zmtp)


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
            print("kept", run.work)
        else:
            shutil.rmtree(run.work, ignore_errors=True)


def start(run):
    # The cap leaves the bound for every connection the test opens at
    # once, on top of what the idle process maps.
    run.start_controller(64 << 30)
    idle_vm = run.status("VmSize")
    run.controller.send_signal(signal.SIGTERM)
    run.controller.wait(10)
    agent_conns = (1 + FLOODERS + HEAVY + OVERSIZED + STALLED + SILENT +
                   MALFORMED_THREADS + 2)
    admin_conns = ADMIN_UNREAD + 2
    cap = idle_vm + memory_bound(0, agent_conns, admin_conns)
    run.start_controller(cap)
    print("controller under prlimit --as=%d MiB (idle VmSize %d MiB)" %
          (cap // MIB, idle_vm // MIB))
    good = subprocess.Popen([PEER, "--controller",
                             "tcp://127.0.0.1:%d" % run.port, "--host",
                             "good", "--pfs", "8", "--vfs", "64"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    run.procs.append(good)
    deadline = time.time() + 15
    while True:
        facts, _ = run.summary()
        if facts["hosts"]["connected"] == 1 and facts["vfs"]["total"] == 512:
            break
        if time.time() > deadline:
            fail("the good peer did not register: %s" % facts)
        time.sleep(0.1)


def check_forged_line(run):
    forger = run.conn(0, run.agents)
    forged = (b"x\n2026-01-01T00:00:00.000Z vfleet-controller info: host "
              b"forged registered\x1b[2J")
    forger.send(vfp(8, 1, struct.pack(">H", 4) + _string(forged)))
    time.sleep(0.3)
    run.release(0, forger)
    log = run.log()
    if "info: host forged registered" in log.replace(
            "x\\n2026-01-01T00:00:00.000Z vfleet-controller info: host "
            "forged registered", ""):
        fail("a peer's text forged a log line:\n" + log)
    if "x\\n2026-01-01T00:00:00.000Z vfleet-controller info: host forged " \
       "registered\\x1b[2J" not in log:
        fail("the peer's ERROR text is not in the log, escaped:\n" + log)
    if "\x1b" in log:
        fail("an escape character reached the log")


def attack(run):
    stalled, silent, oversized = [], [], []
    for _ in range(OVERSIZED):
        zmtp = run.conn(0, run.agents)
        zmtp.sock.sendall(b"\x02" + struct.pack(">Q", VFP_MSG_MAX + 1))
        oversized.append(zmtp)
    for i in range(STALLED):
        zmtp = run.conn(0, run.agents)
        sent = VFP_MSG_MAX - 1 if i % 2 else 1024
        zmtp.sock.sendall(b"\x02" + struct.pack(">Q", VFP_MSG_MAX) +
                          b"\0" * sent)
        stalled.append(zmtp)
    for _ in range(SILENT):
        silent.append(run.conn(0, run.agents, greet=False))
    stall_start = time.monotonic()
    for _ in range(FLOODERS):
        run.spawn(run.flooder)
    run.heavy = []
    for i in range(HEAVY):
        proc = subprocess.Popen([PEER, "--controller",
                                 "tcp://127.0.0.1:%d" % run.port, "--host",
                                 "heavy-%d" % i, "--pfs", "64", "--vfs", "128",
                                 "--flood", "100000"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        run.procs.append(proc)
        run.heavy.append(proc)
    with run.lock:
        run.open_conns[0] += HEAVY
        run.peak_conns[0] = max(run.peak_conns[0], run.open_conns[0])
    per_thread = MALFORMED_PEERS // MALFORMED_THREADS
    for _ in range(MALFORMED_THREADS):
        run.spawn(run.malformed, per_thread)
    for _ in range(ADMIN_UNREAD):
        run.spawn(run.admin_unread)
    return stalled, silent, oversized, stall_start


def watch(run, seconds):
    """Summary every 0.25 s and RSS every round, for `seconds`."""
    rss_max = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if run.controller.poll() is not None:
            fail("the controller died (%s) under attack:\n%s" %
                 (run.controller.returncode, run.log()[-3000:]))
        facts, took = run.summary_process()
        run.summary_times.append(took)
        if facts["hosts"]["connected"] < 1:
            fail("the good host is not connected: %s" % facts)
        rss_max = max(rss_max, run.status("VmRSS"))
        time.sleep(0.25)
    return rss_max


def check_closed(label, conns, limit, start):
    for zmtp in conns:
        left = max(0.1, limit - (time.monotonic() - start))
        if not zmtp.closed_within(left):
            fail("%s connection still open after %.1f s" % (label, limit))
    print("%d %s connections closed within %.1f s" %
          (len(conns), label, time.monotonic() - start))


def check_made_up_hosts(run):
    for i in range(MADE_UP):
        zmtp = run.conn(0, run.agents)
        zmtp.send(hello(b"made-up-%d" % i))
        zmtp.recv_message(5)
        run.release(0, zmtp)
    facts, _ = run.summary()
    if facts["hosts"]["total"] != 1 + HEAVY + MADE_UP:
        fail("made-up hosts not registered: %s" % facts)
    # Past the dead-after period they are down, and only the good host
    # counts as connected.
    deadline = time.time() + HEARTBEAT_MS * DEAD_AFTER / 1000 + 5
    while True:
        facts, _ = run.summary()
        if (facts["hosts"]["connected"] == 1 and
                facts["hosts"]["down"] == HEAVY + MADE_UP):
            break
        if time.time() > deadline:
            fail("made-up hosts still counted: %s" % facts)
        time.sleep(0.2)
    print("made-up hosts: %d registered, all down (and the %d heavy ones), "
          "connected = %d" % (MADE_UP, HEAVY, facts["hosts"]["connected"]))


def check_endless_message(run):
    """The --memory-max valve against the one attack libzmq does not
    bound; the good host reconnects afterwards."""
    zmtp = run.conn(0, run.agents)
    frame = b"\x03" + struct.pack(">Q", MIB) + b"\0" * MIB  # MORE, long
    rss_max, sent, cut = 0, 0, False
    # Bounded by what is sent, not by time: on a loaded machine 4 s moved
    # only 1 GiB, short of --memory-max, and the valve never had to trip.
    end = time.monotonic() + 60
    try:
        while time.monotonic() < end and sent < 3 * MEMORY_MAX_MIB:
            zmtp.sock.sendall(frame)
            sent += 1
            if sent % 16 == 0:
                rss_max = max(rss_max, run.status("VmRSS"))
    except OSError:
        cut = True
    run.release(0, zmtp)
    rss_max = max(rss_max, run.status("VmRSS"))
    print("endless message: %d MiB sent, controller RSS at most %.0f MiB "
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
    while run.summary()[0]["hosts"]["connected"] != 1:
        if time.time() > deadline:
            fail("the good host did not come back after the valve")
        time.sleep(0.2)


def check(run):
    check_documented_sizes()
    start(run)
    idle_rss = run.status("VmRSS")
    check_forged_line(run)
    log_before = os.path.getsize(run.log_path)
    stalled, silent, oversized, stall_start = attack(run)
    check_closed("oversized", oversized, 2.0, stall_start)
    rss_max = watch(run, 4.0)
    check_closed("never-greeting", silent, TIMEOUT_S + 3, stall_start)
    for zmtp in stalled + silent + oversized:
        run.release(0, zmtp)
    rss_max = max(rss_max, watch(run, 8.0))
    run.stop.set()
    for proc in run.heavy:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    for thread in run.threads:
        thread.join(15)
    log_growth = os.path.getsize(run.log_path) - log_before
    hwm = run.status("VmHWM")
    bound = memory_bound(idle_rss, run.peak_conns[0], run.peak_conns[1])
    times = sorted(run.summary_times)
    print("summary during the attack (each from a new process): %d requests, "
          "median %.0f ms, max %.0f ms (target %.0f ms)" %
          (len(times), 1000 * times[len(times) // 2], 1000 * times[-1],
           1000 * TARGET_S))
    print("controller RSS: idle %.1f MiB, max sampled %.1f MiB, peak (VmHWM) "
          "%.1f MiB; bound for %d agent and %d admin connections %.0f MiB" %
          (idle_rss / MIB, rss_max / MIB, hwm / MIB, run.peak_conns[0],
           run.peak_conns[1], bound / MIB))
    print("input %.0f MiB; log grew by %d bytes" %
          (run.input_bytes / MIB, log_growth))
    if hwm > bound:
        fail("peak RSS %d over the documented bound %d" % (hwm, bound))
    # At most the warnings' overall budget for the time the attack took
    # (100 at once, then 20 a second), 400 bytes a line at most.
    attack_s = 20
    if log_growth > (100 + 20 * attack_s) * 400:
        fail("the log grew by %d bytes" % log_growth)
    check_made_up_hosts(run)
    log = run.log()
    if "host good is down" in log:
        fail("the good host was marked down:\n" + log[-3000:])
    events = subprocess.run([os.path.join(BIN, "cli", "vfleetctl"), "-c",
                             "ipc://" + run.admin, "-o", "json", "events",
                             "--all"], capture_output=True, text=True)
    if events.returncode != 0:
        fail("vfleetctl events: " + events.stderr)
    for event in json.loads(events.stdout)["events"]:
        if event.get("host") == "good" and event["kind"] == "host-down":
            fail("the good host has a host-down event")
    if run.controller.poll() is not None:
        fail("the controller died")
    check_endless_message(run)
    print("ok: the good host stayed up; the controller stayed within its "
          "bound")


if __name__ == "__main__":
    main()
