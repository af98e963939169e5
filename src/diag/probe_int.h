/* Internals of the probe shared by probe.c, probe_tls.c, probe_http.c,
 * probe_verdict.c and probe_report.c.  See probe.h.
 *
 * Error convention: functions returning int return 0 (or an fd) on success
 * and -1 on failure with the reason recorded in the probe_hs / probe_http /
 * probe_link they fill; nothing here exits. */
#ifndef IPHTTPS_PROBE_INT_H
#define IPHTTPS_PROBE_INT_H

#include <openssl/ssl.h>
#include <time.h>

#include "diag/probe.h"
#include "diag/tlsparse.h"
#include "net/stream.h"
#include "tls/verify.h"

/* The TLS contexts of one run: the profile's, and the two suites checks. */
struct probe_ctxs {
	SSL_CTX *main;                  /* the profile */
	SSL_CTX *fallback;              /* its second handshake (enum probe_retry), or NULL */
	SSL_CTX *null_only;             /* TLS 1.2, TLS_RSA_WITH_NULL_SHA256 and _SHA only */
	SSL_CTX *enc_only;              /* TLS 1.2, encrypted suites only */
};

/* What the probe's own TLS bytes show, parsed as a capture would be. */
struct probe_tap {
	struct tlsp_parser tp;
	struct probe_hs *hs;
	struct timespec t0;
	int last_dir;                   /* direction of the last message in hs->msgs, -1 */
	int enc[2];                     /* TLS 1.3 encrypted records seen per direction */
	uint8_t head[TLSP_HEAD_LEN];    /* the server's first bytes (to quote what is not TLS) */
	size_t head_len;
};

/* One connection of the probe: the stream (socket, TLS: io.ssl NULL for
 * http://; net/stream.h) and what watches it. */
struct probe_conn {
	struct stream io;
	struct tls_trace trace;
	struct probe_tap *tap;
	struct probe_hs *hs;
};

/* ---- time (probe.c) ---- */
void probe_clock(struct timespec *t);
/* Milliseconds from t0 to now. */
double probe_ms_since(const struct timespec *t0);

/* ---- connections (probe.c) ---- */
/* Open TCP (to the address the TCP step chose) or the proxy tunnel for hs;
 * fills c->fd.  Returns 0, or -1 with hs->code/why set. */
int probe_open(const struct probe_opts *o, struct probe_result *r, struct probe_hs *hs,
	       struct probe_conn *c);
/* Close c (SSL, tap, socket); safe on a closed one. */
void probe_close(struct probe_conn *c);

/* ---- TLS (probe_tls.c) ---- */
/* Build the contexts for o.  Returns 0, or -1 with err (ERRLEN). */
int probe_tls_ctxs(const struct probe_opts *o, struct probe_ctxs *x, char *err);
void probe_tls_ctxs_free(struct probe_ctxs *x);
/* TLS handshake on c->fd with ctx (verify: check the certificate as a
 * client does), watched by a tap.  Fills c->hs (facts, messages, code).
 * Returns 0 with c->ssl ready, or -1 (c->ssl kept for inspection). */
int probe_handshake(SSL_CTX *ctx, const struct iph_url *u, int verify, int timeout_ms,
		    struct probe_conn *c);
/* After a failure of c after its handshake (SSL_read/SSL_write): the
 * server's alert (TLS 1.3 refuses a client certificate so) or its close,
 * into c->hs facts.  ret/err: the failed call and SSL_get_error().
 * Returns the code tls_classify_failure() gives, why (may be NULL) its words. */
uint32_t probe_tls_late_failure(struct probe_conn *c, int ret, int err, char *why, size_t whylen);
/* Summarise the server's chain of c->ssl into r->chain (explicit
 * verification against store, name match, --expect-issuer), and the CA
 * names of a CertificateRequest into r->client_cas. */
void probe_chain(const struct probe_opts *o, SSL_CTX *ctx, struct probe_conn *c,
		 struct probe_result *r);
/* The two suites checks and the sentence on the clients left out. */
void probe_suites(const struct probe_opts *o, const struct probe_ctxs *x, struct probe_result *r);
/* 1 when hs failed on the client's own certificate check. */
int probe_failed_on_cert(const struct probe_hs *hs);
/* The second handshake the profile calls for after hs failed (not on the
 * certificate), or PR_NONE. */
enum probe_retry probe_retry_for(enum probe_profile p, const struct probe_hs *hs);

/* ---- revocation (probe_crl.c) ---- */
/* The Windows 7 profiles: the leaf of chain sk (verified with ctx's store)
 * checked against its first http:// CRL distribution point, into r->crl. */
void probe_revocation(const struct probe_opts *o, SSL_CTX *ctx, STACK_OF(X509) *sk,
		      struct probe_result *r);

/* ---- HTTP and the link (probe_http.c) ---- */
/* POST, the response header, then unless o->no_link an RS and the RA. */
void probe_http_link(const struct probe_opts *o, struct probe_result *r, struct probe_conn *c);

/* ---- text helpers (probe_steps.c) ---- */
/* Quote n bytes as printable text (\r, \n, \xNN) into out. */
void probe_quote(char *out, size_t outlen, const uint8_t *p, size_t n);
/* Append printf-style text to buf (len bytes, NUL-terminated). */
void probe_cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
