/* What the engine benchmark runs on, loaded into memory before anything is timed:
 * the SMTP sessions written by `tools/trafficgen --streams` and the corpus messages
 * written by `tools/corpus --out`. */
#ifndef BENCH_INPUTS_H
#define BENCH_INPUTS_H

#include <stddef.h>
#include <stdint.h>

enum { BENCH_CLIENT = 0, BENCH_SERVER = 1 };

struct bench_write {
	int side;              /* BENCH_CLIENT or BENCH_SERVER */
	const uint8_t *p;
	size_t len;
};

struct bench_session {
	size_t first, n;       /* writes[first .. first+n) */
};

struct bench_streams {
	uint8_t *buf;
	struct bench_write *writes;
	size_t nwrites;
	struct bench_session *sessions;
	size_t nsessions;
	uint64_t client_bytes, server_bytes;
};

struct bench_messages {
	uint8_t *buf;
	size_t *off, *len;
	size_t n;
	uint64_t bytes;
};

/* 0 on success; else -1 with a message in err. */
int bench_load_streams(const char *path, struct bench_streams *out, char *err, size_t errlen);
int bench_load_messages(const char *dir, struct bench_messages *out, char *err, size_t errlen);
void bench_streams_free(struct bench_streams *s);
void bench_messages_free(struct bench_messages *m);

#endif
