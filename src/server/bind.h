/* Address ownership on the link (bind.c): which connection holds which
 * source address, bound on first use (or on a DAD probe), at most
 * --max-addresses per client; at the limit the client's least recently
 * used binding idle for --address-idle seconds is evicted (as Windows'
 * server does, AddClientAddressMapping in iphlpsvc.dll); in mode
 * Certificates a disconnected client's addresses stay reserved to its
 * certificate for --address-hold seconds, so that no other client takes
 * them and receives its traffic.
 *
 * Error convention: bind_source returns DROP__COUNT when the source may
 * be used (bound now or before), else the drop reason; the others cannot
 * fail (what does not fit is not bound, and said so). */
#ifndef IPHTTPS_SERVER_BIND_H
#define IPHTTPS_SERVER_BIND_H

#include "server/types.h"

/* A source address c sends from: bound to c if free. */
enum drop_reason bind_source(struct conn *c, const struct in6_addr *src);
/* Bind addr to c if it is free and c has room (a DAD probe). */
void bind_claim(struct conn *c, const struct in6_addr *addr, const char *how);
/* Traffic to or from addr: its binding is in use. */
void bind_touch(struct conn *c, const struct in6_addr *addr);
/* 1 when addr is reserved to another certificate than c's. */
int bind_reserved_for_other(const struct conn *c, const struct in6_addr *addr);
/* c links up: remember who it is (mode Certificates: its certificate). */
void bind_identify(struct conn *c);
/* c is gone: its bindings go, reserved to its certificate for a while. */
void bind_release(struct conn *c);
/* Once a second: reservations past their time go. */
void bind_tick(struct server *s, uint64_t now_ms);
/* Forget every reservation (the authentication mode changed: they belong
 * to certificates that no longer identify anyone). */
void bind_drop_reservations(struct server *s);
void bind_free_all(struct server *s);

#endif
