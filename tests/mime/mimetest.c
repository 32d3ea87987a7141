#include "mimetest.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eventlog.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void feed(struct sl_mime *m, const uint8_t *msg, size_t n, long chunk)
{
	size_t off = 0;
	while (off < n) {
		size_t k = n - off;
		if (chunk > 0 && (size_t)chunk < k)
			k = (size_t)chunk;
		else if (chunk < 0)
			k = 1 + rng() % (rng() % 4 == 0 ? 3 : 2000);
		if (k > n - off)
			k = n - off;
		sl_mime_feed(m, msg + off, k);
		off += k;
	}
	sl_mime_finish(m);
}

char *mt_eventlog(const uint8_t *msg, size_t n, long chunk, const struct sl_limits *lim)
{
	struct sl_eventlog log;
	sl_eventlog_init(&log);
	struct sl_mime *m = sl_mime_new(lim, sl_eventlog_cb, &log);
	feed(m, msg, n, chunk);
	char *text = strdup(sl_eventlog_text(&log));
	sl_mime_free(m);
	sl_eventlog_free(&log);
	return text;
}

struct run {
	struct mt_result *r;
	struct sl_mime *m;
	size_t open[64];
};

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct run *run = ctx;
	struct mt_result *r = run->r;
	r->events++;
	size_t mem = sl_mime_memory(run->m);
	if (mem > r->max_memory)
		r->max_memory = mem;
	const struct sl_part *p = ev->part;
	switch (ev->type) {
	case SL_EV_HEADER:
		sl_strbuf_printf(&r->headers, "%s|%s|%s\n", p->path, ev->name, ev->value);
		break;
	case SL_EV_PART_BEGIN: {
		r->parts = realloc(r->parts, (r->nparts + 1) * sizeof *r->parts);
		struct mt_part *mp = &r->parts[r->nparts];
		memset(mp, 0, sizeof *mp);
		mp->part = *p;
		sl_strbuf_init(&mp->data);
		sl_strbuf_init(&mp->text);
		if (p->depth < 64)
			run->open[p->depth] = r->nparts;
		if (p->depth > 0 && p->depth <= 64)
			r->parts[run->open[p->depth - 1]].has_children = true;
		r->nparts++;
		break;
	}
	case SL_EV_PART_DATA:
	case SL_EV_PART_TEXT: {
		if (p->depth >= 64)
			break;
		struct mt_part *mp = &r->parts[run->open[p->depth]];
		sl_strbuf_put(ev->type == SL_EV_PART_DATA ? &mp->data : &mp->text, ev->data, ev->len);
		break;
	}
	case SL_EV_PART_END: {
		if (p->depth >= 64)
			break;
		struct mt_part *mp = &r->parts[run->open[p->depth]];
		mp->part = *p;
		mp->has_filename = p->filename != NULL;
		snprintf(mp->filename, sizeof mp->filename, "%s", p->filename ? p->filename : "");
		snprintf(mp->disposition, sizeof mp->disposition, "%s",
		         p->disposition ? p->disposition : "");
		mp->part.filename = mp->has_filename ? mp->filename : NULL;
		mp->part.disposition = p->disposition ? mp->disposition : NULL;
		break;
	}
	case SL_EV_SIGNAL:
		sl_strbuf_printf(&r->signals, "%s,", ev->name);
		break;
	default:
		break;
	}
}

static void run_init(struct mt_result *r, struct run *run, const struct sl_limits *lim)
{
	memset(r, 0, sizeof *r);
	sl_strbuf_init(&r->headers);
	sl_strbuf_init(&r->signals);
	sl_strbuf_puts(&r->headers, "");
	sl_strbuf_puts(&r->signals, "");
	memset(run, 0, sizeof *run);
	run->r = r;
	run->m = sl_mime_new(lim, on_event, run);
}

void mt_run(struct mt_result *r, const void *msg, size_t n, long chunk,
            const struct sl_limits *lim)
{
	struct run run;
	run_init(r, &run, lim);
	feed(run.m, msg, n, chunk);
	sl_mime_free(run.m);
}

void mt_run_split(struct mt_result *r, const void *msg, size_t n, size_t split,
                  const struct sl_limits *lim)
{
	struct run run;
	run_init(r, &run, lim);
	if (split > n)
		split = n;
	sl_mime_feed(run.m, msg, split);
	sl_mime_feed(run.m, (const uint8_t *)msg + split, n - split);
	sl_mime_finish(run.m);
	sl_mime_free(run.m);
}

void mt_free(struct mt_result *r)
{
	for (size_t i = 0; i < r->nparts; i++) {
		sl_strbuf_free(&r->parts[i].data);
		sl_strbuf_free(&r->parts[i].text);
	}
	free(r->parts);
	sl_strbuf_free(&r->headers);
	sl_strbuf_free(&r->signals);
}

static bool leafish(const struct mt_part *p)
{
	return p->part.kind == SL_PART_LEAF || (p->part.kind == SL_PART_MULTIPART && !p->has_children);
}

const struct mt_part *mt_leaf(const struct mt_result *r, size_t n)
{
	for (size_t i = 0; i < r->nparts; i++)
		if (leafish(&r->parts[i]) && n-- == 0)
			return &r->parts[i];
	return NULL;
}

size_t mt_nleaves(const struct mt_result *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nparts; i++)
		k += leafish(&r->parts[i]);
	return k;
}

bool mt_has_signal(const struct mt_result *r, const char *name)
{
	char want[128];
	snprintf(want, sizeof want, "%s,", name);
	const char *s = r->signals.s;
	for (; s && (s = strstr(s, want)); s++)
		if (s == r->signals.s || s[-1] == ',')
			return true;
	return false;
}

const char *mt_header(const struct mt_result *r, const char *path, const char *name)
{
	static char value[65536];
	char want[300];
	snprintf(want, sizeof want, "%s|%s|", path, name);
	size_t wl = strlen(want);
	const char *s = r->headers.s;
	while (s && *s) {
		const char *eol = strchr(s, '\n');
		if (!eol)
			break;
		if (strncasecmp(s, want, wl) == 0) {
			size_t n = (size_t)(eol - s) - wl;
			if (n >= sizeof value)
				n = sizeof value - 1;
			memcpy(value, s + wl, n);
			value[n] = '\0';
			return value;
		}
		s = eol + 1;
	}
	return NULL;
}

void mt_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned len = 0;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, char ***paths, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(path, paths, n, cap);
		} else if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".eml") == 0) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*paths = realloc(*paths, *cap * sizeof **paths);
			}
			(*paths)[(*n)++] = strdup(path);
		}
	}
	closedir(d);
}

size_t mt_list_eml(const char *dir, char ***paths)
{
	size_t n = 0, cap = 0;
	*paths = NULL;
	walk(dir, paths, &n, &cap);
	if (n)
		qsort(*paths, n, sizeof **paths, cmp_str);
	return n;
}
