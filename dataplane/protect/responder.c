#include "protect/responder.h"

#include <string.h>

#include "decode/flowkey.h"

#define SLOT_MS 64000 /* a cookie stays valid for one to two slots */

static uint32_t cookie_base(const struct dp_pkt *p, uint64_t slot)
{
	uint64_t w[6];
	memset(w, 0, sizeof w);
	memcpy(&w[0], p->src, 16);
	memcpy(&w[2], p->dst, 16);
	w[4] = (uint64_t)p->sport << 16 | p->dport | (uint64_t)p->ip_version << 32;
	w[5] = slot;
	return dp_keyed_hash(w, 6) & ~3u;
}

static void answer_seg(struct dp_out *out, uint32_t seq, uint32_t ack, uint8_t flags,
                       const char *payload)
{
	struct dp_emit *e = &out->e[out->n++];
	memset(e, 0, sizeof *e);
	e->dir = SL_SERVER; /* towards the frame's sender, the scratch flow's "client" */
	e->injected = true;
	e->seg = (struct dp_tcp_out){seq, ack, flags, 65535, (const uint8_t *)payload,
	                             payload ? strlen(payload) : 0};
}

void dp_responder_syn(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p, int in_role,
                      enum dp_answer a, uint64_t now_ms, struct dp_out *out)
{
	out->n = 0;
	if (!dp_flow_scratch(s, frame, p, in_role))
		return;
	uint32_t cookie = cookie_base(p, now_ms / SLOT_MS) | (uint32_t)a;
	answer_seg(out, cookie, p->seq + 1, DP_TCP_SYN | DP_TCP_ACK, NULL);
}

bool dp_responder_segment(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p,
                          int in_role, uint64_t now_ms, struct dp_out *out, enum dp_answer *completed)
{
	*completed = DP_ANSWERS;
	if ((p->flags & (DP_TCP_SYN | DP_TCP_RST)) || !(p->flags & DP_TCP_ACK))
		return false;
	uint64_t slot = now_ms / SLOT_MS;
	uint32_t now_base = cookie_base(p, slot), prev_base = slot ? cookie_base(p, slot - 1) : now_base;
	for (unsigned a = 0; a < DP_ANSWERS; a++) {
		const char *text = dp_protect_answer_text((enum dp_answer)a);
		uint32_t len = (uint32_t)strlen(text);
		/* what the client acknowledges: our SYN, + the answer, + our FIN */
		const uint32_t past[3] = {1, 1 + len, 2 + len};
		for (int stage = 0; stage < 3; stage++) {
			uint32_t c = p->ack - past[stage];
			if ((c & 3u) != a || ((c & ~3u) != now_base && (c & ~3u) != prev_base))
				continue;
			out->n = 0;
			out->forward = false;
			out->drop_reason = -1; /* ours, not the server's: consumed */
			if (!dp_flow_scratch(s, frame, p, in_role))
				return true;
			uint32_t upto = p->seq + p->payload_len + ((p->flags & DP_TCP_FIN) ? 1 : 0);
			if (stage == 0) {
				answer_seg(out, c + 1, upto, DP_TCP_ACK | DP_TCP_PSH | DP_TCP_FIN, text);
				*completed = (enum dp_answer)a;
			} else if (stage == 1) {
				answer_seg(out, c + 1 + len, upto, DP_TCP_ACK | DP_TCP_FIN, NULL);
			} else if (p->payload_len || (p->flags & DP_TCP_FIN)) {
				answer_seg(out, c + 2 + len, upto, DP_TCP_ACK, NULL);
			}
			return true;
		}
	}
	return false;
}
