#!/usr/bin/env bash
# demo — ./tools/demo main (./tools/demo's first part; demo-pool tests the second) runs
# end to end and shows what it promises: the clean mail
# delivered byte for byte, the leak quarantined (250, nothing at the mail host, found in
# the archive by its rule), the spreadsheet with a national ID quarantined (found in the
# workbook's cells), the executable bounced by the relay with the gateway's 554,
# the smuggling attempt rejected, the internal mail found by a Chinese word, the gateway's
# enforcement counters; a live rule push (a rule added through sluice-control rejects the
# next mail, sluice-dp not restarted, status showing the version); a directory harvest
# banned live (the harvester told 421, its next connection answered by the gateway
# without reaching the mail host, another client served, the ban listed and in the event
# log); and the lab torn down.
set -uo pipefail
root=${SLUICE_SOURCE_ROOT:?}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# the demo's colours and box-drawing are for people; compare plain text
"$root/tools/demo" main 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$out"
rc=${PIPESTATUS[0]}
fail() { echo "FAIL: $*"; echo "---- demo output"; cat "$out"; exit 1; }
[ "$rc" = 0 ] || fail "tools/demo exited $rc"
# expect REGEX WHAT: a line of the output matches
expect() { grep -Eq -- "$1" "$out" || fail "$2 (no line matching /$1/)"; }
# section TITLE-REGEX: the lines of one section (up to the next ── heading)
section() { awk -v t="$1" '/^── /{on = ($0 ~ t)} on' "$out"; }
expect_in() { section "$1" | grep -Eq -- "$2" || fail "$3 (section /$1/: no line matching /$2/)"; }

expect_in '1\. A clean mail' 'client saw: +250 ' "the clean mail was not accepted"
expect_in '1\. A clean mail' 'byte for byte what the client sent' "the clean mail did not arrive unchanged"
expect_in '2\. A data leak' 'client saw: +250 ' "the leak's sender was not told 250"
expect_in '2b\. A spreadsheet' 'client saw: +250 ' "the spreadsheet's sender was not told 250"
expect_in '2b\. A spreadsheet' 'found at: +dlp.tw-national-id document-text staff.xlsx/xl/sharedStrings.xml' \
	"the national ID was not found inside the spreadsheet"
expect_in '3\. An executable' 'relay saw: +bounced' "the relay did not bounce the executable"
expect_in '3\. An executable' '554 5\.7\.1 .*executable' "the gateway's 554 is not shown"
expect_in '4\. SMTP smuggling' 'client saw: +554 ' "the smuggling attempt was not rejected"
expect_in '5\. Internal mail' 'client saw: +250 ' "the internal mail was not accepted"
expect_in '6\. A directory harvest' 'guesses refused by the mail host' "the harvester's guesses were not refused"
expect_in '6\. A directory harvest' '421 4\.7\.0 Too many unknown recipients' "the harvest was not cut by the gateway"
expect_in '6\. A directory harvest' 'next connect: +421 4\.7\.0 Service unavailable; your address is temporarily blocked' "the harvester was not banned"
expect_in '6\. A directory harvest' 'the mail host saw 0 new connections' "the banned harvester reached the mail host"
expect_in '6\. A directory harvest' 'other client: +220 ' "another client was affected by the ban"
expect_in '6\. A directory harvest' '192\.0\.2\.66 +harvest +[0-9hms]+ ' "sluicectl bans does not list the harvester"
expect_in '6\. A directory harvest' 'event log:.*"event_type":"smtp_protect"' "no ban in the event log"
for id in demo-leak demo-xlsx demo-exe demo-smuggle; do
	section 'What the mail host stored' | grep -A1 -x "   $id" | grep -q 'server got: *nothing' ||
		fail "the mail host got $id"
done
expect_in 'Gateway counters' 'enforced +2 rejected, 2 quarantined' "enforcement counters"
expect_in 'Gateway counters' 'rules fired .*attach_executable 1.*dlp_credit_card 1.*dlp_tw_national_id 1.*smtp_smuggling 1' "rules fired"
expect_in '^── Archive' 'archive holds [0-9]+ copies: 4 from the gateway' "the gateway's copies did not all reach the archive"
section '^── Archive' | grep -A1 "search 'rule:dlp.credit-card'" | grep -q 'Payment details' ||
	fail "the quarantined leak is not found in the archive by its rule"
section '^── Archive' | grep -A1 "search '合約'" | grep -q '內部會議紀錄' ||
	fail "the internal mail is not found by a Chinese word"
live='7\. A live rule push'
section "$live" | grep -A1 '^ *before:' | grep -Eq 'client saw: +250 ' || fail "the marked mail before the push was not accepted"
expect_in "$live" '^ +version 2: ' "the push did not make version 2"
expect_in "$live" 'dp0 +loaded +swap' "dp0 did not load version 2"
section "$live" | grep -A1 '^ *after:' | grep -Eq 'client saw: +554 5\.7\.1 Project Nightjar' ||
	fail "the mail after the push was not rejected by the new rule"
expect_in "$live" 'sluice-dp was not restarted' "sluice-dp was restarted"
expect_in "$live" '^ +dp0 +up +2 +2 ' "sluicectl status does not show dp0 running version 2"
# the event names every rule that fired: the shipped policy's imported SpamAssassin
# sub-rules (sa.__HAS_FROM, ...) come before the demo's rule
expect_in "$live" 'reject by version 2 \((sa\.[A-Za-z0-9_]+, )*demo\.nightjar\)' "the event log does not show the verdict by version 2"
expect 'tearing the lab down' "the demo did not finish"
echo "PASS: tools/demo"
