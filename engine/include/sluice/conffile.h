/* The configuration file syntax of Sluice's daemons (sluice-dp, sluice-control):
 *
 *   # a comment (to the end of the line)
 *   [section]              or  [section NAME]
 *   key = value            (spaces around both trimmed; the value may be empty)
 *
 * This reads the lines; what the sections and keys mean is the caller's. */
#ifndef SLUICE_CONFFILE_H
#define SLUICE_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Typed keys: a daemon describes its keys in a table (section, key, type, place of the
 * field in its struct, range); the types below are parsed here, with the same messages
 * in every daemon. A daemon's own types are numbered from SL_CONF_OWN on. */
enum sl_conf_type {
	SL_CONF_UINT,      /* unsigned, within [min, max] */
	SL_CONF_SIZE,      /* uint64_t bytes, with k/m/g; within [min, max] */
	SL_CONF_DURATION,  /* uint64_t milliseconds, with ms/s/m/h (bare: seconds); within [min, max] */
	SL_CONF_BOOL,      /* bool: yes/no, true/false, on/off, 1/0 */
	SL_CONF_ENUM,      /* int: the index of one of names */
	SL_CONF_OWN,       /* the first of the daemon's own types */
};

struct sl_conf_key {
	const char *section, *key;
	int type;                 /* enum sl_conf_type, or the daemon's own */
	size_t off;               /* of the field in the daemon's struct */
	uint64_t min, max;
	const char *const *names; /* SL_CONF_ENUM: the value names (index = value), NULL last */
};

/* The key of keys[0..n) named key in section, or NULL with "unknown key 'KEY' in
 * [SECTION]" in msg. */
const struct sl_conf_key *sl_conf_key_find(const struct sl_conf_key *keys, size_t n,
                                           const char *section, const char *key,
                                           char *msg, size_t msglen);
/* Set k's field of base from v: 0; -1 with "KEY: expected ..." in msg; 1 when k is of
 * the daemon's own type (nothing done). */
int sl_conf_key_set(void *base, const struct sl_conf_key *k, const char *v, char *msg, size_t msglen);

/* An unsigned decimal with an optional unit from units (matched without case; a
 * NULL name ends the table); bare is the multiplier of a number without one. -1 when
 * it is not such a number or does not fit 64 bits. */
struct sl_conf_unit {
	const char *name;
	uint64_t mult;
};
extern const struct sl_conf_unit sl_conf_size_units[], sl_conf_time_units[], sl_conf_no_units[];
int sl_conf_parse_scaled(const char *s, const struct sl_conf_unit *units, uint64_t bare, uint64_t *out);
int sl_conf_parse_bool(const char *s, bool *out);
/* *out = the index of s in names (without case), or -1. */
int sl_conf_parse_enum(const char *s, const char *const *names, int *out);

#endif
