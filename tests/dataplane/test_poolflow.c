/* Pooled connections through the inspector, with the real engine and policy: the client
 * talks to the service address, the server is a pool host with its own address; every
 * frame each side gets carries that side's addresses with sound checksums (the harness
 * checks each one), and inspection and enforcement work as on any flow. Then the host's
 * states: no host up, a host that goes down (its connections reset), draining (they
 * finish), and a host whose MAC is not known yet. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/counters.h"
#include "pool/poolconf.h"
#include "cunit_run.h"
#include "flowharness.h"

static const char policy[] =
	"rule test.forbidden {\n"
	"	description \"a word the server must never receive\"\n"
	"	match raw \"FORBIDDEN\"\n"
	"	action reject \"554 5.7.1 Forbidden content\"\n"
	"}\n";

/* 198.51.100.25 is the harness's server address: here the service address. */
static const char pool_conf[] =
	"[pool]\naddress = 198.51.100.25\n"
	"[pool-host mx1]\naddress = 198.51.100.11\nmac = 02:00:00:00:00:11\n";

static const struct dp_pool_host_stats *host_stats(struct harness *h)
{
	return &h->pool_rt->stats.host[h->pool->host[0].slot];
}

static void message(struct harness *h, const char *body)
{
	h_to_data(h);
	h_say(h, true, body);
	h_say(h, true, ".\r\n");
}

static void test_message_passes(void)
{
	struct harness h;
	h_init(&h, policy, pool_conf);
	h_pool(&h);
	message(&h, "Subject: hi\r\n\r\nNothing to see.\r\n");
	h_say(&h, false, "250 2.0.0 Ok: queued as 1\r\n");
	h_say(&h, true, "QUIT\r\n");
	h_say(&h, false, "221 2.0.0 Bye\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "RCPT TO:<bob@example.net>\r\nDATA\r\n"));
	CU_ASSERT_TRUE(h_got_has(&h.s, "Nothing to see.\r\n.\r\nQUIT\r\n"));
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 2.0.0 Ok: queued as 1\r\n221 2.0.0 Bye\r\n"));
	CU_ASSERT_EQUAL(h.s.rsts + h.c.rsts, 0);
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_PASS], 1);
	const struct dp_pool_host_stats *s = host_stats(&h);
	CU_ASSERT_EQUAL(s->connections, 1);
	CU_ASSERT_EQUAL(s->active, 1);
	CU_ASSERT_EQUAL(s->messages, 1);
	CU_ASSERT_EQUAL(s->bytes_in, h.s.got.len);
	CU_ASSERT_EQUAL(s->bytes_out, h.c.got.len);
	/* both ends close: no longer active */
	h_send_at(&h, true, h.c.snd_nxt++, DP_TCP_FIN | DP_TCP_ACK, NULL, 0);
	h_send_at(&h, false, h.s.snd_nxt++, DP_TCP_FIN | DP_TCP_ACK, NULL, 0);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_ACK, NULL, 0);
	CU_ASSERT_EQUAL(h.s.fins + h.c.fins, 2);
	CU_ASSERT_EQUAL(s->active, 0);
	h_free(&h);
}

/* The verdict is enforced on the host: it is reset at its own address, the client gets
 * the reply from the service address. */
static void test_reject_enforced(void)
{
	struct harness h;
	h_init(&h, policy, pool_conf);
	h_pool(&h);
	h_to_data(&h);
	h_say(&h, true, "Subject: x\r\n\r\nthis has FORBIDDEN in it\r\n");
	uint32_t srv_has = h.s.rcv_nxt;
	h_say(&h, true, ".\r\n");
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.s.rcv_nxt, srv_has);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_TRUE(h.s.rst_in_window);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content\r\n"));
	h_say(&h, true, "QUIT\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "221 2.0.0 Bye\r\n"));
	CU_ASSERT_EQUAL(h.ctr.enforced_reject, 1);
	CU_ASSERT(h.built > 0); /* the injected frames were rewritten too (checked on delivery) */
	h_free(&h);
}

static struct dp_pool *with_state(struct harness *h, enum dp_pool_state st)
{
	struct dp_pool *p = malloc(sizeof *p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, h->pool, sizeof *p);
	p->host[0].state = (uint8_t)st;
	p->version++;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(dp_pool_build(p, err, sizeof err), 0);
	return p;
}

/* No host up: the SYN is refused at once with a RST from the service address (the
 * sender tries its next MX or later); nothing reaches a host. */
static void test_no_host_refused(void)
{
	struct harness h;
	h_init(&h, policy, pool_conf);
	h_pool(&h);
	h_pool_publish(&h, with_state(&h, DP_HOST_DOWN));
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_POOL_NO_HOST);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	CU_ASSERT_EQUAL(h.c.rsts, 1);
	CU_ASSERT_EQUAL(h.pool_rt->stats.no_host, 1);
	CU_ASSERT_EQUAL(h.ctr.flows_created, 0);
	h_free(&h);
}

/* A host that goes down: its connections are reset at both ends within a tick (their
 * clients retry now, on a host that is up). */
static void test_host_down_resets(void)
{
	struct harness h;
	h_init(&h, policy, pool_conf);
	h_pool(&h);
	h_to_data(&h);
	h_say(&h, true, "Subject: x\r\n\r\nhalf a message\r\n");
	h_pool_publish(&h, with_state(&h, DP_HOST_DOWN));
	/* the sweep looks at a bounded part of the table per tick: all of it within 16 */
	unsigned ticks = 0;
	while (h.c.rsts == 0 && ticks < 16)
		h_tick(&h, 1000 + 10 * ticks++);
	CU_ASSERT_EQUAL(h.c.rsts, 1);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_EQUAL(host_stats(&h)->reset_down, 1);
	CU_ASSERT_EQUAL(host_stats(&h)->active, 0);
	CU_ASSERT_EQUAL(h.pool_rt->pooled, 0);
	h_free(&h);
}

/* Draining: no new connections, the ones it has finish. */
static void test_drain_finishes(void)
{
	struct harness h;
	h_init(&h, policy, pool_conf);
	h_pool(&h);
	h_to_data(&h);
	h_pool_publish(&h, with_state(&h, DP_HOST_DRAIN));
	h_tick(&h, 1000);
	h_say(&h, true, "Subject: x\r\n\r\nstill going\r\n");
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 2.0.0 Ok: queued as 2\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "still going\r\n.\r\n"));
	CU_ASSERT_TRUE(h_got_has(&h.c, "queued as 2"));
	CU_ASSERT_EQUAL(h.s.rsts + h.c.rsts, 0);
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_PASS], 1);
	/* a new connection (another client port) finds no host */
	h.c.rsts = 0;
	h.c.rcv_started = false; /* a new connection's client */
	h.bp.sport = 40001;
	h.base[34] = 0x9c;
	h.base[35] = 0x41;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(h.base, 66, &h.bp), DP_PKT_TCP);
	h_send_at(&h, true, 5000, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_POOL_NO_HOST);
	CU_ASSERT_EQUAL(h.c.rsts, 1);
	h_free(&h);
}

/* A host whose MAC is not known yet: its SYN waits (dropped; the client sends it again),
 * and goes through once the MAC is learned. */
static void test_unknown_mac_waits(void)
{
	struct harness h;
	h_init(&h, policy, "[pool]\naddress = 198.51.100.25\n[pool-host mx1]\naddress = 198.51.100.11\n");
	/* h_pool wants a configured MAC to check frames against: learn it instead */
	h.cfg.pool.host[0].mac_set = true;
	memcpy(h.cfg.pool.host[0].mac, "\x02\0\0\0\0\x11", 6);
	h_pool(&h);
	h.pool->host[0].mac_set = false;
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_POOL_NO_HOST);
	CU_ASSERT_EQUAL(h.pool_rt->stats.no_mac, 1);
	CU_ASSERT_EQUAL(h.s.segments + h.c.segments, 0);
	dp_pool_learn(h.pool->learned, h.pool->host[0].slot, DP_FAM4, h.host_mac);
	h_to_data(&h);
	CU_ASSERT_TRUE(h_got_has(&h.s, "DATA\r\n"));
	CU_ASSERT_EQUAL(host_stats(&h)->connections, 1);
	h_free(&h);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"a message passes to the host", test_message_passes},
		{"a reject is enforced on the host", test_reject_enforced},
		{"no host up: refused with a RST", test_no_host_refused},
		{"a host going down: its connections reset", test_host_down_resets},
		{"a draining host: its connections finish", test_drain_finishes},
		{"a host's MAC not known yet: the SYN waits", test_unknown_mac_waits},
		{NULL, NULL},
	};
	return cu_run_suite("pooled flows", NULL, NULL, tests);
}
