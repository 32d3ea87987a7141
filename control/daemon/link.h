/* The link to one dataplane (docs/control.md): a connection to its control socket, kept
 * by a thread that reconnects when it is down, asks `hello` as a heartbeat, and brings
 * the dataplane to the version (and knobs) it should run: a dataplane that was down or
 * restarted catches up as soon as it answers. Requests on the link go one at a time. */
#ifndef SLUICE_CONTROL_LINK_H
#define SLUICE_CONTROL_LINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "ctl.h"

struct dp_link {
	struct ctl *ctl;
	const struct ctl_dp_conf *conf;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t io;       /* one exchange at a time on fd */
	int fd;
	uint64_t seq;

	pthread_mutex_t mu;       /* what we know, below */
	pthread_cond_t wake;
	bool up;
	time_t since;             /* up or down since */
	json_t *hello;            /* its last hello answer, NULL when never */
	char error[512];          /* why it is down, or its last refusal */
	int64_t refused;          /* a version it refused on this connection (not retried on it) */
	uint64_t loads, load_failures;
};

int link_start(struct dp_link *l, struct ctl *c, const struct ctl_dp_conf *conf);
/* Wake the link's thread now (a change wants it). */
void link_kick(struct dp_link *l);
void link_stop(struct dp_link *l);

enum link_result {
	LINK_RUNNING,     /* it already runs the wanted version */
	LINK_LOADED,      /* it loaded it now */
	LINK_NO_VERSION,  /* nothing wanted yet: it runs what it started with */
	LINK_DOWN,        /* not reachable: it gets the version when it is back */
	LINK_TIMEOUT,     /* no answer in time: checked again at the next heartbeat */
	LINK_REFUSED,     /* it answered no: its reason in detail */
};
const char *link_result_name(enum link_result r);

struct link_outcome {
	enum link_result result;
	int64_t running;          /* the version it runs afterwards (-1 unknown / not ours) */
	double swap_ms;           /* its answer's swap_ms when it loaded */
	bool unconfirmed;         /* loaded and published, but not every worker confirmed in time */
	char detail[512];
	char knob_error[256];     /* a knob it refused, "" when none */
};

/* Bring the dataplane to what it should run now: connect when needed, hello, load the
 * wanted version when it runs another (a version it refused on this connection is tried
 * again only when `retry_refused`), set the STARTTLS knob when it differs. */
void link_converge(struct dp_link *l, bool retry_refused, struct link_outcome *out);

/* One request: its answer (decref; "ok" may be false), or NULL with err when the
 * dataplane is down or did not answer in time (the connection is then closed). A body
 * that came back goes to *abody (free it) when abody is given. lock_wait_ms bounds the
 * wait for the link when another exchange (a push) holds it (-1: wait). */
json_t *link_request(struct dp_link *l, json_t *req, const void *body, size_t blen, int timeout_ms,
                     int lock_wait_ms, uint8_t **abody, size_t *ablen, char *err, size_t errlen);

/* A copy of what the link knows, for status: {name, socket, up, since, error, hello}. */
json_t *link_describe(struct dp_link *l);

#endif
