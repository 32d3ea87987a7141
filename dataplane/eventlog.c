#include "eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ring.h>

#include "pipeline/inspect.h"
#include "worker.h"

#define SLOTS 1024        /* per worker */
#define SLOT_BYTES 8192   /* a longer line (thousands of recipients) is dropped, counted */

struct slot {
	uint32_t len;
	char line[SLOT_BYTES - sizeof(uint32_t)];
};

struct wq {                       /* one worker's rings */
	struct rte_ring *free, *full;
	struct slot *slots;
	struct dp_worker *w;
};

struct dp_eventlog {
	const struct dp_config *cfg;
	unsigned n;
	struct wq *q;
	FILE *f;
	uint64_t size;
	pthread_t thread;
	bool running;
	volatile bool stop;
};

static volatile sig_atomic_t reopen_asked;

void dp_eventlog_reopen(void)
{
	reopen_asked = 1;
}

/* Worker side: the hook of dp_ctx.event. */
static void enqueue(void *arg, const char *line, size_t len)
{
	struct wq *q = arg;
	struct slot *s;
	if (len > sizeof s->line || rte_ring_sc_dequeue(q->free, (void **)&s) != 0) {
		q->w->ctr.events_dropped++;
		return;
	}
	memcpy(s->line, line, len);
	s->len = (uint32_t)len;
	rte_ring_sp_enqueue(q->full, s); /* cannot fail: the slot came from this ring pair */
}

static FILE *open_log(const char *path, uint64_t *size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return NULL;
	struct stat st;
	*size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	FILE *f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

/* FILE -> FILE.1 -> ... -> FILE.keep (the oldest goes), then a new FILE. */
static void rotate(struct dp_eventlog *l)
{
	const char *path = l->cfg->events_file;
	char from[DP_PATH_MAX + 16], to[DP_PATH_MAX + 16];
	fclose(l->f);
	l->f = NULL;
	if (l->cfg->events_keep == 0) {
		unlink(path);
	} else {
		for (unsigned i = l->cfg->events_keep; i > 1; i--) {
			snprintf(from, sizeof from, "%s.%u", path, i - 1);
			snprintf(to, sizeof to, "%s.%u", path, i);
			rename(from, to);
		}
		snprintf(to, sizeof to, "%s.1", path);
		rename(path, to);
	}
	l->f = open_log(path, &l->size);
}

static void reopen(struct dp_eventlog *l)
{
	if (l->f)
		fclose(l->f);
	l->f = open_log(l->cfg->events_file, &l->size);
	if (!l->f)
		fprintf(stderr, "sluice-dp: events: cannot reopen %s: %s\n", l->cfg->events_file, strerror(errno));
}

/* Write what the workers queued; true when anything was. */
static bool drain(struct dp_eventlog *l)
{
	bool any = false;
	for (unsigned i = 0; i < l->n; i++) {
		struct wq *q = &l->q[i];
		struct slot *s[64];
		unsigned k = rte_ring_sc_dequeue_burst(q->full, (void **)s, 64, NULL);
		for (unsigned j = 0; j < k; j++) {
			if (l->f && fwrite(s[j]->line, 1, s[j]->len, l->f) == s[j]->len)
				l->size += s[j]->len;
			rte_ring_sp_enqueue(q->free, s[j]);
		}
		any |= k > 0;
	}
	if (any && l->f)
		fflush(l->f);
	if (l->f && l->size >= l->cfg->events_max_size)
		rotate(l);
	return any;
}

static void *writer_main(void *arg)
{
	struct dp_eventlog *l = arg;
	while (!l->stop) {
		if (reopen_asked) {
			reopen_asked = 0;
			reopen(l);
		}
		if (!drain(l))
			usleep(10 * 1000);
	}
	while (drain(l))
		;
	return NULL;
}

struct dp_eventlog *dp_eventlog_open(const struct dp_config *cfg, struct dp_worker *workers,
                                     unsigned nworkers)
{
	struct dp_eventlog *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->n = nworkers;
	l->q = calloc(nworkers, sizeof *l->q);
	l->f = open_log(cfg->events_file, &l->size);
	if (!l->q || !l->f) {
		fprintf(stderr, "sluice-dp: events: %s: %s\n", cfg->events_file, strerror(errno));
		dp_eventlog_close(l);
		return NULL;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		struct wq *q = &l->q[i];
		char name[RTE_RING_NAMESIZE];
		q->w = &workers[i];
		snprintf(name, sizeof name, "sl_evf%u", i);
		q->free = rte_ring_create(name, SLOTS, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof name, "sl_evq%u", i);
		q->full = rte_ring_create(name, SLOTS, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		q->slots = calloc(SLOTS - 1, sizeof *q->slots);
		if (!q->free || !q->full || !q->slots) {
			fprintf(stderr, "sluice-dp: events: no memory for worker %u's rings\n", i);
			dp_eventlog_close(l);
			return NULL;
		}
		for (unsigned k = 0; k < SLOTS - 1; k++) /* a ring of SLOTS holds SLOTS - 1 */
			rte_ring_sp_enqueue(q->free, &q->slots[k]);
	}
	return l;
}

int dp_eventlog_start(struct dp_eventlog *l)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct dp_worker *w = l->q[i].w;
		if (w->insp) {
			w->insp->ctx.event = enqueue;
			w->insp->ctx.event_arg = &l->q[i];
		}
	}
	if (pthread_create(&l->thread, NULL, writer_main, l) != 0)
		return -1;
	l->running = true;
	return 0;
}

void dp_eventlog_close(struct dp_eventlog *l)
{
	if (!l)
		return;
	l->stop = true;
	if (l->running)
		pthread_join(l->thread, NULL);
	for (unsigned i = 0; l->q && i < l->n; i++) {
		if (l->q[i].w && l->q[i].w->insp)
			l->q[i].w->insp->ctx.event = NULL;
		rte_ring_free(l->q[i].free);
		rte_ring_free(l->q[i].full);
		free(l->q[i].slots);
	}
	free(l->q);
	if (l->f)
		fclose(l->f);
	free(l);
}
