#include "protect/prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned addr_bytes(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static void clear_host_bits(uint8_t *a, uint8_t family, uint8_t len)
{
	for (unsigned i = 0; i < addr_bytes(family); i++) {
		unsigned bit = i * 8;
		if (bit >= len)
			a[i] = 0;
		else if (bit + 8 > len)
			a[i] &= (uint8_t)(0xff << (8 - (len - bit)));
	}
}

int dp_prefix_parse(const char *s, struct dp_prefix *p, char *err, size_t errlen)
{
	char text[64];
	memset(p, 0, sizeof *p);
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof text) {
		snprintf(err, errlen, "'%.80s' is not an address or prefix", s);
		return -1;
	}
	memcpy(text, s, n + 1);
	char *slash = strchr(text, '/');
	long len = -1;
	if (slash) {
		*slash = 0;
		char *end;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len < 0) {
			snprintf(err, errlen, "'%.80s': bad prefix length", s);
			return -1;
		}
	}
	if (inet_pton(AF_INET, text, p->addr) == 1) {
		p->family = 4;
	} else if (inet_pton(AF_INET6, text, p->addr) == 1) {
		p->family = 6;
	} else {
		snprintf(err, errlen, "'%.80s' is not an IPv4 or IPv6 address or prefix", s);
		return -1;
	}
	unsigned max = addr_bytes(p->family) * 8;
	if (len < 0)
		len = (long)max;
	if ((unsigned long)len > max) {
		snprintf(err, errlen, "'%.80s': prefix length above %u", s, max);
		return -1;
	}
	p->len = (uint8_t)len;
	uint8_t masked[16];
	memcpy(masked, p->addr, sizeof masked);
	clear_host_bits(masked, p->family, p->len);
	if (memcmp(masked, p->addr, sizeof masked) != 0) {
		struct dp_prefix m = *p;
		memcpy(m.addr, masked, sizeof masked);
		char want[64];
		dp_prefix_format(&m, want, sizeof want);
		snprintf(err, errlen, "'%.80s' has host bits set (the network is %s)", s, want);
		return -1;
	}
	return 0;
}

void dp_prefix_format(const struct dp_prefix *p, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	snprintf(out, len, "%s/%u", a, p->len);
}

void dp_prefix_of(struct dp_prefix *p, uint8_t family, const uint8_t *addr, uint8_t len)
{
	memset(p, 0, sizeof *p);
	p->family = family;
	p->len = len;
	memcpy(p->addr, addr, addr_bytes(family));
	clear_host_bits(p->addr, family, len);
}

bool dp_prefix_contains(const struct dp_prefix *p, uint8_t family, const uint8_t *addr)
{
	if (p->family != family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return !rest || ((p->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool dp_prefix_eq(const struct dp_prefix *a, const struct dp_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

const struct dp_list_entry *dp_lists_match(const struct dp_lists *l, uint8_t family,
                                           const uint8_t *addr, uint64_t now_ms)
{
	if (!l || !l->n)
		return NULL;
	uint32_t v = l->lookup(l->impl, family, addr);
	if (!v || v > l->n)
		return NULL;
	const struct dp_list_entry *e = &l->e[v - 1];
	if (e->until_ms && now_ms >= e->until_ms)
		return NULL;
	return e;
}

bool dp_lists_pardoned(const struct dp_lists *l, uint8_t family, const uint8_t *addr,
                       uint64_t ban_start_ms)
{
	for (size_t i = 0; l && i < l->npardons; i++)
		if (l->pardons[i].at_ms >= ban_start_ms &&
		    dp_prefix_contains(&l->pardons[i].pfx, family, addr))
			return true;
	return false;
}

static const char *const kind_names[DP_LIST_KINDS] = {"allow", "block"};

const char *dp_list_kind_name(enum dp_list_kind k)
{
	return (unsigned)k < DP_LIST_KINDS ? kind_names[k] : "?";
}

int dp_list_kind_parse(const char *s, enum dp_list_kind *out)
{
	for (int i = 0; i < DP_LIST_KINDS; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum dp_list_kind)i;
			return 0;
		}
	return -1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

int dp_list_text_read(const char *name, const char *text, enum dp_list_kind kind,
                      uint64_t added_unix, struct dp_list_entry **e, size_t *n,
                      char *err, size_t errlen)
{
	unsigned lineno = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		lineno++;
		if (len >= sizeof line) {
			snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (nl ? 1 : 0);
		char *comment = strchr(line, '#');
		if (comment)
			*comment++ = 0;
		char *pfx = trim(line);
		if (!*pfx)
			continue;
		struct dp_list_entry ent;
		memset(&ent, 0, sizeof ent);
		char msg[256];
		if (strpbrk(pfx, " \t")) {
			snprintf(err, errlen, "%s:%u: one prefix per line ('%.60s')", name, lineno, pfx);
			return -1;
		}
		if (dp_prefix_parse(pfx, &ent.pfx, msg, sizeof msg) != 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
			return -1;
		}
		ent.kind = (uint8_t)kind;
		ent.added_unix = added_unix;
		if (comment)
			snprintf(ent.comment, sizeof ent.comment, "%s", trim(comment));
		struct dp_list_entry *grown = realloc(*e, (*n + 1) * sizeof **e);
		if (!grown) {
			snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
			return -1;
		}
		*e = grown;
		(*e)[(*n)++] = ent;
	}
	return 0;
}

int dp_list_file_read(const char *path, enum dp_list_kind kind, uint64_t added_unix,
                      struct dp_list_entry **e, size_t *n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	char buf[4096];
	size_t k;
	bool ok = m != NULL;
	while (ok && (k = fread(buf, 1, sizeof buf, f)) > 0)
		ok = fwrite(buf, 1, k, m) == k;
	ok = ok && !ferror(f);
	fclose(f);
	if (m && fclose(m) != 0)
		ok = false;
	if (!ok || !text || memchr(text, 0, len)) {
		snprintf(err, errlen, "%s: %s", path, !ok || !text ? "cannot read" : "NUL byte in a list file");
		free(text);
		return -1;
	}
	int rc = dp_list_text_read(path, text, kind, added_unix, e, n, err, errlen);
	free(text);
	return rc;
}

struct ordered {
	struct dp_list_entry e;
	size_t index;
};

static int by_prefix(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c = (int)x->e.pfx.family - (int)y->e.pfx.family;
	if (!c)
		c = (int)x->e.pfx.len - (int)y->e.pfx.len;
	if (!c)
		c = memcmp(x->e.pfx.addr, y->e.pfx.addr, 16);
	if (!c)
		c = (x->index > y->index) - (x->index < y->index);
	return c;
}

size_t dp_list_dedupe(struct dp_list_entry *e, size_t n)
{
	if (n < 2)
		return n;
	struct ordered *o = malloc(n * sizeof *o);
	if (!o) { /* keep them as they are: the last of equal prefixes still wins in a build */
		return n;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = (struct ordered){e[i], i};
	qsort(o, n, sizeof *o, by_prefix);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && dp_prefix_eq(&o[i].e.pfx, &o[i + 1].e.pfx))
			continue; /* a later entry for the same prefix follows */
		e[k++] = o[i].e;
	}
	free(o);
	return k;
}

/* ---- the reference trie -------------------------------------------------------------- */

struct trie_node {
	uint32_t child[2]; /* node index + 1, 0 = none */
	uint32_t value;    /* entry index + 1 of a prefix ending here, 0 = none */
};

struct dp_trie {
	struct trie_node *nodes;
	size_t n, cap;
	uint32_t root[2]; /* [0] IPv4, [1] IPv6: node index + 1 */
};

static uint32_t node_new(struct dp_trie *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct trie_node *g = realloc(t->nodes, cap * sizeof *g);
		if (!g)
			return 0;
		t->nodes = g;
		t->cap = cap;
	}
	memset(&t->nodes[t->n], 0, sizeof t->nodes[0]);
	return (uint32_t)++t->n;
}

static bool bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

struct dp_trie *dp_trie_build(const struct dp_list_entry *e, size_t n)
{
	struct dp_trie *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct dp_prefix *p = &e[i].pfx;
		int fam = p->family == 4 ? 0 : 1;
		if (!t->root[fam] && !(t->root[fam] = node_new(t)))
			goto fail;
		uint32_t at = t->root[fam];
		for (unsigned b = 0; b < p->len; b++) {
			int dir = bit_at(p->addr, b);
			if (!t->nodes[at - 1].child[dir]) {
				uint32_t c = node_new(t);
				if (!c)
					goto fail;
				t->nodes[at - 1].child[dir] = c;
			}
			at = t->nodes[at - 1].child[dir];
		}
		t->nodes[at - 1].value = (uint32_t)i + 1; /* a later equal prefix replaces it */
	}
	return t;
fail:
	dp_trie_free(t);
	return NULL;
}

void dp_trie_free(struct dp_trie *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t);
}

uint32_t dp_trie_lookup(const void *trie, uint8_t family, const uint8_t *addr)
{
	const struct dp_trie *t = trie;
	uint32_t at = t->root[family == 4 ? 0 : 1], best = 0;
	unsigned bits = family == 4 ? 32 : 128;
	for (unsigned b = 0; at; b++) {
		if (t->nodes[at - 1].value)
			best = t->nodes[at - 1].value;
		if (b == bits)
			break;
		at = t->nodes[at - 1].child[bit_at(addr, b)];
	}
	return best;
}
