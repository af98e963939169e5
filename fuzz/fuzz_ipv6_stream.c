/* libFuzzer harness for the IPv6 stream deframer (src/wire/ipv6_stream.c).
 *
 * Input: 2 bytes of max_packet, then chunks, each a length byte followed by
 * that many stream bytes (the last chunk takes what is left).  The same
 * stream is also cut into packets by a simple whole-buffer reference, and the
 * two must agree on packets, bytes, pending bytes and the error. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ipv6_stream.h"

struct seen {
	uint64_t packets, bytes;
	size_t max;
};

/* Checks each delivered packet: an IPv6 header whose length it matches. */
static int
on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct seen *s = arg;

	assert(len >= IPV6_HDR_LEN && len <= s->max);
	assert((pkt[0] >> 4) == 6);
	assert(len == IPV6_HDR_LEN + ((size_t)pkt[4] << 8 | pkt[5]));
	s->packets++;
	s->bytes += len;
	return 0;
}

/* Cuts the whole stream (len bytes) into packets with max packet size max.
 * Sets *packets, *bytes and *pending; returns the error. */
static enum v6df_error
reference(const uint8_t *s, size_t len, size_t max, uint64_t *packets,
	  uint64_t *bytes, size_t *pending)
{
	size_t off = 0, total;

	*packets = *bytes = 0;
	*pending = 0;
	while (off < len) {
		if ((s[off] >> 4) != 6)
			return V6DF_ERR_VERSION;
		if (len - off < 6)
			break;
		total = IPV6_HDR_LEN + ((size_t)s[off + 4] << 8 | s[off + 5]);
		if (total > max)
			return V6DF_ERR_TOO_BIG;
		if (len - off < total)
			break;
		(*packets)++;
		*bytes += total;
		off += total;
	}
	*pending = len - off;
	return V6DF_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v6_deframer df;
	struct seen s = { 0, 0, 0 };
	uint8_t *all;
	size_t alllen = 0, pos = 2, n, pending;
	uint64_t rp, rb;
	enum v6df_error re;
	int r = 0;

	if (size < 2)
		return 0;
	v6df_init(&df, (size_t)data[0] << 8 | data[1]);
	s.max = df.max_packet;
	all = malloc(size);
	if (all == NULL)
		return 0;
	while (pos < size) {
		n = data[pos++];
		if (n == 0 || n > size - pos)
			n = size - pos;
		memcpy(all + alllen, data + pos, n);
		alllen += n;
		r = v6df_feed(&df, data + pos, n, on_packet, &s);
		pos += n;
		if (r < 0)
			break;
		if (df.have == 0 && (data[pos - 1] & 1))
			v6df_shrink(&df);
	}
	re = reference(all, alllen, df.max_packet, &rp, &rb, &pending);
	assert(re == df.error);
	assert(rp == df.packets && rp == s.packets);
	assert(rb == df.bytes && rb == s.bytes);
	if (r == 0)
		assert(pending == v6df_pending(&df));
	else
		assert(v6df_feed(&df, data, size, on_packet, &s) == -1);
	v6df_free(&df);
	free(all);
	return 0;
}
