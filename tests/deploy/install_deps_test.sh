#!/bin/sh
# install_deps_test.sh SOURCE_DIR - deploy/install-deps.sh refuses what it
# does not know (a mistyped --kernel used to run the plain install) and
# prints its usage on --help; neither installs anything.
set -u
script=${1:?usage: install_deps_test.sh SOURCE_DIR}/deploy/install-deps.sh
fail() {
	echo "install_deps_test: $*" >&2
	exit 1
}

err=$(sh "$script" --kernal 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 2 ] || fail "--kernal: exit $rc, want 2"
case $err in
*"unknown argument '--kernal'"*"usage: deploy/install-deps.sh [--kernel]"*) ;;
*) fail "--kernal: said: $err" ;;
esac
out=$(sh "$script" --help 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "--help: exit $rc, want 0"
case $out in
"usage: deploy/install-deps.sh [--kernel]"*) ;;
*) fail "--help: printed: $out" ;;
esac
echo "install_deps_test: ok"
