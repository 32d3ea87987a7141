/* What the commands share: opening the store, the audit log, loading messages. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "skeleton.h"

struct ar_store *cli_open(const char *dir, bool write, bool create)
{
	char err[1024];
	struct ar_store *s = ar_store_open(dir, create ? AR_OPEN_CREATE : AR_OPEN_WRITE, err,
		sizeof err);
	if (s) {
		ar_audit_collect(s);
		return s;
	}
	if (!write && strstr(err, "lock")) {
		/* a server holds the store: read alongside it */
		char err2[1024];
		s = ar_store_open(dir, AR_OPEN_READ, err2, sizeof err2);
		if (s)
			return s;
		fprintf(stderr, "sluice-archive: %s\n", err2);
		return NULL;
	}
	if (strstr(err, "lock"))
		fprintf(stderr, "sluice-archive: %s is in use by a running server: %s\n", dir, err);
	else
		fprintf(stderr, "sluice-archive: %s\n", err);
	return NULL;
}

int cli_check_index(struct ar_store *s)
{
	if (s->counters.index_version == AR_INDEX_VERSION)
		return 0;
	fprintf(stderr, "sluice-archive: %s: the index has format %llu, this program reads "
			"format %d: run sluice-archive reindex --data %s\n", s->dir,
		(unsigned long long)s->counters.index_version, AR_INDEX_VERSION, s->dir);
	return -1;
}

static const char *who(void)
{
	const char *u = getenv("SUDO_USER");
	if (u && *u)
		return u;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

static void audit_key(uint8_t key[12], uint64_t time_us)
{
	static atomic_uint n;
	ar_put_be64(key, time_us);
	ar_put_be32(key + 8, ((uint32_t)getpid() << 12) ^ atomic_fetch_add(&n, 1));
}

void cli_audit(struct ar_store *s, const char *action, const char *detail_json)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	struct sl_strbuf line;
	sl_strbuf_init(&line);
	sl_strbuf_printf(&line, "{\"time_us\":%llu,\"user\":", (unsigned long long)us);
	sl_json_str(&line, who());
	sl_strbuf_printf(&line, ",\"uid\":%d,\"action\":", (int)getuid());
	sl_json_str(&line, action);
	if (detail_json) {
		sl_strbuf_puts(&line, ",");
		sl_strbuf_puts(&line, detail_json);
	}
	sl_strbuf_putc(&line, '}');
	uint8_t key[12];
	audit_key(key, us);
	if (s->mode != AR_OPEN_READ) {
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
		rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_AUDIT], (const char *)key, 12, line.s,
			line.len);
		char err[256];
		if (ar_store_write(s, wb, true, err, sizeof err) < 0)
			fprintf(stderr, "sluice-archive: audit log: %s\n", err);
		rocksdb_writebatch_destroy(wb);
	} else {
		char path[4096], tmp[4200];
		snprintf(path, sizeof path, "%s/audit-pending", s->dir);
		mkdir(path, 0700);
		snprintf(path, sizeof path, "%s/audit-pending/%016llx%08x.json", s->dir,
			(unsigned long long)us, ar_get_be32(key + 8));
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		bool ok = fd >= 0 && write(fd, line.s, line.len) == (ssize_t)line.len &&
			  fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
		if (!ok || rename(tmp, path) < 0)
			fprintf(stderr, "sluice-archive: audit log: %s: %s\n", path, strerror(errno));
	}
	sl_strbuf_free(&line);
}

void ar_audit_collect(struct ar_store *s)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/audit-pending", s->dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l != 24 + 5 || strcmp(e->d_name + 24, ".json") != 0)
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		char buf[65536];
		size_t n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		uint8_t key[12];
		char hex[17];
		memcpy(hex, e->d_name, 16);
		hex[16] = '\0';
		unsigned long long us = strtoull(hex, NULL, 16);
		char hex2[9];
		memcpy(hex2, e->d_name + 16, 8);
		hex2[8] = '\0';
		ar_put_be64(key, us);
		ar_put_be32(key + 8, (uint32_t)strtoul(hex2, NULL, 16));
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
		rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_AUDIT], (const char *)key, 12, buf, n);
		char err[256];
		if (ar_store_write(s, wb, true, err, sizeof err) == 0)
			unlink(path);
		rocksdb_writebatch_destroy(wb);
	}
	closedir(d);
}

static uint8_t *fetch_part(void *ctx, const uint8_t sha[32], size_t *len)
{
	char *err = NULL;
	char *v = ar_store_get(ctx, AR_CF_PARTS, sha, 32, len, &err);
	free(err);
	return (uint8_t *)v;
}

int ar_message_load(struct ar_store *s, const uint8_t blob[32], struct sl_strbuf *out,
	char *err, size_t errlen)
{
	size_t len;
	char *e = NULL;
	char *skel = ar_store_get(s, AR_CF_BLOBS, blob, 32, &len, &e);
	if (!skel) {
		snprintf(err, errlen, "message blob missing%s%s", e ? ": " : "", e ? e : "");
		free(e);
		return -1;
	}
	size_t start = out->len;
	int r = ar_skeleton_rebuild((const uint8_t *)skel, len, fetch_part, s, out, err, errlen);
	free(skel);
	if (r < 0)
		return -1;
	uint8_t sha[32];
	SHA256((const uint8_t *)out->s + start, out->len - start, sha);
	if (memcmp(sha, blob, 32) != 0) {
		snprintf(err, errlen, "message does not match its SHA-256: store damaged or altered");
		return -1;
	}
	return 0;
}

bool cli_parse_docid(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

void ar_doc_copies(struct ar_store *s, const uint8_t blob[32], ar_copy_fn fn, void *ctx)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_BLOBDOC]);
	for (rocksdb_iter_seek(it, (const char *)blob, 32); rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		if (kl < 32 || memcmp(k, blob, 32) != 0)
			break;
		if (kl != 40)
			continue;
		const char *id = rocksdb_iter_value(it, &vl);
		if (vl != 32)
			continue;
		size_t cl;
		char *e = NULL;
		char *cv = ar_store_get(s, AR_CF_COPIES, id, 32, &cl, &e);
		free(e);
		if (!cv)
			continue;
		uint64_t seq;
		uint8_t b[32];
		struct sl_journal_decoded d;
		char err[256];
		if (ar_copy_decode((const uint8_t *)cv, cl, &seq, b, &d, err, sizeof err) == 0)
			fn(ctx, seq, &d);
		sl_journal_decoded_free(&d);
		free(cv);
	}
	rocksdb_iter_destroy(it);
}
