#!/bin/sh
# Integration tests of the real vfleetctl against vfleet-fake-admin, a
# stand-in for the controller's admin API on a real ZeroMQ socket: paging,
# options before and after the verb, terminal escaping, and what vfleetctl
# says when the controller is slow or absent. The rollout cases drive
# cli/cli_rollout.c (apply, rollback, progress, exit 4) and cli/cli_git.c
# (the commit id of a file in a temporary git repository, rollout_git);
# host_label drives cli/cli_label.c; vm drives cli/cli_vm.c against the
# fake's canned VM (tests/cli/vm/show.json). The fake speaks plaintext,
# as the controller's admin socket does on ipc; its tcp uses are tests of
# --insecure itself (CURVE against the real controller: vm_cli_test.sh,
# integration.sh, controller/curve_test.py, admin_access_test.py).
#
# usage: cli_test.sh CASE   (paging, stuck, options, escape, unreachable,
#                            summary, docs, rollout, rollout_incomplete,
#                            rollout_refused, rollout_git, rollback,
#                            policy_read, host_label, vm)
# Needs VFLEET_BINARY_DIR (set by ctest) and jq.
# VFLEET_KEEP=1 keeps the work directory for a post-mortem.
set -eu

case_name=${1:?usage: cli_test.sh CASE}
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR is not set}
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ctl_bin=$bin/cli/vfleetctl
fake_bin=$bin/tests/cli/vfleet-fake-admin

work=$(mktemp -d /tmp/vfleet-cli-test.XXXXXX)
admin=ipc://$work/admin.sock
pids=""
fail_logs=""
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
trap 'test_stop_pids; test_remove_work' EXIT INT TERM

# Starts the fake admin API on $admin with the given options and waits
# until it is bound; sets fake_pid and admin (to the endpoint bound, for
# "tcp://127.0.0.1:*"). Requests are logged to $work/log.
start_fake() {
	rm -f "$work/ready" "$work/log"
	"$fake_bin" --endpoint "$admin" --log "$work/log" --ready "$work/ready" \
		"$@" &
	fake_pid=$!
	pids="$pids $fake_pid"
	i=0
	until [ -s "$work/ready" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "fake admin did not come up"
		sleep 0.05
	done
	admin=$(cat "$work/ready")
}

# The exit status of a command whose standard output goes to file $1.
status_out() {
	out=$1
	shift
	set +e
	"$@" >"$out"
	st=$?
	set -e
	echo $st
}

# The exit status of a command that is expected to fail.
status_of() {
	set +e
	"$@"
	st=$?
	set -e
	echo $st
}

case $case_name in
paging)
	start_fake --rows 10 --page 3
	# Every page by default, merged into one object like a single reply.
	ctl -o json hosts >"$work/all.json"
	jq -e '(.hosts | length) == 10 and keys == ["hosts"] and
		.hosts[0].name == "host-00" and .hosts[9].name == "host-09"' \
		"$work/all.json" >/dev/null ||
		fail "merged JSON: $(head -c 300 "$work/all.json")"
	cat >"$work/want" <<-'EOF'
		hosts limit=10000
		hosts limit=10000 after=pos 2/+=
		hosts limit=10000 after=pos 5/+=
		hosts limit=10000 after=pos 8/+=
	EOF
	cmp -s "$work/want" "$work/log" ||
		fail "requests of a full listing: $(cat "$work/log")"
	# The table shows every page under one header.
	ctl hosts >"$work/hosts.txt"
	[ "$(wc -l <"$work/hosts.txt")" -eq 11 ] ||
		fail "hosts table: $(cat "$work/hosts.txt")"
	grep -Eq '^host-09 +ready +2026-11-25T08:38:40Z +1 +4 +4 +yes +vmx +0\.1\.0 +yes$' \
		"$work/hosts.txt" || fail "hosts row: $(tail -1 "$work/hosts.txt")"
	grep -Eq '^NAME +STATE +LAST-SEEN +PFS +VFS +FREE +IOMMU +CPU +AGENT +CORDONED$' \
		"$work/hosts.txt" || fail "hosts header: $(head -1 "$work/hosts.txt")"
	grep -Eq '^host-08 .* no$' "$work/hosts.txt" ||
		fail "hosts row of a host not cordoned: $(grep host-08 "$work/hosts.txt")"
	# --limit: one page, and the hint on stderr names the cursor.
	: >"$work/log"
	ctl pfs --limit 4 >"$work/one.txt" 2>"$work/err"
	[ "$(wc -l <"$work/one.txt")" -eq 5 ] || fail "--limit 4: $(cat "$work/one.txt")"
	grep -qx "vfleetctl: more pfs follow; for the next page add --after 'pos 3/+='" \
		"$work/err" || fail "--limit hint: $(cat "$work/err")"
	[ "$(cat "$work/log")" = "pfs limit=4" ] || fail "--limit request: $(cat "$work/log")"
	# --after passes the cursor back byte for byte.
	: >"$work/log"
	ctl -o json pfs --limit 4 --after 'pos 3/+=' >"$work/two.json" 2>"$work/err"
	jq -e '[.pfs[].host] == ["host-04", "host-05", "host-06", "host-07"] and
		.next == "pos 7/+="' "$work/two.json" >/dev/null ||
		fail "second page: $(cat "$work/two.json")"
	[ "$(cat "$work/log")" = "pfs limit=4 after=pos 3/+=" ] ||
		fail "--after request: $(cat "$work/log")"
	# The last page: no hint.
	ctl pfs --limit 4 --after 'pos 7/+=' >"$work/last.txt" 2>"$work/err"
	[ ! -s "$work/err" ] || fail "hint on the last page: $(cat "$work/err")"
	[ "$(wc -l <"$work/last.txt")" -eq 3 ] || fail "last page"
	# --all with --limit: every page, N rows each, filters kept.
	: >"$work/log"
	ctl -o json vfs --host host-00 --free --all --limit 6 >"$work/vfs.json"
	jq -e '(.vfs | length) == 10' "$work/vfs.json" >/dev/null ||
		fail "vfs --all --limit"
	cat >"$work/want" <<-'EOF'
		vfs host=host-00 state=free limit=6
		vfs host=host-00 state=free limit=6 after=pos 5/+=
	EOF
	cmp -s "$work/want" "$work/log" || fail "vfs requests: $(cat "$work/log")"
	# events: every page from the first event, by default and with --all;
	# --limit alone is the newest page (no cursor).
	for all in "" --all; do
		: >"$work/log"
		ctl -o json events $all --since 1700000000 >"$work/events.json"
		jq -e '[.events[].id] == [range(1; 11)]' "$work/events.json" \
			>/dev/null || fail "events $all: $(cat "$work/events.json")"
		head -1 "$work/log" | grep -qx 'events since=1700000000 limit=10000 after=0' ||
			fail "events $all starts after 0: $(cat "$work/log")"
		[ "$(grep -c after= "$work/log")" -eq 4 ] ||
			fail "events $all pages: $(cat "$work/log")"
	done
	: >"$work/log"
	ctl -o json events --limit 3 >"$work/newest.json"
	jq -e '[.events[].id] == [8, 9, 10] and .next == null' \
		"$work/newest.json" >/dev/null ||
		fail "events --limit 3: $(cat "$work/newest.json")"
	[ "$(cat "$work/log")" = "events limit=3" ] ||
		fail "events --limit request: $(cat "$work/log")"
	# A cursor the server never gave is its error, reported as such.
	[ "$(status_of ctl pfs --after bogus 2>"$work/err")" -eq 1 ] ||
		fail "bad cursor should exit 1"
	grep -qx 'vfleetctl: pfs: malformed cursor' "$work/err" ||
		fail "bad cursor message: $(cat "$work/err")"
	;;

stuck)
	# A server that answers a cursor with the same cursor would have
	# vfleetctl page forever; it stops at the second page instead.
	start_fake --stuck
	[ "$(status_of ctl hosts 2>"$work/err")" -eq 1 ] ||
		fail "a repeated cursor should exit 1"
	grep -qx 'vfleetctl: controller answered cursor "stuck" with the same cursor' \
		"$work/err" || fail "repeated cursor message: $(cat "$work/err")"
	[ "$(wc -l <"$work/log")" -eq 2 ] || fail "requests: $(cat "$work/log")"
	;;

options)
	start_fake --rows 2
	# Global options before the verb, after it, and after operands.
	ctl -o json hosts | jq -e '.hosts | length == 2' >/dev/null ||
		fail "-o json before the verb"
	"$ctl_bin" hosts -o json -c "$admin" | jq -e '.hosts | length == 2' \
		>/dev/null || fail "-o json -c after the verb"
	"$ctl_bin" host host-01 --controller="$admin" --output json \
		--timeout 2s | jq -e '.host.name == "host-01"' >/dev/null ||
		fail "global options after the operand"
	"$ctl_bin" --timeout 500ms host -c "$admin" host-01 >"$work/host.txt"
	grep -Eq '^name +host-01$' "$work/host.txt" || fail "host detail"
	grep -Eq '^ens2f0|^0000:05:00.0 +ens2f0' "$work/host.txt" ||
		fail "host PF table: $(cat "$work/host.txt")"
	# Unknown and misplaced options are named; verb options stay the verb's.
	[ "$(status_of ctl hosts --bogus 2>"$work/err")" -eq 2 ] ||
		fail "--bogus should be a usage error"
	grep -q "^vfleetctl: hosts: unknown option '--bogus'$" "$work/err" ||
		fail "--bogus message: $(head -1 "$work/err")"
	[ "$(status_of ctl hosts --host x 2>"$work/err")" -eq 2 ] ||
		fail "hosts --host should be a usage error"
	grep -q "^vfleetctl: hosts: unknown option '--host'$" "$work/err" ||
		fail "hosts --host message: $(head -1 "$work/err")"
	[ "$(status_of ctl vfs --limit 2>"$work/err")" -eq 2 ] ||
		fail "--limit without a value"
	grep -q "^vfleetctl: vfs: missing value for option '--limit'$" \
		"$work/err" || fail "--limit message: $(head -1 "$work/err")"
	[ "$(status_of ctl vfs --limit 0 2>/dev/null)" -eq 2 ] ||
		fail "--limit 0 should be a usage error"
	[ "$(status_of "$ctl_bin" --bogus hosts 2>"$work/err")" -eq 2 ] ||
		fail "global --bogus"
	grep -q "^vfleetctl: unknown option '--bogus'$" "$work/err" ||
		fail "global --bogus message: $(head -1 "$work/err")"
	[ "$(status_of ctl hosts -o xml 2>"$work/err")" -eq 2 ] ||
		fail "-o xml after the verb"
	[ "$(status_of ctl hosts --timeout 2h 2>"$work/err")" -eq 2 ] ||
		fail "--timeout 2h"
	grep -q "^vfleetctl: --timeout '2h' is not a duration" "$work/err" ||
		fail "--timeout message: $(cat "$work/err")"
	# A global option without its value before a policy subverb is a
	# usage error (it once read past the end of argv).
	[ "$(status_of ctl policy --controller 2>/dev/null)" -eq 2 ] ||
		fail "policy --controller without a value"
	[ "$(status_of "$ctl_bin" policy --timeout 2>/dev/null)" -eq 2 ] ||
		fail "policy --timeout without a value"
	# The offline verbs take the global options anywhere too.
	"$ctl_bin" policy validate "$src/tests/policy/ok/minimal.yaml" -o json \
		>/dev/null || fail "policy validate with -o after the file"
	;;

escape)
	start_fake --rows 3 --hostile
	ctl hosts >"$work/hosts.txt"
	ctl events --all >"$work/events.txt"
	ctl host 'host-01' >/dev/null
	# No raw control character reaches the terminal: one line per row.
	for f in hosts events; do
		if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" \
			"$work/$f.txt"; then
			fail "$f table holds raw control characters"
		fi
		[ "$(wc -l <"$work/$f.txt")" -eq 4 ] || fail "$f table lines"
	done
	grep -Fq 'evil\x1b[31m\nhost' "$work/hosts.txt" ||
		fail "escaped host name: $(cat -v "$work/hosts.txt")"
	grep -Fq 'bell\x07 title\x1b]0;pwned\x07 csi\u009b31m\nsecond line' \
		"$work/events.txt" || fail "escaped message: $(cat -v "$work/events.txt")"
	# The columns after an escaped name still line up.
	[ "$(awk '{ print index($0, "ready") }' "$work/hosts.txt" | sort -u |
		grep -vc '^0$')" -eq 1 ] || fail "columns: $(cat "$work/hosts.txt")"
	# JSON stays JSON: the same text, escaped the JSON way.
	ctl -o json hosts | jq -e '.hosts[1].name == "evil\u001b[31m\nhost"' \
		>/dev/null || fail "JSON host name"
	;;

unreachable)
	# Nothing listens: no socket file.
	[ "$(status_of ctl hosts --timeout 0.3 2>"$work/err")" -eq 1 ] ||
		fail "no socket should exit 1"
	grep -qx "vfleetctl: cannot reach controller at $admin: is vfleet-controller running? (No such file or directory)" \
		"$work/err" || fail "no socket message: $(cat "$work/err")"
	# Nothing listens: the socket file of a controller that died.
	start_fake --rows 1
	kill -9 "$fake_pid"
	wait "$fake_pid" 2>/dev/null || true
	[ -S "$work/admin.sock" ] || fail "kill -9 should leave the socket file"
	[ "$(status_of ctl hosts --timeout 0.3 2>"$work/err")" -eq 1 ] ||
		fail "stale socket should exit 1"
	grep -qx "vfleetctl: cannot reach controller at $admin: is vfleet-controller running? (Connection refused)" \
		"$work/err" || fail "stale socket message: $(cat "$work/err")"
	rm -f "$work/admin.sock"
	# Something listens and does not answer: a timeout, not "not running".
	start_fake --silent
	[ "$(status_of ctl hosts --timeout 300ms 2>"$work/err")" -eq 1 ] ||
		fail "silent controller should exit 1"
	grep -qx "vfleetctl: vfleet-controller at $admin did not answer within 0.3 s" \
		"$work/err" || fail "timeout message: $(cat "$work/err")"
	grep -qx "hosts limit=10000" "$work/log" || fail "the silent fake got no request"
	# The same over tcp, on a port the kernel chose: a silent listener,
	# then the same port closed. This part tests --insecure itself (the
	# fake speaks plaintext): its hint on a plaintext timeout.
	admin='tcp://127.0.0.1:*'
	start_fake --silent
	"$ctl_bin" -c "$admin" --insecure summary --timeout 0.3 2>"$work/err" ||
		true
	grep -qxF "vfleetctl: vfleet-controller at $admin did not answer within 0.3 s (with --insecure: a controller whose tcp endpoint needs CURVE does not answer plaintext)" \
		"$work/err" || fail "tcp timeout message: $(cat "$work/err")"
	kill "$fake_pid"
	wait "$fake_pid" 2>/dev/null || true
	# A closed port: one this test holds bound but not listening while
	# vfleetctl tries it, so that no test running beside it can take the
	# port meanwhile (the fake's, just freed, could be).
	admin=$(python3 - "$ctl_bin" 2>"$work/err" <<-'EOF'
		import socket, subprocess, sys
		held = socket.socket()
		held.bind(("127.0.0.1", 0))
		admin = "tcp://127.0.0.1:%d" % held.getsockname()[1]
		r = subprocess.run([sys.argv[1], "-c", admin, "--insecure", "summary",
		                    "--timeout", "0.3"], capture_output=True, text=True)
		sys.stderr.write(r.stderr)
		print(admin)
	EOF
	)
	grep -qx "vfleetctl: cannot reach controller at $admin: is vfleet-controller running? (Connection refused)" \
		"$work/err" || fail "tcp refused message: $(cat "$work/err")"
	;;

keys)
	# A tcp endpoint needs the admin key files; the error names the one
	# missing, from $HOME, $VFLEET_KEY or --key; a secret others may read
	# is refused. ipc and --insecure need none.
	mkdir -p "$work/home"
	tcp=tcp://127.0.0.1:9
	[ "$(HOME=$work/home status_of "$ctl_bin" -c $tcp summary \
		2>"$work/err")" -eq 1 ] || fail "tcp without keys should fail"
	grep -qF "vfleetctl: $tcp needs an admin key: cannot read secret key $work/home/.config/vfleet/admin.key_secret: No such file or directory; give --key FILE" \
		"$work/err" || fail "missing default key: $(cat "$work/err")"
	VFLEET_KEY=$work/env.key_secret status_of "$ctl_bin" -c $tcp summary \
		2>"$work/err" >/dev/null
	grep -qF "cannot read secret key $work/env.key_secret:" "$work/err" ||
		fail "VFLEET_KEY: $(cat "$work/err")"
	# A secret certificate file as zcert writes one (keys are Z85 text).
	cat >"$work/admin.key_secret" <<-'EOF'
		metadata
		    name = "ops"
		    role = "admin"
		curve
		    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
		    secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
	EOF
	chmod 644 "$work/admin.key_secret"
	status_of "$ctl_bin" -c $tcp --key "$work/admin.key_secret" summary \
		2>"$work/err" >/dev/null
	grep -qF "vfleetctl: $tcp needs an admin key: secret key $work/admin.key_secret has mode 0644: group or others may read or write it; chmod 600 $work/admin.key_secret" \
		"$work/err" || fail "open secret: $(cat "$work/err")"
	chmod 600 "$work/admin.key_secret"
	VFLEET_CONTROLLER_KEY=$work/none.key status_of "$ctl_bin" -c $tcp \
		--key "$work/admin.key_secret" summary 2>"$work/err" >/dev/null
	grep -qF "cannot read certificate $work/none.key: No such file or directory; give --controller-key FILE" \
		"$work/err" || fail "missing controller key: $(cat "$work/err")"
	# ipc, and tcp with --insecure: plaintext, no key read (this part
	# tests --insecure itself).
	start_fake
	HOME=$work/home ctl -o json hosts | jq -e '.hosts' >/dev/null ||
		fail "ipc needs no key"
	kill "$fake_pid"
	wait "$fake_pid" 2>/dev/null || true
	admin='tcp://127.0.0.1:*'
	start_fake
	HOME=$work/home ctl --insecure -o json hosts | jq -e '.hosts' \
		>/dev/null || fail "tcp --insecure needs no key"
	;;

host_label)
	start_fake
	ctl host label host-1 role=sriov zone=z2 --remove rack >"$work/out" ||
		fail "host label failed"
	cat >"$work/want" <<-'EOF'
		host             host-1
		labels           role=sriov zone=z2
		desired state    changed
	EOF
	cmp -s "$work/want" "$work/out" ||
		fail "host label table: $(diff "$work/want" "$work/out")"
	[ "$(cat "$work/log")" = "host.label name=host-1 body_len=54" ] ||
		fail "host label request: $(cat "$work/log")"
	ctl -o json host label host-1 --remove rack |
		jq -e '.labels == {} and .desired_changed == false' >/dev/null ||
		fail "host label JSON"
	ctl host label host-1 x=1 | grep -qx 'labels           rack=r0 x=1' ||
		fail "host label keeps other labels"
	ctl host host-1 | grep -qx 'labels           rack=r0 zone=z1' ||
		fail "host shows labels: $(ctl host host-1)"
	rm -f "$work/log"
	status_of ctl host label >/dev/null 2>&1
	[ "$(cat "$work/log")" = "host name=label" ] ||
		fail "host label alone shows host label: $(cat "$work/log")"
	rm -f "$work/log"
	for bad in 'host-1' 'host-1 role' 'host-1 -role=x' 'host-1 role=a/b' \
		'host-1 role=' 'host-1 --remove a=b' '--remove x'; do
		# shellcheck disable=SC2086
		[ "$(status_of ctl host label $bad 2>/dev/null)" -eq 2 ] ||
			fail "host label $bad should be a usage error"
	done
	[ ! -e "$work/log" ] || fail "a usage error sent: $(cat "$work/log")"
	[ "$(status_of ctl host label nohost role=x 2>"$work/err")" -eq 1 ] ||
		fail "host label of an unknown host should exit 1"
	grep -q 'no host named that' "$work/err" ||
		fail "unknown host error: $(cat "$work/err")"
	ctl host label --help | grep -q -- '--remove KEY' ||
		fail "host label --help"
	;;
vm)
	start_fake --vm "$src/tests/cli/vm/show.json" --rows 4 --page 3
	# vm create: the options into the body, the VM printed as vm show.
	ctl vm create web-9 --memory 4G --vcpus 2 --nic vlan1 \
		--nic trunk,mac=02:00:00:00:00:09 --host esx-e1 --group g \
		--numa required --separate-pfs >"$work/out" ||
		fail "vm create: $(cat "$work/out")"
	grep -q '^vm.create body=' "$work/log" ||
		fail "vm create request: $(cat "$work/log")"
	body=$(sed -n 's/^vm.create body=//p' "$work/log")
	echo "$body" | jq -e '. == {"name": "web-9", "memory_mib": 4096,
		"vcpus": 2, "nics": [{"network": "vlan1"},
		{"network": "trunk", "mac": "02:00:00:00:00:09"}],
		"host": "esx-e1", "group": "g", "numa": "required",
		"separate_pfs": true}' >/dev/null || fail "vm create body: $body"
	grep -Eqx 'state +reserved' "$work/out" || fail "vm create: $(cat "$work/out")"
	# --wait: the wait and timeout parameters, placed: exit 0; still
	# reserved or failed: exit 4; --timeout is the wait, in whole seconds.
	: >"$work/log"
	[ "$(status_out "$work/out" ctl vm create web-9 --memory 1G --vcpus 1 --nic vlan1 --wait)" -eq 0 ] ||
		fail "vm create --wait placed"
	grep -q '^vm.create wait=true timeout=60 body=' "$work/log" ||
		fail "--wait request: $(cat "$work/log")"
	grep -Eqx 'state +placed' "$work/out" || fail "placed: $(cat "$work/out")"
	: >"$work/log"
	[ "$(status_out /dev/null ctl vm create slow-1 --memory 1G --vcpus 1 --nic vlan1 --wait --timeout 1.5s 2>"$work/err")" -eq 4 ] ||
		fail "a VM still reserved after --wait should exit 4"
	grep -q '^vm.create wait=true timeout=2 body=' "$work/log" ||
		fail "--timeout 1.5s: $(cat "$work/log")"
	grep -qx 'vfleetctl: vm slow-1 was not placed: it is reserved' "$work/err" ||
		fail "not placed: $(cat "$work/err")"
	[ "$(status_out "$work/out" ctl vm create fail-1 --memory 1G --vcpus 1 --nic vlan1 --wait 2>/dev/null)" -eq 4 ] ||
		fail "a failed VM should exit 4"
	grep -Eqx 'error +vf 0 vlan: EINVAL' "$work/out" || fail "failed: $(cat "$work/out")"
	[ "$(status_out /dev/null ctl vm create fail-1 --memory 1G --vcpus 1 --nic vlan1 2>/dev/null)" -eq 0 ] ||
		fail "without --wait the answer's state does not count"
	# Refused: the text, then the closest hosts and the per-rule counts,
	# escaped.
	[ "$(status_of ctl vm create refuse-1 --memory 4G --vcpus 2 --nic vlan1 2>"$work/err")" -eq 1 ] ||
		fail "a refused VM should exit 1"
	cat >"$work/want" <<-'EOF'
		vfleetctl: vm.create: no host fits vm refuse-1: esx-e1: no PF carries vlan1; 41 hosts: memory 3.1 GiB free < 4 GiB
		closest host esx-e1\x1b[2J (nics): no PF carries vlan1
		41 hosts refused by rule memory, such as: memory 3.1 GiB free < 4 GiB
		1 host refused by rule nics, such as: no PF carries vlan1
	EOF
	cmp -s "$work/want" "$work/err" || fail "refusal: $(diff "$work/want" "$work/err")"
	[ "$(status_out "$work/out" ctl -o json vm create refuse-1 --memory 4G --vcpus 2 --nic vlan1 2>/dev/null)" -eq 1 ] ||
		fail "a refused VM with -o json should exit 1"
	jq -e '.reasons[0].hosts == 41 and .closest[0].rule == "nics"' \
		"$work/out" >/dev/null || fail "refusal JSON: $(cat "$work/out")"
	[ "$(status_of ctl vm create exists-1 --memory 4G --vcpus 2 --nic vlan1 2>"$work/err")" -eq 1 ] ||
		fail "an existing VM should exit 1"
	grep -qx 'vfleetctl: vm.create: vm exists-1 exists' "$work/err" ||
		fail "exists: $(cat "$work/err")"
	# Usage errors send nothing.
	rm -f "$work/log"
	for bad in 'x --memory 512K --vcpus 1 --nic n' 'x --memory 1.5G --vcpus 1 --nic n' \
		'x --vcpus 1 --nic n' 'x --memory 1G --nic n' 'x --memory 1G --vcpus 1' \
		'x --memory 1G --vcpus 0 --nic n' 'x --memory 1G --vcpus 1 --nic ,mac=1' \
		'x --memory 1G --vcpus 1 --nic n,mc=1' 'x --memory 1G --vcpus 1 --nic n,mac=' \
		'--memory 1G --vcpus 1 --nic n' 'x y --memory 1G --vcpus 1 --nic n'; do
		# shellcheck disable=SC2086
		[ "$(status_of ctl vm create $bad 2>/dev/null)" -eq 2 ] ||
			fail "vm create $bad should be a usage error"
	done
	[ ! -e "$work/log" ] || fail "a usage error sent: $(cat "$work/log")"
	# vm show: fields, the NIC table (a trunk as "trunk"), the pinned line.
	ctl vm show web-1 >"$work/out"
	cat >"$work/want" <<-'EOF'
		name             web-1
		state            placed
		host             esx-e1
		memory           4096 MiB
		vcpus            2
		power            on
		group            web
		numa             none

		NIC  NETWORK  MAC                PF      VF  PCI           VLAN
		0    vlan1    02:76:66:00:00:01  ens3f0  0   0000:3b:02.0  100
		1    trunk    02:76:66:00:00:02  ens3f1  3   0000:3b:0a.3  trunk

		pinned: passthrough VMs are pinned to their host: no live migration, no HA restart elsewhere, no snapshots
	EOF
	cmp -s "$work/want" "$work/out" || fail "vm show: $(diff "$work/want" "$work/out")"
	ctl -o json vm show web-1 | jq -e '.nics[1].trunk == true' >/dev/null ||
		fail "vm show JSON"
	[ "$(status_of ctl vm show nosuch 2>"$work/err")" -eq 1 ] ||
		fail "an unknown VM should exit 1"
	grep -qx 'vfleetctl: vm.show: no vm named that' "$work/err" ||
		fail "unknown VM: $(cat "$work/err")"
	[ "$(status_of ctl vm show 2>/dev/null)" -eq 2 ] || fail "vm show without NAME"
	[ "$(status_of ctl vm 2>/dev/null)" -eq 2 ] || fail "vm alone"
	[ "$(status_of ctl vm frob x 2>/dev/null)" -eq 2 ] || fail "vm frob"
	# vm xml: the domain, as test_cli_vm checks it in detail.
	ctl vm xml web-1 >"$work/xml"
	grep -qx '  <name>web-1</name>' "$work/xml" || fail "vm xml: $(cat "$work/xml")"
	[ "$(grep -c "<interface type='hostdev' managed='yes'>" "$work/xml")" -eq 2 ] ||
		fail "vm xml interfaces"
	[ "$(status_of ctl vm xml nosuch 2>/dev/null)" -eq 1 ] || fail "vm xml nosuch"
	# delete, power, migrate: the requests, the output, exit 1 for migrate.
	: >"$work/log"
	ctl vm delete web-1 | grep -qx 'deleted vm web-1' || fail "vm delete"
	ctl vm power web-1 off | grep -Eqx 'power +off' || fail "vm power"
	[ "$(status_of ctl vm migrate web-1 esx-e2 2>"$work/err")" -eq 1 ] ||
		fail "vm migrate should exit 1"
	grep -qx 'vfleetctl: vm.migrate: web-1 holds 1 SR-IOV VF on esx-e1 (ens3f0 VF 0): passthrough VMs are pinned; live migration is not possible' \
		"$work/err" || fail "vm migrate: $(cat "$work/err")"
	cat >"$work/want" <<-'EOF'
		vm.delete name=web-1
		vm.power name=web-1 state=off
		vm.migrate name=web-1 host=esx-e2
	EOF
	cmp -s "$work/want" "$work/log" || fail "requests: $(cat "$work/log")"
	[ "$(status_of ctl vm power web-1 2>/dev/null)" -eq 2 ] || fail "vm power without a state"
	[ "$(status_of ctl vm migrate web-1 2>/dev/null)" -eq 2 ] || fail "vm migrate without a host"
	# vm evacuate: --cold is required (a usage error that sends nothing),
	# the parameters, the VM as vm show prints it; refusals as vm create's.
	rm -f "$work/log"
	[ "$(status_of ctl vm evacuate web-1 2>"$work/err")" -eq 2 ] ||
		fail "vm evacuate without --cold should be a usage error"
	head -1 "$work/err" | grep -qx 'vfleetctl: vm evacuate: --cold is required: passthrough VMs are pinned to their host and only move cold, powered off (vm power NAME off) or with their host down' ||
		fail "evacuate without --cold: $(cat "$work/err")"
	[ ! -e "$work/log" ] || fail "evacuate without --cold sent: $(cat "$work/log")"
	ctl vm evacuate web-1 --cold >"$work/out" || fail "vm evacuate"
	cat >"$work/want" <<-'EOF'
		name             web-1
		state            placed
		host             esx-e2
		memory           4096 MiB
		vcpus            2
		power            off
		group            web
		numa             none

		NIC  NETWORK  MAC                PF      VF  PCI           VLAN
		0    vlan1    02:76:66:00:00:01  ens3f0  0   0000:3b:02.0  100
		1    trunk    02:76:66:00:00:02  ens3f1  3   0000:3b:0a.3  trunk

		pinned: passthrough VMs are pinned to their host: no live migration, no HA restart elsewhere, no snapshots
	EOF
	cmp -s "$work/want" "$work/out" || fail "vm evacuate: $(diff "$work/want" "$work/out")"
	ctl -o json vm evacuate --cold web-1 --host esx-e3 | jq -e '.host == "esx-e3"' \
		>/dev/null || fail "vm evacuate --host JSON"
	[ "$(status_of ctl vm evacuate on-1 --cold 2>"$work/err")" -eq 1 ] ||
		fail "evacuating a powered-on VM should exit 1"
	grep -qx 'vfleetctl: vm.evacuate: vm on-1 on esx-e1 is powered on: power it off first (vm power on-1 off); a cold evacuation needs it off or its host down' \
		"$work/err" || fail "evacuate powered on: $(cat "$work/err")"
	[ "$(status_of ctl vm evacuate refuse-1 --cold 2>"$work/err")" -eq 1 ] ||
		fail "a refused evacuation should exit 1"
	cat >"$work/want" <<-'EOF'
		vfleetctl: vm.evacuate: no host fits vm refuse-1: esx-e1: no PF carries vlan1; 41 hosts: memory 3.1 GiB free < 4 GiB
		closest host esx-e1\x1b[2J (nics): no PF carries vlan1
		41 hosts refused by rule memory, such as: memory 3.1 GiB free < 4 GiB
		1 host refused by rule nics, such as: no PF carries vlan1
	EOF
	cmp -s "$work/want" "$work/err" || fail "evacuate refusal: $(diff "$work/want" "$work/err")"
	# vm nic add | remove: the parameters, the VM with its NICs.
	ctl vm nic add web-1 vlan2 --mac 02:00:00:00:00:0a >"$work/out" ||
		fail "vm nic add: $(cat "$work/out")"
	sed -n '/^NIC/,/^$/p' "$work/out" >"$work/nics"
	cat >"$work/want" <<-'EOF'
		NIC  NETWORK  MAC                PF      VF  PCI           VLAN
		0    vlan1    02:76:66:00:00:01  ens3f0  0   0000:3b:02.0  100
		1    trunk    02:76:66:00:00:02  ens3f1  3   0000:3b:0a.3  trunk
		2    vlan2    02:00:00:00:00:0a  ens3f0  1   0000:3b:02.1  100

	EOF
	cmp -s "$work/want" "$work/nics" || fail "vm nic add: $(diff "$work/want" "$work/nics")"
	ctl vm nic remove web-1 0 >"$work/out" || fail "vm nic remove"
	sed -n '/^NIC/,/^$/p' "$work/out" >"$work/nics"
	cat >"$work/want" <<-'EOF'
		NIC  NETWORK  MAC                PF      VF  PCI           VLAN
		1    trunk    02:76:66:00:00:02  ens3f1  3   0000:3b:0a.3  trunk

	EOF
	cmp -s "$work/want" "$work/nics" || fail "vm nic remove: $(diff "$work/want" "$work/nics")"
	[ "$(status_of ctl vm nic add on-1 vlan1 2>"$work/err")" -eq 1 ] ||
		fail "a NIC for a powered-on VM should exit 1"
	grep -qx 'vfleetctl: vm.nic.add: vm on-1 is powered on: an SR-IOV NIC cannot be hot-added to a running VM; power it off first (vm power on-1 off)' \
		"$work/err" || fail "nic add powered on: $(cat "$work/err")"
	cat >"$work/want" <<-'EOF'
		vm.evacuate name=web-1 cold=true
		vm.evacuate host=esx-e3 name=web-1 cold=true
		vm.evacuate name=on-1 cold=true
		vm.evacuate name=refuse-1 cold=true
		vm.nic.add mac=02:00:00:00:00:0a name=web-1 network=vlan2
		vm.nic.remove name=web-1 index=0
		vm.nic.add name=on-1 network=vlan1
	EOF
	cmp -s "$work/want" "$work/log" || fail "requests: $(diff "$work/want" "$work/log")"
	rm -f "$work/log"
	for bad in 'nic' 'nic frob x' 'nic add web-1' 'nic add web-1 a b' \
		'nic remove web-1' 'nic remove web-1 x' 'nic remove web-1 -1' \
		'nic remove web-1 0 --mac 1' 'evacuate --cold' 'evacuate a b --cold' \
		'evacuate web-1 --cold --mac 1'; do
		# shellcheck disable=SC2086
		[ "$(status_of ctl vm $bad 2>/dev/null)" -eq 2 ] ||
			fail "vm $bad should be a usage error"
	done
	[ ! -e "$work/log" ] || fail "a usage error sent: $(cat "$work/log")"
	# vms: every page, the filters passed on.
	: >"$work/log"
	ctl vms --host esx-e1 --state placed >"$work/out"
	[ "$(wc -l <"$work/out")" -eq 5 ] || fail "vms: $(cat "$work/out")"
	grep -Eqx 'vm-03 +placed +esx-e1 +4096 +2 +on +2 +web' "$work/out" ||
		fail "vms row: $(cat "$work/out")"
	head -1 "$work/log" | grep -qx 'vms host=esx-e1 state=placed limit=10000' ||
		fail "vms request: $(cat "$work/log")"
	ctl -o json vms | jq -e '[.vms[].name] == ["vm-00", "vm-01", "vm-02", "vm-03"]' \
		>/dev/null || fail "vms JSON"
	# host cordon | uncordon | drain.
	ctl host cordon host-1 | grep -Eqx 'cordoned +yes' || fail "host cordon"
	ctl host uncordon host-1 | grep -Eqx 'cordoned +no' || fail "host uncordon"
	ctl host drain host-1 >"$work/out"
	grep -Eqx 'web-1 +placed +on' "$work/out" || fail "drain VMs: $(cat "$work/out")"
	grep -Eqx 'power off first +web-1' "$work/out" || fail "drain: $(cat "$work/out")"
	ctl -o json host drain host-1 | jq -e '.power_off_first == ["web-1"]' \
		>/dev/null || fail "drain JSON"
	[ "$(status_of ctl host drain nosuch 2>/dev/null)" -eq 1 ] || fail "drain nosuch"
	# "host drain" alone shows a host named drain, as "host label" does.
	rm -f "$work/log"
	status_of ctl host drain >/dev/null 2>&1
	[ "$(cat "$work/log")" = "host name=drain" ] ||
		fail "host drain alone: $(cat "$work/log")"
	;;

summary)
	start_fake
	ctl summary >"$work/summary.txt"
	cat >"$work/want" <<-'EOF'
		controller id    ctl-01
		version          0.1.0
		schema version   2
		started          2026-11-25T08:38:40Z
		heartbeat ms     2000
		hosts            3
		hosts ready      2
		hosts down       1
		hosts connected  2
		pfs              6
		vfs              192
		vfs free         190
		vfs reserved     0
		vfs assigned     1
		vfs broken       0
		vfs missing      1
		vms              1
	EOF
	cmp -s "$work/want" "$work/summary.txt" ||
		fail "summary table: $(diff "$work/want" "$work/summary.txt")"
	ctl summary -o json | jq -e '.controller_id == "ctl-01" and
		.vfs.total == 192 and .hosts.connected == 2' >/dev/null ||
		fail "summary JSON"
	[ "$(cat "$work/log")" = "summary
summary" ] || fail "summary sends no parameters: $(cat "$work/log")"
	[ "$(status_of ctl summary extra 2>/dev/null)" -eq 2 ] ||
		fail "summary takes no operand"
	;;

plan)
	start_fake
	# plan --count: vm create's options into one VM, the count beside it.
	ctl plan --count 5 --memory 1G --vcpus 1 --nic vlan1 --nic trunk,mac=02:00:00:00:00:09 \
		--host esx-e1 --group g --numa preferred --separate-pfs >"$work/out" ||
		fail "plan: $(cat "$work/out")"
	body=$(sed -n 's/^plan body=//p' "$work/log")
	echo "$body" | jq -e '. == {"vms": [{"name": "plan", "memory_mib": 1024,
		"vcpus": 1, "nics": [{"network": "vlan1"},
		{"network": "trunk", "mac": "02:00:00:00:00:09"}],
		"host": "esx-e1", "group": "g", "numa": "preferred",
		"separate_pfs": true}], "count": 5}' >/dev/null || fail "plan body: $body"
	cat >"$work/want" <<-'EOF'
		5 of 5 fit

		HOST    VMS
		esx-e1  3
		esx-e2  2
	EOF
	cmp -s "$work/want" "$work/out" || fail "plan: $(diff "$work/want" "$work/out")"
	# Some do not fit: exit 1, the first refusal and what runs out first.
	[ "$(status_out "$work/out" ctl plan --count 4 --name full --memory 1G --vcpus 1 --nic vlan1)" -eq 1 ] ||
		fail "plan with a refusal should exit 1"
	cat >"$work/want" <<-'EOF'
		3 of 4 fit

		HOST    VMS
		esx-e1  2
		esx-e2  1

		first refused: full-9: no host fits vm full-9: esx-e1: no PF carries vlan1
		closest host esx-e1\x1b[2J (nics): no PF carries vlan1
		41 hosts refused by rule memory, such as: memory 3.1 GiB free < 4 GiB
		1 host refused by rule nics, such as: no PF carries vlan1
	EOF
	cmp -s "$work/want" "$work/out" || fail "plan refused: $(diff "$work/want" "$work/out")"
	[ "$(status_out "$work/out" ctl -o json plan --count 4 --name full --memory 1G --vcpus 1 --nic vlan1)" -eq 1 ] ||
		fail "plan -o json with a refusal should exit 1"
	jq -e '.fit == 3 and .requested == 4 and .first_refusal.name == "full-9"' \
		"$work/out" >/dev/null || fail "plan JSON: $(cat "$work/out")"
	# Without --count: one copy.
	: >"$work/log"
	ctl plan --memory 2048 --vcpus 2 --nic vlan1 >/dev/null || fail "plan one"
	[ "$(cat "$work/log")" = 'plan body={"vms":[{"name":"plan","nics":[{"network":"vlan1"}],"memory_mib":2048,"vcpus":2}],"count":1}' ] ||
		fail "plan one: $(cat "$work/log")"
	# plan FILE: the file's VMs in vm.create's shape.
	cat >"$work/vms.yaml" <<-'EOF'
		version: 1
		vms:
		  - name: a-1
		    memory: 4G
		    vcpus: 2
		    nics:
		      - network: vlan1
		  - name: b-1
		    memory: 512M
		    vcpus: 1
		    host: esx-e2
		    group: g
		    separate_pfs: true
		    nics:
		      - network: vlan1
		      - network: trunk
		        mac: 02:00:00:00:00:0b
	EOF
	: >"$work/log"
	ctl plan "$work/vms.yaml" >"$work/out" || fail "plan FILE: $(cat "$work/out")"
	body=$(sed -n 's/^plan body=//p' "$work/log")
	echo "$body" | jq -e '. == {"vms": [{"name": "a-1", "memory_mib": 4096,
		"vcpus": 2, "nics": [{"network": "vlan1"}], "numa": "none",
		"separate_pfs": false}, {"name": "b-1", "memory_mib": 512, "vcpus": 1,
		"nics": [{"network": "vlan1"}, {"network": "trunk",
		"mac": "02:00:00:00:00:0b"}], "numa": "none", "separate_pfs": true,
		"host": "esx-e2", "group": "g"}]}' >/dev/null || fail "plan FILE body: $body"
	head -1 "$work/out" | grep -qx '2 of 2 fit' || fail "plan FILE: $(cat "$work/out")"
	# An invalid file: its errors as vm apply prints them, nothing sent.
	printf 'version: 1\nvms:\n  - name: x\n    memory: lots\n' >"$work/bad.yaml"
	rm -f "$work/log"
	[ "$(status_of ctl plan "$work/bad.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "plan of an invalid file should exit 1"
	grep -Eq "^$work/bad.yaml:4:[0-9]+: " "$work/err" || fail "plan bad file: $(cat "$work/err")"
	# Usage errors send nothing.
	for bad in '' '--memory 1G --vcpus 1' '--memory 1G --nic n' \
		'--vcpus 1 --nic n' '--count 0 --memory 1G --vcpus 1 --nic n' \
		'--count x --memory 1G --vcpus 1 --nic n' '--memory 1.5G --vcpus 1 --nic n' \
		"$work/vms.yaml --count 2" "$work/vms.yaml --memory 1G" "a b" \
		'--memory 1G --vcpus 1 --nic n --wait'; do
		# shellcheck disable=SC2086
		[ "$(status_of ctl plan $bad 2>/dev/null)" -eq 2 ] ||
			fail "plan $bad should be a usage error"
	done
	[ ! -e "$work/log" ] || fail "a usage error sent: $(cat "$work/log")"
	;;

docs)
	# Every option in the usage texts is in vfleetctl.8 and back.
	{
		"$ctl_bin" --help
		"$ctl_bin" hosts --help
		"$ctl_bin" policy --help
		"$ctl_bin" vm --help
		"$ctl_bin" host cordon --help
		"$ctl_bin" vm apply --help
		"$ctl_bin" plan --help
		"$ctl_bin" keys --help
	} >"$work/help"
	grep -o -- '--[a-z][a-z-]*' "$work/help" | sort -u >"$work/usage-long"
	grep -o -- '-[a-zA-Z],' "$work/help" | tr -d , | sort -u \
		>"$work/usage-short"
	man=$src/cli/vfleetctl.8
	grep -o 'Fl -[a-z][a-z-]*' "$man" | sed 's/^Fl /-/' | sort -u \
		>"$work/man-long"
	grep -o 'Fl [a-zA-Z]\b' "$man" | sed 's/^Fl /-/' | sort -u \
		>"$work/man-short"
	cmp -s "$work/usage-long" "$work/man-long" ||
		fail "long options, usage vs man: $(diff "$work/usage-long" "$work/man-long")"
	cmp -s "$work/usage-short" "$work/man-short" ||
		fail "short options, usage vs man: $(diff "$work/usage-short" "$work/man-short")"
	# Every verb of the dispatch table is in the man page.
	sed -n '/^verbs:/,/^$/p' "$work/help" | awk 'NF { print $1 }' |
		grep -v '^verbs:' >"$work/verbs"
	[ "$(wc -l <"$work/verbs")" -ge 7 ] || fail "verbs in --help"
	while read -r verb; do
		grep -q "^\.It Cm $verb\b" "$man" || fail "vfleetctl.8 lacks $verb"
	done <"$work/verbs"
	;;

rollout)
	policy=$src/tests/policy/ok/minimal.yaml
	start_fake --rollout ok
	ctl policy apply "$policy" --message 'raise the vlan' \
		>"$work/out" 2>"$work/err" || fail "apply: $(cat "$work/err")"
	cat >"$work/want" <<-'EOF'
		stored revision 3, sha256:1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f7486eaf888b3c84cd7
		2 of 3 hosts change
		  esx-e1: pf 0000:3b:00.0: vf 0 vlan 1 -> 10
		  esx-e2: pf 0000:3b:00.0: vf 0 vlan 1 -> 10
		  esx-e2: 1 more changes
	EOF
	cmp -s "$work/want" "$work/out" ||
		fail "apply output: $(diff "$work/want" "$work/out")"
	grep -qx 'warning: policy.yaml:9:5: mac pool pool-a: 4 addresses left' \
		"$work/err" || fail "apply warning: $(cat "$work/err")"
	# Not a terminal: one progress line each time the counts change.
	cat >"$work/want" <<-'EOF'
		rollout of revision 3: 0/3 hosts applied, 0 failed, 3 pending
		rollout of revision 3: 1/3 hosts applied, 0 failed, 2 pending
		rollout of revision 3: 2/3 hosts applied, 0 failed, 1 pending
		rollout of revision 3: 3/3 hosts applied, 0 failed, 0 pending
	EOF
	grep '^rollout' "$work/err" >"$work/progress" || true
	cmp -s "$work/want" "$work/progress" ||
		fail "progress: $(cat "$work/err")"
	head -1 "$work/log" | grep -Eq "^policy.apply message=raise the vlan source=$policy author=[^ ]* commit=[0-9a-f]* body_len=$(wc -c <"$policy")$" ||
		fail "apply request: $(head -1 "$work/log")"
	[ "$(grep -c '^policy.status summary=true$' "$work/log")" -ge 3 ] ||
		fail "polls: $(cat "$work/log")"
	# On a terminal: one progress line, rewritten in place.
	if command -v script >/dev/null; then
		script -qec "$ctl_bin -c $admin policy apply $policy" /dev/null \
			>"$work/tty" 2>&1 || fail "apply on a terminal: $(cat "$work/tty")"
		[ "$(grep -c 'rollout of revision' "$work/tty")" -eq 1 ] ||
			fail "terminal progress lines: $(cat -v "$work/tty")"
		grep -q "$(printf '\r')rollout of revision 3: 3/3 hosts applied, 0 failed, 0 pending$(printf '\033')\[K" \
			"$work/tty" || fail "terminal progress: $(cat -v "$work/tty")"
	else
		echo "skip: no script(1), the terminal progress is not tested"
	fi
	# JSON: the answer, the final counts and no host left over.
	ctl -o json policy apply "$policy" >"$work/apply.json" 2>/dev/null ||
		fail "apply -o json"
	jq -e '.apply.revision == 3 and .complete == true and
		.counts.ok == 3 and .hosts == []' "$work/apply.json" >/dev/null ||
		fail "apply JSON: $(cat "$work/apply.json")"
	# A dry run stores nothing and exits 3 when something would change.
	: >"$work/log"
	[ "$(status_out "$work/out" ctl policy apply "$policy" --dry-run 2>/dev/null)" -eq 3 ] ||
		fail "dry run with changes should exit 3"
	grep -qx 'dry run: would store revision 3, sha256:1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f7486eaf888b3c84cd7' \
		"$work/out" || fail "dry run output: $(cat "$work/out")"
	grep -q '^policy.apply .*dry_run=true' "$work/log" ||
		fail "dry run request: $(cat "$work/log")"
	! grep -q '^policy.status' "$work/log" || fail "a dry run waits for nothing"
	kill "$fake_pid"
	start_fake --rollout none
	[ "$(status_out "$work/out" ctl policy apply "$policy" --dry-run 2>/dev/null)" -eq 0 ] ||
		fail "dry run without changes should exit 0: $(cat "$work/out")"
	grep -q '^dry run: policy unchanged: revision 3' "$work/out" ||
		fail "unchanged dry run: $(cat "$work/out")"
	;;

rollout_incomplete)
	policy=$src/tests/policy/ok/minimal.yaml
	# A failed host: exit 4, named with its failure.
	start_fake --rollout failed
	[ "$(status_out "$work/out" ctl policy apply "$policy" 2>"$work/err")" -eq 4 ] ||
		fail "a failed host should exit 4"
	grep -qx 'failed: esx-e2: pf 0000:3b:00.0 vf 1 vlan: EINVAL: vlan 5000 out of range' \
		"$work/out" || fail "failed host: $(cat "$work/out")"
	grep -q '^policy.status state=failed limit=10000$' "$work/log" ||
		fail "failures fetched: $(cat "$work/log")"
	ctl -o json policy apply "$policy" >"$work/out.json" 2>/dev/null || true
	jq -e '.complete == false and .counts.failed == 1 and
		[.hosts[].host] == ["esx-e2"]' "$work/out.json" >/dev/null ||
		fail "failed JSON: $(cat "$work/out.json")"
	kill "$fake_pid"
	# A host that never answers: the wait ends at --timeout, exit 4, the
	# host named with how long it has been pending.
	start_fake --rollout stuck
	start=$(date +%s)
	[ "$(status_out "$work/out" ctl policy apply "$policy" --timeout 1s 2>"$work/err")" -eq 4 ] ||
		fail "a pending host should exit 4"
	[ $(($(date +%s) - start)) -le 4 ] || fail "--timeout 1s did not bound the wait"
	grep -Eqx 'pending: esx-e3: no answer for [0-9]+\.[0-9] s \(agent not connected\)' \
		"$work/out" || fail "pending host: $(cat "$work/out")"
	tail -1 "$work/err" | grep -qx 'rollout of revision 3: 2/3 hosts applied, 0 failed, 1 pending' ||
		fail "last progress: $(cat "$work/err")"
	kill "$fake_pid"
	# A refused host: exit 4, named with the reason.
	start_fake --rollout refused
	[ "$(status_out "$work/out" ctl policy apply "$policy" 2>"$work/err")" -eq 4 ] ||
		fail "a refused host should exit 4"
	[ "$(grep -c '^refused: esx-e3: pf 0000:3b:00.0: VF count 4 -> 8 while VFs are in use$' "$work/out")" -eq 2 ] ||
		fail "refused host: $(cat "$work/out")"
	grep -q ', 1 refused$' "$work/err" || fail "refused progress: $(cat "$work/err")"
	;;

rollout_refused)
	# An invalid file: the errors exactly as policy validate prints them,
	# and nothing sent.
	start_fake
	printf 'version: 1\nnetworks:\n  foo: 3\n' >"$work/bad.yaml"
	"$ctl_bin" policy validate "$work/bad.yaml" 2>"$work/validate.err" || true
	[ -s "$work/validate.err" ] || fail "validate printed no error"
	[ "$(status_of ctl policy apply "$work/bad.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "an invalid file should exit 1"
	cmp -s "$work/validate.err" "$work/err" ||
		fail "apply errors differ from validate's: $(diff "$work/validate.err" "$work/err")"
	[ ! -s "$work/log" ] || fail "an invalid file was sent: $(cat "$work/log")"
	[ "$(status_of ctl policy apply "$work/missing.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "a missing file should exit 1"
	kill "$fake_pid"
	# The controller's refusals print their body's lines, one per line.
	start_fake --rollout conflict
	[ "$(status_of ctl policy apply "$src/tests/policy/ok/minimal.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "a conflict should exit 1"
	cat >"$work/want" <<-'EOF'
		vfleetctl: policy.apply: policy conflicts with the inventory: 2 conflicts; first: esx-e1: pf 0000:3b:00.0: 64 VFs asked, 32 supported
		esx-e1: pf 0000:3b:00.0: 64 VFs asked, 32 supported
		esx-e2: pf 0000:3b:00.0: 64 VFs asked, 16 supported
	EOF
	cmp -s "$work/want" "$work/err" || fail "conflict: $(cat "$work/err")"
	! grep -q '^policy.status' "$work/log" || fail "a refused apply waits for nothing"
	kill "$fake_pid"
	start_fake --rollout invalid
	[ "$(status_of ctl policy apply "$src/tests/policy/ok/minimal.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "a rejected policy should exit 1"
	tail -1 "$work/err" | grep -qx "policy.yaml:4:7: unknown network 'prod'" ||
		fail "invalid: $(cat "$work/err")"
	# Nobody listens: said at once, not after the 60 s wait.
	kill "$fake_pid"
	wait "$fake_pid" 2>/dev/null || true
	rm -f "$work/admin.sock"
	start=$(date +%s)
	[ "$(status_of ctl policy apply "$src/tests/policy/ok/minimal.yaml" 2>"$work/err")" -eq 1 ] ||
		fail "no controller should exit 1"
	[ $(($(date +%s) - start)) -le 3 ] || fail "no controller took the whole wait"
	grep -q 'is vfleet-controller running?' "$work/err" ||
		fail "no controller: $(cat "$work/err")"
	;;

rollout_git)
	if ! command -v git >/dev/null; then
		echo "skip: git is not installed, the commit id cannot be tested"
		exit 0
	fi
	start_fake --rollout none
	repo=$work/repo
	mkdir "$repo"
	git -C "$repo" init -q
	cp "$src/tests/policy/ok/minimal.yaml" "$repo/policy.yaml"
	git -C "$repo" add policy.yaml
	git -C "$repo" -c user.name=t -c user.email=t@example.org \
		commit -qm policy
	head=$(git -C "$repo" rev-parse HEAD)
	# Committed unchanged: its commit id is sent.
	ctl policy apply "$repo/policy.yaml" >/dev/null 2>"$work/err" ||
		fail "apply from git: $(cat "$work/err")"
	grep -q "^policy.apply .* commit=$head " "$work/log" ||
		fail "commit id: $(cat "$work/log")"
	! grep -q note "$work/err" || fail "a clean file has no note"
	# Changed since: no commit id, one note.
	echo '# local change' >>"$repo/policy.yaml"
	: >"$work/log"
	ctl policy apply "$repo/policy.yaml" >/dev/null 2>"$work/err" ||
		fail "apply of a changed file"
	grep -q '^policy.apply .* commit= ' "$work/log" ||
		fail "dirty commit id: $(cat "$work/log")"
	[ "$(grep -c "^vfleetctl: note: $repo/policy.yaml differs from its last git commit; no commit id recorded$" "$work/err")" -eq 1 ] ||
		fail "dirty note: $(cat "$work/err")"
	# Outside any repository: no commit id, no note.
	mkdir "$work/plain"
	cp "$src/tests/policy/ok/minimal.yaml" "$work/plain/policy.yaml"
	: >"$work/log"
	GIT_CEILING_DIRECTORIES=$work ctl policy apply "$work/plain/policy.yaml" \
		>/dev/null 2>"$work/err" || fail "apply outside git"
	grep -q '^policy.apply .* commit= ' "$work/log" ||
		fail "no repository: $(cat "$work/log")"
	! grep -q note "$work/err" || fail "no repository, no note: $(cat "$work/err")"
	;;

rollback)
	start_fake --rollout ok
	ctl policy rollback 2 --message 'back to 2' >"$work/out" 2>"$work/err" ||
		fail "rollback: $(cat "$work/err")"
	head -1 "$work/out" | grep -qx 'stored revision 4, sha256:1a49cd59c660f878d9a63d3fdddef09662f96f9424c79f7486eaf888b3c84cd7' ||
		fail "rollback output: $(cat "$work/out")"
	head -1 "$work/log" | grep -Eqx 'policy.rollback message=back to 2 revision=2 author=[^ ]*' ||
		fail "rollback request: $(head -1 "$work/log")"
	[ "$(status_of ctl policy rollback 9 2>"$work/err")" -eq 1 ] ||
		fail "an unknown revision should exit 1"
	grep -qx 'vfleetctl: policy.rollback: no policy revision' "$work/err" ||
		fail "unknown revision: $(cat "$work/err")"
	[ "$(status_of ctl policy rollback two 2>/dev/null)" -eq 2 ] ||
		fail "a revision that is no number is a usage error"
	[ "$(status_out /dev/null ctl policy rollback 2 --dry-run 2>/dev/null)" -eq 3 ] ||
		fail "rollback --dry-run with changes should exit 3"
	;;

policy_read)
	policy=$src/tests/policy/ok/minimal.yaml
	start_fake --rows 5 --page 2 --policy "$policy"
	# status: the revision, the counts, a row per host.
	ctl policy status >"$work/status.txt"
	grep -Eqx 'message +raise the vlan' "$work/status.txt" ||
		fail "status head: $(cat "$work/status.txt")"
	grep -Eqx 'hosts +3' "$work/status.txt" || fail "status counts"
	grep -Eqx 'esx-e2 +ok +5 +5 +3 +yes +2026-11-30T15:00:00Z +0 +10 +0 +0' \
		"$work/status.txt" || fail "status row: $(cat "$work/status.txt")"
	grep -Eqx 'esx-e1 +ok .* +1' "$work/status.txt" ||
		fail "drift count: $(cat "$work/status.txt")"
	# One host: its failures and drift, a line each.
	ctl policy status --host esx-e1 >"$work/one.txt"
	grep -qx 'drift            pf 0000:3b:00.0 vf 0 vlan: wanted 10, has 77' \
		"$work/one.txt" || fail "drift detail: $(cat "$work/one.txt")"
	: >"$work/log"
	ctl -o json policy status --host esx-e1 --state ok >"$work/status.json"
	jq -e '.policy.revision == 3 and .counts.hosts == 3 and
		[.hosts[].host] == ["esx-e1"]' "$work/status.json" >/dev/null ||
		fail "status JSON: $(cat "$work/status.json")"
	head -1 "$work/log" | grep -qx 'policy.status host=esx-e1 state=ok limit=10000' ||
		fail "status request: $(cat "$work/log")"
	# history: every page, newest first.
	ctl -o json policy history >"$work/history.json"
	jq -e '[.policies[].revision] == [5, 4, 3, 2, 1]' "$work/history.json" \
		>/dev/null || fail "history: $(cat "$work/history.json")"
	ctl policy history --limit 2 >"$work/history.txt" 2>"$work/err"
	[ "$(wc -l <"$work/history.txt")" -eq 3 ] || fail "history --limit"
	grep -q 'for the next page add --after' "$work/err" || fail "history hint"
	# diff against the live revision: the same text changes nothing.
	[ "$(status_of ctl policy diff "$policy")" -eq 0 ] ||
		fail "diff against the same live text should exit 0"
	grep -qx 'policy.get' "$work/log" || fail "diff asks policy.get"
	[ "$(status_out "$work/diff" ctl policy diff "$src/tests/policy/ok/full.yaml")" -eq 3 ] ||
		fail "diff against another policy should exit 3"
	[ -s "$work/diff" ] || fail "diff printed nothing"
	# drift: every page, the host filter passed on.
	ctl -o json drift >"$work/drift.json"
	jq -e '(.drift | length) == 5 and .drift[0].attribute == "vlan"' \
		"$work/drift.json" >/dev/null || fail "drift: $(cat "$work/drift.json")"
	: >"$work/log"
	ctl drift --host host-01 >"$work/drift.txt"
	head -1 "$work/drift.txt" | grep -Eq '^HOST +PF +VF +ATTRIBUTE +WANTED +HAS +SEEN$' ||
		fail "drift header: $(cat "$work/drift.txt")"
	head -1 "$work/log" | grep -qx 'drift host=host-01 limit=10000' ||
		fail "drift request: $(cat "$work/log")"
	kill "$fake_pid"
	start_fake
	[ "$(status_of ctl policy diff "$policy" 2>"$work/err")" -eq 1 ] ||
		fail "diff without a stored policy should exit 1"
	grep -qx 'vfleetctl: policy.get: no policy stored' "$work/err" ||
		fail "no policy: $(cat "$work/err")"
	;;

*)
	fail "unknown case"
	;;
esac
echo "ok ($case_name)"
