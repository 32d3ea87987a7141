/* One authenticated journal connection: read RECORD frames, prepare them, hand them to
 * the committer, and reply in order once each is durable. Records already waiting on
 * the socket join the same group commit (up to the window).
 *
 * Memory: a payload is read in pieces into a buffer that grows as its bytes arrive
 * (never the claimed length up front), and the bytes claimed by every connection's
 * frames together stay under lim.inflight_bytes: a connection holding frames does not
 * wait for more room, it commits what it has first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define PIECE (256u << 10)

struct pending {
	struct ar_prepared p;
	size_t claimed;    /* budget taken */
	bool framing_lost; /* refuse, then close: the byte stream can not be trusted */
};

static void refuse(struct pending *pd, const char *why)
{
	pd->p.status = AR_INGEST_REFUSED;
	snprintf(pd->p.reason, sizeof pd->p.reason, "%s", why);
	pd->framing_lost = true;
}

/* The payload of a frame whose header said len bytes, read as it arrives. */
static uint8_t *read_payload(struct ar_conn *c, uint32_t len)
{
	size_t cap = len < PIECE ? (len ? len : 1) : PIECE, got = 0;
	uint8_t *buf = malloc(cap);
	while (buf && got < len) {
		if (got == cap) {
			cap = cap * 2 < len ? cap * 2 : len;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		size_t want = cap - got < PIECE ? cap - got : PIECE;
		if (ar_conn_read(c, buf + got, want) < 0)
			break;
		got += want;
	}
	if (buf && got == len)
		return buf;
	free(buf);
	return NULL;
}

enum frame_read { FRAME_OK, FRAME_GONE, FRAME_NO_ROOM };

/* Read one frame into pd. With `holding` (other frames of this round not committed
 * yet) the budget is not waited for: FRAME_NO_ROOM, and hdr stays for the next round. */
static enum frame_read read_frame(struct ar_session *ss, struct pending *pd, uint8_t *hdr,
	bool have_hdr, bool holding)
{
	struct ar_server *srv = ss->srv;
	struct ar_conn *c = &ss->c;
	memset(pd, 0, sizeof *pd);
	if (!have_hdr && ar_conn_read(c, hdr, SL_JOURNAL_HEADER_LEN) < 0)
		return FRAME_GONE;
	int type = 0;
	uint32_t len, crc;
	char err[200] = "";
	if (sl_journal_header_parse(hdr, &type, &len, &crc, err, sizeof err) < 0 ||
	    type != SL_JFRAME_RECORD) {
		if (!err[0])
			snprintf(err, sizeof err, "frame type %d is not a record", type);
		refuse(pd, err);
		return FRAME_OK;
	}
	if (!ar_budget_take(srv, len, !holding, c))
		return holding ? FRAME_NO_ROOM : FRAME_GONE;
	pd->claimed = len;
	uint8_t *payload = read_payload(c, len);
	if (!payload) {
		ar_budget_give(srv, pd->claimed);
		pd->claimed = 0;
		return FRAME_GONE;
	}
	if (sl_journal_frame_crc(hdr, payload, len) != crc) {
		refuse(pd, "CRC mismatch");
		free(payload);
		return FRAME_OK;
	}
	struct ar_origin o = { .via = AR_VIA_JOURNAL };
	ar_origin_now(&o);
	snprintf(o.peer, sizeof o.peer, "%s", ss->peer);
	snprintf(o.addr, sizeof o.addr, "%s", ss->addr);
	ar_prepare(srv->s, payload, 0, len, &o, &pd->p); /* takes the payload */
	return FRAME_OK;
}

static void reply(struct sl_strbuf *out, struct pending *pd)
{
	struct ar_prepared *p = &pd->p;
	if (p->status == AR_INGEST_STORED || p->status == AR_INGEST_DUPLICATE)
		sl_journal_encode_reply(out, SL_JFRAME_ACK, p->rec.id,
			p->status == AR_INGEST_STORED ? SL_JACK_STORED : SL_JACK_DUPLICATE, NULL);
	else
		sl_journal_encode_reply(out, SL_JFRAME_REFUSE, p->rec.id, 0, p->reason);
}

void ar_journal_session(struct ar_session *ss)
{
	struct ar_server *srv = ss->srv;
	struct ar_conn *c = &ss->c;
	unsigned window = srv->window ? srv->window : 64;
	struct pending *pd = calloc(window, sizeof *pd);
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	bool have_hdr = false;
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	bool open = pd != NULL;
	while (open) {
		size_t n = 0;
		/* take what the sender has pipelined, up to the window and the budget */
		do {
			enum frame_read fr = read_frame(ss, &pd[n], hdr, have_hdr, n > 0);
			have_hdr = fr == FRAME_NO_ROOM;
			if (fr != FRAME_OK) {
				open = fr == FRAME_NO_ROOM;
				break;
			}
			if (pd[n].p.status == AR_INGEST_REFUSED)
				__atomic_add_fetch(&srv->refused, 1, __ATOMIC_RELAXED);
			else
				ar_committer_enqueue(srv->cm, &pd[n].p);
			n++;
			if (pd[n - 1].framing_lost)
				break;
		} while (n < window && ar_conn_pending(c));

		sl_strbuf_clear(&out);
		bool replying = true; /* replies must stay in frame order: stop at a failure */
		for (size_t i = 0; i < n; i++) {
			struct ar_prepared *p = &pd[i].p;
			if (p->status == AR_INGEST_REFUSED) {
				ar_committer_count_refused(srv->cm);
			} else {
				ar_committer_wait(srv->cm, p);
				__atomic_add_fetch(&srv->records, 1, __ATOMIC_RELAXED);
			}
			if (p->status == AR_INGEST_FAILED) {
				/* not durable: say nothing, drop the connection, the sender retries */
				fprintf(stderr, "sluice-archive: journal record from %s not stored: %s\n",
					ss->peer, p->reason);
				open = false;
				replying = false;
			} else if (replying) {
				reply(&out, &pd[i]);
			}
			if (pd[i].framing_lost)
				open = false;
			ar_prepared_free(p);
			ar_budget_give(srv, pd[i].claimed);
		}
		if (out.len && ar_conn_write(c, out.s, out.len) < 0)
			open = false;
		if (srv->stopping)
			open = false;
	}
	sl_strbuf_free(&out);
	free(pd);
}
