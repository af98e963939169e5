/* Reading a pcap or pcapng capture (libpcap) into TCP connections to one
 * port (443 by default): link layers Ethernet (with VLAN tags), Linux cooked
 * SLL and SLL2, raw IP and BSD loopback; IPv4 and IPv6; TCP reassembled per
 * direction by sequence number (out-of-order, overlapping and retransmitted
 * segments handled; a cap on the bytes held out of order; bytes the capture
 * missed are reported as gaps).  Connections are kept in a hash table keyed
 * by the 4-tuple; a new SYN on a closed 4-tuple starts a new connection.
 *
 * The reader calls a handler with events in packet order: connection start,
 * TCP control (SYN, SYN-ACK, FIN, RST), in-order payload, gaps, and the end
 * of each connection (after which its payload is complete).
 *
 * Error convention: capture_open()/capture_fopen() return NULL with a message
 * in err; capture_run() returns 0 when the whole file was read, 1 when it
 * stopped early (truncated or damaged file: stats.error says how) after
 * delivering everything read before.  Malformed packets are counted, never
 * fatal. */
#ifndef IPHTTPS_CAPTURE_H
#define IPHTTPS_CAPTURE_H

#include "common/errbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#define CAP_MAX_BUFFERED       (256 * 1024)        /* out-of-order bytes per direction */
#define CAP_MAX_SEGMENTS       4096                /* out-of-order segments per direction */
#define CAP_MAX_BUFFERED_TOTAL (64 * 1024 * 1024)  /* out-of-order bytes of all connections */
#define CAP_MAX_CONNS          1000000             /* beyond, new connections are counted only */
#define CAP_MAX_LIVE           20000               /* forgetting: connections open at once */
#define CAP_IDLE_S             600                 /* forgetting: a connection silent this long ends */

enum cap_dir { CAP_C2S = 0, CAP_S2C = 1 };

enum cap_tcp_event { CAP_EV_SYN, CAP_EV_SYNACK, CAP_EV_FIN, CAP_EV_RST };

struct cap_addr {
	int family;                     /* AF_INET or AF_INET6 */
	uint8_t a[16];                  /* network order (4 bytes for IPv4) */
	uint16_t port;
};

/* What one direction's sender did. */
struct cap_side {
	unsigned syns;                  /* SYNs (client) or SYN-ACKs (server) seen */
	struct timeval first_syn, last_syn;
	int fin, rst;
	struct timeval fin_ts, rst_ts;
	uint64_t bytes;                 /* payload delivered in order */
	uint64_t gap_bytes;             /* payload the capture missed */
	unsigned gaps;
	int overflow;                   /* out-of-order cap reached */
};

struct cap_reasm;

struct cap_conn {
	unsigned id;                    /* 1, 2, ... in order of first packet */
	struct cap_addr cli, srv;
	struct timeval first, last;
	int saw_syn;                    /* the client's SYN is in the capture */
	int saw_synack;
	int rst_to_syn;                 /* the server answered the SYN with RST */
	int closed;                     /* RST or both FINs seen */
	int ended;                      /* conn_end was called */
	uint32_t isn;                   /* client's initial sequence number */
	struct cap_side side[2];        /* [CAP_C2S] the client, [CAP_S2C] the server */
	void *user;                     /* the handler's */
	struct cap_conn *next;          /* next connection in order of appearance */
	/* private to capture.c */
	struct cap_reasm *rx[2];
	struct cap_conn *hnext;
	struct cap_conn *aprev, *anext; /* by last activity (forgetting) */
	uint32_t hash;
};

struct cap_handler {
	/* A new connection; the handler may set c->user. */
	void (*conn_start)(void *arg, struct cap_conn *c);
	/* SYN, SYN-ACK (every one), FIN and RST (the first of each side). */
	void (*tcp)(void *arg, struct cap_conn *c, enum cap_dir dir, enum cap_tcp_event ev,
		    const struct timeval *ts);
	/* In-order payload of one direction. */
	void (*data)(void *arg, struct cap_conn *c, enum cap_dir dir, const uint8_t *p,
		     size_t len, const struct timeval *ts);
	/* The capture lacks `missing` bytes of this direction here. */
	void (*gap)(void *arg, struct cap_conn *c, enum cap_dir dir, uint64_t missing,
		    const struct timeval *ts);
	/* The connection is over (superseded, or the capture ended). */
	void (*conn_end)(void *arg, struct cap_conn *c);
};

struct cap_stats {
	uint64_t packets, bytes;
	uint64_t not_ip, not_tcp, other_port, fragments, malformed, snapped;
	uint64_t conns, conns_dropped, ooo_dropped;
	int linktype;
	const char *linkname;           /* "EN10MB", "LINUX_SLL2", ... */
	int truncated;                  /* the file stopped early */
	char error[ERRLEN];         /* libpcap's reason when truncated */
};

struct capture;

/* Open a capture file for connections to port (0 = 443).  NULL on error
 * with err (ERRLEN) saying why ("not a pcap or pcapng capture", ...). */
struct capture *capture_open(const char *path, uint16_t port, char *err);
/* The same from an open stream (closed by capture_close, or here on error). */
struct capture *capture_fopen(FILE *fp, uint16_t port, char *err);
/* Forget connections once ended (their memory freed after conn_end, so the
 * handler must keep nothing of c), and end those silent for CAP_IDLE_S
 * seconds of capture time or beyond CAP_MAX_LIVE open at once (the least
 * recently active first): memory follows what is open, not the file.
 * capture_conns() then has nothing to give. */
void capture_forget_ended(struct capture *cap);
/* Read every packet and deliver events to h (members may be NULL).
 * Returns 0 (end of file) or 1 (stopped early; stats say why). */
int capture_run(struct capture *cap, const struct cap_handler *h, void *arg);
const struct cap_stats *capture_stats(const struct capture *cap);
/* The first connection in order of appearance (then c->next). */
struct cap_conn *capture_conns(const struct capture *cap);
/* "192.0.2.1:443" or "[2001:db8::1]:443" into buf (>= 64 bytes); returns buf. */
const char *cap_addr_str(const struct cap_addr *a, char *buf, size_t len);
/* Free everything (the handler's c->user is not touched). */
void capture_close(struct capture *cap);

#endif
