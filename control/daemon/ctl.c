#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "link.h"

void ctl_wanted(struct ctl *c, const char *dp, struct dp_wanted *w)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_lock(&c->state_lock);
	w->version = store_wanted(&c->store, dp);
	const char *knob = store_knob(&c->store, dp, "starttls");
	snprintf(w->starttls, sizeof w->starttls, "%s", knob ? knob : "");
	pthread_mutex_unlock(&c->state_lock);
	if (w->version >= 0) {
		json_t *m = store_meta(&c->store, w->version); /* versions never change: no lock */
		const char *d = json_string_value(json_object_get(m, "digest"));
		snprintf(w->digest, sizeof w->digest, "%s", d ? d : "");
		json_decref(m);
	}
}

struct dp_link *ctl_link(struct ctl *c, const char *name)
{
	for (unsigned i = 0; i < c->nlinks; i++)
		if (strcmp(c->links[i].conf->name, name) == 0)
			return &c->links[i];
	return NULL;
}

int ctl_audit(struct ctl *c, json_t *entry, char *err, size_t errlen)
{
	if (audit_append(&c->audit, entry, err, errlen))
		return -1;
	pthread_mutex_lock(&c->state_lock);
	store_set_audit_head(&c->store, c->audit.lines, c->audit.head);
	int rc = store_save(&c->store, err, errlen);
	pthread_mutex_unlock(&c->state_lock);
	return rc;
}

void ctl_log(const char *fmt, ...)
{
	char when[40], line[2048];
	audit_now(when, sizeof when);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s sluice-control: %s\n", when, line);
}
