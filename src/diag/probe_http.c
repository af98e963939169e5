/* The probe's HTTP exchange and link: the client's POST (wire/http.h), the
 * response header, then a Router Solicitation into the IPv6 stream and the
 * Router Advertisement out of it (wire/nd.h, wire/ipv6_stream.h), without a
 * TUN device.  See probe.h, probe_int.h. */
#include "diag/probe_int.h"
#include "errors.h"
#include "wire/http.h"
#include "wire/ipv6_stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The end of an I/O call that did not move bytes. */
enum io_end { IO_TIMEOUT = -2, IO_FAILED = -1, IO_CLOSED = 0 };

/* Takes the connection, its start time and the time allowed; waits until fd
 * is ready for events.  Returns 1 ready, 0 out of time. */
static int wait_io(struct probe_conn *c, short events, const struct timespec *t0, int timeout_ms)
{
	struct pollfd p = { .fd = c->io.fd, .events = events };
	int left, rc;

	do {
		left = timeout_ms - (int)probe_ms_since(t0);
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0;
}

/* Takes the connection after its stream ended or failed; records who ended
 * it into the facts and why into why. */
static uint32_t ended(struct probe_conn *c, char *why, size_t whylen)
{
	struct diag_facts *f = &c->hs->f;
	int e = c->io.sys_errno;

	if (c->io.ssl) {
		errno = e;      /* tls_classify_failure reads it */
		return probe_tls_late_failure(c, c->io.ssl_ret, c->io.ssl_err, why, whylen);
	}
	f->first_close = DIAG_SERVER;
	f->first_close_rst = e == ECONNRESET;
	f->rst[DIAG_SERVER] = f->first_close_rst;
	f->fin[DIAG_SERVER] = !f->first_close_rst;
	snprintf(why, whylen, "the server %s the connection", e == ECONNRESET ? "reset" : e ? "broke" : "closed");
	return e == ECONNRESET ? IPH_E_CONNRESET : IPH_E_CLOSED;
}

/* Write all of buf within the time.  Returns 0, or an io_end with why. */
static int io_write(struct probe_conn *c, const void *buf, size_t len, const struct timespec *t0,
		    int timeout_ms, uint32_t *code, char *why, size_t whylen)
{
	size_t off = 0;

	while (off < len) {
		int n = stream_write(&c->io, (const char *)buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != STREAM_WANT_READ && n != STREAM_WANT_WRITE) {
			*code = ended(c, why, whylen);
			return IO_FAILED;
		}
		if (!wait_io(c, n == STREAM_WANT_READ ? POLLIN : POLLOUT, t0, timeout_ms)) {
			*code = IPH_E_TIMEDOUT;
			snprintf(why, whylen, "could not send within %d ms", timeout_ms);
			return IO_TIMEOUT;
		}
	}
	return 0;
}

/* Read what comes within the time.  Returns the bytes read, or an io_end
 * with code and why. */
static int io_read(struct probe_conn *c, uint8_t *buf, size_t len, const struct timespec *t0,
		   int timeout_ms, uint32_t *code, char *why, size_t whylen)
{
	for (;;) {
		int n = stream_read(&c->io, buf, len);

		if (n > 0)
			return n;
		if (n == STREAM_WANT_READ || n == STREAM_WANT_WRITE) {
			if (wait_io(c, n == STREAM_WANT_READ ? POLLIN : POLLOUT, t0, timeout_ms))
				continue;
			break;
		}
		*code = ended(c, why, whylen);
		if (c->io.ssl)
			return *code == IPH_E_CLOSED ? IO_CLOSED : IO_FAILED;
		return n == STREAM_EOF ? IO_CLOSED : IO_FAILED;
	}
	*code = IPH_E_TIMEDOUT;
	snprintf(why, whylen, "nothing within %d ms", timeout_ms);
	return IO_TIMEOUT;
}

/* ---- HTTP ---- */

/* Takes the answered exchange; what answered, in a few words. */
static void looks_like(struct probe_http *h)
{
	if (h->status == 200) {
		h->looks_iphttps = strncasecmp(h->content_type, "text/", 5) != 0;
		if (h->looks_iphttps)
			snprintf(h->looks, sizeof(h->looks), "looks like an IP-HTTPS server");
		else
			snprintf(h->looks, sizeof(h->looks), "a web server that accepted the POST (Content-Type %s)", h->content_type);
	} else if (h->status / 100 == 3) {
		snprintf(h->looks, sizeof(h->looks), "a web server or portal redirecting elsewhere");
	} else if (h->status == 401 || h->status == 407) {
		snprintf(h->looks, sizeof(h->looks), "an authentication portal or proxy");
	} else {
		snprintf(h->looks, sizeof(h->looks), "a web server, not an IP-HTTPS server");
	}
}

/* Takes the parsed response header; into r->http and the facts. */
static void got_response(struct probe_result *r, struct diag_facts *f,
			 const struct http_resp_parser *p)
{
	struct probe_http *h = &r->http;

	h->answered = 1;
	h->status = p->status;
	snprintf(h->reason, sizeof(h->reason), "%s", p->reason_phrase);
	snprintf(h->server, sizeof(h->server), "%s", p->server);
	snprintf(h->location, sizeof(h->location), "%s", p->location);
	snprintf(h->content_type, sizeof(h->content_type), "%s", p->content_type);
	looks_like(h);
	f->saw_response = 1;
	f->status = p->status;
	snprintf(f->reason, sizeof(f->reason), "%s", p->reason_phrase);
	snprintf(f->http_server, sizeof(f->http_server), "%s", p->server);
	snprintf(f->location, sizeof(f->location), "%s", p->location);
	h->code = p->status == 200 ? IPH_OK : IPH_E_HTTP(p->status);
}

/* TLS 1.3: a server that asked for a client certificate accepts or
 * refuses it only after the client's Finished, when the client already
 * sends data; a refusal then races the POST (and a reset can swallow the
 * alert).  So wait a moment for it first, as a quiet server costs only that
 * moment.  Returns 0 to go on, -1 when the server refused or closed. */
static int tls13_verdict_wait(const struct probe_opts *o, struct probe_conn *c, struct probe_http *h)
{
	struct timespec t0;
	int wait_ms = c->hs->ms * 4 > 250 ? (int)(c->hs->ms * 4) : 250;
	char b;

	if (!c->io.ssl || SSL_version(c->io.ssl) != TLS1_3_VERSION || !c->trace.cert_request)
		return 0;
	if (wait_ms > o->timeout_ms)
		wait_ms = o->timeout_ms;
	probe_clock(&t0);
	for (;;) {
		int n = SSL_peek(c->io.ssl, &b, 1), e;

		if (n > 0)
			return 0;
		e = SSL_get_error(c->io.ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			c->io.ssl_ret = n;
			c->io.ssl_err = e;
			c->io.sys_errno = errno;
			h->code = ended(c, h->why, sizeof(h->why));
			return -1;
		}
		if (!wait_io(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, &t0, wait_ms))
			return 0;
	}
}

/* The POST and its response header.  rest/rest_len get the stream bytes
 * that came with the header.  Returns 0 when a 2xx came. */
static int http_step(const struct probe_opts *o, struct probe_result *r, struct probe_conn *c,
		     uint8_t *rest, size_t *rest_len)
{
	struct probe_http *h = &r->http;
	struct diag_facts *f = &c->hs->f;
	struct http_resp_parser *p = malloc(sizeof(*p));
	char hostport[300], req[1024];
	uint8_t buf[4096];
	struct timespec t0;
	int n, rc = -1;

	h->tried = 1;
	if (tls13_verdict_wait(o, c, h) < 0) {
		h->not_sent = 1;
		free(p);
		return -1;
	}
	if (!p) {
		h->code = IPH_E_LOCAL;
		snprintf(h->why, sizeof(h->why), "out of memory");
		return -1;
	}
	http_resp_init(p);
	if (strcmp(r->url.port, !strcmp(r->url.scheme, "https") ? "443" : "80"))
		snprintf(hostport, sizeof(hostport), strchr(r->url.host, ':') ? "[%s]:%s" : "%s:%s", r->url.host, r->url.port);
	else
		snprintf(hostport, sizeof(hostport), strchr(r->url.host, ':') ? "[%s]" : "%s", r->url.host);
	n = http_build_request(req, sizeof(req), hostport, r->url.path);
	f->app_readable = 1;
	f->saw_request = 1;
	snprintf(f->method, sizeof(f->method), "POST");
	snprintf(f->path, sizeof(f->path), "%s", r->url.path);
	snprintf(f->host, sizeof(f->host), "%s", hostport);
	probe_clock(&t0);
	if (n < 0 || io_write(c, req, (size_t)n, &t0, o->timeout_ms, &h->code, h->why, sizeof(h->why)) < 0)
		goto out;
	for (int interim = 0;;) {
		size_t used = 0, off = 0;
		int got = io_read(c, buf, sizeof(buf), &t0, o->timeout_ms, &h->code, h->why, sizeof(h->why));

		if (got <= 0)
			break;
		/* interim 1xx answers (not 101) are skipped, as the client does */
		while ((n = http_resp_feed(p, buf + off, (size_t)got - off, &used)) == HTTP_DONE &&
		       http_status_is_interim(p->status) && interim++ < 4) {
			off += used;
			http_resp_init(p);
		}
		used += off;
		if (n == HTTP_MORE)
			continue;
		if (n == HTTP_ERROR) {
			h->answered = 1;
			h->code = IPH_E_HTTP_RESPONSE;
			f->saw_response = f->http_error = 1;
			snprintf(f->http_error_text, sizeof(f->http_error_text), "%s", p->error ? p->error : "malformed");
			snprintf(h->why, sizeof(h->why), "the answer is not HTTP: %s", f->http_error_text);
			snprintf(h->looks, sizeof(h->looks), "not an HTTP server");
			break;
		}
		got_response(r, f, p);
		*rest_len = (size_t)got - used;
		memcpy(rest, buf + used, *rest_len);
		rc = h->status == 200 ? 0 : -1;
		break;
	}
out:
	h->ms = probe_ms_since(&t0);
	free(p);
	return rc;
}

/* ---- the link ---- */

/* What the deframer's callback fills. */
struct link_ctx {
	struct probe_result *r;
	struct diag_facts *f;
	const struct timespec *t0;
};

/* The deframer's callback: one IPv6 packet from the server.  Returns 1 (stop)
 * at the first valid Router Advertisement. */
static int packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct link_ctx *x = arg;
	struct probe_link *l = &x->r->link;
	struct ipv6_view v;
	const char *why = NULL;

	l->packets++;
	x->f->v6_packets[DIAG_SERVER]++;
	if (ipv6_parse(pkt, len, &v, NULL) < 0 || v.proto != 58 || v.payload_len < 4 ||
	    pkt[v.payload_off] != ICMP6_TYPE_RA)
		return 0;
	if (nd_parse_ra(&v, pkt, &l->info, &why) < 0) {
		snprintf(l->why, sizeof(l->why), "a malformed Router Advertisement (%s)", why ? why : "?");
		return 0;
	}
	l->ra = 1;
	l->ms = probe_ms_since(x->t0);
	inet_ntop(AF_INET6, &v.src, l->ra_src, sizeof(l->ra_src));
	x->f->saw_ra = 1;
	x->f->ra_router_lifetime = l->info.router_lifetime;
	x->f->ra_mtu = l->info.mtu;
	x->f->ra_routes = l->info.n_routes;
	if (l->info.has_prefix) {
		char a[INET6_ADDRSTRLEN];

		x->f->ra_has_prefix = 1;
		inet_ntop(AF_INET6, &l->info.prefix, a, sizeof(a));
		snprintf(x->f->ra_prefix, sizeof(x->f->ra_prefix), "%s/%u", a, l->info.prefix_len);
	}
	return 1;
}

/* Takes the deframer after a feed; returns 1 when the link step is over. */
static int fed(struct v6_deframer *df, int rc, struct probe_link *l, struct diag_facts *f)
{
	if (rc == 0)
		return 0;
	if (df->error == V6DF_ERR_CALLBACK)
		return 1;
	l->stream_error = 1;
	f->v6_error[DIAG_SERVER] = 1;
	snprintf(f->v6_error_text, sizeof(f->v6_error_text), "server: %s (first byte 0x%02x)",
		 v6df_strerror(df->error), df->bad_byte);
	snprintf(l->why, sizeof(l->why), "the server sent bytes that are not IPv6 packets: %s (first byte 0x%02x)",
		 v6df_strerror(df->error), df->bad_byte);
	return 1;
}

/* A Router Solicitation, then the stream until a Router Advertisement. */
static void link_step(const struct probe_opts *o, struct probe_result *r, struct probe_conn *c,
		      const uint8_t *rest, size_t rest_len)
{
	struct probe_link *l = &r->link;
	struct diag_facts *f = &c->hs->f;
	struct v6_deframer df;
	struct in6_addr src;
	struct timespec t0;
	struct link_ctx x = { .r = r, .f = f, .t0 = &t0 };
	uint8_t pkt[128], buf[4096];
	uint32_t code = 0;
	int n, done;

	l->tried = 1;
	inet_pton(AF_INET6, PROBE_RS_SOURCE, &src);
	n = nd_build_rs(pkt, sizeof(pkt), &src);
	v6df_init(&df, V6DF_MAX_PACKET_LIMIT);
	probe_clock(&t0);
	if (n > 0 && io_write(c, pkt, (size_t)n, &t0, o->timeout_ms, &code, l->why, sizeof(l->why)) == 0) {
		l->rs_sent = f->saw_rs = 1;
		f->v6_packets[DIAG_CLIENT] = 1;
	}
	/* an RA may have come with the response header, unsolicited */
	done = !l->rs_sent || fed(&df, v6df_feed(&df, rest, rest_len, packet, &x), l, f);
	l->early = l->ra;
	while (!done) {
		int got = io_read(c, buf, sizeof(buf), &t0, o->timeout_ms, &code, l->why, sizeof(l->why));

		if (got <= 0) {
			if (got == IO_TIMEOUT)
				snprintf(l->why, sizeof(l->why), "no Router Advertisement within %d ms (%llu IPv6 packet%s received)",
					 o->timeout_ms, (unsigned long long)l->packets, l->packets == 1 ? "" : "s");
			break;
		}
		done = fed(&df, v6df_feed(&df, buf, (size_t)got, packet, &x), l, f);
	}
	if (!l->ra)
		l->ms = probe_ms_since(&t0);
	if (l->stream_error && r->http.status / 100 == 2) {
		r->http.looks_iphttps = 0;
		snprintf(r->http.looks, sizeof(r->http.looks), "a web server that accepted the POST, then sent no IPv6");
	}
	v6df_free(&df);
}

void probe_http_link(const struct probe_opts *o, struct probe_result *r, struct probe_conn *c)
{
	uint8_t rest[HTTP_MAX_HEADER];
	size_t rest_len = 0;

	if (http_step(o, r, c, rest, &rest_len) < 0 || o->no_link)
		return;
	link_step(o, r, c, rest, rest_len);
}
