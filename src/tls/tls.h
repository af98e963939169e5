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
	int min_version;            /* TLS1_VERSION, TLS1_1_VERSION or 0: TLS 1.2 (--tls-min) */
	int resumption;             /* session tickets (tls/resume.h), else none (--tls-resumption) */
};
/* TLS 1.2 and 1.3 (from min_version with --tls-min: TLS 1.0 and 1.1 with
 * the SHA-1 and MD5+SHA-1 handshake signatures they need, allowed in this
 * context only and only on connections of those versions: a security
 * callback over OpenSSL's own checks); SSL_MODE_RELEASE_BUFFERS and
 * partial/moving writes set.
 * Under NULL_ENC_OFF a ClientHello offering only the null suites is not
 * answered: SSL_accept fails with SSL_ERROR_WANT_CLIENT_HELLO_CB and
 * tls_server_refused_null_only() says so; the caller then resets the
 * connection (Windows 8+ clients retry at once with encrypted suites after
 * a reset, never after an alert: see docs/windows.md).
 * With o->resumption, stateless session tickets bound to this context's
 * certificate, CA and CRLs (tls/resume.h); without, none and no cache. */
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

/* A client certificate of the client's list, tried in turn
 * (client/attempt.c).  Its files are read each time a server asks for a
 * certificate, so that a renewed certificate is picked up. */
struct tls_cred {
	char cert_file[512], key_file[512];
	char label[256];        /* "client1.pem (CN=client1)" for logs and state */
};
/* What happened to the credential of one handshake. */
struct tls_cred_use {
	const struct tls_cred *cred;    /* NULL: no client certificate */
	int asked;                      /* the server asked for a certificate */
	int offered;                    /* cred was loaded and handed to OpenSSL */
	uint32_t code;                  /* errors.h: IPH_E_NO_CREDENTIALS, IPH_E_WRONG_USAGE, or 0 */
	char why[400];
};
/* Load and check cred now (at start-up): 0; -1 with err when the files do
 * not load or the key does not match; 1 with err when the certificate is
 * not for client authentication (a Windows client keeps such a
 * certificate and drops it when a server asks for one: 0x800b0110). */
int tls_cred_check(const struct tls_cred *cred, char *err);
/* Who opens a credential's files (a process that may not: the client's
 * helper does, client/helper.h): a descriptor open for reading, or -1
 * with errno.  NULL (the default): opened here. */
typedef int (*tls_open_fn)(const char *path, int is_key, void *arg);
void tls_set_opener(tls_open_fn fn, void *arg);
/* Make ssl (of a tls_client_ctx) use u->cred when the server asks for a
 * certificate: the files are read and checked then, and u records the
 * outcome (u must outlive the handshake).  0, or -1 (no memory). */
int tls_client_use_cred(SSL *ssl, struct tls_cred_use *u);
/* Make ssl offer only the null suites (TLS_RSA_WITH_NULL_SHA256,
 * TLS_RSA_WITH_NULL_SHA), TLS 1.2 at most: Windows' first attempt.
 * 0, or -1 when OpenSSL has none of them (the caller reports
 * IPH_E_ALGORITHM_MISMATCH, as Schannel would). */
int tls_client_null_only(SSL *ssl);
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
