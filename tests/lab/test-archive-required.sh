#!/usr/bin/env bash
# lab-archive-required — sluice-dp's `[journal] required` (docs/dataplane.md "Journal")
# through a real archive outage: the spool may hold one message's copy (spool_max).
#   - with the archive up, a message passes and its copy reaches the archive;
#   - the archive stops: the next message still passes (its copy waits in the spool);
#   - the one after gets 451 at end of data and never reaches the mail host;
#   - the archive comes back, the spool drains, and mail passes again by itself;
#   - sluice-dp counted the deferral; the archive holds every copy of what passed.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

lab_up
lab_archive_start
t=$LAB_DIR/transcripts
mkdir -p "$t"
for id in req-a req-b req-c req-d; do lab_msg report "$id" >/dev/null; done
m() { echo "$LAB_DIR/msg/$1.eml"; }
# room for one copy in flight (the message and 8 KiB for its record's fields, as
# sluice-dp reserves), but not for a second beside a spooled one
size=$(stat -c %s "$(m req-a)")
lab_dataplane_start journal.required=yes journal.spool_max=$((size + 8192 + size / 2))
lab_postfix_server

spooled() { find "$LAB_DIR/journal-spool" -maxdepth 1 -name '*.rec' | wc -l; }
spool_empty() { [ "$(spooled)" = 0 ]; }
one_spooled() { [ "$(spooled)" = 1 ]; }
archive_has() { [ "$(lab_archive_copies)" -ge "$1" ]; }
send() { # send ID CODE: the end of data answered CODE
	lab_smtp send "$(m "$1")" >"$t/$1.txt"
	lab_expect_reply "$t/$1.txt" END "$2" "$1"
}

send req-a 250
lab_expect_identical "$(m req-a)" req-a
lab_wait_for 30 "the archive to store req-a" archive_has 1 || lab_fail "req-a never reached the archive"

lab_archive_stop
send req-b 250
lab_expect_identical "$(m req-b)" req-b
lab_wait_for 10 "req-b's copy in the spool" one_spooled || lab_fail "req-b's copy is not in the spool"
send req-c 451

lab_archive_serve
lab_wait_for 30 "the spool to drain" spool_empty || lab_fail "the spool did not drain"
send req-d 250
lab_expect_identical "$(m req-d)" req-d
lab_expect_absent req-c
deferred=$(lab_telemetry /sluice/messages | "$LAB_PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["/sluice/messages"]["journal_required_deferred"])')
[ "$deferred" = 1 ] || lab_fail "journal_required_deferred is '$deferred', want 1"
lab_wait_for 30 "the archive to store req-d" archive_has 3 || lab_fail "the archive lacks a copy"
[ "$(lab_archive_copies)" = 3 ] || lab_fail "the archive holds $(lab_archive_copies) copies, want 3 (a, b, d)"
lab_archive verify >"$t/verify.json" || { cat "$t/verify.json"; lab_fail "the archive does not verify"; }
lab_log "PASS: with [journal] required, no mail passed while its copy could not be kept"
