# lib.sh - what the shell integration tests share, sourced by them: a work
# directory, the processes to stop at exit, failure with log tails, a free
# loopback port, CURVE keys and a running controller.
#
# The sourcing script sets case_name and, before it calls these: work (the
# work directory), pids (processes to stop), fail_logs ("NAME:LINES ...",
# the $work/NAME.log tails fail prints), ctl_bin, admin (and ctl_opts)
# and, to start a controller, controller_bin, state_dir, agents and
# controller_opts (and controller_insecure).
#
# Keys are made as an operator makes them, with the real vfleetctl keys,
# once per work directory: the controller's key directory is $work/keys,
# each host's secret certificate $work/host-keys/NAME.key_secret, the
# admin's $work/admin.key_secret.
# shellcheck shell=sh disable=SC2154,SC2034 # the sourcing script sets
# them, and uses what the helpers set

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

# vfleetctl on $admin, with the words of $ctl_opts (test_admin_key's
# options for a tcp admin endpoint, or --insecure for one of a controller
# started with --insecure).
ctl() {
	# shellcheck disable=SC2086 # ctl_opts is a list of words
	"$ctl_bin" -c "$admin" ${ctl_opts:-} "$@"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (needs python3).
test_free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Creates the controller's key pair in $work/keys, unless it is there.
test_keys_init() {
	[ -f "$work/keys/controller.key_secret" ] ||
		"$ctl_bin" keys init --keys "$work/keys" >/dev/null ||
		fail "vfleetctl keys init failed"
}

# Authorises a key for each host NAME that has none yet; its secret
# certificate goes to $work/host-keys/NAME.key_secret. Sets host_key to
# the last NAME's file.
test_host_key() {
	test_keys_init
	[ -d "$work/host-keys" ] || mkdir -m 700 "$work/host-keys"
	for name in "$@"; do
		host_key=$work/host-keys/$name.key_secret
		[ -f "$host_key" ] ||
			"$ctl_bin" keys add-host "$name" --out "$host_key" \
				--keys "$work/keys" >/dev/null ||
			fail "vfleetctl keys add-host $name failed"
	done
}

# Sets agent_opts to the options that make vfleet-agent host NAME connect
# with its own key (authorised here if it has none).
test_agent_opts() {
	test_host_key "$1"
	agent_opts="--key $host_key --controller-key $work/keys/controller.key"
}

# Authorises a key for each host that vfleet-test-peer --host NAME
# --count COUNT simulates (NAME alone, or NAME-0 .. NAME-(COUNT-1)), and
# sets peer_opts to the options that give each of them its own.
test_peer_opts() {
	if [ "${2:-1}" -eq 1 ]; then
		test_host_key "$1"
	else
		n=0
		while [ $n -lt "$2" ]; do
			test_host_key "$1-$n"
			n=$((n + 1))
		done
	fi
	peer_opts="--key-dir $work/host-keys"
	peer_opts="$peer_opts --controller-key $work/keys/controller.key"
}

# Authorises an admin key (once) and sets ctl_opts to the options that
# make vfleetctl use it: what a tcp admin endpoint needs.
test_admin_key() {
	test_keys_init
	[ -f "$work/admin.key_secret" ] ||
		"$ctl_bin" keys add-admin admin --out "$work/admin.key_secret" \
			--keys "$work/keys" >/dev/null ||
		fail "vfleetctl keys add-admin failed"
	ctl_opts="--key $work/admin.key_secret"
	ctl_opts="$ctl_opts --controller-key $work/keys/controller.key"
}

# Starts the controller in the background with the options in
# $controller_opts (split at blanks) and "$@", and waits until its admin
# API answers; sets controller_pid. It runs with CURVE on the keys in
# $work/keys, or plaintext with --insecure when controller_insecure is
# set (for a test of --insecure itself).
start_controller() {
	if [ -n "${controller_insecure:-}" ]; then
		security=--insecure
	else
		test_keys_init
		security="--keys $work/keys"
	fi
	# shellcheck disable=SC2086 # the options are lists of words
	"$controller_bin" $security --state-dir "$state_dir" --agents "$agents" \
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
