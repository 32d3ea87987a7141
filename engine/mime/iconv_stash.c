/* Descriptors recycled parsers gave back, for the next parser on the same thread:
 * iconv_open costs five allocations in glibc even with the module loaded, and a pooled
 * parser starts each flow with an empty cache (issue 14, docs/dataplane.md "What is
 * allocated per flow"). Thread-local, so no lock on a worker; charged to nobody while
 * here (sl_iconv_cache_recycle releases the charge, sl_iconv_cache_get takes it again);
 * closed when the thread exits. */
#include "charset.h"

#include <pthread.h>
#include <stdlib.h>

#define STASH_MAX 16

struct iconv_stash {
	unsigned n;
	struct {
		const char *name; /* static string from the alias table */
		iconv_t cd;
	} e[STASH_MAX];
};

static __thread struct iconv_stash *stash;
static pthread_key_t stash_key;
static pthread_once_t stash_once = PTHREAD_ONCE_INIT;
static bool stash_key_ok;

static void stash_close(void *p)
{
	struct iconv_stash *s = p;
	for (unsigned i = 0; i < s->n; i++)
		iconv_close(s->e[i].cd);
	free(s);
}

static void stash_key_create(void)
{
	stash_key_ok = pthread_key_create(&stash_key, stash_close) == 0;
}

iconv_t sl_iconv_stash_take(const char *from)
{
	struct iconv_stash *s = stash;
	for (unsigned i = 0; s && i < s->n; i++) {
		if (s->e[i].name != from)
			continue;
		iconv_t cd = s->e[i].cd;
		s->e[i] = s->e[--s->n];
		return cd;
	}
	return (iconv_t)-1;
}

bool sl_iconv_stash_put(const char *from, iconv_t cd)
{
	if (!stash) {
		pthread_once(&stash_once, stash_key_create);
		if (!stash_key_ok)
			return false;
		struct iconv_stash *s = calloc(1, sizeof *s);
		if (!s)
			return false;
		if (pthread_setspecific(stash_key, s) != 0) {
			free(s);
			return false;
		}
		stash = s;
	}
	if (stash->n == STASH_MAX)
		return false;
	stash->e[stash->n].name = from;
	stash->e[stash->n].cd = cd;
	stash->n++;
	return true;
}
