#!/usr/bin/env python3
"""agent_doc_test.py - vfleet-agent(8), --help and agent/README.md checked
statement by statement against the real binary, as an outside tester who
has only the documents would, always with --kernel sim on a generated tree
(never this machine's kernel), in about ten seconds:

- the command line: --help and --version; every option's argument form,
  default and bounds, and the exit status and message of a bad value
  (--controller's HOST:PORT, TIME options, host names, levels, kernels,
  run options given to --discover, key files);
- the configuration file, line by line: comments, blanks, flags, sections
  refused, command-line-only keys, FILE:LINE errors, the command line
  winning;
- --discover: table and JSON, exit 1 when nothing can be read, the state
  directory only read (a corrupt, FIFO, directory or symbolic-link
  desired.vfp is refused and left), netdevsim's debugfs root;
- a run with no controller: what it logs at start and stop, the state
  directory created 0700, the writer process (its descriptors, the signals
  it ignores, the agent's exit when it dies), systemd's READY, WATCHDOG and
  STOPPING, journal priorities, --syslog, --log-level, SIGTERM, SIGINT and
  SIGHUP, --user as root and not as root;
- a run against the test peer: HELLO, WELCOME's heartbeat interval, an
  APPLY stored in STATE-DIR/desired.vfp and applied to the simulated
  kernel, an older revision refused, a PF the host lacks, HEARTBEAT's
  applied revision, metrics; then drift in --discover's table and JSON,
  the stored state re-applied at the next start and a corrupt one moved
  aside.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import session_test  # noqa: E402  (Peer, keys, paths)
from session_test import AGENT, SRC, fail, free_port, wait_log  # noqa: E402

WORK = os.path.join(os.environ["VFLEET_BINARY_DIR"], "tests", "agent",
                    "agent-doc")
session_test.WORK = WORK
MAN = os.path.join(SRC, "agent", "vfleet-agent.8")
TREE = os.path.join(WORK, "tree")  # the i40e-xxv710 tree, made by main
PF = "0000:37:00.0"  # the XXV710's PF in the i40e-xxv710 tree
TRY = "Try 'vfleet-agent --help'."
checked = []


def ok(statement):
    """Notes one documented statement as checked."""
    checked.append(statement)


def tree_args(tree):
    return ["--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
            os.path.join(tree, "proc")]


def agent(*args, env=None, timeout=10):
    """Runs vfleet-agent ARGS to its end, with no configuration file of
    this machine's; returns the CompletedProcess. A run with a controller
    gets the generated tree's simulated kernel and a state directory of
    the test's first (ARGS may override them), so that a binary which
    wrongly takes ARGS never reaches this machine's kernel or state."""
    args = list(args)
    if "--controller" in args:
        args = ["--kernel", "sim", "--state-dir",
                os.path.join(WORK, "usage-state")] + tree_args(TREE) + args
    if not any(a.startswith("--config") for a in args):
        args = ["--config", empty_config()] + args
    try:
        return subprocess.run([AGENT] + args, capture_output=True,
                              text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("vfleet-agent %s still runs after %d s" % (" ".join(args),
                                                        timeout))


def hostname(p):
    """The host name --discover --json printed."""
    return json.loads(p.stdout)["host"]["hostname"]


def empty_config():
    path = os.path.join(WORK, "empty.conf")
    if not os.path.exists(path):
        open(path, "w").close()
    return path


def usage_error(args, needle, what):
    """ARGS is a usage error: exit 2, the reason and the hint on stderr."""
    p = agent(*args)
    if p.returncode != 2 or needle not in p.stderr or TRY not in p.stderr:
        fail("%s (%s): exit %d, stderr %r; want 2 and %r" %
             (what, " ".join(args), p.returncode, p.stderr, needle))
    return p


def config(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- the command line ---------------------------------------------------

def check_help_and_version():
    p = agent("--help")
    man = open(MAN).read()
    if p.returncode != 0 or not p.stdout.startswith("usage: vfleet-agent"):
        fail("--help: exit %d, %r" % (p.returncode, p.stdout[:80]))
    for option in re.findall(r"\\fB\\-\\-([a-z-]+)|\.BI? \\-\\-([a-z-]+)",
                             man):
        name = option[0] or option[1]
        if "--" + name not in p.stdout:
            fail("--%s is in the man page, not in --help" % name)
    ok("--help prints every option of the man page, exit 0")
    p = agent("--version")
    version = re.search(r'"vfleet ([0-9.]+)"', man).group(1)
    if p.returncode != 0 or p.stdout != "vfleet-agent %s\n" % version:
        fail("--version: exit %d, %r; man page says %s" %
             (p.returncode, p.stdout, version))
    ok("--version prints the version of the man page")


def check_modes(tree):
    usage_error([], "either --discover or --controller URL", "no mode")
    usage_error(["--controller", "tcp://127.0.0.1:1", "--insecure", "--json"],
                "--json needs --discover", "--json without --discover")
    for endpoint in ("udp://127.0.0.1:1", "tcp://127.0.0.1",
                     "tcp://127.0.0.1:99999", "tcp://127.0.0.1:0",
                     "tcp://:7450", "tcp://*:7450", "tcp://bad_host!:7450"):
        usage_error(["--controller", endpoint, "--insecure"],
                    "--controller: '%s' is not tcp://HOST:PORT" % endpoint,
                    "--controller %s" % endpoint)
    ok("--controller takes tcp://HOST:PORT, a host name or address and a "
       "PORT from 1 to 65535")
    # the run options are the controller's and the connection's, each
    # named when it is given to --discover
    for option in (["--controller", "tcp://127.0.0.1:1"],
                   ["--heartbeat-interval", "2s"], ["--rescan", "10s"],
                   ["--key", "/nonexistent"],
                   ["--controller-key", "/nonexistent"]):
        usage_error(["--discover"] + option + tree_args(tree),
                    "--discover takes no %s" % option[0],
                    "%s with --discover" % option[0])
    usage_error(["--discover", "--bogus"], "unknown option '--bogus'",
                "unknown option")
    usage_error(["--discover", "--sysfs-root"],
                "option --sysfs-root needs a value", "missing value")
    usage_error(["--discover", "extra"], "unexpected argument 'extra'",
                "operand")
    ok("usage errors exit 2 with the reason and the --help hint")
    for args in (["--insecure"], ["--metrics", "tcp://127.0.0.1:9"]):
        p = agent("--discover", *(args + tree_args(tree)))
        if p.returncode != 0:
            fail("--discover %s: exit %d, %s" % (args, p.returncode, p.stderr))
    ok("--metrics is ignored with --discover")


def check_times(tree):
    """--heartbeat-interval TIME: 2s, 500ms or seconds, within the bounds
    the man page and the error name; --rescan in the same form."""
    man = open(MAN).read().replace("\\", "")
    bounds = re.search(r"\(default 2s\), from (\S+) to (\S+), as", man)
    if not bounds:
        fail("man page: no bounds of --heartbeat-interval")
    low, high = bounds.groups()
    for option in ("--heartbeat-interval", "--rescan"):
        for good in ("2s", "500ms", "1.5", low, high):
            p = agent("--discover", "--config",
                      config("t.conf", "%s = %s\n" % (option[2:], good)),
                      *tree_args(tree))
            if p.returncode != 0:
                fail("%s %s refused: %s" % (option, good, p.stderr))
        for bad in ("0", "0.5ms", "-1s", "abc", "2 s", "3601s"):
            p = usage_error(["--controller", "tcp://127.0.0.1:1",
                             "--insecure", option, bad],
                            "%s: '%s' is not a time" % (option, bad),
                            "%s %s" % (option, bad))
            if "from %s to %s" % (low, high) not in p.stderr:
                fail("%s %s: the error does not say 'from %s to %s': %s" %
                     (option, bad, low, high, p.stderr))
    ok("--heartbeat-interval and --rescan take 2s, 500ms, seconds, "
       "from %s to %s" % (low, high))
    p = agent("--discover", "--config",
              config("hb.conf", "heartbeat = 5\n"), *tree_args(tree))
    if p.returncode != 0:
        fail("heartbeat = 5 refused: %s" % p.stderr)


def check_hostname(tree):
    label63, label64 = "a" * 63, "a" * 64
    name253 = ".".join([label63] * 3 + ["b" * 61])
    for good in ("hv-01", "hv-01.example.org", "1a", label63, name253):
        p = agent("--discover", "--json", "--hostname", good,
                  *tree_args(tree))
        if p.returncode != 0 or hostname(p) != good:
            fail("--hostname %s: exit %d, %s" % (good, p.returncode,
                                                 p.stderr))
    for bad in ("-hv", "hv-", "a..b", ".hv", "hv_01", label64,
                name253 + "b", ""):
        usage_error(["--discover", "--hostname", bad] + tree_args(tree),
                    "--hostname: not a host name", "--hostname %r" % bad)
    ok("--hostname NAME is an RFC 1123 host name: labels of 1 to 63, "
       "at most 253 bytes")


def check_enumerations(tree):
    for level in ("error", "warn", "info", "debug"):
        p = agent("--discover", "--log-level", level, *tree_args(tree))
        if p.returncode != 0:
            fail("--log-level %s: %s" % (level, p.stderr))
    usage_error(["--discover", "--log-level", "loud"],
                "--log-level: 'loud' is not error, warn, info or debug",
                "--log-level loud")
    usage_error(["--discover", "--kernel", "live"],
                "--kernel: 'live' is not netlink or sim", "--kernel live")
    usage_error(["--discover", "--kernel", "sim"],
                "--kernel sim needs --sysfs-root DIR", "sim on /sys")
    for flag in ("--netlink", "--no-netlink"):
        usage_error(["--discover", "--kernel", "sim", flag] +
                    tree_args(tree),
                    "--netlink and --no-netlink do not apply",
                    "sim with " + flag)
    usage_error(["--discover", "--metrics", "bogus"], "--metrics: ",
                "--metrics bogus")
    usage_error(["--discover", "--state-dir", ""], "--state-dir: ",
                "empty --state-dir")
    usage_error(["--discover", "--user", ""], "--user: ", "empty --user")
    ok("--log-level, --kernel, --metrics, --state-dir and --user refuse "
       "bad values with exit 2")


def check_config_file(tree):
    """CONFIGURATION FILE, line by line."""
    sysfs, procfs = (os.path.join(tree, "sys"), os.path.join(tree, "proc"))
    good = config("good.conf", (
        "# a comment\n"
        "; another\n"
        "  sysfs-root =   %s  \n"
        "procfs-root=%s ; the rest is a comment\n"
        "hostname = fromfile\n"
        "insecure = yes\n"
        "syslog = off\n"
        "controller = tcp://127.0.0.1:1\n"
        "key = /nonexistent\n"
        "controller-key = /nonexistent\n"
        "heartbeat-interval = 1s\n"
        "rescan = 30s\n") % (sysfs, procfs))
    p = agent("--discover", "--json", "--config", good)
    if p.returncode != 0 or hostname(p) != "fromfile":
        fail("a good file with run options, --discover: exit %d, %s" %
             (p.returncode, p.stderr))
    ok("comments, blanks, flags, and the file's run options do not stop "
       "--discover")
    p = agent("--discover", "--json", "--config", good, "--hostname",
              "fromcli")
    if p.returncode != 0 or hostname(p) != "fromcli":
        fail("the command line does not win: %s" % p.stdout[:200])
    ok("the command line wins over the file")
    for word in ("true", "yes", "on", "false", "no", "off"):
        p = agent("--discover", "--config",
                  config("f.conf", "insecure = %s\n" % word),
                  *tree_args(tree))
        if p.returncode != 0:
            fail("insecure = %s refused: %s" % (word, p.stderr))
    cases = [("bogus = 1\n", ':1: unknown key "bogus"'),
             ("\n\ninsecure = maybe\n", ':3: insecure: "maybe" is not'),
             ("just text\n", ":1: not a \"key = value\" line"),
             ("rescan = 5x\n", ":1: --rescan: '5x' is not a time"),
             ("[agent]\n", ':1: "[agent]" starts a section'),
             ("rescan = 5s\n  [agent]\nrescan = 5s\n",
              ':2: "[agent]" starts a section'),
             ("hostname =\n", ":1: hostname needs a value")]
    for key in ("config", "help", "version", "discover", "json"):
        cases.append(("%s = yes\n" % key,
                      ":1: %s is a command-line option only" % key))
    for text, needle in cases:
        path = config("bad.conf", text)
        p = usage_error(["--discover", "--config", path] + tree_args(tree),
                        path + needle, "file %r" % text)
        if TRY not in p.stderr:
            fail("file %r: no hint" % text)
    usage_error(["--discover", "--config", os.path.join(WORK, "absent")],
                "absent", "a --config FILE that does not exist")
    ok("a bad line stops the agent with FILE:LINE: reason, exit 2; "
       "sections and command-line-only keys are refused")


# ---- --discover ---------------------------------------------------------

def check_discover(tree):
    p = agent("--discover", "--kernel", "sim", *tree_args(tree))
    if p.returncode != 0 or PF not in p.stdout or p.stderr:
        fail("--discover: exit %d, %s" % (p.returncode, p.stderr))
    p = agent("--discover", "--json", "--kernel", "sim", *tree_args(tree))
    doc = json.loads(p.stdout)
    pf = [x for x in doc["pfs"] if x["pci_addr"] == PF]
    if p.returncode != 0 or not pf or doc["host"]["hostname"] != "hv-i40e-01":
        fail("--discover --json: %s" % p.stdout[:300])
    if "desired_revision" in doc or "drift" in doc:
        fail("--discover --json without --state-dir shows drift")
    ok("--discover prints a table, --json JSON, exit 0")
    p = agent("--discover", "--sysfs-root", os.path.join(WORK, "nowhere"),
              "--procfs-root", os.path.join(WORK, "nowhere"))
    if p.returncode != 1 or "nowhere" not in p.stderr:
        fail("an unreadable inventory: exit %d, %s" % (p.returncode,
                                                       p.stderr))
    ok("exit 1 when the inventory cannot be read at all")
    absent = os.path.join(WORK, "absent-state")
    p = agent("--discover", "--json", "--state-dir", absent,
              *tree_args(tree))
    if p.returncode != 0 or os.path.exists(absent):
        fail("--discover --state-dir ABSENT: exit %d, created: %s" %
             (p.returncode, os.path.exists(absent)))
    ok("--discover only reads the state directory")
    bad = os.path.join(WORK, "bad-state")
    os.makedirs(bad)
    with open(os.path.join(bad, "desired.vfp"), "wb") as f:
        f.write(b"not a vfp message")
    p = agent("--discover", "--state-dir", bad, *tree_args(tree))
    if p.returncode != 1 or "desired state" not in p.stderr or \
            os.listdir(bad) != ["desired.vfp"]:
        fail("--discover with a corrupt desired state: exit %d, %s, %s" %
             (p.returncode, p.stderr, os.listdir(bad)))
    for kind in ("a FIFO", "a directory", "a symbolic link"):
        odd = os.path.join(WORK, "odd-state-" + kind.split()[-1])
        os.makedirs(odd)
        path = os.path.join(odd, "desired.vfp")
        if kind == "a FIFO":
            os.mkfifo(path)
        elif kind == "a directory":
            os.mkdir(path)
        else:
            os.symlink(os.path.join(bad, "desired.vfp"), path)
        p = agent("--discover", "--state-dir", odd, *tree_args(tree),
                  timeout=5)
        if p.returncode != 1 or "not a regular file" not in p.stderr or \
                os.listdir(odd) != ["desired.vfp"]:
            fail("desired.vfp as %s: exit %d, %s" % (kind, p.returncode,
                                                     p.stderr))
    ok("--discover --state-dir: exit 1 on a desired state it cannot read, "
       "left in place; a FIFO, directory or symbolic link is refused "
       "without blocking")


def check_debugfs():
    """netdevsim's VF limit comes from DEBUGFS-ROOT/netdevsim/<dev>/max_vfs,
    DEBUGFS-ROOT being SYSFS-ROOT/kernel/debug unless given; VF settings
    of a recorded tree are not read without --netlink, never guessed."""
    tree = os.path.join(WORK, "netdevsim")
    subprocess.run([sys.executable,
                    os.path.join(SRC, "tests", "fixtures", "mktree.py"),
                    "netdevsim", tree], check=True, capture_output=True)
    p = agent("--discover", *tree_args(tree))
    if p.returncode != 0 or "vfs 3 of 4 " not in p.stdout or \
            "settings unknown" not in p.stdout:
        fail("netdevsim with the default debugfs root:\n" + p.stdout)
    p = agent("--discover", "--debugfs-root", os.path.join(WORK, "nowhere"),
              *tree_args(tree))
    if p.returncode != 0 or "vfs 3 of unknown " not in p.stdout or \
            "no debugfs max_vfs" not in p.stdout:
        fail("netdevsim with another debugfs root:\n" + p.stdout)
    ok("--debugfs-root defaults to SYSFS-ROOT/kernel/debug; VF settings "
       "not read are 'settings unknown'")


# ---- runs without a controller ------------------------------------------

class Run:
    """One vfleet-agent run; its stderr in WORK/NAME.log."""

    def __init__(self, name, tree, *args, env=None, state=None):
        self.log_path = os.path.join(WORK, name + ".log")
        self.state = state or os.path.join(WORK, name + "-state")
        self.endpoint = "tcp://127.0.0.1:%d" % free_port()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [AGENT, "--config", empty_config(), "--state-dir",
                 self.state, "--kernel", "sim"] + tree_args(tree) +
                list(args), stderr=log, env=env)

    def log(self):
        return open(self.log_path).read()

    def wait_log(self, needle, timeout=5):
        wait_log(self.log_path, needle, timeout)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("agent did not stop on signal %d:\n%s" % (sig, self.log()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def writer_of(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = [int(x) for x in f.read().split()]
    if len(kids) != 1:
        fail("agent %d has children %s, want one writer" % (pid, kids))
    return kids[0]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def check_run_without_controller(tree):
    """Start, the writer, systemd, the journal, signals; nothing listens
    at the endpoint."""
    sock_path = os.path.join(WORK, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sock_path)
    notify.settimeout(5)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    state = os.path.join(WORK, "run-state")
    run = Run("run", tree, "--insecure", "--controller",
              "tcp://127.0.0.1:%d" % free_port(), env=env, state=state)
    try:
        ready = notify.recv(4096).decode()
        if "READY=1" not in ready:
            fail("first notification %r, not READY=1" % ready)
        ok("READY=1 once discovery ran and the connection is set up")
        watchdog = notify.recv(4096).decode()
        if "WATCHDOG=1" not in watchdog:
            fail("no watchdog ping: %r" % watchdog)
        ok("the watchdog is pinged when WatchdogSec is set")
        run.wait_log("connecting to ")
        log = run.log()
        for needle in ("kernel: sim", "no desired state stored in %s yet" %
                       state, "--insecure: the controller connection is "
                       "plaintext"):
            if needle not in log:
                fail("start log lacks %r:\n%s" % (needle, log))
        warning = "--insecure: the controller connection is plaintext"
        if log.index(warning) > log.index("connecting to "):
            fail("the --insecure warning comes after the start:\n" + log)
        ok("--insecure warns at start, before connecting")
        mode = stat.S_IMODE(os.stat(state).st_mode)
        if mode != 0o700:
            fail("state directory created with mode %o" % mode)
        ok("--state-dir is created 0700 when missing")
        writer = writer_of(run.proc.pid)
        fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % writer))
        if fds != [0, 1, 2, 3]:
            fail("the writer holds descriptors %s" % fds)
        ok("the writer keeps the channel and stdin, stdout, stderr only")
        if os.geteuid() == 0 and not has_user("vfleet"):
            with open("/proc/%d/status" % run.proc.pid) as f:
                status = f.read()
            if "user vfleet does not exist" not in run.log() or \
                    not re.search(r"CapEff:\s+0+\n", status):
                fail("default user absent: no warning or capabilities "
                     "kept:\n" + run.log())
            ok("the default user vfleet absent: a warning, uid 0 kept "
               "without capabilities")
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            os.kill(writer, sig)
        time.sleep(0.3)
        if not alive(writer) or run.proc.poll() is not None:
            fail("the writer does not ignore SIGINT, SIGTERM, SIGHUP")
        ok("the writer ignores SIGINT, SIGTERM and SIGHUP")
        run.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        if run.proc.poll() is not None:
            fail("SIGHUP ended the agent (%d):\n%s" % (run.proc.returncode,
                                                       run.log()))
        ok("SIGHUP is ignored")
        rc = run.stop()
        if rc != 0 or "stopping" not in run.log():
            fail("SIGTERM: exit %d:\n%s" % (rc, run.log()))
        msgs = []
        try:
            while True:
                msgs.append(notify.recv(4096).decode())
        except socket.timeout:
            pass
        if not any("STOPPING=1" in m for m in msgs):
            fail("no STOPPING=1 after SIGTERM: %s" % msgs)
        ok("SIGTERM: 'stopping' logged, STOPPING=1, exit 0")
        time.sleep(0.2)
        if alive(writer):
            fail("the writer outlived the agent")
    finally:
        run.kill()
        notify.close()

    run = Run("sigint", tree, "--insecure", "--controller", run.endpoint,
              "--heartbeat", "5", state=state)
    try:
        run.wait_log("connecting to ")
        if run.stop(signal.SIGINT) != 0:
            fail("SIGINT: exit %d" % run.proc.returncode)
        ok("SIGINT: exit 0")
        if ("vfleet-agent: warning: --heartbeat is deprecated; use "
                "--heartbeat-interval 5") not in run.log():
            fail("--heartbeat without its warning:\n" + run.log())
        ok("--heartbeat SECONDS is accepted with a warning on stderr")
    finally:
        run.kill()


def check_journal_and_levels(tree):
    log_path = os.path.join(WORK, "journal.log")
    with open(log_path, "w") as log:
        st = os.fstat(log.fileno())
        env = dict(os.environ,
                   JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        proc = subprocess.Popen(
            [AGENT, "--config", empty_config(), "--insecure", "--controller",
             "tcp://127.0.0.1:%d" % free_port(), "--kernel", "sim",
             "--state-dir", os.path.join(WORK, "journal-state")] +
            tree_args(tree), stderr=log, env=env)
    try:
        wait_log(log_path, "connecting to ", 5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = open(log_path).read().splitlines()
    if not lines or any(not re.match(r"<[0-7]>(error|warn|info|debug): ", l)
                        for l in lines):
        fail("journal lines without their priority:\n%s" % "\n".join(lines))
    if not any(l.startswith("<6>info: kernel: sim") for l in lines):
        fail("no info line at priority 6:\n%s" % "\n".join(lines))
    ok("on the journal each line carries its priority, no timestamp")

    run = Run("quiet", tree, "--insecure", "--controller",
              "tcp://127.0.0.1:%d" % free_port(), "--log-level", "error",
              "--heartbeat-interval", "3600s")
    try:
        time.sleep(0.7)
        if run.proc.poll() is not None:
            fail("--heartbeat-interval 3600s: the agent ended (%d):\n%s" %
                 (run.proc.returncode, run.log()))
        ok("the largest --heartbeat-interval runs")
        if run.stop() != 0 or run.log():
            fail("--log-level error logged: %s" % run.log())
        ok("--log-level error logs no info")
    finally:
        run.kill()


def check_run_failures(tree):
    blocker = os.path.join(WORK, "a-file")
    open(blocker, "w").close()
    p = agent("--insecure", "--controller", "tcp://127.0.0.1:1",
              "--kernel", "sim", "--state-dir", blocker, *tree_args(tree))
    if p.returncode != 1 or blocker not in p.stderr:
        fail("an unusable state directory: exit %d, %s" % (p.returncode,
                                                          p.stderr))
    ok("exit 1 when the state directory is unusable")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        endpoint = "tcp://127.0.0.1:%d" % taken.getsockname()[1]
        p = agent("--insecure", "--controller", "tcp://127.0.0.1:1",
                  "--kernel", "sim", "--metrics", endpoint, "--state-dir",
                  os.path.join(WORK, "metrics-state"), *tree_args(tree))
    if p.returncode != 1 or endpoint not in p.stderr:
        fail("--metrics on a port in use: exit %d, %s" % (p.returncode,
                                                          p.stderr))
    ok("exit 1 when the --metrics endpoint cannot be served")
    key = os.path.join(WORK, "open.key_secret")
    shutil.copy(session_test.agent_key(), key)
    os.chmod(key, 0o644)
    p = agent("--controller", "tcp://127.0.0.1:1", "--key", key,
              "--controller-key", os.path.join(WORK, "keys",
                                               "controller.key"),
              "--kernel", "sim", *tree_args(tree))
    if p.returncode != 2 or key not in p.stderr or "mode 0644" not in \
            p.stderr or "chmod 600" not in p.stderr:
        fail("a secret key others may read: exit %d, %s" % (p.returncode,
                                                            p.stderr))
    p = agent("--controller", "tcp://127.0.0.1:1", "--key",
              os.path.join(WORK, "absent.key_secret"), "--controller-key",
              os.path.join(WORK, "keys", "controller.key"),
              "--kernel", "sim", *tree_args(tree))
    if p.returncode != 2 or "absent.key_secret" not in p.stderr:
        fail("a missing key: exit %d, %s" % (p.returncode, p.stderr))
    public = os.path.join(WORK, "public-only.key")
    shutil.copy(os.path.join(WORK, "keys", "controller.key"), public)
    os.chmod(public, 0o600)
    for args, needle in (
            (["--key", public], "%s holds no secret key" % public),
            (["--key", session_test.agent_key(), "--controller-key",
              os.path.join(WORK, "absent.key")], "absent.key")):
        if "--controller-key" not in args:
            args += ["--controller-key", os.path.join(WORK, "keys",
                                                      "controller.key")]
        p = agent("--controller", "tcp://127.0.0.1:1", "--kernel", "sim",
                  *(args + tree_args(tree)))
        if p.returncode != 2 or needle not in p.stderr:
            fail("%s: exit %d, %s" % (args, p.returncode, p.stderr))
    default_key = "/etc/vfleet/agent.key_secret"
    if not os.path.exists(default_key):
        p = agent("--controller", "tcp://127.0.0.1:1", "--kernel", "sim",
                  *tree_args(tree))
        if p.returncode != 2 or default_key not in p.stderr:
            fail("no --key: exit %d, %s" % (p.returncode, p.stderr))
        ok("--key defaults to %s" % default_key)
    ok("--key: refused with exit 2 when missing, holding no secret key or "
       "readable by others, naming the file and its mode; --controller-key "
       "too when missing")
    if os.geteuid() == 0:
        p = agent("--insecure", "--controller", "tcp://127.0.0.1:1",
                  "--user", "no-such-user-vfleet", "--kernel", "sim",
                  "--state-dir", os.path.join(WORK, "user-state"),
                  *tree_args(tree))
        if p.returncode != 1 or "no-such-user-vfleet" not in p.stderr:
            fail("--user naming no user: exit %d, %s" % (p.returncode,
                                                         p.stderr))
        ok("--user naming no user: exit 1")

    run = Run("syslog", tree, "--insecure", "--syslog", "--controller",
              "tcp://127.0.0.1:%d" % free_port())
    try:
        time.sleep(0.7)
        if run.stop() != 0 or run.log():
            fail("--syslog logged on stderr:\n" + run.log())
        ok("--syslog: nothing logged on stderr")
    finally:
        run.kill()
    if os.geteuid() == 0:
        check_user(tree)
        check_not_root(tree)

    run = Run("writer-killed", tree, "--insecure", "--controller",
              "tcp://127.0.0.1:%d" % free_port())
    try:
        run.wait_log("connecting to ")
        writer = writer_of(run.proc.pid)
        os.kill(writer, signal.SIGKILL)
        rc = run.proc.wait(timeout=5)
        want = "writer process %d killed by signal 9" % writer
        if rc != 1 or want not in run.log():
            fail("writer killed: exit %d:\n%s" % (rc, run.log()))
        ok("a dead writer: error naming how it ended, exit 1")
    finally:
        run.kill()


def check_user(tree):
    """As root, --user NAME: the network process runs as NAME without
    capabilities; the state directory and its files are given to it."""
    nobody = pwd.getpwnam("nobody")
    state = os.path.join(WORK, "user-nobody")
    os.makedirs(state)
    open(os.path.join(state, "desired.vfp.corrupt"), "w").close()
    run = Run("user", tree, "--insecure", "--controller",
              "tcp://127.0.0.1:%d" % free_port(), "--user", "nobody",
              state=state)
    try:
        run.wait_log("connecting to ")
        with open("/proc/%d/status" % run.proc.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines())
        uids = status["Uid"].split()
        if set(uids) != {str(nobody.pw_uid)} or \
                int(status["CapEff"], 16) or int(status["CapPrm"], 16):
            fail("--user nobody: uids %s, CapEff %s" % (uids,
                                                       status["CapEff"]))
        for path in (state, os.path.join(state, "desired.vfp.corrupt")):
            if os.stat(path).st_uid != nobody.pw_uid:
                fail("%s not given to nobody" % path)
    finally:
        run.stop()
        run.kill()
    ok("--user NAME: the network process runs as NAME, no capabilities, "
       "owning the state directory and its files")


def check_not_root(tree):
    """Not started as root: both processes exist, the change of user is
    skipped (logged at info) and --user, even naming no user, has no
    effect."""
    if not shutil.which("setpriv"):
        return
    home = os.path.join(WORK, "not-root")
    os.makedirs(home)
    os.chown(home, 65534, 65534)
    log_path = os.path.join(WORK, "not-root.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             AGENT, "--config", empty_config(), "--insecure", "--controller",
             "tcp://127.0.0.1:%d" % free_port(), "--kernel", "sim",
             "--state-dir", os.path.join(home, "state"), "--user",
             "no-such-user-vfleet"] + tree_args(tree), stderr=log)
    try:
        wait_log(log_path, "connecting to ", 5)
        writer_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = open(log_path).read()
    if rc != 0 or "info: not started as root" not in log:
        fail("not root: exit %d:\n%s" % (rc, log))
    ok("not started as root: two processes, the change of user skipped "
       "(info), --user without effect")


# ---- runs with the test peer --------------------------------------------

ABSENT_PF = "0000:99:00.0"
APPLY = ("pf %s 4\n"
         "vf %s 1 mac 02:50:56:00:00:01 vlan 100 qos 0 proto 802.1Q\n"
         "hugepages 2048 16\n" % (PF, PF))


def check_with_controller(tree):
    state = os.path.join(WORK, "peer-state")
    files = [config("apply-5", "revision 5\n" + APPLY),
             config("apply-3", "revision 3\n" + APPLY),
             config("apply-6", "revision 6\n" + APPLY +
                    "pf %s 2\n" % ABSENT_PF)]
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    peer = session_test.Peer(endpoint, "peer", *sum(
        (["--apply", f] for f in files), []))
    metrics_port = free_port()
    run = Run("peer", tree, "--controller", endpoint, "--hostname",
              "doc-host", "--metrics",
              "tcp://127.0.0.1:%d" % metrics_port,  # PATH: /metrics
              *session_test.agent_keys(), state=state)
    try:
        _, hello = peer.wait_for("HELLO", 5)
        if hello["hostname"] != "doc-host":
            fail("HELLO hostname %s, not --hostname's" % hello["hostname"])
        ok("--hostname NAME is what HELLO reports")
        version = agent("--version").stdout.split()[1]
        low, high = (int(x) for x in hello["proto"].split(".."))
        if hello["agent"] != version or not 1 <= low <= high:
            fail("HELLO agent %s proto %s; --version says %s" %
                 (hello["agent"], hello["proto"], version))
        ok("HELLO carries the agent's version and protocol range")
        i, result = peer.wait_for("APPLY_RESULT", 5)
        if result["revision"] != "5" or result["failed"] != "0":
            fail("APPLY revision 5: %s" % result)
        i, error = peer.wait_for("ERROR", 5, after=i)
        if error["code"] != "INVALID":
            fail("an older revision answered %s" % error)
        ok("an APPLY older than the stored one: ERROR INVALID")
        i, result = peer.wait_for("APPLY_RESULT", 5, after=i)
        with open(os.path.join(peer.dir, "%s-APPLY_RESULT.json" %
                               result["file"])) as f:
            results = json.load(f)["results"]
        absent = [r for r in results if r["pf"] == ABSENT_PF]
        if result["revision"] != "6" or result["failed"] != "1" or \
                len(absent) != 1 or absent[0]["err"] != 19 or \
                ABSENT_PF not in absent[0]["message"] or \
                len(results) != 5:
            fail("APPLY revision 6 with a PF this host lacks: %s %s" %
                 (result, results))
        ok("a PF the host lacks: ENODEV naming it, the other items applied")
        j, beat = peer.wait_for("HEARTBEAT", 5, after=i)
        if beat["applied"] != "5":
            fail("HEARTBEAT applied %s, want 5" % beat["applied"])
        ok("HEARTBEAT carries the last revision applied with every item ok")
        k, _ = peer.wait_for("HEARTBEAT", 5, after=j + 1)
        gap = int(peer.lines()[k][0]) - int(peer.lines()[j][0])
        if not session_test.HEARTBEAT_MS / 2 <= gap <= 1500:
            fail("heartbeats %d ms apart; WELCOME said %d ms, the agent's "
                 "own default is 2s" % (gap, session_test.HEARTBEAT_MS))
        ok("WELCOME's heartbeat interval replaces --heartbeat-interval's")
        run.wait_log("apply revision 5: ")
        if not re.search(r"apply revision 5: [1-9][0-9]* kernel writes",
                         run.log()):
            fail("no kernel writes logged:\n%s" % run.log())
        ok("apply revision N: K kernel writes")
        if os.listdir(state) != ["desired.vfp"]:
            fail("state directory holds %s" % os.listdir(state))
        ok("the desired state is kept as STATE-DIR/desired.vfp")
        url = "http://127.0.0.1:%d/metrics" % metrics_port
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        for name in ("vfleet_agent_scan_seconds", "vfleet_build_info",
                     "vfleet_agent_kernel_writes_total",
                     "vfleet_agent_apply_failures_total",
                     "vfleet_agent_drift_items"):
            if name not in body:
                fail("metrics lack %s" % name)
        samples = dict(l.rsplit(" ", 1) for l in body.splitlines()
                       if l and not l.startswith("#"))
        if samples.get('vfleet_build_info{version="%s"}' % version) != "1" \
                or float(samples["vfleet_agent_kernel_writes_total"]) < 1 \
                or samples["vfleet_agent_apply_failures_total"] != "1":
            fail("metrics: build_info, kernel writes or failures:\n" + body)
        head = urllib.request.urlopen(urllib.request.Request(
            url, method="HEAD"), timeout=5)
        if head.status != 200 or head.read():
            fail("HEAD /metrics: %d" % head.status)
        ok("--metrics serves the documented series at /metrics by "
           "default, GET and HEAD: the version, the kernel writes, the one "
           "failed item")
        if run.stop() != 0:
            fail("SIGTERM with a controller: exit %d" % run.proc.returncode)
    finally:
        run.kill()
        peer.stop()

    p = agent("--discover", "--json", "--kernel", "sim", "--state-dir",
              state, *tree_args(tree))
    doc = json.loads(p.stdout)
    pf = [x for x in doc["pfs"] if x["pci_addr"] == PF][0]
    vf1 = [v for v in pf["vfs"] if v["vf"] == 1][0]
    drift = [(d["pf"], d["attribute"]) for d in doc.get("drift", [])]
    if (doc.get("desired_revision"), drift, pf["num_vfs"],
            vf1["mac"], vf1["vlan"]) != (6, [(ABSENT_PF, "pf")], 4,
                                         "02:50:56:00:00:01", 100):
        fail("--discover after the apply: %s %s %s" %
             (doc.get("desired_revision"), doc.get("drift"), vf1))
    ok("--discover --kernel sim shows what was applied, desired_revision "
       "and the drift of the PF the host lacks")

    # nothing listens now: the stored state is re-applied at start
    sim_state = os.path.join(tree, "sys", ".vfleet-sim", "state")
    with open(sim_state) as f:
        text = f.read()
    with open(sim_state, "w") as f:
        f.write(text.replace("02:50:56:00:00:01", "02:50:56:00:00:99"))
    p = agent("--discover", "--json", "--kernel", "sim", "--state-dir",
              state, *tree_args(tree))
    drift = [d for d in json.loads(p.stdout).get("drift")
             if d["pf"] == PF]
    if p.returncode != 0 or len(drift) != 1 or \
            sorted(drift[0]) != ["attribute", "detail", "pf", "vf"] or \
            (drift[0]["pf"], drift[0]["vf"], drift[0]["attribute"]) != (
                PF, 1, "mac"):
        fail("--discover --json drift of a MAC changed behind the agent: "
             "%s" % drift)
    p = agent("--discover", "--kernel", "sim", "--state-dir", state,
              *tree_args(tree))
    if not re.search(r"drift: pf %s vf 1 mac: wanted .*02:50:56:00:00:01"
                     r".*kernel has .*02:50:56:00:00:99" % PF, p.stdout):
        fail("--discover --state-dir: no drift line:\n" + p.stdout)
    ok("--discover --state-dir prints drift lines, --json a drift array "
       "of pf, vf, attribute, detail")
    run = Run("restart", tree, "--insecure", "--controller", endpoint,
              state=state)
    try:
        run.wait_log("re-applying desired state revision 6")
        run.wait_log("apply revision 6: 1 kernel writes")
    finally:
        run.stop()
        run.kill()
    if "02:50:56:00:00:01" not in open(sim_state).read():
        fail("the stored state was not re-applied")
    ok("the stored desired state is re-applied at start, no controller")

    with open(os.path.join(state, "desired.vfp"), "wb") as f:
        f.write(b"garbage")
    run = Run("corrupt", tree, "--insecure", "--controller", endpoint,
              state=state)
    try:
        run.wait_log("connecting to ")
    finally:
        run.stop()
        run.kill()
    if sorted(os.listdir(state)) != ["desired.vfp.corrupt"]:
        fail("a corrupt desired state: %s" % os.listdir(state))
    ok("a desired.vfp that does not decode is moved to desired.vfp.corrupt")


def main():
    started = time.time()
    tree = TREE
    subprocess.run([sys.executable,
                    os.path.join(SRC, "tests", "fixtures", "mktree.py"),
                    "i40e-xxv710", tree], check=True)
    session_test.agent_key()
    check_help_and_version()
    check_modes(tree)
    check_times(tree)
    check_hostname(tree)
    check_enumerations(tree)
    check_config_file(tree)
    check_discover(tree)
    check_debugfs()
    check_run_failures(tree)
    check_run_without_controller(tree)
    check_journal_and_levels(tree)
    check_with_controller(tree)
    for statement in checked:
        print("ok   " + statement)
    print("ok: %d documented statements in %.1f s" %
          (len(checked), time.time() - started))
    return 0


if __name__ == "__main__":
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    os.makedirs(WORK)
    sys.exit(main())
