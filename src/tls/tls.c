/* OpenSSL contexts for the server, the client and the probe: see tls.h. */
#include "tls/tls.h"

#include "errors.h"
#include "tls/resume.h"
#include "tls/verify.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* TLS 1.2 suites: OpenSSL's default list (spelt out: the keyword DEFAULT is
 * only honoured first in a list), and the two null suites
 * (TLS_RSA_WITH_NULL_SHA256, TLS_RSA_WITH_NULL_SHA).  Every context runs at
 * OpenSSL security level 2 (keys of 112 bits of strength and more, no SHA-1
 * signatures, in certificates of both sides); the null suites, which level
 * 2 would refuse for their 0 bits of encryption, are exempted by name and
 * nothing else is (security_cb). */
#define TLS_SECURITY_LEVEL 2
#define CIPHERS_BASE "ALL:!COMPLEMENTOFDEFAULT"
#define CIPHERS_NULL "NULL-SHA256:NULL-SHA"
#define CIPHERS_NULL_LAST CIPHERS_BASE ":" CIPHERS_NULL
#define CIPHERS_NULL_FIRST CIPHERS_NULL ":" CIPHERS_BASE

#define TLS_MODES (SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | \
		   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

/* Write "what: OpenSSL reason" into err; returns -1. */
static int __attribute__((format(printf, 2, 3)))
ossl_err(char *err, const char *fmt, ...)
{
	char what[ERRLEN / 2 - 2], why[ERRLEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tls_errstr(why, sizeof(why));
	snprintf(err, ERRLEN, "%s: %s", what, why);
	return -1;
}

void tls_errstr(char *out, size_t outlen)
{
	unsigned long e;
	const char *data, *r;
	size_t used = 0;
	int flags, n;

	if (!outlen)
		return;
	out[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (used + 1 >= outlen)
			continue;       /* keep draining */
		r = ERR_reason_error_string(e);
		if (!(flags & ERR_TXT_STRING))
			data = NULL;
		n = snprintf(out + used, outlen - used, "%s%s%s%s%s", used ? "; " : "",
			     r ? r : "unknown error", data && *data ? " (" : "",
			     data && *data ? data : "", data && *data ? ")" : "");
		if (n > 0)
			used += (size_t)n < outlen - used ? (size_t)n : outlen - used - 1;
	}
	if (!used)
		snprintf(out, outlen, "no detail from OpenSSL");
}

/* Load a PEM chain and key into ctx and check that they belong together.
 * Returns 0 or -1 with err set. */
static int load_cert_key(SSL_CTX *ctx, const char *cert, const char *key, char *err)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return ossl_err(err, "cannot load certificate chain %s", cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			return ossl_err(err, "the key %s does not match the certificate %s", key, cert);
		return ossl_err(err, "cannot load private key %s", key);
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ossl_err(err, "the key %s does not match the certificate %s", key, cert);
	return 0;
}

typedef int (*security_fn)(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
			   void *other, void *ex);
static security_fn openssl_security;    /* OpenSSL's own, which ours defers to */

/* TLS_RSA_WITH_NULL_SHA (0x0002) and TLS_RSA_WITH_NULL_SHA256 (0x003b). */
static int is_null_suite(const SSL_CIPHER *c)
{
	uint16_t id = c ? SSL_CIPHER_get_protocol_id(c) : 0;

	return id == 0x0002 || id == 0x003b;
}

/* OpenSSL's security check at TLS_SECURITY_LEVEL, except that the two null
 * suites pass as ciphers (their MAC and RSA key exchange still face every
 * other check: the certificates, keys and signatures of the handshake). */
static int security_cb(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid, void *other,
		       void *ex)
{
	if ((op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_CIPHER && is_null_suite(other))
		return 1;
	return openssl_security(s, ctx, op, bits, nid, other, ex);
}

/* Settings both roles share. Returns ctx, or NULL with err set. */
static SSL_CTX *new_ctx(const SSL_METHOD *m, char *err)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx) {
		ossl_err(err, "cannot create a TLS context");
		return NULL;
	}
	if (!openssl_security)
		openssl_security = SSL_CTX_get_security_callback(ctx);
	SSL_CTX_set_security_level(ctx, TLS_SECURITY_LEVEL);
	SSL_CTX_set_security_callback(ctx, security_cb);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ossl_err(err, "cannot set the TLS versions");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, TLS_MODES);
	return ctx;
}

static pthread_once_t refused_once = PTHREAD_ONCE_INIT;
static int refused_idx = -1;    /* SSL ex_data: non-NULL when a null-only hello was refused */

static void refused_idx_init(void)
{
	refused_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* What a ClientHello offers: null suites (TLS_RSA_WITH_NULL_SHA 0x0002,
 * TLS_RSA_WITH_NULL_SHA256 0x003b, TLS_RSA_WITH_NULL_MD5 0x0001), and other
 * suites (signalling values and GREASE do not count). */
static void hello_suites(SSL *ssl, int *has_null, int *has_other)
{
	const unsigned char *c;
	size_t len = SSL_client_hello_get0_ciphers(ssl, &c);

	*has_null = *has_other = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned id = (unsigned)c[i] << 8 | c[i + 1];

		if (id == 0x0001 || id == 0x0002 || id == 0x003b)
			*has_null = 1;
		else if (id != 0x00ff && id != 0x5600 && (id & 0x0f0f) != 0x0a0a)
			*has_other = 1;
	}
}

/* Server ClientHello callback; arg is the null_enc_policy.  prefer: when the
 * client offers a null suite, stay at TLS 1.2 (TLS 1.3 has none) so that it
 * gets one.  off: a hello that offers only null suites (the first attempt
 * of a Windows 8+ client, iphlpsvc IpTlsStartClient) is suspended and
 * marked, so that the caller resets the connection instead of sending an
 * alert: on a reset (WSAECONNRESET) Windows retries at once with its
 * default, encrypted suites, after an alert (0x80090326) it never does
 * (WebSendRequestCompletion).  Returns SUCCESS, or RETRY when marked. */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	enum null_enc_policy policy = (enum null_enc_policy)(intptr_t)arg;
	int has_null, has_other;

	hello_suites(ssl, &has_null, &has_other);
	if (policy == NULL_ENC_PREFER && has_null)
		SSL_set_max_proto_version(ssl, TLS1_2_VERSION);
	if (policy == NULL_ENC_OFF && has_null && !has_other) {
		pthread_once(&refused_once, refused_idx_init);
		SSL_set_ex_data(ssl, refused_idx, ssl);
		return SSL_CLIENT_HELLO_RETRY;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

int tls_server_refused_null_only(SSL *ssl)
{
	pthread_once(&refused_once, refused_idx_init);
	return SSL_get_ex_data(ssl, refused_idx) != NULL;
}

/* Check that the loaded certificate can serve the RSA key-exchange null
 * suites and set the cipher list for policy. Returns 0 or -1 with err. */
static int server_null_enc(SSL_CTX *ctx, const struct tls_server_opts *o, char *err)
{
	EVP_PKEY *pk = SSL_CTX_get0_privatekey(ctx);
	X509 *x = SSL_CTX_get0_certificate(ctx);
	const char *list;

	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, (void *)(intptr_t)o->null_enc);
	if (o->null_enc == NULL_ENC_OFF)
		return 0;
	if (o->null_enc != NULL_ENC_ALLOW && o->null_enc != NULL_ENC_PREFER) {
		snprintf(err, ERRLEN, "null encryption: a server takes off, allow or prefer");
		return -1;
	}
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		snprintf(err, ERRLEN, "null encryption needs an RSA server key "
			 "(TLS_RSA_WITH_NULL_SHA/SHA256 use RSA key exchange) but %s holds a %s key",
			 o->key_file, pk ? EVP_PKEY_get0_type_name(pk) : "missing");
		return -1;
	}
	if (x && (X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT)) {
		snprintf(err, ERRLEN, "null encryption needs RSA key exchange but the "
			 "certificate %s does not allow keyEncipherment in its keyUsage",
			 o->cert_file);
		return -1;
	}
	list = o->null_enc == NULL_ENC_PREFER ? CIPHERS_NULL_FIRST : CIPHERS_NULL_LAST;
	if (SSL_CTX_set_cipher_list(ctx, list) != 1)
		return ossl_err(err, "cannot set the cipher list %s", list);
	return 0;
}

/* Check client certificates against crls too (the leaf: CRL_CHECK). */
static int server_crls(SSL_CTX *ctx, STACK_OF(X509_CRL) *crls, char *err)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);

	for (int i = 0; i < sk_X509_CRL_num(crls); i++)
		if (!X509_STORE_add_crl(st, sk_X509_CRL_value(crls, i)))
			return ossl_err(err, "cannot use a CRL");
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	return 0;
}

/* Require client certificates chaining to the CAs in file. 0 or -1. */
static int server_client_ca(SSL_CTX *ctx, const char *file, char *err)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
		return ossl_err(err, "cannot load client CA file %s", file);
	if (!(names = SSL_load_client_CA_file(file)))
		return ossl_err(err, "no CA certificate in client CA file %s", file);
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

typedef int (*security_fn)(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
			   void *other, void *ex);
static security_fn openssl_security;   /* OpenSSL's own check, which legacy_security defers to */

/* Security callback of a server context with --tls-min below 1.2 (ex: its
 * lowest version): OpenSSL's own checks, except that the legacy versions
 * pass, and on a TLS 1.0/1.1 connection only, the SHA-1 and MD5+SHA-1
 * signatures of its handshake (OpenSSL 3 refuses them at security level 1
 * and above, and TLS 1.0/1.1 have no other).  TLS 1.2 connections keep every
 * check. */
static int legacy_security(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
			   void *other, void *ex)
{
	int min = (int)(intptr_t)ex;

	if (op == SSL_SECOP_VERSION && nid >= min && nid <= TLS1_1_VERSION)
		return 1;
	if (s && SSL_version(s) >= min && SSL_version(s) < TLS1_2_VERSION &&
	    (op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_SIGALG &&
	    (nid == NID_sha1 || nid == NID_md5_sha1))
		return 1;
	return openssl_security(s, ctx, op, bits, nid, other, ex);
}

/* TLS versions from o->min_version (0: 1.2).  0, or -1 with err. */
static int server_versions(SSL_CTX *ctx, const struct tls_server_opts *o, char *err)
{
	int min = o->min_version ? o->min_version : TLS1_2_VERSION;

	if (min != TLS1_VERSION && min != TLS1_1_VERSION && min != TLS1_2_VERSION) {
		snprintf(err, ERRLEN, "--tls-min: 1.0, 1.1 or 1.2");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1)
		return ossl_err(err, "cannot set the lowest TLS version");
	if (min < TLS1_2_VERSION) {
		if (!openssl_security)
			openssl_security = SSL_CTX_get_security_callback(ctx);
		SSL_CTX_set_security_callback(ctx, legacy_security);
		SSL_CTX_set0_security_ex_data(ctx, (void *)(intptr_t)min);
	}
	return 0;
}

SSL_CTX *tls_server_ctx(const struct tls_server_opts *o, char *err)
{
	static const unsigned char sid_ctx[] = "iphttps";
	SSL_CTX *ctx;

	if (!o->cert_file || !o->key_file) {
		snprintf(err, ERRLEN, "a server needs a certificate and a key");
		return NULL;
	}
	/* The ticket keys' secret, drawn before any worker is forked. */
	if (tls_resume_init() < 0) {
		snprintf(err, ERRLEN, "no random numbers for the session ticket keys");
		return NULL;
	}
	if (!(ctx = new_ctx(TLS_server_method(), err)))
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	tls_resume_off(ctx);    /* until tls_resume_setup, below */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (server_versions(ctx, o, err) < 0 ||
	    load_cert_key(ctx, o->cert_file, o->key_file, err) < 0 ||
	    (o->client_ca_file && server_client_ca(ctx, o->client_ca_file, err) < 0) ||
	    (o->client_ca_file && o->crls && server_crls(ctx, o->crls, err) < 0) ||
	    server_null_enc(ctx, o, err) < 0 ||
	    (o->resumption && tls_resume_setup(ctx, o->client_ca_file, o->crls, err) < 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int client_cert_cb(SSL *ssl, void *arg);
static int client_chain_no_roots(SSL_CTX *ctx, char *err);

SSL_CTX *tls_client_ctx(const struct tls_client_opts *o, char *err)
{
	SSL_CTX *ctx;

	if (!(ctx = new_ctx(TLS_client_method(), err)))
		return NULL;
	if (o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ossl_err(err, "cannot load the trusted CAs %s", o->ca_file ? o->ca_file : "(system store)");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, o->no_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (!o->cert_file != !o->key_file) {
		snprintf(err, ERRLEN, "a client certificate needs both --cert and --key");
		goto fail;
	}
	if (o->cert_file && (load_cert_key(ctx, o->cert_file, o->key_file, err) < 0 ||
			     client_chain_no_roots(ctx, err) < 0))
		goto fail;
	SSL_CTX_set_cert_cb(ctx, client_cert_cb, NULL);
	if (o->null_enc == NULL_ENC_ON && SSL_CTX_set_cipher_list(ctx, CIPHERS_NULL_LAST) != 1) {
		ossl_err(err, "cannot set the cipher list %s", CIPHERS_NULL_LAST);
		goto fail;
	}
	if (tls_ctx_set_pin(ctx, o->pin) < 0) {
		snprintf(err, ERRLEN, "bad pin \"%s\": expected sha256// and 44 base64 characters",
			 o->pin);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- client certificates tried in turn ---- */

/* A self-signed certificate in a client's chain is a root: the server must
 * hold it already to trust the chain, so it is not sent (RFC 8446 4.4.2 and
 * RFC 5246 7.4.2 let it be omitted).  Each certificate sent costs the server
 * a parse, and OpenSSL 3.0 decodes a certificate's key slowly: sending the
 * root cost the server about a tenth of a handshake (docs/performance.md,
 * "Handshakes").  Intermediate CAs are kept. */
static int is_anchor(X509 *x)
{
	return X509_self_signed(x, 0) == 1;
}

/* The chain of the client certificate in ctx without its roots (is_anchor).
 * 0, or -1 with err. */
static int client_chain_no_roots(SSL_CTX *ctx, char *err)
{
	STACK_OF(X509) *chain = NULL, *keep;
	int rc;

	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || !chain)
		return 0;
	if (!(keep = sk_X509_new_null())) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (!is_anchor(sk_X509_value(chain, i)) && !sk_X509_push(keep, sk_X509_value(chain, i))) {
			sk_X509_free(keep);
			snprintf(err, ERRLEN, "out of memory");
			return -1;
		}
	rc = SSL_CTX_set1_chain(ctx, keep) == 1 ? 0 : ossl_err(err, "cannot set the client certificate chain");
	sk_X509_free(keep);
	return rc;
}

static pthread_once_t cred_once = PTHREAD_ONCE_INIT;
static int cred_idx = -1;       /* SSL ex_data: struct tls_cred_use * */

static void cred_idx_init(void)
{
	cred_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static tls_open_fn opener;
static void *opener_arg;

void tls_set_opener(tls_open_fn fn, void *arg)
{
	opener = fn;
	opener_arg = arg;
}

/* A BIO reading path, through the opener when there is one. */
static BIO *open_bio(const char *path, int is_key)
{
	int fd;

	if (!opener)
		return BIO_new_file(path, "r");
	if ((fd = opener(path, is_key, opener_arg)) < 0)
		return NULL;
	return BIO_new_fd(fd, BIO_CLOSE);
}

/* Reads cred's certificate chain and key: 0 with *x, *pk and *chain (the
 * caller frees them), or -1 with why. */
static int cred_load(const struct tls_cred *cred, X509 **x, EVP_PKEY **pk,
		     STACK_OF(X509) **chain, char *why, size_t len)
{
	BIO *b = open_bio(cred->cert_file, 0);
	X509 *ca;

	*x = NULL;
	*pk = NULL;
	*chain = sk_X509_new_null();
	if (!b || !*chain || !(*x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		snprintf(why, len, "cannot read the certificate %s", cred->cert_file);
		goto fail;
	}
	while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (is_anchor(ca))
			X509_free(ca);          /* not sent: see is_anchor */
		else
			sk_X509_push(*chain, ca);
	}
	BIO_free(b);
	ERR_clear_error();
	if (!(b = open_bio(cred->key_file, 1)) ||
	    !(*pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL))) {
		snprintf(why, len, "cannot read the private key %s of %s", cred->key_file, cred->label);
		goto fail;
	}
	BIO_free(b);
	if (X509_check_private_key(*x, *pk) != 1) {
		snprintf(why, len, "the key %s does not match the certificate %s", cred->key_file,
			 cred->cert_file);
		b = NULL;
		goto fail;
	}
	ERR_clear_error();
	return 0;
fail:
	BIO_free(b);
	X509_free(*x);
	EVP_PKEY_free(*pk);
	sk_X509_pop_free(*chain, X509_free);
	*x = NULL;
	*pk = NULL;
	*chain = NULL;
	ERR_clear_error();
	return -1;
}

/* 0 when x may authenticate a client (extendedKeyUsage, when present,
 * holds clientAuth; keyUsage, when present, digitalSignature), else -1
 * with why. */
static int cred_usage(X509 *x, const struct tls_cred *cred, char *why, size_t len)
{
	uint32_t fl = X509_get_extension_flags(x);

	if ((fl & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT)) {
		snprintf(why, len, "the certificate %s is not for client authentication (its extendedKeyUsage lacks clientAuth)",
			 cred->label);
		return -1;
	}
	if ((fl & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE)) {
		snprintf(why, len, "the certificate %s cannot sign (its keyUsage lacks digitalSignature)",
			 cred->label);
		return -1;
	}
	return 0;
}

int tls_cred_check(const struct tls_cred *cred, char *err)
{
	X509 *x;
	EVP_PKEY *pk;
	STACK_OF(X509) *chain;
	int rc;

	if (cred_load(cred, &x, &pk, &chain, err, ERRLEN) < 0)
		return -1;
	rc = cred_usage(x, cred, err, ERRLEN) < 0 ? 1 : 0;
	X509_free(x);
	EVP_PKEY_free(pk);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* Certificate callback of client contexts: the server asked for a
 * certificate; hand it the one of this attempt, read and checked now.
 * Returns 1 (go on, with or without a certificate), 0 to end the handshake
 * when the certificate cannot be used (u->code says why). */
static int client_cert_cb(SSL *ssl, void *arg)
{
	struct tls_cred_use *u;
	X509 *x;
	EVP_PKEY *pk;
	STACK_OF(X509) *chain;
	int ok;

	pthread_once(&cred_once, cred_idx_init);
	if (!(u = SSL_get_ex_data(ssl, cred_idx)))
		return 1;
	u->asked = 1;
	if (!u->cred)
		return 1;
	if (cred_load(u->cred, &x, &pk, &chain, u->why, sizeof(u->why)) < 0) {
		u->code = IPH_E_NO_CREDENTIALS;
		return 0;
	}
	if (cred_usage(x, u->cred, u->why, sizeof(u->why)) < 0) {
		u->code = IPH_E_WRONG_USAGE;
		ok = 0;
	} else {
		ok = SSL_use_cert_and_key(ssl, x, pk, chain, 1) == 1;
		u->offered = ok;
		if (!ok) {
			u->code = IPH_E_UNKNOWN_CREDENTIALS;
			snprintf(u->why, sizeof(u->why), "OpenSSL does not take the certificate %s",
				 u->cred->label);
		}
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	sk_X509_pop_free(chain, X509_free);
	return ok;
}

int tls_client_use_cred(SSL *ssl, struct tls_cred_use *u)
{
	pthread_once(&cred_once, cred_idx_init);
	return SSL_set_ex_data(ssl, cred_idx, u) == 1 ? 0 : -1;
}

int tls_client_null_only(SSL *ssl)
{
	if (SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1 ||
	    SSL_set_cipher_list(ssl, CIPHERS_NULL ":@SECLEVEL=0") != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

SSL *tls_client_ssl(SSL_CTX *ctx, int fd, const char *host, char *err)
{
	unsigned char addr[16];
	char lit[INET6_ADDRSTRLEN + 2];
	size_t len;
	SSL *ssl;
	int is_ip = 0;

	if (!(ssl = SSL_new(ctx))) {
		ossl_err(err, "cannot create a TLS connection");
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		ossl_err(err, "cannot attach the TLS connection to its socket");
		goto fail;
	}
	SSL_set_connect_state(ssl);
	if (!host || !*host)
		return ssl;
	/* An IP literal, maybe in URL brackets: no SNI (RFC 6066), IP check. */
	len = strlen(host);
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']' && len - 2 < sizeof(lit)) {
		snprintf(lit, sizeof(lit), "%.*s", (int)(len - 2), host + 1);
		host = lit;
	}
	is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
			ossl_err(err, "cannot check the server certificate for %s", host);
			goto fail;
		}
		return ssl;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) {
		ossl_err(err, "cannot use the host name %s", host);
		goto fail;
	}
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

void tls_describe(SSL *ssl, char *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	if (!outlen)
		return;
	if (!c) {
		out[0] = '\0';
		return;
	}
	snprintf(out, outlen, "%s %s", SSL_get_version(ssl), SSL_CIPHER_get_name(c));
}

void tls_peer_summary(SSL *ssl, char *out, size_t outlen)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain;
	char subj[200], iss[200], date[16] = "?";
	struct tm tm;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!x && (chain = SSL_get_peer_cert_chain(ssl)) && sk_X509_num(chain) > 0)
		x = sk_X509_value(chain, 0);
	if (!x)
		return;
	tls_name_str(X509_get_subject_name(x), subj, sizeof(subj));
	tls_name_str(X509_get_issuer_name(x), iss, sizeof(iss));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(out, outlen, "%s, issuer %s, expires %s", subj, iss, date);
}

int tls_spki_pin(X509 *cert, char *out, size_t outlen)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen;
	int len, ok;

	if (!cert || (len = i2d_PUBKEY(X509_get0_pubkey(cert), &der)) <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok)
		return -1;
	EVP_EncodeBlock(b64, md, (int)mdlen);
	if ((size_t)snprintf(out, outlen, "sha256//%s", (char *)b64) >= outlen)
		return -1;
	return 0;
}
