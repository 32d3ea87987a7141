#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define ZERO_HEAD "0000000000000000000000000000000000000000000000000000000000000000"

static void line_hash(const char *line, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned ml = 0;
	static const char hex[] = "0123456789abcdef";
	EVP_Digest(line, n, md, &ml, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = 0;
}

void audit_now(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/* One line's check: JSON object, seq n, prev = the previous line's hash. */
static int check_line(const char *line, size_t n, uint64_t seq, const char *prev, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(line, n, 0, &je);
	int rc = -1;
	if (!json_is_object(j))
		snprintf(err, errlen, "line %llu: not a JSON object", (unsigned long long)seq);
	else if (json_integer_value(json_object_get(j, "seq")) != (json_int_t)seq)
		snprintf(err, errlen, "line %llu: seq is not %llu (a line was removed or inserted before it)",
		         (unsigned long long)seq, (unsigned long long)seq);
	else if (!json_is_string(json_object_get(j, "prev")) ||
	         strcmp(json_string_value(json_object_get(j, "prev")), prev) != 0)
		snprintf(err, errlen, "line %llu: prev does not match the hash of line %llu (line %llu was changed)",
		         (unsigned long long)seq, (unsigned long long)seq - 1, (unsigned long long)seq - 1);
	else
		rc = 0;
	json_decref(j);
	return rc;
}

int audit_verify(const char *path, uint64_t *lines, char *head, long long *torn,
                 char *err, size_t errlen)
{
	*lines = 0;
	*torn = -1;
	strcpy(head, "");
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL, prev[65] = ZERO_HEAD;
	size_t cap = 0;
	ssize_t n;
	long long off = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			*torn = off;
			break;
		}
		if (check_line(line, (size_t)n - 1, *lines + 1, prev, err, errlen)) {
			rc = -1;
			break;
		}
		line_hash(line, (size_t)n - 1, prev);
		++*lines;
		off += n;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc == 0 && *lines)
		strcpy(head, prev);
	return rc;
}

int audit_open(struct audit *a, const char *path, char *err, size_t errlen)
{
	long long torn;
	char e[512];
	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (audit_verify(path, &a->lines, a->head, &torn, e, sizeof e)) {
		snprintf(err, errlen, "%s: %s: the audit chain is broken; keep the file as evidence "
		         "and move it aside to start a new log", path, e);
		return -1;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (a->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (torn >= 0 && (ftruncate(a->fd, torn) != 0 || fsync(a->fd) != 0)) {
		snprintf(err, errlen, "%s: cannot cut the torn last line: %s", path, strerror(errno));
		close(a->fd);
		a->fd = -1;
		return -1;
	}
	return 0;
}

void audit_close(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

int audit_append(struct audit *a, json_t *entry, char *err, size_t errlen)
{
	if (a->fd < 0) {
		snprintf(err, errlen, "the audit log could not be repaired after a failed write");
		return -1;
	}
	char when[40];
	audit_now(when, sizeof when);
	json_object_set_new(entry, "seq", json_integer((json_int_t)(a->lines + 1)));
	json_object_set_new(entry, "time", json_string(when));
	json_object_set_new(entry, "prev", json_string(a->lines ? a->head : ZERO_HEAD));
	char *text = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		snprintf(err, errlen, "cannot encode the audit entry");
		return -1;
	}
	size_t n = strlen(text);
	text[n] = '\n';
	struct stat st;
	if (fstat(a->fd, &st) != 0) {
		snprintf(err, errlen, "audit log: %s", strerror(errno));
		free(text);
		return -1;
	}
	ssize_t k = write(a->fd, text, n + 1);
	int rc = 0;
	if (k != (ssize_t)(n + 1) || fsync(a->fd) != 0) {
		snprintf(err, errlen, "audit log: %s", k < 0 ? strerror(errno) : "short write");
		/* a part of a line would break the chain for every later one */
		if (ftruncate(a->fd, st.st_size) != 0 || fsync(a->fd) != 0) {
			close(a->fd);
			a->fd = -1; /* every later change is refused */
		}
		rc = -1;
	} else {
		line_hash(text, n, a->head);
		a->lines++;
	}
	free(text);
	return rc;
}
