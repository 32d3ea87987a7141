#include "dumpsink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msgfile.h"

struct dump {
	struct dp_msgdir files; /* first: dp_msgdir_begin/write use it */
	FILE *verdicts;
	uint64_t written, seen;
};

static int dump_commit(void *impl, void *msg, const struct dp_msg_meta *m)
{
	struct dump *d = impl;
	struct dp_msgfile *mf = msg;
	char name[32], path[1100];
	const char *file = NULL;
	int rc = 0;
	d->seen++;
	if (m->outcome == DP_MSG_DELIVERED || m->outcome == DP_MSG_UNANSWERED) {
		snprintf(name, sizeof name, "%llu.eml", (unsigned long long)d->written + 1);
		snprintf(path, sizeof path, "%s/%s", d->files.dir, name);
		if (dp_msgfile_keep(mf, path) == 0) {
			d->written++;
			file = name;
		} else {
			rc = -1;
		}
	} else {
		dp_msgfile_discard(mf);
	}
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_meta_json(m, file, &b);
	sl_strbuf_putc(&b, '\n');
	if (sl_strbuf_failed(&b))
		rc = -1; /* no memory for the verdict line: not written, counted as failed */
	/* flushed per line: inline, tests read the file while sluice-dp runs */
	else if (fwrite(b.s, 1, b.len, d->verdicts) != b.len || fflush(d->verdicts) != 0)
		rc = -1;
	sl_strbuf_free(&b);
	return rc < 0 ? -1 : file ? 1 : 0;
}

static void dump_free(void *impl)
{
	struct dump *d = impl;
	fclose(d->verdicts);
	free(d);
}

static const struct dp_sink_ops dump_ops = {
	.begin = dp_msgdir_begin,
	.write = dp_msgdir_write,
	.commit = dump_commit,
	.free = dump_free,
};

int dp_dumpsink_open(struct dp_sink *s, const char *dir, char *err, size_t errlen)
{
	struct dump *d = calloc(1, sizeof *d);
	if (!d || dp_msgdir_init(&d->files, dir, "dump", err, errlen) != 0) {
		free(d);
		return -1;
	}
	char path[1100];
	snprintf(path, sizeof path, "%s/verdicts.jsonl", dir);
	d->verdicts = fopen(path, "w");
	if (!d->verdicts) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(d);
		return -1;
	}
	s->ops = &dump_ops;
	s->impl = d;
	return 0;
}

void dp_dumpsink_counts(const struct dp_sink *s, uint64_t *written, uint64_t *seen)
{
	const struct dump *d = s->impl;
	*written = d->written;
	*seen = d->seen;
}
