# tests/lab/postfix.sh — private Postfix instances inside the lab's namespaces (sourced by
# lab.sh). Each instance has its own config, queue and data directories under $LAB_DIR,
# no chroot, and listens only on its namespace's documentation addresses; the host's own
# Postfix configuration is never read or touched.
#
#   lab_postfix_server [tls] [journal] [users]
#                              the mail host: 192.0.2.2 / 2001:db8::2, port 25, delivers
#                              every recipient @example.net to one maildir ($LAB_MAILDIR);
#                              "users": only $LAB_USERS exist, others are refused at RCPT
#                              with 550 5.1.1 (recipient validation, as local_recipient_maps
#                              does for local domains);
#                              "tls" offers STARTTLS with Debian's snakeoil certificate;
#                              "journal" sends a copy of every message it accepts to the
#                              archive's SMTP listener (always_bcc, docs/archive.md; start
#                              the archive first: lab_archive_start), and takes mail the
#                              archive releases on $LAB_ARCHIVE_HOST:25
#   lab_postfix_mailhost NAME NS ADDR4 ADDR6 HOSTNAME [tls] [journal] [users]
#                              another such mail host (the pool's hosts, pool.sh)
#   lab_postfix_relay [4|6] [TLS]
#                              an outbound relay on the client host: accepts mail on
#                              192.0.2.1:25 and relays it through the dataplane to the
#                              server over IPv4 or IPv6, pipelining, with
#                              smtp_tls_security_level TLS (default: may, opportunistic)

LAB_SNAKEOIL_CERT=/etc/ssl/certs/ssl-cert-snakeoil.pem
LAB_SNAKEOIL_KEY=/etc/ssl/private/ssl-cert-snakeoil.key

# The master.cf both roles use: the services Postfix needs, none chrooted.
_lab_postfix_master_cf() {
	cat <<'EOF'
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Settings every lab instance shares: private directories, no DNS, log to a file.
_lab_postfix_common_cf() {
	local dir=$1
	cat <<EOF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
inet_protocols = all
mynetworks = 127.0.0.0/8 192.0.2.0/24 [::1]/128 [2001:db8::]/64
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
disable_vrfy_command = yes
biff = no
alias_maps =
alias_database =
local_header_rewrite_clients =
message_size_limit = 64000000
mailbox_size_limit = 0
virtual_mailbox_limit = 0
# Retry quickly: tests wait for delivery with bounded timeouts.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
EOF
}

# _lab_postfix_start NAME NS: create the queue directories and start the master daemon
# directly (what `postfix start` does after several seconds of shell-script checks).
_lab_postfix_start() {
	local name=$1 ns=$2 dir=$LAB_DIR/pf-$1 d
	mkdir -p "$dir/data"
	chown postfix "$dir/data"
	mkdir -p -m 755 "$dir/spool" "$dir/spool/pid"
	for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		mkdir -m 700 "$dir/spool/$d"
		chown postfix "$dir/spool/$d"
	done
	mkdir -m 730 "$dir/spool/maildrop"
	mkdir -m 710 "$dir/spool/public"
	chown postfix:postdrop "$dir/spool/maildrop" "$dir/spool/public"
	echo "$name $ns" >>"$LAB_DIR/postfix-instances"
	ip netns exec "$ns" /usr/lib/postfix/sbin/master -c "$dir/etc" -w >"$dir/start.log" 2>&1 ||
		{ cat "$dir/start.log" "$dir/maillog" >&2; lab_fail "postfix $name failed to start"; }
}

LAB_USERS="alice bob carol dave"

lab_postfix_server() {
	local tls= journal= users= opt
	for opt in "$@"; do
		case $opt in
		tls) tls=tls ;;
		journal) journal=journal ;;
		users) users=users ;;
		*) lab_fail "lab_postfix_server: unknown option $opt" ;;
		esac
	done
	lab_postfix_mailhost server "$LAB_NS_S" "$LAB_S4" "$LAB_S6" mx.example.net "$tls" "$journal" "$users"
	LAB_MAILDIR=$LAB_DIR/pf-server/mail/inbox
}

# lab_postfix_mailhost NAME NS ADDR4 ADDR6 HOSTNAME [tls] [journal] [users]: a mail host
# in namespace NS on ADDR4 and ADDR6, port 25, delivering every recipient @example.net
# (with "users": only $LAB_USERS) to the maildir $LAB_DIR/pf-NAME/mail/inbox (the
# server, and the pool's hosts: pool.sh).
lab_postfix_mailhost() {
	local name=$1 ns=$2 a4=$3 a6=$4 hostname=$5 tls=${6:-} journal=${7:-} users=${8:-}
	local dir=$LAB_DIR/pf-$name
	mkdir -p "$dir/etc" "$dir/mail/inbox/new" "$dir/mail/inbox/cur" "$dir/mail/inbox/tmp"
	chown -R nobody:nogroup "$dir/mail"
	_lab_postfix_master_cf >"$dir/etc/master.cf"
	{
		_lab_postfix_common_cf "$dir"
		cat <<EOF
myhostname = $hostname
mydomain = example.net
myorigin = example.net
mydestination =
inet_interfaces = $a4, [$a6]$([ "$journal" = journal ] && echo ", $LAB_ARCHIVE_HOST")
smtpd_banner = \$myhostname ESMTP
virtual_mailbox_domains = example.net
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = $([ -n "$users" ] && echo "texthash:$dir/etc/users" || echo static:inbox/)
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
EOF
		if [ "$journal" = journal ]; then
			cat <<EOF
always_bcc = journal@archive.example.net
transport_maps = inline:{archive.example.net=smtp:[$LAB_ARCHIVE_B]:$LAB_ARCHIVE_SMTP_PORT}
# The archive is the one place this host's SMTP client talks to, over the journal link
# (Postfix would otherwise send from inet_interfaces' address, 192.0.2.2).
smtp_bind_address = $LAB_ARCHIVE_HOST
# ... over TLS with this host's certificate from the archive's CA (docs/archive.md)
smtp_tls_security_level = secure
smtp_tls_secure_cert_match = archive.lab
smtp_tls_CAfile = $LAB_ARCHIVE_PKI/ca.crt
smtp_tls_cert_file = $LAB_ARCHIVE_PKI/mx.lab.crt
smtp_tls_key_file = $LAB_ARCHIVE_PKI/mx.lab.key
EOF
		fi
		if [ "$tls" = tls ]; then
			cat <<EOF
smtpd_tls_security_level = may
smtpd_tls_cert_file = $LAB_SNAKEOIL_CERT
smtpd_tls_key_file = $LAB_SNAKEOIL_KEY
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
EOF
		else
			echo "smtpd_tls_security_level = none"
		fi
	} >"$dir/etc/main.cf"
	if [ -n "$users" ]; then
		local u
		for u in $LAB_USERS; do echo "$u@example.net inbox/"; done >"$dir/etc/users"
	fi
	_lab_postfix_ensure_snakeoil
	_lab_postfix_start "$name" "$ns"
	lab_wait_listen "$a4" 25 "$name's Postfix"
}

lab_postfix_relay() {
	local family=${1:-4} tls=${2:-may} nexthop=$LAB_S4
	[ "$family" = 6 ] && nexthop=$LAB_S6
	nexthop=${LAB_RELAY_NEXTHOP:-$nexthop} # another next hop (the pool's service address)
	local dir=$LAB_DIR/pf-relay
	mkdir -p "$dir/etc"
	_lab_postfix_master_cf >"$dir/etc/master.cf"
	{
		_lab_postfix_common_cf "$dir"
		cat <<EOF
myhostname = relay.example.org
mydomain = example.org
myorigin = example.org
mydestination = relay.example.org, example.org
inet_interfaces = $LAB_C4, [$LAB_C6]
relayhost = [$nexthop]:25
# Bounces of rejected test mail (to the senders @example.org) stay here, discarded and
# logged, instead of travelling on through the dataplane.
local_transport = discard
smtp_tls_security_level = $tls
smtp_tls_loglevel = 1
EOF
	} >"$dir/etc/main.cf"
	_lab_postfix_start relay "$LAB_NS_C"
	lab_wait_listen "$LAB_C4" 25 "the relay's Postfix"
}

_lab_postfix_ensure_snakeoil() {
	[ -r "$LAB_SNAKEOIL_CERT" ] && [ -r "$LAB_SNAKEOIL_KEY" ] && return 0
	make-ssl-cert generate-default-snakeoil >/dev/null 2>&1 ||
		lab_fail "cannot create Debian's snakeoil certificate (package ssl-cert)"
}

# lab_postfix_log NAME: the instance's log file.
lab_postfix_log() { echo "$LAB_DIR/pf-$1/maillog"; }

# lab_postfix_queue_empty NAME: true when the instance holds no message in its queue. A
# queue file is complete once Postfix sets its owner-execute bit; one without it is a
# message whose cleanup was killed before the client got its 250 (never delivered).
lab_postfix_queue_empty() {
	local dir=$LAB_DIR/pf-$1/spool
	[ -z "$(find "$dir/incoming" "$dir/active" "$dir/deferred" "$dir/hold" -type f -perm -u+x 2>/dev/null | head -1)" ]
}

# Stop every instance's master (SIGTERM, as `postfix stop` does); lab_down then ends
# whatever else still runs inside the lab's namespaces.
lab_postfix_stop_all() {
	[ -f "$LAB_DIR/postfix-instances" ] || return 0
	local name ns pid
	while read -r name ns; do
		pid=$(cat "$LAB_DIR/pf-$name/spool/pid/master.pid" 2>/dev/null) || continue
		kill -TERM $pid 2>/dev/null
	done <"$LAB_DIR/postfix-instances"
	rm -f "$LAB_DIR/postfix-instances"
}
