/* keygen, rekey: key files (store/keyfile.h) and key rotation (store/seal.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "keyfile.h"
#include "seal.h"
#include "signers.h"

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

/* rekey: a new key file (new KEK, the same signing key) and a new data key for new
 * data; the keyring is wrapped anew, no stored value is rewritten. */
int cmd_rekey(int argc, char **argv)
{
	const char *data = NULL, *path = NULL;
	bool new_sign = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--new-key") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--new-signing-key"))
			new_sign = true;
		else
			data = NULL, i = argc;
	}
	if (!data || !path) {
		fprintf(stderr, "usage: sluice-archive rekey --data DIR --new-key FILE "
				"[--new-signing-key]   (the current key file from --key or "
				"SLUICE_ARCHIVE_KEY; the server stopped)\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, true, false);
	if (!s)
		return 1;
	char err[512];
	struct ar_keys nk;
	int rc = 1;
	/* the new key file is durable before the store depends on it */
	if (ar_keys_generate_rekey(path, s->keys, new_sign, err, sizeof err) < 0 ||
	    ar_keys_load(path, &nk, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive rekey: %s\n", err);
		ar_store_close(s);
		return 1;
	}
	char detail[128];
	snprintf(detail, sizeof detail, "\"data_keys\":%u,\"new_signing_key\":%s", s->ndeks + 1,
		new_sign ? "true" : "false");
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	if (cli_audit(s, "rekey", detail) == 0) {
		if ((!new_sign || ar_signers_handover(s, &nk, wb, err, sizeof err) == 0) &&
		    ar_seal_rekey(s, nk.kek, wb, err, sizeof err) == 0 &&
		    ar_store_write(s, wb, true, err, sizeof err) == 0) {
			printf("rekeyed: %u data keys, new values sealed with the newest; only %s opens "
			       "the store now (destroy the old key file once it is verified)\n",
			       s->ndeks, path);
			rc = 0;
		} else {
			fprintf(stderr, "sluice-archive rekey: %s: the store still opens with the old key "
					"file; remove %s\n", err, path);
		}
	}
	rocksdb_writebatch_destroy(wb);
	ar_keys_free(&nk);
	ar_store_close(s);
	return rc;
}
