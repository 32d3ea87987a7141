/* libFuzzer: one SMTP connection through sluice-dp's inline pipeline, scripted step by
 * step, against reference receivers (dp_stream_world.h says what is checked: every
 * byte an endpoint's application reads is a byte the engine consumed, in order, and no
 * message the engine did not pass reaches the server's application).
 *
 * Input: two configuration bytes, then steps until the input ends; a step is an
 * opcode byte (taken mod 16) and its arguments (an argument past the end reads 0).
 *
 *   cfg0: bits 0-1 starttls (allow, strip, block, strip); bits 2-3 max_ooo_segments
 *         (64, 0, 2, 8); bits 4-5 max_flow_memory (1 MiB, 16 KiB, 64 KiB, 32 KiB);
 *         bit 6 the worker's memory 64 KiB (else 512 MiB); bit 7 closed_timeout 0
 *         (else 10 s)
 *   cfg1: bit 0 queue mode (what the dataplane sends waits for DELIVER steps); bit 1
 *         the server sends only on SERVER steps (else at once); bit 2 it acknowledges
 *         data only on SERVER_CTL 0 (else at once); bit 3 client ISN 0xfffffff0 (else
 *         0x10000000); bit 4 server ISN 0xffffff00 (else 1000); bit 5 idle_timeout 2 s
 *         (else 300 s); bit 6 verify_checksums = no; bit 7 the server may send raw
 *         bytes (SERVER_RAW; not an honest server)
 *
 *   0  CLIENT_SAY k             canned client text k (mod 32), sent as one segment
 *   1  CLIENT_RAW n b...        n raw bytes, sent as one segment
 *   2  CLIENT_PUT k             canned text k appended to the client's stream, not sent
 *   3  CLIENT_PUT_RAW n b...    n raw bytes appended, not sent
 *   4  CLIENT_SEG d l f [u]     a segment of the client's stream starting at the first
 *                               byte never sent + (int8)d (x64 with f 0x80), l bytes
 *                               (x8 with f 0x40); f: 0x01 FIN, 0x02 URG with urgent
 *                               pointer u, 0x04 no ACK flag, 0x08 bad checksum,
 *                               0x10 alphanumerics replaced by X, 0x20 on the inside port
 *   5  CLIENT_CTL k [a...]      k mod 8: SYN with the connection's ISN; SYN with a new
 *                               ISN (4 bytes); SYN with ISN = next seq - 1; RST at next
 *                               seq + (int8)a; FIN; bare ACK; ACK + (int8)a * 256;
 *                               RST at next seq + (int8)a * 4096
 *   6  SERVER_SEND m l          m mod 4: l new bytes (0: a segment); retransmit l from
 *                               what the client acknowledged; new bytes after skipping l
 *                               (out of order); everything from the start (a segment)
 *   7  SERVER_CTL k             k mod 4: bare ACK; send what is pending; RST; close
 *   8  DECIDE b                 eight decisions for the server application (1 refuses)
 *   9  FORGE k a                a segment from the server's address on the outside port:
 *                               k mod 4: ACK of all the client sent; RST at the server's
 *                               next seq + (int8)a; data to the client; SYN-ACK
 *   10 TICK t                   time passes: t mod 8 of 1 ms, 50 ms, 350 ms, 1.2 s,
 *                               3.1 s, 10.5 s, 61 s, 301 s
 *   11 DELIVER s                queue mode: bit 0 towards the server (else the client),
 *                               bits 1-2 deliver, drop, last first, duplicate; bits 3-7
 *                               how many - 1
 *   12 OPEN                     SYN, the server's SYN-ACK, the client's ACK
 *   13 CONVERSE k               k mod 4: EHLO; EHLO MAIL RCPT DATA one by one, each
 *                               answered; the same pipelined; a body with the marker and
 *                               the end of data
 *   14 SERVER_RAW n b...        raw bytes in the server's stream (with cfg1 bit 7)
 *   15 CLIENT_SEG_AT o o l f    a segment at stream offset o<<8|o, l bytes, flags f as
 *                               CLIENT_SEG's but 0x40: an ACK field past what the server
 *                               sent (Linux drops such data unread) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_stream_world.h"

static struct sl_policy *policy;
static uint8_t tls_blob[512];

static const char *const canned[32] = {
	"EHLO client.example.org\r\n",
	"MAIL FROM:<alice@example.org>\r\n",
	"RCPT TO:<bob@example.net>\r\n",
	"DATA\r\n",
	"Subject: hello\r\n\r\n",
	W_MARKER,
	"harmless words\r\n",
	"\r\n.\r\n",
	".\r\n",
	"QUIT\r\n",
	"RSET\r\n",
	"STARTTLS\r\n",
	"BDAT 11 LAST\r\n" W_MARKER "\r\n",
	"BDAT 5\r\nhello",
	"BDAT 0 LAST\r\n",
	"NOOP\r\n",
	"HELO c\r\n",
	NULL, /* tls_blob */
	"\n.\n",
	"\n.\r\n",
	"\r.\r",
	"\r\n.\n",
	"\r\n.\r\r\n",
	"\n\n.\n\n",
	"\r\n\n.\r\n",
	"\r.\n",
	"..." W_MARKER "\r\n",
	"FORB",
	"IDDEN",
	"QUARANTINE-ME\r\n",
	"\r\n",
	"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
};

struct reader {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t u8(struct reader *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

static const uint8_t *bytes(struct reader *r, size_t *n)
{
	size_t want = u8(r);
	if (want > r->n - r->i)
		want = r->n - r->i;
	const uint8_t *p = r->p + r->i;
	r->i += want;
	*n = want;
	return p;
}

static void canned_text(uint8_t k, const void **p, size_t *n)
{
	k %= 32;
	if (!canned[k]) {
		*p = tls_blob;
		*n = sizeof tls_blob;
		return;
	}
	*p = canned[k];
	*n = strlen(canned[k]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	policy = world_policy();
	/* TLS records as a client would send them after STARTTLS (no LF in them: to a
	 * plaintext server they are one long bad command, not hundreds) */
	for (size_t i = 0; i < sizeof tls_blob; i++) {
		tls_blob[i] = (uint8_t)(i * 167 + 13);
		if (tls_blob[i] == '\n')
			tls_blob[i] = 0x03;
	}
	memcpy(tls_blob, "\x16\x03\x01\x01\xfb\x01\x00\x01\xf7\x03\x03", 11);
	return 0;
}

static void decode_config(uint8_t c0, uint8_t c1, struct world_opts *o)
{
	static const unsigned ooo[] = {64, 0, 2, 8};
	static const uint64_t flow_mem[] = {1 << 20, 16 << 10, 64 << 10, 32 << 10};
	static const int starttls[] = {DP_STARTTLS_ALLOW, DP_STARTTLS_STRIP, DP_STARTTLS_BLOCK, DP_STARTTLS_STRIP};
	memset(o, 0, sizeof *o);
	o->starttls = starttls[c0 & 3];
	o->max_ooo_segments = ooo[(c0 >> 2) & 3];
	o->max_flow_memory = flow_mem[(c0 >> 4) & 3];
	o->worker_memory = c0 & 0x40 ? 64u << 10 : 512u << 20;
	o->closed_timeout_ms = c0 & 0x80 ? 0 : 10000;
	o->queue = c1 & 1;
	o->server_auto_send = !(c1 & 2);
	o->server_auto_ack = !(c1 & 4);
	o->client_isn = c1 & 8 ? 0xfffffff0u : 0x10000000u;
	o->server_isn = c1 & 16 ? 0xffffff00u : 1000u;
	o->idle_timeout_ms = c1 & 32 ? 2000 : 300000;
	o->verify_checksums = !(c1 & 64);
	o->server_quirks = c1 & 128;
}

/* f: the CLIENT_SEG flags, and 0x100: an ACK field beyond what the server sent */
static void client_seg(struct world *w, struct reader *r, int64_t off, uint32_t len, unsigned f)
{
	struct client_seg cs = {
		.off = off,
		.len = len,
		.flags = (uint8_t)((f & 4 ? 0 : DP_TCP_ACK) | DP_TCP_PSH | (f & 1 ? DP_TCP_FIN : 0) |
		                   (f & 2 ? DP_TCP_URG : 0)),
		.bad_csum = f & 8,
		.mutate = f & 16,
		.wrong_port = f & 32,
		.bogus_ack = f & 0x100,
	};
	if (f & 2)
		cs.urg_ptr = u8(r);
	w_client_seg(w, &cs);
}

static void client_ctl(struct world *w, struct reader *r)
{
	uint8_t k = u8(r) % 8;
	uint32_t next = w_client_next_seq(w);
	switch (k) {
	case 0:
		w_client_syn(w, w->c.iss);
		break;
	case 1: {
		uint32_t isn = (uint32_t)u8(r) << 24 | (uint32_t)u8(r) << 16 | (uint32_t)u8(r) << 8 | u8(r);
		w_client_syn(w, isn);
		break;
	}
	case 2:
		w_client_syn(w, next - 1); /* the new ISN's first byte is the next real one */
		break;
	case 3:
		w_client_rst(w, next + (uint32_t)(int8_t)u8(r));
		break;
	case 4:
		w_client_fin(w);
		break;
	case 5:
		w_client_ack(w, 0);
		break;
	case 6:
		w_client_ack(w, (int8_t)u8(r) * 256);
		break;
	default:
		w_client_rst(w, next + (uint32_t)((int8_t)u8(r) * 4096));
		break;
	}
}

static void server_send(struct world *w, struct reader *r)
{
	uint8_t m = u8(r) % 4, l = u8(r);
	struct endpoint *s = &w->s;
	switch (m) {
	case 0:
		w_server_send_new(w, l);
		break;
	case 1:
		w_server_send(w, (uint32_t)(s->tcp.snd_una - s->iss - 1) <= s->sent_hi ?
		                 (uint32_t)(s->tcp.snd_una - s->iss - 1) : 0, l);
		break;
	case 2:
		w_server_send(w, s->sent_hi + l, 0);
		break;
	default:
		w_server_send(w, 0, 0);
		break;
	}
}

static void server_ctl(struct world *w, struct reader *r)
{
	switch (u8(r) % 4) {
	case 0:
		w_server_ack(w);
		break;
	case 1:
		w_server_send_new(w, 0);
		break;
	case 2:
		w_server_rst(w);
		break;
	default:
		if (w->s.tcp.state == TRM_ESTABLISHED && w->app.mode != SSM_CLOSED) {
			w->app.mode = SSM_CLOSED;
			w->s.fin_due = true;
			trm_app_close(&w->s.tcp);
		}
		break;
	}
}

static void forge(struct world *w, struct reader *r)
{
	uint8_t k = u8(r) % 4, a = u8(r);
	uint32_t s_next = w->s.tcp.snd_nxt, c_next = w_client_next_seq(w);
	switch (k) {
	case 0:
		w_forge_server(w, DP_TCP_ACK, s_next, c_next, NULL, 0);
		break;
	case 1:
		w_forge_server(w, DP_TCP_RST, s_next + (uint32_t)(int8_t)a, 0, NULL, 0);
		break;
	case 2:
		w_forge_server(w, DP_TCP_ACK | DP_TCP_PSH, s_next, c_next, "250 forged\r\n", 12);
		break;
	default:
		w_forge_server(w, DP_TCP_SYN | DP_TCP_ACK, w->s.iss, w->c.iss + 1, NULL, 0);
		break;
	}
}

static void open_connection(struct world *w)
{
	if (w->c.tcp.state == TRM_CLOSED && w->c.out.len)
		w->c.iss += 0x10000; /* a new connection: a new ISN */
	w_client_syn(w, w->c.iss);
	w_settle(w);
	if (w->c.tcp.state == TRM_ESTABLISHED)
		w_client_ack(w, 0);
}

/* The server answers whatever it has to say now. */
static void server_speaks(struct world *w)
{
	w_settle(w);
	for (int i = 0; i < 64 && w->s.sent_hi < w->s.out.len; i++) {
		w_server_send_new(w, 0);
		w_settle(w);
	}
}

static void say(struct world *w, const char *text, bool answered)
{
	w_client_put(w, text, strlen(text), true);
	if (answered)
		server_speaks(w);
}

static void converse(struct world *w, uint8_t k)
{
	switch (k % 4) {
	case 0:
		say(w, canned[0], true);
		break;
	case 1:
		server_speaks(w);
		for (int i = 0; i < 4; i++)
			say(w, canned[i], true);
		break;
	case 2:
		server_speaks(w);
		say(w, "EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\n"
		       "RCPT TO:<bob@example.net>\r\nDATA\r\n", true);
		break;
	default:
		say(w, "Subject: evil\r\n\r\n" W_MARKER "\r\n.\r\n", true);
		break;
	}
}

static void step(struct world *w, struct reader *r)
{
	uint8_t op = u8(r) % 16;
	const void *p;
	size_t n;
	switch (op) {
	case 0:
	case 2:
		canned_text(u8(r), &p, &n);
		w_client_put(w, p, n, op == 0);
		break;
	case 1:
	case 3:
		p = bytes(r, &n);
		w_client_put(w, p, n, op == 1);
		break;
	case 4: {
		int8_t d = (int8_t)u8(r);
		uint8_t l = u8(r), f = u8(r);
		int64_t off = (int64_t)w->c.sent_hi + d * (f & 0x80 ? 64 : 1);
		client_seg(w, r, off, f & 0x40 ? l * 8u : l, f);
		break;
	}
	case 5:
		client_ctl(w, r);
		break;
	case 6:
		server_send(w, r);
		break;
	case 7:
		server_ctl(w, r);
		break;
	case 8:
		ssm_decide(&w->app, u8(r));
		break;
	case 9:
		forge(w, r);
		break;
	case 10: {
		static const uint64_t ms[] = {1, 50, 350, 1200, 3100, 10500, 61000, 301000};
		w_tick(w, ms[u8(r) % 8]);
		break;
	}
	case 11: {
		uint8_t s = u8(r);
		w_deliver(w, s & 1, (s >> 1) & 3, (s >> 3) + 1u);
		break;
	}
	case 12:
		open_connection(w);
		break;
	case 13:
		converse(w, u8(r));
		break;
	case 14:
		p = bytes(r, &n);
		w_server_raw(w, p, n);
		break;
	default: {
		uint64_t off = (uint64_t)u8(r) << 8;
		off |= u8(r);
		uint8_t l = u8(r), f = u8(r);
		client_seg(w, r, (int64_t)off, l, (f & 0x3f) | (f & 0x40 ? 0x100 : 0));
		break;
	}
	}
	w_settle(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct world_opts o;
	decode_config(data[0], data[1], &o);
	static struct world w;
	world_init(&w, &o, policy);
	struct reader r = {data, size, 2};
	while (r.i < r.n)
		step(&w, &r);
	w_finish(&w);
	world_free(&w);
	return 0;
}
