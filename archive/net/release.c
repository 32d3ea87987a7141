/* Quarantine release (net.h): the copy a gateway held back, handed to a mail host by
 * SMTP; the intent audited before a byte leaves the archive, the outcome after. Used by
 * `sluice-archive release` and the auditor API. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "message.h"
#include "search.h"

bool ar_copy_quarantined(const struct ar_copy *c)
{
	return c->d.rec.verdict && strcmp(c->d.rec.verdict, "quarantine") == 0;
}

/* ---- what was released: the "released" entries of the audit log (their
 * "ids":[ID],"copy":N come before any text a peer or user chose) ---- */

static void note_release(void *ctx, const char *entry, size_t len)
{
	struct ar_released *r = ctx;
	(void)len;
	if (!ar_audit_action_is(entry, "released"))
		return;
	const char *c = strstr(entry, "],\"copy\":");
	uint64_t *v = c ? realloc(r->copy, (r->n + 1) * sizeof *v) : NULL;
	if (!v) {
		r->failed |= c != NULL;
		return;
	}
	r->copy = v;
	r->copy[r->n++] = strtoull(c + 9, NULL, 10);
}

void ar_released_load(struct ar_store *s, struct ar_released *r)
{
	memset(r, 0, sizeof *r);
	r->failed = ar_audit_each(s, note_release, r) != 0 || r->failed;
}

size_t ar_released_times(const struct ar_released *r, uint64_t copy)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->copy[i] == copy;
	return n;
}

void ar_released_free(struct ar_released *r)
{
	free(r->copy);
	memset(r, 0, sizeof *r);
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
	uint64_t want;        /* a copy number, or UINT64_MAX: the only quarantined copy */
	size_t found;
	struct held h;
	bool have, failed;
};

static void pick_copy(void *ctx, const struct ar_copy *c)
{
	struct pick_ctx *pc = ctx;
	if (!ar_copy_quarantined(c) || (pc->want != UINT64_MAX && c->seq != pc->want))
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

static int audit_release(struct ar_store *s, const char *action, const struct ar_release_req *rq,
	const struct held *h, const char *const *rcpt, size_t nrcpt, const char *reply)
{
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	sl_strbuf_printf(&f, "\"action\":\"%s\",", action);
	if (rq->who)
		sl_strbuf_printf(&f, "%s,", rq->who);
	sl_strbuf_printf(&f, "\"ids\":[%u],\"copy\":%llu,\"relay\":", rq->id, (unsigned long long)h->seq);
	sl_json_str(&f, rq->relay);
	sl_strbuf_puts(&f, ",\"mail_from\":");
	sl_json_str(&f, h->mail_from);
	sl_strbuf_puts(&f, ",\"rcpt\":");
	ar_json_strings(&f, rcpt, nrcpt);
	if (reply) {
		sl_strbuf_puts(&f, ",\"reply\":");
		sl_json_str(&f, reply);
	}
	char err[256];
	int rc = sl_strbuf_failed(&f) ? -1 : ar_audit_append(s, getuid(), f.s, err, sizeof err);
	sl_strbuf_free(&f);
	return rc;
}

enum ar_release_status ar_release(struct ar_store *s, const struct ar_release_req *rq,
	uint64_t *copy, char *msg, size_t msglen)
{
	struct ar_summary sum;
	struct pick_ctx pc = { .want = rq->copy };
	struct sl_strbuf raw;
	sl_strbuf_init(&raw);
	enum ar_release_status st = AR_RELEASE_ERROR;
	char err[256];
	*copy = UINT64_MAX;
	snprintf(msg, msglen, "out of memory");
	if (ar_summary_load(s, rq->id, &sum) < 0) {
		snprintf(msg, msglen, "no message %u", rq->id);
		return AR_RELEASE_NO_MESSAGE;
	}
	ar_doc_copies(s, sum.blob, pick_copy, &pc);
	ar_summary_free(&sum);
	if (pc.failed)
		goto out;
	if (!pc.have || (pc.found > 1 && rq->copy == UINT64_MAX)) {
		snprintf(msg, msglen, "message %u has %s quarantined copy%s", rq->id,
			 pc.found ? "more than one" : rq->copy == UINT64_MAX ? "no" : "no such",
			 pc.found > 1 ? " (name one: sluice-archive quarantine lists them)" : "");
		st = pc.found ? AR_RELEASE_AMBIGUOUS : AR_RELEASE_NOT_QUARANTINED;
		goto out;
	}
	*copy = pc.h.seq;
	struct ar_released rel;
	ar_released_load(s, &rel);
	size_t before = ar_released_times(&rel, pc.h.seq);
	bool unknown = rel.failed;
	ar_released_free(&rel);
	if (unknown) {
		snprintf(msg, msglen, "earlier releases cannot be read from the audit log (run verify)");
		goto out;
	}
	if (before && !rq->again) {
		snprintf(msg, msglen, "copy %llu of message %u was released before",
			 (unsigned long long)pc.h.seq, rq->id);
		st = AR_RELEASE_ALREADY;
		goto out;
	}
	if (ar_message_load(s, pc.h.blob, &raw, err, sizeof err) < 0) {
		snprintf(msg, msglen, "message %u: %s", rq->id, err);
		goto out;
	}
	const char *const *rcpt = rq->nrcpt ? rq->rcpt : (const char *const *)pc.h.rcpt;
	size_t nrcpt = rq->nrcpt ? rq->nrcpt : pc.h.nrcpt;
	if (!nrcpt) {
		snprintf(msg, msglen, "copy %llu has no recipient: name one",
			 (unsigned long long)pc.h.seq);
		st = AR_RELEASE_NO_RECIPIENT;
		goto out;
	}
	if (audit_release(s, "release", rq, &pc.h, rcpt, nrcpt, NULL) < 0) {
		snprintf(msg, msglen, "the audit log cannot be written: nothing sent");
		st = AR_RELEASE_AUDIT_FAILED;
		goto out;
	}
	struct ar_smtp_envelope env = {
		.helo = rq->helo, .mail_from = pc.h.mail_from, .rcpt = rcpt, .nrcpt = nrcpt,
	};
	int sent = ar_smtp_send(rq->relay, &env, rq->tls, (const uint8_t *)raw.s, raw.len,
		rq->timeout_ms, msg, msglen);
	st = sent == 0 ? AR_RELEASED : AR_RELEASE_SEND_FAILED;
	if (audit_release(s, sent == 0 ? "released" : "release-failed", rq, &pc.h, rcpt, nrcpt,
			  msg) < 0)
		st = sent == 0 ? AR_RELEASED_UNAUDITED : AR_RELEASE_SEND_FAILED;
out:
	held_free(&pc.h);
	sl_strbuf_free(&raw);
	return st;
}
