/* gzip (RFC 1952) through zlib's own header and trailer handling: one member whose name
 * is the header's FNAME (or the container's name without .gz); concatenated gzip members
 * continue it, as gunzip does. */
#include "extract_int.h"

#include <string.h>

static bool gz_reset(struct sl_extract *x, struct xlevel *l)
{
	if (!x_inflate_reset(x, l, 15 + 16))
		return false;
	memset(&l->gz.head, 0, sizeof l->gz.head);
	l->gz.name[0] = '\0';
	l->gz.head.name = l->gz.name;
	l->gz.head.name_max = X_NAME_MAX;
	if (inflateGetHeader(&l->z, &l->gz.head) != Z_OK)
		return false;
	return true;
}

/* The name of the inner file when the header has none: "a.tar.gz" -> "a.tar". */
static void default_name(struct sl_extract *x, struct xlevel *l, char *out, size_t cap)
{
	const char *name = l->member.name ? l->member.name : x->path;
	size_t n = strnlen(name, l->path_len);
	if (n > cap - 5)
		name += n - (cap - 5), n = cap - 5;
	memcpy(out, name, n);
	out[n] = '\0';
	if (n > 3 && strcmp(out + n - 3, ".gz") == 0)
		out[n - 3] = '\0';
	else if (n > 4 && strcmp(out + n - 4, ".tgz") == 0)
		strcpy(out + n - 4, ".tar");
	else
		strcpy(out + n, ".out");
}

static void gz_sink(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xgz *g = &l->gz;
	if (!g->member_open) {
		char dflt[X_NAME_MAX + 8];
		l->gz.name[X_NAME_MAX] = '\0';
		const char *name = (const char *)g->name;
		if (!name[0]) {
			default_name(x, l, dflt, sizeof dflt);
			name = dflt;
		}
		x_member_begin(x, l, name, strlen(name), XF_SNIFF);
		if (x->halted)
			return;
		g->member_open = true;
	}
	x_member_data(x, l, p, n);
}

void x_gz_start(struct sl_extract *x, struct xlevel *l)
{
	memset(&l->gz, 0, sizeof l->gz);
	if (!gz_reset(x, l) && !x->halted) {
		x_signal(x, l, SL_SIG_EXTRACT_CORRUPT, "gzip: cannot start the inflater");
		l->fmt = XF_IGNORE;
	}
}

void x_gz_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xgz *g = &l->gz;
	while (n && !x->halted && l->fmt == XF_GZIP && !g->garbage) {
		if (g->ended) {
			if (p[0] != 0x1f) { /* trailing garbage, ignored as gunzip does */
				g->garbage = true;
				return;
			}
			if (!gz_reset(x, l))
				return;
			g->ended = false;
		}
		bool end, err;
		size_t used = x_inflate(x, l, p, n, gz_sink, &end, &err);
		p += used, n -= used;
		if (x->halted)
			return;
		if (err || (!end && n)) {
			if (g->member_open) {
				g->member_open = false;
				x_member_end(x, l);
			}
			x_signal(x, l, SL_SIG_EXTRACT_CORRUPT, "bad gzip data");
			l->fmt = XF_IGNORE;
			return;
		}
		g->ended = end;
	}
}

void x_gz_end(struct sl_extract *x, struct xlevel *l)
{
	struct xgz *g = &l->gz;
	if (l->fmt != XF_GZIP)
		return;
	if (g->member_open) {
		g->member_open = false;
		x_member_end(x, l);
		if (x->halted)
			return;
	}
	if (!g->ended)
		x_signal(x, l, SL_SIG_EXTRACT_TRUNCATED, "the gzip data ends before its trailer");
}
