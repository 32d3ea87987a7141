# tests/lab/archive.sh — the archive host (sourced by lab.sh): sluice-archive in its own
# namespace, reached by the gateway over a management link and by the mail host over a
# journal link, as in the white paper (an independent host that keeps a copy of every
# message: the gateway's, and the mail host's internal mail that never crosses it).
#
#   dataplane ns  m<ID> 198.51.100.1/24 ───veth─── a<ID> 198.51.100.10  archive ns sla<ID>
#   server ns     j<ID> 203.0.113.2/24  ───veth─── b<ID> 203.0.113.10   journal :4650, SMTP :2525
#
# sluice-dp writes its journal to a directory (docs/dataplane.md, "Journal"; an archive
# sink inside sluice-dp is not built): lab_archive_forward hands each record to the
# archive with `sluice-archive journal-send` from the dataplane host, through a spool.

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
	LAB_ARCHIVE_DATA=$LAB_DIR/archive
	lab_spawn archive "$LAB_NS_A" "$exe" serve --data "$LAB_ARCHIVE_DATA" \
		--journal-listen "$LAB_ARCHIVE_A:$LAB_ARCHIVE_JOURNAL_PORT" \
		--smtp-listen "$LAB_ARCHIVE_B:$LAB_ARCHIVE_SMTP_PORT" \
		--smtp-source mx.example.net --smtp-direction internal
	lab_wait_for 30 "sluice-archive to listen" grep -q "listening smtp" "$LAB_DIR/archive.log" ||
		lab_fail "sluice-archive did not start"
}

# lab_archive_forward: every gateway journal record not forwarded yet goes to the archive
# (journal-send from the dataplane host, spooled); waits for the archive's ACKs.
lab_archive_forward() {
	ip netns exec "$LAB_NS_D" "$LAB_PYTHON" "$LAB_PEERS/journal_forward.py" \
		"$LAB_DIR/journal" "$LAB_ARCHIVE_A:$LAB_ARCHIVE_JOURNAL_PORT" "$(lab_archive_exe)" \
		"$LAB_DIR/journal-spool" || lab_fail "forwarding the gateway's journal failed"
}

# lab_archive CMD ARGS...: a read-only archive command (search, show, stats) beside the
# running server.
lab_archive() {
	local cmd=$1
	shift
	"$(lab_archive_exe)" "$cmd" --data "$LAB_ARCHIVE_DATA" "$@"
}
