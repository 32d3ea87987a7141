/* smtp-trace TRANSCRIPT...: prints the event log of each transcript (whole chunks), for
 * writing tests and docs. Not a test itself. */
#include <stdio.h>

#include "harness.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct transcript *t = transcript_load(argv[i]);
		if (!t)
			return 1;
		struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
		printf("== %s\n%s%s\ntrace: %s\nerror: %s\nmax memory: %zu\n", argv[i],
		       sl_eventlog_text(&r->log_smtp), sl_eventlog_text(&r->log_mime),
		       r->trace.s, r->error, r->max_memory);
		for (size_t m = 0; m < r->nmsgs; m++)
			printf("message txn=%u bytes=%zu code=%d\n", r->msgs[m].txn, r->msgs[m].raw.len,
			       r->msgs[m].code);
		run_free(r);
		transcript_free(t);
	}
	return 0;
}
