#!/usr/bin/env bash
# Policy benchmark: compile time and database size of 10,000 keyword rules, and the
# matcher's scan rate with the shipped policy plus 1,000 keyword rules over a generated
# corpus, next to raw Hyperscan block scans of the same bytes (sluicectl rules cost).
# --smoke: 1,000 rules, the built-in corpus, short timings (for ./tools/test).
set -euo pipefail
src=${SLUICE_SOURCE_ROOT:?} build=${SLUICE_BUILD_ROOT:?}
ctl=$build/control/sluicectl
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

nrules=10000 seconds=0.5 measure=30
[ $smoke = 1 ] && nrules=1000 seconds=0.02 measure=3
echo "== compile: $nrules keyword rules"
"$src/tests/policy/gen_keyword_rules.py" $nrules > "$work/kw.rules"
"$ctl" rules check "$work/kw.rules"

echo "== matching: shipped policy + 1,000 keyword rules"
cp "$src"/docs/examples/* "$work/"
"$src/tests/policy/gen_keyword_rules.py" 1000 >> "$work/policy.rules"
"$ctl" rules check "$work/policy.rules" | sed -n '2,7p'
corpus=()
if [ $smoke = 0 ]; then
	"$src/tools/corpus" --count 1000 --dlp-rate 0.02 --out "$work/corpus" >/dev/null
	corpus=("$work/corpus")
fi
"$ctl" rules cost "$work/policy.rules" "${corpus[@]}" --seconds $seconds --top 8 --max-rules $measure
