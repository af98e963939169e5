/* The TUN side of a role's data path, the same for the server and the
 * client: the device's fd, its reads in batches (with the offload, the
 * kernel's TCP super-packets cut into packets of the link's size: gso.h)
 * and its writes (with the offload, consecutive segments of one TCP flow
 * joined into super-packets: gro.h), with the counters `state` shows.
 *
 * Offload: the device is opened with IFF_VNET_HDR and TSO6 when asked and
 * the kernel agrees; when it refuses the flags the device is opened plain
 * (said in the log, and in `state`), and when it refuses a super-packet
 * write the packets go one by one from then on.
 *
 * Error convention: tunio_open returns the fd or -1 with a message in
 * err[ERRLEN]; tunio_read returns 1 when it read something, 0 when there
 * is nothing to read, -1 on a read error (errno); writes never fail to the
 * caller: a failed write is counted and reported through write_failed. */
#ifndef IPHTTPS_TUNIO_H
#define IPHTTPS_TUNIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "net/gro.h"
#include "net/gso.h"

#define TUNIO_READ_BUF GSO_MAX_READ

/* Each packet read; return 0 (nonzero stops cutting this read). */
typedef int (*tunio_packet_fn)(void *arg, const uint8_t *pkt, size_t len);
/* npkts packets written on behalf of owner were lost (errno set). */
typedef void (*tunio_fail_fn)(void *arg, void *owner, unsigned npkts);

struct tunio_stats {
	uint64_t reads, read_pkts, super_in;      /* reads, packets they gave, super-packets cut */
	uint64_t bad_type, bad_header, bad_length; /* super-packets refused, by reason (gso.h) */
	uint64_t writes, write_pkts, super_out;   /* write calls, packets written, super-packets */
	uint64_t write_errors;                    /* packets lost to failed writes */
};

struct tunio {
	int fd;
	int vnet;                       /* IFF_VNET_HDR: reads and writes carry a header */
	int coalesce;                   /* writes go through gro */
	unsigned mtu;                   /* packets read are cut to this size */
	char offload_note[96];          /* "on", "off", or why not */
	struct gro gro;
	uint8_t *rbuf;
	tunio_fail_fn write_failed;
	void *arg;
	struct tunio_stats st;
};

/* Open (create) the TUN name (in/out, IFNAMSIZ), non-blocking; offload:
 * try IFF_VNET_HDR with TSO6 and write coalescing first.  Returns the fd. */
int tunio_open(struct tunio *t, char *name, int offload, unsigned mtu,
	       tunio_fail_fn write_failed, void *arg, char *err);
/* The same on an fd already open (vnet: it carries virtio-net headers);
 * tunio_open uses it, and the unit test with a socketpair.  0, or -1 when
 * out of memory (fd left open). */
int tunio_attach(struct tunio *t, int fd, int vnet, unsigned mtu, tunio_fail_fn write_failed, void *arg);
void tunio_close(struct tunio *t);
/* One read; each packet to fn. */
int tunio_read(struct tunio *t, tunio_packet_fn fn, void *arg);
/* Queue one IPv6 packet for the TUN (written at once without coalescing). */
void tunio_write(struct tunio *t, const uint8_t *pkt, size_t len, void *owner);
/* Write what is queued: at the end of every loop turn. */
void tunio_flush(struct tunio *t);

#endif
