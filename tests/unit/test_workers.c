/* Unit tests of the supervisor's decisions that need no socket
 * (src/server/workers.c): which worker the acceptor hands a connection to,
 * and how many workers --workers auto means. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "server/workers.h"

static void pick_least_loaded(void **state)
{
	uint64_t load[3] = { 5, 2, 7 }, cap[3] = { 10, 10, 10 };

	(void)state;
	assert_int_equal(workers_pick(3, load, cap, 7), 1);
	load[1] = 5;                    /* equals: the first */
	assert_int_equal(workers_pick(3, load, cap, 7), 0);
}

static void pick_skips_full_and_unusable(void **state)
{
	uint64_t load[3] = { 1, 2, 3 }, cap[3] = { 1, 10, 10 };

	(void)state;
	/* worker 0 is at its cap (its descriptor limit), worker 1 not running */
	assert_int_equal(workers_pick(3, load, cap, 7), 1);
	assert_int_equal(workers_pick(3, load, cap, 5), 2);
	/* all full, or none usable: refuse */
	cap[1] = 2;
	cap[2] = 3;
	assert_int_equal(workers_pick(3, load, cap, 7), -1);
	cap[2] = 100;
	assert_int_equal(workers_pick(3, load, cap, 0), -1);
}

static void pick_balances_exactly(void **state)
{
	uint64_t load[4] = { 0 }, cap[4] = { 250, 250, 250, 250 };
	int i, n = 0;

	(void)state;
	/* handing each connection to the pick keeps them within one */
	while ((i = workers_pick(4, load, cap, 15)) >= 0) {
		load[i]++;
		n++;
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++)
				assert_true(load[a] <= load[b] + 1);
	}
	assert_int_equal(n, 1000);      /* every slot used, then refused */
}

static void wanted_explicit_and_auto(void **state)
{
	struct server_cfg c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	memset(&c, 0, sizeof(c));
	c.workers = 3;
	c.max_clients = 10000;
	c.max_handshakes = 1000;
	assert_int_equal(workers_wanted(&c, 20000), 3);
	c.workers = 0;                  /* auto: the CPUs when one process has room */
	assert_int_equal(workers_wanted(&c, 20000), cpus);
	/* 50,000 clients and 1,000 handshakes at 20,000 descriptors a process
	 * (19,872 once 128 are kept): 3 processes at least */
	c.max_clients = 50000;
	assert_int_equal(workers_wanted(&c, 20000), cpus > 3 ? cpus : 3);
	/* never beyond the limit of workers */
	c.max_clients = 1000000;
	assert_int_equal(workers_wanted(&c, 1024), SERVER_MAX_WORKERS);
	/* no descriptor limit: the CPUs */
	assert_int_equal(workers_wanted(&c, 0), cpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pick_least_loaded),
		cmocka_unit_test(pick_skips_full_and_unusable),
		cmocka_unit_test(pick_balances_exactly),
		cmocka_unit_test(wanted_explicit_and_auto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
