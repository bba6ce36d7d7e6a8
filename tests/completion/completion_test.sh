#!/bin/bash
# Tests of deploy/completion/vfleetctl: the real completion function, run
# in bash as bash runs it (COMP_WORDS split at COMP_WORDBREAKS, COMP_LINE,
# COMP_POINT), against the real vfleetctl and, for host names, the real
# controller with test peers registered on it (with CURVE keys).
#
# usage: completion_test.sh CASE   (verbs, options, values, policy, files,
#                                   split, hosts, table, install)
# Needs VFLEET_BINARY_DIR (set by ctest); the hosts case also python3 (a
# free port) and jq (it is also run without jq).
# VFLEET_KEEP=1 keeps the work directory for a post-mortem.
set -eu

case_name=${1:?usage: completion_test.sh CASE}
bin=${VFLEET_BINARY_DIR:?VFLEET_BINARY_DIR is not set}
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ctl_bin=$bin/cli/vfleetctl
controller_bin=$bin/controller/vfleet-controller
peer_bin=$bin/tests/controller/vfleet-test-peer
script=$src/deploy/completion/vfleetctl

work=$(mktemp -d /tmp/vfleet-completion.XXXXXX)
pids=""
fail_logs="controller:20"
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
trap 'test_stop_pids; test_remove_work' EXIT INT TERM

# The completion is found as bash finds it for "vfleetctl": on PATH.
PATH=$bin/cli:$PATH
unset VFLEET_CONTROLLER
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
# shellcheck source=deploy/completion/vfleetctl
. "$script"

# Completes LINE with the cursor at its end, the way bash calls the
# function: COMP_WORDS split at blanks and at runs of COMP_WORDBREAKS
# characters, $2 the text after the last of those. Sets reply: COMPREPLY
# sorted, one word per line; the function's stderr goes to $work/stderr.
complete_line() {
	local line=$1 w='' c kind last=blank i
	COMP_WORDS=()
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == [[:blank:]] ]]; then
			kind=blank
		elif [[ $COMP_WORDBREAKS == *"$c"* ]]; then
			kind='break'
		else
			kind=word
		fi
		if [[ $kind != "$last" && -n $w ]]; then
			COMP_WORDS+=("$w")
			w=''
		fi
		[[ $kind == blank ]] || w+=$c
		last=$kind
	done
	COMP_WORDS+=("$w")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	local word=${COMP_WORDS[COMP_CWORD]}
	[[ $last == break ]] && word=''
	COMPREPLY=(stale)
	_vfleetctl "${COMP_WORDS[0]}" "$word" "${COMP_WORDS[COMP_CWORD - 1]}" \
		2>"$work/stderr" || fail "[$line]: the function failed"
	reply=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}

# expect LINE WORD...: completing LINE offers exactly these words.
expect() {
	local line=$1 want
	shift
	complete_line "$line"
	want=$(printf '%s\n' "$@" | sort)
	[[ $# -gt 0 ]] || want=''
	[[ "$reply" == "$want" ]] ||
		fail "[$line] offers [${reply//$'\n'/ }], want [${want//$'\n'/ }]"
	[[ ! -s "$work/stderr" ]] ||
		fail "[$line] printed: $(cat "$work/stderr")"
}

# ---- the table against vfleetctl's help and behaviour -------------------

# Words of a list, sorted, one line.
sorted() {
	printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' '
}

# same WHAT LEFT RIGHT: two word lists hold the same words.
same() {
	local left right
	# shellcheck disable=SC2086
	left=$(sorted $2)
	# shellcheck disable=SC2086
	right=$(sorted $3)
	[[ "$left" == "$right" ]] ||
		fail "$1: the completion table has [$left], vfleetctl [$right]"
}

# same_list WHAT LEFT RIGHT: two word lists are equal, in order.
same_list() {
	local left right
	read -ra left <<<"$2"
	read -ra right <<<"$3"
	[[ "${left[*]}" == "${right[*]}" ]] ||
		fail "$1: the completion table has [${left[*]}], vfleetctl [${right[*]}]"
}

# Options in help text on stdin, as the table writes them: "--limit=" when
# a value (an upper-case word or a|b) follows, "--all" when not; "-c,
# --controller ENDPOINT" is two options with a value.
help_options() {
	local arg='( [A-Z]+| [a-z]+\|[a-z|]+)?'
	sed -E "s/(^|[ [])(-[a-zA-Z]), (--[a-z-]+)$arg/\1\2\4 \3\4/g" |
		grep -oE -- "(^|[ [,])--?[a-zA-Z][a-z-]*$arg" |
		sed -E 's/^[ [,]//; s/ (.+)$/=/'
}

# The same, names only: for options named in prose ("the same as --state
# free"), where what follows says nothing.
help_names() {
	help_options | sed 's/=$//'
}

# The table's options of line KEY, or of every line, on one line.
table_options() {
	local verb sub nested
	if [[ $# -gt 0 ]]; then
		_vfleetctl_field "$_vfleetctl_verbs" 2 "$1"
	else
		for verb in $(_vfleetctl_keys "$_vfleetctl_verbs" ''); do
			_vfleetctl_field "$_vfleetctl_verbs" 2 "$verb"
			for sub in $(_vfleetctl_keys "$_vfleetctl_verbs" "$verb"); do
				_vfleetctl_field "$_vfleetctl_verbs" 2 "$verb $sub"
				for nested in $(_vfleetctl_keys "$_vfleetctl_verbs" "$verb $sub"); do
					_vfleetctl_field "$_vfleetctl_verbs" 2 "$verb $sub $nested"
				done
			done
		done
	fi | tr '\n' ' '
}

check_verbs() {
	"$ctl_bin" --help >"$work/help" || fail "vfleetctl --help failed"
	same "verbs" "$(_vfleetctl_keys "$_vfleetctl_verbs" '')" \
		"$(sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$work/help")"
}

check_global_options() {
	"$ctl_bin" --help >"$work/help"
	same "options before the verb" "$_vfleetctl_global $_vfleetctl_first" \
		"$(sed -n '/^global options/,/^verbs:/p' "$work/help" | help_options)"
	# Every option the top help names at all (the listing options in a
	# note at its end) is in the table, and every option of the table in
	# some help.
	local all opt
	all=" $_vfleetctl_global $_vfleetctl_first $(table_options) "
	all=${all//=/}
	for opt in $(help_names <"$work/help"); do
		[[ "$all" == *" $opt "* ]] ||
			fail "vfleetctl --help names $opt, the completion table not"
	done
}

# The operands of a usage line's words after the verb, in the table's
# words: FILE, OLD, NEW are files ("FILE..." repeated); other upper-case
# words count, bracketed options not, nor the value after an option that
# must be given (vm create NAME --memory SIZE: one operand).
usage_operands() {
	local w n=0 value=0
	for w in "$@"; do
		if ((value)); then
			value=0
			continue
		fi
		case $w in
		--*) value=1 ;;
		FILE... | OLD... | NEW...) printf '@files... ' ;;
		FILE | OLD | NEW | '[OLD]') printf '@files ' ;;
		[A-Z]*) printf '@%d ' $((n += 1)) ;;
		esac
	done
}

# The table's operands of line KEY, other listings numbered as above.
table_operands() {
	local w n=0
	for w in $(_vfleetctl_field "$_vfleetctl_verbs" 3 "$1"); do
		case $w in
		@files*) printf '%s ' "$w" ;;
		@*) printf '@%d ' $((n += 1)) ;;
		esac
	done
}

# Each verb's usage line(s) in `vfleetctl VERB --help`: its options (PAGING
# expanded from the paging section), its subverbs and its operands.
check_verb_help() {
	local verb sub line paging help_all='' table_all
	table_all="$_vfleetctl_global $(table_options)"
	for verb in $(_vfleetctl_keys "$_vfleetctl_verbs" ''); do
		"$ctl_bin" "$verb" --help >"$work/help" ||
			fail "vfleetctl $verb --help failed"
		help_all="$help_all $(help_names <"$work/help")"
		# The paging section's options, written back as usage words.
		paging=$(sed -n '/^paging/,/^[a-z]/p' "$work/help" | help_options |
			sed 's/=$/ X/' | tr '\n' ' ')
		grep -E "^( *usage:)? +vfleetctl( \[GLOBAL-OPTIONS\])? $verb( |$)" \
			"$work/help" >"$work/usage" ||
			fail "vfleetctl $verb --help has no usage line for $verb"
		local subs
		subs=$(_vfleetctl_keys "$_vfleetctl_verbs" "$verb")
		if [[ -n "$subs" ]]; then
			same "$verb subverbs" "$subs" "$(sed -nE \
				"s/.*vfleetctl( \[GLOBAL-OPTIONS\])? $verb ([a-z-]+).*/\2/p" \
				"$work/usage")"
			# A verb that also takes an operand of its own (host NAME).
			line=$(grep -vE "vfleetctl( \[GLOBAL-OPTIONS\])? $verb [a-z]" \
				"$work/usage" | sed -E "s/.*vfleetctl( \[GLOBAL-OPTIONS\])? $verb//")
			# shellcheck disable=SC2046 # the usage line's words
			[[ -z "$line" ]] || same_list "$verb operands" \
				"$(table_operands "$verb")" \
				"$(usage_operands $(sed -E 's/\[[^]]*\]//g' <<<"$line"))"
			for sub in $subs; do
				# A subverb with subverbs of its own (vm nic add): theirs.
				local nested keys=() k
				nested=$(_vfleetctl_keys "$_vfleetctl_verbs" "$verb $sub")
				if [[ -n "$nested" ]]; then
					same "$verb $sub subverbs" "$nested" "$(sed -nE \
						"s/.*vfleetctl( \[GLOBAL-OPTIONS\])? $verb $sub ([a-z-]+).*/\2/p" \
						"$work/usage")"
					for k in $nested; do
						keys+=("$sub $k")
					done
				else
					keys=("$sub")
				fi
				for k in "${keys[@]}"; do
					line=$(grep -E "vfleetctl( \[GLOBAL-OPTIONS\])? $verb $k( |$)" \
						"$work/usage" | sed -E "s/.*vfleetctl( \[GLOBAL-OPTIONS\])? $verb $k//
							s/\[-[^]]*\]//g")
					# shellcheck disable=SC2086
					same_list "$verb $k operands" "$(table_operands "$verb $k")" \
						"$(usage_operands $line)"
				done
			done
			continue
		fi
		line=$(sed -E "s/.*vfleetctl( \[GLOBAL-OPTIONS\])? $verb//" \
			"$work/usage")
		same "$verb options" "$(table_options "$verb")" \
			"$(echo "${line//\[PAGING\]/"${paging[@]}"}" | help_options)"
		# shellcheck disable=SC2046 # the usage line's words
		same_list "$verb operands" "$(table_operands "$verb")" \
			"$(usage_operands $(sed -E 's/\[[^]]*\]//g' <<<"$line"))"
	done
	same "options of every VERB --help" "${table_all//=/}" \
		"$help_all ${_vfleetctl_global//=/}"
}

# Option values the help spells out: -o table|json, --state's words.
check_values() {
	"$ctl_bin" hosts --help | tr -s ' \n' ' ' >"$work/help"
	local output
	output=$(grep -oE -- '--output [a-z|]+' "$work/help" | head -1)
	same "--output values" "$(_vfleetctl_field "$_vfleetctl_values" 2 \
		--output)" "$(echo "${output#--output }" | tr '|' ' ')"
	same "-o values" "$(_vfleetctl_field "$_vfleetctl_values" 2 -o)" \
		"$(_vfleetctl_field "$_vfleetctl_values" 2 --output)"
	local states
	states=$(sed -E 's/.*--state S only VFs in state (.*) --since .*/\1/' \
		"$work/help")
	[[ "$states" != *--* ]] || fail "no state words in vfleetctl hosts --help"
	same "--state values" "$(_vfleetctl_field "$_vfleetctl_values" 2 \
		--state)" "$(echo "$states" | tr ',' ' ' | sed 's/ or / /')"
}

# run WANT ARGS...: vfleetctl ARGS exits WANT, and prints its usage when
# it exits 0 for a --help at the end.
run() {
	local want=$1 status=0
	shift
	"$ctl_bin" "$@" >"$work/out" 2>&1 || status=$?
	[[ $status -eq $want ]] ||
		fail "vfleetctl $* exits $status, want $want: $(head -3 "$work/out")"
	[[ $want -ne 0 || "${*: -1}" != --help ]] || grep -q 'usage:' "$work/out" ||
		fail "vfleetctl $* printed no usage"
}

# The value to give option $1 (of verb $2, when given) in check_accepted:
# the verb's own values first, as vfleetctl checks plan --numa's.
value_of() {
	local values
	values=$(_vfleetctl_field "$_vfleetctl_values" 2 "${2:+$2 }$1" ||
		_vfleetctl_field "$_vfleetctl_values" 2 "$1")
	values=${values%% *}
	[[ -n "$values" && "$values" != @* ]] || values=1
	printf '%s' "$values"
}

# What the binary really takes: each verb exactly the table's options and
# the global ones, after it; a value where the table says so, none where
# not; before the verb only the global and first ones.
check_accepted() {
	local none="-c ipc://$work/none.sock --timeout 0.1" every verb opt name own
	every=" $_vfleetctl_global $_vfleetctl_first $(table_options) "
	# shellcheck disable=SC2086
	for verb in $(_vfleetctl_keys "$_vfleetctl_verbs" ''); do
		own=" $_vfleetctl_global $(table_options "$verb") "
		# shellcheck disable=SC2086 # one option a word
	for opt in $(sorted $every); do
			name=${opt%=}
			# An option one verb takes with a value and another without
			# (keys revoke --host): each is checked with its own verb.
			if [[ "$own" != *" $opt "* && ("$own" == *" $name "* ||
				"$own" == *" $name= "*) ]]; then
				continue
			elif [[ "$own" != *" $opt "* ]]; then
				run 2 $none "$verb" "$name" "$(value_of "$name" "$verb")" --help
			elif [[ "$opt" == --*= ]]; then
				run 0 $none "$verb" "$name=$(value_of "$name" "$verb")" --help
				run 2 $none "$verb" "$name"
			elif [[ "$opt" == -?= ]]; then
				run 0 $none "$verb" "$name" "$(value_of "$name" "$verb")" --help
			elif [[ "$opt" == --* ]]; then
				run 0 $none "$verb" "$name" --help
				run 2 $none "$verb" "$name=1" --help
			fi
		done
	done
	# shellcheck disable=SC2086 # one option a word
	for opt in $(sorted $every); do
		name=${opt%=}
		[[ " $_vfleetctl_global $_vfleetctl_first " == *" $opt "* ]] || {
			run 2 "$name" "$(value_of "$name")" hosts --help
			continue
		}
		case $opt in
		-V | --version) run 0 "$name" ;;
		-h | --help) run 0 "$name" ;;
		--*=) run 0 "$name=$(value_of "$name")" --help ;;
		*=) run 0 "$name" "$(value_of "$name")" --help ;;
		esac
	done
}

verbs=(policy summary hosts host pfs vfs events drift vm vms plan keys)
globals=(-c --controller -o --output --timeout --key --controller-key --insecure -h
	--help)
# The long global options but --help.
long=(--controller --controller-key --output --timeout --key --insecure)
paging=(--all --limit --after)

case $case_name in
verbs)
	expect "vfleetctl " "${verbs[@]}"
	expect "vfleetctl h" hosts host
	expect "vfleetctl ho" hosts host
	expect "vfleetctl hosts" hosts
	expect "vfleetctl e" events
	expect "vfleetctl x"
	# The verb after global options, in every spelling.
	expect "vfleetctl -c ipc:///x/admin.sock -o json --timeout 2 " "${verbs[@]}"
	expect "vfleetctl --controller=tcp://h:7450 --output=table p" policy pfs plan
	expect "vfleetctl v" vfs vm vms
	expect "vfleetctl vm" vm vms
	expect "vfleetctl pl" plan
	expect "vfleetctl -cipc:///x -ojson s" summary
	expect "vfleetctl -- h" hosts host
	# Global options before the verb, --version only there.
	expect "vfleetctl -" "${globals[@]}" -V --version
	expect "vfleetctl --" "${long[@]}" --help --version
	expect "vfleetctl --v" --version
	expect "vfleetctl --c" --controller --controller-key
	;;

options)
	# Options after the verb: the global ones (not --version) and the
	# verb's own.
	expect "vfleetctl vfs -" "${globals[@]}" --host --pf --free --state "${paging[@]}"
	expect "vfleetctl vfs --" "${long[@]}" --help \
		--host --pf --free --state "${paging[@]}"
	expect "vfleetctl events --" "${long[@]}" --help \
		--since "${paging[@]}"
	expect "vfleetctl hosts --" "${long[@]}" --help "${paging[@]}"
	expect "vfleetctl pfs --" "${long[@]}" --help \
		--host "${paging[@]}"
	expect "vfleetctl summary --" "${long[@]}" --help
	expect "vfleetctl host --" "${long[@]}" --help
	expect "vfleetctl vfs --s" --state
	expect "vfleetctl vfs --host h1 --pf 0000:3b:00.0 --f" --free
	expect "vfleetctl -o json events --since 1h --l" --limit
	expect "vfleetctl hosts --a" --after --all
	# The verb found behind options that take a value, even when the
	# value looks like a verb or an option.
	expect "vfleetctl -c hosts vfs --st" --state
	expect "vfleetctl -o json --timeout 1 events --si" --since
	expect "vfleetctl vfs --after --all --st" --state
	# A verb without operands offers its options on an empty word.
	expect "vfleetctl hosts " "${paging[@]}"
	expect "vfleetctl pfs --host h1 " --host "${paging[@]}"
	expect "vfleetctl summary "
	# The VM verbs: vm create's own options, vms a listing.
	subverbs=(create delete show migrate power xml evacuate nic apply)
	expect "vfleetctl vm " "${subverbs[@]}"
	expect "vfleetctl vm -o json " "${subverbs[@]}"
	expect "vfleetctl vm c" create
	expect "vfleetctl vm create web-1 --" "${long[@]}" \
		--help --memory --vcpus --nic --host --group --numa --separate-pfs \
		--wait
	expect "vfleetctl vm create web-1 --memory 4G --s" --separate-pfs
	expect "vfleetctl vm create web-1 --w" --wait
	expect "vfleetctl vm create "
	expect "vfleetctl vm show --" "${long[@]}" --help
	expect "vfleetctl vm e" evacuate
	expect "vfleetctl vm evacuate web-1 --" "${long[@]}" \
		--help --cold --host
	expect "vfleetctl vm nic " add remove
	expect "vfleetctl vm nic r" remove
	expect "vfleetctl vm nic add web-1 vlan1 --" "${long[@]}" --help --mac
	expect "vfleetctl vm nic remove web-1 --" "${long[@]}" --help
	expect "vfleetctl vm apply --" "${long[@]}" --help --wait --dry-run
	expect "vfleetctl vm a" apply
	expect "vfleetctl plan --" "${long[@]}" --help \
		--count --name --memory --vcpus --nic --host --group --numa \
		--separate-pfs
	expect "vfleetctl plan --count 5 --s" --separate-pfs
	expect "vfleetctl vms --" "${long[@]}" --help \
		--host --state "${paging[@]}"
	expect "vfleetctl host " label cordon uncordon drain
	expect "vfleetctl host d" drain
	expect "vfleetctl host cordon --" "${long[@]}" --help
	# Nothing after "--" is an option; an unknown verb has none.
	expect "vfleetctl vfs -- --"
	expect "vfleetctl nosuch --s"
	;;

values)
	expect "vfleetctl -o " table json
	expect "vfleetctl --output " table json
	expect "vfleetctl -o j" json
	expect "vfleetctl hosts -o " table json
	expect "vfleetctl vfs --free --output t" table
	expect "vfleetctl vfs --state " free reserved assigned broken missing
	expect "vfleetctl vfs --state a" assigned
	expect "vfleetctl vfs --host h1 --state b" broken
	expect "vfleetctl -o json vfs --state m" missing
	# Values without a word list: nothing, not the verbs or files.
	expect "vfleetctl --timeout "
	expect "vfleetctl -c "
	expect "vfleetctl hosts --limit "
	expect "vfleetctl events --since "
	expect "vfleetctl vfs --pf "
	# The VM states for vms, the NUMA modes for vm create, on|off.
	expect "vfleetctl vms --state " reserved placed failed host-down
	expect "vfleetctl vms --state=h" host-down
	expect "vfleetctl vm create web-1 --numa " none preferred required
	expect "vfleetctl vm create web-1 --numa=p" preferred
	expect "vfleetctl vm create web-1 --memory "
	expect "vfleetctl vm create web-1 --nic "
	expect "vfleetctl plan --numa " none preferred required
	expect "vfleetctl plan --count "
	expect "vfleetctl vm power web-1 " on off
	expect "vfleetctl vm power web-1 o" on off
	expect "vfleetctl vm power web-1 of" off
	expect "vfleetctl vm power web-1 on "
	;;

policy)
	subverbs=(validate show diff apply rollback status history)
	expect "vfleetctl policy " "${subverbs[@]}"
	expect "vfleetctl policy s" show status
	expect "vfleetctl policy d" diff
	expect "vfleetctl policy r" rollback
	expect "vfleetctl -o json policy v" validate
	expect "vfleetctl policy -c ipc:///x/a.sock " "${subverbs[@]}"
	expect "vfleetctl policy nosuch "
	expect "vfleetctl policy -" "${globals[@]}"
	# The subverbs that reach the controller: their own options, and
	# --state's words are the rollout states there, not the VF states.
	expect "vfleetctl policy apply --" "${long[@]}" \
		--help --message --dry-run
	expect "vfleetctl policy rollback --d" --dry-run
	expect "vfleetctl policy rollback "
	expect "vfleetctl policy status --s" --state
	expect "vfleetctl policy status --state " pending ok failed refused
	expect "vfleetctl policy status --state=f" failed
	expect "vfleetctl policy history --" "${long[@]}" \
		--help "${paging[@]}"
	expect "vfleetctl drift --" "${long[@]}" --help \
		--host "${paging[@]}"
	;;

files)
	mkdir "$work/dir" "$work/dir/sub"
	: >"$work/dir/a.yaml"
	: >"$work/dir/ab.yaml"
	: >"$work/dir/b.yaml"
	cd "$work/dir"
	expect "vfleetctl policy validate " a.yaml ab.yaml b.yaml sub
	expect "vfleetctl policy validate a" a.yaml ab.yaml
	expect "vfleetctl policy validate a.yaml b" b.yaml
	expect "vfleetctl policy validate a.yaml ab.yaml s" sub
	expect "vfleetctl policy validate su" sub
	expect "vfleetctl policy show a" a.yaml ab.yaml
	expect "vfleetctl policy show a.yaml "
	expect "vfleetctl policy diff a.yaml a" a.yaml ab.yaml
	expect "vfleetctl policy diff a.yaml b.yaml "
	expect "vfleetctl policy validate $work/dir/b" "$work/dir/b.yaml"
	# Global options among the operands do not count as operands.
	expect "vfleetctl -o json policy show -c ipc:///x a" a.yaml ab.yaml
	expect "vfleetctl policy diff --timeout 2 a.yaml a" a.yaml ab.yaml
	# "--" ends the options: a file may then start with a dash.
	: >"$work/dir/-odd.yaml"
	expect "vfleetctl policy validate -- -" -odd.yaml
	expect "vfleetctl policy validate -" "${long[@]}" \
		--help -c -o -h
	;;

split)
	# Bash splits at ":" and "=" and replaces only what follows the last
	# of them: the reply must leave what comes before in place.
	expect "vfleetctl --output=" table json
	expect "vfleetctl --output=j" json
	expect "vfleetctl vfs --state=r" reserved
	expect "vfleetctl vfs --state=" free reserved assigned broken missing
	expect "vfleetctl -c ipc:///run/x:y/admin.sock vfs --st" --state
	expect "vfleetctl --controller=tcp://127.0.0.1:7450 hosts --a" --after \
		--all
	mkdir "$work/dir"
	: >"$work/dir/old:1.yaml"
	: >"$work/dir/old:2.yaml"
	cd "$work/dir"
	expect "vfleetctl policy diff old:" 1.yaml 2.yaml
	expect "vfleetctl policy diff old:1" 1.yaml
	# Without ":" and "=" in COMP_WORDBREAKS bash replaces whole words.
	COMP_WORDBREAKS=$' \t\n"\'><;|&('
	expect "vfleetctl --output=j" --output=json
	expect "vfleetctl vfs --state=" --state=free --state=reserved \
		--state=assigned --state=broken --state=missing
	expect "vfleetctl policy diff old:" old:1.yaml old:2.yaml
	expect "vfleetctl -c ipc:///x:y/admin.sock vfs --st" --state
	;;

hosts)
	port=$(test_free_port)
	agents=tcp://127.0.0.1:$port
	state_dir=$work/state
	admin=ipc://$state_dir/admin.sock
	start_controller
	# A name the shell would run if it were offered; it is not a host
	# name, so the controller never registers it (PROTOCOL.md 4.1).
	# shellcheck disable=SC2016 # the text itself, not run
	odd='x$(touch pwned) y'
	# Each peer's hosts with their own keys; the odd name's peer with
	# the key of host "odd" (no key can have its name).
	test_peer_opts alpha 2
	test_peer_opts beta
	test_host_key odd
	for host in alpha beta "$odd"; do
		count=1
		[ "$host" = alpha ] && count=2
		key_opts=$peer_opts
		[ "$host" = "$odd" ] &&
			key_opts="--key $host_key --controller-key $work/keys/controller.key"
		# shellcheck disable=SC2086 # key_opts is a list of words
		"$peer_bin" --controller "$agents" $key_opts --host "$host" \
			--count "$count" --pfs 1 --vfs 2 >>"$work/peer.log" 2>&1 &
		pids="$pids $!"
	done
	i=0
	until [ "$("$ctl_bin" -c "$admin" --timeout 0.5 -o json hosts 2>/dev/null |
		jq '.hosts | length')" = 3 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "the peers did not register"
		sleep 0.1
	done
	cd "$work"
	names=(alpha-0 alpha-1 beta)
	expect "vfleetctl -c $admin host " label cordon uncordon drain \
		"${names[@]}"
	expect "vfleetctl -c $admin host a" alpha-0 alpha-1
	expect "vfleetctl -c $admin host drain a" alpha-0 alpha-1
	expect "vfleetctl -c $admin host uncordon b" beta
	# No VM exists: nothing to offer, and no error (vms answers or not).
	expect "vfleetctl -c $admin vm show "
	expect "vfleetctl -c $admin vm migrate web-1 al" alpha-0 alpha-1
	expect "vfleetctl -c $admin vm create web-1 --host b" beta
	expect "vfleetctl -c $admin host label a" alpha-0 alpha-1
	expect "vfleetctl -c $admin host label alpha-0 --r" --remove
	expect "vfleetctl host -c $admin b" beta
	expect "vfleetctl host --controller=$admin alpha-1" alpha-1
	expect "vfleetctl --controller $admin -o json vfs --host b" beta
	expect "vfleetctl pfs -c '$admin' --host=al" alpha-0 alpha-1
	expect "vfleetctl -c $admin host alpha-0 "
	[ ! -e "$work/pwned" ] || fail "a host name was run by the shell"
	# Without -c, from vfleetctl's default ($VFLEET_CONTROLLER).
	VFLEET_CONTROLLER=$admin expect "vfleetctl host b" beta
	# Without jq, from the JSON text.
	mkdir "$work/nojq"
	for tool in sed grep sort vfleetctl; do
		ln -s "$(type -P "$tool")" "$work/nojq/$tool"
	done
	PATH=$work/nojq expect "vfleetctl -c $admin vfs --host a" alpha-0 alpha-1
	PATH=$work/nojq expect "vfleetctl -c $admin host " label cordon \
		uncordon drain "${names[@]}"
	# Quietly no names where no controller answers.
	expect "vfleetctl -c ipc://$work/none.sock host " label cordon \
		uncordon drain
	expect "vfleetctl -c tcp://127.0.0.1:$port host a"
	# The key options on the line are passed on, in every spelling: a
	# stand-in vfleetctl records its arguments and names one host.
	mkdir "$work/stub"
	cat >"$work/stub/vfleetctl" <<-EOF
		#!/bin/sh
		echo "\$*" >"$work/stub.args"
		echo '{"hosts": [{"name": "stub-1"}]}'
	EOF
	chmod +x "$work/stub/vfleetctl"
	PATH=$work/stub:$PATH expect \
		"vfleetctl -c tcp://h:1 --key k.sec --controller-key=c.key --insecure host s" \
		stub-1
	[ "$(cat "$work/stub.args")" = "-c tcp://h:1 --key=k.sec --controller-key=c.key --insecure --timeout 1 -o json hosts" ] ||
		fail "key options passed on: $(cat "$work/stub.args")"
	;;

table)
	check_verbs
	check_global_options
	check_verb_help
	check_values
	check_accepted
	;;

install)
	# Installed where bash-completion looks for "vfleetctl", unchanged,
	# and sourcing it there registers the function. vfleetctl's component
	# alone, under a DESTDIR: the daemons' components install to absolute
	# paths (/etc/vfleet, the systemd unit directory), which --prefix does
	# not move, and a test must not write to this machine's /etc.
	DESTDIR="$work/root" cmake --install "$bin" --component vfleetctl \
		--prefix /usr >"$work/install.log" ||
		fail "cmake --install: $(tail -3 "$work/install.log")"
	if grep -E "Installing:|Up-to-date:" "$work/install.log" |
		grep -qv " $work/root/"; then
		fail "installed outside its DESTDIR: $(cat "$work/install.log")"
	fi
	installed=$work/root/usr/share/bash-completion/completions/vfleetctl
	cmp -s "$script" "$installed" || fail "$installed is not $script"
	bash -c '. "$1" && complete -p vfleetctl' sh "$installed" >"$work/spec" ||
		fail "sourcing $installed failed"
	[[ "$(cat "$work/spec")" == "complete -F _vfleetctl vfleetctl" ]] ||
		fail "registered as: $(cat "$work/spec")"
	;;

*)
	fail "unknown case"
	;;
esac
echo "ok ($case_name)"
