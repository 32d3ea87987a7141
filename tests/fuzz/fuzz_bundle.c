/* libFuzzer target for bundle loading: the input is a bundle's payload (sources, pattern
 * digest, recorded analysis, databases), given a header that fits it (this Hyperscan,
 * no CPU features, its SHA-256) so the fuzzer gets past the checksum. Any payload must
 * give a policy or an error that says something, never a crash, leak or hang. */
#include <hs.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t md[32];
	unsigned mdlen = 32;
	if (!EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL))
		return 0;
	char header[512];
	int n = snprintf(header, sizeof header,
	                 "SLUICE-RULES-BUNDLE\nformat 3\nhyperscan %s\nplatform 0\nsha256 ", hs_version());
	for (int i = 0; i < 32; i++)
		n += snprintf(header + n, sizeof header - (size_t)n, "%02x", md[i]);
	n += snprintf(header + n, sizeof header - (size_t)n, "\n\n");
	uint8_t *bundle = malloc((size_t)n + size);
	if (!bundle)
		return 0;
	memcpy(bundle, header, (size_t)n);
	memcpy(bundle + n, data, size);
	struct sl_policy_diag d;
	memset(&d, 0, sizeof d);
	struct sl_policy *p = sl_policy_load_bundle_mem("fuzz.bundle", bundle, (size_t)n + size, &d);
	free(bundle);
	if (p)
		sl_policy_unref(p);
	else if (!d.msg[0])
		__builtin_trap(); /* every refusal says why */
	return 0;
}
