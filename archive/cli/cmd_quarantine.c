/* quarantine, release: the messages a gateway held back (journaled with the verdict
 * "quarantine": only the archive has them), and handing one on to a mail host by SMTP.
 * Both are audited before anything is shown or sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "net.h"
#include "search.h"

static void utc(uint64_t us, char out[32])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- quarantine: list ---- */

struct list_ctx {
	struct ar_store *s;
	bool json;
	struct ar_released rel;
	size_t n;
	struct sl_strbuf ids, out; /* out is shown once the audit entry is written */
};

static void list_copy(void *ctx, const struct ar_copy *c)
{
	struct list_ctx *lc = ctx;
	if (!ar_copy_quarantined(c))
		return;
	const struct sl_journal_record *r = &c->d.rec;
	uint32_t id = ar_blob_docid(lc->s, c->blob);
	struct ar_summary sum = { 0 };
	bool have_sum = id != UINT32_MAX && ar_summary_load(lc->s, id, &sum) == 0;
	char when[32];
	utc(c->origin.received_us, when);
	lc->n++;
	if (lc->ids.len < 4000)
		sl_strbuf_printf(&lc->ids, "%s%u", lc->ids.len ? "," : "", id);
	struct sl_strbuf *b = &lc->out;
	if (lc->json) {
		sl_strbuf_printf(b, "{\"id\":%u,\"copy\":%llu,\"received\":\"%s\",\"peer\":", id,
			(unsigned long long)c->seq, when);
		sl_json_str(b, c->origin.peer);
		sl_strbuf_puts(b, ",\"mail_from\":");
		sl_json_str(b, r->mail_from ? r->mail_from : "");
		sl_strbuf_puts(b, ",\"rcpt\":");
		ar_json_strings(b, r->rcpt, r->nrcpt);
		sl_strbuf_puts(b, ",\"rules\":");
		ar_json_strings(b, r->rules, r->nrules);
		sl_strbuf_puts(b, ",\"subject\":");
		sl_json_str(b, have_sum ? sum.subject : "");
		sl_strbuf_printf(b, ",\"released\":%zu}\n", ar_released_times(&lc->rel, c->seq));
	} else {
		sl_strbuf_printf(b, "%u\tcopy %llu\t%s\t%s\t<%s>\t", id, (unsigned long long)c->seq,
			when, c->origin.peer, r->mail_from ? r->mail_from : "");
		for (size_t i = 0; i < r->nrcpt; i++)
			sl_strbuf_printf(b, "%s<%s>", i ? "," : "", r->rcpt[i]);
		sl_strbuf_putc(b, '\t');
		for (size_t i = 0; i < r->nrules; i++)
			sl_strbuf_printf(b, "%s%s", i ? "," : "", r->rules[i]);
		sl_strbuf_printf(b, "\t%s", have_sum ? sum.subject : "");
		size_t rel = ar_released_times(&lc->rel, c->seq);
		if (rel)
			sl_strbuf_printf(b, "\t(released %zu time%s)", rel, rel > 1 ? "s" : "");
		sl_strbuf_putc(b, '\n');
	}
	if (have_sum)
		ar_summary_free(&sum);
}

int cmd_quarantine(int argc, char **argv)
{
	const char *data;
	bool json;
	if (cli_data_json_args(argc, argv, &data, &json) < 0) {
		fprintf(stderr, "usage: sluice-archive quarantine --data DIR [--json]\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s)
		return 1;
	struct list_ctx lc = { .s = s, .json = json };
	sl_strbuf_init(&lc.ids);
	sl_strbuf_init(&lc.out);
	ar_released_load(s, &lc.rel);
	uint64_t bad = ar_copies_each(s, list_copy, &lc);
	struct sl_strbuf detail;
	sl_strbuf_init(&detail);
	sl_strbuf_printf(&detail, "\"results\":%zu,\"ids\":[%s]", lc.n, lc.ids.s ? lc.ids.s : "");
	int rc = cli_audit(s, "quarantine", detail.s) < 0 || sl_strbuf_failed(&lc.out) ? 1 : 0;
	if (!rc && lc.out.len && fwrite(lc.out.s, 1, lc.out.len, stdout) != lc.out.len)
		rc = 1;
	if (!rc && bad) {
		fprintf(stderr, "sluice-archive quarantine: %llu copies could not be read "
				"(run verify)\n", (unsigned long long)bad);
		rc = 1;
	}
	sl_strbuf_free(&detail);
	sl_strbuf_free(&lc.ids);
	sl_strbuf_free(&lc.out);
	ar_released_free(&lc.rel);
	ar_store_close(s);
	return rc;
}

/* ---- release ---- */

struct release_args {
	const char *data;
	struct ar_release_req rq;
	struct ar_smtp_tls tls;
	const char **rcpt;
};

static int parse_release(int argc, char **argv, struct release_args *a)
{
	struct ar_release_req *rq = &a->rq;
	rq->helo = "sluice-archive";
	rq->copy = UINT64_MAX;
	rq->timeout_ms = 60000;
	a->rcpt = calloc((size_t)argc, sizeof *a->rcpt);
	bool have_id = false;
	for (int i = 1; a->rcpt && i < argc; i++) {
		const char *o = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(o, "--data") && more)
			a->data = argv[++i];
		else if (!strcmp(o, "--relay") && more)
			rq->relay = argv[++i];
		else if (!strcmp(o, "--helo") && more)
			rq->helo = argv[++i];
		else if (!strcmp(o, "--rcpt") && more)
			a->rcpt[rq->nrcpt++] = argv[++i];
		else if (!strcmp(o, "--copy") && more)
			rq->copy = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(o, "--again"))
			rq->again = true;
		else if (!strcmp(o, "--timeout") && more)
			rq->timeout_ms = 1000 * atoi(argv[++i]);
		else if (cli_relay_tls_option(argc, argv, &i, &a->tls))
			continue;
		else if (!have_id && cli_parse_docid(o, &rq->id))
			have_id = true;
		else
			return -1;
	}
	rq->rcpt = a->rcpt;
	rq->tls = a->tls.ca ? &a->tls : NULL;
	return a->rcpt && a->data && rq->relay && have_id && rq->timeout_ms > 0 &&
		cli_relay_tls_valid(&a->tls) ? 0 : -1;
}

int cmd_release(int argc, char **argv)
{
	struct release_args a = { 0 };
	if (parse_release(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: sluice-archive release --data DIR --relay HOST:PORT "
				"[--copy N] [--rcpt ADDR]... [--helo NAME] [--timeout S] [--again]\n"
				"       [--relay-tls-ca F [--relay-tls-name N] [--relay-tls-cert F "
				"--relay-tls-key F]] ID\n");
		free(a.rcpt);
		return 2;
	}
	struct ar_store *s = cli_open(a.data, false, false);
	if (!s) {
		free(a.rcpt);
		return 1;
	}
	char msg[512];
	uint64_t copy;
	enum ar_release_status st = ar_release(s, &a.rq, &copy, msg, sizeof msg);
	if (st == AR_RELEASED || st == AR_RELEASED_UNAUDITED)
		printf("released %u (copy %llu) to %s: %s\n", a.rq.id, (unsigned long long)copy,
			a.rq.relay, msg);
	else
		fprintf(stderr, "sluice-archive release: %s%s%s\n",
			st == AR_RELEASE_SEND_FAILED ? a.rq.relay : "",
			st == AR_RELEASE_SEND_FAILED ? ": " : "", msg);
	if (st == AR_RELEASE_ALREADY)
		fprintf(stderr, "sluice-archive release: (sluice-archive audit shows when): --again "
				"sends it once more\n");
	if (st == AR_RELEASED_UNAUDITED)
		fprintf(stderr, "sluice-archive release: the outcome could not be audited\n");
	free(a.rcpt);
	ar_store_close(s);
	return st == AR_RELEASED ? 0 : 1;
}
