#include "metrics.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "link.h"
#include "pool.h"
#include "promfmt.h"

#define SCRAPE_LOCK_WAIT_MS 1000

static struct MHD_Daemon *daemon_handle;

static void add_control(struct prom *p, struct ctl *c)
{
	static const char *const results[] = {"ok", "pending", "refused", "not_compiled"};
	atomic_ullong *counts[] = {&c->pushes_ok, &c->pushes_pending, &c->pushes_refused, &c->pushes_not_compiled};
	for (int i = 0; i < 4; i++) {
		const char *l[] = {"result", results[i], NULL};
		prom_add(p, "sluice_control_pushes_total", "counter", "Rule pushes, by result", l,
		         (double)atomic_load(counts[i]));
	}
	prom_add(p, "sluice_control_rollbacks_total", "counter", "Rollbacks", NULL, (double)atomic_load(&c->rollbacks));
	prom_add(p, "sluice_control_knob_changes_total", "counter", "knob.set requests", NULL,
	         (double)atomic_load(&c->knob_changes));
	prom_add(p, "sluice_control_refused_clients_total", "counter",
	         "CLI connections closed: the peer was neither root nor in the socket's group", NULL,
	         (double)atomic_load(&c->requests_refused_peer));
	prom_add(p, "sluice_control_uptime_seconds", "gauge", "Seconds since sluice-control started", NULL,
	         (double)(time(NULL) - c->started));
	pthread_mutex_lock(&c->state_lock);
	uint64_t lines;
	const char *head;
	store_audit_head(&c->store, &lines, &head);
	pthread_mutex_unlock(&c->state_lock);
	prom_add(p, "sluice_control_audit_lines", "gauge", "Lines in the audit log", NULL, (double)lines);
}

/* The dataplane's mail-host pool (docs/pool.md), when it has one: per host its state,
 * weight and counters, and the health sluice-control's checks see. */
static void add_pool(struct prom *p, struct ctl *c, struct dp_link *l)
{
	json_t *req = json_pack("{s:s}", "op", "pool.get");
	char err[300];
	json_t *a = link_request(l, req, NULL, 0, (int)c->conf.request_timeout_ms, SCRAPE_LOCK_WAIT_MS, NULL,
	                         NULL, err, sizeof err);
	json_decref(req);
	static const struct {
		const char *key, *family, *type, *help;
	} fields[] = {
		{"weight", "sluice_pool_host_weight", "gauge", "The host's weight in the pool's table"},
		{"active", "sluice_pool_host_active", "gauge", "The host's connections not closed yet"},
		{"connections", "sluice_pool_host_connections_total", "counter", "Connections given to the host"},
		{"messages", "sluice_pool_host_messages_total", "counter", "Messages ended on the host's connections"},
		{"bytes_in", "sluice_pool_host_bytes_in_total", "counter", "Payload bytes from clients to the host"},
		{"bytes_out", "sluice_pool_host_bytes_out_total", "counter", "Payload bytes from the host to clients"},
		{"reset_down", "sluice_pool_host_reset_down_total", "counter", "Connections reset because the host went down"},
	};
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(a, "hosts"), i, h) {
		const char *host = json_string_value(json_object_get(h, "name"));
		const char *state = json_string_value(json_object_get(h, "state"));
		if (!host || !state)
			continue;
		const char *hl[] = {"dataplane", l->conf->name, "host", host, NULL};
		for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
			prom_add(p, fields[f].family, fields[f].type, fields[f].help, hl,
			         (double)json_integer_value(json_object_get(h, fields[f].key)));
		static const char *const states[] = {"up", "drain", "down"};
		for (size_t k = 0; k < 3; k++) {
			const char *sl[] = {"dataplane", l->conf->name, "host", host, "state", states[k], NULL};
			prom_add(p, "sluice_pool_host_state", "gauge", "1 for the host's state in the dataplane's pool", sl,
			         strcmp(state, states[k]) == 0);
		}
		json_t *health = pool_health_json(host);
		const char *hv = json_string_value(json_object_get(health, "health"));
		prom_add(p, "sluice_pool_host_healthy", "gauge",
		         "1 when sluice-control's checks pass, 0 when they fail, -1 not known (yet)", hl,
		         strcmp(hv, "up") == 0 ? 1 : strcmp(hv, "down") == 0 ? 0 : -1);
		json_decref(health);
	}
	json_decref(a);
}

static void add_dataplane(struct prom *p, struct ctl *c, struct dp_link *l)
{
	const char *name = l->conf->name;
	const char *dl[] = {"dataplane", name, NULL};
	struct dp_wanted w;
	ctl_wanted(c, name, &w);
	prom_add(p, "sluice_control_bundle_wanted", "gauge",
	         "The version each dataplane should run (-1: none pushed yet)", dl, (double)w.version);
	json_t *req = json_object();
	json_object_set_new(req, "op", json_string("stats"));
	char err[300];
	json_t *a = link_request(l, req, NULL, 0, (int)c->conf.request_timeout_ms, SCRAPE_LOCK_WAIT_MS, NULL,
	                         NULL, err, sizeof err);
	json_decref(req);
	json_t *stats = json_object_get(a, "stats");
	bool ok = a && json_is_true(json_object_get(a, "ok")) && json_is_object(stats);
	if (ok)
		prom_add_dp_stats(p, name, stats);
	json_decref(a);
	pthread_mutex_lock(&l->mu);
	bool up = l->up;
	json_t *bundle = json_object_get(l->hello, "bundle");
	json_t *id = json_object_get(bundle, "id");
	double running = json_is_integer(id) ? (double)json_integer_value(id) : -1;
	double uptime = json_number_value(json_object_get(l->hello, "uptime_s"));
	double loads = (double)l->loads, failures = (double)l->load_failures;
	bool has_pool = json_integer_value(json_object_get(l->hello, "pool")) > 0;
	pthread_mutex_unlock(&l->mu);
	prom_add(p, "sluice_dp_up", "gauge", "1 when sluice-control reaches the dataplane", dl, up ? 1 : 0);
	prom_add(p, "sluice_dp_scrape_ok", "gauge", "1 when this scrape got the dataplane's counters", dl, ok ? 1 : 0);
	if (up) {
		prom_add(p, "sluice_dp_bundle_running", "gauge", "The version the dataplane runs (-1: not one of ours)",
		         dl, running);
		prom_add(p, "sluice_dp_uptime_seconds", "gauge", "Seconds since the dataplane started", dl, uptime);
	}
	if (up && has_pool)
		add_pool(p, c, l);
	prom_add(p, "sluice_control_bundle_loads_total", "counter", "Versions a dataplane loaded from this control",
	         dl, loads);
	prom_add(p, "sluice_control_bundle_load_failures_total", "counter", "Versions a dataplane refused", dl,
	         failures);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type,
                              const char *text, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size,
                              void **con_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	struct ctl *c = cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(conn, 405, "text/plain", "only GET\n", 9);
	if (strcmp(url, "/metrics") != 0)
		return answer(conn, 404, "text/plain", "see /metrics\n", 13);
	struct prom *p = prom_new();
	if (!p)
		return answer(conn, 500, "text/plain", "out of memory\n", 14);
	add_control(p, c);
	for (unsigned i = 0; i < c->nlinks; i++)
		add_dataplane(p, c, &c->links[i]);
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	enum MHD_Result rc;
	if (prom_write(p, &out))
		rc = answer(conn, 200, "text/plain; version=0.0.4; charset=utf-8", out.s, out.len);
	else
		rc = answer(conn, 500, "text/plain", "out of memory\n", 14);
	sl_strbuf_free(&out);
	prom_free(p);
	return rc;
}

int metrics_start(struct ctl *c, char *err, size_t errlen)
{
	const char *listen = c->conf.metrics_listen;
	if (!*listen)
		return 0;
	char host[128];
	const char *colon = strrchr(listen, ':');
	snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[') { /* [v6] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "[metrics] listen %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	daemon_handle = MHD_start_daemon(flags, 0, NULL, NULL, handle, c,
	                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                                 MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!daemon_handle) {
		snprintf(err, errlen, "[metrics] cannot listen on %s (in use?)", listen);
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	if (daemon_handle)
		MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
}
