#!/bin/sh
# discover_test.sh - runs vfleet-agent --discover on one fixture tree and
# diffs the table and the JSON against tests/agent/NAME.ok / NAME.json.ok.
#
# usage: discover_test.sh SCENARIO [NAME [AGENT-OPTION...]]
# With VFLEET_UPDATE=1 the expected files are rewritten instead (review the
# diff before committing them).
set -eu
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR must name the build directory}
scenario=$1
name=${2:-$1}
[ $# -ge 2 ] && shift 2 || shift 1
agent=$bin/agent/vfleet-agent
work=$bin/tests/agent/trees/$name
python3 "$src/tests/fixtures/mktree.py" "$scenario" "$work"

status=0
for mode in table json; do
    if [ $mode = json ]; then
        ok=$src/tests/agent/$name.json.ok
        set -- --json "$@"
    else
        ok=$src/tests/agent/$name.ok
    fi
    out=$work.$mode.out
    "$agent" --discover --sysfs-root "$work/sys" --procfs-root "$work/proc" \
        "$@" >"$out"
    if [ "${VFLEET_UPDATE:-0}" = 1 ]; then
        cp "$out" "$ok"
    elif ! diff -u "$ok" "$out"; then
        echo "FAIL: $name ($mode) differs from $ok" >&2
        status=1
    fi
done
exit $status
