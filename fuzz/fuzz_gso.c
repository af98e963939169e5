/* libFuzzer harness: gso_split on any read a TUN could return.  A read is
 * refused whole (nothing emitted) or cut into packets that each fit the
 * link (1,280 bytes) when it was a super-packet, and whose TCP payloads add
 * up to the super-packet's. */
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

struct seen {
	int gso;
	size_t n, payload;
};

static int emit(void *arg, const uint8_t *pkt, size_t len)
{
	struct seen *s = arg;

	if (len < 40 || len > 40 + 60 + 65535)
		abort();
	if (s->gso) {
		if (len > 1280 || len < 60)
			abort();
		s->payload += len - 40 - (size_t)(pkt[52] >> 4) * 4;
	}
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[GSO_MAX_READ];
	struct seen s = { 0 };
	int rc;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	s.gso = size > VNET_HDR_LEN && data[1] != VIRTIO_NET_HDR_GSO_NONE;
	rc = gso_split(buf, size, 1280, emit, &s);
	if (rc < 0 && s.n)
		abort();                       /* refused after emitting */
	if (rc >= 0 && (size_t)rc != s.n)
		abort();
	if (rc > 0 && s.gso) {
		const uint8_t *p = data + VNET_HDR_LEN;
		size_t hlen = 40 + (size_t)(p[52] >> 4) * 4;
		if (s.payload != size - VNET_HDR_LEN - hlen)
			abort();
	}
	return 0;
}
