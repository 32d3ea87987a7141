#!/usr/bin/env bash
# Lab test (issue 5): a real Postfix mail host journals every message it accepts to
# sluice-archive over SMTP (always_bcc + a transport to the archive's listener, the
# settings docs/archive.md gives), and the internal mail becomes searchable —
# English and Chinese (Big5 and UTF-8).
#
#   mail host namespace  192.0.2.11  Postfix (own config_directory and queue)
#   archive namespace    192.0.2.12  sluice-archive serve --smtp-listen :2525
#
# usage: postfix_test.sh SLUICE_ARCHIVE      (root)
set -euo pipefail
exe=$(readlink -f "$1")
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, Postfix)"; exit 1; }
for t in postfix swaks ip; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "missing $t"; exit 1; }
done

id=$$
mns=slmh$id ans=slar$id
work=$(mktemp -d /tmp/sluice-postfix-XXXXXX)
chmod 755 "$work"
pf=$work/postfix
archive_pid=
cleanup() {
	set +e
	[ -f "$pf/etc/main.cf" ] && ip netns exec $mns postfix -c "$pf/etc" stop >/dev/null 2>&1
	[ -n "$archive_pid" ] && kill "$archive_pid" 2>/dev/null && wait "$archive_pid" 2>/dev/null
	ip netns del $mns 2>/dev/null
	ip netns del $ans 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
[ -n "${SLUICE_KEEP:-}" ] && trap - EXIT

ip netns add $mns
ip netns add $ans
ip link add vm$id type veth peer name va$id
ip link set vm$id netns $mns
ip link set va$id netns $ans
ip -n $mns addr add 192.0.2.11/24 dev vm$id
ip -n $ans addr add 192.0.2.12/24 dev va$id
for n in $mns $ans; do ip -n $n link set lo up; done
ip -n $mns link set vm$id up
ip -n $ans link set va$id up

# ---- the archive: its key file and PKI (docs/archive.md "Keys", "Transport"); the
# mail host proves itself with a certificate from the archive's CA
export SLUICE_ARCHIVE_KEY=$work/archive.key
"$exe" keygen "$SLUICE_ARCHIVE_KEY" >/dev/null
pki=$work/pki
"${SLUICE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tools/archive-pki" "$pki" \
	archive.test mail1.corp.example
chgrp postfix "$pki" "$pki"/mail1.corp.example.* "$pki/ca.crt"
chmod 750 "$pki"
chmod 640 "$pki"/mail1.corp.example.* "$pki/ca.crt"
ip netns exec $ans "$exe" serve --data "$work/data" --smtp-listen 192.0.2.12:2525 \
	--tls-cert "$pki/archive.test.crt" --tls-key "$pki/archive.test.key" --tls-ca "$pki/ca.crt" \
	--smtp-allow mail1.corp.example \
	--smtp-source mailhost1 >"$work/archive.out" 2>"$work/archive.err" &
archive_pid=$!
for _ in $(seq 200); do grep -q listening "$work/archive.out" && break; sleep 0.1; done
grep -q "listening smtp 192.0.2.12:2525" "$work/archive.out" || { cat "$work/archive.err"; exit 1; }

# ---- a private Postfix instance: its own config and queue, no chroot, internal
# domain corp.example delivered locally (discarded), a copy of everything to the archive
mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
chown postfix "$pf/data"
sed -E 's/^([a-z]+[[:space:]]+(inet|unix|unix-dgram|fifo|pass)[[:space:]]+[-ny][[:space:]]+[-ny][[:space:]]+)[-y]/\1n/' \
	/etc/postfix/master.cf >"$pf/etc/master.cf"
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $work
maillog_file = $work/maillog
inet_interfaces = 192.0.2.11
inet_protocols = ipv4
myhostname = mail1.corp.example
mydomain = corp.example
myorigin = corp.example
mydestination = corp.example
mynetworks = 192.0.2.0/24 127.0.0.0/8
local_recipient_maps =
local_transport = discard:internal mail delivered
smtp_dns_support_level = disabled
smtpd_banner = mail1.corp.example ESMTP
# the journal: a copy of every accepted message to the archive (docs/archive.md)
always_bcc = archive@archive.invalid
transport_maps = texthash:$pf/etc/transport
smtp_tls_security_level = secure
smtp_tls_secure_cert_match = archive.test
smtp_tls_CAfile = $pki/ca.crt
smtp_tls_cert_file = $pki/mail1.corp.example.crt
smtp_tls_key_file = $pki/mail1.corp.example.key
EOF
echo "archive.invalid smtp:[192.0.2.12]:2525" >"$pf/etc/transport"
ip netns exec $mns postfix -c "$pf/etc" check
ip netns exec $mns postfix -c "$pf/etc" start
up=0
for _ in $(seq 100); do
	ip netns exec $mns bash -c 'exec 3<>/dev/tcp/192.0.2.11/25' 2>/dev/null && { up=1; break; }
	sleep 0.1
done
[ $up = 1 ] || { echo "FAIL: Postfix does not answer on 192.0.2.11:25"; tail -20 "$work/maillog"; exit 1; }

# ---- internal mail between colleagues, submitted to the mail host
ip netns exec $mns swaks --silent 2 --server 192.0.2.11 --from alice@corp.example \
	--to bob@corp.example --header "Subject: quarterly budget review" \
	--body "Please review the draft contract before Friday." >/dev/null
ip netns exec $mns /usr/bin/python3 - <<'PY'
import smtplib
from email.mime.text import MIMEText
from email.header import Header
msgs = []
m = MIMEText("這份合約是機密資料，請勿外傳。", "plain", "big5")
m["Subject"] = Header("合約 (Big5)", "big5")
m["From"] = "carol@corp.example"; m["To"] = "dave@corp.example"
msgs.append(m)
m = MIMEText("附件是機密資料的摘要。", "plain", "utf-8")
m["Subject"] = Header("摘要 UTF-8", "utf-8")
m["From"] = "erin@corp.example"; m["To"] = "frank@corp.example"
msgs.append(m)
with smtplib.SMTP("192.0.2.11", 25) as s:
    for m in msgs:
        s.send_message(m)
PY

search() { "$exe" search --data "$work/data" "$1" --json --limit 0; }
# count QUERY: the messages found, or why there is no count (a failed search is not 0)
count() {
	local out rc=0
	out=$(search "$1" 2>"$work/search.err") || rc=$?
	if [ $rc -ne 0 ]; then
		echo "search failed (exit $rc: $(head -c 200 "$work/search.err"))"
		return 1
	fi
	printf '%s\n' "$out" | grep -c '"id"' || true
}
ok=1
for _ in $(seq 300); do # until the 3 copies are in, at most 60 s
	[ "$(count 'source:mailhost1')" = 3 ] && break
	sleep 0.2
done
check() { # check QUERY WANT
	local got
	got=$(count "$1") || true
	if [ "$got" = "$2" ]; then echo "ok: $1 -> $got"; else echo "FAIL: $1 -> $got, want $2"; ok=0; fi
}
check 'source:mailhost1' 3
check 'direction:internal' 3
check 'contract from:alice@corp.example to:bob@corp.example' 1
check 'to:archive@archive.invalid' 3          # the envelope the archive was given
check '"quarterly budget"' 1
check '合約' 1
check '機密資料' 2                             # Big5 and UTF-8 mail
check 'subject:摘要' 1
check 'contract -from:alice' 0
# every copy came over TLS from the authenticated mail host
id=$(search 'source:mailhost1' | head -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
if "$exe" show --data "$work/data" "$id" | grep -q "over smtp from mail1.corp.example at 192.0.2.11:"; then
	echo "ok: the copy names its authenticated mail host"
else
	echo "FAIL: the copy does not name its authenticated mail host"; ok=0
fi
if [ $ok = 0 ]; then
	echo "--- maillog"; tail -30 "$work/maillog" 2>/dev/null
	echo "--- archive"; cat "$work/archive.err"
	exit 1
fi
echo "postfix journaling test passed"
