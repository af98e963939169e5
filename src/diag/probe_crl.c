/* The server certificate's revocation, checked as a Windows 7 client
 * checks it (the Windows 7 profiles): the leaf's first http:// CRL
 * distribution point fetched with a plain HTTP GET (bounded in time and
 * size), the CRL checked against the leaf's issuer, and the leaf looked up
 * in it.  "CRL checking is enforced in Windows 7 and cannot be disabled",
 * Windows 8 and later do not check (Microsoft, Planning the Placement of
 * CRL Distribution Points); a certificate that names no distribution point
 * is not checked at all (T. Shinder, UAG DirectAccess test lab: a template
 * without CRL information lets clients connect).  See probe.h. */
#include "diag/probe_int.h"
#include "errors.h"
#include "net/evloop.h"
#include "net/tcp.h"
#include "wire/http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define CRL_MAX (1u << 20)      /* bytes of a CRL the probe reads at most */

/* The first http:// URI of x's CRL distribution points into out; 0, or -1
 * when it names none. */
static int crl_url(X509 *x, char *out, size_t len)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	int rc = -1;

	for (int i = 0; dps && rc < 0 && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		GENERAL_NAMES *names = dp->distpoint && dp->distpoint->type == 0 ?
				       dp->distpoint->name.fullname : NULL;

		for (int j = 0; names && rc < 0 && j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
			const char *u;

			if (g->type != GEN_URI)
				continue;
			u = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			if (!strncasecmp(u, "http://", 7) &&
			    (size_t)snprintf(out, len, "%s", u) < len)
				rc = 0;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rc;
}

/* A TCP connection to u within timeout_ms: the fd, or -1 with why. */
static int crl_connect(const struct iph_url *u, int timeout_ms, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, e = 0, rc = getaddrinfo(u->host, u->port, &hints, &ai);

	if (rc) {
		snprintf(why, len, "%s does not resolve: %s", u->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a && fd < 0; a = a->ai_next)
		fd = tcp_connect_addr(a, timeout_ms, &e);
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(why, len, "cannot connect to %s:%s: %s", u->host, u->port, strerror(e ? e : EIO));
	return fd;
}

/* GET u's path on fd; the body (malloc'd, *n bytes) of a 200, or NULL
 * with why. */
static uint8_t *crl_get(int fd, const struct iph_url *u, int timeout_ms, size_t *n, char *why,
			size_t len)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;
	struct http_resp_parser *p = calloc(1, sizeof(*p));
	uint8_t *body = malloc(CRL_MAX), buf[4096];
	char req[700];
	int head = 0, m = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
				   u->path, u->host);

	*n = 0;
	if (!p || !body || send(fd, req, (size_t)m, MSG_NOSIGNAL) != m) {
		snprintf(why, len, "cannot send the request: %s", strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	http_resp_init(p);
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t used = 0;

		if (got < 0 && (errno == EAGAIN || errno == EINTR) && net_wait_fd(fd, POLLIN, deadline))
			continue;
		if (got <= 0)
			break;
		if (!head) {
			int r = http_resp_feed(p, buf, (size_t)got, &used);

			if (r == HTTP_MORE)
				continue;
			if (r == HTTP_ERROR || p->status != 200) {
				snprintf(why, len, "the answer is %s%d %s", r == HTTP_ERROR ? "not HTTP, or " : "HTTP ",
					 p->status, p->reason_phrase);
				goto fail;
			}
			head = 1;
		}
		if (*n + (size_t)got - used > CRL_MAX) {
			snprintf(why, len, "the CRL is larger than %u bytes", CRL_MAX);
			goto fail;
		}
		memcpy(body + *n, buf + used, (size_t)got - used);
		*n += (size_t)got - used;
	}
	if (!head) {
		snprintf(why, len, "no answer within %d ms", timeout_ms);
		goto fail;
	}
	free(p);
	return body;
fail:
	free(p);
	free(body);
	return NULL;
}

/* The CRL in the n bytes at b (DER, or PEM), or NULL. */
static X509_CRL *crl_parse(const uint8_t *b, size_t n)
{
	const unsigned char *q = b;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)n);
	BIO *bio;

	if (!crl && (bio = BIO_new_mem_buf(b, (int)n))) {
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return crl;
}

/* Leaf against crl (issued by issuer): fills c's code and words. */
static void crl_judge(X509_CRL *crl, X509 *leaf, X509 *issuer, struct probe_crl *c, size_t bytes)
{
	X509_REVOKED *rev = NULL;
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	int revoked = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));

	if (!issuer || X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		c->code = IPH_E_NO_REVOCATION_CHECK;
		snprintf(c->why, sizeof(c->why), "the CRL at %s is not signed by the server certificate's issuer, so revocation cannot be checked",
			 c->url);
	} else if (next && X509_cmp_current_time(next) < 0) {
		c->code = IPH_E_NO_REVOCATION_CHECK;
		snprintf(c->why, sizeof(c->why), "the CRL at %s is out of date (past its nextUpdate), so revocation cannot be checked: publish a fresh one",
			 c->url);
	} else if (X509_CRL_get0_by_cert(crl, &rev, leaf) == 1) {
		c->code = IPH_E_REVOKED;
		snprintf(c->why, sizeof(c->why), "the server certificate is on its issuer's CRL (%s): it has been revoked",
			 c->url);
	} else {
		c->code = IPH_OK;
		snprintf(c->why, sizeof(c->why), "the CRL (%zu bytes, %d revoked) is reachable and does not list the server certificate",
			 bytes, revoked);
	}
	ERR_clear_error();
}

/* Fetch and judge the CRL of c->url for leaf. */
static void crl_check(const struct probe_opts *o, X509 *leaf, X509 *issuer, struct probe_crl *c)
{
	struct iph_url u;
	char err[ERRLEN], why[300];
	uint8_t *body = NULL;
	X509_CRL *crl = NULL;
	size_t n = 0;
	int fd;

	if (iph_url_parse(c->url, &u, 1, err) < 0) {
		snprintf(why, sizeof(why), "%s", err);
	} else if ((fd = crl_connect(&u, o->timeout_ms, why, sizeof(why))) >= 0) {
		body = crl_get(fd, &u, o->timeout_ms, &n, why, sizeof(why));
		close(fd);
		if (body && !(crl = crl_parse(body, n)))
			snprintf(why, sizeof(why), "what %s gives (%zu bytes) is not a CRL", c->url, n);
	}
	if (crl) {
		crl_judge(crl, leaf, issuer, c, n);
	} else {
		c->code = IPH_E_REVOCATION_OFFLINE;
		snprintf(c->why, sizeof(c->why), "the CRL of the server certificate cannot be had from %s: %s%s",
			 c->url, why, o->proxy ? " (fetched directly, not through --proxy)" : "");
	}
	X509_CRL_free(crl);
	free(body);
}

void probe_revocation(const struct probe_opts *o, SSL_CTX *ctx, STACK_OF(X509) *sk,
		      struct probe_result *r)
{
	struct probe_crl *c = &r->crl;
	X509_STORE_CTX *sx = X509_STORE_CTX_new();
	X509 *leaf = sk_X509_value(sk, 0), *issuer = NULL;
	struct timespec t0;

	memset(c, 0, sizeof(*c));
	c->checked = 1;
	if (crl_url(leaf, c->url, sizeof(c->url)) < 0) {
		c->url[0] = '\0';
		snprintf(c->why, sizeof(c->why), "the server certificate names no http:// CRL distribution point: Windows 7 checks nothing and goes on");
		X509_STORE_CTX_free(sx);
		return;
	}
	/* the issuer: from the verified path, else from what the server sent */
	if (sx && X509_STORE_CTX_init(sx, SSL_CTX_get_cert_store(ctx), leaf, sk) == 1) {
		X509_STORE_CTX_set_default(sx, "ssl_server");
		if (X509_verify_cert(sx) == 1 && sk_X509_num(X509_STORE_CTX_get0_chain(sx)) > 1)
			issuer = sk_X509_value(X509_STORE_CTX_get0_chain(sx), 1);
	}
	if (!issuer && sk_X509_num(sk) > 1)
		issuer = sk_X509_value(sk, 1);
	probe_clock(&t0);
	crl_check(o, leaf, issuer, c);
	c->ms = probe_ms_since(&t0);
	X509_STORE_CTX_free(sx);
	ERR_clear_error();
}
