/* Certificate, key and CRL file checks: see certcheck.h. */
#include "tls/certcheck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

void cert_date(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

long cert_days_left(time_t t, time_t now)
{
	long long d = (long long)t - (long long)now;

	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

void cert_facts_of(X509 *x, struct cert_facts *f)
{
	BIO *b = BIO_new(BIO_s_mem());
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	struct tm tm;
	int n = 0;

	memset(f, 0, sizeof(*f));
	if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, f->subject, sizeof(f->subject) - 1);
	f->subject[n > 0 ? n : 0] = 0;
	snprintf(f->serial, sizeof(f->serial), "%s", hex ? hex : "");
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		f->not_after = timegm(&tm);
	OPENSSL_free(hex);
	BN_free(bn);
	BIO_free(b);
}

/* The file must be a readable regular file; 0 or -1 with err. */
static int readable_file(const char *path, const char *what, char *err)
{
	struct stat st;
	FILE *f;

	if (stat(path, &st) < 0) {
		snprintf(err, ERRLEN, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, ERRLEN, "%s %s: not a regular file", what, path);
		return -1;
	}
	if (!(f = fopen(path, "re"))) {
		snprintf(err, ERRLEN, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* What the last OpenSSL error says in plain words, after "what FILE: ". */
static int ossl_fail(const char *what, const char *path, const char *plain, char *err)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	snprintf(err, ERRLEN, "%s %s: %s%s%s%s", what, path, plain, r ? " (" : "", r ? r : "",
		 r ? ")" : "");
	return -1;
}

static X509 *read_first_cert(const char *path, char *err)
{
	FILE *f = fopen(path, "re");
	X509 *x;

	if (!f) {
		snprintf(err, ERRLEN, "certificate %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		ossl_fail("certificate", path, "no PEM certificate in it", err);
	return x;
}

static EVP_PKEY *read_key(const char *path, char *err)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f) {
		snprintf(err, ERRLEN, "key %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		ossl_fail("key", path, "no unencrypted PEM private key in it", err);
	return k;
}

/* A private key that other users can read is a key to replace. */
static int key_private(const char *path, char *err)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
		snprintf(err, ERRLEN, "key %s: open to other users (mode %04o): chmod o-rwx %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

int certcheck_pair(const char *cert_file, const char *key_file, struct cert_facts *f, char *err)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (readable_file(cert_file, "certificate", err) < 0 ||
	    readable_file(key_file, "key", err) < 0 || key_private(key_file, err) < 0)
		return -1;
	if (!(x = read_first_cert(cert_file, err)) || !(k = read_key(key_file, err)))
		goto out;
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(err, ERRLEN, "key %s does not match the certificate %s", key_file, cert_file);
		goto out;
	}
	if (f)
		cert_facts_of(x, f);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

int certcheck_bundle(const char *file, struct cert_facts *f, char *err)
{
	STACK_OF(X509_INFO) *all;
	BIO *b;
	int n = 0;

	if (readable_file(file, "certificate file", err) < 0)
		return -1;
	if (!(b = BIO_new_file(file, "r")))
		return ossl_fail("certificate file", file, "cannot be opened", err);
	all = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!all)
		return ossl_fail("certificate file", file, "not PEM", err);
	for (int i = 0; i < sk_X509_INFO_num(all); i++) {
		X509_INFO *xi = sk_X509_INFO_value(all, i);
		struct cert_facts cf;
		if (!xi->x509)
			continue;
		cert_facts_of(xi->x509, &cf);
		if (f && (!n || cf.not_after < f->not_after))
			*f = cf;
		n++;
	}
	sk_X509_INFO_pop_free(all, X509_INFO_free);
	ERR_clear_error();
	if (!n) {
		snprintf(err, ERRLEN, "certificate file %s: no PEM certificate in it", file);
		return -1;
	}
	return 0;
}

/* The CA certificates of file (NULL when it cannot be read). */
static STACK_OF(X509_INFO) *read_cas(const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	STACK_OF(X509_INFO) *all = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return all;
}

/* 1 if a CA of cas issued and signed crl. */
static int crl_signed_by(X509_CRL *crl, STACK_OF(X509_INFO) *cas)
{
	for (int i = 0; cas && i < sk_X509_INFO_num(cas); i++) {
		X509 *ca = sk_X509_INFO_value(cas, i)->x509;
		EVP_PKEY *k = ca ? X509_get0_pubkey(ca) : NULL;
		if (k && !X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) &&
		    X509_CRL_verify(crl, k) == 1)
			return 1;
	}
	ERR_clear_error();
	return 0;
}

/* Check one CRL (its signature, its dates) and count it into f. */
static int check_one_crl(const char *file, X509_CRL *crl, STACK_OF(X509_INFO) *cas,
			 struct crl_facts *f, char *err)
{
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
	struct tm tm;
	char who[256] = "";
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	if (b && X509_NAME_print_ex(b, X509_CRL_get_issuer(crl), 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(b, who, sizeof(who) - 1)) > 0)
		who[n] = 0;
	BIO_free(b);
	if (cas && !crl_signed_by(crl, cas)) {
		snprintf(err, ERRLEN, "CRL file %s: the CRL of %s is not signed by a CA of the client CAs",
			 file, who);
		return -1;
	}
	if (nu && ASN1_TIME_to_tm(nu, &tm) == 1) {
		time_t t = timegm(&tm);
		char date[16];
		if (t <= time(NULL)) {
			cert_date(t, date, sizeof(date));
			snprintf(err, ERRLEN, "CRL file %s: the CRL of %s is out of date since %s "
				 "(its nextUpdate): publish a new one", file, who, date);
			return -1;
		}
		if (!f->next_update || t < f->next_update)
			f->next_update = t;
	}
	f->n_crls++;
	if (sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) > 0)    /* -1: none at all */
		f->n_revoked += (size_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	return 0;
}

int certcheck_crl(const char *file, const char *ca_file, STACK_OF(X509_CRL) **out,
		  struct crl_facts *f, char *err)
{
	STACK_OF(X509_INFO) *all, *cas = NULL;
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	struct crl_facts local;
	BIO *b;
	int rc = -1;

	if (!f)
		f = &local;
	memset(f, 0, sizeof(*f));
	if (!crls || readable_file(file, "CRL file", err) < 0)
		goto out_crls;
	if (!(b = BIO_new_file(file, "r"))) {
		ossl_fail("CRL file", file, "cannot be opened", err);
		goto out_crls;
	}
	all = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!all) {
		ossl_fail("CRL file", file, "not PEM", err);
		goto out_crls;
	}
	if (ca_file && !(cas = read_cas(ca_file))) {
		snprintf(err, ERRLEN, "CRL file %s: cannot read the client CAs %s", file, ca_file);
		goto out;
	}
	for (int i = 0; i < sk_X509_INFO_num(all); i++) {
		X509_INFO *xi = sk_X509_INFO_value(all, i);
		if (!xi->crl)
			continue;
		if (check_one_crl(file, xi->crl, cas, f, err) < 0)
			goto out;
		X509_CRL_up_ref(xi->crl);
		sk_X509_CRL_push(crls, xi->crl);
	}
	if (!f->n_crls) {
		snprintf(err, ERRLEN, "CRL file %s: no PEM CRL in it", file);
		goto out;
	}
	rc = 0;
out:
	sk_X509_INFO_pop_free(all, X509_INFO_free);
	if (cas)
		sk_X509_INFO_pop_free(cas, X509_INFO_free);
	ERR_clear_error();
out_crls:
	if (rc == 0 && out)
		*out = crls;
	else
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

int certcheck_revoked(STACK_OF(X509_CRL) *crls, X509 *x)
{
	X509_REVOKED *rv;

	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		if (!X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) &&
		    X509_CRL_get0_by_cert(crl, &rv, x) == 1)
			return 1;
	}
	return 0;
}

int certcheck_revoked_der(STACK_OF(X509_CRL) *crls, const uint8_t *issuer, size_t issuer_len,
			  const uint8_t *serial, size_t serial_len)
{
	X509_NAME *name = d2i_X509_NAME(NULL, &issuer, (long)issuer_len);
	ASN1_INTEGER *sn = d2i_ASN1_INTEGER(NULL, &serial, (long)serial_len);
	X509_REVOKED *rv;
	int revoked = 0;

	/* A CRL of the certificate's issuer that lists the serial (the
	 * check X509_CRL_get0_by_cert makes for a CRL of that issuer). */
	for (int i = 0; name && sn && crls && i < sk_X509_CRL_num(crls) && !revoked; i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		revoked = !X509_NAME_cmp(X509_CRL_get_issuer(crl), name) &&
			  X509_CRL_get0_by_serial(crl, &rv, sn) == 1;
	}
	X509_NAME_free(name);
	ASN1_INTEGER_free(sn);
	return revoked;
}
