/* The HTTP handshake of IP-HTTPS (see http.h): the client's request, the
 * server's bounded request parser and responses, the client's bounded response
 * parser.
 *
 * Both parsers gather bytes into the buffer inside their struct until an empty
 * line ends the header; only then is the header parsed, in one pass.  A line
 * ends with LF, optionally preceded by CR (bare LF is accepted, RFC 7230 3.5);
 * a CR anywhere else in a line is malformed. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire/http.h"

static const char *const default_paths[] = { "/IPHTTPS", "/IPTLS", NULL };

/* ---- helpers shared by the parsers and builders ---- */

/* Takes a NUL-terminated string; returns 1 when it has no byte below 0x20 and
 * no DEL (so no CR, LF or other control character), else 0. */
static int
is_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Returns 1 when c may appear in an HTTP token (RFC 7230 3.2.6 tchar). */
static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Returns 1 when the n bytes at s are a nonempty token, else 0. */
static int
is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Copies the n bytes at s into dst (size dstlen > 0), truncated and
 * NUL-terminated; control characters become '?' so the copy is safe to log.
 * Returns 1 when all of it fit, 0 when truncated. */
static int
copy_bounded(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, m = n < dstlen - 1 ? n : dstlen - 1;

	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[m] = '\0';
	return m == n;
}

/* Trims spaces and tabs from both ends of the n bytes at *s (updates both). */
static void
trim_ows(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Returns 1 when the n bytes at s equal the NUL-terminated name, ignoring
 * ASCII case. */
static int
name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* Searches buf[from..to) for the LF that ends a header (one that follows LF or
 * LF CR); earlier bytes of buf may be looked at.  Returns the offset just after
 * that LF, or 0 when the header is not complete. */
static size_t
find_header_end(const char *buf, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Appends up to cap - *blen bytes of data (len bytes) to buf and looks for the
 * end of the header among them.  Sets *taken to the bytes appended; returns the
 * header's length, or 0 when it is not complete yet. */
static size_t
gather(char *buf, size_t *blen, size_t cap, const uint8_t *data, size_t len,
       size_t *taken)
{
	size_t old = *blen, room = cap > old ? cap - old : 0;
	size_t n = len < room ? len : room;

	if (n > 0)
		memcpy(buf + old, data, n);
	*blen = old + n;
	buf[*blen] = '\0';
	*taken = n;
	return find_header_end(buf, old, *blen);
}

/* Cuts the next line out of buf[*pos..end) (end is just after an LF).  Sets
 * *line and *n to the line without its LF or CR LF and advances *pos.
 * Returns 1 for a line, 0 at end, -1 when a CR or NUL stands inside a line. */
static int
next_line(const char *buf, size_t end, size_t *pos, const char **line, size_t *n)
{
	const char *s = buf + *pos, *lf;
	size_t i, len;

	if (*pos >= end)
		return 0;
	lf = memchr(s, '\n', end - *pos);
	if (lf == NULL)
		return -1;
	len = (size_t)(lf - s);
	*pos += len + 1;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\0')
			return -1;
	*line = s;
	*n = len;
	return 1;
}

/* ---- client request ---- */

int
http_build_request(char *out, size_t outlen, const char *host, const char *path)
{
	int n;

	if (out == NULL || host == NULL || path == NULL || *host == '\0' ||
	    *path == '\0' || !is_clean(host) || !is_clean(path) ||
	    strchr(path, ' ') != NULL || strchr(host, ' ') != NULL)
		return -1;
	n = snprintf(out, outlen, "POST %s HTTP/1.1\r\nHost: %s\r\n"
		     "Content-Length: " IPHTTPS_CONTENT_LENGTH "\r\n\r\n",
		     path, host);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

/* ---- server side: request parser ---- */

void
http_req_init(struct http_req_parser *p, const char *const *paths, size_t max_header)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	if (paths == NULL)
		paths = default_paths;
	for (i = 0; i < HTTP_MAX_PATHS && paths[i] != NULL; i++)
		p->paths[i] = paths[i];
	if (max_header == 0 || max_header > HTTP_MAX_HEADER)
		max_header = HTTP_MAX_HEADER;
	p->max_header = max_header;
}

/* Ends the request with an error status and reason.  Returns HTTP_ERROR. */
static int
req_fail(struct http_req_parser *p, int status, const char *reason)
{
	p->status = status;
	p->reason = reason;
	p->done = 1;
	return HTTP_ERROR;
}

/* Takes a request-target (n bytes); stores its path in p->path, without a
 * scheme and authority (absolute-form) and without a query.  Returns 1 when
 * the whole path fit, 0 when it was truncated. */
static int
store_path(struct http_req_parser *p, const char *t, size_t n)
{
	const char *q, *slash;

	if (n > 7 && (strncasecmp(t, "http://", 7) == 0 ||
		      (n > 8 && strncasecmp(t, "https://", 8) == 0))) {
		const char *auth = memchr(t, '/', n) + 2;

		slash = memchr(auth, '/', n - (size_t)(auth - t));
		if (slash == NULL)
			return copy_bounded(p->path, sizeof(p->path), "/", 1);
		n -= (size_t)(slash - t);
		t = slash;
	}
	q = memchr(t, '?', n);
	if (q != NULL)
		n = (size_t)(q - t);
	return copy_bounded(p->path, sizeof(p->path), t, n);
}

/* Parses "METHOD SP target SP HTTP/x.y" (n bytes at l) into p->method and
 * p->path; sets *minor to the HTTP minor version and *whole to 0 when the path
 * did not fit in p->path.  Returns 0, or HTTP_ERROR with the status set (400
 * or 505). */
static int
parse_request_line(struct http_req_parser *p, const char *l, size_t n,
		   int *minor, int *whole)
{
	const char *sp1, *sp2, *target, *ver;
	size_t mlen, tlen, vlen, i;

	sp1 = memchr(l, ' ', n);
	if (sp1 == NULL)
		return req_fail(p, 400, "malformed request line");
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
	if (sp2 == NULL)
		return req_fail(p, 400, "malformed request line");
	mlen = (size_t)(sp1 - l);
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	ver = sp2 + 1;
	vlen = n - (size_t)(ver - l);
	if (!is_token(l, mlen) || tlen == 0)
		return req_fail(p, 400, "malformed request line");
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 || target[i] == 0x7f)
			return req_fail(p, 400, "malformed request target");
	/* a method cut to 15 bytes for the logs can never read "POST" */
	copy_bounded(p->method, sizeof(p->method), l, mlen);
	*whole = store_path(p, target, tlen);
	if (vlen != 8 || strncmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' ||
	    ver[5] < '0' || ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return req_fail(p, 400, "malformed HTTP version");
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
		return req_fail(p, 505, "HTTP version not supported");
	*minor = ver[7] - '0';
	return 0;
}

/* Parses a Content-Length value (n bytes).  Returns 0 with *v set, or -1 when
 * it is not a plain decimal number that fits 64 bits. */
static int
parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Records a Host or Content-Length header; other fields are ignored.  *seen
 * has bit 0 for Host seen.  Returns 0 or HTTP_ERROR with the status set. */
static int
req_field(struct http_req_parser *p, const char *name, size_t nlen,
	  const char *val, size_t vlen, int *seen)
{
	uint64_t cl;

	if (name_is(name, nlen, "Host")) {
		if (*seen & 1)
			return req_fail(p, 400, "duplicate Host header");
		*seen |= 1;
		if (!copy_bounded(p->host, sizeof(p->host), val, vlen))
			return req_fail(p, 400, "Host header too long");
	} else if (name_is(name, nlen, "Content-Length")) {
		if (parse_u64(val, vlen, &cl) < 0)
			return req_fail(p, 400, "bad Content-Length");
		if (p->has_content_length && cl != p->content_length)
			return req_fail(p, 400, "conflicting Content-Length");
		p->has_content_length = 1;
		p->content_length = cl;
	} else if (name_is(name, nlen, "Transfer-Encoding")) {
		return req_fail(p, 501, "Transfer-Encoding not supported");
	}
	return 0;
}

/* Parses one header field line (n bytes at l).  Returns 0 or HTTP_ERROR. */
static int
parse_req_header(struct http_req_parser *p, const char *l, size_t n, int *seen)
{
	const char *colon, *val;
	size_t nlen, vlen, i;

	if (l[0] == ' ' || l[0] == '\t')
		return req_fail(p, 400, "folded header line");
	colon = memchr(l, ':', n);
	if (colon == NULL)
		return req_fail(p, 400, "header line without colon");
	nlen = (size_t)(colon - l);
	if (!is_token(l, nlen))
		return req_fail(p, 400, "malformed header name");
	val = colon + 1;
	vlen = n - nlen - 1;
	trim_ows(&val, &vlen);
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)val[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return req_fail(p, 400, "control character in header value");
	}
	return req_field(p, l, nlen, val, vlen, seen);
}

/* Returns the value of hex digit c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies path s into out (size n > 0) in the form compared: %XX of an
 * unreserved character decoded (RFC 3986 6.2.2.2), other %XX kept, one
 * trailing slash dropped (not from "/").  Returns the length. */
static size_t
path_norm(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < n; s++) {
		int hi, lo;

		if (s[0] == '%' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
			char c = (char)(hi << 4 | lo);

			if (isalnum((unsigned char)c) || strchr("-._~", c) != NULL) {
				out[o++] = c;
				s += 2;
				continue;
			}
		}
		out[o++] = *s;
	}
	if (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
	return o;
}

/* Returns 1 when p->path is one of the accepted paths, matched as http.sys
 * matches the URL prefixes Windows' IP-HTTPS server registers: ASCII case
 * ignored ("the relativeURI portion is case-insensitive", UrlPrefix
 * Strings, HTTP Server API), with or without a trailing slash. */
static int
path_known(const struct http_req_parser *p)
{
	char want[sizeof(p->path)], got[sizeof(p->path)];
	size_t i;

	path_norm(p->path, got, sizeof(got));
	for (i = 0; i < HTTP_MAX_PATHS && p->paths[i] != NULL; i++) {
		path_norm(p->paths[i], want, sizeof(want));
		if (strcasecmp(got, want) == 0)
			return 1;
	}
	return 0;
}

/* Parses the complete header buf[0..end).  Returns HTTP_DONE or HTTP_ERROR
 * with the status set; the checks go from syntax (400, 505) to the path (404)
 * to the method (405). */
static int
parse_request(struct http_req_parser *p, size_t end)
{
	const char *l;
	size_t pos = 0, n;
	int r, seen = 0, minor = 0, whole = 1;

	if (next_line(p->buf, end, &pos, &l, &n) != 1 || n == 0)
		return req_fail(p, 400, "malformed request line");
	if (parse_request_line(p, l, n, &minor, &whole) == HTTP_ERROR)
		return HTTP_ERROR;
	while ((r = next_line(p->buf, end, &pos, &l, &n)) == 1 && n > 0)
		if (parse_req_header(p, l, n, &seen) == HTTP_ERROR)
			return HTTP_ERROR;
	if (r < 0)
		return req_fail(p, 400, "stray CR or NUL in header");
	if (minor == 1 && !(seen & 1))
		return req_fail(p, 400, "no Host header");
	if (!whole || !path_known(p))
		return req_fail(p, 404, "unknown path");
	if (strcmp(p->method, "POST") != 0)
		return req_fail(p, 405, "method not allowed");
	p->status = 200;
	p->reason = "ok";
	p->done = 1;
	return HTTP_DONE;
}

int
http_req_feed(struct http_req_parser *p, const uint8_t *data, size_t len, size_t *consumed)
{
	size_t old = p->len, taken, end;

	if (consumed != NULL)
		*consumed = 0;
	if (p->done)
		return p->status == 200 ? HTTP_DONE : HTTP_ERROR;
	end = gather(p->buf, &p->len, p->max_header, data, len, &taken);
	if (end == 0) {
		if (p->len >= p->max_header)
			return req_fail(p, 431, "request header too large");
		if (consumed != NULL)
			*consumed = taken;
		return HTTP_MORE;
	}
	p->len = end;
	p->buf[end] = '\0';
	if (consumed != NULL)
		*consumed = end - old;
	return parse_request(p, end);
}

/* ---- server side: responses ---- */

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

void
http_format_date(char *out, size_t outlen, time_t t)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (out == NULL || outlen == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Writes "Server: X\r\n" for a usable server header into line (size n), or
 * an empty string for NULL or "".  Returns 0, or -1 when it has control
 * characters or is too long. */
static int
server_line(char *line, size_t n, const char *server_header)
{
	int r;

	line[0] = '\0';
	if (server_header == NULL || *server_header == '\0')
		return 0;
	if (!is_clean(server_header))
		return -1;
	r = snprintf(line, n, "Server: %s\r\n", server_header);
	return (r < 0 || (size_t)r >= n) ? -1 : 0;
}

int
http_build_ok(char *out, size_t outlen, const char *server_header, time_t now)
{
	char date[40], srv[256];
	int n;

	if (out == NULL || server_line(srv, sizeof(srv), server_header) < 0)
		return -1;
	http_format_date(date, sizeof(date), now);
	n = snprintf(out, outlen, "HTTP/1.1 200 OK\r\n%sDate: %s\r\n\r\n", srv, date);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

int
http_build_error(char *out, size_t outlen, int status, const char *server_header, time_t now)
{
	char date[40], srv[256];
	int n;

	if (out == NULL || status < 100 || status > 599 ||
	    server_line(srv, sizeof(srv), server_header) < 0)
		return -1;
	http_format_date(date, sizeof(date), now);
	n = snprintf(out, outlen, "HTTP/1.1 %d %s\r\n%sDate: %s\r\n"
		     "Content-Length: 0\r\nConnection: close\r\n%s\r\n",
		     status, http_status_text(status), srv, date,
		     status == 405 ? "Allow: POST\r\n" : "");
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

/* ---- client side: response parser ---- */

void
http_resp_init(struct http_resp_parser *p)
{
	memset(p, 0, sizeof(*p));
}

int
http_status_is_interim(int status)
{
	return status >= 100 && status <= 199 && status != 101;
}

/* Ends the response with an error.  Returns HTTP_ERROR. */
static int
resp_fail(struct http_resp_parser *p, const char *error)
{
	p->error = error;
	p->done = 1;
	return HTTP_ERROR;
}

/* Parses "HTTP/1.x NNN reason" (n bytes at l; the reason may be missing).
 * Returns 0 with p->status and p->reason_phrase set, or HTTP_ERROR. */
static int
parse_status_line(struct http_resp_parser *p, const char *l, size_t n)
{
	const char *r;
	size_t rlen;
	int code;

	if (n < 12 || strncmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' ||
	    l[7] > '9' || l[8] != ' ')
		return resp_fail(p, "malformed status line");
	if (l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' ||
	    l[11] < '0' || l[11] > '9' || (n > 12 && l[12] != ' '))
		return resp_fail(p, "malformed status code");
	code = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	r = n > 12 ? l + 13 : l + n;
	rlen = n > 12 ? n - 13 : 0;
	copy_bounded(p->reason_phrase, sizeof(p->reason_phrase), r, rlen);
	p->status = code;
	return 0;
}

/* Captures Server, Location, Content-Type, Content-Length and whether
 * Transfer-Encoding is chunked from one header line (n bytes);
 * other fields are skipped, as are continuation lines.  The first occurrence
 * of a field wins.  Returns 0, or HTTP_ERROR for a line without a name. */
static int
parse_resp_header(struct http_resp_parser *p, const char *l, size_t n)
{
	const char *colon, *name = l, *val;
	size_t nlen, vlen;

	if (l[0] == ' ' || l[0] == '\t')
		return 0;
	colon = memchr(l, ':', n);
	if (colon == NULL)
		return resp_fail(p, "header line without colon");
	nlen = (size_t)(colon - l);
	trim_ows(&name, &nlen);
	if (nlen == 0)
		return resp_fail(p, "header line without name");
	val = colon + 1;
	vlen = n - (size_t)(val - l);
	trim_ows(&val, &vlen);
	if (name_is(name, nlen, "Server") && p->server[0] == '\0')
		copy_bounded(p->server, sizeof(p->server), val, vlen);
	else if (name_is(name, nlen, "Location") && p->location[0] == '\0')
		copy_bounded(p->location, sizeof(p->location), val, vlen);
	else if (name_is(name, nlen, "Content-Type") && p->content_type[0] == '\0')
		copy_bounded(p->content_type, sizeof(p->content_type), val, vlen);
	else if (name_is(name, nlen, "Content-Length") && p->content_length[0] == '\0')
		copy_bounded(p->content_length, sizeof(p->content_length), val, vlen);
	else if (name_is(name, nlen, "Transfer-Encoding") && vlen >= 7 &&
		 strncasecmp(val + vlen - 7, "chunked", 7) == 0)
		p->chunked = 1;
	return 0;
}

/* Parses the status line as soon as it is complete in the buffer, and rejects
 * at once a stream that does not start with "HTTP/".  Returns 0 or HTTP_ERROR. */
static int
resp_early(struct http_resp_parser *p)
{
	const char *lf;
	size_t n, m = p->len < 5 ? p->len : 5;

	if (p->status != 0)
		return 0;
	if (strncmp(p->buf, "HTTP/", m) != 0)
		return resp_fail(p, "not an HTTP response");
	lf = memchr(p->buf, '\n', p->len);
	if (lf == NULL)
		return 0;
	n = (size_t)(lf - p->buf);
	if (n > 0 && p->buf[n - 1] == '\r')
		n--;
	return parse_status_line(p, p->buf, n);
}

/* Parses the header lines of buf[0..end) after the status line.  Returns
 * HTTP_DONE or HTTP_ERROR. */
static int
parse_response(struct http_resp_parser *p, size_t end)
{
	const char *l;
	size_t pos = 0, n;
	int r;

	if (next_line(p->buf, end, &pos, &l, &n) != 1)
		return resp_fail(p, "malformed status line");
	while ((r = next_line(p->buf, end, &pos, &l, &n)) == 1 && n > 0)
		if (parse_resp_header(p, l, n) == HTTP_ERROR)
			return HTTP_ERROR;
	if (r < 0)
		return resp_fail(p, "stray CR or NUL in header");
	p->done = 1;
	return HTTP_DONE;
}

int
http_resp_feed(struct http_resp_parser *p, const uint8_t *data, size_t len, size_t *consumed)
{
	size_t old = p->len, taken, end;

	if (consumed != NULL)
		*consumed = 0;
	if (p->done)
		return p->error == NULL ? HTTP_DONE : HTTP_ERROR;
	end = gather(p->buf, &p->len, HTTP_MAX_HEADER, data, len, &taken);
	if (resp_early(p) == HTTP_ERROR)
		return HTTP_ERROR;
	if (end == 0) {
		if (p->len >= HTTP_MAX_HEADER)
			return resp_fail(p, "response header too large");
		if (consumed != NULL)
			*consumed = taken;
		return HTTP_MORE;
	}
	p->len = end;
	p->buf[end] = '\0';
	if (consumed != NULL)
		*consumed = end - old;
	return parse_response(p, end);
}
