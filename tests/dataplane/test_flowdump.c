/* The flow dump (--dump-messages' flows/, output/flowdump.h, issue 14): the worker's
 * feed only queues (no file appears until the queue is serviced); the sink thread
 * appends every client byte in order, across chunks and flows, to the file named after
 * the client (IPv4, IPv6); server bytes are not dumped; a full pool counts
 * dump_flow_overflow and never waits; a file that cannot be written counts
 * dump_flow_failed; the sink thread drains what a producer queued while it ran. */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_run.h"
#include "output/flowdump.h"
#include "smtp/smtpflow.h"
#include "sluice/strbuf.h"

struct fixture {
	char dir[64], flows[80];
	struct dp_counters ctr;
	struct dp_flowdump *d;
	struct dp_smtpflow v4, v6;
};

static void fixture_init(struct fixture *f, uint64_t bytes)
{
	char err[256];
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/sl_flowdump_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
	snprintf(f->flows, sizeof f->flows, "%s/flows", f->dir);
	f->d = dp_flowdump_new(f->dir, bytes, &f->ctr, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->d);
	struct sockaddr_in *a = (struct sockaddr_in *)&f->v4.client_addr;
	a->sin_family = AF_INET;
	a->sin_port = htons(40001);
	inet_pton(AF_INET, "192.0.2.7", &a->sin_addr);
	struct sockaddr_in6 *b = (struct sockaddr_in6 *)&f->v6.client_addr;
	b->sin6_family = AF_INET6;
	b->sin6_port = htons(40002);
	inet_pton(AF_INET6, "2001:db8::7", &b->sin6_addr);
}

/* The files in dir (none is a folder here), each unlinked when `remove`. */
static unsigned files_in(const char *dir, bool remove)
{
	DIR *d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	unsigned n = 0;
	char path[400];
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		CU_ASSERT(!remove || unlink(path) == 0);
		n++;
	}
	closedir(d);
	return n;
}

static void fixture_free(struct fixture *f)
{
	dp_flowdump_free(f->d);
	if (access(f->flows, F_OK) == 0) {
		files_in(f->flows, true);
		CU_ASSERT_EQUAL(rmdir(f->flows), 0);
	}
	CU_ASSERT_EQUAL(rmdir(f->dir), 0);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + i / 251);
}

/* Interleaved writes of two flows, one of them beyond a chunk: nothing is written by the
 * feed; after the service each file holds exactly its flow's client bytes, in order. */
static void test_feed_queues_service_appends(void)
{
	struct fixture f;
	fixture_init(&f, 64 * DP_FLOWDUMP_CHUNK);
	static uint8_t big[3 * DP_FLOWDUMP_CHUNK + 100], want4[sizeof big + 20];
	fill_pattern(big, sizeof big, 3);
	const uint8_t ehlo[] = "EHLO a\r\n", mail[] = "MAIL FROM:<a@example.org>\r\n";
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, ehlo, sizeof ehlo - 1);
	dp_flowdump_feed(f.d, &f.v6, SL_CLIENT, mail, sizeof mail - 1);
	dp_flowdump_feed(f.d, &f.v4, SL_SERVER, (const uint8_t *)"250 ok\r\n", 8);
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, big, sizeof big);
	dp_flowdump_feed(f.d, &f.v6, SL_CLIENT, ehlo, sizeof ehlo - 1);
	CU_ASSERT_EQUAL(files_in(f.flows, false), 0); /* the worker wrote no file */
	CU_ASSERT_EQUAL(f.ctr.dump_flow_queued, 1 + 1 + 4 + 1);

	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 7);
	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 0);
	CU_ASSERT_EQUAL(files_in(f.flows, false), 2);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_overflow + f.ctr.dump_flow_failed, 0);
	char path[200];
	size_t len = 0;
	memcpy(want4, ehlo, sizeof ehlo - 1);
	memcpy(want4 + sizeof ehlo - 1, big, sizeof big);
	snprintf(path, sizeof path, "%s/192.0.2.7_40001.client", f.flows);
	uint8_t *got = (uint8_t *)sl_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, sizeof ehlo - 1 + sizeof big);
	CU_ASSERT_EQUAL(memcmp(got, want4, len), 0);
	free(got);
	snprintf(path, sizeof path, "%s/2001:db8::7_40002.client", f.flows);
	got = (uint8_t *)sl_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, sizeof mail - 1 + sizeof ehlo - 1);
	CU_ASSERT_EQUAL(memcmp(got, mail, sizeof mail - 1), 0);
	CU_ASSERT_EQUAL(memcmp(got + sizeof mail - 1, ehlo, sizeof ehlo - 1), 0);
	free(got);
	fixture_free(&f);
}

/* Two chunks in the pool and the sink thread away: the third chunk's write is counted
 * and dropped at once; once serviced, the chunks serve again. */
static void test_full_pool_counts_never_waits(void)
{
	struct fixture f;
	fixture_init(&f, 2 * DP_FLOWDUMP_CHUNK + DP_FLOWDUMP_CHUNK / 2);
	uint8_t a[10], b[DP_FLOWDUMP_CHUNK + 1];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, a, sizeof a);
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, b, sizeof b); /* its first chunk only */
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, a, sizeof a); /* none */
	CU_ASSERT_EQUAL(f.ctr.dump_flow_queued, 2);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_overflow, 2);
	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 2);
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, a, 4);
	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 1);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_overflow, 2);
	char path[200];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/192.0.2.7_40001.client", f.flows);
	uint8_t *got = (uint8_t *)sl_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, sizeof a + DP_FLOWDUMP_CHUNK + 4); /* what was queued, nothing else */
	free(got);
	fixture_free(&f);
}

/* The folder gone under the sink thread: each chunk counts as failed, none is lost
 * silently, and the pool is whole again. Pools too small or too big are refused. */
static void test_unwritable_counts_failed(void)
{
	struct fixture f;
	fixture_init(&f, 4 * DP_FLOWDUMP_CHUNK);
	CU_ASSERT_EQUAL_FATAL(rmdir(f.flows), 0);
	uint8_t a[DP_FLOWDUMP_CHUNK * 2];
	memset(a, 'a', sizeof a);
	dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, a, sizeof a);
	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 2);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_failed, 2);
	for (int i = 0; i < 3; i++) /* 4 chunks again */
		dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, a, DP_FLOWDUMP_CHUNK);
	dp_flowdump_feed(f.d, &f.v6, SL_CLIENT, a, DP_FLOWDUMP_CHUNK);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_overflow, 0);
	CU_ASSERT_EQUAL(dp_flowdump_service(f.d), 4);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_failed, 6);
	fixture_free(&f);

	char err[256];
	struct dp_counters ctr;
	CU_ASSERT_PTR_NULL(dp_flowdump_new("/tmp", DP_FLOWDUMP_CHUNK - 1, &ctr, err, sizeof err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "chunks"));
	CU_ASSERT_PTR_NULL(dp_flowdump_new("/proc/nonexistent", DP_FLOWDUMP_CHUNK, &ctr, err, sizeof err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/proc/nonexistent/flows"));
}

static size_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* A producer feeding 2 MB in segment-sized writes through a pool of 256 chunks while the
 * sink thread runs, never more than the pool ahead of the file (it waits on the file's
 * size, as a worker never would): every byte reaches the file, in order, written by the
 * sink thread; the last batch is drained by the stop. */
static void test_thread_drains_in_order(void)
{
	struct fixture f;
	fixture_init(&f, 256 * DP_FLOWDUMP_CHUNK);
	struct dp_sink_work w = dp_flowdump_work(f.d);
	struct dp_sinkthread *t = dp_sinkthread_start(&w, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	enum { SEG = 1448, SEGS = 1500, BATCH = 128 };
	static uint8_t stream[SEG * SEGS];
	fill_pattern(stream, sizeof stream, 5);
	char path[200];
	snprintf(path, sizeof path, "%s/192.0.2.7_40001.client", f.flows);
	for (int i = 0; i < SEGS; i++) {
		if (i % BATCH == 0 && i >= BATCH) { /* the batch before the last one is in the file */
			size_t want = (size_t)(i - BATCH) * SEG;
			for (int k = 0; k < 10000 && file_size(path) < want; k++)
				usleep(500);
			CU_ASSERT_FATAL(file_size(path) >= want);
		}
		dp_flowdump_feed(f.d, &f.v4, SL_CLIENT, stream + (size_t)i * SEG, SEG);
	}
	dp_sinkthread_stop(t);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_overflow, 0);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_failed, 0);
	CU_ASSERT_EQUAL(f.ctr.dump_flow_queued, SEGS);
	size_t len = 0;
	uint8_t *got = (uint8_t *)sl_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, sizeof stream);
	CU_ASSERT_EQUAL(memcmp(got, stream, len < sizeof stream ? len : sizeof stream), 0);
	free(got);
	fixture_free(&f);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"feed queues, service appends in order", test_feed_queues_service_appends},
		{"full pool: counted, never waits", test_full_pool_counts_never_waits},
		{"unwritable file: counted failed", test_unwritable_counts_failed},
		{"sink thread: in order, drained at stop", test_thread_drains_in_order},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane flow dump", NULL, NULL, tests);
}
