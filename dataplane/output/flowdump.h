/* Test/debug (inline --dump-messages): every client byte a flow fed to the engine,
 * appended in order to DIR/flows/<client-ip>_<client-port>.client, so a test can check
 * that what the server's application read is what the engine consumed. It opens and
 * writes a file per call on the worker: never on in production. */
#ifndef SLUICE_DP_FLOWDUMP_H
#define SLUICE_DP_FLOWDUMP_H

#include <stddef.h>
#include <stdint.h>

struct dp_flowdump {
	char dir[1024]; /* DIR/flows */
	uint64_t failed; /* writes that did not complete */
};

/* Creates DIR/flows. 0, or -1 with a message in err. */
int dp_flowdump_open(struct dp_flowdump *d, const char *dir, char *err, size_t errlen);

/* A dp_ctx feed_tap: client bytes (dir SL_CLIENT) of flow sf are appended to its file. */
void dp_flowdump_feed(void *arg, const void *sf, int dir, const uint8_t *p, size_t n);

#endif
