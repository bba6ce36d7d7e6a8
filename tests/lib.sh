# lib.sh - what the shell integration tests share, sourced by them: a work
# directory, the processes to stop at exit, failure with log tails, a free
# loopback port and a running controller.
#
# The sourcing script sets case_name and, before it calls these: work (the
# work directory), pids (processes to stop), fail_logs ("NAME:LINES ...",
# the $work/NAME.log tails fail prints), ctl_bin, admin (and ctl_opts)
# and, to start a controller, controller_bin, state_dir, agents and
# controller_opts.
# shellcheck shell=sh disable=SC2154 # the sourcing script sets them

# Stops every process in $pids and waits for each.
test_stop_pids() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null || true
	done
}

# Removes $work, unless VFLEET_KEEP keeps it for a post-mortem.
test_remove_work() {
	[ -n "${VFLEET_KEEP:-}" ] || rm -rf "$work"
}

fail() {
	echo "FAIL ($case_name): $*" >&2
	for entry in ${fail_logs:-}; do
		name=${entry%:*}
		if [ -f "$work/$name.log" ]; then
			echo "--- $name log:" >&2
			tail -n "${entry#*:}" "$work/$name.log" >&2
		fi
	done
	exit 1
}

# vfleetctl on $admin, with the words of $ctl_opts (--insecure for a
# tcp admin endpoint of a controller started with --insecure).
ctl() {
	# shellcheck disable=SC2086 # ctl_opts is a list of words
	"$ctl_bin" -c "$admin" ${ctl_opts:-} "$@"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (needs python3).
test_free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the controller in the background with the options in
# $controller_opts (split at blanks) and "$@", and waits until its admin
# API answers; sets controller_pid.
start_controller() {
	# shellcheck disable=SC2086 # controller_opts is a list of words
	"$controller_bin" --insecure --state-dir "$state_dir" --agents "$agents" \
		${controller_opts:-} "$@" >>"$work/controller.log" 2>&1 &
	controller_pid=$!
	pids="$pids $controller_pid"
	i=0
	until ctl hosts --timeout 0.2 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "controller did not come up"
		kill -0 "$controller_pid" 2>/dev/null ||
			fail "controller exited at start"
	done
}
