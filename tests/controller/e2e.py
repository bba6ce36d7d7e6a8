"""e2e.py - what the end-to-end tests of tests/controller share: failing
with the processes' logs, checks, bounded waits, free ports, and the
simulated kernel's state file of a generated host tree.

A test sets e2e.WORK to its work directory (where the *.log files and the
host trees are) before it calls anything here.
"""

import os
import socket
import sys
import time

WORK = None


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
