#!/bin/sh
# real_host_test.sh - vfleet-agent --discover on this machine's own /sys and
# /proc: it must exit 0 and, on a host without SR-IOV hardware or IOMMU,
# say so with reasons. Skips (77) on a host that has either.
set -u
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR must name the build directory}
agent=$bin/agent/vfleet-agent

if ls /sys/bus/pci/devices/*/sriov_totalvfs >/dev/null 2>&1 ||
    [ -n "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]; then
    echo "skipped: this host has SR-IOV PFs or IOMMU groups"
    exit 77
fi

fail() {
    echo "FAIL: $*" >&2
    echo "--- output:" >&2
    cat "$out" >&2
    exit 1
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$agent" --discover >"$out" 2>&1 || fail "--discover exited $?"
grep -q '^no SR-IOV PFs' "$out" || fail "does not say there are no SR-IOV PFs"
grep -q '^iommu not ready' "$out" || fail "does not say IOMMU is not ready"
grep -q '^    reason: no IOMMU groups' "$out" || fail "no reason about groups"

"$agent" --discover --json >"$out" 2>&1 || fail "--discover --json exited $?"
python3 - "$out" <<'PY' || fail "JSON lacks: zero PFs, not ready, reasons"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["pfs"] == [], doc["pfs"]
assert doc["host"]["iommu"]["ready"] is False
assert len(doc["host"]["iommu"]["reasons"]) >= 1
assert doc["host"]["memory"]["total_kb"] > 0
PY
echo "ok: no SR-IOV PFs, IOMMU not ready, with reasons"
