/* tools/bench-engine: the engine benchmark on one core (run it through
 * `tools/bench engine`, which generates the inputs). Prints, measured in the same run:
 *   memcpy of the session bytes in the same chunks     (the ceiling)
 *   MIME only: the corpus messages through sl_mime
 *   SMTP: whole sessions through sl_smtp (parse + decode), client stream in chunks
 *   with --policy: the same plus the matcher, and raw Hyperscan block mode over the
 *   very bytes the matcher scanned, with the same databases
 * Throughput is bytes over thread CPU time (per-core figures on a shared machine),
 * best of --rounds. Exits 1 when a figure is nonsensical (nothing processed, message
 * or part counts off, engine signals on clean corpus mail). */
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inputs.h"
#include "runs.h"
#include "sluice/policy.h"
#include "sluice/signals.h"

struct opts {
	const char *streams, *corpus, *policy, *verdicts, *utf8_headers;
	const char *only;      /* profile one run: memcpy, mime, smtp, full (no figures checked) */
	size_t chunk;
	double seconds;
	int rounds;
	long expect_messages, expect_parts, expect_dlp;
	bool allow_signals;
};

static int failures;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A measurement: passes until at least `seconds` of CPU time; the best of `rounds`. */
struct figure {
	uint64_t bytes;    /* per pass */
	double seconds;    /* per pass, best round */
};

static double rate_mb(const struct figure *f)
{
	return f->seconds > 0 ? f->bytes / f->seconds / 1e6 : 0;
}

#define MEASURE(fig, opts, bytes_expr)                                                    \
	do {                                                                                  \
		(fig)->seconds = 0;                                                               \
		for (int r_ = 0; r_ < (opts)->rounds; r_++) {                                     \
			int passes_ = 0;                                                              \
			double t0_ = cpu_now(), el_;                                                  \
			do {                                                                          \
				(fig)->bytes = (bytes_expr);                                              \
				passes_++;                                                                \
				el_ = cpu_now() - t0_;                                                    \
			} while (el_ < (opts)->seconds);                                              \
			double per_ = el_ / passes_;                                                  \
			if ((fig)->seconds == 0 || per_ < (fig)->seconds)                             \
				(fig)->seconds = per_;                                                    \
		}                                                                                 \
	} while (0)

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench-engine --streams FILE --corpus DIR [--policy FILE] [--chunk N]\n"
	        "                    [--seconds S] [--rounds R] [--expect-messages N]\n"
	        "                    [--expect-parts N] [--expect-dlp N] [--allow-signals]\n"
	        "                    [--verdicts JSONL] [--only memcpy|mime|smtp|full]\n"
	        "                    [--utf8-headers FILE]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.chunk = 1448, .seconds = 2.0, .rounds = 3, .expect_messages = -1,
	                   .expect_parts = -1, .expect_dlp = -1};
	static const struct option lo[] = {
		{"streams", 1, 0, 's'}, {"corpus", 1, 0, 'c'}, {"policy", 1, 0, 'p'},
		{"chunk", 1, 0, 'k'}, {"seconds", 1, 0, 't'}, {"rounds", 1, 0, 'r'},
		{"expect-messages", 1, 0, 'm'}, {"expect-parts", 1, 0, 'P'},
		{"expect-dlp", 1, 0, 'd'}, {"allow-signals", 0, 0, 'a'}, {"verdicts", 1, 0, 'v'},
		{"only", 1, 0, 'o'}, {"utf8-headers", 1, 0, 'u'}, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->streams = optarg; break;
		case 'c': o->corpus = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'k': o->chunk = strtoul(optarg, NULL, 10); break;
		case 't': o->seconds = strtod(optarg, NULL); break;
		case 'r': o->rounds = atoi(optarg); break;
		case 'm': o->expect_messages = atol(optarg); break;
		case 'P': o->expect_parts = atol(optarg); break;
		case 'd': o->expect_dlp = atol(optarg); break;
		case 'a': o->allow_signals = true; break;
		case 'v': o->verdicts = optarg; break;
		case 'o': o->only = optarg; break;
		case 'u': o->utf8_headers = optarg; break;
		default: usage();
		}
	}
	if (!o->streams || !o->corpus || o->chunk == 0 || o->rounds < 1 || optind != argc)
		usage();
}

static void check_counts(const char *run, const struct tally *t, const struct opts *o,
                         bool smtp)
{
	if (o->expect_messages >= 0 && t->messages != (uint64_t)o->expect_messages)
		fail("%s: %llu messages ended, expected %ld", run, (unsigned long long)t->messages,
		     o->expect_messages);
	if (smtp && t->txn_results != t->messages)
		fail("%s: %llu server replies to end of data for %llu messages", run,
		     (unsigned long long)t->txn_results, (unsigned long long)t->messages);
	if (o->expect_parts >= 0 && t->leaf_parts != (uint64_t)o->expect_parts)
		fail("%s: %llu leaf parts, the corpus index has %ld", run,
		     (unsigned long long)t->leaf_parts, o->expect_parts);
	if (t->decoded_bytes == 0)
		fail("%s: no decoded bytes", run);
	if (t->utf8_headers)
		printf("%s: %llu mime.8bit_header signals on the SMTPUTF8 (RFC 6532) messages, "
		       "as expected\n", run, (unsigned long long)t->utf8_headers);
	if (t->signals && !o->allow_signals)
		fail("%s: the engine raised %llu signals on clean corpus mail (first: %s)", run,
		     (unsigned long long)t->signals, t->first_signal);
}

static void pin_to_current_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) == 0)
		printf("pinned to cpu %d\n", cpu);
}

/* How many Hyperscan calls the matcher's streams took for one pass over the corpus. */
static void print_stream_scans(const struct sl_msgscan *ms)
{
	struct sl_msgscan_counts c;
	for (unsigned d = 0; sl_msgscan_counts(ms, d, &c); d++)
		if (c.instances)
			printf("stream %-16s %8llu instances %9llu scans %8.1f MB  %6.2f scans and "
			       "%7.0f bytes per instance, %7.0f bytes per scan\n", c.db,
			       (unsigned long long)c.instances, (unsigned long long)c.scans, c.bytes / 1e6,
			       (double)c.scans / c.instances, (double)c.bytes / c.instances,
			       c.scans ? (double)c.bytes / c.scans : 0.0);
}

static int policy_figures(const struct opts *o, const struct bench_streams *s,
                          const struct figure *smtp, const struct figure *mcp)
{
	struct sl_policy_diag diag;
	struct sl_policy *p = sl_policy_load(o->policy, &diag);
	if (!p) {
		printf("FAIL: policy %s: %s:%u:%u: %s\n", o->policy, diag.file, diag.line, diag.col,
		       diag.msg);
		return -1;
	}
	struct sl_policy_info info;
	sl_policy_info(p, &info);
	struct sl_blockscan *bs = sl_blockscan_new(p, &diag);
	struct sl_scanner *sc = sl_scanner_new();
	struct sl_msgscan *ms = sc ? sl_msgscan_new(sc, p, SL_DIR_UNKNOWN) : NULL;
	if (!bs || !ms) {
		printf("FAIL: policy set-up: %s\n", bs ? "out of memory" : diag.msg);
		return -1;
	}
	printf("policy: %s: %zu rules, %zu patterns, %zu databases, %.1f MB of databases, "
	       "compiled in %.2f s; stream state %zu bytes per message\n", o->policy, info.rules,
	       info.patterns, info.databases, info.database_bytes / 1e6, info.compile_seconds,
	       info.stream_state_bytes);

	/* untimed: what the matcher scans, per database and part */
	struct scan_blocks blocks = {.ndb = sl_blockscan_databases(bs)};
	if (blocks.ndb > BENCH_MAX_DB) {
		printf("FAIL: the policy has %u streamed databases, the benchmark holds %d\n",
		       blocks.ndb, BENCH_MAX_DB);
		return -1;
	}
	struct tally tc = {0};
	struct policy_run collect = {.policy = p, .scanner = sc, .msgscan = ms, .collect = &blocks};
	if (o->verdicts && !(collect.verdicts = fopen(o->verdicts, "w"))) {
		printf("FAIL: %s: cannot write\n", o->verdicts);
		return -1;
	}
	run_smtp(s, o->chunk, &tc, &collect);
	if (collect.verdicts)
		fclose(collect.verdicts);
	print_stream_scans(ms);

	struct policy_run pr = {.policy = p, .scanner = sc, .msgscan = ms};
	struct tally tp;
	struct figure full;
	MEASURE(&full, o, (tp = (struct tally){0}, run_smtp(s, o->chunk, &tp, &pr)));
	/* the same with the extraction stage off: what opening archives and documents costs,
	 * and what it catches */
	struct sl_limits no_extract;
	sl_limits_default(&no_extract);
	no_extract.extract_depth = 0;
	no_extract.skip_part_sha256 = true; /* otherwise as sluice-dp runs it */
	struct policy_run pr_off = {.policy = p, .scanner = sc, .msgscan = ms, .lim = &no_extract};
	struct tally toff;
	struct figure off;
	MEASURE(&off, o, (toff = (struct tally){0}, run_smtp(s, o->chunk, &toff, &pr_off)));
	struct figure scan;
	uint64_t matches = 0;
	int64_t scanned = 0;
	MEASURE(&scan, o, (matches = 0, scanned = run_blockscan(bs, &blocks, &matches),
	                   scanned < 0 ? 0 : (uint64_t)scanned));
	check_counts("full engine", &tp, o, true);
	if (scanned <= 0)
		fail("raw scan of %llu collected bytes failed or scanned nothing",
		     (unsigned long long)blocks.bytes);
	uint64_t nverdicts = 0;
	for (int a = 0; a < 5; a++)
		nverdicts += tp.verdicts[a];
	if (nverdicts != tp.messages)
		fail("full engine: %llu verdicts for %llu messages", (unsigned long long)nverdicts,
		     (unsigned long long)tp.messages);
	if (o->expect_dlp > 0 && tp.dlp_messages == 0)
		fail("full engine: no card or ID rule fired; the corpus has %ld outbound messages "
		     "with card numbers or Taiwan IDs", o->expect_dlp);
	else if (o->expect_dlp >= 0 && tp.dlp_messages != (uint64_t)o->expect_dlp)
		printf("WARNING: card/ID rules fired in %llu messages, the corpus index has %ld\n",
		       (unsigned long long)tp.dlp_messages, o->expect_dlp);

	printf("%-34s %9.1f MB/s  %5.1f%% of memcpy, %5.1f%% of SMTP+MIME\n",
	       "full engine (SMTP+MIME+policy)", rate_mb(&full), 100 * rate_mb(&full) / rate_mb(mcp),
	       100 * smtp->seconds / full.seconds);
	printf("%-34s %9.1f MB/s  of the %.1f MB the matcher streams per pass (%.2f x the "
	       "session bytes), %llu matches\n", "raw Hyperscan block mode (ceiling)",
	       rate_mb(&scan), scan.bytes / 1e6, (double)scan.bytes / full.bytes,
	       (unsigned long long)matches);
	printf("%-34s %9.1f %%    raw-scan time / full-engine time for the same corpus "
	       "(%.3f s / %.3f s per pass; goal >= 50%%)\n", "full engine vs raw scan",
	       100 * scan.seconds / full.seconds, scan.seconds, full.seconds);
	printf("%-34s %9.1f MB/s  extraction on costs %.1f%% more time; it found %llu members "
	       "(%.1f MB of files and document text) in attachments\n", "full engine, extraction off",
	       rate_mb(&off), 100 * (full.seconds - off.seconds) / off.seconds,
	       (unsigned long long)tp.members, tp.member_bytes / 1e6);
	printf("catch rate: card/ID rules fired in %llu of %ld outbound messages with cards/IDs with "
	       "extraction, %llu without\n", (unsigned long long)tp.dlp_messages, o->expect_dlp,
	       (unsigned long long)toff.dlp_messages);
	printf("verdicts: pass %llu, alert %llu, quarantine %llu, tempfail %llu, reject %llu; "
	       "card/ID rules fired in %llu messages (corpus index: %ld outbound with cards/IDs)\n",
	       (unsigned long long)tp.verdicts[SL_ACT_PASS], (unsigned long long)tp.verdicts[SL_ACT_ALERT],
	       (unsigned long long)tp.verdicts[SL_ACT_QUARANTINE],
	       (unsigned long long)tp.verdicts[SL_ACT_TEMPFAIL],
	       (unsigned long long)tp.verdicts[SL_ACT_REJECT], (unsigned long long)tp.dlp_messages,
	       o->expect_dlp);
	scan_blocks_free(&blocks);
	sl_msgscan_free(ms);
	sl_scanner_free(sc);
	sl_blockscan_free(bs);
	sl_policy_unref(p);
	return 0;
}

/* FILE: message numbers (corpus order), one per line. */
static int load_message_list(const char *path, bool *set, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench-engine: %s: cannot read\n", path);
		return -1;
	}
	unsigned long k;
	while (fscanf(f, "%lu", &k) == 1)
		if (k < n)
			set[k] = true;
	fclose(f);
	return 0;
}

/* --only RUN: that run alone for `perf record` (the whole time spent in it). */
static int profile_one(const struct opts *o, const struct bench_streams *s,
                       const struct bench_messages *m)
{
	struct tally t = {0};
	struct figure f;
	struct policy_run pr = {0};
	if (strcmp(o->only, "full") == 0) {
		struct sl_policy_diag diag;
		if (!o->policy || !(pr.policy = sl_policy_load(o->policy, &diag)))
			return fprintf(stderr, "bench-engine: --only full needs a valid --policy\n"), 2;
		pr.scanner = sl_scanner_new();
		pr.msgscan = sl_msgscan_new(pr.scanner, pr.policy, SL_DIR_UNKNOWN);
		MEASURE(&f, o, run_smtp(s, o->chunk, &t, &pr));
	} else if (strcmp(o->only, "smtp") == 0) {
		MEASURE(&f, o, run_smtp(s, o->chunk, &t, NULL));
	} else if (strcmp(o->only, "mime") == 0) {
		MEASURE(&f, o, run_mime(m, o->chunk, &t));
	} else if (strcmp(o->only, "memcpy") == 0) {
		MEASURE(&f, o, run_memcpy(s, o->chunk));
	} else {
		usage();
	}
	printf("%s: %.1f MB/s\n", o->only, rate_mb(&f));
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char err[512];
	struct bench_streams s;
	struct bench_messages m;
	if (bench_load_streams(o.streams, &s, err, sizeof err) ||
	    bench_load_messages(o.corpus, &m, err, sizeof err)) {
		fprintf(stderr, "bench-engine: %s\n", err);
		return 2;
	}
	bool *utf8_ok = calloc(m.n ? m.n : 1, sizeof *utf8_ok);
	if (o.utf8_headers && load_message_list(o.utf8_headers, utf8_ok, m.n))
		return 2;
	bench_expect_utf8_headers(utf8_ok, m.n);
	pin_to_current_cpu();
	printf("inputs: %zu sessions, %.1f MB on the wire (client %.1f MB in %zu-byte chunks, "
	       "server %.1f MB); corpus %zu messages, %.1f MB\n", s.nsessions,
	       (s.client_bytes + s.server_bytes) / 1e6, s.client_bytes / 1e6, o.chunk,
	       s.server_bytes / 1e6, m.n, m.bytes / 1e6);
	printf("timing: thread CPU time, best of %d rounds of >= %.1f s\n", o.rounds, o.seconds);

	if (o.only)
		return profile_one(&o, &s, &m);

	struct figure mcp, mime, smtp;
	struct tally tm, ts;
	MEASURE(&mcp, &o, run_memcpy(&s, o.chunk));
	MEASURE(&mime, &o, (tm = (struct tally){0}, run_mime(&m, o.chunk, &tm)));
	MEASURE(&smtp, &o, (ts = (struct tally){0}, run_smtp(&s, o.chunk, &ts, NULL)));
	if (mcp.bytes == 0 || mime.bytes == 0 || smtp.bytes == 0)
		fail("a run processed no bytes (memcpy %llu, MIME %llu, SMTP %llu)",
		     (unsigned long long)mcp.bytes, (unsigned long long)mime.bytes,
		     (unsigned long long)smtp.bytes);
	long want_msgs = o.expect_messages;
	o.expect_messages = (long)m.n;     /* MIME run: every corpus file */
	check_counts("MIME only", &tm, &o, false);
	o.expect_messages = want_msgs;
	check_counts("SMTP+MIME", &ts, &o, true);

	printf("%-34s %9.1f MB/s\n", "memcpy (same bytes, same chunks)", rate_mb(&mcp));
	printf("%-34s %9.1f MB/s  %5.1f%% of memcpy  (%llu messages, %llu parts, %.1f MB decoded)\n",
	       "MIME only (sl_mime)", rate_mb(&mime), 100 * rate_mb(&mime) / rate_mb(&mcp),
	       (unsigned long long)tm.messages, (unsigned long long)tm.leaf_parts,
	       tm.decoded_bytes / 1e6);
	printf("%-34s %9.1f MB/s  %5.1f%% of memcpy  (%llu messages, %llu parts; goal >= 1000 MB/s)\n",
	       "SMTP+MIME (sl_smtp, parse+decode)", rate_mb(&smtp), 100 * rate_mb(&smtp) / rate_mb(&mcp),
	       (unsigned long long)ts.messages, (unsigned long long)ts.leaf_parts);
	printf("%-34s %9.1f KB new, %.1f KB at most after a session (sl_smtp_memory, MIME "
	       "parser included)\n", "memory per session", ts.session_new / 1e3, ts.session_max / 1e3);

	if (o.policy && policy_figures(&o, &s, &smtp, &mcp))
		failures++;
	bench_streams_free(&s);
	bench_messages_free(&m);
	free(utf8_ok);
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	return 0;
}
