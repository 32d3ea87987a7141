/* Header values as Python's email package (policy=default) reads them: a C port of the
 * parts of email._header_value_parser, email.headerregistry and email.message that
 * decide what str(msg['Subject']), str(msg['From']), get_content_type(), get_param()
 * and get_filename() return. The inputs are unfolded header values (CR and LF
 * removed, leading blanks stripped) as raw bytes; outputs are valid UTF-8. */
#ifndef SLUICE_MIME_PYEMAIL_H
#define SLUICE_MIME_PYEMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"
#include "charset.h"
#include "str_stash.h"

/* Per-parser state the header parsers reuse: the iconv descriptors and the storage of
 * their temporary strings. (Their parse-tree arena keeps one block per thread between
 * calls, pyemail.c.) Zeroed with iconv set is a new one. */
struct sl_py_env {
	struct sl_iconv_cache *iconv;
	struct sl_str_stash strs;
};
/* With the allocator the parser charges current. */
void sl_py_env_free(struct sl_py_env *env);

/* What the parser noticed, for signals. */
enum {
	SL_PY_BAD_EW = 1 << 0,          /* an =?...?= that is not a valid encoded word */
	SL_PY_UNKNOWN_CHARSET = 1 << 1, /* encoded word or RFC 2231 value in an unknown charset */
	SL_PY_UNDECODABLE = 1 << 2,     /* bytes invalid in their charset, replaced */
	SL_PY_8BIT = 1 << 3,            /* raw 8-bit bytes in the value */
	SL_PY_BAD_PARAM = 1 << 4,       /* malformed MIME parameter */
};

/* str() of an unstructured header (Subject and every header without its own type). */
void sl_py_unstructured(struct sl_py_env *env, const uint8_t *v, size_t n,
                        struct sl_strbuf *out, unsigned *flags);
/* str() of an address header (From, To, Cc, Bcc, Sender, Reply-To, Resent-*). */
void sl_py_address(struct sl_py_env *env, const uint8_t *v, size_t n,
                   struct sl_strbuf *out, unsigned *flags);
/* str() of Content-Type (ctype true) or Content-Disposition: the normalized form
 * (parameters re-quoted, RFC 2231 continuations joined and decoded) that Message
 * methods parse again. */
void sl_py_mime_params_header(struct sl_py_env *env, const uint8_t *v, size_t n,
                              bool ctype, struct sl_strbuf *out, unsigned *flags);
/* str() of Content-Transfer-Encoding. */
void sl_py_cte(struct sl_py_env *env, const uint8_t *v, size_t n, struct sl_strbuf *out,
               unsigned *flags);

/* On the str() of a parameterized header: */
/* get_content_type()'s view: the text before the first ';', stripped and lowercased. */
void sl_py_ctype(const char *s, size_t n, struct sl_strbuf *out);
/* Message.get_param(name) then collapse_rfc2231_value (unquoting as Python does).
 * Returns false when the parameter is absent. */
bool sl_py_get_param(struct sl_py_env *env, const char *s, size_t n, const char *name,
                     struct sl_strbuf *out);

/* str.strip() / str.rstrip() over UTF-8 (Unicode whitespace). */
void sl_py_strip(const char **p, size_t *n, bool left, bool right);

#endif
