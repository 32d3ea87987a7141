#!/usr/bin/env bash
# evasion-offline — the evasion cases (cases.py) as captures through `sluice-dp --offline`
# with the shipped policy: what the reassembler rebuilds is what gets judged, so no
# forbidden content passes, overlaps or not (see evasion.py offline-check).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${SLUICE_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
build=${SLUICE_BUILD_ROOT:-$root/build}
dp=$build/dataplane/sluice-dp
policy=$root/docs/examples/policy.rules
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-evasion.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/evasion.py" pcaps "$work" || exit 1
for cap in "$work"/*.pcap; do
	name=$(basename "$cap" .pcap)
	"$dp" --offline "$cap" --rules "$policy" --dump-messages "$work/$name" \
		>"$work/$name.log" 2>&1 ||
		{ cat "$work/$name.log"; echo "FAIL $name: sluice-dp --offline exited $?"; exit 1; }
done
/usr/bin/python3 "$here/evasion.py" offline-check "$work"
