#include "headers.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sluice/strbuf.h"

static char *trimmed_copy(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = malloc(n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* One mailbox: "Name <addr>", "addr (comment)", "\"Quoted, Name\" <addr>". */
static void parse_mailbox(const char *s, size_t n, struct ar_addr *a)
{
	struct sl_strbuf name, bare;
	sl_strbuf_init(&name);
	sl_strbuf_init(&bare);
	const char *angle = NULL, *angle_end = NULL;
	bool inq = false;
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (inq) {
			if (c == '\\' && i + 1 < n)
				c = s[++i];
			else if (c == '"') {
				inq = false;
				continue;
			}
			sl_strbuf_putc(&name, c);
			continue;
		}
		if (depth) {
			if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '"') {
			inq = true;
		} else if (c == '(') {
			depth = 1;
		} else if (c == '<' && !angle) {
			angle = s + i + 1;
			const char *e = memchr(angle, '>', n - i - 1);
			angle_end = e ? e : s + n;
			i = (size_t)(angle_end - s);
		} else {
			sl_strbuf_putc(&name, c);
			sl_strbuf_putc(&bare, c);
		}
	}
	if (angle) {
		a->addr = trimmed_copy(angle, (size_t)(angle_end - angle));
		a->display = trimmed_copy(name.s ? name.s : "", name.len);
	} else {
		/* no angle brackets: the text (outside quotes and comments) is the address */
		a->addr = trimmed_copy(bare.s ? bare.s : "", bare.len);
		a->display = strdup("");
	}
	sl_strbuf_free(&name);
	sl_strbuf_free(&bare);
}

size_t ar_parse_addresses(const char *value, struct ar_addr **out)
{
	size_t n = 0, cap = 0;
	struct ar_addr *v = NULL;
	const char *s = value;
	size_t len = strlen(value);
	size_t start = 0;
	bool inq = false;
	int depth = 0, angle = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : ',';
		if (inq) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				inq = false;
			if (i < len)
				continue;
		}
		if (c == '"') {
			inq = true;
			continue;
		}
		if (c == '(') {
			depth++;
			continue;
		}
		if (c == ')' && depth) {
			depth--;
			continue;
		}
		if (depth)
			continue;
		if (c == '<')
			angle = 1;
		else if (c == '>')
			angle = 0;
		if (angle)
			continue;
		if (c == ':') {
			start = i + 1; /* group "name:" — its members follow */
			continue;
		}
		if (c != ',' && c != ';')
			continue;
		size_t l = i - start;
		const char *p = s + start;
		start = i + 1;
		bool blank = true;
		for (size_t k = 0; k < l; k++)
			if (!isspace((unsigned char)p[k]))
				blank = false;
		if (blank)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = realloc(v, cap * sizeof *v);
		}
		parse_mailbox(p, l, &v[n]);
		if (!*v[n].addr && !*v[n].display) {
			free(v[n].addr);
			free(v[n].display);
			continue;
		}
		n++;
	}
	*out = v;
	return n;
}

void ar_addrs_free(struct ar_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].addr);
		free(a[i].display);
	}
	free(a);
}

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
	"aug", "sep", "oct", "nov", "dec" };

static const struct {
	const char *name;
	int minutes;
} zones[] = {
	{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 }, { "est", -300 }, { "edt", -240 },
	{ "cst", -360 }, { "cdt", -300 }, { "mst", -420 }, { "mdt", -360 }, { "pst", -480 },
	{ "pdt", -420 },
};

static void skip_cfws(const char **p)
{
	for (;;) {
		while (**p && (isspace((unsigned char)**p) || **p == ','))
			(*p)++;
		if (**p != '(')
			return;
		int depth = 0;
		do {
			if (**p == '(')
				depth++;
			else if (**p == ')')
				depth--;
			(*p)++;
		} while (**p && depth);
	}
}

static bool read_num(const char **p, int maxdigits, int *out, int *ndigits)
{
	int v = 0, k = 0;
	while (k < maxdigits && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	if (ndigits)
		*ndigits = k;
	*out = v;
	return k > 0;
}

bool ar_parse_date(const char *value, int64_t *out)
{
	const char *p = value;
	skip_cfws(&p);
	/* optional day name */
	if (isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		skip_cfws(&p);
	}
	int day, year, hh, mm, ss = 0, yd;
	if (!read_num(&p, 2, &day, NULL))
		return false;
	skip_cfws(&p);
	int mon = -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return false;
	while (isalpha((unsigned char)*p))
		p++;
	skip_cfws(&p);
	if (!read_num(&p, 4, &year, &yd))
		return false;
	if (yd <= 2)
		year += year < 50 ? 2000 : 1900; /* RFC 5322 4.3 */
	else if (yd == 3)
		year += 1900;
	skip_cfws(&p);
	if (!read_num(&p, 2, &hh, NULL) || *p != ':')
		return false;
	p++;
	if (!read_num(&p, 2, &mm, NULL))
		return false;
	if (*p == ':') {
		p++;
		if (!read_num(&p, 2, &ss, NULL))
			return false;
	}
	skip_cfws(&p);
	int offset = 0;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, z, nd;
		p++;
		if (!read_num(&p, 4, &z, &nd) || nd != 4)
			return false;
		offset = sign * ((z / 100) * 60 + z % 100);
	} else if (isalpha((unsigned char)*p)) {
		for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
			size_t l = strlen(zones[i].name);
			if (strncasecmp(p, zones[i].name, l) == 0 && !isalpha((unsigned char)p[l]))
				offset = zones[i].minutes;
		}
	}
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return false;
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon, .tm_mday = day,
		.tm_hour = hh, .tm_min = mm, .tm_sec = ss };
	time_t t = timegm(&tm);
	*out = (int64_t)t - (int64_t)offset * 60;
	return true;
}

void ar_parse_msgids(const char *value, void (*fn)(void *ctx, const char *id, size_t n),
	void *ctx)
{
	const char *p = value;
	while ((p = strchr(p, '<'))) {
		const char *e = strchr(p + 1, '>');
		if (!e)
			return;
		if (e > p + 1)
			fn(ctx, p + 1, (size_t)(e - p - 1));
		p = e + 1;
	}
}
