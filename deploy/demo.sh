#!/bin/sh
# deploy/demo.sh - vfleet's main job on one machine: a controller and three
# agents as real processes on generated host trees whose VFs live in a
# simulated kernel inside each tree (nothing touches this machine's NICs),
# the example policy applied, passthrough VMs placed, a refused migration
# and a host failure that keeps its VMs pinned.
#
# Usage: deploy/demo.sh [--keep] [--work DIR] [--build-dir DIR] [--port N]
#   --keep           leave the cluster running to explore with vfleetctl
#   --work DIR       where the trees, database and logs go
#                    (default /tmp/vfleet-demo; emptied first)
#   --build-dir DIR  the CMake build directory (default build/ in the
#                    source tree); configured and built when needed
#   --port N         the controller's agent port on 127.0.0.1 (default 7450)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
work=/tmp/vfleet-demo
build="$src/build"
port=7450
keep=0

usage() {
	sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--keep) keep=1 ;;
	--work) work=${2:?--work needs a directory}; shift ;;
	--build-dir) build=${2:?--build-dir needs a directory}; shift ;;
	--port) port=${2:?--port needs a number}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "demo.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
# A port number: 1 to 65535, in decimal.
port_ok() {
	case $1 in
	'' | *[!0-9]* | 0*) return 1 ;;
	esac
	[ ${#1} -le 5 ] && [ "$1" -le 65535 ]
}

port_ok "$port" || {
	echo "demo.sh: --port $port is not a port number" >&2
	usage >&2
	exit 2
}

say() {
	printf '\n== %s\n' "$*"
}

# Shows a command, then runs it.
run() {
	printf '$ %s\n' "$*"
	"$@"
}

say "installing what the build needs and building into $build"
if [ "$(id -u)" -eq 0 ]; then
	"$src/deploy/install-deps.sh" >/dev/null
else
	"$src/deploy/install-deps.sh" >/dev/null || {
		echo "demo.sh: run deploy/install-deps.sh as root first" >&2
		exit 1
	}
fi
[ -f "$build/CMakeCache.txt" ] || cmake -S "$src" -B "$build" >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

ctl_bin="$build/cli/vfleetctl"
admin="ipc://$work/controller/admin.sock"
ctl() {
	"$ctl_bin" -c "$admin" "$@"
}

pids=""
stop() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null || true
	done
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
	limit=$1
	shift
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt $((limit * 5)) ]; then
			echo "demo.sh: gave up waiting for: $*" >&2
			echo "demo.sh: logs are in $work" >&2
			exit 1
		fi
		sleep 0.2
	done
}

hosts_ready() {
	[ "$(ctl -o json hosts | jq '[.hosts[] | select(.state == "ready")] |
	    length')" -eq "$1" ]
}

policy_applied() {
	ctl -o json policy status | jq -e '.hosts | length == 3 and
	    all(.state == "ok" and .applied_revision == .desired_revision)'
}

host_down() {
	ctl -o json host "$1" | jq -e '.host.state == "down"'
}

rm -rf "$work"
mkdir -p "$work"
trap 'if [ "$keep" -eq 0 ]; then stop; fi' EXIT
trap 'exit 130' INT TERM

say "three hypervisor hosts, generated from captures of real ones"
for spec in esx-e1:vf64 esx-e2:vf64 esx-e3:ixgbe-dualport; do
	host=${spec%%:*}
	python3 "$src/tests/fixtures/mktree.py" "${spec#*:}" "$work/$host" \
	    >/dev/null
	echo "$host: a recorded host tree (${spec#*:}) with a simulated kernel"
done

say "CURVE keys: the controller's pair and one key per host"
keys="$work/controller/keys"
run "$build/cli/vfleetctl" keys init --keys "$keys"
for host in esx-e1 esx-e2 esx-e3; do
	run "$build/cli/vfleetctl" keys add-host "$host" --keys "$keys" \
	    --out "$work/$host.key_secret"
done

say "starting vfleet-controller and three vfleet-agents"
# --config /dev/null: the demo is self-contained, so the settings of an
# installed package (/etc/vfleet/*.conf) must not change it.
"$build/controller/vfleet-controller" --config /dev/null --keys "$keys" \
    --state-dir "$work/controller" --agents "tcp://127.0.0.1:$port" \
    --admin "$admin" --heartbeat-interval 500ms \
    2>"$work/controller.log" &
pids="$pids $!"
wait_for 15 ctl summary
for host in esx-e1 esx-e2 esx-e3; do
	"$build/agent/vfleet-agent" --config /dev/null \
	    --key "$work/$host.key_secret" \
	    --controller-key "$keys/controller.key" \
	    --controller "tcp://127.0.0.1:$port" --hostname "$host" \
	    --kernel sim --sysfs-root "$work/$host/sys" \
	    --procfs-root "$work/$host/proc" --state-dir "$work/$host/state" \
	    --heartbeat-interval 500ms --rescan 500ms \
	    2>"$work/agent-$host.log" &
	pids="$pids $!"
	echo "$host: agent pid $!"
done
wait_for 15 hosts_ready 3
run ctl hosts

say "applying the example policy (deploy/examples/policy.yaml)"
run ctl policy apply "$src/deploy/examples/policy.yaml" \
    --message "demo: the seed cluster"
wait_for 20 policy_applied
run ctl vfs --host esx-e1

say "placing the VMs of deploy/examples/vms.yaml, each until its host's agent applied it"
run ctl vm apply "$src/deploy/examples/vms.yaml" --wait
say "the same file again changes nothing"
run ctl vm apply "$src/deploy/examples/vms.yaml"
run ctl vms
run ctl vm show web-1

say "a VM that does not fit is refused, with the reason for every host"
run ctl vm create web-3 --memory 4G --vcpus 2 --nic vlan1 || true

say "passthrough VMs are pinned: live migration is refused"
run ctl vm migrate web-1 esx-e2 || true

say "esx-e2 fails: its VMs stay assigned to it, nothing restarts elsewhere"
agent_e2=$(echo "$pids" | awk '{print $3}')
kill -9 "$agent_e2"
wait "$agent_e2" 2>/dev/null || true
# It is gone: "Stop it with" below names only what still runs.
pids=$(echo "$pids" | awk '{$3 = ""; print}' | tr -s ' ')
wait_for 20 host_down esx-e2
run ctl vms
run ctl vm create app-1 --memory 2G --vcpus 1 --nic trunk --host esx-e2 ||
    true

cat <<EOF

== what to try next
The cluster's state is in $work (database, logs, host trees).
EOF
if [ "$keep" -eq 1 ]; then
	cat <<EOF
It keeps running (controller and agents of esx-e1 and esx-e3; esx-e2 was
killed). Explore it with:

  export VFLEET_CONTROLLER=$admin
  $ctl_bin summary
  $ctl_bin vm show db-1
  $ctl_bin vm xml web-1
  $ctl_bin vm delete web-1
  $ctl_bin plan --count 10 --memory 2G --vcpus 1 --nic trunk
  $ctl_bin host drain esx-e1
  $ctl_bin events

Stop it with: kill $pids
EOF
else
	cat <<EOF
Run deploy/demo.sh --keep to leave the cluster running and explore it with
vfleetctl (vm show, vm xml, host drain, vm delete, events, policy status).
EOF
fi
