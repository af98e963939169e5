/* Who a client is (ident.c): the subject, serial and expiry of the
 * certificate it presented, kept from the handshake for `clients`, the
 * logs, the hooks, `disconnect` and the CRL check at reload; the duration
 * shown in the logs.
 *
 * Error convention: none (a client without a certificate has no ident). */
#ifndef IPHTTPS_SERVER_IDENT_H
#define IPHTTPS_SERVER_IDENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/types.h"

struct conn_ident {
	time_t not_after;
	char serial[48];        /* hexadecimal */
	char subject[];         /* RFC 2253 */
};

/* After the TLS handshake: keep what the peer certificate says (warns when
 * it expires within CERT_WARN_DAYS, and counts it). */
void ident_take(struct conn *c);
void ident_free(struct conn *c);
/* The subject, or "" without a certificate. */
const char *ident_subject(const struct conn *c);
/* 1 if target names c: its Id (digits), its whole subject, or the value of
 * the subject's CN. */
int ident_matches(const struct conn *c, const char *target);
/* "1h02m03s", "45s" */
void ident_duration(uint64_t secs, char *out, size_t len);

#endif
