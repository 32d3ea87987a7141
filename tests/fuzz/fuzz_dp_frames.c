/* libFuzzer: frames of both directions through sluice-dp's per-frame pipeline (frame
 * parser, flow table, TCP normalization, SMTP engine, policy, enforcement, segment
 * builder), inline or passive. Input: one flags byte, then frames as [len:2 BE][role:1]
 * [bytes]. Every segment the dataplane builds must parse back as TCP with a valid
 * checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/inspect.h"

static struct sl_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char rules[] =
		"rule f.reject { match raw \"FORBIDDEN\" action reject \"554 5.7.1 no\" }\n"
		"rule f.quarantine { match raw \"SECRET\" action quarantine }\n"
		"rule f.later { match raw \"LATER\" action tempfail }\n"
		"rule f.smuggling { match signal smtp.smuggling action reject }\n"
		"rule f.overlap { match signal tcp.overlap action reject }\n";
	char path[] = "/tmp/fuzz-dp-rules-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, rules, sizeof rules - 1) != (ssize_t)(sizeof rules - 1))
		abort();
	close(fd);
	struct sl_policy_diag diag;
	policy = sl_policy_load(path, &diag);
	unlink(path);
	if (!policy)
		abort();
	return 0;
}

static void check_built(void *arg, const struct dp_flow *f, const struct dp_out *out)
{
	(void)arg;
	if (out->n > DP_MAX_EMIT)
		abort();
	for (unsigned i = 0; i < out->n; i++) {
		uint8_t buf[2048];
		size_t n = dp_flow_build(f, &out->e[i], buf, sizeof buf);
		if (!n)
			continue; /* no template (a flow that never showed a usable header) */
		struct dp_pkt p;
		if (dp_pkt_parse(buf, n, &p) != DP_PKT_TCP || !dp_pkt_tcp_csum_ok(buf, &p))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	static struct dp_config cfg;
	dp_config_default(&cfg);
	cfg.max_flows = 64;
	cfg.max_ooo_segments = 8;
	cfg.max_flow_memory = 64 * 1024;
	cfg.on_overload = flags & 2 ? DP_OVERLOAD_CLOSED : DP_OVERLOAD_OPEN;
	cfg.direction_check = flags & 128;
	cfg.starttls = flags & 4 ? DP_STARTTLS_STRIP : flags & 8 ? DP_STARTTLS_BLOCK : DP_STARTTLS_ALLOW;
	cfg.detect = flags & 16;
	cfg.verify_checksums = flags & 32;
	cfg.mode = flags & 64 ? DP_MODE_SMTP : DP_MODE_ENFORCE;
	bool passive = flags & 1;
	static struct dp_counters ctr;
	static struct dp_inspector in;
	memset(&ctr, 0, sizeof ctr);
	if (dp_inspector_init(&in, &cfg, passive, policy, &ctr, 1 << 20) != 0)
		abort();
	size_t off = 1;
	unsigned k = 0;
	while (off + 3 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		int role = data[off + 2] & 1;
		off += 3;
		if (len > size - off)
			len = size - off;
		uint8_t *frame = malloc(len ? len : 1); /* exact size: ASan sees overreads */
		memcpy(frame, data + off, len);
		off += len;
		in.ctx.now_ms += 7;
		struct dp_out out;
		const struct dp_flow *f = dp_inspect_frame(&in, frame, len, role, &out);
		if (f)
			check_built(NULL, f, &out);
		free(frame);
		if (++k % 8 == 0) {
			in.ctx.now_ms += 500;
			dp_inspect_tick(&in, check_built, NULL);
		}
	}
	if (passive)
		dp_inspect_finish(&in);
	dp_inspector_free(&in);
	return 0;
}
