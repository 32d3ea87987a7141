#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc.h"
#include "unixsock.h"

const char *client_socket(void)
{
	const char *s = getenv("SLUICE_CONTROL_SOCKET");
	return s && *s ? s : "/run/sluice/control.sock";
}

json_t *client_request(const char *op)
{
	json_t *r = json_object();
	json_object_set_new(r, "op", json_string(op));
	return r;
}

json_t *client_call(const char *what, json_t *req, const void *body, size_t blen, int timeout_ms,
                    uint8_t **abody, size_t *ablen, int *status)
{
	char err[600];
	uint64_t seq = 0;
	const char *path = client_socket();
	int fd = unixsock_connect(path, timeout_ms, err, sizeof err);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr, "sluicectl %s: sluice-control is not running (%s); start it "
			        "(systemctl start sluice-control) or give --socket PATH\n", what, err);
		else
			fprintf(stderr, "sluicectl %s: cannot reach sluice-control: %s\n", what, err);
		*status = CLIENT_NO_CONTROL;
		return NULL;
	}
	json_t *a = rpc_call(fd, &seq, req, body, blen, timeout_ms, abody, ablen, err, sizeof err);
	int e = errno;
	close(fd);
	if (!a) {
		if (e == ETIMEDOUT)
			fprintf(stderr, "sluicectl %s: sluice-control did not answer within %d s; the change may "
			        "still complete: see 'sluicectl status' and 'sluicectl rules list'\n", what,
			        timeout_ms / 1000);
		else
			fprintf(stderr, "sluicectl %s: %s (did sluice-control stop? it closes connections from "
			        "users who are neither root nor in its group)\n", what, err);
		*status = CLIENT_FAILED;
	}
	return a;
}

json_t *client_query(const char *what, json_t *req, uint8_t **abody, size_t *ablen, int *status)
{
	json_t *a = client_call(what, req, NULL, 0, 60000, abody, ablen, status);
	json_decref(req);
	if (a && !json_is_true(json_object_get(a, "ok"))) {
		*status = client_fail(what, a);
		json_decref(a);
		if (abody) {
			free(*abody);
			*abody = NULL;
		}
		return NULL;
	}
	if (a)
		*status = CLIENT_OK;
	return a;
}

bool client_print_errors(const char *what, const json_t *answer)
{
	const char *dp;
	json_t *e;
	bool any = false;
	json_object_foreach((json_t *)json_object_get(answer, "errors"), dp, e) {
		fprintf(stderr, "sluicectl %s: dataplane %s: %s\n", what, dp, json_string_value(e));
		any = true;
	}
	return any;
}

int client_fail(const char *what, const json_t *answer)
{
	fprintf(stderr, "sluicectl %s: %s\n", what, rpc_error_text(answer));
	return CLIENT_FAILED;
}

void client_print_results(const json_t *results, long long version)
{
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		const char *dp = json_string_value(json_object_get(r, "dataplane"));
		const char *res = json_string_value(json_object_get(r, "result"));
		const char *detail = json_string_value(json_object_get(r, "detail"));
		const char *knob = json_string_value(json_object_get(r, "knob_error"));
		printf("  %-12s %-9s", dp ? dp : "?", res ? res : "?");
		if (res && strcmp(res, "loaded") == 0)
			printf(" swap %.1f ms%s", json_number_value(json_object_get(r, "swap_ms")),
			       json_is_false(json_object_get(r, "confirmed")) ?
			       " (published; not every worker had confirmed yet)" : "");
		else if (res && (strcmp(res, "down") == 0 || strcmp(res, "timeout") == 0) && version > 0)
			printf(" %s: pending, it gets version %lld when it answers again", detail ? detail : "",
			       version);
		else if (res && (strcmp(res, "down") == 0 || strcmp(res, "timeout") == 0))
			printf(" %s: pending, it gets the change when it answers again", detail ? detail : "");
		else if (detail)
			printf(" %s", detail);
		if (knob)
			printf(" (knob: %s)", knob);
		json_t *back = json_object_get(r, "put_back");
		if (json_is_string(back))
			printf("; %s", json_string_value(back));
		else if (back)
			printf("; put back on version %lld: %s", (long long)json_integer_value(json_object_get(back, "to")),
			       json_string_value(json_object_get(back, "result")));
		printf("\n");
	}
}

int client_change_status(const json_t *answer)
{
	if (!json_is_true(json_object_get(answer, "ok")))
		return CLIENT_FAILED;
	const char *r = json_string_value(json_object_get(answer, "result"));
	return r && strcmp(r, "pending") == 0 ? CLIENT_PENDING : CLIENT_OK;
}

bool client_dataplane_opt(json_t *req, int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--dataplane") != 0 || *i + 1 >= argc)
		return false;
	json_t *list = json_object_get(req, "dataplanes");
	if (!list) {
		list = json_array();
		json_object_set_new(req, "dataplanes", list);
	}
	json_array_append_new(list, rpc_str(argv[++*i]));
	return true;
}

bool client_change_opt(json_t *req, int argc, char **argv, int *i, int *timeout_s)
{
	if (strcmp(argv[*i], "--comment") == 0 && *i + 1 < argc) {
		json_object_set_new(req, "comment", rpc_str(argv[++*i]));
		return true;
	}
	if (strcmp(argv[*i], "--timeout") == 0 && *i + 1 < argc) {
		*timeout_s = atoi(argv[++*i]);
		return true;
	}
	return client_dataplane_opt(req, argc, argv, i);
}

void client_duration(long long s, char *out, size_t len)
{
	if (s < 0)
		snprintf(out, len, "-");
	else if (s >= 86400)
		snprintf(out, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(out, len, "%llds", s);
}

/* A change's answer: each dataplane's result; the exit status. */
static int change_done(const char *what, json_t *a)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(a, "dataplanes"), i, r) {
		const char *dp = json_string_value(json_object_get(r, "dataplane"));
		const char *res = json_string_value(json_object_get(r, "result"));
		json_t *ans = json_object_get(r, "answer");
		printf("  %-12s %-8s", dp ? dp : "?", res ? res : "?");
		if (ans) {
			const char *k;
			json_t *v;
			json_object_foreach(ans, k, v)
				if (json_is_integer(v))
					printf(" %s %lld", k, (long long)json_integer_value(v));
				else if (json_is_real(v))
					printf(" %s %.1f", k, json_real_value(v));
		} else {
			printf(" %s", json_string_value(json_object_get(r, "detail")));
		}
		printf("\n");
	}
	int status = json_is_true(json_object_get(a, "ok")) ? CLIENT_OK : client_fail(what, a);
	json_decref(a);
	return status;
}

int client_change(const char *what, json_t *req)
{
	int status;
	json_t *a = client_call(what, req, NULL, 0, 60000, NULL, NULL, &status);
	json_decref(req);
	return a ? change_done(what, a) : status;
}
