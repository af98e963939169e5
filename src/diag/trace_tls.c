/* The capture analysis, TLS part: each event of the TLS parser becomes
 * facts and a step.  See trace_int.h. */
#include "diag/trace_int.h"

#include <stdio.h>
#include <string.h>

/* Takes a ClientHello; writes the step text. */
static void ch_step(struct trace_state *st, int dir, const struct tlsp_client_hello *ch)
{
	char ver[16], list[96] = "", name[64];
	size_t nnull = 0;

	for (size_t i = 0; i < ch->n_stored; i++)
		nnull += tlsp_suite_is_null(ch->suites[i]);
	if (ch->n_suites <= 2) {
		for (size_t i = 0; i < ch->n_stored && i < 2; i++) {
			size_t used = strlen(list);

			snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : " (",
				 tlsp_suite_str(ch->suites[i], name, sizeof(name)));
		}
		strncat(list, ")", sizeof(list) - strlen(list) - 1);
	} else {
		snprintf(list, sizeof(list), nnull ? " (%zu null)" : " (no null suite)", nnull);
	}
	step_add(st, dir, "ClientHello %s, %zu suite%s%s%s%s", tlsp_version_str(ch->max_version, ver, sizeof(ver)),
		 ch->n_suites, ch->n_suites == 1 ? "" : "s", list,
		 ch->has_sni ? ", SNI " : "", ch->has_sni ? ch->sni : "");
}

/* Takes a Certificate message of dir; records it and writes the step. */
static void cert_msg(struct trace_state *st, int dir, const struct tlsp_certificate *cert)
{
	struct diag_facts *f = st->tc->f;
	const struct tlsp_cert_info *c = cert->n_stored ? &cert->certs[0] : NULL;
	char d[16] = "?";
	struct tm tm;

	if (dir == CAP_C2S) {
		f->client_cert = cert->n_certs > 0;
		if (c && c->subject[0]) {
			f->client_leaf = *c;
			f->client_leaf_ok = 1;
		}
	} else {
		f->saw_server_cert = 1;
		f->n_server_certs = cert->n_certs;
		if (c && c->subject[0]) {
			f->leaf = *c;
			f->leaf_ok = 1;
		}
	}
	if (!c) {
		step_add(st, dir, "Certificate (empty)");
		return;
	}
	if (c->not_after && gmtime_r(&c->not_after, &tm))
		strftime(d, sizeof(d), "%Y-%m-%d", &tm);
	step_add(st, dir, "Certificate: %s, issuer %s, until %s, %s %d%s%s",
		 c->subject[0] ? c->subject : "(undecodable)", c->self_signed ? "itself" : c->issuer, d,
		 c->key_type[0] ? c->key_type : "?", c->key_bits,
		 cert->n_certs > 1 ? " +chain" : "", c->self_signed ? " (self-signed)" : "");
}

/* Takes a parsed handshake message event; records it. */
static void hs_parsed(struct trace_state *st, const struct tlsp_event *ev)
{
	struct diag_facts *f = st->tc->f;
	int dir = ev->dir;
	char a[16], b[64];

	switch (ev->hs_type) {
	case TLSP_HS_CLIENT_HELLO:
		if (!f->saw_client_hello) {
			f->saw_client_hello = 1;
			f->ch = *ev->msg.ch;
		}
		ch_step(st, dir, ev->msg.ch);
		return;
	case TLSP_HS_SERVER_HELLO:
		if (ev->msg.sh->hrr) {
			f->hrr = 1;
			step_add(st, dir, "HelloRetryRequest");
			return;
		}
		f->saw_server_hello = 1;
		f->sh = *ev->msg.sh;
		step_add(st, dir, "ServerHello %s, %s", tlsp_version_str(f->sh.version, a, sizeof(a)),
			 tlsp_suite_str(f->sh.suite, b, sizeof(b)));
		return;
	case TLSP_HS_CERTIFICATE:
		cert_msg(st, dir, ev->msg.cert);
		return;
	case TLSP_HS_CERTIFICATE_REQUEST:
		f->saw_cert_request = 1;
		f->cr = *ev->msg.cr;
		if (ev->msg.cr->n_cas == 0)
			step_add(st, dir, "CertificateRequest (any CA)");
		else
			step_add(st, dir, "CertificateRequest (%zu CA%s: %s%s)", ev->msg.cr->n_cas,
				 ev->msg.cr->n_cas == 1 ? "" : "s", ev->msg.cr->cas[0],
				 ev->msg.cr->n_cas > 1 ? ", ..." : "");
		return;
	}
}

/* A handshake message: parsed ones get a step of their own, small ones join
 * the running list. */
static void on_handshake(struct trace_state *st, const struct tlsp_event *ev)
{
	struct diag_facts *f = st->tc->f;
	const char *name = tlsp_hs_name(ev->hs_type);
	int parsed = ev->msg.ch != NULL;
	char buf[64];

	f->last_hs = ev->hs_type;
	f->last_hs_side = ev->dir;
	if (f->ccs[ev->dir] && (ev->hs_type == TLSP_HS_FINISHED || ev->hs_type == TLSP_HS_ENCRYPTED))
		f->finished[ev->dir] = 1;
	if (ev->oversized || ev->parse_failed) {
		step_break(st);
		step_add(st, ev->dir, "%s (%s)", name ? name : "handshake message",
			 ev->oversized ? "too large to parse" : ev->why);
		return;
	}
	if (parsed) {
		step_break(st);
		hs_parsed(st, ev);
		return;
	}
	if (ev->hs_type == TLSP_HS_ENCRYPTED)
		name = "Finished (encrypted)";
	if (!name) {
		snprintf(buf, sizeof(buf), "handshake type %d", ev->hs_type);
		name = buf;
	}
	step_small(st, ev->dir, name);
}

/* An alert: the first (fatal) one of each side is kept for the verdict. */
static void on_alert(struct trace_state *st, const struct tlsp_event *ev)
{
	struct diag_alert *a = &st->tc->f->alert[ev->dir];
	const char *name = tlsp_alert_name(ev->alert_desc);

	step_break(st);
	if (!a->seen || (a->level != 2 && !a->encrypted && ev->alert_level == 2)) {
		a->seen = 1;
		a->encrypted = ev->encrypted;
		a->level = ev->alert_level;
		a->desc = ev->alert_desc;
		a->after_hs = st->tc->f->last_hs;
		a->after_side = st->tc->f->last_hs_side;
	}
	if (ev->encrypted)
		step_add(st, ev->dir, "Alert (encrypted)");
	else
		step_add(st, ev->dir, "Alert %s %s (%u)",
			 ev->alert_level == 2 ? "fatal" : ev->alert_level == 1 ? "warning" : "level-?",
			 name ? name : "unknown", ev->alert_desc);
}

/* Application data of TLS <= 1.2: counted; readable with a null suite. */
static void on_appdata(struct trace_state *st, const struct tlsp_event *ev)
{
	struct diag_facts *f = st->tc->f;
	int dir = ev->dir;

	if (ev->record_start)
		f->appdata_records[dir]++;
	f->appdata_bytes[dir] += ev->len;
	if (ev->data) {
		f->app_readable = 1;
		trace_readable(st, dir, ev->data, ev->len);
		return;
	}
	if (st->appdata_step[dir] < 0) {
		step_break(st);
		st->appdata_step[dir] = step_add(st, dir, "application data");
	}
}

/* A TLS 1.3 encrypted record: the server's flight, the client's Finished (or
 * an alert, by its size), then application data. */
static void on_encrypted(struct trace_state *st, const struct tlsp_event *ev)
{
	struct diag_facts *f = st->tc->f;
	int dir = ev->dir;
	unsigned n = ++st->enc_records[dir];

	if (dir == CAP_C2S && n == 1) {
		st->c_first_enc_len = ev->record_len;
		step_break(st);
		if (ev->record_len <= 24)
			step_add(st, dir, "encrypted record of %zu bytes: the size of an alert", ev->record_len);
		else
			step_add(st, dir, "encrypted handshake (Finished)");
		return;
	}
	if (dir == CAP_S2C && !st->enc_records[CAP_C2S]) {
		f->last_hs = TLSP_HS_ENCRYPTED;
		f->last_hs_side = DIAG_SERVER;
		if (n == 1) {
			step_break(st);
			st->flight_step = step_add(st, dir, "encrypted handshake, 1 record (TLS 1.3 hides the certificate)");
		} else {
			step_set(st, st->flight_step, "encrypted handshake, %u records (TLS 1.3 hides the certificate)", n);
		}
		return;
	}
	if (dir == CAP_S2C && !st->s_enc_after++)
		st->s_first_after_len = ev->record_len;
	f->appdata_records[dir]++;
	f->appdata_bytes[dir] += ev->record_len;
	if (st->appdata_step[dir] < 0) {
		step_break(st);
		st->appdata_step[dir] = step_add(st, dir, "application data");
	}
}

void trace_tls_event(void *arg, const struct tlsp_event *ev)
{
	struct trace_state *st = arg;
	struct diag_facts *f = st->tc->f;

	switch (ev->type) {
	case TLSP_EV_HANDSHAKE:
		on_handshake(st, ev);
		break;
	case TLSP_EV_CCS:
		f->ccs[ev->dir] = 1;
		step_small(st, ev->dir, "ChangeCipherSpec");
		break;
	case TLSP_EV_ALERT:
		on_alert(st, ev);
		break;
	case TLSP_EV_APPDATA:
		on_appdata(st, ev);
		break;
	case TLSP_EV_ENCRYPTED:
		on_encrypted(st, ev);
		break;
	case TLSP_EV_NOT_TLS:
		f->not_tls[ev->dir] = 1;
		quote_bytes(f->not_tls_head[ev->dir], sizeof(f->not_tls_head[0]), ev->data, ev->len);
		step_break(st);
		step_add(st, ev->dir, "not TLS (%s): \"%s\"", ev->why, f->not_tls_head[ev->dir]);
		break;
	case TLSP_EV_ERROR:
		f->tls_error[ev->dir] = 1;
		snprintf(f->tls_error_text[ev->dir], sizeof(f->tls_error_text[0]), "%s", ev->why);
		step_break(st);
		step_add(st, ev->dir, "malformed TLS: %s", ev->why);
		break;
	}
}
