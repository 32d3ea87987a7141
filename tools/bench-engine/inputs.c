/* Loading the benchmark's inputs (formats in docs/corpus.md). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs.h"
#include "sluice/strbuf.h"

#define STREAMS_MAGIC "SLUICE-STREAMS 1\n"

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	uint8_t *buf = sl_read_file(path, len);
	if (!buf)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return buf;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 1024;
	while (nc < need)
		nc *= 2;
	void *na = realloc(*arr, nc * elem);
	if (!na)
		return -1;
	*arr = na;
	*cap = nc;
	return 0;
}

int bench_load_streams(const char *path, struct bench_streams *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	size_t len;
	uint8_t *buf = read_file(path, &len, err, errlen);
	if (!buf)
		return -1;
	out->buf = buf;
	size_t ml = strlen(STREAMS_MAGIC), pos = ml, wcap = 0, scap = 0;
	if (len < ml || memcmp(buf, STREAMS_MAGIC, ml) != 0) {
		snprintf(err, errlen, "%s: not a tools/trafficgen --streams file", path);
		goto fail;
	}
	struct bench_session *cur = NULL;
	while (pos < len) {
		if (len - pos < 5) {
			snprintf(err, errlen, "%s: truncated record at byte %zu", path, pos);
			goto fail;
		}
		uint8_t kind = buf[pos];
		uint32_t n = (uint32_t)buf[pos + 1] | (uint32_t)buf[pos + 2] << 8 |
		             (uint32_t)buf[pos + 3] << 16 | (uint32_t)buf[pos + 4] << 24;
		pos += 5;
		if (n > len - pos) {
			snprintf(err, errlen, "%s: record at byte %zu runs past the end", path, pos - 5);
			goto fail;
		}
		if (kind == 1) {
			if (grow((void **)&out->sessions, &scap, out->nsessions + 1, sizeof *out->sessions))
				goto oom;
			cur = &out->sessions[out->nsessions++];
			cur->first = out->nwrites;
			cur->n = 0;
		} else if (kind == 2 || kind == 3) {
			if (!cur) {
				snprintf(err, errlen, "%s: write outside a session at byte %zu", path, pos - 5);
				goto fail;
			}
			if (grow((void **)&out->writes, &wcap, out->nwrites + 1, sizeof *out->writes))
				goto oom;
			out->writes[out->nwrites++] = (struct bench_write){
				.side = kind == 2 ? BENCH_CLIENT : BENCH_SERVER, .p = buf + pos, .len = n};
			cur->n++;
			if (kind == 2)
				out->client_bytes += n;
			else
				out->server_bytes += n;
		} else if (kind == 4) {
			cur = NULL;
		} else {
			snprintf(err, errlen, "%s: unknown record kind %u at byte %zu", path, kind, pos - 5);
			goto fail;
		}
		pos += n;
	}
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	bench_streams_free(out);
	return -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int bench_load_messages(const char *dir, struct bench_messages *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t nn = 0, ncap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		if (grow((void **)&names, &ncap, nn + 1, sizeof *names) ||
		    !(names[nn] = strdup(e->d_name))) {
			closedir(d);
			snprintf(err, errlen, "%s: out of memory", dir);
			goto fail;
		}
		nn++;
	}
	closedir(d);
	if (nn == 0) {
		snprintf(err, errlen, "%s: no .eml files", dir);
		goto fail;
	}
	qsort(names, nn, sizeof *names, cmp_names);
	out->off = calloc(nn, sizeof *out->off);
	out->len = calloc(nn, sizeof *out->len);
	if (!out->off || !out->len)
		goto oom;
	size_t cap = 0;
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t len;
		uint8_t *one = read_file(path, &len, err, errlen);
		if (!one)
			goto fail;
		if (grow((void **)&out->buf, &cap, out->bytes + len + 1, 1)) {
			free(one);
			goto oom;
		}
		memcpy(out->buf + out->bytes, one, len);
		free(one);
		out->off[i] = out->bytes;
		out->len[i] = len;
		out->bytes += len;
	}
	out->n = nn;
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", dir);
fail:
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	bench_messages_free(out);
	return -1;
}

void bench_streams_free(struct bench_streams *s)
{
	free(s->buf);
	free(s->writes);
	free(s->sessions);
	memset(s, 0, sizeof *s);
}

void bench_messages_free(struct bench_messages *m)
{
	free(m->buf);
	free(m->off);
	free(m->len);
	memset(m, 0, sizeof *m);
}
