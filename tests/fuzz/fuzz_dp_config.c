/* libFuzzer: sluice-dp's configuration parser. Whatever it accepts, printed back and
 * parsed again, gives the same configuration. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct dp_config c, d;
	char err[512];
	dp_config_default(&c);
	if (dp_config_parse(&c, "fuzz", text, err, sizeof err) == 0) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		dp_config_print(&c, f);
		fclose(f);
		dp_config_default(&d);
		if (dp_config_parse(&d, "printed", buf, err, sizeof err) != 0 ||
		    memcmp(&c, &d, sizeof c) != 0)
			abort();
		free(buf);
	}
	free(text);
	return 0;
}
