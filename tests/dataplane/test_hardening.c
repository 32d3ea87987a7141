/* The inline path against a client that attacks the normalizer (issue 8): each test is
 * a way to get bytes to the server that the engine did not scan, played against the
 * harness's receiver, which accepts what a Linux receiver accepts (RSTs only at
 * rcv_nxt, urgent bytes taken out of the stream). Each would have passed the forbidden
 * word on the code before the fix named in its comment. Also the flow admission under
 * a SYN flood (embryonic flows, eviction, overload) and the keyed flow hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"

#include "flowharness.h"

static const char policy[] =
	"rule test.forbidden {\n"
	"	description \"a word the server must never receive\"\n"
	"	match raw \"FORBIDDEN\"\n"
	"	action reject \"554 5.7.1 Forbidden content\"\n"
	"}\n"
	"rule test.bad-command {\n"
	"	description \"a session-level signal raised before the message\"\n"
	"	match signal smtp.bad_command\n"
	"	action tempfail \"451 4.7.0 Odd session\"\n"
	"}\n";

static const char evil[] = "Subject: x\r\n\r\nFORBIDDEN\r\n.\r\n";

/* The server never got the end of a message holding the word. */
static void assert_not_delivered(const struct harness *h)
{
	CU_ASSERT_FALSE(h_got_has(&h->s, "FORBIDDEN\r\n.\r\n"));
}

/* Finding 1. Before: a SYN with a new ISN re-initialised the client direction while
 * the engine kept its offsets, so the next bytes in the real sequence space were
 * forwarded without being fed to the engine. */
static void test_syn_with_new_isn_on_open_flow(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	/* the new ISN puts offset 0 of a "new" stream exactly on the next real byte */
	h_send_at(&h, true, h.c.snd_nxt - 1, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_SYN_MISMATCH);
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	assert_not_delivered(&h);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);
}

/* A client that gives up on a SYN the server never answered may try another ISN; an
 * answer to the old one is not of this connection any more. */
static void test_syn_retry_before_answer(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	uint32_t first = h.c.snd_nxt;
	h_send_at(&h, true, first, DP_TCP_SYN, NULL, 0);
	h.c.isn = h.c.snd_nxt = 0x40000000u;
	h_send_at(&h, true, h.c.snd_nxt++, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, -1);
	/* a SYN-ACK for the first attempt */
	uint8_t frame[256];
	struct dp_tcp_out seg = {h.s.snd_nxt, first + 1, DP_TCP_SYN | DP_TCP_ACK, 65535, NULL, 0};
	size_t n = dp_build_tcp(frame, sizeof frame, h.base, &h.bp, true, &seg);
	struct dp_out out;
	dp_inspect_frame(&h.in, frame, n, DP_INSIDE, &out);
	CU_ASSERT_FALSE(out.forward);
	CU_ASSERT_EQUAL(out.drop_reason, DP_DROP_SYN_MISMATCH);
	/* the right one, and the session works */
	h.c.rcv_started = true;
	h_send_at(&h, false, h.s.snd_nxt++, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, -1);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_ACK, NULL, 0);
	h_say(&h, false, "220 mx ESMTP\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "220 mx ESMTP\r\n"));
	/* once answered, the client may not change its ISN either */
	h_send_at(&h, true, 0x50000000u, DP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_SYN_MISMATCH);
	h_free(&h);
}

static void test_syn_with_data_refused(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_SYN, "EHLO x\r\n", 8);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_SYN_DATA);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	h_free(&h);
}

/* Finding 2. Before: a RST anywhere in the window ended our state; Linux resets only
 * at rcv_nxt and challenge-ACKs the rest, so the connection lived on and, once the
 * closed flow expired, its data passed as "mid-stream", uninspected. */
static void test_rst_the_receiver_ignores(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_send_at(&h, true, h.c.snd_nxt + 100, DP_TCP_RST, NULL, 0);
	CU_ASSERT_EQUAL(h.s.rsts, 0);         /* the server ignored it ... */
	CU_ASSERT_EQUAL(h.s.rsts_ignored, 1);
	CU_ASSERT_EQUAL(h.ctr.rst_ignored, 1); /* ... and so did we */
	CU_ASSERT_EQUAL(h.ctr.flows_closed, 0);
	h_tick(&h, 30 * 1000);                 /* past closed_timeout */
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	assert_not_delivered(&h);
	h_free(&h);

	/* a RST the receiver accepts ends the flow; nothing passes after it */
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_RST, NULL, 0);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_EQUAL(h.ctr.flows_closed, 1);
	h_say(&h, true, evil);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_ENFORCED);
	h_tick(&h, 30 * 1000); /* the closed flow is gone: its data is mid-stream, reset */
	h_say(&h, true, evil);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_MIDSTREAM_RESET);
	assert_not_delivered(&h);
	h_free(&h);
}

/* Finding 3. Before: the urgent byte was scanned in place while a receiver without
 * SO_OOBINLINE takes it out: "FORBXIDDEN" scanned, "FORBIDDEN" delivered. */
static void test_urgent_byte(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	const char body[] = "Subject: u\r\n\r\nFORBXIDDEN\r\n";
	size_t x = (size_t)(strchr(body, 'X') - body);
	h_send_urgent(&h, true, h.c.snd_nxt, body, strlen(body), x);
	h.c.snd_nxt += (uint32_t)strlen(body);
	CU_ASSERT_EQUAL(h.ctr.urg_cleared, 1);
	h_say(&h, true, ".\r\n");
	h_say(&h, false, "250 2.0.0 Ok\r\n");
	/* the server read exactly what was scanned, X included */
	CU_ASSERT_TRUE(h_got_has(&h.s, "FORBXIDDEN\r\n.\r\n"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "FORBIDDEN"));
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_PASS], 1);
	h_free(&h);
}

static void test_no_data_before_handshake(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_send_at(&h, true, h.c.snd_nxt++, DP_TCP_SYN, NULL, 0);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_ACK | DP_TCP_PSH, "MAIL FROM:<a@b>\r\n", 17);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_NO_HANDSHAKE);
	h.c.rcv_started = true;
	h_send_at(&h, false, h.s.snd_nxt++, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	/* the server speaks before the client acknowledged its SYN-ACK */
	h_say(&h, false, "220 early\r\n");
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_NO_HANDSHAKE);
	CU_ASSERT_EQUAL(h.s.got.len, 0);
	CU_ASSERT_EQUAL(h.c.got.len, 0);
	/* no engine for a flow that carried no data */
	CU_ASSERT_PTR_NULL(dp_flow_sf(h.last_flow));
	h_free(&h);
}

/* A segment without ACK on an established connection: Linux discards it unread, so it
 * is not scanned either (before: it was scanned and forwarded, and the sender's real copy
 * then conflicted with it and was dropped for ever, a hang the lab test found). */
static void test_segment_without_ack(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint32_t seq = h.c.snd_nxt;
	h_send_at(&h, true, seq, DP_TCP_PSH, "Subject: decoy\r\n\r\nharmless\r\n", 29);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_NO_ACK);
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "decoy"));
	assert_not_delivered(&h);
	h_free(&h);
}

/* A segment acknowledging server bytes that never went to the client: Linux discards
 * it (RFC 793 3.9), so it is not scanned either (found by fuzz_dp_stream: before, it
 * was scanned and the engine's view ran ahead of the server's). */
static void test_ack_of_unsent_bytes(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint8_t frame[256];
	const char *decoy = "Subject: decoy\r\n\r\nharmless\r\n";
	struct dp_tcp_out seg = {h.c.snd_nxt, h.c.rcv_nxt + 5000, DP_TCP_ACK | DP_TCP_PSH, 65535,
	                         (const uint8_t *)decoy, strlen(decoy)};
	size_t n = dp_build_tcp(frame, sizeof frame, h.base, &h.bp, false, &seg);
	struct dp_out out;
	dp_inspect_frame(&h.in, frame, n, DP_OUTSIDE, &out);
	CU_ASSERT_FALSE(out.forward);
	CU_ASSERT_EQUAL(out.drop_reason, DP_DROP_BAD_ACK);
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "decoy"));
	assert_not_delivered(&h);
	h_free(&h);
}

/* A NUL in a command line: Postfix's parser stops at it ("DATA\0\0EHLO x" is DATA
 * there) while the engine reads '?': the line goes on with '?' so both read the same
 * (found by fuzz_dp_stream: Postfix took a DATA the engine did not, and the pipelined
 * lines after it became an unscanned message). */
static void test_nul_in_command_line(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250-mx\r\n250 PIPELINING\r\n");
	h_envelope(&h);
	uint32_t line_seq = h.c.snd_nxt;
	h_say_n(&h, true, "DATA\0\0EHLO x\r\n", 14);
	CU_ASSERT_TRUE(h_got_has(&h.s, "DATA??EHLO x\r\n"));
	CU_ASSERT_EQUAL(h.ctr.nul_rewritten, 1);
	/* the client's retransmission of its original line is no conflict; what goes on is
	 * our copy (the receiver may have lost the first one) */
	unsigned built = h.built;
	h_send_at(&h, true, line_seq, DP_TCP_ACK | DP_TCP_PSH, "DATA\0\0EHLO x\r\n", 14);
	CU_ASSERT_EQUAL(h.last_drop, -1);
	CU_ASSERT_EQUAL(h.built, built + 1);
	/* bytes that differ otherwise still do */
	h_send_at(&h, true, line_seq, DP_TCP_ACK | DP_TCP_PSH, "DATA\0\0EHLO y\r\n", 14);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_RETRANSMIT_CONFLICT);
	CU_ASSERT_PTR_NULL(memmem(h.s.got.s, h.s.got.len, "\0", 1));
	/* message content keeps its bytes (this message is deferred: the odd command above
	 * raised smtp.bad_command, a session signal the test policy acts on) */
	h_say(&h, false, "502 5.5.2 Error: command not recognized\r\n");
	h_say(&h, true, "DATA\r\n");
	h_say(&h, false, "354 go\r\n");
	h_say_n(&h, true, "Subject: n\r\n\r\na\0b\r\n", 19);
	h_say(&h, true, ".\r\n");
	CU_ASSERT_EQUAL(h.ctr.nul_rewritten, 1);
	CU_ASSERT(h.s.got.s && memmem(h.s.got.s, h.s.got.len, "\r\na\0b\r\n", 7) != NULL);
	CU_ASSERT_TRUE(h_got_has(&h.c, "451 4.7.0 Odd session"));
	h_free(&h);
}

/* The engine session is made at the first data (the greeting), never for a bare SYN. */
static void test_session_at_first_data(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_open(&h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.last_flow);
	CU_ASSERT_PTR_NULL(dp_flow_sf(h.last_flow));
	CU_ASSERT_EQUAL(h.ctr.flows_embryonic, 0); /* the handshake completed */
	size_t before = h.in.ctx.mem.used;
	h_say(&h, false, "220 mx ESMTP\r\n");
	CU_ASSERT_PTR_NOT_NULL(dp_flow_sf(h.last_flow));
	CU_ASSERT(h.in.ctx.mem.used > before + 4096); /* the engine is charged */
	h_free(&h);
}

/* Finding 8. Before: the direction came from the addresses only, so a forged "server"
 * ACK arriving on the outside port advanced una_off and freed the retained copy: a
 * retransmission with other bytes was no longer compared. */
static void test_forged_server_packet_on_outside_port(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	uint32_t seq = h.c.snd_nxt;
	h_say(&h, true, "Subject: a\r\n\r\nharmless words\r\n");
	h.force_role = DP_OUTSIDE;
	h_send_at(&h, false, h.s.snd_nxt, DP_TCP_ACK, NULL, 0); /* acks what the client sent */
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_WRONG_PORT);
	h.force_role = -1;
	const char *other = "Subject: a\r\n\r\nFORBIDDEN words\r\n";
	h_send_at(&h, true, seq, DP_TCP_ACK | DP_TCP_PSH, other, strlen(other));
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_RETRANSMIT_CONFLICT);
	CU_ASSERT_FALSE(h_got_has(&h.s, "FORBIDDEN"));
	h_free(&h);
}

/* Signals raised between messages reach the next message's rules (before: dropped). */
static void test_session_signal_reaches_next_message(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "X\x01\x02 what\r\n");
	h_say(&h, false, "500 5.5.2 Error: command not recognized\r\n");
	h_envelope(&h);
	h_say(&h, true, "DATA\r\n");
	h_say(&h, false, "354 go\r\n");
	h_say(&h, true, "Subject: s\r\n\r\nfine\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.c, "451 4.7.0 Odd session"));
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_TEMPFAIL], 1);
	h_free(&h);
}

/* ---- the engine inline: no assumed reply, memory charged as it goes ------------------ */

/* Client bytes in 1400-byte segments. */
/* Finding 4, STARTTLS. Before: past max_pending (256 KiB) of bytes pipelined after a
 * STARTTLS the server had not answered, the engine assumed its 220, took the 16 03 ...
 * for TLS and passed the flow uninspected while the server, which had refused the
 * command (starttls = strip rewrites it), was still in plaintext. */
static void test_starttls_refused_after_tls_flood(void)
{
	struct harness h;
	/* the engine's behaviour, not the protection's (which closes such a session for its
	 * long lines and errors: test_protect) */
	h_init(&h, policy, "[smtp]\nstarttls = strip\n[protect]\nenabled = no\n");
	h_ehlo(&h, "250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	static uint8_t flood[300 * 1024];
	flood[0] = 0x16;
	flood[1] = 0x03;
	for (size_t i = 2; i < sizeof flood; i++)
		flood[i] = (uint8_t)(i * 2654435761u >> 13);
	flood[sizeof flood - 1] = '\n';
	size_t answered = h.s.got.len; /* the server answers each line it reads */
	h_say(&h, true, "STARTTLS\r\n");
	h_say_big(&h, flood, sizeof flood);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_STARTTLS], 0);
	h_say(&h, true, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
	/* a server without TLS: every line is an unknown command (Postfix would hang up
	 * after 20; this one is patient) */
	for (bool first = true; answered < h.s.got.len; first = false) {
		const char *lf = memchr(h.s.got.s + answered, '\n', h.s.got.len - answered);
		if (!lf)
			break;
		bool is_data = lf - (h.s.got.s + answered) == 5 && !memcmp(h.s.got.s + answered, "DATA", 4);
		bool is_env = !memcmp(h.s.got.s + answered, "MAIL", 4) || !memcmp(h.s.got.s + answered, "RCPT", 4);
		answered = (size_t)(lf + 1 - h.s.got.s);
		h_say(&h, false, first ? "502 5.5.2 Error: command not recognized\r\n" :
		                 is_data ? "354 go\r\n" : is_env ? "250 Ok\r\n" : "500 5.5.2 Error\r\n");
	}
	CU_ASSERT_TRUE(h_got_has(&h.s, "DATA\r\n"));
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	assert_not_delivered(&h);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_STARTTLS], 0);
	CU_ASSERT_EQUAL(h.ctr.flows_reset_desync, 0);
	h_free(&h);
}

/* Finding 4, DATA. Before: past max_pending the engine assumed the 354 and read the
 * pipelined bytes as the message; the server refused DATA and read them as commands,
 * so a transaction inside them was never scanned as the message it became. */
static void test_refused_data_with_pipelined_flood(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250-mx\r\n250 PIPELINING\r\n");
	h_envelope(&h);
	static char text[320 * 1024];
	size_t n = 0;
	unsigned noops = 0;
	n += (size_t)snprintf(text + n, sizeof text - n, "DATA\r\n");
	for (; n < 270 * 1024; noops++)
		n += (size_t)snprintf(text + n, sizeof text - n, "NOOP padding padding padding\r\n");
	n += (size_t)snprintf(text + n, sizeof text - n,
	                      "MAIL FROM:<x@example.org>\r\nRCPT TO:<y@example.net>\r\nDATA\r\n");
	h_say_big(&h, (const uint8_t *)text, n);
	CU_ASSERT_EQUAL(h.ctr.messages, 0); /* nothing taken as a message before the reply */
	h_say(&h, false, "554 5.5.1 Error: no valid recipients\r\n");
	/* the server reads the NOOPs as commands, and so does the engine now */
	for (unsigned i = 0; i < noops; i++)
		h_say(&h, false, "250 2.0.0 Ok\r\n");
	CU_ASSERT_TRUE(h_got_has(&h.s, "MAIL FROM:<x@example.org>\r\n"));
	h_say(&h, false, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	h_say(&h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h.c, "554 5.7.1 Forbidden content"));
	assert_not_delivered(&h);
	CU_ASSERT_EQUAL(h.ctr.flows_reset_desync, 0);
	h_free(&h);
}

/* Finding 6. Before: the engine's growth was charged at a message's end only, and a
 * failed allocation aborted the process. Now it is charged as it happens, and a flow
 * whose engine account is exhausted fails alone: inside a message the message is
 * deferred (451), outside one both ends are reset (on_overload closed). */
static void test_engine_out_of_memory_fails_one_flow(void)
{
	struct harness h;
	/* 16 KiB for the engine: the session fits, a charset converter (~34 KiB) does not */
	h_init(&h, policy, "[flows]\nmax_flow_memory = 16k\n");
	h_to_data(&h);
	h_say(&h, true, "Subject: latin\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\n"
	                "dobr\xe9 r\xe1no\r\n.\r\n");
	CU_ASSERT_EQUAL(h.ctr.engine_failed, 1);
	CU_ASSERT_TRUE(h_got_has(&h.c, "451 4.3.0"));
	CU_ASSERT_FALSE(h_got_has(&h.s, "\r\n.\r\n"));
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	h_free(&h);

	/* outside a message: many recipients, each charged as it is read */
	h_init(&h, policy, "[flows]\nmax_flow_memory = 16k\n");
	h_ehlo(&h, "250 mx\r\n");
	h_say(&h, true, "MAIL FROM:<a@example.com>\r\n");
	h_say(&h, false, "250 Ok\r\n");
	int drop = -1;
	for (unsigned i = 0; i < 400; i++) {
		char line[96];
		snprintf(line, sizeof line, "RCPT TO:<recipient-number-%u@example.net>\r\n", i);
		h_say(&h, true, line);
		if (h.s.rsts) {
			drop = h.last_drop;
			break;
		}
		h_say(&h, false, "250 Ok\r\n");
	}
	CU_ASSERT_EQUAL(h.ctr.engine_failed, 1);
	CU_ASSERT_EQUAL(drop, DP_DROP_ENGINE_FAILED);
	CU_ASSERT_EQUAL(h.s.rsts, 1);
	CU_ASSERT_EQUAL(h.c.rsts, 1);
	CU_ASSERT(h.in.ctx.mem.used < 64 * 1024); /* nothing grew past the flow's cap */
	h_free(&h);
}

/* ---- admission under a SYN flood ---------------------------------------------------- */


static void bare_syn(struct harness *h, uint16_t port)
{
	h_use_port(h, port, (uint32_t)port * 7919u);
	h_send_at(h, true, h->c.snd_nxt, DP_TCP_SYN, NULL, 0);
}

static void full_session_rejects(struct harness *h, uint16_t port)
{
	h_use_port(h, port, 0x10000000u + port);
	h_to_data(h);
	h_say(h, true, evil);
	CU_ASSERT_TRUE(h_got_has(&h->c, "554 5.7.1 Forbidden content"));
	assert_not_delivered(h);
}

static void test_syn_flood_evicts_half_open_flows(void)
{
	struct harness h;
	/* one source address stands for a spoofed flood's many: the per-source limits
	 * (test_protect) are off here */
	h_init(&h, policy, "[flows]\nmax_flows = 64\nmax_embryonic = 8\n[protect]\nenabled = no\n");
	h_use_port(&h, 30000, 1);
	h_open(&h); /* an established connection, idle */
	size_t one_flow = h.in.ctx.mem.used;
	for (uint16_t p = 0; p < 100; p++)
		bare_syn(&h, (uint16_t)(40000 + p));
	CU_ASSERT_EQUAL(h.ctr.flows_embryonic, 8);
	CU_ASSERT_EQUAL(h.ctr.flows_evicted_embryonic, 92);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_TABLE_FULL], 0);
	/* a SYN costs a flow entry and no engine */
	CU_ASSERT(h.in.ctx.mem.used <= 9 * one_flow);
	/* meanwhile, new connections are inspected end to end */
	for (uint16_t p = 0; p < 5; p++)
		full_session_rejects(&h, (uint16_t)(31000 + p));
	CU_ASSERT_EQUAL(h.ctr.verdicts[SL_ACT_REJECT], 5);
	/* half-open flows expire quietly after embryonic_timeout */
	h_tick(&h, 11 * 1000);
	CU_ASSERT_EQUAL(h.ctr.flows_embryonic, 0);
	h_free(&h);
}

static void test_table_full_of_established_flows(void)
{
	struct harness h;
	h_init(&h, policy, "[flows]\nmax_flows = 16\nevict_idle = 60s\n");
	for (uint16_t p = 0; p < 16; p++) {
		h_use_port(&h, (uint16_t)(20000 + p), 1000u * p + 1);
		h_open(&h);
	}
	CU_ASSERT_EQUAL(h.ctr.flows_active, 16);
	/* nothing may go: the SYN is refused (enforce mode: on_overload auto = closed) */
	bare_syn(&h, 50000);
	CU_ASSERT_EQUAL(h.last_drop, DP_DROP_FAIL_CLOSED);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_TABLE_FULL], 1);
	CU_ASSERT_EQUAL(h.s.segments, 0);
	/* after evict_idle the oldest idle one may go, both its ends reset; a new
	 * connection is admitted and inspected */
	h_tick(&h, 59 * 1000); /* not past idle_timeout (300 s): nothing expires */
	CU_ASSERT_EQUAL(h.ctr.flows_expired, 0);
	h.in.ctx.now_ms = 61 * 1000;
	full_session_rejects(&h, 50001);
	CU_ASSERT_EQUAL(h.ctr.flows_evicted_idle, 1);
	CU_ASSERT_EQUAL(h.other_rsts, 2);
	h_free(&h);

	/* on_overload = open: the SYN passes, the connection goes uninspected, counted */
	h_init(&h, policy, "[flows]\nmax_flows = 16\non_overload = open\n");
	for (uint16_t p = 0; p < 16; p++) {
		h_use_port(&h, (uint16_t)(20000 + p), 1000u * p + 1);
		h_open(&h);
	}
	bare_syn(&h, 50000);
	CU_ASSERT_EQUAL(h.last_drop, -1);
	CU_ASSERT_EQUAL(h.s.segments, 1);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_TABLE_FULL], 1);
	h_free(&h);
}

/* A closed flow's port pair used again by a new connection: a new flow, inspected. */
static void test_port_reuse_after_close(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_to_data(&h);
	h_send_at(&h, true, h.c.snd_nxt, DP_TCP_RST, NULL, 0);
	CU_ASSERT_EQUAL(h.ctr.flows_closed, 1);
	full_session_rejects(&h, 40000); /* the harness's default port */
	CU_ASSERT_EQUAL(h.ctr.flows_created, 2);
	h_free(&h);
}

/* A flow passed uninspected (STARTTLS allowed, TLS seen) does not follow its
 * connection's end; a new connection on the same port pair must not inherit its bypass
 * (found by fuzz_dp_stream). */
static void test_port_reuse_after_bypass(void)
{
	struct harness h;
	h_init(&h, policy, NULL);
	h_ehlo(&h, "250-mx\r\n250 STARTTLS\r\n");
	h_say(&h, true, "STARTTLS\r\n");
	h_say(&h, false, "220 2.0.0 Ready to start TLS\r\n");
	h_say_n(&h, true, "\x16\x03\x01\x00\x05hello", 10);
	CU_ASSERT_EQUAL(h.ctr.uninspected[DP_UNINSPECTED_STARTTLS], 1);
	full_session_rejects(&h, 40000);
	CU_ASSERT_EQUAL(h.ctr.flows_created, 2);
	h_free(&h);
}

/* Finding 7. Before: an unkeyed hash, so anyone could compute colliding keys. */
static void test_flow_hash_is_keyed(void)
{
	struct dp_pkt p;
	memset(&p, 0, sizeof p);
	p.ip_version = 4;
	memcpy(p.src, (uint8_t[]){192, 0, 2, 10}, 4);
	memcpy(p.dst, (uint8_t[]){198, 51, 100, 25}, 4);
	p.sport = 40000;
	p.dport = 25;
	struct dp_pkt r = p; /* the other direction */
	memcpy(r.src, p.dst, 16);
	memcpy(r.dst, p.src, 16);
	r.sport = p.dport;
	r.dport = p.sport;
	uint8_t k1[16] = {1}, k2[16] = {2};
	dp_flow_hash_set_key(k1);
	uint32_t a = dp_flow_hash_pkt(&p);
	CU_ASSERT_EQUAL(a, dp_flow_hash_pkt(&r)); /* symmetric: one worker, one entry */
	dp_flow_hash_set_key(k2);
	uint32_t b = dp_flow_hash_pkt(&p);
	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(b, dp_flow_hash_pkt(&r));
	/* spread: 4096 consecutive ports over 256 buckets, none holds more than 40 */
	unsigned count[256] = {0}, most = 0;
	for (unsigned port = 0; port < 4096; port++) {
		p.sport = (uint16_t)(10000 + port);
		unsigned c = ++count[dp_flow_hash_pkt(&p) & 255];
		most = c > most ? c : most;
	}
	CU_ASSERT(most <= 40);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"SYN with a new ISN on an open flow", test_syn_with_new_isn_on_open_flow},
		{"SYN retry before the answer", test_syn_retry_before_answer},
		{"SYN with data refused", test_syn_with_data_refused},
		{"RST the receiver ignores", test_rst_the_receiver_ignores},
		{"urgent byte", test_urgent_byte},
		{"no data before the handshake", test_no_data_before_handshake},
		{"session at the first data", test_session_at_first_data},
		{"segment without ACK", test_segment_without_ack},
		{"ACK of unsent bytes", test_ack_of_unsent_bytes},
		{"NUL in a command line", test_nul_in_command_line},
		{"forged server packet on the outside port", test_forged_server_packet_on_outside_port},
		{"session signal reaches the next message", test_session_signal_reaches_next_message},
		{"STARTTLS refused after a TLS-byte flood", test_starttls_refused_after_tls_flood},
		{"refused DATA with a pipelined flood", test_refused_data_with_pipelined_flood},
		{"engine out of memory fails one flow", test_engine_out_of_memory_fails_one_flow},
		{"SYN flood evicts half-open flows", test_syn_flood_evicts_half_open_flows},
		{"table full of established flows", test_table_full_of_established_flows},
		{"port reuse after close", test_port_reuse_after_close},
		{"port reuse after a bypassed flow", test_port_reuse_after_bypass},
		{"flow hash is keyed", test_flow_hash_is_keyed},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane hardening", NULL, NULL, tests);
}
