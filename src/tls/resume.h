/* TLS session resumption on the server: stateless session tickets (TLS 1.2
 * RFC 5077 and TLS 1.3 PSK with (EC)DHE), no session-ID cache.
 *
 * Ticket keys: derived with HMAC-SHA256 from a secret of the process,
 * drawn once before the server forks its workers (every worker and every
 * restarted worker derives the same keys), the hour of the clock (keys
 * rotate every RESUME_PERIOD seconds; a ticket under the previous
 * period's key still resumes and is replaced by a new one) and a digest
 * of what a full handshake checks: the server certificate, the client CA
 * file, the CRLs and the authentication mode.  A reload that changes any
 * of them derives new keys (and a new session-ID context), so no ticket
 * made before resumes after it.  A restart draws a new secret: no ticket
 * outlives the process.
 *
 * At resumption in mode Certificates, the session's client certificate is
 * verified again against the context's store (CA, CRLs, validity dates):
 * a certificate revoked or expired since gets a full handshake, which then
 * fails as it would for a new client.
 *
 * Error convention: tls_resume_setup returns 0, or -1 with err[ERRLEN]. */
#ifndef IPHTTPS_RESUME_H
#define IPHTTPS_RESUME_H

#include "common/errbuf.h"

#include <openssl/ssl.h>
#include <stdint.h>
#include <time.h>

#define RESUME_PERIOD   3600    /* seconds a ticket key issues tickets */
#define RESUME_LIFETIME 7200    /* a ticket's lifetime (two periods) */

/* Draw the process secret the keys derive from (idempotent; call before
 * forking workers).  0, or -1 when the random generator fails. */
int tls_resume_init(void);
/* Turn resumption on in ctx, after its certificate, CA and CRLs are set:
 * client_ca_file (NULL: mode None) is read to take its digest. */
int tls_resume_setup(SSL_CTX *ctx, const char *client_ca_file, STACK_OF(X509_CRL) *crls, char *err);
/* Turn it off: no tickets, no cache, no resumption. */
void tls_resume_off(SSL_CTX *ctx);

/* For tests: the 16-byte name of ctx's ticket key at time t (-1 if none);
 * the clock the keys follow (NULL: time()). */
int tls_resume_key_name(SSL_CTX *ctx, time_t t, uint8_t name[16]);
void tls_resume_set_clock(time_t (*now)(void));

#endif
