/* Internals of the extraction stage (extract.h): a stack of levels, one per container
 * being read. Level 0 reads a MIME leaf part; a container at level L hands each member
 * to level L+1 (begin, data, end), which sniffs it and either opens it in turn, emits it
 * as a FILE member, or emits the text of a document part. zip.c, tar.c, gzip.c and
 * xmltext.c are the formats; extract.c the stack, limits and events. */
#ifndef SLUICE_EXTRACT_INT_H
#define SLUICE_EXTRACT_INT_H

#include <expat.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "../core/mem.h"
#include "extract.h"
#include "sluice/signals.h"

#define X_SNIFF 512          /* bytes looked at to tell a member's format (tar: 262) */
#define X_OUT 16384          /* inflate output per call */
#define X_NAME_MAX 512       /* a member name: its last bytes are kept (the extension) */
#define X_TEXT_BUF 4096      /* document text gathered before a MEMBER_DATA */
#define X_RATIO_SLACK (1u << 20) /* output a member may have before the ratio applies */
#define X_RATIO_STEP 1024        /* compressed bytes between two ratio checks */
#define X_KEPT_LEVELS 1           /* levels a recycled stage keeps (sl_extract_recycle) */

enum xfmt {
	XF_SNIFF,   /* not decided yet */
	XF_SKIP,    /* level 0: not a container (the MIME part is scanned as it is) */
	XF_FILE,    /* emitted as a FILE member */
	XF_IGNORE,  /* read to its end, nothing emitted (after an error) */
	XF_ZIP,
	XF_GZIP,
	XF_TAR,
	XF_XML,     /* a document part: its text */
	XF_OLE2,    /* OLE2 compound file: encrypted Office or legacy Office */
	XF_PDF,     /* a PDF file: its content streams are members */
	XF_PDFTEXT, /* a PDF content stream: the text it shows */
};

struct xzip {
	int st;
	uint8_t hdr[64];
	size_t have, need;
	uint64_t left;              /* bytes of the current field or data still to come */
	uint16_t flags, method, namelen, extralen, commentlen;
	uint32_t crc;
	uint64_t csize, usize;
	uint64_t name_hash;          /* of the whole name (the central directory check) */
	char name[X_NAME_MAX];       /* its last bytes */
	size_t nname;
	uint8_t extra[256];
	size_t nextra;
	bool zip64, member_open;
	uint64_t m_in, m_out;       /* compressed bytes read, bytes out (ratio, checks) */
	uint32_t m_crc;
	uint64_t nlocal, ncentral, sum_local, sum_central, eocd_entries;
	bool central_seen, eocd_seen;
};

struct xtar {
	uint8_t blk[512];
	size_t have;
	uint64_t left, pad;         /* data bytes of the member, then padding to 512 */
	int kind;                   /* what the data is: file, long name, pax, skipped */
	unsigned zero_blocks;
	bool long_name, member_open, ended;
	char pax_path[X_NAME_MAX + 1];
	size_t npax;
	uint8_t paxbuf[1024];       /* a pax header's records (larger ones: not parsed) */
	size_t npaxbuf;
};

struct xgz {
	gz_header head;
	uint8_t name[X_NAME_MAX + 1];
	bool member_open, ended;
	bool garbage;               /* bytes after a member that are not another: ignored */
};

struct xxml {
	XML_Parser p;
	struct sl_extract *owner;   /* for expat's callbacks */
	struct xlevel *level;
	unsigned in_text;           /* open elements whose character data is text */
	bool failed;
	uint8_t *buf;               /* X_TEXT_BUF */
	size_t n;
	uint64_t off;
};

struct xpdf {
	int st;
	uint8_t dict[2048];         /* bytes since the last object began (its dictionary) */
	size_t ndict;
	uint8_t win[16];            /* the last bytes scanned (keywords) */
	size_t nwin;
	unsigned streams;
	bool member_open, encrypted, mapped_fonts;
};

struct xpdftext {
	int st;
	unsigned depth, oct, noct, hex, nhex, ei;
	bool in_array;
	char tok[16];
	size_t ntok;
	uint8_t str[1024], arr[2048]; /* the last string operand, a TJ array's strings */
	size_t nstr, narr;
	uint8_t last;               /* the last byte emitted */
};

struct xlevel {
	enum xfmt fmt;
	enum xfmt preset;           /* the format its container knows it has, or XF_SNIFF */
	unsigned depth;             /* 0: the MIME part */
	size_t path_len;            /* x->path up to and including this level's name */
	const char *format;         /* of the container this member came from */
	struct sl_member member;
	bool begun;                 /* MEMBER_BEGIN emitted */
	uint64_t data_off;
	uint8_t sniff[X_SNIFF];
	size_t nsniff;
	bool ole_encrypted;         /* XF_OLE2: "EncryptedPackage" seen */
	size_t ole_match;
	/* inflate (zip, gzip): made on first use, kept */
	z_stream z;
	bool z_ready;
	int z_bits;
	uint64_t z_in, z_out;       /* this stream's bytes in and out (the ratio) */
	bool z_check;               /* a step's input is in: check once its output is out */
	uint8_t *zout;
	struct xzip zip;
	struct xtar tar;
	struct xgz gz;
	struct xxml xml;
	struct xpdf pdf;
	struct xpdftext pdft;
};

struct sl_extract {
	struct sl_limits lim;
	struct sl_mem *mem;          /* the owner's allocator (charged, fails the owner) */
	size_t held;                 /* bytes this stage holds (extract_max_memory) */
	bool over_budget;            /* an allocation was refused by our own budget */
	sl_event_fn out;
	void *ctx;
	struct xlevel **lv;          /* extract_depth + 1 slots, made on first use */
	unsigned nlv;
	/* the attachment being read */
	bool active, halted;
	const struct sl_part *part;
	uint32_t txn;
	uint64_t sigmask;            /* signals raised for this attachment */
	enum xfmt force;             /* level 0 format for the fuzzers (XF_SNIFF: sniff) */
	/* expat's arena (xmlmem.c): chunks kept until the stage is recycled */
	struct xchunk *arena, *arena_cur;
	size_t arena_used;           /* bytes of arena_cur given out */
	uint8_t *arena_last;         /* the last block given out (grows in place) */
	struct xxml *xml_live;       /* the parser living in the arena, if any */
	/* the message */
	bool msg_halted;
	uint64_t extracted, work;
	size_t members;
	char path[SL_MEMBER_PATH_MAX];
};

/* extract.c: what the formats call */
struct xlevel *x_level(struct sl_extract *x, unsigned depth);
/* A member of the container at `parent` begins, ends, has bytes. */
/* `as`: the member's format when its container knows it (XF_PDFTEXT), else XF_SNIFF. */
void x_member_begin(struct sl_extract *x, struct xlevel *parent, const char *name, size_t n,
                    enum xfmt as);
void x_member_data(struct sl_extract *x, struct xlevel *parent, const uint8_t *p, size_t n);
void x_member_end(struct sl_extract *x, struct xlevel *parent);
/* Emit bytes of the level's own member (FILE, TEXT). */
void x_emit_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_signal(struct sl_extract *x, struct xlevel *l, enum sl_signal s, const char *why);
/* A limit was hit: signal, and nothing more of the attachment (or message) is read. */
void x_halt(struct sl_extract *x, struct xlevel *l, enum sl_signal s, const char *why, bool message);
void *x_alloc(struct sl_extract *x, size_t n);
void x_free(struct sl_extract *x, void *p, size_t n);
/* The stage whose call is in progress on this thread (zlib's and expat's hooks take no
 * context), and blocks charged to it that carry their size and kind in front (X_HDR). */
struct sl_extract *x_current(void);
void *x_sized_alloc(size_t n);
void x_sized_free(void *q);
#define X_HDR 16
enum { X_BLOCK_HEAP, X_BLOCK_ARENA };
static inline void x_hdr_set(uint8_t *p, size_t n, size_t kind)
{
	memcpy(p, &n, sizeof n);
	memcpy(p + sizeof n, &kind, sizeof kind);
}
static inline size_t x_hdr_size(const uint8_t *p)
{
	size_t n;
	memcpy(&n, p, sizeof n);
	return n;
}
static inline size_t x_hdr_kind(const uint8_t *p)
{
	size_t k;
	memcpy(&k, p + sizeof k, sizeof k);
	return k;
}
/* xmlmem.c: expat's allocator, charged to the current stage. Blocks up to X_ARENA_BIG
 * come from the stage's arena, rewound when a parser is made (the stage's one parser
 * is freed first); larger ones from the heap. */
extern const XML_Memory_Handling_Suite x_xml_mem;
void x_xml_arena_rewind(struct sl_extract *x);
/* Chunks beyond the first freed (no parser may live in them), then rewound. */
void x_xml_arena_trim(struct sl_extract *x);
/* The last document's parser freed and the arena trimmed. */
void x_xml_release(struct sl_extract *x);
void x_xml_arena_free(struct sl_extract *x);
/* The level's inflater, made on first use, reset for a new stream (windowBits). */
bool x_inflate_reset(struct sl_extract *x, struct xlevel *l, int bits);
/* Inflate input into the level's output buffer and hand the output to `sink`; returns
 * bytes of input used, *end when the stream ended, *err on bad data. The compression
 * ratio is checked each X_RATIO_STEP bytes of input, once all the output they give is
 * out: a point that does not depend on how the input was cut, so neither does where a
 * bomb is stopped. */
typedef void (*x_sink_fn)(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
size_t x_inflate(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n,
                 x_sink_fn sink, bool *end, bool *err);

/* formats: start (the level's sniffed bytes follow as data), data, end (of input) */
void x_zip_start(struct sl_extract *x, struct xlevel *l);
void x_zip_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_zip_end(struct sl_extract *x, struct xlevel *l);
void x_tar_start(struct sl_extract *x, struct xlevel *l);
void x_tar_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_tar_end(struct sl_extract *x, struct xlevel *l);
void x_gz_start(struct sl_extract *x, struct xlevel *l);
void x_gz_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_gz_end(struct sl_extract *x, struct xlevel *l);
bool x_xml_start(struct sl_extract *x, struct xlevel *l);
void x_xml_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_xml_end(struct sl_extract *x, struct xlevel *l);
void x_xml_free(struct sl_extract *x, struct xlevel *l);
void x_pdf_start(struct sl_extract *x, struct xlevel *l);
void x_pdf_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_pdf_end(struct sl_extract *x, struct xlevel *l);
void x_pdftext_start(struct sl_extract *x, struct xlevel *l);
void x_pdftext_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n);
void x_pdftext_end(struct sl_extract *x, struct xlevel *l);

#endif
