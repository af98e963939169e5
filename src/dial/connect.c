/* The client's connection layers: see connect.h. */
#include "dial/connect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial/proxy.h"
#include "net/tcp.h"
#include "errors.h"
#include "net/evloop.h"
#include "tls/tls.h"
#include "tls/verify.h"

int iph_url_parse(const char *s, struct iph_url *u, int allow_http, char *err)
{
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t hl;
	struct in6_addr a6;
	struct in_addr a4;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(s, "https://", 8)) {
		strcpy(u->scheme, "https");
		strcpy(u->port, "443");
		p = s + 8;
	} else if (!strncasecmp(s, "http://", 7)) {
		if (!allow_http) {
			snprintf(err, ERRLEN, "'%s' is not an https URL (plain http needs --allow-http)", s);
			return -1;
		}
		strcpy(u->scheme, "http");
		strcpy(u->port, "80");
		p = s + 7;
	} else {
		snprintf(err, ERRLEN, "'%s' is not an https:// URL", s);
		return -1;
	}
	host = p;
	if (*p == '[') {
		host = p + 1;
		if (!(host_end = strchr(host, ']'))) {
			snprintf(err, ERRLEN, "'%s': unterminated [IPv6 address]", s);
			return -1;
		}
		p = host_end + 1;
	} else {
		host_end = p + strcspn(p, ":/?#");
		p = host_end;
	}
	if (*p == ':') {
		port = p + 1;
		p = port + strcspn(port, "/?#");
		if (p == port || (size_t)(p - port) >= sizeof(u->port)) {
			snprintf(err, ERRLEN, "'%s': bad port", s);
			return -1;
		}
		snprintf(u->port, sizeof(u->port), "%.*s", (int)(p - port), port);
		for (const char *q = u->port; *q; q++)
			if (*q < '0' || *q > '9') {
				snprintf(err, ERRLEN, "'%s': bad port", s);
				return -1;
			}
		if (atoi(u->port) < 1 || atoi(u->port) > 65535) {
			snprintf(err, ERRLEN, "'%s': port out of range", s);
			return -1;
		}
	}
	hl = (size_t)(host_end - host);
	if (!hl || hl >= sizeof(u->host)) {
		snprintf(err, ERRLEN, "'%s' has no host", s);
		return -1;
	}
	memcpy(u->host, host, hl);
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)u->host[i] <= ' ' || u->host[i] == '@') {
			snprintf(err, ERRLEN, "'%s': bad character in host", s);
			return -1;
		}
	path = *p ? p : "/IPHTTPS";
	if (*path != '/') {
		snprintf(err, ERRLEN, "'%s': bad path", s);
		return -1;
	}
	if (strlen(path) >= sizeof(u->path) || strpbrk(path, " \r\n")) {
		snprintf(err, ERRLEN, "'%s': bad path", s);
		return -1;
	}
	strcpy(u->path, path);
	snprintf(u->text, sizeof(u->text), "%s", s);
	u->host_is_ip = inet_pton(AF_INET6, u->host, &a6) == 1 || inet_pton(AF_INET, u->host, &a4) == 1;
	return 0;
}

static void fail(struct connect_result *r, uint32_t code, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct connect_result *r, uint32_t code, const char *step, const char *fmt, ...)
{
	va_list ap;
	r->code = code;
	r->step = step;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* TCP to each address in turn; the first to connect wins. */
static int tcp_connect(const struct iph_url *u, int timeout_ms, struct connect_result *r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai, *a;
	int rc, fd = -1, last_err = 0;
	char tried[512] = "";

	rc = getaddrinfo(u->host, u->port, &hints, &ai);
	if (rc == EAI_AGAIN && !u->host_is_ip) {
		fail(r, IPH_E_HOST_NOT_FOUND, "resolve", "cannot resolve %s: %s (temporary failure)", u->host, gai_strerror(rc));
		return -1;
	}
	if (rc) {
		fail(r, rc == EAI_NODATA ? IPH_E_NO_DATA : IPH_E_HOST_NOT_FOUND, "resolve",
		     "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		char as[64];

		net_addr_str(a->ai_addr, as, sizeof(as));
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", tried[0] ? ", " : "", as);
		if ((fd = tcp_connect_addr(a, timeout_ms, &last_err)) >= 0) {
			snprintf(r->peer, sizeof(r->peer), "%s", as);
			break;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		return fd;
	switch (last_err) {
	case ECONNREFUSED:
		fail(r, IPH_E_CONNREFUSED, "tcp", "connection refused by %s (nothing listens on port %s)", tried, u->port);
		break;
	case ETIMEDOUT:
		fail(r, IPH_E_TIMEDOUT, "tcp", "no answer from %s within %d ms", tried, timeout_ms);
		break;
	case ECONNRESET:
		fail(r, IPH_E_CONNRESET, "tcp", "connection reset by %s", tried);
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
		fail(r, IPH_E_TIMEDOUT, "tcp", "%s: %s", tried, strerror(last_err));
		break;
	default:
		fail(r, IPH_E_TIMEDOUT, "tcp", "cannot connect to %s: %s", tried, strerror(last_err ? last_err : EIO));
	}
	return -1;
}

/* A TLS failure that concerns our client certificate gets the code Windows'
 * client reports for it, on which it drops that certificate
 * (WebSendRequestCompletion): the certificate could not be used (u->code),
 * or the server's CertificateRequest ruled it out and OpenSSL sent none. */
static void cred_verdict(const struct tls_cred_use *u, const struct tls_trace *t,
			 struct connect_result *r)
{
	char then[sizeof(r->why)];

	if (!u->cred || !r->step || strcmp(r->step, "tls"))
		return;
	if (u->code) {
		r->code = u->code;
		r->cred_fault = 1;
		snprintf(r->why, sizeof(r->why), "%s", u->why);
	} else if (u->offered && t->cert_request && t->cert_sent == 0) {
		snprintf(then, sizeof(then), "%s", r->why);
		r->code = IPH_E_UNKNOWN_CREDENTIALS;
		r->cred_fault = 1;
		snprintf(r->why, sizeof(r->why), "the server's CertificateRequest rules out the certificate %s "
			 "(no signature algorithm in common with its key), so none was sent; then: %s",
			 u->cred->label, then);
	}
}

static int tls_connect(const struct iph_url *u, const struct connect_opts *o, struct link_conn *lc,
		       struct connect_result *r, struct tls_trace *trace, struct tls_cred_use *cu)
{
	char err[ERRLEN];
	uint64_t deadline = ev_now_ms() + (uint64_t)o->timeout_ms;

	lc->io.ssl = tls_client_ssl(o->ssl_ctx, lc->io.fd, u->host, err);
	if (!lc->io.ssl || tls_client_use_cred(lc->io.ssl, cu) < 0) {
		fail(r, IPH_E_LOCAL, "tls", "%s", lc->io.ssl ? "out of memory" : err);
		return -1;
	}
	if (o->null_only && tls_client_null_only(lc->io.ssl) < 0) {
		fail(r, IPH_E_ALGORITHM_MISMATCH, "tls", "this OpenSSL cannot offer the null suites "
		     "(TLS_RSA_WITH_NULL_SHA256, TLS_RSA_WITH_NULL_SHA) of the first attempt");
		return -1;
	}
	tls_trace_attach(lc->io.ssl, trace);
	for (;;) {
		int rc = SSL_connect(lc->io.ssl), e;
		if (rc == 1)
			break;
		e = SSL_get_error(lc->io.ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (!net_wait_fd(lc->io.fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
				fail(r, IPH_E_TIMEDOUT, "tls", "TLS handshake with %s not complete within %d ms (last message: %s %s)",
				     r->peer, o->timeout_ms, trace->last_msg_sent ? "sent" : "received",
				     trace->last_msg >= 0 ? (tls_hs_name(trace->last_msg) ?: "unknown") : "none");
				return -1;
			}
			continue;
		}
		r->code = tls_classify_failure(lc->io.ssl, rc, e, r->why, sizeof(r->why));
		r->step = "tls";
		tls_peer_summary(lc->io.ssl, r->server_cert, sizeof(r->server_cert));
		return -1;
	}
	tls_describe(lc->io.ssl, r->tls_desc, sizeof(r->tls_desc));
	tls_peer_summary(lc->io.ssl, r->server_cert, sizeof(r->server_cert));
	return 0;
}

/* A stream operation failed (EOF or error): the TLS layer names it (any
 * failure, or only a TLS-level one) when it can (in TLS 1.3 a refused
 * client certificate shows up after the handshake), as
 * tls_classify_failure reads it right after the call.  1 when named. */
static int stream_failed(struct link_conn *lc, struct connect_result *r, int any)
{
	if (!lc->io.ssl || (!any && lc->io.ssl_err != SSL_ERROR_SSL))
		return 0;
	errno = lc->io.sys_errno;
	r->code = tls_classify_failure(lc->io.ssl, lc->io.ssl_ret, lc->io.ssl_err, r->why, sizeof(r->why));
	r->step = "tls";
	return 1;
}

/* Write all of buf through TLS (or plain), within the deadline. */
static int send_all(struct link_conn *lc, const char *buf, size_t len, uint64_t deadline,
		    struct connect_result *r)
{
	int n = stream_write_wait(&lc->io, buf, len, deadline);

	if (n > 0)
		return 0;
	if (n == STREAM_TIMEOUT)
		fail(r, IPH_E_TIMEDOUT, "http", "sending the request failed: not taken within the time");
	else if (!stream_failed(lc, r, 1))
		fail(r, IPH_E_CONNRESET, "http", "sending the request failed: %s",
		     strerror(lc->io.sys_errno ? lc->io.sys_errno : EIO));
	return -1;
}

/* Notes on a 200 whose headers announce a body of its own rather than the
 * endless stream (Content-Length other than 2^64-1, chunked, a text type):
 * a web page, which the link will reject as not IPv6. */
static void note_body(const struct http_resp_parser *p, struct connect_result *r)
{
	const char *cl = p->content_length;

	r->http_note[0] = '\0';
	if (cl[0] && strcmp(cl, IPHTTPS_CONTENT_LENGTH))
		snprintf(r->http_note, sizeof(r->http_note), "the 200 announced Content-Length: %s%s%s", cl,
			 p->content_type[0] ? ", Content-Type: " : "", p->content_type);
	else if (p->chunked)
		snprintf(r->http_note, sizeof(r->http_note), "the 200 announced a chunked body%s%s",
			 p->content_type[0] ? ", Content-Type: " : "", p->content_type);
	else if (!strncasecmp(p->content_type, "text/", 5))
		snprintf(r->http_note, sizeof(r->http_note), "the 200 announced Content-Type: %s",
			 p->content_type);
}

/* The final answer to the POST: exactly 200 brings the link up, as in
 * Windows' WebReceiveResponseCompletion; any other status is
 * 0x80190000 | status (407: HTTP_E_STATUS_PROXY_AUTH_REQ).  Returns 0 for
 * 200, else -1 with r filled. */
static int judge_response(const struct http_resp_parser *p, struct connect_result *r)
{
	char head[400];
	int st = p->status;

	r->http_status = st;
	snprintf(r->http_server, sizeof(r->http_server), "%s", p->server);
	if (st == 200) {
		note_body(p, r);
		return 0;
	}
	snprintf(head, sizeof(head), "the server answered the POST with %d %s%s%s%s%s", st,
		 p->reason_phrase, p->server[0] ? ", Server: " : "", p->server,
		 p->location[0] ? ", Location: " : "", p->location);
	if (st == 407)
		fail(r, IPH_E_PROXY_AUTH, "http", "%s: a proxy between the client and the server wants credentials", head);
	else if (st == 403)
		fail(r, IPH_E_HTTP(st), "http", "%s: a Windows IP-HTTPS server refuses a client certificate so (or a web server forbids the path)", head);
	else if (st / 100 == 3)
		fail(r, IPH_E_HTTP(st), "http", "%s: a redirect, which the client does not follow (a login portal or a web server answers)", head);
	else if (st / 100 == 2 || st == 101)
		fail(r, IPH_E_HTTP(st), "http", "%s: only 200 brings the link up (as for Windows' client)", head);
	else
		fail(r, IPH_E_HTTP(st), "http", "%s: not an IP-HTTPS server (a web server answering on this port?)", head);
	return -1;
}

/* Reads one chunk of the answer into buf; returns its length, or -1 with r
 * filled (closed, reset, timeout, TLS alert). */
static int read_chunk(const struct connect_opts *o, struct link_conn *lc, uint64_t deadline,
		      uint8_t *buf, size_t len, struct connect_result *r)
{
	int n = stream_read_wait(&lc->io, buf, len, deadline);

	if (n > 0)
		return n;
	if (n == STREAM_TIMEOUT)
		fail(r, IPH_E_TIMEDOUT, "http", "no HTTP response from %s within %d ms after the POST",
		     r->peer, o->timeout_ms);
	else if (stream_failed(lc, r, 0))
		;       /* TLS 1.3: a refused client certificate shows up here */
	else if (lc->io.ssl_err == SSL_ERROR_SYSCALL && lc->io.sys_errno == ECONNRESET)
		fail(r, IPH_E_CONNRESET, "http", "%s reset the connection instead of answering the POST", r->peer);
	else
		fail(r, IPH_E_CLOSED, "http", "%s closed the connection instead of answering the POST", r->peer);
	return -1;
}

/* The answer to the POST: interim 1xx answers (not 101) are skipped, as
 * HTTP/1.1 clients do (RFC 9110 15.2), at most HTTP_MAX_INTERIM of them;
 * the final one is judged.  0: LinkUp, with the bytes after the header in
 * lc->rest; -1 with r filled. */
#define HTTP_MAX_INTERIM 4
static int read_response(const struct connect_opts *o, struct link_conn *lc, struct connect_result *r)
{
	struct http_resp_parser *p = malloc(sizeof(*p));
	uint64_t deadline = ev_now_ms() + (uint64_t)o->timeout_ms;
	uint8_t buf[4096];
	int interim = 0, rc = 1;

	r->receiving = 1;
	if (!p) {
		fail(r, IPH_E_LOCAL, "http", "out of memory");
		return -1;
	}
	http_resp_init(p);
	while (rc > 0) {
		int got = read_chunk(o, lc, deadline, buf, sizeof(buf), r);
		size_t off = 0, used;

		if (got < 0) {
			rc = -1;
			break;
		}
		while (rc > 0 && off < (size_t)got) {
			int fr = http_resp_feed(p, buf + off, (size_t)got - off, &used);

			off += used;
			if (fr == HTTP_MORE)
				break;
			if (fr == HTTP_ERROR) {
				fail(r, IPH_E_HTTP_RESPONSE, "http", "the answer to the POST is not HTTP: %s",
				     p->error ? p->error : "malformed");
				rc = -1;
			} else if (http_status_is_interim(p->status) && ++interim <= HTTP_MAX_INTERIM) {
				http_resp_init(p);      /* an interim answer: the final one follows */
			} else if (http_status_is_interim(p->status)) {
				fail(r, IPH_E_HTTP_RESPONSE, "http", "the server sent more than %d interim %d answers and no final one",
				     HTTP_MAX_INTERIM, p->status);
				rc = -1;
			} else {
				rc = judge_response(p, r);
				/* The rest of this read is the start of the IPv6 stream. */
				lc->rest_len = (size_t)got - off;
				memcpy(lc->rest, buf + off, lc->rest_len);
			}
		}
	}
	free(p);
	return rc;
}

int iph_connect(const struct iph_url *u, const struct connect_opts *o, struct link_conn *lc,
		struct connect_result *r)
{
	struct tls_trace trace;
	struct tls_cred_use cu = { .cred = o->cred };
	char req[1024];
	char hostport[300];
	int n;

	memset(&trace, 0, sizeof(trace));
	memset(r, 0, sizeof(*r));
	memset(lc, 0, sizeof(*lc));
	stream_init(&lc->io, -1, NULL, 0);
	if (o->proxy)
		lc->io.fd = proxy_open(o->proxy, u->host, u->port, o->timeout_ms, r);
	else
		lc->io.fd = tcp_connect(u, o->timeout_ms, r);
	if (lc->io.fd < 0)
		return -1;
	if (o->ssl_ctx && tls_connect(u, o, lc, r, &trace, &cu) < 0)
		goto fail;
	if (strcmp(u->port, !strcmp(u->scheme, "https") ? "443" : "80"))
		snprintf(hostport, sizeof(hostport), strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host, u->port);
	else
		snprintf(hostport, sizeof(hostport), strchr(u->host, ':') ? "[%s]" : "%s", u->host);
	n = http_build_request(req, sizeof(req), hostport, u->path);
	if (n < 0) {
		fail(r, IPH_E_INVALID_URL, "http", "cannot build the request for %s", u->path);
		goto fail;
	}
	if (send_all(lc, req, (size_t)n, ev_now_ms() + (uint64_t)o->timeout_ms, r) < 0 ||
	    read_response(o, lc, r) < 0)
		goto fail;
	if (lc->io.ssl)
		tls_trace_attach(lc->io.ssl, NULL);
	r->code = IPH_OK;
	r->step = "linkup";
	return 0;
fail:
	cred_verdict(&cu, &trace, r);
	link_conn_close(lc);
	return -1;
}

void link_conn_close(struct link_conn *lc)
{
	if (lc->io.ssl)
		tls_trace_attach(lc->io.ssl, NULL);
	stream_close(&lc->io, 0);
	ERR_clear_error();
}
