/* Unit tests of the IP-HTTPS HTTP handshake (src/wire/http.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/http.h"

#define WIN_REQ "POST /IPHTTPS HTTP/1.1\r\nHost: da.example.com\r\n" \
		"Content-Length: 18446744073709551615\r\n\r\n"

/* Feeds the whole NUL-terminated string s to a fresh request parser with the
 * default paths.  Returns the result; *consumed as from the parser. */
static int
req_once(struct http_req_parser *p, const char *s, size_t *consumed)
{
	http_req_init(p, NULL, 0);
	return http_req_feed(p, (const uint8_t *)s, strlen(s), consumed);
}

/* Asserts that the request s is refused with status. */
static void
expect_status(const char *s, int status)
{
	static struct http_req_parser p;
	size_t c;

	if (req_once(&p, s, &c) != HTTP_ERROR || p.status != status)
		fail_msg("request %s: got status %d (%s), want %d", s, p.status,
			 p.reason ? p.reason : "-", status);
	assert_non_null(p.reason);
	/* and it stays refused */
	assert_int_equal(http_req_feed(&p, (const uint8_t *)"x", 1, &c), HTTP_ERROR);
	assert_int_equal(c, 0);
}

/* ---- request builder ---- */

static void
test_build_request(void **state)
{
	char out[256];
	int n;

	n = http_build_request(out, sizeof(out), "da.example.com", "/IPHTTPS");
	assert_int_equal(n, strlen(WIN_REQ));
	assert_string_equal(out, WIN_REQ);

	n = http_build_request(out, sizeof(out), "da.example.com:8443", "/IPTLS");
	assert_string_equal(out, "POST /IPTLS HTTP/1.1\r\nHost: da.example.com:8443\r\n"
			    "Content-Length: 18446744073709551615\r\n\r\n");
	assert_int_equal(n, strlen(out));

	/* exactly fitting, then one byte short */
	n = http_build_request(out, strlen(WIN_REQ) + 1, "da.example.com", "/IPHTTPS");
	assert_int_equal(n, strlen(WIN_REQ));
	assert_int_equal(http_build_request(out, strlen(WIN_REQ), "da.example.com",
					    "/IPHTTPS"), -1);
	/* header injection */
	assert_int_equal(http_build_request(out, sizeof(out), "a\r\nX: y", "/IPHTTPS"), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "a", "/IP\nHTTPS"), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "a", "/IP HTTPS"), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "", "/IPHTTPS"), -1);
}

/* ---- request parser ---- */

static void
test_req_windows(void **state)
{
	static struct http_req_parser p;
	size_t c;

	assert_int_equal(req_once(&p, WIN_REQ, &c), HTTP_DONE);
	assert_int_equal(c, strlen(WIN_REQ));
	assert_string_equal(p.method, "POST");
	assert_string_equal(p.path, "/IPHTTPS");
	assert_string_equal(p.host, "da.example.com");
	assert_true(p.has_content_length);
	assert_true(p.content_length == UINT64_MAX);
	/* the spec's example path is accepted by default too */
	assert_int_equal(req_once(&p, "POST /IPTLS HTTP/1.1\r\nHost: h\r\n\r\n", &c),
			 HTTP_DONE);
	assert_false(p.has_content_length);
	/* the builder's output round-trips */
	{
		char out[256];

		http_build_request(out, sizeof(out), "h:443", "/IPHTTPS");
		assert_int_equal(req_once(&p, out, &c), HTTP_DONE);
		assert_string_equal(p.host, "h:443");
	}
}

static void
test_req_every_split(void **state)
{
	static struct http_req_parser p;
	static const char stream[] = WIN_REQ "\x60\x00\x00\x00\x00\x00\x3b\x40";
	size_t n = sizeof(stream) - 1, hlen = strlen(WIN_REQ), cut, c1, c2;
	int r;

	for (cut = 0; cut <= n; cut++) {
		http_req_init(&p, NULL, 0);
		r = http_req_feed(&p, (const uint8_t *)stream, cut, &c1);
		if (cut < hlen) {
			assert_int_equal(r, HTTP_MORE);
			assert_int_equal(c1, cut);
			r = http_req_feed(&p, (const uint8_t *)stream + cut, n - cut, &c2);
			assert_int_equal(r, HTTP_DONE);
			assert_int_equal(c1 + c2, hlen);
		} else {
			assert_int_equal(r, HTTP_DONE);
			assert_int_equal(c1, hlen);
		}
		assert_string_equal(p.path, "/IPHTTPS");
		assert_string_equal(p.host, "da.example.com");
		assert_true(p.content_length == UINT64_MAX);
		/* fed again after DONE: nothing taken */
		assert_int_equal(http_req_feed(&p, (const uint8_t *)"x", 1, &c2), HTTP_DONE);
		assert_int_equal(c2, 0);
	}
}

static void
test_req_byte_by_byte(void **state)
{
	static struct http_req_parser p;
	const char *s = "POST /IPHTTPS HTTP/1.1\nHost: a\nContent-Length: 5\n\nXYZ";
	size_t i, c, total = 0;
	int r = HTTP_MORE;

	http_req_init(&p, NULL, 0);
	for (i = 0; r == HTTP_MORE; i++) {
		r = http_req_feed(&p, (const uint8_t *)s + i, 1, &c);
		total += c;
	}
	assert_int_equal(r, HTTP_DONE);
	assert_int_equal(total, strlen(s) - 3);    /* bare LF accepted */
	assert_true(p.content_length == 5);
}

static void
test_req_errors(void **state)
{
	/* 400: malformed request line or header */
	expect_status("GARBAGE\r\n\r\n", 400);
	expect_status("\r\n\r\n", 400);
	expect_status("POST /IPHTTPS\r\nHost: a\r\n\r\n", 400);
	expect_status("POST  /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1 x\r\nHost: a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTQ/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.x\r\nHost: a\r\n\r\n", 400);
	expect_status("PO(ST /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nContent-Length: 1\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n"
		      "Content-Length: abc\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n"
		      "Content-Length: 18446744073709551616\r\n\r\n", 400);
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n"
		      "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
	/* 505: a well-formed but unsupported version */
	expect_status("POST /IPHTTPS HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	expect_status("POST /IPHTTPS HTTP/1.2\r\nHost: a\r\n\r\n", 505);
	expect_status("POST /IPHTTPS HTTP/0.9\r\n\r\n", 505);
	/* 404 for unknown paths, whatever the method; 405 for known ones */
	expect_status("POST /foo HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("GET /foo HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("POST /IPHTTPS/x HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("POST /IPHTTPSX HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("POST /IPHTTPS// HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("POST /IPHTTP%53%2F HTTP/1.1\r\nHost: a\r\n\r\n", 404);
	expect_status("GET /iphttps/ HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_status("GET /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_status("post /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_status("PUT /IPTLS?x HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	/* 501: a transfer coding would break the packet stream */
	expect_status("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n", 501);
}

/* Asserts that the request s is accepted (200). */
static void
expect_ok(const char *s)
{
	static struct http_req_parser p;
	size_t c;

	if (req_once(&p, s, &c) != HTTP_DONE || p.status != 200)
		fail_msg("request %s: got status %d (%s), want 200", s, p.status,
			 p.reason ? p.reason : "-");
}

/* Paths as http.sys matches the URL prefixes Windows' server registers:
 * "the relativeURI portion is case-insensitive" (UrlPrefix Strings, HTTP
 * Server API), and a registered prefix ends with a slash. */
static void
test_req_paths_as_http_sys(void **state)
{
	static struct http_req_parser p;
	static const char *const slash[] = { "/Tunnel/", NULL };
	size_t c;

	expect_ok("POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /iphttps HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /IPHTTPS/ HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /IpHttPs/ HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /iptls HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /IPTLS/ HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /%49PHTTPS HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /IPHTTP%73/ HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST /iphttps?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok("POST https://a/IPHTTPS/ HTTP/1.1\r\nHost: a\r\n\r\n");
	/* a configured path with a trailing slash takes both forms too */
	for (int i = 0; i < 2; i++) {
		const char *req = i ? "POST /TUNNEL/ HTTP/1.1\r\nHost: a\r\n\r\n" :
				      "POST /tunnel HTTP/1.1\r\nHost: a\r\n\r\n";

		http_req_init(&p, slash, 0);
		assert_int_equal(http_req_feed(&p, (const uint8_t *)req, strlen(req), &c), HTTP_DONE);
	}
}

static void
test_req_header_cap(void **state)
{
	static struct http_req_parser p;
	char *big = malloc(HTTP_MAX_HEADER + 100);
	size_t c, n;
	const char *hdr = "POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n";

	/* a default cap of HTTP_MAX_HEADER: 9000 bytes of header is too much */
	assert_non_null(big);
	n = (size_t)snprintf(big, HTTP_MAX_HEADER + 100, "POST /IPHTTPS HTTP/1.1\r\nX: ");
	memset(big + n, 'a', HTTP_MAX_HEADER + 100 - n);
	http_req_init(&p, NULL, 0);
	assert_int_equal(p.max_header, HTTP_MAX_HEADER);
	assert_int_equal(http_req_feed(&p, (uint8_t *)big, 4000, &c), HTTP_MORE);
	assert_int_equal(http_req_feed(&p, (uint8_t *)big + 4000, HTTP_MAX_HEADER + 100 - 4000, &c),
			 HTTP_ERROR);
	assert_int_equal(p.status, 431);
	free(big);

	/* a small cap: the header fits exactly, or not by one byte */
	http_req_init(&p, NULL, strlen(hdr));
	assert_int_equal(http_req_feed(&p, (const uint8_t *)hdr, strlen(hdr), &c), HTTP_DONE);
	assert_int_equal(c, strlen(hdr));
	http_req_init(&p, NULL, strlen(hdr) - 1);
	assert_int_equal(http_req_feed(&p, (const uint8_t *)hdr, strlen(hdr), &c), HTTP_ERROR);
	assert_int_equal(p.status, 431);
	/* a cap above the buffer is clamped */
	http_req_init(&p, NULL, 1 << 20);
	assert_int_equal(p.max_header, HTTP_MAX_HEADER);
}

static void
test_req_paths(void **state)
{
	static struct http_req_parser p;
	static const char *const mine[] = { "/tunnel", NULL };
	const char *s;
	size_t c;

	/* query strings are stripped before comparison */
	assert_int_equal(req_once(&p, "POST /IPHTTPS?x=1&y HTTP/1.1\r\nHost: a\r\n\r\n", &c),
			 HTTP_DONE);
	assert_string_equal(p.path, "/IPHTTPS");
	/* absolute-form, as sent through some proxies */
	assert_int_equal(req_once(&p, "POST https://a:443/IPTLS HTTP/1.1\r\nHost: a\r\n\r\n", &c),
			 HTTP_DONE);
	assert_string_equal(p.path, "/IPTLS");
	/* header names are case-insensitive, values trimmed */
	assert_int_equal(req_once(&p, "POST /IPHTTPS HTTP/1.1\r\nhOsT:   b.example \t\r\n"
				  "content-LENGTH: 42\r\nX-Other: z\r\n\r\n", &c), HTTP_DONE);
	assert_string_equal(p.host, "b.example");
	assert_true(p.content_length == 42);
	/* HTTP/1.0 needs no Host */
	assert_int_equal(req_once(&p, "POST /IPHTTPS HTTP/1.0\r\n\r\n", &c), HTTP_DONE);
	/* a caller's own list replaces the defaults */
	s = "POST /tunnel HTTP/1.1\r\nHost: a\r\n\r\n";
	http_req_init(&p, mine, 0);
	assert_int_equal(http_req_feed(&p, (const uint8_t *)s, strlen(s), &c), HTTP_DONE);
	s = "POST /IPHTTPS HTTP/1.1\r\nHost: a\r\n\r\n";
	http_req_init(&p, mine, 0);
	assert_int_equal(http_req_feed(&p, (const uint8_t *)s, strlen(s), &c), HTTP_ERROR);
	assert_int_equal(p.status, 404);
}

static void
test_req_long_path(void **state)
{
	static struct http_req_parser p;
	static const char *const longp[] = { NULL, NULL };
	char path[400], req[600];
	size_t c;

	/* a path longer than p.path never matches, even if its start does */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	path[255] = '\0';
	http_req_init(&p, (const char *const[]){ path, NULL }, 0);
	assert_int_equal(http_req_feed(&p, (const uint8_t *)req, strlen(req), &c), HTTP_ERROR);
	assert_int_equal(p.status, 404);
	assert_int_equal(strlen(p.path), 255);
	/* an empty list accepts nothing */
	http_req_init(&p, longp, 0);
	assert_int_equal(http_req_feed(&p, (const uint8_t *)WIN_REQ, strlen(WIN_REQ), &c),
			 HTTP_ERROR);
	assert_int_equal(p.status, 404);
}

/* ---- responses ---- */

static void
test_date(void **state)
{
	char d[64];

	http_format_date(d, sizeof(d), 784111777);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_format_date(d, sizeof(d), 0);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_format_date(d, sizeof(d), 951782400);
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	http_format_date(d, sizeof(d), 1700000000);
	assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 GMT");
	http_format_date(d, 30, 253402300799);
	assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 GMT");
}

static void
test_build_ok(void **state)
{
	char out[256];
	int n;

	n = http_build_ok(out, sizeof(out), "Microsoft-HTTPAPI/2.0", 784111777);
	assert_string_equal(out, "HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
			    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	assert_int_equal(n, strlen(out));
	assert_int_equal(http_build_ok(out, (size_t)n, "Microsoft-HTTPAPI/2.0", 0), -1);
	assert_int_equal(http_build_ok(out, sizeof(out), "x\r\nSet-Cookie: a", 0), -1);
}

static void
test_build_error(void **state)
{
	char out[512];
	int n;

	n = http_build_error(out, sizeof(out), 405, "iphttps", 784111777);
	assert_string_equal(out, "HTTP/1.1 405 Method Not Allowed\r\nServer: iphttps\r\n"
			    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n"
			    "Connection: close\r\nAllow: POST\r\n\r\n");
	assert_int_equal(n, strlen(out));
	n = http_build_error(out, sizeof(out), 404, "iphttps", 0);
	assert_true(n > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_null(strstr(out, "Allow:"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
	assert_string_equal(http_status_text(505), "HTTP Version Not Supported");
	assert_string_equal(http_status_text(400), "Bad Request");
	assert_int_equal(http_build_error(out, sizeof(out), 42, "x", 0), -1);
	assert_int_equal(http_build_error(out, 20, 400, "x", 0), -1);
}

/* ---- response parser ---- */

static void
test_resp_ok_every_split(void **state)
{
	static struct http_resp_parser p;
	char s[512];
	size_t hlen, n, cut, c1, c2;
	int r;

	hlen = (size_t)http_build_ok(s, sizeof(s), "Microsoft-HTTPAPI/2.0", 784111777);
	memcpy(s + hlen, "\x60\x00\x00\x00", 4);
	n = hlen + 4;
	for (cut = 0; cut <= n; cut++) {
		http_resp_init(&p);
		r = http_resp_feed(&p, (uint8_t *)s, cut, &c1);
		c2 = 0;
		if (r == HTTP_MORE) {
			assert_true(cut < hlen);
			assert_int_equal(c1, cut);
			r = http_resp_feed(&p, (uint8_t *)s + cut, n - cut, &c2);
		}
		assert_int_equal(r, HTTP_DONE);
		assert_int_equal(c1 + c2, hlen);
		assert_int_equal(p.status, 200);
		assert_string_equal(p.reason_phrase, "OK");
		assert_string_equal(p.server, "Microsoft-HTTPAPI/2.0");
		assert_int_equal(http_resp_feed(&p, (uint8_t *)"x", 1, &c1), HTTP_DONE);
		assert_int_equal(c1, 0);
	}
}

static void
test_resp_web_404(void **state)
{
	static struct http_resp_parser p;
	static const char s[] =
		"HTTP/1.1 404 Not Found\r\n"
		"Server: nginx/1.22.1\r\n"
		"Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
		"Content-Type: text/html\r\n"
		"Content-Length: 153\r\n"
		"Connection: keep-alive\r\n"
		"\r\n"
		"<html>\r\n<head><title>404 Not Found</title></head>\r\n";
	size_t c;

	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)s, sizeof(s) - 1, &c), HTTP_DONE);
	assert_int_equal(p.status, 404);
	assert_string_equal(p.reason_phrase, "Not Found");
	assert_string_equal(p.server, "nginx/1.22.1");
	assert_string_equal(p.content_type, "text/html");
	assert_string_equal(p.location, "");
	assert_int_equal(c, strstr(s, "<html>") - s);
}

static void
test_resp_redirect(void **state)
{
	static struct http_resp_parser p;
	static const char s[] =
		"HTTP/1.0 302 Found\r\n"
		"location: https://portal.example.com/login?next=%2FIPHTTPS\r\n"
		"SERVER:Microsoft-IIS/10.0\r\n"
		"\r\n";
	size_t c;

	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)s, sizeof(s) - 1, &c), HTTP_DONE);
	assert_int_equal(p.status, 302);
	assert_string_equal(p.location, "https://portal.example.com/login?next=%2FIPHTTPS");
	assert_string_equal(p.server, "Microsoft-IIS/10.0");
	assert_int_equal(c, sizeof(s) - 1);
}

/* A 100 Continue, then a 200 carrying a web page: the parser stops after the
 * interim answer, the client starts a fresh one on the rest, and the
 * final answer's body announcement is kept (connect.c notes it). */
static void
test_resp_interim_then_page(void **state)
{
	static struct http_resp_parser p;
	static const char s[] =
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/html\r\n"
		"Transfer-Encoding: gzip, chunked\r\n\r\nhello world\n";
	size_t c, off;

	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)s, sizeof(s) - 1, &c), HTTP_DONE);
	assert_int_equal(p.status, 100);
	assert_true(http_status_is_interim(p.status));
	off = c;
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)s + off, sizeof(s) - 1 - off, &c),
			 HTTP_DONE);
	assert_int_equal(p.status, 200);
	assert_false(http_status_is_interim(p.status));
	assert_string_equal(p.content_length, "12");
	assert_true(p.chunked);
	assert_string_equal(s + off + c, "hello world\n");
	assert_false(http_status_is_interim(101));
	assert_true(http_status_is_interim(103));
}

static void
test_resp_bare_lf(void **state)
{
	static struct http_resp_parser p;
	static const char s[] = "HTTP/1.1 200\nServer: x\n  continued\nContent-Type: "
				"application/octet-stream\n\n\x60";
	size_t i, c, total = 0;
	int r = HTTP_MORE;

	http_resp_init(&p);
	for (i = 0; r == HTTP_MORE; i++) {
		r = http_resp_feed(&p, (const uint8_t *)s + i, 1, &c);
		total += c;
	}
	assert_int_equal(r, HTTP_DONE);
	assert_int_equal(total, sizeof(s) - 2);
	assert_int_equal(p.status, 200);
	assert_string_equal(p.reason_phrase, "");
	assert_string_equal(p.server, "x");
	assert_string_equal(p.content_type, "application/octet-stream");
}

static void
test_resp_errors(void **state)
{
	static struct http_resp_parser p;
	char *big = malloc(HTTP_MAX_HEADER + 10);
	char longv[400];
	size_t c, n;

	/* a TLS alert instead of HTTP: refused at once */
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"\x15\x03\x03", 3, &c), HTTP_ERROR);
	assert_non_null(p.error);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, &c),
			 HTTP_ERROR);
	/* a malformed status line */
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"HTTP/1.1 2x0 OK\r\n", 17, &c),
			 HTTP_ERROR);
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"HTTP/2 200\r\n", 12, &c),
			 HTTP_ERROR);
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"HTTP/1.1 200 OK\r\nX\r\n\r\n", 22, &c),
			 HTTP_ERROR);
	/* the status is known as soon as its line is complete */
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (const uint8_t *)"HTTP/1.1 503 Busy\r\nSer", 22, &c),
			 HTTP_MORE);
	assert_int_equal(p.status, 503);
	assert_string_equal(p.reason_phrase, "Busy");
	/* oversized */
	assert_non_null(big);
	n = (size_t)snprintf(big, HTTP_MAX_HEADER + 10, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + n, 'a', HTTP_MAX_HEADER + 10 - n);
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (uint8_t *)big, HTTP_MAX_HEADER + 10, &c), HTTP_ERROR);
	assert_non_null(p.error);
	free(big);
	/* long values are cut to the field, control characters replaced */
	memset(longv, 'v', sizeof(longv));
	n = (size_t)snprintf(longv, sizeof(longv), "HTTP/1.1 200 OK\r\nServer: \x7f");
	longv[n] = 'v';                         /* no NUL inside the header */
	memcpy(longv + sizeof(longv) - 4, "\r\n\r\n", 4);
	http_resp_init(&p);
	assert_int_equal(http_resp_feed(&p, (uint8_t *)longv, sizeof(longv), &c), HTTP_DONE);
	assert_int_equal(strlen(p.server), sizeof(p.server) - 1);
	assert_int_equal(p.server[0], '?');
	assert_int_equal(p.server[1], 'v');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_req_windows),
		cmocka_unit_test(test_req_every_split),
		cmocka_unit_test(test_req_byte_by_byte),
		cmocka_unit_test(test_req_errors),
		cmocka_unit_test(test_req_paths_as_http_sys),
		cmocka_unit_test(test_req_header_cap),
		cmocka_unit_test(test_req_paths),
		cmocka_unit_test(test_req_long_path),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_build_ok),
		cmocka_unit_test(test_build_error),
		cmocka_unit_test(test_resp_ok_every_split),
		cmocka_unit_test(test_resp_web_404),
		cmocka_unit_test(test_resp_redirect),
		cmocka_unit_test(test_resp_bare_lf),
		cmocka_unit_test(test_resp_errors),
		cmocka_unit_test(test_resp_interim_then_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
