#include "sluice/digest.h"

#include <pthread.h>

static const EVP_MD *sha256, *sha1, *md5;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Explicitly fetched digests; the built-in ones when the default provider cannot be
 * fetched from (they still work, only more slowly). */
static void fetch_all(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!sha256)
		sha256 = EVP_sha256();
	if (!sha1)
		sha1 = EVP_sha1();
	if (!md5)
		md5 = EVP_md5();
}

const EVP_MD *sl_md_sha256(void)
{
	pthread_once(&once, fetch_all);
	return sha256;
}

const EVP_MD *sl_md_sha1(void)
{
	pthread_once(&once, fetch_all);
	return sha1;
}

const EVP_MD *sl_md_md5(void)
{
	pthread_once(&once, fetch_all);
	return md5;
}
