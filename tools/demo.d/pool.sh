# ./tools/demo pool — two mail hosts share the mail behind sluice-dp's pool; one fails
# while mail flows; no mail is lost (docs/pool.md). Sourced by tools/demo after the lab
# and its helpers (hr, say, waited) are loaded.

lab_up
lab_pool_hosts 2
lab_pool_conf 100 100
LAB_CONTROL_EXTRA_CONF=$LAB_DIR/control-pool.conf
printf '[pool]\ninterval = 1s\ntimeout = 1s\nrise = 2\nfall = 2\n' >"$LAB_CONTROL_EXTRA_CONF"
LAB_CONTROL_NS=$LAB_NS_S # the checks reach the hosts from the inside network
LAB_DP_SOCKET=$LAB_DIR/dp0.sock
lab_dataplane_start $(lab_pool_one_source) control.socket="$LAB_DP_SOCKET" control.name=dp0 -- --rules "$POLICY"
lab_pool_postfix
lab_control_start dp0
LAB_RELAY_NEXTHOP=$LAB_POOL4 lab_postfix_relay

hr "The lab"
cat <<EOF2
   client host   $LAB_C4   a Postfix relay: its mail for example.net goes to the MX,
        │                   $LAB_POOL4 (the pool's service address, answered by sluice-dp)
   gateway       sluice-dp: inspects ($POLICY), picks a host per connection (Maglev),
        │                   rewrites addresses both ways
   switch        ├─ mx1  $(lab_pool_addr4 1)  Postfix 3.7   weight 100
                 └─ mx2  $(lab_pool_addr4 2)  Postfix 3.7   weight 100
   sluice-control checks both every second (TCP, 220, EHLO, QUIT; down after 2 failures)
EOF2

stored() { echo "$(lab_pool_count "$1")"; }
cmd() { printf '   \033[1m$ %s\033[0m\n' "$*"; }
send() { # send N: N messages to the relay (smtp-source), in the background: $sent_pid
	lab_c smtp-source -c -s 4 -m "$1" -f alice@example.org -t bob@example.net "$LAB_C4:25" \
		>>"$LAB_DIR/demo-source.txt" 2>&1 &
	sent_pid=$!
}
settled() { lab_postfix_queue_empty relay && lab_postfix_queue_empty mx1 && lab_postfix_queue_empty mx2; }

hr "1. Two hosts share the mail: 100 messages through the relay"
send 100
wait $sent_pid
waited "the mail to be delivered" lab_wait_for 60 "the queues to empty" settled
say "mx1 stored:" "$(stored 1) messages"
say "mx2 stored:" "$(stored 2) messages"
say "" "(the relay sends several messages per connection: connections are what the pool shares)"
cmd "sluicectl pool"
lab_sluicectl pool 2>&1 | sed 's/^/     /' || true

hr "2. mx2 fails while 200 more messages flow"
send 200
before=$(($(stored 1) + $(stored 2)))
waited "some of them to arrive" lab_wait_for 60 "the mail to flow" \
	bash -c "[ \$((\$(find $(lab_pool_maildir 1)/new $(lab_pool_maildir 2)/new -type f | wc -l))) -ge $((before + 40)) ]"
killed=$(date +%s.%N)
lab_pool_kill 2
say "mx2:" "every process killed, its link down"
is_down() { lab_sluicectl pool --json | grep -q '"state": "down"'; }
waited "mx2 to be taken out" lab_wait_for 20 "mx2 to be taken out" is_down
say "taken out:" "$(awk -v a="$(date +%s.%N)" -v b="$killed" 'BEGIN { printf "%.1f", a - b }') s after it died (sluice-control's checks)"
wait $sent_pid
waited "the relay to deliver everything" lab_wait_for 120 "the relay's queue to empty" lab_postfix_queue_empty relay
waited "mx1 to deliver" lab_wait_for 60 "mx1's queue to empty" lab_postfix_queue_empty mx1
say "relay:" "$(grep -c 'status=deferred' "$(lab_postfix_log relay)") deliveries cut by the failure were deferred and retried"
in_queue=$(lab_pool_ids --queued 2 | sort -u | wc -l)
in_queue=$((in_queue - $(lab_pool_ids 2 | sort -u | wc -l)))
say "mx1 stored:" "$(stored 1) messages"
say "mx2 stored:" "$(stored 2) messages, and $in_queue more in its queue (accepted before it died)"
cmd "sluicectl pool"
lab_sluicectl pool 2>&1 | sed 's/^/     /' || true

hr "3. mx2 comes back; its queued mail is delivered"
lab_pool_revive 2
is_up() { ! lab_sluicectl pool --json | grep -q '"state": "down"'; }
waited "mx2 to be put back" lab_wait_for 20 "mx2 to be put back" is_up
waited "mx2 to deliver its queue" lab_wait_for 60 "mx2's queue to empty" lab_postfix_queue_empty mx2
total=$(lab_pool_ids 1 2 | uniq | wc -l)
twice=$(lab_pool_ids 1 2 | uniq -d | wc -l)
say "mx1 stored:" "$(stored 1) messages"
say "mx2 stored:" "$(stored 2) messages"
if [ "$total" = 300 ]; then
	say "" "all 300 messages stored, no mail lost ($twice stored twice: mx2 died before its 250 reached the relay)"
else
	say "(!)" "$total of 300 messages stored"
	incomplete+=("mail lost")
fi
cmd "grep pool.health audit.jsonl   (sluice-control's audit log)"
grep '"pool.health"' "$LAB_CONTROL_STATE/audit.jsonl" | "$LAB_PYTHON" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print("     %s  %s %s -> %s (%s)" % (e["time"], e["host"], e["from"], e["to"], e["reason"]))' || true
echo
if [ ${#incomplete[@]} -gt 0 ]; then
	log "incomplete: $(IFS=,; echo "${incomplete[*]}"); tearing the lab down"
	exit 1
fi
log "done; tearing the lab down"
