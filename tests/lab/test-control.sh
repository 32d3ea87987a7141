#!/usr/bin/env bash
# lab-control — the lab with no Sluice in it: DPDK's testpmd bridges the two veth pairs
# and inspects nothing. Proves the lab's parts do what the other lab tests rely on:
#   - mail from swaks, smtplib and the Postfix relay reaches the Postfix server byte for
#     byte, over IPv4 and IPv6 (so a difference seen through sluice-dp is sluice-dp's);
#   - the server is vulnerable to SMTP smuggling with exactly the end-of-data variants
#     peers/smuggling.py says (so the evasion tests, which expect nothing smuggled through
#     sluice-dp, could fail).
set -uo pipefail
. "$(dirname "$0")/lab.sh"

lab_up
lab_bridge_start testpmd
lab_postfix_server
lab_postfix_relay

lab_log "clean mail through a plain DPDK bridge"
m=$(lab_msg clean ctl-swaks)
lab_swaks --data "$(lab_swaks_data "$m")" >"$LAB_DIR/ctl-swaks.txt" 2>&1 ||
	{ cat "$LAB_DIR/ctl-swaks.txt"; lab_fail "swaks failed"; }
lab_expect_identical "$m" ctl-swaks
m=$(lab_msg clean ctl-smtplib)
lab_smtp send --server "$LAB_S6" "$m" >"$LAB_DIR/ctl-smtplib.txt"
lab_expect_reply "$LAB_DIR/ctl-smtplib.txt" END 250 ctl-smtplib
lab_expect_identical "$m" ctl-smtplib
m=$(lab_msg clean ctl-relay)
lab_smtp send --server "$LAB_C4" "$m" >"$LAB_DIR/ctl-relay.txt"
lab_expect_reply "$LAB_DIR/ctl-relay.txt" END 250 ctl-relay
lab_expect_identical "$m" ctl-relay 30 2

lab_log "the server takes these end-of-data variants: $(lab_smuggling_list ends-data)"
for v in $(lab_smuggling_list all); do
	m=$(lab_msg "smuggle:$v" "ctl-$v")
	lab_smtp rawdata --quiet 1 "$m" >"$LAB_DIR/ctl-$v.txt"
done
# A sentinel accepted after all attempts: whatever the server accepted before is
# delivered by the time the sentinel is.
m=$(lab_msg clean ctl-sentinel)
lab_smtp send "$m" >/dev/null
lab_expect_identical "$m" ctl-sentinel
for v in $(lab_smuggling_list all); do
	inner=$(lab_received "ctl-$v-inner")
	if [[ " $(lab_smuggling_list ends-data) " == *" $v "* ]]; then
		[ -n "$inner" ] || { cat "$LAB_DIR/ctl-$v.txt"; lab_fail "variant $v smuggled nothing: the lab's server is not vulnerable to it"; }
	else
		[ -z "$inner" ] || { cat "$LAB_DIR/ctl-$v.txt"; lab_fail "variant $v smuggled a message: add it to POSTFIX_ENDS_DATA"; }
	fi
done
lab_log "PASS: the lab's peers deliver byte for byte; smuggling works without Sluice"
