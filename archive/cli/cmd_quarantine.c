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

static bool quarantined(const struct ar_copy *c)
{
	return c->d.rec.verdict && strcmp(c->d.rec.verdict, "quarantine") == 0;
}

static void utc(uint64_t us, char out[32])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copies released so far: the "released" entries of the audit log (their
 * "ids":[ID],"copy":N come first, before any text a peer or user chose). */
struct released {
	uint64_t *copy;
	size_t n;
};

static void note_release(void *ctx, const char *entry, size_t len)
{
	struct released *r = ctx;
	(void)len;
	if (!ar_audit_action_is(entry, "released"))
		return;
	const char *c = strstr(entry, "],\"copy\":");
	uint64_t *v = c ? realloc(r->copy, (r->n + 1) * sizeof *v) : NULL;
	if (!v)
		return;
	r->copy = v;
	r->copy[r->n++] = strtoull(c + 9, NULL, 10);
}

static size_t times_released(const struct released *r, uint64_t copy)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->copy[i] == copy;
	return n;
}

/* ---- quarantine: list ---- */

struct list_ctx {
	struct ar_store *s;
	bool json;
	struct released rel;
	size_t n;
	struct sl_strbuf ids, out; /* out is shown once the audit entry is written */
};

static void json_strings(struct sl_strbuf *b, const char *const *v, size_t n)
{
	sl_strbuf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sl_strbuf_putc(b, ',');
		sl_json_str(b, v[i]);
	}
	sl_strbuf_putc(b, ']');
}

static void list_copy(void *ctx, const struct ar_copy *c)
{
	struct list_ctx *lc = ctx;
	if (!quarantined(c))
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
		json_strings(b, r->rcpt, r->nrcpt);
		sl_strbuf_puts(b, ",\"rules\":");
		json_strings(b, r->rules, r->nrules);
		sl_strbuf_puts(b, ",\"subject\":");
		sl_json_str(b, have_sum ? sum.subject : "");
		sl_strbuf_printf(b, ",\"released\":%zu}\n", times_released(&lc->rel, c->seq));
	} else {
		sl_strbuf_printf(b, "%u\tcopy %llu\t%s\t%s\t<%s>\t", id, (unsigned long long)c->seq,
			when, c->origin.peer, r->mail_from ? r->mail_from : "");
		for (size_t i = 0; i < r->nrcpt; i++)
			sl_strbuf_printf(b, "%s<%s>", i ? "," : "", r->rcpt[i]);
		sl_strbuf_putc(b, '\t');
		for (size_t i = 0; i < r->nrules; i++)
			sl_strbuf_printf(b, "%s%s", i ? "," : "", r->rules[i]);
		sl_strbuf_printf(b, "\t%s", have_sum ? sum.subject : "");
		size_t rel = times_released(&lc->rel, c->seq);
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
	ar_audit_each(s, note_release, &lc.rel);
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
	free(lc.rel.copy);
	ar_store_close(s);
	return rc;
}

/* ---- release ---- */

/* The quarantined copy a release hands on: its message and envelope. */
struct held {
	uint64_t seq;
	uint8_t blob[32];
	char *mail_from;
	char **rcpt;
	size_t nrcpt;
};

struct pick_ctx {
	uint64_t want;        /* --copy, or UINT64_MAX: the only quarantined copy */
	size_t found;
	struct held h;
	bool have, failed;
};

static void pick_copy(void *ctx, const struct ar_copy *c)
{
	struct pick_ctx *pc = ctx;
	if (!quarantined(c) || (pc->want != UINT64_MAX && c->seq != pc->want))
		return;
	if (pc->found++)
		return;
	const struct sl_journal_record *r = &c->d.rec;
	struct held *h = &pc->h;
	h->seq = c->seq;
	memcpy(h->blob, c->blob, 32);
	h->mail_from = strdup(r->mail_from ? r->mail_from : "");
	h->rcpt = calloc(r->nrcpt + 1, sizeof *h->rcpt);
	for (size_t i = 0; h->rcpt && i < r->nrcpt; i++)
		if ((h->rcpt[i] = strdup(r->rcpt[i])))
			h->nrcpt++;
	pc->have = true;
	pc->failed = !h->mail_from || !h->rcpt || h->nrcpt != r->nrcpt;
}

static void held_free(struct held *h)
{
	for (size_t i = 0; i < h->nrcpt; i++)
		free(h->rcpt[i]);
	free(h->rcpt);
	free(h->mail_from);
}

struct release_args {
	const char *data, *relay, *helo;
	uint32_t id;
	uint64_t copy;
	const char **rcpt;
	size_t nrcpt;
	int timeout_ms;
	bool again;           /* release a copy that was released before */
};


static int parse_release(int argc, char **argv, struct release_args *a)
{
	a->helo = "sluice-archive";
	a->copy = UINT64_MAX;
	a->timeout_ms = 60000;
	a->rcpt = calloc((size_t)argc, sizeof *a->rcpt);
	bool have_id = false;
	for (int i = 1; a->rcpt && i < argc; i++) {
		const char *o = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(o, "--data") && more)
			a->data = argv[++i];
		else if (!strcmp(o, "--relay") && more)
			a->relay = argv[++i];
		else if (!strcmp(o, "--helo") && more)
			a->helo = argv[++i];
		else if (!strcmp(o, "--rcpt") && more)
			a->rcpt[a->nrcpt++] = argv[++i];
		else if (!strcmp(o, "--copy") && more)
			a->copy = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(o, "--again"))
			a->again = true;
		else if (!strcmp(o, "--timeout") && more)
			a->timeout_ms = 1000 * atoi(argv[++i]);
		else if (!have_id && cli_parse_docid(o, &a->id))
			have_id = true;
		else
			return -1;
	}
	return a->rcpt && a->data && a->relay && have_id && a->timeout_ms > 0 ? 0 : -1;
}

/* The audit entries of a release: the intent before anything is sent, the outcome
 * after. */
static int audit_release(struct ar_store *s, const char *action, const struct release_args *a,
	const struct held *h, const char *const *rcpt, size_t nrcpt, const char *reply)
{
	struct sl_strbuf d;
	sl_strbuf_init(&d);
	sl_strbuf_printf(&d, "\"ids\":[%u],\"copy\":%llu,\"relay\":", a->id, (unsigned long long)h->seq);
	sl_json_str(&d, a->relay);
	sl_strbuf_puts(&d, ",\"mail_from\":");
	sl_json_str(&d, h->mail_from);
	sl_strbuf_puts(&d, ",\"rcpt\":");
	json_strings(&d, rcpt, nrcpt);
	if (reply) {
		sl_strbuf_puts(&d, ",\"reply\":");
		sl_json_str(&d, reply);
	}
	int rc = sl_strbuf_failed(&d) ? -1 : cli_audit(s, action, d.s);
	sl_strbuf_free(&d);
	return rc;
}

int cmd_release(int argc, char **argv)
{
	struct release_args a = { 0 };
	if (parse_release(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: sluice-archive release --data DIR --relay HOST:PORT "
				"[--copy N] [--rcpt ADDR]... [--helo NAME] [--timeout S] [--again] ID\n");
		free(a.rcpt);
		return 2;
	}
	struct ar_store *s = cli_open(a.data, false, false);
	if (!s) {
		free(a.rcpt);
		return 1;
	}
	int rc = 1;
	struct ar_summary sum;
	struct pick_ctx pc = { .want = a.copy };
	struct sl_strbuf raw;
	sl_strbuf_init(&raw);
	char err[256], reply[512];
	if (ar_summary_load(s, a.id, &sum) < 0) {
		fprintf(stderr, "sluice-archive release: no message %u\n", a.id);
		goto out;
	}
	ar_doc_copies(s, sum.blob, pick_copy, &pc);
	ar_summary_free(&sum);
	if (pc.failed) {
		fprintf(stderr, "sluice-archive release: out of memory\n");
		goto out;
	}
	if (!pc.have || (pc.found > 1 && a.copy == UINT64_MAX)) {
		fprintf(stderr, "sluice-archive release: message %u has %s quarantined copy%s%s\n",
			a.id, pc.found ? "more than one" : a.copy == UINT64_MAX ? "no" : "no such",
			pc.found > 1 ? " (name one with --copy N: sluice-archive quarantine lists them)" : "",
			"");
		goto out;
	}
	struct released rel = { 0 };
	ar_audit_each(s, note_release, &rel);
	size_t before = times_released(&rel, pc.h.seq);
	free(rel.copy);
	if (before && !a.again) {
		fprintf(stderr, "sluice-archive release: copy %llu of message %u was released "
				"before (sluice-archive audit): --again to send it once more\n",
			(unsigned long long)pc.h.seq, a.id);
		goto out;
	}
	if (ar_message_load(s, pc.h.blob, &raw, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive release: %u: %s\n", a.id, err);
		goto out;
	}
	const char *const *rcpt = a.nrcpt ? a.rcpt : (const char *const *)pc.h.rcpt;
	size_t nrcpt = a.nrcpt ? a.nrcpt : pc.h.nrcpt;
	if (!nrcpt) {
		fprintf(stderr, "sluice-archive release: copy %llu has no recipient: give --rcpt\n",
			(unsigned long long)pc.h.seq);
		goto out;
	}
	/* the intent is audited before a byte leaves the archive */
	if (audit_release(s, "release", &a, &pc.h, rcpt, nrcpt, NULL) < 0)
		goto out;
	struct ar_smtp_envelope env = {
		.helo = a.helo, .mail_from = pc.h.mail_from, .rcpt = rcpt, .nrcpt = nrcpt,
	};
	int sent = ar_smtp_send(a.relay, &env, (const uint8_t *)raw.s, raw.len, a.timeout_ms,
		reply, sizeof reply);
	if (audit_release(s, sent == 0 ? "released" : "release-failed", &a, &pc.h, rcpt,
			nrcpt, reply) < 0)
		fprintf(stderr, "sluice-archive release: the outcome could not be audited\n");
	else if (sent == 0)
		rc = 0;
	if (sent == 0)
		printf("released %u (copy %llu) to %s: %s\n", a.id, (unsigned long long)pc.h.seq,
			a.relay, reply);
	else
		fprintf(stderr, "sluice-archive release: %s: %s\n", a.relay, reply);
out:
	held_free(&pc.h);
	sl_strbuf_free(&raw);
	free(a.rcpt);
	ar_store_close(s);
	return rc;
}
