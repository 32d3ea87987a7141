#include "helpers.h"

#include "sluice/mime.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <ftw.h>
#include <openssl/evp.h>

char tp_last_error[1024];
char tp_last_dir[256];

/* Every directory tp_policy made is removed at exit. */
static char made[256][64];
static int nmade;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	for (int i = 0; i < nmade; i++)
		nftw(made[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* name may hold directories ("sub/a.rules"): they are made */
static void write_file(const char *dir, const char *name, const char *content)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			perror(path);
			abort();
		}
		*s = '/';
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		abort();
	}
	fwrite(content, 1, strlen(content), f);
	fclose(f);
}

struct sl_policy *tp_policy(const char *text, ...)
{
	va_list ap;
	va_start(ap, text);
	struct sl_policy *p = tp_vpolicy(text, ap);
	va_end(ap);
	return p;
}

struct sl_policy *tp_vpolicy(const char *text, va_list ap)
{
	char dir[] = "/tmp/sluice-policy-test-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(tp_last_dir, sizeof tp_last_dir, "%s", dir);
	if (nmade == 0)
		atexit(cleanup);
	if (nmade < 256)
		snprintf(made[nmade++], sizeof made[0], "%s", dir);
	write_file(dir, "policy.rules", text);
	const char *name;
	while ((name = va_arg(ap, const char *))) {
		const char *content = va_arg(ap, const char *);
		write_file(dir, name, content);
	}
	char path[512];
	snprintf(path, sizeof path, "%s/policy.rules", dir);
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load(path, &d);
	tp_last_error[0] = '\0';
	if (!p) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_policy_diag_format(&d, &b);
		const char *s = b.s;
		if (strncmp(s, dir, strlen(dir)) == 0)
			s += strlen(dir) + 1;
		snprintf(tp_last_error, sizeof tp_last_error, "%s", s);
		sl_strbuf_free(&b);
	}
	return p;
}

static void emit(struct tp_msg *t, struct sl_event *ev)
{
	sl_msgscan_event(t->m, ev);
}

void tp_begin(struct tp_msg *t, struct sl_scanner *sc, struct sl_policy *p, enum sl_direction forced)
{
	size_t chunk = t->chunk, split = t->split;
	memset(t, 0, sizeof *t);
	t->chunk = chunk;
	t->split = split;
	t->m = sl_msgscan_new(sc, p, forced);
	if (!t->m)
		abort();
	t->p = p;
	t->env.rcpt = t->rcpt;
	struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &t->env};
	emit(t, &ev);
}

void tp_envelope(struct tp_msg *t, const char *helo, const char *from, const char *client, ...)
{
	snprintf(t->env.helo, sizeof t->env.helo, "%s", helo ? helo : "");
	snprintf(t->env.mail_from, sizeof t->env.mail_from, "%s", from ? from : "");
	memset(&t->env.client, 0, sizeof t->env.client);
	if (client) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&t->env.client.addr;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->env.client.addr;
		if (inet_pton(AF_INET, client, &a4->sin_addr) == 1)
			a4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, client, &a6->sin6_addr) == 1)
			a6->sin6_family = AF_INET6;
	}
	va_list ap;
	va_start(ap, client);
	const char *r;
	t->env.nrcpt = 0;
	while ((r = va_arg(ap, const char *)) && t->env.nrcpt < 8) {
		struct sl_rcpt *rc = &t->rcpt[t->env.nrcpt++];
		snprintf(rc->addr, sizeof rc->addr, "%s", r);
		rc->status = SL_RCPT_ACCEPTED;
		rc->reply_code = 250;
	}
	va_end(ap);
}

void tp_header(struct tp_msg *t, const char *path, const char *name, const char *value)
{
	struct sl_part part = {.kind = SL_PART_LEAF};
	snprintf(part.path, sizeof part.path, "%s", path);
	struct sl_event ev = {.type = SL_EV_HEADER, .part = &part, .name = name, .value = value,
	                      .offset = t->raw_off};
	emit(t, &ev);
}

/* Length of the chunk at `off` of an n-byte buffer. */
static size_t chunk_len(const struct tp_msg *t, size_t off, size_t n)
{
	size_t end;
	if (t->chunk)
		end = off + t->chunk;
	else if (t->split && off < t->split)
		end = t->split;
	else
		end = n;
	return (end < n ? end : n) - off;
}

static void chunks(struct tp_msg *t, enum sl_event_type type, const struct sl_part *part,
                   const uint8_t *p, size_t n)
{
	for (size_t off = 0, k; off < n; off += k) {
		k = chunk_len(t, off, n);
		struct sl_event ev = {.type = type, .part = part, .data = p + off, .len = k, .offset = off};
		emit(t, &ev);
	}
}

void tp_raw(struct tp_msg *t, const void *data, size_t len)
{
	chunks(t, SL_EV_RAW, NULL, data, len);
	t->raw_off += len;
}

void tp_leaf(struct tp_msg *t, const char *path, const char *ctype, const char *filename,
             const char *disposition, const void *data, size_t len, const void *text, size_t tlen)
{
	struct sl_part part = {.kind = SL_PART_LEAF, .depth = 1, .filename = filename,
	                       .disposition = disposition, .encoding = SL_ENC_BASE64};
	snprintf(part.path, sizeof part.path, "%s", path);
	snprintf(part.content_type, sizeof part.content_type, "%s", ctype);
	struct sl_event ev = {.type = SL_EV_PART_BEGIN, .part = &part};
	emit(t, &ev);
	bool is_text = strncmp(ctype, "text/", 5) == 0;
	if (is_text && !text) {
		text = data;
		tlen = len;
	}
	/* data and text interleaved as the MIME parser gives them */
	size_t doff = 0, toff = 0;
	while (doff < len || (is_text && toff < tlen)) {
		if (doff < len) {
			size_t k = chunk_len(t, doff, len);
			struct sl_event d = {.type = SL_EV_PART_DATA, .part = &part,
			                     .data = (const uint8_t *)data + doff, .len = k, .offset = doff};
			emit(t, &d);
			doff += k;
		}
		if (is_text && toff < tlen) {
			size_t k = chunk_len(t, toff, tlen);
			struct sl_event d = {.type = SL_EV_PART_TEXT, .part = &part,
			                     .data = (const uint8_t *)text + toff, .len = k, .offset = toff};
			emit(t, &d);
			toff += k;
		}
	}
	part.decoded_bytes = len;
	unsigned dl = 32;
	EVP_Digest(data, len, part.sha256, &dl, EVP_sha256(), NULL);
	struct sl_event end = {.type = SL_EV_PART_END, .part = &part};
	emit(t, &end);
}

void tp_text(struct tp_msg *t, const char *path, const char *s)
{
	tp_leaf(t, path, "text/plain", NULL, NULL, s, strlen(s), NULL, 0);
}

void tp_signal(struct tp_msg *t, const char *name)
{
	struct sl_event ev = {.type = SL_EV_SIGNAL, .name = name, .value = "", .offset = t->raw_off};
	emit(t, &ev);
}

const struct sl_verdict *tp_end(struct tp_msg *t)
{
	struct sl_event ev = {.type = SL_EV_MESSAGE_END, .envelope = &t->env};
	emit(t, &ev);
	const struct sl_verdict *v = sl_msgscan_verdict(t->m);
	/* every hit names its rule by number too (the dataplane's counters go by it) */
	for (size_t i = 0; i < v->nhits; i++) {
		const char *id = sl_policy_rule_id(t->p, v->hits[i].rule);
		CU_ASSERT_PTR_NOT_NULL(id);
		CU_ASSERT(id && strcmp(id, v->hits[i].id) == 0);
	}
	return v;
}

void tp_free(struct tp_msg *t)
{
	sl_msgscan_free(t->m);
	t->m = NULL;
}

const struct sl_rule_hit *tp_hit(const struct sl_verdict *v, const char *id)
{
	for (size_t i = 0; v && i < v->nhits; i++)
		if (strcmp(v->hits[i].id, id) == 0)
			return &v->hits[i];
	return NULL;
}

const struct sl_verdict *tp_body(struct tp_msg *t, struct sl_scanner *sc, struct sl_policy *p,
                                 const char *body)
{
	tp_begin(t, sc, p, SL_DIR_OUTBOUND);
	tp_envelope(t, "mail.example.com", "alice@example.com", "192.0.2.10", "bob@example.net", NULL);
	tp_text(t, "1", body);
	return tp_end(t);
}

void tp_vexpect_hits(const struct sl_verdict *v, va_list ids)
{
	size_t n = 0;
	const char *id;
	while ((id = va_arg(ids, const char *))) {
		if (!tp_hit(v, id))
			fprintf(stderr, "\n%s did not fire\n", id);
		CU_ASSERT_PTR_NOT_NULL(tp_hit(v, id));
		n++;
	}
	if (v->nhits != n)
		for (size_t i = 0; i < v->nhits; i++)
			fprintf(stderr, "\nfired: %s\n", v->hits[i].id);
	CU_ASSERT_EQUAL(v->nhits, n);
}

void tp_expect_hits(const struct sl_verdict *v, ...)
{
	va_list ap;
	va_start(ap, v);
	tp_vexpect_hits(v, ap);
	va_end(ap);
}

struct sl_scanner *tp_sc;
struct sl_policy *tp_pol;

int tp_fixture_init(const char *text, ...)
{
	tp_sc = sl_scanner_new();
	va_list ap;
	va_start(ap, text);
	tp_pol = tp_vpolicy(text, ap);
	va_end(ap);
	if (!tp_pol)
		fprintf(stderr, "%s\n", tp_last_error);
	return tp_pol && tp_sc ? 0 : 1;
}

int tp_fixture_fini(void)
{
	sl_policy_unref(tp_pol);
	sl_scanner_free(tp_sc);
	tp_pol = NULL;
	tp_sc = NULL;
	return 0;
}

char *tp_mime_verdict(struct sl_scanner *sc, struct sl_policy *p, enum sl_direction dir,
                      const uint8_t *msg, size_t len, size_t split)
{
	return tp_mime_verdict_lim(sc, p, dir, msg, len, split, NULL);
}

char *tp_mime_verdict_lim(struct sl_scanner *sc, struct sl_policy *p, enum sl_direction dir,
                          const uint8_t *msg, size_t len, size_t split, const struct sl_limits *lim)
{
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	struct sl_msgscan *m = sl_msgscan_new(sc, p, dir);
	struct sl_mime *mime = sl_mime_new(lim, sl_msgscan_event_cb, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mime);
	sl_mime_reset(mime, 0);
	struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
	sl_msgscan_event(m, &ev);
	size_t cuts[3] = {0, split ? split : len, len};
	for (int i = 0; i < 2; i++) {
		if (cuts[i + 1] <= cuts[i])
			continue;
		struct sl_event raw = {.type = SL_EV_RAW, .data = msg + cuts[i], .len = cuts[i + 1] - cuts[i],
		                       .offset = cuts[i]};
		sl_msgscan_event(m, &raw);
		sl_mime_feed(mime, msg + cuts[i], cuts[i + 1] - cuts[i]);
	}
	sl_mime_finish(mime);
	struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
	sl_msgscan_event(m, &end);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_verdict_json(sl_msgscan_verdict(m), &b);
	sl_mime_free(mime);
	sl_msgscan_free(m);
	CU_ASSERT_FATAL(b.cap && !b.failed);
	return b.s;
}

void tp_ids_of(const char *json, char *out, size_t n)
{
	out[0] = '\0';
	const char *p = json;
	while ((p = strstr(p, "{\"id\":\""))) {
		p += 7;
		const char *q = strchr(p, '"');
		if (out[0])
			strncat(out, ",", n - strlen(out) - 1);
		strncat(out, p, (size_t)(q - p) < n - strlen(out) - 1 ? (size_t)(q - p) : n - strlen(out) - 1);
	}
}

