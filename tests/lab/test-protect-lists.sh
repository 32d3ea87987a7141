#!/usr/bin/env bash
# lab-protect-lists — the block list changed live with `sluicectl block|allow` through
# sluice-control and sluice-dp's control socket (docs/protection.md) while mail flows: a block added takes effect on the very next SYN
# (the source is answered 554 by the dataplane, the server never sees it), its removal
# likewise, an entry added "--for 3s" expires by itself, a more specific allow entry
# wins over a blocked network, IPv6 likewise; meanwhile one long SMTP session from another source
# sends a message every 0.2 s through every change and loses nothing: every message
# delivered; captured on both hosts' interfaces, no segment missing at the receiving end
# and every retransmission (a tail-loss probe when a poll loop on this loaded machine
# held packets past the sender's timer) seen twice by the receiver too, i.e. the first
# copy arrived; sluice-dp dropped no packet but the refused SYNs. The dataplane's own list answers (peers/dpctl.py, a client
# of the documented protocol) agree with what sluicectl shows.
set -uo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/control.sh"

dpctl() { "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$sock" "$@"; }
ctl() { lab_sluicectl "$@" 2>&1; }
probe() { lab_c "$LAB_PYTHON" "$LAB_PEERS/probe.py" "$@" --server "$LAB_S4"; }
banner() { probe banner --source "$1" --timeout 5; }
refused() { banner "$1" | grep -q '"banner": "554 5.7.1 Service unavailable; your address is blocked'; }
served() { banner "$1" | grep -q '"banner": "220 mx.example.net'; }
# count PCAP FILTER: the steady flow's segments in a capture that match FILTER
count() { tshark -r "$1" -Y "ip.addr == $STEADY && ($2)" 2>/dev/null | wc -l; }
STEADY=192.0.2.31

lab_up
for a in 31 33 34 35; do
	ip -n "$LAB_NS_C" addr add "192.0.2.$a/24" dev "$LAB_IF_C" || lab_fail "address 192.0.2.$a"
done
lab_control_start dp0
cp "$(dirname "$LAB_POLICY")"/* "$LAB_DIR/"
out=$(lab_sluicectl rules push "$LAB_DIR/policy.rules" --comment "shipped policy" 2>&1)
[ $? = 3 ] || lab_fail "first push: $out"
lab_dataplane_start dataplane.mode=enforce $(lab_managed_dp dp0)
sock=$LAB_DIR/dp0.sock
lab_postfix_server
lab_expect_running dp0 1

# the steady session: 40 messages, one every 0.2 s, across every change below
lab_spawn tcpdump-c "$LAB_NS_C" tcpdump -i "$LAB_IF_C" -w "$LAB_DIR/client.pcap" -U host $STEADY
lab_spawn tcpdump-s "$LAB_NS_S" tcpdump -i "$LAB_IF_S" -w "$LAB_DIR/server.pcap" -U host $STEADY
sleep 1
lab_c "$LAB_PYTHON" "$LAB_PEERS/probe.py" session --source 192.0.2.31 --server "$LAB_S4" \
	--id steady --messages 40 --gap 0.2 >"$LAB_DIR/steady.json" 2>&1 &
steady=$!

served 192.0.2.33 || lab_fail "192.0.2.33 not served before any change"
for round in 1 2 3; do
	out=$(ctl block add 192.0.2.33 --comment "round $round") || lab_fail "block add: $out"
	lab_log "sluicectl block add (round $round): $out"
	refused 192.0.2.33 || lab_fail "round $round: the next SYN after the block was not refused"
	out=$(ctl block del 192.0.2.33) || lab_fail "block del: $out"
	echo "$out" | grep -q 'dp0 *changed *removed 1' || lab_fail "block del removed nothing: $out"
	served 192.0.2.33 || lab_fail "round $round: the next SYN after the removal was refused"
done

# expiry
out=$(ctl block add 192.0.2.34 --for 3s) || lab_fail "block add --for: $out"
refused 192.0.2.34 || lab_fail "an entry with an expiry was not in effect"
ctl block list | grep -q '192.0.2.34/32 *block *20[0-9-]*T' || lab_fail "block list: no expiry shown: $(ctl block list)"
dpctl lists block | grep -q '"prefix": "192.0.2.34/32".*"expires": [0-9]' || lab_fail "the dataplane's list.get disagrees"
lab_wait_for 8 "the entry to expire" served 192.0.2.34 || lab_fail "the entry did not expire"
ctl block list | grep -q '192.0.2.34' && lab_fail "an expired entry is still listed"

# the longest prefix decides: a blocked network, one allowed address in it
out=$(ctl block add 192.0.2.32/28) || lab_fail "block a network: $out"
out=$(ctl allow add 192.0.2.35) || lab_fail "allow one address: $out"
refused 192.0.2.33 || lab_fail "an address of the blocked network was served"
served 192.0.2.35 || lab_fail "the allowed address inside the blocked network was refused"
ctl block del 192.0.2.32/28 >/dev/null && ctl allow del 192.0.2.35 >/dev/null || lab_fail "cleanup"
# IPv6 (the rte_lpm6 table)
banner6() { lab_c "$LAB_PYTHON" "$LAB_PEERS/probe.py" banner --source "$LAB_C6" --server "$LAB_S6" --timeout 5; }
banner6 | grep -q '"banner": "220 ' || lab_fail "not served over IPv6 before any change"
out=$(ctl block add 2001:db8::/64) || lab_fail "block an IPv6 network: $out"
banner6 | grep -q '"banner": "554 5.7.1 Service unavailable' || lab_fail "a blocked IPv6 source was served"
ctl block del 2001:db8::/64 >/dev/null || lab_fail "block del (IPv6)"
banner6 | grep -q '"banner": "220 ' || lab_fail "an unblocked IPv6 source was refused"
out=$(ctl block add 192.0.2.1/33) && lab_fail "a bad prefix was taken: $out"
echo "$out" | grep -q 'prefix length' || lab_fail "bad prefix: $out"
grep -q '"op":"list.add"' "$LAB_CONTROL_STATE/audit.jsonl" || lab_fail "list changes are not in the audit log"
top=$(ctl top sources --by refused -n 3) || lab_fail "top sources: $top"
lab_log "sluicectl top sources --by refused: $top"
# the two blocked addresses lead (.34 was refused while its entry was about to expire)
echo "$top" | sed -n 3,4p | awk '{print $1}' | sort | tr '\n' ' ' | grep -q '^192.0.2.33 192.0.2.34 $' ||
	lab_fail "top sources by refusals does not lead with the blocked sources"

wait "$steady"
lab_log "steady session: $(cat "$LAB_DIR/steady.json")"
"$LAB_PYTHON" - "$LAB_DIR/steady.json" <<'PY' || lab_fail "the steady session lost messages"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d.get("codes") == [250] * 40 and "error" not in d else f"steady: {d}")
PY
lab_wait_for 30 "the 40 steady messages at the server" \
	bash -c "[ \$(grep -l 'Subject: steady-' $LAB_MAILDIR/new/* 2>/dev/null | wc -l) = 40 ]" ||
	lab_fail "not all steady messages reached the mailbox"
lab_bridge_alive || lab_fail "sluice-dp died"
lab_bridge_stop
sleep 0.5
kill -INT "$LAB_PID_tcpdump_c" "$LAB_PID_tcpdump_s" 2>/dev/null
wait "$LAB_PID_tcpdump_c" "$LAB_PID_tcpdump_s" 2>/dev/null
segs=$(tshark -r "$LAB_DIR/server.pcap" 2>/dev/null | wc -l)
gaps=$(($(count "$LAB_DIR/client.pcap" tcp.analysis.lost_segment) + $(count "$LAB_DIR/server.pcap" tcp.analysis.lost_segment)))
up_sent=$(count "$LAB_DIR/client.pcap" "ip.src == $STEADY && tcp.analysis.retransmission")
up_seen=$(count "$LAB_DIR/server.pcap" "ip.src == $STEADY && tcp.analysis.retransmission")
down_sent=$(count "$LAB_DIR/server.pcap" "ip.dst == $STEADY && tcp.analysis.retransmission")
down_seen=$(count "$LAB_DIR/client.pcap" "ip.dst == $STEADY && tcp.analysis.retransmission")
lab_log "the steady flow: $segs segments at the server, $gaps missing; retransmissions sent/seen twice" \
	"by the receiver: client $up_sent/$up_seen, server $down_sent/$down_seen"
"$LAB_PYTHON" - "$LAB_DP_STATS" <<'PY' || lab_fail "sluice-dp dropped packets of other flows"
import json, sys
d = json.load(open(sys.argv[1]))
other = {k: v for k, v in d["drops"].items() if v and k != "protect"}
refused = d["protect"]["refused"]["block"]
print(f"refused SYNs (block list): {refused}, other drops: {other}")
sys.exit(1 if other or refused < 5 else 0)
PY
[ "$segs" -ge 200 ] || lab_fail "the capture of the steady flow holds only $segs segments"
[ "$gaps" = 0 ] && [ "$up_sent" = "$up_seen" ] && [ "$down_sent" = "$down_seen" ] ||
	lab_fail "the steady flow lost packets"
lab_log "PASS: live list changes take effect on the next SYN; other flows lost nothing"
