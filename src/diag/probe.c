/* The probe's steps in order: resolution, TCP to every address, the proxy,
 * then the TLS connections (probe_tls.c), HTTP and the link (probe_http.c)
 * and the verdict (probe_verdict.c).  See probe.h. */
#include "diag/probe_int.h"
#include "errors.h"
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const profile_names[PROBE_N_PROFILES] = {
	[PROBE_WINDOWS10] = "windows10", [PROBE_WINDOWS7] = "windows7", [PROBE_LINUX] = "linux",
	[PROBE_WINDOWS7_TLS12] = "windows7-tls12",
};

const char *probe_profile_name(enum probe_profile p)
{
	return (unsigned)p < PROBE_N_PROFILES ? profile_names[p] : "?";
}

int probe_profile_parse(const char *s, enum probe_profile *out)
{
	for (int i = 0; i < PROBE_N_PROFILES; i++)
		if (!strcmp(s, profile_names[i])) {
			*out = (enum probe_profile)i;
			return 0;
		}
	return -1;
}

void probe_clock(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

double probe_ms_since(const struct timespec *t0)
{
	struct timespec now;

	probe_clock(&now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- resolution ---- */

/* Takes a socket address; writes "1.2.3.4" into ip and "1.2.3.4:443" or
 * "[::1]:443" into p->text. */
static void addr_text(const struct sockaddr *sa, struct probe_addr *p)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(p->text, sizeof(p->text), "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)sa;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(p->text, sizeof(p->text), "%s:%u", ip, ntohs(a->sin_port));
	}
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
}

/* Resolve the URL's host as the client does (every address kept, in the
 * resolver's order, duplicates dropped).  Fills r's resolution fields. */
static void resolve(struct probe_result *r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai, *a;
	struct timespec t0;
	int rc;

	r->resolve_tried = 1;
	probe_clock(&t0);
	rc = getaddrinfo(r->url.host, r->url.port, &hints, &ai);
	r->resolve_ms = probe_ms_since(&t0);
	if (rc) {
		r->resolve_code = rc == EAI_NODATA ? IPH_E_NO_DATA : IPH_E_HOST_NOT_FOUND;
		snprintf(r->resolve_why, sizeof(r->resolve_why), "%s: %s%s", r->url.host, gai_strerror(rc),
			 rc == EAI_AGAIN ? " (no resolver answered)" : "");
		return;
	}
	for (a = ai; a && r->n_addrs < PROBE_MAX_ADDRS; a = a->ai_next) {
		struct probe_addr *p = &r->addrs[r->n_addrs];
		size_t i;

		if (a->ai_addrlen > sizeof(p->sa))
			continue;
		addr_text(a->ai_addr, p);
		for (i = 0; i < r->n_addrs && strcmp(r->addrs[i].text, p->text); i++)
			;
		if (i < r->n_addrs)
			continue;
		memcpy(&p->sa, a->ai_addr, a->ai_addrlen);
		p->salen = a->ai_addrlen;
		r->n_addrs++;
	}
	freeaddrinfo(ai);
	r->resolved = r->n_addrs > 0;
	if (!r->resolved) {
		r->resolve_code = IPH_E_NO_DATA;
		snprintf(r->resolve_why, sizeof(r->resolve_why), "%s has no usable address", r->url.host);
	}
}

/* ---- TCP ---- */

/* Connect to a within timeout_ms, as the client does (net/tcp.h); fills
 * a's result.  Returns the connected socket, or -1. */
static int tcp_one(struct probe_addr *a, int timeout_ms)
{
	struct tcp_attempt t;
	int fd = tcp_connect_sa((struct sockaddr *)&a->sa, a->salen, timeout_ms, &t);

	a->err = t.err;
	a->syns = t.syns;
	a->ms = t.ms;
	switch (a->err) {
	case 0: a->tcp = PT_OK; break;
	case ECONNREFUSED: a->tcp = PT_REFUSED; break;
	case ETIMEDOUT: a->tcp = PT_TIMEOUT; break;
	case ENETUNREACH: case EHOSTUNREACH: a->tcp = PT_UNREACH; break;
	default: a->tcp = PT_ERROR;
	}
	return fd;
}

/* Takes an address that failed; the facts a capture of the attempt shows. */
static void tcp_fail_facts(const struct probe_addr *a, struct diag_facts *f)
{
	diag_facts_init(f);
	snprintf(f->client, sizeof(f->client), "the probe");
	snprintf(f->server, sizeof(f->server), "%s", a->text);
	f->saw_syn = 1;
	f->syns = a->syns;
	/* Linux sends SYNs at 0, 1, 3, 7, ... s */
	f->syn_span = a->syns > 1 && a->syns < 31 ? (double)((1u << (a->syns - 1)) - 1) : 0;
	if (f->syn_span > a->ms / 1000.0)
		f->syn_span = a->ms / 1000.0;
	f->duration = a->ms / 1000.0;
	f->rst_to_syn = a->tcp == PT_REFUSED;
}

/* TCP to every address; the first that connects carries the TLS steps. */
static void tcp_all(const struct probe_opts *o, struct probe_result *r)
{
	for (size_t i = 0; i < r->n_addrs; i++) {
		int fd = tcp_one(&r->addrs[i], o->timeout_ms);

		if (fd >= 0) {
			close(fd);
			if (r->use_addr < 0)
				r->use_addr = (int)i;
		} else {
			tcp_fail_facts(&r->addrs[i], &r->tcp_facts);
		}
	}
}

/* ---- connections for the TLS steps ---- */

/* Takes the connection's facts; the TCP part of a connection that opened. */
static void open_facts(const struct probe_result *r, struct probe_hs *hs)
{
	struct diag_facts *f = &hs->f;

	snprintf(f->client, sizeof(f->client), "the probe");
	snprintf(f->server, sizeof(f->server), "%s", hs->peer);
	f->when = r->when;
	f->saw_syn = f->saw_synack = 1;
	f->syns = 1;
}

int probe_open(const struct probe_opts *o, struct probe_result *r, struct probe_hs *hs,
	       struct probe_conn *c)
{
	struct timespec t0;

	hs->tried = 1;
	c->hs = hs;
	stream_init(&c->io, -1, NULL, 0);
	probe_clock(&t0);
	if (o->proxy) {
		struct connect_result cr;

		memset(&cr, 0, sizeof(cr));
		c->io.fd = proxy_open(o->proxy, r->url.host, r->url.port, o->timeout_ms, &cr);
		if (!r->proxy_tried) {
			r->proxy_tried = 1;
			r->proxy_ok = c->io.fd >= 0;
			r->proxy_ms = probe_ms_since(&t0);
			r->proxy_code = c->io.fd >= 0 ? IPH_OK : cr.code;
			snprintf(r->proxy_why, sizeof(r->proxy_why), "%s", c->io.fd >= 0 ? cr.peer : cr.why);
		}
		if (c->io.fd < 0) {
			hs->code = cr.code;
			snprintf(hs->why, sizeof(hs->why), "%s", cr.why);
			return -1;
		}
		snprintf(hs->peer, sizeof(hs->peer), "%s", cr.peer);
	} else {
		struct probe_addr a = r->addrs[r->use_addr];

		c->io.fd = tcp_one(&a, o->timeout_ms);
		snprintf(hs->peer, sizeof(hs->peer), "%s", a.text);
		if (c->io.fd < 0) {
			hs->code = a.tcp == PT_REFUSED ? IPH_E_CONNREFUSED : IPH_E_TIMEDOUT;
			snprintf(hs->why, sizeof(hs->why), "connecting to %s again failed: %s", a.text, strerror(a.err));
			return -1;
		}
	}
	hs->tcp_ok = 1;
	open_facts(r, hs);
	return 0;
}

void probe_close(struct probe_conn *c)
{
	/* A close_notify, not waited for, when the handshake completed; the
	 * SSL frees the tap BIO and the socket BIO. */
	int notify = c->io.ssl && SSL_is_init_finished(c->io.ssl);

	if (c->io.ssl)
		tls_trace_attach(c->io.ssl, NULL);
	stream_close(&c->io, notify);
	ERR_clear_error();
	if (c->tap) {
		tlsp_free(&c->tap->tp);
		free(c->tap);
		c->tap = NULL;
	}
}

/* ---- the run ---- */

/* Takes a fresh result; clears it and its facts. */
static void result_init(const struct probe_opts *o, struct probe_result *r)
{
	memset(r, 0, sizeof(*r));
	r->profile = o->profile;
	r->when = time(NULL);
	r->use_addr = -1;
	diag_facts_init(&r->tcp_facts);
	diag_facts_init(&r->first.f);
	diag_facts_init(&r->main.f);
	diag_facts_init(&r->again.f);
	diag_facts_init(&r->null_chk.f);
	diag_facts_init(&r->enc_chk.f);
}

/* The profile's second handshake (probe_retry_for), on a new connection
 * in r->main, the first kept in r->first.  Returns 0 with the handshake
 * done (either way), -1 when the connection did not open. */
static int retry(const struct probe_opts *o, SSL_CTX *ctx, struct probe_result *r,
		 struct probe_conn *c, enum probe_retry why)
{
	probe_close(c);
	r->first = r->main;
	r->retried = why;
	memset(&r->main, 0, sizeof(r->main));
	diag_facts_init(&r->main.f);
	if (probe_open(o, r, &r->main, c) < 0)
		return -1;
	probe_handshake(ctx, &r->url, 1, o->timeout_ms, c);
	return 0;
}

/* The profile's connection, certificate verified (after a retry when the
 * profile calls for one); when the certificate fails, a second one
 * without verification so that HTTP and the link can still be shown. */
static void main_connection(const struct probe_opts *o, const struct probe_ctxs *x,
			    struct probe_result *r)
{
	struct probe_conn c = { .io.fd = -1 };
	SSL_CTX *ctx = x->main;
	enum probe_retry why;

	if (probe_open(o, r, &r->main, &c) < 0)
		return;
	if (!ctx) {
		r->main.ok = 1;
		r->main.f.plain_http = 1;
		probe_http_link(o, r, &c);
		probe_close(&c);
		return;
	}
	if (probe_handshake(ctx, &r->url, 1, o->timeout_ms, &c) < 0 && x->fallback &&
	    (why = probe_retry_for(o->profile, &r->main)) != PR_NONE) {
		ctx = x->fallback;
		if (retry(o, ctx, r, &c, why) < 0)
			return;
	}
	probe_chain(o, ctx, &c, r);
	if (r->main.ok) {
		probe_http_link(o, r, &c);
		probe_close(&c);
		return;
	}
	probe_close(&c);
	if (!probe_failed_on_cert(&r->main))
		return;
	if (probe_open(o, r, &r->again, &c) == 0 &&
	    probe_handshake(ctx, &r->url, 0, o->timeout_ms, &c) == 0) {
		r->continued = 1;
		probe_http_link(o, r, &c);
	}
	probe_close(&c);
}

int probe_run(const struct probe_opts *o, struct probe_result *r, char *err)
{
	struct probe_ctxs x;
	char uerr[ERRLEN];

	/* a server that closes must not kill the probe on its next write */
	signal(SIGPIPE, SIG_IGN);
	result_init(o, r);
	memset(&x, 0, sizeof(x));
	if (iph_url_parse(o->url, &r->url, 1, uerr) < 0) {
		snprintf(err, ERRLEN, "%s", uerr);
		return -1;
	}
	if (!strcmp(r->url.scheme, "https") && probe_tls_ctxs(o, &x, err) < 0)
		return -1;
	if (!o->proxy) {
		resolve(r);
		if (r->resolved)
			tcp_all(o, r);
	}
	if (o->proxy || r->use_addr >= 0) {
		main_connection(o, &x, r);
		if (x.main && r->main.tcp_ok)
			probe_suites(o, &x, r);
	}
	probe_tls_ctxs_free(&x);
	probe_decide(o, r);
	return 0;
}
