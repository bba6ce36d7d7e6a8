#!/usr/bin/env python3
"""protocol_doc_test.py - proto/PROTOCOL.md checked as an outsider would:
a VFP codec written from the document alone, then the real binaries
spoken to with it over raw ZMTP (tests/controller/zmtp.py, NULL mechanism,
everything --insecure on loopback):

- section 10's worked examples, byte for byte, both ways;
- section 5's largest encodings, computed by this codec;
- vfleet-controller as a fake agent: HELLO/WELCOME, INVENTORY and
  INVENTORY_DELTA (then read back through the admin API), HEARTBEAT,
  every decoding rule of section 6 and limit of section 5 the controller
  enforces, the answers of 7.6, the conversations of 7.1 to 7.4 (the
  APPLY a policy makes, drift), the versioning rules of section 9, the
  envelopes and frame limits of section 1, a host going down and coming
  back (7.2, a second controller with a short interval);
- vfleet-controller as an admin client, DEALER and REQ envelopes
  (section 1, also for an answer that waits: vm.create --wait),
  REQUEST/REPLY (7.5) and the error codes of section 8;
- vfleetctl against a fake admin endpoint (7.5, section 1);
- vfleet-agent (--kernel sim on a generated tree, never this machine's
  kernel) against a fake controller: HELLO and ERROR VERSION, WELCOME, the
  full INVENTORY, HEARTBEAT, APPLY and APPLY_RESULT (4.6, 4.7, 7.4),
  revisions in serial-number arithmetic, drift deltas, ERROR RESYNC,
  DENIED, what it never answers (7.6) and its frame limit.

Every message the binaries send is decoded by this file's strict
decoder, so a rule of the document that the C codec does not keep (or
keeps differently) fails here even though the C tests share the codec.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
SRC = os.environ.get("VFLEET_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "controller"))
import e2e  # noqa: E402  (set_vlan_behind)
import zmtp  # noqa: E402

BIN = os.environ["VFLEET_BINARY_DIR"]
CONTROLLER = os.path.join(BIN, "controller", "vfleet-controller")
AGENT = os.path.join(BIN, "agent", "vfleet-agent")
MKTREE = os.path.join(SRC, "tests", "fixtures", "mktree.py")
WORK = os.path.join(BIN, "tests", "proto", "protocol-doc")
checks = 0

# ---- the codec, from PROTOCOL.md sections 2 to 5 -------------------------

SIGNATURE = 0x5646
HELLO, WELCOME, INVENTORY, DELTA, HEARTBEAT, APPLY, APPLY_RESULT, ERROR, \
    REQUEST, REPLY = range(1, 11)
CODES = ["OK", "MALFORMED", "VERSION", "UNEXPECTED", "NOT_WELCOME", "DENIED",
         "RESYNC", "INVALID", "NOT_FOUND", "CONFLICT", "INTERNAL",
         "UNKNOWN_VERB"]
MSG_MAX = 16777216
BODY_MAX = 4194304


class Malformed(Exception):
    """A message that does not decode: the field path and the reason."""


def s_hostname_error(name):
    """Why name is not an RFC 1123 host name (4.1), or None."""
    if not 1 <= len(name) <= 253:
        return "length %d" % len(name)
    for label in name.split(b"."):
        if not 1 <= len(label) <= 63:
            return "label length %d" % len(label)
        if label[:1] == b"-" or label[-1:] == b"-":
            return "label starts or ends with -"
        for c in label:
            if not (chr(c).isascii() and (chr(c).isalnum() or c == 0x2d)):
                return "byte 0x%02x" % c
    return None


def s_utf8_error(raw):
    if b"\0" in raw:
        return "contains 0x00"
    try:
        raw.decode("utf-8", errors="strict")  # Python refuses surrogates,
    except UnicodeDecodeError as e:           # overlong forms, > U+10FFFF
        return "not UTF-8: %s" % e.reason
    return None


# A type is 'u8' .. 'u64', 'i16', 'i32', 'bool', 'mac', ('enum', LAST)
# (0..LAST), ('enum1', LAST) (1..LAST), ('str', LIMIT, REQUIRED), 'host',
# ('long', LIMIT), ('list', MAX, ITEM) or a struct: a list of
# (name, type, rule); a rule is fn(value, obj, parents) -> reason or None.
INTS = {"u8": ">B", "u16": ">H", "u32": ">I", "u64": ">Q", "i16": ">h",
        "i32": ">i"}


def s_at_least(low):
    return lambda v, o, p: None if v >= low else "%d < %d" % (v, low)


def s_unique(key):
    def rule(items, o, p):
        seen = [i[key] if isinstance(key, str) else tuple(i[k] for k in key)
                for i in items]
        return None if len(seen) == len(set(seen)) else "%s repeated" % (key,)
    return rule


def s_vfs_rule(vfs, pf, parents):
    total = pf["total_vfs"]
    if [v["index"] for v in vfs] != sorted({v["index"] for v in vfs}):
        return "indexes not strictly increasing"
    if total and len(vfs) > total:
        return "%d VFs, total_vfs %d" % (len(vfs), total)
    return None


def s_host_vfs_rule(pfs, o, p):
    n = sum(len(pf["vfs"]) for pf in pfs)
    return None if n <= 16384 else "%d VFs in all PFs" % n


def s_both(*rules):
    def rule(v, o, p):
        for r in rules:
            reason = r(v, o, p)
            if reason:
                return reason
        return None
    return rule


HUGEPAGES = [("size_kb", "u32", s_at_least(1)), ("total", "u64", None),
             ("free", "u64", None)]
HOST = [("hostname", "host", None), ("boot_id", ("str", 64, False), None),
        ("kernel", ("str", 64, False), None),
        ("cpu_virt", ("enum", 2), None), ("iommu_ready", "bool", None),
        ("iommu_units", "u16", None), ("iommu_groups", "u32", None),
        ("iommu_cmdline", ("str", 1024, False), None),
        ("reasons", ("list", 16, ("str", 1024, True)), None),
        ("mem_total_kb", "u64", None), ("mem_available_kb", "u64", None),
        ("hugepages", ("list", 8, HUGEPAGES), s_unique("size_kb"))]
VF = [("index", "u16",
       lambda v, o, p: None if not p[-1]["total_vfs"] or
       v < p[-1]["total_vfs"] else "%d >= total_vfs" % v),
      ("pci_addr", ("str", 32, False), None),
      ("iommu_group", "i32", s_at_least(-1)),
      ("iommu_isolated", "bool", None), ("driver", ("str", 64, False), None),
      ("mac", "mac", None),
      ("vlan", "u16", lambda v, o, p: None if v <= 4095 else "%d" % v),
      ("qos", "u8", lambda v, o, p: None if v <= 7 else "%d" % v),
      ("vlan_proto", "u16", lambda v, o, p: None if v in (0, 0x8100, 0x88a8)
       else "0x%x" % v),
      ("spoofchk", ("enum", 2), None), ("trust", ("enum", 2), None),
      ("link_state", ("enum", 2), None), ("min_tx_rate", "u32", None),
      ("max_tx_rate", "u32", None), ("settings_known", "bool", None),
      ("in_use", "bool", None), ("note", ("str", 512, False), None)]
PF = [("pci_addr", ("str", 32, True), None),
      ("ifname", ("str", 64, False), None),
      ("driver", ("str", 64, False), None),
      ("vf_driver", ("str", 64, False), None), ("vendor_id", "u16", None),
      ("device_id", "u16", None), ("numa_node", "i16", s_at_least(-1)),
      ("link_speed", "u32", None), ("link_up", "bool", None),
      ("total_vfs", "u16", None),
      ("num_vfs", "u16", lambda v, o, p: None if not o["total_vfs"] or
       v <= o["total_vfs"] else "%d > total_vfs" % v),
      ("note", ("str", 1024, False), None),
      ("vfs", ("list", 1024, VF), s_vfs_rule)]
APPLY_VF_BITS = {"mac": 0x01, "vlan": 0x02, "qos": 0x02, "vlan_proto": 0x02,
                 "spoofchk": 0x04, "trust": 0x08, "link_state": 0x10,
                 "min_tx_rate": 0x20, "max_tx_rate": 0x20, "mtu": 0x40}


def s_set_field(name, check):
    """An APPLY_VF setting: zero when its bit of set is clear, else check."""
    def rule(v, o, p):
        if not o["set"] & APPLY_VF_BITS[name]:
            zero = v == b"\0" * 6 if name == "mac" else v == 0
            return None if zero else "set but its bit is clear"
        return check(v, o) if check else None
    return rule


APPLY_VF = [
    ("pf", ("str", 32, True), None), ("index", "u16", None),
    ("set", "u16", lambda v, o, p: None if not v & ~0x7f else "0x%x" % v),
    ("mac", "mac", s_set_field("mac", lambda v, o: "multicast"
                               if v[0] & 1 else None)),
    ("vlan", "u16", s_set_field("vlan", lambda v, o: None if v <= 4094
                                else "%d" % v)),
    ("qos", "u8", s_set_field("qos", lambda v, o: None if v <= 7
                              else "%d" % v)),
    ("vlan_proto", "u16", s_set_field(
        "vlan_proto", lambda v, o: None if v in (0x8100, 0x88a8)
        else "0x%x" % v)),
    ("spoofchk", ("enum", 1), s_set_field("spoofchk", None)),
    ("trust", ("enum", 1), s_set_field("trust", None)),
    ("link_state", ("enum", 2), s_set_field("link_state", None)),
    ("min_tx_rate", "u32", s_set_field("min_tx_rate", None)),
    ("max_tx_rate", "u32", s_set_field(
        "max_tx_rate", lambda v, o: None if not v or o["min_tx_rate"] <= v
        else "min_tx_rate over it")),
    ("mtu", "u16", s_set_field("mtu", lambda v, o: None if v >= 68
                               else "%d" % v))]
RESULT = [("kind", ("enum1", 3), None),
          ("pf", ("str", 32, False),
           lambda v, o, p: None if (o["kind"] == 3) == (v == b"")
           else "required for kind 1 and 2, empty for 3"),
          ("index", "u16", lambda v, o, p: None if o["kind"] == 2 or v == 0
           else "not 0"),
          ("attribute", ("str", 16, False), None),
          ("err", "i32", s_at_least(0)),
          ("message", ("str", 80, False), None)]


def s_removed_rule(removed, o, p):
    if len(set(removed)) != len(removed):
        return "repeated"
    if set(removed) & {pf["pci_addr"] for pf in o["pfs"]}:
        return "also in pfs"
    return None


BODIES = {
    HELLO: [("hostname", "host", None),
            ("agent_version", ("str", 64, False), None),
            ("boot_id", ("str", 64, False), None),
            ("proto_min", "u8", s_at_least(1)),
            ("proto_max", "u8", lambda v, o, p: None if v >= o["proto_min"]
             else "below proto_min")],
    WELCOME: [("proto_version", "u8", s_at_least(1)),
              ("heartbeat_ms", "u32", s_at_least(1)),
              ("controller_id", ("str", 64, False), None)],
    INVENTORY: [("generation", "u64", None), ("host", HOST, None),
                ("pfs", ("list", 256, PF),
                 s_both(s_unique("pci_addr"), s_host_vfs_rule))],
    DELTA: [("base_generation", "u64", None),
            ("generation", "u64", lambda v, o, p: None
             if v > o["base_generation"] else "not above base_generation"),
            ("has_host", "bool", None), ("host", ("opt", HOST), None),
            ("pfs", ("list", 256, PF),
             s_both(s_unique("pci_addr"), s_host_vfs_rule)),
            ("removed", ("list", 256, ("str", 32, True)), s_removed_rule)],
    HEARTBEAT: [("generation", "u64", None),
                ("applied_revision", "u64", None)],
    APPLY: [("revision", "u64", None),
            ("pfs", ("list", 256, [("pf", ("str", 32, True), None),
                                   ("num_vfs", "u16", None)]),
             s_unique("pf")),
            ("vfs", ("list", 16384, APPLY_VF), s_unique(("pf", "index"))),
            ("hugepages", ("list", 8, [("size_kb", "u32", s_at_least(1)),
                                       ("pages", "u64", None)]),
             s_unique("size_kb"))],
    APPLY_RESULT: [("revision", "u64", None),
                   ("results", ("list", 114952, RESULT), None)],
    ERROR: [("code", "u16", lambda v, o, p: None if 1 <= v <= 11
             else "%d" % v),
            ("text", ("str", 1024, False), None)],
    REQUEST: [("verb", ("str", 64, True), None),
              ("params", ("list", 32, [("key", ("str", 64, True), None),
                                       ("value", ("str", 1024, False),
                                        None)]), s_unique("key")),
              ("body", ("long", BODY_MAX), None)],
    REPLY: [("status", "u16", lambda v, o, p: None if v <= 11 else "%d" % v),
            ("error", ("str", 1024, False), None),
            ("body", ("long", BODY_MAX), None)],
}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n, path):
        if self.pos + n > len(self.data):
            raise Malformed("%s: truncated" % path)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def value(self, t, path, obj, parents):
        if isinstance(t, list):
            return self.struct(t, path, parents)
        if isinstance(t, str) and t in INTS:
            size = struct.calcsize(INTS[t])
            return struct.unpack(INTS[t], self.take(size, path))[0]
        if t == "bool":
            v = self.take(1, path)[0]
            if v > 1:
                raise Malformed("%s: bool %d" % (path, v))
            return v
        if t == "mac":
            return self.take(6, path)
        if t == "host":
            raw = self.value(("str", 253, True), path, obj, parents)
            reason = s_hostname_error(raw)
            if reason:
                raise Malformed("%s: not a host name: %s" % (path, reason))
            return raw
        kind = t[0]
        if kind in ("enum", "enum1"):
            v = self.take(1, path)[0]
            if v > t[1] or (kind == "enum1" and v == 0):
                raise Malformed("%s: enum %d" % (path, v))
            return v
        if kind in ("str", "long"):
            n = struct.unpack(">H" if kind == "str" else ">I",
                              self.take(2 if kind == "str" else 4, path))[0]
            if n > t[1]:
                raise Malformed("%s: %d bytes over %d" % (path, n, t[1]))
            raw = self.take(n, path)
            if kind == "str" and t[2] and not raw:
                raise Malformed("%s: required" % path)
            reason = s_utf8_error(raw)
            if reason:
                raise Malformed("%s: %s" % (path, reason))
            return raw
        if kind == "list":
            n = struct.unpack(">I", self.take(4, path))[0]
            if n > t[1]:
                raise Malformed("%s: %d items over %d" % (path, n, t[1]))
            return [self.value(t[2], "%s[%d]" % (path, i), obj, parents)
                    for i in range(n)]
        if kind == "opt":
            return self.struct(t[1], path, parents) if obj["has_host"] \
                else None
        raise AssertionError(t)

    def struct(self, fields, path, parents):
        obj = {}
        for name, t, rule in fields:
            sub = "%s.%s" % (path, name)
            obj[name] = self.value(t, sub, obj, parents + [obj])
            reason = rule and rule(obj[name], obj, parents)
            if reason:
                raise Malformed("%s: %s" % (sub, reason))
        return obj


def decode(data, speaks=(1,)):
    """The message as (version, msg_id, request_id, body dict), or raises
    Malformed (section 6's rules in their order)."""
    if len(data) < 2 or struct.unpack(">H", data[:2])[0] != SIGNATURE:
        raise Malformed("signature")
    if len(data) >= 3 and data[2] not in speaks:
        raise Malformed("version %d" % data[2])
    if len(data) > MSG_MAX:
        raise Malformed("size")
    if len(data) < 8 or data[3] not in BODIES:
        raise Malformed("header or msg_id")
    _, version, msg_id, rid = struct.unpack(">HBBI", data[:8])
    r = Reader(data[8:])
    body = r.struct(BODIES[msg_id], "msg%d" % msg_id, [])
    if r.pos != len(r.data):
        raise Malformed("%d trailing bytes" % (len(r.data) - r.pos))
    return version, msg_id, rid, body


def s_write(t, v):
    if isinstance(t, list):
        return b"".join(s_write(ft, v[name]) for name, ft, _ in t)
    if isinstance(t, str) and t in INTS:
        return struct.pack(INTS[t], v)
    if t == "bool" or t[0] in ("enum", "enum1"):
        return bytes([v])
    if t == "mac":
        return bytes(v)
    if t == "host" or t[0] in ("str", "long"):
        raw = v.encode() if isinstance(v, str) else v
        return struct.pack(">I" if t != "host" and t[0] == "long" else ">H",
                           len(raw)) + raw
    if t[0] == "list":
        return struct.pack(">I", len(v)) + b"".join(s_write(t[2], i)
                                                   for i in v)
    if t[0] == "opt":
        return b"" if v is None else s_write(t[1], v)
    raise AssertionError(t)


def encode(msg_id, rid, body, version=1):
    """Writes whatever body says, checking nothing (so that a test can
    send what breaks a rule)."""
    return struct.pack(">HBBI", SIGNATURE, version, msg_id, rid) + \
        s_write(BODIES[msg_id], body)


# ---- checks ---------------------------------------------------------------

def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    for name in sorted(os.listdir(WORK)):
        if name.endswith(".log"):
            with open(os.path.join(WORK, name), errors="replace") as f:
                sys.stderr.write("---- %s (last lines)\n%s" %
                                 (name, "".join(f.readlines()[-30:])))
    raise SystemExit(1)


def check(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


# ---- section 10: the worked examples --------------------------------------

HEARTBEAT_EXAMPLE = bytes.fromhex(
    "5646010500000007" "000000000000012c" "0000000000000003")
HELLO_EXAMPLE = bytes.fromhex(
    "5646010100000001" "00056e6f646531" "0005302e312e30" "0000" "01" "01")


def check_examples():
    check(encode(HEARTBEAT, 7, {"generation": 300, "applied_revision": 3})
          == HEARTBEAT_EXAMPLE and len(HEARTBEAT_EXAMPLE) == 24,
          "10: HEARTBEAT encodes to the example's 24 bytes")
    check(decode(HEARTBEAT_EXAMPLE) == (1, HEARTBEAT, 7, {
        "generation": 300, "applied_revision": 3}),
        "10: the HEARTBEAT example decodes to its fields")
    hello = {"hostname": b"node1", "agent_version": b"0.1.0", "boot_id": b"",
             "proto_min": 1, "proto_max": 1}
    check(encode(HELLO, 1, hello) == HELLO_EXAMPLE and
          len(HELLO_EXAMPLE) == 26, "10: HELLO encodes to the example's 26 "
          "bytes")
    check(decode(HELLO_EXAMPLE) == (1, HELLO, 1, hello),
          "10: the HELLO example decodes to its fields")


def s_max(n):
    return "x" * n


def s_max_host():
    return host(name=".".join([s_max(63)] * 3 + [s_max(61)]),
                boot_id=s_max(64), kernel=s_max(64),
                iommu_cmdline=s_max(1024), reasons=[s_max(1024)] * 16,
                hugepages=[{"size_kb": i + 1, "total": 0, "free": 0}
                           for i in range(8)])


def check_sizes():
    """Section 5's table of largest encodings, from this codec."""
    size = {}
    size[HELLO] = len(encode(HELLO, 0, hello_body(
        s_max_host()["hostname"]) | {"agent_version": s_max(64),
                                     "boot_id": s_max(64)}))
    size[WELCOME] = len(encode(WELCOME, 0, {
        "proto_version": 1, "heartbeat_ms": 1, "controller_id": s_max(64)}))
    host_len = len(s_write(HOST, s_max_host()))
    vf_len = len(s_write(VF, vf(0, pci_addr=s_max(32), driver=s_max(64),
                                note=s_max(512))))
    pf_len = len(s_write(PF, pf(s_max(32), vfs=[], ifname=s_max(64),
                                driver=s_max(64), vf_driver=s_max(64),
                                note=s_max(1024))))
    size[INVENTORY] = 8 + 8 + host_len + 4 + 256 * pf_len + 16384 * vf_len
    size[DELTA] = size[INVENTORY] + 8 + 1 + 4 + 256 * (2 + 32)
    size[HEARTBEAT] = len(HEARTBEAT_EXAMPLE)
    avf = apply_vf(s_max(32), 0)
    size[APPLY] = len(encode(APPLY, 0, s_apply(
        0, [avf] * 16384, [(s_max(32), 0)] * 256, [(1, 0)] * 8)))
    result = {"kind": 2, "pf": s_max(32), "index": 0, "attribute": s_max(16),
              "err": 0, "message": s_max(80)}
    size[APPLY_RESULT] = 8 + 8 + 4 + 114952 * len(s_write(RESULT, result))
    size[ERROR] = len(encode(ERROR, 0, {"code": 1, "text": s_max(1024)}))
    size[REQUEST] = len(s_max_request(0))
    size[REPLY] = len(encode(REPLY, 0, {"status": 0, "error": s_max(1024),
                                        "body": ""})) + BODY_MAX
    table = {HELLO: 397, WELCOME: 79, INVENTORY: 10912633,
             DELTA: 10921350, HEARTBEAT: 24, APPLY: 1025148,
             APPLY_RESULT: 16208252, ERROR: 1036, REQUEST: 4229330,
             REPLY: 4195344}
    for msg_id, want in table.items():
        check(size[msg_id] == want and want <= MSG_MAX,
              "5: the largest message %d encodes to %d bytes (table: %d), "
              "within VFP_MSG_MAX" % (msg_id, size[msg_id], want))
    check(vf_len == 645 and pf_len == 1277 and host_len == 18021,
          "5: a VF costs at most 645 bytes, a PF without VFs 1,277, host "
          "facts 18,021 (%d, %d, %d)" % (vf_len, pf_len, host_len))


def s_max_request(rid):
    """The largest REQUEST (VFP_REQUEST_MSG_MAX bytes)."""
    return encode(REQUEST, rid, {
        "verb": s_max(64), "params": [{"key": "k%063d" % i,
                                       "value": s_max(1024)}
                                      for i in range(32)],
        "body": s_max(BODY_MAX)})


# ---- sample messages ------------------------------------------------------

def vf(index, **kw):
    out = {"index": index, "pci_addr": "0000:3b:10.%d" % index,
           "iommu_group": 40 + index, "iommu_isolated": 1,
           "driver": "vfio-pci", "mac": struct.pack(">HI", 0x200, index + 1),
           "vlan": 0, "qos": 0, "vlan_proto": 0x8100, "spoofchk": 1,
           "trust": 0, "link_state": 0, "min_tx_rate": 0, "max_tx_rate": 0,
           "settings_known": 1, "in_use": 0, "note": ""}
    out.update(kw)
    return out


def pf(pci="0000:3b:00.0", vfs=None, **kw):
    out = {"pci_addr": pci, "ifname": "ens1f0", "driver": "ixgbe",
           "vf_driver": "ixgbevf", "vendor_id": 0x8086, "device_id": 0x10fb,
           "numa_node": 0, "link_speed": 10000, "link_up": 1, "total_vfs": 8,
           "num_vfs": 2, "note": "",
           "vfs": [vf(0), vf(1)] if vfs is None else vfs}
    out.update(kw)
    return out


def host(name="node1", **kw):
    out = {"hostname": name, "boot_id": "b-1", "kernel": "6.1.0-test",
           "cpu_virt": 1, "iommu_ready": 1, "iommu_units": 1,
           "iommu_groups": 20, "iommu_cmdline": "intel_iommu=on",
           "reasons": [], "mem_total_kb": 67108864,
           "mem_available_kb": 62914560,
           "hugepages": [{"size_kb": 2048, "total": 10, "free": 5}]}
    out.update(kw)
    return out


def inventory(generation=5, **kw):
    out = {"generation": generation, "host": host(), "pfs": [pf()]}
    out.update(kw)
    return out


def delta(base, generation, pfs=(), removed=(), new_host=None):
    return {"base_generation": base, "generation": generation,
            "has_host": 1 if new_host else 0, "host": new_host,
            "pfs": list(pfs), "removed": list(removed)}


def hello_body(name="node1", lo=1, hi=1):
    return {"hostname": name, "agent_version": "0.1.0", "boot_id": "b-1",
            "proto_min": lo, "proto_max": hi}


def apply_vf(pci, index, **kw):
    out = {"pf": pci, "index": index, "set": 0, "mac": b"\0" * 6, "vlan": 0,
           "qos": 0, "vlan_proto": 0, "spoofchk": 0, "trust": 0,
           "link_state": 0, "min_tx_rate": 0, "max_tx_rate": 0, "mtu": 0}
    out.update(kw)
    return out


# ---- raw ZMTP peers -------------------------------------------------------

def s_ready(conn, socket_type):
    """Greets as a NULL peer of socket_type and reads the other's READY."""
    conn.sock.sendall(zmtp.greeting(b"NULL"))
    conn.exact(64)
    conn.sock.sendall(zmtp.frame(b"\x05READY" + zmtp.prop(b"Socket-Type",
                                                          socket_type),
                                 command=True))
    while True:
        flags, body = conn.recv_frame()
        if flags & 4 and body.startswith(b"\x05READY"):
            return


class Peer:
    """One raw ZMTP connection speaking VFP frames."""

    def __init__(self, address=None, socket_type=b"DEALER", conn=None):
        self.conn = conn or zmtp.Conn(address, mechanism=None)
        if conn is None:
            s_ready(self.conn, socket_type)

    def send(self, data, envelope=()):
        frames = list(envelope) + [data]
        self.conn.sock.sendall(b"".join(
            zmtp.frame(f, more=i < len(frames) - 1)
            for i, f in enumerate(frames)))

    def frames(self, timeout=5):
        """The frames of the next message, answering ZMTP PINGs."""
        self.conn.sock.settimeout(timeout)
        out = []
        while True:
            flags, body = self.conn.recv_frame()
            if flags & 4:
                if body.startswith(b"\x04PING"):
                    self.conn.sock.sendall(zmtp.frame(b"\x04PONG" + body[7:],
                                                      command=True))
                continue
            out.append(body)
            if not flags & 1:
                return out

    def recv(self, timeout=5):
        """The next message, one frame, decoded strictly."""
        frames = self.frames(timeout)
        check(len(frames) == 1, "1: a message is exactly one frame")
        try:
            version, msg_id, rid, body = decode(frames[0])
        except Malformed as e:
            fail("a message the binary sent does not decode: %s (%r)" %
                 (e, frames[0][:80]))
        check(encode(msg_id, rid, body, version) == frames[0],
              "6: the encoding is canonical: what decodes re-encodes to "
              "the same bytes")
        return version, msg_id, rid, body

    def ask(self, data, envelope=()):
        self.send(data, envelope)
        return self.recv()

    def closed_within(self, timeout):
        """True when the other side closes the connection in time; what
        arrives meanwhile is dropped, PINGs answered (so that the close is
        not a ZMTP heartbeat's timeout)."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self.frames(max(0.05, deadline - time.time()))
        except socket.timeout:
            return False
        except (EOFError, OSError):
            return True
        return False

    def close(self):
        self.conn.close()


def expect_error(peer, data, rid, code, what, field=None):
    """data is answered ERROR code with rid, encoded in version 1, its text
    naming field."""
    version, msg_id, got_rid, body = peer.ask(data)
    text = body.get("text", b"").decode()
    check(version == 1 and msg_id == ERROR and got_rid == rid and
          body["code"] == CODES.index(code) and
          (field is None or field in text),
          "%s: ERROR %s, request_id %d%s (got msg %d, request_id %d, %s)" %
          (what, code, rid, ", naming %s" % field if field else "", msg_id,
           got_rid, body))
    return text


PROBE_RID = 0x7fff0000


def silent(peer, data, what, probe):
    """data gets no answer: the next answer is the probe's. Returns the
    probe's answer (the session's state after data)."""
    global PROBE_RID
    PROBE_RID += 1
    peer.send(data)
    answer = peer.ask(encode(probe[0], PROBE_RID, probe[1]))
    check(answer[2] == PROBE_RID, "%s: not answered (got %s)" %
          (what, answer))
    return answer


def error_code(answer):
    return CODES[answer[3]["code"]] if answer[1] == ERROR else None


# ---- the controller -------------------------------------------------------

WELCOME_PROBE = (WELCOME, {"proto_version": 1, "heartbeat_ms": 1,
                           "controller_id": "probe"})
HEARTBEAT_PROBE = (HEARTBEAT, {"generation": 0, "applied_revision": 0})


class Controller:
    def __init__(self, name="state", heartbeat="10s", extra=()):
        self.port = e2e.free_port()
        self.state = os.path.join(WORK, name)
        self.admin_path = os.path.join(self.state, "admin.sock")
        conf = os.path.join(WORK, "empty.conf")
        open(conf, "w").close()
        self.proc = subprocess.Popen(
            [CONTROLLER, "--config", conf, "--insecure", "--state-dir",
             self.state, "--agents", "tcp://127.0.0.1:%d" % self.port,
             "--admin", "ipc://" + self.admin_path, "--heartbeat-interval",
             heartbeat, "--peer-rate", "100000", "--admin-rate", "100000",
             "--log-level", "debug"] + list(extra),
            stderr=open(os.path.join(WORK, "%s-controller.log" % name), "w"))
        deadline = time.time() + 15
        while True:
            try:
                self.admin = Peer(self.admin_path)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    fail("the controller's admin socket does not open")
                time.sleep(0.1)
        self.rid = 100

    def agent(self):
        return Peer(("127.0.0.1", self.port))

    def welcomed(self, name="node1"):
        a = self.agent()
        answer = a.ask(encode(HELLO, 1, hello_body(name)))
        check(answer[1] == WELCOME, "7.1: HELLO from %s answered WELCOME" %
              name)
        return a

    def request(self, verb, params=(), body=b"", peer=None):
        self.rid += 1
        answer = (peer or self.admin).ask(encode(REQUEST, self.rid, {
            "verb": verb, "params": [{"key": k, "value": v}
                                     for k, v in params], "body": body}))
        check(answer[:3] == (1, REPLY, self.rid),
              "7.5: REQUEST %s answered REPLY, version 1, same request_id" %
              verb)
        return answer[3]

    def json(self, verb, *params):
        reply = self.request(verb, params)
        if reply["status"] != 0:
            fail("%s %s: %s %s" % (verb, params, CODES[reply["status"]],
                                   reply["error"]))
        check(reply["error"] == b"", "4.10: REPLY error empty with OK")
        return json.loads(reply["body"])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def check_join(ctl):
    a = ctl.agent()
    frames = (a.send(HELLO_EXAMPLE), a.frames())[1]
    check(len(frames) == 1 and frames[0][:8] == bytes.fromhex(
        "5646010200000001"), "10: the example HELLO is answered with a "
        "WELCOME whose header is 56 46 01 02 00 00 00 01")
    _, _, _, welcome = decode(frames[0])
    check(welcome["proto_version"] == 1 and welcome["heartbeat_ms"] == 10000,
          "4.2: WELCOME proto_version 1, heartbeat_ms as "
          "--heartbeat-interval says (%s)" % welcome)
    a.send(encode(INVENTORY, 2, inventory()))
    answer = silent(a, encode(HEARTBEAT, 3, {"generation": 5,
                                             "applied_revision": 0}),
                    "7.2: a HEARTBEAT at the stored generation",
                    WELCOME_PROBE)
    check(error_code(answer) == "UNEXPECTED", "7.6 rule 6: WELCOME sent to "
          "the agents endpoint is UNEXPECTED")
    hosts = ctl.json("hosts")["hosts"]
    node = [h for h in hosts if h["name"] == "node1"]
    check(node and node[0]["generation"] == 5 and
          node[0]["kernel"] == "6.1.0-test" and node[0]["cpu_virt"] == "vmx"
          and node[0]["agent_version"] == "0.1.0" and
          node[0]["proto_version"] == 1 and node[0]["vfs"] == 2 and
          node[0]["memory"]["total_kb"] == 67108864,
          "4.3/7.1: the INVENTORY is visible through the admin API (%s)" %
          node)
    vfs = ctl.json("vfs", ("host", "node1"))["vfs"]
    check([(v["index"], v["mac"], v["vlan_proto"], v["spoofchk"])
           for v in vfs] == [(0, "02:00:00:00:00:01", 0x8100, "on"),
                             (1, "02:00:00:00:00:02", 0x8100, "on")],
          "4.3: VF mac, vlan_proto and spoofchk stored as sent (%s)" % vfs)
    note = "d\u00e9j\u00e0 \u20ac \U0001f600"
    silent(a, encode(INVENTORY, 4, inventory(pfs=[pf(note=note, vfs=[
        vf(0, mac=b"\x01\x80\xc2\0\0\0"), vf(1)])])),
        "2/4.3: UTF-8 text of 2 to 4 bytes a character and a multicast VF "
        "MAC decode", WELCOME_PROBE)
    p = ctl.json("pfs", ("host", "node1"))["pfs"][0]
    v = ctl.json("vfs", ("host", "node1"))["vfs"][0]
    check(p["note"] == note and v["mac"] == "01:80:c2:00:00:00",
          "2/4.3: the text and the MAC are stored as sent")
    a.send(encode(WELCOME_PROBE[0], 5, WELCOME_PROBE[1]), envelope=[b""])
    frames = a.frames()
    check(len(frames) == 2 and frames[0] == b"" and
          decode(frames[1])[1:3] == (ERROR, 5),
          "1: on the agents endpoint too, an empty first frame is a "
          "delimiter, and the answer carries it (%r)" % frames)
    d = ctl.agent()
    d.send(encode(HELLO, 6, hello_body("node3")), envelope=[b""])
    frames = d.frames()
    check(len(frames) == 2 and frames[0] == b"" and
          decode(frames[1])[1:3] == (WELCOME, 6),
          "1: a HELLO after an empty frame is answered [empty][WELCOME]")
    d.close()
    return a


def check_deltas(ctl, a):
    changed = pf(vfs=[vf(0), vf(1, vlan=100, qos=3)])
    silent(a, encode(DELTA, 10, delta(5, 6, [changed])),
           "7.3: an INVENTORY_DELTA on the stored generation", WELCOME_PROBE)
    vfs = ctl.json("vfs", ("host", "node1"))["vfs"]
    check(vfs[1]["vlan"] == 100 and vfs[1]["qos"] == 3,
          "7.3: the delta's PF replaces the stored one")
    expect_error(a, encode(DELTA, 11, delta(5, 9, [pf()])), 11, "RESYNC",
                 "7.3: a delta on a generation the controller does not hold")
    check(ctl.json("host", ("name", "node1"))["host"]["generation"] == 6,
          "7.3: a refused delta is not applied")
    expect_error(a, encode(HEARTBEAT, 12, {"generation": 8,
                                           "applied_revision": 0}),
                 12, "RESYNC", "7.2: a HEARTBEAT at another generation")
    second = pf("0000:3b:00.1", ifname="ens1f1")
    expect_error(a, encode(DELTA, 13, delta(6, 7, [second])), 13, "RESYNC",
                 "7.3: after a HEARTBEAT answered RESYNC, a delta waits for "
                 "the full INVENTORY")
    silent(a, encode(INVENTORY, 13, inventory(generation=6, pfs=[changed])),
           "7.3: the full INVENTORY asked for", WELCOME_PROBE)
    silent(a, encode(DELTA, 13, delta(6, 7, [second],
                                      new_host=host(kernel="6.2.0"))),
           "7.3: a delta with host facts and a new PF", WELCOME_PROBE)
    h = ctl.json("host", ("name", "node1"))["host"]
    check(h["kernel"] == "6.2.0" and h["pfs"] == 2 and h["generation"] == 7,
          "7.3: has_host replaces the host facts, a new PF is added")
    silent(a, encode(DELTA, 14, delta(7, 9, removed=["0000:3b:00.1"])),
           "7.3: a delta removing a PF (generations need not be "
           "contiguous)", WELCOME_PROBE)
    pfs = ctl.json("pfs", ("host", "node1"))["pfs"]
    check([p["pci_addr"] for p in pfs] == ["0000:3b:00.0"],
          "7.3: a PF in removed is gone")
    silent(a, encode(INVENTORY, 15, inventory(generation=3)),
           "7.3: a full INVENTORY at a lower generation", WELCOME_PROBE)
    h = ctl.json("host", ("name", "node1"))["host"]
    check(h["generation"] == 3 and h["kernel"] == "6.1.0-test",
          "7.3: a full INVENTORY replaces everything")
    for what, body in [
            ("a HOST hostname that is not the session's host",
             inventory(generation=8, host=host(name="other"))),
            ("more VFs listed than num_vfs",
             inventory(generation=8, pfs=[pf(num_vfs=1)]))]:
        expect_error(a, encode(INVENTORY, 17, body), 17, "INVALID",
                     "7.3: an INVENTORY with %s" % what)
        expect_error(a, encode(DELTA, 18, delta(3, 8, body["pfs"],
                                                new_host=body["host"])),
                     18, "INVALID", "7.3: a delta with %s" % what)
    check(ctl.json("host", ("name", "node1"))["host"]["generation"] == 3,
          "7.3: nothing of a refused inventory is stored")
    silent(a, encode(APPLY_RESULT, 16, {"revision": 1, "results": [
        {"kind": 1, "pf": "0000:3b:00.0", "index": 0, "attribute": "num_vfs",
         "err": 0, "message": ""}]}),
        "7.4: an APPLY_RESULT is stored, not answered", WELCOME_PROBE)


def s_inv(mutate, generation=3):
    body = inventory(generation)
    mutate(body)
    return encode(INVENTORY, 0, body)


def s_set(obj, **kw):
    obj.update(kw)


# What breaks a rule of sections 4 to 6 in an INVENTORY: (what, field the
# answer names, the body's mutation).
INVENTORY_CASES = [
    ("a bool of 2", "iommu_ready",
     lambda b: s_set(b["host"], iommu_ready=2)),
    ("cpu_virt 3", "cpu_virt", lambda b: s_set(b["host"], cpu_virt=3)),
    ("a kernel of 65 bytes", "kernel",
     lambda b: s_set(b["host"], kernel="k" * 65)),
    ("17 reasons", "reasons", lambda b: s_set(b["host"], reasons=["r"] * 17)),
    ("an empty reason", "reasons", lambda b: s_set(b["host"], reasons=[""])),
    ("hugepages size_kb 0", "size_kb", lambda b: s_set(
        b["host"], hugepages=[{"size_kb": 0, "total": 1, "free": 1}])),
    ("two pools of one size", "hugepages", lambda b: s_set(
        b["host"], hugepages=[{"size_kb": 2048, "total": 1, "free": 1}] * 2)),
    ("an empty pci_addr", "pci_addr",
     lambda b: s_set(b["pfs"][0], pci_addr="")),
    ("a pci_addr of 33 bytes", "pci_addr",
     lambda b: s_set(b["pfs"][0], pci_addr="0" * 33)),
    ("two PFs with one pci_addr", "pfs", lambda b: s_set(b, pfs=[pf(), pf()])),
    ("numa_node -2", "numa_node", lambda b: s_set(b["pfs"][0], numa_node=-2)),
    ("num_vfs over total_vfs", "num_vfs",
     lambda b: s_set(b["pfs"][0], num_vfs=9)),
    ("VFs out of index order", "vfs",
     lambda b: s_set(b["pfs"][0], vfs=[vf(1), vf(0)])),
    ("two VFs with one index", "vfs",
     lambda b: s_set(b["pfs"][0], vfs=[vf(1), vf(1)])),
    ("more VFs than total_vfs", "vfs", lambda b: s_set(
        b["pfs"][0], total_vfs=2, num_vfs=2, vfs=[vf(0), vf(1), vf(2)])),
    ("a VF index not below total_vfs", "index", lambda b: s_set(
        b["pfs"][0], vfs=[vf(0), vf(8)])),
    ("iommu_group -2", "iommu_group",
     lambda b: s_set(b["pfs"][0]["vfs"][0], iommu_group=-2)),
    ("vlan 4096", "vlan", lambda b: s_set(b["pfs"][0]["vfs"][0], vlan=4096)),
    ("qos 8", "qos", lambda b: s_set(b["pfs"][0]["vfs"][0], qos=8)),
    ("vlan_proto 0x9100", "vlan_proto",
     lambda b: s_set(b["pfs"][0]["vfs"][0], vlan_proto=0x9100)),
    ("spoofchk 3", "spoofchk",
     lambda b: s_set(b["pfs"][0]["vfs"][0], spoofchk=3)),
    ("trust 3", "trust", lambda b: s_set(b["pfs"][0]["vfs"][0], trust=3)),
    ("link_state 3", "link_state",
     lambda b: s_set(b["pfs"][0]["vfs"][0], link_state=3)),
    ("settings_known 2", "settings_known",
     lambda b: s_set(b["pfs"][0]["vfs"][0], settings_known=2)),
    ("a VF note of 513 bytes", "note",
     lambda b: s_set(b["pfs"][0]["vfs"][0], note="n" * 513)),
    ("a PF note of 1025 bytes", "note",
     lambda b: s_set(b["pfs"][0], note="n" * 1025)),
    ("an overlong UTF-8 form", "kernel",
     lambda b: s_set(b["host"], kernel=b"\xc0\xaf")),
    ("a UTF-8 surrogate", "kernel",
     lambda b: s_set(b["host"], kernel=b"\xed\xa0\x80")),
    ("UTF-8 above U+10FFFF", "kernel",
     lambda b: s_set(b["host"], kernel=b"\xf4\x90\x80\x80")),
    ("a truncated UTF-8 sequence", "kernel",
     lambda b: s_set(b["host"], kernel=b"a\xe2\x82")),
    ("a 0x00 byte in text", "kernel",
     lambda b: s_set(b["host"], kernel=b"a\0b")),
    ("1025 VFs in a PF", "vfs", lambda b: s_set(
        b["pfs"][0], total_vfs=0, num_vfs=0,
        vfs=[vf(i) for i in range(1025)])),
    ("257 PFs", "pfs", lambda b: s_set(
        b, pfs=[pf("0000:%02x:%02x.0" % (i >> 5, i & 31), vfs=[],
                   num_vfs=0) for i in range(257)])),
    ("16385 VFs in all PFs", "pfs", lambda b: s_set(
        b, pfs=[pf("0000:3b:00.%d" % p, total_vfs=0, num_vfs=0,
                   vfs=[vf(i) for i in range(1024 if p < 16 else 1)])
                for p in range(17)])),
]
HOSTNAME_BAD = ["", "a_b", "-a", "a-", "a.", ".a", "a..b", "a b",
                "x" * 64, ".".join(["x" * 63] * 4), "n\u00f6de", "a/b",
                "a:1", "a\nb"]
HOSTNAME_GOOD = ["123", "x" * 63, "a-b.c9", "Node1",
                 ".".join(["x" * 63] * 3 + ["x" * 61])]


# Deltas that break a rule of 4.4: (what, field named, body).
BAD_DELTAS = [
    ("generation not above base_generation", "generation",
     delta(4, 4)),
    ("removed twice", "removed",
     delta(4, 5, removed=["0000:3b:00.1", "0000:3b:00.1"])),
    ("an empty removed address", "removed", delta(4, 5, removed=[""])),
    ("a removed PF also in pfs", "removed",
     delta(4, 5, [pf()], removed=["0000:3b:00.0"])),
]


def check_agent_malformed(ctl, a):
    """Section 6 on the agents endpoint: each breach answered MALFORMED
    naming its field, with the received request_id; nothing stored; the
    session survives."""
    rid = 1000
    for what, field, mutate in INVENTORY_CASES:
        rid += 1
        data = bytearray(s_inv(mutate))
        data[4:8] = struct.pack(">I", rid)
        try:
            decode(bytes(data))
            fail("this file's decoder takes %s" % what)
        except Malformed:
            pass
        expect_error(a, bytes(data), rid, "MALFORMED",
                     "6: an INVENTORY with %s" % what, field)
    two = [pf("0000:3b:00.1"), pf(vfs=[vf(i) for i in range(3)] + [
        vf(3, vlan=4096)], num_vfs=4)]
    text = expect_error(a, encode(INVENTORY, 1050, inventory(9, pfs=two)),
                        1050, "MALFORMED", "6: the example's field path")
    check(text == "inventory.pfs[1].vfs[3].vlan: 4096 exceeds 4095",
          "6: the C decoder's text is as section 6's example (%r)" % text)
    good = inventory(generation=4, pfs=[pf(total_vfs=0, num_vfs=5,
                                           vfs=[vf(0), vf(1, vlan=4095)])])
    silent(a, encode(INVENTORY, rid + 1, good),
           "4.3: num_vfs over total_vfs 0 and vlan 4095 decode",
           WELCOME_PROBE)
    check(ctl.json("host", ("name", "node1"))["host"]["generation"] == 4,
          "6: no malformed INVENTORY was stored; the good one was")
    two = inventory(generation=9, host=host(cpu_virt=3), pfs=[pf(vfs=[
        vf(0, vlan=4096), vf(1)])])
    text = expect_error(a, encode(INVENTORY, 1090, two), 1090, "MALFORMED",
                        "6: the first field in wire order that breaks a "
                        "rule is the one reported", "cpu_virt")
    check("vlan" not in text, "6: only the first field is reported")
    two["host"]["cpu_virt"] = 1
    two["pfs"][0]["note"] = "x" * 1025
    expect_error(a, encode(INVENTORY, 1091, two), 1091, "MALFORMED",
                 "6: a PF's note comes before its VFs", "note")
    hb = encode(HEARTBEAT, 1100, {"generation": 4, "applied_revision": 0})
    expect_error(a, hb[:-1], 1100, "MALFORMED", "6 rule 5: a truncated "
                 "HEARTBEAT")
    expect_error(a, hb + b"\0", 1100, "MALFORMED", "6 rule 6: a HEARTBEAT "
                 "with a trailing byte")
    short_string = encode(INVENTORY, 1101, inventory(4))[:8 + 8 + 2 + 3]
    expect_error(a, short_string, 1101, "MALFORMED", "6 rule 5: a string "
                 "whose length runs past the end", "hostname")
    for msg_id in (0, 11, 255):
        expect_error(a, hb[:3] + bytes([msg_id]) + hb[4:], 1100,
                     "MALFORMED", "6 rule 4: msg_id %d" % msg_id)
    for what, field, body in BAD_DELTAS:
        rid += 1
        expect_error(a, encode(DELTA, rid, body), rid, "MALFORMED",
                     "4.4: a delta with %s" % what, field)
    data = encode(DELTA, rid + 1, delta(4, 5)) + b""
    with_host = bytearray(encode(DELTA, rid + 1, delta(4, 5, new_host=host())))
    with_host[8 + 16] = 0  # has_host 0, the host's bytes still there
    expect_error(a, bytes(with_host), rid + 1, "MALFORMED",
                 "4.4: host present while has_host is 0")
    silent(a, data, "4.4: a delta with nothing in it", WELCOME_PROBE)
    for name in HOSTNAME_BAD:
        rid += 1
        h = inventory(generation=9, host=host(name=name.encode()))
        expect_error(a, encode(INVENTORY, rid, h), rid, "MALFORMED",
                     "4.1: HOST hostname %r" % name[:20], "hostname")
    check(ctl.json("host", ("name", "node1"))["host"]["generation"] == 5,
          "6: the empty delta was applied, nothing else")


def check_versions_and_answers(ctl, a):
    """Sections 7.6 and 9 on the agents endpoint."""
    hb = encode(HEARTBEAT, 2000, {"generation": 5, "applied_revision": 0})
    text = expect_error(a, hb[:2] + b"\x02" + hb[3:], 2000, "VERSION",
                        "9: a session message in version 2")
    check("1..1" in text, "9: the VERSION text names the range 1..1 (%r)" %
          text)
    expect_error(a, hb[:2] + b"\x00" + hb[3:], 2000, "VERSION",
                 "9: version 0 (reserved)")
    expect_error(a, hb[:2] + b"\x02" + hb[3:8], 2000, "VERSION",
                 "6 rule 2: the version before anything but the signature "
                 "(a truncated body in version 2)")
    probe = WELCOME_PROBE
    for what, data in [
            ("an ERROR", encode(ERROR, 2001, {"code": 7, "text": "x"})),
            ("an ERROR that does not decode", encode(
                ERROR, 2002, {"code": 12, "text": "x"})),
            ("an ERROR in version 2", encode(
                ERROR, 2003, {"code": 2, "text": "x"}, version=2)),
            ("a truncated ERROR", encode(ERROR, 2004, {"code": 1,
                                                       "text": "x"})[:-1]),
            ("a message of 7 bytes", hb[:7]),
            ("a message of 1 byte", hb[:1]),
            ("a wrong signature", b"FV" + hb[2:])]:
        answer = silent(a, data, "7.6 rules 1 and 2: %s" % what, probe)
        check(error_code(answer) == "UNEXPECTED",
              "7.6: the session survives %s" % what)
    a.send(hb, envelope=[b"x"])
    answer = a.ask(encode(WELCOME_PROBE[0], 2005, WELCOME_PROBE[1]))
    check(answer[2] == 2005, "1: a ZeroMQ message of two frames is never "
          "answered")
    for msg_id, body in [
            (WELCOME, WELCOME_PROBE[1]),
            (APPLY, {"revision": 1, "pfs": [], "vfs": [], "hugepages": []}),
            (REQUEST, {"verb": "hosts", "params": [], "body": ""}),
            (REPLY, {"status": 0, "error": "", "body": "{}"})]:
        expect_error(a, encode(msg_id, 2010 + msg_id, body), 2010 + msg_id,
                     "UNEXPECTED", "7.6 rule 6: msg_id %d to the agents "
                     "endpoint" % msg_id)


def check_before_welcome(ctl):
    """7.1, 7.6 and 9 for a peer without a session, and HELLO itself."""
    hb = encode(HEARTBEAT, 2000, {"generation": 5, "applied_revision": 0})
    b = ctl.agent()
    expect_error(b, hb, 2000, "NOT_WELCOME", "7.1: a HEARTBEAT before HELLO")
    expect_error(b, encode(WELCOME_PROBE[0], 2020, WELCOME_PROBE[1]), 2020,
                 "NOT_WELCOME", "7.6: rule 5 comes before rule 6")
    expect_error(b, hb[:-1], 2000, "MALFORMED",
                 "7.6: rule 4 comes before rule 5")
    silent(b, encode(ERROR, 2021, {"code": 1, "text": "x"}),
           "7.1: an ERROR before HELLO", WELCOME_PROBE)
    for lo, hi, version in ((2, 3, 2), (2, 3, 1), (0, 1, 2)):
        text = expect_error(b, encode(HELLO, 2030, hello_body("node2", lo, hi),
                                      version=version), 2030, "VERSION",
                            "9: HELLO in version %d with range %d..%d" %
                            (version, lo, hi))
        check("1..1" in text, "9: its text names the controller's range")
    expect_error(b, encode(HELLO, 2031, hello_body("node2", 0, 1)), 2031,
                 "MALFORMED", "4.1: HELLO proto_min 0", "proto_min")
    expect_error(b, encode(HELLO, 2032, hello_body("node2", 2, 1)), 2032,
                 "MALFORMED", "4.1: HELLO proto_max below proto_min",
                 "proto_max")
    for name in HOSTNAME_BAD:
        expect_error(b, encode(HELLO, 2033, hello_body(name.encode())), 2033,
                     "MALFORMED", "4.1: HELLO hostname %r" % name[:20],
                     "hostname")
    for name in HOSTNAME_GOOD:
        c = ctl.agent()
        answer = c.ask(encode(HELLO, 2034, hello_body(name)))
        check(answer[1:3] == (WELCOME, 2034), "4.1: HELLO hostname %r is "
              "welcomed" % name[:20])
        c.close()
    names = [h["name"] for h in ctl.json("hosts")["hosts"]]
    check("Node1" in names and "node1" in names,
          "4.1: names compare byte for byte: Node1 and node1 are two hosts")
    answer = b.ask(encode(HELLO, 2040, hello_body("node2", 1, 7)))
    check(answer[:3] == (1, WELCOME, 2040) and
          answer[3]["proto_version"] == 1,
          "9: HELLO with range 1..7 gets WELCOME in version 1")
    # a new HELLO for a host forgets the old session
    c = ctl.welcomed("node2")
    expect_error(b, hb, 2000, "NOT_WELCOME", "7.1: the old session of a "
                 "host that said HELLO again is forgotten")
    b.close()
    c.close()


def check_admin_envelopes(ctl):
    """Section 1 on the admin endpoint: REQ and DEALER envelopes, and
    messages of other shapes."""
    adm = ctl.admin
    req = Peer(ctl.admin_path, b"REQ")
    data = encode(REQUEST, 0xdeadbeef, {"verb": "hosts", "params": [],
                                        "body": ""})
    req.send(data, envelope=[b""])
    frames = req.frames()
    check(len(frames) == 2 and frames[0] == b"" and
          decode(frames[1])[:3] == (1, REPLY, 0xdeadbeef),
          "1: a REQ client's REQUEST is answered [empty][REPLY]")
    req.send(encode(REQUEST, 0xdeadbef0, {"verb": "host.cordon", "params": [
        {"key": "name", "value": "node1"}], "body": ""}), envelope=[b""])
    frames = req.frames()
    check(len(frames) == 2 and frames[0] == b"" and
          decode(frames[1])[:3] == (1, REPLY, 0xdeadbef0),
          "1: a write verb (answered by the main thread) from a REQ client "
          "is answered [empty][REPLY] too (%r)" % frames)
    req.close()
    adm.send(data, envelope=[b""])
    frames = adm.frames()
    check(len(frames) == 2 and frames[0] == b"",
          "1: an empty frame first, from a DEALER, is a delimiter too")
    for what, frames in [("two frames", [b"x", data]),
                         ("an empty frame alone", [b""]),
                         ("a delimiter and two frames", [b"", data, data])]:
        adm.send(frames[-1], envelope=frames[:-1])
        answer = adm.ask(encode(HEARTBEAT, 3401, HEARTBEAT_PROBE[1]))
        check(answer[2] == 3401, "1: %s on the admin endpoint are never "
              "answered" % what)


# REQUESTs that break a rule of 4.9: (what, field named, body).
BAD_REQUESTS = [
    ("an empty verb", "verb", {"verb": "", "params": [], "body": ""}),
    ("a verb of 65 bytes", "verb", {"verb": "v" * 65, "params": [],
                                    "body": ""}),
    ("a key twice", "params", {"verb": "hosts", "params": [
        {"key": "a", "value": ""}] * 2, "body": ""}),
    ("33 params", "params", {"verb": "hosts", "params": [
        {"key": "k%d" % i, "value": ""} for i in range(33)],
        "body": ""}),
    ("an empty key", "key", {"verb": "hosts", "params": [
        {"key": "", "value": "1"}], "body": ""}),
    ("a value of 1025 bytes", "value", {"verb": "hosts", "params": [
        {"key": "a", "value": "v" * 1025}], "body": ""}),
    ("a body with 0x00", "body", {"verb": "hosts", "params": [],
                                  "body": b"{\0}"}),
]


def check_admin(ctl):
    """Sections 7.5, 7.6 and 8 on the admin endpoint."""
    adm = ctl.admin
    body = ctl.json("summary")
    check(isinstance(body, dict), "7.5: an OK REPLY's body is a JSON object")
    for rid in (0, 0xffffffff):
        answer = adm.ask(encode(REQUEST, rid, {"verb": "summary",
                                               "params": [], "body": ""}))
        check(answer[1:3] == (REPLY, rid), "3: request_id %d is echoed" % rid)
    reply = ctl.request("no.such.verb")
    check(reply["status"] == CODES.index("UNKNOWN_VERB") and
          b"hosts" in reply["error"],
          "7.5: an unknown verb gets UNKNOWN_VERB, the text listing verbs")
    reply = ctl.request("host", [("name", "nosuch")])
    check(reply["status"] == CODES.index("NOT_FOUND") and reply["error"] and
          reply["body"] == b"", "8: host of an unknown name is NOT_FOUND "
          "with an error text and an empty body")
    reply = ctl.request("hosts", [("bogus", "1")])
    check(reply["status"] == CODES.index("INVALID") and
          reply["error"] == b'verb "hosts" has no parameter "bogus"',
          "8: an unknown parameter is INVALID (%s)" % reply)
    for i, (what, field, body) in enumerate(BAD_REQUESTS):
        expect_error(adm, encode(REQUEST, 3000 + i, body), 3000 + i,
                     "MALFORMED", "7.5: a REQUEST with %s" % what, field)
    data = encode(REQUEST, 3100, {"verb": "hosts", "params": [],
                                  "body": ""})
    expect_error(adm, data + b"\0", 3100, "MALFORMED",
                 "7.5: a REQUEST with a trailing byte")
    text = expect_error(adm, data[:2] + b"\x02" + data[3:], 3100, "VERSION",
                        "7.5: a REQUEST in version 2")
    check("1..1" in text, "9: the admin VERSION text names the range")
    for msg_id, body in [HEARTBEAT_PROBE, WELCOME_PROBE]:
        expect_error(adm, encode(msg_id, 3200 + msg_id, body), 3200 + msg_id,
                     "UNEXPECTED", "7.5: msg_id %d to the admin endpoint" %
                     msg_id)
    for what, raw in [
            ("an ERROR", encode(ERROR, 3300, {"code": 1, "text": "x"})),
            ("an ERROR that does not decode", encode(
                ERROR, 3301, {"code": 0, "text": "x"})),
            ("an ERROR in version 2", encode(
                ERROR, 3302, {"code": 2, "text": "x"}, version=2)),
            ("7 bytes", data[:7]), ("a wrong signature", b"VG" + data[2:])]:
        silent(adm, raw, "7.5: %s on the admin endpoint" % what,
               HEARTBEAT_PROBE)


POLICY = """version: 1
mac_pools:
  - name: doc
    prefixes: ["02:76:66"]
networks:
  - name: prod
    vlan: 10
host_groups:
  - name: doc
    hosts: [node1]
    pfs:
      - ifname: ens1f0
        vfs: 2
        networks: [prod]
"""


def check_controller_apply(ctl, a):
    """4.6 and 7.4 from the controller's side: the APPLY a policy makes,
    its APPLY_RESULT, applied_revision, and drift re-sending the same
    APPLY."""
    silent(a, encode(INVENTORY, 19, inventory()), "7.3: a full INVENTORY",
           WELCOME_PROBE)
    reply = ctl.request("policy.apply", body=POLICY)
    check(reply["status"] == 0, "policy.apply: %s" % reply["error"])
    version, msg_id, rid, apply = a.recv()
    check(msg_id == APPLY and version == 1 and apply["revision"] >= 1 and
          apply["pfs"] == [{"pf": b"0000:3b:00.0", "num_vfs": 2}] and
          [(v["pf"], v["index"]) for v in apply["vfs"]] ==
          [(b"0000:3b:00.0", 0), (b"0000:3b:00.0", 1)] and
          all(v["set"] & 0x02 for v in apply["vfs"]),
          "4.6/7.4: the controller's APPLY (decoded strictly here) is the "
          "host's complete desired state (%s)" % apply)
    revision = apply["revision"]
    results = [{"kind": 1, "pf": "0000:3b:00.0", "index": 0,
                "attribute": "num_vfs", "err": 0, "message": ""}] + [
        {"kind": 2, "pf": "0000:3b:00.0", "index": v["index"],
         "attribute": name, "err": 0, "message": ""}
        for v in apply["vfs"] for name, bit in (
            ("mac", 0x01), ("vlan", 0x02), ("spoofchk", 0x04),
            ("trust", 0x08), ("link_state", 0x10), ("rate", 0x20),
            ("mtu", 0x40)) if v["set"] & bit]
    a.send(encode(APPLY_RESULT, rid, {"revision": revision,
                                      "results": results}))
    silent(a, encode(HEARTBEAT, 20, {"generation": 5,
                                     "applied_revision": revision}),
           "7.2: a HEARTBEAT with the applied revision", WELCOME_PROBE)
    row = ctl.json("policy.status", ("host", "node1"))["hosts"][0]
    check(row["state"] == "ok" and row["applied_revision"] == revision and
          row["desired_revision"] == revision,
          "7.4: the APPLY_RESULT is stored: the host is ok at revision %d "
          "(%s)" % (revision, row))
    vfs = [vf(0), vf(1, vlan=77)]
    a.send(encode(DELTA, 21, delta(5, 6, [pf(vfs=vfs)])))
    version, msg_id, rid, again = a.recv()
    check(msg_id == APPLY and again == apply,
          "7.4: drift reported in a delta: the controller re-sends the "
          "same APPLY, same revision")
    drifted = pf(vfs=[vf(0), vf(1, vlan=78)])
    silent(a, encode(DELTA, 22, delta(6, 7, [drifted])),
           "7.4: no drift is compared while an APPLY is in flight",
           WELCOME_PROBE)
    a.send(encode(APPLY_RESULT, rid, {"revision": revision,
                                      "results": results}))
    s_parked_reply(ctl, a)


def s_parked_reply(ctl, a):
    """Section 1 for an answer that waits: vm.create --wait from a REQ
    client is answered [empty][REPLY] once the agent confirmed."""
    check(ctl.request("host.uncordon", [("name", "node1")])["status"] == 0,
          "host.uncordon node1")
    req = Peer(ctl.admin_path, b"REQ")
    req.send(encode(REQUEST, 0xdeadbef1, {"verb": "vm.create", "params": [
        {"key": "wait", "value": "true"}, {"key": "timeout", "value": "5"}],
        "body": json.dumps({"name": "vm1", "memory_mib": 1, "vcpus": 1,
                            "nics": [{"network": "prod"}]})}),
             envelope=[b""])
    version, msg_id, rid, apply = a.recv()
    check(msg_id == APPLY, "7.4: a placement sends an APPLY (%s)" % msg_id)
    a.send(encode(APPLY_RESULT, rid, {"revision": apply["revision"],
                                      "results": []}))
    try:
        frames = req.frames(timeout=8)
    except socket.timeout:
        frames = []
    check(len(frames) == 2 and frames[0] == b"" and
          decode(frames[1])[1:3] == (REPLY, 0xdeadbef1),
          "1: a REQ client's vm.create --wait is answered [empty][REPLY] "
          "(%r)" % frames)
    req.close()
    silent(a, encode(HEARTBEAT, 23, {"generation": 7,
                                     "applied_revision": 1000}),
           "7.2: a HEARTBEAT with a revision the controller never sent",
           WELCOME_PROBE)
    reply = ctl.request("policy.apply", body=POLICY.replace("vlan: 10",
                                                            "vlan: 20"))
    check(reply["status"] == 0, "policy.apply: %s" % reply["error"])
    version, msg_id, rid, apply = a.recv()
    check(msg_id == APPLY, "7.4: a new policy sends a new APPLY")
    older = apply["revision"]
    a.send(encode(ERROR, rid, {
        "code": CODES.index("INVALID"),
        "text": "APPLY revision %d is older than the stored desired state, "
                "revision 1000" % older}))
    version, msg_id, rid, apply = a.recv()
    check(msg_id == APPLY and apply["revision"] == 1001,
          "7.4: the controller keeps a host's revisions increasing: "
          "refused as older than 1000, it sends the same desired state as "
          "revision 1001 (%s)" % apply.get("revision"))


def check_liveness():
    """7.2: a host is down after --dead-after intervals without a message,
    ready again when messages resume, in the same session."""
    ctl = Controller("liveness", "100ms", ["--dead-after", "2"])
    try:
        a = ctl.welcomed("node1")
        a.send(encode(INVENTORY, 2, inventory()))

        def state():
            return [h["state"] for h in ctl.json("hosts")["hosts"]
                    if h["name"] == "node1"]
        deadline = time.time() + 10
        while state() != ["down"]:
            if time.time() > deadline:
                fail("7.2: node1 is not down after 10 s without messages")
            time.sleep(0.1)
        check(True, "7.2: a host that sends nothing is marked down")
        answer = silent(a, encode(HEARTBEAT, 3, {"generation": 5,
                                                 "applied_revision": 0}),
                        "7.2: a HEARTBEAT of a down host", WELCOME_PROBE)
        check(error_code(answer) == "UNEXPECTED" and state() == ["ready"],
              "7.2: messages resume: the host is ready again, its session "
              "kept")
    finally:
        ctl.stop()


def check_agents_size(ctl):
    """Section 1: a frame of VFP_MSG_MAX bytes arrives (and, being no
    valid message, is MALFORMED); one byte more closes the connection
    before it is read."""
    a = ctl.welcomed("node4")
    expect_error(a, encode(DELTA, 3590, delta(0, 1, [pf()])), 3590,
                 "RESYNC", "7.3: a delta before the session's first full "
                 "INVENTORY (base 0, on a host that never reported)")
    check(ctl.json("pfs", ("host", "node4"))["pfs"] == [],
          "7.3: nothing of it is stored")
    hb = encode(HEARTBEAT, 3600, {"generation": 0, "applied_revision": 0})
    expect_error(a, hb + bytes(MSG_MAX - len(hb)), 3600, "MALFORMED",
                 "1: a frame of VFP_MSG_MAX bytes is read")
    a.conn.sock.sendall(zmtp.frame_header(MSG_MAX + 1) + hb)
    check(a.conn.closed_within(5), "1: a frame over VFP_MSG_MAX closes the "
          "agent's connection")


def check_admin_size(ctl):
    """Section 5: the largest REQUEST is answered; a frame one byte larger
    closes its connection (section 1)."""
    big = s_max_request(3500)
    peer = Peer(ctl.admin_path)
    answer = peer.ask(big)
    check(answer[:3] == (1, REPLY, 3500),
          "5: a REQUEST of VFP_REQUEST_MSG_MAX bytes gets its REPLY (%s)" %
          CODES[answer[3].get("status", 1)])
    peer.close()
    peer = Peer(ctl.admin_path)
    try:
        peer.send(big + b"\0")
        closed = peer.conn.closed_within(5)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    check(closed, "1: a frame over VFP_REQUEST_MSG_MAX closes the admin "
          "connection")


# ---- the agent against a fake controller ----------------------------------

AGENT_PF = "0000:37:00.0"  # the i40e-xxv710 tree's PF, 16 VFs of 64


class FakeController:
    """A ZMTP NULL ROUTER with one agent connected to it; seen holds every
    message the agent sent, in order."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.peer = None
        self.pending = []
        self.seen = []

    def accept(self):
        self.listener.settimeout(15)
        sock, _ = self.listener.accept()
        conn = zmtp.Conn.__new__(zmtp.Conn)
        conn.sock, conn.curve = sock, False
        s_ready(conn, b"ROUTER")
        self.peer = Peer(conn=conn)

    def recv(self, timeout):
        m = self.peer.recv(timeout)
        self.seen.append(m)
        return m

    def next(self, msg_id, timeout=10, rid=None):
        """The next message of msg_id (and rid) the agent sends; others
        are kept in pending."""
        deadline = time.time() + timeout
        while True:
            for m in self.pending:
                if m[1] == msg_id and (rid is None or m[2] == rid):
                    self.pending.remove(m)
                    return m
            left = deadline - time.time()
            if left <= 0:
                fail("no message %d from the agent within %d s (got %s)" %
                     (msg_id, timeout, [m[1:3] for m in self.pending]))
            try:
                self.pending.append(self.recv(left))
            except socket.timeout:
                pass

    def answers(self, timeout):
        """Every APPLY_RESULT and ERROR that arrives within timeout."""
        deadline = time.time() + timeout
        out = [m for m in self.pending if m[1] in (APPLY_RESULT, ERROR)]
        self.pending = [m for m in self.pending if m not in out]
        while time.time() < deadline:
            try:
                m = self.recv(max(0.05, deadline - time.time()))
            except socket.timeout:
                break
            (out if m[1] in (APPLY_RESULT, ERROR) else self.pending).append(m)
        return out

    def apply(self, rid, body):
        """Sends an APPLY; returns the APPLY_RESULT answering it."""
        self.peer.send(encode(APPLY, rid, body))
        return self.next(APPLY_RESULT, rid=rid)[3]

    def applied(self, revision):
        """The first HEARTBEAT after an APPLY_RESULT may still carry the
        older applied_revision; the second carries the new one."""
        self.next(HEARTBEAT)
        return self.next(HEARTBEAT)[3]["applied_revision"] == revision


def s_apply(revision, vfs, pfs=((AGENT_PF, 16),), hugepages=()):
    return {"revision": revision, "pfs": [{"pf": p, "num_vfs": n}
                                          for p, n in pfs],
            "vfs": vfs, "hugepages": [{"size_kb": s, "pages": n}
                                      for s, n in hugepages]}


def check_agent():
    tree = os.path.join(WORK, "tree")
    subprocess.run(["python3", MKTREE, "i40e-xxv710", tree], check=True,
                   stdout=subprocess.DEVNULL)
    conf = os.path.join(WORK, "empty.conf")
    fake = FakeController()
    proc = subprocess.Popen(
        [AGENT, "--config", conf, "--insecure", "--kernel", "sim",
         "--controller", "tcp://127.0.0.1:%d" % fake.port, "--hostname",
         "hv-doc", "--sysfs-root", os.path.join(tree, "sys"),
         "--procfs-root", os.path.join(tree, "proc"), "--state-dir",
         os.path.join(WORK, "agent-state"), "--heartbeat-interval", "1s",
         "--rescan", "300ms", "--log-level", "debug"],
        stderr=open(os.path.join(WORK, "agent.log"), "w"))
    try:
        generation = s_agent_join(fake)
        want = s_agent_apply(fake)
        s_agent_refusals(fake, want)
        s_agent_drift(fake, want)
        fake.peer.send(encode(ERROR, 4013, {"code": CODES.index("RESYNC"),
                                            "text": "resync"}))
        _, _, _, again = fake.next(INVENTORY)
        check(again["generation"] >= generation and
              len(again["pfs"][0]["vfs"]) == 16,
              "7.3: ERROR RESYNC brings a full INVENTORY")
        result = fake.apply(4025, s_apply(13, [], pfs=((AGENT_PF, 65),)))
        refused = [r for r in result["results"] if r["err"]]
        check(len(refused) == 1 and refused[0]["message"].decode().startswith(
            os.strerror(refused[0]["err"])) and
            len(refused[0]["message"]) <= 80,
            "4.7: a refusal's message starts with the kernel's reason, "
            "within 80 bytes (%s)" % refused)
        s_agent_revisions(fake, want)
        s_generations(fake.seen)
        stored = os.path.join(WORK, "agent-state", "desired.vfp")
        os.remove(stored)
        os.mkdir(stored)
        fake.peer.send(encode(APPLY, 4040, s_apply(4, [want])))
        _, _, _, err = fake.next(ERROR, rid=4040)
        check(err["code"] == CODES.index("INTERNAL"), "7.4: an APPLY the "
              "agent cannot store is answered ERROR INTERNAL (%s)" % err)
        fake.peer.send(encode(ERROR, 4050, {"code": CODES.index("DENIED"),
                                            "text": "denied"}))
        check(fake.peer.closed_within(2), "7.1: an agent whose messages "
              "are DENIED in a session reconnects")
        fake.accept()
        fake.next(HELLO)
        fake.peer.conn.sock.sendall(zmtp.frame_header(MSG_MAX + 1))
        check(fake.peer.conn.closed_within(5), "1: the agent's DEALER "
              "closes a connection that sends a frame over VFP_MSG_MAX")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def s_agent_join(fake):
    """HELLO, ERROR VERSION, WELCOME, INVENTORY, HEARTBEAT; returns the
    inventory's generation."""
    fake.accept()
    version, _, hello_rid, hello = fake.next(HELLO)
    check(hello["hostname"] == b"hv-doc" and hello["proto_min"] == 1 and
          version == hello["proto_min"] and
          hello["boot_id"] == b"5e1c0f3a-9d2b-4c71-8a55-0d3f6b2e7c19",
          "7.1: the agent's HELLO, encoded in its proto_min, names the host "
          "and its boot_id (%s)" % hello)
    fake.peer.send(encode(ERROR, hello_rid, {
        "code": CODES.index("VERSION"),
        "text": "controller speaks protocol versions 1..1"}))
    check(fake.peer.closed_within(3), "9: ERROR VERSION in the "
          "HELLO's own version: the agent closes the connection")
    fake.accept()
    version, _, hello_rid, _ = fake.next(HELLO)
    check(version == 1, "9: ... and says HELLO again on a new connection, "
          "at its back-off")
    fake.peer.send(encode(ERROR, hello_rid, {
        "code": CODES.index("VERSION"),
        "text": "controller speaks protocol versions 2..3"}, version=2))
    check(fake.peer.closed_within(3), "9: ERROR VERSION in a version the "
          "agent does not speak, read by its frozen header: the agent "
          "closes the connection")
    fake.accept()
    version, _, hello_rid, _ = fake.next(HELLO, timeout=5)
    with open(os.path.join(WORK, "agent.log")) as f:
        log = f.read()
    check("controller speaks protocol versions 1..1" in log and
          "this agent speaks 1..1" in log and "protocol version 2" in log,
          "9: the agent logs its range and the controller's (the ERROR's "
          "text, or the version of an ERROR it cannot read)")
    early = encode(APPLY, 4000, s_apply(1, []))
    fake.peer.send(early)
    fake.peer.send(encode(WELCOME, hello_rid, {
        "proto_version": 1, "heartbeat_ms": 200, "controller_id": "fake"}))
    _, _, _, inv = fake.next(INVENTORY)
    check(inv["host"]["hostname"] == b"hv-doc" and
          [p["pci_addr"] for p in inv["pfs"]] == [AGENT_PF.encode()] and
          len(inv["pfs"][0]["vfs"]) == 16,
          "7.1: after WELCOME a full INVENTORY (decoded strictly here)")
    beats = [fake.next(HEARTBEAT, timeout=3)[3] for _ in range(3)]
    check(all(b["generation"] == inv["generation"] for b in beats),
          "7.2: HEARTBEAT at WELCOME's heartbeat_ms, with the inventory's "
          "generation")
    check(not [m for m in fake.answers(0.3) if m[2] == 4000],
          "7.4: an APPLY before WELCOME is dropped, not answered")
    return inv["generation"]


def s_results(result):
    return sorted((r["kind"], r["pf"], r["index"], r["attribute"], r["err"])
                  for r in result["results"])


def s_agent_apply(fake):
    """4.6, 4.7, 7.4: what APPLY_RESULT holds; returns the VF settings
    applied."""
    want = apply_vf(AGENT_PF, 3, set=0x01 | 0x02 | 0x04,
                    mac=bytes.fromhex("02aabbccdd03"), vlan=100, qos=2,
                    vlan_proto=0x8100, spoofchk=0)
    result = fake.apply(4001, s_apply(10, [want]))
    pci = AGENT_PF.encode()
    check(result["revision"] == 10 and s_results(result) == [
        (1, pci, 0, b"num_vfs", 0), (2, pci, 3, b"mac", 0),
        (2, pci, 3, b"spoofchk", 0), (2, pci, 3, b"vlan", 0)],
        "4.7/7.4: APPLY_RESULT with the APPLY's request_id and revision, "
        "one RESULT per item (%s)" % s_results(result))
    check(fake.applied(10), "7.4: HEARTBEAT applied_revision becomes the "
          "APPLY's")
    every = apply_vf(AGENT_PF, 4, set=0x7f, mac=bytes.fromhex("02aabbccdd04"),
                     vlan=4094, qos=7, vlan_proto=0x88a8, spoofchk=1,
                     trust=1, link_state=2, min_tx_rate=100,
                     max_tx_rate=1000, mtu=9000)
    result = fake.apply(4002, s_apply(11, [want, every],
                                      hugepages=[(2048, 512)]))
    got = {r[3] for r in s_results(result) if r[2] == 4}
    check(got == {b"mac", b"vlan", b"spoofchk", b"trust", b"link_state",
                  b"rate", b"mtu"},
          "4.7: RESULT attributes are named as the document names them "
          "(%s)" % sorted(got))
    # the generated tree may lack the VF netdev's mtu file: whatever
    # failed, applied_revision says whether all of it applied
    applied = 11 if all(r["err"] == 0 for r in result["results"]) else 10
    check(fake.applied(applied), "7.4: applied_revision is the last "
          "revision whose every RESULT had err 0 (%d)" % applied)
    pools = [r for r in s_results(result) if r[0] == 3]
    check(pools == [(3, b"", 0, b"2048kB", 0)],
          "4.7: a HUGEPAGES result: empty pf, index 0, the pool as 2048kB "
          "(%s)" % pools)
    gone = apply_vf("0000:99:00.0", 0, set=0x08, trust=1)
    result = fake.apply(4003, s_apply(
        12, [want, gone], pfs=((AGENT_PF, 16), ("0000:99:00.0", 2))))
    missing = [r for r in result["results"] if r["pf"] == b"0000:99:00.0"]
    check(len(missing) == 2 and all(r["err"] == 19 and
                                    b"0000:99:00.0" in r["message"]
                                    for r in missing) and
          all(r["err"] == 0 for r in result["results"] if r not in missing),
          "7.4: items of a PF the host lacks carry err 19 and name it, the "
          "others apply (%s)" % result["results"])
    check(fake.applied(applied), "7.4: an APPLY with a failed item leaves "
          "applied_revision at its previous value")
    return want


def s_agent_refusals(fake, want):
    """7.4 and 7.6 on the agent: an older revision, malformed APPLYs and
    messages it does not take."""
    fake.peer.send(encode(APPLY, 4004, s_apply(5, [want])))
    _, _, _, err = fake.next(ERROR, rid=4004)
    check(err["code"] == CODES.index("INVALID") and b"5" in err["text"] and
          b"12" in err["text"], "7.4: an older revision is ERROR INVALID "
          "naming both (%s)" % err)
    hb = encode(HEARTBEAT, 4020, {"generation": 1, "applied_revision": 0})
    for what, bad in [
            ("vlan 4095", apply_vf(AGENT_PF, 3, set=0x02, vlan=4095,
                                   vlan_proto=0x8100)),
            ("a multicast MAC", apply_vf(AGENT_PF, 3, set=0x01,
                                         mac=b"\x01" + b"\0" * 5)),
            ("a set bit 0x80", apply_vf(AGENT_PF, 3, set=0x80)),
            ("a value whose bit is clear", apply_vf(AGENT_PF, 3, vlan=5)),
            ("mtu 67", apply_vf(AGENT_PF, 3, set=0x40, mtu=67)),
            ("min_tx_rate over max_tx_rate", apply_vf(
                AGENT_PF, 3, set=0x20, min_tx_rate=10, max_tx_rate=5)),
            ("spoofchk 2", apply_vf(AGENT_PF, 3, set=0x04, spoofchk=2)),
            ("trust 2", apply_vf(AGENT_PF, 3, set=0x08, trust=2)),
            ("link_state 3", apply_vf(AGENT_PF, 3, set=0x10, link_state=3)),
            ("qos 8", apply_vf(AGENT_PF, 3, set=0x02, qos=8,
                               vlan_proto=0x8100)),
            ("vlan_proto 0 with the VLAN bit", apply_vf(AGENT_PF, 3,
                                                        set=0x02, vlan=5)),
            ("an empty pf", apply_vf("", 3, set=0x08, trust=1)),
            ("a VF named twice", [want, want])]:
        vfs = bad if isinstance(bad, list) else [bad]
        fake.peer.send(encode(APPLY, 4010, s_apply(13, vfs)))
        check(not fake.answers(0.2), "7.6: an APPLY with %s is dropped by "
              "the agent, not answered" % what)
    for what, body in [
            ("a PF named twice", s_apply(13, [], pfs=[(AGENT_PF, 1)] * 2)),
            ("a pool of 0 kB", s_apply(13, [], hugepages=[(0, 1)])),
            ("a pool named twice", s_apply(13, [],
                                           hugepages=[(2048, 1)] * 2))]:
        fake.peer.send(encode(APPLY, 4010, body))
        check(not fake.answers(0.2), "7.6: an APPLY with %s is dropped by "
              "the agent, not answered" % what)
    apply_ok = encode(APPLY, 4011, s_apply(12, [want]))
    for what, data in [
            ("an ERROR", encode(ERROR, 4012, {"code": 7, "text": "x"})),
            ("a HEARTBEAT", hb), ("a HELLO", encode(HELLO, 4012,
                                                   hello_body("x"))),
            ("a REQUEST", encode(REQUEST, 4012, {"verb": "hosts",
                                                 "params": [], "body": ""})),
            ("an APPLY in version 2", apply_ok[:2] + b"\x02" + apply_ok[3:]),
            ("a truncated APPLY", apply_ok[:-1]),
            ("a wrong signature", b"VG" + apply_ok[2:]),
            ("7 bytes", apply_ok[:7])]:
        fake.peer.send(data)
        check(not fake.answers(0.2), "7.6: the agent does not answer %s" %
              what)
    fake.peer.send(apply_ok)
    check([m[2] for m in fake.answers(2)] == [4011],
          "7.4: the stored revision again is applied and answered")


def s_agent_drift(fake, want):
    """7.4 Drift: a VF changed behind the agent's back is reported in an
    INVENTORY_DELTA carrying its PF."""
    e2e.WORK = WORK
    e2e.set_vlan_behind("tree", "ens2f0", 3, 7)
    deadline = time.time() + 10
    while True:
        _, _, _, d = fake.next(DELTA, timeout=max(0.1, deadline -
                                                  time.time()))
        vfs = [v for p in d["pfs"] for v in p["vfs"] if v["index"] == 3]
        if vfs and vfs[0]["vlan"] == 7:
            break
    check(len(d["pfs"]) == 1 and len(d["pfs"][0]["vfs"]) == 16,
          "7.3/7.4: drift comes as a delta carrying the PF with all its VFs")


def s_agent_revisions(fake, want):
    """7.4: revisions compare in serial-number arithmetic."""
    half = (1 << 63) + 5
    result = fake.apply(4029, s_apply(half, [want]))
    check(result["revision"] == half, "7.4: revision 2^63+5 is newer "
          "than 12")
    top = (1 << 64) - 1
    result = fake.apply(4030, s_apply(top, [want]))
    check(result["revision"] == top, "7.4: revision 2^64-1 is newer than "
          "2^63+5")
    result = fake.apply(4031, s_apply(3, [want]))
    check(result["revision"] == 3, "7.4: revision 3 is newer than 2^64-1")
    fake.peer.send(encode(APPLY, 4032, s_apply(3 + (1 << 63), [want])))
    _, _, _, err = fake.next(ERROR, rid=4032)
    check(err["code"] == CODES.index("INVALID"),
          "7.4: a revision 2^63 ahead of the stored one is older")


def s_generations(seen):
    """7.3 over the whole session: each delta applies on the generation
    the agent reported last, HEARTBEATs carry it."""
    current = None
    for version, msg_id, rid, body in seen:
        if msg_id == INVENTORY:
            current = body["generation"]
        elif msg_id == DELTA:
            check(body["base_generation"] == current, "7.3: a delta's "
                  "base_generation is the generation reported before it")
            current = body["generation"]
        elif msg_id == HEARTBEAT and current is not None:
            check(body["generation"] == current, "7.2: HEARTBEAT carries "
                  "the generation reported last")


def check_vfleetctl():
    """vfleetctl against a fake admin endpoint: one REQUEST in version 1,
    one frame; no answer: it gives up rather than resend (7.5); a frame
    over VFP_MSG_MAX closes its connection (section 1)."""
    ctl = os.path.join(BIN, "cli", "vfleetctl")
    # the oversize case waits longer than the close it checks for
    for what, timeout in (("silence", "1s"), ("oversize", "20s")):
        fake = FakeController()
        proc = subprocess.Popen(
            [ctl, "-c", "tcp://127.0.0.1:%d" % fake.port, "--insecure",
             "--timeout", timeout, "summary"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            fake.accept()
            version, msg_id, rid, body = fake.recv(5)
            check(version == 1 and msg_id == REQUEST and
                  body["verb"] == b"summary", "9: vfleetctl sends its "
                  "REQUEST in version 1, one frame (%s)" % body)
            if what == "oversize":
                fake.peer.conn.sock.sendall(zmtp.frame_header(MSG_MAX + 1))
                check(fake.peer.closed_within(3), "1: vfleetctl's DEALER "
                      "closes a connection that sends a frame over "
                      "VFP_MSG_MAX")
            else:
                check(fake.peer.closed_within(5), "7.5: vfleetctl gives up "
                      "after its timeout")
            check(not [m for m in fake.seen if m[1] == REQUEST][1:],
                  "7.5: ... without resending")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            fake.listener.close()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    started = time.time()
    check_examples()
    check_sizes()
    ctl = Controller()
    try:
        a = check_join(ctl)
        check_deltas(ctl, a)
        check_agent_malformed(ctl, a)
        check_versions_and_answers(ctl, a)
        check_before_welcome(ctl)
        check_admin_envelopes(ctl)
        check_admin(ctl)
        check_admin_size(ctl)
        check_controller_apply(ctl, a)
        check_agents_size(ctl)
    finally:
        ctl.stop()
    check_liveness()
    check_vfleetctl()
    check_agent()
    print("ok - protocol_doc: %d checks of proto/PROTOCOL.md in %.1f s" %
          (checks, time.time() - started))


if __name__ == "__main__":
    main()
