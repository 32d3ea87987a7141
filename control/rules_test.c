/* sluicectl rules test POLICY FILE.eml...: the verdict of each message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sluice/signals.h"

static void print_text(const char *file, const struct sl_verdict *v)
{
	enum sl_action a = v->action == SL_ACT_ALERT ? SL_ACT_PASS : v->action;
	printf("%s: %s", file, sl_action_name(a));
	if (v->action == SL_ACT_ALERT)
		printf(" (alert)");
	if (a != SL_ACT_PASS && v->reply)
		printf(" \"%s\"", v->reply);
	printf(", score %g, %s", v->score, sl_direction_name(v->direction));
	if (v->spam_probability >= 0)
		printf(", spam-probability %.6f", v->spam_probability);
	printf("\n");
	for (size_t i = 0; i < v->nhits; i++) {
		const struct sl_rule_hit *h = &v->hits[i];
		printf("  %-24s %-10s score %-5g count %-3u", h->id, sl_action_name(h->action), h->score, h->count);
		for (size_t k = 0; k < h->nevidence; k++) {
			const struct sl_evidence *e = &h->evidence[k];
			printf(" %s%s%s@%llu", e->scope, e->part[0] ? ":" : "", e->part, (unsigned long long)e->offset);
			if (e->match)
				printf("(%s)", e->match);
		}
		printf("\n");
	}
}

/* The matcher's events, with signals the dataplane raised around the message (smtp.gap,
 * tcp.overlap, ...) added before its end: what the file alone cannot show. */
struct with_signals {
	struct sl_msgscan *m;
	const char **names;
	size_t n;
};

static void feed_with_signals(void *ctx, const struct sl_event *ev)
{
	struct with_signals *w = ctx;
	if (ev->type == SL_EV_MESSAGE_END)
		for (size_t i = 0; i < w->n; i++) {
			struct sl_event sig = {.type = SL_EV_SIGNAL, .txn = ev->txn, .name = w->names[i],
			                       .value = "given on the command line"};
			sl_msgscan_event(w->m, &sig);
		}
	sl_msgscan_event(w->m, ev);
}

static bool parse_direction(const char *s, enum sl_direction *d)
{
	if (strcmp(s, "inbound") == 0)
		*d = SL_DIR_INBOUND;
	else if (strcmp(s, "outbound") == 0)
		*d = SL_DIR_OUTBOUND;
	else if (strcmp(s, "internal") == 0)
		*d = SL_DIR_INTERNAL;
	else
		return false;
	return true;
}

int rules_test(int argc, char **argv)
{
	const char *policy = NULL, *spam_model = NULL;
	bool json = false, show_quiet = false;
	enum sl_direction dir = SL_DIR_UNKNOWN;
	struct rules_envelope_opts env = {0};
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	const char **rcpt = calloc((size_t)argc + 1, sizeof *rcpt);
	const char **signals = calloc((size_t)argc + 1, sizeof *signals);
	size_t nfiles = 0, nsignals = 0;
	int rc = 0;
	if (!files || !rcpt || !signals) {
		fprintf(stderr, "sluicectl rules test: out of memory\n");
		free(files);
		free(rcpt);
		free(signals);
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--show-quiet") == 0) {
			show_quiet = true;
		} else if (strcmp(a, "--direction") == 0 && has_val) {
			if (!parse_direction(argv[++i], &dir)) {
				fprintf(stderr, "sluicectl rules test: --direction is inbound, outbound or internal\n");
				rc = 2;
				goto out;
			}
		} else if (strcmp(a, "--mail-from") == 0 && has_val) {
			env.mail_from = argv[++i];
		} else if (strcmp(a, "--rcpt") == 0 && has_val) {
			rcpt[env.nrcpt++] = argv[++i];
		} else if (strcmp(a, "--client-ip") == 0 && has_val) {
			env.client_ip = argv[++i];
		} else if (strcmp(a, "--spam-model") == 0 && has_val) {
			spam_model = argv[++i];
		} else if (strcmp(a, "--helo") == 0 && has_val) {
			env.helo = argv[++i];
		} else if (strcmp(a, "--signal") == 0 && has_val) {
			signals[nsignals] = argv[++i];
			if (sl_signal_lookup(signals[nsignals++]) == SL_SIG_COUNT) {
				fprintf(stderr, "sluicectl rules test: unknown signal %s (see rules signals)\n",
				        argv[i]);
				rc = 2;
				goto out;
			}
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "sluicectl rules test: unknown option %s\n", a);
			rc = 2;
			goto out;
		} else if (!policy) {
			policy = a;
		} else {
			files[nfiles++] = a;
		}
	}
	if (env.nrcpt)
		env.rcpt = rcpt;
	if (!policy || nfiles == 0) {
		fprintf(stderr, "usage: sluicectl rules test POLICY FILE.eml... [--json] "
		                "[--direction inbound|outbound|internal] [--mail-from ADDR] [--rcpt ADDR]... "
		                "[--client-ip IP] [--helo NAME] [--signal NAME]... [--spam-model MODEL] [--show-quiet]\n");
		rc = 2;
		goto out;
	}
	struct sl_policy *p = rules_load(policy);
	if (!p) {
		rc = 1;
		goto out;
	}
	sl_policy_show_quiet(p, show_quiet);
	struct sl_policy_diag diag;
	if (spam_model && !sl_policy_set_spam_model(p, spam_model, &diag)) {
		rules_print_diag(&diag);
		sl_policy_unref(p);
		rc = 1;
		goto out;
	}
	struct sl_scanner *sc = sl_scanner_new();
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	for (size_t f = 0; f < nfiles; f++) {
		size_t len;
		uint8_t *msg = sl_read_file(files[f], &len);
		if (!msg) {
			fprintf(stderr, "%s: cannot read: %m\n", files[f]);
			rc = 1;
			continue;
		}
		struct sl_msgscan *m = sc ? sl_msgscan_new(sc, p, dir) : NULL;
		struct with_signals w = {.m = m, .names = signals, .n = nsignals};
		const char *err = NULL;
		if (!m) {
			fprintf(stderr, "%s: out of memory\n", files[f]);
			rc = 1;
		} else if (!rules_feed_message(msg, len, &env, feed_with_signals, &w, &err) ||
		           !sl_msgscan_done(m)) {
			fprintf(stderr, "%s: %s\n", files[f], err ? err : "no verdict");
			rc = 1;
		} else if (json) {
			sl_strbuf_clear(&out);
			sl_strbuf_putc(&out, '{');
			sl_json_key(&out, "file", true);
			sl_json_str(&out, files[f]);
			sl_strbuf_putc(&out, ',');
			size_t at = out.len;
			sl_verdict_json(sl_msgscan_verdict(m), &out);
			if (sl_strbuf_failed(&out)) {
				fprintf(stderr, "%s: out of memory\n", files[f]);
				rc = 1;
			} else {
				/* splice: drop the verdict object's own opening brace */
				memmove(out.s + at, out.s + at + 1, out.len - at);
				out.len--;
				printf("%s\n", out.s);
			}
		} else {
			print_text(files[f], sl_msgscan_verdict(m));
		}
		fflush(stdout);
		sl_msgscan_free(m);
		free(msg);
	}
	sl_strbuf_free(&out);
	sl_scanner_free(sc);
	sl_policy_unref(p);
out:
	free(files);
	free(rcpt);
	free(signals);
	return rc;
}
