#include "flowharness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <CUnit/CUnit.h>

#include "decode/pktbuild.h"

/* Ether/IPv4 192.0.2.10:40000 -> 198.51.100.25:25 /TCP with a timestamp option */
static const uint8_t base_frame[] = {
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
	0x45, 0, 0, 52, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 10, 198, 51, 100, 25,
	0x9c, 0x40, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x10, 0xff, 0xff, 0, 0, 0, 0,
	1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
};

/* A receiver like Linux's: RSTs count only at rcv_nxt (RFC 5961: others get a challenge
 * ACK), in-order bytes are kept, and without SO_OOBINLINE an urgent byte is taken out
 * of the stream. */
static void deliver(struct harness *h, const uint8_t *frame, size_t len, bool to_client)
{
	struct side *sd = to_client ? &h->c : &h->s;
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(frame, len, &p), DP_PKT_TCP);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(frame, &p));
	if ((to_client ? p.dport : p.sport) != h->bp.sport) {
		/* another connection's (one evicted to admit this one) */
		h->other_frames++;
		h->other_rsts += (p.flags & DP_TCP_RST) != 0;
		return;
	}
	/* the frame must travel the right way */
	CU_ASSERT_EQUAL(p.dport == h->bp.dport, !to_client);
	if (h->pool) {
		/* each side sees its own addresses, with sound IPv4 header checksums */
		CU_ASSERT_EQUAL(dp_csum_fold(dp_csum_add(0, frame + p.l3_off, 20)), 0);
		if (to_client) {
			CU_ASSERT_EQUAL(memcmp(p.src, h->bp.dst, 4), 0);
			CU_ASSERT_EQUAL(memcmp(frame + 6, h->base, 6), 0);
		} else {
			CU_ASSERT_EQUAL(memcmp(p.dst, h->host_addr, 4), 0);
			CU_ASSERT_EQUAL(memcmp(frame, h->host_mac, 6), 0);
		}
	}
	sd->segments++;
	if (p.flags & DP_TCP_RST) {
		sd->rst_seq = p.seq;
		sd->rst_in_window = p.seq == sd->rcv_nxt || !sd->rcv_started;
		if (sd->rst_in_window)
			sd->rsts++;
		else
			sd->rsts_ignored++;
		return;
	}
	if (p.flags & DP_TCP_SYN) {
		sd->rcv_nxt = p.seq + 1;
		sd->rcv_started = true;
		return;
	}
	uint32_t seq = p.seq;
	const uint8_t *pl = frame + p.payload_off;
	size_t n = p.payload_len;
	int32_t d = (int32_t)(sd->rcv_nxt - seq);
	size_t urg_at = SIZE_MAX;
	if (p.flags & DP_TCP_URG) {
		const uint8_t *t = frame + p.l4_off;
		size_t ptr = (size_t)(t[18] << 8 | t[19]);
		if (ptr)
			urg_at = ptr - 1;
	}
	if (n && d >= 0 && (size_t)d < n) {
		for (size_t i = (size_t)d; i < n; i++)
			if (i != urg_at)
				sl_strbuf_putc(&sd->got, (char)pl[i]);
		sd->rcv_nxt += (uint32_t)(n - (size_t)d);
	}
	CU_ASSERT(d >= 0); /* the dataplane never sends a receiver a hole */
	if ((p.flags & DP_TCP_FIN) && p.seq + p.payload_len == sd->rcv_nxt) {
		sd->fins++;
		sd->rcv_nxt++;
	}
}

static void send_out(void *arg, const struct dp_flow *f, const struct dp_out *out)
{
	struct harness *h = arg;
	for (unsigned i = 0; i < out->n; i++) {
		uint8_t buf[2048];
		size_t n = dp_flow_build(f, &out->e[i], buf, sizeof buf);
		CU_ASSERT_FATAL(n > 0);
		h->built++;
		deliver(h, buf, n, dp_flow_out_role(f, &out->e[i]) == DP_OUTSIDE);
	}
}

struct sl_policy *h_policy(const char *text)
{
	char path[] = "/tmp/sluice-dp-test-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	struct sl_policy_diag diag;
	struct sl_policy *p = sl_policy_load(path, &diag);
	unlink(path);
	if (!p)
		fprintf(stderr, "\npolicy: %s:%u:%u: %s\n", diag.file, diag.line, diag.col, diag.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

void h_init(struct harness *h, const char *policy_text, const char *cfg_text)
{
	memset(h, 0, sizeof *h);
	char err[256];
	dp_config_default(&h->cfg);
	CU_ASSERT_EQUAL_FATAL(dp_config_parse(&h->cfg, "test", cfg_text ? cfg_text : "", err, sizeof err), 0);
	if (policy_text)
		h->policy = h_policy(policy_text);
	CU_ASSERT_EQUAL_FATAL(dp_inspector_init(&h->in, &h->cfg, false, h->policy, &h->ctr,
	                                        h->cfg.max_memory), 0);
	memcpy(h->base, base_frame, sizeof base_frame);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(h->base, sizeof base_frame, &h->bp), DP_PKT_TCP);
	h->c.isn = h->c.snd_nxt = 0xfffff000u; /* wraps during the session */
	h->s.isn = h->s.snd_nxt = 1000;
	sl_strbuf_init(&h->c.got);
	sl_strbuf_init(&h->s.got);
	h->last_drop = -1;
	h->force_role = -1;
	dp_inspector_set_send(&h->in, send_out, h);
}

void h_free(struct harness *h)
{
	if (getenv("SLUICE_TEST_DEBUG"))
		fprintf(stderr, "\n--- server got:\n%.*s\n--- client got:\n%.*s\n--- rsts s=%u c=%u fins s=%u c=%u\n",
		        (int)h->s.got.len, h->s.got.s ? h->s.got.s : "", (int)h->c.got.len,
		        h->c.got.s ? h->c.got.s : "", h->s.rsts, h->c.rsts, h->s.fins, h->c.fins);
	dp_inspector_free(&h->in);
	free(h->pool_rt);
	free(h->pool);
	free(h->pool_learned);
	if (h->policy)
		sl_policy_unref(h->policy);
	sl_strbuf_free(&h->c.got);
	sl_strbuf_free(&h->s.got);
}

static void inspect(struct harness *h, bool from_client, uint8_t *frame, size_t n)
{
	struct dp_out out;
	int role = h->force_role >= 0 ? h->force_role : from_client ? DP_OUTSIDE : DP_INSIDE;
	const struct dp_flow *f = dp_inspect_frame(&h->in, frame, n, role, &out);
	h->last_drop = out.drop_reason;
	h->last_flow = f;
	if (out.forward) {
		h->originals++;
		if (out.clear_urg) /* what the worker does to the mbuf */
			dp_tcp_clear_urg(frame + out.l4_off);
		if (f && f->pool.pooled)
			dp_pool_nat_forward(f, frame, &out, role);
		deliver(h, frame, n, !from_client);
	}
	if (f)
		send_out(h, f, &out);
}

/* A server frame from the pool host's own address and MAC, checksums made anew. */
static void as_pool_host(struct harness *h, uint8_t *frame, size_t n)
{
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(frame, n, &p), DP_PKT_TCP);
	memcpy(frame + 6, h->host_mac, 6);
	uint8_t *ip = frame + p.l3_off, *t = frame + p.l4_off;
	memcpy(ip + 12, h->host_addr, 4);
	ip[10] = ip[11] = 0;
	uint16_t c = dp_csum_fold(dp_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(frame, n, &p), DP_PKT_TCP);
	t[16] = t[17] = 0;
	uint32_t tcp_len = p.tcp_hlen + p.payload_len;
	c = dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, tcp_len), t, tcp_len));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
}

void h_pool(struct harness *h)
{
	char err[256];
	h->pool_rt = calloc(1, sizeof *h->pool_rt);
	h->pool = calloc(1, sizeof *h->pool);
	h->pool_learned = calloc(1, sizeof *h->pool_learned);
	CU_ASSERT_FATAL(h->pool_rt && h->pool && h->pool_learned && h->cfg.pool.nhosts > 0);
	/* the client sends to the service's MAC: the base frame's destination */
	CU_ASSERT_EQUAL_FATAL(dp_pool_from_conf(h->pool, &h->cfg.pool, h->base, h->pool_learned, err, sizeof err), 0);
	const struct dp_pool_host *first = &h->pool->host[0];
	CU_ASSERT_FATAL(first->has[DP_FAM4] && first->mac_set);
	memcpy(h->host_addr, first->addr[DP_FAM4], 4);
	memcpy(h->host_mac, first->mac, 6);
	CU_ASSERT_EQUAL_FATAL(memcmp(h->pool->vip[DP_FAM4], h->bp.dst, 4), 0);
	dp_pool_take(h->pool_rt, h->pool);
	h->in.ctx.pool = h->pool_rt;
}

void h_pool_publish(struct harness *h, struct dp_pool *next)
{
	dp_pool_take(h->pool_rt, next); /* the worker reads the old one while it takes the new */
	free(h->pool);
	h->pool = next;
}

static size_t build(struct harness *h, bool from_client, uint32_t seq, uint8_t flags,
                    const void *payload, size_t len, uint8_t *frame, size_t cap)
{
	struct side *me = from_client ? &h->c : &h->s;
	struct dp_tcp_out seg = {seq, me->rcv_nxt, flags, 65535, payload, len};
	if (!me->rcv_started && !(flags & DP_TCP_SYN) && !(flags & DP_TCP_ACK))
		seg.ack = 0;
	size_t n = dp_build_tcp(frame, cap, h->base, &h->bp, !from_client, &seg);
	CU_ASSERT_FATAL(n > 0);
	if (h->pool && !from_client)
		as_pool_host(h, frame, n);
	return n;
}

void h_send_at(struct harness *h, bool from_client, uint32_t seq, uint8_t flags,
               const void *payload, size_t len)
{
	uint8_t frame[2048];
	size_t n = build(h, from_client, seq, flags, payload, len, frame, sizeof frame);
	inspect(h, from_client, frame, n);
}

void h_send_urgent(struct harness *h, bool from_client, uint32_t seq, const void *payload,
                   size_t len, size_t urg_index)
{
	uint8_t frame[2048];
	size_t n = build(h, from_client, seq, DP_TCP_ACK | DP_TCP_PSH, payload, len, frame, sizeof frame);
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(frame, n, &p), DP_PKT_TCP);
	uint8_t *t = frame + p.l4_off;
	t[13] |= DP_TCP_URG;
	t[18] = (uint8_t)((urg_index + 1) >> 8);
	t[19] = (uint8_t)(urg_index + 1);
	t[16] = t[17] = 0;
	uint32_t tcp_len = p.tcp_hlen + p.payload_len;
	uint16_t c = dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, tcp_len), t, tcp_len));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	inspect(h, from_client, frame, n);
}

void h_say_n(struct harness *h, bool from_client, const void *p, size_t n)
{
	struct side *me = from_client ? &h->c : &h->s;
	h_send_at(h, from_client, me->snd_nxt, DP_TCP_ACK | DP_TCP_PSH, p, n);
	me->snd_nxt += (uint32_t)n;
}

void h_say_big(struct harness *h, const void *p, size_t n)
{
	for (size_t off = 0; off < n; off += 1400)
		h_say_n(h, true, (const uint8_t *)p + off, n - off < 1400 ? n - off : 1400);
}

void h_say(struct harness *h, bool from_client, const char *text)
{
	h_say_n(h, from_client, text, strlen(text));
}

void h_open(struct harness *h)
{
	h_send_at(h, true, h->c.snd_nxt++, DP_TCP_SYN, NULL, 0);
	h->c.rcv_started = true;
	h_send_at(h, false, h->s.snd_nxt++, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	h_send_at(h, true, h->c.snd_nxt, DP_TCP_ACK, NULL, 0);
}

void h_ehlo(struct harness *h, const char *ehlo_reply)
{
	h_open(h);
	h_say(h, false, "220 mx ESMTP\r\n");
	h_say(h, true, "EHLO c\r\n");
	h_say(h, false, ehlo_reply);
}

void h_envelope(struct harness *h)
{
	h_say(h, true, "MAIL FROM:<a@example.com>\r\n");
	h_say(h, false, "250 Ok\r\n");
	h_say(h, true, "RCPT TO:<b@example.net>\r\n");
	h_say(h, false, "250 Ok\r\n");
}

void h_to_data(struct harness *h)
{
	h_open(h);
	h_say(h, false, "220 mx.example.net ESMTP\r\n");
	h_say(h, true, "EHLO client.example.com\r\n");
	h_say(h, false, "250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	h_say(h, true, "MAIL FROM:<alice@example.com>\r\n");
	h_say(h, false, "250 2.1.0 Ok\r\n");
	h_say(h, true, "RCPT TO:<bob@example.net>\r\n");
	h_say(h, false, "250 2.1.5 Ok\r\n");
	h_say(h, true, "DATA\r\n");
	h_say(h, false, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

void h_use_port(struct harness *h, uint16_t port, uint32_t isn)
{
	h->base[34] = (uint8_t)(port >> 8);
	h->base[35] = (uint8_t)port;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(h->base, sizeof h->base, &h->bp), DP_PKT_TCP);
	sl_strbuf_free(&h->c.got);
	sl_strbuf_free(&h->s.got);
	memset(&h->c, 0, sizeof h->c);
	memset(&h->s, 0, sizeof h->s);
	sl_strbuf_init(&h->c.got);
	sl_strbuf_init(&h->s.got);
	h->c.isn = h->c.snd_nxt = isn;
	h->s.isn = h->s.snd_nxt = isn ^ 0x5a5a5a5au;
}

void h_use_source(struct harness *h, const char *ipv4)
{
	CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, ipv4, h->base + 26), 1);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(h->base, sizeof h->base, &h->bp), DP_PKT_TCP);
}

void h_tick(struct harness *h, uint64_t now_ms)
{
	h->in.ctx.now_ms = now_ms;
	dp_inspect_tick(&h->in, send_out, h);
}

bool h_got_has(const struct side *s, const char *needle)
{
	return s->got.s && memmem(s->got.s, s->got.len, needle, strlen(needle)) != NULL;
}
