/* import: Maildir folders, mbox files and .eml files into the archive, through the same
 * ingest path as journaled records (source kind "import"). Two worker threads parse
 * and index; the committer groups their records into synced batches. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define CHUNK 64

struct msg {
	uint8_t *data;
	size_t len;
	char *origin;      /* path, or path#n for mbox messages */
	uint64_t time_us;  /* the file's mtime: a re-import is the same record */
};

struct importer {
	struct ar_store *s;
	struct ar_origin origin;   /* the local user who imports; the time is per record */
	struct ar_committer *cm;
	const char *source;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *q;
	size_t qn, qcap, qhead;
	bool done;
	uint64_t stored, duplicates, refused, failed;
	bool verbose;
};

static void push(struct importer *im, uint8_t *data, size_t len, const char *origin,
	uint64_t time_us)
{
	pthread_mutex_lock(&im->mu);
	while (im->qn - im->qhead >= 4 * CHUNK)
		pthread_cond_wait(&im->cv, &im->mu);
	if (im->qhead && im->qhead == im->qn)
		im->qhead = im->qn = 0;
	if (im->qn == im->qcap) {
		/* compact, then grow */
		if (im->q)
			memmove(im->q, im->q + im->qhead, (im->qn - im->qhead) * sizeof *im->q);
		im->qn -= im->qhead;
		im->qhead = 0;
		if (im->qn == im->qcap) {
			im->qcap = im->qcap ? im->qcap * 2 : 8 * CHUNK;
			im->q = realloc(im->q, im->qcap * sizeof *im->q);
		}
	}
	im->q[im->qn++] = (struct msg){ data, len, strdup(origin), time_us };
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
}

static size_t pop(struct importer *im, struct msg *out, size_t max)
{
	pthread_mutex_lock(&im->mu);
	while (im->qn == im->qhead && !im->done)
		pthread_cond_wait(&im->cv, &im->mu);
	size_t n = 0;
	while (n < max && im->qhead < im->qn)
		out[n++] = im->q[im->qhead++];
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	return n;
}

struct chunk {
	struct msg m[CHUNK];
	struct ar_prepared p[CHUNK];
	size_t n;
};

/* Wait for a chunk's records to be durable, report them, free them. */
static void finish_chunk(struct importer *im, struct chunk *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ar_prepared *p = &c->p[i];
		if (p->status != AR_INGEST_REFUSED)
			ar_committer_wait(im->cm, p);
		pthread_mutex_lock(&im->mu);
		switch (p->status) {
		case AR_INGEST_STORED: im->stored++; break;
		case AR_INGEST_DUPLICATE: im->duplicates++; break;
		case AR_INGEST_REFUSED: im->refused++; break;
		default: im->failed++; break;
		}
		pthread_mutex_unlock(&im->mu);
		if (p->status == AR_INGEST_REFUSED) {
			ar_committer_count_refused(im->cm);
			fprintf(stderr, "sluice-archive import: %s: refused: %s\n", c->m[i].origin,
				p->reason);
		} else if (p->status == AR_INGEST_FAILED) {
			fprintf(stderr, "sluice-archive import: %s: not stored: %s\n", c->m[i].origin,
				p->reason);
		} else if (im->verbose) {
			printf("%u\t%s\t%s\n", p->docid,
				p->status == AR_INGEST_STORED ? "stored" : "duplicate", c->m[i].origin);
		}
		ar_prepared_free(p);
		free(c->m[i].data);
		free(c->m[i].origin);
	}
	c->n = 0;
}

/* Each worker keeps DEPTH chunks in flight: it parses the next chunk while the
 * committer syncs the previous ones, so the fsync latency does not stall parsing. */
#define DEPTH 3

static void *worker(void *arg)
{
	struct importer *im = arg;
	struct chunk *chunks = calloc(DEPTH, sizeof *chunks);
	for (size_t turn = 0;; turn++) {
		struct chunk *c = &chunks[turn % DEPTH];
		if (c->n)
			finish_chunk(im, c);
		c->n = pop(im, c->m, CHUNK);
		if (!c->n)
			break;
		for (size_t i = 0; i < c->n; i++) {
			struct sl_journal_record r = {
				.time_us = c->m[i].time_us, .source_kind = SL_JSOURCE_IMPORT,
				.source = im->source, .direction = 0, .txn_id = c->m[i].origin,
				.message = c->m[i].data, .message_len = c->m[i].len,
			};
			struct ar_origin o = im->origin;
			ar_origin_now(&o);
			ar_prepare_record(im->s, &r, &o, &c->p[i]);
		}
		ar_committer_enqueue_many(im->cm, c->p, c->n);
	}
	for (size_t k = 0; k < DEPTH; k++)
		finish_chunk(im, &chunks[k]); /* the remaining ones, any order: all are queued */
	free(chunks);
	return NULL;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *r = malloc(n ? n : 1);
	memcpy(r, p, n);
	return r;
}

/* mboxrd: messages start at "From " lines; ">From " (any number of '>') loses one. */
static void split_mbox(struct importer *im, const uint8_t *p, size_t n, const char *path,
	uint64_t t)
{
	size_t i = 0, count = 0;
	struct sl_strbuf cur;
	sl_strbuf_init(&cur);
	bool in = false;
	char origin[PATH_MAX + 32];
	while (i <= n) {
		const uint8_t *line = p + i;
		const uint8_t *nl = i < n ? memchr(line, '\n', n - i) : NULL;
		size_t l = i < n ? (nl ? (size_t)(nl - line) + 1 : n - i) : 0;
		bool from = l >= 5 && memcmp(line, "From ", 5) == 0;
		if (i == n || from) {
			if (in) {
				/* the blank line before the next From_ belongs to the mbox */
				if (cur.len && cur.s[cur.len - 1] == '\n')
					cur.len--;
				if (cur.len && cur.s[cur.len - 1] == '\r')
					cur.len--;
				snprintf(origin, sizeof origin, "%s#%zu", path, count++);
				push(im, dup_bytes((uint8_t *)cur.s, cur.len), cur.len, origin, t);
			}
			sl_strbuf_clear(&cur);
			in = true;
			if (i == n)
				break;
			i += l;
			continue;
		}
		size_t k = 0;
		while (k < l && line[k] == '>')
			k++;
		if (k && l - k >= 5 && memcmp(line + k, "From ", 5) == 0)
			sl_strbuf_put(&cur, line + 1, l - 1);
		else
			sl_strbuf_put(&cur, line, l);
		i += l;
	}
	sl_strbuf_free(&cur);
}

/* A whole message file, read into one malloc'd buffer that the queue then owns (not
 * mmap and a copy: unmapping per message costs a TLB shootdown on every CPU). */
static uint8_t *read_file(int fd, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t got = 0;
	while (p && got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(p);
			return NULL;
		}
		got += (size_t)r;
	}
	return p;
}

/* fd: the file, opened O_NOFOLLOW by import_path */
static int import_file(struct importer *im, const char *path, int fd, const struct stat *stp)
{
	struct stat st = *stp;
	uint64_t t = (uint64_t)st.st_mtim.tv_sec * 1000000u + (uint64_t)st.st_mtim.tv_nsec / 1000;
	size_t n = (size_t)st.st_size;
	size_t pl = strlen(path);
	bool eml = pl > 4 && strcasecmp(path + pl - 4, ".eml") == 0;
	char head[5];
	if (!eml && n >= 5 && pread(fd, head, 5, 0) == 5 && memcmp(head, "From ", 5) == 0) {
		/* an mbox (a .eml file is one message, whatever it starts with): mapped, as
		 * it may be far larger than memory */
		uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED) {
			fprintf(stderr, "sluice-archive import: %s: %s\n", path, strerror(errno));
			return -1;
		}
		split_mbox(im, p, n, path, t);
		munmap(p, n);
		return 0;
	}
	errno = 0;
	uint8_t *p = read_file(fd, n);
	int saved = errno;
	close(fd);
	if (!p) {
		fprintf(stderr, "sluice-archive import: %s: %s\n", path,
			saved ? strerror(saved) : "file changed while read");
		return -1;
	}
	push(im, p, n, path, t); /* the queue owns the buffer now */
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: Maildir (cur/, new/) or any tree of message and mbox files. Symbolic
 * links are not followed (O_NOFOLLOW, checked on the opened descriptor): an import
 * takes what is in the tree it was given, nothing a link points elsewhere. */
static int import_path(struct importer *im, const char *path, int depth)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (errno == ELOOP)
			fprintf(stderr, "sluice-archive import: %s: a symbolic link, not followed\n", path);
		else
			fprintf(stderr, "sluice-archive import: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return import_file(im, path, fd, &st); /* closes fd */
	}
	if (!S_ISDIR(st.st_mode) || depth > 32) {
		close(fd);
		return 0;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "tmp"))
			continue; /* Maildir tmp/ holds deliveries in progress */
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char child[PATH_MAX];
		int len = snprintf(child, sizeof child, "%s/%s", path, names[i]);
		if (len < 0 || (size_t)len >= sizeof child || import_path(im, child, depth + 1) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	const char *data = NULL, *files_from = NULL;
	struct importer im = { .source = "import" };
	char **paths = calloc((size_t)argc, sizeof *paths);
	size_t np = 0;
	/* nothing searches the store while import holds it: blocks by size, not by age */
	struct ar_index_opts index_opts = { .delay_ms = 600000 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--source") && i + 1 < argc)
			im.source = argv[++i];
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			im.verbose = true;
		else if (!strcmp(argv[i], "--files-from") && i + 1 < argc)
			files_from = argv[++i];
		else if (!strcmp(argv[i], "--index-block") && i + 1 < argc &&
			 atol(argv[i + 1]) > 0)
			index_opts.block_copies = (size_t)atol(argv[++i]);
		else
			paths[np++] = argv[i];
	}
	if (!data || (!np && !files_from)) {
		fprintf(stderr, "usage: sluice-archive import --data DIR [--source NAME] [-v] "
				"[--index-block COPIES] [--files-from LIST|-] PATH...\n");
		free(paths);
		return 2;
	}
	im.s = cli_open(data, true, true);
	if (!im.s) {
		free(paths);
		return 1;
	}
	im.origin.via = AR_VIA_IMPORT;
	ar_local_user(im.origin.peer, sizeof im.origin.peer);
	im.cm = ar_committer_start(im.s, &index_opts);
	if (!im.cm) {
		fprintf(stderr, "sluice-archive import: cannot start the committer\n");
		ar_store_close(im.s);
		free(paths);
		return 1;
	}
	pthread_mutex_init(&im.mu, NULL);
	pthread_cond_init(&im.cv, NULL);
	pthread_t w[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, worker, &im);
	int rc = 0;
	for (size_t i = 0; i < np; i++)
		if (import_path(&im, paths[i], 0) < 0)
			rc = 1;
	if (files_from) {
		/* one path per line: for more files than a command line holds */
		FILE *f = strcmp(files_from, "-") ? fopen(files_from, "r") : stdin;
		char line[PATH_MAX + 2];
		while (f && fgets(line, sizeof line, f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (*line && import_path(&im, line, 0) < 0)
				rc = 1;
		}
		if (!f) {
			fprintf(stderr, "sluice-archive import: %s: %s\n", files_from, strerror(errno));
			rc = 1;
		} else if (f != stdin) {
			fclose(f);
		}
	}
	pthread_mutex_lock(&im.mu);
	im.done = true;
	pthread_cond_broadcast(&im.cv);
	pthread_mutex_unlock(&im.mu);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	struct ar_commit_stats cs;
	ar_committer_stats(im.cm, &cs);
	ar_committer_stop(im.cm);
	fprintf(stderr, "imported: %llu stored, %llu duplicates, %llu refused, %llu failed "
			"(%llu synced batches)\n",
		(unsigned long long)im.stored, (unsigned long long)im.duplicates,
		(unsigned long long)im.refused, (unsigned long long)im.failed,
		(unsigned long long)cs.batches);
	struct sl_strbuf detail;
	sl_strbuf_init(&detail);
	sl_strbuf_printf(&detail, "\"stored\":%llu,\"paths\":[", (unsigned long long)im.stored);
	for (size_t i = 0; i < np; i++) {
		if (i)
			sl_strbuf_putc(&detail, ',');
		sl_json_str(&detail, paths[i]);
	}
	sl_strbuf_putc(&detail, ']');
	if (cli_audit(im.s, "import", detail.s) < 0)
		rc = 1;
	sl_strbuf_free(&detail);
	ar_store_close(im.s);
	free(im.q);
	free(paths);
	return rc || im.failed ? 1 : 0;
}
