#!/bin/sh
# Builds (once) the guest kernel for the netdevsim tests and prints the path
# of its cached bzImage on stdout.
#
# The image is cached under $VFLEET_KERNEL_CACHE (default
# ~/.cache/vfleet/kernel) in <source-version>-<config-hash>/bzImage, so a new
# Debian linux-source upload or a changed tests/kernel/vfleet.config builds a
# new image and anything else reuses the old one.
#
# Exit status: 0 built or cached; 77 the kernel cannot be built here (the
# reason is printed as "skipped: <reason>" on stderr); 1 usage error.
#
# Environment:
#   VFLEET_KERNEL_CACHE  cache root (default ~/.cache/vfleet/kernel)
#   VFLEET_KERNEL_JOBS   make -j value (default 2)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/vfleet.config
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${VFLEET_KERNEL_CACHE:-${HOME:-/root}/.cache/vfleet/kernel}
jobs=${VFLEET_KERNEL_JOBS:-2}

skip() {
	echo "skipped: $*" >&2
	exit 77
}

[ -r "$tarball" ] || skip "$tarball not found (install linux-source-6.1)"
for tool in make gcc bc bison flex xz sha256sum flock; do
	command -v "$tool" >/dev/null 2>&1 || skip "kernel build tool '$tool' missing"
done
[ -r /usr/include/libelf.h ] || skip "libelf-dev missing"
[ -r /usr/include/openssl/opensslv.h ] || skip "libssl-dev missing"

version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	skip "linux-source-6.1 is not an installed package"
config_hash=$(sha256sum "$fragment" | cut -c1-16)
key=$version-$config_hash
image=$cache/$key/bzImage

mkdir -p "$cache"
# One builder at a time per cache: a second run waits and then reuses.
exec 9>"$cache/.lock"
flock 9

if [ -s "$image" ]; then
	echo "build-kernel: cached $image" >&2
	echo "$image"
	exit 0
fi

src=$cache/src-$version
log=$cache/build-$key.log
if [ ! -f "$src/Makefile" ]; then
	echo "build-kernel: unpacking $tarball" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1 ||
		skip "cannot unpack $tarball"
	mv "$src.tmp" "$src"
fi

echo "build-kernel: configuring and building $key (log: $log)" >&2
start=$(date +%s)
if ! (
	cd "$src" &&
		make defconfig &&
		make kvm_guest.config &&
		scripts/kconfig/merge_config.sh -m .config "$fragment" &&
		make olddefconfig
) >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	skip "kernel configuration failed (see $log)"
fi

# merge_config.sh only warns when Kconfig drops a requested option (a missing
# dependency): refuse to spend minutes building an image that lacks one.
missing=$(grep '^CONFIG_' "$fragment" | while IFS= read -r line; do
	grep -qx "$line" "$src/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
	skip "kernel config lacks: $(echo "$missing" | tr '\n' ' ')"
fi

if ! (cd "$src" && nice -n 10 make -j"$jobs" bzImage) >>"$log" 2>&1; then
	tail -n 30 "$log" >&2
	skip "kernel build failed (see $log)"
fi

mkdir -p "$cache/$key"
cp "$src/arch/x86/boot/bzImage" "$image.tmp"
cp "$src/.config" "$cache/$key/config"
mv "$image.tmp" "$image"
echo "build-kernel: built $image in $(($(date +%s) - start)) s" >&2
echo "$image"
