# tests/lab/mail.sh — sending mail in the lab and checking what the server got (sourced
# by lab.sh). The server's store is a maildir ($LAB_MAILDIR/new, Postfix) or an smtp-sink
# dump directory ($LAB_SINKDIR).

LAB_PEERS=$LAB_SRC/peers

# lab_msg KIND ID: write a test message (peers/mkmsg.py) and print its path.
lab_msg() {
	mkdir -p "$LAB_DIR/msg"
	local out=$LAB_DIR/msg/$2.eml
	"$LAB_PYTHON" "$LAB_PEERS/mkmsg.py" "$1" "$2" "$out" || lab_fail "mkmsg.py $1 $2"
	echo "$out"
}

# lab_smtp MODE ARGS...: the Python smtplib client on the client host; its transcript
# (one reply per line, see peers/smtpclient.py) goes to stdout.
lab_smtp() { lab_c "$LAB_PYTHON" "$LAB_PEERS/smtpclient.py" "$@"; }

# lab_swaks ARGS...: swaks on the client host, towards the server unless ARGS say otherwise.
lab_swaks() {
	lab_c swaks --server "$LAB_S4" --timeout 30 --from alice@example.org \
		--to bob@example.net --helo client.example.org "$@"
}

# lab_swaks_data MESSAGE: a copy of MESSAGE for swaks --data @FILE. swaks always ends the data
# with CRLF.CRLF, so the copy lacks the message's final CRLF (the server then gets the
# message's exact bytes).
lab_swaks_data() {
	local out=${1%.eml}.swaks
	head -c -2 "$1" >"$out"
	echo "$out"
}

# lab_sink_start [PORT]: smtp-sink on the server host (port 25 unless PORT) dumping each
# message to $LAB_SINKDIR; it keeps up to 300 sessions at once in one process. With
# Postfix on port 25, a sink on 2525 (an SMTP port sluice-dp inspects too) adds a second
# server to the same lab.
lab_sink_start() {
	local port=${1:-25}
	LAB_SINKDIR=$LAB_DIR/sink
	mkdir -p "$LAB_SINKDIR"
	chown nobody "$LAB_SINKDIR"
	lab_spawn sink "$LAB_NS_S" smtp-sink -u nobody -h mx.example.net -m 300 \
		-d "$LAB_SINKDIR/msg." "$LAB_S4:$port" 512
	lab_wait_listen "$LAB_S4" "$port" smtp-sink
}

# The directory holding the server's received messages: the Postfix server's maildir,
# or smtp-sink's dump directory when the lab has no Postfix server.
lab_store() {
	if [ -n "${LAB_MAILDIR:-}" ]; then echo "$LAB_MAILDIR/new"; else echo "$LAB_SINKDIR"; fi
}

# lab_received ID: the stored files holding message ID (none: empty output).
lab_received() { "$LAB_PYTHON" "$LAB_PEERS/received.py" find "$(lab_store)" "$1"; }

# lab_received_containing TEXT: the stored messages containing TEXT.
lab_received_containing() { "$LAB_PYTHON" "$LAB_PEERS/received.py" grep "$(lab_store)" "$1"; }

# lab_wait_received ID [SECONDS]: wait until message ID is stored; print its file.
lab_wait_received() {
	local id=$1 secs=${2:-30}
	lab_wait_for "$secs" "message $id at the server" _lab_has "$id" || return 1
	lab_received "$id" | head -1
}
_lab_has() { [ -n "$(lab_received "$1")" ]; }

# lab_expect_identical ORIGINAL ID [SECONDS] [HOPS]: the server stored exactly ORIGINAL
# (HOPS=2 for mail that came through the relay, which adds its own Received header).
lab_expect_identical() {
	local f
	f=$(lab_wait_received "$2" "${3:-30}") || lab_fail "message $2 never reached the server"
	[ "$(lab_received "$2" | wc -l)" = 1 ] || lab_fail "message $2 stored more than once"
	"$LAB_PYTHON" "$LAB_PEERS/received.py" compare "$1" "$f" "${4:-1}" ||
		lab_fail "message $2 reached the server altered"
}

# lab_sentinel ID: send a clean message (smtplib) and wait until the server stored it,
# byte for byte: everything the server accepted earlier has been delivered by then.
lab_sentinel() {
	local m
	m=$(lab_msg clean "$1")
	lab_smtp send "$m" >"$LAB_DIR/$1.txt"
	lab_expect_identical "$m" "$1"
}

# lab_expect_absent ID...: none of the messages is stored. Call it after a message the
# server did accept later in time (lab_expect_identical on a sentinel) so that delivery
# of anything accepted earlier has had its chance; the server's queue must be empty too.
lab_expect_absent() {
	local id
	[ -z "${LAB_MAILDIR:-}" ] || lab_wait_for 10 "the server's queue to drain" \
		lab_postfix_queue_empty server || lab_fail "the server's queue does not drain"
	for id in "$@"; do
		[ -z "$(lab_received "$id")" ] || lab_fail "message $id reached the server"
	done
}

# lab_expect_reply TRANSCRIPT STEP CODE_PATTERN [MESSAGE]: the smtpclient transcript has
# a STEP reply (for MESSAGE, when given) whose code matches CODE_PATTERN (e.g. '5??').
lab_expect_reply() {
	local t=$1 step=$2 pat=$3 msg=${4:-}
	local line
	while read -r line; do
		set -- $line
		[ "$1" = "$step" ] || continue
		[ -z "$msg" ] || [ "$2" = "$msg" ] || continue
		# shellcheck disable=SC2254
		case $3 in $pat) return 0 ;; esac
	done <"$t"
	echo "---- client transcript $t" >&2
	cat "$t" >&2
	lab_fail "expected a $step reply $pat${msg:+ for $msg}"
}

# lab_smuggling_list all|raises|ends-data: the smuggling variants of peers/smuggling.py,
# those that raise smtp.smuggling, or those the lab's Postfix server takes as end-of-data.
lab_smuggling_list() {
	"$LAB_PYTHON" - "$LAB_PEERS" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import smuggling
print(*{"all": smuggling.VARIANTS, "raises": smuggling.RAISES_SMUGGLING,
        "ends-data": smuggling.POSTFIX_ENDS_DATA}[sys.argv[2]])
PY
}

LAB_EVASION=$LAB_SRC/../evasion/evasion.py

# lab_evasion_live RESULTS [--v6] [--prefix P] [CASE...]: run the crafted evasion
# sessions (tests/evasion) from the client host's crafted-packet address against the
# server, over IPv4 or IPv6.
lab_evasion_live() {
	local results=$1 src=$LAB_X4 dst=$LAB_S4
	shift
	[ "${1:-}" = --v6 ] && { src=$LAB_X6 dst=$LAB_S6; shift; }
	lab_c "$LAB_PYTHON" "$LAB_EVASION" live --iface "$LAB_IF_C" --src "$src" \
		--dst "$dst" --src-mac "$LAB_CRAFT_MAC" --dst-mac "$LAB_MAC_S" \
		--results "$results" "$@"
}

# lab_evasion_check RESULTS protected|control [--prefix P] [CASE...]: judge the
# server's store.
lab_evasion_check() {
	local results=$1 expect=$2
	shift 2
	"$LAB_PYTHON" "$LAB_EVASION" check --store "$(lab_store)" --results "$results" \
		--expect "$expect" "$@"
}
