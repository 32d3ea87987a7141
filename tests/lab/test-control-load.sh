#!/usr/bin/env bash
# lab-control-load — rule pushes under load (issue 9): Postfix's smtp-source runs SESSIONS
# concurrent sessions through sluice-dp, batch after batch, while `sluicectl rules push`
# swaps PUSHES versions, alternately adding (B) and removing (A) a rule that rejects a
# marker every message carries in its subject. Then, from the dataplane's own records:
#   - 0 packets lost: sluice-dp's drop counters (all but `enforced`: what a rejected
#     client sends after its 554, which the server must not get), its ports' imissed/
#     ierrors/oerrors/rx_nombuf (DPDK telemetry) and the four veths' dropped counters
#     are all 0;
#   - 0 sessions reset: every smtp-source batch ends well, and no TCP reset reaches the
#     client from the server's side (tcpdump on the client's interface; the client's own
#     RSTs are counted apart: smtp-source resets its own connections as it closes them,
#     with no gateway in the path too);
#   - every message judged by exactly one version, and as that version's rules say: each
#     message (a unique recipient, smtp-source -N) has exactly one event in the event log,
#     whose bundle id is a version this test pushed, rejected exactly when that version
#     is a B; the server stored exactly the messages whose event says pass;
#   - the pushes really overlapped the traffic: several versions judged messages.
# Printed: the worker loop's p99 and max per iteration (sluice-dp's log2 histogram) after
# a first batch with no push, and at the end.
# Options: --sessions N (default 20), --pushes N (default 10). tools/bench control-load
# runs the issue's full size (200 sessions, 100 pushes).
set -uo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/control.sh"

sessions=20 pushes=10
while [ $# -gt 0 ]; do
	case $1 in
	--sessions) sessions=$2; shift ;;
	--pushes) pushes=$2; shift ;;
	*) echo "test-control-load.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

lab_up
p=$LAB_DIR/policy
mkdir -p "$p"
cat >"$p/a.rules" <<'EOF2'
# version A: the marker passes
rule load.absent {
	description "never in this traffic: A is a real policy too"
	match raw "never-in-this-traffic-9f3e"
	action reject "554 5.7.1 not expected"
}
EOF2
cp "$p/a.rules" "$p/b.rules"
cat >>"$p/b.rules" <<'EOF2'
# version B: the marker is rejected
rule load.marker {
	match header:subject "swapmark"
	action reject "554 5.7.1 swapmark rejected (load test)"
}
EOF2
lab_control_start dp0
cp "$p/a.rules" "$p/policy.rules"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "A" 2>&1)
[ $? = 3 ] || lab_fail "first push: $out"
echo "1 A" >"$LAB_DIR/versions"
# smtp-source's concurrent sessions from the client host's one address stand for many
# senders: no per-source connection or session limit (docs/protection.md)
lab_dataplane_start $(lab_managed_dp dp0) protect.host_connections=0 protect.host_sessions=0 \
	protect.net_connections=0 protect.net_sessions=0
lab_sink_start
lab_expect_running dp0 1

lab_spawn rstcap "$LAB_NS_C" tcpdump -i "$LAB_IF_C" -nn -U -w "$LAB_DIR/rst.pcap" 'tcp[tcpflags] & tcp-rst != 0'
lab_wait_for 10 "tcpdump" test -s "$LAB_DIR/rst.pcap" || lab_fail "tcpdump did not start"

# traffic: batches of SESSIONS concurrent sessions, one message each, until the pushes end
traffic() {
	local b=0
	while :; do
		b=$((b + 1))
		timeout 120 ip netns exec "$LAB_NS_C" smtp-source -A -N -s "$sessions" -m "$((sessions * 2))" \
			-l 30000 -S "swapmark load $b" -f alice@example.org -t "b$b.bob@example.net" \
			-M client.example.org "$LAB_S4:25" >"$LAB_DIR/batch.$b.log" 2>&1
		echo "$b $?" >>"$LAB_DIR/batches"
		[ -e "$LAB_DIR/pushes.done" ] && [ $b -ge 2 ] && break
	done
}
loop() { # loop: "p99 max iterations" of dp0's worker loop (ns; log2 histogram since start)
	lab_sluicectl stats --json | "$LAB_PYTHON" -c '
import json, sys
l = json.load(sys.stdin)["dp0"]["loop"]
print(l["p99_ns"], l["max_ns"], l["iterations"])'
}
: >"$LAB_DIR/batches"
# one batch with no push first: the worker loop's figures without swaps
timeout 120 ip netns exec "$LAB_NS_C" smtp-source -A -N -s "$sessions" -m "$((sessions * 2))" \
	-l 30000 -S "swapmark load 0" -f alice@example.org -t "b0.bob@example.net" \
	-M client.example.org "$LAB_S4:25" >"$LAB_DIR/batch.0.log" 2>&1
echo "0 $?" >>"$LAB_DIR/batches"
loop_quiet=$(loop) || lab_fail "no loop figures"
traffic &
traffic_pid=$!

t0=$(date +%s.%N)
for i in $(seq 2 $((pushes + 1))); do
	kind=$([ $((i % 2)) = 0 ] && echo B || echo A)
	cp "$p/$(echo $kind | tr AB ab).rules" "$p/policy.rules"
	out=$(lab_sluicectl rules push "$p/policy.rules" --comment "$kind" 2>&1) || lab_fail "push $i ($kind): $out"
	echo "$out" | grep -q "^version $i:" || lab_fail "push $i: $out"
	echo "$i $kind" >>"$LAB_DIR/versions"
done
t1=$(date +%s.%N)
touch "$LAB_DIR/pushes.done"
wait $traffic_pid
loop_pushed=$(loop) || lab_fail "no loop figures"
echo "$loop_quiet $loop_pushed" | awk '{ printf "worker loop (log2 histogram since start): p99 %d ns, max %d ns over %d iterations before the pushes; p99 %d ns, max %d ns over %d with them\n", $1, $2, $3, $4, $5, $6 }'
lab_log "$pushes pushes in $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s while $(wc -l <"$LAB_DIR/batches") batches of $sessions sessions ran"

while read -r b rc; do
	[ "$rc" = 0 ] || lab_fail "smtp-source batch $b: exit $rc: $(tail -5 "$LAB_DIR/batch.$b.log")"
	! grep -Eiq "reset|lost connection|timeout|fatal" "$LAB_DIR/batch.$b.log" ||
		lab_fail "smtp-source batch $b: $(grep -Ei 'reset|lost connection|timeout|fatal' "$LAB_DIR/batch.$b.log" | head -3)"
done <"$LAB_DIR/batches"
sleep 1
kill -INT "$LAB_PID_rstcap"
wait "$LAB_PID_rstcap" 2>/dev/null
to_client=$(tcpdump -nn -r "$LAB_DIR/rst.pcap" "src host $LAB_S4 and src port 25" 2>/dev/null | wc -l)
from_client=$(tcpdump -nn -r "$LAB_DIR/rst.pcap" "src host $LAB_C4" 2>/dev/null | wc -l)
lab_log "TCP resets: $to_client towards the client, $from_client sent by the client (smtp-source closing its connections)"
[ "$to_client" = 0 ] || lab_fail "$to_client TCP resets reached the client: sessions were reset"

lab_sluicectl stats --json >"$LAB_DIR/dpstats.json" || lab_fail "stats"
for port in 0 1; do
	lab_telemetry "/ethdev/stats,$port" >"$LAB_DIR/ethdev.$port.json" || lab_fail "telemetry"
done
sent=$(($(wc -l <"$LAB_DIR/batches") * sessions * 2)) # batch 0 included
lab_wait_for 30 "the event log to hold $sent events" \
	bash -c "[ \$(grep -c '\"event_type\":\"smtp\"' '$LAB_DIR/dp0.eve.json') -ge $sent ]"
lab_wait_for 30 "the sink to settle" sleep 1 # smtp-sink writes a dump as it closes

"$LAB_PYTHON" - "$LAB_DIR" "$sent" <<'PY' || lab_fail "the verdicts do not match the versions"
import glob, json, os, re, sys
d, sent = sys.argv[1], int(sys.argv[2])
versions = dict(l.split() for l in open(f"{d}/versions"))
versions = {int(k): v for k, v in versions.items()}
events = [json.loads(l) for l in open(f"{d}/dp0.eve.json")]
events = [e for e in events if e["event_type"] == "smtp"]
seen, passed, by_version = {}, set(), {}
for e in events:
    rcpt = e["smtp"]["rcpt_to"]
    assert len(rcpt) == 1, e
    key = rcpt[0].lower()
    assert key not in seen, f"{key} judged twice: {seen[key]} and {e}"
    v = e["bundle"]["id"]
    assert v in versions, f"{key} judged by version {v}, not one this test pushed"
    want = "reject" if versions[v] == "B" else "pass"
    got = e["verdict"]["verdict"]
    assert got == want, f"{key}: version {v} ({versions[v]}) gave {got}, its rules say {want}"
    seen[key] = v
    by_version[v] = by_version.get(v, 0) + 1
    if got == "pass":
        passed.add(key)
assert len(seen) == sent, f"{len(seen)} messages judged, {sent} sent"
stored = set()
for f in glob.glob(f"{d}/sink/msg.*"):
    for line in open(f, errors="replace"):
        m = re.match(r"X-Rcpt-Args: <?([^>\s]+)", line)
        if m:
            stored.add(m.group(1).lower())
assert stored == passed, f"stored {len(stored)}, passed {len(passed)}: {sorted(stored ^ passed)[:5]}"
assert len(by_version) >= 3, f"only versions {sorted(by_version)} judged messages: the pushes did not overlap the traffic"
stats = json.load(open(f"{d}/dpstats.json"))["dp0"]
drops = {k: v for k, v in stats["drops"].items() if v and k != "enforced"}
assert not drops, f"sluice-dp dropped packets: {drops}"
for port in (0, 1):
    s = json.load(open(f"{d}/ethdev.{port}.json"))["/ethdev/stats"]
    bad = {k: s[k] for k in ("imissed", "ierrors", "oerrors", "rx_nombuf") if s.get(k)}
    assert not bad, f"port {port}: {bad}"
print(f"{sent} messages, each judged once, by {len(by_version)} versions "
      f"({', '.join(f'{v}:{n}' for v, n in sorted(by_version.items()))}); "
      f"{len(passed)} passed and stored, {sent - len(passed)} rejected")
PY
for ns_if in "$LAB_NS_C $LAB_IF_C" "$LAB_NS_S $LAB_IF_S" "$LAB_NS_D $LAB_IF_OUT" "$LAB_NS_D $LAB_IF_IN"; do
	set -- $ns_if
	drops=$(ip -n "$1" -s link show "$2" | awk '/RX:/{getline; rx=$4} /TX:/{getline; tx=$4} END{print rx + tx}')
	[ "$drops" = 0 ] || lab_fail "veth $2 dropped $drops packets"
done
lab_bridge_alive || lab_fail "sluice-dp died"
kill -0 "$LAB_PID_control" || lab_fail "sluice-control died"
lab_log "PASS: $pushes pushes under $sessions concurrent sessions: nothing lost, nothing reset, every verdict its version's"
