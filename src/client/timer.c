/* The reconnect timer: see timer.h. */
#include "client/timer.h"

void rt_init(struct reconnect_timer *t, uint64_t initial_ms, uint64_t max_ms)
{
	t->initial_ms = initial_ms;
	t->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
	rt_reset(t);
}

void rt_reset(struct reconnect_timer *t)
{
	t->failures = 0;
	t->first_failure_ms = 0;
}

uint64_t rt_failure(struct reconnect_timer *t, uint64_t now_ms)
{
	uint64_t wait;

	if (t->failures++ == 0) {
		t->first_failure_ms = now_ms;
		return t->initial_ms;
	}
	wait = now_ms - t->first_failure_ms;
	if (wait < t->initial_ms)
		wait = t->initial_ms;
	return wait > t->max_ms ? t->max_ms : wait;
}
