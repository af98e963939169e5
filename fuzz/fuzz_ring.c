/* libFuzzer harness for the shared-memory rings (src/common/ring.c).
 *
 * Input: a byte choosing the geometry, then operations, one byte each with
 * its arguments: push (length, tag), pop (max), sleep, kick, woken, and
 * "corrupt" (a byte written at an offset of the shared mapping, as a
 * producer that died mid-way or a bug would leave it).  Until the first
 * corruption a reference FIFO of the same capacity must agree exactly on
 * what is accepted, dropped and delivered; after it, only safety is checked:
 * every packet handed over lies inside the mapping and within the slot size,
 * and the counters still add up. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/ring.h"

#define MAXQ 64

struct model {
	uint32_t len[MAXQ], tag[MAXQ];
	uint8_t first[MAXQ];
	unsigned head, n, cap;
};

struct check {
	const struct ring *r;
	struct model *m;
	int exact;
	uint64_t got;
};

static void on_pkt(void *arg, const uint8_t *p, size_t len, uint32_t tag)
{
	struct check *c = arg;
	const uint8_t *lo = c->r->sh->slot, *hi = (const uint8_t *)c->r->sh + ring_bytes(c->r);
	struct model *m = c->m;

	assert(p >= lo && p + len <= hi && len <= c->r->slot_size);
	if (c->exact) {
		assert(m->n > 0);
		assert(len == m->len[m->head] && tag == m->tag[m->head]);
		assert(len == 0 || p[0] == m->first[m->head]);
		m->head = (m->head + 1) % MAXQ;
		m->n--;
	}
	c->got++;
}

/* One push: the ring and the model must agree while exact. */
static void op_push(struct ring *r, struct check *c, const uint8_t *a)
{
	static uint8_t buf[600];
	size_t len = (size_t)a[0] * 2 + (a[1] & 1);     /* 0 .. 511 */
	uint32_t tag = (uint32_t)a[1] << 8 | a[0];
	struct model *m = c->m;
	int rc;

	memset(buf, a[1], len);
	rc = ring_push(r, buf, len, tag);
	if (!c->exact)
		return;
	if (len > r->slot_size) {
		assert(rc == RING_TOO_BIG);
	} else if (m->n == m->cap) {
		assert(rc == RING_FULL);
	} else {
		unsigned at = (m->head + m->n) % MAXQ;
		assert(rc == RING_OK);
		m->len[at] = (uint32_t)len;
		m->tag[at] = tag;
		m->first[at] = a[1];
		m->n++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t slots[4] = { 2, 4, 16, 64 }, sizes[4] = { 8, 64, 300, 512 };
	struct model m = { .cap = 0 };
	struct check c = { .m = &m, .exact = 1 };
	struct ring_stats st;
	char err[ERRLEN];
	struct ring *r;
	size_t i = 1;

	if (size < 1)
		return 0;
	r = ring_create(slots[data[0] & 3], sizes[(data[0] >> 2) & 3], err);
	assert(r);
	c.r = r;
	m.cap = r->slots;
	while (i + 3 <= size) {
		const uint8_t *a = data + i + 1;
		switch (data[i] % 6) {
		case 0: op_push(r, &c, a); break;
		case 1: ring_pop(r, a[0] % 8, on_pkt, &c); break;
		case 2: ring_sleep(r); break;
		case 3: ring_kick(r); break;
		case 4: ring_woken(r); break;
		case 5:
			((uint8_t *)r->sh)[((size_t)a[0] << 8 | a[1]) % ring_bytes(r)] ^= data[i] | 1;
			c.exact = 0;
			break;
		}
		assert(ring_count(r) <= r->slots);
		if (c.exact)
			assert(ring_count(r) == m.n);
		i += 3;
	}
	ring_stats(r, &st);
	if (c.exact) {
		assert(st.popped == c.got && st.corrupt == 0);
		assert(st.pushed == st.popped + m.n);
	}
	ring_destroy(r);
	return 0;
}
