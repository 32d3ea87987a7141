#include "dirsink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msgfile.h"

struct dirsink {
	struct dp_msgdir files; /* first: dp_msgdir_begin/write use it */
	uint64_t committed;
};

static int dir_commit(void *impl, void *msg, const struct dp_msg_meta *m)
{
	struct dirsink *d = impl;
	struct dp_msgfile *mf = msg;
	bool kept = m->outcome != DP_MSG_REFUSED && m->outcome != DP_MSG_REJECTED;
	if (!kept || m->truncated) {
		dp_msgfile_discard(mf); /* never delivered, or an incomplete copy */
		return kept ? -1 : 0;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char id[96], path[1200], file[128];
	snprintf(id, sizeof id, "%lld%06ld-%s-%llu", (long long)ts.tv_sec, ts.tv_nsec / 1000,
	         d->files.tag, (unsigned long long)d->committed++);
	snprintf(file, sizeof file, "%s.eml", id);
	/* metadata first, then the message: a reader that sees the .eml sees both */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_meta_json(m, file, &b);
	sl_strbuf_putc(&b, '\n');
	char tmp[1200];
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s.json", d->files.dir, id);
	snprintf(path, sizeof path, "%s/%s.json", d->files.dir, id);
	/* no memory for the metadata: the message is not kept (counted journal_failed) */
	FILE *f = sl_strbuf_failed(&b) ? NULL : dp_open_private(tmp, "w");
	int rc = -1;
	if (f) {
		rc = fwrite(b.s, 1, b.len, f) == b.len ? 0 : -1;
		if (fclose(f) != 0 || rc != 0 || rename(tmp, path) != 0) {
			unlink(tmp);
			rc = -1;
		}
	}
	sl_strbuf_free(&b);
	snprintf(path, sizeof path, "%s/%s", d->files.dir, file);
	if (rc == 0)
		rc = dp_msgfile_keep(mf, path);
	else
		dp_msgfile_discard(mf);
	return rc == 0 ? 1 : -1;
}

static void dir_free(void *impl)
{
	free(impl);
}

static const struct dp_sink_ops dir_ops = {
	.begin = dp_msgdir_begin,
	.write = dp_msgdir_write,
	.commit = dir_commit,
	.free = dir_free,
};

int dp_dirsink_open(struct dp_sink *s, const char *dir, const char *tag, char *err, size_t errlen)
{
	struct dirsink *d = calloc(1, sizeof *d);
	if (!d || dp_msgdir_init(&d->files, dir, tag, err, errlen) != 0) {
		free(d);
		return -1;
	}
	s->ops = &dir_ops;
	s->impl = d;
	return 0;
}
