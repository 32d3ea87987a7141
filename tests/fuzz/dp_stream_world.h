/* The world of fuzz_dp_stream: one TCP connection between a client (192.0.2.10:40000,
 * the attacker: it sends whatever the script says) and a server (198.51.100.25:25, an
 * honest Linux TCP receiver with a Postfix-like application, tcp_receiver_model.h and
 * smtp_server_model.h) through sluice-dp's per-frame pipeline, inline, enforce mode.
 *
 * The oracle, checked on every byte an endpoint's application reads and on every
 * message the server's application completes (a violation aborts with a report):
 * 1. stream: each connection reads the stream of exactly one engine session (the flow
 *    that carried its first byte), from that session's first byte on: every byte the
 *    server reads at sequence number X is the byte the engine was fed at X by the
 *    feed_tap (ctx.h), and every byte the client reads is one the engine was fed from
 *    the server at X or one the dataplane injected at X (its verdict replies). The one
 *    exception is the documented STARTTLS rewrite (client "STARTTLS" read as
 *    "XXXXXXXX" with starttls = strip|block, server "STARTTLS" capability read as
 *    "XXXXXXXA" with strip); and after a documented bypass (starttls = allow, TLS seen,
 *    uninspected_starttls counted) nothing past the server application's switch to TLS
 *    is checked, either way;
 * 2. message: a message the server's application completes carries no forbidden
 *    marker, and it is an engine message of that session judged pass (or alert), byte
 *    for byte (modulo dots at line starts, where Postfix and the engine unstuff
 *    differently, docs/engine-smtp.md), in the order the engine saw them. */
#ifndef SLUICE_DP_STREAM_WORLD_H
#define SLUICE_DP_STREAM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/inspect.h"
#include "smtp_server_model.h"
#include "tcp_receiver_model.h"

#define W_MARKER "FORBIDDEN"
#define W_MAX_QUEUE 256
#define W_MAX_MESSAGES 256
#define W_MAX_CLIENT_STREAM (768u << 10)

/* Configuration the fuzz input picks. */
struct world_opts {
	int starttls;              /* enum dp_starttls */
	unsigned max_ooo_segments;
	uint64_t max_flow_memory;
	size_t worker_memory;      /* the worker's share of max_memory */
	uint64_t closed_timeout_ms, idle_timeout_ms;
	bool verify_checksums;
	bool queue;                /* frames the dataplane sends wait for deliver steps */
	bool server_auto_send;     /* the server sends its replies at once */
	bool server_auto_ack;      /* ... and acknowledges every data segment */
	bool server_quirks;        /* raw server bytes allowed (not an honest server) */
	uint32_t client_isn, server_isn;
};

/* One endpoint's sending side and the oracle's view of what its application reads. */
struct endpoint {
	struct trm tcp;
	struct sl_strbuf out;      /* the bytes it sends; offset 0 = iss + 1 */
	uint32_t iss;
	uint64_t sent_hi;          /* offsets below were sent at least once */
	bool fin_due, fin_sent;
	/* oracle */
	bool bound;                /* the connection read its first byte ... */
	unsigned epoch;            /* ... from this flow's engine session */
	unsigned next_message;     /* server: first engine message not matched yet */
};

/* A flow of the harness's connection (one at a time): what its engine was fed. */
struct epoch {
	bool used;
	const void *sf;
	bool have_isn[2];
	uint32_t isn[2];           /* sequence number of stream offset 0, per direction */
	struct sl_strbuf fed[2];
	bool fed_gap[2];           /* the tap saw a chunk that did not continue the last */
	/* segments the dataplane injected towards the client (seq, bytes) */
	struct { uint32_t seq; uint16_t len; uint8_t *data; } *inj;
	unsigned ninj, inj_cap;
};

struct engine_message {
	unsigned epoch;
	struct sl_strbuf raw;      /* RAW events: the message as the engine scanned it */
	bool ended;
	int action;                /* enum sl_action once ended */
};

struct frame {
	uint8_t *data;
	size_t len;
	unsigned epoch;            /* the flow that sent it */
};

struct world {
	struct world_opts o;
	struct dp_config cfg;
	struct dp_counters ctr, seen;  /* seen: counters after the last attribution */
	struct dp_inspector in;
	struct sl_policy *policy;
	struct dp_sink dump;
	struct endpoint c, s;
	struct ssm app;                /* the server's application */
	uint32_t app_tls_seq;          /* client seq where the application switched to TLS */
	uint32_t server_tls_seq;       /* server seq where its TLS (after its 220) starts */
	bool app_tls;
	uint8_t tmpl[2][128];          /* [0] client->server, [1] server->client */
	struct dp_pkt tmpl_pkt[2];
	size_t tmpl_len;
	struct epoch *ep;              /* indexed by flows_created when the flow ran */
	unsigned nep;
	unsigned cur_epoch;            /* the flow that sent the frame being delivered */
	struct engine_message msg[W_MAX_MESSAGES];
	unsigned nmsg, nended;
	struct frame q[2][W_MAX_QUEUE];/* [0] towards the client, [1] towards the server */
	unsigned nq[2];
	struct frame sq[W_MAX_QUEUE];  /* the server's own frames, to send next */
	unsigned nsq;
	unsigned pumped;               /* server frames sent in this step */
	uint64_t dropped_frames;       /* frames towards nobody (wrong side, queue full) */
};

/* The policy is loaded once per process (world_policy); each run makes a world. */
struct sl_policy *world_policy(void);
void world_init(struct world *w, const struct world_opts *o, struct sl_policy *policy);
void world_free(struct world *w);

/* ---- steps ---------------------------------------------------------------------------- */

/* The client appends bytes to its stream (send: as one segment at once). */
void w_client_put(struct world *w, const void *p, size_t n, bool send);
/* A client segment of stream bytes [off, off+len) (off may lie before 0 or past the
 * end: bytes there are 'Z'), with flags TRM_*, urg_ptr for URG. */
struct client_seg {
	int64_t off;
	uint32_t len;
	uint8_t flags;
	uint16_t urg_ptr;
	bool bad_csum, mutate, wrong_port, bogus_ack;
};
void w_client_seg(struct world *w, const struct client_seg *cs);
/* Control segments: SYN with sequence number seq, RST at seq, FIN at the stream's end,
 * a bare ACK (ack = what the client model read, + skew). */
void w_client_syn(struct world *w, uint32_t seq);
void w_client_rst(struct world *w, uint32_t seq);
void w_client_fin(struct world *w);
void w_client_ack(struct world *w, int32_t skew);
uint32_t w_client_next_seq(const struct world *w);
/* The attacker forges a segment from the server's address on the outside port. */
void w_forge_server(struct world *w, uint8_t flags, uint32_t seq, uint32_t ack,
                    const void *p, size_t n);

/* The server sends its stream bytes [off, off+len) (len 0: up to a segment). */
void w_server_send(struct world *w, uint64_t off, size_t len);
void w_server_send_new(struct world *w, size_t len);
void w_server_ack(struct world *w);
void w_server_rst(struct world *w);
void w_server_raw(struct world *w, const void *p, size_t n);

void w_tick(struct world *w, uint64_t advance_ms);
/* Queue mode: frames towards the client (side 0) or the server (side 1). */
enum { W_DELIVER, W_DROP, W_REVERSE, W_DUPLICATE };
void w_deliver(struct world *w, int side, int how, unsigned count);
/* End of a step: the server's automatic sends, and the frames they cause. */
void w_settle(struct world *w);
/* End of the input: every queued frame delivered, then settle. */
void w_finish(struct world *w);

#endif
