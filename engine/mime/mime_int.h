/* Internals of the streaming MIME parser, shared by mime.c (input, lines, structure),
 * mime_headers.c (header fields) and mime_body.c (decoding, hashing, text). */
#ifndef SLUICE_MIME_INT_H
#define SLUICE_MIME_INT_H

#include "sluice/digest.h"
#include <stdbool.h>
#include <stdint.h>

#include "../core/mem.h"
#include "sluice/mime.h"
#include "sluice/signals.h"
#include "sluice/strbuf.h"
#include "charset.h"
#include "pyemail.h"
#include "decode.h"
#include "../extract/extract.h"

/* What an entity turned out to be once its headers were read (Python's view). */
enum frame_kind {
	FK_LEAF,      /* a body: decoded, hashed, emitted */
	FK_MULTIPART, /* boundary-separated children */
	FK_MESSAGE,   /* message/... : one inner message */
	FK_DSN,       /* message/delivery-status: blocks of header fields */
};

/* Where an entity's parse is (the states of email.feedparser._parsegen). */
enum phase {
	PH_HEADERS,
	PH_BODY,         /* leaf body */
	PH_PREAMBLE,     /* multipart, before its first boundary (its own "body") */
	PH_AFTER_SEP,    /* multipart, after a separator: repeated boundaries are skipped */
	PH_CHILD_RETURN, /* multipart, a child ended: look at the line that ended it */
	PH_EPILOGUE,     /* multipart, after the close boundary */
	PH_DISCARD,      /* multipart whose start boundary never came: rest discarded */
	PH_OPAQUE,       /* multipart over the part cap: the rest is its data */
	PH_MSG_CHILD,    /* message/..., its inner message ended */
	PH_DSN_BLANK,    /* delivery-status, a block ended: consume the blank line */
	PH_DSN_PEEK,     /* delivery-status: another block, or the end */
	PH_END_PENDING,  /* a delivery-status block whose end waits to know if it is the last */
};

struct frame {
	struct sl_part part;
	enum frame_kind kind;
	enum phase phase;
	char *sep;              /* "--" + boundary (multipart; max_boundary + 3, on first use) */
	size_t seplen;
	bool boundary_active;   /* its boundary ends the current child (eof matcher) */
	bool blank_active;      /* delivery-status: a blank line ends the current block */
	bool digest;            /* multipart/digest: children default to message/rfc822 */
	bool pending_eof;       /* headers start at an "unread" end of input */
	bool text;              /* leaf of main type text: PART_TEXT too */
	unsigned nchildren;
	char *filename;         /* storage for part.filename (max_filename + 4), on first use */
	char disposition[32];
};

struct body {
	bool active;
	enum sl_encoding enc;
	const struct sl_part *part; /* the part whose body this is */
	size_t staged;          /* decoded bytes in the decode buffer, not yet out */
	struct sl_b64 b64;
	struct sl_qp qp;
	struct sl_uu uu;
	struct sl_hash sha;
	bool hashing;            /* this part's SHA-256 is computed (lim.skip_part_sha256) */
	uint64_t decoded;       /* PART_DATA offset */
	uint64_t text_off;      /* PART_TEXT offset */
	bool text, emit;        /* text conversion; PART_DATA/TEXT events */
	bool nul_seen;
	struct sl_textconv tc;
	uint8_t held[2];        /* the last line end, withheld until more data follows */
	size_t nheld;
	uint64_t raw_end;
};

/* Header-block state of the entity being parsed. */
struct hdrs {
	size_t lines;           /* header lines collected (feedparser's lineno) */
	size_t fields;
	bool have_field;
	struct sl_strbuf field; /* the current field, raw, lines joined */
	uint64_t field_off;
	bool field_trunc;       /* cut at max_header_bytes */
	bool field_cut;         /* a line of it was cut at max_line */
	struct sl_strbuf deferred; /* a "From " line that may be the first body line */
	bool have_deferred;
	uint64_t deferred_off;
	bool ctype_seen, cdisp_seen, cte_seen;
	struct sl_strbuf ctype, cdisp, cte; /* str() of the first of each (Python's) */
	struct sl_strbuf scratch, value;
};

enum tail_mode { TAIL_NONE, TAIL_DATA, TAIL_DROP };

struct sl_mime {
	struct sl_limits lim;
	sl_event_fn fn;
	void *ctx;
	struct sl_mem own_mem;  /* a standalone parser's allocator */
	struct sl_mem *mem;     /* &own_mem, or the owning session's */
	struct sl_mem *outer;   /* the caller's allocator, current around callbacks */
	bool fail_signalled;    /* standalone: engine.memory raised */
	uint32_t txn;
	uint64_t off;           /* raw offset of the next input byte */
	bool finished;

	/* line assembly */
	uint8_t *line;          /* max_line + 2 */
	size_t line_len;
	uint64_t line_off;
	bool in_line;           /* a line is being assembled */
	bool line_cr;           /* the line so far ends with CR: is LF next? */
	enum tail_mode tail;    /* rest of an over-long line */
	bool tail_cr;
	bool fast_mid_line;     /* fast body scan stopped inside a line */
	bool fast_cr;           /* fast body scan stopped after a CR */

	/* structure */
	struct frame **frames;  /* max_depth + 2 slots, each made on first use */
	unsigned nframe_slots;
	unsigned nframes;
	size_t nparts;
	bool parts_capped;
	uint64_t sigmask;       /* signals already raised for the current entity */

	struct hdrs h;
	struct body b;
	uint8_t *dec;           /* decode buffer, during a feed or finish call only */
	bool dec_shared;        /* dec is the thread's */
	uint8_t *own_dec;       /* when the thread's was in use (nested parsers) */
	size_t dec_cap;
	struct sl_iconv_cache iconv;
	struct sl_py_env py;
	size_t text_charset_unknown;
	struct sl_extract *x;   /* archives and documents opened (NULL: extraction off) */
};

/* mime.c */
/* A charged allocation of the parser; NULL when out of memory (the parser has failed
 * and stops at its next check). */
void *sl_mime_alloc(struct sl_mime *m, size_t n);
static inline bool sl_mime_stopped(const struct sl_mime *m)
{
	return m->mem->failed;
}
void sl_mime_signal(struct sl_mime *m, enum sl_signal s, const char *detail, uint64_t off);
void sl_mime_emit(struct sl_mime *m, const struct sl_event *ev);
/* Hands an event to the callback, with the caller's allocator current; nothing once the
 * parser failed. */
void sl_mime_callout(struct sl_mime *m, const struct sl_event *ev);
struct frame *sl_mime_top(struct sl_mime *m);

/* mime_headers.c */
void sl_hdrs_init(struct hdrs *h);
void sl_hdrs_free(struct hdrs *h);
/* For the next entity: buffers of up to 1 KiB are kept, longer ones freed. */
void sl_hdrs_reset(struct hdrs *h);
/* One header line (headerRE matched). */
void sl_hdrs_line(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off);
/* Finish the field in progress. */
void sl_hdrs_flush(struct sl_mime *m);
/* Fill f's part from the collected Content-* fields; returns whether a boundary
 * parameter exists (its value in `boundary`). */
bool sl_hdrs_describe(struct sl_mime *m, struct frame *f, bool parent_digest,
                      struct sl_strbuf *boundary);
/* headerRE: ^(From |[\041-\071\073-\176]*:|[\t ]) */
bool sl_hdrs_is_header_line(const uint8_t *p, size_t n);

/* mime_body.c */
void sl_body_start(struct sl_mime *m, struct frame *f, bool emit);
void sl_body_data(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off);
/* Hash, emit and convert the decoded bytes staged so far. Called before any other
 * event and at the end of each feed: nothing stays staged between calls. */
void sl_body_flush(struct sl_mime *m);
/* Ends the body; `strip` drops the withheld final line end (RFC 2046: it belongs to
 * the boundary that follows). Fills decoded_bytes, sha256, raw_body_end. */
void sl_body_end(struct sl_mime *m, struct frame *f, bool strip);

#endif
