#include "telemetry.h"

#include <ctype.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "control.h"

static const struct dp_telemetry_src *src;

void dp_telemetry_sum(const struct dp_telemetry_src *s, struct dp_counters *sum)
{
	memset(sum, 0, sizeof *sum);
	for (unsigned i = 0; i < s->nworkers; i++)
		dp_counters_add(sum, &s->workers[i].ctr);
	if (s->dist)
		sum->drops[DP_DROP_TX_FULL] += s->dist->drops_ring_full;
}

/* Telemetry keys allow letters, digits, '_' and '/': rule ids keep their letters. */
static void key(char *out, size_t len, const char *a, const char *b)
{
	snprintf(out, len, "%s%s%s", a, b && *a ? "_" : "", b ? b : "");
	for (char *p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '/')
			*p = '_';
}

static void u64(struct rte_tel_data *d, const char *a, const char *b, uint64_t v)
{
	char k[RTE_TEL_MAX_STRING_LEN];
	key(k, sizeof k, a, b);
	rte_tel_data_add_dict_u64(d, k, v);
}

/* One value per worker, as an array under `name`. */
static void per_worker(struct rte_tel_data *d, const char *name, size_t off)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	if (!a)
		return;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (unsigned i = 0; i < src->nworkers; i++)
		rte_tel_data_add_array_u64(a, *(const uint64_t *)((const char *)&src->workers[i].ctr + off));
	char k[RTE_TEL_MAX_STRING_LEN];
	key(k, sizeof k, name, NULL);
	if (rte_tel_data_add_dict_container(d, k, a, 0) != 0)
		rte_tel_data_free(a);
}

static int cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (int r = 0; r < DP_NROLES; r++) {
		const char *n = dp_role_names[r];
		char k[64];
		u64(d, n, "rx_packets", c.rx_packets[r]);
		u64(d, n, "rx_bytes", c.rx_bytes[r]);
		u64(d, n, "tx_packets", c.tx_packets[r]);
		u64(d, n, "tx_bytes", c.tx_bytes[r]);
		u64(d, n, "injected", c.injected[r]);
		u64(d, n, "resegmented", c.resegmented[r]);
		snprintf(k, sizeof k, "%s_rx_packets_per_worker", n);
		per_worker(d, k, offsetof(struct dp_counters, rx_packets) + (size_t)r * sizeof(uint64_t));
		snprintf(k, sizeof k, "%s_rx_bytes_per_worker", n);
		per_worker(d, k, offsetof(struct dp_counters, rx_bytes) + (size_t)r * sizeof(uint64_t));
		snprintf(k, sizeof k, "%s_tx_packets_per_worker", n);
		per_worker(d, k, offsetof(struct dp_counters, tx_packets) + (size_t)r * sizeof(uint64_t));
		snprintf(k, sizeof k, "%s_tx_bytes_per_worker", n);
		per_worker(d, k, offsetof(struct dp_counters, tx_bytes) + (size_t)r * sizeof(uint64_t));
	}
	return 0;
}

static int cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < dp_nflow_fields; i++)
		u64(d, dp_flow_fields[i].name, NULL, dp_counter_at(&c, dp_flow_fields[i].off));
	for (int i = 0; i < DP_UNINSPECTED_COUNT; i++)
		u64(d, "uninspected", dp_uninspected_names[i], c.uninspected[i]);
	u64(d, "starttls_seen", NULL, c.starttls_seen);
	u64(d, "starttls_stripped", NULL, c.starttls_stripped);
	u64(d, "starttls_blocked", NULL, c.starttls_blocked);
	per_worker(d, "active_per_worker", offsetof(struct dp_counters, flows_active));
	return 0;
}

static int cmd_messages(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	static const char *const actions[DP_NACTIONS] = {"pass", "alert", "quarantine", "tempfail", "reject"};
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	u64(d, "total", NULL, c.messages);
	for (int i = 0; i < DP_NACTIONS; i++)
		u64(d, "verdict", actions[i], c.verdicts[i]);
	u64(d, "enforced_reject", NULL, c.enforced_reject);
	u64(d, "enforced_quarantine", NULL, c.enforced_quarantine);
	u64(d, "journal_ok", NULL, c.journal_ok);
	u64(d, "journal_skipped", NULL, c.journal_skipped);
	u64(d, "journal_failed", NULL, c.journal_failed);
	u64(d, "journal_required_deferred", NULL, c.journal_required_deferred);
	u64(d, "journal_queued", NULL, c.journal_queued);
	u64(d, "journal_backlog", NULL, dp_journal_backlog(&c));
	u64(d, "journal_overflow", NULL, c.journal_overflow);
	u64(d, "signals_tcp_overlap", NULL, c.signals_overlap);
	per_worker(d, "total_per_worker", offsetof(struct dp_counters, messages));
	return 0;
}

static int cmd_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	unsigned n = 0;
	for (int i = 0; i < DP_RULE_SLOTS && n < RTE_TEL_MAX_DICT_ENTRIES - 1; i++)
		if (c.rules[i].id[0]) {
			u64(d, c.rules[i].id, NULL, c.rules[i].count);
			n++;
		}
	if (c.rule_overflow)
		u64(d, "other_rules", NULL, c.rule_overflow);
	return 0;
}

static int cmd_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (int i = 0; i < DP_DROP_COUNT; i++)
		u64(d, dp_drop_names[i], NULL, c.drops[i]);
	return 0;
}

static int cmd_memory(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	u64(d, "flows_bytes", NULL, c.memory_bytes);
	u64(d, "limit_bytes", NULL, src->cfg->max_memory);
	u64(d, "max_flow_bytes", NULL, src->cfg->max_flow_memory);
	per_worker(d, "flows_bytes_per_worker", offsetof(struct dp_counters, memory_bytes));
	return 0;
}

static int cmd_protect(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < dp_nprotect_fields; i++)
		u64(d, dp_protect_fields[i].name, NULL, dp_counter_at(&c, dp_protect_fields[i].off));
	for (int r = 0; r < DP_PROTECT_COUNT; r++) {
		u64(d, "refused", dp_protect_names[r], c.protect_refused[r]);
		u64(d, "closed", dp_protect_names[r], c.protect_closed[r]);
		u64(d, "detected", dp_protect_names[r], c.protect_detected[r]);
		u64(d, "banned", dp_protect_names[r], c.protect_banned[r]);
	}
	per_worker(d, "emergency_per_worker", offsetof(struct dp_counters, protect_emergency));
	return 0;
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "mode", dp_mode_name(src->cfg->mode));
	rte_tel_data_add_dict_string(d, "starttls", dp_starttls_name(src->cfg->starttls));
	rte_tel_data_add_dict_string(d, "on_overload", dp_overload_name(src->cfg->on_overload));
	rte_tel_data_add_dict_string(d, "midstream", dp_midstream_name(src->cfg->midstream));
	rte_tel_data_add_dict_string(d, "rules", src->cfg->rules);
	if (src->ctl) {
		struct dp_bundle_info b;
		dp_control_info(src->ctl, &b);
		rte_tel_data_add_dict_u64(d, "bundle_id", b.id);
		rte_tel_data_add_dict_string(d, "bundle_digest", b.digest);
		rte_tel_data_add_dict_u64(d, "bundle_loaded_at", b.loaded_unix);
	}
	rte_tel_data_add_dict_u64(d, "workers", src->nworkers);
	rte_tel_data_add_dict_u64(d, "uptime_seconds",
	                          (rte_rdtsc() - src->started_tsc) / rte_get_tsc_hz());
	return 0;
}

int dp_telemetry_register(const struct dp_telemetry_src *s)
{
	src = s;
	struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{"/sluice/info", cmd_info, "Mode, policies, workers, uptime."},
		{"/sluice/ports", cmd_ports, "Packets and bytes per port (outside, inside), in total and per worker; injected and rebuilt segments."},
		{"/sluice/flows", cmd_flows, "Flows active/created/closed/expired, SMTP found by content, uninspected by reason, STARTTLS."},
		{"/sluice/messages", cmd_messages, "Messages, verdicts by action, enforcements, journal hand-overs."},
		{"/sluice/rules", cmd_rules, "Messages each rule fired on ('.' and '-' in ids appear as '_')."},
		{"/sluice/drops", cmd_drops, "Packets not forwarded, by reason."},
		{"/sluice/memory", cmd_memory, "Bytes held by flows (buffers, out-of-order segments), limits."},
		{"/sluice/protect", cmd_protect, "Protection: SYNs admitted/refused, sessions closed, detections, bans by reason; sources."},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help) != 0)
			return -1;
	return 0;
}
