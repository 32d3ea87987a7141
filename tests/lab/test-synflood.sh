#!/usr/bin/env bash
# lab-synflood — a SYN flood through sluice-dp (enforce mode, shipped policy, the default
# [flows] settings) while legitimate mail flows (issue 8, finding 5).
#
#   tools/synflood (C, AF_PACKET, sendmmsg) in the client host sends bare SYNs to
#   192.0.2.2:25 from random sources in 198.51.100.0/24 and 203.0.113.0/24, at a capped
#   rate for a capped time. The server host behaves like a real server under flood (SYN
#   cookies on); it routes the spoofed ranges to the crafted host's static MAC, so its
#   SYN-ACKs go out through sluice-dp and die on the client side: nobody answers them.
#
# Postfix's smtp-source sends SESSIONS messages in SESSIONS concurrent sessions from the
# client host's own address to smtp-sink on the server host, once before the flood and
# once while it runs. Every one must be delivered and inspected: sluice-dp's counters at
# exit show no flow uninspected, for any reason, and one message per message sent.
# Printed: the flood's achieved rate, sluice-dp's /sluice/flows telemetry during it, and
# the time the sessions took before and during the flood.
#
# Options (tools/bench flood passes longer ones): --pps N (default 20000), --seconds S
# (the flood's length, default 15), --sessions N (default 200).
set -uo pipefail
. "$(dirname "$0")/lab.sh"

pps=20000 seconds=15 sessions=200
while [ $# -gt 0 ]; do
	case $1 in
	--pps) pps=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--sessions) sessions=$2; shift ;;
	*) echo "test-synflood.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
flood=$SLUICE_BUILD_ROOT/tools/synflood
[ -x "$flood" ] || { echo "$flood is not built" >&2; exit 1; }
FLOOD_NETS="198.51.100.0/24 203.0.113.0/24"

lab_up
lab_s sysctl -qw net.ipv4.tcp_syncookies=1 || lab_fail "cannot turn SYN cookies on"
for net in $FLOOD_NETS; do
	ip -n "$LAB_NS_S" route add "$net" via "$LAB_X4" dev "$LAB_IF_S" ||
		lab_fail "cannot route $net to the crafted host"
done
# The flow table's own defence (embryonic budget, eviction) is what this test is about:
# the protection's per-source limits (which would refuse smtp-source's 200 sessions from
# one address, and most of the flood) are off here; lab-protect-flood tests them.
lab_dataplane_start dataplane.mode=enforce protect.enabled=no -- --rules "$LAB_POLICY"
lab_sink_start

# sessions NAME: SESSIONS messages in SESSIONS concurrent sessions; prints the seconds
# taken, or "failed (exit N) after S" (smtp-source's output: $LAB_DIR/NAME.log)
sessions() {
	local t0 rc=0
	t0=$(date +%s.%N)
	timeout 90 ip netns exec "$LAB_NS_C" smtp-source -s "$sessions" -m "$sessions" -l 2000 \
		-f alice@example.org -t bob@example.net -M client.example.org "$LAB_S4:25" \
		>"$LAB_DIR/$1.log" 2>&1 || rc=$?
	echo "$t0 $(date +%s.%N) $rc" |
		awk '{ if ($3) printf "failed (exit %d) after %.2f", $3, $2 - $1; else printf "%.2f", $2 - $1 }'
}

stored() { find "$LAB_SINKDIR" -type f -name 'msg.*' | wc -l; }
all_stored() { [ "$(stored)" = $((2 * sessions)) ]; }

before=$(sessions before)
[ "$(stored)" = "$sessions" ] ||
	lab_fail "before the flood: $(stored) of $sessions messages stored, smtp-source: $before"
lab_log "before the flood: $sessions sessions in $before s"

srcs=()
for net in $FLOOD_NETS; do srcs+=(--src "$net"); done
lab_spawn synflood "$LAB_NS_C" "$flood" --iface "$LAB_IF_C" --dst-mac "$LAB_MAC_S" \
	--dst "$LAB_S4" --dport 25 "${srcs[@]}" --pps "$pps" --seconds "$seconds"
# let the flood fill what it can: a few seconds' worth of SYNs, more than the flow table
sleep $((seconds / 3))
flows_early=$(lab_telemetry /sluice/flows)
during=$(sessions during)
flows_late=$(lab_telemetry /sluice/flows)
lab_log "during the flood: $sessions sessions in $during s"
outlived=yes
kill -0 "$LAB_PID_synflood" 2>/dev/null || outlived=no
wait "$LAB_PID_synflood"
rate=$(grep '^synflood: sent' "$LAB_DIR/synflood.log") || lab_fail "synflood printed no result"
lab_wait_for 20 "$((2 * sessions)) messages at smtp-sink" all_stored # judged below

lab_bridge_alive || lab_fail "sluice-dp died"
lab_bridge_stop
echo "---- SYN flood through sluice-dp: $sessions sessions before and during the flood"
echo "flood:            $rate"
echo "sessions before:  $before s"
echo "sessions during:  $during s (started $((seconds / 3)) s into the flood)"
echo "flows, $((seconds / 3)) s in:  $flows_early"
echo "flows, after the sessions: $flows_late"
echo "sluice-dp received: $(lab_dp_counter ports.outside.rx_packets) packets from outside, forwarded $(lab_dp_counter ports.inside.tx_packets) to inside"
echo "client veth (sent/received): $(ip -n "$LAB_NS_C" -s link show "$LAB_IF_C" | awk '/TX:/{getline; tx=$2} /RX:/{getline; rx=$2} END{print tx "/" rx}')"
echo "stored at the server: $(stored) of $((2 * sessions))"
fails=0
for r in starttls table_full memory midstream not_smtp; do
	n=$(lab_dp_counter "flows.uninspected.$r")
	echo "uninspected $r: $n"
	[ "$n" = 0 ] || fails=$((fails + 1))
done
# every counter named uninspected*, including ones added later
extra=$("$LAB_PYTHON" - "$LAB_DP_STATS" <<'PY'
import json, sys
def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, path + [k])
    elif "uninspected" in ".".join(path) and v:
        yield ".".join(path) + "=" + str(v)
print(" ".join(walk(json.load(open(sys.argv[1])), [])))
PY
)
messages=$(lab_dp_counter messages.total)
echo "messages counted by sluice-dp: $messages (sent $((2 * sessions)))"
case $during in failed*) lab_fail "the sessions during the flood failed (smtp-source: $during)" ;; esac
[ $outlived = yes ] || lab_fail "the flood ended before the sessions did: raise --seconds"
[ -z "$extra" ] || lab_fail "flows passed uninspected during the flood: $extra"
[ $fails = 0 ] || lab_fail "flows passed uninspected during the flood"
[ "$messages" = $((2 * sessions)) ] ||
	lab_fail "sluice-dp counted $messages messages, $((2 * sessions)) were sent"
[ "$(stored)" = $((2 * sessions)) ] || lab_fail "not every message reached the server"
lab_log "PASS: under a SYN flood every legitimate session was delivered and inspected"
