/* The server's CRL: see crl.h. */
#include "server/crl.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/conn.h"
#include "server/ident.h"
#include "tls/certcheck.h"

static const char *client_ca(const struct server *s)
{
	return s->cfg->auth == AUTH_CERTIFICATES ? s->cfg->client_ca : NULL;
}

int crl_load(struct server *s, char *err)
{
	if (!s->cfg->crl || s->cfg->auth != AUTH_CERTIFICATES)
		return 0;
	if (certcheck_crl(s->cfg->crl, client_ca(s), &s->crls, &s->crl_facts, err) < 0)
		return -1;
	s->crl_read = time(NULL);
	log_info("CRL %s: %zu revoked certificate%s", s->cfg->crl, s->crl_facts.n_revoked,
		 s->crl_facts.n_revoked == 1 ? "" : "s");
	return 0;
}

int crl_reload(struct server *s)
{
	STACK_OF(X509_CRL) *crls = NULL;
	struct crl_facts f;
	char err[ERRLEN], when[32];
	struct tm tm;

	if (!s->cfg->crl || s->cfg->auth != AUTH_CERTIFICATES) {
		crl_free(s);
		return 0;
	}
	if (certcheck_crl(s->cfg->crl, client_ca(s), &crls, &f, err) < 0) {
		if (!s->crls) {
			log_errx("reload: --crl: %s; no CRL was in use, none is", err);
			return 0;
		}
		localtime_r(&s->crl_read, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		log_errx("reload: --crl: %s; keeping the CRL read at %s (%zu revoked)", err, when,
			 s->crl_facts.n_revoked);
		return 0;
	}
	crl_free(s);
	s->crls = crls;
	s->crl_facts = f;
	s->crl_read = time(NULL);
	log_info("reload: CRL %s read again: %zu revoked certificate%s", s->cfg->crl, f.n_revoked,
		 f.n_revoked == 1 ? "" : "s");
	return 1;
}

void crl_disconnect_revoked(struct server *s)
{
	struct conn *c, *next;

	for (c = s->conns; c && s->crls; c = next) {
		next = c->next;
		if (!ident_revoked(c, s->crls))
			continue;
		s->st.revoked_at_reload++;
		log_notice("client #%llu %s %s: its certificate (serial %s) is revoked by the CRL read "
			   "at reload", (unsigned long long)c->id, c->peer_str, ident_subject(c),
			   c->ident ? c->ident->serial : "?");
		conn_close(c, "certificate revoked");
	}
}

void crl_free(struct server *s)
{
	if (s->crls)
		sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
	s->crls = NULL;
	memset(&s->crl_facts, 0, sizeof(s->crl_facts));
}
