/* The capture analysis: connections, their steps and facts, verdicts.
 * See trace.h; TLS events are read in trace_tls.c, readable HTTP and IPv6
 * in trace_http.c. */
#include "diag/trace_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared texts ---- */

/* Every text of every connection's steps and verdict, each kept once: a
 * capture of many alike connections (a site's clients failing the same
 * way) costs one copy of each text. */
struct trace_pool {
	char **slot;
	size_t cap, used;
};

static uint64_t text_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

/* The pool's copy of text (text itself is not kept); "" when out of memory. */
static const char *pool_text(struct trace_pool *pl, const char *text)
{
	size_t i;

	if (!pl)
		return "";
	if (pl->used * 2 >= pl->cap) {
		size_t ncap = pl->cap ? pl->cap * 2 : 1024;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return "";
		for (i = 0; i < pl->cap; i++) {
			size_t j;
			if (!pl->slot[i])
				continue;
			for (j = text_hash(pl->slot[i]) & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
				;
			ns[j] = pl->slot[i];
		}
		free(pl->slot);
		pl->slot = ns;
		pl->cap = ncap;
	}
	for (i = text_hash(text) & (pl->cap - 1); pl->slot[i]; i = (i + 1) & (pl->cap - 1))
		if (!strcmp(pl->slot[i], text))
			return pl->slot[i];
	if (!(pl->slot[i] = strdup(text)))
		return "";
	pl->used++;
	return pl->slot[i];
}

static void pool_free(struct trace_pool *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->cap; i++)
		free(pl->slot[i]);
	free(pl->slot);
	free(pl);
}

/* Keep v compactly in tc, its texts from the pool. */
static void keep_verdict(struct trace *t, struct trace_conn *tc, const struct diag_verdict *v)
{
	tc->v.result = v->result;
	tc->v.code = v->code;
	tc->v.summary = pool_text(t->pool, v->summary);
	tc->v.cause = pool_text(t->pool, v->cause);
	tc->v.evidence = pool_text(t->pool, v->evidence);
	tc->v.fix = pool_text(t->pool, v->fix);
	tc->v.notes = pool_text(t->pool, v->notes);
}

void trace_verdict_full(const struct trace_conn *tc, struct diag_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->result = tc->v.result;
	out->code = tc->v.code;
	snprintf(out->summary, sizeof(out->summary), "%s", tc->v.summary ? tc->v.summary : "");
	snprintf(out->cause, sizeof(out->cause), "%s", tc->v.cause ? tc->v.cause : "");
	snprintf(out->evidence, sizeof(out->evidence), "%s", tc->v.evidence ? tc->v.evidence : "");
	snprintf(out->fix, sizeof(out->fix), "%s", tc->v.fix ? tc->v.fix : "");
	snprintf(out->notes, sizeof(out->notes), "%s", tc->v.notes ? tc->v.notes : "");
}

/* ---- steps ---- */

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_usec - b->tv_usec) / 1e6;
}

int step_add(struct trace_state *st, int dir, const char *fmt, ...)
{
	struct trace_conn *tc = st->tc;
	struct trace_step *s;
	char text[TRACE_STEP_LEN];
	va_list ap;

	if (tc->n_steps >= TRACE_MAX_STEPS) {
		tc->steps_dropped++;
		return -1;
	}
	if (tc->n_steps == tc->cap_steps) {
		size_t n = tc->cap_steps ? tc->cap_steps * 2 : 8;
		struct trace_step *ns = realloc(tc->steps, n * sizeof(*ns));

		if (!ns) {
			tc->steps_dropped++;
			return -1;
		}
		tc->steps = ns;
		tc->cap_steps = n;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s = &tc->steps[tc->n_steps];
	s->text = strdup(text);
	if (!s->text) {
		tc->steps_dropped++;
		return -1;
	}
	s->t = tv_diff(&st->now, &st->first);
	s->dir = dir;
	return (int)tc->n_steps++;
}

/* Takes a step and new text; replaces the step's text (kept on no memory). */
static void step_replace(struct trace_step *s, const char *text)
{
	char *n = strdup(text);

	if (n) {
		free(s->text);
		s->text = n;
	}
}

void step_set(struct trace_state *st, int idx, const char *fmt, ...)
{
	char text[TRACE_STEP_LEN];
	va_list ap;

	if (idx < 0 || (size_t)idx >= st->tc->n_steps)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	step_replace(&st->tc->steps[idx], text);
}

void step_break(struct trace_state *st)
{
	st->small_step[0] = st->small_step[1] = -1;
}

void step_small(struct trace_state *st, int dir, const char *name)
{
	int idx = st->small_step[dir];

	st->small_step[!dir] = -1;
	if (idx >= 0 && (size_t)idx == st->tc->n_steps - 1) {
		struct trace_step *s = &st->tc->steps[idx];
		char text[TRACE_STEP_LEN];

		if (strlen(s->text) + strlen(name) + 3 < TRACE_STEP_LEN) {
			snprintf(text, sizeof(text), "%s, %s", s->text, name);
			step_replace(s, text);
			return;
		}
	}
	st->small_step[dir] = step_add(st, dir, "%s", name);
}

void quote_bytes(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		uint8_t b = p[i];

		if (b == '\r' || b == '\n') {
			out[o++] = '\\';
			out[o++] = b == '\r' ? 'r' : 'n';
		} else if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
			out[o++] = (char)b;
		} else {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", b);
		}
	}
	out[o] = '\0';
}

/* ---- capture events ---- */

static void on_conn_start(void *arg, struct cap_conn *c)
{
	struct trace *t = arg;
	struct trace_conn *tc;
	struct trace_state *st;

	if (t->n_conns >= TRACE_MAX_CONNS) {
		t->conns_skipped++;
		return;
	}
	tc = calloc(1, sizeof(*tc));
	st = calloc(1, sizeof(*st));
	if (tc)
		tc->f = calloc(1, sizeof(*tc->f));
	if (!tc || !st || !tc->f) {
		if (tc)
			free(tc->f);
		free(tc);
		free(st);
		t->conns_skipped++;
		return;
	}
	tc->id = c->id;
	cap_addr_str(&c->cli, tc->client, sizeof(tc->client));
	cap_addr_str(&c->srv, tc->server, sizeof(tc->server));
	tc->start = c->first;
	diag_facts_init(tc->f);
	tc->st = st;
	st->tc = tc;
	st->first = st->now = c->first;
	st->syn_step = -1;
	st->small_step[0] = st->small_step[1] = -1;
	st->appdata_step[0] = st->appdata_step[1] = -1;
	st->v6_step[0] = st->v6_step[1] = -1;
	st->flight_step = -1;
	tlsp_init(&st->tp, trace_tls_event, st);
	st->tp.cache = t->certs;
	c->user = tc;
	if (t->last)
		t->last->next = tc;
	else
		t->first = tc;
	t->last = tc;
	t->n_conns++;
}

/* The state of a connection still being analysed, or NULL. */
static struct trace_state *state_of(struct cap_conn *c)
{
	struct trace_conn *tc = c->user;

	return tc ? tc->st : NULL;
}

/* Capture handler: SYN, SYN-ACK, FIN and RST become steps. */
static void on_tcp(void *arg, struct cap_conn *c, enum cap_dir dir, enum cap_tcp_event ev,
		   const struct timeval *ts)
{
	struct trace_state *st = state_of(c);

	if (!st)
		return;
	st->now = *ts;
	step_break(st);
	switch (ev) {
	case CAP_EV_SYN:
		if (st->syn_step < 0)
			st->syn_step = step_add(st, dir, "SYN");
		else if (c->side[CAP_C2S].syns > 1)
			step_set(st, st->syn_step, "SYN (%u times over %.1f s)", c->side[CAP_C2S].syns,
				 tv_diff(&c->side[CAP_C2S].last_syn, &c->side[CAP_C2S].first_syn));
		break;
	case CAP_EV_SYNACK:
		if (c->side[CAP_S2C].syns == 1)
			step_add(st, dir, "SYN-ACK");
		break;
	case CAP_EV_FIN:
		step_add(st, dir, "FIN");
		break;
	case CAP_EV_RST:
		step_add(st, dir, "RST");
		break;
	}
}

/* Takes the first bytes the client sent; returns 1 when they start an HTTP
 * request (IP-HTTPS over plain HTTP, behind a TLS-terminating device). */
static int looks_like_http(const uint8_t *p, size_t len)
{
	static const char *const methods[] = { "POST ", "GET ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT " };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		if (len >= n && memcmp(p, methods[i], n) == 0)
			return 1;
	}
	return 0;
}

/* Capture handler: in-order bytes go to the TLS parser, or straight to the
 * HTTP reader when the client speaks plain HTTP. */
static void on_data(void *arg, struct cap_conn *c, enum cap_dir dir, const uint8_t *p,
		    size_t len, const struct timeval *ts)
{
	struct trace_state *st = state_of(c);

	if (!st)
		return;
	st->now = *ts;
	if (dir == CAP_C2S && !st->client_data_seen) {
		st->client_data_seen = 1;
		if (looks_like_http(p, len)) {
			st->tc->f->plain_http = 1;
			st->tc->f->app_readable = 1;
			step_add(st, dir, "plain HTTP (no TLS)");
		}
	}
	if (st->tc->f->plain_http)
		trace_readable(st, dir, p, len);
	else
		tlsp_feed(&st->tp, (enum tlsp_dir)dir, p, len);
}

/* Capture handler: bytes the capture lacks end the parsing of that direction. */
static void on_gap(void *arg, struct cap_conn *c, enum cap_dir dir, uint64_t missing,
		   const struct timeval *ts)
{
	struct trace_state *st = state_of(c);

	if (!st)
		return;
	st->now = *ts;
	step_break(st);
	step_add(st, dir, "the capture lacks %llu bytes here", (unsigned long long)missing);
	tlsp_gap(&st->tp, (enum tlsp_dir)dir);
	trace_readable_gap(st, dir);
}

/* Takes a finished connection; copies the TCP facts. */
static void tcp_facts(struct diag_facts *f, const struct cap_conn *c)
{
	const struct timeval *close_ts[2] = { NULL, NULL };

	f->saw_syn = c->saw_syn;
	f->saw_synack = c->saw_synack;
	f->midstream = !c->saw_syn;
	f->syns = c->side[CAP_C2S].syns;
	f->syn_span = tv_diff(&c->side[CAP_C2S].last_syn, &c->side[CAP_C2S].first_syn);
	f->rst_to_syn = c->rst_to_syn;
	f->when = c->first.tv_sec;
	f->duration = tv_diff(&c->last, &c->first);
	for (int d = 0; d < 2; d++) {
		const struct cap_side *s = &c->side[d];

		f->rst[d] = s->rst;
		f->fin[d] = s->fin;
		f->bytes[d] = s->bytes;
		f->gap_bytes[d] = s->gap_bytes;
		if (s->rst && (!s->fin || timercmp(&s->rst_ts, &s->fin_ts, <)))
			close_ts[d] = &s->rst_ts;
		else if (s->fin)
			close_ts[d] = &s->fin_ts;
	}
	if (close_ts[0] && (!close_ts[1] || timercmp(close_ts[0], close_ts[1], <)))
		f->first_close = DIAG_CLIENT;
	else if (close_ts[1])
		f->first_close = DIAG_SERVER;
	if (f->first_close != DIAG_NONE) {
		const struct cap_side *s = &c->side[f->first_close];

		f->first_close_rst = s->rst && close_ts[f->first_close] == &s->rst_ts;
	}
}

/* Takes a finished connection's analysis; derives the TLS facts that need
 * the whole connection (TLS 1.3 records, handshake completion). */
static void tls_facts(struct trace_state *st)
{
	struct diag_facts *f = st->tc->f;

	if (f->plain_http)
		return;
	if (st->tp.tls13) {
		if (st->enc_records[0] && st->c_first_enc_len > 24)
			f->handshake_done = 1;
		if (st->enc_records[0] && st->c_first_enc_len <= 24 && !f->alert[0].seen) {
			f->alert[0].seen = f->alert[0].encrypted = f->alert[0].guessed = 1;
			f->alert[0].after_hs = TLSP_HS_ENCRYPTED;
			f->alert[0].after_side = DIAG_SERVER;
		}
		if (f->handshake_done && st->s_enc_after == 1 && st->s_first_after_len <= 24 &&
		    !f->alert[1].seen) {
			f->alert[1].seen = f->alert[1].encrypted = f->alert[1].guessed = 1;
			f->alert[1].after_hs = TLSP_HS_ENCRYPTED;
			f->alert[1].after_side = DIAG_CLIENT;
			f->appdata_records[1] = 0;
			f->appdata_bytes[1] = 0;
		}
	} else if (f->ccs[0] && f->ccs[1] && f->finished[0] && f->finished[1]) {
		f->handshake_done = 1;
	}
}

/* Capture handler: the connection is complete; finish its facts and steps,
 * decide its verdict and free the analysis state. */
static void on_conn_end(void *arg, struct cap_conn *c)
{
	struct trace *t = arg;
	struct trace_state *st = state_of(c);
	struct trace_conn *tc = c->user;

	if (!st)
		return;
	st->now = c->last;
	tc->open_at_end = !c->closed;
	tcp_facts(tc->f, c);
	tls_facts(st);
	for (int d = 0; d < 2; d++) {
		if (st->appdata_step[d] >= 0)
			step_set(st, st->appdata_step[d], "application data: %llu record%s, %llu bytes",
				 (unsigned long long)tc->f->appdata_records[d],
				 tc->f->appdata_records[d] == 1 ? "" : "s",
				 (unsigned long long)tc->f->appdata_bytes[d]);
	}
	trace_readable_end(st);
	tlsp_free(&st->tp);
	if (tc->n_steps && tc->n_steps < tc->cap_steps) {      /* keep only what is used */
		struct trace_step *s = realloc(tc->steps, tc->n_steps * sizeof(*s));

		if (s) {
			tc->steps = s;
			tc->cap_steps = tc->n_steps;
		}
	}
	snprintf(tc->f->client, sizeof(tc->f->client), "%s", tc->client);
	snprintf(tc->f->server, sizeof(tc->f->server), "%s", tc->server);
	tc->duration = tc->f->duration;
	{
		struct diag_verdict v;
		diag_decide(tc->f, &v);
		keep_verdict(t, tc, &v);
	}
	for (size_t i = 0; i < tc->n_steps; i++) {      /* the steps' texts, shared */
		const char *shared = pool_text(t->pool, tc->steps[i].text);
		free(tc->steps[i].text);
		tc->steps[i].text = (char *)shared;
	}
	if (!t->keep_facts) {
		free(tc->f);
		tc->f = NULL;
	}
	if (tc->v.result == DIAG_OK)
		t->n_ok++;
	else if (tc->v.result == DIAG_FAIL)
		t->n_fail++;
	else
		t->n_unknown++;
	free(st);
	tc->st = NULL;
}

/* ---- the public interface ---- */

/* Takes an open capture; runs the analysis into t and closes the capture. */
static int run(struct capture *cap, struct trace *t)
{
	static const struct cap_handler h = {
		.conn_start = on_conn_start, .tcp = on_tcp, .data = on_data,
		.gap = on_gap, .conn_end = on_conn_end,
	};

	t->certs = calloc(1, sizeof(*t->certs));       /* NULL: no cache, slower */
	t->pool = calloc(1, sizeof(*t->pool));         /* NULL: texts given as "" */
	capture_forget_ended(cap);
	t->truncated = capture_run(cap, &h, t);
	if (t->certs) {
		tlsp_cert_cache_free(t->certs);
		free(t->certs);
		t->certs = NULL;
	}
	t->stats = *capture_stats(cap);
	snprintf(t->error, sizeof(t->error), "%s", t->stats.error);
	capture_close(cap);
	for (struct trace_conn *tc = t->first; tc && t->truncated; tc = tc->next) {
		char notes[DIAG_TEXT];

		if (!tc->open_at_end)
			continue;
		if (tc->f)
			tc->f->truncated_file = 1;
		snprintf(notes, sizeof(notes), "%sThe capture file is truncated: this connection may go on beyond it. ",
			 tc->v.notes ? tc->v.notes : "");
		tc->v.notes = pool_text(t->pool, notes);
	}
	return 0;
}

int trace_file(const char *path, uint16_t port, int flags, struct trace *t, char *err)
{
	struct capture *cap;

	memset(t, 0, sizeof(*t));
	t->keep_facts = !!(flags & TRACE_KEEP_FACTS);
	cap = capture_open(path, port, err);
	if (!cap)
		return -1;
	return run(cap, t);
}

int trace_fp(FILE *fp, uint16_t port, int flags, struct trace *t, char *err)
{
	struct capture *cap;

	memset(t, 0, sizeof(*t));
	t->keep_facts = !!(flags & TRACE_KEEP_FACTS);
	cap = capture_fopen(fp, port, err);
	if (!cap)
		return -1;
	return run(cap, t);
}

void trace_free(struct trace *t)
{
	struct trace_conn *tc, *nx;

	for (tc = t->first; tc; tc = nx) {
		nx = tc->next;
		if (tc->st)     /* never ended: its texts are its own */
			for (size_t i = 0; i < tc->n_steps; i++)
				free(tc->steps[i].text);
		free(tc->steps);
		free(tc->f);
		free(tc);
	}
	pool_free(t->pool);
	memset(t, 0, sizeof(*t));
}
