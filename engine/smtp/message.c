/* Message content: DATA (dot-unstuffing, end of data, smuggling variants) and BDAT
 * chunks, passed on as RAW events and into the MIME parser. The end-of-data table in
 * docs/engine-smtp.md is what smtp_data_run implements. */
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "session.h"

static struct sl_event msg_event(struct sl_smtp *s, enum sl_event_type type, uint64_t off)
{
	struct sl_event ev = {
		.type = type,
		.txn = s->msg->id,
		.offset = off,
		.envelope = &s->msg->env,
	};
	return ev;
}

void smtp_msg_begin(struct sl_smtp *s, struct smtp_txn *t, bool bdat)
{
	t->msg_begun = true;
	t->env.bdat = bdat;
	t->env.tls = s->encrypted;
	s->msg = t;
	s->raw_off = 0;
	s->dstate = D_LINE;
	s->smuggling_signalled = false;
	s->nul_signalled = false;
	s->gap_in_msg = false;
	s->dot_hold = UINT64_MAX;
	s->hold_sticky = false;
	sl_mime_reset(s->mime, t->id);
	struct sl_event ev = msg_event(s, SL_EV_MESSAGE_BEGIN, s->c_pos);
	smtp_emit(s, &ev);
}

void smtp_msg_raw(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	if (!n || smtp_stopped(s))
		return;
	struct sl_event ev = msg_event(s, SL_EV_RAW, s->raw_off);
	ev.envelope = NULL;
	ev.data = p;
	ev.len = n;
	smtp_emit(s, &ev);
	s->raw_off += n;
	sl_mime_feed(s->mime, p, n);
}

/* The content is complete at client offset end_off: MIME closes, then MESSAGE_END. A
 * session that failed (here or before) says so inside the message, before its end, and
 * the message's result is "no reply" (code 0): nothing more is read. */
void smtp_msg_end(struct sl_smtp *s, uint64_t end_off)
{
	struct smtp_txn *t = s->msg;
	sl_mime_finish(s->mime);
	if (smtp_stopped(s)) {
		smtp_fail_announce(s);
		if (!t->result_due) {
			t->result_due = true;
			t->result_code = 0;
			t->result_off = s->s_pos;
		}
	}
	struct sl_event ev = msg_event(s, SL_EV_MESSAGE_END, end_off);
	smtp_emit(s, &ev);
	t->msg_ended = true;
	s->msg = NULL;
	s->dot_hold = UINT64_MAX;
	s->hold_sticky = false;
	if (s->cur == t)
		s->cur = NULL;
	if (t->result_due)
		smtp_txn_result(s, t, t->result_code, t->result_off);
	smtp_txn_release(s, t);
}

/* A dot right after a line break: until the next bytes show it is ordinary content,
 * it may be part of an end of data, for us or for a server that reads bare CR or LF as
 * a line end. sl_smtp_client_consumed() stops before it meanwhile, so that an inline
 * device does not pass the server a terminator before the verdict. */
static void dot_seen(struct sl_smtp *s, enum smtp_break prefix, uint64_t raw_off,
                     uint64_t client_off)
{
	s->dprefix = prefix;
	s->dot_raw = raw_off;
	s->dstate = D_DOT;
	if (!s->hold_sticky)
		s->dot_hold = client_off;
}

/* The dot was ordinary content. */
static void dot_cleared(struct sl_smtp *s)
{
	if (!s->hold_sticky)
		s->dot_hold = UINT64_MAX;
}

/* After CRLF.CR the CR is held (it is the terminator's if LF follows); when the
 * content stops or has a hole there, it was content. */
void smtp_data_release_cr(struct sl_smtp *s)
{
	static const uint8_t cr = '\r';
	if (s->cstate == C_DATA && s->dstate == D_DOTCR && s->dprefix == BRK_CRLF) {
		smtp_msg_raw(s, &cr, 1);
		s->dstate = D_CR;
	}
	dot_cleared(s);
}

/* The content stops short: the client gave up on a BDAT message (RSET, HELO, DATA,
 * TLS) or the connection closed. MESSAGE_END, then TXN_RESULT with code 0 unless the
 * server's reply was already seen. */
void smtp_msg_abort(struct sl_smtp *s, uint64_t end_off, const char *why)
{
	struct smtp_txn *t = s->msg;
	smtp_signal(s, SL_SIG_SMTP_INCOMPLETE, end_off, "%s", why);
	smtp_data_release_cr(s);
	if (s->cstate == C_DATA || s->cstate == C_BDAT)
		s->cstate = C_CMD;
	if (!t->result_due) {
		/* nothing the server committed: the result is "no reply" */
		t->result_due = true;
		t->result_code = 0;
		t->result_off = s->s_pos;
	}
	smtp_msg_end(s, end_off);
}

/* Index of the first CR, LF (or NUL when nul) in p[i..n), or n. The hot loop of DATA:
 * AVX2 when the CPU has it (scan_quiet_avx2, which also passes over quiet CRLFs), else
 * SSE2 (16 bytes, three compares). */
static size_t scan_break_scalar(const uint8_t *p, size_t i, size_t n, bool nul)
{
	for (; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\r' || c == '\n' || (nul && c == 0))
			return i;
	}
	return n;
}

/* The first break as scan_break_scalar finds it, except that quiet CRLFs (followed by
 * a byte other than '.', CR, LF, NUL) are passed over in the vector loop: they leave
 * the DATA state as it was, so the state machine sees only the breaks that matter
 * (the scalar tail may still stop at one; the caller passes over those). A mail line
 * is ~76 bytes: without this, every line costs a return to the state machine. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static size_t scan_quiet_avx2(const uint8_t *p, size_t i,
                                                              size_t n, bool nul)
{
	/* table[low nibble] = the byte of the set with that low nibble; 0x80 for none
	 * (bytes >= 0x80 look up 0 and bytes < 0x80 never equal 0x80) */
	const char no = (char)0x80;
	const __m256i breaks = _mm256_broadcastsi128_si256(_mm_setr_epi8(
		nul ? 0 : no, no, no, no, no, no, no, no, no, no, '\n', no, no, '\r', no, no));
	const __m256i after_special = _mm256_broadcastsi128_si256(_mm_setr_epi8(
		0, no, no, no, no, no, no, no, no, no, '\n', no, no, '\r', '.', no));
	const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
	uint32_t carry = 0; /* the previous block's last byte is the CR of a quiet CRLF */
	for (; i + 34 <= n; i += 32) {
		__m256i v0 = _mm256_loadu_si256((const __m256i *)(p + i));
		uint32_t brk = (uint32_t)_mm256_movemask_epi8(
			_mm256_cmpeq_epi8(_mm256_shuffle_epi8(breaks, v0), v0));
		if (!brk) {
			carry = 0;
			continue;
		}
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(p + i + 1));
		__m256i v2 = _mm256_loadu_si256((const __m256i *)(p + i + 2));
		__m256i crlf = _mm256_and_si256(_mm256_cmpeq_epi8(v0, cr), _mm256_cmpeq_epi8(v1, lf));
		__m256i special = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(after_special, v2), v2);
		uint32_t quiet_cr = (uint32_t)_mm256_movemask_epi8(_mm256_andnot_si256(special, crlf));
		uint32_t loud = brk & ~(quiet_cr | quiet_cr << 1 | carry);
		if (loud)
			return i + (size_t)__builtin_ctz(loud);
		carry = quiet_cr >> 31;
	}
	/* never stop between the CR and LF of a quiet CRLF: go on after its LF */
	return scan_break_scalar(p, i + carry, n, nul);
}
#endif

static size_t scan_break_sse2(const uint8_t *p, size_t i, size_t n, bool nul)
{
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r');
	const __m128i lf = _mm_set1_epi8('\n');
	const __m128i z = nul ? _mm_setzero_si128() : cr;
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
		                         _mm_cmpeq_epi8(v, z));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return i + (size_t)__builtin_ctz(mask);
	}
#endif
	return scan_break_scalar(p, i, n, nul);
}

static size_t scan_quiet(const uint8_t *p, size_t i, size_t n, bool nul)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx2"))
		return scan_quiet_avx2(p, i, n, nul);
#endif
	return scan_break_sse2(p, i, n, nul);
}

static const char *break_name(enum smtp_break b)
{
	switch (b) {
	case BRK_CRLF: return "CRLF";
	case BRK_LF: return "LF";
	case BRK_CR: return "CR";
	}
	return "?";
}

/* A dot between line breaks that is not exactly CRLF.CRLF. */
static void smuggling(struct sl_smtp *s, const char *after)
{
	/* a server reading bare line ends may take this for the end: nothing more of the
	 * message is passed on before the verdict */
	s->hold_sticky = true;
	if (s->smuggling_signalled)
		return;
	s->smuggling_signalled = true;
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = s->msg->id,
		.offset = s->dot_raw,
		.name = sl_signal_name(SL_SIG_SMTP_SMUGGLING),
	};
	char detail[64];
	snprintf(detail, sizeof detail, "%s.%s does not end the message",
	         break_name(s->dprefix), after);
	ev.value = detail;
	smtp_emit(s, &ev);
}

/* Message content after 354. Returns the bytes used: all of them, or up to and
 * including the terminator (then the client is back to commands). */
size_t smtp_data_run(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	static const uint8_t cr = '\r';
	size_t run = 0; /* first byte not passed on yet */
	size_t i = 0;
#define FLUSH_TO(j) do { smtp_msg_raw(s, p + run, (j) - run); run = (j); } while (0)
	while (i < n && !smtp_stopped(s)) {
		uint8_t c = p[i];
		switch (s->dstate) {
		case D_MID:
			for (;;) {
				i = scan_quiet(p, i, n, !s->nul_signalled);
				/* the common case, CRLF and an ordinary first byte: no state change */
				if (i + 2 >= n || p[i] != '\r' || p[i + 1] != '\n')
					break;
				uint8_t d = p[i + 2];
				if (d == '.' || d == '\r' || d == '\n' || d == 0)
					break;
				i += 3;
			}
			if (i == n)
				break;
			c = p[i];
			if (c == 0) {
				FLUSH_TO(i);
				s->nul_signalled = true;
				smtp_signal(s, SL_SIG_SMTP_NUL, 0, "NUL byte in message data");
			} else {
				s->dstate = c == '\r' ? D_CR : D_LF;
			}
			i++;
			break;
		case D_CR:
			if (c == '\n') {
				s->dstate = D_LINE;
				i++;
			} else if (c == '.') {
				dot_seen(s, BRK_CR, s->raw_off + (i - run), s->c_pos + i);
				i++;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_LF:
			if (c == '.') {
				dot_seen(s, BRK_LF, s->raw_off + (i - run), s->c_pos + i);
				i++;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_LINE:
			if (c == '.') {
				/* a line-start dot is never content: stuffing or terminator */
				FLUSH_TO(i);
				run = i + 1;
				dot_seen(s, BRK_CRLF, s->raw_off, s->c_pos + i);
				i++;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_DOT:
			if (c == '\n') {
				FLUSH_TO(i);
				smuggling(s, "LF");
				s->dstate = D_LF; /* the LF is itself a bare line break */
				i++;
			} else if (c == '\r') {
				if (s->dprefix == BRK_CRLF) {
					/* hold the CR: it is the terminator's if LF follows */
					FLUSH_TO(i);
					run = i + 1;
				}
				s->dstate = D_DOTCR;
				i++;
			} else {
				dot_cleared(s);
				s->dstate = D_MID;
			}
			break;
		case D_DOTCR:
			if (c == '\n' && s->dprefix == BRK_CRLF) {
				/* CRLF.CRLF: end of data; the dot and this CRLF are not content */
				struct smtp_pending eod = {
					.cmd = CMD_END_OF_DATA,
					.slot = (int8_t)smtp_txn_slot(s, s->msg),
					.txn = s->msg->id,
					.rcpt = UINT32_MAX,
				};
				if (!smtp_queue_push(s, &eod))
					break; /* failed: the failure ends the message */
				s->c_pos += i + 1;
				s->cstate = C_CMD;
				smtp_msg_end(s, s->c_pos);
				return i + 1;
			}
			FLUSH_TO(i);
			if (c == '\n') {
				smuggling(s, "CRLF");
				s->dstate = D_LINE;
				i++;
				break;
			}
			smuggling(s, "CR");
			if (s->dprefix == BRK_CRLF)
				smtp_msg_raw(s, &cr, 1); /* the held CR was content after all */
			s->dstate = D_CR; /* a bare CR, now followed by c */
			break;
		}
	}
	FLUSH_TO(n);
#undef FLUSH_TO
	s->c_pos += n;
	return n;
}

/* Bytes of a BDAT chunk: passed on as they are. */
size_t smtp_bdat_run(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	size_t k = n < s->bdat_left ? n : (size_t)s->bdat_left;
	smtp_msg_raw(s, p, k);
	s->bdat_left -= k;
	s->c_pos += k;
	if (s->bdat_left == 0) {
		s->cstate = C_CMD;
		if (s->bdat_last)
			smtp_msg_end(s, s->c_pos);
	}
	return k;
}
