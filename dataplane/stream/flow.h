/* One TCP flow through the dataplane: handshake, the two normalized directions, the
 * forwarding decision for each packet (forward the original, or drop it and send
 * rebuilt segments of bytes already scanned), and the enforcement of a verdict
 * (reply injected to the client, server reset, client session closed by us).
 * Works on parsed frames and returns what to send; no DPDK. */
#ifndef SLUICE_DP_FLOW_H
#define SLUICE_DP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/ctx.h"
#include "decode/flowkey.h"
#include "decode/pktbuild.h"
#include "decode/pktparse.h"
#include "pool/pool.h"
#include "smtp/smtpflow.h"
#include "stream/tcpdir.h"

#define DP_TMPL_MAX 192   /* headers kept per direction to build segments */
#define DP_MAX_EMIT 48    /* segments one call may ask for */
#define DP_TAKEOVER_OUT 1024

enum dp_flow_state {
	DP_FLOW_OPEN,      /* handshake or established */
	DP_FLOW_BYPASS,    /* not inspected: packets forwarded untouched */
	DP_FLOW_TAKEOVER,  /* verdict enforced: the server is reset, we answer the client */
	DP_FLOW_CLOSED,    /* RST, both FINs, or takeover finished: kept for late packets */
};

/* Which list of the flow table a flow is on (flowtable.h). */
enum dp_flow_list {
	DP_LIST_EMBRYONIC, /* SYN seen, handshake not completed: cheap to evict */
	DP_LIST_LIVE,
	DP_LIST_CLOSED,
	DP_NLISTS,
};

/* A segment to send: `dir` is the direction of travel (SL_CLIENT = towards the server). */
struct dp_emit {
	int dir;
	bool injected;     /* made up by the dataplane (reply, RST), not stream bytes */
	struct dp_tcp_out seg;
};

struct dp_out {
	bool forward;      /* send the original packet unchanged (else it is dropped) */
	bool clear_urg;    /* ... but with URG and the urgent pointer cleared (at l4_off) */
	uint16_t l4_off;
	uint16_t l3_off;   /* with a flow: its IP header, for the pool's address rewrite */
	uint8_t ip_version;
	int drop_reason;   /* enum dp_drop_reason when dropped for a reason, else -1 */
	unsigned n;
	struct dp_emit e[DP_MAX_EMIT];
};

struct dp_takeover {
	uint64_t base_off;      /* server-stream offset where our bytes start */
	uint8_t out[DP_TAKEOVER_OUT];
	size_t out_len;         /* bytes we sent to the client as the server */
	uint64_t acked;         /* of them, acknowledged by the client */
	bool fin_sent, fin_acked, answered;
	uint64_t client_line;   /* client offset of the next line to answer */
	uint64_t last_send_ms;
	unsigned retries;
};

/* What only an inspected connection that carries data needs: the SMTP side and the
 * takeover. Made at the connection's first data (the server's greeting), never for a
 * bare SYN, so a SYN flood costs a small dp_flow per SYN and no engine. */
struct dp_session {
	struct dp_smtpflow sf;
	struct dp_takeover to;
};

struct dp_flow {
	struct dp_flow_key key;
	uint32_t hash;
	struct dp_flow *hnext;              /* hash chain */
	struct dp_flow *lprev, *lnext;      /* in one of the table's lists */
	uint8_t list;                       /* ... which one (enum dp_flow_list) */
	uint8_t state;
	bool inspect;                       /* SMTP candidate: gets a session at its first data */
	bool detect;                        /* ... recognised by content (not an SMTP port) */
	bool client_is_lo;                  /* the client is the key's lo side */
	uint8_t client_role;                /* port role (dp_role) client packets come in on */
	bool synack_seen;                   /* the server answered the SYN */
	bool established;                   /* the client acknowledged the SYN-ACK */
	bool fin_sent[2];
	bool on_timer;                      /* in the inspector's timer list */
	uint64_t created_ms, last_ms, closed_ms, enforce_ms;
	struct dp_mem mem;
	struct dp_tcpdir dir[2];            /* [SL_CLIENT], [SL_SERVER] */
	uint16_t mss[2];                    /* largest payload to send in each direction */
	bool have_tmpl[2];
	struct dp_pkt tmpl_pkt[2];
	uint8_t tmpl[2][DP_TMPL_MAX];
	struct dp_session *x;               /* from the first data on (inspected flows) */
	uint32_t src_host, src_net;         /* the protection's source entries (protect.h),
	                                     * DP_SRC_NONE when the source is not tracked */
	struct dp_flow_pool pool;           /* a connection to the pool's service address */
};

/* Set up a flow for the packet that opens it (a SYN, or any packet in passive mode).
 * d is the packet's direction; inspect/detect: run SMTP on it (by content) once it
 * carries data. A passive flow counts as established. */
void dp_flow_init(struct dp_flow *f, struct dp_ctx *ctx, const struct dp_flow_key *key,
                  const struct dp_pkt *p, int d, int in_role, bool inspect, bool detect);
void dp_flow_free(struct dp_flow *f, struct dp_ctx *ctx);

/* Direction of a packet of this flow: SL_CLIENT when it comes from the client. */
int dp_flow_dir(const struct dp_flow *f, const struct dp_pkt *p);

/* One packet of direction d that came in on port role in_role. out says what to send
 * (the caller builds the segments right away: they point into the flow's buffers). */
void dp_flow_packet(struct dp_flow *f, struct dp_ctx *ctx, const uint8_t *frame,
                    const struct dp_pkt *p, int d, int in_role, struct dp_out *out);

/* The flow's session, made at its first data; NULL when not inspected or no data yet. */
static inline struct dp_smtpflow *dp_flow_sf(const struct dp_flow *f)
{
	return f->x ? &f->x->sf : NULL;
}

/* Periodic work: retransmissions of our own replies, waiting enforcements. */
void dp_flow_timer(struct dp_flow *f, struct dp_ctx *ctx, struct dp_out *out);

/* The connection or capture ended: the engine finishes what it had. */
void dp_flow_close(struct dp_flow *f, struct dp_ctx *ctx);

/* Passive end of capture: give up on missing bytes and feed what is held. */
void dp_flow_flush_gaps(struct dp_flow *f, struct dp_ctx *ctx);

/* Build the frame of one emitted segment from the flow's header templates. Returns
 * its length, 0 when it cannot (no template, too small a buffer). */
size_t dp_flow_build(const struct dp_flow *f, const struct dp_emit *e, uint8_t *out, size_t cap);

/* Port role an emitted segment leaves on. */
static inline int dp_flow_out_role(const struct dp_flow *f, const struct dp_emit *e)
{
	return e->dir == 0 /* SL_CLIENT: towards the server */ ? !f->client_role : f->client_role;
}

/* A flow of no connection that only holds this frame's headers as its "client"
 * template (its sender), so that segments back to the sender can be built: RSTs of
 * untracked flows, the responder's handshakes. False when the headers are too long. */
bool dp_flow_scratch(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p, int in_role);

/* Reset both ends (expiry or eviction of an inspected flow, fail-closed). */
void dp_flow_reset_both(struct dp_flow *f, struct dp_out *out);

size_t dp_flow_memory(const struct dp_flow *f);

#endif
