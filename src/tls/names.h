/* The one table of TLS alert and handshake message names (RFC 8446 and
 * 5246 registries), for the TLS layer's failure words (tls/verify.c) and the
 * troubleshooter's parser (diag/tlsparse.h) alike.
 *
 * Error convention: NULL for a value without a name; callers that print it
 * say so with the number. */
#ifndef IPHTTPS_TLS_NAMES_H
#define IPHTTPS_TLS_NAMES_H

/* "handshake_failure" for 40; NULL when unknown (or out of 0..255). */
const char *tls_alert_name(int desc);
/* "CertificateRequest" for 13; NULL when unknown. */
const char *tls_hs_name(int type);

#endif
