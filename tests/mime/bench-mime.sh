#!/usr/bin/env bash
# Benchmark of the MIME parser alone (tests/mime/bench_mime.c) on a generated corpus;
# bench_mime fails unless it read exactly the messages generated.
# usage: bench-mime.sh BENCH_MIME [--smoke] [COUNT]
set -euo pipefail
exe=$1; shift
count=3000 passes=5
if [ "${1:-}" = --smoke ]; then count=200 passes=2; shift; fi
[ -n "${1:-}" ] && count=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${SLUICE_SOURCE_ROOT:?}/tools/corpus" -q --count "$count" --seed 3 --out "$work"
"$exe" "$work" "$passes" "$count"
