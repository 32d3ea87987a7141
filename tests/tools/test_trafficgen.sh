#!/usr/bin/env bash
# tools/trafficgen: captures read by tshark and scapy without a complaint, and the
# messages reassembled from them equal the source files (check_capture.py); IPv4, IPv6,
# VLAN, every SMTP variant; .eml files as input; deterministic.
set -euo pipefail
root=${SLUICE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tg="$root/tools/trafficgen"
check() { /usr/bin/python3 "$root/tests/tools/check_capture.py" "$@"; }

"$root/tools/corpus" -q -n 400 --seed 5 -o "$tmp/corpus"

"$tg" -q --corpus "$tmp/corpus" --seed 3 --ipv6 0.3 -o "$tmp/a.pcap" --index "$tmp/a.jsonl"
check "$tmp/a.pcap" "$tmp/a.jsonl" "$tmp/corpus"
for v in plain pipelining bdat bdat-pipelining; do
	grep -q "\"variant\":\"$v\"" "$tmp/a.jsonl" || { echo "FAIL: no $v session"; exit 1; }
done
grep -q '"ipv6":true' "$tmp/a.jsonl" || { echo "FAIL: no IPv6 session"; exit 1; }

# VLAN-tagged, all IPv6, many sessions at once, one message each, lossy servers
"$tg" -q --corpus "$tmp/corpus" --seed 4 --vlan 42 --ipv6 1 --concurrency 200 \
	--messages-per-session 1 --refuse-rate 0.3 --reject-rate 0.2 -o "$tmp/b.pcap" --index "$tmp/b.jsonl"
check "$tmp/b.pcap" "$tmp/b.jsonl" "$tmp/corpus"
grep -q '"accepted":false' "$tmp/b.jsonl" || { echo "FAIL: no rejected message"; exit 1; }

# deterministic, and --packets bounds the capture
"$tg" -q --corpus "$tmp/corpus" --seed 3 --ipv6 0.3 -o "$tmp/a2.pcap"
cmp -s "$tmp/a.pcap" "$tmp/a2.pcap" || { echo "FAIL: same seed, different capture"; exit 1; }
"$tg" -q --corpus "$tmp/corpus" --repeat --packets 3000 -o "$tmp/c.pcap" --index "$tmp/c.jsonl"
n=$(tshark -r "$tmp/c.pcap" 2>/dev/null | wc -l)
[ "$n" -ge 3000 ] && [ "$n" -lt 6000 ] || { echo "FAIL: --packets 3000 gave $n packets"; exit 1; }

# .eml files given on the command line (LF line ends become CRLF on the wire)
files=$(ls "$root"/tests/data/mail-gem/attachment_emails/*.eml | head -8)
(cd / && "$tg" -q --seed 9 $files -o "$tmp/d.pcap" --index "$tmp/d.jsonl")
check "$tmp/d.pcap" "$tmp/d.jsonl" /
echo "trafficgen: ok"
