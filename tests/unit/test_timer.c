/* The reconnect timer (MS-IPHTTPS 3.1.2.1) on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/timer.h"

/* Each attempt takes T seconds to fail; check the waits. */
static void test_schedule(void **state)
{
	struct reconnect_timer t;
	const uint64_t T = 5000;
	uint64_t now = 100000, w;

	rt_init(&t, 30000, 900000);
	w = rt_failure(&t, now);               /* first failure */
	assert_int_equal(w, 30000);
	now += w + T;                          /* attempt at +30 fails at +30+T */
	w = rt_failure(&t, now);
	assert_int_equal(w, 30000 + T);        /* the time since the first failure */
	now += w + T;
	w = rt_failure(&t, now);
	assert_int_equal(w, 60000 + 3 * T);
	for (int i = 0; i < 10; i++) {
		now += w + T;
		w = rt_failure(&t, now);
		assert_true(w <= 900000);
	}
	assert_int_equal(w, 900000);           /* capped at 15 minutes, for ever */
	now += w + T;
	assert_int_equal(rt_failure(&t, now), 900000);
}

/* Attempts that fail at once (T = 0, e.g. refused): the specification's
 * list of intervals, 30, 30+T, 60+2T, 120+3T, ... up to 15 minutes, then
 * every 15 minutes. */
static void test_schedule_spec_list_t0(void **state)
{
	static const uint64_t want[] = { 30, 30, 60, 120, 240, 480, 900, 900, 900 };
	struct reconnect_timer t;
	uint64_t now = 5000000;

	rt_init(&t, 30000, 900000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t w = rt_failure(&t, now);
		assert_int_equal(w, want[i] * 1000);
		now += w;
	}
}

static void test_reset(void **state)
{
	struct reconnect_timer t;

	rt_init(&t, 30000, 900000);
	rt_failure(&t, 0);
	rt_failure(&t, 100000);
	rt_reset(&t);
	assert_int_equal(rt_failure(&t, 500000), 30000);
}

static void test_bounds_for_tests(void **state)
{
	struct reconnect_timer t;

	rt_init(&t, 1000, 3000);
	assert_int_equal(rt_failure(&t, 0), 1000);
	assert_int_equal(rt_failure(&t, 1500), 1500);
	assert_int_equal(rt_failure(&t, 10000), 3000);
	rt_init(&t, 5000, 1000);               /* max below initial: initial wins */
	assert_int_equal(rt_failure(&t, 0), 5000);
	assert_int_equal(rt_failure(&t, 100000), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_schedule_spec_list_t0),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_bounds_for_tests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
