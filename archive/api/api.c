/* The auditor API over HTTPS (libmicrohttpd with GnuTLS): bearer tokens, per-user
 * scopes, every answered request audited with the authenticated user before anything
 * is sent. One internal thread serves the requests one after another, so the store is
 * never used by two at once. */
#include "api.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "message.h"
#include "net.h"
#include "search.h"

struct api {
	struct ar_store *s;
	const struct ar_api_users *users;
	const char *relay;
	const struct ar_smtp_tls *relay_tls;
};

struct reply {
	unsigned status;
	const char *type;
	struct sl_strbuf body;
	bool audited;        /* the request's own entries are written (release) */
};

/* A message is in the user's scope when one of its addresses is. */
struct scope_ctx {
	const struct ar_api_user *u;
	bool in;
};

static void copy_in_scope(void *ctx, const struct ar_copy *c)
{
	struct scope_ctx *sc = ctx;
	const struct sl_journal_record *r = &c->d.rec;
	if (r->mail_from && ar_api_address_in_scope(sc->u, r->mail_from))
		sc->in = true;
	for (size_t i = 0; !sc->in && i < r->nrcpt; i++)
		sc->in = ar_api_address_in_scope(sc->u, r->rcpt[i]);
}

static bool doc_in_scope(struct ar_store *s, const struct ar_api_user *u, const struct ar_summary *sum)
{
	if (u->all || ar_api_text_in_scope(u, sum->from) || ar_api_text_in_scope(u, sum->to))
		return true;
	struct scope_ctx sc = { u, false };
	ar_doc_copies(s, sum->blob, copy_in_scope, &sc);
	return sc.in;
}

static void summary_json(struct sl_strbuf *b, uint32_t id, const struct ar_summary *sum)
{
	sl_strbuf_printf(b, "{\"id\":%u,\"date_unix\":%lld,\"from\":", id, (long long)sum->date);
	sl_json_str(b, sum->from);
	sl_strbuf_puts(b, ",\"to\":");
	sl_json_str(b, sum->to);
	sl_strbuf_puts(b, ",\"subject\":");
	sl_json_str(b, sum->subject);
	sl_strbuf_puts(b, ",\"message_id\":");
	sl_json_str(b, sum->message_id);
	sl_strbuf_printf(b, ",\"size\":%llu,\"copies\":%u", (unsigned long long)sum->size,
		sum->ncopies);
}

/* ---- search ---- */

struct hits {
	struct ar_store *s;
	const struct ar_api_user *u;
	size_t limit, n;
	struct sl_strbuf out, ids;
};

static bool take_hit(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct hits *h = ctx;
	uint32_t id = ar_dockey_docid(dockey);
	struct ar_summary sum;
	if (ar_summary_load(h->s, id, &sum) < 0)
		return true;
	if (doc_in_scope(h->s, h->u, &sum)) {
		summary_json(&h->out, id, &sum);
		sl_strbuf_puts(&h->out, "}\n");
		sl_strbuf_printf(&h->ids, "%s%u", h->n ? "," : "", id);
		h->n++;
	}
	ar_summary_free(&sum);
	return h->n < h->limit;
}

/* The user's query, narrowed to their scope before the search (the post-filter above
 * stays the authority: an index term can match a local part). */
static void scoped_query(const struct ar_api_user *u, const char *q, struct sl_strbuf *out)
{
	sl_strbuf_printf(out, "(%s)", q);
	if (u->all)
		return;
	sl_strbuf_puts(out, " (");
	for (size_t i = 0; i < u->ndomains + u->nmailboxes; i++) {
		const char *v = i < u->ndomains ? u->domains[i] : u->mailboxes[i - u->ndomains];
		sl_strbuf_printf(out, "%sfrom:%s OR to:%s", i ? " OR " : "", v, v);
	}
	sl_strbuf_putc(out, ')');
}

static int audit(struct api *a, const struct ar_api_user *u, const char *remote, const char *action,
	const struct sl_strbuf *detail)
{
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	sl_strbuf_printf(&f, "\"action\":\"%s\",\"api_user\":", action);
	sl_json_str(&f, u->name);
	sl_strbuf_puts(&f, ",\"remote\":");
	sl_json_str(&f, remote);
	if (detail->len) {
		sl_strbuf_putc(&f, ',');
		sl_strbuf_put(&f, detail->s, detail->len);
	}
	char err[256];
	int rc = sl_strbuf_failed(&f) ? -1 : ar_audit_append(a->s, getuid(), f.s, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "sluice-archive api: audit: %s: request refused\n", err);
	sl_strbuf_free(&f);
	return rc;
}

static void do_search(struct api *a, const struct ar_api_user *u, const char *remote,
	const char *q, const char *limit, struct reply *r)
{
	char err[512];
	struct sl_strbuf full;
	sl_strbuf_init(&full);
	scoped_query(u, q, &full);
	struct ar_qnode *node = sl_strbuf_failed(&full) ? NULL : ar_query_parse(full.s, err, sizeof err);
	sl_strbuf_free(&full);
	if (!node) { /* the user's own query is at fault: say where in it */
		struct ar_qnode *own = ar_query_parse(q, err, sizeof err);
		ar_query_free(own);
		r->status = 400;
		sl_strbuf_printf(&r->body, "{\"error\":");
		sl_json_str(&r->body, own ? "bad query" : err);
		sl_strbuf_puts(&r->body, "}\n");
		return;
	}
	struct hits h = { .s = a->s, .u = u, .limit = limit ? strtoul(limit, NULL, 10) : 50 };
	if (h.limit == 0 || h.limit > 10000)
		h.limit = 10000;
	sl_strbuf_init(&h.out);
	sl_strbuf_init(&h.ids);
	ar_search(a->s, node, 0, take_hit, &h);
	ar_query_free(node);
	struct sl_strbuf d;
	sl_strbuf_init(&d);
	sl_strbuf_puts(&d, "\"query\":");
	sl_json_str(&d, q);
	sl_strbuf_printf(&d, ",\"results\":%zu,\"ids\":[%s]", h.n, h.ids.s ? h.ids.s : "");
	if (audit(a, u, remote, "api-search", &d) == 0 && !sl_strbuf_failed(&h.out)) {
		r->status = 200;
		r->type = "application/x-ndjson";
		sl_strbuf_put(&r->body, h.out.s ? h.out.s : "", h.out.len);
	}
	sl_strbuf_free(&d);
	sl_strbuf_free(&h.out);
	sl_strbuf_free(&h.ids);
}

/* ---- show, export ---- */

static void copy_json(void *ctx, const struct ar_copy *c)
{
	struct sl_strbuf *b = ctx;
	const struct sl_journal_record *r = &c->d.rec;
	if (b->s && b->s[b->len - 1] != '[')
		sl_strbuf_putc(b, ',');
	sl_strbuf_printf(b, "{\"copy\":%llu,\"received_us\":%llu,\"via\":\"%s\",\"peer\":",
		(unsigned long long)c->seq, (unsigned long long)c->origin.received_us,
		ar_via_name(c->origin.via));
	sl_json_str(b, c->origin.peer);
	sl_strbuf_puts(b, ",\"mail_from\":");
	sl_json_str(b, r->mail_from ? r->mail_from : "");
	sl_strbuf_puts(b, ",\"rcpt\":");
	ar_json_strings(b, r->rcpt, r->nrcpt);
	sl_strbuf_puts(b, ",\"verdict\":");
	sl_json_str(b, r->verdict ? r->verdict : "");
	sl_strbuf_puts(b, ",\"rules\":");
	ar_json_strings(b, r->rules, r->nrules);
	sl_strbuf_puts(b, "}");
}

static void do_message(struct api *a, const struct ar_api_user *u, const char *remote,
	const char *idtext, bool raw, struct reply *r)
{
	char *end;
	unsigned long id = strtoul(idtext, &end, 10);
	struct ar_summary sum;
	/* out of scope answers exactly as missing: a user learns nothing of others' mail */
	if (!*idtext || *end || id > UINT32_MAX || ar_summary_load(a->s, (uint32_t)id, &sum) < 0) {
		r->status = 404;
		sl_strbuf_puts(&r->body, "{\"error\":\"no such message\"}\n");
		return;
	}
	if (!doc_in_scope(a->s, u, &sum)) {
		ar_summary_free(&sum);
		r->status = 404;
		sl_strbuf_puts(&r->body, "{\"error\":\"no such message\"}\n");
		return;
	}
	struct sl_strbuf d, msg;
	sl_strbuf_init(&d);
	sl_strbuf_init(&msg);
	char err[256];
	sl_strbuf_printf(&d, "\"ids\":[%lu]", id);
	if (raw && ar_message_load(a->s, sum.blob, &msg, err, sizeof err) < 0) {
		r->status = 500;
		sl_strbuf_printf(&r->body, "{\"error\":\"message damaged\"}\n");
	} else if (audit(a, u, remote, raw ? "api-export" : "api-show", &d) == 0) {
		r->status = 200;
		if (raw) {
			r->type = "message/rfc822";
			sl_strbuf_put(&r->body, msg.s ? msg.s : "", msg.len);
		} else {
			summary_json(&r->body, (uint32_t)id, &sum);
			sl_strbuf_puts(&r->body, ",\"copy_list\":[");
			ar_doc_copies(a->s, sum.blob, copy_json, &r->body);
			sl_strbuf_puts(&r->body, "]}\n");
		}
	}
	sl_strbuf_free(&d);
	sl_strbuf_free(&msg);
	ar_summary_free(&sum);
}

/* ---- release ---- */

static unsigned release_status(enum ar_release_status st)
{
	switch (st) {
	case AR_RELEASED:
	case AR_RELEASED_UNAUDITED:
		return 200;
	case AR_RELEASE_NO_MESSAGE:
		return 404;
	case AR_RELEASE_NOT_QUARANTINED:
	case AR_RELEASE_AMBIGUOUS:
	case AR_RELEASE_ALREADY:
	case AR_RELEASE_NO_RECIPIENT:
		return 409;
	case AR_RELEASE_SEND_FAILED:
		return 502;
	case AR_RELEASE_AUDIT_FAILED:
	case AR_RELEASE_ERROR:
		break;
	}
	return 503;
}

static void do_release(struct api *a, const struct ar_api_user *u, const char *remote,
	const char *idtext, struct MHD_Connection *c, struct reply *r)
{
	char *end;
	unsigned long id = strtoul(idtext, &end, 10);
	struct ar_summary sum;
	if (!a->relay) {
		r->status = 404;
		sl_strbuf_puts(&r->body, "{\"error\":\"release is not configured (api --relay)\"}\n");
		return;
	}
	if (!u->may_release) {
		r->status = 403;
		sl_strbuf_puts(&r->body, "{\"error\":\"this user may not release\"}\n");
		return;
	}
	bool found = *idtext && !*end && id <= UINT32_MAX &&
		ar_summary_load(a->s, (uint32_t)id, &sum) == 0;
	bool mine = found && doc_in_scope(a->s, u, &sum);
	if (found)
		ar_summary_free(&sum);
	if (!mine) {
		r->status = 404;
		sl_strbuf_puts(&r->body, "{\"error\":\"no such message\"}\n");
		return;
	}
	const char *copy = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "copy");
	const char *again = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "again");
	struct sl_strbuf who;
	sl_strbuf_init(&who);
	sl_strbuf_puts(&who, "\"api_user\":");
	sl_json_str(&who, u->name);
	sl_strbuf_puts(&who, ",\"remote\":");
	sl_json_str(&who, remote);
	struct ar_release_req rq = {
		.id = (uint32_t)id, .copy = copy ? strtoull(copy, NULL, 10) : UINT64_MAX,
		.relay = a->relay, .tls = a->relay_tls, .helo = "sluice-archive",
		.again = again && !strcmp(again, "1"),
		.timeout_ms = 60000, .who = who.s,
	};
	char msg[512];
	uint64_t chosen;
	enum ar_release_status st = sl_strbuf_failed(&who) ? AR_RELEASE_ERROR :
		ar_release(a->s, &rq, &chosen, msg, sizeof msg);
	sl_strbuf_free(&who);
	r->status = release_status(st);
	r->audited = st == AR_RELEASED || st == AR_RELEASED_UNAUDITED || st == AR_RELEASE_SEND_FAILED;
	if (r->status == 200)
		sl_strbuf_printf(&r->body, "{\"released\":%lu,\"copy\":%llu,\"reply\":", id,
			(unsigned long long)chosen);
	else
		sl_strbuf_puts(&r->body, "{\"error\":");
	sl_json_str(&r->body, msg);
	sl_strbuf_puts(&r->body, "}\n");
}

/* ---- requests ---- */

static const struct ar_api_user *authenticate(struct api *a, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7])
		return NULL;
	return ar_api_user_for(a->users, h + 7);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(r->body.len,
		r->body.s ? r->body.s : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload, size_t *upload_size,
	void **state)
{
	(void)version;
	(void)upload;
	static int started;
	if (!*state) { /* headers only so far */
		*state = &started;
		return MHD_YES;
	}
	if (*upload_size)
		return MHD_NO; /* no request bodies: a GET API */
	struct api *a = cls;
	char remote[80] = "";
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr)
		ar_sockaddr_str(ci->client_addr, remote, sizeof remote);
	struct reply r = { .status = 503, .type = "application/json" };
	sl_strbuf_init(&r.body);
	const struct ar_api_user *u = authenticate(a, c);
	if (!u) {
		fprintf(stderr, "sluice-archive api: %s %s from %s: no valid token\n", method, url, remote);
		r.status = 401;
		sl_strbuf_puts(&r.body, "{\"error\":\"a valid bearer token is required\"}\n");
	} else if (!strcmp(method, "POST") && !strncmp(url, "/release/", 9)) {
		if (a->s->mode == AR_OPEN_READ) {
			char *e = NULL;
			rocksdb_try_catch_up_with_primary(a->s->db, &e);
			free(e);
		}
		do_release(a, u, remote, url + 9, c, &r);
	} else if (strcmp(method, "GET") != 0) {
		r.status = 405;
		sl_strbuf_puts(&r.body, "{\"error\":\"GET, or POST /release/ID\"}\n");
	} else {
		if (a->s->mode == AR_OPEN_READ) { /* beside the server: see what it stored since */
			char *e = NULL;
			rocksdb_try_catch_up_with_primary(a->s->db, &e);
			free(e);
		}
		const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
		if (!strcmp(url, "/search") && q && *q)
			do_search(a, u, remote, q,
				  MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), &r);
		else if (!strncmp(url, "/show/", 6))
			do_message(a, u, remote, url + 6, false, &r);
		else if (!strncmp(url, "/export/", 8))
			do_message(a, u, remote, url + 8, true, &r);
		else {
			r.status = 404;
			sl_strbuf_puts(&r.body, "{\"error\":\"GET /search?q=QUERY[&limit=N], "
					"/show/ID or /export/ID\"}\n");
		}
		if (r.status == 503 && !r.body.len)
			sl_strbuf_puts(&r.body, "{\"error\":\"the audit log cannot be written\"}\n");
	}
	if (u && !r.audited && r.status != 200 && r.status != 503) {
		/* an authenticated user's refused request is evidence too (a probe for others'
		 * mail answers 404): audited, and when it cannot be, not answered */
		struct sl_strbuf d;
		sl_strbuf_init(&d);
		sl_strbuf_printf(&d, "\"status\":%u,\"method\":", r.status);
		sl_json_str(&d, method);
		sl_strbuf_puts(&d, ",\"path\":");
		sl_json_str(&d, url);
		if (audit(a, u, remote, "api-refused", &d) < 0) {
			r.status = 503;
			sl_strbuf_clear(&r.body);
			sl_strbuf_puts(&r.body, "{\"error\":\"the audit log cannot be written\"}\n");
		}
		sl_strbuf_free(&d);
	}
	enum MHD_Result ok = sl_strbuf_failed(&r.body) ? MHD_NO : send_reply(c, &r);
	sl_strbuf_free(&r.body);
	return ok;
}

int ar_api_run(struct ar_store *s, const struct ar_api_users *users,
	const struct ar_api_config *cfg, volatile sig_atomic_t *stop)
{
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		fprintf(stderr, "sluice-archive api: libmicrohttpd has no TLS\n");
		return -1;
	}
	struct api a = { s, users, cfg->relay, cfg->relay_tls };
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		handle, &a,
		MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd,
		MHD_OPTION_HTTPS_MEM_CERT, cfg->cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "sluice-archive api: cannot start the HTTPS server\n");
		return -1;
	}
	while (!*stop) {
		if (s->mode != AR_OPEN_READ)
			ar_audit_collect(s);
		struct timespec ts = { 0, 200 * 1000000L };
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	return 0;
}
