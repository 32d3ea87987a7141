#include "sinkthread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct dp_sinkthread {
	pthread_t thread;
	const struct dp_sink_work *w;
	unsigned n;
	atomic_bool stop;
};

static void *run(void *arg)
{
	struct dp_sinkthread *t = arg;
	for (;;) {
		/* read before the last pass: every push made before the stop is seen */
		bool stopping = atomic_load_explicit(&t->stop, memory_order_acquire);
		unsigned done = 0;
		for (unsigned i = 0; i < t->n; i++)
			done += t->w[i].service(t->w[i].arg);
		if (done)
			continue;
		if (stopping)
			break;
		struct timespec idle = {0, 1000 * 1000}; /* 1 ms: the sink's latency, not the worker's */
		nanosleep(&idle, NULL);
	}
	return NULL;
}

struct dp_sinkthread *dp_sinkthread_start(const struct dp_sink_work *w, unsigned n)
{
	struct dp_sinkthread *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->w = w;
	t->n = n;
	atomic_init(&t->stop, false);
	if (pthread_create(&t->thread, NULL, run, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

void dp_sinkthread_stop(struct dp_sinkthread *t)
{
	if (!t)
		return;
	atomic_store_explicit(&t->stop, true, memory_order_release);
	pthread_join(t->thread, NULL);
	free(t);
}
