#!/bin/sh
# Integration tests for vfleet-controller: the real daemon, protocol test
# peers over loopback tcp, vfleetctl, and the sqlite3 shell on the real
# database file. Everything runs with CURVE keys made by vfleetctl keys
# (tests/lib.sh), but for the refuse case's part on --insecure itself.
#
# usage: integration.sh CASE   (inventory, badinput, conformance, liveness,
#                               restart, kill9, refuse, agent, diskfull,
#                               busy, policy, rollout)
# Needs VFLEET_BINARY_DIR (set by ctest) and jq, sqlite3; the agent case
# also python3 (tests/fixtures/mktree.py builds the agents' sysfs trees).
# VFLEET_KEEP=1 keeps the work directory (logs, database) for a post-mortem.
set -eu

case_name=${1:?usage: integration.sh CASE}
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR is not set}
# VFLEET_CONTROLLER runs the cases against another build of the daemon.
controller_bin=${VFLEET_CONTROLLER:-$bin/controller/vfleet-controller}
peer_bin=$bin/tests/controller/vfleet-test-peer
ctl_bin=$bin/cli/vfleetctl
agent_bin=$bin/agent/vfleet-agent
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

work=$(mktemp -d /tmp/vfleet-ctl-it.XXXXXX)
# Below the kernel's ephemeral port range (32768 and up).
port=$((12000 + $$ % 20000))
agents=tcp://127.0.0.1:$port
admin=ipc://$work/state/admin.sock
pids=""
loops=""
mounted=""
state_dir=$work/state
fail_logs="controller:30 peer:10"
# Fast liveness, for every start_controller (tests/lib.sh).
controller_opts="--heartbeat-interval 200ms --dead-after 5"
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"

cleanup() {
	for pid in $loops; do
		kill "$pid" 2>/dev/null || true
	done
	test_stop_pids
	if [ -n "$mounted" ]; then
		umount "$mounted" 2>/dev/null || true
	fi
	test_remove_work
}
trap cleanup EXIT INT TERM

# The admin API's summary (JSON); vfleetctl has no verb for it.
summary() {
	"$peer_bin" --controller "$admin" --request summary
}

stop_controller() {
	kill -TERM "$controller_pid"
	wait "$controller_pid" || fail "controller did not stop cleanly"
}

# Authorises a key for each host of the peer options "$@" (--host NAME
# [--count N]) and sets peer_opts to give each host its own.
peer_keys() {
	host=peer
	count=1
	prev=
	for arg in "$@"; do
		case $prev in
		--host) host=$arg ;;
		--count) count=$arg ;;
		esac
		prev=$arg
	done
	test_peer_opts "$host" "$count"
}

# A peer on the agents endpoint, in the foreground, with its hosts' keys.
peer() {
	peer_keys "$@"
	# shellcheck disable=SC2086 # peer_opts is a list of words
	"$peer_bin" --controller "$agents" $peer_opts "$@"
}

# Starts a peer in the background, with its hosts' keys; sets peer_pid.
start_peer() {
	peer_keys "$@"
	# shellcheck disable=SC2086 # peer_opts is a list of words
	"$peer_bin" --controller "$agents" $peer_opts "$@" \
		>>"$work/peer.log" 2>&1 &
	peer_pid=$!
	pids="$pids $peer_pid"
}

# Starts a real vfleet-agent for host $1 with its key, the options "$@"
# after it; output to $work/agent.log. Sets agent_pid.
start_agent() {
	test_agent_opts "$1"
	shift
	# shellcheck disable=SC2086 # agent_opts is a list of words
	"$agent_bin" --controller "$agents" $agent_opts "$@" \
		>>"$work/agent.log" 2>&1 &
	agent_pid=$!
	pids="$pids $agent_pid"
}

# Waits until a shell condition holds, up to $2 tenths of a second.
wait_for() {
	i=0
	until eval "$1"; do
		i=$((i + 1))
		[ $i -lt "${2:-50}" ] || fail "timed out waiting for: $1"
		sleep 0.1
	done
}

host_state() {
	ctl -o json hosts | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .state'
}

vf_count() {
	ctl -o json vfs "$@" | jq '.vfs | length'
}

# Fields an agent reports, in the order vfleetctl prints them.
vf_fields='[.vfs[] | {host, pf, pf_ifname, index, pci_addr, iommu_group,
  iommu_isolated, driver, mac, vlan, qos, vlan_proto, spoofchk, trust,
  link_state, min_tx_rate, max_tx_rate, settings_known, in_use}]'

case $case_name in
inventory)
	start_controller
	start_peer --host alpha --count 3 --pfs 2 --vfs 8 --dump "$work/alpha.json"
	start_peer --host beta --pfs 1 --vfs 16 --dump "$work/beta.json"
	wait_for '[ -s "$work/alpha.json" ] && [ -s "$work/beta.json" ]'
	wait_for '[ "$(vf_count)" = 64 ]'

	# JSON: exactly the VFs the peers sent, field for field.
	jq -S "$vf_fields" "$work/alpha.json" >"$work/alpha.want"
	ctl -o json vfs | jq -S "[.vfs[] | select(.host != \"beta\")] |
		{vfs: .} | $vf_fields" >"$work/alpha.got"
	cmp -s "$work/alpha.want" "$work/alpha.got" ||
		fail "vfs JSON differs from what alpha sent: $(diff "$work/alpha.want" "$work/alpha.got" | head -5)"
	jq -S "$vf_fields" "$work/beta.json" >"$work/beta.want"
	ctl -o json vfs --host beta | jq -S "$vf_fields" >"$work/beta.got"
	cmp -s "$work/beta.want" "$work/beta.got" ||
		fail "vfs JSON differs from what beta sent"

	# Tables: one aligned line per object.
	ctl hosts >"$work/hosts.txt"
	[ "$(wc -l <"$work/hosts.txt")" -eq 5 ] || fail "hosts table: $(cat "$work/hosts.txt")"
	grep -Eq '^alpha-1 +ready +[0-9T:-]+Z +2 +16 +16 +yes +vmx +test-peer +no$' \
		"$work/hosts.txt" || fail "hosts table line: $(cat "$work/hosts.txt")"
	grep -Eq '^beta +ready .* 1 +16 +16 ' "$work/hosts.txt" ||
		fail "hosts table beta: $(cat "$work/hosts.txt")"
	ctl pfs --host beta >"$work/pfs.txt"
	grep -Eq '^beta +0000:3b:00.0 +ens1f0 +ice +8086 +159b +0 +25000 +yes +16/128 +16 +present$' \
		"$work/pfs.txt" || fail "pfs table: $(cat "$work/pfs.txt")"
	[ "$(ctl pfs | wc -l)" -eq 8 ] || fail "pfs table should have 7 PFs"
	want_mac=$(jq -r '.vfs[5].mac' "$work/beta.json")
	ctl vfs --host beta --pf 0000:3b:00.0 >"$work/vfs.txt"
	[ "$(wc -l <"$work/vfs.txt")" -eq 17 ] || fail "vfs table length"
	grep -Eq "^beta +0000:3b:00.0 +5 +0000:3b:01.5 +$want_mac +105 +5 +on +off +disable +105 +free +-$" \
		"$work/vfs.txt" || fail "vfs table line: $(sed -n 7p "$work/vfs.txt")"
	head -1 "$work/vfs.txt" | grep -Eq '^HOST +PF +VF +PCI +MAC +VLAN ' ||
		fail "vfs table header"
	[ "$(vf_count --host alpha-2 --free)" = 16 ] || fail "vfs --free"
	[ "$(vf_count --host alpha-2 --pf 0000:3b:00.1)" = 8 ] || fail "vfs --pf"
	ctl -o json host alpha-0 | jq -e '.host.pfs == 2 and .host.vfs == 16 and
		.host.hugepages[0].size_kb == 1048576 and
		.host.iommu.ready == true and (.host.pf_list | length) == 2' \
		>/dev/null || fail "host detail JSON"
	ctl host alpha-0 | grep -Eq '^iommu cmdline +intel_iommu=on iommu=pt$' ||
		fail "host detail table"
	ctl -o json events | jq -e '[.events[] | select(.kind ==
		"host-registered")] | length == 4' >/dev/null || fail "events"
	ctl events --since 1h | grep -q 'host-registered' || fail "events table"

	# Errors: exit 1 with a reason, or 2 for usage.
	set +e
	ctl host nosuch 2>"$work/err"
	[ $? -eq 1 ] && grep -q 'no host named "nosuch"' "$work/err" ||
		fail "host nosuch"
	ctl vfs --host nosuch 2>/dev/null
	[ $? -eq 1 ] || fail "vfs --host nosuch should fail"
	ctl vfs --free --state free 2>/dev/null
	[ $? -eq 2 ] || fail "conflicting options should be a usage error"
	"$ctl_bin" -c "ipc://$work/none.sock" hosts --timeout 0.3 2>"$work/err"
	[ $? -eq 1 ] || fail "unreachable controller should exit 1"
	set -e
	grep -q "cannot reach controller at ipc://$work/none.sock: is vfleet-controller running?" \
		"$work/err" || fail "unreachable message: $(cat "$work/err")"
	# Without -c, vfleetctl must look where the controller listens by
	# default (test_controller_options checks the controller's side).
	set +e
	"$ctl_bin" hosts --timeout 0.3 2>"$work/err"
	set -e
	grep -q "cannot reach controller at ipc:///var/lib/vfleet/admin.sock:" \
		"$work/err" || fail "default endpoint: $(cat "$work/err")"
	;;

badinput)
	start_controller
	start_peer --host good --pfs 2 --vfs 4 --dump "$work/good.json"
	wait_for '[ "$(vf_count --host good)" = 8 ]'
	ctl -o json vfs >"$work/before.json"
	for spec in no-hello:NOT_WELCOME num-vfs:MALFORMED too-many-vfs:INVALID \
		version:VERSION garbage:MALFORMED stale-delta:RESYNC \
		wrong-host:INVALID unexpected:UNEXPECTED; do
		kind=${spec%%:*}
		code=${spec#*:}
		out=$(peer --host "bad-$kind" --send-bad "$kind") ||
			fail "$kind: no ERROR: $out"
		case $out in
		"$code "*) ;;
		*) fail "$kind: expected $code, got: $out" ;;
		esac
	done
	for spec in "admin-garbage:ERROR MALFORMED" admin-unknown-verb:UNKNOWN_VERB \
		admin-bad-param:INVALID; do
		kind=${spec%%:*}
		code=${spec#*:}
		out=$("$peer_bin" --controller "$admin" --send-bad "$kind") ||
			fail "$kind: no REPLY: $out"
		case $out in
		"$code "*) ;;
		*) fail "$kind: expected $code, got: $out" ;;
		esac
	done
	peer --host good --send-bad num-vfs >/dev/null ||
		fail "num-vfs for good"
	ctl -o json vfs >"$work/after.json"
	cmp -s "$work/before.json" "$work/after.json" ||
		fail "bad input changed the stored inventory"
	ctl -o json hosts | jq -e '[.hosts[].name] | index("bad-version") == null' \
		>/dev/null || fail "a host with an incompatible version was registered"
	grep -q 'malformed message from an agent: inventory.pfs\[0\].num_vfs: 129 exceeds total_vfs 128; answered' \
		"$work/controller.log" || fail "no log line for the malformed inventory"
	grep -q 'host bad-too-many-vfs: INVENTORY dropped: PF 0000:3b:00.0: 4 VFs listed but num_vfs is 3' \
		"$work/controller.log" || fail "no log line for the invalid inventory"
	kill -0 "$controller_pid" || fail "controller died on bad input"
	;;

conformance)
	# PROTOCOL.md 7.6 on both sockets.
	start_controller
	# A key authorised while the controller runs (here, just now) is
	# admitted at once: its first message is answered, not dropped as a
	# revoked key's.
	out=$(peer --host c-new --send-bad no-hello) ||
		fail "a new key's first message: no answer: $out"
	case $out in
	"NOT_WELCOME "*) ;;
	*) fail "a new key's first message: $out" ;;
	esac
	! grep -q 'not authorised (revoked)' "$work/controller.log" ||
		fail "a new key was taken for a revoked one"
	for kind in error bad-error headerless; do
		out=$(peer --host "c-$kind" --send-bad "$kind") ||
			fail "agent socket answered $kind: $out"
	done
	for kind in admin-error admin-bad-error admin-headerless; do
		out=$("$peer_bin" --controller "$admin" --send-bad "$kind") ||
			fail "admin socket answered $kind: $out"
	done
	out=$(peer --host c-trunc --send-bad truncated) ||
		fail "truncated: no ERROR: $out"
	case $out in
	"MALFORMED "*"(request_id 4242)") ;;
	*) fail "truncated message: $out" ;;
	esac
	out=$("$peer_bin" --controller "$admin" --send-bad admin-garbage) ||
		fail "admin-garbage: no answer: $out"
	case $out in
	"ERROR MALFORMED "*"(request_id 1)") ;;
	*) fail "undecodable admin request: $out" ;;
	esac
	out=$(peer --host c-version --send-bad version) ||
		fail "version: no ERROR: $out"
	case $out in
	"VERSION "*"(request_id 1)") ;;
	*) fail "version: $out" ;;
	esac
	ctl -o json hosts | jq -e '[.hosts[].name] == ["c-bad-error", "c-error", "c-headerless"]' \
		>/dev/null || fail "hosts after the conformance cases"
	kill -0 "$controller_pid" || fail "controller died"
	;;

diskfull)
	# A full disk fails commits; nothing unstored may count as stored, and
	# everything converges once space returns, without a restart.
	mounted=$work/small
	mkdir -p "$mounted"
	mount -t tmpfs -o size=3m tmpfs "$mounted" ||
		fail "cannot mount a tmpfs (this test runs as root)"
	state_dir=$mounted/state
	admin=ipc://$state_dir/admin.sock
	start_controller
	# The schema's creation leaves a WAL of about 256 KiB. Once the
	# checkpoint thread (every 200 ms) has copied it into the database,
	# commits reuse that WAL space without asking the disk for more: 16
	# hosts of 256 VFs are well past it (6 hosts fitted, and the wait
	# below timed out when a checkpoint ran before the fill). Filling
	# after a checkpoint is the harder case, so the test waits for one.
	sleep 0.5
	dd if=/dev/zero of="$mounted/fill" bs=4k 2>/dev/null || true
	start_peer --host full --count 16 --pfs 4 --vfs 64
	# Should the wait time out, what the state directory and the tmpfs
	# held is kept for the failure's report (disk.log).
	fail_logs="$fail_logs disk:20"
	wait_for 'grep -q "database or disk is full" "$work/controller.log" || {
		{ ls -l "$state_dir"; df -k "$mounted"; } >"$work/disk.log" 2>&1
		false; }' 100
	fail_logs="controller:30 peer:10"
	# While the disk stays full every commit fails and every heartbeat
	# (5 a second from each of 16 hosts) asks for the inventory again:
	# each kind of line is limited to 10 at once (vfleet-controller(8)).
	sleep 3
	for line in "cannot commit agent updates" "asking for a full inventory"; do
		n=$(grep -c "$line" "$work/controller.log" || true)
		[ "$n" -ge 1 ] && [ "$n" -le 10 ] ||
			fail "$n lines '$line' in 3 s of a full disk (1 to 10)"
	done
	summary=$(summary)
	stored=$(ctl -o json hosts | jq '.hosts | length')
	[ "$(echo "$summary" | jq .hosts.connected)" -le "$stored" ] ||
		fail "hosts count as connected that were never stored: $summary"
	[ "$(echo "$summary" | jq .vfs.total)" -lt 4096 ] ||
		fail "the disk was not full: everything was stored"
	rm -f "$mounted/fill"
	wait_for '[ "$(summary | jq ".vfs.total,
		.hosts.connected" | tr "\n" " ")" = "4096 16 " ]' 150
	kill -0 "$controller_pid" || fail "controller died"
	[ "$(ctl -o json events | jq '[.events[] | select(.kind ==
		"host-registered")] | length')" = 16 ] ||
		fail "registrations: $(ctl events)"
	stop_controller
	db=$state_dir/vfleet.db
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] ||
		fail "integrity_check after the disk was full"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM vfs')" = 4096 ] ||
		fail "VFs stored"
	;;

busy)
	# Listings run beside the agents' loop: with a short heartbeat and
	# several clients listing all the time, no host may seem down.
	start_controller --heartbeat-interval 250ms --dead-after 6
	start_peer --host busy --count 300 --pfs 2 --vfs 32
	wait_for '[ "$(summary | jq ".vfs.total,
		.hosts.connected" | tr "\n" " ")" = "19200 300 " ]' 300
	end=$(($(date +%s) + 8))
	for verb in vfs vfs pfs hosts; do
		(
			while [ "$(date +%s)" -lt "$end" ]; do
				ctl -o json $verb --timeout 10 >/dev/null 2>&1 || true
			done
		) &
		loops="$loops $!"
	done
	for pid in $loops; do
		wait "$pid"
	done
	loops=""
	downs=$(ctl -o json events --limit 5000 | jq '[.events[] |
		select(.kind == "host-down")] | length')
	[ "$downs" = 0 ] || fail "$downs false host-down events while listing"
	summary | jq -e '.hosts.connected == 300 and
		.hosts.down == 0' >/dev/null || fail "hosts: $(summary)"
	;;

liveness)
	start_controller
	start_peer --host live --pfs 1 --vfs 4
	wait_for '[ "$(host_state live)" = ready ] && [ "$(vf_count --host live)" = 4 ]'
	kill -KILL "$peer_pid"
	wait "$peer_pid" 2>/dev/null || true
	# 5 missed 200 ms heartbeats: down within about a second.
	wait_for '[ "$(host_state live)" = down ]' 40
	[ "$(vf_count --host live)" = 4 ] || fail "VFs must survive the host going down"
	ctl -o json host live | jq -e '.host.last_seen != null and
		.host.connected == false' >/dev/null || fail "down host detail"
	summary | jq -e '.hosts.connected == 0' >/dev/null ||
		fail "a down host counts as connected"
	ctl events | grep -Eq ' live +host-down ' || fail "no host-down event"
	start_peer --host live --pfs 1 --vfs 4
	wait_for '[ "$(host_state live)" = ready ]' 30
	ctl events | grep -Eq ' live +host-up ' || fail "no host-up event"
	;;

restart)
	start_controller
	start_peer --host keep --count 4 --pfs 2 --vfs 16
	wait_for '[ "$(vf_count)" = 128 ]'
	ctl -o json vfs >"$work/vfs.before"
	ctl -o json pfs >"$work/pfs.before"
	stop_controller
	set +e
	ctl hosts --timeout 0.3 2>"$work/err"
	[ $? -eq 1 ] || fail "vfleetctl should fail while the controller is down"
	set -e
	grep -q 'is vfleet-controller running?' "$work/err" || fail "down message"
	start_controller
	ctl -o json vfs >"$work/vfs.after"
	ctl -o json pfs >"$work/pfs.after"
	cmp -s "$work/vfs.before" "$work/vfs.after" || fail "VFs changed across a restart"
	cmp -s "$work/pfs.before" "$work/pfs.after" || fail "PFs changed across a restart"
	# The peers notice (NOT_WELCOME), say HELLO again and stay ready.
	wait_for 'ctl -o json hosts | jq -e "[.hosts[] | select(.connected)] |
		length == 4" >/dev/null' 40
	# Past the dead-after period, all still ready: nobody timed out.
	sleep 1.5
	ctl -o json hosts | jq -e '[.hosts[] | select(.state == "ready")] |
		length == 4' >/dev/null || fail "hosts not ready after the restart"
	ctl events | grep -q 'controller-stop' || fail "no controller-stop event"
	;;

kill9)
	start_controller
	start_peer --host stream --count 6 --pfs 2 --vfs 32 --updates 400
	wait_for '[ "$(vf_count 2>/dev/null || echo 0)" -gt 0 ]' 50
	sleep 0.3
	kill -KILL "$controller_pid"
	wait "$controller_pid" 2>/dev/null || true
	kill -KILL "$peer_pid"
	wait "$peer_pid" 2>/dev/null || true
	db=$work/state/vfleet.db
	start_controller
	stop_controller
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] ||
		fail "integrity_check after kill -9"
	[ "$(sqlite3 "$db" 'PRAGMA foreign_key_check' | wc -l)" -eq 0 ] ||
		fail "foreign_key_check after kill -9"
	# Every stored host holds one whole report: 64 VFs whose VLANs all
	# belong to the stored generation (peer reports use 100 + index +
	# generation - 1).
	bad=$(sqlite3 "$db" "SELECT h.name FROM hosts h
		WHERE h.generation > 0 AND (
		(SELECT count(*) FROM vfs v JOIN pfs p ON p.id = v.pf_id
		 WHERE p.host_id = h.id) <> 64 OR
		EXISTS (SELECT 1 FROM vfs v JOIN pfs p ON p.id = v.pf_id
		 WHERE p.host_id = h.id AND
		 v.vlan <> (100 + v.idx + h.generation - 1) % 4095))")
	[ -z "$bad" ] || fail "inconsistent hosts after kill -9: $bad"
	stored=$(sqlite3 "$db" 'SELECT count(*) FROM hosts WHERE generation > 0')
	[ "$stored" -ge 1 ] || fail "nothing was stored before the kill"
	echo "kill9: $stored hosts consistent, generations" \
		"$(sqlite3 "$db" 'SELECT group_concat(generation) FROM hosts')"
	;;

refuse)
	# Neither keys nor --insecure: refused, naming both (a test of the
	# choice itself, so no keys here).
	set +e
	"$controller_bin" --state-dir "$work/state" --agents "$agents" \
		2>"$work/err"
	[ $? -eq 1 ] && grep -q -- '--insecure' "$work/err" &&
		grep -q 'vfleetctl keys init' "$work/err" ||
		fail "start without --insecure or keys: $(cat "$work/err")"
	set -e
	# Two controllers on one database: the second refuses.
	start_controller
	# Only the owner may use the admin socket, and the state directory.
	[ "$(stat -c %a "$work/state/admin.sock")" = 600 ] ||
		fail "admin.sock mode $(stat -c %a "$work/state/admin.sock")"
	[ "$(stat -c %a "$work/state")" = 700 ] || fail "state dir mode"
	set +e
	"$controller_bin" --keys "$work/keys" --state-dir "$work/state" \
		--agents "tcp://127.0.0.1:$((port + 1))" \
		--admin "ipc://$work/admin2.sock" 2>"$work/err"
	[ $? -eq 1 ] || fail "second controller on the same db should exit 1"
	set -e
	grep -q "is in use by another vfleet-controller (pid $controller_pid" \
		"$work/err" || fail "lock message: $(cat "$work/err")"
	kill -0 "$controller_pid" || fail "first controller died"
	stop_controller

	# The admin API over tcp, with an admin key.
	admin_ipc=$admin
	admin=tcp://127.0.0.1:$((port + 2))
	test_admin_key
	start_controller --admin "$admin"
	ctl -o json hosts | jq -e '.hosts == []' >/dev/null ||
		fail "tcp admin endpoint"
	stop_controller
	# This part tests --insecure itself: plaintext on both endpoints, a
	# peer without a key registers and vfleetctl --insecure lists it.
	ctl_opts=--insecure
	controller_insecure=yes
	start_controller --admin "$admin"
	"$peer_bin" --controller "$agents" --host plain >>"$work/peer.log" 2>&1 &
	pids="$pids $!"
	wait_for '[ "$(host_state plain)" = ready ]'
	stop_controller
	controller_insecure=
	admin=$admin_ipc
	ctl_opts=

	# A newer schema is refused, naming both versions; nothing written.
	mkdir -p "$work/new"
	sqlite3 "$work/new/vfleet.db" 'CREATE TABLE t (x); PRAGMA user_version = 99'
	cp "$work/new/vfleet.db" "$work/new.copy"
	set +e
	"$controller_bin" --keys "$work/keys" --state-dir "$work/new" \
		--agents "$agents" \
		2>"$work/err"
	[ $? -eq 1 ] || fail "newer schema should be refused"
	set -e
	grep -q 'schema version 99 is newer than this build.s version [0-9][0-9]*;' \
		"$work/err" || fail "newer schema message: $(cat "$work/err")"
	cmp -s "$work/new/vfleet.db" "$work/new.copy" || fail "newer db was modified"

	# A corrupt file is refused and left alone.
	mkdir -p "$work/bad"
	head -c 16384 /dev/urandom >"$work/bad/vfleet.db"
	cp "$work/bad/vfleet.db" "$work/bad.copy"
	set +e
	"$controller_bin" --keys "$work/keys" --state-dir "$work/bad" \
		--agents "$agents" \
		2>"$work/err"
	[ $? -eq 1 ] || fail "corrupt db should be refused"
	set -e
	grep -q "$work/bad/vfleet.db: .*not a database" "$work/err" ||
		fail "corrupt message: $(cat "$work/err")"
	cmp -s "$work/bad/vfleet.db" "$work/bad.copy" || fail "corrupt db was modified"

	# A database the controller may not write is refused (run as nobody,
	# since root writes anything).
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		mkdir -p "$work/ro"
		cp "$work/state/vfleet.db" "$work/ro/vfleet.db"
		chmod 0444 "$work/ro/vfleet.db"
		# Its own copy of the keys, as the controller's user owns them.
		cp -a "$work/keys" "$work/ro-keys"
		chown -R 65534:65534 "$work/ro" "$work/ro-keys"
		chmod 0755 "$work" "$work/ro"
		set +e
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$controller_bin" --keys "$work/ro-keys" \
			--state-dir "$work/ro" --agents "$agents" 2>"$work/err"
		rc=$?
		set -e
		[ $rc -eq 1 ] && grep -q 'read-only' "$work/err" ||
			fail "read-only db: rc $rc: $(cat "$work/err")"
	fi
	;;

agent)
	# Real vfleet-agent processes reporting recorded sysfs trees.
	for scenario in ixgbe-dualport i40e-xxv710; do
		python3 "$src/tests/fixtures/mktree.py" "$scenario" \
			"$work/trees/$scenario" >/dev/null
		"$agent_bin" --discover --json --no-netlink \
			--sysfs-root "$work/trees/$scenario/sys" \
			--procfs-root "$work/trees/$scenario/proc" \
			>"$work/$scenario.json"
	done
	start_controller
	agent_pids=""
	for scenario in ixgbe-dualport i40e-xxv710; do
		start_agent "$(jq -r .host.hostname "$work/$scenario.json")" \
			--no-netlink --sysfs-root "$work/trees/$scenario/sys" \
			--procfs-root "$work/trees/$scenario/proc" \
			--state-dir "$work/agent-state-$scenario"
		agent_pids="$agent_pids $agent_pid"
	done
	want_vfs=$(cat "$work"/*.json | jq -s '[.[].pfs[].vfs | length] | add')
	wait_for '[ "$(vf_count)" = "$want_vfs" ]' 100
	pf_fields='[.pfs[] | {pci_addr, ifname, driver, vf_driver, vendor_id,
	  device_id, numa_node, link_up, link_speed, num_vfs, total_vfs, note}]'
	for scenario in ixgbe-dualport i40e-xxv710; do
		host=$(jq -r .host.hostname "$work/$scenario.json")
		[ "$(host_state "$host")" = ready ] || fail "$host not ready"
		# Discovery prints an absent note as null and no VF driver as
		# "none"; on the wire both are empty strings.
		jq -S ".pfs |= map(.note //= \"\" | if .vf_driver == \"none\"
		  then .vf_driver = \"\" else . end) | $pf_fields" \
			"$work/$scenario.json" >"$work/pfs.want"
		ctl -o json pfs --host "$host" | jq -S "$pf_fields" >"$work/pfs.got"
		cmp -s "$work/pfs.want" "$work/pfs.got" ||
			fail "$host PFs differ: $(diff "$work/pfs.want" "$work/pfs.got" | head -8)"
		jq -S '[.pfs[] as $p | $p.vfs[] | {pf: $p.pci_addr, index: .vf,
		  pci_addr, driver, iommu_group, iommu_isolated, in_use,
		  settings_known}]' "$work/$scenario.json" >"$work/vfs.want"
		ctl -o json vfs --host "$host" | jq -S '[.vfs[] | {pf, index,
		  pci_addr, driver, iommu_group, iommu_isolated, in_use,
		  settings_known}]' >"$work/vfs.got"
		cmp -s "$work/vfs.want" "$work/vfs.got" ||
			fail "$host VFs differ: $(diff "$work/vfs.want" "$work/vfs.got" | head -8)"
		ctl -o json host "$host" | jq -e --slurpfile d "$work/$scenario.json" \
			'.host.kernel == $d[0].host.kernel and
			 .host.iommu.ready == $d[0].host.iommu.ready and
			 .host.memory.total_kb == $d[0].host.memory.total_kb and
			 .host.hugepages == $d[0].host.memory.hugepages' >/dev/null ||
			fail "$host facts differ from discovery"
	done
	# Killing an agent turns its host down; a new agent brings it back.
	first=$(echo $agent_pids | cut -d' ' -f1)
	host=$(jq -r .host.hostname "$work/ixgbe-dualport.json")
	kill -KILL "$first"
	wait_for '[ "$(host_state "$host")" = down ]' 40
	start_agent "$host" --no-netlink \
		--sysfs-root "$work/trees/ixgbe-dualport/sys" \
		--procfs-root "$work/trees/ixgbe-dualport/proc" \
		--state-dir "$work/agent-state-ixgbe-dualport"
	wait_for '[ "$(host_state "$host")" = ready ]' 50
	[ "$(vf_count)" = "$want_vfs" ] || fail "VFs changed across the agent restart"
	;;

retention)
	# The event log keeps the newest --event-max-count events (set in a
	# configuration file here, so the daemon's file reading is exercised
	# too), trimmed by the running loop.
	printf '# retention test\nevent-max-count = 3\nevent-max-age = 30d\n' \
		>"$work/controller.conf"
	start_controller --config "$work/controller.conf"
	start_peer --host r --count 6 --pfs 1 --vfs 2
	wait_for '[ "$(ctl hosts | grep -c " ready ")" = 6 ]'
	newest=$(sqlite3 "$state_dir/vfleet.db" "SELECT max(id) FROM events")
	[ "$newest" -ge 7 ] || fail "expected 7 events, newest id $newest"
	wait_for '[ "$(sqlite3 "$state_dir/vfleet.db" \
		"SELECT count(*) FROM events")" = 3 ]' 50
	[ "$(ctl -o json events | jq '[.events[].id] | min')" = $((newest - 2)) ] ||
		fail "the kept events are not the newest: $(ctl events)"
	# A bad value in the file names its line, and the daemon exits 2.
	printf 'event-max-count = 3\nevent-max-age = forever\n' \
		>"$work/bad.conf"
	set +e
	"$controller_bin" --config "$work/bad.conf" --keys "$work/keys" \
		--state-dir "$work/other" >"$work/bad.out" 2>&1
	rc=$?
	set -e
	[ "$rc" = 2 ] || fail "bad configuration file: exit $rc"
	grep -q "^vfleet-controller: $work/bad.conf:2: invalid --event-max-age \"forever\"" \
		"$work/bad.out" || fail "bad configuration file: $(cat "$work/bad.out")"
	;;

policy)
	# policy.apply goes through the admin thread to the main thread and
	# back, over the real admin socket; the revision and the host's
	# desired state are in the database file afterwards.
	start_controller
	start_peer --host gamma --pfs 2 --vfs 4
	wait_for '[ "$(vf_count --host gamma)" = 8 ]'
	cat >"$work/policy.yaml" <<-EOF
	version: 1
	networks:
	  - name: prod
	    vlan: 10
	host_groups:
	  - name: g
	    hosts: [gamma]
	    pfs:
	      - ifname: ens1f0
	        vfs: 4
	        networks: [prod]
	EOF
	apply() {
		"$peer_bin" --controller "$admin" --request policy.apply \
			--param author=it --param source=policy.yaml "$@"
	}
	out=$(apply --body "$work/policy.yaml") || fail "policy.apply failed"
	echo "$out" | jq -e '.revision == 1 and .hosts_changed == 1 and
		.hosts[0].host == "gamma" and .hosts[0].desired_revision == 1' \
		>/dev/null || fail "policy.apply reply: $out"
	db=$state_dir/vfleet.db
	[ "$(sqlite3 "$db" "SELECT revision || ' ' || author FROM policies")" = "1 it" ] ||
		fail "policy revision not stored"
	[ "$(sqlite3 "$db" 'SELECT revision, policy_revision FROM host_desired')" = "1|1" ] ||
		fail "desired state not stored"
	# Again: unchanged, nothing new stored.
	out=$(apply --body "$work/policy.yaml") || fail "second policy.apply failed"
	echo "$out" | jq -e '.unchanged and .hosts_changed == 0' >/dev/null ||
		fail "second policy.apply reply: $out"
	# A policy that does not parse: INVALID with its errors, nothing stored.
	printf 'version: 1\nnetworks: 7\n' >"$work/bad.yaml"
	if apply --body "$work/bad.yaml" 2>"$work/bad.out"; then
		fail "an invalid policy was accepted"
	fi
	grep -q '^INVALID policy rejected: ' "$work/bad.out" ||
		fail "invalid policy answer: $(cat "$work/bad.out")"
	grep -q '"errors":\["policy.yaml:2:' "$work/bad.out" ||
		fail "invalid policy errors: $(cat "$work/bad.out")"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM policies')" = 1 ] ||
		fail "an invalid policy was stored"
	# Read verbs still answer beside it, and the controller stops cleanly.
	summary | jq -e '.schema_version == 7' >/dev/null || fail "summary: $(summary)"
	stop_controller
	;;

rollout)
	# One real vfleet-agent on a simulated kernel: a desired state stored
	# while the controller was away is sent when the agent rejoins the
	# restarted controller, applied and confirmed; a VLAN changed behind
	# the agent's back is found as drift and set back.
	tree=$work/tree
	python3 "$src/tests/fixtures/mktree.py" i40e-xxv710 "$tree" >/dev/null
	host=hv-i40e-01
	pf=0000:37:00.0
	db=$state_dir/vfleet.db
	start_controller
	start_agent "$host" --kernel sim --rescan 0.3 \
		--sysfs-root "$tree/sys" --procfs-root "$tree/proc" \
		--state-dir "$work/agent-state"
	wait_for '[ "$(host_state "$host")" = ready ]' 100
	stop_controller
	# APPLY revision 1 (PROTOCOL.md 4.6): the PF keeps 16 VFs, VF 2 on
	# VLAN 100 (802.1Q).
	python3 - "$work/apply.bin" "$pf" <<-'PY'
		import struct, sys
		pf = sys.argv[2].encode()
		s = lambda b: struct.pack(">H", len(b)) + b
		msg = struct.pack(">HBBIQ", 0x5646, 1, 6, 0, 1)
		msg += struct.pack(">I", 1) + s(pf) + struct.pack(">H", 16)
		msg += struct.pack(">I", 1) + s(pf) + struct.pack(">HH", 2, 0x02)
		msg += bytes(6) + struct.pack(">HBHBBBIIH", 100, 0, 0x8100, 0, 0, 0,
		                              0, 0, 0)
		msg += struct.pack(">I", 0)
		open(sys.argv[1], "wb").write(msg)
	PY
	sqlite3 "$db" "INSERT INTO host_desired (host_id, revision, apply,
	  created_at) SELECT id, 1, readfile('$work/apply.bin'), 0 FROM hosts
	  WHERE name = '$host'; INSERT INTO apply_status (host_id, revision,
	  sent_at) SELECT id, 1, 0 FROM hosts WHERE name = '$host';"
	start_controller
	applied() {
		sqlite3 "$db" "SELECT s.state || ' ' || d.applied_revision
		  FROM apply_status s JOIN host_desired d USING (host_id)"
	}
	wait_for '[ "$(applied)" = "ok 1" ]' 100
	grep -q "host $host: sending APPLY revision 1 (host joined)" \
		"$work/controller.log" || fail "no APPLY sent on join"
	[ "$(sqlite3 "$db" "SELECT count(*) FROM events
	  WHERE kind = 'apply-ok'")" = 1 ] || fail "no apply-ok event"
	[ "$(ctl -o json vfs --host "$host" --pf "$pf" |
	  jq '.vfs[] | select(.index == 2) | .vlan')" = 100 ] ||
		fail "VF 2 is not on VLAN 100"
	state=$tree/sys/.vfleet-sim/state
	grep -q ' 100 0 0x8100 ' "$state" || fail "sim state lacks VF 2's VLAN"
	sed -i 's/ 100 0 0x8100 / 77 0 0x8100 /' "$state"
	# With no policy stored, drift is corrected (the default): the
	# controller logs the drift, sends the desired state again at once
	# (the last APPLY was answered), the VLAN goes back to 100 and the
	# drift rows go.
	wait_for 'grep -q "host $host: 1 settings drifted from desired revision 1; first: pf $pf vf 2 vlan: wanted 100, has 77" "$work/controller.log"' 100
	wait_for 'grep -q " 100 0 0x8100 " "$state"' 100
	grep -q "host $host: sending APPLY revision 1 (correcting drift)" \
		"$work/controller.log" || fail "drift not corrected"
	wait_for '[ "$(sqlite3 "$db" "SELECT count(*) FROM drift")" = 0 ]' 100
	;;

*)
	echo "unknown case $case_name" >&2
	exit 2
	;;
esac
echo "ok: $case_name"
