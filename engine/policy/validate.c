/* Validators: run in C on each Hyperscan match to confirm a candidate, so the patterns
 * can stay cheap. Each sees the bytes that end at the match end (a bounded look-behind)
 * and decides whether a valid value ends exactly there. */
#include <ctype.h>
#include <string.h>

#include "internal.h"

const char *pol_validator_name(enum pol_validator v)
{
	switch (v) {
	case VAL_NONE: return "none";
	case VAL_LUHN: return "luhn";
	case VAL_TW_ID: return "tw-id";
	case VAL_IBAN: return "iban";
	}
	return "none";
}

enum pol_validator pol_validator_lookup(const char *name)
{
	if (strcmp(name, "luhn") == 0)
		return VAL_LUHN;
	if (strcmp(name, "tw-id") == 0)
		return VAL_TW_ID;
	if (strcmp(name, "iban") == 0)
		return VAL_IBAN;
	return VAL_NONE;
}

size_t pol_validator_window(enum pol_validator v)
{
	switch (v) {
	case VAL_NONE: return 0;
	case VAL_LUHN: return 48;  /* 19 digits + 18 separators + the byte before */
	case VAL_TW_ID: return 16; /* 10 characters + the byte before */
	case VAL_IBAN: return 48;  /* 34 characters + 8 spaces + the byte before */
	}
	return 0;
}

static bool is_sep(uint8_t c)
{
	return c == ' ' || c == '-';
}

/* The byte before a candidate must not continue a word (a letter or digit). */
static bool boundary_before(const uint8_t *win, size_t start, bool at_start)
{
	if (start == 0)
		return at_start;
	return !isalnum(win[start - 1]);
}

static bool luhn_ok(const uint8_t *d, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v = d[n - 1 - i];
		if (i & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* Card numbers are written unseparated or in the printed layouts: groups of four with
 * a shorter last group (4-4-4-4, 4-4-4-4-3, 4-4-4-1), or 4-6-5 / 4-6-4 (Amex, Diners),
 * one kind of separator throughout. Anything else (two numbers that happen to sit
 * side by side) is not one card number. */
static bool card_layout(const uint8_t *s, size_t n)
{
	unsigned groups[8], ng = 0, len = 0;
	uint8_t sep = 0;
	for (size_t i = 0; i < n; i++) {
		if (isdigit(s[i])) {
			len++;
			continue;
		}
		if (sep && s[i] != sep)
			return false;
		sep = s[i];
		if (ng == 7)
			return false;
		groups[ng++] = len;
		len = 0;
	}
	groups[ng++] = len;
	if (ng == 1)
		return true;
	if (ng == 3 && groups[0] == 4 && groups[1] == 6 && (groups[2] == 5 || groups[2] == 4))
		return true;
	for (unsigned i = 0; i + 1 < ng; i++)
		if (groups[i] != 4)
			return false;
	return groups[ng - 1] >= 1 && groups[ng - 1] <= 4;
}

/* Payment card: 13-19 digits, unseparated or in a printed layout (card_layout). The
 * candidate may start at the beginning of the digit run or right after a separator
 * (so "call 555-1234 4111 1111 1111 1111" still finds the card); runs of more than 19
 * digits without a separator are not card numbers. All-equal digits are refused
 * (0000 0000 0000 0000 is Luhn-valid). */
static bool luhn(const uint8_t *win, size_t n, bool at_start, uint64_t *key)
{
	uint8_t digits[20];   /* reversed: digits[0] is the last digit */
	size_t pos[20];       /* window index of each digit */
	size_t nd = 0;
	size_t i = n;
	if (n == 0 || !isdigit(win[n - 1]))
		return false;
	while (i > 0 && nd < 20) {
		uint8_t c = win[i - 1];
		if (isdigit(c)) {
			digits[nd] = (uint8_t)(c - '0');
			pos[nd] = i - 1;
			nd++;
			i--;
		} else if (is_sep(c) && i >= 2 && isdigit(win[i - 2]) && nd > 0) {
			i--;
		} else {
			break;
		}
	}
	for (size_t k = nd < 19 ? nd : 19; k >= 13; k--) {
		size_t start = pos[k - 1];
		bool after_sep = start > 0 && is_sep(win[start - 1]);
		bool run_start = k == nd && nd < 20 && boundary_before(win, start, at_start);
		if (!after_sep && !run_start)
			continue;
		if (!card_layout(win + start, n - start))
			continue;
		uint8_t d[19];
		bool all_same = true;
		for (size_t j = 0; j < k; j++) {
			d[j] = digits[k - 1 - j];
			all_same &= d[j] == d[0];
		}
		if (all_same || !luhn_ok(d, k))
			continue;
		*key = pol_hash64(d, k, VAL_LUHN);
		return true;
	}
	return false;
}

/* Taiwan national ID (and the 2021 resident certificate): a letter for the place of
 * registration, 1/2 (or 8/9), eight digits; the letter counts as two digits. */
static bool tw_id(const uint8_t *win, size_t n, bool at_start, uint64_t *key)
{
	/* A=10 ... Z=33 in the official, non-alphabetical order */
	static const uint8_t letter_value[26] = {
		10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
		22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33,
	};
	if (n < 10)
		return false;
	const uint8_t *c = win + n - 10;
	uint8_t l = (uint8_t)toupper(c[0]);
	if (l < 'A' || l > 'Z')
		return false;
	if (c[1] != '1' && c[1] != '2' && c[1] != '8' && c[1] != '9')
		return false;
	for (int i = 1; i < 10; i++)
		if (!isdigit(c[i]))
			return false;
	if (!boundary_before(win, n - 10, at_start))
		return false;
	unsigned v = letter_value[l - 'A'];
	unsigned sum = v / 10 + (v % 10) * 9;
	for (int i = 1; i <= 8; i++)
		sum += (unsigned)(c[i] - '0') * (unsigned)(9 - i);
	sum += (unsigned)(c[9] - '0');
	if (sum % 10 != 0)
		return false;
	uint8_t canon[10];
	canon[0] = l;
	memcpy(canon + 1, c + 1, 9);
	*key = pol_hash64(canon, 10, VAL_TW_ID);
	return true;
}

/* IBAN (ISO 13616): country letters, two check digits, up to 30 alphanumerics, in
 * groups of four separated by single spaces or not at all; mod 97 of the rearranged
 * number is 1. */
static bool iban(const uint8_t *win, size_t n, bool at_start, uint64_t *key)
{
	uint8_t chars[35];  /* reversed, uppercase */
	size_t pos[35];
	size_t nc = 0, i = n;
	if (n == 0 || !isalnum(win[n - 1]))
		return false;
	while (i > 0 && nc < 35) {
		uint8_t c = win[i - 1];
		if (isalnum(c)) {
			chars[nc] = (uint8_t)toupper(c);
			pos[nc] = i - 1;
			nc++;
			i--;
		} else if (c == ' ' && i >= 2 && isalnum(win[i - 2]) && nc > 0) {
			i--;
		} else {
			break;
		}
	}
	/* try the longest candidate first: starts where two letters and two digits begin */
	for (size_t k = nc < 34 ? nc : 34; k >= 15; k--) {
		size_t start = pos[k - 1];
		const uint8_t *s = &chars[k - 1]; /* s[0], s[-1], ... are the first chars */
		if (!isupper(s[0]) || !isupper(s[-1]) || !isdigit(s[-2]) || !isdigit(s[-3]))
			continue;
		bool run_start = k == nc && nc < 35 && boundary_before(win, start, at_start);
		bool after_space = start > 0 && win[start - 1] == ' ';
		if (!run_start && !after_space)
			continue;
		/* rearranged: chars 5..k, then the first four; letters are 10..35 */
		unsigned rem = 0;
		for (size_t j = 0; j < k; j++) {
			size_t idx = (j + 4) % k;           /* position in the IBAN */
			uint8_t c = chars[k - 1 - idx];
			if (isdigit(c))
				rem = (rem * 10 + (unsigned)(c - '0')) % 97;
			else
				rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
		}
		if (rem != 1)
			continue;
		uint8_t canon[34];
		for (size_t j = 0; j < k; j++)
			canon[j] = chars[k - 1 - j];
		*key = pol_hash64(canon, k, VAL_IBAN);
		return true;
	}
	return false;
}

bool pol_validate(enum pol_validator v, const uint8_t *win, size_t n, bool at_start,
                  uint64_t *key)
{
	switch (v) {
	case VAL_NONE: *key = 0; return true;
	case VAL_LUHN: return luhn(win, n, at_start, key);
	case VAL_TW_ID: return tw_id(win, n, at_start, key);
	case VAL_IBAN: return iban(win, n, at_start, key);
	}
	return false;
}
