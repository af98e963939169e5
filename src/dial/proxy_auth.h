/* What an HTTP proxy's answer to CONNECT says beyond its status (the
 * Proxy-Authenticate challenges, whether the connection stays open, the
 * length of the body), and the Basic (RFC 7617) and Digest (RFC 7616,
 * RFC 2617) credentials that answer a challenge.  Used by proxy.c.
 *
 * Error convention: proxy_resp_scan never fails (malformed parts are
 * skipped, values are truncated to their fields and flagged); the builders
 * return the length written (NUL-terminated) or -1 when the result does not
 * fit or the input cannot be expressed (a Basic user name with ':').
 * Nothing is allocated; buffers holding credentials are cleansed. */
#ifndef IPHTTPS_PROXY_AUTH_H
#define IPHTTPS_PROXY_AUTH_H

#include <stddef.h>

#define PROXY_MAX_CHALLENGES 8

enum proxy_scheme { PA_OTHER = 0, PA_BASIC, PA_DIGEST };

/* Digest algorithms, weakest first (the order proxy_choose prefers). */
enum digest_alg { DA_UNKNOWN = 0, DA_MD5, DA_MD5_SESS, DA_SHA256, DA_SHA256_SESS,
		  DA_SHA512_256, DA_SHA512_256_SESS };

/* One challenge of a Proxy-Authenticate header.  Strings are NUL-terminated,
 * with control characters replaced by '?'. */
struct proxy_challenge {
	enum proxy_scheme scheme;
	char name[32];          /* the scheme as the proxy wrote it */
	char realm[256];
	char nonce[256];
	char opaque[256];
	char algorithm[32];     /* as written; "" means MD5 */
	enum digest_alg alg;    /* Digest: parsed algorithm */
	int qop_auth;           /* qop list offers "auth" */
	int qop_auth_int;       /* qop list offers "auth-int" */
	int stale;              /* stale=true: the nonce expired, not the password */
	int userhash;           /* userhash=true (RFC 7616) */
	int truncated;          /* a value did not fit: the challenge is unusable */
};

struct proxy_resp_info {
	size_t n_chal;
	struct proxy_challenge chal[PROXY_MAX_CHALLENGES];
	int close;              /* Connection/Proxy-Connection: close, or HTTP/1.0 without keep-alive */
	int chunked;            /* a Transfer-Encoding other than identity */
	long long content_length; /* -1 when absent or malformed */
	char squid_error[128];  /* X-Squid-Error, if any */
};

/* Scan the len bytes at hdr, a response header (status line, header lines,
 * optionally the empty line), into info.  Lines end with LF or CRLF; the
 * bytes need not be NUL-terminated. */
void proxy_resp_scan(const char *hdr, size_t len, struct proxy_resp_info *info);

/* The challenge to answer: Digest with the strongest algorithm we know,
 * else Basic; NULL when none is usable. */
const struct proxy_challenge *proxy_choose(const struct proxy_resp_info *info);

/* The offered schemes in words for messages, e.g.
 * "Digest (realm \"proxy\", MD5), Basic (realm \"proxy\"), NTLM". */
void proxy_describe(const struct proxy_resp_info *info, char *out, size_t outlen);

/* "Basic BASE64(user:pass)" into out.  Returns the length or -1. */
int proxy_basic_value(const char *user, const char *pass, char *out, size_t outlen);

/* The Digest answer to c for method and uri (for CONNECT the authority
 * "host:port"), with our cnonce and nonce count nc:
 * "Digest username=..., realm=..., nonce=..., uri=..., response=..., ...".
 * qop=auth when offered (else auth-int with an empty body, else the RFC
 * 2069 form).  Returns the length or -1 (unknown algorithm, no room). */
int proxy_digest_value(const struct proxy_challenge *c, const char *user, const char *pass,
		       const char *method, const char *uri, const char *cnonce, unsigned nc,
		       char *out, size_t outlen);

#endif
