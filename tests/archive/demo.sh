# The archive's part of ./tools/demo (source it after tests/lab/lab.sh; needs the lab up).
#
# archive_demo DATADIR: start sluice-archive in the mail host's namespace, journal every
# message the mail host stored to it (journal protocol, as a mail host's journal would),
# then show that they are searchable: a few searches, one message, the stats.
archive_demo() {
	local data=$1 exe=$SLUICE_BUILD_ROOT/archive/sluice-archive out addr f n=0
	out=$data.out
	ip netns exec "$LAB_NS_S" "$exe" serve --data "$data" --journal-listen 127.0.0.1:0 \
		>"$out" 2>"$data.err" &
	echo $! >>"$LAB_DIR/pids"
	lab_wait_for 10 "sluice-archive to listen" grep -q '^listening journal' "$out" || return 1
	addr=$(awk '/^listening journal/ {print $3}' "$out")
	for f in $(find "$(lab_store)" -type f | sort); do
		ip netns exec "$LAB_NS_S" "$exe" journal-send --to "$addr" --mailhost \
			--source mailhost --direction inbound --verdict pass "$f" >/dev/null && n=$((n + 1))
	done
	printf '   %-14s %s\n' "journaled:" "$n messages the mail host stored, acknowledged once durable"
	local q
	for q in 'source:mailhost' '"quarterly report"' 'has:attachment' 'filename:invoice.exe' \
		'4111 OR 客戶資料' 'from:example.org -has:attachment'; do
		printf '   \033[1msearch %s\033[0m\n' "$q"
		"$exe" search --data "$data" "$q" --limit 10 | awk -F'\t' \
			'{ printf "     #%s  %s  %-24.24s  %-32.32s  %s bytes\n", $1, $2, $3, $5, $7 } END { if (!NR) print "     (none)" }'
	done
	local first
	first=$("$exe" search --data "$data" 'source:mailhost' --limit 1 | cut -f1)
	if [ -n "$first" ]; then
		printf '   \033[1mshow %s\033[0m\n' "$first"
		"$exe" show --data "$data" "$first" | sed -n '1,12p' | sed 's/^/     /'
	fi
	printf '   \033[1mstats\033[0m\n'
	"$exe" stats --data "$data" | sed 's/^/     /'
}
