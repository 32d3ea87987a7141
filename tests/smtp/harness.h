/* Runs an SMTP session over a transcript in a chosen chunking and records what came
 * out: a trace of the non-data events, each message's bytes and envelope, signals,
 * and two canonical event logs for chunking-invariance comparisons. */
#ifndef SLUICE_TEST_SMTP_HARNESS_H
#define SLUICE_TEST_SMTP_HARNESS_H

#include <stdbool.h>

#include "eventlog.h"
#include "sluice/limits.h"
#include "sluice/smtp.h"
#include "sluice/strbuf.h"
#include "transcript.h"

enum chunking {
	CH_WHOLE,  /* each record in one feed */
	CH_MERGED, /* consecutive records of one direction in one feed */
	CH_BYTE,   /* one byte per feed */
	CH_RANDOM, /* random sizes (1 byte .. 64 KiB), fixed seed */
};

struct msg_rec {
	uint32_t txn;
	bool ended, has_result;
	int code;
	uint64_t begin_off, end_off;
	struct sl_strbuf raw;  /* the RAW bytes, in order */
	struct sl_envelope env; /* copied at TXN_RESULT (else MESSAGE_END); rcpt below */
	struct sl_rcpt *rcpt;
};

struct sig_rec {
	char name[48];
	char detail[192];
	uint32_t txn;
	uint64_t off;
};

struct run {
	struct sl_smtp *s;
	/* Two canonical logs, each the same whatever the chunking. The MIME parser's
	 * events are not compared in their order relative to the session's (a BDAT command
	 * or an smtp signal inside a message): when the parser emits held-back bytes
	 * depends on where its input was cut, though the bytes do not. */
	struct sl_eventlog log_smtp; /* every event but the MIME parser's (RAW included) */
	struct sl_eventlog log_mime; /* the MIME parser's, between MESSAGE_BEGIN and _END */
	struct sl_strbuf trace;      /* "EHLO 250 MAIL 250 ... begin0 end0 result0=250" */
	struct msg_rec *msgs;
	size_t nmsgs;
	struct sig_rec *sigs;
	size_t nsigs;
	struct sl_envelope last_env; /* envelope of the last TXN_RESULT (rcpt not kept) */
	int refused_code;            /* last TXN_RESULT without a message */
	size_t refused;              /* TXN_RESULTs without a message */
	size_t base_memory;          /* sl_smtp_memory() of the new session */
	size_t max_memory;
	size_t mime_events;
	size_t raw_events;
	char error[512];             /* first broken invariant, "" when none */
	uint64_t client_fed;
	size_t backlog_peak;         /* run_inline: client bytes the device had to keep back */
	size_t backlog_left;         /* ... and still kept at the end (no room was ever made) */
	bool failure_seen;           /* engine.memory was raised */
	uint32_t failure_txn;
};

/* Runs t; closes the session at the end when close is set. lim may be NULL. */
struct run *run_transcript(const struct transcript *t, enum chunking ch, unsigned seed,
                           const struct sl_limits *lim, bool close);
/* The same with the session charging acct (sl_smtp_new_acct). r->s is NULL when the
 * account refused the session itself; nothing was fed then. */
struct run *run_transcript_acct(const struct transcript *t, enum chunking ch, unsigned seed,
                                const struct sl_limits *lim, bool close,
                                const struct sl_memacct *acct);
/* Runs t on s after sl_smtp_reset (its limits and account kept); the run owns s from
 * here on. r->s is NULL when the reset failed (s is freed then). */
struct run *run_transcript_reset(const struct transcript *t, struct sl_smtp *s,
                                 enum chunking ch, unsigned seed, bool close);
/* Runs t as an inline device would (lim->inline_mode should be set): client bytes go
 * into a backlog and are fed at most sl_smtp_client_room() at a time; the backlog is
 * fed again after every server record. Whole records; a gap record is an error. */
struct run *run_inline(const struct transcript *t, const struct sl_limits *lim, bool close);
/* Parses text as a transcript and runs it whole (asserting it parses). */
struct run *run_text(const char *text);
void run_free(struct run *r);

/* Number of signals with this name. */
size_t run_count_signal(const struct run *r, const char *name);
const struct sig_rec *run_find_signal(const struct run *r, const char *name);

/* Runs t in every chunking (whole, merged, 1-byte, 3 random seeds) and returns "" when
 * all event logs agree, else a description of the first difference (static buffer). */
const char *run_invariance(const struct transcript *t, const struct sl_limits *lim);

#endif
