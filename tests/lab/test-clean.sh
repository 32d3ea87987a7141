#!/usr/bin/env bash
# lab-clean — clean mail of every shape goes through sluice-dp (enforce mode, the shipped
# policy: reassembled, normalized, parsed and matched) and reaches the real server byte
# for byte:
#   swaks over IPv4; smtplib over IPv6; a real Postfix relaying through the dataplane;
#   three messages pipelined in one session (each end-of-data in the same write as the
#   next MAIL/RCPT/DATA); BDAT in 1000-byte chunks; a 20 MB attachment; 200 sessions at
#   once against smtp-sink on port 2525.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

[ -f "$LAB_POLICY" ] || { echo "no shipped policy at $LAB_POLICY" >&2; exit 1; }
lab_up
# 200 concurrent sessions from the client host's one address stand for many senders: no
# per-source connection or session limit; every protocol detector stays on (clean mail
# must not trip one: checked at the end)
lab_dataplane_start dataplane.mode=enforce protect.host_connections=0 protect.host_sessions=0 \
	protect.net_connections=0 protect.net_sessions=0 -- --rules "$LAB_POLICY"
lab_postfix_server
lab_postfix_relay
lab_sink_start 2525

t=$LAB_DIR/transcripts
mkdir -p "$t"

lab_log "swaks, IPv4"
m=$(lab_msg report clean-swaks)
lab_swaks --data "@$(lab_swaks_data "$m")" >"$t/swaks.txt" 2>&1 ||
	{ cat "$t/swaks.txt"; lab_fail "swaks failed"; }
lab_expect_identical "$m" clean-swaks

lab_log "smtplib, IPv6"
m=$(lab_msg report clean-v6)
lab_smtp send --server "$LAB_S6" "$m" >"$t/v6.txt"
lab_expect_reply "$t/v6.txt" END 250 clean-v6
lab_expect_identical "$m" clean-v6

lab_log "Postfix relay"
m=$(lab_msg report clean-relay)
lab_smtp send --server "$LAB_C4" "$m" >"$t/relay.txt"
lab_expect_reply "$t/relay.txt" END 250 clean-relay
lab_expect_identical "$m" clean-relay 30 2

lab_log "three messages pipelined in one session"
lab_smtp pipeline "$(lab_msg clean clean-p1)" "$(lab_msg report clean-p2)" \
	"$(lab_msg clean clean-p3)" >"$t/pipeline.txt"
for id in clean-p1 clean-p2 clean-p3; do
	lab_expect_reply "$t/pipeline.txt" END 250 "$id"
	lab_expect_identical "$LAB_DIR/msg/$id.eml" "$id"
done

lab_log "BDAT in 1000-byte chunks"
m=$(lab_msg report clean-bdat)
lab_smtp bdat --chunk 1000 "$m" >"$t/bdat.txt"
lab_expect_reply "$t/bdat.txt" LAST 250 clean-bdat
lab_expect_identical "$m" clean-bdat

lab_log "a 20 MB attachment"
m=$(lab_msg big:20 clean-big)
lab_smtp send --timeout 120 "$m" >"$t/big.txt"
lab_expect_reply "$t/big.txt" END 250 clean-big
lab_expect_identical "$m" clean-big 60

lab_log "200 sessions at once (smtp-sink, port 2525)"
m=$(lab_msg clean clean-conc)
timeout 120 ip netns exec "$LAB_NS_C" "$LAB_PYTHON" "$LAB_PEERS/smtpclient.py" concurrent --port 2525 \
	--sessions 200 --timeout 60 "$m" >"$t/concurrent.txt"
cat "$t/concurrent.txt"
grep -q '^CONCURRENT - 0 ok=200 failed=0' "$t/concurrent.txt" ||
	lab_fail "not every one of the 200 sessions was accepted"
lab_wait_for 30 "200 messages at smtp-sink" \
	"$LAB_PYTHON" "$LAB_PEERS/received.py" sessions "$m" "$LAB_SINKDIR" 200 ||
	{ "$LAB_PYTHON" "$LAB_PEERS/received.py" sessions "$m" "$LAB_SINKDIR" 200
	  lab_fail "smtp-sink did not get the 200 messages intact"; }

lab_bridge_alive || lab_fail "sluice-dp died"
# every message was inspected and passed: nothing flowed by uninspected
lab_bridge_stop
for r in starttls table_full memory midstream not_smtp; do
	[ "$(lab_dp_counter "flows.uninspected.$r")" = 0 ] || lab_fail "flows passed uninspected ($r)"
done
[ "$(lab_dp_counter verdicts.pass)" = 208 ] || lab_fail "not one pass verdict per message sent (208)"
"$LAB_PYTHON" - "$LAB_DP_STATS" <<'PY' || lab_fail "the protection acted on clean mail"
import json, sys
p = json.load(open(sys.argv[1]))["protect"]
fired = {k: {r: n for r, n in p[k].items() if n} for k in ("detected", "refused", "closed", "banned")}
sys.exit(f"protection: {fired}" if any(fired.values()) else 0)
PY
lab_log "PASS: clean mail of every shape reached the server byte for byte"
