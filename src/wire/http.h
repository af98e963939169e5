/* The HTTP handshake of IP-HTTPS (MS-IPHTTPS 3.1.5, 3.2.5.1).
 *
 * Client: one request, exactly as Windows sends it:
 *   POST /IPHTTPS HTTP/1.1\r\nHost: HOST\r\nContent-Length: 18446744073709551615\r\n\r\n
 * Server: a bounded, incremental request parser; a 200 response with Server and
 * an RFC 7231 Date; error responses (4xx/405) that end the connection.
 * Client side: a bounded, incremental response parser.
 *
 * Error convention: parsers return HTTP_MORE (need more bytes), HTTP_DONE
 * (complete; *consumed says how many input bytes belonged to the header, the
 * rest is the start of the IPv6 stream) or HTTP_ERROR (with an HTTP status to
 * answer and a reason string).  Nothing is allocated: buffers are inside the
 * structs, capped at HTTP_MAX_HEADER. */
#ifndef IPHTTPS_HTTP_H
#define IPHTTPS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_MAX_HEADER 8192
#define HTTP_MAX_PATHS 8
#define IPHTTPS_CONTENT_LENGTH "18446744073709551615"

enum http_result { HTTP_MORE = 0, HTTP_DONE = 1, HTTP_ERROR = -1 };

/* ---- client request ---- */
/* Writes the request into out (NUL-terminated); returns its length, or -1 if
 * it does not fit or host/path contain CR, LF or NUL. */
int http_build_request(char *out, size_t outlen, const char *host, const char *path);

/* ---- server side ---- */
struct http_req_parser {
	size_t max_header;            /* cap, <= HTTP_MAX_HEADER; 0 = HTTP_MAX_HEADER */
	const char *paths[HTTP_MAX_PATHS]; /* accepted paths, NULL-terminated */
	size_t len;                   /* bytes buffered */
	char buf[HTTP_MAX_HEADER + 1];
	/* results */
	int status;                   /* on HTTP_ERROR: 400, 404, 405, 431, 501, 505; 200 on DONE */
	const char *reason;           /* short text for logs */
	char method[16];
	char path[256];
	char host[256];
	int has_content_length;
	uint64_t content_length;
	int done;                     /* internal: set once DONE or ERROR was returned */
};

/* paths NULL means the two paths deployed clients use: /IPHTTPS and /IPTLS.
 * A request path matches a configured one as http.sys matches the URL
 * prefixes of Windows' server: in any ASCII case, with or without a
 * trailing slash, %XX of unreserved characters decoded (/iphttps/ and
 * /%49PHTTPS match /IPHTTPS; /IPHTTPS/x does not).
 * The strings are not copied: they must outlive the parser. */
void http_req_init(struct http_req_parser *p, const char *const *paths, size_t max_header);
/* Feed bytes; on HTTP_DONE *consumed = bytes of data that belonged to the header
 * (on HTTP_MORE all len bytes, on HTTP_ERROR 0).  Fed again after DONE or
 * ERROR, returns the same result and consumes nothing. */
int http_req_feed(struct http_req_parser *p, const uint8_t *data, size_t len, size_t *consumed);

/* "HTTP/1.1 200 OK\r\nServer: X\r\nDate: <RFC 7231 IMF-fixdate>\r\n\r\n"; returns length or -1. */
int http_build_ok(char *out, size_t outlen, const char *server_header, time_t now);
/* An error response with Connection: close, Content-Length 0 (and Allow: POST on 405). */
int http_build_error(char *out, size_t outlen, int status, const char *server_header, time_t now);
const char *http_status_text(int status);
/* RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"; out >= 30 bytes. */
void http_format_date(char *out, size_t outlen, time_t t);

/* ---- client side ---- */
struct http_resp_parser {
	size_t len;
	char buf[HTTP_MAX_HEADER + 1];
	int status;                   /* status code once the status line is parsed */
	char reason_phrase[128];
	char server[128];             /* Server: header, if any */
	char location[256];           /* Location: header, if any */
	char content_type[128];
	char content_length[24];      /* Content-Length: as sent (cut), if any */
	int chunked;                  /* Transfer-Encoding holds "chunked" */
	const char *error;            /* on HTTP_ERROR: what was wrong */
	int done;                     /* internal: set once DONE or ERROR was returned */
};
void http_resp_init(struct http_resp_parser *p);
/* 1 for an interim answer that a final one follows (1xx but 101 Switching
 * Protocols, RFC 9110 15.2), else 0. */
int http_status_is_interim(int status);
/* HTTP_DONE when the header is complete (whatever the status: the caller
 * decides; exactly 200 means LinkUp, and an interim 1xx is followed by the
 * final answer: feed the rest to a fresh parser); HTTP_ERROR on a malformed
 * or oversized header. */
int http_resp_feed(struct http_resp_parser *p, const uint8_t *data, size_t len, size_t *consumed);

#endif
