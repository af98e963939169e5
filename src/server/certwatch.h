/* The expiry of everything the server trusts or shows (certwatch.c): its
 * certificate chain, the client CAs and the CRL's next update, read at start
 * and reload and looked at again every day; from CERT_WARN_DAYS before an
 * expiry a warning in the log, in `state` (CertificateWarnings) and in the
 * metrics.  The certificates clients present are watched at their handshake
 * (ident.c).
 *
 * Error convention: none (what cannot be read was refused by the checks). */
#ifndef IPHTTPS_SERVER_CERTWATCH_H
#define IPHTTPS_SERVER_CERTWATCH_H

#include <stdint.h>
#include <time.h>

#include "tls/certcheck.h"

#define CERTWATCH_MAX 4
#define CERTWATCH_PERIOD_MS (24 * 3600 * 1000ULL)

struct cert_watched {
	const char *what;       /* "server", "client-ca", "crl" */
	char file[256];
	char subject[256];
	time_t expires;         /* notAfter, or the CRL's nextUpdate */
};

struct certwatch {
	unsigned n;
	struct cert_watched w[CERTWATCH_MAX];
	unsigned n_warnings;    /* of them, expiring within CERT_WARN_DAYS */
	uint64_t next_ms;
};

struct server;
/* Read what s->cfg names, then warn; at start and after each reload. */
void certwatch_update(struct server *s);
/* Once a day: warn again about what expires soon. */
void certwatch_tick(struct server *s, uint64_t now_ms);

#endif
