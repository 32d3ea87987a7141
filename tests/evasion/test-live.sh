#!/usr/bin/env bash
# evasion-live — the evasion cases (cases.py) as crafted packets from the client host,
# through sluice-dp (enforce mode, shipped policy) to the real Postfix server: none may
# get forbidden content stored (a card number, a smuggled second message), and every
# end-of-data gets an SMTP answer; over IPv4 and (a few cases) IPv6. lab-control runs
# the same packets without sluice-dp and shows that Linux and Postfix do store the
# forbidden content for most of them.
set -uo pipefail
. "$(dirname "$0")/../lab/lab.sh"

lab_up
# the protection is off: it would end some of these sessions (long lines, errors, a
# pregreet) before the inspection paths under test are reached (docs/protection.md)
lab_dataplane_start dataplane.mode=enforce protect.enabled=no -- --rules "$LAB_POLICY"
lab_postfix_server
lab_evasion_live "$LAB_DIR/evasion.json" || lab_fail "evasion.py live failed"
# the same normalization over IPv6, for a few cases
v6=(out-of-order overlap-ooo-last-wins retransmit-card-first smuggle-lf-dot-lf)
lab_evasion_live "$LAB_DIR/evasion6.json" --v6 --prefix ev6 "${v6[@]}" ||
	lab_fail "evasion.py live (IPv6) failed"
lab_sentinel ev-sentinel
lab_evasion_check "$LAB_DIR/evasion.json" protected ||
	lab_fail "an evasion got forbidden content to the server"
lab_evasion_check "$LAB_DIR/evasion6.json" protected --prefix ev6 "${v6[@]}" ||
	lab_fail "an evasion over IPv6 got forbidden content to the server"
lab_bridge_alive || lab_fail "sluice-dp died"
lab_log "PASS: no evasion got forbidden content past sluice-dp"
