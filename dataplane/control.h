/* sluice-dp's control socket (docs/control.md): a thread, never a worker, that serves
 * sluice-control over a Unix socket (peers checked with SO_PEERCRED) and swaps rule
 * bundles live. A bundle is verified, loaded and given a Hyperscan scratch per worker
 * on this thread, then published with RCU (rte_rcu_qsbr): each worker picks it up
 * between bursts and reports a quiescent state once per poll loop; a message in flight
 * finishes on the bundle it started with (dataplane/smtp/rules.h). */
#ifndef SLUICE_DP_CONTROL_H
#define SLUICE_DP_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"

struct dp_worker;
struct dp_telemetry_src;
struct dp_control;
struct dp_listctl;
struct dp_list_snapshot;

/* The bundle new messages start with, as hello and telemetry report it. */
struct dp_bundle_info {
	uint64_t id;
	char digest[65];
	uint64_t loaded_unix;      /* 0: none loaded */
};

/* Set up RCU for the workers (before they start). cfg stays writable: knob.set changes
 * cfg->starttls for new flows. NULL on failure (message on stderr). */
struct dp_control *dp_control_new(struct dp_config *cfg, struct dp_worker *workers, unsigned nworkers,
                                  const struct dp_telemetry_src *tel);
/* The bundle the workers started with (telemetry, hello). */
void dp_control_set_initial(struct dp_control *c, const struct dp_bundle_info *b);
/* The protection's lists and views (listctl.h): its ops are served here. */
void dp_control_set_lists(struct dp_control *c, struct dp_listctl *l);
/* Publish a lists snapshot to the workers (RCU, as bundles): true once every worker
 * took it; the previous one is freed then (or later, when a worker was stalled). */
bool dp_control_publish_lists(struct dp_control *c, struct dp_list_snapshot *s);

/* Open [control] socket and start the thread (no-op without a socket). 0 or -1. */
int dp_control_start(struct dp_control *c);
void dp_control_stop(struct dp_control *c);
void dp_control_info(struct dp_control *c, struct dp_bundle_info *out);

/* Worker side, once per poll loop (its own lcore): take a newly published bundle,
 * then report a quiescent state. */
void dp_control_worker_online(struct dp_control *c, struct dp_worker *w);
void dp_control_worker_sync(struct dp_control *c, struct dp_worker *w);
void dp_control_worker_offline(struct dp_control *c, struct dp_worker *w);

#endif
