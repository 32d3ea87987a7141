# tests/lab/archive.sh — the archive host (sourced by lab.sh): sluice-archive in its own
# namespace, reached by the gateway over a management link and by the mail host over a
# journal link, as in the white paper (an independent host that keeps a copy of every
# message: the gateway's, and the mail host's internal mail that never crosses it).
#
#   dataplane ns  m<ID> 198.51.100.1/24 ───veth─── a<ID> 198.51.100.10  archive ns sla<ID>
#   server ns     j<ID> 203.0.113.2/24  ───veth─── b<ID> 203.0.113.10   journal :4650, SMTP :2525
#
# Start the archive before the dataplane: lab_dataplane_start then points sluice-dp's
# archive sink (docs/dataplane.md, "Journal") at it over the management link. The links
# are mutual TLS (docs/archive.md "Transport"): tools/archive-pki makes the archive's CA
# and the certificates of the archive, the gateway (gw.lab) and the mail host (mx.lab).

LAB_ARCHIVE_GW=198.51.100.1
LAB_ARCHIVE_A=198.51.100.10
LAB_ARCHIVE_HOST=203.0.113.2
LAB_ARCHIVE_B=203.0.113.10
LAB_ARCHIVE_JOURNAL_PORT=4650
LAB_ARCHIVE_SMTP_PORT=2525

lab_archive_exe() { echo "$SLUICE_BUILD_ROOT/archive/sluice-archive"; }

# lab_archive_start: the archive namespace, its two links, and sluice-archive serve.
lab_archive_start() {
	local exe
	exe=$(lab_archive_exe)
	[ -x "$exe" ] || lab_fail "$exe not built"
	LAB_NS_A=sla$LAB_ID
	_lab_netns_add "$LAB_NS_A"
	echo "$LAB_NS_A" >>"$LAB_DIR/namespaces"
	ip -n "$LAB_NS_A" link set lo up
	ip link add "m$LAB_ID" netns "$LAB_NS_D" type veth peer name "a$LAB_ID" netns "$LAB_NS_A" &&
		ip link add "j$LAB_ID" netns "$LAB_NS_S" type veth peer name "b$LAB_ID" netns "$LAB_NS_A" ||
		lab_fail "cannot create the archive's links"
	ip -n "$LAB_NS_D" addr add "$LAB_ARCHIVE_GW/24" dev "m$LAB_ID"
	ip -n "$LAB_NS_A" addr add "$LAB_ARCHIVE_A/24" dev "a$LAB_ID"
	ip -n "$LAB_NS_S" addr add "$LAB_ARCHIVE_HOST/24" dev "j$LAB_ID"
	ip -n "$LAB_NS_A" addr add "$LAB_ARCHIVE_B/24" dev "b$LAB_ID"
	ip -n "$LAB_NS_D" link set "m$LAB_ID" up
	ip -n "$LAB_NS_A" link set "a$LAB_ID" up
	ip -n "$LAB_NS_S" link set "j$LAB_ID" up
	ip -n "$LAB_NS_A" link set "b$LAB_ID" up
	LAB_ARCHIVE_PKI=$LAB_DIR/archive-pki
	"$SLUICE_SOURCE_ROOT/tools/archive-pki" "$LAB_ARCHIVE_PKI" archive.lab gw.lab mx.lab ||
		lab_fail "cannot make the archive's certificates"
	# Postfix's smtp client reads its certificate as the postfix user
	chgrp postfix "$LAB_ARCHIVE_PKI" "$LAB_ARCHIVE_PKI"/mx.lab.* "$LAB_ARCHIVE_PKI/ca.crt" &&
		chmod 750 "$LAB_ARCHIVE_PKI" && chmod 640 "$LAB_ARCHIVE_PKI"/mx.lab.* "$LAB_ARCHIVE_PKI/ca.crt"
	export SLUICE_ARCHIVE_KEY=$LAB_DIR/archive.key
	[ -f "$SLUICE_ARCHIVE_KEY" ] || "$exe" keygen "$SLUICE_ARCHIVE_KEY" >/dev/null ||
		lab_fail "cannot make the archive's key file"
	LAB_ARCHIVE_DATA=$LAB_DIR/archive
	lab_archive_serve
}

# lab_archive_serve: (re)start sluice-archive serve in the archive namespace.
lab_archive_serve() {
	lab_spawn archive "$LAB_NS_A" "$(lab_archive_exe)" serve --data "$LAB_ARCHIVE_DATA" \
		--tls-cert "$LAB_ARCHIVE_PKI/archive.lab.crt" --tls-key "$LAB_ARCHIVE_PKI/archive.lab.key" \
		--tls-ca "$LAB_ARCHIVE_PKI/ca.crt" \
		--journal-listen "$LAB_ARCHIVE_A:$LAB_ARCHIVE_JOURNAL_PORT" --journal-allow gw.lab \
		--smtp-listen "$LAB_ARCHIVE_B:$LAB_ARCHIVE_SMTP_PORT" --smtp-allow mx.lab \
		--smtp-source mx.example.net --smtp-direction internal
	lab_wait_for 30 "sluice-archive to listen" grep -q "listening smtp" "$LAB_DIR/archive.log" ||
		lab_fail "sluice-archive did not start"
}

# lab_archive_stop: stop sluice-archive serve (SIGTERM, as an operator would): an outage.
lab_archive_stop() {
	local pid=${LAB_PID_archive:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	LAB_PID_archive=
}

# lab_archive_copies: how many copies the archive holds (stats --json).
lab_archive_copies() {
	lab_archive stats --json 2>/dev/null |
		"$LAB_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["copies"])'
}

# lab_archive_index_lag: copies the archive holds but has not indexed yet (stats --json;
# the indexer follows the acknowledgement within about a second, docs/archive.md).
lab_archive_index_lag() {
	lab_archive stats --json 2>/dev/null |
		"$LAB_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["index_lag_copies"])'
}

# lab_archive_wait_all SECONDS: wait until the archive holds every copy handed to it:
# each message sluice-dp journaled (telemetry journal_ok; its sink delivers them from
# the spool) and each copy the mail host's Postfix delivered to it (always_bcc:
# status=sent to the archive's SMTP listener, which answers 250 only once durable),
# and has indexed them (searches find them).
lab_archive_wait_all() {
	local deadline=$((SECONDS + $1)) gw host have
	while :; do
		gw=$(lab_telemetry /sluice/messages | "$LAB_PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["/sluice/messages"]["journal_ok"])' 2>/dev/null) || gw=
		host=$(grep -c "relay=$LAB_ARCHIVE_B\[$LAB_ARCHIVE_B\]:$LAB_ARCHIVE_SMTP_PORT.*status=sent" \
			"$(lab_postfix_log server)" 2>/dev/null) || host=0
		have=$(lab_archive_copies) || have=
		if [ -n "$gw" ] && [ -n "$have" ] && [ "$have" -ge $((gw + host)) ] &&
			lab_postfix_queue_empty server && [ "$(lab_archive_index_lag)" = 0 ]; then
			lab_log "archive holds $have copies: $gw from the gateway, $host from the mail host"
			return 0
		fi
		[ $SECONDS -lt $deadline ] || {
			lab_log "archive holds ${have:-?} copies after ${1}s; gateway journaled ${gw:-?}, mail host delivered $host"
			return 1
		}
		sleep 0.3
	done
}

# lab_archive CMD ARGS...: a read-only archive command (search, show, stats) beside the
# running server.
lab_archive() {
	local cmd=$1
	shift
	SLUICE_ARCHIVE_KEY=$LAB_DIR/archive.key "$(lab_archive_exe)" "$cmd" --data "$LAB_ARCHIVE_DATA" "$@"
}
