/* The chained audit log (audit.h). */
#include "audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "chain.h"
#include "seal.h"
#include "store.h"

#define MAX_FRAGMENT (64u << 10)

static uint64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void user_name(uid_t uid, char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
		snprintf(out, n, "%s", res->pw_name);
	else
		snprintf(out, n, "uid%u", (unsigned)uid);
}

void ar_local_user(char *out, size_t n)
{
	char name[200];
	user_name(getuid(), name, sizeof name);
	snprintf(out, n, "%s (uid %u)", name, (unsigned)getuid());
}

/* Chain one entry: synced with a checkpoint, or nothing. */
static int chain_entry(struct ar_store *s, uint64_t time_us, uid_t uid, const char *fragment,
	size_t flen, char *err, size_t errlen)
{
	char user[256];
	user_name(uid, user, sizeof user);
	pthread_mutex_lock(&s->chain_mu);
	uint64_t seq = s->counters.next_audit_seq;
	struct sl_strbuf e;
	sl_strbuf_init(&e);
	sl_strbuf_put(&e, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
	sl_strbuf_printf(&e, "{\"seq\":%llu,\"time_us\":%llu,", (unsigned long long)seq,
		(unsigned long long)time_us);
	sl_strbuf_put(&e, fragment, flen);
	sl_strbuf_puts(&e, ",\"user\":");
	sl_json_str(&e, user);
	sl_strbuf_printf(&e, ",\"uid\":%u}", (unsigned)uid);
	uint8_t saved_head[32];
	memcpy(saved_head, s->audit_head, 32);
	struct ar_counters saved = s->counters;
	ar_chain_audit_link((uint8_t *)e.s, s->audit_head, seq, e.s + 32, e.len - 32);
	memcpy(s->audit_head, e.s, 32);
	s->counters.next_audit_seq++;
	uint8_t key[8];
	ar_put_be64(key, seq);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	int r = ar_put(s, wb, AR_CF_AUDIT, key, 8, e.s, e.len);
	if (r < 0)
		snprintf(err, errlen, "cannot encrypt the audit entry");
	else if ((r = ar_checkpoint_put(s, wb)) < 0)
		snprintf(err, errlen, "cannot sign the audit checkpoint (no key)");
	ar_counters_put(s, wb);
	if (r < 0 || ar_store_write(s, wb, true, err, errlen) < 0) {
		s->counters = saved;
		memcpy(s->audit_head, saved_head, 32);
		r = -1;
	}
	rocksdb_writebatch_destroy(wb);
	pthread_mutex_unlock(&s->chain_mu);
	sl_strbuf_free(&e);
	return r;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd >= 0 ? fsync(fd) : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

/* A reader's entry, left for the server: durable before the reader shows anything. */
static int leave_pending(struct ar_store *s, uint64_t time_us, const char *fragment,
	char *err, size_t errlen)
{
	static atomic_uint counter;
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/audit-pending", s->dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/%016llx-%08x-%d.json", dir, (unsigned long long)time_us,
		atomic_fetch_add(&counter, 1), (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t n = strlen(fragment);
	bool ok = fd >= 0 && write(fd, fragment, n) == (ssize_t)n && fsync(fd) == 0;
	int e = errno;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (!ok || fsync_dir(dir) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(ok ? errno : e));
		if (fd >= 0)
			unlink(path);
		return -1;
	}
	return 0;
}

int ar_audit_append(struct ar_store *s, uid_t uid, const char *fragment, char *err,
	size_t errlen)
{
	if (s->mode == AR_OPEN_READ)
		return leave_pending(s, now_us(), fragment, err, errlen);
	return chain_entry(s, now_us(), uid, fragment, strlen(fragment), err, errlen);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool writer_only(const char *fragment, size_t n)
{
	static const char *const actions[] = { "\"action\":\"purge\"", "\"action\":\"unhold\"" };
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (n >= strlen(actions[i]) && memcmp(fragment, actions[i], strlen(actions[i])) == 0)
			return true;
	return false;
}

/* One pending file into the chain: its owner is the user. 0 done (chained or set
 * aside as damaged), -1 the store refused (try later). */
static int collect_one(struct ar_store *s, int dfd, const char *dir, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char buf[MAX_FRAGMENT];
	ssize_t n = -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)sizeof buf)
		n = read(fd, buf, sizeof buf);
	if (fd >= 0)
		close(fd);
	unsigned long long t = strtoull(name, NULL, 16);
	/* what lets data go (purge, lifting a hold) is chained only by a writer, which holds
	 * the key: a file dropped here by someone who can write the directory cannot make
	 * verify accept a deletion */
	if (n <= 0 || strncmp(buf, "\"action\":", 9) != 0 || memchr(buf, '\n', (size_t)n) ||
	    writer_only(buf, (size_t)n)) {
		char bad[600];
		snprintf(bad, sizeof bad, "%s.bad", name);
		renameat(dfd, name, dfd, bad);
		fprintf(stderr, "sluice-archive: audit: %s/%s is not an audit entry: set aside\n",
			dir, name);
		return 0;
	}
	char err[256];
	if (chain_entry(s, t, st.st_uid, buf, (size_t)n, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive: audit: %s\n", err);
		return -1;
	}
	unlinkat(dfd, name, 0);
	return 0;
}

void ar_audit_collect(struct ar_store *s)
{
	if (s->mode == AR_OPEN_READ)
		return;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/audit-pending", s->dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(e->d_name);
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_names); /* time order */
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (ok && names[i] && collect_one(s, dirfd(d), dir, names[i]) < 0)
			ok = false;
		free(names[i]);
	}
	free(names);
	closedir(d);
	if (n)
		fsync_dir(dir);
}

uint64_t ar_audit_each(struct ar_store *s, ar_audit_fn fn, void *ctx)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_AUDIT]);
	struct sl_strbuf e;
	sl_strbuf_init(&e);
	uint64_t bad = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		char err[200];
		sl_strbuf_clear(&e);
		if (ar_unseal(s, AR_CF_AUDIT, k, kl, v, vl, &e, err, sizeof err) < 0 || e.len <= 32) {
			bad++;
			continue;
		}
		sl_strbuf_putc(&e, '\0');
		fn(ctx, e.s + 32, e.len - 33);
	}
	sl_strbuf_free(&e);
	rocksdb_iter_destroy(it);
	return bad;
}

bool ar_audit_action_is(const char *entry, const char *action)
{
	/* the first "action" member: seq and time_us before it are numbers */
	const char *a = strstr(entry, ",\"action\":\"");
	size_t n = strlen(action);
	return a && strncmp(a + 11, action, n) == 0 && a[11 + n] == '"';
}
