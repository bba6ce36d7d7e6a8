# The rollout section of guest-tests.sh (iommu mode), sourced by it: the
# real vfleet-controller, vfleet-agent (--kernel netlink, this guest's
# kernel) and vfleetctl roll policies out to the netdevsim PF $pf, and
# every VF is checked with ip -j -d link show and vfleet's read-back.
# Uses guest-tests.sh's ok/not_ok/expect_*/check_vf/ip_vf and $pf, $dev,
# $agent, $controller, $ctl. Everything it writes lives under /run/rollout.
# shellcheck shell=sh
# shellcheck disable=SC2154 # pf, dev, agent, controller, ctl, busid: set by guest-tests.sh

ro=/run/rollout
admin=ipc://$ro/admin.sock
host=guest-1

# Each call of the controller's API is bounded; the TCG guest is slow.
vctl() {
	"$ctl" -c "$admin" --timeout 10s "$@"
}

now_ms() {
	date +%s%3N
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it
# succeeds; returns 1 when SECONDS pass first.
wait_until() {
	deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# The controller's view of this host, one jq filter over `hosts -o json`.
host_field() {
	vctl -o json hosts 2>/dev/null |
		jq -r --arg h "$host" ".hosts[] | select(.name == \$h) | $1"
}

host_ready() {
	[ "$(host_field '"\(.state) \(.connected) \(.pfs)"')" = "ready true 1" ]
}

# The controller's record of VF N of the PF, in iproute2's words.
ctl_vf() {
	vctl -o json vfs --host "$host" 2>/dev/null | jq -r --argjson n "$1" '
	  .vfs[] | select(.index == $n) |
	  "mac \(.mac) vlan \(.vlan) qos \(.qos) spoofchk \(.spoofchk)" +
	  " trust \(.trust) link-state \(.link_state)" +
	  " min_tx_rate \(.min_tx_rate) max_tx_rate \(.max_tx_rate)"'
}

# ip's view of VF N in ctl_vf's words.
ip_words() {
	ip -j -d link show "$pf" | jq -r --argjson n "$1" '
	  .[0].vfinfo_list[] | select(.vf == $n) |
	  "mac \(.address) vlan \(.vlan_list[0].vlan // 0)" +
	  " qos \(.vlan_list[0].qos // 0)" +
	  " spoofchk \(if .spoofchk then "on" else "off" end)" +
	  " trust \(if .trust then "on" else "off" end)" +
	  " link-state \(.link_state)" +
	  " min_tx_rate \(.rate.min_tx // 0) max_tx_rate \(.rate.max_tx // 0)"'
}

# ctl_vf_is N LINE: the controller's record of VF N reads LINE.
ctl_vf_is() {
	[ "$(ctl_vf "$1")" = "$2" ]
}

# The clean default a free VF gets (controller/apply_plan.h), as check_vf
# prints it.
clean_vf() {
	echo "vf $1 mac 00:00:00:00:00:00, vlan 0, qos 0, vlan-protocol 802.1Q, spoofchk on, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
}

ip_num_vfs() {
	ip -j -d link show "$pf" | jq '.[0].vfinfo_list | length'
}

# check_clean DESCRIPTION COUNT: the PF has COUNT VFs, each clean.
check_clean() {
	expect_eq "$1: sysfs has $2 VFs" "$2" "$(cat "$dev/sriov_numvfs")"
	expect_eq "$1: ip lists $2 VFs" "$2" "$(ip_num_vfs)"
	n=0
	while [ "$n" -lt "$2" ]; do
		check_vf "$1: VF $n clean" "$n" "$(clean_vf "$n")"
		n=$((n + 1))
	done
}

apply_lines() {
	grep -c 'apply revision [0-9]*: [0-9]* kernel writes' "$ro/agent.log"
}

rollout_stop() {
	kill "$agent_pid" "$controller_pid" 2>/dev/null
	wait "$agent_pid" "$controller_pid" 2>/dev/null
	echo "--- controller log"
	cat "$ro/controller.log"
	echo "--- agent log"
	cat "$ro/agent.log"
}

# ---- the controller and the agent --------------------------------------------

mkdir -p "$ro"
# The guest's loopback starts down; ZeroMQ's TCP needs it.
ip link set lo up
"$controller" --insecure --state-dir "$ro/controller" \
	--agents tcp://127.0.0.1:7450 --admin "$admin" \
	--heartbeat-interval 300ms >"$ro/controller.log" 2>&1 &
controller_pid=$!
"$agent" --controller tcp://127.0.0.1:7450 --insecure --hostname "$host" \
	--rescan 300ms --state-dir "$ro/agent" >"$ro/agent.log" 2>&1 &
agent_pid=$!

t0=$(now_ms)
if ! wait_until 60 host_ready; then
	not_ok "controller: host $host ready with its PF within 60 s"
	vctl -o json hosts
	rollout_stop
	return
fi
ok "controller: host $host ready with its PF after $(($(now_ms) - t0)) ms"
pfrow=$(vctl -o json pfs --host "$host" | jq -c '.pfs[0]')
expect_eq "controller: the PF as the agent reports it" \
	"$busid $pf netdevsim 2" \
	"$(printf '%s' "$pfrow" | jq -r '"\(.pci_addr) \(.ifname) \(.driver) \(.num_vfs)"')"

# ---- settings made by hand reach the controller -------------------------------

# VFs 2 and 3 (hidden while the PF has 2 VFs) keep what the writer
# sections gave them: netdevsim keeps VF settings across count changes.
ip link set "$pf" vf 0 vlan 10 qos 2 trust on spoofchk off max_tx_rate 100
ip link set "$pf" vf 1 mac 02:50:56:00:03:01 vlan 20 state disable \
	min_tx_rate 5 max_tx_rate 50
want0=$(ip_words 0)
want1=$(ip_words 1)
expect_match "by hand: ip shows VF 0's settings" "$want0" \
	'vlan 10 qos 2 spoofchk off trust on .* max_tx_rate 100$'
expect_match "by hand: ip shows VF 1's settings" "$want1" \
	'^mac 02:50:56:00:03:01 vlan 20 .* link-state disable min_tx_rate 5 max_tx_rate 50$'
t0=$(now_ms)
if wait_until 20 ctl_vf_is 0 "$want0" && wait_until 5 ctl_vf_is 1 "$want1"; then
	ok "controller: VFs set by hand reported after $(($(now_ms) - t0)) ms"
else
	not_ok "controller: VFs set by hand reported within 20 s"
	printf '    ip VF 0:  %s\n    ctl VF 0: %s\n' "$want0" "$(ctl_vf 0)"
	printf '    ip VF 1:  %s\n    ctl VF 1: %s\n' "$want1" "$(ctl_vf 1)"
fi

# ---- policy rollout -------------------------------------------------------------

if ! "$ctl" policy apply --help 2>&1 | grep -q 'policy apply'; then
	echo "skipped: policy rollout checks: this vfleetctl has no 'policy apply'"
	rollout_stop
	return
fi

# write_policy FILE VFS: the guest host's netdevsim PFs get VFS free VFs.
write_policy() {
	cat >"$1" <<EOF
version: 1
host_groups:
  - name: guest
    hosts: ["guest-*"]
    pfs:
      - driver: netdevsim
        vfs: $2
EOF
}

rollout_stop
