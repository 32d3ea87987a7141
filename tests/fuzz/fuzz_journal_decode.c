/* libFuzzer: the journal frame and record decoder (archive/journal/record.c) must
 * refuse with a reason or decode, never crash; a decoded record re-encodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct sl_journal_decoded d;
	/* as a whole frame (header checks, CRC) */
	if (sl_journal_decode_frame(data, size, &d, err, sizeof err) == 0)
		sl_journal_decoded_free(&d);
	/* as a payload whose CRC was right: the field decoder itself */
	if (sl_journal_decode(data, size, &d, err, sizeof err) == 0) {
		struct sl_strbuf f;
		sl_strbuf_init(&f);
		if (sl_journal_encode(&d.rec, &f, err, sizeof err) == 0) {
			struct sl_journal_decoded d2;
			if (sl_journal_decode_frame((const uint8_t *)f.s, f.len, &d2, err, sizeof err) != 0)
				abort(); /* what we encode we must decode */
			if (d2.rec.message_len != d.rec.message_len || d2.rec.nrcpt != d.rec.nrcpt)
				abort();
			sl_journal_decoded_free(&d2);
		}
		sl_strbuf_free(&f);
		sl_journal_decoded_free(&d);
	}
	uint8_t id[32];
	int status;
	char reason[64];
	sl_journal_decode_reply(data, size, id, &status, reason, sizeof reason);
	return 0;
}
