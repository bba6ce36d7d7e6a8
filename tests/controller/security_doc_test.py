#!/usr/bin/env python3
"""security_doc_test.py - docs/SECURITY.md, README.md ("See it work",
"Run the tests", the one-machine walk-through, "Install from packages",
"Keys"), deploy/README.md and the key verbs of vfleetctl(8), checked
statement by statement as an outside tester reads them, against the real
binaries only.

- `vfleetctl keys`: the files each verb writes (names, modes, metadata),
  its messages and exit statuses for bad input and usage errors, --force,
  --public, the default --out, revoke --host/--admin, list's order and
  shapes;
- every daemon and vfleetctl refuse a secret key that group or others
  may read or write, naming the file and its mode, and say which key
  file is missing;
- the documented bounds of the controller's resource options, the
  configuration files' rules (FILE:LINE, exit 2, the command line wins,
  every shipped setting commented out and named like a long option),
  deploy/demo.sh --help, the CMake options and the default endpoints;
- what each package installs (cmake --install per component into a
  scratch DESTDIR) and the units' documented settings; both daemons run
  as a Type=notify unit with a watchdog would run them (READY=1,
  WATCHDOG=1, STOPPING=1) and their journal priority prefixes;
- a database others may read loses those bits when the controller opens
  it;
- README's walk-through run as written (keys in STATE_DIR/keys, the ipc
  socket, a CURVE agent on a simulated kernel): the state directory,
  socket and database modes, an admin key saying HELLO, forged HELLOs
  recorded at most once a second, a host key added while the controller
  runs admitted at once, a revoked key's next handshake refused at once,
  a revocation of a key with no session costing nothing and of a
  connected one costing every other agent one HELLO;
- a tcp admin endpoint: the admin's default key files and $VFLEET_KEY,
  an admin key added while running used at once, the read-only refusal's
  text, a key of an unknown role refused, --admin-rate's burst, a revoked
  admin key answered DENIED on its open connection;
- --insecure: warnings at start on both daemons, a HELLO under any name,
  made-up hosts that go silent marked down; vfleetctl escaping text a
  peer sent; --peer-rate's burst; the ipc socket's frame limit;
  --peer-timeout on a connection that never greets; the metrics
  endpoint's 16 connections and 10 s idle limit;
- as root only: the ipc socket keeps out another user, --admin-group
  lets its members in but not into the state directory or the database,
  and an agent whose network process becomes --user nobody reads its
  root-owned secret key, keeps no capability and owns its state
  directory.

Agents always run with --kernel sim and an explicit, empty --config.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
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
CTL, CONTROLLER, AGENT = e2e.CTL, e2e.CONTROLLER, e2e.AGENT
PEER = os.path.join(e2e.BIN, "tests", "controller", "vfleet-test-peer")
WORK = os.path.join(e2e.BIN, "tests", "controller", "security_doc")
e2e.WORK = WORK
POLICY = os.path.join(SRC, "deploy", "examples", "policy.yaml")
ROOT = os.geteuid() == 0
CHECKS = [0]


def ok(cond, msg):
    CHECKS[0] += 1
    check(cond, msg)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run(argv, env=None, cwd=None, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def keys(key_dir, *args, cwd=None):
    """vfleetctl keys ARGS --keys key_dir, whatever its exit status."""
    return run([CTL, "keys"] + list(args) + ["--keys", key_dir], cwd=cwd)


def must(r, what):
    if r.returncode != 0:
        fail("%s exited %d: %s" % (what, r.returncode, r.stderr))
    return r


def cert_fields(path):
    """A czmq certificate's metadata and keys: {name: value}."""
    with open(path) as f:
        return dict(re.findall(r'^\s+([\w-]+) = "(.*)"$', f.read(), re.M))


def wire_string(text):
    return struct.pack(">H", len(text)) + text


def vfp(msg_id, request_id, body):
    return b"VF\x01" + bytes([msg_id]) + struct.pack(">I", request_id) + body


def request(verb, request_id):
    return vfp(9, request_id, wire_string(verb) + struct.pack(">II", 0, 0))


def hello(name):
    return vfp(1, 1, wire_string(name) + wire_string(b"doc-test") +
               wire_string(b"") + b"\x01\x01")


def status_of(message):
    """(msg_id, status or error code, text) of a REPLY or an ERROR."""
    code, length = struct.unpack(">HH", message[8:12])
    return message[3], code, message[12:12 + length].decode()


# ---- vfleetctl keys, offline ---------------------------------------------

def check_keys_init(key_dir):
    r = keys(key_dir, "init")
    ok(r.returncode == 0 and "%s/controller.key" % key_dir in r.stdout and
       "(secret, mode 0600)" in r.stdout, "keys init: says what it wrote")
    ok(mode(key_dir) == 0o700 and
       all(mode(os.path.join(key_dir, *p)) == 0o700 for p in
           (["authorized"], ["authorized", "hosts"],
            ["authorized", "admins"])),
       "keys init: the directory and authorized/{hosts,admins} are 0700")
    public = os.path.join(key_dir, "controller.key")
    secret = public + "_secret"
    ok(mode(secret) == 0o600, "keys init: controller.key_secret is 0600")
    before = cert_fields(public)
    ok(len(before.get("public-key", "")) == 40 and
       "secret-key" not in before and
       cert_fields(secret)["public-key"] == before["public-key"] and
       len(cert_fields(secret).get("secret-key", "")) == 40,
       "keys init: a public certificate and its secret one (Z85 keys)")
    r = keys(key_dir, "init")
    ok(r.returncode == 1 and "--force" in r.stderr and
       cert_fields(public) == before,
       "keys init again: refused (exit 1, naming --force), pair kept")
    r = keys(key_dir, "init", "--force")
    ok(r.returncode == 0 and
       cert_fields(public)["public-key"] != before["public-key"] and
       mode(secret) == 0o600, "keys init --force: a new pair, still 0600")


def check_keys_add(key_dir):
    cwd = os.path.join(WORK, "cwd")
    os.makedirs(cwd)
    r = keys(key_dir, "add-host", "hv-01", cwd=cwd)
    ok(r.returncode == 0 and r.stdout == "host hv-01 authorised (role host); "
       "its secret certificate: ./hv-01.key_secret (mode 0600)\n",
       "add-host: the man page's line; --out defaults to ./NAME.key_secret")
    secret = os.path.join(cwd, "hv-01.key_secret")
    public = os.path.join(key_dir, "authorized", "hosts", "hv-01.key")
    ok(mode(secret) == 0o600, "add-host: the secret certificate is 0600")
    fields, sfields = cert_fields(public), cert_fields(secret)
    ok(fields.get("name") == "hv-01" and fields.get("role") == "host" and
       "secret-key" not in fields,
       "authorized/hosts/NAME.key: metadata name = NAME, role = host")
    ok(sfields.get("name") == "hv-01" and sfields.get("role") == "host" and
       sfields["public-key"] == fields["public-key"],
       "the secret certificate carries the same metadata and key")
    with open(secret) as f:
        kept = f.read()
    r = keys(key_dir, "add-host", "hv-02", "--out", secret)
    with open(secret) as f:
        ok(r.returncode == 1 and "not overwritten" in r.stderr and
           f.read() == kept and not os.path.exists(
               os.path.join(key_dir, "authorized", "hosts", "hv-02.key")),
           "add-host: an existing --out file is never overwritten")
    r = keys(key_dir, "add-host", "hv-01", "--out",
             os.path.join(cwd, "again"))
    ok(r.returncode == 1 and "already has a key" in r.stderr,
       "add-host: a name that has a key is refused")
    for verb, name in (("add-host", "Bad_Name"), ("add-host", "a" * 64),
                       ("add-host", ".".join(["a" * 63] * 4)),
                       ("add-admin", "a..b"), ("revoke", "x_y")):
        r = keys(key_dir, verb, name)
        ok(r.returncode == 2 and "invalid name %s" % name in r.stderr,
           "%s %s...: not an RFC 1123 name, a usage error (exit 2)" %
           (verb, name[:12]))
    elsewhere = os.path.join(WORK, "elsewhere")
    must(keys(elsewhere, "add-host", "x", "--out",
              os.path.join(WORK, "x.key_secret")), "add-host elsewhere")
    z85 = cert_fields(os.path.join(WORK, "x.key_secret"))["public-key"]
    r = keys(key_dir, "add-host", "hv-02", "--public", z85, cwd=cwd)
    ok(r.returncode == 0 and r.stdout == "host hv-02 authorised (role "
       "host)\n" and not os.path.exists(os.path.join(cwd,
                                                     "hv-02.key_secret")) and
       cert_fields(os.path.join(key_dir, "authorized", "hosts",
                                "hv-02.key"))["public-key"] == z85,
       "add-host --public: the key imported, no secret written")
    r = keys(key_dir, "add-admin", "ops", "--public", z85)
    ok(r.returncode == 1 and "already authorised as host hv-02" in r.stderr,
       "a public key authorised under any name is refused")
    r = keys(key_dir, "add-host", "hv-03", "--public", "tooshort")
    ok(r.returncode == 1 and "tooshort is not a Z85 public key" in r.stderr,
       "add-host --public: a bad Z85 key is refused, named")
    for name, extra, role in (("alice", ["--read-only"], "read-only"),
                              ("bob", [], "admin")):
        out = os.path.join(WORK, "%s.key_secret" % name)
        r = keys(key_dir, "add-admin", name, "--out", out, *extra)
        fields = cert_fields(os.path.join(key_dir, "authorized", "admins",
                                          name + ".key"))
        ok(r.returncode == 0 and fields.get("role") == role and
           fields.get("name") == name and mode(out) == 0o600,
           "add-admin %s: authorized/admins/%s.key, role %s" %
           (" ".join([name] + extra), name, role))


def check_keys_list_revoke(key_dir):
    must(keys(key_dir, "add-host", "alice", "--out",
              os.path.join(WORK, "alice-host.key_secret")), "add-host alice")
    r = run([CTL, "keys", "list", "--keys", key_dir])
    rows = [line.split()[:3] for line in r.stdout.splitlines()]
    ok(r.stdout.splitlines()[0].split() == ["KIND", "NAME", "ROLE", "PUBLIC",
                                            "KEY"] and
       rows[1:] == [["host", "alice", "host"], ["host", "hv-01", "host"],
                    ["host", "hv-02", "host"], ["admin", "alice", "read-only"],
                    ["admin", "bob", "admin"]],
       "keys list: KIND NAME ROLE PUBLIC KEY, hosts then admins, by name")
    r = run([CTL, "-o", "json", "keys", "list", "--keys", key_dir])
    listed = json.loads(r.stdout)["keys"]
    ok(all(set(k) == {"kind", "name", "role", "public_key"} and
           len(k["public_key"]) == 40 for k in listed) and len(listed) == 5,
       "keys list -o json: {\"keys\": [{kind, name, role, public_key}]}")
    r = keys(key_dir, "revoke", "alice")
    ok(r.returncode == 1 and "say --host or --admin" in r.stderr,
       "revoke of a name both kinds have: refused, asks --host or --admin")
    r = keys(key_dir, "revoke", "alice", "--admin")
    ok(r.returncode == 0 and not os.path.exists(
        os.path.join(key_dir, "authorized", "admins", "alice.key")) and
       os.path.exists(os.path.join(key_dir, "authorized", "hosts",
                                   "alice.key")),
       "revoke --admin: only the admin's certificate is removed")
    r = keys(key_dir, "revoke", "nobody")
    ok(r.returncode == 1 and "no host or admin key named nobody" in r.stderr,
       "revoke of an unknown name: exit 1, named")
    for args, text in (([], "no subverb given"),
                       (["init", "extra"], "takes no operand"),
                       (["init", "--read-only"], "option not taken here"),
                       (["add-host"], "expected one NAME"),
                       (["add-host", "a", "--public", "x", "--out", "y"],
                        "--out is for a generated pair"),
                       (["revoke", "a", "--host", "--admin"],
                        "--host or --admin"),
                       (["frob"], "unknown subverb")):
        r = keys(os.path.join(WORK, "untouched"), *args)
        ok(r.returncode == 2 and text in r.stderr and
           r.stderr.count("usage: vfleetctl keys init") == 1,
           "keys %s: a usage error (exit 2) with the usage" % " ".join(args))
    ok(not os.path.exists(os.path.join(WORK, "untouched")),
       "...and no usage error wrote anything")
    r = run([CTL, "keys", "list", "--keys", os.path.join(WORK, "none")])
    ok(r.returncode == 1 and "no key directory" in r.stderr,
       "keys list: a missing directory is an error")
    umask077 = os.path.join(WORK, "umask077")
    r = run(["sh", "-c", 'umask 077 && exec "$@"', "sh", CTL, "keys",
             "add-host", "hv-09", "--keys", umask077, "--out",
             os.path.join(WORK, "hv-09.key_secret")])
    ok(r.returncode == 0 and mode(os.path.join(
        umask077, "authorized", "hosts", "hv-09.key")) == 0o600,
       "under umask 077 a certificate is made 0600 (README: run keys as "
       "the controller's user)")


# ---- secret key modes, options, configuration ----------------------------

def check_secret_modes(key_dir):
    admin = os.path.join(WORK, "bob.key_secret")
    server = os.path.join(key_dir, "controller.key")
    for bits in (0o640, 0o620, 0o604, 0o602):
        os.chmod(admin, bits)
        r = run([CTL, "-c", "tcp://127.0.0.1:%d" % free_port(), "--key",
                 admin, "--controller-key", server, "hosts"])
        ok(r.returncode == 1 and "%s has mode %04o" % (admin, bits) in
           r.stderr, "vfleetctl refuses a secret key of mode %04o, naming it"
           % bits)
    os.chmod(admin, 0o600)
    r = run([CTL, "-c", "tcp://127.0.0.1:%d" % free_port(), "--key", admin,
             "--controller-key", os.path.join(WORK, "absent.key"), "hosts"])
    ok(r.returncode == 1 and "give --controller-key FILE" in r.stderr and
       "add-admin" not in r.stderr,
       "vfleetctl without the controller's public key says which file it "
       "needs and where it comes from: %s" % r.stderr.strip())
    secret = os.path.join(key_dir, "controller.key_secret")
    os.chmod(secret, 0o620)
    r = run([CONTROLLER, "--keys", key_dir, "--state-dir",
             os.path.join(WORK, "refused"), "--agents",
             "tcp://127.0.0.1:%d" % free_port()])
    os.chmod(secret, 0o600)
    ok(r.returncode == 1 and "%s has mode 0620" % secret in r.stderr,
       "the controller refuses a secret key others may write (0620)")
    authorized = os.path.join(key_dir, "authorized")
    before = mode(authorized)
    os.chmod(authorized, 0o775)
    r = run([CONTROLLER, "--keys", key_dir, "--state-dir",
             os.path.join(WORK, "refused"), "--agents",
             "tcp://127.0.0.1:%d" % free_port()])
    os.chmod(authorized, before)
    ok(r.returncode == 1 and "key directory %s has mode 0775: group or "
       "others may write in it and so authorise keys; chmod go-w %s" %
       (authorized, authorized) in r.stderr,
       "the controller refuses a key directory its group may write in "
       "(SECURITY.md): %s" % r.stderr.strip())
    host = os.path.join(WORK, "cwd", "hv-01.key_secret")
    os.chmod(host, 0o640)
    r = run([AGENT, "--config", EMPTY_CONF, "--kernel", "sim",
             "--sysfs-root", os.path.join(WORK, "no-sys"), "--procfs-root",
             os.path.join(WORK, "no-proc"),
             "--controller", "tcp://127.0.0.1:1", "--key", host,
             "--controller-key", server])
    os.chmod(host, 0o600)
    ok(r.returncode == 2 and "%s has mode 0640" % host in r.stderr,
       "the agent refuses a secret key its group may read (0640)")
    absent = os.path.join(WORK, "absent.key_secret")
    r = run([AGENT, "--config", EMPTY_CONF, "--kernel", "sim",
             "--sysfs-root", os.path.join(WORK, "no-sys"), "--procfs-root",
             os.path.join(WORK, "no-proc"), "--controller",
             "tcp://127.0.0.1:1", "--key", absent, "--controller-key",
             server])
    ok(r.returncode == 2 and absent in r.stderr,
       "the agent refuses to run without its secret key, naming it")


# vfleet-controller(8): each resource option's documented range.
BOUNDS = (("--peer-queue", "0", "10001", "a number from 1 to 10000"),
          ("--peer-rate", "0", "1000001", "a number from 1 to 1000000"),
          ("--admin-rate", "0", "1000001", "a number from 1 to 1000000"),
          ("--peer-bandwidth", "0", "4097", "a number from 1 to 4096"),
          ("--peer-timeout", "99ms", "3601s", "100ms to 3600s"),
          ("--memory-max", "-1", "1048577", "a number from 0 to 1048576"))


def sqlite_kinds(state_dir):
    """The kinds of the events in the controller database of state_dir."""
    db = sqlite3.connect(os.path.join(state_dir, "vfleet.db"))
    try:
        return [k for (k,) in db.execute("SELECT kind FROM events")]
    finally:
        db.close()


def check_option_bounds():
    for option, low, high, takes in BOUNDS:
        for value in (low, high):
            r = run([CONTROLLER, "--insecure", "--state-dir",
                     os.path.join(WORK, "bounds"), option, value])
            ok(r.returncode == 2 and 'invalid %s "%s"' % (option, value) in
               r.stderr and takes in r.stderr,
               "%s %s: a usage error naming option, value and range" %
               (option, value))
    # An endpoint libzmq would bind to another port (99999 wraps), or one
    # of no transport the controller serves, is a usage error too.
    for option, value in (("--agents", "tcp://127.0.0.1:99999"),
                          ("--agents", "tcp://127.0.0.1"),
                          ("--admin", "udp://127.0.0.1:7450")):
        r = run([CONTROLLER, "--insecure", "--state-dir",
                 os.path.join(WORK, "bounds"), option, value])
        ok(r.returncode == 2 and 'invalid endpoint "%s" for %s' %
           (value, option) in r.stderr and "1 to 65535" in r.stderr,
           "%s %s: a usage error naming option, value and forms" %
           (option, value))
    # --memory-max 0 is no limit: it never trips (it tripped at once).
    state = os.path.join(WORK, "nolimit")
    daemon = subprocess.Popen(
        [CONTROLLER, "--insecure", "--state-dir", state, "--agents",
         "tcp://127.0.0.1:%d" % free_port(), "--memory-max", "0"],
        stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    daemon.send_signal(signal.SIGTERM)
    _, log = daemon.communicate(timeout=30)
    ok(daemon.returncode == 0 and "over --memory-max" not in log and
       "controller-memory" not in sqlite_kinds(state),
       "--memory-max 0: no limit, nothing cut (%s)" % log.strip()[-200:])
    r = run([CONTROLLER, "--insecure", "--admin-group", "no-such-group-x"])
    ok(r.returncode == 2 and "no-such-group-x" in r.stderr,
       "--admin-group with an unknown group: a usage error naming it")
    r = run([CONTROLLER, "--insecure", "--admin-group", "root", "--admin",
             "tcp://127.0.0.1:1"])
    ok(r.returncode == 2 and "ipc://" in r.stderr,
       "--admin-group with a tcp admin endpoint: a usage error")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def long_options(program):
    r = run([program, "--help"])
    return set(re.findall(r"--([a-z][a-z-]*)", r.stdout + r.stderr))


def check_config_files():
    for name, program in (("controller", CONTROLLER), ("agent", AGENT)):
        conf = os.path.join(SRC, "deploy", "conf", name + ".conf")
        with open(conf) as f:
            lines = [line.strip() for line in f]
        live = [line for line in lines if line and line[0] not in "#;"]
        named = re.findall(r"^#([a-z][a-z-]*) = ", "\n".join(lines), re.M)
        ok(not live, "deploy/conf/%s.conf: every setting commented out" %
           name)
        ok(named and set(named) <= long_options(program),
           "deploy/conf/%s.conf: every key is a long option of %s" %
           (name, os.path.basename(program)))
    conf = write(os.path.join(WORK, "bad-key.conf"),
                 "# comment\n; comment\ninsecure = true\nbogus = 1\n")
    r = run([CONTROLLER, "--config", conf])
    ok(r.returncode == 2 and '%s:4: unknown key "bogus"' % conf in r.stderr,
       "config: an unknown key stops the daemon, FILE:LINE, exit 2")
    conf = write(os.path.join(WORK, "bad-flag.conf"), "insecure = maybe\n")
    r = run([CONTROLLER, "--config", conf])
    ok(r.returncode == 2 and "%s:1:" % conf in r.stderr,
       "config: a flag that is not true or false stops it, exit 2")
    r = run([AGENT, "--config", os.path.join(WORK, "missing.conf"),
             "--kernel", "sim"])
    ok(r.returncode == 2 and "missing.conf" in r.stderr,
       "config: a missing --config file stops the agent, exit 2")
    state = os.path.join(WORK, "conf-state")
    conf = write(os.path.join(WORK, "admin.conf"),
                 "insecure = true\nadmin = ipc://%s/from-file.sock\n" % state)
    proc = subprocess.Popen(
        [CONTROLLER, "--config", conf, "--state-dir", state, "--agents",
         "tcp://127.0.0.1:%d" % free_port(), "--admin",
         "ipc://%s/from-line.sock" % state],
        stderr=open(os.path.join(WORK, "conf.log"), "w"))
    try:
        wait_until("the controller binds its admin socket", lambda:
                   os.path.exists(os.path.join(state, "from-line.sock")))
        ok(not os.path.exists(os.path.join(state, "from-file.sock")),
           "config: the command line wins over the file")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def check_readme_commands():
    r = run([os.path.join(SRC, "deploy", "demo.sh"), "--help"])
    ok(r.returncode == 0 and
       r.stdout.startswith("Usage: deploy/demo.sh [--keep]") and
       all(o in r.stdout for o in ("--keep", "--work DIR",
                                   "--build-dir DIR", "--port N")) and
       "set -eu" not in r.stdout,
       "deploy/demo.sh --help: its usage, with the options README names")
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        options = dict(re.findall(r'option\((VFLEET_\w+) "[^"]*" (ON|OFF)\)',
                                  f.read()))
    ok(options == {"VFLEET_WERROR": "ON", "VFLEET_SANITIZE": "OFF",
                   "VFLEET_FUZZ": "OFF", "VFLEET_VALGRIND": "OFF"},
       "README's CMake options exist, VFLEET_WERROR on by default: %s" %
       options)
    ctl_help = run([CTL, "--help"]).stdout
    controller_help = run([CONTROLLER, "--help"]).stdout
    ok("ipc:///var/lib/vfleet/admin.sock" in ctl_help and
       "(default /var/lib/vfleet)" in controller_help and
       "(default ipc://STATE_DIR/admin.sock)" in controller_help,
       "vfleetctl's default endpoint is the packaged controller's ipc "
       "socket (README: `sudo vfleetctl hosts`)")


# ---- packages and units ----------------------------------------------------

PACKAGES = {
    "controller": ["etc/vfleet/controller.conf",
                   "lib/systemd/system/vfleet-controller-backup.service",
                   "lib/systemd/system/vfleet-controller-backup.timer",
                   "lib/systemd/system/vfleet-controller.service",
                   "usr/sbin/vfleet-controller",
                   "usr/share/doc/vfleet-controller/changelog.gz",
                   "usr/share/man/man8/vfleet-controller.8.gz"],
    "agent": ["etc/vfleet/agent.conf",
              "lib/systemd/system/vfleet-agent.service",
              "usr/sbin/vfleet-agent",
              "usr/share/doc/vfleet-agent/changelog.gz",
              "usr/share/man/man8/vfleet-agent.8.gz"],
    "vfleetctl": ["usr/bin/vfleetctl",
                  "usr/share/bash-completion/completions/vfleetctl",
                  "usr/share/doc/vfleetctl/changelog.gz",
                  "usr/share/doc/vfleetctl/examples/policy.yaml",
                  "usr/share/doc/vfleetctl/examples/vms.yaml",
                  "usr/share/man/man5/vfleet-policy.5.gz",
                  "usr/share/man/man8/vfleetctl.8.gz"]}


def check_install():
    for component, expected in PACKAGES.items():
        dest = os.path.join(WORK, "install", component)
        env = dict(os.environ, DESTDIR=dest)
        r = run(["cmake", "--install", e2e.BIN, "--component", component,
                 "--prefix", "/usr"], env=env, timeout=60)
        found = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, _, files in os.walk(dest) for f in files)
        ok(r.returncode == 0 and found == expected,
           "the %s package installs what deploy/README.md lists: %s" %
           (component, found))


def unit(name):
    """A unit file's settings: {key: [values]}."""
    out = {}
    with open(os.path.join(SRC, "deploy", "systemd", name)) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, _, value = line.strip().partition("=")
                out.setdefault(key, []).append(value)
    return out


def check_units():
    ctl, agent = unit("vfleet-controller.service"), unit(
        "vfleet-agent.service")
    for name, u in (("controller", ctl), ("agent", agent)):
        ok(u["Type"] == ["notify"] and u["WatchdogSec"] == ["30s"] and
           u["Restart"] == ["on-failure"],
           "vfleet-%s.service: Type=notify, WatchdogSec=30s, "
           "Restart=on-failure" % name)
        ok(set(u["RestrictAddressFamilies"][0].split()) ==
           {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"},
           "vfleet-%s.service: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK" % name)
    ok(ctl["User"] == ["vfleet"] and ctl["StateDirectory"] == ["vfleet"] and
       ctl["ExecStart"][0].split()[1:] == ["--state-dir", "/var/lib/vfleet"],
       "the controller's unit: user vfleet, state in /var/lib/vfleet")
    ok("User" not in agent and agent["CapabilityBoundingSet"] ==
       ["CAP_NET_ADMIN CAP_SETUID CAP_SETGID"] and
       "/sys/devices /sys/kernel/mm/hugepages" in agent["ReadWritePaths"],
       "the agent's unit: root, CAP_NET_ADMIN CAP_SETUID CAP_SETGID only, "
       "writes /sys/devices and the hugepage pools")


def check_database_mode():
    """SECURITY.md item 3: a database others may read loses those bits
    when the controller opens it."""
    state = os.path.join(WORK, "notify-state")
    db = os.path.join(state, "vfleet.db")
    os.chmod(db, 0o644)
    proc = subprocess.Popen(
        [CONTROLLER, "--insecure", "--state-dir", state, "--agents",
         "tcp://127.0.0.1:%d" % free_port()],
        stderr=open(os.path.join(WORK, "db-mode.log"), "w"))
    try:
        wait_until("the controller answers", lambda: run(
            [CTL, "-c", "ipc://%s/admin.sock" % state, "hosts"]).returncode
            == 0)
        ok(mode(db) == 0o640 and all(mode(db + s) & 0o007 == 0
                                     for s in ("-wal", "-shm")),
           "a database of mode 0644 loses what others may do once the "
           "controller opened it (0640: the group's bits are kept), its "
           "-wal and -shm too")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_notified(name, argv, on_ready=lambda: None):
    """Runs argv for about 2 s as systemd would run a Type=notify unit
    with WatchdogSec=2s and its standard error on the journal: the
    sd_notify messages it sent, the lines it logged, and what on_ready
    returned when READY=1 came."""
    path = os.path.join(WORK, name + ".notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    log_path = os.path.join(WORK, name + ".journal")
    log = open(log_path, "w")
    st = os.fstat(log.fileno())
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000",
               JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    proc = subprocess.Popen(argv, stderr=log, env=env)
    got, ready = [], None
    start = time.time()
    while time.time() - start < 2.2 or got[-1:] != [b"WATCHDOG=1"]:
        try:
            got.append(sock.recv(4096))
            if got[-1].startswith(b"READY=1"):
                ready = on_ready()
        except socket.timeout:
            if time.time() - start > 10:
                break
    proc.terminate()
    proc.wait(timeout=10)
    try:
        while True:
            got.append(sock.recv(4096))
    except socket.timeout:
        pass
    sock.close()
    with open(log_path) as f:
        return got, f.read().splitlines(), ready


def check_notify(name, got):
    ok(got and got[0].startswith(b"READY=1"),
       "%s: sd_notify READY=1 first" % name)
    ok(got.count(b"WATCHDOG=1") >= 2,
       "%s: WATCHDOG=1 every half of WatchdogSec (%d in about 2 s)" %
       (name, got.count(b"WATCHDOG=1")))
    ok(got[-1].startswith(b"STOPPING=1"), "%s: STOPPING=1 last" % name)


def check_notify_and_journal():
    """What the units rely on (deploy/README.md "systemd units"), from
    the controller: READY=1 once both endpoints are bound, WATCHDOG=1,
    STOPPING=1, priority prefixes on the journal stream; with --insecure,
    a warning at start."""
    state = os.path.join(WORK, "notify-state")
    got, lines, bound = run_notified(
        "controller", [CONTROLLER, "--insecure", "--state-dir", state,
                       "--agents",
                       "tcp://127.0.0.1:%d" % free_port()],
        lambda: os.path.exists(os.path.join(state, "admin.sock")))
    check_notify("the controller", got)
    ok(bound, "the controller: READY=1 once its admin socket is bound")
    ok(lines and all(re.match(r"<[3467]>", line) for line in lines) and
       {line[:3] for line in lines} >= {"<4>", "<6>"},
       "journal stream: every line has its sd-daemon priority prefix "
       "(<4> warn and <6> info seen)")
    ok(any(line.startswith("<4>warn: running with --insecure")
           for line in lines),
       "--insecure: the controller warns at start (priority 4)")


# ---- the README walk-through, CURVE, revocation ---------------------------

class Walkthrough:
    """README.md "Try it on one machine": the controller with its keys in
    STATE_DIR/keys, an agent with its host key on a simulated kernel."""

    def __init__(self):
        self.vf = os.path.join(WORK, "vf")
        self.ctl_dir = os.path.join(self.vf, "ctl")
        self.keys = os.path.join(self.ctl_dir, "keys")
        self.port = free_port()
        self.agents_ep = "tcp://127.0.0.1:%d" % self.port
        self.env = dict(os.environ,
                        VFLEET_CONTROLLER="ipc://%s/admin.sock" %
                        self.ctl_dir)
        self.procs = []
        self.controller = None

    def spawn(self, argv, log):
        p = subprocess.Popen(argv, stderr=open(os.path.join(WORK, log), "a"))
        self.procs.append(p)
        return p

    def ctl(self, *args):
        return run([CTL] + list(args), env=self.env)

    def agent(self, host, user=None):
        tree = os.path.join(self.vf, host)
        argv = [AGENT, "--config", EMPTY_CONF, "--key",
                os.path.join(self.vf, host + ".key_secret"),
                "--controller-key", os.path.join(self.keys, "controller.key"),
                "--controller", self.agents_ep, "--hostname", host,
                "--kernel", "sim", "--sysfs-root",
                os.path.join(tree, "sys"), "--procfs-root",
                os.path.join(tree, "proc"), "--state-dir",
                os.path.join(tree, "state"), "--heartbeat-interval", "500ms"]
        return self.spawn(argv + (["--user", user] if user else []),
                          "agent-%s.log" % host)

    def states(self):
        r = self.ctl("-o", "json", "hosts")
        if r.returncode != 0:
            return {}
        return {h["name"]: h["state"] for h in json.loads(r.stdout)["hosts"]}

    def events(self, kind):
        r = self.ctl("-o", "json", "events", "--all")
        return [e for e in json.loads(r.stdout)["events"]
                if e["kind"] == kind]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


def agent_log(host):
    with open(os.path.join(WORK, "agent-%s.log" % host)) as f:
        return f.read()


def check_walkthrough(w):
    subprocess.run(["python3", e2e.MKTREE, "vf64",
                    os.path.join(w.vf, "esx-e1")], check=True,
                   stdout=subprocess.DEVNULL)
    must(run([CTL, "keys", "init", "--keys", w.keys]), "keys init")
    must(run([CTL, "keys", "add-host", "esx-e1", "--keys", w.keys, "--out",
              os.path.join(w.vf, "esx-e1.key_secret")]), "keys add-host")
    w.controller = w.spawn([CONTROLLER, "--state-dir", w.ctl_dir, "--agents",
                            w.agents_ep], "walkthrough.log")
    user = None
    if ROOT:
        user = "nobody"
        os.chown(os.path.join(w.vf, "esx-e1.key_secret"), 0, 0)
    agent = w.agent("esx-e1", user)
    wait_until("esx-e1 ready", lambda: w.states() == {"esx-e1": "ready"})
    ok(True, "README walk-through: `vfleetctl hosts` shows esx-e1 ready "
       "(keys from STATE_DIR/keys, admin on STATE_DIR/admin.sock)")
    if ROOT:
        with open("/proc/%d/status" % agent.pid) as f:
            status = f.read()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
        ok(uid == "65534", "an agent whose network process becomes --user "
           "nobody got in with its root-owned 0600 secret key (README "
           "\"Keys\")")
        ok(re.search(r"^CapEff:\s+0+$", status, re.M) and
           re.search(r"^NoNewPrivs:\s+1$", status, re.M),
           "the agent's network process: no capability, no_new_privs "
           "(SECURITY.md item 7)")
        state = os.path.join(w.vf, "esx-e1", "state")
        ok(os.stat(state).st_uid == 65534 and mode(state) == 0o700,
           "the agent gives its state directory to its --user, 0700 "
           "(deploy/README.md)")
    r = w.ctl("policy", "apply", POLICY)
    ok(r.returncode == 0, "README walk-through: policy apply")
    r = w.ctl("-o", "json", "vfs", "--host", "esx-e1")
    ok(r.returncode == 0 and len(json.loads(r.stdout)["vfs"]) == 2,
       "README walk-through: vfs --host esx-e1 lists the policy's 2 VFs")
    r = w.ctl("policy", "status")
    ok(r.returncode == 0 and re.search(r"^esx-e1\s+ok\s", r.stdout, re.M),
       "README walk-through: policy status shows esx-e1 ok")
    loose = os.path.join(WORK, "loose.key_secret")
    write(loose, "not a key\n")
    os.chmod(loose, 0o644)
    r = w.ctl("--key", loose, "--controller-key", loose, "hosts")
    ok(r.returncode == 0, "vfleetctl on the ipc socket needs no key: "
       "--key is used only for tcp://")
    ok(mode(w.ctl_dir) == 0o700, "--state-dir: created with mode 0700")
    ok(stat.S_ISSOCK(os.stat(os.path.join(w.ctl_dir, "admin.sock")).st_mode)
       and mode(os.path.join(w.ctl_dir, "admin.sock")) == 0o600,
       "the ipc admin socket is mode 0600")
    db = os.path.join(w.ctl_dir, "vfleet.db")
    ok(all(mode(db + s) == 0o600 for s in ("", "-wal", "-shm")),
       "the database, its -wal and -shm are 0600")


def check_other_user(w):
    """Root only: the ipc socket's mode keeps another user out."""
    if not ROOT:
        print("skip - another user and the ipc socket: not root")
        return
    os.chmod(w.ctl_dir, 0o711)
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             CTL, "--timeout", "1s", "summary"], env=w.env)
    os.chmod(w.ctl_dir, 0o700)
    ok(r.returncode == 1, "another user cannot use the 0600 ipc socket "
       "even where it can reach it: %s" % r.stderr.strip()[:80])
    state = os.path.join(WORK, "group-state")
    proc = w.spawn([CONTROLLER, "--insecure", "--state-dir", state,
                    "--agents", "tcp://127.0.0.1:%d" % free_port(),
                    "--admin-group", "65534"], "group.log")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = dict(os.environ, VFLEET_CONTROLLER="ipc://%s/admin.sock" % state)
    wait_until("the controller answers its group", lambda: run(
        nobody + [CTL, "--timeout", "1s", "hosts"], env=env).returncode == 0)
    ok(True, "--admin-group: a member of the group uses the ipc socket")
    listed = run(nobody + ["ls", state])
    read = run(nobody + ["cat", os.path.join(state, "vfleet.db")])
    ok(listed.returncode != 0 and read.returncode != 0,
       "--admin-group: ...but cannot list the state directory (0710) or "
       "read the database")
    proc.terminate()
    proc.wait(timeout=10)


def curve_conn(address, secret, server_key):
    c = zmtp.Conn(address, b"CURVE", zmtp.load_cert(secret), server_key)
    c.handshake()
    return c


def check_hellos(w):
    server = zmtp.load_cert(os.path.join(w.keys, "controller.key"))[0]
    ops = os.path.join(w.vf, "ops.key_secret")
    must(run([CTL, "keys", "add-admin", "ops", "--keys", w.keys, "--out",
              ops]), "add-admin ops")
    c = curve_conn(("127.0.0.1", w.port), ops, server)
    c.send(hello(b"ops"))
    answer = status_of(c.recv_message(5))
    c.close()
    ok(answer[:2] == (8, 5), "an admin key's HELLO on the agents endpoint: "
       "ERROR DENIED (%s)" % answer[2])
    ok([e["host"] for e in w.events("security")] == ["ops"] and
       "ops" not in w.states(),
       "...recorded as a security event, nothing stored")
    host_key = os.path.join(w.vf, "esx-e1.key_secret")

    def forge():
        c = curve_conn(("127.0.0.1", w.port), host_key, server)
        c.send(hello(b"esx-forged"))
        c.recv_message(5)
        c.close()
    start = time.time()
    for _ in range(8):
        forge()
    time.sleep(1.1)
    forge()
    spent = time.time() - start
    events = w.events("security")[1:]
    counted = len(events) + sum(
        int(re.search(r"; (\d+) more refused", e["message"]).group(1))
        for e in events)
    ok(1 <= len(events) <= int(spent) + 2 and counted == 9 and
       "esx-forged" not in w.states(),
       "9 forged HELLOs in %.1f s: %d security events (at most one a "
       "second), which count all 9; nothing stored" % (spent, len(events)))


def welcomes(host):
    return agent_log(host).count("welcomed by controller")


def check_keys_while_running(w):
    server = zmtp.load_cert(os.path.join(w.keys, "controller.key"))[0]
    peer_key = os.path.join(w.vf, "esx-p.key_secret")
    must(run([CTL, "keys", "add-host", "esx-p", "--keys", w.keys, "--out",
              peer_key]), "add-host esx-p")
    r = run([PEER, "--controller", w.agents_ep, "--host", "esx-p",
             "--send-bad", "no-hello", "--key", peer_key, "--controller-key",
             os.path.join(w.keys, "controller.key")])
    ok(r.returncode == 0 and "NOT_WELCOME" in r.stdout,
       "a host key added while the controller runs is admitted at once")
    peer = w.spawn([PEER, "--controller", w.agents_ep, "--host", "esx-p",
                    "--key", peer_key, "--controller-key",
                    os.path.join(w.keys, "controller.key")], "peer.log")
    wait_until("esx-p ready", lambda: w.states().get("esx-p") == "ready")
    must(run([CTL, "keys", "add-host", "esx-spare", "--keys", w.keys,
              "--out", os.path.join(w.vf, "esx-spare.key_secret")]),
         "add-host esx-spare")
    time.sleep(1.5)
    before = welcomes("esx-e1")
    spare = curve_conn(("127.0.0.1", w.port),
                       os.path.join(w.vf, "esx-spare.key_secret"), server)
    spare.close()
    must(run([CTL, "keys", "revoke", "esx-spare", "--keys", w.keys]),
         "revoke esx-spare")
    ok(handshake_refused(("127.0.0.1", w.port),
                         os.path.join(w.vf, "esx-spare.key_secret"), server),
       "a revoked key's next handshake, right after keys revoke, is refused")
    time.sleep(2.5)
    ok(welcomes("esx-e1") == before,
       "revoking a key with no session costs the agents nothing")
    must(run([CTL, "keys", "revoke", "esx-p", "--keys", w.keys]),
         "revoke esx-p")
    wait_until("esx-p down", lambda: w.states().get("esx-p") == "down")
    wait_until("esx-e1 says HELLO again",
               lambda: welcomes("esx-e1") > before)
    wait_until("esx-e1 ready", lambda: w.states().get("esx-e1") == "ready")
    time.sleep(1.0)
    ok(welcomes("esx-e1") == before + 1,
       "revoking a connected key: every other agent says HELLO once")
    ok(peer.poll() is None and w.controller.poll() is None,
       "...without a controller restart")


# ---- a tcp admin endpoint ---------------------------------------------------

def answers(c, timeout=1.5):
    """How many messages come on c until it is quiet for timeout."""
    count = 0
    try:
        while True:
            c.recv_message(timeout)
            count += 1
    except socket.timeout:
        return count


# ADMIN.md, "Limits": the answer to a request over the client's budget.
BUSY_RATE = ("busy: over this client's budget of %d requests and %d MiB a "
             "second; not acted on, retry later")


def replies_of(c, timeout=1.5):
    """status_of each message that comes on c until it is quiet."""
    replies = []
    try:
        while True:
            replies.append(status_of(c.recv_message(timeout)))
    except socket.timeout:
        return replies


def handshake_refused(address, secret, server):
    try:
        curve_conn(address, secret, server).close()
        return False
    except (zmtp.Refused, EOFError, OSError):
        return True


def add_admin(w, name, *options):
    """Authorises an admin key while the controller runs: its secret."""
    secret = os.path.join(WORK, "%s.key_secret" % name)
    must(run([CTL, "keys", "add-admin", name, "--keys", w.keys, "--out",
              secret] + list(options)), "add-admin %s" % name)
    return secret


def check_admin_keys(w, admin):
    """README "Keys": where an admin's key files are found, roles."""
    home = os.path.join(WORK, "home")
    conf = os.path.join(home, ".config", "vfleet")
    os.makedirs(conf)
    shutil.copy(os.path.join(w.vf, "ops.key_secret"),
                os.path.join(conf, "admin.key_secret"))
    shutil.copy(os.path.join(w.keys, "controller.key"),
                os.path.join(conf, "controller.key"))
    env = dict(os.environ, HOME=home)
    env.pop("VFLEET_KEY", None)
    env.pop("VFLEET_CONTROLLER_KEY", None)
    wait_until("the tcp admin endpoint answers", lambda: run(
        [CTL, "-c", admin, "hosts"], env=env).returncode == 0)
    ok(True, "vfleetctl over tcp with ~/.config/vfleet/admin.key_secret "
       "and controller.key by default")
    env = dict(os.environ, VFLEET_KEY=add_admin(w, "carol"),
               VFLEET_CONTROLLER_KEY=os.path.join(w.keys, "controller.key"))
    r = run([CTL, "-c", admin, "hosts"], env=env)
    ok(r.returncode == 0, "an admin key added while the controller runs is "
       "used at once, named by $VFLEET_KEY and $VFLEET_CONTROLLER_KEY")
    env["VFLEET_KEY"] = add_admin(w, "reader", "--read-only")
    r = run([CTL, "-c", admin, "host", "cordon", "esx-e1"], env=env)
    ok(r.returncode == 1 and r.stderr == "vfleetctl: host.cordon: admin key "
       "reader is read-only: host.cordon changes the cluster\n",
       "a read-only key's host cordon: the message vfleetctl(8) gives, "
       "exit 1")
    env["VFLEET_KEY"] = add_admin(w, "odd")
    cert = os.path.join(w.keys, "authorized", "admins", "odd.key")
    with open(cert) as f:
        text = f.read().replace('role = "admin"', 'role = "superuser"')
    write(cert + ".tmp", text)
    os.rename(cert + ".tmp", cert)
    r = run([CTL, "-c", admin, "hosts"], env=env)
    with open(os.path.join(WORK, "tcp-admin.log")) as f:
        logged = 'admin request refused: key odd has role "superuser"' in \
            f.read()
    ok(r.returncode == 1 and 'key odd has role "superuser"' in r.stderr and
       logged, "a key without a known role is answered DENIED and logged: "
       "%s" % r.stderr.strip())


def check_admin_rate_and_revoke(w, address):
    """--admin-rate 2 on one connection of carol's, then carol's key
    revoked while that connection stays open."""
    server = zmtp.load_cert(os.path.join(w.keys, "controller.key"))[0]
    carol = os.path.join(WORK, "carol.key_secret")
    c = curve_conn(address, carol, server)
    for i in range(30):
        c.send(request(b"summary", i + 1))
    replies = replies_of(c)
    served = [r for r in replies if r[:2] == (10, 0)]
    busy = [r for r in replies if r == (10, 10, BUSY_RATE % (2, 64))]
    ok(10 <= len(served) <= 12, "--admin-rate 2: of 30 requests at once a "
       "burst of at least 10 is served: %d served" % len(served))
    ok(len(busy) == 30 - len(served) and len(replies) == 30,
       "...and each of the rest is answered INTERNAL \"%s\", not acted on: "
       "%d busy of %d answers %s" % (BUSY_RATE % (2, 64), len(busy),
                                     len(replies), replies[-1:]))
    with open(os.path.join(WORK, "tcp-admin.log")) as f:
        warned = f.read().count("over its budget of 2 messages")
    ok(1 <= warned <= 5, "...counted in warnings, at most 5 about one peer "
       "at once: %d" % warned)
    time.sleep(1.0)
    must(run([CTL, "keys", "revoke", "carol", "--keys", w.keys]),
         "revoke carol")
    start = time.time()
    answer = None
    while time.time() - start < 5:
        c.send(request(b"summary", 99))
        answer = status_of(c.recv_message(5))
        if answer[1] != 0:
            break
        time.sleep(0.6)
    ok(answer == (10, 5, "admin key carol was revoked"),
       "a revoked admin key's open connection is answered DENIED \"admin "
       "key carol was revoked\" (after %.1f s)" % (time.time() - start))
    c.send(request(b"summary", 100))
    ok(status_of(c.recv_message(5))[1] == 5,
       "...and that connection stays open, each request DENIED")
    c.close()
    ok(handshake_refused(address, carol, server),
       "a revoked admin key's next handshake is refused")


def check_tcp_admin(w):
    port = free_port()
    admin = "tcp://127.0.0.1:%d" % port
    # A send queue of 100: with the default 4, answers to the burst that
    # check_admin_rate_and_revoke sends at once were dropped whenever
    # ZeroMQ's I/O thread fell behind (vfleet-controller(8), --peer-queue),
    # and the burst looked short by one under a loaded CI run.
    proc = w.spawn([CONTROLLER, "--keys", w.keys, "--state-dir",
                    os.path.join(WORK, "tcp-state"), "--agents",
                    "tcp://127.0.0.1:%d" % free_port(), "--admin", admin,
                    "--admin-rate", "2", "--peer-queue", "100"],
                   "tcp-admin.log")
    check_admin_keys(w, admin)
    check_admin_rate_and_revoke(w, ("127.0.0.1", port))
    proc.terminate()
    proc.wait(timeout=10)


def closed_within(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True


def scrape(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        return s.recv(64)
    except socket.timeout:
        return b""
    finally:
        s.close()


def check_insecure(w):
    """A controller and an agent with --insecure: warnings, a HELLO
    under any name, text from a peer escaped by vfleetctl, the ipc
    socket's frame limit, --peer-timeout, the metrics endpoint's limits."""
    admin = "ipc://%s/insecure.sock" % WORK
    port, metrics = free_port(), free_port()
    w.spawn([CONTROLLER, "--insecure", "--state-dir",
             os.path.join(WORK, "insecure-state"), "--agents",
             "tcp://127.0.0.1:%d" % port, "--admin", admin,
             "--peer-timeout", "500ms", "--peer-rate", "2", "--peer-queue",
             "100", "--metrics",
             "tcp://127.0.0.1:%d/metrics" % metrics], "insecure.log")
    tree = os.path.join(w.vf, "esx-e1")
    got, lines, _ = run_notified("agent", [
        AGENT, "--config", EMPTY_CONF, "--insecure", "--controller",
        "tcp://127.0.0.1:%d" % port, "--hostname", "esx-i", "--kernel",
        "sim", "--sysfs-root", os.path.join(tree, "sys"), "--procfs-root",
        os.path.join(tree, "proc"), "--state-dir",
        os.path.join(WORK, "insecure-agent")])
    check_notify("the agent", got)
    text = "\n".join(lines)
    ok(re.search(r"^<4>warn: --insecure: .*tests and demos only", text,
                 re.M) and "welcomed by controller" in text,
       "--insecure: the agent warns at start (priority 4), and a "
       "plaintext agent is admitted")
    idle = [socket.create_connection(("127.0.0.1", metrics))
            for _ in range(16)]
    idle_since = time.time()
    ok(scrape(metrics) == b"", "metrics: with 16 connections open a 17th "
       "is not served")
    c = zmtp.Conn(("127.0.0.1", port), b"NULL")
    c.send(hello(b"esx-any"))
    ok(c.recv_message(5)[3] == 2, "--insecure: a plaintext peer's HELLO "
       "under any name is welcomed")
    c.close()
    c = zmtp.Conn(("127.0.0.1", port), b"NULL")
    c.send(vfp(1, 1, wire_string(b"esx-evil") + wire_string(
        "v1\x1b[31mRED\nFAKE \u009b2J".encode()) + wire_string(b"") +
        b"\x01\x01"))
    c.recv_message(5)
    c.send(vfp(8, 5, struct.pack(">H", 7) + wire_string(
        "bad\x1b[31m\nFAKE line \u009b".encode())))
    time.sleep(0.3)
    c.close()
    with open(os.path.join(WORK, "insecure.log"), errors="replace") as f:
        log = f.read()
    ok("reports INVALID: bad\\x1b[31m\\nFAKE line \\u009b (agent" in log and
       not re.search("[\x1b\x9b]|\nFAKE", log),
       "the controller's log escapes an ERROR text a peer sent")
    c = zmtp.Conn(("127.0.0.1", port), b"NULL")
    for i in range(30):
        c.send(vfp(99, i + 1, b""))
    answered = answers(c)
    c.close()
    ok(10 <= answered <= 11, "--peer-rate 2: of 30 messages at once from "
       "one agent connection a burst of at least 10 is answered, the rest "
       "dropped unanswered: %d answered" % answered)
    env = dict(os.environ, VFLEET_CONTROLLER=admin)
    shown = run([CTL, "host", "esx-evil"], env=env).stdout + run(
        [CTL, "events"], env=env).stdout
    ok("v1\\x1b[31mRED\\nFAKE \\u009b2J" in shown and
       not re.search("[\x1b\x9b]", shown) and
       "\nFAKE" not in shown,
       "vfleetctl escapes text a peer sent (\\n, \\x1b, \\u009b) in host "
       "and events")
    sock = admin[len("ipc://"):]
    for size, closed in ((VFP_REQUEST_MSG_MAX + 1, True),
                         (VFP_REQUEST_MSG_MAX, False)):
        c = zmtp.Conn(sock, b"NULL")
        c.sock.sendall(zmtp.frame_header(size) + b"VF")
        ok(c.closed_within(1.0) == closed,
           "a frame of %d bytes announced on the ipc admin socket: "
           "connection %s" % (size, "closed" if closed else "kept"))
        c.close()
    for what, address in (("ipc admin socket", sock),
                          ("agents endpoint", ("127.0.0.1", port))):
        c = zmtp.Conn(address, None)
        ok(c.closed_within(5), "a connection that never greets the %s is "
           "closed after --peer-timeout" % what)
        c.close()
    early = closed_within(idle[0], max(0.1, idle_since + 8 - time.time()))
    late = early or closed_within(idle[0], idle_since + 14 - time.time())
    ok(not early and late, "metrics: an idle connection is closed after "
       "10 s (%.1f s)" % (time.time() - idle_since))
    for s in idle:
        s.close()
    ok(scrape(metrics).startswith(b"HTTP/1.1 200"),
       "metrics: served again once the idle connections are gone")

    class Admin:
        pass
    client = Admin()
    client.admin = admin
    wait_until("the made-up hosts marked down", lambda: all(
        run([CTL, "-o", "json", "host", h], env=env).stdout.find(
            '"state": "down"') >= 0 for h in ("esx-any", "esx-evil")))
    summary = e2e.ok(client, "summary")
    ok(summary["hosts"]["connected"] == 0 and
       summary["hosts"]["down"] == summary["hosts"]["total"],
       "--insecure: made-up hosts that went silent are down and not "
       "counted as connected in summary: %s" % summary["hosts"])


# PROTOCOL.md 5: the largest REQUEST, the admin socket's frame limit.
VFP_REQUEST_MSG_MAX = 4229330
EMPTY_CONF = os.path.join(WORK, "empty.conf")


def main():
    started = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(WORK, 0o755)
    write(EMPTY_CONF, "")
    key_dir = os.path.join(WORK, "keys")
    check_keys_init(key_dir)
    check_keys_add(key_dir)
    check_keys_list_revoke(key_dir)
    check_secret_modes(key_dir)
    check_option_bounds()
    check_config_files()
    check_readme_commands()
    check_install()
    check_units()
    check_notify_and_journal()
    check_database_mode()
    w = Walkthrough()
    try:
        check_walkthrough(w)
        check_other_user(w)
        check_hellos(w)
        check_keys_while_running(w)
        check_tcp_admin(w)
        check_insecure(w)
        if w.controller.poll() is not None:
            fail("the controller exited")
    finally:
        w.stop()
    print("security_doc_test: %d checks passed in %.1f s" %
          (CHECKS[0], time.time() - started))


if __name__ == "__main__":
    main()
