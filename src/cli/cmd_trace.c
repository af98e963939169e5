/* iphttps trace [--port N] [--json] [--all] FILE: troubleshoot IP-HTTPS from
 * a pcap/pcapng capture.  One block per connection (steps, then the
 * verdict), or a JSON document.  Exit 0 when every connection judged would
 * have connected, 1 when one failed (or none could be shown to work), 2 on
 * usage errors and files that are no capture or hold no connection to the
 * port.  The analysis is in src/diag/trace.c. */
#include "cli/commands.h"
#include "diag/report.h"
#include "diag/trace.h"
#include "errors.h"

#include <arpa/inet.h>
#include <getopt.h>
#include "common/json.h"
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOW_ALL_UP_TO 20       /* more connections: one example per verdict */

struct trace_opts {
	uint16_t port;
	int json, all;
	const char *file;
};

/* Prints the usage text to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: iphttps trace [--port N] [--json] [--all] FILE\n"
		"\n"
		"Reads a pcap or pcapng capture, finds every TCP connection to the IP-HTTPS\n"
		"port, follows its TLS handshake (and, with a null cipher suite, the HTTP\n"
		"exchange and the IPv6 packets inside) and says for each one where it ended,\n"
		"the Windows error code a client would report, the cause and the fix.\n"
		"\n"
		"  --port N   the server port (default 443)\n"
		"  --json     one JSON document with every connection\n"
		"  --all      show every connection (by default, beyond %d connections,\n"
		"             one example of each verdict and a count of the rest)\n"
		"\n"
		"Exit status: 0 every connection judged would have connected; 1 at least one\n"
		"failed, or none was seen to work; 2 usage error, unreadable file, not a\n"
		"capture, or no connection to the port in it.\n", SHOW_ALL_UP_TO);
}

const struct option trace_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "all", no_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse the command line into o (options anywhere among the operands).
 * Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct trace_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->port = 443;
	optind = 0;
	while ((c = getopt_long(argc, argv, "p:jah", trace_options, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 1 || v > 65535) {
				fprintf(stderr, "iphttps trace: --port: '%s' is not a port (1-65535)\n", optarg);
				return 2;
			}
			o->port = (uint16_t)v;
			break;
		case 'j': o->json = 1; break;
		case 'a': o->all = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "iphttps trace: %s\n", argc - optind ? "give one capture file" : "no capture file given");
		usage(stderr);
		return 2;
	}
	o->file = argv[optind];
	return -1;
}

/* Takes a time; writes "2025-01-31 12:00:00.123 UTC". */
static const char *time_str(const struct timeval *tv, char *buf, size_t len)
{
	struct tm tm;
	time_t t = tv->tv_sec;
	char s[24];

	if (!gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s.%03u UTC", s, (unsigned)((tv->tv_usec / 1000) % 1000));
	return buf;
}

/* ---- human output ---- */

static void print_conn(FILE *f, const struct report_style *s, const struct trace_conn *tc)
{
	char when[64];

	fprintf(f, "%s#%u  %s -> %s%s   %s%s, %.3f s%s\n", report_color(s, RC_BOLD), tc->id, tc->client,
		tc->server, report_color(s, RC_RESET), report_color(s, RC_DIM),
		time_str(&tc->start, when, sizeof(when)), tc->duration, report_color(s, RC_RESET));
	for (size_t i = 0; i < tc->n_steps; i++) {
		const struct trace_step *st = &tc->steps[i];

		fprintf(f, "  %s%+9.3f%s  %s%s%s  %s\n", report_color(s, RC_DIM), st->t, report_color(s, RC_RESET),
			report_color(s, RC_CYAN), st->dir == CAP_C2S ? "C->S" : "S->C", report_color(s, RC_RESET),
			st->text);
	}
	if (tc->steps_dropped)
		fprintf(f, "  %9s  ....  %u more steps not shown\n", "", tc->steps_dropped);
	{
		struct diag_verdict v;
		trace_verdict_full(tc, &v);
		report_verdict(f, s, 2, &v);
	}
	fputc('\n', f);
}

/* A kind of verdict (result, code and summary), its count and first example. */
struct kind {
	enum diag_result result;
	uint32_t code;
	unsigned n;
	const struct trace_conn *example;
};
#define MAX_KINDS 64

/* Takes the trace; fills k with the kinds of verdict in order of first
 * appearance (those beyond MAX_KINDS are folded into the last).  Returns
 * how many. */
static size_t kinds(const struct trace *t, struct kind *k)
{
	size_t n = 0;

	for (const struct trace_conn *tc = t->first; tc; tc = tc->next) {
		size_t i;

		for (i = 0; i < n; i++)
			if (k[i].result == tc->v.result && k[i].code == tc->v.code &&
			    strcmp(k[i].example->v.summary, tc->v.summary) == 0)
				break;
		if (i == n && n < MAX_KINDS) {
			k[n].result = tc->v.result;
			k[n].code = tc->v.code;
			k[n].n = 0;
			k[n].example = tc;
			n++;
		} else if (i == n) {
			i = n - 1;
		}
		k[i].n++;
	}
	return n;
}

/* One line per kind of verdict with its count and the first example. */
static void print_summary(FILE *f, const struct report_style *s, const struct trace *t,
			  const struct kind *k, size_t nk)
{
	char code[16];

	fprintf(f, "%sSummary%s: %zu connection%s: %u OK, %u failed, %u unknown", report_color(s, RC_BOLD),
		report_color(s, RC_RESET), t->n_conns, t->n_conns == 1 ? "" : "s", t->n_ok, t->n_fail,
		t->n_unknown);
	if (t->conns_skipped)
		fprintf(f, " (%llu more not analysed)", (unsigned long long)t->conns_skipped);
	fprintf(f, "\n");
	if (t->n_conns < 2)
		return;
	for (size_t i = 0; i < nk; i++)
		fprintf(f, "  %7u  %-7s %-11s %s (e.g. #%u)\n", k[i].n, diag_result_name(k[i].result),
			report_code_str(k[i].code, code, sizeof(code)), k[i].example->v.summary,
			k[i].example->id);
}

/* Takes a connection; returns 1 when it is the first example of its kind. */
static int is_example(const struct trace_conn *tc, const struct kind *k, size_t nk)
{
	for (size_t i = 0; i < nk; i++)
		if (k[i].example == tc)
			return 1;
	return 0;
}

/* The human form: every connection (or one example of each verdict when
 * there are many), then the summary. */
static void print_human(const struct trace_opts *o, const struct trace *t)
{
	struct report_style s;
	struct kind k[MAX_KINDS];
	size_t hidden = 0, nk = kinds(t, k);
	int all = o->all || t->n_conns <= SHOW_ALL_UP_TO;

	report_style_init(&s, stdout);
	printf("%s: %llu packets, %zu connection%s to port %u\n\n", o->file,
	       (unsigned long long)t->stats.packets, t->n_conns, t->n_conns == 1 ? "" : "s", o->port);
	for (const struct trace_conn *tc = t->first; tc; tc = tc->next) {
		if (!all && !is_example(tc, k, nk)) {
			hidden++;
			continue;
		}
		print_conn(stdout, &s, tc);
	}
	if (hidden)
		printf("%zu more connections with the verdicts shown above (--all shows every one).\n\n", hidden);
	print_summary(stdout, &s, t, k, nk);
}

/* A certificate summary as a new JSON object. */
static struct json_object *json_cert(const struct tlsp_cert_info *c)
{
	struct json_object *o = json_object_new_object();
	char d[32];

	json_put_str(o, "subject", c->subject);
	json_put_str(o, "issuer", c->issuer);
	json_put_str(o, "san", c->san);
	json_put_str(o, "not_before", json_iso_time(c->not_before, d, sizeof(d)));
	json_put_str(o, "not_after", json_iso_time(c->not_after, d, sizeof(d)));
	json_put_str(o, "key_type", c->key_type);
	json_put_i64(o, "key_bits", c->key_bits);
	json_put_bool(o, "self_signed", c->self_signed);
	return o;
}

/* What the TLS handshake showed, as a new JSON object. */
static struct json_object *json_tls(const struct diag_facts *f)
{
	struct json_object *o = json_object_new_object(), *x, *a;
	char b[64];

	if (f->saw_client_hello) {
		x = json_object_new_object();
		a = json_object_new_array();
		json_put_str(x, "version", tlsp_version_str(f->ch.max_version, b, sizeof(b)));
		json_put_i64(x, "n_suites", (int64_t)f->ch.n_suites);
		for (size_t i = 0; i < f->ch.n_stored; i++)
			json_object_array_add(a, json_object_new_string(tlsp_suite_str(f->ch.suites[i], b, sizeof(b))));
		json_object_object_add(x, "suites", a);
		json_put_str(x, "sni", f->ch.has_sni ? f->ch.sni : "");
		json_object_object_add(o, "client_hello", x);
	}
	if (f->saw_server_hello) {
		x = json_object_new_object();
		json_put_str(x, "version", tlsp_version_str(f->sh.version, b, sizeof(b)));
		json_put_str(x, "suite", tlsp_suite_str(f->sh.suite, b, sizeof(b)));
		json_put_bool(x, "null_encryption", f->sh.version < TLSP_V_TLS13 && tlsp_suite_is_null(f->sh.suite));
		json_object_object_add(o, "server_hello", x);
	}
	if (f->leaf_ok)
		json_object_object_add(o, "server_certificate", json_cert(&f->leaf));
	if (f->saw_cert_request) {
		a = json_object_new_array();
		for (size_t i = 0; i < f->cr.n_stored; i++)
			json_object_array_add(a, json_object_new_string(f->cr.cas[i]));
		json_object_object_add(o, "certificate_request_cas", a);
	}
	json_put_str(o, "client_certificate", f->client_cert < 0 ? "none" : f->client_cert ? "present" : "empty");
	json_put_bool(o, "handshake_done", f->handshake_done);
	json_put_bool(o, "plain_http", f->plain_http);
	return o;
}

/* One connection (steps, TLS, HTTP, IPv6, verdict) as a new JSON object. */
static struct json_object *json_conn(const struct trace_conn *tc)
{
	struct json_object *o = json_object_new_object(), *steps = json_object_new_array(), *x;
	const struct diag_facts *f = tc->f;     /* kept: TRACE_KEEP_FACTS */
	struct diag_verdict v;
	char when[64];

	json_put_i64(o, "id", tc->id);
	json_put_str(o, "client", tc->client);
	json_put_str(o, "server", tc->server);
	json_put_str(o, "start", time_str(&tc->start, when, sizeof(when)));
	json_object_object_add(o, "start_epoch", json_object_new_double(tc->start.tv_sec + tc->start.tv_usec / 1e6));
	json_object_object_add(o, "duration", json_object_new_double(tc->duration));
	for (size_t i = 0; i < tc->n_steps; i++) {
		x = json_object_new_object();
		json_object_object_add(x, "t", json_object_new_double(tc->steps[i].t));
		json_put_str(x, "dir", tc->steps[i].dir == CAP_C2S ? "C->S" : "S->C");
		json_put_str(x, "text", tc->steps[i].text);
		json_object_array_add(steps, x);
	}
	json_object_object_add(o, "steps", steps);
	json_put_i64(o, "steps_dropped", tc->steps_dropped);
	json_object_object_add(o, "tls", json_tls(f));
	if (f->saw_request || f->saw_response) {
		x = json_object_new_object();
		json_put_str(x, "method", f->method);
		json_put_str(x, "path", f->path);
		json_put_str(x, "host", f->host);
		json_put_i64(x, "status", f->status);
		json_put_str(x, "reason", f->reason);
		json_put_str(x, "server", f->http_server);
		json_object_object_add(o, "http", x);
	}
	if (f->v6_packets[0] || f->v6_packets[1]) {
		x = json_object_new_object();
		json_put_i64(x, "packets_c2s", (int64_t)f->v6_packets[0]);
		json_put_i64(x, "packets_s2c", (int64_t)f->v6_packets[1]);
		json_put_bool(x, "rs", f->saw_rs);
		json_put_bool(x, "ra", f->saw_ra);
		json_put_str(x, "prefix", f->ra_has_prefix ? f->ra_prefix : "");
		json_put_i64(x, "mtu", f->ra_mtu);
		json_object_object_add(o, "ipv6", x);
	}
	trace_verdict_full(tc, &v);
	json_object_object_add(o, "verdict", report_verdict_json(&v));
	return o;
}

/* Prints "  "key": VALUE" and frees value; a comma unless last. */
static void jprint(const char *key, struct json_object *value, int last)
{
	struct json_object *k = json_object_new_string(key);

	printf("  %s: %s%s\n", json_object_to_json_string(k),
	       json_object_to_json_string_ext(value, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
	       last ? "" : ",");
	json_object_put(k);
	json_object_put(value);
}

/* The document is written one connection at a time (a capture of thousands
 * of connections would otherwise be built in memory twice). */
static void print_json(const struct trace_opts *o, const struct trace *t)
{
	struct json_object *sum = json_object_new_object();

	printf("{\n");
	jprint("file", json_object_new_string(o->file), 0);
	jprint("port", json_object_new_int(o->port), 0);
	jprint("packets", json_object_new_int64((int64_t)t->stats.packets), 0);
	jprint("link", json_object_new_string(t->stats.linkname ? t->stats.linkname : ""), 0);
	jprint("truncated", json_object_new_boolean(t->truncated), 0);
	jprint("error", json_object_new_string(t->error), 0);
	printf("  \"connections\": [\n");
	for (const struct trace_conn *tc = t->first; tc; tc = tc->next) {
		struct json_object *c = json_conn(tc);

		printf("%s%s\n", json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
		       tc->next ? "," : "");
		json_object_put(c);
	}
	printf("  ],\n");
	json_put_i64(sum, "connections", (int64_t)t->n_conns);
	json_put_i64(sum, "ok", t->n_ok);
	json_put_i64(sum, "failed", t->n_fail);
	json_put_i64(sum, "unknown", t->n_unknown);
	json_put_i64(sum, "not_analysed", (int64_t)t->conns_skipped);
	jprint("summary", sum, 1);
	printf("}\n");
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o;
	struct trace t;
	char err[ERRLEN];
	int rc = parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (trace_file(o.file, o.port, o.json ? TRACE_KEEP_FACTS : 0, &t, err) < 0) {
		fprintf(stderr, "iphttps trace: %s: not a readable pcap or pcapng capture: %s\n", o.file, err);
		return 2;
	}
	if (t.truncated)
		fprintf(stderr, "iphttps trace: %s is truncated or damaged after %llu packets (%s); what was read is shown\n",
			o.file, (unsigned long long)t.stats.packets, t.error);
	if (t.n_conns == 0) {
		fprintf(stderr, "iphttps trace: no TLS connection to port %u in %s (%llu packets read)\n",
			o.port, o.file, (unsigned long long)t.stats.packets);
		trace_free(&t);
		return 2;
	}
	if (o.json)
		print_json(&o, &t);
	else
		print_human(&o, &t);
	rc = t.n_fail || !t.n_ok ? 1 : 0;
	trace_free(&t);
	fflush(stdout);
	return rc;
}
