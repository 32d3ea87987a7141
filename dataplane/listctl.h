/* The protection's live state on the control side (docs/protection.md, "Control
 * socket"): the allow and block lists with their expiry, loaded from the files at
 * start and changed by list.set/list.add/list.del; every change becomes a new rte_lpm
 * snapshot published to the workers with RCU (control.c), and entries that expire are
 * taken out within a second. Also the views of the workers' source tables: bans (and
 * bans.del, published as pardons with the lists) and top.sources. Runs on the control
 * thread (and in main before the workers start); never on a worker. */
#ifndef SLUICE_DP_LISTCTL_H
#define SLUICE_DP_LISTCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "lpm.h"

struct dp_worker;
struct dp_control;
struct dp_listctl;

struct dp_listctl *dp_listctl_new(const struct dp_config *cfg, struct dp_worker *workers, unsigned n);
void dp_listctl_free(struct dp_listctl *l);
/* [protect] allow_file and block_file. 0, or -1 with err ("FILE:LINE: message"). */
int dp_listctl_load_files(struct dp_listctl *l, char *err, size_t errlen);
/* A snapshot of the current lists (the caller publishes it; NULL with err). */
struct dp_list_snapshot *dp_listctl_snapshot(struct dp_listctl *l, char *err, size_t errlen);
/* Where snapshots go: control.c's RCU publication (returns false when it failed). */
void dp_listctl_set_publisher(struct dp_listctl *l, struct dp_control *c);

/* One request (op list.*, bans, bans.del, top.sources); NULL when op is not one of them. */
json_t *dp_listctl_handle(struct dp_listctl *l, const char *op, json_t *req, const uint8_t *body,
                          size_t body_len);
/* Once in a while on the control thread: entries and pardons that expired go. */
void dp_listctl_tick(struct dp_listctl *l);
/* For hello: the lists' version and entry count. */
void dp_listctl_info(struct dp_listctl *l, uint64_t *version, size_t *entries);

/* An answer {"ok": false, "error": "..."} (every op of the control socket). */
json_t *dp_ctl_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Worker clock (ms) as the workers compute it, from the control thread. */
uint64_t dp_worker_clock_ms(void);

#endif
