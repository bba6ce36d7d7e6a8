#!/bin/sh
# demo_test.sh BUILD_DIR SOURCE_DIR - runs deploy/demo.sh as README tells
# an operator to (against the already built tree) and checks that it did
# the product's main job: VMs placed on the hosts the example policy and
# its anti-affinity rule give them, a VM refused with its reasons, the
# migration refused, and the VMs of the failed host kept and shown
# host-down.
set -u
build=$1
src=$2
work="$build/tests/deploy/demo"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out="$work.out"
mkdir -p "$(dirname "$work")"
start=$(date +%s)
if ! "$src/deploy/demo.sh" --build-dir "$build" --work "$work" \
	--port "$port" >"$out" 2>&1; then
	echo "FAIL: deploy/demo.sh exited non-zero; its output:"
	cat "$out"
	exit 1
fi
took=$(($(date +%s) - start))
fails=0
expect() {
	if grep -q -- "$2" "$out"; then
		echo "ok - $1"
	else
		echo "not ok - $1 (no line matching: $2)"
		fails=$((fails + 1))
	fi
}
expect "web-1 is placed on esx-e1" '^web-1 .*placed.*esx-e1\|^web-1 .*esx-e1.*placed'
expect "web-2 is placed on esx-e2 (anti-affinity)" '^web-2 .*esx-e2'
expect "applying the VM file again changes nothing" 'unchanged'
expect "web-3 is refused with a reason per host" 'no host fits vm web-3'
expect "the migration is refused naming the VF" \
	'web-1 holds 1 SR-IOV VF on esx-e1 (ens1f0 VF 0)'
expect "web-2 stays on esx-e2, shown host-down" '^web-2 .*host-down'
expect "nothing is placed on the down host" 'esx-e2: down since'
expect "it says what to try next" 'what to try next'
echo "deploy/demo.sh took $took s"
if [ "$fails" -ne 0 ]; then
	echo "--- demo output"
	cat "$out"
	exit 1
fi
