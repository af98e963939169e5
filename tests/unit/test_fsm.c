/* The client's state machine (src/client/fsm.c) driven alone, on a clock of
 * the test's, without sockets or threads: rounds over several entry
 * points, the first 200 used and a later one closed, the reconnect timer
 * of MS-IPHTTPS 3.1.2.1 after failed rounds (30, 30, 60, 120 ... 900 s for
 * attempts that fail at once), a lost link re-established at once with a
 * few quick retries (3.1.5.4), links that die at once or a broken stream
 * waiting for the timer, disable/enable/reconnect, a reload that drops the
 * entry point in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/fsm.h"

#define S 1000ULL

static struct client_fsm F;
static uint64_t now;

static int setup(void **state)
{
	now = 1000 * S;
	fsm_init(&F, 30 * S, 900 * S, now);
	return 0;
}

/* A round of n attempts; returns its number. */
static uint64_t round_of(unsigned n)
{
	uint64_t r;

	assert_true(fsm_round_due(&F, now));
	r = fsm_round_begin(&F);
	assert_int_equal(F.state, CS_LINKDOWN);
	assert_int_equal(fsm_round_started(&F, n, now), 0);
	assert_false(fsm_round_due(&F, now));      /* one round at a time */
	return r;
}

/* A round of one attempt that fails at once; returns the wait. */
static uint64_t failed_round(void)
{
	uint64_t r = round_of(1);

	assert_int_equal(fsm_attempt_done(&F, r, 0, now), FSM_ROUND_FAILED);
	assert_int_equal(F.state, CS_LINKDOWN);
	assert_true(F.next_ms > now);
	return F.next_ms - now;
}

static void up(uint64_t r)
{
	assert_int_equal(fsm_attempt_done(&F, r, 1, now), FSM_USE);
	fsm_established(&F);
	assert_int_equal(F.state, CS_ESTABLISHED);
	fsm_linkup(&F, now);
	assert_int_equal(F.state, CS_LINKUP);
	assert_false(fsm_round_due(&F, now + 3600 * S));
}

static void test_first_round_up(void **state)
{
	assert_int_equal(F.state, CS_ENABLED);
	up(round_of(1));
	assert_int_equal(F.attempts, 1);
	assert_int_equal(F.failures, 0);
}

/* Several entry points: a failure waits for the others, the first 200 is
 * used, a later 200 of the same round is closed. */
static void test_first_answer_wins(void **state)
{
	uint64_t r = round_of(3);

	assert_int_equal(fsm_attempt_done(&F, r, 0, now), FSM_WAIT);
	assert_int_equal(F.state, CS_LINKDOWN);
	up(r);
	assert_int_equal(fsm_attempt_done(&F, r, 1, now), FSM_CLOSE);
	assert_int_equal(F.state, CS_LINKUP);
	assert_int_equal(F.running, 0);
}

/* Rounds that fail at once: the specification's intervals exactly. */
static void test_reconnect_timer_intervals(void **state)
{
	static const uint64_t want[] = { 30, 30, 60, 120, 240, 480, 900, 900 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t w = failed_round();
		assert_int_equal(w, want[i] * S);
		assert_false(fsm_round_due(&F, now + w - 1));
		now += w;
	}
	assert_int_equal(F.failures, 8);
	/* A success resets the timer: the next failure waits 30 s again. */
	up(round_of(1));
	assert_int_equal(fsm_link_lost(&F, 1, now + 60 * S), 30 * S);
}

/* A link that was up is lost: re-established at once, then 1, 2, 4 and
 * 8 s before the timer's 30 s (a server restarting). */
static void test_lost_link_retried_at_once(void **state)
{
	static const uint64_t want[] = { 1, 2, 4, 8, 30, 30, 60 };

	up(round_of(1));
	now += 600 * S;
	assert_int_equal(fsm_link_lost(&F, 0, now), 0);
	assert_int_equal(F.state, CS_LINKDOWN);
	assert_true(fsm_round_due(&F, now));
	assert_int_equal(F.link_losses, 1);
	assert_int_equal(F.failures, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t w = failed_round();
		assert_int_equal(w, want[i] * S);
		now += w;
	}
}

/* Links that die as soon as they are up, or a server that breaks the
 * stream: the timer, never a busy loop. */
static void test_quick_losses_and_broken_stream_wait(void **state)
{
	up(round_of(1));
	now += 1 * S;
	assert_int_equal(fsm_link_lost(&F, 0, now), 0);        /* the first: at once */
	up(round_of(1));
	now += 2 * S;
	assert_int_equal(fsm_link_lost(&F, 0, now), 30 * S);   /* twice within 5 s */
	assert_int_equal(F.failures, 1);
	assert_false(fsm_round_due(&F, now + 29 * S));
	now += 30 * S;
	up(round_of(1));
	now += 3600 * S;
	assert_int_equal(fsm_link_lost(&F, 1, now), 30 * S);   /* a broken stream */
	assert_int_equal(F.failures, 2);
	assert_int_equal(F.recover, 0);                        /* no quick retries then */
}

/* Disabled while an attempt runs: its 200 is closed, nothing is due;
 * enabled again: a round at once, with the timer reset. */
static void test_disable_enable(void **state)
{
	uint64_t r, w;

	failed_round();
	now += 30 * S;
	failed_round();
	now += 30 * S;
	r = round_of(1);
	fsm_disable(&F);
	assert_int_equal(F.state, CS_DISABLED);
	assert_int_equal(fsm_attempt_done(&F, r, 1, now), FSM_CLOSE);
	assert_int_equal(F.state, CS_DISABLED);
	assert_false(fsm_round_due(&F, now + 3600 * S));
	fsm_enable(&F, now);
	assert_int_equal(F.state, CS_ENABLED);
	w = failed_round();
	assert_int_equal(w, 30 * S);                            /* not 60: reset */
	/* `reconnect` while disabled brings nothing due. */
	fsm_disable(&F);
	fsm_reconnect_now(&F, now);
	assert_int_equal(F.state, CS_DISABLED);
	assert_false(fsm_round_due(&F, now + 3600 * S));
}

/* `reconnect` while waiting: a round at once and the timer reset; an
 * older round's late report changes nothing. */
static void test_reconnect_now(void **state)
{
	uint64_t old;

	for (int i = 0; i < 4; i++)
		now += failed_round();
	old = F.round;
	failed_round();                                         /* waiting 240 s now */
	fsm_reconnect_now(&F, now + 10 * S);
	now += 10 * S;
	assert_true(fsm_round_due(&F, now));
	assert_int_equal(failed_round(), 30 * S);
	assert_int_equal(fsm_attempt_done(&F, old, 0, now), FSM_WAIT);
	assert_int_equal(F.state, CS_LINKDOWN);
	/* While up, reconnect does not tear the link down. */
	now += 30 * S;
	up(round_of(1));
	fsm_reconnect_now(&F, now);
	assert_int_equal(F.state, CS_LINKUP);
	assert_false(fsm_round_due(&F, now));
}

/* No attempt could start (no memory, no thread): the timer, not a stall;
 * a link that could not be brought up after its 200: the timer too. */
static void test_nothing_started_and_linkup_failed(void **state)
{
	fsm_round_begin(&F);
	assert_int_equal(fsm_round_started(&F, 0, now), 30 * S);
	assert_false(fsm_round_due(&F, now));
	assert_true(fsm_round_due(&F, now + 30 * S));
	now += 30 * S;
	{
		uint64_t r = round_of(2);
		assert_int_equal(fsm_attempt_done(&F, r, 1, now), FSM_USE);
		assert_int_equal(fsm_linkup_failed(&F, now), 30 * S);
		assert_int_equal(F.state, CS_LINKDOWN);
		/* The round was won: its other 200 is closed, not used. */
		assert_int_equal(fsm_attempt_done(&F, r, 1, now), FSM_CLOSE);
		assert_int_equal(F.state, CS_LINKDOWN);
	}
}

/* A reload removed the entry point in use: LinkDown, a round at once. */
static void test_link_dropped(void **state)
{
	up(round_of(1));
	fsm_link_dropped(&F, now);
	assert_int_equal(F.state, CS_LINKDOWN);
	assert_true(fsm_round_due(&F, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_round_up, setup),
		cmocka_unit_test_setup(test_first_answer_wins, setup),
		cmocka_unit_test_setup(test_reconnect_timer_intervals, setup),
		cmocka_unit_test_setup(test_lost_link_retried_at_once, setup),
		cmocka_unit_test_setup(test_quick_losses_and_broken_stream_wait, setup),
		cmocka_unit_test_setup(test_disable_enable, setup),
		cmocka_unit_test_setup(test_reconnect_now, setup),
		cmocka_unit_test_setup(test_nothing_started_and_linkup_failed, setup),
		cmocka_unit_test_setup(test_link_dropped, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
