/* The inline path end to end on one flow, with the real engine and policy: what the
 * server receives is what was scanned, verdicts are enforced (reply injected with the
 * right sequence numbers, server reset before it commits), TCP normalization
 * (reordering, conflicting retransmissions, wrap), STARTTLS policies, mid-stream and
 * non-SMTP traffic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include <dirent.h>
#include <unistd.h>

#include "sluice/bayes.h"

#include "output/archivesink.h"
#include "output/dirsink.h"
#include "journal.h"
#include "flowharness.h"

static const char policy[] =
	"rule test.forbidden {\n"
	"	description \"a word the server must never receive\"\n"
	"	match raw \"FORBIDDEN\"\n"
	"	action reject \"554 5.7.1 Forbidden content\"\n"
	"}\n"
	"rule test.later {\n"
	"	description \"tempfail\"\n"
	"	match raw \"LATER\"\n"
	"	action tempfail \"451 4.7.1 Try later\"\n"
	"}\n"
	"rule test.secret {\n"
	"	description \"quarantine\"\n"
	"	match raw \"SECRET\"\n"
	"	action quarantine\n"
	"}\n"
	"rule test.smuggling {\n"
	"	description \"bare LF end of data\"\n"
	"	match signal smtp.smuggling\n"
	"	action reject \"554 5.7.0 Ambiguous end of data\"\n"
	"}\n"
	"rule test.overlap {\n"
	"	description \"conflicting TCP bytes\"\n"
	"	match signal tcp.overlap\n"
	"	action reject \"554 5.7.0 Conflicting retransmission\"\n"
	"}\n";

static const char body_ok[] = "From: alice@example.com\r\nSubject: hi\r\n\r\nNothing to see.\r\n";

static void test_clean_message_passes_unchanged(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_say(&h, true, body_ok);
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 2.0.0 Ok: queued as 1\r\n");
	h_say(&h, true, "QUIT\r\n");
	h_say(&h, false, "221 2.0.0 Bye\r\n");
	const char *want_srv = "EHLO client.example.com\r\nMAIL FROM:<alice@example.com>\r\n"
		"RCPT TO:<bob@example.net>\r\nDATA\r\n";
	CU_ASSERT_TRUE(h_got_has(&h.s, want_srv));
	CU_ASSERT_TRUE(h_got_has(&h.s, "Nothing to see.\r\n.\r\nQUIT\r\n"));
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 2.0.0 Ok: queued as 1\r\n221 2.0.0 Bye\r\n"));
	CU_ASSERT_EQUAL(h.s.rsts + h.c.rsts, 0);
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_PASS], 1);
	CU_ASSERT_EQUAL(h.ctr.messages, 1);
	CU_ASSERT_EQUAL(h.built, 0); /* every segment went through as it was */
	h_free(&h);
}

static void reject_case(const char *word, const char *reply, bool pipelined_quit)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	char body[256];
	snprintf(body, sizeof body, "Subject: x\r\n\r\nthis has %s in it\r\n", word);
	h_say(&h, true, body);
	uint32_t srv_has = h.s.rcv_nxt;
	h_say(&h, true, pipelined_quit ? ".\r\nQUIT\r\n" : ".\r\n");
	/* the server never got the end of data, and was reset where it stood */
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.s.rcv_nxt, srv_has);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_TRUE(h.s.rst_in_window);
	/* the client got the policy's reply, in sequence */
	CU_ASSERT_TRUE(h_got_has(&h.c, reply));
	CU_ASSERT_EQUAL(h.c.rsts, 0);
	if (!pipelined_quit) {
		CU_ASSERT_EQUAL(h.c.fins, 0);
		h_say(&h, true, "QUIT\r\n");
	}
	CU_ASSERT_TRUE(h_got_has(&h.c, "221 2.0.0 Bye\r\n"));
	CU_ASSERT_EQUAL(h.c.fins, 1);
	CU_ASSERT_FALSE(h_got_has(&h.s, "QUIT"));
	/* whatever the server says now never reaches the client */
	size_t had = h.c.got.len;
	h_say(&h, false, "250 2.0.0 Ok: queued\r\n");
	CU_ASSERT_EQUAL(h.c.got.len, had);
	CU_ASSERT_EQUAL(h.ctr.enforced_reject, 1);
	h_free(&h);
}

static void test_reject(void)
{
	reject_case("FORBIDDEN", "354 End data with <CR><LF>.<CR><LF>\r\n554 5.7.1 Forbidden content\r\n", false);
}

static void test_reject_pipelined_quit(void)
{
	reject_case("FORBIDDEN", "554 5.7.1 Forbidden content\r\n221 2.0.0 Bye\r\n", true);
}

static void test_tempfail(void)
{
	reject_case("LATER", "451 4.7.1 Try later\r\n", false);
}

static void test_other_command_after_verdict_gets_421(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_say(&h, true, "Subject: x\r\n\r\nFORBIDDEN\r\n.\r\n");
	h_say(&h, true, "MAIL FROM:<alice@example.com>\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content\r\n421 "));
	CU_ASSERT_EQUAL(h.c.fins, 1);
	/* the server never sees the second transaction */
	CU_ASSERT_PTR_NULL(memmem(strstr(h.s.got.s, "MAIL FROM") + 1, h.s.got.len - 1 -
	                          (size_t)(strstr(h.s.got.s, "MAIL FROM") - h.s.got.s), "MAIL FROM", 9));
	h_free(&h);
}

/* smtps_open: the worker's pooled sessions while the connection is open */
static void reject_on_port(struct harness *h, uint16_t port, unsigned smtps_open)
{
	h_use_port(h, port, port * 1000u + 1);
	h_to_data(h);
	CU_ASSERT_EQUAL(h->in.ctx.smtps.n, smtps_open);
	h_say(h, true, "Subject: x\r\n\r\nthis has FORBIDDEN in it\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h->c, "554 5.7.1 Forbidden content\r\n"));
	CU_ASSERT_EQUAL(h->s.rsts, 1);
}

/* A finished flow's engine session goes back to the worker's pool charged to nobody,
 * and the next flow takes it (sl_smtp_reset): the same verdict, nothing left charged. */
static void test_engine_session_reused(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	reject_on_port(&h, 40001, 0);
	for (uint64_t t = 1; t <= 4; t++) /* past idle_timeout: the flow is gone */
		h_tick(&h, t * 400 * 1000);
	CU_ASSERT_EQUAL(h.ctr.flows_active, 0);
	CU_ASSERT_EQUAL(h.in.ctx.smtps.n, 1);
	CU_ASSERT_EQUAL(h.in.ctx.sessions.in_use, 0);
	CU_ASSERT_EQUAL(h.in.ctx.flows.in_use, 0);
	CU_ASSERT_EQUAL(h.in.ctx.mem.used, 0);
	reject_on_port(&h, 40002, 0); /* taken */
	CU_ASSERT_EQUAL(h.ctr.enforced_reject, 2);
	CU_ASSERT_EQUAL(h.ctr.messages, 2);
	h_free(&h);
}

static void test_quarantine_journals(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	char dir[] = "/tmp/sluice-dp-journal-XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	struct dp_sink sink;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(dp_dirsink_open(&sink, dir, "t", err, sizeof err), 0);
	h.in.ctx.journal = &sink;
	h_to_data(&h);
	h_say(&h, true, "Subject: plans\r\n\r\nthe SECRET plan\r\n");
	h_say(&h, true, ".\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "\r\n250 "));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.ctr.enforced_quarantine, 1);
	CU_ASSERT_EQUAL(h.ctr.journal_ok, 1);
	/* the journal has the message and its verdict */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cat %s/*.eml | grep -q 'the SECRET plan' && "
	         "grep -q '\"outcome\":\"quarantined\"' %s/*.json && "
	         "grep -q 'test.secret' %s/*.json", dir, dir, dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	sink.ops->free(sink.impl);
	h_free(&h);
}

/* Records the archive sink spooled, decoded, in file-name order (a decoded record
 * points into its frame: bufs keeps them; free each). */
static size_t spooled(const char *dir, struct sl_journal_decoded *out, uint8_t **bufs, size_t max)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	char names[8][256];
	while (d && (e = readdir(d)) && n < max)
		if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".rec") == 0)
			snprintf(names[n++], sizeof names[0], "%s", e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < n; i++) {
		char path[600], err[128];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t len = 0;
		bufs[i] = sl_read_file(path, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bufs[i]);
		CU_ASSERT_EQUAL_FATAL(sl_journal_decode_frame(bufs[i], len, &out[i], err, sizeof err), 0);
	}
	return n;
}

/* The archive sink on a spool with no archive behind it: records stay in the spool. */
struct spool {
	char dir[32], tmp[64];
	struct sl_journal *j;
	struct dp_sink sink;
};

static void spool_open(struct spool *sp, struct harness *h)
{
	char err[256];
	snprintf(sp->dir, sizeof sp->dir, "/tmp/sluice-dp-spool-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(sp->dir));
	snprintf(sp->tmp, sizeof sp->tmp, "%s.partial", sp->dir);
	struct sl_journal_config jc = {.spool_dir = sp->dir, .archive = NULL};
	sp->j = sl_journal_open(&jc, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sp->j);
	CU_ASSERT_EQUAL_FATAL(dp_archivesink_open(&sp->sink, sp->j, sp->tmp, "t", err, sizeof err), 0);
	h->in.ctx.journal = &sp->sink;
}

static void spool_close(struct spool *sp)
{
	sl_journal_close(sp->j);
	sp->sink.ops->free(sp->sink.impl);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", sp->dir, sp->tmp);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_archive_journal_records(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	struct spool sp;
	spool_open(&sp, &h);
	/* a clean message the server takes, then a quarantined one */
	h_to_data(&h);
	h_say(&h, true, body_ok);
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 2.0.0 Ok: queued\r\n");
	h_say(&h, true, "MAIL FROM:<alice@example.com>\r\n");
	h_say(&h, false, "250 2.1.0 Ok\r\n");
	h_say(&h, true, "RCPT TO:<carol@example.net>\r\n");
	h_say(&h, false, "250 2.1.5 Ok\r\n");
	h_say(&h, true, "DATA\r\n");
	h_say(&h, false, "354 go\r\n");
	h_say(&h, true, "Subject: plans\r\n\r\nthe SECRET plan\r\n.\r\n");
	CU_ASSERT_EQUAL(h.ctr.journal_ok, 2);
	CU_ASSERT_TRUE(sl_journal_drain(sp.j, false, 5000));
	struct sl_journal_decoded rec[8];
	uint8_t *bufs[8];
	size_t n = spooled(sp.dir, rec, bufs, 8);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(rec[0].rec.verdict, "pass");
	CU_ASSERT_EQUAL(rec[0].rec.message_len, strlen(body_ok));
	CU_ASSERT_EQUAL(memcmp(rec[0].rec.message, body_ok, strlen(body_ok)), 0);
	CU_ASSERT_STRING_EQUAL(rec[1].rec.verdict, "quarantine");
	CU_ASSERT_STRING_EQUAL(rec[1].rec.mail_from, "alice@example.com");
	CU_ASSERT_EQUAL_FATAL(rec[1].rec.nrcpt, 1);
	CU_ASSERT_STRING_EQUAL(rec[1].rec.rcpt[0], "carol@example.net");
	CU_ASSERT_STRING_EQUAL(rec[1].rec.client, "192.0.2.10:40000");
	CU_ASSERT_STRING_EQUAL(rec[1].rec.server, "198.51.100.25:25");
	CU_ASSERT_EQUAL(rec[1].rec.source_kind, SL_JSOURCE_GATEWAY);
	CU_ASSERT_EQUAL_FATAL(rec[1].rec.nrules, 1);
	CU_ASSERT_STRING_EQUAL(rec[1].rec.rules[0], "test.secret");
	for (size_t i = 0; i < n; i++) {
		sl_journal_decoded_free(&rec[i]);
		free(bufs[i]);
	}
	spool_close(&sp);
	h_free(&h);
}

/* A rejected message never reaches the journal, and is counted as skipped, not kept. */
static void test_rejected_not_journaled(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	struct spool sp;
	spool_open(&sp, &h);
	h_to_data(&h);
	h_say(&h, true, "Subject: x\r\n\r\nFORBIDDEN words\r\n.\r\n");
	CU_ASSERT_EQUAL(h.ctr.enforced_reject, 1);
	CU_ASSERT_EQUAL(h.ctr.journal_ok, 0);
	CU_ASSERT_EQUAL(h.ctr.journal_skipped, 1);
	CU_ASSERT_EQUAL(h.ctr.journal_failed, 0);
	CU_ASSERT_TRUE(sl_journal_drain(sp.j, false, 5000));
	struct sl_journal_decoded rec[1];
	uint8_t *bufs[1];
	CU_ASSERT_EQUAL(spooled(sp.dir, rec, bufs, 1), 0);
	spool_close(&sp);
	h_free(&h);
}

/* What a session grows into while it parses (here a 20 KB header line) is charged to
 * the flow's engine account and the worker's as it is allocated, so the caps see it;
 * the account is exactly what the engine holds. */
static void test_session_growth_is_charged(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	size_t before = h.in.ctx.mem.used;
	static char msg[24000];
	size_t n = (size_t)snprintf(msg, sizeof msg, "Subject: ");
	memset(msg + n, 'a', 20000);
	n += 20000;
	snprintf(msg + n, sizeof msg - n, "\r\n\r\nbody\r\n.\r\n");
	n = strlen(msg);
	for (size_t off = 0; off < n; off += 1400)
		h_say_n(&h, true, msg + off, n - off < 1400 ? n - off : 1400);
	h_say(&h, false, "250 2.0.0 Ok: queued\r\n");
	const struct dp_smtpflow *sf = dp_flow_sf(h.last_flow);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf->smtp);
	/* a new session is ~10 KB; the 20 KB line grew it, and that growth is charged */
	CU_ASSERT(sf->mem.used > 16384);
	CU_ASSERT(sf->mem.used >= sl_smtp_memory(sf->smtp) + sf->scan_charged);
	CU_ASSERT(h.in.ctx.mem.used >= before + 16384);
	h_free(&h);
}

/* A spam model of one spam and one ham message and no tokens (sluice/bayes.h): every
 * message scores 0.5. Its table is empty, so its checksum is SHA-256 of nothing. */
static void write_empty_model(const char *path)
{
	static const uint8_t sha_of_nothing[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	uint8_t model[SL_BAYES_HEADER] = "SLBAYES";
	model[8] = 1;  /* format version 1: no constants in the header, bogofilter's defaults */
	model[16] = 1; /* spam messages */
	model[20] = 1; /* ham messages */
	memcpy(model + 32, sha_of_nothing, 32);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(model, 1, sizeof model, f), sizeof model);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

struct scan_charge {
	size_t scan_charged, flow_used;
	bool delivered, overloaded;
};

/* One message through a flow under this policy and configuration: what its scanner
 * was charged, what the flow held at its end, and whether the message went through. */
static struct scan_charge one_message(const char *policy_text, const char *cfg)
{
	struct harness h;
	struct scan_charge c = {0};
	h_init(&h, policy_text, cfg);
	h_to_data(&h);
	h_say(&h, true, body_ok);
	const struct dp_smtpflow *sf = dp_flow_sf(h.last_flow);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	c.scan_charged = sf->scan_charged;
	c.flow_used = sf->mem.used;
	h_say(&h, true, ".\r\n");
	c.delivered = h_got_has(&h.s, "Nothing to see.\r\n.\r\n");
	c.overloaded = h_got_has(&h.c, "451 4.3.0 Gateway overloaded");
	h_free(&h);
	return c;
}

/* The classifier's token set (about 28 KiB per message scanner, made only when the
 * policy has a spam-probability condition) is charged to the flow with the scanner's
 * streams: the per-flow cap sees it, and a flow without room for it gets no scanner (the
 * overload verdict) where the same policy without the classifier fits. */
static void test_spam_tokens_are_charged(void)
{
	char model[] = "/tmp/sluice-dp-model-XXXXXX";
	int fd = mkstemp(model);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	write_empty_model(model);
	char spam_policy[2048];
	snprintf(spam_policy, sizeof spam_policy,
	         "%sspam-model \"%s\"\nrule test.bayes { match spam-probability >= 0.99 score 1 }\n",
	         policy, model);
	struct scan_charge plain = one_message(policy, NULL), spam = one_message(spam_policy, NULL);
	CU_ASSERT(plain.delivered && spam.delivered);
	CU_ASSERT(sl_bayes_tokens_bytes() > 16384);
	CU_ASSERT_EQUAL(spam.scan_charged, plain.scan_charged + sl_bayes_tokens_bytes());
	CU_ASSERT_EQUAL(spam.flow_used, plain.flow_used + sl_bayes_tokens_bytes());
	/* a cap between the two: the plain flow fits, the classifier's does not */
	char cfg[64];
	snprintf(cfg, sizeof cfg, "[flows]\nmax_flow_memory = %zu\n",
	         plain.flow_used + sl_bayes_tokens_bytes() / 2);
	plain = one_message(policy, cfg);
	spam = one_message(spam_policy, cfg);
	CU_ASSERT_TRUE(plain.delivered);
	CU_ASSERT_FALSE(spam.delivered);
	CU_ASSERT_TRUE(spam.overloaded);
	CU_ASSERT_EQUAL(spam.scan_charged, 0);
	unlink(model);
}

static void test_data_before_354_is_held(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: early\r\n\r\nFORBIDDEN\r\n.\r\n");
	/* the commands went, the content waits for the 354 */
	CU_ASSERT_TRUE(h_got_has(&h.s, "DATA\r\n"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "Subject: early"));
	h_say(&h, false, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	/* released up to the end of data, which the verdict stops */
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);
}

static void test_out_of_order_released_in_order(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	const char *parts[] = {"Subject: ooo\r\n\r\n", "first line\r\n", "second line\r\n", "third\r\n"};
	uint32_t seq[4], at = h.c.snd_nxt;
	for (int i = 0; i < 4; i++) {
		seq[i] = at;
		at += (uint32_t)strlen(parts[i]);
	}
	for (int i = 3; i >= 0; i--)
		h_send_at(&h, true, seq[i], DP_TCP_ACK, parts[i], strlen(parts[i]));
	h.c.snd_nxt = at;
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 ok\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "Subject: ooo\r\n\r\nfirst line\r\nsecond line\r\nthird\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_PASS], 1);
	h_free(&h);
}

static void test_conflicting_retransmission_dropped(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint32_t seq = h.c.snd_nxt;
	h_say(&h, true, "Subject: a\r\n\r\nharmless words\r\n");
	size_t srv_len = h.s.got.len;
	/* the same sequence numbers, other bytes: never forwarded */
	const char *evil = "Subject: a\r\n\r\nFORBIDDEN words\r\n";
	h_send_at(&h, true, seq, DP_TCP_ACK | DP_TCP_PSH, evil, strlen(evil));
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_RETRANSMIT_CONFLICT);
	CU_ASSERT_EQUAL(h.s.got.len, srv_len);
	CU_ASSERT_FALSE(h_got_has(&h.s, "FORBIDDEN"));
	CU_ASSERT_EQUAL(h.ctr.signals_overlap, 1);
	/* an identical retransmission goes through (the receiver may have lost it) */
	const char *same = "Subject: a\r\n\r\nharmless words\r\n";
	h_send_at(&h, true, seq, DP_TCP_ACK | DP_TCP_PSH, same, strlen(same));
	CU_ASSERT_EQUAL(h.last_drop, -1);
	/* the message carries the rule-visible signal: rejected */
	h_say(&h, true, ".\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.0 Conflicting retransmission"));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);
}

static void test_overlap_with_held_segment(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint32_t seq = h.c.snd_nxt;
	/* the later half arrives first and is held ... */
	h_send_at(&h, true, seq + 10, DP_TCP_ACK, "aaaaaaaaaa\r\n", 12);
	/* ... a conflicting segment covering it is refused ... */
	h_send_at(&h, true, seq, DP_TCP_ACK, "Subject: bFORBIDDEN!\r\n", 22);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_OOO_CONFLICT);
	CU_ASSERT_FALSE(h_got_has(&h.s, "FORBIDDEN"));
	/* ... and the honest one fills the hole */
	h_send_at(&h, true, seq, DP_TCP_ACK, "Subject: ", 9);
	h_send_at(&h, true, seq + 9, DP_TCP_ACK, "b", 1);
	CU_ASSERT_TRUE(h_got_has(&h.s, "Subject: baaaaaaaaaa\r\n"));
	h_free(&h);
}

static void test_smuggling_variants_do_not_end_message(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_say(&h, true, "Subject: s\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n");
	CU_ASSERT_FALSE(h_got_has(&h.c, "554"));
	h_say(&h, true, "\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.0 Ambiguous end of data"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);
}

static void test_one_byte_segments(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	const char *msg = "Subject: t\r\n\r\nFORBIDDEN\r\n.\r\n";
	for (const char *p = msg; *p; p++)
		h_say_n(&h, true, p, 1);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	h_free(&h);
}

static void test_bdat_last_rejected(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250-mx\r\n250 CHUNKING\r\n");
	h_envelope(&h);
	const char *chunk = "Subject: b\r\n\r\nFORBIDDEN\r\n";
	char cmd[64];
	snprintf(cmd, sizeof cmd, "BDAT %zu LAST\r\n", strlen(chunk));
	h_say(&h, true, cmd);
	h_say(&h, true, chunk);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	/* the server is one byte short of the chunk: it never commits */
	CU_ASSERT_FALSE(h_got_has(&h.s, chunk));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);
}

static void test_starttls_strip_and_block(void)
{
	struct harness h;
	h_init(&h, policy, "[smtp]\nstarttls = strip\n");
	h_ehlo(&h, "250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "250-mx\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n"));
	CU_ASSERT_EQUAL(h.ctr.starttls_stripped, 1);
	/* a client that tries anyway: the server sees an unknown verb of the same length */
	h_say(&h, true, "STARTTLS\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "XXXXXXXX\r\n"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "STARTTLS"));
	h_say(&h, false, "502 5.5.2 Error: command not recognized\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "502 5.5.2"));
	h_free(&h);

	h_init(&h, policy, "[smtp]\nstarttls = block\n");
	h_ehlo(&h, "250-mx\r\n250 STARTTLS\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "250 STARTTLS\r\n"));
	h_say(&h, true, "STARTTLS\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "XXXXXXXX\r\n"));
	CU_ASSERT_EQUAL(h.ctr.starttls_blocked, 1);
	h_free(&h);
}

static void test_starttls_allow_goes_uninspected(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250-mx\r\n250 STARTTLS\r\n");
	h_say(&h, true, "STARTTLS\r\n");
	h_say(&h, false, "220 2.0.0 Ready to start TLS\r\n");
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0};
	h_say_n(&h, true, hello, sizeof hello);
	h_say_n(&h, false, hello, sizeof hello);
	h_say(&h, true, "FORBIDDEN (encrypted, in reality)");
	CU_ASSERT_TRUE(h_got_has(&h.s, "FORBIDDEN"));
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_STARTTLS], 1);
	h_free(&h);
}

/* A command of a connection whose start the dataplane never saw. */
static void midstream_mail(struct harness *h, const char *cfg)
{
	h_init(h, policy, cfg);
	h->c.rcv_started = true;
	h->s.rcv_nxt = h->c.snd_nxt; /* the server is mid-connection too */
	h_say(h, true, "MAIL FROM:<a@example.com>\r\n");
}

static void test_non_smtp_and_midstream(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	/* port 80: untouched, no state */
	h.base[36] = 0;
	h.base[37] = 80;
	dp_pkt_parse(h.base, sizeof h.base, &h.bp);
	h_open(&h);
	h_say(&h, true, "GET / HTTP/1.0\r\n\r\n");
	CU_ASSERT_EQUAL(h.ctr.flows_created, 0);
	CU_ASSERT_EQUAL(h.originals, 4);
	h_free(&h);

	/* an SMTP connection we never saw open (dataplane restart, expiry, eviction): in
	 * enforce mode it is dropped and both ends reset, so it reconnects and is inspected */
	midstream_mail(&h, NULL);
	CU_ASSERT_EQUAL(h.s.got.len, 0);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_EQUAL(h.c.rsts, 1);
	CU_ASSERT_TRUE(h.s.rst_in_window);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_MIDSTREAM_RESET);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_MIDSTREAM], 0);
	h_free(&h);

	/* midstream = pass: it goes through uninspected, counted */
	midstream_mail(&h, "[flows]\nmidstream = pass\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "MAIL FROM"));
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_MIDSTREAM], 1);
	h_free(&h);

	/* in monitor mode (smtp) the default passes it */
	midstream_mail(&h, "[dataplane]\nmode = smtp\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "MAIL FROM"));
	h_free(&h);
}

/* The client's next segment in DATA, a forbidden message, with one byte of it (AT,
 * counted from the IP header; SIZE_MAX: the last payload byte) flipped so that the
 * server drops it: it must be dropped unscanned, its bytes kept out of the stream. */
static void check_dropped_unscanned(size_t at)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint8_t frame[256];
	const char *evil = "Subject: x\r\n\r\nFORBIDDEN\r\n.\r\n";
	struct dp_tcp_out seg = {h.c.snd_nxt, h.c.rcv_nxt, DP_TCP_ACK, 65535,
	                         (const uint8_t *)evil, strlen(evil)};
	size_t n = dp_build_tcp(frame, sizeof frame, h.base, &h.bp, false, &seg);
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(frame, n, &p), DP_PKT_TCP);
	frame[at == SIZE_MAX ? n - 1 : p.l3_off + at] ^= 0x5a;
	uint64_t before = h.last_flow->dir[SL_CLIENT].rcv_off;
	struct dp_out out;
	dp_inspect_frame(&h.in, frame, n, DP_OUTSIDE, &out);
	CU_ASSERT_FALSE(out.forward);
	CU_ASSERT_EQUAL(out.drop_reason, DP_DROP_BAD_CHECKSUM);
	CU_ASSERT_EQUAL(h.last_flow->dir[SL_CLIENT].rcv_off, before);
	CU_ASSERT_EQUAL(h.ctr.messages, 0);
	h_free(&h);
}

/* a segment the server would drop (bad checksum) must not be scanned either */
static void test_bad_checksum_never_scanned(void)
{
	check_dropped_unscanned(SIZE_MAX);
}

/* Linux drops a datagram whose IPv4 header checksum is wrong (ip_rcv_core), even with a
 * right TCP checksum (the IPv4 header is not in the TCP sum): byte 10 is that field. */
static void test_bad_ip_checksum_never_scanned(void)
{
	check_dropped_unscanned(10);
}

static void test_takeover_retransmits_reply(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h.in.ctx.now_ms = 1000;
	h_say(&h, true, "Subject: x\r\n\r\nFORBIDDEN\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1"));
	/* the client never acknowledged our reply: it comes again */
	size_t before = h.c.segments;
	h.c.rcv_nxt -= 29; /* as if lost */
	h.c.got.len -= 29;
	h_tick(&h, 1400);
	CU_ASSERT(h.c.segments > before);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content\r\n"));
	h_free(&h);
}

static void test_fin_follows_held_data(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_say(&h, true, body_ok);
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 ok\r\n");
	h_say(&h, true, "QUIT\r\n");
	h_say(&h, false, "221 bye\r\n");
	h_send_at(&h, false, h.s.snd_nxt++, DP_TCP_ACK | DP_TCP_FIN, NULL, 0);
	h_send_at(&h, true, h.c.snd_nxt++, DP_TCP_ACK | DP_TCP_FIN, NULL, 0);
	CU_ASSERT_EQUAL(h.s.fins, 1);
	CU_ASSERT_EQUAL(h.c.fins, 1);
	CU_ASSERT_EQUAL(h.ctr.flows_closed, 1);
	h_free(&h);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"clean message passes unchanged", test_clean_message_passes_unchanged},
		{"reject: reply injected, server reset", test_reject},
		{"engine session reused by the next flow", test_engine_session_reused},
		{"reject with pipelined QUIT", test_reject_pipelined_quit},
		{"tempfail", test_tempfail},
		{"other command after verdict: 421", test_other_command_after_verdict_gets_421},
		{"quarantine: 250, server reset, journaled", test_quarantine_journals},
		{"archive journal records", test_archive_journal_records},
		{"rejected message not journaled", test_rejected_not_journaled},
		{"session growth is charged", test_session_growth_is_charged},
		{"spam token set is charged", test_spam_tokens_are_charged},
		{"data before 354 held", test_data_before_354_is_held},
		{"out of order released in order", test_out_of_order_released_in_order},
		{"conflicting retransmission dropped", test_conflicting_retransmission_dropped},
		{"overlap with a held segment", test_overlap_with_held_segment},
		{"smuggling variants", test_smuggling_variants_do_not_end_message},
		{"one-byte segments", test_one_byte_segments},
		{"BDAT LAST rejected", test_bdat_last_rejected},
		{"STARTTLS strip and block", test_starttls_strip_and_block},
		{"STARTTLS allow", test_starttls_allow_goes_uninspected},
		{"non-SMTP and mid-stream", test_non_smtp_and_midstream},
		{"bad checksum never scanned", test_bad_checksum_never_scanned},
		{"bad IPv4 header checksum never scanned", test_bad_ip_checksum_never_scanned},
		{"takeover retransmits its reply", test_takeover_retransmits_reply},
		{"FINs", test_fin_follows_held_data},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane flow", NULL, NULL, tests);
}
