/* Validators on their own: each decides whether a valid value ends exactly at the end
 * of the window it is given. */
#include <CUnit/Basic.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"

static bool v(enum pol_validator which, const char *s)
{
	uint64_t key;
	return pol_validate(which, (const uint8_t *)s, strlen(s), true, &key);
}

static uint64_t key_of(enum pol_validator which, const char *s)
{
	uint64_t key = 0;
	CU_ASSERT(pol_validate(which, (const uint8_t *)s, strlen(s), true, &key));
	return key;
}

static void test_luhn(void)
{
	CU_ASSERT(v(VAL_LUHN, "4111111111111111"));
	CU_ASSERT(v(VAL_LUHN, "card 4111 1111 1111 1111"));
	CU_ASSERT(v(VAL_LUHN, "card: 4111-1111-1111-1111"));
	CU_ASSERT(v(VAL_LUHN, "5555 5555 5555 4444"));
	CU_ASSERT(v(VAL_LUHN, "amex 3782 822463 10005"));   /* 15 digits, 4-6-5 */
	CU_ASSERT(v(VAL_LUHN, "6011111111111117"));
	CU_ASSERT(v(VAL_LUHN, "call 555-1234 4111 1111 1111 1111")); /* phone number before it */
	CU_ASSERT(!v(VAL_LUHN, "4111 1111 1111 1112"));      /* checksum */
	CU_ASSERT(!v(VAL_LUHN, "0000 0000 0000 0000"));      /* Luhn-valid, but not a card */
	CU_ASSERT(!v(VAL_LUHN, "411111111111"));             /* 12 digits: too short */
	CU_ASSERT(!v(VAL_LUHN, "41111111111111111111"));     /* 20 digits: not a card */
	CU_ASSERT(!v(VAL_LUHN, "x4111111111111111"));        /* glued to a word */
	CU_ASSERT(!v(VAL_LUHN, "4111  1111 1111 1111"));     /* double space splits it */
	CU_ASSERT(!v(VAL_LUHN, "4111111111111111 "));        /* must end at the window end */
	CU_ASSERT(!v(VAL_LUHN, "4111 1111 1111-1111"));      /* mixed separators */
	CU_ASSERT(!v(VAL_LUHN, "1111 4111-1111-1111"));      /* two numbers side by side */
	CU_ASSERT(!v(VAL_LUHN, "41 1111 1111 1111 11"));     /* not a printed card layout */
	CU_ASSERT(v(VAL_LUHN, "4111 1111 1111 1111 003"));   /* 19 digits, 4-4-4-4-3 */
	/* the same number written differently is one distinct value */
	CU_ASSERT_EQUAL(key_of(VAL_LUHN, "4111 1111 1111 1111"), key_of(VAL_LUHN, "4111-1111-1111-1111"));
	CU_ASSERT_NOT_EQUAL(key_of(VAL_LUHN, "4111 1111 1111 1111"), key_of(VAL_LUHN, "5555555555554444"));
	/* a window that does not start at the scope start cannot prove the boundary */
	uint64_t key;
	CU_ASSERT(!pol_validate(VAL_LUHN, (const uint8_t *)"4111111111111111", 16, false, &key));
	CU_ASSERT(pol_validate(VAL_LUHN, (const uint8_t *)" 4111111111111111", 17, false, &key));
}

static void test_tw_id(void)
{
	CU_ASSERT(v(VAL_TW_ID, "A123456789"));
	CU_ASSERT(v(VAL_TW_ID, "ID: A123456789"));
	CU_ASSERT(v(VAL_TW_ID, "身分證A123456789"));  /* a CJK character before is a boundary */
	CU_ASSERT(v(VAL_TW_ID, "F131104093"));
	CU_ASSERT(v(VAL_TW_ID, "a123456789"));         /* lowercase accepted */
	CU_ASSERT(!v(VAL_TW_ID, "A123456788"));        /* checksum */
	CU_ASSERT(!v(VAL_TW_ID, "A323456789"));        /* second digit must be 1, 2, 8 or 9 */
	CU_ASSERT(!v(VAL_TW_ID, "XA123456789"));       /* glued to a word */
	CU_ASSERT(!v(VAL_TW_ID, "A12345678"));
	CU_ASSERT_EQUAL(key_of(VAL_TW_ID, "A123456789"), key_of(VAL_TW_ID, "a123456789"));
}

static void test_iban(void)
{
	CU_ASSERT(v(VAL_IBAN, "GB82WEST12345698765432"));
	CU_ASSERT(v(VAL_IBAN, "IBAN GB82 WEST 1234 5698 7654 32"));
	CU_ASSERT(v(VAL_IBAN, "DE89 3704 0044 0532 0130 00"));
	CU_ASSERT(v(VAL_IBAN, "pay to: FR14 2004 1010 0505 0001 3M02 606"));
	CU_ASSERT(!v(VAL_IBAN, "GB82 WEST 1234 5698 7654 33"));
	CU_ASSERT(!v(VAL_IBAN, "GB82"));
	CU_ASSERT_EQUAL(key_of(VAL_IBAN, "GB82WEST12345698765432"), key_of(VAL_IBAN, "GB82 WEST 1234 5698 7654 32"));
}

static void test_windows_cover_candidates(void)
{
	/* the longest candidate plus the byte before fits in each validator's window */
	CU_ASSERT(pol_validator_window(VAL_LUHN) >= strlen(" 4111-1111-1111-1111-111"));
	CU_ASSERT(pol_validator_window(VAL_TW_ID) >= strlen(" A123456789"));
	CU_ASSERT(pol_validator_window(VAL_IBAN) >= strlen(" MT84 MALT 0110 0001 2345 MTLC AST0 01S"));
	CU_ASSERT(v(VAL_IBAN, " MT84 MALT 0110 0001 2345 MTLC AST0 01S"));
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"luhn", test_luhn},
		{"tw-id", test_tw_id},
		{"iban", test_iban},
		{"windows cover candidates", test_windows_cover_candidates},
		{NULL, NULL},
	};
	return cu_run_suite("policy_validators", NULL, NULL, tests);
}
