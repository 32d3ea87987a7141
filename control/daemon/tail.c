#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long tail_lines(const char *path, unsigned n, size_t max_bytes, struct sl_strbuf *out,
                char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* read backwards from the end until n + 1 newlines (the one ending the line before
	 * the first we want) or max_bytes are in the window */
	size_t want = max_bytes + 1, have = 0;
	off_t end = st.st_size, pos = end;
	char *buf = malloc(want);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	unsigned newlines = 0;
	while (pos > 0 && have < want && newlines <= n) {
		size_t chunk = 65536;
		if ((off_t)chunk > pos)
			chunk = (size_t)pos;
		if (chunk > want - have)
			chunk = want - have;
		pos -= (off_t)chunk;
		memmove(buf + chunk, buf, have);
		ssize_t k = pread(fd, buf, chunk, pos);
		if (k != (ssize_t)chunk) {
			snprintf(err, errlen, "%s: read error", path);
			free(buf);
			close(fd);
			return -1;
		}
		have += chunk;
		newlines = 0;
		for (size_t i = 0; i < have; i++)
			newlines += buf[i] == '\n';
	}
	close(fd);
	/* drop a partial last line, then keep the last n whole lines that fit */
	size_t stop = have;
	while (stop > 0 && buf[stop - 1] != '\n')
		stop--;
	size_t start = stop;
	unsigned lines = 0;
	while (start > 0 && lines < n) {
		size_t s = start - 1; /* the newline ending the line before */
		while (s > 0 && buf[s - 1] != '\n')
			s--;
		bool whole = s > 0 || pos == 0;
		if (!whole || stop - s > max_bytes)
			break;
		start = s;
		lines++;
	}
	sl_strbuf_put(out, buf + start, stop - start);
	free(buf);
	return lines;
}
