/* Checks of certificate, key and CRL files, made before anything runs
 * (`--check`, every start and reload), and the facts the daemons show and
 * watch (subject, serial, expiry).
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] that
 * names the file and what is wrong with it (never a bare OpenSSL string). */
#ifndef IPHTTPS_CERTCHECK_H
#define IPHTTPS_CERTCHECK_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/errbuf.h"

#define CERT_WARN_DAYS 30      /* warn from this many days before an expiry */

struct cert_facts {
	time_t not_after;
	char subject[256];      /* RFC 2253, e.g. "CN=bob,O=Example" */
	char serial[48];        /* hexadecimal */
};

/* Subject, serial and expiry of x. */
void cert_facts_of(X509 *x, struct cert_facts *f);
/* The first certificate of cert_file (a PEM chain, leaf first) and the
 * private key of key_file: readable, parseable, matching, the key file not
 * open to other users.  Fills f (may be NULL) with the leaf's facts. */
int certcheck_pair(const char *cert_file, const char *key_file, struct cert_facts *f, char *err);
/* Every certificate of a PEM file (a chain or a CA bundle): at least one;
 * the one that expires first into f (may be NULL). */
int certcheck_bundle(const char *file, struct cert_facts *f, char *err);
/* What a CRL file holds (certcheck_crl). */
struct crl_facts {
	size_t n_crls, n_revoked;
	time_t next_update;     /* the earliest nextUpdate, 0 if none has one */
};
/* The CRLs of a PEM file: at least one, each signed by a CA of ca_file
 * (NULL: not checked), none past its nextUpdate (OpenSSL would then refuse
 * every client).  With out, the CRLs are returned (the caller frees them
 * with sk_X509_CRL_pop_free(*out, X509_CRL_free)). */
int certcheck_crl(const char *file, const char *ca_file, STACK_OF(X509_CRL) **out,
		  struct crl_facts *f, char *err);
/* 1 if one of crls revokes x. */
int certcheck_revoked(STACK_OF(X509_CRL) *crls, X509 *x);
/* The same for a certificate that is gone, from its issuer's name and its
 * serial (DER, as i2d_X509_NAME and i2d_ASN1_INTEGER write them): 1 if
 * revoked, 0 if not or unreadable. */
int certcheck_revoked_der(STACK_OF(X509_CRL) *crls, const uint8_t *issuer, size_t issuer_len,
			  const uint8_t *serial, size_t serial_len);
/* Whole days from now until t, rounded down (negative once past). */
long cert_days_left(time_t t, time_t now);
/* "2027-03-01" */
void cert_date(time_t t, char *out, size_t len);

#endif
