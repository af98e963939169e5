/* TLS contexts with OpenSSL 3 for the server, the client and the probe.
 *
 * Error convention: functions return 0 / a pointer on success, -1 / NULL on
 * failure with a human message in err (char[ERRLEN]) that names the file
 * or the OpenSSL reason. */
#ifndef IPHTTPS_TLS_H
#define IPHTTPS_TLS_H

#include "common/errbuf.h"

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>


enum null_enc_policy { NULL_ENC_OFF = 0, NULL_ENC_ALLOW, NULL_ENC_PREFER, NULL_ENC_ON /* client: offer them */ };

struct tls_server_opts {
	const char *cert_file;      /* PEM chain, leaf first */
	const char *key_file;       /* PEM private key */
	const char *client_ca_file; /* required client certificates chain to these; NULL = none asked */
	enum null_enc_policy null_enc;
	STACK_OF(X509_CRL) *crls;   /* revoked client certificates (may be NULL) */
};
/* TLS 1.2 and 1.3; SSL_MODE_RELEASE_BUFFERS and partial/moving writes set.
 * Under NULL_ENC_OFF a ClientHello offering only the null suites is not
 * answered: SSL_accept fails with SSL_ERROR_WANT_CLIENT_HELLO_CB and
 * tls_server_refused_null_only() says so; the caller then resets the
 * connection (Windows 8+ clients retry at once with encrypted suites after
 * a reset, never after an alert: see docs/windows.md). */
SSL_CTX *tls_server_ctx(const struct tls_server_opts *o, char *err);
/* 1 when ssl's ClientHello offered only null suites that the policy refuses. */
int tls_server_refused_null_only(SSL *ssl);

struct tls_client_opts {
	const char *ca_file;        /* NULL = system trust store */
	const char *cert_file, *key_file; /* optional client certificate */
	const char *pin;            /* "sha256//BASE64" of the SPKI, optional */
	enum null_enc_policy null_enc; /* NULL_ENC_ON offers the null suites (TLS 1.2) */
	int no_verify;              /* probe only: complete the handshake whatever the chain */
};
SSL_CTX *tls_client_ctx(const struct tls_client_opts *o, char *err);
/* A client SSL on fd with SNI and host-name check set (host may be an IP literal). */
SSL *tls_client_ssl(SSL_CTX *ctx, int fd, const char *host, char *err);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
void tls_describe(SSL *ssl, char *out, size_t outlen);
/* "CN=..., issuer CN=..., expires 2027-01-01" of the peer leaf, or "" */
void tls_peer_summary(SSL *ssl, char *out, size_t outlen);
/* Compute "sha256//BASE64" of a certificate's public key. */
int tls_spki_pin(X509 *cert, char *out, size_t outlen);
/* Last OpenSSL error text (drains the queue) into out. */
void tls_errstr(char *out, size_t outlen);

#endif
