/* HTTP proxies: URL and environment, TCP to the proxy, CONNECT with proxy
 * authentication.  See proxy.h; the answers' fields and the credentials
 * are in proxy_auth.c.  The password never goes into a message. */
#include "dial/proxy.h"
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dial/proxy_auth.h"
#include "errors.h"
#include "net/evloop.h"
#include "wire/http.h"

#ifndef IPHTTPS_VERSION
#define IPHTTPS_VERSION "0"
#endif

#define PROXY_MAX_BODY (1 << 20)        /* a 407 body we read and drop */
#define PROXY_ROUNDS 3                  /* no credentials, credentials, a stale nonce */

/* ---- URL ---- */

/* The value of hex digit c, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode the n bytes at s into out[outlen].  Returns 0, or -1 on a
 * bad escape, a decoded NUL or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (!c || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* The start of url's authority: after "SCHEME://" when there is one. */
static const char *after_scheme(const char *url)
{
	const char *sep = strstr(url, "://");

	if (sep && sep > url && strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
	    (size_t)(sep - url))
		return sep + 3;
	return url;
}

/* url with the password replaced by "***", for messages, into out[len]. */
static void redact(const char *url, char *out, size_t len)
{
	const char *auth = after_scheme(url), *at, *colon;
	size_t alen;

	alen = strcspn(auth, "/?#");
	at = memrchr(auth, '@', alen);
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon)
		snprintf(out, len, "%s", url);
	else
		snprintf(out, len, "%.*s:***%s", (int)(colon - url), url, at);
}

/* Host part [h, h+n) of an authority: "[v6]" or a name or IPv4 address.
 * Returns 0 with p->host set, -1 with err. */
static int parse_host(const char *h, size_t n, struct proxy_cfg *p, const char *shown, char *err)
{
	if (n && h[0] == '[') {
		struct in6_addr a;
		if (n < 3 || h[n - 1] != ']' || n - 2 >= sizeof(p->host)) {
			snprintf(err, ERRLEN, "proxy '%s': bad [IPv6 address]", shown);
			return -1;
		}
		memcpy(p->host, h + 1, n - 2);
		p->host[n - 2] = 0;
		if (inet_pton(AF_INET6, p->host, &a) != 1) {
			snprintf(err, ERRLEN, "proxy '%s': '%s' is not an IPv6 address", shown, p->host);
			return -1;
		}
		return 0;
	}
	if (!n) {
		snprintf(err, ERRLEN, "proxy '%s' has no host", shown);
		return -1;
	}
	if (n >= sizeof(p->host)) {
		snprintf(err, ERRLEN, "proxy '%s': host name too long", shown);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= ' ' || (unsigned char)h[i] >= 0x7f || strchr("[]\\\"%", h[i])) {
			snprintf(err, ERRLEN, "proxy '%s': bad character in host", shown);
			return -1;
		}
	memcpy(p->host, h, n);
	p->host[n] = 0;
	return 0;
}

/* Port text [s, s+n) into p->port (1..65535).  Returns 0 or -1 with err. */
static int parse_port(const char *s, size_t n, struct proxy_cfg *p, const char *shown, char *err)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 65535) {
			v = -1;
			break;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (!n || v < 1 || v > 65535) {
		snprintf(err, ERRLEN, "proxy '%s': bad port", shown);
		return -1;
	}
	snprintf(p->port, sizeof(p->port), "%ld", v);
	return 0;
}

/* userinfo [s, s+n) = USER[:PASS], percent-decoded. */
static int parse_userinfo(const char *s, size_t n, struct proxy_cfg *p, const char *shown, char *err)
{
	const char *colon = memchr(s, ':', n);
	size_t ul = colon ? (size_t)(colon - s) : n;

	if (pct_decode(s, ul, p->user, sizeof(p->user)) < 0 ||
	    (colon && pct_decode(colon + 1, n - ul - 1, p->pass, sizeof(p->pass)) < 0)) {
		snprintf(err, ERRLEN, "proxy '%s': bad user or password (percent-escapes, length)", shown);
		OPENSSL_cleanse(p->pass, sizeof(p->pass));
		return -1;
	}
	if (!p->user[0]) {
		snprintf(err, ERRLEN, "proxy '%s': empty user name before '@'", shown);
		OPENSSL_cleanse(p->pass, sizeof(p->pass));
		return -1;
	}
	p->has_auth = 1;
	return 0;
}

int proxy_parse_url(const char *url, struct proxy_cfg *p, char *err)
{
	char shown[256];
	const char *s = url, *auth_end, *at, *hp, *port = NULL, *host_end;

	memset(p, 0, sizeof(*p));
	redact(url, shown, sizeof(shown));
	s = after_scheme(url);
	if (s != url && strncasecmp(url, "http://", 7)) {
		snprintf(err, ERRLEN, "proxy '%s': only http:// proxies are supported (CONNECT over plain HTTP)", shown);
		return -1;
	}
	auth_end = s + strcspn(s, "/?#");
	if (*auth_end && strcmp(auth_end, "/")) {
		snprintf(err, ERRLEN, "proxy '%s': a proxy URL has no path", shown);
		return -1;
	}
	at = memrchr(s, '@', (size_t)(auth_end - s));
	if (at && parse_userinfo(s, (size_t)(at - s), p, shown, err) < 0)
		return -1;
	hp = at ? at + 1 : s;
	if (*hp == '[') {
		host_end = memchr(hp, ']', (size_t)(auth_end - hp));
		host_end = host_end ? host_end + 1 : auth_end;
	} else {
		host_end = memchr(hp, ':', (size_t)(auth_end - hp));
		if (!host_end)
			host_end = auth_end;
	}
	if (host_end < auth_end) {
		if (*host_end != ':') {
			snprintf(err, ERRLEN, "proxy '%s': bad host", shown);
			goto bad;
		}
		port = host_end + 1;
	}
	if (parse_host(hp, (size_t)(host_end - hp), p, shown, err) < 0 ||
	    (port && parse_port(port, (size_t)(auth_end - port), p, shown, err) < 0))
		goto bad;
	if (!port)
		strcpy(p->port, "1080");
	return 0;
bad:
	OPENSSL_cleanse(p, sizeof(*p));
	return -1;
}

/* ---- environment ---- */

/* An IP address in text (brackets allowed) into a[16] with *fam; 0 or -1. */
static int ip_parse(const char *s, size_t n, unsigned char a[16], int *fam)
{
	char b[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n >= sizeof(b))
		return -1;
	memcpy(b, s, n);
	b[n] = 0;
	if (inet_pton(AF_INET, b, a) == 1)
		return *fam = AF_INET, 0;
	if (inet_pton(AF_INET6, b, a) == 1)
		return *fam = AF_INET6, 0;
	return -1;
}

/* 1 when the no_proxy entry [e, e+n) covers host (curl's rules: "*" for
 * all; a name matches itself and its subdomains, a leading dot optional;
 * an IP address matches itself, ADDR/BITS a range). */
static int no_proxy_entry(const char *host, const char *e, size_t n)
{
	unsigned char ha[16], ea[16];
	int hf, ef;
	size_t hl = strlen(host);
	const char *slash;

	if (n == 1 && e[0] == '*')
		return 1;
	if (ip_parse(host, hl, ha, &hf) == 0) {
		long bits;
		slash = memchr(e, '/', n);
		if (ip_parse(e, slash ? (size_t)(slash - e) : n, ea, &ef) < 0 || ef != hf)
			return 0;
		bits = slash ? strtol(slash + 1, NULL, 10) : (hf == AF_INET ? 32 : 128);
		if (bits < 0 || bits > (hf == AF_INET ? 32 : 128))
			return 0;
		for (long i = 0; i < bits; i++)
			if ((ha[i / 8] ^ ea[i / 8]) & (0x80 >> (i % 8)))
				return 0;
		return 1;
	}
	if (n && e[0] == '.')
		e++, n--;
	if (hl && host[hl - 1] == '.')
		hl--;
	if (n && e[n - 1] == '.')
		n--;
	if (!n || n > hl)
		return 0;
	if (strncasecmp(host + hl - n, e, n))
		return 0;
	return hl == n || host[hl - n - 1] == '.';
}

/* 1 when the no_proxy list (comma- or space-separated) covers host. */
static int no_proxy_match(const char *list, const char *host)
{
	const char *p = list;

	while (*p) {
		size_t n;
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n && no_proxy_entry(host, p, n))
			return 1;
		p += n;
	}
	return 0;
}

int proxy_from_env(struct proxy_cfg *p, const char *target_host, char *err)
{
	const char *name = "https_proxy", *v = getenv(name), *np;
	char e[ERRLEN];

	if (!v || !*v)
		v = getenv(name = "HTTPS_PROXY");
	if (!v || !*v)
		return 0;
	np = getenv("no_proxy");
	if (!np || !*np)
		np = getenv("NO_PROXY");
	if (np && target_host && no_proxy_match(np, target_host))
		return 0;
	if (proxy_parse_url(v, p, e) < 0) {
		snprintf(err, ERRLEN, "%s: %s", name, e);
		return -1;
	}
	return 1;
}

/* ---- the connection to the proxy ---- */

static void fail(struct connect_result *r, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct connect_result *r, uint32_t code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	r->step = "proxy";
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* TCP to the proxy, each of its addresses in turn.  Returns the fd (non-
 * blocking) with addr[64] the address, or -1 with r filled in. */
static int proxy_tcp(const struct proxy_cfg *p, int timeout_ms, char addr[64], struct connect_result *r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai, *a;
	char tried[400] = "";
	int rc, fd = -1, err = 0;

	rc = getaddrinfo(p->host, p->port, &hints, &ai);
	if (rc) {
		fail(r, rc == EAI_NODATA ? IPH_E_NO_DATA : IPH_E_HOST_NOT_FOUND,
		     "cannot resolve the proxy %s: %s", p->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a && fd < 0; a = a->ai_next) {
		net_addr_str(a->ai_addr, addr, 64);
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", tried[0] ? ", " : "", addr);
		fd = tcp_connect_addr(a, timeout_ms, &err);
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		return fd;
	if (err == ECONNREFUSED)
		fail(r, IPH_E_CONNREFUSED, "the proxy %s refused the connection (nothing listens on port %s)", tried, p->port);
	else if (err == ETIMEDOUT)
		fail(r, IPH_E_TIMEDOUT, "no answer from the proxy %s within %d ms", tried, timeout_ms);
	else if (err == ECONNRESET)
		fail(r, IPH_E_CONNRESET, "the proxy %s reset the connection", tried);
	else
		fail(r, IPH_E_TIMEDOUT, "cannot connect to the proxy %s: %s", tried, strerror(err ? err : EIO));
	return -1;
}

/* ---- CONNECT ---- */

struct exchange {
	const struct proxy_cfg *p;
	const char *host, *port;
	char authority[300];            /* host:port as in the request line */
	char addr[64];                  /* the proxy's address */
	int fd, timeout_ms;
	unsigned nc;                    /* Digest nonce count */
	struct proxy_challenge chal;    /* the challenge being answered */
	int have_chal;
	struct http_resp_parser hp;
	struct proxy_resp_info info;
	uint8_t extra[4096];            /* bytes read after the header */
	size_t extra_len;
};

/* Send all of buf within the deadline.  Returns 0, or -1 with errno. */
static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!net_wait_fd(fd, POLLOUT, deadline)) {
				errno = ETIMEDOUT;
				return -1;
			}
		} else {
			return -1;
		}
	}
	return 0;
}

/* The Proxy-Authorization value for x->chal into out.  Returns 0 or -1. */
static int auth_value(struct exchange *x, char *out, size_t outlen)
{
	unsigned char rnd[16];
	char cnonce[33];

	if (x->chal.scheme == PA_BASIC)
		return proxy_basic_value(x->p->user, x->p->pass, out, outlen) < 0 ? -1 : 0;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cnonce + 2 * i, 3, "%02x", rnd[i]);
	return proxy_digest_value(&x->chal, x->p->user, x->p->pass, "CONNECT", x->authority, cnonce,
				  ++x->nc, out, outlen) < 0 ? -1 : 0;
}

/* Send CONNECT (with credentials when a challenge is held).  Returns 0, or
 * -1 with r filled in. */
static int send_connect(struct exchange *x, struct connect_result *r)
{
	char req[2048], auth[1536] = "";
	int n;

	if (x->have_chal && auth_value(x, auth, sizeof(auth)) < 0) {
		fail(r, IPH_E_PROXY_AUTH, "cannot build %s credentials for user '%s' (name or password too long, or ':' in a Basic user name)",
		     x->chal.name, x->p->user);
		return -1;
	}
	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: iphttps/%s\r\n%s%s%s\r\n",
		     x->authority, x->authority, IPHTTPS_VERSION, auth[0] ? "Proxy-Authorization: " : "",
		     auth, auth[0] ? "\r\n" : "");
	OPENSSL_cleanse(auth, sizeof(auth));
	if (n < 0 || (size_t)n >= sizeof(req)) {
		OPENSSL_cleanse(req, sizeof(req));
		fail(r, IPH_E_LOCAL, "the CONNECT request for %s does not fit", x->authority);
		return -1;
	}
	if (send_all(x->fd, req, (size_t)n, ev_now_ms() + (uint64_t)x->timeout_ms) < 0) {
		int e = errno;
		OPENSSL_cleanse(req, sizeof(req));
		fail(r, e == ETIMEDOUT ? IPH_E_TIMEDOUT : IPH_E_PROXY, "sending CONNECT to the proxy %s failed: %s",
		     x->addr, strerror(e));
		return -1;
	}
	OPENSSL_cleanse(req, sizeof(req));
	return 0;
}

/* Read the proxy's answer (skipping 1xx interim answers) into x->hp and
 * x->info, the bytes after it into x->extra.  Returns 0, or -1 with r. */
static int read_answer(struct exchange *x, struct connect_result *r)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)x->timeout_ms;
	uint8_t buf[4096];
	int interim = 0;

	http_resp_init(&x->hp);
	x->extra_len = 0;
	for (;;) {
		size_t used = 0, off = 0;
		ssize_t n = recv(x->fd, buf, sizeof(buf), 0);
		int rc;

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (net_wait_fd(x->fd, POLLIN, deadline))
				continue;
			fail(r, IPH_E_TIMEDOUT, "the proxy %s did not answer CONNECT %s within %d ms",
			     x->addr, x->authority, x->timeout_ms);
			return -1;
		}
		if (n <= 0) {
			fail(r, IPH_E_PROXY, "the proxy %s %s the connection without answering CONNECT %s",
			     x->addr, n < 0 && errno == ECONNRESET ? "reset" : "closed", x->authority);
			return -1;
		}
again:
		rc = http_resp_feed(&x->hp, buf + off, (size_t)n - off, &used);
		if (rc == HTTP_MORE)
			continue;
		if (rc == HTTP_ERROR) {
			fail(r, IPH_E_PROXY, "the proxy %s answered CONNECT with something that is not HTTP: %s",
			     x->addr, x->hp.error ? x->hp.error : "malformed");
			return -1;
		}
		off += used;
		if (x->hp.status < 200 && ++interim <= 4) {
			http_resp_init(&x->hp);
			if (off < (size_t)n)
				goto again;
			continue;
		}
		x->extra_len = (size_t)n - off;
		memcpy(x->extra, buf + off, x->extra_len);
		proxy_resp_scan(x->hp.buf, x->hp.len, &x->info);
		return 0;
	}
}

/* Read and drop the rest of a 407's body so that the connection can carry
 * the next request.  Returns 0, or -1 when the connection must be closed. */
static int drain_body(struct exchange *x)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)x->timeout_ms;
	long long left = x->info.content_length;
	uint8_t buf[4096];

	if (x->info.close || x->info.chunked || left < 0 || left > PROXY_MAX_BODY)
		return -1;
	if ((long long)x->extra_len > left)
		return -1;      /* more than the body: not a proxy we understand */
	left -= (long long)x->extra_len;
	while (left > 0) {
		ssize_t n = recv(x->fd, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!net_wait_fd(x->fd, POLLIN, deadline))
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		left -= n;
	}
	return 0;
}

/* Words for the proxy's answer: "403 Forbidden (Server: squid/5.7, ...)". */
static void answer_words(const struct exchange *x, char *out, size_t len)
{
	snprintf(out, len, "%d %s%s%s%s%s%s%s", x->hp.status, x->hp.reason_phrase,
		 x->hp.server[0] || x->info.squid_error[0] ? " (" : "",
		 x->hp.server[0] ? "Server: " : "", x->hp.server,
		 x->hp.server[0] && x->info.squid_error[0] ? ", " : "",
		 x->info.squid_error[0] ? "X-Squid-Error: " : "", x->info.squid_error);
	if (x->hp.server[0] || x->info.squid_error[0])
		snprintf(out + strlen(out), len - strlen(out), ")");
}

/* A 407: pick the challenge to answer.  Returns 0 to send credentials,
 * -1 with r filled in. */
static int on_407(struct exchange *x, int round, struct connect_result *r)
{
	const struct proxy_challenge *c;
	char offers[400], words[300];

	proxy_describe(&x->info, offers, sizeof(offers));
	answer_words(x, words, sizeof(words));
	if (!x->p->has_auth) {
		fail(r, IPH_E_PROXY_AUTH, "the proxy %s requires authentication (%s; it offers %s): give USER:PASSWORD in the proxy URL",
		     x->addr, words, offers);
		return -1;
	}
	c = proxy_choose(&x->info);
	if (round > 0 && !(c && c->scheme == PA_DIGEST && c->stale && x->chal.scheme == PA_DIGEST)) {
		fail(r, IPH_E_PROXY_AUTH, "the proxy %s answered %s again to the %s credentials of user '%s': wrong user or password",
		     x->addr, words, x->chal.name, x->p->user);
		return -1;
	}
	if (!c) {
		fail(r, IPH_E_PROXY_AUTH, "the proxy %s requires authentication (%s) with %s, none of which iphttps supports (Basic, Digest)",
		     x->addr, words, offers);
		return -1;
	}
	if (!x->have_chal || strcmp(x->chal.nonce, c->nonce))
		x->nc = 0;
	x->chal = *c;
	x->have_chal = 1;
	return 0;
}

/* The answer was 2xx: the tunnel is ready unless the proxy already spoke. */
static int on_ok(struct exchange *x, struct connect_result *r)
{
	if (x->extra_len) {
		fail(r, IPH_E_PROXY, "protocol error: the proxy %s sent %zu bytes after its %d answer to CONNECT, before the TLS handshake began",
		     x->addr, x->extra_len, x->hp.status);
		return -1;
	}
	snprintf(r->peer, sizeof(r->peer), "%s via %s", x->authority, x->addr);
	return 0;
}

/* One CONNECT exchange after another (at most PROXY_ROUNDS), reconnecting
 * when the proxy closes.  Returns the tunnel's fd or -1 with r. */
static int exchange_run(struct exchange *x, struct connect_result *r)
{
	char words[300] = "";

	for (int round = 0; round < PROXY_ROUNDS; round++) {
		if (x->fd < 0 && (x->fd = proxy_tcp(x->p, x->timeout_ms, x->addr, r)) < 0)
			return -1;
		if (send_connect(x, r) < 0 || read_answer(x, r) < 0)
			return -1;
		if (x->hp.status >= 200 && x->hp.status <= 299)
			return on_ok(x, r) < 0 ? -1 : x->fd;
		answer_words(x, words, sizeof(words));
		if (x->hp.status != 407) {
			fail(r, IPH_E_PROXY, "the proxy %s refused CONNECT %s: %s", x->addr, x->authority, words);
			return -1;
		}
		if (on_407(x, round, r) < 0)
			return -1;
		if (drain_body(x) < 0) {
			close(x->fd);
			x->fd = -1;
		}
	}
	fail(r, IPH_E_PROXY_AUTH, "the proxy %s kept answering %s to user '%s'", x->addr, words, x->p->user);
	return -1;
}

int proxy_open(const struct proxy_cfg *p, const char *host, const char *port, int timeout_ms,
	       struct connect_result *r)
{
	struct exchange *x = calloc(1, sizeof(*x));
	int fd;

	if (!x) {
		fail(r, IPH_E_LOCAL, "out of memory");
		return -1;
	}
	x->p = p;
	x->host = host;
	x->port = port;
	x->fd = -1;
	x->timeout_ms = timeout_ms;
	snprintf(x->authority, sizeof(x->authority), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	fd = exchange_run(x, r);
	if (fd < 0 && x->fd >= 0)
		close(x->fd);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
	return fd;
}
