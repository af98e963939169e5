/* One attempt at one entry point, as Windows' client makes it: see
 * attempt.h. */
#include "client/attempt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "errors.h"

/* What follows a failed try. */
enum next_try {
	STOP,           /* the attempt failed: the reconnect timer applies */
	AGAIN,          /* at once, from the first certificate (IpTlsRestartClient(1)) */
	DROP,           /* at once, without the certificate, from the first one left */
	NEXT,           /* at once, with the next certificate (IpTlsRestartClient(0)) */
};

void attempt_seq_init(struct attempt_seq *s, const struct client_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->null_next = cfg->null_enc != 0;   /* IpTlsStartClient: null cipher first */
	s->cert = -1;
}

/* The certificate after `after` (-1: the first) that is still in the
 * list, or -1. */
static int next_cert(const int *alive, size_t n, int after)
{
	for (size_t i = (size_t)(after + 1); i < n; i++)
		if (alive[i])
			return (int)i;
	return -1;
}

/* Windows' rules for a failed try (attempt.h).  with_cert: the try had a
 * certificate.  Flips seq->null_next as Windows flips its flag. */
static enum next_try decide(const struct client_cfg *cfg, struct attempt_seq *seq,
			    const struct connect_result *r, int with_cert)
{
	uint32_t c = r->code;
	int was_null;

	if (r->receiving) {     /* WebReceiveResponseCompletion */
		return c == IPH_E_HTTP(403) && with_cert ? NEXT : STOP;
	}
	/* WebSendRequestCompletion: the certificate first, then the suites */
	if (with_cert && r->cred_fault && (c == IPH_E_UNKNOWN_CREDENTIALS ||
					   c == IPH_E_NO_CREDENTIALS || c == IPH_E_WRONG_USAGE))
		return DROP;
	if (!cfg->null_enc ||
	    (c != IPH_E_ALGORITHM_MISMATCH && c != IPH_E_CONNECTION_REFUSED && c != IPH_E_CONNRESET))
		return STOP;
	was_null = seq->null_next;
	seq->null_next = !was_null;
	return was_null ? AGAIN : STOP;
}

/* Appends printf-style words to seq->retries (cut when full). */
static void __attribute__((format(printf, 2, 3))) note(struct attempt_seq *seq, const char *fmt, ...)
{
	size_t used = strlen(seq->retries);
	va_list ap;

	if (used + 1 >= sizeof(seq->retries))
		return;
	va_start(ap, fmt);
	vsnprintf(seq->retries + used, sizeof(seq->retries) - used, fmt, ap);
	va_end(ap);
}

/* Says what the failed try was and what comes next, in the log and in
 * seq->retries. */
static void tell(const struct iph_url *u, const struct client_cfg *cfg, struct attempt_seq *seq,
		 const struct connect_result *r, int null_only, enum next_try next)
{
	const char *what = next == AGAIN ? "again at once with the encrypted suites" :
			   next == DROP ? "at once without this certificate" :
			   "at once with the next certificate";
	const char *cert = seq->cert >= 0 ? cfg->creds[seq->cert].label : NULL;

	log_info("%s: try %u (%s%s%s) failed: 0x%x %s: %s; trying %s, as Windows does", u->text,
		 seq->tries, null_only ? "only the null suites" : "encrypted suites",
		 cert ? ", certificate " : "", cert ? cert : "", r->code, iph_error_symbol(r->code),
		 r->why, what);
	note(seq, "%stry %u (%s%s%s): 0x%x %s, then %s", seq->retries[0] ? "; " : "", seq->tries,
	     null_only ? "null suites only" : "encrypted suites", cert ? ", " : "", cert ? cert : "",
	     r->code, iph_error_symbol(r->code), what);
}

/* The attempt ended because no certificate is left after 403s: 0x103, as
 * IpTlsRestartClient sets it. */
static void none_left(const struct client_cfg *cfg, struct connect_result *r)
{
	char then[sizeof(r->why)];

	snprintf(then, sizeof(then), "%s", r->why);
	r->code = IPH_E_NO_MORE_ITEMS;
	r->step = "http";
	snprintf(r->why, sizeof(r->why), "no client certificate left to try: the server refused each of the %zu (the last: %s)",
		 cfg->n_creds, then);
}

int attempt_run(const struct client_cfg *cfg, const struct iph_url *u,
		const struct connect_opts *base, struct attempt_seq *seq, struct link_conn *lc,
		struct connect_result *res)
{
	struct connect_opts o = *base;
	int alive[CLIENT_MAX_CERTS];
	int budget = 2 * (int)cfg->n_creds + 3;
	size_t n = cfg->n_creds;

	for (size_t i = 0; i < n; i++)
		alive[i] = 1;
	seq->tries = 0;
	seq->retries[0] = '\0';
	seq->cert = next_cert(alive, n, -1);
	for (;;) {
		int null_only = cfg->null_enc && seq->null_next && o.ssl_ctx;
		enum next_try next;

		o.cred = seq->cert >= 0 ? &cfg->creds[seq->cert] : NULL;
		o.null_only = null_only;
		seq->tries++;
		if (iph_connect(u, &o, lc, res) == 0)
			return 0;
		next = decide(cfg, seq, res, seq->cert >= 0);
		if (next == STOP)
			return -1;
		if (--budget <= 0) {
			note(seq, "%sno more tries at once (%u made): the reconnect timer applies",
			     seq->retries[0] ? "; " : "", seq->tries);
			return -1;
		}
		tell(u, cfg, seq, res, null_only, next);
		if (next == DROP)
			alive[seq->cert] = 0;
		seq->cert = next_cert(alive, n, next == NEXT ? seq->cert : -1);
		if (next == NEXT && seq->cert < 0) {
			none_left(cfg, res);
			return -1;
		}
	}
}
