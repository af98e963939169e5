/* The client's state machine: see fsm.h. */
#include "client/fsm.h"

#include <string.h>

/* A round due at now (0 means none, so never 0). */
static void due_at(struct client_fsm *f, uint64_t t)
{
	f->next_ms = t ? t : 1;
}

void fsm_init(struct client_fsm *f, uint64_t initial_ms, uint64_t max_ms, uint64_t now)
{
	memset(f, 0, sizeof(*f));
	f->state = CS_ENABLED;
	rt_init(&f->rt, initial_ms, max_ms);
	due_at(f, now);
}

int fsm_round_due(const struct client_fsm *f, uint64_t now)
{
	return f->next_ms && !f->running && now >= f->next_ms && f->state != CS_DISABLED &&
	       f->state != CS_LINKUP;
}

uint64_t fsm_round_begin(struct client_fsm *f)
{
	f->next_ms = 0;
	f->round++;
	f->round_won = 0;
	f->attempts++;
	f->state = CS_LINKDOWN;
	return f->round;
}

uint64_t fsm_round_started(struct client_fsm *f, unsigned started, uint64_t now)
{
	uint64_t wait;

	f->running += started;
	if (f->running)
		return 0;
	/* Not one attempt could start: the timer tries again, never a stall. */
	wait = rt_failure(&f->rt, now);
	due_at(f, now + wait);
	return wait;
}

/* After a link that was up is lost, its immediate retry may meet a server
 * that is restarting: 1, 2, 4 and 8 s more (15 s in all) before the
 * specification's timer (30 s first).  3.1.5.4 wants a lost link
 * re-established; Windows retries at once after ERROR_CONNECTION_REFUSED
 * and WSAECONNRESET (iptlsclient.c WebSendRequestCompletion) but then
 * waits the 30 s; a few seconds of restart should not cost every client
 * half a minute. */
static uint64_t recovery_wait(struct client_fsm *f)
{
	uint64_t wait = 1000ULL << (FSM_RECOVER_TRIES - f->recover);

	f->recover--;
	return wait;
}

enum fsm_verdict fsm_attempt_done(struct client_fsm *f, uint64_t round, int ok, uint64_t now)
{
	int current = round == f->round && f->state != CS_DISABLED;
	uint64_t wait;

	if (f->running)
		f->running--;
	if (ok && current && !f->round_won && f->state != CS_LINKUP) {
		f->round_won = 1;
		return FSM_USE;
	}
	if (ok)
		return FSM_CLOSE;
	if (!current || f->round_won || f->running)
		return FSM_WAIT;
	/* Every entry point of the round failed. */
	wait = f->recover ? recovery_wait(f) : rt_failure(&f->rt, now);
	f->failures++;
	f->state = CS_LINKDOWN;
	due_at(f, now + wait);
	return FSM_ROUND_FAILED;
}

void fsm_established(struct client_fsm *f)
{
	f->state = CS_ESTABLISHED;
}

void fsm_linkup(struct client_fsm *f, uint64_t now)
{
	rt_reset(&f->rt);
	f->recover = 0;
	f->linkup_ms = now;
	f->state = CS_LINKUP;
}

uint64_t fsm_linkup_failed(struct client_fsm *f, uint64_t now)
{
	uint64_t wait;

	rt_reset(&f->rt);
	f->recover = 0;
	wait = rt_failure(&f->rt, now);
	f->state = CS_LINKDOWN;
	due_at(f, now + wait);
	return wait;
}

uint64_t fsm_link_lost(struct client_fsm *f, int broken, uint64_t now)
{
	uint64_t wait = 0;

	f->link_losses++;
	f->quick_losses = now - f->linkup_ms < FSM_QUICK_LOSS_MS ? f->quick_losses + 1 : 0;
	f->state = CS_LINKDOWN;
	/* A link that was up is re-established at once (3.1.5.4).  But a
	 * server that broke the stream, or links that keep dying as soon as
	 * they are up, count as failures: the reconnect timer applies, never a
	 * busy loop of reconnections. */
	if (broken || f->quick_losses >= 2) {
		wait = rt_failure(&f->rt, now);
		f->failures++;
		f->recover = 0;
	} else {
		f->recover = FSM_RECOVER_TRIES;
	}
	due_at(f, now + wait);
	return wait;
}

void fsm_disable(struct client_fsm *f)
{
	f->round++;     /* attempts in flight are dropped when they report */
	f->next_ms = 0;
	f->state = CS_DISABLED;
}

void fsm_enable(struct client_fsm *f, uint64_t now)
{
	if (f->state != CS_DISABLED)
		return;
	rt_reset(&f->rt);
	f->state = CS_ENABLED;
	due_at(f, now);
}

void fsm_reconnect_now(struct client_fsm *f, uint64_t now)
{
	rt_reset(&f->rt);
	if (f->state != CS_DISABLED && f->state != CS_LINKUP)
		due_at(f, now);
}

void fsm_link_dropped(struct client_fsm *f, uint64_t now)
{
	f->state = CS_LINKDOWN;
	rt_reset(&f->rt);
	due_at(f, now);
}
