#include "archivesink.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "journal.h"
#include "msgfile.h"

struct archivesink {
	struct dp_msgdir files; /* first: dp_msgdir_begin/write use it */
	struct sl_journal *j;
};

/* A message on its way: its file, and the room the journal promised for it. */
struct arch_msg {
	struct dp_msgfile *file;
	size_t reserved;
};

/* The record's fields beside the message, at most (SL_JOURNAL_MAX_FIELD each, a few
 * recipients and rules); a reservation is a promise about, not exactly, this much. */
#define RECORD_OVERHEAD 8192

static void *arch_begin(void *impl)
{
	struct dp_msgfile *f = dp_msgdir_begin(impl);
	struct arch_msg *m = f ? calloc(1, sizeof *m) : NULL;
	if (!m) {
		if (f)
			dp_msgfile_discard(f);
		return NULL;
	}
	m->file = f;
	return m;
}

static void arch_write(void *impl, void *msg, const uint8_t *p, size_t n)
{
	struct arch_msg *m = msg;
	dp_msgdir_write(impl, m->file, p, n);
}

static size_t arch_reserve_room(void *impl, uint64_t bytes)
{
	struct archivesink *a = impl;
	size_t want = (size_t)bytes + RECORD_OVERHEAD;
	return sl_journal_reserve(a->j, want) == 0 ? want : 0;
}

static void arch_release_room(void *impl, size_t room)
{
	struct archivesink *a = impl;
	if (room)
		sl_journal_unreserve(a->j, room);
}

static bool arch_reserve(void *impl, void *msg, uint64_t bytes)
{
	struct arch_msg *m = msg;
	if (m->reserved)
		return true;
	if (m->file->failed)
		return false; /* the copy is already incomplete */
	m->reserved = arch_reserve_room(impl, bytes);
	return m->reserved != 0;
}

static int arch_commit(void *impl, void *handle, const struct dp_msg_meta *m)
{
	struct archivesink *a = impl;
	struct arch_msg *msg = handle;
	size_t reserved = msg->reserved + m->reserved;
	struct dp_msgfile *file = msg->file;
	free(msg);
	bool kept = m->outcome != DP_MSG_REFUSED && m->outcome != DP_MSG_REJECTED;
	if (!kept || m->truncated) {
		dp_msgfile_discard(file); /* never delivered, or an incomplete copy */
		arch_release_room(a, reserved);
		return kept ? -1 : 0;
	}
	size_t len;
	uint8_t *bytes = dp_msgfile_take(file, &len);
	if (!bytes) {
		arch_release_room(a, reserved);
		return -1;
	}
	const struct sl_envelope *env = m->env;
	const char **rcpt = calloc(env && env->nrcpt ? env->nrcpt : 1, sizeof *rcpt);
	size_t nrcpt = 0;
	for (size_t i = 0; rcpt && env && i < env->nrcpt; i++)
		if (sl_rcpt_counts(&env->rcpt[i]))
			rcpt[nrcpt++] = env->rcpt[i].addr;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char bundle[48];
	snprintf(bundle, sizeof bundle, "%llu/%s", (unsigned long long)m->bundle_id,
	         m->bundle_digest ? m->bundle_digest : "");
	struct sl_journal_record r = {
		.time_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec,
		.source_kind = SL_JSOURCE_GATEWAY,
		.source = "sluice-dp",
		.direction = (int)m->direction,
		.mail_from = env ? env->mail_from : "",
		.rcpt = rcpt,
		.nrcpt = nrcpt,
		.client = m->client,
		.server = m->server,
		.helo = env ? env->helo : NULL,
		.verdict = m->outcome == DP_MSG_QUARANTINED ? "quarantine" : sl_action_name(m->action),
		.rules = m->rules,
		.nrules = m->nrules,
		.bundle = m->bundle_digest && m->bundle_digest[0] ? bundle : NULL,
		.message = bytes,
		.message_len = len,
	};
	int rc = rcpt && sl_journal_submit_reserved(a->j, &r, reserved) == 0 ? 1 : -1;
	if (!rcpt)
		arch_release_room(a, reserved);
	free(rcpt);
	free(bytes);
	return rc;
}

static void arch_free(void *impl)
{
	free(impl);
}

static const struct dp_sink_ops arch_ops = {
	.begin = arch_begin,
	.write = arch_write,
	.commit = arch_commit,
	.free = arch_free,
	.reserve = arch_reserve,
	.reserve_room = arch_reserve_room,
	.release_room = arch_release_room,
};

int dp_archivesink_open(struct dp_sink *s, struct sl_journal *j, const char *tmpdir,
                        const char *tag, char *err, size_t errlen)
{
	struct archivesink *a = calloc(1, sizeof *a);
	if (!a || dp_msgdir_init(&a->files, tmpdir, tag, err, errlen) != 0) {
		free(a);
		return -1;
	}
	a->j = j;
	s->ops = &arch_ops;
	s->impl = a;
	return 0;
}
