/* TLS session resumption on the server: see resume.h. */
#include "tls/resume.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#define DIGEST_LEN 32

/* What a context's tickets are bound to (SSL_CTX ex_data). */
struct resume_ctx {
	uint8_t digest[DIGEST_LEN];     /* certificate, client CA, CRLs, mode */
};

static uint8_t secret[32];              /* the process's, drawn before the fork */
static int have_secret;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;
static int ctx_idx = -1;
static time_t (*clock_fn)(void);        /* tests: tls_resume_set_clock */

static uint64_t period_now(void)
{
	time_t t = clock_fn ? clock_fn() : time(NULL);

	return t > 0 ? (uint64_t)t / RESUME_PERIOD : 0;
}

void tls_resume_set_clock(time_t (*now)(void))
{
	clock_fn = now;
}

static void rctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	OPENSSL_clear_free(ptr, sizeof(struct resume_ctx));
}

static void idx_init(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, rctx_free);
}

int tls_resume_init(void)
{
	if (have_secret)
		return 0;
	if (RAND_priv_bytes(secret, sizeof(secret)) != 1)
		return -1;
	have_secret = 1;
	return 0;
}

/* One key of period p: HMAC-SHA256(secret, label | digest | p). 0 or -1. */
static int derive(const struct resume_ctx *rc, uint64_t p, const char *label, uint8_t out[32])
{
	uint8_t in[16 + DIGEST_LEN + 8];
	size_t outlen = 0;

	memset(in, 0, sizeof(in));
	snprintf((char *)in, 16, "%s", label);
	memcpy(in + 16, rc->digest, DIGEST_LEN);
	for (int i = 0; i < 8; i++)
		in[16 + DIGEST_LEN + i] = (uint8_t)(p >> (56 - 8 * i));
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, sizeof(secret), in, sizeof(in), out, 32,
		       &outlen) || outlen != 32)
		return -1;
	return 0;
}

static struct resume_ctx *rctx_of(SSL_CTX *ctx)
{
	pthread_once(&idx_once, idx_init);
	return ctx_idx >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_idx) : NULL;
}

int tls_resume_key_name(SSL_CTX *ctx, time_t t, uint8_t name[16])
{
	struct resume_ctx *rc = rctx_of(ctx);
	uint8_t k[32];

	if (!rc || derive(rc, (uint64_t)t / RESUME_PERIOD, "iphttps name", k) < 0)
		return -1;
	memcpy(name, k, 16);
	return 0;
}

/* Set the cipher (AES-256-CBC) and MAC (HMAC-SHA256) keys of period p. */
static int set_keys(const struct resume_ctx *rc, uint64_t p, const uint8_t *iv, EVP_CIPHER_CTX *c,
		    EVP_MAC_CTX *h, int enc)
{
	uint8_t aes[32], mac[32];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, mac, sizeof(mac)),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	int ok = derive(rc, p, "iphttps aes", aes) == 0 && derive(rc, p, "iphttps mac", mac) == 0 &&
		 EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, aes, iv, enc) == 1 &&
		 EVP_MAC_CTX_set_params(h, params) == 1;

	OPENSSL_cleanse(aes, sizeof(aes));
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok ? 0 : -1;
}

/* OpenSSL's ticket key callback.  Encrypting: the current period's key
 * (1).  Decrypting: the current key (1), the previous one (2: the client
 * gets a new ticket), an unknown name (0: a full handshake), -1 on error. */
static int ticket_key_cb(SSL *s, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
			 EVP_CIPHER_CTX *c, EVP_MAC_CTX *h, int enc)
{
	struct resume_ctx *rc = rctx_of(SSL_get_SSL_CTX(s));
	uint64_t p = period_now();
	uint8_t k[32];

	if (!rc || !have_secret)
		return enc ? -1 : 0;
	if (enc) {
		if (derive(rc, p, "iphttps name", k) < 0 || RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, k, 16);
		return set_keys(rc, p, iv, c, h, 1) < 0 ? -1 : 1;
	}
	for (uint64_t back = 0; back < 2 && back <= p; back++) {
		if (derive(rc, p - back, "iphttps name", k) < 0)
			return -1;
		if (CRYPTO_memcmp(k, name, 16))
			continue;
		return set_keys(rc, p - back, iv, c, h, 0) < 0 ? -1 : back ? 2 : 1;
	}
	return 0;
}

/* 1 when the session's client certificate still passes what a full
 * handshake checks (chain to the CA, CRLs, dates), else 0. */
static int peer_still_valid(SSL *s, SSL_SESSION *ss)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(s);
	X509 *peer = SSL_SESSION_get0_peer(ss);
	X509_STORE_CTX *x;
	int ok;

	if (!(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER))
		return 1;       /* mode None: nobody is authenticated */
	if (!peer || !(x = X509_STORE_CTX_new()))
		return 0;
	ok = X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(ctx), peer, NULL) == 1 &&
	     X509_STORE_CTX_set_default(x, "ssl_client") == 1;
	if (ok) {
		X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(x), SSL_CTX_get_security_level(ctx));
		ok = X509_verify_cert(x) == 1;
	}
	X509_STORE_CTX_free(x);
	ERR_clear_error();
	return ok;
}

/* OpenSSL's decrypted-ticket callback: a session resumes only when its
 * client certificate would pass a full handshake now. */
static SSL_TICKET_RETURN ticket_dec_cb(SSL *s, SSL_SESSION *ss, const unsigned char *name, size_t len,
				       SSL_TICKET_STATUS status, void *arg)
{
	(void)name;
	(void)len;
	(void)arg;
	switch (status) {
	case SSL_TICKET_FATAL_ERR_MALLOC:
	case SSL_TICKET_FATAL_ERR_OTHER:
		return SSL_TICKET_RETURN_ABORT;
	case SSL_TICKET_SUCCESS:
		return peer_still_valid(s, ss) ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_IGNORE_RENEW;
	case SSL_TICKET_SUCCESS_RENEW:
		return peer_still_valid(s, ss) ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	}
}

/* SHA-256 of what tickets are bound to.  0 or -1 with err. */
static int ctx_digest(SSL_CTX *ctx, const char *ca_file, STACK_OF(X509_CRL) *crls, uint8_t out[DIGEST_LEN],
		      char *err)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	X509 *leaf = SSL_CTX_get0_certificate(ctx);
	unsigned char *der = NULL, buf[4096];
	unsigned outlen = 0;
	int n, ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestUpdate(m, ca_file ? "certificates" : "none", ca_file ? 13 : 5) == 1;
	FILE *f;
	size_t got;

	if (ok && leaf && (n = i2d_X509(leaf, &der)) > 0)
		ok = EVP_DigestUpdate(m, der, (size_t)n) == 1;
	OPENSSL_free(der);
	if (ok && ca_file) {
		if (!(f = fopen(ca_file, "rb"))) {
			snprintf(err, ERRLEN, "cannot read client CA file %s for the ticket keys", ca_file);
			EVP_MD_CTX_free(m);
			return -1;
		}
		while (ok && (got = fread(buf, 1, sizeof(buf), f)) > 0)
			ok = EVP_DigestUpdate(m, buf, got) == 1;
		fclose(f);
	}
	for (int i = 0; ok && i < sk_X509_CRL_num(crls); i++) {
		der = NULL;
		ok = (n = i2d_X509_CRL(sk_X509_CRL_value(crls, i), &der)) > 0 &&
		     EVP_DigestUpdate(m, der, (size_t)n) == 1;
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(m, out, &outlen) == 1 && outlen == DIGEST_LEN;
	EVP_MD_CTX_free(m);
	if (!ok)
		snprintf(err, ERRLEN, "cannot compute the ticket keys' digest");
	return ok ? 0 : -1;
}

int tls_resume_setup(SSL_CTX *ctx, const char *client_ca_file, STACK_OF(X509_CRL) *crls, char *err)
{
	struct resume_ctx *rc;

	err[0] = '\0';
	pthread_once(&idx_once, idx_init);
	if (ctx_idx < 0 || tls_resume_init() < 0 || !(rc = OPENSSL_zalloc(sizeof(*rc)))) {
		snprintf(err, ERRLEN, "session resumption: out of memory or no random numbers");
		return -1;
	}
	if (ctx_digest(ctx, client_ca_file, crls, rc->digest, err) < 0 ||
	    !SSL_CTX_set_ex_data(ctx, ctx_idx, rc)) {
		OPENSSL_clear_free(rc, sizeof(*rc));
		if (!err[0])
			snprintf(err, ERRLEN, "session resumption: out of memory");
		return -1;
	}
	/* Sessions of another certificate, CA, CRL or mode never resume here:
	 * OpenSSL compares this context with the session's. */
	SSL_CTX_set_session_id_context(ctx, rc->digest, DIGEST_LEN);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);       /* tickets only: every worker */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_timeout(ctx, RESUME_LIFETIME);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
	SSL_CTX_set_session_ticket_cb(ctx, NULL, ticket_dec_cb, NULL);
	return 0;
}

void tls_resume_off(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}
