#!/bin/sh
# End to end test of vfleetctl's VM verbs (cli/cli_vm.c, cli/cli_vm_xml.c,
# cli/cli_plan.c)
# against the real vfleet-controller and two real vfleet-agents (esx-e1,
# esx-e2) on simulated kernels of recorded sysfs trees
# (tests/fixtures/mktree.py vf64), with deploy/examples/policy.yaml
# applied: vm create (placed, spread by anti-affinity, refused with its
# closest hosts, exists, usage errors, --wait timing out on a stopped
# agent: exit 4, then host-down), vm show, vms and its filters, vm migrate
# (refused: pinned), vm power, vm xml (validated by virt-xml-validate when
# installed), host cordon, uncordon and drain, plan (--count and FILE:
# what fits, nothing created), vm nic add and remove on a powered-off VM,
# vm evacuate --cold (refused while on, then to the other host, MAC
# kept), vm delete. The daemons run with CURVE keys (tests/lib.sh).
#
# Registered with ctest as cli_vm_e2e; by hand, from a build directory:
#   VFLEET_BINARY_DIR=$PWD sh ../tests/cli/vm_cli_test.sh
# Needs jq and python3. VFLEET_KEEP=1 keeps the work directory.
set -eu

case_name=vm
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR is not set}
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ctl_bin=$bin/cli/vfleetctl
controller_bin=$bin/controller/vfleet-controller
agent_bin=$bin/agent/vfleet-agent
policy=$src/deploy/examples/policy.yaml

work=$(mktemp -d /tmp/vfleet-vm-cli.XXXXXX)
state_dir=$work/state
admin=ipc://$state_dir/admin.sock
port=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
agents=tcp://127.0.0.1:$port
# --admin-rate 20: the bulk dry run below goes past it.
controller_opts="--heartbeat-interval 200ms --dead-after 5 --admin-rate 20"
pids=""
fail_logs="controller:30 agent-esx-e1:10 agent-esx-e2:10"
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
stopped=""
cleanup() {
	[ -z "$stopped" ] || kill -CONT "$stopped" 2>/dev/null || true
	test_stop_pids
	test_remove_work
}
trap cleanup EXIT INT TERM

# The exit status of a command, its stdout in $work/out, stderr in
# $work/err.
run() {
	set +e
	"$@" >"$work/out" 2>"$work/err"
	st=$?
	set -e
	echo $st
}

wait_for() {
	i=0
	until eval "$1"; do
		i=$((i + 1))
		[ $i -lt "${2:-100}" ] || fail "timed out waiting for: $1"
		sleep 0.1
	done
}

host_state() {
	ctl -o json hosts | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .state'
}

# Starts the agent of host $1 with its own key; sets agent_pid.
start_agent() {
	test_agent_opts "$1"
	# shellcheck disable=SC2086 # agent_opts is a list of words
	"$agent_bin" --controller "$agents" $agent_opts --hostname "$1" \
		--kernel sim --rescan 300ms --heartbeat-interval 200ms \
		--sysfs-root "$work/$1/sys" --procfs-root "$work/$1/proc" \
		--state-dir "$work/$1/agent-state" >>"$work/agent-$1.log" 2>&1 &
	agent_pid=$!
	pids="$pids $agent_pid"
}

for host in esx-e1 esx-e2; do
	python3 "$src/tests/fixtures/mktree.py" vf64 "$work/$host" >/dev/null
done
start_controller
start_agent esx-e1
start_agent esx-e2
e2_agent=$agent_pid
wait_for '[ "$(host_state esx-e1)" = ready ] && [ "$(host_state esx-e2)" = ready ]'
ctl policy apply "$policy" >/dev/null 2>"$work/err" ||
	fail "policy apply: $(cat "$work/err")"

# ---- vm create, placed; vm show ----------------------------------------
[ "$(run ctl vm create web-1 --memory 4G --vcpus 2 --nic vlan1 --wait)" -eq 0 ] ||
	fail "vm create web-1: $(cat "$work/err")"
grep -Eqx 'state +placed' "$work/out" || fail "web-1 not placed: $(cat "$work/out")"
ctl vm show web-1 >"$work/show"
for line in 'name +web-1' 'state +placed' 'host +esx-e1' 'memory +4096 MiB' \
	'vcpus +2' 'power +unknown' 'group +-' 'numa +none' \
	'NIC +NETWORK +MAC +PF +VF +PCI +VLAN' \
	'0 +vlan1 +02:76:66:00:[0-9a-f:]+ +ens1f0 +0 +0000:03:10\.0 +1' \
	'pinned: passthrough VMs are pinned to their host: no live migration, no HA restart elsewhere, no snapshots'; do
	grep -Eqx "$line" "$work/show" || fail "vm show lacks [$line]: $(cat "$work/show")"
done
ctl -o json vm show web-1 >"$work/show.json"
jq -e '.name == "web-1" and .state == "placed" and .host == "esx-e1" and
	.memory_mib == 4096 and .vcpus == 2 and (.nics | length) == 1 and
	.nics[0].network == "vlan1" and .nics[0].vlan == 1 and
	.nics[0].trunk == false and .nics[0].pf_ifname == "ens1f0" and
	(.nics[0].mac | startswith("02:76:66:00:")) and
	(.created_at | test("^2[0-9-]+T[0-9:.]+Z$")) and .placed_at != null' \
	"$work/show.json" >/dev/null || fail "vm show JSON: $(cat "$work/show.json")"

# Anti-affinity (web-*) puts web-2 on the other host; a trunk NIC shows
# "trunk", not VLAN 0.
[ "$(run ctl vm create web-2 --memory 2048 --vcpus 1 --nic trunk,mac=02:76:66:ff:00:01 --wait)" -eq 0 ] ||
	fail "vm create web-2: $(cat "$work/err")"
grep -Eqx 'host +esx-e2' "$work/out" || fail "web-2 host: $(cat "$work/out")"
grep -Eqx '0 +trunk +02:76:66:ff:00:01 +ens1f0 +0 +[0-9a-f:.]+ +trunk' "$work/out" ||
	fail "web-2 NIC: $(cat "$work/out")"

# ---- refusals ----------------------------------------------------------
# esx-e1 has one VF left: two NICs do not fit; the reason, the closest
# host and the per-rule counts are said.
[ "$(run ctl vm create db-1 --memory 1G --vcpus 1 --nic vlan1 --nic vlan1 --host esx-e1)" -eq 1 ] ||
	fail "db-1 should be refused: $(cat "$work/out")"
grep -q '^vfleetctl: vm.create: no host fits vm db-1: esx-e1: ' "$work/err" ||
	fail "refusal text: $(cat "$work/err")"
grep -q '^closest host esx-e1 (nics): ' "$work/err" ||
	fail "closest host: $(cat "$work/err")"
grep -Eq '^1 host refused by rule nics' "$work/err" ||
	fail "per-rule count: $(cat "$work/err")"
[ "$(run ctl -o json vm create db-1 --memory 1G --vcpus 1 --nic vlan1 --nic vlan1 --host esx-e1)" -eq 1 ] ||
	fail "db-1 -o json should be refused"
jq -e '.closest[0].host == "esx-e1" and .closest[0].rule == "nics"' \
	"$work/out" >/dev/null || fail "refusal JSON: $(cat "$work/out")"
[ "$(run ctl vm create web-1 --memory 1G --vcpus 1 --nic vlan1)" -eq 1 ] ||
	fail "a second web-1 should be refused"
grep -qx 'vfleetctl: vm.create: vm web-1 exists' "$work/err" ||
	fail "exists: $(cat "$work/err")"
[ "$(run ctl vm create x --memory 1G --vcpus 1 --nic vlan9)" -eq 1 ] ||
	fail "an unknown network should be refused"
grep -q 'network vlan9 is not defined by the policy' "$work/err" ||
	fail "unknown network: $(cat "$work/err")"
for bad in '--memory 512K --vcpus 1 --nic vlan1' '--vcpus 1 --nic vlan1' \
	'--memory 1G --nic vlan1' '--memory 1G --vcpus 1' \
	'--memory 1G --vcpus 0 --nic vlan1' '--memory 1G --vcpus 1 --nic vlan1,mc=x'; do
	# shellcheck disable=SC2086
	[ "$(run ctl vm create x $bad)" -eq 2 ] || fail "vm create x $bad: not a usage error"
done

# ---- vms ---------------------------------------------------------------
ctl vms >"$work/vms"
head -1 "$work/vms" | grep -Eqx 'NAME +STATE +HOST +MEMORY-MIB +VCPUS +POWER +NICS +GROUP' ||
	fail "vms header: $(cat "$work/vms")"
grep -Eqx 'web-2 +placed +esx-e2 +2048 +1 +unknown +1 +-' "$work/vms" ||
	fail "vms row: $(cat "$work/vms")"
[ "$(ctl -o json vms | jq '[.vms[].name]' -c)" = '["web-1","web-2"]' ] ||
	fail "vms JSON: $(ctl -o json vms)"
[ "$(ctl -o json vms --host esx-e2 | jq '[.vms[].name]' -c)" = '["web-2"]' ] ||
	fail "vms --host"
[ "$(ctl -o json vms --state failed | jq '.vms | length')" = 0 ] ||
	fail "vms --state failed"
ctl vms --limit 1 >"$work/out" 2>"$work/err"
grep -q 'for the next page add --after web-1' "$work/err" ||
	fail "vms --limit hint: $(cat "$work/err")"

# ---- pinned: migrate refused; power; xml -------------------------------
[ "$(run ctl vm migrate web-1 esx-e2)" -eq 1 ] || fail "migrate should exit 1"
grep -qx 'vfleetctl: vm.migrate: web-1 holds 1 SR-IOV VF on esx-e1 (ens1f0 VF 0): passthrough VMs are pinned; live migration is not possible' \
	"$work/err" || fail "migrate: $(cat "$work/err")"
[ "$(run ctl vm migrate nosuch esx-e2)" -eq 1 ] || fail "migrate of no VM"
[ "$(run ctl vm power web-1 on)" -eq 0 ] || fail "vm power on: $(cat "$work/err")"
grep -Eqx 'power +on' "$work/out" || fail "power on: $(cat "$work/out")"
[ "$(run ctl vm power web-1 sideways)" -eq 1 ] || fail "power sideways"
ctl vm xml web-1 >"$work/web-1.xml" || fail "vm xml"
grep -q "<interface type='hostdev' managed='yes'>" "$work/web-1.xml" ||
	fail "xml interface: $(cat "$work/web-1.xml")"
grep -q "<address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>" \
	"$work/web-1.xml" || fail "xml address: $(cat "$work/web-1.xml")"
grep -q "<tag id='1'/>" "$work/web-1.xml" || fail "xml vlan"
grep -q '<memory unit=.KiB.>4194304</memory>' "$work/web-1.xml" || fail "xml memory"
if command -v virt-xml-validate >/dev/null; then
	virt-xml-validate "$work/web-1.xml" domain >/dev/null ||
		fail "vm xml does not validate: $(cat "$work/web-1.xml")"
else
	echo "skip: virt-xml-validate is not installed, the XML is not validated"
fi
ctl vm xml web-2 | grep -q '<vlan>' && fail "a trunk NIC got a VLAN tag"

# ---- cordon, uncordon, drain -------------------------------------------
[ "$(run ctl host cordon esx-e2)" -eq 0 ] || fail "cordon: $(cat "$work/err")"
grep -Eqx 'cordoned +yes' "$work/out" || fail "cordon output: $(cat "$work/out")"
# The host's own view says so too (vfleetctl(8), host).
ctl host esx-e2 | grep -Eqx 'cordoned +yes' ||
	fail "host esx-e2 does not show it cordoned: $(ctl host esx-e2)"
ctl host esx-e1 | grep -Eqx 'cordoned +no' ||
	fail "host esx-e1 does not show it not cordoned: $(ctl host esx-e1)"
# And the listing's last column (vfleetctl(8), hosts).
ctl hosts | grep -Eq '^esx-e2 .* yes$' ||
	fail "hosts does not show esx-e2 cordoned: $(ctl hosts)"
ctl hosts | grep -Eq '^esx-e1 .* no$' ||
	fail "hosts does not show esx-e1 not cordoned: $(ctl hosts)"
[ "$(run ctl vm create web-3 --memory 1G --vcpus 1 --nic vlan1 --host esx-e2)" -eq 1 ] ||
	fail "a cordoned host took a VM"
grep -q 'cordoned' "$work/err" || fail "cordoned refusal: $(cat "$work/err")"
[ "$(run ctl -o json host uncordon esx-e2)" -eq 0 ] || fail "uncordon"
jq -e '.host == "esx-e2" and .cordoned == false' "$work/out" >/dev/null ||
	fail "uncordon JSON: $(cat "$work/out")"
[ "$(run ctl host drain esx-e1)" -eq 0 ] || fail "drain: $(cat "$work/err")"
grep -Eqx 'web-1 +placed +on' "$work/out" || fail "drain VMs: $(cat "$work/out")"
grep -Eqx 'power off first +web-1' "$work/out" || fail "drain first: $(cat "$work/out")"
ctl vm power web-1 off >/dev/null
ctl host drain esx-e1 | grep -Eqx 'power off first +-' ||
	fail "drain after power off"
[ "$(run ctl host drain nosuch)" -eq 1 ] || fail "drain of no host"
ctl host uncordon esx-e1 >/dev/null

# ---- plan: what fits, nothing created ----------------------------------
# web-1 and web-2 hold one VF each of the two per host the policy gives
# esx-e1 and esx-e2 (ens1f0, vfs: 2): 1G VMs with one vlan1 NIC fit as
# many times as VFs are free, and the next is refused by rule nics.
free=$(ctl -o json vfs --free | jq '.vfs | length')
[ "$free" -eq 2 ] || fail "free VFs before plan: $free"
[ "$(run ctl plan --count 10 --memory 1G --vcpus 1 --nic vlan1)" -eq 1 ] ||
	fail "plan --count 10 should exit 1: $(cat "$work/out" "$work/err")"
cat >"$work/want" <<-EOF
	$free of 10 fit

	HOST    VMS
	esx-e1  1
	esx-e2  1

EOF
head -6 "$work/out" | cmp -s "$work/want" - ||
	fail "plan --count: $(cat "$work/out")"
grep -q "^first refused: plan-$((free + 1)): no host fits vm plan-$((free + 1)): " "$work/out" ||
	fail "plan first refusal: $(cat "$work/out")"
grep -Eq '^2 hosts refused by rule nics, such as: ' "$work/out" ||
	fail "plan per-rule count: $(cat "$work/out")"
# The bound is the admin API's (ADMIN.md, plan): the CLI refuses beyond it
# before sending anything.
[ "$(run ctl plan --count 100001 --memory 1G --vcpus 1 --nic vlan1)" -eq 2 ] ||
	fail "plan --count 100001 should exit 2: $(cat "$work/out" "$work/err")"
grep -qx "vfleetctl: plan: --count '100001' is not a number from 1 to 100000" \
	"$work/err" || fail "plan --count 100001: $(cat "$work/err")"
[ "$(run ctl -o json plan --count 2 --memory 1G --vcpus 1 --nic vlan1 --name p)" -eq 0 ] ||
	fail "plan --count 2 should fit: $(cat "$work/out" "$work/err")"
jq -e '.requested == 2 and .fit == 2 and .first_refusal == null and
	([.vms[].name] == ["p-1", "p-2"])' "$work/out" >/dev/null ||
	fail "plan JSON: $(cat "$work/out")"
cat >"$work/plan.yaml" <<-'EOF'
	version: 1
	vms:
	  - name: p-a
	    memory: 1G
	    vcpus: 1
	    nics:
	      - network: vlan1
	  - name: p-b
	    memory: 1G
	    vcpus: 1
	    nics:
	      - network: trunk
	  - name: p-c
	    memory: 1G
	    vcpus: 1
	    nics:
	      - network: vlan1
EOF
[ "$(run ctl plan "$work/plan.yaml")" -eq 1 ] ||
	fail "plan FILE should exit 1: $(cat "$work/out" "$work/err")"
head -1 "$work/out" | grep -qx '2 of 3 fit' || fail "plan FILE: $(cat "$work/out")"
grep -q '^first refused: p-c: ' "$work/out" || fail "plan FILE refusal: $(cat "$work/out")"
printf 'version: 1\nvms:\n  - name: x\n    vcpus: 1\n' >"$work/bad.yaml"
[ "$(run ctl plan "$work/bad.yaml")" -eq 1 ] || fail "plan of an invalid file"
grep -q "^$work/bad.yaml:[0-9]*:[0-9]*: " "$work/err" || fail "plan bad file: $(cat "$work/err")"
[ "$(ctl -o json vfs --free | jq '.vfs | length')" -eq "$free" ] ||
	fail "plan took VFs"
[ "$(ctl -o json vms | jq '[.vms[].name]' -c)" = '["web-1","web-2"]' ] ||
	fail "plan created VMs: $(ctl -o json vms)"

# ---- vm nic add | remove on a powered-off VM ---------------------------
# web-1 is off: it gets esx-e1's last VF, then gives its first NIC back.
mac0=$(ctl -o json vm show web-1 | jq -r '.nics[0].mac')
[ "$(run ctl vm nic add web-1 trunk)" -eq 0 ] || fail "nic add: $(cat "$work/err")"
grep -Eqx '1 +trunk +02:76:66:00:[0-9a-f:]+ +ens1f0 +[01] +[0-9a-f:.]+ +trunk' "$work/out" ||
	fail "nic add output: $(cat "$work/out")"
ctl -o json vm show web-1 >"$work/show.json"
jq -e --arg mac "$mac0" '.host == "esx-e1" and (.nics | length) == 2 and
	.nics[0].mac == $mac and .nics[1].network == "trunk"' "$work/show.json" \
	>/dev/null || fail "web-1 after nic add: $(cat "$work/show.json")"
[ "$(run ctl vm nic add web-1 vlan1)" -eq 1 ] || fail "a third NIC fits nowhere"
grep -q '^vfleetctl: vm.nic.add: ' "$work/err" || fail "nic add refusal: $(cat "$work/err")"
[ "$(run ctl vm nic remove web-1 0)" -eq 0 ] || fail "nic remove: $(cat "$work/err")"
ctl -o json vm show web-1 >"$work/show.json"
jq -e '(.nics | length) == 1 and .nics[0].network == "trunk"' "$work/show.json" \
	>/dev/null || fail "web-1 after nic remove: $(cat "$work/show.json")"
[ "$(run ctl vm nic remove web-1 0)" -eq 1 ] || fail "the last NIC was removed"
ctl vm power web-1 on >/dev/null
[ "$(run ctl vm nic add web-1 vlan1)" -eq 1 ] || fail "nic add to a running VM"
grep -qx 'vfleetctl: vm.nic.add: vm web-1 is powered on: an SR-IOV NIC cannot be hot-added to a running VM; power it off first (vm power web-1 off)' \
	"$work/err" || fail "nic add running: $(cat "$work/err")"
ctl vm power web-1 off >/dev/null
wait_for '[ "$(ctl -o json vm show web-1 | jq -r .state)" = placed ]'

# ---- vm evacuate: cold only --------------------------------------------
[ "$(run ctl vm create db-2 --memory 1G --vcpus 1 --nic vlan1 --wait)" -eq 0 ] ||
	fail "vm create db-2: $(cat "$work/err")"
from=$(ctl -o json vm show db-2 | jq -r .host)
mac=$(ctl -o json vm show db-2 | jq -r '.nics[0].mac')
to=esx-e1
[ "$from" = esx-e1 ] && to=esx-e2
[ "$(run ctl vm evacuate db-2)" -eq 2 ] || fail "evacuate without --cold"
grep -q 'only move cold' "$work/err" || fail "evacuate without --cold: $(cat "$work/err")"
ctl vm power db-2 on >/dev/null
[ "$(run ctl vm evacuate db-2 --cold)" -eq 1 ] || fail "evacuate of a running VM"
grep -qx "vfleetctl: vm.evacuate: vm db-2 on $from is powered on: power it off first (vm power db-2 off); a cold evacuation needs it off or its host down" \
	"$work/err" || fail "evacuate running: $(cat "$work/err")"
ctl vm power db-2 off >/dev/null
[ "$(run ctl vm evacuate db-2 --cold)" -eq 0 ] || fail "evacuate: $(cat "$work/err")"
grep -Eqx "host +$to" "$work/out" || fail "evacuated host: $(cat "$work/out")"
grep -Eq "^0 +vlan1 +$mac " "$work/out" || fail "evacuate MAC: $(cat "$work/out")"
wait_for '[ "$(ctl -o json vm show db-2 | jq -r .state)" = placed ]'
[ "$(run ctl vm delete db-2)" -eq 0 ] || fail "delete db-2"

# ---- many requests from one vfleetctl: over --admin-rate, retried ------
# A dry run of 40 VMs sends a vm.show each from one connection, twice
# this controller's --admin-rate (20 a second): it answers those over the
# budget "busy: ...", and vfleetctl sends them again after a pause instead
# of waiting out its timeout (ADMIN.md, vfleetctl(8)).
{
	echo "version: 1"
	echo "vms:"
	for i in $(seq 1 40); do
		printf '  - name: bulk-%s\n    memory: 1G\n    vcpus: 1\n' "$i"
		printf '    nics:\n      - network: vlan1\n'
	done
} >"$work/bulk.yaml"
warned=$(grep -c "over its budget.*(admin client" "$work/controller.log" || true)
# (Exit 3: a dry run by which something would change.)
[ "$(run ctl vm apply "$work/bulk.yaml" --dry-run)" -eq 3 ] ||
	fail "a dry run of 40 VMs: $(cat "$work/err")"
[ "$(grep -c '^bulk-[0-9]*: would be created$' "$work/out")" -eq 40 ] ||
	fail "a dry run of 40 VMs: $(cat "$work/out")"
[ "$(grep -c "over its budget.*(admin client" "$work/controller.log")" -gt "$warned" ] ||
	fail "40 requests did not pass --admin-rate; the retry went untested"

# ---- --wait that times out: exit 4; the host down: host-down ------------
kill -STOP "$e2_agent"
stopped=$e2_agent
# (db-3: a web-* VM would be refused there by anti-affinity with web-2.)
[ "$(run ctl vm create db-3 --memory 1G --vcpus 1 --nic vlan1 --host esx-e2 --wait --timeout 1s)" -eq 4 ] ||
	fail "--wait on a stopped agent should exit 4: $(cat "$work/err")"
grep -Eq 'vm db-3 was not placed: it is (reserved|host-down)$' "$work/err" ||
	fail "not placed: $(cat "$work/err")"
wait_for '[ "$(host_state esx-e2)" = down ]'
[ "$(ctl -o json vms --state host-down | jq '[.vms[].name]' -c)" = '["db-3","web-2"]' ] ||
	fail "host-down VMs: $(ctl -o json vms)"
kill -CONT "$e2_agent"
stopped=""

# ---- delete ------------------------------------------------------------
[ "$(run ctl vm delete web-1)" -eq 0 ] || fail "delete: $(cat "$work/err")"
grep -qx 'deleted vm web-1' "$work/out" || fail "delete output: $(cat "$work/out")"
[ "$(run ctl vm show web-1)" -eq 1 ] || fail "a deleted VM is still shown"
[ "$(run ctl vm delete web-1)" -eq 1 ] || fail "a second delete"
[ "$(run ctl vm xml web-1)" -eq 1 ] || fail "xml of no VM"
wait_for '[ "$(ctl -o json vfs --host esx-e1 --free | jq ".vfs | length")" = 2 ]'
echo "ok (vm)"
