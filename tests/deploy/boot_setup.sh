#!/bin/sh
# boot_setup.sh - prepares ROOT (after package_test.sh's checks) for a
# systemd boot: reinstalls vfleet-controller (the checks purged it) with
# systemd, makes the CURVE keys as README.md "Keys" tells an operator to,
# writes both configuration files, a 2 s watchdog for both units and
# vfleet-boot-check.service, which records its findings in /root/boot.out
# and powers the container off.
#
# usage: boot_setup.sh ROOT
set -eu
root=$1

cat >"$root/tmp/boot-install.sh" <<'INSTALL'
#!/bin/sh
set -eu
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
apt-get install -y -q --no-install-recommends systemd systemd-sysv \
	/tmp/debs/vfleet-controller_*.deb >/tmp/apt-boot.log 2>&1 ||
	{ tail -20 /tmp/apt-boot.log; exit 1; }
# The operator's edit, after the package put its conffile in place.
cp /tmp/controller.conf /tmp/agent.conf /etc/vfleet/
# The operator's keys (README.md, "Keys"): the controller's pair made as
# its user in its default key directory, /var/lib/vfleet/keys; the host's
# secret certificate and the controller's public one where the agent
# looks by default.
runuser -u vfleet -- vfleetctl keys init >/dev/null
stage=$(runuser -u vfleet -- mktemp -d)
runuser -u vfleet -- vfleetctl keys add-host nspawn-host \
	--out "$stage/nspawn-host.key_secret" >/dev/null
install -m 0600 "$stage/nspawn-host.key_secret" /etc/vfleet/agent.key_secret
install -m 0644 /var/lib/vfleet/keys/controller.key /etc/vfleet/controller.key
rm -r "$stage"
systemctl enable vfleet-controller vfleet-agent vfleet-boot-check \
	>/dev/null 2>&1
INSTALL
chmod +x "$root/tmp/boot-install.sh"

cat >"$root/tmp/controller.conf" <<'CONF'
agents = tcp://127.0.0.1:7450
metrics = tcp://127.0.0.1:9650/metrics
CONF
cat >"$root/tmp/agent.conf" <<'CONF'
controller = tcp://127.0.0.1:7450
hostname = nspawn-host
metrics = tcp://127.0.0.1:9651/metrics
CONF
for unit in vfleet-controller vfleet-agent; do
	mkdir -p "$root/etc/systemd/system/$unit.service.d"
	printf '[Service]\nWatchdogSec=2s\n' \
		>"$root/etc/systemd/system/$unit.service.d/watchdog.conf"
done

cat >"$root/etc/systemd/system/vfleet-boot-check.service" <<'UNIT'
[Unit]
Description=vfleet package test: checks after boot, then power off
After=vfleet-controller.service vfleet-agent.service

[Service]
Type=oneshot
ExecStart=/bin/sh /usr/local/sbin/vfleet-boot-check
ExecStopPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
UNIT

mkdir -p "$root/usr/local/sbin"
cat >"$root/usr/local/sbin/vfleet-boot-check" <<'CHECK'
#!/bin/sh
# Runs in the booted container as root.
out=/root/boot.out.tmp
failed=0
check() { # WHAT COMMAND...
	what=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		echo "ok   $what" >>$out
	else
		{ echo "FAIL $what:"; sed 's/^/    /' /tmp/check.out; } >>$out
		failed=$((failed + 1))
	fi
}
: >$out
listed() {
	for _ in $(seq 30); do
		vfleetctl --timeout 2s hosts >/tmp/hosts 2>&1 &&
			grep -q "^nspawn-host  *ready" /tmp/hosts && return 0
		sleep 1
	done
	cat /tmp/hosts
	return 1
}
check "vfleetctl hosts lists the agent's host as ready" listed
check "the controller runs with its keys, the agent's key authorised" sh -c '
	journalctl -b -q -u vfleet-controller | grep -q "CURVE keys in /var/lib/vfleet/keys" &&
	! journalctl -b -q -u vfleet-controller -u vfleet-agent | grep -q -- "--insecure" &&
	vfleetctl keys list | grep -Eq "^host +nspawn-host +host "'
# Both units run with WatchdogSec=2s: alive and never restarted after 5 s
# means the daemons ping it.
sleep 5
for unit in vfleet-controller vfleet-agent; do
	check "$unit active (Type=notify), watchdog fed, no restart" sh -c '
		state=$(systemctl show -p Type,ActiveState,SubState,NRestarts,WatchdogUSec "$1" | sort | tr "\n" " ")
		echo "$state"
		[ "$state" = "ActiveState=active NRestarts=0 SubState=running Type=notify WatchdogUSec=2s " ]
	' sh "$unit"
done
# The root has no HTTP client: bash's /dev/tcp speaks enough HTTP/1.0.
scrape='exec 3<>"/dev/tcp/127.0.0.1/$1" &&
	printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3 >/tmp/scrape &&
	grep -q "$2" /tmp/scrape || { tail -20 /tmp/scrape; exit 1; }'
check "controller metrics scrape: the agent's host ready" bash -c "$scrape" \
	sh 9650 '^vfleet_hosts{state="ready"} 1$'
check "agent metrics scrape: scans timed" bash -c "$scrape" \
	sh 9651 '^vfleet_agent_scan_seconds_count [1-9]'
check "controller runs as vfleet" sh -c \
	'[ "$(stat -c %U "/proc/$(systemctl show -p MainPID --value vfleet-controller)")" = vfleet ]'
# The agent's network process is vfleet with no capability; its one
# child, the writer, keeps root and at most CAP_NET_ADMIN (bit 12): none
# here, as systemd-nspawn keeps CAP_NET_ADMIN from the container
# (tests/kernel/guest-tests.sh sees it kept, as root in a guest).
agent_proc='pid=$(systemctl show -p MainPID --value vfleet-agent)
	[ "$1" = writer ] && read -r pid _ </proc/$pid/task/$pid/children
	grep -E "^(Uid|CapEff):" /proc/$pid/status
	[ "$(awk "/^Uid:/ { print \$2 }" /proc/$pid/status)" = "$2" ] &&
	grep -Eq "^CapEff:[[:space:]]*($3)\$" /proc/$pid/status'
check "agent network process: vfleet, no capabilities" sh -c "$agent_proc" \
	sh network "$(id -u vfleet)" 0000000000000000
check "agent writer process: root, at most CAP_NET_ADMIN" sh -c "$agent_proc" \
	sh writer 0 "0000000000001000|0000000000000000"
# A HELLO that names another host than its key's is refused with a
# warning: an agent by hand with this host's key (the default file),
# claiming "forged".
forged() {
	mkdir -p /tmp/forged
	timeout 10 vfleet-agent --config /dev/null --hostname forged \
		--controller tcp://127.0.0.1:7450 --state-dir /tmp/forged \
		>/tmp/forged.log 2>&1 &
	for _ in $(seq 20); do
		journalctl -b -q -p warning -u vfleet-controller |
			grep -q "warn: .*the key of nspawn-host (role host) sent HELLO for host forged; refused" &&
			return 0
		sleep 0.5
	done
	cat /tmp/forged.log
	return 1
}
check "journal priorities: a forged HELLO's warning at warning level" forged
# The backup unit beside the running controller: today's copy, the
# vfleet user's and private, an intact vfleet database (a restore of it
# elsewhere checks exactly that), and its line in the journal.
backup() {
	systemctl start vfleet-controller-backup.service || return 1
	file=/var/lib/vfleet/backup/vfleet-$(date +%u).db
	stat -c "%U %a" "$file"
	[ "$(stat -c "%U %a" "$file")" = "vfleet 600" ] &&
		vfleet-controller --config /dev/null --db /tmp/restored/vfleet.db \
			--restore "$file" &&
		journalctl -b -q -u vfleet-controller-backup |
		grep -q "backup of /var/lib/vfleet/vfleet.db written to $file"
}
check "vfleet-controller-backup.service: a copy beside the daemon" backup
check "vfleet-controller-backup.timer known, not enabled" sh -c \
	'[ "$(systemctl is-enabled vfleet-controller-backup.timer)" = disabled ]' 
check "journal priorities: info lines above warning level" sh -c \
	'! journalctl -b -q -p warning -u vfleet-controller | grep -q "info:"'
{
	echo "--- journal"
	journalctl -b -q --no-pager -u vfleet-controller -u vfleet-agent | tail -20
	echo "$failed failed"
} >>$out
mv $out /root/boot.out
CHECK
