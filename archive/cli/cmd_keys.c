/* keygen: a new key file (store/keyfile.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "keyfile.h"

int cmd_keygen(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: sluice-archive keygen FILE   (created 0600; keep it off the "
				"archive's data disk)\n");
		return 2;
	}
	char err[512];
	struct ar_keys k;
	if (ar_keys_generate(argv[1], err, sizeof err) < 0 ||
	    ar_keys_load(argv[1], &k, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive keygen: %s\n", err);
		return 1;
	}
	printf("key file %s: signing public key ", argv[1]);
	for (int i = 0; i < 32; i++)
		printf("%02x", k.sign_pub[i]);
	printf("\n");
	ar_keys_free(&k);
	return 0;
}
