/* The server's certificate revocation list (crl.c): --crl FILE (the
 * generated authority's crl.pem by default) loaded for the TLS context at
 * start, read again on reload (a list that cannot be read then keeps the
 * one in use, and says so), and the connected clients it revokes ended.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN]. */
#ifndef IPHTTPS_SERVER_CRL_H
#define IPHTTPS_SERVER_CRL_H

#include "server/types.h"

/* At start: cfg->crl (if any) into s->crls; -1 with err if unreadable. */
int crl_load(struct server *s, char *err);
/* On reload, with s->cfg the new configuration: read it again; on failure
 * keep s->crls as they were and log why.  Returns 1 when a new list was
 * taken, 0 when none changed. */
int crl_reload(struct server *s);
/* End every connected client whose certificate s->crls revokes. */
void crl_disconnect_revoked(struct server *s);
void crl_free(struct server *s);

#endif
