#!/bin/sh
# Validates the libvirt domain vfleetctl vm xml writes (the one
# test_cli_vm compares byte for byte with cli_vm_xml_write's output,
# tests/cli/vm/show.xml) against libvirt's own schema with
# virt-xml-validate (Debian package libvirt-clients, installed by
# deploy/install-deps.sh). Skips, saying so, only when the tool is missing.
set -eu
src=${VFLEET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v virt-xml-validate >/dev/null; then
	echo "skip: virt-xml-validate is not installed (apt-get install libvirt-clients)"
	exit 0
fi
virt-xml-validate "$src/tests/cli/vm/show.xml" domain ||
	{ echo "FAIL (vm_xml): show.xml does not validate" >&2; exit 1; }
# The schema checks what the test relies on: a broken document fails.
work=$(mktemp -d /tmp/vfleet-vm-xml.XXXXXX)
trap 'rm -rf "$work"' EXIT
sed 's/<vcpu>2</<vcpu>two</' "$src/tests/cli/vm/show.xml" >"$work/bad.xml"
if virt-xml-validate "$work/bad.xml" domain >/dev/null 2>&1; then
	echo "FAIL (vm_xml): a <vcpu> that is no number validates" >&2
	exit 1
fi
echo "ok (vm_xml)"
