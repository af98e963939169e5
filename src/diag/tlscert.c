/* Certificate summaries for the troubleshooter, with OpenSSL's decoder.
 * See tlsparse.h. */
#include "diag/tlsparse.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes a name; writes its RFC 2253 text (non-ASCII escaped) into out. */
static void name_text(const X509_NAME *n, char *out, size_t outlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int got = 0;

	out[0] = '\0';
	if (!bio || !n)
		goto done;
	if (X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) < 0)
		goto done;
	got = BIO_read(bio, out, (int)outlen - 1);
	out[got > 0 ? got : 0] = '\0';
done:
	BIO_free(bio);
}

/* Takes an ASN1_TIME; returns it as time_t (0 when absent or invalid). */
static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Takes a certificate; writes its DNS and IP SAN entries, comma separated. */
static void san_text(X509 *x, char *out, size_t outlen)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	out[0] = '\0';
	if (!names)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *s;
		int n, w;

		if (g->type == GEN_DNS) {
			s = ASN1_STRING_get0_data(g->d.dNSName);
			n = ASN1_STRING_length(g->d.dNSName);
			w = snprintf(out + used, outlen - used, "%s%.*s", used ? "," : "", n, s);
		} else if (g->type == GEN_IPADD && g->d.iPAddress->length == 4) {
			s = g->d.iPAddress->data;
			w = snprintf(out + used, outlen - used, "%s%u.%u.%u.%u", used ? "," : "",
				     s[0], s[1], s[2], s[3]);
		} else {
			continue;
		}
		if (w < 0 || (size_t)w >= outlen - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	GENERAL_NAMES_free(names);
	/* names from the wire may hold control characters */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* Takes a public key; writes its type name and returns its size in bits. */
static int key_text(EVP_PKEY *k, char *out, size_t outlen)
{
	const char *t;

	if (!k) {
		snprintf(out, outlen, "unknown");
		return 0;
	}
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA: t = "RSA"; break;
	case EVP_PKEY_RSA_PSS: t = "RSA-PSS"; break;
	case EVP_PKEY_EC: t = "EC"; break;
	case EVP_PKEY_DSA: t = "DSA"; break;
	case EVP_PKEY_ED25519: t = "ED25519"; break;
	case EVP_PKEY_ED448: t = "ED448"; break;
	default: t = "other"; break;
	}
	snprintf(out, outlen, "%s", t);
	return EVP_PKEY_get_bits(k);
}

/* Takes an X509 (not freed); fills out; returns 0. */
int tlsp_cert_info_x509(struct x509_st *x, struct tlsp_cert_info *out)
{
	memset(out, 0, sizeof(*out));
	name_text(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_text(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	san_text(x, out->san, sizeof(out->san));
	out->not_before = asn1_time(X509_get0_notBefore(x));
	out->not_after = asn1_time(X509_get0_notAfter(x));
	out->key_bits = key_text(X509_get0_pubkey(x), out->key_type, sizeof(out->key_type));
	out->self_signed = X509_self_signed(x, 1) == 1;
	return 0;
}

/* Takes a DER DistinguishedName; writes its one-line text into out;
 * returns 0, or -1 with "(undecodable name)" written. */
int tlsp_dn_text(const uint8_t *der, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);

	if (!n) {
		snprintf(out, outlen, "(undecodable name)");
		return -1;
	}
	name_text(n, out, outlen);
	X509_NAME_free(n);
	return 0;
}

/* Takes DER bytes; fills out; returns 0, or -1 (out zeroed) when OpenSSL
 * does not decode them as one certificate. */
int tlsp_cert_info_der(const uint8_t *der, size_t len, struct tlsp_cert_info *out)
{
	const unsigned char *p = der;
	X509 *x;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > TLSP_HS_MAX)
		return -1;
	x = d2i_X509(NULL, &p, (long)len);
	if (!x)
		return -1;
	tlsp_cert_info_x509(x, out);
	X509_free(x);
	return 0;
}

int tlsp_cert_info_cached(struct tlsp_cert_cache *c, const uint8_t *der, size_t len,
			  struct tlsp_cert_info *out)
{
	unsigned i;
	int rc;

	if (!c)
		return tlsp_cert_info_der(der, len, out);
	for (i = 0; i < TLSP_CACHE_N; i++) {
		if (c->e[i].der && c->e[i].len == len && memcmp(c->e[i].der, der, len) == 0) {
			*out = c->e[i].info;
			return c->e[i].ok ? 0 : -1;
		}
	}
	rc = tlsp_cert_info_der(der, len, out);
	i = c->next++ % TLSP_CACHE_N;
	free(c->e[i].der);
	c->e[i].der = malloc(len ? len : 1);
	if (c->e[i].der) {
		memcpy(c->e[i].der, der, len);
		c->e[i].len = len;
		c->e[i].info = *out;
		c->e[i].ok = rc == 0;
	}
	return rc;
}

void tlsp_cert_cache_free(struct tlsp_cert_cache *c)
{
	for (unsigned i = 0; i < TLSP_CACHE_N; i++) {
		free(c->e[i].der);
		c->e[i].der = NULL;
	}
}
