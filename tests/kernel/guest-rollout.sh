# The rollout section of guest-tests.sh (iommu mode), sourced by it: the
# real vfleet-controller, vfleet-agent (--kernel netlink, this guest's
# kernel; both with CURVE keys) and vfleetctl roll policies out to the netdevsim PF $pf, and
# every VF is checked with ip -j -d link show and vfleet's read-back.
# Uses guest-tests.sh's ok/not_ok/expect_*/ip_vf/ip_vfs and $pf, $dev,
# $busid, $tool, $agent, $controller, $ctl. Everything it writes lives
# under /run/rollout.
# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables above: set by guest-tests.sh

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

# The clean default a free VF gets (controller/apply_plan.h), as ip_vf
# prints it.
clean_vf() {
	echo "vf $1 mac 00:00:00:00:00:00, vlan 0, qos 0, vlan-protocol 802.1Q, spoofchk on, trust off, link-state auto, min_tx_rate 0, max_tx_rate 0"
}

# check_clean DESCRIPTION COUNT: the PF has exactly COUNT VFs, each with
# the clean default, as sysfs, iproute2 and vfleet's read-back see it.
check_clean() {
	want=$(
		n=0
		while [ "$n" -lt "$2" ]; do
			clean_vf "$n"
			n=$((n + 1))
		done
	)
	expect_eq "$1: sysfs has $2 VFs" "$2" "$(cat "$dev/sriov_numvfs")"
	expect_eq "$1: ip -j -d link show: $2 VFs, each clean" "$want" \
		"$(ip_vfs)"
	expect_eq "$1: vfleet read-back: $2 VFs, each clean" "$want" \
		"$("$tool" show "$pf" | grep '^vf ')"
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
# The daemons' log times are read against this one.
echo "rollout: starting the controller and the agent at $(date -u +%T.%3N)"
# The guest's loopback starts down; ZeroMQ's TCP needs it.
ip link set lo up
# CURVE keys as an operator makes them (README.md, "Keys").
keys=$ro/keys
if ! "$ctl" keys init --keys "$keys" >/dev/null ||
	! "$ctl" keys add-host "$host" --keys "$keys" \
		--out "$ro/agent.key_secret" >/dev/null; then
	not_ok "keys: vfleetctl keys init and add-host $host"
	return
fi
"$controller" --keys "$keys" --state-dir "$ro/controller" \
	--agents tcp://127.0.0.1:7450 --admin "$admin" \
	--heartbeat-interval 300ms >"$ro/controller.log" 2>&1 &
controller_pid=$!
"$agent" --controller tcp://127.0.0.1:7450 --key "$ro/agent.key_secret" \
	--controller-key "$keys/controller.key" --hostname "$host" \
	--rescan 300ms --state-dir "$ro/agent" >"$ro/agent.log" 2>&1 &
agent_pid=$!

t0=$(now_ms)
if ! wait_until 120 host_ready; then
	not_ok "controller: host $host ready with its PF within 120 s" \
		"(now $(date -u +%T.%3N))"
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

policy=$ro/policy.yaml

# write_policy VFS [DRIFT]: the guest host's netdevsim PFs get VFS VFs,
# each free and so given the clean default; DRIFT is the policy's drift
# mode (left out: the default, correct). A network's VLAN only reaches
# VFs a VM holds: a check that a VLAN change touches exactly those VFs
# adds a `networks` list here and a placed VM (README.md).
write_policy() {
	cat >"$policy" <<EOF
version: 1
host_groups:
  - name: guest
    hosts: ["guest-*"]
    pfs:
      - driver: netdevsim
        vfs: $1
EOF
	[ $# -lt 2 ] || echo "drift: $2" >>"$policy"
}

# The agent's per-APPLY log line: "apply revision R: N kernel writes".
apply_lines() {
	grep 'apply revision [0-9]*: [0-9]* kernel writes' "$ro/agent.log"
}

# Kernel writes of the agent's APPLYs logged after line $1 of apply_lines.
writes_after() {
	apply_lines | tail -n +"$(($1 + 1))" |
		sed 's/.*apply revision [0-9]*: \([0-9]*\) kernel writes.*/\1/' |
		awk '{ n += $1 } END { print n + 0 }'
}

# policy_apply MESSAGE: vfleetctl policy apply of $policy, its JSON in
# $out, exit status in $rc, the time it took in $took.
policy_apply() {
	t0=$(now_ms)
	out=$("$ctl" -c "$admin" --timeout 120s -o json policy apply "$policy" \
		--message "$1")
	rc=$?
	took=$(($(now_ms) - t0))
	printf '%s\n' "$out"
}

apply_field() {
	printf '%s' "$out" | jq -r "$1"
}

# The guest host's row of policy status, in a few words.
status_row() {
	vctl -o json policy status | jq -r --arg h "$host" '
	  .hosts[] | select(.host == $h) |
	  "\(.state) applied==desired \(.applied_revision == .desired_revision) failed \(.failed_items)"'
}

# check_rollout DESCRIPTION: the apply completed and the host confirmed.
check_rollout() {
	expect_eq "$1: policy apply exits 0 (after $took ms)" 0 "$rc"
	expect_eq "$1: every host applied" true "$(apply_field '.complete')"
	expect_eq "$1: policy status: host ok" \
		"ok applied==desired true failed 0" "$(status_row)"
}

# ---- 2 -> 4 VFs, every one cleaned --------------------------------------------

write_policy 4
cat "$policy"
before=$(apply_lines | wc -l)
policy_apply "guest: 4 clean VFs"
check_rollout "policy 4 VFs"
expect_eq "policy 4 VFs: stored as a new revision" false \
	"$(apply_field '.apply.unchanged')"
# The changes compare desired states: before the first there is none, so
# the count reads "unmanaged", whatever the kernel had.
changes=$(apply_field '.apply.hosts[].changes[]')
expect_match "policy 4 VFs: the changes name the VF count" "$changes" \
	"^$host: pf $busid: num_vfs unmanaged -> 4$"
expect_eq "policy 4 VFs: the changes name each VF" 4 \
	"$(printf '%s\n' "$changes" | grep -c "^$host: pf $busid: vf [0-3] new: mac 00:00:00:00:00:00 vlan 0 qos 0 proto 802.1Q spoofchk on trust off link-state auto min_tx_rate 0 max_tx_rate 0$")"
expect_eq "policy 4 VFs: the agent applied once" 1 \
	"$(($(apply_lines | wc -l) - before))"
expect_match "policy 4 VFs: the agent wrote to the kernel" \
	"$(writes_after "$before")" '^[1-9]'
check_clean "policy 4 VFs" 4

# ---- the same policy again: nothing to do -------------------------------------

before=$(apply_lines | wc -l)
policy_apply "guest: 4 clean VFs, again"
check_rollout "same policy"
expect_eq "same policy: unchanged, no host changes" "true 0" \
	"$(apply_field '"\(.apply.unchanged) \(.apply.hosts_changed)"')"
# Ten heartbeats: time enough for an APPLY that should not come.
sleep 3
expect_eq "same policy: no APPLY reached the agent" 0 \
	"$(($(apply_lines | wc -l) - before))"
check_clean "same policy" 4

# ---- drift: reported only, then put back -------------------------------------

drift_rows() {
	vctl -o json drift --host "$host" |
		jq -c '[.drift[] | {pf, vf, attribute, wanted, has}]'
}
vf1_vlan77='[{"pf":"'$busid'","vf":1,"attribute":"vlan","wanted":"0","has":"77"}]'
drift_is() {
	[ "$(drift_rows)" = "$1" ]
}
vf1_clean() {
	[ "$(ip_vf 1)" = "$(clean_vf 1)" ]
}

write_policy 4 report
before=$(apply_lines | wc -l)
policy_apply "guest: 4 clean VFs, drift reported"
check_rollout "drift report"
expect_eq "drift report: a new revision, no host changes" "false 0" \
	"$(apply_field '"\(.apply.unchanged) \(.apply.hosts_changed)"')"
ip link set "$pf" vf 1 vlan 77
if wait_until 20 drift_is "$vf1_vlan77"; then
	ok "drift report: vfleetctl drift shows VF 1's VLAN 77"
else
	not_ok "drift report: vfleetctl drift shows VF 1's VLAN 77 within 20 s"
	printf '    expected: %s\n    got:      %s\n' "$vf1_vlan77" "$(drift_rows)"
fi
expect_eq "drift report: policy status counts the host drifted" 1 \
	"$(vctl -o json policy status | jq '.counts.drifted')"
# Ten heartbeats: time enough for a correction that should not come.
sleep 3
expect_match "drift report: VF 1 left on VLAN 77" "$(ip_vf 1)" ', vlan 77,'
expect_eq "drift report: no APPLY reached the agent" 0 \
	"$(($(apply_lines | wc -l) - before))"

# Back to `drift: correct`: storing the policy makes the controller check
# drift again, and the drift recorded under `report` is put back.
before=$(apply_lines | wc -l)
write_policy 4
policy_apply "guest: 4 clean VFs, drift corrected"
check_rollout "drift correct"
t0=$(now_ms)
if wait_until 20 vf1_clean; then
	ok "drift correct: the reported drift put back after $(($(now_ms) - t0)) ms"
else
	not_ok "drift correct: the reported drift put back within 20 s"
fi
expect_eq "drift correct: with one kernel write" 1 "$(writes_after "$before")"

# Under `correct` a change by hand is put back on the agent's next report
# (a link event or the 300 ms rescan), within about 100 ms in this guest:
# too fast to see with ip, so the agent's log shows what it found.
before=$(apply_lines | wc -l)
ctl_before=$(wc -l <"$ro/controller.log")
ip link set "$pf" vf 1 vlan 78
t0=$(now_ms)
if wait_until 20 vf1_clean; then
	ok "drift: VF 1 back to the clean default after $(($(now_ms) - t0)) ms"
else
	not_ok "drift: VF 1 back to the clean default within 20 s"
fi
expect_match "drift: the agent saw VLAN 78" "$(cat "$ro/agent.log")" \
	"drift: pf $busid vf 1 vlan: wanted vlan 0, .*; kernel has vlan 78, "
ctl_log=$(tail -n +"$((ctl_before + 1))" "$ro/controller.log")
expect_match "drift: the controller logged it" "$ctl_log" \
	"host $host: [0-9]+ settings drifted from desired revision [0-9]+; first: pf $busid vf 1 vlan: wanted 0, has 78$"
expect_match "drift: the controller sent the desired state again" \
	"$ctl_log" "host $host: sending APPLY revision [0-9]+ \(correcting drift\)$"
expect_eq "drift: corrected with one kernel write" 1 \
	"$(writes_after "$before")"
if wait_until 20 drift_is '[]'; then
	ok "drift: vfleetctl drift shows none once corrected"
else
	not_ok "drift: vfleetctl drift shows none once corrected"
	drift_rows
fi
check_clean "after drift" 4

# ---- a network, and a VM that cannot hold a netdevsim VF ----------------------

# netdevsim's VFs are not PCI functions: they have no IOMMU group, so none
# is isolated and no passthrough VM may hold one (placement's nics rule).
# A network's VLAN reaches only VFs VMs hold, so changing it changes no VF
# here: no APPLY, no kernel write. (A VM-held VF taking exactly the new
# VLAN is checked on the simulated kernel: tests/controller/
# placement_test.py, check_vlan_change.)
write_network_policy() {
	cat >"$policy" <<EOF
version: 1
networks:
  - name: prod
    vlan: $1
mac_pools:
  - name: vms
    prefixes: ["02:76:66"]
memory:
  hypervisor_reserve: 0M
host_groups:
  - name: guest
    hosts: ["guest-*"]
    pfs:
      - driver: netdevsim
        vfs: 4
        networks: [prod]
EOF
}

write_network_policy 10
policy_apply "guest: network prod on VLAN 10"
check_rollout "network prod"
# 1 MiB and no hypervisor reserve: the small guest's memory fits it, and
# the VFs are what refuses it.
vm_out=$(vctl vm create g-1 --memory 1M --vcpus 1 --nic prod 2>&1)
expect_match "placement: no netdevsim VF is isolated, the VM is refused" \
	"$vm_out" "no host fits vm g-1: $host: no free isolated VF on a PF carrying prod"
expect_eq "placement: the refused VM is not stored" 0 \
	"$(vctl -o json vms | jq '.vms | length')"
before=$(apply_lines | wc -l)
write_network_policy 20
policy_apply "guest: network prod on VLAN 20"
check_rollout "network prod VLAN 20"
expect_eq "VLAN 20: no VF holds prod, no host changes" 0 \
	"$(apply_field '.apply.hosts_changed')"
sleep 3
expect_eq "VLAN 20: no APPLY reached the agent" 0 \
	"$(($(apply_lines | wc -l) - before))"
check_clean "VLAN 20" 4

# ---- 4 -> 2 VFs -----------------------------------------------------------------

write_policy 2
policy_apply "guest: 2 clean VFs"
check_rollout "policy 2 VFs"
expect_match "policy 2 VFs: the change names the VF count" \
	"$(apply_field '.apply.hosts[].changes[]')" \
	"^$host: pf $busid: num_vfs 4 -> 2$"
check_clean "policy 2 VFs" 2

rollout_stop
