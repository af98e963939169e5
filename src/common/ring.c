/* See ring.h.  Positions are free-running 64-bit counters; the slot of
 * position p is p & (slots - 1).  The wake-up is the classic store/fence/load
 * pair on each side: the producer publishes tail then looks at sleeping, the
 * consumer publishes sleeping then looks at tail, with a sequentially
 * consistent fence between, so at least one of them sees the other. */
#include "common/ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOAD(p, o)      __atomic_load_n((p), (o))
#define STORE(p, v, o)  __atomic_store_n((p), (v), (o))
#define RLX             __ATOMIC_RELAXED

/* Add one to a counter this process alone writes. */
static void bump(uint64_t *c, uint64_t n)
{
	STORE(c, LOAD(c, RLX) + n, RLX);
}

/* The slot of position pos. */
static struct ring_slot *slot_at(const struct ring *r, uint64_t pos)
{
	return (struct ring_slot *)(r->sh->slot + (size_t)(pos & (r->slots - 1)) * r->stride);
}

/* Checks the geometry; 0 or -1 with err set. */
static int check_geometry(uint32_t slots, uint32_t slot_size, char *err)
{
	if (slots < 2 || slots > RING_MAX_SLOTS || (slots & (slots - 1))) {
		snprintf(err, ERRLEN, "ring: %u slots: a power of two from 2 to %u", slots, RING_MAX_SLOTS);
		return -1;
	}
	if (slot_size < 8 || slot_size > RING_MAX_SLOT_SIZE) {
		snprintf(err, ERRLEN, "ring: slot size %u: from 8 to %u bytes", slot_size, RING_MAX_SLOT_SIZE);
		return -1;
	}
	return 0;
}

struct ring *ring_create(uint32_t slots, uint32_t slot_size, char *err)
{
	struct ring *r;

	if (check_geometry(slots, slot_size, err) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, ERRLEN, "ring: out of memory");
		return NULL;
	}
	r->slots = slots;
	r->slot_size = (slot_size + 7u) & ~7u;
	r->stride = (uint32_t)sizeof(struct ring_slot) + r->slot_size;
	r->map_len = sizeof(struct ring_shared) + (size_t)slots * r->stride;
	r->sh = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		snprintf(err, ERRLEN, "ring: mapping %zu bytes of shared memory: %s", r->map_len, strerror(errno));
		free(r);
		return NULL;
	}
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		snprintf(err, ERRLEN, "ring: eventfd: %s", strerror(errno));
		munmap(r->sh, r->map_len);
		free(r);
		return NULL;
	}
	r->sh->slots = slots;
	r->sh->slot_size = r->slot_size;
	return r;
}

void ring_destroy(struct ring *r)
{
	if (!r)
		return;
	munmap(r->sh, r->map_len);
	close(r->efd);
	free(r);
}

int ring_push(struct ring *r, const void *pkt, size_t len, uint32_t tag)
{
	struct ring_shared *sh = r->sh;
	uint64_t t = LOAD(&sh->tail, RLX), h = LOAD(&sh->head, __ATOMIC_ACQUIRE);
	struct ring_slot *s;

	if (len > r->slot_size) {
		bump(&sh->drop_big, 1);
		return RING_TOO_BIG;
	}
	if (t - h >= r->slots) {        /* full (or a corrupt head: the consumer resets it) */
		bump(&sh->drop_full, 1);
		return RING_FULL;
	}
	s = slot_at(r, t);
	memcpy(s->data, pkt, len);
	s->len = (uint32_t)len;
	s->tag = tag;
	STORE(&sh->tail, t + 1, __ATOMIC_RELEASE);
	bump(&sh->pushed, 1);
	return RING_OK;
}

int ring_kick(struct ring *r)
{
	static const uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!LOAD(&r->sh->sleeping, RLX) || !__atomic_exchange_n(&r->sh->sleeping, 0, __ATOMIC_SEQ_CST))
		return 0;
	/* Only EAGAIN can fail here (the counter near 2^64): the fd is readable anyway. */
	if (write(r->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return 0;
	bump(&r->sh->wakeups, 1);
	return 1;
}

/* Hands the packet at pos to cb; 1 if handed, 0 if its slot was corrupt. */
static int pop_one(struct ring *r, uint64_t pos, ring_pop_cb cb, void *arg)
{
	struct ring_slot *s = slot_at(r, pos);
	uint32_t len = LOAD(&s->len, RLX), tag = LOAD(&s->tag, RLX);

	if (len > r->slot_size) {
		bump(&r->sh->corrupt, 1);
		return 0;
	}
	cb(arg, s->data, len, tag);
	return 1;
}

size_t ring_pop(struct ring *r, size_t max, ring_pop_cb cb, void *arg)
{
	struct ring_shared *sh = r->sh;
	uint64_t h = LOAD(&sh->head, RLX), t = LOAD(&sh->tail, __ATOMIC_ACQUIRE), n, i;
	size_t handed = 0;

	if (t - h > r->slots) {         /* positions make no sense: drop what is there */
		bump(&sh->corrupt, 1);
		STORE(&sh->head, t, __ATOMIC_RELEASE);
		return 0;
	}
	n = t - h < max ? t - h : max;
	for (i = 0; i < n; i++)
		handed += (size_t)pop_one(r, h + i, cb, arg);
	STORE(&sh->head, h + n, __ATOMIC_RELEASE);
	bump(&sh->popped, handed);
	return handed;
}

size_t ring_count(const struct ring *r)
{
	uint64_t h = LOAD(&r->sh->head, RLX), t = LOAD(&r->sh->tail, __ATOMIC_ACQUIRE);

	return t - h > r->slots ? 0 : (size_t)(t - h);
}

int ring_sleep(struct ring *r)
{
	struct ring_shared *sh = r->sh;

	STORE(&sh->sleeping, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (LOAD(&sh->tail, __ATOMIC_SEQ_CST) != LOAD(&sh->head, RLX)) {
		STORE(&sh->sleeping, 0, __ATOMIC_SEQ_CST);
		return 0;
	}
	bump(&sh->sleeps, 1);
	return 1;
}

void ring_woken(struct ring *r)
{
	uint64_t v;
	ssize_t n;

	STORE(&r->sh->sleeping, 0, __ATOMIC_SEQ_CST);
	/* Non-blocking: EAGAIN (woken by something else) leaves nothing to clear. */
	n = read(r->efd, &v, sizeof(v));
	(void)n;
}

int ring_fd(const struct ring *r)
{
	return r->efd;
}

void ring_stats(const struct ring *r, struct ring_stats *o)
{
	const struct ring_shared *sh = r->sh;

	o->pushed = LOAD(&sh->pushed, RLX);
	o->drop_full = LOAD(&sh->drop_full, RLX);
	o->drop_big = LOAD(&sh->drop_big, RLX);
	o->wakeups = LOAD(&sh->wakeups, RLX);
	o->popped = LOAD(&sh->popped, RLX);
	o->corrupt = LOAD(&sh->corrupt, RLX);
	o->sleeps = LOAD(&sh->sleeps, RLX);
}

size_t ring_bytes(const struct ring *r)
{
	return r->map_len;
}
