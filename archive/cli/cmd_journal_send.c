/* journal-send: send .eml files to an archive as journal records, directly (reply per
 * record) or through a spool directory (the library the dataplane uses). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

int cmd_journal_send(int argc, char **argv)
{
	const char *to = NULL, *spool = NULL;
	struct sl_journal_tls tls = { 0 };
	struct sl_journal_record r = { .source_kind = SL_JSOURCE_GATEWAY, .source = "journal-send",
		.verdict = "pass" };
	const char **rcpt = calloc((size_t)argc, sizeof *rcpt);
	const char **rules = calloc((size_t)argc, sizeof *rules);
	const char **files = calloc((size_t)argc, sizeof *files);
	size_t nfiles = 0;
	static const char *const dirs[] = { "unknown", "inbound", "outbound", "internal" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--to") && more)
			to = argv[++i];
		else if (!strcmp(a, "--spool") && more)
			spool = argv[++i];
		else if (!strcmp(a, "--tls-ca") && more)
			tls.ca = argv[++i];
		else if (!strcmp(a, "--tls-cert") && more)
			tls.cert = argv[++i];
		else if (!strcmp(a, "--tls-key") && more)
			tls.key = argv[++i];
		else if (!strcmp(a, "--tls-name") && more)
			tls.server_name = argv[++i];
		else if (!strcmp(a, "--source") && more)
			r.source = argv[++i];
		else if (!strcmp(a, "--mailhost"))
			r.source_kind = SL_JSOURCE_MAILHOST;
		else if (!strcmp(a, "--from") && more)
			r.mail_from = argv[++i];
		else if (!strcmp(a, "--rcpt") && more)
			rcpt[r.nrcpt++] = argv[++i];
		else if (!strcmp(a, "--rule") && more)
			rules[r.nrules++] = argv[++i];
		else if (!strcmp(a, "--verdict") && more)
			r.verdict = argv[++i];
		else if (!strcmp(a, "--direction") && more) {
			const char *d = argv[++i];
			r.direction = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(d, dirs[k]))
					r.direction = k;
			if (r.direction < 0) {
				fprintf(stderr, "journal-send: --direction is inbound, outbound, internal or unknown\n");
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "journal-send: unknown option %s\n", a);
			return 2;
		} else
			files[nfiles++] = a;
	}
	r.rcpt = rcpt;
	r.rules = rules;
	if (!to || !nfiles) {
		fprintf(stderr, "usage: sluice-archive journal-send --to ADDR:PORT [--spool DIR] "
				"[--tls-ca F --tls-cert F --tls-key F [--tls-name NAME]] "
				"[--source NAME] [--mailhost] [--direction D] [--from ADDR] "
				"[--rcpt ADDR]... [--rule ID]... [--verdict V] FILE...\n");
		return 2;
	}
	int rc = 0;
	char err[512];
	signal(SIGPIPE, SIG_IGN); /* an archive that refuses us closes: EPIPE, reported */
	struct sl_journal *j = NULL;
	struct sl_journal_link *l = NULL;
	if (!!tls.ca + !!tls.cert + !!tls.key == 1 || !!tls.ca + !!tls.cert + !!tls.key == 2) {
		fprintf(stderr, "journal-send: TLS needs --tls-ca, --tls-cert and --tls-key together\n");
		return 2;
	}
	if (spool) {
		struct sl_journal_config cfg = { .spool_dir = spool, .archive = to, .tls = tls };
		if (!(j = sl_journal_open(&cfg, err, sizeof err))) {
			fprintf(stderr, "journal-send: %s\n", err);
			return 1;
		}
	} else if (!(l = sl_journal_link_open(to, &tls, 5000, err, sizeof err))) {
		fprintf(stderr, "journal-send: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < nfiles; i++) {
		size_t len;
		uint8_t *msg = sl_read_file(files[i], &len);
		if (!msg) {
			fprintf(stderr, "journal-send: %s: %s\n", files[i], strerror(errno));
			rc = 1;
			continue;
		}
		struct timeval tv;
		gettimeofday(&tv, NULL);
		r.time_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
		r.message = msg;
		r.message_len = len;
		if (j) {
			if (sl_journal_submit(j, &r) < 0) {
				fprintf(stderr, "journal-send: %s: not queued\n", files[i]);
				rc = 1;
			}
		} else {
			struct sl_strbuf f;
			sl_strbuf_init(&f);
			if (sl_journal_encode(&r, &f, err, sizeof err) < 0) {
				fprintf(stderr, "journal-send: %s: %s\n", files[i], err);
				rc = 1;
			} else if (sl_journal_link_write(l, f.s, f.len) < 0) {
				fprintf(stderr, "journal-send: write: connection lost\n");
				rc = 1;
			} else {
				int type, status;
				uint8_t id[32];
				char reason[512], idhex[65];
				if (sl_journal_read_reply(l, &type, id, &status, reason, sizeof reason) < 0) {
					fprintf(stderr, "journal-send: %s: %s\n", files[i], reason);
					rc = 1;
				} else {
					hex(id, 32, idhex);
					if (type == SL_JFRAME_ACK)
						printf("%s\t%s\t%s\n", status == SL_JACK_DUPLICATE ? "duplicate" : "stored",
							idhex, files[i]);
					else {
						printf("refused\t%s\t%s\t%s\n", idhex, files[i], reason);
						rc = 1;
					}
				}
			}
			sl_strbuf_free(&f);
		}
		free(msg);
	}
	if (j) {
		if (!sl_journal_drain(j, true, 30000)) {
			fprintf(stderr, "journal-send: not all records acknowledged within 30 s; they stay in %s\n", spool);
			rc = 1;
		}
		struct sl_journal_stats st;
		sl_journal_get_stats(j, &st);
		printf("spooled %llu, acknowledged %llu (%llu duplicates), refused %llu\n",
			(unsigned long long)st.spooled, (unsigned long long)st.acked,
			(unsigned long long)st.duplicates, (unsigned long long)st.refused);
		if (st.refused)
			rc = 1;
		sl_journal_close(j);
	} else {
		sl_journal_link_close(l);
	}
	free(rcpt);
	free(rules);
	free(files);
	return rc;
}
