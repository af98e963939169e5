/* libFuzzer harness: gso_split on any read a TUN could return; every
 * emitted packet must fit the read's size plus one header per segment. */
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

static int emit(void *arg, const uint8_t *pkt, size_t len)
{
	size_t *total = arg;
	if (len < 40 || len > 40 + 60 + 65535)
		abort();
	*total += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[GSO_MAX_READ];
	size_t total = 0;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	gso_split(buf, size, emit, &total);
	return 0;
}
