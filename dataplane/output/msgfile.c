#include "msgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dp_mkdirs(const char *dir)
{
	char p[1024];
	if (strlen(dir) >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(p, dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

FILE *dp_open_private(const char *path, const char *mode)
{
	/* mail is private: 0600 whatever the umask, never through a planted symlink */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, mode);
	if (!f)
		close(fd);
	return f;
}

int dp_msgdir_init(struct dp_msgdir *d, const char *dir, const char *tag, char *err, size_t errlen)
{
	if (strlen(dir) >= sizeof d->dir) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (dp_mkdirs(dir) != 0 || access(dir, W_OK) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	strcpy(d->dir, dir);
	snprintf(d->tag, sizeof d->tag, "%s", tag);
	d->seq = 0;
	return 0;
}

void *dp_msgdir_begin(void *impl)
{
	struct dp_msgdir *d = impl;
	return dp_msgfile_new(d->dir, d->tag, d->seq++);
}

void dp_msgdir_write(void *impl, void *msg, const uint8_t *p, size_t n)
{
	(void)impl;
	dp_msgfile_write(msg, p, n);
}

struct dp_msgfile *dp_msgfile_new(const char *dir, const char *tag, uint64_t seq)
{
	struct dp_msgfile *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	snprintf(m->tmp, sizeof m->tmp, "%s/.tmp-%s-%llu.eml", dir, tag, (unsigned long long)seq);
	m->f = dp_open_private(m->tmp, "w+b");
	if (!m->f) {
		free(m);
		return NULL;
	}
	return m;
}

void dp_msgfile_write(struct dp_msgfile *m, const uint8_t *p, size_t n)
{
	if (fwrite(p, 1, n, m->f) != n)
		m->failed = true;
	m->bytes += n;
}

int dp_msgfile_keep(struct dp_msgfile *m, const char *path)
{
	int rc = fclose(m->f) == 0 && !m->failed ? 0 : -1;
	if (rc == 0 && rename(m->tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(m->tmp);
	free(m);
	return rc;
}

void dp_msgfile_discard(struct dp_msgfile *m)
{
	fclose(m->f);
	unlink(m->tmp);
	free(m);
}

uint8_t *dp_msgfile_take(struct dp_msgfile *m, size_t *len)
{
	uint8_t *buf = NULL;
	if (!m->failed && fflush(m->f) == 0 && fseek(m->f, 0, SEEK_SET) == 0) {
		buf = malloc(m->bytes ? m->bytes : 1);
		if (buf && fread(buf, 1, m->bytes, m->f) != m->bytes) {
			free(buf);
			buf = NULL;
		}
	}
	*len = buf ? m->bytes : 0;
	dp_msgfile_discard(m);
	return buf;
}

void dp_meta_json(const struct dp_msg_meta *m, const char *file, struct sl_strbuf *b)
{
	static const struct sl_envelope none;
	sl_strbuf_putc(b, '{');
	sl_json_key(b, "file", true);
	sl_json_str(b, file);
	sl_json_key(b, "client", false);
	sl_json_str(b, m->client);
	sl_json_key(b, "server", false);
	sl_json_str(b, m->server);
	sl_json_key(b, "envelope", false);
	dp_envelope_json(m->env ? m->env : &none, b);
	sl_json_key(b, "server_reply", false);
	if (m->server_code) {
		sl_strbuf_printf(b, "{\"code\":%d,\"text\":", m->server_code);
		sl_json_str(b, m->server_text ? m->server_text : "");
		sl_strbuf_putc(b, '}');
	} else {
		sl_strbuf_puts(b, "null");
	}
	sl_json_key(b, "outcome", false);
	sl_json_str(b, dp_outcome_name(m->outcome));
	sl_json_key(b, "bytes", false);
	sl_strbuf_printf(b, "%llu", (unsigned long long)m->bytes);
	sl_json_key(b, "verdict", false);
	sl_strbuf_puts(b, m->verdict_json && *m->verdict_json ? m->verdict_json : "null");
	sl_json_key(b, "bundle", false);
	sl_strbuf_printf(b, "{\"id\":%llu,\"digest\":", (unsigned long long)m->bundle_id);
	sl_json_str(b, m->bundle_digest ? m->bundle_digest : "");
	sl_strbuf_puts(b, "}}");
}
