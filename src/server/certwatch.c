/* Certificate expiry watch: see certwatch.h. */
#include "server/certwatch.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/types.h"

static void add(struct certwatch *cw, const char *what, const char *file, const char *subject,
		time_t expires)
{
	struct cert_watched *w;

	if (cw->n >= CERTWATCH_MAX || !expires)
		return;
	w = &cw->w[cw->n++];
	w->what = what;
	snprintf(w->file, sizeof(w->file), "%s", file);
	snprintf(w->subject, sizeof(w->subject), "%s", subject);
	w->expires = expires;
}

/* Log a warning for each entry within CERT_WARN_DAYS; count them. */
static void warn(struct certwatch *cw)
{
	time_t now = time(NULL);
	char date[16];

	cw->n_warnings = 0;
	for (unsigned i = 0; i < cw->n; i++) {
		struct cert_watched *w = &cw->w[i];
		long days = cert_days_left(w->expires, now);
		if (days >= CERT_WARN_DAYS)
			continue;
		cw->n_warnings++;
		cert_date(w->expires, date, sizeof(date));
		if (!strcmp(w->what, "crl"))
			log_warnx("the CRL %s is to be renewed by %s (in %ld days): after that every "
				  "client is refused", w->file, date, days);
		else
			log_warnx("the %s certificate %s (%s) expires in %ld days, on %s%s", w->what,
				  w->subject, w->file, days, date,
				  !strcmp(w->what, "server") ? ": renew it (iphttps renew-server-cert for "
				  "the generated one) and reload" : "");
	}
}

void certwatch_update(struct server *s)
{
	struct certwatch *cw = &s->certwatch;
	struct cert_facts f;
	char err[ERRLEN];

	memset(cw, 0, sizeof(*cw));
	if (s->cfg->transport != TRANSPORT_HTTP && s->cfg->cert &&
	    certcheck_bundle(s->cfg->cert, &f, err) == 0)
		add(cw, "server", s->cfg->cert, f.subject, f.not_after);
	if (s->cfg->auth == AUTH_CERTIFICATES && s->cfg->client_ca &&
	    certcheck_bundle(s->cfg->client_ca, &f, err) == 0)
		add(cw, "client-ca", s->cfg->client_ca, f.subject, f.not_after);
	if (s->crls && s->crl_facts.next_update)
		add(cw, "crl", s->cfg->crl, "", s->crl_facts.next_update);
	warn(cw);
	cw->next_ms = ev_now_ms() + CERTWATCH_PERIOD_MS;
}

void certwatch_tick(struct server *s, uint64_t now_ms)
{
	if (now_ms < s->certwatch.next_ms)
		return;
	s->certwatch.next_ms = now_ms + CERTWATCH_PERIOD_MS;
	warn(&s->certwatch);
}
