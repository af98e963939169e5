/* TCP segmentation for TUN devices opened with IFF_VNET_HDR (tun.h:
 * tun_open_offload).  The kernel hands the reader TCP super-packets of up
 * to 64 KiB with a virtio-net header saying how to cut them; the IP-HTTPS
 * wire and Windows peers need real packets no larger than the link MTU, so
 * they are cut here, each with its TCP checksum computed.  One read then
 * replaces up to ~50, which is what limits a tunnel on this kind of machine
 * (../shared/PERFORMANCE.md).  Packets the kernel left with a partial
 * checksum (CHECKSUM_PARTIAL) get it completed.
 *
 * What the kernel hands over is checked, never cut blindly: a super-packet
 * of a GSO type we did not ask for (anything but TCPV6: no ECN flavour, no
 * UDP), a header that does not fit the packet (no NEEDS_CSUM, the checksum
 * not at TCP's field, no GSO size) or lengths that do not add up (IPv6
 * payload length against the read, TCP header past the end) is refused
 * whole.
 *
 * Error convention: gso_split returns the number of packets emitted, or a
 * GSO_ERR_* (< 0) with nothing emitted for a refused read; the emit
 * callback's nonzero return stops it (GSO_ERR_EMIT). */
#ifndef IPHTTPS_GSO_H
#define IPHTTPS_GSO_H

#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 10
#define GSO_MAX_READ (VNET_HDR_LEN + 40 + 65535)

enum {
	GSO_ERR_TYPE = -1,      /* a GSO type we did not ask for */
	GSO_ERR_HEADER = -2,    /* a virtio-net header that does not fit the packet */
	GSO_ERR_LENGTH = -3,    /* lengths that do not add up */
	GSO_ERR_EMIT = -4,      /* the emit callback stopped it */
};

typedef int (*gso_emit_fn)(void *arg, const uint8_t *pkt, size_t len);

/* buf: what one read of the TUN returned (header + packet), len bytes.
 * Super-packets are cut into packets of at most mtu bytes (the kernel's GSO
 * size, or less when that would not fit).  The packet part may be modified
 * (checksums). */
int gso_split(uint8_t *buf, size_t len, size_t mtu, gso_emit_fn emit, void *arg);
const char *gso_strerror(int rc);
/* Write one plain IPv6 packet to an offload TUN (a zero header first).
 * Returns what write(2) returns for the packet (len on success). */
long tun_write_vnet(int fd, const uint8_t *pkt, size_t len);
/* The one's complement sum of len bytes added to sum (not folded). */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t csum_fold(uint32_t sum);

#endif
