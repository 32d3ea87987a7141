/* The engine's output: one ordered stream of events per SMTP session or message.
 *
 * Producers: the SMTP session (sluice/smtp.h) and the MIME parser (sluice/mime.h).
 * Consumers: the policy matcher, `sluicectl inspect`, the archive indexer, the dataplane.
 * Every pointer in an event is valid only for the duration of the callback; copy what
 * you keep. Events are identical whatever the chunking of the input.
 *
 * Order for one message:
 *   MESSAGE_BEGIN
 *   ( RAW | HEADER | PART_BEGIN | PART_DATA | PART_TEXT | PART_END | SIGNAL
 *     | MEMBER_BEGIN | MEMBER_DATA | MEMBER_END )*
 *   MESSAGE_END            -- end of data seen; the verdict is due now
 *   TXN_RESULT             -- the server's reply to the end of data (SMTP sessions only)
 * For each MIME entity: HEADER* then PART_BEGIN (headers known), its body, PART_END.
 * A multipart entity's PART_BEGIN/PART_END enclose its children's; so does a
 * message/rfc822 wrapper's enclose the inner message's entity.
 * What the extraction stage (docs/extraction.md) finds inside a leaf part that is an
 * archive or a document comes between that part's PART_BEGIN and PART_END, as
 * MEMBER_BEGIN, MEMBER_DATA*, MEMBER_END; a container member's MEMBER_BEGIN/END enclose
 * the members found inside it.
 */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/envelope.h"

enum sl_event_type {
	SL_EV_COMMAND,       /* one client command line (SMTP only): verb, arg, offset */
	SL_EV_REPLY,         /* one server reply line (SMTP only): code, text, last, offset */
	SL_EV_MESSAGE_BEGIN, /* content of a transaction starts (354 to DATA, or first BDAT) */
	SL_EV_RAW,           /* raw message bytes as the server receives them, dot-unstuffed */
	SL_EV_HEADER,        /* one unfolded header field of entity `part` */
	SL_EV_PART_BEGIN,    /* an entity's headers are complete; `part` describes it */
	SL_EV_PART_DATA,     /* transfer-decoded body bytes of a leaf part */
	SL_EV_PART_TEXT,     /* the same bytes converted to UTF-8 (leaf parts of type text) */
	SL_EV_PART_END,      /* entity ends; part->decoded_bytes and part->sha256 are final */
	SL_EV_MESSAGE_END,   /* end of data in the client stream (CRLF.CRLF or BDAT LAST) */
	SL_EV_TXN_RESULT,    /* server reply to the end of data; envelope recipients final */
	SL_EV_SIGNAL,        /* a named anomaly, see sluice/signals.h */
	SL_EV_MEMBER_BEGIN,  /* a member found inside an archive or document; `member` */
	SL_EV_MEMBER_DATA,   /* its bytes (FILE) or its text as UTF-8 (TEXT) */
	SL_EV_MEMBER_END,
};

/* What an extracted member is. */
enum sl_member_kind {
	SL_MEMBER_FILE,      /* a file inside an archive: MEMBER_DATA carries its bytes */
	SL_MEMBER_TEXT,      /* the text of a document part (OOXML/ODF XML, a PDF content
	                      * stream): UTF-8 */
	SL_MEMBER_CONTAINER, /* an archive inside an archive, opened: its members follow */
};

#define SL_MEMBER_PATH_MAX 1024

struct sl_member {
	const char *path;    /* the attachment's filename and the names inside it, joined
	                      * by '/': "invoice.zip/2024/list.csv" */
	const char *name;    /* the name inside its container ("2024/list.csv") */
	unsigned depth;      /* 1 for a member of the attachment itself */
	enum sl_member_kind kind;
	const char *format;  /* the container it was found in: "zip", "gzip", "tar", "pdf" */
};

enum sl_part_kind {
	SL_PART_LEAF,      /* a body with content: text, attachment, ... */
	SL_PART_MULTIPART, /* multipart: container of children */
	SL_PART_MESSAGE,   /* message/rfc822 (or global): wrapper of an inner message */
};

enum sl_encoding {
	SL_ENC_7BIT,
	SL_ENC_8BIT,
	SL_ENC_BINARY,
	SL_ENC_BASE64,
	SL_ENC_QP,
	SL_ENC_UNKNOWN, /* unrecognised Content-Transfer-Encoding: body passed through */
	SL_ENC_UUENCODE, /* x-uuencode, uuencode, uue, x-uue */
};

#define SL_PATH_MAX 64
#define SL_CTYPE_MAX 128
#define SL_CHARSET_MAX 64

/* One MIME entity. Paths are IMAP section numbers (RFC 3501 6.4.5): a single-part
 * message's body is "1"; children of a multipart are "1", "2", ...; nested ones
 * "2.1"; the body of a message/rfc822 part "2" is "2.1" (or its children "2.1",
 * "2.2" when the inner message is multipart). The top-level message's own header
 * block belongs to the root entity, whose path is "" and depth 0. */
struct sl_part {
	char path[SL_PATH_MAX];
	unsigned depth;               /* 0 for the root entity */
	bool message_root;            /* headers are a message's (top-level or inner) */
	enum sl_part_kind kind;
	char content_type[SL_CTYPE_MAX]; /* lowercase "type/subtype", default per RFC 2045/2046 */
	char charset[SL_CHARSET_MAX];    /* lowercase, "" when none */
	const char *filename;         /* decoded UTF-8 (RFC 2231/2047) or NULL */
	const char *disposition;      /* lowercase "inline", "attachment", or NULL */
	enum sl_encoding encoding;
	uint64_t raw_body_begin;      /* offsets in the raw message of the encoded body */
	uint64_t raw_body_end;        /* (raw_body_end valid at PART_END) */
	uint64_t decoded_bytes;       /* at PART_END: transfer-decoded length */
	uint8_t sha256[32];           /* at PART_END: SHA-256 of the transfer-decoded bytes */
};

struct sl_event {
	enum sl_event_type type;
	uint32_t txn;                 /* transaction number within the session, from 0 */
	uint64_t offset;              /* see below */
	const struct sl_part *part;   /* HEADER, PART_* */
	const uint8_t *data;          /* RAW, PART_DATA, PART_TEXT; header/line bytes */
	size_t len;
	const char *name;             /* HEADER: field name as written; COMMAND: verb
	                               * (uppercase; "AUTH-RESPONSE" for a line answering
	                               * a 334); REPLY: the command it answers (GREETING,
	                               * HELO, EHLO, MAIL, RCPT, DATA, END-OF-DATA, BDAT,
	                               * RSET, NOOP, VRFY, EXPN, HELP, AUTH, AUTH-RESPONSE,
	                               * STARTTLS, QUIT, OTHER; NULL when none waits);
	                               * SIGNAL: signal name */
	const char *value;            /* HEADER: value unfolded, RFC 2047 decoded to UTF-8;
	                               * COMMAND: argument; REPLY: text; SIGNAL: detail */
	int code;                     /* REPLY, TXN_RESULT: SMTP reply code (TXN_RESULT:
	                               * 0 when no reply was seen: abandoned or cut off) */
	bool last;                    /* REPLY: last line of a multi-line reply */
	const struct sl_envelope *envelope; /* MESSAGE_BEGIN, MESSAGE_END, TXN_RESULT */
	const struct sl_member *member; /* MEMBER_*: `part` is the attachment holding it */
};
/* offset:
 *   COMMAND        client-stream offset of the start of the command line
 *   REPLY          server-stream offset of the start of the reply line
 *   RAW            offset of these bytes within the raw (unstuffed) message
 *   HEADER         offset of the field within the raw message
 *   PART_DATA/TEXT offset of these bytes within the part's decoded (resp. UTF-8) data
 *   MEMBER_DATA    offset of these bytes within the member's bytes (or text)
 *   MEMBER_BEGIN/END, extraction SIGNALs: raw offset of the attachment's body
 *   MESSAGE_END    client-stream offset just past the terminator / the BDAT LAST chunk
 *   SIGNAL         raw-message offset when inside a message, else stream offset
 */

typedef void (*sl_event_fn)(void *ctx, const struct sl_event *ev);

const char *sl_event_type_name(enum sl_event_type t);
const char *sl_encoding_name(enum sl_encoding e);

#endif
