#!/usr/bin/env bash
# lab-slow-sink — a journal on a slow disk does not slow forwarding (issue 14;
# docs/dataplane.md "Journal"). The same N messages go through sluice-dp one session
# after another twice: with the directory journal on a plain directory, then on
# powercutfs (tests/archive/powercutfs.c) delaying every filesystem operation by DELAY
# ms. Each message costs the journal a dozen operations, so the slow journal needs
# seconds for what forwarding does in about the same time as without it:
#   - every message gets 250 at end of data both times, and the slow run forwards in
#     about the plain run's time, well before the journal has caught up;
#   - right after the slow run the counters show the backlog (journal_backlog > 0);
#   - then the sink thread catches up: journal_ok = N, every copy in the journal.
# LAB_SLOW_SINK_MESSAGES and LAB_SLOW_SINK_DELAY_MS change N and DELAY.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

n=${LAB_SLOW_SINK_MESSAGES:-30}
delay=${LAB_SLOW_SINK_DELAY_MS:-20}
slowfs=$SLUICE_BUILD_ROOT/tests/archive/powercutfs
[ -x "$slowfs" ] || lab_fail "$slowfs not built"

lab_up
t=$LAB_DIR/transcripts
mkdir -p "$t"
msgs=()
for i in $(seq 1 "$n"); do msgs+=("$(lab_msg report "slow-$i")"); done

now() { date +%s.%N; }
seconds() { "$LAB_PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
messages() { # messages KEY: a /sluice/messages counter
	lab_telemetry /sluice/messages | "$LAB_PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["/sluice/messages"][sys.argv[1]])' "$1"
}
backlog_empty() { [ "$(messages journal_backlog)" = 0 ]; }
journal_copies() { find "$1" -maxdepth 1 -name '*.eml' | wc -l; }

# send_all NAME: the N messages, one session each; every end of data must get 250
send_all() {
	lab_smtp send "${msgs[@]}" >"$t/$1.txt"
	local ok
	ok=$(grep -c '^END slow-[0-9]* 250 ' "$t/$1.txt")
	[ "$ok" = "$n" ] || lab_fail "$1: $ok of $n messages got 250 at end of data ($t/$1.txt)"
}

lab_log "$n messages with the journal on a plain directory"
lab_dataplane_start
lab_sink_start # reached through the bridge: after it
t0=$(now)
send_all plain
plain=$(seconds "$t0" "$(now)")
lab_wait_for 30 "the plain journal to catch up" backlog_empty || lab_fail "the plain journal never caught up"
lab_bridge_stop
[ "$(journal_copies "$LAB_DIR/journal")" = "$n" ] || lab_fail "the plain journal holds $(journal_copies "$LAB_DIR/journal") copies, want $n"

lab_log "the same with the journal on a disk answering every operation after ${delay} ms"
mkdir -p "$LAB_DIR/slow-disk" "$LAB_DIR/slow"
# in the host's mount namespace (ip netns exec has its own): sluice-dp, started after
# the mount, sees it
"$slowfs" "$LAB_DIR/slow-disk" "$LAB_DIR/slow" "$delay" >"$LAB_DIR/slowfs.log" 2>&1 </dev/null &
echo "$! slowfs" >>"$LAB_DIR/pids"
trap 'fusermount3 -u -z "$LAB_DIR/slow" 2>/dev/null; lab_down' EXIT
lab_wait_for 10 "the slow disk to mount" mountpoint -q "$LAB_DIR/slow" || lab_fail "powercutfs did not mount"
lab_dataplane_start journal.dir="$LAB_DIR/slow/journal"
t0=$(now)
send_all slow
slow=$(seconds "$t0" "$(now)")
backlog=$(messages journal_backlog)
queued=$(messages journal_queued)
lab_wait_for 300 "the slow journal to catch up" backlog_empty || lab_fail "the slow journal never caught up"
caught_up=$(seconds "$t0" "$(now)")
ok=$(messages journal_ok)
overflow=$(messages journal_overflow)
lab_log "forwarding $n messages: ${plain}s with the journal on a plain directory, ${slow}s on the slow disk;" \
	"then $queued queued, $backlog not written yet; the slow journal caught up after ${caught_up}s"
# through the mount: powercutfs keeps unsynced file data in its memory
copies=$(journal_copies "$LAB_DIR/slow/journal")
missing=
for i in 1 "$n"; do
	grep -qs -- "<slow-$i@lab.example.org>" "$LAB_DIR"/slow/journal/*.eml || missing+=" slow-$i"
done
lab_bridge_stop
fusermount3 -u "$LAB_DIR/slow" || lab_fail "cannot unmount the slow disk"

[ "$queued" = "$n" ] || lab_fail "journal_queued is $queued, want $n"
[ "$backlog" -gt 0 ] || lab_fail "the slow journal was not behind (backlog 0): the test proves nothing; raise the delay"
[ "$ok" = "$n" ] || lab_fail "journal_ok is $ok, want $n"
[ "$overflow" = 0 ] || lab_fail "journal_overflow is $overflow, want 0 (the queue holds $n messages)"
"$LAB_PYTHON" - "$plain" "$slow" "$caught_up" <<'EOF' || lab_fail "the slow journal slowed forwarding"
import sys
plain, slow, caught_up = map(float, sys.argv[1:])
# forwarding finished long before the journal did, and close to the plain run's time
# (generous: the machine is shared; a journal on the worker takes caught_up instead)
sys.exit(0 if slow < 0.5 * caught_up and slow < 2 * plain + 2 else 1)
EOF
[ "$copies" = "$n" ] || lab_fail "the slow journal holds $copies copies, want $n"
[ -z "$missing" ] || lab_fail "not in the slow journal:$missing"
lab_log "PASS: the journal on a slow disk lagged ($backlog copies behind), forwarding did not"
