/* The sink thread: one thread (not an lcore) that empties the queues the workers fill
 * (the sink queues of sinkqueue.h, the flow dumps of flowdump.h) and does their file
 * I/O, so a worker does packets only (issue 14). It sleeps 1 ms when every queue is
 * empty: that is the sinks' latency, never the worker's. No DPDK. */
#ifndef SLUICE_DP_SINKTHREAD_H
#define SLUICE_DP_SINKTHREAD_H

/* One queue to empty: service(arg) hands what is queued to its files and returns the
 * items it handled (0: nothing was queued). */
struct dp_sink_work {
	unsigned (*service)(void *arg);
	void *arg;
};

/* The thread over n queues (w must stay valid until the stop); NULL when it cannot
 * start. */
struct dp_sinkthread;
struct dp_sinkthread *dp_sinkthread_start(const struct dp_sink_work *w, unsigned n);
/* Empty every queue, then stop the thread. Call once no worker pushes any more (after
 * their last commits); the queues stay for their owners to free. NULL: nothing. */
void dp_sinkthread_stop(struct dp_sinkthread *t);

#endif
