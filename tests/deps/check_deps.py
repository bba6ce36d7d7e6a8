#!/usr/bin/env python3
"""Checks the dependency rule of docs/ARCHITECTURE.md on the include lines.

Every `#include "x.h"` in a module folder must name a header of that folder
or of a folder it may depend on; the codec (proto's libvfleet_proto) and
policy/ include no ZeroMQ header. Prints each violation as FILE:LINE and
exits 1 when there is any.

Usage: check_deps.py [SOURCE_DIR]
"""
import os
import re
import sys

# Which folders each module may include from (besides itself). The order of
# this table is the layering: every edge points to an earlier entry.
ALLOWED = {
    "proto": [],
    "policy": [],
    "metrics": [],
    "db": ["proto"],
    "agent": ["proto", "metrics"],
    "controller": ["proto", "db", "policy", "metrics"],
    "cli": ["proto", "policy"],
}

# Files of proto/ that form the codec library: no transport, no czmq.
CODEC_FILES = {"vfp.c", "vfp.h"}
# Headers of proto/ that belong to the transport library; db/ links only
# the codec, so it may not include these.
TRANSPORT_HEADERS = {"vfp_transport.h", "vfp_log.h", "vfp_duration.h"}
ZMQ_HEADERS = {"czmq.h", "zmq.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def headers_of(root, module):
    folder = os.path.join(root, module)
    return {f for f in os.listdir(folder) if f.endswith(".h")}


def check_file(path, module, owner_of, problems):
    name = os.path.basename(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, header = m.groups()
            where = f"{path}:{lineno}"
            if header in ZMQ_HEADERS and (
                    module == "policy" or module == "db"
                    or (module == "proto" and name in CODEC_FILES)):
                problems.append(f"{where}: {module}/{name} includes "
                                f"<{header}>; it must not use ZeroMQ")
            if kind != '"':
                continue
            owner = owner_of.get(header)
            if owner is None:
                problems.append(f"{where}: \"{header}\" is no module's "
                                "header")
                continue
            if owner != module and owner not in ALLOWED[module]:
                problems.append(f"{where}: {module}/ may not include "
                                f"{owner}/{header} (allowed: "
                                f"{', '.join(ALLOWED[module]) or 'none'})")
            if (owner == "proto" and header in TRANSPORT_HEADERS and
                    (module == "db" or
                     (module == "proto" and name in CODEC_FILES))):
                problems.append(f"{where}: {module}/{name} includes the "
                                f"transport header {header}; only the codec "
                                "(vfp.h) is allowed here")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    owner_of = {}
    problems = []
    for module in ALLOWED:
        for header in headers_of(root, module):
            if header in owner_of:
                problems.append(f"{module}/{header}: header name also used "
                                f"in {owner_of[header]}/")
            owner_of[header] = module
    checked = 0
    for module in ALLOWED:
        folder = os.path.join(root, module)
        for f in sorted(os.listdir(folder)):
            if f.endswith((".c", ".h")):
                check_file(os.path.join(folder, f), module, owner_of,
                           problems)
                checked += 1
    for p in problems:
        print(p)
    print(f"{checked} files checked, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
