/* Proxy answers and proxy credentials: see proxy_auth.h. */
#include "dial/proxy_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- small bounded text helpers ---- */

/* 1 when c may appear in an HTTP token (RFC 7230 3.2.6). */
static int tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Copy n bytes at s into dst[dstlen], NUL-terminated, control characters
 * made '?'.  Returns 1 when it all fit, 0 when truncated. */
static int copy_clean(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t m = n < dstlen - 1 ? n : dstlen - 1;

	for (size_t i = 0; i < m; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[m] = 0;
	return m == n;
}

/* 1 when the n bytes at s equal the NUL-terminated word w, ignoring case. */
static int word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(s, w, n);
}

/* The first byte of [s, end) that is not a space or tab (or end). */
static const char *skip_ows(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* 1 when the comma-separated list at [s, end) holds the token w. */
static int list_has(const char *s, const char *end, const char *w)
{
	while (s < end) {
		const char *t, *e;
		s = skip_ows(s, end);
		for (t = s; t < end && *t != ','; t++)
			;
		e = t;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (word_is(s, (size_t)(e - s), w))
			return 1;
		s = t < end ? t + 1 : end;
	}
	return 0;
}

/* ---- Proxy-Authenticate ---- */

/* The algorithm named a (case-insensitive; "" is MD5), or DA_UNKNOWN. */
static enum digest_alg alg_parse(const char *a)
{
	static const struct { const char *name; enum digest_alg alg; } t[] = {
		{ "", DA_MD5 }, { "MD5", DA_MD5 }, { "MD5-sess", DA_MD5_SESS },
		{ "SHA-256", DA_SHA256 }, { "SHA-256-sess", DA_SHA256_SESS },
		{ "SHA-512-256", DA_SHA512_256 }, { "SHA-512-256-sess", DA_SHA512_256_SESS },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(a, t[i].name))
			return t[i].alg;
	return DA_UNKNOWN;
}

/* Read a quoted-string at *s (which points at the opening quote) into
 * dst[dstlen], unescaped; *s moves past the closing quote (or to end when
 * unterminated).  Returns 1 when it fit, 0 when truncated. */
static int quoted(const char **s, const char *end, char *dst, size_t dstlen)
{
	const char *p = *s + 1;
	size_t n = 0;
	int fit = 1;

	while (p < end && *p != '"') {
		char c = *p++;
		if (c == '\\' && p < end)
			c = *p++;
		if (n + 1 < dstlen)
			dst[n++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
		else
			fit = 0;
	}
	dst[n] = 0;
	*s = p < end ? p + 1 : end;
	return fit;
}

/* Store parameter name=value into challenge c. */
static void set_param(struct proxy_challenge *c, const char *name, size_t nlen, const char *val,
		      int fit)
{
	char *dst = NULL;
	size_t dlen = 0;

	if (word_is(name, nlen, "realm"))
		dst = c->realm, dlen = sizeof(c->realm);
	else if (word_is(name, nlen, "nonce"))
		dst = c->nonce, dlen = sizeof(c->nonce);
	else if (word_is(name, nlen, "opaque"))
		dst = c->opaque, dlen = sizeof(c->opaque);
	else if (word_is(name, nlen, "algorithm"))
		dst = c->algorithm, dlen = sizeof(c->algorithm);
	else if (word_is(name, nlen, "qop")) {
		c->qop_auth = list_has(val, val + strlen(val), "auth");
		c->qop_auth_int = list_has(val, val + strlen(val), "auth-int");
	} else if (word_is(name, nlen, "stale")) {
		c->stale = !strcasecmp(val, "true");
	} else if (word_is(name, nlen, "userhash")) {
		c->userhash = !strcasecmp(val, "true");
	}
	if (dst) {
		fit &= copy_clean(dst, dlen, val, strlen(val));
		if (!fit)
			c->truncated = 1;
	}
}

/* Start a new challenge for the scheme token at [s, s+n). */
static struct proxy_challenge *new_challenge(struct proxy_resp_info *info, const char *s, size_t n)
{
	struct proxy_challenge *c;

	if (info->n_chal >= PROXY_MAX_CHALLENGES)
		return NULL;
	c = &info->chal[info->n_chal++];
	memset(c, 0, sizeof(*c));
	copy_clean(c->name, sizeof(c->name), s, n);
	c->scheme = word_is(s, n, "Basic") ? PA_BASIC : word_is(s, n, "Digest") ? PA_DIGEST : PA_OTHER;
	return c;
}

/* Parse one Proxy-Authenticate value [s, end): challenges separated by
 * commas, each a scheme followed by auth-params (or a token68). */
static void parse_challenges(struct proxy_resp_info *info, const char *s, const char *end)
{
	struct proxy_challenge *cur = NULL;
	char val[512];

	while (s < end) {
		const char *tok, *before = s;
		size_t tlen;

		while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
		for (tok = s; s < end && tchar((unsigned char)*s); s++)
			;
		tlen = (size_t)(s - tok);
		s = skip_ows(s, end);
		if (tlen && s < end && *s == '=' && cur) {
			int fit = 1;
			s = skip_ows(s + 1, end);
			if (s < end && *s == '"') {
				fit = quoted(&s, end, val, sizeof(val));
			} else {
				const char *v = s;
				while (s < end && *s != ',' && *s != ' ' && *s != '\t')
					s++;
				fit = copy_clean(val, sizeof(val), v, (size_t)(s - v));
			}
			set_param(cur, tok, tlen, val, fit);
		} else if (tlen && !(s < end && *s == '=')) {
			cur = new_challenge(info, tok, tlen);
		} else {
			/* A token68 ("abc==") or garbage: skip to the next comma. */
			while (s < end && *s != ',')
				s++;
		}
		if (s == before)
			s++;
	}
}

/* Scan one header line [l, l+n). */
static void scan_line(struct proxy_resp_info *info, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n), *v, *end = l + n, *name_end;

	if (!colon || l[0] == ' ' || l[0] == '\t')
		return;
	for (name_end = colon; name_end > l && (name_end[-1] == ' ' || name_end[-1] == '\t'); name_end--)
		;
	v = skip_ows(colon + 1, end);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (word_is(l, (size_t)(name_end - l), "Proxy-Authenticate")) {
		parse_challenges(info, v, end);
	} else if (word_is(l, (size_t)(name_end - l), "Connection") ||
		   word_is(l, (size_t)(name_end - l), "Proxy-Connection")) {
		if (list_has(v, end, "close"))
			info->close = 1;
		else if (list_has(v, end, "keep-alive"))
			info->close = 0;
	} else if (word_is(l, (size_t)(name_end - l), "Content-Length")) {
		long long cl = 0;
		const char *p = v;
		for (; p < end && *p >= '0' && *p <= '9' && cl < (1LL << 40); p++)
			cl = cl * 10 + (*p - '0');
		info->content_length = (p == end && p > v) ? cl : -1;
		if (info->content_length < 0)
			info->close = 1;
	} else if (word_is(l, (size_t)(name_end - l), "Transfer-Encoding")) {
		if (!word_is(v, (size_t)(end - v), "identity"))
			info->chunked = 1;
	} else if (word_is(l, (size_t)(name_end - l), "X-Squid-Error") && !info->squid_error[0]) {
		copy_clean(info->squid_error, sizeof(info->squid_error), v, (size_t)(end - v));
	}
}

void proxy_resp_scan(const char *hdr, size_t len, struct proxy_resp_info *info)
{
	const char *p = hdr, *end = hdr + len;
	int first = 1;

	memset(info, 0, sizeof(*info));
	info->content_length = -1;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *le = lf ? lf : end;
		size_t n = (size_t)(le - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (first) {
			/* HTTP/1.0 closes unless it says keep-alive. */
			info->close = n >= 8 && !strncmp(p, "HTTP/1.0", 8);
			first = 0;
		} else if (n == 0) {
			break;
		} else {
			scan_line(info, p, n);
		}
		p = lf ? lf + 1 : end;
	}
}

const struct proxy_challenge *proxy_choose(const struct proxy_resp_info *info)
{
	const struct proxy_challenge *best = NULL;

	for (size_t i = 0; i < info->n_chal; i++) {
		const struct proxy_challenge *c = &info->chal[i];
		if (c->truncated)
			continue;
		if (c->scheme == PA_DIGEST) {
			if (!c->nonce[0] || alg_parse(c->algorithm) == DA_UNKNOWN)
				continue;
			if (!best || best->scheme != PA_DIGEST ||
			    alg_parse(c->algorithm) > alg_parse(best->algorithm))
				best = c;
		} else if (c->scheme == PA_BASIC && !best) {
			best = c;
		}
	}
	return best;
}

void proxy_describe(const struct proxy_resp_info *info, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = 0;
	for (size_t i = 0; i < info->n_chal && off < outlen; i++) {
		const struct proxy_challenge *c = &info->chal[i];
		int n;
		if (c->scheme == PA_DIGEST)
			n = snprintf(out + off, outlen - off, "%s%s (realm \"%s\", %s)", i ? ", " : "",
				     c->name, c->realm, c->algorithm[0] ? c->algorithm : "MD5");
		else if (c->scheme == PA_BASIC)
			n = snprintf(out + off, outlen - off, "%s%s (realm \"%s\")", i ? ", " : "", c->name,
				     c->realm);
		else
			n = snprintf(out + off, outlen - off, "%s%s", i ? ", " : "", c->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!info->n_chal)
		snprintf(out, outlen, "no scheme (no Proxy-Authenticate header)");
}

/* ---- credentials ---- */

int proxy_basic_value(const char *user, const char *pass, char *out, size_t outlen)
{
	unsigned char in[300];
	size_t ul = strlen(user), pl = strlen(pass);
	int n;

	if (strchr(user, ':') || ul + 1 + pl > sizeof(in) || outlen < 6 + 4 * ((ul + pl + 3) / 3) + 1)
		return -1;
	memcpy(in, user, ul);
	in[ul] = ':';
	memcpy(in + ul + 1, pass, pl);
	memcpy(out, "Basic ", 6);
	n = EVP_EncodeBlock((unsigned char *)out + 6, in, (int)(ul + 1 + pl));
	OPENSSL_cleanse(in, sizeof(in));
	return n < 0 ? -1 : 6 + n;
}

/* The hash of Digest algorithm a, or NULL. */
static const EVP_MD *alg_md(enum digest_alg a)
{
	switch (a) {
	case DA_MD5:
	case DA_MD5_SESS:
		return EVP_md5();
	case DA_SHA256:
	case DA_SHA256_SESS:
		return EVP_sha256();
	case DA_SHA512_256:
	case DA_SHA512_256_SESS:
		return EVP_sha512_256();
	default:
		return NULL;
	}
}

/* Lower-case hex of the hash of the NULL-terminated strings joined by ':'
 * into hex[129].  Returns 0, -1 on an OpenSSL failure. */
static int hash_join(const EVP_MD *md, char hex[129], ...)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	const char *s;
	va_list ap;
	int ok, first = 1;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, md, NULL);
	va_start(ap, hex);
	while (ok && (s = va_arg(ap, const char *))) {
		if (!first)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		ok = ok && EVP_DigestUpdate(ctx, s, strlen(s));
		first = 0;
	}
	va_end(ap);
	ok = ok && EVP_DigestFinal_ex(ctx, d, &dl);
	EVP_MD_CTX_free(ctx);
	if (!ok || dl > 64)
		return -1;
	for (unsigned int i = 0; i < dl; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	hex[2 * dl] = 0;
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

/* s with '"' and '\' escaped for a quoted-string, into out[outlen].
 * Returns 0, -1 when it does not fit. */
static int esc(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s; s++) {
		if (n + 3 > outlen)
			return -1;
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = 0;
	return 0;
}

int proxy_digest_value(const struct proxy_challenge *c, const char *user, const char *pass,
		       const char *method, const char *uri, const char *cnonce, unsigned nc,
		       char *out, size_t outlen)
{
	enum digest_alg a = alg_parse(c->algorithm);
	const EVP_MD *md = alg_md(a);
	char ha1[129], ha2[129], resp[129], uname[129], body[129], ncs[9];
	char e_user[300], e_realm[520], e_nonce[520], e_uri[600], e_opaque[520];
	const char *qop = c->qop_auth ? "auth" : c->qop_auth_int ? "auth-int" : NULL;
	int n, rc = -1;

	if (!md || c->scheme != PA_DIGEST)
		return -1;
	snprintf(ncs, sizeof(ncs), "%08x", nc);
	if (hash_join(md, ha1, user, c->realm, pass, (char *)NULL) < 0)
		goto out;
	if ((a == DA_MD5_SESS || a == DA_SHA256_SESS || a == DA_SHA512_256_SESS) &&
	    hash_join(md, ha1, ha1, c->nonce, cnonce, (char *)NULL) < 0)
		goto out;
	if (qop && !strcmp(qop, "auth-int")) {
		if (hash_join(md, body, "", (char *)NULL) < 0 ||
		    hash_join(md, ha2, method, uri, body, (char *)NULL) < 0)
			goto out;
	} else if (hash_join(md, ha2, method, uri, (char *)NULL) < 0) {
		goto out;
	}
	if (qop ? hash_join(md, resp, ha1, c->nonce, ncs, cnonce, qop, ha2, (char *)NULL) < 0
		: hash_join(md, resp, ha1, c->nonce, ha2, (char *)NULL) < 0)
		goto out;
	if (c->userhash) {
		if (hash_join(md, uname, user, c->realm, (char *)NULL) < 0)
			goto out;
	} else if (snprintf(uname, sizeof(uname), "%s", user) >= (int)sizeof(uname)) {
		goto out;
	}
	if (esc(uname, e_user, sizeof(e_user)) < 0 || esc(c->realm, e_realm, sizeof(e_realm)) < 0 ||
	    esc(c->nonce, e_nonce, sizeof(e_nonce)) < 0 || esc(uri, e_uri, sizeof(e_uri)) < 0 ||
	    esc(c->opaque, e_opaque, sizeof(e_opaque)) < 0)
		goto out;
	n = snprintf(out, outlen, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\"%s%s, response=\"%s\"",
		     e_user, e_realm, e_nonce, e_uri,
		     c->algorithm[0] ? ", algorithm=" : "", c->algorithm, resp);
	if (n > 0 && (size_t)n < outlen && qop)
		n += snprintf(out + n, outlen - (size_t)n, ", qop=%s, nc=%s, cnonce=\"%s\"", qop, ncs, cnonce);
	if (n > 0 && (size_t)n < outlen && c->opaque[0])
		n += snprintf(out + n, outlen - (size_t)n, ", opaque=\"%s\"", e_opaque);
	if (n > 0 && (size_t)n < outlen && c->userhash)
		n += snprintf(out + n, outlen - (size_t)n, ", userhash=true");
	rc = n > 0 && (size_t)n < outlen ? n : -1;
out:
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return rc;
}
