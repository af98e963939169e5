/* A byte queue with a cap, for what waits to be written to a connection:
 * appended at the tail, consumed from the head, compacted and grown only
 * when needed, freed whole when idle.  Used by the server's connections and
 * the client's link.
 *
 * Error convention: bufq_append returns 0, or -1 when the cap would be
 * passed or memory is short (nothing is appended then). */
#ifndef IPHTTPS_BUFQ_H
#define IPHTTPS_BUFQ_H

#include <stddef.h>
#include <stdint.h>

struct bufq {
	uint8_t *data;
	size_t off, len, cap;   /* pending bytes are data[off, len) */
};

int bufq_append(struct bufq *q, const void *p, size_t n, size_t limit, size_t min_cap);
static inline size_t bufq_pending(const struct bufq *q) { return q->len - q->off; }
static inline const uint8_t *bufq_head(const struct bufq *q) { return q->data + q->off; }
/* n bytes of the head were written; an empty queue restarts at 0. */
void bufq_consume(struct bufq *q, size_t n);
void bufq_clear(struct bufq *q);
/* Give the memory back (the queue stays usable). */
void bufq_free(struct bufq *q);

#endif
