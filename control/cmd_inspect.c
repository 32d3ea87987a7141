/* sluicectl inspect [--json] FILE.eml...: each message's MIME structure, as the
 * engine's streaming parser sees it. With --json, one object per message per line:
 * {"file","subject","from","message_id","parts":[leaf parts],"signals":[...]}, the
 * fields Python's email package (policy=default) would report for the same message. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sluice/mime.h"
#include "sluice/strbuf.h"

struct entity {
	struct sl_part part;   /* copy; filename/disposition point into the strings below */
	char *filename, *disposition;
	bool has_child;
	bool ended;
};

struct inspect {
	struct entity *ents;
	size_t n, cap;
	size_t open[64];       /* entity index per depth while open */
	char *subject, *from, *message_id;
	char **signals;
	size_t nsignals;
};

static char *dup_or_null(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct inspect *in = ctx;
	const struct sl_part *p = ev->part;
	switch (ev->type) {
	case SL_EV_HEADER:
		/* the top-level message's own fields; the first of each, as msg['X'] */
		if (p && p->depth == 0 && p->message_root) {
			char **slot = NULL;
			if (strcasecmp(ev->name, "subject") == 0)
				slot = &in->subject;
			else if (strcasecmp(ev->name, "from") == 0)
				slot = &in->from;
			else if (strcasecmp(ev->name, "message-id") == 0)
				slot = &in->message_id;
			if (slot && !*slot)
				*slot = dup_or_null(ev->value ? ev->value : "");
		}
		break;
	case SL_EV_PART_BEGIN: {
		if (in->n == in->cap) {
			in->cap = in->cap ? in->cap * 2 : 16;
			in->ents = realloc(in->ents, in->cap * sizeof *in->ents);
			if (!in->ents)
				abort();
		}
		struct entity *e = &in->ents[in->n];
		memset(e, 0, sizeof *e);
		e->part = *p;
		if (p->depth < 64)
			in->open[p->depth] = in->n;
		if (p->depth > 0 && p->depth - 1 < 64)
			in->ents[in->open[p->depth - 1]].has_child = true;
		in->n++;
		break;
	}
	case SL_EV_PART_END: {
		if (p->depth >= 64)
			break;
		struct entity *e = &in->ents[in->open[p->depth]];
		e->part = *p;
		e->filename = dup_or_null(p->filename);
		e->disposition = dup_or_null(p->disposition);
		e->part.filename = e->filename;
		e->part.disposition = e->disposition;
		e->ended = true;
		break;
	}
	case SL_EV_SIGNAL:
		for (size_t i = 0; i < in->nsignals; i++)
			if (strcmp(in->signals[i], ev->name) == 0)
				return;
		in->signals = realloc(in->signals, (in->nsignals + 1) * sizeof *in->signals);
		if (!in->signals)
			abort();
		in->signals[in->nsignals++] = dup_or_null(ev->name);
		break;
	default:
		break;
	}
}

static void inspect_free(struct inspect *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->ents[i].filename);
		free(in->ents[i].disposition);
	}
	free(in->ents);
	for (size_t i = 0; i < in->nsignals; i++)
		free(in->signals[i]);
	free(in->signals);
	free(in->subject);
	free(in->from);
	free(in->message_id);
}

/* A leaf as Python's walk() sees one: not a container, or a multipart whose start
 * boundary never came (no children). */
static bool is_leaf(const struct entity *e)
{
	return e->part.kind == SL_PART_LEAF || (e->part.kind == SL_PART_MULTIPART && !e->has_child);
}

static void print_json(const char *file, const struct inspect *in)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_putc(&b, '{');
	sl_json_key(&b, "file", true);
	sl_json_str(&b, file);
	sl_json_key(&b, "subject", false);
	sl_json_str(&b, in->subject);
	sl_json_key(&b, "from", false);
	sl_json_str(&b, in->from);
	sl_json_key(&b, "message_id", false);
	sl_json_str(&b, in->message_id);
	sl_json_key(&b, "parts", false);
	sl_strbuf_putc(&b, '[');
	bool first = true;
	for (size_t i = 0; i < in->n; i++) {
		const struct entity *e = &in->ents[i];
		if (!is_leaf(e))
			continue;
		if (!first)
			sl_strbuf_putc(&b, ',');
		first = false;
		const struct sl_part *p = &e->part;
		sl_strbuf_putc(&b, '{');
		sl_json_key(&b, "path", true);
		sl_json_str(&b, p->path);
		sl_json_key(&b, "content_type", false);
		sl_json_str(&b, p->content_type);
		sl_json_key(&b, "charset", false);
		sl_json_str(&b, p->charset[0] ? p->charset : NULL);
		sl_json_key(&b, "filename", false);
		sl_json_str(&b, p->filename);
		sl_json_key(&b, "disposition", false);
		sl_json_str(&b, p->disposition);
		sl_json_key(&b, "encoding", false);
		sl_json_str(&b, sl_encoding_name(p->encoding));
		sl_json_key(&b, "decoded_bytes", false);
		sl_strbuf_printf(&b, "%llu", (unsigned long long)p->decoded_bytes);
		sl_json_key(&b, "sha256", false);
		sl_strbuf_putc(&b, '"');
		sl_strbuf_hex(&b, p->sha256, 32);
		sl_strbuf_putc(&b, '"');
		sl_strbuf_putc(&b, '}');
	}
	sl_strbuf_putc(&b, ']');
	sl_json_key(&b, "signals", false);
	sl_strbuf_putc(&b, '[');
	for (size_t i = 0; i < in->nsignals; i++) {
		if (i)
			sl_strbuf_putc(&b, ',');
		sl_json_str(&b, in->signals[i]);
	}
	sl_strbuf_puts(&b, "]}\n");
	fwrite(b.s, 1, b.len, stdout);
	sl_strbuf_free(&b);
}

static void print_text(const char *file, const struct inspect *in)
{
	printf("%s\n", file);
	printf("  Subject:    %s\n", in->subject ? in->subject : "(none)");
	printf("  From:       %s\n", in->from ? in->from : "(none)");
	printf("  Message-ID: %s\n", in->message_id ? in->message_id : "(none)");
	for (size_t i = 0; i < in->n; i++) {
		const struct entity *e = &in->ents[i];
		const struct sl_part *p = &e->part;
		printf("  %*s%-*s %s", (int)(2 * p->depth), "", 10, p->path[0] ? p->path : "-",
		       p->content_type);
		if (p->charset[0])
			printf("; charset=%s", p->charset);
		if (is_leaf(e)) {
			printf("  %s, %llu bytes", sl_encoding_name(p->encoding),
			       (unsigned long long)p->decoded_bytes);
			if (p->disposition)
				printf(", %s", p->disposition);
			if (p->filename)
				printf(", \"%s\"", p->filename);
			printf(", sha256 ");
			for (int k = 0; k < 8; k++)
				printf("%02x", p->sha256[k]);
			printf("...");
		}
		printf("\n");
	}
	if (in->nsignals) {
		printf("  signals:");
		for (size_t i = 0; i < in->nsignals; i++)
			printf(" %s", in->signals[i]);
		printf("\n");
	}
}

static int inspect_file(struct sl_mime *m, const char *path, bool json)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "sluicectl inspect: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct inspect in;
	memset(&in, 0, sizeof in);
	/* An offline tool: the caps that bound the dataplane's memory per session are
	 * raised so that long header lines and fields read as Python reads them. */
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_line = 1 << 20;
	lim.max_header_bytes = 1 << 26;
	lim.max_headers = SIZE_MAX;
	lim.max_filename = 1 << 16;
	lim.max_boundary = 1 << 12;
	m = sl_mime_new(&lim, on_event, &in);
	if (!m) {
		fclose(fp);
		fprintf(stderr, "sluicectl inspect: out of memory\n");
		return 1;
	}
	static uint8_t buf[64 * 1024];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
		sl_mime_feed(m, buf, n);
	int rc = 0;
	if (ferror(fp)) {
		fprintf(stderr, "sluicectl inspect: %s: read error: %s\n", path, strerror(errno));
		rc = 1;
	} else {
		sl_mime_finish(m);
		if (json)
			print_json(path, &in);
		else
			print_text(path, &in);
	}
	fclose(fp);
	sl_mime_free(m);
	inspect_free(&in);
	return rc;
}

int cmd_inspect(int argc, char **argv)
{
	bool json = false;
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--json") == 0) {
		json = true;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: sluicectl inspect [--json] FILE.eml...\n");
		return 2;
	}
	int rc = 0;
	for (int i = first; i < argc; i++) {
		if (inspect_file(NULL, argv[i], json))
			rc = 1;
		fflush(stdout);
	}
	return rc;
}
