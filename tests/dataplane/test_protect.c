/* Connection-level protection (docs/protection.md, dataplane/protect/protect.c): the
 * token buckets and sliding windows, prefixes and lists with expiry, the source table,
 * and, through the inline harness, every limit and detector with the action it is
 * configured for: what the client is told, that the server never gets what it must
 * not, the bans that follow and expire, and the events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"

#include "protect/prefix.h"
#include "protect/protect.h"
#include "protect/ratelimit.h"
#include "protect/srctable.h"
#include "flowharness.h"

/* ---- token buckets and windows ------------------------------------------------------- */

static void test_bucket(void)
{
	struct dp_rate r = {10, 1000, 20}; /* 10/s, burst 20 */
	struct dp_bucket b;
	dp_bucket_init(&b, &r, 5000);
	CU_ASSERT_EQUAL(dp_bucket_tokens(&b, &r, 5000), 20);
	for (int i = 0; i < 20; i++)
		CU_ASSERT_TRUE(dp_bucket_take(&b, &r, 1, 5000));
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 1, 5000));
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 1, 5099)); /* 0.99 tokens */
	CU_ASSERT_TRUE(dp_bucket_take(&b, &r, 1, 5100));  /* 100 ms: one token */
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 1, 5100));
	/* refills to the burst, never beyond, however long it waited */
	CU_ASSERT_EQUAL(dp_bucket_tokens(&b, &r, 5100 + 3600 * 1000ull * 1000), 20);
	CU_ASSERT_TRUE(dp_bucket_take(&b, &r, 20, 900000));
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 1, 900000));
	/* more than the burst never fits; nothing is taken by a refusal */
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 21, 2000000));
	CU_ASSERT_TRUE(dp_bucket_take(&b, &r, 20, 2000000));
	/* a clock that goes back adds nothing */
	CU_ASSERT_FALSE(dp_bucket_take(&b, &r, 1, 1000));
	/* no limit */
	struct dp_rate none = {0, 0, 0};
	CU_ASSERT_TRUE(dp_bucket_take(&b, &none, 1u << 30, 0));
	/* a byte rate: 1g per minute counts exactly in token-milliseconds */
	struct dp_rate bytes = {1ull << 30, 60000, 1ull << 30};
	dp_bucket_init(&b, &bytes, 0);
	CU_ASSERT_TRUE(dp_bucket_take(&b, &bytes, 1ull << 30, 0));
	CU_ASSERT_FALSE(dp_bucket_take(&b, &bytes, 1, 0));
	CU_ASSERT_TRUE(dp_bucket_take(&b, &bytes, (1ull << 30) / 2, 30000));
	CU_ASSERT_FALSE(dp_bucket_take(&b, &bytes, 1ull << 20, 30000));
}

static void test_window(void)
{
	struct dp_window w = {0};
	const uint64_t W = 60000;
	for (int i = 1; i <= 10; i++)
		CU_ASSERT_EQUAL(dp_window_add(&w, W, 120000 + (uint64_t)i, 1), (uint32_t)i);
	/* half-way into the next window, half of the previous one still counts */
	CU_ASSERT_EQUAL(dp_window_count(&w, W, 180000 + 30000), 5);
	CU_ASSERT_EQUAL(dp_window_add(&w, W, 180000 + 30000, 2), 7);
	/* a whole window later only what was added since counts */
	CU_ASSERT_EQUAL(dp_window_count(&w, W, 240000), 2);
	CU_ASSERT_EQUAL(dp_window_count(&w, W, 300000), 0);
	/* after a long gap, nothing of the old windows */
	CU_ASSERT_EQUAL(dp_window_add(&w, W, 10 * 3600 * 1000, 1), 1);
}

/* ---- prefixes, lists, source table ------------------------------------------------ */

static void test_prefix(void)
{
	struct dp_prefix p;
	char err[256], text[64];
	CU_ASSERT_EQUAL(dp_prefix_parse("203.0.113.0/24", &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.family, 4);
	CU_ASSERT_EQUAL(p.len, 24);
	dp_prefix_format(&p, text, sizeof text);
	CU_ASSERT_STRING_EQUAL(text, "203.0.113.0/24");
	uint8_t in[4] = {203, 0, 113, 77}, out[4] = {203, 0, 114, 1};
	CU_ASSERT_TRUE(dp_prefix_contains(&p, 4, in));
	CU_ASSERT_FALSE(dp_prefix_contains(&p, 4, out));
	CU_ASSERT_EQUAL(dp_prefix_parse("2001:db8::/32", &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.family, 6);
	CU_ASSERT_EQUAL(dp_prefix_parse("192.0.2.7", &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.len, 32);
	CU_ASSERT_EQUAL(dp_prefix_parse("2001:db8::1", &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.len, 128);
	CU_ASSERT_EQUAL(dp_prefix_parse("203.0.113.5/24", &p, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "203.0.113.0/24"));
	CU_ASSERT_EQUAL(dp_prefix_parse("203.0.113.0/33", &p, err, sizeof err), -1);
	CU_ASSERT_EQUAL(dp_prefix_parse("203.0.113.0/", &p, err, sizeof err), -1);
	CU_ASSERT_EQUAL(dp_prefix_parse("mail.example.net", &p, err, sizeof err), -1);
	CU_ASSERT_EQUAL(dp_prefix_parse("", &p, err, sizeof err), -1);
	CU_ASSERT_EQUAL(dp_prefix_parse("0.0.0.0/0", &p, err, sizeof err), 0);
	CU_ASSERT_TRUE(dp_prefix_contains(&p, 4, out));
}

static void test_lists_with_expiry(void)
{
	struct dp_list_entry *e = NULL;
	size_t n = 0;
	char err[256];
	CU_ASSERT_EQUAL(dp_list_text_read("allow", "# partners\n192.0.2.0/24  # relay farm\n\n2001:db8::/32\n",
	                                  DP_LIST_KIND_ALLOW, 100, &e, &n, err, sizeof err), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].comment, "relay farm");
	CU_ASSERT_EQUAL(dp_list_text_read("block", "192.0.2.66\n203.0.113.0/24\n198.51.100.0/24\n",
	                                  DP_LIST_KIND_BLOCK, 100, &e, &n, err, sizeof err), 0);
	CU_ASSERT_EQUAL(n, 5);
	/* a later entry for the same prefix replaces the earlier one */
	CU_ASSERT_EQUAL(dp_list_text_read("again", "198.51.100.0/24\n", DP_LIST_KIND_ALLOW, 200,
	                                  &e, &n, err, sizeof err), 0);
	n = dp_list_dedupe(e, n);
	CU_ASSERT_EQUAL(n, 5);
	for (size_t i = 0; i < n; i++)
		if (e[i].pfx.family == 4 && e[i].pfx.addr[0] == 198)
			e[i].until_ms = 5000; /* expires */
	struct dp_trie *t = dp_trie_build(e, n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct dp_lists l = {e, n, NULL, 0, t, dp_trie_lookup};
	uint8_t relay[4] = {192, 0, 2, 9}, bad[4] = {192, 0, 2, 66}, net[4] = {203, 0, 113, 1},
	        later[4] = {198, 51, 100, 3}, other[4] = {198, 18, 0, 1}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, 9};
	const struct dp_list_entry *m = dp_lists_match(&l, 4, relay, 0);
	CU_ASSERT(m && m->kind == DP_LIST_KIND_ALLOW);
	m = dp_lists_match(&l, 4, bad, 0); /* the longest prefix decides */
	CU_ASSERT(m && m->kind == DP_LIST_KIND_BLOCK);
	m = dp_lists_match(&l, 4, net, 0);
	CU_ASSERT(m && m->kind == DP_LIST_KIND_BLOCK);
	m = dp_lists_match(&l, 4, later, 4999);
	CU_ASSERT(m && m->kind == DP_LIST_KIND_ALLOW && m->added_unix == 200);
	CU_ASSERT_PTR_NULL(dp_lists_match(&l, 4, later, 5000)); /* expired */
	CU_ASSERT_PTR_NULL(dp_lists_match(&l, 4, other, 0));
	m = dp_lists_match(&l, 6, v6, 0);
	CU_ASSERT(m && m->kind == DP_LIST_KIND_ALLOW);
	/* a pardon lifts bans that began before it */
	struct dp_pardon pd = {e[0].pfx, 7000};
	dp_prefix_parse("192.0.2.66/32", &pd.pfx, err, sizeof err);
	l.pardons = &pd;
	l.npardons = 1;
	CU_ASSERT_TRUE(dp_lists_pardoned(&l, 4, bad, 6000));
	CU_ASSERT_FALSE(dp_lists_pardoned(&l, 4, bad, 8000));
	CU_ASSERT_FALSE(dp_lists_pardoned(&l, 4, relay, 6000));
	/* bad lines are errors with their line */
	CU_ASSERT_EQUAL(dp_list_text_read("bad", "192.0.2.0/24\n192.0.2.1/24\n", DP_LIST_KIND_BLOCK, 0,
	                                  &e, &n, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad:2:"));
	CU_ASSERT_EQUAL(dp_list_text_read("bad", "192.0.2.0/24 198.51.100.0/24\n", DP_LIST_KIND_BLOCK, 0,
	                                  &e, &n, err, sizeof err), -1);
	dp_trie_free(t);
	free(e);
}

static struct dp_prefix host(const char *a)
{
	struct dp_prefix p;
	char err[128];
	CU_ASSERT_EQUAL(dp_prefix_parse(a, &p, err, sizeof err), 0);
	return p;
}

static void test_source_table(void)
{
	struct dp_srctable t;
	CU_ASSERT_EQUAL_FATAL(dp_srctable_init(&t, 4), 0);
	bool created;
	struct dp_prefix a = host("192.0.2.1"), b = host("192.0.2.2"), c = host("192.0.2.3"),
	                 d = host("192.0.2.4"), e = host("192.0.2.5");
	struct dp_source *sa = dp_src_find(&t, &a, 1, true, &created);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_PTR_EQUAL(dp_src_find(&t, &a, 2, true, &created), sa);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_PTR_NULL(dp_src_find(&t, &b, 2, false, NULL));
	struct dp_source *sb = dp_src_find(&t, &b, 3, true, NULL);
	struct dp_source *sc = dp_src_find(&t, &c, 4, true, NULL);
	struct dp_source *sd = dp_src_find(&t, &d, 5, true, NULL);
	CU_ASSERT_EQUAL(t.count, 4);
	/* full: the least recently used idle entry is recycled (a, unless held) */
	sa->sessions = 1;     /* a has a session open */
	sb->ban_until_ms = 1000; /* b is banned */
	struct dp_source *se = dp_src_find(&t, &e, 6, true, &created);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_PTR_EQUAL(se, sc); /* c was the oldest idle one */
	CU_ASSERT_EQUAL(t.evicted, 1);
	CU_ASSERT_PTR_NULL(dp_src_find(&t, &c, 7, false, NULL));
	CU_ASSERT_PTR_EQUAL(dp_src_find(&t, &a, 7, false, NULL), sa);
	CU_ASSERT_PTR_EQUAL(dp_src_find(&t, &b, 7, false, NULL), sb);
	/* every entry held: nothing for a new source, counted */
	sd->sessions = sa->sessions;
	se->sessions = 1;
	CU_ASSERT_PTR_NULL(dp_src_find(&t, &c, 8, true, NULL));
	CU_ASSERT_EQUAL(t.full, 1);
	/* a reader on another thread copies an entry consistently */
	struct dp_source copy;
	CU_ASSERT_TRUE(dp_src_read(sb, &copy));
	CU_ASSERT_TRUE(dp_prefix_eq(&copy.key, &b));
	sb->seq |= 1; /* the worker is changing it */
	CU_ASSERT_FALSE(dp_src_read(sb, &copy));
	dp_srctable_free(&t);
}

/* ---- through the inline path -------------------------------------------------------- */

static const char policy[] =
	"rule test.many-rcpts {\n"
	"	description \"the policy acts on a protection signal\"\n"
	"	match signal protect.recipients_per_message\n"
	"	action reject \"554 5.7.1 Too many recipients for one message\"\n"
	"}\n";

static struct sl_strbuf events;

static void collect(void *arg, const char *line, size_t len)
{
	(void)arg;
	sl_strbuf_put(&events, line, len);
}

static bool event_has(const char *needle)
{
	return events.s && strstr(events.s, needle);
}

static void start(struct harness *h, const char *cfg)
{
	h_init(h, policy, cfg);
	sl_strbuf_clear(&events);
	h->in.ctx.event = collect;
}

/* A SYN of the harness's current connection; true when it reached the server. */
static bool syn(struct harness *h)
{
	unsigned before = h->s.segments;
	h_send_at(h, true, h->c.snd_nxt, DP_TCP_SYN, NULL, 0);
	return h->s.segments > before;
}

/* A new connection from the current source (the port moves on). */
static uint16_t next_port = 20000;
static void connection(struct harness *h)
{
	h_use_port(h, next_port, (uint32_t)next_port * 104729u);
	next_port++;
}

/* The client completes the dataplane's own handshake (after a refused SYN got its
 * SYN-ACK) and reads the answer. */
static void finish_refused(struct harness *h)
{
	CU_ASSERT_TRUE(h->c.rcv_started); /* the SYN-ACK came */
	h->c.snd_nxt++;
	h_send_at(h, true, h->c.snd_nxt, DP_TCP_ACK, NULL, 0);
}

static void test_connection_rate(void)
{
	struct harness h;
	start(&h, "[protect]\nhost_connections = 2/s burst 3\nnet_connections = 0\n");
	for (int i = 0; i < 3; i++) {
		connection(&h);
		CU_ASSERT_TRUE(syn(&h));
	}
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_PROTECT);
	CU_ASSERT_EQUAL(h.ctr.protect_refused[DP_PROTECT_HOST_CONNECTIONS], 1);
	finish_refused(&h);
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Too many connections"));
	CU_ASSERT_EQUAL(h.c.fins, 1);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	CU_ASSERT_EQUAL(h.ctr.protect_handshakes, 1);
	/* the client's FIN gets an ACK; the server still sees nothing */
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_ACK | DP_TCP_FIN, NULL, 0);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	CU_ASSERT(event_has("\"event_type\":\"smtp_protect\"") && event_has("\"reason\":\"host_connections\"") &&
	          event_has("\"action\":\"refuse\""));
	/* half a second later one more token */
	h.in.ctx.now_ms += 500;
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	h_free(&h);

	/* drop: no answer at all */
	start(&h, "[protect]\nhost_connections = 1/m burst 1\non_connection_limit = drop\n");
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	CU_ASSERT_EQUAL(h.c.segments, 0);
	h_free(&h);
}

static void test_concurrent_sessions(void)
{
	struct harness h;
	start(&h, "[protect]\nhost_sessions = 2\nhost_connections = 0\n");
	uint16_t first = next_port;
	connection(&h);
	h_open(&h);
	connection(&h);
	h_open(&h);
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	CU_ASSERT_EQUAL(h.ctr.protect_refused[DP_PROTECT_HOST_SESSIONS], 1);
	/* one ends (RST): room again */
	h_use_port(&h, first, (uint32_t)first * 104729u);
	h.c.snd_nxt++;
	h.c.rcv_started = true;
	h.c.rcv_nxt = h.s.isn + 1;
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_RST | DP_TCP_ACK, NULL, 0);
	h_tick(&h, 11 * 1000); /* the closed flow goes */
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	/* another address is not affected */
	h_use_source(&h, "192.0.2.99");
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	h_free(&h);
}

static struct dp_trie *trie;
static struct dp_list_entry *entries;
static struct dp_lists lists;

static void set_lists(struct harness *h, const char *allow, const char *block)
{
	size_t n = 0;
	char err[256];
	entries = NULL;
	CU_ASSERT_EQUAL_FATAL(dp_list_text_read("allow", allow, DP_LIST_KIND_ALLOW, 0, &entries, &n, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(dp_list_text_read("block", block, DP_LIST_KIND_BLOCK, 0, &entries, &n, err, sizeof err), 0);
	trie = dp_trie_build(entries, n);
	lists = (struct dp_lists){entries, n, NULL, 0, trie, dp_trie_lookup};
	h->in.protect.lists = &lists;
}

static void free_lists(void)
{
	dp_trie_free(trie);
	free(entries);
}

static void test_allow_and_block(void)
{
	struct harness h;
	start(&h, "[protect]\nhost_connections = 1/m burst 1\n");
	set_lists(&h, "192.0.2.10/32\n", "203.0.113.0/24\n");
	/* allow-listed: no limits (the harness's own address) */
	for (int i = 0; i < 5; i++) {
		connection(&h);
		CU_ASSERT_TRUE(syn(&h));
	}
	CU_ASSERT_EQUAL(h.ctr.protect_allowed, 5);
	/* ... and no detectors: a pregreet passes */
	connection(&h);
	h_open(&h);
	h_say(&h, true, "EHLO early\r\n");
	h_say(&h, false, "220 mx ESMTP\r\n");
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_PREGREET], 0);
	/* ... but still the content policy (one rule on a signal here) */
	/* block-listed: answered 554, the server sees nothing */
	h_use_source(&h, "203.0.113.9");
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	finish_refused(&h);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Service unavailable"));
	CU_ASSERT_EQUAL(h.ctr.protect_refused[DP_PROTECT_BLOCK], 1);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	h_free(&h);
	free_lists();
}

/* A session of the current source up to RCPT, with a server that knows one user. */
static void harvest_session(struct harness *h, int unknown, bool *closed)
{
	connection(h);
	h_ehlo(h, "250-mx\r\n250 PIPELINING\r\n");
	h_say(h, true, "MAIL FROM:<x@example.org>\r\n");
	h_say(h, false, "250 2.1.0 Ok\r\n");
	*closed = false;
	for (int i = 0; i < unknown && !*closed; i++) {
		char line[64];
		snprintf(line, sizeof line, "RCPT TO:<guess%d@example.net>\r\n", i);
		h_say(h, true, line);
		h_say(h, false, "550 5.1.1 <guess@example.net>: Recipient address rejected: User unknown\r\n");
		*closed = h_got_has(&h->c, "421 4.7.0 Too many unknown recipients");
	}
}

static void test_harvest_ban(void)
{
	struct harness h;
	start(&h, "[protect]\nharvest_limit = 5\nharvest_window = 60s\nban_time = 30s\n");
	bool closed;
	/* three refused in one session, two in the next: the fifth closes it */
	harvest_session(&h, 3, &closed);
	CU_ASSERT_FALSE(closed);
	harvest_session(&h, 10, &closed);
	CU_ASSERT_TRUE(closed);
	/* the client got 421 in place of the fifth 550; the server was reset */
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_EQUAL(h.c.fins, 1);
	const char *got = h.c.got.s;
	CU_ASSERT_EQUAL(strstr(got, "550 5.1.1") != NULL, true);
	CU_ASSERT_PTR_NULL(strstr(strstr(got, "421 4.7.0"), "550"));
	CU_ASSERT_EQUAL(h.ctr.protect_banned[DP_PROTECT_HARVEST], 1);
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_HARVEST], 1);
	CU_ASSERT(event_has("\"reason\":\"harvest\"") && event_has("\"action\":\"ban\"") &&
	          event_has("\"ban_seconds\":30") && event_has("\"count\":5,\"limit\":5"));
	h_tick(&h, h.in.ctx.now_ms);
	CU_ASSERT_EQUAL(h.ctr.protect_bans_active, 1);
	/* banned: the next connection is answered by the dataplane, the server sees nothing */
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	finish_refused(&h);
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Service unavailable; your address is temporarily blocked"));
	CU_ASSERT_EQUAL(h.ctr.protect_refused[DP_PROTECT_BAN], 1);
	/* another source is not affected */
	h_use_source(&h, "192.0.2.11");
	harvest_session(&h, 2, &closed);
	CU_ASSERT_FALSE(closed);
	CU_ASSERT_TRUE(h_got_has(&h.s, "RCPT TO:<guess1@example.net>"));
	/* the ban expires */
	h_use_source(&h, "192.0.2.10");
	h.in.ctx.now_ms += 30 * 1000;
	h_tick(&h, h.in.ctx.now_ms);
	CU_ASSERT_EQUAL(h.ctr.protect_bans_active, 0);
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	h_free(&h);
}

static void test_unban(void)
{
	struct harness h;
	start(&h, "[protect]\nharvest_limit = 1\n");
	bool closed;
	harvest_session(&h, 1, &closed);
	CU_ASSERT_TRUE(closed);
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	/* an unban published with the lists lifts it at the next SYN */
	static struct dp_pardon pd;
	char err[128];
	dp_prefix_parse("192.0.2.10", &pd.pfx, err, sizeof err);
	pd.at_ms = h.in.ctx.now_ms;
	static struct dp_lists only_pardons;
	only_pardons = (struct dp_lists){NULL, 0, &pd, 1, NULL, NULL};
	h.in.protect.lists = &only_pardons;
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	CU_ASSERT_EQUAL(h.ctr.protect_pardons, 1);
	CU_ASSERT(event_has("\"action\":\"unban\""));
	h_free(&h);
}

static void test_auth_failures(void)
{
	struct harness h;
	start(&h, "[protect]\nauth_failure_limit = 3\n");
	connection(&h);
	h_ehlo(&h, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
	for (int i = 0; i < 3; i++) {
		h_say(&h, true, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
		h_say(&h, false, "535 5.7.8 Error: authentication failed\r\n");
	}
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Too many authentication failures"));
	CU_ASSERT_EQUAL(h.ctr.protect_banned[DP_PROTECT_AUTH_FAILURES], 1);
	/* a login that fails over two lines (AUTH LOGIN) counts too, on the answer */
	h_use_source(&h, "192.0.2.12");
	connection(&h);
	h_ehlo(&h, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
	h_say(&h, true, "AUTH LOGIN\r\n");
	h_say(&h, false, "334 VXNlcm5hbWU6\r\n");
	h_say(&h, true, "YWxpY2U=\r\n");
	h_say(&h, false, "334 UGFzc3dvcmQ6\r\n");
	h_say(&h, true, "d3Jvbmc=\r\n");
	h_say(&h, false, "535 5.7.8 Error: authentication failed\r\n");
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_AUTH_FAILURES], 1);
	h_free(&h);
}

static void test_pregreet(void)
{
	struct harness h;
	start(&h, NULL);
	connection(&h);
	h_open(&h);
	h_say(&h, true, "EHLO bot\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.5.1 Protocol error: talking before the greeting"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "EHLO"));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	/* the greeting that follows never reaches the client */
	h_say(&h, false, "220 mx ESMTP\r\n");
	CU_ASSERT_FALSE(h_got_has(&h.c, "220 mx"));
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_PREGREET], 1);
	h_free(&h);

	/* log: counted and logged, the session goes on */
	start(&h, "[protect]\npregreet = log\n");
	connection(&h);
	h_open(&h);
	h_say(&h, true, "EHLO bot\r\n");
	h_say(&h, false, "220 mx ESMTP\r\n");
	h_say(&h, false, "250 mx\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 mx"));
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_PREGREET], 1);
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_PREGREET], 0);
	CU_ASSERT(event_has("\"reason\":\"pregreet\",\"action\":\"log\""));
	h_free(&h);

	/* greet_wait: the server's greeting is held; a client that talks meanwhile is a
	 * pregreeter, one that waits gets the greeting once the wait is over */
	start(&h, "[protect]\ngreet_wait = 300ms\n");
	connection(&h);
	h_open(&h);
	h_say(&h, false, "220 mx ESMTP\r\n");
	CU_ASSERT_FALSE(h_got_has(&h.c, "220"));
	h_say(&h, true, "EHLO bot\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.5.1 Protocol error: talking before the greeting"));
	CU_ASSERT_FALSE(h_got_has(&h.c, "220"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "EHLO"));
	connection(&h);
	h_open(&h);
	h_say(&h, false, "220 mx ESMTP\r\n");
	h_tick(&h, h.in.ctx.now_ms + 200);
	CU_ASSERT_FALSE(h_got_has(&h.c, "220"));
	h_tick(&h, h.in.ctx.now_ms + 110);
	CU_ASSERT_TRUE(h_got_has(&h.c, "220 mx ESMTP"));
	h_say(&h, true, "EHLO patient\r\n");
	h_say(&h, false, "250 mx\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 mx"));
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_PREGREET], 1);
	h_free(&h);

	/* a server that offers PIPE_CONNECT (Exim's early pipelining) may be talked to first */
	start(&h, NULL);
	connection(&h);
	h_ehlo(&h, "250-mx\r\n250-PIPE_CONNECT\r\n250 PIPELINING\r\n");
	connection(&h);
	h_open(&h);
	h_say(&h, true, "EHLO early\r\n");
	h_say(&h, false, "220 mx ESMTP\r\n250-mx\r\n250 PIPE_CONNECT\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 PIPE_CONNECT"));
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_PREGREET], 0);
	h_free(&h);
}

static void test_non_smtp(void)
{
	struct harness h;
	start(&h, NULL);
	connection(&h);
	h_open(&h);
	h_say(&h, false, "220 mx ESMTP\r\n");
	h_say(&h, true, "GET / HTTP/1.1\r\nHost: mx\r\n\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.5.1 Protocol error: not SMTP"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "GET"));
	h_free(&h);

	/* a TLS ClientHello where EHLO was due (implicit TLS on port 25) */
	start(&h, NULL);
	connection(&h);
	h_open(&h);
	h_say(&h, false, "220 mx ESMTP\r\n");
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
	h_say_n(&h, true, hello, sizeof hello);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.5.1 Protocol error: not SMTP"));
	CU_ASSERT_EQUAL(h.s.got.len, 0);
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_NON_SMTP], 1);
	h_free(&h);
}

static void test_vrfy_expn(void)
{
	struct harness h;
	start(&h, "[protect]\nvrfy_expn_limit = 2\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "VRFY alice\r\n");
	h_say(&h, false, "252 2.0.0 alice\r\n");
	h_say(&h, true, "EXPN staff\r\n");
	h_say(&h, false, "502 5.5.1 EXPN not available\r\n");
	h_say(&h, true, "VRFY bob\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Too many VRFY/EXPN commands"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "VRFY bob"));
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_VRFY_EXPN], 1);
	h_free(&h);
}

static void test_errors_and_unknown_commands(void)
{
	struct harness h;
	start(&h, "[protect]\nerror_limit = 4\nunknown_command_limit = 100\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	for (int i = 0; i < 4; i++) {
		h_say(&h, true, "MAIL FROM:<bad address>\r\n");
		h_say(&h, false, "501 5.1.7 Bad sender address syntax\r\n");
	}
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Too many errors"));
	/* the fourth error reply was replaced by ours */
	const char *ours = strstr(h.c.got.s, "421 4.7.0");
	CU_ASSERT(ours && !strstr(ours, "501"));
	h_free(&h);

	start(&h, "[protect]\nunknown_command_limit = 3\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "XYZZY\r\n");
	h_say(&h, false, "502 5.5.2 Error: command not recognized\r\n");
	h_say(&h, true, "PLUGH\r\n");
	h_say(&h, false, "502 5.5.2 Error: command not recognized\r\n");
	h_say(&h, true, "FROBOZZ\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Too many unknown commands"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "FROBOZZ"));
	h_free(&h);
}

static void test_long_lines(void)
{
	struct harness h;
	start(&h, "[protect]\nmax_line_length = 1000\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	static char line[1400];
	memset(line, 'A', sizeof line);
	h_say_n(&h, true, "RCPT TO:<", 9);
	h_say_n(&h, true, line, sizeof line); /* no LF yet: the line keeps growing */
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.5.1 Protocol error: line too long"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "RCPT"));
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_LONG_LINES], 1);
	h_free(&h);

	/* a whole line over the limit in one segment */
	start(&h, "[protect]\nmax_line_length = 100\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	char l2[200];
	memset(l2, 'B', sizeof l2);
	memcpy(l2, "HELO ", 5);
	memcpy(l2 + sizeof l2 - 2, "\r\n", 2);
	h_say_n(&h, true, l2, sizeof l2);
	CU_ASSERT_TRUE(h_got_has(&h.c, "line too long"));
	h_free(&h);

	/* message content is not a command line: long lines in DATA pass */
	start(&h, "[protect]\nmax_line_length = 100\n");
	connection(&h);
	h_to_data(&h);
	static char body[3000];
	memset(body, 'x', sizeof body);
	h_say_big(&h, body, sizeof body);
	h_say(&h, true, "\r\n.\r\n");
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_LONG_LINES], 0);
	CU_ASSERT_TRUE(h_got_has(&h.s, "\r\n.\r\n"));
	h_free(&h);
}

static void rcpts(struct harness *h, int n)
{
	for (int i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof line, "RCPT TO:<r%d@example.net>\r\n", i);
		h_say(h, true, line);
		h_say(h, false, "250 2.1.5 Ok\r\n");
	}
}

static void test_recipients_per_message(void)
{
	/* signal (the default): the message carries protect.recipients_per_message and the
	 * policy decides (a rule here rejects it) */
	struct harness h;
	start(&h, "[protect]\nmax_recipients = 5\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "MAIL FROM:<list@example.org>\r\n");
	h_say(&h, false, "250 Ok\r\n");
	rcpts(&h, 6);
	h_say(&h, true, "DATA\r\n");
	h_say(&h, false, "354 go\r\n");
	h_say(&h, true, "Subject: x\r\n\r\nhello\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Too many recipients for one message"));
	CU_ASSERT_EQUAL(h.ctr.protect_detected[DP_PROTECT_RECIPIENTS], 1);
	h_free(&h);

	/* close */
	start(&h, "[protect]\nmax_recipients = 5\nrecipients_per_message = close\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "MAIL FROM:<list@example.org>\r\n");
	h_say(&h, false, "250 Ok\r\n");
	rcpts(&h, 5);
	h_say(&h, true, "RCPT TO:<r6@example.net>\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.5.3 Too many recipients"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "r6@"));
	h_free(&h);
}

static void test_message_and_byte_rates(void)
{
	struct harness h;
	start(&h, "[protect]\nhost_messages = 2/m burst 2\n");
	connection(&h);
	h_ehlo(&h, "250 mx\r\n");
	for (int i = 0; i < 3; i++) {
		h_say(&h, true, "MAIL FROM:<a@example.org>\r\n");
		h_say(&h, false, "250 Ok\r\n");
		rcpts(&h, 1);
		h_say(&h, true, "DATA\r\n");
		if (i == 2)
			break;
		h_say(&h, false, "354 go\r\n");
		h_say(&h, true, "Subject: x\r\n\r\nhi\r\n.\r\n");
		h_say(&h, false, "250 2.0.0 Ok: queued\r\n");
	}
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Rate limit exceeded"));
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_HOST_MESSAGES], 1);
	h_free(&h);

	/* bytes: the message in progress never completes at the server */
	start(&h, "[protect]\nhost_bytes = 64k/m burst 64k\n");
	connection(&h);
	h_to_data(&h);
	static char body[1000];
	memset(body, 'y', sizeof body);
	memcpy(body + sizeof body - 2, "\r\n", 2);
	for (int i = 0; i < 80 && !h_got_has(&h.c, "421"); i++)
		h_say_n(&h, true, body, sizeof body);
	h_say(&h, true, ".\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Rate limit exceeded"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.ctr.protect_closed[DP_PROTECT_HOST_BYTES], 1);
	h_free(&h);
}

static void test_emergency_mode(void)
{
	struct harness h;
	start(&h, "[protect]\nemergency = on\n");
	/* an address never seen: the dataplane's handshake, then 421 busy */
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	CU_ASSERT_EQUAL(h.ctr.protect_refused[DP_PROTECT_EMERGENCY], 1);
	CU_ASSERT_EQUAL(h.ctr.protect_sources_full + h.in.protect.src.count, 0); /* no state kept */
	finish_refused(&h);
	CU_ASSERT_TRUE(h_got_has(&h.c, "421 4.7.0 Server busy"));
	CU_ASSERT_EQUAL(h.ctr.protect_verified, 1);
	/* it proved its address: the next connection goes through */
	connection(&h);
	CU_ASSERT_TRUE(syn(&h));
	/* a spoofed source that never completes the handshake stays out */
	h_use_source(&h, "198.51.100.200");
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	connection(&h);
	CU_ASSERT_FALSE(syn(&h));
	h_free(&h);

	/* auto: entered when half-open flows are evicted faster than the trigger */
	start(&h, "[flows]\nmax_embryonic = 4\n[protect]\nemergency_trigger = 10\nhost_connections = 0\n"
	          "net_connections = 0\nhost_sessions = 0\nnet_sessions = 0\n");
	h_use_source(&h, "198.51.100.7");
	for (int i = 0; i < 14; i++) {
		connection(&h);
		syn(&h);
	}
	CU_ASSERT_EQUAL(h.ctr.protect_emergency_entered, 1);
	CU_ASSERT_TRUE(dp_protect_emergency(&h.in.ctx));
	CU_ASSERT(event_has("\"action\":\"emergency\""));
	h_tick(&h, h.in.ctx.now_ms);
	CU_ASSERT_EQUAL(h.ctr.protect_emergency, 1);
	h_tick(&h, h.in.ctx.now_ms + 31 * 1000);
	CU_ASSERT_EQUAL(h.ctr.protect_emergency, 0);
	h_free(&h);
}

/* The TLS-byte flood after a refused STARTTLS (test_hardening's engine case): with the
 * protection on, the session is closed for its long lines before the server reads it. */
static void test_tls_flood_closed(void)
{
	struct harness h;
	start(&h, "[smtp]\nstarttls = strip\n");
	connection(&h);
	h_ehlo(&h, "250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	h_say(&h, true, "STARTTLS\r\n");
	h_say(&h, false, "502 5.5.1 Error: command not implemented\r\n");
	static uint8_t flood[8192];
	flood[0] = 0x16;
	flood[1] = 0x03;
	for (size_t i = 2; i < sizeof flood; i++)
		flood[i] = (uint8_t)('a' + i % 26);
	h_say_big(&h, flood, sizeof flood);
	CU_ASSERT_TRUE(h_got_has(&h.c, "line too long"));
	CU_ASSERT_EQUAL(h.s.got.len, strlen("EHLO c\r\nSTARTTLS\r\n"));
	h_free(&h);
}

int main(void)
{
	sl_strbuf_init(&events);
	static const struct cu_test tests[] = {
		{"token bucket", test_bucket},
		{"sliding window (the harvest and AUTH counters)", test_window},
		{"prefixes", test_prefix},
		{"lists with expiry, longest prefix, pardons", test_lists_with_expiry},
		{"source table: LRU, held entries, readers", test_source_table},
		{"connection rate: answered or dropped", test_connection_rate},
		{"concurrent sessions", test_concurrent_sessions},
		{"allow and block lists", test_allow_and_block},
		{"directory harvest: ban, another source, expiry", test_harvest_ban},
		{"unban", test_unban},
		{"AUTH failures", test_auth_failures},
		{"pregreet", test_pregreet},
		{"non-SMTP bytes", test_non_smtp},
		{"VRFY/EXPN", test_vrfy_expn},
		{"errors and unknown commands", test_errors_and_unknown_commands},
		{"long lines", test_long_lines},
		{"recipients per message", test_recipients_per_message},
		{"message and byte rates", test_message_and_byte_rates},
		{"emergency mode", test_emergency_mode},
		{"TLS flood after STARTTLS closed", test_tls_flood_closed},
		{NULL, NULL},
	};
	int rc = cu_run_suite("dataplane protection", NULL, NULL, tests);
	sl_strbuf_free(&events);
	return rc;
}
