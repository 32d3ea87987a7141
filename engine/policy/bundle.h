/* Rule bundles: a compiled policy on disk (docs/rules.md, "Bundles"). */
#ifndef SLUICE_POLICY_BUNDLE_H
#define SLUICE_POLICY_BUNDLE_H

#include "internal.h"

/* 1 if the file starts like a bundle, 0 if not, -1 (errno) if it cannot be read. */
int pol_is_bundle(const char *path);
struct sl_policy *pol_bundle_load(const char *path, struct sl_policy_diag *diag);

/* Shared with policy.c */
const uint8_t *pol_read_file(struct pol_arena *a, const char *path, size_t *len, const char **err);
void pol_policy_digest(struct sl_policy *p);

#endif
