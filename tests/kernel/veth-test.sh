#!/bin/sh
# The VF writer's error path on a driver without SR-IOV: a veth pair in a
# fresh network namespace. The kernel answers EOPNOTSUPP to every VF
# change; the writer must report that for each attribute, and the device
# must be left exactly as it was (checked with iproute2).
#
# Usage: veth-test.sh PATH/TO/vf_writer_tool
# Exit status: 0 pass, 1 fail, 77 skipped (printed as "skipped: <reason>").
set -u

tool=${1:?usage: veth-test.sh PATH/TO/vf_writer_tool}
ns=vfleet-veth-$$
passed=0
failed=0

skip() {
	echo "skipped: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root to create a network namespace"
command -v ip >/dev/null 2>&1 || skip "iproute2 'ip' not installed"
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
trap 'ip netns del "$ns" 2>/dev/null' EXIT INT TERM
ip -n "$ns" link add vfa type veth peer name vfb ||
	skip "cannot create a veth pair in a namespace"

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

run_tool() {
	ip netns exec "$ns" "$tool" "$@"
}

# has_result OUTPUT ATTR ERRNO: OUTPUT has "result vfa 0 ATTR ERRNO ...".
has_result() {
	printf '%s\n' "$1" | grep -q "^result vfa 0 $2 $3 "
}

state() {
	ip -n "$ns" -d link show vfa
}

before=$(state)

# Every attribute at once: six separate requests, six refusals.
out=$(run_tool apply vfa 0 mac 02:50:56:00:00:01 vlan 100 qos 3 \
	spoofchk off trust on state enable min_tx_rate 10 max_tx_rate 100)
rc=$?
printf '%s\n' "$out"
check "apply on veth exits 1" [ "$rc" -eq 1 ]
for attr in mac vlan spoofchk trust link_state rate; do
	check "$attr: kernel's EOPNOTSUPP reported" has_result "$out" "$attr" 95
done
check "every refusal names the kernel's reason" \
	sh -c '[ "$(printf "%s\n" "$1" | grep -c "Operation not supported")" -eq 6 ]' \
	- "$out"
check "six netlink writes, one per attribute" \
	sh -c 'printf "%s\n" "$1" | grep -qx "netlink-writes 6"' - "$out"

# 802.1ad takes the hand-built IFLA_VF_VLAN_LIST path; same answer.
out=$(run_tool apply vfa 0 vlan 200 proto 802.1ad)
printf '%s\n' "$out"
check "vlan 802.1ad: kernel's EOPNOTSUPP reported" has_result "$out" vlan 95

# MTU is set on the VF's own netdev, which a veth does not have.
out=$(run_tool apply vfa 0 mtu 1400)
printf '%s\n' "$out"
check "mtu without a VF netdev: ENODEV" has_result "$out" mtu 19

# Values the kernel must never see are refused with no write at all.
for args in "vlan 4095" "vlan 10 qos 8" "mac 01:00:5e:00:00:01" \
	"min_tx_rate 100 max_tx_rate 10"; do
	# shellcheck disable=SC2086
	out=$(run_tool apply vfa 0 $args)
	printf '%s\n' "$out"
	check "'$args' refused before the kernel" sh -c \
		'printf "%s\n" "$1" | grep -q "^result vfa 0 [a-z-]* 22 invalid: " &&
		 printf "%s\n" "$1" | grep -qx "netlink-writes 0"' - "$out"
done

# A veth has no device directory, hence no sriov_numvfs.
out=$(run_tool numvfs vfa 2)
printf '%s\n' "$out"
check "numvfs on veth: ENODEV" sh -c \
	'printf "%s\n" "$1" | grep -q "^result vfa 0 num_vfs 19 "' - "$out"

after=$(state)
if [ "$before" = "$after" ]; then
	ok "ip -d link show vfa unchanged"
else
	not_ok "ip -d link show vfa changed"
	printf 'before:\n%s\nafter:\n%s\n' "$before" "$after"
fi

# The MTU path for real: a sysfs root in which vfb is VF 0's netdev of vfa
# (as virtfn0/net/ names it on a PCI PF), its attributes the kernel's own.
fake=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$fake"' EXIT INT TERM
mkdir -p "$fake/class/net/vfa/device/virtfn0/net/vfb"
ln -s /sys/class/net/vfb "$fake/class/net/vfb"
out=$(run_tool --sysfs "$fake" apply vfa 0 mtu 1400)
printf '%s\n' "$out"
check "mtu on the VF netdev: set" has_result "$out" mtu 0
check "mtu: ip shows 1400 on vfb" sh -c \
	'ip -n "$1" link show vfb | grep -q " mtu 1400 "' - "$ns"
out=$(run_tool --sysfs "$fake" apply vfa 0 mtu 1400)
check "mtu again: unchanged, no netlink write" sh -c \
	'printf "%s\n" "$1" | grep -q "^result vfa 0 mtu 0 unchanged: " &&
	 printf "%s\n" "$1" | grep -qx "netlink-writes 0"' - "$out"
out=$(run_tool --sysfs "$fake" apply vfa 0 mtu 67)
check "mtu 67 refused before the kernel" has_result "$out" mtu 22

echo "veth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
