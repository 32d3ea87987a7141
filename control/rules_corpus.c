/* The built-in corpus of `rules cost` when none is given: deterministic synthetic mail
 * that looks like office mail to a pattern matcher — English and Chinese text, dates,
 * amounts, phone and order numbers, some HTML, some base64 attachments — and holds no
 * card number or ID, so it measures the common case: mail that matches nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sluice/strbuf.h"

#define MESSAGES 300

static uint64_t next(uint64_t *s)
{
	/* xorshift64*: fixed seed, same corpus everywhere */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static const char *const words[] = {
	"the", "meeting", "report", "quarter", "please", "review", "attached", "draft", "budget",
	"schedule", "customer", "order", "shipment", "invoice", "team", "project", "update", "status",
	"Monday", "Friday", "office", "thanks", "regards", "and", "for", "with", "from", "about",
	"this", "that", "will", "we", "our", "your", "can", "need", "by", "next", "week", "sales",
	"Taipei", "contract", "signed", "approval", "travel", "hotel", "training", "server",
	"deploy", "release", "minutes", "agenda", "follow-up", "question", "answer", "support",
};
static const char *const zh[] = {
	"請參閱附件的報告。", "下週一的會議改到下午兩點。", "謝謝您的協助。", "訂單已經出貨。",
	"預算需要再確認一次。", "客戶希望提早交貨。", "我们下周讨论这个项目。", "请尽快回复。",
};

static void text(struct sl_strbuf *b, uint64_t *s, size_t bytes)
{
	size_t start = b->len, col = 0;
	while (b->len - start < bytes) {
		uint64_t r = next(s) % 100;
		if (r < 80) {
			sl_strbuf_puts(b, words[next(s) % (sizeof words / sizeof words[0])]);
		} else if (r < 84) {
			sl_strbuf_printf(b, "%04u-%02u-%02u", 2015 + (unsigned)(next(s) % 12),
			                 1 + (unsigned)(next(s) % 12), 1 + (unsigned)(next(s) % 28));
		} else if (r < 88) {
			sl_strbuf_printf(b, "NT$%u,%03u", (unsigned)(next(s) % 900), (unsigned)(next(s) % 1000));
		} else if (r < 90) {
			sl_strbuf_printf(b, "+886-2-%04u-%04u", (unsigned)(next(s) % 10000), (unsigned)(next(s) % 10000));
		} else if (r < 92) {
			sl_strbuf_printf(b, "PO%08u", (unsigned)(next(s) % 100000000));
		} else if (r < 96) {
			sl_strbuf_puts(b, zh[next(s) % (sizeof zh / sizeof zh[0])]);
		} else {
			sl_strbuf_printf(b, "%u", (unsigned)(next(s) % 100000));
		}
		col += 8;
		if (col > 66) {
			sl_strbuf_puts(b, "\r\n");
			col = 0;
		} else {
			sl_strbuf_putc(b, ' ');
		}
	}
	sl_strbuf_puts(b, "\r\n");
}

static void base64(struct sl_strbuf *b, uint64_t *s, size_t bytes)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < bytes / 3; i++) {
		uint32_t v = (uint32_t)next(s) & 0xffffff;
		for (int k = 3; k >= 0; k--)
			sl_strbuf_putc(b, tab[(v >> (6 * k)) & 63]);
		if (i % 19 == 18)
			sl_strbuf_puts(b, "\r\n");
	}
	sl_strbuf_puts(b, "\r\n");
}

size_t rules_builtin_corpus_size(void)
{
	return MESSAGES;
}

uint8_t *rules_builtin_corpus(size_t i, size_t *len)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ (i * 0x100000001B3ULL);
	next(&s);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	size_t size = 2000 + next(&s) % 12000;
	sl_strbuf_printf(&b, "From: user%zu@example.org\r\nTo: team%zu@example.net\r\n"
	                     "Subject: %s %s %u\r\nDate: Mon, 6 May 2024 10:%02zu:00 +0800\r\n"
	                     "Message-ID: <%zu.corpus@example.org>\r\nMIME-Version: 1.0\r\n",
	                 i % 17, i % 5, words[next(&s) % 20], words[next(&s) % 20],
	                 (unsigned)(next(&s) % 1000), i % 60, i);
	unsigned kind = (unsigned)(next(&s) % 10);
	if (kind < 6) {
		sl_strbuf_puts(&b, "Content-Type: text/plain; charset=utf-8\r\n"
		                   "Content-Transfer-Encoding: 8bit\r\n\r\n");
		text(&b, &s, size);
	} else if (kind < 8) {
		sl_strbuf_puts(&b, "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
		                   "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		text(&b, &s, size / 2);
		sl_strbuf_puts(&b, "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>");
		text(&b, &s, size / 2);
		sl_strbuf_puts(&b, "</p></body></html>\r\n--alt--\r\n");
	} else {
		sl_strbuf_puts(&b, "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
		                   "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		text(&b, &s, size / 3);
		sl_strbuf_printf(&b, "--mix\r\nContent-Type: application/octet-stream\r\n"
		                     "Content-Disposition: attachment; filename=\"data%zu.bin\"\r\n"
		                     "Content-Transfer-Encoding: base64\r\n\r\n", i);
		base64(&b, &s, size);
		sl_strbuf_puts(&b, "--mix--\r\n");
	}
	*len = b.len;
	return (uint8_t *)b.s;
}
