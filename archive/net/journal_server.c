/* One journal connection: read RECORD frames, prepare them, hand them to the
 * committer, and reply in order once each is durable. Records already waiting on the
 * socket join the same group commit (up to the window). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

struct pending {
	struct ar_prepared p;
	bool framing_lost; /* refuse, then close: the byte stream can not be trusted */
};

static void reply(struct ar_conn *c, struct sl_strbuf *out, struct pending *pd)
{
	struct ar_prepared *p = &pd->p;
	if (p->status == AR_INGEST_STORED || p->status == AR_INGEST_DUPLICATE)
		sl_journal_encode_reply(out, SL_JFRAME_ACK, p->rec.id,
			p->status == AR_INGEST_STORED ? SL_JACK_STORED : SL_JACK_DUPLICATE, NULL);
	else
		sl_journal_encode_reply(out, SL_JFRAME_REFUSE, p->rec.id, 0, p->reason);
	(void)c;
}

/* Read one frame into pd; false when the connection is gone. */
static bool read_frame(struct ar_server *srv, struct ar_conn *c, struct pending *pd)
{
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	memset(pd, 0, sizeof *pd);
	if (ar_conn_read(c, hdr, sizeof hdr) < 0)
		return false;
	int type = 0;
	uint32_t len, crc;
	char err[200] = "";
	if (sl_journal_header_parse(hdr, &type, &len, &crc, err, sizeof err) < 0 ||
	    type != SL_JFRAME_RECORD) {
		if (!err[0])
			snprintf(err, sizeof err, "frame type %d is not a record", type);
		pd->p.status = AR_INGEST_REFUSED;
		snprintf(pd->p.reason, sizeof pd->p.reason, "%s", err);
		pd->framing_lost = true;
		return true;
	}
	uint8_t *payload = malloc(len ? len : 1);
	if (!payload || ar_conn_read(c, payload, len) < 0) {
		free(payload);
		return false;
	}
	if (sl_journal_frame_crc(hdr, payload, len) != crc) {
		pd->p.status = AR_INGEST_REFUSED;
		snprintf(pd->p.reason, sizeof pd->p.reason, "CRC mismatch");
		pd->framing_lost = true;
		free(payload);
	} else {
		ar_prepare(srv->s, payload, 0, len, &pd->p); /* takes the payload */
	}
	return true;
}

void ar_journal_conn(struct ar_server *srv, int fd)
{
	struct ar_conn *c = malloc(sizeof *c);
	ar_conn_init(c, fd);
	unsigned window = srv->window ? srv->window : 64;
	struct pending *pd = calloc(window, sizeof *pd);
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	bool open = true;
	while (open) {
		size_t n = 0;
		/* take what the sender has pipelined, up to the window */
		do {
			if (!read_frame(srv, c, &pd[n])) {
				open = false;
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
				fprintf(stderr, "sluice-archive: journal record not stored: %s\n", p->reason);
				open = false;
				replying = false;
			} else if (replying) {
				reply(c, &out, &pd[i]);
			}
			if (pd[i].framing_lost)
				open = false;
			ar_prepared_free(p);
		}
		if (out.len && ar_conn_write(c, out.s, out.len) < 0)
			open = false;
		if (srv->stopping)
			open = false;
	}
	sl_strbuf_free(&out);
	free(pd);
	close(fd);
	free(c);
}
