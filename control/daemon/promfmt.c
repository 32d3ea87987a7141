#include "promfmt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
	char *name, *type, *help;
	struct sl_strbuf samples;
};

struct prom {
	struct family *f;
	size_t n, cap;
	bool failed;
};

struct prom *prom_new(void)
{
	return calloc(1, sizeof(struct prom));
}

void prom_free(struct prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].name);
		free(p->f[i].type);
		free(p->f[i].help);
		sl_strbuf_free(&p->f[i].samples);
	}
	free(p->f);
	free(p);
}

void prom_name(const char *in, char *out, size_t outlen)
{
	size_t k = 0;
	if (outlen == 0)
		return;
	if (isdigit((unsigned char)*in) && k + 1 < outlen)
		out[k++] = '_';
	for (; *in && k + 1 < outlen; in++)
		out[k++] = isalnum((unsigned char)*in) || *in == '_' || *in == ':' ? *in : '_';
	out[k] = 0;
}

static struct family *family(struct prom *p, const char *name, const char *type, const char *help)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->f[i].name, name) == 0)
			return &p->f[i];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct family *g = realloc(p->f, cap * sizeof *g);
		if (!g)
			return NULL;
		p->f = g;
		p->cap = cap;
	}
	struct family *f = &p->f[p->n];
	memset(f, 0, sizeof *f);
	f->name = strdup(name);
	f->type = strdup(type);
	f->help = strdup(help ? help : "");
	sl_strbuf_init(&f->samples);
	if (!f->name || !f->type || !f->help) {
		free(f->name);
		free(f->type);
		free(f->help);
		return NULL;
	}
	p->n++;
	return f;
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(struct sl_strbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sl_strbuf_putc(b, '\\'), sl_strbuf_putc(b, *v);
		else if (*v == '\n')
			sl_strbuf_puts(b, "\\n");
		else
			sl_strbuf_putc(b, *v);
	}
}

static void number(struct sl_strbuf *b, double v)
{
	if (isnan(v))
		sl_strbuf_puts(b, "NaN");
	else if (isinf(v))
		sl_strbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (fabs(v) < 9.007199254740992e15 && v == (double)(long long)v)
		sl_strbuf_printf(b, "%lld", (long long)v);
	else
		sl_strbuf_printf(b, "%.17g", v);
}

void prom_add(struct prom *p, const char *name, const char *type, const char *help,
              const char *const *labels, double value)
{
	struct family *f = family(p, name, type, help);
	if (!f) {
		p->failed = true;
		return;
	}
	struct sl_strbuf *b = &f->samples;
	sl_strbuf_puts(b, name);
	if (labels && labels[0]) {
		sl_strbuf_putc(b, '{');
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			char ln[128];
			prom_name(labels[i], ln, sizeof ln);
			sl_strbuf_printf(b, "%s%s=\"", i ? "," : "", ln);
			label_value(b, labels[i + 1]);
			sl_strbuf_putc(b, '"');
		}
		sl_strbuf_putc(b, '}');
	}
	sl_strbuf_putc(b, ' ');
	number(b, value);
	sl_strbuf_putc(b, '\n');
}

bool prom_write(const struct prom *p, struct sl_strbuf *out)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct family *f = &p->f[i];
		sl_strbuf_printf(out, "# HELP %s ", f->name);
		for (const char *h = f->help; *h; h++) { /* help escapes backslash and newline */
			if (*h == '\\')
				sl_strbuf_puts(out, "\\\\");
			else if (*h == '\n')
				sl_strbuf_puts(out, "\\n");
			else
				sl_strbuf_putc(out, *h);
		}
		sl_strbuf_printf(out, "\n# TYPE %s %s\n", f->name, f->type);
		sl_strbuf_put(out, f->samples.s, f->samples.len);
		if (f->samples.failed)
			return false;
	}
	return !p->failed && !out->failed;
}

/* ---- the dataplane's stats JSON ----------------------------------------------------- */

/* Objects whose keys are a label's values: {"verdicts": {"pass": 3, ...}} becomes
 * sluice_dp_verdicts_total{action="pass"}. */
static const struct {
	const char *path, *family, *label, *help;
} labelled[] = {
	{"verdicts", "sluice_dp_verdicts_total", "action", "Messages judged, by verdict action"},
	{"rules", "sluice_dp_rule_hits_total", "rule", "Messages on which each rule fired"},
	{"drops", "sluice_dp_drops_total", "reason", "Packets dropped, by reason (docs/dataplane.md)"},
	{"flows.uninspected", "sluice_dp_flows_uninspected_total", "reason", "Flows passed uninspected, by reason"},
};

/* Values that go up and down (the loop's quantiles are since start, but not monotonic). */
static const char *const gauges[] = {"flows.active", "flows.embryonic", "memory_bytes",
                                     "loop.p50_ns", "loop.p99_ns", "loop.max_ns"};

/* Families that read better than their path, in base units (Prometheus: seconds). */
static const struct {
	const char *path, *family;
	double scale;
} renamed[] = {
	{"messages.total", "sluice_dp_messages_total", 1},
	{"loop.p50_ns", "sluice_dp_loop_p50_seconds", 1e-9},
	{"loop.p99_ns", "sluice_dp_loop_p99_seconds", 1e-9},
	{"loop.max_ns", "sluice_dp_loop_max_seconds", 1e-9},
};

static bool is_gauge(const char *path)
{
	for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++)
		if (strcmp(gauges[i], path) == 0)
			return true;
	return false;
}

static void add_value(struct prom *p, const char *dp, const char *path, const json_t *v,
                      const char *port)
{
	char fam[256], base[200];
	const char *name = NULL;
	double scale = 1;
	for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
		if (strcmp(renamed[i].path, path) == 0) {
			name = renamed[i].family;
			scale = renamed[i].scale;
		}
	bool gauge = is_gauge(path);
	if (!name) {
		prom_name(path, base, sizeof base);
		snprintf(fam, sizeof fam, "sluice_dp_%s%s", base, gauge ? "" : "_total");
		name = fam;
	}
	const char *labels[] = {"dataplane", dp, port ? "port" : NULL, port, NULL};
	char help[300];
	snprintf(help, sizeof help, "sluice-dp counter %s (docs/dataplane.md)", path);
	prom_add(p, name, gauge ? "gauge" : "counter", help, labels, json_number_value(v) * scale);
}

static void walk(struct prom *p, const char *dp, const char *path, const json_t *obj)
{
	for (size_t i = 0; i < sizeof labelled / sizeof labelled[0]; i++)
		if (strcmp(labelled[i].path, path) == 0) {
			const char *key;
			json_t *v;
			json_object_foreach((json_t *)obj, key, v)
				if (json_is_number(v)) {
					const char *labels[] = {"dataplane", dp, labelled[i].label, key, NULL};
					prom_add(p, labelled[i].family, "counter", labelled[i].help, labels, json_number_value(v));
				}
			return;
		}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		char sub[256];
		snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
		if (json_is_number(v))
			add_value(p, dp, sub, v, NULL);
		else if (json_is_object(v))
			walk(p, dp, sub, v);
	}
}

void prom_add_dp_stats(struct prom *p, const char *dp, const json_t *stats)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)stats, key, v) {
		if (strcmp(key, "ports") == 0 && json_is_object(v)) {
			/* {"ports": {"outside": {"rx_packets": ..}}}: sluice_dp_port_rx_packets_total{port} */
			const char *port;
			json_t *counters;
			json_object_foreach(v, port, counters) {
				const char *field;
				json_t *n;
				json_object_foreach(counters, field, n)
					if (json_is_number(n)) {
						char path[200];
						snprintf(path, sizeof path, "port.%s", field);
						add_value(p, dp, path, n, port);
					}
			}
		} else if (json_is_number(v)) {
			add_value(p, dp, key, v, NULL);
		} else if (json_is_object(v)) {
			walk(p, dp, key, v);
		}
	}
}
