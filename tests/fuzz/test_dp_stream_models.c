/* The reference models of fuzz_dp_stream, rule by rule (tcp_receiver_model.h and
 * smtp_server_model.h say which Linux and Postfix behaviour each follows): a model
 * that is wrong would make the fuzzer pass what a real server would not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "smtp_server_model.h"
#include "tcp_receiver_model.h"

/* ---- a receiver and what its application read ----------------------------------- */

struct rx {
	struct trm m;
	struct sl_strbuf got;
	uint32_t first_seq;
	unsigned opens, eofs, resets;
	struct trm_reply r;
};

static void rx_data(void *arg, uint32_t seq, const uint8_t *p, size_t n)
{
	struct rx *x = arg;
	if (!x->got.len)
		x->first_seq = seq;
	sl_strbuf_put(&x->got, p, n);
}

static void rx_eof(void *arg)
{
	((struct rx *)arg)->eofs++;
}

static void rx_reset(void *arg)
{
	((struct rx *)arg)->resets++;
}

static void rx_open(void *arg)
{
	((struct rx *)arg)->opens++;
}

#define ISS 5000u  /* the modelled server's */
#define IRS 70000u /* the peer's */

static void rx_listen(struct rx *x)
{
	memset(x, 0, sizeof *x);
	sl_strbuf_init(&x->got);
	struct trm_app app = {rx_data, rx_eof, rx_reset, rx_open, x};
	trm_init_listen(&x->m, ISS, &app);
}

static void rx_free(struct rx *x)
{
	trm_free(&x->m);
	sl_strbuf_free(&x->got);
}

static void seg(struct rx *x, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	struct trm_seg s = {seq, ack, flags, 0, true, (const uint8_t *)data,
	                    data ? (uint32_t)strlen(data) : 0};
	trm_input(&x->m, &s, &x->r);
}

static void urgent(struct rx *x, uint32_t seq, uint16_t ptr, const char *data)
{
	struct trm_seg s = {seq, ISS + 1, TRM_ACK | TRM_URG, ptr, true, (const uint8_t *)data,
	                    data ? (uint32_t)strlen(data) : 0};
	trm_input(&x->m, &s, &x->r);
}

/* Data at stream offset off (offset 0 = IRS + 1). */
static void data(struct rx *x, uint32_t off, const char *text)
{
	seg(x, IRS + 1 + off, ISS + 1, TRM_ACK | TRM_PSH, text);
}

static bool got(const struct rx *x, const char *text)
{
	return x->got.len == strlen(text) && memcmp(x->got.s, text, x->got.len) == 0;
}

static void established(struct rx *x)
{
	rx_listen(x);
	seg(x, IRS, 0, TRM_SYN, NULL);
	seg(x, IRS + 1, ISS + 1, TRM_ACK, NULL);
}

/* ---- handshake --------------------------------------------------------------------- */

static void test_listen(void)
{
	struct rx x;
	rx_listen(&x);
	seg(&x, 1, 777, TRM_ACK, NULL);     /* an ACK to a listener gets a RST at its ack */
	CU_ASSERT_EQUAL(x.r.flags, TRM_RST);
	CU_ASSERT_EQUAL(x.r.seq, 777);
	seg(&x, 1, 0, TRM_RST, NULL);       /* a RST is dropped */
	CU_ASSERT_EQUAL(x.r.flags, 0);
	seg(&x, IRS, 0, TRM_SYN, "TFO");    /* a SYN opens; its data is not kept */
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_RECV);
	CU_ASSERT_EQUAL(x.r.flags, TRM_SYN | TRM_ACK);
	CU_ASSERT_EQUAL(x.r.seq, ISS);
	CU_ASSERT_EQUAL(x.r.ack, IRS + 1);
	seg(&x, IRS + 1, ISS + 1, TRM_ACK, NULL);
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	CU_ASSERT_EQUAL(x.opens, 1);
	CU_ASSERT_EQUAL(x.got.len, 0);
	rx_free(&x);
}

static void test_syn_recv(void)
{
	struct rx x;
	rx_listen(&x);
	seg(&x, IRS, 0, TRM_SYN, NULL);
	seg(&x, IRS, 0, TRM_SYN, NULL);     /* the same SYN: the SYN-ACK again */
	CU_ASSERT_EQUAL(x.r.flags, TRM_SYN | TRM_ACK);
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_RECV);
	seg(&x, IRS + 1, ISS + 9, TRM_ACK, NULL); /* wrong ACK: the listener resets it */
	CU_ASSERT_EQUAL(x.r.flags, TRM_RST);
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_RECV);
	seg(&x, IRS + 1 + 100000, 0, TRM_RST, NULL); /* out of window: ignored */
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_RECV);
	seg(&x, IRS + 1 + 100, 0, TRM_RST, NULL);    /* in window (not exact): resets */
	CU_ASSERT_EQUAL(x.m.state, TRM_LISTEN);
	CU_ASSERT_EQUAL(x.resets, 1);
	/* a SYN with another ISN in the window ends the half-open connection too */
	seg(&x, IRS, 0, TRM_SYN, NULL);
	seg(&x, IRS + 50, 0, TRM_SYN, NULL);
	CU_ASSERT_EQUAL(x.m.state, TRM_LISTEN);
	CU_ASSERT_EQUAL(x.r.flags, TRM_RST | TRM_ACK);
	/* data without ACK is dropped; the ACK that completes may carry data */
	seg(&x, IRS, 0, TRM_SYN, NULL);
	seg(&x, IRS + 1, 0, TRM_PSH, "lost");
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_RECV);
	seg(&x, IRS + 1, ISS + 1, TRM_ACK | TRM_PSH, "EHLO x\r\n");
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	CU_ASSERT_TRUE(got(&x, "EHLO x\r\n"));
	rx_free(&x);
}

static void test_syn_sent(void)
{
	struct rx x;
	memset(&x, 0, sizeof x);
	sl_strbuf_init(&x.got);
	struct trm_app app = {rx_data, rx_eof, rx_reset, rx_open, &x};
	trm_init_closed(&x.m, &app);
	seg(&x, 1, 2, TRM_ACK, NULL);       /* no socket: a RST */
	CU_ASSERT_EQUAL(x.r.flags, TRM_RST);
	trm_sent(&x.m, 100, 0, TRM_SYN);
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_SENT);
	seg(&x, 9000, 102, TRM_SYN | TRM_ACK, NULL); /* acknowledges what was not sent */
	CU_ASSERT_EQUAL(x.r.flags, TRM_RST);
	CU_ASSERT_EQUAL(x.m.state, TRM_SYN_SENT);
	seg(&x, 9000, 101, TRM_SYN | TRM_ACK, "data on the SYN-ACK is not kept");
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	CU_ASSERT_EQUAL(x.m.rcv_nxt, 9001);
	CU_ASSERT_EQUAL(x.r.flags, TRM_ACK);
	CU_ASSERT_EQUAL(x.got.len, 0);
	rx_free(&x);
}

/* ---- established: RFC 5961, ACK field, sequence checks ------------------------------- */

static void test_rst_only_at_rcv_nxt(void)
{
	struct rx x;
	established(&x);
	data(&x, 0, "abc");
	seg(&x, IRS + 1 + 4, 0, TRM_RST, NULL);  /* in window, not exact: challenge ACK */
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	CU_ASSERT_EQUAL(x.m.challenges, 1);
	CU_ASSERT_EQUAL(x.r.flags, TRM_ACK);
	seg(&x, IRS + 1 + 2, 0, TRM_RST, NULL);  /* before rcv_nxt: ignored */
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	seg(&x, IRS + 1 + 3, 0, TRM_RST, NULL);  /* exactly rcv_nxt: reset */
	CU_ASSERT_EQUAL(x.m.state, TRM_LISTEN);
	CU_ASSERT_EQUAL(x.resets, 1);
	rx_free(&x);

	/* after the peer's FIN, rcv_nxt - 1 (the FIN's own sequence number) resets too */
	established(&x);
	seg(&x, IRS + 1, ISS + 1, TRM_ACK | TRM_FIN, "ab");
	CU_ASSERT_EQUAL(x.eofs, 1);
	seg(&x, IRS + 1 + 2, 0, TRM_RST, NULL);
	CU_ASSERT_EQUAL(x.m.state, TRM_LISTEN);
	rx_free(&x);
}

static void test_syn_on_established(void)
{
	struct rx x;
	established(&x);
	data(&x, 0, "MAIL FROM:<a@b>\r\n");
	/* finding 1: a SYN whose new ISN puts "offset 0" on the next byte is ignored */
	seg(&x, IRS + 1 + 17 - 1, 0, TRM_SYN, NULL);
	CU_ASSERT_EQUAL(x.m.challenges, 1);
	CU_ASSERT_EQUAL(x.m.state, TRM_ESTABLISHED);
	CU_ASSERT_EQUAL(x.m.rcv_nxt, IRS + 1 + 17);
	seg(&x, IRS + 1 + 300000, 0, TRM_SYN | TRM_ACK, NULL); /* out of window: challenged */
	CU_ASSERT_EQUAL(x.m.challenges, 2);
	data(&x, 17, "RCPT TO:<c@d>\r\n");
	CU_ASSERT_TRUE(got(&x, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"));
	rx_free(&x);
}

static void test_ack_field_and_flags(void)
{
	struct rx x;
	established(&x);
	seg(&x, IRS + 1, 0, TRM_PSH, "no ACK flag");           /* dropped */
	seg(&x, IRS + 1, ISS + 2, TRM_ACK | TRM_PSH, "unsent"); /* acks what was not sent */
	CU_ASSERT_EQUAL(x.got.len, 0);
	trm_sent(&x.m, ISS + 1, 1000, TRM_ACK);
	seg(&x, IRS + 1, ISS + 1001, TRM_ACK | TRM_PSH, "ok");
	seg(&x, IRS + 3, ISS + 1, TRM_ACK | TRM_PSH, "old ack"); /* older than snd_una: kept */
	CU_ASSERT_TRUE(got(&x, "okold ack"));
	rx_free(&x);
}

static void test_retransmissions_keep_first_bytes(void)
{
	struct rx x;
	established(&x);
	data(&x, 0, "hello ");
	data(&x, 0, "HELLO ");           /* wholly old: ignored */
	data(&x, 3, "LO world");         /* partly old: only the new bytes count */
	CU_ASSERT_TRUE(got(&x, "hello world"));
	CU_ASSERT_EQUAL(x.first_seq, IRS + 1);
	rx_free(&x);
}

static void test_window(void)
{
	struct rx x;
	established(&x);
	data(&x, 65535, "beyond the window");   /* seq at rcv_nxt + window: dropped */
	CU_ASSERT_EQUAL(x.m.nooo, 0);
	data(&x, 65534, "x");                   /* inside: queued */
	CU_ASSERT_EQUAL(x.m.nooo, 1);
	static char big[70001];
	memset(big, 'a', 70000);
	data(&x, 0, big);                       /* in order and longer than the window: kept */
	CU_ASSERT_EQUAL(x.got.len, 70000);
	rx_free(&x);
}

static void test_bad_checksum(void)
{
	struct rx x;
	established(&x);
	struct trm_seg s = {IRS + 1, ISS + 1, TRM_ACK, 0, false, (const uint8_t *)"x", 1};
	trm_input(&x.m, &s, &x.r);
	CU_ASSERT_EQUAL(x.got.len, 0);
	CU_ASSERT_EQUAL(x.m.bad_csum, 1);
	rx_free(&x);
}

/* ---- out of order (tcp_data_queue_ofo) ------------------------------------------------ */

static void test_ooo_basic(void)
{
	struct rx x;
	established(&x);
	data(&x, 6, "world");
	data(&x, 3, "lo ");
	CU_ASSERT_EQUAL(x.got.len, 0);
	data(&x, 0, "hel");
	CU_ASSERT_TRUE(got(&x, "hello world"));
	CU_ASSERT_EQUAL(x.m.nooo, 0);
	rx_free(&x);
}

static void test_ooo_overlaps(void)
{
	struct rx x;
	/* partial overlap: both kept, the one that starts first wins the overlap */
	established(&x);
	data(&x, 10, "AAAAA");      /* [10,15) */
	data(&x, 12, "bbbbbbb");    /* [12,19) */
	data(&x, 0, "0123456789");
	CU_ASSERT_TRUE(got(&x, "0123456789AAAAAbbbb"));
	rx_free(&x);

	established(&x);
	data(&x, 12, "bbbbbbb");    /* [12,19) */
	data(&x, 10, "AAAAA");      /* [10,15): starts first, wins */
	data(&x, 0, "0123456789");
	CU_ASSERT_TRUE(got(&x, "0123456789AAAAAbbbb"));
	rx_free(&x);

	/* inside a queued one: dropped (the first bytes stay) */
	established(&x);
	data(&x, 10, "AAAAAAAA");
	data(&x, 12, "zz");
	data(&x, 0, "0123456789");
	CU_ASSERT_TRUE(got(&x, "0123456789AAAAAAAA"));
	rx_free(&x);

	/* from the same byte and longer: replaces (the case overlap-ooo-last-wins) */
	established(&x);
	data(&x, 10, "AAAA");
	data(&x, 10, "BBBBBBB");
	data(&x, 0, "0123456789");
	CU_ASSERT_TRUE(got(&x, "0123456789BBBBBBB"));
	rx_free(&x);

	/* a new one covering queued ones whole removes them */
	established(&x);
	data(&x, 12, "aa");
	data(&x, 15, "bb");
	data(&x, 11, "CCCCCCCC");   /* [11,19) covers both */
	CU_ASSERT_EQUAL(x.m.nooo, 1);
	data(&x, 0, "0123456789X");
	CU_ASSERT_TRUE(got(&x, "0123456789XCCCCCCCC"));
	rx_free(&x);
}

/* ---- FIN and close ------------------------------------------------------------------- */

static void test_fin(void)
{
	struct rx x;
	established(&x);
	seg(&x, IRS + 1 + 3, ISS + 1, TRM_ACK | TRM_FIN, "def"); /* out of order, with FIN */
	CU_ASSERT_EQUAL(x.eofs, 0);
	data(&x, 0, "abc");
	CU_ASSERT_TRUE(got(&x, "abcdef"));
	CU_ASSERT_EQUAL(x.eofs, 1);
	data(&x, 7, "after the FIN"); /* not read */
	CU_ASSERT_TRUE(got(&x, "abcdef"));
	data(&x, 5, "fgh");           /* old and new bytes after the FIN: aborts */
	CU_ASSERT_EQUAL(x.resets, 1);
	rx_free(&x);

	established(&x);
	data(&x, 0, "QUIT\r\n");
	trm_app_close(&x.m);
	data(&x, 6, "more");          /* new data once the application closed: aborts */
	CU_ASSERT_EQUAL(x.resets, 1);
	CU_ASSERT_TRUE(got(&x, "QUIT\r\n"));
	rx_free(&x);
}

/* ---- urgent data (no SO_OOBINLINE) ---------------------------------------------------- */

static void test_urgent(void)
{
	struct rx x;
	established(&x);
	urgent(&x, IRS + 1, 5, "FORBXIDDEN"); /* urg_ptr 5: the byte at seq + 4 */
	CU_ASSERT_TRUE(got(&x, "FORBIDDEN"));
	rx_free(&x);

	established(&x);
	urgent(&x, IRS + 1, 0, "Xabc");       /* urg_ptr 0: the first byte */
	CU_ASSERT_TRUE(got(&x, "abc"));
	rx_free(&x);

	/* a pointer past the segment: the byte is taken out when it arrives */
	established(&x);
	urgent(&x, IRS + 1, 6, "abc");
	data(&x, 3, "deXf");
	CU_ASSERT_TRUE(got(&x, "abcdef"));
	rx_free(&x);

	/* a newer pointer replaces one whose byte has not arrived: that byte stays data */
	established(&x);
	urgent(&x, IRS + 1, 6, "abc");
	urgent(&x, IRS + 1 + 3, 3, "dXY");
	CU_ASSERT_TRUE(got(&x, "abcdX"));
	rx_free(&x);

	/* an old retransmission still carries a new urgent pointer */
	established(&x);
	data(&x, 0, "abc");
	urgent(&x, IRS + 1, 6, "abc");
	data(&x, 3, "deXf");
	CU_ASSERT_TRUE(got(&x, "abcdef"));
	rx_free(&x);

	/* a pointer to bytes already read is ignored; an older one does not replace */
	established(&x);
	data(&x, 0, "abc");
	urgent(&x, IRS + 1, 2, NULL);
	data(&x, 3, "def");
	CU_ASSERT_TRUE(got(&x, "abcdef"));
	urgent(&x, IRS + 1 + 6, 4, "ghiZ");   /* pending: Z at offset 9 */
	CU_ASSERT_TRUE(got(&x, "abcdefghi"));
	rx_free(&x);
}

/* ---- the SMTP server application ------------------------------------------------------ */

struct app {
	struct ssm m;
	struct sl_strbuf said, msgs;
	unsigned closes;
};

static void app_reply(void *arg, const char *t, size_t n)
{
	sl_strbuf_put(&((struct app *)arg)->said, t, n);
}

static void app_commit(void *arg, const uint8_t *p, size_t n)
{
	struct app *a = arg;
	sl_strbuf_put(&a->msgs, p, n);
	sl_strbuf_puts(&a->msgs, "|");
}

static void app_close(void *arg)
{
	((struct app *)arg)->closes++;
}

static void app_open(struct app *a)
{
	memset(a, 0, sizeof *a);
	sl_strbuf_init(&a->said);
	sl_strbuf_init(&a->msgs);
	struct ssm_ops ops = {app_reply, app_commit, app_close, a};
	ssm_init(&a->m, &ops);
	ssm_open(&a->m);
}

static void app_free(struct app *a)
{
	ssm_free(&a->m);
	sl_strbuf_free(&a->said);
	sl_strbuf_free(&a->msgs);
}

static void in(struct app *a, const char *s)
{
	ssm_input(&a->m, (const uint8_t *)s, strlen(s));
}

/* The reply codes said, one per line's first three bytes of each final line. */
static bool codes(const struct app *a, const char *want)
{
	char buf[256] = "";
	const char *s = a->said.s ? a->said.s : "";
	size_t n = 0;
	for (const char *line = s; *line && n + 5 < sizeof buf;) {
		const char *eol = strchr(line, '\n');
		if (strlen(line) > 3 && line[3] == ' ') {
			memcpy(buf + n, line, 3);
			buf[n + 3] = ' ';
			n += 4;
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	if (n)
		buf[n - 1] = 0;
	if (strcmp(buf, want))
		fprintf(stderr, "\ncodes: got \"%s\", want \"%s\"\n", buf, want);
	return strcmp(buf, want) == 0;
}

static bool msgs(const struct app *a, const char *want)
{
	const char *s = a->msgs.s ? a->msgs.s : "";
	return strcmp(s, want) == 0;
}

static void test_app_transaction(void)
{
	struct app a;
	app_open(&a);
	/* pipelined in one read; a dot-stuffed line; the CRLF before the dot is content */
	in(&a, "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 250 354 250 221"));
	CU_ASSERT_TRUE(msgs(&a, "Subject: x\r\n\r\n.dot\r\n|"));
	CU_ASSERT_EQUAL(a.closes, 1);
	in(&a, "NOOP\r\n"); /* closed: not read */
	CU_ASSERT_TRUE(codes(&a, "220 250 250 250 354 250 221"));
	app_free(&a);
}

static void test_app_bare_lf_ends_data(void)
{
	/* the lab's Postfix ends data on each (tests/lab/peers/smuggling.py); after the
	 * last one an empty line is a command (500) */
	static const char *const ends[] = {"\n.\n", "\n.\r\n", "\r\n.\n", "\r\n.\r\r\n", "\n\n.\n\n"};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		struct app a;
		app_open(&a);
		in(&a, "HELO c\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nouter");
		in(&a, ends[i]);
		in(&a, "RSET\r\n");
		CU_ASSERT_TRUE(codes(&a, i == 4 ? "220 250 250 250 354 250 500 250" : "220 250 250 250 354 250 250"));
		CU_ASSERT_EQUAL(a.m.committed, 1);
		app_free(&a);
	}
	/* a dot between bare CRs, or followed by text, ends nothing */
	struct app a;
	app_open(&a);
	in(&a, "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r.\rMAIL FROM:<e@f>\r\n.x\r\n");
	CU_ASSERT_EQUAL(a.m.committed, 0);
	in(&a, ".\r\n");
	CU_ASSERT_TRUE(msgs(&a, "x\r.\rMAIL FROM:<e@f>\r\nx\r\n|"));
	app_free(&a);
}

static void test_app_refusals(void)
{
	struct app a;
	app_open(&a);
	/* DATA before RCPT is refused: what follows is read as commands */
	in(&a, "EHLO c\r\nMAIL FROM:<a@b>\r\nDATA\r\nFORBIDDEN\r\n.\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 554 502 502"));
	CU_ASSERT_EQUAL(a.m.committed, 0);
	app_free(&a);

	app_open(&a);
	ssm_decide(&a.m, 0x04); /* MAIL ok, RCPT ok, DATA refused */
	in(&a, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nQUIT\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 451 221"));
	app_free(&a);
}

static void test_app_bdat(void)
{
	struct app a;
	app_open(&a);
	/* the chunk is read whatever the answer; LAST commits */
	in(&a, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 5\r\nhel");
	in(&a, "loBDAT 6 LAST\r\n world");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 250 250"));
	CU_ASSERT_TRUE(msgs(&a, "hello world|"));
	/* without a transaction the chunk is still read (and refused) */
	in(&a, "BDAT 4\r\nQUITNOOP\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 250 250 503 250"));
	in(&a, "BDAT x\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 250 250 250 250 503 250 501"));
	app_free(&a);
}

static void test_app_starttls(void)
{
	struct app a;
	app_open(&a);
	in(&a, "EHLO c\r\nSTARTTLS\r\n\x16\x03\x01 MAIL FROM:<a@b>\r\n");
	CU_ASSERT_EQUAL(a.m.mode, SSM_TLS);
	CU_ASSERT_EQUAL(a.m.tls_at, strlen("EHLO c\r\nSTARTTLS\r\n"));
	CU_ASSERT_TRUE(codes(&a, "220 250 220"));
	app_free(&a);

	/* refused (a rewritten verb, or the decision): plaintext goes on */
	app_open(&a);
	in(&a, "XXXXXXXX\r\n");
	ssm_decide(&a.m, 1);
	in(&a, "STARTTLS\r\nNOOP\r\n");
	CU_ASSERT_TRUE(codes(&a, "220 502 454 250"));
	app_free(&a);
}

static void test_app_long_command(void)
{
	struct app a;
	app_open(&a);
	static char line[5000];
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'a', 4000);
	strcpy(line + 4005, "\r\n");
	in(&a, line); /* cut at 2048 bytes: still one NOOP */
	CU_ASSERT_TRUE(codes(&a, "220 250"));
	app_free(&a);
}

int main(void)
{
	static const struct cu_test receiver[] = {
		{"LISTEN", test_listen},
		{"SYN-RECV", test_syn_recv},
		{"SYN-SENT", test_syn_sent},
		{"RST only at rcv_nxt", test_rst_only_at_rcv_nxt},
		{"SYN on an established connection", test_syn_on_established},
		{"ACK field and flags", test_ack_field_and_flags},
		{"retransmissions keep the first bytes", test_retransmissions_keep_first_bytes},
		{"window", test_window},
		{"bad checksum", test_bad_checksum},
		{"out of order", test_ooo_basic},
		{"out-of-order overlaps", test_ooo_overlaps},
		{"FIN and close", test_fin},
		{"urgent data", test_urgent},
		{NULL, NULL},
	};
	static const struct cu_test app[] = {
		{"transaction", test_app_transaction},
		{"bare LF ends data", test_app_bare_lf_ends_data},
		{"refusals", test_app_refusals},
		{"BDAT", test_app_bdat},
		{"STARTTLS", test_app_starttls},
		{"long command", test_app_long_command},
		{NULL, NULL},
	};
	if (cu_add_suite("Linux receiver model", NULL, NULL, receiver) ||
	    cu_add_suite("Postfix server model", NULL, NULL, app))
		return 1;
	return cu_run_registered();
}
