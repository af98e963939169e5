/* The reconnect timer of MS-IPHTTPS 3.1.2.1 as a pure function of a clock, so
 * that tests can run it on a fake one.  After the first failure the client
 * waits `initial`; after each later failure it waits as long as the time
 * elapsed since the first failure, capped at `max`.  A successful connection
 * resets it.
 *
 * With attempts that fail at once this gives the specification's list of
 * intervals exactly (30, 30, 60, 120, ... 900, 900 s).  For attempts that
 * take T to fail, the specification's sentence ("a timeout set to the time
 * elapsed since the beginning of the algorithm") and its example list
 * (30, 30+T, 60+2T, 120+3T) disagree from the third interval on (the
 * sentence gives 60+3T); we follow the sentence. */
#ifndef IPHTTPS_TIMER_H
#define IPHTTPS_TIMER_H

#include <stdint.h>

struct reconnect_timer {
	uint64_t initial_ms, max_ms;
	uint64_t first_failure_ms;  /* valid while failing */
	unsigned failures;          /* since the last success */
};

void rt_init(struct reconnect_timer *t, uint64_t initial_ms, uint64_t max_ms);
/* A connection succeeded: forget the failures. */
void rt_reset(struct reconnect_timer *t);
/* An attempt failed at now_ms: returns how long to wait before the next. */
uint64_t rt_failure(struct reconnect_timer *t, uint64_t now_ms);

#endif
