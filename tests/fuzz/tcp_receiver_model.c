#include "tcp_receiver_model.h"

#include <stdlib.h>
#include <string.h>

#define before trm_seq_before
#define after trm_seq_after

#define RCV_WND 65535 /* no window scaling: the largest window a SYN can offer */

static void init(struct trm *m, enum trm_state idle, uint32_t iss, const struct trm_app *app)
{
	memset(m, 0, sizeof *m);
	m->state = m->idle_state = idle;
	m->next_iss = iss;
	m->rcv_wnd = RCV_WND;
	if (app)
		m->app = *app;
}

void trm_init_listen(struct trm *m, uint32_t iss, const struct trm_app *app)
{
	init(m, TRM_LISTEN, iss, app);
}

void trm_init_closed(struct trm *m, const struct trm_app *app)
{
	init(m, TRM_CLOSED, 0, app);
}

static void ooo_purge(struct trm *m)
{
	for (unsigned i = 0; i < m->nooo; i++)
		free(m->ooo[i].data);
	m->nooo = 0;
}

void trm_free(struct trm *m)
{
	ooo_purge(m);
}

/* A fresh connection's receive state. */
static void connection_start(struct trm *m, enum trm_state state, uint32_t irs)
{
	ooo_purge(m);
	m->state = state;
	m->irs = irs;
	m->rcv_nxt = irs + 1;
	m->fin_rcvd = m->app_closed = m->urg_pending = false;
}

static void connection_end(struct trm *m)
{
	ooo_purge(m);
	m->state = m->idle_state;
	m->resets++;
	if (m->app.reset)
		m->app.reset(m->app.arg);
}

void trm_sent(struct trm *m, uint32_t seq, uint32_t len, uint8_t flags)
{
	if ((flags & TRM_SYN) && !(flags & TRM_ACK) &&
	    (m->state == TRM_CLOSED || m->state == TRM_SYN_SENT)) {
		m->state = TRM_SYN_SENT;
		m->iss = m->snd_una = seq;
		m->snd_nxt = seq + 1;
		return;
	}
	if (m->state == TRM_CLOSED || m->state == TRM_LISTEN || m->state == TRM_SYN_SENT)
		return;
	uint32_t end = seq + len + !!(flags & TRM_SYN) + !!(flags & TRM_FIN);
	if (after(end, m->snd_nxt) && !(flags & TRM_RST))
		m->snd_nxt = end;
}

void trm_app_close(struct trm *m)
{
	m->app_closed = true;
}

void trm_abort(struct trm *m)
{
	if (m->state == TRM_SYN_RECV || m->state == TRM_ESTABLISHED)
		connection_end(m);
}

static void reply(struct trm_reply *r, uint8_t flags, uint32_t seq, uint32_t ack)
{
	r->flags = flags;
	r->seq = seq;
	r->ack = ack;
}

static void reply_ack(const struct trm *m, struct trm_reply *r)
{
	reply(r, TRM_ACK, m->snd_nxt, m->rcv_nxt);
}

static uint32_t seg_end(const struct trm_seg *s)
{
	return s->seq + s->len + !!(s->flags & TRM_SYN) + !!(s->flags & TRM_FIN);
}

/* tcp_v4_send_reset: the answer of a socket that does not want the segment. */
static void reply_reset(const struct trm_seg *s, struct trm_reply *r)
{
	if (s->flags & TRM_RST)
		return;
	if (s->flags & TRM_ACK)
		reply(r, TRM_RST, s->ack, 0);
	else
		reply(r, TRM_RST | TRM_ACK, 0, seg_end(s));
}

/* ---- what the application reads ---------------------------------------------------- */

/* Bytes [seq, seq+n) came into order: the application reads them at once, all but a
 * pending urgent byte (tcp_recvmsg without SO_OOBINLINE). */
static void app_read(struct trm *m, uint32_t seq, const uint8_t *p, size_t n)
{
	if (m->urg_pending && (uint32_t)(m->urg_seq - seq) < n) {
		size_t at = m->urg_seq - seq;
		m->urg_pending = false; /* read past it: urg_data cleared */
		app_read(m, seq, p, at);
		app_read(m, seq + (uint32_t)at + 1, p + at + 1, n - at - 1);
		return;
	}
	if (!n)
		return;
	m->delivered += n;
	if (m->app.data)
		m->app.data(m->app.arg, seq, p, n);
}

/* tcp_fin: the stream ends; what is queued after it is purged. */
static void fin_in_order(struct trm *m)
{
	m->fin_rcvd = true;
	ooo_purge(m);
	if (m->app.eof)
		m->app.eof(m->app.arg);
}

/* Bytes from rcv_nxt on of a segment [seq, end) (end past the FIN when fin). */
static void take_in_order(struct trm *m, uint32_t seq, uint32_t end, bool fin, const uint8_t *data)
{
	uint32_t data_end = end - fin;
	uint32_t skip = m->rcv_nxt - seq;
	if (after(data_end, m->rcv_nxt))
		app_read(m, m->rcv_nxt, data + skip, data_end - m->rcv_nxt);
	m->rcv_nxt = end;
	if (fin)
		fin_in_order(m);
}

/* tcp_ofo_queue: queued segments that now touch rcv_nxt come into order. */
static void ooo_drain(struct trm *m)
{
	while (m->nooo && !after(m->ooo[0].seq, m->rcv_nxt)) {
		struct trm_ooo o = m->ooo[0];
		memmove(m->ooo, m->ooo + 1, (m->nooo - 1) * sizeof *m->ooo);
		m->nooo--;
		if (after(o.end, m->rcv_nxt))
			take_in_order(m, o.seq, o.end, o.fin, o.data);
		free(o.data);
		if (m->fin_rcvd)
			return; /* tcp_fin purged the rest */
	}
}

static void ooo_remove(struct trm *m, unsigned i)
{
	free(m->ooo[i].data);
	memmove(m->ooo + i, m->ooo + i + 1, (m->nooo - i - 1) * sizeof *m->ooo);
	m->nooo--;
}

/* tcp_data_queue_ofo, without coalescing. The rbtree walk decides at the queued
 * segment with the largest seq not after the new one (the others it meets cannot hold
 * the new one without that one holding it too: no queued segment holds another). */
static void ooo_insert(struct trm *m, const struct trm_seg *s, uint32_t end, bool fin)
{
	uint32_t seq = s->seq;
	unsigned at = 0; /* index the new segment takes */
	while (at < m->nooo && !before(seq, m->ooo[at].seq))
		at++;
	if (at > 0) {
		struct trm_ooo *p = &m->ooo[at - 1]; /* the predecessor */
		if (before(seq, p->end)) {
			if (!after(end, p->end))
				return; /* all the bits are present: dropped */
			if (seq == p->seq) {
				ooo_remove(m, at - 1); /* covered from the same byte on: replaced */
				at--;
			}
			/* else a partial overlap: both kept */
		}
	}
	if (m->nooo == TRM_MAX_OOO) {
		m->dropped++;
		return;
	}
	uint8_t *copy = malloc(s->len ? s->len : 1);
	if (!copy)
		abort(); /* test harness: out of memory is not an input */
	memcpy(copy, s->data, s->len);
	memmove(m->ooo + at + 1, m->ooo + at, (m->nooo - at) * sizeof *m->ooo);
	m->ooo[at] = (struct trm_ooo){seq, end, fin, copy};
	m->nooo++;
	/* merge_right: the following segments it covers whole go */
	while (at + 1 < m->nooo) {
		struct trm_ooo *n = &m->ooo[at + 1];
		if (!after(end, n->seq) || before(end, n->end))
			break;
		ooo_remove(m, at + 1);
	}
}

/* tcp_data_queue (the segment passed the sequence and ACK checks). */
static void data_queue(struct trm *m, const struct trm_seg *s)
{
	bool fin = s->flags & TRM_FIN;
	uint32_t end = s->seq + s->len + fin;
	if (end == s->seq)
		return; /* a bare ACK */
	if (m->fin_rcvd || m->app_closed) {
		/* after a FIN: new data is not read; one that mixes old and new bytes (or any
		 * new data once the application closed) aborts the connection */
		if (m->fin_rcvd && !before(s->seq, m->rcv_nxt))
			return;
		if (after(end - fin, m->rcv_nxt))
			connection_end(m);
		return;
	}
	if (s->seq == m->rcv_nxt || (before(s->seq, m->rcv_nxt) && after(end, m->rcv_nxt))) {
		take_in_order(m, s->seq, end, fin, s->data);
		if (!m->fin_rcvd)
			ooo_drain(m);
		return;
	}
	if (!after(end, m->rcv_nxt))
		return; /* a retransmission of what was read */
	if (!before(s->seq, m->rcv_nxt + m->rcv_wnd))
		return; /* beyond the window */
	ooo_insert(m, s, end, fin);
}

/* tcp_check_urg: a new urgent pointer (the application reads all in order at once, so
 * copied_seq == rcv_nxt here). */
static void check_urg(struct trm *m, const struct trm_seg *s)
{
	uint32_t ptr = s->seq + (s->urg_ptr ? s->urg_ptr - 1u : 0u);
	if (before(ptr, m->rcv_nxt))
		return;
	if (m->urg_pending && !after(ptr, m->urg_seq))
		return;
	m->urg_pending = true;
	m->urg_seq = ptr;
}

/* ---- states -------------------------------------------------------------------------- */

static void listen_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r)
{
	if (s->flags & TRM_ACK) {
		reply_reset(s, r);
		return;
	}
	if ((s->flags & (TRM_RST | TRM_SYN | TRM_FIN)) != TRM_SYN) {
		m->dropped++;
		return;
	}
	connection_start(m, TRM_SYN_RECV, s->seq);
	m->iss = m->snd_una = m->next_iss;
	m->snd_nxt = m->iss + 1;
	reply(r, TRM_SYN | TRM_ACK, m->iss, m->rcv_nxt);
}

static void established_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r);

/* tcp_v4_check_req / tcp_check_req */
static void synrecv_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r)
{
	/* tcp_check_req looks at RST, SYN and ACK only */
	uint8_t flg = s->flags & (TRM_RST | TRM_SYN | TRM_ACK);
	if (s->seq == m->irs && flg == TRM_SYN) {
		reply(r, TRM_SYN | TRM_ACK, m->iss, m->rcv_nxt); /* a retransmitted SYN */
		return;
	}
	if ((s->flags & TRM_ACK) && s->ack != m->iss + 1) {
		reply_reset(s, r); /* the listener answers */
		return;
	}
	uint32_t end = seg_end(s), lo = m->rcv_nxt, hi = m->rcv_nxt + m->rcv_wnd;
	bool in_window = s->seq == lo || (after(end, lo) && before(s->seq, hi)) ||
	                 (s->seq == hi && s->seq == end);
	if (!in_window) {
		if (!(s->flags & TRM_RST))
			reply(r, TRM_ACK, m->iss + 1, m->rcv_nxt);
		m->dropped++;
		return;
	}
	if (s->seq == m->irs)
		flg &= (uint8_t)~TRM_SYN;
	if (flg & (TRM_RST | TRM_SYN)) {
		reply_reset(s, r); /* embryonic reset */
		connection_end(m);
		return;
	}
	if (!(flg & TRM_ACK)) {
		m->dropped++;
		return;
	}
	/* the child socket: established, and it runs the segment through every check */
	m->state = TRM_ESTABLISHED;
	m->snd_una = s->ack;
	if (m->app.open)
		m->app.open(m->app.arg);
	established_input(m, s, r);
}

static void synsent_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r)
{
	if (!(s->flags & TRM_ACK)) {
		m->dropped++; /* a RST without ACK is dropped; a bare SYN would be a
		               * simultaneous open: not modelled */
		return;
	}
	if (!after(s->ack, m->snd_una) || after(s->ack, m->snd_nxt)) {
		reply_reset(s, r);
		m->dropped++;
		return;
	}
	if (s->flags & TRM_RST) {
		connection_end(m);
		return;
	}
	if (!(s->flags & TRM_SYN)) {
		m->dropped++;
		return;
	}
	connection_start(m, TRM_ESTABLISHED, s->seq);
	m->snd_una = s->ack;
	if (m->app.open)
		m->app.open(m->app.arg);
	if (s->flags & TRM_URG)
		check_urg(m, s); /* tcp_urg runs; the SYN-ACK's data does not */
	reply_ack(m, r);
}

static bool reset_check(const struct trm *m, const struct trm_seg *s)
{
	return m->fin_rcvd && s->seq == m->rcv_nxt - 1;
}

static void established_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r)
{
	if (!(s->flags & (TRM_ACK | TRM_RST | TRM_SYN))) {
		m->dropped++;
		return;
	}
	/* tcp_sequence. Its lower edge is rcv_wup, which lags rcv_nxt by what was received
	 * since our last window update: the model takes the most lenient value, so an old
	 * segment passes (its ACK and URG fields count; its data is old). RSTs and SYNs are
	 * refused either way. */
	uint32_t end = seg_end(s);
	bool old = before(end, m->rcv_nxt) && (s->flags & (TRM_RST | TRM_SYN));
	if (old || after(s->seq, m->rcv_nxt + m->rcv_wnd)) {
		if (!(s->flags & TRM_RST)) {
			if (s->flags & TRM_SYN)
				m->challenges++;
			reply_ack(m, r);
		} else if (reset_check(m, s)) {
			connection_end(m);
			return;
		}
		m->dropped++;
		return;
	}
	if (s->flags & TRM_RST) {
		if (s->seq == m->rcv_nxt || reset_check(m, s)) {
			connection_end(m);
			return;
		}
		m->challenges++;
		reply_ack(m, r);
		return;
	}
	if (s->flags & TRM_SYN) {
		m->challenges++;
		reply_ack(m, r);
		return;
	}
	if (after(s->ack, m->snd_nxt)) {
		m->dropped++; /* acknowledges what we never sent */
		return;
	}
	if (after(s->ack, m->snd_una))
		m->snd_una = s->ack;
	if (s->flags & TRM_URG)
		check_urg(m, s);
	uint32_t before_rcv = m->rcv_nxt;
	data_queue(m, s);
	if (m->state == TRM_ESTABLISHED && (s->len || (s->flags & TRM_FIN) || before_rcv != m->rcv_nxt))
		reply_ack(m, r);
}

void trm_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r)
{
	r->flags = 0;
	if (!s->csum_ok) {
		m->bad_csum++;
		return;
	}
	switch (m->state) {
	case TRM_CLOSED:
		reply_reset(s, r);
		return;
	case TRM_LISTEN:
		listen_input(m, s, r);
		return;
	case TRM_SYN_SENT:
		synsent_input(m, s, r);
		return;
	case TRM_SYN_RECV:
		synrecv_input(m, s, r);
		return;
	case TRM_ESTABLISHED:
		established_input(m, s, r);
		return;
	}
}
