#include "poolctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "pipeline/inspect.h"
#include "pool/poolflow.h"
#include "listctl.h"
#include "worker.h"

struct dp_poolctl {
	struct dp_worker *workers;
	unsigned nworkers;
	struct dp_poolrt *rt[64];
	struct dp_pool_learned *learned;
	struct dp_pool *cur;     /* the version offered to the workers */
	struct dp_pool *stale;   /* one a worker may still read (its swap was not confirmed) */
	unsigned next_slot;      /* slots of added hosts go round: a removed host's counters stay a while */
};

struct dp_poolctl *dp_poolctl_new(const struct dp_config *cfg, struct dp_worker *workers, unsigned nworkers,
                                  const uint8_t port_mac[6], bool *failed)
{
	*failed = false;
	if (!cfg->pool.enabled)
		return NULL;
	*failed = true;
	struct dp_poolctl *pc = calloc(1, sizeof *pc);
	if (!pc || nworkers > sizeof pc->rt / sizeof pc->rt[0] || !(pc->learned = calloc(1, sizeof *pc->learned)) ||
	    !(pc->cur = calloc(1, sizeof *pc->cur))) {
		fprintf(stderr, "sluice-dp: pool: no memory\n");
		dp_poolctl_free(pc);
		return NULL;
	}
	char err[256];
	if (dp_pool_from_conf(pc->cur, &cfg->pool, port_mac, pc->learned, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: pool: %s\n", err);
		dp_poolctl_free(pc);
		return NULL;
	}
	pc->workers = workers;
	pc->nworkers = nworkers;
	pc->next_slot = cfg->pool.nhosts % DP_POOL_MAX_HOSTS;
	for (unsigned i = 0; i < nworkers; i++) {
		if (!workers[i].insp)
			continue;
		if (!(pc->rt[i] = calloc(1, sizeof *pc->rt[i]))) {
			fprintf(stderr, "sluice-dp: pool: no memory\n");
			dp_poolctl_free(pc);
			return NULL;
		}
		dp_pool_take(pc->rt[i], pc->cur);
		workers[i].insp->ctx.pool = pc->rt[i];
	}
	*failed = false;
	return pc;
}

void dp_poolctl_free(struct dp_poolctl *pc)
{
	if (!pc)
		return;
	for (unsigned i = 0; i < pc->nworkers; i++) {
		if (pc->rt[i] && pc->workers[i].insp)
			pc->workers[i].insp->ctx.pool = NULL;
		free(pc->rt[i]);
	}
	free(pc->cur);
	free(pc->stale);
	free(pc->learned);
	free(pc);
}

uint64_t dp_poolctl_version(const struct dp_poolctl *pc)
{
	return pc && pc->cur ? pc->cur->version : 0;
}

/* ---- pool.get ------------------------------------------------------------------------ */

static json_t *addrs_json(const struct dp_pool *p, const bool has[DP_NFAMS], const uint8_t addr[DP_NFAMS][16])
{
	json_t *a = json_array();
	char text[64];
	for (int fam = 0; fam < DP_NFAMS; fam++)
		if (has[fam] && p->has[fam]) {
			dp_pool_addr_text(fam, addr[fam], text, sizeof text);
			json_array_append_new(a, json_string(text));
		}
	return a;
}

static json_t *host_json(const struct dp_poolctl *pc, const struct dp_pool_host *h)
{
	struct dp_pool_host_stats s = {0};
	for (unsigned i = 0; i < pc->nworkers; i++) {
		if (!pc->rt[i])
			continue;
		/* counters another thread writes: whole 64-bit words, as telemetry reads them */
		const struct dp_pool_host_stats *w = &pc->rt[i]->stats.host[h->slot];
		s.connections += w->connections;
		s.active += w->active;
		s.bytes_in += w->bytes_in;
		s.bytes_out += w->bytes_out;
		s.messages += w->messages;
		s.reset_down += w->reset_down;
	}
	char mac[24] = "";
	uint8_t m[6];
	json_t *macs = json_object();
	for (int fam = 0; fam < DP_NFAMS; fam++)
		if (h->has[fam] && pc->cur->has[fam] && dp_pool_host_mac(pc->cur, h, fam, m)) {
			dp_pool_mac_text(m, mac, sizeof mac);
			json_object_set_new(macs, fam == DP_FAM4 ? "ipv4" : "ipv6", json_string(mac));
		}
	double share = (double)(h->entries[DP_FAM4] > h->entries[DP_FAM6] ? h->entries[DP_FAM4] : h->entries[DP_FAM6]) /
	               DP_MAGLEV_SIZE;
	return json_pack("{s:s, s:o, s:s, s:i, s:f, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "name", h->name,
	                 "addresses", addrs_json(pc->cur, h->has, h->addr), "state",
	                 dp_pool_state_name((enum dp_pool_state)h->state), "weight", (int)h->weight, "share", share,
	                 "mac", macs, "connections", (json_int_t)s.connections, "active", (json_int_t)s.active,
	                 "bytes_in", (json_int_t)s.bytes_in, "bytes_out", (json_int_t)s.bytes_out, "messages",
	                 (json_int_t)s.messages, "reset_down", (json_int_t)s.reset_down);
}

static json_t *op_get(struct dp_poolctl *pc)
{
	const struct dp_pool *p = pc->cur;
	json_t *hosts = json_array(), *ports = json_array();
	for (unsigned i = 0; i < p->nhosts; i++)
		json_array_append_new(hosts, host_json(pc, &p->host[i]));
	for (unsigned i = 0; i < p->nports; i++)
		json_array_append_new(ports, json_integer(p->ports[i]));
	struct dp_pool_stats sum = {0};
	for (unsigned i = 0; i < pc->nworkers; i++)
		if (pc->rt[i]) {
			const struct dp_pool_stats *w = &pc->rt[i]->stats;
			sum.arp_answers += w->arp_answers;
			sum.nd_answers += w->nd_answers;
			sum.probes += w->probes;
			sum.no_host += w->no_host;
			sum.no_mac += w->no_mac;
			sum.repicked += w->repicked;
		}
	char mac[24];
	dp_pool_mac_text(p->mac, mac, sizeof mac);
	return json_pack("{s:b, s:I, s:o, s:o, s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "ok", 1, "version",
	                 (json_int_t)p->version, "addresses", addrs_json(p, p->has, p->vip), "ports", ports, "mac",
	                 mac, "hosts", hosts, "counters", "arp_answers", (json_int_t)sum.arp_answers, "nd_answers",
	                 (json_int_t)sum.nd_answers, "probes", (json_int_t)sum.probes, "no_host",
	                 (json_int_t)sum.no_host, "no_mac", (json_int_t)sum.no_mac, "repicked",
	                 (json_int_t)sum.repicked);
}

/* ---- changes: a new version ------------------------------------------------------------ */

static struct dp_pool_host *find_host(struct dp_pool *p, const char *name)
{
	for (unsigned i = 0; name && i < p->nhosts; i++)
		if (strcmp(p->host[i].name, name) == 0)
			return &p->host[i];
	return NULL;
}

/* weight and state of a request, where given, onto h. NULL, or what is wrong. */
static const char *apply_fields(struct dp_pool_host *h, json_t *req)
{
	json_t *w = json_object_get(req, "weight"), *s = json_object_get(req, "state");
	if (w && (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > DP_MAGLEV_MAX_WEIGHT))
		return "weight must be an integer from 0 to 1000";
	enum dp_pool_state st;
	if (s && (!json_is_string(s) || dp_pool_state_parse(json_string_value(s), &st)))
		return "state must be up, drain or down";
	if (w)
		h->weight = (unsigned)json_integer_value(w);
	if (s)
		h->state = (uint8_t)st;
	return NULL;
}

/* pool.add: name, addresses [..], weight, state, mac. */
static const char *add_host(struct dp_poolctl *pc, struct dp_pool *p, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	if (!name || !dp_pool_valid_name(name))
		return "pool.add: name must be 1 to 63 letters, digits, '.', '-', '_'";
	if (find_host(p, name))
		return "pool.add: a host of that name is in the pool";
	if (p->nhosts == DP_POOL_MAX_HOSTS)
		return "pool.add: the pool is full (64 hosts)";
	struct dp_pool_host *h = &p->host[p->nhosts];
	memset(h, 0, sizeof *h);
	strcpy(h->name, name);
	h->weight = DP_POOL_DEFAULT_WEIGHT;
	h->state = DP_HOST_UP;
	json_t *addrs = json_object_get(req, "addresses"), *a;
	size_t i;
	if (!json_is_array(addrs))
		return "pool.add: addresses must be a list";
	json_array_foreach(addrs, i, a) {
		int fam;
		uint8_t bytes[16];
		if (!json_is_string(a) || dp_pool_parse_addr(json_string_value(a), &fam, bytes) || h->has[fam])
			return "pool.add: addresses: one IPv4 and/or one IPv6 address";
		h->has[fam] = true;
		memcpy(h->addr[fam], bytes, 16);
	}
	if (!(h->has[DP_FAM4] && p->has[DP_FAM4]) && !(h->has[DP_FAM6] && p->has[DP_FAM6]))
		return "pool.add: the host needs an address of the service address's family";
	const char *mac = json_string_value(json_object_get(req, "mac"));
	if (mac && *mac) {
		if (dp_pool_parse_mac(mac, h->mac))
			return "pool.add: mac must be a unicast MAC";
		h->mac_set = true;
	}
	const char *e = apply_fields(h, req);
	if (e)
		return e;
	/* a free slot, going round: a removed host's counters are not taken over at once */
	for (unsigned n = 0;; n++, pc->next_slot = (pc->next_slot + 1) % DP_POOL_MAX_HOSTS)
		if (p->by_slot[pc->next_slot] == DP_MAGLEV_NONE || n == DP_POOL_MAX_HOSTS)
			break;
	h->slot = (uint8_t)pc->next_slot;
	pc->next_slot = (pc->next_slot + 1) % DP_POOL_MAX_HOSTS;
	/* learned MACs of a slot's earlier host are not this one's */
	for (int fam = 0; fam < DP_NFAMS; fam++)
		__atomic_store_n(&pc->learned->mac[h->slot][fam], 0, __ATOMIC_RELAXED);
	p->nhosts++;
	return NULL;
}

static const char *change(struct dp_poolctl *pc, struct dp_pool *p, const char *op, json_t *req)
{
	if (strcmp(op, "pool.add") == 0)
		return add_host(pc, p, req);
	struct dp_pool_host *h = find_host(p, json_string_value(json_object_get(req, "name")));
	if (!h)
		return "no host of that name in the pool (pool.get lists them)";
	if (strcmp(op, "pool.set") == 0)
		return apply_fields(h, req);
	/* pool.remove: its connections finish on the host they have (the flow holds it) */
	memmove(h, h + 1, (size_t)(p->host + p->nhosts - (h + 1)) * sizeof *h);
	p->nhosts--;
	return NULL;
}

/* What changed for each host between two versions, on stderr and in the answer. */
static json_t *transitions(const struct dp_pool *old, const struct dp_pool *p)
{
	json_t *t = json_array();
	for (unsigned i = 0; i < p->nhosts; i++) {
		const struct dp_pool_host *h = &p->host[i];
		const struct dp_pool_host *o = NULL;
		for (unsigned j = 0; j < old->nhosts && !o; j++)
			if (strcmp(old->host[j].name, h->name) == 0)
				o = &old->host[j];
		const char *from = o ? dp_pool_state_name((enum dp_pool_state)o->state) : "absent";
		const char *to = dp_pool_state_name((enum dp_pool_state)h->state);
		if (o && o->state == h->state && o->weight == h->weight)
			continue;
		json_array_append_new(t, json_pack("{s:s, s:s, s:s, s:i}", "host", h->name, "from", from, "to", to,
		                                   "weight", (int)h->weight));
	}
	for (unsigned j = 0; j < old->nhosts; j++) {
		bool kept = false;
		for (unsigned i = 0; i < p->nhosts && !kept; i++)
			kept = strcmp(old->host[j].name, p->host[i].name) == 0;
		if (!kept)
			json_array_append_new(t, json_pack("{s:s, s:s, s:s}", "host", old->host[j].name, "from",
			                                   dp_pool_state_name((enum dp_pool_state)old->host[j].state),
			                                   "to", "absent"));
	}
	size_t i;
	json_t *x;
	json_array_foreach(t, i, x) {
		fprintf(stderr, "sluice-dp: pool v%llu: host %s %s -> %s\n", (unsigned long long)p->version,
		        json_string_value(json_object_get(x, "host")), json_string_value(json_object_get(x, "from")),
		        json_string_value(json_object_get(x, "to")));
	}
	return t;
}

static json_t *op_change(struct dp_poolctl *pc, struct dp_control *c, const char *op, json_t *req)
{
	if (pc->stale) {
		/* the last swap was not confirmed: the version before it goes only once every
		 * worker has moved on */
		if (!dp_control_publish_pool(c, pc->cur))
			return dp_ctl_failure("%s: a worker has not taken the previous version yet (stalled?)", op);
		free(pc->stale);
		pc->stale = NULL;
	}
	struct dp_pool *p = malloc(sizeof *p);
	if (!p)
		return dp_ctl_failure("%s: no memory", op);
	memcpy(p, pc->cur, sizeof *p);
	char err[256];
	const char *e = change(pc, p, op, req);
	if (e || dp_pool_build(p, err, sizeof err)) {
		json_t *ans = dp_ctl_failure("%s: %s", op, e ? e : err);
		free(p);
		return ans;
	}
	p->version = pc->cur->version + 1;
	json_t *t = transitions(pc->cur, p);
	bool confirmed = dp_control_publish_pool(c, p);
	if (confirmed)
		free(pc->cur);
	else
		pc->stale = pc->cur;
	pc->cur = p;
	return json_pack("{s:b, s:I, s:b, s:o}", "ok", 1, "version", (json_int_t)p->version, "confirmed", confirmed,
	                 "changes", t);
}

json_t *dp_poolctl_handle(struct dp_poolctl *pc, struct dp_control *c, const char *op, json_t *req)
{
	if (strncmp(op, "pool.", 5) != 0)
		return NULL;
	if (!pc)
		return dp_ctl_failure("%s: this dataplane has no [pool]", op);
	if (strcmp(op, "pool.get") == 0)
		return op_get(pc);
	if (strcmp(op, "pool.set") == 0 || strcmp(op, "pool.add") == 0 || strcmp(op, "pool.remove") == 0)
		return op_change(pc, c, op, req);
	return dp_ctl_failure("unknown op '%s' (pool.get, pool.set, pool.add, pool.remove)", op);
}
