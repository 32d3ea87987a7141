#include "telemetry.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "control.h"
#include "pipeline/rulehits.h"

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

/* The scalar counters telemetry command cmd shows (DP_SCALAR_COUNTERS), with the
 * per-worker arrays of those that have one. */
static void tel_group(struct rte_tel_data *d, const struct dp_counters *c, enum dp_tel_cmd cmd)
{
	for (unsigned i = 0; i < dp_nscalar_fields; i++) {
		const struct dp_counter_field *f = &dp_scalar_fields[i];
		if (f->tel != cmd)
			continue;
		u64(d, f->tel_name, NULL, dp_counter_at(c, f->off));
		if (f->per_worker) {
			char k[64];
			snprintf(k, sizeof k, "%s_per_worker", f->tel_name);
			per_worker(d, k, f->off);
		}
	}
}

static int cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (int r = 0; r < DP_NROLES; r++)
		for (unsigned i = 0; i < dp_nport_fields; i++) {
			const struct dp_counter_field *f = &dp_port_fields[i];
			size_t off = f->off + (size_t)r * sizeof(uint64_t);
			u64(d, dp_role_names[r], f->name, dp_counter_at(&c, off));
			if (f->per_worker) {
				char k[64];
				snprintf(k, sizeof k, "%s_%s_per_worker", dp_role_names[r], f->name);
				per_worker(d, k, off);
			}
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
	tel_group(d, &c, DP_TEL_FLOWS);
	for (int i = 0; i < DP_UNINSPECTED_COUNT; i++)
		u64(d, "uninspected", dp_uninspected_names[i], c.uninspected[i]);
	return 0;
}

static int cmd_messages(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	for (int i = 0; i < DP_NACTIONS; i++)
		u64(d, "verdict", dp_action_names[i], c.verdicts[i]);
	tel_group(d, &c, DP_TEL_MESSAGES);
	u64(d, "journal_backlog", NULL, dp_journal_backlog(&c));
	return 0;
}

/* TSC cycles per stage of the poll loop, in total, per worker and per packet received. */
static int cmd_stages(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	uint64_t packets = 0;
	for (int r = 0; r < DP_NROLES; r++)
		packets += c.rx_packets[r];
	for (int i = 0; i < DP_STAGE_COUNT; i++) {
		char k[64];
		u64(d, dp_stage_names[i], "cycles", c.stage_cycles[i]);
		u64(d, dp_stage_names[i], "cycles_per_packet", packets ? c.stage_cycles[i] / packets : 0);
		snprintf(k, sizeof k, "%s_cycles_per_worker", dp_stage_names[i]);
		per_worker(d, k, offsetof(struct dp_counters, stage_cycles) + (size_t)i * sizeof(uint64_t));
	}
	u64(d, "bursts", NULL, c.stage_bursts);
	u64(d, "packets", NULL, packets);
	u64(d, "tsc_hz", NULL, rte_get_tsc_hz());
	return 0;
}

static int cmd_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_rule_totals t;
	if (!dp_rulehits_totals(src->rule_hits, &t))
		return -ENOMEM;
	dp_rule_totals_top(&t, RTE_TEL_MAX_DICT_ENTRIES - 1);
	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < t.n; i++)
		u64(d, t.v[i].id, NULL, t.v[i].hits);
	if (t.other)
		u64(d, "other_rules", NULL, t.other);
	dp_rule_totals_free(&t);
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
	tel_group(d, &c, DP_TEL_MEMORY);
	u64(d, "limit_bytes", NULL, src->cfg->max_memory);
	u64(d, "max_flow_bytes", NULL, src->cfg->max_flow_memory);
	return 0;
}

static int cmd_protect(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct dp_counters c;
	dp_telemetry_sum(src, &c);
	rte_tel_data_start_dict(d);
	tel_group(d, &c, DP_TEL_PROTECT);
	for (int r = 0; r < DP_PROTECT_COUNT; r++) {
		u64(d, "refused", dp_protect_names[r], c.protect_refused[r]);
		u64(d, "closed", dp_protect_names[r], c.protect_closed[r]);
		u64(d, "detected", dp_protect_names[r], c.protect_detected[r]);
		u64(d, "banned", dp_protect_names[r], c.protect_banned[r]);
	}
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
		{"/sluice/stages", cmd_stages, "TSC cycles each stage of the workers' poll loop took (rx, decode, inspect, tx, timers): total, per packet, per worker."},
		{"/sluice/protect", cmd_protect, "Protection: SYNs admitted/refused, sessions closed, detections, bans by reason; sources."},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help) != 0)
			return -1;
	return 0;
}
