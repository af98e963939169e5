/* The TLS stream parser: records, handshake reassembly and the events the
 * troubleshooter reads.  See tlsparse.h. */
#include "diag/tlsparse.h"

#include <stdlib.h>
#include <string.h>

/* Takes a parser and an event; hands it to the callback. */
static void emit(struct tlsp_parser *p, const struct tlsp_event *ev)
{
	if (p->cb)
		p->cb(p->arg, ev);
}

/* Takes an event to fill; clears it and sets type and direction. */
static void ev_init(struct tlsp_event *ev, enum tlsp_ev_type type, enum tlsp_dir dir)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->dir = dir;
}

/* Takes a direction; frees its reassembly buffer. */
static void hs_release(struct tlsp_dir_state *d)
{
	free(d->hs);
	d->hs = NULL;
	d->hs_len = d->hs_cap = 0;
}

/* Takes a parser, a direction and a reason (static); reports the direction
 * as no longer parseable.  head/headlen quote the first bytes for NOT_TLS.
 * Returns -1. */
static int dir_stop(struct tlsp_parser *p, enum tlsp_dir dir, enum tlsp_ev_type type,
		    const char *why, const uint8_t *head, size_t headlen)
{
	struct tlsp_event ev;

	ev_init(&ev, type, dir);
	ev.why = why;
	ev.data = head;
	ev.len = headlen;
	p->d[dir].dead = 1;
	hs_release(&p->d[dir]);
	emit(p, &ev);
	return -1;
}

void tlsp_init(struct tlsp_parser *p, tlsp_event_cb cb, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
}

void tlsp_free(struct tlsp_parser *p)
{
	hs_release(&p->d[0]);
	hs_release(&p->d[1]);
}

void tlsp_gap(struct tlsp_parser *p, enum tlsp_dir dir)
{
	p->d[dir].dead = 1;
	hs_release(&p->d[dir]);
}

/* Takes the ServerHello; records the negotiated version and suite. */
static void note_server_hello(struct tlsp_parser *p, const struct tlsp_server_hello *sh)
{
	if (sh->hrr)
		return;         /* the real ServerHello follows a second ClientHello */
	p->have_server_hello = 1;
	p->version = sh->version;
	p->suite = sh->suite;
	p->tls13 = sh->version == TLSP_V_TLS13;
	p->null_suite = !p->tls13 && tlsp_suite_is_null(sh->suite);
	p->mac_len = p->null_suite ? tlsp_suite_null_mac_len(sh->suite) : 0;
}

/* Takes one complete plaintext handshake message; parses the ones the
 * troubleshooter reads and reports it. */
static void hs_message(struct tlsp_parser *p, enum tlsp_dir dir, uint8_t type,
		       const uint8_t *body, size_t len)
{
	struct tlsp_event ev;
	struct tlsp_client_hello ch;
	struct tlsp_server_hello sh;
	struct tlsp_cert_request cr;
	struct tlsp_certificate *cert = NULL;
	const char *why = NULL;
	int rc = 0;

	ev_init(&ev, TLSP_EV_HANDSHAKE, dir);
	ev.hs_type = type;
	ev.hs_len = len;
	switch (type) {
	case TLSP_HS_CLIENT_HELLO:
		if ((rc = tlsp_parse_client_hello(body, len, &ch, &why)) == 0)
			ev.msg.ch = &ch;
		break;
	case TLSP_HS_SERVER_HELLO:
		if ((rc = tlsp_parse_server_hello(body, len, &sh, &why)) == 0) {
			ev.msg.sh = &sh;
			note_server_hello(p, &sh);
		}
		break;
	case TLSP_HS_CERTIFICATE:
		cert = malloc(sizeof(*cert));
		if (!cert)
			break;
		if ((rc = tlsp_parse_certificate(body, len, p->tls13, p->cache, cert, &why)) == 0)
			ev.msg.cert = cert;
		break;
	case TLSP_HS_CERTIFICATE_REQUEST:
		if ((rc = tlsp_parse_cert_request(body, len, p->version, &cr, &why)) == 0)
			ev.msg.cr = &cr;
		break;
	}
	if (rc < 0) {
		ev.parse_failed = 1;
		ev.why = why;
	}
	emit(p, &ev);
	free(cert);
}

/* Takes n bytes; makes room for them in the reassembly buffer.  Returns 0 or -1. */
static int hs_reserve(struct tlsp_dir_state *d, size_t need)
{
	uint8_t *nb;
	size_t cap;

	if (need <= d->hs_cap)
		return 0;
	cap = d->hs_cap ? d->hs_cap : 512;
	while (cap < need)
		cap *= 2;
	nb = realloc(d->hs, cap);
	if (!nb)
		return -1;
	d->hs = nb;
	d->hs_cap = cap;
	return 0;
}

/* Takes handshake bytes of one direction; reassembles messages across
 * records and hands each complete one on.  Returns 0 or -1 (stopped). */
static int hs_append(struct tlsp_parser *p, enum tlsp_dir dir, const uint8_t *data, size_t n)
{
	struct tlsp_dir_state *d = &p->d[dir];

	while (n > 0) {
		size_t need, take, msglen;

		if (d->hs_skip) {
			take = n < d->hs_skip ? n : d->hs_skip;
			d->hs_skip -= take;
			data += take;
			n -= take;
			continue;
		}
		need = 4;
		if (d->hs_len >= 4) {
			msglen = (size_t)d->hs[1] << 16 | (size_t)d->hs[2] << 8 | d->hs[3];
			need = 4 + (msglen > TLSP_HS_MAX ? 0 : msglen);
		}
		/* Room for what has arrived, not for what the header claims. */
		if (hs_reserve(d, need - d->hs_len < n ? need : d->hs_len + n) < 0)
			return dir_stop(p, dir, TLSP_EV_ERROR, "out of memory", NULL, 0);
		take = need - d->hs_len;
		if (take > n)
			take = n;
		memcpy(d->hs + d->hs_len, data, take);
		d->hs_len += take;
		data += take;
		n -= take;
		if (d->hs_len < 4)
			continue;
		msglen = (size_t)d->hs[1] << 16 | (size_t)d->hs[2] << 8 | d->hs[3];
		if (msglen > TLSP_HS_MAX) {
			struct tlsp_event ev;

			ev_init(&ev, TLSP_EV_HANDSHAKE, dir);
			ev.hs_type = d->hs[0];
			ev.hs_len = msglen;
			ev.oversized = 1;
			emit(p, &ev);
			d->hs_skip = msglen;
			d->hs_len = 0;
			continue;
		}
		if (d->hs_len == 4 + msglen) {
			hs_message(p, dir, d->hs[0], d->hs + 4, msglen);
			d->hs_len = 0;
		}
	}
	if (d->hs_len == 0)
		hs_release(d);  /* idle connections keep no buffer */
	return 0;
}

/* Takes alert bytes; reports each complete 2-byte alert. */
static void alert_bytes(struct tlsp_parser *p, enum tlsp_dir dir, const uint8_t *data, size_t n)
{
	struct tlsp_dir_state *d = &p->d[dir];

	for (size_t i = 0; i < n; i++) {
		d->alert[d->alert_have++] = data[i];
		if (d->alert_have == 2) {
			struct tlsp_event ev;

			ev_init(&ev, TLSP_EV_ALERT, dir);
			ev.alert_level = d->alert[0];
			ev.alert_desc = d->alert[1];
			ev.record_len = d->rec_len;
			d->alert_have = 0;
			emit(p, &ev);
		}
	}
}

/* Takes plaintext content bytes of the current record; dispatches them by
 * content type.  Returns 0 or -1 (stopped). */
static int rec_body(struct tlsp_parser *p, enum tlsp_dir dir, const uint8_t *data, size_t n)
{
	struct tlsp_dir_state *d = &p->d[dir];
	struct tlsp_event ev;

	if (d->rec_hidden)
		return 0;
	switch (d->ctype) {
	case TLSP_CT_HANDSHAKE:
		return hs_append(p, dir, data, n);
	case TLSP_CT_ALERT:
		alert_bytes(p, dir, data, n);
		return 0;
	case TLSP_CT_APPDATA:
		ev_init(&ev, TLSP_EV_APPDATA, dir);
		ev.data = data;
		ev.len = n;
		ev.record_len = d->rec_len;
		ev.record_start = d->content_left + d->mac_left == d->rec_len;
		emit(p, &ev);
		return 0;
	default:
		return 0;       /* CCS body, heartbeat */
	}
}

/* Takes a direction whose 5-byte header is complete; sets up the record.
 * Returns 0 or -1 (stopped). */
static int rec_start(struct tlsp_parser *p, enum tlsp_dir dir)
{
	struct tlsp_dir_state *d = &p->d[dir];
	int appdata;

	d->ctype = d->hdr[0];
	d->rec_len = (size_t)d->hdr[3] << 8 | d->hdr[4];
	d->in_record = 1;
	d->records++;
	d->alert_have = 0;
	d->mac_left = 0;
	d->content_left = d->rec_len;
	appdata = d->ctype == TLSP_CT_APPDATA;
	if (p->tls13)
		d->rec_hidden = appdata;
	else if (d->protected && p->null_suite)
		d->rec_hidden = 0;
	else
		d->rec_hidden = d->protected || appdata;
	if (!p->tls13 && d->protected && p->null_suite) {
		if (d->rec_len < p->mac_len)
			return dir_stop(p, dir, TLSP_EV_ERROR, "record shorter than its MAC", NULL, 0);
		d->content_left = d->rec_len - p->mac_len;
		d->mac_left = p->mac_len;
	}
	return 0;
}

/* Takes a direction whose record is complete; reports what a hidden record
 * was and what a ChangeCipherSpec changes. */
static void rec_end(struct tlsp_parser *p, enum tlsp_dir dir)
{
	struct tlsp_dir_state *d = &p->d[dir];
	struct tlsp_event ev;

	d->in_record = 0;
	d->hdr_have = 0;
	if (d->ctype == TLSP_CT_CCS) {
		ev_init(&ev, TLSP_EV_CCS, dir);
		ev.record_len = d->rec_len;
		d->ccs_seen = 1;
		if (!p->tls13)
			d->protected = 1;
		emit(p, &ev);
		return;
	}
	if (!d->rec_hidden)
		return;
	if (p->tls13 && d->ctype == TLSP_CT_APPDATA) {
		ev_init(&ev, TLSP_EV_ENCRYPTED, dir);
	} else if (d->ctype == TLSP_CT_HANDSHAKE) {
		ev_init(&ev, TLSP_EV_HANDSHAKE, dir);
		ev.hs_type = TLSP_HS_ENCRYPTED;
	} else if (d->ctype == TLSP_CT_ALERT) {
		ev_init(&ev, TLSP_EV_ALERT, dir);
	} else if (d->ctype == TLSP_CT_APPDATA) {
		ev_init(&ev, TLSP_EV_APPDATA, dir);
		ev.len = d->rec_len;
		ev.record_start = 1;
	} else {
		return;
	}
	ev.encrypted = 1;
	ev.record_len = d->rec_len;
	emit(p, &ev);
}

/* Takes the header bytes collected so far; returns NULL when they can start
 * a TLS record, else why not. */
static const char *hdr_check(const struct tlsp_dir_state *d)
{
	if (d->hdr_have >= 1 && (d->hdr[0] < TLSP_CT_CCS || d->hdr[0] > TLSP_CT_HEARTBEAT)) {
		if (d->records == 0 && (d->hdr[0] & 0x80) && (d->hdr_have < 3 || d->hdr[2] == 1))
			return "an SSLv2-format ClientHello";
		return "not a TLS record type";
	}
	if (d->hdr_have >= 2 && d->hdr[1] != 3)
		return "not a TLS record version";
	if (d->hdr_have >= 3 && d->hdr[2] > 4)
		return "not a TLS record version";
	if (d->hdr_have >= 5 && ((size_t)d->hdr[3] << 8 | d->hdr[4]) > TLSP_MAX_RECORD)
		return "record longer than TLS allows";
	return NULL;
}

/* Takes the rest of the chunk after a bad header; quotes the header bytes and
 * what follows, and stops the direction.  Returns -1. */
static int bad_header(struct tlsp_parser *p, enum tlsp_dir dir, const char *why,
		      const uint8_t *rest, size_t restlen)
{
	struct tlsp_dir_state *d = &p->d[dir];
	uint8_t head[TLSP_HEAD_LEN];
	size_t n = d->hdr_have;

	memcpy(head, d->hdr, n);
	if (restlen > sizeof(head) - n)
		restlen = sizeof(head) - n;
	memcpy(head + n, rest, restlen);
	n += restlen;
	if (d->records == 0)
		return dir_stop(p, dir, TLSP_EV_NOT_TLS, why, head, n);
	return dir_stop(p, dir, TLSP_EV_ERROR, why, head, n);
}

int tlsp_feed(struct tlsp_parser *p, enum tlsp_dir dir, const uint8_t *data, size_t len)
{
	struct tlsp_dir_state *d = &p->d[dir];

	if (d->dead)
		return -1;
	d->bytes += len;
	while (len > 0) {
		size_t n;

		if (!d->in_record) {
			const char *why;

			n = 5 - d->hdr_have;
			if (n > len)
				n = len;
			memcpy(d->hdr + d->hdr_have, data, n);
			d->hdr_have += n;
			data += n;
			len -= n;
			if ((why = hdr_check(d)) != NULL)
				return bad_header(p, dir, why, data, len);
			if (d->hdr_have < 5)
				break;
			if (rec_start(p, dir) < 0)
				return -1;
		} else if (d->content_left > 0) {
			n = len < d->content_left ? len : d->content_left;
			if (rec_body(p, dir, data, n) < 0)
				return -1;
			d->content_left -= n;
			data += n;
			len -= n;
		} else {
			n = len < d->mac_left ? len : d->mac_left;
			d->mac_left -= n;
			data += n;
			len -= n;
		}
		if (d->in_record && d->content_left == 0 && d->mac_left == 0)
			rec_end(p, dir);
	}
	return 0;
}
