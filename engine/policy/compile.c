/* From parsed rules to Hyperscan databases: which database each pattern goes to, the
 * flags it gets (single-match where counting does not need every match, prefilter +
 * PCRE2 where Hyperscan cannot match it exactly), and the compile itself. A bundle
 * records what Hyperscan's expression analysis said of each pattern; loading it runs
 * the same analysis on that record, so both paths agree on every id, flag and window. */
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

/* Whether Hyperscan takes the widened prefilter expression (it always should: widening
 * only loosens repeat bounds). */
static bool takes_widened(struct sl_policy *p, const struct pol_pattern *pt)
{
	const char *wide = pol_prefilter_widen(p->arena, pt->expr);
	if (wide == pt->expr)
		return false;
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *err = NULL;
	bool ok = hs_expression_info(wide, pt->hs_flags | HS_FLAG_PREFILTER, &info, &err) == HS_SUCCESS;
	free(info);
	hs_free_compile_error(err);
	return ok;
}

/* The only part of the analysis that asks Hyperscan (the costly part: a bundle records
 * its outcome instead). false + diag when Hyperscan takes the expression in no way. */
static bool ask_hyperscan(struct sl_policy *p, const struct pol_pattern *pt,
                          struct pol_hs_outcome *o, struct sl_policy_diag *diag)
{
	memset(o, 0, sizeof *o);
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
		o->needs_confirm = true;
		o->widened = takes_widened(p, pt);
	}
	o->min_width = info ? info->min_width : 1;
	o->max_width = info ? info->max_width : 0;
	free(info);
	return true;
}

#define OUTCOME_CONFIRM 1u
#define OUTCOME_WIDENED 2u

void pol_outcome_pack(const struct pol_hs_outcome *o, uint8_t out[POL_OUTCOME_BYTES])
{
	out[0] = (uint8_t)((o->needs_confirm ? OUTCOME_CONFIRM : 0) | (o->widened ? OUTCOME_WIDENED : 0));
	memcpy(out + 1, &o->min_width, 4);
	memcpy(out + 5, &o->max_width, 4);
}

bool pol_outcome_unpack(const uint8_t in[POL_OUTCOME_BYTES], struct pol_hs_outcome *o)
{
	o->needs_confirm = in[0] & OUTCOME_CONFIRM;
	o->widened = in[0] & OUTCOME_WIDENED;
	memcpy(&o->min_width, in + 1, 4);
	memcpy(&o->max_width, in + 5, 4);
	return !(in[0] & ~(OUTCOME_CONFIRM | OUTCOME_WIDENED));
}

/* What the compiler makes of Hyperscan's outcome for a non-literal pattern. false + diag
 * when the pattern cannot be used. */
static bool apply_outcome(struct sl_policy *p, struct pol_pattern *pt, const struct pol_hs_outcome *o,
                          struct sl_policy_diag *diag)
{
	pt->hs = *o;
	pt->needs_confirm = o->needs_confirm;
	if (o->widened)
		pt->hs_expr = pol_prefilter_widen(p->arena, pt->expr);
	if (o->min_width == 0) {
		diag_at(p, diag, pt, "regular expression can match empty text");
		return false;
	}
	if (o->needs_confirm) {
		uint32_t w = pt->window ? pt->window : CONFIRM_WINDOW_DEFAULT;
		if (!pt->window && o->max_width != UINT32_MAX && o->max_width > w)
			w = o->max_width > 65536 ? 65536 : o->max_width;
		pt->window = w;
	} else if (pt->window) {
		diag_at(p, diag, pt, "window applies only to expressions confirmed by PCRE2 "
		                     "(Hyperscan matches this one exactly)");
		return false;
	}
	return true;
}

/* Whether a bundle's record could be what ask_hyperscan said of this pattern. */
static bool record_fits(struct sl_policy *p, const struct pol_pattern *pt, const struct pol_hs_outcome *o)
{
	if (pt->literal)
		return !o->needs_confirm && !o->widened && o->min_width == 0 && o->max_width == 0;
	if (o->min_width == 0 || o->min_width > o->max_width)
		return false;
	return !o->widened || (o->needs_confirm && pol_prefilter_widen(p->arena, pt->expr) != pt->expr);
}

/* Decide how each pattern is compiled; fills every database's id table. `recorded`: one
 * Hyperscan outcome per pattern (a bundle's), or NULL to ask Hyperscan -- or, with
 * `use_cache`, the compile cache, which learns what Hyperscan said (hscache.c). */
static bool analyze(struct sl_policy *p, const struct pol_hs_outcome *recorded, bool use_cache,
                    struct sl_policy_diag *diag)
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
	/* what Hyperscan is asked about is the decomposed expression */
	for (uint32_t i = 0; i < p->npatterns; i++) {
		struct pol_pattern *pt = &p->patterns[i];
		pol_decompose(p->arena, pt, p->conds[pt->cond].validator);
		pt->hs_expr = pt->expr;
	}
	const struct pol_hs_outcome *known = recorded;
	bool from_cache = false;
	if (!recorded && use_cache && (known = pol_hscache_analysis_load(p))) {
		from_cache = true;
		for (uint32_t i = 0; known && i < p->npatterns; i++)
			if (!record_fits(p, &p->patterns[i], &known[i]))
				known = NULL; /* an entry that does not fit is not used: ask */
	}
	for (uint32_t i = 0; i < p->npatterns; i++) {
		struct pol_pattern *pt = &p->patterns[i];
		const struct pol_cond *c = &p->conds[pt->cond];
		if (recorded && !record_fits(p, pt, &recorded[i])) {
			pol_diag(diag, p->path, 0, 0, "bundle is damaged (analysis of pattern %u does not "
			         "fit it)", (unsigned)i);
			return false;
		}
		if (!pt->literal) {
			struct pol_hs_outcome asked;
			if (!known && !ask_hyperscan(p, pt, &asked, diag))
				return false;
			if (!apply_outcome(p, pt, known ? &known[i] : &asked, diag))
				return false;
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
	if (use_cache && !known)
		pol_hscache_analysis_store(p);
	p->cached_analysis = from_cache && known;
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
			if (pt->hs_expr != pt->expr) /* bundles of policies without one stay valid */
				EVP_DigestUpdate(ctx, pt->hs_expr, strlen(pt->hs_expr) + 1);
		}
	}
	unsigned len = 32;
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

/* A database with the same patterns as an earlier one (a `text` rule alone gives the
 * body, text-attachment and document-text databases the same list) is a copy of it:
 * compiled once. */
static bool copy_earlier(struct sl_policy *p, uint32_t d)
{
	const struct pol_dbinfo *db = &p->dbs[d];
	for (uint32_t e = 0; e < d; e++) {
		const struct pol_dbinfo *o = &p->dbs[e];
		if (!o->db || o->streaming != db->streaming || o->npatterns != db->npatterns ||
		    memcmp(o->patterns, db->patterns, db->npatterns * sizeof *db->patterns) != 0)
			continue;
		char *bytes = NULL;
		size_t len = 0;
		bool ok = hs_serialize_database(o->db, &bytes, &len) == HS_SUCCESS &&
		          hs_deserialize_database(bytes, len, &p->dbs[d].db) == HS_SUCCESS;
		free(bytes);
		return ok;
	}
	return false;
}

bool pol_compile(struct sl_policy *p, struct sl_policy_diag *diag)
{
	if (!analyze(p, NULL, true, diag))
		return false;
	for (uint32_t d = 0; d < p->ndbs; d++) {
		struct pol_dbinfo *db = &p->dbs[d];
		if (db->npatterns == 0 || copy_earlier(p, d))
			continue;
		const char **exprs = malloc(db->npatterns * sizeof *exprs);
		unsigned *flags = malloc(db->npatterns * sizeof *flags);
		if (!exprs || !flags)
			abort();
		for (uint32_t k = 0; k < db->npatterns; k++) {
			const struct pol_pattern *pt = &p->patterns[db->patterns[k]];
			exprs[k] = pt->hs_expr;
			flags[k] = final_flags(pt);
		}
		hs_compile_error_t *err = NULL;
		bool cached = false;
		hs_error_t rc = pol_hs_build(exprs, flags, db->npatterns,
		                             db->streaming ? HS_MODE_STREAM : HS_MODE_BLOCK, &db->db, &err,
		                             &cached);
		p->cached_dbs += cached;
		free(exprs);
		free(flags);
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

bool pol_analyze_only(struct sl_policy *p, struct sl_policy_diag *diag)
{
	return analyze(p, NULL, false, diag);
}

bool pol_analyze_recorded(struct sl_policy *p, const struct pol_hs_outcome *recorded,
                          struct sl_policy_diag *diag)
{
	return analyze(p, recorded, false, diag);
}
