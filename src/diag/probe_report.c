/* The probe's output: the steps aligned (colour per report.h: a terminal
 * and no NO_COLOR), the verdict last; and the same as one JSON document.
 * See probe.h. */
#include "diag/probe_steps.h"
#include "diag/report.h"
#include "errors.h"

#include <arpa/inet.h>
#include "common/json.h"
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

		json_put_str(x, "step", l->s[i].name);
		json_put_str(x, "status", probe_status_name(l->s[i].status));
		json_put_ms(x, "ms", l->s[i].ms);
		json_put_str(x, "text", l->s[i].text);
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

		json_put_str(x, "address", r->addrs[i].text);
		json_put_str(x, "result", res[r->addrs[i].tcp]);
		json_put_ms(x, "ms", r->addrs[i].ms);
		json_put_i64(x, "syns", r->addrs[i].syns);
		json_put_bool(x, "used", (int)i == r->use_addr);
		json_object_array_add(a, x);
	}
	return a;
}

static struct json_object *json_hs(const struct probe_result *r, const struct probe_hs *hs)
{
	struct json_object *x = json_object_new_object(), *cas = json_object_new_array();
	const struct diag_facts *f = &hs->f;
	char b[64];

	json_put_bool(x, "ok", hs->ok);
	json_put_bool(x, "certificate_checked", hs->verify);
	json_put_ms(x, "ms", hs->tcp_ok ? hs->ms : -1);
	json_put_str(x, "peer", hs->peer);
	json_put_str(x, "version", f->saw_server_hello ? tlsp_version_str(f->sh.version, b, sizeof(b)) : "");
	json_put_str(x, "suite", f->saw_server_hello ? tlsp_suite_str(f->sh.suite, b, sizeof(b)) : "");
	json_put_bool(x, "null_encryption", f->saw_server_hello && tlsp_suite_is_null(f->sh.suite));
	json_put_str(x, "description", hs->desc);
	json_put_i64(x, "suites_offered", (int64_t)f->ch.n_suites);
	json_put_str(x, "messages", hs->msgs);
	json_put_str(x, "code", report_code_str(hs->code, b, sizeof(b)));
	json_put_str(x, "error", hs->ok ? "" : hs->why);
	json_put_bool(x, "client_certificate_requested", f->saw_cert_request);
	for (size_t i = 0; i < r->n_client_cas; i++)
		json_object_array_add(cas, json_object_new_string(r->client_cas[i]));
	for (size_t i = 0; !r->n_client_cas && i < f->cr.n_stored; i++)
		json_object_array_add(cas, json_object_new_string(f->cr.cas[i]));
	json_object_object_add(x, "client_ca_names", cas);
	json_put_str(x, "client_certificate_sent", f->client_cert < 0 ? "none" : f->client_cert ? "present" : "empty");
	return x;
}

static struct json_object *json_crl(const struct probe_crl *c)
{
	struct json_object *x = json_object_new_object();
	char b[32];

	json_put_str(x, "url", c->url);
	json_put_str(x, "code", report_code_str(c->code, b, sizeof(b)));
	json_put_str(x, "text", c->why);
	json_put_ms(x, "ms", c->url[0] ? c->ms : -1);
	return x;
}

static struct json_object *json_suites(const struct probe_result *r)
{
	static const char *const res[] = { "unknown", "accepted", "refused", "reset" };
	struct json_object *x = json_object_new_object();
	char b[64];

	json_put_str(x, "null", res[r->null_suites]);
	json_put_str(x, "null_suite", r->null_suites == PSU_ACCEPTED ?
	     tlsp_suite_str(r->null_chk.f.sh.suite, b, sizeof(b)) : "");
	json_put_str(x, "encrypted", res[r->enc_suites]);
	json_put_str(x, "encrypted_suite", r->enc_suites == PSU_ACCEPTED ?
	     tlsp_suite_str(r->enc_chk.f.sh.suite, b, sizeof(b)) : "");
	json_put_str(x, "left_out", r->left_out);
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

		json_put_str(y, "subject", c->subject);
		json_put_str(y, "issuer", c->issuer);
		json_put_str(y, "san", c->san);
		json_put_str(y, "not_before", json_iso_time(c->not_before, d, sizeof(d)));
		json_put_str(y, "not_after", json_iso_time(c->not_after, d, sizeof(d)));
		json_put_i64(y, "days_left", ch->days_left[i]);
		json_put_str(y, "key_type", c->key_type);
		json_put_i64(y, "key_bits", c->key_bits);
		json_put_bool(y, "self_signed", c->self_signed);
		json_object_array_add(certs, y);
	}
	json_object_object_add(x, "certificates", certs);
	json_put_bool(x, "trusted", ch->trusted);
	json_put_str(x, "trust_store", o->ca_file ? o->ca_file : "system");
	json_put_str(x, "verify_error", ch->trusted || !ch->seen ? "" : ch->verify_text);
	for (size_t i = 0; i < ch->n_built; i++)
		json_object_array_add(path, json_object_new_string(ch->built[i]));
	json_object_object_add(x, "path", path);
	json_put_bool(x, "name_match", ch->name_ok);
	json_put_str(x, "expect_issuer", o->expect_issuer ? o->expect_issuer : "");
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
	json_put_i64(x, "status", h->status);
	json_put_str(x, "reason", h->reason);
	json_put_str(x, "server", h->server);
	json_put_str(x, "location", h->location);
	json_put_str(x, "content_type", h->content_type);
	json_put_str(x, "looks_like", h->looks);
	json_put_bool(x, "ip_https", h->answered && h->status / 100 == 2 && h->looks_iphttps);
	json_put_ms(x, "ms", h->ms);
	json_put_str(x, "error", h->code ? h->why : "");
	json_put_bool(x, "certificate_checked", !r->continued);
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
	json_put_bool(x, "rs_sent", k->rs_sent);
	json_put_str(x, "rs_source", PROBE_RS_SOURCE);
	json_put_bool(x, "router_advertisement", k->ra);
	json_put_ms(x, "ms", k->ms);
	json_put_i64(x, "packets", (int64_t)k->packets);
	json_put_str(x, "error", k->ra ? "" : k->why);
	if (!k->ra)
		return x;
	json_put_str(x, "source", k->ra_src);
	inet_ntop(AF_INET6, &ra->prefix, a, sizeof(a));
	json_put_str(x, "prefix", ra->has_prefix ? a : "");
	json_put_i64(x, "prefix_len", ra->has_prefix ? ra->prefix_len : 0);
	json_put_i64(x, "valid_lifetime", ra->valid_lifetime);
	json_put_i64(x, "preferred_lifetime", ra->preferred_lifetime);
	json_put_i64(x, "router_lifetime", ra->router_lifetime);
	json_put_i64(x, "mtu", ra->mtu);
	json_put_i64(x, "hop_limit", ra->cur_hop_limit);
	routes = json_object_new_array();
	for (size_t i = 0; i < ra->n_routes; i++) {
		struct json_object *y = json_object_new_object();
		char p[INET6_ADDRSTRLEN + 8];

		inet_ntop(AF_INET6, &ra->routes[i].prefix, a, sizeof(a));
		snprintf(p, sizeof(p), "%s/%u", a, ra->routes[i].plen);
		json_put_str(y, "prefix", p);
		json_put_i64(y, "lifetime", ra->routes[i].lifetime);
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
	json_put_str(doc, "url", o->url);
	json_put_str(doc, "host", r->url.host);
	json_put_str(doc, "port", r->url.port);
	json_put_str(doc, "path", r->url.path);
	json_put_str(doc, "profile", probe_profile_name(o->profile));
	json_put_str(doc, "proxy", o->proxy ? o->proxy->host : "");
	json_put_str(doc, "time", json_iso_time(r->when, b, sizeof(b)));
	json_object_object_add(doc, "steps", json_steps(o, r));
	res = json_object_new_object();
	json_put_bool(res, "resolved", r->resolved);
	json_put_str(res, "error", r->resolve_why);
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
