/* sluice-control's shared state: the configuration, the state directory, the audit log,
 * the links to the dataplanes, and the locks that order changes (docs/control.md). */
#ifndef SLUICE_CONTROL_CTL_H
#define SLUICE_CONTROL_CTL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "audit.h"
#include "conf.h"
#include "store.h"

struct dp_link;

struct ctl {
	struct ctl_config conf;
	struct store store;
	struct audit audit;
	/* One change at a time (push, rollback, knob): taken first, held to the answer. */
	pthread_mutex_t change_lock;
	/* store.state: taken briefly by anyone reading or changing it. */
	pthread_mutex_t state_lock;
	struct dp_link *links;
	unsigned nlinks;
	gid_t group;              /* the CLI socket's group, (gid_t)-1 for root only */
	atomic_bool stop;
	time_t started;
	/* what /metrics tells about the control itself */
	atomic_ullong pushes_ok, pushes_pending, pushes_refused, pushes_not_compiled;
	atomic_ullong rollbacks, knob_changes, requests_refused_peer;
};

/* What a dataplane should run, read under state_lock: the version (-1 none) and its
 * digest ("" when unknown), and the STARTTLS knob ("" for its own setting). */
struct dp_wanted {
	int64_t version;
	char digest[65];
	char starttls[16];
};
void ctl_wanted(struct ctl *c, const char *dp, struct dp_wanted *w);

struct dp_link *ctl_link(struct ctl *c, const char *name);

/* Record a change in the audit log and its head in state.json, before the answer. */
int ctl_audit(struct ctl *c, json_t *entry, char *err, size_t errlen);

/* A line on stderr (the journal under systemd), with the time. */
void ctl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
