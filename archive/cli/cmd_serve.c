/* serve: the archive node. Options here; the listeners and their limits in net/. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void print_bound(const char *what, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char a[80];
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	ar_sockaddr_str((struct sockaddr *)&ss, a, sizeof a);
	printf("listening %s %s\n", what, a);
	fflush(stdout);
}

static int parse_direction(const char *s)
{
	static const char *const names[] = { "unknown", "inbound", "outbound", "internal" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static void on_idle(struct ar_server *srv)
{
	ar_audit_collect(srv->s); /* readers' audit entries, when idle */
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-archive serve --data DIR --tls-cert FILE --tls-key FILE --tls-ca FILE\n"
		"         [--journal-listen ADDR:PORT] [--journal-allow NAME]...\n"
		"         [--smtp-listen ADDR:PORT [--lmtp] [--smtp-allow NAME]... [--smtp-source NAME]\n"
		"          [--smtp-direction internal]]\n"
		"         [--allow-net CIDR]... [--max-conns N] [--max-handshakes N] [--max-per-addr N]\n"
		"         [--idle-timeout S] [--session-timeout S] [--handshake-timeout S]\n"
		"         [--max-inflight MB] [--min-free MB (default 64; 0: off)]\n"
		"         [--index-delay MS (default 1000)] [--index-block COPIES (default 4096)]\n");
}

/* A positive number of seconds / units, or -1. */
static long positive(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v > 0 && v < 1000000 ? v : -1;
}

int cmd_serve(int argc, char **argv)
{
	const char *data = NULL, *jaddr = NULL, *saddr = NULL;
	const char *cert = NULL, *key = NULL, *ca = NULL;
	struct ar_server srv = { .smtp_source = "", .smtp_direction = 3, .window = 64 };
	char hostname[256] = "sluice-archive";
	gethostname(hostname, sizeof hostname - 1);
	struct ar_listener ls[2];
	size_t nls = 0;
	uint64_t min_free_mb = 64;
	struct ar_index_opts index_opts = { 0 };
	srv.hostname = hostname;
	const char **jallow = calloc((size_t)argc, sizeof *jallow);
	const char **sallow = calloc((size_t)argc, sizeof *sallow);
	srv.nets = calloc((size_t)argc, sizeof *srv.nets);
	srv.journal_allow.names = jallow;
	srv.smtp_allow.names = sallow;
	int rc = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long num = v ? positive(v) : -1;
		if (v)
			i++;
		if (!v) {
			fprintf(stderr, "sluice-archive serve: %s needs a value\n", a);
			goto out;
		} else if (!strcmp(a, "--data"))
			data = v;
		else if (!strcmp(a, "--journal-listen"))
			jaddr = v;
		else if (!strcmp(a, "--smtp-listen"))
			saddr = v;
		else if (!strcmp(a, "--tls-cert"))
			cert = v;
		else if (!strcmp(a, "--tls-key"))
			key = v;
		else if (!strcmp(a, "--tls-ca"))
			ca = v;
		else if (!strcmp(a, "--journal-allow"))
			jallow[srv.journal_allow.n++] = v;
		else if (!strcmp(a, "--smtp-allow"))
			sallow[srv.smtp_allow.n++] = v;
		else if (!strcmp(a, "--allow-net")) {
			if (ar_net_parse(v, &srv.nets[srv.nnets++]) < 0) {
				fprintf(stderr, "sluice-archive serve: --allow-net %s: not ADDR/PREFIX\n", v);
				goto out;
			}
		} else if (!strcmp(a, "--smtp-source"))
			srv.smtp_source = v;
		else if (!strcmp(a, "--smtp-direction")) {
			srv.smtp_direction = parse_direction(v);
			if (srv.smtp_direction < 0) {
				fprintf(stderr, "sluice-archive serve: --smtp-direction is inbound, outbound, internal or unknown\n");
				goto out;
			}
		} else if (num > 0 && !strcmp(a, "--max-conns"))
			srv.lim.max_conns = (unsigned)num;
		else if (num > 0 && !strcmp(a, "--max-handshakes"))
			srv.lim.max_preauth = (unsigned)num;
		else if (num > 0 && !strcmp(a, "--max-per-addr"))
			srv.lim.max_per_addr = (unsigned)num;
		else if (num > 0 && !strcmp(a, "--idle-timeout"))
			srv.lim.idle_ms = (int)num * 1000;
		else if (num > 0 && !strcmp(a, "--session-timeout"))
			srv.lim.session_ms = (int)(num > 86400 ? 86400 : num) * 1000;
		else if (num > 0 && !strcmp(a, "--handshake-timeout"))
			srv.lim.handshake_ms = (int)num * 1000;
		else if (num > 0 && !strcmp(a, "--max-inflight"))
			srv.lim.inflight_bytes = (size_t)num << 20;
		else if (num > 0 && !strcmp(a, "--index-delay"))
			index_opts.delay_ms = (unsigned)num;
		else if (num > 0 && !strcmp(a, "--index-block"))
			index_opts.block_copies = (size_t)num;
		else if (!strcmp(a, "--min-free") && (num > 0 || !strcmp(v, "0")))
			min_free_mb = num > 0 ? (uint64_t)num : 0;
		else if (!strcmp(a, "--lmtp")) {
			srv.lmtp = true;
			i--; /* takes no value */
		} else {
			fprintf(stderr, "sluice-archive serve: bad option %s %s\n", a, v);
			goto out;
		}
	}
	if (!data || (!jaddr && !saddr)) {
		usage();
		goto out;
	}
	if (!cert || !key || !ca) {
		fprintf(stderr, "sluice-archive serve: the listeners need TLS: --tls-cert, --tls-key "
				"and --tls-ca (the CA that signs the gateways' and mail hosts' "
				"certificates; docs/archive.md \"Transport\")\n");
		goto out;
	}
	rc = 1;
	char err[512];
	srv.tls = ar_tls_server_ctx(cert, key, ca, err, sizeof err);
	if (!srv.tls) {
		fprintf(stderr, "sluice-archive serve: %s\n", err);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (jaddr && (ls[nls].fd = ar_listen(jaddr, err, sizeof err)) >= 0)
		ls[nls++].kind = AR_LISTEN_JOURNAL;
	else if (jaddr)
		goto listen_failed;
	if (saddr && (ls[nls].fd = ar_listen(saddr, err, sizeof err)) >= 0)
		ls[nls++].kind = AR_LISTEN_SMTP;
	else if (saddr)
		goto listen_failed;

	srv.s = cli_open(data, true, true);
	if (!srv.s)
		goto close_listeners;
	ar_server_init(&srv);
	if (cli_audit(srv.s, "serve", NULL) < 0) {
		ar_store_close(srv.s);
		goto close_listeners;
	}
	srv.cm = ar_committer_start(srv.s, &index_opts);
	if (!srv.cm) {
		fprintf(stderr, "sluice-archive serve: cannot start the committer\n");
		ar_store_close(srv.s);
		goto close_listeners;
	}
	ar_committer_min_free(srv.cm, min_free_mb << 20);
	for (size_t i = 0; i < nls; i++)
		print_bound(ls[i].kind == AR_LISTEN_JOURNAL ? "journal" : srv.lmtp ? "lmtp" : "smtp",
			ls[i].fd);
	bool clean = ar_serve(&srv, ls, nls, &stop_requested, on_idle);
	ar_committer_stop(srv.cm);
	fprintf(stderr, "sluice-archive serve: stopped: %llu records, %llu refused, %llu "
			"connections (%llu turned away, %llu failed TLS, %llu timed out)\n",
		(unsigned long long)srv.records, (unsigned long long)srv.refused,
		(unsigned long long)srv.connections, (unsigned long long)srv.rejected_conns,
		(unsigned long long)srv.tls_failures, (unsigned long long)srv.timeouts);
	if (clean)
		ar_store_close(srv.s); /* else a connection thread may still use it: exit */
	rc = 0;
	goto close_listeners;

listen_failed:
	fprintf(stderr, "sluice-archive serve: %s\n", err);
close_listeners:
	for (size_t i = 0; i < nls; i++)
		close(ls[i].fd);
out:
	if (srv.tls)
		SSL_CTX_free(srv.tls);
	free(jallow);
	free(sallow);
	free(srv.nets);
	return rc;
}
