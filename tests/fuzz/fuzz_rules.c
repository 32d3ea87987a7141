/* libFuzzer target for the rules parser (and the per-pattern Hyperscan analysis): any
 * bytes must give a policy or a positioned error, never a crash, leak or hang. The
 * input is "policy\0list": every list file the policy names (keywords, hashes, ndb)
 * reads the part after the first NUL. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul ? (size_t)(nul - data) : size;
	const uint8_t *list = nul ? nul + 1 : (const uint8_t *)"";
	size_t ln = nul ? size - n - 1 : 0;
	struct sl_policy_diag d;
	memset(&d, 0, sizeof d);
	if (!pol_check_buffer(data, n, list, ln, &d)) {
		/* every error names a place and says something */
		if (!d.msg[0] || !d.file[0])
			__builtin_trap();
	}
	return 0;
}
