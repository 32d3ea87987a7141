/* Expensive validator patterns split in two: a cheaper Hyperscan expression whose match
 * ends are a superset of the original's, and an exact check in C at each end, run in the
 * confirm step before the validator. Verdicts do not change: an end passes the check
 * exactly when the original expression has a match ending there.
 *
 * The one shape recognised today is the payment-card one of the shipped policy,
 *     [A-B](?:[ -]?[0-9]){M,N}\b        (A <= B digits, 1 <= M <= N <= 30)
 * which Hyperscan scans at a fraction of the speed of the rest of the policy: the
 * bounded repeat with optional separators and a class-restricted first digit. It becomes
 *     [0-9](?:[ -]?[0-9]){M}\b
 * (a chain of at least M+1 digits ends here) and the check walks the chain back.
 * Any other expression is left as written. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define CHAIN_UNITS_MAX 30

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Parses "[A-B](?:[ -]?[0-9]){M,N}\b" exactly; fills the shape. */
static bool parse_card_shape(const char *e, struct pol_shape *out)
{
	unsigned a, b, m, n;
	int used = -1;
	char lo, hi;
	if (sscanf(e, "[%c-%c](?:[ -]?[0-9]){%u,%u}\\b%n", &lo, &hi, &m, &n, &used) != 4 ||
	    used < 0 || e[used] != '\0')
		return false;
	if (!is_digit((uint8_t)lo) || !is_digit((uint8_t)hi) || lo > hi)
		return false;
	a = (unsigned)(lo - '0');
	b = (unsigned)(hi - '0');
	if (m < 1 || m > n || n > CHAIN_UNITS_MAX)
		return false;
	/* sscanf takes "{ 12,18}" and "{+12,18}" too: only the canonical spelling */
	char canon[64];
	snprintf(canon, sizeof canon, "[%u-%u](?:[ -]?[0-9]){%u,%u}\\b", a, b, m, n);
	if (strcmp(canon, e) != 0)
		return false;
	*out = (struct pol_shape){.first_lo = (uint8_t)lo, .first_hi = (uint8_t)hi,
	                          .min_units = (uint8_t)m, .max_units = (uint8_t)n};
	return true;
}

bool pol_decompose(struct pol_arena *arena, struct pol_pattern *pt, enum pol_validator v)
{
	struct pol_shape s;
	if (pt->literal || v == VAL_NONE || !parse_card_shape(pt->expr, &s))
		return false;
	char *pre = pol_alloc(arena, 48);
	snprintf(pre, 48, "[0-9](?:[ -]?[0-9]){%u}\\b", s.min_units);
	pt->shape = s;
	pt->expr = pre;
	return true;
}

size_t pol_shape_window(const struct pol_shape *s)
{
	/* every unit a separator and a digit, the first digit, and the byte before it */
	return s->max_units ? 2u * s->max_units + 2 : 0;
}

/* w[0..n) ends at a match end of the prefilter: a digit chain ends at w[n-1]. Walk it
 * back, unit by unit ("[ -]?[0-9]"): the original matches here when a digit in the
 * class sits min..max units before the end. */
bool pol_shape_ends_here(const struct pol_shape *s, const uint8_t *w, size_t n)
{
	if (n == 0 || !is_digit(w[n - 1]))
		return false;
	size_t d = n - 1;
	for (unsigned units = 0;; units++) {
		if (units >= s->min_units && w[d] >= s->first_lo && w[d] <= s->first_hi)
			return true;
		if (units == s->max_units)
			return false;
		if (d >= 1 && is_digit(w[d - 1]))
			d -= 1;
		else if (d >= 2 && (w[d - 1] == ' ' || w[d - 1] == '-') && is_digit(w[d - 2]))
			d -= 2;
		else
			return false;
	}
}
