#!/bin/sh
# Tests that run inside the QEMU guest (started by run-guest-tests.sh via
# guest-init.sh): the VF writer and discovery against netdevsim's VFs and
# the emulated Intel IOMMU. Every VF state is checked three ways: what was
# asked, what iproute2 reports (ip -j -d link show) and what vfleet reads.
#
# Usage: guest-tests.sh MODE VF_WRITER_TOOL VFLEET_AGENT
#            [VFLEET_CONTROLLER VFLEETCTL]
#   MODE iommu: booted with -device intel-iommu: the full suite, ending
#   with policy rollouts through the real controller and agent
#   (guest-rollout.sh) when the controller and vfleetctl are given.
#   MODE noiommu: booted without it: IOMMU readiness must be "not ready".
# Writes "n=<checks> fail=<failures>" to /run/vfleet-guest-summary and
# exits 0 when no check failed.
set -u

mode=$1
tool=$2
agent=$3
controller=${4:-}
ctl=${5:-}
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '    expected: %s\n    got:      %s\n' "$2" "$3"
	fi
}

# expect_match DESCRIPTION TEXT REGEX: some line of TEXT matches REGEX.
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1"
		printf '    no line matches: %s\n    in:\n%s\n' "$3" "$2"
	fi
}

finish() {
	echo "n=$((passed + failed)) fail=$failed" >/run/vfleet-guest-summary
	echo "guest: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

discover() {
	"$agent" --discover --json
}

# ---- IOMMU readiness ------------------------------------------------------

if [ "$mode" = noiommu ]; then
	inv=$(discover)
	expect_eq "no IOMMU device: no /sys/class/iommu/dmar0" no \
		"$([ -e /sys/class/iommu/dmar0 ] && echo yes || echo no)"
	expect_eq "no IOMMU device: vfleet says not ready" false \
		"$(printf '%s' "$inv" | jq -r '.host.iommu.ready')"
	reasons=$(printf '%s' "$inv" | jq -r '.host.iommu.reasons[]')
	printf 'reasons:\n%s\n' "$reasons"
	expect_match "not ready comes with a reason" "$reasons" '.'
	finish
fi

expect_eq "emulated IOMMU: /sys/class/iommu/dmar0 exists" yes \
	"$([ -e /sys/class/iommu/dmar0 ] && echo yes || echo no)"
groups=$(ls /sys/kernel/iommu_groups | wc -l)
expect_eq "emulated IOMMU: iommu_groups exist" yes \
	"$([ "$groups" -gt 0 ] && echo yes || echo no)"
inv=$(discover)
expect_eq "vfleet says IOMMU ready" true \
	"$(printf '%s' "$inv" | jq -r '.host.iommu.ready')"
expect_eq "vfleet counts the kernel's IOMMU groups" "$groups" \
	"$(printf '%s' "$inv" | jq -r '.host.iommu.groups')"

# ---- a netdevsim PF -------------------------------------------------------

echo "1 1" >/sys/bus/netdevsim/new_device
dev=/sys/bus/netdevsim/devices/netdevsim1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -d "$dev/net" ] && [ -n "$(ls "$dev/net")" ] && break
	sleep 0.5
done
pf=$(ls "$dev/net" 2>/dev/null | head -n 1)
if [ -z "$pf" ]; then
	not_ok "netdevsim device 1 has a netdev"
	finish
fi
ip link set "$pf" up
echo "PF: $pf"

# iproute2's view of a VF (one of ip -j's vfinfo_list) in the words
# vf_writer_tool show prints.
ip_vf_words='"vf \(.vf) mac \(.address)" +
	  ", vlan \(.vlan_list[0].vlan // 0), qos \(.vlan_list[0].qos // 0)" +
	  ", vlan-protocol \(.vlan_list[0].protocol // "802.1Q")" +
	  ", spoofchk \(if .spoofchk then "on" else "off" end)" +
	  ", trust \(if .trust then "on" else "off" end)" +
	  ", link-state \(.link_state)" +
	  ", min_tx_rate \(.rate.min_tx // 0), max_tx_rate \(.rate.max_tx // 0)"'

# ip's view of VF N.
ip_vf() {
	ip -j -d link show "$pf" | jq -r --argjson n "$1" \
		".[0].vfinfo_list[] | select(.vf == \$n) | $ip_vf_words"
}

# ip's view of every VF, by index.
ip_vfs() {
	ip -j -d link show "$pf" |
		jq -r ".[0].vfinfo_list | sort_by(.vf)[] | $ip_vf_words"
}

# vfleet's view of VF N.
vfleet_vf() {
	"$tool" show "$pf" | grep "^vf $1 "
}

# check_vf DESCRIPTION N EXPECTED-LINE: iproute2 and vfleet both see it.
check_vf() {
	expect_eq "$1: ip -j -d link show" "$3" "$(ip_vf "$2")"
	expect_eq "$1: vfleet read-back" "$3" "$(vfleet_vf "$2")"
}

# apply_ok DESCRIPTION N ARGS...: the writer reports every attribute ok.
apply_ok() {
	desc=$1
	n=$2
	shift 2
	out=$("$tool" apply "$pf" "$n" "$@")
	rc=$?
	printf '%s\n' "$out"
	expect_eq "$desc: apply exits 0" 0 "$rc"
	expect_eq "$desc: no attribute failed" "" \
		"$(printf '%s\n' "$out" | grep '^result ' | grep -v "^result $pf $n [a-z_-]* 0 ")"
}

# ---- VF counts ------------------------------------------------------------

out=$("$tool" numvfs "$pf" 4)
expect_match "0 -> 4 VFs" "$out" "^result $pf 0 num_vfs 0 set: 4 VFs"
expect_eq "sysfs has 4 VFs" 4 "$(cat "$dev/sriov_numvfs")"
expect_eq "ip lists 4 VFs" 4 \
	"$(ip -j -d link show "$pf" | jq '.[0].vfinfo_list | length')"

# ---- discovery of the non-PCI PF ------------------------------------------

inv=$(discover)
pfjson=$(printf '%s' "$inv" | jq -c --arg pf "$pf" '.pfs[] | select(.ifname == $pf)')
expect_match "discovery finds the netdevsim PF $pf" "$pfjson" '.'
expect_eq "discovery: 4 VFs enabled" 4 \
	"$(printf '%s' "$pfjson" | jq -r '.num_vfs')"
expect_eq "discovery: limit from netdevsim's debugfs max_vfs" \
	"$(cat /sys/kernel/debug/netdevsim/netdevsim1/max_vfs 2>/dev/null)" \
	"$(printf '%s' "$pfjson" | jq -r '.total_vfs')"
expect_eq "discovery: 4 VFs listed" 4 \
	"$(printf '%s' "$pfjson" | jq -r '.vfs | length')"

# ---- every attribute, singly ----------------------------------------------

base="vf 0 mac 00:00:00:00:00:00, vlan 0, qos 0, vlan-protocol 802.1Q, spoofchk off, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
check_vf "fresh VF 0" 0 "$base"

# The read-back alone, before any vfleet write: settings made by iproute2
# must read the same through vfleet (agent/vf_reader.c).
ip link set "$pf" vf 3 mac 02:50:56:00:00:33 vlan 33 qos 3 spoofchk on \
	trust on state enable min_tx_rate 3 max_tx_rate 33
check_vf "a VF set by ip only" 3 \
	"vf 3 mac 02:50:56:00:00:33, vlan 33, qos 3, vlan-protocol 802.1Q, spoofchk on, trust on, link-state enable, min_tx_rate 3, max_tx_rate 33"
apply_ok "mac" 0 mac 02:50:56:00:00:10
check_vf "mac" 0 "vf 0 mac 02:50:56:00:00:10, vlan 0, qos 0, vlan-protocol 802.1Q, spoofchk off, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
apply_ok "vlan+qos" 0 vlan 100 qos 3
check_vf "vlan+qos" 0 "vf 0 mac 02:50:56:00:00:10, vlan 100, qos 3, vlan-protocol 802.1Q, spoofchk off, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
apply_ok "vlan 802.1ad" 0 vlan 200 qos 1 proto 802.1ad
check_vf "vlan 802.1ad" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk off, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
apply_ok "spoofchk" 0 spoofchk on
check_vf "spoofchk" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk on, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
apply_ok "trust" 0 trust on
check_vf "trust" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk on, trust on, link-state auto, min_tx_rate 0, max_tx_rate 0"
apply_ok "link-state" 0 state disable
check_vf "link-state" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk on, trust on, link-state disable, min_tx_rate 0, max_tx_rate 0"
apply_ok "rate" 0 min_tx_rate 100 max_tx_rate 1000
check_vf "rate" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk on, trust on, link-state disable, min_tx_rate 100, max_tx_rate 1000"

# ---- all together, on several VFs -----------------------------------------

all_args() {
	echo "mac 02:50:56:00:01:0$1 vlan $((10 + $1)) qos $1 spoofchk on trust on state enable min_tx_rate $((10 * $1)) max_tx_rate $((100 * $1))"
}
all_line() {
	echo "vf $1 mac 02:50:56:00:01:0$1, vlan $((10 + $1)), qos $1, vlan-protocol 802.1Q, spoofchk on, trust on, link-state enable, min_tx_rate $((10 * $1)), max_tx_rate $((100 * $1))"
}
for n in 1 2 3; do
	# shellcheck disable=SC2046
	apply_ok "all attributes on VF $n" "$n" $(all_args "$n")
	check_vf "all attributes on VF $n" "$n" "$(all_line "$n")"
done
check_vf "VF 0 untouched by VFs 1-3" 0 "vf 0 mac 02:50:56:00:00:10, vlan 200, qos 1, vlan-protocol 802.1ad, spoofchk on, trust on, link-state disable, min_tx_rate 100, max_tx_rate 1000"
# shellcheck disable=SC2046
out=$("$tool" apply "$pf" 2 $(all_args 2))
expect_match "identical apply: zero netlink writes" "$out" '^netlink-writes 0$'
expect_eq "identical apply: every attribute unchanged" 6 \
	"$(printf '%s\n' "$out" | grep -c "^result $pf 2 [a-z_-]* 0 unchanged: ")"

# ---- clean default ----------------------------------------------------------

apply_out=$("$tool" reset "$pf" 1)
printf '%s\n' "$apply_out"
expect_match "reset VF 1 applies" "$apply_out" '^netlink-writes [1-9]'
check_vf "reset VF 1" 1 "vf 1 mac 00:00:00:00:00:00, vlan 0, qos 0, vlan-protocol 802.1Q, spoofchk on, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"

# ---- refused before the kernel ----------------------------------------------

before=$(ip -j -d link show "$pf")
for case in "9 mac 02:50:56:00:00:99|out of range" \
	"3 vlan 4095|vlan: 4095 exceeds 4094" \
	"3 vlan 5 qos 8|qos: 8 exceeds 7" \
	"3 mac 01:00:5e:00:00:01|multicast"; do
	args=${case%%|*}
	why=${case#*|}
	# shellcheck disable=SC2086
	out=$("$tool" apply "$pf" $args)
	printf '%s\n' "$out"
	expect_match "'$args' refused: $why" "$out" "^result $pf [0-9]+ [a-z_-]+ 22 .*$why"
	expect_match "'$args': zero netlink writes" "$out" '^netlink-writes 0$'
done
expect_eq "refusals left the PF as it was (ip -j -d link show)" "$before" \
	"$(ip -j -d link show "$pf")"

# ---- MTU lives on a VF netdev, which netdevsim VFs do not have --------------

out=$("$tool" apply "$pf" 3 mtu 9000)
expect_match "mtu on a VF without netdev: ENODEV" "$out" "^result $pf 3 mtu 19 "

# ---- drift -------------------------------------------------------------------

busid=$(discover | jq -r --arg pf "$pf" '.pfs[] | select(.ifname == $pf) | .pci_addr')
echo "PF $pf has bus id $busid"

# The real agent's drift report: the desired state stored through the
# agent's own code (desired_state.c), read by vfleet-agent --state-dir.
state=/run/vfleet-state
# shellcheck disable=SC2046
out=$("$tool" store "$state" "$busid" 4 2 $(all_args 2))
expect_eq "desired state stored" "stored $state/desired.vfp" "$out"
agent_drift() {
	"$agent" --discover --json --state-dir "$state" |
		jq -c '[.desired_revision, [.drift[] | {pf, vf, attribute}]]'
}
expect_eq "agent drift: none while VF 2 is as desired" '[1,[]]' "$(agent_drift)"

# behind the agent's back
ip link set "$pf" vf 2 vlan 77
# shellcheck disable=SC2046
out=$("$tool" drift "$pf" 2 $(all_args 2))
printf '%s\n' "$out"
expect_eq "drift: the agent's scan reports exactly VF 2's vlan" \
	"drift $pf 2 vlan: wanted vlan 12, qos 2, vlan-protocol 802.1Q; kernel has vlan 77, qos 0, vlan-protocol 802.1Q" \
	"$out"
inv=$(discover)
expect_eq "drift: vfleet's scan reads the changed VLAN" 77 \
	"$(printf '%s' "$inv" | jq -r --arg pf "$pf" '.pfs[] | select(.ifname == $pf) | .vfs[] | select(.vf == 2) | .vlan')"
# shellcheck disable=SC2046
out=$("$tool" drift "$pf" 3 $(all_args 3))
expect_eq "drift: none on VF 3" "" "$out"
expect_eq "agent drift: exactly VF 2's vlan" \
	"[1,[{\"pf\":\"$busid\",\"vf\":2,\"attribute\":\"vlan\"}]]" \
	"$(agent_drift)"
table=$("$agent" --discover --state-dir "$state")
expect_eq "agent drift table: one line, iproute2's words" \
	"drift: pf $busid vf 2 vlan: wanted vlan 12, qos 2, vlan-protocol 802.1Q; kernel has vlan 77, qos 0, vlan-protocol 802.1Q" \
	"$(printf '%s\n' "$table" | grep '^drift: ')"

# The agent daemon re-applies the stored desired state when it starts,
# with no controller to talk to, and the drift is gone. It runs as root
# here, so its privilege separation is real: the network process becomes
# nobody with no capability, the writer keeps uid 0 and CAP_NET_ADMIN
# (bit 12) alone, and the re-apply goes through the writer. With
# vfleetctl it has CURVE keys as in production (root's 0600 secret, read
# before the drop); without, no key can be made and it runs --insecure.
if [ -n "$ctl" ] &&
	"$ctl" keys init --keys /run/agent-keys >/dev/null &&
	"$ctl" keys add-host guest-0 --keys /run/agent-keys \
		--out /run/agent.key_secret >/dev/null; then
	security="--key /run/agent.key_secret"
	security="$security --controller-key /run/agent-keys/controller.key"
else
	security=--insecure
fi
# shellcheck disable=SC2086 # security is a list of words
"$agent" --controller tcp://127.0.0.1:9 $security --state-dir "$state" \
	--user nobody 2>/run/vfleet-agent.log &
agent_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q 'apply revision 1: ' /run/vfleet-agent.log && break
	sleep 0.5
done
# status_of PID FIELD: the first value of FIELD in /proc/PID/status.
status_of() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"
}
writer_pid=$(pgrep -P "$agent_pid")
expect_eq "agent network process: uid nobody, no capabilities" \
	"$(id -u nobody) 0000000000000000 1" \
	"$(status_of "$agent_pid" Uid) $(status_of "$agent_pid" CapEff) $(status_of "$agent_pid" NoNewPrivs)"
expect_eq "agent writer process: uid 0, CAP_NET_ADMIN alone" \
	"0 0000000000001000 0000000000001000" \
	"$(status_of "$writer_pid" Uid) $(status_of "$writer_pid" CapEff) $(status_of "$writer_pid" CapBnd)"
kill "$agent_pid"
wait "$agent_pid"
cat /run/vfleet-agent.log
expect_match "agent start: re-applies the stored desired state" \
	"$(cat /run/vfleet-agent.log)" "re-applying desired state revision 1 from $state/desired.vfp"
expect_match "agent start: every item applied" \
	"$(cat /run/vfleet-agent.log)" "apply revision 1: 7 items, 0 failed"
check_vf "agent start: VF 2 back to the desired state" 2 "$(all_line 2)"
expect_eq "agent drift: none after the re-apply" '[1,[]]' "$(agent_drift)"

# ---- a whole APPLY message, the PF named by its bus id ---------------------------

out=$("$tool" message "$busid" 4 3 mac 02:50:56:00:02:03 trust on)
printf '%s\n' "$out"
expect_match "message: VF count unchanged" "$out" \
	"^result $busid 0 num_vfs 0 unchanged: 4 VFs"
expect_match "message: mac set" "$out" "^result $busid 3 mac 0 set: "
expect_match "message: trust unchanged" "$out" "^result $busid 3 trust 0 unchanged: "
check_vf "message" 3 "vf 3 mac 02:50:56:00:02:03, vlan 13, qos 3, vlan-protocol 802.1Q, spoofchk on, trust on, link-state enable, min_tx_rate 30, max_tx_rate 300"

# ---- VF counts: through 0, in use, over the limit -----------------------------

scan_num_vfs() {
	discover | jq -r --arg pf "$pf" '.pfs[] | select(.ifname == $pf) | .num_vfs'
}

out=$("$tool" numvfs "$pf" 2)
expect_match "4 -> 2 VFs (through 0)" "$out" "^result $pf 0 num_vfs 0 set: 2 VFs"
expect_eq "sysfs has 2 VFs" 2 "$(cat "$dev/sriov_numvfs")"
expect_eq "ip lists 2 VFs" 2 \
	"$(ip -j -d link show "$pf" | jq '.[0].vfinfo_list | length')"
expect_eq "vfleet's scan sees 2 VFs" 2 "$(scan_num_vfs)"
out=$("$tool" numvfs "$pf" 1 1)
expect_match "VF 1 in use blocks 2 -> 1" "$out" "^result $pf 0 num_vfs 16 refused: .*VF 1"
expect_eq "still 2 VFs" 2 "$(cat "$dev/sriov_numvfs")"
max=$(cat /sys/kernel/debug/netdevsim/netdevsim1/max_vfs)
out=$("$tool" numvfs "$pf" $((max + 1)))
printf '%s\n' "$out"
expect_match "above the limit: the kernel's error" "$out" \
	"^result $pf 0 num_vfs [1-9][0-9]* [^;]*; kernel refused $((max + 1)) VFs"
expect_eq "above the limit: previous 2 VFs restored" 2 \
	"$(cat "$dev/sriov_numvfs")"
expect_eq "above the limit: ip lists 2 VFs" 2 \
	"$(ip -j -d link show "$pf" | jq '.[0].vfinfo_list | length')"
expect_eq "the kernel itself refuses a direct 2 -> 3" refused \
	"$( (echo 3 >"$dev/sriov_numvfs") 2>/dev/null && echo accepted || echo refused)"
expect_eq "still 2 VFs after the refused direct change" 2 \
	"$(cat "$dev/sriov_numvfs")"

# ---- policy rollout through the controller and the agent ----------------------
# Before the hugepage checks: started after them (nearly all the guest's
# memory taken and given back) the host took a minute to show ready.

if [ -n "$controller" ] && [ -n "$ctl" ]; then
	# shellcheck source=tests/kernel/guest-rollout.sh
	. "$(dirname "$0")/guest-rollout.sh"
else
	echo "skipped: rollout section: no vfleet-controller and vfleetctl given"
fi

# ---- hugepages -----------------------------------------------------------------

hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
out=$("$tool" hugepages 2048 16)
expect_match "16 hugepages of 2 MiB" "$out" '^result - 0 2048kB 0 set: 16 pages'
expect_eq "nr_hugepages 16" 16 "$(cat "$hp")"
expect_eq "meminfo HugePages_Total 16" 16 \
	"$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)"
out=$("$tool" hugepages 2048 100000)
printf '%s\n' "$out"
expect_match "more than memory: ENOMEM with what was reserved" "$out" \
	'^result - 0 2048kB 12 kernel reserved only [0-9]+ of 100000'
expect_eq "pool put back to 16" 16 "$(cat "$hp")"
out=$("$tool" hugepages 2048 0)
expect_eq "pool released" 0 "$(cat "$hp")"

echo "--- ip -d link show $pf"
ip -d link show "$pf"
finish
