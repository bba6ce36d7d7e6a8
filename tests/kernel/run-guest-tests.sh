#!/bin/sh
# Runs the VF writer and discovery against a real kernel: builds (or takes
# from the cache) a kernel with netdevsim and the Intel IOMMU, boots it in
# QEMU (TCG) with the emulated IOMMU and a busybox initramfs that mounts
# the host's root read-only over 9p, runs tests/kernel/guest-tests.sh in
# it, then boots it once more without the IOMMU to check "not ready".
#
# Usage: run-guest-tests.sh VF_WRITER_TOOL VFLEET_AGENT
#            [VFLEET_CONTROLLER VFLEETCTL]
# With the controller and vfleetctl (as ctest runs it), the guest also
# rolls policies out through the real controller and agent; without them
# that section is skipped with the reason printed.
# Exit status: 0 pass; 1 a guest test failed (the guest's output is
# printed); 77 skipped: the kernel could not be built or booted here (the
# reason is printed as "skipped: <reason>").
#
# Environment:
#   VFLEET_KERNEL_CACHE    kernel cache (default ~/.cache/vfleet/kernel)
#   VFLEET_GUEST_TIMEOUT   seconds allowed for one boot (default 600)
#   VFLEET_GUEST_VERBOSE   1: print the guest's output even on success
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
guest_timeout=${VFLEET_GUEST_TIMEOUT:-600}

skip() {
	echo "skipped: $*"
	exit 77
}

[ $# -eq 2 ] || [ $# -eq 4 ] || {
	echo "usage: run-guest-tests.sh VF_WRITER_TOOL VFLEET_AGENT" \
		"[VFLEET_CONTROLLER VFLEETCTL]" >&2
	exit 2
}
tool=$(realpath "$1") && [ -x "$tool" ] || skip "no vf_writer_tool at $1"
agent=$(realpath "$2") && [ -x "$agent" ] || skip "no vfleet-agent at $2"
rollout=
if [ $# -eq 4 ]; then
	controller=$(realpath "$3") && [ -x "$controller" ] ||
		skip "no vfleet-controller at $3"
	ctl=$(realpath "$4") && [ -x "$ctl" ] || skip "no vfleetctl at $4"
	rollout=" vfleet.controller=$controller vfleet.ctl=$ctl"
fi

if [ "$(id -u)" -eq 0 ]; then
	"$src/deploy/install-deps.sh" --kernel >&2 ||
		skip "cannot install the kernel test packages"
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	skip "qemu-system-x86_64 not installed (deploy/install-deps.sh --kernel)"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed"
# The initramfs has no libraries: only a static busybox runs in it.
busybox=/bin/busybox
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null |
	grep -q "install ok installed" ||
	skip "busybox-static not installed (deploy/install-deps.sh --kernel)"

start=$(date +%s)
image=$("$here/build-kernel.sh")
rc=$?
[ "$rc" -eq 77 ] && skip "the guest kernel could not be built (see above)"
[ "$rc" -eq 0 ] && [ -s "$image" ] || skip "build-kernel.sh failed ($rc)"
echo "kernel: $image ready after $(($(date +%s) - start)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/vfleet-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/root/bin"
cp "$busybox" "$work/root/bin/busybox"
cp "$here/guest-init.sh" "$work/root/init"
chmod 755 "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) \
	>"$work/initramfs.gz" || skip "cannot build the initramfs"

# boot MODE LOG [QEMU ARGS...]: one guest run; its console goes to LOG.
boot() {
	mode=$1
	log=$2
	shift 2
	timeout --kill-after=10 "$guest_timeout" qemu-system-x86_64 \
		-accel tcg -cpu max -machine q35,kernel-irqchip=split \
		-m 1G -smp 1 -nographic -no-reboot -nic none \
		-kernel "$image" -initrd "$work/initramfs.gz" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-append "console=ttyS0 panic=-1 loglevel=4 intel_iommu=on vfleet.mode=$mode vfleet.src=$src vfleet.tool=$tool vfleet.agent=$agent$rollout" \
		"$@" </dev/null >"$log" 2>&1
}

# verdict MODE LOG SECONDS: 0 pass, 1 fail, 77 did not boot.
verdict() {
	result=$(grep -a '^VFLEET-GUEST-RESULT: ' "$2" | tail -n 1 | tr -d '\r')
	case $result in
	"VFLEET-GUEST-RESULT: PASS"*)
		echo "guest ($1): ${result#VFLEET-GUEST-RESULT: } in $3 s"
		[ "${VFLEET_GUEST_VERBOSE:-0}" = 1 ] && tr -d '\r' <"$2"
		return 0
		;;
	"VFLEET-GUEST-RESULT: "*)
		tr -d '\r' <"$2"
		echo "guest ($1): ${result#VFLEET-GUEST-RESULT: } in $3 s"
		return 1
		;;
	esac
	if grep -aq '^VFLEET-GUEST-INIT: started' "$2"; then
		tr -d '\r' <"$2"
		echo "guest ($1): started but gave no result within" \
			"${guest_timeout} s"
		return 1
	fi
	tail -n 40 "$2" | tr -d '\r'
	echo "guest ($1): the kernel did not reach /init within ${guest_timeout} s"
	return 77
}

t0=$(date +%s)
boot iommu "$work/iommu.log" -device intel-iommu,intremap=on
verdict iommu "$work/iommu.log" $(($(date +%s) - t0))
rc_iommu=$?
[ "$rc_iommu" -eq 77 ] && skip "the guest kernel did not boot (see above)"

t0=$(date +%s)
boot noiommu "$work/noiommu.log"
verdict noiommu "$work/noiommu.log" $(($(date +%s) - t0))
rc_noiommu=$?
[ "$rc_noiommu" -eq 77 ] && rc_noiommu=1

echo "kernel stage: $(($(date +%s) - start)) s in all"
[ "$rc_iommu" -eq 0 ] && [ "$rc_noiommu" -eq 0 ]
