/* TCP reassembly of one direction: see reasm.h. */
#include "diag/reasm.h"
#include "diag/capture.h"

#include <stdlib.h>
#include <string.h>

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* Takes two sequence numbers; returns a - b in modulo 2^32 arithmetic. */
static int32_t rel(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void reasm_start(struct cap_reasm *r, uint32_t next)
{
	r->init = 1;
	r->next = next;
}

/* Takes bytes at seq, which is not after r->next; hands on the part at and
 * after r->next and advances it. */
static void deliver(struct cap_reasm *r, uint32_t seq, const uint8_t *p, size_t len,
		    const struct reasm_out *out)
{
	size_t skip = (size_t)(-(int64_t)rel(seq, r->next));

	if (skip >= len)
		return;         /* a retransmission of bytes already delivered */
	p += skip;
	len -= skip;
	r->next += (uint32_t)len;
	if (out->data)
		out->data(out->arg, p, len);
}

/* Takes the queue's first segment off and frees it, after delivering it. */
static void pop_head(struct cap_reasm *r, const struct reasm_out *out)
{
	struct reasm_seg *s = r->head;

	r->head = s->next;
	r->buffered -= s->len;
	r->nseg--;
	if (out->budget_used)
		*out->budget_used -= s->len;
	deliver(r, s->seq, s->data, s->len, out);
	free(s);
}

/* Delivers the queued segments that are now in order. */
static void drain(struct cap_reasm *r, const struct reasm_out *out)
{
	while (r->head && rel(r->head->seq, r->next) <= 0)
		pop_head(r, out);
}

/* The capture lacks the bytes before the first queued segment: report the
 * hole, skip it and deliver what follows. */
static void skip_to_head(struct cap_reasm *r, const struct reasm_out *out)
{
	uint32_t missing = r->head->seq - r->next;

	if (out->gap)
		out->gap(out->arg, missing);
	r->next = r->head->seq;
	drain(r, out);
}

/* Takes a segment's length; returns 1 when the queue has no room for it. */
static int queue_full(const struct cap_reasm *r, size_t len, const struct reasm_out *out)
{
	if (r->buffered + len > CAP_MAX_BUFFERED || r->nseg >= CAP_MAX_SEGMENTS)
		return 1;
	return out->budget_used && *out->budget_used + len > CAP_MAX_BUFFERED_TOTAL;
}

/* Takes a segment ahead of the stream; queues a copy in sequence order
 * (after segments with the same sequence number). */
static void enqueue(struct cap_reasm *r, uint32_t seq, const uint8_t *p, size_t len,
		    const struct reasm_out *out)
{
	struct reasm_seg *s = malloc(sizeof(*s) + len), **pp;

	if (!s) {
		if (out->dropped)
			(*out->dropped)++;
		return;
	}
	s->seq = seq;
	s->len = (uint32_t)len;
	memcpy(s->data, p, len);
	for (pp = &r->head; *pp && rel((*pp)->seq, seq) <= 0; pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	r->buffered += len;
	r->nseg++;
	if (out->budget_used)
		*out->budget_used += len;
}

void reasm_segment(struct cap_reasm *r, uint32_t seq, const uint8_t *p, size_t len,
		   const struct reasm_out *out)
{
	if (len == 0)
		return;
	if (!r->init)
		reasm_start(r, seq);
	while (rel(seq, r->next) > 0 && r->head && queue_full(r, len, out))
		skip_to_head(r, out);
	if (rel(seq, r->next) <= 0) {
		deliver(r, seq, p, len, out);
		drain(r, out);
		return;
	}
	if (queue_full(r, len, out)) {
		if (out->dropped)
			(*out->dropped)++;
		return;
	}
	enqueue(r, seq, p, len, out);
}

void reasm_ack(struct cap_reasm *r, uint32_t ack, const struct reasm_out *out)
{
	if (!r->init)
		return;
	while (r->head && rel(ack, r->next) > 0 && rel(r->head->seq, ack) <= 0)
		skip_to_head(r, out);
}

void reasm_flush(struct cap_reasm *r, int have_ack, uint32_t ack, const struct reasm_out *out)
{
	int32_t tail;

	while (r->head) {
		if (rel(r->head->seq, r->next) > 0)
			skip_to_head(r, out);
		else
			drain(r, out);
	}
	if (!have_ack || !r->init)
		return;
	if (r->fin && rel(ack, r->fin_seq) > 0)
		ack = r->fin_seq;       /* the acknowledgement covers the FIN */
	tail = rel(ack, r->next);
	if (tail > 0 && tail < (1 << 30)) {
		if (out->gap)
			out->gap(out->arg, (uint64_t)tail);
		r->next = ack;
	}
}

void reasm_free(struct cap_reasm *r, size_t *budget_used)
{
	while (r->head) {
		struct reasm_seg *s = r->head;

		r->head = s->next;
		if (budget_used)
			*budget_used -= s->len;
		free(s);
	}
	r->buffered = 0;
	r->nseg = 0;
}
