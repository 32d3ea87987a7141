#!/usr/bin/env bash
# lab-policy — sluice-dp enforces the shipped policy (docs/examples/policy.rules) against
# real clients and a real Postfix server:
#   - every rule that rejects: the client gets the rule's 5xx, the server stores nothing;
#   - every rule that quarantines: the client gets 250, the server stores nothing, the
#     journal has the message;
#   - every SMTP smuggling variant that raises smtp.smuggling is rejected and nothing
#     (neither message) is stored, although the lab's Postfix would take several of them
#     (lab-control shows it);
#   - a reject in the middle of a pipelined session: the message before is delivered,
#     the rejected one is not, and the client's pipelined next transaction is not
#     carried out (the session ends with 421 or a close);
#   - the same through BDAT, over IPv6, and through a real Postfix relay (which logs the
#     5xx as a bounce, and the quarantine's 250 as sent);
#   - clean mail sent after all this still arrives byte for byte.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

[ -f "$LAB_POLICY" ] || { echo "no shipped policy at $LAB_POLICY" >&2; exit 1; }
lab_up
lab_dataplane_start dataplane.mode=enforce -- --rules "$LAB_POLICY"
lab_postfix_server
lab_postfix_relay

t=$LAB_DIR/transcripts
mkdir -p "$t"
rejected=() quarantined=()

# send_expect KIND ID CODE TEXT_PATTERN [smtpclient options]: one message, one session.
send_expect() {
	local kind=$1 id=$2 code=$3 pat=$4
	shift 4
	local m
	m=$(lab_msg "$kind" "$id")
	lab_smtp send "$@" "$m" >"$t/$id.txt"
	lab_expect_reply "$t/$id.txt" END "$code" "$id"
	grep -q "^END $id $code .*$pat" "$t/$id.txt" ||
		{ cat "$t/$id.txt"; lab_fail "$id: the reply does not say '$pat'"; }
	case $code in 5*) rejected+=("$id") ;; 250) quarantined+=("$id") ;; esac
}

lab_log "rules that reject"
send_expect eicar pol-eicar 554 "virus found"
send_expect exe pol-exe 554 "executable attachments"
send_expect cards pol-cards 554 "payment card numbers"
send_expect spam10 pol-spam10 554 "looks like spam"

lab_log "rules that quarantine (the client is told 250)"
send_expect cc pol-cc 250 ""
send_expect twid pol-twid 250 ""
send_expect spam pol-spam 250 ""

lab_log "SMTP smuggling, every variant the engine flags"
for v in $(lab_smuggling_list raises); do
	m=$(lab_msg "smuggle:$v" "pol-smuggle-$v")
	lab_smtp rawdata --quiet 1 "$m" >"$t/smuggle-$v.txt"
	lab_expect_reply "$t/smuggle-$v.txt" REPLY 554 "pol-smuggle-$v"
	grep -q "ambiguous end of data" "$t/smuggle-$v.txt" ||
		{ cat "$t/smuggle-$v.txt"; lab_fail "smuggling $v: not rejected by smtp.smuggling"; }
	rejected+=("pol-smuggle-$v" "pol-smuggle-$v-inner")
done

lab_log "a reject inside a pipelined session"
lab_smtp pipeline "$(lab_msg clean pol-p1)" "$(lab_msg exe pol-p2)" \
	"$(lab_msg clean pol-p3)" >"$t/pipeline.txt"
lab_expect_reply "$t/pipeline.txt" END 250 pol-p1
lab_expect_reply "$t/pipeline.txt" END 554 pol-p2
if grep -q '^END pol-p3 250' "$t/pipeline.txt"; then
	cat "$t/pipeline.txt"
	lab_fail "the transaction pipelined after a rejected message was carried out"
fi
rejected+=(pol-p2 pol-p3)

lab_log "BDAT and IPv6"
m=$(lab_msg exe pol-bdat)
lab_smtp bdat --chunk 700 "$m" >"$t/bdat.txt"
lab_expect_reply "$t/bdat.txt" LAST 554 pol-bdat
rejected+=(pol-bdat)
send_expect eicar pol-v6 554 "virus found" --server "$LAB_S6"

lab_log "through the client's Postfix relay"
lab_smtp send --server "$LAB_C4" "$(lab_msg exe pol-relay-exe)" "$(lab_msg cc pol-relay-cc)" \
	>"$t/relay.txt"
relay_log=$(lab_postfix_log relay)
lab_wait_for 60 "the relay to give up on the executable" \
	grep -q 'status=bounced.*554 5.7.1 Message rejected: executable' "$relay_log" ||
	lab_fail "the relay did not see the dataplane's 5xx for the executable"
# the recipient's line: the relay's discard agent also logs status=sent, for the bounce
# of the executable to its sender
lab_wait_for 60 "the relay to hand over the card number" \
	grep -q 'to=<bob@example.net>.*status=sent' "$relay_log" ||
	lab_fail "the relay did not see 250 for the quarantined message"
rejected+=(pol-relay-exe) quarantined+=(pol-relay-cc)

lab_log "clean mail still arrives, byte for byte"
lab_sentinel pol-sentinel
lab_expect_identical "$LAB_DIR/msg/pol-p1.eml" pol-p1
lab_expect_absent "${rejected[@]}" "${quarantined[@]}"

lab_log "the journal has the quarantined and passed messages, not the rejected ones"
# the sink thread writes the journal a moment after the verdict (the sink queue)
for id in "${quarantined[@]}" pol-sentinel; do
	lab_wait_for 10 "$id in the journal" grep -rqs -- "<$id@lab.example.org>" "$LAB_DIR/journal" ||
		lab_fail "message $id is not in the journal ($LAB_DIR/journal)"
done
for id in "${rejected[@]}"; do
	! grep -rqs -- "<$id@lab.example.org>" "$LAB_DIR/journal" ||
		lab_fail "rejected message $id is in the journal"
done

lab_bridge_alive || lab_fail "sluice-dp died"
lab_log "PASS: the shipped policy is enforced on the wire"
