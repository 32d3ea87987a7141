/* sluicectl rules cost POLICY [CORPUS]: what each rule costs. The corpus is parsed once
 * (SMTP + MIME) and its events recorded; the matcher then replays them with the whole
 * policy and with each rule left out, and the difference in scan time is the rule's
 * cost. Parsing is the same for every variant, so it is left out of the figures. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rules.h"


/* ---- recorded events ------------------------------------------------------------------ */

struct pool {
	struct pool_block {
		struct pool_block *next;
		size_t used, cap;
		max_align_t data[];
	} *head;
};

static void *pool_alloc(struct pool *p, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!p->head || p->head->cap - p->head->used < n) {
		size_t cap = n > 1 << 20 ? n : 1 << 20;
		struct pool_block *b = malloc(sizeof *b + cap);
		if (!b)
			abort();
		b->next = p->head;
		b->used = 0;
		b->cap = cap;
		p->head = b;
	}
	void *r = (char *)p->head->data + p->head->used;
	p->head->used += n;
	return r;
}

static const char *pool_str(struct pool *p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	return memcpy(pool_alloc(p, n), s, n);
}

struct recorded {
	struct sl_event *ev;
	size_t n, cap;
	size_t bytes;   /* raw message size */
};

struct recorder {
	struct pool *pool;
	struct recorded *msg;
};

static void record(void *ctx, const struct sl_event *ev)
{
	struct recorder *r = ctx;
	struct recorded *m = r->msg;
	if (ev->type == SL_EV_COMMAND || ev->type == SL_EV_REPLY || ev->type == SL_EV_TXN_RESULT)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->ev = realloc(m->ev, m->cap * sizeof *m->ev);
		if (!m->ev)
			abort();
	}
	struct sl_event *e = &m->ev[m->n++];
	*e = *ev;
	if (ev->part) {
		struct sl_part *pt = pool_alloc(r->pool, sizeof *pt);
		*pt = *ev->part;
		pt->filename = pool_str(r->pool, ev->part->filename);
		pt->disposition = pool_str(r->pool, ev->part->disposition);
		e->part = pt;
	}
	if (ev->data && ev->len) {
		e->data = memcpy(pool_alloc(r->pool, ev->len), ev->data, ev->len);
		if (ev->type == SL_EV_RAW)
			m->bytes += ev->len;
	}
	e->name = pool_str(r->pool, ev->name);
	e->value = pool_str(r->pool, ev->value);
	if (ev->envelope) {
		struct sl_envelope *env = pool_alloc(r->pool, sizeof *env);
		*env = *ev->envelope;
		env->rcpt = pool_alloc(r->pool, (env->nrcpt + 1) * sizeof *env->rcpt);
		memcpy(env->rcpt, ev->envelope->rcpt, env->nrcpt * sizeof *env->rcpt);
		e->envelope = env;
	}
}

struct corpus {
	struct pool pool;
	struct recorded *msgs;
	size_t n;
	size_t bytes;
	bool builtin;
};

static void corpus_add(struct corpus *c, const uint8_t *msg, size_t len, const char *name)
{
	c->msgs = realloc(c->msgs, (c->n + 1) * sizeof *c->msgs);
	if (!c->msgs)
		abort();
	struct recorded *m = &c->msgs[c->n];
	memset(m, 0, sizeof *m);
	struct recorder r = {.pool = &c->pool, .msg = m};
	struct rules_envelope_opts env = {0};
	const char *err = NULL;
	if (!rules_feed_message(msg, len, &env, record, &r, &err)) {
		fprintf(stderr, "%s: skipped: %s\n", name, err);
		free(m->ev);
		return;
	}
	c->bytes += m->bytes;
	c->n++;
}

static int is_message(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".eml") == 0;
}

static bool corpus_load(struct corpus *c, const char *path)
{
	struct stat st;
	if (!path) {
		c->builtin = true;
		for (size_t i = 0; i < rules_builtin_corpus_size(); i++) {
			size_t len;
			uint8_t *m = rules_builtin_corpus(i, &len);
			corpus_add(c, m, len, "built-in");
			free(m);
		}
		return true;
	}
	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		size_t len;
		uint8_t *m = sl_read_file(path, &len);
		if (!m) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return false;
		}
		corpus_add(c, m, len, path);
		free(m);
		return c->n > 0;
	}
	struct dirent **list;
	int n = scandir(path, &list, is_message, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return false;
	}
	for (int i = 0; i < n; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
		struct stat fs;
		if (stat(p, &fs) == 0 && S_ISREG(fs.st_mode)) {
			size_t len;
			uint8_t *m = sl_read_file(p, &len);
			if (m)
				corpus_add(c, m, len, p);
			free(m);
		}
		free(list[i]);
	}
	free(list);
	if (c->n == 0)
		fprintf(stderr, "%s: no messages\n", path);
	return c->n > 0;
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->msgs[i].ev);
	free(c->msgs);
	while (c->pool.head) {
		struct pool_block *b = c->pool.head;
		c->pool.head = b->next;
		free(b);
	}
}

/* ---- measuring ------------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other load on the host counts less */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per pass over the corpus: the best of several passes run for `budget`
 * seconds (the best pass is the one least disturbed by other work on the machine). */
static double seconds_per_pass(struct sl_policy *p, const struct corpus *c, double budget)
{
	struct sl_scanner *sc = sl_scanner_new();
	struct sl_msgscan *m = sc ? sl_msgscan_new(sc, p, SL_DIR_UNKNOWN) : NULL;
	if (!m) {
		sl_scanner_free(sc);
		return -1;
	}
	double best = 1e30, start = now();
	int passes = 0;
	do {
		double t0 = now();
		for (size_t i = 0; i < c->n; i++) {
			const struct recorded *r = &c->msgs[i];
			sl_msgscan_reset(m, SL_DIR_UNKNOWN);
			for (size_t k = 0; k < r->n; k++)
				sl_msgscan_event(m, &r->ev[k]);
		}
		double t = now() - t0;
		if (t < best)
			best = t;
		passes++;
	} while (passes < 3 || now() - start < budget);
	sl_msgscan_free(m);
	sl_scanner_free(sc);
	return best;
}

/* ---- the ceiling: raw Hyperscan block scans of the bytes the matcher streams ------- */

struct blocks {
	struct block {
		unsigned db;
		uint8_t *p;
		size_t n, cap;
	} *v;
	size_t n, cap;
	struct block **open;        /* the instance being collected, per database */
	unsigned ndb;
	size_t bytes;
};

static void tap(void *ctx, unsigned db, const uint8_t *p, size_t n)
{
	struct blocks *b = ctx;
	if (db >= b->ndb)
		return;
	if (!p) { /* end of the scope instance */
		b->open[db] = NULL;
		return;
	}
	struct block *k = b->open[db];
	if (!k) {
		if (b->n == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 256;
			b->v = realloc(b->v, b->cap * sizeof *b->v);
			if (!b->v)
				abort();
			memset(b->open, 0, b->ndb * sizeof *b->open); /* pointers moved */
		}
		k = &b->v[b->n++];
		memset(k, 0, sizeof *k);
		k->db = db;
		b->open[db] = k;
	}
	if (k->n + n > k->cap) {
		k->cap = (k->n + n) * 2;
		k->p = realloc(k->p, k->cap);
		if (!k->p)
			abort();
	}
	memcpy(k->p + k->n, p, n);
	k->n += n;
	b->bytes += n;
}

/* Seconds per pass of raw block scans over the collected blocks (best pass). */
static double ceiling(struct sl_policy *p, const struct corpus *c, double budget, size_t *bytes)
{
	struct blocks b = {0};
	struct sl_scanner *sc = sl_scanner_new();
	struct sl_msgscan *m = sc ? sl_msgscan_new(sc, p, SL_DIR_UNKNOWN) : NULL;
	struct sl_policy_diag d;
	struct sl_blockscan *bs = m ? sl_blockscan_new(p, &d) : NULL;
	double best = -1;
	if (bs) {
		b.ndb = sl_blockscan_databases(bs);
		b.open = calloc(b.ndb, sizeof *b.open);
		if (!b.open)
			abort();
		sl_msgscan_set_tap(m, tap, &b);
		for (size_t i = 0; i < c->n; i++) {
			sl_msgscan_reset(m, SL_DIR_UNKNOWN);
			memset(b.open, 0, b.ndb * sizeof *b.open);
			for (size_t k = 0; k < c->msgs[i].n; k++)
				sl_msgscan_event(m, &c->msgs[i].ev[k]);
		}
		double start = now();
		int passes = 0;
		best = 1e30;
		do {
			double t0 = now();
			for (size_t i = 0; i < b.n; i++)
				sl_blockscan_scan(bs, b.v[i].db, b.v[i].p, b.v[i].n);
			double t = now() - t0;
			if (t < best)
				best = t;
			passes++;
		} while (passes < 3 || now() - start < budget);
	}
	*bytes = b.bytes;
	for (size_t i = 0; i < b.n; i++)
		free(b.v[i].p);
	free(b.v);
	free(b.open);
	sl_blockscan_free(bs);
	sl_msgscan_free(m);
	sl_scanner_free(sc);
	return best;
}

struct cost {
	const char *id;
	double without;   /* seconds per pass without the rule */
	double share;     /* of the whole policy's scan time */
};

static int by_share(const void *a, const void *b)
{
	const struct cost *x = a, *y = b;
	return x->share < y->share ? 1 : x->share > y->share ? -1 : 0;
}

int rules_cost(int argc, char **argv)
{
	const char *policy = NULL, *corpus_path = NULL;
	size_t top = 20, limit = 50;
	double budget = 0.3;
	bool all = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
			top = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			budget = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--max-rules") == 0 && i + 1 < argc)
			limit = strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			policy = NULL, i = argc, corpus_path = NULL;
		else if (!policy)
			policy = argv[i];
		else if (!corpus_path)
			corpus_path = argv[i];
	}
	if (!policy) {
		fprintf(stderr, "usage: sluicectl rules cost POLICY [CORPUS] [--top N] [--seconds S] "
		                "[--max-rules N | --all]\n");
		return 2;
	}
	struct sl_policy *p = rules_load(policy);
	if (!p)
		return 1;
	struct sl_policy_info pi;
	sl_policy_info(p, &pi);
	if (pi.compile_seconds == 0) {
		fprintf(stderr, "%s: a bundle; rules cost needs the rules file (it recompiles without each rule)\n",
		        policy);
		sl_policy_unref(p);
		return 1;
	}
	struct corpus c = {0};
	if (!corpus_load(&c, corpus_path)) {
		sl_policy_unref(p);
		return 1;
	}
	size_t nrules = sl_policy_rule_count(p);
	double whole = seconds_per_pass(p, &c, budget);
	double mb = (double)c.bytes / 1e6;
	if (!(whole > 0) || c.bytes == 0) {
		/* nothing was measured: no figure below would mean anything */
		fprintf(stderr, "%s: %s\n", policy, c.bytes == 0 ? "the corpus has no message bytes to scan"
		                                                  : "the matcher could not replay the corpus");
		corpus_free(&c);
		sl_policy_unref(p);
		return 1;
	}
	printf("corpus: %zu messages, %.3f MB%s\n", c.n, mb,
	       c.builtin ? " (built-in synthetic mail; give a directory of .eml files for yours)" : "");
	printf("whole policy: %zu rules, %.0f MB/s of mail (matcher only: events replayed, parsing "
	       "excluded; one core, CPU time)\n", nrules, mb / whole);
	size_t scanned = 0;
	double raw = ceiling(p, &c, budget, &scanned);
	if (raw > 0 && scanned)
		printf("ceiling: raw Hyperscan block scans of the same %.3f MB of decoded bytes, same patterns: "
		       "%.0f MB/s; the matcher scans them at %.0f MB/s (%.0f%% of the ceiling)\n",
		       (double)scanned / 1e6, (double)scanned / 1e6 / raw, (double)scanned / 1e6 / whole,
		       100.0 * raw / whole);
	size_t measure = nrules;
	if (nrules > limit && !all) {
		measure = limit;
		printf("policy has %zu rules: measuring the first %zu (each is a recompile; "
		       "--max-rules N or --all for more)\n", nrules, limit);
	}
	if (nrules == 1) /* a policy cannot be empty: the floor is the replay itself */
		measure = 0;
	struct cost *costs = calloc(measure + 1, sizeof *costs);
	if (!costs) {
		fprintf(stderr, "%s: out of memory\n", policy);
		corpus_free(&c);
		sl_policy_unref(p);
		return 1;
	}
	size_t nc = 0, unmeasured = 0;
	for (size_t i = 0; i < measure; i++) {
		struct sl_policy_diag d;
		struct sl_policy *q = sl_policy_compile_without(policy, i, &d);
		double without = q ? seconds_per_pass(q, &c, budget) : -1;
		if (!(without > 0)) {
			if (q)
				fprintf(stderr, "%s: the policy without rule %s could not replay the corpus\n",
				        policy, sl_policy_rule_id(p, i));
			else
				rules_print_diag(&d);
			sl_policy_unref(q);
			unmeasured++;
			continue;
		}
		costs[nc].id = sl_policy_rule_id(p, i);
		costs[nc].without = without;
		/* the whole policy again between variants: its best pass is the fairest base */
		double w = seconds_per_pass(p, &c, budget);
		if (w > 0 && w < whole)
			whole = w;
		nc++;
		sl_policy_unref(q);
	}
	for (size_t i = 0; i < nc; i++)
		costs[i].share = (whole - costs[i].without) / whole;
	qsort(costs, nc, sizeof *costs, by_share);
	if (nc)
		printf("whole policy, best of all its passes: %.0f MB/s of mail\n", mb / whole);
	printf("%-32s %14s %14s\n", "rule (worst first)", "without it", "share of scan");
	for (size_t i = 0; i < nc && i < top; i++)
		printf("%-32s %9.0f MB/s %13.1f%%\n", costs[i].id, mb / costs[i].without,
		       costs[i].share > 0 ? 100 * costs[i].share : 0.0);
	if (nc > top)
		printf("(%zu more; --top N shows more)\n", nc - top);
	printf("A share near 0%% is within measurement noise; figures vary with the load on this host.\n");
	if (unmeasured)
		fprintf(stderr, "%s: %zu of the %zu rules to measure could not be measured\n",
		        policy, unmeasured, measure);
	free(costs);
	corpus_free(&c);
	sl_policy_unref(p);
	return unmeasured ? 1 : 0;
}
