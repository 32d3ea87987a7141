#include "counters.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

#define FIELD(name, field) {name, offsetof(struct dp_counters, field)}
const struct dp_counter_field dp_flow_fields[] = {
	FIELD("active", flows_active),
	FIELD("created", flows_created),
	FIELD("closed", flows_closed),
	FIELD("expired", flows_expired),
	FIELD("smtp_detected", flows_smtp_detected),
	FIELD("embryonic", flows_embryonic),
	FIELD("evicted_embryonic", flows_evicted_embryonic),
	FIELD("evicted_idle", flows_evicted_idle),
	FIELD("reset_desync", flows_reset_desync),
	FIELD("rst_ignored", rst_ignored),
	FIELD("urg_cleared", urg_cleared),
	FIELD("engine_failed", engine_failed),
	FIELD("events_dropped", events_dropped),
	FIELD("nul_rewritten", nul_rewritten),
};
#undef FIELD
const unsigned dp_nflow_fields = sizeof dp_flow_fields / sizeof dp_flow_fields[0];

static const char *const action_names[DP_NACTIONS] = {
	"pass", "alert", "quarantine", "tempfail", "reject"};

static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void dp_counters_rule_hit(struct dp_counters *c, const char *id)
{
	uint32_t h = hash_id(id);
	for (unsigned i = 0; i < DP_RULE_SLOTS; i++) {
		struct dp_rule_count *r = &c->rules[(h + i) % DP_RULE_SLOTS];
		if (r->id[0] == 0) {
			snprintf(r->id, sizeof r->id, "%s", id);
			r->count = 1;
			return;
		}
		if (strncmp(r->id, id, sizeof r->id - 1) == 0) {
			r->count++;
			return;
		}
	}
	c->rule_overflow++;
}

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
	/* every field up to `rules` is a uint64_t */
	uint64_t *dv = (uint64_t *)d;
	const uint64_t *sv = (const uint64_t *)s;
	for (size_t i = 0; i < offsetof(struct dp_counters, rules) / sizeof(uint64_t); i++)
		dv[i] += sv[i];
	for (unsigned i = 0; i < DP_RULE_SLOTS; i++) {
		const struct dp_rule_count *r = &s->rules[i];
		if (!r->id[0])
			continue;
		uint64_t n = r->count;
		/* add n hits under the same id */
		uint32_t h = hash_id(r->id);
		unsigned j;
		for (j = 0; j < DP_RULE_SLOTS; j++) {
			struct dp_rule_count *t = &d->rules[(h + j) % DP_RULE_SLOTS];
			if (t->id[0] == 0) {
				memcpy(t->id, r->id, sizeof t->id);
				t->count = n;
				break;
			}
			if (strcmp(t->id, r->id) == 0) {
				t->count += n;
				break;
			}
		}
		if (j == DP_RULE_SLOTS)
			d->rule_overflow += n;
	}
}

static void obj_u64(struct sl_strbuf *b, const char *key, uint64_t v, bool first)
{
	sl_json_key(b, key, first);
	sl_strbuf_printf(b, "%llu", (unsigned long long)v);
}

static void by_reason(struct sl_strbuf *b, const char *key, const uint64_t *v)
{
	sl_json_key(b, key, false);
	sl_strbuf_putc(b, '{');
	for (int i = 0; i < DP_PROTECT_COUNT; i++)
		obj_u64(b, dp_protect_names[i], v[i], i == 0);
	sl_strbuf_putc(b, '}');
}

#define FIELD(name, field) {name, offsetof(struct dp_counters, field)}
const struct dp_counter_field dp_protect_fields[] = {
	FIELD("admitted", protect_admitted),
	FIELD("allowed", protect_allowed),
	FIELD("cookies", protect_cookies),
	FIELD("handshakes", protect_handshakes),
	FIELD("verified", protect_verified),
	FIELD("pardons", protect_pardons),
	FIELD("bans_active", protect_bans_active),
	FIELD("sources", protect_sources),
	FIELD("sources_evicted", protect_sources_evicted),
	FIELD("sources_full", protect_sources_full),
	FIELD("emergency", protect_emergency),
	FIELD("emergency_entered", protect_emergency_entered),
};
#undef FIELD
const unsigned dp_nprotect_fields = sizeof dp_protect_fields / sizeof dp_protect_fields[0];

/* "protect": the counters above, then refused/closed/detected/banned by reason. */
static void protect_json(const struct dp_counters *c, struct sl_strbuf *b)
{
	sl_json_key(b, "protect", false);
	sl_strbuf_putc(b, '{');
	for (unsigned i = 0; i < dp_nprotect_fields; i++)
		obj_u64(b, dp_protect_fields[i].name, dp_counter_at(c, dp_protect_fields[i].off), i == 0);
	by_reason(b, "refused", c->protect_refused);
	by_reason(b, "closed", c->protect_closed);
	by_reason(b, "detected", c->protect_detected);
	by_reason(b, "banned", c->protect_banned);
	sl_strbuf_putc(b, '}');
}

void dp_counters_json(const struct dp_counters *c, struct sl_strbuf *b)
{
	sl_strbuf_putc(b, '{');
	sl_json_key(b, "ports", true);
	sl_strbuf_putc(b, '{');
	for (int r = 0; r < DP_NROLES; r++) {
		sl_json_key(b, dp_role_names[r], r == 0);
		sl_strbuf_putc(b, '{');
		obj_u64(b, "rx_packets", c->rx_packets[r], true);
		obj_u64(b, "rx_bytes", c->rx_bytes[r], false);
		obj_u64(b, "tx_packets", c->tx_packets[r], false);
		obj_u64(b, "tx_bytes", c->tx_bytes[r], false);
		obj_u64(b, "injected", c->injected[r], false);
		obj_u64(b, "resegmented", c->resegmented[r], false);
		sl_strbuf_putc(b, '}');
	}
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "flows", false);
	sl_strbuf_putc(b, '{');
	for (unsigned i = 0; i < dp_nflow_fields; i++)
		obj_u64(b, dp_flow_fields[i].name, dp_counter_at(c, dp_flow_fields[i].off), i == 0);
	sl_json_key(b, "uninspected", false);
	sl_strbuf_putc(b, '{');
	for (int i = 0; i < DP_UNINSPECTED_COUNT; i++)
		obj_u64(b, dp_uninspected_names[i], c->uninspected[i], i == 0);
	sl_strbuf_puts(b, "}}");
	sl_json_key(b, "messages", false);
	sl_strbuf_putc(b, '{');
	obj_u64(b, "total", c->messages, true);
	obj_u64(b, "enforced_reject", c->enforced_reject, false);
	obj_u64(b, "enforced_quarantine", c->enforced_quarantine, false);
	obj_u64(b, "journal_ok", c->journal_ok, false);
	obj_u64(b, "journal_skipped", c->journal_skipped, false);
	obj_u64(b, "journal_failed", c->journal_failed, false);
	obj_u64(b, "journal_required_deferred", c->journal_required_deferred, false);
	obj_u64(b, "journal_queued", c->journal_queued, false);
	obj_u64(b, "journal_backlog", dp_journal_backlog(c), false);
	obj_u64(b, "journal_overflow", c->journal_overflow, false);
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "verdicts", false);
	sl_strbuf_putc(b, '{');
	for (int i = 0; i < DP_NACTIONS; i++)
		obj_u64(b, action_names[i], c->verdicts[i], i == 0);
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "rules", false);
	sl_strbuf_putc(b, '{');
	bool first = true;
	for (int i = 0; i < DP_RULE_SLOTS; i++)
		if (c->rules[i].id[0]) {
			obj_u64(b, c->rules[i].id, c->rules[i].count, first);
			first = false;
		}
	if (c->rule_overflow)
		obj_u64(b, "(other)", c->rule_overflow, first);
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "drops", false);
	sl_strbuf_putc(b, '{');
	for (int i = 0; i < DP_DROP_COUNT; i++)
		obj_u64(b, dp_drop_names[i], c->drops[i], i == 0);
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "starttls", false);
	sl_strbuf_putc(b, '{');
	obj_u64(b, "seen", c->starttls_seen, true);
	obj_u64(b, "stripped", c->starttls_stripped, false);
	obj_u64(b, "blocked", c->starttls_blocked, false);
	sl_strbuf_putc(b, '}');
	obj_u64(b, "signals_overlap", c->signals_overlap, false);
	sl_json_key(b, "loop", false);
	uint64_t iters = 0;
	for (int i = 0; i < DP_LOOP_BUCKETS; i++)
		iters += c->loop_ns_log2[i];
	sl_strbuf_putc(b, '{');
	obj_u64(b, "iterations", iters, true);
	obj_u64(b, "p50_ns", dp_loop_quantile(c, 0.5), false);
	obj_u64(b, "p99_ns", dp_loop_quantile(c, 0.99), false);
	obj_u64(b, "max_ns", dp_loop_quantile(c, 1.0), false);
	sl_json_key(b, "ns_log2", false); /* [i]: iterations of 2^i .. 2^(i+1)-1 ns */
	sl_strbuf_putc(b, '[');
	for (int i = 0; i < DP_LOOP_BUCKETS; i++)
		sl_strbuf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)c->loop_ns_log2[i]);
	sl_strbuf_puts(b, "]}");
	obj_u64(b, "memory_bytes", c->memory_bytes, false);
	protect_json(c, b);
	sl_strbuf_putc(b, '}');
}
