/* Unit tests of the TLS record/handshake parser (src/diag/tlsparse.h):
 * message parsers on built messages and on every truncation of them, the
 * stream parser over any split of records, null suites, TLS 1.3, streams
 * that are not TLS, caps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "diag/tlsparse.h"

/* ---- builders ---- */

struct buf {
	uint8_t b[70000];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put24(struct buf *b, size_t v)
{
	put8(b, (unsigned)(v >> 16));
	put16(b, (unsigned)(v & 0xffff));
}

/* A handshake message: type, 24-bit length, body. */
static void hs_msg(struct buf *out, uint8_t type, const struct buf *body)
{
	put8(out, type);
	put24(out, body->n);
	put(out, body->b, body->n);
}

/* Records of content type ct carrying payload, cut in fragments of at most frag. */
static void records(struct buf *out, uint8_t ct, const uint8_t *p, size_t n, size_t frag)
{
	do {
		size_t k = n < frag ? n : frag;

		put8(out, ct);
		put16(out, 0x0303);
		put16(out, (unsigned)k);
		put(out, p, k);
		p += k;
		n -= k;
	} while (n > 0);
}

static struct buf *new_buf(void)
{
	struct buf *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	return b;
}

/* ClientHello body with suites, an SNI and optionally supported_versions. */
static void client_hello(struct buf *b, const uint16_t *suites, size_t n, const char *sni, int tls13)
{
	struct buf *ext = new_buf();
	uint8_t rnd[32] = { 1 };

	put16(b, 0x0303);
	put(b, rnd, 32);
	put8(b, 0);                     /* session id */
	put16(b, (unsigned)(n * 2));
	for (size_t i = 0; i < n; i++)
		put16(b, suites[i]);
	put8(b, 1);
	put8(b, 0);                     /* compression null */
	if (sni) {
		put16(ext, 0);
		put16(ext, (unsigned)(strlen(sni) + 5));
		put16(ext, (unsigned)(strlen(sni) + 3));
		put8(ext, 0);
		put16(ext, (unsigned)strlen(sni));
		put(ext, sni, strlen(sni));
	}
	if (tls13) {
		put16(ext, 43);
		put16(ext, 7);
		put8(ext, 6);
		put16(ext, 0x7a7a);     /* GREASE */
		put16(ext, 0x0304);
		put16(ext, 0x0303);
	}
	put16(b, (unsigned)ext->n);
	put(b, ext->b, ext->n);
	free(ext);
}

static const uint8_t hrr_random[32] = {
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
	0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* ServerHello body choosing suite; tls13 adds supported_versions 0x0304. */
static void server_hello(struct buf *b, uint16_t suite, int tls13, int hrr)
{
	uint8_t rnd[32] = { 2 };

	put16(b, 0x0303);
	put(b, hrr ? hrr_random : rnd, 32);
	put8(b, 0);
	put16(b, suite);
	put8(b, 0);
	if (tls13) {
		put16(b, 6);
		put16(b, 43);
		put16(b, 2);
		put16(b, 0x0304);
	}
}

/* A DER self-signed EC certificate: CN=name, valid [nb, na]. */
static size_t make_cert(uint8_t *out, size_t outlen, const char *cn, time_t nb, time_t na,
			const char *issuer_cn)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new(), *in = X509_NAME_new();
	unsigned char *p = out;
	int len;

	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC,
				   (const unsigned char *)(issuer_cn ? issuer_cn : cn), -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, in);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	len = i2d_X509(x, NULL);
	assert_true(len > 0 && (size_t)len <= outlen);
	i2d_X509(x, &p);
	X509_NAME_free(n);
	X509_NAME_free(in);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)len;
}

/* ---- event recorder ---- */

#define MAX_EV 64

struct rec_ev {
	enum tlsp_ev_type type;
	int dir, hs_type, encrypted, oversized, parse_failed;
	uint8_t level, desc;
	size_t record_len, hs_len;
	size_t n_suites, n_certs, n_cas;
	uint16_t suite, version;
	int hrr;
	char text[128];
};

struct recorder {
	struct rec_ev ev[MAX_EV];
	size_t n;
	uint8_t app[2][4096];           /* plaintext application data per direction */
	size_t app_len[2];
	unsigned app_records[2];
};

static void rec_cb(void *arg, const struct tlsp_event *e)
{
	struct recorder *r = arg;
	struct rec_ev *x;

	if (e->type == TLSP_EV_APPDATA && e->data) {
		assert_true(r->app_len[e->dir] + e->len <= sizeof(r->app[0]));
		memcpy(r->app[e->dir] + r->app_len[e->dir], e->data, e->len);
		r->app_len[e->dir] += e->len;
		r->app_records[e->dir] += e->record_start;
		return;         /* chunks vary with the split: not recorded as events */
	}
	assert_true(r->n < MAX_EV);
	x = &r->ev[r->n++];
	memset(x, 0, sizeof(*x));
	x->type = e->type;
	x->dir = e->dir;
	x->hs_type = e->hs_type;
	x->encrypted = e->encrypted;
	x->oversized = e->oversized;
	x->parse_failed = e->parse_failed;
	x->level = e->alert_level;
	x->desc = e->alert_desc;
	x->record_len = e->record_len;
	x->hs_len = e->hs_len;
	if (e->type == TLSP_EV_HANDSHAKE && e->msg.ch) {
		switch (e->hs_type) {
		case TLSP_HS_CLIENT_HELLO:
			x->n_suites = e->msg.ch->n_suites;
			x->version = e->msg.ch->max_version;
			snprintf(x->text, sizeof(x->text), "%s", e->msg.ch->sni);
			break;
		case TLSP_HS_SERVER_HELLO:
			x->suite = e->msg.sh->suite;
			x->version = e->msg.sh->version;
			x->hrr = e->msg.sh->hrr;
			break;
		case TLSP_HS_CERTIFICATE:
			x->n_certs = e->msg.cert->n_certs;
			if (e->msg.cert->n_stored)
				snprintf(x->text, sizeof(x->text), "%s", e->msg.cert->certs[0].subject);
			break;
		case TLSP_HS_CERTIFICATE_REQUEST:
			x->n_cas = e->msg.cr->n_cas;
			if (e->msg.cr->n_stored)
				snprintf(x->text, sizeof(x->text), "%s", e->msg.cr->cas[0]);
			break;
		}
	}
	if ((e->type == TLSP_EV_NOT_TLS || e->type == TLSP_EV_ERROR) && e->why)
		snprintf(x->text, sizeof(x->text), "%s", e->why);
}

/* Feed data of dir in pieces of `step` bytes (0: all at once). */
static int feed(struct tlsp_parser *p, int dir, const uint8_t *d, size_t n, size_t step)
{
	int rc = 0;

	if (!step)
		return tlsp_feed(p, (enum tlsp_dir)dir, d, n);
	for (size_t i = 0; i < n; i += step)
		rc |= tlsp_feed(p, (enum tlsp_dir)dir, d + i, n - i < step ? n - i : step);
	return rc;
}

/* ---- names ---- */

static void test_names(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(tlsp_suite_name(0x0002), "TLS_RSA_WITH_NULL_SHA");
	assert_string_equal(tlsp_suite_name(0x003B), "TLS_RSA_WITH_NULL_SHA256");
	assert_string_equal(tlsp_suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tlsp_suite_name(0xC02F), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(tlsp_suite_name(0xCCA8), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_string_equal(tlsp_suite_name(0x0000), "TLS_NULL_WITH_NULL_NULL");
	assert_string_equal(tlsp_suite_name(0x2A2A), "GREASE");
	assert_null(tlsp_suite_name(0x1234));
	assert_string_equal(tlsp_suite_str(0x1234, buf, sizeof(buf)), "0x1234");
	assert_true(tlsp_suite_is_null(0x0002));
	assert_true(tlsp_suite_is_null(0x003B));
	assert_false(tlsp_suite_is_null(0x002F));
	assert_false(tlsp_suite_is_null(0x0000));
	assert_int_equal(tlsp_suite_null_mac_len(0x0002), 20);
	assert_int_equal(tlsp_suite_null_mac_len(0x003B), 32);
	assert_int_equal(tlsp_suite_null_mac_len(0x0001), 16);
	assert_int_equal(tlsp_suite_null_mac_len(0x1302), 0);
	assert_string_equal(tlsp_alert_name(40), "handshake_failure");
	assert_string_equal(tlsp_alert_name(42), "bad_certificate");
	assert_string_equal(tlsp_alert_name(45), "certificate_expired");
	assert_string_equal(tlsp_alert_name(48), "unknown_ca");
	assert_string_equal(tlsp_alert_name(116), "certificate_required");
	assert_null(tlsp_alert_name(255));
	assert_string_equal(tlsp_version_name(0x0303), "TLS 1.2");
	assert_string_equal(tlsp_version_name(0x0304), "TLS 1.3");
	assert_null(tlsp_version_name(0x0305));
	assert_string_equal(tlsp_version_str(0x0305, buf, sizeof(buf)), "0x0305");
	assert_string_equal(tlsp_hs_name(TLSP_HS_CERTIFICATE_REQUEST), "CertificateRequest");
	assert_null(tlsp_hs_name(99));
	/* the suite table is searched by bisection: every listed id must be found */
	{
		static const uint16_t ids[] = { 0x0001, 0x000A, 0x002C, 0x0041, 0x00B1, 0x00FF,
						0x1305, 0x5600, 0xC001, 0xC015, 0xC03B, 0xC0B5, 0xCCAA };

		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			assert_non_null(tlsp_suite_name(ids[i]));
	}
}

/* ---- message parsers ---- */

static void test_client_hello(void **state)
{
	static const uint16_t suites[] = { 0xC02C, 0xC02B, 0x003B, 0x0002, 0x00FF };
	struct buf *b = new_buf();
	struct tlsp_client_hello ch;
	const char *why = NULL;

	(void)state;
	client_hello(b, suites, 5, "da.example.com", 1);
	assert_int_equal(tlsp_parse_client_hello(b->b, b->n, &ch, &why), 0);
	assert_int_equal(ch.n_suites, 5);
	assert_int_equal(ch.n_stored, 5);
	assert_int_equal(ch.suites[2], 0x003B);
	assert_true(ch.has_sni);
	assert_string_equal(ch.sni, "da.example.com");
	assert_true(ch.has_versions);
	assert_int_equal(ch.max_version, 0x0304);      /* GREASE ignored */
	assert_int_equal(ch.legacy_version, 0x0303);
	/* every truncation fails cleanly (the extensions' length no longer fits) */
	for (size_t n = 0; n < b->n; n++) {
		why = NULL;
		if (tlsp_parse_client_hello(b->b, n, &ch, &why) == 0)
			assert_true(n >= 2 + 32 + 1 + 2 + 10 + 2);     /* only "no extensions" cuts */
		else
			assert_non_null(why);
	}
	free(b);
}

static void test_client_hello_many_suites(void **state)
{
	uint16_t suites[300];
	struct buf *b = new_buf();
	struct tlsp_client_hello ch;

	(void)state;
	for (int i = 0; i < 300; i++)
		suites[i] = (uint16_t)(0x1000 + i);
	client_hello(b, suites, 300, NULL, 0);
	assert_int_equal(tlsp_parse_client_hello(b->b, b->n, &ch, NULL), 0);
	assert_int_equal(ch.n_suites, 300);
	assert_int_equal(ch.n_stored, TLSP_MAX_SUITES);
	assert_false(ch.has_sni);
	assert_int_equal(ch.max_version, 0x0303);
	/* an odd suites length is malformed */
	b->b[2 + 32 + 1 + 1] ^= 1;
	assert_int_equal(tlsp_parse_client_hello(b->b, b->n, &ch, NULL), -1);
	free(b);
}

static void test_client_hello_bad_sni(void **state)
{
	static const uint16_t suites[] = { 0x002F };
	struct buf *b = new_buf();
	struct tlsp_client_hello ch;

	(void)state;
	client_hello(b, suites, 1, "a\x01\x7f" "b", 0);
	assert_int_equal(tlsp_parse_client_hello(b->b, b->n, &ch, NULL), 0);
	assert_string_equal(ch.sni, "a??b");
	free(b);
}

static void test_server_hello(void **state)
{
	struct buf *b = new_buf();
	struct tlsp_server_hello sh;

	(void)state;
	server_hello(b, 0x003B, 0, 0);
	assert_int_equal(tlsp_parse_server_hello(b->b, b->n, &sh, NULL), 0);
	assert_int_equal(sh.suite, 0x003B);
	assert_int_equal(sh.version, 0x0303);
	assert_false(sh.hrr);
	b->n = 0;
	server_hello(b, 0x1302, 1, 0);
	assert_int_equal(tlsp_parse_server_hello(b->b, b->n, &sh, NULL), 0);
	assert_int_equal(sh.version, 0x0304);
	assert_int_equal(sh.legacy_version, 0x0303);
	b->n = 0;
	server_hello(b, 0x1302, 1, 1);
	assert_int_equal(tlsp_parse_server_hello(b->b, b->n, &sh, NULL), 0);
	assert_true(sh.hrr);
	for (size_t n = 0; n < 2 + 32 + 1 + 2 + 1; n++)
		assert_int_equal(tlsp_parse_server_hello(b->b, n, &sh, NULL), -1);
	free(b);
}

static void test_certificate(void **state)
{
	struct buf *b = new_buf(), *list = new_buf();
	static struct tlsp_certificate c;
	uint8_t der[2048];
	size_t n = make_cert(der, sizeof(der), "da.example.com", 1600000000, 1700000000, NULL);
	const char *why = NULL;

	(void)state;
	put24(list, n);
	put(list, der, n);
	put24(list, 5);
	put(list, "junk!", 5);
	put24(b, list->n);
	put(b, list->b, list->n);
	assert_int_equal(tlsp_parse_certificate(b->b, b->n, 0, NULL, &c, &why), 0);
	assert_int_equal(c.n_certs, 2);
	assert_int_equal(c.n_stored, 2);
	assert_int_equal(c.n_bad, 1);
	assert_string_equal(c.certs[0].subject, "CN=da.example.com");
	assert_string_equal(c.certs[0].issuer, "CN=da.example.com");
	assert_true(c.certs[0].self_signed);
	assert_int_equal(c.certs[0].not_before, 1600000000);
	assert_int_equal(c.certs[0].not_after, 1700000000);
	assert_string_equal(c.certs[0].key_type, "EC");
	assert_int_equal(c.certs[0].key_bits, 256);
	assert_string_equal(c.certs[1].subject, "");
	/* an empty Certificate (a client without one) */
	assert_int_equal(tlsp_parse_certificate((const uint8_t *)"\0\0\0", 3, 0, NULL, &c, NULL), 0);
	assert_int_equal(c.n_certs, 0);
	/* a list length beyond the message */
	b->b[2] += 1;
	assert_int_equal(tlsp_parse_certificate(b->b, b->n, 0, NULL, &c, &why), -1);
	assert_non_null(why);
	for (size_t k = 0; k < b->n; k++)
		tlsp_parse_certificate(b->b, k, 0, NULL, &c, NULL);  /* no crash on any cut */
	free(b);
	free(list);
}

/* The cache returns the same summaries, failures included, and evicts. */
static void test_cert_cache(void **state)
{
	static struct tlsp_cert_cache cache;
	struct tlsp_cert_info a, b;
	uint8_t der[2048], der2[2048];
	size_t n = make_cert(der, sizeof(der), "cached", 1, 2000000000, NULL);
	size_t n2 = make_cert(der2, sizeof(der2), "other", 1, 2000000000, NULL);

	(void)state;
	memset(&cache, 0, sizeof(cache));
	assert_int_equal(tlsp_cert_info_cached(&cache, der, n, &a), 0);
	assert_int_equal(tlsp_cert_info_cached(&cache, der, n, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_string_equal(b.subject, "CN=cached");
	assert_int_equal(cache.next, 1);                /* the second came from the cache */
	assert_int_equal(tlsp_cert_info_cached(&cache, (const uint8_t *)"nope", 4, &a), -1);
	assert_int_equal(tlsp_cert_info_cached(&cache, (const uint8_t *)"nope", 4, &a), -1);
	assert_int_equal(cache.next, 2);
	for (int i = 0; i < TLSP_CACHE_N + 2; i++) {
		der2[n2 - 1] ^= (uint8_t)(i + 1);       /* different bytes each time */
		tlsp_cert_info_cached(&cache, der2, n2, &a);
	}
	assert_int_equal(tlsp_cert_info_cached(&cache, der, n, &b), 0);      /* evicted, decoded again */
	assert_string_equal(b.subject, "CN=cached");
	tlsp_cert_cache_free(&cache);
}

static void test_cert_issuer(void **state)
{
	static struct tlsp_certificate c;
	struct buf *b = new_buf();
	uint8_t der[2048];
	size_t n = make_cert(der, sizeof(der), "srv", 0, 2000000000, "Some CA");

	(void)state;
	put24(b, n + 3);
	put24(b, n);
	put(b, der, n);
	assert_int_equal(tlsp_parse_certificate(b->b, b->n, 0, NULL, &c, NULL), 0);
	assert_string_equal(c.certs[0].issuer, "CN=Some CA");
	assert_false(c.certs[0].self_signed);
	free(b);
}

/* CertificateRequest body naming CAs (DER names). */
static void cert_request(struct buf *b, int tls12, const char *const *cas, size_t n)
{
	struct buf *names = new_buf();

	for (size_t i = 0; i < n; i++) {
		X509_NAME *nm = X509_NAME_new();
		unsigned char der[512], *p = der;
		int len;

		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cas[i], -1, -1, 0);
		len = i2d_X509_NAME(nm, &p);
		assert_true(len > 0);
		put16(names, (unsigned)len);
		put(names, der, (size_t)len);
		X509_NAME_free(nm);
	}
	put8(b, 2);
	put8(b, 1);
	put8(b, 64);                    /* rsa_sign, ecdsa_sign */
	if (tls12) {
		put16(b, 4);
		put16(b, 0x0401);
		put16(b, 0x0403);
	}
	put16(b, (unsigned)names->n);
	put(b, names->b, names->n);
	free(names);
}

static void test_cert_request(void **state)
{
	static const char *const cas[] = { "Corp Root CA", "Corp Issuing CA" };
	struct buf *b = new_buf();
	struct tlsp_cert_request cr;

	(void)state;
	cert_request(b, 1, cas, 2);
	assert_int_equal(tlsp_parse_cert_request(b->b, b->n, 0x0303, &cr, NULL), 0);
	assert_int_equal(cr.n_cas, 2);
	assert_string_equal(cr.cas[0], "CN=Corp Root CA");
	assert_string_equal(cr.cas[1], "CN=Corp Issuing CA");
	/* the TLS 1.2 layout read as TLS 1.0 is wrong (no signature algorithms) */
	assert_true(tlsp_parse_cert_request(b->b, b->n, 0x0301, &cr, NULL) == -1 || cr.n_cas != 2);
	b->n = 0;
	cert_request(b, 0, cas, 1);
	assert_int_equal(tlsp_parse_cert_request(b->b, b->n, 0x0301, &cr, NULL), 0);
	assert_int_equal(cr.n_cas, 1);
	b->n = 0;
	cert_request(b, 1, cas, 0);
	assert_int_equal(tlsp_parse_cert_request(b->b, b->n, 0x0303, &cr, NULL), 0);
	assert_int_equal(cr.n_cas, 0);
	free(b);
}

/* ---- the stream parser ---- */

/* A TLS 1.2 server flight: ServerHello (suite), Certificate, CertificateRequest, ServerHelloDone,
 * the three messages in one record, split so that the Certificate spans records. */
static void server_flight(struct buf *out, uint16_t suite, size_t frag)
{
	struct buf *msgs = new_buf(), *body = new_buf(), *list = new_buf();
	static const char *const cas[] = { "Corp Root CA" };
	uint8_t der[2048];
	size_t n = make_cert(der, sizeof(der), "da.example.com", 0, 2000000000, NULL);

	server_hello(body, suite, 0, 0);
	hs_msg(msgs, TLSP_HS_SERVER_HELLO, body);
	body->n = 0;
	put24(list, n);
	put(list, der, n);
	put24(body, list->n);
	put(body, list->b, list->n);
	hs_msg(msgs, TLSP_HS_CERTIFICATE, body);
	body->n = 0;
	cert_request(body, 1, cas, 1);
	hs_msg(msgs, TLSP_HS_CERTIFICATE_REQUEST, body);
	body->n = 0;
	hs_msg(msgs, TLSP_HS_SERVER_HELLO_DONE, body);
	records(out, TLSP_CT_HANDSHAKE, msgs->b, msgs->n, frag);
	free(msgs);
	free(body);
	free(list);
}

static void check_tls12_events(const struct recorder *r)
{
	assert_int_equal(r->n, 6);
	assert_int_equal(r->ev[0].type, TLSP_EV_HANDSHAKE);
	assert_int_equal(r->ev[0].hs_type, TLSP_HS_CLIENT_HELLO);
	assert_int_equal(r->ev[0].n_suites, 2);
	assert_string_equal(r->ev[0].text, "da.example.com");
	assert_int_equal(r->ev[1].hs_type, TLSP_HS_SERVER_HELLO);
	assert_int_equal(r->ev[1].suite, 0xC02F);
	assert_int_equal(r->ev[1].dir, TLSP_S2C);
	assert_int_equal(r->ev[2].hs_type, TLSP_HS_CERTIFICATE);
	assert_int_equal(r->ev[2].n_certs, 1);
	assert_string_equal(r->ev[2].text, "CN=da.example.com");
	assert_int_equal(r->ev[3].hs_type, TLSP_HS_CERTIFICATE_REQUEST);
	assert_string_equal(r->ev[3].text, "CN=Corp Root CA");
	assert_int_equal(r->ev[4].hs_type, TLSP_HS_SERVER_HELLO_DONE);
	assert_int_equal(r->ev[5].type, TLSP_EV_ALERT);
	assert_int_equal(r->ev[5].dir, TLSP_C2S);
	assert_int_equal(r->ev[5].level, 2);
	assert_int_equal(r->ev[5].desc, 48);
	assert_false(r->ev[5].encrypted);
}

/* The same handshake fed whole, byte by byte and in odd pieces gives the
 * same events; messages span records. */
static void test_stream_splits(void **state)
{
	static const uint16_t suites[] = { 0xC02F, 0x003B };
	static const size_t steps[] = { 0, 1, 2, 3, 7, 100, 1000 };
	static const size_t frags[] = { 16384, 300, 50 };
	struct buf *c = new_buf(), *s = new_buf(), *body = new_buf(), *msg = new_buf();
	static const uint8_t alert[2] = { 2, 48 };

	(void)state;
	client_hello(body, suites, 2, "da.example.com", 0);
	hs_msg(msg, TLSP_HS_CLIENT_HELLO, body);
	for (size_t f = 0; f < sizeof(frags) / sizeof(frags[0]); f++) {
		c->n = s->n = 0;
		records(c, TLSP_CT_HANDSHAKE, msg->b, msg->n, frags[f]);
		records(c, TLSP_CT_ALERT, alert, 2, 100);
		server_flight(s, 0xC02F, frags[f]);
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			static struct recorder r;
			struct tlsp_parser p;
			size_t ch_end = c->n - 7;        /* the alert record is the last 7 bytes */

			memset(&r, 0, sizeof(r));
			tlsp_init(&p, rec_cb, &r);
			assert_int_equal(feed(&p, TLSP_C2S, c->b, ch_end, steps[i]), 0);
			assert_int_equal(feed(&p, TLSP_S2C, s->b, s->n, steps[i]), 0);
			assert_int_equal(feed(&p, TLSP_C2S, c->b + ch_end, 7, steps[i]), 0);
			check_tls12_events(&r);
			assert_int_equal(p.version, 0x0303);
			assert_false(p.null_suite);
			tlsp_free(&p);
		}
	}
	free(c);
	free(s);
	free(body);
	free(msg);
}

/* After ChangeCipherSpec with an encrypted suite: the Finished and alerts
 * are hidden, application data only counted. */
static void test_stream_encrypted_tls12(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	struct buf *s = new_buf(), *c = new_buf();
	uint8_t ccs = 1, junk[40];

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(junk, 0xAB, sizeof(junk));
	server_flight(s, 0xC030, 16384);
	records(c, TLSP_CT_CCS, &ccs, 1, 10);
	records(c, TLSP_CT_HANDSHAKE, junk, 40, 100);
	records(c, TLSP_CT_APPDATA, junk, 30, 100);
	records(c, TLSP_CT_ALERT, junk, 26, 100);
	tlsp_init(&p, rec_cb, &r);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, s->b, s->n), 0);
	assert_int_equal(tlsp_feed(&p, TLSP_C2S, c->b, c->n), 0);
	assert_int_equal(r.n, 4 + 4);
	assert_int_equal(r.ev[4].type, TLSP_EV_CCS);
	assert_int_equal(r.ev[5].type, TLSP_EV_HANDSHAKE);
	assert_int_equal(r.ev[5].hs_type, TLSP_HS_ENCRYPTED);
	assert_true(r.ev[5].encrypted);
	assert_int_equal(r.ev[6].type, TLSP_EV_APPDATA);
	assert_true(r.ev[6].encrypted);
	assert_int_equal(r.ev[6].record_len, 30);
	assert_int_equal(r.ev[7].type, TLSP_EV_ALERT);
	assert_true(r.ev[7].encrypted);
	assert_int_equal(r.app_len[0], 0);
	tlsp_free(&p);
	free(s);
	free(c);
}

/* TLS_RSA_WITH_NULL_SHA256: after CCS, records are plaintext + a 32-byte MAC. */
static void test_stream_null_suite(void **state)
{
	static const size_t steps[] = { 0, 1, 5, 33 };
	struct buf *s = new_buf(), *c = new_buf(), *fin = new_buf(), *body = new_buf();
	const char *post = "POST /IPHTTPS HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t ccs = 1, mac[32], rec[200];

	(void)state;
	memset(mac, 0xEE, sizeof(mac));
	server_flight(s, 0x003B, 16384);
	records(c, TLSP_CT_CCS, &ccs, 1, 10);
	put(body, "0123456789ab", 12);  /* verify_data */
	hs_msg(fin, TLSP_HS_FINISHED, body);
	memcpy(rec, fin->b, fin->n);
	memcpy(rec + fin->n, mac, 32);
	records(c, TLSP_CT_HANDSHAKE, rec, fin->n + 32, 1000);
	/* the POST in two records, each with its MAC */
	memcpy(rec, post, 10);
	memcpy(rec + 10, mac, 32);
	records(c, TLSP_CT_APPDATA, rec, 42, 1000);
	memcpy(rec, post + 10, strlen(post) - 10);
	memcpy(rec + strlen(post) - 10, mac, 32);
	records(c, TLSP_CT_APPDATA, rec, strlen(post) - 10 + 32, 1000);
	/* a readable alert after CCS: close_notify + MAC */
	rec[0] = 1;
	rec[1] = 0;
	memcpy(rec + 2, mac, 32);
	records(c, TLSP_CT_ALERT, rec, 34, 1000);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		static struct recorder r;
		struct tlsp_parser p;

		memset(&r, 0, sizeof(r));
		tlsp_init(&p, rec_cb, &r);
		assert_int_equal(feed(&p, TLSP_S2C, s->b, s->n, steps[i]), 0);
		assert_true(p.null_suite);
		assert_int_equal(p.mac_len, 32);
		assert_int_equal(feed(&p, TLSP_C2S, c->b, c->n, steps[i]), 0);
		assert_int_equal(r.n, 4 + 3);
		assert_int_equal(r.ev[4].type, TLSP_EV_CCS);
		assert_int_equal(r.ev[5].type, TLSP_EV_HANDSHAKE);
		assert_int_equal(r.ev[5].hs_type, TLSP_HS_FINISHED);
		assert_false(r.ev[5].encrypted);
		assert_int_equal(r.ev[6].type, TLSP_EV_ALERT);
		assert_int_equal(r.ev[6].desc, 0);
		assert_false(r.ev[6].encrypted);
		assert_int_equal(r.app_len[0], strlen(post));
		assert_memory_equal(r.app[0], post, strlen(post));
		assert_int_equal(r.app_records[0], 2);
		tlsp_free(&p);
	}
	/* a record shorter than the MAC breaks the stream */
	{
		static struct recorder r;
		struct tlsp_parser p;
		struct buf *bad = new_buf();

		memset(&r, 0, sizeof(r));
		records(bad, TLSP_CT_CCS, &ccs, 1, 10);
		records(bad, TLSP_CT_APPDATA, mac, 10, 100);
		tlsp_init(&p, rec_cb, &r);
		tlsp_feed(&p, TLSP_S2C, s->b, s->n);
		assert_int_equal(tlsp_feed(&p, TLSP_C2S, bad->b, bad->n), -1);
		assert_int_equal(r.ev[r.n - 1].type, TLSP_EV_ERROR);
		assert_int_equal(tlsp_feed(&p, TLSP_C2S, bad->b, 1), -1);     /* stays dead */
		tlsp_free(&p);
		free(bad);
	}
	free(s);
	free(c);
	free(fin);
	free(body);
}

/* TLS 1.3: after the ServerHello, application-data records are opaque;
 * a plaintext alert stays readable; HelloRetryRequest does not switch. */
static void test_stream_tls13(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	struct buf *s = new_buf(), *c = new_buf(), *body = new_buf(), *msg = new_buf();
	uint8_t junk[100], ccs = 1, alert[2] = { 2, 48 };

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(junk, 0x11, sizeof(junk));
	server_hello(body, 0x1302, 1, 1);               /* HRR first */
	hs_msg(msg, TLSP_HS_SERVER_HELLO, body);
	records(s, TLSP_CT_HANDSHAKE, msg->b, msg->n, 16384);
	tlsp_init(&p, rec_cb, &r);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, s->b, s->n), 0);
	assert_false(p.tls13);
	assert_true(r.ev[0].hrr);
	s->n = msg->n = body->n = 0;
	server_hello(body, 0x1302, 1, 0);
	hs_msg(msg, TLSP_HS_SERVER_HELLO, body);
	records(s, TLSP_CT_HANDSHAKE, msg->b, msg->n, 16384);
	records(s, TLSP_CT_CCS, &ccs, 1, 10);
	records(s, TLSP_CT_APPDATA, junk, 100, 16384);
	records(s, TLSP_CT_APPDATA, junk, 60, 16384);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, s->b, s->n), 0);
	assert_true(p.tls13);
	assert_int_equal(p.version, 0x0304);
	records(c, TLSP_CT_ALERT, alert, 2, 10);
	records(c, TLSP_CT_APPDATA, junk, 19, 100);
	assert_int_equal(tlsp_feed(&p, TLSP_C2S, c->b, c->n), 0);
	assert_int_equal(r.n, 7);
	assert_int_equal(r.ev[1].version, 0x0304);
	assert_int_equal(r.ev[2].type, TLSP_EV_CCS);
	assert_int_equal(r.ev[3].type, TLSP_EV_ENCRYPTED);
	assert_int_equal(r.ev[3].record_len, 100);
	assert_int_equal(r.ev[4].record_len, 60);
	assert_int_equal(r.ev[5].type, TLSP_EV_ALERT);
	assert_int_equal(r.ev[5].desc, 48);
	assert_int_equal(r.ev[6].type, TLSP_EV_ENCRYPTED);
	assert_int_equal(r.ev[6].dir, TLSP_C2S);
	assert_int_equal(r.ev[6].record_len, 19);
	tlsp_free(&p);
	free(s);
	free(c);
	free(body);
	free(msg);
}

static void test_not_tls(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	const char *http = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n";
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x00, 0x02 };

	(void)state;
	memset(&r, 0, sizeof(r));
	tlsp_init(&p, rec_cb, &r);
	/* the first byte alone tells */
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, (const uint8_t *)http, 1), -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, TLSP_EV_NOT_TLS);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, (const uint8_t *)http + 1, 10), -1);
	assert_int_equal(r.n, 1);
	tlsp_init(&p, rec_cb, &r);
	r.n = 0;
	assert_int_equal(tlsp_feed(&p, TLSP_C2S, sslv2, sizeof(sslv2)), -1);
	assert_string_equal(r.ev[0].text, "an SSLv2-format ClientHello");
	/* a record too long for TLS after a good one is an error, not "not TLS" */
	{
		static const uint8_t two[] = { 21, 3, 3, 0, 2, 1, 0, 22, 3, 3, 0xff, 0xff };

		r.n = 0;
		tlsp_init(&p, rec_cb, &r);
		assert_int_equal(tlsp_feed(&p, TLSP_C2S, two, sizeof(two)), -1);
		assert_int_equal(r.n, 2);
		assert_int_equal(r.ev[0].type, TLSP_EV_ALERT);
		assert_int_equal(r.ev[1].type, TLSP_EV_ERROR);
		assert_string_equal(r.ev[1].text, "record longer than TLS allows");
	}
}

/* NOT_TLS quotes the first bytes of the stream. */
static const uint8_t *quoted;
static size_t quoted_len;
static void quote_cb(void *arg, const struct tlsp_event *e)
{
	(void)arg;
	if (e->type == TLSP_EV_NOT_TLS) {
		quoted = e->data;
		quoted_len = e->len;
		assert_memory_equal(e->data, "HTTP/1.1 400", 12);
	}
}

static void test_not_tls_quote(void **state)
{
	struct tlsp_parser p;
	const char *http = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n";

	(void)state;
	tlsp_init(&p, quote_cb, NULL);
	quoted_len = 0;
	tlsp_feed(&p, TLSP_S2C, (const uint8_t *)http, strlen(http));
	assert_int_equal(quoted_len, strlen(http) < TLSP_HEAD_LEN ? strlen(http) : TLSP_HEAD_LEN);
}

/* A handshake message above the cap is reported and skipped; the next one
 * is parsed. */
static void test_oversized_message(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	struct buf *msgs = new_buf(), *out = new_buf(), *body = new_buf();
	size_t big = TLSP_HS_MAX + 100;

	(void)state;
	memset(&r, 0, sizeof(r));
	put8(msgs, TLSP_HS_CERTIFICATE);
	put24(msgs, big);
	for (size_t i = 0; i < big; i++)
		put8(msgs, 0x33);
	hs_msg(msgs, TLSP_HS_SERVER_HELLO_DONE, body);
	records(out, TLSP_CT_HANDSHAKE, msgs->b, msgs->n, 16384);
	tlsp_init(&p, rec_cb, &r);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, out->b, out->n), 0);
	assert_int_equal(r.n, 2);
	assert_true(r.ev[0].oversized);
	assert_int_equal(r.ev[0].hs_len, big);
	assert_int_equal(r.ev[1].hs_type, TLSP_HS_SERVER_HELLO_DONE);
	assert_null(p.d[1].hs);         /* nothing kept when idle */
	tlsp_free(&p);
	free(msgs);
	free(out);
	free(body);
}

/* A malformed message is reported (parse_failed) and the stream goes on. */
static void test_malformed_message(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	struct buf *msgs = new_buf(), *out = new_buf(), *body = new_buf();

	(void)state;
	memset(&r, 0, sizeof(r));
	put(body, "\x03\x03", 2);       /* a ClientHello cut after its version */
	hs_msg(msgs, TLSP_HS_CLIENT_HELLO, body);
	body->n = 0;
	hs_msg(msgs, TLSP_HS_FINISHED, body);
	records(out, TLSP_CT_HANDSHAKE, msgs->b, msgs->n, 16384);
	tlsp_init(&p, rec_cb, &r);
	assert_int_equal(tlsp_feed(&p, TLSP_C2S, out->b, out->n), 0);
	assert_int_equal(r.n, 2);
	assert_true(r.ev[0].parse_failed);
	assert_int_equal(r.ev[1].hs_type, TLSP_HS_FINISHED);
	tlsp_free(&p);
	free(msgs);
	free(out);
	free(body);
}

static void test_gap_stops(void **state)
{
	static struct recorder r;
	struct tlsp_parser p;
	static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };

	(void)state;
	memset(&r, 0, sizeof(r));
	tlsp_init(&p, rec_cb, &r);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, alert, 3), 0);
	tlsp_gap(&p, TLSP_S2C);
	assert_int_equal(tlsp_feed(&p, TLSP_S2C, alert + 3, 4), -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(tlsp_feed(&p, TLSP_C2S, alert, sizeof(alert)), 0);  /* the other way goes on */
	assert_int_equal(r.n, 1);
	tlsp_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_client_hello),
		cmocka_unit_test(test_client_hello_many_suites),
		cmocka_unit_test(test_client_hello_bad_sni),
		cmocka_unit_test(test_server_hello),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_cert_cache),
		cmocka_unit_test(test_cert_issuer),
		cmocka_unit_test(test_cert_request),
		cmocka_unit_test(test_stream_splits),
		cmocka_unit_test(test_stream_encrypted_tls12),
		cmocka_unit_test(test_stream_null_suite),
		cmocka_unit_test(test_stream_tls13),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_not_tls_quote),
		cmocka_unit_test(test_oversized_message),
		cmocka_unit_test(test_malformed_message),
		cmocka_unit_test(test_gap_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
