/* Single-producer single-consumer packet rings in shared memory, for packets
 * one worker process hands to another (client to client across workers, a
 * mode Certificates flood; docs/design.md).  One ring per ordered pair of
 * workers: exactly one process pushes, exactly one process pops.
 *
 * The ring is a MAP_SHARED anonymous mapping made before the fork, so the
 * supervisor, the producer and the consumer all see it (a successor worker
 * forked later sees it too, as long as the supervisor keeps it).  Slots have
 * a fixed size; a packet is copied in once by the producer and handed to the
 * consumer in place.  Bounded: a full ring drops the packet and counts it,
 * it never blocks and never grows.  An eventfd wakes a consumer that said it
 * is going to sleep; a busy consumer costs the producer no system call.
 *
 * The consumer treats the shared header and slots as untrusted: a length or
 * a position out of range (a producer that died mid-way, a bug) is counted
 * as corrupt and never read past the mapping.
 *
 * Each counter has one writer (the side that owns it) and may be read by
 * anyone, for `state`.
 *
 * Error convention: ring_create returns NULL with a message in err[ERRLEN];
 * ring_push returns 0 or a negative enum ring_err (the packet is dropped and
 * counted); the other functions cannot fail. */
#ifndef IPHTTPS_RING_H
#define IPHTTPS_RING_H

#include "common/errbuf.h"

#include <stddef.h>
#include <stdint.h>

/* Limits checked by ring_create: slots a power of two, slot payload a
 * multiple of 8 (alignment of the next slot's header). */
#define RING_MAX_SLOTS     65536u
#define RING_MAX_SLOT_SIZE 65576u   /* an IPv6 packet of 65,535 + 40 bytes, rounded */

enum ring_err {
	RING_OK = 0,
	RING_FULL = -1,         /* no free slot: dropped, counted in drop_full */
	RING_TOO_BIG = -2,      /* longer than the slot: dropped, counted in drop_big */
};

/* Counters, each written by one side only. */
struct ring_stats {
	uint64_t pushed, drop_full, drop_big, wakeups;  /* producer's */
	uint64_t popped, corrupt, sleeps;               /* consumer's */
};

/* The shared mapping (exposed for the tests that corrupt it on purpose;
 * code outside ring.c never touches it).  The producer writes tail, its
 * counters and the slots; the consumer writes head, sleeping and its
 * counters.  A slot is a struct ring_slot followed by slot_size bytes. */
struct ring_slot {
	uint32_t len, tag;
	uint8_t data[];
};

struct ring_shared {
	uint32_t slots, slot_size;      /* as made; the processes keep their own copies */
	_Alignas(64) uint64_t tail;     /* producer: next slot to fill (free-running) */
	uint64_t pushed, drop_full, drop_big, wakeups;
	_Alignas(64) uint64_t head;     /* consumer: next slot to read (free-running) */
	uint32_t sleeping;              /* consumer: 1 while it blocks on the eventfd */
	uint64_t popped, corrupt, sleeps;
	_Alignas(64) uint8_t slot[];
};

/* One process's handle on a ring. */
struct ring {
	struct ring_shared *sh;
	size_t map_len;
	uint32_t slots, stride;         /* trusted copies: never read back from sh */
	uint32_t slot_size;
	int efd;
};

/* A ring of slots (a power of two, 2 .. RING_MAX_SLOTS) packets of at most
 * slot_size bytes (8 .. RING_MAX_SLOT_SIZE, rounded up to 8).  The mapping
 * and the eventfd are inherited by children; free with ring_destroy in every
 * process that holds it.  Returns NULL with err set. */
struct ring *ring_create(uint32_t slots, uint32_t slot_size, char *err);
/* Unmap and close (in this process only). */
void ring_destroy(struct ring *r);

/* Producer: copy len bytes and a tag (e.g. "flood from connection X") into
 * the next slot.  Does not wake the consumer: call ring_kick once after a
 * batch.  Returns RING_OK, RING_FULL or RING_TOO_BIG. */
int ring_push(struct ring *r, const void *pkt, size_t len, uint32_t tag);
/* Producer: wake the consumer if it said it sleeps and has packets waiting.
 * Returns 1 if the eventfd was written, 0 otherwise. */
int ring_kick(struct ring *r);

/* Consumer: called once per packet, in order; pkt points into the shared
 * slot and is valid only during the call. */
typedef void (*ring_pop_cb)(void *arg, const uint8_t *pkt, size_t len, uint32_t tag);
/* Consumer: hand up to max waiting packets to cb, then free their slots.
 * Returns the number handed over. */
size_t ring_pop(struct ring *r, size_t max, ring_pop_cb cb, void *arg);
/* Consumer: packets waiting now. */
size_t ring_count(const struct ring *r);
/* Consumer, before it blocks in epoll: announce the sleep.  Returns 1 when
 * the ring is empty and the consumer may block on ring_fd(), 0 when packets
 * arrived meanwhile (the consumer must pop them; the announcement is taken
 * back).  After the wait, whatever ended it, call ring_woken() (reads the
 * eventfd if it fired, takes the announcement back), then ring_pop(). */
int ring_sleep(struct ring *r);
void ring_woken(struct ring *r);
/* The eventfd to watch for POLLIN (non-blocking, close-on-exec). */
int ring_fd(const struct ring *r);

/* A snapshot of the counters (relaxed reads, any process). */
void ring_stats(const struct ring *r, struct ring_stats *out);
/* Bytes the mapping takes (header and slots). */
size_t ring_bytes(const struct ring *r);

#endif
