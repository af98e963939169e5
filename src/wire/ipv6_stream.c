/* Incremental deframer of the IP-HTTPS byte stream (see ipv6_stream.h).
 *
 * A packet lying whole inside one fed chunk is handed to the callback in place;
 * only a packet that straddles two feeds is gathered into df->buf, which is
 * allocated (max_packet bytes) the first time that happens and can be given
 * back with v6df_shrink() when the connection is idle.
 *
 * Header checks happen as early as the bytes allow: the version nibble as soon
 * as the first byte of a packet is seen, the size as soon as the Payload Length
 * field (bytes 4-5) is.  The counters count delivered packets and their bytes. */
#include <stdlib.h>
#include <string.h>

#include "wire/ipv6_stream.h"

/* Takes the wanted maximum packet size; returns it clamped to 40 .. limit,
 * with 0 meaning the default. */
static size_t
clamp_max(size_t max_packet)
{
	if (max_packet == 0)
		return V6DF_DEFAULT_MAX_PACKET;
	if (max_packet < IPV6_HDR_LEN)
		return IPV6_HDR_LEN;
	if (max_packet > V6DF_MAX_PACKET_LIMIT)
		return V6DF_MAX_PACKET_LIMIT;
	return max_packet;
}

void
v6df_init(struct v6_deframer *df, size_t max_packet)
{
	memset(df, 0, sizeof(*df));
	df->max_packet = clamp_max(max_packet);
}

/* Puts the deframer into error state e, remembering the first header byte.
 * Returns -1 (the feed's result). */
static int
fail(struct v6_deframer *df, enum v6df_error e, uint8_t first)
{
	df->error = e;
	df->bad_byte = first;
	return -1;
}

/* Looks at the first avail bytes of a packet header.  Returns the packet's
 * total length when known (avail >= 6), 0 when more bytes are needed, or -1
 * after setting the error state. */
static long
check_header(struct v6_deframer *df, const uint8_t *hdr, size_t avail)
{
	size_t total;

	if (avail == 0)
		return 0;
	if ((hdr[0] >> 4) != 6)
		return fail(df, V6DF_ERR_VERSION, hdr[0]);
	if (avail < 6)
		return 0;
	total = IPV6_HDR_LEN + ((size_t)hdr[4] << 8 | hdr[5]);
	if (total > df->max_packet)
		return fail(df, V6DF_ERR_TOO_BIG, hdr[0]);
	return (long)total;
}

/* Counts and delivers one complete packet.  Returns 0, or -1 (error state
 * set) when the callback asked to stop. */
static int
deliver(struct v6_deframer *df, const uint8_t *pkt, size_t len,
	v6df_packet_cb cb, void *arg)
{
	df->packets++;
	df->bytes += len;
	if (cb != NULL && cb(arg, pkt, len) != 0)
		return fail(df, V6DF_ERR_CALLBACK, pkt[0]);
	return 0;
}

/* Continues the partial packet held in buf with up to len bytes of data.
 * Returns how many bytes were taken (the packet is delivered when complete),
 * or -1 on error. */
static long
feed_partial(struct v6_deframer *df, const uint8_t *data, size_t len,
	     v6df_packet_cb cb, void *arg)
{
	size_t want, take, used = 0;
	long total;

	/* First complete the 6 bytes that tell the packet's size. */
	while ((total = check_header(df, df->buf, df->have)) == 0) {
		if (used == len)
			return (long)used;
		df->buf[df->have++] = data[used++];
	}
	if (total < 0)
		return -1;
	want = (size_t)total - df->have;
	take = len - used < want ? len - used : want;
	if (take > 0)
		memcpy(df->buf + df->have, data + used, take);
	df->have += take;
	used += take;
	if (df->have == (size_t)total) {
		df->have = 0;
		if (deliver(df, df->buf, (size_t)total, cb, arg) < 0)
			return -1;
	}
	return (long)used;
}

/* Starts a packet that is not whole in data (len bytes, all of it the
 * packet's beginning): copies it into buf.  Returns 0 or -1 (no memory). */
static int
start_partial(struct v6_deframer *df, const uint8_t *data, size_t len)
{
	if (df->buf == NULL) {
		df->buf = malloc(df->max_packet);
		if (df->buf == NULL)
			return fail(df, V6DF_ERR_NOMEM, data[0]);
	}
	memcpy(df->buf, data, len);
	df->have = len;
	return 0;
}

int
v6df_feed(struct v6_deframer *df, const uint8_t *data, size_t len,
	  v6df_packet_cb cb, void *arg)
{
	long n;

	if (df->error != V6DF_OK)
		return -1;
	if (df->have > 0) {
		n = feed_partial(df, data, len, cb, arg);
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	while (len > 0) {
		n = check_header(df, data, len);
		if (n < 0)
			return -1;
		if (n == 0 || (size_t)n > len)
			return start_partial(df, data, len);
		if (deliver(df, data, (size_t)n, cb, arg) < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t
v6df_pending(const struct v6_deframer *df)
{
	return df->have;
}

void
v6df_shrink(struct v6_deframer *df)
{
	if (df->have == 0) {
		free(df->buf);
		df->buf = NULL;
	}
}

void
v6df_free(struct v6_deframer *df)
{
	free(df->buf);
	df->buf = NULL;
	df->have = 0;
}

const char *
v6df_strerror(enum v6df_error e)
{
	switch (e) {
	case V6DF_OK:
		return "no error";
	case V6DF_ERR_VERSION:
		return "not an IPv6 packet (version nibble is not 6)";
	case V6DF_ERR_TOO_BIG:
		return "IPv6 packet larger than the accepted maximum";
	case V6DF_ERR_NOMEM:
		return "out of memory";
	case V6DF_ERR_CALLBACK:
		return "stopped by the packet handler";
	}
	return "unknown deframer error";
}
