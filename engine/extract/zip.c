/* ZIP read as it streams: local headers one after another (stored and deflate members
 * go to the next level as they inflate), then the central directory, which must list
 * the same entries (name, CRC, sizes) as the local headers did: a ZIP whose two views
 * disagree extracts differently in another reader (extract.zip_mismatch). The check
 * keeps a count and an order-independent sum of entry hashes, not the entries. */
#include "extract_int.h"

#include <string.h>

enum {
	ZS_SIG, ZS_LFH, ZS_LNAME, ZS_LEXTRA, ZS_STORED, ZS_DEFLATE, ZS_SKIP_DATA, ZS_DESC,
	ZS_CDH, ZS_CNAME, ZS_CEXTRA, ZS_SKIP, ZS_EOCD, ZS_REST, ZS_Z64,
};

#define SIG_LFH 0x04034b50u
#define SIG_CDH 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_Z64EOCD 0x06064b50u
#define SIG_Z64LOC 0x07064b50u
#define SIG_DESC 0x08074b50u

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t entry_hash(const struct xzip *z)
{
	return mix(mix(mix(z->name_hash ^ z->crc) ^ z->csize) ^ z->usize);
}

/* Collect the fixed bytes of a record; true when all `need` are in. */
static bool collect(struct xzip *z, const uint8_t **p, size_t *n)
{
	size_t k = z->need - z->have < *n ? z->need - z->have : *n;
	memcpy(z->hdr + z->have, *p, k);
	z->have += k, *p += k, *n -= k;
	return z->have == z->need;
}

static size_t take(struct xzip *z, size_t n)
{
	return z->left < n ? (size_t)z->left : n;
}

static void expect(struct xzip *z, int st, size_t need)
{
	z->st = st;
	z->have = 0;
	z->need = need;
}

static void name_start(struct xzip *z)
{
	z->name_hash = 0xcbf29ce484222325ull;
	z->nname = 0;
	z->nextra = 0;
}

static void name_add(struct xzip *z, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		z->name_hash = (z->name_hash ^ p[i]) * 0x100000001b3ull;
	if (n >= X_NAME_MAX) { /* keep the end: the extension */
		memcpy(z->name, p + n - X_NAME_MAX, X_NAME_MAX);
		z->nname = X_NAME_MAX;
		return;
	}
	if (z->nname + n > X_NAME_MAX) {
		size_t drop = z->nname + n - X_NAME_MAX;
		memmove(z->name, z->name + drop, z->nname - drop);
		z->nname -= drop;
	}
	memcpy(z->name + z->nname, p, n);
	z->nname += n;
}

static void extra_add(struct xzip *z, const uint8_t *p, size_t n)
{
	size_t k = sizeof z->extra - z->nextra < n ? sizeof z->extra - z->nextra : n;
	memcpy(z->extra + z->nextra, p, k);
	z->nextra += k;
}

/* ZIP64 extended information (tag 1): 8-byte values for the fields that are all ones. */
static void zip64_sizes(struct xzip *z)
{
	for (size_t i = 0; i + 4 <= z->nextra;) {
		uint16_t tag = le16(z->extra + i), len = le16(z->extra + i + 2);
		const uint8_t *v = z->extra + i + 4;
		if (i + 4 + len > z->nextra)
			return;
		if (tag == 1) {
			size_t at = 0;
			z->zip64 = true;
			if (z->usize == 0xFFFFFFFFu && at + 8 <= len)
				z->usize = le64(v + at), at += 8;
			if (z->csize == 0xFFFFFFFFu && at + 8 <= len)
				z->csize = le64(v + at);
			return;
		}
		i += 4 + (size_t)len;
	}
}

static void corrupt(struct sl_extract *x, struct xlevel *l, const char *why)
{
	if (l->zip.member_open) {
		l->zip.member_open = false;
		x_member_end(x, l);
	}
	x_signal(x, l, SL_SIG_EXTRACT_CORRUPT, why);
	l->fmt = XF_IGNORE;
}

static void record_local(struct xzip *z)
{
	z->nlocal++;
	z->sum_local += entry_hash(z);
}

static void check_sizes(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	bool known = !(z->flags & 1) && (z->method == 0 || z->method == 8);
	if (known && (z->m_crc != z->crc || z->m_out != z->usize || z->m_in != z->csize))
		x_signal(x, l, SL_SIG_EXTRACT_CORRUPT, "a member's CRC or sizes differ from its header");
}

/* The member's data is over (stored bytes counted out, deflate stream ended). */
static void data_done(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	if (z->member_open) {
		z->member_open = false;
		x_member_end(x, l);
		if (x->halted)
			return;
	}
	if (z->flags & 8) {
		expect(z, ZS_DESC, 4);
		return;
	}
	check_sizes(x, l);
	record_local(z);
	if (z->method == 8 && z->m_in < z->csize) { /* the stream ended early: skip the rest */
		z->left = z->csize - z->m_in;
		z->st = ZS_SKIP;
		return;
	}
	expect(z, ZS_SIG, 4);
}

static void zip_sink(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xzip *z = &l->zip;
	z->m_crc = (uint32_t)crc32(z->m_crc, p, (uInt)n);
	z->m_out += n;
	if (z->member_open)
		x_member_data(x, l, p, n);
}

/* Local header, name and extra read: start the member's data. */
static void local_ready(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	zip64_sizes(z);
	z->m_in = z->m_out = 0;
	z->m_crc = (uint32_t)crc32(0, NULL, 0);
	bool dir = z->nname && z->name[z->nname - 1] == '/' && z->csize == 0;
	bool size_unknown = (z->flags & 8) && z->csize == 0;
	if (!dir) {
		x_member_begin(x, l, z->name, z->nname, XF_SNIFF);
		z->member_open = !x->halted;
		if (x->halted)
			return;
	}
	const char *problem = NULL;
	enum sl_signal sig = SL_SIG_EXTRACT_UNSUPPORTED;
	if (z->flags & 1) {
		sig = SL_SIG_EXTRACT_ENCRYPTED;
		problem = "encrypted member";
	} else if (z->method != 0 && z->method != 8) {
		problem = "compression method other than stored and deflate";
	}
	if (problem) {
		x_signal(x, l, sig, problem);
		if (size_unknown) { /* where its data ends cannot be known: stop here */
			corrupt(x, l, "a member whose end cannot be found (its size is in a data descriptor)");
			return;
		}
		z->left = z->csize;
		z->st = ZS_SKIP_DATA;
		return;
	}
	if (z->method == 0) {
		if (size_unknown) {
			corrupt(x, l, "a stored member whose size is in a data descriptor");
			return;
		}
		z->left = z->csize;
		z->st = ZS_STORED;
		if (!z->left)
			data_done(x, l);
		return;
	}
	if (!x_inflate_reset(x, l, -15))
		return;
	z->st = ZS_DEFLATE;
}

static void desc_done(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	size_t o = le32(z->hdr) == SIG_DESC && z->need > (z->zip64 ? 20u : 12u) ? 4 : 0;
	z->crc = le32(z->hdr + o);
	z->csize = z->zip64 ? le64(z->hdr + o + 4) : le32(z->hdr + o + 4);
	z->usize = z->zip64 ? le64(z->hdr + o + 12) : le32(z->hdr + o + 8);
	check_sizes(x, l);
	record_local(z);
	expect(z, ZS_SIG, 4);
}

static void central_done(struct xzip *z)
{
	zip64_sizes(z);
	z->ncentral++;
	z->sum_central += entry_hash(z);
	expect(z, ZS_SIG, 4);
}

static void eocd_done(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	uint16_t entries = le16(z->hdr + 6);
	z->eocd_seen = true;
	if (z->nlocal != z->ncentral || z->sum_local != z->sum_central ||
	    (entries != 0xFFFF && entries != (z->ncentral & 0xFFFF)))
		x_signal(x, l, SL_SIG_EXTRACT_ZIP_MISMATCH,
		         "the central directory does not list the entries the local headers hold");
	z->st = ZS_REST;
}

static void on_signature(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	uint32_t sig = le32(z->hdr);
	if (sig == SIG_LFH && !z->central_seen) {
		expect(z, ZS_LFH, 26);
	} else if (sig == SIG_CDH) {
		z->central_seen = true;
		expect(z, ZS_CDH, 42);
	} else if (sig == SIG_EOCD) {
		expect(z, ZS_EOCD, 18);
	} else if (sig == SIG_Z64EOCD) {
		expect(z, ZS_Z64, 8);
	} else if (sig == SIG_Z64LOC) {
		z->left = 16;
		z->st = ZS_SKIP;
	} else {
		corrupt(x, l, sig == SIG_LFH ? "a local header after the central directory"
		                             : "not a ZIP record where one was expected");
	}
}

void x_zip_start(struct sl_extract *x, struct xlevel *l)
{
	(void)x;
	memset(&l->zip, 0, sizeof l->zip);
	expect(&l->zip, ZS_SIG, 4);
}

void x_zip_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xzip *z = &l->zip;
	while (n && !x->halted && l->fmt == XF_ZIP) {
		size_t k;
		switch (z->st) {
		case ZS_SIG:
			if (collect(z, &p, &n))
				on_signature(x, l);
			break;
		case ZS_LFH:
			if (!collect(z, &p, &n))
				break;
			z->flags = le16(z->hdr + 2);
			z->method = le16(z->hdr + 4);
			z->crc = le32(z->hdr + 10);
			z->csize = le32(z->hdr + 14);
			z->usize = le32(z->hdr + 18);
			z->namelen = le16(z->hdr + 22);
			z->extralen = le16(z->hdr + 24);
			z->zip64 = false;
			name_start(z);
			z->left = z->namelen;
			z->st = ZS_LNAME;
			if (!z->left) {
				z->left = z->extralen;
				z->st = ZS_LEXTRA;
				if (!z->left)
					local_ready(x, l);
			}
			break;
		case ZS_LNAME:
		case ZS_CNAME:
			k = take(z, n);
			name_add(z, p, k);
			p += k, n -= k, z->left -= k;
			if (!z->left) {
				z->left = z->extralen;
				z->st = z->st == ZS_LNAME ? ZS_LEXTRA : ZS_CEXTRA;
				if (z->left)
					break;
				if (z->st == ZS_LEXTRA)
					local_ready(x, l);
				else
					goto central_extra_done;
			}
			break;
		case ZS_LEXTRA:
			k = take(z, n);
			extra_add(z, p, k);
			p += k, n -= k, z->left -= k;
			if (!z->left)
				local_ready(x, l);
			break;
		case ZS_STORED:
			k = take(z, n);
			zip_sink(x, l, p, k);
			z->m_in += k;
			p += k, n -= k, z->left -= k;
			if (!z->left && !x->halted)
				data_done(x, l);
			break;
		case ZS_DEFLATE: {
			bool end, err;
			size_t used = x_inflate(x, l, p, n, zip_sink, &end, &err);
			z->m_in += used;
			p += used, n -= used;
			if (x->halted)
				return;
			if (err || (!end && n)) {
				corrupt(x, l, "bad deflate data");
				return;
			}
			if (end)
				data_done(x, l);
			break;
		}
		case ZS_SKIP_DATA:
			k = take(z, n);
			p += k, n -= k, z->left -= k;
			if (!z->left)
				data_done(x, l);
			break;
		case ZS_DESC:
			if (!collect(z, &p, &n))
				break;
			if (z->need == 4) { /* signature, or the CRC when it has none */
				size_t rest = z->zip64 ? 20 : 12;
				z->need = le32(z->hdr) == SIG_DESC ? 4 + rest : rest;
				break;
			}
			desc_done(x, l);
			break;
		case ZS_CDH:
			if (!collect(z, &p, &n))
				break;
			z->flags = le16(z->hdr + 4);
			z->method = le16(z->hdr + 6);
			z->crc = le32(z->hdr + 12);
			z->csize = le32(z->hdr + 16);
			z->usize = le32(z->hdr + 20);
			z->namelen = le16(z->hdr + 24);
			z->extralen = le16(z->hdr + 26);
			z->commentlen = le16(z->hdr + 28);
			name_start(z);
			z->left = z->namelen;
			z->st = ZS_CNAME;
			if (!z->left) {
				z->left = z->extralen;
				z->st = ZS_CEXTRA;
				if (!z->left)
					goto central_extra_done;
			}
			break;
		case ZS_CEXTRA:
			k = take(z, n);
			extra_add(z, p, k);
			p += k, n -= k, z->left -= k;
			if (z->left)
				break;
		central_extra_done:
			central_done(z);
			z->left = z->commentlen;
			z->st = ZS_SKIP;
			break;
		case ZS_SKIP:
			k = take(z, n);
			p += k, n -= k, z->left -= k;
			if (!z->left)
				expect(z, ZS_SIG, 4);
			break;
		case ZS_EOCD:
			if (collect(z, &p, &n))
				eocd_done(x, l);
			break;
		case ZS_Z64:
			if (!collect(z, &p, &n))
				break;
			z->left = le64(z->hdr);
			z->st = ZS_SKIP;
			break;
		default: /* ZS_REST: the comment and anything after it */
			n = 0;
			break;
		}
	}
}

void x_zip_end(struct sl_extract *x, struct xlevel *l)
{
	struct xzip *z = &l->zip;
	if (l->fmt != XF_ZIP || z->eocd_seen)
		return;
	if (z->member_open) {
		z->member_open = false;
		x_member_end(x, l);
		if (x->halted)
			return;
	}
	x_signal(x, l, SL_SIG_EXTRACT_TRUNCATED, "the ZIP ends before its end of central directory");
}
