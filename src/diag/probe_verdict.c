/* The probe's verdict.  The facts of the profile's connection go through
 * diag_decide() (verdict.h), as a capture of it would in `iphttps trace`,
 * so both name the same code for the same fault.  Around it, what only a
 * live client sees: resolution and the proxy, every address, the name
 * match and the verification result, --expect-issuer, the suites checks,
 * the connection continued past a refused certificate.  The first step a
 * client of the profile fails at decides; the others become notes. */
#include "diag/probe_int.h"
#include "errors.h"

#include <stdarg.h>
#include <string.h>

#define NOTES(v) (v)->notes, sizeof((v)->notes)

/* Takes a verdict; sets its head, keeps its notes, clears the rest. */
static void head(struct diag_verdict *v, enum diag_result res, uint32_t code, const char *summary)
{
	char notes[DIAG_TEXT];

	memcpy(notes, v->notes, sizeof(notes));
	memset(v, 0, sizeof(*v));
	memcpy(v->notes, notes, sizeof(notes));
	v->result = res;
	v->code = code;
	snprintf(v->summary, sizeof(v->summary), "%s", summary);
}

/* Takes a failed step's code and words; a verdict from the catalogue. */
static void from_code(struct diag_verdict *v, uint32_t code, const char *summary, const char *evidence)
{
	const struct iph_error *e = iph_error_lookup(code);

	head(v, code == IPH_OK ? DIAG_OK : DIAG_FAIL, code, summary);
	snprintf(v->cause, sizeof(v->cause), "%s%s%s", e ? e->meaning : "", e && e->cause[0] ? " " : "",
		 e ? e->cause : "");
	snprintf(v->evidence, sizeof(v->evidence), "%s", evidence);
	snprintf(v->fix, sizeof(v->fix), "%s", e ? e->fix : "");
}

/* Removes from notes the sentence that holds needle. */
static void drop_sentence(char *notes, const char *needle)
{
	char *p = strstr(notes, needle), *s, *e;

	if (!p)
		return;
	for (s = p; s > notes && !(s[-1] == ' ' && s - 1 > notes && s[-2] == '.'); s--)
		;
	e = strstr(p, ". ");
	e = e ? e + 2 : p + strlen(p);
	memmove(s, e, strlen(e) + 1);
}

/* ---- steps before TLS ---- */

/* Verdicts of the steps before TLS: each fills v from r. */
static void resolve_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	char ev[DIAG_TEXT];

	snprintf(ev, sizeof(ev), "Resolving %s gave: %s.", r->url.host, r->resolve_why);
	from_code(v, r->resolve_code, r->resolve_code == IPH_E_NO_DATA ? "name has no usable address" :
		  "name does not resolve", ev);
}

static void proxy_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	const char *s;
	char ev[DIAG_TEXT];

	switch (r->proxy_code) {
	case IPH_E_PROXY_AUTH: s = "proxy wants credentials"; break;
	case IPH_E_PROXY: s = "proxy refused CONNECT"; break;
	case IPH_E_HOST_NOT_FOUND: case IPH_E_NO_DATA: s = "proxy name does not resolve"; break;
	case IPH_E_CONNREFUSED: s = "proxy refuses connections"; break;
	default: s = "proxy unreachable";
	}
	snprintf(ev, sizeof(ev), "CONNECT %s:%s through the proxy: %s.", r->url.host, r->url.port, r->proxy_why);
	from_code(v, r->proxy_code, s, ev);
}

/* No address accepted TCP: the facts of the last attempt decide, as in a
 * capture of it; unreachable and local errors have no capture form. */
static void tcp_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	const struct probe_addr *last = NULL;
	char ev[DIAG_TEXT];

	for (size_t i = 0; i < r->n_addrs; i++)
		last = &r->addrs[i];
	if (last && (last->tcp == PT_REFUSED || last->tcp == PT_TIMEOUT)) {
		diag_decide(&r->tcp_facts, v);
	} else {
		snprintf(ev, sizeof(ev), "Connecting to %s: %s.", last ? last->text : r->url.host,
			 strerror(last ? last->err : 0));
		from_code(v, IPH_E_TIMEDOUT, last && last->tcp == PT_UNREACH ? "no route to the server" :
			  "cannot connect", ev);
	}
	if (r->n_addrs > 1) {
		probe_cat(v->evidence, sizeof(v->evidence), " None of the %zu addresses of %s accepted a connection.",
			  r->n_addrs, r->url.host);
	}
}

/* ---- TLS ---- */

/* --expect-issuer names an authority the chain does not come from.
 * Returns 1 when it decided. */
static int inspection_verdict(const struct probe_opts *o, const struct probe_result *r,
			      struct diag_verdict *v)
{
	const struct probe_chain *ch = &r->chain;
	int other_leaf = ch->inside_checked && !ch->inside_ok;
	int other_issuer = ch->issuer_checked && !ch->issuer_ok;
	char what[DIAG_TEXT];

	if (!other_issuer && !other_leaf)
		return 0;
	if (other_leaf)
		snprintf(what, sizeof(what), "not the certificate the server presents from inside (%s)",
			 ch->inside_leaf);
	else
		snprintf(what, sizeof(what), "not issued by the expected authority (\"%s\")", o->expect_issuer);
	head(v, DIAG_FAIL, ch->trusted ? IPH_E_ILLEGAL_MESSAGE : IPH_E_UNTRUSTED_ROOT,
	     other_leaf ? "TLS inspection: not the certificate the server presents from inside"
			: "TLS inspection: certificate from another authority");
	snprintf(v->cause, sizeof(v->cause), "The certificate the client gets is %s: a TLS-inspecting device (firewall, proxy, IPS) between the client and the server ends TLS itself and presents a certificate of its own, or a wrong server answers. %s",
		 what, ch->trusted ?
		 "This client trusts the other authority, but an inspecting device does not pass IP-HTTPS through: no null suites, no client certificates (0x80090326)." :
		 "Clients do not trust that authority (0x800b0109).");
	snprintf(v->evidence, sizeof(v->evidence), "The server presented \"%s\" issued by \"%s\"%s%s%s%s%s.",
		 ch->certs[0].subject, ch->certs[0].issuer, ch->root_issuer[0] ? "; the chain ends at \"" : "",
		 ch->root_issuer, ch->root_issuer[0] ? "\"" : "",
		 other_leaf ? "; from inside it presents " : "", other_leaf ? ch->inside_leaf : "");
	snprintf(v->fix, sizeof(v->fix), "Exempt the IP-HTTPS server's name from TLS inspection (or take the device out of the path); if the server's certificate was replaced, install the one from the expected authority.");
	return 1;
}

/* The profile's handshake failed on the certificate with a code the
 * capture's view cannot tell (name mismatch, revocation, pin).  Returns 1
 * when it decided. */
static int cert_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	const struct probe_hs *m = &r->main;
	const struct probe_chain *ch = &r->chain;
	char ev[DIAG_TEXT];

	if (!probe_failed_on_cert(m) || v->code == m->code)
		return 0;
	if (m->code == IPH_E_NO_MORE_ITEMS) {
		head(v, DIAG_FAIL, IPH_E_NO_MORE_ITEMS, "name mismatch");
		snprintf(v->cause, sizeof(v->cause), "The server certificate does not name %s, the host in the IP-HTTPS URL: the wrong certificate is bound, the wrong server answers, or the URL uses a name the certificate lacks. Windows shows InterfaceStatus \"No usable certificate found\".",
			 r->url.host);
		snprintf(v->evidence, sizeof(v->evidence), "The certificate \"%s\" names %s; %s.",
			 ch->seen ? ch->certs[0].subject : "?",
			 ch->seen && ch->certs[0].san[0] ? ch->certs[0].san : "no DNS name (subjectAltName)", m->why);
		snprintf(v->fix, sizeof(v->fix), "%s", iph_error_lookup(IPH_E_NO_MORE_ITEMS)->fix);
		drop_sentence(v->notes, "0x103 on Windows");
		return 1;
	}
	snprintf(ev, sizeof(ev), "%s.", m->why);
	from_code(v, m->code, m->code == IPH_E_REVOCATION_OFFLINE ? "revocation list unreachable" :
		  m->code == IPH_E_PIN_MISMATCH ? "server key does not match" :
		  m->code == IPH_E_INVALID_URL ? "URL holds an IP address" : "server certificate refused", ev);
	return 1;
}

/* The capture's view could not decide (an unknown): the client's own. */
static void unknown_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	const struct probe_hs *m = &r->main;
	char ev[DIAG_TEXT];

	if (!m->ok) {
		snprintf(ev, sizeof(ev), "%s.", m->why);
		from_code(v, m->code ? m->code : IPH_E_ILLEGAL_MESSAGE, "TLS handshake failed", ev);
	} else if (r->http.tried && !r->http.answered) {
		snprintf(ev, sizeof(ev), "POST %s: %s.", r->url.path, r->http.why);
		from_code(v, r->http.code ? r->http.code : IPH_E_TIMEDOUT, "no answer to the POST", ev);
		if (r->http.code == IPH_E_TIMEDOUT)
			snprintf(v->cause, sizeof(v->cause), "The server completed TLS but did not answer the POST: a device that holds connections, or a server that waits for more than the request.");
	}
}

/* The link came up: the evidence in the probe's words. */
static void ok_evidence(const struct probe_opts *o, const struct probe_result *r, struct diag_verdict *v)
{
	const struct probe_link *l = &r->link;
	const struct probe_http *h = &r->http;

	v->evidence[0] = '\0';
	if (r->main.desc[0])
		probe_cat(v->evidence, sizeof(v->evidence), "TLS: %s. ", r->main.desc);
	probe_cat(v->evidence, sizeof(v->evidence), "POST %s answered %d %s%s%s%s.", r->url.path, h->status,
		  h->reason, h->server[0] ? " (Server: " : "", h->server, h->server[0] ? ")" : "");
	if (o->no_link)
		probe_cat(v->evidence, sizeof(v->evidence), " The link was not tried (--no-link).");
	else if (l->ra)
		probe_cat(v->evidence, sizeof(v->evidence), " Router Solicitation sent from %s; Router Advertisement from %s %s, %s%s.",
			  PROBE_RS_SOURCE, l->ra_src, l->early ? "with the HTTP answer" : "in answer",
			  r->main.f.ra_has_prefix ? "prefix " : "no prefix", r->main.f.ra_prefix);
	else
		probe_cat(v->evidence, sizeof(v->evidence), " Router Solicitation sent; %s.", l->why);
	if (o->no_link)
		drop_sentence(v->notes, "No Router Advertisement was seen");
}

/* ---- notes ---- */

/* Other findings the verdict does not name; later: what a client would
 * meet past the step that decided (NULL: nothing). */
static void add_notes(const struct probe_opts *o, const struct probe_result *r, struct diag_verdict *v,
		      const struct diag_verdict *later)
{
	size_t bad = 0;

	for (size_t i = 0; i < r->n_addrs; i++)
		bad += r->addrs[i].tcp != PT_OK;
	if (bad && r->use_addr >= 0)
		probe_cat(NOTES(v), "%zu of the %zu addresses of %s did not accept TCP: clients that pick %s fail. ",
			  bad, r->n_addrs, r->url.host, bad == 1 ? "it" : "them");
	if (later && later->result == DIAG_FAIL && (later->code != v->code || strcmp(later->summary, v->summary)))
		probe_cat(NOTES(v), "Past this, a client would meet 0x%x: %s. ", later->code, later->summary);
	if (r->continued && r->http.answered)
		probe_cat(NOTES(v), "With the certificate accepted anyway, POST %s was answered %d %s%s%s%s: %s%s%s. ",
			  r->url.path, r->http.status, r->http.reason, r->http.server[0] ? " (Server: " : "",
			  r->http.server, r->http.server[0] ? ")" : "", r->http.looks,
			  r->link.ra && r->again.f.ra_has_prefix ? "; Router Advertisement with prefix " : "",
			  r->link.ra ? r->again.f.ra_prefix : "");
	if (strcmp(v->summary, "no common cipher suite") && (r->null_suites == PSU_REFUSED || r->enc_suites == PSU_REFUSED))
		probe_cat(NOTES(v), "Cipher suites: %s ", r->left_out);
	if (r->url.host_is_ip && o->profile == PROBE_LINUX)
		probe_cat(NOTES(v), "The URL holds an IP address: Windows clients want a name (0x4be). ");
}

/* Takes the verdict of the profile's connection; the refinements of a
 * live client (a certificate check the capture cannot tell, unknowns, the
 * evidence of a success). */
static void refine(const struct probe_opts *o, const struct probe_result *r, struct diag_verdict *v)
{
	if (cert_verdict(r, v))
		;
	else if (v->result == DIAG_UNKNOWN)
		unknown_verdict(r, v);
	else if (v->result == DIAG_OK)
		ok_evidence(o, r, v);
	if (v->code == IPH_E_UNTRUSTED_ROOT && r->chain.seen && r->chain.certs[0].self_signed &&
	    !strcmp(v->summary, "server certificate not trusted"))
		snprintf(v->summary, sizeof(v->summary), "self-signed server certificate not trusted");
}

/* The Windows 7 profiles: the server certificate's revocation, which
 * Windows 7 checks during the handshake (probe.h struct probe_crl).
 * Returns 1 when it decided. */
static int revocation_verdict(const struct probe_result *r, struct diag_verdict *v)
{
	const struct probe_crl *c = &r->crl;
	char ev[DIAG_TEXT];

	if (!c->checked || !c->code || !r->main.ok)
		return 0;
	snprintf(ev, sizeof(ev), "%s.", c->why);
	from_code(v, c->code, c->code == IPH_E_REVOKED ? "server certificate revoked" :
		  c->code == IPH_E_REVOCATION_OFFLINE ? "revocation list unreachable" :
		  "revocation cannot be checked", ev);
	probe_cat(v->cause, sizeof(v->cause), " Windows 7 checks the revocation of the server certificate and cannot be told not to; Windows 8 and later do not check it.");
	return 1;
}

/* windows7: the stock client's TLS 1.0 handshake failed and the probe
 * looked again as a Windows 7 with TLS 1.2 enabled (rest: that verdict).
 * The verdict is the stock client's, the notes say what the other meets. */
static void win7_verdict(const struct probe_result *r, struct diag_verdict *v,
			 const struct diag_verdict *rest)
{
	const struct probe_hs *f = &r->first;

	diag_decide(&f->f, v);
	if (v->result != DIAG_FAIL)
		from_code(v, f->code ? f->code : IPH_E_ILLEGAL_MESSAGE, "TLS handshake failed", f->why);
	snprintf(v->summary, sizeof(v->summary), "a stock Windows 7 client (TLS 1.0) is refused");
	snprintf(v->cause, sizeof(v->cause), "A Windows 7 client speaks TLS 1.0 unless TLS 1.1/1.2 were enabled on it by hand, and this server (or a device in front of it) refuses its TLS 1.0 ClientHello: it needs TLS 1.2, or none of the Windows 7 suites suits it.");
	snprintf(v->fix, sizeof(v->fix), "Accept TLS 1.0 on the server (iphttps server --tls-min 1.0: legacy, warned about), or enable TLS 1.1/1.2 on the Windows 7 clients (Schannel's Protocols\\TLS 1.2\\Client registry key with Enabled=1 and DisabledByDefault=0; for WinHTTP, update KB3140245 and DefaultSecureProtocols), then check with iphttps probe --profile windows7-tls12.");
	if (rest->result == DIAG_OK)
		probe_cat(NOTES(v), "With TLS 1.2 enabled, a Windows 7 client connects: %s ", rest->evidence);
	else
		probe_cat(NOTES(v), "With TLS 1.2 enabled, a Windows 7 client would meet 0x%x: %s (%s). ", rest->code,
			  rest->summary, rest->cause);
}

/* windows10: the null-only first attempt was reset or found no common
 * algorithm, and the encrypted one followed at once, as Windows does. */
static void null_fallback_note(const struct probe_result *r, struct diag_verdict *v)
{
	probe_cat(NOTES(v), "The first attempt, with only the null suites, ended in 0x%x %s (%s); a Windows 8/10/11 client retries at once with its encrypted suites (iphlpsvc.dll WebSendRequestCompletion), as this probe did%s%s. ",
		  r->first.code, iph_error_symbol(r->first.code), r->first.why, r->main.ok ? ": " : "",
		  r->main.ok ? r->main.desc : "");
}

/* The steps before the profile's connection.  Returns 1 when one failed. */
static int early_verdict(const struct probe_opts *o, const struct probe_result *r, struct diag_verdict *v)
{
	if (r->resolve_tried && !r->resolved)
		resolve_verdict(r, v);
	else if (o->proxy && !r->proxy_ok)
		proxy_verdict(r, v);
	else if (!o->proxy && r->use_addr < 0)
		tcp_verdict(r, v);
	else if (!r->main.tcp_ok)
		from_code(v, r->main.code, "connection failed", r->main.why);
	else
		return 0;
	return 1;
}

void probe_decide(const struct probe_opts *o, struct probe_result *r)
{
	struct diag_verdict *v = &r->v, later;
	int have_later = 0;

	memset(v, 0, sizeof(*v));
	if (!early_verdict(o, r, v)) {
		diag_decide(&r->main.f, v);
		refine(o, r, v);
		later = *v;
		if (inspection_verdict(o, r, v) || revocation_verdict(r, v))
			have_later = 1;
		if (r->retried == PR_WIN7_TLS12) {
			later = *v;
			win7_verdict(r, v, &later);
			have_later = 0;
		} else if (r->retried == PR_NULL_FALLBACK) {
			null_fallback_note(r, v);
		}
	}
	if (r->url.host_is_ip && o->profile != PROBE_LINUX) {
		later = *v;
		have_later = 1;
		from_code(v, IPH_E_INVALID_URL, "URL holds an IP address", "");
		snprintf(v->evidence, sizeof(v->evidence), "The URL's host is %s, an IP address; Windows IP-HTTPS clients need a name.", r->url.host);
	}
	add_notes(o, r, v, have_later ? &later : NULL);
}
