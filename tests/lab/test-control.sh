#!/usr/bin/env bash
# lab-control — the lab with no Sluice in it: DPDK's testpmd bridges the two veth pairs
# and inspects nothing. Proves the lab's parts do what the other lab tests rely on:
#   - mail from swaks, smtplib and the Postfix relay reaches the Postfix server byte for
#     byte, over IPv4 and IPv6 (so a difference seen through sluice-dp is sluice-dp's);
#   - the crafted TCP sessions of tests/evasion work: Linux reassembles each into what
#     tests/evasion/cases.py predicts (out of order, 1-byte segments, overlaps where the
#     last copy wins deliver the card number);
#   - the server is vulnerable to SMTP smuggling with exactly the end-of-data variants
#     peers/smuggling.py lists (POSTFIX_ENDS_DATA).
# So the protected tests, which expect none of that through sluice-dp, can fail.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

lab_up
lab_bridge_start testpmd
lab_postfix_server
lab_postfix_relay

lab_log "clean mail through a plain DPDK bridge"
m=$(lab_msg clean ctl-swaks)
lab_swaks --data "@$(lab_swaks_data "$m")" >"$LAB_DIR/ctl-swaks.txt" 2>&1 ||
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

lab_log "crafted evasion sessions (tests/evasion) through a plain DPDK bridge"
lab_evasion_live "$LAB_DIR/evasion.json" || lab_fail "evasion.py live failed"

lab_sentinel ctl-sentinel
lab_evasion_check "$LAB_DIR/evasion.json" control ||
	lab_fail "the crafted sessions did not do what tests/evasion/cases.py predicts"
lab_log "PASS: the peers deliver byte for byte; every evasion works without Sluice"
