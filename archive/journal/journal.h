/* libsluice-journal: the journal record format (docs/journal-protocol.md) and the
 * spooling sender that hands journal copies to sluice-archive.
 *
 * A record is one frame: a 16-byte header (magic, version, type, length, CRC-32) and a
 * payload of tagged fields. The same bytes go on the wire, into a spool file, or into
 * any other transport: the format knows nothing about TCP.
 *
 * The sender (struct sl_journal) is built for a poll loop that must never block:
 * sl_journal_submit() encodes the record and queues it in memory (bounded); a writer
 * thread makes each record durable in a spool directory (write, fsync, rename), and a
 * sender thread forwards spooled records to the archive and deletes each file only
 * when the archive has acknowledged it as durable. An archive outage fills the spool;
 * nothing is lost while the spool has room. */
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

#define SL_JOURNAL_MAGIC "SLJR"
#define SL_JOURNAL_VERSION 1
#define SL_JOURNAL_HEADER_LEN 16
#define SL_JOURNAL_MAX_PAYLOAD (64u << 20) /* larger records are refused */
#define SL_JOURNAL_MAX_FIELD 1024           /* every string field but the message */
#define SL_JOURNAL_MAX_RCPTS 10000
#define SL_JOURNAL_MAX_RULES 1000

enum sl_journal_frame_type {
	SL_JFRAME_RECORD = 1, /* sender -> archive: one journal record */
	SL_JFRAME_ACK = 2,    /* archive -> sender: record durable (stored or duplicate) */
	SL_JFRAME_REFUSE = 3, /* archive -> sender: record refused, with a reason */
};

/* Field tags of a RECORD payload. Tags below 0x8000 must be understood (a decoder
 * refuses a record with an unknown one); tags from 0x8000 are optional extensions a
 * decoder skips. */
enum sl_journal_tag {
	SL_JTAG_TIME = 1,        /* u64 BE: microseconds since the epoch (required) */
	SL_JTAG_SOURCE_KIND = 2, /* u8: enum sl_journal_source */
	SL_JTAG_SOURCE = 3,      /* who journaled it: gateway or mail host name (required) */
	SL_JTAG_DIRECTION = 4,   /* u8: enum sl_direction */
	SL_JTAG_MAIL_FROM = 5,   /* envelope sender, "" for <> */
	SL_JTAG_RCPT = 6,        /* envelope recipient; repeated */
	SL_JTAG_CLIENT = 7,      /* client address "ip:port" / "[ipv6]:port" */
	SL_JTAG_SERVER = 8,      /* server address */
	SL_JTAG_HELO = 9,
	SL_JTAG_VERDICT = 10,    /* "pass", "quarantine", ... or "none" */
	SL_JTAG_RULE = 11,       /* matched rule id; repeated */
	SL_JTAG_TXN_ID = 12,     /* the source's own id for the transaction (queue id) */
	SL_JTAG_MESSAGE = 13,    /* the raw message (required, once) */
	/* optional extensions (>= 0x8000): a reader that does not know one skips it */
	SL_JTAG_BUNDLE = 0x8001, /* the rule bundle that judged it: "ID/DIGEST" (gateway) */
};

enum sl_journal_source {
	SL_JSOURCE_UNKNOWN = 0,
	SL_JSOURCE_GATEWAY = 1,  /* sluice-dp */
	SL_JSOURCE_MAILHOST = 2, /* a mail host's SMTP/LMTP journal */
	SL_JSOURCE_IMPORT = 3,   /* sluice-archive import */
};

/* A record as a producer describes it; every string is NUL-terminated (NULL = absent). */
struct sl_journal_record {
	uint64_t time_us;
	enum sl_journal_source source_kind;
	const char *source;
	int direction;              /* enum sl_direction */
	const char *mail_from;
	const char *const *rcpt;
	size_t nrcpt;
	const char *client, *server, *helo;
	const char *verdict;
	const char *const *rules;
	size_t nrules;
	const char *txn_id;
	const char *bundle;         /* "ID/DIGEST" of the rule bundle; NULL when none */
	const uint8_t *message;
	size_t message_len;
};

/* A decoded record: strings are NUL-terminated copies owned by the record; the
 * message is not copied: rec.message points into the decoded payload, which must
 * outlive the record. */
struct sl_journal_decoded {
	struct sl_journal_record rec;
	uint8_t id[32];             /* record identity: SHA-256 of the payload */
	char *arena;                /* owns every string and array of rec */
};

/* Encode `r` as one RECORD frame appended to `out`. Returns 0, or -1 with a reason
 * in err when the record breaks a limit (the limits are the decoder's). */
int sl_journal_encode(const struct sl_journal_record *r, struct sl_strbuf *out,
	char *err, size_t errlen);

/* Frame header checks. sl_journal_header_parse validates magic, version, type and
 * length; returns 0 and sets *type, *len, *crc or -1 with a reason. */
int sl_journal_header_parse(const uint8_t hdr[SL_JOURNAL_HEADER_LEN], int *type,
	uint32_t *len, uint32_t *crc, char *err, size_t errlen);
/* The CRC-32 a frame carries: over header bytes 0..11 and the payload. */
uint32_t sl_journal_frame_crc(const uint8_t hdr[SL_JOURNAL_HEADER_LEN],
	const uint8_t *payload, size_t len);
/* Build a frame header for a payload of len bytes (crc computed over it). */
void sl_journal_header_build(uint8_t hdr[SL_JOURNAL_HEADER_LEN], int type,
	const uint8_t *payload, uint32_t len);

/* Decode a RECORD payload (CRC already checked). 0, or -1 with a reason; on success
 * free with sl_journal_decoded_free. */
int sl_journal_decode(const uint8_t *payload, size_t len, struct sl_journal_decoded *out,
	char *err, size_t errlen);
void sl_journal_decoded_free(struct sl_journal_decoded *d);

/* Decode a whole frame held in memory (header + payload): checks and decodes. */
int sl_journal_decode_frame(const uint8_t *frame, size_t len,
	struct sl_journal_decoded *out, char *err, size_t errlen);

/* ACK / REFUSE payloads: the record id (zeros when the archive could not compute it),
 * a status, and for REFUSE a reason text. */
enum sl_journal_ack_status {
	SL_JACK_STORED = 0,
	SL_JACK_DUPLICATE = 1,
};
void sl_journal_encode_reply(struct sl_strbuf *out, int type, const uint8_t id[32],
	int status, const char *reason);
int sl_journal_decode_reply(const uint8_t *payload, size_t len, uint8_t id[32],
	int *status, char *reason, size_t reasonlen);

/* ---- spool directory: one file per record, named in submission order ---- */

/* Write one frame durably into dir (tmp file, fsync, rename, fsync dir). 0 or -1
 * with errno set. */
int sl_journal_spool_write(const char *dir, const uint8_t *frame, size_t len);

/* ---- client: send frames to an archive and read its replies ---- */

/* A TCP connection to "host:port" ("[v6]:port") within timeout_ms, blocking
 * afterwards: the fd, or -1 with a reason. */
int sl_journal_tcp_connect(const char *addr, int timeout_ms, char *err, size_t errlen);

/* Write all n bytes (EINTR retried). 0 or -1. */
int sl_journal_write_all(int fd, const void *p, size_t n);

/* Mutual TLS to the archive (docs/archive.md "Transport"): the archive's CA, this
 * producer's certificate and key (PEM files), and optionally the name the archive's
 * certificate must carry. */
struct sl_journal_tls {
	const char *ca, *cert, *key, *server_name;
};

struct sl_journal_link;
/* Connect to "host:port" ("[v6]:port" too), over TLS when tls (and tls->ca) is set.
 * NULL with a reason. */
struct sl_journal_link *sl_journal_link_open(const char *addr, const struct sl_journal_tls *tls,
	int timeout_ms, char *err, size_t errlen);
int sl_journal_link_write(struct sl_journal_link *l, const void *p, size_t n);
/* Read one reply frame. 0, or -1 with a reason (connection broken or bad frame). */
int sl_journal_read_reply(struct sl_journal_link *l, int *type, uint8_t id[32], int *status,
	char *reason, size_t reasonlen);
void sl_journal_link_close(struct sl_journal_link *l);

/* ---- the asynchronous spooling sender ---- */

struct sl_journal_config {
	const char *spool_dir;      /* created if missing */
	const char *archive;        /* "host:port"; NULL: spool only, no sender thread */
	struct sl_journal_tls tls;  /* tls.ca set: mutual TLS (the archive requires it) */
	size_t max_queue_bytes;     /* in-memory queue cap (0: 64 MiB) */
	uint64_t max_spool_bytes;   /* cap on spooled + queued bytes (0: none but the disk) */
	unsigned window;            /* records in flight to the archive (0: 64) */
};

struct sl_journal_stats {
	uint64_t submitted;         /* accepted by sl_journal_submit */
	uint64_t queue_full;        /* refused by sl_journal_submit: queue over cap */
	uint64_t spooled;           /* made durable in the spool */
	uint64_t spool_errors;      /* spool write failures (record kept in memory, retried) */
	uint64_t acked;             /* acknowledged by the archive, spool file removed */
	uint64_t duplicates;        /* of which the archive already had */
	uint64_t refused;           /* refused by the archive (moved to spool/refused/) */
	uint64_t connect_failures;
	uint64_t mismatched;        /* replies naming another record: connection dropped */
	uint64_t spool_full;        /* refused by sl_journal_submit: past max_spool_bytes */
	uint64_t reserve_refused;   /* sl_journal_reserve said no */
	uint64_t queued;            /* now: in memory, not yet spooled */
	uint64_t spool_files;       /* now: spooled, not yet acknowledged */
	uint64_t spool_bytes;       /* now: their bytes */
	uint64_t spool_free;        /* now: free bytes on the spool's filesystem (last look) */
	bool spool_failing;         /* now: the last spool write or look at the disk failed */
};

struct sl_journal;

struct sl_journal *sl_journal_open(const struct sl_journal_config *cfg, char *err,
	size_t errlen);
/* Never blocks on I/O: encodes r and queues it. 0, or -1 when the record is invalid or
 * the queue or the spool is full (counted; the caller's fail-open/fail-closed policy
 * decides). */
int sl_journal_submit(struct sl_journal *j, const struct sl_journal_record *r);

/* For a producer that must not let a message go without a durable copy (sluice-dp's
 * archive_required): room for a record of about `bytes`, taken before the message is
 * let through and submitted later. 0 when the spool can make it durable now — the last
 * spool write and the writer's last look at the disk succeeded, the record fits the
 * disk's free space, max_spool_bytes and the queue, counting every reservation held —
 * else -1 (counted). Never blocks on I/O (the writer thread looks at the disk). */
int sl_journal_reserve(struct sl_journal *j, size_t bytes);
void sl_journal_unreserve(struct sl_journal *j, size_t bytes);
/* Submit a record `reserved` bytes were reserved for: the reservation goes, and the
 * caps are not checked again (they were when it was made). 0 or -1 (invalid record). */
int sl_journal_submit_reserved(struct sl_journal *j, const struct sl_journal_record *r,
	size_t reserved);
void sl_journal_get_stats(struct sl_journal *j, struct sl_journal_stats *st);
/* Wait until everything submitted is spooled, and, when `delivered`, acknowledged by
 * the archive too; gives up after timeout_ms. true when done. */
bool sl_journal_drain(struct sl_journal *j, bool delivered, int timeout_ms);
/* Stops the threads after spooling what is queued; unsent records stay in the spool
 * for the next sl_journal_open. */
void sl_journal_close(struct sl_journal *j);

#endif
