/* The configuration file syntax of Sluice's daemons (sluice-dp, sluice-control):
 *
 *   # a comment (to the end of the line)
 *   [section]              or  [section NAME]
 *   key = value            (spaces around both trimmed; the value may be empty)
 *
 * This reads the lines; what the sections and keys mean is the caller's. */
#ifndef SLUICE_CONFFILE_H
#define SLUICE_CONFFILE_H

enum sl_conf_kind {
	SL_CONF_END,      /* no more lines */
	SL_CONF_SECTION,  /* name (and arg, NULL without one) */
	SL_CONF_KEY,      /* key, value */
	SL_CONF_ERROR,    /* error: what is wrong with the line */
};

struct sl_conf_line {
	enum sl_conf_kind kind;
	unsigned lineno;          /* 1-based, for messages */
	const char *name, *arg;   /* SL_CONF_SECTION */
	const char *key, *value;  /* SL_CONF_KEY */
	const char *error;        /* SL_CONF_ERROR */
};

struct sl_conf_reader {
	const char *p;
	unsigned lineno;
	char buf[2048];
};

void sl_conf_init(struct sl_conf_reader *r, const char *text);
/* The next meaningful line (comments and blank lines skipped). The strings point into
 * the reader and are valid until the next call. */
void sl_conf_next(struct sl_conf_reader *r, struct sl_conf_line *out);

/* s without leading and trailing white space (cut in place; for list items of a value). */
char *sl_conf_trim(char *s);

#endif
