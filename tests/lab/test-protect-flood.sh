#!/usr/bin/env bash
# lab-protect-flood — floods and 50 well-behaved clients at the same time through
# sluice-dp with its default protection (docs/protection.md) but host_sessions = 20:
#   - tools/connflood (C): real TCP connections from one source (198.51.100.40), opened
#     at --conn-rate per second and held open after EHLO, as a bot army ties up a mail
#     server's processes;
#   - tools/synflood (C, AF_PACKET): bare SYNs from random spoofed sources in
#     203.0.113.0/24 at --pps;
#   - peers/clients.py: 50 smtplib clients from 192.0.2.100-149, 2 messages each, one
#     session per message.
# Judged: every well-behaved message delivered and inspected (sluice-dp counted each, none
# uninspected), the mail host never held more than host_sessions connections from the
# flood source (sampled every 0.1 s in its namespace), the floods were limited (refused by
# the per-source connection and session limits), and sluice-dp alive. Printed: the rates.
# Options (tools/bench protect passes longer ones): --seconds S (default 10), --pps N
# (default 10000), --conn-rate N (default 300).
set -uo pipefail
. "$(dirname "$0")/lab.sh"

seconds=10 pps=10000 conn_rate=300 limit=20
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift ;;
	--pps) pps=$2; shift ;;
	--conn-rate) conn_rate=$2; shift ;;
	*) echo "test-protect-flood.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
for tool in connflood synflood; do
	[ -x "$SLUICE_BUILD_ROOT/tools/$tool" ] || { echo "$SLUICE_BUILD_ROOT/tools/$tool is not built" >&2; exit 1; }
done
FLOOD_SRC=198.51.100.40
SPOOFED=203.0.113.0/24

lab_up
lab_s sysctl -qw net.ipv4.tcp_syncookies=1 net.core.somaxconn=1024 || lab_fail "server sysctls"
# the connection flood's source: a second network on the client host
ip -n "$LAB_NS_C" addr add "$FLOOD_SRC/24" dev "$LAB_IF_C" || lab_fail "flood source address"
ip -n "$LAB_NS_S" route add 198.51.100.0/24 dev "$LAB_IF_S" || lab_fail "route to the flood source"
# the spoofed SYNs' answers die at the crafted host's MAC (nobody answers them)
ip -n "$LAB_NS_S" route add "$SPOOFED" via "$LAB_X4" dev "$LAB_IF_S" || lab_fail "route for $SPOOFED"
for k in $(seq 100 149); do
	ip -n "$LAB_NS_C" addr add "192.0.2.$k/24" dev "$LAB_IF_C" || lab_fail "client address 192.0.2.$k"
done
lab_dataplane_start dataplane.mode=enforce protect.host_sessions=$limit -- --rules "$LAB_POLICY"
lab_postfix_server

# the mail host's connections from the flood source, sampled until told to stop
"$LAB_PYTHON" - "$LAB_NS_S" "$FLOOD_SRC" "$LAB_DIR/sampler.stop" >"$LAB_DIR/sampler.out" <<'PY' &
import subprocess, sys, time
ns, src, stopfile = sys.argv[1:]
peak = samples = 0
import os
while not os.path.exists(stopfile):
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htn", "state", "established",
                          "( sport = :25 )", "dst", src], capture_output=True, text=True).stdout
    n = sum(1 for l in out.splitlines() if l.strip())
    peak, samples = max(peak, n), samples + 1
    time.sleep(0.1)
print(peak, samples)
PY
sampler=$!

lab_spawn synflood "$LAB_NS_C" "$SLUICE_BUILD_ROOT/tools/synflood" --iface "$LAB_IF_C" --dst-mac "$LAB_MAC_S" \
	--dst "$LAB_S4" --dport 25 --src "$SPOOFED" --pps "$pps" --seconds "$seconds"
lab_spawn connflood "$LAB_NS_C" "$SLUICE_BUILD_ROOT/tools/connflood" --src "$FLOOD_SRC" --dst "$LAB_S4" \
	--rate "$conn_rate" --seconds "$seconds" --max-open 1000
sleep 2
clients=$(lab_c timeout 120 "$LAB_PYTHON" "$LAB_PEERS/clients.py" "$LAB_S4" 192.0.2.100 50 2 flood-good) ||
	lab_fail "the clients did not finish: $clients"
wait "$LAB_PID_synflood" "$LAB_PID_connflood"
touch "$LAB_DIR/sampler.stop"
wait "$sampler"
read -r peak samples <"$LAB_DIR/sampler.out"
stored() { grep -l 'Subject: flood-good-' "$LAB_MAILDIR"/new/* 2>/dev/null | wc -l; }
all_stored() { [ "$(stored)" = 100 ]; }
lab_wait_for 30 "100 messages at the mail host" all_stored

lab_bridge_alive || lab_fail "sluice-dp died"
lab_bridge_stop
echo "---- floods and 50 well-behaved clients through sluice-dp (host_sessions = $limit)"
echo "connection flood:  $(grep '^connflood:' "$LAB_DIR/connflood.log")"
echo "SYN flood:         $(grep '^synflood: sent' "$LAB_DIR/synflood.log")"
echo "clients:           $clients"
echo "mail host: at most $peak connections from $FLOOD_SRC at once ($samples samples)"
echo "stored at the mail host: $(stored) of 100"
"$LAB_PYTHON" - "$LAB_DP_STATS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["protect"]
print("sluice-dp: admitted", p["admitted"], "refused", {k: v for k, v in p["refused"].items() if v},
      "answered (handshakes)", p["handshakes"], "emergency entered", p["emergency_entered"])
print("sluice-dp: messages", d["messages"]["total"], "uninspected",
      {k: v for k, v in d["flows"]["uninspected"].items() if v}, "drops",
      {k: v for k, v in d["drops"].items() if v})
PY

messages=$(lab_dp_counter messages.total)
delivered=$(echo "$clients" | "$LAB_PYTHON" -c "import json,sys; print(json.load(sys.stdin)['delivered'])")
[ "$delivered" = 100 ] || lab_fail "well-behaved messages failed: $clients"
[ "$(stored)" = 100 ] || lab_fail "not every well-behaved message reached the mail host"
[ "$messages" = 100 ] || lab_fail "sluice-dp inspected $messages messages, 100 were sent"
for r in starttls table_full memory midstream not_smtp; do
	[ "$(lab_dp_counter "flows.uninspected.$r")" = 0 ] || lab_fail "flows passed uninspected ($r)"
done
[ "$peak" -le "$limit" ] || lab_fail "the mail host held $peak connections from the flood source (limit $limit)"
[ "$peak" -ge 1 ] || lab_fail "the sampler saw no flood connection at the mail host"
sessions=$(lab_dp_counter protect.refused.host_sessions)
syn_refused=$(( $(lab_dp_counter protect.refused.net_connections) + $(lab_dp_counter protect.refused.host_connections) ))
[ "$sessions" -ge 1 ] || lab_fail "the connection flood was never refused at host_sessions"
[ "$syn_refused" -ge $((pps * seconds / 2)) ] || lab_fail "the SYN flood was not limited ($syn_refused refused)"
lab_log "PASS: the floods were limited, every well-behaved message was delivered and inspected"
