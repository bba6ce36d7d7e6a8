#!/bin/sh
# package_test.sh - builds the vfleet .debs and installs them into a clean
# Debian 12 root with apt (so their Depends, from dpkg-shlibdeps, must be
# right), then runs the programs there: vfleetctl --version, vfleet-agent
# --discover on a recorded tree, man -w for every page; checks the vfleet
# user, /var/lib/vfleet, the conffiles, and that purge removes the state.
# Then, where systemd-nspawn can boot it, the root runs systemd with both
# units enabled and CURVE keys made as README.md "Keys" says: the agent
# must reach the controller with its key and vfleetctl list its host,
# readiness and the watchdog must hold, both metrics endpoints must
# scrape, and the journal must carry the daemons' priorities.
#
# The root is a debootstrap --variant=minbase of bookworm with man-db,
# cached as a tarball under $VFLEET_DEBIAN_CACHE (default
# ~/.cache/vfleet/debian12) together with the .debs apt fetched, so only
# the first run downloads (about 40 s); later runs unpack it (a few s).
#
# Exits 77 (ctest: skipped) with the reason when this machine cannot:
# not root, a tool missing, the Debian archive unreachable.
#
# usage: package_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cache=${VFLEET_DEBIAN_CACHE:-${HOME:-/root}/.cache/vfleet/debian12}
mirror=${VFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=$cache/bookworm-minbase-man-db-1.tar

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root for debootstrap, chroot and mounts"
for tool in debootstrap dpkg-deb dpkg-shlibdeps unshare chroot python3; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
unshare --mount true 2>/dev/null || skip "cannot make a mount namespace here"

work=$(mktemp -d /tmp/vfleet-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

echo "== packages"
rm -rf "$build/packages"
cmake --build "$build" --target package >"$work/cpack.log" 2>&1 ||
	{ tail -30 "$work/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=$(ls "$build"/packages/*.deb)
[ "$(echo "$debs" | wc -l)" -eq 3 ] || { echo "FAIL: not 3 packages: $debs"; exit 1; }

# Lintian: any error or warning but those deploy/README.md explains fails.
if command -v lintian >/dev/null; then
	# shellcheck disable=SC2086
	lintian --suppress-tags no-copyright-file $debs >"$work/lintian.log" 2>&1 || true
	if grep -E '^(E|W):' "$work/lintian.log"; then
		echo "FAIL: lintian tags that deploy/README.md does not explain"
		exit 1
	fi
	echo "ok   lintian: no errors or warnings beyond no-copyright-file"
else
	echo "skip lintian: not installed"
fi

if [ ! -f "$base" ]; then
	echo "== debootstrap bookworm (minbase) into the cache"
	mkdir -p "$cache"
	if ! debootstrap --variant=minbase --include=man-db bookworm \
	    "$work/boot" "$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -5 "$work/debootstrap.log"
		skip "debootstrap from $mirror failed (no archive reachable?)"
	fi
	rm -rf "$work/boot/var/cache/apt/archives/"*.deb
	tar -C "$work/boot" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$work/boot"
fi

root=$work/root
mkdir -p "$root" "$cache/archives/partial"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$root/tmp/debs"
# shellcheck disable=SC2086
cp $debs "$root/tmp/debs/"
python3 "$src/tests/fixtures/mktree.py" ixgbe-dualport "$root/tmp/tree"
cp "$src/tests/agent/ixgbe-dualport.ok" "$root/tmp/discover.ok"
cat >"$root/tmp/inside.sh" <<'INSIDE'
#!/bin/sh
# Runs in the chroot.
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
failed=0
check() { # WHAT COMMAND...
	what=$1
	shift
	if "$@" >/tmp/out 2>&1; then
		echo "ok   $what"
	else
		echo "FAIL $what:"
		sed 's/^/    /' /tmp/out
		failed=$((failed + 1))
	fi
}
install_debs() {
	apt-get install -y -q --no-install-recommends /tmp/debs/*.deb \
		>/tmp/apt.log 2>&1
}
# The cached root's package lists age: when the archive has moved on,
# refresh them once and try again.
if ! install_debs && grep -q "Failed to fetch" /tmp/apt.log; then
	apt-get update -q >/tmp/apt-update.log 2>&1 || true
	install_debs || true
fi
installed=$(dpkg-query -W -f='${Status}\n' vfleet-agent vfleet-controller \
	vfleetctl 2>/dev/null | grep -c "install ok installed" || true)
if [ "$installed" != 3 ]; then
	tail -20 /tmp/apt.log
	if grep -q "Failed to fetch\|Temporary failure resolving" /tmp/apt.log; then
		exit 77
	fi
	echo "FAIL apt-get install"
	exit 1
fi
echo "ok   apt-get install of the three packages and their dependencies"
check "vfleetctl --version" sh -c 'vfleetctl --version | grep -q "^vfleetctl 0\."'
check "vfleet-controller --version" vfleet-controller --version
check "vfleet-agent --discover on ixgbe-dualport" sh -c \
	'vfleet-agent --discover --sysfs-root /tmp/tree/sys --procfs-root /tmp/tree/proc >/tmp/discover.out && diff -u /tmp/discover.ok /tmp/discover.out'
for page in vfleet-agent vfleet-controller vfleetctl; do
	check "man -w 8 $page" man -w 8 "$page"
done
check "man -w 5 vfleet-policy" man -w 5 vfleet-policy
check "vfleet system user" sh -c 'getent passwd vfleet | grep -q ":/var/lib/vfleet:"'
check "/var/lib/vfleet owned by vfleet, 0700" sh -c \
	'[ "$(stat -c "%U:%G %a" /var/lib/vfleet)" = "vfleet:vfleet 700" ]'
check "/var/lib/vfleet-agent owned by vfleet, 0700" sh -c \
	'[ "$(stat -c "%U %a" /var/lib/vfleet-agent)" = "vfleet 700" ]'
for pkg in agent controller; do
	check "conffile /etc/vfleet/$pkg.conf" sh -c \
		"dpkg-query -W -f='\${Conffiles}' vfleet-$pkg | grep -q /etc/vfleet/$pkg.conf"
done
check "units installed" test -f /lib/systemd/system/vfleet-controller.service \
	-a -f /lib/systemd/system/vfleet-agent.service \
	-a -f /lib/systemd/system/vfleet-controller-backup.service \
	-a -f /lib/systemd/system/vfleet-controller-backup.timer
check "completion installed" test -f /usr/share/bash-completion/completions/vfleetctl
check "the shipped agent.conf is read" vfleet-agent --config /etc/vfleet/agent.conf \
	--discover --sysfs-root /tmp/tree/sys --procfs-root /tmp/tree/proc
check "dpkg --purge vfleet-controller removes /var/lib/vfleet" sh -c \
	'dpkg --purge vfleet-controller >/dev/null && [ ! -e /var/lib/vfleet ] && [ ! -e /etc/vfleet/controller.conf ]'
check "dpkg --audit is clean" sh -c '[ -z "$(dpkg --audit)" ]'
echo "$failed failed"
[ "$failed" -eq 0 ]
INSIDE
chmod +x "$root/tmp/inside.sh"

echo "== install and run in a clean Debian 12 root"
status=0
in_root() { # SCRIPT: runs SCRIPT in the root, with /proc and apt's cache
	unshare --mount sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount --bind "$2" "$1/var/cache/apt/archives"
		chroot "$1" "$3"
	' sh "$root" "$cache/archives" "$1"
}
in_root /tmp/inside.sh || status=$?
[ "$status" -ne 77 ] || skip "apt could not fetch the dependencies from the archive"
[ "$status" -eq 0 ] || exit "$status"

echo "== boot the root with systemd: both units started, the host listed"
if ! command -v systemd-nspawn >/dev/null; then
	echo "skip boot: systemd-nspawn is not installed (package systemd-container)"
else
	sh "$src/tests/deploy/boot_setup.sh" "$root"
	in_root /tmp/boot-install.sh
	# No machined or host systemd here: nothing to register with, and the
	# container stays in this process's cgroup.
	timeout 180 systemd-nspawn -q -D "$root" --boot --register=no \
	    --keep-unit >"$work/boot.log" 2>&1 || true
	if [ ! -s "$root/root/boot.out" ]; then
		tail -15 "$work/boot.log"
		echo "skip boot: systemd-nspawn could not boot the root on this machine"
	else
		cat "$root/root/boot.out"
		grep -q "^0 failed" "$root/root/boot.out" || status=1
	fi
fi
echo "package test took $(($(date +%s) - started)) s"
exit "$status"
