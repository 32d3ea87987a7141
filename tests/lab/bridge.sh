# tests/lab/bridge.sh — what sits between the two veth pairs (sourced by lab.sh).
#   sluice-dp  the Sluice dataplane (the thing under test)
#   testpmd    DPDK's dpdk-testpmd in io-forward mode: a plain DPDK bridge that inspects
#              nothing. Tests use it as the control: what the lab's peers do with no Sluice
#              in the path (e.g. that the server really is vulnerable to smuggling).
# Both run in the dataplane namespace on af_packet vdevs bound to the o$ID/i$ID veths, with
# their own --file-prefix, so parallel labs share no DPDK runtime state.

lab_eal_args() { # lab_eal_args PREFIX LCORES: the EAL options of a lab bridge
	local prefix=$1 lcores=$2 opt=-l
	case $lcores in *@*) opt=--lcores ;; esac # lcores mapped onto fewer CPUs
	echo "$opt $lcores --no-pci --no-huge -m 512 --file-prefix $prefix --log-level=lib.eal:warning" \
		"--vdev net_af_packet0,iface=$LAB_IF_OUT" \
		"--vdev net_af_packet1,iface=$LAB_IF_IN"
}

# lab_bridge_start KIND [ARGS...]: start the bridge and wait until the client reaches the
# server through it (IPv4 and IPv6). Extra ARGS go to sluice-dp after its EAL options.
lab_bridge_start() {
	local kind=${1:-sluice-dp}
	shift || true
	LAB_BRIDGE=$kind
	LAB_DPDK_PREFIX=sl$LAB_ID
	case $kind in
	testpmd)
		# --stats-period keeps testpmd running without a terminal (it exits on EOF
		# of stdin otherwise).
		lab_spawn bridge "$LAB_NS_D" dpdk-testpmd $(lab_eal_args "$LAB_DPDK_PREFIX" 0-1) -- \
			--forward-mode=io --auto-start --total-num-mbufs=8192 --stats-period 3600
		;;
	sluice-dp)
		local dp=$SLUICE_BUILD_ROOT/dataplane/sluice-dp
		[ -x "$dp" ] || lab_fail "$dp not built"
		# one worker on the main lcore (docs/dataplane.md), unless LAB_DP_LCORES says
		# otherwise (e.g. '(0-2)@(0-1)': a distributor and two workers on two CPUs)
		lab_spawn bridge "$LAB_NS_D" "$dp" $(lab_eal_args "$LAB_DPDK_PREFIX" "${LAB_DP_LCORES:-0}") -- "$@"
		;;
	*) lab_fail "unknown bridge '$kind'" ;;
	esac
	local deadline=$((SECONDS + 30))
	until _lab_path_up >/dev/null 2>&1; do
		lab_bridge_alive || lab_fail "$kind exited at start"
		[ $SECONDS -lt $deadline ] || lab_fail "the client cannot reach the server through $kind"
		sleep 0.2
	done
	lab_log "bridge $kind forwarding (pid $LAB_PID_bridge)"
}

_lab_path_up() {
	lab_c ping -c1 -W1 -q "$LAB_S4" && lab_c ping -6 -c1 -W1 -q "$LAB_S6"
}

# The shipped policy (docs/examples/policy.rules, by the policy engineer).
LAB_POLICY=$SLUICE_SOURCE_ROOT/docs/examples/policy.rules

# lab_dataplane_start [KEY=VALUE...] [-- SLUICE-DP OPTIONS...]: sluice-dp with the lab's
# configuration file ($LAB_DIR/sluice-dp.conf). KEY=VALUE pairs (section.key=value, e.g.
# smtp.starttls=strip) override its settings. The journal goes to the archive host when
# it runs (lab_archive_start first: sluice-dp's archive sink, spooled in
# $LAB_DIR/journal-spool), to the directory $LAB_DIR/journal otherwise. The file
# $LAB_DP_EXTRA_CONF, when set, is appended to the configuration.
lab_dataplane_start() {
	local -A set=([smtp.ports]="25, 587, 2525")
	if [ -n "${LAB_ARCHIVE_DATA:-}" ]; then
		set[journal.archive]=$LAB_ARCHIVE_A:$LAB_ARCHIVE_JOURNAL_PORT
		set[journal.spool]=$LAB_DIR/journal-spool
		set[journal.tls_ca]=$LAB_ARCHIVE_PKI/ca.crt
		set[journal.tls_cert]=$LAB_ARCHIVE_PKI/gw.lab.crt
		set[journal.tls_key]=$LAB_ARCHIVE_PKI/gw.lab.key
		set[journal.tls_name]=archive.lab
	else
		set[journal.dir]=$LAB_DIR/journal
	fi
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		set[${1%%=*}]=${1#*=}
		shift
	done
	[ "${1:-}" = -- ] && shift
	mkdir -p "$LAB_DIR/journal"
	local conf=$LAB_DIR/sluice-dp.conf key
	local pairs=()
	for key in "${!set[@]}"; do pairs+=("$key=${set[$key]}"); done
	lab_dp_write_conf "$conf" "${pairs[@]}"
	# sections the KEY=VALUE form cannot name ([pool-host NAME], pool.sh)
	[ -n "${LAB_DP_EXTRA_CONF:-}" ] && cat "$LAB_DP_EXTRA_CONF" >>"$conf"
	LAB_DP_CONF=$conf
	LAB_DP_STATS=$LAB_DIR/stats.json
	rm -f "$LAB_DP_STATS"
	lab_bridge_start sluice-dp --config "$conf" --stats-file "$LAB_DP_STATS" "$@"
}

# lab_dp_write_conf FILE SECTION.KEY=VALUE...: a sluice-dp configuration file.
lab_dp_write_conf() {
	local conf=$1 section kv
	shift
	: >"$conf"
	for section in $(printf '%s\n' "$@" | cut -d. -f1 | sort -u); do
		echo "[$section]" >>"$conf"
		for kv in "$@"; do
			[ "${kv%%.*}" = "$section" ] || continue
			kv=${kv#*.}
			echo "${kv%%=*} = ${kv#*=}" >>"$conf"
		done
	done
}

# lab_dp_counter PATH: one of the counters sluice-dp wrote at exit (after lab_bridge_stop),
# e.g. starttls.stripped; see docs/dataplane.md.
lab_dp_counter() { "$LAB_PYTHON" "$LAB_PEERS/stat.py" "$LAB_DP_STATS" "$1"; }

# lab_bridge_stop: stop the bridge (SIGTERM, then SIGKILL after 10 s) so another can start.
lab_bridge_stop() {
	local pid=${LAB_PID_bridge:-}
	[ -n "$pid" ] || return 0
	_lab_our_child "$pid" && kill -TERM "$pid" 2>/dev/null
	local deadline=$((SECONDS + 10))
	while _lab_our_child "$pid" && [ $SECONDS -lt $deadline ]; do
		# a zombie is still our child until waited for
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	_lab_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	mv "$LAB_DIR/bridge.log" "$LAB_DIR/bridge.$pid.log" 2>/dev/null
	LAB_PID_bridge=
}

lab_bridge_alive() {
	[ -n "${LAB_PID_bridge:-}" ] && kill -0 "$LAB_PID_bridge" 2>/dev/null &&
		[ "$(awk '{print $3}' "/proc/$LAB_PID_bridge/stat" 2>/dev/null)" != Z ]
}

# The bridge's DPDK telemetry socket (one per --file-prefix).
lab_telemetry_socket() { echo "/var/run/dpdk/$LAB_DPDK_PREFIX/dpdk_telemetry.v2"; }

# lab_telemetry COMMAND: one telemetry command's JSON reply, through DPDK's own client.
lab_telemetry() {
	# (Debian's python, not the pyenv shim on PATH, which takes seconds to start)
	echo "$1" | timeout 20 "$LAB_PYTHON" /usr/bin/dpdk-telemetry.py -f "$LAB_DPDK_PREFIX" 2>/dev/null
}
