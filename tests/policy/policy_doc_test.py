#!/usr/bin/env python3
"""policy_doc_test.py - the policy language as its documents promise it
(policy/POLICY.md, policy/vfleet-policy.5, the policy verbs of
cli/vfleetctl.8), checked statement by statement against the real
vfleetctl from the outside: every key, default, bound and quoted error
line, the examples, normalisation and diff output. No controller is
needed; the verbs that would reach one are only run where the docs say
they stop before sending.

Usage: policy_doc_test.py [PATH-TO-VFLEETCTL]
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get(
    "VFLEET_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("VFLEET_BINARY_DIR", os.path.join(SRC, "build"))
CTL = (os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else
       os.path.join(BIN, "cli", "vfleetctl"))
# An endpoint nobody listens on, for the verbs that must stop before
# sending anything.
NOWHERE = "ipc:///nonexistent/vfleet-policy-doc-test.sock"

# The one error of bad.yaml, which several verbs must print alike.
BAD_ERR = ("bad.yaml:2:28: vlan: 0 is out of range 1..4094 (for an "
           "untagged network leave vlan out)\n")

failures = []
checks = 0


def check(what, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(f"{what}: {detail}")


def write(name, text):
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(name, mode) as f:
        f.write(text)
    return name


def run(*args):
    proc = subprocess.run([CTL, *args], capture_output=True, text=True,
                          timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def validate(text, name="policy.yaml"):
    write(name, text)
    return run("policy", "validate", name)


def accepted(what, text, name="policy.yaml"):
    rc, out, err = validate(text, name)
    check(what, rc == 0 and err == "" and
          re.fullmatch(re.escape(name) +
                       r": valid, revision sha256:[0-9a-f]{64}\n", out),
          f"rc={rc} out={out!r} err={err!r}")


def refused(what, text, errors, name="policy.yaml"):
    """errors: the exact stderr lines, in order."""
    rc, out, err = validate(text, name)
    want = "".join(f"{name}:{e}\n" for e in errors)
    check(what, rc == 1 and out == "" and err == want,
          f"rc={rc}\n  want {want!r}\n  got  {err!r}")


def refused_with(what, text, pattern, name="policy.yaml"):
    """One error line, matching pattern."""
    rc, out, err = validate(text, name)
    check(what, rc == 1 and re.fullmatch(pattern + r"\n", err) is not None,
          f"rc={rc} err={err!r}")


def show(text, name="policy.yaml"):
    write(name, text)
    rc, out, err = run("policy", "show", name)
    check(f"show {name}", rc == 0 and err == "", f"rc={rc} err={err!r}")
    return out


def body(shown):
    """show's output after its comment line."""
    return shown.split("\n", 1)[1]


def net(fields, name="n"):
    """A policy with one network (fields: extra lines of its mapping)."""
    lines = "".join(f"    {f}\n" for f in fields)
    return f"version: 1\nnetworks:\n  - name: {name}\n{lines}"


def group(lines, name="g"):
    """A policy with one network 'n' and one host group."""
    return ("version: 1\nnetworks:\n  - name: n\nhost_groups:\n"
            f"  - name: {name}\n" + "".join(f"    {l}\n" for l in lines))


def pf(lines):
    """A policy whose host group 'g' (hosts [h]) has one PF entry."""
    return group(["hosts: [h]", "pfs:", "  - " + lines[0]] +
                 ["    " + l for l in lines[1:]])


# ---- Commands (POLICY.md "Commands", vfleetctl.8) ----------------------


def test_commands():
    doc_examples = (
        "version: 1\n"            # 1
        "networks:\n"             # 2
        "  - name: a\n"           # 3
        "  - name: b\n"           # 4
        "  - name: c\n"           # 5
        "  - name: d\n"           # 6
        "  - name: e\n"           # 7
        "  - name: f\n"           # 8
        "  - name: g\n"           # 9
        "  - name: h\n"           # 10
        "  - name: i\n"           # 11
        "    vlan: 5000\n"        # 12: the value at column 11
        "  - name: j\n"           # 13
        "    mtu: 1500\n"         # 14
        "    vlam: 10\n")         # 15: the key at column 5
    refused("POLICY.md's two example errors", doc_examples, [
        "12:11: vlan: 5000 is out of range 1..4094",
        "15:5: unknown key 'vlam' in network (did you mean 'vlan'?)"])

    # Every error at once, sorted by position.
    refused("all errors, sorted by position",
            "drift: sometimes\nversion: 1\nmemory: {hugepages: 3M}\n", [
                "1:8: drift: expected one of correct, report, got "
                "'sometimes'",
                "3:21: hugepages: expected one of none, 2M, 1G, got '3M' "
                "(did you mean '2M'?)"])

    # On success: FILE: valid, revision sha256:HEX, the same id as show's.
    text = "version: 1\nnetworks: [{name: a, vlan: 7}]\n"
    rc, out, _ = validate(text)
    shown = show(text)
    rev = shown.split("\n", 1)[0].split("sha256:")[1]
    check("validate's revision is show's", out ==
          f"policy.yaml: valid, revision sha256:{rev}\n", f"{out!r} {rev}")
    check("show's first line is a comment", shown.startswith("# "),
          shown[:40])
    check("the revision id is the sha256 of the rest of show's output",
          hashlib.sha256(body(shown).encode()).hexdigest() == rev, rev)

    # validate FILE...: each file, exit 1 when one is invalid.
    write("one.yaml", "version: 1\n")
    write("two.yaml", "version: 2\n")
    rc, out, err = run("policy", "validate", "one.yaml", "two.yaml")
    check("validate of several files", rc == 1 and
          out.startswith("one.yaml: valid, revision sha256:") and
          err == "two.yaml:1:10: version: schema version 2 is not supported "
          "(this vfleet reads version 1)\n", f"rc={rc} {out!r} {err!r}")

    # More than 1000 errors: the first 1000 and one line saying so.
    many = "version: 1\nnetworks:\n" + "".join(
        f"  - {{name: n{i}, vlan: 0}}\n" for i in range(1100))
    rc, out, err = validate(many)
    lines = err.splitlines()
    check("1000 errors, then one line", rc == 1 and len(lines) == 1001 and
          lines[-1] == "policy.yaml: more than 1000 errors, only 1000 shown"
          and lines[0] == "policy.yaml:3:22: vlan: 0 is out of range 1..4094 "
          "(for an untagged network leave vlan out)",
          f"rc={rc} {len(lines)} lines, last {lines[-1:]!r}")

    # Exactly 1000 errors: all of them and no such line.
    rc, out, err = validate(many.split("  - {name: n1000,")[0])
    lines = err.splitlines()
    check("exactly 1000 errors", rc == 1 and len(lines) == 1000 and
          "more than" not in err, f"{len(lines)} lines, {lines[-1:]!r}")

    # diff: the three example lines, exit 3; no change exit 0; error 1.
    old = ("version: 1\nnetworks: [{name: vlan1, vlan: 1}]\n"
           "host_groups:\n  - name: esx\n    hosts: [esx-e1]\n"
           "    pfs: [{ifname: ens1f0, vfs: 2, networks: [vlan1]}]\n")
    new = old.replace("vlan: 1", "vlan: 10").replace("vfs: 2", "vfs: 4") + \
        "drift: report\n"
    write("old.yaml", old)
    write("new.yaml", new)
    rc, out, err = run("policy", "diff", "old.yaml", "new.yaml")
    check("diff prints the documented lines, exit 3", rc == 3 and out ==
          "network vlan1: vlan 1 -> 10 (affects VFs on host group esx)\n"
          "host group esx: pf ifname=ens1f0: vfs 2 -> 4\n"
          "drift: correct -> report\n", f"rc={rc} {out!r} {err!r}")
    rc, out, _ = run("policy", "diff", "old.yaml", "old.yaml")
    check("diff without change: exit 0, nothing printed", rc == 0 and
          out == "", f"rc={rc} {out!r}")
    write("bad.yaml", "version: 1\nnetworks: [{name: x, vlan: 0}]\n")
    rc, out, err = run("policy", "diff", "old.yaml", "bad.yaml")
    check("diff of an invalid file: exit 1 with its errors", rc == 1 and
          err == BAD_ERR,
          f"rc={rc} {err!r}")
    # One line per change, grouped by network, MAC pool (and fixed MAC),
    # host group, memory, placement and drift.
    write("d1.yaml", """\
version: 1
networks: [{name: a, vlan: 1}, {name: gone}]
mac_pools: [{name: p, prefixes: ["02:00:00"]}]
fixed_macs: ["06:00:00:00:00:01"]
host_groups: [{name: g, hosts: [h], pfs: [{ifname: e, vfs: 1, networks: [a]}]}]
memory: {hugepages: none}
placement: {strategy: spread, anti_affinity_groups: [{name: x, vms: [a]}]}
""")
    write("d2.yaml", """\
version: 1
drift: report
placement: {strategy: pack, anti_affinity_groups: [{name: x, vms: [b]}]}
memory: {hugepages: 2M, hypervisor_reserve: 4G}
host_groups: [{name: g, hosts: [h, i], labels: {r: a},
               pfs: [{ifname: e, vfs: 1, networks: [a, new]}]}]
fixed_macs: ["06:00:00:00:00:02"]
mac_pools: [{name: p, prefixes: ["02:00:01"], vendor_oui: true}]
networks: [{name: a, vlan: 2, mtu: 9000}, {name: new, trunk: true}]
""")
    rc, out, err = run("policy", "diff", "d1.yaml", "d2.yaml")
    check("diff groups its lines in the documented order", rc == 3 and out ==
          "network a: vlan 1 -> 2 (affects VFs on host group g)\n"
          "network a: mtu 1500 -> 9000 (affects VFs on host group g)\n"
          "network gone: removed (was untagged)\n"
          "network new: added (trunk; affects VFs on host group g)\n"
          "mac pool p: vendor_oui false -> true\n"
          "mac pool p: prefix 02:00:00 removed\n"
          "mac pool p: prefix 02:00:01 added\n"
          "fixed mac 06:00:00:00:00:01: removed\n"
          "fixed mac 06:00:00:00:00:02: added\n"
          "host group g: host glob i added\n"
          "host group g: label r=a added\n"
          "host group g: pf ifname=e: network new added\n"
          "memory: hugepages none -> 2M\n"
          "memory: hypervisor_reserve 2G -> 4G\n"
          "placement: strategy spread -> pack\n"
          "anti-affinity group x: vm glob a removed\n"
          "anti-affinity group x: vm glob b added\n"
          "drift: correct -> report\n", f"rc={rc} {out!r} {err!r}")
    # --message: at most 1024 bytes, refused before anything is sent.
    rc, _, err = run("-c", NOWHERE, "--timeout", "200ms", "policy", "apply",
                     "old.yaml", "--message", "m" * 1025)
    check("apply --message of 1025 bytes", rc == 1 and err ==
          "vfleetctl: policy.apply: the message value is longer than 1024 "
          "bytes\n", f"rc={rc} {err!r}")
    rc, _, err = run("-c", NOWHERE, "--timeout", "200ms", "policy", "apply",
                     "old.yaml", "--message", "m" * 1024)
    check("apply --message of 1024 bytes goes to the controller", rc == 1 and
          "cannot reach controller" in err, f"rc={rc} {err!r}")
    # diff NEW alone asks the controller: none answering is an error.
    rc, _, err = run("-c", NOWHERE, "--timeout", "200ms", "policy", "diff",
                     "d1.yaml")
    check("diff NEW without a controller: exit 1", rc == 1, f"rc={rc} {err!r}")
    rc, out, _ = run("policy", "validate", "--help")
    check("policy VERB --help", rc == 0 and
          "usage: vfleetctl policy validate FILE..." in out, f"rc={rc}")
    # Usage errors: exit 2.
    for args in (["policy", "validate"], ["policy", "show"],
                 ["policy", "show", "a", "b"], ["policy", "diff"]):
        rc, _, _ = run(*args)
        check(f"usage error: {' '.join(args)}", rc == 2, f"rc={rc}")
    rc, _, err = run("policy", "validate", "old.yaml", "--dry-run")
    check("an option the verb does not have is a usage error naming it",
          rc == 2 and err.startswith("vfleetctl: policy validate: unknown "
                                     "option '--dry-run'\n"), f"rc={rc}")
    rc, out, err = run("policy", "show", "bad.yaml")
    check("show of an invalid file: its errors, exit 1", rc == 1 and
          out == "" and err == BAD_ERR, f"rc={rc} {out!r} {err!r}")
    rc, _, err = run("policy", "validate", "missing.yaml")
    check("an unreadable file", rc == 1 and err.startswith(
        "missing.yaml:1:1: cannot open: "), err)
    # The offline verbs ignore -o and -c, before or after the operands.
    rc, plain, _ = run("policy", "validate", "old.yaml")
    for args in (["-o", "json", "policy", "validate", "old.yaml"],
                 ["policy", "validate", "old.yaml", "-o", "json", "-c",
                  NOWHERE]):
        rc, out, err = run(*args)
        check(f"offline: {' '.join(args)}", rc == 0 and out == plain,
              f"rc={rc} {out!r} {err!r}")
    # After normalisation: a file that says the same thing differently.
    write("same.yaml", "networks:\n  - vlan: 1\n    name: vlan1\n"
          "host_groups: [{name: esx, hosts: [esx-e1], pfs: [{vfs: 2, "
          "networks: [vlan1], ifname: ens1f0}]}]\ndrift: correct\n"
          "version: 1\n")
    rc, out, _ = run("policy", "diff", "old.yaml", "same.yaml")
    check("diff compares normalised forms", rc == 0 and out == "",
          f"rc={rc} {out!r}")
    rc, out, _ = run("policy", "validate", "same.yaml")
    check("the same policy written differently has the same revision id",
          rc == 0 and out.split("sha256:")[1] == plain.split("sha256:")[1],
          f"{out!r} {plain!r}")

    # apply validates locally: errors, exit 1, nothing sent.
    rc, out, err = run("-c", NOWHERE, "--timeout", "200ms", "policy",
                       "apply", "bad.yaml")
    check("apply of an invalid file stops before sending", rc == 1 and
          err == BAD_ERR,
          f"rc={rc} {err!r}")


# ---- General rules -----------------------------------------------------


def test_general():
    refused("empty file", "", [
        "1:1: policy is empty: expected a mapping with at least 'version'"])
    refused("top level not a mapping", "- version: 1\n",
            ["1:1: policy: expected a mapping, got a list"])
    refused_with("two documents", "version: 1\n---\nversion: 1\n",
                 r"policy\.yaml:2:1: only one YAML document is allowed")
    # Size: exactly 1 MiB accepted, one byte more refused.
    head = "version: 1\n#"
    exact = head + "x" * (1048576 - len(head) - 1) + "\n"
    accepted("a file of exactly 1048576 bytes", exact)
    refused("a file of 1048577 bytes", exact + "\n",
            ["1:1: policy is larger than 1048576 bytes"])
    # Unknown keys, with and without a suggestion; a key only once.
    refused("unknown key with a suggestion", "version: 1\ndrfit: report\n",
            ["2:1: unknown key 'drfit' in policy (did you mean 'drift'?)"])
    refused("unknown key", "version: 1\ncolour: blue\n",
            ["2:1: unknown key 'colour' in policy"])
    refused("a key twice", net(["mtu: 1500", "mtu: 9000"]),
            ["5:5: duplicate key 'mtu' in network (first at 4:5)"])
    # Integers: unquoted, decimal, no sign, no leading zero, 12 digits.
    refused("a quoted integer", net(['vlan: "10"']), [
        "4:11: vlan: expected an integer, got '10' (a quoted string: drop "
        "the quotes)"])
    refused("a leading zero", net(["vlan: 010"]), [
        "4:11: vlan: '010' has a leading zero (octal in some YAML readers)"])
    refused("a sign", net(["vlan: +10"]),
            ["4:11: vlan: expected an integer, got '+10'"])
    refused("a negative number", net(["qos: -1", "vlan: 1"]),
            ["4:10: qos: expected an integer, got '-1'"])
    refused("12 digits are read as an integer", net(["mtu: 999999999999"]),
            ["4:10: mtu: 999999999999 is out of range 68..9216"])
    refused("13 digits are not", net(["mtu: 1000000000000"]),
            ["4:10: mtu: expected an integer, got '1000000000000'"])
    refused("hex is not decimal", net(["mtu: 0x5dc"]),
            ["4:10: mtu: expected an integer, got '0x5dc'"])
    # Booleans: true and false only, unquoted.
    for word in ("yes", "True", "on", "1"):
        refused(f"boolean {word}", net([f"trust: {word}"]), [
            f"4:12: trust: expected true or false, got '{word}'"])
    refused("a quoted boolean", net(['trust: "true"']), [
        "4:12: trust: expected true or false, got 'true' (a quoted string: "
        "drop the quotes)"])
    # Strings plain or quoted.
    accepted("a quoted name", 'version: 1\nnetworks: [{name: "n-1"}]\n')
    # Names: letters, digits, . _ -, starting alnum, at most 63.
    name_rule = ("(letters, digits, '.', '_' and '-', starting with a letter "
                 "or digit, at most 63 characters)")
    accepted("a name of 63 characters with . _ -",
             net([], name="A" + "b.c_d-9" * 8 + "zzzzzz"))
    for bad in ("a" * 64, "-a", ".a", "_a", "a/b", "a:b"):
        refused(f"name {bad[:10]}", net([], name=bad),
                [f"3:11: name: '{bad[:40]}{'...' if len(bad) > 40 else ''}'"
                 f" is not valid {name_rule}"])
    # Globs: . _ - : * ?, at most 64; a leading * must be quoted.
    glob_rule = ("(letters, digits, '.', '_', '-', ':' and the wildcards '*' "
                 "and '?', at most 64 characters)")
    accepted("globs with every allowed character",
             group(['hosts: ["*-gpu", "esx?.a_b-c:d", "' + "h" * 64 + '"]',
                    "pfs: []"]))
    refused("a glob of 65 characters",
            group([f"hosts: [{'h' * 65}]", "pfs: []"]),
            [f"6:13: hosts: '{'h' * 40}...' is not valid {glob_rule}"])
    refused("a glob with /", group(["hosts: [a/b]", "pfs: []"]),
            [f"6:13: hosts: 'a/b' is not valid {glob_rule}"])
    refused("an unquoted leading *", group(["hosts: [*-gpu]", "pfs: []"]),
            ["6:13: undefined alias *-gpu (quote a value that starts with "
             "'*')"])
    # Anchors and aliases: allowed, and expanded.
    aliased = ("version: 1\nnetworks: [{name: a}, {name: b}]\n"
               "host_groups:\n"
               "  - {name: g1, hosts: [h1], pfs: [{ifname: e0, vfs: 1, "
               "networks: &nets [a, b]}]}\n"
               "  - {name: g2, hosts: [h2], pfs: [{ifname: e0, vfs: 1, "
               "networks: *nets}]}\n")
    expanded = aliased.replace("&nets ", "").replace("*nets", "[a, b]")
    check("an alias says what its anchor says",
          show(aliased).split("\n", 1)[0] == show(expanded).split("\n", 1)[0])
    # 100000 nodes once every alias is followed.
    bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(6))
    refused_with("an alias past 100000 nodes", bomb,
                 r"policy\.yaml:\d+:\d+: alias \*\w expands the document "
                 r"beyond 100000 nodes")
    # 64 levels of nesting: the 65th is refused.
    def nested(levels):  # the top-level mapping is the first level
        return "version: 1\nx: " + "[" * (levels - 1) + "]" * (levels - 1)
    rc, _, err = validate(nested(64))
    check("64 levels are read", rc == 1 and "nesting" not in err and
          "unknown key 'x'" in err, err)
    refused_with("65 levels are not", nested(65),
                 r"policy\.yaml:2:\d+: nesting is deeper than 64 levels")
    refused("an alias to an incomplete node", "version: 1\nx: &a [*a]\n",
            ["2:8: alias *a refers to the node it is part of, which is not "
             "complete yet"])
    refused_with("a YAML tag", "version: !!int 1\n",
                 r"policy\.yaml:1:10: YAML tags are not supported.*")
    refused("a merge key", "version: 1\nmemory: &m {hugepages: 2M}\n"
            "placement:\n  <<: *m\n",
            ["4:3: YAML merge keys ('<<') are not supported"])
    # Lists may not repeat an item.
    refused("a network twice",
            "version: 1\nnetworks:\n  - name: a\n  - name: a\n",
            ["4:5: duplicate network 'a' (first at 3:5)"])
    refused("a host glob twice", group(["hosts: [h, h]", "pfs: []"]),
            ["6:16: hosts: 'h' is listed twice"])
    # Case: names and globs are case-sensitive, and may not differ by case
    # only.
    refused("POLICY.md's example of names differing by case",
            "version: 1\nnetworks:\n  - name: Storage\n    vlan: 10\n"
            "  - name: x\n    vlan: 11\n  - name: storage\n    vlan: 12\n", [
                "7:5: network 'storage' differs only by case from 'Storage'"
                " (first at 3:5)"])
    refused("mac pools differing by case",
            "version: 1\nmac_pools:\n  - {name: p, prefixes: ['02:00:01']}\n"
            "  - {name: P, prefixes: ['02:00:02']}\n",
            ["4:5: mac pool 'P' differs only by case from 'p' (first at "
             "3:5)"])
    refused("host groups differing by case",
            "version: 1\nhost_groups:\n  - {name: g, hosts: [a], pfs: []}\n"
            "  - {name: G, hosts: [b], pfs: []}\n",
            ["4:5: host group 'G' differs only by case from 'g' (first at "
             "3:5)"])
    refused("anti-affinity groups differing by case",
            "version: 1\nplacement:\n  anti_affinity_groups:\n"
            "    - {name: web}\n    - {name: WEB}\n",
            ["5:7: anti-affinity group 'WEB' differs only by case from "
             "'web' (first at 4:7)"])
    refused("hosts differing by case", group(["hosts: [esx1, ESX1]",
                                              "pfs: []"]),
            ["6:19: hosts: 'ESX1' differs only by case from 'esx1' (first "
             "at 6:13)"])
    refused("vms differing by case",
            "version: 1\nplacement:\n  anti_affinity_groups:\n"
            "    - {name: a, vms: [web-1, WEB-1]}\n",
            ["4:30: vms: 'WEB-1' differs only by case from 'web-1' (first "
             "at 4:23)"])
    refused("networks differing by case",
            "version: 1\nnetworks: [{name: a}, {name: A}]\n",
            ["2:23: network 'A' differs only by case from 'a' (first at "
             "2:12)"])
    refused("networks of a PF differing by case",
            pf(["ifname: e", "vfs: 1", "networks: [n, N]"]),
            ["10:23: networks: 'N' differs only by case from 'n' (first at "
             "10:20)",
             "10:23: pf ifname=e carries undefined network 'N' (did you "
             "mean 'n'?)"])
    refused("anti-affinity group twice",
            "version: 1\nplacement:\n  anti_affinity_groups:\n"
            "    - {name: web}\n    - {name: web}\n",
            ["5:7: duplicate anti-affinity group 'web' (first at 4:7)"])
    # Enum words are case-sensitive.
    for key, word in (("vlan_protocol", "802.1q"), ("link_state", "Auto")):
        rc, _, err = validate(net(["vlan: 1", f"{key}: {word}"]))
        check(f"enum word {word} is case-sensitive", rc == 1 and
              f"got '{word}'" in err, err)
    rc, _, err = validate("version: 1\nmemory: {hugepages: 2m}\n")
    check("2m is not 2M", rc == 1 and "got '2m'" in err, err)
    rc, _, err = validate("version: 1\nplacement: {strategy: Spread}\n")
    check("Spread is not spread", rc == 1 and "got 'Spread'" in err, err)


# ---- Limits ------------------------------------------------------------


def groups_policy(count, hosts_each=1):
    out = "version: 1\nhost_groups:\n"
    for g in range(count):
        hosts = ", ".join(f"h{g}x{h}" for h in range(hosts_each))
        out += f"  - {{name: g{g}, hosts: [{hosts}], pfs: []}}\n"
    return out


# POLICY.md: "vlan: 0 is an error (leave the key out instead), and so is
# vlan: 4095: write trunk: true"; the errors say so.
VLAN_HINTS = {
    ("vlan", 0): " (for an untagged network leave vlan out)",
    ("vlan", 4095): " (for a trunk, where the guest tags, write trunk: true)",
}


def test_limits():
    accepted("256 host groups", groups_policy(256))
    refused("257 host groups", groups_policy(257),
            ["3:3: host_groups: more than 256 entries"])
    accepted("64 hosts in a group", groups_policy(1, 64))
    refused("65 hosts in a group", groups_policy(1, 65),
            ["3:23: hosts: more than 64 entries"])
    accepted("512 host globs in all", groups_policy(8, 64))
    refused("513 host globs in all",
            groups_policy(8, 64) + "  - {name: z, hosts: [z], pfs: []}\n",
            ["3:3: host_groups: more than 512 host globs in all"])

    def labels(n):
        return group(["labels: {" + ", ".join(f"k{i}: v" for i in range(n)) +
                      "}", "pfs: []"])
    accepted("64 labels", labels(64))
    refused("65 labels", labels(65), ["6:13: labels: more than 64 entries"])

    def pfs(n):
        return group(["hosts: [h]", "pfs: [" + ", ".join(
            f"{{ifname: e{i}, vfs: 1}}" for i in range(n)) + "]"])
    accepted("64 PF entries", pfs(64))
    refused("65 PF entries", pfs(65), ["7:10: pfs: more than 64 entries"])

    def pf_nets(n):
        names = [f"n{i}" for i in range(n)]
        return ("version: 1\nnetworks: [" +
                ", ".join(f"{{name: {x}}}" for x in names) + "]\n"
                "host_groups: [{name: g, hosts: [h], pfs: [{ifname: e, vfs: 1,"
                " networks: [" + ", ".join(names) + "]}]}]\n")
    accepted("64 networks on a PF", pf_nets(64))
    refused("65 networks on a PF", pf_nets(65),
            ["3:73: networks: more than 64 entries"])

    def vms(n):
        return ("version: 1\nplacement:\n  anti_affinity_groups:\n"
                "    - {name: a, vms: [" +
                ", ".join(f"vm{i}" for i in range(n)) + "]}\n")
    accepted("64 vms in an anti-affinity group", vms(64))
    refused("65 vms in an anti-affinity group", vms(65),
            ["4:22: vms: more than 64 entries"])

    # Value ranges: each bound accepted, one past it refused.
    for key, lo, hi, extra in (("vlan", 1, 4094, []),
                               ("qos", 0, 7, ["vlan: 1"]),
                               ("min_tx_rate", 0, 400000, []),
                               ("max_tx_rate", 0, 400000, []),
                               ("mtu", 68, 9216, [])):
        col = 4 + len(key) + 3
        for v in (lo, hi):
            accepted(f"{key} {v}", net(extra + [f"{key}: {v}"]))
        for v in ([lo - 1] if lo > 0 else []) + [hi + 1]:
            refused(f"{key} {v}", net(extra + [f"{key}: {v}"]),
                    [f"{4 + len(extra)}:{col}: {key}: {v} is out of range "
                     f"{lo}..{hi}" + VLAN_HINTS.get((key, v), "")])
    accepted("vfs 0 and 1024", group(["hosts: [h]", "pfs:",
                                      "  - {ifname: a, vfs: 0}",
                                      "  - {ifname: b, vfs: 1024}"]))
    refused("vfs 1025", pf(["ifname: a", "vfs: 1025"]),
            ["9:14: vfs: 1025 is out of range 0..1024"])
    # hypervisor_reserve: 0M..16T, at most 9 digits before the unit.
    for size in ("0M", "16T", "16384G", "16777216M"):
        accepted(f"hypervisor_reserve {size}",
                 f"version: 1\nmemory: {{hypervisor_reserve: {size}}}\n")
    for size in ("17T", "16385G", "16777217M", "999999999M"):
        refused(f"hypervisor_reserve {size}",
                f"version: 1\nmemory: {{hypervisor_reserve: {size}}}\n",
                [f"2:30: hypervisor_reserve: '{size}' is more than 16T"])
    # As integers: no leading zero (0M itself is zero).
    for size in ("01G", "0001G", "00M"):
        refused(f"hypervisor_reserve {size}",
                f"version: 1\nmemory: {{hypervisor_reserve: {size}}}\n",
                [f"2:30: hypervisor_reserve: '{size}' has a leading zero"])
    for size in ("1000000000M", "4X", "4", "G", "4 G", "-1G", "4g"):
        refused(f"hypervisor_reserve {size}",
                f"version: 1\nmemory: {{hypervisor_reserve: {size}}}\n",
                [f"2:30: hypervisor_reserve: expected a size like 512M, 4G "
                 f"or 1T, got '{size}'"])
    # Names, drivers, label keys and values: 1 to 63 characters.
    accepted("driver, label key and value of 63 characters",
             group(["labels: {" + "k" * 63 + ": " + "v" * 63 + "}",
                    "pfs: [{driver: " + "d" * 63 + ", vfs: 1}]"]))
    for what, lines in (("driver", ["hosts: [h]", "pfs: [{driver: " + "d" * 64
                                    + ", vfs: 1}]"]),
                        ("label key", ["labels: {" + "k" * 64 + ": v}",
                                       "pfs: []"]),
                        ("label value", ["labels: {k: " + "v" * 64 + "}",
                                         "pfs: []"])):
        rc, _, err = validate(group(lines))
        check(f"{what} of 64 characters", rc == 1 and
              "at most 63 characters" in err, err)
    refused("an empty label value", group(["labels: {k: ''}", "pfs: []"]),
            ["6:17: labels: '' is not valid (letters, digits, '.', '_' and "
             "'-', at most 63 characters)"])
    # MAC prefixes of 3 to 5 octets.
    for prefix in ("02:00:00", "02:00:00:00", "02:00:00:00:00"):
        accepted(f"prefix {prefix}", "version: 1\nmac_pools: [{name: p, "
                 f"prefixes: ['{prefix}']}}]\n")
    for prefix in ("02:00", "02:00:00:00:00:00", "02:0:00", "02-00-00"):
        refused(f"prefix {prefix}", "version: 1\nmac_pools: [{name: p, "
                f"prefixes: ['{prefix}']}}]\n",
                [f"2:34: prefixes: expected 3 to 5 hex octets like 02:00:00, "
                 f"got '{prefix}'"])
    test_normal_form_limits()


def test_normal_form_limits():
    # POLICY.md's example: 4094 networks, one per VLAN, 25 nodes each.
    vlans = "version: 1\nnetworks:\n" + "".join(
        f"  - {{name: v{v}, vlan: {v}}}\n" for v in range(1, 4095))
    refused("POLICY.md's vlans.yaml", vlans, [
        "1:1: normalised policy would be 102377 YAML nodes, over the limit "
        "of 100000 nodes"], name="vlans.yaml")
    # POLICY.md's names.yaml: a normal form of 1048449 bytes is refused,
    # one of 1048448 accepted (and show prints a comment line before it).
    def names(lengths):
        return "version: 1\nnetworks:\n" + "".join(
            f"  - {{name: {('n%05d' % i).ljust(n, 'x')}}}\n"
            for i, n in enumerate(lengths))
    # 5000 untagged networks: 19 nodes each, 173 to 230 bytes each as
    # their names grow from 6 to 63 characters.
    lengths = [6] * 5000
    short = 1048448 - len(body(show(names(lengths), "names.yaml")))
    check("the names.yaml construction fits", 0 < short < 5000 * 57,
          str(short))
    for i in range(len(lengths)):
        grow = min(short, 63 - lengths[i])
        lengths[i] += grow
        short -= grow
    at_limit = show(names(lengths), "names.yaml")
    check("a normal form of exactly 1048448 bytes is valid",
          len(body(at_limit).encode()) == 1048448, str(len(body(at_limit))))
    check("show prints at most 128 bytes before it",
          len(at_limit.encode()) <= 1048576, str(len(at_limit)))
    write("names2.yaml", body(at_limit))
    rc, out2, _ = run("policy", "show", "names2.yaml")
    check("the normal form at the limit shows to itself", rc == 0 and
          out2 == at_limit.replace("names.yaml", "names2.yaml"), f"rc={rc}")
    longer = next(i for i, n in enumerate(lengths) if n < 63)
    lengths[longer] += 1
    refused("POLICY.md's names.yaml", names(lengths), [
        "1:1: normalised policy would be 1048449 bytes, over the limit of "
        "1048448 bytes"], name="names.yaml")


# ---- Top level, networks, MAC pools, fixed MACs ------------------------


def test_top_level_and_networks():
    refused("version is required", "drift: report\n",
            ["1:1: policy: missing required key 'version'"])
    refused("version must be 1", "version: 0\n", [
        "1:10: version: schema version 0 is not supported (this vfleet "
        "reads version 1)"])
    refused("a quoted version", 'version: "1"\n', [
        "1:10: version: expected an integer, got '1' (a quoted string: drop "
        "the quotes)"])
    minimal = body(show("version: 1\n"))
    check("the defaults of an empty policy", minimal == (
        "version: 1\nnetworks: []\nmac_pools: []\nfixed_macs: []\n"
        "host_groups: []\nmemory:\n  full_reservation: true\n"
        "  hugepages: none\n  hypervisor_reserve: \"2G\"\nplacement:\n"
        "  strategy: spread\n  anti_affinity_groups: []\ndrift: correct\n"),
        minimal)
    accepted("drift: report", "version: 1\ndrift: report\n")
    refused("drift: ignore", "version: 1\ndrift: ignore\n",
            ["2:8: drift: expected one of correct, report, got 'ignore'"])

    # A network's defaults, and vlan, qos, vlan_protocol only with a VLAN.
    shown = body(show(net(["vlan: 10"], name="v") + "  - name: u\n"))
    check("network defaults in the normal form", shown.startswith(
        "version: 1\nnetworks:\n"
        "  - name: u\n    trunk: false\n    spoof_check: true\n"
        "    trust: false\n    link_state: auto\n    min_tx_rate: 0\n"
        "    max_tx_rate: 0\n    mtu: 1500\n    guest_mtu_change: deny\n"
        "  - name: v\n    vlan: 10\n    qos: 0\n"
        "    vlan_protocol: \"802.1Q\"\n    trunk: false\n"), shown[:400])
    accepted("every network key", net([
        "vlan: 4094", "qos: 7", "vlan_protocol: 802.1ad",
        "spoof_check: false", "trust: true", "link_state: disable",
        "min_tx_rate: 100", "max_tx_rate: 100", "mtu: 9000",
        "guest_mtu_change: allow"]))
    for word in ("auto", "enable", "disable"):
        accepted(f"link_state {word}", net([f"link_state: {word}"]))
    accepted("a trunk network", net(["trunk: true"]))
    refused("vlan: 0 (leave the key out)", net(["vlan: 0"]),
            ["4:11: vlan: 0 is out of range 1..4094 (for an untagged "
             "network leave vlan out)"])
    refused("vlan and trunk", net(["trunk: true", "vlan: 5"]), [
        "5:11: vlan: a trunk network has no VF vlan (the guest tags); drop "
        "vlan or trunk"])
    refused("qos needs vlan", net(["qos: 3"]),
            ["4:10: qos: needs a vlan (the network is untagged)"])
    refused("vlan_protocol needs vlan", net(["trunk: true",
                                             "vlan_protocol: 802.1ad"]),
            ["5:20: vlan_protocol: needs a vlan (the network is trunk)"])
    refused("max_tx_rate below min_tx_rate",
            net(["min_tx_rate: 200", "max_tx_rate: 100"]),
            ["4:18: min_tx_rate 200 is above max_tx_rate 100"])
    accepted("max_tx_rate 0 is unlimited, whatever min_tx_rate",
             net(["min_tx_rate: 200", "max_tx_rate: 0"]))
    refused("a network needs a name", "version: 1\nnetworks: [{vlan: 1}]\n",
            ["2:12: network: missing required key 'name'"])
    refused("guest_mtu_change", net(["guest_mtu_change: maybe"]), [
        "4:23: guest_mtu_change: expected one of deny, allow, got 'maybe'"])


def pools(*items, fixed=None):
    out = "version: 1\nmac_pools:\n" + "".join(f"  - {i}\n" for i in items)
    if fixed is not None:
        out += f"fixed_macs: {fixed}\n"
    return out


def test_mac_pools():
    refused("prefixes are required", pools("{name: p}"),
            ["3:5: mac pool: missing required key 'prefixes'"])
    refused("prefixes may not be empty", pools("{name: p, prefixes: []}"),
            ["3:25: prefixes: a pool needs at least one prefix"])
    shown = body(show(pools("{name: p, prefixes: ['0A:BC:DE', '02:00:00']}")))
    check("prefixes lowercase and sorted in the normal form",
          '      - "02:00:00"\n      - "0a:bc:de"\n' in shown, shown)
    refused("a multicast prefix", pools("{name: p, prefixes: ['03:00:00']}"),
            ["3:26: prefixes: 03:00:00 is a multicast prefix"])
    refused("a vendor OUI without vendor_oui",
            pools("{name: p, prefixes: ['00:50:56']}"), [
                "3:26: prefixes: 00:50:56 is not locally administered (set "
                "vendor_oui: true to use a vendor OUI)"])
    accepted("a vendor OUI with vendor_oui",
             pools("{name: p, vendor_oui: true, prefixes: ['00:50:56']}"))
    refused("a multicast prefix even with vendor_oui",
            pools("{name: p, vendor_oui: true, prefixes: ['01:00:5e']}"),
            ["3:44: prefixes: 01:00:5e is a multicast prefix"])
    accepted("an all-zero prefix in a vendor_oui pool",
             pools("{name: p, vendor_oui: true, prefixes: ['00:00:00']}"))
    refused("overlapping prefixes in one pool",
            pools("{name: p, prefixes: ['02:00:00', '02:00:00:01']}"), [
                "3:38: prefix 02:00:00:01 of mac pool 'p' overlaps prefix "
                "02:00:00 of mac pool 'p' (3:26)"])
    refused("equal prefixes in two pools",
            pools("{name: p, prefixes: ['02:00:00']}",
                  "{name: q, prefixes: ['02:00:00']}"), [
                "4:26: prefix 02:00:00 of mac pool 'q' overlaps prefix "
                "02:00:00 of mac pool 'p' (3:26)"])
    accepted("adjacent prefixes", pools("{name: p, prefixes: ['02:00:00']}",
                                        "{name: q, prefixes: ['02:00:01']}"))
    refused("a pool twice", pools("{name: p, prefixes: ['02:00:00']}",
                                  "{name: p, prefixes: ['02:00:01']}"),
            ["4:5: duplicate mac pool 'p' (first at 3:5)"])
    # Fixed MACs: six octets, unicast, not zero, once, outside the pools.
    p = "{name: p, prefixes: ['02:00:00']}"
    accepted("a fixed MAC outside the pools",
             pools(p, fixed="['02:00:01:00:00:01']"))
    shown = body(show(pools(p, fixed="['06:00:00:00:00:0A', "
                                     "'02:00:01:00:00:01']")))
    check("fixed MACs lowercase and sorted",
          'fixed_macs:\n  - "02:00:01:00:00:01"\n  - "06:00:00:00:00:0a"\n'
          in shown, shown)
    refused("a fixed MAC in a pool", pools(p, fixed="['02:00:00:00:00:01']"),
            ["4:14: fixed mac 02:00:00:00:00:01 lies in prefix 02:00:00 of "
             "mac pool 'p' (3:26)"])
    accepted("a fixed MAC with a vendor OUI",
             pools(p, fixed="['00:50:56:00:00:01']"))
    refused("a multicast fixed MAC", pools(p, fixed="['01:00:5e:00:00:01']"),
            ["4:14: fixed_macs: 01:00:5e:00:00:01 is a multicast address"])
    refused("the zero MAC", pools(p, fixed="['00:00:00:00:00:00']"),
            ["4:14: fixed_macs: 00:00:00:00:00:00 is not a usable address"])
    refused("a fixed MAC twice",
            pools(p, fixed="['06:00:00:00:00:01', '06:00:00:00:00:01']"),
            ["4:35: fixed_macs: 06:00:00:00:00:01 is listed twice (first at "
             "4:14)"])
    refused("a fixed MAC of five octets", pools(p, fixed="['06:00:00:00:00']"),
            ["4:14: fixed_macs: expected a MAC like 02:00:00:00:00:01, got "
             "'06:00:00:00:00'"])


# ---- Host groups, PF entries, memory, placement -----------------------


def test_host_groups():
    refused("a group selects hosts", group(["pfs: []"]),
            ["5:5: host group: selects no hosts (give hosts, labels or "
             "both)"])
    refused("pfs is required", group(["hosts: [h]"]),
            ["5:5: host group: missing required key 'pfs'"])
    accepted("labels alone select",
             group(["labels: {rack/row: a-1, gpu.vendor: nvidia_x}",
                    "pfs: []"]))
    refused("a label key twice",
            group(["labels: {a: x, b: y, a: z, a: x}", "pfs: []"]),
            ["6:26: duplicate key 'a' in labels (first at 6:14)",
             "6:32: duplicate key 'a' in labels (first at 6:14)"])
    refused("a label key starting with /",
            group(["labels: {/a: b}", "pfs: []"]),
            ["6:14: labels: '/a' is not valid (letters, digits, '.', '_', '/'"
             " and '-', starting with a letter or digit, at most 63 "
             "characters)"])
    refused("a label value with /", group(["labels: {a: b/c}", "pfs: []"]),
            ["6:17: labels: 'b/c' is not valid (letters, digits, '.', '_' and"
             " '-', at most 63 characters)"])
    refused("a group twice", "version: 1\nhost_groups:\n"
            "  - {name: g, hosts: [a], pfs: []}\n"
            "  - {name: g, hosts: [b], pfs: []}\n",
            ["4:5: duplicate host group 'g' (first at 3:5)"])
    # PF entries.
    refused("a PF entry needs a selector", pf(["vfs: 1"]),
            ["8:9: pf: needs at least one of ifname, pci_address, driver, "
             "device"])
    refused("vfs is required", pf(["ifname: a"]),
            ["8:9: pf: missing required key 'vfs'"])
    shown = body(show(pf(["pci_address: 0000:3B:00.7", "device: 8086:10FB",
                          "driver: mlx5_core", "ifname: 'ens1f*'",
                          "vfs: 2"])))
    check("selectors in table order, hex lowercase", (
        "      - ifname: \"ens1f*\"\n        pci_address: \"0000:3b:00.7\"\n"
        "        driver: mlx5_core\n        device: \"8086:10fb\"\n"
        "        vfs: 2\n        networks: []\n") in shown, shown)
    refused("a PCI function above 7", pf(["pci_address: 0000:3b:00.8",
                                          "vfs: 1"]),
            ["8:22: pci_address: expected the form 0000:3b:00.0 "
             "(domain:bus:device.function), got '0000:3b:00.8'"])
    refused("a device id not VVVV:DDDD", pf(["device: 8086-10fb", "vfs: 1"]),
            ["8:17: device: expected the form 8086:1521 (vendor:device), got"
             " '8086-10fb'"])
    refused("a network the policy does not define",
            pf(["ifname: a", "vfs: 1", "networks: [n, m]"]),
            ["10:23: pf ifname=a carries undefined network 'm' (did you mean "
             "'n'?)"])
    refused("a selector repeated in a group",
            group(["hosts: [h]", "pfs:", "  - {ifname: a, vfs: 1}",
                   "  - {ifname: a, vfs: 2}"]),
            ["9:9: pf ifname=a is listed twice in host group 'g' (first at "
             "8:9)"])
    refused("a selector repeated in another key order and case",
            group(["hosts: [h]", "pfs:",
                   "  - {pci_address: '0000:3B:00.0', driver: x, vfs: 1}",
                   "  - {driver: x, pci_address: '0000:3b:00.0', vfs: 1}"]),
            ["9:9: pf pci_address=0000:3b:00.0 driver=x is listed twice in "
             "host group 'g' (first at 8:9)"])
    accepted("first match wins: a broader entry after a narrower one",
             group(["hosts: [h]", "pfs:", "  - {ifname: a, driver: x, vfs: 1}",
                    "  - {ifname: a, vfs: 2}"]))
    two = ("version: 1\nhost_groups:\n"
           "  - {name: a, hosts: [%s], %s pfs: [{ifname: e, vfs: 2}]}\n"
           "  - {name: b, hosts: [%s], %s pfs: [{ifname: e, vfs: 4}]}\n")
    refused("two groups that may share a host give different vfs",
            two % ("'esx-*'", "", "'*-e1'", ""), [
                "4:39: host group 'b' gives pf ifname=e 4 VFs but host group"
                " 'a' gives it 2 (3:40) and both may select the same host"])
    accepted("globs that cannot meet", two % ("'esx-*'", "", "'kvm-*'", ""))
    accepted("'?' is exactly one character", two % ("'esx-?'", "", "esx-10",
                                                    ""))
    refused("'*' may be empty", two % ("'esx-?'", "", "'esx-1*'", ""), [
        "4:41: host group 'b' gives pf ifname=e 4 VFs but host group 'a' "
        "gives it 2 (3:40) and both may select the same host"])
    refused("globs and labels alone may share a host",
            (two % ("'esx-*'", "", "x", "")).replace(
                "hosts: [x],", "labels: {rack: a},"), [
                "4:41: host group 'b' gives pf ifname=e 4 VFs but host "
                "group 'a' gives it 2 (3:40) and both may select the same "
                "host"])
    accepted("different values of one label",
             two % ("h", "labels: {rack: a},", "h", "labels: {rack: b},"))
    # Memory and placement.
    refused("full_reservation: false",
            "version: 1\nmemory: {full_reservation: false}\n", [
                "2:28: full_reservation: cannot be false: a VM with a "
                "passthrough VF needs all its memory reserved"])
    for word in ("none", "2M", "1G"):
        accepted(f"hugepages {word}",
                 f"version: 1\nmemory: {{hugepages: {word}}}\n")
    shown = body(show("version: 1\nmemory: {hypervisor_reserve: 2048M}\n"))
    check("sizes in the largest exact unit",
          '  hypervisor_reserve: "2G"\n' in shown, shown)
    shown = body(show("version: 1\nmemory: {hypervisor_reserve: 1536M}\n"))
    check("1536M stays 1536M", '  hypervisor_reserve: "1536M"\n' in shown,
          shown)
    accepted("strategy pack", "version: 1\nplacement: {strategy: pack}\n")
    refused("an anti-affinity group needs a name",
            "version: 1\nplacement:\n  anti_affinity_groups: [{vms: [a]}]\n",
            ["3:26: anti-affinity group: missing required key 'name'"])
    shown = body(show("version: 1\nplacement:\n  anti_affinity_groups:\n"
                      "    - {name: b, vms: [z, 'web-*']}\n    - {name: a}\n"))
    check("anti-affinity groups sorted, vms default []", shown.endswith(
        "  anti_affinity_groups:\n    - name: a\n      vms: []\n"
        "    - name: b\n      vms:\n        - \"web-*\"\n        - z\n"
        "drift: correct\n"), shown)


# ---- Normalised form, examples ----------------------------------------


def test_normal_form():
    every_key = """\
version: 1
drift: report
placement:
  anti_affinity_groups: [{name: db, vms: ['db-*', app]}]
  strategy: pack
memory: {hypervisor_reserve: 4096M, hugepages: 1G, full_reservation: true}
host_groups:
  - name: gpu
    labels: {rack: r1}
    hosts: [esx-g?, esx-g1]
    pfs:
      - {vfs: 8, device: "10DE:1234", networks: [trunk],
         pci_address: "0000:5E:00.0", driver: mlx5_core, ifname: "ens*"}
      - {ifname: ens2f0, vfs: 0}
fixed_macs: ["0A:00:00:00:00:01"]
mac_pools:
  - {vendor_oui: true, prefixes: ["00:50:56:01", "02:76:66"], name: macs}
networks:
  - {name: trunk, trunk: true, spoof_check: false, trust: true,
     link_state: enable, min_tx_rate: 10, max_tx_rate: 20, mtu: 9000,
     guest_mtu_change: allow}
  - {name: a-vlan, vlan: 7, qos: 1, vlan_protocol: 802.1ad}
"""
    shown = show(every_key)
    expect = """\
version: 1
networks:
  - name: a-vlan
    vlan: 7
    qos: 1
    vlan_protocol: "802.1ad"
    trunk: false
    spoof_check: true
    trust: false
    link_state: auto
    min_tx_rate: 0
    max_tx_rate: 0
    mtu: 1500
    guest_mtu_change: deny
  - name: trunk
    trunk: true
    spoof_check: false
    trust: true
    link_state: enable
    min_tx_rate: 10
    max_tx_rate: 20
    mtu: 9000
    guest_mtu_change: allow
mac_pools:
  - name: macs
    vendor_oui: true
    prefixes:
      - "00:50:56:01"
      - "02:76:66"
fixed_macs:
  - "0a:00:00:00:00:01"
host_groups:
  - name: gpu
    hosts:
      - esx-g1
      - "esx-g?"
    labels:
      rack: r1
    pfs:
      - ifname: "ens*"
        pci_address: "0000:5e:00.0"
        driver: mlx5_core
        device: "10de:1234"
        vfs: 8
        networks:
          - trunk
      - ifname: ens2f0
        vfs: 0
        networks: []
memory:
  full_reservation: true
  hugepages: "1G"
  hypervisor_reserve: "4G"
placement:
  strategy: pack
  anti_affinity_groups:
    - name: db
      vms:
        - app
        - "db-*"
drift: report
"""
    check("show writes keys in the order of POLICY.md's tables",
          body(shown) == expect, "\n" + body(shown))
    write("again.yaml", body(shown))
    rc, again, _ = run("policy", "show", "again.yaml")
    check("show's output is a valid policy that shows to the same text",
          rc == 0 and body(again) == body(shown) and
          again.split("\n", 1)[0] == shown.split("\n", 1)[0], again[:200])
    # Every key of POLICY.md's key index is one the example above uses, so
    # each is accepted where the index says.
    doc = open(os.path.join(SRC, "policy", "POLICY.md")).read()
    index = doc.split("## Key index")[1].split("\n## ")[0]
    keys = re.findall(r"^\| `([a-z_]+)` \|", index, re.M)
    check("POLICY.md's key index lists the keys", len(keys) >= 30,
          str(keys))
    for key in keys:
        check(f"key index: {key} is used by the every-key policy",
              re.search(r"\b" + key + r":", every_key) is not None)
    # Names sort by their bytes, not by a locale.
    shown = body(show("version: 1\nnetworks: [{name: b}, {name: A}, "
                      "{name: a_b}, {name: aB}, {name: a-b}, {name: '1'}, "
                      "{name: a.b}]\n"))
    check("names sort by their bytes", re.findall(r"  - name: (.*)\n",
                                                  shown) ==
          ['"1"', "A", "a-b", "a.b", "aB", "a_b", "b"], shown)
    shown = body(show(group(["hosts: [b, 'a*', a-1, a?, A1, a_1, 'a:1']",
                             "pfs: []"])))
    hosts = shown.split("    hosts:\n")[1].split("    labels:")[0]
    check("globs sort by their bytes", hosts == "".join(
        f"      - {g}\n" for g in ("A1", '"a*"', "a-1", '"a:1"', '"a?"',
                                    "a_1", "b")), hosts)
    # PF entries keep their order: the first match configures a PF.
    shown = body(show(group(["hosts: [h]", "pfs:", "  - {ifname: z, vfs: 1}",
                             "  - {driver: a, vfs: 2}"])))
    check("PF entries keep their order", "      - ifname: z\n" in shown and
          shown.index("ifname: z") < shown.index("driver: a"), shown)
    # Every example policy of the docs is accepted.
    for path in ("deploy/examples/policy.yaml",):
        rc, out, err = run("policy", "validate", os.path.join(SRC, path))
        check(f"{path} is valid", rc == 0, err)
    man = open(os.path.join(SRC, "policy", "vfleet-policy.5")).read()
    example = man.split(".Sh EXAMPLES\n.Bd -literal -offset indent\n")[1]
    example = example.split(".Ed\n")[0]
    accepted("vfleet-policy(5)'s EXAMPLES", example)


def test_vm_file_examples():
    """POLICY.md's VM files: the example is read, the errors as quoted."""
    doc = open(os.path.join(SRC, "policy", "POLICY.md")).read()
    example = doc.split("## VM files")[1].split("```yaml\n")[1]
    example = example.split("```")[0]
    write("vms.yaml", example)
    rc, _, err = run("-c", NOWHERE, "--timeout", "200ms", "vm", "apply",
                     "vms.yaml", "--dry-run")
    check("POLICY.md's VM file has no errors", "vms.yaml:" not in err, err)
    bad = ("version: 1\n"               # 1
           "vms:\n"                     # 2
           "  - name: web-1\n"          # 3
           "    memory: 4X\n"           # 4: the value at column 13
           "    vcpus: 2\n"
           "    nics: [{network: a}]\n"
           "  - name: web-2\n"
           "    memory: 1G\n"
           "    vcpus: 1\n"
           "    nics: [{network: a}]\n"
           "  - name: web-1\n"          # 11
           "    memory: 1G\n"
           "    vcpus: 1\n"
           "    nics: [{network: a}]\n")
    write("vms.yaml", bad)
    rc, out, err = run("-c", NOWHERE, "--timeout", "200ms", "vm", "apply",
                       "vms.yaml")
    check("POLICY.md's VM file errors", rc == 1 and err ==
          "vms.yaml:4:13: memory: expected a size like 512M, 4G or 1T, got "
          "'4X'\nvms.yaml:11:5: duplicate vm 'web-1' (first at 3:5)\n",
          f"rc={rc} {err!r}")


def vm_apply(text, *args):
    write("vms.yaml", text)
    return run("-c", NOWHERE, "--timeout", "200ms", "vm", "apply",
               "vms.yaml", *args)


def test_vm_file_limits():
    """POLICY.md's VM file table: bounds refused offline, at their place."""
    def vm(fields):
        return ("version: 1\nvms:\n  - {name: a, " + fields +
                "}\n")
    nic = "nics: [{network: n}]"
    for fields, error in (
            ("memory: 1G, vcpus: 0, " + nic,
             "3:34: vcpus: 0 is out of range 1..65536"),
            ("memory: 1G, vcpus: 65537, " + nic,
             "3:34: vcpus: 65537 is out of range 1..65536"),
            ("memory: 0M, vcpus: 1, " + nic, "3:23: memory: must be more "
             "than 0"),
            ("memory: 17T, vcpus: 1, " + nic,
             "3:23: memory: '17T' is more than 16T"),
            ("memory: 1G, vcpus: 1, nics: []",
             "3:43: nics: a VM needs at least one NIC"),
            ("memory: 1G, vcpus: 1, nics: [" + ", ".join(
                ["{network: n}"] * 9) + "]",
             "3:43: nics: more than 8 entries"),
            ("memory: 1G, vcpus: 1, numa: maybe, " + nic,
             "3:43: numa: expected one of none, preferred, required, got "
             "'maybe'"),
            ("memory: 1G, vcpus: 1, nics: [{network: n, mac: "
             "'03:00:00:00:00:01'}]",
             "3:62: mac: 03:00:00:00:00:01 is a multicast address"),
            ("memory: 1G, vcpus: 1, host: '*', " + nic,
             "3:43: host: '*' is not valid (letters, digits, '.' and '-', "
             "starting with a letter or digit, at most 253 characters)")):
        rc, _, err = vm_apply(vm(fields))
        check(f"vm file: {error}", rc == 1 and err == f"vms.yaml:{error}\n",
              f"rc={rc} {err!r}")
    for text, error in (
            ("version: 1\nvms:\n" + "".join(
                f"  - {{name: {n}, memory: 1G, vcpus: 1, nics: [{{network: "
                f"n, mac: '02:00:00:00:00:01'}}]}}\n" for n in "ab"),
             "4:44: duplicate mac '02:00:00:00:00:01' (first at 3:44)"),
            ("version: 2\nvms: [{name: a, memory: 1G, vcpus: 1, "
             "nics: [{network: n}]}]\n",
             "1:10: version: VM file version 2 is not supported (this "
             "vfleet reads version 1)"),
            ("version: 1\nvms: []\n", "2:6: vms: the file declares no VM")):
        rc, _, err = vm_apply(text)
        check(f"vm file: {error}", rc == 1 and err == f"vms.yaml:{error}\n",
              f"rc={rc} {err!r}")
    rc, _, err = vm_apply(vm("memory: 1G, vcpus: 1, host: " + "h" * 253 +
                             ", " + nic))
    check("vm file: a pin of 253 characters", "vms.yaml:" not in err, err)
    # 5000 VMs with a pin and a group each are read; 5001 are not.
    many = "version: 1\nvms:\n" + "".join(
        f"  - {{name: vm{i}, memory: 1G, vcpus: 1, nics: [{{network: n}}], "
        f"host: h{i % 7}, group: g{i % 11}}}\n" for i in range(5001))
    rc, _, err = vm_apply(many)
    check("vm file: 5001 VMs", rc == 1 and err ==
          "vms.yaml:3:3: vms: more than 5000 entries\n", f"rc={rc} {err!r}")
    rc, _, err = vm_apply(many[:many.rindex("  - {name: vm5000")])
    check("vm file: 5000 VMs with a pin and a group", "vms.yaml:" not in err,
          err[:300])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        for test in (test_commands, test_general, test_limits,
                     test_top_level_and_networks, test_mac_pools,
                     test_host_groups, test_normal_form,
                     test_vm_file_examples, test_vm_file_limits):
            test()
    for f in failures:
        print("FAIL:", f)
    print(f"policy_doc: {checks - len(failures)}/{checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
