#!/bin/sh
# Regress suite of the policy language, run against the real vfleetctl:
#   ok/NAME.yaml    must validate, `policy show` must print NAME.ok, and
#                   show's output must show again to the same text and hash;
#   bad/NAME.yaml   must fail validation with exactly the lines of NAME.err;
#   diff/NAME.old.yaml + NAME.new.yaml  `policy diff` must print NAME.ok and
#                   exit 3 (changes) or 0 (NAME.ok empty);
# plus the size limit, the limits on the normal form (show's output of a
# valid policy is valid), the command line's exit codes, and the agreement of
# the parser's keys with POLICY.md and vfleet-policy.5.
#
# Usage: tests/policy/regress.sh [PATH-TO-VFLEETCTL]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ctl=${1:-${VFLEET_BINARY_DIR:-$top/build}/cli/vfleetctl}
case $ctl in /*) ;; *) ctl=$(pwd)/$ctl ;; esac
[ -x "$ctl" ] || { echo "regress: no vfleetctl at $ctl" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect_status WHAT WANT GOT
expect_status() {
	checks=$((checks + 1))
	[ "$3" -eq "$2" ] || fail "$1: exit status $3, expected $2"
}

# expect_same WHAT EXPECTED-FILE ACTUAL-FILE
expect_same() {
	checks=$((checks + 1))
	if ! diff -u "$2" "$3" >"$tmp/diff"; then
		fail "$1: output differs"
		cat "$tmp/diff"
	fi
}

cd "$here/ok" || exit 1
for file in *.yaml; do
	name=${file%.yaml}
	"$ctl" policy validate "$file" >"$tmp/out" 2>"$tmp/err"
	expect_status "ok/$file validate" 0 $?
	expect_same "ok/$file validate stderr" /dev/null "$tmp/err"
	"$ctl" policy show "$file" >"$tmp/show.yaml" 2>"$tmp/err"
	expect_status "ok/$file show" 0 $?
	expect_same "ok/$file show" "$name.ok" "$tmp/show.yaml"
	# validate and show name the same revision.
	hash=$(sed -n 's/.*revision sha256:\([0-9a-f]*\)$/\1/p' "$tmp/out")
	checks=$((checks + 1))
	head -n 1 "$tmp/show.yaml" | grep -q "sha256:$hash\$" ||
		fail "ok/$file: validate and show disagree on the hash"
	# Round trip: the normalised form normalises to itself.
	"$ctl" policy show "$tmp/show.yaml" >"$tmp/again.yaml" 2>"$tmp/err"
	expect_status "ok/$file round trip" 0 $?
	expect_same "ok/$file round trip" "$tmp/show.yaml" "$tmp/again.yaml"
	"$ctl" policy diff "$file" "$tmp/show.yaml" >"$tmp/out" 2>&1
	expect_status "ok/$file diff against its normalised form" 0 $?
	expect_same "ok/$file diff output" /dev/null "$tmp/out"
done

cd "$here/bad" || exit 1
bad=0
for file in *.yaml; do
	name=${file%.yaml}
	bad=$((bad + 1))
	"$ctl" policy validate "$file" >"$tmp/out" 2>"$tmp/err"
	expect_status "bad/$file" 1 $?
	expect_same "bad/$file stdout" /dev/null "$tmp/out"
	expect_same "bad/$file errors" "$name.err" "$tmp/err"
	"$ctl" policy show "$file" >"$tmp/out" 2>"$tmp/err"
	expect_status "bad/$file show" 1 $?
	expect_same "bad/$file show errors" "$name.err" "$tmp/err"
done
checks=$((checks + 1))
[ "$bad" -ge 40 ] || fail "only $bad bad cases"

cd "$here/diff" || exit 1
for expected in *.ok; do
	name=${expected%.ok}
	"$ctl" policy diff "$name.old.yaml" "$name.new.yaml" >"$tmp/out" 2>&1
	status=$?
	if [ -s "$expected" ]; then want=3; else want=0; fi
	expect_status "diff/$name" $want $status
	expect_same "diff/$name" "$expected" "$tmp/out"
done

# The size limit: 1 MiB is accepted, one byte more is not.
cd "$tmp" || exit 1
{
	echo "version: 1"
	head -c $((1048576 - 11)) /dev/zero | tr '\0' '#'
} >big.yaml
"$ctl" policy validate big.yaml >/dev/null 2>&1
expect_status "policy of exactly 1 MiB" 0 $?
echo >>big.yaml
"$ctl" policy validate big.yaml >/dev/null 2>"$tmp/err"
expect_status "policy over 1 MiB" 1 $?
echo "big.yaml:1:1: policy is larger than 1048576 bytes" >"$tmp/want"
expect_same "policy over 1 MiB" "$tmp/want" "$tmp/err"

# show of a valid policy is a valid policy: a normal form over the limits
# is refused although the input is not. A network per VLAN with every key
# is 25 nodes a network once normalised:
awk 'BEGIN {
	print "version: 1"; print "networks:"
	for (i = 1; i <= 4094; i++)
		printf "  - {name: net-%04d, vlan: %d, qos: 7, vlan_protocol: 802.1ad, spoof_check: false, trust: true, link_state: disable, min_tx_rate: 100, max_tx_rate: 400000, mtu: 9216, guest_mtu_change: allow}\n", i, i
}' >vlans.yaml
"$ctl" policy validate vlans.yaml >"$tmp/out" 2>"$tmp/err"
expect_status "normal form over the node limit" 1 $?
echo "vlans.yaml:1:1: normalised policy would be 102377 YAML nodes, over the limit of 100000 nodes" >"$tmp/want"
expect_same "normal form over the node limit" "$tmp/want" "$tmp/err"
"$ctl" policy show vlans.yaml >"$tmp/out" 2>"$tmp/err"
expect_status "show of a normal form over the node limit" 1 $?
expect_same "show of a normal form over the node limit" "$tmp/want" "$tmp/err"

# names_policy PAD: 4800 networks with names padded so that the normal
# form grows by PAD bytes (each name character is one byte of it).
names_policy() {
	awk -v pad="$1" 'BEGIN {
		print "version: 1"; print "networks:"
		x = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		for (i = 0; i < 4800; i++) {
			n = pad > 57 ? 57 : pad; pad -= n
			printf "  - {name: n%05d%s}\n", i, substr(x, 1, n)
		}
	}'
}
names_policy 0 >names.yaml
"$ctl" policy show names.yaml >"$tmp/show.yaml" 2>&1
base=$(($(wc -c <"$tmp/show.yaml") - $(head -n 1 "$tmp/show.yaml" | wc -c)))
# A normal form of exactly the limit (1 MiB less 128 bytes for show's
# comment line) is accepted, and show's whole output validates.
names_policy $((1048448 - base)) >names.yaml
"$ctl" policy show names.yaml >"$tmp/show.yaml" 2>"$tmp/err"
expect_status "normal form at the byte limit" 0 $?
checks=$((checks + 1))
[ $(($(wc -c <"$tmp/show.yaml") - $(head -n 1 "$tmp/show.yaml" | wc -c))) \
	-eq 1048448 ] || fail "normal form at the byte limit: wrong size"
"$ctl" policy validate "$tmp/show.yaml" >/dev/null 2>"$tmp/err"
expect_status "show output at the byte limit validates" 0 $?
expect_same "show output at the byte limit validates" /dev/null "$tmp/err"
names_policy $((1048449 - base)) >names.yaml
"$ctl" policy validate names.yaml >/dev/null 2>"$tmp/err"
expect_status "normal form over the byte limit" 1 $?
echo "names.yaml:1:1: normalised policy would be 1048449 bytes, over the limit of 1048448 bytes" >"$tmp/want"
expect_same "normal form over the byte limit" "$tmp/want" "$tmp/err"

# Command line: usage errors exit 2, help and version 0, I/O errors 1.
"$ctl" >/dev/null 2>&1
expect_status "no verb" 2 $?
"$ctl" frobnicate >/dev/null 2>&1
expect_status "unknown verb" 2 $?
"$ctl" -o xml policy validate x >/dev/null 2>&1
expect_status "bad output format" 2 $?
"$ctl" policy >/dev/null 2>&1
expect_status "policy without command" 2 $?
"$ctl" policy frob >/dev/null 2>&1
expect_status "unknown policy command" 2 $?
"$ctl" policy validate -q "$here/ok/minimal.yaml" >/dev/null 2>&1
expect_status "unknown policy option" 2 $?
"$ctl" policy diff one two three >/dev/null 2>&1
expect_status "diff with three files" 2 $?
"$ctl" policy show >/dev/null 2>&1
expect_status "show without a file" 2 $?
"$ctl" policy validate >/dev/null 2>&1
expect_status "validate without a file" 2 $?
"$ctl" --help >"$tmp/help" 2>&1
expect_status "--help" 0 $?
"$ctl" policy --help >/dev/null 2>&1
expect_status "policy --help" 0 $?
"$ctl" policy validate --help >/dev/null 2>&1
expect_status "policy validate --help" 0 $?
"$ctl" --version >"$tmp/out" 2>&1
expect_status "--version" 0 $?
checks=$((checks + 1))
grep -q '^vfleetctl [0-9]' "$tmp/out" || fail "--version prints no version"
"$ctl" policy validate "$tmp/missing.yaml" >/dev/null 2>"$tmp/err"
expect_status "missing file" 1 $?
checks=$((checks + 1))
grep -q "missing.yaml:1:1: cannot open: No such file or directory" \
	"$tmp/err" || fail "missing file: no 'cannot open' error"
"$ctl" policy validate "$here/ok/minimal.yaml" "$here/bad/vlan-zero.yaml" \
	>/dev/null 2>&1
expect_status "validate of a good and a bad file" 1 $?
"$ctl" policy diff "$here/ok/minimal.yaml" "$here/bad/vlan-zero.yaml" \
	>/dev/null 2>&1
expect_status "diff with an invalid file" 1 $?

# usage() and vfleetctl.8 name the same options and verbs.
"$ctl" policy --help >>"$tmp/help" 2>&1
for option in controller output help version; do
	checks=$((checks + 1))
	grep -q -- "--$option" "$tmp/help" || fail "usage lacks --$option"
	grep -q -- "Fl -$option" "$top/cli/vfleetctl.8" ||
		fail "vfleetctl.8 lacks --$option"
done
for verb in policy validate show diff; do
	checks=$((checks + 1))
	grep -q -- "$verb" "$tmp/help" || fail "usage lacks $verb"
	grep -Eq -- "Cm (policy )?$verb" "$top/cli/vfleetctl.8" ||
		fail "vfleetctl.8 lacks $verb"
done

# The parser accepts exactly the keys both documents describe: the key
# tables of policy_parse.c, POLICY.md's key index and vfleet-policy.5's key
# index list the same set.
awk '/^static const char \*const s_[a-z_]*_keys\[\] = \{/ { f = 1 }
	f { print } f && /};/ { f = 0 }' "$top/policy/policy_parse.c" | grep -o '"[a-z_]*"' | tr -d '"' |
	sort -u >"$tmp/parser-keys"
sed -n '/^## Key index/,/^## /p' "$top/policy/POLICY.md" |
	sed -n 's/^| `\([a-z_]*\)` .*/\1/p' | sort -u >"$tmp/md-keys"
sed -n '/^\.Sh KEY INDEX/,/^\.Sh [A-Z]/p' "$top/policy/vfleet-policy.5" |
	sed -n 's/^\.It Ic \([a-z_]*\).*/\1/p' | sort -u >"$tmp/man-keys"
checks=$((checks + 1))
[ "$(wc -l <"$tmp/parser-keys")" -ge 30 ] ||
	fail "found only $(wc -l <"$tmp/parser-keys") keys in policy_parse.c"
expect_same "POLICY.md key index vs parser" "$tmp/parser-keys" "$tmp/md-keys"
expect_same "vfleet-policy.5 key index vs parser" "$tmp/parser-keys" \
	"$tmp/man-keys"

echo "policy regress: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
