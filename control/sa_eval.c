/* SpamAssassin eval: tests the engine computes itself, as the signals the imported
 * rules match (engine/policy/msgtraits.c; docs/spam.md lists them). */
#include <ctype.h>
#include <string.h>

#include "sa_import.h"

static const struct {
	const char *call; /* blanks and quotes removed */
	const char *signal;
} evals[] = {
	{"check_outlook_message_id()", "sa.msgid_outlook_invalid"},
	{"check_for_shifted_date(-6,-3)", "sa.date_past_03_06"},
	{"check_for_shifted_date(-12,-6)", "sa.date_past_06_12"},
	{"check_for_shifted_date(-24,-12)", "sa.date_past_12_24"},
	{"check_for_shifted_date(-48,-24)", "sa.date_past_24_48"},
	{"check_for_shifted_date(-96,-48)", "sa.date_past_48_96"},
	{"check_for_shifted_date(undef,-96)", "sa.date_past_96_xx"},
	{"check_for_shifted_date(3,6)", "sa.date_future_03_06"},
	{"check_for_shifted_date(6,12)", "sa.date_future_06_12"},
	{"check_for_shifted_date(12,24)", "sa.date_future_12_24"},
	{"check_for_shifted_date(24,48)", "sa.date_future_24_48"},
	{"check_for_shifted_date(48,96)", "sa.date_future_48_96"},
	{"check_for_shifted_date(96,2920)", "sa.date_future_96_2920"},
	{"check_for_shifted_date(2920,undef)", "sa.date_future_2920_xx"},
	{"subject_is_all_caps()", "sa.subject_all_caps"},
};

const char *sa_eval_signal(const char *call)
{
	char norm[160];
	size_t n = 0;
	for (const char *p = call; *p && n < sizeof norm - 1; p++)
		if (!isspace((unsigned char)*p) && *p != '\'' && *p != '"')
			norm[n++] = *p;
	norm[n] = '\0';
	for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++)
		if (strcmp(norm, evals[i].call) == 0)
			return evals[i].signal;
	return NULL;
}
