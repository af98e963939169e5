/* A byte queue with a cap: see bufq.h. */
#include "common/bufq.h"

#include <stdlib.h>
#include <string.h>

int bufq_append(struct bufq *q, const void *p, size_t n, size_t limit, size_t min_cap)
{
	if (q->off && q->off == q->len)
		q->off = q->len = 0;
	if (bufq_pending(q) + n > limit)
		return -1;
	if (q->len + n > q->cap) {
		if (q->off) {
			memmove(q->data, q->data + q->off, q->len - q->off);
			q->len -= q->off;
			q->off = 0;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : min_cap;
			uint8_t *d;
			while (cap < q->len + n)
				cap *= 2;
			if (!(d = realloc(q->data, cap)))
				return -1;
			q->data = d;
			q->cap = cap;
		}
	}
	memcpy(q->data + q->len, p, n);
	q->len += n;
	return 0;
}

void bufq_consume(struct bufq *q, size_t n)
{
	q->off += n;
	if (q->off >= q->len)
		q->off = q->len = 0;
}

void bufq_clear(struct bufq *q)
{
	q->off = q->len = 0;
}

void bufq_free(struct bufq *q)
{
	free(q->data);
	memset(q, 0, sizeof(*q));
}
