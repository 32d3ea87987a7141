#!/usr/bin/env bash
# lab-archive — the archive keeps what the gateway and the mail host hand it, and finds
# it: sluice-dp's archive sink journals passed and quarantined messages, with their
# rules, through its spool to sluice-archive; the mail host's Postfix copies every message it
# accepts to the archive's SMTP listener (always_bcc). Then:
#   - the quarantined message is in the archive (found by its rule), not at the mail host;
#   - the rejected message is nowhere;
#   - internal mail that never crossed the gateway is found, by sender and by a Chinese
#     word of its body;
#   - the clean message is archived twice (the gateway's copy and the host's copy).
#   - the quarantined message is listed by `quarantine` and, released by an operator on
#     the archive host, reaches the mail host's Postfix byte for byte; the release is
#     audited; a message never quarantined is not released.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

[ -f "$LAB_POLICY" ] || { echo "no shipped policy at $LAB_POLICY" >&2; exit 1; }
lab_up
lab_archive_start
lab_dataplane_start dataplane.mode=enforce -- --rules "$LAB_POLICY"
lab_postfix_server journal
t=$LAB_DIR/transcripts
mkdir -p "$t"

lab_smtp send "$(lab_msg report arc-clean)" "$(lab_msg cc arc-leak)" "$(lab_msg exe arc-exe)" \
	>"$t/gateway.txt"
lab_expect_reply "$t/gateway.txt" END 250 arc-clean
lab_expect_reply "$t/gateway.txt" END 250 arc-leak
lab_expect_reply "$t/gateway.txt" END 554 arc-exe
m=$(lab_msg internal arc-internal)
lab_s swaks --server "$LAB_S4" --timeout 30 --from carol@example.net --to bob@example.net \
	--helo webmail.example.net --data "@$(lab_swaks_data "$m")" >"$t/internal.txt" 2>&1 ||
	{ cat "$t/internal.txt"; lab_fail "internal mail refused by the mail host"; }
lab_sentinel arc-sentinel
lab_expect_absent arc-leak arc-exe
lab_archive_wait_all 60 || lab_fail "the archive did not receive every copy"

# ids QUERY: the Message-IDs the archive finds, sorted, one per line
ids() { lab_archive search "$1" --json | "$LAB_PYTHON" -c '
import json, sys
print("\n".join(sorted(json.loads(l)["message_id"] for l in sys.stdin if l.strip())))'; }
# first_id QUERY: the id of the first (newest) message the archive finds
first_id() { lab_archive search "$1" --json | "$LAB_PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])'; }
expect_ids() { # expect_ids QUERY ID...
	local want got
	want=
	[ $# -gt 1 ] && want=$(printf '%s@lab.example.org\n' "${@:2}" | sort)
	got=$(ids "$1")
	[ "$got" = "$want" ] || lab_fail "archive search '$1' found [$got], want [$want]"
}
expect_ids 'rule:dlp.credit-card' arc-leak
expect_ids 'from:carol@example.net' arc-internal
expect_ids '合約' arc-internal
expect_ids 'subject:Invoice'
expect_ids 'subject:"board meeting"' arc-clean arc-clean
# who sent each copy is what the archive authenticated (the TLS peers), and the
# gateway's spool is private
id=$(first_id 'rule:dlp.credit-card')
lab_archive show "$id" | grep -q "over journal from gw.lab at $LAB_ARCHIVE_GW:" ||
	lab_fail "the gateway's copy does not name its authenticated peer"
id=$(first_id 'from:carol@example.net')
lab_archive show "$id" | grep -q "over smtp from mx.lab at $LAB_ARCHIVE_HOST:" ||
	lab_fail "the mail host's copy does not name its authenticated peer"
for d in journal-spool journal-spool.partial; do
	[ "$(stat -c %a "$LAB_DIR/$d")" = 700 ] || lab_fail "$d is mode $(stat -c %a "$LAB_DIR/$d"), want 700"
done
# quarantine release: the held-back message is listed (only it), and an operator on the
# archive host hands it to the mail host over the journal link; it arrives exactly as
# the client sent it, and both the intent and the outcome are in the audit log
release() { ip netns exec "$LAB_NS_A" "$(lab_archive_exe)" release --data "$LAB_ARCHIVE_DATA" \
	--relay "$LAB_ARCHIVE_HOST:25" "$@"; }
qid=$(first_id 'rule:dlp.credit-card')
listed=$(lab_archive quarantine --json | "$LAB_PYTHON" -c '
import json, sys
print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin if l.strip()))')
[ "$listed" = "$qid" ] || lab_fail "quarantine lists [$listed], want [$qid]"
release "$qid" >"$t/release.txt" 2>&1 && grep -q "^released $qid " "$t/release.txt" ||
	{ cat "$t/release.txt"; lab_fail "the release was not taken by the mail host"; }
lab_expect_identical "$LAB_DIR/msg/arc-leak.eml" arc-leak 30
lab_log "released quarantined message $qid to the mail host: stored exactly as sent"
released_audited() { lab_archive audit | grep -q "\"action\":\"released\",\"ids\":\[$qid\].*\"user\":\"root\""; }
lab_wait_for 10 "the release in the audit log" released_audited || lab_fail "the release is not audited"
release "$(first_id 'from:carol@example.net')" >"$t/release-clean.txt" 2>&1 &&
	lab_fail "a message that was never quarantined was released"
grep -q "no quarantined copy" "$t/release-clean.txt" ||
	{ cat "$t/release-clean.txt"; lab_fail "release of a clean message: wrong refusal"; }
lab_archive stats
lab_archive verify >"$t/verify.json" || { cat "$t/verify.json"; lab_fail "the archive does not verify"; }
lab_log "PASS: the archive holds the gateway's and the mail host's copies, and finds them"
