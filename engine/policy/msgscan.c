/* The matcher: engine events in, Hyperscan streams fed as bytes arrive, conditions
 * counted; the verdict at MESSAGE_END (verdict.c). Nothing buffers the message: a
 * streaming database keeps only the look-behind its validators need. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "matcher.h"
#include "sluice/digest.h"

/* PCRE2 confirmation work per call: far above what a sane expression needs on a 64 KiB
 * window, far below a hang. The heap limit bounds the match frames PCRE2 allocates (and
 * frees) inside one call. */
#define CONFIRM_MATCH_LIMIT 1000000
#define CONFIRM_DEPTH_LIMIT 10000
#define CONFIRM_HEAP_LIMIT_KIB 4096

/* ---- scanner ------------------------------------------------------------------------ */

struct sl_scanner *sl_scanner_new(void)
{
	struct sl_scanner *sc = calloc(1, sizeof *sc);
	if (!sc)
		return NULL;
	sc->md = pcre2_match_data_create(1, NULL);
	sc->mctx = pcre2_match_context_create(NULL);
	if (!sc->md || !sc->mctx) {
		sl_scanner_free(sc);
		return NULL;
	}
	pcre2_set_match_limit(sc->mctx, CONFIRM_MATCH_LIMIT);
	pcre2_set_depth_limit(sc->mctx, CONFIRM_DEPTH_LIMIT);
	pcre2_set_heap_limit(sc->mctx, CONFIRM_HEAP_LIMIT_KIB);
	return sc;
}

void sl_scanner_free(struct sl_scanner *sc)
{
	if (!sc)
		return;
	hs_free_scratch(sc->scratch);
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	free(sc);
}

/* Grow the scratch for every database of p (once per policy). */
bool sl_scanner_prepare(struct sl_scanner *sc, const struct sl_policy *p)
{
	if (sc->prepared_serial == p->serial)
		return true;
	for (uint32_t d = 0; d < p->ndbs; d++)
		if (p->dbs[d].db && hs_alloc_scratch(p->dbs[d].db, &sc->scratch) != HS_SUCCESS)
			return false;
	sc->prepared_serial = p->serial;
	return true;
}

/* ---- recording matches ---------------------------------------------------------------- */

static void signal_record(struct sl_msgscan *m, enum sl_signal s, const char *part, uint64_t offset);

void pol_scan_failed(struct sl_msgscan *m, enum sl_signal sig)
{
	if (m->unscanned != SL_SIG_COUNT)
		return;
	m->unscanned = sig;
	signal_record(m, sig, "", 0);
}

/* A Hyperscan call's result: anything but success (our callback never asks to stop)
 * means matches may be missing. */
static void hs_check(struct sl_msgscan *m, hs_error_t rc)
{
	if (rc != HS_SUCCESS)
		pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR);
}

/* The current member's path in the evidence pool, copied there on first use. */
static uint16_t member_path_ref(struct sl_msgscan *m)
{
	if (m->mpath_ref)
		return m->mpath_ref;
	size_t n = strlen(m->mpath) + 1;
	if (m->paths_len + n > POL_PATHS)
		return POL_PATH_LOST;
	memcpy(m->paths + m->paths_len, m->mpath, n);
	m->mpath_ref = (uint16_t)(m->paths_len + 1);
	m->paths_len += n;
	return m->mpath_ref;
}

void pol_record(struct sl_msgscan *m, uint32_t c, uint64_t key, const char *scope,
                const char *part, uint64_t offset, const char *what)
{
	const struct pol_cond *cond = &m->p->conds[c];
	if (cond->distinct) {
		uint64_t *slots = m->distinct + cond->distinct_slot;
		uint32_t cap = pol_distinct_capacity(cond), n = m->count[c];
		for (uint32_t i = 0; i < n; i++)
			if (slots[i] == key)
				return;
		if (n == cap)
			return; /* counted up to capacity (>= the rule's threshold) */
		slots[n] = key;
	}
	if (m->count[c]++ == 0)
		m->touched[m->ntouched++] = c;
	if (m->evcount[c] < EV_PER_COND && m->nev < EV_POOL) {
		struct ev_entry *e = &m->ev[m->nev++];
		m->evcount[c]++;
		e->cond = c;
		e->scope = scope;
		e->what = what;
		e->offset = offset;
		size_t pl = strnlen(part, SL_PATH_MAX - 1);
		memcpy(e->part, part, pl);
		e->part[pl] = '\0';
		e->path = m->member_scan ? member_path_ref(m) : 0;
	}
}

/* What a Hyperscan callback needs to know about the bytes being scanned. */
struct scan_ctx {
	struct sl_msgscan *m;
	const struct pol_dbinfo *db;
	unsigned dbi;
	struct stream_ch *ch;      /* streaming databases */
	const uint8_t *val;        /* block databases: the whole value */
	size_t val_len;
	const char *part;
	uint64_t instance;         /* scope instance (offsets restart with each) */
};

/* The bytes [to - want, to) of the current scope instance, as far as kept. */
static const uint8_t *window(struct scan_ctx *x, uint64_t to, size_t want, size_t *n, bool *at_start)
{
	if (!x->ch) {
		size_t end = to < x->val_len ? (size_t)to : x->val_len;
		*n = end;
		*at_start = true;
		return x->val;
	}
	struct stream_ch *ch = x->ch;
	if (want == 0) {
		*n = 0;
		*at_start = to == 0;
		return x->m->winbuf;
	}
	uint64_t cur_start = ch->off;
	uint64_t start = to > want ? to - want : 0;
	if (start >= cur_start) {
		*n = (size_t)(to - start);
		*at_start = start == 0;
		return ch->cur + (start - cur_start);
	}
	uint64_t kept_start = cur_start - ch->tail_len;
	if (start < kept_start)
		start = kept_start;
	size_t from_tail = (size_t)(cur_start - start);
	size_t from_cur = to > cur_start ? (size_t)(to - cur_start) : 0;
	uint8_t *w = x->m->winbuf;
	if (to < cur_start) { /* a match reported late, inside the kept tail */
		from_tail = (size_t)(to - start);
		memcpy(w, ch->tail + (ch->tail_len - (cur_start - start)), from_tail);
		*n = from_tail;
	} else {
		memcpy(w, ch->tail + (ch->tail_len - from_tail), from_tail);
		if (from_cur)
			memcpy(w + from_tail, ch->cur, from_cur);
		*n = from_tail + from_cur;
	}
	*at_start = start == 0;
	return w;
}

/* A match of pattern pt ending at `end`: validate it, then count it. */
static void accept_match(struct scan_ctx *x, const struct pol_pattern *pt, uint32_t pi, uint64_t end)
{
	struct sl_msgscan *m = x->m;
	const struct pol_cond *c = &m->p->conds[pt->cond];
	uint64_t key = pi;
	if (c->validator != VAL_NONE) {
		size_t n;
		bool at_start;
		const uint8_t *w = window(x, end, pt->window, &n, &at_start);
		if (pt->shape.max_units && !pol_shape_ends_here(&pt->shape, w, n))
			return; /* the prefilter's superset: the original does not end here */
		if (!pol_validate(c->validator, w, n, at_start, &key))
			return;
	}
	m->member_scan = x->dbi == DB_MEMBER || x->dbi == DB_DOCTEXT || x->dbi == DB_MEMBER_NAME;
	pol_record(m, pt->cond, key, x->db->scope, x->part, end, pt->label);
	m->member_scan = false;
}

/* Confirmation state of a pattern in one database: the same pattern can be in several
 * streams at once (body and rendered, fed by the same events), each its own. Block
 * databases, scanned whole one at a time, share the last lane. */
static struct confirm_state *confirm_state_of(struct scan_ctx *x, const struct pol_pattern *pt)
{
	unsigned lane = x->ch ? x->dbi : POL_NSTREAM;
	return &x->m->confirm[pt->confirm_slot * (POL_NSTREAM + 1) + lane];
}

/* PCRE2 confirmation of prefilter matches. PCRE2 runs over `n` bytes that start at
 * offset `base` of the scope instance, from `start` on (bytes before it are look-behind
 * only); every real match ending after the last one confirmed in this instance, and not
 * after `limit`, counts. A match ending near the end of the bytes at hand may only
 * seem one (a look-ahead saw the end of the data, not what follows): the caller sets
 * `limit` a window before that end until the scope instance ends. */
static void confirm_run(struct scan_ctx *x, const struct pol_pattern *pt, uint32_t pi,
                        const uint8_t *w, size_t n, uint64_t base, PCRE2_SIZE start, uint64_t limit)
{
	struct confirm_state *cs = confirm_state_of(x, pt);
	if (cs->instance != x->instance) {
		cs->instance = x->instance;
		cs->end = 0;
		cs->pending = false;
	}
	while (start <= n) {
		int rc = pcre2_match(pt->confirm, w, n, start, base == 0 ? 0 : PCRE2_NOTBOL,
		                     x->m->sc->md, x->m->sc->mctx);
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_HEAPLIMIT) {
			/* too costly to decide: count it (fail closed) rather than let it through */
			uint64_t end = base + n;
			if (end > cs->end) {
				cs->end = end;
				accept_match(x, pt, pi, end);
			}
			break;
		}
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			pol_scan_failed(x->m, SL_SIG_ENGINE_SCAN_ERROR); /* e.g. no memory for frames */
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->m->sc->md);
		uint64_t end = base + ov[1];
		if (end > limit)
			break; /* decided by a later pass, with the bytes after it */
		if (end > cs->end) {
			cs->end = end;
			accept_match(x, pt, pi, end);
		}
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
}

/* The bytes [from, to) of the current stream instance, as far as they are kept (the
 * tail before the current chunk, and the chunk), gathered into winbuf (3 windows). */
static const uint8_t *span(struct scan_ctx *x, uint64_t from, uint64_t to, size_t *n)
{
	struct stream_ch *ch = x->ch;
	uint64_t cur_start = ch->off, kept_start = cur_start - ch->tail_len;
	uint64_t chunk_end = cur_start + (ch->cur ? ch->cur_len : 0);
	if (from < kept_start)
		from = kept_start;
	if (to > chunk_end)
		to = chunk_end;
	uint8_t *w = x->m->winbuf;
	size_t k = 0;
	if (from < cur_start) {
		size_t t = (size_t)((to < cur_start ? to : cur_start) - from);
		memcpy(w, ch->tail + (from - kept_start), t);
		k = t;
	}
	if (to > cur_start && ch->cur) {
		uint64_t s = from > cur_start ? from : cur_start;
		memcpy(w + k, ch->cur + (s - cur_start), (size_t)(to - s));
		k += (size_t)(to - s);
	}
	*n = k;
	return w;
}

/* A prefilter hit in a stream: the real match may need bytes that have not arrived
 * (look-ahead), so the hits of a chunk are confirmed after it, together, and those
 * near its end again after the next chunks until a window has followed them. */
static void confirm_later(struct scan_ctx *x, const struct pol_pattern *pt, uint32_t pi, uint64_t to)
{
	struct confirm_state *cs = confirm_state_of(x, pt);
	struct stream_ch *ch = x->ch;
	if (cs->instance != x->instance) {
		cs->instance = x->instance;
		cs->end = 0;
		cs->pending = false;
	}
	cs->pending_last = to;
	if (cs->pending)
		return;
	cs->pending = true;
	cs->pending_from = to;
	ch->pending[ch->npending++] = pi;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
	(void)from;
	(void)flags;
	struct scan_ctx *x = ctx;
	const struct sl_policy *p = x->m->p;
	uint32_t pi = x->db->patterns[id];
	const struct pol_pattern *pt = &p->patterns[pi];
	if (!pt->needs_confirm)
		accept_match(x, pt, pi, to);
	else if (x->ch)
		confirm_later(x, pt, pi, to);
	else
		confirm_run(x, pt, pi, x->val, x->val_len, 0, 0, UINT64_MAX);
	return 0;
}

/* After a chunk is scanned (its bytes still at hand), or at the end of the instance:
 * confirm each pattern's pending hits in one pass over [first hit - window, last hit +
 * window]: the part that begins in the kept tail through winbuf, the rest in place. */
static void confirm_pending(struct scan_ctx *x, bool final)
{
	struct stream_ch *ch = x->ch;
	const struct sl_policy *p = x->m->p;
	uint32_t keep = 0;
	uint64_t cur_start = ch->off, kept_start = ch->off - ch->tail_len;
	uint64_t end = cur_start + (ch->cur ? ch->cur_len : 0);
	for (uint32_t i = 0; i < ch->npending; i++) {
		uint32_t pi = ch->pending[i];
		const struct pol_pattern *pt = &p->patterns[pi];
		struct confirm_state *cs = confirm_state_of(x, pt);
		uint64_t w = pt->window;
		uint64_t from = cs->pending_from > w ? cs->pending_from - w : 0;
		uint64_t to = cs->pending_last + w < end ? cs->pending_last + w : end;
		if (from < kept_start)
			from = kept_start;
		uint64_t limit = final ? UINT64_MAX : end > w ? end - w : 0;
		if (from < cur_start) {
			size_t n;
			const uint8_t *b = span(x, from, to < cur_start + w ? to : cur_start + w, &n);
			confirm_run(x, pt, pi, b, n, from, 0, limit);
		}
		if (ch->cur && to > (from < cur_start ? cur_start + w : from)) {
			uint64_t s = from > cur_start ? from : cur_start;
			confirm_run(x, pt, pi, ch->cur, (size_t)(to - cur_start), cur_start, (PCRE2_SIZE)(s - cur_start),
			            limit);
		}
		if (!final && end < cs->pending_last + w) {
			cs->pending = true;
			if (end > w && cs->pending_from < end - w)
				cs->pending_from = end - w; /* what is left to see is the chunk's last window */
			ch->pending[keep++] = pi;
		} else {
			cs->pending = false;
		}
	}
	ch->npending = keep;
}

/* ---- feeding databases ---------------------------------------------------------------- */

static void block_scan(struct sl_msgscan *m, unsigned d, const uint8_t *v, size_t n, const char *part)
{
	const struct pol_dbinfo *db = &m->p->dbs[d];
	if (!db->db || m->unscanned != SL_SIG_COUNT)
		return;
	struct scan_ctx x = {.m = m, .db = db, .dbi = d, .val = v, .val_len = n, .part = part,
	                     .instance = ++m->instances};
	if (m->tap) {
		m->tap(m->tap_ctx, d, v, n);
		m->tap(m->tap_ctx, d, NULL, 0);
	}
	if (n > UINT32_MAX) {
		pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR); /* not reached: values are capped */
		return;
	}
	hs_check(m, hs_scan(db->db, (const char *)v, (unsigned)n, 0, m->sc->scratch, on_match, &x));
}

static void keep_tail(struct stream_ch *ch, const uint8_t *p, size_t n)
{
	uint32_t w = ch->window;
	if (n >= w) {
		memcpy(ch->tail, p + n - w, w);
		ch->tail_len = w;
		return;
	}
	size_t keep = ch->tail_len + n > w ? w - n : ch->tail_len;
	memmove(ch->tail, ch->tail + ch->tail_len - keep, keep);
	memcpy(ch->tail + keep, p, n);
	ch->tail_len = (uint32_t)(keep + n);
}

static void stream_scan(struct sl_msgscan *m, unsigned d, const uint8_t *p, size_t n)
{
	struct stream_ch *ch = &m->ch[d];
	struct scan_ctx x = {.m = m, .db = &m->p->dbs[d], .dbi = d, .ch = ch, .part = ch->part,
	                     .instance = ch->instance};
	while (n && m->unscanned == SL_SIG_COUNT) {
		size_t k = n > UINT32_MAX ? UINT32_MAX : n;
		ch->cur = p;
		ch->cur_len = k;
		m->counts[d].scans++;
		m->counts[d].bytes += k;
		hs_check(m, hs_scan_stream(ch->st, (const char *)p, (unsigned)k, 0, m->sc->scratch,
		                           on_match, &x));
		if (ch->npending)
			confirm_pending(&x, false); /* the chunk and the tail before it are at hand */
		if (ch->window)
			keep_tail(ch, p, k);
		ch->off += k;
		p += k;
		n -= k;
		ch->cur = NULL;
		ch->cur_len = 0;
	}
	ch->cur = NULL;
	ch->cur_len = 0;
}

static void batch_scan(struct sl_msgscan *m, struct stream_batch *b)
{
	if (!b->len)
		return;
	size_t n = b->len;
	b->len = 0;
	stream_scan(m, b->db, b->buf, n);
}

/* Scan every gathered byte, oldest batch first (before anything else can count a match). */
static void batch_flush(struct sl_msgscan *m)
{
	for (;;) {
		struct stream_batch *old = NULL;
		for (int i = 0; i < POL_BATCHES; i++)
			if (m->batch[i].len && (!old || m->batch[i].first < old->first))
				old = &m->batch[i];
		if (!old)
			return;
		batch_scan(m, old);
	}
}

/* The batch gathering stream d: the one holding it, else an empty one, else the oldest,
 * scanned now. */
static struct stream_batch *batch_for(struct sl_msgscan *m, unsigned d)
{
	struct stream_batch *empty = NULL, *old = NULL;
	for (int i = 0; i < POL_BATCHES; i++) {
		struct stream_batch *b = &m->batch[i];
		if (b->len && b->db == d)
			return b;
		if (!b->len && !empty)
			empty = b;
		if (b->len && (!old || b->first < old->first))
			old = b;
	}
	if (empty)
		return empty;
	batch_scan(m, old);
	return old;
}

static void stream_feed(struct sl_msgscan *m, unsigned d, const uint8_t *p, size_t n)
{
	struct stream_ch *ch = &m->ch[d];
	if (!ch->active || n == 0 || m->unscanned != SL_SIG_COUNT)
		return;
	if (m->tap)
		m->tap(m->tap_ctx, d, p, n);
	struct stream_batch *b = batch_for(m, d);
	if (b->len + n > POL_BATCH || n >= POL_BATCH / 2)
		batch_scan(m, b); /* the stream's earlier bytes go first */
	if (n >= POL_BATCH / 2) {
		stream_scan(m, d, p, n); /* large enough already: no copy */
		return;
	}
	if (!b->len) {
		b->db = d;
		b->first = ++m->batch_clock;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void stream_open(struct sl_msgscan *m, unsigned d, const char *part)
{
	struct stream_ch *ch = &m->ch[d];
	if (!ch->st)
		return;
	ch->active = true;
	ch->npending = 0;
	ch->instance = ++m->instances;
	m->counts[d].instances++;
	ch->off = 0;
	ch->tail_len = 0;
	size_t pl = strnlen(part, SL_PATH_MAX - 1);
	memcpy(ch->part, part, pl);
	ch->part[pl] = '\0';
}

/* End of a scope instance: matches that need the end of data are reported, and the
 * stream is ready for the next instance. */
static void stream_close(struct sl_msgscan *m, unsigned d)
{
	struct stream_ch *ch = &m->ch[d];
	if (!ch->active)
		return;
	batch_flush(m);
	struct scan_ctx x = {.m = m, .db = &m->p->dbs[d], .dbi = d, .ch = ch, .part = ch->part,
	                     .instance = ch->instance};
	ch->cur = NULL;
	ch->cur_len = 0;
	ch->active = false;
	if (m->unscanned != SL_SIG_COUNT) {
		ch->dirty = true; /* reset without reporting at the next message */
		return;
	}
	hs_error_t rc = hs_reset_stream(ch->st, 0, m->sc->scratch, on_match, &x);
	if (rc != HS_SUCCESS) {
		hs_check(m, rc);
		ch->dirty = true;
		return;
	}
	if (ch->npending)
		confirm_pending(&x, true);
	if (m->tap)
		m->tap(m->tap_ctx, d, NULL, 0); /* end of this scope instance */
}

/* ---- parts ---------------------------------------------------------------------------- */

/* The leaf part ends: close the streams of its scope instances. */
static void parts_close(struct sl_msgscan *m)
{
	for (unsigned d = DB_BODY; d <= DB_ATTACH_RAW; d++)
		stream_close(m, d);
	stream_close(m, DB_MEMBER);
	stream_close(m, DB_DOCTEXT);
	m->in_leaf = false;
}

static bool is_text(const struct sl_part *part)
{
	return strncmp(part->content_type, "text/", 5) == 0;
}

/* the digest of each enum pol_digest */
static const enum sl_hash_alg md_of[3] = {SL_HASH_MD5, SL_HASH_SHA1, SL_HASH_SHA256};

/* Attachments: a filename, disposition attachment, or content that is not text. */
static bool is_attachment(const struct sl_part *part)
{
	return part->filename || (part->disposition && strcmp(part->disposition, "attachment") == 0) ||
	       !is_text(part);
}

static void rendered_out(void *ctx, const uint8_t *p, size_t n)
{
	stream_feed(ctx, DB_RENDERED, p, n);
}

/* The rendered stream opens with the first entity (the message's headers are read)
 * and its Subject; it closes at the end of the message. */
static void rendered_open(struct sl_msgscan *m)
{
	if (m->rendered_open || !m->ch[DB_RENDERED].st)
		return;
	m->rendered_open = true;
	stream_open(m, DB_RENDERED, "");
	render_begin(&m->render, rendered_out, m);
	render_subject(&m->render, (const uint8_t *)m->subject, m->subject_len);
}

static void rendered_close(struct sl_msgscan *m)
{
	rendered_open(m);
	if (!m->rendered_open)
		return;
	render_end(&m->render);
	stream_close(m, DB_RENDERED);
}

static void part_begin(struct sl_msgscan *m, const struct sl_part *part)
{
	rendered_open(m);
	if (part->kind != SL_PART_LEAF)
		return;
	if (m->rendered_open)
		render_part(&m->render, strcmp(part->content_type, "text/plain") == 0 ||
		                        strcmp(part->content_type, "text/html") == 0,
		            strcmp(part->content_type, "text/html") == 0);
	if (m->in_leaf) /* never happens with the engine's events; stay consistent anyway */
		parts_close(m);
	m->in_leaf = true;
	size_t pl = strnlen(part->path, SL_PATH_MAX - 1);
	memcpy(m->part, part->path, pl);
	m->part[pl] = '\0';
	bool text = is_text(part), att = is_attachment(part);
	if (text && !att)
		stream_open(m, DB_BODY, part->path);
	if (att && !text)
		stream_open(m, DB_ATTACH, part->path);
	if (att && text) {
		stream_open(m, DB_ATTACH_TEXT, part->path);
		stream_open(m, DB_ATTACH_RAW, part->path);
	}
	if (part->filename)
		block_scan(m, DB_FILENAME, (const uint8_t *)part->filename, strlen(part->filename), part->path);
	/* hashed only where an entry could match: attachments, or any leaf when some hash
	 * condition reads the part or content scope (hash_lookup's test) */
	m->md_active = m->p->nhashes && (att || m->p->hash_any_part);
	for (int i = 0; i < 3 && m->md_active; i++)
		if (m->md_used[i] && !sl_hash_init(&m->md[i], md_of[i]))
			pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR);
}

static void hash_lookup(struct sl_msgscan *m, enum pol_digest type, const uint8_t *d, size_t dl,
                        const struct sl_part *part, bool attachment)
{
	const struct sl_policy *p = m->p;
	size_t lo = 0, hi = p->nhashes;
	while (lo < hi) { /* first entry >= (type, d) */
		size_t mid = (lo + hi) / 2;
		const struct pol_hash *h = &p->hashes[mid];
		int c = h->type != type ? (h->type < type ? -1 : 1) : memcmp(h->digest, d, dl);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < p->nhashes; i++) {
		const struct pol_hash *h = &p->hashes[i];
		if (h->type != type || memcmp(h->digest, d, dl) != 0)
			break;
		if (h->size >= 0 && (uint64_t)h->size != part->decoded_bytes)
			continue;
		const struct pol_cond *c = &p->conds[h->cond];
		if (!(c->scopes & (SC_PART | SC_CONTENT)) && !attachment)
			continue;
		pol_record(m, h->cond, i, attachment ? "attachment" : "body", part->path, part->decoded_bytes,
		           h->label);
	}
}

static void part_end(struct sl_msgscan *m, const struct sl_part *part)
{
	if (part->kind != SL_PART_LEAF || !m->in_leaf)
		return;
	parts_close(m);
	if (!m->p->nhashes)
		return;
	bool att = is_attachment(part);
	uint8_t d[SL_HASH_MAX];
	unsigned dl;
	for (int i = 0; i < 3 && m->md_active; i++) {
		if (!m->md_used[i])
			continue;
		if (!sl_hash_final(&m->md[i], d, &dl))
			pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR);
		else
			hash_lookup(m, (enum pol_digest)i, d, dl, part, att);
	}
	m->md_active = false;
}

static void part_data(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (!m->in_leaf)
		return;
	stream_feed(m, DB_ATTACH, ev->data, ev->len);
	stream_feed(m, DB_ATTACH_RAW, ev->data, ev->len);
	if (m->md_active)
		for (int i = 0; i < 3; i++)
			if (m->md_used[i] && !sl_hash_update(&m->md[i], ev->data, ev->len))
				pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR);
}

static void part_text(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (!m->in_leaf)
		return;
	stream_feed(m, DB_BODY, ev->data, ev->len);
	stream_feed(m, DB_ATTACH_TEXT, ev->data, ev->len);
	if (m->rendered_open)
		render_text(&m->render, ev->data, ev->len);
}

/* ---- what the extraction stage found inside a part ------------------------------------ */

static unsigned member_db(const struct sl_member *mb)
{
	return mb->kind == SL_MEMBER_TEXT ? DB_DOCTEXT : DB_MEMBER;
}

static void member_begin(struct sl_msgscan *m, const struct sl_event *ev)
{
	const struct sl_member *mb = ev->member;
	if (!mb || !m->in_leaf)
		return;
	size_t n = strnlen(mb->path ? mb->path : "", SL_MEMBER_PATH_MAX - 1);
	memcpy(m->mpath, mb->path ? mb->path : "", n);
	m->mpath[n] = '\0';
	m->mpath_ref = 0;
	if (mb->name) {
		m->member_scan = true;
		block_scan(m, DB_MEMBER_NAME, (const uint8_t *)mb->name, strlen(mb->name), m->part);
		m->member_scan = false;
	}
	if (mb->kind != SL_MEMBER_CONTAINER) {
		stream_close(m, member_db(mb)); /* members do not nest: never open */
		stream_open(m, member_db(mb), m->part);
	}
}

static void member_data(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (ev->member && m->in_leaf && ev->member->kind != SL_MEMBER_CONTAINER)
		stream_feed(m, member_db(ev->member), ev->data, ev->len);
}

static void member_end(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (ev->member && m->in_leaf && ev->member->kind != SL_MEMBER_CONTAINER)
		stream_close(m, member_db(ev->member));
}

/* ---- headers, signals, envelope ------------------------------------------------------- */

/* Rare: the buffer grows to the longest header seen, charged to the account if any. */
static bool hdr_grow(struct sl_msgscan *m, size_t need)
{
	if (m->acct.charge && !m->acct.charge(m->acct.ctx, need - m->hdr_cap))
		return false;
	uint8_t *b = realloc(m->hdr, need);
	if (!b) {
		if (m->acct.charge)
			m->acct.release(m->acct.ctx, need - m->hdr_cap);
		return false;
	}
	m->hdr = b;
	m->hdr_cap = need;
	return true;
}

/* message-header:NAME sees a top-level field as SpamAssassin's header rules do: as
 * written after the colon and its blanks, line breaks of folding removed, a line feed at
 * the end; with RFC 2047 encoded-words, the decoded value instead (SpamAssassin decodes
 * them too; the engine's decoded value is the nearest it has). */
static void header_as_written(struct sl_msgscan *m, unsigned d, const struct sl_event *ev, const char *part)
{
	const uint8_t *raw = ev->data;
	size_t n = ev->len, i = 0;
	if (!raw || (memmem(raw, n, "=?", 2) && ev->value)) {
		raw = (const uint8_t *)(ev->value ? ev->value : "");
		n = strlen((const char *)raw);
	} else {
		const uint8_t *colon = memchr(raw, ':', n);
		i = colon ? (size_t)(colon - raw) + 1 : n;
		while (i < n && (raw[i] == ' ' || raw[i] == '\t'))
			i++;
	}
	if (n - i + 1 > m->hdr_cap && !hdr_grow(m, n - i + 1)) {
		pol_scan_failed(m, SL_SIG_ENGINE_MEMORY);
		return;
	}
	size_t o = 0;
	for (; i < n; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			m->hdr[o++] = raw[i];
	m->hdr[o++] = '\n';
	block_scan(m, d, m->hdr, o, part);
}

static void header(struct sl_msgscan *m, const struct sl_event *ev)
{
	const struct sl_policy *p = m->p;
	const char *name = ev->name ? ev->name : "";
	const char *value = ev->value ? ev->value : "";
	const char *part = ev->part ? ev->part->path : "";
	size_t vl = (size_t)-1; /* measured only when a database wants the value */
	if (m->traits && ev->part && ev->part->depth == 0)
		sl_msgtraits_header(m->traits, name, value, ev->data, ev->len);
	if (ev->part && ev->part->depth == 0 && strcasecmp(name, "subject") == 0) {
		size_t sl = strlen(value);
		m->subject_len = sl < sizeof m->subject ? sl : sizeof m->subject;
		memcpy(m->subject, value, m->subject_len);
	}
	if (p->dbs[DB_HEADER].db) {
		/* the any-header scope sees the field as one "Name: value" line */
		size_t nl = strlen(name);
		vl = strlen(value);
		size_t need = nl + 2 + vl;
		if (need > m->hdr_cap && !hdr_grow(m, need)) {
			pol_scan_failed(m, SL_SIG_ENGINE_MEMORY);
			return;
		}
		memcpy(m->hdr, name, nl);
		memcpy(m->hdr + nl, ": ", 2);
		memcpy(m->hdr + nl + 2, value, vl);
		block_scan(m, DB_HEADER, m->hdr, need, part);
	}
	for (uint32_t d = POL_DB_FIXED; d < p->ndbs; d++) {
		const char *key = p->dbs[d].header;
		if (key[0] == ':') {
			if (ev->part && ev->part->depth == 0 && strcasecmp(key + 1, name) == 0)
				header_as_written(m, d, ev, part);
		} else if (strcasecmp(key, name) == 0) {
			if (vl == (size_t)-1)
				vl = strlen(value);
			block_scan(m, d, (const uint8_t *)value, vl, part);
		}
	}
}

static void signal_record(struct sl_msgscan *m, enum sl_signal s, const char *part, uint64_t offset)
{
	const struct sl_policy *p = m->p;
	for (uint32_t i = 0; i < p->nsignal_conds[s]; i++) {
		uint32_t c = p->signal_conds[s][i];
		pol_record(m, c, (uint64_t)s, "signal", part, offset, sl_signal_name(s));
	}
}

static void signal_raised(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (!ev->name)
		return;
	enum sl_signal s = sl_signal_lookup(ev->name);
	if (s == SL_SIG_COUNT)
		return;
	if ((s == SL_SIG_ENGINE_MEMORY || s == SL_SIG_ENGINE_SCAN_ERROR) && m->unscanned == SL_SIG_COUNT)
		m->unscanned = s; /* the session could not parse the rest of the message */
	signal_record(m, s, ev->part ? ev->part->path : "", ev->offset);
}

static void trait_raised(void *ctx, enum sl_signal s)
{
	signal_record(ctx, s, "", 0);
}

/* Does the policy match any header trait (msgtraits.h)? */
static bool wants_traits(const struct sl_policy *p)
{
	for (unsigned s = SL_SIG_SA_MSGID_OUTLOOK_INVALID; s <= SL_SIG_SA_SUBJECT_ALL_CAPS; s++)
		if (p->nsignal_conds[s])
			return true;
	return false;
}

static void envelope(struct sl_msgscan *m, const struct sl_envelope *env)
{
	if (!env)
		return;
	block_scan(m, DB_MAIL_FROM, (const uint8_t *)env->mail_from, strlen(env->mail_from), "");
	block_scan(m, DB_HELO, (const uint8_t *)env->helo, strlen(env->helo), "");
	for (size_t i = 0; i < env->nrcpt; i++)
		if (sl_rcpt_counts(&env->rcpt[i]))
			block_scan(m, DB_RCPT_TO, (const uint8_t *)env->rcpt[i].addr, strlen(env->rcpt[i].addr), "");
	const struct sl_policy *p = m->p;
	for (uint32_t i = 0; i < p->nip_conds; i++) {
		const struct pol_cond *c = &p->conds[p->ip_conds[i]];
		if (pol_cidr_match(c->cidr, c->ncidr, &env->client.addr))
			pol_record(m, p->ip_conds[i], 0, "client-ip", "", 0, NULL);
	}
}

/* The classifier's probability decides the spam-probability conditions. */
static double spam_conds(struct sl_msgscan *m)
{
	const struct sl_policy *p = m->p;
	if (!m->bayes)
		return -1;
	size_t n;
	const uint32_t *tokens = sl_bayes_tokens_list(m->bayes, &n);
	struct sl_bayes_score s;
	sl_bayes_classify(&p->spam_model, tokens, n, &s);
	for (uint32_t i = 0; i < p->nspam_conds; i++)
		if (s.probability >= p->conds[p->spam_conds[i]].spam_min)
			pol_record(m, p->spam_conds[i], 0, "spam-probability", "", 0, NULL);
	return s.probability;
}

/* ---- events --------------------------------------------------------------------------- */

/* Did a rule matching signal s fire? Then the policy has decided about it. */
static bool rule_on_signal_fired(const struct sl_msgscan *m, enum sl_signal s)
{
	const struct sl_policy *p = m->p;
	for (uint32_t i = 0; i < p->nsignal_conds[s]; i++) {
		const char *id = p->rules[p->conds[p->signal_conds[s][i]].rule].id;
		for (size_t h = 0; h < m->verdict.nhits; h++)
			if (m->verdict.hits[h].id == id)
				return true;
	}
	return false;
}

/* A message not scanned completely never passes silently: unless a rule on the signal
 * fired (then the policy decided), it is deferred. */
static void unscanned_verdict(struct sl_msgscan *m)
{
	struct sl_verdict *v = &m->verdict;
	if (m->unscanned == SL_SIG_COUNT || v->action >= SL_ACT_TEMPFAIL ||
	    rule_on_signal_fired(m, m->unscanned))
		return;
	v->action = SL_ACT_TEMPFAIL;
	v->reply = "451 4.3.0 Gateway could not scan the message, try again later";
	v->decided_by = sl_signal_name(m->unscanned);
}

void sl_msgscan_event(struct sl_msgscan *m, const struct sl_event *ev)
{
	if (m->done)
		return;
	if (!m->begun) {
		m->begun = true;
		if (m->broken)
			pol_scan_failed(m, SL_SIG_ENGINE_SCAN_ERROR);
		if (m->ch[DB_RAW].st)
			stream_open(m, DB_RAW, "");
	}
	if (ev->type != SL_EV_RAW && ev->type != SL_EV_PART_DATA && ev->type != SL_EV_PART_TEXT &&
	    ev->type != SL_EV_MEMBER_DATA)
		batch_flush(m); /* stream matches first, as if they had been scanned at once */
	if (m->bayes)
		sl_bayes_tokens_event(m->bayes, ev);
	switch (ev->type) {
	case SL_EV_RAW:
		stream_feed(m, DB_RAW, ev->data, ev->len);
		break;
	case SL_EV_HEADER:
		header(m, ev);
		break;
	case SL_EV_PART_BEGIN:
		if (ev->part)
			part_begin(m, ev->part);
		break;
	case SL_EV_PART_DATA:
		part_data(m, ev);
		break;
	case SL_EV_PART_TEXT:
		part_text(m, ev);
		break;
	case SL_EV_PART_END:
		if (ev->part)
			part_end(m, ev->part);
		break;
	case SL_EV_SIGNAL:
		signal_raised(m, ev);
		break;
	case SL_EV_MEMBER_BEGIN:
		member_begin(m, ev);
		break;
	case SL_EV_MEMBER_DATA:
		member_data(m, ev);
		break;
	case SL_EV_MEMBER_END:
		member_end(m, ev);
		break;
	case SL_EV_MESSAGE_END:
		if (m->in_leaf)
			parts_close(m);
		rendered_close(m);
		stream_close(m, DB_RAW);
		envelope(m, ev->envelope);
		if (m->traits)
			sl_msgtraits_finish(m->traits, trait_raised, m);
		double spam = spam_conds(m);
		pol_verdict_compute(m, m->forced != SL_DIR_UNKNOWN ? m->forced
		                                                  : pol_direction(m->p, ev->envelope));
		m->verdict.spam_probability = spam;
		unscanned_verdict(m);
		m->done = true;
		break;
	default:
		break;
	}
}

void sl_msgscan_event_cb(void *m, const struct sl_event *ev)
{
	sl_msgscan_event(m, ev);
}

bool sl_msgscan_done(const struct sl_msgscan *m)
{
	return m->done;
}

bool sl_msgscan_failed(const struct sl_msgscan *m)
{
	return m->unscanned != SL_SIG_COUNT;
}

void sl_msgscan_set_acct(struct sl_msgscan *m, const struct sl_memacct *acct)
{
	if (m->acct.release && m->hdr_cap)
		m->acct.release(m->acct.ctx, m->hdr_cap);
	memset(&m->acct, 0, sizeof m->acct);
	if (acct && acct->charge && acct->release) {
		if (m->hdr_cap && !acct->charge(acct->ctx, m->hdr_cap)) {
			/* keep nothing the new account refused */
			free(m->hdr);
			m->hdr = NULL;
			m->hdr_cap = 0;
		}
		m->acct = *acct;
	}
}

const struct sl_verdict *sl_msgscan_verdict(const struct sl_msgscan *m)
{
	return m->done ? &m->verdict : NULL;
}

/* ---- life cycle ----------------------------------------------------------------------- */

struct sl_msgscan *sl_msgscan_new(struct sl_scanner *sc, struct sl_policy *p, enum sl_direction forced)
{
	if (!sl_scanner_prepare(sc, p))
		return NULL;
	/* not calloc: the evidence pool (ev, written before it is read) makes the struct
	 * large enough that jemalloc zeroes a recycled block by purging its pages (madvise +
	 * TLB shootdown); sluice-dp creates one per flow */
	struct sl_msgscan *m = malloc(sizeof *m);
	if (!m)
		return NULL;
	memset(m, 0, offsetof(struct sl_msgscan, ev));
	_Static_assert(offsetof(struct sl_msgscan, nev) ==
	               offsetof(struct sl_msgscan, ev) + sizeof m->ev, "nev follows ev");
	memset(&m->nev, 0, sizeof *m - offsetof(struct sl_msgscan, nev));
	m->unscanned = SL_SIG_COUNT;
	m->sc = sc;
	m->p = sl_policy_ref(p);
	m->forced = forced;
	size_t maxwin = 0;
	bool ok = true;
	for (unsigned d = 0; d < POL_NSTREAM; d++) {
		const struct pol_dbinfo *db = &p->dbs[d];
		if (!db->db)
			continue;
		ok &= hs_open_stream(db->db, 0, &m->ch[d].st) == HS_SUCCESS;
		/* two windows: a hit near a chunk's end is confirmed after the next chunk, with
		 * its window of look-behind still kept */
		m->ch[d].window = 2 * db->window;
		if (db->window) {
			m->ch[d].tail = malloc(2 * (size_t)db->window);
			ok &= m->ch[d].tail != NULL;
		}
		if (db->window > maxwin)
			maxwin = db->window;
		if (p->nconfirm) {
			m->ch[d].pending = malloc(p->nconfirm * sizeof *m->ch[d].pending);
			ok &= m->ch[d].pending != NULL;
		}
	}
	m->winbuf = malloc(3 * maxwin + 1); /* the kept tail (2 windows) and one after */
	for (int i = 0; i < POL_BATCHES; i++)
		m->batch[i].buf = malloc(POL_BATCH);
	m->paths = malloc(POL_PATHS);
	m->count = calloc(p->nconds + 1, sizeof *m->count);
	m->evcount = calloc(p->nconds + 1, sizeof *m->evcount);
	m->touched = malloc((p->nconds + 1) * sizeof *m->touched);
	m->distinct = malloc((p->ndistinct_slots + 1) * sizeof *m->distinct);
	m->confirm = calloc((size_t)p->nconfirm * (POL_NSTREAM + 1) + 1, sizeof *m->confirm);
	m->rule_mark = calloc(p->nrules / 8 + 1, 1);
	m->fired = calloc(p->nrules + 1, sizeof *m->fired);
	/* the verdict's arrays at their bounds: a message never allocates for its verdict
	 * (candidates and hits: one per rule; evidence: one per pooled entry) */
	m->cand_cap = m->hits_cap = p->nrules + 1;
	m->vev_cap = EV_POOL + 1;
	m->cand = malloc(m->cand_cap * sizeof *m->cand);
	m->hits = malloc(m->hits_cap * sizeof *m->hits);
	m->vev = malloc(m->vev_cap * sizeof *m->vev);
	for (int i = 0; i < POL_BATCHES; i++)
		ok &= m->batch[i].buf != NULL;
	ok &= m->winbuf && m->paths && m->count && m->evcount && m->touched && m->distinct && m->confirm &&
	      m->rule_mark && m->fired && m->cand && m->hits && m->vev;
	if (p->nspam_conds)
		ok &= (m->bayes = sl_bayes_tokens_new()) != NULL;
	if (wants_traits(p) && (ok &= (m->traits = malloc(sizeof *m->traits)) != NULL))
		sl_msgtraits_reset(m->traits);
	for (int i = 0; i < 3; i++)
		m->md_used[i] = p->hash_types[i];
	if (!ok) {
		sl_msgscan_free(m);
		return NULL;
	}
	return m;
}

/* A stream Hyperscan will not reset is replaced; if that fails too, every later message
 * on this msgscan fails its scan (tempfail) rather than run on a broken stream. */
static void stream_renew(struct sl_msgscan *m, unsigned d)
{
	struct stream_ch *ch = &m->ch[d];
	if (hs_reset_stream(ch->st, 0, NULL, NULL, NULL) == HS_SUCCESS)
		return;
	hs_close_stream(ch->st, NULL, NULL, NULL);
	ch->st = NULL;
	if (hs_open_stream(m->p->dbs[d].db, 0, &ch->st) != HS_SUCCESS) {
		ch->st = NULL;
		m->broken = true;
	}
}

void sl_msgscan_reset(struct sl_msgscan *m, enum sl_direction forced)
{
	for (unsigned d = 0; d < POL_NSTREAM; d++) {
		struct stream_ch *ch = &m->ch[d];
		if ((ch->active || ch->dirty) && ch->st)
			stream_renew(m, d);
		ch->active = false;
		ch->dirty = false;
	}
	m->unscanned = SL_SIG_COUNT;
	for (uint32_t i = 0; i < m->ntouched; i++) {
		m->count[m->touched[i]] = 0;
		m->evcount[m->touched[i]] = 0;
	}
	m->ntouched = 0;
	m->nev = 0;
	m->paths_len = 0;
	m->mpath_ref = 0;
	for (int i = 0; i < POL_BATCHES; i++)
		m->batch[i].len = 0; /* bytes of an abandoned message */
	m->in_leaf = false;
	m->md_active = false;
	m->begun = m->done = false;
	m->rendered_open = false;
	m->subject_len = 0;
	if (m->bayes)
		sl_bayes_tokens_reset(m->bayes);
	if (m->traits)
		sl_msgtraits_reset(m->traits);
	m->forced = forced;
	memset(&m->verdict, 0, sizeof m->verdict);
}

void sl_msgscan_free(struct sl_msgscan *m)
{
	if (!m)
		return;
	for (unsigned d = 0; d < POL_NSTREAM; d++) {
		if (m->ch[d].st)
			(void)hs_close_stream(m->ch[d].st, NULL, NULL, NULL); /* frees; no callback */
		free(m->ch[d].tail);
		free(m->ch[d].pending);
	}
	free(m->winbuf);
	for (int i = 0; i < POL_BATCHES; i++)
		free(m->batch[i].buf);
	free(m->paths);
	free(m->count);
	free(m->evcount);
	free(m->touched);
	free(m->distinct);
	free(m->confirm);
	if (m->acct.release && m->hdr_cap)
		m->acct.release(m->acct.ctx, m->hdr_cap);
	free(m->hdr);
	free(m->rule_mark);
	free(m->fired);
	free(m->hits);
	free(m->vev);
	free(m->cand);
	sl_bayes_tokens_free(m->bayes);
	free(m->traits);
	sl_policy_unref(m->p);
	free(m);
}

size_t sl_msgscan_stream_bytes(const struct sl_msgscan *m)
{
	size_t n = 0;
	for (unsigned d = 0; d < POL_NSTREAM; d++)
		n += m->ch[d].st ? m->p->dbs[d].stream_state : 0;
	return n;
}

size_t sl_msgscan_flow_bytes(const struct sl_msgscan *m)
{
	return sl_msgscan_stream_bytes(m) + (m->bayes ? sl_bayes_tokens_bytes() : 0) +
	       (m->traits ? sizeof *m->traits : 0);
}

bool sl_msgscan_counts(const struct sl_msgscan *m, unsigned db, struct sl_msgscan_counts *c)
{
	if (db >= POL_NSTREAM)
		return false;
	*c = m->counts[db];
	c->db = db == DB_ATTACH_RAW ? "attachment-raw" : pol_db_scope_name(db);
	return true;
}

void sl_msgscan_set_tap(struct sl_msgscan *m, sl_scan_tap_fn fn, void *ctx)
{
	m->tap = fn;
	m->tap_ctx = ctx;
}
