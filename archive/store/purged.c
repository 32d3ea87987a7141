/* The purged copies (purged.h). */
#include "purged.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

struct load_ctx {
	struct ar_purged *p;
	size_t cap;
	bool nomem;
};

static bool add(struct load_ctx *lc, uint64_t seq, const uint8_t link[32])
{
	struct ar_purged *p = lc->p;
	if (p->n == lc->cap) {
		size_t cap = lc->cap ? 2 * lc->cap : 256;
		struct ar_purged_copy *v = realloc(p->v, cap * sizeof *v);
		if (!v)
			return false;
		p->v = v;
		lc->cap = cap;
	}
	p->v[p->n].seq = seq;
	memcpy(p->v[p->n].link, link, 32);
	p->n++;
	return true;
}

/* "SEQ:HEX64" items separated by commas, up to the closing quote. */
static void parse_entry(void *ctx, const char *entry, size_t len)
{
	struct load_ctx *lc = ctx;
	(void)len;
	if (!ar_audit_action_is(entry, "purge"))
		return;
	const char *s = strstr(entry, ",\"purged\":\"");
	if (!s) {
		lc->p->bad++;
		return;
	}
	const char *m = strstr(entry, ",\"messages\":");
	if (m)
		lc->p->messages += strtoull(m + 12, NULL, 10);
	s += 11;
	while (*s && *s != '"') {
		char *end;
		uint64_t seq = strtoull(s, &end, 10);
		uint8_t link[32];
		bool ok = end != s && *end == ':';
		for (int i = 0; ok && i < 32; i++) {
			int hi = hexval(end[1 + 2 * i]), lo = hi < 0 ? -1 : hexval(end[2 + 2 * i]);
			ok = lo >= 0;
			if (ok)
				link[i] = (uint8_t)(hi << 4 | lo);
		}
		if (!ok) {
			lc->p->bad++;
			return;
		}
		if (!add(lc, seq, link))
			lc->nomem = true;
		s = end + 65;
		if (*s == ',')
			s++;
	}
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = ((const struct ar_purged_copy *)a)->seq, y = ((const struct ar_purged_copy *)b)->seq;
	return x < y ? -1 : x > y;
}

int ar_purged_load(struct ar_store *s, struct ar_purged *p)
{
	memset(p, 0, sizeof *p);
	struct load_ctx lc = { .p = p };
	ar_audit_each(s, parse_entry, &lc);
	if (p->n)
		qsort(p->v, p->n, sizeof *p->v, cmp_seq);
	return lc.nomem ? -1 : 0;
}

const uint8_t *ar_purged_link(const struct ar_purged *p, uint64_t seq)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->v[lo].seq == seq ? p->v[lo].link : NULL;
}

void ar_purged_free(struct ar_purged *p)
{
	free(p->v);
	memset(p, 0, sizeof *p);
}

void ar_purged_item(struct sl_strbuf *out, uint64_t seq, const uint8_t link[32], bool first)
{
	sl_strbuf_printf(out, "%s%llu:", first ? "" : ",", (unsigned long long)seq);
	sl_strbuf_hex(out, link, 32);
}
