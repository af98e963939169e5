/* The embedded defaults: a small certificate authority generated once and kept
 * in the state directory, an RSA server certificate issued by it, client
 * certificates issued on demand, and the link's random ULA /64.
 *
 * State directory layout (created 0700; keys 0600):
 *   ca.pem ca.key            the generated authority (RSA 2048, 10 years)
 *   server.pem server.key    server chain (leaf + CA) and key (RSA 2048, 2 years)
 *   clients/NAME.pem NAME.key  client certificates (leaf + CA), 2 years
 *   prefix                   the link prefix, one line "fdXX:XXXX:XXXX:XXXX::/64"
 *   crl.pem                  the authority's revocation list (revoke-client)
 *   clients/NAME.pem.revoked a revoked client's certificate, kept for the record
 * Existing files are reused, never regenerated (regenerating breaks every
 * client that trusted the old ones).  If server.pem exists but does not cover
 * a requested name, a warning is logged; it is not replaced.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN]. */
#ifndef IPHTTPS_PKI_H
#define IPHTTPS_PKI_H

#include "common/errbuf.h"

#include <netinet/in.h>
#include <stddef.h>
#include <time.h>


struct pki_paths {
	char dir[512];
	char ca_cert[600], ca_key[600];
	char server_cert[600], server_key[600];
	char prefix_file[600];
	char crl[600];
};

void pki_paths_init(struct pki_paths *p, const char *state_dir);
/* Create the directory, CA and server certificate if missing. names: the DNS
 * names (and IP literals) to put in the server certificate's SAN; the first is
 * also its CN. *created is set to 1 if anything was generated. */
int pki_ensure_server(const struct pki_paths *p, const char *const *names, size_t n_names,
		      int *created, char *err);
/* Issue clients/NAME.pem and NAME.key from the generated CA (fails if the
 * name exists or is not [A-Za-z0-9._-]{1,64}). Paths returned in cert_out/key_out. */
int pki_issue_client(const struct pki_paths *p, const char *name, char *cert_out,
		     char *key_out, size_t outlen, char *err);
/* Paths of an existing client certificate; 0 if it exists. */
int pki_client_paths(const struct pki_paths *p, const char *name, char *cert_out,
		     char *key_out, size_t outlen);
/* The generated authority's CRL: kept if it exists, else an empty one is
 * issued (valid until the authority expires). *created as for
 * pki_ensure_server. */
int pki_ensure_crl(const struct pki_paths *p, int *created, char *err);
/* Revoke clients/NAME.pem: its serial into crl.pem (issued again, signed by
 * the authority), its key removed and the certificate kept as
 * NAME.pem.revoked (so that the NAME can be issued again).  The serial
 * (hex) and subject go to serial_out/subject_out (may be NULL). */
int pki_revoke_client(const struct pki_paths *p, const char *name, char *serial_out,
		      size_t serial_len, char *err);
/* A new server.pem from the same authority (clients keep trusting it):
 * for names (n_names 0: the names of the certificate it replaces), with the
 * same key unless new_key (a --pin on the public key then holds).  The new
 * expiry goes to *not_after. */
int pki_renew_server(const struct pki_paths *p, const char *const *names, size_t n_names,
		     int new_key, time_t *not_after, char *err);
/* 1 if name may go in a certificate as a DNS name or is an IP literal. */
int pki_name_ok(const char *name);
/* Read a kept prefix file: 0 read, 1 missing, -1 unreadable or malformed. */
int pki_read_prefix(const char *path, struct in6_addr *prefix, char *err);
/* Read the kept prefix or create a random ULA /64 (RFC 4193) and keep it. */
int pki_ensure_prefix(const struct pki_paths *p, struct in6_addr *prefix, int *created, char *err);

#endif
