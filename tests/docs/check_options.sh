#!/bin/sh
# Every long option a program's --help names appears in its man page, and
# every long option its man page names appears in --help (for vfleetctl:
# the top-level --help together with each verb's --help).
#
# Usage: check_options.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
passed=0

# Long options in text: "--word", ignoring a bare "--".
options() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# The man page rendered to plain text, so both man(7) and mdoc(7) sources
# are read the same way.
man_options() {
	MANWIDTH=200 man -l "$1" 2>/dev/null | col -b | options
}

compare() { # NAME HELP_OPTIONS_FILE MAN_PAGE
	man_options "$3" >"$tmp/man"
	if [ ! -s "$tmp/man" ]; then
		echo "FAIL $1: no options read from $3 (is man-db installed?)"
		failed=$((failed + 1))
		return
	fi
	only_help=$(comm -23 "$2" "$tmp/man" | tr '\n' ' ')
	only_man=$(comm -13 "$2" "$tmp/man" | tr '\n' ' ')
	if [ -n "$only_help$only_man" ]; then
		[ -z "$only_help" ] || echo "FAIL $1: in --help, not in $3: $only_help"
		[ -z "$only_man" ] || echo "FAIL $1: in $3, not in --help: $only_man"
		failed=$((failed + 1))
	else
		echo "ok   $1: $(wc -l <"$2") options agree"
		passed=$((passed + 1))
	fi
}

"$build/agent/vfleet-agent" --help 2>&1 | options >"$tmp/agent"
compare vfleet-agent "$tmp/agent" "$src/agent/vfleet-agent.8"

"$build/controller/vfleet-controller" --help 2>&1 | options >"$tmp/controller"
compare vfleet-controller "$tmp/controller" \
	"$src/controller/vfleet-controller.8"

ctl=$build/cli/vfleetctl
"$ctl" --help >"$tmp/ctl-help" 2>&1
verbs=$(sed -n '/^verbs:/,/^$/p' "$tmp/ctl-help" | awk 'NR > 1 && $1 != "" { print $1 }')
for verb in $verbs; do
	"$ctl" "$verb" --help >>"$tmp/ctl-help" 2>&1 || true
done
options <"$tmp/ctl-help" >"$tmp/ctl"
compare vfleetctl "$tmp/ctl" "$src/cli/vfleetctl.8"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
