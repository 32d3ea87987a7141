/* extract-dump FILE OUTDIR: runs the extraction stage over FILE (the bytes of one
 * attachment) and writes what it finds under OUTDIR: each file member's bytes at its
 * path inside the container, each document part's text at that path + ".txt"; the
 * signals on stdout. tests/extract/differential.py compares the files with what unzip,
 * tar, gzip and LibreOffice print. Exit status 1 on an unreadable file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "extractrun.h"
#include "sluice/strbuf.h"

struct dump {
	const char *dir;
	FILE *out;
	int failed;
};

static void mkdirs(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			fprintf(stderr, "extract-dump: mkdir %s: %s\n", path, strerror(errno));
		*s = '/';
	}
}

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct dump *d = ctx;
	const struct sl_member *m = ev->member;
	switch (ev->type) {
	case SL_EV_MEMBER_BEGIN: {
		if (m->kind == SL_MEMBER_CONTAINER)
			return;
		const char *inner = strchr(m->path, '/'); /* the path below the attachment */
		char path[4096];
		snprintf(path, sizeof path, "%s/%s%s", d->dir, inner ? inner + 1 : m->path,
		         m->kind == SL_MEMBER_TEXT ? ".txt" : "");
		mkdirs(path);
		d->out = fopen(path, "wb");
		if (!d->out) {
			fprintf(stderr, "extract-dump: %s: %s\n", path, strerror(errno));
			d->failed = 1;
		}
		return;
	}
	case SL_EV_MEMBER_DATA:
		if (d->out && fwrite(ev->data, 1, ev->len, d->out) != ev->len)
			d->failed = 1;
		return;
	case SL_EV_MEMBER_END:
		if (d->out && fclose(d->out) != 0)
			d->failed = 1;
		d->out = NULL;
		return;
	case SL_EV_SIGNAL:
		printf("%s %s\n", ev->name, ev->value ? ev->value : "");
		return;
	default:
		return;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: extract-dump FILE OUTDIR\n");
		return 2;
	}
	size_t n;
	uint8_t *p = sl_read_file(argv[1], &n);
	if (!p) {
		fprintf(stderr, "extract-dump: cannot read %s\n", argv[1]);
		return 1;
	}
	struct sl_limits lim;
	sl_limits_default(&lim);
	struct dump d = {.dir = argv[2]};
	struct xr_result r;
	const char *base = strrchr(argv[1], '/');
	xr_run(&lim, NULL, base ? base + 1 : argv[1], p, n, 0, on_event, &d, &r);
	free(p);
	return d.failed;
}
