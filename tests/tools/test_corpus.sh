#!/usr/bin/env bash
# tools/corpus: checked against Python's email package (check_corpus.py), deterministic
# (same seed: byte-identical; a smaller count: a prefix), seeds differ.
set -euo pipefail
root=${SLUICE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen() { "$root/tools/corpus" -q --duplicates 0.1 --reuse-attachments 0.2 --dlp-rate 0.05 \
	--eicar-rate 0.01 --exe-rate 0.02 "$@"; }

gen -n 1500 --seed 11 -o "$tmp/a" --mbox "$tmp/a.mbox"
/usr/bin/python3 "$root/tests/tools/check_corpus.py" "$tmp/a" --mbox "$tmp/a.mbox"

gen -n 1500 --seed 11 -o "$tmp/b"
diff -r "$tmp/a" "$tmp/b" >/dev/null || { echo "FAIL: same seed, different corpus"; exit 1; }

gen -n 200 --seed 11 -o "$tmp/c"
for f in "$tmp"/c/*.eml; do
	cmp -s "$f" "$tmp/a/$(basename "$f")" || { echo "FAIL: $f is not a prefix"; exit 1; }
done
head -200 "$tmp/a/index.jsonl" | cmp -s - "$tmp/c/index.jsonl" || { echo "FAIL: index not a prefix"; exit 1; }

gen -n 200 --seed 12 -o "$tmp/d"
if cmp -s "$tmp/c/000000.eml" "$tmp/d/000000.eml"; then echo "FAIL: seeds 11 and 12 agree"; exit 1; fi

# bad options are refused with a message, not a traceback
if "$root/tools/corpus" -n 10 --dlp-rate 2 -o "$tmp/e" 2>"$tmp/err"; then echo "FAIL: rate 2 accepted"; exit 1; fi
grep -q 'between 0 and 1' "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "corpus: ok"
