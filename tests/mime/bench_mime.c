/* bench_mime: the MIME parser alone on a tools/corpus corpus, as the SMTP session
 * drives it (one parser per message, 1448-byte chunks, an event consumer that only
 * counts), next to memcpy of the same bytes in the same chunks measured in the same
 * run. Thread CPU time, best of N passes (the machine is shared).
 *
 * usage: bench_mime DIR [PASSES [MESSAGES]]     (DIR holds NNNNNN.eml files)
 * Exits 1 when DIR holds no message or not the MESSAGES asked for, when a file cannot be
 * read, or when the parser raises a signal on the (well-formed) corpus, other than
 * mime.8bit_header (the corpus holds RFC 6532 messages with raw UTF-8 headers). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/mime.h"

#define CHUNK 1448

struct counts {
	size_t events, signals, utf8_headers;
};

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct counts *c = ctx;
	c->events++;
	if (ev->type != SL_EV_SIGNAL)
		return;
	if (strcmp(ev->name, "mime.8bit_header") == 0) {
		c->utf8_headers++;
		return;
	}
	if (c->signals++ < 5)
		fprintf(stderr, "unexpected signal %s (%s)\n", ev->name, ev->value ? ev->value : "");
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_mime DIR [PASSES [MESSAGES]]\n");
		return 2;
	}
	int passes = argc > 2 ? atoi(argv[2]) : 5;
	long expect = argc > 3 ? atol(argv[3]) : -1;
	if (passes < 1) {
		fprintf(stderr, "bench_mime: PASSES must be at least 1\n");
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 2;
	}
	char **names = NULL;
	size_t nn = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
			names = realloc(names, (nn + 1) * sizeof *names);
			names[nn++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, nn, sizeof *names, cmp);
	size_t cap = 1 << 20, len = 0;
	unsigned char *all = malloc(cap);
	size_t *off = malloc((nn + 1) * sizeof *off);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
		FILE *f = fopen(path, "rb");
		if (!f) {
			perror(path);
			return 2;
		}
		off[i] = len;
		for (;;) {
			if (len == cap)
				all = realloc(all, cap *= 2);
			if (!all) {
				fprintf(stderr, "bench_mime: out of memory\n");
				return 2;
			}
			size_t k = fread(all + len, 1, cap - len, f);
			if (!k)
				break;
			len += k;
		}
		if (ferror(f)) {
			perror(path);
			return 1;
		}
		fclose(f);
		free(names[i]);
	}
	off[nn] = len;
	free(names);
	if (nn == 0) {
		fprintf(stderr, "bench_mime: no .eml message in %s\n", argv[1]);
		return 1;
	}
	if (expect >= 0 && nn != (size_t)expect) {
		fprintf(stderr, "bench_mime: %s holds %zu messages, %ld asked for\n", argv[1], nn, expect);
		return 1;
	}

	struct counts c = {0, 0, 0};
	double best = 1e30, best_copy = 1e30;
	unsigned char *dst = malloc(CHUNK);
	volatile unsigned char sink = 0;
	for (int p = 0; p < passes; p++) {
		c.events = c.signals = c.utf8_headers = 0;
		double t0 = cpu_now();
		for (size_t i = 0; i < nn; i++) {
			struct sl_mime *m = sl_mime_new(NULL, on_event, &c);
			for (size_t o = off[i]; o < off[i + 1]; o += CHUNK) {
				size_t k = off[i + 1] - o < CHUNK ? off[i + 1] - o : CHUNK;
				sl_mime_feed(m, all + o, k);
			}
			sl_mime_finish(m);
			sl_mime_free(m);
		}
		double t = cpu_now() - t0;
		if (t < best)
			best = t;
		t0 = cpu_now();
		for (size_t o = 0; o < len; o += CHUNK) {
			size_t k = len - o < CHUNK ? len - o : CHUNK;
			memcpy(dst, all + o, k);
			sink ^= dst[k - 1];
		}
		t = cpu_now() - t0;
		if (t < best_copy)
			best_copy = t;
	}
	(void)sink; /* read once so the copies are not optimized away */
	double mbs = (double)len / best / 1e6, copy = (double)len / best_copy / 1e6;
	printf("bench_mime: %zu messages, %.1f MB, %d passes, %d-byte chunks, one parser per message\n",
	       nn, (double)len / 1e6, passes, CHUNK);
	printf("  MIME parse+decode (headers, structure, base64/QP, SHA-256, text to UTF-8): %.0f MB/s\n", mbs);
	printf("  memcpy of the same chunks:                                                  %.0f MB/s\n", copy);
	printf("  ratio: %.3f; %zu events per pass; %zu unexpected signals (%zu raw UTF-8 headers)\n",
	       mbs / copy, c.events, c.signals, c.utf8_headers);
	free(all);
	free(off);
	free(dst);
	return c.signals ? 1 : 0;
}
