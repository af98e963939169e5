/* Prometheus text exposition (format 0.0.4) on --metrics ADDR:PORT
 * (metrics.c).  Only `GET /metrics` is answered (405 for another method,
 * 404 for another path, 431 for a request over METRICS_MAX_REQ); at most
 * METRICS_MAX_CONNS connections at once (beyond, closed at once and
 * counted); METRICS_DEADLINE_MS for the request and the answer.  Served
 * from the server's loop with non-blocking sockets: a scrape never waits on
 * a client and a slow scraper never blocks the data path.
 *
 * What it shows: every counter of stats.h (one row each, per-reason arrays
 * as labels, the handshake failures with the Windows code the client
 * reports), clients, connections and handshakes in progress, the latency
 * from accept to the 200 as a histogram, the expiry of the certificates in
 * use (certwatch.h), and one set of series per connected client (Id,
 * certificate subject and serial, peer; bytes; since).
 *
 * Error convention: metrics_open returns 0, or -1 with err[ERRLEN]. */
#ifndef IPHTTPS_SERVER_METRICS_H
#define IPHTTPS_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define METRICS_MAX_CONNS 8
#define METRICS_MAX_REQ 4096
#define METRICS_DEADLINE_MS 5000

struct server;

int metrics_open(struct server *s, char *err);
/* Once a second: connections past their deadline are closed. */
void metrics_tick(struct server *s, uint64_t now_ms);
void metrics_close(struct server *s);
/* A client got its 200 ms after it was accepted. */
void metrics_observe_handshake(struct server *s, uint64_t ms);
/* The exposition itself (the caller frees it); NULL when out of memory. */
char *metrics_text(struct server *s, size_t *len);

#endif
