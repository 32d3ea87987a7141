#!/usr/bin/env bash
# lab-rulepush — sluice-dp's control socket (docs/control.md) with a client written from
# the documentation (peers/dpctl.py, its own Ed25519 signing): a bundle pushed live to a
# running sluice-dp decides the next messages, without a restart; a bundle that is not
# signed by the configured key, or was changed, is refused and the running one stays;
# every verdict in the event log names the bundle that judged it; the event log reopens
# on SIGHUP; the STARTTLS knob changes live; a peer outside root and the socket's group
# is turned away.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

dpctl() { "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$@"; }
json() { "$LAB_PYTHON" -c "import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }

lab_up
k=$LAB_DIR/keys
mkdir -p "$k"
dpctl keygen "$k/control.key" "$k/control.pub" || lab_fail "keygen"
dpctl keygen "$k/other.key" "$k/other.pub" || lab_fail "keygen"
# A: the shipped policy; B: the same and a rule on a marker the test's mail carries
cp "$LAB_POLICY" "$LAB_DIR/a.rules"
cp "$(dirname "$LAB_POLICY")"/*.txt "$(dirname "$LAB_POLICY")"/*.ndb "$(dirname "$LAB_POLICY")"/spamassassin.rules "$(dirname "$LAB_POLICY")"/*.sha256 "$LAB_DIR/" 2>/dev/null
cp "$LAB_DIR/a.rules" "$LAB_DIR/b.rules"
cat >>"$LAB_DIR/b.rules" <<'EOF'

rule lab.swap-marker {
	description "a marker the lab's mail carries: present only in bundle B"
	match raw "swapmark"
	action reject "554 5.7.1 Marker found (bundle B)"
}
EOF
sluicectl=$SLUICE_BUILD_ROOT/control/sluicectl
for p in a b; do
	"$sluicectl" rules compile "$LAB_DIR/$p.rules" -o "$LAB_DIR/$p.bundle" >/dev/null || lab_fail "compile $p"
done
"$LAB_PYTHON" -c "
import sys; sys.path.insert(0, '$LAB_PEERS'); import dpctl
open('$LAB_DIR/a1.signed', 'wb').write(dpctl.sign(open('$LAB_DIR/a.bundle', 'rb').read(), '$k/control.key', 1))
" || lab_fail "sign a"

sock=$LAB_DIR/dp.sock
eve=$LAB_DIR/eve.json
lab_dataplane_start dataplane.mode=enforce control.socket="$sock" control.public_key="$k/control.pub" \
	control.name=lab-dp events.file="$eve" -- --rules "$LAB_DIR/a1.signed"
lab_postfix_server
lab_wait_for 20 "the control socket" test -S "$sock" || lab_fail "no control socket"

h=$(dpctl "$sock" hello) || lab_fail "hello: $h"
[ "$(echo "$h" | json "d['bundle']['id']")" = 1 ] || lab_fail "hello: not running bundle 1: $h"
[ "$(echo "$h" | json "d['name']")" = lab-dp ] || lab_fail "hello: name: $h"

send() { # send ID: one clean message carrying ID; its transcript in $LAB_DIR/ID.txt
	lab_smtp send "$(lab_msg clean "$1")" >"$LAB_DIR/$1.txt"
}

# 1. bundle A: the marker passes
send swapmark-1
lab_expect_reply "$LAB_DIR/swapmark-1.txt" END 250 swapmark-1

# 2. what must be refused; the running bundle stays
out=$(dpctl "$sock" load "$LAB_DIR/b.bundle" --id 2) && lab_fail "an unsigned bundle was loaded: $out"
echo "$out" | grep -q 'not a signed bundle' || lab_fail "unsigned: $out"
out=$(dpctl "$sock" load "$LAB_DIR/b.bundle" --id 2 --sign "$k/other.key" --version 2) &&
	lab_fail "a bundle signed by another key was loaded: $out"
echo "$out" | grep -q 'another key' || lab_fail "other key: $out"
"$LAB_PYTHON" -c "
import sys; sys.path.insert(0, '$LAB_PEERS'); import dpctl
s = bytearray(dpctl.sign(open('$LAB_DIR/b.bundle', 'rb').read(), '$k/control.key', 2))
s[-100] ^= 1
open('$LAB_DIR/b2.tampered', 'wb').write(s)
"
out=$("$LAB_PYTHON" -c "
import sys, json; sys.path.insert(0, '$LAB_PEERS'); import dpctl
print(json.dumps(dpctl.ask('$sock', {'op': 'bundle.load', 'id': 2, 'req': 1}, open('$LAB_DIR/b2.tampered', 'rb').read())))")
echo "$out" | grep -q 'does not verify' || lab_fail "a changed bundle was not refused: $out"
out=$(dpctl "$sock" raw '{"op":"no.such.op"}') && lab_fail "unknown op: $out"
[ "$(dpctl "$sock" hello | json "d['bundle']['id']")" = 1 ] || lab_fail "the running bundle changed"
send swapmark-2
lab_expect_reply "$LAB_DIR/swapmark-2.txt" END 250 swapmark-2

# 3. bundle B, signed: in effect for the next message, no restart
out=$(dpctl "$sock" load "$LAB_DIR/b.bundle" --id 2 --sign "$k/control.key" --version 2) ||
	lab_fail "bundle B refused: $out"
lab_log "pushed: $out"
[ "$(dpctl "$sock" hello | json "d['bundle']['id']")" = 2 ] || lab_fail "hello does not report bundle 2"
send swapmark-3
lab_expect_reply "$LAB_DIR/swapmark-3.txt" END 554 swapmark-3
send plain-3
lab_expect_reply "$LAB_DIR/plain-3.txt" END 250 plain-3

# 4. back to A as version 3
out=$(dpctl "$sock" load "$LAB_DIR/a.bundle" --id 3 --sign "$k/control.key" --version 3) ||
	lab_fail "bundle A as 3 refused: $out"
send swapmark-4
lab_expect_reply "$LAB_DIR/swapmark-4.txt" END 250 swapmark-4

# 5. the event log: one line per verdict, each naming its bundle; reopened on SIGHUP
mv "$eve" "$eve.old"
kill -HUP "$LAB_PID_bridge"
sleep 0.3
send swapmark-5
lab_expect_reply "$LAB_DIR/swapmark-5.txt" END 250 swapmark-5
lab_wait_for 10 "the reopened event log" grep -q swapmark-5 "$eve" 2>/dev/null ||
	lab_wait_for 10 "the reopened event log" test -s "$eve" || lab_fail "no event log after SIGHUP"
"$LAB_PYTHON" - "$eve.old" "$eve" <<'PY' || lab_fail "event log"
import json, sys
lines = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
want = {"swapmark-1": (1, "pass"), "swapmark-2": (1, "pass"), "swapmark-3": (2, "reject"),
        "plain-3": (2, "pass"), "swapmark-4": (3, "pass"), "swapmark-5": (3, "pass")}
# each line is an eve-style object; the message ids are not in it, the order is
judged = [(e["bundle"]["id"], e["verdict"]["verdict"]) for e in lines if e["event_type"] == "smtp"]
for e in lines:
    assert {"timestamp", "event_type", "src_ip", "src_port", "dest_ip", "dest_port", "smtp", "verdict",
            "bundle"} <= set(e), e
expect = [want[k] for k in ("swapmark-1", "swapmark-2", "swapmark-3", "plain-3", "swapmark-4", "swapmark-5")]
if judged != expect:
    sys.exit(f"verdicts and bundles {judged}, want {expect}")
print("event log: 6 verdicts, each with the bundle that judged it")
PY

# 6. the STARTTLS knob, the counters (rule hits across the swaps)
out=$(dpctl "$sock" knob starttls strip) || lab_fail "knob: $out"
[ "$(dpctl "$sock" hello | json "d['starttls']")" = strip ] || lab_fail "the knob did not change"
out=$(dpctl "$sock" knob starttls sideways) && lab_fail "a bad knob value was taken: $out"
stats=$(dpctl "$sock" stats) || lab_fail "stats: $stats"
[ "$(echo "$stats" | json "d['stats']['messages']['total']")" -ge 6 ] || lab_fail "stats: $stats"
[ "$(echo "$stats" | json "d['stats']['loop']['p99_ns'] > 0")" = True ] || lab_fail "no loop times: $stats"
# rule counters by id across the swaps: B's marker rule fired once (swapmark-3) and keeps
# its count after A replaced B (docs/dataplane.md "Counters and telemetry")
[ "$(echo "$stats" | json "d['stats']['rules'].get('lab.swap-marker')")" = 1 ] ||
	lab_fail "rules: lab.swap-marker (bundle B only, swapped out since) should have 1 hit: $stats"
# the top flows, listed by the workers between bursts: a session held open meanwhile
lab_c "$LAB_PYTHON" -c "
import socket, time
s = socket.create_connection(('$LAB_S4', 25), timeout=10)
s.recv(512); s.sendall(b'EHLO held.example.org\r\n'); s.recv(512)
time.sleep(6); s.sendall(b'QUIT\r\n'); s.recv(512)" &
held=$!
sleep 2
out=$(dpctl "$sock" raw '{"op":"flows","top":3}') || lab_fail "flows: $out"
echo "$out" | json "any(f['client'].startswith('$LAB_C4:') and f['state'] == 'open' and f['bytes_in'] > 0 and f['bytes_out'] > 0 for f in d['flows'])" |
	grep -q True || lab_fail "flows: the held session is not listed: $out"
wait "$held"

# 7. a peer that is neither root nor in the socket's group is turned away
chmod 0666 "$sock" # even with the file open to all
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$sock" hello)
echo "$out" | grep -q client_error || lab_fail "an unprivileged peer was answered: $out"

lab_bridge_alive || lab_fail "sluice-dp died"
lab_log "PASS: live pushes decide the next messages; bad bundles refused; events name their bundle"
