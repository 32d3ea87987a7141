/* The policy's in-memory model, shared by the parser, the compiler, the bundle code
 * and the matcher. Not a public interface: see sluice/policy.h. */
#ifndef SLUICE_POLICY_INTERNAL_H
#define SLUICE_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "sluice/bayes.h"
#include "sluice/policy.h"
#include "sluice/signals.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- small helpers ---------------------------------------------------------------- */

/* Arena: every string and array of a policy lives here and is freed at once. */
struct pol_arena;
struct pol_arena *pol_arena_new(void);
void pol_arena_free(struct pol_arena *a);
void *pol_alloc(struct pol_arena *a, size_t n);           /* zeroed */
char *pol_strndup(struct pol_arena *a, const char *s, size_t n);
char *pol_strdup(struct pol_arena *a, const char *s);

/* A growable array of fixed-size elements (malloc'ed, not in the arena). */
struct pol_vec {
	void *v;
	size_t n, cap, size;
};
void pol_vec_init(struct pol_vec *vec, size_t elem_size);
void *pol_vec_push(struct pol_vec *vec);                  /* zeroed new element */
void pol_vec_free(struct pol_vec *vec);
#define POL_AT(vec, type, i) (&((type *)(vec).v)[i])

uint64_t pol_hash64(const void *p, size_t n, uint64_t seed);
/* Value of a hex digit, -1 if c is not one. */

/* ---- scopes and databases --------------------------------------------------------- */

/* What a condition looks at (bit mask). */
enum pol_scope {
	SC_MAIL_FROM = 1u << 0,
	SC_RCPT_TO = 1u << 1,
	SC_HELO = 1u << 2,
	SC_CLIENT_IP = 1u << 3,
	SC_HEADER = 1u << 4,       /* any header field, as "Name: value" */
	SC_HEADER_NAMED = 1u << 5, /* the value of the fields named in cond->headers (a name
	                            * starting with ':' is message-header:NAME: the top-level
	                            * field as written, SpamAssassin's view) */
	SC_BODY = 1u << 6,         /* UTF-8 text of text parts that are not attachments */
	SC_TEXT = 1u << 7,         /* UTF-8 text of every text part, attachments included */
	SC_ATTACHMENT = 1u << 8,   /* transfer-decoded bytes of attachment parts */
	SC_PART = 1u << 9,         /* body text + attachment bytes: every decoded part */
	SC_FILENAME = 1u << 10,    /* decoded attachment filename */
	SC_RAW = 1u << 11,         /* raw message bytes */
	SC_SIGNAL = 1u << 12,      /* engine signals */
	SC_CONTENT = 1u << 13,     /* every part as content: text parts as UTF-8, others as bytes;
	                            * also what the extraction stage finds inside them */
	SC_ARCHIVE_MEMBER = 1u << 14, /* names of the members of archives */
	SC_DOC_TEXT = 1u << 15,    /* text extracted from documents (OOXML, ODF), UTF-8 */
	SC_RENDERED = 1u << 16,    /* the message text as SpamAssassin's body rules see it (render.h) */
};

/* Hyperscan databases. The first POL_NSTREAM are streaming databases fed by data
 * events (one stream per scope instance); the others are block databases scanned
 * once per complete value. Named-header databases follow POL_DB_FIXED. */
enum pol_db {
	DB_BODY,        /* PART_TEXT of non-attachment text parts */
	DB_ATTACH,      /* PART_DATA of attachments that are not text */
	DB_ATTACH_TEXT, /* PART_TEXT of text attachments (UTF-8) */
	DB_ATTACH_RAW,  /* PART_DATA of text attachments (bytes in their own charset) */
	DB_RAW,         /* RAW */
	DB_MEMBER,      /* MEMBER_DATA of FILE members (bytes inside archives) */
	DB_DOCTEXT,     /* MEMBER_DATA of TEXT members (document text) */
	DB_RENDERED,    /* Subject and rendered text of the message (render.h), one stream */
	POL_NSTREAM,
	DB_MAIL_FROM = POL_NSTREAM,
	DB_RCPT_TO,
	DB_HELO,
	DB_HEADER,      /* every header field as "Name: value" */
	DB_FILENAME,
	DB_MEMBER_NAME, /* names of archive members */
	POL_DB_FIXED,   /* named header databases start here */
};
const char *pol_db_scope_name(unsigned db); /* evidence scope of a fixed database */

/* ---- rules ------------------------------------------------------------------------ */

enum pol_validator {
	VAL_NONE,
	VAL_LUHN,
	VAL_TW_ID,
	VAL_IBAN,
};
const char *pol_validator_name(enum pol_validator v);
enum pol_validator pol_validator_lookup(const char *name);
/* Look-behind a validator needs, in bytes, to see a whole candidate and the byte
 * before it. */
size_t pol_validator_window(enum pol_validator v);
/* Decide whether a valid value ends exactly at the end of win[0..n). at_start: win
 * begins at the start of the scope instance. On success *key is a hash of the
 * canonical value (for distinct counts). */
bool pol_validate(enum pol_validator v, const uint8_t *win, size_t n, bool at_start,
                  uint64_t *key);

enum pol_cond_type {
	COND_PATTERN,   /* Hyperscan patterns (literal, regex, keywords, ndb) */
	COND_HASH,      /* attachment digests */
	COND_CLIENT_IP, /* client address in CIDR list */
	COND_SIGNAL,    /* engine signal raised */
	COND_SPAM,      /* the classifier's spam probability at least spam_min */
};

struct pol_cidr {
	uint8_t family;  /* 4 or 6 */
	uint8_t bits;
	uint8_t addr[16];
};

struct pol_cond {
	enum pol_cond_type type;
	const char *name;        /* label used in `when` */
	uint32_t rule;
	uint32_t scopes;         /* enum pol_scope bits */
	uint32_t nheaders;       /* SC_HEADER_NAMED: lowercase field names */
	const char **headers;
	uint32_t min_count;      /* >= 1 */
	bool distinct;
	bool multiple;           /* every match counts: the rule's value in `when` is its count */
	enum pol_validator validator;
	uint32_t ncidr;          /* COND_CLIENT_IP */
	struct pol_cidr *cidr;
	uint32_t nsignals;       /* COND_SIGNAL */
	enum sl_signal *signals;
	uint32_t distinct_slot;  /* first slot in the msgscan's distinct-key table */
	double spam_min;         /* COND_SPAM */
	unsigned line, col;
	uint32_t file;
};

/* `when` code, postfix over integers (a condition or rule is 1 when it holds, else 0;
 * and/or/not and comparisons give 0 or 1). */
enum pol_op {
	OP_COND,  /* push cond[arg] */
	OP_RULE,  /* push whether rule[arg] fired (rules with these are "meta" rules) */
	OP_NUM,   /* push (int32_t)arg */
	OP_NOT,
	OP_AND,
	OP_OR,
	OP_ADD,
	OP_MUL,
	OP_GT,
	OP_GE,
	OP_LT,
	OP_LE,
	OP_EQ,
	OP_NE,
};

struct pol_insn {
	uint8_t op;
	uint32_t arg;
};
/* Run `code`; cond(ctx, i) and rule(ctx, i) give the value of a condition or rule. */
long pol_eval(const struct pol_insn *code, uint32_t n, long (*cond)(const void *, uint32_t),
              long (*rule)(const void *, uint32_t), const void *ctx);

/* Distinct values tracked for a `count >= N distinct` condition. */
static inline uint32_t pol_distinct_capacity(const struct pol_cond *c)
{
	return c->min_count > 16 ? c->min_count : 16;
}

struct pol_rule {
	const char *id;
	const char *description;
	enum sl_action action;
	bool has_action;
	const char *reply;
	int score;               /* thousandths of a point */
	uint8_t directions;      /* bit (1 << enum sl_direction); 0 = any */
	uint32_t first_cond, ncond;
	uint32_t ncode;
	struct pol_insn *code;   /* `when`, postfix */
	bool true_without_matches; /* `when` holds with every condition false */
	bool meta;               /* `when` names other rules: evaluated after them */
	bool multiple;           /* a condition is `multiple`: its value in `when` is its count */
	bool quiet;              /* a building block: fires for other rules' `when`, never listed */
	unsigned line, col;
	uint32_t file;
};

/* decompose.c: an expression Hyperscan scans as a cheaper superset, checked exactly in
 * C at each match end (max_units 0: none). */
struct pol_shape {
	uint8_t first_lo, first_hi;  /* class of the chain's first digit */
	uint8_t min_units, max_units; /* "[ -]?[0-9]" units after it */
};

/* What Hyperscan's expression analysis said of a non-literal pattern (compile.c). A
 * bundle records it, so loading one does not ask again. */
struct pol_hs_outcome {
	bool needs_confirm;      /* not exact in Hyperscan: prefilter + PCRE2 */
	bool widened;            /* the prefilter is pol_prefilter_widen(expr) (needs_confirm) */
	uint32_t min_width;      /* of hs_expr_info(): >= 1 */
	uint32_t max_width;      /* UINT32_MAX: unbounded */
};

/* An outcome as stored (a bundle, the compile cache): u8 flags (1: confirm, 2: widened),
 * u32 min_width, u32 max_width, host byte order as the rest of the bundle. Unpack is false
 * on flags it does not know. */
#define POL_OUTCOME_BYTES 9
void pol_outcome_pack(const struct pol_hs_outcome *o, uint8_t out[POL_OUTCOME_BYTES]);
bool pol_outcome_unpack(const uint8_t in[POL_OUTCOME_BYTES], struct pol_hs_outcome *o);

/* One Hyperscan expression. */
struct pol_pattern {
	uint32_t cond;
	const char *expr;        /* Hyperscan syntax */
	const char *hs_expr;     /* set by the compiler: what Hyperscan compiles (expr, or for a
	                          * prefilter a cheaper superset of it: prefilter.c) */
	unsigned hs_flags;       /* without HS_FLAG_SINGLEMATCH/PREFILTER (the compiler adds) */
	bool literal;            /* expr escapes a literal of lit_len bytes */
	uint32_t lit_len;
	const char *label;       /* keyword or signature name shown as evidence, or NULL */
	bool needs_confirm;      /* set by the compiler: prefilter + PCRE2 */
	bool singlematch;        /* set by the compiler */
	pcre2_code *confirm;     /* set by the compiler (not serialized: recompiled) */
	uint32_t confirm_slot;   /* index among confirmed patterns */
	uint32_t window;         /* look-behind bytes kept for validator / confirmation */
	struct pol_shape shape;  /* set by the compiler: expr is its prefilter */
	struct pol_hs_outcome hs; /* set by the compiler (all zero for a literal) */
	unsigned line, col;
	uint32_t file;
};

/* decompose.c: rewrites pt->expr into a cheaper prefilter and sets pt->shape when the
 * expression has a recognised shape (validator patterns only). */
bool pol_decompose(struct pol_arena *arena, struct pol_pattern *pt, enum pol_validator v);
size_t pol_shape_window(const struct pol_shape *s);
/* Whether the original expression has a match ending at the end of w[0..n). */
bool pol_shape_ends_here(const struct pol_shape *s, const uint8_t *w, size_t n);

enum pol_digest {
	DIG_MD5,
	DIG_SHA1,
	DIG_SHA256,
};
struct pol_hash {
	uint8_t type;            /* enum pol_digest */
	uint8_t digest[32];
	int64_t size;            /* decoded size, -1 for any */
	uint32_t cond;
	const char *label;
};

struct pol_threshold {
	int score;               /* thousandths of a point */
	enum sl_action action;
	const char *reply;
	unsigned line, col;
	uint32_t file;
};

/* A file the policy was built from (the rules file and every list it names); kept
 * so a bundle can carry them. */
struct pol_source {
	const char *name;        /* as written in the policy (relative to its directory) */
	const char *path;        /* where it was read from, for messages */
	const uint8_t *data;
	size_t len;
};

struct pol_dbinfo {
	hs_database_t *db;
	uint32_t npatterns;
	uint32_t *patterns;      /* Hyperscan id -> pattern index */
	const char *scope;       /* evidence scope name */
	const char *header;      /* named header databases: lowercase field name */
	bool streaming;
	uint32_t window;         /* largest look-behind of its patterns */
	size_t stream_state;
};

struct sl_policy {
	atomic_int refs;
	bool show_quiet;                  /* verdicts list quiet rules (sl_policy_show_quiet) */
	struct pol_arena *arena;
	const char *path;
	uint32_t nsources;
	struct pol_source *sources;

	uint32_t nrules, nconds, npatterns, nhashes, nthresholds;
	struct pol_rule *rules;
	struct pol_cond *conds;
	struct pol_pattern *patterns;
	struct pol_hash *hashes;          /* sorted by (type, digest) */
	struct pol_threshold *thresholds; /* sorted by score */
	bool hash_types[3];               /* which digests attachment parts need */
	bool hash_any_part;               /* a hash entry whose condition also reads non-attachment
	                                   * parts (part/content scope): every leaf is hashed */

	uint32_t ninternal_domains, ninternal_nets;
	const char **internal_domains;    /* lowercase */
	struct pol_cidr *internal_nets;

	uint32_t ndbs;
	struct pol_dbinfo *dbs;           /* POL_DB_FIXED + named headers; db NULL if empty */
	uint32_t nconfirm;                /* patterns confirmed by PCRE2 */
	uint32_t ndistinct_slots;

	uint32_t *always_rules;           /* rules that may fire without any match */
	uint32_t nalways;
	uint32_t *meta_rules;             /* rules naming rules, each after those it names */
	uint32_t nmeta;
	uint32_t *signal_conds[SL_SIG_COUNT]; /* conds listening to each signal */
	uint32_t nsignal_conds[SL_SIG_COUNT];
	uint32_t *ip_conds;
	uint32_t nip_conds;
	uint32_t *spam_conds;             /* COND_SPAM conditions, evaluated at end of data */
	uint32_t nspam_conds;

	/* the classifier's model (`spam-model`, or the file given to sl_policy_set_spam_model) */
	bool has_spam_model;
	struct sl_bayes_model spam_model;
	const char *spam_model_name;      /* as the policy or the override names it */
	unsigned spam_model_line, spam_model_col;
	uint8_t *spam_model_override;     /* the override's bytes (malloc'd), or NULL */
	size_t spam_model_override_len;

	size_t skipped_signatures;        /* ndb signatures left out by ignore-unsupported */
	uint64_t serial;                  /* unique per policy object (scratch preparation) */
	double compile_seconds;
	uint32_t cached_dbs;              /* databases the compile cache gave (hscache.c) */
	bool cached_analysis;             /* Hyperscan's expression analysis from the cache too */
	uint8_t own_digest[32];           /* SHA-256 of the sources and databases */
	uint8_t digest[32];               /* own_digest, or with the overriding model's bytes */
};

/* ---- the build pipeline ----------------------------------------------------------- */

/* Where source files come from: disk (compiling) or a bundle (loading). */
struct pol_reader {
	/* Returns the bytes of `name` (relative names are relative to the policy's
	 * directory) or NULL with *err set to a short reason. Bytes stay valid for the
	 * policy's life. */
	const uint8_t *(*read)(struct pol_reader *r, const char *name, size_t *len,
	                       const char **err);
	void *ctx;
};

struct pol_build_opts {
	long exclude_rule;        /* index of a rule to leave out (cost), -1 for none */
	bool skip_hyperscan;      /* parse and check only (fuzzing) */
};

/* Parse the rules file `path` into p (sources recorded in p). false + diag on error. */
bool pol_parse(struct sl_policy *p, const char *path, struct pol_reader *rd,
               const struct pol_build_opts *opts, struct sl_policy_diag *diag);
/* Compile the parsed policy's Hyperscan databases (or, with `serialized`, load them). */
bool pol_compile(struct sl_policy *p, struct sl_policy_diag *diag);
/* The compiler's per-pattern decisions and database id tables without compiling
 * (the fuzzer, sl_policy_check_text). */
bool pol_analyze_only(struct sl_policy *p, struct sl_policy_diag *diag);
/* The same from Hyperscan outcomes recorded when the policy was compiled, one per
 * pattern (bundle loading: no Hyperscan query). false + diag ("bundle is damaged") when
 * a record does not fit its pattern. */
bool pol_analyze_recorded(struct sl_policy *p, const struct pol_hs_outcome *recorded,
                          struct sl_policy_diag *diag);
/* Confirmations (PCRE2) and the derived tables, after databases exist. */
bool pol_finish(struct sl_policy *p, struct sl_policy_diag *diag);

/* Parse and analyse a policy held in memory (no Hyperscan compile): every list file it
 * names reads `list`. For the fuzzer. */
bool pol_check_buffer(const uint8_t *text, size_t n, const uint8_t *list, size_t ln,
                      struct sl_policy_diag *diag);

/* hs_compile_multi (ids 0..n-1) through the compile cache (hscache.c). */
hs_error_t pol_hs_build(const char *const *exprs, const unsigned *flags, unsigned n, unsigned mode,
                        hs_database_t **db, hs_compile_error_t **err, bool *from_cache);
/* The cache directory, or NULL with *why it is off. */
const char *pol_hscache_dir(const char **why);
/* The Hyperscan analysis of p's non-literal patterns (p decomposed, not yet analysed)
 * from the compile cache: one per pattern (literals zero), in p's arena; NULL when the
 * cache is off or has no such entry. Store writes p's (after a successful analysis). */
struct pol_hs_outcome *pol_hscache_analysis_load(struct sl_policy *p);
void pol_hscache_analysis_store(const struct sl_policy *p);
/* A superset of a prefilter expression that Hyperscan compiles faster (prefilter.c);
 * expr itself when nothing changes. */
const char *pol_prefilter_widen(struct pol_arena *a, const char *expr);

/* Bytes of pattern table that databases were compiled from (checked on bundle load). */
void pol_pattern_digest(const struct sl_policy *p, uint8_t out[32]);

struct sl_policy *pol_new(void);
void pol_diag(struct sl_policy_diag *d, const char *file, unsigned line, unsigned col,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *pol_file_name(const struct sl_policy *p, uint32_t file);

/* ---- addresses -------------------------------------------------------------------- */

/* Parse "192.0.2.0/24", "2001:db8::/32", or a bare address (host route). */
bool pol_cidr_parse(const char *s, struct pol_cidr *out, const char **err);
bool pol_cidr_match(const struct pol_cidr *c, uint32_t n, const struct sockaddr_storage *a);
/* Domain of an address ("" for none), lowercase, into out. */
void pol_addr_domain(const char *addr, char *out, size_t outlen);
bool pol_domain_internal(const struct sl_policy *p, const char *domain);
enum sl_direction pol_direction(const struct sl_policy *p, const struct sl_envelope *env);

/* ---- ClamAV .ndb ------------------------------------------------------------------ */

/* Translate a ClamAV body signature's hex string (and offset) into a Hyperscan
 * expression. NULL with *err (and *errcol, 0-based in hex) on what we cannot do. */
char *pol_ndb_to_regex(struct pol_arena *a, const char *offset, const char *hex,
                       const char **err, size_t *errcol);

#endif
