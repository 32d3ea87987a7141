/* tar (POSIX ustar, GNU long names, pax path records) read block by block: each regular
 * file goes to the next level as its data blocks arrive. */
#include "extract_int.h"

#include <string.h>

enum { TK_FILE, TK_LONGNAME, TK_PAX, TK_SKIP };

static uint64_t octal(const uint8_t *p, size_t n, bool *ok)
{
	if (p[0] & 0x80) { /* GNU base-256 */
		uint64_t v = p[0] & 0x3f;
		for (size_t i = 1; i < n; i++)
			v = v << 8 | p[i];
		return v;
	}
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\0'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(p[i] - '0');
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			*ok = false;
	return v;
}

static bool checksum_ok(const uint8_t *b)
{
	bool ok = true;
	uint64_t want = octal(b + 148, 8, &ok);
	uint64_t sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : b[i];
	return ok && sum == want;
}

/* A name from the pax or GNU long-name buffer, keeping the last X_NAME_MAX bytes. */
static void long_name_add(struct xtar *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->npax == X_NAME_MAX) {
			memmove(t->pax_path, t->pax_path + 1, X_NAME_MAX - 1);
			t->npax--;
		}
		t->pax_path[t->npax++] = (char)p[i];
	}
}

/* pax records "LEN key=value\n": the path. */
static void pax_parse(struct xtar *t)
{
	size_t i = 0;
	while (i < t->npaxbuf) {
		size_t len = 0, j = i;
		while (j < t->npaxbuf && t->paxbuf[j] >= '0' && t->paxbuf[j] <= '9')
			len = len * 10 + (size_t)(t->paxbuf[j++] - '0');
		if (!len || j >= t->npaxbuf || t->paxbuf[j] != ' ' || i + len > t->npaxbuf)
			return;
		const uint8_t *kv = t->paxbuf + j + 1, *end = t->paxbuf + i + len;
		if (end - kv > 5 && memcmp(kv, "path=", 5) == 0 && end[-1] == '\n') {
			t->npax = 0;
			long_name_add(t, kv + 5, (size_t)(end - 1 - (kv + 5)));
			t->long_name = true;
		}
		i += len;
	}
}

static void header(struct sl_extract *x, struct xlevel *l)
{
	struct xtar *t = &l->tar;
	const uint8_t *b = t->blk;
	bool zero = true;
	for (size_t i = 0; i < 512 && zero; i++)
		zero = b[i] == 0;
	if (zero) {
		if (++t->zero_blocks == 2)
			t->ended = true;
		return;
	}
	t->zero_blocks = 0;
	bool ok = checksum_ok(b);
	uint64_t size = octal(b + 124, 12, &ok);
	if (!ok) {
		x_signal(x, l, SL_SIG_EXTRACT_CORRUPT, "a tar header with a bad checksum or size");
		l->fmt = XF_IGNORE;
		return;
	}
	t->left = size;
	t->pad = (512 - size % 512) % 512;
	switch (b[156]) {
	case '0': case '\0': case '7': {
		char name[256 + 2 + 100];
		size_t n = 0;
		if (!t->long_name) {
			size_t pl = strnlen((const char *)b + 345, 155), nl = strnlen((const char *)b, 100);
			if (memcmp(b + 257, "ustar", 5) == 0 && pl) {
				memcpy(name, b + 345, pl);
				name[pl] = '/';
				n = pl + 1;
			}
			memcpy(name + n, b, nl);
			n += nl;
		}
		t->kind = TK_FILE;
		x_member_begin(x, l, t->long_name ? t->pax_path : name, t->long_name ? t->npax : n, XF_SNIFF);
		t->long_name = false;
		t->member_open = !x->halted;
		if (!size && t->member_open) {
			t->member_open = false;
			x_member_end(x, l);
		}
		return;
	}
	case 'L':
		t->kind = TK_LONGNAME;
		t->npax = 0;
		return;
	case 'x':
		t->kind = TK_PAX;
		t->npaxbuf = 0;
		return;
	default: /* directories, links, devices, global pax headers */
		t->kind = TK_SKIP;
		return;
	}
}

static void data_done(struct sl_extract *x, struct xlevel *l)
{
	struct xtar *t = &l->tar;
	if (t->kind == TK_FILE && t->member_open) {
		t->member_open = false;
		x_member_end(x, l);
	} else if (t->kind == TK_LONGNAME) {
		while (t->npax && t->pax_path[t->npax - 1] == '\0')
			t->npax--;
		t->long_name = true;
	} else if (t->kind == TK_PAX && t->npaxbuf < sizeof t->paxbuf) {
		pax_parse(t);
	}
}

void x_tar_start(struct sl_extract *x, struct xlevel *l)
{
	(void)x;
	memset(&l->tar, 0, sizeof l->tar);
}

void x_tar_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xtar *t = &l->tar;
	while (n && !x->halted && l->fmt == XF_TAR && !t->ended) {
		if (t->left) {
			size_t k = t->left < n ? (size_t)t->left : n;
			if (t->kind == TK_FILE && t->member_open)
				x_member_data(x, l, p, k);
			else if (t->kind == TK_LONGNAME)
				long_name_add(t, p, k);
			else if (t->kind == TK_PAX && t->npaxbuf <= sizeof t->paxbuf) {
				size_t room = sizeof t->paxbuf - t->npaxbuf, c = k < room ? k : room;
				memcpy(t->paxbuf + t->npaxbuf, p, c);
				t->npaxbuf += c;
				if (k > room)
					t->npaxbuf = sizeof t->paxbuf + 1; /* too long: not parsed */
			}
			p += k, n -= k, t->left -= k;
			if (!t->left && !x->halted)
				data_done(x, l);
			continue;
		}
		if (t->pad) {
			size_t k = t->pad < n ? (size_t)t->pad : n;
			p += k, n -= k, t->pad -= k;
			continue;
		}
		size_t k = 512 - t->have < n ? 512 - t->have : n;
		memcpy(t->blk + t->have, p, k);
		t->have += k, p += k, n -= k;
		if (t->have == 512) {
			t->have = 0;
			header(x, l);
		}
	}
}

void x_tar_end(struct sl_extract *x, struct xlevel *l)
{
	struct xtar *t = &l->tar;
	if (l->fmt != XF_TAR)
		return;
	bool cut = t->left || t->have || t->pad;
	if (t->member_open) {
		t->member_open = false;
		x_member_end(x, l);
		if (x->halted)
			return;
	}
	if (cut)
		x_signal(x, l, SL_SIG_EXTRACT_TRUNCATED, "the tar ends inside a member or header");
}
