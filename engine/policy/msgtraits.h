/* Header traits: SpamAssassin's local eval tests that are pure functions of the
 * top-level header (HeaderEval's check_outlook_message_id, check_for_shifted_date,
 * subject_is_all_caps), gathered from header events into fixed state and decided at the
 * end of the message as sa.* signals (docs/spam.md). No allocation. */
#ifndef SLUICE_MSGTRAITS_H
#define SLUICE_MSGTRAITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/signals.h"

#define TRAITS_MAX_RECEIVED 64
#define TRAITS_JOINED 2048   /* Received and Date values joined, as SpamAssassin's get() */

struct msgtraits {
	char msgid[256];           /* MESSAGEID's first value: X-Message-Id, Resent-Message-Id,
	                            * X-Original-Message-ID, else Message-Id */
	int msgid_rank;            /* which of MESSAGEID's fields it came from; 0: none */
	bool date_parsed, resent_parsed;
	int64_t date_time, resent_time; /* the first Date / Resent-Date that parses */
	char dates[512];           /* every Date value, joined with line feeds */
	size_t dates_len;
	char received[TRAITS_JOINED]; /* every Received value, joined with line feeds */
	size_t received_len;
	unsigned nreceived;        /* non-blank Received fields */
	int64_t rcvd_time[TRAITS_MAX_RECEIVED]; /* each field's date (rcvd_has_time) */
	bool rcvd_has_time[TRAITS_MAX_RECEIVED];
	bool rcvd_local[2], rcvd_fetchmail[2]; /* the first two: fetchmail's own hops */
	char subject[512];         /* the top-level Subject, decoded (the last one) */
	size_t subject_len;
	bool subject_fp_charset;   /* encoded in a charset whose text looks all-caps */
};

void sl_msgtraits_reset(struct msgtraits *t);
/* One top-level header field: its name, decoded value and bytes as written. */
void sl_msgtraits_header(struct msgtraits *t, const char *name, const char *value,
                         const uint8_t *raw, size_t raw_len);
/* The traits of the message: calls raise(ctx, signal) for each that holds. */
void sl_msgtraits_finish(const struct msgtraits *t, void (*raise)(void *ctx, enum sl_signal s),
                         void *ctx);

/* SpamAssassin's Util::parse_rfc822_date: seconds since the epoch, false when no day,
 * month and year are found. Exposed for the tests. */
bool sl_rfc822_date(const char *s, size_t n, int64_t *out);

#endif
