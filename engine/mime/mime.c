/* The streaming MIME parser (sluice/mime.h).
 *
 * The structure follows email.feedparser (Python 3.11, policy=default) state for
 * state, so that what we call the parts of a message is what Python's email package
 * calls them: lines end at CRLF, LF or a lone CR; a boundary line is "--boundary",
 * optionally "--", optional blanks, end of line; a boundary of any enclosing multipart
 * ends the current entity; the line end before a boundary belongs to the boundary;
 * message/... bodies are parsed as messages; message/delivery-status is a list of
 * header blocks; a multipart without its start boundary is one leaf part.
 *
 * Input is consumed line by line only where a line can matter (headers, lines that
 * start with '-' while a boundary is active, delivery-status blocks); body bytes
 * between such lines go straight to the decoders in runs. Memory is the line buffer
 * (max_line), one header field (max_header_bytes), a frame per nesting level
 * (max_depth) and the decode buffer: nothing grows with the message. */
#include "mime_int.h"
#include "mime_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pyemail.h"

#define DECODE_BUF (16 * 1024)
/* frames a recycled parser keeps (sl_mime_recycle), the root and three levels below */
#define KEPT_FRAMES 4

/* ---------------------------------------------------------------- events */

/* To the callback, with the caller's allocator current. */
static void deliver(void *ctx, const struct sl_event *ev)
{
	struct sl_mime *m = ctx;
	if (!m->fn || sl_mime_stopped(m))
		return;
	struct sl_mem *inner = sl_mem_swap(m->outer);
	m->fn(m->ctx, ev);
	sl_mem_swap(inner);
}

/* Through the extraction stage: what an archive holds ends before its part does, and
 * follows the bytes that carried it. */
void sl_mime_callout(struct sl_mime *m, const struct sl_event *ev)
{
	if (!m->fn || sl_mime_stopped(m))
		return;
	sl_extract_before(m->x, ev);
	deliver(m, ev);
	if (!sl_mime_stopped(m))
		sl_extract_after(m->x, ev);
}

void sl_mime_emit(struct sl_mime *m, const struct sl_event *ev)
{
	sl_body_flush(m); /* staged body bytes come before whatever happens next */
	sl_mime_callout(m, ev);
}

struct frame *sl_mime_top(struct sl_mime *m)
{
	return m->nframes ? m->frames[m->nframes - 1] : NULL;
}

void sl_mime_signal(struct sl_mime *m, enum sl_signal s, const char *detail, uint64_t off)
{
	/* once per entity: an anomaly is a fact about the part, not a count */
	uint64_t bit = 1ull << (s % 64);
	if (m->sigmask & bit)
		return;
	m->sigmask |= bit;
	struct frame *f = sl_mime_top(m);
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = m->txn,
		.offset = off,
		.part = f ? &f->part : NULL,
		.name = sl_signal_name(s),
		.value = detail,
	};
	sl_mime_emit(m, &ev);
}

static void emit_part(struct sl_mime *m, enum sl_event_type t, struct frame *f, uint64_t off)
{
	struct sl_event ev = {
		.type = t,
		.txn = m->txn,
		.offset = off,
		.part = &f->part,
	};
	sl_mime_emit(m, &ev);
}

/* ---------------------------------------------------------------- boundaries */

enum bmatch { B_NONE, B_SEP, B_CLOSE };

static bool only_blanks_and_eol(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	n -= i, p += i;
	return n == 0 || (n == 1 && (p[0] == '\n' || p[0] == '\r')) ||
	       (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* boundaryre.match(line): sep "--"? [ \t]* (\r\n|\r|\n)? $ */
static enum bmatch boundary_match(const struct frame *f, const uint8_t *p, size_t n)
{
	if (n < f->seplen || memcmp(p, f->sep, f->seplen) != 0)
		return B_NONE;
	p += f->seplen, n -= f->seplen;
	if (n >= 2 && p[0] == '-' && p[1] == '-')
		return only_blanks_and_eol(p + 2, n - 2) ? B_CLOSE : B_NONE;
	return only_blanks_and_eol(p, n) ? B_SEP : B_NONE;
}

static bool is_blank_line(const uint8_t *p, size_t n)
{
	return n && (p[0] == '\r' || p[0] == '\n');
}

/* The eof matchers of email.feedparser.BufferedSubFile: any active one ends input. */
static bool at_eof(struct sl_mime *m, const uint8_t *p, size_t n)
{
	for (unsigned i = 0; i < m->nframes; i++) {
		const struct frame *f = m->frames[i];
		if (f->boundary_active && boundary_match(f, p, n) != B_NONE)
			return true;
		if (f->blank_active && is_blank_line(p, n))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- frames */

/* child->path = parent.n ("n" under the root). A path longer than SL_PATH_MAX is cut
 * (documented); child and parent may be the same part. */
static void set_child_path(struct sl_part *child, const struct sl_part *parent, unsigned n)
{
	char num[16], path[SL_PATH_MAX];
	size_t nl = (size_t)snprintf(num, sizeof num, "%u", n);
	size_t pl = strlen(parent->path);
	size_t o = 0;
	if (pl) {
		memcpy(path, parent->path, pl);
		o = pl;
		if (o < sizeof path - 1)
			path[o++] = '.';
	}
	for (size_t i = 0; i < nl && o < sizeof path - 1; i++)
		path[o++] = num[i];
	path[o] = '\0';
	memcpy(child->path, path, o + 1);
}

/* NULL when out of memory (the parser has failed). */
static struct frame *push_frame(struct sl_mime *m, bool message_root)
{
	struct frame *parent = sl_mime_top(m);
	if (!m->frames[m->nframes]) {
		/* frames are made as deep as messages go, then kept for the next message */
		m->frames[m->nframes] = sl_mime_alloc(m, sizeof(struct frame));
		if (!m->frames[m->nframes])
			return NULL;
		memset(m->frames[m->nframes], 0, sizeof(struct frame));
	}
	struct frame *f = m->frames[m->nframes++];
	char *sep = f->sep, *filename = f->filename;
	memset(f, 0, sizeof *f);
	f->sep = sep;
	f->filename = filename;
	f->phase = PH_HEADERS;
	f->part.message_root = message_root;
	f->part.depth = parent ? parent->part.depth + 1 : 0;
	if (parent) {
		if (parent->kind == FK_MESSAGE)
			memcpy(f->part.path, parent->part.path, sizeof f->part.path);
		else
			set_child_path(&f->part, &parent->part, ++parent->nchildren);
	}
	m->nparts++;
	m->sigmask = 0;
	sl_hdrs_reset(&m->h);
	return f;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Does the final line end of the top entity's payload belong to a boundary? In
 * email.feedparser a multipart strips it from `_last`, the entity parsed last inside
 * the child that just ended, unless that entity's type is multipart: so an entity is
 * stripped when the chain of message/... wrappers and delivery-status reports above
 * it reaches a multipart (for a delivery-status block, only the report's last block:
 * the caller decides that). */
static bool strip_final_eol(struct sl_mime *m)
{
	struct frame *f = sl_mime_top(m);
	if (starts_with(f->part.content_type, "multipart/"))
		return false;
	for (unsigned i = m->nframes - 1; i-- > 0;) {
		enum frame_kind k = m->frames[i]->kind;
		if (k == FK_MULTIPART)
			return true;
		if (k != FK_MESSAGE && k != FK_DSN)
			return false;
	}
	return false;
}

static void handle_line(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off,
                        bool trunc, bool real_eof);

static void pop_frame(struct sl_mime *m, uint64_t off)
{
	struct frame *f = sl_mime_top(m);
	emit_part(m, SL_EV_PART_END, f, off);
	m->nframes--;
}

/* A delivery-status block waiting for its end: now we know whether it was the last. */
static void resolve_pending(struct sl_mime *m, bool last)
{
	struct frame *f = sl_mime_top(m);
	if (!f || f->phase != PH_END_PENDING)
		return;
	sl_body_end(m, f, last);
	pop_frame(m, f->part.raw_body_end);
}

/* The top entity is complete: PART_END, pop, and tell the parent. */
static void end_entity(struct sl_mime *m, uint64_t off)
{
	struct frame *f = sl_mime_top(m);
	struct frame *parent = m->nframes > 1 ? m->frames[m->nframes - 2] : NULL;
	bool pending = false;
	if (m->b.active) {
		bool strip = strip_final_eol(m);
		if (strip && parent && parent->kind == FK_DSN && m->b.nheld)
			pending = true; /* stripped only if it is the report's last block */
		else
			sl_body_end(m, f, strip);
	} else {
		f->part.raw_body_end = off;
	}
	if (pending)
		f->phase = PH_END_PENDING;
	else
		pop_frame(m, off);
	if (!parent)
		return;
	switch (parent->kind) {
	case FK_MULTIPART:
		parent->boundary_active = false;
		parent->phase = PH_CHILD_RETURN;
		break;
	case FK_MESSAGE:
		parent->phase = PH_MSG_CHILD;
		break;
	case FK_DSN:
		parent->blank_active = false;
		parent->phase = PH_DSN_BLANK;
		break;
	case FK_LEAF:
		break;
	}
}

/* The header block of the top entity ended; decide what it is and start its body.
 * `body_off` is where the body begins in the raw message. */
static void end_headers(struct sl_mime *m, uint64_t body_off)
{
	sl_hdrs_flush(m);
	struct frame *f = sl_mime_top(m);
	struct frame *parent = m->nframes > 1 ? m->frames[m->nframes - 2] : NULL;
	bool parent_digest = parent && parent->kind == FK_MULTIPART && parent->digest;
	struct sl_strbuf *bnd = &m->h.scratch;
	bool has_boundary = sl_hdrs_describe(m, f, parent_digest, bnd);
	if (sl_mime_stopped(m))
		return;
	const char *ct = f->part.content_type;

	enum frame_kind kind = FK_LEAF;
	if (strcmp(ct, "message/delivery-status") == 0)
		kind = FK_DSN;
	else if (starts_with(ct, "message/"))
		kind = FK_MESSAGE;
	else if (starts_with(ct, "multipart/")) {
		if (!has_boundary)
			sl_mime_signal(m, SL_SIG_MIME_MISSING_BOUNDARY, NULL, body_off);
		else if (bnd->len > m->lim.max_boundary)
			sl_mime_signal(m, SL_SIG_MIME_BOUNDARY_TOO_LONG, NULL, body_off);
		else
			kind = FK_MULTIPART;
	}
	if (kind != FK_LEAF && f->part.depth >= m->lim.max_depth) {
		sl_mime_signal(m, SL_SIG_MIME_DEPTH_EXCEEDED, NULL, body_off);
		kind = FK_LEAF;
	}
	if ((kind == FK_MESSAGE || kind == FK_DSN) && m->nparts >= m->lim.max_parts) {
		if (!m->parts_capped)
			sl_mime_signal(m, SL_SIG_MIME_TOO_MANY_PARTS, NULL, body_off);
		m->parts_capped = true;
		kind = FK_LEAF;
	}
	f->kind = kind;
	f->part.kind = kind == FK_LEAF ? SL_PART_LEAF
	             : kind == FK_MESSAGE ? SL_PART_MESSAGE : SL_PART_MULTIPART;
	if (f->part.message_root && kind != FK_MULTIPART) {
		/* a message's single body is its section 1 */
		set_child_path(&f->part, &f->part, 1);
	}
	f->part.raw_body_begin = body_off;
	f->text = kind == FK_LEAF && starts_with(ct, "text/");
	if (kind == FK_MULTIPART) {
		if (!f->sep && !(f->sep = sl_mime_alloc(m, m->lim.max_boundary + 3)))
			return;
		memcpy(f->sep, "--", 2);
		memcpy(f->sep + 2, bnd->s ? bnd->s : "", bnd->len);
		f->seplen = bnd->len + 2;
		f->digest = strcmp(ct, "multipart/digest") == 0;
	}
	emit_part(m, SL_EV_PART_BEGIN, f, body_off);

	/* a "From " line that ended the header block is the first body line */
	struct sl_strbuf replay = m->h.deferred;
	bool have_replay = m->h.have_deferred;
	uint64_t replay_off = m->h.deferred_off;
	sl_strbuf_init(&m->h.deferred);
	m->h.have_deferred = false;

	switch (kind) {
	case FK_LEAF:
		f->phase = PH_BODY;
		sl_body_start(m, f, true);
		break;
	case FK_MULTIPART:
		f->phase = PH_PREAMBLE;
		sl_body_start(m, f, true);
		break;
	case FK_MESSAGE:
		f->phase = PH_MSG_CHILD;
		push_frame(m, true);
		break;
	case FK_DSN:
		f->phase = PH_DSN_BLANK;
		f->blank_active = true;
		push_frame(m, false);
		break;
	}
	if (have_replay)
		handle_line(m, (const uint8_t *)replay.s, replay.len, replay_off, false, false);
	sl_strbuf_free(&replay);
}

/* The tail of an over-long line goes where its head went. */
static void set_tail(struct sl_mime *m, bool trunc, bool data)
{
	if (trunc)
		m->tail = data ? TAIL_DATA : TAIL_DROP;
}

/* One line (with its terminator; a prefix when `trunc`), or the end of input. This
 * is email.feedparser._parsegen unrolled: a state "re-reads" a line it does not
 * consume by looping with the new top entity. */
static void handle_line(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off,
                        bool trunc, bool real_eof)
{
	for (;;) {
		struct frame *f = sl_mime_top(m);
		if (!f || sl_mime_stopped(m))
			return;
		if (f->phase == PH_END_PENDING)
			f = m->frames[m->nframes - 2];
		bool eof = real_eof || (!trunc && at_eof(m, p, n));
		switch (f->phase) {
		case PH_HEADERS:
			if (f->pending_eof) {
				f->pending_eof = false;
				end_headers(m, off);
				continue;
			}
			if (eof) {
				end_headers(m, off);
				continue;
			}
			if (sl_hdrs_is_header_line(p, n)) {
				if (trunc)
					sl_mime_signal(m, SL_SIG_MIME_LINE_TOO_LONG, NULL, off);
				sl_hdrs_line(m, p, n, off);
				if (trunc)
					m->h.field_cut = true;
				set_tail(m, trunc, false);
				return;
			}
			if (is_blank_line(p, n)) {
				end_headers(m, off + n);
				return;
			}
			if (m->h.lines || m->h.have_field)
				sl_mime_signal(m, SL_SIG_MIME_BAD_HEADER, "header block ended by a line that is not a header", off);
			end_headers(m, off);
			continue;

		case PH_BODY:
		case PH_OPAQUE:
			if (eof) {
				end_entity(m, off);
				continue;
			}
			sl_body_data(m, p, n, off);
			set_tail(m, trunc, true);
			return;

		case PH_PREAMBLE:
			if (eof) {
				sl_mime_signal(m, SL_SIG_MIME_NO_START_BOUNDARY, NULL, off);
				end_entity(m, off);
				continue;
			}
			switch (trunc ? B_NONE : boundary_match(f, p, n)) {
			case B_SEP:
				sl_body_end(m, f, true); /* the preamble's last line end is the boundary's */
				f->phase = PH_AFTER_SEP;
				return;
			case B_CLOSE:
				/* start boundary never seen: the preamble is the (leaf) payload */
				sl_mime_signal(m, SL_SIG_MIME_NO_START_BOUNDARY, NULL, off);
				sl_body_end(m, f, false);
				f->phase = PH_DISCARD;
				return;
			case B_NONE:
				sl_body_data(m, p, n, off);
				set_tail(m, trunc, true);
				return;
			}
			return;

		case PH_AFTER_SEP:
			if (!eof && !trunc && boundary_match(f, p, n) != B_NONE)
				return; /* repeated boundary lines make no empty parts */
			if (m->nparts >= m->lim.max_parts) {
				if (!m->parts_capped)
					sl_mime_signal(m, SL_SIG_MIME_TOO_MANY_PARTS, NULL, off);
				m->parts_capped = true;
				f->phase = PH_OPAQUE;
				f->part.raw_body_begin = off;
				sl_body_start(m, f, true);
				continue;
			}
			f->boundary_active = true;
			struct frame *child = push_frame(m, false);
			if (!child)
				return;
			child->pending_eof = eof;
			continue;

		case PH_CHILD_RETURN:
			if (eof) {
				sl_mime_signal(m, SL_SIG_MIME_UNCLOSED_MULTIPART, NULL, off);
				end_entity(m, off);
				continue;
			}
			switch (trunc ? B_NONE : boundary_match(f, p, n)) {
			case B_SEP:
				f->phase = PH_AFTER_SEP;
				return;
			case B_CLOSE:
				f->phase = PH_EPILOGUE;
				return;
			case B_NONE:
				/* unreachable in Python (an assertion); treat as epilogue */
				f->phase = PH_EPILOGUE;
				set_tail(m, trunc, false);
				return;
			}
			return;

		case PH_EPILOGUE:
		case PH_DISCARD:
			if (eof) {
				end_entity(m, off);
				continue;
			}
			set_tail(m, trunc, false);
			return;

		case PH_MSG_CHILD:
			end_entity(m, off); /* the inner message ended at this end of input */
			continue;

		case PH_END_PENDING:
			return; /* not reached: the parent reads instead */

		case PH_DSN_BLANK:
			if (eof) {
				resolve_pending(m, true);
				end_entity(m, off);
				continue;
			}
			f->phase = PH_DSN_PEEK; /* the blank line after a block */
			set_tail(m, trunc, false);
			return;

		case PH_DSN_PEEK:
			if (eof) {
				resolve_pending(m, true);
				end_entity(m, off);
				continue;
			}
			resolve_pending(m, false);
			if (m->nparts >= m->lim.max_parts) {
				if (!m->parts_capped)
					sl_mime_signal(m, SL_SIG_MIME_TOO_MANY_PARTS, NULL, off);
				m->parts_capped = true;
				f->phase = PH_DSN_BLANK; /* swallow the rest, block by block */
				set_tail(m, trunc, false);
				return;
			}
			f->blank_active = true;
			push_frame(m, false);
			continue;
		}
	}
}

/* ---------------------------------------------------------------- memory */

void *sl_mime_alloc(struct sl_mime *m, size_t n)
{
	return sl_mem_alloc(m->mem, n);
}

/* The decode buffer holds bytes only within one feed or finish call, so one per
 * thread serves every parser; a parser fed from inside another's event callback
 * (same thread, buffer in use) gets its own. */
static __thread uint8_t *thread_dec;
static __thread bool thread_dec_busy;
static pthread_key_t dec_key;
static pthread_once_t dec_once = PTHREAD_ONCE_INIT;

static void dec_key_create(void)
{
	(void)pthread_key_create(&dec_key, free); /* frees it when the thread exits */
}

/* False when there is no memory for it (the parser has failed). */
static bool dec_acquire(struct sl_mime *m)
{
	if (!thread_dec_busy) {
		if (!thread_dec) {
			/* the thread's, charged to nobody (sluice/memacct.h) */
			pthread_once(&dec_once, dec_key_create);
			thread_dec = malloc(DECODE_BUF);
			if (!thread_dec || pthread_setspecific(dec_key, thread_dec) != 0) {
				free(thread_dec);
				thread_dec = NULL;
				m->mem->failed = true;
				return false;
			}
		}
		thread_dec_busy = true;
		m->dec = thread_dec;
		m->dec_shared = true;
		return true;
	}
	if (!m->own_dec && !(m->own_dec = sl_mime_alloc(m, DECODE_BUF)))
		return false;
	m->dec = m->own_dec;
	m->dec_shared = false;
	return true;
}

static void dec_release(struct sl_mime *m)
{
	if (m->dec_shared)
		thread_dec_busy = false;
	m->dec_shared = false;
	m->dec = NULL;
}

/* ---------------------------------------------------------------- input */

/* Line scanning. Vector versions for AVX2 (chosen at run time) and SSE2 (baseline
 * x86-64), a scalar one otherwise. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_SCAN 1
#include <immintrin.h>

__attribute__((target("avx2"))) static const uint8_t *find_eol_avx2(const uint8_t *p, size_t n,
                                                                    size_t *done)
{
	const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
		unsigned m = (unsigned)_mm256_movemask_epi8(
			_mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)));
		if (m)
			return p + i + __builtin_ctz(m);
	}
	*done = i;
	return NULL;
}

__attribute__((target("avx2"))) static const uint8_t *find_dash_avx2(const uint8_t *p, size_t n,
                                                                     size_t *done)
{
	const __m256i dash = _mm256_set1_epi8('-'), cr = _mm256_set1_epi8('\r'),
	              lf = _mm256_set1_epi8('\n');
	size_t i = 1;
	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
		__m256i d = _mm256_cmpeq_epi8(v, dash);
		if (!_mm256_movemask_epi8(d))
			continue; /* most blocks: no '-' at all */
		__m256i prev = _mm256_loadu_si256((const __m256i *)(p + i - 1));
		__m256i eol = _mm256_or_si256(_mm256_cmpeq_epi8(prev, cr), _mm256_cmpeq_epi8(prev, lf));
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(d, eol));
		if (m)
			return p + i + __builtin_ctz(m);
	}
	*done = i;
	return NULL;
}

static bool have_avx2;

__attribute__((constructor)) static void detect_avx2(void)
{
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2");
}

static inline bool use_avx2(void)
{
	return have_avx2;
}
#endif

/* The first CR or LF in p, or NULL. */
static const uint8_t *find_eol(const uint8_t *p, size_t n)
{
	size_t i = 0;
#ifdef HAVE_AVX2_SCAN
	if (use_avx2() && n >= 32) {
		const uint8_t *q = find_eol_avx2(p, n, &i);
		if (q)
			return q;
	}
#endif
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
		                                                      _mm_cmpeq_epi8(v, lf)));
		if (m)
			return p + i + __builtin_ctz(m);
	}
#endif
	for (; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n')
			return p + i;
	return NULL;
}

/* The first '-' at the start of a line in p[1..n), i.e. preceded by CR or LF, or
 * NULL. Only such a line can be a boundary. */
static const uint8_t *find_dash_line(const uint8_t *p, size_t n)
{
	size_t i = 1;
#ifdef HAVE_AVX2_SCAN
	if (use_avx2() && n >= 33) {
		const uint8_t *q = find_dash_avx2(p, n, &i);
		if (q)
			return q;
	}
#endif
#ifdef __SSE2__
	const __m128i dash = _mm_set1_epi8('-'), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i prev = _mm_loadu_si128((const __m128i *)(p + i - 1));
		__m128i eol = _mm_or_si128(_mm_cmpeq_epi8(prev, cr), _mm_cmpeq_epi8(prev, lf));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(v, dash), eol));
		if (m)
			return p + i + __builtin_ctz(m);
	}
#endif
	for (; i < n; i++)
		if (p[i] == '-' && (p[i - 1] == '\r' || p[i - 1] == '\n'))
			return p + i;
	return NULL;
}

static void line_append(struct sl_mime *m, const uint8_t *p, size_t n)
{
	memcpy(m->line + m->line_len, p, n);
	m->line_len += n;
}

static void complete_line(struct sl_mime *m)
{
	m->in_line = false;
	m->line_cr = false;
	handle_line(m, m->line, m->line_len, m->line_off, false, false);
}

/* Assemble a line that may matter; returns bytes consumed. */
static size_t feed_line(struct sl_mime *m, const uint8_t *p, size_t n)
{
	if (!m->in_line) {
		m->in_line = true;
		m->line_len = 0;
		m->line_off = m->off;
	}
	if (m->line_cr) {
		size_t k = 0;
		if (p[0] == '\n') {
			line_append(m, p, 1);
			k = 1;
		}
		m->off += k;
		complete_line(m);
		return k;
	}
	const uint8_t *eol = find_eol(p, n);
	size_t content = eol ? (size_t)(eol - p) : n;
	if (m->line_len + content > m->lim.max_line) {
		/* over-long: hand over the head now, the rest follows as the line's tail */
		size_t k = m->lim.max_line - m->line_len;
		line_append(m, p, k);
		m->off += k;
		m->in_line = false;
		handle_line(m, m->line, m->line_len, m->line_off, true, false);
		if (m->tail == TAIL_NONE)
			m->tail = TAIL_DROP;
		return k;
	}
	if (!eol) {
		line_append(m, p, n);
		m->off += n;
		return n;
	}
	size_t k = content + 1;
	line_append(m, p, k);
	if (*eol == '\r') {
		if (k < n) {
			if (p[k] == '\n')
				line_append(m, p + k++, 1);
		} else {
			m->line_cr = true; /* is the next byte LF? */
			m->off += k;
			return k;
		}
	}
	m->off += k;
	complete_line(m);
	return k;
}

static void route_data(struct sl_mime *m, const uint8_t *p, size_t n)
{
	struct frame *f = sl_mime_top(m);
	if (n && f && (f->phase == PH_BODY || f->phase == PH_PREAMBLE || f->phase == PH_OPAQUE))
		sl_body_data(m, p, n, m->off);
	m->off += n;
}

/* The rest of an over-long line. */
static size_t feed_tail(struct sl_mime *m, const uint8_t *p, size_t n)
{
	bool data = m->tail == TAIL_DATA;
	if (m->tail_cr) {
		m->tail_cr = false;
		m->tail = TAIL_NONE;
		if (p[0] != '\n')
			return 0;
		if (data)
			route_data(m, p, 1);
		else
			m->off++;
		return 1;
	}
	const uint8_t *eol = find_eol(p, n);
	size_t k = eol ? (size_t)(eol - p) + 1 : n;
	if (eol && *eol == '\r') {
		if (k < n) {
			if (p[k] == '\n')
				k++;
		} else {
			m->tail_cr = true;
		}
	}
	if (data)
		route_data(m, p, k);
	else
		m->off += k;
	if (eol && !m->tail_cr)
		m->tail = TAIL_NONE;
	return k;
}

static bool fast_ok(struct sl_mime *m)
{
	struct frame *f = sl_mime_top(m);
	if (!f)
		return false;
	switch (f->phase) {
	case PH_BODY:
	case PH_PREAMBLE:
	case PH_OPAQUE:
	case PH_EPILOGUE:
	case PH_DISCARD:
		break;
	default:
		return false;
	}
	for (unsigned i = 0; i < m->nframes; i++)
		if (m->frames[i]->blank_active)
			return false;
	return true;
}

static bool boundary_possible(struct sl_mime *m)
{
	if (sl_mime_top(m)->phase == PH_PREAMBLE)
		return true;
	for (unsigned i = 0; i < m->nframes; i++)
		if (m->frames[i]->boundary_active)
			return true;
	return false;
}

/* Body bytes in runs: only a line starting with '-' can be a boundary, so skip from
 * one such line start to the next. */
static size_t feed_fast(struct sl_mime *m, const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (m->fast_cr) {
		m->fast_cr = false;
		if (p[0] == '\n') {
			route_data(m, p, 1);
			i = 1;
		}
		m->fast_mid_line = false;
	}
	bool cand = boundary_possible(m);
	if (cand && !m->fast_mid_line && i < n && p[i] == '-') {
		m->in_line = true;
		m->line_len = 0;
		m->line_off = m->off;
		return i;
	}
	if (cand && i < n) {
		const uint8_t *q = find_dash_line(p + i, n - i);
		if (q) {
			size_t k = (size_t)(q - p);
			route_data(m, p + i, k - i);
			m->fast_mid_line = false;
			m->in_line = true;
			m->line_len = 0;
			m->line_off = m->off;
			return k;
		}
	}
	route_data(m, p + i, n - i);
	if (n > i) {
		uint8_t last = p[n - 1];
		m->fast_mid_line = last != '\n' && last != '\r';
		m->fast_cr = last == '\r';
	}
	return n;
}

/* Every entry point: the parser's allocator is current inside it, the caller's around
 * callbacks and after it. A standalone parser that failed says so once, on the way out. */
static bool enter(struct sl_mime *m)
{
	m->outer = sl_mem_swap(m->mem);
	return !sl_mime_stopped(m);
}

static void leave(struct sl_mime *m)
{
	if (sl_mime_stopped(m) && m->mem == &m->own_mem && !m->fail_signalled && m->fn) {
		m->fail_signalled = true;
		struct sl_event ev = {
			.type = SL_EV_SIGNAL,
			.txn = m->txn,
			.offset = m->off,
			.name = sl_signal_name(SL_SIG_ENGINE_MEMORY),
			.value = "MIME parser out of memory; nothing more is parsed",
		};
		sl_mem_swap(m->outer);
		m->fn(m->ctx, &ev);
		return;
	}
	sl_mem_swap(m->outer);
}

void sl_mime_feed(struct sl_mime *m, const uint8_t *p, size_t n)
{
	if (m->finished)
		return;
	if (!enter(m) || !dec_acquire(m)) {
		leave(m);
		return;
	}
	while (n && m->nframes && !sl_mime_stopped(m)) {
		size_t k;
		if (m->tail != TAIL_NONE)
			k = feed_tail(m, p, n);
		else if (!m->in_line && fast_ok(m))
			k = feed_fast(m, p, n);
		else
			k = feed_line(m, p, n);
		p += k;
		n -= k;
	}
	m->off += n; /* after the root entity ended (cannot happen before finish) */
	sl_body_flush(m);
	dec_release(m);
	leave(m);
}

void sl_mime_finish(struct sl_mime *m)
{
	if (m->finished)
		return;
	m->finished = true;
	if (!enter(m) || !dec_acquire(m)) {
		leave(m);
		return;
	}
	m->tail = TAIL_NONE;
	m->tail_cr = false;
	if (m->in_line)
		complete_line(m); /* the last line, without (or with a lone CR) terminator */
	while (m->nframes && !sl_mime_stopped(m))
		handle_line(m, NULL, 0, m->off, false, true);
	sl_body_flush(m);
	dec_release(m);
	leave(m);
}

/* ---------------------------------------------------------------- lifecycle */

static void reset(struct sl_mime *m, uint32_t txn)
{
	m->txn = txn;
	m->off = 0;
	m->finished = false;
	m->line_len = 0;
	m->in_line = m->line_cr = false;
	m->tail = TAIL_NONE;
	m->tail_cr = m->fast_mid_line = m->fast_cr = false;
	m->nframes = 0;
	m->nparts = 0;
	m->parts_capped = false;
	m->b.active = false;
	m->b.staged = 0;
	push_frame(m, true);
}

void sl_mime_reset(struct sl_mime *m, uint32_t txn)
{
	if (m->x)
		sl_extract_reset(m->x);
	if (enter(m))
		reset(m, txn);
	else
		m->txn = txn;
	leave(m);
}

void sl_mime_recycle(struct sl_mime *m)
{
	m->outer = sl_mem_swap(m->mem);
	/* the shallow frames are kept with their boundary and filename buffers, for the next
	 * flow's messages as for the next message (push_frame); deeper ones are freed */
	for (unsigned i = KEPT_FRAMES; i < m->nframe_slots; i++) {
		struct frame *f = m->frames[i];
		if (!f)
			continue;
		sl_mem_free(m->mem, f->sep, m->lim.max_boundary + 3);
		sl_mem_free(m->mem, f->filename, m->lim.max_filename + 4);
		sl_mem_free(m->mem, f, sizeof *f);
		m->frames[i] = NULL;
	}
	sl_mem_free(m->mem, m->own_dec, DECODE_BUF);
	m->own_dec = NULL;
	sl_hdrs_reset(&m->h); /* its buffers are kept, the long ones freed */
	sl_iconv_cache_recycle(&m->iconv); /* the next flow on this thread reuses them */
	if (m->x)
		sl_extract_recycle(m->x);
	m->sigmask = 0;
	reset(m, 0);
	sl_mem_swap(m->outer);
}

static struct sl_mime *create(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                              struct sl_mem *shared, const struct sl_memacct *acct)
{
	struct sl_mem own;
	sl_mem_init(&own, acct);
	struct sl_mime *m = sl_mem_calloc(shared ? shared : &own, sizeof *m);
	if (!m)
		return NULL;
	m->own_mem = own;
	m->mem = shared ? shared : &m->own_mem;
	if (lim)
		m->lim = *lim;
	else
		sl_limits_default(&m->lim);
	if (m->lim.max_line < 80)
		m->lim.max_line = 80;
	if (m->lim.max_depth < 1)
		m->lim.max_depth = 1;
	if (m->lim.max_parts < 1)
		m->lim.max_parts = 1;
	m->fn = fn;
	m->ctx = ctx;
	m->outer = sl_mem_swap(m->mem);
	/* a parser lives as long as its SMTP session (one per flow in the dataplane): it
	 * starts with the line buffer and frame slots; frames, boundaries and filenames
	 * are allocated as deep as messages go, the decode buffer is per thread */
	m->nframe_slots = m->lim.max_depth + 2;
	m->dec_cap = DECODE_BUF;
	sl_hdrs_init(&m->h);
	sl_iconv_cache_init(&m->iconv);
	m->py.iconv = &m->iconv;
	m->frames = sl_mem_calloc(m->mem, m->nframe_slots * sizeof *m->frames);
	m->line = sl_mime_alloc(m, m->lim.max_line + 2);
	if (m->lim.extract_depth) {
		m->x = sl_extract_new(&m->lim, m->mem, deliver, m);
		if (!m->x)
			m->mem->failed = true;
	}
	if (m->frames && m->line)
		reset(m, 0);
	sl_mem_swap(m->outer);
	if (sl_mime_stopped(m)) {
		sl_mime_free(m);
		return NULL;
	}
	return m;
}

struct sl_mime *sl_mime_new_mem(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                struct sl_mem *mem)
{
	return create(lim, fn, ctx, mem, NULL);
}

struct sl_mime *sl_mime_new_acct(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                 const struct sl_memacct *acct)
{
	return create(lim, fn, ctx, NULL, acct);
}

struct sl_mime *sl_mime_new(const struct sl_limits *lim, sl_event_fn fn, void *ctx)
{
	return create(lim, fn, ctx, NULL, NULL);
}

void sl_mime_free(struct sl_mime *m)
{
	if (!m)
		return;
	struct sl_mem *outer = sl_mem_swap(m->mem);
	for (unsigned i = 0; m->frames && i < m->nframe_slots; i++) {
		if (!m->frames[i])
			continue;
		sl_mem_free(m->mem, m->frames[i]->sep, m->lim.max_boundary + 3);
		sl_mem_free(m->mem, m->frames[i]->filename, m->lim.max_filename + 4);
		sl_mem_free(m->mem, m->frames[i], sizeof(struct frame));
	}
	sl_mem_free(m->mem, m->frames, m->nframe_slots * sizeof *m->frames);
	sl_mem_free(m->mem, m->line, m->lim.max_line + 2);
	sl_mem_free(m->mem, m->own_dec, DECODE_BUF);
	sl_extract_free(m->x);
	sl_hdrs_free(&m->h);
	sl_py_env_free(&m->py);
	sl_iconv_cache_free(&m->iconv);
	struct sl_mem own = m->own_mem; /* m itself is freed last */
	sl_mem_free(m->mem == &m->own_mem ? &own : m->mem, m, sizeof *m);
	sl_mem_swap(outer);
}

bool sl_mime_failed(const struct sl_mime *m)
{
	return sl_mime_stopped(m);
}

size_t sl_mime_memory(const struct sl_mime *m)
{
	return m->mem->charged;
}
