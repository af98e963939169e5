/* Verdicts from the facts of one connection: see verdict.h.  The decision
 * walks the connection in the order a client meets it (TCP, TLS, HTTP, the
 * link) and stops at the first step that failed. */
#include "diag/verdict.h"
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NULL_FIX "Enable TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA on the server or on the ADC in front of it (iphttps server --null-encryption allow), or make the clients offer encrypted suites the server accepts."

void diag_facts_init(struct diag_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->first_close = DIAG_NONE;
	f->client_cert = -1;
	f->last_hs = -1;
	f->last_hs_side = DIAG_NONE;
	for (int i = 0; i < 2; i++) {
		f->alert[i].after_hs = -1;
		f->alert[i].after_side = DIAG_NONE;
	}
}

const char *diag_result_name(enum diag_result r)
{
	switch (r) {
	case DIAG_OK: return "OK";
	case DIAG_FAIL: return "FAIL";
	default: return "UNKNOWN";
	}
}

/* ---- text helpers ---- */

/* Takes a buffer of DIAG_TEXT bytes; appends formatted text (cut if full). */
static void __attribute__((format(printf, 2, 3))) cat(char *buf, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used >= DIAG_TEXT - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, DIAG_TEXT - used, fmt, ap);
	va_end(ap);
}

/* Takes a verdict; sets result, code and summary, clears the texts. */
static void verdict(struct diag_verdict *v, enum diag_result r, uint32_t code, const char *summary)
{
	char notes[DIAG_TEXT];

	memcpy(notes, v->notes, sizeof(notes));
	memset(v, 0, sizeof(*v));
	memcpy(v->notes, notes, sizeof(notes));
	v->result = r;
	v->code = code;
	snprintf(v->summary, sizeof(v->summary), "%s", summary);
}

/* Takes a verdict whose code is set; fills an empty fix from the catalogue. */
static void default_fix(struct diag_verdict *v)
{
	const struct iph_error *e = iph_error_lookup(v->code);

	if (!v->fix[0] && e)
		snprintf(v->fix, sizeof(v->fix), "%s", e->fix);
}

/* "client" or "server". */
static const char *side_name(int side)
{
	return side == DIAG_CLIENT ? "client" : "server";
}

/* Takes a time; writes "2025-01-31" into buf (>= 11 bytes). */
static const char *date_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* Takes an alert; writes "fatal alert handshake_failure (40)". */
static const char *alert_str(const struct diag_alert *a, char *buf, size_t len)
{
	const char *name = tlsp_alert_name(a->desc);

	if (a->guessed)
		snprintf(buf, len, "an encrypted record the size of an alert");
	else if (a->encrypted)
		snprintf(buf, len, "an encrypted alert");
	else
		snprintf(buf, len, "%s alert %s (%u)", a->level == 2 ? "fatal" : a->level == 1 ? "warning" : "level-?",
			 name ? name : "unknown", a->desc);
	return buf;
}

/* Takes an alert; writes where it came: "right after the ClientHello". */
static const char *after_str(const struct diag_alert *a, char *buf, size_t len)
{
	const char *m = tlsp_hs_name(a->after_hs);

	if (a->after_hs < 0)
		snprintf(buf, len, "before any handshake message");
	else if (a->after_hs == TLSP_HS_CLIENT_HELLO)
		snprintf(buf, len, "right after the ClientHello");
	else
		snprintf(buf, len, "after the %s's %s", side_name(a->after_side), m ? m : "message");
	return buf;
}

/* Takes the facts; writes the null suites the ClientHello offered ("A and B"). */
static int null_offered(const struct diag_facts *f, char *buf, size_t len)
{
	int n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->ch.n_stored; i++) {
		const char *name = tlsp_suite_name(f->ch.suites[i]);
		size_t used = strlen(buf);

		if (!tlsp_suite_is_null(f->ch.suites[i]) || !name)
			continue;
		snprintf(buf + used, len - used, "%s%s", n ? " and " : "", name);
		n++;
	}
	return n;
}

/* Takes the facts; writes "offered 21 suites incl. TLS_RSA_WITH_NULL_SHA256". */
static void suites_str(const struct diag_facts *f, char *buf, size_t len)
{
	char nulls[256], name[64];
	size_t n = f->ch.n_suites;

	if (null_offered(f, nulls, sizeof(nulls)) > 0 && n > 3) {
		snprintf(buf, len, "offered %zu suites incl. %s", n, nulls);
		return;
	}
	snprintf(buf, len, "offered %zu suite%s", n, n == 1 ? "" : "s");
	if (n <= 3) {
		for (size_t i = 0; i < f->ch.n_stored && i < 3; i++) {
			size_t used = strlen(buf);

			snprintf(buf + used, len - used, "%s%s", i ? ", " : ": ",
				 tlsp_suite_str(f->ch.suites[i], name, sizeof(name)));
		}
	} else {
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, ", none of them a null suite");
	}
}

/* Takes a certificate; writes "CN=x (issuer CN=y, valid until 2026-01-01)". */
static void cert_str(const struct tlsp_cert_info *c, char *buf, size_t len)
{
	char d[16];

	snprintf(buf, len, "%s (issuer %s, valid until %s)", c->subject[0] ? c->subject : "?",
		 c->self_signed ? "itself: self-signed" : c->issuer, date_str(c->not_after, d, sizeof(d)));
}

/* Takes a pattern from a certificate and a host; returns 1 when they match
 * (case-insensitive, "*." matches one leftmost label). */
static int name_match(const char *pat, size_t plen, const char *host)
{
	size_t hlen = strlen(host);

	if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
		const char *dot = strchr(host, '.');

		if (!dot || dot == host)
			return 0;
		return strlen(dot) == plen - 1 && strncasecmp(dot, pat + 1, plen - 1) == 0;
	}
	return plen == hlen && strncasecmp(pat, host, plen) == 0;
}

/* Takes the server certificate and the host the client asked for (SNI);
 * returns 1 when the SAN DNS names (else the subject CN) cover it. */
static int cert_covers(const struct tlsp_cert_info *c, const char *host)
{
	const char *p = c->san, *cn;

	if (p[0]) {
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);

			if (name_match(p, n, host))
				return 1;
			p += n + (e ? 1 : 0);
		}
		return 0;
	}
	cn = strstr(c->subject, "CN=");
	if (!cn)
		return 0;
	cn += 3;
	return name_match(cn, strcspn(cn, ","), host);
}

/* Takes the facts; notes on the server certificate and the capture. */
static void add_notes(const struct diag_facts *f, struct diag_verdict *v)
{
	char d[16];

	if (f->leaf_ok) {
		if (f->when && f->leaf.not_after && f->leaf.not_after < f->when)
			cat(v->notes, "The server certificate expired on %s. ",
			    date_str(f->leaf.not_after, d, sizeof(d)));
		else if (f->when && f->leaf.not_before > f->when)
			cat(v->notes, "The server certificate is not valid before %s. ",
			    date_str(f->leaf.not_before, d, sizeof(d)));
		else if (f->when && f->leaf.not_after && f->leaf.not_after - f->when < 30 * 86400)
			cat(v->notes, "The server certificate expires on %s, within 30 days. ",
			    date_str(f->leaf.not_after, d, sizeof(d)));
		if (f->leaf.self_signed)
			cat(v->notes, "The server certificate is self-signed: clients must trust it as a root, and it changes when regenerated. ");
		if (f->ch.has_sni && f->ch.sni[0] && !cert_covers(&f->leaf, f->ch.sni))
			cat(v->notes, "The server certificate (%s) does not name %s, the host the client asked for (0x103 on Windows). ",
			    f->leaf.san[0] ? f->leaf.san : f->leaf.subject, f->ch.sni);
	}
	if (f->gap_bytes[0] || f->gap_bytes[1])
		cat(v->notes, "The capture lacks %llu bytes of this connection (dropped or cut packets); what follows a hole was not parsed. ",
		    (unsigned long long)(f->gap_bytes[0] + f->gap_bytes[1]));
	if (f->truncated_file)
		cat(v->notes, "The capture file is truncated. ");
}

/* Takes a side; returns 1 when its alert ended the handshake: hidden, or
 * fatal, or a warning after which that side closed; never close_notify or
 * user_canceled. */
static int alert_counts(const struct diag_facts *f, int side)
{
	const struct diag_alert *a = &f->alert[side];

	if (!a->seen)
		return 0;
	if (a->encrypted)
		return 1;
	if (a->desc == 0 || a->desc == 90)      /* close_notify, user_canceled */
		return 0;
	return a->level == 2 || f->first_close == side;
}

/* ---- the steps ---- */

/* A connection already open when the capture began: its handshake is not
 * in the capture.  Returns 1. */
static int decide_midstream(const struct diag_facts *f, struct diag_verdict *v)
{
	uint64_t c = f->appdata_records[DIAG_CLIENT], s = f->appdata_records[DIAG_SERVER];

	if (c && s) {
		verdict(v, DIAG_OK, IPH_OK, "link probably up (already open)");
		snprintf(v->cause, DIAG_TEXT, "The connection was already open when the capture began and carries TLS data both ways.");
		snprintf(v->evidence, DIAG_TEXT, "No handshake in the capture; application data: %llu record%s from the client, %llu from the server.",
			 (unsigned long long)c, c == 1 ? "" : "s", (unsigned long long)s);
		snprintf(v->fix, DIAG_TEXT, "None needed; capture from the connection's start to see its handshake.");
		return 1;
	}
	verdict(v, DIAG_UNKNOWN, IPH_E_IO_PENDING, "capture starts mid-connection");
	snprintf(v->cause, DIAG_TEXT, "The connection was already open when the capture began: its handshake is not in the capture.");
	snprintf(v->evidence, DIAG_TEXT, "No SYN and no ClientHello; %llu bytes from the client, %llu from the server%s.",
		 (unsigned long long)f->bytes[DIAG_CLIENT], (unsigned long long)f->bytes[DIAG_SERVER],
		 f->not_tls[0] || f->not_tls[1] ? " (the capture starts inside a TLS record)" : "");
	snprintf(v->fix, DIAG_TEXT, "Capture from the connection's start (iphttps reconnect on the client makes a new one).");
	return 1;
}

/* TCP before any TLS: no answer, refused, reset or closed before the
 * ClientHello.  Returns 1 when it decided. */
static int decide_tcp(const struct diag_facts *f, struct diag_verdict *v)
{
	if (f->saw_syn && !f->saw_synack && f->rst_to_syn) {
		verdict(v, DIAG_FAIL, IPH_E_CONNREFUSED, "connection refused");
		snprintf(v->cause, DIAG_TEXT, "Nothing accepts connections on %s: the server is not running, listens on another port, or the URL names the wrong host.", f->server);
		snprintf(v->evidence, DIAG_TEXT, "%s answered the client's SYN with RST.", f->server);
		return 1;
	}
	if (f->saw_syn && !f->saw_synack && !f->bytes[DIAG_SERVER] && !f->fin[DIAG_SERVER]) {
		verdict(v, DIAG_FAIL, IPH_E_TIMEDOUT, "no answer to TCP");
		snprintf(v->cause, DIAG_TEXT, "TCP connections to %s get no answer: a firewall drops them, a NAT rule is missing, or the server is down.", f->server);
		snprintf(v->evidence, DIAG_TEXT, "The client sent %u SYN%s over %.1f s and got no SYN-ACK.",
			 f->syns, f->syns == 1 ? "" : "s", f->syn_span);
		return 1;
	}
	if (f->midstream && !f->saw_client_hello && !f->plain_http &&
	    (f->bytes[DIAG_CLIENT] || f->bytes[DIAG_SERVER]))
		return decide_midstream(f, v);
	if (f->saw_client_hello || f->plain_http || f->bytes[DIAG_CLIENT] || f->bytes[DIAG_SERVER])
		return 0;
	if (f->first_close == DIAG_SERVER && f->first_close_rst) {
		verdict(v, DIAG_FAIL, IPH_E_CONNRESET, "reset after accept");
		snprintf(v->cause, DIAG_TEXT, "Something accepted the connection and reset it before TLS began: a middlebox (IPS, inspecting proxy, balancer) or a server that refuses the client.");
		snprintf(v->evidence, DIAG_TEXT, "%s accepted the connection (SYN-ACK) and sent RST before the client's ClientHello.", f->server);
		return 1;
	}
	if (f->first_close == DIAG_SERVER) {
		verdict(v, DIAG_FAIL, IPH_E_CLOSED, "closed after accept");
		snprintf(v->cause, DIAG_TEXT, "Something accepted the connection and closed it before TLS began: a balancer without a healthy server behind it, or a server that refuses the client.");
		snprintf(v->evidence, DIAG_TEXT, "%s accepted the connection (SYN-ACK) and sent FIN before the client's ClientHello.", f->server);
		return 1;
	}
	verdict(v, DIAG_UNKNOWN, IPH_E_IO_PENDING, f->saw_synack ? "no TLS in the capture" : "nothing to judge");
	if (f->midstream && !f->saw_synack)
		snprintf(v->cause, DIAG_TEXT, "The capture holds only a part of this connection and no payload.");
	else if (f->first_close == DIAG_CLIENT)
		snprintf(v->cause, DIAG_TEXT, "The client closed the connection before sending a ClientHello.");
	else
		snprintf(v->cause, DIAG_TEXT, "The TCP connection opened but the capture ends before any TLS was sent.");
	snprintf(v->evidence, DIAG_TEXT, "%s; no ClientHello.", f->saw_synack ? "SYN, SYN-ACK" : "no TCP handshake in the capture");
	snprintf(v->fix, DIAG_TEXT, "Capture the whole connection attempt, from the client's SYN to its end.");
	return 1;
}

/* The server's bytes are not TLS (a plain HTTP server on 443...).  Returns 1
 * when it decided. */
static int decide_not_tls(const struct diag_facts *f, struct diag_verdict *v)
{
	if (f->plain_http || !f->not_tls[DIAG_SERVER])
		return 0;
	verdict(v, DIAG_FAIL, IPH_E_ILLEGAL_MESSAGE, "server does not speak TLS");
	snprintf(v->cause, DIAG_TEXT, "What answers on %s does not speak TLS: a plain HTTP server or another service, reached through a wrong NAT rule or binding (or the IP-HTTPS server runs with --transport http and no TLS-terminating device is in front of it).", f->server);
	snprintf(v->evidence, DIAG_TEXT, "The server answered the ClientHello with bytes that are not TLS: \"%s\".",
		 f->not_tls_head[DIAG_SERVER]);
	snprintf(v->fix, DIAG_TEXT, "Point the port at the IP-HTTPS server (fix the NAT/forwarding rule), or put a TLS-terminating device in front of a --transport http server.");
	return 1;
}

/* The client's own alert: it rejects the server (its certificate most
 * often).  Returns 1 when it decided. */
static int decide_client_alert(const struct diag_facts *f, struct diag_verdict *v)
{
	const struct diag_alert *a = &f->alert[DIAG_CLIENT];
	char al[96], af[96], cert[512] = "";
	uint32_t code;

	if (!alert_counts(f, DIAG_CLIENT) || f->handshake_done)
		return 0;
	alert_str(a, al, sizeof(al));
	after_str(a, af, sizeof(af));
	if (f->leaf_ok)
		cert_str(&f->leaf, cert, sizeof(cert));
	if (a->encrypted || a->guessed) {
		verdict(v, DIAG_FAIL, IPH_E_UNTRUSTED_ROOT, "client rejected the server");
		snprintf(v->cause, DIAG_TEXT, "The client ended the handshake after the server's encrypted messages (TLS %s hides which alert): most often it does not trust the server certificate (untrusted root), less often the certificate expired or names another host.",
			 f->sh.version == TLSP_V_TLS13 ? "1.3" : "with an encrypted suite");
		snprintf(v->evidence, DIAG_TEXT, "The client sent %s %s and closed.", al, af);
		snprintf(v->fix, DIAG_TEXT, "Check the server certificate with iphttps probe (chain, expiry, name); install the issuing root CA on the clients.");
		return 1;
	}
	if (a->desc == TLSP_AL_CERT_EXPIRED ||
	    (a->desc == TLSP_AL_CERT_UNKNOWN && f->leaf_ok && f->when && f->leaf.not_after < f->when)) {
		code = IPH_E_CERT_EXPIRED;
		verdict(v, DIAG_FAIL, code, "server certificate expired");
		snprintf(v->cause, DIAG_TEXT, "The client rejects the server certificate because it has expired (or is not yet valid, or a clock is wrong).");
	} else if (a->desc == TLSP_AL_UNKNOWN_CA || a->desc == TLSP_AL_BAD_CERTIFICATE ||
		   a->desc == TLSP_AL_CERT_UNKNOWN) {
		code = IPH_E_UNTRUSTED_ROOT;
		verdict(v, DIAG_FAIL, code, "server certificate not trusted");
		snprintf(v->cause, DIAG_TEXT, "The client does not trust the server certificate: it chains to a root the client lacks (internal PKI root never installed, or a self-signed certificate that was renewed or regenerated)%s.",
			 f->leaf_ok && f->leaf.self_signed ? "; this one is self-signed" : "");
	} else {
		code = IPH_E_ILLEGAL_MESSAGE;
		verdict(v, DIAG_FAIL, code, "client rejected the handshake");
		snprintf(v->cause, DIAG_TEXT, "The client found the server's handshake unacceptable (a TLS-inspecting device, a wrong server on 443, or a protocol mismatch).");
	}
	snprintf(v->evidence, DIAG_TEXT, "The client sent %s %s", al, af);
	if (cert[0])
		cat(v->evidence, ", which carried %s", cert);
	cat(v->evidence, ".");
	return 1;
}

/* Client certificate asked for and not given.  Returns 1 when it decided. */
static int decide_client_cert(const struct diag_facts *f, struct diag_verdict *v)
{
	const struct diag_alert *a = &f->alert[DIAG_SERVER];
	char al[96], cas[256] = "", then[128];
	int failed = alert_counts(f, DIAG_SERVER) || f->first_close == DIAG_SERVER;

	if (!f->saw_cert_request || f->client_cert > 0 || f->handshake_done || !failed)
		return 0;
	verdict(v, DIAG_FAIL, IPH_E_INCOMPLETE_CREDENTIALS, "client certificate required");
	snprintf(v->cause, DIAG_TEXT, "The server requires a client certificate (authentication mode Certificates, or an ADC set up for client authentication) and the client has none from a CA the server accepts.");
	if (f->cr.n_cas == 0)
		snprintf(cas, sizeof(cas), "naming no CA");
	else
		snprintf(cas, sizeof(cas), "naming %zu CA%s: %s%s", f->cr.n_cas, f->cr.n_cas == 1 ? "" : "s",
			 f->cr.cas[0], f->cr.n_cas > 1 ? ", ..." : "");
	if (alert_counts(f, DIAG_SERVER))
		snprintf(then, sizeof(then), "sent %s", alert_str(a, al, sizeof(al)));
	else
		snprintf(then, sizeof(then), "%s the connection", f->first_close_rst ? "reset" : "closed");
	snprintf(v->evidence, DIAG_TEXT, "The server sent a CertificateRequest (%s); the client %s; then the server %s.",
		 cas, f->client_cert == 0 ? "answered with an empty Certificate" : "sent no Certificate", then);
	snprintf(v->fix, DIAG_TEXT, "Issue the client a certificate from the CA the server trusts (iphttps issue-client NAME on our server) and configure it (--cert/--key), or use authentication mode none if IPsec protects the traffic inside.");
	return 1;
}

/* An alert from the server during the handshake.  Returns 1 when it decided. */
static int decide_server_alert(const struct diag_facts *f, struct diag_verdict *v)
{
	const struct diag_alert *a = &f->alert[DIAG_SERVER];
	char al[96], af[96], suites[384], nulls[256];

	if (!alert_counts(f, DIAG_SERVER) || f->handshake_done)
		return 0;
	alert_str(a, al, sizeof(al));
	after_str(a, af, sizeof(af));
	if (!f->saw_server_hello && f->saw_client_hello) {
		verdict(v, DIAG_FAIL, IPH_E_ILLEGAL_MESSAGE, "no common cipher suite");
		suites_str(f, suites, sizeof(suites));
		snprintf(v->evidence, DIAG_TEXT, "The server sent %s %s, which %s (up to %s).", al, af, suites,
			 tlsp_version_name(f->ch.max_version) ? tlsp_version_name(f->ch.max_version) : "?");
		if (a->desc == TLSP_AL_PROTOCOL_VERSION) {
			v->summary[0] = '\0';
			snprintf(v->summary, sizeof(v->summary), "no common TLS version");
			snprintf(v->cause, DIAG_TEXT, "The server accepts none of the TLS versions the client offers.");
			snprintf(v->fix, DIAG_TEXT, "Enable TLS 1.2 on the server or the ADC in front of it.");
		} else if (null_offered(f, nulls, sizeof(nulls)) > 0) {
			snprintf(v->cause, DIAG_TEXT, "The server (or the ADC in front of it) accepts none of the offered suites: %s %s not enabled there. Windows 8/10/11 DirectAccess clients negotiate null encryption and fail with 0x80090326 right after the ClientHello.",
				 nulls, strstr(nulls, " and ") ? "are" : "is");
			snprintf(v->fix, DIAG_TEXT, "%s", NULL_FIX);
		} else {
			snprintf(v->cause, DIAG_TEXT, "The server (or the ADC in front of it) accepts none of the offered cipher suites or versions.");
			snprintf(v->fix, DIAG_TEXT, "Enable on the server a suite the clients offer (Windows 7 offers only encrypted suites; Windows 8/10/11 also the null suites).");
		}
		return 1;
	}
	verdict(v, DIAG_FAIL, IPH_E_ILLEGAL_MESSAGE, f->client_cert > 0 ? "client certificate refused" : "server ended the handshake");
	snprintf(v->evidence, DIAG_TEXT, "The server sent %s %s.", al, af);
	if (f->client_cert > 0 && f->saw_cert_request) {
		snprintf(v->evidence, DIAG_TEXT, "The server asked for a client certificate (%s%s%s); the client sent %s, issued by %s; then the server sent %s %s.",
			 f->cr.n_cas ? "from " : "any CA", f->cr.n_cas ? f->cr.cas[0] : "",
			 f->cr.n_cas > 1 ? ", ..." : "",
			 f->client_leaf_ok ? f->client_leaf.subject : "a certificate",
			 f->client_leaf_ok ? f->client_leaf.issuer : "?", al, af);
	}
	if (f->client_cert > 0) {
		snprintf(v->cause, DIAG_TEXT, "The server refused the client certificate: client-certificate authentication is misconfigured (a wrong or missing CA on the server or ADC) or the client's certificate is not valid.");
		snprintf(v->fix, DIAG_TEXT, "Give the server (or the ADC) the CA that issues the client certificates, or issue the client a certificate from the CA the server trusts.");
	} else {
		snprintf(v->cause, DIAG_TEXT, "The server ended the handshake after the ServerHello: client-certificate authentication misconfigured, a TLS-inspecting device, or the wrong server answering on 443.");
	}
	return 1;
}

/* The connection ended, or the capture did, before the handshake finished.
 * Returns 1 when it decided. */
static int decide_incomplete(const struct diag_facts *f, struct diag_verdict *v)
{
	const char *last = tlsp_hs_name(f->last_hs);
	char where[96];

	if (f->handshake_done || f->plain_http)
		return 0;
	if (f->last_hs == TLSP_HS_CLIENT_HELLO)
		snprintf(where, sizeof(where), "right after the ClientHello");
	else
		snprintf(where, sizeof(where), "after the %s's %s", side_name(f->last_hs_side), last ? last : "message");
	if (f->saw_client_hello && !f->bytes[DIAG_SERVER] && f->first_close == DIAG_CLIENT) {
		verdict(v, DIAG_FAIL, IPH_E_TIMEDOUT, "no answer to the ClientHello");
		snprintf(v->cause, DIAG_TEXT, "Something accepts TCP connections on %s but never answers TLS: a balancer without a healthy server behind it, a device that holds connections, or a service that is not a TLS server.", f->server);
		snprintf(v->evidence, DIAG_TEXT, "The server side accepted the connection (SYN-ACK) but sent nothing after the ClientHello; the client gave up after %.1f s (%s).",
			 f->duration, f->first_close_rst ? "RST" : "FIN");
		snprintf(v->fix, DIAG_TEXT, "Find what answers on the port (iphttps probe), and check the balancer's backends or the NAT/forwarding rule.");
		return 1;
	}
	if (f->first_close == DIAG_SERVER) {
		int rst = f->first_close_rst;

		verdict(v, DIAG_FAIL, rst ? IPH_E_CONNRESET : IPH_E_CLOSED,
			rst ? "reset during the TLS handshake" : "closed during the TLS handshake");
		if (f->last_hs == TLSP_HS_CLIENT_HELLO)
			snprintf(v->cause, DIAG_TEXT, "The server side %s the connection when it saw the ClientHello, without an alert: a device that inspects TLS (IPS, proxy) or a server that accepts none of the offered suites.",
				 rst ? "reset" : "closed");
		else
			snprintf(v->cause, DIAG_TEXT, "The server side %s the connection during the handshake, without an alert.",
				 rst ? "reset" : "closed");
		snprintf(v->evidence, DIAG_TEXT, "%s sent %s %s.", f->server, rst ? "RST" : "FIN", where);
		return 1;
	}
	if (f->first_close == DIAG_CLIENT) {
		verdict(v, DIAG_FAIL, IPH_E_ILLEGAL_MESSAGE, "client gave up the handshake");
		snprintf(v->cause, DIAG_TEXT, "The client ended the handshake without an alert; it probably rejected what the server sent (its certificate most often).");
		snprintf(v->evidence, DIAG_TEXT, "The client sent %s %s.", f->first_close_rst ? "RST" : "FIN", where);
		return 1;
	}
	verdict(v, DIAG_UNKNOWN, IPH_E_IO_PENDING, "handshake not finished in the capture");
	if (f->not_tls[DIAG_CLIENT])
		snprintf(v->cause, DIAG_TEXT, "The client's bytes are neither TLS nor HTTP: not an IP-HTTPS client.");
	else if (f->tls_error[0] || f->tls_error[1])
		snprintf(v->cause, DIAG_TEXT, "The TLS stream is malformed (%s), which a client would report as 0x80090326.",
			 f->tls_error_text[f->tls_error[0] ? 0 : 1]);
	else
		snprintf(v->cause, DIAG_TEXT, "The capture ends (or lacks bytes) before the TLS handshake finished.");
	snprintf(v->evidence, DIAG_TEXT, "The last handshake message seen is %s%s.",
		 f->last_hs >= 0 ? "the " : "", f->last_hs >= 0 ? where + 6 : "none");
	snprintf(v->fix, DIAG_TEXT, "Capture the whole connection attempt, from the client's SYN to its end.");
	return 1;
}

/* TLS 1.3: the server answered the client's Finished with an alert-sized
 * record and closed (how it refuses a missing client certificate). */
static int decide_tls13_refusal(const struct diag_facts *f, struct diag_verdict *v)
{
	const struct diag_alert *a = &f->alert[DIAG_SERVER];

	if (!a->guessed || f->appdata_records[DIAG_SERVER] || f->first_close < 0)
		return 0;
	verdict(v, DIAG_FAIL, IPH_E_INCOMPLETE_CREDENTIALS, "server refused the client (TLS 1.3)");
	snprintf(v->cause, DIAG_TEXT, "In TLS 1.3 a server that requires a client certificate refuses a missing or unacceptable one only after the client's Finished; TLS 1.3 hides which.");
	snprintf(v->evidence, DIAG_TEXT, "After the client's Finished the server sent one encrypted record of an alert's size and no data, then the connection ended.");
	snprintf(v->fix, DIAG_TEXT, "Issue the client a certificate from the CA the server trusts, or check the server's client-CA setting; iphttps probe shows which.");
	return 1;
}

/* The readable HTTP exchange (null suite or plain HTTP).  Returns 1 when it
 * decided. */
static int decide_http(const struct diag_facts *f, struct diag_verdict *v)
{
	char req[256];

	if (!f->app_readable)
		return 0;
	snprintf(req, sizeof(req), "%s %s", f->saw_request ? f->method : "the request",
		 f->saw_request ? f->path : "");
	if (f->saw_response && !f->http_error && f->status == 200) {
		if (f->v6_error[DIAG_SERVER] || f->v6_error[DIAG_CLIENT]) {
			verdict(v, DIAG_FAIL, IPH_E_PROTOCOL, "not IPv6 inside");
			snprintf(v->cause, DIAG_TEXT, "After the %d the %s sent bytes that are not IPv6 packets: not an IP-HTTPS peer, or a broken stream.",
				 f->status, f->v6_error[DIAG_SERVER] ? "server" : "client");
			snprintf(v->evidence, DIAG_TEXT, "%s answered %d; then: %s.", req, f->status, f->v6_error_text);
			default_fix(v);
			return 1;
		}
		verdict(v, DIAG_OK, IPH_OK, "link up");
		snprintf(v->cause, DIAG_TEXT, "The IP-HTTPS link came up.");
		snprintf(v->fix, DIAG_TEXT, "None needed.");
		snprintf(v->evidence, DIAG_TEXT, "%s answered %d %s%s%s%s.", req, f->status, f->reason,
			 f->http_server[0] ? " (Server: " : "", f->http_server, f->http_server[0] ? ")" : "");
		cat(v->evidence, " IPv6 inside: %llu packet%s from the client, %llu from the server",
		    (unsigned long long)f->v6_packets[0], f->v6_packets[0] == 1 ? "" : "s",
		    (unsigned long long)f->v6_packets[1]);
		if (f->saw_rs)
			cat(v->evidence, "; Router Solicitation seen");
		if (f->saw_ra)
			cat(v->evidence, "; Router Advertisement seen%s%s", f->ra_has_prefix ? " with prefix " : " without a prefix",
			    f->ra_has_prefix ? f->ra_prefix : "");
		else
			cat(v->evidence, "; no Router Advertisement in the capture");
		cat(v->evidence, ".");
		if (!f->saw_ra)
			cat(v->notes, "No Router Advertisement was seen: the client gets no address until one comes. ");
		return 1;
	}
	if (f->saw_response) {
		verdict(v, DIAG_FAIL, f->http_error ? IPH_E_HTTP_RESPONSE : IPH_E_HTTP(f->status),
			f->http_error ? "answer is not HTTP" : f->status == 403 ? "client refused (403)" :
			f->status == 407 ? "proxy wants credentials" : f->status / 100 == 2 ? "not 200" :
			"wrong server answers");
		if (f->http_error) {
			snprintf(v->cause, DIAG_TEXT, "The server answered the POST with something that is not an HTTP response.");
			snprintf(v->evidence, DIAG_TEXT, "%s was answered with a malformed response (%s).", req, f->http_error_text);
		} else {
			snprintf(v->cause, DIAG_TEXT, "TLS works but the POST was not accepted: %s.",
				 f->status / 100 == 3 ? "a redirect, as from a web server or a login portal" :
				 f->status == 401 || f->status == 407 ? "an authentication request, as from a portal or a proxy" :
				 f->status == 403 ? "the server refused the client (a Windows IP-HTTPS server answers 403 to a client certificate it refuses, and Windows' client then tries its next certificate), or a web server forbids the path" :
				 f->status / 100 == 2 || f->status == 101 ? "only 200 brings the link up (for Windows' client as for ours)" :
				 "a web server, not an IP-HTTPS server, answers on this port (a wrong NAT rule or binding), or the URL's path is wrong");
			snprintf(v->evidence, DIAG_TEXT, "%s answered %d %s%s%s%s", req, f->status, f->reason,
				 f->http_server[0] ? " (Server: " : "", f->http_server, f->http_server[0] ? ")" : "");
			if (f->location[0])
				cat(v->evidence, ", Location: %s", f->location);
			cat(v->evidence, ".");
		}
		default_fix(v);
		return 1;
	}
	if (f->first_close == DIAG_SERVER) {
		verdict(v, DIAG_FAIL, f->first_close_rst ? IPH_E_CONNRESET : IPH_E_CLOSED, "no answer to the POST");
		snprintf(v->cause, DIAG_TEXT, "The server %s the connection instead of answering the POST: not an IP-HTTPS server, or one that refuses this client.",
			 f->first_close_rst ? "reset" : "closed");
		snprintf(v->evidence, DIAG_TEXT, "%s was not answered; the server sent %s.",
			 f->saw_request ? req : "The client's data", f->first_close_rst ? "RST" : "FIN");
		return 1;
	}
	verdict(v, DIAG_UNKNOWN, IPH_E_IO_PENDING, "no HTTP answer in the capture");
	snprintf(v->cause, DIAG_TEXT, "The handshake completed but the capture ends before the server's answer to the POST.");
	snprintf(v->evidence, DIAG_TEXT, "%s", f->saw_request ? "The POST was sent; no response was seen." : "No request was seen.");
	snprintf(v->fix, DIAG_TEXT, "Capture longer, until the server answers.");
	return 1;
}

/* An encrypted suite: the HTTP exchange is hidden. */
static void decide_encrypted(const struct diag_facts *f, struct diag_verdict *v)
{
	char suite[64], ver[16];
	uint64_t c = f->appdata_records[DIAG_CLIENT], s = f->appdata_records[DIAG_SERVER];

	tlsp_suite_str(f->sh.suite, suite, sizeof(suite));
	tlsp_version_str(f->sh.version, ver, sizeof(ver));
	if (c && s) {
		verdict(v, DIAG_OK, IPH_OK, "link probably up (encrypted)");
		snprintf(v->cause, DIAG_TEXT, "The TLS handshake completed and data flowed both ways; the suite encrypts, so the POST, its answer and the IPv6 packets cannot be checked from the capture.");
		snprintf(v->evidence, DIAG_TEXT, "Handshake completed with %s %s; application data: %llu record%s (%llu bytes) from the client, %llu (%llu bytes) from the server.",
			 ver, suite, (unsigned long long)c, c == 1 ? "" : "s",
			 (unsigned long long)f->appdata_bytes[0], (unsigned long long)s,
			 (unsigned long long)f->appdata_bytes[1]);
		snprintf(v->fix, DIAG_TEXT, "None needed if clients connect; iphttps probe shows the HTTP answer and the Router Advertisement.");
		return;
	}
	if (f->first_close == DIAG_SERVER) {
		verdict(v, DIAG_FAIL, f->first_close_rst ? IPH_E_CONNRESET : IPH_E_CLOSED,
			"closed after the handshake");
		snprintf(v->cause, DIAG_TEXT, "The server %s the connection after the handshake without sending data: it refused the POST (not an IP-HTTPS server, or one that refuses this client).",
			 f->first_close_rst ? "reset" : "closed");
		snprintf(v->evidence, DIAG_TEXT, "Handshake completed with %s %s; the client sent %llu record%s of data; the server sent none and then %s.",
			 ver, suite, (unsigned long long)c, c == 1 ? "" : "s", f->first_close_rst ? "RST" : "FIN");
		return;
	}
	verdict(v, DIAG_UNKNOWN, IPH_E_IO_PENDING, "handshake done, no answer seen");
	snprintf(v->cause, DIAG_TEXT, "The TLS handshake completed but the capture shows no data from the server afterwards.");
	snprintf(v->evidence, DIAG_TEXT, "Handshake completed with %s %s; application data: %llu record%s from the client, %llu from the server.",
		 ver, suite, (unsigned long long)c, c == 1 ? "" : "s", (unsigned long long)s);
	snprintf(v->fix, DIAG_TEXT, "Capture longer, or use iphttps probe.");
}

void diag_decide(const struct diag_facts *f, struct diag_verdict *v)
{
	memset(v, 0, sizeof(*v));
	add_notes(f, v);
	if (decide_tcp(f, v) || decide_not_tls(f, v) || decide_client_alert(f, v) ||
	    decide_client_cert(f, v) || decide_server_alert(f, v) || decide_incomplete(f, v) ||
	    decide_tls13_refusal(f, v) || decide_http(f, v)) {
		default_fix(v);
		return;
	}
	decide_encrypted(f, v);
	default_fix(v);
}
