/* A trained model's file (sluice/bayes.h) and Robinson-Fisher scoring: Gary Robinson,
 * "A Statistical Approach to the Spam Problem", Linux Journal 107 (2003), as bogofilter
 * computes it. */
#include <math.h>
#include <openssl/evp.h>
#include <string.h>

#include "sluice/bayes.h"
#include "sluice/digest.h"

/* Robinson's f(w) = (s*x + n*p(w)) / (s + n): x is the probability assumed for a token
 * never seen, s the weight of that assumption against the n messages that hold it.
 * Tokens whose f(w) is within min_dev of 0.5 say nothing and are left out. The three
 * come with the model (sluice/bayes.h). */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool sl_bayes_model_parse(const uint8_t *data, size_t len, struct sl_bayes_model *m,
                          const char **err)
{
	memset(m, 0, sizeof *m);
	if (len < SL_BAYES_HEADER || memcmp(data, "SLBAYES\0", 8) != 0) {
		*err = "not a Sluice spam model (no SLBAYES header)";
		return false;
	}
	uint32_t version = le32(data + 8);
	if (version != 1 && version != SL_BAYES_VERSION) {
		*err = "unsupported spam model version";
		return false;
	}
	m->robx = SL_BAYES_ROBX;
	m->robs = SL_BAYES_ROBS;
	m->min_dev = SL_BAYES_MIN_DEV;
	if (version == SL_BAYES_VERSION) {
		uint32_t xs = le32(data + 12), md = le32(data + 28);
		uint32_t x = xs & 0xffff, s = xs >> 16;
		if (x == 0 || x >= SL_BAYES_CONST_UNIT || s == 0 || md >= SL_BAYES_CONST_UNIT / 2) {
			*err = "spam model constants out of range (x in 0..1, s above 0, min_dev below 0.5)";
			return false;
		}
		m->robx = x / SL_BAYES_CONST_UNIT;
		m->robs = s / SL_BAYES_CONST_UNIT;
		m->min_dev = md / SL_BAYES_CONST_UNIT;
	}
	m->nspam = le32(data + 16);
	m->nham = le32(data + 20);
	m->ntokens = le32(data + 24);
	if ((len - SL_BAYES_HEADER) / SL_BAYES_ENTRY != m->ntokens ||
	    (len - SL_BAYES_HEADER) % SL_BAYES_ENTRY != 0) {
		*err = "spam model size does not match its token count (truncated?)";
		return false;
	}
	if (m->nspam == 0 || m->nham == 0) {
		*err = "spam model trained without spam or without ham";
		return false;
	}
	m->table = data + SL_BAYES_HEADER;
	unsigned int dl = 0;
	if (!EVP_Digest(m->table, (size_t)m->ntokens * SL_BAYES_ENTRY, m->sha256, &dl, sl_md_sha256(), NULL) ||
	    memcmp(m->sha256, data + 32, 32) != 0) {
		*err = "spam model checksum mismatch (corrupt file)";
		return false;
	}
	for (uint32_t i = 0; i < m->ntokens; i++) {
		const uint8_t *e = m->table + (size_t)i * SL_BAYES_ENTRY;
		uint32_t spam = le32(e + 4), ham = le32(e + 8);
		/* a token in no message would score 0/0 (NaN): training never writes one */
		if ((i && le32(e) <= le32(e - SL_BAYES_ENTRY)) || spam > m->nspam || ham > m->nham ||
		    spam + (uint64_t)ham == 0) {
			*err = "spam model table out of order, or counts above its message totals or zero";
			return false;
		}
	}
	return true;
}

bool sl_bayes_lookup(const struct sl_bayes_model *m, uint32_t hash, uint32_t *spam, uint32_t *ham)
{
	size_t lo = 0, hi = m->ntokens;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *e = m->table + mid * SL_BAYES_ENTRY;
		uint32_t h = le32(e);
		if (h == hash) {
			*spam = le32(e + 4);
			*ham = le32(e + 8);
			return true;
		}
		if (h < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Probability that chi-square with 2n degrees of freedom is at least x: for even
 * degrees, e^-m * sum_{i<n} m^i/i! with m = x/2, summed in logarithms (e^-m alone
 * underflows for a few hundred tokens). */
static double chi2_q(double x, uint32_t n)
{
	double m = x / 2, lm = log(m > 0 ? m : 1e-300), top = -INFINITY;
	for (uint32_t i = 0; i < n; i++) {
		double lt = -m + i * lm - lgamma(i + 1.0);
		if (lt > top)
			top = lt;
	}
	double sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += exp(-m + i * lm - lgamma(i + 1.0) - top);
	double q = exp(top + log(sum));
	return q < 0 ? 0 : q > 1 ? 1 : q;
}

void sl_bayes_classify(const struct sl_bayes_model *m, const uint32_t *tokens, size_t n,
                       struct sl_bayes_score *out)
{
	double ln_f = 0, ln_1f = 0;
	uint32_t used = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t s, h;
		if (!sl_bayes_lookup(m, tokens[i], &s, &h))
			continue; /* an unknown token is left out, whatever x */
		double b = (double)s / m->nspam, g = (double)h / m->nham;
		double nw = (double)s + h;
		double f = (m->robs * m->robx + nw * (b / (b + g))) / (m->robs + nw);
		/* a model's own small s with billions of messages rounds f to 0 or 1: keep the
		 * logarithms finite (no real corpus comes near) */
		f = f < 1e-15 ? 1e-15 : f > 1 - 1e-15 ? 1 - 1e-15 : f;
		if (fabs(f - 0.5) < m->min_dev)
			continue;
		ln_f += log(f);
		ln_1f += log(1 - f);
		used++;
	}
	out->tokens = (uint32_t)n;
	out->used = used;
	if (used == 0) {
		out->probability = 0.5;
		return;
	}
	/* each tail is near 1 when the tokens lean its way: spammy ones keep sum ln f near 0 */
	double hq = chi2_q(-2 * ln_f, used), sq = chi2_q(-2 * ln_1f, used);
	out->probability = (1 + hq - sq) / 2;
}
