# tests/lab/lab.sh — the Sluice lab: a client host, the dataplane and a server host in
# network namespaces, joined by two veth pairs. Source it; it defines functions only.
#
#   client ns            dataplane ns                     server ns
#   [c$ID] ───veth─── [o$ID] (outside)  [i$ID] (inside) ───veth─── [s$ID]
#   192.0.2.1                 sluice-dp / testpmd                  192.0.2.2
#   2001:db8::1               af_packet vdevs                      2001:db8::2
#
# The dataplane namespace has no addresses: the bridge is a bump in the wire. Names carry
# the creating shell's PID (plus a counter) so labs of parallel test runs never collide,
# and every interface is created inside its namespace, never in the host's.
#
# Usage:  . tests/lab/lab.sh; lab_up; lab_bridge_start [testpmd|sluice-dp]; ...
# lab_up installs an EXIT trap that calls lab_down: it kills the processes the lab started
# (by PID), everything left inside the lab's own namespaces, and deletes the namespaces.

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLUICE_SOURCE_ROOT=${SLUICE_SOURCE_ROOT:-$(cd "$LAB_SRC/../.." && pwd)}
SLUICE_BUILD_ROOT=${SLUICE_BUILD_ROOT:-$SLUICE_SOURCE_ROOT/build}
LAB_PYTHON=/usr/bin/python3

# Addresses: documentation ranges only (RFC 5737, RFC 3849).
LAB_C4=192.0.2.1
LAB_S4=192.0.2.2
LAB_X4=192.0.2.3 # crafted-packet host on the client side (no kernel TCP behind it)
LAB_C6=2001:db8::1
LAB_S6=2001:db8::2
LAB_X6=2001:db8::3
LAB_CRAFT_MAC=02:00:5e:00:53:03 # locally administered; the crafted host's MAC

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_fail() {
	printf '[lab] FAIL: %s\n' "$*" >&2
	lab_diagnostics >&2
	exit 1
}

# Run a command inside one of the lab's hosts.
lab_c() { ip netns exec "$LAB_NS_C" "$@"; }
lab_s() { ip netns exec "$LAB_NS_S" "$@"; }
lab_d() { ip netns exec "$LAB_NS_D" "$@"; }

# lab_spawn NAME NS CMD...: start CMD in the background inside namespace NS, output to
# $LAB_DIR/NAME.log; its PID is remembered for teardown and stored in LAB_PID_<NAME>.
lab_spawn() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$LAB_DIR/$name.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid $name" >>"$LAB_DIR/pids"
	printf -v "LAB_PID_${name//[^A-Za-z0-9_]/_}" '%s' "$pid"
}

# lab_wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
lab_wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { lab_log "timed out after ${secs}s waiting for $what"; return 1; }
		sleep 0.2
	done
}

# lab_wait_listen ADDR PORT WHAT: wait until WHAT accepts TCP connections on ADDR:PORT
# (from the client host, so through the bridge for the server's addresses).
lab_wait_listen() {
	lab_wait_for 20 "$3 to listen" lab_c bash -c "exec 3<>/dev/tcp/$1/$2" ||
		lab_fail "$3 does not answer on $1:$2"
}

_lab_veth() { # _lab_veth NS_A IF_A NS_B IF_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" ||
		lab_fail "cannot create veth $2/$4"
	local pair
	for pair in "$1 $2" "$3 $4"; do
		set -- $pair
		# af_packet reads frames as the kernel hands them over: no TSO/GSO super-frames,
		# no deferred checksums, or the dataplane would see (and forward) what no wire carries.
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
			lab_fail "ethtool -K $2 failed"
		ip -n "$1" link set "$2" up
	done
}

LAB_SEQ=${LAB_SEQ:-0}

# _lab_netns_add NAME: create namespace NAME. One left by a lab that was killed outright
# (same PID, long ago) is removed first when no process is inside it.
_lab_netns_add() {
	if ip netns list | grep -qw "^$1"; then
		[ -z "$(ip netns pids "$1" 2>/dev/null)" ] && ip netns del "$1" 2>/dev/null
	fi
	ip netns add "$1" || lab_fail "cannot create namespace $1"
}

# Labs on record: /run/sluice-lab/ID holds the creating shell's PID and start time, the
# work dir and the namespaces. A lab whose creator died without tearing down (SIGKILL
# after a test timeout) is reaped by the next lab_up: everything inside its namespaces
# is killed (DPDK bridges, Postfix, sinks live only there) and the namespaces deleted.
LAB_REGISTRY=/run/sluice-lab

_lab_start_time() { # _lab_start_time PID: field 22 of /proc/PID/stat
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# Where labs keep their work directories: a tmpfs (/dev/shm) when there is one, because
# Postfix queues, maildirs and sinks write tens of thousands of small files per test and
# an ext4 with online discard (this VM's /) took minutes to create and delete them
# (lab-pool: 2 of its 4 minutes in the final rm -rf). LAB_TMPDIR overrides; else
# ${TMPDIR:-/tmp}.
_lab_tmp_root() {
	if [ -n "${LAB_TMPDIR:-}" ]; then
		echo "$LAB_TMPDIR"
	elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ] &&
		[ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)" -gt 2097152 ] 2>/dev/null; then
		echo /dev/shm
	else
		echo "${TMPDIR:-/tmp}"
	fi
}

_lab_reap_stale() {
	local rec pid start dir ns
	for rec in "$LAB_REGISTRY"/*; do
		[ -f "$rec" ] || continue
		read -r pid start dir ns <"$rec" || continue
		[ "$(_lab_start_time "$pid")" = "$start" ] && continue # its creator still runs
		lab_log "reaping stale lab ${rec##*/} (creator $pid is gone)"
		for ns in $ns; do
			local pids
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		done
		rm -rf "/var/run/dpdk/sl${rec##*/}"
		case $dir in "$(_lab_tmp_root)"/sluice-lab.* | "${TMPDIR:-/tmp}"/sluice-lab.*) rm -rf "$dir" ;; esac
		rm -f "$rec"
	done
}

lab_up() {
	[ "$(id -u)" = 0 ] || { echo "the lab needs root" >&2; exit 77; }
	mkdir -p "$LAB_REGISTRY"
	_lab_reap_stale
	LAB_SEQ=$((LAB_SEQ + 1))
	LAB_ID=${LAB_ID_BASE:-$$}$LAB_SEQ
	[ ${#LAB_ID} -le 12 ] || LAB_ID=${LAB_ID: -12}
	LAB_NS_C=slc$LAB_ID LAB_NS_D=sld$LAB_ID LAB_NS_S=sls$LAB_ID
	LAB_IF_C=c$LAB_ID LAB_IF_OUT=o$LAB_ID LAB_IF_IN=i$LAB_ID LAB_IF_S=s$LAB_ID
	LAB_DIR=$(mktemp -d "$(_lab_tmp_root)/sluice-lab.$LAB_ID.XXXXXX")
	chmod 755 "$LAB_DIR"
	: >"$LAB_DIR/pids"
	trap lab_down EXIT
	trap 'exit 130' INT TERM HUP

	echo "$$ $(_lab_start_time $$) $LAB_DIR $LAB_NS_C $LAB_NS_D $LAB_NS_S" >"$LAB_REGISTRY/$LAB_ID"
	local ns
	for ns in "$LAB_NS_C" "$LAB_NS_D" "$LAB_NS_S"; do
		_lab_netns_add "$ns"
		echo "$ns" >>"$LAB_DIR/namespaces"
		ip -n "$ns" link set lo up
	done
	# The dataplane host has no IP of its own: keep its kernel quiet on the wire.
	lab_d sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	_lab_veth "$LAB_NS_C" "$LAB_IF_C" "$LAB_NS_D" "$LAB_IF_OUT"
	_lab_veth "$LAB_NS_S" "$LAB_IF_S" "$LAB_NS_D" "$LAB_IF_IN"

	ip -n "$LAB_NS_C" addr add "$LAB_C4/24" dev "$LAB_IF_C"
	ip -n "$LAB_NS_C" addr add "$LAB_C6/64" dev "$LAB_IF_C" nodad
	ip -n "$LAB_NS_S" addr add "$LAB_S4/24" dev "$LAB_IF_S"
	ip -n "$LAB_NS_S" addr add "$LAB_S6/64" dev "$LAB_IF_S" nodad
	# The crafted-packet host: the server reaches it at a fixed MAC, and the client's
	# kernel ignores frames for that MAC, so its TCP stack never answers crafted flows.
	ip -n "$LAB_NS_S" neigh replace "$LAB_X4" lladdr "$LAB_CRAFT_MAC" dev "$LAB_IF_S" nud permanent
	ip -n "$LAB_NS_S" neigh replace "$LAB_X6" lladdr "$LAB_CRAFT_MAC" dev "$LAB_IF_S" nud permanent
	LAB_MAC_S=$(lab_s cat "/sys/class/net/$LAB_IF_S/address")
	LAB_MAC_C=$(lab_c cat "/sys/class/net/$LAB_IF_C/address")
	lab_log "lab $LAB_ID up: namespaces $LAB_NS_C $LAB_NS_D $LAB_NS_S, work dir $LAB_DIR"
}

# _lab_our_child PID: PID is still a (not yet reaped) child of this shell, so killing it
# cannot hit a process that merely reused the number.
_lab_our_child() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	[ "$2" = "$$" ]
}

# Kill what the lab started, then anything still inside its namespaces (only its own
# children live there), then the namespaces. Safe to call twice.
lab_down() {
	local rc=$?
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return $rc
	trap - EXIT
	set +e # a caller's errexit must not stop the teardown half-way
	type lab_postfix_stop_all >/dev/null 2>&1 && lab_postfix_stop_all
	local pid name
	if [ -s "$LAB_DIR/pids" ]; then
		while read -r pid name; do
			_lab_our_child "$pid" && kill -TERM "$pid" 2>/dev/null
		done <"$LAB_DIR/pids"
		local deadline=$((SECONDS + 5))
		while read -r pid name; do
			while _lab_our_child "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
			_lab_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
		done <"$LAB_DIR/pids"
	fi
	local ns pids
	if [ -f "$LAB_DIR/namespaces" ]; then
		while read -r ns; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		done <"$LAB_DIR/namespaces"
	fi
	wait 2>/dev/null
	rm -f "$LAB_REGISTRY/$LAB_ID"
	# The DPDK runtime directory of the lab's bridge (its own --file-prefix), and of any
	# other DPDK process the lab started (listed in dpdk-prefixes).
	[ -n "${LAB_DPDK_PREFIX:-}" ] && rm -rf "/var/run/dpdk/$LAB_DPDK_PREFIX"
	local prefix
	[ -f "$LAB_DIR/dpdk-prefixes" ] && while read -r prefix; do
		[ -n "$prefix" ] && rm -rf "/var/run/dpdk/$prefix"
	done <"$LAB_DIR/dpdk-prefixes"
	if [ "${LAB_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ "${LAB_KEEP_ON_FAIL:-0}" = 1 ]; }; then
		lab_log "kept $LAB_DIR"
	else
		rm -rf "$LAB_DIR"
	fi
	LAB_DIR=
	return $rc
}

# Print what helps when a lab test fails: the bridge's log, the peers' logs, counters.
lab_diagnostics() {
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	echo "---- lab $LAB_ID diagnostics ($LAB_DIR)"
	local f
	for f in "$LAB_DIR"/*.log "$LAB_DIR"/*/maillog; do
		[ -f "$f" ] || continue
		echo "---- ${f#$LAB_DIR/} (last 25 lines)"
		tail -25 "$f"
	done
	echo "---- interfaces"
	ip -n "$LAB_NS_C" -s link show "$LAB_IF_C" 2>/dev/null
	ip -n "$LAB_NS_S" -s link show "$LAB_IF_S" 2>/dev/null
}

. "$LAB_SRC/bridge.sh"
. "$LAB_SRC/postfix.sh"
. "$LAB_SRC/mail.sh"
. "$LAB_SRC/archive.sh"
. "$LAB_SRC/pool.sh"
