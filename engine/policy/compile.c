/* From parsed rules to Hyperscan databases: which database each pattern goes to, the
 * flags it gets (single-match where counting does not need every match, prefilter +
 * PCRE2 where Hyperscan cannot match it exactly), and the compile itself. The analysis
 * runs again when a bundle is loaded, so both paths agree on every id and flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

#define CONFIRM_WINDOW_DEFAULT 256

static void scope_dbs(const struct sl_policy *p, const struct pol_cond *c, bool *in)
{
	memset(in, 0, p->ndbs * sizeof *in);
	uint32_t s = c->scopes;
	if (s & (SC_BODY | SC_TEXT | SC_PART | SC_CONTENT))
		in[DB_BODY] = true;
	if (s & (SC_ATTACHMENT | SC_PART | SC_CONTENT))
		in[DB_ATTACH] = true;
	if (s & (SC_TEXT | SC_CONTENT))
		in[DB_ATTACH_TEXT] = true;
	if (s & (SC_ATTACHMENT | SC_PART))
		in[DB_ATTACH_RAW] = true;
	if (s & SC_RAW)
		in[DB_RAW] = true;
	if (s & (SC_ATTACHMENT | SC_PART | SC_CONTENT))
		in[DB_MEMBER] = true;
	if (s & (SC_TEXT | SC_CONTENT | SC_DOC_TEXT))
		in[DB_DOCTEXT] = true;
	if (s & SC_ARCHIVE_MEMBER)
		in[DB_MEMBER_NAME] = true;
	if (s & SC_RENDERED)
		in[DB_RENDERED] = true;
	if (s & SC_MAIL_FROM)
		in[DB_MAIL_FROM] = true;
	if (s & SC_RCPT_TO)
		in[DB_RCPT_TO] = true;
	if (s & SC_HELO)
		in[DB_HELO] = true;
	if (s & SC_HEADER)
		in[DB_HEADER] = true;
	if (s & SC_FILENAME)
		in[DB_FILENAME] = true;
	for (uint32_t h = 0; h < c->nheaders; h++)
		for (uint32_t d = POL_DB_FIXED; d < p->ndbs; d++)
			if (strcmp(p->dbs[d].header, c->headers[h]) == 0)
				in[d] = true;
}

static void set_dbs(struct sl_policy *p)
{
	/* named header databases: one per distinct field name, in order of appearance */
	struct pol_vec names;
	pol_vec_init(&names, sizeof(const char *));
	for (uint32_t i = 0; i < p->nconds; i++)
		for (uint32_t h = 0; h < p->conds[i].nheaders; h++) {
			bool seen = false;
			for (size_t k = 0; k < names.n; k++)
				seen |= strcmp(*POL_AT(names, const char *, k), p->conds[i].headers[h]) == 0;
			if (!seen)
				*(const char **)pol_vec_push(&names) = p->conds[i].headers[h];
		}
	p->ndbs = POL_DB_FIXED + (uint32_t)names.n;
	p->dbs = pol_alloc(p->arena, p->ndbs * sizeof *p->dbs);
	for (uint32_t d = 0; d < p->ndbs; d++) {
		struct pol_dbinfo *db = &p->dbs[d];
		db->streaming = d < POL_NSTREAM;
		if (d < POL_DB_FIXED) {
			db->scope = pol_db_scope_name(d);
		} else {
			db->header = *POL_AT(names, const char *, d - POL_DB_FIXED);
			char *s = pol_alloc(p->arena, strlen(db->header) + 16);
			if (db->header[0] == ':')
				sprintf(s, "message-header%s", db->header);
			else
				sprintf(s, "header:%s", db->header);
			db->scope = s;
		}
	}
	pol_vec_free(&names);
}

static void diag_at(struct sl_policy *p, struct sl_policy_diag *diag, const struct pol_pattern *pt,
                    const char *msg)
{
	const struct pol_cond *c = &p->conds[pt->cond];
	pol_diag(diag, pol_file_name(p, pt->file), pt->line, pt->col, "rule %s: %s",
	         p->rules[c->rule].id, msg);
}

/* Decide how each pattern is compiled; fills every database's id table. */
static bool analyze(struct sl_policy *p, struct sl_policy_diag *diag)
{
	set_dbs(p);
	for (uint32_t i = 0; i < p->nconds; i++) {
		struct pol_cond *c = &p->conds[i];
		if (c->type == COND_PATTERN && c->distinct && c->validator == VAL_NONE) {
			/* distinct without a validator counts distinct patterns */
			uint32_t n = 0;
			for (uint32_t k = 0; k < p->npatterns; k++)
				n += p->patterns[k].cond == i;
			if (n < c->min_count) {
				pol_diag(diag, pol_file_name(p, c->file), c->line, c->col,
				         "rule %s: 'count >= %u distinct' can never hold: without a validator, "
				         "distinct counts different patterns and this match has %u",
				         p->rules[c->rule].id, c->min_count, n);
				return false;
			}
		}
	}
	for (uint32_t i = 0; i < p->npatterns; i++) {
		struct pol_pattern *pt = &p->patterns[i];
		const struct pol_cond *c = &p->conds[pt->cond];
		pol_decompose(p->arena, pt, c->validator);
		if (!pt->literal) {
			hs_expr_info_t *info = NULL;
			hs_compile_error_t *err = NULL;
			if (hs_expression_info(pt->expr, pt->hs_flags, &info, &err) != HS_SUCCESS) {
				char msg[400];
				snprintf(msg, sizeof msg, "%s", err ? err->message : "cannot compile");
				hs_free_compile_error(err);
				err = NULL;
				/* not exact in Hyperscan: prefilter it, confirm with PCRE2 */
				if (hs_expression_info(pt->expr, pt->hs_flags | HS_FLAG_PREFILTER, &info, &err) != HS_SUCCESS) {
					hs_free_compile_error(err);
					char full[480];
					snprintf(full, sizeof full, "regular expression not supported: %s", msg);
					diag_at(p, diag, pt, full);
					return false;
				}
				pt->needs_confirm = true;
			}
			unsigned min_width = info ? info->min_width : 1, max_width = info ? info->max_width : 0;
			free(info);
			if (min_width == 0) {
				diag_at(p, diag, pt, "regular expression can match empty text");
				return false;
			}
			if (pt->needs_confirm) {
				uint32_t w = pt->window ? pt->window : CONFIRM_WINDOW_DEFAULT;
				if (!pt->window && max_width != UINT32_MAX && max_width > w)
					w = max_width > 65536 ? 65536 : max_width;
				pt->window = w;
			} else if (pt->window) {
				diag_at(p, diag, pt, "window applies only to expressions confirmed by PCRE2 "
				                     "(Hyperscan matches this one exactly)");
				return false;
			}
		}
		if (c->validator != VAL_NONE) {
			uint32_t w = (uint32_t)pol_validator_window(c->validator);
			if (w > pt->window)
				pt->window = w;
		}
		if (pol_shape_window(&pt->shape) > pt->window)
			pt->window = (uint32_t)pol_shape_window(&pt->shape);
		pt->singlematch = !pt->needs_confirm && c->validator == VAL_NONE && !c->multiple &&
		                  (c->min_count <= 1 || c->distinct);
	}
	/* id tables */
	bool *in = calloc(p->ndbs, sizeof *in);
	if (!in)
		abort();
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t d = 0; d < p->ndbs; d++)
			p->dbs[d].npatterns = 0;
		for (uint32_t i = 0; i < p->npatterns; i++) {
			struct pol_pattern *pt = &p->patterns[i];
			scope_dbs(p, &p->conds[pt->cond], in);
			for (uint32_t d = 0; d < p->ndbs; d++) {
				if (!in[d])
					continue;
				struct pol_dbinfo *db = &p->dbs[d];
				if (pass == 1) {
					db->patterns[db->npatterns] = i;
					if (db->streaming && pt->window > db->window)
						db->window = pt->window;
				}
				db->npatterns++;
			}
		}
		if (pass == 0)
			for (uint32_t d = 0; d < p->ndbs; d++)
				p->dbs[d].patterns = pol_alloc(p->arena, (p->dbs[d].npatterns + 1) * sizeof(uint32_t));
	}
	free(in);
	return true;
}

static unsigned final_flags(const struct pol_pattern *pt)
{
	unsigned f = pt->hs_flags;
	if (pt->singlematch)
		f |= HS_FLAG_SINGLEMATCH;
	if (pt->needs_confirm)
		f |= HS_FLAG_PREFILTER;
	return f;
}

void pol_pattern_digest(const struct sl_policy *p, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		abort();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (uint32_t d = 0; d < p->ndbs; d++) {
		const struct pol_dbinfo *db = &p->dbs[d];
		uint32_t hdr[2] = {d, db->npatterns};
		EVP_DigestUpdate(ctx, hdr, sizeof hdr);
		for (uint32_t k = 0; k < db->npatterns; k++) {
			const struct pol_pattern *pt = &p->patterns[db->patterns[k]];
			uint32_t f = final_flags(pt);
			EVP_DigestUpdate(ctx, &f, sizeof f);
			EVP_DigestUpdate(ctx, pt->expr, strlen(pt->expr) + 1);
		}
	}
	unsigned len = 32;
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

bool pol_compile(struct sl_policy *p, struct sl_policy_diag *diag)
{
	if (!analyze(p, diag))
		return false;
	for (uint32_t d = 0; d < p->ndbs; d++) {
		struct pol_dbinfo *db = &p->dbs[d];
		if (db->npatterns == 0)
			continue;
		const char **exprs = malloc(db->npatterns * sizeof *exprs);
		unsigned *flags = malloc(db->npatterns * sizeof *flags);
		unsigned *ids = malloc(db->npatterns * sizeof *ids);
		if (!exprs || !flags || !ids)
			abort();
		for (uint32_t k = 0; k < db->npatterns; k++) {
			const struct pol_pattern *pt = &p->patterns[db->patterns[k]];
			exprs[k] = pt->expr;
			flags[k] = final_flags(pt);
			ids[k] = k;
		}
		hs_compile_error_t *err = NULL;
		hs_error_t rc = hs_compile_multi(exprs, flags, ids, db->npatterns,
		                                 db->streaming ? HS_MODE_STREAM : HS_MODE_BLOCK,
		                                 NULL, &db->db, &err);
		free(exprs);
		free(flags);
		free(ids);
		if (rc != HS_SUCCESS) {
			if (err && err->expression >= 0 && (uint32_t)err->expression < db->npatterns) {
				char msg[480];
				snprintf(msg, sizeof msg, "Hyperscan cannot compile this pattern: %s", err->message);
				diag_at(p, diag, &p->patterns[db->patterns[err->expression]], msg);
			} else {
				pol_diag(diag, pol_file_name(p, 0), 0, 0, "Hyperscan cannot compile the %s database: %s",
				         db->scope, err ? err->message : "unknown error");
			}
			hs_free_compile_error(err);
			return false;
		}
	}
	return true;
}

/* Loading a bundle: same analysis, databases from the bundle. */
bool pol_analyze_only(struct sl_policy *p, struct sl_policy_diag *diag)
{
	return analyze(p, diag);
}
