/* The state directory (docs/control.md):
 *   versions/<id>/src/...      the policy's files as pushed (the rules file and its lists)
 *   versions/<id>/bundle       the compiled bundle, signed
 *   versions/<id>/meta.json    {id, digest, author, uid, time, comment, parent, policy, files,
 *                               rules, compile_seconds, bundle_bytes}
 *   current/<dataplane>.bundle the signed bundle each dataplane should run: its [policy]
 *                              rules may name it, so a restart starts on that version
 *   state.json                 what each dataplane should run ({"dataplanes": {NAME:
 *                              {"version": id, "starttls": ..}}}), the next id, the audit head
 *   audit.jsonl                the audit log (audit.h)
 * A version is written under versions/.new-<id> and renamed into place: a version
 * directory is complete or absent. Versions are never changed once written. Not
 * thread-safe: the daemon serializes writers and guards the state with a lock. */
#ifndef SLUICE_CONTROL_STORE_H
#define SLUICE_CONTROL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "sluice/policy.h"
#include "sluice/strbuf.h"

struct store {
	char dir[CTL_PATH_MAX];
	json_t *state;          /* state.json as loaded and changed */
};

/* Open (creating it) the state directory; leftovers of an interrupted write are removed. */
int store_open(struct store *s, const char *dir, char *err, size_t errlen);
void store_close(struct store *s);
/* Write state.json (atomically, fsync'd). */
int store_save(struct store *s, char *err, size_t errlen);

/* The version a dataplane should run (-1: none yet) and its STARTTLS knob (NULL: the
 * dataplane's own setting). */
int64_t store_wanted(const struct store *s, const char *dp);
void store_set_wanted(struct store *s, const char *dp, int64_t id);
const char *store_knob(const struct store *s, const char *dp, const char *knob);
void store_set_knob(struct store *s, const char *dp, const char *knob, const char *value);
/* Write current/<dp>.bundle: the signed bundle of version id (atomically). */
int store_publish(const struct store *s, const char *dp, int64_t id, char *err, size_t errlen);

/* The audit log's line count and head hash, as last recorded (0 and "" when none). */
void store_audit_head(const struct store *s, uint64_t *lines, const char **head);
void store_set_audit_head(struct store *s, uint64_t lines, const char *head);

/* A name a policy file may have in a version: relative, no '.' or '..' component, no
 * empty component, printable, under 256 bytes. */
bool store_valid_file_name(const char *name);

/* The id the next version gets (the bundle is signed with it before it is stored). */
int64_t store_next_id(const struct store *s);
/* Store a new version under store_next_id(): its files, the signed bundle, and `meta`
 * (its "id" is set here). The new id in *id. */
int store_add_version(struct store *s, const struct sl_policy_file *files, size_t n,
                      const uint8_t *bundle, size_t bundle_len, json_t *meta, int64_t *id,
                      char *err, size_t errlen);
bool store_has_version(const struct store *s, int64_t id);
/* meta.json of a version (decref it), or NULL. */
json_t *store_meta(const struct store *s, int64_t id);
/* The signed bundle of a version (free it), or NULL with err. */
uint8_t *store_bundle(const struct store *s, int64_t id, size_t *len, char *err, size_t errlen);
/* Every version's meta, by id (decref the array). */
json_t *store_list(const struct store *s);
/* The unified diff of two versions' files (diff -ruN) into out, capped at max bytes
 * (then cut, with a line that says so). 0, or -1 with err. */
int store_diff(const struct store *s, int64_t a, int64_t b, size_t max, struct sl_strbuf *out,
               char *err, size_t errlen);

#endif
