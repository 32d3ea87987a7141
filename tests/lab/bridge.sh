# tests/lab/bridge.sh — what sits between the two veth pairs (sourced by lab.sh).
#   sluice-dp  the Sluice dataplane (the thing under test)
#   testpmd    DPDK's dpdk-testpmd in io-forward mode: a plain DPDK bridge that inspects
#              nothing. Tests use it as the control: what the lab's peers do with no Sluice
#              in the path (e.g. that the server really is vulnerable to smuggling).
# Both run in the dataplane namespace on af_packet vdevs bound to the o$ID/i$ID veths, with
# their own --file-prefix, so parallel labs share no DPDK runtime state.

lab_eal_args() { # the EAL options of a lab bridge
	local prefix=$1
	echo "-l 0-1 --no-pci --no-huge -m 512 --file-prefix $prefix --log-level=lib.eal:warning" \
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
		lab_spawn bridge "$LAB_NS_D" dpdk-testpmd $(lab_eal_args "$LAB_DPDK_PREFIX") -- \
			--forward-mode=io --auto-start --total-num-mbufs=8192 --stats-period 3600
		;;
	sluice-dp)
		local dp=$SLUICE_BUILD_ROOT/dataplane/sluice-dp
		[ -x "$dp" ] || lab_fail "$dp not built"
		lab_spawn bridge "$LAB_NS_D" "$dp" $(lab_eal_args "$LAB_DPDK_PREFIX") -- "$@"
		;;
	*) lab_fail "unknown bridge '$kind'" ;;
	esac
	lab_wait_for 30 "the bridge ($kind) to forward" _lab_path_up ||
		lab_fail "the client cannot reach the server through $kind"
	lab_log "bridge $kind forwarding (pid $LAB_PID_bridge)"
}

_lab_path_up() {
	kill -0 "$LAB_PID_bridge" 2>/dev/null || return 2
	lab_c ping -c1 -W1 -q "$LAB_S4" && lab_c ping -6 -c1 -W1 -q "$LAB_S6"
}

lab_bridge_alive() { kill -0 "$LAB_PID_bridge" 2>/dev/null; }

# The bridge's DPDK telemetry socket (one per --file-prefix).
lab_telemetry_socket() { echo "/var/run/dpdk/$LAB_DPDK_PREFIX/dpdk_telemetry.v2"; }

# lab_telemetry COMMAND: one telemetry command's JSON reply, through DPDK's own client.
lab_telemetry() {
	echo "$1" | timeout 10 dpdk-telemetry.py -f "$LAB_DPDK_PREFIX" 2>/dev/null
}
