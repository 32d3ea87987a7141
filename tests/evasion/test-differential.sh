#!/usr/bin/env bash
# evasion-differential — the live differential evasion test (issue 8): crafted sessions
# (differential.py: the attacks of attacks.py and the classic cases of cases.py) from
# the client host through sluice-dp (enforce, shipped policy, starttls = strip,
# closed_timeout = 1 s, --dump-messages) to a real Linux TCP server whose application
# records every byte it read and every message it accepted (tests/lab/peers/recorder.py).
# Judged per case (differential.py judge): what the server's application got is what
# the engine scanned, no forbidden marker reached it, and the client was answered.
# DIFFERENTIAL_CASES="case ..." (by hand) plays only those, over IPv4.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lab/lab.sh"

lab_up
rec=$LAB_DIR/recorder
dump=$LAB_DIR/dpdump
lab_spawn recorder "$LAB_NS_S" "$LAB_PYTHON" "$LAB_PEERS/recorder.py" --dir "$rec" \
	--listen "$LAB_S4:25" --listen "[$LAB_S6]:25"
# the protection is off: it would end some of these sessions (long lines, errors, a
# pregreet) before the inspection paths under test are reached (docs/protection.md)
lab_dataplane_start dataplane.mode=enforce protect.enabled=no smtp.starttls=strip flows.closed_timeout=1s \
	-- --rules "$LAB_POLICY" --dump-messages "$dump"
lab_wait_listen "$LAB_S4" 25 "the recorder"

play() { # play RESULTS SRC DST [CASE...]
	local results=$1 src=$2 dst=$3
	shift 3
	lab_c "$LAB_PYTHON" "$here/differential.py" play --iface "$LAB_IF_C" --src "$src" \
		--dst "$dst" --src-mac "$LAB_CRAFT_MAC" --dst-mac "$LAB_MAC_S" \
		--closed-wait 2 --results "$results" "$@"
}

start=$SECONDS
results=(--results "$LAB_DIR/diff4.json")
play "$LAB_DIR/diff4.json" "$LAB_X4" "$LAB_S4" ${DIFFERENTIAL_CASES:-} ||
	lab_fail "differential.py play (IPv4) failed"
if [ -z "${DIFFERENTIAL_CASES:-}" ]; then
	# the TCP-level attacks over IPv6 too
	play "$LAB_DIR/diff6.json" "$LAB_X6" "$LAB_S6" --prefix df6 syn-new-isn rst-in-window \
		urgent-in-card forged-server-ack overlap-ooo-last-wins smuggle-split-lf-dot-lf ||
		lab_fail "differential.py play (IPv6) failed"
	results+=(--results "$LAB_DIR/diff6.json")
fi
lab_log "cases played in $((SECONDS - start)) s"
lab_bridge_alive || lab_fail "sluice-dp died"
# every flow ends and every message is committed to the dump when sluice-dp stops
lab_bridge_stop
"$LAB_PYTHON" "$here/differential.py" judge --recorder "$rec" --dump "$dump" "${results[@]}" ||
	lab_fail "the judge failed: the server's application got bytes sluice-dp did not scan, or the dump could not be read (above)"
lab_log "PASS: the server's application received only what sluice-dp scanned"
