/* A reference model of what a Linux TCP endpoint (6.1, the lab's kernel) does with the
 * segments that reach it, and which bytes its application reads: the oracle of the
 * fuzz_dp_stream target. One model per endpoint; it sees only what the dataplane
 * forwards or injects towards that endpoint.
 *
 * Rules (net/ipv4/tcp_input.c, tcp_minisocks.c), each checked in test_dp_stream_models.c:
 * - a wrong TCP checksum: dropped before anything else;
 * - LISTEN: an ACK gets a RST, a RST is dropped, a SYN opens SYN-RECV and is answered
 *   with a SYN-ACK (data on the SYN is not kept: no TCP Fast Open);
 * - SYN-RECV (tcp_check_req): the same SYN again gets the SYN-ACK again; an ACK field
 *   other than ISS+1 gets a RST from the listener; out of window: ACK, dropped; an
 *   in-window RST, or a SYN with another sequence number, ends the half-open
 *   connection (back to LISTEN); a segment without ACK is dropped; the right ACK makes
 *   the connection, and that segment is then processed as established (its data kept);
 * - SYN-SENT: a SYN-ACK acknowledging exactly ISS+1 establishes (rcv_nxt = its seq+1;
 *   data on it is not kept); another ACK value gets a RST; an acceptable RST|ACK resets;
 * - established: no ACK, RST or SYN flag: dropped; a segment starting beyond rcv_nxt +
 *   window fails the sequence check (dupack; a SYN there gets a challenge ACK), and so
 *   does a RST or SYN ending before rcv_nxt (other old segments pass it: its lower edge,
 *   rcv_wup, may lag rcv_nxt, and the model takes the lenient value); RFC 5961: a RST resets only at seq == rcv_nxt (or rcv_nxt-1 after
 *   our peer's FIN), any other gets a challenge ACK; any SYN gets a challenge ACK; an
 *   ACK field beyond snd_nxt drops the segment; an ACK field older than
 *   snd_una - max_window is accepted (Linux's fast path queues in-order data before it
 *   looks at the ACK; the slow path would drop it: the larger delivery is the stricter
 *   test);
 * - data (tcp_data_queue): at rcv_nxt: appended whole (a segment longer than the window
 *   too); wholly before rcv_nxt: dropped; starting at or past rcv_nxt + window:
 *   dropped; starting before rcv_nxt and ending after: only the new bytes count; else
 *   the out-of-order queue (tcp_data_queue_ofo): a segment inside a queued one is
 *   dropped, one starting at the same seq and covering it replaces it, queued segments
 *   a new one covers are dropped, partial overlaps are both kept and in-order delivery
 *   takes each byte from the segment that starts first (later ones are trimmed at
 *   rcv_nxt: tcp_ofo_queue). Linux sometimes coalesces a segment with the queued one it
 *   continues (skb_try_coalesce, memory-layout dependent), which can change the winner
 *   of a three-way overlap: not modelled;
 * - FIN: once in order, the stream ends (out-of-order segments after it are purged,
 *   tcp_fin); later data starting at or past rcv_nxt is ignored, a segment with old and
 *   new bytes aborts the connection; after the application closed, new data aborts it;
 * - urgent data (tcp_check_urg, tcp_recvmsg, no SO_OOBINLINE, tcp_stdurg = 0): the byte
 *   at seq + urg_ptr - 1 (seq when urg_ptr is 0) is not read as stream data; a pointer
 *   before rcv_nxt is ignored, as is one not after the pending one; a newer pointer
 *   replaces a pending one whose byte has not arrived (that byte is then read as data);
 * - the application reads everything in order as soon as it arrives (a real one may
 *   read later; a newer urgent pointer can then take over from one whose byte arrived
 *   but was not read yet, which the model does not produce).
 * Not modelled: PAWS (the harness's timestamps never go back), SACK (not negotiated:
 * the harness's SYNs carry no SACK-permitted option, so RFC 5961's right-most SACK block
 * rule does not apply), window scaling, memory pressure pruning, simultaneous open. */
#ifndef SLUICE_TCP_RECEIVER_MODEL_H
#define SLUICE_TCP_RECEIVER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRM_FIN 0x01
#define TRM_SYN 0x02
#define TRM_RST 0x04
#define TRM_PSH 0x08
#define TRM_ACK 0x10
#define TRM_URG 0x20

#define TRM_MAX_OOO 256 /* queued out-of-order segments (Linux: bounded by memory) */

enum trm_state {
	TRM_CLOSED,      /* no socket (the client after a reset): everything gets a RST */
	TRM_LISTEN,
	TRM_SYN_SENT,
	TRM_SYN_RECV,
	TRM_ESTABLISHED, /* and the states after a FIN (fin_rcvd, app_closed) */
};

struct trm_seg {
	uint32_t seq, ack;
	uint8_t flags;           /* TRM_* */
	uint16_t urg_ptr;
	bool csum_ok;
	const uint8_t *data;
	uint32_t len;
};

/* What the endpoint's TCP sends back: flags 0 = nothing. */
struct trm_reply {
	uint8_t flags;
	uint32_t seq, ack;
};

struct trm_ooo {
	uint32_t seq, end;       /* end: past the FIN when fin */
	bool fin;
	uint8_t *data;           /* end - seq - fin bytes */
};

/* What the application sees, in order. */
struct trm_app {
	/* stream bytes read; seq of the first (urgent bytes are not among them) */
	void (*data)(void *arg, uint32_t seq, const uint8_t *p, size_t n);
	void (*eof)(void *arg);       /* the peer's FIN was read */
	void (*reset)(void *arg);     /* the connection was reset or aborted */
	void (*open)(void *arg);      /* the connection was established */
	void *arg;
};

struct trm {
	enum trm_state state;
	enum trm_state idle_state;   /* where a reset leaves it: LISTEN or CLOSED */
	uint32_t next_iss;           /* LISTEN: the ISS of the next connection */
	uint32_t iss, snd_una, snd_nxt;
	uint32_t irs, rcv_nxt;
	uint32_t rcv_wnd;
	bool fin_rcvd;               /* the peer's FIN is in order: nothing more is read */
	bool app_closed;             /* our application closed: new data aborts */
	bool urg_pending;
	uint32_t urg_seq;
	struct trm_ooo ooo[TRM_MAX_OOO];
	unsigned nooo;
	struct trm_app app;
	/* counters, for tests and the harness */
	unsigned resets, challenges, dropped, bad_csum;
	uint64_t delivered;          /* bytes handed to the application, all connections */
};

/* A passive endpoint (a server): LISTEN, next connection's ISS. */
void trm_init_listen(struct trm *m, uint32_t iss, const struct trm_app *app);
/* An active endpoint (a client), not connected yet. */
void trm_init_closed(struct trm *m, const struct trm_app *app);
void trm_free(struct trm *m);

/* The endpoint itself sent a segment: a SYN opens (or restarts) an active connection
 * before it is established; others move snd_nxt. */
void trm_sent(struct trm *m, uint32_t seq, uint32_t len, uint8_t flags);
/* Its application closed the socket (after QUIT, at EOF). */
void trm_app_close(struct trm *m);
/* It aborted the connection (sent a RST itself). */
void trm_abort(struct trm *m);

/* A segment that reached the endpoint. r: what its TCP sends back. */
void trm_input(struct trm *m, const struct trm_seg *s, struct trm_reply *r);

static inline bool trm_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool trm_seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) < 0;
}

#endif
