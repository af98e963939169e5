/* A byte queue with a cap: see bufq.h. */
#include "common/bufq.h"

#include <stdlib.h>
#include <string.h>

/* Grow to hold need bytes: a new buffer with the pending bytes unwrapped
 * at its start.  0, or -1 when memory is short. */
static int grow(struct bufq *q, size_t need, size_t min_cap)
{
	size_t cap = q->cap ? q->cap : min_cap, first = bufq_head_len(q);
	uint8_t *d;

	while (cap < need)
		cap *= 2;
	if (!(d = malloc(cap)))
		return -1;
	if (q->n) {
		memcpy(d, q->data + q->off, first);
		memcpy(d + first, q->data, q->n - first);
	}
	free(q->data);
	q->data = d;
	q->cap = cap;
	q->off = 0;
	return 0;
}

int bufq_append(struct bufq *q, const void *p, size_t n, size_t limit, size_t min_cap)
{
	size_t tail, room;

	if (q->n + n > limit)
		return -1;
	if (q->n + n > q->cap && grow(q, q->n + n, min_cap ? min_cap : 64) < 0)
		return -1;
	tail = (q->off + q->n) % q->cap;
	room = q->cap - tail;           /* up to the end of the buffer */
	if (n <= room) {
		memcpy(q->data + tail, p, n);
	} else {
		memcpy(q->data + tail, p, room);
		memcpy(q->data, (const uint8_t *)p + room, n - room);
	}
	q->n += n;
	return 0;
}

void bufq_consume(struct bufq *q, size_t n)
{
	if (n >= q->n) {
		q->off = q->n = 0;
		return;
	}
	q->off = (q->off + n) % q->cap;
	q->n -= n;
}

void bufq_clear(struct bufq *q)
{
	q->off = q->n = 0;
}

void bufq_free(struct bufq *q)
{
	free(q->data);
	memset(q, 0, sizeof(*q));
}
