/* Why a TLS handshake failed, in the Windows error codes of errors.h.
 *
 * A struct tls_trace attached to an SSL records what the handshake showed
 * (the handshake messages and alerts seen in each direction); after a failed
 * SSL_connect (or the first SSL_read/SSL_write after it: in TLS 1.3 a server
 * that refuses our client certificate says so only after our Finished),
 * tls_classify_failure() turns the verify result, the alert received and the
 * socket error into one code and a sentence with the evidence.
 *
 * The mapping, first match wins:
 *   verify result (SSL_VERIFY_PEER only): the server presented
 *     intermediates and the chain still stops at a CA certificate whose
 *     issuer nobody has (20, 2) -> IPH_E_CHAINING; no trusted root (20,
 *     19, 18, 2, 21) -> IPH_E_UNTRUSTED_ROOT; not for server
 *     authentication (26) -> IPH_E_WRONG_USAGE; expired / not yet valid
 *     -> IPH_E_CERT_EXPIRED;
 *     host or IP mismatch -> IPH_E_NO_MORE_ITEMS (0x103); the pin of
 *     tls_ctx_set_pin -> IPH_E_PIN_MISMATCH; CRL unavailable ->
 *     IPH_E_REVOCATION_OFFLINE; any other -> IPH_E_UNTRUSTED_ROOT;
 *   a fatal alert received: see below; otherwise -> IPH_E_ILLEGAL_MESSAGE
 *     (handshake_failure/protocol_version/insufficient_security right
 *     after our ClientHello: no common suite or version);
 *   close_notify or EOF: during the handshake -> IPH_E_ILLEGAL_MESSAGE,
 *     after it -> IPH_E_CLOSED; reset (ECONNRESET, EPIPE) -> IPH_E_CONNRESET;
 *     ETIMEDOUT -> IPH_E_TIMEDOUT; other socket errors -> IPH_E_LOCAL;
 *   our own TLS stack's errors: no suite to offer, or the server chose one
 *     we did not offer -> IPH_E_ALGORITHM_MISMATCH (on which Windows'
 *     client retries its null-only first attempt with encrypted suites);
 *     a reply that is not TLS, no common version, ... ->
 *     IPH_E_ILLEGAL_MESSAGE.
 *
 * Client-certificate failures (decision): the server asked for a certificate
 * (CertificateRequest) and we sent none, and the server then ended the
 * handshake (certificate_required in TLS 1.3, handshake_failure in TLS 1.2)
 * -> IPH_E_INCOMPLETE_CREDENTIALS (0x90320), as Windows reports a client
 * without a usable certificate.  We sent a certificate and the server
 * refused it (unknown_ca, bad_certificate, ...) -> IPH_E_ILLEGAL_MESSAGE
 * (0x80090326), as Windows reports client authentication misconfigured.
 *
 * Error convention: the classifier always returns a code (never fails);
 * tls_check_pin returns 0 on match, -1 otherwise. */
#ifndef IPHTTPS_TLS_VERIFY_H
#define IPHTTPS_TLS_VERIFY_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/names.h"

/* What one handshake showed.  Message types are the TLS HandshakeType
 * numbers (1 ClientHello, 2 ServerHello, 13 CertificateRequest, ...), alert
 * descriptions the TLS AlertDescription numbers; -1 means none seen. */
struct tls_trace {
	int last_sent;          /* last handshake message we sent */
	int last_received;      /* last handshake message we received */
	int last_msg;           /* last handshake message either way ... */
	int last_msg_sent;      /* ... and 1 if we sent it */
	int cert_request;       /* 1: a CertificateRequest was received */
	int cert_sent;          /* -1 no Certificate sent, 0 an empty one, 1 one with a certificate */
	int alert_recv_level;   /* 1 warning, 2 fatal */
	int alert_recv_desc;
	int alert_recv_after;   /* last_msg when the alert arrived ... */
	int alert_recv_after_sent; /* ... and whether we had sent it */
	int alert_sent_level;
	int alert_sent_desc;
};

/* Reset t and make ssl record into it (a message callback; t must outlive
 * ssl or be detached with tls_trace_attach(ssl, NULL)).  The SSL keeps only
 * a pointer; nothing is allocated. */
void tls_trace_attach(SSL *ssl, struct tls_trace *t);
/* The trace attached to ssl, or NULL. */
struct tls_trace *tls_trace_get(SSL *ssl);

/* Classify a failed client-side TLS operation.  Call right after the failing
 * SSL_connect/SSL_do_handshake/SSL_read/SSL_write with its return value and
 * SSL_get_error(): it reads errno and drains the thread's OpenSSL error
 * queue.  why (may be NULL) gets plain words with the evidence.  Returns an
 * IPH_E_* code (IPH_OK if ssl_err says there was no error,
 * IPH_E_IO_PENDING for WANT_READ/WANT_WRITE). */
uint32_t tls_classify_failure(SSL *ssl, int ssl_ret, int ssl_err, char *why, size_t whylen);

/* Check the peer certificate's public key against pin ("sha256//BASE64").
 * Returns 0 on match; -1 on mismatch, no peer certificate or a bad pin. */
int tls_check_pin(SSL *ssl, const char *pin);

/* Enforce pin ("sha256//BASE64", or NULL for none) on every handshake of a
 * client ctx whose verify mode is already set: installs a verify callback
 * that fails the leaf with X509_V_ERR_APPLICATION_VERIFICATION on mismatch
 * (not enforced under SSL_VERIFY_NONE: call tls_check_pin then).  The ctx
 * keeps a copy, freed with it.  Returns 0, or -1 on a malformed pin or no
 * memory. */
int tls_ctx_set_pin(SSL_CTX *ctx, const char *pin);
/* The pin kept by tls_ctx_set_pin, or NULL. */
const char *tls_ctx_get_pin(const SSL_CTX *ctx);

/* One-line RFC 2253 text of a name ("CN=foo,O=bar") into out; "" if n is NULL. */
void tls_name_str(const X509_NAME *n, char *out, size_t outlen);

#endif
