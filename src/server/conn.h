/* One client connection (conn.c): TLS handshake, HTTP request with its
 * deadline, the 200, then the stream both ways with a capped queue.
 * A bad peer ends only its own connection: conn_close logs why, counts it,
 * releases everything and parks the struct until the end of the loop turn. */
#ifndef IPHTTPS_SERVER_CONN_H
#define IPHTTPS_SERVER_CONN_H

#include "server/types.h"

/* The per_source table's value: a count, with this bit once logged. */
#define CONN_SOURCE_LOGGED ((uintptr_t)1 << 30)
struct in6_addr conn_source_key(const struct sockaddr_storage *peer);
void conn_accepted(struct server *s, int fd, const struct sockaddr_storage *peer);
void conn_event(struct evloop *ev, struct ev_handler *h, uint32_t events);
/* Queue an IPv6 packet toward the client; counts a drop if the queue is full. */
void conn_send_packet(struct conn *c, const uint8_t *pkt, size_t len);
void conn_flush(struct conn *c);
/* Go on reading a connection that used its fair share last turn. */
void conn_resume_read(struct conn *c);
void conn_close(struct conn *c, const char *why);
/* Its connect script (--hook-fatal) ended: ok goes LinkUp, else 403. */
void conn_hook_done(struct conn *c, int ok);
void conn_free(struct conn *c);
void conn_tick(struct conn *c, uint64_t now_ms);

#endif
