/* See record.h.  Layout of this file: the suite table and the algorithms;
 * taking the keys (keylog, HKDF-Expand-Label, TLS PRF); sealing; opening
 * (framing, then one record, then what it carries); idle and free. */
#include "tls/record.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_CCS       20
#define CT_ALERT     21
#define CT_HANDSHAKE 22
#define CT_APPDATA   23
#define HS_HELLO_REQUEST 0
#define HS_CLIENT_HELLO  1
#define HS_NEW_TICKET    4
#define HS_KEY_UPDATE    24
#define GCM_TAG      16
#define HS_CAP       (16384u + 4)   /* largest post-handshake message kept (a ticket) */
#define OUT_CAP      256u           /* control records waiting: a KeyUpdate and an alert */

/* ---- suites ---- */

struct suite {
	uint16_t id;
	uint8_t v13, keylen, maclen, hashlen;   /* maclen 0: AES-GCM */
	const char *mac_md, *name;
};

static const struct suite suites[] = {
	{ 0x1301, 1, 16, 0, 32, NULL, "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, 1, 32, 0, 48, NULL, "TLS_AES_256_GCM_SHA384" },
	{ 0x009C, 0, 16, 0, 0, NULL, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009D, 0, 32, 0, 0, NULL, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x009E, 0, 16, 0, 0, NULL, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009F, 0, 32, 0, 0, NULL, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC02B, 0, 16, 0, 0, NULL, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC02C, 0, 32, 0, 0, NULL, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC02F, 0, 16, 0, 0, NULL, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC030, 0, 32, 0, 0, NULL, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x003B, 0, 0, 32, 0, "SHA256", "TLS_RSA_WITH_NULL_SHA256" },
	{ 0x0002, 0, 0, 20, 0, "SHA1", "TLS_RSA_WITH_NULL_SHA" },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

static const struct suite *suite_of(const struct rec *r)
{
	return &suites[r->suite];
}

static int suite_index(uint16_t id)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (suites[i].id == id)
			return (int)i;
	return -1;
}

const char *rec_suite_name(const struct rec *r)
{
	return suite_of(r)->name;
}

/* Algorithms fetched once for the process (never freed: reachable). */
static EVP_CIPHER *aes128, *aes256;
static EVP_MAC *hmac;
static EVP_KDF *hkdf, *prf;
static int keylog_idx = -1;

static void secrets_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp);

/* 0 once everything is fetched, -1 otherwise. */
static int algs(void)
{
	if (keylog_idx < 0)
		keylog_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, secrets_free);
	if (!aes128)
		aes128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	if (!aes256)
		aes256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!hmac)
		hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!hkdf)
		hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!prf)
		prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	return keylog_idx >= 0 && aes128 && aes256 && hmac && hkdf && prf ? 0 : -1;
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- the keylog: TLS 1.3 traffic secrets parked until rec_take ---- */

struct secrets {
	uint8_t c[48], s[48];
	uint8_t clen, slen;
	uint8_t fin_sent;       /* our Finished was written */
	uint32_t after_fin;     /* records written since: TLS 1.3 tickets */
};

static void secrets_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	if (ptr)
		OPENSSL_clear_free(ptr, sizeof(struct secrets));
}

/* Hex to bytes, at most max; the count, or 0 on a bad digit or length. */
static uint8_t unhex(const char *p, uint8_t *out, size_t max)
{
	size_t n = 0;
	long v;

	while (p[0] && p[1] && p[0] != ' ' && n < max) {
		char two[3] = { p[0], p[1], 0 }, *end;
		v = strtol(two, &end, 16);
		if (*end)
			return 0;
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return p[0] && p[0] != '\n' ? 0 : (uint8_t)n;
}

/* ssl's parked secrets, made at first use; NULL when out of memory. */
static struct secrets *secrets_of(const SSL *ssl)
{
	struct secrets *s = SSL_get_ex_data(ssl, keylog_idx);

	if (s)
		return s;
	s = OPENSSL_zalloc(sizeof(*s));
	if (!s || !SSL_set_ex_data((SSL *)ssl, keylog_idx, s)) {
		OPENSSL_free(s);
		return NULL;
	}
	return s;
}

/* OpenSSL's message callback: counts the records written after our
 * Finished, under the application traffic key (a TLS 1.3 server's
 * NewSessionTickets), so that rec_take starts the write sequence there.
 * OpenSSL reports a handshake message once its records are written, and
 * each record's header as it is made. */
static void msg_cb(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct secrets *s;

	(void)version;
	(void)arg;
	if (!write_p || algs() < 0)
		return;
	if (type == SSL3_RT_HANDSHAKE && len >= 1 && ((const uint8_t *)buf)[0] == SSL3_MT_FINISHED) {
		if ((s = secrets_of(ssl))) {
			s->fin_sent = 1;
			s->after_fin = 0;
		}
	} else if (type == SSL3_RT_HEADER && (s = SSL_get_ex_data(ssl, keylog_idx)) && s->fin_sent &&
		   s->after_fin < UINT32_MAX) {
		s->after_fin++;
	}
}

void rec_keylog_line(const SSL *ssl, const char *line)
{
	static const char cl[] = "CLIENT_TRAFFIC_SECRET_0 ", sl[] = "SERVER_TRAFFIC_SECRET_0 ";
	int client = !strncmp(line, cl, sizeof(cl) - 1);
	struct secrets *s;
	const char *p;

	if ((!client && strncmp(line, sl, sizeof(sl) - 1)) || algs() < 0)
		return;
	p = strchr(line + sizeof(cl) - 1, ' ');     /* past the client random */
	if (!(s = secrets_of(ssl)))
		return;
	if (client)
		s->clen = p ? unhex(p + 1, s->c, sizeof(s->c)) : 0;
	else
		s->slen = p ? unhex(p + 1, s->s, sizeof(s->s)) : 0;
}

int rec_ctx_prepare(SSL_CTX *ctx, char *err)
{
	if (algs() < 0) {
		snprintf(err, ERRLEN, "record layer: OpenSSL lacks AES-GCM, HMAC, HKDF or TLS1-PRF");
		return -1;
	}
	SSL_CTX_set_keylog_callback(ctx, rec_keylog_line);
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	return 0;
}

/* ---- keys ---- */

/* HKDF-Expand-Label(secret, label, "", outlen) (RFC 8446 7.1). 0 or -1. */
static int expand_label(size_t hashlen, const uint8_t *secret, const char *label, uint8_t *out, size_t outlen)
{
	uint8_t info[2 + 1 + 6 + 32 + 1];
	size_t ll = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(hkdf);

	put16(info, outlen);
	n = 2;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll);
	n += 6 + ll;
	info[n++] = 0;                  /* empty context */
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, hashlen == 48 ? "SHA384" : "SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, hashlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
		OSSL_PARAM_construct_end(),
	};
	ok = k && EVP_KDF_derive(k, out, outlen, p) == 1;
	EVP_KDF_CTX_free(k);
	return ok ? 0 : -1;
}

static void drop_ctx(const struct rec *r, struct rec_dir *d)
{
	if (!d->ctx)
		return;
	if (suite_of(r)->maclen)
		EVP_MAC_CTX_free(d->ctx);
	else
		EVP_CIPHER_CTX_free(d->ctx);
	d->ctx = NULL;
}

/* TLS 1.3: key and IV of d from its secret; the sequence starts again. */
static int derive13(struct rec *r, struct rec_dir *d)
{
	const struct suite *s = suite_of(r);

	drop_ctx(r, d);
	d->seq = 0;
	return expand_label(s->hashlen, d->secret, "key", d->key, s->keylen) |
	       expand_label(s->hashlen, d->secret, "iv", d->iv, 12);
}

/* TLS 1.3: the next generation of d's secret and keys (7.2). */
static int update13(struct rec *r, struct rec_dir *d)
{
	uint8_t next[48];
	size_t hl = suite_of(r)->hashlen;
	int rc = expand_label(hl, d->secret, "traffic upd", next, hl);

	if (rc == 0) {
		memcpy(d->secret, next, hl);
		rc = derive13(r, d);
	}
	OPENSSL_cleanse(next, sizeof(next));
	return rc;
}

/* Common start of both inits: the suite, the role, the limits. */
static int init_common(struct rec *r, enum rec_role role, uint16_t suite_id, int v13, char *err)
{
	int i = suite_index(suite_id);

	memset(r, 0, sizeof(*r));
	if (algs() < 0) {
		snprintf(err, ERRLEN, "record layer: OpenSSL lacks AES-GCM, HMAC, HKDF or TLS1-PRF");
		return -1;
	}
	if (i < 0 || suites[i].v13 != v13) {
		snprintf(err, ERRLEN, "suite 0x%04x in TLS %s is not taken over", suite_id, v13 ? "1.3" : "1.2 or older");
		return -1;
	}
	r->suite = (uint8_t)i;
	r->role = (uint8_t)role;
	r->v13 = (uint8_t)v13;
	r->version = 0x0303;
	r->plain_max = REC_MAX_PLAIN;
	r->ku_after = REC_KEYUPDATE_AFTER;
	return 0;
}

int rec_init_tls13(struct rec *r, enum rec_role role, uint16_t suite_id, const uint8_t *client_secret,
		   const uint8_t *server_secret, size_t secret_len, char *err)
{
	struct rec_dir *cd = role == REC_SERVER ? &r->rd : &r->wr, *sd = role == REC_SERVER ? &r->wr : &r->rd;

	if (init_common(r, role, suite_id, 1, err) < 0)
		return -1;
	if (secret_len != suite_of(r)->hashlen) {
		snprintf(err, ERRLEN, "%s: traffic secrets of %zu bytes, not %u", rec_suite_name(r), secret_len,
			 suite_of(r)->hashlen);
		return -1;
	}
	memcpy(cd->secret, client_secret, secret_len);
	memcpy(sd->secret, server_secret, secret_len);
	if (derive13(r, cd) < 0 || derive13(r, sd) < 0) {
		snprintf(err, ERRLEN, "%s: HKDF-Expand-Label failed", rec_suite_name(r));
		rec_free(r);
		return -1;
	}
	return 0;
}

/* key_block = PRF(master, "key expansion", server_random + client_random)
 * (RFC 5246 6.3); the digest is MD5-SHA1 before TLS 1.2.  0 or -1. */
static int key_block(uint16_t version, const char *digest, const uint8_t master[48], const uint8_t cr[32],
		     const uint8_t sr[32], uint8_t *out, size_t len)
{
	uint8_t seed[13 + 64];
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(prf);
	int ok;

	memcpy(seed, "key expansion", 13);
	memcpy(seed + 13, sr, 32);
	memcpy(seed + 45, cr, 32);
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)(version < 0x0303 ? "MD5-SHA1" : digest), 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)master, 48),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
		OSSL_PARAM_construct_end(),
	};
	ok = k && EVP_KDF_derive(k, out, len, p) == 1;
	EVP_KDF_CTX_free(k);
	return ok ? 0 : -1;
}

int rec_init_tls12(struct rec *r, enum rec_role role, uint16_t suite_id, uint16_t version,
		   const uint8_t master[48], const uint8_t client_random[32], const uint8_t server_random[32],
		   const char *prf_digest, char *err)
{
	uint8_t kb[2 * 32 + 2 * 32 + 2 * 4];
	const struct suite *s;
	struct rec_dir *cd, *sd;
	size_t mk, ek;

	if (init_common(r, role, suite_id, 0, err) < 0)
		return -1;
	s = suite_of(r);
	if (version < 0x0301 || version > 0x0303 || (!s->maclen && version != 0x0303)) {
		snprintf(err, ERRLEN, "%s in record version 0x%04x is not taken over", s->name, version);
		return -1;
	}
	r->version = version;
	cd = role == REC_SERVER ? &r->rd : &r->wr;
	sd = role == REC_SERVER ? &r->wr : &r->rd;
	mk = s->maclen;
	ek = s->keylen;
	if (key_block(version, prf_digest, master, client_random, server_random, kb, 2 * mk + 2 * ek + 8) < 0) {
		snprintf(err, ERRLEN, "%s: the TLS PRF (%s) failed", s->name, version < 0x0303 ? "MD5-SHA1" : prf_digest);
		return -1;
	}
	/* client MAC, server MAC, client key, server key, client IV, server IV */
	memcpy(cd->key, kb, mk + ek);   /* a suite has MAC keys or cipher keys, not both */
	memcpy(sd->key, kb + mk + (mk ? 0 : ek), mk + ek);
	if (!mk) {
		memcpy(cd->iv, kb + 2 * ek, 4);
		memcpy(sd->iv, kb + 2 * ek + 4, 4);
	}
	OPENSSL_cleanse(kb, sizeof(kb));
	r->rd.seq = r->wr.seq = 1;      /* each side's Finished was record 0 */
	return 0;
}

/* The 1.3 secrets OpenSSL logged for ssl; 0 or -1 with err set. */
static int take13(SSL *ssl, enum rec_role role, uint16_t id, struct rec *r, char *err)
{
	struct secrets *s = SSL_get_ex_data(ssl, keylog_idx);
	int rc;

	if (!s || !s->clen || s->clen != s->slen || !s->fin_sent) {
		snprintf(err, ERRLEN, "the traffic secrets or the records after the Finished were not logged "
			 "(rec_ctx_prepare before the handshake)");
		return -1;
	}
	rc = rec_init_tls13(r, role, id, s->c, s->s, s->clen, err);
	if (rc == 0)
		r->wr.seq = s->after_fin;       /* the tickets went out under this key */
	SSL_set_ex_data(ssl, keylog_idx, NULL);
	OPENSSL_clear_free(s, sizeof(*s));
	return rc;
}

static int take12(SSL *ssl, enum rec_role role, uint16_t id, struct rec *r, char *err)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
	uint8_t mk[48], cr[32], sr[32];
	int rc;

	if (SSL_SESSION_get_master_key(SSL_get_session(ssl), mk, sizeof(mk)) != sizeof(mk) ||
	    SSL_get_client_random(ssl, cr, sizeof(cr)) != sizeof(cr) ||
	    SSL_get_server_random(ssl, sr, sizeof(sr)) != sizeof(sr)) {
		snprintf(err, ERRLEN, "the master secret or the randoms are not available");
		return -1;
	}
	/* TLS 1.2's PRF: the suite's hash when it names one (SHA-384), else
	 * SHA-256; OpenSSL reports the latter as the old MD5-SHA1 default. */
	rc = rec_init_tls12(r, role, id, (uint16_t)SSL_version(ssl), mk, cr, sr,
			    md && EVP_MD_is_a(md, "SHA384") ? "SHA384" : "SHA256", err);
	OPENSSL_cleanse(mk, sizeof(mk));
	return rc;
}

int rec_take(SSL *ssl, enum rec_role role, struct rec *r, char *err)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	uint16_t id = c ? SSL_CIPHER_get_protocol_id(c) : 0;
	uint8_t mfl;
	int rc;

	if (algs() < 0 || !c || !SSL_is_init_finished(ssl)) {
		snprintf(err, ERRLEN, "the handshake is not finished");
		return -1;
	}
	if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl)) {
		snprintf(err, ERRLEN, "OpenSSL holds bytes not yet read");
		return -1;
	}
	if (BIO_get_ktls_send(SSL_get_wbio(ssl)) || BIO_get_ktls_recv(SSL_get_rbio(ssl))) {
		snprintf(err, ERRLEN, "the kernel's TLS already has the records");
		return -1;
	}
	rc = SSL_version(ssl) == TLS1_3_VERSION ? take13(ssl, role, id, r, err) : take12(ssl, role, id, r, err);
	if (rc < 0)
		return -1;
	mfl = SSL_SESSION_get_max_fragment_length(SSL_get_session(ssl));
	if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096)
		r->plain_max = (uint16_t)(512u << (mfl - 1));
	return 0;
}

/* ---- primitives: AES-GCM and HMAC with the direction's context ---- */

static EVP_CIPHER_CTX *gcm_ctx(const struct rec *r, struct rec_dir *d, int enc)
{
	EVP_CIPHER_CTX *ctx = d->ctx;

	if (ctx)
		return ctx;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx && !EVP_CipherInit_ex2(ctx, suite_of(r)->keylen == 16 ? aes128 : aes256, d->key, NULL, enc, NULL)) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	d->ctx = ctx;
	return ctx;
}

static EVP_MAC_CTX *mac_ctx(const struct rec *r, struct rec_dir *d)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)suite_of(r)->mac_md, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *m = d->ctx;

	if (m)
		return EVP_MAC_init(m, NULL, 0, NULL) ? m : NULL;       /* same key again */
	m = EVP_MAC_CTX_new(hmac);
	if (m && !EVP_MAC_init(m, d->key, suite_of(r)->maclen, p)) {
		EVP_MAC_CTX_free(m);
		m = NULL;
	}
	d->ctx = m;
	return m;
}

/* The per-record nonce: TLS 1.3 IV xor sequence; TLS 1.2 salt + explicit. */
static void nonce13(const struct rec_dir *d, uint8_t n[12])
{
	memcpy(n, d->iv, 12);
	for (int i = 0; i < 8; i++)
		n[4 + i] ^= (uint8_t)(d->seq >> (56 - 8 * i));
}

/* TLS 1.2 MAC and AEAD additional data: seq, type, version, length. */
static void aad12(const struct rec *r, const struct rec_dir *d, uint8_t type, size_t len, uint8_t a[13])
{
	put64(a, d->seq);
	a[8] = type;
	put16(a + 9, r->version);
	put16(a + 11, len);
}

/* ---- sealing ---- */

/* A cursor over the caller's chunks. */
struct cursor {
	const struct iovec *iov;
	int cnt, i;
	size_t off;
};

/* The next contiguous piece of at most max bytes; its length (0 at the end). */
static size_t cur_next(struct cursor *c, size_t max, const uint8_t **p)
{
	size_t n;

	while (c->i < c->cnt && c->off == c->iov[c->i].iov_len) {
		c->i++;
		c->off = 0;
	}
	if (c->i == c->cnt)
		return 0;
	n = c->iov[c->i].iov_len - c->off;
	n = n < max ? n : max;
	*p = (const uint8_t *)c->iov[c->i].iov_base + c->off;
	c->off += n;
	return n;
}

/* Bytes of padding for n bytes of inner plaintext (TLS 1.3). */
static size_t pad13(const struct rec *r, size_t n)
{
	size_t pad, b = r->pad_to > 256 ? 256 : r->pad_to;

	if (!b)
		return 0;
	pad = (b - (n + 1) % b) % b;
	return n + 1 + pad > REC_MAX_PLAIN + 1 ? REC_MAX_PLAIN - n : pad;
}

/* Bytes one record of n plaintext bytes takes. */
static size_t record_size(const struct rec *r, size_t n)
{
	const struct suite *s = suite_of(r);

	if (r->v13)
		return REC_HDR + n + 1 + pad13(r, n) + GCM_TAG;
	return REC_HDR + n + (s->maclen ? s->maclen : 8 + GCM_TAG);
}

/* Encrypts n bytes from the cursor (then the TLS 1.3 trailer) with GCM. */
static int gcm_seal(const struct rec *r, struct rec_dir *d, const uint8_t nonce[12], const uint8_t *aad,
		    size_t aadlen, struct cursor *c, size_t n, const uint8_t *trailer, size_t tlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = gcm_ctx(r, d, 1);
	const uint8_t *p;
	size_t k;
	int l, ok = ctx && EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 1, NULL) &&
		    EVP_CipherUpdate(ctx, NULL, &l, aad, (int)aadlen);

	while (ok && n && (k = cur_next(c, n, &p))) {
		ok = EVP_CipherUpdate(ctx, out, &l, p, (int)k);
		out += k;
		n -= k;
	}
	if (ok && tlen)
		ok = EVP_CipherUpdate(ctx, out, &l, trailer, (int)tlen);
	out += tlen;
	return ok && EVP_CipherFinal_ex(ctx, out, &l) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, GCM_TAG, out) ? 0 : -1;
}

/* Copies n bytes from the cursor and appends their HMAC. */
static int mac_seal(const struct rec *r, struct rec_dir *d, const uint8_t aad[13], struct cursor *c, size_t n,
		    uint8_t *out)
{
	EVP_MAC_CTX *m = mac_ctx(r, d);
	const uint8_t *p;
	size_t k, ol;
	int ok = m && EVP_MAC_update(m, aad, 13);

	while (ok && n && (k = cur_next(c, n, &p))) {
		memcpy(out, p, k);
		ok = EVP_MAC_update(m, p, k);
		out += k;
		n -= k;
	}
	return ok && EVP_MAC_final(m, out, &ol, suite_of(r)->maclen) ? 0 : -1;
}

/* One record of type with n bytes from c into out (record_size bytes).
 * 0, or -1 (the sequence would wrap, or the cipher failed). */
static int seal_one(struct rec *r, uint8_t type, struct cursor *c, size_t n, uint8_t *out)
{
	struct rec_dir *d = &r->wr;
	size_t len = record_size(r, n) - REC_HDR;
	uint8_t nonce[12], aad[13], trailer[1 + 256] = { type };
	int rc;

	if (d->seq == UINT64_MAX)
		return -1;
	out[0] = r->v13 ? CT_APPDATA : type;
	put16(out + 1, r->version);
	put16(out + 3, len);
	if (r->v13) {
		nonce13(d, nonce);
		rc = gcm_seal(r, d, nonce, out, REC_HDR, c, n, trailer, 1 + pad13(r, n), out + REC_HDR);
	} else if (suite_of(r)->maclen) {
		aad12(r, d, type, n, aad);
		rc = mac_seal(r, d, aad, c, n, out + REC_HDR);
	} else {
		aad12(r, d, type, n, aad);
		memcpy(nonce, d->iv, 4);
		put64(nonce + 4, d->seq);
		memcpy(out + REC_HDR, nonce + 4, 8);
		rc = gcm_seal(r, d, nonce, aad, 13, c, n, NULL, 0, out + REC_HDR + 8);
	}
	if (rc == 0) {
		d->seq++;
		r->records_out++;
	}
	return rc;
}

/* A record of a few bytes (alert, KeyUpdate) into out; its size or -1. */
static ssize_t seal_small(struct rec *r, uint8_t type, const uint8_t *p, size_t n, uint8_t *out)
{
	struct iovec v = { (void *)p, n };
	struct cursor c = { &v, 1, 0, 0 };
	size_t sz = record_size(r, n);

	return seal_one(r, type, &c, n, out) < 0 ? -1 : (ssize_t)sz;
}

/* Our KeyUpdate (update_not_requested unless req) into out, then the new
 * write keys; its size or -1. */
static ssize_t key_update_out(struct rec *r, int req, uint8_t *out)
{
	const uint8_t ku[5] = { HS_KEY_UPDATE, 0, 0, 1, (uint8_t)req };
	ssize_t n = seal_small(r, CT_HANDSHAKE, ku, sizeof(ku), out);

	if (n < 0 || update13(r, &r->wr) < 0)
		return -1;
	r->key_updates_out++;
	return n;
}

size_t rec_seal_size(const struct rec *r, size_t len, size_t max_plain)
{
	size_t total = 0, n;
	uint64_t seq = r->wr.seq;

	if (!max_plain || max_plain > r->plain_max)
		max_plain = r->plain_max;
	while (len) {
		n = len < max_plain ? len : max_plain;
		if (r->v13 && seq >= r->ku_after) {
			total += record_size(r, 5);
			seq = 0;
		}
		total += record_size(r, n);
		seq++;
		len -= n;
	}
	return total;
}

/* Marks the connection failed with our alert in the output queue. */
static enum rec_result fail(struct rec *r, uint8_t level, uint8_t desc);

ssize_t rec_seal(struct rec *r, const struct iovec *iov, int iovcnt, size_t max_plain, uint8_t *out,
		 size_t outlen)
{
	struct cursor c = { iov, iovcnt, 0, 0 };
	size_t len = 0, done = 0, n;
	ssize_t k;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (r->state != REC_OPEN || rec_seal_size(r, len, max_plain) > outlen) {
		errno = r->state != REC_OPEN ? EPIPE : ENOBUFS;
		return -1;
	}
	if (!max_plain || max_plain > r->plain_max)
		max_plain = r->plain_max;
	while (len) {
		n = len < max_plain ? len : max_plain;
		if (r->v13 && r->wr.seq >= r->ku_after) {
			if ((k = key_update_out(r, 0, out + done)) < 0)
				break;
			done += (size_t)k;
		}
		if (seal_one(r, CT_APPDATA, &c, n, out + done) < 0)
			break;
		done += record_size(r, n);
		len -= n;
	}
	if (len) {
		fail(r, 2, REC_AD_INTERNAL_ERROR);
		errno = EPIPE;
		return -1;
	}
	return (ssize_t)done;
}

ssize_t rec_seal_close(struct rec *r, uint8_t *out, size_t outlen)
{
	const uint8_t a[2] = { 1, REC_AD_CLOSE_NOTIFY };
	ssize_t n;

	if (r->state != REC_OPEN || outlen < record_size(r, 2)) {
		errno = r->state != REC_OPEN ? EPIPE : ENOBUFS;
		return -1;
	}
	n = seal_small(r, CT_ALERT, a, 2, out);
	r->state = REC_CLOSED;
	return n;
}

/* Appends a control record to the output queue; 0 or -1. */
static int queue_small(struct rec *r, uint8_t type, const uint8_t *p, size_t n, int key_update)
{
	size_t need = key_update ? record_size(r, 5) : record_size(r, n);
	ssize_t k;

	if (r->out_len + need > OUT_CAP)
		return -1;
	if (!r->out && !(r->out = malloc(OUT_CAP)))
		return -1;
	k = key_update ? key_update_out(r, 0, r->out + r->out_len) : seal_small(r, type, p, n, r->out + r->out_len);
	if (k < 0)
		return -1;
	r->out_len += (uint32_t)k;
	return 0;
}

static enum rec_result fail(struct rec *r, uint8_t level, uint8_t desc)
{
	const uint8_t a[2] = { level, desc };

	if (r->state == REC_OPEN)
		queue_small(r, CT_ALERT, a, 2, 0);      /* best effort: we close anyway */
	r->state = REC_FAILED;
	r->alert = desc;
	return REC_FATAL;
}

const uint8_t *rec_output(const struct rec *r, size_t *len)
{
	*len = r->out_len;
	return r->out_len ? r->out : NULL;
}

void rec_output_done(struct rec *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}

void rec_output_sent(struct rec *r)
{
	r->ku_queued = 0;
}

/* ---- opening: framing ---- */

/* The largest record body the suite allows (checked from the header). */
static size_t body_max(const struct rec *r)
{
	const struct suite *s = suite_of(r);

	if (r->v13)
		return REC_MAX_CIPHER13;
	return r->plain_max + (s->maclen ? s->maclen : 8 + GCM_TAG);
}

/* Checks a record header before its body is awaited; REC_NEED_MORE when
 * fine, REC_FATAL otherwise. */
static enum rec_result check_header(struct rec *r, const uint8_t *h)
{
	size_t len = (size_t)h[3] << 8 | h[4];

	if (r->v13 ? h[0] != CT_APPDATA : h[0] < CT_ALERT || h[0] > CT_APPDATA)
		return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);   /* CCS, plaintext alerts, unknown */
	if (!r->v13 && (h[1] << 8 | h[2]) != r->version)
		return fail(r, 2, REC_AD_PROTOCOL_VERSION);
	if (len > body_max(r))
		return fail(r, 2, REC_AD_RECORD_OVERFLOW);
	return REC_NEED_MORE;
}

static size_t part_total(const struct rec *r)
{
	return REC_HDR + ((size_t)r->part[3] << 8 | r->part[4]);
}

/* Moves input into a partial record.  REC_DATA when *rec is now whole,
 * REC_NEED_MORE when the input ran out, REC_FATAL on a bad header. */
static enum rec_result gather(struct rec *r, const uint8_t *in, size_t len, size_t *pos, uint8_t **rec)
{
	size_t take;

	if (!r->part) {
		take = REC_HDR - r->hdr_have < len - *pos ? REC_HDR - r->hdr_have : len - *pos;
		memcpy(r->hdr + r->hdr_have, in + *pos, take);
		r->hdr_have += (uint8_t)take;
		*pos += take;
		if (r->hdr_have < REC_HDR)
			return REC_NEED_MORE;
		if (check_header(r, r->hdr) != REC_NEED_MORE)
			return REC_FATAL;
		r->part = malloc(REC_HDR + ((size_t)r->hdr[3] << 8 | r->hdr[4]));
		if (!r->part)
			return fail(r, 2, REC_AD_INTERNAL_ERROR);
		memcpy(r->part, r->hdr, REC_HDR);
		r->part_have = REC_HDR;
		r->hdr_have = 0;
	}
	take = part_total(r) - r->part_have < len - *pos ? part_total(r) - r->part_have : len - *pos;
	memcpy(r->part + r->part_have, in + *pos, take);
	r->part_have += (uint32_t)take;
	*pos += take;
	if (r->part_have < part_total(r))
		return REC_NEED_MORE;
	*rec = r->part;                 /* freed at the next call: the span may point into it */
	return REC_DATA;
}

/* The next whole record: in place when it is whole in the input. */
static enum rec_result next_record(struct rec *r, uint8_t *in, size_t len, size_t *pos, uint8_t **rec)
{
	size_t body;

	if (r->hdr_have || r->part || len - *pos < REC_HDR)
		return gather(r, in, len, pos, rec);
	if (check_header(r, in + *pos) != REC_NEED_MORE)
		return REC_FATAL;
	body = (size_t)in[*pos + 3] << 8 | in[*pos + 4];
	if (len - *pos < REC_HDR + body)
		return gather(r, in, len, pos, rec);
	*rec = in + *pos;
	*pos += REC_HDR + body;
	return REC_DATA;
}

/* ---- opening: one record ---- */

/* Decrypts n bytes at p in place with GCM and checks the tag after them. */
static int gcm_open(const struct rec *r, struct rec_dir *d, const uint8_t nonce[12], const uint8_t *aad,
		    size_t aadlen, uint8_t *p, size_t n)
{
	EVP_CIPHER_CTX *ctx = gcm_ctx(r, d, 0);
	int l;

	return ctx && EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 0, NULL) &&
	       EVP_CipherUpdate(ctx, NULL, &l, aad, (int)aadlen) && EVP_CipherUpdate(ctx, p, &l, p, (int)n) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, GCM_TAG, p + n) &&
	       EVP_CipherFinal_ex(ctx, p + n, &l) ? 0 : -1;
}

/* TLS 1.3: the inner plaintext's content and type (5.2, 5.4). */
static enum rec_result open13(struct rec *r, uint8_t *rec, size_t n, uint8_t *type, struct rec_span *out)
{
	uint8_t nonce[12], *p = rec + REC_HDR;

	if (n < 1 + GCM_TAG)
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	nonce13(&r->rd, nonce);
	if (gcm_open(r, &r->rd, nonce, rec, REC_HDR, p, n - GCM_TAG) < 0)
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	n -= GCM_TAG;
	if (n > REC_MAX_PLAIN + 1)
		return fail(r, 2, REC_AD_RECORD_OVERFLOW);
	while (n && !p[n - 1])
		n--;                    /* padding */
	if (!n)
		return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);
	*type = p[--n];
	*out = (struct rec_span){ p, n };
	return REC_DATA;
}

/* TLS 1.2 AES-GCM: explicit nonce, ciphertext, tag. */
static enum rec_result open12gcm(struct rec *r, uint8_t *rec, size_t n, struct rec_span *out)
{
	uint8_t nonce[12], aad[13], *p = rec + REC_HDR;

	if (n < 8 + GCM_TAG)
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	n -= 8 + GCM_TAG;
	memcpy(nonce, r->rd.iv, 4);
	memcpy(nonce + 4, p, 8);
	aad12(r, &r->rd, rec[0], n, aad);
	if (gcm_open(r, &r->rd, nonce, aad, 13, p + 8, n) < 0)
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	*out = (struct rec_span){ p + 8, n };
	return REC_DATA;
}

/* The null suites: plaintext and its HMAC, compared in constant time. */
static enum rec_result open12mac(struct rec *r, uint8_t *rec, size_t n, struct rec_span *out)
{
	size_t ml = suite_of(r)->maclen, ol;
	uint8_t aad[13], mac[32], *p = rec + REC_HDR;
	EVP_MAC_CTX *m;

	if (n < ml)
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	n -= ml;
	aad12(r, &r->rd, rec[0], n, aad);
	m = mac_ctx(r, &r->rd);
	if (!m || !EVP_MAC_update(m, aad, 13) || !EVP_MAC_update(m, p, n) || !EVP_MAC_final(m, mac, &ol, sizeof(mac)) ||
	    CRYPTO_memcmp(mac, p + n, ml))
		return fail(r, 2, REC_AD_BAD_RECORD_MAC);
	*out = (struct rec_span){ p, n };
	return REC_DATA;
}

/* ---- opening: what a record carries ---- */

/* An alert from the peer (6 in RFC 8446, 7.2 in RFC 5246). */
static enum rec_result on_alert(struct rec *r, const uint8_t *p, size_t n)
{
	if (n != 2)
		return fail(r, 2, REC_AD_DECODE_ERROR);
	if (p[1] == REC_AD_CLOSE_NOTIFY) {
		r->peer_end = REC_CLOSE;
		return REC_CLOSE;
	}
	if (r->v13 ? p[1] == REC_AD_USER_CANCELED : p[0] == 1)
		return REC_NEED_MORE;   /* a warning: go on (close_notify follows user_canceled) */
	if (!r->v13 && p[0] != 2)
		return fail(r, 2, REC_AD_ILLEGAL_PARAMETER);
	r->peer_alert = p[1];
	r->peer_end = REC_ALERT;
	r->state = REC_FAILED;
	return REC_ALERT;
}

/* TLS 1.2 and older: no handshake after the handshake.  A client may ignore
 * HelloRequest; a ClientHello (renegotiation) is refused with
 * no_renegotiation (a warning by definition) and the connection ends. */
static enum rec_result on_handshake12(struct rec *r, const uint8_t *p, size_t n)
{
	static const uint8_t hello_request[4] = { HS_HELLO_REQUEST, 0, 0, 0 };

	if (r->role == REC_CLIENT && n && n % 4 == 0) {
		size_t i = 0;
		while (i < n && !memcmp(p + i, hello_request, 4))
			i += 4;
		if (i == n)
			return REC_NEED_MORE;
	}
	if (r->role == REC_SERVER && n && p[0] == HS_CLIENT_HELLO)
		return fail(r, 1, REC_AD_NO_RENEGOTIATION);
	return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);
}

/* The peer's KeyUpdate (RFC 8446 4.6.3): new read keys; ours when asked. */
static enum rec_result key_update_in(struct rec *r, uint8_t req)
{
	if (req > 1)
		return fail(r, 2, REC_AD_ILLEGAL_PARAMETER);
	if (update13(r, &r->rd) < 0)
		return fail(r, 2, REC_AD_INTERNAL_ERROR);
	r->key_updates_in++;
	/* One answer covers every request received while we were silent
	 * (4.6.3): while the last one is not yet on the wire (nothing is
	 * sealed behind it: rec_output_sent), it answers this one too; none
	 * once we have sent close_notify. */
	if (!req || r->ku_queued || r->state != REC_OPEN)
		return REC_NEED_MORE;
	if (queue_small(r, CT_HANDSHAKE, NULL, 0, 1) < 0)
		return fail(r, 2, REC_AD_INTERNAL_ERROR);
	r->ku_queued = 1;
	return REC_NEED_MORE;
}

/* TLS 1.3 post-handshake messages, reassembled across records within a cap:
 * KeyUpdate, and NewSessionTicket for a client (ignored); anything else is
 * unexpected.  A KeyUpdate must end its record (5.1: no message spans a
 * key change).  m, left: what is to be parsed (in the record, or r->hs). */
static enum rec_result parse_hs13(struct rec *r, const uint8_t *m, size_t left)
{
	size_t mlen;
	enum rec_result rc;

	while (left) {
		if (m[0] != HS_KEY_UPDATE && (m[0] != HS_NEW_TICKET || r->role != REC_CLIENT))
			return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);
		if (left < 4)
			break;
		mlen = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
		if ((m[0] == HS_KEY_UPDATE && mlen != 1) || 4 + mlen > HS_CAP)
			return fail(r, 2, REC_AD_DECODE_ERROR);
		if (left < 4 + mlen)
			break;
		if (m[0] == HS_KEY_UPDATE) {
			if (left != 5)
				return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);
			if ((rc = key_update_in(r, m[4])) != REC_NEED_MORE)
				return rc;
		}
		m += 4 + mlen;
		left -= 4 + mlen;
	}
	if (left && !r->hs && !(r->hs = malloc(left)))        /* m is in the record then */
		return fail(r, 2, REC_AD_INTERNAL_ERROR);
	if (left)
		memmove(r->hs, m, left);
	r->hs_have = (uint32_t)left;
	if (!left) {
		free(r->hs);
		r->hs = NULL;
	}
	return REC_NEED_MORE;
}

static enum rec_result on_handshake13(struct rec *r, const uint8_t *p, size_t n)
{
	uint8_t *grown;

	if (!n)
		return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);   /* no empty handshake records (5.1) */
	if (!r->hs)
		return parse_hs13(r, p, n);
	if (r->hs_have + n > HS_CAP)
		return fail(r, 2, REC_AD_DECODE_ERROR);
	grown = realloc(r->hs, r->hs_have + n);         /* only what the message has so far */
	if (!grown)
		return fail(r, 2, REC_AD_INTERNAL_ERROR);
	r->hs = grown;
	memcpy(r->hs + r->hs_have, p, n);
	return parse_hs13(r, r->hs, r->hs_have + n);
}

/* One whole record (rec, 5 + body bytes): open it and act on its content. */
static enum rec_result open_record(struct rec *r, uint8_t *rec, size_t len, struct rec_span *span)
{
	uint8_t type = rec[0];
	enum rec_result rc;

	if (r->rd.seq == UINT64_MAX)
		return fail(r, 2, REC_AD_INTERNAL_ERROR);       /* it would wrap: end */
	if (r->v13)
		rc = open13(r, rec, len - REC_HDR, &type, span);
	else if (suite_of(r)->maclen)
		rc = open12mac(r, rec, len - REC_HDR, span);
	else
		rc = open12gcm(r, rec, len - REC_HDR, span);
	if (rc != REC_DATA)
		return rc;
	r->rd.seq++;
	r->records_in++;
	if (r->hs && type != CT_HANDSHAKE)
		return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);   /* a message cut by another record */
	switch (type) {
	case CT_APPDATA:
		if (span->n > r->plain_max)
			return fail(r, 2, REC_AD_RECORD_OVERFLOW);
		return span->n ? REC_DATA : REC_NEED_MORE;
	case CT_ALERT:
		return on_alert(r, span->p, span->n);
	case CT_HANDSHAKE:
		return r->v13 ? on_handshake13(r, span->p, span->n) : on_handshake12(r, span->p, span->n);
	default:
		return fail(r, 2, REC_AD_UNEXPECTED_MESSAGE);
	}
}

/* Frees a partial record that was completed and handed over last time. */
static void drop_done_part(struct rec *r)
{
	if (r->part && r->part_have == part_total(r)) {
		free(r->part);
		r->part = NULL;
		r->part_have = 0;
	}
}

enum rec_result rec_open(struct rec *r, uint8_t *in, size_t len, size_t *used, struct rec_span *span)
{
	enum rec_result rc;
	uint8_t *rec;
	size_t pos = 0;

	drop_done_part(r);
	*span = (struct rec_span){ NULL, 0 };
	for (;;) {
		if (r->peer_end || r->state == REC_FAILED) {
			*used = pos;
			return r->peer_end ? (enum rec_result)r->peer_end : REC_FATAL;
		}
		rc = next_record(r, in, len, &pos, &rec);
		if (rc != REC_DATA) {
			*used = pos;
			return rc;
		}
		rc = open_record(r, rec, rec == r->part ? part_total(r) : (size_t)(rec[3] << 8 | rec[4]) + REC_HDR,
				 span);
		if (rc != REC_NEED_MORE) {
			*used = pos;
			return rc;
		}
		drop_done_part(r);
	}
}

/* ---- idle and free ---- */

void rec_idle(struct rec *r)
{
	drop_ctx(r, &r->rd);
	drop_ctx(r, &r->wr);
	drop_done_part(r);
	if (!r->out_len)
		rec_output_done(r);
}

void rec_free(struct rec *r)
{
	drop_ctx(r, &r->rd);
	drop_ctx(r, &r->wr);
	free(r->part);
	free(r->hs);
	free(r->out);
	OPENSSL_cleanse(r, sizeof(*r));
}
