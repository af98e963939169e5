/* The probe's output: the steps aligned (colour per report.h: a terminal
 * and no NO_COLOR), the verdict last; and the same as one JSON document.
 * See probe.h. */
#include "diag/probe_steps.h"
#include "diag/report.h"
#include "errors.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define NAME_W 9
#define TIME_W 10
#define TEXT_COL (2 + NAME_W + 1 + 4 + 1 + TIME_W + 2)

static const char *const profile_words[] = {
	[PROBE_WINDOWS10] = "Windows 8/10/11: TLS 1.2, the null suites alone first, then the encrypted ones",
	[PROBE_WINDOWS7] = "a stock Windows 7: TLS 1.0, encrypted suites, revocation checked",
	[PROBE_WINDOWS7_TLS12] = "Windows 7 with TLS 1.2 enabled: encrypted suites, revocation checked",
	[PROBE_LINUX] = "iphttps client's own TLS settings",
};

/* ---- human ---- */

/* Print text from column col (the cursor is there), wrapped at the style's
 * width with continuation lines at col, in colour c. */
static void wrap(FILE *f, const struct report_style *s, int col, enum report_color c, const char *text)
{
	report_wrap(f, s, col, 30, c, text);
}

/* The colour of a step's status. */
static enum report_color status_color(enum pstep_status st)
{
	switch (st) {
	case PS_OK: return RC_GREEN;
	case PS_WARN: return RC_YELLOW;
	case PS_FAIL: return RC_RED;
	default: return RC_DIM;
	}
}

/* "12.3 ms", "5.00 s" or "" into buf. */
static const char *ms_text(double ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "%s", "");
	else if (ms < 1000)
		snprintf(buf, len, "%.1f ms", ms);
	else
		snprintf(buf, len, "%.2f s", ms / 1000);
	return buf;
}

/* One step: name, status, time, text, then its detail lines. */
static void print_step(FILE *f, const struct report_style *s, const struct pstep *p)
{
	char t[24];

	fprintf(f, "  %s%-*s%s %s%-4s%s %*s  ", report_color(s, RC_BOLD), NAME_W, p->name,
		report_color(s, RC_RESET), report_color(s, status_color(p->status)),
		probe_status_name(p->status), report_color(s, RC_RESET), TIME_W, ms_text(p->ms, t, sizeof(t)));
	wrap(f, s, TEXT_COL, RC_RESET, p->text);
	for (size_t i = 0; i < p->n_lines; i++) {
		fprintf(f, "%*s", TEXT_COL, "");
		wrap(f, s, TEXT_COL, RC_DIM, p->lines[i]);
	}
}

void probe_print(FILE *f, const struct probe_opts *o, const struct probe_result *r)
{
	struct report_style s;
	struct psteps *l = malloc(sizeof(*l));

	report_style_init(&s, f);
	fprintf(f, "%sprobe %s%s  profile %s (%s)%s%s\n\n", report_color(&s, RC_BOLD), o->url,
		report_color(&s, RC_RESET), probe_profile_name(o->profile), profile_words[o->profile],
		o->proxy ? ", through the proxy " : "", o->proxy ? o->proxy->host : "");
	if (l) {
		probe_steps(o, r, l);
		for (size_t i = 0; i < l->n; i++)
			print_step(f, &s, &l->s[i]);
		free(l);
	}
	fputc('\n', f);
	report_verdict(f, &s, 2, &r->v);
}

/* ---- JSON ---- */

/* Add a string (jstr), an integer (jint), a boolean (jbool) or a time in
 * milliseconds, null when < 0 (jms), to o under k. */
static void jstr(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void jbool(struct json_object *o, const char *k, int v)
{
	json_object_object_add(o, k, json_object_new_boolean(v != 0));
}

static void jms(struct json_object *o, const char *k, double ms)
{
	json_object_object_add(o, k, ms < 0 ? NULL : json_object_new_double((double)(int64_t)(ms * 1000) / 1000));
}

/* "2026-01-31T00:00:00Z" of t into buf. */
static const char *iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* The sections of the document, each a new object (or array) owned by the
 * caller, or NULL when the step did not run. */
static struct json_object *json_steps(const struct probe_opts *o, const struct probe_result *r)
{
	struct json_object *a = json_object_new_array();
	struct psteps *l = malloc(sizeof(*l));

	if (!l)
		return a;
	probe_steps(o, r, l);
	for (size_t i = 0; i < l->n; i++) {
		struct json_object *x = json_object_new_object(), *d = json_object_new_array();

		jstr(x, "step", l->s[i].name);
		jstr(x, "status", probe_status_name(l->s[i].status));
		jms(x, "ms", l->s[i].ms);
		jstr(x, "text", l->s[i].text);
		for (size_t j = 0; j < l->s[i].n_lines; j++)
			json_object_array_add(d, json_object_new_string(l->s[i].lines[j]));
		json_object_object_add(x, "details", d);
		json_object_array_add(a, x);
	}
	free(l);
	return a;
}

static struct json_object *json_tcp(const struct probe_result *r)
{
	static const char *const res[] = { "not tried", "accepted", "refused", "timeout", "unreachable", "error" };
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->n_addrs; i++) {
		struct json_object *x = json_object_new_object();

		jstr(x, "address", r->addrs[i].text);
		jstr(x, "result", res[r->addrs[i].tcp]);
		jms(x, "ms", r->addrs[i].ms);
		jint(x, "syns", r->addrs[i].syns);
		jbool(x, "used", (int)i == r->use_addr);
		json_object_array_add(a, x);
	}
	return a;
}

static struct json_object *json_hs(const struct probe_result *r, const struct probe_hs *hs)
{
	struct json_object *x = json_object_new_object(), *cas = json_object_new_array();
	const struct diag_facts *f = &hs->f;
	char b[64];

	jbool(x, "ok", hs->ok);
	jbool(x, "certificate_checked", hs->verify);
	jms(x, "ms", hs->tcp_ok ? hs->ms : -1);
	jstr(x, "peer", hs->peer);
	jstr(x, "version", f->saw_server_hello ? tlsp_version_str(f->sh.version, b, sizeof(b)) : "");
	jstr(x, "suite", f->saw_server_hello ? tlsp_suite_str(f->sh.suite, b, sizeof(b)) : "");
	jbool(x, "null_encryption", f->saw_server_hello && tlsp_suite_is_null(f->sh.suite));
	jstr(x, "description", hs->desc);
	jint(x, "suites_offered", (int64_t)f->ch.n_suites);
	jstr(x, "messages", hs->msgs);
	jstr(x, "code", report_code_str(hs->code, b, sizeof(b)));
	jstr(x, "error", hs->ok ? "" : hs->why);
	jbool(x, "client_certificate_requested", f->saw_cert_request);
	for (size_t i = 0; i < r->n_client_cas; i++)
		json_object_array_add(cas, json_object_new_string(r->client_cas[i]));
	for (size_t i = 0; !r->n_client_cas && i < f->cr.n_stored; i++)
		json_object_array_add(cas, json_object_new_string(f->cr.cas[i]));
	json_object_object_add(x, "client_ca_names", cas);
	jstr(x, "client_certificate_sent", f->client_cert < 0 ? "none" : f->client_cert ? "present" : "empty");
	return x;
}

static struct json_object *json_crl(const struct probe_crl *c)
{
	struct json_object *x = json_object_new_object();
	char b[32];

	jstr(x, "url", c->url);
	jstr(x, "code", report_code_str(c->code, b, sizeof(b)));
	jstr(x, "text", c->why);
	jms(x, "ms", c->url[0] ? c->ms : -1);
	return x;
}

static struct json_object *json_suites(const struct probe_result *r)
{
	static const char *const res[] = { "unknown", "accepted", "refused", "reset" };
	struct json_object *x = json_object_new_object();
	char b[64];

	jstr(x, "null", res[r->null_suites]);
	jstr(x, "null_suite", r->null_suites == PSU_ACCEPTED ?
	     tlsp_suite_str(r->null_chk.f.sh.suite, b, sizeof(b)) : "");
	jstr(x, "encrypted", res[r->enc_suites]);
	jstr(x, "encrypted_suite", r->enc_suites == PSU_ACCEPTED ?
	     tlsp_suite_str(r->enc_chk.f.sh.suite, b, sizeof(b)) : "");
	jstr(x, "left_out", r->left_out);
	return x;
}

static struct json_object *json_chain(const struct probe_opts *o, const struct probe_result *r)
{
	const struct probe_chain *ch = &r->chain;
	struct json_object *x = json_object_new_object(), *certs = json_object_new_array(),
			   *path = json_object_new_array();
	char d[32];

	for (size_t i = 0; i < ch->n && i < PROBE_MAX_CHAIN; i++) {
		const struct tlsp_cert_info *c = &ch->certs[i];
		struct json_object *y = json_object_new_object();

		jstr(y, "subject", c->subject);
		jstr(y, "issuer", c->issuer);
		jstr(y, "san", c->san);
		jstr(y, "not_before", iso(c->not_before, d, sizeof(d)));
		jstr(y, "not_after", iso(c->not_after, d, sizeof(d)));
		jint(y, "days_left", ch->days_left[i]);
		jstr(y, "key_type", c->key_type);
		jint(y, "key_bits", c->key_bits);
		jbool(y, "self_signed", c->self_signed);
		json_object_array_add(certs, y);
	}
	json_object_object_add(x, "certificates", certs);
	jbool(x, "trusted", ch->trusted);
	jstr(x, "trust_store", o->ca_file ? o->ca_file : "system");
	jstr(x, "verify_error", ch->trusted || !ch->seen ? "" : ch->verify_text);
	for (size_t i = 0; i < ch->n_built; i++)
		json_object_array_add(path, json_object_new_string(ch->built[i]));
	json_object_object_add(x, "path", path);
	jbool(x, "name_match", ch->name_ok);
	jstr(x, "expect_issuer", o->expect_issuer ? o->expect_issuer : "");
	json_object_object_add(x, "issuer_match", ch->issuer_checked ? json_object_new_boolean(ch->issuer_ok) : NULL);
	json_object_object_add(x, "inside_match", ch->inside_checked ? json_object_new_boolean(ch->inside_ok) : NULL);
	return x;
}

static struct json_object *json_http(const struct probe_result *r)
{
	const struct probe_http *h = &r->http;
	struct json_object *x;

	if (!h->tried)
		return NULL;
	x = json_object_new_object();
	jint(x, "status", h->status);
	jstr(x, "reason", h->reason);
	jstr(x, "server", h->server);
	jstr(x, "location", h->location);
	jstr(x, "content_type", h->content_type);
	jstr(x, "looks_like", h->looks);
	jbool(x, "ip_https", h->answered && h->status / 100 == 2 && h->looks_iphttps);
	jms(x, "ms", h->ms);
	jstr(x, "error", h->code ? h->why : "");
	jbool(x, "certificate_checked", !r->continued);
	return x;
}

static struct json_object *json_link(const struct probe_result *r)
{
	const struct probe_link *k = &r->link;
	const struct ra_info *ra = &k->info;
	struct json_object *x, *routes, *dns;
	char a[INET6_ADDRSTRLEN];

	if (!k->tried)
		return NULL;
	x = json_object_new_object();
	jbool(x, "rs_sent", k->rs_sent);
	jstr(x, "rs_source", PROBE_RS_SOURCE);
	jbool(x, "router_advertisement", k->ra);
	jms(x, "ms", k->ms);
	jint(x, "packets", (int64_t)k->packets);
	jstr(x, "error", k->ra ? "" : k->why);
	if (!k->ra)
		return x;
	jstr(x, "source", k->ra_src);
	inet_ntop(AF_INET6, &ra->prefix, a, sizeof(a));
	jstr(x, "prefix", ra->has_prefix ? a : "");
	jint(x, "prefix_len", ra->has_prefix ? ra->prefix_len : 0);
	jint(x, "valid_lifetime", ra->valid_lifetime);
	jint(x, "preferred_lifetime", ra->preferred_lifetime);
	jint(x, "router_lifetime", ra->router_lifetime);
	jint(x, "mtu", ra->mtu);
	jint(x, "hop_limit", ra->cur_hop_limit);
	routes = json_object_new_array();
	for (size_t i = 0; i < ra->n_routes; i++) {
		struct json_object *y = json_object_new_object();
		char p[INET6_ADDRSTRLEN + 8];

		inet_ntop(AF_INET6, &ra->routes[i].prefix, a, sizeof(a));
		snprintf(p, sizeof(p), "%s/%u", a, ra->routes[i].plen);
		jstr(y, "prefix", p);
		jint(y, "lifetime", ra->routes[i].lifetime);
		json_object_array_add(routes, y);
	}
	json_object_object_add(x, "routes", routes);
	dns = json_object_new_array();
	for (size_t i = 0; i < ra->n_dns; i++)
		json_object_array_add(dns, json_object_new_string(inet_ntop(AF_INET6, &ra->dns[i], a, sizeof(a))));
	json_object_object_add(x, "dns", dns);
	return x;
}

struct json_object *probe_json(const struct probe_opts *o, const struct probe_result *r)
{
	struct json_object *doc = json_object_new_object(), *res;
	char b[32];

	if (!doc)
		return NULL;
	jstr(doc, "url", o->url);
	jstr(doc, "host", r->url.host);
	jstr(doc, "port", r->url.port);
	jstr(doc, "path", r->url.path);
	jstr(doc, "profile", probe_profile_name(o->profile));
	jstr(doc, "proxy", o->proxy ? o->proxy->host : "");
	jstr(doc, "time", iso(r->when, b, sizeof(b)));
	json_object_object_add(doc, "steps", json_steps(o, r));
	res = json_object_new_object();
	jbool(res, "resolved", r->resolved);
	jstr(res, "error", r->resolve_why);
	json_object_object_add(doc, "resolve", res);
	json_object_object_add(doc, "tcp", json_tcp(r));
	json_object_object_add(doc, "tls", r->main.tried && r->main.tcp_ok ? json_hs(r, &r->main) : NULL);
	json_object_object_add(doc, "tls_first", r->retried != PR_NONE && r->first.tcp_ok ?
			       json_hs(r, &r->first) : NULL);
	json_object_object_add(doc, "revocation", r->crl.checked ? json_crl(&r->crl) : NULL);
	json_object_object_add(doc, "suites", r->null_chk.tried ? json_suites(r) : NULL);
	json_object_object_add(doc, "chain", r->chain.seen ? json_chain(o, r) : NULL);
	json_object_object_add(doc, "http", json_http(r));
	json_object_object_add(doc, "link", json_link(r));
	json_object_object_add(doc, "verdict", report_verdict_json(&r->v));
	return doc;
}
