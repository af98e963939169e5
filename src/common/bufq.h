/* A byte queue with a cap, for what waits to be written to a connection:
 * a ring buffer, appended at the tail and consumed from the head, grown by
 * doubling only when full and freed whole when idle.  No byte is ever moved
 * to make room: a slow reader whose queue stays near its cap costs one copy
 * in and one copy out per byte, never a copy of the whole queue per refill.
 * Used by the server's connections and the client's link.
 *
 * The pending bytes may wrap around the end of the buffer: bufq_head() and
 * bufq_head_len() give the first contiguous part; write it, consume what was
 * written, and ask again.
 *
 * Error convention: bufq_append returns 0, or -1 when the cap would be
 * passed or memory is short (nothing is appended then). */
#ifndef IPHTTPS_BUFQ_H
#define IPHTTPS_BUFQ_H

#include <stddef.h>
#include <stdint.h>

struct bufq {
	uint8_t *data;
	size_t off, n, cap;     /* n pending bytes from data[off], wrapping at cap */
};

int bufq_append(struct bufq *q, const void *p, size_t n, size_t limit, size_t min_cap);
static inline size_t bufq_pending(const struct bufq *q) { return q->n; }
static inline const uint8_t *bufq_head(const struct bufq *q) { return q->data + q->off; }
/* Bytes at bufq_head() before the ring wraps (at most bufq_pending()). */
static inline size_t bufq_head_len(const struct bufq *q)
{
	return q->n < q->cap - q->off ? q->n : q->cap - q->off;
}
/* n bytes of the head were written (n <= bufq_head_len). */
void bufq_consume(struct bufq *q, size_t n);
void bufq_clear(struct bufq *q);
/* Give the memory back (the queue stays usable). */
void bufq_free(struct bufq *q);

#endif
