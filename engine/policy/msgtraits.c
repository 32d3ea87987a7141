/* Header traits (msgtraits.h): SpamAssassin 4.0.1's HeaderEval tests re-done in C,
 * following Mail::SpamAssassin::Plugin::HeaderEval and Util::parse_rfc822_date so that
 * the imported rules fire where SpamAssassin's do. */
#include "msgtraits.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sl_msgtraits_reset(struct msgtraits *t)
{
	t->msgid[0] = '\0';
	t->msgid_rank = 0;
	t->date_parsed = t->resent_parsed = false;
	t->dates_len = t->received_len = t->subject_len = 0;
	t->nreceived = 0;
	t->rcvd_local[0] = t->rcvd_local[1] = t->rcvd_fetchmail[0] = t->rcvd_fetchmail[1] = false;
	t->subject_fp_charset = false;
}

/* ---- Util::parse_rfc822_date --------------------------------------------------------- */

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};

static const struct {
	const char *name;
	int offset; /* minutes east of UTC */
} zones[] = {
	{"UT", 0}, {"UTC", 0}, {"NDT", -150}, {"AST", -240}, {"ADT", -180}, {"NST", -210},
	{"EST", -300}, {"EDT", -240}, {"CST", -360}, {"CDT", -300}, {"MST", -420}, {"MDT", -360},
	{"PST", -480}, {"PDT", -420}, {"HST", -600}, {"AKST", -540}, {"AKDT", -480}, {"HADT", -540},
	{"HAST", -600}, {"GMT", 0}, {"BST", 60}, {"IST", 60}, {"WET", 0}, {"WEST", 60}, {"CET", 60},
	{"CEST", 120}, {"EET", 120}, {"EEST", 180}, {"MSK", 180}, {"MSD", 240}, {"MET", 60},
	{"MEZ", 60}, {"MEST", 120}, {"MESZ", 120}, {"BRST", -120}, {"BRT", -180}, {"AEST", 600},
	{"AEDT", 660}, {"ACST", 570}, {"ACDT", 630}, {"AWST", 480}, {"NZST", 720}, {"NZDT", 780},
	{"JST", 540}, {"KST", 540}, {"HKT", 480}, {"SGT", 480}, {"PHT", 480}, {"IDT", 180},
};

static size_t digits(const char *s, size_t n, size_t i)
{
	size_t k = 0;
	while (i + k < n && isdigit((unsigned char)s[i + k]))
		k++;
	return k;
}

static int month_at(const char *s, size_t n, size_t i)
{
	if (i + 3 > n)
		return -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(s + i, months[m], 3) == 0)
			return m + 1;
	return -1;
}

static long number(const char *s, size_t k)
{
	long v = 0;
	for (size_t i = 0; i < k && v < 100000000; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Cuts s[from, to) and puts one blank there, as s/ pattern / / does. */
static void cut(char *s, size_t *n, size_t from, size_t to)
{
	memmove(s + from + 1, s + to, *n - to);
	s[from] = ' ';
	*n -= to - from - 1;
}

/* The day, month and year: the three forms SpamAssassin tries, in its order, each at its
 * leftmost place. Each form starts and ends with a blank. */
static bool find_day(char *s, size_t *n, long *dd, int *mon, long *yyyy, int *ylen)
{
	for (int form = 0; form < 3; form++)
		for (size_t i = 0; i < *n; i++) {
			if (s[i] != ' ')
				continue;
			size_t j = i + 1, k;
			long d;
			int m;
			if (form == 1) { /* " Mon +dd hh:mm:ss yyyy " */
				if ((m = month_at(s, *n, j)) < 0)
					continue;
				j += 3;
				if (j >= *n || s[j] != ' ')
					continue;
				while (j < *n && s[j] == ' ')
					j++;
				if (!(k = digits(s, *n, j)))
					continue;
				d = number(s + j, k);
				j += k;
				bool ok = j < *n && s[j++] == ' ';
				for (int f = 0; ok && f < 3; f++) {
					ok = (k = digits(s, *n, j)) > 0;
					j += k;
					ok = ok && j < *n && s[j++] == (f < 2 ? ':' : ' ');
				}
				if (!ok || digits(s, *n, j) != 4 || j + 4 >= *n || s[j + 4] != ' ')
					continue;
				k = 4;
			} else { /* " dd Mon yyyy " (4 digits; form 2: 2 or 3) */
				if (!(k = digits(s, *n, j)))
					continue;
				d = number(s + j, k);
				j += k;
				if (j >= *n || s[j++] != ' ' || (m = month_at(s, *n, j)) < 0)
					continue;
				j += 3;
				if (j >= *n || s[j++] != ' ')
					continue;
				k = digits(s, *n, j);
				if ((form == 0 ? k != 4 : (k < 2 || k > 3)) || j + k >= *n || s[j + k] != ' ')
					continue;
			}
			*dd = d;
			*mon = m;
			*yyyy = number(s + j, k);
			*ylen = (int)k;
			cut(s, n, i, j + k + 1);
			return true;
		}
	return false;
}

/* " (\d?\d):(\d\d)(:(\d\d))? " */
static void find_time(char *s, size_t *n, long *hh, long *mm, long *ss)
{
	for (size_t i = 0; i < *n; i++) {
		if (s[i] != ' ')
			continue;
		size_t j = i + 1, k = digits(s, *n, j);
		if (k < 1 || k > 2 || j + k >= *n || s[j + k] != ':' || digits(s, *n, j + k + 1) != 2)
			continue;
		long h = number(s + j, k), m = number(s + j + k + 1, 2), sec = 0;
		j += k + 3;
		if (j + 3 < *n && s[j] == ':' && digits(s, *n, j + 1) == 2 && s[j + 3] == ' ') {
			sec = number(s + j + 1, 2);
			j += 3;
		}
		if (j >= *n || s[j] != ' ')
			continue;
		*hh = h, *mm = m, *ss = sec;
		cut(s, n, i, j + 1);
		return;
	}
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* " ([-+]\d{4}) ", else the first \b([A-Z]{2,4}(?:-DST)?)\b if it is a known zone.
 * Minutes east of UTC. */
static int find_zone(const char *s, size_t n)
{
	for (size_t i = 0; i + 6 < n; i++)
		if (s[i] == ' ' && (s[i + 1] == '-' || s[i + 1] == '+') && digits(s, n, i + 2) == 4 &&
		    s[i + 6] == ' ') {
			int v = (int)(number(s + i + 2, 2) * 60 + number(s + i + 4, 2));
			return s[i + 1] == '-' ? -v : v;
		}
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && word_char(s[i - 1])) || !isupper((unsigned char)s[i]))
			continue;
		size_t k = 0;
		while (i + k < n && k < 5 && isupper((unsigned char)s[i + k]))
			k++;
		if (k < 2 || k > 4)
			continue;
		size_t end = i + k;
		if (end + 4 <= n && memcmp(s + end, "-DST", 4) == 0 && (end + 4 == n || !word_char(s[end + 4])))
			end += 4;
		else if (end < n && word_char(s[end]))
			continue;
		for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++)
			if (strlen(zones[z].name) == end - i && memcmp(zones[z].name, s + i, end - i) == 0)
				return zones[z].offset;
		return 0; /* the first such word is not a zone: -0000 */
	}
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

bool sl_rfc822_date(const char *src, size_t srclen, int64_t *out)
{
	char s[1024];
	size_t n = 0;
	s[n++] = ' ';
	/* commas and runs of blanks become one blank (the date is near the start: longer
	 * values are cut at 1 KiB) */
	for (size_t i = 0; i < srclen && n < sizeof s - 2; i++) {
		char c = src[i];
		if (c == ',')
			c = ' ';
		else if (isspace((unsigned char)c))
			c = ' ';
		if (c == ' ' && s[n - 1] == ' ')
			continue;
		s[n++] = c;
	}
	if (s[n - 1] != ' ')
		s[n++] = ' ';
	long dd, yyyy, hh = 0, mm = 0, ss = 0;
	int mon, ylen;
	if (!find_day(s, &n, &dd, &mon, &yyyy, &ylen))
		return false;
	if (ylen == 2 && yyyy < 50)
		yyyy += 2000;
	else if (ylen != 4)
		yyyy += 1900;
	find_time(s, &n, &hh, &mm, &ss);
	int zone = find_zone(s, n);
	ss = ss > 59 ? 59 : ss;
	mm = mm > 59 ? 59 : mm;
	hh = hh > 23 ? 23 : hh;
	long max_dd = 31;
	if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
		max_dd = 30;
	else if (mon == 2)
		max_dd = (!(yyyy % 4) && ((yyyy % 100) || !(yyyy % 400))) ? 29 : 28;
	if (dd > max_dd) {
		dd = 1;
		if (++mon > 12) {
			mon = 1;
			yyyy++;
		}
	}
	yyyy = yyyy > 2037 ? 2037 : yyyy < 1970 ? 1970 : yyyy;
	if (dd < 1)
		return false; /* Time::Local refuses day 0 */
	int64_t t = days_from_civil(yyyy, (unsigned)mon, (unsigned)dd) * 86400 + hh * 3600 + mm * 60 + ss;
	int64_t off = (int64_t)abs(zone) * 60;
	if (zone < 0)
		t += off;
	else
		t = t < off ? 0 : t - off;
	*out = t;
	return true;
}

/* ---- gathering ------------------------------------------------------------------------- */

static void join(char *buf, size_t cap, size_t *len, const char *v)
{
	if (*len && *len < cap - 1)
		buf[(*len)++] = '\n';
	size_t l = strlen(v);
	if (l > cap - 1 - *len)
		l = cap - 1 - *len;
	memcpy(buf + *len, v, l);
	*len += l;
	buf[*len] = '\0';
}

/* "\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+" at i: its end, or 0. */
static size_t received_date_at(const char *s, size_t n, size_t i)
{
	if (!isspace((unsigned char)s[i]))
		return 0;
	for (size_t skip = 1; skip <= 1; skip--) {
		size_t j = i + 1 + skip, k;
		if (j > n || !(k = digits(s, n, j)))
			continue;
		j += k;
		if (j + 4 >= n || s[j] != ' ' || isspace((unsigned char)s[j + 1]) ||
		    isspace((unsigned char)s[j + 2]) || isspace((unsigned char)s[j + 3]) || s[j + 4] != ' ')
			continue;
		j += 5;
		bool ok = (k = digits(s, n, j)) > 0 && j + k < n && s[j + k] == ' ';
		j += k + 1;
		for (int f = 0; ok && f < 3; f++) {
			ok = (k = digits(s, n, j)) > 0;
			j += k;
			ok = ok && j < n && s[j++] == (f < 2 ? ':' : ' ');
		}
		if (!ok || j >= n || isspace((unsigned char)s[j]))
			continue;
		while (j < n && !isspace((unsigned char)s[j]))
			j++;
		return j;
	}
	return 0;
}

static bool blank(const char *v)
{
	for (; *v; v++)
		if (!isspace((unsigned char)*v))
			return false;
	return true;
}

static void received(struct msgtraits *t, const char *v)
{
	join(t->received, sizeof t->received, &t->received_len, v);
	if (blank(v) || t->nreceived >= TRAITS_MAX_RECEIVED)
		return;
	unsigned r = t->nreceived++;
	if (r < 2) {
		/* fetchmail's hops (HeaderEval's _get_received_header_times) */
		const char *from = strstr(v, "from ");
		bool local = (from && (strncmp(from + 5, "localhost", 9) == 0 &&
		                       isspace((unsigned char)from[14]))) ||
		             strstr(v, " invoked by uid ") != NULL;
		if (!local && from) {
			/* "from (\S+ ){1,2}\S*\b127.0.0.1\b" */
			const char *p = from + 5;
			for (int w = 0; w < 3 && *p && !local; w++) {
				size_t wl = strcspn(p, " \t");
				const char *ip = memmem(p, wl, "127.0.0.1", 9);
				local = w > 0 && ip && !isdigit((unsigned char)ip[9]) && (ip == p || !isdigit((unsigned char)ip[-1]));
				p += wl;
				p += strspn(p, " \t");
			}
		}
		t->rcvd_local[r] = local;
		const char *by = strstr(v, "by localhost with ");
		t->rcvd_fetchmail[r] = by && strstr(by, "(fetchmail-") != NULL;
	}
	size_t n = strlen(v);
	t->rcvd_has_time[r] = false;
	for (size_t i = 0; i < n; i++) {
		size_t end = received_date_at(v, n, i);
		if (end) {
			t->rcvd_has_time[r] = sl_rfc822_date(v + i, end - i, &t->rcvd_time[r]);
			break;
		}
	}
}

/* Subject:raw encoded in a charset whose text SpamAssassin finds all-caps by mistake
 * (Constants' CHARSETS_LIKELY_TO_FP_AS_CAPS). */
static bool fp_charset(const uint8_t *raw, size_t n)
{
	static const char *const sets[] = {"koi", "jp", "jis", "euc", "gb", "big5", "isoir",
	                                   "cp1251", "windows-1251", "georgianps", "pt154", "tis"};
	for (const uint8_t *p = raw; (p = memmem(p, n - (size_t)(p - raw), "=?", 2)); p += 2) {
		char cs[64];
		size_t k = 0, i = 2;
		while (p + i < raw + n && k < sizeof cs - 1 &&
		       (isalnum(p[i]) || p[i] == '-' || p[i] == '_'))
			cs[k++] = (char)tolower(p[i++]);
		cs[k] = '\0';
		if (p + i >= raw + n || p[i] != '?')
			continue;
		for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
			if (strstr(cs, sets[s]))
				return true;
	}
	return false;
}

/* The value as SpamAssassin's get() unfolds it: each line break with the blanks after
 * it becomes one blank (the engine's unfolded value keeps the blanks: a folded
 * "13:45:38\n    +0100" would not read as a date). Cut at cap. */
static const char *unfold(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	const uint8_t *colon = memchr(raw, ':', n);
	size_t i = colon ? (size_t)(colon - raw) + 1 : n, o = 0;
	while (i < n && (raw[i] == ' ' || raw[i] == '\t'))
		i++;
	while (i < n && o < cap - 1) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			while (i < n && (raw[i] == '\r' || raw[i] == '\n'))
				i++;
			if (i < n && (raw[i] == ' ' || raw[i] == '\t')) {
				while (i < n && (raw[i] == ' ' || raw[i] == '\t'))
					i++;
				out[o++] = ' ';
			}
			continue;
		}
		out[o++] = (char)raw[i++];
	}
	out[o] = '\0';
	return out;
}

void sl_msgtraits_header(struct msgtraits *t, const char *name, const char *value,
                         const uint8_t *raw, size_t raw_len)
{
	/* MESSAGEID: SpamAssassin lists these first, Message-Id last */
	static const char *const msgid_fields[] = {"X-Message-Id", "Resent-Message-Id",
	                                           "X-Original-Message-ID", "Message-Id"};
	int rank = 0;
	for (int r = 0; r < 4 && !rank; r++)
		if (strcasecmp(name, msgid_fields[r]) == 0)
			rank = r + 1;
	bool subject = strcasecmp(name, "Subject") == 0;
	if (!rank && !subject && strcasecmp(name, "Received") != 0 && strcasecmp(name, "Date") != 0 &&
	    strcasecmp(name, "Resent-Date") != 0)
		return; /* a field no trait reads */
	char buf[1024];
	if (raw && !memmem(raw, raw_len, "=?", 2) && !subject)
		value = unfold(raw, raw_len, buf, sizeof buf);
	while (*value == ' ' || *value == '\t')
		value++;
	if (rank && (!t->msgid_rank || rank < t->msgid_rank)) {
		size_t l = strnlen(value, sizeof t->msgid - 1); /* a longer id is cut */
		memcpy(t->msgid, value, l);
		t->msgid[l] = '\0';
		t->msgid_rank = rank;
	}
	if (strcasecmp(name, "Received") == 0) {
		received(t, value);
	} else if (strcasecmp(name, "Date") == 0) {
		join(t->dates, sizeof t->dates, &t->dates_len, value);
		if (!blank(value))
			t->date_parsed = sl_rfc822_date(value, strlen(value), &t->date_time);
	} else if (strcasecmp(name, "Resent-Date") == 0) {
		if (!blank(value))
			t->resent_parsed = sl_rfc822_date(value, strlen(value), &t->resent_time);
	} else if (subject) {
		join(t->subject, sizeof t->subject, &t->subject_len, value);
		t->subject_fp_charset |= raw && fp_charset(raw, raw_len);
	}
}

/* ---- the tests ------------------------------------------------------------------------- */

static int64_t outlook_expected(const char *s, size_t n)
{
	int64_t when = 0;
	if (!sl_rfc822_date(s, n, &when))
		when = 0;
	return (int64_t)((double)when * 0.0023283064365387 + 27111902.8329849);
}

static bool outlook_message_id_invalid(const struct msgtraits *t)
{
	/* ^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}\@ */
	static const char shape[] = "<xxxxXXXXXXXX$xxxxxxxx$xxxxxxxx@";
	const char *id = t->msgid;
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		char c = id[i], want = shape[i];
		bool hex = isdigit((unsigned char)c) || (c >= 'a' && c <= 'f');
		if (want == 'x' || want == 'X' ? !hex : c != want)
			return false;
	}
	int64_t token = (int64_t)strtoull((char[9]){id[5], id[6], id[7], id[8], id[9], id[10],
	                                            id[11], id[12], '\0'}, NULL, 16);
	if (llabs(token - outlook_expected(t->dates, t->dates_len)) < 250)
		return false;
	return llabs(token - outlook_expected(t->received, t->received_len)) >= 250;
}

/* Date minus the nearest Received date, in seconds (HeaderEval's _check_date_diff); 0
 * when either is missing. */
static int64_t date_diff(const struct msgtraits *t)
{
	int64_t date;
	if (t->resent_parsed)
		date = t->resent_time;
	else if (t->date_parsed)
		date = t->date_time;
	else
		return 0;
	unsigned first = 0;
	if (t->nreceived > 0 && t->rcvd_local[0] && t->nreceived > 1 && t->rcvd_fetchmail[1])
		first = 2;
	else if (t->nreceived > 0 && !t->rcvd_local[0] && t->rcvd_fetchmail[0])
		first = 1;
	int64_t diffs[TRAITS_MAX_RECEIVED];
	unsigned n = 0;
	for (unsigned r = first; r < t->nreceived; r++)
		if (t->rcvd_has_time[r])
			diffs[n++] = date - t->rcvd_time[r];
	if (n > 1 && diffs[n - 1] == 0)
		n--;
	int64_t best = 0;
	for (unsigned i = 0; i < n; i++)
		if (i == 0 || llabs(diffs[i]) < llabs(best))
			best = diffs[i];
	return best;
}

static bool subject_all_caps(const struct msgtraits *t)
{
	const char *s = t->subject, *e = t->subject + t->subject_len;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	static const char *const prefixes[] = {"Re", "Fwd", "Fw", "Aw", "Antwort", "WG", "SV", "VB", "VS", "VL"};
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
			size_t l = strlen(prefixes[i]);
			if ((size_t)(e - s) > l && strncasecmp(s, prefixes[i], l) == 0 && s[l] == ':') {
				s += l + 1;
				while (s < e && isspace((unsigned char)*s))
					s++;
				more = true;
				break;
			}
		}
	}
	bool has_blank = false;
	size_t letters = 0;
	for (const char *p = s; p < e; p++) {
		has_blank |= isspace((unsigned char)*p) != 0;
		if (islower((unsigned char)*p) && !(*p & 0x80))
			return false;
		letters += isupper((unsigned char)*p) && !(*p & 0x80);
	}
	return has_blank && e - s >= 10 && !t->subject_fp_charset && letters > 0;
}

void sl_msgtraits_finish(const struct msgtraits *t, void (*raise)(void *ctx, enum sl_signal s),
                         void *ctx)
{
	static const struct {
		int min, max; /* hours; INT_MIN/INT_MAX: 'undef' */
		enum sl_signal sig;
	} shifts[] = {
		{-6, -3, SL_SIG_SA_DATE_PAST_03_06}, {-12, -6, SL_SIG_SA_DATE_PAST_06_12},
		{-24, -12, SL_SIG_SA_DATE_PAST_12_24}, {-48, -24, SL_SIG_SA_DATE_PAST_24_48},
		{-96, -48, SL_SIG_SA_DATE_PAST_48_96}, {-1000000, -96, SL_SIG_SA_DATE_PAST_96_XX},
		{3, 6, SL_SIG_SA_DATE_FUTURE_03_06}, {6, 12, SL_SIG_SA_DATE_FUTURE_06_12},
		{12, 24, SL_SIG_SA_DATE_FUTURE_12_24}, {24, 48, SL_SIG_SA_DATE_FUTURE_24_48},
		{48, 96, SL_SIG_SA_DATE_FUTURE_48_96}, {96, 2920, SL_SIG_SA_DATE_FUTURE_96_2920},
		{2920, 1000000, SL_SIG_SA_DATE_FUTURE_2920_XX},
	};
	if (outlook_message_id_invalid(t))
		raise(ctx, SL_SIG_SA_MSGID_OUTLOOK_INVALID);
	int64_t diff = date_diff(t);
	for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++)
		if ((shifts[i].min == -1000000 || diff >= 3600LL * shifts[i].min) &&
		    (shifts[i].max == 1000000 || diff < 3600LL * shifts[i].max))
			raise(ctx, shifts[i].sig);
	if (subject_all_caps(t))
		raise(ctx, SL_SIG_SA_SUBJECT_ALL_CAPS);
}
