/* Who a client is (ident.c): the subject, serial and expiry of the
 * certificate it presented, kept from the handshake for `clients`, the
 * logs, the hooks, `disconnect` and the CRL check at reload; the duration
 * shown in the logs.  Everything needed later is copied here at the
 * handshake, so that the SSL can be freed (the records taken over,
 * net/stream.h) and the certificate with it.
 *
 * Error convention: none (a client without a certificate has no ident). */
#ifndef IPHTTPS_SERVER_IDENT_H
#define IPHTTPS_SERVER_IDENT_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/types.h"

struct conn_ident {
	time_t not_after;
	uint8_t key[16];        /* the certificate's SHA-256, first 16 bytes (who it is across reconnects) */
	uint16_t issuer_len, serial_len; /* DER of the issuer's name and of the serial, after the subject */
	char serial[48];        /* hexadecimal */
	char subject[];         /* RFC 2253 */
};

/* After the TLS handshake: keep what the peer certificate says (warns when
 * it expires within CERT_WARN_DAYS, and counts it). */
void ident_take(struct conn *c);
void ident_free(struct conn *c);
/* 1 if one of crls revokes the certificate c presented (0 without one). */
int ident_revoked(const struct conn *c, STACK_OF(X509_CRL) *crls);
/* The subject, or "" without a certificate. */
const char *ident_subject(const struct conn *c);
/* 1 if target names c: its Id (digits), its whole subject, or the value of
 * the subject's CN. */
int ident_matches(const struct conn *c, const char *target);
/* "1h02m03s", "45s" */
void ident_duration(uint64_t secs, char *out, size_t len);

#endif
