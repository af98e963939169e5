/* The probe's steps as a person reads them: one step per line with its
 * status and time, details under it, shared by the human output and the
 * "steps" of the JSON (probe_report.c).  See probe_steps.h. */
#include "diag/probe_steps.h"
#include "errors.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void probe_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

void probe_quote(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		uint8_t b = p[i];

		if (b == '\r' || b == '\n') {
			out[o++] = '\\';
			out[o++] = b == '\r' ? 'r' : 'n';
		} else if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
			out[o++] = (char)b;
		} else {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", b);
		}
	}
	out[o] = '\0';
}

const char *probe_status_name(enum pstep_status s)
{
	static const char *const n[] = { [PS_OK] = "ok", [PS_WARN] = "warn", [PS_FAIL] = "FAIL",
					 [PS_SKIP] = "skip" };

	return n[s];
}

/* Takes the list; a new step (the last one is reused when full). */
static struct pstep *add(struct psteps *l, const char *name, enum pstep_status st, double ms)
{
	struct pstep *s = &l->s[l->n < PSTEP_MAX ? l->n++ : PSTEP_MAX - 1];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->status = st;
	s->ms = ms;
	return s;
}

/* Takes a step; sets its text (printf-style). */
static void __attribute__((format(printf, 2, 3))) text(struct pstep *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
}

/* Takes a step; adds a detail line (dropped beyond PSTEP_LINES). */
static void __attribute__((format(printf, 2, 3))) line(struct pstep *s, const char *fmt, ...)
{
	va_list ap;

	if (s->n_lines >= PSTEP_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(s->lines[s->n_lines++], PSTEP_TEXT, fmt, ap);
	va_end(ap);
}

/* "2026-01-31" of t into buf (>= 11 bytes). */
static const char *day(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- before TLS ---- */

/* The steps' builders: each takes the options and results and adds its
 * step(s) to l, or nothing when the step did not run. */
static void resolve_step(const struct probe_opts *o, const struct probe_result *r, struct psteps *l)
{
	struct pstep *s;
	char list[PSTEP_TEXT] = "";

	if (o->proxy) {
		s = add(l, "resolve", PS_SKIP, -1);
		text(s, "%s is resolved by the proxy %s", r->url.host, o->proxy->host);
		return;
	}
	if (!r->resolved) {
		s = add(l, "resolve", PS_FAIL, r->resolve_ms);
		text(s, "%s", r->resolve_why);
		return;
	}
	for (size_t i = 0; i < r->n_addrs; i++)
		probe_cat(list, sizeof(list), "%s%s", i ? ", " : "", r->addrs[i].ip);
	s = add(l, "resolve", r->url.host_is_ip && o->profile != PROBE_LINUX ? PS_WARN : PS_OK, r->resolve_ms);
	text(s, "%s: %s%s", r->url.host, list, r->url.host_is_ip ? " (an IP address, not a name)" : "");
}

/* Takes an address; "accepted", "refused (RST to the SYN)", ... */
static void tcp_words(const struct probe_addr *a, char *out, size_t len)
{
	switch (a->tcp) {
	case PT_OK: snprintf(out, len, "%s: accepted (SYN, SYN-ACK)", a->text); break;
	case PT_REFUSED: snprintf(out, len, "%s: refused (RST to the SYN)", a->text); break;
	case PT_TIMEOUT: snprintf(out, len, "%s: no answer (%u SYN%s, no SYN-ACK)", a->text, a->syns,
				  a->syns == 1 ? "" : "s"); break;
	case PT_UNREACH: snprintf(out, len, "%s: unreachable (%s)", a->text, strerror(a->err)); break;
	default: snprintf(out, len, "%s: %s", a->text, strerror(a->err));
	}
}

static void tcp_step(const struct probe_result *r, struct psteps *l)
{
	size_t bad = 0;
	char w[PSTEP_TEXT];
	struct pstep *s;

	if (!r->resolved)
		return;
	for (size_t i = 0; i < r->n_addrs; i++)
		bad += r->addrs[i].tcp != PT_OK;
	s = add(l, "tcp", r->use_addr < 0 ? PS_FAIL : bad ? PS_WARN : PS_OK,
		r->addrs[r->use_addr >= 0 ? (size_t)r->use_addr : r->n_addrs - 1].ms);
	tcp_words(&r->addrs[r->use_addr >= 0 ? (size_t)r->use_addr : r->n_addrs - 1], w, sizeof(w));
	text(s, "%s", w);
	for (size_t i = 0; r->n_addrs > 1 && i < r->n_addrs; i++) {
		tcp_words(&r->addrs[i], w, sizeof(w));
		line(s, "%s in %.1f ms%s", w, r->addrs[i].ms, (int)i == r->use_addr ? " (used for the next steps)" : "");
	}
}

static void proxy_step(const struct probe_opts *o, const struct probe_result *r, struct psteps *l)
{
	struct pstep *s;

	if (!o->proxy || !r->proxy_tried)
		return;
	s = add(l, "proxy", r->proxy_ok ? PS_OK : PS_FAIL, r->proxy_ms);
	if (r->proxy_ok)
		text(s, "CONNECT %s:%s through %s:%s: tunnel open (%s)", r->url.host, r->url.port,
		     o->proxy->host, o->proxy->port, r->proxy_why);
	else
		text(s, "CONNECT %s:%s through %s:%s: %s", r->url.host, r->url.port, o->proxy->host,
		     o->proxy->port, r->proxy_why);
}

/* ---- TLS ---- */

/* Takes a ClientHello; "23 suites (2 null), up to TLS 1.2, SNI x". */
static void offered(const struct diag_facts *f, char *out, size_t len)
{
	size_t nnull = 0;
	char v[16];

	for (size_t i = 0; i < f->ch.n_stored; i++)
		nnull += tlsp_suite_is_null(f->ch.suites[i]);
	snprintf(out, len, "offered %zu suites (%zu null), up to %s%s%s", f->ch.n_suites, nnull,
		 tlsp_version_str(f->ch.max_version, v, sizeof(v)), f->ch.has_sni ? ", SNI " : ", no SNI",
		 f->ch.has_sni ? f->ch.sni : "");
}

/* The client-certificate lines of a handshake. */
static void client_cert_lines(const struct probe_result *r, const struct probe_hs *hs, struct pstep *s)
{
	const struct diag_facts *f = &hs->f;
	char cas[PSTEP_TEXT] = "";

	if (!f->saw_cert_request) {
		line(s, "client certificate: not asked for");
		return;
	}
	for (size_t i = 0; i < r->n_client_cas; i++)
		probe_cat(cas, sizeof(cas), "%s\"%s\"", i ? ", " : "", r->client_cas[i]);
	if (!r->n_client_cas)
		for (size_t i = 0; i < f->cr.n_stored; i++)
			probe_cat(cas, sizeof(cas), "%s\"%s\"", i ? ", " : "", f->cr.cas[i]);
	line(s, "client certificate: asked for, from %s; the probe sent %s", cas[0] ? cas : "any CA",
	     f->client_cert > 0 ? (f->client_leaf_ok ? f->client_leaf.subject : "one") :
	     f->client_cert == 0 ? "none (an empty Certificate)" : "none");
}

static void tls_step(const struct probe_result *r, const struct probe_hs *hs, const char *name,
		     struct psteps *l)
{
	const struct diag_facts *f = &hs->f;
	struct pstep *s;
	char buf[PSTEP_TEXT], suite[64];

	if (!hs->tried || !hs->tcp_ok || f->plain_http)
		return;
	s = add(l, name, hs->ok && f->handshake_done ? PS_OK : PS_FAIL, hs->ms);
	if (hs->ok && !f->handshake_done)
		text(s, "%s, then the server refused the client after its Finished: %s", hs->desc, r->http.why);
	else if (hs->ok)
		text(s, "%s%s (%s)", hs->verify ? "" : "certificate not checked: ", hs->desc,
		     f->saw_server_hello ? tlsp_suite_str(f->sh.suite, suite, sizeof(suite)) : "?");
	else
		text(s, "0x%x %s: %s", hs->code, iph_error_symbol(hs->code), hs->why);
	if (f->saw_client_hello) {
		offered(f, buf, sizeof(buf));
		line(s, "%s", buf);
	}
	if (hs->msgs[0])
		line(s, "messages: %s", hs->msgs);
	if (f->saw_server_hello && !hs->ok) {
		char v[16];

		line(s, "the server chose %s %s", tlsp_version_str(f->sh.version, v, sizeof(v)),
		     tlsp_suite_str(f->sh.suite, suite, sizeof(suite)));
	}
	if (f->saw_server_hello)
		client_cert_lines(r, hs, s);
}

/* Takes a suites check; its line. */
static void check_line(const char *what, enum probe_suites res, const struct probe_hs *hs,
		       struct pstep *s)
{
	const struct diag_facts *f = &hs->f;
	char suite[64];

	if (res == PSU_ACCEPTED) {
		line(s, "%s: accepted, the server chose %s", what, tlsp_suite_str(f->sh.suite, suite, sizeof(suite)));
	} else if (res == PSU_RESET) {
		line(s, "%s: reset right after the ClientHello, no alert: a Windows client retries at once with its encrypted suites", what);
	} else if (res == PSU_REFUSED) {
		const struct diag_alert *a = &f->alert[DIAG_SERVER];
		const char *an = tlsp_alert_name(a->desc);

		if (a->seen)
			line(s, "%s: refused: the server sent fatal alert %s (%u) %s", what, an ? an : "unknown",
			     a->desc, a->after_hs == TLSP_HS_CLIENT_HELLO ? "right after the ClientHello" : "");
		else
			line(s, "%s: refused: the server %s the connection right after the ClientHello", what,
			     f->first_close_rst ? "reset" : "closed");
	} else {
		line(s, "%s: not known (%s)", what, hs->why[0] ? hs->why : "no answer");
	}
}

static void suites_step(const struct probe_result *r, struct psteps *l)
{
	enum probe_suites mine = r->profile == PROBE_WINDOWS10 ? r->null_suites : r->enc_suites;
	struct pstep *s;

	if (!r->null_chk.tried)
		return;
	s = add(l, "suites", mine == PSU_REFUSED ? PS_FAIL :
		(r->null_suites == PSU_ACCEPTED || r->null_suites == PSU_RESET) &&
		r->enc_suites == PSU_ACCEPTED ? PS_OK : PS_WARN,
		r->null_chk.ms + r->enc_chk.ms);
	text(s, "clients left out: %s", r->left_out);
	check_line("null suites (TLS_RSA_WITH_NULL_SHA256, TLS_RSA_WITH_NULL_SHA)", r->null_suites,
		   &r->null_chk, s);
	check_line("encrypted suites (TLS 1.2, as Windows offers)", r->enc_suites, &r->enc_chk, s);
}

static void cert_steps(const struct probe_result *r, struct psteps *l)
{
	const struct probe_chain *ch = &r->chain;
	char a[16], b[16], name[16];

	for (size_t i = 0; ch->seen && i < ch->n && i < PROBE_MAX_CHAIN; i++) {
		const struct tlsp_cert_info *c = &ch->certs[i];
		long d = ch->days_left[i];
		struct pstep *s;
		enum pstep_status st = d < 0 || (i == 0 && !ch->name_ok) ? PS_FAIL :
				       d < 30 || (i == 0 && c->self_signed) ? PS_WARN : PS_OK;

		snprintf(name, sizeof(name), "cert %zu", i);
		s = add(l, name, st, -1);
		text(s, "\"%s\"%s", c->subject[0] ? c->subject : "(undecodable)",
		     !c->self_signed ? "" : i ? ", a self-signed root" : ", self-signed");
		line(s, "issuer \"%s\"", c->issuer);
		line(s, "valid %s to %s: %s%ld day%s %s", day(c->not_before, a, sizeof(a)),
		     day(c->not_after, b, sizeof(b)), d < 0 ? "expired " : "", d < 0 ? -d : d,
		     (d == 1 || d == -1) ? "" : "s", d < 0 ? "ago" : d < 30 ? "left, within 30 days" : "left");
		line(s, "%s %d-bit key", c->key_type[0] ? c->key_type : "?", c->key_bits);
		if (i == 0)
			line(s, "names %s: %s %s", c->san[0] ? c->san : "(no subjectAltName)",
			     ch->name_ok ? "cover" : "do not cover", r->url.host);
	}
	if (ch->seen && ch->n > PROBE_MAX_CHAIN)
		line(&l->s[l->n - 1], "%zu more certificates not shown", ch->n - PROBE_MAX_CHAIN);
}

static void chain_step(const struct probe_opts *o, const struct probe_result *r, struct psteps *l)
{
	const struct probe_chain *ch = &r->chain;
	char path[PSTEP_TEXT] = "";
	const char *store = o->ca_file ? o->ca_file : "the system store";
	struct pstep *s;

	if (!ch->seen)
		return;
	s = add(l, "chain", ch->trusted && (!ch->issuer_checked || ch->issuer_ok) &&
		(!ch->inside_checked || ch->inside_ok) ? PS_OK : PS_FAIL, -1);
	if (ch->trusted)
		text(s, "trusted: chains to %s%s%s", o->ca_file ? "--ca " : "", store,
		     ch->issuer_checked && !ch->issuer_ok ? ", but not from the expected authority" : "");
	else
		text(s, "not trusted by %s%s: %s (at depth %d)", o->ca_file ? "--ca " : "", store,
		     ch->verify_text, ch->err_depth);
	for (size_t i = 0; i < ch->n_built; i++)
		probe_cat(path, sizeof(path), "%s\"%s\"", i ? " < " : "", ch->built[i]);
	if (path[0])
		line(s, "path: %s", path);
	if (ch->issuer_checked)
		line(s, "--expect-issuer \"%s\": %s", o->expect_issuer,
		     ch->issuer_ok ? "found in the chain" : "not in the chain: another authority issued it");
	if (ch->inside_checked)
		line(s, "--expect-chain: %s", ch->inside_ok ? "the same certificate as from inside"
		     : "another certificate than from inside, where it is");
	if (ch->inside_checked && !ch->inside_ok)
		line(s, "  %s", ch->inside_leaf);
}

/* ---- HTTP and the link ---- */

static void http_step(const struct probe_result *r, struct psteps *l)
{
	const struct probe_http *h = &r->http;
	struct pstep *s;

	if (!h->tried)
		return;
	s = add(l, "http", h->answered && h->status / 100 == 2 && h->looks_iphttps ? PS_OK : PS_FAIL, h->ms);
	if (h->answered && !h->status)
		text(s, "POST %s: %s", r->url.path, h->why);
	else if (h->answered)
		text(s, "POST %s: %d %s%s%s%s: %s", r->url.path, h->status, h->reason,
		     h->server[0] ? ", Server \"" : "", h->server, h->server[0] ? "\"" : "", h->looks);
	else if (h->not_sent)
		text(s, "POST %s not sent: %s", r->url.path, h->why);
	else
		text(s, "POST %s: no answer: %s", r->url.path, h->why);
	if (h->location[0])
		line(s, "Location \"%s\"", h->location);
	if (r->continued)
		line(s, "on the connection whose certificate was not checked");
}

/* The RA's details. */
static void ra_lines(const struct ra_info *ra, struct pstep *s)
{
	char a[INET6_ADDRSTRLEN], buf[PSTEP_TEXT] = "";

	line(s, "router lifetime %u s (%s), MTU %s%u, hop limit %u, flags%s%s%s", ra->router_lifetime,
	     ra->router_lifetime ? "a default router" : "not a default router", ra->mtu ? "" : "option absent: ",
	     ra->mtu ? ra->mtu : 1280, ra->cur_hop_limit, ra->flags & 0x80 ? " M" : "",
	     ra->flags & 0x40 ? " O" : "", ra->flags & 0xc0 ? "" : " none");
	for (size_t i = 0; i < ra->n_routes; i++) {
		inet_ntop(AF_INET6, &ra->routes[i].prefix, a, sizeof(a));
		probe_cat(buf, sizeof(buf), "%s%s/%u (%u s)", i ? ", " : "", a, ra->routes[i].plen,
			  ra->routes[i].lifetime);
	}
	if (buf[0])
		line(s, "routes %s", buf);
	buf[0] = '\0';
	for (size_t i = 0; i < ra->n_dns; i++) {
		inet_ntop(AF_INET6, &ra->dns[i], a, sizeof(a));
		probe_cat(buf, sizeof(buf), "%s%s", i ? ", " : "", a);
	}
	if (buf[0])
		line(s, "DNS servers %s", buf);
}

static void link_step(const struct probe_opts *o, const struct probe_result *r, struct psteps *l)
{
	const struct probe_link *k = &r->link;
	const struct ra_info *ra = &k->info;
	struct pstep *s;
	char a[INET6_ADDRSTRLEN];

	if (o->no_link && r->http.tried && r->http.status / 100 == 2) {
		s = add(l, "link", PS_SKIP, -1);
		text(s, "not tried (--no-link)");
		return;
	}
	if (!k->tried)
		return;
	s = add(l, "link", k->ra ? (ra->has_prefix ? PS_OK : PS_WARN) : PS_FAIL, k->ms);
	if (!k->ra) {
		text(s, "Router Solicitation from %s%s; %s", PROBE_RS_SOURCE, k->rs_sent ? " sent" : " not sent",
		     k->why);
		return;
	}
	inet_ntop(AF_INET6, &ra->prefix, a, sizeof(a));
	if (ra->has_prefix)
		text(s, "Router Advertisement from %s%s: prefix %s/%u (valid %u s, preferred %u s%s%s)", k->ra_src,
		     k->early ? " (with the HTTP answer)" : "", a, ra->prefix_len, ra->valid_lifetime,
		     ra->preferred_lifetime, ra->prefix_flags & 0x80 ? ", on-link" : "",
		     ra->prefix_flags & 0x40 ? ", autonomous" : "");
	else
		text(s, "Router Advertisement from %s without a prefix: the client gets no address", k->ra_src);
	ra_lines(ra, s);
	if (r->continued)
		line(s, "on the connection whose certificate was not checked");
}

/* The profile's first handshake, when the probe made a second one after
 * it (enum probe_retry). */
static void first_step(const struct probe_result *r, struct psteps *l)
{
	size_t before = l->n;
	struct pstep *s;

	if (r->retried == PR_NONE)
		return;
	tls_step(r, &r->first, "tls first", l);
	if (l->n == before)
		return;
	s = &l->s[l->n - 1];
	if (r->retried == PR_NULL_FALLBACK) {
		s->status = PS_WARN;
		line(s, "a Windows 8/10/11 client retries at once with its encrypted suites after this (iphlpsvc.dll WebSendRequestCompletion), as the next step does");
	} else {
		line(s, "a stock Windows 7 client (TLS 1.0 only) stops here; the next step is a Windows 7 with TLS 1.1/1.2 enabled by hand");
	}
}

/* The server certificate's revocation, as Windows 7 checks it. */
static void revocation_step(const struct probe_result *r, struct psteps *l)
{
	const struct probe_crl *c = &r->crl;
	struct pstep *s;

	if (!c->checked)
		return;
	s = add(l, "revocation", c->code ? PS_FAIL : PS_OK, c->url[0] ? c->ms : -1);
	if (c->code)
		text(s, "0x%x %s: %s", c->code, iph_error_symbol(c->code), c->why);
	else
		text(s, "%s", c->why);
	if (c->url[0])
		line(s, "CRL distribution point %s (Windows 7 checks it; Windows 8 and later do not)", c->url);
}

void probe_steps(const struct probe_opts *o, const struct probe_result *r, struct psteps *l)
{
	memset(l, 0, sizeof(*l));
	resolve_step(o, r, l);
	tcp_step(r, l);
	proxy_step(o, r, l);
	first_step(r, l);
	tls_step(r, &r->main, "tls", l);
	tls_step(r, &r->again, "tls again", l);
	suites_step(r, l);
	cert_steps(r, l);
	chain_step(o, r, l);
	revocation_step(r, l);
	http_step(r, l);
	link_step(o, r, l);
}
