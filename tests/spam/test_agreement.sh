#!/usr/bin/env bash
# The imported SpamAssassin rules (docs/examples/spamassassin.rules) against
# SpamAssassin itself (Debian's spamassassin, local tests only, no Bayes) on the fixed
# sample tests/data/spam-sample: per rule, the hits both have, and the bounds measured
# and explained in docs/spam.md. Also: the committed rules are what
# tools/import-spamassassin makes from the installed SpamAssassin now.
set -euo pipefail
src=${SLUICE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SLUICE_BUILD_ROOT:-$src/build}
ctl=$build/control/sluicectl
policy=$src/docs/examples/spamassassin.rules
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(perl -MMail::SpamAssassin -e 'print Mail::SpamAssassin::Version()')
"$ctl" rules import-sa /usr/share/spamassassin /etc/spamassassin --sa-version "$version" \
	-o "$work/now.rules" --report "$work/now.report" 2>/dev/null
if ! cmp -s "$work/now.rules" "$policy"; then
	echo "FAIL: docs/examples/spamassassin.rules is not what SpamAssassin $version's rules import to now;"
	echo "      run tools/import-spamassassin (diff below)"
	diff "$policy" "$work/now.rules" | head -20
	exit 1
fi
echo "ok: docs/examples/spamassassin.rules is current (SpamAssassin $version)"

"$ctl" rules compile "$policy" -o "$work/sa.bundle"
cd "$src/tests/data/spam-sample"
perl "$src/tests/spam/sa_hits.pl" ham/*.eml spam/*.eml >"$work/sa.jsonl"
"$ctl" rules test --json --show-quiet "$work/sa.bundle" ham/*.eml spam/*.eml >"$work/sluice.jsonl"
python3 "$src/tests/spam/agreement.py" "$work/sa.jsonl" "$work/sluice.jsonl" "$policy" \
	--min-reproduced "${SPAM_MIN_REPRODUCED:-0.95}" --max-extra "${SPAM_MAX_EXTRA:-0.015}" --top 40
