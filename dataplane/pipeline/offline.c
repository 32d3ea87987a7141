#include "pipeline/offline.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/dumpsink.h"
#include "smtp/rules.h"
#include "pipeline/inspect.h"

/* Link types whose frames we turn into Ethernet frames for the parser. */
#define LINKTYPE_NULL 0
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define LINKTYPE_LOOP 108
#define LINKTYPE_LINUX_SLL 113
#define LINKTYPE_IPV4 228
#define LINKTYPE_IPV6 229
#define LINKTYPE_LINUX_SLL2 276
#define DLT_RAW_BSD 12
#define DLT_RAW_OPENBSD 14

/* An Ethernet frame for the packet: the frame itself, or a made-up Ethernet header in
 * front of its IP datagram. Returns the length, 0 to skip. */
static size_t to_ethernet(int link, const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	size_t skip;
	uint16_t et = 0;
	switch (link) {
	case LINKTYPE_ETHERNET:
		if (n > cap)
			n = cap;
		memcpy(out, p, n);
		return n;
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		skip = 4;
		break;
	case LINKTYPE_RAW:
	case DLT_RAW_BSD:
	case DLT_RAW_OPENBSD:
	case LINKTYPE_IPV4:
	case LINKTYPE_IPV6:
		skip = 0;
		break;
	case LINKTYPE_LINUX_SLL:
		if (n < 16)
			return 0;
		skip = 16;
		et = (uint16_t)(p[14] << 8 | p[15]);
		break;
	case LINKTYPE_LINUX_SLL2:
		if (n < 20)
			return 0;
		skip = 20;
		et = (uint16_t)(p[0] << 8 | p[1]);
		break;
	default:
		return 0;
	}
	if (n <= skip)
		return 0;
	p += skip;
	n -= skip;
	if (!et)
		et = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
	if (n + 14 > cap)
		n = cap - 14;
	memset(out, 0, 12);
	out[0] = 0x02; /* locally administered, made up */
	out[6] = 0x02;
	out[5] = 2;
	out[11] = 1;
	out[12] = (uint8_t)(et >> 8);
	out[13] = (uint8_t)et;
	memcpy(out + 14, p, n);
	return n + 14;
}

static bool gzipped(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	int a = fgetc(f), b = fgetc(f);
	fclose(f);
	return a == 0x1f && b == 0x8b;
}

static char *shell_quote(const char *s)
{
	size_t n = 3;
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	char *q = malloc(n), *o = q;
	if (!q)
		return NULL;
	*o++ = '\'';
	for (const char *c = s; *c; c++) {
		if (*c == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *c;
		}
	}
	*o++ = '\'';
	*o = 0;
	return q;
}

/* gzip input is decompressed into an anonymous temporary file first (libpcap reads
 * pcap and pcapng, not gzip). */
static pcap_t *open_capture(const char *path, char *err)
{
	if (!gzipped(path))
		return pcap_open_offline(path, err);
	char *q = shell_quote(path);
	char cmd[4200];
	if (!q || snprintf(cmd, sizeof cmd, "gzip -dc %s", q) >= (int)sizeof cmd) {
		free(q);
		snprintf(err, PCAP_ERRBUF_SIZE, "path too long");
		return NULL;
	}
	free(q);
	FILE *in = popen(cmd, "r"), *tmp = tmpfile();
	if (!in || !tmp) {
		if (in)
			pclose(in);
		if (tmp)
			fclose(tmp);
		snprintf(err, PCAP_ERRBUF_SIZE, "cannot decompress");
		return NULL;
	}
	char buf[65536];
	size_t n;
	bool ok = true;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, tmp) != n)
			ok = false;
	if (pclose(in) != 0 || !ok) {
		fclose(tmp);
		snprintf(err, PCAP_ERRBUF_SIZE, "gzip -dc failed (corrupt or truncated file)");
		return NULL;
	}
	rewind(tmp);
	pcap_t *pc = pcap_fopen_offline(tmp, err); /* pcap_close closes tmp */
	if (!pc)
		fclose(tmp);
	return pc;
}

int dp_offline_run(const struct dp_config *cfg, const char *capture, const char *dump_dir)
{
	char err[PCAP_ERRBUF_SIZE + 256];
	struct sl_policy *policy = NULL;
	if (cfg->rules[0] && cfg->mode == DP_MODE_ENFORCE) {
		struct sl_policy_diag diag;
		policy = sl_policy_load(cfg->rules, &diag);
		if (!policy) {
			struct sl_strbuf b;
			sl_strbuf_init(&b);
			sl_policy_diag_format(&diag, &b);
			fprintf(stderr, "sluice-dp: %s\n", b.s ? b.s : cfg->rules);
			sl_strbuf_free(&b);
			return 2;
		}
		if (!dp_policy_spam_model(policy, cfg->spam_model, err, sizeof err)) {
			fprintf(stderr, "sluice-dp: %s\n", err);
			sl_policy_unref(policy);
			return 2;
		}
	}
	pcap_t *pc = open_capture(capture, err);
	if (!pc) {
		fprintf(stderr, "sluice-dp: %s: %s\n", capture, err);
		if (policy)
			sl_policy_unref(policy);
		return 1;
	}
	struct dp_sink dump;
	if (dp_dumpsink_open(&dump, dump_dir, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: %s\n", err);
		pcap_close(pc);
		if (policy)
			sl_policy_unref(policy);
		return 1;
	}
	static struct dp_counters ctr;
	static struct dp_inspector in;
	int status = 0;
	if (dp_inspector_init(&in, cfg, true, policy, &ctr, cfg->max_memory) != 0) {
		fprintf(stderr, "sluice-dp: out of memory\n");
		status = 1;
		goto out;
	}
	in.ctx.dump = &dump;
	int link = pcap_datalink(pc);
	static uint8_t frame[65536 + 64];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	uint64_t packets = 0, skipped = 0, last_tick = 0;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		size_t n = to_ethernet(link, data, h->caplen, frame, sizeof frame);
		if (!n) {
			skipped++;
			continue;
		}
		packets++;
		in.ctx.now_ms = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
		struct dp_out out;
		dp_inspect_frame(&in, frame, n, DP_OUTSIDE, &out);
		if (in.ctx.now_ms - last_tick >= 1000) {
			dp_inspect_tick(&in, NULL, NULL);
			last_tick = in.ctx.now_ms;
		}
	}
	if (rc == -1) {
		/* a truncated capture still gives what it holds */
		fprintf(stderr, "sluice-dp: %s: %s (reading stopped there)\n", capture, pcap_geterr(pc));
	}
	dp_inspect_finish(&in);
	dp_inspector_free(&in);
	uint64_t written, seen;
	dp_dumpsink_counts(&dump, &written, &seen);
	printf("sluice-dp: offline %s: %llu packets (%llu skipped), %llu flows, %llu messages, %llu written\n",
	       capture, (unsigned long long)packets, (unsigned long long)skipped,
	       (unsigned long long)ctr.flows_created, (unsigned long long)seen,
	       (unsigned long long)written);
out:
	dump.ops->free(dump.impl);
	pcap_close(pc);
	if (policy)
		sl_policy_unref(policy);
	return status;
}
