#!/usr/bin/env bash
# demo-pool — ./tools/demo pool runs end to end and shows what it promises: two hosts
# share the mail, mx2 is taken out by the health checks after it dies, the relay retried
# what was cut, mx2 comes back, and all 300 messages are stored (none lost).
set -uo pipefail
root=${SLUICE_SOURCE_ROOT:?}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$root/tools/demo" pool 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$out"
rc=${PIPESTATUS[0]}
fail() { echo "FAIL: $*"; echo "---- demo output"; cat "$out"; exit 1; }
[ "$rc" = 0 ] || fail "tools/demo pool exited $rc"
expect() { grep -Eq -- "$1" "$out" || fail "$2 (no line matching /$1/)"; }
expect 'mx1 stored: +[1-9][0-9]* messages' "mx1 stored nothing"
expect 'mx2 stored: +[1-9][0-9]* messages' "mx2 stored nothing"
expect 'taken out: +[0-9.]+ s after it died' "mx2 was not taken out"
expect 'mx2 +down +dp0 +down' "sluicectl pool does not show mx2 down"
expect 'all 300 messages stored, no mail lost' "mail was lost"
expect 'mx2 up -> down \(connect' "the audit log lacks mx2 going down"
expect 'mx2 down -> up' "the audit log lacks mx2 coming back"
expect 'done; tearing the lab down' "the demo did not finish"
echo "demo-pool: ok"
