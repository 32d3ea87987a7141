#include "event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink.h"

/* "192.0.2.1:25" / "[2001:db8::1]:25" as eve's ip and port fields. */
static void endpoint(struct sl_strbuf *b, const char *ip_key, const char *port_key, const char *text)
{
	const char *colon = strrchr(text, ':');
	const char *ip = text;
	size_t iplen = colon ? (size_t)(colon - text) : strlen(text);
	if (iplen >= 2 && ip[0] == '[' && ip[iplen - 1] == ']') {
		ip++;
		iplen -= 2;
	}
	sl_json_key(b, ip_key, false);
	sl_json_strn(b, ip, iplen);
	sl_json_key(b, port_key, false);
	sl_strbuf_puts(b, colon && colon[1] ? colon + 1 : "0");
}

void dp_event_json(struct sl_strbuf *b, const char *dataplane, const struct dp_event *e)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[48];
	size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof when - n, ".%06ld+0000", ts.tv_nsec / 1000);
	sl_strbuf_putc(b, '{');
	sl_json_key(b, "timestamp", true);
	sl_json_str(b, when);
	sl_json_key(b, "event_type", false);
	sl_json_str(b, "smtp");
	sl_json_key(b, "dataplane", false);
	sl_json_str(b, dataplane);
	endpoint(b, "src_ip", "src_port", e->client);
	endpoint(b, "dest_ip", "dest_port", e->server);
	sl_json_key(b, "proto", false);
	sl_json_str(b, "TCP");
	static const struct sl_envelope none;
	const struct sl_envelope *env = e->env ? e->env : &none;
	sl_json_key(b, "smtp", false);
	sl_strbuf_putc(b, '{');
	dp_envelope_fields_json(env, "rcpt_to", b);
	sl_strbuf_putc(b, '}');
	sl_json_key(b, "verdict", false);
	sl_verdict_json(e->verdict, b);
	sl_json_key(b, "scanned", false);
	sl_strbuf_puts(b, e->scanned ? "true" : "false");
	sl_json_key(b, "bundle", false);
	sl_strbuf_printf(b, "{\"id\":%llu,\"digest\":", (unsigned long long)e->bundle_id);
	sl_json_str(b, e->bundle_digest ? e->bundle_digest : "");
	sl_strbuf_puts(b, "}}\n");
}
