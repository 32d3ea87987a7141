#include "rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/frame.h"
#include "sluice/strbuf.h"

int rpc_send(int fd, const json_t *msg, const void *body, size_t body_len, char *err, size_t errlen)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	if (!text) {
		snprintf(err, errlen, "cannot encode the message as JSON");
		return -1;
	}
	int rc = sl_frame_write(fd, text, strlen(text), body, body_len);
	if (rc != 0)
		snprintf(err, errlen, "%s", errno == EAGAIN || errno == EWOULDBLOCK ?
		         "timed out sending" : strerror(errno));
	free(text);
	return rc;
}

int rpc_recv(int fd, json_t **msg, uint8_t **body, size_t *body_len, int timeout_ms,
             char *err, size_t errlen)
{
	struct sl_frame f;
	*msg = NULL;
	*body = NULL;
	*body_len = 0;
	int rc = sl_frame_read(fd, &f, timeout_ms);
	if (rc == 1)
		return 1;
	if (rc != 0) {
		int e = errno;
		snprintf(err, errlen, "%s", e == ETIMEDOUT ? "timed out waiting for an answer" :
		         e == EPROTO ? "malformed frame" : e == ECONNRESET ? "connection closed" :
		         strerror(e));
		errno = e;
		return -1;
	}
	json_error_t je;
	json_t *j = json_loadb(f.json, f.json_len, 0, &je);
	if (!j || !json_is_object(j)) {
		snprintf(err, errlen, "not a JSON object: %s", j ? "other JSON" : je.text);
		json_decref(j);
		sl_frame_free(&f);
		errno = EPROTO;
		return -1;
	}
	*msg = j;
	*body = f.body;
	*body_len = f.body_len;
	f.body = NULL;
	sl_frame_free(&f);
	return 0;
}

json_t *rpc_call(int fd, uint64_t *seq, json_t *req, const void *body, size_t body_len,
                 int timeout_ms, uint8_t **abody, size_t *ablen, char *err, size_t errlen)
{
	json_int_t id = (json_int_t)++*seq;
	if (json_object_set_new(req, "req", json_integer(id)) != 0 ||
	    rpc_send(fd, req, body, body_len, err, errlen) != 0)
		return NULL;
	json_t *ans;
	uint8_t *b;
	size_t bl;
	int rc = rpc_recv(fd, &ans, &b, &bl, timeout_ms, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "connection closed before the answer");
	if (rc != 0)
		return NULL;
	json_t *r = json_object_get(ans, "req");
	if (!json_is_integer(r) || json_integer_value(r) != id || !json_is_boolean(json_object_get(ans, "ok"))) {
		snprintf(err, errlen, "the answer does not match the request (req %lld)", (long long)id);
		json_decref(ans);
		free(b);
		errno = EPROTO;
		return NULL;
	}
	if (abody) {
		*abody = b;
		*ablen = bl;
	} else {
		free(b);
	}
	return ans;
}

static json_t *answer(const json_t *req, bool ok)
{
	json_t *a = json_object();
	if (!a)
		return NULL;
	json_t *r = req ? json_object_get(req, "req") : NULL;
	json_object_set_new(a, "req", json_is_integer(r) ? json_copy(r) : json_null());
	json_object_set_new(a, "ok", json_boolean(ok));
	return a;
}

json_t *rpc_ok(const json_t *req)
{
	return answer(req, true);
}

json_t *rpc_error(const json_t *req, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	json_t *a = answer(req, false);
	if (a)
		json_object_set_new(a, "error", rpc_str(text));
	return a;
}

json_t *rpc_str(const char *s)
{
	if (!s)
		return json_null();
	size_t n = strlen(s);
	if (sl_utf8_valid((const uint8_t *)s, n))
		return json_stringn(s, n);
	char *c = strdup(s);
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	json_t *j = json_stringn(c, n);
	free(c);
	return j;
}

const char *rpc_error_text(const json_t *answer)
{
	const char *s = json_string_value(json_object_get(answer, "error"));
	return s ? s : "failed (no reason given)";
}
