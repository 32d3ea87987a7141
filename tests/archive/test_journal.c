/* The journal record format and the spooling sender. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cunit_run.h"
#include "journal.h"

static const char *rcpts[] = { "bob@example.net", "carol@example.net" };
static const char *rules[] = { "dlp.card", "spam.score" };
static const char msg[] = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";

static struct sl_journal_record sample(void)
{
	struct sl_journal_record r = {
		.time_us = 1700000000123456ull, .source_kind = SL_JSOURCE_GATEWAY,
		.source = "gw1", .direction = 2, .mail_from = "a@example.com",
		.rcpt = rcpts, .nrcpt = 2, .client = "192.0.2.1:40000",
		.server = "192.0.2.25:25", .helo = "client.example", .verdict = "pass",
		.rules = rules, .nrules = 2, .txn_id = "q1",
		.message = (const uint8_t *)msg, .message_len = sizeof msg - 1,
	};
	return r;
}

static void test_roundtrip(void)
{
	struct sl_journal_record r = sample();
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	char err[256];
	CU_ASSERT_EQUAL_FATAL(sl_journal_encode(&r, &f, err, sizeof err), 0);
	struct sl_journal_decoded d;
	CU_ASSERT_EQUAL_FATAL(sl_journal_decode_frame((uint8_t *)f.s, f.len, &d, err, sizeof err), 0);
	CU_ASSERT_EQUAL(d.rec.time_us, r.time_us);
	CU_ASSERT_EQUAL(d.rec.source_kind, SL_JSOURCE_GATEWAY);
	CU_ASSERT_STRING_EQUAL(d.rec.source, "gw1");
	CU_ASSERT_EQUAL(d.rec.direction, 2);
	CU_ASSERT_STRING_EQUAL(d.rec.mail_from, "a@example.com");
	CU_ASSERT_EQUAL_FATAL(d.rec.nrcpt, 2);
	CU_ASSERT_STRING_EQUAL(d.rec.rcpt[1], "carol@example.net");
	CU_ASSERT_EQUAL_FATAL(d.rec.nrules, 2);
	CU_ASSERT_STRING_EQUAL(d.rec.rules[0], "dlp.card");
	CU_ASSERT_STRING_EQUAL(d.rec.client, "192.0.2.1:40000");
	CU_ASSERT_STRING_EQUAL(d.rec.verdict, "pass");
	CU_ASSERT_STRING_EQUAL(d.rec.txn_id, "q1");
	CU_ASSERT_EQUAL(d.rec.message_len, sizeof msg - 1);
	CU_ASSERT(memcmp(d.rec.message, msg, sizeof msg - 1) == 0);

	/* identity: the same record twice has the same id; any change makes another */
	struct sl_journal_decoded d2;
	CU_ASSERT_EQUAL(sl_journal_decode_frame((uint8_t *)f.s, f.len, &d2, err, sizeof err), 0);
	CU_ASSERT(memcmp(d.id, d2.id, 32) == 0);
	sl_journal_decoded_free(&d2);
	r.time_us++;
	struct sl_strbuf g;
	sl_strbuf_init(&g);
	sl_journal_encode(&r, &g, err, sizeof err);
	CU_ASSERT_EQUAL(sl_journal_decode_frame((uint8_t *)g.s, g.len, &d2, err, sizeof err), 0);
	CU_ASSERT(memcmp(d.id, d2.id, 32) != 0);
	sl_journal_decoded_free(&d2);
	sl_journal_decoded_free(&d);
	sl_strbuf_free(&f);
	sl_strbuf_free(&g);
}

/* The bundle that judged a gateway's message: an optional extension (0x8001) that
 * survives the round trip; twice in a record is invalid. */
static void test_bundle_field(void)
{
	struct sl_journal_record r = sample();
	r.bundle = "7/08139c1daa5ec661";
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	char err[256];
	CU_ASSERT_EQUAL_FATAL(sl_journal_encode(&r, &f, err, sizeof err), 0);
	struct sl_journal_decoded d;
	CU_ASSERT_EQUAL_FATAL(sl_journal_decode_frame((uint8_t *)f.s, f.len, &d, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d.rec.bundle);
	CU_ASSERT_STRING_EQUAL(d.rec.bundle, "7/08139c1daa5ec661");
	CU_ASSERT_STRING_EQUAL(d.rec.txn_id, "q1");
	sl_journal_decoded_free(&d);
	/* the field once more at the end of the payload */
	const uint8_t ext[] = {0x80, 0x01, 0, 0, 0, 2, '1', '/'};
	sl_strbuf_put(&f, ext, sizeof ext);
	sl_journal_header_build((uint8_t *)f.s, SL_JFRAME_RECORD, (uint8_t *)f.s + 16, (uint32_t)(f.len - 16));
	CU_ASSERT_EQUAL(sl_journal_decode_frame((uint8_t *)f.s, f.len, &d, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bundle"));
	sl_journal_decoded_free(&d);
	sl_strbuf_free(&f);
}

static int decode_err(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	struct sl_journal_decoded d;
	int r = sl_journal_decode_frame(p, n, &d, err, errlen);
	sl_journal_decoded_free(&d);
	return r;
}

/* Rebuild the header of a frame after editing its payload. */
static void reseal(struct sl_strbuf *f)
{
	sl_journal_header_build((uint8_t *)f->s, SL_JFRAME_RECORD, (uint8_t *)f->s + 16,
		(uint32_t)(f->len - 16));
}

static void test_bad_frames(void)
{
	struct sl_journal_record r = sample();
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	char err[256];
	sl_journal_encode(&r, &f, err, sizeof err);
	uint8_t *p = (uint8_t *)f.s;

	p[f.len - 3] ^= 1; /* a flipped bit in the message */
	CU_ASSERT_EQUAL(decode_err(p, f.len, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "CRC mismatch");
	p[f.len - 3] ^= 1;
	CU_ASSERT_EQUAL(decode_err(p, f.len, err, sizeof err), 0);

	CU_ASSERT_EQUAL(decode_err(p, f.len - 1, err, sizeof err), -1); /* truncated */
	p[4] = 9;
	CU_ASSERT_EQUAL(decode_err(p, f.len, err, sizeof err), -1);
	CU_ASSERT(strstr(err, "unsupported version 9") != NULL);
	p[4] = SL_JOURNAL_VERSION;
	p[0] = 'X';
	CU_ASSERT_EQUAL(decode_err(p, f.len, err, sizeof err), -1);
	CU_ASSERT(strstr(err, "bad magic") != NULL);
	p[0] = 'S';

	/* a field whose length runs past the end */
	struct sl_strbuf h;
	sl_strbuf_init(&h);
	sl_strbuf_put(&h, f.s, f.len);
	((uint8_t *)h.s)[16 + 2] = 0x7f; /* first field's length */
	reseal(&h);
	CU_ASSERT_EQUAL(decode_err((uint8_t *)h.s, h.len, err, sizeof err), -1);
	CU_ASSERT(strstr(err, "runs past the end") != NULL);
	sl_strbuf_free(&h);

	/* unknown required tag: refused; unknown optional tag: skipped */
	static const uint8_t req[] = { 0x00, 0x63, 0, 0, 0, 1, 'x' };
	static const uint8_t opt[] = { 0x80, 0x63, 0, 0, 0, 1, 'x' };
	sl_strbuf_init(&h);
	sl_strbuf_put(&h, f.s, f.len);
	sl_strbuf_put(&h, req, sizeof req);
	reseal(&h);
	CU_ASSERT_EQUAL(decode_err((uint8_t *)h.s, h.len, err, sizeof err), -1);
	CU_ASSERT(strstr(err, "unknown required field tag 99") != NULL);
	sl_strbuf_clear(&h);
	sl_strbuf_put(&h, f.s, f.len);
	sl_strbuf_put(&h, opt, sizeof opt);
	reseal(&h);
	CU_ASSERT_EQUAL(decode_err((uint8_t *)h.s, h.len, err, sizeof err), 0);

	/* a duplicated single field */
	static const uint8_t two_src[] = { 0x00, 0x03, 0, 0, 0, 1, 'y' };
	sl_strbuf_clear(&h);
	sl_strbuf_put(&h, f.s, f.len);
	sl_strbuf_put(&h, two_src, sizeof two_src);
	reseal(&h);
	CU_ASSERT_EQUAL(decode_err((uint8_t *)h.s, h.len, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "field source appears twice");
	sl_strbuf_free(&h);
	sl_strbuf_free(&f);

	/* encoder limits */
	r.source = NULL;
	sl_strbuf_init(&f);
	CU_ASSERT_EQUAL(sl_journal_encode(&r, &f, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "record has no source");
	r = sample();
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	r.helo = big;
	CU_ASSERT_EQUAL(sl_journal_encode(&r, &f, err, sizeof err), -1);
	CU_ASSERT_EQUAL(f.len, 0);
	sl_strbuf_free(&f);
}

/* ---- a minimal archive: ACKs every record, counts them ---- */

struct fake_archive {
	int lfd, port;
	pthread_t th;
	int records;
	int refuse_every; /* refuse every n-th record (0: never) */
	bool wrong_id;    /* acknowledge with another record's id */
};

static int read_n(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *fake_main(void *arg)
{
	struct fake_archive *a = arg;
	for (;;) {
		int fd = accept(a->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		uint8_t hdr[16];
		while (read_n(fd, hdr, 16) == 0) {
			int type;
			uint32_t len, crc;
			char err[128];
			if (sl_journal_header_parse(hdr, &type, &len, &crc, err, sizeof err) < 0)
				break;
			uint8_t *pl = malloc(len);
			if (read_n(fd, pl, len) < 0) {
				free(pl);
				break;
			}
			struct sl_journal_decoded d;
			int ok = sl_journal_decode(pl, len, &d, err, sizeof err);
			free(pl);
			a->records++;
			struct sl_strbuf out;
			sl_strbuf_init(&out);
			bool refuse = ok < 0 || (a->refuse_every && a->records % a->refuse_every == 0);
			if (a->wrong_id)
				d.id[0] ^= 1; /* another record's id */
			sl_journal_encode_reply(&out, refuse ? SL_JFRAME_REFUSE : SL_JFRAME_ACK, d.id,
				SL_JACK_STORED, refuse ? "test refusal" : NULL);
			sl_journal_decoded_free(&d);
			if (write(fd, out.s, out.len) != (ssize_t)out.len) {
				sl_strbuf_free(&out);
				break;
			}
			sl_strbuf_free(&out);
		}
		close(fd);
	}
}

/* The archive's address: 127.0.0.1 and a port the kernel picks, held from here on. Not
 * listening yet, the port refuses connections: the archive is down. */
static void fake_bind(struct fake_archive *a)
{
	a->lfd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(a->lfd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CU_ASSERT_EQUAL_FATAL(bind(a->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t sl = sizeof sa;
	CU_ASSERT_EQUAL_FATAL(getsockname(a->lfd, (struct sockaddr *)&sa, &sl), 0);
	a->port = ntohs(sa.sin_port);
}

/* The archive comes up on the port it holds. */
static void fake_listen(struct fake_archive *a)
{
	CU_ASSERT_EQUAL_FATAL(listen(a->lfd, 8), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&a->th, NULL, fake_main, a), 0);
}

static void fake_stop(struct fake_archive *a)
{
	shutdown(a->lfd, SHUT_RDWR);
	close(a->lfd);
	pthread_join(a->th, NULL);
}

static size_t count_rec(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".rec"))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_sender_survives_outage(void)
{
	char dir[] = "/tmp/sluice-journal-test-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char spool[300], refused[320];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(refused, sizeof refused, "%s/refused", spool);

	/* the archive's port is held, not listening: the archive is down */
	struct fake_archive a = { .refuse_every = 10 };
	fake_bind(&a);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", a.port);

	struct sl_journal_config cfg = { .spool_dir = spool, .archive = addr, .window = 8 };
	char err[256];
	struct sl_journal *j = sl_journal_open(&cfg, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	struct sl_journal_record r = sample();
	for (int i = 0; i < 50; i++) {
		r.time_us = 1700000000000000ull + (uint64_t)i;
		CU_ASSERT_EQUAL(sl_journal_submit(j, &r), 0);
	}
	CU_ASSERT(sl_journal_drain(j, false, 10000));
	CU_ASSERT_FALSE(sl_journal_drain(j, true, 300)); /* nobody to deliver to */
	struct sl_journal_stats st;
	sl_journal_get_stats(j, &st);
	CU_ASSERT_EQUAL(st.spooled, 50);
	CU_ASSERT_EQUAL(st.acked, 0);
	CU_ASSERT(st.connect_failures > 0);
	sl_journal_close(j);
	CU_ASSERT_EQUAL(count_rec(spool), 50); /* survived the sender's restart */

	/* the archive comes back; a reopened sender delivers the spool */
	fake_listen(&a);
	j = sl_journal_open(&cfg, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(sl_journal_drain(j, true, 20000));
	sl_journal_get_stats(j, &st);
	CU_ASSERT_EQUAL(st.acked, 45);
	CU_ASSERT_EQUAL(st.refused, 5);
	sl_journal_close(j);
	fake_stop(&a);
	CU_ASSERT_EQUAL(a.records, 50);
	CU_ASSERT_EQUAL(count_rec(spool), 0);
	CU_ASSERT_EQUAL(count_rec(refused), 5); /* kept for inspection, not retried */

	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* An ACK naming another record settles nothing: the spool file stays (issue 12; the
 * old sender deleted the file on any ACK in order). */
static void test_sender_checks_ack_ids(void)
{
	char dir[] = "/tmp/sluice-journal-ackid-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	struct fake_archive a = { .wrong_id = true };
	fake_bind(&a);
	fake_listen(&a);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", a.port);
	struct sl_journal_config cfg = { .spool_dir = dir, .archive = addr, .window = 4 };
	char err[256];
	struct sl_journal *j = sl_journal_open(&cfg, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	struct sl_journal_record r = sample();
	for (int i = 0; i < 5; i++) {
		r.time_us = 1700000000000000ull + (uint64_t)i;
		CU_ASSERT_EQUAL(sl_journal_submit(j, &r), 0);
	}
	CU_ASSERT(sl_journal_drain(j, false, 10000));
	CU_ASSERT_FALSE(sl_journal_drain(j, true, 1500)); /* never acknowledged */
	struct sl_journal_stats st;
	sl_journal_get_stats(j, &st);
	CU_ASSERT_EQUAL(st.acked, 0);
	CU_ASSERT(st.mismatched > 0);
	sl_journal_close(j);
	fake_stop(&a);
	CU_ASSERT(a.records > 0);
	CU_ASSERT_EQUAL(count_rec(dir), 5);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_queue_cap(void)
{
	char dir[] = "/tmp/sluice-journal-cap-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	struct sl_journal_config cfg = { .spool_dir = dir, .max_queue_bytes = 1 };
	char err[256];
	struct sl_journal *j = sl_journal_open(&cfg, err, sizeof err);
	struct sl_journal_record r = sample();
	CU_ASSERT_EQUAL(sl_journal_submit(j, &r), -1); /* bigger than the whole queue */
	struct sl_journal_stats st;
	sl_journal_get_stats(j, &st);
	CU_ASSERT_EQUAL(st.queue_full, 1);
	sl_journal_close(j);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* the fake archive writes to senders that hung up */
	static const struct cu_test tests[] = {
		{ "encode/decode round trip and identity", test_roundtrip },
		{ "the bundle field", test_bundle_field },
		{ "bad frames refused with a reason", test_bad_frames },
		{ "sender spools through an archive outage", test_sender_survives_outage },
		{ "an ACK for another record deletes nothing", test_sender_checks_ack_ids },
		{ "queue cap refuses without blocking", test_queue_cap },
		{ NULL, NULL },
	};
	return cu_run_suite("archive_journal", NULL, NULL, tests);
}
