#!/bin/sh
# agent_idle.sh - CPU and memory of an idle vfleet-agent reporting a 64-VF
# host (recorded tree) to the test peer with default heartbeat (2 s) and
# rescan (10 s) intervals, over CURVE with keys made by vfleetctl keys.
# Prints figures; never fails on them.
#
# usage: tests/bench/agent_idle.sh [BUILD-DIR [SECONDS]]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${1:-$src/build}" && pwd)
seconds=${2:-30}
work=$(mktemp -d)
trap 'kill $agent $peer 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$src/tests/fixtures/mktree.py" vf64 "$work/tree"
port=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$work/peer"
"$bin/cli/vfleetctl" keys init --keys "$work/keys" >/dev/null
"$bin/cli/vfleetctl" keys add-host bench --keys "$work/keys" \
    --out "$work/agent.key_secret" >/dev/null
"$bin/tests/agent/fake_controller" --bind "tcp://127.0.0.1:$port" \
    --dir "$work/peer" --keys "$work/keys" \
    >"$work/peer.out" &
peer=$!
sleep 0.3
"$bin/agent/vfleet-agent" --controller "tcp://127.0.0.1:$port" \
    --key "$work/agent.key_secret" \
    --controller-key "$work/keys/controller.key" --sysfs-root "$work/tree/sys" --procfs-root "$work/tree/proc" \
    --log-level warn 2>"$work/agent.log" &
agent=$!
sleep 1 # connected, first inventory sent: measure the steady state only

# on-CPU nanoseconds of all the agent's threads (libzmq has its own)
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat | awk '{ns += $1} END {printf "%d", ns}'
}
t0=$(cpu_ns $agent)
s0=$(date +%s.%N)
sleep "$seconds"
t1=$(cpu_ns $agent)
s1=$(date +%s.%N)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
beats=$(grep -c HEARTBEAT "$work/peer.out" || true)
invs=$(grep -c ' INVENTORY ' "$work/peer.out" || true)

echo "agent idle, 64 VFs, ${seconds} s, heartbeat 2 s, rescan 10 s, CURVE"
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" 'BEGIN {
    printf "cpu: %.4f %% of one core (%.1f ms in %.1f s)\n",
        100 * (t1 - t0) / 1e9 / (s1 - s0), (t1 - t0) / 1e6, s1 - s0 }'
echo "max rss: $hwm kB, rss now: $rss kB"
echo "messages at the peer: $invs full inventories, $beats heartbeats"
