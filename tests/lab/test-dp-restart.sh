#!/usr/bin/env bash
# lab-dp-restart — what a restart of sluice-dp costs, next to a rule push (docs/control.md
# "Upgrades"). Mail flows from the client host's Postfix relay through sluice-dp to the
# server's Postfix (slowed to 2 s per session, so several are always in flight) while
# sluice-dp is stopped and started again (an upgrade), then while sluice-control pushes
# a version. Measured and printed:
#   - outage: the longest gap in a 20 ms ping through the bridge;
#   - sessions reset: TCP resets that reach the relay from the server's side;
#   - mail lost: messages the relay accepted that never reach the server. Must be 0: the
#     relay retries what was cut off (its backoff is 5-10 s in the lab);
#   - after the restart, sluice-dp runs the control's version again at once (it starts on
#     the bundle sluice-control keeps current for it) and the control sees it back.
# A push under the same traffic must cost nothing: no gap, no reset.
set -uo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/control.sh"

lab_up
cp "$LAB_POLICY" "$(dirname "$LAB_POLICY")"/spamassassin.rules "$(dirname "$LAB_POLICY")"/*.txt "$(dirname "$LAB_POLICY")"/*.ndb \
	"$(dirname "$LAB_POLICY")"/*.sha256 "$LAB_DIR/"
lab_control_start dp0
lab_sluicectl rules push "$LAB_DIR/policy.rules" --comment shipped >/dev/null 2>&1
lab_dataplane_start $(lab_managed_dp dp0)
lab_postfix_server
# a slow server (2 s before it answers RCPT): sessions are in flight when sluice-dp stops
postconf -c "$LAB_DIR/pf-server/etc" -e 'smtpd_client_restrictions = sleep 2, permit' ||
	lab_fail "postconf"
lab_s /usr/sbin/postfix -c "$LAB_DIR/pf-server/etc" reload >/dev/null 2>&1 || lab_fail "postfix reload"
lab_postfix_relay
lab_expect_running dp0 1

# submit COUNT TAG SECONDS: COUNT messages to the relay, spread over SECONDS
submit() {
	lab_c "$LAB_PYTHON" - "$LAB_C4" "$1" "$2" "$3" <<'PY'
import smtplib, sys, time
from email.message import EmailMessage
relay, count, tag, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
for i in range(count):
    m = EmailMessage()
    m["From"], m["To"] = "alice@example.org", "bob@example.net"
    m["Subject"] = f"{tag}-{i}"
    m["Message-ID"] = f"<{tag}-{i}@lab.example.org>"
    m.set_content("restart test\n" + ("x" * 998 + "\n") * 2000)
    with smtplib.SMTP(relay, 25, timeout=30) as s:
        s.send_message(m)
    time.sleep(seconds / count)
PY
}
stored() { grep -l "^Subject: $1-" "$LAB_MAILDIR"/new/* 2>/dev/null | wc -l; }
# gap PINGLOG: the longest time between two replies, in seconds
gap() {
	awk -F'[][]' '/bytes from/ { t = $2; if (p) { d = t - p; if (d > m) m = d } p = t } END { printf "%.2f", m }' "$1"
}
rsts() { tcpdump -nn -r "$LAB_DIR/rst.pcap" "src host $LAB_S4 and src port 25" 2>/dev/null | wc -l; }

lab_spawn rstcap "$LAB_NS_C" tcpdump -i "$LAB_IF_C" -nn -U -w "$LAB_DIR/rst.pcap" 'tcp[tcpflags] & tcp-rst != 0'
lab_wait_for 10 "tcpdump" test -s "$LAB_DIR/rst.pcap" || lab_fail "tcpdump did not start"

n=60
lab_log "restart: $n messages over 12 s through the relay; sluice-dp restarted 4 s in"
lab_spawn ping1 "$LAB_NS_C" ping -D -n -i 0.02 -w 14 "$LAB_S4"
submit $n restart 12 &
sub=$!
sleep 4
t0=$(date +%s.%N)
lab_bridge_stop
lab_dataplane_start $(lab_managed_dp dp0)
t1=$(date +%s.%N)
wait $sub || lab_fail "the relay did not accept every message"
lab_expect_running dp0 1
wait "$LAB_PID_ping1"
restart_gap=$(gap "$LAB_DIR/ping1.log")
restart_rsts=$(rsts)
lab_wait_for 90 "all $n messages at the server (the relay retries)" bash -c \
	"[ \$(grep -l '^Subject: restart-' '$LAB_MAILDIR'/new/* 2>/dev/null | wc -l) -ge $n ]"
restart_stored=$(stored restart)
deferred=$(grep -c 'status=deferred' "$(lab_postfix_log relay)")

lab_log "push: $n messages over 12 s; a version pushed 4 s in"
lab_spawn ping2 "$LAB_NS_C" ping -D -n -i 0.02 -w 14 "$LAB_S4"
submit $n push 12 &
sub=$!
sleep 4
printf '\nrule lab.restart-test { match raw "never-sent-7c1" action reject }\n' >>"$LAB_DIR/policy.rules"
out=$(lab_sluicectl rules push "$LAB_DIR/policy.rules" --comment "under load") || lab_fail "push: $out"
wait $sub || lab_fail "the relay did not accept every message"
wait "$LAB_PID_ping2"
push_gap=$(gap "$LAB_DIR/ping2.log")
push_rsts=$(($(rsts) - restart_rsts))
lab_wait_for 60 "all $n pushed-phase messages at the server" bash -c \
	"[ \$(grep -l '^Subject: push-' '$LAB_MAILDIR'/new/* 2>/dev/null | wc -l) -ge $n ]"
push_stored=$(stored push)

echo "---- sluice-dp restart vs rule push, $n messages each through the relay"
printf 'restart: stop+start %.1f s, longest ping gap %s s, %s TCP resets to the relay, %s deliveries deferred and retried, %s of %s messages delivered\n' \
	"$(echo "$t0 $t1" | awk '{print $2 - $1}')" "$restart_gap" "$restart_rsts" "$deferred" "$restart_stored" "$n"
printf 'push:    longest ping gap %s s, %s TCP resets to the relay, %s of %s messages delivered\n' \
	"$push_gap" "$push_rsts" "$push_stored" "$n"
[ "$restart_stored" = $n ] || lab_fail "mail lost across the restart: $restart_stored of $n delivered"
[ "$push_stored" = $n ] || lab_fail "mail lost across the push: $push_stored of $n delivered"
[ "$push_rsts" = 0 ] || lab_fail "the push reset $push_rsts sessions"
awk -v g="$push_gap" 'BEGIN { exit !(g < 0.5) }' || lab_fail "the push interrupted forwarding for $push_gap s"
lab_bridge_alive || lab_fail "sluice-dp died"
lab_log "PASS: a restart loses no mail (the relay retries); a push costs nothing"
