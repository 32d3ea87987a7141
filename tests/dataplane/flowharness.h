/* A wire for the inline tests: a client and a server endpoint that send scripted
 * segments through a dp_inspector and keep what reaches them, in order, like a TCP
 * receiver would (RSTs and FINs noted). The frames the dataplane builds are built with
 * the same dp_flow_build the DPDK workers use. */
#ifndef SLUICE_DP_FLOWHARNESS_H
#define SLUICE_DP_FLOWHARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/inspect.h"
#include "pool/poolflow.h"

struct side {
	uint32_t isn, snd_nxt;   /* what this endpoint sends */
	uint32_t rcv_nxt;        /* what it has received in order */
	bool rcv_started;
	struct sl_strbuf got;    /* bytes received in order */
	unsigned rsts, fins, segments; /* rsts: those the receiver accepted (at rcv_nxt) */
	unsigned rsts_ignored;   /* RSTs elsewhere: a Linux receiver challenge-ACKs them */
	uint32_t rst_seq;
	bool rst_in_window;      /* the last RST hit rcv_nxt exactly */
};

struct harness {
	struct dp_config cfg;
	struct dp_counters ctr;
	struct dp_inspector in;
	struct sl_policy *policy;
	struct side c, s;
	uint8_t base[128];       /* client->server frame the segments are made from */
	struct dp_pkt bp;
	unsigned originals, built;
	int last_drop;           /* drop reason of the last packet, -1 */
	int force_role;          /* >= 0: the port role the next frames come in on */
	unsigned other_frames, other_rsts; /* built for other connections (evicted ones) */
	const struct dp_flow *last_flow; /* the flow of the last packet (NULL: none) */
	/* h_pool: the server is the first [pool-host] behind the service address (the
	 * client's destination); frames to it must carry its address and MAC, frames to
	 * the client the service's */
	struct dp_poolrt *pool_rt;
	struct dp_pool *pool;
	struct dp_pool_learned *pool_learned;
	uint8_t host_addr[4], host_mac[6];
};

/* A policy of this text (fails the test when it does not load). */
struct sl_policy *h_policy(const char *text);
/* policy_text may be NULL (no rules). cfg_text overrides configuration keys. */
void h_init(struct harness *h, const char *policy_text, const char *cfg_text);
/* After h_init with a [pool] in cfg_text whose service address is 198.51.100.25 and
 * whose first host has an IPv4 address and a MAC: the server plays that host. */
void h_pool(struct harness *h);
/* A new version of the pool, as the control thread publishes it. */
void h_pool_publish(struct harness *h, struct dp_pool *next);
void h_free(struct harness *h);

/* A segment from the client (true) or server at an explicit sequence number. */
void h_send_at(struct harness *h, bool from_client, uint32_t seq, uint8_t flags,
               const void *payload, size_t len);
/* Like h_send_at, with the urgent pointer set (URG) so that payload[urg_index] is the
 * urgent byte a Linux receiver without SO_OOBINLINE takes out of the stream. */
void h_send_urgent(struct harness *h, bool from_client, uint32_t seq, const void *payload,
                   size_t len, size_t urg_index);
/* The next bytes of one side (advances its sequence). */
void h_say(struct harness *h, bool from_client, const char *text);
void h_say_n(struct harness *h, bool from_client, const void *p, size_t n);
/* Client bytes of any length, in 1400-byte segments. */
void h_say_big(struct harness *h, const void *p, size_t n);
/* SYN, SYN-ACK, ACK. */
void h_open(struct harness *h);
/* SYN..ACK, the greeting, "EHLO c" and the server's ehlo_reply. */
void h_ehlo(struct harness *h, const char *ehlo_reply);
/* MAIL and RCPT, each answered 250. */
void h_envelope(struct harness *h);
/* Greeting, EHLO, MAIL, RCPT, DATA and the 354. */
void h_to_data(struct harness *h);
/* Point the harness at another client port (a new connection; both sides' state
 * cleared), or at another client IPv4 address (the port stays). */
void h_use_port(struct harness *h, uint16_t port, uint32_t isn);
void h_use_source(struct harness *h, const char *ipv4);
/* Let the dataplane's timers run at time now_ms. */
void h_tick(struct harness *h, uint64_t now_ms);

bool h_got_has(const struct side *s, const char *needle);

#endif
