#!/bin/sh
# Installs every Debian package vfleet's build and test suite need; idempotent.
#
# Usage: deploy/install-deps.sh [--kernel]
#   --kernel  also install what the netdevsim/QEMU kernel tests need.
set -eu

packages="build-essential cmake pkg-config clang libclang-rt-14-dev llvm
libzmq3-dev libczmq-dev libnl-3-dev libnl-route-3-dev libsqlite3-dev
libyaml-dev libcmocka-dev libjansson-dev libsystemd-dev libinih-dev
libmicrohttpd-dev prometheus sqlite3 libvirt-clients
valgrind iproute2 jq python3 man-db groff-base bsdextrautils
systemd systemd-container dpkg-dev debootstrap lintian"

usage() {
	echo "usage: deploy/install-deps.sh [--kernel]"
	echo "  --kernel  also install what the netdevsim/QEMU kernel tests need."
}

kernel=no
for arg in "$@"; do
	case $arg in
	--kernel) kernel=yes ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "install-deps: unknown argument '$arg'" >&2
		usage >&2
		exit 2
		;;
	esac
done

if [ "$kernel" = yes ]; then
	packages="$packages linux-source-6.1 bc bison flex libelf-dev libssl-dev
	dwarves cpio xz-utils qemu-system-x86 busybox-static"
fi

missing=""
for pkg in $packages; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $pkg"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
