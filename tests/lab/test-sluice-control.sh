#!/usr/bin/env bash
# lab-sluice-control — sluice-control managing two real sluice-dp (docs/control.md), driven
# with sluicectl only:
#   - a push while both dataplanes are down is kept and pending; a dataplane that starts
#     later catches up (one from the bundle the control keeps current for it, one over
#     its socket);
#   - a pushed rule decides the next message without a restart, a rollback undoes it;
#   - a policy that does not compile is refused with file:line:col and changes nothing;
#   - a dataplane that is down during a push gets the version when it is back;
#   - an unsigned or wrongly signed bundle pushed by hand over a dataplane's socket is
#     refused by the dataplane; the control's version keeps running;
#   - rules list / diff, status, stats, top rules, events (each event names the version
#     that judged it), knob set, flows (a held session listed with its version);
#   - /metrics scraped with curl and checked by promtool; the audit log's chain verifies,
#     and a changed line is found; a user outside root and the socket's group is refused.
set -uo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/control.sh"

dpctl() { "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$@"; }
send() { # send ID: one clean message carrying ID in its subject and body
	lab_smtp send "$(lab_msg clean "$1")" >"$LAB_DIR/$1.txt"
}

lab_up
p=$LAB_DIR/policy
mkdir -p "$p"
cp "$(dirname "$LAB_POLICY")"/* "$p/"
cp "$p/policy.rules" "$p/base.rules"
cat >>"$p/policy.rules" <<'EOF2'

rule lab.marker {
	description "a marker the lab's mail carries: only in some versions"
	match raw "ctlmark"
	action reject "554 5.7.1 Marker found"
}
EOF2
cp "$p/policy.rules" "$p/with-marker.rules"
cp "$p/base.rules" "$p/policy.rules"

lab_control_start dp0 dp1

lab_log "1. a push with both dataplanes down: kept, pending"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "base policy" 2>&1)
rc=$?
[ $rc = 3 ] || lab_fail "push with no dataplane up: exit $rc, want 3 (pending): $out"
echo "$out" | grep -q "dp0 .*down.*pending, it gets version 1" || lab_fail "push output: $out"

lab_log "2. dp0 starts on the bundle the control keeps current for it; dp1 catches up over its socket"
lab_dataplane_start $(lab_managed_dp dp0)
lab_postfix_server
lab_expect_running dp0 1
lab_second_dataplane_start dp1 control.socket="$LAB_DIR/dp1.sock" control.name=dp1 \
	control.public_key="$LAB_CONTROL_DIR/control.pub" events.file="$LAB_DIR/dp1.eve.json"
lab_expect_running dp1 1 40
grep -q "dataplane dp1 loaded version 1" "$LAB_DIR/control.log" || lab_fail "dp1 was not brought to version 1 by a push"
send ctlmark-1
lab_expect_reply "$LAB_DIR/ctlmark-1.txt" END 250 ctlmark-1

lab_log "3. a policy that does not compile is refused; nothing changes"
cp "$p/with-marker.rules" "$p/broken.rules"
sed -i 's/action reject "554 5.7.1 Marker found"/action reject "454 bad class"/' "$p/broken.rules"
out=$(lab_sluicectl rules push "$p/broken.rules" 2>&1)
rc=$?
[ $rc = 1 ] || lab_fail "a broken policy: exit $rc, want 1: $out"
line=$(grep -n '454 bad class' "$p/broken.rules" | cut -d: -f1)
echo "$out" | grep -Eq "^$p/broken.rules:$line:[0-9]+: .*5xx" || lab_fail "no file:line:col for the broken policy: $out"
echo "$out" | grep -q "the running version stays" || lab_fail "refusal: $out"
[ "$(lab_sluicectl rules list --json | "$LAB_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
	lab_fail "a refused policy became a version"
lab_dp_running dp0 1 && lab_dp_running dp1 1 || lab_fail "the running version changed"

lab_log "4. push the marker rule: the next message is rejected, no restart"
cp "$p/with-marker.rules" "$p/policy.rules"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "reject ctlmark") || lab_fail "push 2: $out"
echo "$out" | grep -q "dp0 .*loaded" && echo "$out" | grep -q "dp1 .*loaded" || lab_fail "push 2: $out"
lab_dp_running dp0 2 || lab_fail "dp0 not on 2 after the push"
send ctlmark-2
lab_expect_reply "$LAB_DIR/ctlmark-2.txt" END 554 ctlmark-2
send plain-2
lab_expect_reply "$LAB_DIR/plain-2.txt" END 250 plain-2
diff=$(lab_sluicectl rules diff 1 2) || lab_fail "rules diff"
echo "$diff" | grep -q '^+rule lab.marker {' || lab_fail "rules diff 1 2 does not show the added rule: $diff"

lab_log "5. rollback: back to version 1 everywhere"
out=$(lab_sluicectl rules rollback --comment "undo") || lab_fail "rollback: $out"
echo "$out" | grep -q "rollback from version 2 to 1" || lab_fail "rollback: $out"
lab_dp_running dp0 1 && lab_dp_running dp1 1 || lab_fail "not back on 1: $(lab_sluicectl status)"
send ctlmark-3
lab_expect_reply "$LAB_DIR/ctlmark-3.txt" END 250 ctlmark-3

lab_log "6. dp1 down during a push: pending; it catches up when it is back"
lab_second_dataplane_stop dp1
dp1_gone() { ! lab_dp_running dp1 1; }
lab_wait_for 10 "dp1 seen down" dp1_gone || lab_fail "the control still sees dp1 up"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "marker again" 2>&1)
rc=$?
[ $rc = 3 ] || lab_fail "push with dp1 down: exit $rc, want 3: $out"
echo "$out" | grep -q "dp1 .*pending, it gets version 3" || lab_fail "push 3: $out"
lab_sluicectl status | grep -q "^dp1 .*DOWN" || lab_fail "status does not show dp1 down"
lab_second_dataplane_start dp1 control.socket="$LAB_DIR/dp1.sock" control.name=dp1 \
	control.public_key="$LAB_CONTROL_DIR/control.pub" events.file="$LAB_DIR/dp1.eve.json"
lab_expect_running dp1 3 40
send ctlmark-4
lab_expect_reply "$LAB_DIR/ctlmark-4.txt" END 554 ctlmark-4

lab_log "7. bundles pushed by hand over dp0's socket: unsigned, signed by another key"
sluicectl=$SLUICE_BUILD_ROOT/control/sluicectl
"$sluicectl" rules compile "$p/base.rules" -o "$LAB_DIR/hand.bundle" >/dev/null || lab_fail "compile"
dpctl keygen "$LAB_DIR/other.key" "$LAB_DIR/other.pub" || lab_fail "keygen"
out=$(dpctl "$LAB_DIR/dp0.sock" load "$LAB_DIR/hand.bundle" --id 99) && lab_fail "an unsigned bundle loaded: $out"
echo "$out" | grep -q 'not a signed bundle' || lab_fail "unsigned: $out"
out=$(dpctl "$LAB_DIR/dp0.sock" load "$LAB_DIR/hand.bundle" --id 99 --sign "$LAB_DIR/other.key" --version 99) &&
	lab_fail "a bundle signed by another key loaded: $out"
echo "$out" | grep -q 'another key' || lab_fail "other key: $out"
lab_dp_running dp0 3 || lab_fail "dp0 left version 3"

lab_log "8. knob, stats, top rules, events, flows"
out=$(lab_sluicectl knob set starttls strip) || lab_fail "knob: $out"
[ "$(dpctl "$LAB_DIR/dp0.sock" hello | "$LAB_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["starttls"])')" = strip ] ||
	lab_fail "the knob did not reach dp0"
lab_sluicectl stats >"$LAB_DIR/stats.txt" || lab_fail "stats: $(cat "$LAB_DIR/stats.txt")"
grep -q "messages .* (rejected 2," "$LAB_DIR/stats.txt" || lab_fail "stats: $(cat "$LAB_DIR/stats.txt")"
top=$(lab_sluicectl top rules) || lab_fail "top rules: $top"
echo "$top" | grep -Eq "^lab.marker +2 +dp0 2" || lab_fail "top rules: $top"
lab_sluicectl events -n 50 --dataplane dp0 >"$LAB_DIR/events.txt" || lab_fail "events"
"$LAB_PYTHON" - "$LAB_DIR/events.txt" <<'PY' || lab_fail "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e["bundle"]["id"], e["verdict"]["verdict"]) for e in ev if e["event_type"] == "smtp"]
want = [(1, "pass"), (2, "reject"), (2, "pass"), (1, "pass"), (3, "reject")]
assert got == want, f"events (version, verdict) {got}, want {want}"
assert all(e["dataplane"] == "dp0" for e in ev)
print("events: 5 verdicts, each with the version that judged it")
PY
# top flows: a session held open meanwhile is listed
lab_c "$LAB_PYTHON" -c "
import socket, time
s = socket.create_connection(('$LAB_S4', 25), timeout=10)
s.recv(512); s.sendall(b'EHLO held.example.org\r\n'); s.recv(512)
time.sleep(5); s.sendall(b'QUIT\r\n'); s.recv(512)" &
held=$!
sleep 1.5
out=$(lab_sluicectl flows -n 50 --dataplane dp0 2>&1) || lab_fail "flows: $out"
echo "$out" | grep -Eq "^  $LAB_C4:[0-9]+ +$LAB_S4:25 +open +[1-9][0-9]* +[1-9][0-9]* " ||
	lab_fail "flows: the held session is not listed: $out"
wait "$held"

lab_log "9. /metrics: curl and promtool"
lab_d curl -sf "http://$LAB_CONTROL_METRICS/metrics" >"$LAB_DIR/metrics.txt" || lab_fail "curl /metrics"
promtool check metrics <"$LAB_DIR/metrics.txt" >"$LAB_DIR/promtool.txt" 2>&1 ||
	lab_fail "promtool: $(cat "$LAB_DIR/promtool.txt")"
for want in 'sluice_dp_up{dataplane="dp0"} 1' 'sluice_dp_up{dataplane="dp1"} 1' \
	'sluice_dp_bundle_running{dataplane="dp1"} 3' 'sluice_dp_verdicts_total{dataplane="dp0",action="reject"} 2' \
	'sluice_dp_rule_hits_total{dataplane="dp0",rule="lab.marker"} 2' 'sluice_control_pushes_total{result="not_compiled"} 1' \
	'# TYPE sluice_dp_loop_p99_seconds gauge'; do
	grep -qF "$want" "$LAB_DIR/metrics.txt" || lab_fail "/metrics lacks: $want"
done

lab_log "10. the audit log; a user outside root and group sluice"
"$LAB_CONTROL_BIN" audit-verify -c "$LAB_CONTROL_CONF" || lab_fail "audit-verify"
a=$LAB_CONTROL_STATE/audit.jsonl
[ "$(wc -l <"$a")" = 6 ] || lab_fail "audit: $(wc -l <"$a") lines, want 6 (3 pushes, a refusal, a rollback, a knob)"
grep -q '"result":"not compiled"' "$a" && grep -q '"op":"rules.rollback"' "$a" || lab_fail "audit content"
cp "$a" "$LAB_DIR/audit.keep"
sed -i '2s/"user":"root"/"user":"mallory"/' "$a"
out=$("$LAB_CONTROL_BIN" audit-verify -c "$LAB_CONTROL_CONF") && lab_fail "a changed line was not found: $out"
echo "$out" | grep -q "line 3: prev does not match" || lab_fail "audit-verify: $out"
cp "$LAB_DIR/audit.keep" "$a"
chmod 0666 "$LAB_CONTROL_SOCK" # even with the file open to all, SO_PEERCRED turns nobody away
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$LAB_SLUICECTL" --socket "$LAB_CONTROL_SOCK" status 2>&1) &&
	lab_fail "user nobody was answered: $out"
echo "$out" | grep -q "neither root nor in its group" || lab_fail "nobody: $out"
grep -q "refused a client: uid 65534" "$LAB_DIR/control.log" || lab_fail "the control did not log the refused peer"

lab_sluicectl status
lab_bridge_alive || lab_fail "sluice-dp died"
kill -0 "$LAB_PID_control" || lab_fail "sluice-control died"
lab_second_dataplane_stop dp1
lab_log "PASS: sluice-control pushes, refuses, rolls back and catches up two live dataplanes"
