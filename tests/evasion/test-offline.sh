#!/usr/bin/env bash
# evasion-offline — the evasion cases (cases.py) as captures through `sluice-dp --offline`:
#   1. with the shipped policy: what the reassembler rebuilds is what gets judged, so no
#      forbidden content passes, overlaps or not (evasion.py offline-check);
#   2. with a one-rule policy that rejects on the signal tcp.overlap: exactly the cases
#      with conflicting copies of some bytes raise it (evasion.py overlap-check).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${SLUICE_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
build=${SLUICE_BUILD_ROOT:-$root/build}
dp=$build/dataplane/sluice-dp
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-evasion.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/overlap.rules" <<'RULES'
rule lab.tcp-overlap {
	match signal tcp.overlap
	action reject "554 5.7.0 conflicting copies of the same TCP bytes"
}
RULES

# offline POLICY OUTDIR: every capture through sluice-dp --offline with POLICY
offline() {
	local cap name
	for cap in "$work"/*.pcap; do
		name=$(basename "$cap" .pcap)
		"$dp" --offline "$cap" --rules "$1" --dump-messages "$2/$name" >"$2/$name.log" 2>&1 ||
			{ cat "$2/$name.log"; echo "FAIL $name: sluice-dp --offline exited with an error"; exit 1; }
	done
}

/usr/bin/python3 "$here/evasion.py" pcaps "$work" || exit 1
mkdir -p "$work/shipped" "$work/overlap"
offline "$root/docs/examples/policy.rules" "$work/shipped"
offline "$work/overlap.rules" "$work/overlap"
rc=0
/usr/bin/python3 "$here/evasion.py" offline-check "$work/shipped" || rc=1
/usr/bin/python3 "$here/evasion.py" overlap-check "$work/overlap" || rc=1
exit $rc
