/* Who a client is: see ident.h. */
#include "server/ident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "tls/certcheck.h"

void ident_take(struct conn *c)
{
	X509 *x = c->io.ssl ? SSL_get0_peer_certificate(c->io.ssl) : NULL;
	struct cert_facts f;
	size_t n;
	long days;

	if (!x || c->ident)
		return;
	cert_facts_of(x, &f);
	n = strlen(f.subject) + 1;
	if (!(c->ident = malloc(sizeof(*c->ident) + n)))
		return;
	c->ident->not_after = f.not_after;
	memcpy(c->ident->serial, f.serial, sizeof(c->ident->serial));
	memcpy(c->ident->subject, f.subject, n);
	days = cert_days_left(f.not_after, time(NULL));
	if (days < CERT_WARN_DAYS) {
		char date[16];
		cert_date(f.not_after, date, sizeof(date));
		c->srv->st.client_certs_expiring++;
		log_warnx("client #%llu %s: its certificate %s (serial %s) expires in %ld days, on %s",
			  (unsigned long long)c->id, c->peer_str, f.subject, f.serial, days, date);
	}
}

void ident_free(struct conn *c)
{
	free(c->ident);
	c->ident = NULL;
}

const char *ident_subject(const struct conn *c)
{
	return c->ident ? c->ident->subject : "";
}

/* The value of the subject's CN (up to the next unescaped comma). */
static int cn_is(const char *subject, const char *name)
{
	const char *p = subject;
	size_t n = strlen(name);

	for (; (p = strstr(p, "CN=")); p += 3)
		if ((p == subject || p[-1] == ',') && !strncmp(p + 3, name, n) &&
		    (p[3 + n] == 0 || p[3 + n] == ','))
			return 1;
	return 0;
}

int ident_matches(const struct conn *c, const char *target)
{
	char *end;
	unsigned long long id;

	if (*target && strspn(target, "0123456789") == strlen(target)) {
		id = strtoull(target, &end, 10);
		return id == c->id;
	}
	if (!c->ident || !*target)
		return 0;
	return !strcmp(c->ident->subject, target) || cn_is(c->ident->subject, target);
}

void ident_duration(uint64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%llud%02lluh%02llum", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600), (unsigned long long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(out, len, "%lluh%02llum%02llus", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(out, len, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else
		snprintf(out, len, "%llus", (unsigned long long)s);
}
