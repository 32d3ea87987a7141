#include "eventlog.h"

#include <stdlib.h>
#include <string.h>

static const enum sl_event_type run_types[3] = {SL_EV_RAW, SL_EV_PART_DATA, SL_EV_PART_TEXT};

void sl_eventlog_init(struct sl_eventlog *log)
{
	memset(log, 0, sizeof *log);
	sl_strbuf_init(&log->text);
	sl_strbuf_puts(&log->text, "");
	for (int i = 0; i < 3; i++) {
		log->run[i].hash = EVP_MD_CTX_new();
		if (!log->run[i].hash)
			abort();
	}
	sl_strbuf_init(&log->members);
	sl_strbuf_puts(&log->members, "");
	log->member_run.hash = EVP_MD_CTX_new();
	if (!log->member_run.hash)
		abort();
}

void sl_eventlog_free(struct sl_eventlog *log)
{
	sl_strbuf_free(&log->text);
	for (int i = 0; i < 3; i++)
		EVP_MD_CTX_free(log->run[i].hash);
	sl_strbuf_free(&log->members);
	EVP_MD_CTX_free(log->member_run.hash);
}

static void put_name_value(struct sl_strbuf *b, const struct sl_event *ev)
{
	if (ev->name) {
		sl_strbuf_puts(b, " name=");
		sl_json_str(b, ev->name);
	}
	if (ev->value) {
		sl_strbuf_puts(b, " value=");
		sl_json_str(b, ev->value);
	}
}

/* Merge a data event into its run (opened by the first). */
static void run_add(struct sl_eventlog_run *r, const struct sl_event *ev)
{
	if (!r->open) {
		r->open = true;
		r->offset = ev->offset;
		r->len = 0;
		EVP_DigestInit_ex(r->hash, EVP_sha256(), NULL);
	}
	EVP_DigestUpdate(r->hash, ev->data, ev->len);
	r->len += ev->len;
}

static void close_member_run(struct sl_eventlog *log)
{
	struct sl_eventlog_run *r = &log->member_run;
	if (!r->open)
		return;
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(r->hash, md, &mdlen);
	sl_strbuf_printf(&log->members, "member_data off=%llu len=%llu sha256=",
	                 (unsigned long long)r->offset, (unsigned long long)r->len);
	sl_strbuf_hex(&log->members, md, mdlen);
	sl_strbuf_putc(&log->members, '\n');
	r->open = false;
}

static void flush_members(struct sl_eventlog *log, struct sl_strbuf *to)
{
	close_member_run(log);
	if (log->members.len)
		sl_strbuf_put(to, log->members.s, log->members.len);
	sl_strbuf_clear(&log->members);
}

/* Extraction events: logged apart (see eventlog.h). True when ev was one. */
static bool member_event(struct sl_eventlog *log, const struct sl_event *ev)
{
	bool extract_signal = ev->type == SL_EV_SIGNAL && ev->name && strncmp(ev->name, "extract.", 8) == 0;
	if (ev->type != SL_EV_MEMBER_BEGIN && ev->type != SL_EV_MEMBER_DATA &&
	    ev->type != SL_EV_MEMBER_END && !extract_signal)
		return false;
	if (ev->type == SL_EV_MEMBER_DATA) {
		run_add(&log->member_run, ev);
		return true;
	}
	close_member_run(log);
	struct sl_strbuf *b = &log->members;
	sl_strbuf_printf(b, "%s txn=%u off=%llu", sl_event_type_name(ev->type), ev->txn,
	                 (unsigned long long)ev->offset);
	if (ev->member) {
		sl_strbuf_printf(b, " depth=%u kind=%d format=", ev->member->depth, (int)ev->member->kind);
		sl_json_str(b, ev->member->format);
		sl_strbuf_puts(b, " path=");
		sl_json_str(b, ev->member->path);
		sl_strbuf_puts(b, " name=");
		sl_json_str(b, ev->member->name);
	}
	put_name_value(b, ev);
	sl_strbuf_printf(b, " part=%s\n", ev->part ? ev->part->path : "-");
	return true;
}

/* Print and close every open run, in a fixed order. */
static void close_runs(struct sl_eventlog *log)
{
	for (int i = 0; i < 3; i++) {
		struct sl_eventlog_run *r = &log->run[i];
		if (!r->open)
			continue;
		uint8_t md[32];
		unsigned mdlen = 0;
		EVP_DigestFinal_ex(r->hash, md, &mdlen);
		sl_strbuf_printf(&log->text, "%s txn=%u part=%s off=%llu len=%llu sha256=",
		                 sl_event_type_name(run_types[i]), log->run_txn, log->run_part,
		                 (unsigned long long)r->offset, (unsigned long long)r->len);
		sl_strbuf_hex(&log->text, md, mdlen);
		sl_strbuf_putc(&log->text, '\n');
		r->open = false;
	}
}

static int run_index(enum sl_event_type t)
{
	for (int i = 0; i < 3; i++)
		if (run_types[i] == t)
			return i;
	return -1;
}

static void put_part(struct sl_strbuf *b, const struct sl_part *p)
{
	if (!p)
		return;
	sl_strbuf_printf(b, " part=%s depth=%u kind=%d root=%d type=", p->path, p->depth,
	                 (int)p->kind, (int)p->message_root);
	sl_json_str(b, p->content_type);
	sl_strbuf_puts(b, " charset=");
	sl_json_str(b, p->charset);
	sl_strbuf_puts(b, " filename=");
	sl_json_str(b, p->filename);
	sl_strbuf_puts(b, " disposition=");
	sl_json_str(b, p->disposition);
	sl_strbuf_printf(b, " enc=%s body=%llu", sl_encoding_name(p->encoding),
	                 (unsigned long long)p->raw_body_begin);
}

static void put_envelope(struct sl_strbuf *b, const struct sl_envelope *e)
{
	if (!e)
		return;
	sl_strbuf_puts(b, " helo=");
	sl_json_str(b, e->helo);
	sl_strbuf_puts(b, " from=");
	sl_json_str(b, e->mail_from);
	sl_strbuf_printf(b, " 8bit=%d utf8=%d size=%llu bdat=%d tls=%d rcpt=[", e->body_8bitmime,
	                 e->smtputf8, (unsigned long long)e->size_param, e->bdat, e->tls);
	for (size_t i = 0; i < e->nrcpt; i++) {
		if (i)
			sl_strbuf_putc(b, ',');
		sl_json_str(b, e->rcpt[i].addr);
		sl_strbuf_printf(b, ":%d:%d", (int)e->rcpt[i].status, e->rcpt[i].reply_code);
	}
	sl_strbuf_putc(b, ']');
}

void sl_eventlog_cb(void *ctx, const struct sl_event *ev)
{
	struct sl_eventlog *log = ctx;
	log->events++;
	if (member_event(log, ev))
		return;
	const char *path = ev->part ? ev->part->path : "-";
	int ri = run_index(ev->type);
	if (ri >= 0) {
		bool any = log->run[0].open || log->run[1].open || log->run[2].open;
		if (any && (strcmp(log->run_part, path) != 0 || log->run_txn != ev->txn))
			close_runs(log);
		if (!log->run[ri].open) {
			snprintf(log->run_part, sizeof log->run_part, "%s", path);
			log->run_txn = ev->txn;
		}
		run_add(&log->run[ri], ev);
		return;
	}
	close_runs(log);
	struct sl_strbuf *b = &log->text;
	if (ev->type == SL_EV_PART_END || ev->type == SL_EV_MESSAGE_END) {
		close_member_run(log);
		flush_members(log, b);
	}
	sl_strbuf_printf(b, "%s txn=%u off=%llu", sl_event_type_name(ev->type), ev->txn,
	                 (unsigned long long)ev->offset);
	put_name_value(b, ev);
	if (ev->type == SL_EV_REPLY || ev->type == SL_EV_TXN_RESULT)
		sl_strbuf_printf(b, " code=%d last=%d", ev->code, (int)ev->last);
	if (ev->type == SL_EV_PART_END && ev->part) {
		sl_strbuf_printf(b, " decoded=%llu end=%llu sha256=",
		                 (unsigned long long)ev->part->decoded_bytes,
		                 (unsigned long long)ev->part->raw_body_end);
		sl_strbuf_hex(b, ev->part->sha256, 32);
	}
	put_part(b, ev->part);
	put_envelope(b, ev->envelope);
	sl_strbuf_putc(b, '\n');
}

const char *sl_eventlog_text(struct sl_eventlog *log)
{
	close_runs(log);
	flush_members(log, &log->text);
	return log->text.s;
}
