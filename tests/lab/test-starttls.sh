#!/usr/bin/env bash
# lab-starttls — sluice-dp's STARTTLS policy ([smtp] starttls, docs/dataplane.md) against
# a Postfix server offering STARTTLS (Debian's snakeoil certificate), with smtplib and the
# Postfix relay (opportunistic TLS) as clients. One lab, sluice-dp restarted per policy.
#   allow  the client negotiates TLS; the flow is not inspected (counted), so even a
#          message the policy would stop is delivered — the administrator's trade-off
#   strip  the EHLO reply no longer offers STARTTLS (an unknown keyword of the same
#          length instead); clients stay in plaintext and the policy applies
#   block  STARTTLS is offered but never succeeds; clients go on in plaintext and the
#          policy applies
set -uo pipefail
. "$(dirname "$0")/lab.sh"

[ -f "$LAB_POLICY" ] || { echo "no shipped policy at $LAB_POLICY" >&2; exit 1; }
lab_up
lab_log "starttls = allow"
lab_dataplane_start dataplane.mode=enforce smtp.starttls=allow -- --rules "$LAB_POLICY"
lab_postfix_server tls
lab_postfix_relay
t=$LAB_DIR/transcripts
mkdir -p "$t"
server_log=$(lab_postfix_log server)
relay_log=$(lab_postfix_log relay)

# Each policy: a sentinel (clean, must arrive) ends the round, so the server has
# delivered whatever it accepted before the checks.
round_end() {
	lab_sentinel "tls-$1-sentinel"
	lab_bridge_stop
}

lab_smtp send --starttls "$(lab_msg exe tls-allow)" >"$t/allow.txt"
grep -q '^STARTTLS - 220 .*TLSv1' "$t/allow.txt" || { cat "$t/allow.txt"; lab_fail "allow: no TLS session"; }
lab_expect_reply "$t/allow.txt" END 250 tls-allow
lab_wait_received tls-allow 30 >/dev/null || lab_fail "allow: the TLS session's message was not delivered"
round_end allow
[ "$(lab_dp_counter flows.uninspected.starttls)" -ge 1 ] ||
	lab_fail "allow: the encrypted flow is not counted as uninspected"

lab_log "starttls = strip"
lab_dataplane_start dataplane.mode=enforce smtp.starttls=strip -- --rules "$LAB_POLICY"
lab_smtp send --starttls "$(lab_msg exe tls-strip)" >"$t/strip.txt"
grep -q '^STARTTLS - 0 not offered' "$t/strip.txt" || { cat "$t/strip.txt"; lab_fail "strip: STARTTLS still offered"; }
grep -q '^EHLO - 250 .*xxxxxxxa' "$t/strip.txt" ||
	{ cat "$t/strip.txt"; lab_fail "strip: the keyword was not replaced by one of the same length"; }
lab_expect_reply "$t/strip.txt" END 554 tls-strip
lab_smtp send --server "$LAB_C4" "$(lab_msg exe tls-strip-relay)" >/dev/null
lab_wait_for 60 "the relay's bounce" grep -q 'status=bounced.*554 5.7.1 Message rejected: executable' "$relay_log" ||
	lab_fail "strip: the relay did not get the policy's 554 in plaintext"
round_end strip
[ "$(lab_dp_counter starttls.stripped)" -ge 2 ] || lab_fail "strip: stripped counter below 2"

lab_log "starttls = block"
lab_dataplane_start dataplane.mode=enforce smtp.starttls=block -- --rules "$LAB_POLICY"
lab_smtp send --starttls "$(lab_msg exe tls-block)" >"$t/block.txt"
grep -q '^STARTTLS - [45]' "$t/block.txt" || { cat "$t/block.txt"; lab_fail "block: STARTTLS was not refused"; }
lab_expect_reply "$t/block.txt" END 554 tls-block
round_end block
[ "$(lab_dp_counter starttls.blocked)" -ge 1 ] || lab_fail "block: blocked counter is 0"

lab_log "the server's view"
lab_expect_absent tls-strip tls-strip-relay tls-block
n=$(grep -c 'TLS connection established from' "$server_log")
[ "$n" = 1 ] || lab_fail "the server saw $n TLS sessions; only the one under 'allow' may exist"
lab_log "PASS: STARTTLS allow, strip and block behave as documented"
