#!/bin/sh
# Integration tests of the real vfleetctl against vfleet-fake-admin, a
# stand-in for the controller's admin API on a real ZeroMQ socket: paging,
# options before and after the verb, terminal escaping, and what vfleetctl
# says when the controller is slow or absent.
#
# usage: cli_test.sh CASE   (paging, stuck, options, escape, unreachable,
#                            summary, docs)
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
		hosts
		hosts after=pos 2/+=
		hosts after=pos 5/+=
		hosts after=pos 8/+=
	EOF
	cmp -s "$work/want" "$work/log" ||
		fail "requests of a full listing: $(cat "$work/log")"
	# The table shows every page under one header.
	ctl hosts >"$work/hosts.txt"
	[ "$(wc -l <"$work/hosts.txt")" -eq 11 ] ||
		fail "hosts table: $(cat "$work/hosts.txt")"
	grep -Eq '^host-09 +ready +2026-11-25T08:38:40Z +1 +4 +4 +yes +vmx +0\.1\.0$' \
		"$work/hosts.txt" || fail "hosts row: $(tail -1 "$work/hosts.txt")"
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
		head -1 "$work/log" | grep -qx 'events since=1700000000 after=0' ||
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
	grep -qx hosts "$work/log" || fail "the silent fake got no request"
	# The same over tcp, on a port the kernel chose: a silent listener,
	# then the same port closed.
	admin='tcp://127.0.0.1:*'
	start_fake --silent
	"$ctl_bin" -c "$admin" summary --timeout 0.3 2>"$work/err" || true
	grep -qx "vfleetctl: vfleet-controller at $admin did not answer within 0.3 s" \
		"$work/err" || fail "tcp timeout message: $(cat "$work/err")"
	kill "$fake_pid"
	wait "$fake_pid" 2>/dev/null || true
	"$ctl_bin" -c "$admin" summary --timeout 0.3 2>"$work/err" || true
	grep -qx "vfleetctl: cannot reach controller at $admin: is vfleet-controller running? (Connection refused)" \
		"$work/err" || fail "tcp refused message: $(cat "$work/err")"
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

docs)
	# Every option in the usage texts is in vfleetctl.8 and back.
	{
		"$ctl_bin" --help
		"$ctl_bin" hosts --help
		"$ctl_bin" policy --help
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

*)
	fail "unknown case"
	;;
esac
echo "ok ($case_name)"
