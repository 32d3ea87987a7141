#include "sluice/envelope.h"
#include "sluice/event.h"
#include "sluice/limits.h"

const char *sl_event_type_name(enum sl_event_type t)
{
	switch (t) {
	case SL_EV_COMMAND: return "command";
	case SL_EV_REPLY: return "reply";
	case SL_EV_MESSAGE_BEGIN: return "message_begin";
	case SL_EV_RAW: return "raw";
	case SL_EV_HEADER: return "header";
	case SL_EV_PART_BEGIN: return "part_begin";
	case SL_EV_PART_DATA: return "part_data";
	case SL_EV_PART_TEXT: return "part_text";
	case SL_EV_PART_END: return "part_end";
	case SL_EV_MESSAGE_END: return "message_end";
	case SL_EV_TXN_RESULT: return "txn_result";
	case SL_EV_SIGNAL: return "signal";
	case SL_EV_MEMBER_BEGIN: return "member_begin";
	case SL_EV_MEMBER_DATA: return "member_data";
	case SL_EV_MEMBER_END: return "member_end";
	}
	return "unknown";
}

const char *sl_encoding_name(enum sl_encoding e)
{
	switch (e) {
	case SL_ENC_7BIT: return "7bit";
	case SL_ENC_8BIT: return "8bit";
	case SL_ENC_BINARY: return "binary";
	case SL_ENC_BASE64: return "base64";
	case SL_ENC_QP: return "quoted-printable";
	case SL_ENC_UNKNOWN: return "unknown";
	case SL_ENC_UUENCODE: return "x-uuencode";
	}
	return "unknown";
}

const char *sl_direction_name(enum sl_direction d)
{
	switch (d) {
	case SL_DIR_UNKNOWN: return "unknown";
	case SL_DIR_INBOUND: return "inbound";
	case SL_DIR_OUTBOUND: return "outbound";
	case SL_DIR_INTERNAL: return "internal";
	}
	return "unknown";
}

void sl_limits_default(struct sl_limits *lim)
{
	lim->max_line = 4096;
	lim->max_header_bytes = 64 * 1024;
	lim->max_headers = 1000;
	lim->max_depth = 32;
	lim->max_parts = 10000;
	lim->max_rcpts = 1000;
	lim->max_boundary = 256;
	lim->max_pending = 256 * 1024;
	lim->max_filename = 1024;
	lim->skip_part_sha256 = false;
	lim->inline_mode = false;
	lim->extract_depth = 4;
	lim->extract_max_bytes = 16u << 20;
	lim->extract_max_members = 1000;
	lim->extract_max_ratio = 200;
	lim->extract_max_work = 64u << 20;
	lim->extract_max_memory = 2u << 20;
}
