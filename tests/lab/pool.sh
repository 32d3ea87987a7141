# tests/lab/pool.sh — the mail-host pool in the lab (docs/pool.md; sourced by lab.sh).
# The server namespace becomes the inside switch: its veth and a veth to each pool host
# join a Linux bridge that keeps the server's own addresses, so the rest of the lab works
# as before. The hosts run Postfix in namespaces of their own; clients reach them at the
# service address, which only sluice-dp answers for.
#
#   client ── sluice-dp ── [switch: sls$ID, 192.0.2.2] ─┬─ mx1 192.0.2.11 2001:db8::11
#                                                      ├─ mx2 192.0.2.12 2001:db8::12
#                                                      └─ mx3 ...
#
#   lab_pool_hosts N          N hosts (N <= 9), each with Postfix (lab_postfix_mailhost)
#   lab_pool_conf W1 W2 ...   write $LAB_DP_EXTRA_CONF: [pool] at the service address and
#                             the first hosts with those weights (lab_dataplane_start
#                             appends it)
#   lab_pool_maildir N        host N's maildir
#   lab_pool_one_source       sluice-dp settings: no per-source limits (the lab's one client
#                             address stands for many senders; docs/protection.md)
#   lab_pool_count N          messages stored on host N
#   lab_dpctl JSON            one request on sluice-dp's control socket (peers/dpctl.py)
#   lab_pool_ids [--queued] N...  the Message-Ids stored on hosts N (sorted, one line per
#                             copy); --queued: also those in their queues
#   lab_pool_kill N           host N fails: every process in it killed, its link down
#   lab_pool_revive N         its link up and its Postfix started again (on its queue)

LAB_POOL4=192.0.2.25
LAB_POOL6=2001:db8::25

lab_pool_addr4() { echo "192.0.2.1$1"; }
lab_pool_addr6() { echo "2001:db8::1$1"; }

lab_pool_hosts() {
	local n=$1 i ns
	[ "$n" -ge 1 ] && [ "$n" -le 9 ] || lab_fail "lab_pool_hosts: 1 to 9 hosts"
	# the switch, with the server's addresses moved onto it
	ip -n "$LAB_NS_S" link add sw0 type bridge || lab_fail "cannot create the switch"
	ip -n "$LAB_NS_S" link set sw0 type bridge stp_state 0 forward_delay 0
	ip -n "$LAB_NS_S" addr flush dev "$LAB_IF_S"
	ip -n "$LAB_NS_S" link set "$LAB_IF_S" master sw0
	ip -n "$LAB_NS_S" addr add "$LAB_S4/24" dev sw0
	ip -n "$LAB_NS_S" addr add "$LAB_S6/64" dev sw0 nodad
	ip -n "$LAB_NS_S" link set sw0 up
	for i in $(seq 1 "$n"); do
		ns=slp$i$LAB_ID
		_lab_netns_add "$ns"
		echo "$ns" >>"$LAB_DIR/namespaces"
		sed -i "s/\$/ $ns/" "$LAB_REGISTRY/$LAB_ID" # reaped with the lab if its creator dies
		ip -n "$ns" link set lo up
		# its IPv6 address survives lab_pool_kill's link down (Postfix binds to it)
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
		_lab_veth "$ns" "p$i$LAB_ID" "$LAB_NS_S" "q$i$LAB_ID"
		ip -n "$LAB_NS_S" link set "q$i$LAB_ID" master sw0
		ip -n "$ns" addr add "$(lab_pool_addr4 "$i")/24" dev "p$i$LAB_ID"
		ip -n "$ns" addr add "$(lab_pool_addr6 "$i")/64" dev "p$i$LAB_ID" nodad
		printf -v "LAB_NS_P$i" '%s' "$ns"
	done
	LAB_POOL_N=$n
}

# Postfix on every host (after the bridge runs: the client checks each through it).
lab_pool_postfix() {
	local i
	for i in $(seq 1 "$LAB_POOL_N"); do
		lab_postfix_mailhost "mx$i" "slp$i$LAB_ID" "$(lab_pool_addr4 "$i")" "$(lab_pool_addr6 "$i")" \
			"mx$i.example.net"
	done
}

lab_pool_conf() {
	LAB_DP_EXTRA_CONF=$LAB_DIR/pool.conf
	LAB_DP_SOCKET=$LAB_DIR/dp.sock
	{
		printf '[pool]\naddress = %s, %s\nports = 25\n' "$LAB_POOL4" "$LAB_POOL6"
		local i=1 w
		for w in "$@"; do
			printf '[pool-host mx%s]\naddress = %s, %s\nweight = %s\n' "$i" "$(lab_pool_addr4 "$i")" \
				"$(lab_pool_addr6 "$i")" "$w"
			i=$((i + 1))
		done
	} >"$LAB_DP_EXTRA_CONF"
}

lab_pool_one_source() {
	local kind
	for kind in connections sessions messages recipients bytes; do
		echo "protect.host_$kind=0 protect.net_$kind=0"
	done
}

lab_pool_maildir() { echo "$LAB_DIR/pf-mx$1/mail/inbox"; }

lab_pool_count() { find "$(lab_pool_maildir "$1")/new" "$(lab_pool_maildir "$1")/cur" -type f | wc -l; }

lab_dpctl() { "$LAB_PYTHON" "$LAB_PEERS/dpctl.py" "$LAB_DP_SOCKET" raw "$1"; }

lab_pool_kill() {
	local ns=slp$1$LAB_ID pids n
	for n in 1 2 3 4 5 6 7 8 9 10; do # Postfix's master may fork while it is killed
		pids=$(ip netns pids "$ns")
		[ -n "$pids" ] || break
		kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	[ -z "$(ip netns pids "$ns")" ] || lab_fail "mx$1 does not die"
	ip -n "$ns" link set "p$1$LAB_ID" down
}

lab_pool_revive() {
	local ns=slp$1$LAB_ID dir=$LAB_DIR/pf-mx$1
	ip -n "$ns" link set "p$1$LAB_ID" up
	rm -f "$dir/spool/pid/master.pid"
	# (master -w reports a failure after a kill -9 of its predecessor although it starts;
	# whether it serves is what counts)
	ip netns exec "$ns" /usr/lib/postfix/sbin/master -c "$dir/etc" -w >>"$dir/start.log" 2>&1
	lab_wait_listen "$(lab_pool_addr4 "$1")" 25 "mx$1's Postfix"
}

# Only complete queue files count (lab_postfix_queue_empty): an incomplete one was never
# answered 250. Queue files are records, not lines: the header is found anywhere in them.
lab_pool_ids() {
	local queued=0 i dirs=()
	[ "$1" = --queued ] && { queued=1; shift; }
	for i in "$@"; do
		dirs+=("$(lab_pool_maildir "$i")/new" "$(lab_pool_maildir "$i")/cur")
		[ $queued = 1 ] && dirs+=($(find "$LAB_DIR/pf-mx$i/spool"/{incoming,active,deferred,hold} -type f -perm -u+x 2>/dev/null))
	done
	grep -rhaoi 'Message-Id: *<[^>]*>' "${dirs[@]}" /dev/null 2>/dev/null | tr 'A-Z' 'a-z' | sort
}
