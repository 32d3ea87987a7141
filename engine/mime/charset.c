#include "charset.h"
#include "../core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_charset_alias {
	const char *label;  /* normalized as Python's encodings.normalize_encoding */
	const char *header; /* "#ASCII", "#UTF8", "#LATIN1" or an iconv name */
	const char *body;
};
#include "charset_aliases.inc"

#define NALIASES (sizeof charset_aliases / sizeof charset_aliases[0])

static int cmp_alias(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sl_charset_alias *)elem)->label);
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* codecs.lookup(): lowercase, then runs of anything but [A-Za-z0-9.] become one '_'
 * (none at the start or end); non-ASCII characters are dropped. */
static size_t normalize(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	bool punct = false;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		uint8_t c = (uint8_t)s[i];
		if (is_alnum(c) || c == '.') {
			if (punct && o)
				out[o++] = '_';
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			punct = false;
		} else if (c < 0x80) {
			punct = true;
		}
		/* non-ASCII: Python's isalnum() may be true, but it is never appended */
	}
	out[o] = '\0';
	return o;
}

static struct sl_cs kind_of(const char *name)
{
	struct sl_cs cs = {SL_CS_ICONV, name};
	if (strcmp(name, "#ASCII") == 0)
		cs.kind = SL_CS_ASCII;
	else if (strcmp(name, "#UTF8") == 0)
		cs.kind = SL_CS_UTF8;
	else if (strcmp(name, "#LATIN1") == 0)
		cs.kind = SL_CS_LATIN1;
	if (cs.kind != SL_CS_ICONV)
		cs.iconv_name = NULL;
	return cs;
}

static struct sl_cs lookup(const char *label, size_t n, bool body)
{
	struct sl_cs none = {SL_CS_UNKNOWN, NULL};
	char key[80];
	if (n >= sizeof key)
		return none;
	normalize(label, n, key, sizeof key);
	const struct sl_charset_alias *a =
		bsearch(key, charset_aliases, NALIASES, sizeof *charset_aliases, cmp_alias);
	if (!a && strchr(key, '.')) {
		for (char *p = key; *p; p++)
			if (*p == '.')
				*p = '_';
		a = bsearch(key, charset_aliases, NALIASES, sizeof *charset_aliases, cmp_alias);
	}
	if (!a)
		return none;
	return kind_of(body ? a->body : a->header);
}

/* The labels a thread looked up last, as written: mail names a handful of charsets over
 * and over (each text part, each encoded word), and normalizing one and searching the
 * alias table costs about ten string compares. A result depends on the label's bytes
 * and `body` alone, and names point into the static table, so any entry stays right. */
#define RECENT 16
#define RECENT_LABEL 30
static __thread struct {
	uint8_t n; /* 0: empty */
	bool body;
	char label[RECENT_LABEL];
	struct sl_cs cs;
} recent[RECENT];

struct sl_cs sl_charset_lookup(const char *label, size_t n, bool body)
{
	if (!n || n > RECENT_LABEL)
		return lookup(label, n, body);
	unsigned h = ((unsigned)n * 31 + (uint8_t)label[0] * 7 + (uint8_t)label[n - 1] + body) % RECENT;
	if (recent[h].n == n && recent[h].body == body && memcmp(recent[h].label, label, n) == 0)
		return recent[h].cs;
	struct sl_cs cs = lookup(label, n, body);
	recent[h].n = (uint8_t)n;
	recent[h].body = body;
	memcpy(recent[h].label, label, n);
	recent[h].cs = cs;
	return cs;
}

void sl_iconv_cache_init(struct sl_iconv_cache *c)
{
	memset(c, 0, sizeof *c);
	for (int i = 0; i < SL_ICONV_CACHE; i++)
		c->e[i].cd = (iconv_t)-1;
}

/* Descriptors are charged to the thread's current allocator, the parser's (iconv's
 * own allocations are opaque: SL_MEMACCT_ICONV each, sluice/memacct.h). */
static void cache_close(struct sl_iconv_cache *c, int i)
{
	if (c->e[i].cd == (iconv_t)-1)
		return;
	iconv_close(c->e[i].cd);
	c->e[i].cd = (iconv_t)-1;
	c->e[i].name = NULL;
	sl_mem_release(sl_mem_current(), SL_MEMACCT_ICONV);
}

void sl_iconv_cache_free(struct sl_iconv_cache *c)
{
	for (int i = 0; i < SL_ICONV_CACHE; i++)
		cache_close(c, i);
	sl_iconv_cache_init(c);
}

void sl_iconv_cache_recycle(struct sl_iconv_cache *c)
{
	for (int i = 0; i < SL_ICONV_CACHE; i++) {
		if (c->e[i].cd == (iconv_t)-1 || !sl_iconv_stash_put(c->e[i].name, c->e[i].cd))
			continue; /* closed below */
		c->e[i].cd = (iconv_t)-1;
		sl_mem_release(sl_mem_current(), SL_MEMACCT_ICONV);
	}
	sl_iconv_cache_free(c);
}

/* glibc unloads a gconv module (dlclose: munmap and a TLB shootdown across cores) when
 * its last descriptor closes, and maps it again (dlopen) at the next iconv_open. With a
 * parser, and so a cache, per SMTP session, that was about a quarter of the engine's time
 * (tools/bench engine, docs/benchmarks.md). One descriptor per charset, opened once per
 * process and never closed, keeps the module loaded; iconv_open is then a lookup.
 * `from` is a pointer into the static alias table, so pointers compare. */
#define PINNED_MAX 128
static struct {
	const char *name;
	iconv_t cd;
} pinned[PINNED_MAX];
static pthread_mutex_t pinned_lock = PTHREAD_MUTEX_INITIALIZER;
static bool pinned_all; /* sl_mime_preload_charsets ran: every module is loaded */

static void pin_module(const char *from)
{
	if (__atomic_load_n(&pinned_all, __ATOMIC_ACQUIRE))
		return;
	for (int i = 0; i < PINNED_MAX; i++) {
		const char *n = __atomic_load_n(&pinned[i].name, __ATOMIC_ACQUIRE);
		if (n == from)
			return;
		if (!n)
			break;
	}
	pthread_mutex_lock(&pinned_lock);
	for (int i = 0; i < PINNED_MAX; i++) {
		if (pinned[i].name == from)
			break;
		if (!pinned[i].name) {
			iconv_t cd = iconv_open("UTF-8", from);
			if (cd != (iconv_t)-1) {
				pinned[i].cd = cd;
				__atomic_store_n(&pinned[i].name, from, __ATOMIC_RELEASE);
			}
			break;
		}
	}
	pthread_mutex_unlock(&pinned_lock);
}

/* One module, by name (the table repeats names under other labels); with the lock. */
static bool pin_by_name(const char *name)
{
	for (int i = 0; i < PINNED_MAX; i++) {
		if (pinned[i].name && strcmp(pinned[i].name, name) == 0)
			return true;
		if (!pinned[i].name) {
			iconv_t cd = iconv_open("UTF-8", name);
			if (cd == (iconv_t)-1)
				return false;
			pinned[i].cd = cd;
			__atomic_store_n(&pinned[i].name, name, __ATOMIC_RELEASE);
			return true;
		}
	}
	return false;
}

int sl_mime_preload_charsets(char *err, size_t errlen)
{
	pthread_mutex_lock(&pinned_lock);
	int rc = 0;
	for (size_t i = 0; i < NALIASES && rc == 0; i++) {
		const char *names[2] = {charset_aliases[i].header, charset_aliases[i].body};
		for (int k = 0; k < 2 && rc == 0; k++) {
			if (names[k][0] != '#' && !pin_by_name(names[k])) {
				snprintf(err, errlen, "charset converter %s: %s", names[k],
				         errno == EINVAL ? "not installed (glibc's gconv modules)" : strerror(errno));
				rc = -1;
			}
		}
	}
	if (rc == 0)
		__atomic_store_n(&pinned_all, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&pinned_lock);
	return rc;
}

iconv_t sl_iconv_cache_get(struct sl_iconv_cache *c, const char *from)
{
	int victim = 0;
	for (int i = 0; i < SL_ICONV_CACHE; i++) {
		if (c->e[i].name == from && c->e[i].cd != (iconv_t)-1) {
			c->e[i].used = ++c->tick;
			iconv(c->e[i].cd, NULL, NULL, NULL, NULL); /* initial shift state */
			return c->e[i].cd;
		}
		if (c->e[i].used < c->e[victim].used)
			victim = i;
	}
	cache_close(c, victim);
	c->e[victim].used = ++c->tick;
	struct sl_mem *mem = sl_mem_current();
	if (!sl_mem_charge(mem, SL_MEMACCT_ICONV))
		return (iconv_t)-1; /* the parser has failed; the caller sees an unknown charset */
	iconv_t cd = sl_iconv_stash_take(from);
	if (cd != (iconv_t)-1) {
		iconv(cd, NULL, NULL, NULL, NULL); /* initial shift state */
		c->e[victim].cd = cd;
		c->e[victim].name = from;
		return cd;
	}
	pin_module(from);
	cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1) {
		sl_mem_release(mem, SL_MEMACCT_ICONV);
		if (errno == ENOMEM && mem)
			mem->failed = true;
		return cd;
	}
	c->e[victim].cd = cd;
	c->e[victim].name = from;
	return cd;
}

static void put_latin1(struct sl_strbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x80) {
			sl_strbuf_putc(b, (char)p[i]);
		} else {
			char u[2] = {(char)(0xC0 | p[i] >> 6), (char)(0x80 | (p[i] & 0x3F))};
			sl_strbuf_put(b, u, 2);
		}
	}
}

bool sl_charset_decode_header(struct sl_iconv_cache *cache, struct sl_strbuf *b,
                              const char *label, size_t label_len,
                              const uint8_t *p, size_t n, bool *undecodable)
{
	bool ascii = false;
	return sl_charset_decode_header2(cache, b, label, label_len, p, n, undecodable, &ascii);
}

/* glibc's SHIFT_JIS reads 0x5C and 0x7E as JIS X 0201 (yen sign, overline); Python's
 * shift_jis reads them as ASCII. No double-byte character maps to U+00A5 or U+203E,
 * so mapping those two back is exact. */
static void sjis_ascii(struct sl_strbuf *b, size_t from)
{
	size_t o = from;
	for (size_t i = from; i < b->len; i++) {
		if ((uint8_t)b->s[i] == 0xC2 && i + 1 < b->len && (uint8_t)b->s[i + 1] == 0xA5) {
			b->s[o++] = '\\';
			i++;
		} else if ((uint8_t)b->s[i] == 0xE2 && i + 2 < b->len && (uint8_t)b->s[i + 1] == 0x80 &&
		           (uint8_t)b->s[i + 2] == 0xBE) {
			b->s[o++] = '~';
			i += 2;
		} else {
			b->s[o++] = b->s[i];
		}
	}
	b->len = o;
	b->s[o] = '\0';
}

bool sl_charset_decode_header2(struct sl_iconv_cache *cache, struct sl_strbuf *b,
                               const char *label, size_t label_len, const uint8_t *p,
                               size_t n, bool *undecodable, bool *ascii_undecodable)
{
	size_t start = b->len;
	struct sl_cs cs = sl_charset_lookup(label, label_len, false);
	iconv_t cd = (iconv_t)-1;
	if (cs.kind == SL_CS_ICONV) {
		cd = sl_iconv_cache_get(cache, cs.iconv_name);
		if (cd == (iconv_t)-1)
			cs.kind = SL_CS_UNKNOWN;
	}
	switch (cs.kind) {
	case SL_CS_LATIN1:
		put_latin1(b, p, n);
		return true;
	case SL_CS_UNKNOWN:
	case SL_CS_ASCII:
	case SL_CS_UTF8:
		/* raw; invalid bytes are what Python's surrogateescape keeps */
		if (undecodable && sl_utf8_valid_prefix(p, n) != n)
			*undecodable = true;
		sl_strbuf_put(b, p, n);
		return cs.kind != SL_CS_UNKNOWN;
	case SL_CS_ICONV:
		break;
	}
	char *in = (char *)p;
	size_t left = n;
	char out[1024];
	while (left) {
		char *o = out;
		size_t oleft = sizeof out;
		size_t r = iconv(cd, &in, &left, &o, &oleft);
		sl_strbuf_put(b, out, (size_t)(o - out));
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL at the end: keep the byte raw and go on */
		if (undecodable)
			*undecodable = true;
		if ((uint8_t)*in < 0x80)
			*ascii_undecodable = true;
		sl_strbuf_put(b, in, 1);
		in++;
		left--;
	}
	char *o = out;
	size_t oleft = sizeof out;
	iconv(cd, NULL, NULL, &o, &oleft);
	sl_strbuf_put(b, out, (size_t)(o - out));
	if (strcmp(cs.iconv_name, "SHIFT_JIS") == 0 && b->s)
		sjis_ascii(b, start);
	return true;
}

size_t sl_utf8_valid_prefix(const uint8_t *p, size_t n)
{
	size_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (n >= 64 && __builtin_cpu_supports("avx2"))
		i = sl_utf8_valid_blocks_avx2(p, n);
#endif
	while (i < n) {
		while (i + 16 <= n) {
			uint64_t a, b;
			memcpy(&a, p + i, 8);
			memcpy(&b, p + i + 8, 8);
			if ((a | b) & 0x8080808080808080ull)
				break;
			i += 16;
		}
		if (i >= n)
			break;
		uint8_t c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		/* the common multibyte shapes inline: 2 bytes, and 3 bytes without the
		 * E0/ED range restrictions (most CJK) */
		if (c >= 0xC2 && c <= 0xDF && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
			i += 2;
			continue;
		}
		if (((c >= 0xE1 && c <= 0xEC) || c >= 0xEE) && c <= 0xEF && i + 2 < n &&
		    (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
			i += 3;
			continue;
		}
		size_t bad, l = sl_utf8_seq(p + i, n - i, &bad);
		if (!l)
			return i;
		i += l;
	}
	return i;
}

size_t sl_utf8_sanitize(struct sl_strbuf *b, const uint8_t *p, size_t n)
{
	size_t replaced = 0;
	while (n) {
		size_t ok = sl_utf8_valid_prefix(p, n);
		sl_strbuf_put(b, p, ok);
		p += ok, n -= ok;
		if (!n)
			break;
		size_t bad = 1;
		sl_utf8_seq(p, n, &bad);
		sl_strbuf_puts(b, "\xEF\xBF\xBD");
		replaced++;
		p += bad, n -= bad;
	}
	return replaced;
}

/* ---- streaming body text ---- */

static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD};

/* Double-byte charsets (Big5, GBK, GB18030, EUC-KR and their Microsoft supersets)
 * spend most of their iconv time in per-call overhead. So iconv's answer for each
 * two-byte sequence that is one BMP character is remembered, per charset, in a table
 * shared by every parser (0 = not asked yet, 1 = not a plain pair: ask iconv again in
 * context, else the code point); everything else still goes through iconv, so the
 * output is exactly iconv's. */
struct sl_dbcs {
	const char *name;
	_Atomic uint16_t tab[65536];
};

static struct sl_dbcs *dbcs_tables[8];
static pthread_mutex_t dbcs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct sl_dbcs *dbcs_for(const char *name)
{
	static const char *const eligible[] = {"BIG5", "CP950", "GBK", "GB18030", "EUC-KR", "CP949"};
	bool ok = false;
	for (size_t i = 0; i < sizeof eligible / sizeof eligible[0]; i++)
		ok |= strcmp(name, eligible[i]) == 0;
	if (!ok)
		return NULL;
	struct sl_dbcs *found = NULL;
	pthread_mutex_lock(&dbcs_lock);
	for (size_t i = 0; i < sizeof dbcs_tables / sizeof dbcs_tables[0]; i++) {
		if (dbcs_tables[i] && strcmp(dbcs_tables[i]->name, name) == 0) {
			found = dbcs_tables[i];
			break;
		}
		if (!dbcs_tables[i]) {
			found = calloc(1, sizeof *found);
			if (found) {
				found->name = name;
				dbcs_tables[i] = found;
			}
			break;
		}
	}
	pthread_mutex_unlock(&dbcs_lock);
	return found;
}

void sl_textconv_open(struct sl_textconv *t, struct sl_iconv_cache *cache, struct sl_cs cs)
{
	memset(t, 0, sizeof *t);
	t->cd = (iconv_t)-1;
	t->kind = cs.kind;
	if (cs.kind == SL_CS_ICONV) {
		t->cd = sl_iconv_cache_get(cache, cs.iconv_name);
		if (t->cd == (iconv_t)-1)
			t->kind = SL_CS_UNKNOWN;
		else
			t->dbcs = dbcs_for(cs.iconv_name);
	}
}

/* iconv's answer for one two-byte sequence: a BMP code point >= 2, or 1. */
static uint16_t dbcs_probe(iconv_t cd, uint8_t a, uint8_t b)
{
	char in[2] = {(char)a, (char)b}, out[8];
	char *ip = in, *op = out;
	size_t il = 2, ol = sizeof out;
	iconv(cd, NULL, NULL, NULL, NULL);
	size_t r = iconv(cd, &ip, &il, &op, &ol);
	size_t n = (size_t)(op - out);
	if (r == (size_t)-1 || il != 0)
		return 1;
	const uint8_t *u = (const uint8_t *)out;
	uint32_t cp;
	if (n == 2 && (u[0] & 0xE0) == 0xC0)
		cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
	else if (n == 3 && (u[0] & 0xF0) == 0xE0)
		cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
	else
		return 1;
	return cp >= 2 && cp <= 0xFFFF ? (uint16_t)cp : 1;
}

static size_t put_utf8(uint8_t *o, uint16_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (uint8_t)(0xE0 | cp >> 12);
	o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (uint8_t)(0x80 | (cp & 0x3F));
	return 3;
}

/* UTF-8 (and ASCII, and unknown charsets): pass valid runs through, replace invalid
 * subparts, keep an incomplete sequence at the end for the next call. */
static void feed_utf8(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                      void *ctx)
{
	if (t->ncarry) {
		/* complete the carried sequence from the new bytes, byte by byte */
		while (n && t->ncarry < 4) {
			t->carry[t->ncarry++] = *p++;
			n--;
			size_t bad = 0, l = sl_utf8_seq(t->carry, t->ncarry, &bad);
			if (l) {
				sink(ctx, t->carry, l);
				t->ncarry = 0;
				break;
			}
			if (bad < t->ncarry) {
				/* invalid: replace the subpart, re-read what followed it */
				sink(ctx, replacement, 3);
				t->replaced++;
				size_t rest = t->ncarry - bad;
				p -= rest;
				n += rest;
				t->ncarry = 0;
				break;
			}
		}
		if (t->ncarry)
			return; /* still incomplete: n is 0 */
	}
	while (n) {
		size_t ok = sl_utf8_valid_prefix(p, n);
		if (ok)
			sink(ctx, p, ok);
		p += ok, n -= ok;
		if (!n)
			break;
		size_t bad = 1;
		sl_utf8_seq(p, n, &bad);
		if (bad == n && n < 4 && p[0] >= 0xC2 && p[0] <= 0xF4) {
			memcpy(t->carry, p, n); /* may complete in the next call */
			t->ncarry = n;
			return;
		}
		sink(ctx, replacement, 3);
		t->replaced++;
		p += bad, n -= bad;
	}
}

static void feed_latin1(const uint8_t *p, size_t n, sl_sink_fn sink, void *ctx)
{
	uint8_t out[4096];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o + 2 > sizeof out) {
			sink(ctx, out, o);
			o = 0;
		}
		if (p[i] < 0x80) {
			out[o++] = p[i];
		} else {
			out[o++] = (uint8_t)(0xC0 | p[i] >> 6);
			out[o++] = (uint8_t)(0x80 | (p[i] & 0x3F));
		}
	}
	if (o)
		sink(ctx, out, o);
}

/* Convert as much as iconv can; stop before an incomplete sequence at the end and
 * return how many input bytes were used. */
static size_t run_iconv(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                        void *ctx)
{
	char *in = (char *)p;
	size_t left = n;
	char out[8192];
	while (left) {
		char *o = out;
		size_t oleft = sizeof out;
		size_t r = iconv(t->cd, &in, &left, &o, &oleft);
		if (o > out)
			sink(ctx, (const uint8_t *)out, (size_t)(o - out));
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL)
			break; /* incomplete sequence at the end */
		sink(ctx, replacement, 3);
		t->replaced++;
		if (!left)
			break; /* glibc's CP949 reports some errors after consuming them */
		in++;
		left--;
	}
	return n - left;
}

static void feed_iconv(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                       void *ctx)
{
	if (t->ncarry) {
		uint8_t tmp[64];
		size_t take = n < sizeof tmp - t->ncarry ? n : sizeof tmp - t->ncarry;
		memcpy(tmp, t->carry, t->ncarry);
		memcpy(tmp + t->ncarry, p, take);
		size_t tn = t->ncarry + take;
		size_t used = run_iconv(t, tmp, tn, sink, ctx);
		if (used >= t->ncarry) {
			size_t adv = used - t->ncarry;
			p += adv;
			n -= adv;
		} else if (take == n && tn - used <= sizeof t->carry) {
			/* the input ran out before the sequence completed */
			memmove(t->carry, tmp + used, tn - used);
			t->ncarry = tn - used;
			return;
		} else {
			sink(ctx, replacement, 3); /* a carry that can never complete */
			t->replaced++;
		}
		t->ncarry = 0;
	}
	while (n) {
		size_t used = run_iconv(t, p, n, sink, ctx);
		size_t rest = n - used;
		if (rest <= sizeof t->carry) {
			memcpy(t->carry, p + used, rest);
			t->ncarry = rest;
			return;
		}
		/* not an incomplete character after all: replace one byte and go on */
		sink(ctx, replacement, 3);
		t->replaced++;
		p += used + 1;
		n -= used + 1;
	}
}

/* One character of double-byte text that is not a cached pair, decided by iconv on
 * windows of 1 to 4 bytes (the longest sequence of these charsets): converted, or
 * invalid (U+FFFD, one byte skipped, whatever position iconv reports -- glibc's CP949
 * reports some errors after the bad pair, which would make the result depend on
 * where the input was cut). Returns the bytes used, or 0 when the input ends inside
 * a sequence. */
static size_t dbcs_decide(struct sl_textconv *t, const uint8_t *q, size_t avail,
                          sl_sink_fn sink, void *ctx)
{
	size_t max = avail < 4 ? avail : 4;
	for (size_t w = 1; w <= max; w++) {
		char out[32], *in = (char *)q, *o = out;
		size_t left = w, oleft = sizeof out;
		iconv(t->cd, NULL, NULL, NULL, NULL);
		size_t r = iconv(t->cd, &in, &left, &o, &oleft);
		if (r != (size_t)-1 && left == 0) {
			if (o > out)
				sink(ctx, (const uint8_t *)out, (size_t)(o - out));
			return w;
		}
		if (r == (size_t)-1 && errno == EILSEQ)
			break;
	}
	if (max < 4 && max == avail) {
		/* every window was incomplete: unless one was invalid, wait for more */
		char out[32], *in = (char *)q, *o = out;
		size_t left = avail, oleft = sizeof out;
		iconv(t->cd, NULL, NULL, NULL, NULL);
		size_t r = iconv(t->cd, &in, &left, &o, &oleft);
		if (r == (size_t)-1 && errno == EINVAL)
			return 0;
	}
	sink(ctx, replacement, 3);
	t->replaced++;
	return 1;
}

/* Double-byte text: ASCII and cached pairs here, the rest through dbcs_decide. */
static void feed_dbcs(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                      void *ctx)
{
	/* a sequence cut by the previous call */
	while (t->ncarry) {
		uint8_t tmp[8];
		size_t k = t->ncarry, take = k < 4 ? 4 - k : 0;
		if (take > n)
			take = n;
		memcpy(tmp, t->carry, k);
		memcpy(tmp + k, p, take);
		size_t used = dbcs_decide(t, tmp, k + take, sink, ctx);
		if (used == 0) {
			memcpy(t->carry + k, p, take); /* still incomplete: n was all taken */
			t->ncarry = k + take;
			return;
		}
		if (used >= k) {
			p += used - k;
			n -= used - k;
			t->ncarry = 0;
			break;
		}
		memmove(t->carry, t->carry + used, k - used);
		t->ncarry = k - used;
	}
	uint8_t out[4096];
	size_t o = 0, i = 0;
	while (i < n) {
		if (o + 8 > sizeof out) {
			sink(ctx, out, o);
			o = 0;
		}
		uint8_t c = p[i];
		if (c < 0x80) {
			uint64_t w; /* ASCII eight at a time (o + 8 fits: checked above) */
			if (i + 8 <= n && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ull))) {
				memcpy(out + o, &w, 8);
				o += 8;
				i += 8;
				continue;
			}
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 < n) {
			size_t code = (size_t)c << 8 | p[i + 1];
			uint16_t v = atomic_load_explicit(&t->dbcs->tab[code], memory_order_relaxed);
			if (!v) {
				v = dbcs_probe(t->cd, c, p[i + 1]);
				atomic_store_explicit(&t->dbcs->tab[code], v, memory_order_relaxed);
			}
			if (v >= 2) {
				o += put_utf8(out + o, v);
				i += 2;
				continue;
			}
		}
		if (o) {
			sink(ctx, out, o);
			o = 0;
		}
		size_t used = dbcs_decide(t, p + i, n - i, sink, ctx);
		if (used == 0) {
			memcpy(t->carry, p + i, n - i); /* fewer than 4 bytes */
			t->ncarry = n - i;
			return;
		}
		i += used;
	}
	if (o)
		sink(ctx, out, o);
}

/* The generic iconv path in pieces of sizeof t->seg bytes at fixed text positions. */
static void feed_iconv_segments(struct sl_textconv *t, const uint8_t *p, size_t n,
                                sl_sink_fn sink, void *ctx)
{
	while (n) {
		size_t k = sizeof t->seg - t->nseg;
		if (k > n)
			k = n;
		memcpy(t->seg + t->nseg, p, k);
		t->nseg += k;
		p += k;
		n -= k;
		if (t->nseg == sizeof t->seg) {
			t->nseg = 0;
			feed_iconv(t, t->seg, sizeof t->seg, sink, ctx);
		}
	}
}

void sl_textconv_feed(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                      void *ctx)
{
	if (!n)
		return;
	switch (t->kind) {
	case SL_CS_LATIN1:
		feed_latin1(p, n, sink, ctx);
		break;
	case SL_CS_ICONV:
		if (t->dbcs)
			feed_dbcs(t, p, n, sink, ctx);
		else
			feed_iconv_segments(t, p, n, sink, ctx);
		break;
	default:
		feed_utf8(t, p, n, sink, ctx);
		break;
	}
}

void sl_textconv_finish(struct sl_textconv *t, sl_sink_fn sink, void *ctx)
{
	if (t->nseg) {
		size_t n = t->nseg;
		t->nseg = 0;
		feed_iconv(t, t->seg, n, sink, ctx);
	}
	if (t->ncarry) {
		sink(ctx, replacement, 3);
		t->replaced++;
		t->ncarry = 0;
	}
	if (t->kind == SL_CS_ICONV) {
		char out[64], *o = out;
		size_t oleft = sizeof out;
		iconv(t->cd, NULL, NULL, &o, &oleft);
		if (o > out)
			sink(ctx, (const uint8_t *)out, (size_t)(o - out));
	}
}
