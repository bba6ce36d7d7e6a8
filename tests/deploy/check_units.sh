#!/bin/sh
# check_units.sh - systemd-analyze verify on deploy/systemd's units, then
# systemd-analyze security --offline: prints each unit's exposure and fails
# when one rises above the score recorded in deploy/README.md.
#
# The units name /usr/sbin binaries and man pages that only an installed
# package has: they are checked as copies whose ExecStart names the build
# tree's binaries, with MANPATH reaching the source tree's pages.
#
# Exits 77 (ctest: skipped) with the reason when systemd-analyze is
# missing.
#
# usage: check_units.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
command -v systemd-analyze >/dev/null ||
	{ echo "SKIP: systemd-analyze is not installed (package systemd)"; exit 77; }
work=$(mktemp -d /tmp/vfleet-units.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/man/man8"
cp "$src/agent/vfleet-agent.8" "$src/controller/vfleet-controller.8" \
	"$work/man/man8/"
sed "s|/usr/sbin/vfleet-controller|$build/controller/vfleet-controller|" \
	"$src/deploy/systemd/vfleet-controller.service" \
	>"$work/vfleet-controller.service"
sed "s|/usr/sbin/vfleet-agent|$build/agent/vfleet-agent|" \
	"$src/deploy/systemd/vfleet-agent.service" >"$work/vfleet-agent.service"
sed "s|/usr/sbin/vfleet-controller|$build/controller/vfleet-controller|" \
	"$src/deploy/systemd/vfleet-controller-backup.service" \
	>"$work/vfleet-controller-backup.service"
cp "$src/deploy/systemd/vfleet-controller-backup.timer" "$work/"

failed=0
passed=0
cd "$work"
if MANPATH=$work/man systemd-analyze verify vfleet-controller.service \
    vfleet-agent.service vfleet-controller-backup.service \
    vfleet-controller-backup.timer >verify.log 2>&1 && [ ! -s verify.log ]; then
	echo "ok   systemd-analyze verify: every unit"
	passed=$((passed + 1))
else
	echo "FAIL systemd-analyze verify:"
	cat verify.log
	failed=$((failed + 1))
fi

# The scores deploy/README.md records (lower is better; 0 to 10).
if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
	for entry in vfleet-controller:1.2 vfleet-agent:2.3 \
	    vfleet-controller-backup:0.2; do
		unit=${entry%:*}
		recorded=${entry#*:}
		systemd-analyze security --offline=yes --no-pager "$unit.service" \
			>"$unit.security" 2>&1 || true
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
			"$unit.security")
		if [ -n "$score" ] &&
		    awk -v s="$score" -v r="$recorded" 'BEGIN { exit !(s <= r) }'; then
			echo "ok   $unit exposure $score (recorded $recorded)"
			passed=$((passed + 1))
		else
			echo "FAIL $unit exposure ${score:-unknown}, recorded $recorded:"
			grep '✗' "$unit.security" || cat "$unit.security"
			failed=$((failed + 1))
		fi
	done
else
	echo "skip systemd-analyze security: this systemd has no --offline"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
