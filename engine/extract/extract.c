/* The extraction stage: levels, sniffing, limits and events (extract_int.h). */
#include "extract_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The extraction stage whose call is in progress on this thread: zlib's and expat's
 * allocation hooks charge it (expat's hooks take no context). */
static __thread struct sl_extract *x_cur;

/* ---- memory ----------------------------------------------------------------------- */

void *x_alloc(struct sl_extract *x, size_t n)
{
	if (x->held + n > x->lim.extract_max_memory) {
		x->over_budget = true;
		return NULL;
	}
	void *p = sl_mem_alloc(x->mem, n);
	if (p)
		x->held += n;
	return p;
}

void x_free(struct sl_extract *x, void *p, size_t n)
{
	if (!p)
		return;
	sl_mem_free(x->mem, p, n);
	x->held -= n;
}

struct sl_extract *x_current(void)
{
	return x_cur;
}

/* zlib and expat free without a size: it is kept in front of the block (X_HDR) */
void *x_sized_alloc(size_t n)
{
	if (!x_cur)
		return NULL;
	uint8_t *p = x_alloc(x_cur, n + X_HDR);
	if (!p)
		return NULL;
	x_hdr_set(p, n, X_BLOCK_HEAP);
	return p + X_HDR;
}

void x_sized_free(void *q)
{
	if (!q || !x_cur)
		return;
	uint8_t *p = (uint8_t *)q - X_HDR;
	x_free(x_cur, p, x_hdr_size(p) + X_HDR);
}

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
	(void)opaque;
	return x_sized_alloc((size_t)items * size);
}

static void z_free(void *opaque, void *p)
{
	(void)opaque;
	x_sized_free(p);
}

/* ---- events ----------------------------------------------------------------------- */

static void emit(struct sl_extract *x, enum sl_event_type t, struct xlevel *l, const uint8_t *p,
                 size_t n, uint64_t off)
{
	char keep = x->path[l->path_len];
	x->path[l->path_len] = '\0'; /* the path of this level, not of deeper ones */
	struct sl_event ev = {
		.type = t,
		.txn = x->txn,
		.offset = off,
		.part = x->part,
		.data = p,
		.len = n,
		.member = &l->member,
	};
	struct sl_extract *self = x_cur;
	x->out(x->ctx, &ev);
	x_cur = self;
	x->path[l->path_len] = keep;
}

void x_signal(struct sl_extract *x, struct xlevel *l, enum sl_signal s, const char *why)
{
	uint64_t bit = 1ull << ((unsigned)(s - SL_SIG_EXTRACT_ENCRYPTED) % 64); /* extract.* only */
	if (x->sigmask & bit)
		return; /* once per attachment: a fact about it, not a count */
	x->sigmask |= bit;
	char keep = x->path[l->path_len];
	x->path[l->path_len] = '\0';
	char detail[256];
	snprintf(detail, sizeof detail, "%.160s: %s", x->path, why);
	x->path[l->path_len] = keep;
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = x->txn,
		.offset = x->part->raw_body_begin,
		.part = x->part,
		.name = sl_signal_name(s),
		.value = detail,
	};
	struct sl_extract *self = x_cur;
	x->out(x->ctx, &ev);
	x_cur = self;
}

void x_emit_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	if (!n || !l->begun)
		return;
	emit(x, SL_EV_MEMBER_DATA, l, p, n, l->data_off);
	l->data_off += n;
}

/* ---- levels ------------------------------------------------------------------------ */

struct xlevel *x_level(struct sl_extract *x, unsigned depth)
{
	if (depth >= x->nlv)
		return NULL;
	if (!x->lv[depth]) {
		x->lv[depth] = x_alloc(x, sizeof(struct xlevel));
		if (x->lv[depth])
			memset(x->lv[depth], 0, sizeof(struct xlevel));
	}
	return x->lv[depth];
}

static void close_level(struct sl_extract *x, struct xlevel *l)
{
	if (l->begun)
		emit(x, SL_EV_MEMBER_END, l, NULL, 0, x->part->raw_body_begin);
	l->begun = false;
	l->fmt = XF_IGNORE;
}

void x_halt(struct sl_extract *x, struct xlevel *l, enum sl_signal s, const char *why, bool message)
{
	if (x->halted)
		return;
	x_signal(x, l, s, why);
	x->halted = true;
	x->msg_halted |= message;
	/* every member still open ends here, innermost first */
	for (unsigned d = x->nlv; d-- > 0;)
		if (x->lv[d] && x->lv[d]->begun)
			close_level(x, x->lv[d]);
	for (unsigned d = 0; d < x->nlv; d++)
		if (x->lv[d])
			x->lv[d]->fmt = XF_IGNORE;
}

static bool ratio_ok(struct sl_extract *x, struct xlevel *l)
{
	if (l->z_out <= (uint64_t)x->lim.extract_max_ratio * l->z_in + X_RATIO_SLACK)
		return true;
	x_halt(x, l, SL_SIG_EXTRACT_RATIO, "compression ratio over the cap (a decompression bomb)", false);
	return false;
}

bool x_inflate_reset(struct sl_extract *x, struct xlevel *l, int bits)
{
	l->z_in = l->z_out = 0;
	l->z_check = false;
	if (l->z_ready && l->z_bits == bits) {
		if (inflateReset(&l->z) == Z_OK)
			return true;
	}
	if (l->z_ready) {
		inflateEnd(&l->z);
		l->z_ready = false;
	}
	if (!l->zout && !(l->zout = x_alloc(x, X_OUT)))
		goto nomem;
	memset(&l->z, 0, sizeof l->z);
	l->z.zalloc = z_alloc;
	l->z.zfree = z_free;
	if (inflateInit2(&l->z, bits) != Z_OK)
		goto nomem;
	l->z_ready = true;
	l->z_bits = bits;
	return true;
nomem:
	x_halt(x, l, SL_SIG_EXTRACT_MEMORY, "no memory for an inflater", true);
	return false;
}

size_t x_inflate(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n,
                 x_sink_fn sink, bool *end, bool *err)
{
	size_t used_total = 0;
	*end = *err = false;
	for (;;) {
		size_t to_check = l->z_check ? 0 : X_RATIO_STEP - l->z_in % X_RATIO_STEP;
		unsigned given = (unsigned)(n < to_check ? n : to_check);
		l->z.next_in = (Bytef *)p;
		l->z.avail_in = given;
		l->z.next_out = l->zout;
		l->z.avail_out = X_OUT;
		int rc = inflate(&l->z, Z_NO_FLUSH);
		size_t used = given - l->z.avail_in, out = X_OUT - l->z.avail_out;
		p += used, n -= used, used_total += used;
		l->z_in += used;
		l->z_out += out;
		if (used && l->z_in % X_RATIO_STEP == 0)
			l->z_check = true;
		if (out) {
			sink(x, l, l->zout, out);
			if (x->halted)
				return used_total;
		}
		if (rc == Z_STREAM_END) {
			l->z_check = false;
			*end = ratio_ok(x, l);
			return used_total;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			if (rc == Z_MEM_ERROR)
				x_halt(x, l, SL_SIG_EXTRACT_MEMORY, "no memory to inflate", true);
			*err = true;
			return used_total;
		}
		if (out == X_OUT)
			continue; /* more output may be waiting */
		if (l->z_check) { /* a step's input is in and all its output out */
			l->z_check = false;
			if (!ratio_ok(x, l))
				return used_total;
			continue;
		}
		if (n == 0 || (used == 0 && out == 0))
			return used_total;
	}
}

/* Append "/name" to the path of the level below (its last bytes when too long). */
static void set_path(struct sl_extract *x, struct xlevel *l, size_t base, const char *name, size_t n)
{
	size_t room = SL_MEMBER_PATH_MAX - 1 - base;
	size_t at = base;
	if (base && room) {
		x->path[at++] = '/';
		room--;
	}
	size_t name_at = at;
	if (n > room) {
		static const char cut[] = "...";
		size_t c = room < 3 ? room : 3;
		memcpy(x->path + at, cut, c);
		at += c;
		name += n - (room - c);
		n = room - c;
	}
	for (size_t i = 0; i < n; i++)
		x->path[at + i] = name[i] ? name[i] : '?';
	at += n;
	x->path[at] = '\0';
	l->path_len = at;
	l->member.path = x->path;
	l->member.name = x->path + name_at;
}

/* A level starts reading a new input: a member of the level below, or the part. */
static struct xlevel *open_level(struct sl_extract *x, unsigned depth, const char *name, size_t n,
                                 const char *format)
{
	struct xlevel *l = x_level(x, depth);
	if (!l) {
		/* our budget, or the owner's account (then the parser has failed and the
		 * signal goes nowhere) */
		if (depth)
			x_halt(x, x->lv[depth - 1], SL_SIG_EXTRACT_MEMORY, "no memory for a level", true);
		x->halted = true;
		return NULL;
	}
	l->fmt = XF_SNIFF;
	l->preset = XF_SNIFF;
	l->depth = depth;
	l->format = format;
	l->begun = false;
	l->data_off = 0;
	l->nsniff = 0;
	l->ole_encrypted = false;
	l->ole_match = 0;
	memset(&l->member, 0, sizeof l->member);
	l->member.depth = depth;
	l->member.format = format;
	set_path(x, l, depth ? x->lv[depth - 1]->path_len : 0, name, n);
	return l;
}

/* ---- sniffing ---------------------------------------------------------------------- */

static bool has(const struct xlevel *l, size_t at, const char *magic, size_t n)
{
	return l->nsniff >= at + n && memcmp(l->sniff + at, magic, n) == 0;
}

/* An XML document: optional BOM and white space, then "<?xml" or an element. */
static bool looks_xml(const struct xlevel *l)
{
	size_t i = has(l, 0, "\xEF\xBB\xBF", 3) ? 3 : 0;
	while (i < l->nsniff && (l->sniff[i] == ' ' || l->sniff[i] == '\t' || l->sniff[i] == '\r' ||
	                         l->sniff[i] == '\n'))
		i++;
	return i + 1 < l->nsniff && l->sniff[i] == '<' &&
	       (l->sniff[i + 1] == '?' || (l->sniff[i + 1] >= 'A' && l->sniff[i + 1] <= 'z'));
}

/* Office parts that hold no document text (styles, themes, relationships, settings):
 * their bytes are scanned as a file's, without the cost of tokenizing them. */
static bool office_markup_part(const char *name)
{
	static const char *const parts[] = {".rels", "[Content_Types].xml", "styles.xml", "theme",
	                                    "settings.xml", "fontTable.xml", "numbering.xml",
	                                    "calcChain.xml", "docProps/app.xml", "customXml/",
	                                    "printerSettings", "presProps.xml", "viewProps.xml",
	                                    "tableStyles.xml", "slideLayout", "slideMaster",
	                                    "manifest.xml", "meta.xml", NULL};
	for (const char *const *p = parts; *p; p++)
		if (strstr(name, *p))
			return true;
	return false;
}

static const char *unsupported_magic(const struct xlevel *l)
{
	if (has(l, 0, "7z\xBC\xAF\x27\x1C", 6))
		return "7z archive";
	if (has(l, 0, "Rar!\x1A\x07", 6))
		return "RAR archive";
	if (has(l, 0, "BZh", 3) && l->nsniff > 3 && l->sniff[3] >= '1' && l->sniff[3] <= '9')
		return "bzip2 data";
	if (has(l, 0, "\xFD" "7zXZ\0", 6))
		return "xz data";
	return NULL;
}

static enum xfmt sniff_format(struct sl_extract *x, struct xlevel *l)
{
	if (l->depth == 0 && x->force != XF_SNIFF)
		return x->force;
	if (l->preset != XF_SNIFF)
		return l->preset;
	if (has(l, 0, "PK\3\4", 4) || has(l, 0, "PK\5\6", 4))
		return XF_ZIP;
	if (has(l, 0, "\x1F\x8B\x08", 3))
		return XF_GZIP;
	if (has(l, 257, "ustar", 5))
		return XF_TAR;
	if (has(l, 0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
		return XF_OLE2;
	if (memmem(l->sniff, l->nsniff, "%PDF-", 5)) /* junk may come first */
		return XF_PDF;
	if (l->depth > 0 && x->lv[l->depth - 1]->fmt == XF_ZIP && looks_xml(l))
		return office_markup_part(l->member.name) ? XF_FILE : XF_XML;
	const char *what = unsupported_magic(l);
	if (what)
		x_signal(x, l, SL_SIG_EXTRACT_UNSUPPORTED, what);
	return l->depth ? XF_FILE : XF_SKIP;
}

static void feed(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);

static const char *const EMPTY = "";

/* The format of a level is known: open it (or not), announce the member. */
static void decide(struct sl_extract *x, struct xlevel *l)
{
	enum xfmt f = sniff_format(x, l);
	bool container = f == XF_ZIP || f == XF_GZIP || f == XF_TAR || f == XF_PDF;
	if (container && l->depth >= x->lim.extract_depth) {
		x_signal(x, l, SL_SIG_EXTRACT_DEPTH_EXCEEDED, "containers nested deeper than the cap");
		f = l->depth ? XF_FILE : XF_SKIP;
		container = false;
	}
	l->fmt = f;
	if (l->depth > 0) {
		if (x->members >= x->lim.extract_max_members) {
			x_halt(x, l, SL_SIG_EXTRACT_TOO_MANY_MEMBERS, "more members than the cap", true);
			return;
		}
		x->members++;
		l->member.kind = container ? SL_MEMBER_CONTAINER
		               : f == XF_XML || f == XF_PDFTEXT ? SL_MEMBER_TEXT : SL_MEMBER_FILE;
		l->begun = true;
		emit(x, SL_EV_MEMBER_BEGIN, l, NULL, 0, x->part->raw_body_begin);
		if (x->halted)
			return;
	}
	switch (f) {
	case XF_ZIP: x_zip_start(x, l); break;
	case XF_TAR: x_tar_start(x, l); break;
	case XF_GZIP: x_gz_start(x, l); break;
	case XF_PDF: x_pdf_start(x, l); break;
	case XF_PDFTEXT: x_pdftext_start(x, l); break;
	case XF_XML:
		if (!x_xml_start(x, l))
			l->fmt = XF_IGNORE;
		break;
	default: break;
	}
	if (x->halted)
		return;
	size_t n = l->nsniff;
	l->nsniff = 0;
	feed(x, l, l->sniff, n);
}

/* "EncryptedPackage" as an OLE2 directory entry name (UTF-16LE). */
static void ole_scan(struct xlevel *l, const uint8_t *p, size_t n)
{
	static const char name[] = "E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
	const size_t len = sizeof name - 1;
	for (size_t i = 0; i < n && !l->ole_encrypted; i++) {
		if (p[i] == (uint8_t)name[l->ole_match])
			l->ole_match++;
		else
			l->ole_match = p[i] == 'E' ? 1 : 0;
		if (l->ole_match == len)
			l->ole_encrypted = true;
	}
}

static void feed(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	if (!n || x->halted)
		return;
	switch (l->fmt) {
	case XF_SNIFF: {
		size_t k = X_SNIFF - l->nsniff < n ? X_SNIFF - l->nsniff : n;
		memcpy(l->sniff + l->nsniff, p, k);
		l->nsniff += k;
		if (l->nsniff < X_SNIFF)
			return;
		decide(x, l);
		feed(x, l, p + k, n - k);
		return;
	}
	case XF_FILE: x_emit_data(x, l, p, n); return;
	case XF_OLE2:
		ole_scan(l, p, n);
		x_emit_data(x, l, p, n);
		return;
	case XF_ZIP: x_zip_data(x, l, p, n); return;
	case XF_TAR: x_tar_data(x, l, p, n); return;
	case XF_GZIP: x_gz_data(x, l, p, n); return;
	case XF_XML: x_xml_data(x, l, p, n); return;
	case XF_PDF: x_pdf_data(x, l, p, n); return;
	case XF_PDFTEXT: x_pdftext_data(x, l, p, n); return;
	default: return;
	}
}

static void end_level(struct sl_extract *x, struct xlevel *l)
{
	if (x->halted)
		return;
	if (l->fmt == XF_SNIFF)
		decide(x, l);
	if (x->halted)
		return;
	switch (l->fmt) {
	case XF_ZIP: x_zip_end(x, l); break;
	case XF_TAR: x_tar_end(x, l); break;
	case XF_GZIP: x_gz_end(x, l); break;
	case XF_XML: x_xml_end(x, l); break;
	case XF_PDF: x_pdf_end(x, l); break;
	case XF_PDFTEXT: x_pdftext_end(x, l); break;
	case XF_OLE2:
		if (l->ole_encrypted)
			x_signal(x, l, SL_SIG_EXTRACT_ENCRYPTED_DOCUMENT, "encrypted Office document");
		else
			x_signal(x, l, SL_SIG_EXTRACT_UNSUPPORTED, "legacy OLE2 Office document: text not extracted");
		break;
	default: break;
	}
	if (x->halted)
		return;
	close_level(x, l);
}

static const char *fmt_name(enum xfmt f)
{
	switch (f) {
	case XF_ZIP: return "zip";
	case XF_TAR: return "tar";
	case XF_GZIP: return "gzip";
	case XF_PDF: return "pdf";
	default: return "";
	}
}

/* ---- what the formats call ---------------------------------------------------------- */

void x_member_begin(struct sl_extract *x, struct xlevel *parent, const char *name, size_t n,
                    enum xfmt as)
{
	if (x->halted)
		return;
	struct xlevel *l = open_level(x, parent->depth + 1, name, n, fmt_name(parent->fmt));
	if (l)
		l->preset = as;
}

static void account(struct sl_extract *x, struct xlevel *child, size_t n)
{
	x->extracted += n;
	x->work += n;
	if (x->extracted > x->lim.extract_max_bytes)
		x_halt(x, child, SL_SIG_EXTRACT_TOO_LARGE, "more bytes extracted than the cap", true);
	else if (x->work > x->lim.extract_max_work)
		x_halt(x, child, SL_SIG_EXTRACT_TOO_SLOW, "more extraction work than the cap", true);
}

void x_member_data(struct sl_extract *x, struct xlevel *parent, const uint8_t *p, size_t n)
{
	if (x->halted || !n)
		return;
	struct xlevel *c = x->lv[parent->depth + 1];
	if (!c)
		return;
	account(x, c, n);
	feed(x, c, p, n);
}

void x_member_end(struct sl_extract *x, struct xlevel *parent)
{
	if (x->halted || !x->lv[parent->depth + 1])
		return;
	end_level(x, x->lv[parent->depth + 1]);
}

/* ---- the stage ----------------------------------------------------------------------- */

struct sl_extract *sl_extract_new(const struct sl_limits *lim, struct sl_mem *mem, sl_event_fn out,
                                  void *ctx)
{
	if (!lim->extract_depth)
		return NULL;
	struct sl_extract *x = sl_mem_calloc(mem, sizeof *x);
	if (!x)
		return NULL;
	x->lim = *lim;
	x->mem = mem;
	x->out = out;
	x->ctx = ctx;
	x->force = XF_SNIFF;
	x->nlv = lim->extract_depth + 1;
	x->lv = sl_mem_calloc(mem, x->nlv * sizeof *x->lv);
	if (!x->lv) {
		sl_mem_free(mem, x, sizeof *x);
		return NULL;
	}
	return x;
}

/* What a level holds besides itself: the inflater, its output, the XML tokenizer. */
static void level_empty(struct sl_extract *x, struct xlevel *l)
{
	if (l->z_ready)
		inflateEnd(&l->z);
	x_xml_free(x, l);
	x_free(x, l->zout, X_OUT);
	memset(l, 0, sizeof *l);
}

/* The levels made as deep as archives went, from `from` down; shallower ones are kept
 * as a new level is, without what they hold. */
static void levels_free(struct sl_extract *x, unsigned from)
{
	struct sl_extract *prev = x_cur;
	x_cur = x;
	for (unsigned d = 0; d < x->nlv; d++) {
		struct xlevel *l = x->lv[d];
		if (!l)
			continue;
		level_empty(x, l);
		if (d < from)
			continue;
		x_free(x, l, sizeof *l);
		x->lv[d] = NULL;
	}
	x_xml_arena_free(x); /* no parser lives in it any more */
	x_cur = prev;
}

/* Level 0 reads every leaf part: kept for the next connection's first part (no malloc
 * per flow), charged to the owner like the rest (X_KEPT_LEVELS * sizeof(struct xlevel)). */
void sl_extract_recycle(struct sl_extract *x)
{
	levels_free(x, X_KEPT_LEVELS);
	sl_extract_reset(x);
}

void sl_extract_free(struct sl_extract *x)
{
	if (!x)
		return;
	levels_free(x, 0);
	sl_mem_free(x->mem, x->lv, x->nlv * sizeof *x->lv);
	sl_mem_free(x->mem, x, sizeof *x);
}

void sl_extract_reset(struct sl_extract *x)
{
	/* what the last message's documents grew and refused is not the next one's */
	struct sl_extract *prev = x_cur;
	x_cur = x; /* expat's hooks free through it */
	x_xml_release(x);
	x_cur = prev;
	x->over_budget = false;
	x->active = x->halted = x->msg_halted = false;
	x->extracted = x->work = 0;
	x->members = 0;
}

void sl_extract_force(struct sl_extract *x, const char *format)
{
	x->force = !format ? XF_SNIFF
	         : strcmp(format, "zip") == 0 ? XF_ZIP
	         : strcmp(format, "tar") == 0 ? XF_TAR
	         : strcmp(format, "gzip") == 0 ? XF_GZIP
	         : strcmp(format, "pdf") == 0 ? XF_PDF
	         : XF_SNIFF;
}

size_t sl_extract_memory(const struct sl_extract *x)
{
	return x->held;
}

static void part_begin(struct sl_extract *x, const struct sl_event *ev)
{
	const struct sl_part *part = ev->part;
	x->active = false;
	if (!part || part->kind != SL_PART_LEAF || x->msg_halted)
		return;
	x->part = part;
	x->txn = ev->txn;
	x->halted = false;
	x->sigmask = 0;
	char alt[SL_PATH_MAX + 8];
	const char *name = part->filename;
	if (!name || !*name) {
		snprintf(alt, sizeof alt, "part-%s", part->path);
		name = alt;
	}
	if (open_level(x, 0, name, strlen(name), EMPTY))
		x->active = true;
}

void sl_extract_before(struct sl_extract *x, const struct sl_event *ev)
{
	if (!x || ev->type != SL_EV_PART_END || !x->active || ev->part != x->part)
		return;
	struct sl_extract *prev = x_cur;
	x_cur = x;
	struct xlevel *l = x->lv[0];
	if (!x->halted && l->fmt != XF_SKIP)
		end_level(x, l);
	x->active = false;
	x_cur = prev;
}

void sl_extract_after(struct sl_extract *x, const struct sl_event *ev)
{
	if (!x)
		return;
	struct sl_extract *prev = x_cur;
	x_cur = x;
	if (ev->type == SL_EV_PART_BEGIN) {
		part_begin(x, ev);
	} else if (ev->type == SL_EV_PART_DATA && x->active && ev->part == x->part && !x->halted) {
		struct xlevel *l = x->lv[0];
		if (l->fmt != XF_SKIP) {
			x->work += ev->len;
			if (x->work > x->lim.extract_max_work)
				x_halt(x, l, SL_SIG_EXTRACT_TOO_SLOW, "more extraction work than the cap", true);
			else
				feed(x, l, ev->data, ev->len);
		}
	}
	x_cur = prev;
}
