# tests/lab/control.sh — sluice-control in the lab (docs/control.md). Source it after
# lab.sh. The control runs in the dataplane namespace (or $LAB_CONTROL_NS; with
# $LAB_CONTROL_EXTRA_CONF appended to its configuration) (its metrics on that namespace's
# loopback, so parallel labs never share a port); dataplanes it manages listen on
# $LAB_DIR/NAME.sock and log events to $LAB_DIR/NAME.eve.json.

LAB_CONTROL_BIN=${LAB_CONTROL_BIN:-$SLUICE_BUILD_ROOT/control/sluice-control}
LAB_SLUICECTL=${LAB_SLUICECTL:-$SLUICE_BUILD_ROOT/control/sluicectl}
LAB_CONTROL_METRICS=127.0.0.1:9469

# lab_control_start NAME...: sluice-control managing the dataplanes NAME... (a key pair
# made with `sluice-control keygen`); waits for its socket.
lab_control_start() {
	LAB_CONTROL_DIR=$LAB_DIR/control
	LAB_CONTROL_SOCK=$LAB_CONTROL_DIR/control.sock
	LAB_CONTROL_STATE=$LAB_CONTROL_DIR/state
	LAB_CONTROL_CONF=$LAB_CONTROL_DIR/control.conf
	mkdir -p "$LAB_CONTROL_DIR"
	{
		echo "[control]"
		echo "state = $LAB_CONTROL_STATE"
		echo "socket = $LAB_CONTROL_SOCK"
		echo "private_key = $LAB_CONTROL_DIR/control.key"
		echo "push_timeout = ${LAB_CONTROL_PUSH_TIMEOUT:-20s}"
		echo "reconnect = 300ms"
		echo "heartbeat = 500ms"
		echo "[metrics]"
		echo "listen = $LAB_CONTROL_METRICS"
		local name
		for name in "$@"; do
			echo "[dataplane $name]"
			echo "socket = $LAB_DIR/$name.sock"
		done
		# more sections ([pool] health checks: pool.sh)
		[ -n "${LAB_CONTROL_EXTRA_CONF:-}" ] && cat "$LAB_CONTROL_EXTRA_CONF"
	} >"$LAB_CONTROL_CONF"
	"$LAB_CONTROL_BIN" keygen -c "$LAB_CONTROL_CONF" >/dev/null || lab_fail "sluice-control keygen"
	lab_spawn control "${LAB_CONTROL_NS:-$LAB_NS_D}" "$LAB_CONTROL_BIN" -c "$LAB_CONTROL_CONF"
	lab_wait_for 20 "sluice-control's socket" test -S "$LAB_CONTROL_SOCK" ||
		lab_fail "sluice-control did not start: $(cat "$LAB_DIR/control.log")"
}

lab_sluicectl() { "$LAB_SLUICECTL" --socket "$LAB_CONTROL_SOCK" "$@"; }

# lab_managed_dp NAME: the sluice-dp settings (KEY=VALUE) of a dataplane the lab's control
# manages: its control socket, the control's public key (only bundles it signed load),
# its event log, and the bundle the control keeps current for it as its rules at start.
lab_managed_dp() {
	echo "control.socket=$LAB_DIR/$1.sock" "control.name=$1" \
		"control.public_key=$LAB_CONTROL_DIR/control.pub" "events.file=$LAB_DIR/$1.eve.json" \
		"policy.rules=$LAB_CONTROL_STATE/current/$1.bundle"
}

# lab_dp_running NAME VERSION: sluicectl status says NAME is up and runs VERSION.
lab_dp_running() {
	lab_sluicectl status --json 2>/dev/null | "$LAB_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
d = [d for d in s["dataplanes"] if d["name"] == sys.argv[1]][0]
ok = d["up"] and (d["hello"]["bundle"] or {}).get("id") == int(sys.argv[2])
sys.exit(0 if ok else 1)' "$1" "$2"
}

# lab_expect_running NAME VERSION [SECONDS]
lab_expect_running() {
	lab_wait_for "${3:-20}" "$1 to run version $2" lab_dp_running "$1" "$2" ||
		lab_fail "$1 does not run version $2: $(lab_sluicectl status 2>&1)"
}

# lab_second_dataplane_start NAME [KEY=VALUE...]: one more sluice-dp in the dataplane
# namespace, on lcore 1 and an idle veth pair of its own (a dataplane to manage, not a
# path for mail). Its PID is LAB_PID_NAME; lab_second_dataplane_stop NAME ends it.
lab_second_dataplane_start() {
	local name=$1 a=x$LAB_ID b=y$LAB_ID
	shift
	if ! ip -n "$LAB_NS_D" link show "$a" >/dev/null 2>&1; then
		ip -n "$LAB_NS_D" link add "$a" type veth peer name "$b" || lab_fail "veth $a/$b"
		ip -n "$LAB_NS_D" link set "$a" up && ip -n "$LAB_NS_D" link set "$b" up
	fi
	mkdir -p "$LAB_DIR/journal-$name"
	lab_dp_write_conf "$LAB_DIR/$name.conf" "smtp.ports=25" "dataplane.mode=enforce" \
		"journal.dir=$LAB_DIR/journal-$name" "$@"
	lab_spawn "$name" "$LAB_NS_D" "$SLUICE_BUILD_ROOT/dataplane/sluice-dp" -l 1 --no-pci --no-huge -m 256 \
		--file-prefix "sl${LAB_ID}$name" --log-level=lib.eal:warning \
		--vdev "net_af_packet0,iface=$a" --vdev "net_af_packet1,iface=$b" -- --config "$LAB_DIR/$name.conf"
	echo "sl${LAB_ID}$name" >>"$LAB_DIR/dpdk-prefixes" # lab_down removes its runtime dir
}

lab_second_dataplane_stop() {
	local var=LAB_PID_$1 pid
	pid=${!var:-}
	[ -n "$pid" ] || return 0
	_lab_our_child "$pid" && kill -TERM "$pid" 2>/dev/null
	local deadline=$((SECONDS + 10))
	while _lab_our_child "$pid" && [ $SECONDS -lt $deadline ] &&
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
		sleep 0.1
	done
	_lab_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "/var/run/dpdk/sl${LAB_ID}$1"
	mv "$LAB_DIR/$1.log" "$LAB_DIR/$1.$pid.log" 2>/dev/null
	printf -v "$var" '%s' ""
}
