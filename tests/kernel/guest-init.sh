#!/bin/busybox sh
# shellcheck shell=dash
# /init of the guest's initramfs: mounts the kernel's filesystems and the
# host's root (read-only, over virtio 9p), runs tests/kernel/guest-tests.sh
# from it in a chroot, prints the result marker the harness waits for, and
# powers off.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /host
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
echo "VFLEET-GUEST-INIT: started"

finish() {
	echo "VFLEET-GUEST-RESULT: $1"
	sync
	poweroff -f
}

# Parameters come from the kernel command line: vfleet.NAME=VALUE. The
# controller and vfleetctl are optional (the rollout section needs them).
controller=
ctl=
for word in $(cat /proc/cmdline); do
	case $word in
	vfleet.src=*) src=${word#vfleet.src=} ;;
	vfleet.tool=*) tool=${word#vfleet.tool=} ;;
	vfleet.agent=*) agent=${word#vfleet.agent=} ;;
	vfleet.mode=*) mode=${word#vfleet.mode=} ;;
	vfleet.controller=*) controller=${word#vfleet.controller=} ;;
	vfleet.ctl=*) ctl=${word#vfleet.ctl=} ;;
	esac
done

if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 \
	hostroot /host; then
	finish "FAIL n=0 fail=1 (cannot mount the host root over 9p)"
fi
for fs in proc sys dev; do
	mount --rbind /$fs /host/$fs
done
# The only writable place in the chroot. Not /tmp: the build tree under
# test may live there on the host, and a mount would hide it.
mount -t tmpfs tmpfs /host/run

chroot /host /usr/bin/env TMPDIR=/run /bin/sh \
	"$src/tests/kernel/guest-tests.sh" "$mode" "$tool" "$agent" \
	"$controller" "$ctl" >/dev/console 2>&1
rc=$?
summary=$(cat /host/run/vfleet-guest-summary 2>/dev/null)
if [ "$rc" -eq 0 ]; then
	finish "PASS $summary"
else
	finish "FAIL $summary (exit $rc)"
fi
