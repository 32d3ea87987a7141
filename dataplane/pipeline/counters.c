#include "pipeline/counters.h"

#include <stddef.h>

#include "pipeline/rulehits.h"

const char *const dp_drop_names[DP_DROP_COUNT] = {
#define X(id, name, doc) name,
	DP_DROP_REASONS(X)
#undef X
};
const char *const dp_drop_docs[DP_DROP_COUNT] = {
#define X(id, name, doc) doc,
	DP_DROP_REASONS(X)
#undef X
};
const char *const dp_uninspected_names[DP_UNINSPECTED_COUNT] = {
#define X(id, name, doc) name,
	DP_UNINSPECTED_REASONS(X)
#undef X
};
const char *const dp_uninspected_docs[DP_UNINSPECTED_COUNT] = {
#define X(id, name, doc) doc,
	DP_UNINSPECTED_REASONS(X)
#undef X
};
const char *const dp_role_names[DP_NROLES] = {"outside", "inside"};
const char *const dp_protect_names[DP_PROTECT_COUNT] = {
#define X(id, name, doc) name,
	DP_PROTECT_REASONS(X)
#undef X
};
const char *const dp_protect_docs[DP_PROTECT_COUNT] = {
#define X(id, name, doc) doc,
	DP_PROTECT_REASONS(X)
#undef X
};

const char *const dp_stage_names[DP_STAGE_COUNT] = {
#define X(id, name, doc) name,
	DP_STAGES(X)
#undef X
};
const char *const dp_stage_docs[DP_STAGE_COUNT] = {
#define X(id, name, doc) doc,
	DP_STAGES(X)
#undef X
};
const char *const dp_action_names[DP_NACTIONS] = {"pass", "alert", "quarantine", "tempfail", "reject"};

const struct dp_counter_field dp_scalar_fields[] = {
#define X(field, group, key, tel, tel_key, per_worker, doc) \
	{DP_SG_##group, key, DP_TEL_##tel, tel_key, per_worker, offsetof(struct dp_counters, field)},
	DP_SCALAR_COUNTERS(X)
#undef X
};
const unsigned dp_nscalar_fields = sizeof dp_scalar_fields / sizeof dp_scalar_fields[0];

const struct dp_counter_field dp_port_fields[] = {
#define X(field, per_worker) {DP_SG_TOP, #field, DP_TEL_FLOWS, #field, per_worker, offsetof(struct dp_counters, field)},
	DP_PORT_COUNTERS(X)
#undef X
};
const unsigned dp_nport_fields = sizeof dp_port_fields / sizeof dp_port_fields[0];

uint64_t dp_loop_quantile(const struct dp_counters *c, double q)
{
	uint64_t n = 0, seen = 0;
	int top = -1;
	for (int i = 0; i < DP_LOOP_BUCKETS; i++) {
		n += c->loop_ns_log2[i];
		if (c->loop_ns_log2[i])
			top = i;
	}
	if (!n)
		return 0;
	if (q >= 1.0)
		return (2ull << top) - 1;
	uint64_t want = (uint64_t)(q * (double)n);
	for (int i = 0; i < DP_LOOP_BUCKETS; i++) {
		seen += c->loop_ns_log2[i];
		if (seen > want || i == DP_LOOP_BUCKETS - 1)
			return (2ull << i) - 1;
	}
	return 0;
}

void dp_counters_add(struct dp_counters *d, const struct dp_counters *s)
{
	/* every field is a uint64_t */
	_Static_assert(sizeof(struct dp_counters) % sizeof(uint64_t) == 0, "dp_counters: uint64_t only");
	uint64_t *dv = (uint64_t *)d;
	const uint64_t *sv = (const uint64_t *)s;
	for (size_t i = 0; i < sizeof *d / sizeof(uint64_t); i++)
		dv[i] += sv[i];
}

static void obj_u64(struct sl_strbuf *b, const char *key, uint64_t v, bool first)
{
	sl_json_key(b, key, first);
	sl_strbuf_printf(b, "%llu", (unsigned long long)v);
}

/* The scalar counters of one JSON object (the first key after `first`). */
static void group_json(const struct dp_counters *c, struct sl_strbuf *b, enum dp_stat_group g, bool first)
{
	for (unsigned i = 0; i < dp_nscalar_fields; i++) {
		const struct dp_counter_field *f = &dp_scalar_fields[i];
		if (f->group != g)
			continue;
		obj_u64(b, f->name, dp_counter_at(c, f->off), first);
		first = false;
	}
}

static void open_obj(struct sl_strbuf *b, const char *key, bool first)
{
	sl_json_key(b, key, first);
	sl_strbuf_putc(b, '{');
}

static void names_json(struct sl_strbuf *b, const char *key, const char *const *names,
                       const uint64_t *v, int n)
{
	open_obj(b, key, false);
	for (int i = 0; i < n; i++)
		obj_u64(b, names[i], v[i], i == 0);
	sl_strbuf_putc(b, '}');
}

static void ports_json(const struct dp_counters *c, struct sl_strbuf *b)
{
	open_obj(b, "ports", true);
	for (int r = 0; r < DP_NROLES; r++) {
		open_obj(b, dp_role_names[r], r == 0);
		for (unsigned i = 0; i < dp_nport_fields; i++)
			obj_u64(b, dp_port_fields[i].name,
			        dp_counter_at(c, dp_port_fields[i].off + (size_t)r * sizeof(uint64_t)), i == 0);
		sl_strbuf_putc(b, '}');
	}
	sl_strbuf_putc(b, '}');
}

static void rules_json(const struct dp_rule_totals *t, struct sl_strbuf *b)
{
	open_obj(b, "rules", false);
	for (size_t i = 0; t && i < t->n; i++)
		obj_u64(b, t->v[i].id, t->v[i].hits, i == 0);
	if (t && t->other)
		obj_u64(b, "(other)", t->other, t->n == 0);
	sl_strbuf_putc(b, '}');
}

static void loop_json(const struct dp_counters *c, struct sl_strbuf *b)
{
	uint64_t iters = 0;
	for (int i = 0; i < DP_LOOP_BUCKETS; i++)
		iters += c->loop_ns_log2[i];
	open_obj(b, "loop", false);
	obj_u64(b, "iterations", iters, true);
	obj_u64(b, "p50_ns", dp_loop_quantile(c, 0.5), false);
	obj_u64(b, "p99_ns", dp_loop_quantile(c, 0.99), false);
	obj_u64(b, "max_ns", dp_loop_quantile(c, 1.0), false);
	sl_json_key(b, "ns_log2", false); /* [i]: iterations of 2^i .. 2^(i+1)-1 ns */
	sl_strbuf_putc(b, '[');
	for (int i = 0; i < DP_LOOP_BUCKETS; i++)
		sl_strbuf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)c->loop_ns_log2[i]);
	sl_strbuf_puts(b, "]}");
}

/* "stages": TSC cycles per stage of the poll loop, and the bursts they were taken over */
static void stages_json(const struct dp_counters *c, struct sl_strbuf *b)
{
	open_obj(b, "stages", false);
	for (int i = 0; i < DP_STAGE_COUNT; i++)
		obj_u64(b, dp_stage_names[i], c->stage_cycles[i], i == 0);
	obj_u64(b, "bursts", c->stage_bursts, false);
	sl_strbuf_putc(b, '}');
}

void dp_counters_json(const struct dp_counters *c, const struct dp_rule_totals *rules, struct sl_strbuf *b)
{
	sl_strbuf_putc(b, '{');
	ports_json(c, b);
	open_obj(b, "flows", false);
	group_json(c, b, DP_SG_FLOWS, true);
	names_json(b, "uninspected", dp_uninspected_names, c->uninspected, DP_UNINSPECTED_COUNT);
	sl_strbuf_putc(b, '}');
	open_obj(b, "messages", false);
	group_json(c, b, DP_SG_MESSAGES, true);
	obj_u64(b, "journal_backlog", dp_journal_backlog(c), false);
	sl_strbuf_putc(b, '}');
	names_json(b, "verdicts", dp_action_names, c->verdicts, DP_NACTIONS);
	rules_json(rules, b);
	names_json(b, "drops", dp_drop_names, c->drops, DP_DROP_COUNT);
	open_obj(b, "starttls", false);
	group_json(c, b, DP_SG_STARTTLS, true);
	sl_strbuf_putc(b, '}');
	loop_json(c, b);
	stages_json(c, b);
	group_json(c, b, DP_SG_TOP, false);
	/* "protect": its counters, then refused/closed/detected/banned by reason */
	open_obj(b, "protect", false);
	group_json(c, b, DP_SG_PROTECT, true);
	names_json(b, "refused", dp_protect_names, c->protect_refused, DP_PROTECT_COUNT);
	names_json(b, "closed", dp_protect_names, c->protect_closed, DP_PROTECT_COUNT);
	names_json(b, "detected", dp_protect_names, c->protect_detected, DP_PROTECT_COUNT);
	names_json(b, "banned", dp_protect_names, c->protect_banned, DP_PROTECT_COUNT);
	sl_strbuf_putc(b, '}');
	sl_strbuf_putc(b, '}');
}
