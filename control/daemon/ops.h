/* The requests sluicectl makes of sluice-control (docs/control.md, "Operations"). Each
 * handler gets the peer (already allowed), the request and its body, and returns the
 * answer; a body for the answer (a diff) goes to `abody`. */
#ifndef SLUICE_CONTROL_OPS_H
#define SLUICE_CONTROL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/unixsock.h"
#include "ctl.h"
#include "sluice/strbuf.h"

#define OP_ARGS struct ctl *c, const struct peer *who, json_t *req, const uint8_t *body, \
	size_t blen, struct sl_strbuf *abody

typedef json_t *(*op_handler)(OP_ARGS);

/* The handler of an op name, or NULL. */
op_handler ops_find(const char *name);

json_t *op_hello(OP_ARGS);
json_t *op_rules_push(OP_ARGS);
json_t *op_rules_rollback(OP_ARGS);
json_t *op_rules_list(OP_ARGS);
json_t *op_rules_diff(OP_ARGS);
json_t *op_status(OP_ARGS);
json_t *op_stats(OP_ARGS);
json_t *op_flows(OP_ARGS);
json_t *op_rules_top(OP_ARGS);
json_t *op_events(OP_ARGS);
json_t *op_knob_set(OP_ARGS);
json_t *op_protect_read(OP_ARGS);
json_t *op_protect_change(OP_ARGS);

/* Ask every target the same op: {"dataplanes": {NAME: answer}, "errors": {NAME: text}};
 * fields are added to each request; with `member`, each answer's member of that name
 * stands for it. */
json_t *ops_ask_all(struct ctl *c, json_t *req, const char *opname, json_t *fields, const char *member);
json_t *op_pool_get(OP_ARGS);
json_t *op_pool_set(OP_ARGS);
json_t *op_pool_add(OP_ARGS);
json_t *op_pool_remove(OP_ARGS);

/* An audit entry started with who asked and what: {op, user, uid, pid}. */
json_t *ops_audit_entry(const struct peer *who, const char *op);
/* Write it (ctl_audit); when that fails the answer says so: the change happened but its
 * record did not. Steals `entry`. Returns the (possibly replaced) answer. */
json_t *ops_audited(struct ctl *c, json_t *entry, json_t *answer);

#endif
