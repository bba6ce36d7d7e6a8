#!/bin/sh
# Proves check_deps.py fails on each kind of violation it is there to catch,
# on small synthetic trees, and passes a tree that keeps the rule.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tree() { # a clean tree: every module with one header and one source file
	rm -rf "$tmp/t"
	for m in proto policy metrics db agent controller cli; do
		mkdir -p "$tmp/t/$m"
	done
	printf '#include <czmq.h>\n#include "vfp.h"\n' >"$tmp/t/proto/vfp_transport.h"
	printf '#include <stdint.h>\n' >"$tmp/t/proto/vfp.h"
	printf '#include "vfp.h"\n' >"$tmp/t/proto/vfp.c"
	printf '#include "policy.h"\n' >"$tmp/t/policy/policy.c"
	printf '\n' >"$tmp/t/policy/policy.h"
	printf '#include "vfp.h"\n' >"$tmp/t/db/vfleet_db.h"
	printf '#include "vfp.h"\n#include "vfp_transport.h"\n' >"$tmp/t/agent/agent.c"
	printf '#include "vfleet_db.h"\n#include "policy.h"\n' >"$tmp/t/controller/ctl.c"
	printf '#include "policy.h"\n#include "vfp_transport.h"\n' >"$tmp/t/cli/cli.c"
}

expect() { # expect STATUS PATTERN
	set +e
	out=$(python3 "$here/check_deps.py" "$tmp/t")
	rc=$?
	set -e
	if [ "$rc" != "$1" ] || ! printf '%s\n' "$out" | grep -q -- "$2"; then
		echo "FAIL: wanted exit $1 and '$2', got exit $rc:"
		printf '%s\n' "$out"
		exit 1
	fi
}

tree
expect 0 "0 violations"

tree
printf '#include "vfleet_db.h"\n' >>"$tmp/t/agent/agent.c"
expect 1 "agent/ may not include db/vfleet_db.h"

tree
printf '#include "vfp.h"\n' >>"$tmp/t/policy/policy.c"
expect 1 "policy/ may not include proto/vfp.h"

tree
printf '#include <czmq.h>\n' >>"$tmp/t/proto/vfp.c"
expect 1 "it must not use ZeroMQ"

tree
printf '#include "vfp_transport.h"\n' >>"$tmp/t/db/vfleet_db.h"
expect 1 "only the codec"

tree
printf '#include "nowhere.h"\n' >>"$tmp/t/cli/cli.c"
expect 1 "is no module's header"

echo "check_deps selftest: 6 passed, 0 failed"
