/* The asynchronous spooling sender: submit (memory queue) -> writer thread (spool
 * file, fsync) -> sender thread (archive, delete on ACK). */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

struct qitem {
	struct qitem *next;
	size_t len;
	uint8_t frame[];
};

struct sl_journal {
	char *spool_dir;
	char *archive;
	struct sl_journal_tls tls;  /* strings owned */
	char last_error[256];       /* the sender thread's last connect error */
	size_t max_queue_bytes;
	uint64_t max_spool_bytes;   /* 0: no cap but the disk */
	unsigned window;

	pthread_mutex_t mu;
	pthread_cond_t queue_cv;  /* writer waits for items */
	pthread_cond_t spool_cv;  /* sender waits for spool files; drain waits for progress */
	struct qitem *head, *tail;
	size_t queue_bytes;
	uint64_t reserved;          /* bytes promised by sl_journal_reserve, not yet submitted */
	bool write_failed;          /* the last spool write failed */
	bool look_failed;           /* the last look at the spool directory failed */
	bool stopping;
	struct sl_journal_stats st;

	pthread_t writer, sender;
	bool have_sender;
};

static void lock(struct sl_journal *j) { pthread_mutex_lock(&j->mu); }
static void unlock(struct sl_journal *j) { pthread_mutex_unlock(&j->mu); }

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Spool file names (sorted, submission order), at most max. Caller frees. */
static size_t list_spool(const char *dir, char ***out, size_t max)
{
	DIR *d = opendir(dir);
	*out = NULL;
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	char **names = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".rec") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	if (n > max) {
		for (size_t i = max; i < n; i++)
			free(names[i]);
		n = max;
	}
	*out = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size > SL_JOURNAL_MAX_PAYLOAD + SL_JOURNAL_HEADER_LEN) {
		close(fd);
		return NULL;
	}
	uint8_t *p = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (p && got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r <= 0) {
			free(p);
			p = NULL;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return p;
}

static void timed_wait_on(struct sl_journal *j, pthread_cond_t *cv, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(cv, &j->mu, &ts);
}

/* What sl_journal_reserve judges by: is the spool a directory, and how much room has
 * its filesystem. Called with the lock released (it touches the disk). */
static void look_at_disk(struct sl_journal *j)
{
	struct stat st;
	struct statvfs vfs;
	bool ok = stat(j->spool_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		statvfs(j->spool_dir, &vfs) == 0;
	lock(j);
	j->look_failed = !ok;
	j->st.spool_free = ok ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
	unlock(j);
}

#define LOOK_EVERY_MS 500

static void *writer_main(void *arg)
{
	struct sl_journal *j = arg;
	lock(j);
	for (;;) {
		if (!j->head && !j->stopping)
			timed_wait_on(j, &j->queue_cv, LOOK_EVERY_MS);
		if (!j->head && j->stopping)
			break;
		if (!j->head) { /* idle: the disk may fill or come back meanwhile */
			unlock(j);
			look_at_disk(j);
			lock(j);
			continue;
		}
		struct qitem *it = j->head;
		unlock(j);
		int r = sl_journal_spool_write(j->spool_dir, it->frame, it->len);
		look_at_disk(j);
		lock(j);
		j->write_failed = r < 0;
		if (r < 0) {
			/* Disk full or similar: keep the record queued and retry shortly. */
			j->st.spool_errors++;
			unlock(j);
			usleep(100000);
			lock(j);
			continue;
		}
		j->head = it->next;
		if (!j->head)
			j->tail = NULL;
		j->queue_bytes -= it->len;
		j->st.queued--;
		j->st.spooled++;
		j->st.spool_files++;
		j->st.spool_bytes += it->len;
		free(it);
		pthread_cond_broadcast(&j->spool_cv);
	}
	unlock(j);
	return NULL;
}

/* The record id a spooled frame must be acknowledged with: SHA-256 of its payload. */
static bool frame_record_id(const uint8_t *frame, size_t len, uint8_t id[32])
{
	if (len < SL_JOURNAL_HEADER_LEN)
		return false;
	SHA256(frame + SL_JOURNAL_HEADER_LEN, len - SL_JOURNAL_HEADER_LEN, id);
	return true;
}

/* A reply settles spool file `name` only when it names that file's record: an ACK
 * for another record (a confused or hostile peer, a desynchronised stream) would
 * otherwise delete a copy the archive never stored. A REFUSE of a frame the archive
 * could not decode carries zeros. */
static bool reply_matches(int type, const uint8_t got[32], const uint8_t want[32])
{
	static const uint8_t zeros[32];
	if (memcmp(got, want, 32) == 0)
		return true;
	return type == SL_JFRAME_REFUSE && memcmp(got, zeros, 32) == 0;
}

static void settle(struct sl_journal *j, const char *name, size_t len, int type, int status,
	const char *reason)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", j->spool_dir, name);
	if (type == SL_JFRAME_ACK) {
		unlink(path);
	} else {
		char dst[4096];
		snprintf(dst, sizeof dst, "%s/refused", j->spool_dir);
		mkdir(dst, 0700);
		snprintf(dst, sizeof dst, "%s/refused/%s", j->spool_dir, name);
		if (rename(path, dst) < 0)
			fprintf(stderr, "journal: %s: %s\n", dst, strerror(errno));
		fprintf(stderr, "journal: archive refused %s: %s\n", name, reason);
	}
	lock(j);
	if (type == SL_JFRAME_ACK) {
		j->st.acked++;
		if (status == SL_JACK_DUPLICATE)
			j->st.duplicates++;
	} else {
		j->st.refused++;
	}
	if (j->st.spool_files)
		j->st.spool_files--;
	j->st.spool_bytes -= len < j->st.spool_bytes ? len : j->st.spool_bytes;
	pthread_cond_broadcast(&j->spool_cv);
	unlock(j);
}

/* One round: send up to `window` spooled records on fd, read their replies. Returns
 * the number handled, or -1 when the connection broke (or the archive answered for a
 * record it was not sent: the files stay, and are sent again on a new connection). */
static int send_round(struct sl_journal *j, struct sl_journal_link *l)
{
	char **names;
	size_t n = list_spool(j->spool_dir, &names, j->window);
	if (n == 0) {
		free(names);
		return 0;
	}
	uint8_t (*ids)[32] = calloc(n, 32);
	size_t *lens = calloc(n, sizeof *lens);
	size_t sent = 0;
	char path[4096];
	for (; ids && lens && sent < n; sent++) {
		snprintf(path, sizeof path, "%s/%s", j->spool_dir, names[sent]);
		size_t len;
		uint8_t *frame = read_file(path, &len);
		if (!frame)
			break;
		lens[sent] = len;
		bool ok = frame_record_id(frame, len, ids[sent]) && sl_journal_link_write(l, frame, len) == 0;
		free(frame);
		if (!ok)
			break;
	}
	int handled = 0;
	bool broken = sent < n;
	for (size_t i = 0; i < sent; i++) {
		int type, status;
		uint8_t id[32];
		char reason[256];
		if (sl_journal_read_reply(l, &type, id, &status, reason, sizeof reason) < 0) {
			broken = true;
			break;
		}
		if (!reply_matches(type, id, ids[i])) {
			fprintf(stderr, "journal: the archive answered for another record than %s; "
					"reconnecting\n", names[i]);
			lock(j);
			j->st.mismatched++;
			unlock(j);
			broken = true;
			break;
		}
		settle(j, names[i], lens[i], type, status, reason);
		handled++;
	}
	free(ids);
	free(lens);
	free_names(names, n);
	return broken ? -1 : handled;
}

static void timed_wait(struct sl_journal *j, int ms)
{
	timed_wait_on(j, &j->spool_cv, ms);
}

static void *sender_main(void *arg)
{
	struct sl_journal *j = arg;
	/* an archive that closes on us is EPIPE here, not a signal to the whole process */
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	struct sl_journal_link *l = NULL;
	for (;;) {
		lock(j);
		bool stop = j->stopping;
		unlock(j);
		if (stop)
			break;
		if (!l) {
			char err[256];
			l = sl_journal_link_open(j->archive, &j->tls, 5000, err, sizeof err);
			if (!l) {
				if (strcmp(err, j->last_error)) { /* say it once, not every retry */
					fprintf(stderr, "journal: %s\n", err);
					snprintf(j->last_error, sizeof j->last_error, "%s", err);
				}
				lock(j);
				j->st.connect_failures++;
				timed_wait(j, 500);
				unlock(j);
				continue;
			}
		}
		j->last_error[0] = '\0';
		int r = send_round(j, l);
		if (r < 0) {
			/* broken, or the archive answered wrongly: not a tight loop */
			sl_journal_link_close(l);
			l = NULL;
			lock(j);
			if (!j->stopping)
				timed_wait(j, 500);
			unlock(j);
			continue;
		}
		if (r == 0) {
			lock(j);
			if (!j->stopping)
				timed_wait(j, 200);
			unlock(j);
		}
	}
	sl_journal_link_close(l);
	return NULL;
}

struct sl_journal *sl_journal_open(const struct sl_journal_config *cfg, char *err,
	size_t errlen)
{
	if (!cfg->spool_dir) {
		snprintf(err, errlen, "no spool directory");
		return NULL;
	}
	if (mkdir(cfg->spool_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", cfg->spool_dir, strerror(errno));
		return NULL;
	}
	struct sl_journal *j = calloc(1, sizeof *j);
	j->spool_dir = strdup(cfg->spool_dir);
	j->archive = cfg->archive ? strdup(cfg->archive) : NULL;
	j->tls.ca = cfg->tls.ca ? strdup(cfg->tls.ca) : NULL;
	j->tls.cert = cfg->tls.cert ? strdup(cfg->tls.cert) : NULL;
	j->tls.key = cfg->tls.key ? strdup(cfg->tls.key) : NULL;
	j->tls.server_name = cfg->tls.server_name ? strdup(cfg->tls.server_name) : NULL;
	j->max_queue_bytes = cfg->max_queue_bytes ? cfg->max_queue_bytes : 64u << 20;
	j->max_spool_bytes = cfg->max_spool_bytes;
	j->window = cfg->window ? cfg->window : 64;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->queue_cv, NULL);
	pthread_cond_init(&j->spool_cv, NULL);
	char **names;
	j->st.spool_files = list_spool(j->spool_dir, &names, SIZE_MAX);
	for (size_t i = 0; i < j->st.spool_files; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", j->spool_dir, names[i]);
		if (stat(path, &st) == 0)
			j->st.spool_bytes += (uint64_t)st.st_size;
	}
	free_names(names, j->st.spool_files);
	look_at_disk(j);
	pthread_create(&j->writer, NULL, writer_main, j);
	if (j->archive) {
		pthread_create(&j->sender, NULL, sender_main, j);
		j->have_sender = true;
	}
	return j;
}

/* reserved == 0: a plain submit, checked against the caps. */
static int enqueue(struct sl_journal *j, const struct sl_journal_record *r, size_t reserved)
{
	struct sl_strbuf b;
	char err[128];
	sl_strbuf_init(&b);
	if (sl_journal_encode(r, &b, err, sizeof err) < 0) {
		sl_strbuf_free(&b);
		return -1;
	}
	struct qitem *it = malloc(sizeof *it + b.len);
	if (!it) {
		sl_strbuf_free(&b);
		return -1;
	}
	it->next = NULL;
	it->len = b.len;
	memcpy(it->frame, b.s, b.len);
	sl_strbuf_free(&b);
	lock(j);
	if (reserved) {
		j->reserved -= reserved < j->reserved ? reserved : j->reserved;
	} else if (j->queue_bytes + j->reserved + it->len > j->max_queue_bytes) {
		j->st.queue_full++;
		unlock(j);
		free(it);
		return -1;
	} else if (j->max_spool_bytes &&
		   j->st.spool_bytes + j->queue_bytes + j->reserved + it->len > j->max_spool_bytes) {
		j->st.spool_full++;
		unlock(j);
		free(it);
		return -1;
	}
	if (j->tail)
		j->tail->next = it;
	else
		j->head = it;
	j->tail = it;
	j->queue_bytes += it->len;
	j->st.submitted++;
	j->st.queued++;
	pthread_cond_signal(&j->queue_cv);
	unlock(j);
	return 0;
}

int sl_journal_submit(struct sl_journal *j, const struct sl_journal_record *r)
{
	return enqueue(j, r, 0);
}

int sl_journal_submit_reserved(struct sl_journal *j, const struct sl_journal_record *r,
	size_t reserved)
{
	if (reserved == 0)
		return enqueue(j, r, 0);
	int rc = enqueue(j, r, reserved);
	if (rc < 0) /* an invalid record: the promise goes all the same */
		sl_journal_unreserve(j, reserved);
	return rc;
}

/* Kept free on the spool's filesystem beyond what is promised: directory blocks, the
 * temporary files, rounding to blocks. */
#define SPOOL_FREE_MARGIN (1u << 20)

int sl_journal_reserve(struct sl_journal *j, size_t bytes)
{
	lock(j);
	uint64_t held = (uint64_t)j->queue_bytes + j->reserved + bytes;
	bool ok = !j->write_failed && !j->look_failed && bytes > 0 &&
		held <= j->max_queue_bytes && held + SPOOL_FREE_MARGIN <= j->st.spool_free &&
		(!j->max_spool_bytes || j->st.spool_bytes + held <= j->max_spool_bytes);
	if (ok)
		j->reserved += bytes;
	else
		j->st.reserve_refused++;
	unlock(j);
	return ok ? 0 : -1;
}

void sl_journal_unreserve(struct sl_journal *j, size_t bytes)
{
	lock(j);
	j->reserved -= bytes < j->reserved ? bytes : j->reserved;
	unlock(j);
}

void sl_journal_get_stats(struct sl_journal *j, struct sl_journal_stats *st)
{
	lock(j);
	*st = j->st;
	st->spool_failing = j->write_failed || j->look_failed;
	unlock(j);
}

bool sl_journal_drain(struct sl_journal *j, bool delivered, int timeout_ms)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	lock(j);
	for (;;) {
		bool done = j->st.queued == 0 && (!delivered || j->st.spool_files == 0);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool late = now.tv_sec > end.tv_sec ||
			(now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec);
		if (done || late) {
			unlock(j);
			return done;
		}
		timed_wait(j, 50);
	}
}

void sl_journal_close(struct sl_journal *j)
{
	if (!j)
		return;
	lock(j);
	j->stopping = true;
	pthread_cond_broadcast(&j->queue_cv);
	pthread_cond_broadcast(&j->spool_cv);
	unlock(j);
	pthread_join(j->writer, NULL);
	if (j->have_sender)
		pthread_join(j->sender, NULL);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->queue_cv);
	pthread_cond_destroy(&j->spool_cv);
	free(j->spool_dir);
	free(j->archive);
	free((char *)j->tls.ca);
	free((char *)j->tls.cert);
	free((char *)j->tls.key);
	free((char *)j->tls.server_name);
	free(j);
}
