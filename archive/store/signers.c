/* Signing-key succession (signers.h). */
#include "signers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/strbuf.h"

static const char signer_tag[] = "sluice-archive signer v1";

static size_t handover_message(uint8_t *m, const uint8_t old_pub[32], const uint8_t new_pub[32])
{
	memcpy(m, signer_tag, sizeof signer_tag); /* with its NUL */
	memcpy(m + sizeof signer_tag, old_pub, 32);
	memcpy(m + sizeof signer_tag + 32, new_pub, 32);
	return sizeof signer_tag + 64;
}

static bool add(struct ar_signers *k, const uint8_t pub[32])
{
	uint8_t (*p)[32] = realloc(k->pub, (k->n + 1) * 32);
	if (p)
		k->pub = p;
	uint8_t (*id)[8] = p ? realloc(k->id, (k->n + 1) * 8) : NULL;
	if (id)
		k->id = id;
	if (!p || !id)
		return false;
	memcpy(k->pub[k->n], pub, 32);
	ar_key_id(pub, k->id[k->n]);
	k->n++;
	return true;
}

int ar_signers_load(struct ar_store *s, struct ar_signers *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!add(out, s->keys->sign_pub)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t len;
	char *e = NULL;
	char *v = ar_store_get(s, AR_CF_DEFAULT, "signers", 7, &len, &e);
	free(e);
	if (!v)
		return 0; /* never handed over */
	int rc = 0;
	if (len % AR_SIGNER_LEN) {
		snprintf(err, errlen, "the signing-key handovers are damaged");
		rc = -1;
	}
	/* newest first: each handover must end at the key trusted so far */
	for (size_t i = len / AR_SIGNER_LEN; rc == 0 && i-- > 0;) {
		const uint8_t *h = (const uint8_t *)v + i * AR_SIGNER_LEN;
		uint8_t m[sizeof signer_tag + 64];
		size_t n = handover_message(m, h, h + 32);
		if (memcmp(h + 32, out->pub[out->n - 1], 32) != 0 ||
		    ar_keys_verify(h + 32, m, n, h + 128) < 0 || ar_keys_verify(h, m, n, h + 64) < 0) {
			snprintf(err, errlen, "signing-key handover %zu does not verify: the keys before "
					 "it are not trusted", i);
			rc = -1;
		} else if (!add(out, h)) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	}
	free(v);
	return rc;
}

const uint8_t *ar_signers_pub(const struct ar_signers *k, const uint8_t id[8])
{
	for (size_t i = 0; i < k->n; i++)
		if (!memcmp(k->id[i], id, 8))
			return k->pub[i];
	return NULL;
}

void ar_signers_free(struct ar_signers *k)
{
	free(k->pub);
	free(k->id);
	memset(k, 0, sizeof *k);
}

int ar_signers_handover(struct ar_store *s, const struct ar_keys *next, rocksdb_writebatch_t *wb,
	char *err, size_t errlen)
{
	uint8_t h[AR_SIGNER_LEN], m[sizeof signer_tag + 64];
	memcpy(h, s->keys->sign_pub, 32);
	memcpy(h + 32, next->sign_pub, 32);
	size_t n = handover_message(m, h, h + 32);
	if (ar_keys_sign(s->keys, m, n, h + 64) < 0 || ar_keys_sign(next, m, n, h + 128) < 0) {
		snprintf(err, errlen, "cannot sign the handover");
		return -1;
	}
	size_t len = 0;
	char *e = NULL;
	char *v = ar_store_get(s, AR_CF_DEFAULT, "signers", 7, &len, &e);
	free(e);
	struct sl_strbuf nv;
	sl_strbuf_init(&nv);
	sl_strbuf_put(&nv, v ? v : "", v ? len : 0);
	sl_strbuf_put(&nv, h, sizeof h);
	free(v);
	if (sl_strbuf_failed(&nv)) {
		sl_strbuf_free(&nv);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_DEFAULT], "signers", 7, nv.s, nv.len);
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_DEFAULT], "key_id", 6, (const char *)next->id, 8);
	sl_strbuf_free(&nv);
	return 0;
}
