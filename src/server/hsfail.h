/* Why a client's TLS handshake failed, seen from the server (hsfail.c),
 * with the Windows error code that client reports: counted per reason for
 * `state` and the metrics.  The codes follow the client's side of the same
 * failure (tls/verify.h, ../shared/TROUBLESHOOTING.md): a client without a
 * certificate reports 0x90320, a refused certificate or no common suite or
 * version 0x80090326 (a fatal alert received), a client that refuses our
 * chain 0x800b0109 (unknown_ca) or 0x800b0101 (certificate_expired).
 * "none" where the client reports no code of its own (it went away, or it
 * does not speak TLS).
 *
 * Error convention: the classifier always returns a reason. */
#ifndef IPHTTPS_SERVER_HSFAIL_H
#define IPHTTPS_SERVER_HSFAIL_H

#include <openssl/ssl.h>

enum hs_fail {
	HSF_NO_CLIENT_CERT = 0,  /* none sent while mode Certificates asks for one */
	HSF_CERT_UNTRUSTED,      /* not from --client-ca */
	HSF_CERT_REVOKED,        /* in --crl */
	HSF_CERT_EXPIRED,        /* expired or not yet valid */
	HSF_CERT_OTHER,          /* refused for another reason */
	HSF_NO_SHARED_CIPHER,    /* none of its suites (e.g. only null ones, null encryption off) */
	HSF_VERSION,             /* no common TLS version */
	HSF_CLIENT_UNKNOWN_CA,   /* the client refused our chain: unknown_ca */
	HSF_CLIENT_CERT_EXPIRED, /* the client refused our chain: certificate_expired */
	HSF_CLIENT_ALERT,        /* another fatal alert from the client */
	HSF_NOT_TLS,             /* what came was not TLS */
	HSF_CLOSED,              /* the client went away mid-handshake */
	HSF_TIMEOUT,             /* not done within --header-timeout */
	HSF_OTHER,
	HSF__COUNT
};

extern const char *const hs_fail_names[HSF__COUNT];  /* "no_client_certificate", ... */
extern const char *const hs_fail_codes[HSF__COUNT];  /* "0x90320", ..., "none" */

/* After a failed SSL_accept (before the error queue is drained). */
enum hs_fail hs_classify(SSL *ssl);

#endif
