/* search, show, export: reading the archive (every use lands in the audit log). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "search.h"
#include "sluice/limits.h"
#include "sluice/mime.h"

static void iso_date(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct print_ctx {
	struct ar_store *s;
	bool json;
	struct sl_strbuf ids; /* for the audit log */
	struct sl_strbuf out; /* shown only once the audit entry is written */
};

static bool print_hit(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct print_ctx *pc = ctx;
	struct ar_summary sum;
	uint32_t id = ar_dockey_docid(dockey);
	if (pc->ids.len < 4000)
		sl_strbuf_printf(&pc->ids, "%s%u", pc->ids.len ? "," : "", id);
	if (ar_summary_load(pc->s, id, &sum) < 0) {
		sl_strbuf_printf(&pc->out, pc->json ? "{\"id\":%u,\"error\":\"summary missing\"}\n" :
			"%u\t(summary missing)\n", id);
		return true;
	}
	char date[32];
	iso_date(sum.date, date);
	if (pc->json) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_strbuf_printf(&b, "{\"id\":%u,\"date\":\"%s\",\"date_unix\":%lld,\"from\":", id,
			date, (long long)sum.date);
		sl_json_str(&b, sum.from);
		sl_strbuf_puts(&b, ",\"to\":");
		sl_json_str(&b, sum.to);
		sl_strbuf_puts(&b, ",\"subject\":");
		sl_json_str(&b, sum.subject);
		sl_strbuf_puts(&b, ",\"message_id\":");
		sl_json_str(&b, sum.message_id);
		sl_strbuf_printf(&b, ",\"size\":%llu,\"copies\":%u,\"has_attachment\":%s,\"sha256\":\"",
			(unsigned long long)sum.size, sum.ncopies,
			sum.flags & AR_SUMMARY_FLAG_ATTACHMENT ? "true" : "false");
		sl_strbuf_hex(&b, sum.blob, 32);
		sl_strbuf_puts(&b, "\"}\n");
		sl_strbuf_put(&pc->out, b.s, b.len);
		sl_strbuf_free(&b);
	} else {
		sl_strbuf_printf(&pc->out, "%u\t%s\t%s\t%s\t%s\t%s\t%llu\n", id, date, sum.from, sum.to, sum.subject,
			sum.message_id, (unsigned long long)sum.size);
	}
	ar_summary_free(&sum);
	return true;
}

int cmd_search(int argc, char **argv)
{
	const char *data = NULL, *query = NULL;
	bool json = false;
	size_t limit = 50;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit = strtoul(argv[++i], NULL, 10);
		else if (!query)
			query = argv[i];
		else {
			fprintf(stderr, "sluice-archive search: one query (quote it), got also: %s\n", argv[i]);
			return 2;
		}
	}
	if (!data || !query) {
		fprintf(stderr, "usage: sluice-archive search --data DIR QUERY [--json] [--limit N]\n");
		return 2;
	}
	char err[512];
	struct ar_qnode *q = ar_query_parse(query, err, sizeof err);
	if (!q) {
		fprintf(stderr, "sluice-archive search: bad query: %s\n", err);
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s || cli_check_index(s) < 0) {
		ar_store_close(s);
		ar_query_free(q);
		return 1;
	}
	cli_note_index_lag(s);
	struct print_ctx pc = { .s = s, .json = json };
	sl_strbuf_init(&pc.ids);
	sl_strbuf_init(&pc.out);
	size_t hits = ar_search(s, q, limit, print_hit, &pc);
	struct sl_strbuf detail;
	sl_strbuf_init(&detail);
	sl_strbuf_puts(&detail, "\"query\":");
	sl_json_str(&detail, query);
	sl_strbuf_printf(&detail, ",\"results\":%zu,\"ids\":[%s]", hits, pc.ids.s ? pc.ids.s : "");
	/* the entry first: a reader that stops reading (| head, Ctrl-C) is audited all the same */
	int rc = cli_audit(s, "search", detail.s) < 0 || sl_strbuf_failed(&pc.out) ? 1 : 0;
	if (!rc && pc.out.len && fwrite(pc.out.s, 1, pc.out.len, stdout) != pc.out.len)
		rc = 1;
	sl_strbuf_free(&detail);
	sl_strbuf_free(&pc.ids);
	sl_strbuf_free(&pc.out);
	ar_query_free(q);
	ar_store_close(s);
	return rc;
}

/* ---- show ---- */

/* A copy: what the archive saw, then what the sender claimed. */
static void show_copy(void *ctx, const struct ar_copy *c)
{
	(void)ctx;
	const struct sl_journal_record *r = &c->d.rec;
	static const char *const kinds[] = { "unknown", "gateway", "mailhost", "import" };
	static const char *const dirs[] = { "unknown", "inbound", "outbound", "internal" };
	char date[32], received[32];
	iso_date((int64_t)(c->origin.received_us / 1000000), received);
	iso_date((int64_t)(r->time_us / 1000000), date);
	printf("copy %llu: received %s over %s from %s%s%s\n", (unsigned long long)c->seq, received,
		ar_via_name(c->origin.via), c->origin.peer, *c->origin.addr ? " at " : "",
		c->origin.addr);
	printf("  claims:    %s %s %s, %s\n", date,
		kinds[r->source_kind <= 3 ? r->source_kind : 0], r->source,
		dirs[r->direction >= 0 && r->direction <= 3 ? r->direction : 0]);
	if (r->mail_from)
		printf("  mail from: <%s>\n", r->mail_from);
	for (size_t i = 0; i < r->nrcpt; i++)
		printf("  rcpt to:   <%s>\n", r->rcpt[i]);
	if (r->client)
		printf("  client:    %s%s%s\n", r->client, r->helo ? " helo " : "", r->helo ? r->helo : "");
	if (r->server)
		printf("  server:    %s\n", r->server);
	if (r->verdict)
		printf("  verdict:   %s\n", r->verdict);
	for (size_t i = 0; i < r->nrules; i++)
		printf("  rule:      %s\n", r->rules[i]);
	if (r->txn_id)
		printf("  txn:       %s\n", r->txn_id);
	if (r->bundle)
		printf("  bundle:    %s\n", r->bundle);
}

static void show_event(void *ctx, const struct sl_event *ev)
{
	(void)ctx;
	if (ev->type == SL_EV_HEADER && ev->part && ev->part->depth == 0)
		printf("  %s: %s\n", ev->name, ev->value ? ev->value : "");
	if (ev->type == SL_EV_PART_END && ev->part) {
		const struct sl_part *p = ev->part;
		printf("  part %-6s %-28s %-16s %8llu bytes", *p->path ? p->path : "-",
			p->content_type, sl_encoding_name(p->encoding),
			(unsigned long long)p->decoded_bytes);
		if (p->filename)
			printf("  \"%s\"", p->filename);
		if (p->kind == SL_PART_LEAF) {
			printf("  sha256 ");
			for (int i = 0; i < 8; i++)
				printf("%02x", p->sha256[i]);
		}
		printf("\n");
	}
}

static struct ar_store *open_doc(int argc, char **argv, const char *usage, const char **data,
	int *first_id)
{
	*data = NULL;
	*first_id = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc) {
			*data = argv[++i];
		} else if (argv[i][0] != '-' && *first_id < 0) {
			*first_id = i;
		}
	}
	if (!*data || *first_id < 0) {
		fprintf(stderr, "usage: %s\n", usage);
		return NULL;
	}
	return cli_open(*data, false, false);
}

int cmd_show(int argc, char **argv)
{
	const char *data;
	int idx;
	struct ar_store *s = open_doc(argc, argv, "sluice-archive show --data DIR ID", &data, &idx);
	if (!s)
		return idx < 0 || !data ? 2 : 1;
	uint32_t id;
	struct ar_summary sum;
	if (!cli_parse_docid(argv[idx], &id) || ar_summary_load(s, id, &sum) < 0) {
		fprintf(stderr, "sluice-archive show: no message %s\n", argv[idx]);
		ar_store_close(s);
		return 1;
	}
	char date[32], detail[64];
	snprintf(detail, sizeof detail, "\"ids\":[%u]", id);
	if (cli_audit(s, "show", detail) < 0) {
		ar_summary_free(&sum);
		ar_store_close(s);
		return 1;
	}
	iso_date(sum.date, date);
	printf("id %u  date %s  size %llu  copies %u\nsha256 ", id, date,
		(unsigned long long)sum.size, sum.ncopies);
	for (int i = 0; i < 32; i++)
		printf("%02x", sum.blob[i]);
	printf("\n");
	ar_doc_copies(s, sum.blob, show_copy, NULL);
	struct sl_strbuf raw;
	sl_strbuf_init(&raw);
	char err[256];
	int rc = 0;
	if (ar_message_load(s, sum.blob, &raw, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive show: %u: %s\n", id, err);
		rc = 1;
	} else {
		printf("headers and parts:\n");
		struct sl_limits lim;
		sl_limits_default(&lim);
		struct sl_mime *m = sl_mime_new(&lim, show_event, NULL);
		sl_mime_reset(m, 0);
		sl_mime_feed(m, (const uint8_t *)raw.s, raw.len);
		sl_mime_finish(m);
		sl_mime_free(m);
	}
	sl_strbuf_free(&raw);
	ar_summary_free(&sum);
	ar_store_close(s);
	return rc;
}

/* ---- export ---- */

/* NAME in the directory dfd, never through a symbolic link. */
static int write_file(int dfd, const char *name, const char *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

/* mboxrd: a From_ line, then the message with lines matching ^>*From quoted. */
static void mbox_append(FILE *f, const struct sl_strbuf *raw, int64_t date)
{
	time_t t = (time_t)date;
	struct tm tm;
	gmtime_r(&t, &tm);
	char when[64];
	strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(f, "From MAILER-DAEMON %s\n", when);
	size_t i = 0;
	while (i < raw->len) {
		const char *line = raw->s + i;
		const char *nl = memchr(line, '\n', raw->len - i);
		size_t l = nl ? (size_t)(nl - line) + 1 : raw->len - i;
		size_t k = 0;
		while (k < l && line[k] == '>')
			k++;
		if (l - k >= 5 && memcmp(line + k, "From ", 5) == 0)
			fputc('>', f);
		fwrite(line, 1, l, f);
		i += l;
	}
	if (raw->len && raw->s[raw->len - 1] != '\n')
		fputc('\n', f);
	fputc('\n', f);
}

/* The ids of a query's hits, newest first. */
struct id_list {
	uint32_t *ids;
	size_t n, cap;
	bool failed;
};

static bool collect_id(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct id_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		uint32_t *ids = realloc(l->ids, cap * sizeof *ids);
		if (!ids) {
			l->failed = true;
			return false;
		}
		l->ids = ids;
		l->cap = cap;
	}
	l->ids[l->n++] = ar_dockey_docid(dockey);
	return true;
}

static const char export_usage[] = "usage: sluice-archive export --data DIR "
	"(ID... | --query QUERY [--limit N]) --eml DIR | --mbox FILE\n";

/* --query: the hits become the ids to export; 0, or the exit code after printing why. */
static int query_ids(struct ar_store *s, const char *query, size_t limit, struct id_list *l)
{
	char err[512];
	struct ar_qnode *q = ar_query_parse(query, err, sizeof err);
	if (!q) {
		fprintf(stderr, "sluice-archive export: bad query: %s\n", err);
		return 2;
	}
	if (cli_check_index(s) < 0) {
		ar_query_free(q);
		return 1;
	}
	ar_search(s, q, limit, collect_id, l);
	ar_query_free(q);
	if (l->failed) {
		fprintf(stderr, "sluice-archive export: out of memory\n");
		return 1;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	const char *data = NULL, *eml = NULL, *mbox = NULL, *query = NULL;
	size_t limit = 0;
	struct id_list l = { .ids = calloc((size_t)argc, sizeof *l.ids), .cap = (size_t)argc };
	if (!l.ids) {
		fprintf(stderr, "sluice-archive export: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--eml") && i + 1 < argc)
			eml = argv[++i];
		else if (!strcmp(argv[i], "--mbox") && i + 1 < argc)
			mbox = argv[++i];
		else if (!strcmp(argv[i], "--query") && i + 1 < argc && !query)
			query = argv[++i];
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			errno = 0;
			limit = strtoul(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || argv[i][0] == '-') {
				fprintf(stderr, "sluice-archive export: --limit: not a count: %s\n", argv[i]);
				free(l.ids);
				return 2;
			}
		} else if (cli_parse_docid(argv[i], &l.ids[l.n]))
			l.n++;
		else {
			fprintf(stderr, "sluice-archive export: not a message id: %s\n", argv[i]);
			free(l.ids);
			return 2;
		}
	}
	/* ids or a query, not both: an export says exactly what it took */
	if (!data || !l.n == !query || (!eml == !mbox)) {
		fputs(export_usage, stderr);
		free(l.ids);
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s) {
		free(l.ids);
		return 1;
	}
	int qrc = query ? query_ids(s, query, limit, &l) : 0;
	if (qrc) {
		ar_store_close(s);
		free(l.ids);
		return qrc;
	}
	uint32_t *ids = l.ids;
	size_t nids = l.n;
	/* the export is audited before anything leaves the store */
	struct sl_strbuf detail;
	sl_strbuf_init(&detail);
	if (query) {
		sl_strbuf_puts(&detail, "\"query\":");
		sl_json_str(&detail, query);
		sl_strbuf_puts(&detail, ",");
	}
	sl_strbuf_puts(&detail, "\"ids\":[");
	for (size_t i = 0; i < nids; i++)
		sl_strbuf_printf(&detail, "%s%u", i ? "," : "", ids[i]);
	sl_strbuf_puts(&detail, "],\"to\":");
	sl_json_str(&detail, eml ? eml : mbox);
	int audited = -1;
	if (sl_strbuf_failed(&detail))
		fprintf(stderr, "sluice-archive export: out of memory\n");
	else
		audited = cli_audit(s, "export", detail.s);
	sl_strbuf_free(&detail);
	/* never through a symbolic link: the target directory or mbox, or a file in it */
	FILE *mf = NULL;
	int dfd = -1;
	if (audited == 0 && mbox) {
		int fd = open(mbox, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || !(mf = fdopen(fd, "a"))) {
			fprintf(stderr, "sluice-archive export: %s: %s\n", mbox, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	} else if (audited == 0) {
		if (mkdir(eml, 0700) < 0 && errno != EEXIST)
			fprintf(stderr, "sluice-archive export: %s: %s\n", eml, strerror(errno));
		else if ((dfd = open(eml, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			fprintf(stderr, "sluice-archive export: %s: %s\n", eml,
				errno == ELOOP || errno == ENOTDIR ? "not a directory (symbolic "
				"links are not followed)" : strerror(errno));
	}
	if (!mf && dfd < 0) {
		ar_store_close(s);
		free(ids);
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; i < nids; i++) {
		struct ar_summary sum;
		char err[256];
		struct sl_strbuf raw;
		sl_strbuf_init(&raw);
		if (ar_summary_load(s, ids[i], &sum) < 0) {
			fprintf(stderr, "sluice-archive export: no message %u\n", ids[i]);
			rc = 1;
			continue;
		}
		if (ar_message_load(s, sum.blob, &raw, err, sizeof err) < 0) {
			fprintf(stderr, "sluice-archive export: %u: %s\n", ids[i], err);
			rc = 1;
		} else if (dfd >= 0) {
			char name[32];
			snprintf(name, sizeof name, "%u.eml", ids[i]);
			if (write_file(dfd, name, raw.s ? raw.s : "", raw.len) < 0) {
				fprintf(stderr, "sluice-archive export: %s/%s: %s\n", eml, name,
					errno == ELOOP ? "a symbolic link, not followed" : strerror(errno));
				rc = 1;
			}
		} else {
			mbox_append(mf, &raw, sum.date);
		}
		sl_strbuf_free(&raw);
		ar_summary_free(&sum);
	}
	if (dfd >= 0)
		close(dfd);
	if (mf && fclose(mf) != 0) {
		fprintf(stderr, "sluice-archive export: %s: %s\n", mbox, strerror(errno));
		rc = 1;
	}
	if (query) /* how many matched: an empty training set must not go unnoticed */
		printf("%zu messages matched\n", nids);
	ar_store_close(s);
	free(ids);
	return rc;
}

/* ---- search-latency: the benchmark's in-process measurement ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct latency_ctx {
	struct ar_store *s;
	size_t fetched;
};

/* What a search result costs: the hit and its summary. */
static bool fetch_hit(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct latency_ctx *lc = ctx;
	struct ar_summary sum;
	if (ar_summary_load(lc->s, ar_dockey_docid(dockey), &sum) == 0) {
		lc->fetched++;
		ar_summary_free(&sum);
	}
	return true;
}

int cmd_search_latency(int argc, char **argv)
{
	const char *data = NULL, *queries = NULL;
	int repeat = 5, warmup = 0;
	size_t limit = 50;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
			queries = argv[++i];
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit = strtoul(argv[++i], NULL, 10);
	}
	FILE *f = queries ? fopen(queries, "r") : NULL;
	if (!data || !f || repeat < 1) {
		fprintf(stderr, "usage: sluice-archive search-latency --data DIR --queries FILE "
				"[--repeat N] [--warmup N] [--limit N]\n");
		if (f)
			fclose(f);
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s || cli_check_index(s) < 0) {
		ar_store_close(s);
		fclose(f);
		return 1;
	}
	char line[4096];
	struct ar_qnode *qs[1024];
	size_t nq = 0;
	while (nq < 1024 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		char err[512];
		if (!(qs[nq] = ar_query_parse(line, err, sizeof err))) {
			fprintf(stderr, "search-latency: %s: %s\n", line, err);
			continue;
		}
		nq++;
	}
	fclose(f);
	size_t n = nq * (size_t)repeat;
	double *ms = calloc(n ? n : 1, sizeof *ms);
	/* the thread's CPU time too: on a loaded machine the wall time of a slow run is
	 * mostly waiting for a core */
	double *cpu = calloc(n ? n : 1, sizeof *cpu);
	struct latency_ctx lc = { .s = s };
	size_t k = 0, hits = 0;
	/* untimed passes first: this process's first run of a query opens table files
	 * and fills the block cache, which the cold pass of the bench measures apart */
	for (int r = 0; r < warmup; r++)
		for (size_t i = 0; i < nq; i++)
			ar_search(s, qs[i], limit, fetch_hit, &lc);
	for (int r = 0; r < repeat; r++) {
		for (size_t i = 0; i < nq; i++) {
			struct timespec a, b, ca, cb;
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
			clock_gettime(CLOCK_MONOTONIC, &a);
			hits += ar_search(s, qs[i], limit, fetch_hit, &lc);
			clock_gettime(CLOCK_MONOTONIC, &b);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
			cpu[k] = (double)(cb.tv_sec - ca.tv_sec) * 1e3 + (double)(cb.tv_nsec - ca.tv_nsec) / 1e6;
			ms[k++] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		}
	}
	qsort(ms, n, sizeof *ms, cmp_double);
	qsort(cpu, n, sizeof *cpu, cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ms[i];
	printf("{\"queries\":%zu,\"runs\":%zu,\"limit\":%zu,\"hits\":%zu,\"p50_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"p50_cpu_ms\":%.3f,"
	       "\"p99_cpu_ms\":%.3f}\n", nq, n, limit, hits,
		n ? ms[n / 2] : 0.0, n ? ms[(size_t)((double)(n - 1) * 0.99)] : 0.0,
		n ? ms[n - 1] : 0.0, n ? sum / (double)n : 0.0, n ? cpu[n / 2] : 0.0,
		n ? cpu[(size_t)((double)(n - 1) * 0.99)] : 0.0);
	for (size_t i = 0; i < nq; i++)
		ar_query_free(qs[i]);
	free(ms);
	free(cpu);
	ar_store_close(s);
	return 0;
}
