/* Write-side coalescing for TUN devices opened with IFF_VNET_HDR: the
 * inverse of gso.h.  Consecutive segments of one TCP flow from a batch of
 * packets are joined into one super-packet with a virtio-net header (GSO
 * type TCPV6, the TCP checksum left to the kernel: NEEDS_CSUM with the
 * pseudo-header sum in the field), so that the receiving kernel stack runs
 * once per 64 KiB instead of once per 1,280-byte packet (wireguard-go's
 * tun/offload_linux.go does the same; ../shared/PERFORMANCE.md).
 *
 * A segment joins its flow's newest pending super-packet only if all hold:
 *   - IPv6 with TCP right after the fixed header, a payload, and a valid
 *     TCP checksum (a corrupt packet is written alone: the kernel drops it);
 *   - flags ACK, maybe PSH; no SYN, FIN, RST, URG, ECE or CWR;
 *   - the same first four bytes of the IPv6 header (version, traffic class,
 *     flow label), hop limit, addresses, ports, acknowledgment number,
 *     window and TCP options as the first segment;
 *   - its sequence number follows the previous segment's;
 *   - its payload is no larger than the first segment's (the GSO size); a
 *     smaller one, or one with PSH, is the last one taken;
 *   - the IPv6 payload stays within 65,535 bytes.
 * So cutting a super-packet at its GSO size (gso_split) gives back exactly
 * the packets that went in; the fuzz harness checks that.  Packets of one
 * flow leave in the order they came (a packet that is not joined bars its
 * flow's older super-packets; one whose ports are not known bars every
 * flow between its addresses); packets of different flows may pass each
 * other within a batch.
 *
 * Error convention: none inside; the output callback reports a failed
 * write (it returns -1).  A refused super-packet is counted (refused) and
 * its packets are written one by one as they came; packets whose write
 * failed are counted in failed_pkts.  No allocation after gro_init. */
#ifndef IPHTTPS_GRO_H
#define IPHTTPS_GRO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GRO_MAX_ITEMS 64            /* pending writes (super-packets or single packets) */
#define GRO_MAX_PKTS 512            /* packets in a batch */
#define GRO_BUF_SIZE (256 * 1024)   /* bytes of packets in a batch */
#define GRO_HDR_MAX (40 + 60)       /* IPv6 + TCP header with options */
#define GRO_MAX_IOV (2 + GRO_MAX_PKTS)

/* Write one packet: iov[0] is the 10-byte virtio-net header, the rest the
 * packet.  owner is what gro_add was given with the first packet; npkts the
 * packets it carries.  Returns 0, or -1 if the write failed. */
typedef int (*gro_out_fn)(void *arg, const struct iovec *iov, int iovcnt, void *owner,
			  unsigned npkts, int is_super);

struct gro_pkt {
	const uint8_t *data;            /* in buf */
	uint16_t len, hlen;             /* whole packet; IPv6+TCP header */
	int16_t next;                   /* next segment of the same item, -1 */
};

struct gro_item {
	uint8_t hdr[GRO_HDR_MAX];       /* the first segment's headers, updated on flush */
	uint16_t hlen, gso_size, nseg;
	int16_t first, last;            /* indexes in pkts */
	uint32_t payload;               /* TCP payload bytes in all */
	uint32_t next_seq;
	uint8_t tcp, open;              /* a coalescing candidate; may take more */
	uint8_t addrs, ports;           /* hdr holds its addresses; and TCP ports */
	void *owner;
};

struct gro {
	uint8_t *buf;
	size_t used;
	struct gro_pkt pkts[GRO_MAX_PKTS];
	unsigned npkts;
	struct gro_item items[GRO_MAX_ITEMS];
	unsigned nitems;
	gro_out_fn out;
	void *arg;
	/* counters */
	uint64_t in_pkts, out_writes, out_super, coalesced_pkts, bad_csum, failed_pkts;
	uint64_t refused;               /* super-packets the output refused: sent packet by packet */
};

/* 0, or -1 when out of memory. */
int gro_init(struct gro *g, gro_out_fn out, void *arg);
void gro_free(struct gro *g);
/* Queue one IPv6 packet (len <= 65575); a full batch is flushed first. */
void gro_add(struct gro *g, const uint8_t *pkt, size_t len, void *owner);
/* Write everything queued, in order. */
void gro_flush(struct gro *g);
/* Nothing queued. */
static inline int gro_empty(const struct gro *g)
{
	return g->nitems == 0;
}

#endif
