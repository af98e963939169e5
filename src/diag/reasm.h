/* TCP reassembly of one direction for the capture reader (capture.c).
 * Sequence numbers compare modulo 2^32.  Bytes already delivered win over a
 * later overlapping copy; segments ahead of the stream wait in a sorted
 * queue capped in bytes and segments (per direction, and all directions
 * together through a shared budget).  When the capture lacks bytes (the
 * queue is full, the peer acknowledged past a hole, or the capture ended),
 * the reader skips the hole and reports it as a gap.
 *
 * Error convention: nothing fails; what cannot be held is dropped and
 * counted in *dropped. */
#ifndef IPHTTPS_REASM_H
#define IPHTTPS_REASM_H

#include <stddef.h>
#include <stdint.h>

struct reasm_seg;

struct cap_reasm {
	int init;                       /* next is known */
	uint32_t next;                  /* sequence number of the next byte to deliver */
	struct reasm_seg *head;         /* queued segments, sorted by sequence */
	size_t buffered;                /* bytes queued */
	unsigned nseg;
	int fin;
	uint32_t fin_seq;               /* sequence number the FIN occupies */
};

/* Where reassembled bytes go. */
struct reasm_out {
	void (*data)(void *arg, const uint8_t *p, size_t len);
	void (*gap)(void *arg, uint64_t missing);
	void *arg;
	size_t *budget_used;            /* shared: bytes queued by all directions */
	uint64_t *dropped;              /* segments dropped for lack of room */
};

/* Start the stream at sequence number next (after a SYN: ISN + 1). */
void reasm_start(struct cap_reasm *r, uint32_t next);
/* A segment's payload at seq; delivers what is in order now. */
void reasm_segment(struct cap_reasm *r, uint32_t seq, const uint8_t *p, size_t len,
		   const struct reasm_out *out);
/* The peer acknowledged up to ack: queued data below ack proves a hole the
 * capture missed; skip to it. */
void reasm_ack(struct cap_reasm *r, uint32_t ack, const struct reasm_out *out);
/* The stream is over: deliver everything queued, reporting the holes.  With
 * have_ack, bytes acknowledged by the peer beyond the last delivered one are
 * reported as a final gap. */
void reasm_flush(struct cap_reasm *r, int have_ack, uint32_t ack, const struct reasm_out *out);
/* Free the queue (returning its bytes to the shared budget). */
void reasm_free(struct cap_reasm *r, size_t *budget_used);

#endif
