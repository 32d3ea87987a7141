/* The audit log (docs/control.md): audit.jsonl in the state directory, one JSON object per
 * line, one line per change (push, rollback, refused push, knob) with who, when, what and
 * the result. Append-only, and a hash chain: each line's "prev" is the hex SHA-256 of the
 * previous line's bytes (64 zeros for the first), "seq" its line number, so a changed,
 * inserted or removed line breaks the chain at the line after it. Each line is written
 * and fsync'd before the answer that reports the change goes out. */
#ifndef SLUICE_CONTROL_AUDIT_H
#define SLUICE_CONTROL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct audit {
	int fd;
	uint64_t lines;
	char head[65];        /* hash of the last line ("" before the first) */
};

/* Check the chain of the log at path: *lines and head (65 bytes) get the line count and
 * the last line's hash. 0, or -1 with "line N: what is wrong" in err. A missing file is
 * an empty log. A last line without its newline (a write cut short by a crash: never
 * acknowledged) is reported in *torn (its byte offset; -1 when none) and not counted. */
int audit_verify(const char *path, uint64_t *lines, char *head, long long *torn,
                 char *err, size_t errlen);

/* Open the log for appending after checking its chain (a torn last line is cut off). */
int audit_open(struct audit *a, const char *path, char *err, size_t errlen);
void audit_close(struct audit *a);

/* Append `entry` with "seq", "time" (UTC, ISO 8601) and "prev" added; written and
 * fsync'd when this returns 0. */
int audit_append(struct audit *a, json_t *entry, char *err, size_t errlen);

/* "2026-12-07T05:00:00.123Z" for now. */
void audit_now(char *out, size_t len);

#endif
