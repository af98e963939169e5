/* libFuzzer harness for the TUN steering program (src/net/steer.c), run by
 * the kernel's BPF_PROG_TEST_RUN against a reference written in C.
 *
 * Input: a count byte, then that many claims (a byte: prefix or address,
 * queue and generation; 16 bytes of address), then the packet the kernel
 * would send into the TUN, arbitrary bytes.  The claims go into the maps
 * (the first claim of a key wins, as BPF_NOEXIST says), the program decides
 * a queue for the packet, and the reference must agree: the /128's queue,
 * else the /64's, else queue 0, for a packet of at least 40 bytes with
 * version 6, queue 0 for anything else.  Needs CAP_BPF (root): without it
 * the harness stops at once with a message. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/steer.h"

#define MAXC 8

struct claim {
	int prefix, won;
	uint16_t queue, gen;
	struct in6_addr a;
};

static struct steer s;

static void setup(void)
{
	char err[ERRLEN];

	if (steer_create(&s, 64, 64, err) < 0) {
		fprintf(stderr, "fuzz_steer: %s\n", err);
		exit(1);
	}
}

/* The queue the reference gives pkt, from the claims that won. */
static long reference(const struct claim *c, int n, const uint8_t *pkt, size_t len)
{
	if (len < 40 || (pkt[0] & 0xf0) != 0x60)
		return STEER_DEFAULT_QUEUE;
	for (int i = 0; i < n; i++)
		if (c[i].won && !c[i].prefix && !memcmp(c[i].a.s6_addr, pkt + 24, 16))
			return c[i].queue;
	for (int i = 0; i < n; i++)
		if (c[i].won && c[i].prefix && !memcmp(c[i].a.s6_addr, pkt + 24, 8))
			return c[i].queue;
	return STEER_DEFAULT_QUEUE;
}

/* Claims c into the maps; the map must say what the reference expects. */
static void apply(struct claim *c, const struct claim *before, int n)
{
	int taken = 0, rc;

	for (int i = 0; i < n; i++)
		taken |= before[i].won && before[i].prefix == c->prefix &&
			 !memcmp(before[i].a.s6_addr, c->a.s6_addr, c->prefix ? 8 : 16);
	rc = c->prefix ? steer_claim_prefix(&s, &c->a, c->queue, c->gen)
		       : steer_claim_addr(&s, &c->a, c->queue, c->gen);
	assert(rc == (taken ? STEER_TAKEN : STEER_OK));
	c->won = !taken;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct claim c[MAXC];
	size_t pos = 1;
	int n = 0;

	if (!s.prog_fd)
		setup();
	if (size < 1)
		return 0;
	while (n < (data[0] & 7) && pos + 17 <= size) {
		c[n].prefix = data[pos] >> 7;
		c[n].queue = data[pos] & 0x7f;
		c[n].gen = (uint16_t)(data[pos] * 31u);
		memcpy(c[n].a.s6_addr, data + pos + 1, 16);
		apply(&c[n], c, n);
		n++;
		pos += 17;
	}
	assert(steer_prog_run(&s, data + pos, size - pos) == reference(c, n, data + pos, size - pos));
	for (int i = 0; i < n; i++) {
		if (!c[i].won)
			continue;
		if (c[i].prefix)
			assert(steer_release_prefix(&s, &c[i].a, c[i].queue, c[i].gen) == STEER_OK);
		else
			assert(steer_release_addr(&s, &c[i].a, c[i].queue, c[i].gen) == STEER_OK);
	}
	return 0;
}
