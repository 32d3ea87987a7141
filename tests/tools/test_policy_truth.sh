#!/usr/bin/env bash
# The shipped policy on a generated corpus it has never seen, through whole SMTP sessions
# (engine + matcher, via tools/bench-engine --verdicts), against the corpus index:
# card numbers / Taiwan IDs in outbound mail, decoys, executables, EICAR, direction
# (check_verdicts.py).
set -euo pipefail
root=${SLUICE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SLUICE_BUILD_ROOT:-$root/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$root/tools/corpus" -q -n 1500 --seed 21 --dlp-rate 0.2 --exe-rate 0.05 --eicar-rate 0.03 \
	-o "$tmp/corpus"
"$root/tools/trafficgen" -q --corpus "$tmp/corpus" --refuse-rate 0 --reject-rate 0 \
	--streams "$tmp/streams"
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["smtputf8"]:
        print(e["n"])' "$tmp/corpus/index.jsonl" >"$tmp/utf8"
# The shipped policy's own rules, beside their list files: the imported SpamAssassin
# rules it includes name 90 header fields, one database each, and bench-engine holds 16
# streamed databases (tools/bench-engine/runs.h); what this checks (DLP, executables,
# EICAR, direction) is the policy's own.
/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import sluicetest
sluicetest.own_rules(sys.argv[2])' "$root/tests/lib" "$tmp/own"
"$build/tools/bench-engine" --streams "$tmp/streams" --corpus "$tmp/corpus" \
	--policy "$tmp/own/policy.rules" --seconds 0 --rounds 1 \
	--utf8-headers "$tmp/utf8" --verdicts "$tmp/verdicts.jsonl" >"$tmp/bench.out" ||
	{ cat "$tmp/bench.out"; exit 1; }
/usr/bin/python3 "$root/tests/tools/check_verdicts.py" "$tmp/corpus/index.jsonl" "$tmp/verdicts.jsonl"
