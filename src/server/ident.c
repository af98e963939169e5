/* Who a client is: see ident.h. */
#include "server/ident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "tls/certcheck.h"

/* Where the DER of the issuer's name and of the serial sit. */
static uint8_t *ident_der(const struct conn_ident *id)
{
	return (uint8_t *)id->subject + strlen(id->subject) + 1;
}

void ident_take(struct conn *c)
{
	X509 *x = c->io.ssl ? SSL_get0_peer_certificate(c->io.ssl) : NULL;
	uint8_t md[EVP_MAX_MD_SIZE], *p;
	unsigned mdlen = 0;
	struct cert_facts f;
	size_t n;
	int il, sl;
	long days;

	if (!x || c->ident)
		return;
	cert_facts_of(x, &f);
	n = strlen(f.subject) + 1;
	il = i2d_X509_NAME(X509_get_issuer_name(x), NULL);
	sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), NULL);
	if (il <= 0 || sl <= 0 || il > UINT16_MAX || sl > UINT16_MAX || !X509_digest(x, EVP_sha256(), md, &mdlen) ||
	    mdlen < 16 || !(c->ident = malloc(sizeof(*c->ident) + n + (size_t)il + (size_t)sl)))
		return;
	c->ident->not_after = f.not_after;
	memcpy(c->ident->key, md, 16);
	c->ident->issuer_len = (uint16_t)il;
	c->ident->serial_len = (uint16_t)sl;
	memcpy(c->ident->serial, f.serial, sizeof(c->ident->serial));
	memcpy(c->ident->subject, f.subject, n);
	p = ident_der(c->ident);
	i2d_X509_NAME(X509_get_issuer_name(x), &p);
	i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &p);
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

int ident_revoked(const struct conn *c, STACK_OF(X509_CRL) *crls)
{
	const uint8_t *der;

	if (!c->ident)
		return 0;
	der = ident_der(c->ident);
	return certcheck_revoked_der(crls, der, c->ident->issuer_len, der + c->ident->issuer_len,
				     c->ident->serial_len);
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
