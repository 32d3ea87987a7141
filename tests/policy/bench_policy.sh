#!/usr/bin/env bash
# Policy benchmark: compile time and database size of 10,000 keyword rules, and the
# matcher's scan rate with the shipped policy plus 1,000 keyword rules over a generated
# corpus, next to raw Hyperscan block scans of the same bytes (sluicectl rules cost).
# --smoke: 1,000 rules, the built-in corpus, short timings (for ./tools/test).
# Fails when a command fails or the figures are empty: no rules compiled, no messages,
# a zero rate, or fewer per-rule rows than rules measured.
set -euo pipefail
src=${SLUICE_SOURCE_ROOT:?} build=${SLUICE_BUILD_ROOT:?}
ctl=$build/control/sluicectl
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

nrules=10000 seconds=0.5 measure=30 top=8
[ $smoke = 1 ] && nrules=1000 seconds=0.02 measure=3
echo "== compile: $nrules keyword rules"
"$src/tests/policy/gen_keyword_rules.py" $nrules > "$work/kw.rules"
"$ctl" rules check "$work/kw.rules" | tee "$work/check"
grep -Eq "^ +rules +$nrules\$" "$work/check" || fail "rules check did not report $nrules rules"

echo "== matching: shipped policy + 1,000 keyword rules"
cp "$src"/docs/examples/* "$work/"
"$src/tests/policy/gen_keyword_rules.py" 1000 >> "$work/policy.rules"
"$ctl" rules check "$work/policy.rules" | sed -n '2,7p'
corpus=() messages=300 # the built-in corpus (control/rules_corpus.c)
if [ $smoke = 0 ]; then
	messages=1000
	"$src/tools/corpus" --count $messages --dlp-rate 0.02 --out "$work/corpus" >/dev/null
	corpus=("$work/corpus")
fi
"$ctl" rules cost "$work/policy.rules" "${corpus[@]}" --seconds $seconds --top $top \
	--max-rules $measure | tee "$work/cost"

# The figures, read back: every one present and not zero.
rows=$((measure < top ? measure : top))
/usr/bin/python3 - "$work/cost" "$messages" "$rows" <<'PY'
import re, sys
text, messages, rows = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3])
problems = []
m = re.search(r'^corpus: (\d+) messages', text, re.M)
if not m or int(m.group(1)) != messages:
    problems.append(f'corpus: {m.group(1) if m else "no"} messages, want {messages}')
m = re.search(r'^whole policy: \d+ rules, (\d+) MB/s', text, re.M)
if not m or int(m.group(1)) == 0:
    problems.append(f'whole policy rate: {m.group(1) if m else "missing"}')
if not re.search(r'^ceiling: .*: [1-9]\d* MB/s', text, re.M):
    problems.append('no ceiling figure')
table = text.split('rule (worst first)', 1)[-1]
got = re.findall(r'^(\S+) +(\d+) MB/s +[\d.]+%$', table, re.M)
if len(got) != rows or any(int(rate) == 0 for _, rate in got):
    problems.append(f'{len(got)} per-rule rows with a rate, want {rows}: {got}')
for p in problems:
    print('FAIL:', p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "policy_bench: figures complete"
