#include "eventlog.h"

#include <stdlib.h>
#include <string.h>

void sl_eventlog_init(struct sl_eventlog *log)
{
	memset(log, 0, sizeof *log);
	sl_strbuf_init(&log->text);
	sl_strbuf_puts(&log->text, "");
	log->run_type = -1;
	log->run_hash = EVP_MD_CTX_new();
	if (!log->run_hash)
		abort();
}

void sl_eventlog_free(struct sl_eventlog *log)
{
	sl_strbuf_free(&log->text);
	EVP_MD_CTX_free(log->run_hash);
}

static void close_run(struct sl_eventlog *log)
{
	if (log->run_type < 0)
		return;
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(log->run_hash, md, &mdlen);
	sl_strbuf_printf(&log->text, "%s txn=%u part=%s off=%llu len=%llu sha256=",
	                 sl_event_type_name(log->run_type), log->run_txn, log->run_part,
	                 (unsigned long long)log->run_offset, (unsigned long long)log->run_len);
	sl_strbuf_hex(&log->text, md, mdlen);
	sl_strbuf_putc(&log->text, '\n');
	log->run_type = -1;
}

static bool is_data(enum sl_event_type t)
{
	return t == SL_EV_RAW || t == SL_EV_PART_DATA || t == SL_EV_PART_TEXT;
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
	const char *path = ev->part ? ev->part->path : "-";
	if (is_data(ev->type)) {
		if (log->run_type != (int)ev->type || strcmp(log->run_part, path) != 0 ||
		    log->run_txn != ev->txn) {
			close_run(log);
			log->run_type = (int)ev->type;
			snprintf(log->run_part, sizeof log->run_part, "%s", path);
			log->run_txn = ev->txn;
			log->run_offset = ev->offset;
			log->run_len = 0;
			EVP_DigestInit_ex(log->run_hash, EVP_sha256(), NULL);
		}
		EVP_DigestUpdate(log->run_hash, ev->data, ev->len);
		log->run_len += ev->len;
		return;
	}
	close_run(log);
	struct sl_strbuf *b = &log->text;
	sl_strbuf_printf(b, "%s txn=%u off=%llu", sl_event_type_name(ev->type), ev->txn,
	                 (unsigned long long)ev->offset);
	if (ev->name) {
		sl_strbuf_puts(b, " name=");
		sl_json_str(b, ev->name);
	}
	if (ev->value) {
		sl_strbuf_puts(b, " value=");
		sl_json_str(b, ev->value);
	}
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
	close_run(log);
	return log->text.s;
}
