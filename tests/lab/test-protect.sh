#!/usr/bin/env bash
# lab-protect — sluice-dp's connection-level protection (docs/protection.md) against a
# real Postfix that validates recipients (unknown users get 550 5.1.1 at RCPT) and offers
# SASL AUTH on port 587, with the shipped policy enforced:
#   1. a directory harvest from 192.0.2.21: at harvest_limit refused recipients the
#      session gets 421 from the dataplane and the source is banned; its next connection
#      is answered by the dataplane (the server never sees it); another source delivers
#      meanwhile; `bans` lists the ban; the event log has it; it expires (ban_time).
#   2. password guessing on 587 (peers/authserver.py, aiosmtpd, on the mail host) from
#      192.0.2.22: banned at auth_failure_limit; the right password from another source
#      still logs in; an unban (bans.del) lets the guesser in again.
#   3. pregreet (greet_wait holds the greeting), HTTP on port 25: closed with 554;
#      VRFY enumeration with vrfy_expn = log: logged, the session goes on.
# Every probe is a real TCP client in the client namespace (peers/probe.py, smtplib).
set -uo pipefail
. "$(dirname "$0")/lab.sh"

dpctl() { "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$@"; }
probe() { lab_c "$LAB_PYTHON" "$LAB_PEERS/probe.py" "$@" --server "$LAB_S4"; }
json() { "$LAB_PYTHON" -c "import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
# connects_from ADDR: Postfix's log lines for connections from ADDR
connects_from() { grep -c "connect from unknown\[$1\]" "$(lab_postfix_log server)" 2>/dev/null; }

lab_up
for a in 21 22 23 24 25 26; do
	ip -n "$LAB_NS_C" addr add "192.0.2.$a/24" dev "$LAB_IF_C" || lab_fail "address 192.0.2.$a"
done
sock=$LAB_DIR/dp.sock
eve=$LAB_DIR/eve.json
lab_dataplane_start dataplane.mode=enforce control.socket="$sock" events.file="$eve" \
	protect.harvest_limit=8 protect.harvest_window=60s protect.ban_time=8s \
	protect.auth_failure_limit=4 protect.vrfy_expn=log protect.vrfy_expn_limit=2 \
	protect.greet_wait=1s -- --rules "$LAB_POLICY"
lab_postfix_server users
auth_user=alice@example.net auth_pass=correct-horse
lab_spawn authserver "$LAB_NS_S" "$LAB_PYTHON" "$LAB_PEERS/authserver.py" "$LAB_S4" 587 "$auth_user" "$auth_pass"
lab_wait_listen "$LAB_S4" 587 "the submission server"
lab_wait_for 20 "the control socket" test -S "$sock" || lab_fail "no control socket"

# ---- 1. directory harvest ------------------------------------------------------------
h=$(probe harvest --source 192.0.2.21 --count 30) || lab_fail "harvest probe: $h"
lab_log "harvest: $h"
[ "$(echo "$h" | json "d['refused']")" = 7 ] || lab_fail "the harvest was not cut at the 8th refusal: $h"
echo "$h" | grep -q '421 4.7.0 Too many unknown recipients' || lab_fail "no 421 from the dataplane: $h"
before=$(connects_from 192.0.2.21)
b=$(probe banner --source 192.0.2.21)
echo "$b" | grep -q '421 4.7.0 Service unavailable; your address is temporarily blocked' ||
	lab_fail "a banned source was not answered by the dataplane: $b"
sleep 0.5
[ "$(connects_from 192.0.2.21)" = "$before" ] || lab_fail "the server saw a banned source's connection"
s=$(probe send --source 192.0.2.23 --id protect-other) || lab_fail "send: $s"
[ "$(echo "$s" | json "d['code']")" = 250 ] || lab_fail "another source was affected by the ban: $s"
bans=$(dpctl "$sock" bans) || lab_fail "bans: $bans"
lab_log "bans: $bans"
echo "$bans" | json "[b for b in d['bans'] if b['source'] == '192.0.2.21' and b['reason'] == 'harvest' and 0 < b['remaining_s'] <= 8]" |
	grep -q "192.0.2.21" || lab_fail "bans does not list the harvester: $bans"
lab_wait_for 10 "the ban event" grep -q '"reason":"harvest","action":"ban"' "$eve" ||
	lab_fail "no ban event in the event log"
grep '"event_type":"smtp_protect"' "$eve" | grep '"action":"ban"' | head -1 |
	grep -q '"src_ip":"192.0.2.21"' || lab_fail "the ban event does not name the source"
lab_wait_for 15 "the ban to expire" bash -c "! $LAB_PYTHON $LAB_PEERS/dpctl.py $sock bans | grep -q 192.0.2.21" ||
	lab_fail "the ban did not expire"
s=$(probe send --source 192.0.2.21 --id protect-after-ban)
[ "$(echo "$s" | json "d['code']")" = 250 ] || lab_fail "the source stays blocked after its ban: $s"

# ---- 2. password guessing on 587 -----------------------------------------------------
g=$(probe auth --source 192.0.2.22 --port 587 --user "$auth_user" --password guess --tries 10)
lab_log "auth guessing: $g"
[ "$(echo "$g" | json "d['codes']")" = "[535, 535, 535, 421]" ] ||
	lab_fail "AUTH guessing not cut at the 4th failure: $g"
b=$(probe banner --source 192.0.2.22 --port 587)
echo "$b" | grep -q '"banner": "421 4.7.0 Service unavailable' || lab_fail "the guesser is not banned: $b"
ok=$(probe auth --source 192.0.2.24 --port 587 --user "$auth_user" --password "$auth_pass" --tries 1)
echo "$ok" | grep -q '"final": "235 ' || lab_fail "the right password from another source failed: $ok"
# an unban lifts the ban at the source's next connection
out=$(dpctl "$sock" unban 192.0.2.22) || lab_fail "unban: $out"
echo "$out" | grep -q '"lifted": 1' || lab_fail "unban lifted nothing: $out"
b=$(probe banner --source 192.0.2.22 --port 587)
echo "$b" | grep -q '"banner": "220 ' || lab_fail "the unbanned source is still refused: $b"
dpctl "$sock" bans | grep -q 192.0.2.22 && lab_fail "bans still lists the unbanned source"

# ---- 3. protocol abuse -----------------------------------------------------------------
p=$(probe pregreet --source 192.0.2.25)
lab_log "pregreet: $p"
echo "$p" | grep -q '554 5.5.1 Protocol error: talking before the greeting' || lab_fail "pregreet: $p"
x=$(probe http --source 192.0.2.25)
lab_log "http: $x"
echo "$x" | grep -q '"greeting": "220 ' || lab_fail "a patient client did not get the (held) greeting: $x"
echo "$x" | grep -q '554 5.5.1 Protocol error: not SMTP' || lab_fail "HTTP on port 25: $x"
v=$(probe vrfy --source 192.0.2.26 --count 4)
lab_log "vrfy: $v"
[ "$(echo "$v" | json "d['after']")" = 250 ] || lab_fail "vrfy_expn = log closed the session: $v"

lab_bridge_alive || lab_fail "sluice-dp died"
lab_bridge_stop
for k in banned.harvest banned.auth_failures closed.pregreet closed.non_smtp detected.vrfy_expn \
	refused.ban; do
	n=$(lab_dp_counter "protect.$k")
	lab_log "protect.$k = $n"
	[ "$n" -ge 1 ] || lab_fail "counter protect.$k is $n"
done
[ "$(lab_dp_counter protect.closed.vrfy_expn)" = 0 ] || lab_fail "vrfy_expn = log closed a session"
grep -q '"reason":"vrfy_expn","action":"log"' "$eve" || lab_fail "no vrfy_expn log event"
lab_log "PASS: harvest and password guessing banned and expired, abuse detected with its action"
