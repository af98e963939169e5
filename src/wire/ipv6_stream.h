/* The IP-HTTPS byte stream: IPv6 packets back to back, no framing of their own
 * (MS-IPHTTPS 3.1.5.3, 3.2.5.2).  A packet is the 40-byte IPv6 header plus the
 * Payload Length it states.  The deframer is incremental over any split of the
 * stream and copies only the bytes of a packet that straddles two feeds.
 *
 * Error convention: v6df_feed() returns 0, or -1 on a stream error with
 * df->error set; after an error the stream has lost its boundaries and the
 * connection must be closed (the deframer refuses further input). */
#ifndef IPHTTPS_IPV6_STREAM_H
#define IPHTTPS_IPV6_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define IPV6_HDR_LEN 40
#define V6DF_MAX_PACKET_LIMIT (IPV6_HDR_LEN + 65535)
#define V6DF_DEFAULT_MAX_PACKET 2048

enum v6df_error {
	V6DF_OK = 0,
	V6DF_ERR_VERSION,   /* version nibble is not 6 */
	V6DF_ERR_TOO_BIG,   /* 40 + payload length exceeds max_packet */
	V6DF_ERR_NOMEM,
	V6DF_ERR_CALLBACK,  /* the packet callback asked to stop */
};

/* Called once per complete packet; pkt is valid only during the call.
 * Return 0 to go on, nonzero to stop with V6DF_ERR_CALLBACK. */
typedef int (*v6df_packet_cb)(void *arg, const uint8_t *pkt, size_t len);

struct v6_deframer {
	uint8_t *buf;        /* partial packet, allocated on first need */
	size_t have;         /* bytes of the partial packet held in buf */
	size_t max_packet;   /* largest packet accepted, 40 .. V6DF_MAX_PACKET_LIMIT */
	enum v6df_error error;
	uint8_t bad_byte;    /* first byte of the offending header (for logs) */
	uint64_t packets, bytes;
};

/* max_packet 0 means V6DF_DEFAULT_MAX_PACKET; larger than the limit is clamped. */
void v6df_init(struct v6_deframer *df, size_t max_packet);
/* Feed bytes; calls cb for each completed packet in order. */
int v6df_feed(struct v6_deframer *df, const uint8_t *data, size_t len,
	      v6df_packet_cb cb, void *arg);
/* Bytes of an incomplete packet held (0 when on a packet boundary). */
size_t v6df_pending(const struct v6_deframer *df);
/* Free the partial buffer if empty (for idle connections). */
void v6df_shrink(struct v6_deframer *df);
void v6df_free(struct v6_deframer *df);
const char *v6df_strerror(enum v6df_error e);

#endif
