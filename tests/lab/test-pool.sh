#!/usr/bin/env bash
# lab-pool — the mail-host pool (docs/pool.md) with real Postfix hosts behind sluice-dp:
#   - smtp-source sends 10,000 sessions (SLUICE_POOL_SESSIONS: another count) to the
#     service address; each host's share is its weight's (100:200:300) within
#     max(2 points, 4 standard deviations of a binomial share at that count); every
#     accepted message is stored on exactly one host; smtplib over IPv6 too;
#   - pool.set drain: a session held open on the draining host finishes, new sessions
#     avoid it; pool.remove after the drain; pool.add of a fourth host: sessions held on
#     the others do not move (each ends on the host that greeted it), new ones use it;
#   - a host set down: its held session is reset (the client sees the connection cut),
#     the others finish;
#   - two workers behind the software distributor: sessions from several client networks
#     spread over both workers, every one delivered (both sides of each translated
#     connection met on one worker).
set -uo pipefail
. "$(dirname "$0")/lab.sh"

SESSIONS=${SLUICE_POOL_SESSIONS:-10000}
lab_up
lab_pool_hosts 4
lab_pool_conf 100 200 300 # mx4 joins later
lab_dataplane_start $(lab_pool_one_source) control.socket="$LAB_DP_SOCKET" -- --rules "$LAB_POLICY"
lab_pool_postfix
t=$LAB_DIR/t
mkdir -p "$t"

pool_get() { lab_dpctl '{"op":"pool.get"}' >"$t/pool.json" || lab_fail "pool.get: $(cat "$t/pool.json")"; }
pool_field() { # pool_field HOST FIELD: from the last pool.get
	"$LAB_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(next(h[sys.argv[3]] for h in d["hosts"] if h["name"] == sys.argv[2]))' "$t/pool.json" "$1" "$2"
}
pool_op() { # pool_op JSON: a change, which must be accepted and confirmed
	lab_dpctl "$1" >"$t/op.json" || lab_fail "$1: $(cat "$t/op.json")"
	grep -q '"confirmed": true' "$t/op.json" || lab_fail "$1 not confirmed: $(cat "$t/op.json")"
	lab_log "pool: $(cat "$t/op.json")"
}
# wait until every host's queue is empty and the counts stop changing
settle() {
	local i
	for i in $(seq 1 4); do
		lab_wait_for 120 "mx$i's queue to empty" lab_postfix_queue_empty "mx$i" || lab_fail "mx$i kept mail queued"
	done
}
count_all() { local i n=0; for i in 1 2 3 4; do n=$((n + $(lab_pool_count "$i"))); done; echo $n; }

lab_log "$SESSIONS sessions to the service address, weights 100:200:300"
before=$(date +%s)
lab_c smtp-source -c -s 20 -m "$SESSIONS" -f alice@example.org -t bob@example.net \
	"$LAB_POOL4:25" >"$t/source.txt" 2>&1 || { tail "$t/source.txt"; lab_fail "smtp-source failed"; }
settle
lab_log "sent in $(($(date +%s) - before)) s"
total=0
for i in 1 2 3; do
	n[$i]=$(lab_pool_count "$i")
	total=$((total + n[i]))
done
[ "$(lab_pool_count 4)" = 0 ] || lab_fail "mx4 is not in the pool yet, but stored mail"
[ "$total" = "$SESSIONS" ] || lab_fail "stored $total messages of $SESSIONS sent"
# exactly one copy of each: smtp-source's Message-Ids are unique per message
dups=$(cat "$(lab_pool_maildir 1)"/new/* "$(lab_pool_maildir 2)"/new/* "$(lab_pool_maildir 3)"/new/* |
	grep -i '^Message-Id:' | sort | uniq -d | wc -l)
ids=$(cat "$(lab_pool_maildir 1)"/new/* "$(lab_pool_maildir 2)"/new/* "$(lab_pool_maildir 3)"/new/* |
	grep -ic '^Message-Id:')
[ "$dups" = 0 ] && [ "$ids" = "$SESSIONS" ] || lab_fail "$ids Message-Ids, $dups stored more than once"
"$LAB_PYTHON" - "$SESSIONS" "${n[1]}" "${n[2]}" "${n[3]}" <<'PY' || lab_fail "the shares do not follow the weights"
import math, sys
total, counts = int(sys.argv[1]), [int(x) for x in sys.argv[2:]]
ok = True
for i, (c, w) in enumerate(zip(counts, (1 / 6, 2 / 6, 3 / 6)), 1):
    share = c / total
    bound = max(0.02, 4 * math.sqrt(w * (1 - w) / total))
    print(f"mx{i}: {c} of {total} = {share:.4f}, weight share {w:.4f}, allowed +-{bound:.4f}")
    ok &= abs(share - w) <= bound
sys.exit(0 if ok else 1)
PY
pool_get
for i in 1 2 3; do
	[ "$(pool_field "mx$i" messages)" = "${n[$i]}" ] || lab_fail "pool.get counts $(pool_field "mx$i" messages) messages on mx$i, its maildir ${n[$i]}"
done

lab_log "IPv6: smtplib to [$LAB_POOL6]"
m=$(lab_msg report pool-v6)
lab_smtp send --server "$LAB_POOL6" "$m" >"$t/v6.txt"
lab_expect_reply "$t/v6.txt" END 250 pool-v6
settle
[ "$(count_all)" = $((SESSIONS + 1)) ] || lab_fail "the IPv6 message was not stored"
# the client found the service address through sluice-dp's answers (nobody else has it)
pool_get
"$LAB_PYTHON" -c 'import json,sys; c=json.load(open(sys.argv[1]))["counters"]
sys.exit(0 if c["arp_answers"] >= 1 and c["nd_answers"] >= 1 and c["probes"] >= 1 else 1)' "$t/pool.json" ||
	lab_fail "no ARP/ND answers or probes counted: $(cat "$t/pool.json")"

held() { # held ID HOST: a session held open on HOST, in the background; its output in $t/ID
	lab_c "$LAB_PYTHON" "$LAB_PEERS/heldsession.py" "$LAB_POOL4" "$1" "$t/go-$1" --want "$2" >"$t/$1" 2>&1 &
	lab_wait_for 60 "session $1 held on $2" grep -q "^HELD $1 $2" "$t/$1" || lab_fail "no session held on $2: $(cat "$t/$1")"
}
release() { # release ID EXPECT: let it finish; its end must match EXPECT (e.g. "DONE x mx1.example.net 250")
	touch "$t/go-$1"
	lab_wait_for 60 "session $1 to end" grep -q "^DONE $1" "$t/$1" || lab_fail "session $1 never ended: $(cat "$t/$1")"
	grep -q "^$2" "$t/$1" || lab_fail "session $1: $(grep DONE "$t/$1"), expected '$2'"
}
# new sessions from the client: which hosts greet them (banner names)
greeters() { # greeters N: N short sessions; prints "host count" lines
	lab_c "$LAB_PYTHON" - "$LAB_POOL4" "$1" <<'PY'
import collections, smtplib, sys
c = collections.Counter()
for _ in range(int(sys.argv[2])):
    s = smtplib.SMTP(timeout=30)
    code, banner = s.connect(sys.argv[1], 25)
    c[banner.decode().split()[0] if code == 220 else f"refused-{code}"] += 1
    s.quit()
for h, n in sorted(c.items()):
    print(h, n)
PY
}

lab_log "drain mx3 with a session held on it"
held drain1 mx3.example.net
pool_op '{"op":"pool.set","name":"mx3","state":"drain"}'
greeters 40 >"$t/after-drain"
grep -q mx3 "$t/after-drain" && lab_fail "a new session went to the draining mx3: $(cat "$t/after-drain")"
release drain1 "DONE drain1 mx3.example.net 250"
pool_get
[ "$(pool_field mx3 active)" = 0 ] || lab_fail "mx3 still counts $(pool_field mx3 active) active connections"
pool_op '{"op":"pool.remove","name":"mx3"}'

lab_log "add mx4 while sessions are held on mx1 and mx2"
held add1 mx1.example.net
held add2 mx2.example.net
pool_op "{\"op\":\"pool.add\",\"name\":\"mx4\",\"addresses\":[\"$(lab_pool_addr4 4)\",\"$(lab_pool_addr6 4)\"],\"weight\":200}"
greeters 60 >"$t/after-add"
grep -q mx4 "$t/after-add" || lab_fail "no new session went to mx4: $(cat "$t/after-add")"
grep -q mx3 "$t/after-add" && lab_fail "a session went to the removed mx3"
release add1 "DONE add1 mx1.example.net 250"
release add2 "DONE add2 mx2.example.net 250"
settle
for id in drain1 add1 add2; do
	host=$(awk '/^DONE/ {print $3}' "$t/$id")
	i=${host#mx}
	i=${i%%.*}
	grep -lq "^Subject: $id\$" "$(lab_pool_maildir "$i")"/new/* || lab_fail "$id is not stored on $host, the host it started on"
done

lab_log "mx1 goes down with a session held on it; one on mx2 goes on"
held down1 mx1.example.net
held down2 mx2.example.net
pool_op '{"op":"pool.set","name":"mx1","state":"down"}'
# the workers sweep their tables for its connections in bounded steps (a few ticks)
mx1_reset() { pool_get && [ "$(pool_field mx1 reset_down)" -ge 1 ]; }
lab_wait_for 5 "mx1's connections to be reset" mx1_reset || lab_fail "mx1's connections were not reset"
release down1 "DONE down1 mx1.example.net CLOSED"
release down2 "DONE down2 mx2.example.net 250"
greeters 20 >"$t/after-down"
grep -q mx1 "$t/after-down" && lab_fail "a new session went to mx1, which is down"

lab_log "errors: an unknown host, a bad state, a bad address"
lab_dpctl '{"op":"pool.set","name":"mx9","state":"up"}' >"$t/e1" && lab_fail "pool.set of an unknown host accepted"
lab_dpctl '{"op":"pool.set","name":"mx2","state":"sick"}' >"$t/e2" && lab_fail "a bad state accepted"
lab_dpctl '{"op":"pool.add","name":"mx5","addresses":["mx5.example.net"]}' >"$t/e3" && lab_fail "a bad address accepted"
grep -q 'no host of that name' "$t/e1" && grep -q 'up, drain or down' "$t/e2" && grep -q 'addresses' "$t/e3" ||
	lab_fail "unclear errors: $(cat "$t/e1" "$t/e2" "$t/e3")"
lab_bridge_alive || lab_fail "sluice-dp died"

lab_log "two workers (software distribution): clients from many IPv6 networks"
lab_bridge_stop
LAB_DP_LCORES='(0-2)@(0-1)' lab_dataplane_start $(lab_pool_one_source) workers.count=2 \
	workers.distribution=software control.socket="$LAB_DP_SOCKET" -- --rules "$LAB_POLICY"
before=$(count_all)
per_worker() { # the outside port's packets per worker, from telemetry
	lab_telemetry /sluice/ports | "$LAB_PYTHON" -c 'import json,sys
print(" ".join(str(x) for x in json.load(sys.stdin)["/sluice/ports"]["outside_rx_packets_per_worker"]))'
}
sent=0
for net in $(seq 1 16); do
	# a client network of its own: the distributor places flows by the client's /64
	src=2001:db8:$net::1
	lab_c ip addr add "$src/64" dev "$LAB_IF_C" nodad
	for i in 1 2 3 4; do ip -n "slp$i$LAB_ID" -6 route add "2001:db8:$net::/64" dev "p$i$LAB_ID"; done
	lab_c "$LAB_PYTHON" - "$LAB_POOL6" "$src" 10 "w$net" <<'PY' || lab_fail "sessions from $src failed"
import smtplib, sys
server, src, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for k in range(n):
    s = smtplib.SMTP(source_address=(src, 0), timeout=30)
    s.connect(server, 25)
    s.sendmail("alice@example.org", ["bob@example.net"],
               f"Subject: {tag}-{k}\r\nMessage-Id: <{tag}-{k}@client.example.org>\r\n\r\nfrom {src}\r\n")
    s.quit()
PY
	sent=$((sent + 10))
	read -r w0 w1 <<<"$(per_worker)"
	[ "${w0:-0}" -gt 0 ] && [ "${w1:-0}" -gt 0 ] && [ $net -ge 2 ] && break
done
lab_log "$sent sessions from $net networks; outside packets per worker: $w0 $w1"
[ "${w0:-0}" -gt 0 ] && [ "${w1:-0}" -gt 0 ] || lab_fail "one worker took every network ($w0 / $w1)"
settle
[ "$(count_all)" = $((before + sent)) ] || lab_fail "two workers: $(($(count_all) - before)) of $sent messages stored"
lab_bridge_alive || lab_fail "sluice-dp died"
lab_log "PASS"
