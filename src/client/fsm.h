/* The client's state machine as pure decisions (MS-IPHTTPS 3.1.1 states,
 * 3.1.5.4 a lost link re-established, 3.1.2.1 the reconnect timer): what
 * state the client is in, when the next round of attempts is due, which
 * attempt's link to use, how long to wait after a failure.  No I/O, no
 * clock of its own (every call takes now, in ms), no logging: client.c runs
 * the attempts, the TUN, the hooks and the logs around it, and
 * tests/unit/test_fsm.c drives it alone.
 *
 * Rounds: every entry point is tried at once; the first attempt of the
 * current round to answer 200 is used, a later one of the same round and
 * any of an older round (a reconnect, a disable meanwhile) are closed.
 *
 * Error convention: none; each function returns what the caller must do. */
#ifndef IPHTTPS_CLIENT_FSM_H
#define IPHTTPS_CLIENT_FSM_H

#include <stdint.h>

#include "client/timer.h"

#define FSM_QUICK_LOSS_MS 5000     /* a link lost sooner was not really up */
#define FSM_RECOVER_TRIES 4        /* quick retries after losing a link: 1, 2, 4, 8 s */

enum client_state { CS_DISABLED = 0, CS_ENABLED, CS_LINKDOWN, CS_ESTABLISHED, CS_LINKUP };

struct client_fsm {
	enum client_state state;
	struct reconnect_timer rt;
	uint64_t next_ms;               /* a round is due then; 0: none scheduled */
	uint64_t round;                 /* the current round */
	unsigned running;               /* attempts launched and not yet reported */
	int round_won;
	unsigned recover;               /* quick retries left after a lost link */
	unsigned quick_losses;          /* links lost within FSM_QUICK_LOSS_MS in a row */
	uint64_t linkup_ms;
	uint64_t attempts, failures, link_losses;
};

/* Enabled, the first round due at once. */
void fsm_init(struct client_fsm *f, uint64_t initial_ms, uint64_t max_ms, uint64_t now);
/* A round is due and none is running. */
int fsm_round_due(const struct client_fsm *f, uint64_t now);
/* A round begins (LinkDown): returns its number, for the attempts to carry. */
uint64_t fsm_round_begin(struct client_fsm *f);
/* started attempts of the round are running; with none (no memory, no
 * thread) the timer applies.  Returns the wait before the next round, 0
 * when attempts run. */
uint64_t fsm_round_started(struct client_fsm *f, unsigned started, uint64_t now);

enum fsm_verdict {
	FSM_USE,            /* bring this attempt's link up: Established, then LinkUp */
	FSM_CLOSE,          /* a 200 nobody waits for any more: close it */
	FSM_ROUND_FAILED,   /* the round's last attempt failed: LinkDown, next round at next_ms */
	FSM_WAIT,           /* others of the round are still running */
};
/* An attempt of round `round` reported; ok: it answered 200. */
enum fsm_verdict fsm_attempt_done(struct client_fsm *f, uint64_t round, int ok, uint64_t now);
/* FSM_USE taken: Established. */
void fsm_established(struct client_fsm *f);
/* The link is up: LinkUp, the timer reset. */
void fsm_linkup(struct client_fsm *f, uint64_t now);
/* The link could not be brought up after all (a local failure): LinkDown,
 * the timer applies.  Returns the wait. */
uint64_t fsm_linkup_failed(struct client_fsm *f, uint64_t now);
/* The link that was up is lost; broken: the server broke the stream or a
 * local failure (these count as failures).  LinkDown; returns the wait
 * before the next round: 0 (re-established at once, then a few quick
 * retries) unless broken or lost too soon twice in a row. */
uint64_t fsm_link_lost(struct client_fsm *f, int broken, uint64_t now);
/* Disabled: attempts in flight are dropped when they report. */
void fsm_disable(struct client_fsm *f);
/* Enabled again (from Disabled only): a round at once, the timer reset. */
void fsm_enable(struct client_fsm *f, uint64_t now);
/* `reconnect`: the timer reset, a round at once unless up or disabled. */
void fsm_reconnect_now(struct client_fsm *f, uint64_t now);
/* The entry point in use is gone (a reload): LinkDown, a round at once. */
void fsm_link_dropped(struct client_fsm *f, uint64_t now);

#endif
