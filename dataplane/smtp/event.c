#include "smtp/event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "output/sink.h"

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

/* {"timestamp":..,"event_type":..,"dataplane":..,"src_ip":..,"src_port":..,
 * ["dest_ip":..,"dest_port":..,]"proto":"TCP" (open: the caller adds its object). */
static void head(struct sl_strbuf *b, const char *type, const char *dataplane,
                 const char *client, const char *server)
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
	sl_json_str(b, type);
	sl_json_key(b, "dataplane", false);
	sl_json_str(b, dataplane);
	endpoint(b, "src_ip", "src_port", client);
	if (server)
		endpoint(b, "dest_ip", "dest_port", server);
	sl_json_key(b, "proto", false);
	sl_json_str(b, "TCP");
}

void dp_protect_event_json(struct sl_strbuf *b, const char *dataplane,
                           const struct dp_protect_event *e)
{
	head(b, "smtp_protect", dataplane, e->client, e->server);
	sl_json_key(b, "protect", false);
	sl_strbuf_putc(b, '{');
	sl_json_key(b, "reason", true);
	sl_json_str(b, e->reason);
	sl_json_key(b, "action", false);
	sl_json_str(b, e->action);
	if (e->limit) {
		sl_json_key(b, "count", false);
		sl_strbuf_printf(b, "%llu", (unsigned long long)e->count);
		sl_json_key(b, "limit", false);
		sl_strbuf_printf(b, "%llu", (unsigned long long)e->limit);
	}
	if (e->ban_seconds) {
		sl_json_key(b, "ban_seconds", false);
		sl_strbuf_printf(b, "%llu", (unsigned long long)e->ban_seconds);
	}
	if (e->reply) {
		size_t n = strlen(e->reply);
		while (n && (e->reply[n - 1] == '\n' || e->reply[n - 1] == '\r'))
			n--;
		sl_json_key(b, "reply", false);
		sl_json_strn(b, e->reply, n);
	}
	sl_strbuf_puts(b, "}}\n");
}

void dp_event_json(struct sl_strbuf *b, const char *dataplane, const struct dp_event *e)
{
	head(b, "smtp", dataplane, e->client, e->server);
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
